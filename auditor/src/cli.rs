//! Command-line structure of `auditor` (clap derive only).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// auditor: the agency's and the public's tool of escrow-lab.
#[derive(Debug, Parser)]
#[command(name = "auditor", version, max_term_width = 100)]
pub struct Cli {
    /// Lab directory.
    #[arg(long, global = true, default_value = "lab", value_name = "DIR")]
    pub lab: PathBuf,

    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Public monitor of the transparency log.
    #[command(subcommand)]
    Log(LogCommand),
}

/// `auditor log …`
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Recompute the whole tree from the entries and check every stored hash, checkpoint and
    /// cosignature; exit 1 with the first failure.
    Verify,
    /// Public statistics: warrants per month, identities released, releases per authority,
    /// executions (after a full verification).
    Stats,
}
