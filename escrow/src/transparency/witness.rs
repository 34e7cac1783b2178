//! Authorities as witnesses (C2SP tlog-witness behaviour, tlog-cosignature format).
//!
//! A witness keeps the last checkpoint it accepted. Shown a newer one, it checks the log's
//! signature, refuses a smaller tree (rollback), refuses a tree of the same size with another
//! root, and otherwise requires a consistency proof from its checkpoint to the new one, which
//! it verifies itself. Only then does it cosign. A checkpoint that fails is a *log
//! equivocation*: the error names both checkpoints.

use serde::{Deserialize, Serialize};
use signed_note::Note;
use tlog_tiles::Hash;

use super::proof::verify_consistency;
use super::store::LogStore;
use super::{CosignatureSigner, LogConfig, SignedCheckpoint};
use crate::error::{Error, LogError, Result};

/// What a witness remembers (`authorities/<name>/witness.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessState {
    /// Format version, 1.
    pub version: u64,
    /// The authority.
    pub authority: String,
    /// The last checkpoint accepted (signed note), if any.
    pub last: Option<String>,
    /// When it last cosigned (Unix seconds; its cosignatures are never dated earlier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cosigned_at: Option<u64>,
}

impl WitnessState {
    /// A witness that has seen nothing yet.
    pub fn new(authority: &str) -> Self {
        Self {
            version: 1,
            authority: authority.to_owned(),
            last: None,
            cosigned_at: None,
        }
    }

    /// Parses the state file.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        crate::encoding::from_json("witness state", bytes)
    }

    /// Serializes the state file.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        crate::encoding::to_json(self)
    }

    /// The last accepted checkpoint, verified.
    pub fn last_checkpoint(&self, config: &LogConfig) -> Result<Option<SignedCheckpoint>> {
        self.last
            .as_ref()
            .map(|n| SignedCheckpoint::verify(n.as_bytes(), config))
            .transpose()
    }

    /// Checks `presented` against the last accepted checkpoint (see the module docs);
    /// `prove(old, new)` fetches a consistency proof from the log. Does not change the state.
    pub fn check(
        &self,
        config: &LogConfig,
        presented: &[u8],
        prove: &mut dyn FnMut(u64, u64) -> Result<Vec<Hash>>,
    ) -> Result<SignedCheckpoint> {
        let cp = SignedCheckpoint::verify(presented, config)?;
        if let Some(last) = self.last_checkpoint(config)? {
            if cp.size() < last.size() {
                return Err(LogError::Rollback {
                    old: last.size(),
                    new: cp.size(),
                }
                .into());
            }
            let by = format!(" (accepted by {})", self.authority);
            check_consistent(&last, &cp, &by, prove)?;
        }
        Ok(cp)
    }

    /// Checks `presented` and cosigns it: returns the cosignature line (to store in the log)
    /// and remembers the checkpoint.
    pub fn cosign(
        &mut self,
        config: &LogConfig,
        presented: &[u8],
        prove: &mut dyn FnMut(u64, u64) -> Result<Vec<Hash>>,
        signer: &CosignatureSigner,
    ) -> Result<(SignedCheckpoint, String)> {
        let cp = self.check(config, presented, prove)?;
        let mut note = Note::new(cp.note.text(), &[]).map_err(|e| LogError::Malformed {
            what: "checkpoint note",
            reason: e.to_string(),
        })?;
        note.add_sigs(&[signer]).map_err(|e| LogError::Malformed {
            what: "cosignature",
            reason: e.to_string(),
        })?;
        let bytes = note.to_bytes();
        let line = String::from_utf8(bytes[cp.note.text().len() + 1..].to_vec()).map_err(|_| {
            LogError::Malformed {
                what: "cosignature",
                reason: "not UTF-8".into(),
            }
        })?;
        self.last = Some(String::from_utf8_lossy(presented).into_owned());
        Ok((cp, line))
    }
}

/// C2SP tlog-witness `add-checkpoint` for the witness with `state`: `old_size` must be the size
/// of the checkpoint it last accepted (else [`LogError::WitnessConflict`] with its size, the
/// spec's 409), `checkpoint` must be signed by the log, and `proof` must prove it consistent
/// with that checkpoint (rollbacks and forks are refused as equivocation). Returns the
/// checkpoint and the cosignature line, and remembers the checkpoint in `state` (the caller
/// persists it before publishing the line).
pub fn add_checkpoint(
    state: &mut WitnessState,
    config: &LogConfig,
    old_size: u64,
    proof: &[Hash],
    checkpoint: &[u8],
    signer: &CosignatureSigner,
) -> Result<(SignedCheckpoint, String)> {
    let cp = SignedCheckpoint::verify(checkpoint, config)?;
    let have = state.last_checkpoint(config)?.map_or(0, |c| c.size());
    if old_size != have {
        return Err(LogError::WitnessConflict {
            witness: state.authority.clone(),
            size: have,
        }
        .into());
    }
    let new_size = cp.size();
    state.cosign(
        config,
        checkpoint,
        &mut |a, b| {
            if (a, b) == (old_size, new_size) {
                Ok(proof.to_vec())
            } else {
                Err(LogError::NotInLog { index: b, size: a }.into())
            }
        },
        signer,
    )
}

/// Checks that checkpoint `old` is a prefix of `new` (`old.size() <= new.size()`): equal roots
/// at equal sizes, else a consistency proof fetched with `prove` and verified here. A failure
/// is a log equivocation naming both checkpoints (`by` says who accepted which); a database
/// fault while fetching the proof is reported as such, not as an accusation.
pub fn check_consistent(
    old: &SignedCheckpoint,
    new: &SignedCheckpoint,
    by: &str,
    prove: &mut dyn FnMut(u64, u64) -> Result<Vec<Hash>>,
) -> Result<()> {
    let equivocation = || -> Error {
        LogError::Equivocation {
            old: old.label(),
            new: new.label(),
            by: by.to_owned(),
        }
        .into()
    };
    if old.size() == new.size() {
        return if old.root() == new.root() {
            Ok(())
        } else {
            Err(equivocation())
        };
    }
    if old.size() == 0 {
        return Ok(());
    }
    let proof = match prove(old.size(), new.size()) {
        Ok(p) => p,
        Err(Error::Log(LogError::Db(e))) => return Err(LogError::Db(e).into()),
        Err(_) => return Err(equivocation()),
    };
    verify_consistency(&proof, old.size(), old.root(), new.size(), new.root())
        .map_err(|_| equivocation())
}

/// Checks that the log in `store` still contains checkpoint `cp` (someone accepted it: a
/// witness, an approval's release proof, an execution report): the log is at least that large
/// and its tree of that size has that root. Anything else means the log was truncated or
/// rewritten below a checkpoint a party acted on: a log equivocation (`by` says whose
/// checkpoint it was).
pub fn check_in_log(store: &LogStore, cp: &SignedCheckpoint, by: &str) -> Result<()> {
    let size = store.size()?;
    if cp.size() <= size && store.tree_hash(cp.size())? == cp.root() {
        return Ok(());
    }
    let now = if size == 0 {
        "0 (this log)".to_owned()
    } else {
        format!(
            "{size}/{} (this log)",
            hex::encode(&store.tree_hash(size)?.0[..8])
        )
    };
    Err(LogError::Equivocation {
        old: format!("{}{by}", cp.label()),
        new: now,
        by: String::new(),
    }
    .into())
}
