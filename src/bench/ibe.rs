//! IBE wrap and unwrap vs the `tlock` crate and vs the floor.
//!
//! Both sides get the same master key (on G1), the same identity (drand's: SHA-256 of a round
//! number, hashed to G2 with drand's DST) and the same 16-byte message (`tlock` 0.0.10
//! encrypts 16-byte blocks; an escrow wrap carries 32 bytes at the same cost in pairings and
//! scalar multiplications), and this module first
//! checks that each side decrypts the other's ciphertext, so that the comparison is of the
//! same scheme. The floor is the work no implementation of this construction can avoid: one
//! G1 scalar multiplication (U = r·G1 on encryption, the Fujisaki–Okamoto check on decryption)
//! and one pairing; with the identity's or the key's Miller-loop lines prepared, as this
//! project does for repeated use.

use std::hint::black_box;

use anyhow::{Context, Result, ensure};
use blstrs::{G2Prepared, G2Projective};
use blsttc::{Fr, G1Affine, G2Affine, PEngine};
use ff::Field;
use group::Curve;
use group::prime::PrimeCurveAffine;
use pairing::{MillerLoopResult, MultiMillerLoop};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

use super::harness::time;
use super::{Goal, Options, Row, Unit};

/// drand's hash-to-G2 domain separation tag (tlock with a G1 public key).
const DRAND_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_";
const GROUP: &str = "IBE vs tlock 0.0.10 and the floor (same key, identity, 16-byte message)";

fn identity_point(round: u64) -> G2Affine {
    let id = Sha256::digest(round.to_be_bytes());
    G2Projective::hash_to_curve(&id, DRAND_DST, &[]).to_affine()
}

/// The rows of this comparison.
pub fn rows(options: &Options) -> Result<Vec<Row>> {
    let budget = options.budget();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let s = Fr::random(&mut rng);
    let mpk = (G1Affine::generator() * s).to_affine();
    let round = 1_000_000u64;
    let q_id = identity_point(round);
    let d_id = (q_id * s).to_affine();
    let pk_bytes = mpk.to_compressed();
    let sig_bytes = d_id.to_compressed();
    let mut msg = [0u8; 16];
    let mut sigma = [0u8; 16];
    rng.fill_bytes(&mut msg);
    rng.fill_bytes(&mut sigma);

    // Same scheme: each side opens the other's ciphertext.
    let ours = escrow::ibe::encrypt(&mpk, &q_id, &msg, &sigma)?;
    let mut theirs = Vec::new();
    tlock::encrypt(&mut theirs, &msg[..], &pk_bytes, round).context("tlock::encrypt")?;
    let theirs_ct = escrow::ibe::Ciphertext::from_bytes(&theirs)?;
    ensure!(
        escrow::ibe::decrypt(&theirs_ct, &d_id)?.as_slice() == msg,
        "escrow::ibe does not open tlock's ciphertext"
    );
    let mut opened = Vec::new();
    tlock::decrypt(&mut opened, &ours.to_bytes()[..], &sig_bytes).context("tlock::decrypt")?;
    ensure!(
        opened == msg,
        "tlock does not open escrow::ibe's ciphertext"
    );

    let prepared = escrow::ibe::PreparedIdentity::new(&mpk, &q_id);
    let key = escrow::ibe::PreparedKey::new(&d_id);
    let ours_bytes = ours.to_bytes();

    let wrap_prepared = time(budget, || {
        black_box(prepared.encrypt(black_box(&msg), &sigma).ok());
    });
    let wrap_cold = time(budget, || {
        let q = identity_point(black_box(round));
        black_box(escrow::ibe::encrypt(&mpk, &q, &msg, &sigma).ok());
    });
    let tlock_encrypt = time(budget, || {
        let mut out = Vec::with_capacity(80);
        black_box(tlock::encrypt(&mut out, &msg[..], &pk_bytes, black_box(round)).ok());
    });
    let unwrap_prepared = time(budget, || {
        black_box(key.decrypt_with_sigma(black_box(&ours)).ok());
    });
    let unwrap_cold = time(budget, || {
        let ct = escrow::ibe::Ciphertext::from_bytes(black_box(&ours_bytes)).ok();
        black_box(ct.map(|ct| escrow::ibe::decrypt(&ct, &d_id).ok()));
    });
    let tlock_decrypt = time(budget, || {
        let mut out = Vec::with_capacity(32);
        black_box(tlock::decrypt(&mut out, &ours_bytes[..], &sig_bytes).ok());
    });

    // The floor, same run: one G1 scalar multiplication and one pairing with prepared lines.
    let r = Fr::random(&mut rng);
    let lines = G2Prepared::from(q_id);
    let g1_mul = time(budget, || {
        black_box((G1Affine::generator() * black_box(r)).to_affine());
    });
    let prepared_pairing = time(budget, || {
        let p = black_box(mpk);
        black_box(PEngine::multi_miller_loop(&[(&p, &lines)]).final_exponentiation());
    });
    let pairing = time(budget, || {
        black_box(blstrs::pairing(black_box(&mpk), black_box(&q_id)));
    });
    let floor = g1_mul.seconds + prepared_pairing.seconds;
    let floor_cold = g1_mul.seconds + pairing.seconds;

    let t = Unit::Seconds;
    let half = Some(Goal::at_most(0.5));
    let near = Some(Goal::at_most(1.2));
    Ok(vec![
        Row::new(
            GROUP,
            "wrap, prepared identity",
            t,
            wrap_prepared.seconds,
            "tlock::encrypt",
            tlock_encrypt.seconds,
            half,
        ),
        Row::new(
            GROUP,
            "wrap, cold (hash to G2 each time)",
            t,
            wrap_cold.seconds,
            "tlock::encrypt",
            tlock_encrypt.seconds,
            half,
        ),
        Row::new(
            GROUP,
            "unwrap, prepared key",
            t,
            unwrap_prepared.seconds,
            "tlock::decrypt",
            tlock_decrypt.seconds,
            half,
        ),
        Row::new(
            GROUP,
            "unwrap, cold (parse, pairing)",
            t,
            unwrap_cold.seconds,
            "tlock::decrypt",
            tlock_decrypt.seconds,
            half,
        ),
        Row::new(
            GROUP,
            "wrap, prepared identity",
            t,
            wrap_prepared.seconds,
            "floor: G1 mul+pairing",
            floor,
            near,
        ),
        Row::new(
            GROUP,
            "wrap, cold",
            t,
            wrap_cold.seconds,
            "floor, unprepared",
            floor_cold,
            None,
        ),
        Row::new(
            GROUP,
            "unwrap, prepared key",
            t,
            unwrap_prepared.seconds,
            "floor: G1 mul+pairing",
            floor,
            near,
        ),
        Row::new(
            GROUP,
            "unwrap, cold",
            t,
            unwrap_cold.seconds,
            "floor, unprepared",
            floor_cold,
            None,
        ),
        Row::new(
            GROUP,
            "(floor part) G1 scalar multiplication",
            t,
            g1_mul.seconds,
            "prepared pairing",
            prepared_pairing.seconds,
            None,
        ),
    ])
}
