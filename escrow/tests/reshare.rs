//! The resharing protocol under random adversarial schedules: one malicious old dealer (of n
//! old authorities, k of which must deal) misbehaves in a random round. The honest new
//! authorities either agree on a sharing of the same master key — k' of their shares open a
//! scope, fewer do not — or all refuse; never a sharing of another secret.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use escrow::dkg::reshare::{
    ReshareConfig, commitment_digest, deal, finish, finished_marker, justify, respond,
};
use escrow::dkg::{PartyKeys, Signed, transport};
use escrow::{KeyShare, SetupRequest, combine_identity_key};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use time::OffsetDateTime;

#[derive(Clone, Debug)]
enum Misbehaviour {
    Honest,
    /// A wrong value to one new authority (answered honestly in the justification).
    WrongValue(usize),
    /// A wrong value to one new authority, and no justification.
    WrongValueSilent(usize),
    /// A polynomial hiding another authority's share.
    NotItsShare,
    /// No deal.
    NoDeal,
    /// Two different deals, shown to different new authorities.
    TwoDeals(Vec<bool>),
}

fn misbehaviour(n2: usize) -> impl Strategy<Value = Misbehaviour> {
    prop_oneof![
        Just(Misbehaviour::Honest),
        (0..n2).prop_map(Misbehaviour::WrongValue),
        (0..n2).prop_map(Misbehaviour::WrongValueSilent),
        Just(Misbehaviour::NotItsShare),
        Just(Misbehaviour::NoDeal),
        prop::collection::vec(any::<bool>(), n2).prop_map(Misbehaviour::TwoDeals),
    ]
}

/// Replaces the value `deal` carries for new authority `m` with a random scalar's encryption.
fn corrupt(config: &ReshareConfig, d: &mut escrow::dkg::Deal, m: usize, rng: &mut ChaCha20Rng) {
    let to = &config.to[m];
    let i = config.parties.iter().position(|p| p == to).unwrap();
    let pk = transport::public_from_hex(&config.transport_keys[i]).unwrap();
    let mut aad = config.session().to_vec();
    for s in [&d.dealer, to] {
        aad.extend_from_slice(&(s.len() as u16).to_be_bytes());
        aad.extend_from_slice(s.as_bytes());
    }
    let mut v = [0u8; 32];
    v[31] = 7;
    d.rows[m].ciphertext = hex::encode(transport::seal(&pk, &aad, &v, rng).unwrap());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn honest_new_authorities_agree_on_the_same_key_or_all_refuse(
        (n, k) in (3usize..=5).prop_flat_map(|n| (Just(n), 2..=(n - 1))),
        (n2, k2) in (3usize..=4).prop_flat_map(|n| (Just(n), 2..=n - 1)),
        bad_dealer in 0usize..5,
        how in misbehaviour(4),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let names: Vec<String> = (0..n).map(|i| format!("o{i}")).collect();
        let (old, shares) = escrow::dealer_setup(
            &SetupRequest::new(names.clone(), k, OffsetDateTime::UNIX_EPOCH),
            &mut rng,
        ).unwrap();
        let bad_dealer = bad_dealer % n;
        let to: Vec<String> = (0..n2).map(|i| format!("n{i}")).collect();
        let mut config = ReshareConfig::propose(old.clone(), names.clone(), to.clone(), k2, &mut rng).unwrap();
        let keys: Vec<PartyKeys> = config.parties.iter().map(|_| PartyKeys::generate(&mut rng)).collect();
        config.transport_keys = keys.iter().map(|k| k.transport.public_hex()).collect();
        config.signing_keys = keys.iter().map(|k| k.signing.public_hex()).collect();
        let key = |name: &str| &keys[config.parties.iter().position(|p| p == name).unwrap()];
        // Each new authority's view of the deals.
        let mut views: Vec<Vec<escrow::dkg::Deal>> = vec![Vec::new(); n2];
        let mut secrets = Vec::new();
        for s in &shares {
            let dealer = s.authority().to_owned();
            let (mut d, sec) = deal(&config, s, &key(&dealer).signing, &mut rng).unwrap();
            let is_bad = dealer == names[bad_dealer];
            let mut other = None;
            if is_bad {
                match &how {
                    Misbehaviour::WrongValue(m) | Misbehaviour::WrongValueSilent(m) if *m < n2 => {
                        corrupt(&config, &mut d, *m, &mut rng);
                        d = d.signed(&key(&dealer).signing).unwrap();
                    }
                    Misbehaviour::NotItsShare => {
                        let other_share = &shares[(bad_dealer + 1) % n];
                        let (mut d2, _) = deal(&config, other_share, &key(other_share.authority()).signing, &mut rng).unwrap();
                        d2.dealer = dealer.clone();
                        d = d2.signed(&key(&dealer).signing).unwrap();
                    }
                    Misbehaviour::TwoDeals(_) => {
                        other = Some(deal(&config, s, &key(&dealer).signing, &mut rng).unwrap().0);
                    }
                    _ => {}
                }
            }
            for (m, v) in views.iter_mut().enumerate() {
                if is_bad && matches!(how, Misbehaviour::NoDeal) {
                    continue;
                }
                match (&how, &other) {
                    (Misbehaviour::TwoDeals(mask), Some(o)) if is_bad && mask[m] => v.push(o.clone()),
                    _ => v.push(d.clone()),
                }
            }
            secrets.push((dealer, sec));
        }
        let responses: Vec<_> = to.iter().enumerate()
            .map(|(m, b)| respond(&config, b, key(b), &views[m]).unwrap())
            .collect();
        let mut justs = Vec::new();
        for (dealer, sec) in &secrets {
            let silent = dealer == &names[bad_dealer]
                && matches!(how, Misbehaviour::WrongValueSilent(_) | Misbehaviour::NoDeal);
            if !silent {
                // A dealer's own view of its deals is the board's first copy.
                let board: Vec<escrow::dkg::Deal> = views[0].clone();
                justs.push(justify(&config, dealer, sec, &key(dealer).signing, &board, &responses).unwrap());
            }
        }
        let mut results = Vec::new();
        for (m, b) in to.iter().enumerate() {
            match finish(&config, b, &key(b).transport, &views[m], &justs) {
                Ok((r, share)) => {
                    let marker = finished_marker(&config, b, &key(b).signing, &r, &views[m], &justs).unwrap();
                    results.push(Some((r, share, marker)));
                }
                Err(_) => results.push(None),
            }
        }
        let agree = results.iter().all(|r| r.as_ref().is_some_and(|(_, _, mk)| {
            let m0 = &results[0].as_ref().unwrap().2;
            mk.transcript == m0.transcript && mk.master_public_key == m0.master_public_key
        }));
        if agree {
            let (r, _, marker) = results[0].as_ref().unwrap();
            prop_assert_eq!(r.params.master_public_key(), old.master_public_key());
            prop_assert_eq!(&marker.master_public_key, &commitment_digest(&r.params));
            let id = old.identity("alice", 2).unwrap();
            let ks: Vec<KeyShare> = results.iter().map(|x| {
                let (r, s, _) = x.as_ref().unwrap();
                s.release_identity_key_share(&r.params, &id).unwrap()
            }).collect();
            let before: Vec<KeyShare> = shares[..k].iter()
                .map(|s| s.release_identity_key_share(&old, &id).unwrap()).collect();
            let want = combine_identity_key(&old, &id, &before).unwrap();
            let got = combine_identity_key(&r.params, &id, &ks[..k2]).unwrap();
            prop_assert_eq!(got.point(), want.point());
            prop_assert!(combine_identity_key(&r.params, &id, &ks[..k2 - 1]).is_err());
        } else {
            // Disagreement only from a dealer that showed two deals, or too few dealers left:
            // nothing is revoked, the old sharing stays in force.
            prop_assert!(
                matches!(how, Misbehaviour::TwoDeals(_)) || results.iter().all(Option::is_none),
                "disagreement under {:?}", how
            );
        }
    }
}
