//! The public monitor: recomputes the whole tree from the entries, checks every stored hash,
//! every checkpoint's signature and root, and every witness cosignature; then computes public
//! statistics from the entries.

use std::collections::BTreeMap;

use serde::Serialize;
use tlog_tiles::{Hash, HashReader};

use super::entry::{LogEntry, LogRecord};
use super::store::LogStore;
use super::tamper::Tamper;
use super::{CosignatureVerifier, LogConfig, SignedCheckpoint};
use crate::error::{LogError, Result};
use signed_note::Verifier as _;

struct MemHashes<'a>(&'a [Hash]);

impl HashReader for MemHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> std::result::Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|i| {
                self.0
                    .get(*i as usize)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// Public statistics of the log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Entries per type.
    pub entries: BTreeMap<String, u64>,
    /// Warrants logged per month (`YYYY-MM`).
    pub warrants_per_month: BTreeMap<String, u64>,
    /// Warrants released: key shares released by at least the threshold of distinct
    /// authorities (the smallest threshold of the log's generations), so their keys can be
    /// combined.
    pub warrants_with_releases: u64,
    /// Warrants with releases by fewer authorities than that: nothing usable was released.
    pub warrants_below_threshold: u64,
    /// Scope identities (target × epoch) of the released warrants, each counted once per
    /// warrant however many authorities released a share of its key.
    pub identities_released: u64,
    /// Identity-key shares released: one per identity per releasing authority (an identity
    /// key needs k of them).
    pub identity_key_shares_released: u64,
    /// Key releases per authority.
    pub releases_by_authority: BTreeMap<String, u64>,
    /// Distinct warrants executed.
    pub warrants_executed: u64,
    /// `warrant-executed` entries (one per warrant under the execution rule; an older log may
    /// hold repeats).
    pub executions: u64,
    /// Messages decrypted, counted once per warrant (its first execution; a repeat decrypts
    /// the same messages again and is not counted).
    pub messages_decrypted: u64,
}

/// What the monitor checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Entries.
    pub size: u64,
    /// Checkpoints verified.
    pub checkpoints: u64,
    /// Cosignatures verified, per authority.
    pub cosignatures: BTreeMap<String, u64>,
    /// Per authority, the largest tree size it cosigned as a witness.
    pub witnessed_by: BTreeMap<String, u64>,
    /// The largest tree size some witness cosigned: entries below it are witnessed.
    pub witnessed_size: u64,
    /// Entries after `witnessed_size`: appended since any witness last cosigned (an
    /// unwitnessed tail; `escrow log cosign --as NAME` witnesses it).
    pub unwitnessed: u64,
    /// The newest checkpoint's root, hex.
    pub root: String,
    /// Statistics.
    pub stats: Stats,
}

/// The checks a monitor makes on the entries alone (from a database or from tiles): each is a
/// canonical record, entry 0 announces the first generation, times never go backwards, a
/// generation is announced once. Returns the records and the tree's stored hashes recomputed
/// from the entries (tlog stored-hash order).
pub fn check_entries(raw: &[Vec<u8>]) -> Result<(Vec<LogRecord>, Vec<Hash>)> {
    let mut records = Vec::with_capacity(raw.len());
    let mut hashes: Vec<Hash> = Vec::new();
    for (i, data) in raw.iter().enumerate() {
        let rec = LogRecord::from_bytes(data).map_err(|e| {
            LogError::Tampered(Tamper::NotARecord {
                index: i as u64,
                error: Box::new(e),
            })
        })?;
        records.push(rec);
        let new =
            tlog_tiles::stored_hashes(i as u64, data, &MemHashes(&hashes)).map_err(|error| {
                LogError::Tampered(Tamper::EntryHashes {
                    index: i as u64,
                    error,
                })
            })?;
        hashes.extend(new);
    }
    match records.first().map(|r| &r.entry) {
        Some(LogEntry::GenerationCreated { .. }) => {}
        Some(_) => {
            return Err(LogError::Tampered(Tamper::FirstNotGeneration).into());
        }
        None => {
            return Err(LogError::Tampered(Tamper::Empty).into());
        }
    }
    // Entry times never go backwards (every append checks it; a log that breaks it was
    // written around the tools).
    for (i, pair) in records.windows(2).enumerate() {
        super::store::check_after(&pair[0], i as u64, &pair[1].entry).map_err(|e| {
            LogError::Tampered(Tamper::TimeBackwards {
                index: i as u64 + 1,
                error: Box::new(e),
            })
        })?;
    }
    // A generation is announced once: a second `generation-created` for the same number
    // would let the log show different monitors different keys for it.
    let mut announced = std::collections::BTreeSet::new();
    for (i, r) in records.iter().enumerate() {
        if let LogEntry::GenerationCreated {
            realm, generation, ..
        } = &r.entry
            && !announced.insert((realm.clone(), *generation))
        {
            return Err(LogError::Tampered(Tamper::GenerationTwice {
                index: i as u64,
                realm: realm.clone(),
                generation: *generation,
            })
            .into());
        }
    }
    Ok((records, hashes))
}

/// Runs every check; the first failure is the error.
pub fn verify(store: &LogStore, config: &LogConfig) -> Result<Report> {
    verify_with(store, config, &[])
}

/// [`verify`], and also requires the log to contain each `trusted` checkpoint (for instance
/// those the witnesses accepted): a log truncated or rewritten below a checkpoint someone
/// accepted is reported.
pub fn verify_with(
    store: &LogStore,
    config: &LogConfig,
    trusted: &[(String, SignedCheckpoint)],
) -> Result<Report> {
    let missing = store.missing_schema()?;
    if !missing.is_empty() {
        return Err(LogError::Tampered(Tamper::MissingSchema { missing }).into());
    }
    let raw = store.raw_entries()?;
    let (records, hashes) = check_entries(&raw)?;
    // The stored hashes must be exactly the recomputed ones.
    let mut stmt = store
        .connection()
        .prepare("SELECT idx, hash FROM hashes ORDER BY idx")
        .map_err(LogError::from)?;
    let stored = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(LogError::from)?;
    let mut count = 0usize;
    for row in stored {
        let (idx, h) = row.map_err(LogError::from)?;
        if idx != count as i64 || hashes.get(count).map(|x| &x.0[..]) != Some(&h[..]) {
            return Err(LogError::Tampered(Tamper::StoredHash { index: idx }).into());
        }
        count += 1;
    }
    if count != hashes.len() {
        return Err(LogError::Tampered(Tamper::StoredHashCount {
            stored: count as u64,
            entries: raw.len() as u64,
            expected: hashes.len() as u64,
        })
        .into());
    }
    let root_at = |s: u64| -> Result<Hash> {
        Ok(tlog_tiles::tree_hash(s, &MemHashes(&hashes))
            .map_err(|error| LogError::Tampered(Tamper::TreeHash { size: s, error }))?)
    };
    // Every checkpoint: log signature, root recomputed from the entries.
    let sizes = store.checkpoint_sizes()?;
    let mut root = tlog_tiles::EMPTY_HASH;
    for s in &sizes {
        let note = store.checkpoint_note(*s)?;
        let cp = SignedCheckpoint::verify(&note, config)?;
        if cp.size() != *s || *s > raw.len() as u64 {
            return Err(LogError::Tampered(Tamper::CheckpointSize {
                stored: *s,
                says: cp.size(),
            })
            .into());
        }
        let expected = root_at(*s)?;
        if expected != cp.root() {
            return Err(LogError::Equivocation {
                old: format!(
                    "{s}/{} (recomputed from the entries)",
                    hex::encode(&expected.0[..8])
                ),
                new: cp.label(),
                by: " (signed by the log)".into(),
            }
            .into());
        }
        root = expected;
    }
    if sizes.last() != Some(&(raw.len() as u64)) {
        return Err(LogError::Tampered(Tamper::Uncovered {
            entries: raw.len() as u64,
        })
        .into());
    }
    // Every stored cosignature line: filed under a known witness, for a stored checkpoint,
    // naming that witness's key, and valid.
    let mut cosignatures: BTreeMap<String, u64> = BTreeMap::new();
    let mut witnessed_by: BTreeMap<String, u64> = BTreeMap::new();
    for (size, witness, line) in store.cosignature_rows()? {
        let (authority, verifier) = config
            .witnesses
            .iter()
            .find_map(|w| {
                let v = CosignatureVerifier::new(&w.key).ok()?;
                (v.name() == witness).then(|| (w.authority.clone(), v))
            })
            .ok_or_else(|| {
                LogError::Tampered(Tamper::UnknownWitness {
                    witness: witness.clone(),
                })
            })?;
        let note = store.checkpoint_note(size)?;
        let text = signed_note::Note::from_bytes(&note)
            .map_err(|error| LogError::Tampered(Tamper::CheckpointNote { size, error }))?;
        if !verifier.check_line(text.text(), &line) {
            return Err(LogError::BadSignature {
                what: format!("cosignature on the checkpoint of size {size}"),
                signer: authority,
            }
            .into());
        }
        let top = witnessed_by.entry(authority.clone()).or_default();
        *top = (*top).max(size);
        *cosignatures.entry(authority).or_default() += 1;
    }
    // Checkpoints someone accepted must still be in this log.
    for (who, cp) in trusted {
        if cp.size() > raw.len() as u64 || root_at(cp.size())? != cp.root() {
            return Err(LogError::Equivocation {
                old: format!("{} (accepted by {who})", cp.label()),
                new: format!("{}/{} (this log)", raw.len(), hex::encode(&root.0[..8])),
                by: String::new(),
            }
            .into());
        }
    }
    check_process(&records)?;
    let witnessed_size = witnessed_by.values().copied().max().unwrap_or(0);
    Ok(Report {
        size: raw.len() as u64,
        checkpoints: sizes.len() as u64,
        cosignatures,
        witnessed_by,
        witnessed_size,
        unwitnessed: (raw.len() as u64).saturating_sub(witnessed_size),
        root: hex::encode(root.0),
        stats: stats(&records),
    })
}

/// The smallest threshold of any generation the records announce or reshare (1 if none): a
/// warrant's key needs at least that many authorities' releases.
fn min_threshold(records: &[LogRecord]) -> u32 {
    records
        .iter()
        .filter_map(|r| match &r.entry {
            LogEntry::GenerationCreated { threshold, .. }
            | LogEntry::GenerationReshared { threshold, .. } => Some(*threshold),
            _ => None,
        })
        .min()
        .unwrap_or(1)
        .max(1)
}

/// The warrant process as the log records it (docs/protocol.md §7), which a log written
/// around the tools (by whoever holds the log's key) can break:
/// * a `key-released` follows its warrant's `warrant-logged`, comes from an authority of a
///   generation the log announced, once per warrant and authority, with at most the warrant's
///   scope of identities (targets × epochs);
/// * a `warrant-executed` follows its `warrant-logged` and releases by at least the smallest
///   threshold of distinct authorities, and a warrant is executed once;
/// * no entry is dated ahead of the clock (it would block every party's appends).
pub fn check_process(records: &[LogRecord]) -> Result<()> {
    let k = min_threshold(records);
    let bad = |t: Tamper| -> crate::Error { LogError::Tampered(t).into() };
    let mut authorities = std::collections::BTreeSet::new();
    let mut logged: BTreeMap<&str, u64> = BTreeMap::new();
    let mut released: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    let mut executed: BTreeMap<&str, u64> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        let index = i as u64;
        super::store::check_not_ahead(&format!("entry {i} ({})", r.entry.kind()), r.entry.time())
            .map_err(|e| {
            bad(Tamper::EntryAhead {
                index,
                kind: r.entry.kind(),
                error: Box::new(e),
            })
        })?;
        match &r.entry {
            LogEntry::GenerationCreated { authorities: a, .. }
            | LogEntry::GenerationReshared { authorities: a, .. } => {
                authorities.extend(a.iter().map(String::as_str))
            }
            LogEntry::WarrantLogged {
                digest,
                target_count,
                epoch_count,
                ..
            } => {
                logged
                    .entry(digest.as_str())
                    .or_insert(u64::from(*target_count) * u64::from(*epoch_count));
            }
            LogEntry::KeyReleased {
                digest,
                authority,
                identity_count,
                ..
            } => {
                let warrant = || digest.get(..16).unwrap_or(digest).to_owned();
                let Some(scope) = logged.get(digest.as_str()) else {
                    return Err(bad(Tamper::ReleaseNotLogged {
                        index,
                        warrant: warrant(),
                    }));
                };
                if !authorities.contains(authority.as_str()) {
                    return Err(bad(Tamper::ReleaseByNonAuthority {
                        index,
                        authority: authority.clone(),
                    }));
                }
                if u64::from(*identity_count) > *scope {
                    return Err(bad(Tamper::ReleaseWiderThanScope {
                        index,
                        identities: *identity_count,
                        warrant: warrant(),
                        scope: *scope,
                    }));
                }
                if !released
                    .entry(digest.as_str())
                    .or_default()
                    .insert(authority.as_str())
                {
                    return Err(bad(Tamper::SecondRelease {
                        index,
                        authority: authority.clone(),
                        warrant: warrant(),
                    }));
                }
            }
            LogEntry::WarrantExecuted { digest, .. } => {
                let warrant = || digest.get(..16).unwrap_or(digest).to_owned();
                if !logged.contains_key(digest.as_str()) {
                    return Err(bad(Tamper::ExecutionNotLogged {
                        index,
                        warrant: warrant(),
                    }));
                }
                let n = released.get(digest.as_str()).map_or(0, |a| a.len());
                if (n as u64) < u64::from(k) {
                    return Err(bad(Tamper::ExecutionBelowThreshold {
                        index,
                        warrant: warrant(),
                        released: n,
                        threshold: k,
                    }));
                }
                if let Some(first) = executed.insert(digest.as_str(), index) {
                    return Err(bad(Tamper::SecondExecution {
                        index,
                        warrant: warrant(),
                        first,
                    }));
                }
            }
            LogEntry::GenerationRetired { .. } | LogEntry::SharingRevoked { .. } => {}
        }
    }
    Ok(())
}

/// Statistics of a list of records.
pub fn stats(records: &[LogRecord]) -> Stats {
    let mut s = Stats::default();
    let mut released: BTreeMap<&str, u32> = BTreeMap::new();
    let mut authorities: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    let mut executed = std::collections::BTreeSet::new();
    for r in records {
        *s.entries.entry(r.entry.kind().to_owned()).or_default() += 1;
        match &r.entry {
            LogEntry::WarrantLogged { time, .. } => {
                let month = time.get(..7).unwrap_or("unknown").to_owned();
                *s.warrants_per_month.entry(month).or_default() += 1;
            }
            LogEntry::KeyReleased {
                digest,
                authority,
                identity_count,
                ..
            } => {
                s.identity_key_shares_released = s
                    .identity_key_shares_released
                    .saturating_add(u64::from(*identity_count));
                let most = released.entry(digest).or_default();
                *most = (*most).max(*identity_count);
                authorities
                    .entry(digest)
                    .or_default()
                    .insert(authority.as_str());
                *s.releases_by_authority
                    .entry(authority.clone())
                    .or_default() += 1;
            }
            LogEntry::WarrantExecuted {
                digest,
                messages_decrypted,
                ..
            } => {
                s.executions = s.executions.saturating_add(1);
                if executed.insert(digest.as_str()) {
                    s.messages_decrypted = s.messages_decrypted.saturating_add(*messages_decrypted);
                }
            }
            LogEntry::GenerationCreated { .. }
            | LogEntry::GenerationRetired { .. }
            | LogEntry::SharingRevoked { .. }
            | LogEntry::GenerationReshared { .. } => {}
        }
    }
    let k = min_threshold(records) as usize;
    for (digest, most) in &released {
        let n = authorities.get(digest).map_or(0, |a| a.len());
        if n >= k {
            s.warrants_with_releases += 1;
            s.identities_released = s.identities_released.saturating_add(u64::from(*most));
        } else {
            s.warrants_below_threshold += 1;
        }
    }
    s.warrants_executed = executed.len() as u64;
    s
}
