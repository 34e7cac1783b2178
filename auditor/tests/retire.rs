//! Retirement end to end: once n − k + 1 authorities have destroyed their shares of a
//! generation, its traffic cannot be opened even with every remaining share, and the auditor
//! says why; a retired authority refuses to approve; the log records every retirement.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use escrow::Error;
use escrow::transparency::LogEntry;
use escrow::warrant::Warrant;
use messenger::relay::CaptureRequest;
use messenger::{Client, EscrowContext, Relay};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use test_support::clock::{DAY, at as t};
use test_support::lab::FIVE as NAMES;
use test_support::{clock, lab, warrant};

const T0: i64 = clock::NOV_25;

#[test]
fn after_n_minus_k_plus_one_retirements_nothing_opens_and_the_auditor_says_why() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let tmp = tempfile::tempdir().unwrap();
    let req = lab::request(&NAMES, 3, t(T0 - 10 * DAY));
    let (params, shares, _, _) = escrow::dkg::run_all(&req, &mut rng).unwrap();
    let lab = lab::install(tmp.path().join("lab"), &req, &params, &shares, &mut rng);

    let mut ctx = EscrowContext::new(params.clone());
    let mut relay = Relay::in_memory().unwrap();
    let (mut alice, ra) = Client::register("alice", &mut rng).unwrap();
    let (_, rb) = Client::register("bob", &mut rng).unwrap();
    let tx = relay.transaction().unwrap();
    tx.register(&ra, T0).unwrap();
    tx.register(&rb, T0).unwrap();
    let env = alice
        .send(
            "bob",
            b"secret",
            T0 + 3_600,
            &mut ctx,
            &mut |a| tx.take_bundle(a),
            &mut rng,
        )
        .unwrap();
    tx.enqueue(&env, T0 + 3_600).unwrap();
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

    let now = t(T0 + 2 * DAY);
    let warrant = Warrant::new(
        warrant::draft("W-1", &["alice"], t(T0), t(T0 + DAY), t(T0 + 9 * DAY)),
        &mut rng,
    )
    .unwrap();
    let receipt = auditor::submit_warrant(&lab, &warrant, now)
        .unwrap()
        .receipt;

    // A second name for court's share file, to see what retirement leaves on disk.
    let link = tmp.path().join("court-share.link");
    std::fs::hard_link(lab.share_path("court"), &link).unwrap();
    // court, ministry, oversight retire (n − k + 1 = 3).
    for (i, a) in NAMES[..3].iter().enumerate() {
        let r = escrow::authority::retire(&lab, a, None, now).unwrap();
        assert!(r.new);
        assert_eq!(r.retired.len(), i + 1);
        assert_eq!(r.unrecoverable, i == 2);
        assert!(!lab.share_path(a).exists(), "{a}'s share still exists");
    }
    // The share's bytes were overwritten with zeros before the file was removed.
    let left = std::fs::read(&link).unwrap();
    assert!(!left.is_empty() && left.iter().all(|b| *b == 0));
    // Retiring again records nothing new.
    assert!(
        !escrow::authority::retire(&lab, "court", Some(1), now)
            .unwrap()
            .new
    );

    // A retired authority refuses, with the reason.
    let err = escrow::authority::approve(&lab, "court", &warrant, &receipt, now).unwrap_err();
    assert!(matches!(err, Error::Retired { .. }), "{err}");
    // The two that remain approve; the auditor cannot open anything, and says why.
    let approvals: Vec<(String, Vec<u8>)> = NAMES[3..]
        .iter()
        .map(|a| {
            let ap = escrow::authority::approve(&lab, a, &warrant, &receipt, now).unwrap();
            ((*a).to_owned(), ap.bytes.to_vec())
        })
        .collect();
    let err = auditor::execute::execute(&lab, &warrant, &approvals, &capture, now).unwrap_err();
    assert!(
        err.to_string().contains(
            "unrecoverable: 3 of 5 authorities destroyed their shares, 2 remain and 3 are needed"
        ),
        "{err}"
    );
    // Even the raw remaining shares cannot make the key.
    let id = params.identity("alice", (T0 / DAY) as u64).unwrap();
    let raw: Vec<escrow::KeyShare> = NAMES[3..]
        .iter()
        .map(|a| {
            lab.load_share(&params, a)
                .unwrap()
                .release_identity_key_share(&params, &id)
                .unwrap()
        })
        .collect();
    assert!(escrow::combine_identity_key(&params, &id, &raw).is_err());

    // The monitor sees three retirements.
    let report = auditor::verify_log(&lab).unwrap();
    assert_eq!(report.stats.entries.get("generation-retired"), Some(&3));
    let config = lab.load_log_config().unwrap();
    let store = lab.open_log_read_only(&config).unwrap();
    let last = store.entry(store.size().unwrap() - 1).unwrap();
    assert!(matches!(last.entry, LogEntry::KeyReleased { .. }));
}
