//! The agency's and the monitors' procedures: one function per command of the `auditor` tool
//! (`warrant new`, `warrant submit`, `execute`, `log verify --proof`), taking parsed options
//! and returning what the command reports. The tool parses, reads its input files, calls these
//! and prints; the scenarios of the root package call the same functions.
//!
//! Output files follow the lab's one rule ([`escrow::lab::write_output`]): never written over
//! another file. A warrant and an execution report are always new (a fresh nonce, a new log
//! entry), so an existing file is refused before anything is logged; a receipt already proving
//! the warrant's entry is left as it is. The report file is created (as a temporary file beside
//! it) before the execution is logged: a report that cannot be written leaves no
//! `warrant-executed` entry behind.

use escrow::transparency::api::TransparencyLog;
use std::path::{Path, PathBuf};

use escrow::Generations;
use escrow::lab::{AtomicFile, Lab, read_limited, refuse_existing_output, write_output};
use escrow::transparency::LogEntry;
use escrow::transparency::proof::ProofBundle;
use escrow::warrant::{Warrant, WarrantDraft};
use messenger::relay::{CAPTURE_VERSION, Capture};
use rand_core::{CryptoRng, RngCore};
use time::OffsetDateTime;

use crate::error::{CaptureMismatch, Error, NotAProof, Result};
use crate::execute::Report;
use crate::{Submission, check_draft, check_targets, check_targets_in_lab, submit_warrant};

/// What the agency asks for in a warrant (the tool's options, parsed).
#[derive(Debug, Clone)]
pub struct DraftRequest {
    /// The warrant's reference.
    pub reference: String,
    /// Its legal type ("interception").
    pub legal_type: String,
    /// The issuing court.
    pub issuer: String,
    /// Its jurisdiction (default: the realm of the warrant's generation).
    pub jurisdiction: Option<String>,
    /// The targets' accounts.
    pub targets: Vec<String>,
    /// The timespan's start (inclusive).
    pub start: OffsetDateTime,
    /// The timespan's end (exclusive).
    pub end: OffsetDateTime,
    /// Its expiry (default: seven days after drafting).
    pub expires: Option<OffsetDateTime>,
    /// The justification.
    pub justification: String,
    /// The generation (default: the one whose validity covers the timespan).
    pub generation: Option<u32>,
}

/// A warrant drafted, and the notes of its checks ([`check_draft`]).
#[derive(Debug, Clone)]
pub struct Drafted {
    /// The warrant (with a fresh nonce).
    pub warrant: Warrant,
    /// Notes to show beside it (a timespan not aligned to epochs).
    pub notes: Vec<String>,
}

/// `auditor warrant new`: the warrant of `request` at `now` under the lab's `generations`,
/// checked as an honest authority would ([`check_draft`], the targets registered with the
/// lab's relay); `out`, the file it is to be written to, must not exist (a fresh nonce makes
/// every warrant new).
pub fn draft<R: RngCore + CryptoRng>(
    lab: &Lab,
    generations: &Generations,
    request: DraftRequest,
    now: OffsetDateTime,
    out: Option<&Path>,
    rng: &mut R,
) -> Result<Drafted> {
    let (start, end) = (request.start, request.end);
    let generation = match request.generation {
        Some(g) => generations.get(g)?.generation(),
        None => escrow::warrant::generation_for(generations, start, end)?,
    };
    let params = generations.get(generation)?;
    let draft = WarrantDraft {
        reference: request.reference,
        legal_type: request.legal_type,
        issuing_authority: request.issuer,
        jurisdiction: request
            .jurisdiction
            .unwrap_or_else(|| params.realm().to_owned()),
        targets: request.targets,
        start,
        end,
        expires: match request.expires {
            Some(e) => e,
            None => now
                .checked_add(time::Duration::days(7))
                .ok_or(Error::DefaultExpiry)?,
        },
        justification: request.justification,
        generation,
    };
    if let Some(path) = out {
        refuse_existing_output(path)?;
    }
    let warrant = Warrant::new(draft, rng)?;
    // Every check without an authority's secret, now: a warrant no authority could approve is
    // not drafted.
    let notes = check_draft(lab, &warrant, now)?;
    check_targets_in_lab(lab, &warrant, now)?;
    Ok(Drafted { warrant, notes })
}

/// Submits `warrant` at `now` after the drafting checks and the targets' registration (with
/// `relay`, or the lab's relay database when `None`): [`submit_warrant`].
pub fn submit(
    lab: &Lab,
    relay: Option<&messenger::Relay>,
    warrant: &Warrant,
    now: OffsetDateTime,
) -> Result<Submission> {
    check_draft(lab, warrant, now)?;
    match relay {
        Some(r) => check_targets(r, warrant, now)?,
        None => check_targets_in_lab(lab, warrant, now)?,
    }
    submit_warrant(lab, warrant, now)
}

/// Where a warrant's receipt goes by default: beside it, `<warrant>.receipt.json`.
pub fn default_receipt_path(warrant: &Path) -> PathBuf {
    let mut p = warrant.to_path_buf().into_os_string();
    p.push(".receipt.json");
    p.into()
}

/// What [`submit_to`] did.
#[derive(Debug)]
pub struct SubmittedTo {
    /// The submission.
    pub submission: Submission,
    /// Whether the receipt file already proved the warrant's entry (and was left as it is).
    pub receipt_unchanged: bool,
}

/// `auditor warrant submit`: [`submit`] against the lab's relay, with the receipt written to
/// `receipt` (mode 0644). The drafting checks come first, then the output rule — an existing
/// receipt file stays if it proves this warrant's entry, else it is refused — both before
/// anything is logged.
pub fn submit_to(
    lab: &Lab,
    log: Option<&mut dyn TransparencyLog>,
    warrant: &Warrant,
    receipt: &Path,
    now: OffsetDateTime,
) -> Result<SubmittedTo> {
    check_draft(lab, warrant, now)?;
    check_targets_in_lab(lab, warrant, now)?;
    let kept = existing_receipt(lab, receipt, &hex::encode(warrant.digest()?))?;
    let submission = match log {
        None => submit_warrant(lab, warrant, now)?,
        Some(log) => crate::submit_warrant_to(lab, log, warrant, now)?,
    };
    if kept.is_none() {
        write_output(receipt, &submission.receipt.to_json()?, 0o644)?;
    }
    Ok(SubmittedTo {
        submission,
        receipt_unchanged: kept.is_some(),
    })
}

/// The receipt already at `path`, if it proves the `warrant-logged` entry of `digest` (then it
/// is left as it is); none if there is no file; any other file is refused (the output rule).
fn existing_receipt(lab: &Lab, path: &Path, digest: &str) -> Result<Option<ProofBundle>> {
    if path.symlink_metadata().is_err() {
        return Ok(None);
    }
    let config = lab.load_log_config()?;
    let same = read_limited(path, 1 << 20)
        .ok()
        .and_then(|b| ProofBundle::from_json(&b).ok())
        .filter(|r| {
            r.verify(&config).is_ok_and(|(rec, _)| {
                matches!(&rec.entry, LogEntry::WarrantLogged { digest: d, .. } if d == digest)
            })
        });
    match same {
        Some(r) => Ok(Some(r)),
        None => Err(escrow::Error::from(escrow::LabError::OutputExists {
            path: path.to_owned(),
            what: "already exists and is not this warrant's receipt",
        })
        .into()),
    }
}

/// The report file of an execution, reserved before anything is logged: refused if it
/// exists, created as a temporary file beside it ([`Error::Report`] if it cannot be).
pub fn reserve_report(out: Option<&Path>) -> Result<Option<AtomicFile>> {
    let Some(path) = out else {
        return Ok(None);
    };
    refuse_existing_output(path)?;
    AtomicFile::create(path, 0o600)
        .map(Some)
        .map_err(|error| Error::Report {
            path: path.to_owned(),
            error: Box::new(error),
        })
}

/// A capture file's contents: its version first (an older capture lacks fields this build
/// needs), then the capture.
pub fn parse_capture(bytes: &[u8]) -> Result<Capture> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(Error::MalformedCapture)?;
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    if version != Some(CAPTURE_VERSION) {
        return Err(CaptureMismatch::Version(version.unwrap_or(0)).into());
    }
    serde_json::from_value(value).map_err(Error::MalformedCapture)
}

/// `auditor execute`: [`crate::execute::execute`], then the report (pretty JSON, the bytes
/// returned) committed to the file reserved with [`reserve_report`].
pub fn execute_into(
    lab: &Lab,
    log: Option<&mut dyn TransparencyLog>,
    warrant: &Warrant,
    approvals: &[(String, Vec<u8>)],
    capture: &Capture,
    now: OffsetDateTime,
    report_file: Option<AtomicFile>,
) -> Result<(Report, Vec<u8>)> {
    let report = match log {
        None => crate::execute::execute(lab, warrant, approvals, capture, now)?,
        Some(log) => crate::execute::execute_with(lab, log, warrant, approvals, capture, now)?,
    };
    let doc = serde_json::to_vec_pretty(&report).map_err(Error::ReportJson)?;
    if let Some(file) = report_file {
        file.commit_new(&doc)?;
    }
    Ok((report, doc))
}

/// The proof a file carries, for `auditor log verify --proof`: a receipt (a proof bundle), an
/// approval (the proof of its release) or an execution report (the proof of its execution).
pub fn proof_of(bytes: &[u8]) -> Result<ProofBundle> {
    let not = |p: NotAProof| Error::NotAProof(p);
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| not(NotAProof::Json(e)))?;
    Ok(
        match value.get("kind").and_then(serde_json::Value::as_str) {
            Some("escrow-lab/log-proof") => ProofBundle::from_json(bytes)?,
            Some("escrow-lab/approval") => escrow::approval::Approval::from_json(bytes)?
                .release
                .ok_or(not(NotAProof::NoReleaseProof))?,
            _ => match value.pointer("/log/execution") {
                Some(v) => {
                    serde_json::from_value(v.clone()).map_err(|e| not(NotAProof::Execution(e)))?
                }
                None => return Err(not(NotAProof::Unknown)),
            },
        },
    )
}
