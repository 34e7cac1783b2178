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
///
/// The database is opened read-only. The checkpoints the lab's witnesses accepted (their
/// `witness.json`, where present) must still be in the log: a log truncated or rewritten below
/// any of them is reported.
pub fn verify_log(lab: &Lab) -> escrow::Result<Report> {
    let config = lab.load_log_config()?;
    let store = lab.open_log_read_only(&config)?;
    let mut trusted = Vec::new();
    for w in &config.witnesses {
        if let Some(cp) = lab
            .load_witness_state(&w.authority)?
            .last_checkpoint(&config)?
        {
            trusted.push((w.authority.clone(), cp));
        }
    }
    monitor::verify_with(&store, &config, &trusted)
}
