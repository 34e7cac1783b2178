//! A generation's life after setup: proactive refresh keeps the master key and makes old
//! shares useless, alone or mixed with new ones (the thief who stole before a refresh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

/// A proactive refresh: the resharing protocol, every party in this process, to the same
/// authorities and threshold, dealt by `shares`.
fn refresh_all(
    params: &escrow::PublicParams,
    shares: &[AuthorityShare],
    rng: &mut ChaCha20Rng,
) -> escrow::Result<(escrow::PublicParams, Vec<AuthorityShare>)> {
    let names: Vec<String> = params
        .authorities()
        .iter()
        .map(|a| a.name.clone())
        .collect();
    escrow::dkg::reshare::simulate(params, shares, &names, params.threshold().max(2), rng)
}
use escrow::hazmat::{export_share_json, identity_key_unchecked, interpolate_unchecked};
use escrow::{AuthorityShare, KeyShare, SetupRequest, combine_identity_key};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use test_support::lab::{self, THREE};
use time::OffsetDateTime;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn refresh_keeps_the_key_and_invalidates_mixing(
        (n, k) in (2usize..=6).prop_flat_map(|n| (Just(n), 2..=n)),
        seed in any::<[u8; 32]>(),
        dkg in any::<bool>(),
    ) {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let names: Vec<String> = (0..n).map(|i| format!("a{i}")).collect();
        let req = SetupRequest::new(names, k, OffsetDateTime::UNIX_EPOCH);
        let (params, shares) = if dkg {
            let (p, s, _, _) = escrow::dkg::run_all(&req, &mut rng).unwrap();
            (p, s)
        } else {
            escrow::dealer_setup(&req, &mut rng).unwrap()
        };
        let (fresh, new_shares) = refresh_all(&params, &shares, &mut rng).unwrap();
        prop_assert_eq!(fresh.master_public_key(), params.master_public_key());
        prop_assert_eq!(fresh.setup(), params.setup());
        let id = params.identity("alice", 9).unwrap();
        let release = |ps: &escrow::PublicParams, s: &[AuthorityShare]| -> Vec<KeyShare> {
            s.iter().map(|s| s.release_identity_key_share(ps, &id).unwrap()).collect()
        };
        let old = release(&params, &shares);
        let new = release(&fresh, &new_shares);
        // The same key from k new shares as from k old ones under the old parameters.
        let a = combine_identity_key(&params, &id, &old[..k]).unwrap();
        let b = combine_identity_key(&fresh, &id, &new[n - k..]).unwrap();
        prop_assert_eq!(a.point(), b.point());
        // Every share changed; old files do not load with the new parameters.
        for (o, s) in shares.iter().zip(&new_shares) {
            prop_assert!(AuthorityShare::from_json(&export_share_json(o).unwrap(), &fresh).is_err());
            prop_assert!(AuthorityShare::from_json(&export_share_json(s).unwrap(), &fresh).is_ok());
        }
        // k-1 old shares plus one new: refused under the new parameters, and forcing the
        // interpolation gives a key that verifies against nothing.
        let mut mixed: Vec<KeyShare> = old[..k - 1].to_vec();
        mixed.push(new[k - 1].clone());
        prop_assert!(combine_identity_key(&fresh, &id, &mixed).is_err());
        prop_assert!(combine_identity_key(&params, &id, &mixed).is_err());
        let forced = identity_key_unchecked(id.clone(), interpolate_unchecked(&mixed).unwrap());
        prop_assert!(forced.verify(&fresh).is_err());
    }
}

#[test]
fn a_refresh_needs_k_dealers_in_any_order() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let names: Vec<String> = ["x", "y", "z"].map(str::to_owned).to_vec();
    let (params, mut shares) = escrow::dealer_setup(
        &SetupRequest::new(names, 2, OffsetDateTime::UNIX_EPOCH),
        &mut rng,
    )
    .unwrap();
    shares.swap(0, 1);
    let (fresh, _) = refresh_all(&params, &shares, &mut rng).unwrap();
    assert_eq!(fresh.master_public_key(), params.master_public_key());
    shares.truncate(1);
    let err = refresh_all(&params, &shares, &mut rng).unwrap_err();
    assert!(
        err.to_string().contains("k = 2 old authorities must deal"),
        "{err}"
    );
}

/// A refresh interrupted after its record was written is finished by the next command; one
/// interrupted before it is undone (staged copies destroyed); retirement leaves no staged copy.
#[test]
fn an_interrupted_refresh_is_finished_or_undone() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let req = lab::request(&THREE, 2, OffsetDateTime::UNIX_EPOCH);
    let (lab, params, shares) = lab::dealer(tmp.path().join("lab"), &req, &mut rng);
    let (fresh, new_shares) = refresh_all(&params, &shares, &mut rng).unwrap();
    let stage = |with_record: bool| {
        for s in &new_shares {
            let p = lab.share_path(s.authority());
            let mut n = p.into_os_string();
            n.push(".new");
            std::fs::write(n, export_share_json(s).unwrap()).unwrap();
        }
        let mut n = lab.params_path().into_os_string();
        n.push(".new");
        std::fs::write(n, fresh.to_json().unwrap()).unwrap();
        if with_record {
            std::fs::write(
                tmp.path().join("lab/.replace-1.json"),
                br#"{"version":1,"generation":1,"authorities":["court","ministry","oversight"],"params":true}"#,
            )
            .unwrap();
        }
    };
    // Before the record: undone, the old generation intact, no copy left.
    stage(false);
    assert!(lab.rotation_pending());
    lab.recover_rotation().unwrap();
    assert!(!lab.rotation_pending());
    let p = lab.load_params().unwrap();
    assert_eq!(p.commitment(), params.commitment());
    lab.load_share(&p, "court").unwrap();
    // After the record: finished, the new shares and parameters in place, nothing left over.
    stage(true);
    lab.recover_rotation().unwrap();
    assert!(!lab.rotation_pending());
    let p = lab.load_params().unwrap();
    assert_eq!(p.commitment(), fresh.commitment());
    for a in THREE {
        lab.load_share(&p, a).unwrap();
    }
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("lab/authorities/court"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".new") || n.ends_with(".old"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Staged copies present when an authority retires are destroyed with its share.
    stage(false);
    escrow::authority::retire(&lab, "court", Some(1), OffsetDateTime::UNIX_EPOCH).unwrap();
    let mut staged = lab.share_path("court").into_os_string();
    staged.push(".new");
    assert!(!std::path::Path::new(&staged).exists());
}
