//! An authority's approval of a warrant, and the checks it makes first (docs/protocol.md §6–7).
//!
//! An approval carries the authority's share of the warrant signature (on
//! `hash_to_curve_G2(digest, DST_WARRANT)`) and its share of the identity key of every scope
//! identity of the warrant. Before making one, an honest authority checks, in this order, and
//! refuses with the rule's own reason:
//!
//! 1. the warrant parses, with a supported version and valid fields;
//! 2. it names the current generation (a retired generation cannot be approved: retirement
//!    comes with the DKG issue);
//! 3. it has not expired; 4. its timespan is not in the future; 5. its span and targets are
//!    within the generation's policy;
//! 6. the receipt is a valid proof that the log holds `warrant-logged` for exactly this digest,
//!    at a checkpoint consistent with the last one this authority accepted;
//! 7. the authority has not approved a different warrant under the same reference.
//!
//! The authority then records the release: `key-released` in the transparency log (once per
//! warrant and authority, even across crashes and re-runs), and the approval in its own
//! append-only journal. Approving the same warrant again returns the journaled approval and
//! releases nothing new.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::encoding::{FORMAT_VERSION, hex_array, printable as escrow_printable};
use crate::error::{Error, LogError, Result, WarrantError};
use crate::identity::ScopeIdentity;
use crate::params::PublicParams;
use crate::release::{KeyShare, Subject};
use crate::setup::AuthorityShare;
use crate::transparency::proof::ProofBundle;
use crate::transparency::witness::{WitnessState, check_consistent};
use crate::transparency::{LogConfig, LogEntry, SignedCheckpoint};
use crate::warrant::Warrant;

/// One authority's approval of one warrant.
#[derive(Clone, Debug)]
pub struct Approval {
    /// The warrant's reference.
    pub reference: String,
    /// The warrant's digest.
    pub digest: [u8; 32],
    /// The approving authority.
    pub authority: String,
    /// Its share of the warrant signature.
    pub warrant_share: KeyShare,
    /// Its share of each scope identity's key.
    pub identity_shares: Vec<KeyShare>,
    /// The proof that the log holds this release: the authority's `key-released` entry, its
    /// inclusion proof, and a checkpoint covering it that the authority cosigned as a witness
    /// (and remembers). `None` only between [`make_approval`] and the logging of the release:
    /// an approval document is never written without it.
    pub release: Option<ProofBundle>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalFile {
    version: u64,
    kind: String,
    reference: String,
    digest: String,
    authority: String,
    index: u32,
    warrant_share: String,
    identity_shares: Vec<IdentityShareJson>,
    release: ProofBundle,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityShareJson {
    identity: ScopeIdentity,
    share: String,
}

/// Most identity shares one approval may carry (targets × epochs within any policy).
pub const MAX_IDENTITY_SHARES: usize = 10_000;

impl Approval {
    /// Serializes the approval document. Fails if the release is not yet proven in the log
    /// ([`Approval::release`]): no approval leaves an authority before its release is recorded.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let release = self
            .release
            .clone()
            .ok_or(Error::Internal(crate::Bug::ApprovalUnproven))?;
        let f = ApprovalFile {
            version: FORMAT_VERSION,
            kind: "escrow-lab/approval".into(),
            reference: self.reference.clone(),
            digest: hex::encode(self.digest),
            authority: self.authority.clone(),
            index: self.warrant_share.index(),
            warrant_share: hex::encode(self.warrant_share.share_bytes()),
            identity_shares: self
                .identity_shares
                .iter()
                .map(|s| match s.subject() {
                    Subject::Identity { identity } => Ok(IdentityShareJson {
                        identity: identity.clone(),
                        share: hex::encode(s.share_bytes()),
                    }),
                    Subject::Warrant { .. } => Err(Error::Internal(crate::Bug::ShareSubject)),
                })
                .collect::<Result<_>>()?,
            release,
        };
        crate::encoding::to_json(&f)
    }

    /// Parses an approval document; every point is validated (the shares themselves are
    /// checked against the authority's public key share by whoever combines them).
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let f: ApprovalFile = crate::encoding::from_json("approval", bytes)?;
        if f.kind != "escrow-lab/approval" {
            return Err(Error::InconsistentParameters("not an approval document"));
        }
        if f.identity_shares.len() > MAX_IDENTITY_SHARES {
            return Err(Error::Length {
                what: "approval identity shares",
                found: f.identity_shares.len(),
            });
        }
        let digest = hex_array::<32>("digest", &f.digest)?;
        let warrant_share = KeyShare::from_parts(
            &f.authority,
            f.index,
            Subject::Warrant {
                digest: f.digest.clone(),
            },
            &hex_array::<96>("warrant_share", &f.warrant_share)?,
        )?;
        let identity_shares = f
            .identity_shares
            .iter()
            .map(|s| {
                KeyShare::from_parts(
                    &f.authority,
                    f.index,
                    Subject::Identity {
                        identity: s.identity.clone(),
                    },
                    &hex_array::<96>("share", &s.share)?,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        if f.release.kind != "escrow-lab/log-proof" {
            return Err(LogError::Malformed {
                what: "approval release proof",
                reason: format!("kind '{}'", escrow_printable(&f.release.kind)),
            }
            .into());
        }
        Ok(Self {
            reference: f.reference,
            digest,
            authority: f.authority,
            warrant_share,
            identity_shares,
            release: Some(f.release),
        })
    }
}

impl Approval {
    /// Checks the approval's release proof with the log's public configuration alone: the
    /// bundle verifies (log signature, inclusion proof), its entry is `key-released` for this
    /// approval's warrant by this approval's authority, and its checkpoint carries that
    /// authority's valid witness cosignature. Returns the checkpoint, which the caller must
    /// find in the log it trusts (a log that no longer contains it has dropped the release).
    pub fn check_release(&self, config: &LogConfig) -> Result<SignedCheckpoint> {
        let bundle = self.release.as_ref().ok_or(LogError::Malformed {
            what: "approval",
            reason: "it carries no proof of its release".into(),
        })?;
        let (record, cp) = bundle.verify(config)?;
        match &record.entry {
            LogEntry::KeyReleased {
                digest, authority, ..
            } if *digest == hex::encode(self.digest) && *authority == self.authority => {}
            _ => {
                return Err(LogError::Malformed {
                    what: "approval release proof",
                    reason: "its entry is not this authority's key-released entry for this \
                             warrant"
                        .into(),
                }
                .into());
            }
        }
        if !cp.cosigned_by(config, &self.authority)? {
            return Err(LogError::Malformed {
                what: "approval release proof",
                reason: format!(
                    "its checkpoint {} is not cosigned by {}'s witness",
                    cp.label(),
                    self.authority
                ),
            }
            .into());
        }
        Ok(cp)
    }
}

/// Everything an authority consults to decide.
pub struct ApprovalContext<'a> {
    /// The generation's parameters.
    pub params: &'a PublicParams,
    /// The log's public configuration.
    pub log: &'a LogConfig,
    /// The last checkpoint this authority accepted.
    pub witness: &'a WitnessState,
    /// The time of the decision.
    pub at: OffsetDateTime,
}

impl std::fmt::Debug for ApprovalContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApprovalContext(at {})", self.at)
    }
}

/// Rules 1–6 (module docs): returns the warrant's digest, its scope, and the receipt's
/// checkpoint (which the authority then accepts). `prove(old, new)` fetches a consistency
/// proof from the log.
pub fn check_warrant(
    ctx: &ApprovalContext<'_>,
    warrant: &Warrant,
    receipt: &ProofBundle,
    prove: &mut dyn FnMut(u64, u64) -> Result<Vec<tlog_tiles::Hash>>,
) -> Result<([u8; 32], Vec<ScopeIdentity>, SignedCheckpoint)> {
    warrant.validate()?;
    warrant.check_policy(ctx.params, ctx.at)?;
    let digest = warrant.digest()?;
    let (record, _) = receipt.verify(ctx.log)?;
    match &record.entry {
        LogEntry::WarrantLogged { digest: d, .. } if *d == hex::encode(digest) => {}
        _ => {
            return Err(WarrantError::Malformed {
                field: "receipt",
                reason: "does not prove that this warrant was logged",
            }
            .into());
        }
    }
    // The receipt's checkpoint and the last one this authority accepted must lie on one log:
    // whichever is older must be a prefix of the other (a receipt may well be older than what
    // the authority has seen since).
    let cp = SignedCheckpoint::verify(receipt.checkpoint.as_bytes(), ctx.log)?;
    if let Some(last) = ctx.witness.last_checkpoint(ctx.log)? {
        let (old, new, by) = if cp.size() <= last.size() {
            (&cp, &last, " (the receipt's)".to_owned())
        } else {
            (
                &last,
                &cp,
                format!(" (last accepted by {})", ctx.witness.authority),
            )
        };
        check_consistent(old, new, &by, prove)?;
    }
    let scope = warrant.scope(ctx.params)?;
    Ok((digest, scope, cp))
}

/// Makes the approval shares (after [`check_warrant`]).
pub fn make_approval(
    share: &AuthorityShare,
    params: &PublicParams,
    warrant: &Warrant,
    digest: &[u8; 32],
    scope: &[ScopeIdentity],
) -> Result<Approval> {
    Ok(Approval {
        reference: warrant.reference.clone(),
        digest: *digest,
        authority: share.authority().to_owned(),
        warrant_share: share.sign_warrant(digest)?,
        identity_shares: scope
            .iter()
            .map(|id| share.release_identity_key_share(params, id))
            .collect::<Result<_>>()?,
        release: None,
    })
}

/// An authority's append-only journal of approvals (`authorities/<name>/journal.sqlite`).
#[derive(Debug)]
pub struct Journal {
    conn: rusqlite::Connection,
}

const JOURNAL_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS approvals (
    digest TEXT PRIMARY KEY, reference TEXT NOT NULL, approval BLOB NOT NULL, time TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS approvals_reference ON approvals (reference);
CREATE TRIGGER IF NOT EXISTS approvals_no_update BEFORE UPDATE ON approvals
    BEGIN SELECT RAISE(ABORT, 'append-only journal'); END;
CREATE TRIGGER IF NOT EXISTS approvals_no_delete BEFORE DELETE ON approvals
    BEGIN SELECT RAISE(ABORT, 'append-only journal'); END;
";

impl Journal {
    /// Opens (creating if needed) a journal.
    /// The file holds approvals, hence key shares: it is created with mode 0600.
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let conn = rusqlite::Connection::open(path).map_err(LogError::from)?;
        restrict_to_owner(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(LogError::from)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(LogError::from)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(LogError::from)?;
        conn.execute_batch(JOURNAL_SCHEMA).map_err(LogError::from)?;
        restrict_to_owner(path)?;
        Ok(Self { conn })
    }

    /// The journaled approval of the warrant with this digest, if any.
    pub fn find(&self, digest: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row(
                "SELECT approval FROM approvals WHERE digest = ?1",
                [hex::encode(digest)],
                |r| r.get(0),
            )
            .optional()
            .map_err(LogError::from)?)
    }

    /// Rule 7: refuses if another warrant was approved under `reference`.
    pub fn check_reference(&self, reference: &str, digest: &[u8; 32]) -> Result<()> {
        let mut stmt = self
            .conn
            // Case-insensitive: `W-1` and `w-1` are one reference to a reader.
            .prepare("SELECT digest FROM approvals WHERE lower(reference) = lower(?1)")
            .map_err(LogError::from)?;
        let digests = stmt
            .query_map([reference], |r| r.get::<_, String>(0))
            .map_err(LogError::from)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(LogError::from)?;
        if digests.iter().any(|d| *d != hex::encode(digest)) {
            return Err(WarrantError::ReferenceReused(reference.to_owned()).into());
        }
        Ok(())
    }

    /// Records an approval.
    pub fn record(&mut self, approval: &Approval, bytes: &[u8], time: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO approvals VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    hex::encode(approval.digest),
                    approval.reference,
                    bytes,
                    time
                ],
            )
            .map_err(LogError::from)?;
        Ok(())
    }
}

/// Sets mode 0600 on a file of secrets (and its SQLite side files, if present).
fn restrict_to_owner(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
                Error::Lab(crate::error::LabError::Io {
                    path: p.clone(),
                    error: e,
                })
            })?;
        }
    }
    Ok(())
}
