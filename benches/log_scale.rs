//! The warrant process on a large log: `cargo bench -p escrow-lab --bench log_scale`.
//!
//! The same lab and traffic with 10^2 and with 10^6 entries in the log before the warrant
//! (filler `warrant-logged` entries appended by the log role in batches of 10,000). Each timed
//! step is one real procedure through the lab's log ([`escrow::transparency::api::LocalLog`]):
//! * `submit`: `auditor::submit_warrant` (drafting checks, `warrant-logged`, receipt, the
//!   auditor's checkpoint);
//! * `approve`: `escrow::authority::approve` by one authority (rules 1–7, `key-released`, its
//!   witness's cosignature, the journal);
//! * `execute`: `auditor::execute::execute` with k approvals (lookups of the warrant and of an
//!   earlier execution, the combination, the capture, `warrant-executed`).
//!
//! Lookups go through the log's key index, so the cost should not grow with the log (issue
//! target: at 10^6 entries at most 1.2× the cost at 10^2). Each iteration uses a fresh warrant
//! (a warrant is logged, approved by an authority and executed once); its other steps run
//! outside the timed part.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use escrow::transparency::LogRecord;
use escrow::transparency::api::LocalLog;
use escrow_lab::world::{DAY, World, at};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// 2026-11-02T00:00:00Z.
const DAY0: i64 = 1_793_577_600;
const AUTHORITIES: [&str; 3] = ["court", "ministry", "oversight"];

struct Scale {
    _tmp: tempfile::TempDir,
    w: World,
    t: i64,
    n: u64,
}

impl Scale {
    fn new(entries: u64) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = World::create(
            &tmp.path().join("lab"),
            &AUTHORITIES,
            2,
            DAY0 - 30 * DAY,
            ChaCha20Rng::seed_from_u64(11),
        )
        .unwrap();
        for u in ["alice", "bob"] {
            w.register(u, DAY0 - DAY).unwrap();
        }
        w.send("alice", "bob", "hello", DAY0 + 3_600).unwrap();
        let mut log = LocalLog::open(&w.lab).unwrap();
        let mut i = 0;
        while i + 1 < entries {
            let batch: Vec<LogRecord> = (i..(i + 10_000).min(entries - 1)).map(filler).collect();
            i += batch.len() as u64;
            for r in log.append_batch(&batch).unwrap() {
                r.unwrap();
            }
        }
        Self {
            _tmp: tmp,
            w,
            t: DAY0 + 2 * DAY,
            n: 0,
        }
    }

    fn warrant(&mut self) -> escrow::warrant::Warrant {
        self.n += 1;
        let r = format!("W-{}", self.n);
        self.w
            .warrant(&r, &["alice"], DAY0, DAY0 + DAY, DAY0 + 20 * DAY)
            .unwrap()
    }

    fn tick(&mut self) -> i64 {
        self.t += 1;
        self.t
    }
}

fn filler(i: u64) -> LogRecord {
    test_support::warrant::logged_record(i, "F", "2026-11-01T00:00:00Z")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("log-scale");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for entries in [100u64, 1_000_000] {
        let mut s = Scale::new(entries);
        g.bench_function(BenchmarkId::new("submit", entries), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let w = s.warrant();
                    let t = s.tick();
                    let start = Instant::now();
                    auditor::submit_warrant(&s.w.lab, &w, at(t).unwrap()).unwrap();
                    total += start.elapsed();
                }
                total
            });
        });
        g.bench_function(BenchmarkId::new("approve", entries), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let w = s.warrant();
                    let t = s.tick();
                    let receipt = s.w.submit(&w, t).unwrap();
                    let t = s.tick();
                    let start = Instant::now();
                    s.w.approve("court", &w, &receipt, t).unwrap();
                    total += start.elapsed();
                }
                total
            });
        });
        g.bench_function(BenchmarkId::new("execute", entries), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let w = s.warrant();
                    let t = s.tick();
                    let receipt = s.w.submit(&w, t).unwrap();
                    let t = s.tick();
                    let a = s.w.approve("court", &w, &receipt, t).unwrap();
                    let b2 = s.w.approve("ministry", &w, &receipt, t).unwrap();
                    let t = s.tick();
                    let capture = s.w.capture("alice", DAY0, DAY0 + DAY, t).unwrap();
                    let t = s.tick();
                    let start = Instant::now();
                    s.w.execute(&w, &[&a, &b2], &capture, t).unwrap();
                    total += start.elapsed();
                }
                total
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
