//! The transparency log as the other parties see it: the seam between the protocol and the
//! log's storage (in the style of openmls's `StorageProvider` and libsignal's stores).
//!
//! [`TransparencyLog`] is everything an authority, the auditor or a monitor needs from the
//! log: read entries, checkpoints and proofs, look entries up by key, and *submit* an entry,
//! receiving back its index, an inclusion proof and a signed checkpoint covering it
//! ([`Submitted`]). No party but the log operator signs for the log. Two implementations:
//!
//! * [`LocalLog`]: the log role in this process, over the lab's SQLite store — the only code
//!   that opens `log/log.key`. The one-directory lab runs every party through it.
//! * `escrow_net::HttpLog`: a client of `escrow log serve` (C2SP tlog-tiles reads, signed
//!   `POST /add-entry` writes).
//!
//! [`Witness`] is the other seam: a witness as the log sees it, C2SP tlog-witness
//! `add-checkpoint` (old size, consistency proof, checkpoint → cosignature line). The lab's
//! authorities implement it in process (`crate::authority::LabWitness`); `escrow witness serve`
//! puts the same procedure behind HTTP.

use signed_note::{StandardSigner, Verifier as _};
use tlog_tiles::Hash;

use super::proof::ProofBundle;
use super::store::LogStore;
use super::{LogConfig, LogRecord, SignedCheckpoint};
use crate::error::{Error, LogError, Result};
use crate::lab::Lab;

/// What a party gets back for a submitted entry.
#[derive(Clone, Debug)]
pub struct Submitted {
    /// The entry's index.
    pub index: u64,
    /// False if the log already held it (the same record, or the entry of its kind the log
    /// holds once — see [`super::LogEntry::once_key`]): `index` is that entry's.
    pub new: bool,
    /// The entry at `index` with its inclusion proof in a signed checkpoint (cosigned by the
    /// witnesses the log consulted).
    pub receipt: ProofBundle,
}

/// The log, as the parties that read it and submit to it see it.
pub trait TransparencyLog {
    /// The log's public configuration (origin, keys, witnesses, submitters).
    fn config(&self) -> &LogConfig;
    /// Number of entries.
    fn size(&self) -> Result<u64>;
    /// The record at `index`.
    fn entry(&self, index: u64) -> Result<LogRecord>;
    /// The newest signed checkpoint note, with the cosignatures collected for it.
    fn checkpoint(&self) -> Result<Vec<u8>>;
    /// Inclusion proof of entry `index` in the tree of `size` entries.
    fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>>;
    /// Consistency proof from the tree of `old` entries to the tree of `new`.
    fn prove_consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>>;
    /// Indexes of the entries under lookup key `key` ([`super::LogEntry::index_keys`]),
    /// ascending.
    fn lookup(&self, key: &str) -> Result<Vec<u64>>;
    /// Submits `record`: the log appends it unless it already holds it, and answers once the
    /// entry is durable.
    fn submit(&mut self, record: &LogRecord) -> Result<Submitted>;
}

/// A witness as the log sees it (C2SP tlog-witness `add-checkpoint`).
pub trait Witness: Send {
    /// The authority whose witness this is (its key is `log.json`'s for that authority).
    fn authority(&self) -> &str;
    /// Asks the witness to cosign `checkpoint` (a signed note of the log), given the size of
    /// the checkpoint the log believes the witness last cosigned and a consistency proof from
    /// it. Returns the cosignature line; [`LogError::WitnessConflict`] carries the witness's
    /// actual size when `old_size` is not it.
    fn add_checkpoint(
        &mut self,
        old_size: u64,
        proof: &[Hash],
        checkpoint: &[u8],
    ) -> Result<String>;
}

/// The newest entry's index and record, if the log has any.
pub fn newest(log: &dyn TransparencyLog) -> Result<Option<(u64, LogRecord)>> {
    match log.size()? {
        0 => Ok(None),
        n => Ok(Some((n - 1, log.entry(n - 1)?))),
    }
}

/// Refuses `time` for `what` if it is ahead of the clock or before the log's newest entry.
pub fn check_time(log: &dyn TransparencyLog, what: &str, time: &str) -> Result<()> {
    super::store::check_not_ahead(what, time)?;
    match newest(log)? {
        Some((i, r)) => super::store::not_before(what, time, i, &r),
        None => Ok(()),
    }
}

/// Refuses `time` for `what` if it is before entry `index`'s time.
pub fn check_time_after(
    log: &dyn TransparencyLog,
    what: &str,
    time: &str,
    index: u64,
) -> Result<()> {
    super::store::not_before(what, time, index, &log.entry(index)?)
}

/// Checks that the log still contains checkpoint `cp` (someone acted on it): its newest
/// checkpoint extends `cp`, by equal roots or a verified consistency proof. Anything else is a
/// log equivocation (`by` says whose checkpoint `cp` was).
pub fn check_in_log(log: &dyn TransparencyLog, cp: &SignedCheckpoint, by: &str) -> Result<()> {
    let newest = SignedCheckpoint::verify(&log.checkpoint()?, log.config())?;
    let equivocation = || -> Error {
        LogError::Equivocation {
            old: format!("{}{by}", cp.label()),
            new: format!("{} (this log)", newest.label()),
            by: String::new(),
        }
        .into()
    };
    if cp.size() > newest.size() {
        return Err(equivocation());
    }
    super::witness::check_consistent(cp, &newest, by, &mut |a, b| log.prove_consistency(a, b))
        .map_err(|e| match e {
            Error::Log(LogError::Equivocation { .. }) => equivocation(),
            e => e,
        })
}

/// The proof bundle of entry `index` against the log's newest checkpoint.
pub fn prove(log: &dyn TransparencyLog, index: u64) -> Result<ProofBundle> {
    let note = log.checkpoint()?;
    let cp = SignedCheckpoint::verify(&note, log.config())?;
    let proof = log.prove_inclusion(index, cp.size())?;
    ProofBundle::from_parts(index, &log.entry(index)?, &proof, note)
}

/// A read-only view of a lab's log (monitors, checks before anything is written): reads
/// through the store, refuses submissions.
#[derive(Debug)]
pub struct ReadOnlyLog {
    store: LogStore,
    config: LogConfig,
}

impl ReadOnlyLog {
    /// Opens the lab's log read-only.
    pub fn open(lab: &Lab) -> Result<Self> {
        let config = lab.load_log_config()?;
        let store = lab.open_log_read_only(&config)?;
        Ok(Self { store, config })
    }
}

macro_rules! reads_through_store {
    () => {
        fn config(&self) -> &LogConfig {
            &self.config
        }

        fn size(&self) -> Result<u64> {
            self.store.size()
        }

        fn entry(&self, index: u64) -> Result<LogRecord> {
            self.store.entry(index)
        }

        fn checkpoint(&self) -> Result<Vec<u8>> {
            self.store.latest_checkpoint()
        }

        fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
            self.store.prove_inclusion(index, size)
        }

        fn prove_consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
            self.store.prove_consistency(old, new)
        }

        fn lookup(&self, key: &str) -> Result<Vec<u64>> {
            self.store.lookup(key)
        }
    };
}

impl TransparencyLog for ReadOnlyLog {
    reads_through_store!();

    fn submit(&mut self, _: &LogRecord) -> Result<Submitted> {
        Err(LogError::ReadOnly.into())
    }
}

/// The log role in this process: the lab's SQLite store and the log's signing key, with the
/// witnesses it asks to cosign after each append.
pub struct LocalLog {
    store: LogStore,
    config: LogConfig,
    signer: StandardSigner,
    witnesses: Vec<Box<dyn Witness>>,
}

impl std::fmt::Debug for LocalLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLog")
            .field("origin", &self.config.origin)
            .finish_non_exhaustive()
    }
}

impl LocalLog {
    /// Opens the lab's log as its operator (reads `log/log.key`).
    pub fn open(lab: &Lab) -> Result<Self> {
        let config = lab.load_log_config()?;
        let store = lab.open_log(&config)?;
        let signer = lab.log_signer()?;
        Ok(Self::new(store, config, signer))
    }

    /// The log over `store`, signing with `signer`.
    pub fn new(store: LogStore, config: LogConfig, signer: StandardSigner) -> Self {
        Self {
            store,
            config,
            signer,
            witnesses: Vec::new(),
        }
    }

    /// Adds a witness to ask after each append.
    pub fn with_witness(mut self, witness: Box<dyn Witness>) -> Self {
        self.witnesses.push(witness);
        self
    }

    /// The store (reads).
    pub fn store(&self) -> &LogStore {
        &self.store
    }

    /// Runs `f` holding the log database's write lock (a lab-local read-check-write sequence
    /// such as a retirement, which destroys a share before its entry is logged); rolls back if
    /// `f` fails. Witnesses are not asked inside.
    pub fn locked<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.store.begin_immediate()?;
        let witnesses = std::mem::take(&mut self.witnesses);
        let r = f(self);
        self.witnesses = witnesses;
        match r {
            Ok(v) => {
                self.store.commit()?;
                Ok(v)
            }
            Err(e) => {
                self.store.rollback();
                Err(e)
            }
        }
    }

    /// Appends each record it does not hold yet, in one transaction with one checkpoint; per
    /// record its index and whether it was new, or why it was refused.
    pub fn append_batch(&mut self, records: &[LogRecord]) -> Result<Vec<Result<(u64, bool)>>> {
        Ok(self.store.submit_batch(records, &self.signer)?.0)
    }

    /// Asks every witness to cosign the newest checkpoint (skipping those that already did)
    /// and stores their cosignatures. Returns the checkpoint's size; the first witness's
    /// refusal is the error (after the others were asked).
    pub fn collect_cosignatures(&mut self) -> Result<u64> {
        let size = self.store.size()?;
        let note = self.store.checkpoint_note(size)?;
        let mut first_err = None;
        for w in &mut self.witnesses {
            let name = self.config.witness(w.authority())?.name().to_owned();
            if self.store.cosignature(size, &name)?.is_some() {
                continue;
            }
            match ask(&self.store, w.as_mut(), &name, size, &note) {
                Ok(line) => {
                    if self.store.cosignature(size, &name)?.is_none() {
                        self.store.add_cosignature(size, &name, &line)?;
                    }
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(size),
        }
    }

    /// The receipt of entry `index` at the checkpoint of `size` (with its cosignatures).
    pub fn receipt(&self, index: u64, size: u64) -> Result<ProofBundle> {
        let note = self.store.checkpoint_at(size)?;
        let proof = self.store.prove_inclusion(index, size)?;
        ProofBundle::from_parts(index, &self.store.entry(index)?, &proof, note)
    }
}

/// Asks witness `w` (key name `name`) to cosign the checkpoint `note` of `size`, starting from
/// the newest size it cosigned in this log; on a conflict, once more from the size it names.
fn ask(
    store: &LogStore,
    w: &mut dyn Witness,
    name: &str,
    size: u64,
    note: &[u8],
) -> Result<String> {
    let mut old = store.last_cosigned(name)?.unwrap_or(0);
    for _ in 0..2 {
        let proof = if old == 0 || old >= size {
            Vec::new()
        } else {
            store.prove_consistency(old, size)?
        };
        match w.add_checkpoint(old, &proof, note) {
            Err(Error::Log(LogError::WitnessConflict { size: s, .. })) if s != old => old = s,
            r => return r,
        }
    }
    Err(LogError::WitnessConflict {
        witness: name.to_owned(),
        size: old,
    }
    .into())
}

impl TransparencyLog for LocalLog {
    reads_through_store!();

    fn submit(&mut self, record: &LogRecord) -> Result<Submitted> {
        let (index, new) = self
            .store
            .submit_batch(std::slice::from_ref(record), &self.signer)?
            .0
            .pop()
            .ok_or(Error::Internal(crate::Bug::BatchResult))??;
        let size = self.collect_cosignatures()?;
        Ok(Submitted {
            index,
            new,
            receipt: self.receipt(index, size)?,
        })
    }
}
