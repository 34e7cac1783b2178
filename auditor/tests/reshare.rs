//! Resharing end to end: a 3-of-5 generation is reshared by three of its authorities to a new
//! set of four (one authority replaced, two added, one dropped) with threshold 2; the master key
//! is unchanged; the resharing runs over the lab's board (each authority from its own state,
//! three old shares revoked before the new sharing is in force), the monitor accepts the log,
//! and traffic escrowed before it is opened through the auditor with two approvals of the new
//! set; an old share mixed with a new one opens nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use escrow::dkg::reshare::simulate as reshare_all;
use escrow::hazmat::{identity_key_unchecked, interpolate_unchecked};
use escrow::warrant::Warrant;
use escrow::{KeyShare, SetupRequest};
use messenger::relay::CaptureRequest;
use messenger::{Client, EscrowContext, Relay};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use test_support::clock::{DAY, at as t};
use test_support::lab::FIVE;
use test_support::{clock, lab, warrant};

const T0: i64 = clock::NOV_25;

#[test]
fn reshared_generation_opens_old_traffic_through_the_auditor() {
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let req = lab::request(&FIVE, 3, t(T0 - 10 * DAY));
    let (params, shares) = escrow::dealer_setup(&req, &mut rng).unwrap();

    // Traffic escrowed under the old sharing.
    let mut ctx = EscrowContext::new(params.clone());
    let mut relay = Relay::in_memory().unwrap();
    let (mut alice, ra) = Client::register("alice", &mut rng).unwrap();
    let (_, rb) = Client::register("bob", &mut rng).unwrap();
    let tx = relay.transaction().unwrap();
    tx.register(&ra, T0).unwrap();
    tx.register(&rb, T0).unwrap();
    for (i, text) in ["one", "two"].iter().enumerate() {
        let time = T0 + 3_600 + i as i64;
        let env = alice
            .send(
                "bob",
                text.as_bytes(),
                time,
                &mut ctx,
                &mut |a| tx.take_bundle(a),
                &mut rng,
            )
            .unwrap();
        tx.enqueue(&env, time).unwrap();
    }
    tx.commit().unwrap();
    let capture = relay
        .capture(&CaptureRequest::new(
            &escrow::Generations::single(params.clone()),
            "alice",
            T0,
            T0 + DAY,
            T0 + DAY,
        ))
        .unwrap();

    // ombudsman leaves, tribunal and commissioner join; threshold 2 of 4.
    let new_names: Vec<String> = ["court", "ministry", "tribunal", "commissioner"]
        .map(str::to_owned)
        .to_vec();
    // The resharing runs over the lab's board, each authority from its own state: ministry,
    // oversight and ombudsman deal; three old authorities revoke (n − k + 1 = 3).
    let tmp = tempfile::tempdir().unwrap();
    let lab = lab::install(tmp.path().join("lab"), &req, &params, &shares, &mut rng);
    use escrow::dkg::reshare_board as board;
    let from: Vec<String> = ["ministry", "oversight", "ombudsman"]
        .map(str::to_owned)
        .to_vec();
    board::start(&lab, 1, Some(from.clone()), new_names.clone(), 2, &mut rng).unwrap();
    let config = board::parties_of(&lab).unwrap();
    for p in &config {
        board::join_as(&lab, p, &mut rng).unwrap();
    }
    for d in &from {
        board::deal_as(&lab, d, &mut rng).unwrap();
    }
    for m in &new_names {
        board::respond_as(&lab, m).unwrap();
    }
    for d in &from {
        board::justify_as(&lab, d).unwrap();
    }
    for m in &new_names {
        board::finish_as(&lab, m).unwrap();
    }
    let mut done = false;
    for a in ["court", "provider", "ombudsman"] {
        done = board::revoke_as(&lab, a, t(T0 + DAY)).unwrap().completed;
    }
    assert!(done);
    let fresh = lab.load_params().unwrap();
    assert_eq!(fresh.master_public_key(), params.master_public_key());
    assert_eq!((fresh.threshold(), fresh.authorities().len()), (2, 4));
    let new_shares: Vec<escrow::AuthorityShare> = new_names
        .iter()
        .map(|a| lab.load_share(&fresh, a).unwrap())
        .collect();
    // The monitor accepts the log: the resharing is announced, the new witnesses listed.
    auditor::verify_log_with(&lab, &[]).unwrap();
    // Putting the old params.json back (public) is caught by the monitor, which checks the
    // commitment against the last generation-reshared entry, and an old authority's approval
    // with an old share is refused (outside review, 2026-12, second round).
    let new_params = std::fs::read(lab.params_path()).unwrap();
    std::fs::write(lab.params_path(), params.to_json().unwrap()).unwrap();
    let err = auditor::verify_log_with(&lab, &[]).unwrap_err();
    assert!(
        err.to_string().contains("is not the one the log announced"),
        "{err}"
    );
    let config = lab.load_log_config().unwrap();
    let refused =
        escrow::authority::check_sharing(&lab, &params, &config, Some("ombudsman")).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("is not the sharing the log's last"),
        "{refused}"
    );
    std::fs::write(lab.params_path(), &new_params).unwrap();

    let now = t(T0 + 2 * DAY);
    let warrant = Warrant::new(
        warrant::draft("W-1", &["alice"], t(T0), t(T0 + DAY), t(T0 + 9 * DAY)),
        &mut rng,
    )
    .unwrap();
    let sub = auditor::submit_warrant(&lab, &warrant, now).unwrap();
    let approvals: Vec<(String, Vec<u8>)> = ["tribunal", "commissioner"]
        .iter()
        .map(|a| {
            let ap = escrow::authority::approve(&lab, a, &warrant, &sub.receipt, now).unwrap();
            ((*a).to_owned(), ap.bytes.to_vec())
        })
        .collect();
    let report = auditor::execute::execute(&lab, &warrant, &approvals, &capture, now).unwrap();
    let texts: Vec<&str> = report.decrypted.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["one", "two"]);

    // An old share with a new one: nothing.
    let id = params.identity("alice", (T0 / DAY) as u64).unwrap();
    let mixed = vec![
        shares[3].release_identity_key_share(&params, &id).unwrap(),
        new_shares[2]
            .release_identity_key_share(&fresh, &id)
            .unwrap(),
    ];
    let forced = identity_key_unchecked(id.clone(), interpolate_unchecked(&mixed).unwrap());
    assert!(forced.verify(&fresh).is_err());
    // And a single new share is not enough under k = 2.
    assert!(escrow::combine_identity_key(&fresh, &id, &mixed[1..]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn resharing_keeps_the_key_for_any_sets_and_thresholds(
        (n, k) in (2usize..=5).prop_flat_map(|n| (Just(n), 1..=n)),
        (n2, k2) in (2usize..=5).prop_flat_map(|n| (Just(n), 2..=n)),
        seed in any::<[u8; 32]>(),
    ) {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let names: Vec<String> = (0..n).map(|i| format!("o{i}")).collect();
        let (params, shares) =
            escrow::dealer_setup(&SetupRequest::new(names, k, t(T0)), &mut rng).unwrap();
        let new_names: Vec<String> = (0..n2).map(|i| format!("n{i}")).collect();
        let (fresh, new_shares) = reshare_all(&params, &shares[n - k..], &new_names, k2, &mut rng).unwrap();
        prop_assert_eq!(fresh.master_public_key(), params.master_public_key());
        let id = params.identity("alice", 3).unwrap();
        let old: Vec<KeyShare> = shares[..k].iter().map(|s| s.release_identity_key_share(&params, &id).unwrap()).collect();
        let new: Vec<KeyShare> = new_shares[n2 - k2..].iter().map(|s| s.release_identity_key_share(&fresh, &id).unwrap()).collect();
        let a = escrow::combine_identity_key(&params, &id, &old).unwrap();
        let b = escrow::combine_identity_key(&fresh, &id, &new).unwrap();
        prop_assert_eq!(a.point(), b.point());
        prop_assert!(escrow::combine_identity_key(&fresh, &id, &new[1..]).is_err());
    }
}
