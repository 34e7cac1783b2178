//! Dealerless key generation: joint-Feldman DKG with bivariate polynomials and a public
//! complaint round.
//!
//! No party ever holds the master secret. With n authorities (party i at x = i + 1) and
//! threshold k = t + 1:
//!
//! ```text
//! deal      dealer j draws a random symmetric bivariate polynomial B_j(x, y) of degree t
//!           (blsttc BivarPoly), publishes its commitment C_j = B_j·G1 (BivarCommitment) and,
//!           for every party m, the row B_j(m+1, y) encrypted to m's transport key
//!           (transport.rs; aad = session ‖ dealer ‖ recipient)
//! respond   party m decrypts its row from every dealer and checks row·G1 == C_j.row(m+1);
//!           it publishes a complaint against every dealer whose row is missing, does not
//!           decrypt, or does not match
//! justify   dealer j reveals, in the clear, the row of every party that complained about it
//! qualify   (public, the same for everyone) j is disqualified if it published no deal or two
//!           different ones, a malformed commitment or row list, or failed to reveal a row
//!           matching C_j for every complaint; QUAL = the others
//! finish    party i: s_i = Σ_{j∈QUAL} B_j(i+1, 0) (its decrypted or revealed row at 0);
//!           the generation's commitment is Σ_{j∈QUAL} C_j.row(0), so MPK = Σ_j C_j(0, 0) and
//!           the public key share of i is Σ_j C_j(i+1, 0) = s_i·G1
//! ```
//!
//! This is Pedersen's joint-Feldman DKG (Eurocrypt 1991) with the bivariate dealing of
//! hbbft's `SyncKeyGen` (the BivarPoly rows let any t+1 parties' values reconstruct a row;
//! here the public justification round already gives every honest party a verified row from
//! every qualified dealer, which is what SyncKeyGen's acknowledgements are for, so no
//! per-party values are exchanged). The output has exactly the form of a dealer-made
//! generation (`setup: joint-feldman-dkg` in `params.json`), so everything downstream works
//! unchanged.
//!
//! **Key bias (accepted).** Gennaro, Jarecki, Krawczyk and Rabin (Eurocrypt 1999) showed that
//! in joint-Feldman a rushing adversary can bias the distribution of the public key: after
//! seeing the honest commitments it can get its own dealers disqualified (by failing to
//! justify) and so choose between 2^(#corrupt) candidate keys. It cannot learn the secret or
//! fix the key. GJKR 2007 ("Secure Applications of Pedersen's DKG") proved joint-Feldman keys
//! secure for threshold Schnorr-type schemes despite the bias, and deployed BLS DKGs (hbbft,
//! drand) accept it; escrow-lab does too. The fix — a first round of Pedersen VSS with
//! hiding commitments, opened only after QUAL is fixed — is not built.
//!
//! Safety needs n ≥ 2t + 1 with at most t dishonest parties: every honest dealer justifies
//! every complaint, so QUAL contains all honest dealers and at least one honest polynomial
//! randomizes the key.

pub mod board;
mod messages;
mod place;
pub mod refusal;
pub mod reshare;
pub mod reshare_board;
mod rounds;
pub mod signing;
pub mod transport;

pub use messages::{
    CheckedDeal, Deal, EncryptedRow, Finished, Join, Justification, Response, RevealedRow, Signed,
    SigningKeys, file_digest,
};
pub use refusal::{DkgRefusal, Exclusion, Piece};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use blsttc::poly::{BivarCommitment, BivarPoly, Commitment, Poly};
use blsttc::{Fr, SecretKeyShare};
use ff::Field;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::params::{PublicParams, SetupKind, check_authorities};
use crate::setup::{AuthorityShare, SetupRequest};
use refusal::Procedure;
use signing::MessageKey;
use transport::TransportKey;

/// One party's own DKG keys: made in its own state, only the public halves published.
#[derive(Clone, Debug)]
pub struct PartyKeys {
    /// Decrypts the rows dealt to the party.
    pub transport: TransportKey,
    /// Signs the party's messages.
    pub signing: MessageKey,
}

impl PartyKeys {
    /// Fresh keys.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self {
            transport: TransportKey::generate(rng),
            signing: MessageKey::generate(rng),
        }
    }
}

/// A DKG session: the generation requested and every authority's public keys (index order).
#[derive(Clone, Debug)]
pub struct DkgConfig {
    /// The generation to make.
    pub request: SetupRequest,
    /// Transport public keys (compressed SEC 1 hex), one per authority, in index order.
    pub transport_keys: Vec<String>,
    /// Message-signing public keys (Ed25519 hex), one per authority, in index order.
    pub signing_keys: Vec<String>,
    /// A fresh random value (hex) making every session id unique, so that no message of an
    /// earlier run can be replayed into this one.
    pub nonce: String,
}

impl DkgConfig {
    /// A configuration with a fresh nonce.
    pub fn new<R: RngCore + CryptoRng>(
        request: SetupRequest,
        keys: &[PartyKeys],
        rng: &mut R,
    ) -> Self {
        let mut nonce = [0u8; 32];
        rng.fill_bytes(&mut nonce);
        Self {
            request,
            transport_keys: keys.iter().map(|k| k.transport.public_hex()).collect(),
            signing_keys: keys.iter().map(|k| k.signing.public_hex()).collect(),
            nonce: hex::encode(nonce),
        }
    }

    /// **A simulation only**: a session for `request` with fresh keys for every authority made
    /// here, in one process (index order), and a fresh nonce, validated. Whoever holds the
    /// returned keys can read every row; a real run has each party make its own
    /// ([`board::join_as`]).
    pub fn generate<R: RngCore + CryptoRng>(
        request: &SetupRequest,
        rng: &mut R,
    ) -> Result<(Self, Vec<PartyKeys>)> {
        let keys: Vec<PartyKeys> = request
            .authorities
            .iter()
            .map(|_| PartyKeys::generate(rng))
            .collect();
        let config = Self::new(request.clone(), &keys, rng);
        config.validate()?;
        Ok((config, keys))
    }

    /// Checks the request and the keys.
    pub fn validate(&self) -> Result<()> {
        crate::identity::check_name("realm", &self.request.realm)?;
        crate::encoding::hex_array::<32>("nonce", &self.nonce)?;
        check_authorities(&self.request.authorities, self.request.threshold)?;
        let n = self.request.authorities.len();
        if self.transport_keys.len() != n || self.signing_keys.len() != n {
            return Err(Error::DkgRefused(DkgRefusal::KeyCount {
                procedure: Procedure::Dkg,
            }));
        }
        for k in &self.transport_keys {
            transport::public_from_hex(k)?;
        }
        for k in &self.signing_keys {
            signing::public_from_hex(k)?;
        }
        let distinct: BTreeSet<&String> = self.signing_keys.iter().collect();
        if distinct.len() != n {
            return Err(Error::DkgRefused(DkgRefusal::SharedSigningKey {
                procedure: Procedure::Dkg,
            }));
        }
        Ok(())
    }

    /// The proposal id: [`DkgConfig::session`]'s fields before any key is known (what each
    /// party's join signs).
    pub fn proposal(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        self.hash_request(&mut h, b"escrow-lab/v1/dkg-proposal");
        h.finalize().into()
    }

    fn hash_request(&self, h: &mut Sha256, domain: &[u8]) {
        let mut put = |b: &[u8]| {
            h.update((b.len() as u32).to_be_bytes());
            h.update(b);
        };
        put(domain);
        put(self.nonce.as_bytes());
        put(self.request.realm.as_bytes());
        put(&self.request.generation.to_be_bytes());
        put(&(self.request.threshold as u32).to_be_bytes());
        put(&self.request.epoch_length.to_be_bytes());
        put(&self.request.created_at.unix_timestamp().to_be_bytes());
        put(&self.request.policy.max_span_days.to_be_bytes());
        put(&self.request.policy.max_targets.to_be_bytes());
        for bound in [self.request.valid_from, self.request.valid_until] {
            match bound {
                Some(t) => put(&t.unix_timestamp().to_be_bytes()),
                None => put(b""),
            }
        }
        for name in &self.request.authorities {
            put(name.as_bytes());
        }
    }

    /// The session id: SHA-256 over the nonce, realm, generation, threshold, epoch length,
    /// creation time, policy, validity and names (length-prefixed), then every authority's
    /// transport and signing keys, binding every message to this run and these keys.
    pub fn session(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        self.hash_request(&mut h, b"escrow-lab/v1/dkg-session");
        for (t, s) in self.transport_keys.iter().zip(&self.signing_keys) {
            for b in [t.as_bytes(), s.as_bytes()] {
                h.update((b.len() as u32).to_be_bytes());
                h.update(b);
            }
        }
        h.finalize().into()
    }

    fn degree(&self) -> usize {
        self.request.threshold - 1
    }

    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.request.authorities.iter().position(|a| a == name)
    }

    fn row_aad(&self, dealer: &str, to: &str) -> Vec<u8> {
        let mut aad = self.session().to_vec();
        for s in [dealer, to] {
            aad.extend_from_slice(&(s.len() as u16).to_be_bytes());
            aad.extend_from_slice(s.as_bytes());
        }
        aad
    }
}

/// A dealer's polynomial between dealing and justifying (zeroized on drop by blsttc).
pub struct DealerSecret {
    dealer: usize,
    poly: BivarPoly,
}

impl fmt::Debug for DealerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DealerSecret(dealer #{}, ***)", self.dealer)
    }
}

impl DealerSecret {
    /// The polynomial's bytes (blsttc `BivarPoly::to_bytes`), for the dealer's 0600 state file.
    pub(crate) fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(self.poly.to_bytes())
    }

    /// Restores a dealer's polynomial, checking its degree.
    pub(crate) fn from_bytes(config: &DkgConfig, dealer: usize, bytes: &[u8]) -> Result<Self> {
        let t = config.degree();
        if bytes.len() != (t + 1) * (t + 2) / 2 * 32 {
            return Err(Error::InvalidScalar {
                field: "dealer polynomial",
            });
        }
        let poly = BivarPoly::from_bytes(bytes.to_vec()).map_err(|_| Error::InvalidScalar {
            field: "dealer polynomial",
        })?;
        if poly.degree() != t {
            return Err(Error::InvalidScalar {
                field: "dealer polynomial",
            });
        }
        Ok(Self { dealer, poly })
    }
}

/// Dealer `dealer` deals: a fresh polynomial, its commitment and the encrypted rows.
pub fn deal<R: RngCore + CryptoRng>(
    config: &DkgConfig,
    dealer: usize,
    key: &MessageKey,
    rng: &mut R,
) -> Result<(Deal, DealerSecret)> {
    config.validate()?;
    let name = config
        .request
        .authorities
        .get(dealer)
        .ok_or(Error::Internal(crate::Bug::PartyIndex))?;
    let poly = BivarPoly::try_random(config.degree(), rng)
        .map_err(|_| Error::Internal(crate::Bug::Polynomial))?;
    let mut rows = Vec::new();
    for (m, (to, key)) in config
        .request
        .authorities
        .iter()
        .zip(&config.transport_keys)
        .enumerate()
    {
        let row = zeroize::Zeroizing::new(poly.row(m as u64 + 1).to_bytes());
        let pk = transport::public_from_hex(key)?;
        let ct = transport::seal(&pk, &config.row_aad(name, to), &row, rng)?;
        rows.push((to.clone(), ct));
    }
    let deal = Deal::new(config, name, &poly.commitment(), rows, key)?;
    Ok((deal, DealerSecret { dealer, poly }))
}

/// A row as received: parsed, of the right degree, and matching the dealer's commitment.
fn checked_row(
    config: &DkgConfig,
    commitment: &BivarCommitment,
    m: usize,
    bytes: &[u8],
) -> Option<Poly> {
    if bytes.len() != (config.degree() + 1) * 32 {
        return None;
    }
    // blsttc's parser takes a Vec; the copy of the secret row is wiped when dropped.
    let copy = zeroize::Zeroizing::new(bytes.to_vec());
    let row = Poly::from_bytes(copy.to_vec()).ok()?;
    (row.degree() == config.degree() && row.commitment() == commitment.row(m as u64 + 1))
        .then_some(row)
}

/// Party `party` checks its rows and complains about every dealer whose row is bad.
pub fn respond(
    config: &DkgConfig,
    party: usize,
    keys: &PartyKeys,
    deals: &[Deal],
) -> Result<Response> {
    config.validate()?;
    let me = config
        .request
        .authorities
        .get(party)
        .ok_or(Error::Internal(crate::Bug::PartyIndex))?;
    let board = Board::new(config, deals, &[], &[]);
    let mut complaints = Vec::new();
    let mut checked = Vec::new();
    for dealer in &config.request.authorities {
        let Some(Ok(d)) = board.deals.get(dealer.as_str()) else {
            continue; // no deal (or an invalid one): everyone sees it, no complaint needed
        };
        checked.push(CheckedDeal {
            dealer: dealer.clone(),
            digest: d.digest.clone(),
        });
        if own_row(config, d, party, me, &keys.transport).is_none() {
            complaints.push(dealer.clone());
        }
    }
    Response::new(config, me, complaints, checked, &keys.signing)
}

fn own_row(
    config: &DkgConfig,
    d: &ParsedDeal,
    party: usize,
    me: &str,
    key: &TransportKey,
) -> Option<Poly> {
    let ct = d.rows.get(me)?;
    let bytes = key.open(&config.row_aad(&d.dealer, me), ct).ok()?;
    checked_row(config, &d.commitment, party, &bytes)
}

/// Dealer `secret.dealer` reveals the rows of every party that complained about it
/// (explicitly, or by not listing the dealer's deal among those it checked).
///
/// The justification carries the responses it answered (every party's, signed): the
/// complaints that count are those, and a response changed afterwards counts for nothing.
pub fn justify(
    config: &DkgConfig,
    secret: &DealerSecret,
    key: &MessageKey,
    deals: &[Deal],
    responses: &[Response],
) -> Result<Justification> {
    let name = config
        .request
        .authorities
        .get(secret.dealer)
        .ok_or(Error::Internal(crate::Bug::PartyIndex))?;
    let board = Board::new(config, deals, responses, &[]);
    let against = board.complaints_against(name);
    let mut rows = Vec::new();
    // More than t complaints: the dealer is excluded anyway, and t + 1 revealed rows would
    // give away its polynomial's constant term — reveal nothing (GJKR's rule).
    if against.len() <= config.degree() {
        for party in against {
            if let Some(m) = config.index_of(&party) {
                rows.push((party, secret.poly.row(m as u64 + 1).to_bytes()));
            }
        }
    }
    let session = hex::encode(config.session());
    let answered: Vec<Response> = responses
        .iter()
        .filter(|r| r.session == session && r.verify(config))
        .cloned()
        .collect();
    Justification::new(config, name, rows, answered, key)
}

/// What the DKG produced, as every honest party computes it from the public messages.
#[derive(Debug)]
pub struct Qualified {
    /// The generation's public parameters.
    pub params: PublicParams,
    /// Dealers whose polynomials form the key.
    pub qualified: Vec<String>,
    /// Dealers excluded, with the reason (the same for every honest party).
    pub excluded: Vec<(String, Exclusion)>,
}

/// The public result: QUAL, the exclusions and the generation's parameters.
///
/// The complaints that count are those of the responses the justifications carry (the round
/// they closed), never a response file as it is now.
pub fn qualify(
    config: &DkgConfig,
    deals: &[Deal],
    justifications: &[Justification],
) -> Result<Qualified> {
    config.validate()?;
    qualify_board(config, &Board::closed(config, deals, justifications))
}

/// Checks that the deals a party kept include every one its own signed response (as the
/// justifications carry it) says it checked: the copy in its state cannot be trimmed or
/// swapped without the party noticing.
pub(crate) fn check_own_view(
    keys: &dyn SigningKeys,
    who: &str,
    deals: &[Deal],
    justifications: &[Justification],
) -> Result<()> {
    let answered = answered_responses(justifications);
    let mut kept: Vec<(String, String)> = deals
        .iter()
        .map(|d| Ok((d.dealer.clone(), file_digest(d)?)))
        .collect::<Result<_>>()?;
    kept.sort();
    let mut mine = answered
        .iter()
        .filter(|r| r.party == who && r.verify(keys))
        .peekable();
    if mine.peek().is_none() {
        return Err(Error::DkgRefused(DkgRefusal::NoOwnResponse {
            who: who.to_owned(),
        }));
    }
    // Every deal it checked must still be there (a deal it did not list was malformed or
    // unsigned then, and counts for nothing either way).
    let intact = mine.any(|r| {
        r.checked.iter().all(|c| {
            kept.binary_search(&(c.dealer.clone(), c.digest.clone()))
                .is_ok()
        })
    });
    if !intact {
        return Err(Error::DkgRefused(DkgRefusal::OwnDealsAltered {
            who: who.to_owned(),
        }));
    }
    Ok(())
}

/// The responses the justifications answered (each as carried, deduplicated).
pub fn answered_responses(justifications: &[Justification]) -> Vec<Response> {
    let mut out: Vec<Response> = Vec::new();
    for j in justifications {
        for r in &j.answered {
            if !out.contains(r) {
                out.push(r.clone());
            }
        }
    }
    out
}

fn qualify_board(config: &DkgConfig, board: &Board) -> Result<Qualified> {
    let mut qualified = Vec::new();
    let mut excluded = Vec::new();
    let mut commitment: Option<Commitment> = None;
    for dealer in &config.request.authorities {
        match board.verdict(config, dealer) {
            Ok(d) => {
                let row0 = d.commitment.row(0u64);
                commitment = Some(match commitment {
                    None => row0,
                    Some(c) => c + row0,
                });
                qualified.push(dealer.clone());
            }
            Err(reason) => excluded.push((dealer.clone(), reason)),
        }
    }
    let commitment = commitment.ok_or(Error::DkgRefused(DkgRefusal::NoDealerQualified {
        excluded: excluded.len(),
    }))?;
    let points = commitment_points(&commitment)?;
    if points.len() != config.request.threshold {
        // Qualified commitments that cancel out (a crafted transcript), never honest ones.
        return Err(Error::InconsistentParameters(
            "the qualified commitments cancel out",
        ));
    }
    let r = &config.request;
    let params = PublicParams::new(
        &r.realm,
        r.generation,
        r.created_at,
        SetupKind::JointFeldmanDkg,
        r.epoch_length,
        r.policy,
        points,
        &r.authorities,
    )?
    .with_validity(r.valid_from, r.valid_until)?;
    Ok(Qualified {
        params,
        qualified,
        excluded,
    })
}

/// The coefficient points of a commitment (blsttc keeps them private; read through its bytes).
pub(crate) fn commitment_points(c: &Commitment) -> Result<Vec<blsttc::G1Affine>> {
    crate::encoding::commitment_points(&c.to_bytes())
}

/// Scalars overwritten with zero on drop (`Fr` has no `Zeroize`).
pub(crate) struct Zeroized(pub(crate) Vec<Fr>);

impl Drop for Zeroized {
    fn drop(&mut self) {
        for v in &mut self.0 {
            *v = Fr::zero();
        }
        std::hint::black_box(&self.0);
    }
}

/// Party `party` finishes: the public result and its own share (checked against it).
pub fn finish(
    config: &DkgConfig,
    party: usize,
    key: &TransportKey,
    deals: &[Deal],
    justifications: &[Justification],
) -> Result<(Qualified, AuthorityShare)> {
    config.validate()?;
    let board = Board::closed(config, deals, justifications);
    let q = qualify_board(config, &board)?;
    let me = config
        .request
        .authorities
        .get(party)
        .ok_or(Error::Internal(crate::Bug::PartyIndex))?;
    let mut s = Fr::zero();
    for dealer in &q.qualified {
        let Some(Ok(d)) = board.deals.get(dealer.as_str()) else {
            return Err(Error::Internal(crate::Bug::NoQualifiedDeal));
        };
        // A revealed row (after a complaint) was checked by `qualify`; else the party's own.
        let revealed = board
            .revealed
            .get(dealer.as_str())
            .and_then(|r| r.as_ref().ok())
            .and_then(|r| r.get(me))
            .and_then(|b| checked_row(config, &d.commitment, party, b));
        let row = match revealed {
            Some(row) => row,
            None => own_row(config, d, party, me, key).ok_or(Error::DkgRow {
                dealer: dealer.clone(),
            })?,
        };
        s += row.evaluate(0u64);
    }
    let share = AuthorityShare::from_parts(
        &config.request.realm,
        config.request.generation,
        me,
        party as u32,
        SecretKeyShare::from_mut(&mut s),
        &q.params,
    )?;
    Ok((q, share))
}

/// A deal, parsed and checked for form.
pub(crate) struct ParsedDeal {
    dealer: String,
    digest: String,
    commitment: BivarCommitment,
    rows: BTreeMap<String, Vec<u8>>,
}

type Board = rounds::Board<ParsedDeal>;

impl rounds::Protocol for DkgConfig {
    type Parsed = ParsedDeal;

    fn session_hex(&self) -> String {
        hex::encode(self.session())
    }

    fn is_dealer(&self, name: &str) -> bool {
        self.index_of(name).is_some()
    }

    fn responders(&self) -> Vec<String> {
        self.request.authorities.clone()
    }

    fn degree(&self) -> usize {
        self.request.threshold - 1
    }

    fn bound_name(&self) -> &'static str {
        "t"
    }

    fn parse_deal(&self, d: &Deal) -> std::result::Result<ParsedDeal, Exclusion> {
        d.parse(self)
    }

    fn digest<'p>(&self, p: &'p ParsedDeal) -> &'p str {
        &p.digest
    }

    fn revealed_ok(&self, p: &ParsedDeal, party: &str, bytes: &[u8]) -> bool {
        self.index_of(party)
            .is_some_and(|m| checked_row(self, &p.commitment, m, bytes).is_some())
    }
}

/// SHA-256 over the deals and justifications a party used (each sender's signed message, in
/// index order, by file digest): what its finished marker signs, so that all honest parties
/// can see they used one transcript.
pub fn transcript_digest(
    config: &DkgConfig,
    deals: &[Deal],
    justifications: &[Justification],
) -> Result<String> {
    digest_rounds(
        config,
        &hex::encode(config.session()),
        &|who| config.index_of(who),
        deals,
        justifications,
    )
}

/// [`transcript_digest`] for any board session (a DKG or a resharing).
pub(crate) fn digest_rounds(
    keys: &dyn SigningKeys,
    session: &str,
    order: &dyn Fn(&str) -> Option<usize>,
    deals: &[Deal],
    justifications: &[Justification],
) -> Result<String> {
    let mut h = Sha256::new();
    h.update(b"escrow-lab/v1/dkg-transcript");
    for (round, digests) in [
        (
            "deal",
            deals
                .iter()
                .filter(|d| d.session == session && d.verify(keys))
                .map(|d| Ok((d.dealer.clone(), file_digest(d)?)))
                .collect::<Result<Vec<_>>>()?,
        ),
        (
            "justification",
            justifications
                .iter()
                .filter(|j| j.session == session && j.verify(keys))
                .map(|j| Ok((j.dealer.clone(), file_digest(j)?)))
                .collect::<Result<Vec<_>>>()?,
        ),
    ] {
        let mut digests = digests;
        digests.sort_by_key(|(who, d)| (order(who), d.clone()));
        digests.dedup();
        for (who, d) in digests {
            for b in [round.as_bytes(), who.as_bytes(), d.as_bytes()] {
                h.update((b.len() as u32).to_be_bytes());
                h.update(b);
            }
        }
    }
    Ok(hex::encode(h.finalize()))
}

/// Party `party`'s signed marker of what it computed and from which transcript.
pub fn finished_marker(
    config: &DkgConfig,
    party: usize,
    key: &MessageKey,
    q: &Qualified,
    deals: &[Deal],
    justifications: &[Justification],
) -> Result<Finished> {
    Finished {
        version: crate::encoding::FORMAT_VERSION,
        kind: "escrow-lab/dkg-finished".into(),
        session: hex::encode(config.session()),
        authority: config
            .request
            .authorities
            .get(party)
            .ok_or(Error::Internal(crate::Bug::PartyIndex))?
            .clone(),
        master_public_key: crate::encoding::g1_hex(q.params.master_public_key()),
        qualified: q.qualified.clone(),
        transcript: transcript_digest(config, deals, justifications)?,
        share: String::new(),
        signature: String::new(),
    }
    .signed(key)
}

/// SHA-256 of a staged share file's bytes, hex (what a finished marker names).
pub(crate) fn staged_digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The public messages of a DKG run: what a monitor needs to recompute [`qualify`].
#[derive(Clone, Debug)]
pub struct Transcript {
    /// The session, with every party's public keys.
    pub config: DkgConfig,
    /// Every party's join (its public keys, self-signed).
    pub joins: Vec<Join>,
    /// Every deal.
    pub deals: Vec<Deal>,
    /// Every response.
    pub responses: Vec<Response>,
    /// Every justification.
    pub justifications: Vec<Justification>,
    /// Every party's finished marker.
    pub finished: Vec<Finished>,
}

/// **A simulation of the protocol, not a dealerless set-up**: runs the whole DKG in one
/// process — every authority's keys made here, every authority through the same messages,
/// serialized to their JSON files and parsed back — and returns the generation, every share
/// (index order), the public result and the transcript. This one process saw every share (it
/// could add them up); `escrow setup --dkg` and rotations use it to exercise the protocol's
/// code, and say so. A set-up in which no one holds the master key is the board run, one
/// command per authority ([`board`]).
pub fn run_all<R: RngCore + CryptoRng>(
    request: &SetupRequest,
    rng: &mut R,
) -> Result<(PublicParams, Vec<AuthorityShare>, Qualified, Transcript)> {
    let (config, keys) = DkgConfig::generate(request, rng)?;
    let n = request.authorities.len();
    let proposal = config.proposal();
    let joins = request
        .authorities
        .iter()
        .zip(&keys)
        .map(|(a, k)| {
            Join::new(
                &proposal,
                a,
                k.transport.public_hex(),
                &k.signing,
                String::new(),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let mut deals = Vec::new();
    let mut secrets = Vec::new();
    for (j, k) in keys.iter().enumerate() {
        let (d, s) = deal(&config, j, &k.signing, rng)?;
        deals.push(Deal::from_json(&d.to_json()?)?);
        secrets.push(s);
    }
    let responses = (0..n)
        .map(|m| {
            let r = respond(&config, m, &keys[m], &deals)?;
            Response::from_json(&r.to_json()?)
        })
        .collect::<Result<Vec<_>>>()?;
    let justifications = secrets
        .iter()
        .zip(&keys)
        .map(|(s, k)| {
            let j = justify(&config, s, &k.signing, &deals, &responses)?;
            Justification::from_json(&j.to_json()?)
        })
        .collect::<Result<Vec<_>>>()?;
    drop(secrets);
    let mut shares = Vec::new();
    let mut finished = Vec::new();
    let mut result = None;
    for (i, key) in keys.iter().enumerate() {
        let (q, share) = finish(&config, i, &key.transport, &deals, &justifications)?;
        finished.push(finished_marker(
            &config,
            i,
            &key.signing,
            &q,
            &deals,
            &justifications,
        )?);
        shares.push(share);
        result = Some(q);
    }
    let mut q = result.ok_or(Error::Internal(crate::Bug::NoAuthority))?;
    q.params = q.params.with_setup(SetupKind::SimulatedDkg);
    let transcript = Transcript {
        config,
        joins,
        deals,
        responses,
        justifications,
        finished,
    };
    Ok((q.params.clone(), shares, q, transcript))
}
