//! Generation setup with a trusted dealer, and the authorities' secret shares.
//!
//! The dealer draws a random polynomial `f` of degree k−1 over the BLS12-381 scalar field
//! (blsttc `SecretKeySet::random(k-1)`), publishes the Feldman commitment and hands authority
//! `i` the scalar `f(i+1)`. The polynomial is dropped before this function returns; blsttc's
//! `Poly` zeroizes its coefficients on drop. A dealerless DKG replaces this step later.

use std::fmt;

use blsttc::{SecretKeySet, SecretKeyShare};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::encoding::{FORMAT_VERSION, from_json, g1_from_bytes, g1_from_hex, hex_array, to_json};
use crate::error::{Error, Result};
use crate::identity::{DEFAULT_EPOCH_LENGTH, check_name};
use crate::params::{Policy, PublicParams, SetupKind, check_authorities};

/// What to set up.
#[derive(Clone, Debug)]
pub struct SetupRequest {
    /// Realm id (names the escrow domain, e.g. a country or a provider).
    pub realm: String,
    /// Generation number.
    pub generation: u32,
    /// Authority names, in index order.
    pub authorities: Vec<String>,
    /// Threshold k.
    pub threshold: usize,
    /// Epoch length in seconds.
    pub epoch_length: u64,
    /// Warrant policy.
    pub policy: Policy,
    /// Creation time recorded in the parameters.
    pub created_at: OffsetDateTime,
    /// First instant the generation covers (an epoch boundary; `None`: all earlier time).
    pub valid_from: Option<OffsetDateTime>,
    /// End of its validity, exclusive (an epoch boundary; `None`: until a rotation).
    pub valid_until: Option<OffsetDateTime>,
}

impl SetupRequest {
    /// A request with the defaults: realm `escrow-lab`, generation 1, one-day epochs, default
    /// policy.
    pub fn new(authorities: Vec<String>, threshold: usize, created_at: OffsetDateTime) -> Self {
        Self {
            realm: "escrow-lab".to_owned(),
            generation: 1,
            authorities,
            threshold,
            epoch_length: DEFAULT_EPOCH_LENGTH,
            policy: Policy::default(),
            created_at,
            valid_from: None,
            valid_until: None,
        }
    }
}

/// One authority's secret share of a generation's master key.
///
/// Zeroized on drop (blsttc's `SecretKey`); `Debug` prints `***`; there is no `Serialize`.
/// [`crate::hazmat::export_share_json`] is the one way to write it out.
pub struct AuthorityShare {
    realm: String,
    generation: u32,
    authority: String,
    index: u32,
    share: SecretKeyShare,
}

impl fmt::Debug for AuthorityShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AuthorityShare({} #{} of {} g{}: ***)",
            self.authority, self.index, self.realm, self.generation
        )
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShareFile {
    version: u64,
    realm: String,
    generation: u32,
    authority: String,
    index: u32,
    public_key_share: String,
    secret_share: String,
}

impl Drop for ShareFile {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret_share);
    }
}

impl AuthorityShare {
    /// The authority's name.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The authority's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The generation.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// A share made elsewhere (the DKG), checked against the parameters' public key share.
    pub(crate) fn from_parts(
        realm: &str,
        generation: u32,
        authority: &str,
        index: u32,
        share: SecretKeyShare,
        params: &PublicParams,
    ) -> Result<Self> {
        let a = params
            .authority(authority)
            .filter(|a| a.index == index)
            .ok_or_else(|| Error::ShareMismatch {
                authority: authority.to_owned(),
            })?;
        let pk = g1_from_bytes("secret_share", &share.public_key_share().to_bytes())?;
        if pk != a.public_key_share {
            return Err(Error::ShareMismatch {
                authority: authority.to_owned(),
            });
        }
        Ok(Self {
            realm: realm.to_owned(),
            generation,
            authority: authority.to_owned(),
            index,
            share,
        })
    }

    /// The share as a scalar (the caller wipes it: `Fr` has no `Zeroize`).
    pub(crate) fn secret_scalar(&self) -> Result<blsttc::Fr> {
        let bytes = Zeroizing::new(self.share.to_bytes());
        Option::from(blsttc::Fr::from_bytes_be(&bytes))
            .ok_or(Error::Internal(crate::Bug::PointEncoding))
    }

    pub(crate) fn secret(&self) -> &SecretKeyShare {
        &self.share
    }

    /// Parses a share file and checks it against the generation's public parameters: same
    /// realm and generation, a known authority at the same index, and a secret whose public
    /// key share is the one the parameters publish.
    pub fn from_json(bytes: &[u8], params: &PublicParams) -> Result<Self> {
        let f: ShareFile = from_json("share", bytes)?;
        check_name("authority", &f.authority)?;
        if f.realm != params.realm() || f.generation != params.generation() {
            return Err(Error::WrongGeneration {
                what: "share",
                realm: f.realm.clone(),
                generation: f.generation,
            });
        }
        let mismatch = || Error::ShareMismatch {
            authority: f.authority.clone(),
        };
        let authority = params.authority(&f.authority).ok_or_else(mismatch)?;
        let stated_pk = g1_from_hex("public_key_share", &f.public_key_share)?;
        let secret = Zeroizing::new(hex_array::<32>("secret_share", &f.secret_share)?);
        if secret.iter().all(|b| *b == 0) {
            return Err(Error::InvalidScalar {
                field: "secret_share",
            });
        }
        let share = SecretKeyShare::from_bytes(*secret).map_err(|_| Error::InvalidScalar {
            field: "secret_share",
        })?;
        let actual_pk = g1_from_bytes("secret_share", &share.public_key_share().to_bytes())?;
        if authority.index != f.index
            || actual_pk != authority.public_key_share
            || stated_pk != authority.public_key_share
        {
            return Err(mismatch());
        }
        Ok(Self {
            realm: f.realm.clone(),
            generation: f.generation,
            authority: f.authority.clone(),
            index: f.index,
            share,
        })
    }

    pub(crate) fn to_json_secret(&self) -> Result<Zeroizing<Vec<u8>>> {
        let secret = Zeroizing::new(self.share.to_bytes());
        let f = ShareFile {
            version: FORMAT_VERSION,
            realm: self.realm.clone(),
            generation: self.generation,
            authority: self.authority.clone(),
            index: self.index,
            public_key_share: hex::encode(self.share.public_key_share().to_bytes()),
            secret_share: hex::encode(*secret),
        };
        Ok(Zeroizing::new(to_json(&f)?))
    }
}

/// Runs a trusted-dealer setup: validates the request, deals k-of-n shares, and returns the
/// public parameters with one share per authority (in index order).
pub fn dealer_setup<R: RngCore + CryptoRng>(
    req: &SetupRequest,
    rng: &mut R,
) -> Result<(PublicParams, Vec<AuthorityShare>)> {
    check_name("realm", &req.realm)?;
    check_authorities(&req.authorities, req.threshold)?;
    let sk_set = SecretKeySet::try_random(req.threshold - 1, rng)
        .map_err(|_| Error::Internal(crate::Bug::Polynomial))?;
    let pk_set = sk_set.public_keys();
    let commitment = commitment_points(&pk_set)?;
    let params = PublicParams::new(
        &req.realm,
        req.generation,
        req.created_at,
        SetupKind::TrustedDealer,
        req.epoch_length,
        req.policy,
        commitment,
        &req.authorities,
    )?
    .with_validity(req.valid_from, req.valid_until)?;
    let shares = params
        .authorities()
        .iter()
        .map(|a| AuthorityShare {
            realm: req.realm.clone(),
            generation: req.generation,
            authority: a.name.clone(),
            index: a.index,
            share: sk_set.secret_key_share(u64::from(a.index)),
        })
        .collect();
    // `sk_set` (the dealer's polynomial) is dropped here and zeroized by blsttc's `Poly`.
    drop(sk_set);
    Ok((params, shares))
}

/// The commitment's coefficient points, read through blsttc's byte encoding.
fn commitment_points(pk_set: &blsttc::PublicKeySet) -> Result<Vec<blsttc::G1Affine>> {
    crate::encoding::commitment_points(&pk_set.to_bytes())
        .map_err(|_| Error::Internal(crate::Bug::PointEncoding))
}
