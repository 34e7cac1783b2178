//! Heap allocations of the per-message path, counted with a counting global allocator
//! (`stats_alloc`): `cargo bench -p escrow-lab --bench alloc`.
//!
//! For a messenger `Session` (alice ⇄ bob, one exchange done, as in
//! `messenger/benches/messenger.rs`), with escrow and with escrow disabled:
//!
//! * `Session::encrypt` of a message inside an existing chain (100 B and 4 KiB);
//! * `Session::decrypt` of such a message on the recipient's session;
//!
//! and, on the same buffers, the AEAD layer: `messenger::ratchet::aead_seal` / `aead_open`
//! next to raw `aes_gcm::Aes256Gcm::encrypt` / `decrypt` and the allocation-free
//! `encrypt_in_place_detached` into a buffer with room.
//!
//! Each operation runs on a fresh copy of the same state (made before counting, dropped after),
//! so only the operation's own allocations are counted: number of allocations, bytes allocated
//! (including what reallocations added) and reallocations (`stats_alloc` does not count a
//! `realloc` as an allocation). Every row is
//! repeated and must give the same counts; the table prints them once. This is a plain program
//! (harness = false): it takes no arguments and ignores those `cargo bench` passes.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::alloc::System;
use std::hint::black_box;

use aes_gcm::aead::{Aead, AeadInPlace, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use escrow::SetupRequest;
use messenger::hazmat::{escrow_disabled, identity_of};
use messenger::keys::Identity;
use messenger::ratchet::{Session, aead_open, aead_seal};
use messenger::x3dh::{IdentityPublic, PrekeyBundle};
use messenger::{Client, Envelope, EscrowContext, Incoming, Outcome};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, Stats, StatsAlloc};
use time::OffsetDateTime;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const T0: i64 = 1_795_737_600 + 3_600;
/// Times each row is measured; all runs must agree.
const REPEAT: usize = 5;

/// alice ⇄ bob with one exchange done and a chain of alice's read by bob (same epoch as `T0`).
fn pair(ctx: &mut EscrowContext, rng: &mut ChaCha20Rng) -> (Client, Client) {
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
    let inc = |env: &Envelope, id| Incoming {
        relay_id: id,
        server_time: T0,
        body: String::from_utf8(env.to_json()).unwrap(),
    };
    let env = alice
        .send("bob", b"hi", T0, ctx, &mut fetch_b, rng)
        .unwrap();
    bob.receive(vec![inc(&env, 1)], T0, ctx, &mut dir, rng);
    let mut none = |_: &str| -> messenger::Result<PrekeyBundle> { unreachable!() };
    let env = bob
        .send("alice", b"hello", T0, ctx, &mut none, rng)
        .unwrap();
    alice.receive(vec![inc(&env, 2)], T0, ctx, &mut dir, rng);
    let env = alice.send("bob", b"x", T0, ctx, &mut none, rng).unwrap();
    let out = bob.receive(vec![inc(&env, 3)], T0, ctx, &mut dir, rng);
    assert!(matches!(out[0].1, Outcome::Delivered { .. }));
    (alice, bob)
}

/// Counts the allocations of `op` on a fresh input from `setup`, `REPEAT` times; panics if the
/// runs disagree (the counts are meant to be exact, not averages).
fn count<S, O>(
    label: &str,
    mut setup: impl FnMut() -> S,
    mut op: impl FnMut(&mut S) -> O,
) -> Stats {
    let mut first: Option<Stats> = None;
    for _ in 0..REPEAT {
        let mut input = setup();
        let region = Region::new(GLOBAL);
        let out = black_box(op(black_box(&mut input)));
        let stats = region.change();
        drop(out);
        drop(input);
        match &first {
            None => first = Some(stats),
            Some(f) => assert!(
                f.allocations == stats.allocations
                    && f.bytes_allocated == stats.bytes_allocated
                    && f.reallocations == stats.reallocations,
                "{label}: counts differ between runs ({f:?} vs {stats:?})"
            ),
        }
    }
    first.expect("REPEAT > 0")
}

struct Table {
    rows: Vec<(String, Stats)>,
}

impl Table {
    fn add(&mut self, label: impl Into<String>, stats: Stats) {
        self.rows.push((label.into(), stats));
    }

    fn print(&self) {
        let w = self.rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        println!(
            "{:<w$}  {:>7}  {:>9}  {:>8}",
            "operation", "allocs", "bytes", "reallocs"
        );
        println!("{}", "-".repeat(w + 30));
        for (label, s) in &self.rows {
            println!(
                "{:<w$}  {:>7}  {:>9}  {:>8}",
                label, s.allocations, s.bytes_allocated, s.reallocations
            );
        }
    }
}

fn main() {
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let names = ["court", "ministry", "oversight", "provider", "ombudsman"]
        .map(str::to_owned)
        .to_vec();
    let req = SetupRequest::new(names, 3, OffsetDateTime::UNIX_EPOCH);
    let (params, _) = escrow::dealer_setup(&req, &mut rng).unwrap();

    let mut on = EscrowContext::new(params.clone());
    let mut off = escrow_disabled(params);
    let (alice_on, bob_on) = pair(&mut on, &mut rng);
    let (alice_off, bob_off) = pair(&mut off, &mut rng);
    let (id_on, id_off) = (identity_of(&alice_on), identity_of(&alice_off));
    let sessions: [(&str, &Session, &Session, &EscrowContext, &Identity); 2] = [
        (
            "with escrow",
            alice_on.session("bob").unwrap(),
            bob_on.session("alice").unwrap(),
            &on,
            &id_on,
        ),
        (
            "without escrow",
            alice_off.session("bob").unwrap(),
            bob_off.session("alice").unwrap(),
            &off,
            &id_off,
        ),
    ];

    let mut table = Table { rows: Vec::new() };
    for len in [100usize, 4096] {
        let text = vec![b'a'; len];
        for (label, a, b, ctx, ida) in sessions {
            // Message 1 of alice's current chain (no escrow block: in-chain).
            let env = a
                .clone()
                .encrypt("alice", ida, &text, T0 + 5, &mut ctx.clone(), &mut rng)
                .unwrap();
            assert!(env.start.is_none() && env.escrow_bytes() == 0);
            let enc = count(
                "encrypt",
                || (a.clone(), ctx.clone(), ChaCha20Rng::from_seed([9; 32])),
                |(s, c, r)| s.encrypt("alice", ida, &text, T0 + 5, c, r).unwrap(),
            );
            table.add(format!("Session::encrypt {len} B, in chain ({label})"), enc);
            let dec = count(
                "decrypt",
                || (b.clone(), ctx.clone(), ChaCha20Rng::from_seed([9; 32])),
                |(s, c, r)| {
                    let pt = s.decrypt("bob", &env, T0 + 5, c, r).unwrap();
                    assert_eq!(pt.len(), len);
                    pt
                },
            );
            table.add(format!("Session::decrypt {len} B, in chain ({label})"), dec);
        }
    }

    // The AEAD layer alone, on the same buffers.
    let key = [7u8; 32];
    let nonce = [3u8; 12];
    let aad = [1u8; 96];
    for len in [100usize, 4096] {
        let pt = vec![b'a'; len];
        let ct = aead_seal(&key, &nonce, &aad, &pt).unwrap();
        let seal = count(
            "aead_seal",
            || (),
            |()| aead_seal(&key, &nonce, &aad, &pt).unwrap(),
        );
        table.add(format!("ratchet::aead_seal {len} B"), seal);
        let raw = count(
            "Aes256Gcm::encrypt",
            || (),
            |()| {
                Aes256Gcm::new(&key.into())
                    .encrypt(
                        Nonce::from_slice(&nonce),
                        Payload {
                            msg: &pt,
                            aad: &aad,
                        },
                    )
                    .unwrap()
            },
        );
        table.add(format!("Aes256Gcm::encrypt {len} B (raw)"), raw);
        let in_place = count(
            "encrypt_in_place_detached",
            || {
                let mut buf = Vec::with_capacity(len + 16);
                buf.extend_from_slice(&pt);
                buf
            },
            |buf| {
                Aes256Gcm::new(&key.into())
                    .encrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, buf)
                    .unwrap()
            },
        );
        table.add(
            format!("Aes256Gcm::encrypt_in_place_detached {len} B"),
            in_place,
        );
        let open = count(
            "aead_open",
            || (),
            |()| aead_open(&key, &nonce, &aad, &ct).unwrap(),
        );
        table.add(format!("ratchet::aead_open {len} B"), open);
        let raw = count(
            "Aes256Gcm::decrypt",
            || (),
            |()| {
                Aes256Gcm::new(&key.into())
                    .decrypt(
                        Nonce::from_slice(&nonce),
                        Payload {
                            msg: &ct,
                            aad: &aad,
                        },
                    )
                    .unwrap()
            },
        );
        table.add(format!("Aes256Gcm::decrypt {len} B (raw)"), raw);
    }

    println!("heap allocations per operation (stats_alloc, counted {REPEAT}x, all runs equal)");
    println!();
    table.print();
}
