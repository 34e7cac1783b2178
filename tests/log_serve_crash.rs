//! `escrow log serve` killed with SIGKILL under concurrent submitters, three times: every
//! entry it acknowledged is in the log afterwards, at the index it acknowledged, and no
//! checkpoint covers an entry that is not stored (the log verifies, and its newest checkpoint
//! covers every entry). The service is a real process on a loopback port of its choosing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use escrow::transparency::LogRecord;
use escrow::transparency::api::TransparencyLog;
use escrow_lab::world::{DAY, World};
use escrow_net::client::HttpLog;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// 2026-11-02T00:00:00Z.
const DAY0: i64 = 1_793_577_600;

/// Starts `escrow log serve` on 127.0.0.1 (a port it chooses) and returns it with its URL,
/// read from its first line on stdout.
fn serve(lab: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("escrow"))
        .arg("--lab")
        .arg(lab)
        .args(["log", "serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    (child, url)
}

fn record(i: u64) -> LogRecord {
    test_support::warrant::logged_record(i, "W", "2026-11-03T00:00:00Z")
}

#[test]
fn acknowledged_entries_survive_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let w = World::create(
        &tmp.path().join("lab"),
        &["court", "ministry", "oversight"],
        2,
        DAY0 - 30 * DAY,
        ChaCha20Rng::seed_from_u64(3),
    )
    .unwrap();
    let config = w.lab.load_log_config().unwrap();
    let acked: Arc<Mutex<Vec<(u64, LogRecord)>>> = Arc::default();
    let next = Arc::new(AtomicU64::new(0));
    for round in 0..3 {
        let (mut child, url) = serve(w.lab.root());
        let stop = Arc::new(AtomicBool::new(false));
        let submitters: Vec<_> = (0..8)
            .map(|_| {
                let (lab, url, acked, next, stop, config) = (
                    w.lab.clone(),
                    url.clone(),
                    acked.clone(),
                    next.clone(),
                    stop.clone(),
                    config.clone(),
                );
                std::thread::spawn(move || {
                    let mut log =
                        HttpLog::new(&url, config, Some(lab.request_signer("auditor").unwrap()));
                    // Bounded: until the server is gone or 2,000 submissions.
                    for _ in 0..2_000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let r = record(next.fetch_add(1, Ordering::Relaxed));
                        match log.submit(&r) {
                            Ok(s) => acked.lock().unwrap().push((s.index, r)),
                            Err(_) => break,
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300 + 200 * round));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for s in submitters {
            s.join().unwrap();
        }
        // Restarted: everything acknowledged so far is there, at its index.
        let (mut child, url) = serve(w.lab.root());
        let log = HttpLog::new(&url, config.clone(), None);
        let acked = acked.lock().unwrap();
        assert!(!acked.is_empty(), "round {round}: nothing was acknowledged");
        for (index, r) in acked.iter() {
            assert_eq!(
                &log.entry(*index).unwrap(),
                r,
                "round {round}: entry {index}"
            );
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // The newest checkpoint covers every stored entry, and the log verifies.
        let store = w.lab.open_log_read_only(&config).unwrap();
        let size = store.size().unwrap();
        assert_eq!(store.checkpoint_sizes().unwrap().last(), Some(&size));
        drop(store);
        auditor::verify_log(&w.lab).unwrap();
    }
}
