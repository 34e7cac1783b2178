//! The real binaries, run as a user runs them: located by name, given a lab, and checked for
//! success, a refusal (exit 1 and one line on stderr) or their help.
//!
//! A binary is found by its name, never through `env!("CARGO_BIN_EXE_…")` at compile time
//! (that names only the binaries of the test's own package, and binaries move between
//! packages): `CARGO_BIN_EXE_<name>` when Cargo set it for this run, else `<name>` in the
//! target directory the test executable was built into (`target/debug/deps/<test>-<hash>` →
//! `target/debug/<name>`). `cargo test --workspace` builds every binary before the tests run.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

use crate::snapshot;

/// The path of the workspace binary `name` (`escrow`, `messenger`, `auditor`, `escrow-lab`).
///
/// # Panics
///
/// If the binary is not built.
pub fn path(name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(format!("CARGO_BIN_EXE_{name}")) {
        return p.into();
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let mut dir = exe
        .parent()
        .expect("the test executable's folder")
        .to_owned();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let p = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.exists(),
        "binary {name} not found at {} (build it: cargo build --bin {name})",
        p.display()
    );
    p
}

/// The binary `name`, with no argument yet.
pub fn tool(name: &str) -> Command {
    Command::new(path(name))
}

/// The binary `name` with `--lab lab`.
pub fn on_lab(name: &str, lab: &Path) -> Command {
    let mut c = tool(name);
    c.arg("--lab").arg(lab);
    c
}

/// The binary `name` as a [`std::process::Command`], for a test that spawns, times or kills
/// it, or runs it in another folder; stdin from `/dev/null`.
pub fn process(name: &str) -> std::process::Command {
    let mut c = std::process::Command::new(path(name));
    c.stdin(std::process::Stdio::null());
    c
}

/// [`process`] with `--lab lab`.
pub fn process_on_lab(name: &str, lab: &Path) -> std::process::Command {
    let mut c = process(name);
    c.arg("--lab").arg(lab);
    c
}

/// Runs `name --lab lab args`: its output, whatever the exit.
pub fn output(name: &str, lab: &Path, args: &[&str]) -> Output {
    on_lab(name, lab).args(args).output().unwrap()
}

/// Runs `name --lab lab args`, which must succeed; its standard output.
pub fn ok_in(name: &str, lab: &Path, args: &[&str]) -> String {
    let out = output(name, lab, args);
    assert!(out.status.success(), "{name} {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `name --lab lab --json args`, which must succeed with exactly one JSON document on
/// standard output; the document.
pub fn json_in(name: &str, lab: &Path, args: &[&str]) -> serde_json::Value {
    let out = on_lab(name, lab).arg("--json").args(args).output().unwrap();
    assert!(out.status.success(), "{name} {args:?}: {out:?}");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{name} {args:?}: not one JSON document ({e}): {out:?}"))
}

/// Runs `name --lab lab args`, which must refuse: exit 1 and exactly one line on stderr,
/// which is returned.
pub fn refused_in(name: &str, lab: &Path, args: &[&str]) -> String {
    refused(on_lab(name, lab).args(args))
}

/// A command run to its end: an [`assert_cmd::Command`] or a [`std::process::Command`].
pub trait Runnable: std::fmt::Debug {
    /// Runs the command to its end; its exit status and output.
    fn run(&mut self) -> Output;
}

impl Runnable for Command {
    fn run(&mut self) -> Output {
        self.output().unwrap()
    }
}

impl Runnable for std::process::Command {
    fn run(&mut self) -> Output {
        self.output().unwrap()
    }
}

/// Runs `c`, which must succeed; its standard output.
pub fn ok(c: &mut impl Runnable) -> String {
    let out = c.run();
    assert!(out.status.success(), "{c:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The standard output of a run that must have succeeded.
pub fn success(out: &Output) -> String {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The standard error of a run, which must be exactly one line.
pub fn one_line(out: &Output) -> String {
    let s = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(s.lines().count(), 1, "expected one stderr line, got {s:?}");
    s
}

/// Runs `c`, which must refuse: exit 1 and exactly one line on stderr, which is returned.
pub fn refused(c: &mut impl Runnable) -> String {
    let out = c.run();
    assert_eq!(out.status.code(), Some(1), "{c:?}: {out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

/// Runs `name --lab lab args` and checks the refusal: exit 1, one line on stderr that names
/// the tool (`name: …`) and contains `expect`, nothing on stdout, and no file of the lab
/// changed ([`snapshot::files`]). Returns the line.
pub fn refused_unchanged(name: &str, lab: &Path, args: &[&str], expect: &str) -> String {
    let before = snapshot::files(lab);
    let out = on_lab(name, lab).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.starts_with(&format!("{name}: ")) && err.contains(expect),
        "{args:?}: {err}"
    );
    assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    assert_eq!(before, snapshot::files(lab), "{args:?} changed the lab");
    err
}

/// `name args` (the help options among `args`): exit 0; the help text.
pub fn help(name: &str, args: &[&str]) -> String {
    let out = tool(name).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}
