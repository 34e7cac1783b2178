//! `escrow-lab demo`, run for real: its claims hold, it never reuses a lab, and its output
//! fits an 80-column terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use assert_cmd::Command;
use test_support::run;
use time::macros::datetime;

fn demo_in(cwd: &std::path::Path) -> Command {
    let mut c = run::tool("escrow-lab");
    c.current_dir(cwd).arg("demo");
    c
}

#[test]
fn demo_claims_hold_through_the_library() {
    for fast in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let lab = tmp.path().join("lab");
        let now = datetime!(2026-11-27 12:00 UTC);
        let dir = escrow_lab::demo::prepare_lab(Some(&lab), now).unwrap();
        let mut out = Vec::new();
        let options = escrow_lab::demo::Options {
            fast,
            colour: false,
        };
        let o = escrow_lab::demo::run(&dir, now, &options, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(o.all_held(), "{o:?}\n{text}");
        // Three pairs of users, three days: one message per pair and day with --fast,
        // three otherwise; every one accepted by its recipient.
        assert_eq!(o.sent, if fast { 9 } else { 27 });
        assert_eq!(o.delivered, o.sent);
        assert!(o.two_approvals_refused);
        // alice talks in two of the three pairs: the warrant's day holds 2 (or 6) of her
        // messages, the other two days 4 (or 12), reported sealed.
        assert_eq!((o.decrypted, o.sealed), if fast { (2, 4) } else { (6, 12) });
        assert!(o.log_verified);
        // generation, warrant, three releases, one execution.
        assert_eq!(o.log_size, 6);
        assert!(
            text.contains("The auditor tries: 3 of 5 approvals required, 2 valid."),
            "{text}"
        );
        assert!(text.contains("[sealed]"), "{text}");
        assert!(!text.contains("[no]"), "{text}");
        // The lab holds what the tools need to go on by hand.
        for f in [
            "params.json",
            "relay.sqlite",
            "clients/alice.json",
            "warrant.json",
            "warrant.receipt.json",
            "warrant.json.court.approval.json",
            "warrant.json.oversight.approval.json",
            "capture-alice.json",
            "report.json",
        ] {
            assert!(dir.join(f).exists(), "{f} missing");
        }
        // Files holding key shares are the owner's only.
        use std::os::unix::fs::PermissionsExt;
        for f in [
            "authorities/court/share.json",
            "authorities/court/journal.sqlite",
            "warrant.json.court.approval.json",
            "clients/alice.json",
        ] {
            let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{f} is readable by others: {mode:o}");
        }
        let params = escrow::lab::Lab::new(&dir).load_params().unwrap();
        assert_eq!((params.threshold(), params.authorities().len()), (3, 5));
    }
}

/// The "repeat by hand" commands the demo prints work on the lab it made.
#[test]
fn demo_by_hand_commands_run() {
    // A lab name with a newline, an escape, an invisible character and a quote: the output
    // shows it escaped on one line, and the printed commands still name it exactly.
    let name = "lab\nforged: line\u{1b}[2K\u{200b}'q";
    let tmp = tempfile::tempdir().unwrap();
    let out = demo_in(tmp.path())
        .args(["--lab", name, "--fast"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains(['\u{1b}', '\u{200b}']) && !text.lines().any(|l| l.starts_with("forged")),
        "{text}"
    );
    assert!(tmp.path().join(name).join("params.json").exists());
    let start = text.find("Repeat it by hand").unwrap();
    let end = text.find("\nLab directory:").unwrap();
    let mut script = String::from("set -e\n");
    assert!(text.contains("refused: 2 approvals"), "{text}");
    for line in text[start..end].lines().skip(1) {
        let mut line = line.to_owned();
        for tool in ["escrow", "messenger", "auditor"] {
            let bin = run::path(tool);
            line = line.replace(
                &format!("cargo run -q --release -p {tool}-cli --"),
                &bin.display().to_string(),
            );
        }
        script.push_str(&line);
        script.push('\n');
    }
    // Pasted twice: both runs work, each in its own folder inside the lab, and nothing is
    // written into the current directory.
    for paste in 1..=2 {
        let run = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(tmp.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "paste {paste}: {script}\n{stdout}\n{run:?}"
        );
        assert!(stdout.contains("Hello again"), "{stdout}");
        assert!(stdout.contains("2 messages decrypted"), "{stdout}");
        // The two-approval execution was refused (and its echo ran).
        assert!(
            stdout.contains("refused: 2 approvals of the 3 needed"),
            "{stdout}"
        );
    }
    let cwd: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(cwd, [std::ffi::OsString::from(name)]);
    let by_hand = std::fs::read_dir(tmp.path().join(name))
        .unwrap()
        .filter(|e| {
            let e = e.as_ref().unwrap();
            e.file_name().to_string_lossy().starts_with("by-hand.")
                && e.path().join("report.json").exists()
        })
        .count();
    assert_eq!(by_hand, 2);
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
    let bad = run::tool("escrow-lab")
        .arg("demo")
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// `--json` is global in every tool: the demo's outcome as one document, usage errors and
/// failures as a JSON error document; `--markdown` never overwrites a file it did not make.
#[test]
fn json_everywhere_and_generated_pages_only_replace_themselves() {
    let tmp = tempfile::tempdir().unwrap();
    let out = demo_in(tmp.path())
        .args(["--json", "--fast", "--lab", "j"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["outcome"]["two_approvals_refused"], true);
    assert!(doc["outcome"]["decrypted"].as_u64().unwrap() > 0);

    let bin = || run::tool("escrow-lab");
    let out = bin()
        .current_dir(tmp.path())
        .args([
            "simulate",
            "--json",
            "--authorities",
            "3",
            "--threshold",
            "4",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (doc["ok"].as_bool(), doc["exit_code"].as_u64()),
        (Some(false), Some(2))
    );
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("--threshold 4 exceeds --authorities 3")
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = bin().args(["--json", "demo", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["exit_code"], 2);

    // A Markdown file the command did not generate is not overwritten (nothing runs).
    let notes = tmp.path().join("notes.md");
    std::fs::write(&notes, "mine").unwrap();
    let out = bin()
        .args(["bench", "--quick", "--markdown"])
        .arg(&notes)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("already exists with other content")
    );
    assert_eq!(std::fs::read(&notes).unwrap(), b"mine");

    // Help: the subcommand's options first, the global ones under their own heading.
    let help = bin().args(["simulate", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let (own, global) = (
        help.find("--users").unwrap(),
        help.find("Global options").unwrap(),
    );
    assert!(
        own < global && help.rfind("      --json").unwrap() > global,
        "{help}"
    );
}

/// `--markdown` refuses, before the catalogue runs, a file this command did not generate:
/// one quoting its marker line, a symbolic link; under `--json`, one error document only.
#[test]
fn the_attack_page_replaces_only_a_page_it_generated() {
    let tmp = tempfile::tempdir().unwrap();
    let quoted = tmp.path().join("notes.md");
    std::fs::write(
        &quoted,
        "My notes\n<!-- @generated by `escrow-lab attacks --markdown docs/attacks.md` -->\n",
    )
    .unwrap();
    let link = tmp.path().join("link.md");
    std::os::unix::fs::symlink(tmp.path().join("nowhere.md"), &link).unwrap();
    for path in [&quoted, &link] {
        let out = run::tool("escrow-lab")
            .args(["attacks", "--json", "--markdown"])
            .arg(path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["ok"], false);
        assert!(
            doc["error"]
                .as_str()
                .unwrap()
                .contains("outputs are never overwritten")
        );
    }
    assert!(
        std::fs::read_to_string(&quoted)
            .unwrap()
            .starts_with("My notes")
    );
    assert!(!tmp.path().join("nowhere.md").exists());
}
