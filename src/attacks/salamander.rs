//! An AES-GCM ciphertext that authenticates under two keys: the "invisible salamander" of
//! Dodis, Grubbs, Ristenpart and Woodage (CRYPTO 2018), built as in Len, Grubbs and
//! Ristenpart, "Partitioning Oracle Attacks" (USENIX Security 2021, §3): GCM's tag is
//! `E_K(J0) ⊕ GHASH_H(A, C)`, linear in the ciphertext over GF(2^128), so with both keys known
//! one can choose 128 ciphertext bits so that the two tags coincide.
//!
//! This is attack tooling for the catalogue (row 27), not a primitive of the system. The
//! arithmetic is NIST SP 800-38D's: blocks as big-endian 128-bit integers, bit 0 the most
//! significant, multiplication by Algorithm 1 with `R = 0xE1 ‖ 0^120`;
//! `GHASH_H(X_1..X_m) = Σ X_i · H^(m−i+1)`; `J0 = N ‖ 0^31 ‖ 1` for a 96-bit nonce.
//!
//! Here the first key's plaintext is chosen: a given text, then a region whose bytes keep their
//! top bit clear under the first key (ASCII, so valid UTF-8) and whose low seven bits are the
//! unknowns of the linear system. Under the second key the same ciphertext decrypts to other
//! bytes. (The outside review of 2026-12 also made the second text valid UTF-8, by grinding
//! over keys; what matters to the attack is that AES-GCM accepts the one ciphertext twice.)

use aes::Aes256;
use aes::cipher::{BlockEncrypt, KeyInit};
use anyhow::{Result, ensure};

/// Multiplication in GCM's GF(2^128) (SP 800-38D, Algorithm 1).
fn gf_mul(x: u128, y: u128) -> u128 {
    const R: u128 = 0xE1 << 120;
    let mut z = 0u128;
    let mut v = y;
    for i in 0..128 {
        if (x >> (127 - i)) & 1 == 1 {
            z ^= v;
        }
        v = if v & 1 == 1 { (v >> 1) ^ R } else { v >> 1 };
    }
    z
}

/// The multiplicative identity (the bit string 1 ‖ 0^127).
const ONE: u128 = 1 << 127;

fn gf_pow(mut x: u128, mut e: u128) -> u128 {
    let mut acc = ONE;
    while e > 0 {
        if e & 1 == 1 {
            acc = gf_mul(acc, x);
        }
        x = gf_mul(x, x);
        e >>= 1;
    }
    acc
}

fn ghash(h: u128, blocks: &[u128]) -> u128 {
    blocks.iter().fold(0, |y, b| gf_mul(y ^ b, h))
}

/// One AES-256 key's view: `H`, `E_K(J0)` and the keystream.
struct View {
    h: u128,
    ej0: u128,
    aes: Aes256,
    nonce: [u8; 12],
}

impl View {
    fn new(key: &[u8; 32], nonce: &[u8; 12]) -> Self {
        let aes = Aes256::new(key.into());
        let mut v = Self {
            h: 0,
            ej0: 0,
            aes,
            nonce: *nonce,
        };
        v.h = v.block([0; 16]);
        v.ej0 = v.counter(1);
        v
    }

    fn block(&self, b: [u8; 16]) -> u128 {
        let mut g = b.into();
        self.aes.encrypt_block(&mut g);
        u128::from_be_bytes(g.into())
    }

    fn counter(&self, c: u32) -> u128 {
        let mut b = [0u8; 16];
        b[..12].copy_from_slice(&self.nonce);
        b[12..].copy_from_slice(&c.to_be_bytes());
        self.block(b)
    }

    /// Keystream byte `i` of the message (counter blocks from 2).
    fn keystream(&self, len: usize) -> Vec<u8> {
        (0..len.div_ceil(16))
            .flat_map(|i| self.counter(2 + i as u32).to_be_bytes())
            .take(len)
            .collect()
    }
}

fn blocks_of(bytes: &[u8]) -> Vec<u128> {
    bytes
        .chunks(16)
        .map(|c| {
            let mut b = [0u8; 16];
            b[..c.len()].copy_from_slice(c);
            u128::from_be_bytes(b)
        })
        .collect()
}

/// GHASH input blocks: AAD, ciphertext, lengths.
fn ghash_input(aad: &[u8], ct: &[u8]) -> Vec<u128> {
    let mut blocks = blocks_of(aad);
    blocks.extend(blocks_of(ct));
    blocks.push(((aad.len() as u128 * 8) << 64) | (ct.len() as u128 * 8));
    blocks
}

/// A ciphertext ‖ tag that AES-256-GCM accepts under (`k1`, `n1`) and under (`k2`, `n2`), with
/// associated data `aad`. Under the first key it decrypts to `text` followed by `free` bytes of
/// ASCII; `text` must be ASCII and `(text.len() + free)` a multiple of 16 with `free ≥ 19`.
pub fn collide(
    k1: &[u8; 32],
    n1: &[u8; 12],
    k2: &[u8; 32],
    n2: &[u8; 12],
    aad: &[u8],
    text: &[u8],
    free: usize,
) -> Result<Vec<u8>> {
    let len = text.len() + free;
    ensure!(
        len.is_multiple_of(16) && free * 7 >= 133 && text.is_ascii(),
        "bad layout"
    );
    let (a, b) = (View::new(k1, n1), View::new(k2, n2));
    let ks1 = a.keystream(len);
    // The ciphertext with every unknown bit zero: the text under key 1, and in the free region
    // the keystream's top bit (so that the plaintext's top bit is clear under key 1).
    let mut ct: Vec<u8> = (0..len)
        .map(|i| match text.get(i) {
            Some(t) => t ^ ks1[i],
            None => ks1[i] & 0x80,
        })
        .collect();
    let m = ghash_input(aad, &ct).len();
    let aad_blocks = aad.len().div_ceil(16);
    // Tag difference with the unknowns at zero; the system is Σ x_u · col_u = rhs.
    let rhs =
        a.ej0 ^ b.ej0 ^ ghash(a.h, &ghash_input(aad, &ct)) ^ ghash(b.h, &ghash_input(aad, &ct));
    let mut unknowns: Vec<(usize, u8)> = Vec::new();
    let mut cols: Vec<u128> = Vec::new();
    for pos in text.len()..len {
        let q = pos / 16;
        let e = (m - (aad_blocks + q)) as u128;
        let weight = gf_pow(a.h, e) ^ gf_pow(b.h, e);
        for bit in 0..7u8 {
            let delta = 1u128 << ((15 - pos % 16) * 8 + usize::from(bit));
            unknowns.push((pos, bit));
            cols.push(gf_mul(delta, weight));
        }
    }
    // Gaussian elimination over GF(2): each basis vector remembers which unknowns make it.
    let words = unknowns.len().div_ceil(128);
    let mut basis: Vec<(u128, Vec<u128>)> = Vec::new();
    for (u, col) in cols.iter().enumerate() {
        let mut v = *col;
        let mut combo = vec![0u128; words];
        combo[u / 128] |= 1 << (u % 128);
        for (bv, bc) in &basis {
            if v & (1 << (127 - bv.leading_zeros())) != 0 {
                v ^= bv;
                for (c, d) in combo.iter_mut().zip(bc) {
                    *c ^= d;
                }
            }
        }
        if v != 0 {
            basis.push((v, combo));
            basis.sort_by_key(|(bv, _)| std::cmp::Reverse(127 - bv.leading_zeros()));
        }
    }
    let mut target = rhs;
    let mut chosen = vec![0u128; words];
    for (bv, bc) in &basis {
        if target & (1 << (127 - bv.leading_zeros())) != 0 {
            target ^= bv;
            for (c, d) in chosen.iter_mut().zip(bc) {
                *c ^= d;
            }
        }
    }
    ensure!(
        target == 0,
        "the two keys' tag equation has no solution here"
    );
    for (u, (pos, bit)) in unknowns.iter().enumerate() {
        if chosen[u / 128] >> (u % 128) & 1 == 1 {
            ct[*pos] ^= 1 << bit;
        }
    }
    let tag = a.ej0 ^ ghash(a.h, &ghash_input(aad, &ct));
    ensure!(
        tag == b.ej0 ^ ghash(b.h, &ghash_input(aad, &ct)),
        "the tags do not coincide"
    );
    ct.extend_from_slice(&tag.to_be_bytes());
    Ok(ct)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use messenger::ratchet::{aead_open, aead_seal};

    #[test]
    fn gcm_arithmetic_matches_the_aes_gcm_crate() {
        // The tag of the empty message under empty AAD is E_K(J0); with one block of text,
        // the crate's ciphertext and tag agree with this module's keystream and GHASH.
        let (k, n) = ([7u8; 32], [9u8; 12]);
        let v = View::new(&k, &n);
        let sealed = aead_seal(&k, &n, b"", b"").unwrap();
        assert_eq!(u128::from_be_bytes(sealed[..16].try_into().unwrap()), v.ej0);
        let pt = b"sixteen bytes!!!";
        let sealed = aead_seal(&k, &n, b"aad", pt).unwrap();
        let ks = v.keystream(16);
        let ct: Vec<u8> = pt.iter().zip(&ks).map(|(p, k)| p ^ k).collect();
        assert_eq!(&sealed[..16], &ct[..]);
        let tag = v.ej0 ^ ghash(v.h, &ghash_input(b"aad", &ct));
        assert_eq!(&sealed[16..], &tag.to_be_bytes());
        assert_eq!(gf_mul(ONE, 12345), 12345);
        // The multiplicative group has order 2^128 − 1.
        assert_eq!(gf_pow(v.h, u128::MAX), ONE);
    }

    #[test]
    fn one_ciphertext_opens_under_two_keys() {
        let (k1, n1, k2, n2) = ([1u8; 32], [2u8; 12], [3u8; 32], [4u8; 12]);
        let c = collide(&k1, &n1, &k2, &n2, b"associated", b"meet at 3pm", 37).unwrap();
        let one = aead_open(&k1, &n1, b"associated", &c).unwrap();
        let two = aead_open(&k2, &n2, b"associated", &c).unwrap();
        assert!(one.starts_with(b"meet at 3pm") && one.is_ascii());
        assert_ne!(one.to_vec(), two.to_vec());
        // Any one bit changed and neither key accepts it.
        let mut bad = c.clone();
        bad[5] ^= 1;
        assert!(aead_open(&k1, &n1, b"associated", &bad).is_err());
        assert!(aead_open(&k2, &n2, b"associated", &bad).is_err());
    }
}
