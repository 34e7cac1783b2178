//! What the auditor reports is what the honest recipients read (design reference §11), under
//! adversaries: modified clients of either endpoint, the provider, and outsiders insert forged,
//! decoy, duplicate, altered, re-opened and colliding chain starts into random conversations.
//! Also each check of the auditor's examination that a broken implementation could skip:
//! the two wraps of a block, a message crossing its chain's epoch, the skip bound, replays,
//! missing starts, unparseable envelopes, the timespan, and an approval lacking shares.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::collections::{BTreeMap, BTreeSet};

use escrow_lab::world::{DAY, World};
use messenger::hazmat::{
    ReplayRng, decoy_start, fabricate_chain, identity_of, pretend_epoch_ended, sending_chain_secret,
};
use messenger::keys::Identity;
use messenger::{Envelope, Outcome};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use test_support::clock;
use test_support::lab::THREE;

const DAY0: i64 = clock::NOV_2;
const NINE: i64 = DAY0 + 9 * 3_600;
const USERS: [&str; 3] = ["alice", "bob", "carol"];

fn world(seed: u64) -> (tempfile::TempDir, World) {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = World::create(
        &tmp.path().join("lab"),
        &THREE,
        2,
        DAY0 - 30 * DAY,
        ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap();
    for u in USERS {
        w.register(u, DAY0 - DAY).unwrap();
    }
    // The adversaries include the provider: its relay keeps a second envelope at a position
    // it holds (replays, decoy starts, re-opened chains), which an honest relay refuses.
    messenger::hazmat::relay_keeps_duplicates(&w.relay).unwrap();
    (tmp, w)
}

/// Executes a warrant for `target` over `[start, end)` with two approvals, on `target`'s
/// capture of the whole day.
fn execute(w: &mut World, target: &str, start: i64, end: i64) -> auditor::execute::Report {
    let now = DAY0 + 5 * DAY;
    let warrant = w.warrant("W", &[target], start, end, now + DAY).unwrap();
    let receipt = w.submit(&warrant, now).unwrap();
    let approvals: Vec<_> = ["court", "ministry"]
        .iter()
        .map(|a| w.approve(a, &warrant, &receipt, now).unwrap())
        .collect();
    let capture = w.capture(target, DAY0, now, now).unwrap();
    w.execute(
        &warrant,
        &approvals.iter().collect::<Vec<_>>(),
        &capture,
        now,
    )
    .unwrap()
}

fn reason(r: &auditor::execute::Report, id: i64) -> String {
    r.non_compliant_envelopes
        .iter()
        .find(|n| n.relay_id == id)
        .map(|n| n.reason.clone())
        .unwrap_or_else(|| format!("#{id} NOT LISTED as non-compliant: {r:#?}"))
}

#[derive(Clone, Debug)]
enum Op {
    /// An honest message.
    Send(usize, usize),
    /// A recipient reads its queue.
    Read(usize),
    /// An outsider's chain "from a to b", built from public data.
    Forge(usize, usize),
    /// a's modified client: a chain of its own that b's ratchet never derived.
    OwnChain(usize, usize),
    /// a's modified client: a decoy start on its pending chain to b (another epoch or not).
    Decoy(usize, usize, bool),
    /// The provider hands an earlier envelope over again.
    Replay(prop::sample::Index),
    /// The provider alters one bit of an earlier envelope and hands it over.
    Tamper(prop::sample::Index, prop::sample::Index),
    /// a's modified client draws its first chain key to b again at its next read.
    Reopen(usize, usize),
    /// a's modified client draws its pending key to b again at its next read (toward whoever
    /// writes to it).
    Collide(usize, usize),
    /// a's modified client starts an epoch chain to b without an epoch change.
    AtWill(usize, usize),
    /// The next day begins (chains then step into a new epoch, outside the warrant).
    NextDay,
}

fn pair() -> impl Strategy<Value = (usize, usize)> {
    (0usize..3, 1usize..3).prop_map(|(a, d)| (a, (a + d) % 3))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => pair().prop_map(|(a, b)| Op::Send(a, b)),
        4 => (0usize..3).prop_map(Op::Read),
        1 => pair().prop_map(|(a, b)| Op::Forge(a, b)),
        1 => pair().prop_map(|(a, b)| Op::OwnChain(a, b)),
        1 => (pair(), any::<bool>()).prop_map(|((a, b), e)| Op::Decoy(a, b, e)),
        1 => any::<prop::sample::Index>().prop_map(Op::Replay),
        1 => (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(i, b)| Op::Tamper(i, b)),
        1 => pair().prop_map(|(a, b)| Op::Reopen(a, b)),
        1 => pair().prop_map(|(a, b)| Op::Collide(a, b)),
        1 => pair().prop_map(|(a, b)| Op::AtWill(a, b)),
        1 => Just(Op::NextDay),
    ]
}

/// The run of one adversarial conversation.
#[derive(Default)]
struct Run {
    /// Every envelope at the relay: (relay id, envelope).
    envelopes: Vec<(i64, Envelope)>,
    /// What the honest recipients displayed: relay id → text.
    displayed: BTreeMap<i64, String>,
    /// Envelopes an adversary inserted.
    adversarial: BTreeSet<i64>,
    /// Each sender's first chain key toward each peer.
    first_keys: BTreeMap<(usize, usize), zeroize::Zeroizing<[u8; 32]>>,
    /// Rigged randomness for a reader's next read.
    rigged: BTreeMap<usize, zeroize::Zeroizing<[u8; 32]>>,
}

impl Run {
    fn read(&mut self, w: &mut World, r: usize, t: i64) {
        let out = match self.rigged.remove(&r) {
            Some(key) => {
                let mut rng = ReplayRng::new(key, ChaCha20Rng::seed_from_u64(t as u64));
                w.read_with(USERS[r], t, &mut rng).unwrap()
            }
            None => w.read(USERS[r], t).unwrap(),
        };
        for (id, o) in out {
            if let Outcome::Delivered { text, .. } = o {
                assert!(
                    self.displayed.insert(id, text).is_none(),
                    "#{id} displayed twice"
                );
            }
        }
    }

    fn push(&mut self, w: &mut World, env: Envelope, t: i64) {
        // The relay refuses envelopes naming unknown accounts (a tamper may make one).
        if let Ok(id) = w.push(&env, t) {
            self.adversarial.insert(id);
            self.envelopes.push((id, env));
        }
    }

    fn apply(&mut self, w: &mut World, op: &Op, t: i64, n: usize) {
        match *op {
            Op::Send(a, b) => {
                if let Ok((sent, env)) = w.send_envelope(USERS[a], USERS[b], &format!("m{n}"), t) {
                    self.envelopes.push((sent.relay_id, env));
                    if let Some(k) = sending_chain_secret(&w.clients[USERS[a]], USERS[b]) {
                        self.first_keys.entry((a, b)).or_insert(k);
                    }
                }
            }
            Op::Read(r) => self.read(w, r, t),
            Op::Forge(a, b) | Op::OwnChain(a, b) => {
                let signer = match op {
                    Op::Forge(..) => Identity::generate(&mut w.rng),
                    _ => identity_of(&w.clients[USERS[a]]),
                };
                let (ia, ib) = (
                    w.clients[USERS[a]].identity_public(),
                    w.clients[USERS[b]].identity_public(),
                );
                let env = fabricate_chain(
                    USERS[a],
                    &ia,
                    USERS[b],
                    &ib,
                    &signer,
                    format!("forged {n}").as_bytes(),
                    t,
                    &mut w.escrow,
                    &mut w.rng,
                )
                .unwrap();
                self.push(w, env, t);
            }
            Op::Decoy(a, b, other_epoch) => {
                let mut ck = [0u8; 32];
                w.rng.fill_bytes(&mut ck);
                let claim = other_epoch.then_some((DAY0 / DAY) as u64 - 2);
                let decoy = decoy_start(
                    &w.clients[USERS[a]],
                    USERS[b],
                    format!("decoy {n}").as_bytes(),
                    t,
                    &mut w.escrow,
                    &ck,
                    claim,
                );
                if let Ok(env) = decoy {
                    self.push(w, env, t);
                }
            }
            Op::Replay(i) if !self.envelopes.is_empty() => {
                let env = self.envelopes[i.index(self.envelopes.len())].1.clone();
                self.push(w, env, t);
            }
            Op::Tamper(i, bit) if !self.envelopes.is_empty() => {
                let mut body = self.envelopes[i.index(self.envelopes.len())].1.to_json();
                let b = bit.index(body.len() * 8);
                body[b / 8] ^= 1 << (b % 8);
                if let Ok(env) = Envelope::from_json(&body) {
                    self.push(w, env, t);
                }
            }
            Op::Reopen(a, b) => {
                if let Some(k) = self.first_keys.get(&(a, b)) {
                    self.rigged.insert(a, k.clone());
                }
            }
            Op::Collide(a, b) => {
                if let Some(k) = sending_chain_secret(&w.clients[USERS[a]], USERS[b]) {
                    self.rigged.insert(a, k);
                }
            }
            Op::AtWill(a, b) => {
                let _ = pretend_epoch_ended(w.clients.get_mut(USERS[a]).unwrap(), USERS[b]);
            }
            Op::Replay(_) | Op::Tamper(..) | Op::NextDay => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 30, ..ProptestConfig::default() })]

    /// The auditor's decrypted set is exactly what the honest recipients displayed of
    /// alice's traffic, and every envelope an adversary inserted is listed as non-compliant.
    #[test]
    fn the_report_is_what_honest_recipients_read(
        ops in prop::collection::vec(op(), 4..28),
        seed in any::<u64>(),
    ) {
        let (_tmp, mut w) = world(seed);
        let mut run = Run::default();
        let mut day = 0;
        for (n, op) in ops.iter().enumerate() {
            if matches!(op, Op::NextDay) {
                day = (day + 1).min(3);
            }
            run.apply(&mut w, op, NINE + day * DAY + 60 * n as i64, n);
        }
        let end = NINE + day * DAY + 60 * ops.len() as i64;
        for (i, r) in [0, 1, 2, 0, 1, 2].into_iter().enumerate() {
            run.read(&mut w, r, end + i as i64);
        }
        let report = execute(&mut w, "alice", DAY0, DAY0 + DAY);
        // alice's envelopes of day 0 (the warrant's), and of later days.
        let day0 = |id: &i64| w.relay_time(*id).unwrap() < DAY0 + DAY;
        let alices: BTreeSet<i64> = run
            .envelopes
            .iter()
            .filter(|(_, e)| e.from == "alice" || e.to == "alice")
            .map(|(id, _)| *id)
            .collect();
        let involving: BTreeSet<i64> = alices.iter().copied().filter(day0).collect();
        let later: BTreeSet<i64> = alices.iter().copied().filter(|i| !day0(i)).collect();
        let want: BTreeMap<i64, String> = run
            .displayed
            .iter()
            .filter(|(id, _)| involving.contains(id))
            .map(|(id, t)| (*id, t.clone()))
            .collect();
        let got: BTreeMap<i64, String> = report
            .decrypted
            .iter()
            .map(|m| (m.relay_id, m.text.clone()))
            .collect();
        prop_assert_eq!(&got, &want, "non-compliant: {:#?}", report.non_compliant_envelopes);
        let listed: BTreeSet<i64> =
            report.non_compliant_envelopes.iter().map(|n| n.relay_id).collect();
        for id in run.adversarial.intersection(&involving) {
            prop_assert!(listed.contains(id), "adversarial #{} not listed: {:#?}", id, report);
        }
        // Every envelope of the capture has exactly one verdict; none of alice's of day 0 is
        // sealed, and every one of a later day is (or, relayed in the grace period after
        // midnight, withheld).
        let mut all: Vec<i64> = got.keys().copied().collect();
        all.extend(&listed);
        all.extend(report.sealed.iter().map(|s| s.relay_id));
        all.extend(report.withheld_envelopes.iter().map(|s| s.relay_id));
        let unique: BTreeSet<i64> = all.iter().copied().collect();
        prop_assert_eq!(unique.len(), all.len());
        prop_assert_eq!(&unique, &alices);
        let sealed: BTreeSet<i64> = report.sealed.iter().map(|s| s.relay_id).collect();
        prop_assert_eq!(&sealed, &later, "{:?}", report.sealed);
        // Each decrypted message carries its attribution basis.
        for m in &report.decrypted {
            prop_assert_eq!(m.attribution.basis, "signed-chain-start");
            prop_assert_eq!(&m.attribution.signed_by, &m.from);
            prop_assert_eq!(
                &m.attribution.identity_key,
                &messenger::keys::public_hex(&w.clients[m.from.as_str()].identity_public().sign)
            );
        }
    }
}

#[test]
fn a_block_whose_two_wraps_disagree_is_non_compliant() {
    for (target, tamper_recipient) in [("alice", true), ("bob", false)] {
        let (_tmp, mut w) = world(1);
        // alice's modified client breaks one wrap of her block; the start is still hers.
        let client = w.clients.get_mut("alice").unwrap();
        let tx = w.relay.transaction().unwrap();
        let env = messenger::hazmat::send_noncompliant(
            client,
            "bob",
            b"one wrap broken",
            NINE,
            &mut w.escrow,
            &mut |a| tx.take_bundle(a),
            &mut w.rng,
            &mut |b| {
                let mut b = b.unwrap();
                let wrap = if tamper_recipient {
                    &mut b.recipient_wrap
                } else {
                    &mut b.sender_wrap
                };
                let mut bytes = wrap.to_bytes();
                bytes[100] ^= 1;
                *wrap = escrow::Wrap::from_bytes(&bytes).unwrap();
                Some(b)
            },
        )
        .unwrap();
        let id = tx.enqueue(&env, NINE).unwrap();
        tx.commit().unwrap();
        // bob has not read it: the auditor's own check, not bob's refusal, decides.
        let report = execute(&mut w, target, DAY0, DAY0 + DAY);
        assert!(report.decrypted.is_empty());
        assert!(
            reason(&report, id).contains("two wraps disagree"),
            "{target}: {}",
            reason(&report, id)
        );
    }
}

#[test]
fn a_message_relayed_after_its_chains_epoch_is_non_compliant_not_sealed() {
    let (_tmp, mut w) = world(2);
    // Day -1's chain; the provider delays its second message into day 0.
    let (_, e1) = w
        .send_envelope("alice", "bob", "late evening", DAY0 - 3_600)
        .unwrap();
    let (_, e2) = w
        .send_envelope("alice", "bob", "held back", DAY0 - 3_000)
        .unwrap();
    assert!(e1.start.is_some() && e2.start.is_none());
    // The relay stores the delayed copy with its own time (a held-back envelope).
    let late = w.push(&e2, NINE).unwrap();
    w.read("bob", NINE + 60).unwrap();
    let report = execute(&mut w, "alice", DAY0, DAY0 + DAY);
    assert!(
        reason(&report, late).contains("crosses the epoch"),
        "{report:#?}"
    );
    assert!(report.sealed.iter().all(|s| s.relay_id != late));
}

#[test]
fn replays_missing_starts_and_unreadable_envelopes_are_listed() {
    let (_tmp, mut w) = world(3);
    let (s1, e1) = w.send_envelope("alice", "bob", "first", NINE).unwrap();
    let (s2, e2) = w
        .send_envelope("alice", "bob", "second", NINE + 10)
        .unwrap();
    w.read("bob", NINE + 20).unwrap();
    // The provider hands the second message over again (same bytes), and a message of a
    // chain whose start it never received.
    let replay = w.push(&e2, NINE + 30).unwrap();
    let mut orphan = e2.clone();
    orphan.chain = *messenger::keys::DhKeyPair::generate(&mut w.rng).public();
    let orphan = w.push(&orphan, NINE + 40).unwrap();
    // A message far beyond the chain's position: the auditor does not walk a million steps.
    let mut far = e2.clone();
    far.n = 1 << 20;
    let far = w.push(&far, NINE + 50).unwrap();
    w.read("bob", NINE + 60).unwrap();
    let report = execute(&mut w, "alice", DAY0, DAY0 + DAY);
    let texts: Vec<&str> = report.decrypted.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["first", "second"]);
    assert_eq!(report.decrypted[0].relay_id, s1.relay_id);
    assert_eq!(report.decrypted[1].attribution.chain_start, s1.relay_id);
    assert!(reason(&report, replay).contains(&format!("a copy of #{}", s2.relay_id)));
    assert!(reason(&report, orphan).contains("first message of its chain is not in the capture"));
    assert!(
        reason(&report, far).contains("skip bound"),
        "{}",
        reason(&report, far)
    );
    let _ = e1;
}

#[test]
fn the_timespan_is_enforced_by_the_auditor_and_said_so() {
    let (_tmp, mut w) = world(4);
    for (i, t) in [NINE, NINE + 60, NINE + 300].into_iter().enumerate() {
        w.send("alice", "bob", &format!("t{i}"), t).unwrap();
    }
    w.read("bob", NINE + 400).unwrap();
    let report = execute(&mut w, "alice", NINE + 30, NINE + 120);
    let texts: Vec<&str> = report.decrypted.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["t1"]);
    assert_eq!(report.withheld, 2);
    assert!(
        report
            .withheld_envelopes
            .iter()
            .all(|m| m.reason.contains("timespan"))
    );
    assert_eq!(report.non_compliant, 0);
}

#[test]
fn an_approval_lacking_shares_is_named_and_does_not_block_the_others() {
    let (_tmp, mut w) = world(5);
    w.send("alice", "bob", "day 0", NINE).unwrap();
    w.send("alice", "bob", "day 1", NINE + DAY).unwrap();
    w.read("bob", NINE + DAY + 60).unwrap();
    let now = DAY0 + 3 * DAY;
    let warrant = w
        .warrant("W", &["alice"], DAY0, DAY0 + 2 * DAY, now + DAY)
        .unwrap();
    let receipt = w.submit(&warrant, now).unwrap();
    let approvals: Vec<_> = ["court", "ministry", "oversight"]
        .iter()
        .map(|a| w.approve(a, &warrant, &receipt, now).unwrap())
        .collect();
    // court's approval with the share of one of its two scope identities removed, first.
    let mut v: serde_json::Value = serde_json::from_slice(&approvals[0].bytes).unwrap();
    v["identity_shares"].as_array_mut().unwrap().pop();
    let files = vec![
        ("court".to_owned(), serde_json::to_vec(&v).unwrap()),
        ("ministry".to_owned(), approvals[1].bytes.to_vec()),
        ("oversight".to_owned(), approvals[2].bytes.to_vec()),
    ];
    let capture = w.capture("alice", DAY0, now, now).unwrap();
    let report = auditor::execute::execute(
        &w.lab,
        &warrant,
        &files,
        &capture,
        escrow_lab::world::at(now).unwrap(),
    )
    .unwrap();
    let court = &report.approvals[0];
    assert!(!court.valid);
    assert!(court.reason.as_deref().unwrap().contains("lacks shares"));
    assert_eq!(report.decrypted.len(), 2);
}

#[test]
fn many_signed_starts_of_one_chain_keep_the_report_linear() {
    let (_tmp, mut w) = world(6);
    w.send("alice", "bob", "hello", NINE).unwrap();
    w.read("bob", NINE + 10).unwrap();
    w.send("bob", "alice", "hi", NINE + 20).unwrap();
    w.read("alice", NINE + 30).unwrap();
    // alice's modified client signs 60 different starts of her next chain.
    let mut decoys = Vec::new();
    for i in 0..60u8 {
        let env = decoy_start(
            &w.clients["alice"],
            "bob",
            b"decoy",
            NINE + 40,
            &mut w.escrow,
            &[i; 32],
            None,
        )
        .unwrap();
        decoys.push(w.push(&env, NINE + 40).unwrap());
    }
    let real = w.send("alice", "bob", "real", NINE + 50).unwrap().relay_id;
    w.read("bob", NINE + 60).unwrap();
    let report = execute(&mut w, "alice", DAY0, DAY0 + DAY);
    assert!(report.decrypted.iter().any(|m| m.text == "real"));
    assert_eq!(report.equivocations.len(), 1);
    assert_eq!(report.equivocations[0].starts.len(), 61);
    assert_eq!(report.equivocations[0].accepted, Some(real));
    for id in &decoys {
        assert!(reason(&report, *id).starts_with("sender equivocation"));
    }
    // Each verdict names at most a few envelopes as evidence.
    assert!(
        report
            .non_compliant_envelopes
            .iter()
            .all(|n| n.evidence.len() <= 4 && n.reason.len() < 300)
    );
}

#[test]
fn an_envelope_that_does_not_parse_in_scope_is_non_compliant_not_sealed() {
    let (_tmp, mut w) = world(7);
    let id = w.send("alice", "bob", "hello", NINE).unwrap().relay_id;
    w.read("bob", NINE + 10).unwrap();
    let now = DAY0 + 5 * DAY;
    // One warrant per case: a warrant is executed once.
    for (i, replacement) in [
        serde_json::Value::Null,
        serde_json::json!("text"),
        serde_json::json!({}),
    ]
    .into_iter()
    .enumerate()
    {
        let warrant = w
            .warrant(&format!("W-{i}"), &["alice"], DAY0, DAY0 + DAY, now + DAY)
            .unwrap();
        let receipt = w.submit(&warrant, now).unwrap();
        let approvals: Vec<_> = ["court", "ministry"]
            .iter()
            .map(|a| w.approve(a, &warrant, &receipt, now).unwrap())
            .collect();
        let mut capture = w.capture("alice", DAY0, now, now).unwrap();
        capture.envelopes[0].envelope = replacement.clone();
        let report = w
            .execute(
                &warrant,
                &approvals.iter().collect::<Vec<_>>(),
                &capture,
                now,
            )
            .unwrap();
        assert!(
            reason(&report, id).starts_with("envelope does not parse"),
            "{replacement}: {report:#?}"
        );
        assert!(report.sealed.is_empty());
    }
}
