//! Criterion benchmarks of the messenger's cost of escrow: `cargo bench -p messenger`.
//!
//! * chain start on the sender: an epoch step (fresh P-256 key, one ECDH, KDF) plus the
//!   escrow block (two wraps) plus the first message's AEAD, with escrow and without;
//! * chain start on the recipient: ECDH, KDF, two wrap checks, AEAD, with and without;
//! * the primitives they are made of, in the same run: ECDH (keygen + DH), one wrap, one wrap
//!   check;
//! * a message inside a chain, 100 B and 4 KiB, with and without escrow.
//!
//! Scopes are prepared before timing, as a client does once per epoch. Each iteration starts
//! from a copy of the same session state (made and dropped outside the timing).

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use criterion::{BatchSize, Criterion, black_box, criterion_group, criterion_main};
use escrow::{PreparedScope, SetupRequest};
use messenger::hazmat::escrow_disabled;
use messenger::keys::DhKeyPair;
use messenger::x3dh::{IdentityPublic, PrekeyBundle};
use messenger::{Client, EscrowContext, Incoming};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use time::OffsetDateTime;

const T0: i64 = 1_795_737_600 + 3_600;
const DAY: i64 = 86_400;

struct Pair {
    alice: Client,
    bob: Client,
}

/// alice ⇄ bob with one exchange done, in the given escrow context.
fn pair(ctx: &mut EscrowContext, rng: &mut ChaCha20Rng) -> Pair {
    let (mut alice, ra) = Client::register("alice", rng).unwrap();
    let (mut bob, rb) = Client::register("bob", rng).unwrap();
    let ids: Vec<(String, IdentityPublic)> = vec![
        ("alice".into(), ra.bundle.identity.clone()),
        ("bob".into(), rb.bundle.identity.clone()),
    ];
    let mut dir = |a: &str| -> messenger::Result<Option<IdentityPublic>> {
        Ok(ids.iter().find(|(n, _)| n == a).map(|(_, i)| i.clone()))
    };
    let b_bundle = rb.bundle.clone();
    let mut fetch_b = |_: &str| -> messenger::Result<PrekeyBundle> { Ok(b_bundle.clone()) };
    let env = alice
        .send("bob", b"hi", T0, ctx, &mut fetch_b, rng)
        .unwrap();
    let inc = |env: &messenger::Envelope, id| Incoming {
        relay_id: id,
        server_time: T0,
        body: String::from_utf8(env.to_json()).unwrap(),
    };
    bob.receive(vec![inc(&env, 1)], T0, ctx, &mut dir, rng);
    let mut none = |_: &str| -> messenger::Result<PrekeyBundle> { unreachable!() };
    let env = bob
        .send("alice", b"hello", T0, ctx, &mut none, rng)
        .unwrap();
    alice.receive(vec![inc(&env, 2)], T0, ctx, &mut dir, rng);
    // alice starts and uses a chain in epoch E; bob reads it.
    let env = alice.send("bob", b"x", T0, ctx, &mut none, rng).unwrap();
    let out = bob.receive(vec![inc(&env, 3)], T0, ctx, &mut dir, rng);
    assert!(matches!(out[0].1, messenger::Outcome::Delivered { .. }));
    Pair { alice, bob }
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let names = ["court", "ministry", "oversight", "provider", "ombudsman"]
        .map(str::to_owned)
        .to_vec();
    let req = SetupRequest::new(names, 3, OffsetDateTime::UNIX_EPOCH);
    let (params, _) = escrow::dealer_setup(&req, &mut rng).unwrap();
    let e1 = ((T0 + DAY) / DAY) as u64;

    let mut on = EscrowContext::new(params.clone());
    let mut off = escrow_disabled(params.clone());
    let p_on = pair(&mut on, &mut rng);
    let p_off = pair(&mut off, &mut rng);
    on.prepare(&["alice", "bob"], e1).unwrap();
    // The baseline carries the same (unused) cache, so both copy and drop the same memory.
    off.prepare(&["alice", "bob"], e1).unwrap();

    // The sender's identity signs each chain start (each pair has its own alice).
    let ida_on = messenger::hazmat::identity_of(&p_on.alice);
    let ida_off = messenger::hazmat::identity_of(&p_off.alice);
    let a_on = p_on.alice.session("bob").unwrap().clone();
    let a_off = p_off.alice.session("bob").unwrap().clone();
    let b_on = p_on.bob.session("alice").unwrap().clone();
    let b_off = p_off.bob.session("alice").unwrap().clone();
    // The next day's first messages (epoch chains), made once, for the recipient benches.
    let env_on = a_on
        .clone()
        .encrypt("alice", &ida_on, &[7; 100], T0 + DAY, &mut on, &mut rng)
        .unwrap();
    let env_off = a_off
        .clone()
        .encrypt("alice", &ida_off, &[7; 100], T0 + DAY, &mut off, &mut rng)
        .unwrap();
    assert!(env_on.escrow_bytes() > 0 && env_off.escrow_bytes() == 0);

    let mut g = c.benchmark_group("chain-start");
    g.sample_size(30).measurement_time(Duration::from_secs(4));
    for (label, session, ctx, ida) in [
        ("with escrow", &a_on, &on, &ida_on),
        ("without escrow", &a_off, &off, &ida_off),
    ] {
        g.bench_function(format!("sender ({label})"), |b| {
            b.iter_batched(
                || {
                    (
                        session.clone(),
                        ctx.clone(),
                        ChaCha20Rng::from_seed([9; 32]),
                    )
                },
                |(mut s, mut c, mut r)| {
                    let env = s
                        .encrypt("alice", ida, &[7; 100], T0 + DAY, &mut c, &mut r)
                        .unwrap();
                    (s, c, r, env) // dropped after timing
                },
                BatchSize::SmallInput,
            )
        });
    }
    for (label, session, ctx, env) in [
        ("with escrow", &b_on, &on, &env_on),
        ("without escrow", &b_off, &off, &env_off),
    ] {
        g.bench_function(format!("recipient ({label})"), |b| {
            b.iter_batched(
                || {
                    (
                        session.clone(),
                        ctx.clone(),
                        ChaCha20Rng::from_seed([9; 32]),
                    )
                },
                |(mut s, mut c, mut r)| {
                    let pt = s.decrypt("bob", env, T0 + DAY, &mut c, &mut r).unwrap();
                    (s, c, r, pt) // dropped after timing
                },
                BatchSize::SmallInput,
            )
        });
    }
    // The primitives of a chain start, in the same run.
    let scope = PreparedScope::new(&params, &params.identity("alice", e1).unwrap()).unwrap();
    let key = [3u8; 32];
    let wrap = scope.wrap(&key).unwrap();
    let peer = *DhKeyPair::generate(&mut rng).public();
    let mine = DhKeyPair::generate(&mut rng);
    g.bench_function("primitive: ECDH (keygen + DH)", |b| {
        b.iter(|| DhKeyPair::generate(&mut rng).dh(black_box(&peer)))
    });
    g.bench_function("primitive: ECDH (DH only)", |b| {
        b.iter(|| mine.dh(black_box(&peer)))
    });
    g.bench_function("primitive: wrap", |b| {
        b.iter(|| scope.wrap(black_box(&key)).unwrap())
    });
    g.bench_function("primitive: wrap check", |b| {
        b.iter(|| scope.verify(black_box(&key), &wrap).unwrap())
    });
    // The evidence of a chain start: the sender's signature and the recipient's (or the
    // auditor's) check of it, over the bytes a real start signs.
    let signed = env_on.start_signed_bytes(&[0x42; 132]).unwrap();
    let sig = ida_on.sign(&signed);
    let ik = p_on.alice.identity_public().sign;
    g.bench_function("primitive: sign chain start (ECDSA P-256)", |b| {
        b.iter(|| ida_on.sign(black_box(&signed)))
    });
    g.bench_function("primitive: verify chain start (ECDSA P-256, low S)", |b| {
        b.iter(|| {
            assert!(messenger::keys::verify_signature_low_s(
                &ik,
                black_box(&signed),
                &sig
            ))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("in-chain message");
    g.sample_size(50).measurement_time(Duration::from_secs(3));
    g.bench_function("primitive: key commitment (HKDF-SHA256)", |b| {
        b.iter(|| messenger::kdf::key_commitment(black_box(&key)))
    });
    for len in [100usize, 4096] {
        let text = vec![b'a'; len];
        for (label, session, ctx, ida) in [
            ("with escrow", &a_on, &on, &ida_on),
            ("without escrow", &a_off, &off, &ida_off),
        ] {
            g.bench_function(format!("encrypt {len} B ({label})"), |b| {
                b.iter_batched(
                    || {
                        (
                            session.clone(),
                            ctx.clone(),
                            ChaCha20Rng::from_seed([9; 32]),
                        )
                    },
                    |(mut s, mut c, mut r)| {
                        let env = s
                            .encrypt("alice", ida, &text, T0 + 5, &mut c, &mut r)
                            .unwrap();
                        (s, c, r, env) // dropped after timing
                    },
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
