//! A client state restored from a backup (finding 6 of the outside review), end to end: the
//! sender finds its position taken at the relay and moves to a new session; the recipient
//! reads every message, and the auditor decrypts them all, the new session's included, with
//! nothing non-compliant and no equivocation.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use escrow_lab::world::{DAY, World};
use messenger::{Client, Outcome, Sent};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use test_support::clock;
use test_support::lab::THREE;

const DAY0: i64 = clock::NOV_2;
const NINE: i64 = DAY0 + 9 * 3_600;

/// What the `messenger send` command does: ask the relay, encrypt, enqueue, in one
/// transaction.
fn send_checked(w: &mut World, from: &str, to: &str, text: &str, t: i64) -> Sent {
    let tx = w.relay.transaction().unwrap();
    let sent = w
        .clients
        .get_mut(from)
        .unwrap()
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

#[test]
fn the_auditor_reads_the_new_session_of_a_restored_state() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = World::create(
        &tmp.path().join("lab"),
        &THREE,
        2,
        DAY0 - 30 * DAY,
        ChaCha20Rng::seed_from_u64(6),
    )
    .unwrap();
    for u in ["alice", "bob"] {
        w.register(u, DAY0 - DAY).unwrap();
    }
    let first = send_checked(&mut w, "alice", "bob", "one", NINE);
    let backup = w.clients["alice"].to_json().unwrap();
    send_checked(&mut w, "alice", "bob", "two", NINE + 60);
    w.clients
        .insert("alice".into(), Client::from_json(&backup).unwrap());
    let again = send_checked(&mut w, "alice", "bob", "three", NINE + 120);
    assert_eq!(again.position_taken, Some((first.envelope.chain, 1)));
    let read: Vec<String> = w
        .read("bob", NINE + 180)
        .unwrap()
        .into_iter()
        .map(|(_, o)| match o {
            Outcome::Delivered { text, .. } => text,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(read, ["one", "two", "three"]);

    let now = DAY0 + 5 * DAY;
    let warrant = w
        .warrant("W", &["alice"], DAY0, DAY0 + DAY, now + DAY)
        .unwrap();
    let receipt = w.submit(&warrant, now).unwrap();
    let approvals: Vec<_> = ["court", "ministry"]
        .iter()
        .map(|a| w.approve(a, &warrant, &receipt, now).unwrap())
        .collect();
    let capture = w.capture("alice", DAY0, now, now).unwrap();
    let report = w
        .execute(
            &warrant,
            &approvals.iter().collect::<Vec<_>>(),
            &capture,
            now,
        )
        .unwrap();
    let texts: Vec<&str> = report.decrypted.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["one", "two", "three"], "{report:#?}");
    assert_eq!(report.non_compliant, 0, "{report:#?}");
    assert!(report.equivocations.is_empty(), "{report:#?}");
}
