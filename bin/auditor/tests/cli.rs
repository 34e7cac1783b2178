//! `auditor log verify` and `auditor log stats`, run for real on a lab made by `escrow`,
//! including a log database tampered with through a second connection.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::path::Path;

use test_support::clock::SET_UP;
use test_support::lab::THREE;
use test_support::run::on_lab;
use test_support::sqlite::without_trigger;
use test_support::{clock, lab, snapshot};

/// A lab (court, ministry, oversight; 2 of 3) with alice and bob, whose first checkpoint court
/// and ministry cosigned.
fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    lab::set_up(&lab, &THREE, 2, SET_UP, &["alice", "bob"]);
    for a in ["court", "ministry"] {
        on_lab("escrow", &lab)
            .args(["log", "cosign", "--as", a])
            .assert()
            .success();
    }
    (tmp, lab)
}

#[test]
fn verify_and_stats_of_an_honest_log() {
    let (_tmp, lab) = setup();
    let out = on_lab("auditor", &lab)
        .args(["log", "verify", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["report"]["size"], 1);
    assert_eq!(doc["report"]["cosignatures"]["court"], 1);
    assert_eq!(doc["report"]["cosignatures"]["ministry"], 1);
    let stats = on_lab("auditor", &lab)
        .args(["log", "stats"])
        .output()
        .unwrap();
    let text = String::from_utf8(stats.stdout).unwrap();
    assert!(text.contains("generation-created   1"), "{text}");
}

#[test]
fn direct_tampering_with_the_database_is_detected() {
    let (_tmp, lab) = setup();
    let db = rusqlite::Connection::open(lab.join("log/log.sqlite")).unwrap();
    let entry0 = |db: &rusqlite::Connection| -> Vec<u8> {
        db.query_row("SELECT data FROM entries WHERE idx = 0", [], |r| r.get(0))
            .unwrap()
    };
    let before = entry0(&db);
    let rewrite = "UPDATE entries SET data = CAST(replace(data, '\"threshold\":2', '\"threshold\":1') AS BLOB) WHERE idx = 0";
    without_trigger(&db, "entries_no_update", || {
        assert_eq!(db.execute(rewrite, []).unwrap(), 1);
    });
    assert_ne!(entry0(&db), before, "the rewrite changed nothing");
    // The trigger is back and works.
    let err = db.execute(rewrite, []).unwrap_err().to_string();
    assert!(err.contains("append-only"), "{err}");
    drop(db);
    let out = on_lab("auditor", &lab)
        .args(["log", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    // What is found is the rewritten entry 0 (its recomputed hash is not the stored hash 0),
    // not a missing trigger.
    assert!(err.starts_with("auditor: log tampered"), "{err}");
    assert!(
        err.contains("stored hash 0") || err.contains("entry 0"),
        "{err}"
    );
    assert!(!err.contains("trigger"), "{err}");
}

#[test]
fn a_forged_cosignature_is_detected() {
    let (_tmp, lab) = setup();
    let db = rusqlite::Connection::open(lab.join("log/log.sqlite")).unwrap();
    let line: String = db
        .query_row(
            "SELECT line FROM cosignatures WHERE witness LIKE '%court'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // Flip one base64 character of court's signature.
    let (prefix, sig) = line.trim_end().rsplit_once(' ').unwrap();
    let mut sig: Vec<u8> = sig.bytes().collect();
    sig[20] = if sig[20] == b'A' { b'B' } else { b'A' };
    let forged = format!("{prefix} {}\n", String::from_utf8(sig).unwrap());
    // The trigger is put back, so only the forged line is left to find.
    without_trigger(&db, "cosignatures_no_update", || {
        let n = db
            .execute(
                "UPDATE cosignatures SET line = ?1 WHERE witness LIKE '%court'",
                [forged],
            )
            .unwrap();
        assert_eq!(n, 1);
    });
    drop(db);
    let out = on_lab("auditor", &lab)
        .args(["log", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cosignature") && err.contains("court"),
        "{err}"
    );
    assert!(!err.contains("trigger"), "{err}");
}

#[test]
fn verify_opens_the_log_read_only() {
    let (_tmp, lab) = setup();
    let db = lab.join("log/log.sqlite");
    let before = std::fs::read(&db).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("DROP TRIGGER hashes_no_delete;")
        .unwrap();
    drop(conn);
    let out = on_lab("auditor", &lab)
        .args(["log", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("trigger hashes_no_delete")
    );
    // The monitor did not recreate the trigger (a second run still sees it missing).
    let out = on_lab("auditor", &lab)
        .args(["log", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_ne!(before.len(), 0);
}

#[test]
fn missing_log_and_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = on_lab("auditor", &tmp.path().join("none"))
        .args(["log", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("run 'escrow setup' first")
    );
    let out = on_lab("auditor", tmp.path())
        .args(["log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn new_warrant(lab: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    on_lab("auditor", lab)
        .args([
            "warrant",
            "new",
            "--reference",
            "W-7",
            "--target",
            "alice",
            "--target",
            "bob",
        ])
        .args([
            "--from",
            "2026-11-27T00:00:00Z",
            "--to",
            "2026-11-29T00:00:00Z",
        ])
        .args(["--issuer", "High Court", "--justification", "fraud inquiry"])
        .args(["--at", "2026-11-29T08:00:00Z", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn warrant_new_and_submit_log_the_digest_and_return_a_receipt() {
    let (tmp, lab) = setup();
    let w = tmp.path().join("w.json");
    assert!(new_warrant(&lab, &w, &[]).status.success());
    let warrant = escrow::warrant::Warrant::from_json(&std::fs::read(&w).unwrap()).unwrap();
    assert_eq!(warrant.targets.len(), 2);
    let out = on_lab("auditor", &lab)
        .args([
            "warrant",
            "submit",
            "--json",
            "--at",
            "2026-11-29T08:05:00Z",
        ])
        .arg(&w)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (doc["index"].as_u64(), doc["new"].as_bool()),
        (Some(1), Some(true))
    );
    // The receipt checks with log.json alone and records the digest, not the text.
    let l = escrow::lab::Lab::new(&lab);
    let config = l.load_log_config().unwrap();
    let receipt_path = tmp.path().join("w.json.receipt.json");
    let receipt =
        escrow::transparency::proof::ProofBundle::from_json(&std::fs::read(&receipt_path).unwrap())
            .unwrap();
    let (record, _) = receipt.verify(&config).unwrap();
    match record.entry {
        escrow::transparency::LogEntry::WarrantLogged {
            digest,
            reference,
            target_count,
            epoch_count,
            ..
        } => {
            assert_eq!(digest, hex::encode(warrant.digest().unwrap()));
            assert_eq!(
                (reference.as_str(), target_count, epoch_count),
                ("W-7", 2, 2)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !String::from_utf8(std::fs::read(&receipt_path).unwrap())
            .unwrap()
            .contains("fraud")
    );
    // Submitting again appends nothing.
    let again = on_lab("auditor", &lab)
        .args(["warrant", "submit"])
        .arg(&w)
        .output()
        .unwrap();
    assert!(
        String::from_utf8(again.stdout)
            .unwrap()
            .contains("already logged as entry 1")
    );
    assert_eq!(l.open_log(&config).unwrap().size().unwrap(), 2);
    let v = on_lab("auditor", &lab)
        .args(["log", "verify"])
        .output()
        .unwrap();
    assert!(v.status.success());
}

#[test]
fn warrant_refusals_change_nothing() {
    let (tmp, lab) = setup();
    let w = tmp.path().join("w.json");
    assert!(new_warrant(&lab, &w, &[]).status.success());
    let before = snapshot::files(tmp.path());
    let refused = |out: std::process::Output, expect: &str| {
        assert_eq!(out.status.code(), Some(1), "{expect}: {out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{expect}: {err}");
        assert_eq!(
            before,
            snapshot::files(tmp.path()),
            "{expect}: files changed"
        );
    };
    refused(new_warrant(&lab, &w, &[]), "already exists");
    let w2 = tmp.path().join("w2.json");
    let bad = on_lab("auditor", &lab)
        .args(["warrant", "new", "--reference", "W-8", "--target", "Alice"])
        .args([
            "--from",
            "2026-11-27T00:00:00Z",
            "--to",
            "2026-11-28T00:00:00Z",
        ])
        .args(["--issuer", "court", "--justification", "x", "--out"])
        .arg(&w2)
        .output()
        .unwrap();
    refused(bad, "invalid account name");
    let reversed = on_lab("auditor", &lab)
        .args(["warrant", "new", "--reference", "W-8", "--target", "alice"])
        .args([
            "--from",
            "2026-11-28T00:00:00Z",
            "--to",
            "2026-11-27T00:00:00Z",
        ])
        .args(["--issuer", "court", "--justification", "x", "--out"])
        .arg(&w2)
        .output()
        .unwrap();
    refused(reversed, "timespan must end after it starts");
    // A warrant edited to another generation, a malformed one, a missing one.
    let text = std::fs::read_to_string(&w)
        .unwrap()
        .replace("\"generation\": 1", "\"generation\": 2");
    let other = tmp.path().join("other.json");
    std::fs::write(&other, text).unwrap();
    let before = snapshot::files(tmp.path());
    let out = on_lab("auditor", &lab)
        .args(["warrant", "submit"])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("generation 2")
    );
    assert_eq!(before, snapshot::files(tmp.path()));
    std::fs::write(&other, b"{\"version\":1}").unwrap();
    let before = snapshot::files(tmp.path());
    let out = on_lab("auditor", &lab)
        .args(["warrant", "submit"])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("malformed JSON")
    );
    assert_eq!(before, snapshot::files(tmp.path()));
    let out = on_lab("auditor", &lab)
        .args(["warrant", "submit", "missing.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// `warrant new` flags for W-9 on alice, drafted at 2026-11-29T08:00:00Z, with `span`.
fn draft(lab: &Path, out: &Path, span: (&str, &str), extra: &[&str]) -> std::process::Output {
    on_lab("auditor", lab)
        .args(["warrant", "new", "--reference", "W-9", "--target", "alice"])
        .args(["--from", span.0, "--to", span.1])
        .args(["--issuer", "court", "--justification", "inquiry"])
        .args(["--at", "2026-11-29T08:00:00Z", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn drafting_applies_every_check_that_needs_no_secret() {
    let (tmp, lab) = setup();
    let w = tmp.path().join("w.json");
    let before = snapshot::files(tmp.path());
    let size = || lab::log_size(&lab);
    let refused = |out: std::process::Output, expect: &str| {
        assert_eq!(out.status.code(), Some(1), "{expect}: {out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{expect}: {err}");
        assert_eq!(
            before,
            snapshot::files(tmp.path()),
            "{expect}: files changed"
        );
    };
    let day = ("2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z");
    refused(
        draft(
            &lab,
            &w,
            ("2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z"),
            &[],
        ),
        "starts in the future",
    );
    refused(
        draft(&lab, &w, day, &["--expires", "2026-11-29T07:00:00Z"]),
        "expired at 2026-11-29T07:00:00Z",
    );
    refused(
        draft(
            &lab,
            &w,
            ("2026-10-01T00:00:00Z", "2026-11-28T00:00:00Z"),
            &[],
        ),
        "the policy allows 31 days",
    );
    refused(
        draft(&lab, &w, day, &["--target", "mallory"]),
        "target 'mallory' is not registered with this lab's relay",
    );
    refused(
        draft(
            &lab,
            &w,
            ("1970-01-01T00:00:00Z", "9999-01-01T00:00:00Z"),
            &[],
        ),
        "identities",
    );
    refused(
        draft(&lab, &w, ("2026-11-28", "2026-11-29T00:00:00Z"), &[]),
        "for example 2026-12-03T09:30:00Z",
    );
    refused(
        draft(
            &lab,
            &w,
            ("1969-12-31T00:00:00Z", "2026-11-29T00:00:00Z"),
            &[],
        ),
        "1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z",
    );

    // A warrant the tools would not draft, made with the library: `submit` refuses it too and
    // logs nothing.
    let t = clock::parse;
    let rogue = escrow::warrant::Warrant::new(
        escrow::warrant::WarrantDraft {
            reference: "W-10".into(),
            legal_type: "lawful-interception".into(),
            issuing_authority: "court".into(),
            jurisdiction: "escrow-lab".into(),
            targets: vec!["alice".into(), "nobody".into()],
            start: t(day.0),
            end: t(day.1),
            expires: t("2026-12-05T00:00:00Z"),
            justification: "x".into(),
            generation: 1,
        },
        &mut rand_core::OsRng,
    )
    .unwrap();
    let rogue_path = tmp.path().join("rogue.json");
    std::fs::write(&rogue_path, rogue.to_json().unwrap()).unwrap();
    let n = size();
    let out = on_lab("auditor", &lab)
        .args(["warrant", "submit", "--at", "2026-11-29T08:00:00Z"])
        .arg(&rogue_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("target 'nobody'")
    );
    assert_eq!(size(), n);
    assert!(!tmp.path().join("rogue.json.receipt.json").exists());
    let out = on_lab("auditor", &lab)
        .args(["warrant", "submit", "--at", "2026-12-09T08:00:00Z"])
        .arg(&rogue_path)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("expired"),
        "{out:?}"
    );
    assert_eq!(size(), n);

    // A timespan not aligned to epochs is drafted, with a note naming the whole epochs its
    // keys open; targets may be given comma-separated.
    let out = on_lab("auditor", &lab)
        .args([
            "warrant",
            "new",
            "--reference",
            "W-11",
            "--target",
            "alice,bob",
        ])
        .args([
            "--from",
            "2026-11-27T00:00:00Z",
            "--to",
            "2026-11-28T00:00:01Z",
        ])
        .args(["--issuer", "court", "--justification", "inquiry"])
        .args(["--at", "2026-11-29T08:00:00Z", "--out"])
        .arg(&w)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("note: the timespan [2026-11-27T00:00:00Z, 2026-11-28T00:00:01Z) is not aligned to epochs: its keys open 2 whole epochs [2026-11-27T00:00:00Z, 2026-11-29T00:00:00Z)"),
        "{err}"
    );
    let warrant = escrow::warrant::Warrant::from_json(&std::fs::read(&w).unwrap()).unwrap();
    assert_eq!(warrant.targets.len(), 2);
}

#[test]
fn times_never_go_backwards_and_errors_are_json_under_json() {
    let (tmp, lab) = setup();
    let w = tmp.path().join("w.json");
    assert!(new_warrant(&lab, &w, &[]).status.success());
    // Submitted at 08:05; a second warrant submitted at 08:00 would date entry 2 before 1.
    let ok = on_lab("auditor", &lab)
        .args(["warrant", "submit", "--at", "2026-11-29T08:05:00Z"])
        .arg(&w)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let w2 = tmp.path().join("w2.json");
    let out = draft(
        &lab,
        &w2,
        ("2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z"),
        &[],
    );
    assert!(out.status.success(), "{out:?}");
    let out = on_lab("auditor", &lab)
        .args([
            "--json",
            "warrant",
            "submit",
            "--at",
            "2026-11-29T08:00:00Z",
        ])
        .arg(&w2)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("is before log entry 1 (warrant-logged) at 2026-11-29T08:05:00Z"),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (doc["ok"].as_bool(), doc["exit_code"].as_u64()),
        (Some(false), Some(1))
    );
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("never goes backwards")
    );
    assert!(!tmp.path().join("w2.json.receipt.json").exists());
    // A usage error under --json: exit 2, a JSON document too.
    let out = on_lab("auditor", &lab)
        .args(["--json", "warrant", "submit", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["exit_code"], 2);
    // The --out rule: a receipt that proves the same entry is left as it is; another file at
    // that path is refused before anything is logged.
    let receipt = tmp.path().join("w.json.receipt.json");
    let kept = std::fs::read(&receipt).unwrap();
    let again = on_lab("auditor", &lab)
        .args(["warrant", "submit"])
        .arg(&w)
        .output()
        .unwrap();
    assert!(again.status.success(), "{again:?}");
    assert!(
        String::from_utf8(again.stdout)
            .unwrap()
            .contains("unchanged")
    );
    assert_eq!(std::fs::read(&receipt).unwrap(), kept);
    let other = tmp.path().join("other.json");
    std::fs::write(&other, b"notes").unwrap();
    let out = on_lab("auditor", &lab)
        .args(["warrant", "submit", "--at", "2026-11-29T09:00:00Z", "--out"])
        .arg(&other)
        .arg(&w2)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("already exists and is not this warrant's receipt")
    );
    assert_eq!(std::fs::read(&other).unwrap(), b"notes");
    // Help: the subcommand's own options first, global ones under their own heading.
    let help = on_lab("auditor", &lab)
        .args(["warrant", "submit", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let (own, global) = (
        help.find("--out").unwrap(),
        help.find("Global options").unwrap(),
    );
    assert!(
        own < global && help.find("--lab").unwrap() > global,
        "{help}"
    );
}

#[test]
fn a_file_of_the_wrong_kind_is_named_with_the_kind_expected() {
    let (tmp, lab) = setup();
    let w = tmp.path().join("w.json");
    assert!(new_warrant(&lab, &w, &[]).status.success());
    assert!(
        on_lab("auditor", &lab)
            .args(["warrant", "submit", "--at", "2026-11-29T08:05:00Z"])
            .arg(&w)
            .output()
            .unwrap()
            .status
            .success()
    );
    let receipt = tmp.path().join("w.json.receipt.json");
    let err = |out: std::process::Output| {
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    // The receipt given as the warrant to submit.
    let e = err(on_lab("auditor", &lab)
        .args(["warrant", "submit"])
        .arg(&receipt)
        .output()
        .unwrap());
    assert!(e.contains("expected a warrant"), "{e}");
    assert!(e.contains("found a receipt"), "{e}");
    // The warrant given as an approval, and as the capture; a missing approval file.
    let e = err(on_lab("auditor", &lab)
        .args(["execute", "--warrant"])
        .arg(&w)
        .arg("--approval")
        .arg(&w)
        .arg("--capture")
        .arg(&w)
        .output()
        .unwrap());
    assert!(
        e.contains("expected an approval") && e.contains("found a warrant"),
        "{e}"
    );
    let e = err(on_lab("auditor", &lab)
        .args(["execute", "--warrant"])
        .arg(&w)
        .arg("--approval")
        .arg(tmp.path().join("nope.json"))
        .arg("--capture")
        .arg(&w)
        .output()
        .unwrap());
    assert!(
        e.contains("nope.json: no such file (expected an approval"),
        "{e}"
    );
}

#[test]
fn an_output_path_that_is_taken_or_has_no_folder_is_named_plainly() {
    let (tmp, lab) = setup();
    let dir = tmp.path().join("a-dir");
    std::fs::create_dir(&dir).unwrap();
    let link = tmp.path().join("link.json");
    std::os::unix::fs::symlink(tmp.path().join("nowhere.json"), &link).unwrap();
    for (out, expect) in [
        (
            dir.clone(),
            "a-dir: is a directory; outputs are never overwritten",
        ),
        (
            link.clone(),
            "link.json: is a symbolic link; outputs are never overwritten",
        ),
        (
            tmp.path().join("no/such/w.json"),
            "no/such/w.json: its folder does not exist",
        ),
        (
            lab.join("params.json/w.json"),
            "params.json/w.json: its folder path goes through a file, not a folder",
        ),
    ] {
        let out = new_warrant(&lab, &out, &[]);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(expect), "{expect}: {err}");
        assert!(!err.contains(".tmp:"), "{err}");
    }
    assert!(!tmp.path().join("nowhere.json").exists());
}

#[test]
fn no_time_ahead_of_the_clock_or_behind_the_record() {
    let (tmp, lab) = setup();
    let size = || lab::log_size(&lab);
    let refused = |out: std::process::Output, expect: &str| {
        assert_eq!(out.status.code(), Some(1), "{expect}: {out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(expect), "{expect}: {err}");
    };
    let n = size();
    // A far-future submission would block every party: refused, nothing logged.
    let w = tmp.path().join("wf.json");
    let out = on_lab("auditor", &lab)
        .args(["warrant", "new", "--reference", "W-F", "--target", "bob"])
        .args([
            "--from",
            "2026-11-03T00:00:00Z",
            "--to",
            "2026-11-04T00:00:00Z",
        ])
        .args(["--issuer", "court", "--justification", "x"])
        .args([
            "--at",
            "2099-01-01T00:00:00Z",
            "--expires",
            "2099-02-01T00:00:00Z",
        ])
        .arg("--out")
        .arg(&w)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    refused(
        on_lab("auditor", &lab)
            .args(["warrant", "submit", "--at", "2099-01-01T00:00:00Z"])
            .arg(&w)
            .output()
            .unwrap(),
        "is ahead of this machine's clock",
    );
    assert_eq!(size(), n);
    // A cosignature dated before the entries it covers, and a rotation before the log's
    // newest entry (set up at 2026-11-01): refused.
    refused(
        on_lab("escrow", &lab)
            .args([
                "log",
                "cosign",
                "--as",
                "ministry",
                "--at",
                "2020-01-01T00:00:00Z",
            ])
            .output()
            .unwrap(),
        "the cosignature at 2020-01-01T00:00:00Z is before log entry 0 (generation-created)",
    );
    // ministry cosigned at the set-up's clock time (now): not again at an earlier time.
    refused(
        on_lab("escrow", &lab)
            .args([
                "log",
                "cosign",
                "--as",
                "ministry",
                "--at",
                "2026-11-29T00:00:00Z",
            ])
            .output()
            .unwrap(),
        "is before ministry's previous cosignature (size 1)",
    );
    refused(
        on_lab("escrow", &lab)
            .args(["rotate", "--at", "2026-10-01T00:00:00Z"])
            .output()
            .unwrap(),
        "the rotation at 2026-10-01T00:00:00Z is before log entry 0",
    );
    assert_eq!(size(), n);
    // A retirement at a refused time destroys nothing; a send far ahead of the clock is
    // refused too (it would block the client's every later step).
    refused(
        on_lab("escrow", &lab)
            .args(["retire", "--as", "court", "--at", "2099-01-01T00:00:00Z"])
            .output()
            .unwrap(),
        "the retirement at 2099-01-01T00:00:00Z is ahead of this machine's clock",
    );
    assert!(lab.join("authorities/court/share.json").exists());
    refused(
        on_lab("escrow", &lab)
            .args(["retire", "--as", "court", "--at", "2026-10-01T00:00:00Z"])
            .output()
            .unwrap(),
        "simulated time never goes backwards",
    );
    assert!(lab.join("authorities/court/share.json").exists());
    assert_eq!(size(), n);
    refused(
        on_lab("messenger", &lab)
            .args(["send", "--as", "alice", "--recipient", "bob"])
            .args(["--at", "2099-01-01T00:00:00Z", "hi"])
            .output()
            .unwrap(),
        "is ahead of this machine's clock",
    );
    // A target that registered after the drafting time cannot be named at that time.
    on_lab("messenger", &lab)
        .args(["register", "--as", "zed", "--at", "2026-11-20T00:00:00Z"])
        .assert()
        .success();
    refused(
        on_lab("auditor", &lab)
            .args(["warrant", "new", "--reference", "W-Z", "--target", "zed"])
            .args([
                "--from",
                "2026-11-03T00:00:00Z",
                "--to",
                "2026-11-04T00:00:00Z",
            ])
            .args(["--issuer", "court", "--justification", "x"])
            .args(["--at", "2026-11-04T12:00:00Z", "--out"])
            .arg(tmp.path().join("wz.json"))
            .output()
            .unwrap(),
        "target 'zed' registered at 2026-11-20T00:00:00Z, after 2026-11-04T12:00:00Z",
    );
}
