//! P-256 keys: ECDH key pairs, ECDSA identity signatures, and their encodings.
//!
//! Public keys travel as SEC1 compressed points (33 bytes, lowercase hex); parsing rejects
//! points off the curve and the identity (p256 `PublicKey::from_sec1_bytes`). Secret scalars
//! are 32 bytes big-endian, zeroized on drop (p256 `SecretKey`), never printed.
//! ECDH output is the x-coordinate of the shared point (SEC 1 §3.3.1), as p256's
//! `diffie_hellman`; signatures are ECDSA P-256 with SHA-256 and RFC 6979 nonces, encoded as the
//! fixed 64-byte `r ‖ s`.

use std::fmt;

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A 32-byte secret (chain, root or message key), wiped on drop.
pub type Key32 = Zeroizing<[u8; 32]>;

/// Encodes a public key as 33-byte compressed SEC1.
pub fn public_bytes(pk: &PublicKey) -> [u8; 33] {
    let ep = pk.to_encoded_point(true);
    let mut out = [0u8; 33];
    out.copy_from_slice(ep.as_bytes());
    out
}

/// Lowercase hex of the compressed encoding.
pub fn public_hex(pk: &PublicKey) -> String {
    hex::encode(public_bytes(pk))
}

/// Parses a compressed (or uncompressed) SEC1 public key; rejects invalid points.
pub fn public_from_bytes(field: &'static str, bytes: &[u8]) -> Result<PublicKey> {
    PublicKey::from_sec1_bytes(bytes).map_err(|_| Error::InvalidKey(field))
}

/// Parses lowercase hex of a compressed public key.
pub fn public_from_hex(field: &'static str, s: &str) -> Result<PublicKey> {
    if s.len() != 66 || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Error::InvalidKey(field));
    }
    let bytes = hex::decode(s).map_err(|_| Error::InvalidKey(field))?;
    public_from_bytes(field, &bytes)
}

/// An ECDH key pair (identity agreement key, signed prekey, one-time prekey, ratchet key).
#[derive(Clone)]
pub struct DhKeyPair {
    secret: SecretKey,
    public: PublicKey,
}

impl fmt::Debug for DhKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DhKeyPair({}, ***)", public_hex(&self.public))
    }
}

impl DhKeyPair {
    /// A fresh key pair.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let secret = SecretKey::random(rng);
        let public = secret.public_key();
        Self { secret, public }
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// ECDH with a peer's public key: the shared x-coordinate.
    pub fn dh(&self, peer: &PublicKey) -> Key32 {
        dh_raw(&self.secret, peer)
    }

    /// The secret scalar's 32 bytes (for the client state file only).
    pub(crate) fn secret_bytes(&self) -> Key32 {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&self.secret.to_bytes());
        out
    }

    /// Rebuilds a key pair from its secret scalar (rejects zero and values ≥ n).
    pub(crate) fn from_secret_bytes(field: &'static str, bytes: &[u8]) -> Result<Self> {
        let secret = SecretKey::from_slice(bytes).map_err(|_| Error::InvalidKey(field))?;
        let public = secret.public_key();
        Ok(Self { secret, public })
    }

    /// The ECDSA signing key over the same scalar (identity keys only).
    fn signing_key(&self) -> SigningKey {
        SigningKey::from(&self.secret)
    }
}

/// ECDH of a secret scalar and a public key (the primitive as used; Wycheproof-tested).
pub fn dh_raw(secret: &SecretKey, peer: &PublicKey) -> Key32 {
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(shared.raw_secret_bytes());
    out
}

/// An account's long-term identity: an ECDSA key for signing and an ECDH key for agreement.
/// (Signal uses one X25519 key with XEdDSA; on P-256 escrow-lab keeps two keys and signs the
/// agreement key with the signing key.)
#[derive(Clone)]
pub struct Identity {
    pub(crate) sign: DhKeyPair,
    pub(crate) dh: DhKeyPair,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({}, ***)", public_hex(self.sign.public()))
    }
}

impl Identity {
    /// A fresh identity.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self {
            sign: DhKeyPair::generate(rng),
            dh: DhKeyPair::generate(rng),
        }
    }

    /// Signs `msg` with the identity signing key (64-byte `r ‖ s`, normalised to low S).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let sig: Signature = self.sign.signing_key().sign(msg);
        let sig = sig.normalize_s().unwrap_or(sig);
        let mut out = [0u8; 64];
        out.copy_from_slice(&sig.to_bytes());
        out
    }
}

/// Verifies a 64-byte `r ‖ s` ECDSA P-256/SHA-256 signature (the primitive as used).
pub fn verify_signature(pk: &PublicKey, msg: &[u8], sig: &[u8]) -> bool {
    let Ok(sig) = Signature::from_slice(sig) else {
        return false;
    };
    VerifyingKey::from(pk).verify(msg, &sig).is_ok()
}

/// Like [`verify_signature`], and refuses a signature whose `s` is in the upper half of the
/// group order: `(r, n − s)` verifies whenever `(r, s)` does, so without this rule anyone could
/// turn one signed chain start into a second, different-looking one. [`Identity::sign`] always
/// produces the low form.
pub fn verify_signature_low_s(pk: &PublicKey, msg: &[u8], sig: &[u8]) -> bool {
    match Signature::from_slice(sig) {
        Ok(s) if s.normalize_s().is_none() => verify_signature(pk, msg, sig),
        _ => false,
    }
}
