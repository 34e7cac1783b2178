//! The users' and the provider's procedures: one function per command of the `messenger`
//! tool (`register`, `send`, `read`, `intercept`), over a [`Relay`](crate::Relay) and a
//! [`ClientStore`] that holds the accounts' private states. The tool runs them over the lab's
//! files ([`ClientFiles`]); the scenarios of the root package run the same functions over
//! states kept in memory (a `BTreeMap` of clients), so that they exercise the tool's own paths.
//!
//! * [`store`] — where client states live between commands: files (plain or sealed) or memory;
//! * [`register`] — a new account, published to the relay's directory;
//! * [`send`] — a message encrypted and handed to the relay, crash-safe (the outbox);
//! * [`read`] — the queue fetched, verified and decrypted, crash-safe (the inbox);
//! * [`intercept`] — the provider's lawful-intercept capture of an account over a window.
//!
//! Crash safety: a client state is saved before the relay's transaction commits, so that a
//! process killed anywhere loses nothing it reported done. `send` saves the envelope in the
//! state's outbox before handing it over (the next command sends these same bytes again if
//! the relay never committed them); `read` saves what it decrypted in the state's inbox before
//! showing it and committing (a read killed in between shows the same messages again from the
//! inbox, at least once, never decrypted twice). The relay's write lock is held from before a
//! state is read until after it is written, so the commands of one client are serialized.
//!
//! Times: every record's time is the command's ([`When`]); a time earlier than a record it
//! depends on is refused (simulated time never goes backwards,
//! [`crate::relay::time_backwards`]).

pub mod intercept;
pub mod read;
pub mod register;
pub mod send;
pub mod store;

use std::path::PathBuf;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use store::{ClientFiles, ClientStore};

/// The time of a command: a given time, or the clock, read when the procedure asks (inside the
/// relay's lock, so that concurrent commands of one client record times in the order they
/// run).
#[derive(Clone, Copy, Debug)]
pub enum When {
    /// A given time.
    At(OffsetDateTime),
    /// The clock.
    Clock,
}

impl When {
    /// The time in Unix seconds (the clock's, to the second, read now).
    pub fn now(self) -> i64 {
        match self {
            Self::At(t) => t.unix_timestamp(),
            Self::Clock => OffsetDateTime::now_utc().unix_timestamp(),
        }
    }
}

/// A point of a procedure between two durable writes, where a crash test may stop the process
/// (the windows random kills rarely hit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Point {
    /// `send`: the client state (the envelope in its outbox) is saved; the relay has not
    /// received the envelope.
    SendSaved,
    /// `read`: the client state (the plaintexts in its inbox) is saved; nothing is shown yet.
    ReadSaved,
    /// `read`: the messages are shown; the relay has not marked them.
    ReadShown,
}

impl Point {
    /// The point's name (`send-saved`, `read-saved`, `read-shown`).
    pub fn name(self) -> &'static str {
        match self {
            Self::SendSaved => "send-saved",
            Self::ReadSaved => "read-saved",
            Self::ReadShown => "read-shown",
        }
    }
}

/// What a procedure tells its caller while it runs.
pub trait Observer {
    /// The procedure reached `point`.
    fn reached(&mut self, _point: Point) {}
    /// Something the user should know that does not stop the procedure (an unsendable
    /// message dropped from the outbox, say).
    fn warn(&mut self, _text: &str) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Observer for Quiet {}

/// Why an account a procedure needs is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Missing {
    /// The lab has no relay yet (at this path): no one registered.
    NoRelay(PathBuf),
    /// No client state of the account (`role`: "sender", "account") at this path.
    NoState {
        /// What the account is to the command.
        role: &'static str,
        /// The missing state file.
        path: PathBuf,
    },
    /// The sender is not in the relay's directory.
    Sender,
    /// The recipient is not in the relay's directory.
    Recipient,
    /// The reading account is not in the relay's directory.
    Account,
    /// The capture's target is not in the relay's directory.
    Target,
}

/// The text of an unregistered account (without the hint to register, which the tool adds).
fn missing_text(account: &str, what: &Missing) -> String {
    match what {
        Missing::NoRelay(path) => format!("{}: no relay yet", path.display()),
        Missing::NoState { role, path } => format!(
            "{role} '{account}' is not registered here ({} missing)",
            path.display()
        ),
        Missing::Sender => format!("sender '{account}' is not registered at the relay"),
        Missing::Recipient => format!("unknown recipient '{account}'"),
        Missing::Account => format!("account '{account}' is not registered at the relay"),
        Missing::Target => {
            format!("unknown account '{account}': not in the relay's directory")
        }
    }
}

/// What can go wrong in a procedure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the messenger's core (client, relay, envelopes, time rules).
    #[error(transparent)]
    Messenger(#[from] crate::Error),
    /// An error of the escrow library (the lab, its generations, sealed files, times).
    #[error(transparent)]
    Escrow(#[from] escrow::Error),
    /// An error in a file of the lab (a client state, the relay).
    #[error("{}: {error}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong in it.
        error: Box<Error>,
    },
    /// An account the procedure needs is not registered.
    #[error("{}", missing_text(.account, .what))]
    Unregistered {
        /// The account.
        account: String,
        /// What is missing.
        what: Missing,
    },
    /// The account already has a client state.
    #[error("account '{account}' already has a client state at {}", path.display())]
    StateExists {
        /// The account.
        account: String,
        /// Its state file.
        path: PathBuf,
    },
    /// The lab directory does not exist.
    #[error("{}: no lab directory; run 'escrow setup' first", .0.display())]
    NoLab(PathBuf),
    /// The account is in the relay's directory already.
    #[error("account '{0}' is already registered at the relay")]
    AlreadyRegistered(String),
    /// A state file holds another account's state.
    #[error("{}: holds the state of '{found}', not '{account}'", path.display())]
    StateOfAnother {
        /// The file.
        path: PathBuf,
        /// The account it holds.
        found: String,
        /// The account it should hold.
        account: String,
    },
    /// A message's text is refused before anything is sent.
    #[error("{0}")]
    Text(TextRefused),
    /// A message to its own sender.
    #[error("cannot send to yourself")]
    ToSelf,
    /// The relay refused an envelope that the client saved in its outbox.
    #[error(
        "the relay refused the message ({error}); it stays in {from}'s outbox and is sent again \
         by the next command"
    )]
    RelayRefused {
        /// The sender.
        from: String,
        /// The relay's refusal.
        error: crate::Error,
    },
    /// A capture window that ends before it starts.
    #[error("the window ends at {to}, before it starts at {from}")]
    WindowReversed {
        /// Its start (RFC 3339).
        from: String,
        /// Its end (RFC 3339).
        to: String,
    },
    /// A capture window that ends where it starts (the end is exclusive).
    #[error("the window starts and ends at {0}: it is empty (its end is exclusive)")]
    WindowEmpty(String),
    /// An envelope the read just saw in the relay is gone within the same transaction (an
    /// internal invariant: a bug, never bad input).
    #[error("internal error: envelope #{relay_id} vanished")]
    EnvelopeVanished {
        /// The envelope's relay id.
        relay_id: i64,
    },
}

/// Why a message's text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextRefused {
    /// No bytes.
    #[error("the message is empty")]
    Empty,
    /// Nothing visible: only whitespace or invisible characters.
    #[error("the message is empty (only whitespace or invisible characters)")]
    Blank,
    /// More than [`crate::envelope::MAX_TEXT_LEN`] bytes.
    #[error(
        "message text too large (at most {} bytes)",
        crate::envelope::MAX_TEXT_LEN
    )]
    TooLarge,
}

/// Result of the procedures.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Refuses `what` at `time` if it is before `newest` at `newest_time`: simulated time never
/// goes backwards (the wording of [`escrow::Error::TimeBackwards`]).
pub fn not_before(what: &str, time: i64, newest: &str, newest_time: i64) -> Result<()> {
    match crate::relay::time_backwards(what, time, newest, newest_time) {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Unix seconds in RFC 3339 (the number itself if out of range).
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}
