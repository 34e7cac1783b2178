//! Crash safety of the log: a process appending entries is killed (SIGKILL) at random points,
//! many times; every time the log still verifies, and holds whole entries only, each covered
//! by a signed checkpoint.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::process::{Command, Stdio};
use std::time::Duration;

use escrow::lab::Lab;
use escrow::transparency::{LogEntry, LogRecord, monitor};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// The child process: this test binary re-run with only this (ignored) test selected. It
/// appends to the log named by `LOG_CRASH_LAB` until it is killed.
#[test]
#[ignore = "run by killing_an_append_leaves_a_log_that_verifies as its child process"]
fn append_until_killed() {
    let Some(dir) = std::env::var_os("LOG_CRASH_LAB") else {
        return;
    };
    let lab = Lab::new(dir);
    let config = lab.load_log_config().unwrap();
    let mut store = lab.open_log(&config).unwrap();
    let signer = lab.log_signer().unwrap();
    for i in 0u64.. {
        let rec = LogRecord::new(LogEntry::WarrantExecuted {
            digest: format!("{i:064x}"),
            messages_decrypted: i,
            time: "2026-11-27T00:00:00Z".into(),
        });
        store.append(&rec, &signer).unwrap();
    }
}

#[test]
fn killing_an_append_leaves_a_log_that_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let lab_dir = tmp.path().join("lab");
    let escrow = env!("CARGO_BIN_EXE_escrow");
    let ok = Command::new(escrow)
        .arg("--lab")
        .arg(&lab_dir)
        .args(["setup", "--authorities", "a,b,c", "--threshold", "2"])
        .output()
        .unwrap();
    assert!(ok.status.success());
    let me = std::env::current_exe().unwrap();
    let lab = Lab::new(&lab_dir);
    let config = lab.load_log_config().unwrap();
    let mut rng = ChaCha20Rng::from_seed([11; 32]);
    let mut last = 1;
    for round in 0..12 {
        let mut child = Command::new(&me)
            .args([
                "--ignored",
                "--exact",
                "append_until_killed",
                "--test-threads",
                "1",
            ])
            .env("LOG_CRASH_LAB", &lab_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20 + u64::from(rng.next_u32() % 150)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let store = lab.open_log(&config).unwrap();
        let report =
            monitor::verify(&store, &config).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(report.size, store.size().unwrap());
        assert!(report.size >= last, "round {round}: the log shrank");
        assert_eq!(
            store.checkpoint_sizes().unwrap().last(),
            Some(&report.size),
            "round {round}: entries beyond the newest checkpoint"
        );
        last = report.size;
    }
    assert!(last > 1, "the appender never appended");
}
