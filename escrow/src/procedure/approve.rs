//! `escrow approve`: an authority's approval of a warrant ([`crate::authority::approve`]),
//! written to its file under the lab's one output rule.
//!
//! The rule, checked before anything is released or logged: an existing output file stays
//! only if it holds exactly the approval this authority already handed out for this warrant
//! (a re-run, which releases nothing new); anything else is refused. The temporary file is
//! created first too, so that a folder that cannot take the approval fails before the release
//! is logged, never after.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::authority::Approved;
use crate::error::Result;
use crate::lab::{AtomicFile, Lab, Written, check_output, refuse_existing_output};
use crate::transparency::SignedCheckpoint;
use crate::transparency::proof::ProofBundle;
use crate::warrant::Warrant;

/// Where an approval goes by default: beside the warrant, `<warrant>.<authority>.approval.json`.
pub fn default_path(warrant: &Path, authority: &str) -> PathBuf {
    let mut p = warrant.to_path_buf().into_os_string();
    p.push(format!(".{authority}.approval.json"));
    p.into()
}

/// What [`approve_to`] did.
#[derive(Debug)]
pub struct ApprovedFile {
    /// The approval and whether it is new.
    pub approved: Approved,
    /// The warrant's digest.
    pub digest: [u8; 32],
    /// Whether the file was written or already held exactly this approval.
    pub written: Written,
    /// The size of the checkpoint that proves a new release (the one the authority cosigned).
    pub release_size: Option<u64>,
}

/// `authority` approves `warrant` (with its `receipt`) at `at` and writes the approval to
/// `out` (mode 0600), under the output rule of this module.
pub fn approve_to(
    lab: &Lab,
    log: Option<&mut dyn crate::transparency::api::TransparencyLog>,
    authority: &str,
    warrant: &Warrant,
    receipt: &ProofBundle,
    out: &Path,
    at: OffsetDateTime,
) -> Result<ApprovedFile> {
    let digest = warrant.digest()?;
    if std::fs::symlink_metadata(out).is_ok() {
        match journaled_approval(lab, authority, &digest)? {
            Some(bytes) => {
                check_output(out, &bytes)?;
            }
            None => refuse_existing_output(out)?,
        }
    }
    let file = AtomicFile::create(out, 0o600)?;
    // Rules 1-7 are checked before anything is written (crate::authority::approve).
    let approved = match log {
        None => crate::authority::approve(lab, authority, warrant, receipt, at)?,
        Some(log) => crate::authority::approve_with(
            &crate::authority::LabAuthority::new(lab, authority),
            log,
            warrant,
            receipt,
            at,
        )?,
    };
    let written = file.commit_new(&approved.bytes)?;
    let release_size = match (&approved.approval.release, approved.new) {
        (Some(release), true) => Some(
            SignedCheckpoint::verify(release.checkpoint.as_bytes(), &lab.load_log_config()?)?
                .size(),
        ),
        _ => None,
    };
    Ok(ApprovedFile {
        approved,
        digest,
        written,
        release_size,
    })
}

/// The approval `authority` handed out for the warrant with this digest, from its journal
/// (without creating a journal that does not exist).
fn journaled_approval(lab: &Lab, authority: &str, digest: &[u8; 32]) -> Result<Option<Vec<u8>>> {
    crate::identity::check_name("authority", authority)?;
    let path = lab.journal_path(authority);
    if !path.is_file() {
        return Ok(None);
    }
    crate::approval::Journal::open(&path)?.find(digest)
}
