//! Property test of the whole library flow — generation, conversation, relay capture, warrant,
//! approvals, execution — for random authority sets, thresholds, conversations and scopes:
//! the decrypted set is exactly the messages sent or received by the target inside the
//! warrant's epochs; every subset of approvals below k decrypts nothing; a corrupted share is
//! attributed to its authority and does not stop the execution while k valid ones remain.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::collections::BTreeSet;

use escrow::lab::Lab;
use escrow::warrant::Warrant;
use escrow::{AuthorityShare, SetupRequest};
use messenger::{Client, EscrowContext, Incoming, Relay};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use test_support::clock::{DAY, at as t};
use test_support::{clock, lab, warrant};

const T0: i64 = clock::NOV_25;
const ACCOUNTS: [&str; 3] = ["alice", "bob", "carol"];

struct Run {
    _tmp: tempfile::TempDir,
    lab: Lab,
    shares: Vec<AuthorityShare>,
    /// (from, to, relay time, text)
    sent: Vec<(String, String, i64, String)>,
    capture: messenger::relay::Capture,
}

fn run(n: usize, k: usize, msgs: &[(usize, usize, u8)], seed: [u8; 32], target: usize) -> Run {
    let mut rng = ChaCha20Rng::from_seed(seed);
    let tmp = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..n).map(|i| format!("auth{i}")).collect();
    let req = SetupRequest::new(names, k, t(T0 - 30 * DAY));
    let (lab, params, shares) = lab::dealer(tmp.path().join("lab"), &req, &mut rng);

    let mut escrow_ctx = EscrowContext::new(params.clone());
    let mut relay = Relay::open(&lab.root().join("relay.sqlite")).unwrap();
    let mut clients: Vec<Client> = Vec::new();
    for a in ACCOUNTS {
        let (c, reg) = Client::register(a, &mut rng).unwrap();
        let tx = relay.transaction().unwrap();
        tx.register(&reg, T0 - DAY).unwrap();
        tx.commit().unwrap();
        clients.push(c);
    }
    let mut sent = Vec::new();
    // Time only moves forward: the messages in order of their day (an honest client refuses
    // to send before its current chain's epoch).
    let mut msgs = msgs.to_vec();
    msgs.sort_by_key(|(_, _, day)| *day);
    for (i, (from, step, day)) in msgs.iter().enumerate() {
        let from = *from % 3;
        let to = (from + 1 + step % 2) % 3;
        let time = T0 + i64::from(*day) * DAY + 3_600 + 60 * i as i64;
        let text = format!("m{i}");
        let tx = relay.transaction().unwrap();
        let env = clients[from]
            .send(
                ACCOUNTS[to],
                text.as_bytes(),
                time,
                &mut escrow_ctx,
                &mut |a| tx.take_bundle(a),
                &mut rng,
            )
            .unwrap();
        tx.enqueue(&env, time).unwrap();
        tx.commit().unwrap();
        sent.push((
            ACCOUNTS[from].to_owned(),
            ACCOUNTS[to].to_owned(),
            time,
            text,
        ));
        // The recipient reads every other message, so chains of all three kinds appear.
        if rng.next_u32().is_multiple_of(2) {
            let tx = relay.transaction().unwrap();
            let batch: Vec<Incoming> = tx.queued(ACCOUNTS[to]).unwrap();
            let out = clients[to].receive(
                batch,
                time,
                &mut escrow_ctx,
                &mut |a| tx.identity(a),
                &mut rng,
            );
            for (id, o) in &out {
                tx.mark(*id, o).unwrap();
            }
            tx.commit().unwrap();
        }
    }
    let capture = relay
        .capture(&messenger::relay::CaptureRequest::new(
            &lab.load_generations().unwrap(),
            ACCOUNTS[target],
            T0,
            T0 + 3 * DAY,
            T0 + 3 * DAY,
        ))
        .unwrap();
    Run {
        _tmp: tmp,
        lab,
        shares,
        sent,
        capture,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]

    #[test]
    fn execution_opens_exactly_the_scope_and_needs_k(
        (n, k) in (2usize..=5).prop_flat_map(|n| (Just(n), 1..=n)),
        msgs in prop::collection::vec((0usize..3, 0usize..2, 0u8..3), 1..14),
        seed in any::<[u8; 32]>(),
        target in 0usize..3,
        day in 0i64..3,
        corrupt in any::<prop::sample::Index>(),
    ) {
        let r = run(n, k, &msgs, seed, target);
        let now = t(T0 + 3 * DAY + 3_600);
        let warrant = Warrant::new(
            warrant::draft(
                "W",
                &[ACCOUNTS[target]],
                t(T0 + day * DAY),
                t(T0 + (day + 1) * DAY),
                t(T0 + 10 * DAY),
            ),
            &mut ChaCha20Rng::from_seed(seed),
        )
        .unwrap();
        let sub = auditor::submit_warrant(&r.lab, &warrant, now).unwrap();
        let approvals: Vec<(String, Vec<u8>)> = r
            .shares
            .iter()
            .map(|s| {
                let a = escrow::authority::approve(&r.lab, s.authority(), &warrant, &sub.receipt, now)
                    .unwrap();
                (s.authority().to_owned(), a.bytes.to_vec())
            })
            .collect();

        // Every subset below k decrypts nothing.
        for mask in 0u32..(1 << n) {
            let subset: Vec<(String, Vec<u8>)> = (0..n)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| approvals[i].clone())
                .collect();
            if subset.len() < k {
                let err = auditor::execute::execute(&r.lab, &warrant, &subset, &r.capture, now);
                prop_assert!(err.is_err(), "{} approvals decrypted", subset.len());
            }
        }

        // All approvals, one of them corrupted: attributed, and execution goes on if k valid
        // ones remain.
        let mut presented = approvals.clone();
        let victim = corrupt.index(n);
        if n > 1 {
            // A valid G2 point that is not this share: its own identity-key share. (Another
            // authority's warrant share would not do for k = 1, where all shares are equal.)
            let mut v: serde_json::Value = serde_json::from_slice(&presented[victim].1).unwrap();
            v["warrant_share"] = v["identity_shares"][0]["share"].clone();
            presented[victim].1 = serde_json::to_vec(&v).unwrap();
        }
        let result = auditor::execute::execute(&r.lab, &warrant, &presented, &r.capture, now);
        let valid = if n > 1 { n - 1 } else { n };
        if valid < k {
            prop_assert!(result.is_err());
            return Ok(());
        }
        let report = result.unwrap();
        if n > 1 {
            let name = format!("auth{victim}");
            let v = report.approvals.iter().find(|a| a.authority == name).unwrap();
            prop_assert!(!v.valid);
            let attributed = v.reason.as_deref().unwrap_or("").contains(&name);
            prop_assert!(attributed, "{:?}", v.reason);
        }
        let got: BTreeSet<String> = report.decrypted.iter().map(|m| m.text.clone()).collect();
        let want: BTreeSet<String> = r
            .sent
            .iter()
            .filter(|(f, to, time, _)| {
                (f == ACCOUNTS[target] || to == ACCOUNTS[target]) && (time - T0) / DAY == day
            })
            .map(|(_, _, _, text)| text.clone())
            .collect();
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(report.non_compliant, 0);
        let involving = r
            .sent
            .iter()
            .filter(|(f, to, _, _)| f == ACCOUNTS[target] || to == ACCOUNTS[target])
            .count();
        prop_assert_eq!(report.out_of_scope, involving - want.len());
    }
}
