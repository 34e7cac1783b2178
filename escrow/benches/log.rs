//! Criterion benchmarks of the transparency log: `cargo bench -p escrow --bench log`.
//!
//! * durable append: one entry per transaction on a file database (WAL, synchronous=FULL),
//!   i.e. one fsync'd commit with a signed checkpoint per entry;
//! * batched append: 1,000 entries in one transaction with one checkpoint;
//! * inclusion and consistency proofs, generation (from SQLite) and verification, at 10^3,
//!   10^5 and 10^6 entries (built in memory once, outside the timing).

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use criterion::{BatchSize, Criterion, black_box, criterion_group, criterion_main};
use escrow::transparency::proof::{verify_consistency, verify_inclusion};
use escrow::transparency::store::LogStore;
use escrow::transparency::{LogEntry, LogRecord, generate_log, log_signer};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use tlog_tiles::record_hash;

fn record(i: u64) -> LogRecord {
    LogRecord::new(LogEntry::KeyReleased {
        digest: format!("{i:064x}"),
        authority: "court".into(),
        identity_count: 1,
        time: "2026-11-27T00:00:00Z".into(),
    })
}

fn bench(c: &mut Criterion) {
    let names = ["court", "ministry", "oversight"].map(str::to_owned);
    let log = generate_log("lab", &names, &mut ChaCha20Rng::from_seed([1; 32]));
    let signer = log_signer(&log.log_key).unwrap();

    let mut g = c.benchmark_group("log-append");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    let dir = tempfile::tempdir().unwrap();
    let mut durable = LogStore::open(&dir.path().join("log.sqlite"), &log.config.origin).unwrap();
    let mut i = 0u64;
    g.bench_function("one entry, durable commit (fsync) with checkpoint", |b| {
        b.iter(|| {
            i += 1;
            durable.append(&record(i), &signer).unwrap()
        })
    });
    g.bench_function("batch of 1000 entries, one transaction", |b| {
        b.iter_batched(
            || (0..1000).map(|k| record(1_000_000 + k)).collect::<Vec<_>>(),
            |recs| durable.append_batch(&recs, &signer).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.finish();

    for size in [1_000u64, 100_000, 1_000_000] {
        let mut store = LogStore::in_memory(&log.config.origin).unwrap();
        let recs: Vec<LogRecord> = (0..size).map(record).collect();
        for chunk in recs.chunks(50_000) {
            store.append_batch(chunk, &signer).unwrap();
        }
        let root = store.tree_hash(size).unwrap();
        let old = size / 2 + 1;
        let old_root = store.tree_hash(old).unwrap();
        let idx = size / 3;
        let leaf = record_hash(&record(idx).to_bytes().unwrap());
        let incl = store.prove_inclusion(idx, size).unwrap();
        let cons = store.prove_consistency(old, size).unwrap();
        let mut g = c.benchmark_group(format!("log-proofs/{size}"));
        g.sample_size(50).measurement_time(Duration::from_secs(3));
        g.bench_function("inclusion proof: generate", |b| {
            b.iter(|| store.prove_inclusion(black_box(idx), size).unwrap())
        });
        g.bench_function("inclusion proof: verify", |b| {
            b.iter(|| verify_inclusion(black_box(&incl), size, root, idx, leaf).unwrap())
        });
        g.bench_function("consistency proof: generate", |b| {
            b.iter(|| store.prove_consistency(black_box(old), size).unwrap())
        });
        g.bench_function("consistency proof: verify", |b| {
            b.iter(|| verify_consistency(black_box(&cons), old, old_root, size, root).unwrap())
        });
        g.finish();
        eprintln!(
            "size {size}: inclusion proof {} hashes, consistency proof {} hashes",
            incl.len(),
            cons.len()
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
