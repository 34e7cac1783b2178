//! Criterion benchmarks of the record (docs/protocol.md §6.3): `cargo bench -p auditor --bench
//! record`.
//!
//! * `escrow approve` as a whole for a one-identity warrant — shares, `key-released` appended
//!   (durable commit), the authority's witness step (consistency proof, Ed25519 cosignature,
//!   witness state written durably, cosignature stored) and the release's inclusion proof;
//! * the witness step alone (`escrow log cosign` on a log grown by one entry);
//! * the auditor's check of one approval's release proof (log signature, inclusion proof,
//!   cosignature) and the look-up that the log still holds its checkpoint.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use escrow::SetupRequest;
use escrow::lab::Lab;
use escrow::transparency::witness::check_in_log;
use escrow::transparency::{LogEntry, LogRecord};
use escrow::warrant::{Warrant, WarrantDraft};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use time::OffsetDateTime;

const T0: i64 = 1_795_737_600;
const DAY: i64 = 86_400;

fn t(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let tmp = tempfile::tempdir().unwrap();
    let lab = Lab::new(tmp.path().join("lab"));
    let names: Vec<String> = ["court", "ministry", "oversight"]
        .map(str::to_owned)
        .to_vec();
    let req = SetupRequest::new(names.clone(), 2, t(T0 - 30 * DAY));
    let (params, shares) = escrow::dealer_setup(&req, &mut rng).unwrap();
    let log = escrow::transparency::generate_log(&req.realm, &names, &mut rng);
    lab.write_setup(&params, &shares, &log).unwrap();
    let now = t(T0 + DAY + 3_600);
    let mut counter = 0u64;
    let mut warrant = |rng: &mut ChaCha20Rng| {
        counter += 1;
        Warrant::new(
            WarrantDraft {
                reference: format!("W-{counter}"),
                legal_type: "l".into(),
                issuing_authority: "court".into(),
                jurisdiction: "j".into(),
                targets: vec!["alice".into()],
                start: t(T0),
                end: t(T0 + DAY),
                expires: t(T0 + 5 * DAY),
                justification: "j".into(),
                generation: 1,
            },
            rng,
        )
        .unwrap()
    };

    let mut g = c.benchmark_group("record");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function(
        "approve: shares, key-released, cosign, proof (1 identity)",
        |b| {
            b.iter_batched(
                || {
                    let w = warrant(&mut rng);
                    let sub = auditor::submit_warrant(&lab, &w, now).unwrap();
                    (w, sub.receipt)
                },
                |(w, receipt)| {
                    escrow::authority::approve(&lab, "court", &w, &receipt, now).unwrap()
                },
                BatchSize::PerIteration,
            )
        },
    );
    let config = lab.load_log_config().unwrap();
    let signer = escrow::hazmat::log_operator_signer(&lab).unwrap();
    g.bench_function("witness step alone (log cosign after one append)", |b| {
        b.iter_batched(
            || {
                let mut store = lab.open_log(&config).unwrap();
                store
                    .append(
                        &LogRecord::new(LogEntry::WarrantExecuted {
                            digest: "00".repeat(32),
                            messages_decrypted: 0,
                            // = `now`: log times never go backwards.
                            time: "2026-11-28T01:00:00Z".into(),
                        }),
                        &signer,
                    )
                    .unwrap();
            },
            |()| escrow::authority::cosign(&lab, "ministry", now).unwrap(),
            BatchSize::PerIteration,
        )
    });
    let w = warrant(&mut rng);
    let sub = auditor::submit_warrant(&lab, &w, now).unwrap();
    let approved = escrow::authority::approve(&lab, "oversight", &w, &sub.receipt, now).unwrap();
    let store = lab.open_log_read_only(&config).unwrap();
    g.bench_function(
        "auditor: check one release proof and find it in the log",
        |b| {
            b.iter(|| {
                let cp = approved.approval.check_release(&config).unwrap();
                check_in_log(&store, &cp, "").unwrap();
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
