//! # auditor — public checks of the escrow system
//!
//! Today: the public monitor of the transparency log (design reference §7), through the
//! verification surface of `escrow::transparency` only — the auditor never touches code that
//! holds key shares. Warrant drafting, approval checking and capture decryption arrive with
//! the warrants issue.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use escrow::lab::Lab;
use escrow::transparency::monitor::{self, Report};

/// Runs the full monitor check of a lab's log: recomputes the tree from the entries and
/// verifies every stored hash, checkpoint signature and root, and witness cosignature.
pub fn verify_log(lab: &Lab) -> escrow::Result<Report> {
    let config = lab.load_log_config()?;
    let store = lab.open_log(&config)?;
    monitor::verify(&store, &config)
}
