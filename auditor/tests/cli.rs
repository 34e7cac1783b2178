//! `auditor log verify` and `auditor log stats`, run for real on a lab made by `escrow`,
//! including a log database tampered with through a second connection.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::path::Path;

use assert_cmd::Command;

fn bin(name: &str, lab: &Path) -> Command {
    let mut c = Command::cargo_bin(name).unwrap();
    c.arg("--lab").arg(lab);
    c
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    bin("escrow", &lab)
        .args([
            "setup",
            "--authorities",
            "court,ministry,oversight",
            "--threshold",
            "2",
        ])
        .assert()
        .success();
    for a in ["court", "ministry"] {
        bin("escrow", &lab)
            .args(["log", "cosign", "--as", a])
            .assert()
            .success();
    }
    (tmp, lab)
}

#[test]
fn verify_and_stats_of_an_honest_log() {
    let (_tmp, lab) = setup();
    let out = bin("auditor", &lab)
        .args(["log", "verify", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["report"]["size"], 1);
    assert_eq!(doc["report"]["cosignatures"]["court"], 1);
    assert_eq!(doc["report"]["cosignatures"]["ministry"], 1);
    let stats = bin("auditor", &lab)
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
    db.execute_batch("DROP TRIGGER entries_no_update;").unwrap();
    db.execute(
        "UPDATE entries SET data = replace(data, '\"threshold\":2', '\"threshold\":1') WHERE idx = 0",
        [],
    )
    .unwrap();
    drop(db);
    let out = bin("auditor", &lab)
        .args(["log", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("auditor: log tampered"), "{err}");
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
    db.execute_batch("DROP TRIGGER cosignatures_no_update;")
        .unwrap();
    db.execute(
        "UPDATE cosignatures SET line = ?1 WHERE witness LIKE '%court'",
        [forged],
    )
    .unwrap();
    // Put the trigger back, so only the forged line is left to find.
    db.execute_batch(
        "CREATE TRIGGER cosignatures_no_update BEFORE UPDATE ON cosignatures
         BEGIN SELECT RAISE(ABORT, 'append-only log'); END;",
    )
    .unwrap();
    drop(db);
    let out = bin("auditor", &lab)
        .args(["log", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cosignature") && err.contains("court"),
        "{err}"
    );
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
    let out = bin("auditor", &lab)
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
    let out = bin("auditor", &lab)
        .args(["log", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_ne!(before.len(), 0);
}

#[test]
fn missing_log_and_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = bin("auditor", &tmp.path().join("none"))
        .args(["log", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("run 'escrow setup' first")
    );
    let out = bin("auditor", tmp.path()).args(["log"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
