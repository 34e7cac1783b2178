//! Crash safety of the log: a process appending entries is killed (SIGKILL) at random points,
//! many times; every time the log still verifies, and holds whole entries only, each covered
//! by a signed checkpoint.
//!
//! The kills must land while the appender writes, not before its first append: the appender
//! notes `begin i` and `end i` around each append in a progress file, a calibration run in the
//! same test measures when the first append starts and how long appends take, the kill times
//! are spread across that span, and the test counts the kills that landed inside an append (the
//! progress file ends with a `begin`) and requires enough of them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use escrow::lab::Lab;
use escrow::transparency::{LogEntry, LogRecord, monitor};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use test_support::clock::SET_UP;
use test_support::lab;

/// The child process: this test binary re-run with only this (ignored) test selected. It
/// appends to the log named by `LOG_CRASH_LAB` until it is killed, writing `begin i` before
/// and `end i` after append `i` to the file `LOG_CRASH_PROGRESS` (unbuffered: each line is one
/// write, which a SIGKILL does not split).
#[test]
#[ignore = "run by killing_an_append_leaves_a_log_that_verifies as its child process"]
fn append_until_killed() {
    let Some(dir) = std::env::var_os("LOG_CRASH_LAB") else {
        return;
    };
    let mut progress =
        std::fs::File::create(std::env::var_os("LOG_CRASH_PROGRESS").unwrap()).unwrap();
    let lab = Lab::new(dir);
    let config = lab.load_log_config().unwrap();
    let mut store = lab.open_log(&config).unwrap();
    let signer = escrow::hazmat::log_operator_signer(&lab).unwrap();
    for i in 0u64.. {
        // `warrant-logged`: an entry with no precondition in the log (an execution needs its
        // warrant logged and released first, which the monitor checks).
        let rec = LogRecord::new(LogEntry::WarrantLogged {
            digest: format!("{i:064x}"),
            reference: format!("W-{i}"),
            target_count: 1,
            epoch_count: 1,
            issuing_authority: "court".into(),
            time: "2026-11-27T00:00:00Z".into(),
        });
        progress
            .write_all(format!("begin {i}\n").as_bytes())
            .unwrap();
        store.append(&rec, &signer).unwrap();
        progress.write_all(format!("end {i}\n").as_bytes()).unwrap();
    }
}

/// The appender's progress: appends completed, and whether it was inside the next one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Progress {
    ended: u64,
    inside: bool,
}

fn progress(path: &Path) -> Progress {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    match text.lines().last().and_then(|l| l.split_once(' ')) {
        Some(("begin", i)) => Progress {
            ended: i.parse().unwrap(),
            inside: true,
        },
        Some(("end", i)) => Progress {
            ended: i.parse::<u64>().unwrap() + 1,
            inside: false,
        },
        Some(other) => panic!("progress file: {other:?}"),
        None => Progress::default(),
    }
}

fn spawn_appender(lab_dir: &Path, progress: &Path) -> Child {
    let _ = std::fs::remove_file(progress);
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "append_until_killed",
            "--test-threads",
            "1",
        ])
        .env("LOG_CRASH_LAB", lab_dir)
        .env("LOG_CRASH_PROGRESS", progress)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The span in which an appender writes, measured from its spawn: when its first append
/// begins, and how long `APPENDS` appends take after that.
#[derive(Debug)]
struct Window {
    first: Duration,
    appends: Duration,
}

const APPENDS: u64 = 10;

fn calibrate(lab_dir: &Path, progress_file: &Path) -> Window {
    let mut child = spawn_appender(lab_dir, progress_file);
    let start = Instant::now();
    let mut first = None;
    let window = loop {
        let p = progress(progress_file);
        if first.is_none() && (p.inside || p.ended > 0) {
            first = Some(start.elapsed());
        }
        if let Some(first) = first.filter(|_| p.ended >= APPENDS) {
            break Window {
                first,
                appends: start.elapsed() - first,
            };
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "calibration: the appender made {p:?} in 30 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "calibration: the appender exited"
        );
        std::thread::sleep(Duration::from_micros(300));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    window
}

#[test]
fn killing_an_append_leaves_a_log_that_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let lab_dir = tmp.path().join("lab");
    let progress_file: PathBuf = tmp.path().join("progress");
    lab::set_up(&lab_dir, &["a", "b", "c"], 2, SET_UP, &[]);
    let lab = Lab::new(&lab_dir);
    let config = lab.load_log_config().unwrap();
    let window = calibrate(&lab_dir, &progress_file);
    let mut rng = ChaCha20Rng::from_seed([11; 32]);
    let mut last = lab.open_log(&config).unwrap().size().unwrap();
    // Kills inside an append, and kills after the first append began.
    let (mut inside, mut begun) = (0, 0);
    let mut rounds = 0;
    // At least 12 rounds; more (up to 40) while fewer than 8 kills landed inside an append.
    while rounds < 12 || (inside < 8 && rounds < 40) {
        let round = rounds;
        rounds += 1;
        // From a little before the first append begins to `APPENDS` appends after it.
        let span = window.first.mul_f64(0.2) + window.appends;
        let delay = window.first.mul_f64(0.8)
            + span.mul_f64(f64::from(rng.next_u32()) / f64::from(u32::MAX));
        let mut child = spawn_appender(&lab_dir, &progress_file);
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let p = progress(&progress_file);
        inside += usize::from(p.inside);
        begun += usize::from(p.inside || p.ended > 0);
        let store = lab.open_log(&config).unwrap();
        let report =
            monitor::verify(&store, &config).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(report.size, store.size().unwrap());
        // Whole entries only: every completed append, and the interrupted one in full or not
        // at all.
        let appended = report.size - last;
        assert!(
            appended == p.ended || (p.inside && appended == p.ended + 1),
            "round {round}: {appended} entries appended, the appender says {p:?}"
        );
        assert_eq!(
            store.checkpoint_sizes().unwrap().last(),
            Some(&report.size),
            "round {round}: entries beyond the newest checkpoint"
        );
        last = report.size;
    }
    eprintln!(
        "{inside} of {rounds} kills inside an append, {begun} after the first began \
         (calibrated {window:?})"
    );
    assert!(
        inside >= 8,
        "only {inside} of {rounds} kills landed inside an append ({begun} after the first one \
         began): the kill times (calibrated {window:?}) miss the writes"
    );
}
