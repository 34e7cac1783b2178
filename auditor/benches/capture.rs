//! Criterion benchmark of a whole warrant execution (`auditor::execute::execute`) on captures
//! of 10^2, 10^3 and 10^4 chains: `cargo bench -p auditor --bench capture`.
//!
//! The capture is real: alice sends one message to each of N recipients on one day, so each
//! message starts its own chain (a new X3DH session) with an escrow block; the warrant targets
//! alice for that day, so every chain is in scope. Each iteration judges three approvals,
//! combines the keys, opens every chain and message, and appends `warrant-executed` — for its
//! own warrant (a warrant is executed once), logged and approved outside the measurement.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use escrow::SetupRequest;
use escrow::lab::Lab;
use escrow::warrant::{Warrant, WarrantDraft};
use messenger::{Client, EscrowContext, Relay};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use time::OffsetDateTime;

const DAY: i64 = 86_400;
const T0: i64 = 1_795_737_600; // 2026-11-27T00:00:00Z

fn t(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("execute");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for n in [100usize, 1_000, 10_000] {
        let mut rng = ChaCha20Rng::from_seed([n as u8; 32]);
        let tmp = tempfile::tempdir().unwrap();
        let lab = Lab::new(tmp.path().join("lab"));
        let names: Vec<String> = ["court", "ministry", "oversight", "provider", "ombudsman"]
            .map(str::to_owned)
            .to_vec();
        let req = SetupRequest::new(names.clone(), 3, t(T0 - 30 * DAY));
        let (params, shares) = escrow::dealer_setup(&req, &mut rng).unwrap();
        let log = escrow::transparency::generate_log(&req.realm, &names, &mut rng);
        lab.write_setup(&params, &shares, &log).unwrap();
        let mut ctx = EscrowContext::new(params.clone());
        let mut relay = Relay::open(&lab.root().join("relay.sqlite")).unwrap();
        let (mut alice, reg) = Client::register("alice", &mut rng).unwrap();
        let tx = relay.transaction().unwrap();
        tx.register(&reg, T0).unwrap();
        for i in 0..n {
            let (_, reg) = Client::register(&format!("r{i}"), &mut rng).unwrap();
            tx.register(&reg, T0).unwrap();
        }
        for i in 0..n {
            let time = T0 + 3_600 + i as i64 % 3_600;
            let env = alice
                .send(
                    &format!("r{i}"),
                    &[b'm'; 100],
                    time,
                    &mut ctx,
                    &mut |a| tx.take_bundle(a),
                    &mut rng,
                )
                .unwrap();
            tx.enqueue(&env, time).unwrap();
        }
        tx.commit().unwrap();
        let capture = relay
            .capture(&messenger::relay::CaptureRequest::new(
                &escrow::Generations::single(params.clone()),
                "alice",
                T0,
                T0 + DAY,
                T0 + DAY,
            ))
            .unwrap();
        let now = t(T0 + DAY + 3_600);
        // A warrant is executed once: each iteration executes its own warrant of the same
        // scope, drafted, logged and approved by three authorities outside the measurement.
        let mut next = 0u32;
        let mut fresh = || {
            next += 1;
            let warrant = Warrant::new(
                WarrantDraft {
                    reference: format!("W-{next}"),
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
                &mut rng,
            )
            .unwrap();
            let sub = auditor::submit_warrant(&lab, &warrant, now).unwrap();
            let approvals: Vec<(String, Vec<u8>)> = shares[..3]
                .iter()
                .map(|s| {
                    let a = escrow::authority::approve(
                        &lab,
                        s.authority(),
                        &warrant,
                        &sub.receipt,
                        now,
                    )
                    .unwrap();
                    (s.authority().to_owned(), a.bytes.to_vec())
                })
                .collect();
            (warrant, approvals)
        };
        let (warrant, approvals) = fresh();
        let check = auditor::execute::execute(&lab, &warrant, &approvals, &capture, now).unwrap();
        assert_eq!(check.decrypted.len(), n);
        g.bench_function(format!("{n} chains in scope"), |b| {
            b.iter_batched(
                &mut fresh,
                |(warrant, approvals)| {
                    auditor::execute::execute(&lab, &warrant, &approvals, &capture, now).unwrap()
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
