//! Command-line structure of `messenger` (clap derive only).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// messenger: end-to-end encrypted messaging with per-chain key escrow (escrow-lab).
///
/// Clients keep their private state in <lab>/clients/<account>.json (mode 0600); the
/// provider's relay keeps the directory and the envelopes in <lab>/relay.sqlite.
#[derive(Debug, Parser)]
#[command(name = "messenger", version, max_term_width = 100)]
pub struct Cli {
    /// Lab directory (holds params.json from `escrow setup`).
    #[arg(long, global = true, default_value = "lab", value_name = "DIR")]
    pub lab: PathBuf,

    /// Read the client-state passphrase from this environment variable: `register` seals the
    /// new state with it (Argon2id + AES-256-GCM); sealed states are opened with it. Without
    /// it, a sealed state is asked for on the terminal, and new states are written plain.
    #[arg(long, global = true, value_name = "VAR")]
    pub passphrase_env: Option<String>,

    /// Ask for the client-state passphrase on the terminal (twice for `register`).
    #[arg(long, global = true, conflicts_with = "passphrase_env")]
    pub passphrase_prompt: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account: identity keys, signed prekey and one-time prekeys, published to the
    /// relay's directory.
    Register {
        /// Account name: 1-64 characters of a-z 0-9 . _ @ - (not starting with a dot).
        account: String,
        /// Registration time (RFC 3339; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// Encrypt a message and hand it to the relay. A chain's first message carries its escrow
    /// block.
    Send {
        /// Sending account.
        #[arg(long, value_name = "ACCOUNT")]
        from: String,
        /// Receiving account.
        #[arg(long, value_name = "ACCOUNT")]
        to: String,
        /// Sending time (RFC 3339; default: now). Chains never cross an epoch boundary.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// The text; `-` reads it from standard input.
        text: String,
    },
    /// Fetch, verify and decrypt queued messages. Envelopes whose escrow block is wrong are
    /// rejected, listed with the reason and kept for inspection.
    Read {
        /// Receiving account.
        #[arg(long = "as", value_name = "ACCOUNT")]
        account: String,
        /// Reading time (RFC 3339; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// The provider's lawful-intercept capture: every stored envelope sent or received by an
    /// account in a time window, with the escrow blocks of their chains. No plaintext.
    Intercept {
        /// The account named by the request.
        #[arg(long, value_name = "ACCOUNT")]
        account: String,
        /// Window start (RFC 3339).
        #[arg(long = "from", value_name = "TIME")]
        from: String,
        /// Window end (RFC 3339, inclusive).
        #[arg(long = "to", value_name = "TIME")]
        to: String,
        /// Write the capture here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Export time recorded in the capture (RFC 3339; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
}
