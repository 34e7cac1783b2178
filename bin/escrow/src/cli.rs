//! Command-line structure of `escrow` (clap derive only).

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

/// The help heading of the options every subcommand takes.
const GLOBAL: &str = "Global options";

/// escrow: the authorities' tool of escrow-lab.
///
/// Sets up an escrow generation (a master key shared k-of-n among named authorities) in a lab
/// directory and shows its public parameters.
#[derive(Debug, Parser)]
#[command(name = "escrow", version, max_term_width = 100)]
pub struct Cli {
    /// Lab directory holding params.json and the authorities' folders.
    #[arg(
        long,
        global = true,
        default_value = "lab",
        value_name = "DIR",
        help_heading = GLOBAL
    )]
    pub lab: PathBuf,

    /// Print one JSON document on stdout instead of text (on an error too:
    /// {"ok": false, "exit_code": N, "error": "..."}, with the usual line on stderr).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The passphrase of share files, taken by the subcommands that read or write one.
#[derive(Debug, Default, Args)]
pub struct Passphrase {
    /// Read the share passphrase from this environment variable: share files written are
    /// sealed with it (Argon2id + AES-256-GCM), sealed ones read are opened with it. Without
    /// it, a sealed share is asked for on the terminal, and files are written plain.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,

    /// Ask for the share passphrase on the terminal (twice when new files are sealed).
    #[arg(long, conflicts_with = "passphrase_env")]
    pub passphrase_prompt: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new generation with a trusted dealer and write every authority's share.
    Setup(SetupArgs),
    /// Print the public parameters of the lab's generations (validity, which one wraps now);
    /// with --json, one generation's params.json (the newest unless --generation).
    Info {
        /// Only this generation.
        #[arg(long, value_name = "N")]
        generation: Option<u32>,
    },
    /// The transparency log of warrants and key releases.
    #[command(subcommand)]
    Log(LogCommand),
    /// An authority's witness of the transparency log, as a service.
    #[command(subcommand)]
    Witness(WitnessCommand),
    /// As an authority: check a warrant and its log receipt, then release this authority's
    /// shares (warrant signature and one identity-key share per scope identity).
    Approve(ApproveArgs),
    /// Make a generation without a dealer, step by step over the lab's bulletin board (dkg/).
    #[command(subcommand)]
    Dkg(DkgCommand),
    /// Open a proactive refresh of a generation: a resharing to the same authorities and
    /// threshold (then `escrow reshare join/deal/respond/justify/finish/revoke --as A`): the
    /// master public key stays, every share changes, old shares become useless.
    Refresh {
        /// The generation (default: the newest).
        #[arg(long, value_name = "N")]
        generation: Option<u32>,
    },
    /// Seal one authority's plain share file with the passphrase (--passphrase-env or
    /// --passphrase-prompt), so that it is encrypted at rest.
    Seal {
        /// The authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
        /// The generation (default: the newest).
        #[arg(long, value_name = "N")]
        generation: Option<u32>,
        #[command(flatten)]
        passphrase: Passphrase,
    },
    /// Make the next generation (a fresh master key), valid from a future epoch boundary:
    /// messengers wrap each chain to the newest generation in force at its epoch.
    Rotate(RotateArgs),
    /// Reshare a generation to new authorities and/or a new threshold, same master key, as a
    /// protocol between the authorities over the lab's board (reshare/); the old sharing is
    /// revoked before the new one is in force.
    #[command(subcommand)]
    Reshare(ReshareCommand),
    /// Retire a generation for one authority: destroy its share (overwrite, sync, remove) and
    /// log `generation-retired`. Once n-k+1 have retired, its traffic is unrecoverable.
    Retire {
        /// The authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
        /// The generation (required when the lab holds several).
        #[arg(long, value_name = "N")]
        generation: Option<u32>,
        /// The time of the record (RFC 3339, default now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
}

/// Arguments of `escrow approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The approving authority.
    #[arg(long = "as", value_name = "AUTHORITY")]
    pub authority: String,
    /// The warrant file.
    #[arg(long, value_name = "FILE")]
    pub warrant: PathBuf,
    /// The receipt from `auditor warrant submit` (proof that the warrant is logged).
    #[arg(long, value_name = "FILE")]
    pub receipt: PathBuf,
    /// Decision time (RFC 3339; default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Where to write the approval (default: WARRANT with `.<authority>.approval.json`). An
    /// existing file is never overwritten: one that holds exactly this approval is left as it
    /// is, anything else is refused before anything is released.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Submit the release through the log service at URL (`escrow log serve`), signed with
    /// this authority's witness key, instead of the lab's log file; the approval leaves only
    /// once the release is in a checkpoint this authority's witness service cosigned.
    #[arg(long, value_name = "URL")]
    pub log: Option<String>,
    #[command(flatten)]
    pub passphrase: Passphrase,
}

/// `escrow log …`
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Show the newest checkpoint and the entries.
    Show,
    /// Write the offline proof bundle of one entry (entry, inclusion proof, checkpoint).
    Prove {
        /// Entry index (0 is the first entry).
        #[arg(long, value_name = "N")]
        index: u64,
        /// Write the bundle here instead of standard output (never over an existing file:
        /// one with exactly these bytes is left as it is, anything else is refused).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// As an authority's witness: check the newest checkpoint against the last one this
    /// authority accepted (consistency proof) and cosign it.
    Cosign {
        /// The authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
        /// Cosigning time (RFC 3339; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// Run the log operator as a service (the only process that opens the log's key): the
    /// C2SP tlog-tiles read API and signed POST /add-entry from the authorities and the
    /// auditor, batched; after each batch the --witness services are asked to cosign. Prints
    /// "listening on http://ADDR" and runs until SIGTERM or SIGINT.
    Serve {
        /// Address to listen on (for example 127.0.0.1:8080; port 0 chooses one).
        #[arg(long, value_name = "ADDR")]
        listen: String,
        /// A witness service to ask after each batch, as AUTHORITY=URL (comma-separated or
        /// repeated).
        #[arg(
            long = "witness",
            value_name = "AUTHORITY=URL",
            value_delimiter = ',',
            action = clap::ArgAction::Append
        )]
        witnesses: Vec<String>,
    },
}

/// `escrow witness …`
#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Run an authority's witness as a service (C2SP tlog-witness POST /add-checkpoint), with
    /// the same state and key as `escrow log cosign --as AUTHORITY`. Prints "listening on
    /// http://ADDR" and runs until SIGTERM or SIGINT.
    Serve {
        /// The authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
        /// Address to listen on (for example 127.0.0.1:8081; port 0 chooses one).
        #[arg(long, value_name = "ADDR")]
        listen: String,
    },
}

/// Arguments of `escrow setup`.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Authority names, comma-separated or repeated (2 to 64; 1-64 characters of
    /// a-z 0-9 . _ @ -).
    #[arg(
        long,
        value_delimiter = ',',
        action = ArgAction::Append,
        required = true,
        value_name = "NAMES"
    )]
    pub authorities: Vec<String>,

    /// How many authorities must cooperate to release a key (k of n).
    #[arg(long, value_name = "K")]
    pub threshold: usize,

    /// Length of one escrow epoch (s, m, h or d suffix). A released key opens one epoch.
    #[arg(long, default_value = "1d", value_name = "LEN")]
    pub epoch_length: String,

    /// Realm id: the name of this escrow domain.
    #[arg(long, default_value = "escrow-lab", value_name = "NAME")]
    pub realm: String,

    /// Creation time to record (RFC 3339; default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Make the key with a SIMULATION of the authorities' joint-Feldman DKG (every party run
    /// in this process through the protocol's messages, written to DIR/dkg/) instead of a
    /// trusted dealer: this process sees every share. For a set-up in which no one holds the
    /// master key, run `escrow dkg start/join/deal/respond/justify/finish` per authority.
    #[arg(long)]
    pub dkg: bool,

    /// First instant the generation covers (RFC 3339, an epoch boundary; default: all time
    /// before a rotation).
    #[arg(long, value_name = "TIME")]
    pub valid_from: Option<String>,

    /// How many days the generation is valid (from --valid-from, or from the start of the
    /// epoch of --at); `escrow rotate` keeps this schedule. Default: until a rotation.
    #[arg(long, value_name = "DAYS")]
    pub valid_days: Option<u64>,

    #[command(flatten)]
    pub passphrase: Passphrase,
}

/// Arguments of `escrow rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// When the rotation is made (RFC 3339; default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// First instant of the new generation (an epoch boundary after the current epoch;
    /// default: the newest generation's end, or the next epoch boundary).
    #[arg(long, value_name = "TIME")]
    pub valid_from: Option<String>,
    /// Validity in days (default: as long as the newest generation's, or open-ended).
    #[arg(long, value_name = "DAYS")]
    pub valid_days: Option<u64>,
    /// Authorities of the new generation, comma-separated or repeated (default: the
    /// newest's; only authorities the lab knows).
    #[arg(long, value_delimiter = ',', action = ArgAction::Append, value_name = "NAMES")]
    pub authorities: Option<Vec<String>>,
    /// Threshold of the new generation (default: the newest's).
    #[arg(long, value_name = "K")]
    pub threshold: Option<usize>,
    /// Simulate the authorities' DKG in this one process instead of a dealer (this process
    /// sees every share; for a set-up no one holds the key, run `escrow dkg` per authority).
    #[arg(long)]
    pub dkg: bool,
    #[command(flatten)]
    pub passphrase: Passphrase,
}

/// A `--fingerprint` item: 16 hex digits, optionally after `NAME=`.
fn parse_fingerprint(s: &str) -> Result<String, String> {
    let (name, hex) = match s.split_once('=') {
        Some((n, h)) => (Some(n), h),
        None => (None, s),
    };
    if let Some(n) = name
        && (n.is_empty() || n.len() > 64)
    {
        return Err("expected NAME=HEX with a name".into());
    }
    if hex.len() != 16 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("a fingerprint is 16 hex digits, as `join` prints it".into());
    }
    Ok(s.to_owned())
}

/// The steps of a resharing (or refresh): each authority runs its own, from its own state.
#[derive(Debug, Subcommand)]
pub enum ReshareCommand {
    /// Open a resharing: the new authorities and threshold (no key is made here).
    Start {
        /// The new authorities, in index order (comma-separated or repeated).
        #[arg(
            long,
            value_delimiter = ',',
            action = ArgAction::Append,
            required = true,
            value_name = "NAMES"
        )]
        authorities: Vec<String>,
        /// The new threshold.
        #[arg(long, value_name = "K")]
        threshold: usize,
        /// The old authorities that deal (comma-separated or repeated; default: all; k of
        /// them must).
        #[arg(long, value_delimiter = ',', action = ArgAction::Append, value_name = "NAMES")]
        dealers: Option<Vec<String>>,
        /// The generation to reshare (default: the newest).
        #[arg(long, value_name = "N")]
        generation: Option<u32>,
    },
    /// Join: make this authority's own keys (old and new authorities alike).
    Join {
        /// The authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
        /// The proposal id `reshare start` printed (as published by the starter): refuse to
        /// join any other proposal.
        #[arg(long, value_name = "HEX")]
        proposal: Option<String>,
    },
    /// An old authority deals its own share to the new authorities.
    Deal {
        /// The old authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
        #[command(flatten)]
        passphrase: Passphrase,
    },
    /// A new authority checks its values and publishes its complaints.
    Respond {
        /// The new authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
    },
    /// An old dealer reveals the values complained about.
    Justify {
        /// The old authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
    },
    /// A new authority computes and stages its new share and signs the result.
    Finish {
        /// The new authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
        /// Expected join fingerprints, comma-separated or repeated: HEX (this authority's, as
        /// its `join` printed it) or NAME=HEX (another's, as published out of band); refuse on
        /// any difference.
        #[arg(
            long = "fingerprint",
            value_delimiter = ',',
            action = ArgAction::Append,
            value_name = "[NAME=]HEX",
            value_parser = parse_fingerprint
        )]
        fingerprints: Vec<String>,
        #[command(flatten)]
        passphrase: Passphrase,
    },
    /// An old authority checks the new sharing, destroys its old share and logs it; the
    /// revocation that leaves fewer than k old shares puts the new sharing in force.
    Revoke {
        /// The old authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
        /// Expected join fingerprints, comma-separated or repeated: HEX (this authority's, as
        /// its `join` printed it) or NAME=HEX (another's, as published out of band); refuse on
        /// any difference.
        #[arg(
            long = "fingerprint",
            value_delimiter = ',',
            action = ArgAction::Append,
            value_name = "[NAME=]HEX",
            value_parser = parse_fingerprint
        )]
        fingerprints: Vec<String>,
        /// The time to log (RFC 3339; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// Abandon the open resharing while no old authority has revoked for it (the old sharing
    /// stays in force; every party's resharing state is destroyed).
    Abandon,
}

/// The steps of a dealerless key generation (joint-Feldman DKG with public complaints).
#[derive(Debug, Subcommand)]
pub enum DkgCommand {
    /// Open a session in a new lab: the authorities and the threshold (no key is made here;
    /// each authority then runs `escrow dkg join --as A`).
    Start {
        /// Authority names, in index order (comma-separated or repeated).
        #[arg(
            long,
            value_delimiter = ',',
            action = ArgAction::Append,
            required = true,
            value_name = "NAMES"
        )]
        authorities: Vec<String>,
        /// Threshold k.
        #[arg(long, value_name = "K")]
        threshold: usize,
        /// Epoch length (s, m, h, d).
        #[arg(long, default_value = "1d", value_name = "LEN")]
        epoch_length: String,
        /// Realm name.
        #[arg(long, default_value = "escrow-lab", value_name = "NAME")]
        realm: String,
        /// Creation time (RFC 3339, default now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// Join: make this authority's own transport, signing and witness keys in its own state
    /// and publish the public halves (compare the printed fingerprint out of band).
    Join {
        /// The authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
        /// The proposal id `dkg start` printed (as published by the starter): refuse to join
        /// any other proposal.
        #[arg(long, value_name = "HEX")]
        proposal: Option<String>,
    },
    /// Deal: publish a signed commitment and every authority's encrypted row.
    Deal {
        /// The dealing authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
    },
    /// Check this authority's rows (all deals needed) and publish its complaints.
    Respond {
        /// The authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
    },
    /// Reveal the rows of every authority that complained about this dealer.
    Justify {
        /// The dealer.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
    },
    /// Compute the qualified set, the key and this authority's share, and sign the transcript
    /// used; when all agree, the generation is installed (params.json, shares, log) and the
    /// DKG secrets destroyed.
    Finish {
        /// The authority.
        #[arg(long = "as", value_name = "AUTHORITY")]
        authority: String,
        /// Expected join fingerprints, comma-separated or repeated: HEX (this authority's, as
        /// its `join` printed it) or NAME=HEX (another's, as published out of band); refuse on
        /// any difference.
        #[arg(
            long = "fingerprint",
            value_delimiter = ',',
            action = ArgAction::Append,
            value_name = "[NAME=]HEX",
            value_parser = parse_fingerprint
        )]
        fingerprints: Vec<String>,
        #[command(flatten)]
        passphrase: Passphrase,
    },
    /// Check a DKG from its public files alone (a monitor's check): signatures, rounds, the
    /// qualified set and the key, against the installed generation.
    Verify,
}
