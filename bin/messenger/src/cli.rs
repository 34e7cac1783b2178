//! Command-line structure of `messenger` (clap derive only).
//!
//! One flag per concept, as in every tool of the lab: whoever acts is `--as ACCOUNT`; the
//! account a capture request names is its `--target`; `--from`/`--to` are only ever a time
//! window, half-open `[--from, --to)`; `--at` is the simulated time of the command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Heading of the options every subcommand takes.
const GLOBAL: &str = "Global options";

/// messenger: end-to-end encrypted messaging with per-chain key escrow (escrow-lab).
///
/// Clients keep their private state in <lab>/clients/<account>.json (mode 0600); the
/// provider's relay keeps the directory and the envelopes in <lab>/relay.sqlite.
#[derive(Debug, Parser)]
#[command(name = "messenger", version, max_term_width = 100)]
pub struct Cli {
    /// Lab directory (holds params.json from `escrow setup`).
    #[arg(
        long,
        global = true,
        default_value = "lab",
        value_name = "DIR",
        help_heading = GLOBAL
    )]
    pub lab: PathBuf,

    /// Print one JSON document on stdout (a failure too: {"ok": false, "exit_code", "error"},
    /// with the usual line on stderr).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The passphrase of a client state (only on the subcommands that open or write one).
#[derive(Debug, Args)]
pub struct PassphraseArgs {
    /// Read the client-state passphrase from this environment variable: `register` seals the
    /// new state with it (Argon2id + AES-256-GCM); sealed states are opened with it. Without
    /// it, a sealed state is asked for on the terminal, and new states are written plain.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,

    /// Ask for the client-state passphrase on the terminal (twice for `register`).
    #[arg(long, conflicts_with = "passphrase_env")]
    pub passphrase_prompt: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account: identity keys, signed prekey and one-time prekeys, published to the
    /// relay's directory.
    Register {
        /// The new account: 1-64 characters of a-z 0-9 . _ @ - (not starting with a dot).
        #[arg(long = "as", value_name = "ACCOUNT")]
        account: String,
        /// Registration time (RFC 3339; default: now). Not before the lab's set-up.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Encrypt a message and hand it to the relay. A chain's first message carries its escrow
    /// block.
    Send {
        /// Sending account.
        #[arg(long = "as", value_name = "ACCOUNT")]
        account: String,
        /// Receiving account.
        #[arg(long, value_name = "ACCOUNT")]
        recipient: String,
        /// Sending time (RFC 3339; default: now). Not before either account's registration
        /// nor the sender's previous send or read. Chains never cross an epoch boundary.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// The text (not empty, not only whitespace or invisible characters); `-` reads it from
        /// standard input.
        text: String,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Fetch, verify and decrypt the messages queued for an account and sent at or before
    /// --at; later ones stay queued. Envelopes whose escrow block is wrong are rejected,
    /// listed with the reason and kept for inspection.
    Read {
        /// Receiving account.
        #[arg(long = "as", value_name = "ACCOUNT")]
        account: String,
        /// Reading time (RFC 3339; default: now). Not before the account's registration.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// The provider's lawful-intercept capture: every stored envelope sent or received by the
    /// target with a relay time in [--from, --to), with the escrow blocks of their chains. No
    /// plaintext.
    Intercept {
        /// The account the request names (the warrant's target).
        #[arg(long, value_name = "ACCOUNT")]
        target: String,
        /// Window start (RFC 3339, inclusive): the window is [--from, --to).
        #[arg(long = "from", value_name = "TIME")]
        from: String,
        /// Window end (RFC 3339, exclusive), after --from.
        #[arg(long = "to", value_name = "TIME")]
        to: String,
        /// Write the capture here (never over another file; an identical one is left as it
        /// is) instead of standard output (`-`).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Export time recorded in the capture (RFC 3339; default: now). The capture holds
        /// only what the relay received by then: a window ending later is cut there.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
}
