//! The verifiable escrow wrap of a 32-byte key to one scope identity.
//!
//! ```text
//! σ    = HKDF-SHA256(IKM = K, salt = none,
//!                    info = "escrow-lab/v1/sigma" ‖ identity bytes)[..32]     (RFC 5869)
//! wrap = IBE.encrypt(MPK, Q_id, M = K, σ)   =  U ‖ V ‖ W   (48 + 32 + 32 = 112 bytes)
//! ```
//!
//! Because σ is derived from the key instead of drawn at random, the wrap is a deterministic
//! function of (K, identity, MPK). Anyone who knows K — the recipient of a message, who derived
//! the same chain key — recomputes the wrap and rejects a message whose escrow block differs by
//! a single bit ([`verify_wrap`], constant-time comparison). This is the answer to Blaze's 1994
//! attack on Clipper's LEAF, whose 16-bit checksum could be forged in about 2^16 tries: here a
//! forged wrap must *be* the exact encryption of the key.
//!
//! Unwrapping with the identity key checks the IBE's Fujisaki–Okamoto condition and, on top of
//! it, that the recovered σ is the derivation above, so a wrap made with a random σ (a
//! non-compliant client) is reported as not opening.
//!
//! Determinism means equal keys give equal wraps; chain keys are fresh random-looking values,
//! never repeated, so the wrap leaks nothing beyond the IBE's own guarantees.

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::ibe::{self, Ciphertext, PreparedIdentity};
use crate::identity::ScopeIdentity;
use crate::params::PublicParams;
use crate::release::IdentityKey;

/// Length of the escrowed key.
pub const KEY_LEN: usize = 32;

/// Length of a wrap: `U ‖ V ‖ W`.
pub const WRAP_LEN: usize = ibe::U_LEN + 2 * KEY_LEN;

/// HKDF info prefix for σ.
pub const SIGMA_INFO: &[u8] = b"escrow-lab/v1/sigma";

/// A 112-byte escrow wrap of one key to one scope identity.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Wrap(Ciphertext);

impl Wrap {
    /// The wire bytes `U ‖ V ‖ W`.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// Parses exactly [`WRAP_LEN`] bytes, validating `U`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != WRAP_LEN {
            return Err(Error::Length {
                what: "escrow wrap",
                found: bytes.len(),
            });
        }
        Ok(Self(Ciphertext::from_bytes(bytes)?))
    }

    /// The underlying IBE ciphertext.
    pub fn ciphertext(&self) -> &Ciphertext {
        &self.0
    }
}

/// One scope identity prepared for wrapping and verifying: `Q_id`'s pairing lines and the
/// identity bytes are computed once. Senders and recipients keep one per (account, epoch).
#[derive(Clone, Debug)]
pub struct PreparedScope {
    identity: ScopeIdentity,
    identity_bytes: Vec<u8>,
    ibe: PreparedIdentity,
}

impl PreparedScope {
    /// Prepares `identity`, which must belong to `params`' realm and generation.
    pub fn new(params: &PublicParams, identity: &ScopeIdentity) -> Result<Self> {
        params.check_identity(identity)?;
        Ok(Self {
            identity: identity.clone(),
            identity_bytes: identity.to_bytes(),
            ibe: PreparedIdentity::new(params.master_public_key(), &identity.point()),
        })
    }

    /// The scope.
    pub fn identity(&self) -> &ScopeIdentity {
        &self.identity
    }

    /// Wraps `key` to this scope.
    pub fn wrap(&self, key: &[u8; KEY_LEN]) -> Result<Wrap> {
        let sigma = derive_sigma(key, &self.identity_bytes)?;
        Ok(Wrap(self.ibe.encrypt(key, sigma.as_slice())?))
    }

    /// Recomputes the wrap of `key` and compares it with `wrap` in constant time.
    pub fn verify(&self, key: &[u8; KEY_LEN], wrap: &Wrap) -> Result<()> {
        let expected = self.wrap(key)?.to_bytes();
        if bool::from(expected.ct_eq(&wrap.to_bytes())) {
            Ok(())
        } else {
            Err(Error::Decryption)
        }
    }
}

/// Wraps `key` to `identity` (see the module docs).
pub fn wrap(params: &PublicParams, identity: &ScopeIdentity, key: &[u8; KEY_LEN]) -> Result<Wrap> {
    PreparedScope::new(params, identity)?.wrap(key)
}

/// Checks that `wrap` is exactly the wrap of `key` to `identity`.
pub fn verify_wrap(
    params: &PublicParams,
    identity: &ScopeIdentity,
    key: &[u8; KEY_LEN],
    wrap: &Wrap,
) -> Result<()> {
    PreparedScope::new(params, identity)?.verify(key, wrap)
}

/// Opens a wrap with the identity key of its scope.
///
/// Fails with the opaque [`Error::Decryption`] if the wrap was made for another scope, was
/// tampered with, or was not made with the derived σ.
pub fn unwrap(wrap: &Wrap, key: &IdentityKey) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let opened = ibe::decrypt_with_sigma(&wrap.0, key.point())?;
    check_opened(opened, &key.identity().to_bytes())
}

/// An identity key prepared for opening many wraps of its scope (an auditor's chains): the
/// identity bytes and the key's pairing lines are computed once.
#[derive(Clone, Debug)]
pub struct PreparedIdentityKey {
    identity_bytes: Vec<u8>,
    key: ibe::PreparedKey,
}

impl PreparedIdentityKey {
    /// Prepares a (verified) identity key.
    pub fn new(key: &IdentityKey) -> Self {
        Self {
            identity_bytes: key.identity().to_bytes(),
            key: ibe::PreparedKey::new(key.point()),
        }
    }

    /// [`unwrap`] with the prepared key.
    pub fn unwrap(&self, wrap: &Wrap) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        check_opened(self.key.decrypt_with_sigma(&wrap.0)?, &self.identity_bytes)
    }
}

fn check_opened(
    (msg, sigma): (ibe::SecretBytes, ibe::SecretBytes),
    identity_bytes: &[u8],
) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let k: [u8; KEY_LEN] = msg.as_slice().try_into().map_err(|_| Error::Decryption)?;
    let k = Zeroizing::new(k);
    let expected = derive_sigma(&k, identity_bytes)?;
    if bool::from(expected.as_slice().ct_eq(sigma.as_slice())) {
        Ok(k)
    } else {
        Err(Error::Decryption)
    }
}

fn derive_sigma(key: &[u8; KEY_LEN], identity_bytes: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let hk = Hkdf::<Sha256>::new(None, key);
    let mut sigma = Zeroizing::new([0u8; KEY_LEN]);
    hk.expand_multi_info(&[SIGMA_INFO, identity_bytes], sigma.as_mut_slice())
        .map_err(|_| Error::Internal(crate::Bug::HkdfLength))?;
    Ok(sigma)
}
