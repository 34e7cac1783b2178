//! The dealerless DKG: honest runs give a generation that works with every k-subset and no
//! (k−1)-subset; adversarial dealers and parties (bad rows, wrong commitments, silence, two
//! deals, false complaints, bad justifications, responses rewritten after their round,
//! messages in another's name) are excluded and named, or not excluded when they did nothing
//! wrong; honest parties agree on one key whose secret no single party knows, or all refuse.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::needless_range_loop)] // test helpers panic on setup failure by design

use blsttc::poly::{BivarPoly, Poly};
use escrow::dkg::transport;
use escrow::dkg::{
    Deal, DkgConfig, Exclusion, Justification, PartyKeys, Piece, Response, Signed, deal, finish,
    finished_marker, justify, qualify, respond,
};
use escrow::hazmat::interpolate_unchecked;
use escrow::params::SetupKind;
use escrow::{AuthorityShare, KeyShare, SetupRequest, combine_identity_key};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use time::OffsetDateTime;

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("auth{i}")).collect()
}

fn config(n: usize, k: usize, rng: &mut ChaCha20Rng) -> (DkgConfig, Vec<PartyKeys>) {
    let keys: Vec<PartyKeys> = (0..n).map(|_| PartyKeys::generate(rng)).collect();
    let request = SetupRequest::new(names(n), k, OffsetDateTime::UNIX_EPOCH);
    let config = DkgConfig::new(request, &keys, rng);
    (config, keys)
}

/// A message changed by its own sender, signed again with the sender's key (what a malicious
/// participant can do).
fn resign<T: Signed>(m: T, key: &PartyKeys) -> T {
    m.signed(&key.signing).unwrap()
}

/// Every k-subset of `shares` gives the same verified key for an identity; no smaller one does.
fn check_threshold(params: &escrow::PublicParams, shares: &[AuthorityShare]) {
    let k = params.threshold();
    let id = params.identity("alice", 7).unwrap();
    let released: Vec<KeyShare> = shares
        .iter()
        .map(|s| s.release_identity_key_share(params, &id).unwrap())
        .collect();
    let n = shares.len();
    let mut first = None;
    for mask in 1u32..(1 << n) {
        let subset: Vec<KeyShare> = (0..n)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| released[i].clone())
            .collect();
        if subset.len() == k {
            let key = combine_identity_key(params, &id, &subset).unwrap();
            let bytes = key.point().to_compressed();
            assert_eq!(*first.get_or_insert(bytes), bytes);
        } else if subset.len() < k {
            assert!(combine_identity_key(params, &id, &subset).is_err());
            let forced = escrow::hazmat::identity_key_unchecked(
                id.clone(),
                interpolate_unchecked(&subset).unwrap(),
            );
            assert!(
                forced.verify(params).is_err(),
                "{} shares made a valid key",
                subset.len()
            );
        }
    }
}

#[test]
fn an_honest_run_makes_a_generation_like_a_dealers() {
    let req = SetupRequest::new(names(5), 3, OffsetDateTime::UNIX_EPOCH);
    let (params, shares, q, t) =
        escrow::dkg::run_all(&req, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
    // Anyone can recompute the result from the public transcript.
    let again_q = qualify(&t.config, &t.deals, &t.justifications).unwrap();
    assert_eq!(
        again_q.params.master_public_key(),
        params.master_public_key()
    );
    // One process ran every party: recorded as a simulation, not as a dealerless set-up.
    assert_eq!(params.setup(), SetupKind::SimulatedDkg);
    // Every message is signed by its sender, and every marker names the same transcript.
    assert!(t.deals.iter().all(|d| d.verify(&t.config)));
    assert!(t.justifications.iter().all(|j| j.verify(&t.config)));
    assert!(
        t.finished
            .iter()
            .all(|f| f.verify(&t.config) && f.transcript == t.finished[0].transcript)
    );
    assert_eq!(q.qualified.len(), 5);
    assert!(q.excluded.is_empty());
    check_threshold(&params, &shares);
    // The parameters and shares go through their files like a dealer's.
    let again = escrow::PublicParams::from_json(&params.to_json().unwrap()).unwrap();
    for s in &shares {
        let json = escrow::hazmat::export_share_json(s).unwrap();
        AuthorityShare::from_json(&json, &again).unwrap();
    }
    // And escrow works: a wrap to a scope opens with the combined key.
    let id = params.identity("bob", 3).unwrap();
    let wrap = escrow::wrap::wrap(&params, &id, &[9; 32]).unwrap();
    let ks: Vec<KeyShare> = shares[1..4]
        .iter()
        .map(|s| s.release_identity_key_share(&params, &id).unwrap())
        .collect();
    let key = combine_identity_key(&params, &id, &ks).unwrap();
    assert_eq!(escrow::unwrap(&wrap, &key).unwrap().as_slice(), &[9; 32]);
}

/// Replaces the row `dealer` sent to `party` with a row of another polynomial.
fn corrupt_row(config: &DkgConfig, deal: &mut Deal, party: usize, rng: &mut ChaCha20Rng) {
    let t = config.request.threshold - 1;
    let wrong = BivarPoly::random(t, rng).row(party as u64 + 1).to_bytes();
    let pk = transport::public_from_hex(&config.transport_keys[party]).unwrap();
    let mut aad = config.session().to_vec();
    for s in [&deal.dealer, &config.request.authorities[party]] {
        aad.extend_from_slice(&(s.len() as u16).to_be_bytes());
        aad.extend_from_slice(s.as_bytes());
    }
    deal.rows[party].ciphertext = hex::encode(transport::seal(&pk, &aad, &wrong, rng).unwrap());
}

fn corrupt_signed(
    config: &DkgConfig,
    keys: &[PartyKeys],
    deal: &mut Deal,
    party: usize,
    rng: &mut ChaCha20Rng,
) {
    corrupt_row(config, deal, party, rng);
    let dealer = config
        .request
        .authorities
        .iter()
        .position(|a| a == &deal.dealer)
        .unwrap();
    *deal = resign(deal.clone(), &keys[dealer]);
}

#[test]
fn cheaters_are_excluded_and_named_honest_parties_agree() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    // n = 7, k = 3 (t = 2): up to 3 = ⌊(n−1)/2⌋ adversarial parties.
    let (config, keys) = config(7, 3, &mut rng);
    let mut deals = Vec::new();
    let mut secrets = Vec::new();
    for j in 0..7 {
        let (d, s) = deal(&config, j, &keys[j].signing, &mut rng).unwrap();
        deals.push(d);
        secrets.push(s);
    }
    // auth0 sends a bad row to auth1 but answers the complaint honestly: kept.
    corrupt_signed(&config, &keys, &mut deals[0], 1, &mut rng);
    // auth1 sends a bad row to auth2 and then stays silent: excluded.
    corrupt_signed(&config, &keys, &mut deals[1], 2, &mut rng);
    // auth2 publishes nothing at all: excluded.
    let silent = deals.remove(2);
    drop(silent);
    // auth3 publishes two different deals: excluded.
    let (other, _) = deal(&config, 3, &keys[3].signing, &mut rng).unwrap();
    deals.push(other);
    // A deal in auth4's name signed by auth5's key is not auth4's: it counts for nothing.
    let by = |name: &str| deals.iter().find(|d| d.dealer == name).unwrap().clone();
    let mut forged = by("auth4");
    forged.commitment = by("auth5").commitment;
    let forged = resign(forged, &keys[5]);
    assert!(!forged.verify(&config));
    deals.push(forged);

    let mut responses: Vec<Response> = (0..7)
        .map(|m| respond(&config, m, &keys[m], &deals).unwrap())
        .collect();
    // auth1 also complains, falsely, about honest auth6: auth6 reveals, and is kept.
    responses[1].complaints.push("auth6".into());
    responses[1] = resign(responses[1].clone(), &keys[1]);
    assert!(responses[1].complaints.contains(&"auth0".to_owned()));
    assert!(responses[2].complaints.contains(&"auth1".to_owned()));

    let mut justifications: Vec<Justification> = Vec::new();
    for (j, s) in secrets.iter().enumerate() {
        match j {
            1 | 2 => {} // silent
            _ => justifications
                .push(justify(&config, s, &keys[j].signing, &deals, &responses).unwrap()),
        }
    }
    // A round trip through the files changes nothing.
    let deals: Vec<Deal> = deals
        .iter()
        .map(|d| Deal::from_json(&d.to_json().unwrap()).unwrap())
        .collect();

    let q = qualify(&config, &deals, &justifications).unwrap();
    assert_eq!(q.qualified, ["auth0", "auth4", "auth5", "auth6"]);
    let reasons: std::collections::BTreeMap<_, _> = q.excluded.iter().cloned().collect();
    assert_eq!(
        reasons["auth1"],
        Exclusion::Unanswered {
            party: "auth2".into()
        }
    );
    assert_eq!(
        reasons["auth1"].to_string(),
        "did not answer the complaint of auth2"
    );
    assert_eq!(reasons["auth2"], Exclusion::NoDeal);
    assert_eq!(reasons["auth3"], Exclusion::TwoDeals);

    // Every party (cheaters included: they still hold shares) gets a share of the same key.
    let mut shares = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let (qi, share) = finish(&config, i, &key.transport, &deals, &justifications).unwrap();
        assert_eq!(qi.params.master_public_key(), q.params.master_public_key());
        shares.push(share);
    }
    check_threshold(&q.params, &shares[..5]);
}

#[test]
fn a_revealed_row_that_does_not_match_excludes_the_dealer() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let (config, keys) = config(4, 2, &mut rng);
    let (mut deals, secrets): (Vec<Deal>, Vec<_>) = (0..4)
        .map(|j| deal(&config, j, &keys[j].signing, &mut rng).unwrap())
        .unzip();
    corrupt_signed(&config, &keys, &mut deals[3], 0, &mut rng);
    let responses: Vec<Response> = (0..4)
        .map(|m| respond(&config, m, &keys[m], &deals).unwrap())
        .collect();
    let mut justifications: Vec<Justification> = secrets
        .iter()
        .zip(&keys)
        .map(|(s, k)| justify(&config, s, &k.signing, &deals, &responses).unwrap())
        .collect();
    // auth3 reveals a row of another polynomial.
    let wrong: Poly = BivarPoly::random(1, &mut rng).row(1u64);
    justifications[3].rows[0].row = hex::encode(wrong.to_bytes());
    justifications[3] = resign(justifications[3].clone(), &keys[3]);
    let q = qualify(&config, &deals, &justifications).unwrap();
    assert_eq!(q.qualified, ["auth0", "auth1", "auth2"]);
    assert_eq!(
        q.excluded,
        [(
            "auth3".to_owned(),
            Exclusion::BadReveal {
                piece: Piece::Row,
                party: "auth0".into()
            }
        )]
    );
    assert_eq!(
        q.excluded[0].1.to_string(),
        "revealed a row for auth0 that does not match its commitment"
    );
    let (_, s0) = finish(&config, 0, &keys[0].transport, &deals, &justifications).unwrap();
    assert_eq!(s0.authority(), "auth0");
}

#[test]
fn a_malformed_commitment_or_another_session_is_not_counted() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let (config, keys) = config(3, 2, &mut rng);
    let (mut deals, _s): (Vec<Deal>, Vec<_>) = (0..3)
        .map(|j| deal(&config, j, &keys[j].signing, &mut rng).unwrap())
        .unzip();
    let len = deals[0].commitment.len();
    deals[0].commitment.truncate(len - 96);
    deals[0] = resign(deals[0].clone(), &keys[0]);
    deals[1].session = hex::encode([0u8; 32]);
    deals[1] = resign(deals[1].clone(), &keys[1]);
    let responses: Vec<Response> = (0..3)
        .map(|m| respond(&config, m, &keys[m], &deals).unwrap())
        .collect();
    // Unsigned (or edited after signing) messages count as absent.
    let mut unsigned = deals[2].clone();
    unsigned.signature.clear();
    assert!(!unsigned.verify(&config));
    let q = qualify(
        &config,
        &[deals[0].clone(), deals[1].clone(), unsigned],
        &[],
    )
    .unwrap_err();
    assert!(q.to_string().contains("no dealer qualified"), "{q}");
    // Reachable by input (every deal unsigned or absent): a refusal, not an internal error.
    assert!(
        matches!(
            q,
            escrow::Error::DkgRefused(escrow::dkg::DkgRefusal::NoDealerQualified { .. })
        ),
        "{q:?}"
    );
    let q = qualify(&config, &deals, &[]).unwrap();
    assert_eq!(q.qualified, ["auth2"]);
    assert_eq!(
        q.excluded[0],
        ("auth0".to_owned(), Exclusion::CommitmentDegree)
    );
    assert_eq!(q.excluded[1], ("auth1".to_owned(), Exclusion::NoDeal));
    // A response file is not a deal.
    let err = Deal::from_json(&responses[0].to_json().unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("unknown field") || err.to_string().contains("dkg-response"),
        "{err}"
    );
}

/// An honest run of the library functions, every message signed.
struct Run {
    config: DkgConfig,
    keys: Vec<PartyKeys>,
    deals: Vec<Deal>,
    secrets: Vec<escrow::dkg::DealerSecret>,
    responses: Vec<Response>,
}

fn honest(n: usize, k: usize, seed: u64) -> (Run, ChaCha20Rng) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (config, keys) = config(n, k, &mut rng);
    let (deals, secrets): (Vec<Deal>, Vec<_>) = (0..n)
        .map(|j| deal(&config, j, &keys[j].signing, &mut rng).unwrap())
        .unzip();
    let responses: Vec<Response> = (0..n)
        .map(|m| respond(&config, m, &keys[m], &deals).unwrap())
        .collect();
    (
        Run {
            config,
            keys,
            deals,
            secrets,
            responses,
        },
        rng,
    )
}

impl Run {
    fn justify_all(&self, responses: &[Response]) -> Vec<Justification> {
        self.secrets
            .iter()
            .zip(&self.keys)
            .map(|(s, k)| justify(&self.config, s, &k.signing, &self.deals, responses).unwrap())
            .collect()
    }
}

/// The review's attacks on the rounds: a response rewritten after the justifications, message
/// order and duplicates, a late deal, more than t complaints.
#[test]
fn the_result_does_not_depend_on_order_duplicates_or_late_messages() {
    let (run, mut rng) = honest(5, 3, 6);
    let (config, keys, deals) = (&run.config, &run.keys, &run.deals);
    let responses = run.responses.clone();
    let justs = run.justify_all(&responses);
    let base = qualify(config, deals, &justs).unwrap();
    assert_eq!(base.qualified.len(), 5);

    // Reversed and duplicated lists give the same result.
    let rev = |v: &[Deal]| -> Vec<Deal> { v.iter().rev().chain(v.iter()).cloned().collect() };
    let jj: Vec<Justification> = justs.iter().rev().chain(justs.iter()).cloned().collect();
    let q = qualify(config, &rev(deals), &jj).unwrap();
    assert_eq!(
        q.params.master_public_key(),
        base.params.master_public_key()
    );

    // A second, different justification excludes its dealer, in either order.
    let mut other = justs[1].clone();
    other
        .rows
        .push(serde_json::from_value(serde_json::json!({"party": "auth0", "row": "00"})).unwrap());
    let other = resign(other, &keys[1]);
    for list in [
        vec![justs[1].clone(), other.clone()],
        vec![other.clone(), justs[1].clone()],
    ] {
        let mut js = justs.clone();
        js.extend(list);
        let q = qualify(config, deals, &js).unwrap();
        assert!(
            q.excluded
                .contains(&("auth1".to_owned(), Exclusion::TwoJustifications)),
            "{:?}",
            q.excluded
        );
    }

    // A justification that leaves out a party's response is void: its dealer is excluded.
    let short = justify(
        config,
        &run.secrets[2],
        &keys[2].signing,
        deals,
        &responses[1..],
    )
    .unwrap();
    let mut js = justs.clone();
    js[2] = short;
    let q = qualify(config, deals, &js).unwrap();
    assert!(
        q.excluded
            .iter()
            .any(|(w, why)| w == "auth2" && *why == Exclusion::IncompleteJustification),
        "{:?}",
        q.excluded
    );

    // A deal nobody checked (published after the responses) counts as complained about by
    // everyone: more than t complaints, excluded — and an honest late dealer reveals nothing.
    let (late_deal, late_secret) = deal(config, 4, &keys[4].signing, &mut rng).unwrap();
    let mut deals2: Vec<Deal> = deals[..4].to_vec();
    let responses2: Vec<Response> = (0..5)
        .map(|m| respond(config, m, &keys[m], &deals2).unwrap())
        .collect();
    deals2.push(late_deal);
    let j4 = justify(config, &late_secret, &keys[4].signing, &deals2, &responses2).unwrap();
    assert!(
        j4.rows.is_empty(),
        "revealed rows despite more than t complaints"
    );
    let q = qualify(config, &deals2, std::slice::from_ref(&j4)).unwrap();
    assert!(
        q.excluded.contains(&(
            "auth4".to_owned(),
            Exclusion::TooManyComplaints {
                count: 5,
                bound: "t",
                degree: 2
            }
        )),
        "{:?}",
        q.excluded
    );
    // Every party still gets a share of the same key.
    for (i, k) in keys.iter().enumerate() {
        let (qi, _) = finish(config, i, &k.transport, &deals2, std::slice::from_ref(&j4)).unwrap();
        assert_eq!(qi.params.master_public_key(), q.params.master_public_key());
    }
}

/// Outside review, 2026-12, finding 1: with alice, bob and mallory (2 of 3), mallory rewrote
/// its response after the justification round to complain about both honest dealers, so that
/// every finish excluded them and mallory alone made the key. The complaints that count are
/// those the justifications answered: the rewrite counts for nothing.
#[test]
fn a_response_rewritten_after_the_justifications_counts_for_nothing() {
    let (run, _) = honest(3, 2, 11);
    let justs = run.justify_all(&run.responses);
    let mut late = run.responses[2].clone();
    late.complaints = vec!["auth0".into(), "auth1".into()];
    let late = resign(late, &run.keys[2]);
    assert!(late.verify(&run.config), "mallory can sign what it likes");
    // Whatever is on the board now, finish and qualify take the answered responses.
    let q = qualify(&run.config, &run.deals, &justs).unwrap();
    assert_eq!(q.qualified, ["auth0", "auth1", "auth2"]);
    for i in 0..3 {
        let (qi, _) = finish(&run.config, i, &run.keys[i].transport, &run.deals, &justs).unwrap();
        assert_eq!(qi.qualified, q.qualified);
    }
    // Had mallory shown the rewritten response to one dealer and the first to the other
    // (equivocation), both are carried: it signed two different responses, its complaints are
    // void and it is excluded.
    let mut seen_by_1 = run.responses.clone();
    seen_by_1[2] = late;
    let mut js = justs.clone();
    js[1] = justify(
        &run.config,
        &run.secrets[1],
        &run.keys[1].signing,
        &run.deals,
        &seen_by_1,
    )
    .unwrap();
    let q = qualify(&run.config, &run.deals, &js).unwrap();
    assert_eq!(q.qualified, ["auth0", "auth1"]);
    assert_eq!(q.excluded, [("auth2".to_owned(), Exclusion::TwoResponses)]);
}

/// What an adversarial participant does in one run (chosen by the proptest).
#[derive(Clone, Debug)]
enum Misbehaviour {
    Honest,
    /// Sends a bad row to one party.
    BadRow(usize),
    /// Shows one deal to some parties and another deal to the others.
    TwoDeals(Vec<bool>),
    /// Complains falsely about the dealers in the mask.
    FalseComplaints(Vec<bool>),
    /// Shows a response with complaints about everyone to the dealers in the mask.
    EquivocatingResponse(Vec<bool>),
    /// Publishes no deal.
    NoDeal,
    /// Does not justify.
    Silent,
    /// Reveals a wrong row in its justification.
    BadJustification,
}

fn misbehaviour(n: usize) -> impl Strategy<Value = Misbehaviour> {
    prop_oneof![
        Just(Misbehaviour::Honest),
        (0..n).prop_map(Misbehaviour::BadRow),
        prop::collection::vec(any::<bool>(), n).prop_map(Misbehaviour::TwoDeals),
        prop::collection::vec(any::<bool>(), n).prop_map(Misbehaviour::FalseComplaints),
        prop::collection::vec(any::<bool>(), n).prop_map(Misbehaviour::EquivocatingResponse),
        Just(Misbehaviour::NoDeal),
        Just(Misbehaviour::Silent),
        Just(Misbehaviour::BadJustification),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn dkg_output_works_with_every_k_subset_and_no_smaller(
        (n, k) in (2usize..=6).prop_flat_map(|n| (Just(n), 1..=n)),
        seed in any::<[u8; 32]>(),
    ) {
        let req = SetupRequest::new(names(n), k, OffsetDateTime::UNIX_EPOCH);
        let (params, shares, q, _) = escrow::dkg::run_all(&req, &mut ChaCha20Rng::from_seed(seed)).unwrap();
        prop_assert_eq!(q.qualified.len(), n);
        check_threshold(&params, &shares);
    }

    /// Random adversarial schedules with one malicious participant (n ≥ 2t + 1): the honest
    /// parties either agree — same transcript, same key, every honest dealer qualified (so no
    /// single party knows the secret), and k honest shares open a scope — or their markers
    /// differ and the installation refuses. Never a key made by the adversary alone.
    #[test]
    fn honest_parties_agree_on_a_key_no_one_knows_or_all_refuse(
        (n, k, bad, how) in (3usize..=5)
            .prop_flat_map(|n| (Just(n), 2..=(n - 1) / 2 + 1, 0..n, misbehaviour(n))),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (config, keys) = config(n, k, &mut rng);
        let mut secrets = Vec::new();
        // Each party's view of the deals (the adversary may show different ones).
        let mut dealt = Vec::new();
        for j in 0..n {
            let (d, s) = deal(&config, j, &keys[j].signing, &mut rng).unwrap();
            dealt.push(d);
            secrets.push(s);
        }
        let mut views: Vec<Vec<Deal>> = vec![dealt.clone(); n];
        match &how {
            Misbehaviour::BadRow(p) if *p != bad => {
                let mut d = dealt[bad].clone();
                corrupt_signed(&config, &keys, &mut d, *p, &mut rng);
                for v in &mut views { v[bad] = d.clone(); }
            }
            Misbehaviour::TwoDeals(mask) => {
                let (other, _) = deal(&config, bad, &keys[bad].signing, &mut rng).unwrap();
                for (p, v) in views.iter_mut().enumerate() {
                    if mask[p] { v[bad] = other.clone(); }
                }
            }
            Misbehaviour::NoDeal => {
                for v in &mut views { v.remove(bad); }
            }
            _ => {}
        }
        let mut responses: Vec<Response> = (0..n)
            .map(|m| respond(&config, m, &keys[m], &views[m]).unwrap())
            .collect();
        let mut shown: Vec<Vec<Response>> = vec![responses.clone(); n];
        match &how {
            Misbehaviour::FalseComplaints(mask) => {
                let mut r = responses[bad].clone();
                r.complaints = (0..n).filter(|d| mask[*d] && *d != bad).map(|d| format!("auth{d}")).collect();
                responses[bad] = resign(r, &keys[bad]);
                for s in &mut shown { s[bad] = responses[bad].clone(); }
            }
            Misbehaviour::EquivocatingResponse(mask) => {
                let mut r = responses[bad].clone();
                r.complaints = (0..n).filter(|d| *d != bad).map(|d| format!("auth{d}")).collect();
                let r = resign(r, &keys[bad]);
                for (d, s) in shown.iter_mut().enumerate() {
                    if mask[d] { s[bad] = r.clone(); }
                }
            }
            _ => {}
        }
        let mut justs = Vec::new();
        for j in 0..n {
            if j == bad && matches!(how, Misbehaviour::Silent | Misbehaviour::NoDeal) {
                continue;
            }
            let mut js = justify(&config, &secrets[j], &keys[j].signing, &views[j], &shown[j]).unwrap();
            if j == bad && matches!(how, Misbehaviour::BadJustification) {
                let wrong: Poly = BivarPoly::random(k - 1, &mut rng).row(1u64);
                js.rows.push(serde_json::from_value(serde_json::json!(
                    {"party": "auth0", "row": hex::encode(wrong.to_bytes())})).unwrap());
                js = resign(js, &keys[bad]);
            }
            justs.push(js);
        }
        // Every honest party finishes from its own view of the deals.
        let mut results = Vec::new();
        for i in (0..n).filter(|i| *i != bad) {
            let Ok((q, share)) = finish(&config, i, &keys[i].transport, &views[i], &justs) else {
                // A party that cannot finish refuses (installation needs every marker).
                results.push(None);
                continue;
            };
            let marker = finished_marker(&config, i, &keys[i].signing, &q, &views[i], &justs).unwrap();
            results.push(Some((q, share, marker)));
        }
        let agree = results.iter().all(|r| r.as_ref().is_some_and(|(q, _, m)| {
            let (q0, _, m0) = results[0].as_ref().unwrap();
            m.transcript == m0.transcript && m.master_public_key == m0.master_public_key
                && q.qualified == q0.qualified
        }));
        if agree {
            let (q, _, _) = results[0].as_ref().unwrap();
            for h in (0..n).filter(|h| *h != bad) {
                prop_assert!(q.qualified.contains(&format!("auth{h}")),
                    "honest auth{} excluded under {:?}: {:?}", h, how, q.excluded);
            }
            let id = q.params.identity("alice", 1).unwrap();
            let ks: Vec<KeyShare> = results[..k].iter()
                .map(|r| r.as_ref().unwrap().1.release_identity_key_share(&q.params, &id).unwrap())
                .collect();
            prop_assert!(combine_identity_key(&q.params, &id, &ks).is_ok());
        } else {
            // Different markers: no installation (the board compares every marker).
            prop_assert!(matches!(how, Misbehaviour::TwoDeals(_)), "disagreement under {:?}", how);
        }
    }
}
