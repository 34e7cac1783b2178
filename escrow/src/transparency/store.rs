//! The log's SQLite store (`log/log.sqlite`: bundled SQLite, WAL, `synchronous=FULL`).
//!
//! Tables `entries` (index → canonical record bytes), `hashes` (tlog stored-hash index →
//! 32 bytes), `checkpoints` (size → signed note) and `cosignatures` (size, witness → the
//! witness's signature line). Triggers abort every UPDATE and DELETE. One append is one
//! transaction: entry, its stored hashes, and the new signed checkpoint — a crash leaves the
//! log with the whole entry or none of it.
//!
//! Lookups use an index, never a scan: `entry_keys` maps each entry's
//! [`LogEntry::index_keys`] (a warrant by digest, its releases, its execution, the entries of
//! a generation) and a digest of its bytes to its index, written in the append's transaction;
//! `indexed` says how many entries it covers (a log written before the index existed is
//! indexed when it is next opened for writing). The index is the operator's derived data: the
//! monitor recomputes everything from `entries`.
//!
//! Tiles: [`LogStore::hash_tile`] and [`LogStore::entry_bundle`] serve the C2SP tlog-tiles
//! read API (tile height 8) from the stored hashes and entries.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use signed_note::{Note, Signer};
use tlog_tiles::{Checkpoint, Hash, HashReader, RecordProof, TreeProof};

use super::entry::{LogEntry, LogRecord};
use super::tamper::Tamper;
use crate::error::{LogError, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS hashes (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cosignatures (
    size INTEGER NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL,
    PRIMARY KEY (size, witness));
CREATE INDEX IF NOT EXISTS cosignatures_by_witness ON cosignatures (witness, size);
CREATE TABLE IF NOT EXISTS entry_keys (
    key TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (key, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS indexed (id INTEGER PRIMARY KEY CHECK (id = 0), size INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'append-only log'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'append-only log'); END;
CREATE TRIGGER IF NOT EXISTS hashes_no_update BEFORE UPDATE ON hashes
    BEGIN SELECT RAISE(ABORT, 'append-only log'); END;
CREATE TRIGGER IF NOT EXISTS hashes_no_delete BEFORE DELETE ON hashes
    BEGIN SELECT RAISE(ABORT, 'append-only log'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'append-only log'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'append-only log'); END;
CREATE TRIGGER IF NOT EXISTS cosignatures_no_update BEFORE UPDATE ON cosignatures
    BEGIN SELECT RAISE(ABORT, 'append-only log'); END;
CREATE TRIGGER IF NOT EXISTS cosignatures_no_delete BEFORE DELETE ON cosignatures
    BEGIN SELECT RAISE(ABORT, 'append-only log'); END;
";

/// Tables and triggers every log database must have.
const REQUIRED: [(&str, &str); 12] = [
    ("table", "entries"),
    ("table", "hashes"),
    ("table", "checkpoints"),
    ("table", "cosignatures"),
    ("trigger", "entries_no_update"),
    ("trigger", "entries_no_delete"),
    ("trigger", "hashes_no_update"),
    ("trigger", "hashes_no_delete"),
    ("trigger", "checkpoints_no_update"),
    ("trigger", "checkpoints_no_delete"),
    ("trigger", "cosignatures_no_update"),
    ("trigger", "cosignatures_no_delete"),
];

/// Reads stored hashes through any connection (or open transaction).
pub(crate) struct DbHashes<'a>(pub(crate) &'a Connection);

impl HashReader for DbHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> std::result::Result<Vec<Hash>, tlog_tiles::Error> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT hash FROM hashes WHERE idx = ?1")
            .map_err(|_| tlog_tiles::Error::IndexesNotInTree)?;
        indexes
            .iter()
            .map(|i| {
                let b: Vec<u8> = stmt
                    .query_row([*i as i64], |r| r.get(0))
                    .map_err(|_| tlog_tiles::Error::IndexesNotInTree)?;
                let h: [u8; 32] = b.try_into().map_err(|_| tlog_tiles::Error::MalformedHash)?;
                Ok(Hash(h))
            })
            .collect()
    }
}

fn proof_err(error: tlog_tiles::Error) -> LogError {
    LogError::Tampered(Tamper::StoredHashes { error })
}

/// The log database.
#[derive(Debug)]
pub struct LogStore {
    conn: Connection,
    origin: String,
}

/// What a log stores ([`LogStore::storage`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Storage {
    /// Entries.
    pub entries: u64,
    /// Entry bytes (canonical JSON records).
    pub entry_bytes: u64,
    /// Stored Merkle hashes (32 bytes each).
    pub hash_bytes: u64,
    /// Signed checkpoints (one per tree size).
    pub checkpoint_bytes: u64,
    /// Witness cosignature lines.
    pub cosignature_bytes: u64,
}

impl LogStore {
    /// Opens (creating if needed) the log at `path` for `origin`.
    pub fn open(path: &Path, origin: &str) -> Result<Self> {
        let conn = Connection::open(path).map_err(LogError::from)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(LogError::from)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(LogError::from)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(LogError::from)?;
        conn.execute_batch(SCHEMA).map_err(LogError::from)?;
        let store = Self {
            conn,
            origin: origin.to_owned(),
        };
        store.index_missing()?;
        Ok(store)
    }

    /// Indexes the entries the key index does not cover yet (a log from before the index).
    fn index_missing(&self) -> Result<()> {
        let size = self.size()?;
        if indexed_in(&self.conn)? >= size {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction().map_err(LogError::from)?;
        for i in indexed_in(&tx)?..size {
            let data: Vec<u8> = tx
                .query_row("SELECT data FROM entries WHERE idx = ?1", [i as i64], |r| {
                    r.get(0)
                })
                .map_err(LogError::from)?;
            index_in(&tx, i, &data, &LogRecord::from_bytes(&data)?)?;
        }
        set_indexed_in(&tx, size)?;
        tx.commit().map_err(LogError::from)?;
        Ok(())
    }

    /// An in-memory log (tests, benchmarks).
    pub fn in_memory(origin: &str) -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(LogError::from)?;
        conn.execute_batch(SCHEMA).map_err(LogError::from)?;
        Ok(Self {
            conn,
            origin: origin.to_owned(),
        })
    }

    /// The underlying connection (the monitor).
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// What the log stores, table by table (the scale simulation's measure; SQLite's own
    /// overhead not counted).
    pub fn storage(&self) -> Result<Storage> {
        let sum = |sql: &str| -> Result<(u64, u64)> {
            let (n, b): (i64, i64) = self
                .conn
                .query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(LogError::from)?;
            Ok((n.max(0) as u64, b.max(0) as u64))
        };
        let (entries, entry_bytes) =
            sum("SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM entries")?;
        let (_, hash_bytes) = sum("SELECT COUNT(*), COALESCE(SUM(LENGTH(hash)), 0) FROM hashes")?;
        let (_, checkpoint_bytes) =
            sum("SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(note AS BLOB))), 0) FROM checkpoints")?;
        let (_, cosignature_bytes) =
            sum("SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(line AS BLOB))), 0) FROM cosignatures")?;
        Ok(Storage {
            entries,
            entry_bytes,
            hash_bytes,
            checkpoint_bytes,
            cosignature_bytes,
        })
    }

    /// Number of entries.
    pub fn size(&self) -> Result<u64> {
        size_in(&self.conn)
    }

    /// Appends one record: entry, hashes and a new signed checkpoint in one transaction.
    /// Returns the entry's index and the new checkpoint note.
    pub fn append(&mut self, record: &LogRecord, log_key: &dyn Signer) -> Result<(u64, Vec<u8>)> {
        let origin = self.origin.clone();
        // A savepoint: its own transaction at top level, nested inside `with_write_lock`.
        let sp = self.conn.savepoint().map_err(LogError::from)?;
        let index = append_in(&sp, record)?;
        let note = sign_checkpoint_in(&sp, &origin, log_key)?;
        sp.commit().map_err(LogError::from)?;
        Ok((index, note))
    }

    /// Appends many records in one transaction with one checkpoint at the end.
    pub fn append_batch(
        &mut self,
        records: &[LogRecord],
        log_key: &dyn Signer,
    ) -> Result<(u64, Vec<u8>)> {
        let origin = self.origin.clone();
        let sp = self.conn.savepoint().map_err(LogError::from)?;
        let mut last = 0;
        for r in records {
            last = append_in(&sp, r)?;
        }
        let note = sign_checkpoint_in(&sp, &origin, log_key)?;
        sp.commit().map_err(LogError::from)?;
        Ok((last, note))
    }

    /// The record at `index`.
    pub fn entry(&self, index: u64) -> Result<LogRecord> {
        entry_in(&self.conn, index)
    }

    /// Refuses `time` (RFC 3339) for `what` — a new entry, a cosignature, a decision — if it is
    /// ahead of the clock or before the newest entry's time (simulated time never goes
    /// backwards).
    pub fn check_time(&self, what: &str, time: &str) -> Result<()> {
        check_not_ahead(what, time)?;
        match self.newest()? {
            Some((i, newest)) => not_before(what, time, i, &newest),
            None => Ok(()),
        }
    }

    /// Refuses `time` for `what` if it is before entry `index`'s time (an approval or an
    /// execution is never dated before its warrant's `warrant-logged` entry).
    pub fn check_time_after(&self, what: &str, time: &str, index: u64) -> Result<()> {
        not_before(what, time, index, &self.entry(index)?)
    }

    /// The newest entry's index, kind and time, if the log has any: every new record's time
    /// must be at or after it.
    pub fn newest(&self) -> Result<Option<(u64, LogRecord)>> {
        match self.size()? {
            0 => Ok(None),
            n => Ok(Some((n - 1, self.entry(n - 1)?))),
        }
    }

    /// The index of the first entry for which `pred` holds (entries are parsed in order).
    pub fn find(&self, mut pred: impl FnMut(&LogEntry) -> bool) -> Result<Option<u64>> {
        for i in 0..self.size()? {
            if pred(&self.entry(i)?.entry) {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    /// Indexes of the entries stored under lookup key `key` (see [`LogEntry::index_keys`]),
    /// ascending: an index lookup, not a scan.
    pub fn lookup(&self, key: &str) -> Result<Vec<u64>> {
        lookup_in(&self.conn, key, false)
    }

    /// Indexes of the entries with a lookup key starting with `prefix` (for example every
    /// release of a warrant: `release/<digest>/`), ascending.
    pub fn lookup_prefix(&self, prefix: &str) -> Result<Vec<u64>> {
        lookup_in(&self.conn, prefix, true)
    }

    /// The log operator's append of submitted records: in one transaction with one new signed
    /// checkpoint, each record is appended unless the log already holds it — an entry under
    /// its [`LogEntry::once_key`] (a warrant logged, an authority's release, an execution, a
    /// retirement) or the same record byte for byte — in which case the existing entry's index
    /// is returned with `false`. Records that fail validation or the time rules are refused
    /// one by one (`Err` in their slot) without affecting the others. Returns, per record,
    /// its index and whether it was appended, and the checkpoint note.
    pub fn submit_batch(&mut self, records: &[LogRecord], log_key: &dyn Signer) -> Result<Batch> {
        // The write lock first (`BEGIN IMMEDIATE`), unless the caller holds it: reading
        // under a deferred transaction and then writing can fail as "database is locked"
        // when another writer went first.
        let outer = self.conn.is_autocommit();
        let conn = &self.conn;
        let exec = |sql: &str| conn.execute_batch(sql).map_err(LogError::from);
        exec(if outer {
            "BEGIN IMMEDIATE"
        } else {
            "SAVEPOINT batch"
        })?;
        let run = || -> Result<Batch> {
            let mut out = Vec::with_capacity(records.len());
            let mut appended = false;
            for r in records {
                let result = match existing_in(conn, r)? {
                    Some(i) => Ok((i, false)),
                    // A record that breaks the warrant process is refused on its own.
                    None => match check_process_in(conn, r) {
                        Err(e) => Err(e),
                        Ok(()) => {
                            // Each record in its own savepoint: a refused one leaves no trace.
                            exec("SAVEPOINT one")?;
                            match append_in(conn, r) {
                                Ok(i) => {
                                    exec("RELEASE one")?;
                                    appended = true;
                                    Ok((i, true))
                                }
                                Err(e) => {
                                    exec("ROLLBACK TO one")?;
                                    exec("RELEASE one")?;
                                    Err(e)
                                }
                            }
                        }
                    },
                };
                out.push(result);
            }
            let size = size_in(conn)?;
            let note = match checkpoint_note_in(conn, size)? {
                Some(n) if !appended => n,
                _ => sign_checkpoint_in(conn, &self.origin, log_key)?,
            };
            Ok((out, note))
        };
        match run() {
            Ok(v) => {
                exec(if outer { "COMMIT" } else { "RELEASE batch" })?;
                Ok(v)
            }
            Err(e) => {
                let _ = exec(if outer {
                    "ROLLBACK"
                } else {
                    "ROLLBACK TO batch; RELEASE batch"
                });
                Err(e)
            }
        }
    }

    /// The hash tile of tile height 8 at `level` and tile index `n`, `width` hashes wide
    /// (C2SP tlog-tiles `tile/<L>/<N>[.p/<W>]`): the concatenated 32-byte hashes.
    pub fn hash_tile(&self, level: u8, n: u64, width: u32) -> Result<Vec<u8>> {
        let size = self.size()?;
        check_tile(size, level, n, width)?;
        let tile = tlog_tiles::Tile::new(TILE_HEIGHT, level, n, width, false);
        Ok(tile.read_data(&DbHashes(&self.conn)).map_err(proof_err)?)
    }

    /// The entry bundle of tile index `n`, `width` entries wide (C2SP tlog-tiles
    /// `tile/entries/<N>[.p/<W>]`): each entry as a big-endian 16-bit length and its bytes.
    pub fn entry_bundle(&self, n: u64, width: u32) -> Result<Vec<u8>> {
        let size = self.size()?;
        check_tile(size, 0, n, width)?;
        let first = n * TILE_WIDTH;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT data FROM entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")
            .map_err(LogError::from)?;
        let rows = stmt
            .query_map(
                params![first as i64, (first + u64::from(width)) as i64],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .map_err(LogError::from)?;
        let mut out = Vec::new();
        for r in rows {
            let data = r.map_err(LogError::from)?;
            let len =
                u16::try_from(data.len()).map_err(|_| LogError::Tampered(Tamper::EntryTooLong))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&data);
        }
        Ok(out)
    }

    /// Every record's raw bytes, in order (the monitor parses them itself).
    pub fn raw_entries(&self) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare("SELECT idx, data FROM entries ORDER BY idx")
            .map_err(LogError::from)?;
        // Read whatever storage class is there: a row rewritten as TEXT is tampering for the
        // monitor to report, not a database error.
        let rows = stmt
            .query_map([], |r| {
                let data = match r.get_ref(1)? {
                    rusqlite::types::ValueRef::Blob(b) => Some(b.to_vec()),
                    rusqlite::types::ValueRef::Text(t) => Some(t.to_vec()),
                    _ => None,
                };
                Ok((r.get::<_, i64>(0)?, data))
            })
            .map_err(LogError::from)?;
        let mut out = Vec::new();
        for (i, row) in rows.enumerate() {
            let (idx, data) = row.map_err(LogError::from)?;
            let data = data.ok_or(LogError::Tampered(Tamper::EntryNotBytes { index: idx }))?;
            if idx != i as i64 {
                return Err(LogError::Tampered(Tamper::EntryMissing { index: i as u64 }).into());
            }
            out.push(data);
        }
        Ok(out)
    }

    /// The newest signed checkpoint note (with the cosignatures collected for it).
    pub fn latest_checkpoint(&self) -> Result<Vec<u8>> {
        let size = self.size()?;
        self.checkpoint_at(size)
    }

    /// The cosignature line `witness` stored for the checkpoint of size `size`, if any.
    pub fn cosignature(&self, size: u64, witness: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT line FROM cosignatures WHERE size = ?1 AND witness = ?2",
                params![size as i64, witness],
                |r| r.get(0),
            )
            .optional()
            .map_err(LogError::from)?)
    }

    /// The signed checkpoint of tree size `size`, with every cosignature stored for it.
    pub fn checkpoint_at(&self, size: u64) -> Result<Vec<u8>> {
        let mut out =
            checkpoint_note_in(&self.conn, size)?.ok_or(LogError::NoCheckpoint { size })?;
        let mut stmt = self
            .conn
            .prepare("SELECT line FROM cosignatures WHERE size = ?1 ORDER BY witness")
            .map_err(LogError::from)?;
        let lines: Vec<String> = stmt
            .query_map([size as i64], |r| r.get(0))
            .map_err(LogError::from)?
            .collect::<rusqlite::Result<_>>()
            .map_err(LogError::from)?;
        for l in lines {
            out.extend_from_slice(l.as_bytes());
        }
        Ok(out)
    }

    /// Every stored checkpoint size, ascending.
    pub fn checkpoint_sizes(&self) -> Result<Vec<u64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT size FROM checkpoints ORDER BY size")
            .map_err(LogError::from)?;
        let sizes = stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(LogError::from)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(LogError::from)?;
        Ok(sizes.into_iter().map(|s| s as u64).collect())
    }

    /// Stores a witness's cosignature line for the checkpoint of `size`. Storing the same line
    /// again is a no-op; another line for the same size and witness is refused.
    pub fn add_cosignature(&mut self, size: u64, witness: &str, line: &str) -> Result<()> {
        match self.cosignature(size, witness)? {
            Some(l) if l == line => Ok(()),
            Some(_) => Err(LogError::Tampered(Tamper::CosignatureConflict {
                witness: witness.to_owned(),
                size,
            })
            .into()),
            None => {
                self.conn
                    .execute(
                        "INSERT INTO cosignatures VALUES (?1, ?2, ?3)",
                        params![size as i64, witness, line],
                    )
                    .map_err(LogError::from)?;
                Ok(())
            }
        }
    }

    /// Every stored cosignature: (size, witness name, line).
    pub fn cosignature_rows(&self) -> Result<Vec<(u64, String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT size, witness, line FROM cosignatures ORDER BY size, witness")
            .map_err(LogError::from)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
            })
            .map_err(LogError::from)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(LogError::from)?;
        Ok(rows)
    }

    /// The stored checkpoint note of `size` without its cosignature lines.
    pub fn checkpoint_note(&self, size: u64) -> Result<Vec<u8>> {
        let note: Option<String> = self
            .conn
            .query_row(
                "SELECT note FROM checkpoints WHERE size = ?1",
                [size as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(LogError::from)?;
        Ok(note.ok_or(LogError::NoCheckpoint { size })?.into_bytes())
    }

    /// Runs `f` holding the database's write lock (`BEGIN IMMEDIATE` … `COMMIT`); rolls back
    /// if `f` fails. Serializes read-check-write sequences such as a witness cosigning.
    pub fn with_write_lock<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(LogError::from)?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT").map_err(LogError::from)?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Takes the database's write lock (`BEGIN IMMEDIATE`), for [`super::api::LocalLog::locked`].
    pub(crate) fn begin_immediate(&mut self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(LogError::from)?;
        Ok(())
    }

    /// Commits what was written under [`LogStore::begin_immediate`].
    pub(crate) fn commit(&mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT").map_err(LogError::from)?;
        Ok(())
    }

    /// Rolls back what was written under [`LogStore::begin_immediate`].
    pub(crate) fn rollback(&mut self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }

    /// The largest checkpoint size `witness` (its key name) cosigned in this log.
    pub fn last_cosigned(&self, witness: &str) -> Result<Option<u64>> {
        let n: Option<i64> = self
            .conn
            .query_row(
                "SELECT MAX(size) FROM cosignatures WHERE witness = ?1",
                [witness],
                |r| r.get(0),
            )
            .map_err(LogError::from)?;
        Ok(n.map(|n| n as u64))
    }

    /// Inside [`LogStore::with_write_lock`]: makes what `f` appended so far durable, then
    /// takes the write lock again (another writer may run in between).
    pub fn commit_and_relock(&mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT").map_err(LogError::from)?;
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(LogError::from)?;
        Ok(())
    }

    /// Opens an existing log read-only, creating and changing nothing (the monitor's view).
    pub fn open_read_only(path: &Path, origin: &str) -> Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(LogError::from)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(LogError::from)?;
        Ok(Self {
            conn,
            origin: origin.to_owned(),
        })
    }

    /// Names of the tables and triggers the schema requires that are missing.
    pub fn missing_schema(&self) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for (kind, name) in REQUIRED {
            let found: Option<i64> = self
                .conn
                .query_row(
                    "SELECT 1 FROM sqlite_master WHERE type = ?1 AND name = ?2",
                    params![kind, name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(LogError::from)?;
            if found.is_none() {
                missing.push(format!("{kind} {name}"));
            }
        }
        Ok(missing)
    }

    /// The tree hash at `size`, from the stored hashes.
    pub fn tree_hash(&self, size: u64) -> Result<Hash> {
        Ok(tlog_tiles::tree_hash(size, &DbHashes(&self.conn)).map_err(proof_err)?)
    }

    /// Inclusion proof of entry `index` in the tree of `size`.
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Result<RecordProof> {
        let current = self.size()?;
        if index >= size || size > current {
            return Err(LogError::NotInLog {
                index,
                size: current,
            }
            .into());
        }
        Ok(tlog_tiles::prove_record(size, index, &DbHashes(&self.conn)).map_err(proof_err)?)
    }

    /// Consistency proof from the tree of `old` entries to the tree of `new`.
    pub fn prove_consistency(&self, old: u64, new: u64) -> Result<TreeProof> {
        let current = self.size()?;
        if old == 0 || old > new || new > current {
            return Err(LogError::NotInLog {
                index: new,
                size: current,
            }
            .into());
        }
        Ok(tlog_tiles::prove_tree(new, old, &DbHashes(&self.conn)).map_err(proof_err)?)
    }
}

/// What [`LogStore::submit_batch`] did: per record its index and whether it was appended (or
/// why it was refused), and the checkpoint note covering the batch.
pub type Batch = (Vec<Result<(u64, bool)>>, Vec<u8>);

/// Tile height of the C2SP tlog-tiles read API: 8 (256 hashes or entries per full tile).
pub const TILE_HEIGHT: u8 = 8;
/// Entries or hashes in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// Refuses a tile that the tree of `size` entries does not have: a full tile must be
/// complete, a partial one (`width` < 256) must be exactly the tree's partial tile.
fn check_tile(size: u64, level: u8, n: u64, width: u32) -> Result<()> {
    let missing = || LogError::NotInLog { index: n, size };
    if width == 0 || u64::from(width) > TILE_WIDTH || u32::from(level) * 8 >= 64 {
        return Err(missing().into());
    }
    // Hashes at `level` of tiles: one per 256^level entries.
    let at_level = size >> (u32::from(level) * u32::from(TILE_HEIGHT));
    let start = n.checked_mul(TILE_WIDTH).ok_or_else(missing)?;
    let end = start + u64::from(width);
    let full = u64::from(width) == TILE_WIDTH;
    if end > at_level || (!full && end != at_level) {
        return Err(missing().into());
    }
    Ok(())
}

fn checkpoint_note_in(conn: &Connection, size: u64) -> Result<Option<Vec<u8>>> {
    let note: Option<String> = conn
        .query_row(
            "SELECT note FROM checkpoints WHERE size = ?1",
            [size as i64],
            |r| r.get(0),
        )
        .optional()
        .map_err(LogError::from)?;
    Ok(note.map(String::into_bytes))
}

/// The number of entries, as the next index: `MAX(idx) + 1` is a lookup on the primary key
/// (COUNT(*) would scan the table on every append). Entries are contiguous by construction;
/// the monitor checks it.
fn size_in(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .query_row("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries", [], |r| {
            r.get(0)
        })
        .map_err(LogError::from)?;
    Ok(n as u64)
}

fn entry_in(conn: &Connection, index: u64) -> Result<LogRecord> {
    let size = size_in(conn)?;
    let bytes: Option<Vec<u8>> = conn
        .query_row(
            "SELECT data FROM entries WHERE idx = ?1",
            [index as i64],
            |r| r.get(0),
        )
        .optional()
        .map_err(LogError::from)?;
    let bytes = bytes.ok_or(LogError::NotInLog { index, size })?;
    LogRecord::from_bytes(&bytes)
}

fn append_in(tx: &Connection, record: &LogRecord) -> Result<u64> {
    record.validate()?;
    let data = record.to_bytes()?;
    if data.len() > super::entry::MAX_ENTRY_LEN {
        return Err(crate::Error::Length {
            what: "log entry",
            found: data.len(),
        });
    }
    let n = size_in(tx)?;
    if n > 0 {
        check_after(&entry_in(tx, n - 1)?, n - 1, &record.entry)?;
    }
    check_not_ahead(
        &format!("the new log entry ({})", record.entry.kind()),
        record.entry.time(),
    )?;
    let hashes = tlog_tiles::stored_hashes(n, &data, &DbHashes(tx)).map_err(proof_err)?;
    let first = tlog_tiles::stored_hash_index(0, n);
    tx.execute(
        "INSERT INTO entries VALUES (?1, ?2)",
        params![n as i64, data],
    )
    .map_err(LogError::from)?;
    for (i, h) in hashes.iter().enumerate() {
        tx.execute(
            "INSERT INTO hashes VALUES (?1, ?2)",
            params![(first + i as u64) as i64, &h.0[..]],
        )
        .map_err(LogError::from)?;
    }
    if indexed_in(tx)? == n {
        index_in(tx, n, &data, record)?;
        set_indexed_in(tx, n + 1)?;
    }
    Ok(n)
}

/// How many entries the key index covers.
fn indexed_in(conn: &Connection) -> Result<u64> {
    let n: Option<i64> = conn
        .query_row("SELECT size FROM indexed WHERE id = 0", [], |r| r.get(0))
        .optional()
        .map_err(LogError::from)?;
    Ok(n.unwrap_or(0) as u64)
}

fn set_indexed_in(conn: &Connection, size: u64) -> Result<()> {
    conn.execute(
        "INSERT INTO indexed VALUES (0, ?1) ON CONFLICT (id) DO UPDATE SET size = ?1",
        [size as i64],
    )
    .map_err(LogError::from)?;
    Ok(())
}

/// The key under which an exact copy of `data` is found.
fn record_key(data: &[u8]) -> String {
    use sha2::Digest as _;
    format!("record/{}", hex::encode(sha2::Sha256::digest(data)))
}

fn index_in(conn: &Connection, index: u64, data: &[u8], record: &LogRecord) -> Result<()> {
    let mut stmt = conn
        .prepare_cached("INSERT OR IGNORE INTO entry_keys VALUES (?1, ?2)")
        .map_err(LogError::from)?;
    for key in record
        .entry
        .index_keys()
        .into_iter()
        .chain([record_key(data)])
    {
        stmt.execute(params![key, index as i64])
            .map_err(LogError::from)?;
    }
    Ok(())
}

/// Indexes of the entries stored under `key` (ascending), from the index where it covers the
/// log and by reading the rest (a log opened read-only before it was indexed).
fn lookup_in(conn: &Connection, key: &str, prefix: bool) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    {
        let (sql, arg) = if prefix {
            (
                "SELECT idx FROM entry_keys WHERE key >= ?1 AND key < ?1 || x'ff' ORDER BY idx",
                key,
            )
        } else {
            (
                "SELECT idx FROM entry_keys WHERE key = ?1 ORDER BY idx",
                key,
            )
        };
        let mut stmt = conn.prepare_cached(sql).map_err(LogError::from)?;
        let rows = stmt
            .query_map([arg], |r| r.get::<_, i64>(0))
            .map_err(LogError::from)?;
        for r in rows {
            out.push(r.map_err(LogError::from)? as u64);
        }
    }
    let size = size_in(conn)?;
    let indexed = indexed_in(conn)?.min(size);
    for i in indexed..size {
        let data: Vec<u8> = conn
            .query_row("SELECT data FROM entries WHERE idx = ?1", [i as i64], |r| {
                r.get(0)
            })
            .map_err(LogError::from)?;
        let record = LogRecord::from_bytes(&data)?;
        let hit = record
            .entry
            .index_keys()
            .into_iter()
            .chain([record_key(&data)])
            .any(|k| if prefix { k.starts_with(key) } else { k == key });
        if hit {
            out.push(i);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The warrant process as the log records it, for a submitted record (the monitor's rules,
/// `monitor::check_process`, applied before the entry exists): a release follows its
/// warrant's `warrant-logged`, is by an authority of a generation the log announced, and
/// covers at most the warrant's scope; an execution follows its `warrant-logged` and releases
/// by at least the smallest threshold of distinct authorities. By index lookups only.
fn check_process_in(conn: &Connection, record: &LogRecord) -> Result<()> {
    use crate::error::ProcessRule as P;
    let refuse = |rule| Err(LogError::OutOfProcess(rule).into());
    let logged = |digest: &str| -> Result<Option<LogRecord>> {
        match lookup_in(conn, &format!("warrant/{digest}"), false)?.first() {
            Some(&i) => Ok(Some(entry_in(conn, i)?)),
            None => Ok(None),
        }
    };
    // The generations' entries: their authorities and thresholds.
    let generations = || -> Result<Vec<LogRecord>> {
        lookup_in(conn, "generation/", true)?
            .into_iter()
            .map(|i| entry_in(conn, i))
            .collect()
    };
    match &record.entry {
        LogEntry::KeyReleased {
            digest,
            authority,
            identity_count,
            ..
        } => {
            let Some(w) = logged(digest)? else {
                return refuse(P::ReleaseBeforeWarrant);
            };
            if let LogEntry::WarrantLogged {
                target_count,
                epoch_count,
                ..
            } = w.entry
                && u64::from(*identity_count) > u64::from(target_count) * u64::from(epoch_count)
            {
                return refuse(P::ReleaseWiderThanScope);
            }
            let named = generations()?.iter().any(|g| match &g.entry {
                LogEntry::GenerationCreated { authorities, .. }
                | LogEntry::GenerationReshared { authorities, .. } => {
                    authorities.contains(authority)
                }
                _ => false,
            });
            if !named {
                return refuse(P::ReleaseByNonAuthority);
            }
        }
        LogEntry::WarrantExecuted { digest, .. } => {
            if logged(digest)?.is_none() {
                return refuse(P::ExecutionBeforeWarrant);
            }
            let k = generations()?
                .iter()
                .filter_map(|g| match &g.entry {
                    LogEntry::GenerationCreated { threshold, .. }
                    | LogEntry::GenerationReshared { threshold, .. } => Some(*threshold),
                    _ => None,
                })
                .min()
                .unwrap_or(1)
                .max(1);
            let releases = lookup_in(conn, &format!("release/{digest}/"), true)?.len();
            if releases < k as usize {
                return refuse(P::ExecutionBelowThreshold);
            }
        }
        LogEntry::GenerationRetired {
            realm,
            generation,
            authority,
            ..
        }
        | LogEntry::SharingRevoked {
            realm,
            generation,
            authority,
            ..
        } => {
            // Only of a generation this log announced, by one of its authorities now (after a
            // resharing: of the new sharing).
            let key = format!("generation/{realm}/{generation}");
            let mut named = false;
            for i in lookup_in(conn, &key, false)? {
                named = match entry_in(conn, i)?.entry {
                    LogEntry::GenerationCreated {
                        realm: r,
                        generation: g,
                        authorities,
                        ..
                    }
                    | LogEntry::GenerationReshared {
                        realm: r,
                        generation: g,
                        authorities,
                        ..
                    } => r == *realm && g == *generation && authorities.contains(authority),
                    _ => named,
                };
            }
            if !named {
                return refuse(P::UnannouncedGeneration);
            }
        }
        _ => {}
    }
    Ok(())
}

/// The entry that makes `record` a repeat: one under its [`LogEntry::once_key`], else an
/// identical record.
fn existing_in(conn: &Connection, record: &LogRecord) -> Result<Option<u64>> {
    if let Some(key) = record.entry.once_key()
        && let Some(&i) = lookup_in(conn, &key, false)?.first()
    {
        return Ok(Some(i));
    }
    Ok(lookup_in(conn, &record_key(&record.to_bytes()?), false)?
        .first()
        .copied())
}

/// Entry times never go backwards: `next` (to be entry `prev_index + 1`) may not be dated
/// before `prev`. Equal times are fine (one instant can hold several records).
pub fn check_after(prev: &LogRecord, prev_index: u64, next: &LogEntry) -> Result<()> {
    not_before(
        &format!("the new log entry ({})", next.kind()),
        next.time(),
        prev_index,
        prev,
    )
}

/// Refuses `time` (RFC 3339) for `what` if it is before the time of `entry` (entry `index`);
/// times that do not parse are left to the entries' own validation.
pub(crate) fn not_before(what: &str, time: &str, index: u64, entry: &LogRecord) -> Result<()> {
    let parse = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    };
    if let (Some(t), Some(e)) = (parse(time), parse(entry.entry.time()))
        && t < e
    {
        return Err(crate::Error::TimeBackwards {
            what: what.to_owned(),
            time: time.to_owned(),
            newest: format!("log entry {index} ({})", entry.entry.kind()),
            newest_time: entry.entry.time().to_owned(),
        });
    }
    Ok(())
}

/// How far ahead of this machine's clock a recorded time may be (clock skew between parties).
pub const CLOCK_TOLERANCE: u32 = 300;

/// Refuses a time (RFC 3339) more than [`CLOCK_TOLERANCE`] ahead of the real clock: an entry
/// dated in the future would block every party whose clock is behind it, since entry times
/// never go backwards ([`check_after`]).
pub fn check_not_ahead(what: &str, time: &str) -> Result<()> {
    let rfc = &time::format_description::well_known::Rfc3339;
    let Ok(t) = time::OffsetDateTime::parse(time, rfc) else {
        return Ok(());
    };
    let now = time::OffsetDateTime::now_utc();
    if t > now + time::Duration::seconds(i64::from(CLOCK_TOLERANCE)) {
        return Err(crate::Error::TimeAhead {
            what: what.to_owned(),
            time: time.to_owned(),
            now: now
                .replace_nanosecond(0)
                .ok()
                .and_then(|n| n.format(rfc).ok())
                .unwrap_or_default(),
            tolerance: CLOCK_TOLERANCE,
        });
    }
    Ok(())
}

fn sign_checkpoint_in(tx: &Connection, origin: &str, key: &dyn Signer) -> Result<Vec<u8>> {
    let size = size_in(tx)?;
    let root = tlog_tiles::tree_hash(size, &DbHashes(tx)).map_err(proof_err)?;
    let cp = Checkpoint::new(origin, size, root, "")
        .map_err(|error| LogError::Tampered(Tamper::Checkpoint { error }))?;
    let mut note = Note::new(&cp.to_bytes(), &[]).map_err(|e| LogError::Malformed {
        what: "checkpoint note",
        reason: e.to_string(),
    })?;
    note.add_sigs(&[key]).map_err(|e| LogError::Malformed {
        what: "checkpoint signature",
        reason: e.to_string(),
    })?;
    let bytes = note.to_bytes();
    let text = String::from_utf8(bytes.clone()).map_err(|_| LogError::Malformed {
        what: "checkpoint note",
        reason: "not UTF-8".into(),
    })?;
    tx.execute(
        "INSERT OR IGNORE INTO checkpoints VALUES (?1, ?2)",
        params![size as i64, text],
    )
    .map_err(LogError::from)?;
    Ok(bytes)
}
