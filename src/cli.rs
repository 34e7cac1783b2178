//! Command-line structure of `escrow-lab` (clap derive only).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// escrow-lab: lawful-access key escrow, examined on a working system.
#[derive(Debug, Parser)]
#[command(name = "escrow-lab", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The scenarios.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tell the whole story with real operations, in a fresh lab directory.
    Demo {
        /// Lab directory to use; it must not exist or be empty. Default: a new
        /// lab-demo-<time> folder in the current directory.
        #[arg(long, value_name = "DIR")]
        lab: Option<PathBuf>,
    },
}
