//! Command-line structure of `auditor` (clap derive only).

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};

/// auditor: the agency's and the public's tool of escrow-lab.
#[derive(Debug, Parser)]
#[command(name = "auditor", version, max_term_width = 100)]
pub struct Cli {
    /// Lab directory.
    #[arg(
        long,
        global = true,
        default_value = "lab",
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub lab: PathBuf,

    /// Print one JSON document on stdout instead of text (also for errors: `"ok": false`).
    #[arg(long, global = true, help_heading = "Global options")]
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
        /// Authorities' approvals (comma-separated or repeated; k valid ones are needed).
        #[arg(
            long = "approval",
            value_name = "FILE",
            required = true,
            value_delimiter = ',',
            action = ArgAction::Append
        )]
        approvals: Vec<PathBuf>,
        /// The provider's capture (`messenger intercept`).
        #[arg(long, value_name = "FILE")]
        capture: PathBuf,
        /// Execution time recorded in the log (RFC 3339; default: now): before the warrant
        /// expires, not before the log's newest entry.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Also write the report here (never overwritten: an existing file is refused).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Record the execution through the log service at URL (`escrow log serve`), signed
        /// with the auditor's key, instead of the lab's log file.
        #[arg(long, value_name = "URL")]
        log: Option<String>,
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
        /// Target accounts (comma-separated or repeated), registered with the lab's relay.
        #[arg(
            long = "target",
            value_name = "ACCOUNT",
            required = true,
            value_delimiter = ',',
            action = ArgAction::Append
        )]
        targets: Vec<String>,
        /// Start of the traffic window [--from, --to) (RFC 3339, inclusive).
        #[arg(long = "from", value_name = "TIME")]
        from: String,
        /// End of the traffic window [--from, --to) (RFC 3339, exclusive). Keys open whole
        /// epochs: a window not aligned to epochs is noted.
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
        /// Drafting time (RFC 3339; default: now): the policy is checked at this time.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Write the warrant here instead of standard output (never overwritten: an existing
        /// file is refused).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Log a warrant (digest, reference and counts; never its text) and write the receipt:
    /// the proof bundle authorities check before approving.
    Submit {
        /// The warrant file.
        file: PathBuf,
        /// Where to write the receipt (default: FILE with `.receipt.json` appended). Never
        /// overwritten; an existing receipt of the same log entry is left as it is.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Submission time recorded in the log (RFC 3339; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Submit through the log service at URL (`escrow log serve`), signed with the
        /// auditor's key, instead of the lab's log file.
        #[arg(long, value_name = "URL")]
        log: Option<String>,
    },
}

/// `auditor log …`
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Recompute the whole tree from the entries and check every stored hash, checkpoint and
    /// cosignature, and that the log still holds every checkpoint a party accepted (the
    /// witnesses', the auditor's, and those of the --proof files); exit 1 with the first
    /// failure, and that entry times never go backwards. Says which size is witnessed and
    /// flags an unwitnessed tail.
    Verify {
        /// Proofs the log must still hold (comma-separated or repeated): receipts, approvals
        /// (their release), or execution reports (`auditor execute --json` or `--out`).
        #[arg(
            long = "proof",
            value_name = "FILE",
            value_delimiter = ',',
            action = ArgAction::Append
        )]
        proofs: Vec<PathBuf>,
        /// Verify the log served at URL (`escrow log serve`) from its C2SP tiles alone, pinned
        /// to the lab's log.json, against the checkpoint verified there last time
        /// (auditor/served-logs.json): rollback and forks across runs are caught.
        #[arg(long, value_name = "URL", conflicts_with = "proofs")]
        url: Option<String>,
    },
    /// Public statistics: warrants per month, identities (target × epoch) and identity-key
    /// shares released, releases per authority, executions (after a full verification).
    Stats,
}
