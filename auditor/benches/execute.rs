//! Criterion benchmarks of warrant execution: `cargo bench -p auditor`.
//!
//! * an authority's approval for scopes of 1, 31 and 310 identities;
//! * one chain's unwrap with an unprepared key, with prepared pairing lines, and the floor it is
//!   compared with (one prepared pairing plus one G1 scalar multiplication), same run;
//! * unwrapping 10^2, 10^3 and 10^4 chains of one scope on one and on two threads;
//! * decrypting one message with a recovered chain key (the other part of execution).

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use blsttc::{Fr, G1Affine, PEngine};
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use escrow::approval::make_approval;
use escrow::warrant::{Warrant, WarrantDraft};
use escrow::{KeyShare, PreparedIdentityKey, SetupRequest, combine_identity_key};
use group::Curve;
use group::prime::PrimeCurveAffine;
use messenger::x3dh::{PrekeyBundle, session_ad};
use messenger::{Client, EscrowContext};
use pairing::{MillerLoopResult, MultiMillerLoop};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;
use time::OffsetDateTime;

const T0: i64 = 1_795_737_600 + 3_600;

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let names = ["court", "ministry", "oversight", "provider", "ombudsman"]
        .map(str::to_owned)
        .to_vec();
    let req = SetupRequest::new(names, 3, OffsetDateTime::UNIX_EPOCH);
    let (params, shares) = escrow::dealer_setup(&req, &mut rng).unwrap();
    let epoch = (T0 / 86_400) as u64;

    // Approvals for scopes of 1, 31 and 310 identities (10 targets x 31 days).
    let mut g = c.benchmark_group("approval");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for (targets, days) in [(1usize, 1i64), (1, 31), (10, 31)] {
        let w = Warrant::new(
            WarrantDraft {
                reference: "W".into(),
                legal_type: "l".into(),
                issuing_authority: "court".into(),
                jurisdiction: "j".into(),
                targets: (0..targets).map(|i| format!("u{i}")).collect(),
                start: OffsetDateTime::from_unix_timestamp(T0 - 3_600 - (days - 1) * 86_400)
                    .unwrap(),
                end: OffsetDateTime::from_unix_timestamp(T0 - 3_600 + 86_400).unwrap(),
                expires: OffsetDateTime::from_unix_timestamp(T0 + 86_400).unwrap(),
                justification: "j".into(),
                generation: 1,
            },
            &mut rng,
        )
        .unwrap();
        let scope = w.scope(&params).unwrap();
        let digest = w.digest().unwrap();
        g.bench_function(format!("{} scope identities", scope.len()), |b| {
            b.iter(|| make_approval(&shares[0], &params, &w, &digest, black_box(&scope)).unwrap())
        });
    }
    g.finish();

    // The identity key of (alice, epoch), as k authorities release it.
    let id = params.identity("alice", epoch).unwrap();
    let ks: Vec<KeyShare> = shares[..3]
        .iter()
        .map(|s| s.release_identity_key_share(&params, &id).unwrap())
        .collect();
    let key = combine_identity_key(&params, &id, &ks).unwrap();
    let prepared = PreparedIdentityKey::new(&key);
    let scope = escrow::PreparedScope::new(&params, &id).unwrap();
    let n_max = 10_000;
    let wraps: Vec<escrow::Wrap> = (0..n_max)
        .map(|_| {
            let mut k = [0u8; 32];
            rng.fill_bytes(&mut k);
            scope.wrap(&k).unwrap()
        })
        .collect();

    let mut g = c.benchmark_group("unwrap");
    g.sample_size(50).measurement_time(Duration::from_secs(4));
    g.bench_function("one chain, unprepared key", |b| {
        b.iter(|| escrow::unwrap(black_box(&wraps[0]), &key).unwrap())
    });
    g.bench_function("one chain, prepared key", |b| {
        b.iter(|| prepared.unwrap(black_box(&wraps[0])).unwrap())
    });
    let lines = blstrs::G2Prepared::from(*key.point());
    let u = *wraps[0].ciphertext().u();
    let r = Fr::from(0xdead_beef_u64) * Fr::from(0x1234_5678_9abc_u64);
    g.bench_function("floor: prepared pairing + G1 mult", |b| {
        b.iter(|| {
            let gt = PEngine::multi_miller_loop(&[(black_box(&u), &lines)]).final_exponentiation();
            let p = (G1Affine::generator() * black_box(r)).to_affine();
            (gt, p)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("unwrap-many");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for n in [100usize, 1_000, 10_000] {
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            g.bench_function(format!("{n} chains, {threads} thread(s)"), |b| {
                b.iter(|| {
                    pool.install(|| {
                        wraps[..n]
                            .par_iter()
                            .map(|w| prepared.unwrap(w).unwrap())
                            .count()
                    })
                })
            });
        }
    }
    g.finish();

    // One message opened with its recovered chain key.
    let mut ctx = EscrowContext::new(params.clone());
    let (mut alice, ra) = Client::register("alice", &mut rng).unwrap();
    let (_, rb) = Client::register("bob", &mut rng).unwrap();
    let bundle = rb.bundle.clone();
    let mut fetch = |_: &str| -> messenger::Result<PrekeyBundle> { Ok(bundle.clone()) };
    let env = alice
        .send("bob", &[b'x'; 100], T0, &mut ctx, &mut fetch, &mut rng)
        .unwrap();
    let block = env.start.as_ref().unwrap().escrow.clone().unwrap();
    let ck0 = prepared.unwrap(&block.sender_wrap).unwrap();
    let ad = session_ad("alice", &ra.bundle.identity, "bob", &rb.bundle.identity);
    let mut g = c.benchmark_group("decrypt");
    g.sample_size(50).measurement_time(Duration::from_secs(3));
    g.bench_function("one 100-byte message from its chain key", |b| {
        b.iter(|| messenger::ratchet::open_with_chain_key(&ck0, &ad, black_box(&env)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
