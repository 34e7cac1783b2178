//! Warrant drafts for a target and a window, made through the library, logged with the lab's
//! key as `auditor warrant submit` would (without its checks), and written beside the lab
//! with their receipt.

use std::path::{Path, PathBuf};

use escrow::lab::Lab;
use escrow::transparency::proof::ProofBundle;
use escrow::warrant::{Warrant, WarrantDraft};
use time::OffsetDateTime;
use time::macros::datetime;

/// A draft of the library tests: an interception of `targets` over `[start, end)` issued by
/// `court` in jurisdiction `lab`, justified as `test`, expiring at `expires`, for generation
/// 1. Other fields by struct update (`WarrantDraft { generation: 2, ..draft(…) }`).
pub fn draft(
    reference: &str,
    targets: &[&str],
    start: OffsetDateTime,
    end: OffsetDateTime,
    expires: OffsetDateTime,
) -> WarrantDraft {
    WarrantDraft {
        reference: reference.into(),
        legal_type: "interception".into(),
        issuing_authority: "court".into(),
        jurisdiction: "lab".into(),
        targets: targets.iter().map(|t| (*t).to_owned()).collect(),
        start,
        end,
        expires,
        justification: "test".into(),
        generation: 1,
    }
}

/// A draft as the agency's tool would write it: an interception of `targets` over
/// `[start, end)` issued by the `High Court` in jurisdiction `escrow-lab`, justified as
/// `inquiry`, expiring 2026-12-31, for generation 1.
pub fn high_court(
    reference: &str,
    targets: &[&str],
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> WarrantDraft {
    WarrantDraft {
        issuing_authority: "High Court".into(),
        jurisdiction: "escrow-lab".into(),
        justification: "inquiry".into(),
        ..draft(
            reference,
            targets,
            start,
            end,
            datetime!(2026-12-31 00:00 UTC),
        )
    }
}

/// Logs `warrant` in `lab` at `time` with the record `auditor::submit_warrant` appends
/// ([`auditor::logged_record`]: digest, reference, target and epoch counts, issuer, time)
/// and returns its receipt. The auditor's own checks before logging are left out: what a
/// test of an authority checks is what the authority checks for itself.
pub fn log_unchecked(lab: &Lab, warrant: &Warrant, time: OffsetDateTime) -> ProofBundle {
    let params = lab.load_generation(warrant.generation).unwrap();
    let record = auditor::logged_record(warrant, &params, time).unwrap();
    crate::lab::append(lab, &record)
}

/// The receipt's path for the warrant at `warrant`: `<warrant>.receipt.json`, where
/// `auditor warrant submit` writes it.
pub fn receipt_path(warrant: &Path) -> PathBuf {
    let mut r = warrant.to_path_buf().into_os_string();
    r.push(".receipt.json");
    r.into()
}

/// Writes `warrant` to `dir/file` and `receipt` beside it ([`receipt_path`]); both paths.
pub fn write(
    dir: &Path,
    file: &str,
    warrant: &Warrant,
    receipt: &ProofBundle,
) -> (PathBuf, PathBuf) {
    let w = dir.join(file);
    let r = receipt_path(&w);
    std::fs::write(&w, warrant.to_json().unwrap()).unwrap();
    std::fs::write(&r, receipt.to_json().unwrap()).unwrap();
    (w, r)
}

/// A distinct `warrant-logged` record for filling a log: a warrant of one target and one epoch
/// whose digest is SHA-256 of `i`, with the reference `<prefix>-<i>`, logged at `time`.
pub fn logged_record(i: u64, prefix: &str, time: &str) -> escrow::transparency::LogRecord {
    use sha2::Digest;
    escrow::transparency::LogRecord::new(escrow::transparency::LogEntry::WarrantLogged {
        digest: hex::encode(sha2::Sha256::digest(i.to_be_bytes())),
        reference: format!("{prefix}-{i}"),
        target_count: 1,
        epoch_count: 1,
        issuing_authority: "lab court".into(),
        time: time.into(),
    })
}
