//! The provider's relay: prekey directory and stored envelopes in SQLite (`relay.sqlite`,
//! WAL, `synchronous=FULL`), and the lawful-intercept capture export.
//!
//! The relay never sees plaintext. It timestamps every envelope when it accepts it, keeps it
//! after delivery (status `queued`, `delivered`, `held` or `rejected`, with the recipient's
//! reason), and can export every envelope sent or received by an account in a half-open time
//! window `[from, to)`, together with every first message of each chain involved (which
//! carries the chain's escrow block and its sender's signature), as one versioned JSON
//! document that names the realm, the relay and the escrow generations it belongs to.
//!
//! Each relay database has a random 16-byte id, made when the database is created; a capture
//! carries it, so that an auditor can refuse a capture of another lab's relay.
//!
//! **One envelope per position.** The relay stores at most one envelope per (sender,
//! recipient, chain, n): [`RelayTransaction::enqueue`] refuses a second one with
//! [`Error::PositionTaken`], checked in the inserting transaction and backed by the UNIQUE
//! index `envelopes_position`. A message's AES-GCM key and nonce follow from its chain key and
//! position (as in Signal), so a client state restored from a backup would otherwise send a
//! second ciphertext under the key and nonce of one the relay already holds; the sending
//! client asks [`RelayTransaction::position_taken`] before it encrypts ([`crate::Client::send_checked`]).
//! The recipient is part of the position because a chain is (sender, recipient, ratchet key):
//! one ratchet key toward two recipients gives two chain keys.

use std::path::Path;

use p256::PublicKey;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::client::{Incoming, Outcome, Registration};
use crate::envelope::{Envelope, sig_from_hex};
use crate::error::{Bug, Error, Result};
use crate::keys::{public_from_hex, public_hex};
use crate::x3dh::{IdentityPublic, PrekeyBundle};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    identity_sign TEXT NOT NULL,
    identity_dh TEXT NOT NULL,
    identity_dh_sig TEXT NOT NULL,
    signed_prekey_id INTEGER NOT NULL,
    signed_prekey TEXT NOT NULL,
    signed_prekey_sig TEXT NOT NULL,
    registered_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS one_time_prekeys (
    account TEXT NOT NULL REFERENCES accounts(name),
    id INTEGER NOT NULL,
    public TEXT NOT NULL,
    PRIMARY KEY (account, id)
);
CREATE TABLE IF NOT EXISTS envelopes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    server_time INTEGER NOT NULL,
    chain TEXT NOT NULL,
    n INTEGER NOT NULL,
    has_start INTEGER NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'delivered', 'held', 'rejected')),
    note TEXT
);
CREATE INDEX IF NOT EXISTS envelopes_recipient ON envelopes (recipient, status, id);
CREATE INDEX IF NOT EXISTS envelopes_time ON envelopes (server_time);
CREATE INDEX IF NOT EXISTS envelopes_chain ON envelopes (sender, chain, has_start);
CREATE INDEX IF NOT EXISTS envelopes_sender_time ON envelopes (sender, server_time, id);
CREATE TABLE IF NOT EXISTS relay_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// One envelope per (sender, recipient, chain, n). A relay database written before this rule
/// may hold two envelopes at one position; it cannot get the index, and [`RelayTransaction::enqueue`]'s
/// check in the inserting transaction enforces the rule for every later envelope.
const POSITION_INDEX: &str = "CREATE UNIQUE INDEX IF NOT EXISTS envelopes_position
    ON envelopes (sender, recipient, chain, n)";

/// `relay_meta` key set by [`crate::hazmat::relay_keeps_duplicates`].
const UNCHECKED_POSITIONS: &str = "positions_unchecked";

/// Capture format version this build writes and reads.
pub const CAPTURE_VERSION: u64 = 2;

/// Most envelopes one `read` takes from the relay.
pub const MAX_BATCH: usize = 1000;

/// The relay database.
#[derive(Debug)]
pub struct Relay {
    conn: Connection,
}

fn row_err(problem: RelayProblem) -> Error {
    Error::RelayState(problem)
}

/// What is inconsistent in the relay's database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayProblem {
    /// The database has no relay id.
    #[error("the relay database has no id")]
    NoId,
    /// The database file is empty (emptied or truncated: its envelopes and id are gone).
    #[error(
        "the relay database is empty (emptied or truncated); refusing to start a new relay in its place"
    )]
    Empty,
    /// An account registers a second time.
    #[error("account '{0}' is already registered")]
    AlreadyRegistered(String),
    /// A directory entry does not decode.
    #[error("directory entry of '{account}' is corrupt: {error}")]
    CorruptDirectory {
        /// The account.
        account: String,
        /// What does not decode.
        error: Box<Error>,
    },
    /// A one-time prekey does not decode.
    #[error("prekey of '{account}' is corrupt: {error}")]
    CorruptPrekey {
        /// The account.
        account: String,
        /// What does not decode.
        error: Box<Error>,
    },
    /// A message is for an account the relay does not know.
    #[error("unknown recipient '{0}'")]
    UnknownRecipient(String),
    /// A request names an account the relay does not know.
    #[error("unknown account '{0}'")]
    UnknownAccount(String),
    /// A stored envelope is not JSON.
    #[error("envelope {0} is not JSON")]
    EnvelopeNotJson(i64),
    /// A stored time is outside RFC 3339's range.
    #[error("timestamp {0} out of range")]
    TimeRange(i64),
}

impl Relay {
    /// Opens (creating if needed) the relay database.
    pub fn open(path: &Path) -> Result<Self> {
        // A relay database is never empty once created (its schema and id are written at
        // once): an emptied file is refused, not given a new schema and a new relay id.
        if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
            return Err(row_err(RelayProblem::Empty));
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        Self::ensure_id(&conn)?;
        Self::ensure_position_index(&conn)?;
        Ok(Self { conn })
    }

    /// An in-memory relay (tests, simulations).
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        Self::ensure_id(&conn)?;
        Self::ensure_position_index(&conn)?;
        Ok(Self { conn })
    }

    /// Whether this relay was told to keep several envelopes at one position
    /// ([`crate::hazmat::relay_keeps_duplicates`]).
    fn positions_unchecked(conn: &Connection) -> Result<bool> {
        Ok(conn
            .query_row(
                "SELECT 1 FROM relay_meta WHERE key = ?1",
                [UNCHECKED_POSITIONS],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Creates the UNIQUE index of positions, unless the database already holds two envelopes
    /// at one position (written before the rule) or was told to keep them.
    fn ensure_position_index(conn: &Connection) -> Result<()> {
        if Self::positions_unchecked(conn)? {
            return Ok(());
        }
        match conn.execute_batch(POSITION_INDEX) {
            Ok(()) => Ok(()),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// See [`crate::hazmat::relay_keeps_duplicates`].
    pub(crate) fn keep_duplicates(&self) -> Result<()> {
        self.conn
            .execute_batch("DROP INDEX IF EXISTS envelopes_position")?;
        self.conn.execute(
            "INSERT OR REPLACE INTO relay_meta (key, value) VALUES (?1, '1')",
            [UNCHECKED_POSITIONS],
        )?;
        Ok(())
    }

    /// Opens the relay database at `path` read-only (an auditor checking a capture's origin
    /// against the lab's relay). Fails if there is no relay there.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Ok(Self { conn })
    }

    /// The id of the relay database at `path`, read without writing anything. Fails if there
    /// is no relay there.
    pub fn id_at(path: &Path) -> Result<String> {
        Self::open_read_only(path)?.id()
    }

    /// See [`crate::hazmat::substitute_directory_entry`].
    pub(crate) fn substitute_identity(&self, account: &str, id: &IdentityPublic) -> Result<()> {
        self.conn.execute(
            "UPDATE accounts SET identity_sign = ?2, identity_dh = ?3, identity_dh_sig = ?4
             WHERE name = ?1",
            params![
                account,
                public_hex(&id.sign),
                public_hex(&id.dh),
                hex::encode(id.dh_sig)
            ],
        )?;
        Ok(())
    }

    /// An account's identity as this relay's directory publishes it.
    pub fn published_identity(&self, account: &str) -> Result<Option<IdentityPublic>> {
        Self::identity(&self.conn, account)
    }

    fn read_id(conn: &Connection) -> Result<Option<String>> {
        Ok(conn
            .query_row(
                "SELECT value FROM relay_meta WHERE key = 'relay_id'",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Gives the database its random id if it has none yet.
    fn ensure_id(conn: &Connection) -> Result<()> {
        use rand_core::RngCore as _;
        if Self::read_id(conn)?.is_none() {
            let mut id = [0u8; 16];
            rand_core::OsRng.fill_bytes(&mut id);
            conn.execute(
                "INSERT OR IGNORE INTO relay_meta (key, value) VALUES ('relay_id', ?1)",
                [hex::encode(id)],
            )?;
        }
        Ok(())
    }

    /// This relay's id (32 lowercase hex characters).
    pub fn id(&self) -> Result<String> {
        Self::read_id(&self.conn)?.ok_or_else(|| row_err(RelayProblem::NoId))
    }

    /// Starts an IMMEDIATE transaction: it takes the database's write lock at once, so two
    /// commands of the same client (say `send` and `read`) cannot both load the client state and
    /// reuse a message key. Every command's reads and writes go through one.
    pub fn transaction(&mut self) -> Result<RelayTransaction<'_>> {
        Ok(RelayTransaction {
            tx: self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?,
        })
    }

    /// Whether an account is registered.
    pub fn is_registered(&self, account: &str) -> Result<bool> {
        Self::registered_in(&self.conn, account)
    }

    /// When `account` registered (Unix seconds), if it did.
    pub fn registration_time(&self, account: &str) -> Result<Option<i64>> {
        Self::registered_at(&self.conn, account)
    }

    /// Whether an account is registered, inside a transaction.
    pub(crate) fn registered_in(conn: &Connection, account: &str) -> Result<bool> {
        Ok(conn
            .query_row("SELECT 1 FROM accounts WHERE name = ?1", [account], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// When an account registered (Unix seconds, the relay's directory), if it did.
    pub(crate) fn registered_at(conn: &Connection, account: &str) -> Result<Option<i64>> {
        Ok(conn
            .query_row(
                "SELECT registered_at FROM accounts WHERE name = ?1",
                [account],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Publishes a registration; refuses a name that is taken.
    pub(crate) fn register(tx: &Transaction<'_>, reg: &Registration, now_unix: i64) -> Result<()> {
        let b = &reg.bundle;
        b.verify()?;
        let taken: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM accounts WHERE name = ?1",
                [&b.account],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Err(row_err(RelayProblem::AlreadyRegistered(b.account.clone())));
        }
        tx.execute(
            "INSERT INTO accounts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                b.account,
                public_hex(&b.identity.sign),
                public_hex(&b.identity.dh),
                hex::encode(b.identity.dh_sig),
                b.signed_prekey_id,
                public_hex(&b.signed_prekey),
                hex::encode(b.signed_prekey_sig),
                now_unix
            ],
        )?;
        for (id, pk) in &reg.one_time_prekeys {
            tx.execute(
                "INSERT INTO one_time_prekeys VALUES (?1, ?2, ?3)",
                params![b.account, id, public_hex(pk)],
            )?;
        }
        Ok(())
    }

    fn bundle_row(conn: &Connection, account: &str) -> Result<Option<PrekeyBundle>> {
        let row = conn
            .query_row(
                "SELECT identity_sign, identity_dh, identity_dh_sig, signed_prekey_id,
                        signed_prekey, signed_prekey_sig FROM accounts WHERE name = ?1",
                [account],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, u32>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((sign, dh, dh_sig, spk_id, spk, spk_sig)) = row else {
            return Ok(None);
        };
        let corrupt = |e: Error| {
            row_err(RelayProblem::CorruptDirectory {
                account: account.to_owned(),
                error: Box::new(e),
            })
        };
        Ok(Some(PrekeyBundle {
            account: account.to_owned(),
            identity: IdentityPublic {
                sign: public_from_hex("identity_sign", &sign).map_err(corrupt)?,
                dh: public_from_hex("identity_dh", &dh).map_err(corrupt)?,
                dh_sig: sig_from_hex(&dh_sig).map_err(corrupt)?,
            },
            signed_prekey_id: spk_id,
            signed_prekey: public_from_hex("signed_prekey", &spk).map_err(corrupt)?,
            signed_prekey_sig: sig_from_hex(&spk_sig).map_err(corrupt)?,
            one_time_prekey: None,
        }))
    }

    /// An account's published identity (for the recipient's check of a new session).
    pub(crate) fn identity(conn: &Connection, account: &str) -> Result<Option<IdentityPublic>> {
        Ok(Self::bundle_row(conn, account)?.map(|b| b.identity))
    }

    /// Hands out a bundle, consuming one one-time prekey if any are left.
    pub(crate) fn take_bundle(tx: &Transaction<'_>, account: &str) -> Result<PrekeyBundle> {
        let mut bundle = Self::bundle_row(tx, account)?
            .ok_or_else(|| row_err(RelayProblem::UnknownRecipient(account.to_owned())))?;
        let opk: Option<(u32, String)> = tx
            .query_row(
                "SELECT id, public FROM one_time_prekeys WHERE account = ?1 ORDER BY id LIMIT 1",
                [account],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((id, pk)) = opk {
            tx.execute(
                "DELETE FROM one_time_prekeys WHERE account = ?1 AND id = ?2",
                params![account, id],
            )?;
            let pk: PublicKey = public_from_hex("one_time_prekey", &pk).map_err(|e| {
                row_err(RelayProblem::CorruptPrekey {
                    account: account.to_owned(),
                    error: Box::new(e),
                })
            })?;
            bundle.one_time_prekey = Some((id, pk));
        }
        Ok(bundle)
    }

    /// Stores an envelope with the relay's timestamp; returns its id. Refuses an envelope
    /// between accounts the directory does not know, one at a position the relay already
    /// holds ([`Error::PositionTaken`]), and one dated before either account's registration
    /// or before the sender's newest envelope ([`RelayTransaction::check_time`]).
    pub(crate) fn enqueue(tx: &Transaction<'_>, env: &Envelope, server_time: i64) -> Result<i64> {
        for who in [&env.from, &env.to] {
            let known: Option<i64> = tx
                .query_row("SELECT 1 FROM accounts WHERE name = ?1", [who], |r| {
                    r.get(0)
                })
                .optional()?;
            if known.is_none() {
                return Err(row_err(RelayProblem::UnknownAccount(who.to_string())));
            }
        }
        Self::check_time(tx, &env.from, &env.to, server_time)?;
        let taken = || Error::PositionTaken {
            from: env.from.clone(),
            to: env.to.clone(),
            chain: Box::new(env.chain),
            n: env.n,
        };
        if !Self::positions_unchecked(tx)?
            && Self::holds(tx, &env.from, &env.to, &env.chain, env.n)?
        {
            return Err(taken());
        }
        let body = String::from_utf8(env.to_json()).map_err(|_| Error::Internal(Bug::Utf8Json))?;
        let inserted = tx.execute(
            "INSERT INTO envelopes (sender, recipient, server_time, chain, n, has_start, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                env.from,
                env.to,
                server_time,
                public_hex(&env.chain),
                env.n,
                env.start.is_some(),
                body
            ],
        );
        match inserted {
            Ok(_) => Ok(tx.last_insert_rowid()),
            // The index is the same rule; the check above answers first.
            // Only the UNIQUE index says "taken"; any other failure is reported as itself.
            Err(e)
                if e.sqlite_error().map(|f| f.extended_code)
                    == Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE) =>
            {
                Err(taken())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Refuses a message from `from` to `to` at `time` (Unix seconds) dated before either
    /// account's registration or before the newest envelope of `from` the relay holds (to any
    /// recipient, whatever its status): simulated time never goes backwards, so a sender —
    /// even a modified client that ignores its own record of time — cannot slip messages into
    /// the past of a conversation or of an intercept window already exported. The same
    /// second as the newest envelope is not before it. Ask it in the transaction that will
    /// enqueue the message; [`RelayTransaction::enqueue`] asks it itself.
    pub(crate) fn check_time(conn: &Connection, from: &str, to: &str, time: i64) -> Result<()> {
        // Not ahead of the clock: an envelope dated in the future under someone's name would
        // lock that sender out until then (the relay does not authenticate senders).
        let stamp = rfc3339(time)?;
        escrow::transparency::store::check_not_ahead("the message", &stamp)
            .map_err(|e| Error::TimeBackwards(Box::new(e)))?;
        for who in [from, to] {
            if let Some(registered) = Self::registered_at(conn, who)? {
                not_before(time, &format!("{who}'s registration"), registered)?;
            }
        }
        let newest: Option<(i64, i64)> = conn
            .query_row(
                "SELECT id, server_time FROM envelopes WHERE sender = ?1
                 ORDER BY server_time DESC, id DESC LIMIT 1",
                [from],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((id, newest)) = newest {
            not_before(
                time,
                &format!("{from}'s newest envelope at the relay (#{id})"),
                newest,
            )?;
        }
        Ok(())
    }

    /// Whether the relay holds an envelope from `from` to `to` at position `n` of `chain`:
    /// what a sending client asks before it encrypts at a position its state fixes the key
    /// and nonce of ([`crate::Client::send_checked`]). Ask it inside the transaction that
    /// will enqueue the message. (A relay made by [`crate::hazmat::relay_keeps_duplicates`]
    /// answers "free" whatever it holds.)
    pub(crate) fn position_taken(
        conn: &Connection,
        from: &str,
        to: &str,
        chain: &PublicKey,
        n: u32,
    ) -> Result<bool> {
        Ok(!Self::positions_unchecked(conn)? && Self::holds(conn, from, to, chain, n)?)
    }

    /// Whether the relay holds an envelope at this position (the truth, whatever
    /// [`RelayTransaction::position_taken`] answers).
    fn holds(conn: &Connection, from: &str, to: &str, chain: &PublicKey, n: u32) -> Result<bool> {
        let found: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM envelopes
                 WHERE sender = ?1 AND recipient = ?2 AND chain = ?3 AND n = ?4 LIMIT 1",
                params![from, to, public_hex(chain), n],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.is_some())
    }

    /// The status, recipient and stored body of envelope `id`, if the relay holds it.
    pub(crate) fn status(conn: &Connection, id: i64) -> Result<Option<(String, String, String)>> {
        Ok(conn
            .query_row(
                "SELECT status, recipient, body FROM envelopes WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// The relay time of envelope `id`, if the relay holds it.
    pub fn time_of(&self, id: i64) -> Result<Option<i64>> {
        Self::time_in(&self.conn, id)
    }

    /// The relay time of envelope `id`, if the relay holds it, inside a transaction.
    pub(crate) fn time_in(conn: &Connection, id: i64) -> Result<Option<i64>> {
        Ok(conn
            .query_row(
                "SELECT server_time FROM envelopes WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Whether the relay holds exactly `env` (these bytes at its position): a client's outbox
    /// envelope counts as delivered only then — another envelope at its position (posted under
    /// the sender's name) is not it. (A relay that keeps duplicates,
    /// [`crate::hazmat::relay_keeps_duplicates`], may hold several at one position: any of
    /// them counts.)
    pub(crate) fn holds_exactly(conn: &Connection, env: &Envelope) -> Result<bool> {
        let mut stmt = conn.prepare(
            "SELECT body FROM envelopes
             WHERE sender = ?1 AND recipient = ?2 AND chain = ?3 AND n = ?4",
        )?;
        let bytes = env.to_json();
        let bodies = stmt.query_map(
            params![env.from, env.to, public_hex(&env.chain), env.n],
            |r| r.get::<_, String>(0),
        )?;
        for body in bodies {
            if body?.as_bytes() == bytes.as_slice() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the relay holds an envelope at `env`'s position (sender, recipient, chain and
    /// number).
    pub(crate) fn contains(conn: &Connection, env: &Envelope) -> Result<bool> {
        Self::holds(conn, &env.from, &env.to, &env.chain, env.n)
    }

    /// The queued envelopes of `account`, oldest first, at most [`MAX_BATCH`] per call.
    pub(crate) fn queued(tx: &Transaction<'_>, account: &str) -> Result<Vec<Incoming>> {
        Self::queued_until(tx, account, i64::MAX)
    }

    /// The queued envelopes of `account` with a relay time at or before `until` (Unix
    /// seconds), oldest first, at most [`MAX_BATCH`] per call: what a client reading at
    /// `until` receives (a message is never read before it was sent).
    pub(crate) fn queued_until(
        tx: &Transaction<'_>,
        account: &str,
        until: i64,
    ) -> Result<Vec<Incoming>> {
        let mut stmt = tx.prepare(
            "SELECT id, server_time, body FROM envelopes
             WHERE recipient = ?1 AND status = 'queued' AND server_time <= ?2
             ORDER BY id LIMIT 1000",
        )?;
        let rows = stmt.query_map(params![account, until], |r| {
            Ok(Incoming {
                relay_id: r.get(0)?,
                server_time: r.get(1)?,
                body: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// How many envelopes queued for `account` have a relay time after `until`: they stay
    /// queued for a read at a later time.
    pub(crate) fn queued_after(tx: &Transaction<'_>, account: &str, until: i64) -> Result<u64> {
        Ok(tx.query_row(
            "SELECT COUNT(*) FROM envelopes
             WHERE recipient = ?1 AND status = 'queued' AND server_time > ?2",
            params![account, until],
            |r| r.get(0),
        )?)
    }

    /// Records what the client did with an envelope.
    pub(crate) fn mark(tx: &Transaction<'_>, id: i64, outcome: &Outcome) -> Result<()> {
        let (status, note) = match outcome {
            Outcome::Delivered { .. } => ("delivered", None),
            Outcome::Held => ("held", None),
            Outcome::Rejected { reason, .. } => ("rejected", Some(reason.as_str())),
        };
        tx.execute(
            "UPDATE envelopes SET status = ?2, note = ?3 WHERE id = ?1",
            params![id, status, note],
        )?;
        Ok(())
    }

    /// The lawful-intercept capture of `req.account` for `[req.from, req.to)` (Unix seconds,
    /// half-open: `from` inclusive, `to` exclusive, like a warrant's timespan): every envelope
    /// sent or received by the account with a relay time in the window, with its delivery
    /// status; every first message of each chain involved (between the same sender and
    /// recipient), whatever its time and status, so that two starts of one chain are visible;
    /// the first messages of the chains that the epoch chains among them step from (their
    /// epochs are needed to check the epoch step); and the directory entries of every account
    /// involved. With [`CaptureRequest::as_of_export`], all of it only as far as the export
    /// time: envelopes and chain starts with a relay time at or before `req.exported_at`.
    pub fn capture(&self, req: &CaptureRequest) -> Result<Capture> {
        let rows = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<Vec<CapturedEnvelope>> {
            let mut stmt = self.conn.prepare(sql)?;
            let it = stmt.query_map(p, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in it {
                let (id, t, status, note, body) = row?;
                let envelope: serde_json::Value = serde_json::from_str(&body)
                    .map_err(|_| row_err(RelayProblem::EnvelopeNotJson(id)))?;
                out.push(CapturedEnvelope {
                    relay_id: id,
                    server_time: rfc3339(t)?,
                    status,
                    note,
                    envelope,
                });
            }
            Ok(out)
        };
        // An export as of its own time holds nothing the relay received after it.
        let until = if req.as_of_export {
            req.exported_at
        } else {
            i64::MAX
        };
        let envelopes = rows(
            "SELECT id, server_time, status, note, body FROM envelopes
             WHERE (sender = ?1 OR recipient = ?1) AND server_time >= ?2 AND server_time < ?3
                   AND server_time <= ?4
             ORDER BY id",
            &[&req.account, &req.from, &req.to, &until],
        )?;
        let field =
            |e: &CapturedEnvelope, f: &str| e.envelope[f].as_str().unwrap_or_default().to_owned();
        let chain_of = |e: &CapturedEnvelope| (field(e, "from"), field(e, "to"), field(e, "chain"));
        // Every start of every chain involved (the window's own starts among them), then the
        // starts of the chains their epoch chains step from: two rounds.
        let in_window: std::collections::BTreeSet<i64> =
            envelopes.iter().map(|e| e.relay_id).collect();
        let mut pending: std::collections::BTreeSet<(String, String, String)> =
            envelopes.iter().map(chain_of).collect();
        let mut done = std::collections::BTreeSet::new();
        let mut chain_starts: Vec<CapturedEnvelope> = Vec::new();
        for _round in 0..2 {
            let mut bases = std::collections::BTreeSet::new();
            for key in std::mem::take(&mut pending) {
                if !done.insert(key.clone()) {
                    continue;
                }
                let (sender, recipient, chain) = &key;
                let found = rows(
                    "SELECT id, server_time, status, note, body FROM envelopes
                     WHERE sender = ?1 AND recipient = ?2 AND chain = ?3 AND has_start = 1
                           AND server_time <= ?4
                     ORDER BY id",
                    &[sender, recipient, chain, &until],
                )?;
                for f in found {
                    let start = &f.envelope["start"];
                    if let (true, Some(base)) =
                        (start["kind"] == "epoch", start["prev"]["chain"].as_str())
                    {
                        bases.insert((sender.clone(), recipient.clone(), base.to_owned()));
                    }
                    if !in_window.contains(&f.relay_id) {
                        chain_starts.push(f);
                    }
                }
            }
            pending = bases;
        }
        chain_starts.sort_by_key(|e| e.relay_id);
        // The directory entries of every account involved: an auditor rebuilds each session's
        // associated data, and checks each start's signature, with them.
        let mut directory = std::collections::BTreeMap::new();
        for e in envelopes.iter().chain(&chain_starts) {
            for who in ["from", "to"] {
                let name = field(e, who);
                if directory.contains_key(&name) {
                    continue;
                }
                if let Some(id) = Self::identity(&self.conn, &name)? {
                    directory.insert(
                        name,
                        DirectoryEntry {
                            identity_sign: public_hex(&id.sign),
                            identity_dh: public_hex(&id.dh),
                            identity_dh_sig: hex::encode(id.dh_sig),
                        },
                    );
                }
            }
        }
        Ok(Capture {
            version: CAPTURE_VERSION,
            kind: CAPTURE_KIND.to_owned(),
            realm: req.realm.clone(),
            relay: self.id()?,
            generations: req.generations.clone(),
            account: req.account.clone(),
            from: rfc3339(req.from)?,
            to: rfc3339(req.to)?,
            exported_at: rfc3339(req.exported_at)?,
            envelopes,
            chain_starts,
            directory,
        })
    }
}

/// What the provider is asked to export.
#[derive(Clone, Debug)]
pub struct CaptureRequest {
    /// The account.
    pub account: String,
    /// Window start, Unix seconds (inclusive).
    pub from: i64,
    /// Window end, Unix seconds (exclusive): the window is `[from, to)`.
    pub to: i64,
    /// Export time, Unix seconds.
    pub exported_at: i64,
    /// Whether the export holds only what the relay held at `exported_at`: envelopes and
    /// chain starts with a relay time at or before it, so that a window ending later is cut
    /// there (what a provider answering the request at that time can hand over).
    /// [`CaptureRequest::new`] leaves it off; [`CaptureRequest::as_of_export`] sets it.
    pub as_of_export: bool,
    /// The realm the relay serves (the escrow parameters').
    pub realm: String,
    /// The escrow generations whose validity meets the window.
    pub generations: Vec<CaptureGeneration>,
}

impl CaptureRequest {
    /// A request for `account` over `[from, to)` in the realm of `generations`, naming every
    /// generation whose validity meets the window.
    pub fn new(
        generations: &escrow::Generations,
        account: &str,
        from: i64,
        to: i64,
        exported_at: i64,
    ) -> Self {
        let len = generations.newest().epoch_length().max(1);
        let epoch = |t: i64| u64::try_from(t.max(0)).unwrap_or(0) / len;
        // The last second of the window is `to - 1` (`to` is exclusive).
        let (first, last) = (epoch(from), epoch(to.saturating_sub(1).max(from)));
        // The generation of an epoch changes only at validity bounds: the first epoch and every
        // bound inside the window name them all.
        let bounds = generations
            .iter()
            .flat_map(|p| [p.valid_from(), p.valid_until()])
            .flatten()
            .map(|t| epoch(t.unix_timestamp()))
            .filter(|e| *e > first && *e <= last);
        let mut named: Vec<CaptureGeneration> = Vec::new();
        for e in std::iter::once(first).chain(bounds) {
            if let Some(p) = generations.for_epoch(e)
                && !named.iter().any(|g| g.generation == p.generation())
            {
                named.push(CaptureGeneration {
                    generation: p.generation(),
                    master_public_key: escrow::encoding::g1_hex(p.master_public_key()),
                });
            }
        }
        named.sort_by_key(|g| g.generation);
        Self {
            account: account.to_owned(),
            from,
            to,
            exported_at,
            as_of_export: false,
            realm: generations.newest().realm().to_owned(),
            generations: named,
        }
    }

    /// The request answered as of its export time: the capture holds only envelopes and
    /// chain starts with a relay time at or before `exported_at` (the window is cut there).
    pub fn as_of_export(mut self) -> Self {
        self.as_of_export = true;
        self
    }
}

/// `kind` of a capture document.
pub const CAPTURE_KIND: &str = "escrow-lab/capture";

/// The refusal of `what` at `time` (Unix seconds) if it is before `newest` at `newest_time`
/// (simulated time never goes backwards), with both times in RFC 3339: the one wording of the
/// relay's and the client's time rules.
pub fn time_backwards(
    what: &str,
    time: i64,
    newest: &str,
    newest_time: i64,
) -> Option<escrow::Error> {
    let shown = |t: i64| rfc3339(t).unwrap_or_else(|_| t.to_string());
    (time < newest_time).then(|| escrow::Error::TimeBackwards {
        what: what.to_owned(),
        time: shown(time),
        newest: newest.to_owned(),
        newest_time: shown(newest_time),
    })
}

/// [`Error::TimeBackwards`] for a message at `time` before `newest` at `newest_time`.
fn not_before(time: i64, newest: &str, newest_time: i64) -> Result<()> {
    match time_backwards("the message", time, newest, newest_time) {
        Some(e) => Err(Error::TimeBackwards(Box::new(e))),
        None => Ok(()),
    }
}

/// One unit of work on the relay: an IMMEDIATE SQLite transaction ([`Relay::transaction`]),
/// committed by [`RelayTransaction::commit`] and rolled back if dropped. Every read and write
/// of a command goes through one.
pub struct RelayTransaction<'a> {
    tx: Transaction<'a>,
}

impl std::fmt::Debug for RelayTransaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RelayTransaction")
    }
}

impl RelayTransaction<'_> {
    /// Whether an account is registered.
    pub fn registered_in(&self, account: &str) -> Result<bool> {
        Relay::registered_in(&self.tx, account)
    }

    /// When an account registered (Unix seconds, the relay's directory), if it did.
    pub fn registered_at(&self, account: &str) -> Result<Option<i64>> {
        Relay::registered_at(&self.tx, account)
    }

    /// Registers an account: its signed prekey bundle and one-time prekeys.
    pub fn register(&self, reg: &Registration, now_unix: i64) -> Result<()> {
        Relay::register(&self.tx, reg, now_unix)
    }

    /// An account's identity as the directory publishes it.
    pub fn identity(&self, account: &str) -> Result<Option<IdentityPublic>> {
        Relay::identity(&self.tx, account)
    }

    /// An account's prekey bundle, taking one of its one-time prekeys (if any is left).
    pub fn take_bundle(&self, account: &str) -> Result<PrekeyBundle> {
        Relay::take_bundle(&self.tx, account)
    }

    /// Accepts an envelope at `server_time`; returns its relay id.
    pub fn enqueue(&self, env: &Envelope, server_time: i64) -> Result<i64> {
        Relay::enqueue(&self.tx, env, server_time)
    }

    /// Refuses a message time before the relay's newest between the two accounts or ahead of the clock.
    pub fn check_time(&self, from: &str, to: &str, time: i64) -> Result<()> {
        Relay::check_time(&self.tx, from, to, time)
    }

    /// Whether the relay holds an envelope at this position (sender, recipient, chain, n).
    pub fn position_taken(&self, from: &str, to: &str, chain: &PublicKey, n: u32) -> Result<bool> {
        Relay::position_taken(&self.tx, from, to, chain, n)
    }

    /// An envelope's status, recipient and body.
    pub fn status(&self, id: i64) -> Result<Option<(String, String, String)>> {
        Relay::status(&self.tx, id)
    }

    /// When the relay accepted an envelope (Unix seconds).
    pub fn time_in(&self, id: i64) -> Result<Option<i64>> {
        Relay::time_in(&self.tx, id)
    }

    /// Whether the relay holds exactly these bytes at the envelope's position.
    pub fn holds_exactly(&self, env: &Envelope) -> Result<bool> {
        Relay::holds_exactly(&self.tx, env)
    }

    /// Whether the relay holds an envelope at this envelope's position.
    pub fn contains(&self, env: &Envelope) -> Result<bool> {
        Relay::contains(&self.tx, env)
    }

    /// The envelopes queued for an account.
    pub fn queued(&self, account: &str) -> Result<Vec<Incoming>> {
        Relay::queued(&self.tx, account)
    }

    /// The envelopes queued for an account and accepted by `until` (at most 1000, oldest first).
    pub fn queued_until(&self, account: &str, until: i64) -> Result<Vec<Incoming>> {
        Relay::queued_until(&self.tx, account, until)
    }

    /// How many envelopes queued for an account were accepted after `until`.
    pub fn queued_after(&self, account: &str, until: i64) -> Result<u64> {
        Relay::queued_after(&self.tx, account, until)
    }

    /// Records the recipient's outcome for an envelope.
    pub fn mark(&self, id: i64, outcome: &Outcome) -> Result<()> {
        Relay::mark(&self.tx, id, outcome)
    }

    /// Commits the transaction.
    pub fn commit(self) -> Result<()> {
        Ok(self.tx.commit()?)
    }
}

impl crate::provider::RelayTx for RelayTransaction<'_> {
    fn registered_in(&self, account: &str) -> Result<bool> {
        RelayTransaction::registered_in(self, account)
    }

    fn registered_at(&self, account: &str) -> Result<Option<i64>> {
        RelayTransaction::registered_at(self, account)
    }

    fn register(&self, reg: &Registration, now_unix: i64) -> Result<()> {
        RelayTransaction::register(self, reg, now_unix)
    }

    fn identity(&self, account: &str) -> Result<Option<IdentityPublic>> {
        RelayTransaction::identity(self, account)
    }

    fn take_bundle(&self, account: &str) -> Result<PrekeyBundle> {
        RelayTransaction::take_bundle(self, account)
    }

    fn enqueue(&self, env: &Envelope, server_time: i64) -> Result<i64> {
        RelayTransaction::enqueue(self, env, server_time)
    }

    fn check_time(&self, from: &str, to: &str, time: i64) -> Result<()> {
        RelayTransaction::check_time(self, from, to, time)
    }

    fn position_taken(&self, from: &str, to: &str, chain: &PublicKey, n: u32) -> Result<bool> {
        RelayTransaction::position_taken(self, from, to, chain, n)
    }

    fn status(&self, id: i64) -> Result<Option<(String, String, String)>> {
        RelayTransaction::status(self, id)
    }

    fn time_in(&self, id: i64) -> Result<Option<i64>> {
        RelayTransaction::time_in(self, id)
    }

    fn holds_exactly(&self, env: &Envelope) -> Result<bool> {
        RelayTransaction::holds_exactly(self, env)
    }

    fn contains(&self, env: &Envelope) -> Result<bool> {
        RelayTransaction::contains(self, env)
    }

    fn queued(&self, account: &str) -> Result<Vec<Incoming>> {
        RelayTransaction::queued(self, account)
    }

    fn queued_until(&self, account: &str, until: i64) -> Result<Vec<Incoming>> {
        RelayTransaction::queued_until(self, account, until)
    }

    fn queued_after(&self, account: &str, until: i64) -> Result<u64> {
        RelayTransaction::queued_after(self, account, until)
    }

    fn mark(&self, id: i64, outcome: &Outcome) -> Result<()> {
        RelayTransaction::mark(self, id, outcome)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        RelayTransaction::commit(*self)
    }
}

impl crate::provider::RelayService for Relay {
    fn begin(&mut self) -> Result<Box<dyn crate::provider::RelayTx + '_>> {
        Ok(Box::new(self.transaction()?))
    }

    fn is_registered(&self, account: &str) -> Result<bool> {
        Relay::is_registered(self, account)
    }

    fn capture(&self, req: &CaptureRequest) -> Result<Capture> {
        Relay::capture(self, req)
    }
}

fn rfc3339(t: i64) -> Result<String> {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .ok_or(row_err(RelayProblem::TimeRange(t)))
}

/// One stored envelope in a capture.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapturedEnvelope {
    /// Relay row id.
    pub relay_id: i64,
    /// The relay's timestamp, RFC 3339.
    pub server_time: String,
    /// Delivery status in the relay's record: `queued`, `held`, `delivered` or `rejected`
    /// (what the recipient's client reported).
    pub status: String,
    /// The recipient's reason for a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The envelope as stored.
    pub envelope: serde_json::Value,
}

/// A generation a capture belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureGeneration {
    /// Generation number.
    pub generation: u32,
    /// Its master public key (G1, compressed, hex).
    pub master_public_key: String,
}

/// A lawful-intercept capture: what the provider can hand over. Contains no plaintext.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    /// Format version, [`CAPTURE_VERSION`].
    pub version: u64,
    /// `"escrow-lab/capture"`.
    pub kind: String,
    /// The realm of the escrow parameters the relay's clients wrap to.
    pub realm: String,
    /// The relay's id ([`Relay::id`]).
    pub relay: String,
    /// The escrow generations whose epochs the window meets.
    pub generations: Vec<CaptureGeneration>,
    /// The account named by the request.
    pub account: String,
    /// Window start, RFC 3339 (inclusive).
    pub from: String,
    /// Window end, RFC 3339 (exclusive): the window is `[from, to)`.
    pub to: String,
    /// When the relay exported it.
    pub exported_at: String,
    /// Every envelope sent or received by the account in the window.
    pub envelopes: Vec<CapturedEnvelope>,
    /// First messages (with escrow blocks) of the chains involved that are not among
    /// `envelopes`: every start of each chain, and of the chains epoch chains step from.
    pub chain_starts: Vec<CapturedEnvelope>,
    /// The published identity of every account involved (public directory data).
    pub directory: std::collections::BTreeMap<String, DirectoryEntry>,
}

impl Capture {
    /// The envelope with the latest relay time among all the capture includes (the window's
    /// envelopes and the chain starts outside it), with that time in Unix seconds: an export
    /// made earlier could not have held it.
    pub fn newest_envelope(&self) -> Option<(&CapturedEnvelope, i64)> {
        self.envelopes
            .iter()
            .chain(&self.chain_starts)
            .filter_map(|e| {
                OffsetDateTime::parse(&e.server_time, &Rfc3339)
                    .ok()
                    .map(|t| (e, t.unix_timestamp()))
            })
            .max_by_key(|(e, t)| (*t, e.relay_id))
    }
}

/// An account's published identity keys, as a capture carries them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryEntry {
    /// Identity signing key, compressed SEC1 hex.
    pub identity_sign: String,
    /// Identity agreement key, compressed SEC1 hex.
    pub identity_dh: String,
    /// Signature of the agreement key by the signing key, hex.
    pub identity_dh_sig: String,
}

impl DirectoryEntry {
    /// The identity, validated (keys on the curve, the agreement key signed by `account`).
    pub fn identity(&self, account: &str) -> Result<IdentityPublic> {
        let id = IdentityPublic {
            sign: public_from_hex("identity_sign", &self.identity_sign)?,
            dh: public_from_hex("identity_dh", &self.identity_dh)?,
            dh_sig: sig_from_hex(&self.identity_dh_sig)?,
        };
        if !id.verify(account) {
            return Err(Error::BadBundleSignature(account.to_owned()));
        }
        Ok(id)
    }
}
