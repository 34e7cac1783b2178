//! The fuzz targets on stable: every file of `fuzz/corpus/<target>/` (the committed seeds and
//! what fuzzing kept) and of `fuzz/regressions/<target>/` (crash reproducers) is run through
//! its target (`escrow_lab::fuzzing`), which panics on any violation.
//!
//! `cargo test --test fuzz_corpus -- --ignored make_seed_corpus` regenerates the seeds (valid
//! files of every format, made through the libraries with fixed seeds). A target passes any
//! input that does not parse, so the replay also requires every committed seed (a file with a
//! readable name; the fuzzer's additions have SHA-1 names) to be valid for its target, as
//! [`seed_is_valid`] says: a seed that stopped parsing would otherwise test nothing. Crash
//! reproducers need only pass their target.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::path::{Path, PathBuf};

use escrow_lab::fuzzing::{TARGETS, fixed_log, fixed_params};
use rand_chacha::rand_core::SeedableRng as _;

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

/// Whether `path` is a committed seed: not one the fuzzer added (named by the SHA-1 of its
/// bytes, 40 lowercase hex digits; `fuzz/.gitignore` keeps those out of git).
fn is_seed(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    !(name.len() == 40
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

fn parses<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e}"))
}

/// Whether `data`, a committed seed of `target` named `name`, is the valid input
/// `make_seed_corpus` wrote: it parses with the target's own parser, and what was made under
/// [`fixed_params`] or [`fixed_log`] passes their checks. The error names the failed parse.
fn seed_is_valid(target: &str, name: &str, data: &[u8]) -> Result<(), String> {
    use escrow::transparency::proof::ProofBundle;
    use escrow::transparency::{LogConfig, LogRecord, SignedCheckpoint};
    match target {
        "params" => parses("params", escrow::PublicParams::from_json(data)).map(drop),
        "share" => parses(
            "share (fixed parameters)",
            escrow::AuthorityShare::from_json(data, fixed_params()),
        )
        .map(drop),
        "sealed" => parses(
            "sealed authority share",
            escrow::sealed::check_format("authority-share", data),
        )
        .map(drop),
        "ibe_ciphertext" => {
            parses("IBE ciphertext", escrow::ibe::Ciphertext::from_bytes(data)).map(drop)
        }
        "wrap" => parses("wrap", escrow::Wrap::from_bytes(data)).map(drop),
        "envelope" => parses("envelope", messenger::Envelope::from_json(data)).map(drop),
        "warrant" => parses("warrant", escrow::warrant::Warrant::from_json(data)).map(drop),
        "approval" => parses("approval", escrow::approval::Approval::from_json(data)).map(drop),
        "key_share" => parses("key share", escrow::KeyShare::from_json(data)).map(drop),
        "receipt" => {
            let b = parses("receipt", ProofBundle::from_json(data))?;
            parses("receipt (fixed log)", b.verify(fixed_log())).map(drop)
        }
        "capture" => {
            let c = parses(
                "capture",
                serde_json::from_slice::<messenger::Capture>(data),
            )?;
            for e in c.envelopes.iter().chain(&c.chain_starts) {
                parses(
                    "captured envelope",
                    messenger::Envelope::from_value(&e.envelope),
                )?;
            }
            Ok(())
        }
        "checkpoint" if name.ends_with(".note") => parses(
            "checkpoint (fixed log)",
            SignedCheckpoint::verify(data, fixed_log()),
        )
        .map(drop),
        "checkpoint" => {
            let config = parses("log config", LogConfig::from_json(data))?;
            if &config == fixed_log() {
                Ok(())
            } else {
                Err("log config: not the fixed log's".into())
            }
        }
        "log_entry" => parses("log entry", LogRecord::from_bytes(data)).map(drop),
        "client_state" => parses("client state", messenger::Client::from_json(data)).map(drop),
        "dkg_messages" => {
            use escrow::dkg::{Deal, Finished, Join, Justification, Response};
            if Deal::from_json(data).is_ok()
                || Response::from_json(data).is_ok()
                || Justification::from_json(data).is_ok()
                || Join::from_json(data).is_ok()
                || Finished::from_json(data).is_ok()
            {
                Ok(())
            } else {
                Err("not a join, deal, response, justification or finished marker".into())
            }
        }
        _ => Err(format!(
            "no validity rule for target {target}: add one to seed_is_valid"
        )),
    }
}

/// Replays `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` under `fuzz`: the files
/// run, and one line per failure naming its file (a file that fails its target; a committed
/// seed that is not valid; a target without seeds).
fn replay(fuzz: &Path) -> (usize, Vec<String>) {
    let mut total = 0;
    let mut failures = Vec::new();
    for (name, target) in TARGETS {
        let seeds = files(&fuzz.join("corpus").join(name));
        if !seeds.iter().any(|f| is_seed(f)) {
            failures.push(format!("fuzz/corpus/{name} has no seed"));
        }
        let reproducers = files(&fuzz.join("regressions").join(name));
        for f in seeds.iter().chain(&reproducers) {
            // A file a running fuzzer removed meanwhile (it reduces its corpus) is skipped.
            let data = match std::fs::read(f) {
                Ok(d) => d,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("{}: {e}", f.display()),
            };
            let run = std::panic::catch_unwind(|| target(&data));
            if run.is_err() {
                failures.push(format!("{} fails its target", f.display()));
            }
            // Reproducers and the fuzzer's additions may be anything; a seed must be valid.
            if seeds.contains(f) && is_seed(f) {
                let file_name = f.file_name().unwrap().to_string_lossy();
                if let Err(e) = seed_is_valid(name, &file_name, &data) {
                    failures.push(format!(
                        "{}: a committed seed that does not parse ({e})",
                        f.display()
                    ));
                }
            }
            total += 1;
        }
    }
    (total, failures)
}

#[test]
fn every_corpus_file_and_reproducer_passes_its_target() {
    let (total, failures) = replay(&fuzz_dir());
    assert!(
        failures.is_empty(),
        "{} (regenerate the seeds: cargo test --test fuzz_corpus -- --ignored make_seed_corpus)",
        failures.join("\n")
    );
    assert!(total >= TARGETS.len());
}

/// The replay's seed check catches what it guards: in a copy of the corpus, a valid seed of
/// each target, cut to its first 7 bytes (and the fixed log's configuration replaced by another log's), is
/// reported by name, while an invalid file with a fuzzer's name and an invalid reproducer are
/// not. (Independent of the corpus being current: a target whose seeds are all stale already
/// fails the replay above, and gets no seed damaged here.)
#[test]
fn a_seed_that_no_longer_parses_fails_the_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let mut damaged = Vec::new();
    for (name, _) in TARGETS {
        let from = fuzz_dir().join("corpus").join(name);
        let to = tmp.path().join("corpus").join(name);
        std::fs::create_dir_all(&to).unwrap();
        let mut victim = None;
        for f in files(&from).into_iter().filter(|f| is_seed(f)) {
            let data = std::fs::read(&f).unwrap();
            let file_name = f.file_name().unwrap().to_string_lossy().into_owned();
            if victim.is_none() && seed_is_valid(name, &file_name, &data).is_ok() {
                victim = Some(to.join(&file_name));
                // Its first 7 bytes: a prefix no format accepts (half an
                // IBE ciphertext would still parse: its last part has any length).
                std::fs::write(to.join(&file_name), &data[..7]).unwrap();
            } else {
                std::fs::write(to.join(&file_name), &data).unwrap();
            }
        }
        damaged.extend(victim);
        std::fs::write(to.join("0".repeat(40)), b"not a seed").unwrap();
        let regressions = tmp.path().join("regressions").join(name);
        std::fs::create_dir_all(&regressions).unwrap();
        std::fs::write(regressions.join("crash-1"), b"\xff").unwrap();
    }
    // Another log's configuration parses, but is not what the checkpoints were made under.
    let other = escrow::transparency::generate_log(
        "escrow-lab",
        &["court".into(), "ministry".into(), "oversight".into()],
        &mut rand_chacha::ChaCha20Rng::from_seed([9; 32]),
    );
    let log_json = tmp.path().join("corpus/checkpoint/log.json");
    std::fs::write(&log_json, other.config.to_json().unwrap()).unwrap();
    damaged.push(log_json);
    assert!(damaged.len() > TARGETS.len() / 2, "{damaged:?}");
    let (_, failures) = replay(tmp.path());
    for f in &damaged {
        let line = format!("{}: a committed seed that does not parse", f.display());
        assert!(
            failures.iter().any(|l| l.starts_with(&line)),
            "{} not reported: {failures:#?}",
            f.display()
        );
    }
    assert!(
        !failures
            .iter()
            .any(|l| l.contains(&"0".repeat(40)) || l.contains("crash-1")),
        "{failures:#?}"
    );
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
    put("dkg_messages", "join.json", &t.joins[0].to_json().unwrap());
    put(
        "dkg_messages",
        "finished.json",
        &t.finished[0].to_json().unwrap(),
    );
}
