#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark stops on a setup failure
//! The log service over loopback against the in-process log of the same run
//! (docs/performance.md, "The log as a service").
//!
//! * `append/http/<c>`: `c` concurrent submitters (threads, each with its own connection),
//!   each submitting signed entries over HTTP and waiting for its receipt (answered only once
//!   the entry is durable); throughput in entries per second.
//! * `append/in-process/<c>`: the same entries appended by the log role in process, in
//!   batches of `c` (what the service's sequencer does with `c` submitters waiting): one
//!   transaction, one checkpoint and `c` receipts per batch.
//! * `tiles/read`: full hash tiles and entry bundles read over HTTP, per second.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use escrow::lab::Lab;
use escrow::transparency::LogRecord;
use escrow::transparency::api::{LocalLog, TransparencyLog};
use escrow_net::client::{HttpLog, Tiles};
use escrow_net::log_server::{self, Options};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const PER_SUBMITTER: u64 = 16;

fn lab(dir: &std::path::Path) -> Lab {
    let lab = Lab::new(dir.join("lab"));
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let names: Vec<String> = ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
    let req = escrow::SetupRequest::new(
        names.clone(),
        2,
        time::macros::datetime!(2026-09-01 00:00 UTC),
    );
    let (params, shares) = escrow::dealer_setup(&req, &mut rng).expect("setup");
    let log = escrow::transparency::generate_log(&req.realm, &names, &mut rng);
    lab.write_setup(&params, &shares, &log)
        .expect("write setup");
    lab
}

fn record(i: u64) -> LogRecord {
    test_support::warrant::logged_record(i, "W", "2026-09-02T00:00:00Z")
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = lab(dir.path());
    let server = log_server::start(
        &lab,
        TcpListener::bind("127.0.0.1:0").expect("bind"),
        Options::default(),
    )
    .expect("start");
    let url = server.url();
    let next = Arc::new(AtomicU64::new(1_000_000));
    let mut g = c.benchmark_group("append");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    for submitters in [1u64, 16, 64] {
        g.throughput(Throughput::Elements(submitters * PER_SUBMITTER));
        g.bench_with_input(
            BenchmarkId::new("http", submitters),
            &submitters,
            |b, &n| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let handles: Vec<_> = (0..n)
                            .map(|_| {
                                let (lab, url, next) = (lab.clone(), url.clone(), next.clone());
                                std::thread::spawn(move || {
                                    let config = lab.load_log_config().expect("config");
                                    let signer = lab.request_signer("auditor").expect("signer");
                                    let mut log = HttpLog::new(&url, config, Some(signer));
                                    for _ in 0..PER_SUBMITTER {
                                        let i = next.fetch_add(1, Ordering::Relaxed);
                                        log.submit(&record(i)).expect("submit");
                                    }
                                })
                            })
                            .collect();
                        for h in handles {
                            h.join().expect("submitter");
                        }
                        total += start.elapsed();
                    }
                    total
                });
            },
        );
        g.bench_with_input(
            BenchmarkId::new("in-process", submitters),
            &submitters,
            |b, &n| {
                let mut log = LocalLog::open(&lab).expect("open");
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        for _ in 0..PER_SUBMITTER {
                            let records: Vec<LogRecord> = (0..n)
                                .map(|_| record(next.fetch_add(1, Ordering::Relaxed)))
                                .collect();
                            let results = log.append_batch(&records).expect("append");
                            let size = log.size().expect("size");
                            for r in results {
                                let (index, _) = r.expect("appended");
                                log.receipt(index, size).expect("receipt");
                            }
                        }
                        total += start.elapsed();
                    }
                    total
                });
            },
        );
    }
    g.finish();

    let tiles = Tiles::new(&url);
    let size = LocalLog::open(&lab).expect("open").size().expect("size");
    let full = size / 256;
    let mut g = c.benchmark_group("tiles");
    g.throughput(Throughput::Elements(2));
    g.bench_function("read", |b| {
        let mut n = 0;
        b.iter(|| {
            n = (n + 1) % full.max(1);
            tiles
                .get(&escrow_net::paths::hash_tile(0, n, 256))
                .expect("tile");
            tiles
                .get(&escrow_net::paths::entries_tile(n, 256))
                .expect("bundle");
        });
    });
    g.finish();
    drop(server);
}

criterion_group!(benches, bench);
criterion_main!(benches);
