//! # escrow — threshold identity-based key escrow on BLS12-381
//!
//! The escrow core of escrow-lab (docs/protocol.md §2). A *generation* is one master key
//! `s`, shared k-of-n among named authorities; its public key `MPK = s·G1` lives in G1. Every
//! escrowed key is wrapped to a *scope identity* (realm, generation, epoch, account) with
//! Boneh–Franklin IBE in the exact form of drand's timelock encryption, so that:
//!
//! * the identity key of a scope is `d_id = s·Q_id`, i.e. the threshold BLS signature on
//!   `Q_id = H(identity)`: any k authorities release it ([`release`]), fewer learn nothing;
//! * a key for (account, epoch) opens that scope's wraps and nothing else;
//! * the wrap is deterministic in the key ([`wrap`]), so a recipient verifies it bit for bit.
//!
//! Modules:
//! * [`identity`] — scope identities, their bytes and `Q_id`, epochs;
//! * [`ibe`] — drand/tlock-compatible IBE (kyber `EncryptCCAonG1`);
//! * [`wrap`] — the verifiable wrap of a 32-byte key;
//! * [`params`], [`setup`] — generations, trusted-dealer setup, authority shares;
//! * [`dkg`] — dealerless generations: joint-Feldman DKG with a public complaint round;
//! * [`rotate`] — the next generation on a schedule, valid from a future epoch boundary;
//! * [`release`] — key shares, warrant signature shares, verified combination;
//! * [`approval`] — an authority's checks, approval shares and journal;
//! * [`authority`] — the whole approval procedure of one authority in a lab directory;
//! * [`procedure`] — every command of the `escrow` tool as one library call (setup, the DKG
//!   and resharing boards, sealing, rotation, retirement, `info`, the log, approvals to files);
//! * [`warrant`] — warrants (ETSI TS 103 120 vocabulary), their JCS digest, scope and the
//!   authorities' policy checks;
//! * [`transparency`] — the RFC 6962 log of warrants and key releases, C2SP checkpoints,
//!   witness cosignatures, proofs and the monitor;
//! * [`lab`] — the lab directory on disk (the crate's one storage module);
//! * [`sealed`] — passphrase-sealed secret files (Argon2id + AES-256-GCM);
//! * [`hazmat`] — raw share export and unchecked interpolation, for the lab and attacks.
//!
//! Cryptography comes from `blsttc` (blst underneath), `sha2` and `hkdf`; this crate only
//! composes them as the module docs state, with their sources.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod approval;
pub mod authority;
pub mod dkg;
pub mod encoding;
pub mod error;
pub mod filekind;
pub mod hazmat;
pub mod ibe;
pub mod identity;
pub mod lab;
pub mod params;
pub mod procedure;
pub mod release;
pub mod rotate;
pub mod sealed;
pub mod setup;
pub mod transparency;
pub mod warrant;
pub mod wrap;

pub use error::{Bug, DbError, Error, LabError, LogError, ProcessRule, Result, WarrantError};
pub use identity::ScopeIdentity;
pub use params::{Generations, MAX_AUTHORITIES, Policy, PublicParams};
pub use release::{
    IdentityKey, KeyShare, WarrantSignature, combine_identity_key, combine_warrant_signature,
};
pub use setup::{AuthorityShare, SetupRequest, dealer_setup};
pub use transparency::Tamper;
pub use wrap::{PreparedIdentityKey, PreparedScope, Wrap, unwrap, verify_wrap};
