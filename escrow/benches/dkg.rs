//! Criterion benchmarks of dealerless generations: `cargo bench -p escrow --bench dkg`.
//!
//! * the whole joint-Feldman DKG (every party dealing, responding, justifying, finishing, in
//!   one process, messages serialized and parsed) for n = 5, 10 and 21 authorities (Shutter
//!   runs 21 keypers) with k = ⌊n/2⌋ + 1;
//! * one party's share of that work: one deal, and one response (checking n rows);
//! * a proactive refresh of every share: the resharing protocol to the same authorities and
//!   threshold, every party in one process (every dealer dealing, every new authority checking).
//!
//! The bytes each party publishes (deal, response, justification) are printed once per n.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use escrow::SetupRequest;
use escrow::dkg::{DkgConfig, PartyKeys, deal, respond};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use time::OffsetDateTime;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("dkg");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    for n in [5usize, 10, 21] {
        let k = n / 2 + 1;
        let names: Vec<String> = (0..n).map(|i| format!("a{i}")).collect();
        let req = SetupRequest::new(names, k, OffsetDateTime::UNIX_EPOCH);
        let mut rng = ChaCha20Rng::seed_from_u64(n as u64);
        let (params, shares, _, t) = escrow::dkg::run_all(&req, &mut rng).unwrap();
        let deal_bytes = t.deals[0].to_json().unwrap().len();
        let response_bytes = t.responses[0].to_json().unwrap().len();
        let just_bytes = t.justifications[0].to_json().unwrap().len();
        println!(
            "dkg n={n} k={k}: each party publishes a {deal_bytes}-byte deal ({} rows), a \
             {response_bytes}-byte response and a {just_bytes}-byte justification \
             (carrying the n signed responses it answered; no complaints); {} bytes per party in all",
            n,
            deal_bytes + response_bytes + just_bytes
        );
        g.bench_function(format!("whole DKG, n={n}, k={k}"), |b| {
            b.iter(|| escrow::dkg::run_all(&req, &mut rng).unwrap())
        });
        let keys: Vec<PartyKeys> = (0..n).map(|_| PartyKeys::generate(&mut rng)).collect();
        let config = DkgConfig::new(req.clone(), &keys, &mut rng);
        let deals: Vec<_> = (0..n)
            .map(|j| deal(&config, j, &keys[j].signing, &mut rng).unwrap().0)
            .collect();
        g.bench_function(format!("one deal, n={n}"), |b| {
            b.iter(|| deal(&config, 0, &keys[0].signing, &mut rng).unwrap())
        });
        g.bench_function(format!("one response (checks {n} rows), n={n}"), |b| {
            b.iter(|| respond(&config, 0, &keys[0], &deals).unwrap())
        });
        g.bench_function(format!("refresh of all shares, n={n}"), |b| {
            b.iter(|| {
                escrow::dkg::reshare::simulate(&params, &shares, &req.authorities, k, &mut rng)
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
