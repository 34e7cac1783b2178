//! A monitor of a served log from its C2SP tiles alone (`auditor log verify --url URL`).
//!
//! It fetches the checkpoint and checks the log's signature and every cosignature it carries;
//! fetches every entry bundle, recomputes the RFC 6962 tree from the entries, and requires the
//! checkpoint's root; requires every hash tile the tree has (at every level) to be exactly the
//! recomputed hashes (a server showing some clients other tiles is caught); runs the monitor's
//! checks on the entries (`escrow::transparency::monitor`); and compares with the checkpoint
//! it verified last time for this log (by origin, in a state file): a smaller tree is a
//! rollback, another root at the old size a fork. Only then is the new checkpoint remembered.

use std::collections::BTreeMap;
use std::path::Path;

use escrow::transparency::monitor::{self, Stats};
use escrow::transparency::{LogConfig, SignedCheckpoint};
use escrow::{LogError, Result, Tamper};
use serde::{Deserialize, Serialize};
use tlog_tiles::{Hash, HashReader};

use crate::client::{Tiles, tile_width};

/// What was verified.
#[derive(Clone, Debug, Serialize)]
pub struct Served {
    /// The log's URL.
    pub url: String,
    /// Entries.
    pub size: u64,
    /// The checkpoint's root, hex.
    pub root: String,
    /// Authorities whose witness cosignature on the checkpoint verified.
    pub cosigned_by: Vec<String>,
    /// Tiles fetched (entry bundles and hash tiles).
    pub tiles: u64,
    /// The checkpoint verified before for this log (`size/root`), if any.
    pub previous: Option<String>,
    /// Public statistics of the entries.
    pub stats: Stats,
}

/// The checkpoints a monitor verified, per log origin (`auditor/served-logs.json`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remembered {
    /// Format version, 1.
    pub version: u64,
    /// Origin → the last verified checkpoint note.
    pub logs: BTreeMap<String, String>,
}

impl Remembered {
    /// Reads the state file (an empty state if there is none).
    pub fn load(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Ok(Self {
                version: 1,
                logs: BTreeMap::new(),
            });
        }
        let bytes = escrow::lab::read_limited(path, 1 << 20)?;
        escrow::encoding::from_json("served-log state", &bytes)
    }

    /// Writes it (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|error| {
                escrow::Error::Lab(escrow::error::LabError::Io {
                    path: dir.to_owned(),
                    error,
                })
            })?;
        }
        escrow::lab::write_atomic(path, &escrow::encoding::to_json(self)?, 0o644)
    }
}

struct Mem<'a>(&'a [Hash]);

impl HashReader for Mem<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> std::result::Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                self.0
                    .get(i as usize)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// Verifies the log served at `url`, pinned to `config`, against the checkpoint remembered in
/// `state` (updated on success).
pub fn verify_served(url: &str, config: &LogConfig, state: &mut Remembered) -> Result<Served> {
    let tiles = Tiles::new(url);
    let note = tiles.checkpoint()?;
    let cp = SignedCheckpoint::verify(&note, config)?;
    let size = cp.size();
    let mut fetched = 0u64;
    // Every entry, from the entry bundles.
    let mut raw = Vec::with_capacity(size as usize);
    for n in 0..size.div_ceil(256) {
        raw.extend(tiles.entries(n, size)?);
        fetched += 1;
    }
    let (records, hashes) = monitor::check_entries(&raw)?;
    let root = tlog_tiles::tree_hash(size, &Mem(&hashes))
        .map_err(|error| LogError::Tampered(Tamper::RecomputingTree { error }))?;
    if root != cp.root() {
        return Err(LogError::Tampered(Tamper::ServedRoot {
            root: hex::encode(&root.0[..8]),
            checkpoint: cp.label(),
        })
        .into());
    }
    // Every hash tile, at every level, must be the recomputed hashes.
    let mut level = 0u8;
    let mut count = size;
    while count > 0 {
        for n in 0..count.div_ceil(256) {
            let w = tile_width(n, count);
            let data = tiles.get(&crate::paths::hash_tile(level, n, w))?;
            fetched += 1;
            let tile = tlog_tiles::Tile::new(8, level, n, w, false);
            let expect = tile
                .read_data(&Mem(&hashes))
                .map_err(|error| LogError::Tampered(Tamper::RecomputingTile { error }))?;
            if data != expect {
                return Err(LogError::Tampered(Tamper::ServedTile {
                    tile: crate::paths::hash_tile(level, n, w),
                })
                .into());
            }
        }
        count >>= 8;
        level += 1;
    }
    monitor::check_process(&records)?;
    // Cosignatures carried by the checkpoint.
    let text = String::from_utf8_lossy(&note);
    let mut cosigned_by = Vec::new();
    for w in &config.witnesses {
        let v = config.witness(&w.authority)?;
        if text
            .lines()
            .filter(|l| l.starts_with("— "))
            .any(|l| v.check_line(cp.note.text(), &format!("{l}\n")))
        {
            cosigned_by.push(w.authority.clone());
        }
    }
    // Against last time.
    let previous = match state.logs.get(&config.origin) {
        Some(prev) => {
            let prev = SignedCheckpoint::verify(prev.as_bytes(), config)?;
            if prev.size() > size {
                return Err(LogError::Rollback {
                    old: prev.size(),
                    new: size,
                }
                .into());
            }
            let at_prev = tlog_tiles::tree_hash(prev.size(), &Mem(&hashes))
                .map_err(|error| LogError::Tampered(Tamper::RecomputingTree { error }))?;
            if at_prev != prev.root() {
                return Err(LogError::Equivocation {
                    old: prev.label(),
                    new: cp.label(),
                    by: " (verified by this monitor before)".into(),
                }
                .into());
            }
            Some(prev.label())
        }
        None => None,
    };
    state.version = 1;
    state.logs.insert(
        config.origin.clone(),
        String::from_utf8_lossy(&note).into_owned(),
    );
    Ok(Served {
        url: url.to_owned(),
        size,
        root: hex::encode(cp.root().0),
        cosigned_by,
        tiles: fetched,
        previous,
        stats: monitor::stats(&records),
    })
}
