//! `escrow approve` and `escrow log prove --out`, run for real (issue 17): the one `--out`
//! rule of every tool (never overwrite; a file with exactly the output is left as it is and
//! the command succeeds, saying "unchanged"; anything else is refused — for an approval,
//! before anything is released or logged), and the errors at the usual mistakes (a missing
//! receipt, a file of the wrong kind), each of which leaves every file as it was.
//!
//! The warrant is drafted and logged through the library, as `auditor warrant new` and
//! `auditor warrant submit` would (no auditor binary needed).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

use escrow::lab::Lab;
use escrow::transparency::proof::ProofBundle;
use escrow::warrant::Warrant;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use test_support::clock::SET_UP;
use test_support::lab::THREE;
use test_support::run::on_lab;
use test_support::{clock, lab, run, snapshot, warrant};
use time::macros::datetime;

const AT: &str = "2026-11-28T09:00:00Z";

struct Case {
    tmp: tempfile::TempDir,
    lab: PathBuf,
    warrant: PathBuf,
    receipt: PathBuf,
}

impl Case {
    /// A 2-of-3 lab and warrant `w.json` on alice for 2026-11-27, logged, with its receipt
    /// `w.json.receipt.json`.
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let lab = tmp.path().join("lab");
        lab::set_up(&lab, &THREE, 2, SET_UP, &[]);
        let draft = warrant::high_court(
            "W-1",
            &["alice"],
            datetime!(2026-11-27 00:00 UTC),
            datetime!(2026-11-28 00:00 UTC),
        );
        let warrant = Warrant::new(draft, &mut ChaCha20Rng::seed_from_u64(17)).unwrap();
        let receipt = warrant::log_unchecked(
            &Lab::new(&lab),
            &warrant,
            clock::parse("2026-11-28T08:00:00Z"),
        );
        let (w, r) = warrant::write(tmp.path(), "w.json", &warrant, &receipt);
        Case {
            tmp,
            lab,
            warrant: w,
            receipt: r,
        }
    }

    fn approve(&self, who: &str, extra: &[&str]) -> Output {
        on_lab("escrow", &self.lab)
            .args(["approve", "--as", who, "--at", AT, "--warrant"])
            .arg(&self.warrant)
            .arg("--receipt")
            .arg(&self.receipt)
            .args(extra)
            .output()
            .unwrap()
    }

    fn approval_of(&self, who: &str) -> PathBuf {
        self.tmp.path().join(format!("w.json.{who}.approval.json"))
    }

    /// Runs `escrow ARGS`, expects exit 1 with `expect` as the one line on stderr (after
    /// `escrow: `), and no file changed anywhere in the case's folder.
    fn refused(&self, args: &[&str], expect: &str) {
        let before = snapshot::with_modes(self.tmp.path());
        let out = on_lab("escrow", &self.lab).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert_eq!(
            String::from_utf8(out.stderr).unwrap(),
            format!("escrow: {expect}\n"),
            "{args:?}"
        );
        assert!(out.stdout.is_empty());
        assert_eq!(
            before,
            snapshot::with_modes(self.tmp.path()),
            "{args:?} changed a file"
        );
    }

    fn path(&self, name: &str) -> String {
        self.tmp.path().join(name).display().to_string()
    }
}

#[test]
fn an_approval_is_never_written_over_another_file() {
    let c = Case::new();
    let court = c.approval_of("court");
    let w = c.warrant.display().to_string();
    let r = c.receipt.display().to_string();
    let approve_args = |who: &str, out: Option<&str>| -> Vec<String> {
        let mut v: Vec<String> = ["approve", "--as", who, "--at", AT, "--warrant", &w]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        v.extend(["--receipt".to_owned(), r.clone()]);
        if let Some(o) = out {
            v.extend(["--out".to_owned(), o.to_owned()]);
        }
        v
    };
    let refused = |who: &str, out: Option<&str>, expect: &str| {
        let args = approve_args(who, out);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        c.refused(&args, expect);
    };
    // Another file at the default --out: refused before anything is released or logged.
    std::fs::write(&court, b"my notes").unwrap();
    refused(
        "court",
        None,
        &format!(
            "{}: already exists with other content; outputs are never overwritten, choose a new file",
            court.display()
        ),
    );
    // A folder that does not exist: refused before anything is released either.
    let nowhere = c.path("missing/court.json");
    let before = snapshot::with_modes(c.tmp.path());
    let out = c.approve("court", &["--out", &nowhere]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("court.json: its folder does not exist"));
    assert_eq!(before, snapshot::with_modes(c.tmp.path()));
    std::fs::remove_file(&court).unwrap();

    let text = run::success(&c.approve("court", &[]));
    assert!(
        text.contains("court approved warrant W-1: 1 identity-key share released"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Approval written (secret, mode 0600): {}",
            court.display()
        )),
        "{text}"
    );
    assert_eq!(
        std::fs::metadata(&court).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let first = std::fs::read(&court).unwrap();
    // The same command again: the file holds exactly this approval, so it is left as it is.
    let text = run::success(&c.approve("court", &[]));
    assert!(
        text.contains(
            "court had already approved warrant W-1: same approval, nothing new released."
        ) && text.contains(&format!(
            "Approval unchanged: {} already holds exactly this approval.",
            court.display()
        )),
        "{text}"
    );
    assert_eq!(std::fs::read(&court).unwrap(), first);
    let json = c.approve("court", &["--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&run::success(&json).into_bytes()).unwrap();
    assert_eq!(
        (doc["new"].clone(), doc["result"].clone()),
        (false.into(), "unchanged".into())
    );
    // A new file elsewhere: written again (the journaled approval).
    let copy = c.path("copy.json");
    let json = c.approve("court", &["--json", "--out", &copy]);
    let doc: serde_json::Value = serde_json::from_slice(&run::success(&json).into_bytes()).unwrap();
    assert_eq!(
        (doc["new"].clone(), doc["result"].clone()),
        (false.into(), "written".into())
    );
    assert_eq!(std::fs::read(&copy).unwrap(), first);

    // court's approval, altered by one byte: not this approval any more.
    let mut altered = first.clone();
    altered.push(b'\n');
    std::fs::write(&court, &altered).unwrap();
    refused(
        "court",
        None,
        &format!(
            "{}: already exists with other content; outputs are never overwritten, choose a new file",
            court.display()
        ),
    );
    // court's approval where ministry's goes: ministry releases nothing, logs nothing.
    let ministry = c.approval_of("ministry");
    std::fs::write(&ministry, &first).unwrap();
    refused(
        "ministry",
        None,
        &format!(
            "{}: already exists with other content; outputs are never overwritten, choose a new file",
            ministry.display()
        ),
    );
    assert!(!c.lab.join("authorities/ministry/journal.sqlite").exists());
}

#[test]
fn the_usual_mistakes_say_what_to_do() {
    let c = Case::new();
    let w = c.warrant.display().to_string();
    let r = c.receipt.display().to_string();
    let missing = c.path("w2.json.receipt.json");
    c.refused(
        &[
            "approve",
            "--as",
            "court",
            "--warrant",
            &w,
            "--receipt",
            &missing,
            "--at",
            AT,
        ],
        &format!("no receipt at {missing}: run `auditor warrant submit {w}` first"),
    );
    let nowhere = c.path("nowhere.json");
    c.refused(
        &[
            "approve",
            "--as",
            "court",
            "--warrant",
            &nowhere,
            "--receipt",
            &r,
            "--at",
            AT,
        ],
        &format!("no warrant at {nowhere}: draft one with `auditor warrant new … --out FILE`"),
    );
    // The two files swapped.
    c.refused(
        &[
            "approve",
            "--as",
            "court",
            "--warrant",
            &r,
            "--receipt",
            &w,
            "--at",
            AT,
        ],
        &format!("{r}: expected a warrant (from `auditor warrant new`), found a receipt"),
    );
    c.refused(
        &[
            "approve",
            "--as",
            "court",
            "--warrant",
            &w,
            "--receipt",
            &w,
            "--at",
            AT,
        ],
        &format!("{w}: expected a receipt (from `auditor warrant submit`), found a warrant"),
    );
    // Other files of the lab where a receipt is expected.
    let params = c.lab.join("params.json").display().to_string();
    c.refused(
        &[
            "approve",
            "--as",
            "court",
            "--warrant",
            &w,
            "--receipt",
            &params,
            "--at",
            AT,
        ],
        &format!(
            "{params}: expected a receipt (from `auditor warrant submit`), found a generation's \
             public parameters"
        ),
    );
    let bundle = c.path("entry-0.json");
    let out = on_lab("escrow", &c.lab)
        .args(["log", "prove", "--index", "0", "--out", &bundle])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    c.refused(
        &[
            "approve",
            "--as",
            "court",
            "--warrant",
            &w,
            "--receipt",
            &bundle,
            "--at",
            AT,
        ],
        &format!(
            "{bundle}: expected a receipt (from `auditor warrant submit`), found a log proof \
             bundle of an entry other than a warrant"
        ),
    );
    // The same errors as JSON documents under --json.
    let out = c.approve("court", &["--json", "--receipt", &w]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--receipt twice is a usage error: {out:?}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["exit_code"], 2);
    let out = on_lab("escrow", &c.lab)
        .args(["--json", "approve", "--as", "court", "--at", AT])
        .args(["--warrant", &w, "--receipt", &missing])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["error"].as_str().unwrap(),
        format!("no receipt at {missing}: run `auditor warrant submit {w}` first")
    );
}

#[test]
fn a_proof_bundle_file_is_written_once() {
    let c = Case::new();
    let path = c.path("p.json");
    let prove = |extra: &[&str]| {
        on_lab("escrow", &c.lab)
            .args(["log", "prove", "--index", "1", "--out", &path])
            .args(extra)
            .output()
            .unwrap()
    };
    let text = run::success(&prove(&[]));
    assert_eq!(
        text,
        format!("Proof bundle of entry 1 written to {path}.\n")
    );
    let first = std::fs::read(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let text = run::success(&prove(&[]));
    assert_eq!(
        text,
        format!("Proof bundle of entry 1 unchanged: {path} already holds exactly this bundle.\n")
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&run::success(&prove(&["--json"])).into_bytes()).unwrap();
    assert_eq!(doc["result"], "unchanged");
    // A cosignature changes the newest checkpoint, hence the bundle: the file is kept.
    let out = on_lab("escrow", &c.lab)
        .args(["log", "cosign", "--as", "court", "--at", AT])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    c.refused(
        &["log", "prove", "--index", "1", "--out", &path],
        &format!(
            "{path}: already exists with other content; outputs are never overwritten, choose a \
             new file"
        ),
    );
    assert_eq!(std::fs::read(&path).unwrap(), first);
    // `-` is standard output.
    let out = on_lab("escrow", &c.lab)
        .args(["log", "prove", "--index", "1", "--out", "-"])
        .output()
        .unwrap();
    ProofBundle::from_json(&run::success(&out).into_bytes()).unwrap();
}
