//! End to end through the real binaries: a 3-of-5 generation, three accounts talking over three
//! days, a warrant for one account and one day. With three approvals exactly that account's
//! messages of that day are decrypted; with two, nothing is and the exit is 1; a corrupted
//! approval is named and discarded; approvals of another warrant count for nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::path::{Path, PathBuf};

use test_support::clock::{Minutes, SET_UP};
use test_support::lab::FIVE;
use test_support::run::{ok, on_lab};
use test_support::{json, lab, warrant};

struct Story {
    tmp: tempfile::TempDir,
    lab: PathBuf,
    /// The next step, from 2026-11-28T08:00:00Z on (simulated time moves forward).
    clock: Minutes,
    /// (from, to, day, text) of every message sent.
    sent: Vec<(String, String, u32, String)>,
}

fn story() -> Story {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    lab::set_up(&lab, &FIVE, 3, SET_UP, &["alice", "bob", "carol"]);
    let mut sent = Vec::new();
    for day in [25u32, 26, 27] {
        for (h, from, to) in [
            (9, "alice", "bob"),
            (10, "bob", "carol"),
            (11, "carol", "alice"),
            (13, "bob", "alice"),
            (15, "alice", "carol"),
        ] {
            let text = format!("{from} to {to} on the {day}th at {h}h");
            let at = format!("2026-11-{day}T{h:02}:00:00Z");
            ok(on_lab("messenger", &lab).args([
                "send",
                "--as",
                from,
                "--recipient",
                to,
                "--at",
                &at,
                &text,
            ]));
            sent.push((from.to_owned(), to.to_owned(), day, text));
            if h == 11 {
                for u in ["alice", "bob", "carol"] {
                    ok(on_lab("messenger", &lab).args([
                        "read",
                        "--as",
                        u,
                        "--at",
                        &format!("2026-11-{day}T12:00:00Z"),
                    ]));
                }
            }
        }
    }
    Story {
        tmp,
        lab,
        sent,
        clock: Minutes::new("2026-11-28T08:00:00Z"),
    }
}

impl Story {
    /// The next step's time: one minute after the previous one.
    fn tick(&self) -> String {
        self.clock.tick()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn warrant(&self, name: &str, target: &str, day: u32) -> PathBuf {
        let w = self.path(name);
        ok(on_lab("auditor", &self.lab)
            .args(["warrant", "new", "--reference", name, "--target", target])
            .args(["--from", &format!("2026-11-{day}T00:00:00Z")])
            .args(["--to", &format!("2026-11-{}T00:00:00Z", day + 1)])
            .args([
                "--issuer",
                "court",
                "--justification",
                "inquiry",
                "--at",
                &self.tick(),
                "--out",
            ])
            .arg(&w));
        ok(on_lab("auditor", &self.lab)
            .args(["warrant", "submit", "--at", &self.tick()])
            .arg(&w));
        w
    }

    fn approve(&self, who: &str, w: &Path) -> PathBuf {
        let out = self.path(&format!(
            "{}.{who}.approval",
            w.file_name().unwrap().to_string_lossy()
        ));
        ok(on_lab("escrow", &self.lab)
            .args(["approve", "--as", who, "--at", &self.tick(), "--warrant"])
            .arg(w)
            .arg("--receipt")
            .arg(warrant::receipt_path(w))
            .arg("--out")
            .arg(&out));
        out
    }

    fn capture(&self, account: &str) -> PathBuf {
        let c = self.path(&format!("capture-{account}.json"));
        ok(on_lab("messenger", &self.lab)
            .args([
                "intercept",
                "--target",
                account,
                "--from",
                "2026-11-25T00:00:00Z",
            ])
            .args([
                "--to",
                "2026-11-28T00:00:00Z",
                "--at",
                "2026-11-28T00:00:00Z",
                "--out",
            ])
            .arg(&c));
        c
    }

    fn execute(&self, w: &Path, approvals: &[PathBuf], capture: &Path) -> std::process::Output {
        self.execute_at(&self.tick(), w, approvals, capture)
    }

    /// `auditor execute --json` at `at`.
    fn execute_at(
        &self,
        at: &str,
        w: &Path,
        approvals: &[PathBuf],
        capture: &Path,
    ) -> std::process::Output {
        let mut c = on_lab("auditor", &self.lab);
        c.args(["execute", "--json", "--at", at, "--warrant"])
            .arg(w);
        for a in approvals {
            c.arg("--approval").arg(a);
        }
        c.arg("--capture").arg(capture).output().unwrap()
    }

    fn log_size(&self) -> u64 {
        lab::log_size(&self.lab)
    }
}

#[test]
fn three_approvals_open_exactly_the_warrant_and_two_open_nothing() {
    let s = story();
    let w = s.warrant("W-1", "bob", 26);
    let capture = s.capture("bob");
    let approvals: Vec<PathBuf> = FIVE[..3].iter().map(|a| s.approve(a, &w)).collect();

    // Two approvals: nothing decrypted, exit 1, nothing appended to the log.
    let size = s.log_size();
    let out = s.execute(&w, &approvals[..2], &capture);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim(), "auditor: 3 of 5 approvals required, 2 valid");
    // Under --json the refusal is a JSON document too, with every approval's verdict.
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(
        (doc["required"].as_u64(), doc["valid"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(doc["approvals"].as_array().unwrap().len(), 2);
    assert_eq!(s.log_size(), size);

    // Three: exactly bob's messages of the 26th, sent or received.
    let out = s.execute(&w, &approvals, &capture);
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut got: Vec<String> = report["decrypted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    let mut want: Vec<String> = s
        .sent
        .iter()
        .filter(|(f, t, d, _)| *d == 26 && (f == "bob" || t == "bob"))
        .map(|(_, _, _, text)| text.clone())
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let bob_total = s
        .sent
        .iter()
        .filter(|(f, t, _, _)| f == "bob" || t == "bob")
        .count();
    assert_eq!(
        report["out_of_scope"].as_u64().unwrap() as usize,
        bob_total - want.len()
    );
    assert_eq!(report["non_compliant"], 0);
    assert_eq!(report["version"], 3);
    assert_eq!(report["warrant"]["reference"], "W-1");
    assert_eq!(report["approvals"].as_array().unwrap().len(), 3);
    assert_eq!(s.log_size(), size + 1);
    let stats = ok(on_lab("auditor", &s.lab).args(["log", "stats", "--json"]));
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(
        stats["stats"]["messages_decrypted"].as_u64().unwrap() as usize,
        want.len()
    );
}

#[test]
fn a_corrupted_approval_is_named_and_replayed_approvals_count_for_nothing() {
    let s = story();
    let w = s.warrant("W-2", "carol", 27);
    let capture = s.capture("carol");
    let approvals: Vec<PathBuf> = FIVE[..4].iter().map(|a| s.approve(a, &w)).collect();
    // ministry's warrant share replaced by oversight's: a valid point, the wrong share.
    let other = json::read(&approvals[2]);
    json::edit(&approvals[1], |bad| {
        bad["warrant_share"] = other["warrant_share"].clone();
    });
    let out = s.execute(&w, &approvals, &capture);
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts = report["approvals"].as_array().unwrap();
    let ministry = verdicts
        .iter()
        .find(|v| v["authority"] == "ministry")
        .unwrap();
    assert_eq!(ministry["valid"], false);
    assert!(
        ministry["reason"]
            .as_str()
            .unwrap()
            .contains("invalid share from authority 'ministry'")
    );
    assert!(!report["decrypted"].as_array().unwrap().is_empty());

    // The approvals of W-2 presented with another warrant W-3: none is valid.
    let w3 = s.warrant("W-3", "carol", 27);
    let out = s.execute(&w3, &approvals, &capture);
    assert_eq!(out.status.code(), Some(1));
    // The refusal names every discarded approval with its reason, in text and in JSON.
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("3 of 5 approvals required, 0 valid; discarded: "),
        "{err}"
    );
    assert_eq!(
        err.matches("approval is for another warrant").count(),
        4,
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts = doc["approvals"].as_array().unwrap();
    assert_eq!(verdicts.len(), 4);
    assert!(
        verdicts
            .iter()
            .all(|v| v["valid"] == false && v["reason"].is_string())
    );
    assert!(
        verdicts[0]["source"]
            .as_str()
            .unwrap()
            .ends_with(".court.approval")
    );
}

#[test]
fn a_warrant_is_executed_once_and_only_before_it_expires() {
    let s = story();
    let w = s.warrant("W-4", "bob", 26);
    let capture = s.capture("bob");
    let approvals: Vec<PathBuf> = FIVE[..3].iter().map(|a| s.approve(a, &w)).collect();
    let out = s.execute(&w, &approvals, &capture);
    assert!(out.status.success(), "{out:?}");
    let size = s.log_size();
    // The same warrant again (same capture): refused, naming the first execution; nothing
    // is logged and the statistics count it once.
    let out = s.execute(&w, &approvals, &capture);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("warrant W-4 was already executed (log entry"),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["executed_entry"].as_u64(), Some(size - 1));
    assert_eq!(s.log_size(), size);
    let stats = ok(on_lab("auditor", &s.lab).args(["log", "stats"]));
    assert!(stats.contains("warrants executed    1 ("), "{stats}");

    // Another warrant, executed after its expiry (drafted 2026-11-28, default expiry seven
    // days later): refused, nothing logged.
    let w5 = s.warrant("W-5", "alice", 26);
    let approvals: Vec<PathBuf> = FIVE[..3].iter().map(|a| s.approve(a, &w5)).collect();
    let capture = s.capture("alice");
    let size = s.log_size();
    let out = s.execute_at("2026-12-05T09:00:00Z", &w5, &approvals, &capture);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("warrant W-5 expired at 2026-12-05T"), "{err}");
    assert_eq!(s.log_size(), size);

    // An execution dated before the newest log entry: refused (time never goes backwards).
    let out = s.execute_at("2026-11-28T07:00:00Z", &w5, &approvals, &capture);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("simulated time never goes backwards"), "{err}");
    assert_eq!(s.log_size(), size);
}

#[test]
fn a_text_cannot_forge_a_line_of_the_report() {
    let s = story();
    ok(on_lab("messenger", &s.lab).args([
        "send",
        "--as",
        "alice",
        "--recipient",
        "bob",
        "--at",
        "2026-11-27T16:00:00Z",
        "ok\n  2026-11-27T16:05:00Z  bob → alice: I confess   [#99, start #99 signed by bob]\u{2028}  2026-11-27T16:06:00Z  bob → alice: again",
    ]));
    let w = s.warrant("W-3", "alice", 27);
    let capture = s.capture("alice");
    let approvals: Vec<PathBuf> = FIVE[..3].iter().map(|a| s.approve(a, &w)).collect();
    let mut c = on_lab("auditor", &s.lab);
    c.args(["execute", "--at", &s.tick(), "--warrant"])
        .arg(&w)
        .arg("--capture")
        .arg(&capture);
    for a in &approvals {
        c.arg("--approval").arg(a);
    }
    let text = ok(&mut c);
    assert!(
        !text
            .lines()
            .any(|l| l.contains("bob → alice: I confess") && !l.contains("alice → bob: ok\\n")),
        "{text}"
    );
    assert!(
        text.contains("alice → bob: ok\\n  2026-11-27T16:05:00Z"),
        "{text}"
    );
    assert!(!text.contains(['\u{2028}', '\u{2029}']), "{text}");
}

#[test]
fn discarded_approvals_are_named_by_authority_with_the_exact_reason() {
    let s = story();
    let w = s.warrant("W-6", "bob", 26);
    let capture = s.capture("bob");
    let approvals: Vec<PathBuf> = FIVE[..4].iter().map(|a| s.approve(a, &w)).collect();
    // oversight's approval carries its identity share twice; provider's share is not hex.
    json::edit(&approvals[2], |v| {
        let first = v["identity_shares"][0].clone();
        v["identity_shares"].as_array_mut().unwrap().push(first);
    });
    json::edit(&approvals[3], |v| v["warrant_share"] = "zz".into());
    let out = s.execute(&w, &approvals, &capture);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdict = |who: &str| {
        doc["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["authority"] == who)
            .unwrap_or_else(|| panic!("no verdict for {who}: {doc}"))
            .clone()
    };
    assert!(
        verdict("oversight")["reason"]
            .as_str()
            .unwrap()
            .starts_with("two shares for "),
        "{doc}"
    );
    let provider = verdict("provider");
    assert_eq!(provider["valid"], false);
    assert!(
        provider["source"]
            .as_str()
            .unwrap()
            .ends_with(".provider.approval")
    );
}
