//! # messenger — end-to-end encrypted messaging with per-chain key escrow
//!
//! The messenger of escrow-lab (docs/messenger.md): Signal's design on P-256.
//!
//! * [`x3dh`] — prekey bundles and X3DH-style session setup (DH1..DH4 into HKDF-SHA256);
//! * [`ratchet`] — the double ratchet (P-256 DH ratchet, HKDF root chain, HMAC-SHA256 chains,
//!   AES-256-GCM with the header as associated data, bounded skipped keys) plus escrow-lab's
//!   epoch step, so no chain crosses an epoch boundary;
//! * [`escrow_block`] — every new sending chain's first key wrapped to (sender, epoch) and
//!   (recipient, epoch); recipients recompute both wraps and refuse a chain that differs;
//! * [`envelope`] — the versioned wire format; [`client`] — one account's state;
//! * [`relay`] — the provider's SQLite store and the lawful-intercept capture; [`provider`] —
//!   the traits through which the procedures reach a relay (SQLite here, HTTP in part 2);
//! * [`procedure`] — every command of the `messenger` tool as one library call (register,
//!   crash-safe send and read with the outbox and inbox, intercept), over client states in
//!   files or in memory.
//!
//! Deviations from Signal are listed in `docs/messenger.md`: P-256 instead of X25519, ECDSA
//! with a separate signing key instead of XEdDSA, AES-256-GCM instead of AES-CBC + HMAC, the
//! epoch step, and the escrow block.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod account;
pub mod client;
pub mod envelope;
pub mod error;
pub mod escrow_block;
pub mod hazmat;
pub mod kdf;
pub mod keys;
pub mod procedure;
pub mod provider;
pub mod ratchet;
pub mod relay;
pub mod x3dh;

pub use client::{Client, Incoming, Outcome, Registration, Sent};
pub use envelope::Envelope;
pub use error::{Bug, Error, EscrowViolation, Result};
pub use escrow_block::{EscrowBlock, EscrowContext};
pub use provider::{RelayService, RelayTx};
pub use relay::{Capture, Relay, RelayProblem, RelayTransaction};
