//! Resharing a generation to a new set of authorities and/or a new threshold, keeping the
//! master public key (share redistribution: Desmedt and Jajodia 1997; Wong, Wang and Wing,
//! "Verifiable Secret Redistribution", 2002).
//!
//! ```text
//! old quorum S (k old authorities, x_i = i + 1), Lagrange coefficients λ_i at 0 over S
//! each i ∈ S draws h_i of degree k' − 1 with h_i(0) = s_i and publishes H_i = h_i·G1
//!   (H_i(0) == PK_i shows i deals its own share; in this one-process version it is a
//!   self-check, and the final master-key equality the real guarantee)
//! new authority m (x = m + 1) receives h_i(m+1) from every i, checks it against H_i(m+1)
//! s'_m = Σ_{i∈S} λ_i · h_i(m+1);   commitment' = Σ_{i∈S} λ_i · H_i
//! ```
//!
//! `Σ λ_i h_i` is a polynomial of degree k' − 1 whose constant term is `Σ λ_i s_i = s`, so
//! `MPK` is unchanged and the generation (realm, number, scope identities) continues: traffic
//! escrowed before the resharing opens with keys from the new shares, and old shares do not
//! combine with new ones. All old quorum members and new authorities run in one process here.

use blsttc::poly::Poly;
use blsttc::{Fr, G1Affine, G1Projective, SecretKeyShare};
use ff::Field;
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use rand_core::{CryptoRng, RngCore};

use super::Zeroized;
use crate::error::{Error, Result};
use crate::params::{PublicParams, check_authorities};
use crate::setup::AuthorityShare;

fn lagrange_at_zero(xs: &[Fr], i: usize) -> Result<Fr> {
    let mut num = Fr::one();
    let mut den = Fr::one();
    for (j, xj) in xs.iter().enumerate() {
        if j != i {
            num *= xj;
            den *= *xj - xs[i];
        }
    }
    let inv = Option::<Fr>::from(den.invert()).ok_or(Error::Internal("repeated share index"))?;
    Ok(num * inv)
}

/// Reshares from the first k of `old` (distinct authorities of `params`) to `new_names` with
/// threshold `new_k`; returns the new parameters (same realm, generation and master key) and
/// the new shares in index order.
pub fn reshare_all<R: RngCore + CryptoRng>(
    params: &PublicParams,
    old: &[AuthorityShare],
    new_names: &[String],
    new_k: usize,
    rng: &mut R,
) -> Result<(PublicParams, Vec<AuthorityShare>)> {
    check_authorities(new_names, new_k)?;
    if new_k < 2 {
        // k' = 1 would hand every new authority the master secret.
        return Err(Error::Threshold {
            threshold: new_k,
            authorities: new_names.len(),
        });
    }
    let k = params.threshold();
    let quorum: Vec<&AuthorityShare> = old.iter().take(k).collect();
    if quorum.len() < k {
        return Err(Error::NotEnoughShares {
            required: k,
            authorities: params.authorities().len(),
            valid: quorum.len(),
        });
    }
    let xs: Vec<Fr> = quorum
        .iter()
        .map(|s| Fr::from(u64::from(s.index()) + 1))
        .collect();
    let t_new = new_k - 1;
    let mut values = Zeroized(vec![Fr::zero(); new_names.len()]);
    let mut commitment: Vec<G1Projective> = vec![G1Projective::identity(); new_k];
    for (q, s) in quorum.iter().enumerate() {
        let pk_i = params
            .authority(s.authority())
            .filter(|a| a.index == s.index())
            .ok_or_else(|| Error::ShareMismatch {
                authority: s.authority().to_owned(),
            })?
            .public_key_share;
        let secret = Zeroized(vec![s.secret_scalar()?]);
        let p =
            Poly::try_random(t_new, rng).map_err(|_| Error::Internal("polynomial generation"))?;
        let c0 = p.evaluate(0u64);
        let h = (p - c0) + secret.0[0];
        let hc = h.commitment();
        if hc.evaluate(0u64) != pk_i {
            return Err(Error::ShareMismatch {
                authority: s.authority().to_owned(),
            });
        }
        let lambda = lagrange_at_zero(&xs, q)?;
        for (m, v) in values.0.iter_mut().enumerate() {
            let hv = h.evaluate(m as u64 + 1);
            if G1Affine::generator() * hv != G1Projective::from(hc.evaluate(m as u64 + 1)) {
                return Err(Error::Internal(
                    "reshare value does not match its commitment",
                ));
            }
            *v += lambda * hv;
        }
        let points = crate::dkg::commitment_points(&hc)?;
        for (c, p) in commitment.iter_mut().zip(points) {
            *c += p * lambda;
        }
    }
    let points: Vec<G1Affine> = commitment.iter().map(|p| p.to_affine()).collect();
    let fresh = params.reshared(points, new_names, "resharing moved the master key")?;
    let mut shares = Vec::with_capacity(new_names.len());
    for (m, name) in new_names.iter().enumerate() {
        let mut v = values.0[m];
        shares.push(AuthorityShare::from_parts(
            params.realm(),
            params.generation(),
            name,
            m as u32,
            SecretKeyShare::from_mut(&mut v),
            &fresh,
        )?);
    }
    Ok((fresh, shares))
}
