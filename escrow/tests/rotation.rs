//! Generations over time: validity windows in the parameters, rotation's rules (any schedule of
//! rotations keeps every chain already begun on its generation), crash recovery of a rotation,
//! and the monitor's refusal of a generation announced twice.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use escrow::lab::Lab;
use escrow::rotate::{RotateRequest, rotate};
use escrow::transparency::{LogEntry, LogRecord};
use escrow::{Error, Generations, PublicParams, SetupRequest};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use test_support::clock::{DAY, at as t};
use test_support::lab::THREE;
use test_support::{clock, lab};

// In the past of the clock, with room for the rotations of the property test (up to ~30 days
// later): log times may not run ahead of the clock.
const T0: i64 = clock::SEP_1;
const E0: u64 = (T0 / DAY) as u64;

fn new_lab(
    dir: &std::path::Path,
    validity: Option<(i64, i64)>,
    rng: &mut ChaCha20Rng,
) -> (Lab, PublicParams) {
    let mut req = lab::request(&THREE, 2, t(T0));
    if let Some((a, b)) = validity {
        req.valid_from = Some(t(a));
        req.valid_until = Some(t(b));
    }
    let (lab, params, _) = lab::dealer(dir.join("lab"), &req, rng);
    (lab, params)
}

/// The generation of each epoch in `E0 - 2 .. E0 + 40` (0: none).
fn map(g: &Generations) -> Vec<u32> {
    (E0 - 2..E0 + 40)
        .map(|e| g.for_epoch(e).map_or(0, |p| p.generation()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Whatever the schedule, a rotation never moves an epoch that has begun to another
    /// generation, the new generation is the one used from its first epoch, and no epoch
    /// before the new generation's end that had a generation loses it.
    #[test]
    fn rotations_never_move_a_begun_epoch(
        bounded in any::<bool>(),
        steps in prop::collection::vec((0i64..12, prop::option::of(1u64..10), any::<bool>()), 1..5),
        seed in any::<[u8; 32]>(),
    ) {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let tmp = tempfile::tempdir().unwrap();
        let (lab, _) = new_lab(tmp.path(), bounded.then_some((T0, T0 + 10 * DAY)), &mut rng);
        let mut now = T0;
        for (advance, days, explicit) in steps {
            now += advance * DAY / 2 + 3_600;
            let before = lab.load_generations().unwrap();
            let mut req = RotateRequest::new(t(now));
            req.valid_days = days;
            if explicit {
                req.valid_from = Some(t((now / DAY + 1 + advance % 3) * DAY));
            }
            match rotate(&lab, &req, &mut rng) {
                Ok(p) => {
                    let after = lab.load_generations().unwrap();
                    prop_assert_eq!(p.generation(), before.newest().generation() + 1);
                    let (m0, m1) = (map(&before), map(&after));
                    let begun = (now / DAY) as u64;
                    for (i, e) in (E0 - 2..E0 + 40).enumerate() {
                        if e <= begun {
                            prop_assert_eq!(m0[i], m1[i], "epoch {} moved", e);
                        }
                        // Up to the new generation's end (a schedule's next deadline).
                        let before_end = p
                            .valid_until()
                            .is_none_or(|u| ((e + 1) as i64) * DAY <= u.unix_timestamp());
                        if m0[i] != 0 && before_end {
                            prop_assert!(m1[i] != 0, "epoch {} lost its generation", e);
                        }
                    }
                    let first = (p.valid_from().unwrap().unix_timestamp() / DAY) as u64;
                    prop_assert!(first > begun);
                    prop_assert_eq!(after.for_epoch(first).unwrap().generation(), p.generation());
                }
                Err(e) => {
                    // A refusal names a rule and changes nothing.
                    prop_assert!(matches!(e, Error::Rotation(_)), "{}", e);
                    prop_assert_eq!(map(&lab.load_generations().unwrap()), map(&before));
                }
            }
        }
    }
}

#[test]
fn validity_in_the_parameters_is_checked_and_round_trips() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let tmp = tempfile::tempdir().unwrap();
    let (_, p) = new_lab(tmp.path(), Some((T0, T0 + 7 * DAY)), &mut rng);
    let json = p.to_json().unwrap();
    let text = String::from_utf8(json.clone()).unwrap();
    assert!(
        text.contains("\"valid_from\": \"2026-09-01T00:00:00Z\""),
        "{text}"
    );
    let back = PublicParams::from_json(&json).unwrap();
    assert_eq!(back.to_json().unwrap(), json);
    assert!(back.covers_epoch(E0) && back.covers_epoch(E0 + 6));
    assert!(!back.covers_epoch(E0 - 1) && !back.covers_epoch(E0 + 7));
    for (from, until, why) in [
        (
            "2026-09-01T00:00:01Z",
            "2026-09-08T00:00:00Z",
            "epoch boundaries",
        ),
        (
            "2026-09-08T00:00:00Z",
            "2026-09-01T00:00:00Z",
            "end after it starts",
        ),
        (
            "2026-09-01T00:00:00Z",
            "2026-09-01T00:00:00Z",
            "end after it starts",
        ),
        ("yesterday", "2026-09-01T00:00:00Z", "valid_from"),
    ] {
        let bad = text
            .replace("2026-09-01T00:00:00Z\"", &format!("{from}\""))
            .replace("2026-09-08T00:00:00Z\"", &format!("{until}\""));
        let bad = bad.replacen(&format!("{from}\""), "2026-09-01T00:00:00Z\"", 1); // created_at
        let err = PublicParams::from_json(bad.as_bytes()).unwrap_err();
        assert!(err.to_string().contains(why), "{from}/{until}: {err}");
    }
    // Parameters without validity (made before rotation existed) cover every epoch.
    let (_, open) = new_lab(&tmp.path().join("b"), None, &mut rng);
    assert!(
        !String::from_utf8(open.to_json().unwrap())
            .unwrap()
            .contains("valid_")
    );
    assert!(open.covers_epoch(0) && open.covers_epoch(u64::MAX / DAY as u64));
}

#[test]
fn generations_of_one_lab_share_realm_and_epoch_length() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let names = vec!["a".to_owned(), "b".to_owned()];
    let mut req = SetupRequest::new(names.clone(), 2, t(T0));
    let (p1, _) = escrow::dealer_setup(&req, &mut rng).unwrap();
    req.generation = 2;
    req.realm = "other".into();
    let (p2, _) = escrow::dealer_setup(&req, &mut rng).unwrap();
    assert!(Generations::new(vec![p1.clone(), p2]).is_err());
    assert!(Generations::new(vec![p1.clone(), p1.clone()]).is_err());
    assert!(Generations::new(vec![]).is_err());
    let g = Generations::new(vec![p1]).unwrap();
    let err = g.get(4).unwrap_err();
    assert_eq!(
        err.to_string(),
        "generation 4 does not exist in this lab (it holds 1)"
    );
}

/// The state a crash leaves after staging generation 2 (and, if `logged`, after announcing
/// it): the hidden folder with the staged shares and the parameters.
fn half_rotated(lab: &Lab, logged: bool, rng: &mut ChaCha20Rng) -> PublicParams {
    let names: Vec<String> = ["court", "ministry", "oversight"]
        .map(str::to_owned)
        .to_vec();
    let mut req = SetupRequest::new(names, 2, t(T0 + 3_600));
    req.generation = 2;
    req.valid_from = Some(t(T0 + DAY));
    let (p, shares) = escrow::dealer_setup(&req, rng).unwrap();
    let pending = lab.generations_dir().join(".2");
    escrow::lab::create_dir_all_private(&pending.join("shares")).unwrap();
    for s in &shares {
        let path = pending
            .join("shares")
            .join(format!("{}.json", s.authority()));
        escrow::lab::write_atomic(&path, &escrow::hazmat::export_share_json(s).unwrap(), 0o600)
            .unwrap();
    }
    escrow::lab::write_atomic(&pending.join("params.json"), &p.to_json().unwrap(), 0o644).unwrap();
    if logged {
        announce(lab, &p);
    }
    p
}

fn announce(lab: &Lab, p: &PublicParams) {
    let config = lab.load_log_config().unwrap();
    let mut store = lab.open_log(&config).unwrap();
    let rec = LogRecord::new(LogEntry::GenerationCreated {
        realm: p.realm().into(),
        generation: p.generation(),
        master_public_key: escrow::encoding::g1_hex(p.master_public_key()),
        threshold: p.threshold() as u32,
        authorities: p.authorities().iter().map(|a| a.name.clone()).collect(),
        time: "2026-09-01T01:00:00Z".into(),
        valid_from: Some("2026-09-02T00:00:00Z".into()),
        valid_until: None,
    });
    store
        .append(&rec, &escrow::hazmat::log_operator_signer(lab).unwrap())
        .unwrap();
}

#[test]
fn a_rotation_interrupted_after_logging_is_completed() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let tmp = tempfile::tempdir().unwrap();
    let (lab, _) = new_lab(tmp.path(), None, &mut rng);
    let p = half_rotated(&lab, true, &mut rng);
    // Before recovery the pending generation does not exist for any reader.
    assert_eq!(lab.load_generations().unwrap().iter().count(), 1);
    assert!(lab.rotation_pending());
    lab.recover_rotation().unwrap();
    assert!(!lab.rotation_pending());
    let g = lab.load_generation(2).unwrap();
    assert_eq!(g.master_public_key(), p.master_public_key());
    lab.load_share(&g, "court").unwrap();
    // The next rotation makes generation 3, not a second generation 2.
    let next = rotate(&lab, &RotateRequest::new(t(T0 + DAY + 3_600)), &mut rng).unwrap();
    assert_eq!(next.generation(), 3);
}

#[test]
fn a_rotation_interrupted_before_logging_is_undone() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let tmp = tempfile::tempdir().unwrap();
    let (lab, _) = new_lab(tmp.path(), None, &mut rng);
    let unlogged = half_rotated(&lab, false, &mut rng);
    let staged = lab.generations_dir().join(".2/shares/court.json");
    let link = tmp.path().join("staged-court.link");
    std::fs::hard_link(&staged, &link).unwrap();
    let p = rotate(&lab, &RotateRequest::new(t(T0 + 3_600)), &mut rng).unwrap();
    // The unlogged key was discarded, its staged shares destroyed (zeros), a fresh one made.
    assert!(std::fs::read(&link).unwrap().iter().all(|b| *b == 0));
    assert_eq!(p.generation(), 2);
    assert_ne!(p.master_public_key(), unlogged.master_public_key());
    assert!(!lab.generations_dir().join(".2").exists());
    let g = lab.load_generation(2).unwrap();
    assert_eq!(g.master_public_key(), p.master_public_key());
    lab.load_share(&g, "oversight").unwrap();
}

/// A generation the log announced but the lab never installed (its folder lost) is never
/// reused: the next rotation takes the number after it.
#[test]
fn an_announced_number_is_never_reused() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let tmp = tempfile::tempdir().unwrap();
    let (lab, _) = new_lab(tmp.path(), None, &mut rng);
    let lost = half_rotated(&lab, true, &mut rng);
    std::fs::remove_dir_all(lab.generations_dir().join(".2")).unwrap();
    let p = rotate(&lab, &RotateRequest::new(t(T0 + 3_600)), &mut rng).unwrap();
    assert_eq!(p.generation(), 3);
    assert_ne!(p.master_public_key(), lost.master_public_key());
}

/// Stray hidden folders that are not a canonical generation number are left alone, and
/// recovery never touches an installed generation's shares.
#[test]
fn recovery_touches_only_canonical_pending_folders() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let tmp = tempfile::tempdir().unwrap();
    let (lab, _) = new_lab(tmp.path(), None, &mut rng);
    let g2 = rotate(&lab, &RotateRequest::new(t(T0 + 3_600)), &mut rng).unwrap();
    for stray in [".02", ".+2", ".x"] {
        std::fs::create_dir_all(lab.generations_dir().join(stray).join("shares")).unwrap();
    }
    let before = std::fs::read(lab.share_path_of("court", 2)).unwrap();
    rotate(&lab, &RotateRequest::new(t(T0 + DAY + 3_600)), &mut rng).unwrap();
    assert_eq!(
        std::fs::read(lab.share_path_of("court", 2)).unwrap(),
        before
    );
    lab.load_share(&g2, "court").unwrap();
    for stray in [".02", ".+2", ".x"] {
        assert!(lab.generations_dir().join(stray).exists());
    }
}

/// Rotations at once are serialized by the log's write lock: one installs generation 2, the
/// others plan from it (and are refused), and every installed generation is the one the log
/// announced, its shares whole.
#[test]
fn concurrent_rotations_do_not_interleave() {
    let tmp = tempfile::tempdir().unwrap();
    let (lab, _) = new_lab(tmp.path(), None, &mut ChaCha20Rng::seed_from_u64(8));
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3u64)
            .map(|k| {
                let lab = lab.clone();
                s.spawn(move || {
                    let mut rng = ChaCha20Rng::seed_from_u64(100 + k);
                    let mut req = RotateRequest::new(t(T0 + 3_600));
                    req.dkg = k == 0;
                    rotate(&lab, &req, &mut rng)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Each waits for the one before and plans from what it installed: the first makes
    // generation 2, the others start at the same boundary and are refused by the rules.
    let made: Vec<u32> = results
        .iter()
        .filter_map(|r| match r {
            Ok(p) => Some(p.generation()),
            Err(e) => {
                assert!(matches!(e, Error::Rotation(_)), "{e}");
                None
            }
        })
        .collect();
    assert_eq!(made, [2]);
    let gens = lab.load_generations().unwrap();
    assert_eq!(gens.iter().count(), 2);
    let config = lab.load_log_config().unwrap();
    let store = lab.open_log_read_only(&config).unwrap();
    for p in gens.iter() {
        let mpk = escrow::encoding::g1_hex(p.master_public_key());
        let announced = (0..store.size().unwrap()).any(|i| {
            matches!(store.entry(i).unwrap().entry, LogEntry::GenerationCreated {
                generation, master_public_key, .. } if generation == p.generation() && master_public_key == mpk)
        });
        assert!(announced, "generation {} unannounced", p.generation());
        for a in p.authorities() {
            lab.load_share(p, &a.name).unwrap();
        }
    }
    assert!(!lab.rotation_pending());
}

/// A newer generation supersedes older ones from its start for good: once it expires, no
/// generation covers later epochs — traffic never falls back to an older (maybe retired) key.
#[test]
fn an_expired_generation_does_not_fall_back_to_an_older_one() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let tmp = tempfile::tempdir().unwrap();
    let (lab, _) = new_lab(tmp.path(), None, &mut rng);
    let mut req = RotateRequest::new(t(T0 + 3_600));
    req.valid_days = Some(7);
    rotate(&lab, &req, &mut rng).unwrap();
    let gens = lab.load_generations().unwrap();
    assert_eq!(gens.for_epoch(E0).unwrap().generation(), 1);
    assert_eq!(gens.for_epoch(E0 + 7).unwrap().generation(), 2);
    assert!(gens.for_epoch(E0 + 8).is_none());
    let err = gens.require_for_epoch(E0 + 8).unwrap_err();
    assert!(
        err.to_string().contains("the authorities must rotate"),
        "{err}"
    );
}

/// A rotation cannot reach back behind what the log recorded: a time before the log's newest
/// entry is refused (simulated time never goes backwards), whatever start it asks for.
#[test]
fn a_rotation_cannot_start_before_the_logs_newest_entry() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let tmp = tempfile::tempdir().unwrap();
    let (lab, _) = new_lab(tmp.path(), None, &mut rng);
    rotate(&lab, &RotateRequest::new(t(T0 + 5 * DAY)), &mut rng).unwrap();
    let mut back = RotateRequest::new(t(T0 - 5 * DAY));
    back.valid_from = Some(t(T0 - 4 * DAY));
    let err = rotate(&lab, &back, &mut rng).unwrap_err();
    assert!(matches!(err, Error::TimeBackwards { .. }), "{err}");
    let mut later = RotateRequest::new(t(T0 - 5 * DAY));
    later.valid_from = Some(t(T0 + 8 * DAY));
    assert!(matches!(
        rotate(&lab, &later, &mut rng).unwrap_err(),
        Error::TimeBackwards { .. }
    ));
    // At or after the newest entry: a start before generation 2's is refused by the rotation
    // rules, one after it accepted.
    assert!(matches!(
        rotate(&lab, &RotateRequest::new(t(T0 + 5 * DAY)), &mut rng).unwrap_err(),
        Error::Rotation(_)
    ));
    let mut later = RotateRequest::new(t(T0 + 5 * DAY));
    later.valid_from = Some(t(T0 + 8 * DAY));
    assert_eq!(rotate(&lab, &later, &mut rng).unwrap().generation(), 3);
}

#[test]
fn the_monitor_refuses_a_generation_announced_twice() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let tmp = tempfile::tempdir().unwrap();
    let (lab, p) = new_lab(tmp.path(), None, &mut rng);
    let config = lab.load_log_config().unwrap();
    let mut store = lab.open_log(&config).unwrap();
    assert!(escrow::transparency::monitor::verify_with(&store, &config, &[]).is_ok());
    let rec = LogRecord::new(LogEntry::GenerationCreated {
        realm: p.realm().into(),
        generation: 1,
        master_public_key: "00".repeat(48),
        threshold: 2,
        authorities: vec!["court".into(), "ministry".into()],
        time: "2026-09-01T01:00:00Z".into(),
        valid_from: None,
        valid_until: None,
    });
    store
        .append(&rec, &escrow::hazmat::log_operator_signer(&lab).unwrap())
        .unwrap();
    let err = escrow::transparency::monitor::verify_with(&store, &config, &[]).unwrap_err();
    assert!(
        err.to_string()
            .contains("entry 1 announces generation 1 of realm 'escrow-lab' a second time"),
        "{err}"
    );
}

/// A symbolic link or a stray file named like a pending rotation is not a rotation: recovery
/// leaves it, and whatever it points to, alone.
#[test]
fn recovery_never_follows_a_link_or_trips_on_a_file() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let tmp = tempfile::tempdir().unwrap();
    let (lab, _) = new_lab(tmp.path(), None, &mut rng);
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(outside.join("shares")).unwrap();
    std::fs::write(outside.join("shares/victim.json"), b"keep me").unwrap();
    std::fs::create_dir_all(lab.generations_dir()).unwrap();
    std::os::unix::fs::symlink(&outside, lab.generations_dir().join(".5")).unwrap();
    std::fs::write(lab.generations_dir().join(".6"), b"stray").unwrap();
    assert!(!lab.rotation_pending());
    rotate(&lab, &RotateRequest::new(t(T0 + 3_600)), &mut rng).unwrap();
    assert_eq!(
        std::fs::read(outside.join("shares/victim.json")).unwrap(),
        b"keep me"
    );
    // A start more than a year ahead is refused.
    let mut far = RotateRequest::new(t(T0 + 3_600));
    far.valid_from = Some(t(T0 + 400 * DAY));
    assert!(matches!(
        rotate(&lab, &far, &mut rng),
        Err(Error::Rotation(_))
    ));
}
