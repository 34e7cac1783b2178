//! Conversations through the library, with an in-memory directory and relay queue:
//! random conversations (property test) and the non-compliant senders an honest recipient
//! must refuse.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::collections::{BTreeMap, BTreeSet};

use messenger::envelope::ChainKind;
use messenger::ratchet::open_with_chain_key;
use messenger::x3dh::session_ad;
use messenger::{Client, Error, EscrowBlock, EscrowViolation, Incoming, Outcome};
use proptest::prelude::*;

mod common;

use common::{DAY, Sent, T0, World};

fn op() -> impl Strategy<Value = (usize, usize, u8, bool, u64)> {
    (0usize..4, 1usize..4, 0u8..3, any::<bool>(), any::<u64>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random conversations among up to four accounts over three days, with interleaved and
    /// shuffled delivery: every message is read exactly once with its text; every chain has
    /// exactly one escrow block, its two wraps open (with keys released by the escrow
    /// authorities) to the same chain key, that key decrypts every message of the chain, and
    /// no chain spans two epochs.
    #[test]
    fn conversations_deliver_everything_and_escrow_every_chain(
        n in 2usize..=4,
        mut ops in prop::collection::vec(op(), 1..30),
        seed in any::<[u8; 32]>(),
    ) {
        let names = ["alice", "bob", "carol", "dave"];
        let mut w = World::new(&names[..n], seed);
        ops.sort_by_key(|o| o.2);
        let mut read: BTreeMap<i64, (String, String)> = BTreeMap::new();
        for (i, (from, step, day, deliver_now, shuffle)) in ops.iter().enumerate() {
            let from = from % n;
            let to = (from + step) % n;
            prop_assume!(from != to);
            let time = T0 + i64::from(*day) * DAY + 60 * i as i64;
            let text = format!("m{i} {}→{}", names[from], names[to]);
            w.send(names[from], names[to], &text, time);
            if *deliver_now {
                for (id, o) in w.deliver(names[to], *shuffle) {
                    if let Outcome::Delivered { from, text } = o {
                        prop_assert!(read.insert(id, (from, text)).is_none(), "read twice");
                    } else {
                        prop_assert!(matches!(o, Outcome::Held), "{:?}", o);
                    }
                }
            }
        }
        // Everyone reads what is left (held envelopes are retried with it).
        for name in &names[..n] {
            for (id, o) in w.deliver(name, 7) {
                match o {
                    Outcome::Delivered { from, text } => {
                        prop_assert!(read.insert(id, (from, text)).is_none(), "read twice");
                    }
                    other => prop_assert!(false, "message {} ended {:?}", id, other),
                }
            }
        }
        prop_assert_eq!(read.len(), w.sent.len());
        for (id, s) in &w.sent {
            prop_assert_eq!(&read[id], &(s.from.clone(), s.text.clone()));
        }

        // Chains: one start (with escrow block) per (sender, chain), the block opens to the
        // chain key, the chain key opens every message, all in the block's epoch.
        let mut chains: BTreeMap<(String, String), Vec<&Sent>> = BTreeMap::new();
        for s in w.sent.values() {
            chains
                .entry((s.from.clone(), messenger::keys::public_hex(&s.env.chain)))
                .or_default()
                .push(s);
        }
        for ((from, _), msgs) in &chains {
            let starts: Vec<&&Sent> = msgs.iter().filter(|s| s.env.start.is_some()).collect();
            prop_assert_eq!(starts.len(), 1);
            let start = starts[0];
            let block = start.env.start.as_ref().unwrap().escrow.clone().unwrap();
            let epoch = block.epoch;
            let to = &start.to;
            let ck_s = escrow::unwrap(&block.sender_wrap, &w.identity_key(from, epoch)).unwrap();
            let ck_r = escrow::unwrap(&block.recipient_wrap, &w.identity_key(to, epoch)).unwrap();
            prop_assert_eq!(ck_s.as_slice(), ck_r.as_slice());
            let ad = session_ad(from, &w.bundles[from].0.identity, to, &w.bundles[to].0.identity);
            for m in msgs {
                prop_assert_eq!((m.time / DAY) as u64, epoch, "chain spans two epochs");
                let pt = open_with_chain_key(&ck_s, &ad, &m.env).unwrap();
                prop_assert_eq!(pt.as_slice(), m.text.as_bytes());
            }
        }
    }
}

#[test]
fn epoch_change_without_reply_starts_an_epoch_chain() {
    let mut w = World::new(&["alice", "bob"], [1; 32]);
    w.send("alice", "bob", "day 1", T0 + 100);
    let second = w.send("alice", "bob", "day 2", T0 + DAY + 100);
    let start = w.sent[&second].env.start.clone().unwrap();
    assert_eq!(start.kind, ChainKind::Epoch);
    assert_eq!(start.escrow.unwrap().epoch, ((T0 + DAY) / DAY) as u64);
    let out = w.deliver("bob", 3);
    assert!(
        out.iter()
            .all(|(_, o)| matches!(o, Outcome::Delivered { .. })),
        "{out:?}"
    );
}

#[test]
fn simultaneous_first_messages_both_arrive_and_the_conversation_goes_on() {
    let mut w = World::new(&["alice", "bob"], [2; 32]);
    w.send("alice", "bob", "a1", T0 + 10);
    w.send("bob", "alice", "b1", T0 + 20);
    assert_eq!(w.deliver("bob", 1).len(), 1);
    assert_eq!(w.deliver("alice", 1).len(), 1);
    for i in 0..3 {
        w.send("alice", "bob", &format!("a{i}"), T0 + 100 + i);
        w.send("bob", "alice", &format!("b{i}"), T0 + 200 + i);
        for who in ["alice", "bob"] {
            for (_, o) in w.deliver(who, i as u64) {
                assert!(matches!(o, Outcome::Delivered { .. }), "{who}: {o:?}");
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// The session's first chain (X3DH).
    X3dh,
    /// A DH-ratchet chain after a reply.
    Ratchet,
    /// An epoch chain: the next day, without a reply.
    Epoch,
}

/// One tampering sender: the recipient rejects the chain's first message with a typed reason,
/// its sessions are unchanged, the envelope is kept, and the next honest chain still works.
fn rejected_in(
    kind: Kind,
    tamper: &mut dyn FnMut(Option<EscrowBlock>) -> Option<EscrowBlock>,
    expect: EscrowViolation,
) {
    let mut w = World::new(&["alice", "bob"], [3; 32]);
    // An hour into the day, past the grace period for the previous epoch.
    let mut t = T0 + 3_600;
    match kind {
        Kind::X3dh => {}
        Kind::Ratchet => {
            w.send("alice", "bob", "hello", t);
            w.deliver("bob", 0);
            w.send("bob", "alice", "hi", t + 10);
            w.deliver("alice", 0);
            t += 20;
        }
        Kind::Epoch => {
            w.send("alice", "bob", "hello", t);
            w.deliver("bob", 0);
            t += DAY;
        }
    }
    let before = w.session_state("bob");
    let id = w.send_with("alice", "bob", "secret plan", t, Some(tamper));
    let start = w.sent[&id].env.start.clone().expect("a new chain");
    let want_kind = match kind {
        Kind::X3dh => matches!(start.kind, ChainKind::X3dh(_)),
        Kind::Ratchet => start.kind == ChainKind::Ratchet,
        Kind::Epoch => start.kind == ChainKind::Epoch,
    };
    assert!(want_kind, "{kind:?}: {:?}", start.kind);
    let out = w.deliver("bob", 0);
    match &out[..] {
        [(rid, Outcome::Rejected { from, reason })] => {
            assert_eq!(*rid, id);
            assert_eq!(from.as_deref(), Some("alice"));
            let want = Error::Escrow {
                from: "alice".into(),
                violation: expect,
            }
            .to_string();
            assert_eq!(reason, &want, "{kind:?}");
        }
        other => panic!("{kind:?}: expected one rejection, got {other:?}"),
    }
    assert_eq!(
        before,
        w.session_state("bob"),
        "{kind:?}: ratchet state advanced"
    );
    let kept: Vec<i64> = w.clients["bob"]
        .quarantine()
        .map(|(i, _)| i.relay_id)
        .collect();
    assert_eq!(kept, vec![id]);
}

fn rejected_with(
    tamper: &mut dyn FnMut(Option<EscrowBlock>) -> Option<EscrowBlock>,
    expect: EscrowViolation,
) {
    for kind in [Kind::X3dh, Kind::Ratchet, Kind::Epoch] {
        rejected_in(kind, tamper, expect);
    }
}

#[test]
fn an_omitted_block_is_rejected() {
    rejected_with(&mut |_| None, EscrowViolation::Missing);
}

#[test]
fn a_forged_recipient_wrap_is_rejected() {
    rejected_with(
        &mut |b| {
            let mut b = b.unwrap();
            let mut bytes = b.recipient_wrap.to_bytes();
            bytes[100] ^= 0x01;
            b.recipient_wrap = escrow::Wrap::from_bytes(&bytes).unwrap();
            Some(b)
        },
        EscrowViolation::RecipientWrapMismatch,
    );
}

#[test]
fn a_forged_block_is_rejected() {
    // Random bytes in the sender wrap, at a valid point so that it parses.
    rejected_with(
        &mut |b| {
            let mut b = b.unwrap();
            let mut bytes = b.sender_wrap.to_bytes();
            bytes[60] ^= 0x40;
            b.sender_wrap = escrow::Wrap::from_bytes(&bytes).unwrap();
            Some(b)
        },
        EscrowViolation::SenderWrapMismatch,
    );
}

#[test]
fn a_block_for_another_epoch_or_generation_is_rejected() {
    let day = (T0 / DAY) as u64;
    let mut earlier = |b: Option<EscrowBlock>| {
        let mut b = b.unwrap();
        b.epoch -= 1;
        Some(b)
    };
    for kind in [Kind::X3dh, Kind::Ratchet] {
        let expect = EscrowViolation::WrongEpoch {
            found: day - 1,
            expected: day,
        };
        rejected_in(kind, &mut earlier, expect);
    }
    let expect = EscrowViolation::WrongEpoch {
        found: day,
        expected: day + 1,
    };
    rejected_in(Kind::Epoch, &mut earlier, expect);
    rejected_with(
        &mut |b| {
            let mut b = b.unwrap();
            b.generation = 9;
            Some(b)
        },
        EscrowViolation::WrongGeneration {
            found: 9,
            expected: 1,
        },
    );
}

#[test]
fn a_block_copied_from_another_chain_is_rejected() {
    let mut w = World::new(&["alice", "bob"], [4; 32]);
    let first = w.send("alice", "bob", "hello", T0 + 10);
    let old = w.sent[&first].env.start.clone().unwrap().escrow;
    w.deliver("bob", 0);
    w.send("bob", "alice", "hi", T0 + 20);
    w.deliver("alice", 0);
    let before = w.session_state("bob");
    let mut copy = move |_| old.clone();
    let id = w.send_with("alice", "bob", "new chain", T0 + 30, Some(&mut copy));
    let out = w.deliver("bob", 0);
    assert!(
        matches!(&out[..], [(i, Outcome::Rejected { reason, .. })] if *i == id && reason.contains("sender's escrow wrap does not match")),
        "{out:?}"
    );
    assert_eq!(before, w.session_state("bob"));
}

#[test]
fn a_truncated_block_is_rejected_at_parse_and_kept() {
    let mut w = World::new(&["alice", "bob"], [5; 32]);
    let id = w.send("alice", "bob", "hello", T0 + 10);
    let q = w.queues.get_mut("bob").unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&q[0].body).unwrap();
    let wrap = v["start"]["escrow"]["sender_wrap"]
        .as_str()
        .unwrap()
        .to_owned();
    v["start"]["escrow"]["sender_wrap"] = wrap[..wrap.len() - 8].into();
    q[0].body = v.to_string();
    let out = w.deliver("bob", 0);
    assert!(
        matches!(&out[..], [(i, Outcome::Rejected { reason, .. })] if *i == id && reason.contains("wrap")),
        "{out:?}"
    );
    assert!(!w.clients["bob"].has_session("alice"));
    assert_eq!(w.clients["bob"].quarantine().count(), 1);
}

#[test]
fn a_chain_crossing_an_epoch_is_rejected() {
    // The relay's clock says day 2 for a message of a day-1 chain, past the grace period.
    let mut w = World::new(&["alice", "bob"], [6; 32]);
    let first = w.send("alice", "bob", "hello", T0 + 10);
    let late = w.send("alice", "bob", "late", T0 + 20);
    w.queues.get_mut("bob").unwrap()[1].server_time = T0 + DAY + 3_600;
    let out: BTreeMap<i64, Outcome> = w.deliver("bob", 0).into_iter().collect();
    assert!(matches!(out[&first], Outcome::Delivered { .. }));
    assert!(
        matches!(&out[&late], Outcome::Rejected { reason, .. } if reason.contains("relayed in epoch")),
        "{out:?}"
    );
}

#[test]
fn replays_and_misaddressed_envelopes_are_rejected() {
    let mut w = World::new(&["alice", "bob", "carol"], [7; 32]);
    w.send("alice", "bob", "once", T0 + 10);
    let copy = w.queues["bob"][0].clone();
    assert!(matches!(
        w.deliver("bob", 0)[0].1,
        Outcome::Delivered { .. }
    ));
    w.queues.insert(
        "bob".into(),
        vec![Incoming {
            relay_id: 99,
            ..copy.clone()
        }],
    );
    assert!(matches!(w.deliver("bob", 0)[0].1, Outcome::Rejected { .. }));
    w.queues.insert(
        "carol".into(),
        vec![Incoming {
            relay_id: 100,
            ..copy
        }],
    );
    assert!(
        matches!(&w.deliver("carol", 0)[0].1, Outcome::Rejected { reason, .. } if reason.contains("another account"))
    );
}

#[test]
fn out_of_order_beyond_max_skip_is_refused_but_within_is_fine() {
    let mut w = World::new(&["alice", "bob"], [8; 32]);
    for i in 0..5 {
        w.send("alice", "bob", &format!("{i}"), T0 + i);
    }
    let out = w.deliver("bob", 42);
    assert!(
        out.iter()
            .all(|(_, o)| matches!(o, Outcome::Delivered { .. }))
    );
    let delivered: BTreeSet<String> = out
        .into_iter()
        .filter_map(|(_, o)| match o {
            Outcome::Delivered { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(delivered.len(), 5);
    // A message more than MAX_SKIP ahead in a known chain is refused.
    let mut env = w.sent.values().last().unwrap().env.clone();
    env.n += messenger::ratchet::MAX_SKIP + 10;
    w.queues.insert(
        "bob".into(),
        vec![Incoming {
            relay_id: 500,
            server_time: T0 + 60,
            body: String::from_utf8(env.to_json()).unwrap(),
        }],
    );
    assert!(
        matches!(&w.deliver("bob", 0)[0].1, Outcome::Rejected { reason, .. } if reason.contains("out of the window"))
    );
}

#[test]
fn escrow_costs_bytes_once_per_chain_and_none_per_message() {
    let mut on = World::new(&["alice", "bob"], [9; 32]);
    let mut off = World::new(&["alice", "bob"], [9; 32]);
    off.escrow = messenger::hazmat::escrow_disabled(off.params.clone());
    let mut lens = Vec::new();
    for w in [&mut on, &mut off] {
        let a = w.send("alice", "bob", &"x".repeat(100), T0 + 10);
        let b = w.send("alice", "bob", &"y".repeat(100), T0 + 20);
        lens.push((
            w.sent[&a].env.to_json().len(),
            w.sent[&b].env.to_json().len(),
        ));
        assert_eq!(w.sent[&b].env.escrow_bytes(), 0);
        assert!(
            w.deliver("bob", 0)
                .iter()
                .all(|(_, o)| matches!(o, Outcome::Delivered { .. }))
        );
    }
    let (on_start, on_msg) = lens[0];
    let (off_start, off_msg) = lens[1];
    assert_eq!(on_msg, off_msg, "escrow bytes inside a chain");
    // The block: 236 bytes binary, about 380 in JSON with base64 wraps.
    assert!(
        (300..450).contains(&(on_start - off_start)),
        "{}",
        on_start - off_start
    );
    assert_eq!(on.sent[&1].env.escrow_bytes(), 236);
}

#[test]
fn skipped_keys_keep_their_chain_epoch() {
    // Messages 0 and 2 arrive on time; message 1 (its key skipped and stored) is relayed the
    // next day, past the grace period: refused as crossing the epoch.
    let mut w = World::new(&["alice", "bob"], [10; 32]);
    let ids: Vec<i64> = (0..3)
        .map(|i| w.send("alice", "bob", &format!("{i}"), T0 + 3_600 + i))
        .collect();
    let mut q = w.queues.remove("bob").unwrap();
    let late = q.remove(1);
    w.queues.insert("bob".into(), q);
    assert!(
        w.deliver("bob", 0)
            .iter()
            .all(|(_, o)| matches!(o, Outcome::Delivered { .. }))
    );
    let before = w.session_state("bob");
    w.queues.insert(
        "bob".into(),
        vec![Incoming {
            server_time: T0 + DAY + 3_600,
            ..late
        }],
    );
    let out = w.deliver("bob", 0);
    assert!(
        matches!(&out[..], [(i, Outcome::Rejected { reason, .. })] if *i == ids[1] && reason.contains("relayed in epoch")),
        "{out:?}"
    );
    assert_eq!(before, w.session_state("bob"));
}

#[test]
fn the_grace_period_covers_relay_delay_across_midnight_and_no_more() {
    for (delay, accepted) in [(100, true), (escrow_grace() + 60, false)] {
        let mut w = World::new(&["alice", "bob"], [11; 32]);
        w.send("alice", "bob", "hello", T0 + DAY - 30);
        w.queues.get_mut("bob").unwrap()[0].server_time = T0 + DAY + delay;
        w.now = T0 + DAY + delay;
        let out = w.deliver("bob", 0);
        assert_eq!(
            matches!(out[0].1, Outcome::Delivered { .. }),
            accepted,
            "{delay}: {out:?}"
        );
    }
}

fn escrow_grace() -> i64 {
    messenger::escrow_block::EPOCH_GRACE_SECS
}

#[test]
fn an_impostor_with_its_own_keys_is_refused() {
    // mallory makes a client named "alice" with fresh keys; the directory has the real alice.
    let mut w = World::new(&["alice", "bob"], [12; 32]);
    let (fake, _) = Client::register("alice", &mut w.rng).unwrap();
    w.clients.insert("alice".into(), fake);
    let id = w.send("alice", "bob", "it's me, alice", T0 + 10);
    let out = w.deliver("bob", 0);
    assert!(
        matches!(&out[..], [(i, Outcome::Rejected { reason, .. })] if *i == id && reason.contains("does not match the relay's directory")),
        "{out:?}"
    );
    assert!(!w.clients["bob"].has_session("alice"));
}

#[test]
fn a_replayed_session_start_is_refused_after_its_chain_retired() {
    let mut w = World::new(&["alice", "bob"], [13; 32]);
    let first = w.send("alice", "bob", "hello", T0 + 10);
    let replay = w.queues["bob"][0].clone();
    w.deliver("bob", 0);
    for i in 0..3 {
        w.send("bob", "alice", "r", T0 + 20 + i);
        w.deliver("alice", 0);
        w.send("alice", "bob", "s", T0 + 30 + i);
        w.deliver("bob", 0);
    }
    w.queues.insert(
        "bob".into(),
        vec![Incoming {
            relay_id: 900,
            ..replay
        }],
    );
    let out = w.deliver("bob", 0);
    assert!(
        matches!(&out[..], [(900, Outcome::Rejected { reason, .. })] if reason.contains("replayed session start")),
        "{first}: {out:?}"
    );
    // The conversation still works both ways.
    w.send("bob", "alice", "still here", T0 + 100);
    assert!(matches!(
        w.deliver("alice", 0)[0].1,
        Outcome::Delivered { .. }
    ));
}

#[test]
fn a_flood_of_orphan_messages_cannot_crowd_out_another_sender() {
    let mut w = World::new(&["alice", "bob", "mallory"], [14; 32]);
    // mallory's chain start is withheld: her 130 later messages can only be held.
    for i in 0..131 {
        w.send("mallory", "bob", "spam", T0 + 10 + i);
    }
    w.queues.get_mut("bob").unwrap().remove(0);
    // alice's second message arrives before her first.
    w.send("alice", "bob", "one", T0 + 200);
    w.send("alice", "bob", "two", T0 + 201);
    let mut q = w.queues.remove("bob").unwrap();
    let alice_first = q.remove(130);
    w.queues.insert("bob".into(), q);
    let out = w.deliver("bob", 0);
    let held = out
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Held))
        .count();
    let crowded = out
        .iter()
        .filter(
            |(_, o)| matches!(o, Outcome::Rejected { reason, .. } if reason.contains("too many")),
        )
        .count();
    assert_eq!(
        (held, crowded),
        (messenger::client::MAX_HELD_PER_SENDER + 1, 30)
    );
    w.queues.insert("bob".into(), vec![alice_first]);
    let texts: Vec<String> = w
        .deliver("bob", 0)
        .into_iter()
        .filter_map(|(_, o)| match o {
            Outcome::Delivered { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    // A day and a grace period later, mallory's orphans expire.
    w.now = T0 + DAY + escrow_grace() + 200;
    let out = w.deliver("bob", 0);
    assert_eq!(out.len(), 100);
    assert!(out.iter().all(
        |(_, o)| matches!(o, Outcome::Rejected { reason, .. } if reason.starts_with("expired"))
    ));
    assert_eq!(w.clients["bob"].held(), 0);
}
