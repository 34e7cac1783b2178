//! `escrow approve`, run for real after `auditor warrant new` and `submit`: every refusal rule
//! in order, each leaving every file unchanged; idempotent re-approval; the key-released log
//! entry; and shares that combine (with k authorities) into the scope's identity keys.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::path::{Path, PathBuf};

use escrow::approval::Approval;
use escrow::lab::Lab;
use escrow::transparency::LogEntry;
use test_support::clock::{Minutes, SET_UP, parse};
use test_support::lab::THREE;
use test_support::run::on_lab;
use test_support::{json, lab, snapshot, warrant};

struct World {
    /// The next drafting or submission: at 2026-11-28T09:00:00Z or after.
    clock: Minutes,
    tmp: tempfile::TempDir,
    lab: PathBuf,
}

impl World {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let lab = tmp.path().join("lab");
        lab::set_up(&lab, &THREE, 2, SET_UP, &["alice"]);
        World {
            clock: Minutes::new("2026-11-28T09:00:00Z"),
            tmp,
            lab,
        }
    }

    /// The next step's time (simulated time moves forward), at least `min` minutes after
    /// 2026-11-28T09:00:00Z.
    fn tick(&self, min: i64) -> String {
        self.clock.at_least(min)
    }

    /// A warrant the tools would refuse to draft or submit, written and logged through the
    /// library as a rogue auditor could (the log's key in hand): the authority's own checks
    /// must still refuse it. Returns (warrant, receipt) paths.
    fn rogue_warrant(
        &self,
        name: &str,
        reference: &str,
        span: (&str, &str),
        targets: &[String],
    ) -> (PathBuf, PathBuf) {
        use escrow::transparency::LogRecord;
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        let draft = escrow::warrant::WarrantDraft {
            legal_type: "lawful-interception".into(),
            expires: parse("2026-12-05T09:00:00Z"),
            ..warrant::high_court(reference, &targets, parse(span.0), parse(span.1))
        };
        let warrant = escrow::warrant::Warrant::new(draft, &mut rand_core::OsRng).unwrap();
        let receipt = lab::append(
            &Lab::new(&self.lab),
            &LogRecord::new(LogEntry::WarrantLogged {
                digest: hex::encode(warrant.digest().unwrap()),
                reference: reference.into(),
                target_count: targets.len() as u32,
                epoch_count: 1,
                issuing_authority: "High Court".into(),
                time: self.tick(0),
            }),
        );
        warrant::write(self.tmp.path(), &format!("{name}.json"), &warrant, &receipt)
    }

    /// Drafts (and by default submits) a warrant; returns (warrant, receipt) paths.
    fn warrant(
        &self,
        name: &str,
        reference: &str,
        extra: &[&str],
        submit: bool,
    ) -> (PathBuf, PathBuf) {
        let w = self.tmp.path().join(format!("{name}.json"));
        let mut c = on_lab("auditor", &self.lab);
        c.args([
            "warrant",
            "new",
            "--reference",
            reference,
            "--target",
            "alice",
        ])
        .args(["--issuer", "High Court", "--justification", "inquiry"])
        .args(["--at", &self.tick(0), "--out"])
        .arg(&w);
        if !extra.contains(&"--from") {
            c.args([
                "--from",
                "2026-11-27T00:00:00Z",
                "--to",
                "2026-11-28T00:00:00Z",
            ]);
        }
        c.args(extra);
        let out = c.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        if submit {
            on_lab("auditor", &self.lab)
                .args(["warrant", "submit", "--at", &self.tick(0)])
                .arg(&w)
                .assert()
                .success();
        }
        let r = warrant::receipt_path(&w);
        (w, r)
    }

    fn approve(&self, who: &str, w: &Path, r: &Path, at: &str) -> std::process::Output {
        on_lab("escrow", &self.lab)
            .args(["approve", "--as", who, "--at", at, "--warrant"])
            .arg(w)
            .arg("--receipt")
            .arg(r)
            .output()
            .unwrap()
    }

    fn refused(&self, who: &str, w: &Path, r: &Path, at: &str, expect: &str) {
        let before = snapshot::files(self.tmp.path());
        let out = self.approve(who, w, r, at);
        assert_eq!(out.status.code(), Some(1), "{expect}: {out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{expect}: {err}");
        assert_eq!(
            before,
            snapshot::files(self.tmp.path()),
            "{expect}: files changed"
        );
    }
}

const AT: &str = "2026-11-28T10:00:00Z";

#[test]
fn approvals_release_shares_that_combine_into_the_scope_keys() {
    let w = World::new();
    let (wf, rf) = w.warrant("w", "W-1", &[], true);
    for who in ["court", "ministry"] {
        let out = w.approve(who, &wf, &rf, AT);
        assert!(out.status.success(), "{out:?}");
    }
    // Idempotent: the same approval again, no second release.
    let again = w.approve("court", &wf, &rf, AT);
    assert!(
        String::from_utf8(again.stdout)
            .unwrap()
            .contains("already approved")
    );
    let releases = lab::log_entries(&w.lab)
        .into_iter()
        .filter(|e| matches!(e, LogEntry::KeyReleased { .. }))
        .count();
    assert_eq!(releases, 2);
    assert!(
        on_lab("auditor", &w.lab)
            .args(["log", "verify"])
            .output()
            .unwrap()
            .status
            .success()
    );

    // The two approvals combine: the warrant signature verifies and the identity key of
    // (alice, 2026-11-27) is the real one.
    let params = Lab::new(&w.lab).load_params().unwrap();
    let read = |who: &str| {
        let mut p = wf.clone().into_os_string();
        p.push(format!(".{who}.approval.json"));
        let path = PathBuf::from(p);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        Approval::from_json(&std::fs::read(path).unwrap()).unwrap()
    };
    let (a, b) = (read("court"), read("ministry"));
    let sig = escrow::combine_warrant_signature(
        &params,
        &a.digest,
        &[a.warrant_share.clone(), b.warrant_share.clone()],
    )
    .unwrap();
    sig.verify(&params).unwrap();
    let id = params.identity("alice", 1_795_737_600 / 86_400).unwrap(); // 2026-11-27
    assert_eq!(a.identity_shares.len(), 1);
    let key = escrow::combine_identity_key(
        &params,
        &id,
        &[a.identity_shares[0].clone(), b.identity_shares[0].clone()],
    )
    .unwrap();
    key.verify(&params).unwrap();
}

#[test]
fn each_refusal_rule_changes_nothing() {
    let w = World::new();
    let (wf, rf) = w.warrant("w", "W-1", &[], true);
    // 1. parse and version
    let bad = w.tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&wf)
            .unwrap()
            .replace("\"version\": 1", "\"version\": 3"),
    )
    .unwrap();
    w.refused("court", &bad, &rf, AT, "unsupported version 3");
    // 2. generation
    let other = w.tmp.path().join("other.json");
    std::fs::write(
        &other,
        std::fs::read_to_string(&wf)
            .unwrap()
            .replace("\"generation\": 1", "\"generation\": 7"),
    )
    .unwrap();
    w.refused("court", &other, &rf, AT, "generation 7");
    // 3. expired
    w.refused("court", &wf, &rf, "2026-12-10T00:00:00Z", "expired");
    // 4. a timespan in the future (the tools refuse to draft it: logged by a rogue auditor)
    let (future, future_r) = w.rogue_warrant(
        "f",
        "W-2",
        ("2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z"),
        &["alice".into()],
    );
    w.refused("court", &future, &future_r, AT, "starts in the future");
    // 5. over-broad: span and targets
    let (long, long_r) = w.rogue_warrant(
        "l",
        "W-3",
        ("2026-10-01T00:00:00Z", "2026-11-28T00:00:00Z"),
        &["alice".into()],
    );
    w.refused(
        "court",
        &long,
        &long_r,
        AT,
        "covers 58 epochs of 1 day (58 day keys), the policy allows 31 days",
    );
    let many: Vec<String> = std::iter::once("alice".to_string())
        .chain((0..11).map(|i| format!("u{i}")))
        .collect();
    let (wide, wide_r) = w.rogue_warrant(
        "m",
        "W-4",
        ("2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z"),
        &many,
    );
    w.refused(
        "court",
        &wide,
        &wide_r,
        AT,
        "12 targets, the policy allows 10",
    );
    // 4'. a decision dated before the warrant was logged
    w.refused(
        "court",
        &wf,
        &rf,
        "2026-11-28T09:00:30Z",
        "(warrant-logged) at 2026-11-28T09:01:00Z",
    );
    // 6. a warrant never logged: the receipt of another warrant does not prove it
    let (unlogged, _) = w.warrant("u", "W-5", &[], false);
    w.refused(
        "court",
        &unlogged,
        &rf,
        AT,
        "receipt does not prove that this warrant was logged",
    );
    // 6'. a receipt whose proof does not verify (it claims another index)
    let forged = w.tmp.path().join("forged.receipt.json");
    let mut r = json::read(&rf);
    r["index"] = 0.into();
    json::write(&forged, &r);
    w.refused(
        "court",
        &wf,
        &forged,
        AT,
        "inclusion proof for entry 0 does not verify",
    );
    // 7. another warrant under a reference this authority already approved
    assert!(w.approve("court", &wf, &rf, AT).status.success());
    w.tick(61); // after the approval at AT
    let (twin, twin_r) = w.warrant("t", "W-1", &[], true);
    w.refused(
        "court",
        &twin,
        &twin_r,
        "2026-11-28T11:00:00Z",
        "already approved a different warrant under reference 'W-1'",
    );
    // …which another authority may still approve.
    assert!(
        w.approve("ministry", &twin, &twin_r, "2026-11-28T11:00:00Z")
            .status
            .success()
    );
    // Not an authority.
    w.refused("mallory", &wf, &rf, AT, "not an authority");
}

#[test]
fn an_older_receipt_is_accepted_after_the_authority_saw_a_newer_checkpoint() {
    let w = World::new();
    let (wf, rf) = w.warrant("w", "W-1", &[], true);
    let (w2, r2) = w.warrant("w2", "W-2", &[], true);
    // court first cosigns the newest checkpoint, then approves with the older receipt of W-1.
    on_lab("escrow", &w.lab)
        .args(["log", "cosign", "--as", "court"])
        .assert()
        .success();
    assert!(w.approve("court", &wf, &rf, AT).status.success());
    assert!(w.approve("court", &w2, &r2, AT).status.success());
}
