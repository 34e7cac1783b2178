//! Blocking clients of the log and witness services (ureq).
//!
//! [`HttpLog`] is a [`TransparencyLog`] over a served log: reads come from the C2SP tlog-tiles
//! API and are *authenticated* against the log's signed checkpoint — an entry's bytes against
//! its level-0 hash, every hash through `tlog_tiles::TileHashReader`, which checks the tiles
//! it reads against the checkpoint's root — so a lying server is caught, not believed.
//! Submissions are signed ([`RequestSigner`]); the receipt that comes back is verified (log
//! signature, inclusion proof, the entry being the one submitted or the log's earlier entry of
//! the same once-key) before it is returned.

use std::io::Read;
use std::time::Duration;

use escrow::transparency::api::{Submitted, TransparencyLog, Witness};
use escrow::transparency::submit::RequestSigner;
use escrow::transparency::{LogConfig, LogRecord, SignedCheckpoint};
use escrow::{Error, LogError, Result, Tamper};
use tlog_tiles::{Hash, HashReader, Tile, TileHashReader, TileReader};

use crate::log_server::{AddEntryResponse, LookupResponse};
use crate::paths;

/// Largest response read: a full hash tile is 8 KiB, a full entry bundle at most
/// 256 × (2 + 16 KiB).
const MAX_RESPONSE: u64 = 256 * (2 + 16 * 1024) + 1024;

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(timeout).build()
}

/// GETs or POSTs `url` and returns the body of a 200 answer; anything else is an error naming
/// the status and the server's one-line reason.
fn call(req: ureq::Request, body: Option<(&str, &[u8])>) -> Result<Vec<u8>> {
    let url = req.url().to_owned();
    let res = match body {
        Some((ct, b)) => req.set("Content-Type", ct).send_bytes(b),
        None => req.call(),
    };
    match res {
        Ok(r) => read_body(&url, r),
        Err(e) => Err(failed(&url, e)),
    }
}

/// A request that got no 200: the status and the server's one-line reason, or why there was
/// no answer.
fn failed(url: &str, e: ureq::Error) -> Error {
    match e {
        ureq::Error::Status(status, r) => {
            let reason = read_body(url, r)
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_owned()
                })
                .unwrap_or_default();
            LogError::Refused {
                url: url.to_owned(),
                status,
                reason,
            }
            .into()
        }
        e => LogError::Unreachable {
            url: url.to_owned(),
            reason: e.to_string(),
        }
        .into(),
    }
}

fn read_body(url: &str, r: ureq::Response) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    r.into_reader()
        .take(MAX_RESPONSE + 1)
        .read_to_end(&mut out)
        .map_err(|e| LogError::Unreachable {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    if out.len() as u64 > MAX_RESPONSE {
        return Err(LogError::Unreachable {
            url: url.to_owned(),
            reason: "the answer is too large".into(),
        }
        .into());
    }
    Ok(out)
}

/// Reads C2SP tiles of a served log.
#[derive(Debug, Clone)]
pub struct Tiles {
    base: String,
    agent: ureq::Agent,
}

impl Tiles {
    /// The tiles at `base` (`http://HOST:PORT`).
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            agent: agent(Duration::from_secs(30)),
        }
    }

    /// GET `<base>/<path>`.
    pub fn get(&self, path: &str) -> Result<Vec<u8>> {
        call(self.agent.get(&format!("{}/{path}", self.base)), None)
    }

    /// The newest checkpoint note.
    pub fn checkpoint(&self) -> Result<Vec<u8>> {
        self.get("checkpoint")
    }

    /// The entries of entry bundle `n` of a tree of `size` entries (full, or the partial last
    /// one), split.
    pub fn entries(&self, n: u64, size: u64) -> Result<Vec<Vec<u8>>> {
        let width = tile_width(n, size);
        let data = self.get(&paths::entries_tile(n, width))?;
        let entries = split_bundle(&data).ok_or_else(|| malformed("entry bundle", "framing"))?;
        if entries.len() != width as usize {
            return Err(malformed("entry bundle", "wrong number of entries").into());
        }
        Ok(entries)
    }
}

fn malformed(what: &'static str, reason: &str) -> LogError {
    LogError::Malformed {
        what,
        reason: reason.to_owned(),
    }
}

/// The width of tile `n` (of one level) when that level has `count` hashes or entries.
pub fn tile_width(n: u64, count: u64) -> u32 {
    let start = n.saturating_mul(256);
    count.saturating_sub(start).min(256) as u32
}

/// Splits an entry bundle (big-endian 16-bit length, bytes, …).
pub fn split_bundle(data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return None;
        }
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        rest = &rest[2..];
        if rest.len() < len {
            return None;
        }
        out.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    Some(out)
}

impl TileReader for Tiles {
    fn height(&self) -> u8 {
        8
    }

    fn read_tiles(&self, tiles: &[Tile]) -> std::result::Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles
            .iter()
            .map(|t| {
                let data = self
                    .get(&paths::hash_tile(t.level(), t.level_index(), t.width()))
                    .map_err(|_| tlog_tiles::Error::IndexesNotInTree)?;
                if data.len() != t.width() as usize * 32 {
                    return Err(tlog_tiles::Error::MalformedHash);
                }
                Ok(data)
            })
            .collect()
    }

    fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {}
}

/// A served log, as a [`TransparencyLog`].
#[derive(Debug)]
pub struct HttpLog {
    tiles: Tiles,
    config: LogConfig,
    signer: Option<RequestSigner>,
}

impl HttpLog {
    /// The log served at `base`, pinned to `config` (its `log.json`); submissions signed by
    /// `signer` (none: read-only).
    pub fn new(base: &str, config: LogConfig, signer: Option<RequestSigner>) -> Self {
        Self {
            tiles: Tiles::new(base),
            config,
            signer,
        }
    }

    fn newest(&self) -> Result<SignedCheckpoint> {
        SignedCheckpoint::verify(&self.tiles.checkpoint()?, &self.config)
    }
}

impl TransparencyLog for HttpLog {
    fn config(&self) -> &LogConfig {
        &self.config
    }

    fn size(&self) -> Result<u64> {
        Ok(self.newest()?.size())
    }

    fn entry(&self, index: u64) -> Result<LogRecord> {
        let cp = self.newest()?;
        if index >= cp.size() {
            return Err(LogError::NotInLog {
                index,
                size: cp.size(),
            }
            .into());
        }
        let bundle = self.tiles.entries(index / 256, cp.size())?;
        let data = &bundle[(index % 256) as usize];
        let reader = TileHashReader::new(cp.size(), cp.root(), &self.tiles);
        let leaf = reader
            .read_hashes(&[tlog_tiles::stored_hash_index(0, index)])
            .map_err(|error| LogError::Tampered(Tamper::ServedTiles { error }))?;
        if leaf.first() != Some(&tlog_tiles::record_hash(data)) {
            return Err(LogError::Tampered(Tamper::ServedEntry { index }).into());
        }
        LogRecord::from_bytes(data)
    }

    fn checkpoint(&self) -> Result<Vec<u8>> {
        let note = self.tiles.checkpoint()?;
        SignedCheckpoint::verify(&note, &self.config)?;
        Ok(note)
    }

    fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        let cp = self.newest()?;
        if index >= size || size > cp.size() {
            return Err(LogError::NotInLog {
                index,
                size: cp.size(),
            }
            .into());
        }
        let reader = TileHashReader::new(cp.size(), cp.root(), &self.tiles);
        tlog_tiles::prove_record(size, index, &reader)
            .map_err(|error| LogError::Tampered(Tamper::ServedTiles { error }).into())
    }

    fn prove_consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        let cp = self.newest()?;
        if old == 0 || old > new || new > cp.size() {
            return Err(LogError::NotInLog {
                index: new,
                size: cp.size(),
            }
            .into());
        }
        let reader = TileHashReader::new(cp.size(), cp.root(), &self.tiles);
        tlog_tiles::prove_tree(new, old, &reader)
            .map_err(|error| LogError::Tampered(Tamper::ServedTiles { error }).into())
    }

    fn lookup(&self, key: &str) -> Result<Vec<u64>> {
        let body = self.tiles.get(&format!("lookup/{key}"))?;
        let r: LookupResponse = serde_json::from_slice(&body)
            .map_err(|e| malformed("lookup answer", &e.to_string()))?;
        Ok(r.indexes)
    }

    fn submit(&mut self, record: &LogRecord) -> Result<Submitted> {
        let signer = self.signer.as_ref().ok_or(LogError::ReadOnly)?;
        let req = serde_json::to_vec(&signer.sign(&self.config, record)?)
            .map_err(|_| Error::Internal(escrow::Bug::JsonEncoding))?;
        let url = format!("{}/add-entry", self.tiles.base);
        let body = call(
            self.tiles.agent.post(&url),
            Some(("application/json", &req)),
        )?;
        let r: AddEntryResponse = serde_json::from_slice(&body)
            .map_err(|e| malformed("add-entry answer", &e.to_string()))?;
        // The receipt must prove what was asked: this record, or (not new) the log's entry of
        // the same once-key.
        let (entry, _) = r.receipt.verify(&self.config)?;
        let same = if r.new {
            entry == *record
        } else {
            entry == *record
                || (record.entry.once_key().is_some()
                    && entry.entry.once_key() == record.entry.once_key())
        };
        if !same || r.receipt.index != r.index {
            return Err(LogError::Tampered(Tamper::Receipt {
                index: r.index,
                kind: record.entry.kind(),
            })
            .into());
        }
        Ok(Submitted {
            index: r.index,
            new: r.new,
            receipt: r.receipt,
        })
    }
}

/// A witness service, as the log service sees it (C2SP tlog-witness client).
#[derive(Debug)]
pub struct HttpWitness {
    authority: String,
    url: String,
    agent: ureq::Agent,
}

impl HttpWitness {
    /// `authority`'s witness at `base` (`http://HOST:PORT`).
    pub fn new(authority: &str, base: &str) -> Self {
        Self {
            authority: authority.to_owned(),
            url: format!("{}/add-checkpoint", base.trim_end_matches('/')),
            agent: agent(Duration::from_secs(10)),
        }
    }
}

impl Witness for HttpWitness {
    fn authority(&self) -> &str {
        &self.authority
    }

    fn add_checkpoint(
        &mut self,
        old_size: u64,
        proof: &[Hash],
        checkpoint: &[u8],
    ) -> Result<String> {
        let body = crate::witness_server::body(old_size, proof, checkpoint);
        match self
            .agent
            .post(&self.url)
            .set("Content-Type", "text/plain")
            .send_bytes(&body)
        {
            Ok(r) => {
                let b = read_body(&self.url, r)?;
                String::from_utf8(b).map_err(|_| malformed("cosignature", "not UTF-8").into())
            }
            Err(ureq::Error::Status(409, r)) if r.content_type() == "text/x.tlog.size" => {
                let b = read_body(&self.url, r)?;
                let size = std::str::from_utf8(&b)
                    .ok()
                    .and_then(|s| s.trim_end().parse().ok())
                    .ok_or_else(|| malformed("witness answer", "not a size"))?;
                Err(LogError::WitnessConflict {
                    witness: self.authority.clone(),
                    size,
                }
                .into())
            }
            Err(e) => Err(failed(&self.url, e)),
        }
    }
}
