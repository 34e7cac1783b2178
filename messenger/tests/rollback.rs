//! A client state restored from a backup (finding 6 of the outside review): the relay keeps
//! one envelope per (sender, recipient, chain, n), and a sending client asks it before it
//! encrypts, so a rolled-back state never makes a second ciphertext under a key and nonce the
//! relay already holds one of; it starts a new session instead, which the recipient reads.
//! Also a session started without a one-time prekey says so (finding 7).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

mod common;

use std::collections::BTreeSet;

use common::{DAY, T0, World};
use messenger::envelope::ChainKind;
use messenger::{Client, Envelope, Error, Outcome, Registration, Relay, Sent};

const NINE: i64 = T0 + 9 * 3_600;

/// The world's accounts, registered at a relay in memory.
fn relay_for(w: &World) -> Relay {
    let mut relay = Relay::in_memory().unwrap();
    let tx = relay.transaction().unwrap();
    for (bundle, opks) in w.bundles.values() {
        let reg = Registration {
            bundle: bundle.clone(),
            one_time_prekeys: opks.clone(),
        };
        tx.register(&reg, T0 - DAY).unwrap();
    }
    tx.commit().unwrap();
    relay
}

/// What the `messenger send` command does: ask, encrypt, enqueue, in one transaction.
fn send(w: &mut World, relay: &mut Relay, from: &str, to: &str, text: &str, t: i64) -> Sent {
    let tx = relay.transaction().unwrap();
    let client = w.clients.get_mut(from).unwrap();
    let sent = client
        .send_checked(
            to,
            text.as_bytes(),
            t,
            &mut w.escrow,
            &mut |a| tx.take_bundle(a),
            &mut |chain, n| tx.position_taken(from, to, chain, n),
            &mut w.rng,
        )
        .unwrap();
    tx.enqueue(&sent.envelope, t).unwrap();
    tx.commit().unwrap();
    sent
}

fn read(w: &mut World, relay: &mut Relay, who: &str, t: i64) -> Vec<String> {
    let tx = relay.transaction().unwrap();
    let batch = tx.queued(who).unwrap();
    let client = w.clients.get_mut(who).unwrap();
    let out = client.receive(batch, t, &mut w.escrow, &mut |a| tx.identity(a), &mut w.rng);
    for (id, o) in &out {
        tx.mark(*id, o).unwrap();
    }
    tx.commit().unwrap();
    out.into_iter()
        .map(|(_, o)| match o {
            Outcome::Delivered { text, .. } => text,
            other => panic!("{who} did not read a message: {other:?}"),
        })
        .collect()
}

/// Every envelope queued for `who`, parsed.
fn queued(relay: &mut Relay, who: &str) -> Vec<Envelope> {
    let tx = relay.transaction().unwrap();
    tx.queued(who)
        .unwrap()
        .iter()
        .map(|i| Envelope::from_json(i.body.as_bytes()).unwrap())
        .collect()
}

fn no_position_twice(envs: &[Envelope]) {
    let mut seen = BTreeSet::new();
    for e in envs {
        let key = (
            e.from.clone(),
            e.to.clone(),
            e.chain.to_sec1_bytes().to_vec(),
            e.n,
        );
        assert!(seen.insert(key), "two envelopes at {} n={}", e.from, e.n);
    }
}

fn restore(w: &mut World, who: &str, backup: &[u8]) {
    w.clients
        .insert(who.to_owned(), Client::from_json(backup).unwrap());
}

#[test]
fn a_restored_state_never_sends_twice_at_one_position() {
    let mut w = World::new(&["alice", "bob"], [6; 32]);
    let mut relay = relay_for(&w);

    // Inside a chain: the backup was taken after message 0, message 1 was sent since.
    let first = send(&mut w, &mut relay, "alice", "bob", "one", NINE);
    let backup = w.clients["alice"].to_json().unwrap();
    send(&mut w, &mut relay, "alice", "bob", "two", NINE + 60);
    restore(&mut w, "alice", &backup);
    let again = send(&mut w, &mut relay, "alice", "bob", "three", NINE + 120);
    let chain = first.envelope.chain;
    assert_eq!(again.position_taken, Some((chain, 1)));
    assert_ne!(again.envelope.chain, chain);
    assert!(matches!(
        again.envelope.start.as_ref().map(|s| &s.kind),
        Some(ChainKind::X3dh(_))
    ));
    // Bob has one-time prekeys left: the new session has its DH4.
    assert!(!again.no_one_time_prekey);
    let envs = queued(&mut relay, "bob");
    assert_eq!(envs.len(), 3);
    no_position_twice(&envs);

    // The old code's send from the restored state, handed to the relay: refused.
    restore(&mut w, "alice", &backup);
    let forced = {
        let tx = relay.transaction().unwrap();
        let env = w
            .clients
            .get_mut("alice")
            .unwrap()
            .send(
                "bob",
                b"forced",
                NINE + 180,
                &mut w.escrow,
                &mut |a| tx.take_bundle(a),
                &mut w.rng,
            )
            .unwrap();
        assert_eq!((env.chain, env.n), (chain, 1));
        tx.enqueue(&env, NINE + 180)
    };
    assert!(
        matches!(&forced, Err(Error::PositionTaken { n: 1, from, .. }) if from == "alice"),
        "{forced:?}"
    );
    assert_eq!(
        forced.unwrap_err().to_string(),
        format!(
            "the relay already holds message 1 of chain {}… from 'alice' to 'bob'",
            &messenger::keys::public_hex(&chain)[..16]
        )
    );
    assert_eq!(queued(&mut relay, "bob").len(), 3);

    // Restored once more: another new session. The recipient reads all four, the new
    // sessions' messages included, and both go on.
    restore(&mut w, "alice", &backup);
    let third = send(
        &mut w,
        &mut relay,
        "alice",
        "bob",
        "three again",
        NINE + 200,
    );
    assert_eq!(third.position_taken, Some((chain, 1)));
    no_position_twice(&queued(&mut relay, "bob"));
    assert_eq!(
        read(&mut w, &mut relay, "bob", NINE + 240),
        ["one", "two", "three", "three again"]
    );
    send(&mut w, &mut relay, "bob", "alice", "got them", NINE + 300);
    assert_eq!(read(&mut w, &mut relay, "alice", NINE + 330), ["got them"]);

    // At a chain's first message: alice's pending chain (after bob's reply) is started, then
    // her state is restored to before that.
    let backup = w.clients["alice"].to_json().unwrap();
    let start = send(&mut w, &mut relay, "alice", "bob", "four", NINE + 400);
    assert_eq!(start.envelope.n, 0);
    assert!(start.position_taken.is_none());
    restore(&mut w, "alice", &backup);
    let again = send(&mut w, &mut relay, "alice", "bob", "five", NINE + 460);
    assert_eq!(again.position_taken, Some((start.envelope.chain, 0)));
    no_position_twice(&queued(&mut relay, "bob"));
    assert_eq!(
        read(&mut w, &mut relay, "bob", NINE + 500),
        ["four", "five"]
    );
    // Bob's reply goes to alice's newest session, and her next message too.
    send(&mut w, &mut relay, "bob", "alice", "ok", NINE + 560);
    assert_eq!(read(&mut w, &mut relay, "alice", NINE + 600), ["ok"]);
    let six = send(&mut w, &mut relay, "alice", "bob", "six", NINE + 660);
    assert!(six.position_taken.is_none());
    assert_eq!(read(&mut w, &mut relay, "bob", NINE + 700), ["six"]);
}

#[test]
fn the_relay_database_refuses_a_second_envelope_at_one_position() {
    let w = World::new(&["alice", "bob"], [7; 32]);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("relay.sqlite");
    let mut w = w;
    {
        let mut relay = Relay::open(&path).unwrap();
        let tx = relay.transaction().unwrap();
        for (bundle, opks) in w.bundles.values() {
            let reg = Registration {
                bundle: bundle.clone(),
                one_time_prekeys: opks.clone(),
            };
            tx.register(&reg, T0 - DAY).unwrap();
        }
        tx.commit().unwrap();
    }
    let mut relay = Relay::open(&path).unwrap();
    let sent = send(&mut w, &mut relay, "alice", "bob", "one", NINE);
    // Reopened (the index persists), the same bytes and a copy altered are refused.
    drop(relay);
    let mut relay = Relay::open(&path).unwrap();
    let tx = relay.transaction().unwrap();
    let mut other = sent.envelope.clone();
    other.ciphertext[40] ^= 1;
    for env in [&sent.envelope, &other] {
        assert!(matches!(
            tx.enqueue(env, NINE + 1),
            Err(Error::PositionTaken { n: 0, .. })
        ));
    }
    // Another position of the same chain, or the same position toward another recipient (one
    // ratchet key toward two recipients makes two chains), is not refused by this rule.
    assert!(
        tx.position_taken("alice", "bob", &sent.envelope.chain, 0)
            .unwrap()
    );
    assert!(
        !tx.position_taken("alice", "bob", &sent.envelope.chain, 1)
            .unwrap()
    );
    assert!(
        !tx.position_taken("bob", "alice", &sent.envelope.chain, 0)
            .unwrap()
    );
    drop(tx);

    // A provider that breaks the rule (hazmat) keeps both, and tells the sender "free".
    messenger::hazmat::relay_keeps_duplicates(&relay).unwrap();
    let tx = relay.transaction().unwrap();
    tx.enqueue(&other, NINE + 2).unwrap();
    assert!(
        !tx.position_taken("alice", "bob", &sent.envelope.chain, 0)
            .unwrap()
    );
    assert!(tx.contains(&other).unwrap());
    tx.commit().unwrap();
    drop(relay);
    // Reopening it does not bring the index back over the duplicates.
    let mut relay = Relay::open(&path).unwrap();
    assert_eq!(queued(&mut relay, "bob").len(), 2);
}

#[test]
fn a_session_without_a_one_time_prekey_says_so() {
    let mut w = World::new(&["alice", "bob", "carol"], [8; 32]);
    let mut relay = relay_for(&w);
    let with = send(&mut w, &mut relay, "carol", "bob", "hi bob", NINE);
    assert!(!with.no_one_time_prekey);
    // The relay hands out bob's remaining one-time prekeys (or withholds them).
    {
        let tx = relay.transaction().unwrap();
        for _ in 1..messenger::client::ONE_TIME_PREKEYS {
            assert!(tx.take_bundle("bob").unwrap().one_time_prekey.is_some());
        }
        assert!(tx.take_bundle("bob").unwrap().one_time_prekey.is_none());
        tx.commit().unwrap();
    }
    let without = send(&mut w, &mut relay, "alice", "bob", "hello bob", NINE + 60);
    assert!(without.no_one_time_prekey);
    match &without.envelope.start.as_ref().unwrap().kind {
        ChainKind::X3dh(init) => assert_eq!(init.one_time_prekey_id, None),
        other => panic!("{other:?}"),
    }
    // Only a session start says it: the next message of the session does not.
    let next = send(&mut w, &mut relay, "alice", "bob", "again", NINE + 90);
    assert!(!next.no_one_time_prekey);
    assert_eq!(
        read(&mut w, &mut relay, "bob", NINE + 120),
        ["hi bob", "hello bob", "again"]
    );
}
