//! Secrets at rest and in memory: sealed files (Argon2id + AES-256-GCM) against the Argon2
//! reference vectors, round trips, wrong passphrases and every one-bit tamper refused; and the
//! audit of every secret type's `Debug` (it prints `***`, never the secret).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use escrow::hazmat::export_share_json;
use escrow::sealed::{self, KdfParams, Passphrase, SealKey};
use escrow::{Error, SetupRequest};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use test_support::lab::{self, THREE};
use time::OffsetDateTime;

/// The cheapest parameters a reader accepts, for tests that open many files.
const FAST: KdfParams = KdfParams {
    m_kib: sealed::MIN_M_KIB,
    t: 1,
    p: 1,
};

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.to_owned()).unwrap()
}

/// The reference implementation's Argon2id vector (phc-winner-argon2 `src/test.c`: version
/// 0x13, t = 2, m = 2^16 KiB, p = 1, "password", "somesalt"), through our `derive_key`: the
/// key of a sealed file is Argon2id v1.3 with no secret and no associated data.
#[test]
fn derive_key_is_argon2id_v13() {
    let k = sealed::derive_key(
        &pass("password"),
        b"somesalt",
        &KdfParams {
            m_kib: 1 << 16,
            t: 2,
            p: 1,
        },
    )
    .unwrap();
    assert_eq!(
        hex::encode(*k),
        "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"
    );
}

/// RFC 9106 §5.3 (Argon2id, with secret and associated data), through the `argon2` crate we
/// configure: the dependency computes the RFC's function.
#[test]
fn the_argon2_crate_passes_rfc_9106_section_5_3() {
    let params = argon2::ParamsBuilder::new()
        .m_cost(32)
        .t_cost(3)
        .p_cost(4)
        .data(argon2::AssociatedData::new(&[0x04; 12]).unwrap())
        .build()
        .unwrap();
    let ctx = argon2::Argon2::new_with_secret(
        &[0x03; 8],
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    )
    .unwrap();
    let mut out = [0u8; 32];
    ctx.hash_password_into(&[0x01; 32], &[0x02; 16], &mut out)
        .unwrap();
    assert_eq!(
        hex::encode(out),
        "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
    );
}

#[test]
fn a_sealed_file_opens_with_its_passphrase_only() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let bytes = sealed::seal(
        &pass("correct horse"),
        "authority-share",
        b"secret",
        &mut rng,
    )
    .unwrap();
    assert!(sealed::is_sealed(&bytes));
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains("\"m_kib\": 65536") && text.contains("\"t\": 3"),
        "{text}"
    );
    assert!(!text.contains(&hex::encode(b"secret")));
    let (plain, key) = sealed::open(&pass("correct horse"), "authority-share", &bytes).unwrap();
    assert_eq!(&plain[..], b"secret");
    // The key seals the next version of the file without deriving again; fresh nonce.
    let again = key.seal("authority-share", b"secret 2").unwrap();
    assert_ne!(again, bytes);
    let (plain, _) = sealed::open(&pass("correct horse"), "authority-share", &again).unwrap();
    assert_eq!(&plain[..], b"secret 2");
    assert!(matches!(
        sealed::open(&pass("wrong horse"), "authority-share", &bytes),
        Err(Error::WrongPassphrase)
    ));
    // A share sealed as something else is not opened as a share.
    let err = sealed::open(&pass("correct horse"), "client-state", &bytes).unwrap_err();
    assert!(
        err.to_string()
            .contains("seals a authority-share, not a client-state"),
        "{err}"
    );
    // Empty passphrases and absent variables are refused with a clear line.
    assert!(Passphrase::new(String::new()).is_err());
    let err = sealed::passphrase_from_env("ESCROW_LAB_TEST_UNSET_VARIABLE").unwrap_err();
    assert!(
        err.to_string().contains("ESCROW_LAB_TEST_UNSET_VARIABLE"),
        "{err}"
    );
}

#[test]
fn costly_or_weak_parameters_are_refused_before_any_work() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let key = SealKey::new(&pass("p"), FAST, &mut rng).unwrap();
    let text = String::from_utf8(key.seal("x", b"y").unwrap()).unwrap();
    for (from, to) in [
        ("\"m_kib\": 8192", "\"m_kib\": 4294967295"),
        ("\"m_kib\": 8192", "\"m_kib\": 1024"),
        ("\"t\": 1", "\"t\": 1000"),
        ("\"p\": 1", "\"p\": 0"),
    ] {
        let bad = text.replace(from, to);
        let err = sealed::open(&pass("p"), "x", bad.as_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("outside the accepted range"),
            "{to}: {err}"
        );
    }
    // A file naming other algorithms is refused by name.
    let bad = text.replace("argon2id", "scrypt");
    assert!(
        sealed::open(&pass("p"), "x", bad.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("unsupported")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any one-bit change anywhere in a sealed file is refused (by the parser, the parameter
    /// checks or the GCM tag) and never yields a plaintext.
    #[test]
    fn any_one_bit_tamper_is_refused(seed in any::<u64>(), bit in any::<prop::sample::Index>()) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let key = SealKey::new(&pass("p"), FAST, &mut rng).unwrap();
        let mut bytes = key.seal("x", b"the secret share").unwrap();
        let i = bit.index(bytes.len() * 8);
        bytes[i / 8] ^= 1 << (i % 8);
        prop_assert!(sealed::open(&pass("p"), "x", &bytes).is_err());
    }
}

/// Every secret type's `Debug` prints `***` and none of the secret's bytes.
#[test]
fn debug_never_shows_a_secret() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let names = vec!["court".to_owned(), "ministry".to_owned()];
    let req = SetupRequest::new(names.clone(), 2, OffsetDateTime::UNIX_EPOCH);
    let (params, shares) = escrow::dealer_setup(&req, &mut rng).unwrap();
    let share = &shares[0];
    let exported: serde_json::Value =
        serde_json::from_slice(&export_share_json(share).unwrap()).unwrap();
    let secret_hex = exported["secret_share"].as_str().unwrap().to_owned();
    let id = params.identity("alice", 7).unwrap();
    let key_shares: Vec<escrow::KeyShare> = shares
        .iter()
        .map(|s| s.release_identity_key_share(&params, &id).unwrap())
        .collect();
    let share_hex = hex::encode(key_shares[0].share_bytes());
    let key = escrow::combine_identity_key(&params, &id, &key_shares).unwrap();
    let key_hex = hex::encode(key.point().to_compressed());
    let prepared = escrow::PreparedIdentityKey::new(&key);
    let log = escrow::transparency::generate_log("r", &names, &mut rng);
    let party = escrow::dkg::PartyKeys::generate(&mut rng);
    let transport = party.transport.clone();
    let message_key = party.signing.clone();
    let dkg = escrow::dkg::DkgConfig::new(
        req.clone(),
        &[party.clone(), escrow::dkg::PartyKeys::generate(&mut rng)],
        &mut rng,
    );
    let (_, dealer) = escrow::dkg::deal(&dkg, 0, &party.signing, &mut rng).unwrap();
    let passphrase = pass("hunter2-hunter2");
    let seal_key = SealKey::new(&passphrase, FAST, &mut rng).unwrap();
    let signer = escrow::transparency::CosignatureSigner::new(&log.witness_keys[0].1, 0);

    let secrets: Vec<(&str, String)> = vec![
        ("AuthorityShare", format!("{share:?}")),
        ("KeyShare", format!("{:?}", key_shares[0])),
        ("IdentityKey", format!("{key:?}")),
        ("PreparedIdentityKey", format!("{prepared:?}")),
        ("NewLog", format!("{log:?}")),
        ("TransportKey", format!("{transport:?}")),
        ("MessageKey", format!("{message_key:?}")),
        ("PartyKeys", format!("{party:?}")),
        ("DealerSecret", format!("{dealer:?}")),
        ("Passphrase", format!("{passphrase:?}")),
        ("SealKey", format!("{seal_key:?}")),
        ("CosignatureSigner", format!("{:?}", signer.unwrap())),
    ];
    let forbidden = [
        secret_hex.as_str(),
        share_hex.as_str(),
        key_hex.as_str(),
        log.log_key.as_str(),
        log.witness_keys[0].1.as_str(),
        transport.secret_hex().to_string().leak(),
        message_key.secret_hex().to_string().leak(),
        "hunter2",
    ];
    for (what, shown) in &secrets {
        assert!(shown.contains("***"), "{what}: {shown}");
        for f in forbidden {
            assert!(!shown.contains(f), "{what} shows a secret: {shown}");
        }
    }
}

/// Sealing replaces the plain share under the log's lock: the plain bytes are overwritten
/// (a second name for the old file shows zeros), and a share retired in between is never
/// written back.
#[test]
fn sealing_wipes_the_plain_share_and_never_resurrects_a_retired_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let req = lab::request(&THREE, 2, OffsetDateTime::UNIX_EPOCH);
    let (plain_lab, params, _) = lab::dealer(tmp.path().join("lab"), &req, &mut rng);
    let lab = plain_lab.clone().with_passphrase(pass("p"));

    // court: sealed; the old inode, seen through a hard link, holds zeros only.
    let path = lab.share_path("court");
    let link = tmp.path().join("court.link");
    std::fs::hard_link(&path, &link).unwrap();
    let read = zeroize::Zeroizing::new(std::fs::read(&path).unwrap());
    let share = lab.load_share(&params, "court").unwrap();
    let sealed_bytes = lab.encode_share(&share).unwrap();
    lab.replace_shares(&params, &[("court".into(), read, sealed_bytes)], None)
        .unwrap();
    assert!(sealed::is_sealed(&std::fs::read(&path).unwrap()));
    let old = std::fs::read(&link).unwrap();
    assert!(!old.is_empty() && old.iter().all(|b| *b == 0));
    lab.load_share(&params, "court").unwrap();

    // ministry: read, then retired by another command, then the seal tries to write.
    let read = zeroize::Zeroizing::new(std::fs::read(lab.share_path("ministry")).unwrap());
    let share = lab.load_share(&params, "ministry").unwrap();
    let sealed_bytes = lab.encode_share(&share).unwrap();
    escrow::authority::retire(&lab, "ministry", Some(1), OffsetDateTime::UNIX_EPOCH).unwrap();
    let err = lab
        .replace_shares(&params, &[("ministry".into(), read, sealed_bytes)], None)
        .unwrap_err();
    assert!(matches!(err, Error::Retired { .. }), "{err}");
    assert!(!lab.share_path("ministry").exists());

    // oversight: changed on disk after it was read: refused, nothing written.
    let read = zeroize::Zeroizing::new(std::fs::read(lab.share_path("oversight")).unwrap());
    let share = lab.load_share(&params, "oversight").unwrap();
    let sealed_bytes = lab.encode_share(&share).unwrap();
    let mut changed = read.to_vec();
    changed.push(b'\n');
    std::fs::write(lab.share_path("oversight"), &changed).unwrap();
    let err = lab
        .replace_shares(&params, &[("oversight".into(), read, sealed_bytes)], None)
        .unwrap_err();
    assert!(
        err.to_string().contains("changed while this command ran"),
        "{err}"
    );
    assert_eq!(std::fs::read(lab.share_path("oversight")).unwrap(), changed);
}
