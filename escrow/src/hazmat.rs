//! Hazardous operations: exporting raw shares and bypassing the checks of key release.
//!
//! Nothing here is needed to use escrow as designed. It exists for the lab (writing share
//! files), for the demonstration that k−1 shares are useless, and for attack scenarios and
//! tests that forge shares. Every function weakens a guarantee of the normal API; read its
//! doc before calling it.

use blsttc::{Fr, G2Affine, G2Projective};
use ff::Field;
use group::{Curve, Group};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::identity::ScopeIdentity;
use crate::release::{IdentityKey, KeyShare};
use crate::setup::AuthorityShare;

/// Serializes an authority's secret share to its JSON file (the raw share in hex). Write the
/// result only to a file of mode 0600.
pub fn export_share_json(share: &AuthorityShare) -> Result<Zeroizing<Vec<u8>>> {
    share.to_json_secret()
}

/// Lagrange-interpolates *whatever* shares it is given at zero, without checking count,
/// subjects or validity: `Σ λ_i·share_i` with `λ_i = Π_{j≠i} x_j / (x_j − x_i)`,
/// `x_i = index_i + 1`. With fewer than k shares the result is a uniformly unrelated point,
/// which is what the demo and the property tests show: k−1 shares yield no key.
pub fn interpolate_unchecked(shares: &[KeyShare]) -> Result<G2Affine> {
    let xs: Vec<Fr> = shares
        .iter()
        .map(|s| Fr::from(u64::from(s.index()) + 1))
        .collect();
    let mut acc = G2Projective::identity();
    for (i, s) in shares.iter().enumerate() {
        let mut num = Fr::one();
        let mut den = Fr::one();
        for (j, xj) in xs.iter().enumerate() {
            if i != j {
                num *= xj;
                den *= *xj - xs[i];
            }
        }
        let inv: Option<Fr> = den.invert().into();
        let lambda = num
            * inv.ok_or(Error::DuplicateShare {
                authority: s.authority().to_owned(),
            })?;
        acc += s.share_point() * lambda;
    }
    Ok(acc.to_affine())
}

/// Treats any point as the identity key of `identity`, unchecked (e.g. the output of
/// [`interpolate_unchecked`]). [`IdentityKey::verify`] tells whether it is the real key.
pub fn identity_key_unchecked(identity: ScopeIdentity, point: G2Affine) -> IdentityKey {
    IdentityKey::from_parts(identity, point)
}

/// Returns a copy of `share` carrying another share value (a forged or corrupted share).
pub fn replace_share_value(share: &KeyShare, value: [u8; 96]) -> Result<KeyShare> {
    share.with_share_bytes(value)
}

/// A compressed G1 encoding of a point on the curve but outside the prime-order subgroup (the
/// first such x = 1, 2, …), for tests of the decoders' subgroup check.
pub fn g1_not_in_subgroup() -> [u8; 48] {
    for x in 1u64.. {
        let mut bytes = [0u8; 48];
        bytes[40..].copy_from_slice(&x.to_be_bytes());
        bytes[0] |= 0x80;
        let p: Option<blsttc::G1Affine> =
            blsttc::G1Affine::from_compressed_unchecked(&bytes).into();
        if p.is_some_and(|p| !bool::from(p.is_torsion_free())) {
            return bytes;
        }
    }
    unreachable!("half of all x are on the curve, nearly all outside the subgroup")
}

/// A compressed G2 encoding of a point on the curve but outside the prime-order subgroup.
pub fn g2_not_in_subgroup() -> [u8; 96] {
    for x in 1u64.. {
        let mut bytes = [0u8; 96];
        bytes[88..].copy_from_slice(&x.to_be_bytes());
        bytes[0] |= 0x80;
        let p: Option<G2Affine> = G2Affine::from_compressed_unchecked(&bytes).into();
        if p.is_some_and(|p| !bool::from(p.is_torsion_free())) {
            return bytes;
        }
    }
    unreachable!("half of all x are on the curve, nearly all outside the subgroup")
}

/// The log operator's checkpoint signer, outside the log role
/// ([`crate::transparency::api::LocalLog`]): for attack scenarios in which the operator (or
/// whoever took its key) appends or rewrites the log around the tools.
pub fn log_operator_signer(lab: &crate::lab::Lab) -> Result<signed_note::StandardSigner> {
    lab.log_signer()
}

/// The SQLite connection under a log store, for tests and attacks that tamper with the stored
/// log behind the store's back (deleting a checkpoint, editing an entry) to show that the
/// monitor notices. The only place the storage engine shows through the crate's API.
pub fn log_connection(store: &crate::transparency::store::LogStore) -> &rusqlite::Connection {
    store.connection()
}
