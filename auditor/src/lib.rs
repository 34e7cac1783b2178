//! # auditor — public checks of the escrow system
//!
//! The public monitor of the transparency log (docs/transparency.md), the warrant process
//! (docs/protocol.md §6–7): drafting a warrant and submitting it to the log, which returns a
//! receipt (the proof bundle authorities check before approving), and executing it
//! ([`execute`]): checking approvals, combining keys, and examining a capture under the
//! recipient's rules ([`evidence`], docs/protocol.md §7.1); [`procedure`] holds every command
//! of the `auditor` tool as one library call. The auditor uses the public
//! surfaces of `escrow` only — never code that holds key shares.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod evidence;
pub mod execute;
pub mod procedure;

pub use error::{CaptureMismatch, Error, NotAProof, Result};

use escrow::Tamper;
use escrow::lab::Lab;
use escrow::transparency::api::{LocalLog, TransparencyLog};
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
    /// Notes of [`check_draft`] (a timespan not aligned to epochs).
    pub notes: Vec<String>,
}

/// The checks of a warrant that need no authority's secret, made when it is drafted
/// (`auditor warrant new`) and again when it is submitted, at time `at`: everything an honest
/// authority's policy check would refuse (generation, expiry, a timespan in the future, span
/// and target count, the scope's size). A warrant that fails here could never be approved, so
/// it is neither written nor logged (and never counted in the public "warrants per month").
/// The tools also check the targets against the relay ([`check_targets`]). Returns notes to
/// show beside success: a timespan not aligned to epochs opens whole epochs (the auditor
/// withholds what lies outside the timespan).
pub fn check_draft(lab: &Lab, warrant: &Warrant, at: OffsetDateTime) -> Result<Vec<String>> {
    let generations = lab.load_generations()?;
    let params = generations.get(warrant.generation)?;
    let draft = |e: escrow::Error| Error::Draft(e);
    warrant
        .check_generation_choice(&generations)
        .map_err(draft)?;
    warrant.check_scope(params).map_err(draft)?;
    warrant.check_policy(params, at).map_err(draft)?;
    let mut notes = Vec::new();
    let (start, end) = warrant.window()?;
    let len = i64::try_from(params.epoch_length()).unwrap_or(i64::MAX);
    let (s, e) = (start.unix_timestamp(), end.unix_timestamp());
    if s % len != 0 || e % len != 0 {
        let show = |u: i64| {
            OffsetDateTime::from_unix_timestamp(u)
                .ok()
                .and_then(|t| t.format(&Rfc3339).ok())
                .unwrap_or_else(|| u.to_string())
        };
        let (first, last) = (s - s.rem_euclid(len), e + (len - e.rem_euclid(len)) % len);
        let epochs = warrant.epochs(params)?;
        let n = epochs.end() - epochs.start() + 1;
        notes.push(format!(
            "the timespan [{}, {}) is not aligned to epochs: its keys open {n} whole epoch{} \
             [{}, {}); the auditor withholds the messages outside the timespan",
            show(s),
            show(e),
            if n == 1 { "" } else { "s" },
            show(first),
            show(last)
        ));
    }
    Ok(notes)
}

/// Refuses a warrant naming an account the relay's directory did not know at `at` (the
/// drafting or submission time): no traffic of it can exist, and such a warrant would only
/// inflate the public statistics.
pub fn check_targets(
    relay: &messenger::Relay,
    warrant: &Warrant,
    at: OffsetDateTime,
) -> Result<()> {
    let relay_err = |e: messenger::Error| {
        Error::Escrow(escrow::Error::Lab(escrow::LabError::Io {
            path: "relay.sqlite".into(),
            error: std::io::Error::other(e.to_string()),
        }))
    };
    for t in &warrant.targets {
        match relay.registration_time(&t.value).map_err(relay_err)? {
            None => return Err(Error::UnknownTarget(t.value.clone())),
            Some(r) if r > at.unix_timestamp() => {
                return Err(Error::RegisteredLater {
                    account: t.value.clone(),
                    registered: OffsetDateTime::from_unix_timestamp(r)
                        .ok()
                        .and_then(|t| t.format(&Rfc3339).ok())
                        .unwrap_or_else(|| r.to_string()),
                    at: at.format(&Rfc3339).unwrap_or_default(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// [`check_targets`] against the lab's relay database (`relay.sqlite`); a lab without one has
/// no registered account.
pub fn check_targets_in_lab(lab: &Lab, warrant: &Warrant, at: OffsetDateTime) -> Result<()> {
    let path = lab.relay_path();
    if !path.exists() {
        return match warrant.targets.first() {
            Some(t) => Err(Error::UnknownTarget(t.value.clone())),
            None => Ok(()),
        };
    }
    let relay = messenger::Relay::open_read_only(&path).map_err(|e| {
        Error::Escrow(escrow::Error::Lab(escrow::LabError::Io {
            path: path.clone(),
            error: std::io::Error::other(e.to_string()),
        }))
    })?;
    check_targets(&relay, warrant, at)
}

/// The `warrant-logged` record of `warrant` at `time`: digest, reference, target and epoch
/// counts, issuer — never the text.
pub fn logged_record(
    warrant: &Warrant,
    params: &escrow::PublicParams,
    time: OffsetDateTime,
) -> escrow::Result<LogRecord> {
    let epochs = warrant.epochs(params)?;
    Ok(LogRecord::new(LogEntry::WarrantLogged {
        digest: hex::encode(warrant.digest()?),
        reference: warrant.reference.clone(),
        target_count: warrant.targets.len() as u32,
        epoch_count: (epochs.end() - epochs.start() + 1) as u32,
        issuing_authority: warrant.issuing_authority.clone(),
        time: escrow::encoding::rfc3339(time)?,
    }))
}

/// Logs a warrant: appends `warrant-logged` (digest, reference, counts, issuer, time — never
/// the text) and returns the receipt. Submitting the same warrant again appends nothing and
/// returns a receipt for the existing entry.
pub fn submit_warrant(lab: &Lab, warrant: &Warrant, now: OffsetDateTime) -> Result<Submission> {
    submit_warrant_to(lab, &mut LocalLog::open(lab)?, warrant, now)
}

/// [`submit_warrant`] to any log (the lab's, or a log service).
pub fn submit_warrant_to(
    lab: &Lab,
    log: &mut dyn TransparencyLog,
    warrant: &Warrant,
    now: OffsetDateTime,
) -> Result<Submission> {
    let generations = lab.load_generations()?;
    let params = generations.get(warrant.generation)?;
    // Every check without a secret, before anything is logged: the scope's size by arithmetic
    // (nothing is built), the policy at the submission time, the targets' registration.
    let notes = check_draft(lab, warrant, now)?;
    check_auditor_view(lab, log)?;
    let submitted = log.submit(&logged_record(warrant, params, now)?)?;
    remember_checkpoint(lab, log, &submitted.receipt.checkpoint)?;
    Ok(Submission {
        receipt: submitted.receipt,
        index: submitted.index,
        new: submitted.new,
        notes,
    })
}

/// Before the auditor appends anything: the log's newest checkpoint must extend the last one
/// the auditor accepted (else it rolled back or forked, and nothing is appended to it).
pub fn check_auditor_view(lab: &Lab, log: &dyn TransparencyLog) -> escrow::Result<()> {
    let state = lab.load_auditor_log_state()?;
    if state.last.is_some() {
        state.check(log.config(), &log.checkpoint()?, &mut |a, b| {
            log.prove_consistency(a, b)
        })?;
    }
    Ok(())
}

/// The auditor accepts `note` (a checkpoint of `log` covering an entry it just appended or
/// relies on): it must extend the last checkpoint the auditor accepted (else the log rolled
/// back or forked, and the error says so), and is then remembered in
/// `auditor/log-state.json`, which `log verify` checks the log against.
pub fn remember_checkpoint(lab: &Lab, log: &dyn TransparencyLog, note: &str) -> escrow::Result<()> {
    let config = log.config();
    let mut state = lab.load_auditor_log_state()?;
    let cp = state.check(config, note.as_bytes(), &mut |a, b| {
        log.prove_consistency(a, b)
    })?;
    if state
        .last_checkpoint(config)?
        .is_some_and(|l| l.size() >= cp.size())
    {
        return Ok(());
    }
    state.last = Some(note.to_owned());
    let path = lab.auditor_log_state_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|error| {
            escrow::Error::Lab(escrow::error::LabError::Io {
                path: dir.to_owned(),
                error,
            })
        })?;
    }
    escrow::lab::write_atomic(&path, &state.to_json()?, 0o644)
}

/// [`verify_log_with`] without proofs of one's own.
pub fn verify_log(lab: &Lab) -> escrow::Result<Report> {
    verify_log_with(lab, &[])
}

/// Runs the full monitor check of a lab's log: recomputes the tree from the entries and
/// verifies every stored hash, checkpoint signature and root, and witness cosignature.
///
/// The database is opened read-only. The checkpoints the lab's witnesses accepted (their
/// `witness.json`, where present), the auditor's (`auditor/log-state.json`), and those of
/// every proof in `proofs` (an approval's release, an execution report, a receipt) must still
/// be in the log: a log truncated or rewritten below any of them is reported.
pub fn verify_log_with(lab: &Lab, proofs: &[(String, ProofBundle)]) -> escrow::Result<Report> {
    let config = lab.load_log_config()?;
    let store = lab.open_log_read_only(&config)?;
    let mut trusted = Vec::new();
    // The witnesses are every authority of every generation the lab holds — not only those
    // `log.json` lists: whoever can edit `log.json` must not be able to drop a witness, and
    // with it the checkpoint it keeps, from the check.
    for p in lab.load_generations()?.iter() {
        for a in p.authorities() {
            if !config.witnesses.iter().any(|w| w.authority == a.name) {
                return Err(escrow::LogError::Tampered(Tamper::WitnessMissing {
                    authority: a.name.clone(),
                    generation: p.generation(),
                })
                .into());
            }
        }
    }
    for w in &config.witnesses {
        if let Some(cp) = lab
            .load_witness_state(&w.authority)?
            .last_checkpoint(&config)?
        {
            trusted.push((w.authority.clone(), cp));
        }
    }
    if let Some(cp) = lab.load_auditor_log_state()?.last_checkpoint(&config)? {
        trusted.push(("the auditor".to_owned(), cp));
    }
    let mut entries = Vec::new();
    for (name, bundle) in proofs {
        let (record, cp) = bundle.verify(&config)?;
        entries.push((name.clone(), bundle.index, record));
        trusted.push((name.clone(), cp));
    }
    let report = monitor::verify_with(&store, &config, &trusted)?;
    // Each proven entry is the log's entry at that index (the checkpoint check above makes
    // this follow; said here in the proof's own terms).
    for (name, index, record) in entries {
        if store.entry(index)? != record {
            return Err(
                escrow::LogError::Tampered(Tamper::ProofMismatch { index, proof: name }).into(),
            );
        }
    }
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
        let created = store.find(|e| {
            matches!(e, LogEntry::GenerationCreated {
                realm, generation, master_public_key, valid_from, valid_until, ..
            } if realm == p.realm()
                && *generation == p.generation()
                && *master_public_key == mpk
                && *valid_from == from
                && *valid_until == until)
        })?;
        // Its authorities, threshold and (after a resharing) commitment are those of the last
        // resharing the log shows, or else those it was created with.
        let mut current: Option<(u32, Vec<String>, Option<String>)> = None;
        for i in 0..store.size()? {
            match store.entry(i)?.entry {
                LogEntry::GenerationCreated {
                    realm,
                    generation,
                    threshold,
                    authorities,
                    ..
                } if realm == p.realm() && generation == p.generation() => {
                    current = Some((threshold, authorities, None));
                }
                LogEntry::GenerationReshared {
                    realm,
                    generation,
                    threshold,
                    authorities,
                    commitment,
                    ..
                } if realm == p.realm() && generation == p.generation() => {
                    current = Some((threshold, authorities, Some(commitment)));
                }
                _ => {}
            }
        }
        let sharing_ok = current.is_some_and(|(k, names_logged, commitment)| {
            k as usize == p.threshold()
                && names_logged == names
                && commitment.is_none_or(|c| c == escrow::dkg::reshare::commitment_digest(p))
        });
        if created.is_none() || !sharing_ok {
            return Err(escrow::LogError::Tampered(Tamper::GenerationNotAnnounced {
                generation: p.generation(),
                params: lab.params_path_of(p.generation()),
            })
            .into());
        }
    }
    Ok(())
}
