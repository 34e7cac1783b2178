//! Envelopes: what a sender hands the relay, as versioned JSON with size-bounded parsing.
//!
//! Keys are lowercase hex of compressed SEC1 points (33 bytes); ciphertexts and escrow wraps
//! are standard base64; signatures lowercase hex. Every message carries `chain` (the public
//! key naming its chain) and `n` (its number in the chain). The first message of a chain also
//! carries `start`: how the chain was derived (`x3dh`, `ratchet` or `epoch`), the sender's
//! previous chain and its length, the escrow block, and the sender's signature. Later messages
//! of a chain carry no escrow bytes at all.
//!
//! ```text
//! core   = "escrow-lab/v2/envelope" ‖ lp(from) ‖ lp(to) ‖ chain (33) ‖ u32_be(n) ‖ 0x00
//!        | "escrow-lab/v2/envelope" ‖ lp(from) ‖ lp(to) ‖ chain (33) ‖ u32_be(n) ‖ 0x01 ‖ start
//! start  = kind (0x01 x3dh ‖ identity_sign ‖ identity_dh ‖ identity_dh_sig (64)
//!               ‖ ephemeral ‖ u32_be(spk id) ‖ (0x00 | 0x01 ‖ u32_be(opk id))
//!            | 0x02 ratchet | 0x03 epoch)
//!         ‖ (0x00 | 0x01 ‖ prev chain (33) ‖ u32_be(prev count))
//!         ‖ (0x00 | 0x01 ‖ escrow block bytes)
//! signed = "escrow-lab/v2/chain-start" ‖ u16_be(len AD) ‖ AD ‖ core          (starts only)
//! signature = ECDSA-P256-SHA256(IK_sign of from, signed), low-S, 64 bytes r ‖ s
//! header = core                   (inside a chain)
//!        | core ‖ signature       (a chain's first message)
//! AEAD associated data = AD ‖ header
//! ciphertext = key commitment (32) ‖ AES-256-GCM(text) ‖ tag (16)       (see `kdf`)
//! ```
//!
//! `AD` is the session's associated data (both identities, [`crate::x3dh::session_ad`]). The
//! signature binds the chain — its ratchet key, its derivation, the previous chain, the escrow
//! block (hence, through the deterministic wraps, the chain key) — to the sender's identity
//! key, for the recipient and for anyone holding the directory, such as an auditor. The whole
//! start, signature included, is also authenticated by the first message's AEAD. Signatures
//! are normalised to low S and verified only in that form, so nobody but the signer can make a
//! second valid signature of the same start (ECDSA signatures are otherwise malleable).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use p256::PublicKey;
use serde::{Deserialize, Serialize};

use crate::account::check_account;
use crate::error::{Error, Result};
use crate::escrow_block::EscrowBlock;
use crate::keys::{public_bytes, public_from_hex, public_hex};
use crate::ratchet::COMMITMENT_LEN;

/// Largest envelope JSON accepted.
pub const MAX_ENVELOPE_LEN: usize = 64 * 1024;

/// Largest message text, in bytes.
pub const MAX_TEXT_LEN: usize = 16 * 1024;

/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;

/// Envelope format version this build writes and reads.
pub const ENVELOPE_VERSION: u64 = 2;

/// The X3DH data of a session's first chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X3dhInit {
    /// Initiator's identity signing key.
    pub identity_sign: PublicKey,
    /// Initiator's identity agreement key.
    pub identity_dh: PublicKey,
    /// Signature of the agreement key by the signing key.
    pub identity_dh_sig: [u8; 64],
    /// Initiator's ephemeral key.
    pub ephemeral: PublicKey,
    /// Which signed prekey of the recipient was used.
    pub signed_prekey_id: u32,
    /// Which one-time prekey, if any.
    pub one_time_prekey_id: Option<u32>,
}

/// How a chain was derived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainKind {
    /// First chain of a session, after X3DH.
    X3dh(Box<X3dhInit>),
    /// A double-ratchet DH step (the sender saw a new ratchet key of the recipient).
    Ratchet,
    /// An epoch step: a fresh DH key against the recipient's current ratchet key, chained from
    /// the sender's previous chain, because that chain's epoch ended.
    Epoch,
}

/// The data the first message of a chain carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainStart {
    /// How the chain was derived.
    pub kind: ChainKind,
    /// The sender's previous sending chain and how many messages it had.
    pub prev: Option<(PublicKey, u32)>,
    /// The chain's escrow block (an honest client always sends one).
    pub escrow: Option<EscrowBlock>,
    /// The sender's identity signature over the start (module docs).
    pub signature: [u8; 64],
}

/// One message as the relay stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Sender account.
    pub from: String,
    /// Recipient account.
    pub to: String,
    /// Public key naming the chain.
    pub chain: PublicKey,
    /// Message number in the chain.
    pub n: u32,
    /// Present on the first message of a chain.
    pub start: Option<ChainStart>,
    /// AES-256-GCM ciphertext with tag.
    pub ciphertext: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeJson {
    version: u64,
    from: String,
    to: String,
    chain: String,
    n: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start: Option<StartJson>,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartJson {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x3dh: Option<X3dhJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prev: Option<PrevJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    escrow: Option<BlockJson>,
    signature: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct X3dhJson {
    identity_sign: String,
    identity_dh: String,
    identity_dh_sig: String,
    ephemeral: String,
    signed_prekey_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    one_time_prekey_id: Option<u32>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrevJson {
    chain: String,
    count: u32,
}

/// JSON form of an escrow block (also used by captures).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BlockJson {
    generation: u32,
    epoch: u64,
    sender_wrap: String,
    recipient_wrap: String,
}

fn bad(what: &'static str, reason: impl Into<String>) -> Error {
    Error::Format {
        what,
        reason: reason.into(),
    }
}

impl BlockJson {
    pub(crate) fn from_block(b: &EscrowBlock) -> Self {
        Self {
            generation: b.generation,
            epoch: b.epoch,
            sender_wrap: B64.encode(b.sender_wrap.to_bytes()),
            recipient_wrap: B64.encode(b.recipient_wrap.to_bytes()),
        }
    }

    pub(crate) fn to_block(&self) -> Result<EscrowBlock> {
        let wrap = |s: &str| -> Result<escrow::Wrap> {
            let bytes = B64
                .decode(s)
                .map_err(|_| bad("escrow block", "wrap is not base64"))?;
            Ok(escrow::Wrap::from_bytes(&bytes)?)
        };
        Ok(EscrowBlock {
            generation: self.generation,
            epoch: self.epoch,
            sender_wrap: wrap(&self.sender_wrap)?,
            recipient_wrap: wrap(&self.recipient_wrap)?,
        })
    }
}

impl X3dhJson {
    pub(crate) fn from_init(x: &X3dhInit) -> Self {
        Self {
            identity_sign: public_hex(&x.identity_sign),
            identity_dh: public_hex(&x.identity_dh),
            identity_dh_sig: hex::encode(x.identity_dh_sig),
            ephemeral: public_hex(&x.ephemeral),
            signed_prekey_id: x.signed_prekey_id,
            one_time_prekey_id: x.one_time_prekey_id,
        }
    }

    pub(crate) fn to_init(&self) -> Result<X3dhInit> {
        Ok(X3dhInit {
            identity_sign: public_from_hex("identity_sign", &self.identity_sign)?,
            identity_dh: public_from_hex("identity_dh", &self.identity_dh)?,
            identity_dh_sig: sig_from_hex(&self.identity_dh_sig)?,
            ephemeral: public_from_hex("ephemeral", &self.ephemeral)?,
            signed_prekey_id: self.signed_prekey_id,
            one_time_prekey_id: self.one_time_prekey_id,
        })
    }
}

pub(crate) fn sig_from_hex(s: &str) -> Result<[u8; 64]> {
    sig_field_from_hex("identity_dh_sig", s)
}

/// A 64-byte signature field of lowercase hex.
pub(crate) fn sig_field_from_hex(field: &'static str, s: &str) -> Result<[u8; 64]> {
    let mut out = [0u8; 64];
    if s.len() != 128 || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(bad(
            "envelope",
            format!("{field} must be 64 bytes of lowercase hex"),
        ));
    }
    hex::decode_to_slice(s, &mut out)
        .map_err(|_| bad("envelope", format!("{field} is not hex")))?;
    Ok(out)
}

impl Envelope {
    /// Serializes to one line of JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let start = self.start.as_ref().map(|s| {
            let (kind, x3dh) = match &s.kind {
                ChainKind::X3dh(x) => ("x3dh", Some(X3dhJson::from_init(x))),
                ChainKind::Ratchet => ("ratchet", None),
                ChainKind::Epoch => ("epoch", None),
            };
            StartJson {
                kind: kind.to_owned(),
                x3dh,
                prev: s.prev.map(|(c, count)| PrevJson {
                    chain: public_hex(&c),
                    count,
                }),
                escrow: s.escrow.as_ref().map(BlockJson::from_block),
                signature: hex::encode(s.signature),
            }
        });
        let j = EnvelopeJson {
            version: ENVELOPE_VERSION,
            from: self.from.clone(),
            to: self.to.clone(),
            chain: public_hex(&self.chain),
            n: self.n,
            start,
            ciphertext: B64.encode(&self.ciphertext),
        };
        // Serializing plain strings and integers cannot fail.
        #[allow(clippy::expect_used)]
        serde_json::to_vec(&j).expect("envelope JSON")
    }

    /// Parses and validates an envelope (size, version, names, keys, wraps).
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(Error::TooLarge {
                what: "envelope",
                len: bytes.len(),
                max: MAX_ENVELOPE_LEN,
            });
        }
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| bad("envelope", e.to_string()))?;
        match v.get("version").and_then(|v| v.as_u64()) {
            Some(ENVELOPE_VERSION) => {}
            Some(found) => {
                return Err(Error::Version {
                    what: "envelope",
                    found,
                    expected: ENVELOPE_VERSION,
                });
            }
            None => return Err(bad("envelope", "missing version")),
        }
        let j: EnvelopeJson =
            serde_json::from_value(v).map_err(|e| bad("envelope", e.to_string()))?;
        check_account(&j.from)?;
        check_account(&j.to)?;
        let ciphertext = B64
            .decode(&j.ciphertext)
            .map_err(|_| bad("envelope", "ciphertext is not base64"))?;
        if ciphertext.len() < COMMITMENT_LEN + TAG_LEN
            || ciphertext.len() > COMMITMENT_LEN + MAX_TEXT_LEN + TAG_LEN
        {
            return Err(bad("envelope", "ciphertext length out of range"));
        }
        let start = match j.start {
            None => None,
            Some(s) => {
                let kind = match (s.kind.as_str(), s.x3dh) {
                    ("x3dh", Some(x)) => ChainKind::X3dh(Box::new(x.to_init()?)),
                    ("ratchet", None) => ChainKind::Ratchet,
                    ("epoch", None) => ChainKind::Epoch,
                    _ => return Err(bad("envelope", "unknown chain start kind")),
                };
                let prev = match s.prev {
                    None => None,
                    Some(p) => Some((public_from_hex("prev.chain", &p.chain)?, p.count)),
                };
                let escrow = s.escrow.map(|b| b.to_block()).transpose()?;
                let signature = sig_field_from_hex("start.signature", &s.signature)?;
                Some(ChainStart {
                    kind,
                    prev,
                    escrow,
                    signature,
                })
            }
        };
        Ok(Self {
            from: j.from,
            to: j.to,
            chain: public_from_hex("chain", &j.chain)?,
            n: j.n,
            start,
            ciphertext,
        })
    }

    /// Parses a JSON value already read (captures embed envelopes as objects).
    pub fn from_value(v: &serde_json::Value) -> Result<Self> {
        let bytes = serde_json::to_vec(v).map_err(|e| bad("envelope", e.to_string()))?;
        Self::from_json(&bytes)
    }

    /// The header bytes authenticated as associated data (module docs).
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.write_header(&mut out);
        out
    }

    /// Appends the header bytes (`core`, then the start's signature) to `out` (the message
    /// path builds `AD ‖ header` in one buffer, with no intermediate allocation).
    pub fn write_header(&self, out: &mut Vec<u8>) {
        self.write_core(out);
        if let Some(s) = &self.start {
            out.extend_from_slice(&s.signature);
        }
    }

    /// The bytes the sender signs for a chain start under the session's associated data `ad`
    /// (`signed` in the module docs); `None` inside a chain.
    pub fn start_signed_bytes(&self, ad: &[u8]) -> Option<Vec<u8>> {
        self.start.as_ref()?;
        let mut out = Vec::with_capacity(ad.len() + 640);
        out.extend_from_slice(b"escrow-lab/v2/chain-start");
        // A session AD is two identities (132 bytes), far below u16.
        out.extend_from_slice(&(ad.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
        out.extend_from_slice(ad);
        self.write_core(&mut out);
        Some(out)
    }

    /// Whether this is a chain start signed by `sign_key` under the session AD `ad` (the
    /// signature in low-S form). False inside a chain.
    pub fn start_signed_by(&self, sign_key: &PublicKey, ad: &[u8]) -> bool {
        match (&self.start, self.start_signed_bytes(ad)) {
            (Some(s), Some(msg)) => {
                crate::keys::verify_signature_low_s(sign_key, &msg, &s.signature)
            }
            _ => false,
        }
    }

    fn write_core(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"escrow-lab/v2/envelope");
        for name in [&self.from, &self.to] {
            out.extend_from_slice(&(name.len() as u16).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
        }
        out.extend_from_slice(&public_bytes(&self.chain));
        out.extend_from_slice(&self.n.to_be_bytes());
        match &self.start {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                match &s.kind {
                    ChainKind::X3dh(x) => {
                        out.push(1);
                        out.extend_from_slice(&public_bytes(&x.identity_sign));
                        out.extend_from_slice(&public_bytes(&x.identity_dh));
                        out.extend_from_slice(&x.identity_dh_sig);
                        out.extend_from_slice(&public_bytes(&x.ephemeral));
                        out.extend_from_slice(&x.signed_prekey_id.to_be_bytes());
                        match x.one_time_prekey_id {
                            None => out.push(0),
                            Some(id) => {
                                out.push(1);
                                out.extend_from_slice(&id.to_be_bytes());
                            }
                        }
                    }
                    ChainKind::Ratchet => out.push(2),
                    ChainKind::Epoch => out.push(3),
                }
                match &s.prev {
                    None => out.push(0),
                    Some((c, count)) => {
                        out.push(1);
                        out.extend_from_slice(&public_bytes(c));
                        out.extend_from_slice(&count.to_be_bytes());
                    }
                }
                match &s.escrow {
                    None => out.push(0),
                    Some(b) => {
                        out.push(1);
                        out.extend_from_slice(&b.to_bytes());
                    }
                }
            }
        }
    }

    /// Bytes of this envelope that exist only because of escrow (the block, in binary).
    pub fn escrow_bytes(&self) -> usize {
        self.start
            .as_ref()
            .and_then(|s| s.escrow.as_ref())
            .map_or(0, |b| b.to_bytes().len())
    }
}
