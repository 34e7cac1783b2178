//! # auditor — warrant execution under k-of-n approval (to come)
//!
//! Placeholder of the workspace layout (design reference §6): warrant drafting, approval
//! checking, key combination and capture decryption arrive with the warrants issue. Nothing
//! here is functional yet.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The escrow generation format this crate will read.
pub const ESCROW_FORMAT_VERSION: u64 = escrow::encoding::FORMAT_VERSION;
