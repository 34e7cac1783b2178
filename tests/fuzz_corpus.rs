//! The fuzz targets on stable: every file of `fuzz/corpus/<target>/` (the committed seeds and
//! what fuzzing kept) and of `fuzz/regressions/<target>/` (crash reproducers) is run through
//! its target (`escrow_lab::fuzzing`), which panics on any violation.
//!
//! `cargo test --test fuzz_corpus -- --ignored make_seed_corpus` regenerates the seeds (valid
//! files of every format, made through the libraries with fixed seeds).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::path::{Path, PathBuf};

use escrow_lab::fuzzing::{TARGETS, fixed_log, fixed_params};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn every_corpus_file_and_reproducer_passes_its_target() {
    let mut total = 0;
    for (name, target) in TARGETS {
        let seeds = files(&fuzz_dir().join("corpus").join(name));
        assert!(!seeds.is_empty(), "fuzz/corpus/{name} has no seed");
        let reproducers = files(&fuzz_dir().join("regressions").join(name));
        for f in seeds.iter().chain(&reproducers) {
            // A file a running fuzzer removed meanwhile (it reduces its corpus) is skipped.
            let data = match std::fs::read(f) {
                Ok(d) => d,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("{}: {e}", f.display()),
            };
            let run = std::panic::catch_unwind(|| target(&data));
            assert!(run.is_ok(), "{} fails its target", f.display());
            total += 1;
        }
    }
    assert!(total >= TARGETS.len());
}

/// Every target has a cargo-fuzz entry point.
#[test]
fn every_target_has_a_fuzz_entry_point() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for (name, _) in TARGETS {
        assert!(
            fuzz_dir()
                .join("fuzz_targets")
                .join(format!("{name}.rs"))
                .exists(),
            "fuzz/fuzz_targets/{name}.rs"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{name} in fuzz/Cargo.toml"
        );
    }
}

fn put(target: &str, name: &str, bytes: &[u8]) {
    let dir = fuzz_dir().join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
#[ignore = "writes fuzz/corpus; run by hand to regenerate the seeds"]
fn make_seed_corpus() {
    use escrow::transparency::store::LogStore;
    use escrow::transparency::{LogEntry, LogRecord};
    use escrow_lab::world::World;
    use rand_chacha::ChaCha20Rng;
    use rand_chacha::rand_core::SeedableRng;

    const T0: i64 = 1_795_600_800;
    const DAY: i64 = 86_400;
    let params = fixed_params();
    put("params", "params.json", &params.to_json().unwrap());
    // The shares of the fixed parameters (same seed as `fixed_params`).
    let names = vec!["court".into(), "ministry".into(), "oversight".into()];
    let req = escrow::SetupRequest::new(names, 2, time::OffsetDateTime::UNIX_EPOCH);
    let (_, shares) = escrow::dealer_setup(&req, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
    for s in &shares {
        let plain = escrow::hazmat::export_share_json(s).unwrap();
        put("share", &format!("{}.json", s.authority()), &plain);
    }
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let fast = escrow::sealed::KdfParams {
        m_kib: escrow::sealed::MIN_M_KIB,
        t: 1,
        p: 1,
    };
    let pass = escrow::sealed::Passphrase::new("seed".into()).unwrap();
    let key = escrow::sealed::SealKey::new(&pass, fast, &mut rng).unwrap();
    let plain = escrow::hazmat::export_share_json(&shares[0]).unwrap();
    put(
        "sealed",
        "share.sealed.json",
        &key.seal("authority-share", &plain).unwrap(),
    );

    // A world: two users, messages on two days, a warrant, approvals, a capture.
    let tmp = tempfile::tempdir().unwrap();
    let mut w = World::create(
        tmp.path(),
        &["court", "ministry", "oversight"],
        2,
        T0 - 10 * DAY,
        ChaCha20Rng::seed_from_u64(4),
    )
    .unwrap();
    w.register("alice", T0 - DAY).unwrap();
    w.register("bob", T0 - DAY).unwrap();
    let mut envelopes = Vec::new();
    for (i, t) in [T0, T0 + 60, T0 + DAY].iter().enumerate() {
        let (sent, env) = w
            .send_envelope("alice", "bob", &format!("m{i}"), *t)
            .unwrap();
        w.read("bob", t + 30).unwrap();
        envelopes.push((sent, env));
    }
    let (_, reply) = w.send_envelope("bob", "alice", "reply", T0 + 120).unwrap();
    envelopes.push((envelopes[0].0.clone(), reply));
    for (i, (_, env)) in envelopes.iter().enumerate() {
        put("envelope", &format!("envelope-{i}.json"), &env.to_json());
        if let Some(block) = env.start.as_ref().and_then(|s| s.escrow.as_ref()) {
            put(
                "wrap",
                &format!("wrap-{i}.bin"),
                &block.sender_wrap.to_bytes(),
            );
            put(
                "ibe_ciphertext",
                &format!("ciphertext-{i}.bin"),
                &block.recipient_wrap.to_bytes(),
            );
        }
    }
    w.save_clients().unwrap();
    for who in ["alice", "bob"] {
        let bytes = std::fs::read(tmp.path().join("clients").join(format!("{who}.json"))).unwrap();
        put("client_state", &format!("{who}.json"), &bytes);
    }
    let warrant = w
        .warrant("W-1", &["alice"], T0 - 3_600, T0 + 3_600, T0 + 9 * DAY)
        .unwrap();
    put("warrant", "warrant.json", &warrant.to_json().unwrap());
    let receipt = w.submit(&warrant, T0 + 2 * DAY).unwrap();
    let approval = w
        .approve("court", &warrant, &receipt, T0 + 2 * DAY)
        .unwrap();
    put("approval", "court.json", &approval.bytes);
    put(
        "key_share",
        "warrant-share.json",
        &approval.approval.warrant_share.to_json().unwrap(),
    );
    for (i, s) in approval.approval.identity_shares.iter().enumerate() {
        put(
            "key_share",
            &format!("identity-share-{i}.json"),
            &s.to_json().unwrap(),
        );
    }
    let capture = w
        .capture("alice", T0 - 3_600, T0 + 2 * DAY, T0 + 2 * DAY)
        .unwrap();
    put(
        "capture",
        "capture.json",
        &serde_json::to_vec_pretty(&capture).unwrap(),
    );
    let config = w.lab.load_log_config().unwrap();
    let store = w.lab.open_log_read_only(&config).unwrap();
    for i in 0..store.size().unwrap() {
        put(
            "log_entry",
            &format!("entry-{i}.json"),
            &store.entry(i).unwrap().to_bytes().unwrap(),
        );
    }

    // A receipt and a checkpoint under the fixed log configuration.
    let names: Vec<String> = vec!["court".into(), "ministry".into(), "oversight".into()];
    let log = escrow::transparency::generate_log(
        "escrow-lab",
        &names,
        &mut ChaCha20Rng::seed_from_u64(2),
    );
    assert_eq!(&log.config, fixed_log());
    let mut store = LogStore::in_memory(&log.config.origin).unwrap();
    let signer = escrow::transparency::log_signer(&log.log_key).unwrap();
    for i in 0..3u64 {
        let rec = LogRecord::new(LogEntry::WarrantExecuted {
            digest: format!("{i:064x}"),
            messages_decrypted: i,
            time: "2026-11-27T00:00:00Z".into(),
        });
        store.append(&rec, &signer).unwrap();
    }
    let bundle = escrow::transparency::proof::ProofBundle::build(&store, 1).unwrap();
    put("receipt", "receipt.json", &bundle.to_json().unwrap());
    put(
        "checkpoint",
        "checkpoint.note",
        &store.latest_checkpoint().unwrap(),
    );
    put("checkpoint", "log.json", &log.config.to_json().unwrap());

    // DKG messages of a 3-party run.
    let req = escrow::SetupRequest::new(
        vec!["a".into(), "b".into(), "c".into()],
        2,
        time::OffsetDateTime::UNIX_EPOCH,
    );
    let (_, _, _, t) = escrow::dkg::run_all(&req, &mut ChaCha20Rng::seed_from_u64(5)).unwrap();
    put("dkg_messages", "deal.json", &t.deals[0].to_json().unwrap());
    put(
        "dkg_messages",
        "response.json",
        &t.responses[0].to_json().unwrap(),
    );
    if let Some(j) = t.justifications.first() {
        put("dkg_messages", "justification.json", &j.to_json().unwrap());
    }
}
