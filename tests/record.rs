//! The record (design reference §11, "Record"): no release or execution that a party acted on
//! can vanish from the log unnoticed. An authority hands out an approval only once its
//! `key-released` entry is in a checkpoint it cosigned as a witness and remembers, and the
//! approval carries that inclusion proof; the auditor checks it, and its report carries the
//! proof of `warrant-executed`, whose checkpoint the auditor remembers; `log verify` says
//! which size is witnessed and flags an unwitnessed tail.
//!
//! Each test here fails on the code before this rule: there, witnesses remembered only the
//! checkpoint they last cosigned by hand (older than every release), approvals carried no
//! proof, and a log truncated from the first release on verified.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use escrow::authority::Approved;
use escrow::transparency::LogEntry;
use escrow::transparency::store::LogStore;
use escrow::warrant::Warrant;
use escrow_lab::world::{DAY, World};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use test_support::lab::THREE;
use test_support::{clock, json, run};

const DAY0: i64 = clock::NOV_2;
const NOW: i64 = DAY0 + 2 * DAY;

struct Case {
    _tmp: tempfile::TempDir,
    w: World,
    warrant: Warrant,
    approvals: Vec<Approved>,
}

/// A lab where alice wrote to bob, W-1 (alice, day 0) is logged and approved by all three
/// authorities (k = 2); nothing was cosigned by hand.
fn case(seed: u64) -> Case {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = World::create(
        &tmp.path().join("lab"),
        &THREE,
        2,
        DAY0 - 30 * DAY,
        ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap();
    for u in ["alice", "bob"] {
        w.register(u, DAY0 - DAY).unwrap();
    }
    w.send("alice", "bob", "hello", DAY0 + 9 * 3_600).unwrap();
    w.read("bob", DAY0 + 9 * 3_600 + 30).unwrap();
    let warrant = w
        .warrant("W-1", &["alice"], DAY0, DAY0 + DAY, NOW + 7 * DAY)
        .unwrap();
    let receipt = w.submit(&warrant, NOW).unwrap();
    let approvals = THREE
        .iter()
        .map(|a| w.approve(a, &warrant, &receipt, NOW + 60).unwrap())
        .collect();
    Case {
        _tmp: tmp,
        w,
        warrant,
        approvals,
    }
}

fn execute(c: &Case, approvals: &[&Approved]) -> anyhow::Result<auditor::execute::Report> {
    let capture = c.w.capture("alice", DAY0, NOW, NOW + 100)?;
    c.w.execute(&c.warrant, approvals, &capture, NOW + 300)
}

/// Deletes every entry from `first` on, as someone with write access to the database file:
/// triggers dropped, rows deleted (entries, hashes, checkpoints, cosignatures), triggers
/// restored by reopening the store. Returns the origin.
fn truncate_from(c: &Case, first: u64) {
    let lab = &c.w.lab;
    let config = lab.load_log_config().unwrap();
    let path = lab.log_dir().join("log.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for t in ["entries", "hashes", "checkpoints", "cosignatures"] {
            conn.execute_batch(&format!(
                "DROP TRIGGER {t}_no_update; DROP TRIGGER {t}_no_delete;"
            ))
            .unwrap();
        }
        let first_hash = (2 * first - u64::from(first.count_ones())) as i64;
        conn.execute("DELETE FROM entries WHERE idx >= ?1", [first as i64])
            .unwrap();
        conn.execute("DELETE FROM hashes WHERE idx >= ?1", [first_hash])
            .unwrap();
        conn.execute("DELETE FROM checkpoints WHERE size > ?1", [first as i64])
            .unwrap();
        conn.execute("DELETE FROM cosignatures WHERE size > ?1", [first as i64])
            .unwrap();
    }
    let store = LogStore::open(&path, &config.origin).unwrap();
    assert!(
        store.missing_schema().unwrap().is_empty(),
        "the triggers are back"
    );
    assert_eq!(store.size().unwrap(), first);
}

fn first_release(c: &Case) -> u64 {
    let config = c.w.lab.load_log_config().unwrap();
    c.w.lab
        .open_log_read_only(&config)
        .unwrap()
        .find(|e| matches!(e, LogEntry::KeyReleased { .. }))
        .unwrap()
        .unwrap()
}

#[test]
fn every_approval_proves_its_release_at_a_checkpoint_its_authority_cosigned_and_keeps() {
    let c = case(1);
    let config = c.w.lab.load_log_config().unwrap();
    for a in &c.approvals {
        let name = &a.approval.authority;
        let cp = a.approval.check_release(&config).unwrap();
        let bundle = a.approval.release.as_ref().unwrap();
        let (record, _) = bundle.verify(&config).unwrap();
        assert!(matches!(
            record.entry,
            LogEntry::KeyReleased { ref authority, .. } if authority == name
        ));
        assert!(cp.cosigned_by(&config, name).unwrap());
        // The witness remembers a checkpoint that covers its release.
        let kept =
            c.w.lab
                .load_witness_state(name)
                .unwrap()
                .last_checkpoint(&config)
                .unwrap()
                .unwrap();
        assert!(kept.size() > bundle.index, "{name} keeps {}", kept.label());
        // And the document a user hands on carries it.
        let doc: serde_json::Value = serde_json::from_slice(&a.bytes).unwrap();
        assert_eq!(doc["release"]["kind"], "escrow-lab/log-proof");
    }
}

#[test]
fn a_log_without_the_releases_fails_the_monitor_the_witnesses_and_the_auditor() {
    let c = case(2);
    assert!(auditor::verify_log(&c.w.lab).is_ok());
    let first = first_release(&c);
    truncate_from(&c, first);
    // The monitor names a witness that remembers a larger log.
    let err = auditor::verify_log(&c.w.lab).unwrap_err().to_string();
    assert!(err.contains("log equivocation"), "{err}");
    assert!(err.contains("accepted by court"), "{err}");
    // No witness cosigns the truncated log.
    for a in THREE {
        let err = c.w.cosign(a, NOW + 400).unwrap_err().to_string();
        assert!(err.contains("rollback"), "{a}: {err}");
    }
    // The auditor refuses to execute on approvals whose releases the log lost.
    let refs: Vec<&Approved> = c.approvals.iter().collect();
    let err = execute(&c, &refs).unwrap_err().to_string();
    assert!(err.contains("log equivocation"), "{err}");
    assert!(err.contains("for its release"), "{err}");
    // And an authority asked again for its approval does not hand it out.
    let receipt = c.w.submit(&c.warrant, NOW + 500);
    if let Ok(receipt) = receipt {
        assert!(
            c.w.approve("court", &c.warrant, &receipt, NOW + 500)
                .is_err()
        );
    }
}

#[test]
fn an_erased_execution_is_caught_by_the_auditors_memory_and_by_the_reports_proof() {
    let c = case(3);
    let refs: Vec<&Approved> = c.approvals.iter().take(2).collect();
    let report = execute(&c, &refs).unwrap();
    let exec = &report.log.execution;
    let config = c.w.lab.load_log_config().unwrap();
    let (record, cp) = exec.verify(&config).unwrap();
    assert!(matches!(record.entry, LogEntry::WarrantExecuted { .. }));
    assert_eq!(exec.index, report.log.execution_entry);
    assert!(cp.size() > exec.index);
    // Witnessed up to the releases; the execution is an unwitnessed tail until cosigned.
    let r = auditor::verify_log(&c.w.lab).unwrap();
    assert_eq!(r.unwitnessed, 1, "{r:?}");
    assert_eq!(r.witnessed_size, r.size - 1);
    c.w.cosign("court", NOW + 350).unwrap();
    let r = auditor::verify_log(&c.w.lab).unwrap();
    assert_eq!((r.unwitnessed, r.witnessed_size), (0, r.size));
    // Erase only the execution, and the cosignature of it, with the database alone. The
    // witnesses' copies are what a party keeps; take court's away too (it cosigned the
    // execution), so that only the auditor's memory and the report's proof remain.
    truncate_from(&c, exec.index);
    std::fs::remove_file(c.w.lab.witness_state_path("court")).unwrap();
    let err = auditor::verify_log(&c.w.lab).unwrap_err().to_string();
    assert!(err.contains("accepted by the auditor"), "{err}");
    // Without the auditor's memory, the report's proof alone catches it.
    std::fs::remove_file(c.w.lab.auditor_log_state_path()).unwrap();
    assert!(auditor::verify_log(&c.w.lab).is_ok());
    let err = auditor::verify_log_with(&c.w.lab, &[("report.json".into(), exec.clone())])
        .unwrap_err()
        .to_string();
    assert!(err.contains("report.json"), "{err}");
}

#[test]
fn approvals_without_a_proven_release_are_discarded_with_the_reason() {
    let c = case(4);
    let config = c.w.lab.load_log_config().unwrap();
    let valid: Vec<&Approved> = c.approvals.iter().collect();
    // (a) court's approval with ministry's release proof; (b) with a proof whose checkpoint
    // lacks court's cosignature (the receipt's, which proves warrant-logged).
    let mut swapped = c.approvals[0].approval.clone();
    swapped.release = c.approvals[1].approval.release.clone();
    assert!(swapped.check_release(&config).is_err());
    let mut uncosigned = c.approvals[0].approval.clone();
    let mut release = uncosigned.release.clone().unwrap();
    let note = release.checkpoint.clone();
    let court_line = note
        .lines()
        .find(|l| l.contains("/witness/court"))
        .unwrap()
        .to_owned();
    release.checkpoint = note.replace(&format!("{court_line}\n"), "");
    uncosigned.release = Some(release);
    let err = uncosigned.check_release(&config).unwrap_err().to_string();
    assert!(err.contains("not cosigned by court"), "{err}");
    for bad in [swapped, uncosigned] {
        let files = vec![
            ("court.json".to_owned(), bad.to_json().unwrap()),
            ("ministry.json".to_owned(), valid[1].bytes.to_vec()),
        ];
        let capture = c.w.capture("alice", DAY0, NOW, NOW + 100).unwrap();
        let err = auditor::execute::execute(
            &c.w.lab,
            &c.warrant,
            &files,
            &capture,
            escrow_lab::world::at(NOW + 300).unwrap(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("2 of 3 approvals required, 1 valid"), "{err}");
    }
    // With the third, valid, approval the bad one is named with its reason.
    let files = vec![
        ("court.json".to_owned(), {
            let mut a = c.approvals[0].approval.clone();
            a.release = c.approvals[2].approval.release.clone();
            a.to_json().unwrap()
        }),
        ("ministry.json".to_owned(), valid[1].bytes.to_vec()),
        ("oversight.json".to_owned(), valid[2].bytes.to_vec()),
    ];
    let capture = c.w.capture("alice", DAY0, NOW, NOW + 100).unwrap();
    let report = auditor::execute::execute(
        &c.w.lab,
        &c.warrant,
        &files,
        &capture,
        escrow_lab::world::at(NOW + 300).unwrap(),
    )
    .unwrap();
    let court = &report.approvals[0];
    assert!(!court.valid);
    let reason = court.reason.as_deref().unwrap();
    assert!(reason.contains("release is not proven"), "{reason}");
}

#[test]
fn a_reapproval_checks_that_the_log_still_holds_the_release() {
    let c = case(5);
    let config = c.w.lab.load_log_config().unwrap();
    let receipt = {
        let store = c.w.lab.open_log_read_only(&config).unwrap();
        let i = store
            .find(|e| matches!(e, LogEntry::WarrantLogged { .. }))
            .unwrap()
            .unwrap();
        escrow::transparency::proof::ProofBundle::build(&store, i).unwrap()
    };
    let again =
        c.w.approve("court", &c.warrant, &receipt, NOW + 100)
            .unwrap();
    assert!(!again.new);
    assert_eq!(*again.bytes, *c.approvals[0].bytes);
    truncate_from(&c, first_release(&c));
    let err =
        c.w.approve("court", &c.warrant, &receipt, NOW + 200)
            .unwrap_err()
            .to_string();
    assert!(err.contains("log equivocation"), "{err}");
}

/// Outside review: the log operator edits `log.json` to drop the witnesses whose checkpoints
/// cover the releases, truncates the log and deletes their cosignatures. The monitor takes its
/// witnesses from the lab's generations too, so it does not lose them.
#[test]
fn dropping_witnesses_from_log_json_does_not_hide_an_erasure() {
    let c = case(6);
    let path = c.w.lab.log_dir().join("log.json");
    json::edit_pretty(&path, |config| {
        config["witnesses"]
            .as_array_mut()
            .unwrap()
            .retain(|w| w["authority"] == "oversight");
    });
    truncate_from(&c, first_release(&c));
    let err = auditor::verify_log(&c.w.lab).unwrap_err().to_string();
    assert!(
        err.contains("log.json lists no witness key for 'court'"),
        "{err}"
    );
}

/// Outside review: on a log that rolled back below what the auditor remembers, neither
/// `warrant submit` nor `execute` appends anything before refusing.
#[test]
fn the_auditor_appends_nothing_to_a_log_that_rolled_back_below_its_memory() {
    let mut c = case(7);
    let other =
        c.w.warrant("W-2", &["alice"], DAY0, DAY0 + DAY, NOW + 7 * DAY)
            .unwrap();
    let refs: Vec<&Approved> = c.approvals.iter().take(2).collect();
    let report = execute(&c, &refs).unwrap();
    truncate_from(&c, report.log.execution_entry);
    let config = c.w.lab.load_log_config().unwrap();
    let size = || c.w.lab.open_log_read_only(&config).unwrap().size().unwrap();
    let before = size();
    let err = c.w.submit(&other, NOW + 400).unwrap_err().to_string();
    assert!(err.contains("log rollback"), "{err}");
    assert_eq!(size(), before);
    let err = execute(&c, &refs).unwrap_err().to_string();
    assert!(err.contains("log rollback"), "{err}");
    assert_eq!(size(), before);
}

/// Outside review: `W-1` and `w-1` read as one reference; an authority that approved one
/// refuses a different warrant under the other.
#[test]
fn references_differing_only_in_case_are_one_reference() {
    let mut c = case(8);
    let other =
        c.w.warrant("w-1", &["alice"], DAY0, DAY0 + DAY, NOW + 7 * DAY)
            .unwrap();
    let receipt = c.w.submit(&other, NOW + 100).unwrap();
    let err =
        c.w.approve("court", &other, &receipt, NOW + 120)
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("already approved a different warrant"),
        "{err}"
    );
}

/// Outside review: a file name is someone else's text too. `warrant submit` and `approve`
/// print the files they wrote with control and invisible characters escaped.
#[test]
fn file_names_cannot_forge_a_line_of_the_output() {
    let c = case(9);
    let dir = c.w.lab.root().parent().unwrap().to_owned();
    let name = "w\nauditor: forged\u{1b}[31m\u{2028}.json";
    std::fs::write(dir.join(name), c.warrant.to_json().unwrap()).unwrap();
    let run = |tool: &str, args: &[&str]| {
        let out = run::process(tool)
            .current_dir(&dir)
            .arg("--lab")
            .arg(c.w.lab.root())
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let submitted = run(
        "auditor",
        &["warrant", "submit", name, "--at", "2026-11-04T00:10:00Z"],
    );
    let receipt = format!("{name}.receipt.json");
    let approved = run(
        "escrow",
        &[
            "approve",
            "--as",
            "court",
            "--warrant",
            name,
            "--receipt",
            &receipt,
            "--at",
            "2026-11-04T00:11:00Z",
        ],
    );
    for out in [submitted, approved] {
        assert!(!out.contains(['\u{1b}', '\u{2028}']), "{out}");
        assert!(
            out.lines().all(|l| !l.starts_with("auditor: forged")),
            "{out}"
        );
        assert!(out.contains("\\n"), "{out}");
    }
    // A warrant drafted into such a name: the confirmation (on stderr) is one escaped line.
    let drafted = run::process("auditor")
        .current_dir(&dir)
        .arg("--lab")
        .arg(c.w.lab.root())
        .args([
            "warrant",
            "new",
            "--reference",
            "W-name",
            "--target",
            "alice",
        ])
        .args([
            "--from",
            "2026-11-02T00:00:00Z",
            "--to",
            "2026-11-03T00:00:00Z",
        ])
        .args(["--issuer", "court", "--justification", "names"])
        .args([
            "--at",
            "2026-11-04T00:20:00Z",
            "--out",
            "w2\nauditor: forged\u{1b}[31m",
        ])
        .output()
        .unwrap();
    assert!(drafted.status.success(), "{drafted:?}");
    let err = String::from_utf8(drafted.stderr).unwrap();
    assert!(err.contains("w2\\nauditor: forged\\u{1b}[31m"), "{err}");
    assert!(!err.contains('\u{1b}') && err.lines().count() == 1, "{err}");
}
