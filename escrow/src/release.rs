//! Key release: identity key shares, warrant signature shares, and their k-of-n combination.
//!
//! ```text
//! identity key share of authority i:   d_i  = f(i+1)·Q_id          (blsttc sign_g2 on Q_id)
//! check of a share:                    e(G1, d_i) == e(PK_i, Q_id)
//! identity key (any k valid shares):   d_id = Σ λ_i·d_i = s·Q_id   (Lagrange at 0)
//! check of the key:                    e(G1, d_id) == e(MPK, Q_id)
//!
//! warrant signature share:             σ_i = f(i+1)·H_W(digest),
//! H_W = hash_to_curve_G2(digest, DST_WARRANT)
//! ```
//!
//! The identity key is exactly a threshold BLS signature on `Q_id` (as drand's round
//! signatures are identity keys for tlock). Warrant approvals use a different DST, so no
//! approval can serve as an identity key. blsttc's `combine_signatures` does not validate
//! shares; [`combine_identity_key`] and [`combine_warrant_signature`] verify every share first
//! and name the authority whose share failed, reject duplicates, unknown authorities and shares
//! for another subject, then require k valid shares and check the result by pairing.

use std::collections::BTreeSet;
use std::fmt;

use blstrs::G2Prepared;
use blsttc::{G1Affine, G2Affine, G2Projective, PEngine, Signature, SignatureShare};
use group::Group;
use group::prime::PrimeCurveAffine;
use pairing::{MillerLoopResult, MultiMillerLoop};
use serde::{Deserialize, Serialize};

use crate::encoding::{FORMAT_VERSION, from_json, g2_from_bytes, hex_array, to_json};
use crate::error::{Error, Result};
use crate::identity::ScopeIdentity;
use crate::params::PublicParams;
use crate::setup::AuthorityShare;

/// Domain separation tag for hashing warrant digests to G2.
pub const DST_WARRANT: &[u8] = b"ESCROW-LAB-V1-WARRANT_BLS12381G2_XMD:SHA-256_SSWU_RO_";

/// The point a warrant approval signs: `hash_to_curve_G2(digest, DST_WARRANT)`.
pub fn warrant_point(digest: &[u8; 32]) -> G2Affine {
    G2Projective::hash_to_curve(digest, DST_WARRANT, &[]).into()
}

/// What a share is a share of.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum Subject {
    /// An identity key for one scope.
    Identity {
        /// The scope.
        identity: ScopeIdentity,
    },
    /// A signature on a warrant digest.
    Warrant {
        /// SHA-256 of the canonical warrant, lowercase hex.
        digest: String,
    },
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Identity { identity } => write!(f, "identity {identity}"),
            Subject::Warrant { digest } => write!(f, "warrant {digest}"),
        }
    }
}

impl Subject {
    fn point(&self) -> Result<G2Affine> {
        match self {
            Subject::Identity { identity } => Ok(identity.point()),
            Subject::Warrant { digest } => Ok(warrant_point(&hex_array::<32>("digest", digest)?)),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Subject::Identity { .. } => "identity",
            Subject::Warrant { .. } => "warrant",
        }
    }
}

/// One authority's share of an identity key or of a warrant signature.
///
/// `Debug` does not print the share value: k of them release traffic.
#[derive(Clone)]
pub struct KeyShare {
    authority: String,
    index: u32,
    subject: Subject,
    share: SignatureShare,
    point: G2Affine,
}

impl fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyShare({} #{} for {:?}: ***)",
            self.authority, self.index, self.subject
        )
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyShareFile {
    version: u64,
    authority: String,
    index: u32,
    subject: Subject,
    share: String,
}

impl KeyShare {
    /// The authority that made the share (as it claims; [`KeyShare::verify`] checks it).
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The authority's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// What this is a share of.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// Checks the share against the authority's public key share:
    /// `e(G1, share) == e(PK_i, H(subject))`.
    pub fn verify(&self, params: &PublicParams) -> Result<()> {
        self.verify_with_point(params, &self.subject.point()?)
    }

    /// [`KeyShare::verify`] with `H(subject)` already computed.
    fn verify_with_point(&self, params: &PublicParams, h: &G2Affine) -> Result<()> {
        let authority = params
            .authority_by_index(self.index)
            .ok_or(Error::UnknownAuthority { index: self.index })?;
        let invalid = || Error::InvalidShare {
            authority: self.authority.clone(),
        };
        if authority.name != self.authority {
            return Err(invalid());
        }
        if let Subject::Identity { identity } = &self.subject {
            params.check_identity(identity)?;
        }
        if pairing_eq(&self.point, &authority.public_key_share, h) {
            Ok(())
        } else {
            Err(invalid())
        }
    }

    /// Parses a share document; the point is validated (curve, subgroup, not identity).
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let f: KeyShareFile = from_json("key share", bytes)?;
        crate::identity::check_name("authority", &f.authority)?;
        match &f.subject {
            Subject::Identity { identity } => identity.validate()?,
            Subject::Warrant { digest } => {
                hex_array::<32>("digest", digest)?;
            }
        }
        let bytes = hex_array::<96>("share", &f.share)?;
        let point = g2_from_bytes("share", &bytes)?;
        let share = SignatureShare::from_bytes(bytes).map_err(|_| Error::InvalidPoint {
            field: "share",
            group: "G2",
            reason: "refused by blsttc",
        })?;
        Ok(Self {
            authority: f.authority,
            index: f.index,
            subject: f.subject,
            share,
            point,
        })
    }

    /// Builds a share from its parts (the point is validated: curve, subgroup, not identity).
    pub fn from_parts(
        authority: &str,
        index: u32,
        subject: Subject,
        share: &[u8; 96],
    ) -> Result<Self> {
        crate::identity::check_name("authority", authority)?;
        match &subject {
            Subject::Identity { identity } => identity.validate()?,
            Subject::Warrant { digest } => {
                hex_array::<32>("digest", digest)?;
            }
        }
        let point = g2_from_bytes("share", share)?;
        let sig = SignatureShare::from_bytes(*share).map_err(|_| Error::InvalidPoint {
            field: "share",
            group: "G2",
            reason: "refused by blsttc",
        })?;
        Ok(Self {
            authority: authority.to_owned(),
            index,
            subject,
            share: sig,
            point,
        })
    }

    /// The share's compressed point.
    pub fn share_bytes(&self) -> [u8; 96] {
        self.share.to_bytes()
    }

    /// Serializes the share document.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        to_json(&KeyShareFile {
            version: FORMAT_VERSION,
            authority: self.authority.clone(),
            index: self.index,
            subject: self.subject.clone(),
            share: hex::encode(self.share.to_bytes()),
        })
    }

    /// The share's point (hazmat).
    pub(crate) fn share_point(&self) -> &G2Affine {
        &self.point
    }

    /// Replaces the share value (forged-share tests, through [`crate::hazmat`]).
    pub(crate) fn with_share_bytes(&self, bytes: [u8; 96]) -> Result<Self> {
        Self::from_parts(&self.authority, self.index, self.subject.clone(), &bytes)
    }
}

impl AuthorityShare {
    /// Releases this authority's share of the identity key for `identity`.
    pub fn release_identity_key_share(
        &self,
        params: &PublicParams,
        identity: &ScopeIdentity,
    ) -> Result<KeyShare> {
        params.check_identity(identity)?;
        self.sign_subject(Subject::Identity {
            identity: identity.clone(),
        })
    }

    /// Signs a warrant digest: this authority's approval share.
    pub fn sign_warrant(&self, digest: &[u8; 32]) -> Result<KeyShare> {
        self.sign_subject(Subject::Warrant {
            digest: hex::encode(digest),
        })
    }

    fn sign_subject(&self, subject: Subject) -> Result<KeyShare> {
        let share = self.secret().sign_g2(subject.point()?);
        // Our own fresh signature: on the curve and in the subgroup by construction, so the
        // unchecked decoding (no subgroup test) is exact.
        let point: Option<G2Affine> = G2Affine::from_compressed_unchecked(&share.to_bytes()).into();
        Ok(KeyShare {
            authority: self.authority().to_owned(),
            index: self.index(),
            subject,
            share,
            point: point.ok_or(Error::Internal(crate::Bug::PointEncoding))?,
        })
    }
}

/// A combined identity key `d_id = s·Q_id`: it opens every wrap to its scope.
///
/// `Debug` prints the scope only.
#[derive(Clone)]
pub struct IdentityKey {
    identity: ScopeIdentity,
    point: G2Affine,
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey({}: ***)", self.identity)
    }
}

impl IdentityKey {
    /// The scope this key opens.
    pub fn identity(&self) -> &ScopeIdentity {
        &self.identity
    }

    /// The key point `d_id`.
    pub fn point(&self) -> &G2Affine {
        &self.point
    }

    /// Checks `e(G1, d_id) == e(MPK, Q_id)`: anyone with the public parameters can.
    pub fn verify(&self, params: &PublicParams) -> Result<()> {
        params.check_identity(&self.identity)?;
        if pairing_check(params, &self.point, &self.identity.point()) {
            Ok(())
        } else {
            Err(Error::CombinedInvalid("identity key"))
        }
    }

    /// Wraps a point as an identity key without checking it; [`IdentityKey::verify`] checks.
    pub(crate) fn from_parts(identity: ScopeIdentity, point: G2Affine) -> Self {
        Self { identity, point }
    }
}

/// A combined k-of-n signature on a warrant digest: proof that k authorities approved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarrantSignature {
    digest: [u8; 32],
    point: G2Affine,
}

impl WarrantSignature {
    /// The signed digest.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Compressed signature bytes.
    pub fn to_bytes(&self) -> [u8; 96] {
        self.point.to_compressed()
    }

    /// Parses a compressed signature on `digest`; [`WarrantSignature::verify`] checks it.
    pub fn from_bytes(digest: [u8; 32], bytes: &[u8; 96]) -> Result<Self> {
        Ok(Self {
            digest,
            point: g2_from_bytes("warrant signature", bytes)?,
        })
    }

    /// Checks `e(G1, sig) == e(MPK, H_W(digest))`.
    pub fn verify(&self, params: &PublicParams) -> Result<()> {
        if pairing_check(params, &self.point, &warrant_point(&self.digest)) {
            Ok(())
        } else {
            Err(Error::CombinedInvalid("warrant signature"))
        }
    }
}

fn pairing_check(params: &PublicParams, sig: &G2Affine, h: &G2Affine) -> bool {
    pairing_eq(sig, params.master_public_key(), h)
}

/// `e(G1, sig) == e(pk, h)`, as one multi-Miller loop `e(−G1, sig)·e(pk, h)` and one final
/// exponentiation compared with 1 (the standard BLS verification equation, half the final
/// exponentiations of two separate pairings).
fn pairing_eq(sig: &G2Affine, pk: &G1Affine, h: &G2Affine) -> bool {
    let neg_g1 = -G1Affine::generator();
    let sig = G2Prepared::from(*sig);
    let h = G2Prepared::from(*h);
    bool::from(
        PEngine::multi_miller_loop(&[(&neg_g1, &sig), (pk, &h)])
            .final_exponentiation()
            .is_identity(),
    )
}

/// Combines ≥ k shares of the identity key for `identity`, verifying each first.
pub fn combine_identity_key(
    params: &PublicParams,
    identity: &ScopeIdentity,
    shares: &[KeyShare],
) -> Result<IdentityKey> {
    params.check_identity(identity)?;
    let subject = Subject::Identity {
        identity: identity.clone(),
    };
    let point = combine(params, &subject, shares)?;
    let key = IdentityKey::from_parts(identity.clone(), point);
    key.verify(params)?;
    Ok(key)
}

/// Combines ≥ k approval shares of a warrant digest, verifying each first.
pub fn combine_warrant_signature(
    params: &PublicParams,
    digest: &[u8; 32],
    shares: &[KeyShare],
) -> Result<WarrantSignature> {
    let subject = Subject::Warrant {
        digest: hex::encode(digest),
    };
    let point = combine(params, &subject, shares)?;
    let sig = WarrantSignature {
        digest: *digest,
        point,
    };
    sig.verify(params)?;
    Ok(sig)
}

/// Checks every share (known authority, right subject, not a duplicate, valid by pairing),
/// then interpolates the first k at zero with blsttc.
fn combine(params: &PublicParams, subject: &Subject, shares: &[KeyShare]) -> Result<G2Affine> {
    let h = subject.point()?;
    let mut seen = BTreeSet::new();
    for s in shares {
        if &s.subject != subject {
            return Err(Error::WrongSubject {
                authority: s.authority.clone(),
                what: subject.kind(),
            });
        }
        if !seen.insert(s.index) {
            return Err(Error::DuplicateShare {
                authority: s.authority.clone(),
            });
        }
        s.verify_with_point(params, &h)?;
    }
    if shares.len() < params.threshold() {
        return Err(Error::NotEnoughShares {
            valid: shares.len(),
            required: params.threshold(),
            authorities: params.authorities().len(),
        });
    }
    let sig: Signature = params
        .public_key_set()
        .combine_signatures(shares.iter().map(|s| (s.index as usize, &s.share)))
        .map_err(|_| Error::Internal(crate::Bug::Combination))?;
    g2_from_bytes("combined key", &sig.to_bytes())
        .map_err(|_| Error::CombinedInvalid(subject.kind()))
}
