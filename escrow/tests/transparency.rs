//! The transparency log: external vectors (transparency-dev/merkle, the C2SP signed-note
//! example), property tests of proofs and tampering, witness equivocation, the monitor.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use escrow::transparency::monitor;
use escrow::transparency::proof::{ProofBundle, verify_consistency, verify_inclusion};
use escrow::transparency::store::LogStore;
use escrow::transparency::witness::WitnessState;
use escrow::transparency::{
    CosignatureSigner, CosignatureVerifier, LogConfig, LogEntry, LogRecord, NewLog,
    SignedCheckpoint, generate_log, log_signer,
};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use sha2::Digest;
use signed_note::{Note, StandardVerifier, VerifierList};
use test_support::sqlite::{trigger_sql, without_trigger};
use tlog_tiles::{Hash, record_hash};

fn vectors(kind: &str) -> Vec<(String, serde_json::Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/merkle")
        .join(kind);
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let v = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                out.push((p.display().to_string(), v));
            }
        }
    }
    out
}

fn hash(v: &serde_json::Value) -> Option<Hash> {
    let b = B64.decode(v.as_str()?).ok()?;
    Some(Hash(b.try_into().ok()?))
}

/// A root from the vectors. A few cases use placeholder roots that are not 32 bytes ("don't
/// care 2") where only their equality matters; a typed 32-byte root cannot hold them, so they
/// are mapped through SHA-256, which keeps equal roots equal and different ones different.
fn root(v: &serde_json::Value) -> Option<Hash> {
    let b = B64.decode(v.as_str()?).ok()?;
    Some(match <[u8; 32]>::try_from(b.as_slice()) {
        Ok(h) => Hash(h),
        Err(_) => Hash(sha2::Sha256::digest(&b).into()),
    })
}

fn hashes(v: &serde_json::Value) -> Option<Vec<Hash>> {
    match v {
        serde_json::Value::Null => Some(Vec::new()),
        serde_json::Value::Array(a) => a.iter().map(hash).collect(),
        _ => None,
    }
}

#[test]
fn transparency_dev_inclusion_vectors() {
    let all = vectors("inclusion");
    assert!(all.len() > 50, "{}", all.len());
    for (name, v) in all {
        let result = match (hashes(&v["proof"]), root(&v["root"]), hash(&v["leafHash"])) {
            (Some(p), Some(root), Some(leaf)) => verify_inclusion(
                &p,
                v["treeSize"].as_u64().unwrap(),
                root,
                v["leafIdx"].as_u64().unwrap(),
                leaf,
            )
            .is_ok(),
            _ => false, // malformed hashes can only be refused
        };
        assert_eq!(
            result,
            !v["wantErr"].as_bool().unwrap(),
            "{name}: {}",
            v["desc"]
        );
    }
}

#[test]
fn transparency_dev_consistency_vectors() {
    let all = vectors("consistency");
    assert!(all.len() > 50, "{}", all.len());
    for (name, v) in all {
        let result = match (hashes(&v["proof"]), root(&v["root1"]), root(&v["root2"])) {
            (Some(p), Some(r1), Some(r2)) => verify_consistency(
                &p,
                v["size1"].as_u64().unwrap(),
                r1,
                v["size2"].as_u64().unwrap(),
                r2,
            )
            .is_ok(),
            _ => false,
        };
        assert_eq!(
            result,
            !v["wantErr"].as_bool().unwrap(),
            "{name}: {}",
            v["desc"]
        );
    }
}

/// The example of the C2SP signed-note specification (also in golang.org/x/mod/sumdb/note).
#[test]
fn c2sp_signed_note_example() {
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let msg = "If you think cryptography is the answer to your problem,\n\
               then you don't know what your problem is.\n\
               \n\
               — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    let config = LogConfig {
        submitters: Vec::new(),
        version: 1,
        origin: "PeterNeumann".into(),
        log_key: vkey.into(),
        witnesses: vec![],
    };
    let verifier = config.log_verifier().unwrap();
    let list = || VerifierList::new(vec![Box::new(StandardVerifier::new(vkey).unwrap())]);
    let note = Note::from_bytes(msg.as_bytes()).unwrap();
    let (ok, _) = note.verify(&list()).unwrap();
    assert_eq!(ok[0].id(), 0xc74f20a3);
    assert_eq!(signed_note::Verifier::key_id(&verifier), 0xc74f20a3);
    let tampered = msg.replace("answer", "answEr");
    assert!(
        Note::from_bytes(tampered.as_bytes())
            .unwrap()
            .verify(&list())
            .is_err()
    );
    // Not a checkpoint, so our checkpoint parser refuses it even though the signature is good.
    assert!(SignedCheckpoint::verify(msg.as_bytes(), &config).is_err());
}

fn new_log(seed: u8) -> NewLog {
    let names = ["court", "ministry", "oversight"].map(str::to_owned);
    generate_log("lab", &names, &mut ChaCha20Rng::from_seed([seed; 32]))
}

/// A `warrant-logged` record (an entry with no precondition in the warrant process, which
/// the monitor checks), with `i` targets.
fn record(i: u64) -> LogRecord {
    LogRecord::new(LogEntry::WarrantLogged {
        digest: format!("{i:064x}"),
        reference: format!("W-{i}"),
        target_count: i as u32,
        epoch_count: 1,
        issuing_authority: "court".into(),
        time: "2026-11-27T00:00:00Z".into(),
    })
}

/// A log whose entry 0 is `generation-created` (checkpoint of size 1), then the batches of
/// `warrant-logged` records, one checkpoint per batch.
fn filled(log: &NewLog, batches: &[usize]) -> LogStore {
    let mut store = LogStore::in_memory(&log.config.origin).unwrap();
    let signer = log_signer(&log.log_key).unwrap();
    let genesis = LogRecord::new(LogEntry::GenerationCreated {
        realm: "lab".into(),
        generation: 1,
        master_public_key: "00".repeat(48),
        threshold: 2,
        authorities: vec!["court".into(), "ministry".into(), "oversight".into()],
        time: "2026-11-27T00:00:00Z".into(),
        valid_from: None,
        valid_until: None,
    });
    store.append(&genesis, &signer).unwrap();
    let mut i = 0;
    for b in batches {
        let recs: Vec<LogRecord> = (0..*b as u64).map(|k| record(i + k)).collect();
        i += *b as u64;
        store.append_batch(&recs, &signer).unwrap();
    }
    store
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random append sequences: every inclusion proof verifies against every later checkpoint,
    /// every pair of checkpoints has a verifying consistency proof, and any changed entry,
    /// proof hash or checkpoint byte is detected.
    #[test]
    fn proofs_hold_and_tampering_is_detected(
        batches in prop::collection::vec(1usize..6, 1..8),
        pick in any::<prop::sample::Index>(),
        byte in any::<prop::sample::Index>(),
    ) {
        let log = new_log(1);
        let store = filled(&log, &batches);
        let sizes = store.checkpoint_sizes().unwrap();
        let cps: Vec<SignedCheckpoint> = sizes
            .iter()
            .map(|s| SignedCheckpoint::verify(&store.checkpoint_at(*s).unwrap(), &log.config).unwrap())
            .collect();
        let n = store.size().unwrap();
        for i in 0..n {
            let data = store.entry(i).unwrap().to_bytes().unwrap();
            for cp in cps.iter().filter(|c| c.size() > i) {
                let p = store.prove_inclusion(i, cp.size()).unwrap();
                prop_assert!(verify_inclusion(&p, cp.size(), cp.root(), i, record_hash(&data)).is_ok());
            }
        }
        for a in &cps {
            for b in cps.iter().filter(|b| b.size() >= a.size()) {
                let p = store.prove_consistency(a.size(), b.size()).unwrap();
                prop_assert!(verify_consistency(&p, a.size(), a.root(), b.size(), b.root()).is_ok());
            }
        }
        // Tampering: an entry byte, a proof hash, a checkpoint byte.
        let last = cps.last().unwrap();
        let i = pick.index(n as usize) as u64;
        let mut data = store.entry(i).unwrap().to_bytes().unwrap();
        let k = byte.index(data.len());
        data[k] ^= 0x01;
        let p = store.prove_inclusion(i, last.size()).unwrap();
        prop_assert!(verify_inclusion(&p, last.size(), last.root(), i, record_hash(&data)).is_err());
        if !p.is_empty() {
            let mut bad = p.clone();
            let j = byte.index(bad.len());
            bad[j].0[k % 32] ^= 0x80;
            let good = store.entry(i).unwrap().to_bytes().unwrap();
            prop_assert!(verify_inclusion(&bad, last.size(), last.root(), i, record_hash(&good)).is_err());
        }
        let mut note = store.checkpoint_at(last.size()).unwrap();
        let j = byte.index(note.len());
        note[j] ^= 0x01;
        prop_assert!(SignedCheckpoint::verify(&note, &log.config).is_err());
        // A proof bundle survives a round trip and fails when any field changes.
        let bundle = ProofBundle::build(&store, i).unwrap();
        let back = ProofBundle::from_json(&bundle.to_json().unwrap()).unwrap();
        prop_assert!(back.verify(&log.config).is_ok());
        let mut b = back.clone();
        b.index = (i + 1) % n.max(2);
        prop_assert!(b.index == i || b.verify(&log.config).is_err());
        let mut b = back.clone();
        let mut e = B64.decode(&b.entry).unwrap();
        e[k] ^= 0x01;
        b.entry = B64.encode(e);
        prop_assert!(b.verify(&log.config).is_err());
    }
}

#[test]
fn a_forked_log_is_caught_by_the_witness_and_the_monitor() {
    let log = new_log(2);
    let signer = log_signer(&log.log_key).unwrap();
    let mut honest = filled(&log, &[3, 2]);
    // The fork: same key, same first four entries, a different fifth, then one more.
    let mut fork = filled(&log, &[3, 1]);
    fork.append(&record(99), &signer).unwrap();
    fork.append(&record(100), &signer).unwrap();

    let witness = CosignatureSigner::new(&log.witness_keys[0].1, 1_800_000_000).unwrap();
    let mut state = WitnessState::new("court");
    let note = honest.latest_checkpoint().unwrap();
    let (cp, line) = state
        .cosign(
            &log.config,
            &note,
            &mut |a, b| honest.prove_consistency(a, b),
            &witness,
        )
        .unwrap();
    assert_eq!(cp.size(), 6);
    honest
        .add_cosignature(6, &court_witness(&log), &line)
        .unwrap();
    let cosigned =
        SignedCheckpoint::verify(&honest.latest_checkpoint().unwrap(), &log.config).unwrap();
    assert!(cosigned.cosigned_by(&log.config, "court").unwrap());
    assert!(!cosigned.cosigned_by(&log.config, "ministry").unwrap());

    // Shown the fork's newer checkpoint (with the fork's own proofs): refused, both named.
    let forked = fork.latest_checkpoint().unwrap();
    let err = state
        .check(&log.config, &forked, &mut |a, b| {
            fork.prove_consistency(a, b)
        })
        .unwrap_err()
        .to_string();
    let fork_cp = SignedCheckpoint::verify(&forked, &log.config).unwrap();
    assert!(err.starts_with("log equivocation"), "{err}");
    assert!(
        err.contains(&cp.label()) && err.contains(&fork_cp.label()),
        "{err}"
    );
    // The same size with another root, and an older checkpoint, are refused too.
    let fork6 = fork.checkpoint_at(6).unwrap();
    let err = state.check(&log.config, &fork6, &mut |a, b| {
        fork.prove_consistency(a, b)
    });
    assert!(err.unwrap_err().to_string().starts_with("log equivocation"));
    let older = honest.checkpoint_at(4).unwrap();
    let err = state.check(&log.config, &older, &mut |a, b| {
        honest.prove_consistency(a, b)
    });
    assert!(err.unwrap_err().to_string().starts_with("log rollback"));
    // The honest log moves on: accepted.
    honest.append(&record(5), &signer).unwrap();
    let next = honest.latest_checkpoint().unwrap();
    assert!(
        state
            .check(&log.config, &next, &mut |a, b| honest
                .prove_consistency(a, b))
            .is_ok()
    );

    // A log shown to one authority with the fork's checkpoint stored in it: the monitor, which
    // recomputes every root from the entries, reports the equivocation.
    assert!(monitor::verify(&honest, &log.config).is_ok());
    let fork6_label = SignedCheckpoint::verify(&fork6, &log.config)
        .unwrap()
        .label();
    let conn = escrow::hazmat::log_connection(&honest);
    without_trigger(conn, "checkpoints_no_delete", || {
        conn.execute("DELETE FROM checkpoints WHERE size = 6", [])
            .unwrap();
        conn.execute(
            "INSERT INTO checkpoints VALUES (6, ?1)",
            [String::from_utf8(fork6).unwrap()],
        )
        .unwrap();
    });
    let err = monitor::verify(&honest, &log.config)
        .unwrap_err()
        .to_string();
    // The stored checkpoint 6 is the fork's, whose root the entries do not give.
    assert!(
        err.starts_with("log equivocation") && err.contains(&fork6_label),
        "{err}"
    );
}

#[test]
fn the_store_is_append_only_and_the_monitor_sees_direct_tampering() {
    let log = new_log(3);
    let mut store = filled(&log, &[4, 3]);
    let signer = CosignatureSigner::new(&log.witness_keys[0].1, 7).unwrap();
    let note = store.latest_checkpoint().unwrap();
    let (_, line) = WitnessState::new("court")
        .cosign(
            &log.config,
            &note,
            &mut |a, b| store.prove_consistency(a, b),
            &signer,
        )
        .unwrap();
    store
        .add_cosignature(8, &court_witness(&log), &line)
        .unwrap();
    // The same line again is a no-op; another line for the same size and witness is refused.
    store
        .add_cosignature(8, &court_witness(&log), &line)
        .unwrap();
    assert!(
        store
            .add_cosignature(8, &court_witness(&log), "— other\n")
            .is_err()
    );
    let conn = escrow::hazmat::log_connection(&store);
    for sql in [
        "UPDATE entries SET data = x'00' WHERE idx = 1",
        "DELETE FROM entries WHERE idx = 7",
        "UPDATE hashes SET hash = x'00' WHERE idx = 0",
        "DELETE FROM checkpoints",
        "DELETE FROM cosignatures",
    ] {
        let err = conn.execute(sql, []).unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    let report = monitor::verify(&store, &log.config).unwrap();
    assert_eq!((report.size, report.checkpoints), (8, 3));
    // Seven warrants logged, none released.
    assert_eq!(report.stats.warrants_per_month.get("2026-11"), Some(&7));
    assert_eq!(report.stats.identities_released, 0);
    assert_eq!(report.cosignatures.get("court"), Some(&1));

    // Dropping a trigger is itself reported; with the trigger back, the rewritten entry is.
    let trigger = trigger_sql(conn, "entries_no_update");
    conn.execute_batch("DROP TRIGGER entries_no_update;")
        .unwrap();
    let err = monitor::verify(&store, &log.config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("trigger entries_no_update"), "{err}");
    let before = store.entry(3).unwrap().to_bytes().unwrap();
    let data = String::from_utf8(before.clone())
        .unwrap()
        .replace("\"target_count\":2", "\"target_count\":9");
    assert_ne!(data.as_bytes(), &before[..], "the rewrite changes nothing");
    conn.execute(
        "UPDATE entries SET data = ?1 WHERE idx = 3",
        [data.as_bytes()],
    )
    .unwrap();
    conn.execute_batch(&trigger).unwrap();
    assert!(store.missing_schema().unwrap().is_empty());
    let err = monitor::verify(&store, &log.config)
        .unwrap_err()
        .to_string();
    // Entry 3's leaf is stored hash 4 (tlog: 3 + 3/2); what is found is the rewritten entry.
    assert!(
        err.starts_with("log tampered")
            && (err.contains("stored hash 4") || err.contains("entry 3")),
        "{err}"
    );
}

#[test]
fn entries_must_be_canonical() {
    let r = record(1);
    let bytes = r.to_bytes().unwrap();
    assert_eq!(LogRecord::from_bytes(&bytes).unwrap(), r);
    let spaced = String::from_utf8(bytes.clone()).unwrap().replace(",", ", ");
    assert!(LogRecord::from_bytes(spaced.as_bytes()).is_err());
    let v2 = String::from_utf8(bytes)
        .unwrap()
        .replace("\"version\":1", "\"version\":2");
    assert!(LogRecord::from_bytes(v2.as_bytes()).is_err());
}

#[test]
fn cosignatures_are_bound_to_key_time_and_text() {
    let log = new_log(4);
    let store = filled(&log, &[2]);
    let note = store.latest_checkpoint().unwrap();
    let signer = CosignatureSigner::new(&log.witness_keys[1].1, 42).unwrap();
    let mut state = WitnessState::new("ministry");
    let (_, line) = state
        .cosign(
            &log.config,
            &note,
            &mut |a, b| store.prove_consistency(a, b),
            &signer,
        )
        .unwrap();
    let with = [note.clone(), line.clone().into_bytes()].concat();
    let cp = SignedCheckpoint::verify(&with, &log.config).unwrap();
    assert!(cp.cosigned_by(&log.config, "ministry").unwrap());
    // Another authority's key does not verify it (different key id: simply absent).
    assert!(!cp.cosigned_by(&log.config, "court").unwrap());
    // A flipped bit in the timestamp or signature is an invalid cosignature.
    let (prefix, b64) = line.trim_end().rsplit_once(' ').unwrap();
    let mut sig = B64.decode(b64).unwrap();
    sig[7] ^= 1;
    let bad = format!("{prefix} {}\n", B64.encode(&sig));
    let cp = SignedCheckpoint::verify(&[note, bad.into_bytes()].concat(), &log.config).unwrap();
    assert!(cp.cosigned_by(&log.config, "ministry").is_err());
    // Key strings round trip through the config.
    let cfg = LogConfig::from_json(&log.config.to_json().unwrap()).unwrap();
    assert_eq!(cfg, log.config);
}

fn court_witness(log: &NewLog) -> String {
    signed_note::Verifier::name(&log.config.witness("court").unwrap()).to_owned()
}

#[test]
fn the_monitor_checks_every_stored_cosignature_line() {
    let log = new_log(5);
    let mut store = filled(&log, &[2]);
    let note = store.latest_checkpoint().unwrap();
    let court = CosignatureSigner::new(&log.witness_keys[0].1, 9).unwrap();
    let ministry = CosignatureSigner::new(&log.witness_keys[1].1, 9).unwrap();
    assert!(court.matches(&log.config, "court").unwrap());
    assert!(!ministry.matches(&log.config, "court").unwrap());
    let (_, court_line) = WitnessState::new("court")
        .cosign(
            &log.config,
            &note,
            &mut |a, b| store.prove_consistency(a, b),
            &court,
        )
        .unwrap();
    let (_, ministry_line) = WitnessState::new("ministry")
        .cosign(
            &log.config,
            &note,
            &mut |a, b| store.prove_consistency(a, b),
            &ministry,
        )
        .unwrap();
    // ministry's line filed as court's: refused (name and key ID must be court's).
    let mut bad = filled(&log, &[2]);
    bad.add_cosignature(3, &court_witness(&log), &ministry_line)
        .unwrap();
    let err = monitor::verify(&bad, &log.config).unwrap_err().to_string();
    assert!(
        err.contains("cosignature") && err.contains("court"),
        "{err}"
    );
    // A line with one bit of its key ID flipped: refused, not silently ignored.
    let (prefix, b64) = court_line.trim_end().rsplit_once(' ').unwrap();
    let mut raw = B64.decode(b64).unwrap();
    raw[0] ^= 1;
    let flipped = format!("{prefix} {}\n", B64.encode(&raw));
    let mut bad = filled(&log, &[2]);
    bad.add_cosignature(3, &court_witness(&log), &flipped)
        .unwrap();
    assert!(monitor::verify(&bad, &log.config).is_err());
    // Filed under a name no witness has: refused.
    let mut bad = filled(&log, &[2]);
    bad.add_cosignature(3, "stranger", &court_line).unwrap();
    assert!(
        monitor::verify(&bad, &log.config)
            .unwrap_err()
            .to_string()
            .contains("unknown witness")
    );
    // The honest line counts.
    store
        .add_cosignature(3, &court_witness(&log), &court_line)
        .unwrap();
    let report = monitor::verify(&store, &log.config).unwrap();
    assert_eq!(report.cosignatures.get("court"), Some(&1));
}

#[test]
fn the_monitor_refuses_empty_truncated_and_uncovered_logs() {
    let log = new_log(6);
    let empty = LogStore::in_memory(&log.config.origin).unwrap();
    assert!(
        monitor::verify(&empty, &log.config)
            .unwrap_err()
            .to_string()
            .contains("empty")
    );
    // A checkpoint someone accepted that the log no longer contains (truncated or rewritten).
    let long = filled(&log, &[3, 3]);
    let accepted =
        SignedCheckpoint::verify(&long.latest_checkpoint().unwrap(), &log.config).unwrap();
    let short = filled(&log, &[3]);
    let err = monitor::verify_with(&short, &log.config, &[("court".into(), accepted)])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("log equivocation") && err.contains("accepted by court"),
        "{err}"
    );
    // Entries beyond the newest checkpoint.
    let uncovered = filled(&log, &[2]);
    let conn = escrow::hazmat::log_connection(&uncovered);
    without_trigger(conn, "checkpoints_no_delete", || {
        let n = conn
            .execute("DELETE FROM checkpoints WHERE size = 3", [])
            .unwrap();
        assert_eq!(n, 1);
    });
    let err = monitor::verify(&uncovered, &log.config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no checkpoint covers all 3 entries"), "{err}");
}

#[test]
fn appends_refuse_malformed_or_oversized_entries() {
    let log = new_log(7);
    let mut store = filled(&log, &[1]);
    let signer = log_signer(&log.log_key).unwrap();
    let bad_digest = LogRecord::new(LogEntry::WarrantExecuted {
        digest: "aaaaaaaaaaaé".into(),
        messages_decrypted: 1,
        time: "2026-11-27T00:00:00Z".into(),
    });
    assert!(store.append(&bad_digest, &signer).is_err());
    let huge = LogRecord::new(LogEntry::WarrantLogged {
        digest: "0".repeat(64),
        reference: "r".into(),
        target_count: 1,
        epoch_count: 1,
        issuing_authority: "x".repeat(20_000),
        time: "2026-11-27T00:00:00Z".into(),
    });
    assert!(store.append(&huge, &signer).is_err());
    assert_eq!(store.size().unwrap(), 2);
    assert!(monitor::verify(&store, &log.config).is_ok());
    // Statistics saturate instead of overflowing.
    let big = |_| {
        LogRecord::new(LogEntry::WarrantExecuted {
            digest: "0".repeat(64),
            messages_decrypted: u64::MAX,
            time: "2026-11-27T00:00:00Z".into(),
        })
    };
    let s = monitor::stats(&[big(0), big(1)]);
    // Two executions of one warrant: its messages are counted once.
    assert_eq!(s.messages_decrypted, u64::MAX);
    assert_eq!((s.executions, s.warrants_executed), (2, 1));
}

/// The cosignature line of the C2SP tlog-cosignature specification's example. The spec does
/// not publish the witness's public key, so the signature cannot be checked; the layout can:
/// base64(key ID (4) ‖ u64_be timestamp (8) ‖ Ed25519 signature (64)), as our signer writes.
#[test]
fn c2sp_cosignature_example_layout() {
    let line = "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
    let sig = signed_note::Signature::from_bytes(line.as_bytes()).unwrap();
    assert_eq!(sig.name(), "witness.example.com/w1");
    assert_eq!(sig.signature().len(), 72);
    let t = CosignatureVerifier::time_of(sig.signature()).unwrap();
    assert_eq!(t, 1_679_315_147); // 2023-03-20T12:25:47Z, when the example was made
    // Ours has the same shape.
    let log = new_log(8);
    let store = filled(&log, &[1]);
    let signer = CosignatureSigner::new(&log.witness_keys[2].1, 1_679_315_147).unwrap();
    let (_, ours) = WitnessState::new("oversight")
        .cosign(
            &log.config,
            &store.latest_checkpoint().unwrap(),
            &mut |a, b| store.prove_consistency(a, b),
            &signer,
        )
        .unwrap();
    let ours = signed_note::Signature::from_bytes(ours.trim_end().as_bytes()).unwrap();
    assert_eq!(ours.signature().len(), 72);
    assert_eq!(
        CosignatureVerifier::time_of(ours.signature()),
        Some(1_679_315_147)
    );
}

#[test]
fn entry_times_never_go_backwards() {
    let log = new_log(9);
    let mut store = filled(&log, &[1]);
    let signer = log_signer(&log.log_key).unwrap();
    let at = |t: &str| {
        LogRecord::new(LogEntry::WarrantExecuted {
            digest: "1".repeat(64),
            messages_decrypted: 0,
            time: t.into(),
        })
    };
    // Entries 0 and 1 are dated 2026-11-27T00:00:00Z: one second earlier is refused, the same
    // instant and later are fine, and nothing is appended by the refusal.
    let err = store
        .append(&at("2026-11-26T23:59:59Z"), &signer)
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(
            "2026-11-26T23:59:59Z is before log entry 1 (warrant-logged) at 2026-11-27T00:00:00Z"
        ),
        "{msg}"
    );
    assert_eq!(store.size().unwrap(), 2);
    store.append(&at("2026-11-27T00:00:00Z"), &signer).unwrap();
    store.append(&at("2026-11-28T00:00:00Z"), &signer).unwrap();
    assert!(
        store
            .append_batch(
                &[at("2026-11-29T00:00:00Z"), at("2026-11-28T12:00:00Z")],
                &signer
            )
            .is_err()
    );
    assert_eq!(store.size().unwrap(), 4);

    // A log written around the tools (an entry inserted with its hashes, backdated) fails the
    // monitor's check, naming the entry.
    let n = store.size().unwrap();
    let data = at("2026-11-01T00:00:00Z").to_bytes().unwrap();
    let conn = escrow::hazmat::log_connection(&store);
    struct Db<'a>(&'a rusqlite::Connection);
    impl tlog_tiles::HashReader for Db<'_> {
        fn read_hashes(&self, idx: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
            idx.iter()
                .map(|i| {
                    let b: Vec<u8> = self
                        .0
                        .query_row("SELECT hash FROM hashes WHERE idx = ?1", [*i as i64], |r| {
                            r.get(0)
                        })
                        .map_err(|_| tlog_tiles::Error::IndexesNotInTree)?;
                    Ok(Hash(
                        b.try_into()
                            .map_err(|_| tlog_tiles::Error::IndexesNotInTree)?,
                    ))
                })
                .collect()
        }
    }
    let hashes = tlog_tiles::stored_hashes(n, &data, &Db(conn)).unwrap();
    let first = tlog_tiles::stored_hash_index(0, n);
    conn.execute(
        "INSERT INTO entries VALUES (?1, ?2)",
        rusqlite::params![n as i64, data],
    )
    .unwrap();
    for (i, h) in hashes.iter().enumerate() {
        conn.execute(
            "INSERT INTO hashes VALUES (?1, ?2)",
            rusqlite::params![(first + i as u64) as i64, &h.0[..]],
        )
        .unwrap();
    }
    let err = monitor::verify(&store, &log.config)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("entry {n}")) && err.contains("never goes backwards"),
        "{err}"
    );
}

#[test]
fn statistics_count_identities_once_and_shares_per_authority() {
    let rel = |d: u64, a: &str, n: u32| {
        LogRecord::new(LogEntry::KeyReleased {
            digest: format!("{d:064x}"),
            authority: a.into(),
            identity_count: n,
            time: "2026-11-27T00:00:00Z".into(),
        })
    };
    let exec = |d: u64, m: u64| {
        LogRecord::new(LogEntry::WarrantExecuted {
            digest: format!("{d:064x}"),
            messages_decrypted: m,
            time: "2026-11-27T00:00:00Z".into(),
        })
    };
    // One warrant on one target for two days, released by 4 authorities; another warrant of
    // one identity by 1 authority; the first executed twice (an old log's repeat).
    let recs = [
        rel(1, "a", 2),
        rel(1, "b", 2),
        rel(1, "c", 2),
        rel(1, "d", 2),
        rel(2, "a", 1),
        exec(1, 5),
        exec(1, 5),
    ];
    let s = monitor::stats(&recs);
    assert_eq!(s.warrants_with_releases, 2);
    assert_eq!(s.identities_released, 3);
    assert_eq!(s.identity_key_shares_released, 9);
    assert_eq!(
        (s.executions, s.warrants_executed, s.messages_decrypted),
        (2, 1, 5)
    );
    assert_eq!(s.releases_by_authority.get("a"), Some(&2));
    // Under a threshold of 2 the warrant released by one authority released nothing usable.
    let genesis = LogRecord::new(LogEntry::GenerationCreated {
        realm: "lab".into(),
        generation: 1,
        master_public_key: "00".repeat(48),
        threshold: 2,
        authorities: ["a", "b", "c", "d"].map(String::from).to_vec(),
        time: "2026-11-27T00:00:00Z".into(),
        valid_from: None,
        valid_until: None,
    });
    let with_k: Vec<LogRecord> = std::iter::once(genesis).chain(recs).collect();
    let s = monitor::stats(&with_k);
    assert_eq!(
        (s.warrants_with_releases, s.warrants_below_threshold),
        (1, 1)
    );
    assert_eq!(
        (s.identities_released, s.identity_key_shares_released),
        (2, 9)
    );
}

#[test]
fn the_monitor_refuses_executions_the_process_forbids() {
    let log = new_log(11);
    let signer = log_signer(&log.log_key).unwrap();
    let t = "2026-11-27T00:00:00Z";
    let logged = |d: u64| {
        LogRecord::new(LogEntry::WarrantLogged {
            digest: format!("{d:064x}"),
            reference: format!("W-{d}"),
            target_count: 1,
            epoch_count: 1,
            issuing_authority: "court".into(),
            time: t.into(),
        })
    };
    let rel = |d: u64, a: &str| {
        LogRecord::new(LogEntry::KeyReleased {
            digest: format!("{d:064x}"),
            authority: a.into(),
            identity_count: 1,
            time: t.into(),
        })
    };
    let exec = |d: u64| {
        LogRecord::new(LogEntry::WarrantExecuted {
            digest: format!("{d:064x}"),
            messages_decrypted: 1,
            time: t.into(),
        })
    };
    // `filled` starts with generation-created, threshold 2.
    let big = LogRecord::new(LogEntry::KeyReleased {
        digest: format!("{:064x}", 1),
        authority: "court".into(),
        identity_count: 1_000_000,
        time: t.into(),
    });
    let cases: [(&str, Vec<LogRecord>); 8] = [
        ("not logged before it", vec![rel(1, "court"), logged(1)]),
        (
            "'mallory', not an authority",
            vec![logged(1), rel(1, "mallory")],
        ),
        ("a release of 1000000 identities", vec![logged(1), big]),
        (
            "a second release by 'court'",
            vec![logged(1), rel(1, "court"), rel(1, "court")],
        ),
        ("never logged", vec![exec(1)]),
        (
            "released by 1 authority",
            vec![logged(1), rel(1, "court"), exec(1)],
        ),
        (
            "a second execution",
            vec![
                logged(1),
                rel(1, "court"),
                rel(1, "ministry"),
                exec(1),
                exec(1),
            ],
        ),
        (
            "",
            vec![logged(1), rel(1, "court"), rel(1, "ministry"), exec(1)],
        ),
    ];
    for (expect, recs) in cases {
        let mut store = filled(&log, &[]);
        store.append_batch(&recs, &signer).unwrap();
        let got = monitor::verify(&store, &log.config);
        if expect.is_empty() {
            got.unwrap();
        } else {
            let e = got.unwrap_err().to_string();
            assert!(e.contains(expect), "{expect}: {e}");
        }
    }
}

/// Outside review (2026-12, rt18): the log accepted a retirement or revocation of a generation
/// it never announced, or by an authority a resharing had replaced. Refused now by the log's
/// process rules (the service answers 422); an authority of the current sharing still retires.
#[test]
fn retirements_and_revocations_only_of_announced_generations_by_current_authorities() {
    let log = new_log(31);
    let mut store = filled(&log, &[]);
    let signer = log_signer(&log.log_key).unwrap();
    // court, ministry, oversight → court, ministry, ombudsman: oversight is replaced.
    let reshared = LogRecord::new(LogEntry::GenerationReshared {
        realm: "lab".into(),
        generation: 1,
        master_public_key: "00".repeat(48),
        threshold: 2,
        authorities: vec!["court".into(), "ministry".into(), "ombudsman".into()],
        commitment: "11".repeat(32),
        revoked: vec!["court".into(), "ministry".into()],
        session: "22".repeat(32),
        time: "2026-11-28T00:00:00Z".into(),
    });
    store.append(&reshared, &signer).unwrap();
    let retired = |realm: &str, generation: u32, authority: &str| {
        LogRecord::new(LogEntry::GenerationRetired {
            realm: realm.into(),
            generation,
            authority: authority.into(),
            time: "2026-11-29T00:00:00Z".into(),
        })
    };
    let revoked = LogRecord::new(LogEntry::SharingRevoked {
        realm: "lab".into(),
        generation: 2,
        authority: "court".into(),
        session: "33".repeat(32),
        time: "2026-11-29T00:00:00Z".into(),
    });
    let size = store.size().unwrap();
    let (results, _) = store
        .submit_batch(
            &[
                retired("lab", 7, "court"),
                retired("other", 1, "court"),
                retired("lab", 1, "oversight"),
                revoked,
                retired("lab", 1, "ombudsman"),
            ],
            &signer,
        )
        .unwrap();
    for r in &results[..4] {
        assert!(
            matches!(
                r,
                Err(escrow::Error::Log(escrow::LogError::OutOfProcess(
                    escrow::ProcessRule::UnannouncedGeneration
                )))
            ),
            "{r:?}"
        );
    }
    assert!(matches!(results[4], Ok((_, true))), "{:?}", results[4]);
    assert_eq!(store.size().unwrap(), size + 1);
}
