//! Each party's DKG message-signing key: Ed25519 (RFC 8032, `ed25519-dalek`).
//!
//! ```text
//! signed bytes = "escrow-lab/v1/dkg-message\n" ‖ the message's JSON with "signature": ""
//! signature    = Ed25519(party's signing key, signed bytes), hex (64 bytes)
//! ```
//!
//! Every party makes its own key in its own state (`escrow dkg join --as A`) and publishes only
//! the public half; the session id binds every party's public keys, so a message verifies only
//! under the key of the party it names, in this session. A signed message cannot be denied:
//! two different messages of one round signed by one party are proof that the party
//! equivocated.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

const DOMAIN: &[u8] = b"escrow-lab/v1/dkg-message\n";

/// A party's message-signing key (zeroized on drop by `ed25519-dalek`).
#[derive(Clone)]
pub struct MessageKey(SigningKey);

impl fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageKey({}, ***)", self.public_hex())
    }
}

impl MessageKey {
    /// A fresh key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(SigningKey::generate(rng))
    }

    /// The public key, hex (32 bytes).
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }

    /// The secret, hex (for the party's 0600 state file only).
    pub fn secret_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_bytes()))
    }

    /// Parses a secret written by [`MessageKey::secret_hex`].
    pub fn from_secret_hex(s: &str) -> Result<Self> {
        let bytes = Zeroizing::new(crate::encoding::hex_array::<32>("signing_secret", s)?);
        Ok(Self(SigningKey::from_bytes(&bytes)))
    }

    /// Signs `message` (its JSON with an empty signature field), hex.
    pub fn sign(&self, message: &[u8]) -> String {
        let mut m = DOMAIN.to_vec();
        m.extend_from_slice(message);
        hex::encode(self.0.sign(&m).to_bytes())
    }
}

/// Parses a public signing key (hex, 32 bytes); refuses a non-canonical or small-order point.
pub fn public_from_hex(s: &str) -> Result<VerifyingKey> {
    let bytes = crate::encoding::hex_array::<32>("signing_key", s)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| Error::InvalidPoint {
        field: "signing_key",
        group: "Ed25519",
        reason: "not a point of the curve",
    })?;
    if key.is_weak() {
        return Err(Error::InvalidPoint {
            field: "signing_key",
            group: "Ed25519",
            reason: "a point of small order",
        });
    }
    Ok(key)
}

/// Whether `signature` (hex) is `key`'s (hex) signature of `message` (strict verification:
/// no malleable or non-canonical signature passes).
pub fn verify(key: &str, message: &[u8], signature: &str) -> bool {
    let Ok(key) = public_from_hex(key) else {
        return false;
    };
    let Ok(sig) = crate::encoding::hex_array::<64>("signature", signature) else {
        return false;
    };
    let mut m = DOMAIN.to_vec();
    m.extend_from_slice(message);
    key.verify_strict(&m, &Signature::from_bytes(&sig)).is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_key_and_message() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let k = MessageKey::generate(&mut rng);
        let sig = k.sign(b"deal");
        assert!(verify(&k.public_hex(), b"deal", &sig));
        assert!(!verify(&k.public_hex(), b"deaL", &sig));
        let other = MessageKey::generate(&mut rng);
        assert!(!verify(&other.public_hex(), b"deal", &sig));
        let mut bytes = hex::decode(&sig).unwrap();
        for bit in 0..bytes.len() * 8 {
            bytes[bit / 8] ^= 1 << (bit % 8);
            assert!(!verify(&k.public_hex(), b"deal", &hex::encode(&bytes)));
            bytes[bit / 8] ^= 1 << (bit % 8);
        }
        let again = MessageKey::from_secret_hex(&k.secret_hex()).unwrap();
        assert_eq!(again.public_hex(), k.public_hex());
        assert!(!format!("{k:?}").contains(k.secret_hex().as_str()));
    }
}
