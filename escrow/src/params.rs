//! Public parameters of one escrow generation (`params.json`).
//!
//! A generation is one master key `s`, shared k-of-n among named authorities with a degree
//! k−1 polynomial `f` (`f(0) = s`). Authority `index` i holds `f(i+1)` (blsttc's convention);
//! its public key share is `f(i+1)·G1`. The parameters publish the master public key
//! `MPK = s·G1`, the Feldman commitment `[a_0·G1, …, a_{k−1}·G1]` (so anyone can recompute
//! every public key share), the authorities with their indices and key shares, the threshold,
//! the epoch length and the warrant policy limits.
//!
//! Loading re-derives every public key share from the commitment and rejects any file whose
//! numbers disagree, so a tampered `params.json` cannot redirect shares.

use std::collections::BTreeSet;

use blsttc::poly::Commitment;
use blsttc::{G1Affine, PublicKeySet};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::encoding::{FORMAT_VERSION, from_json, g1_from_hex, g1_hex, to_json};
use crate::error::{Error, Result};
use crate::identity::{MAX_EPOCH_LENGTH, ScopeIdentity, check_name, epoch_of};

/// Largest number of authorities in one generation.
pub const MAX_AUTHORITIES: usize = 64;

/// Warrant policy limits that every honest authority enforces before approving.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Longest warrant timespan, in days, counted in whole epochs: the epochs a warrant's
    /// timespan overlaps (the keys it releases) times the epoch length must not exceed it.
    pub max_span_days: u32,
    /// Most target accounts in one warrant.
    pub max_targets: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_span_days: 31,
            max_targets: 10,
        }
    }
}

/// One authority of a generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    /// Unique name (court, ministry, …).
    pub name: String,
    /// blsttc share index; the share is the polynomial evaluated at `index + 1`.
    pub index: u32,
    /// `f(index + 1)·G1`.
    pub public_key_share: G1Affine,
}

/// How the generation's key was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SetupKind {
    /// One dealer made the polynomial and dropped it after handing out the shares.
    TrustedDealer,
    /// The authorities ran a joint-Feldman DKG (`escrow::dkg::board`), each in its own
    /// process with its own keys: no one held the polynomial.
    JointFeldmanDkg,
    /// The DKG's messages were run in one process (`escrow::dkg::run_all`): a simulation of
    /// the protocol, in which that process saw every share.
    SimulatedDkg,
}

/// The validated public parameters of one generation.
#[derive(Clone, Debug)]
pub struct PublicParams {
    realm: String,
    generation: u32,
    created_at: OffsetDateTime,
    setup: SetupKind,
    threshold: usize,
    epoch_length: u64,
    policy: Policy,
    master_public_key: G1Affine,
    commitment: Vec<G1Affine>,
    authorities: Vec<Authority>,
    public_key_set: PublicKeySet,
    valid_from: Option<OffsetDateTime>,
    valid_until: Option<OffsetDateTime>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsFile {
    version: u64,
    realm: String,
    generation: u32,
    created_at: String,
    setup: SetupKind,
    threshold: usize,
    epoch_length_secs: u64,
    policy: Policy,
    master_public_key: String,
    commitment: Vec<String>,
    authorities: Vec<AuthorityFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_until: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorityFile {
    name: String,
    index: u32,
    public_key_share: String,
}

use crate::encoding::rfc3339;

/// `f(index + 1)·G1` from the Feldman commitment.
fn pk_share(commitment: &[G1Affine], index: u32) -> G1Affine {
    Commitment::from(commitment.to_vec()).evaluate(u64::from(index) + 1)
}

/// Checks an authority list and threshold before any key material is made.
pub fn check_authorities(names: &[String], threshold: usize) -> Result<()> {
    if names.len() < 2 || names.len() > MAX_AUTHORITIES {
        return Err(Error::AuthorityCount { count: names.len() });
    }
    let mut seen = BTreeSet::new();
    for name in names {
        check_name("authority", name)?;
        if !seen.insert(name.as_str()) {
            return Err(Error::DuplicateAuthority { name: name.clone() });
        }
    }
    if threshold == 0 || threshold > names.len() {
        return Err(Error::Threshold {
            threshold,
            authorities: names.len(),
        });
    }
    Ok(())
}

impl PublicParams {
    /// Assembles and validates parameters from a commitment (used by setup).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        realm: &str,
        generation: u32,
        created_at: OffsetDateTime,
        setup: SetupKind,
        epoch_length: u64,
        policy: Policy,
        commitment: Vec<G1Affine>,
        names: &[String],
    ) -> Result<Self> {
        let public_key_set = PublicKeySet::from(Commitment::from(commitment.clone()));
        let authorities = names
            .iter()
            .enumerate()
            .map(|(i, name)| Authority {
                name: name.clone(),
                index: i as u32,
                public_key_share: pk_share(&commitment, i as u32),
            })
            .collect();
        let params = Self {
            realm: realm.to_owned(),
            generation,
            created_at,
            setup,
            threshold: commitment.len(),
            epoch_length,
            policy,
            master_public_key: commitment[0],
            commitment,
            authorities,
            public_key_set,
            valid_from: None,
            valid_until: None,
        };
        params.validate()?;
        Ok(params)
    }

    /// The same generation (realm, number, times, policy, validity) shared anew: `commitment`
    /// among `names`. Refresh and resharing use it; a master key that moved is refused with
    /// [`crate::Bug::MasterKeyMoved`] (an internal error: their arithmetic keeps it).
    pub(crate) fn reshared(&self, commitment: Vec<G1Affine>, names: &[String]) -> Result<Self> {
        let fresh = Self::new(
            &self.realm,
            self.generation,
            self.created_at,
            self.setup,
            self.epoch_length,
            self.policy,
            commitment,
            names,
        )?
        .with_validity(self.valid_from, self.valid_until)?;
        if fresh.master_public_key != self.master_public_key {
            return Err(Error::Internal(crate::Bug::MasterKeyMoved));
        }
        Ok(fresh)
    }

    /// The same generation with the validity window `[from, until)` (`None`: unbounded).
    pub(crate) fn with_validity(
        mut self,
        from: Option<OffsetDateTime>,
        until: Option<OffsetDateTime>,
    ) -> Result<Self> {
        self.valid_from = from;
        self.valid_until = until;
        self.validate()?;
        Ok(self)
    }

    fn validate(&self) -> Result<()> {
        check_name("realm", &self.realm)?;
        let names: Vec<String> = self.authorities.iter().map(|a| a.name.clone()).collect();
        check_authorities(&names, self.threshold)?;
        if self.epoch_length == 0 || self.epoch_length > MAX_EPOCH_LENGTH {
            return Err(Error::InconsistentParameters("epoch length out of range"));
        }
        if self.policy.max_span_days == 0 || self.policy.max_targets == 0 {
            return Err(Error::InconsistentParameters(
                "policy limits must be positive",
            ));
        }
        if self.commitment.len() != self.threshold {
            return Err(Error::InconsistentParameters(
                "commitment must have exactly threshold coefficients",
            ));
        }
        if self.commitment.first() != Some(&self.master_public_key) {
            return Err(Error::InconsistentParameters(
                "master public key is not the commitment's constant term",
            ));
        }
        let len = self.epoch_length as i64;
        for t in [self.valid_from, self.valid_until].into_iter().flatten() {
            if t.unix_timestamp() < 0 || t.unix_timestamp() % len != 0 {
                return Err(Error::InconsistentParameters(
                    "validity must start and end on epoch boundaries",
                ));
            }
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until)
            && from >= until
        {
            return Err(Error::InconsistentParameters(
                "validity must end after it starts",
            ));
        }
        let mut indices = BTreeSet::new();
        for a in &self.authorities {
            if a.index as usize >= MAX_AUTHORITIES || !indices.insert(a.index) {
                return Err(Error::InconsistentParameters(
                    "authority indices must be distinct and below 64",
                ));
            }
            let expected = pk_share(&self.commitment, a.index);
            if expected != a.public_key_share {
                return Err(Error::InconsistentParameters(
                    "an authority's public key share does not match the commitment",
                ));
            }
        }
        Ok(())
    }

    /// Parses and validates `params.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let f: ParamsFile = from_json("params", bytes)?;
        let created_at = OffsetDateTime::parse(&f.created_at, &Rfc3339)
            .map_err(|_| Error::InconsistentParameters("created_at is not RFC 3339"))?;
        if f.commitment.is_empty() || f.commitment.len() > MAX_AUTHORITIES {
            return Err(Error::InconsistentParameters(
                "commitment length out of range",
            ));
        }
        let commitment = f
            .commitment
            .iter()
            .map(|c| g1_from_hex("commitment", c))
            .collect::<Result<Vec<_>>>()?;
        let authorities = f
            .authorities
            .iter()
            .map(|a| {
                Ok(Authority {
                    name: a.name.clone(),
                    index: a.index,
                    public_key_share: g1_from_hex("public_key_share", &a.public_key_share)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let bound = |what: &'static str, v: &Option<String>| {
            v.as_deref()
                .map(|t| OffsetDateTime::parse(t, &Rfc3339))
                .transpose()
                .map_err(|_| Error::BadTime {
                    what,
                    value: v.clone().unwrap_or_default(),
                })
        };
        let valid_from = bound("valid_from", &f.valid_from)?;
        let valid_until = bound("valid_until", &f.valid_until)?;
        let params = Self {
            valid_from,
            valid_until,
            realm: f.realm,
            generation: f.generation,
            created_at,
            setup: f.setup,
            threshold: f.threshold,
            epoch_length: f.epoch_length_secs,
            policy: f.policy,
            master_public_key: g1_from_hex("master_public_key", &f.master_public_key)?,
            public_key_set: PublicKeySet::from(Commitment::from(commitment.clone())),
            commitment,
            authorities,
        };
        params.validate()?;
        Ok(params)
    }

    /// Serializes to `params.json`.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let f = ParamsFile {
            version: FORMAT_VERSION,
            realm: self.realm.clone(),
            generation: self.generation,
            created_at: rfc3339(self.created_at)?,
            setup: self.setup,
            threshold: self.threshold,
            epoch_length_secs: self.epoch_length,
            policy: self.policy,
            master_public_key: g1_hex(&self.master_public_key),
            commitment: self.commitment.iter().map(g1_hex).collect(),
            authorities: self
                .authorities
                .iter()
                .map(|a| AuthorityFile {
                    name: a.name.clone(),
                    index: a.index,
                    public_key_share: g1_hex(&a.public_key_share),
                })
                .collect(),
            valid_from: self.valid_from.map(rfc3339).transpose()?,
            valid_until: self.valid_until.map(rfc3339).transpose()?,
        };
        to_json(&f)
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The generation number.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// When the generation was created.
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }

    /// How the key was generated.
    pub fn setup(&self) -> SetupKind {
        self.setup
    }

    /// The same parameters, recorded as made by `setup`.
    pub(crate) fn with_setup(mut self, setup: SetupKind) -> Self {
        self.setup = setup;
        self
    }

    /// First instant of the generation's validity (`None`: it covers all earlier time).
    pub fn valid_from(&self) -> Option<OffsetDateTime> {
        self.valid_from
    }

    /// End of the generation's validity, exclusive (`None`: open-ended).
    pub fn valid_until(&self) -> Option<OffsetDateTime> {
        self.valid_until
    }

    /// Whether the whole of `epoch` lies inside the validity window (the bounds are epoch
    /// boundaries, so an epoch is either wholly inside or wholly outside).
    pub fn covers_epoch(&self, epoch: u64) -> bool {
        let start = i128::from(epoch) * i128::from(self.epoch_length);
        let end = start + i128::from(self.epoch_length);
        self.valid_from
            .is_none_or(|f| i128::from(f.unix_timestamp()) <= start)
            && self
                .valid_until
                .is_none_or(|u| end <= i128::from(u.unix_timestamp()))
    }

    /// The threshold k: shares needed to release a key.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// Epoch length in seconds.
    pub fn epoch_length(&self) -> u64 {
        self.epoch_length
    }

    /// Warrant policy limits.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The master public key `s·G1`.
    pub fn master_public_key(&self) -> &G1Affine {
        &self.master_public_key
    }

    /// The Feldman commitment to the sharing polynomial.
    pub fn commitment(&self) -> &[G1Affine] {
        &self.commitment
    }

    /// The authorities, in index order.
    pub fn authorities(&self) -> &[Authority] {
        &self.authorities
    }

    /// The authority with this name.
    pub fn authority(&self, name: &str) -> Option<&Authority> {
        self.authorities.iter().find(|a| a.name == name)
    }

    /// The authority with this index.
    pub fn authority_by_index(&self, index: u32) -> Option<&Authority> {
        self.authorities.iter().find(|a| a.index == index)
    }

    /// blsttc's view of the public key set (for combining shares).
    pub(crate) fn public_key_set(&self) -> &PublicKeySet {
        &self.public_key_set
    }

    /// The scope identity of `account` at time `t` in this generation.
    pub fn identity_at(&self, account: &str, t: OffsetDateTime) -> Result<ScopeIdentity> {
        ScopeIdentity::new(
            &self.realm,
            self.generation,
            epoch_of(t, self.epoch_length)?,
            account,
        )
    }

    /// The scope identity of `account` in `epoch` of this generation.
    pub fn identity(&self, account: &str, epoch: u64) -> Result<ScopeIdentity> {
        ScopeIdentity::new(&self.realm, self.generation, epoch, account)
    }

    /// Fails unless `id` belongs to this realm and generation.
    pub(crate) fn check_identity(&self, id: &ScopeIdentity) -> Result<()> {
        if id.realm() != self.realm || id.generation() != self.generation {
            return Err(Error::WrongGeneration {
                what: "scope identity",
                realm: id.realm().to_owned(),
                generation: id.generation(),
            });
        }
        Ok(())
    }
}

/// Every generation of a realm that a lab holds, ordered by number: the set a messenger wraps
/// under and an authority or auditor picks a warrant's generation from.
///
/// All generations share the realm and the epoch length (rotation keeps both), so an epoch
/// means the same interval in each. The generation for a chain of epoch `e` is the
/// **newest generation whose validity has begun by `e`, if it covers `e`**
/// ([`Generations::for_epoch`]); validity bounds are epoch boundaries, so a chain never
/// changes generation.
#[derive(Clone, Debug)]
pub struct Generations {
    list: Vec<PublicParams>,
}

impl Generations {
    /// Checks and orders a set of generations: at least one, distinct numbers, one realm, one
    /// epoch length.
    pub fn new(mut list: Vec<PublicParams>) -> Result<Self> {
        list.sort_by_key(|p| p.generation);
        let Some(first) = list.first() else {
            return Err(Error::InconsistentParameters("no generation"));
        };
        let (realm, len) = (first.realm.clone(), first.epoch_length);
        if list
            .iter()
            .any(|p| p.realm != realm || p.epoch_length != len)
        {
            return Err(Error::InconsistentParameters(
                "generations of one lab must share the realm and the epoch length",
            ));
        }
        if list.windows(2).any(|w| w[0].generation == w[1].generation) {
            return Err(Error::InconsistentParameters(
                "two parameter files hold the same generation",
            ));
        }
        Ok(Self { list })
    }

    /// One generation alone.
    pub fn single(params: PublicParams) -> Self {
        Self { list: vec![params] }
    }

    /// The generation with the highest number.
    pub fn newest(&self) -> &PublicParams {
        // `new` and `single` never make an empty list.
        &self.list[self.list.len() - 1]
    }

    /// Generation `generation`, or [`Error::UnknownGeneration`].
    pub fn get(&self, generation: u32) -> Result<&PublicParams> {
        self.list
            .iter()
            .find(|p| p.generation == generation)
            .ok_or_else(|| Error::UnknownGeneration {
                generation,
                known: self.numbers(),
            })
    }

    /// The generation of `epoch`: the newest generation whose validity has begun by the
    /// epoch's start — if that one still covers the epoch. A newer generation supersedes the
    /// older ones from its start for good: when it expires, nothing covers later epochs until
    /// the next rotation (traffic never falls back to an older key, perhaps retired).
    pub fn for_epoch(&self, epoch: u64) -> Option<&PublicParams> {
        let start = i128::from(epoch) * i128::from(self.newest().epoch_length);
        self.list
            .iter()
            .rev()
            .find(|p| {
                p.valid_from
                    .is_none_or(|f| i128::from(f.unix_timestamp()) <= start)
            })
            .filter(|p| p.covers_epoch(epoch))
    }

    /// [`Generations::for_epoch`], or [`Error::NoGeneration`].
    pub fn require_for_epoch(&self, epoch: u64) -> Result<&PublicParams> {
        self.for_epoch(epoch).ok_or_else(|| Error::NoGeneration {
            epoch,
            start: i128::from(epoch) * i128::from(self.newest().epoch_length),
        })
    }

    /// Every generation, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &PublicParams> {
        self.list.iter()
    }

    /// The numbers, as text (`1, 2, 3`).
    fn numbers(&self) -> String {
        let n: Vec<String> = self.list.iter().map(|p| p.generation.to_string()).collect();
        n.join(", ")
    }
}
