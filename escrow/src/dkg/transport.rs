//! Transport encryption of DKG rows to one authority: ECIES on P-256.
//!
//! ```text
//! (e, E = e·G) fresh per message;  Z = ECDH(e, R) (x-coordinate, SEC 1)
//! K = HKDF-SHA-256(salt = ∅, ikm = Z, info = "escrow-lab/v1/dkg-transport" ‖ E ‖ R)[..32]
//! ciphertext = E (33 bytes, compressed) ‖ AES-256-GCM(K, nonce = 0^12, aad, row)
//! ```
//!
//! The key is fresh per message, so the all-zero nonce is used once per key. `aad` binds the
//! ciphertext to the DKG session, the dealer and the recipient (a row cannot be moved to
//! another session or party). The primitives are RustCrypto's `p256`, `hkdf`, `aes-gcm`
//! (SEC 1 ECDH, RFC 5869, NIST SP 800-38D); the composition is the hashed-ElGamal ECIES of
//! SEC 1 §5.1 with an AEAD as the data encapsulation.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

const INFO: &[u8] = b"escrow-lab/v1/dkg-transport";
/// Length of the ephemeral key prefix.
const EPH_LEN: usize = 33;

/// An authority's transport key pair (secret part zeroized on drop by `p256`).
#[derive(Clone)]
pub struct TransportKey(SecretKey);

impl fmt::Debug for TransportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransportKey({}, ***)", self.public_hex())
    }
}

impl TransportKey {
    /// A fresh key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(SecretKey::random(rng))
    }

    /// The public key, compressed SEC 1, hex.
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.public_key().to_encoded_point(true).as_bytes())
    }

    /// The secret scalar, hex (for the authority's 0600 state file only).
    pub fn secret_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.to_bytes()))
    }

    /// Parses a secret written by [`TransportKey::secret_hex`].
    pub fn from_secret_hex(s: &str) -> Result<Self> {
        let bytes = Zeroizing::new(crate::encoding::hex_array::<32>("transport_secret", s)?);
        SecretKey::from_slice(bytes.as_slice())
            .map(Self)
            .map_err(|_| Error::InvalidScalar {
                field: "transport_secret",
            })
    }

    /// Opens a ciphertext made by [`seal`] for this key.
    pub fn open(&self, aad: &[u8], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if ct.len() < EPH_LEN + 16 {
            return Err(Error::Decryption);
        }
        let eph = PublicKey::from_sec1_bytes(&ct[..EPH_LEN]).map_err(|_| Error::Decryption)?;
        let me = self.0.public_key();
        let key = derive(&self.0, &eph, &eph, &me)?;
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| Error::Decryption)?;
        cipher
            .decrypt(
                Nonce::from_slice(&[0u8; 12]),
                Payload {
                    msg: &ct[EPH_LEN..],
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::Decryption)
    }
}

/// Parses a transport public key (compressed SEC 1 hex); refuses anything not on the curve.
pub fn public_from_hex(s: &str) -> Result<PublicKey> {
    let bytes = hex::decode(s).map_err(|_| Error::Hex {
        field: "transport_key",
        expected: EPH_LEN,
    })?;
    PublicKey::from_sec1_bytes(&bytes).map_err(|_| Error::InvalidPoint {
        field: "transport_key",
        group: "P-256",
        reason: "not a point of the curve",
    })
}

fn derive(
    secret: &SecretKey,
    peer: &PublicKey,
    eph: &PublicKey,
    recipient: &PublicKey,
) -> Result<Zeroizing<[u8; 32]>> {
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
    let mut info = INFO.to_vec();
    info.extend_from_slice(eph.to_encoded_point(true).as_bytes());
    info.extend_from_slice(recipient.to_encoded_point(true).as_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, shared.raw_secret_bytes())
        .expand(&info, key.as_mut_slice())
        .map_err(|_| Error::Internal(crate::Bug::HkdfLength))?;
    Ok(key)
}

/// Encrypts `msg` to `recipient` with associated data `aad`.
pub fn seal<R: RngCore + CryptoRng>(
    recipient: &PublicKey,
    aad: &[u8],
    msg: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>> {
    let e = SecretKey::random(rng);
    let eph = e.public_key();
    let key = derive(&e, recipient, &eph, recipient)?;
    let cipher = Aes256Gcm::new_from_slice(key.as_slice())
        .map_err(|_| Error::Internal(crate::Bug::AesGcm))?;
    let body = cipher
        .encrypt(Nonce::from_slice(&[0u8; 12]), Payload { msg, aad })
        .map_err(|_| Error::Internal(crate::Bug::AesGcm))?;
    let mut out = eph.to_encoded_point(true).as_bytes().to_vec();
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn round_trip_and_every_bit_flip_fails() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let k = TransportKey::generate(&mut rng);
        let pk = public_from_hex(&k.public_hex()).unwrap();
        let ct = seal(&pk, b"ctx", b"row bytes", &mut rng).unwrap();
        assert_eq!(k.open(b"ctx", &ct).unwrap().as_slice(), b"row bytes");
        assert!(k.open(b"other", &ct).is_err());
        for bit in 0..ct.len() * 8 {
            let mut c = ct.clone();
            c[bit / 8] ^= 1 << (bit % 8);
            assert!(k.open(b"ctx", &c).is_err(), "bit {bit}");
        }
        let other = TransportKey::generate(&mut rng);
        assert!(other.open(b"ctx", &ct).is_err());
        let again = TransportKey::from_secret_hex(&k.secret_hex()).unwrap();
        assert_eq!(again.public_hex(), k.public_hex());
    }
}
