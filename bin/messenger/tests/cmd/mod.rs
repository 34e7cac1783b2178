//! What the CLI tests of `messenger` share: running the real binaries on a lab, a lab with
//! accounts, a snapshot of every file, and the check of a refusal (exit 1, one line on stderr,
//! nothing changed).

#![allow(dead_code)] // each test file uses part of it
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;

/// When the test labs are set up and their accounts registered: before every `--at` the tests
/// use.
pub const SET_UP: &str = "2026-11-01T00:00:00Z";

pub fn bin(name: &str, lab: &Path) -> Command {
    let mut c = Command::cargo_bin(name).unwrap();
    c.arg("--lab").arg(lab);
    c
}

pub fn ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Every file of the lab (SQLite's transient -wal/-shm files aside) with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.strip_prefix(dir).unwrap().display().to_string();
            if p.is_dir() {
                stack.push(p);
            } else if !name.ends_with("-wal") && !name.ends_with("-shm") {
                out.insert(name, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// A lab set up at [`SET_UP`] (authorities a, b, c; 2 of 3) with `accounts` registered then.
pub fn lab_with(accounts: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    ok(bin("escrow", &lab).args([
        "setup",
        "--authorities",
        "a,b,c",
        "--threshold",
        "2",
        "--at",
        SET_UP,
    ]));
    for a in accounts {
        ok(bin("messenger", &lab).args(["register", "--as", a, "--at", SET_UP]));
    }
    tmp
}

/// Runs `messenger args` and checks the refusal: exit 1, one line on stderr that names the
/// tool and contains `expect`, nothing on stdout, and no file of the lab changed. Returns the
/// line.
pub fn refused(lab: &Path, args: &[&str], expect: &str) -> String {
    let before = snapshot(lab);
    let out = bin("messenger", lab).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.starts_with("messenger: ") && err.contains(expect),
        "{args:?}: {err}"
    );
    assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    assert_eq!(before, snapshot(lab), "{args:?} changed the lab");
    err
}

/// `messenger read --as account --at at --json`: the texts it shows, and its document.
pub fn read_texts(lab: &Path, account: &str, at: &str) -> (Vec<String>, serde_json::Value) {
    let out = ok(bin("messenger", lab).args(["read", "--as", account, "--at", at, "--json"]));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let texts = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    (texts, doc)
}
