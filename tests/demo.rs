//! `escrow-lab demo`, run for real: its claims hold, it never reuses a lab, and its output
//! fits an 80-column terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use assert_cmd::Command;
use time::macros::datetime;

fn demo_in(cwd: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("escrow-lab").unwrap();
    c.current_dir(cwd).arg("demo");
    c
}

#[test]
fn demo_claims_hold_through_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    let now = datetime!(2026-11-27 12:00 UTC);
    let dir = escrow_lab::demo::prepare_lab(Some(&lab), now).unwrap();
    let mut out = Vec::new();
    let outcome = escrow_lab::demo::run(&dir, now, &mut out).unwrap();
    assert!(outcome.honest_wrap_verified);
    assert!(outcome.tampered_wrap_rejected);
    assert!(outcome.two_shares_refused);
    assert!(outcome.two_shares_useless);
    assert!(outcome.three_shares_open);
    assert!(outcome.out_of_scope_refused);
    assert!(outcome.log_verified);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("3 of 5 authorities required, 2 valid shares"),
        "{text}"
    );
    assert!(!text.contains("[no]"), "{text}");
    // The lab it wrote is a real generation with the released shares beside it.
    let params = escrow::lab::Lab::new(&dir).load_params().unwrap();
    assert_eq!((params.threshold(), params.authorities().len()), (3, 5));
    assert!(
        dir.join("escrow/oversight-alice-e20784.share.json")
            .exists()
    );
}

#[test]
fn demo_twice_makes_two_fresh_labs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for _ in 0..2 {
        let out = demo_in(tmp.path()).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let first = text.lines().next().unwrap();
        let dir = first.rsplit(' ').next().unwrap().to_owned();
        assert!(dir.starts_with("lab-demo-"), "{first}");
        assert!(
            text.trim_end()
                .lines()
                .any(|l| l == format!("Lab directory: {dir}"))
        );
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "line wider than 80 columns: {line:?}"
            );
        }
        assert!(
            !text.contains('\x1b'),
            "colour codes while stdout is not a terminal"
        );
        assert!(tmp.path().join(&dir).join("params.json").exists());
        dirs.push(dir);
    }
    assert_ne!(dirs[0], dirs[1]);
}

#[test]
fn demo_refuses_a_non_empty_lab_and_leaves_it_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("mine");
    std::fs::create_dir(&lab).unwrap();
    std::fs::write(lab.join("notes.txt"), b"keep me").unwrap();
    let out = demo_in(tmp.path()).arg("--lab").arg(&lab).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not empty"), "{err}");
    let entries: Vec<_> = std::fs::read_dir(&lab).unwrap().collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(std::fs::read(lab.join("notes.txt")).unwrap(), b"keep me");

    // An empty or new folder is fine.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    demo_in(tmp.path())
        .arg("--lab")
        .arg(&empty)
        .assert()
        .success();
    demo_in(tmp.path())
        .arg("--lab")
        .arg(tmp.path().join("new/lab"))
        .assert()
        .success();
    let bad = Command::cargo_bin("escrow-lab")
        .unwrap()
        .arg("demo")
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
