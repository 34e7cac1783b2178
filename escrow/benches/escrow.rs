//! Criterion benchmarks of the escrow core: `cargo bench -p escrow`.
//!
//! wrap, verify_wrap, share release, combine (k = 3 of 5, which verifies every share and the
//! result by pairing) and unwrap; plus the two ways to compute `e(MPK, Q_id)^r`, which is why
//! the wrap pairs `r·MPK` with prepared `Q_id` lines instead of exponentiating a cached GT
//! element (see `escrow::ibe`).

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use blsttc::{Fr, G1Affine, PEngine};
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use escrow::{KeyShare, PreparedScope, SetupRequest, combine_identity_key, dealer_setup, unwrap};
use ff::Field;
use group::Curve;
use pairing::{MillerLoopResult, MultiMillerLoop};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use time::OffsetDateTime;

fn bench(c: &mut Criterion) {
    let names = ["court", "ministry", "oversight", "provider", "ombudsman"]
        .map(str::to_owned)
        .to_vec();
    let req = SetupRequest::new(names, 3, OffsetDateTime::UNIX_EPOCH);
    let (params, shares) = dealer_setup(&req, &mut ChaCha20Rng::from_seed([1; 32])).unwrap();
    let id = params.identity("alice", 20_784).unwrap();
    let key = [0x42u8; 32];
    let prepared = PreparedScope::new(&params, &id).unwrap();
    let wrap = prepared.wrap(&key).unwrap();
    let key_shares: Vec<KeyShare> = shares[..3]
        .iter()
        .map(|s| s.release_identity_key_share(&params, &id).unwrap())
        .collect();
    let id_key = combine_identity_key(&params, &id, &key_shares).unwrap();

    let mut g = c.benchmark_group("escrow");
    g.sample_size(30).measurement_time(Duration::from_secs(4));
    g.bench_function("wrap (prepared scope)", |b| {
        b.iter(|| prepared.wrap(black_box(&key)).unwrap())
    });
    g.bench_function("wrap (cold: hash to G2 + prepare + wrap)", |b| {
        b.iter(|| escrow::wrap::wrap(&params, black_box(&id), &key).unwrap())
    });
    g.bench_function("verify_wrap (prepared scope)", |b| {
        b.iter(|| prepared.verify(black_box(&key), &wrap).unwrap())
    });
    g.bench_function("release identity key share", |b| {
        b.iter(|| {
            shares[0]
                .release_identity_key_share(&params, black_box(&id))
                .unwrap()
        })
    });
    g.bench_function("combine k=3 (verify 3 shares + key)", |b| {
        b.iter(|| combine_identity_key(&params, &id, black_box(&key_shares)).unwrap())
    });
    g.bench_function("unwrap", |b| {
        b.iter(|| unwrap(black_box(&wrap), &id_key).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("gt-power");
    g.sample_size(30).measurement_time(Duration::from_secs(4));
    let r = Fr::from(0x1234_5678_9abc_def1u64) * Fr::from(0xfedc_ba98_7654_3210u64).square();
    let q = blstrs::G2Prepared::from(id.point());
    let gid = blstrs::pairing(params.master_public_key(), &id.point());
    g.bench_function("cached e(MPK,Q)^r (blstrs Gt * r, variable time)", |b| {
        b.iter(|| gid * black_box(r))
    });
    g.bench_function("e(r*MPK, Q prepared) (constant-time G1 mult)", |b| {
        b.iter(|| {
            let p: G1Affine = (params.master_public_key() * black_box(r)).to_affine();
            PEngine::multi_miller_loop(&[(&p, &q)]).final_exponentiation()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
