//! Signed submissions to the log (`POST /add-entry`, docs/transparency.md §"The log as a
//! service").
//!
//! Only the log operator signs checkpoints. Every other party that records something — the
//! authorities (releases, retirements, generation entries) and the auditor (warrants logged
//! and executed) — *submits* the entry, signed with its own Ed25519 key, and receives back the
//! entry's index, inclusion proof and a signed checkpoint covering it.
//!
//! A request is the JSON document
//! `{"version":1,"submitter":NAME,"entry":BASE64(record bytes),"signature":BASE64(sig)}` where
//! `sig = Ed25519(key, "escrow-lab/add-entry/v1\n" ‖ origin ‖ "\n" ‖ NAME ‖ "\n" ‖ record bytes)`
//! (RFC 8032). The message's first line is unlike any signed-note or cosignature message
//! (C2SP signed-note signs the note text, tlog-cosignature/v1 signs `cosignature/v1\n…`), so an
//! authority signs its submissions with its witness key without either signature being usable
//! as the other. The auditor's key is listed in `log.json` under `submitters`
//! (`name+id+base64(0x01 ‖ key)`, the signed-note verifier key format).
//!
//! A replayed request changes nothing: the log appends a record at most once
//! ([`super::LogEntry::once_key`], and an identical record is never appended twice).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{LogConfig, LogEntry, LogRecord, malformed};
use crate::error::Result;

const CONTEXT: &[u8] = b"escrow-lab/add-entry/v1\n";

/// The largest `POST /add-entry` body accepted: an entry of [`super::entry::MAX_ENTRY_LEN`]
/// in base64 plus the envelope.
pub const MAX_REQUEST_LEN: usize = 32 * 1024;

/// A registered submitter's public key in `log.json` (the auditor's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitterKey {
    /// The submitter's name (`auditor`).
    pub name: String,
    /// Its Ed25519 verifier key, `name+id+base64(0x01 ‖ key)`.
    pub key: String,
}

/// A signed `add-entry` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddEntry {
    /// Format version, 1.
    pub version: u64,
    /// Who submits: an authority's name or a registered submitter's.
    pub submitter: String,
    /// The record's canonical bytes, base64.
    pub entry: String,
    /// The submitter's signature, base64.
    pub signature: String,
}

/// A party's request-signing key (an authority's witness key, the auditor's `submit.key`).
pub struct RequestSigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RequestSigner({}, ***)", self.name)
    }
}

fn message(origin: &str, submitter: &str, record: &[u8]) -> Vec<u8> {
    [
        CONTEXT,
        origin.as_bytes(),
        b"\n",
        submitter.as_bytes(),
        b"\n",
        record,
    ]
    .concat()
}

/// The 32-byte Ed25519 key in a `…+base64(alg ‖ key)` string with algorithm byte `alg`.
fn key_bytes(s: &str, alg: u8, what: &'static str) -> Result<Zeroizing<[u8; 32]>> {
    // `[PRIVATE+KEY+]name+id+base64`: the name and id have no '+', base64 may.
    let s = s.strip_prefix("PRIVATE+KEY+").unwrap_or(s);
    let b64 = s
        .splitn(3, '+')
        .nth(2)
        .ok_or_else(|| malformed(what, "fields"))?;
    let raw = Zeroizing::new(B64.decode(b64).map_err(|_| malformed(what, "base64"))?);
    if raw.len() != 33 || raw[0] != alg {
        return Err(malformed(what, "not an Ed25519 key of the expected kind").into());
    }
    let mut k = Zeroizing::new([0u8; 32]);
    k.copy_from_slice(&raw[1..]);
    Ok(k)
}

impl RequestSigner {
    /// From a `PRIVATE+KEY+name+id+base64(alg ‖ seed)` key: an authority's witness key
    /// (algorithm 0x04) or a submitter key (0x01), signing as `name`.
    pub fn from_key(name: &str, skey: &str) -> Result<Self> {
        let seed = match key_bytes(skey, super::ALG_COSIGNATURE_V1, "request signing key") {
            Ok(s) => s,
            Err(_) => key_bytes(skey, 0x01, "request signing key")?,
        };
        crate::identity::check_name("submitter", name)?;
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The submitter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Signs `record` for the log of `config`.
    pub fn sign(&self, config: &LogConfig, record: &LogRecord) -> Result<AddEntry> {
        let bytes = record.to_bytes()?;
        let sig = self.key.sign(&message(&config.origin, &self.name, &bytes));
        Ok(AddEntry {
            version: 1,
            submitter: self.name.clone(),
            entry: B64.encode(&bytes),
            signature: B64.encode(sig.to_bytes()),
        })
    }
}

/// A new submitter key for `name` in `realm`: its verifier key (public, for `log.json`) and
/// its `PRIVATE+KEY+…` signer key (secret).
pub fn generate_submitter_key<R: rand_core::RngCore + rand_core::CryptoRng>(
    realm: &str,
    name: &str,
    rng: &mut R,
) -> (SubmitterKey, Zeroizing<String>) {
    let (skey, vkey) =
        signed_note::generate_key(rng, &format!("escrow-lab.invalid/{realm}/{name}"));
    (
        SubmitterKey {
            name: name.to_owned(),
            key: vkey,
        },
        Zeroizing::new(skey),
    )
}

/// Why the log refuses a submission before looking at its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not JSON of the request's form, or an entry that is not a canonical record.
    Malformed,
    /// The submitter is not registered, or the signature does not verify.
    Unauthenticated,
    /// The submitter may not record this kind of entry (another authority's release, …).
    Forbidden,
}

/// Checks a request against `config`: parses it, verifies the submitter's signature, and
/// checks that the submitter may record the entry (an authority only its own releases,
/// retirements and revocations, and generation entries; the auditor only warrants logged and
/// executed). Returns the record, or the refusal with a one-line reason.
pub fn check_request(
    config: &LogConfig,
    body: &[u8],
) -> std::result::Result<LogRecord, (Refusal, String)> {
    let req: AddEntry = crate::encoding::from_json("add-entry request", body)
        .map_err(|e| (Refusal::Malformed, e.to_string()))?;
    if req.version != 1 {
        return Err((
            Refusal::Malformed,
            format!("version {} (expected 1)", req.version),
        ));
    }
    let bytes = B64
        .decode(&req.entry)
        .map_err(|_| (Refusal::Malformed, "entry is not base64".to_owned()))?;
    let record = LogRecord::from_bytes(&bytes).map_err(|e| (Refusal::Malformed, e.to_string()))?;
    let sig = B64
        .decode(&req.signature)
        .ok()
        .and_then(|s| ed25519_dalek::Signature::from_slice(&s).ok())
        .ok_or((
            Refusal::Unauthenticated,
            "signature is malformed".to_owned(),
        ))?;
    let key = submitter_key(config, &req.submitter).ok_or((
        Refusal::Unauthenticated,
        format!(
            "'{}' is not a registered submitter of this log",
            req.submitter
        ),
    ))?;
    key.verify(&message(&config.origin, &req.submitter, &bytes), &sig)
        .map_err(|_| {
            (
                Refusal::Unauthenticated,
                format!("the signature is not {}'s", req.submitter),
            )
        })?;
    if !may_submit(config, &req.submitter, &record.entry) {
        return Err((
            Refusal::Forbidden,
            format!(
                "{} may not record a {} entry{}",
                req.submitter,
                record.entry.kind(),
                match &record.entry {
                    LogEntry::KeyReleased { authority, .. }
                    | LogEntry::GenerationRetired { authority, .. }
                    | LogEntry::SharingRevoked { authority, .. } => format!(" of {authority}"),
                    _ => String::new(),
                }
            ),
        ));
    }
    Ok(record)
}

fn submitter_key(config: &LogConfig, name: &str) -> Option<VerifyingKey> {
    let raw = if let Some(w) = config.witnesses.iter().find(|w| w.authority == name) {
        key_bytes(&w.key, super::ALG_COSIGNATURE_V1, "witness key").ok()?
    } else {
        let s = config.submitters.iter().find(|s| s.name == name)?;
        key_bytes(&s.key, 0x01, "submitter key").ok()?
    };
    VerifyingKey::from_bytes(&raw).ok()
}

/// Whether `submitter` may record `entry`: an authority (a witness of the log) its own
/// releases, retirements and revocations; a registered submitter (the auditor) warrants logged
/// and executed; nobody a generation's creation or resharing (recorded by the log role when
/// the authorities set a generation up together).
pub fn may_submit(config: &LogConfig, submitter: &str, entry: &LogEntry) -> bool {
    let authority = config.witnesses.iter().any(|w| w.authority == submitter);
    match entry {
        LogEntry::WarrantLogged { .. } | LogEntry::WarrantExecuted { .. } => {
            !authority && config.submitters.iter().any(|s| s.name == submitter)
        }
        LogEntry::KeyReleased { authority: a, .. }
        | LogEntry::GenerationRetired { authority: a, .. }
        | LogEntry::SharingRevoked { authority: a, .. } => authority && a == submitter,
        // A generation is set up by all its authorities together (dealer, DKG, resharing),
        // with the log role present: no single submitter may announce one or its resharing
        // (one authority could otherwise announce a sharing that blocks every approval).
        LogEntry::GenerationCreated { .. } | LogEntry::GenerationReshared { .. } => false,
    }
}
