//! Key derivations of the messenger, after Signal's X3DH and Double Ratchet specifications
//! (Marlinspike and Perrin, 2016), with escrow-lab's own info strings.
//!
//! ```text
//! X3DH      SK = HKDF-SHA256(salt = 0^32, IKM = 0xFF^32 ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4],
//!                            info = "escrow-lab/v1/x3dh")[..32]                (X3DH §2.2)
//! KDF_RK    (RK', CK) = HKDF-SHA256(salt = RK, IKM = DH out,
//!                                   info = "escrow-lab/v1/root")[..64]         (DR §5.2)
//! epoch     CK' = HKDF-SHA256(salt = CK, IKM = DH out, info = "escrow-lab/v1/epoch")[..32]
//! KDF_CK    MK = HMAC-SHA256(CK, 0x01), CK' = HMAC-SHA256(CK, 0x02)           (DR §5.2)
//! message   key ‖ nonce = HKDF-SHA256(salt = 0^32, IKM = MK,
//!                                     info = "escrow-lab/v1/message")[..44]
//!           AES-256-GCM(key, nonce, plaintext, AD)                             (replaces
//!           Signal's AES-CBC + HMAC; each MK is used once, so the derived nonce never repeats)
//! commit    C = HKDF-SHA256(salt = 0^32, IKM = MK, info = "escrow-lab/v2/key-commitment")[..32]
//! ```
//!
//! `C` makes the message encryption key-committing. AES-GCM alone is not: one ciphertext can
//! be made to authenticate under two keys and decrypt to two texts ("invisible salamanders",
//! Dodis, Grubbs, Ristenpart and Woodage, CRYPTO 2018; Len, Grubbs and Ristenpart, USENIX
//! Security 2021). Every ciphertext carries `C` in front and is opened only after `C` is
//! recomputed from the message key and compared in constant time: since `C` is a
//! collision-resistant function of `MK` (HKDF-SHA256), one ciphertext opens under at most one
//! message key, hence (the key fixing the nonce, the envelope fixing the associated data) to at
//! most one text. This is the generic "commitment by a collision-resistant PRF" fix of
//! Albertini, Duong, Gueron, Kölbl, Luykx and Schmieg (USENIX Security 2022, §5), the key
//! commitment of the AWS Encryption SDK's committing suites, with the commitment derived from
//! the message key by HKDF under its own label.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keys::Key32;

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) {
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    // Output lengths here are at most 64 bytes, far below HKDF's 255·32 limit.
    #[allow(clippy::expect_used)]
    hk.expand(info, out)
        .expect("HKDF output length within limit");
}

/// X3DH: the shared secret from the concatenated DH outputs.
pub fn x3dh(dhs: &[&[u8; 32]]) -> Key32 {
    let mut ikm = Zeroizing::new(Vec::with_capacity(32 * (dhs.len() + 1)));
    ikm.extend_from_slice(&[0xFF; 32]);
    for dh in dhs {
        ikm.extend_from_slice(&dh[..]);
    }
    let mut sk = Zeroizing::new([0u8; 32]);
    hkdf(&[0u8; 32], &ikm, b"escrow-lab/v1/x3dh", sk.as_mut_slice());
    sk
}

/// KDF_RK: new root key and chain key.
pub fn kdf_rk(rk: &[u8; 32], dh_out: &[u8; 32]) -> (Key32, Key32) {
    let mut out = Zeroizing::new([0u8; 64]);
    hkdf(rk, dh_out, b"escrow-lab/v1/root", out.as_mut_slice());
    split64(&out)
}

/// Epoch step: a new chain key from the current chain key and a fresh DH output.
pub fn kdf_epoch(ck: &[u8; 32], dh_out: &[u8; 32]) -> Key32 {
    let mut out = Zeroizing::new([0u8; 32]);
    hkdf(ck, dh_out, b"escrow-lab/v1/epoch", out.as_mut_slice());
    out
}

/// KDF_CK: (message key, next chain key).
pub fn kdf_ck(ck: &[u8; 32]) -> (Key32, Key32) {
    (hmac_byte(ck, 0x01), hmac_byte(ck, 0x02))
}

fn hmac_byte(key: &[u8; 32], byte: u8) -> Key32 {
    // HMAC accepts keys of any length.
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&[byte]);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// The AES-256-GCM key and nonce of one message key.
pub fn message_keys(mk: &[u8; 32]) -> (Key32, [u8; 12]) {
    let mut out = Zeroizing::new([0u8; 44]);
    hkdf(&[0u8; 32], mk, b"escrow-lab/v1/message", out.as_mut_slice());
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&out[..32]);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&out[32..]);
    (key, nonce)
}

/// The key commitment `C` of one message key (module docs).
pub fn key_commitment(mk: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf(&[0u8; 32], mk, b"escrow-lab/v2/key-commitment", &mut out);
    out
}

fn split64(out: &[u8; 64]) -> (Key32, Key32) {
    let mut a = Zeroizing::new([0u8; 32]);
    let mut b = Zeroizing::new([0u8; 32]);
    a.copy_from_slice(&out[..32]);
    b.copy_from_slice(&out[32..]);
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_kdf_separates_message_and_chain_keys() {
        let ck = [7u8; 32];
        let (mk, next) = kdf_ck(&ck);
        assert_ne!(*mk, *next);
        assert_ne!(*next, ck);
        // HMAC-SHA256(0x07^32, 0x01) computed independently (Python hmac module).
        assert_eq!(
            hex::encode(*mk),
            "3d8b2fa2a2537fdcdda46e704966a105722d268d2e9ed43bbe5b1dd9d6802935"
        );
    }

    #[test]
    fn derivations_depend_on_every_input() {
        let (r1, c1) = kdf_rk(&[1; 32], &[2; 32]);
        let (r2, c2) = kdf_rk(&[1; 32], &[3; 32]);
        let (r3, _) = kdf_rk(&[4; 32], &[2; 32]);
        assert!(*r1 != *r2 && *c1 != *c2 && *r1 != *r3 && *r1 != *c1);
        assert_ne!(*kdf_epoch(&[1; 32], &[2; 32]), *c1);
        assert_ne!(
            *x3dh(&[&[1; 32], &[2; 32], &[3; 32]]),
            *x3dh(&[&[1; 32], &[2; 32], &[4; 32]])
        );
        let (k, n) = message_keys(&[9; 32]);
        let (k2, n2) = message_keys(&[8; 32]);
        assert!(*k != *k2 && n != n2);
        assert_ne!(key_commitment(&[9; 32]), key_commitment(&[8; 32]));
        assert_ne!(&key_commitment(&[9; 32])[..], &k[..]);
    }

    #[test]
    fn key_commitment_is_hkdf_under_its_own_label() {
        // HKDF-SHA256(salt = 0^32, IKM = 0x07^32, info = "escrow-lab/v2/key-commitment")[..32],
        // computed independently (Python: hmac/hashlib, RFC 5869 extract then expand).
        assert_eq!(
            hex::encode(key_commitment(&[7; 32])),
            "ea24e41a196be023b34706074aac3fc81b3669aa674378abeb0ecca3770f2567"
        );
    }
}
