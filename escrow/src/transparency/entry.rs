//! Log entries: what the transparency log records, as canonical versioned JSON.
//!
//! An entry's bytes are `serde_json` of [`LogRecord`] with the field order fixed by the
//! structs; [`LogRecord::from_bytes`] re-encodes and refuses anything that is not already in
//! that form, so every entry has exactly one encoding and the Merkle leaf
//! `SHA-256(0x00 ‖ bytes)` (RFC 6962 §2.1) identifies it. No entry carries a warrant's text:
//! only its digest, reference and counts.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest entry accepted.
pub const MAX_ENTRY_LEN: usize = 16 * 1024;

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LogEntry {
    /// A warrant was submitted for approval.
    WarrantLogged {
        /// SHA-256 of the canonical warrant, hex.
        digest: String,
        /// Its reference.
        reference: String,
        /// Number of target accounts.
        target_count: u32,
        /// Number of epochs in its timespan.
        epoch_count: u32,
        /// The issuing authority named in it.
        issuing_authority: String,
        /// RFC 3339.
        time: String,
    },
    /// An authority released its key shares for a warrant.
    KeyReleased {
        /// Warrant digest, hex.
        digest: String,
        /// The releasing authority.
        authority: String,
        /// Scope identities released.
        identity_count: u32,
        /// RFC 3339.
        time: String,
    },
    /// A warrant was executed by an auditor.
    WarrantExecuted {
        /// Warrant digest, hex.
        digest: String,
        /// Messages decrypted.
        messages_decrypted: u64,
        /// RFC 3339.
        time: String,
    },
    /// An escrow generation was created.
    GenerationCreated {
        /// Realm.
        realm: String,
        /// Generation number.
        generation: u32,
        /// Master public key, G1 hex.
        master_public_key: String,
        /// Threshold k.
        threshold: u32,
        /// Authority names, in index order.
        authorities: Vec<String>,
        /// RFC 3339.
        time: String,
        /// First instant the generation covers (RFC 3339), if bounded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_from: Option<String>,
        /// End of its validity (RFC 3339, exclusive), if bounded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_until: Option<String>,
    },
    /// An authority destroyed its share of a generation.
    GenerationRetired {
        /// Realm.
        realm: String,
        /// Generation number.
        generation: u32,
        /// The authority.
        authority: String,
        /// RFC 3339.
        time: String,
    },
    /// During a resharing, an old authority destroyed its share of the sharing being replaced.
    SharingRevoked {
        /// Realm.
        realm: String,
        /// Generation number.
        generation: u32,
        /// The authority.
        authority: String,
        /// The resharing's session id, hex.
        session: String,
        /// RFC 3339.
        time: String,
    },
    /// A generation's sharing was replaced, same master key: its authorities and threshold
    /// from now on, and the old authorities that revoked their shares.
    GenerationReshared {
        /// Realm.
        realm: String,
        /// Generation number.
        generation: u32,
        /// Master public key, G1 hex (unchanged).
        master_public_key: String,
        /// The new threshold.
        threshold: u32,
        /// The new authorities, in index order.
        authorities: Vec<String>,
        /// SHA-256 of the new commitment's points (compressed G1, in order), hex: the sharing
        /// `params.json` must hold from now on.
        commitment: String,
        /// The old authorities whose `sharing-revoked` entries completed it.
        revoked: Vec<String>,
        /// The resharing's session id, hex.
        session: String,
        /// RFC 3339.
        time: String,
    },
}

impl LogEntry {
    /// The entry's type name.
    pub fn kind(&self) -> &'static str {
        match self {
            LogEntry::WarrantLogged { .. } => "warrant-logged",
            LogEntry::KeyReleased { .. } => "key-released",
            LogEntry::WarrantExecuted { .. } => "warrant-executed",
            LogEntry::GenerationCreated { .. } => "generation-created",
            LogEntry::GenerationRetired { .. } => "generation-retired",
            LogEntry::SharingRevoked { .. } => "sharing-revoked",
            LogEntry::GenerationReshared { .. } => "generation-reshared",
        }
    }

    /// The lookup keys the log indexes this entry under (`transparency::store`): a warrant by
    /// digest (`warrant/<digest>`), its releases (`release/<digest>/<authority>`), its
    /// execution (`execution/<digest>`), and every entry about a generation
    /// (`generation/<realm>/<generation>`, with `retired/<realm>/<generation>/<authority>`).
    pub fn index_keys(&self) -> Vec<String> {
        match self {
            LogEntry::WarrantLogged { digest, .. } => vec![format!("warrant/{digest}")],
            LogEntry::KeyReleased {
                digest, authority, ..
            } => vec![format!("release/{digest}/{authority}")],
            LogEntry::WarrantExecuted { digest, .. } => vec![format!("execution/{digest}")],
            LogEntry::GenerationRetired {
                realm,
                generation,
                authority,
                ..
            } => vec![
                format!("generation/{realm}/{generation}"),
                format!("retired/{realm}/{generation}/{authority}"),
            ],
            LogEntry::GenerationCreated {
                realm, generation, ..
            }
            | LogEntry::SharingRevoked {
                realm, generation, ..
            }
            | LogEntry::GenerationReshared {
                realm, generation, ..
            } => vec![format!("generation/{realm}/{generation}")],
        }
    }

    /// The key under which the log holds at most one entry of this kind
    /// ([`super::store::LogStore::submit_batch`]): a warrant is logged once, an authority releases
    /// for a warrant once, a warrant is executed once, an authority retires a generation once.
    /// Other entries have none (a submitted record that is already in the log, byte for byte,
    /// is still not appended twice).
    pub fn once_key(&self) -> Option<String> {
        match self {
            LogEntry::WarrantLogged { .. }
            | LogEntry::KeyReleased { .. }
            | LogEntry::WarrantExecuted { .. } => self.index_keys().into_iter().next(),
            LogEntry::GenerationRetired { .. } => self.index_keys().into_iter().nth(1),
            _ => None,
        }
    }

    /// The entry's time (RFC 3339).
    pub fn time(&self) -> &str {
        match self {
            LogEntry::WarrantLogged { time, .. }
            | LogEntry::KeyReleased { time, .. }
            | LogEntry::WarrantExecuted { time, .. }
            | LogEntry::GenerationCreated { time, .. }
            | LogEntry::GenerationRetired { time, .. }
            | LogEntry::SharingRevoked { time, .. }
            | LogEntry::GenerationReshared { time, .. } => time,
        }
    }
}

/// The versioned record stored as one log leaf.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRecord {
    /// Format version, 1.
    pub version: u64,
    /// The entry.
    pub entry: LogEntry,
}

impl LogRecord {
    /// A version-1 record.
    pub fn new(entry: LogEntry) -> Self {
        Self { version: 1, entry }
    }

    /// The canonical bytes (the Merkle leaf's data).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|_| Error::Internal(crate::Bug::JsonEncoding))
    }

    /// Checks field formats: digests are 64 lowercase hex digits, times RFC 3339, names valid
    /// (so an entry that would later fail to parse can never be appended).
    pub fn validate(&self) -> Result<()> {
        let digest_ok = |d: &str| {
            d.len() == 64
                && d.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let bad = |r: &'static str| Error::InconsistentParameters(r);
        if time::OffsetDateTime::parse(
            self.entry.time(),
            &time::format_description::well_known::Rfc3339,
        )
        .is_err()
        {
            return Err(bad("log entry time is not RFC 3339"));
        }
        match &self.entry {
            LogEntry::WarrantLogged {
                digest,
                reference,
                issuing_authority,
                ..
            } => {
                if !digest_ok(digest) {
                    return Err(bad("log entry digest is not 64 hex digits"));
                }
                // As in the warrant (`Warrant::validate`): visible ASCII, single spaces.
                for t in [reference, issuing_authority] {
                    if !crate::warrant::is_visible_ascii_text(t, crate::warrant::MAX_FIELD) {
                        return Err(bad(
                            "log entry text must be 1 to 256 characters of visible ASCII",
                        ));
                    }
                }
            }
            LogEntry::KeyReleased {
                digest, authority, ..
            } => {
                if !digest_ok(digest) {
                    return Err(bad("log entry digest is not 64 hex digits"));
                }
                crate::identity::check_name("authority", authority)?;
            }
            LogEntry::WarrantExecuted { digest, .. } => {
                if !digest_ok(digest) {
                    return Err(bad("log entry digest is not 64 hex digits"));
                }
            }
            LogEntry::GenerationCreated {
                realm, authorities, ..
            } => {
                crate::identity::check_name("realm", realm)?;
                for a in authorities {
                    crate::identity::check_name("authority", a)?;
                }
            }
            LogEntry::GenerationRetired {
                realm, authority, ..
            } => {
                crate::identity::check_name("realm", realm)?;
                crate::identity::check_name("authority", authority)?;
            }
            LogEntry::SharingRevoked {
                realm,
                authority,
                session,
                ..
            } => {
                crate::identity::check_name("realm", realm)?;
                crate::identity::check_name("authority", authority)?;
                if !digest_ok(session) {
                    return Err(bad("log entry session is not 64 hex digits"));
                }
            }
            LogEntry::GenerationReshared {
                realm,
                authorities,
                revoked,
                session,
                commitment,
                ..
            } => {
                crate::identity::check_name("realm", realm)?;
                for a in authorities.iter().chain(revoked) {
                    crate::identity::check_name("authority", a)?;
                }
                if !digest_ok(session) || !digest_ok(commitment) {
                    return Err(bad("log entry session or commitment is not 64 hex digits"));
                }
            }
        }
        Ok(())
    }

    /// Parses canonical bytes; anything else is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(Error::Length {
                what: "log entry",
                found: bytes.len(),
            });
        }
        let rec: LogRecord = crate::encoding::from_json("log entry", bytes)?;
        if rec.to_bytes()? != bytes {
            return Err(Error::InconsistentParameters(
                "log entry is not in canonical form",
            ));
        }
        Ok(rec)
    }
}
