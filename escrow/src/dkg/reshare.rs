//! Resharing a generation to a new set of authorities and/or a new threshold, keeping the
//! master public key, as a protocol between the authorities (share redistribution: Desmedt
//! and Jajodia 1997; Wong, Wang and Wing, "Verifiable Secret Redistribution", 2002; with the
//! DKG's public complaint round). A proactive refresh (Herzberg, Jarecki, Krawczyk, Yung,
//! CRYPTO 1995) is the special case `to = from = every authority`, same threshold: every share
//! changes, the key does not.
//!
//! ```text
//! old authorities (x_i = i + 1), shares s_i, public key shares PK_i; new: `to`, threshold k'
//! deal      old dealer i draws h_i of degree k' − 1 with h_i(0) = s_i, publishes
//!           H_i = h_i·G1 (k' points) and, for each new authority m, h_i(m+1) encrypted to m
//!           (the DKG's transport and signatures); H_i(0) must equal PK_i: i deals its own
//!           share and nothing else, checked by everyone
//! respond   new authority m checks h_i(m+1)·G1 == H_i(m+1) and complains otherwise
//! justify   dealer i reveals h_i(m+1) for each complaint (≤ t' = k' − 1 of them), carrying
//!           the responses it answers (the round they close)
//! qualify   (public) S = the first k old dealers, in index order, whose deal is well formed,
//!           signed, answers every complaint and hides its own PK_i; λ_i the Lagrange
//!           coefficients at 0 over S's x_i
//! finish    s'_m = Σ_{i∈S} λ_i h_i(m+1);  commitment' = Σ_{i∈S} λ_i H_i, whose constant
//!           term Σ λ_i PK_i must be MPK (checked by every new authority)
//! revoke    each old authority destroys its old share and logs `sharing-revoked`; once
//!           n − k + 1 have (fewer than k old shares remain), the new sharing replaces the old
//!           one and `generation-reshared` is logged ([`board`](super::reshare_board))
//! ```
//!
//! `Σ λ_i h_i` is a polynomial of degree k' − 1 whose constant term is `Σ λ_i s_i = s`: old
//! traffic opens with the new shares, and old and new shares do not combine. What it cannot
//! promise: a share copied before the resharing stays a share of the same secret; k old shares
//! copied before it still open every message of the generation. Revocation makes that need
//! k copies made before the old shares were destroyed — it does not undo a copy.

use std::collections::{BTreeMap, BTreeSet};

use blsttc::poly::{Commitment, Poly};
use blsttc::{Fr, G1Affine, G1Projective, SecretKeyShare};
use ff::Field;
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use super::refusal::{DkgRefusal, Procedure};
use super::signing::MessageKey;
use super::transport::{self, TransportKey};
use super::{
    CheckedDeal, Deal, EncryptedRow, Finished, Justification, PartyKeys, Response, RevealedRow,
    Signed, SigningKeys, Zeroized, digest_rounds, file_digest,
};
use crate::dkg::refusal::{Exclusion, Piece};
use crate::encoding::FORMAT_VERSION;
use crate::error::{Error, Result};
use crate::params::{PublicParams, check_authorities};
use crate::setup::AuthorityShare;

/// A resharing session: the generation, who deals, who receives, the new threshold, and every
/// party's public keys.
#[derive(Clone, Debug)]
pub struct ReshareConfig {
    /// The generation as it is shared now.
    pub old: PublicParams,
    /// The old authorities that deal (at least k of them must deal correctly).
    pub from: Vec<String>,
    /// The new authorities, in index order.
    pub to: Vec<String>,
    /// The new threshold k'.
    pub threshold: usize,
    /// Every party: the old authorities (index order), then new names not among them.
    pub parties: Vec<String>,
    /// Transport public keys, one per party.
    pub transport_keys: Vec<String>,
    /// Message-signing public keys, one per party.
    pub signing_keys: Vec<String>,
    /// A fresh random value (hex).
    pub nonce: String,
}

impl SigningKeys for ReshareConfig {
    fn signing_key(&self, name: &str) -> Option<&str> {
        self.party(name)
            .and_then(|i| self.signing_keys.get(i))
            .map(String::as_str)
    }
}

/// The parties of a resharing of `old` to `to`: every old authority, then the new names.
pub fn parties(old: &PublicParams, to: &[String]) -> Vec<String> {
    let mut out: Vec<String> = old.authorities().iter().map(|a| a.name.clone()).collect();
    for n in to {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

impl ReshareConfig {
    /// A proposal (no keys yet) with a fresh nonce, checked.
    pub fn propose<R: RngCore + CryptoRng>(
        old: PublicParams,
        from: Vec<String>,
        to: Vec<String>,
        threshold: usize,
        rng: &mut R,
    ) -> Result<Self> {
        let mut nonce = [0u8; 32];
        rng.fill_bytes(&mut nonce);
        let parties = parties(&old, &to);
        let c = Self {
            old,
            from,
            to,
            threshold,
            parties,
            transport_keys: Vec::new(),
            signing_keys: Vec::new(),
            nonce: hex::encode(nonce),
        };
        c.check_proposal()?;
        Ok(c)
    }

    /// The proposal's rules: distinct dealers among the old authorities, at least k of them;
    /// a valid new authority list; k' ≥ 2 (k' = 1 would give every new authority the secret).
    pub fn check_proposal(&self) -> Result<()> {
        crate::encoding::hex_array::<32>("nonce", &self.nonce)?;
        if self.threshold < 2 {
            return Err(Error::DkgRefused(DkgRefusal::ReshareThreshold {
                threshold: self.threshold,
            }));
        }
        check_authorities(&self.to, self.threshold)?;
        let k = self.old.threshold();
        let distinct: BTreeSet<&String> = self.from.iter().collect();
        if distinct.len() != self.from.len() {
            return Err(Error::DkgRefused(DkgRefusal::DealerTwice));
        }
        for d in &self.from {
            if self.old.authority(d).is_none() {
                return Err(Error::NotAnAuthority(d.clone()));
            }
        }
        if self.from.len() < k {
            return Err(Error::DkgRefused(DkgRefusal::TooFewDealers {
                named: self.from.len(),
                threshold: k,
                authorities: self.old.authorities().len(),
            }));
        }
        Ok(())
    }

    /// Checks the proposal and the keys.
    pub fn validate(&self) -> Result<()> {
        self.check_proposal()?;
        let n = self.parties.len();
        if self.parties != parties(&self.old, &self.to)
            || self.transport_keys.len() != n
            || self.signing_keys.len() != n
        {
            return Err(Error::DkgRefused(DkgRefusal::KeyCount {
                procedure: Procedure::Resharing,
            }));
        }
        for k in &self.transport_keys {
            transport::public_from_hex(k)?;
        }
        for k in &self.signing_keys {
            super::signing::public_from_hex(k)?;
        }
        let distinct: BTreeSet<&String> = self.signing_keys.iter().collect();
        if distinct.len() != n {
            return Err(Error::DkgRefused(DkgRefusal::SharedSigningKey {
                procedure: Procedure::Resharing,
            }));
        }
        Ok(())
    }

    fn hash_proposal(&self, h: &mut Sha256, domain: &[u8]) {
        let mut put = |b: &[u8]| {
            h.update((b.len() as u32).to_be_bytes());
            h.update(b);
        };
        put(domain);
        put(self.nonce.as_bytes());
        put(self.old.realm().as_bytes());
        put(&self.old.generation().to_be_bytes());
        for p in self.old.commitment() {
            put(&p.to_compressed());
        }
        for a in self.old.authorities() {
            put(a.name.as_bytes());
        }
        put(&(self.threshold as u32).to_be_bytes());
        put(b"from");
        for a in &self.from {
            put(a.as_bytes());
        }
        put(b"to");
        for a in &self.to {
            put(a.as_bytes());
        }
    }

    /// The proposal id: the old sharing (realm, generation, commitment, authorities), the
    /// dealers, the new authorities and threshold, the nonce — what each join signs.
    pub fn proposal(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        self.hash_proposal(&mut h, b"escrow-lab/v1/reshare-proposal");
        h.finalize().into()
    }

    /// The session id: the proposal's fields, then every party's keys.
    pub fn session(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        self.hash_proposal(&mut h, b"escrow-lab/v1/reshare-session");
        for (t, s) in self.transport_keys.iter().zip(&self.signing_keys) {
            for b in [t.as_bytes(), s.as_bytes()] {
                h.update((b.len() as u32).to_be_bytes());
                h.update(b);
            }
        }
        h.finalize().into()
    }

    pub(crate) fn party(&self, name: &str) -> Option<usize> {
        self.parties.iter().position(|p| p == name)
    }

    fn new_index(&self, name: &str) -> Option<usize> {
        self.to.iter().position(|p| p == name)
    }

    fn old_index(&self, name: &str) -> Option<u32> {
        self.old.authority(name).map(|a| a.index)
    }

    fn degree(&self) -> usize {
        self.threshold - 1
    }

    fn aad(&self, dealer: &str, to: &str) -> Vec<u8> {
        let mut aad = self.session().to_vec();
        for s in [dealer, to] {
            aad.extend_from_slice(&(s.len() as u16).to_be_bytes());
            aad.extend_from_slice(s.as_bytes());
        }
        aad
    }

    /// Whether this resharing keeps the authorities and threshold (a proactive refresh).
    pub fn is_refresh(&self) -> bool {
        let old: Vec<&String> = self.old.authorities().iter().map(|a| &a.name).collect();
        self.threshold == self.old.threshold() && old == self.to.iter().collect::<Vec<_>>()
    }
}

/// A dealer's polynomial between dealing and justifying (zeroized on drop by blsttc).
pub struct ReshareSecret {
    poly: Poly,
}

impl std::fmt::Debug for ReshareSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReshareSecret(***)")
    }
}

impl ReshareSecret {
    /// The polynomial's bytes (for the dealer's 0600 state file).
    pub(crate) fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(self.poly.to_bytes())
    }

    /// Restores a dealer's polynomial, checking its degree.
    pub(crate) fn from_bytes(config: &ReshareConfig, bytes: &[u8]) -> Result<Self> {
        let bad = || Error::InvalidScalar {
            field: "reshare polynomial",
        };
        if bytes.len() != config.threshold * 32 {
            return Err(bad());
        }
        let poly = Poly::from_bytes(bytes.to_vec()).map_err(|_| bad())?;
        if poly.degree() != config.degree() {
            return Err(bad());
        }
        Ok(Self { poly })
    }
}

fn scalar_bytes(v: &Fr) -> zeroize::Zeroizing<Vec<u8>> {
    zeroize::Zeroizing::new(v.to_bytes_be().to_vec())
}

fn scalar_from(bytes: &[u8]) -> Option<Fr> {
    let arr: [u8; 32] = bytes.try_into().ok()?;
    Option::from(Fr::from_bytes_be(&arr))
}

/// Old authority `share.authority()` deals its own share to the new authorities.
pub fn deal<R: RngCore + CryptoRng>(
    config: &ReshareConfig,
    share: &AuthorityShare,
    key: &MessageKey,
    rng: &mut R,
) -> Result<(Deal, ReshareSecret)> {
    config.validate()?;
    let name = share.authority();
    let pk = config
        .old
        .authority(name)
        .filter(|a| a.index == share.index())
        .ok_or_else(|| Error::ShareMismatch {
            authority: name.to_owned(),
        })?
        .public_key_share;
    let secret = Zeroized(vec![share.secret_scalar()?]);
    let p = Poly::try_random(config.degree(), rng)
        .map_err(|_| Error::Internal(crate::Bug::Polynomial))?;
    let c0 = p.evaluate(0u64);
    let h = (p - c0) + secret.0[0];
    let commitment = h.commitment();
    if commitment.evaluate(0u64) != pk {
        return Err(Error::ShareMismatch {
            authority: name.to_owned(),
        });
    }
    let mut rows = Vec::new();
    for (m, to) in config.to.iter().enumerate() {
        let i = config
            .party(to)
            .ok_or(Error::Internal(crate::Bug::PartyIndex))?;
        let pk = transport::public_from_hex(&config.transport_keys[i])?;
        let v = scalar_bytes(&h.evaluate(m as u64 + 1));
        rows.push(EncryptedRow {
            to: to.clone(),
            ciphertext: hex::encode(transport::seal(&pk, &config.aad(name, to), &v, rng)?),
        });
    }
    let deal = Deal {
        version: FORMAT_VERSION,
        kind: "escrow-lab/dkg-deal".into(),
        session: hex::encode(config.session()),
        dealer: name.to_owned(),
        commitment: hex::encode(commitment.to_bytes()),
        rows,
        signature: String::new(),
    }
    .signed(key)?;
    Ok((deal, ReshareSecret { poly: h }))
}

/// A reshare deal, checked for form: signed, this session, an old dealer, k' commitment points
/// whose constant term is the dealer's public key share, one value per new authority.
pub(crate) struct Parsed {
    digest: String,
    commitment: Commitment,
    rows: BTreeMap<String, Vec<u8>>,
}

fn parse(config: &ReshareConfig, d: &Deal) -> std::result::Result<Parsed, Exclusion> {
    let bytes = hex::decode(&d.commitment).map_err(|_| Exclusion::CommitmentHex)?;
    let points =
        crate::encoding::commitment_points(&bytes).map_err(|_| Exclusion::CommitmentPoint)?;
    if points.len() != config.threshold {
        return Err(Exclusion::CommitmentDegree);
    }
    let pk = config
        .old
        .authority(&d.dealer)
        .ok_or(Exclusion::NotOldAuthority)?
        .public_key_share;
    if points[0] != pk {
        return Err(Exclusion::NotOwnShare);
    }
    let commitment = Commitment::from(points);
    let mut rows = BTreeMap::new();
    for r in &d.rows {
        if config.new_index(&r.to).is_none() {
            return Err(Exclusion::UnknownParty {
                piece: Piece::Value,
                party: r.to.clone(),
            });
        }
        let ct = hex::decode(&r.ciphertext).map_err(|_| Exclusion::CiphertextHex {
            piece: Piece::Value,
        })?;
        if rows.insert(r.to.clone(), ct).is_some() {
            return Err(Exclusion::TwoPieces {
                piece: Piece::Value,
                party: r.to.clone(),
            });
        }
    }
    if rows.len() != config.to.len() {
        return Err(Exclusion::ValuesMissing);
    }
    Ok(Parsed {
        digest: file_digest(d).map_err(|_| Exclusion::Internal(crate::Bug::JsonEncoding))?,
        commitment,
        rows,
    })
}

fn checked_value(commitment: &Commitment, m: usize, bytes: &[u8]) -> Option<Fr> {
    let v = scalar_from(bytes)?;
    (G1Affine::generator() * v == G1Projective::from(commitment.evaluate(m as u64 + 1)))
        .then_some(v)
}

fn own_value(
    config: &ReshareConfig,
    dealer: &str,
    d: &Parsed,
    me: &str,
    key: &TransportKey,
) -> Option<Fr> {
    let m = config.new_index(me)?;
    let ct = d.rows.get(me)?;
    let bytes = key.open(&config.aad(dealer, me), ct).ok()?;
    checked_value(&d.commitment, m, &bytes)
}

/// New authority `me` checks its value from every dealer and publishes its complaints.
pub fn respond(
    config: &ReshareConfig,
    me: &str,
    keys: &PartyKeys,
    deals: &[Deal],
) -> Result<Response> {
    config.validate()?;
    if config.new_index(me).is_none() {
        return Err(Error::NotAnAuthority(me.to_owned()));
    }
    let board = Board::new(config, deals, &[], &[]);
    let mut complaints = Vec::new();
    let mut checked = Vec::new();
    for dealer in &config.from {
        let Some(Ok(d)) = board.deals.get(dealer) else {
            continue;
        };
        checked.push(CheckedDeal {
            dealer: dealer.clone(),
            digest: d.digest.clone(),
        });
        if own_value(config, dealer, d, me, &keys.transport).is_none() {
            complaints.push(dealer.clone());
        }
    }
    Response {
        version: FORMAT_VERSION,
        kind: "escrow-lab/dkg-response".into(),
        session: hex::encode(config.session()),
        party: me.to_owned(),
        complaints,
        checked,
        signature: String::new(),
    }
    .signed(&keys.signing)
}

/// Dealer `dealer` reveals the values of the new authorities that complained about it (none
/// if more than t' did), carrying the responses it answers.
pub fn justify(
    config: &ReshareConfig,
    dealer: &str,
    secret: &ReshareSecret,
    key: &MessageKey,
    deals: &[Deal],
    responses: &[Response],
) -> Result<Justification> {
    let board = Board::new(config, deals, responses, &[]);
    let against = board.complaints_against(dealer);
    let mut rows = Vec::new();
    if against.len() <= config.degree() {
        for party in against {
            if let Some(m) = config.new_index(&party) {
                rows.push(RevealedRow {
                    party: party.clone(),
                    row: hex::encode(scalar_bytes(&secret.poly.evaluate(m as u64 + 1)).as_slice()),
                });
            }
        }
    }
    let session = hex::encode(config.session());
    Justification {
        version: FORMAT_VERSION,
        kind: "escrow-lab/dkg-justification".into(),
        session: session.clone(),
        dealer: dealer.to_owned(),
        rows,
        answered: responses
            .iter()
            .filter(|r| r.session == session && r.verify(config))
            .cloned()
            .collect(),
        signature: String::new(),
    }
    .signed(key)
}

/// What a resharing produced, as every new authority and any monitor computes it.
#[derive(Debug)]
pub struct Reshared {
    /// The generation's new parameters (same master key).
    pub params: PublicParams,
    /// The k old dealers whose polynomials were combined, in index order.
    pub used: Vec<String>,
    /// Old dealers excluded, with the reason.
    pub excluded: Vec<(String, Exclusion)>,
}

/// The public result.
pub fn qualify(
    config: &ReshareConfig,
    deals: &[Deal],
    justifications: &[Justification],
) -> Result<Reshared> {
    config.validate()?;
    let board = Board::closed(config, deals, justifications);
    qualify_board(config, &board).map(|(r, _)| r)
}

fn lagrange_at_zero(xs: &[Fr], i: usize) -> Result<Fr> {
    let mut num = Fr::one();
    let mut den = Fr::one();
    for (j, xj) in xs.iter().enumerate() {
        if j != i {
            num *= xj;
            den *= *xj - xs[i];
        }
    }
    let inv = Option::<Fr>::from(den.invert()).ok_or(Error::Internal(crate::Bug::RepeatedIndex))?;
    Ok(num * inv)
}

/// A dealer combined into the new sharing: its name, deal and Lagrange coefficient.
type Used<'b> = (&'b str, &'b Parsed, Fr);

fn qualify_board<'b>(
    config: &'b ReshareConfig,
    board: &'b Board,
) -> Result<(Reshared, Vec<Used<'b>>)> {
    let mut qualified = Vec::new();
    let mut excluded = Vec::new();
    let mut dealers: Vec<&String> = config.from.iter().collect();
    dealers.sort_by_key(|d| config.old_index(d));
    for dealer in dealers {
        match board.verdict(config, dealer) {
            Ok(d) => qualified.push((dealer.as_str(), d)),
            Err(reason) => excluded.push((dealer.clone(), reason)),
        }
    }
    let k = config.old.threshold();
    if qualified.len() < k {
        return Err(Error::DkgRefused(DkgRefusal::TooFewQualified {
            qualified: qualified.len(),
            needed: k,
            excluded,
        }));
    }
    qualified.truncate(k);
    let xs: Vec<Fr> = qualified
        .iter()
        .map(|(d, _)| Fr::from(u64::from(config.old_index(d).unwrap_or(0)) + 1))
        .collect();
    let mut sum: Vec<G1Projective> = vec![G1Projective::identity(); config.threshold];
    let mut used = Vec::new();
    for (q, (d, p)) in qualified.iter().enumerate() {
        let lambda = lagrange_at_zero(&xs, q)?;
        let points = super::commitment_points(&p.commitment)?;
        for (c, pt) in sum.iter_mut().zip(points) {
            *c += pt * lambda;
        }
        used.push((*d, *p, lambda));
    }
    let points: Vec<G1Affine> = sum.iter().map(|p| p.to_affine()).collect();
    let params = config
        .old
        .reshared(points, &config.to)
        .map_err(|_| Error::DkgRefused(DkgRefusal::MasterKeyMoved))?;
    Ok((
        Reshared {
            params,
            used: used.iter().map(|(d, _, _)| (*d).to_owned()).collect(),
            excluded,
        },
        used,
    ))
}

/// New authority `me` finishes: the public result and its new share (checked against it).
pub fn finish(
    config: &ReshareConfig,
    me: &str,
    key: &TransportKey,
    deals: &[Deal],
    justifications: &[Justification],
) -> Result<(Reshared, AuthorityShare)> {
    config.validate()?;
    let m = config
        .new_index(me)
        .ok_or_else(|| Error::NotAnAuthority(me.to_owned()))?;
    let board = Board::closed(config, deals, justifications);
    let (r, used) = qualify_board(config, &board)?;
    let mut s = Fr::zero();
    for (dealer, d, lambda) in used {
        let revealed = board
            .revealed
            .get(dealer)
            .and_then(|r| r.as_ref().ok())
            .and_then(|r| r.get(me))
            .and_then(|b| checked_value(&d.commitment, m, b));
        let v = match revealed {
            Some(v) => v,
            None => own_value(config, dealer, d, me, key).ok_or(Error::DkgRow {
                dealer: dealer.to_owned(),
            })?,
        };
        s += lambda * v;
    }
    let share = AuthorityShare::from_parts(
        config.old.realm(),
        config.old.generation(),
        me,
        m as u32,
        SecretKeyShare::from_mut(&mut s),
        &r.params,
    )?;
    Ok((r, share))
}

/// New authority `me`'s signed marker of its result and the transcript it used.
pub fn finished_marker(
    config: &ReshareConfig,
    me: &str,
    key: &MessageKey,
    r: &Reshared,
    deals: &[Deal],
    justifications: &[Justification],
) -> Result<Finished> {
    Finished {
        version: FORMAT_VERSION,
        kind: "escrow-lab/dkg-finished".into(),
        session: hex::encode(config.session()),
        authority: me.to_owned(),
        master_public_key: commitment_digest(&r.params),
        qualified: r.used.clone(),
        transcript: transcript_digest(config, deals, justifications)?,
        share: String::new(),
        signature: String::new(),
    }
    .signed(key)
}

/// What a reshare's finished marker names as its result: SHA-256 of the new commitment's
/// points (the master key alone would not tell two sharings apart).
pub fn commitment_digest(params: &PublicParams) -> String {
    let mut h = Sha256::new();
    for p in params.commitment() {
        h.update(p.to_compressed());
    }
    hex::encode(h.finalize())
}

/// The transcript digest of a resharing (as the DKG's).
pub fn transcript_digest(
    config: &ReshareConfig,
    deals: &[Deal],
    justifications: &[Justification],
) -> Result<String> {
    digest_rounds(
        config,
        &hex::encode(config.session()),
        &|who| config.party(who),
        deals,
        justifications,
    )
}

type Board = super::rounds::Board<Parsed>;

impl super::rounds::Protocol for ReshareConfig {
    type Parsed = Parsed;

    fn session_hex(&self) -> String {
        hex::encode(self.session())
    }

    fn is_dealer(&self, name: &str) -> bool {
        self.from.iter().any(|d| d == name)
    }

    fn responders(&self) -> Vec<String> {
        self.to.clone()
    }

    fn degree(&self) -> usize {
        self.threshold - 1
    }

    fn bound_name(&self) -> &'static str {
        "t'"
    }

    fn parse_deal(&self, d: &Deal) -> std::result::Result<Parsed, Exclusion> {
        parse(self, d)
    }

    fn digest<'p>(&self, p: &'p Parsed) -> &'p str {
        &p.digest
    }

    fn revealed_ok(&self, p: &Parsed, party: &str, bytes: &[u8]) -> bool {
        self.new_index(party)
            .is_some_and(|m| checked_value(&p.commitment, m, bytes).is_some())
    }
}

/// **A simulation in one process** (every party's keys and shares here): runs the resharing
/// protocol's messages from `dealers` (old shares) to `to` with threshold `k'`, for tests,
/// benchmarks and the scenario world. Returns the new parameters and shares (index order).
pub fn simulate<R: RngCore + CryptoRng>(
    old: &PublicParams,
    dealers: &[AuthorityShare],
    to: &[String],
    threshold: usize,
    rng: &mut R,
) -> Result<(PublicParams, Vec<AuthorityShare>)> {
    let from: Vec<String> = dealers.iter().map(|s| s.authority().to_owned()).collect();
    let mut config = ReshareConfig::propose(old.clone(), from, to.to_vec(), threshold, rng)?;
    let keys: Vec<PartyKeys> = config
        .parties
        .iter()
        .map(|_| PartyKeys::generate(rng))
        .collect();
    config.transport_keys = keys.iter().map(|k| k.transport.public_hex()).collect();
    config.signing_keys = keys.iter().map(|k| k.signing.public_hex()).collect();
    config.validate()?;
    let key_of = |name: &str| -> Result<&PartyKeys> {
        config
            .party(name)
            .map(|i| &keys[i])
            .ok_or(Error::Internal(crate::Bug::PartyIndex))
    };
    let mut deals = Vec::new();
    let mut secrets = Vec::new();
    for s in dealers {
        let (d, sec) = deal(&config, s, &key_of(s.authority())?.signing, rng)?;
        deals.push(d);
        secrets.push((s.authority().to_owned(), sec));
    }
    let responses = to
        .iter()
        .map(|m| respond(&config, m, key_of(m)?, &deals))
        .collect::<Result<Vec<_>>>()?;
    let justs = secrets
        .iter()
        .map(|(d, sec)| justify(&config, d, sec, &key_of(d)?.signing, &deals, &responses))
        .collect::<Result<Vec<_>>>()?;
    drop(secrets);
    let mut shares = Vec::new();
    let mut params = None;
    for m in to {
        let (r, share) = finish(&config, m, &key_of(m)?.transport, &deals, &justs)?;
        shares.push(share);
        params = Some(r.params);
    }
    Ok((
        params.ok_or(Error::Internal(crate::Bug::NoAuthority))?,
        shares,
    ))
}
