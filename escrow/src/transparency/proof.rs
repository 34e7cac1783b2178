//! Proof checks and the offline proof bundle.
//!
//! [`verify_inclusion`] and [`verify_consistency`] are RFC 9162 §2.1.3.2 / §2.1.4.2 proof
//! checks (tlog_tiles `check_record` / `check_tree`) with the argument validation done first,
//! so that no input reaches the library's internal assertions. They are tested against
//! transparency-dev/merkle's inclusion and consistency test data.
//!
//! A [`ProofBundle`] carries one entry, its index, its inclusion proof and the signed
//! checkpoint the proof is relative to: an authority checks it with the log's public key
//! alone, without the database.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use tlog_tiles::{Hash, record_hash};

use super::entry::LogRecord;
use super::{LogConfig, SignedCheckpoint};
use crate::error::{LogError, Result};
use crate::transparency::store::LogStore;

/// Longest proof accepted (a tree of 2^64 leaves needs at most 64 hashes for one proof, 128
/// for consistency with its boundary hashes).
pub const MAX_PROOF_LEN: usize = 128;

/// Checks that `proof` shows leaf `leaf_hash` at `index` in the tree of `size` with `root`.
pub fn verify_inclusion(
    proof: &[Hash],
    size: u64,
    root: Hash,
    index: u64,
    leaf_hash: Hash,
) -> Result<()> {
    if index >= size || proof.len() > MAX_PROOF_LEN {
        return Err(LogError::BadInclusion { index, size }.into());
    }
    tlog_tiles::check_record(&proof.to_vec(), size, root, index, leaf_hash)
        .map_err(|_| LogError::BadInclusion { index, size }.into())
}

/// Checks that `proof` shows the tree (`old`, `old_root`) is a prefix of (`new`, `new_root`).
/// A size-0 old tree is refused (nothing to be consistent with), as transparency-dev does.
pub fn verify_consistency(
    proof: &[Hash],
    old: u64,
    old_root: Hash,
    new: u64,
    new_root: Hash,
) -> Result<()> {
    let equivocation = || LogError::Equivocation {
        old: format!("{old}/{}", hex::encode(&old_root.0[..8])),
        new: format!("{new}/{}", hex::encode(&new_root.0[..8])),
        by: String::new(),
    };
    if old == 0 || old > new || proof.len() > MAX_PROOF_LEN {
        return Err(equivocation().into());
    }
    tlog_tiles::check_tree(&proof.to_vec(), new, new_root, old, old_root)
        .map_err(|_| equivocation().into())
}

/// An offline-checkable proof that an entry is in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// Format version, 1.
    pub version: u64,
    /// `"escrow-lab/log-proof"`.
    pub kind: String,
    /// Entry index.
    pub index: u64,
    /// The entry's canonical bytes, base64.
    pub entry: String,
    /// Inclusion proof hashes, base64.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint note the proof is relative to.
    pub checkpoint: String,
}

impl ProofBundle {
    /// Builds the bundle of entry `index` against the log's newest checkpoint.
    pub fn build(store: &LogStore, index: u64) -> Result<Self> {
        // The checkpoint first, then a proof for exactly its size: an append in between
        // cannot make the bundle inconsistent (the log is append-only).
        let note = store.latest_checkpoint()?;
        let text = signed_note::Note::from_bytes(&note).map_err(|e| LogError::Malformed {
            what: "checkpoint note",
            reason: e.to_string(),
        })?;
        let size = tlog_tiles::Checkpoint::from_bytes(text.text())
            .map_err(|e| LogError::Malformed {
                what: "checkpoint",
                reason: e.to_string(),
            })?
            .size();
        let record = store.entry(index)?;
        let proof = store.prove_inclusion(index, size)?;
        Ok(Self {
            version: 1,
            kind: "escrow-lab/log-proof".into(),
            index,
            entry: B64.encode(record.to_bytes()?),
            inclusion_proof: proof.iter().map(|h| B64.encode(h.0)).collect(),
            checkpoint: String::from_utf8(note).map_err(|_| LogError::Malformed {
                what: "checkpoint note",
                reason: "not UTF-8".into(),
            })?,
        })
    }

    /// The bundle of `record` at `index` with inclusion `proof` in the checkpoint `note`.
    pub fn from_parts(
        index: u64,
        record: &LogRecord,
        proof: &[Hash],
        note: Vec<u8>,
    ) -> Result<Self> {
        Ok(Self {
            version: 1,
            kind: "escrow-lab/log-proof".into(),
            index,
            entry: B64.encode(record.to_bytes()?),
            inclusion_proof: proof.iter().map(|h| B64.encode(h.0)).collect(),
            checkpoint: String::from_utf8(note).map_err(|_| LogError::Malformed {
                what: "checkpoint note",
                reason: "not UTF-8".into(),
            })?,
        })
    }

    /// Parses a bundle document.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let b: Self = crate::encoding::from_json("proof bundle", bytes)?;
        if b.kind != "escrow-lab/log-proof" {
            return Err(LogError::Malformed {
                what: "proof bundle",
                reason: format!("kind '{}'", b.kind),
            }
            .into());
        }
        Ok(b)
    }

    /// Serializes the bundle.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        crate::encoding::to_json(self)
    }

    /// Checks the bundle with the log's public configuration alone: the checkpoint's log
    /// signature, the entry's canonical form, and the inclusion proof. Returns the entry and
    /// the checkpoint.
    pub fn verify(&self, config: &LogConfig) -> Result<(LogRecord, SignedCheckpoint)> {
        let cp = SignedCheckpoint::verify(self.checkpoint.as_bytes(), config)?;
        let bad = |what: &'static str| LogError::Malformed {
            what,
            reason: "not base64".into(),
        };
        let data = B64
            .decode(&self.entry)
            .map_err(|_| bad("proof bundle entry"))?;
        let record = LogRecord::from_bytes(&data)?;
        let proof = self
            .inclusion_proof
            .iter()
            .take(MAX_PROOF_LEN + 1)
            .map(|h| {
                let b = B64.decode(h).map_err(|_| bad("proof hash"))?;
                let h: [u8; 32] = b.try_into().map_err(|_| bad("proof hash"))?;
                Ok(Hash(h))
            })
            .collect::<Result<Vec<_>>>()?;
        verify_inclusion(&proof, cp.size(), cp.root(), self.index, record_hash(&data))?;
        Ok((record, cp))
    }
}
