//! Proactive refresh of a generation's shares (Herzberg, Jarecki, Krawczyk, Yung, CRYPTO 1995).
//!
//! ```text
//! every authority j draws g_j of degree t with g_j(0) = 0 and publishes C_j = g_j·G1
//!   (checked: C_j(0) is the identity point, so the master key cannot move)
//! authority i receives g_j(i+1) from every j and checks g_j(i+1)·G1 == C_j(i+1)
//! s_i' = s_i + Σ_j g_j(i+1);   commitment' = commitment + Σ_j C_j
//! ```
//!
//! The master public key is unchanged; every share and public key share changes. Shares from
//! before and after a refresh lie on different polynomials: any mix of them interpolates to
//! garbage, so a thief who stole fewer than k shares before a refresh and some after gains
//! nothing. `escrow refresh` runs every authority of a lab in one process; the values would
//! travel between authorities like DKG rows (transport-encrypted, with the same complaint
//! round) — that distributed exchange is not built here.

use blsttc::poly::{Commitment, Poly};
use blsttc::{Fr, SecretKeyShare};
use ff::Field;
use group::prime::PrimeCurveAffine;
use rand_core::{CryptoRng, RngCore};

use super::Zeroized;
use crate::error::{Error, Result};
use crate::params::PublicParams;
use crate::setup::AuthorityShare;

/// Refreshes every share of `params` (all `shares`, index order); returns the new parameters
/// (same master key) and the new shares.
pub fn refresh_all<R: RngCore + CryptoRng>(
    params: &PublicParams,
    shares: &[AuthorityShare],
    rng: &mut R,
) -> Result<(PublicParams, Vec<AuthorityShare>)> {
    let n = params.authorities().len();
    if shares.len() != n
        || shares
            .iter()
            .zip(params.authorities())
            .any(|(s, a)| s.authority() != a.name || s.index() != a.index)
    {
        return Err(Error::Internal(
            "refresh needs every authority's share, in index order",
        ));
    }
    let t = params.threshold() - 1;
    let mut total: Option<Commitment> = None;
    // The increments are secret (with a new share they give the old one): wiped on drop, on
    // every path.
    let mut delta = Zeroized(vec![Fr::zero(); n]);
    for _dealer in 0..n {
        let p = Poly::try_random(t, rng).map_err(|_| Error::Internal("polynomial generation"))?;
        let c0 = p.evaluate(0u64);
        let g = p - c0;
        let commitment = g.commitment();
        if !bool::from(commitment.evaluate(0u64).is_identity()) {
            return Err(Error::Internal("refresh polynomial with a constant term"));
        }
        for (i, d) in delta.0.iter_mut().enumerate() {
            let v = g.evaluate(i as u64 + 1);
            if blsttc::G1Affine::generator() * v != commitment.evaluate(i as u64 + 1).into() {
                return Err(Error::Internal(
                    "refresh value does not match its commitment",
                ));
            }
            *d += v;
        }
        total = Some(match total {
            None => commitment,
            Some(c) => c + commitment,
        });
    }
    let total = total.ok_or(Error::Internal("no authority"))?;
    let old = Commitment::from(params.commitment().to_vec());
    let points = crate::dkg::commitment_points(&(old + total))?;
    let names: Vec<String> = params
        .authorities()
        .iter()
        .map(|a| a.name.clone())
        .collect();
    let fresh = params.reshared(points, &names, "refresh moved the master key")?;
    let mut out = Vec::with_capacity(n);
    for (s, d) in shares.iter().zip(&delta.0) {
        let mut v = s.secret_scalar()?;
        v += d;
        out.push(AuthorityShare::from_parts(
            s.realm(),
            s.generation(),
            s.authority(),
            s.index(),
            SecretKeyShare::from_mut(&mut v),
            &fresh,
        )?);
    }
    Ok((fresh, out))
}
