//! Generation rotation end to end: after `rotate`, chains of epochs the new generation covers
//! wrap to it and older chains keep the old one; a stale sender is refused by the recipient;
//! each warrant names the generation of its timespan and opens only that generation's traffic;
//! retiring the old generation ends its recoverability and leaves the new one working.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use escrow::lab::Lab;
use escrow::rotate::{RotateRequest, rotate};
use escrow::warrant::{Warrant, WarrantDraft, generation_for};
use escrow::{Error, Generations, WarrantError};
use messenger::relay::Capture;
use messenger::relay::CaptureRequest;
use messenger::{Client, EscrowContext, EscrowViolation, Relay};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use test_support::clock::{DAY, at as t};
use test_support::lab::FIVE as NAMES;
use test_support::{clock, lab, warrant};
use time::OffsetDateTime;

// In the past of the clock with room for the schedule below: log times may not run ahead of it.
const T0: i64 = clock::SEP_1;

fn warrant(
    reference: &str,
    start: i64,
    end: i64,
    generation: u32,
    rng: &mut ChaCha20Rng,
) -> Warrant {
    Warrant::new(
        WarrantDraft {
            generation,
            ..warrant::draft(reference, &["alice"], t(start), t(end), t(T0 + 9 * DAY))
        },
        rng,
    )
    .unwrap()
}

/// Submits, has `approvers` approve, executes; returns the decrypted texts.
fn open(
    lab: &Lab,
    w: &Warrant,
    approvers: &[&str],
    capture: &Capture,
    now: OffsetDateTime,
) -> auditor::Result<Vec<String>> {
    let receipt = auditor::submit_warrant(lab, w, now)?.receipt;
    let approvals: Vec<(String, Vec<u8>)> = approvers
        .iter()
        .map(|a| {
            let ap = escrow::authority::approve(lab, a, w, &receipt, now)?;
            Ok(((*a).to_owned(), ap.bytes.to_vec()))
        })
        .collect::<escrow::Result<_>>()?;
    let report = auditor::execute::execute(lab, w, &approvals, capture, now)?;
    Ok(report.decrypted.iter().map(|m| m.text.clone()).collect())
}

#[test]
fn rotation_switches_new_chains_and_warrants_follow_their_generation() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let tmp = tempfile::tempdir().unwrap();
    let req = lab::request(&NAMES, 3, t(T0 - 10 * DAY));
    let (lab, params, _) = lab::dealer(tmp.path().join("lab"), &req, &mut rng);

    // Rotate during day 0 with the DKG: generation 2 from the start of day 1.
    let mut r = RotateRequest::new(t(T0 + 3_600));
    r.dkg = true;
    let g2 = rotate(&lab, &r, &mut rng).unwrap();
    assert_eq!(g2.generation(), 2);
    assert_eq!(g2.valid_from(), Some(t(T0 + DAY)));
    assert_eq!(g2.valid_until(), None);
    assert_ne!(g2.master_public_key(), params.master_public_key());
    let gens = lab.load_generations().unwrap();
    assert_eq!(gens.for_epoch((T0 / DAY) as u64).unwrap().generation(), 1);
    assert_eq!(
        gens.for_epoch((T0 / DAY + 1) as u64).unwrap().generation(),
        2
    );
    assert!(
        lab.share_path_of("court", 2)
            .ends_with("court/share-2.json")
    );

    let mut ctx = EscrowContext::with_generations(gens.clone());
    let mut relay = Relay::in_memory().unwrap();
    let (mut alice, ra) = Client::register("alice", &mut rng).unwrap();
    let (mut bob, rb) = Client::register("bob", &mut rng).unwrap();
    let (mut carol, rc) = Client::register("carol", &mut rng).unwrap();
    let tx = relay.transaction().unwrap();
    for r in [&ra, &rb, &rc] {
        tx.register(r, T0).unwrap();
    }
    for (text, when) in [("day 0", T0 + 7_200), ("day 1", T0 + DAY + 7_200)] {
        let env = alice
            .send(
                "bob",
                text.as_bytes(),
                when,
                &mut ctx,
                &mut |a| tx.take_bundle(a),
                &mut rng,
            )
            .unwrap();
        let block = env.start.as_ref().unwrap().escrow.as_ref().unwrap();
        assert_eq!(block.generation, if when < T0 + DAY { 1 } else { 2 });
        tx.enqueue(&env, when).unwrap();
    }
    // A stale sender that only knows generation 1 keeps wrapping to it on day 1: refused.
    let mut stale = EscrowContext::new(params.clone());
    let env = carol
        .send(
            "bob",
            b"stale",
            T0 + DAY + 9_000,
            &mut stale,
            &mut |a| tx.take_bundle(a),
            &mut rng,
        )
        .unwrap();
    assert_eq!(
        env.start
            .as_ref()
            .unwrap()
            .escrow
            .as_ref()
            .unwrap()
            .generation,
        1
    );
    tx.enqueue(&env, T0 + DAY + 9_000).unwrap();
    // A sender that knows only generation 2 cannot send on day 0: nothing covers it.
    let mut only2 = EscrowContext::new(g2.clone());
    let err = carol
        .send(
            "alice",
            b"early",
            T0 + 10_000,
            &mut only2,
            &mut |a| tx.take_bundle(a),
            &mut rng,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no escrow generation covers epoch"),
        "{err}"
    );
    let batch = tx.queued("bob").unwrap();
    let outcomes = bob.receive(
        batch,
        T0 + DAY + 10_000,
        &mut ctx,
        &mut |a| tx.identity(a),
        &mut rng,
    );
    tx.commit().unwrap();
    let texts: Vec<String> = outcomes
        .iter()
        .map(|(_, o)| match o {
            messenger::Outcome::Delivered { text, .. } => text.clone(),
            messenger::Outcome::Rejected { reason, .. } => format!("rejected: {reason}"),
            messenger::Outcome::Held => "held".into(),
        })
        .collect();
    assert_eq!(texts[..2], ["day 0".to_owned(), "day 1".to_owned()]);
    let stale_reason = EscrowViolation::WrongGeneration {
        found: 1,
        expected: 2,
    }
    .to_string();
    assert!(texts[2].contains(&stale_reason), "{texts:?}");

    // Warrants: each day names its generation; a timespan across the rotation is refused.
    assert_eq!(generation_for(&gens, t(T0), t(T0 + DAY)).unwrap(), 1);
    assert_eq!(
        generation_for(&gens, t(T0 + DAY), t(T0 + 2 * DAY)).unwrap(),
        2
    );
    let err = generation_for(&gens, t(T0), t(T0 + 2 * DAY)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Warrant(WarrantError::CrossesGenerations {
                first: 1,
                second: 2,
                ..
            })
        ),
        "{err}"
    );
    let capture = relay
        .capture(&CaptureRequest::new(
            &lab.load_generations().unwrap(),
            "alice",
            T0,
            T0 + 2 * DAY,
            T0 + 2 * DAY,
        ))
        .unwrap();
    let now = t(T0 + 2 * DAY);
    let w1 = warrant("W-1", T0, T0 + DAY, 1, &mut rng);
    let w2 = warrant("W-2", T0 + DAY, T0 + 2 * DAY, 2, &mut rng);
    assert_eq!(
        open(&lab, &w1, &NAMES[..3], &capture, now).unwrap(),
        ["day 0"]
    );
    assert_eq!(
        open(&lab, &w2, &NAMES[2..], &capture, now).unwrap(),
        ["day 1"]
    );
    // A warrant naming generation 1 for day 1 (generation 2's) is refused before it is logged.
    let wrong = warrant("W-3", T0 + DAY, T0 + 2 * DAY, 1, &mut rng);
    let err = auditor::submit_warrant(&lab, &wrong, now).unwrap_err();
    assert!(
        matches!(
            err,
            auditor::Error::Draft(Error::Warrant(WarrantError::WrongGeneration {
                warrant: 1,
                current: 2
            }))
        ),
        "{err}"
    );

    // Retire generation 1 (n − k + 1 = 3 authorities): its traffic is gone, generation 2's
    // is not, and generation 2's shares are untouched.
    for a in &NAMES[..3] {
        escrow::authority::retire(&lab, a, Some(1), now).unwrap();
        assert!(!lab.share_path_of(a, 1).exists());
        assert!(lab.share_path_of(a, 2).exists());
    }
    let w4 = warrant("W-4", T0, T0 + DAY, 1, &mut rng);
    let err = open(&lab, &w4, &NAMES[..3], &capture, now).unwrap_err();
    assert!(
        matches!(
            err,
            auditor::Error::Escrow(Error::Retired { generation: 1, .. })
        ),
        "{err}"
    );
    let err = open(&lab, &w4, &NAMES[3..], &capture, now).unwrap_err();
    assert!(
        matches!(
            err,
            auditor::Error::Escrow(Error::Unrecoverable {
                generation: 1,
                remaining: 2,
                ..
            })
        ),
        "{err}"
    );
    let w5 = warrant("W-5", T0 + DAY, T0 + 2 * DAY, 2, &mut rng);
    assert_eq!(
        open(&lab, &w5, &NAMES[..3], &capture, now).unwrap(),
        ["day 1"]
    );
    assert!(auditor::verify_log(&lab).is_ok());
}

#[test]
fn a_schedule_is_kept_and_generations_load_in_order() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let tmp = tempfile::tempdir().unwrap();
    let mut req = lab::request(&NAMES[..3], 2, t(T0));
    req.valid_from = Some(t(T0));
    req.valid_until = Some(t(T0 + 7 * DAY));
    let (lab, _, _) = lab::dealer(tmp.path().join("lab"), &req, &mut rng);
    // Two scheduled rotations: each starts where the last ends and lasts seven days.
    for (g, at) in [(2u32, T0 + 6 * DAY), (3, T0 + 13 * DAY)] {
        let p = rotate(&lab, &RotateRequest::new(t(at)), &mut rng).unwrap();
        assert_eq!(p.generation(), g);
        let start = T0 + 7 * DAY * i64::from(g - 1);
        assert_eq!(p.valid_from(), Some(t(start)));
        assert_eq!(p.valid_until(), Some(t(start + 7 * DAY)));
    }
    let gens: Generations = lab.load_generations().unwrap();
    let numbers: Vec<u32> = gens.iter().map(|p| p.generation()).collect();
    assert_eq!(numbers, [1, 2, 3]);
    for day in 0..21 {
        let g = gens
            .for_epoch((T0 / DAY + day) as u64)
            .unwrap()
            .generation();
        assert_eq!(g as i64, day / 7 + 1, "day {day}");
    }
    assert!(gens.for_epoch((T0 / DAY + 21) as u64).is_none());
    assert!(gens.for_epoch((T0 / DAY - 1) as u64).is_none());
    assert_eq!(lab.load_params().unwrap().generation(), 3);
    // The log announced each generation once, with its validity.
    let report = auditor::verify_log(&lab).unwrap();
    assert_eq!(report.stats.entries.get("generation-created"), Some(&3));
}

/// A generation installed in the lab that the log never announced (or announced with another
/// key) fails the monitor: no key in use that the log did not show everyone.
#[test]
fn an_unannounced_generation_fails_the_monitor() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let tmp = tempfile::tempdir().unwrap();
    let req = lab::request(&NAMES[..3], 2, t(T0));
    let (lab, _, _) = lab::dealer(tmp.path().join("lab"), &req, &mut rng);
    rotate(&lab, &RotateRequest::new(t(T0 + 3_600)), &mut rng).unwrap();
    assert!(auditor::verify_log(&lab).is_ok());
    // Generation 2's parameters swapped for another key of the same number and validity.
    let mut fake = lab::request(&NAMES[..3], 2, t(T0 + 3_600));
    fake.generation = 2;
    fake.valid_from = Some(t(T0 + DAY));
    let (other, _) = escrow::dealer_setup(&fake, &mut rng).unwrap();
    std::fs::write(lab.rotated_params_path(2), other.to_json().unwrap()).unwrap();
    let err = auditor::verify_log(&lab).unwrap_err();
    assert!(
        err.to_string().contains("generation 2 of the lab")
            && err.to_string().contains("is not the one the log announced"),
        "{err}"
    );
}
