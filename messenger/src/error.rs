//! The error type of the `messenger` crate.

use thiserror::Error;

/// Why an escrow block was refused by an honest recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EscrowViolation {
    /// The first message of a new chain carries no escrow block.
    #[error("the chain's first message carries no escrow block")]
    Missing,
    /// The block names a generation other than the one that covers its epoch.
    #[error(
        "escrow block names generation {found}; the generation covering its epoch is {expected}"
    )]
    WrongGeneration {
        /// Generation in the block.
        found: u32,
        /// The generation of the block's epoch ([`escrow::Generations::for_epoch`]).
        expected: u32,
    },
    /// No generation the recipient knows covers the block's epoch.
    #[error("no escrow generation covers epoch {epoch}")]
    NoGeneration {
        /// The block's epoch.
        epoch: u64,
    },
    /// The block names an epoch other than the one of the message's relay time.
    #[error("escrow block names epoch {found}, the message was relayed in epoch {expected}")]
    WrongEpoch {
        /// Epoch in the block.
        found: u64,
        /// Epoch of the relay timestamp.
        expected: u64,
    },
    /// The wrap to the sender's scope is not the wrap of this chain's key.
    #[error("the sender's escrow wrap does not match the chain key")]
    SenderWrapMismatch,
    /// The wrap to the recipient's scope is not the wrap of this chain's key.
    #[error("the recipient's escrow wrap does not match the chain key")]
    RecipientWrapMismatch,
    /// A message of a chain was relayed in another epoch than the chain's.
    #[error("a message of a chain of epoch {chain} was relayed in epoch {message}")]
    CrossesEpoch {
        /// The chain's epoch.
        chain: u64,
        /// The message's epoch.
        message: u64,
    },
    /// An epoch chain that does not start a later epoch than the chain it steps from (a way
    /// for a sender to start chains at will).
    #[error(
        "an epoch chain of epoch {chain} steps from a chain of epoch {base}: the epoch did not change"
    )]
    EpochUnchanged {
        /// The new chain's epoch.
        chain: u64,
        /// The epoch of the chain it steps from.
        base: u64,
    },
}

/// Everything that can go wrong in the messenger library.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An account name is malformed.
    #[error("invalid account name '{0}': use 1 to 64 characters of a-z 0-9 . _ @ -")]
    AccountName(String),
    /// A JSON document failed to parse or validate.
    #[error("{what}: {reason}")]
    Format {
        /// Which document.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A document carries an unsupported version.
    #[error("{what}: unsupported version {found} (this build reads version {expected})")]
    Version {
        /// Which document.
        what: &'static str,
        /// The version found.
        found: u64,
        /// The version this build reads.
        expected: u64,
    },
    /// A field is too large.
    #[error("{what} too large ({len} bytes, at most {max})")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A P-256 public key is not a valid point.
    #[error("{0}: not a valid P-256 public key")]
    InvalidKey(&'static str),
    /// The signed prekey's signature does not verify.
    #[error("the prekey bundle of '{0}' has an invalid signature")]
    BadBundleSignature(String),
    /// The escrow block of a chain was refused.
    #[error("escrow non-compliant message from '{from}': {violation}")]
    Escrow {
        /// The sender.
        from: String,
        /// What was wrong.
        violation: EscrowViolation,
    },
    /// A message cannot be processed yet: the start of its chain has not arrived.
    #[error("held: the first message of this chain has not arrived yet")]
    Pending,
    /// A message number is too far ahead or was already used.
    #[error(
        "message {n} of this chain is out of the window (replayed, or more than {max_skip} ahead)"
    )]
    Window {
        /// The message number.
        n: u32,
        /// MAX_SKIP.
        max_skip: u32,
    },
    /// Decryption or authentication failed (opaque).
    #[error("message authentication failed")]
    Decryption,
    /// A send at a time before the epoch of the sending chain: an epoch chain can only step
    /// forward.
    #[error(
        "the send time is in epoch {epoch}, before the epoch of the current chain ({chain}): time cannot go backwards"
    )]
    TimeBehind {
        /// The epoch of the send time.
        epoch: u64,
        /// The sending chain's epoch.
        chain: u64,
    },
    /// A chain start for a chain this client accepted a start of before: a replay, or a
    /// sender re-opening a chain (two starts for one chain).
    #[error("this chain was started before: a replayed or re-opened chain start")]
    ChainSeen,
    /// A chain start not signed by the identity key of the account it names as sender.
    #[error("the chain start is not signed by the sender's identity key (forged)")]
    Forged,
    /// The envelope is not addressed to this account, or names no session.
    #[error("{0}")]
    Misaddressed(&'static str),
    /// An escrow library error (parameters, wraps); boxed: keeps the error small.
    #[error("escrow: {0}")]
    EscrowCore(Box<escrow::Error>),
    /// A relay database error.
    #[error("relay database: {0}")]
    Relay(escrow::DbError),
    /// The relay already holds an envelope at this position (sender, recipient, chain, n): a
    /// second ciphertext there would reuse the first one's AES-GCM key and nonce.
    #[error(
        "the relay already holds message {n} of chain {}… from '{from}' to '{to}'",
        &crate::keys::public_hex(chain)[..16]
    )]
    PositionTaken {
        /// The sender.
        from: String,
        /// The recipient.
        to: String,
        /// The chain's ratchet key (boxed: keeps the error small).
        chain: Box<p256::PublicKey>,
        /// The position in the chain.
        n: u32,
    },
    /// The relay refused an envelope dated before a record it depends on — the sender's
    /// newest envelope at the relay, or either account's registration — in the wording of
    /// [`escrow::Error::TimeBackwards`] (simulated time never goes backwards). Boxed: keeps
    /// the error small.
    #[error("{0}")]
    TimeBackwards(Box<escrow::Error>),
    /// A relay record is inconsistent.
    #[error("relay: {0}")]
    RelayState(crate::relay::RelayProblem),
    /// An internal invariant failed.
    #[error("internal error: {0}")]
    Internal(Bug),
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

// Plain `From` impls rather than `#[from]`: the wrapped error's text is already in the
// message, and marking it as a source would print it twice in an error chain.
impl From<escrow::Error> for Error {
    fn from(e: escrow::Error) -> Self {
        Error::EscrowCore(Box::new(e))
    }
}

#[doc(hidden)]
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Relay(e.into())
    }
}

/// An internal invariant that failed: a bug in the messenger, never a property of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Bug {
    /// The prepared scope just inserted in the cache is not there.
    #[error("prepared scope cache")]
    ScopeCache,
    /// The outbox holds more envelopes than a client ever sends before saving.
    #[error("outbox full")]
    OutboxFull,
    /// JSON made here is not UTF-8.
    #[error("JSON is UTF-8")]
    Utf8Json,
    /// The client state does not serialize.
    #[error("client state JSON")]
    StateJson,
    /// A chain's message counter overflows.
    #[error("chain length overflow")]
    ChainLength,
    /// A session's associated data holds the same identity twice.
    #[error("session AD holds two identities")]
    SessionAd,
    /// AES-256-GCM refused a key or plaintext made here.
    #[error("AES-GCM encryption")]
    AesGcm,
}
