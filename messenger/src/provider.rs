//! The seam between the messenger's procedures and the provider: what a client needs from
//! the relay, as two traits. [`crate::Relay`] (SQLite, `relay.sqlite` in a lab) is one
//! implementation; a relay service reached over HTTP (part 2 of the separation of parties) is
//! another.
//!
//! A command runs in one unit of work ([`RelayService::begin`]): the procedures save the
//! client's state before they [`RelayTx::commit`], so that a crash in between leaves a state
//! that has seen no more than the relay has (the outbox and inbox of
//! [`crate::procedure`] cover the other order). A relay without transactions makes each call
//! its own unit of work and `commit` a no-op; the procedures' outbox replays then make a
//! retried send idempotent ([`RelayTx::holds_exactly`]).

use p256::PublicKey;

use crate::client::{Incoming, Outcome, Registration};
use crate::envelope::Envelope;
use crate::error::Result;
use crate::relay::{Capture, CaptureRequest};
use crate::x3dh::{IdentityPublic, PrekeyBundle};

/// The provider's relay as a client's commands use it.
pub trait RelayService {
    /// Starts a unit of work (for SQLite: an IMMEDIATE transaction, holding the write lock).
    fn begin(&mut self) -> Result<Box<dyn RelayTx + '_>>;
    /// Whether an account is registered (outside any unit of work).
    fn is_registered(&self, account: &str) -> Result<bool>;
    /// The lawful-intercept export of an account's envelopes in a time window.
    fn capture(&self, req: &CaptureRequest) -> Result<Capture>;
}

/// One unit of work on the relay.
pub trait RelayTx {
    /// Whether an account is registered.
    fn registered_in(&self, account: &str) -> Result<bool>;

    /// When an account registered (Unix seconds, the relay's directory), if it did.
    fn registered_at(&self, account: &str) -> Result<Option<i64>>;

    /// Registers an account: its signed prekey bundle and one-time prekeys.
    fn register(&self, reg: &Registration, now_unix: i64) -> Result<()>;

    /// An account's identity as the directory publishes it.
    fn identity(&self, account: &str) -> Result<Option<IdentityPublic>>;

    /// An account's prekey bundle, taking one of its one-time prekeys (if any is left).
    fn take_bundle(&self, account: &str) -> Result<PrekeyBundle>;

    /// Accepts an envelope at `server_time`; returns its relay id.
    fn enqueue(&self, env: &Envelope, server_time: i64) -> Result<i64>;

    /// Refuses a message time before the relay's newest between the two accounts or ahead of the clock.
    fn check_time(&self, from: &str, to: &str, time: i64) -> Result<()>;

    /// Whether the relay holds an envelope at this position (sender, recipient, chain, n).
    fn position_taken(&self, from: &str, to: &str, chain: &PublicKey, n: u32) -> Result<bool>;

    /// An envelope's status, recipient and body.
    fn status(&self, id: i64) -> Result<Option<(String, String, String)>>;

    /// When the relay accepted an envelope (Unix seconds).
    fn time_in(&self, id: i64) -> Result<Option<i64>>;

    /// Whether the relay holds exactly these bytes at the envelope's position.
    fn holds_exactly(&self, env: &Envelope) -> Result<bool>;

    /// Whether the relay holds an envelope at this envelope's position.
    fn contains(&self, env: &Envelope) -> Result<bool>;

    /// The envelopes queued for an account.
    fn queued(&self, account: &str) -> Result<Vec<Incoming>>;

    /// The envelopes queued for an account and accepted by `until` (at most 1000, oldest first).
    fn queued_until(&self, account: &str, until: i64) -> Result<Vec<Incoming>>;

    /// How many envelopes queued for an account were accepted after `until`.
    fn queued_after(&self, account: &str, until: i64) -> Result<u64>;

    /// Records the recipient's outcome for an envelope.
    fn mark(&self, id: i64, outcome: &Outcome) -> Result<()>;

    /// Makes the unit of work durable.
    fn commit(self: Box<Self>) -> Result<()>;
}
