//! The dealerless DKG: honest runs give a generation that works with every k-subset and no
//! (k−1)-subset; adversarial dealers and parties (bad rows, wrong commitments, silence, two
//! deals, false complaints, bad justifications) are excluded and named, or not excluded when
//! they did nothing wrong; honest parties always agree on the same key.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use blsttc::poly::{BivarPoly, Poly};
use escrow::dkg::transport::{self, TransportKey};
use escrow::dkg::{
    Deal, DkgConfig, Justification, Response, deal, finish, justify, qualify, respond,
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

fn config(n: usize, k: usize, rng: &mut ChaCha20Rng) -> (DkgConfig, Vec<TransportKey>) {
    let keys: Vec<TransportKey> = (0..n).map(|_| TransportKey::generate(rng)).collect();
    let request = SetupRequest::new(names(n), k, OffsetDateTime::UNIX_EPOCH);
    let config = DkgConfig::new(
        request,
        keys.iter().map(TransportKey::public_hex).collect(),
        rng,
    );
    (config, keys)
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
    let cfg = DkgConfig {
        request: req.clone(),
        transport_keys: t.transport_keys.clone(),
        nonce: t.nonce.clone(),
    };
    let again_q = qualify(&cfg, &t.deals, &t.responses, &t.justifications).unwrap();
    assert_eq!(
        again_q.params.master_public_key(),
        params.master_public_key()
    );
    assert_eq!(params.setup(), SetupKind::JointFeldmanDkg);
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

#[test]
fn cheaters_are_excluded_and_named_honest_parties_agree() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    // n = 7, k = 3 (t = 2): up to 3 = ⌊(n−1)/2⌋ adversarial parties.
    let (config, keys) = config(7, 3, &mut rng);
    let mut deals = Vec::new();
    let mut secrets = Vec::new();
    for j in 0..7 {
        let (d, s) = deal(&config, j, &mut rng).unwrap();
        deals.push(d);
        secrets.push(s);
    }
    // auth0 sends a bad row to auth1 but answers the complaint honestly: kept.
    corrupt_row(&config, &mut deals[0], 1, &mut rng);
    // auth1 sends a bad row to auth2 and then stays silent: excluded.
    corrupt_row(&config, &mut deals[1], 2, &mut rng);
    // auth2 publishes nothing at all: excluded.
    let silent = deals.remove(2);
    drop(silent);
    // auth3 publishes two different deals: excluded.
    let (other, _) = deal(&config, 3, &mut rng).unwrap();
    deals.push(other);

    let mut responses: Vec<Response> = (0..7)
        .map(|m| respond(&config, m, &keys[m], &deals).unwrap())
        .collect();
    // auth1 also complains, falsely, about honest auth6: auth6 reveals, and is kept.
    responses[1].complaints.push("auth6".into());
    assert!(responses[1].complaints.contains(&"auth0".to_owned()));
    assert!(responses[2].complaints.contains(&"auth1".to_owned()));

    let mut justifications: Vec<Justification> = Vec::new();
    for (j, s) in secrets.iter().enumerate() {
        match j {
            1 | 2 => {} // silent
            _ => justifications.push(justify(&config, s, &deals, &responses).unwrap()),
        }
    }
    // A round trip through the files changes nothing.
    let deals: Vec<Deal> = deals
        .iter()
        .map(|d| Deal::from_json(&d.to_json().unwrap()).unwrap())
        .collect();

    let q = qualify(&config, &deals, &responses, &justifications).unwrap();
    assert_eq!(q.qualified, ["auth0", "auth4", "auth5", "auth6"]);
    let reasons: std::collections::BTreeMap<_, _> = q.excluded.iter().cloned().collect();
    assert_eq!(reasons["auth1"], "did not answer the complaint of auth2");
    assert_eq!(reasons["auth2"], "published no deal");
    assert_eq!(reasons["auth3"], "published two different deals");

    // Every party (cheaters included: they still hold shares) gets a share of the same key.
    let mut shares = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let (qi, share) = finish(&config, i, key, &deals, &responses, &justifications).unwrap();
        assert_eq!(qi.params.master_public_key(), q.params.master_public_key());
        shares.push(share);
    }
    check_threshold(&q.params, &shares[..5]);
}

#[test]
fn a_revealed_row_that_does_not_match_excludes_the_dealer() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let (config, keys) = config(4, 2, &mut rng);
    let (mut deals, secrets): (Vec<Deal>, Vec<_>) =
        (0..4).map(|j| deal(&config, j, &mut rng).unwrap()).unzip();
    corrupt_row(&config, &mut deals[3], 0, &mut rng);
    let responses: Vec<Response> = (0..4)
        .map(|m| respond(&config, m, &keys[m], &deals).unwrap())
        .collect();
    let mut justifications: Vec<Justification> = secrets
        .iter()
        .map(|s| justify(&config, s, &deals, &responses).unwrap())
        .collect();
    // auth3 reveals a row of another polynomial.
    let wrong: Poly = BivarPoly::random(1, &mut rng).row(1u64);
    justifications[3].rows[0].row = hex::encode(wrong.to_bytes());
    let q = qualify(&config, &deals, &responses, &justifications).unwrap();
    assert_eq!(q.qualified, ["auth0", "auth1", "auth2"]);
    assert_eq!(
        q.excluded,
        [(
            "auth3".to_owned(),
            "revealed a row for auth0 that does not match its commitment".to_owned()
        )]
    );
    let (_, s0) = finish(&config, 0, &keys[0], &deals, &responses, &justifications).unwrap();
    assert_eq!(s0.authority(), "auth0");
}

#[test]
fn a_malformed_commitment_or_another_session_is_not_counted() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let (config, keys) = config(3, 2, &mut rng);
    let (mut deals, _s): (Vec<Deal>, Vec<_>) =
        (0..3).map(|j| deal(&config, j, &mut rng).unwrap()).unzip();
    let len = deals[0].commitment.len();
    deals[0].commitment.truncate(len - 96);
    deals[1].session = hex::encode([0u8; 32]);
    let responses: Vec<Response> = (0..3)
        .map(|m| respond(&config, m, &keys[m], &deals).unwrap())
        .collect();
    let q = qualify(&config, &deals, &responses, &[]).unwrap();
    assert_eq!(q.qualified, ["auth2"]);
    assert_eq!(
        q.excluded[0],
        (
            "auth0".to_owned(),
            "commitment of the wrong degree".to_owned()
        )
    );
    assert_eq!(
        q.excluded[1],
        ("auth1".to_owned(), "published no deal".to_owned())
    );
    // A response file is not a deal.
    let err = Deal::from_json(&responses[0].to_json().unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("unknown field") || err.to_string().contains("dkg-response"),
        "{err}"
    );
}

/// The review's attacks on the rounds: a second response after the justifications, message
/// order and duplicates, a late deal, more than t complaints.
#[test]
fn the_result_does_not_depend_on_order_duplicates_or_late_messages() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let (config, keys) = config(5, 3, &mut rng);
    let (deals, secrets): (Vec<Deal>, Vec<_>) =
        (0..5).map(|j| deal(&config, j, &mut rng).unwrap()).unzip();
    let responses: Vec<Response> = (0..5)
        .map(|m| respond(&config, m, &keys[m], &deals).unwrap())
        .collect();
    let justs: Vec<Justification> = secrets
        .iter()
        .map(|s| justify(&config, s, &deals, &responses).unwrap())
        .collect();
    let base = qualify(&config, &deals, &responses, &justs).unwrap();
    assert_eq!(base.qualified.len(), 5);

    // auth0 posts a second response after the justifications, complaining about everyone:
    // its responses are void, nobody is excluded.
    let mut late = responses[0].clone();
    late.complaints = (1..5).map(|i| format!("auth{i}")).collect();
    let mut with_late = responses.clone();
    with_late.push(late);
    let q = qualify(&config, &deals, &with_late, &justs).unwrap();
    assert_eq!(q.qualified, base.qualified);
    assert_eq!(
        q.params.master_public_key(),
        base.params.master_public_key()
    );

    // Reversed and duplicated lists give the same result.
    let rev = |v: &[Deal]| -> Vec<Deal> { v.iter().rev().chain(v.iter()).cloned().collect() };
    let rr: Vec<Response> = responses
        .iter()
        .rev()
        .chain(responses.iter())
        .cloned()
        .collect();
    let jj: Vec<Justification> = justs.iter().rev().chain(justs.iter()).cloned().collect();
    let q = qualify(&config, &rev(&deals), &rr, &jj).unwrap();
    assert_eq!(
        q.params.master_public_key(),
        base.params.master_public_key()
    );

    // A second, different justification excludes its dealer, in either order.
    let mut other = justs[1].clone();
    other
        .rows
        .push(serde_json::from_value(serde_json::json!({"party": "auth0", "row": "00"})).unwrap());
    for list in [
        vec![justs[1].clone(), other.clone()],
        vec![other.clone(), justs[1].clone()],
    ] {
        let mut js = justs.clone();
        js.extend(list);
        let q = qualify(&config, &deals, &responses, &js).unwrap();
        assert!(
            q.excluded.contains(&(
                "auth1".to_owned(),
                "published two different justifications".to_owned()
            )),
            "{:?}",
            q.excluded
        );
    }

    // A deal nobody checked (published after the responses) counts as complained about by
    // everyone: more than t complaints, excluded — and an honest late dealer reveals nothing.
    let (late_deal, late_secret) = deal(&config, 4, &mut rng).unwrap();
    let mut deals2: Vec<Deal> = deals[..4].to_vec();
    let responses2: Vec<Response> = (0..5)
        .map(|m| respond(&config, m, &keys[m], &deals2).unwrap())
        .collect();
    deals2.push(late_deal);
    let j4 = justify(&config, &late_secret, &deals2, &responses2).unwrap();
    assert!(
        j4.rows.is_empty(),
        "revealed rows despite more than t complaints"
    );
    let q = qualify(&config, &deals2, &responses2, &[j4]).unwrap();
    assert!(
        q.excluded.contains(&(
            "auth4".to_owned(),
            "5 complaints, more than t = 2".to_owned()
        )),
        "{:?}",
        q.excluded
    );
    // Every party still gets a share of the same key.
    for (i, k) in keys.iter().enumerate() {
        let (qi, _) = finish(&config, i, k, &deals2, &responses2, &[]).unwrap();
        assert_eq!(qi.params.master_public_key(), q.params.master_public_key());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

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
}
