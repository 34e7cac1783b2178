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
    /// Draft and submit warrants.
    #[command(subcommand)]
    Warrant(Box<WarrantCommand>),
    /// Execute a warrant: with k valid approvals, decrypt exactly the capture's messages in the
    /// warrant's scope, and record the execution in the log.
    Execute {
        /// The warrant file.
        #[arg(long, value_name = "FILE")]
        warrant: PathBuf,
        /// An authority's approval (repeat; k valid ones are needed).
        #[arg(long = "approval", value_name = "FILE", required = true)]
        approvals: Vec<PathBuf>,
        /// The provider's capture (`messenger intercept`).
        #[arg(long, value_name = "FILE")]
        capture: PathBuf,
        /// Execution time recorded in the log (RFC 3339; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Also write the report here (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `auditor warrant …`
#[derive(Debug, Subcommand)]
pub enum WarrantCommand {
    /// Draft a warrant (with a fresh random nonce) for the generation messengers wrapped its
    /// timespan to (a timespan across a rotation needs one warrant per generation).
    New {
        /// The generation (default: the one covering the timespan).
        #[arg(long, value_name = "N")]
        generation: Option<u32>,
        /// AuthorisationReference: the warrant's unique reference.
        #[arg(long, value_name = "REF")]
        reference: String,
        /// A target account (repeat for several).
        #[arg(long = "target", value_name = "ACCOUNT", required = true)]
        targets: Vec<String>,
        /// Start of the traffic window (RFC 3339, inclusive).
        #[arg(long = "from", value_name = "TIME")]
        from: String,
        /// End of the traffic window (RFC 3339, exclusive).
        #[arg(long = "to", value_name = "TIME")]
        to: String,
        /// The issuing authority.
        #[arg(long, value_name = "NAME")]
        issuer: String,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        justification: String,
        /// Expiry (RFC 3339; default: seven days after --at).
        #[arg(long, value_name = "TIME")]
        expires: Option<String>,
        /// Legal basis.
        #[arg(long, default_value = "lawful-interception", value_name = "TEXT")]
        legal_type: String,
        /// Jurisdiction (default: the realm).
        #[arg(long, value_name = "TEXT")]
        jurisdiction: Option<String>,
        /// Drafting time (RFC 3339; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Write the warrant here instead of standard output (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Log a warrant (digest, reference and counts; never its text) and write the receipt:
    /// the proof bundle authorities check before approving.
    Submit {
        /// The warrant file.
        file: PathBuf,
        /// Where to write the receipt (default: FILE with `.receipt.json` appended).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Submission time recorded in the log (RFC 3339; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
}

/// `auditor log …`
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Recompute the whole tree from the entries and check every stored hash, checkpoint and
    /// cosignature, and that the log still holds every checkpoint a party accepted (the
    /// witnesses', the auditor's, and those of the --proof files); exit 1 with the first
    /// failure. Says which size is witnessed and flags an unwitnessed tail.
    Verify {
        /// A proof the log must still hold (repeat): a receipt, an approval (its release), or
        /// an execution report (`auditor execute --json` or `--out`).
        #[arg(long = "proof", value_name = "FILE")]
        proofs: Vec<PathBuf>,
    },
    /// Public statistics: warrants per month, identities released, releases per authority,
    /// executions (after a full verification).
    Stats,
}
