//! The transparency log of warrants and key releases (docs/transparency.md).
//!
//! * Tree: RFC 6962 / RFC 9162 Merkle tree over SHA-256 with `0x00` leaf and `0x01` node
//!   prefixes, computed and proven with `tlog_tiles` (Cloudflare azul, the Go `tlog` port).
//! * Checkpoints: C2SP tlog-checkpoint (`origin`, size, base64 root) as C2SP signed notes
//!   (`signed_note`), signed by the log's Ed25519 key.
//! * Witnesses: every authority keeps the last checkpoint it accepted, verifies a consistency
//!   proof before accepting a newer one, and cosigns it with its own Ed25519 key in the C2SP
//!   tlog-cosignature format ([`CosignatureSigner`]):
//!   `key ID = SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[..4]`,
//!   signed message `"cosignature/v1\ntime " ‖ decimal(t) ‖ "\n" ‖ checkpoint text`,
//!   signature `u64_be(t) ‖ Ed25519 signature`.
//! * Storage: SQLite ([`store`]), append-only triggers, one transaction per append.
//! * Proof bundles ([`proof::ProofBundle`]): entry, index, inclusion proof and signed checkpoint,
//!   checkable offline (in the spirit of C2SP tlog-proof).
//! * Monitor ([`monitor`]): recomputes the tree from the entries, checks every checkpoint, every
//!   stored cosignature line against the witness it is filed under, the database's tables and
//!   append-only triggers, and consistency with checkpoints that witnesses accepted; computes
//!   public statistics.

pub mod api;
pub mod entry;
pub mod monitor;
pub mod proof;
pub mod store;
pub mod submit;
pub mod tamper;
pub mod witness;

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use signed_note::{Note, StandardSigner, StandardVerifier, VerificationError, Verifier};
use tlog_tiles::{Checkpoint, Hash};
use zeroize::Zeroizing;

use crate::error::{LogError, Result};

pub use entry::{LogEntry, LogRecord};
pub use tamper::Tamper;

const ALG_COSIGNATURE_V1: u8 = 0x04;

fn malformed(what: &'static str, reason: impl fmt::Display) -> LogError {
    LogError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

/// The log origin of a realm (the checkpoint's first line and the log key's name).
pub fn origin_for(realm: &str) -> String {
    format!("escrow-lab.invalid/{realm}/log")
}

/// The witness key name of an authority.
pub fn witness_name(realm: &str, authority: &str) -> String {
    format!("escrow-lab.invalid/{realm}/witness/{authority}")
}

/// The log's public configuration (`log/log.json`): origin, the log's verifier key and the
/// witnesses' cosignature verifier keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Format version, 1.
    pub version: u64,
    /// Checkpoint origin.
    pub origin: String,
    /// The log's signed-note verifier key (`name+id+base64(0x01 ‖ key)`).
    pub log_key: String,
    /// Witnesses: authority name and cosignature verifier key (`name+id+base64(0x04 ‖ key)`).
    pub witnesses: Vec<WitnessKey>,
    /// Registered submitters other than the authorities (the auditor), whose signed
    /// `add-entry` requests the log accepts ([`submit`]); authorities sign theirs with their
    /// witness keys. Absent in a lab made before the log was a service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub submitters: Vec<submit::SubmitterKey>,
}

/// A witness's public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessKey {
    /// The authority.
    pub authority: String,
    /// Cosignature verifier key.
    pub key: String,
}

impl LogConfig {
    /// Parses `log.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let c: Self = crate::encoding::from_json("log config", bytes)?;
        c.log_verifier()?;
        for w in &c.witnesses {
            CosignatureVerifier::new(&w.key)?;
        }
        for sub in &c.submitters {
            crate::identity::check_name("submitter", &sub.name)?;
            StandardVerifier::new(&sub.key).map_err(|e| malformed("submitter key", e))?;
            if c.witnesses.iter().any(|w| w.authority == sub.name) {
                return Err(malformed("submitter", "a submitter named like an authority").into());
            }
        }
        Ok(c)
    }

    /// Serializes `log.json`.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        crate::encoding::to_json(self)
    }

    /// The log's checkpoint verifier.
    pub fn log_verifier(&self) -> Result<StandardVerifier> {
        let v = StandardVerifier::new(&self.log_key).map_err(|e| malformed("log key", e))?;
        if v.name() != self.origin {
            return Err(malformed("log key", "its name is not the origin").into());
        }
        Ok(v)
    }

    /// The cosignature verifier of one authority.
    pub fn witness(&self, authority: &str) -> Result<CosignatureVerifier> {
        let w = self
            .witnesses
            .iter()
            .find(|w| w.authority == authority)
            .ok_or_else(|| malformed("witness", format!("no witness key for '{authority}'")))?;
        CosignatureVerifier::new(&w.key)
    }
}

/// A freshly generated log: its public configuration, the log's signing key and one witness
/// signing key per authority (secret strings in signed-note key format, wiped on drop).
pub struct NewLog {
    /// Public configuration.
    pub config: LogConfig,
    /// The log's `PRIVATE+KEY+…` signer key.
    pub log_key: Zeroizing<String>,
    /// Per authority, its witness signer key.
    pub witness_keys: Vec<(String, Zeroizing<String>)>,
    /// The auditor's request-signing key (`auditor/submit.key`), registered in
    /// `config.submitters`.
    pub auditor_key: Zeroizing<String>,
}

impl fmt::Debug for NewLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NewLog({}, ***)", self.config.origin)
    }
}

/// Generates the keys of a new log for `realm` with the given witnesses.
pub fn generate_log<R: RngCore + CryptoRng>(
    realm: &str,
    authorities: &[String],
    rng: &mut R,
) -> NewLog {
    let mut log = log_with_witnesses(realm, Vec::new(), rng);
    for a in authorities {
        let (public, secret) = generate_witness_key(realm, a, rng);
        log.config.witnesses.push(public);
        log.witness_keys.push((a.clone(), secret));
    }
    log
}

/// A new log whose witnesses made their own keys (each authority's DKG join): the log's key
/// is made here, no witness's secret is.
pub fn log_with_witnesses<R: RngCore + CryptoRng>(
    realm: &str,
    witnesses: Vec<WitnessKey>,
    rng: &mut R,
) -> NewLog {
    let origin = origin_for(realm);
    let (skey, vkey) = signed_note::generate_key(rng, &origin);
    let (auditor, auditor_key) = submit::generate_submitter_key(realm, "auditor", rng);
    NewLog {
        config: LogConfig {
            version: 1,
            origin,
            log_key: vkey,
            witnesses,
            submitters: vec![auditor],
        },
        log_key: Zeroizing::new(skey),
        witness_keys: Vec::new(),
        auditor_key,
    }
}

/// A fresh witness key of `authority` in `realm`: its verifier key (public) and its
/// `PRIVATE+KEY+…` signer key (for the authority's own 0600 `witness.key`).
pub fn generate_witness_key<R: RngCore + CryptoRng>(
    realm: &str,
    authority: &str,
    rng: &mut R,
) -> (WitnessKey, Zeroizing<String>) {
    let name = witness_name(realm, authority);
    let sk = SigningKey::generate(rng);
    let public = WitnessKey {
        authority: authority.to_owned(),
        key: cosignature_vkey(&name, &sk.verifying_key()),
    };
    let secret = Zeroizing::new(format!(
        "PRIVATE+KEY+{name}+{:08x}+{}",
        cosignature_key_id(&name, &sk.verifying_key()),
        B64.encode([&[ALG_COSIGNATURE_V1][..], sk.as_bytes()].concat())
    ));
    (public, secret)
}

/// Loads the log's signer from its key string.
pub fn log_signer(skey: &str) -> Result<StandardSigner> {
    Ok(StandardSigner::new(skey).map_err(|e| malformed("log signing key", e))?)
}

fn cosignature_key_id(name: &str, key: &VerifyingKey) -> u32 {
    signed_note::key_id(name, &[&[ALG_COSIGNATURE_V1][..], key.as_bytes()].concat())
}

fn cosignature_vkey(name: &str, key: &VerifyingKey) -> String {
    format!(
        "{name}+{:08x}+{}",
        cosignature_key_id(name, key),
        B64.encode([&[ALG_COSIGNATURE_V1][..], key.as_bytes()].concat())
    )
}

fn cosigned_message(time: u64, checkpoint_text: &[u8]) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {time}\n").into_bytes();
    m.extend_from_slice(checkpoint_text);
    m
}

/// A witness's C2SP tlog-cosignature/v1 signer.
pub struct CosignatureSigner {
    name: String,
    id: u32,
    key: SigningKey,
    time: u64,
}

impl fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignatureSigner({}, ***)", self.name)
    }
}

impl CosignatureSigner {
    /// Parses a `PRIVATE+KEY+name+id+base64(0x04 ‖ seed)` key; `time` is the cosigning time.
    pub fn new(skey: &str, time: u64) -> Result<Self> {
        let bad = |r: &str| malformed("witness signing key", r);
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad("prefix"))?;
        // name (no '+') + 8 hex digits + base64 (which may contain '+').
        let (name, rest) = rest.split_once('+').ok_or_else(|| bad("fields"))?;
        let (id_hex, b64) = rest.split_once('+').ok_or_else(|| bad("fields"))?;
        let raw = Zeroizing::new(B64.decode(b64).map_err(|_| bad("base64"))?);
        if raw.len() != 33 || raw[0] != ALG_COSIGNATURE_V1 {
            return Err(bad("not a cosignature/v1 Ed25519 key").into());
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&raw[1..]);
        let key = SigningKey::from_bytes(&seed);
        let id = cosignature_key_id(name, &key.verifying_key());
        if format!("{id:08x}") != id_hex {
            return Err(bad("key id does not match").into());
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
            time,
        })
    }
}

impl CosignatureSigner {
    /// Whether this signer holds the key `config` lists for `authority` (same name and key
    /// ID): a witness never cosigns under another authority's key.
    pub fn matches(&self, config: &LogConfig, authority: &str) -> Result<bool> {
        let v = config.witness(authority)?;
        Ok(v.name == self.name && v.id == self.id)
    }
}

impl signed_note::Signer for CosignatureSigner {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let sig = self.key.sign(&cosigned_message(self.time, msg));
        Ok([&self.time.to_be_bytes()[..], &sig.to_bytes()[..]].concat())
    }
}

/// A witness's C2SP tlog-cosignature/v1 verifier.
#[derive(Clone, Debug)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses a `name+id+base64(0x04 ‖ key)` verifier key.
    pub fn new(vkey: &str) -> Result<Self> {
        let bad = |r: &str| malformed("witness key", r);
        let (name, rest) = vkey.split_once('+').ok_or_else(|| bad("fields"))?;
        let (id_hex, b64) = rest.split_once('+').ok_or_else(|| bad("fields"))?;
        let raw = B64.decode(b64).map_err(|_| bad("base64"))?;
        if raw.len() != 33 || raw[0] != ALG_COSIGNATURE_V1 || !signed_note::is_key_name_valid(name)
        {
            return Err(bad("not a cosignature/v1 Ed25519 key").into());
        }
        let mut k = [0u8; 32];
        k.copy_from_slice(&raw[1..]);
        let key = VerifyingKey::from_bytes(&k).map_err(|_| bad("invalid Ed25519 key"))?;
        let id = cosignature_key_id(name, &key);
        if format!("{id:08x}") != id_hex {
            return Err(bad("key id does not match").into());
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The time a cosignature claims.
    pub fn time_of(sig: &[u8]) -> Option<u64> {
        sig.get(..8)
            .and_then(|t| t.try_into().ok())
            .map(u64::from_be_bytes)
    }
}

impl Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let (Some(time), Ok(s)) = (
            CosignatureVerifier::time_of(sig),
            ed25519_dalek::Signature::from_slice(sig.get(8..).unwrap_or_default()),
        ) else {
            return false;
        };
        // C2SP tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1.
        sig.len() == 72
            && time <= i64::MAX as u64
            && self.key.verify(&cosigned_message(time, msg), &s).is_ok()
    }
}

impl CosignatureVerifier {
    /// Checks one stored cosignature line (`— name base64(id ‖ sig)`) against the checkpoint
    /// text it claims to sign: it must name this witness's key (name and key ID) and verify.
    pub fn check_line(&self, checkpoint_text: &[u8], line: &str) -> bool {
        let Ok(sig) = signed_note::Signature::from_bytes(line.trim_end_matches('\n').as_bytes())
        else {
            return false;
        };
        sig.name() == self.name
            && sig.id() == self.id
            && self.verify(checkpoint_text, sig.signature())
    }
}

/// One verifier as a `signed_note::Verifiers` list.
struct One<'a>(&'a dyn Verifier);

impl signed_note::Verifiers for One<'_> {
    fn verifier(
        &self,
        name: &str,
        id: u32,
    ) -> std::result::Result<&dyn Verifier, VerificationError> {
        if self.0.name() == name && self.0.key_id() == id {
            Ok(self.0)
        } else {
            Err(VerificationError::UnknownKey {
                name: name.to_owned(),
                id,
            })
        }
    }
}

/// A signed checkpoint: the note (with all its signatures) and its parsed body.
#[derive(Debug)]
pub struct SignedCheckpoint {
    /// The whole signed note.
    pub note: Note,
    /// The parsed checkpoint.
    pub checkpoint: Checkpoint,
}

impl SignedCheckpoint {
    /// Parses a signed note and verifies the log's signature on it.
    pub fn verify(bytes: &[u8], config: &LogConfig) -> Result<Self> {
        let note = Note::from_bytes(bytes).map_err(|e| malformed("checkpoint note", e))?;
        let verifier = config.log_verifier()?;
        note.verify(&One(&verifier))
            .map_err(|_| LogError::BadSignature {
                what: "checkpoint".into(),
                signer: config.origin.clone(),
            })?;
        let checkpoint =
            Checkpoint::from_bytes(note.text()).map_err(|e| malformed("checkpoint", e))?;
        if checkpoint.origin() != config.origin {
            return Err(malformed("checkpoint", "origin is not this log's").into());
        }
        Ok(Self { note, checkpoint })
    }

    /// Tree size.
    pub fn size(&self) -> u64 {
        self.checkpoint.size()
    }

    /// Root hash.
    pub fn root(&self) -> Hash {
        *self.checkpoint.hash()
    }

    /// `size/root` for messages.
    pub fn label(&self) -> String {
        format!("{}/{}", self.size(), hex::encode(&self.root().0[..8]))
    }

    /// Whether `authority`'s witness cosigned this checkpoint (validly). A line with the
    /// witness's key but a bad signature is an error; lines of unknown keys are ignored here —
    /// the monitor checks every stored line against its witness row instead.
    pub fn cosigned_by(&self, config: &LogConfig, authority: &str) -> Result<bool> {
        let v = config.witness(authority)?;
        Ok(match self.note.verify(&One(&v)) {
            Ok(_) => true,
            Err(signed_note::NoteError::UnverifiedNote) => false,
            Err(_) => {
                return Err(LogError::BadSignature {
                    what: format!("cosignature on checkpoint {}", self.label()),
                    signer: authority.to_owned(),
                }
                .into());
            }
        })
    }
}
