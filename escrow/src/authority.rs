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
use crate::params::{Generations, PublicParams};
use crate::setup::AuthorityShare;
use crate::transparency::api::{
    LocalLog, ReadOnlyLog, TransparencyLog, Witness, check_in_log, check_time, check_time_after,
};
use crate::transparency::proof::ProofBundle;
use crate::transparency::witness::WitnessState;
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
///
/// The lab's log is run in process ([`LocalLog`], the log role) with this authority's witness
/// ([`LabWitness`]) asked to cosign after the release is appended.
pub fn approve(
    lab: &Lab,
    authority: &str,
    warrant: &Warrant,
    receipt: &ProofBundle,
    at: OffsetDateTime,
) -> Result<Approved> {
    // Not an authority of the warrant's generation: refused before anything is opened.
    let generations = lab.load_generations()?;
    if generations
        .get(warrant.generation)?
        .authority(authority)
        .is_none()
    {
        return Err(Error::NotAnAuthority(authority.to_owned()));
    }
    let mut log = LocalLog::open(lab)?.with_witness(Box::new(LabWitness::new(lab, authority, at)?));
    approve_with(
        &LabAuthority::new(lab, authority),
        &mut log,
        warrant,
        receipt,
        at,
    )
}

/// [`approve`] against any log and any authority state: the authority's generations, share,
/// journal and witness state are in `store` (its folder of a lab: [`LabAuthority`]), the log
/// is `log` (the lab's, or a log service). The release is submitted to the log, which answers
/// with its inclusion proof in a checkpoint that this authority's witness must have cosigned
/// (its own witness service, for a log service): the approval leaves only then.
pub fn approve_with(
    store: &dyn AuthorityStore,
    log: &mut dyn TransparencyLog,
    warrant: &Warrant,
    receipt: &ProofBundle,
    at: OffsetDateTime,
) -> Result<Approved> {
    let authority = store.authority();
    // The warrant names its generation; its share, not the newest one, answers it.
    let generations = store.generations()?;
    let params = generations.get(warrant.generation)?.clone();
    if params.authority(authority).is_none() {
        return Err(Error::NotAnAuthority(authority.to_owned()));
    }
    let config = log.config().clone();
    if !retired_by_in(log, &params)?.iter().all(|a| a != authority) {
        return Err(Error::Retired {
            authority: authority.to_owned(),
            generation: params.generation(),
        });
    }
    warrant.check_generation_choice(&generations)?;
    check_sharing_in(
        &store.params_place(params.generation()),
        log,
        &params,
        Some(authority),
    )?;
    let share = store.share(&params)?;
    let state = store.witness_state()?;
    let ctx = ApprovalContext {
        params: &params,
        log: &config,
        witness: &state,
        at,
    };
    let (digest, scope, _cp) = check_warrant(&ctx, warrant, receipt, &mut |a, b| {
        log.prove_consistency(a, b)
    })?;
    // Simulated time never goes backwards: no decision before the warrant was logged, and a
    // new release not before the log's newest entry nor ahead of the clock (checked here,
    // before the journal is opened, and again by the log when it appends).
    let time_str = crate::encoding::rfc3339(at)?;
    check_time_after(log, "the approval", &time_str, receipt.index)?;
    let digest_hex = hex::encode(digest);
    let release_key = format!("release/{digest_hex}/{authority}");
    if log.lookup(&release_key)?.is_empty() {
        check_time(log, "the approval", &time_str)?;
    }
    let mut journal = store.journal()?;
    journal.check_reference(&warrant.reference, &digest)?;
    let (bytes, new) = match journal.find(&digest)? {
        Some(bytes) => {
            // Handed out before: only if the log still holds the release it proves.
            let cp = Approval::from_json(&bytes)?.check_release(&config)?;
            check_in_log(log, &cp, &format!(" (the release of {authority})"))?;
            (bytes, false)
        }
        None => {
            let mut approval = make_approval(&share, &params, warrant, &digest, &scope)?;
            // 1. `key-released`, submitted to the log (which holds one per warrant and
            //    authority, even across a crash and a re-run: a repeat returns the entry).
            // 2. The log asks the witnesses to cosign the checkpoint covering it; this
            //    authority's witness checks it against the last one it accepted, remembers it
            //    and cosigns. The approval carries the entry's inclusion proof at that
            //    checkpoint: from now on a log without this release is a rollback this witness
            //    refuses and every monitor reports.
            let rec = LogRecord::new(LogEntry::KeyReleased {
                digest: digest_hex.clone(),
                authority: authority.to_owned(),
                identity_count: approval.identity_shares.len() as u32,
                time: time_str.clone(),
            });
            let submitted = log.submit(&rec)?;
            approval.release = Some(submitted.receipt);
            let bytes = approval.to_json()?;
            // The check an auditor makes, made here first: the release is in a checkpoint
            // this authority's own witness cosigned.
            approval.check_release(&config)?;
            journal.record(&approval, &bytes, &time_str)?;
            (bytes, true)
        }
    };
    let approval = Approval::from_json(&bytes)?;
    Ok(Approved {
        bytes: zeroize::Zeroizing::new(bytes),
        approval,
        new,
    })
}

/// What one authority keeps, wherever it keeps it: the generations it knows, its shares, the
/// last checkpoint its witness accepted and its journal of approvals. The protocol
/// ([`approve_with`]) reads them only through this trait; [`LabAuthority`] keeps them in a lab
/// directory (`authorities/<name>/`), and an authority with its own state directory (part 2
/// of the separation of parties) is another implementation.
pub trait AuthorityStore {
    /// The authority's name.
    fn authority(&self) -> &str;
    /// Every generation's public parameters the authority knows.
    fn generations(&self) -> Result<Generations>;
    /// Its share of the generation of `params`, checked against them.
    fn share(&self, params: &PublicParams) -> Result<AuthorityShare>;
    /// The last checkpoint its witness accepted (a fresh state if it never cosigned).
    fn witness_state(&self) -> Result<WitnessState>;
    /// Its journal of approvals, created if it does not exist.
    fn journal(&self) -> Result<Box<dyn ApprovalJournal>>;
    /// Where the generation's parameters are kept, for messages.
    fn params_place(&self, generation: u32) -> String;
}

/// An authority's append-only journal of the approvals it handed out (rule 7 of
/// [`crate::approval`]: one warrant per reference; a repeat returns the journaled approval).
pub trait ApprovalJournal {
    /// The journaled approval of the warrant with this digest, if any.
    fn find(&self, digest: &[u8; 32]) -> Result<Option<Vec<u8>>>;
    /// Refuses if another warrant was approved under `reference`.
    fn check_reference(&self, reference: &str, digest: &[u8; 32]) -> Result<()>;
    /// Records an approval (its document `bytes`, at `time`).
    fn record(&mut self, approval: &Approval, bytes: &[u8], time: &str) -> Result<()>;
}

impl ApprovalJournal for Journal {
    fn find(&self, digest: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        Journal::find(self, digest)
    }

    fn check_reference(&self, reference: &str, digest: &[u8; 32]) -> Result<()> {
        Journal::check_reference(self, reference, digest)
    }

    fn record(&mut self, approval: &Approval, bytes: &[u8], time: &str) -> Result<()> {
        Journal::record(self, approval, bytes, time)
    }
}

/// An authority's state in a lab directory: `authorities/<name>/` (share files, `witness.json`,
/// `journal.sqlite`) and the lab's parameters.
#[derive(Clone, Debug)]
pub struct LabAuthority<'a> {
    lab: &'a Lab,
    authority: String,
}

impl<'a> LabAuthority<'a> {
    /// `authority`'s state in `lab`.
    pub fn new(lab: &'a Lab, authority: &str) -> Self {
        Self {
            lab,
            authority: authority.to_owned(),
        }
    }
}

impl AuthorityStore for LabAuthority<'_> {
    fn authority(&self) -> &str {
        &self.authority
    }

    fn generations(&self) -> Result<Generations> {
        self.lab.load_generations()
    }

    fn share(&self, params: &PublicParams) -> Result<AuthorityShare> {
        self.lab.load_share(params, &self.authority)
    }

    fn witness_state(&self) -> Result<WitnessState> {
        self.lab.load_witness_state(&self.authority)
    }

    fn journal(&self) -> Result<Box<dyn ApprovalJournal>> {
        crate::identity::check_name("authority", &self.authority)?;
        Ok(Box::new(Journal::open(
            &self.lab.journal_path(&self.authority),
        )?))
    }

    fn params_place(&self, generation: u32) -> String {
        self.lab.params_path_of(generation).display().to_string()
    }
}

/// An authority's witness in a lab (`authorities/<name>/witness.json`, `witness.key`), as the
/// log sees it: C2SP tlog-witness `add-checkpoint` ([`crate::transparency::witness::add_checkpoint`])
/// under the authority's witness lock (`witness.lock`), the state written before the
/// cosignature is returned — a crash can lose a cosignature, never leave one the witness does
/// not know it made. Cosignatures are dated `at`; `escrow log cosign` refuses a time before
/// the witness's previous cosignature (`cosigned_at`, the latest it made).
pub struct LabWitness {
    lab: Lab,
    authority: String,
    config: crate::transparency::LogConfig,
    signer: crate::transparency::CosignatureSigner,
    at: OffsetDateTime,
}

impl std::fmt::Debug for LabWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LabWitness({}, ***)", self.authority)
    }
}

impl LabWitness {
    /// `authority`'s witness in `lab`, cosigning at `at`.
    pub fn new(lab: &Lab, authority: &str, at: OffsetDateTime) -> Result<Self> {
        let config = lab.load_log_config()?;
        let signer = own_witness_signer(lab, &config, authority, at)?;
        Ok(Self {
            lab: lab.clone(),
            authority: authority.to_owned(),
            config,
            signer,
            at,
        })
    }
}

impl Witness for LabWitness {
    fn authority(&self) -> &str {
        &self.authority
    }

    fn add_checkpoint(
        &mut self,
        old_size: u64,
        proof: &[tlog_tiles::Hash],
        checkpoint: &[u8],
    ) -> Result<String> {
        let _lock = self.lab.lock_witness(&self.authority)?;
        let mut state = self.lab.load_witness_state(&self.authority)?;
        let at = u64::try_from(self.at.unix_timestamp()).unwrap_or(0);
        let (_, line) = crate::transparency::witness::add_checkpoint(
            &mut state,
            &self.config,
            old_size,
            proof,
            checkpoint,
            &self.signer,
        )?;
        state.cosigned_at = Some(state.cosigned_at.map_or(at, |p| p.max(at)));
        write_atomic(
            &self.lab.witness_state_path(&self.authority),
            &state.to_json()?,
            0o600,
        )?;
        Ok(line)
    }
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
    let time = crate::encoding::rfc3339(at)?;
    let witness = LabWitness::new(lab, authority, at)?;
    let mut log = LocalLog::open(lab)?.with_witness(Box::new(witness));
    // A cosignature is not dated before the entries it covers, nor ahead of the clock, nor
    // before this witness's previous cosignature.
    check_time(&log, "the cosignature", &time)?;
    let state = lab.load_witness_state(authority)?;
    let last = state.last_checkpoint(&config)?;
    if let Some(prev) = state.cosigned_at
        && u64::try_from(at.unix_timestamp()).is_ok_and(|t| t < prev)
    {
        let prev_time = i64::try_from(prev)
            .ok()
            .and_then(|p| OffsetDateTime::from_unix_timestamp(p).ok())
            .and_then(|p| p.format(&Rfc3339).ok())
            .unwrap_or_else(|| prev.to_string());
        return Err(Error::TimeBackwards {
            what: "the cosignature".into(),
            time,
            newest: format!(
                "{authority}'s previous cosignature (size {})",
                last.as_ref().map_or(0, |c| c.size())
            ),
            newest_time: prev_time,
        });
    }
    let size = log.collect_cosignatures()?;
    let witness_name = config.witness(authority)?.name().to_owned();
    let line = log
        .store()
        .cosignature(size, &witness_name)?
        .ok_or(crate::LogError::NoCheckpoint { size })?;
    let checkpoint = crate::transparency::SignedCheckpoint::verify(
        &log.store().checkpoint_note(size)?,
        &config,
    )?;
    Ok(Cosigned {
        checkpoint,
        line,
        previous: last.map(|c| c.label()),
    })
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
    params: &PublicParams,
    _config: &crate::transparency::LogConfig,
    authority: Option<&str>,
) -> Result<()> {
    check_sharing_in(
        &lab.params_path_of(params.generation())
            .display()
            .to_string(),
        &ReadOnlyLog::open(lab)?,
        params,
        authority,
    )
}

/// [`check_sharing`] against any log (the entries of the generation, by index lookup);
/// `place` says where the parameters of `params` are kept (for the message).
pub fn check_sharing_in(
    place: &str,
    log: &dyn TransparencyLog,
    params: &PublicParams,
    authority: Option<&str>,
) -> Result<()> {
    let mut logged: Option<String> = None;
    let mut revoked = false;
    for i in log.lookup(&generation_key(params))? {
        match log.entry(i)?.entry {
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
        return Err(crate::LogError::Tampered(crate::Tamper::ResharingMismatch {
            generation: params.generation(),
            params: place.into(),
        })
        .into());
    }
    if revoked {
        return Err(Error::DkgRefused(
            crate::dkg::DkgRefusal::RevokedInOpenResharing {
                authority: authority.unwrap_or_default().to_owned(),
                generation: params.generation(),
            },
        ));
    }
    Ok(())
}

/// The authorities the log says have retired the generation of `params`.
pub fn retired_by(
    lab: &Lab,
    params: &PublicParams,
    _config: &crate::transparency::LogConfig,
) -> Result<Vec<String>> {
    retired_by_in(&ReadOnlyLog::open(lab)?, params)
}

/// The lookup key of the entries about the generation of `params`.
fn generation_key(params: &PublicParams) -> String {
    format!("generation/{}/{}", params.realm(), params.generation())
}

/// [`retired_by`] against any log (the entries of the generation, by index lookup).
pub fn retired_by_in(log: &dyn TransparencyLog, params: &PublicParams) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for i in log.lookup(&generation_key(params))? {
        match log.entry(i)?.entry {
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
    // Everything needed to log the retirement is loaded before the share is destroyed.
    let time = crate::encoding::rfc3339(at)?;
    let mut log = LocalLog::open(lab)?;
    // Destroyed under the log's write lock: no seal or refresh can write the share back.
    let new = log.locked(|log| {
        let key = format!(
            "retired/{}/{}/{authority}",
            params.realm(),
            params.generation()
        );
        let logged = !log.lookup(&key)?.is_empty();
        // The time and the log are checked before the share is destroyed: a refused time, or
        // a log behind what this authority's witness accepted, changes nothing.
        if !logged {
            check_time(log, "the retirement", &time)?;
        }
        check_witnessed(lab, log, authority)?;
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
        log.submit(&rec).map(|s| s.new)
    })?;
    let retired = retired_by_in(&log, &params)?;
    drop(log);
    let unrecoverable =
        params.authorities().len().saturating_sub(retired.len()) < params.threshold();
    Ok(Retirement {
        generation: params.generation(),
        new,
        retired,
        unrecoverable,
    })
}

/// Refuses a log that does not contain the checkpoint `authority`'s witness accepted last (a
/// rollback, a fork, a replaced database): checked before an authority destroys anything on
/// the log's word (retirement, revocation).
pub(crate) fn check_witnessed(lab: &Lab, log: &dyn TransparencyLog, authority: &str) -> Result<()> {
    let state = lab.load_witness_state(authority)?;
    if let Some(cp) = state.last_checkpoint(log.config())? {
        check_in_log(log, &cp, &format!(" (accepted by {authority}'s witness)"))?;
    }
    Ok(())
}
