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
pub mod refresh;
pub mod reshare;
pub mod transport;

pub use messages::{CheckedDeal, Deal, Justification, Response};

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
use transport::TransportKey;

/// A DKG session: the generation requested and every authority's transport key (index order).
#[derive(Clone, Debug)]
pub struct DkgConfig {
    /// The generation to make.
    pub request: SetupRequest,
    /// Transport public keys (compressed SEC 1 hex), one per authority, in index order.
    pub transport_keys: Vec<String>,
    /// A fresh random value (hex) making every session id unique, so that no message of an
    /// earlier run can be replayed into this one.
    pub nonce: String,
}

impl DkgConfig {
    /// A configuration with a fresh nonce.
    pub fn new<R: RngCore + CryptoRng>(
        request: SetupRequest,
        transport_keys: Vec<String>,
        rng: &mut R,
    ) -> Self {
        let mut nonce = [0u8; 32];
        rng.fill_bytes(&mut nonce);
        Self {
            request,
            transport_keys,
            nonce: hex::encode(nonce),
        }
    }

    /// A session for `request` with a fresh transport key per authority (index order) and a
    /// fresh nonce, validated.
    pub fn generate<R: RngCore + CryptoRng>(
        request: &SetupRequest,
        rng: &mut R,
    ) -> Result<(Self, Vec<TransportKey>)> {
        let keys: Vec<TransportKey> = request
            .authorities
            .iter()
            .map(|_| TransportKey::generate(rng))
            .collect();
        let config = Self::new(
            request.clone(),
            keys.iter().map(TransportKey::public_hex).collect(),
            rng,
        );
        config.validate()?;
        Ok((config, keys))
    }

    /// Checks the request and the keys.
    pub fn validate(&self) -> Result<()> {
        crate::identity::check_name("realm", &self.request.realm)?;
        crate::encoding::hex_array::<32>("nonce", &self.nonce)?;
        check_authorities(&self.request.authorities, self.request.threshold)?;
        if self.transport_keys.len() != self.request.authorities.len() {
            return Err(Error::Internal("one transport key per authority"));
        }
        for k in &self.transport_keys {
            transport::public_from_hex(k)?;
        }
        Ok(())
    }

    /// The session id: SHA-256 over the nonce, realm, generation, threshold, epoch length,
    /// creation time, policy, validity, names and transport keys (length-prefixed), binding every
    /// message to this run.
    pub fn session(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        let mut put = |b: &[u8]| {
            h.update((b.len() as u32).to_be_bytes());
            h.update(b);
        };
        put(b"escrow-lab/v1/dkg-session");
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
        for (name, key) in self.request.authorities.iter().zip(&self.transport_keys) {
            put(name.as_bytes());
            put(key.as_bytes());
        }
        h.finalize().into()
    }

    fn degree(&self) -> usize {
        self.request.threshold - 1
    }

    fn index_of(&self, name: &str) -> Option<usize> {
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
    rng: &mut R,
) -> Result<(Deal, DealerSecret)> {
    config.validate()?;
    let name = config
        .request
        .authorities
        .get(dealer)
        .ok_or(Error::Internal("dealer index"))?;
    let poly = BivarPoly::try_random(config.degree(), rng)
        .map_err(|_| Error::Internal("polynomial generation"))?;
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
    let deal = Deal::new(config, name, &poly.commitment(), rows);
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
    key: &TransportKey,
    deals: &[Deal],
) -> Result<Response> {
    config.validate()?;
    let me = config
        .request
        .authorities
        .get(party)
        .ok_or(Error::Internal("party index"))?;
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
        if own_row(config, d, party, me, key).is_none() {
            complaints.push(dealer.clone());
        }
    }
    Ok(Response::new(config, me, complaints, checked))
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
pub fn justify(
    config: &DkgConfig,
    secret: &DealerSecret,
    deals: &[Deal],
    responses: &[Response],
) -> Result<Justification> {
    let name = config
        .request
        .authorities
        .get(secret.dealer)
        .ok_or(Error::Internal("dealer index"))?;
    let board = Board::new(config, deals, responses, &[]);
    let against: Vec<&String> = board.complaints_against(name).into_iter().collect();
    let mut rows = Vec::new();
    // More than t complaints: the dealer is excluded anyway, and t + 1 revealed rows would
    // give away its polynomial's constant term — reveal nothing (GJKR's rule).
    if against.len() <= config.degree() {
        for party in against {
            if let Some(m) = config.index_of(party) {
                rows.push((party.clone(), secret.poly.row(m as u64 + 1).to_bytes()));
            }
        }
    }
    Ok(Justification::new(config, name, rows))
}

/// What the DKG produced, as every honest party computes it from the public messages.
#[derive(Debug)]
pub struct Qualified {
    /// The generation's public parameters.
    pub params: PublicParams,
    /// Dealers whose polynomials form the key.
    pub qualified: Vec<String>,
    /// Dealers excluded, with the reason (the same for every honest party).
    pub excluded: Vec<(String, String)>,
}

/// The public result: QUAL, the exclusions and the generation's parameters.
pub fn qualify(
    config: &DkgConfig,
    deals: &[Deal],
    responses: &[Response],
    justifications: &[Justification],
) -> Result<Qualified> {
    config.validate()?;
    qualify_board(
        config,
        &Board::new(config, deals, responses, justifications),
    )
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
    let commitment = commitment.ok_or(Error::Internal("no dealer qualified"))?;
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
    responses: &[Response],
    justifications: &[Justification],
) -> Result<(Qualified, AuthorityShare)> {
    config.validate()?;
    let board = Board::new(config, deals, responses, justifications);
    let q = qualify_board(config, &board)?;
    let me = config
        .request
        .authorities
        .get(party)
        .ok_or(Error::Internal("party index"))?;
    let mut s = Fr::zero();
    for dealer in &q.qualified {
        let Some(Ok(d)) = board.deals.get(dealer.as_str()) else {
            return Err(Error::Internal("qualified dealer without a deal"));
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

/// The public board: every message, parsed, indexed by sender. The result does not depend on
/// the order of the message lists: a second, different message from the same sender
/// disqualifies the sender (a dealer) or voids its response (a party).
struct Board {
    deals: BTreeMap<String, std::result::Result<ParsedDeal, String>>,
    /// Per counted responder: the dealers it complains about, explicitly or by not having
    /// checked their canonical deal.
    complaints: BTreeMap<String, BTreeSet<String>>,
    /// Per dealer: its one justification's rows, or why it has none that counts.
    revealed: BTreeMap<String, std::result::Result<BTreeMap<String, Vec<u8>>, String>>,
}

impl Board {
    fn new(
        config: &DkgConfig,
        deals: &[Deal],
        responses: &[Response],
        just: &[Justification],
    ) -> Self {
        let session = hex::encode(config.session());
        let mut parsed: BTreeMap<String, std::result::Result<ParsedDeal, String>> = BTreeMap::new();
        for d in deals.iter().filter(|d| d.session == session) {
            if config.index_of(&d.dealer).is_none() || d.kind != "escrow-lab/dkg-deal" {
                continue;
            }
            let p = d.parse(config);
            match parsed.get(&d.dealer) {
                None => {
                    parsed.insert(d.dealer.clone(), p);
                }
                Some(Ok(first)) if p.as_ref().is_ok_and(|p| p.digest == first.digest) => {}
                Some(Err(e)) if p.as_ref().err() == Some(e) && !e.contains("two") => {}
                Some(_) => {
                    parsed.insert(
                        d.dealer.clone(),
                        Err("published two different deals".into()),
                    );
                }
            }
        }
        // One response per party; two different ones void the party's complaints.
        let mut by_party: BTreeMap<&str, std::result::Result<&Response, ()>> = BTreeMap::new();
        for r in responses.iter().filter(|r| r.session == session) {
            if config.index_of(&r.party).is_none() {
                continue;
            }
            match by_party.get(r.party.as_str()) {
                None => {
                    by_party.insert(&r.party, Ok(r));
                }
                Some(Ok(first)) if *first == r => {}
                Some(_) => {
                    by_party.insert(&r.party, Err(()));
                }
            }
        }
        let mut complaints: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (party, r) in by_party {
            let Ok(r) = r else { continue };
            let mut set: BTreeSet<String> = r
                .complaints
                .iter()
                .filter(|c| config.index_of(c).is_some())
                .cloned()
                .collect();
            for (dealer, d) in &parsed {
                let Ok(d) = d else { continue };
                let seen = r
                    .checked
                    .iter()
                    .any(|c| &c.dealer == dealer && c.digest == d.digest);
                if !seen {
                    set.insert(dealer.clone());
                }
            }
            complaints.insert(party.to_owned(), set);
        }
        // One justification per dealer.
        let mut revealed: BTreeMap<String, std::result::Result<BTreeMap<String, Vec<u8>>, String>> =
            BTreeMap::new();
        let mut first_of: BTreeMap<&str, &Justification> = BTreeMap::new();
        for j in just.iter().filter(|j| j.session == session) {
            if config.index_of(&j.dealer).is_none() {
                continue;
            }
            match first_of.get(j.dealer.as_str()) {
                None => {
                    first_of.insert(&j.dealer, j);
                    let rows = j
                        .rows()
                        .map(|rows| rows.into_iter().collect::<BTreeMap<_, _>>())
                        .map_err(|_| "published a malformed justification".to_owned());
                    revealed.insert(j.dealer.clone(), rows);
                }
                Some(first) if *first == j => {}
                Some(_) => {
                    revealed.insert(
                        j.dealer.clone(),
                        Err("published two different justifications".into()),
                    );
                }
            }
        }
        Self {
            deals: parsed,
            complaints,
            revealed,
        }
    }

    /// The parties complaining about `dealer`.
    fn complaints_against(&self, dealer: &str) -> Vec<&String> {
        self.complaints
            .iter()
            .filter(|(_, against)| against.contains(dealer))
            .map(|(party, _)| party)
            .collect()
    }

    /// Why `dealer` is excluded, or its deal if it qualifies.
    fn verdict(
        &self,
        config: &DkgConfig,
        dealer: &str,
    ) -> std::result::Result<&ParsedDeal, String> {
        let d = match self.deals.get(dealer) {
            None => return Err("published no deal".into()),
            Some(Err(e)) => return Err(e.clone()),
            Some(Ok(d)) => d,
        };
        // Two different justifications exclude a dealer whatever they say.
        if let Some(Err(e)) = self.revealed.get(dealer) {
            return Err(e.clone());
        }
        let against = self.complaints_against(dealer);
        if against.is_empty() {
            return Ok(d);
        }
        if against.len() > config.degree() {
            return Err(format!(
                "{} complaints, more than t = {}",
                against.len(),
                config.degree()
            ));
        }
        let rows = match self.revealed.get(dealer) {
            None => return Err(format!("did not answer the complaint of {}", against[0])),
            Some(Err(e)) => return Err(e.clone()),
            Some(Ok(rows)) => rows,
        };
        for party in against {
            let Some(m) = config.index_of(party) else {
                continue;
            };
            let Some(bytes) = rows.get(party.as_str()) else {
                return Err(format!("did not answer the complaint of {party}"));
            };
            if checked_row(config, &d.commitment, m, bytes).is_none() {
                return Err(format!(
                    "revealed a row for {party} that does not match its commitment"
                ));
            }
        }
        Ok(d)
    }
}

/// The public messages of a DKG run: what a monitor needs to recompute [`qualify`].
#[derive(Clone, Debug)]
pub struct Transcript {
    /// The session's nonce, hex.
    pub nonce: String,
    /// The session's transport keys (index order).
    pub transport_keys: Vec<String>,
    /// Every deal.
    pub deals: Vec<Deal>,
    /// Every response.
    pub responses: Vec<Response>,
    /// Every justification.
    pub justifications: Vec<Justification>,
}

/// Runs the whole DKG in one process — every authority through the same messages, serialized
/// to their JSON files and parsed back — and returns the generation, every share (index
/// order), the public result and the transcript. `escrow setup --dkg` uses it.
pub fn run_all<R: RngCore + CryptoRng>(
    request: &SetupRequest,
    rng: &mut R,
) -> Result<(PublicParams, Vec<AuthorityShare>, Qualified, Transcript)> {
    let (config, keys) = DkgConfig::generate(request, rng)?;
    let n = request.authorities.len();
    let mut deals = Vec::new();
    let mut secrets = Vec::new();
    for j in 0..n {
        let (d, s) = deal(&config, j, rng)?;
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
        .map(|s| {
            let j = justify(&config, s, &deals, &responses)?;
            Justification::from_json(&j.to_json()?)
        })
        .collect::<Result<Vec<_>>>()?;
    drop(secrets);
    let mut shares = Vec::new();
    let mut result = None;
    for (i, key) in keys.iter().enumerate() {
        let (q, share) = finish(&config, i, key, &deals, &responses, &justifications)?;
        shares.push(share);
        result = Some(q);
    }
    let q = result.ok_or(Error::Internal("no authority"))?;
    let transcript = Transcript {
        nonce: config.nonce.clone(),
        transport_keys: config.transport_keys.clone(),
        deals,
        responses,
        justifications,
    };
    Ok((q.params.clone(), shares, q, transcript))
}
