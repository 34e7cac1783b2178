//! The provider's relay: prekey directory and stored envelopes in SQLite (`relay.sqlite`,
//! WAL, `synchronous=FULL`), and the lawful-intercept capture export.
//!
//! The relay never sees plaintext. It timestamps every envelope when it accepts it, keeps it
//! after delivery (status `queued`, `delivered`, `held` or `rejected`), and can export every
//! envelope sent or received by an account in a time window, together with the first message
//! of each chain involved (which carries the chain's escrow block), as one versioned JSON
//! document.

use std::path::Path;

use p256::PublicKey;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::client::{Incoming, Outcome, Registration};
use crate::envelope::{Envelope, sig_from_hex};
use crate::error::{Error, Result};
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
";

/// Most envelopes one `read` takes from the relay.
pub const MAX_BATCH: usize = 1000;

/// The relay database.
#[derive(Debug)]
pub struct Relay {
    conn: Connection,
}

fn row_err(reason: impl Into<String>) -> Error {
    Error::RelayState(reason.into())
}

impl Relay {
    /// Opens (creating if needed) the relay database.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// An in-memory relay (tests, simulations).
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// Starts an IMMEDIATE transaction: it takes the database's write lock at once, so two
    /// commands of the same client (say `send` and `read`) cannot both load the client state and
    /// reuse a message key. Every command's reads and writes go through one.
    pub fn transaction(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    /// Whether an account is registered.
    pub fn is_registered(&self, account: &str) -> Result<bool> {
        Self::registered_in(&self.conn, account)
    }

    /// Whether an account is registered, inside a transaction.
    pub fn registered_in(conn: &Connection, account: &str) -> Result<bool> {
        Ok(conn
            .query_row("SELECT 1 FROM accounts WHERE name = ?1", [account], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// Publishes a registration; refuses a name that is taken.
    pub fn register(tx: &Transaction<'_>, reg: &Registration, now_unix: i64) -> Result<()> {
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
            return Err(row_err(format!(
                "account '{}' is already registered",
                b.account
            )));
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
        let corrupt = |e: Error| row_err(format!("directory entry of '{account}' is corrupt: {e}"));
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
    pub fn identity(conn: &Connection, account: &str) -> Result<Option<IdentityPublic>> {
        Ok(Self::bundle_row(conn, account)?.map(|b| b.identity))
    }

    /// Hands out a bundle, consuming one one-time prekey if any are left.
    pub fn take_bundle(tx: &Transaction<'_>, account: &str) -> Result<PrekeyBundle> {
        let mut bundle = Self::bundle_row(tx, account)?
            .ok_or_else(|| row_err(format!("unknown recipient '{account}'")))?;
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
            let pk: PublicKey = public_from_hex("one_time_prekey", &pk)
                .map_err(|e| row_err(format!("prekey of '{account}' is corrupt: {e}")))?;
            bundle.one_time_prekey = Some((id, pk));
        }
        Ok(bundle)
    }

    /// Stores an envelope with the relay's timestamp; returns its id.
    pub fn enqueue(tx: &Transaction<'_>, env: &Envelope, server_time: i64) -> Result<i64> {
        for who in [&env.from, &env.to] {
            let known: Option<i64> = tx
                .query_row("SELECT 1 FROM accounts WHERE name = ?1", [who], |r| {
                    r.get(0)
                })
                .optional()?;
            if known.is_none() {
                return Err(row_err(format!("unknown account '{who}'")));
            }
        }
        let body =
            String::from_utf8(env.to_json()).map_err(|_| Error::Internal("JSON is UTF-8"))?;
        tx.execute(
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
        )?;
        Ok(tx.last_insert_rowid())
    }

    /// The status, recipient and stored body of envelope `id`, if the relay holds it.
    pub fn status(conn: &Connection, id: i64) -> Result<Option<(String, String, String)>> {
        Ok(conn
            .query_row(
                "SELECT status, recipient, body FROM envelopes WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// Whether the relay holds an envelope of `env`'s sender, chain and number.
    pub fn contains(conn: &Connection, env: &Envelope) -> Result<bool> {
        let found: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM envelopes WHERE sender = ?1 AND chain = ?2 AND n = ?3 LIMIT 1",
                params![env.from, public_hex(&env.chain), env.n],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.is_some())
    }

    /// The queued envelopes of `account`, oldest first, at most [`MAX_BATCH`] per call.
    pub fn queued(tx: &Transaction<'_>, account: &str) -> Result<Vec<Incoming>> {
        let mut stmt = tx.prepare(
            "SELECT id, server_time, body FROM envelopes
             WHERE recipient = ?1 AND status = 'queued' ORDER BY id LIMIT 1000",
        )?;
        let rows = stmt.query_map([account], |r| {
            Ok(Incoming {
                relay_id: r.get(0)?,
                server_time: r.get(1)?,
                body: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Records what the client did with an envelope.
    pub fn mark(tx: &Transaction<'_>, id: i64, outcome: &Outcome) -> Result<()> {
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

    /// The lawful-intercept capture of `account` for `[from, to]` (Unix seconds, inclusive).
    pub fn capture(&self, account: &str, from: i64, to: i64, exported_at: i64) -> Result<Capture> {
        let rows = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<Vec<CapturedEnvelope>> {
            let mut stmt = self.conn.prepare(sql)?;
            let it = stmt.query_map(p, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in it {
                let (id, t, body) = row?;
                let envelope: serde_json::Value = serde_json::from_str(&body)
                    .map_err(|_| row_err(format!("envelope {id} is not JSON")))?;
                out.push(CapturedEnvelope {
                    relay_id: id,
                    server_time: rfc3339(t)?,
                    envelope,
                });
            }
            Ok(out)
        };
        let envelopes = rows(
            "SELECT id, server_time, body FROM envelopes
             WHERE (sender = ?1 OR recipient = ?1) AND server_time BETWEEN ?2 AND ?3
             ORDER BY id",
            &[&account, &from, &to],
        )?;
        // The first message of every chain involved, when it lies outside the window.
        let mut chain_starts = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for e in &envelopes {
            let sender = e.envelope["from"].as_str().unwrap_or_default().to_owned();
            let chain = e.envelope["chain"].as_str().unwrap_or_default().to_owned();
            if e.envelope.get("start").is_some() || !seen.insert((sender.clone(), chain.clone())) {
                continue;
            }
            // The start the recipient accepted (or has not read yet), never a rejected one:
            // a non-compliant sender cannot slip a decoy start in front of the real one.
            let recipient = e.envelope["to"].as_str().unwrap_or_default().to_owned();
            let found = rows(
                "SELECT id, server_time, body FROM envelopes
                 WHERE sender = ?1 AND recipient = ?2 AND chain = ?3 AND has_start = 1
                   AND status != 'rejected' ORDER BY id LIMIT 1",
                &[&sender, &recipient, &chain],
            )?;
            for f in found {
                if !envelopes.iter().any(|x| x.relay_id == f.relay_id) {
                    chain_starts.push(f);
                }
            }
        }
        // The directory entries of every account involved: an auditor rebuilds each session's
        // associated data from them.
        let mut directory = std::collections::BTreeMap::new();
        for e in envelopes.iter().chain(&chain_starts) {
            for who in ["from", "to"] {
                let name = e.envelope[who].as_str().unwrap_or_default().to_owned();
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
            version: 1,
            kind: "escrow-lab/capture".to_owned(),
            account: account.to_owned(),
            from: rfc3339(from)?,
            to: rfc3339(to)?,
            exported_at: rfc3339(exported_at)?,
            envelopes,
            chain_starts,
            directory,
        })
    }
}

fn rfc3339(t: i64) -> Result<String> {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .ok_or_else(|| row_err(format!("timestamp {t} out of range")))
}

/// One stored envelope in a capture.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapturedEnvelope {
    /// Relay row id.
    pub relay_id: i64,
    /// The relay's timestamp, RFC 3339.
    pub server_time: String,
    /// The envelope as stored.
    pub envelope: serde_json::Value,
}

/// A lawful-intercept capture: what the provider can hand over. Contains no plaintext.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    /// Format version, 1.
    pub version: u64,
    /// `"escrow-lab/capture"`.
    pub kind: String,
    /// The account named by the request.
    pub account: String,
    /// Window start, RFC 3339.
    pub from: String,
    /// Window end, RFC 3339.
    pub to: String,
    /// When the relay exported it.
    pub exported_at: String,
    /// Every envelope sent or received by the account in the window.
    pub envelopes: Vec<CapturedEnvelope>,
    /// First messages (with escrow blocks) of chains whose start lies before the window.
    pub chain_starts: Vec<CapturedEnvelope>,
    /// The published identity of every account involved (public directory data).
    pub directory: std::collections::BTreeMap<String, DirectoryEntry>,
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
