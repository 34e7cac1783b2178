//! What one authority does in a lab directory: approve a warrant (docs/protocol.md §6–7) and
//! cosign the log as a witness (§7).
//!
//! [`approve`] is the whole procedure behind `escrow approve`, callable by the scenarios:
//! load the authority's share, witness state and journal; run the checks of
//! [`crate::approval`] (rules 1–7) before anything is written; then record the release —
//! `key-released` in the transparency log (once per warrant and authority, even across a crash
//! and a re-run), the approval in the journal — and advance the authority's witness state to
//! the receipt's checkpoint. Approving the same warrant again returns the journaled approval
//! and releases nothing new.

use signed_note::Verifier as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::approval::{Approval, ApprovalContext, Journal, check_warrant, make_approval};
use crate::error::{Error, Result};
use crate::lab::{Lab, write_atomic};
use crate::transparency::proof::ProofBundle;
use crate::transparency::witness::check_in_log;
use crate::transparency::{LogEntry, LogRecord};
use crate::warrant::Warrant;

/// The result of [`approve`].
pub struct Approved {
    /// The approval document (JSON, secret: it carries key shares).
    pub bytes: zeroize::Zeroizing<Vec<u8>>,
    /// The approval, parsed.
    pub approval: Approval,
    /// False if this authority had approved this warrant before (nothing new released).
    pub new: bool,
}

impl std::fmt::Debug for Approved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approved")
            .field("authority", &self.approval.authority)
            .field("reference", &self.approval.reference)
            .field("new", &self.new)
            .finish_non_exhaustive()
    }
}

/// Runs `authority`'s checks on `warrant` and its `receipt` at time `at` and, if they pass,
/// releases and records its approval. On a refusal nothing in the lab changes.
pub fn approve(
    lab: &Lab,
    authority: &str,
    warrant: &Warrant,
    receipt: &ProofBundle,
    at: OffsetDateTime,
) -> Result<Approved> {
    // The warrant names its generation; its share, not the newest one, answers it.
    let generations = lab.load_generations()?;
    let params = generations.get(warrant.generation)?.clone();
    if params.authority(authority).is_none() {
        return Err(Error::NotAnAuthority(authority.to_owned()));
    }
    let config = lab.load_log_config()?;
    if !retired_by(lab, &params, &config)?
        .iter()
        .all(|a| a != authority)
    {
        return Err(Error::Retired {
            authority: authority.to_owned(),
            generation: params.generation(),
        });
    }
    warrant.check_generation_choice(&generations)?;
    check_sharing(lab, &params, &config, Some(authority))?;
    let share = lab.load_share(&params, authority)?;
    let mut store = lab.open_log(&config)?;
    let mut state = lab.load_witness_state(authority)?;
    let ctx = ApprovalContext {
        params: &params,
        log: &config,
        witness: &state,
        at,
    };
    let (digest, scope, cp) = check_warrant(&ctx, warrant, receipt, &mut |a, b| {
        store.prove_consistency(a, b)
    })?;
    // Simulated time never goes backwards: no decision before the warrant was logged, and a
    // new release not before the log's newest entry nor ahead of the clock (checked here,
    // before the journal is opened, and again inside the log's transaction).
    let time_str = at
        .format(&Rfc3339)
        .map_err(|_| Error::Internal("RFC 3339 formatting"))?;
    store.check_time_after("the approval", &time_str, receipt.index)?;
    let released_before = store.find(|e| {
        matches!(e, LogEntry::KeyReleased { digest: d, authority: a, .. }
            if *d == hex::encode(digest) && a == authority)
    })?;
    if released_before.is_none() {
        store.check_time("the approval", &time_str)?;
    }
    let journal_path = lab.authorities_dir().join(authority).join("journal.sqlite");
    let mut journal = Journal::open(&journal_path)?;
    journal.check_reference(&warrant.reference, &digest)?;
    let (bytes, new) = match journal.find(&digest)? {
        Some(bytes) => {
            // Handed out before: only if the log still holds the release it proves.
            let cp = Approval::from_json(&bytes)?.check_release(&config)?;
            check_in_log(&store, &cp, &format!(" (the release of {authority})"))?;
            (bytes, false)
        }
        None => {
            let mut approval = make_approval(&share, &params, warrant, &digest, &scope)?;
            let time = at
                .format(&Rfc3339)
                .map_err(|_| Error::Internal("RFC 3339 formatting"))?;
            let digest_hex = hex::encode(digest);
            let signer = lab.log_signer()?;
            let witness_signer = own_witness_signer(lab, &config, authority, at)?;
            let witness_name = config.witness(authority)?.name().to_owned();
            // 1. `key-released`, committed on its own (once per warrant and authority).
            let index = store.with_write_lock(|store| {
                let released = |e: &LogEntry| {
                    matches!(e, LogEntry::KeyReleased { digest: d, authority: a, .. }
                        if *d == digest_hex && a == authority)
                };
                if let Some(i) = store.find(released)? {
                    return Ok(i);
                }
                let rec = LogRecord::new(LogEntry::KeyReleased {
                    digest: digest_hex.clone(),
                    authority: authority.to_owned(),
                    identity_count: approval.identity_shares.len() as u32,
                    time: time.clone(),
                });
                store.append(&rec, &signer).map(|(i, _)| i)
            })?;
            // 2. As a witness, the authority checks the log's newest checkpoint (which covers
            //    the release) against the last one it accepted, remembers it, and cosigns it;
            //    the approval carries the entry's inclusion proof at that checkpoint. From now
            //    on a log without this release is a rollback this witness refuses and every
            //    monitor reports.
            let release = store.with_write_lock(|store| {
                witness_cosign(
                    lab,
                    store,
                    &mut state,
                    &config,
                    &witness_signer,
                    &witness_name,
                )?;
                ProofBundle::build(store, index)
            })?;
            approval.release = Some(release);
            let bytes = approval.to_json()?;
            // The check an auditor makes, made here first.
            approval.check_release(&config)?;
            journal.record(&approval, &bytes, &time)?;
            (bytes, true)
        }
    };
    // The receipt's checkpoint is now the last this authority accepted (if newer).
    if state
        .last_checkpoint(&config)?
        .is_none_or(|l| l.size() < cp.size())
    {
        state.last = Some(receipt.checkpoint.clone());
        write_atomic(&lab.witness_state_path(authority), &state.to_json()?, 0o600)?;
    }
    let approval = Approval::from_json(&bytes)?;
    Ok(Approved {
        bytes: zeroize::Zeroizing::new(bytes),
        approval,
        new,
    })
}

/// What [`cosign`] did.
#[derive(Debug)]
pub struct Cosigned {
    /// The checkpoint cosigned.
    pub checkpoint: crate::transparency::SignedCheckpoint,
    /// The cosignature line stored in the log.
    pub line: String,
    /// The checkpoint this authority had accepted before (`size/root`), if any.
    pub previous: Option<String>,
}

/// `authority`, as a witness, checks the log's newest checkpoint against the last one it
/// accepted (refusing a rollback or an inconsistent log as equivocation) and cosigns it.
///
/// The log's write lock is held from reading the checkpoint to storing the cosignature, and
/// the witness remembers the checkpoint before the cosignature is published: a crash can lose
/// a cosignature, never leave one the witness does not know it made.
pub fn cosign(lab: &Lab, authority: &str, at: OffsetDateTime) -> Result<Cosigned> {
    if !lab
        .load_generations()?
        .iter()
        .any(|p| p.authority(authority).is_some())
    {
        return Err(Error::NotAnAuthority(authority.to_owned()));
    }
    let config = lab.load_log_config()?;
    let mut store = lab.open_log(&config)?;
    let signer = own_witness_signer(lab, &config, authority, at)?;
    let witness_name = config.witness(authority)?.name().to_owned();
    let time = at
        .format(&Rfc3339)
        .map_err(|_| Error::Internal("RFC 3339 formatting"))?;
    store.with_write_lock(|store| {
        // A cosignature is not dated before the entries it covers, nor ahead of the clock,
        // nor before this witness's previous cosignature.
        store.check_time("the cosignature", &time)?;
        let mut state = lab.load_witness_state(authority)?;
        let last = state.last_checkpoint(&config)?;
        if let Some(last) = &last
            && let Some(line) = store.cosignature(last.size(), &witness_name)?
            && let Ok(sig) =
                signed_note::Signature::from_bytes(line.trim_end_matches('\n').as_bytes())
            && let Some(prev) = crate::transparency::CosignatureVerifier::time_of(sig.signature())
            && u64::try_from(at.unix_timestamp()).is_ok_and(|t| t < prev)
        {
            let prev_time = i64::try_from(prev)
                .ok()
                .and_then(|p| OffsetDateTime::from_unix_timestamp(p).ok())
                .and_then(|p| p.format(&Rfc3339).ok())
                .unwrap_or_else(|| prev.to_string());
            return Err(Error::TimeBackwards {
                what: "the cosignature".into(),
                time: time.clone(),
                newest: format!("{authority}'s previous cosignature (size {})", last.size()),
                newest_time: prev_time,
            });
        }
        let previous = last.map(|c| c.label());
        let (checkpoint, line) =
            witness_cosign(lab, store, &mut state, &config, &signer, &witness_name)?;
        Ok(Cosigned {
            checkpoint,
            line,
            previous,
        })
    })
}

/// The witness step shared by [`approve`] and [`cosign`], under the log's write lock: the
/// witness checks the log's newest checkpoint against the last one it accepted (rollback and
/// equivocation refused), remembers it, then stores its cosignature. If it already cosigned
/// that very checkpoint, the stored line is returned and nothing is signed again.
fn witness_cosign(
    lab: &Lab,
    store: &mut crate::transparency::store::LogStore,
    state: &mut crate::transparency::witness::WitnessState,
    config: &crate::transparency::LogConfig,
    signer: &crate::transparency::CosignatureSigner,
    witness_name: &str,
) -> Result<(crate::transparency::SignedCheckpoint, String)> {
    let size = store.size()?;
    let note = store.checkpoint_note(size)?;
    if let Some(line) = store.cosignature(size, witness_name)? {
        let cp = state.check(config, &note, &mut |old, new| {
            store.prove_consistency(old, new)
        })?;
        if state
            .last_checkpoint(config)?
            .is_some_and(|l| l.size() == size)
        {
            return Ok((cp, line));
        }
    }
    let (cp, line) = state.cosign(
        config,
        &note,
        &mut |old, new| store.prove_consistency(old, new),
        signer,
    )?;
    write_atomic(
        &lab.witness_state_path(&state.authority),
        &state.to_json()?,
        0o600,
    )?;
    store.add_cosignature(cp.size(), witness_name, &line)?;
    Ok((cp, line))
}

/// `authority`'s witness signer, refused unless it is the key `log.json` lists for it.
fn own_witness_signer(
    lab: &Lab,
    config: &crate::transparency::LogConfig,
    authority: &str,
    at: OffsetDateTime,
) -> Result<crate::transparency::CosignatureSigner> {
    let signer = lab.witness_signer(authority, at.unix_timestamp().max(0) as u64)?;
    if !signer.matches(config, authority)? {
        return Err(crate::error::LogError::Malformed {
            what: "witness key",
            reason: format!("{authority}'s witness key is not the key log.json lists"),
        }
        .into());
    }
    Ok(signer)
}

/// Checks `params` against the resharings the log shows for its generation: the sharing must
/// be the last `generation-reshared` entry's (SHA-256 of the commitment), and `authority` must
/// not have revoked its share in a resharing that has not completed since.
pub fn check_sharing(
    lab: &Lab,
    params: &crate::PublicParams,
    config: &crate::transparency::LogConfig,
    authority: Option<&str>,
) -> Result<()> {
    let store = lab.open_log_read_only(config)?;
    let mut logged: Option<String> = None;
    let mut revoked = false;
    for i in 0..store.size()? {
        match store.entry(i)?.entry {
            LogEntry::GenerationReshared {
                realm,
                generation,
                commitment,
                ..
            } if realm == params.realm() && generation == params.generation() => {
                logged = Some(commitment);
                revoked = false;
            }
            LogEntry::SharingRevoked {
                realm,
                generation,
                authority: a,
                ..
            } if realm == params.realm()
                && generation == params.generation()
                && Some(a.as_str()) == authority =>
            {
                revoked = true;
            }
            _ => {}
        }
    }
    if let Some(c) = logged
        && c != crate::dkg::reshare::commitment_digest(params)
    {
        return Err(crate::LogError::Tampered(format!(
            "generation {} of the lab ({}) is not the sharing the log's last \
             generation-reshared entry names",
            params.generation(),
            lab.params_path_of(params.generation()).display()
        ))
        .into());
    }
    if revoked {
        return Err(Error::DkgRefused(format!(
            "{} revoked its share of generation {} in a resharing that has not completed: it \
             holds no share of it now",
            authority.unwrap_or_default(),
            params.generation()
        )));
    }
    Ok(())
}

/// The authorities the log says have retired the generation of `params`.
pub fn retired_by(
    lab: &Lab,
    params: &crate::PublicParams,
    config: &crate::transparency::LogConfig,
) -> Result<Vec<String>> {
    let store = lab.open_log_read_only(config)?;
    let mut out = Vec::new();
    for i in 0..store.size()? {
        match store.entry(i)?.entry {
            LogEntry::GenerationRetired {
                realm,
                generation,
                authority,
                ..
            } if realm == params.realm()
                && generation == params.generation()
                && params.authority(&authority).is_some()
                && !out.contains(&authority) =>
            {
                out.push(authority);
            }
            // A resharing makes new shares: retirements of the sharing before it are spent.
            LogEntry::GenerationReshared {
                realm, generation, ..
            } if realm == params.realm() && generation == params.generation() => out.clear(),
            _ => {}
        }
    }
    Ok(out)
}

/// What [`retire`] did.
#[derive(Debug)]
pub struct Retirement {
    /// The generation retired.
    pub generation: u32,
    /// False if the log already recorded this retirement (nothing new was written).
    pub new: bool,
    /// Authorities that have retired the generation, this one included.
    pub retired: Vec<String>,
    /// Whether fewer than k shares remain: the generation's traffic is now unrecoverable.
    pub unrecoverable: bool,
}

/// `authority` retires `generation` (the newest if `None`): its share file is overwritten with
/// zeros, synced and removed, then `generation-retired` is logged (in that order: a crash
/// between the two leaves a destroyed share and no entry, which re-running completes — never
/// an entry for a share that still exists). Once n − k + 1 authorities have retired a
/// generation, fewer than k shares exist and its traffic cannot be opened by anyone: the
/// escrow's retention window. Other generations are untouched.
pub fn retire(
    lab: &Lab,
    authority: &str,
    generation: Option<u32>,
    at: OffsetDateTime,
) -> Result<Retirement> {
    // An interrupted refresh or seal is finished (or its staged copies destroyed) first, so
    // that no copy of this share outlives the retirement.
    if lab.rotation_pending() {
        lab.recover_rotation()?;
    }
    let params = match generation {
        Some(g) => lab.load_generation(g)?,
        None => lab.load_params()?,
    };
    if params.authority(authority).is_none() {
        return Err(Error::NotAnAuthority(authority.to_owned()));
    }
    let config = lab.load_log_config()?;
    // Everything needed to log the retirement is loaded before the share is destroyed.
    let time = at
        .format(&Rfc3339)
        .map_err(|_| Error::Internal("RFC 3339 formatting"))?;
    let signer = lab.log_signer()?;
    let mut store = lab.open_log(&config)?;
    // Destroyed under the log's write lock: no seal or refresh can write the share back.
    let new = store.with_write_lock(|store| {
        let done = |e: &LogEntry| {
            matches!(e, LogEntry::GenerationRetired { realm, generation, authority: a, .. }
                if realm == params.realm() && *generation == params.generation() && a == authority)
        };
        let logged = store.find(done)?.is_some();
        // The time is checked before the share is destroyed: a refused time changes nothing.
        if !logged {
            store.check_time("the retirement", &time)?;
        }
        lab.destroy_share(authority, params.generation())?;
        if logged {
            return Ok(false);
        }
        let rec = LogRecord::new(LogEntry::GenerationRetired {
            realm: params.realm().to_owned(),
            generation: params.generation(),
            authority: authority.to_owned(),
            time: time.clone(),
        });
        store.append(&rec, &signer).map(|_| true)
    })?;
    drop(store);
    let retired = retired_by(lab, &params, &config)?;
    let unrecoverable =
        params.authorities().len().saturating_sub(retired.len()) < params.threshold();
    Ok(Retirement {
        generation: params.generation(),
        new,
        retired,
        unrecoverable,
    })
}
