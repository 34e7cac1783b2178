//! # auditor — public checks of the escrow system
//!
//! The public monitor of the transparency log (design reference §7), the warrant process
//! (design reference §6): drafting a warrant and submitting it to the log, which returns a
//! receipt (the proof bundle authorities check before approving), and executing it
//! ([`execute`]): checking approvals, combining keys, and examining a capture under the
//! recipient's rules ([`evidence`], design reference §11). The auditor uses the public
//! surfaces of `escrow` only — never code that holds key shares.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod evidence;
pub mod execute;

pub use error::{CaptureMismatch, Error, Result};

use escrow::lab::Lab;
use escrow::transparency::monitor::{self, Report};
use escrow::transparency::proof::ProofBundle;
use escrow::transparency::{LogEntry, LogRecord};
use escrow::warrant::Warrant;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What submitting a warrant did.
#[derive(Debug)]
pub struct Submission {
    /// The receipt: the `warrant-logged` entry with its inclusion proof and checkpoint.
    pub receipt: ProofBundle,
    /// The entry's index in the log.
    pub index: u64,
    /// False if the same warrant (same digest) was logged before: nothing was appended.
    pub new: bool,
}

/// Logs a warrant: appends `warrant-logged` (digest, reference, counts, issuer, time — never
/// the text) and returns the receipt. Submitting the same warrant again appends nothing and
/// returns a receipt for the existing entry.
pub fn submit_warrant(
    lab: &Lab,
    warrant: &Warrant,
    now: OffsetDateTime,
) -> escrow::Result<Submission> {
    let generations = lab.load_generations()?;
    let params = generations.get(warrant.generation)?;
    let epochs = warrant.epochs(params)?;
    warrant.check_generation_choice(&generations)?;
    // The scope check refuses a warrant for another generation before anything is logged.
    warrant.scope(params)?;
    let digest = hex::encode(warrant.digest()?);
    let config = lab.load_log_config()?;
    let signer = lab.log_signer()?;
    let mut store = lab.open_log(&config)?;
    let time = now
        .format(&Rfc3339)
        .map_err(|_| escrow::Error::Internal("RFC 3339 formatting"))?;
    let (index, new) = store.with_write_lock(|store| {
        let logged =
            |e: &LogEntry| matches!(e, LogEntry::WarrantLogged { digest: d, .. } if *d == digest);
        if let Some(i) = store.find(logged)? {
            return Ok((i, false));
        }
        let record = LogRecord::new(LogEntry::WarrantLogged {
            digest: digest.clone(),
            reference: warrant.reference.clone(),
            target_count: warrant.targets.len() as u32,
            epoch_count: (epochs.end() - epochs.start() + 1) as u32,
            issuing_authority: warrant.issuing_authority.clone(),
            time: time.clone(),
        });
        let (index, _) = store.append(&record, &signer)?;
        Ok((index, true))
    })?;
    Ok(Submission {
        receipt: ProofBundle::build(&store, index)?,
        index,
        new,
    })
}

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
    let report = monitor::verify_with(&store, &config, &trusted)?;
    check_generations_announced(lab, &store)?;
    Ok(report)
}

/// Every generation the lab holds was announced by the log with the same master key,
/// threshold, authorities and validity: no key in use that the log did not show everyone.
fn check_generations_announced(
    lab: &Lab,
    store: &escrow::transparency::store::LogStore,
) -> escrow::Result<()> {
    let generations = lab.load_generations()?;
    let rfc = |t: Option<OffsetDateTime>| t.and_then(|t| t.format(&Rfc3339).ok());
    for p in generations.iter() {
        let mpk = escrow::encoding::g1_hex(p.master_public_key());
        let names: Vec<String> = p.authorities().iter().map(|a| a.name.clone()).collect();
        let (from, until) = (rfc(p.valid_from()), rfc(p.valid_until()));
        let found = store.find(|e| {
            matches!(e, LogEntry::GenerationCreated {
                realm, generation, master_public_key, threshold, authorities,
                valid_from, valid_until, ..
            } if realm == p.realm()
                && *generation == p.generation()
                && *master_public_key == mpk
                && *threshold as usize == p.threshold()
                && *authorities == names
                && *valid_from == from
                && *valid_until == until)
        })?;
        if found.is_none() {
            return Err(escrow::LogError::Tampered(format!(
                "generation {} of the lab ({}) is not the one the log announced",
                p.generation(),
                lab.params_path_of(p.generation()).display()
            ))
            .into());
        }
    }
    Ok(())
}
