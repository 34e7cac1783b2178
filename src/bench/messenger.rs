//! The messenger with and without escrow, and AES-256-GCM bodies vs the raw `aes-gcm` crate.
//!
//! Sessions are real (X3DH, double ratchet) between alice and bob; "without escrow" is the
//! same code with `messenger::hazmat::escrow_disabled`, which makes and checks no escrow
//! block. Each timed call starts from a copy of the same session state (made and dropped
//! outside the timing). Scopes are prepared before timing, as a client does once per epoch.

use std::hint::black_box;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context, Result};
use escrow::SetupRequest;
use messenger::hazmat::escrow_disabled;
use messenger::x3dh::{IdentityPublic, PrekeyBundle};
use messenger::{Client, Envelope, EscrowContext, Incoming};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use time::OffsetDateTime;

use super::harness::{time, time_pair, time_with_setup};
use super::{Goal, Options, Row, Unit};

const GROUP: &str = "Messenger: with escrow (ours) vs the same messenger without";
const AES: &str = "AES-256-GCM message bodies: messenger::ratchet vs raw aes-gcm";
const T0: i64 = 1_795_737_600 + 3_600;
const DAY: i64 = 86_400;

fn incoming(env: &Envelope, id: i64, t: i64) -> Result<Incoming> {
    Ok(Incoming {
        relay_id: id,
        server_time: t,
        body: String::from_utf8(env.to_json())?,
    })
}

/// alice ⇄ bob with one exchange done in `ctx`; returns their sessions with each other and
/// alice's identity (which signs her chain starts).
fn pair(
    ctx: &mut EscrowContext,
    rng: &mut ChaCha20Rng,
) -> Result<(
    messenger::ratchet::Session,
    messenger::ratchet::Session,
    messenger::keys::Identity,
)> {
    let (mut alice, ra) = Client::register("alice", rng)?;
    let (mut bob, rb) = Client::register("bob", rng)?;
    let ids: Vec<(String, IdentityPublic)> = vec![
        ("alice".into(), ra.bundle.identity.clone()),
        ("bob".into(), rb.bundle.identity.clone()),
    ];
    let mut dir = |a: &str| -> messenger::Result<Option<IdentityPublic>> {
        Ok(ids.iter().find(|(n, _)| n == a).map(|(_, i)| i.clone()))
    };
    let bundle = rb.bundle.clone();
    let mut fetch = |_: &str| -> messenger::Result<PrekeyBundle> { Ok(bundle.clone()) };
    let env = alice.send("bob", b"hi", T0, ctx, &mut fetch, rng)?;
    bob.receive(vec![incoming(&env, 1, T0)?], T0, ctx, &mut dir, rng);
    let env = bob.send("alice", b"hello", T0, ctx, &mut fetch, rng)?;
    alice.receive(vec![incoming(&env, 2, T0)?], T0, ctx, &mut dir, rng);
    let env = alice.send("bob", b"x", T0, ctx, &mut fetch, rng)?;
    bob.receive(vec![incoming(&env, 3, T0)?], T0, ctx, &mut dir, rng);
    Ok((
        alice.session("bob").context("alice's session")?.clone(),
        bob.session("alice").context("bob's session")?.clone(),
        messenger::hazmat::identity_of(&alice),
    ))
}

/// The rows of this comparison.
pub fn rows(options: &Options) -> Result<Vec<Row>> {
    let budget = options.budget();
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let names: Vec<String> = ["court", "ministry", "oversight", "provider", "ombudsman"]
        .map(str::to_owned)
        .to_vec();
    let (params, _) = escrow::dealer_setup(
        &SetupRequest::new(names, 3, OffsetDateTime::UNIX_EPOCH),
        &mut rng,
    )?;
    let e1 = ((T0 + DAY) / DAY) as u64;
    let mut on = EscrowContext::new(params.clone());
    let mut off = escrow_disabled(params.clone());
    let (a_on, b_on, id_on) = pair(&mut on, &mut rng)?;
    let (a_off, b_off, id_off) = pair(&mut off, &mut rng)?;
    on.prepare(&["alice", "bob"], e1)?;
    off.prepare(&["alice", "bob"], e1)?;

    let mut rows = Vec::new();
    let t = Unit::Seconds;
    let seed = || ChaCha20Rng::seed_from_u64(9);
    // A chain start: the next day's first message (an epoch step), sender and recipient.
    let mut starts = Vec::new();
    for (a, b, ctx, ida) in [(&a_on, &b_on, &on, &id_on), (&a_off, &b_off, &off, &id_off)] {
        let env = a.clone().encrypt(
            "alice",
            ida,
            &[7; 100],
            T0 + DAY,
            &mut ctx.clone(),
            &mut seed(),
        )?;
        let send = time_with_setup(
            budget,
            || (a.clone(), ctx.clone(), seed()),
            |(mut s, mut c, mut r)| {
                let env = s
                    .encrypt("alice", ida, &[7; 100], T0 + DAY, &mut c, &mut r)
                    .ok();
                (s, c, r, env)
            },
        );
        let recv = time_with_setup(
            budget,
            || (b.clone(), ctx.clone(), seed()),
            |(mut s, mut c, mut r)| {
                let pt = s.decrypt("bob", &env, T0 + DAY, &mut c, &mut r).ok();
                (s, c, r, pt)
            },
        );
        starts.push((
            send.seconds,
            recv.seconds,
            env.escrow_bytes(),
            env.to_json().len(),
        ));
    }
    let (on_s, off_s) = (starts[0], starts[1]);
    rows.push(Row::new(
        GROUP,
        "chain start, sender",
        t,
        on_s.0,
        "without escrow",
        off_s.0,
        None,
    ));
    rows.push(Row::new(
        GROUP,
        "chain start, recipient",
        t,
        on_s.1,
        "without escrow",
        off_s.1,
        None,
    ));
    rows.push(Row::new(
        GROUP,
        "chain start, envelope bytes (JSON)",
        Unit::Bytes,
        on_s.3 as f64,
        "without escrow",
        off_s.3 as f64,
        None,
    ));

    // Inside a chain: encrypt and decrypt, 100 B and 4 KiB, with and without escrow measured
    // in alternating rounds (the two code paths are the same inside a chain; only noise may
    // separate them).
    for len in [100usize, 4096] {
        let text = vec![b'a'; len];
        let env_on =
            a_on.clone()
                .encrypt("alice", &id_on, &text, T0 + 5, &mut on.clone(), &mut seed())?;
        let env_off = a_off.clone().encrypt(
            "alice",
            &id_off,
            &text,
            T0 + 5,
            &mut off.clone(),
            &mut seed(),
        )?;
        let (enc_on, enc_off) = time_pair(
            budget,
            || (a_on.clone(), on.clone(), seed()),
            |(mut s, mut c, mut r)| {
                let env = s
                    .encrypt("alice", &id_on, &text, T0 + 5, &mut c, &mut r)
                    .ok();
                (s, c, r, env)
            },
            || (a_off.clone(), off.clone(), seed()),
            |(mut s, mut c, mut r)| {
                let env = s
                    .encrypt("alice", &id_off, &text, T0 + 5, &mut c, &mut r)
                    .ok();
                (s, c, r, env)
            },
        );
        let (dec_on, dec_off) = time_pair(
            budget,
            || (b_on.clone(), on.clone(), seed()),
            |(mut s, mut c, mut r)| {
                let pt = s.decrypt("bob", &env_on, T0 + 5, &mut c, &mut r).ok();
                (s, c, r, pt)
            },
            || (b_off.clone(), off.clone(), seed()),
            |(mut s, mut c, mut r)| {
                let pt = s.decrypt("bob", &env_off, T0 + 5, &mut c, &mut r).ok();
                (s, c, r, pt)
            },
        );
        let goal = Some(Goal::at_most(1.02));
        rows.push(Row::new(
            GROUP,
            format!("in-chain encrypt, {len} B"),
            t,
            enc_on.seconds,
            "without escrow",
            enc_off.seconds,
            goal,
        ));
        rows.push(Row::new(
            GROUP,
            format!("in-chain decrypt, {len} B"),
            t,
            dec_on.seconds,
            "without escrow",
            dec_off.seconds,
            goal,
        ));
        rows.push(Row::new(
            GROUP,
            format!("in-chain escrow bytes, {len} B"),
            Unit::Bytes,
            env_on.escrow_bytes() as f64,
            "without escrow",
            env_off.escrow_bytes() as f64,
            None,
        ));
    }

    // Whole conversations, per message (sender + recipient): every message starting a chain
    // (alternating senders), and chains of 100 messages.
    for (label, per_chain) in [
        ("alternating senders", 1.0),
        ("100-message chains", 100.0),
        ("1000-message chains", 1000.0),
    ] {
        let cost = |start: (f64, f64, usize, usize), inside: f64| {
            ((start.0 + start.1) + (per_chain - 1.0) * inside) / per_chain
        };
        let inside_on = rows
            .iter()
            .filter(|r| r.what.ends_with("100 B") && r.unit == Unit::Seconds)
            .map(|r| r.ours)
            .sum::<f64>();
        let inside_off = rows
            .iter()
            .filter(|r| r.what.ends_with("100 B") && r.unit == Unit::Seconds)
            .map(|r| r.theirs)
            .sum::<f64>();
        rows.push(Row::new(
            GROUP,
            format!("per message, {label} (computed)"),
            t,
            cost(on_s, inside_on),
            "without escrow",
            cost(off_s, inside_off),
            None,
        ));
        rows.push(Row::new(
            GROUP,
            format!("escrow B/message, {label}"),
            Unit::Bytes,
            on_s.2 as f64 / per_chain,
            "without escrow",
            0.0_f64.max(off_s.2 as f64 / per_chain),
            None,
        ));
    }

    // AES-256-GCM bodies: the messenger's seal vs the raw crate, same key, nonce, AAD, data.
    // Every message has its own key, so both sides set the key up per call.
    let key = [5u8; 32];
    let nonce = [6u8; 12];
    let aad = [7u8; 64];
    for len in [100usize, 4096, 65_536] {
        let data = vec![0x42u8; len];
        let ours = time(budget, || {
            black_box(messenger::ratchet::aead_seal(&key, &nonce, &aad, black_box(&data)).ok());
        });
        let raw = time(budget, || {
            let payload = Payload {
                msg: black_box(&data),
                aad: &aad,
            };
            if let Ok(cipher) = Aes256Gcm::new_from_slice(black_box(&key)) {
                black_box(cipher.encrypt(Nonce::from_slice(&nonce), payload).ok());
            }
        });
        rows.push(Row::new(
            AES,
            format!("seal {len} B"),
            Unit::BytesPerSecond,
            len as f64 / ours.seconds,
            "raw aes-gcm",
            len as f64 / raw.seconds,
            Some(Goal::at_least(0.9)),
        ));
    }
    Ok(rows)
}
