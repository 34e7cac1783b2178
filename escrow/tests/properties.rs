//! Property tests of the invariants of design.md §4: any k of n shares release the key and
//! k−1 never do; a key for (account, epoch) opens nothing else; any one-bit tamper of a wrap is
//! rejected; a forged share is detected and attributed to its authority.
//!
//! RustCrypto/blsttc randomness is seeded from proptest-generated 32-byte seeds through
//! `rand_chacha`, so every failure is reproducible.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use escrow::hazmat::{identity_key_unchecked, interpolate_unchecked, replace_share_value};
use escrow::{
    AuthorityShare, Error, KeyShare, PublicParams, ScopeIdentity, SetupRequest, Wrap,
    combine_identity_key, combine_warrant_signature, dealer_setup, ibe, unwrap, verify_wrap,
};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use time::OffsetDateTime;

const NAMES: [&str; 10] = [
    "court",
    "ministry",
    "oversight",
    "provider",
    "ombudsman",
    "senate",
    "privacy-board",
    "bar",
    "auditor-general",
    "un-rapporteur",
];

fn generation(n: usize, k: usize, seed: [u8; 32]) -> (PublicParams, Vec<AuthorityShare>) {
    let names = NAMES[..n].iter().map(|s| s.to_string()).collect();
    let req = SetupRequest::new(names, k, OffsetDateTime::UNIX_EPOCH);
    dealer_setup(&req, &mut ChaCha20Rng::from_seed(seed)).unwrap()
}

fn key32(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut k = [0u8; 32];
    rng.fill_bytes(&mut k);
    k
}

/// The subsets of 0..n as bit masks.
fn subsets(n: usize) -> impl Iterator<Item = Vec<usize>> {
    (0u32..1 << n).map(move |m| (0..n).filter(|i| m & (1 << i) != 0).collect())
}

fn pick(shares: &[KeyShare], idx: &[usize]) -> Vec<KeyShare> {
    idx.iter().map(|&i| shares[i].clone()).collect()
}

fn account() -> impl Strategy<Value = String> {
    "[a-z0-9_@-][a-z0-9._@-]{0,63}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_k_shares_release_the_key_and_k_minus_1_never_do(
        (n, k) in (2usize..=10).prop_flat_map(|n| (Just(n), 1..=n)),
        seed in any::<[u8; 32]>(),
        epoch in any::<u64>(),
        account in account(),
    ) {
        let (params, auth) = generation(n, k, seed);
        let id = params.identity(&account, epoch).unwrap();
        let mut rng = ChaCha20Rng::from_seed(seed);
        let chain_key = key32(&mut rng);
        let wrap = escrow::wrap::wrap(&params, &id, &chain_key).unwrap();
        let shares: Vec<KeyShare> = auth
            .iter()
            .map(|a| a.release_identity_key_share(&params, &id).unwrap())
            .collect();

        // The checked API on one random k-subset (rotated start) releases a verified key.
        let start = (rng.next_u32() as usize) % n;
        let first: Vec<usize> = (0..k).map(|i| (start + i) % n).collect();
        let key = combine_identity_key(&params, &id, &pick(&shares, &first)).unwrap();
        let opened = unwrap(&wrap, &key).unwrap();
        prop_assert_eq!(opened.as_slice(), chain_key.as_slice());

        for subset in subsets(n) {
            let point = interpolate_unchecked(&pick(&shares, &subset)).unwrap();
            if subset.len() >= k {
                // Every subset of at least k shares gives exactly the same key.
                prop_assert_eq!(&point, key.point(), "subset {:?}", subset);
            } else {
                // Fewer than k shares interpolate to a point that is not the key…
                prop_assert_ne!(&point, key.point(), "subset {:?}", subset);
                if subset.len() + 1 == k {
                    // …which fails the pairing check and opens nothing, and the checked API
                    // refuses outright.
                    let forced = identity_key_unchecked(id.clone(), point);
                    prop_assert!(forced.verify(&params).is_err());
                    prop_assert!(unwrap(&wrap, &forced).is_err());
                    let refused = combine_identity_key(&params, &id, &pick(&shares, &subset));
                    let is_not_enough = matches!(
                        refused,
                        Err(Error::NotEnoughShares { valid, required, .. })
                            if valid == k - 1 && required == k
                    );
                    prop_assert!(is_not_enough);
                }
            }
        }
    }

    #[test]
    fn a_scope_key_opens_nothing_else(
        seed in any::<[u8; 32]>(),
        epoch in 0u64..u64::MAX,
        account in account(),
        other in account(),
    ) {
        prop_assume!(account != other);
        let (params, auth) = generation(5, 3, seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let id = params.identity(&account, epoch).unwrap();
        let shares: Vec<KeyShare> = auth[..3]
            .iter()
            .map(|a| a.release_identity_key_share(&params, &id).unwrap())
            .collect();
        let key = combine_identity_key(&params, &id, &shares).unwrap();

        let realm = params.realm();
        let g = params.generation();
        let neighbours = [
            ScopeIdentity::new(realm, g, epoch + 1, &account).unwrap(),
            ScopeIdentity::new(realm, g, epoch.wrapping_sub(1), &account).unwrap(),
            ScopeIdentity::new(realm, g, epoch, &other).unwrap(),
            ScopeIdentity::new(realm, g + 1, epoch, &account).unwrap(),
            ScopeIdentity::new("another-realm", g, epoch, &account).unwrap(),
        ];
        for n in &neighbours {
            // Encrypt under the same master key to the neighbouring identity point.
            let k = key32(&mut rng);
            let sigma = key32(&mut rng);
            let ct = ibe::encrypt(params.master_public_key(), &n.point(), &k, &sigma).unwrap();
            prop_assert!(ibe::decrypt(&ct, key.point()).is_err(), "{:?}", n);
        }
        // And a neighbouring day wrapped through the normal API.
        let next_day = params.identity(&account, epoch.wrapping_add(1)).unwrap();
        let w = escrow::wrap::wrap(&params, &next_day, &key32(&mut rng)).unwrap();
        prop_assert!(unwrap(&w, &key).is_err());

        // The same scope in another generation (a fresh master key) stays shut too.
        let (params2, _) = generation(5, 3, key32(&mut rng));
        let id2 = params2.identity(&account, epoch).unwrap();
        let w2 = escrow::wrap::wrap(&params2, &id2, &key32(&mut rng)).unwrap();
        prop_assert!(unwrap(&w2, &key).is_err());
    }

    #[test]
    fn any_one_bit_tamper_of_a_wrap_is_rejected(
        seed in any::<[u8; 32]>(),
        bit in 0usize..escrow::wrap::WRAP_LEN * 8,
    ) {
        let (params, auth) = generation(3, 2, seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let id = params.identity("alice", 20_000).unwrap();
        let k = key32(&mut rng);
        let wrap = escrow::wrap::wrap(&params, &id, &k).unwrap();
        prop_assert!(verify_wrap(&params, &id, &k, &wrap).is_ok());
        let mut bytes = wrap.to_bytes();
        bytes[bit / 8] ^= 1 << (bit % 8);
        match Wrap::from_bytes(&bytes) {
            Err(_) => {} // U no longer a valid subgroup point: rejected at parse
            Ok(tampered) => {
                prop_assert!(verify_wrap(&params, &id, &k, &tampered).is_err());
                let shares: Vec<KeyShare> = auth[..2]
                    .iter()
                    .map(|a| a.release_identity_key_share(&params, &id).unwrap())
                    .collect();
                let key = combine_identity_key(&params, &id, &shares).unwrap();
                prop_assert!(unwrap(&tampered, &key).is_err());
            }
        }
    }

    #[test]
    fn a_forged_share_is_detected_and_attributed(
        (n, k) in (2usize..=7).prop_flat_map(|n| (Just(n), 1..=n)),
        seed in any::<[u8; 32]>(),
        victim_pick in any::<prop::sample::Index>(),
    ) {
        let (params, auth) = generation(n, k, seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let id = params.identity("bob", 7).unwrap();
        let mut shares: Vec<KeyShare> = auth
            .iter()
            .map(|a| a.release_identity_key_share(&params, &id).unwrap())
            .collect();
        let victim = victim_pick.index(n);
        // A valid curve point that is not this authority's share.
        let bogus = blsttc::G2Projective::hash_to_curve(&key32(&mut rng), b"forgery", &[]);
        let bogus: blsttc::G2Affine = bogus.into();
        shares[victim] = replace_share_value(&shares[victim], bogus.to_compressed()).unwrap();
        match combine_identity_key(&params, &id, &shares) {
            Err(Error::InvalidShare { authority }) => prop_assert_eq!(authority, NAMES[victim]),
            other => prop_assert!(false, "expected InvalidShare, got {:?}", other),
        }
        // The forged share alone fails verification; the honest ones pass.
        for (i, s) in shares.iter().enumerate() {
            prop_assert_eq!(s.verify(&params).is_ok(), i != victim);
        }
        // Without the forged share, k honest shares still work when n − 1 ≥ k.
        let honest: Vec<KeyShare> =
            shares.iter().enumerate().filter(|(i, _)| *i != victim).map(|(_, s)| s.clone()).collect();
        prop_assert_eq!(combine_identity_key(&params, &id, &honest).is_ok(), n > k);
    }

    #[test]
    fn warrant_signatures_need_k_and_never_serve_as_identity_keys(
        (n, k) in (2usize..=6).prop_flat_map(|n| (Just(n), 1..=n)),
        seed in any::<[u8; 32]>(),
        digest in any::<[u8; 32]>(),
    ) {
        let (params, auth) = generation(n, k, seed);
        let shares: Vec<KeyShare> = auth.iter().map(|a| a.sign_warrant(&digest).unwrap()).collect();
        let sig = combine_warrant_signature(&params, &digest, &shares[..k]).unwrap();
        prop_assert!(sig.verify(&params).is_ok());
        prop_assert!(combine_warrant_signature(&params, &digest, &shares[..k - 1]).is_err());
        let mut other = digest;
        other[0] ^= 1;
        prop_assert!(combine_warrant_signature(&params, &other, &shares[..k]).is_err());
        // The approval signature is not the identity key of any scope we can name, including
        // one whose account spells the digest.
        let id = params.identity(&hex::encode(&digest[..16]), 0).unwrap();
        let as_key = identity_key_unchecked(
            id,
            escrow::encoding::g2_from_bytes("sig", &sig.to_bytes()).unwrap(),
        );
        prop_assert!(as_key.verify(&params).is_err());
        // Warrant shares are refused where identity-key shares are expected.
        let refused = combine_identity_key(&params, as_key.identity(), &shares[..k]);
        let wrong_subject = matches!(refused, Err(Error::WrongSubject { what: "identity", .. }));
        prop_assert!(wrong_subject);
    }
}
