//! # messenger — end-to-end encrypted messaging with per-chain escrow (to come)
//!
//! Placeholder of the workspace layout (design reference §5): the X3DH-style setup, the double
//! ratchet, escrow blocks, the relay and intercept export arrive with the messenger issue.
//! Nothing here is functional yet.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The escrow generation format this crate will wrap chain keys under.
pub const ESCROW_FORMAT_VERSION: u64 = escrow::encoding::FORMAT_VERSION;
