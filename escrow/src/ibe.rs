//! Boneh–Franklin identity-based encryption, byte-compatible with drand's timelock encryption.
//!
//! This is kyber's `ibe.EncryptCCAonG1` (drand/kyber `encrypt/ibe/ibe.go`), used by drand's
//! tlock and tlock-js: the *FullIdent* scheme of Boneh and Franklin (CRYPTO 2001, §4.2) made
//! CCA-secure with the Fujisaki–Okamoto transform. Master public key on G1, identity points and
//! identity keys on G2.
//!
//! For a message `M` of `len` bytes (1 ≤ len ≤ 32) and a `σ` of the same length:
//!
//! ```text
//! r  = H3(σ, M):  b = SHA256("IBE-H3" ‖ σ ‖ M)
//!                 for i = 1, 2, …: h = SHA256(u16_le(i) ‖ b); h[0] >>= 1;
//!                 r = h as a big-endian integer, the first such h below the group order
//! U  = r·G1
//! V  = σ ⊕ SHA256("IBE-H2" ‖ GtBytes(e(MPK, Q_id)^r))[..len]
//! W  = M ⊕ SHA256("IBE-H4" ‖ σ)[..len]
//! ciphertext = U (48 bytes, compressed) ‖ V ‖ W           (48 + 2·len bytes)
//!
//! decrypt with d_id = s·Q_id:
//! σ  = V ⊕ SHA256("IBE-H2" ‖ GtBytes(e(U, d_id)))[..len]
//! M  = W ⊕ SHA256("IBE-H4" ‖ σ)[..len]
//! reject unless U == H3(σ, M)·G1
//! ```
//!
//! `GtBytes` is the 576-byte order of kilic/bls12-381 (used by kyber): the Fp12 coefficient
//! `c1` then `c0`; within each Fp6 `c2, c1, c0`; within each Fp2 `c1, c0`; each Fp as 48 bytes
//! big-endian. It is *not* blst's `to_bendian` order.
//!
//! `e(MPK, Q_id)^r` is computed as `e(r·MPK, Q_id)`. The two are equal by bilinearity; the
//! latter uses blst's constant-time G1 scalar multiplication, whereas blstrs' `Gt * Scalar` is
//! a variable-time double-and-add, and `r` must stay secret (knowing `r` gives `σ` and `M`).
//! [`PreparedIdentity`] keeps `Q_id`'s Miller-loop lines so repeated encryptions to one
//! identity skip the hash to curve and the line computation.
//!
//! Compatibility is checked in the tests against a ciphertext produced by drand's Go tlock
//! (tlock-js compatibility test, testnet-unchained round 1).

use blstrs::{G2Prepared, Gt};
use blsttc::{Fr, G1Affine, G2Affine, PEngine};
use ff::Field;
use group::Curve;
use group::prime::PrimeCurveAffine;
use pairing::{MillerLoopResult, MultiMillerLoop};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::encoding::g1_from_bytes;
use crate::error::{Error, Result};

/// Longest message (and σ) the scheme takes: the SHA-256 output length.
pub const MAX_MSG_LEN: usize = 32;

/// Bytes that are wiped on drop.
pub type SecretBytes = Zeroizing<Vec<u8>>;

/// Length of the compressed U component.
pub const U_LEN: usize = 48;

/// A ciphertext `U ‖ V ‖ W`.
#[derive(Clone, PartialEq, Eq)]
pub struct Ciphertext {
    u: G1Affine,
    v: Vec<u8>,
    w: Vec<u8>,
}

impl std::fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ciphertext({})", hex::encode(self.to_bytes()))
    }
}

impl Ciphertext {
    /// `U ‖ V ‖ W`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(U_LEN + self.v.len() + self.w.len());
        out.extend_from_slice(&self.u.to_compressed());
        out.extend_from_slice(&self.v);
        out.extend_from_slice(&self.w);
        out
    }

    /// Parses `U ‖ V ‖ W`: `U` must be a valid, non-identity G1 point in the subgroup and
    /// `V`, `W` of equal length between 1 and 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let rest = bytes.len().wrapping_sub(U_LEN);
        if bytes.len() <= U_LEN || !rest.is_multiple_of(2) || rest / 2 > MAX_MSG_LEN {
            return Err(Error::Length {
                what: "IBE ciphertext",
                found: bytes.len(),
            });
        }
        let mut u = [0u8; U_LEN];
        u.copy_from_slice(&bytes[..U_LEN]);
        let u = g1_from_bytes("IBE ciphertext U", &u)?;
        let len = rest / 2;
        Ok(Self {
            u,
            v: bytes[U_LEN..U_LEN + len].to_vec(),
            w: bytes[U_LEN + len..].to_vec(),
        })
    }

    /// Length of the encrypted message.
    pub fn message_len(&self) -> usize {
        self.w.len()
    }

    /// The `U = r·G1` component.
    pub fn u(&self) -> &G1Affine {
        &self.u
    }
}

/// An identity point with its Miller-loop lines precomputed, for repeated encryption.
#[derive(Clone, Debug)]
pub struct PreparedIdentity {
    mpk: G1Affine,
    q_id: G2Prepared,
}

impl PreparedIdentity {
    /// Prepares `Q_id` for encryptions under `mpk`.
    pub fn new(mpk: &G1Affine, q_id: &G2Affine) -> Self {
        Self {
            mpk: *mpk,
            q_id: G2Prepared::from(*q_id),
        }
    }

    /// Encrypts `msg` with the caller's `σ` (same length, 1..=32 bytes).
    pub fn encrypt(&self, msg: &[u8], sigma: &[u8]) -> Result<Ciphertext> {
        check_lengths(msg.len(), sigma.len())?;
        // An identity master key would make e(MPK, Q)^r = 1: anyone could decrypt.
        if bool::from(self.mpk.is_identity()) {
            return Err(Error::InvalidPoint {
                field: "master public key",
                group: "G1",
                reason: "the identity point",
            });
        }
        let r = SecretScalar(h3(sigma, msg));
        let u = (G1Affine::generator() * r.0).to_affine();
        let r_mpk = (self.mpk * r.0).to_affine();
        let gid_r = PEngine::multi_miller_loop(&[(&r_mpk, &self.q_id)]).final_exponentiation();
        let mut v = h2(&gid_r, msg.len());
        xor_in_place(&mut v, sigma);
        let mut w = h4(sigma, msg.len());
        xor_in_place(&mut w, msg);
        Ok(Ciphertext { u, v, w })
    }
}

/// Encrypts `msg` to `q_id` under `mpk` with the caller's `σ` (same length, 1..=32 bytes).
///
/// For a fresh random `σ` this is drand's tlock encryption; escrow-lab derives `σ` from the key
/// (see [`crate::wrap`]).
pub fn encrypt(mpk: &G1Affine, q_id: &G2Affine, msg: &[u8], sigma: &[u8]) -> Result<Ciphertext> {
    PreparedIdentity::new(mpk, q_id).encrypt(msg, sigma)
}

/// Decrypts with the identity key `d_id`; returns the message.
///
/// Fails with the opaque [`Error::Decryption`] if the Fujisaki–Okamoto check fails.
pub fn decrypt(ct: &Ciphertext, d_id: &G2Affine) -> Result<SecretBytes> {
    decrypt_with_sigma(ct, d_id).map(|(m, _)| m)
}

/// Decrypts and also returns the recovered σ (callers that check how σ was derived need it).
pub fn decrypt_with_sigma(ct: &Ciphertext, d_id: &G2Affine) -> Result<(SecretBytes, SecretBytes)> {
    decrypt_with(ct, |u| blstrs::pairing(u, d_id))
}

/// An identity key with its Miller-loop lines precomputed, for decrypting many ciphertexts
/// to one identity (an auditor opening every chain of a scope): each decryption is then one
/// prepared pairing and one G1 multiplication (the Fujisaki–Okamoto check).
#[derive(Clone)]
pub struct PreparedKey(G2Prepared);

impl std::fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreparedKey(***)")
    }
}

impl PreparedKey {
    /// Prepares `d_id`.
    pub fn new(d_id: &G2Affine) -> Self {
        Self(G2Prepared::from(*d_id))
    }

    /// [`decrypt_with_sigma`] with the prepared lines.
    pub fn decrypt_with_sigma(&self, ct: &Ciphertext) -> Result<(SecretBytes, SecretBytes)> {
        decrypt_with(ct, |u| {
            PEngine::multi_miller_loop(&[(u, &self.0)]).final_exponentiation()
        })
    }
}

fn decrypt_with(
    ct: &Ciphertext,
    pairing: impl FnOnce(&G1Affine) -> Gt,
) -> Result<(SecretBytes, SecretBytes)> {
    let len = ct.w.len();
    if len == 0 || len > MAX_MSG_LEN || ct.v.len() != len || bool::from(ct.u.is_identity()) {
        return Err(Error::Decryption);
    }
    let gid_r = pairing(&ct.u);
    let mut sigma = Zeroizing::new(h2(&gid_r, len));
    xor_in_place(&mut sigma, &ct.v);
    let mut msg = Zeroizing::new(h4(&sigma, len));
    xor_in_place(&mut msg, &ct.w);
    let r = SecretScalar(h3(&sigma, &msg));
    let u = (G1Affine::generator() * r.0).to_affine();
    if bool::from(u.to_compressed().ct_eq(&ct.u.to_compressed())) {
        Ok((msg, sigma))
    } else {
        Err(Error::Decryption)
    }
}

/// The IBE randomness `r`: knowing it decrypts, so it is overwritten on drop (best effort:
/// `Fr` has no `Zeroize`, so the field is reset to zero and kept observable with `black_box`).
struct SecretScalar(Fr);

impl Drop for SecretScalar {
    fn drop(&mut self) {
        self.0 = Fr::zero();
        std::hint::black_box(&self.0);
    }
}

fn check_lengths(msg: usize, sigma: usize) -> Result<()> {
    if msg == 0 || msg > MAX_MSG_LEN || msg != sigma {
        return Err(Error::MessageLength { msg, sigma });
    }
    Ok(())
}

fn xor_in_place(a: &mut [u8], b: &[u8]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

/// `H2(g) = SHA256("IBE-H2" ‖ GtBytes(g))[..len]`.
fn h2(g: &Gt, len: usize) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"IBE-H2");
    h.update(gt_bytes(g).as_slice());
    h.finalize()[..len].to_vec()
}

/// `H3(σ, M)`: a scalar by rejection sampling, as kyber's `h3`.
fn h3(sigma: &[u8], msg: &[u8]) -> Fr {
    let b = Sha256::new()
        .chain_update(b"IBE-H3")
        .chain_update(sigma)
        .chain_update(msg)
        .finalize();
    for i in 1u16..=u16::MAX {
        let mut h: [u8; 32] = Sha256::new()
            .chain_update(i.to_le_bytes())
            .chain_update(b)
            .finalize()
            .into();
        h[0] >>= 1;
        let r: Option<Fr> = Fr::from_bytes_be(&h).into();
        if let Some(r) = r {
            return r;
        }
    }
    // Each try succeeds with probability > 0.9 (r < 2^255 after masking and the order is
    // above 2^254.8), so 65,535 failures in a row do not happen. Zero is not a valid r either
    // way, and callers never see it as a usable key.
    Fr::zero()
}

/// `H4(σ) = SHA256("IBE-H4" ‖ σ)[..len]`.
fn h4(sigma: &[u8], len: usize) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"IBE-H4");
    h.update(sigma);
    h.finalize()[..len].to_vec()
}

/// The 576-byte kilic/kyber serialization of a GT element (module docs).
fn gt_bytes(g: &Gt) -> Zeroizing<Vec<u8>> {
    let f = blstrs::Fp12::from(*g);
    let mut out = Zeroizing::new(Vec::with_capacity(576));
    for f6 in [f.c1(), f.c0()] {
        for f2 in [f6.c2(), f6.c1(), f6.c0()] {
            out.extend_from_slice(&f2.c1().to_bytes_be());
            out.extend_from_slice(&f2.c0().to_bytes_be());
        }
    }
    out
}

/// G1 point `U` for the given σ and message (test and hazmat use).
#[cfg(test)]
fn u_for(sigma: &[u8], msg: &[u8]) -> G1Affine {
    (G1Affine::generator() * h3(sigma, msg)).to_affine()
}

#[cfg(test)]
mod tests {
    use super::*;
    use blsttc::G2Projective;
    use group::Group;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Vector {
        chain_public_key_g1: String,
        round: u64,
        round_signature_g2: String,
        ciphertext: VectorCt,
        plaintext: String,
        expect: String,
    }
    #[derive(Deserialize)]
    struct VectorCt {
        u_g1: String,
        v: String,
        w: String,
    }

    const DRAND_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_";

    fn vector() -> (G1Affine, G2Affine, G2Affine, Vec<u8>, Vec<u8>) {
        let v: Vector =
            serde_json::from_str(include_str!("../tests/vectors/drand-tlock-g1.json")).unwrap();
        assert_eq!(v.expect, "success");
        let mpk = crate::encoding::g1_from_hex("pk", &v.chain_public_key_g1).unwrap();
        let sig = crate::encoding::g2_from_hex("sig", &v.round_signature_g2).unwrap();
        let id = Sha256::digest(v.round.to_be_bytes());
        let q_id: G2Affine = G2Projective::hash_to_curve(&id, DRAND_DST, &[]).into();
        let ct = [
            hex::decode(&v.ciphertext.u_g1).unwrap(),
            hex::decode(&v.ciphertext.v).unwrap(),
            hex::decode(&v.ciphertext.w).unwrap(),
        ]
        .concat();
        (mpk, q_id, sig, ct, hex::decode(v.plaintext).unwrap())
    }

    #[test]
    fn drand_round_signature_is_the_identity_key() {
        // The vector is a BLS signature: e(G1, sig) == e(pk, H(round)).
        let (mpk, q_id, sig, _, _) = vector();
        assert_eq!(
            blstrs::pairing(&G1Affine::generator(), &sig),
            blstrs::pairing(&mpk, &q_id)
        );
    }

    #[test]
    fn drand_vector_decrypts() {
        let (_, _, sig, ct, pt) = vector();
        let ct = Ciphertext::from_bytes(&ct).unwrap();
        assert_eq!(decrypt(&ct, &sig).unwrap().as_slice(), pt.as_slice());
    }

    #[test]
    fn drand_vector_reencrypts_byte_for_byte() {
        // Recover drand's random σ, then encrypt again: the output must be the Go ciphertext.
        let (mpk, q_id, sig, ct_bytes, pt) = vector();
        let ct = Ciphertext::from_bytes(&ct_bytes).unwrap();
        let (_, sigma) = decrypt_with_sigma(&ct, &sig).unwrap();
        let again = encrypt(&mpk, &q_id, &pt, &sigma).unwrap();
        assert_eq!(again.to_bytes(), ct_bytes);
        assert_eq!(ct.u, u_for(&sigma, &pt));
    }

    #[test]
    fn drand_vector_every_bit_flip_fails() {
        let (_, _, sig, ct_bytes, _) = vector();
        for bit in 0..ct_bytes.len() * 8 {
            let mut t = ct_bytes.clone();
            t[bit / 8] ^= 1 << (bit % 8);
            let result = Ciphertext::from_bytes(&t).and_then(|ct| decrypt(&ct, &sig));
            assert!(result.is_err(), "bit {bit} flipped still decrypts");
        }
    }

    #[test]
    fn prepared_key_decrypts_the_drand_vector_too() {
        let (_, _, sig, ct, pt) = vector();
        let ct = Ciphertext::from_bytes(&ct).unwrap();
        let (m, _) = PreparedKey::new(&sig).decrypt_with_sigma(&ct).unwrap();
        assert_eq!(m.as_slice(), pt.as_slice());
        let other = (sig + G2Projective::generator()).to_affine();
        assert!(PreparedKey::new(&other).decrypt_with_sigma(&ct).is_err());
    }

    #[test]
    fn drand_vector_wrong_key_fails() {
        let (_, _, sig, ct_bytes, _) = vector();
        let ct = Ciphertext::from_bytes(&ct_bytes).unwrap();
        let other = (sig + G2Projective::generator()).to_affine();
        assert!(matches!(decrypt(&ct, &other), Err(Error::Decryption)));
    }

    #[test]
    fn round_trips_every_length() {
        let s = Fr::from(0x1234_5678u64);
        let mpk = (G1Affine::generator() * s).to_affine();
        let q_id: G2Affine = G2Projective::hash_to_curve(b"id", b"TEST-DST", &[]).into();
        let d_id = (q_id * s).to_affine();
        for len in 1..=MAX_MSG_LEN {
            let msg: Vec<u8> = (0..len as u8).collect();
            let sigma: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(7) ^ 0x5a).collect();
            let ct = encrypt(&mpk, &q_id, &msg, &sigma).unwrap();
            let bytes = ct.to_bytes();
            assert_eq!(bytes.len(), U_LEN + 2 * len);
            let back = Ciphertext::from_bytes(&bytes).unwrap();
            assert_eq!(back, ct);
            assert_eq!(decrypt(&back, &d_id).unwrap().as_slice(), msg.as_slice());
            let mut t = bytes.clone();
            t[U_LEN + len] ^= 0x80; // first byte of W
            let t = Ciphertext::from_bytes(&t).unwrap();
            assert!(decrypt(&t, &d_id).is_err());
        }
    }

    #[test]
    fn bad_lengths_are_refused() {
        let mpk = G1Affine::generator();
        let q = G2Affine::generator();
        assert!(encrypt(&mpk, &q, &[], &[]).is_err());
        assert!(encrypt(&mpk, &q, &[0; 33], &[0; 33]).is_err());
        assert!(encrypt(&mpk, &q, &[0; 16], &[0; 15]).is_err());
        for len in [0, 1, 47, 48, 49, 51, 48 + 66] {
            assert!(Ciphertext::from_bytes(&vec![0u8; len]).is_err(), "{len}");
        }
    }

    #[test]
    fn identity_master_key_is_refused() {
        let q = G2Affine::generator();
        assert!(encrypt(&G1Affine::identity(), &q, &[1; 16], &[2; 16]).is_err());
    }

    #[test]
    fn identity_u_is_refused() {
        let mut bytes = G1Affine::identity().to_compressed().to_vec();
        bytes.extend_from_slice(&[0u8; 32]);
        assert!(Ciphertext::from_bytes(&bytes).is_err());
    }
}
