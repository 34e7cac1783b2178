//! The DKG run by separate commands over the lab's bulletin board (`escrow dkg …`), one
//! command per authority per round; no command reads another authority's secret.
//!
//! ```text
//! dkg/session.json                 the proposal: realm, generation, k, epoch length, time,
//!                                  authorities, nonce                        (public, no secret)
//! dkg/join-<A>.json                A's public keys (transport, signing, witness), self-signed
//! dkg/deal-<A>.json                A's deal                                  (public, signed)
//! dkg/response-<A>.json            A's complaints                            (public, signed)
//! dkg/justification-<A>.json       A's revealed rows and the responses they answer (signed)
//! dkg/finished-<A>.json            A's result: MPK, QUAL, transcript digest  (public, signed)
//! dkg/private/<A>/keys.json        A's transport and message-signing secrets (0600)
//! dkg/private/<A>/witness.key      A's witness key for the new log           (0600)
//! dkg/private/<A>/dealer.json      A's polynomial, between deal and justify  (0600)
//! dkg/private/<A>/sent-<round>.json  A's own messages, to republish          (0600)
//! dkg/private/<A>/deals.json       the deals A checked: what A finishes from (0600)
//! dkg/private/<A>/share.json       A's finished share, until installed      (0600)
//! ```
//!
//! `start` makes no key at all: each authority makes its own with `join` and publishes only
//! the public halves (compare their fingerprints out of band: whoever can write the board can
//! also write a join in another's name before it does, which that authority then refuses).
//! Every later step checks that the board still holds this authority's own join, that every
//! message it reads is signed by its sender's key of this session, and that every authority
//! finished the previous round; no round can be played twice (a re-run republishes the
//! message already sent). Rounds close: a response names the deals it checked, a justification
//! carries the responses it answered, and `finish` counts exactly those — a response written
//! after the justification round counts for nothing, and two different responses signed by
//! one party exclude it. Each party finishes from the deals it checked (its own copy: a deal
//! deleted or replaced on the board afterwards changes nothing) and signs the digest of the
//! transcript it used; the generation is installed only when every authority's marker names
//! the same transcript and key, each share and witness key copied from its own authority's
//! state. `verify` recomputes all of it from the public files alone.

use std::path::PathBuf;

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Deal;
use super::messages::file_digest;
use super::place::{MAX_FILE, Place};
use super::refusal::{DkgRefusal, Procedure};
use super::{
    DealerSecret, DkgConfig, Finished, Join, Justification, PartyKeys, Qualified, Response, Signed,
    answered_responses, deal, finish, finished_marker, justify, qualify, respond,
    transcript_digest,
};
use crate::encoding::{FORMAT_VERSION, from_json, to_json};
use crate::error::{Error, LabError, Result};
use crate::lab::{Lab, create_dir_all_private, read_limited, write_atomic};
use crate::setup::SetupRequest;
use crate::transparency::WitnessKey;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionFile {
    version: u64,
    kind: String,
    realm: String,
    generation: u32,
    threshold: usize,
    epoch_length_secs: u64,
    created_at: String,
    authorities: Vec<String>,
    nonce: String,
}

fn dir(lab: &Lab) -> PathBuf {
    lab.dkg_dir()
}

fn place(lab: &Lab) -> Place {
    Place::new(dir(lab))
}

fn board_file(lab: &Lab, round: &str, who: &str) -> PathBuf {
    place(lab).file(round, who)
}

/// The session's proposal (no keys yet): the request and the nonce.
fn load_proposal(lab: &Lab) -> Result<DkgConfig> {
    let path = dir(lab).join("session.json");
    if !path.exists() {
        return Err(Error::DkgRefused(DkgRefusal::NoDkgSession));
    }
    let f: SessionFile = from_json("DKG session", &read_limited(&path, MAX_FILE)?)?;
    if f.kind != "escrow-lab/dkg-session" {
        return Err(Error::WrongKind {
            what: "DKG session",
            found: f.kind.clone(),
        });
    }
    let created_at =
        OffsetDateTime::parse(&f.created_at, &Rfc3339).map_err(|_| Error::BadTime {
            what: "created_at",
            value: f.created_at.clone(),
        })?;
    let mut request = SetupRequest::new(f.authorities.clone(), f.threshold, created_at);
    request.realm = f.realm.clone();
    request.generation = f.generation;
    request.epoch_length = f.epoch_length_secs;
    crate::identity::check_name("realm", &request.realm)?;
    crate::encoding::hex_array::<32>("nonce", &f.nonce)?;
    crate::params::check_authorities(&request.authorities, request.threshold)?;
    check_dkg_threshold(request.threshold)?;
    Ok(DkgConfig {
        request,
        transport_keys: Vec::new(),
        signing_keys: Vec::new(),
        nonce: f.nonce.clone(),
    })
}

/// Every authority's join, checked (self-signed for this proposal, a witness key in its name).
/// A dealerless generation needs k ≥ 2: with k = 1 every share is the master secret.
fn check_dkg_threshold(k: usize) -> Result<()> {
    if k < 2 {
        return Err(Error::DkgRefused(DkgRefusal::DkgThreshold { threshold: k }));
    }
    Ok(())
}

/// The open session's proposal: its id (16 hex digits, to compare out of band) and what it
/// proposes, in words.
pub fn describe_proposal(lab: &Lab) -> Result<(String, String)> {
    let c = load_proposal(lab)?;
    let r = &c.request;
    Ok((
        hex::encode(&c.proposal()[..8]),
        format!(
            "realm {}, generation {}, {} of {} ({})",
            r.realm,
            r.generation,
            r.threshold,
            r.authorities.len(),
            r.authorities.join(", ")
        ),
    ))
}

/// Every authority's join (a simulation's transcript, `escrow setup --dkg`, has no witness
/// keys in its joins: its log was made beside it; a board run needs one, checked again at
/// installation).
fn load_joins(lab: &Lab, proposal: &DkgConfig) -> Result<Vec<Join>> {
    place(lab).joins(
        &proposal.request.authorities,
        &proposal.proposal(),
        &proposal.request.realm,
    )
}

/// The session: the proposal with every authority's public keys (every join needed).
pub fn load_config(lab: &Lab) -> Result<DkgConfig> {
    let mut config = load_proposal(lab)?;
    let joins = load_joins(lab, &config)?;
    config.transport_keys = joins.iter().map(|j| j.transport_key.clone()).collect();
    config.signing_keys = joins.iter().map(|j| j.signing_key.clone()).collect();
    config.validate()?;
    Ok(config)
}

/// Opens a session in a new lab: writes the proposal only — no key of anyone.
pub fn start<R: RngCore + CryptoRng>(
    lab: &Lab,
    request: &SetupRequest,
    rng: &mut R,
) -> Result<DkgConfig> {
    lab.check_empty_for_setup()?;
    let d = dir(lab);
    if d.symlink_metadata().is_ok() {
        return Err(LabError::AlreadySetUp { path: d }.into());
    }
    crate::identity::check_name("realm", &request.realm)?;
    crate::params::check_authorities(&request.authorities, request.threshold)?;
    check_dkg_threshold(request.threshold)?;
    let config = DkgConfig::new(request.clone(), &[], rng);
    let created_at = crate::encoding::rfc3339(request.created_at)?;
    let f = SessionFile {
        version: FORMAT_VERSION,
        kind: "escrow-lab/dkg-session".into(),
        realm: request.realm.clone(),
        generation: request.generation,
        threshold: request.threshold,
        epoch_length_secs: request.epoch_length,
        created_at,
        authorities: request.authorities.clone(),
        nonce: config.nonce.clone(),
    };
    create_dir_all_private(&d)?;
    write_atomic(&d.join("session.json"), &to_json(&f)?, 0o644)?;
    Ok(config)
}

fn index(config: &DkgConfig, who: &str) -> Result<usize> {
    config
        .index_of(who)
        .ok_or_else(|| Error::NotAnAuthority(who.to_owned()))
}

/// A short fingerprint of a join — the proposal it joins and its three public keys — to
/// compare out of band (SHA-256, first 8 bytes, hex).
pub fn fingerprint(join: &Join) -> String {
    use sha2::Digest as _;
    let h = sha2::Sha256::digest(
        [
            join.proposal.as_bytes(),
            b"\n",
            join.transport_key.as_bytes(),
            b"\n",
            join.signing_key.as_bytes(),
            b"\n",
            join.witness_key.as_bytes(),
        ]
        .concat(),
    );
    hex::encode(&h[..8])
}

/// `who` joins: makes its own transport, message-signing and witness keys in its own state
/// (0600) and publishes the public halves. Run again, it republishes its join.
pub fn join_as<R: RngCore + CryptoRng>(lab: &Lab, who: &str, rng: &mut R) -> Result<Join> {
    let proposal = load_proposal(lab)?;
    index(&proposal, who)?;
    let pl = place(lab);
    if pl.has_keys(who) {
        return Err(Error::DkgRefused(DkgRefusal::KeysAlreadyHeld {
            procedure: Procedure::Dkg,
            who: who.to_owned(),
        }));
    }
    if board_file(lab, "join", who).exists() {
        return Err(Error::DkgRefused(DkgRefusal::JoinedInName {
            procedure: Procedure::Dkg,
            who: who.to_owned(),
        }));
    }
    let keys = pl.make_keys(who, rng)?;
    let (witness, witness_secret) =
        crate::transparency::generate_witness_key(&proposal.request.realm, who, rng);
    write_atomic(
        &pl.private(who).join("witness.key"),
        witness_secret.as_bytes(),
        0o600,
    )?;
    let j = Join::new(
        &proposal.proposal(),
        who,
        keys.transport.public_hex(),
        &keys.signing,
        witness.key,
    )?;
    pl.send(who, "join", &j.to_json()?)?;
    Ok(j)
}

/// Every authority's join fingerprint ([`fingerprint`]), in index order: what each authority
/// compares, out of band, with the one its own `join` printed.
pub fn fingerprints(lab: &Lab) -> Result<Vec<(String, String)>> {
    let proposal = load_proposal(lab)?;
    Ok(load_joins(lab, &proposal)?
        .iter()
        .map(|j| (j.authority.clone(), fingerprint(j)))
        .collect())
}

/// Refuses unless every join named in `expected` has the fingerprint given there: each item
/// is `HEX` (`who`'s own, as its `join` printed it) or `NAME=HEX` (another authority's, as it
/// published it out of band). Keys swapped in anyone's name, or a proposal changed before the
/// joins, are caught by whoever checks.
pub fn check_fingerprints(
    found: &[(String, String)],
    who: &str,
    expected: &[String],
) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for item in expected {
        let (name, fp) = match item.split_once('=') {
            Some((n, f)) => (n.trim(), f.trim()),
            None => (who, item.trim()),
        };
        if !seen.insert(name) {
            return Err(Error::FingerprintTwice {
                name: name.to_owned(),
            });
        }
        let Some((_, have)) = found.iter().find(|(a, _)| a == name) else {
            return Err(Error::NotAnAuthority(name.to_owned()));
        };
        if !have.eq_ignore_ascii_case(fp) {
            return Err(Error::DkgRefused(DkgRefusal::FingerprintMismatch {
                who: name.to_owned(),
                found: have.clone(),
                expected: fp.to_owned(),
            }));
        }
    }
    Ok(())
}

/// The session and `who`'s own keys, after checking that the board holds `who`'s own join.
fn me(lab: &Lab, who: &str) -> Result<(DkgConfig, usize, PartyKeys)> {
    let proposal = load_proposal(lab)?;
    let i = index(&proposal, who)?;
    let keys = place(lab).own_keys(who)?;
    let config = load_config(lab)?;
    if config.transport_keys[i] != keys.transport.public_hex()
        || config.signing_keys[i] != keys.signing.public_hex()
    {
        return Err(Error::DkgRefused(DkgRefusal::KeysReplaced {
            procedure: Procedure::Dkg,
            who: who.to_owned(),
        }));
    }
    Ok((config, i, keys))
}

/// Every authority's signed message of one round.
fn all<T: Signed>(
    config: &DkgConfig,
    lab: &Lab,
    round: &'static str,
    parse: impl Fn(&[u8]) -> Result<T>,
) -> Result<Vec<T>> {
    place(lab).all(
        config,
        &hex::encode(config.session()),
        &config.request.authorities,
        round,
        parse,
    )
}

/// `who` deals: publishes its signed deal, keeps its polynomial (0600) for the justification.
pub fn deal_as<R: RngCore + CryptoRng>(lab: &Lab, who: &str, rng: &mut R) -> Result<Deal> {
    let (config, i, keys) = me(lab, who)?;
    let pl = place(lab);
    if pl.sent(who, "deal") {
        return pl.republish(who, "deal", Deal::from_json);
    }
    let (d, s) = deal(&config, i, &keys.signing, rng)?;
    pl.write_secret(
        who,
        "dealer.json",
        "escrow-lab/dkg-dealer-secret",
        &s.to_bytes(),
    )?;
    pl.send(who, "deal", &d.to_json()?)?;
    Ok(d)
}

/// `who` checks its rows from every deal, keeps the deals it checked (0600) and publishes its
/// signed complaints (once).
pub fn respond_as(lab: &Lab, who: &str) -> Result<Response> {
    let (config, i, keys) = me(lab, who)?;
    let pl = place(lab);
    if pl.sent(who, "response") {
        return pl.republish(who, "response", Response::from_json);
    }
    let deals = all(&config, lab, "deal", Deal::from_json)?;
    let r = respond(&config, i, &keys, &deals)?;
    pl.save_view(who, "deals.json", &deals)?;
    pl.send(who, "response", &r.to_json()?)?;
    Ok(r)
}

/// `who` answers the complaints about it (once, after every response), carrying the responses
/// it answered.
pub fn justify_as(lab: &Lab, who: &str) -> Result<Justification> {
    let (config, i, keys) = me(lab, who)?;
    let pl = place(lab);
    if pl.sent(who, "justification") {
        return pl.republish(who, "justification", Justification::from_json);
    }
    let deals = own_deals(lab, who)?;
    let responses = all(&config, lab, "response", Response::from_json)?;
    let poly = pl.read_secret(who, "dealer.json", "escrow-lab/dkg-dealer-secret")?;
    let s = DealerSecret::from_bytes(&config, i, &poly)?;
    let j = justify(&config, &s, &keys.signing, &deals, &responses)?;
    pl.send(who, "justification", &j.to_json()?)?;
    Ok(j)
}

/// The deals `who` checked when it responded (its own copy).
fn own_deals(lab: &Lab, who: &str) -> Result<Vec<Deal>> {
    place(lab).load_view(who, "deals.json", "respond")
}

/// What [`finish_as`] did.
#[derive(Debug)]
pub struct FinishOutcome {
    /// The public result.
    pub qualified: Qualified,
    /// Whether every authority has finished with the same result: the generation is now
    /// installed.
    pub installed: bool,
    /// What this authority noticed on the board (messages changed after their round closed),
    /// one line each.
    pub notes: Vec<String>,
    /// The fingerprints of the joins it used, in index order.
    pub fingerprints: Vec<(String, String)>,
}

/// Board files that differ from what the closed rounds bind: late or rewritten responses,
/// deals replaced after they were checked.
fn late_changes(
    config: &DkgConfig,
    lab: &Lab,
    deals: &[Deal],
    justs: &[Justification],
) -> Vec<String> {
    let mut notes = Vec::new();
    let answered = answered_responses(justs);
    let pl = place(lab);
    for a in &config.request.authorities {
        let board = pl.peek("response", a, Response::from_json);
        let versions: Vec<&Response> = answered.iter().filter(|r| &r.party == a).collect();
        if versions.len() > 1 {
            notes.push(format!(
                "{a} signed two different responses: its complaints are void and it is excluded"
            ));
        } else if let (Some(b), Some(v)) = (&board, versions.first())
            && b != *v
        {
            notes.push(format!(
                "dkg/response-{a}.json was changed after the justification round closed: the \
                 response the justifications answered counts, this one does not"
            ));
        }
        let board_deal = pl.peek("deal", a, Deal::from_json);
        if let Some(mine) = deals.iter().find(|d| &d.dealer == a)
            && board_deal.as_ref() != Some(mine)
        {
            notes.push(format!(
                "dkg/deal-{a}.json differs from the deal checked in the response round: the \
                 checked one counts"
            ));
        }
    }
    notes
}

/// `who` computes the result and its share from the deals it checked and the justifications,
/// and signs a marker of the transcript it used; when every authority has finished with the
/// same transcript and key, the generation is installed.
pub fn finish_as<R: RngCore + CryptoRng>(
    lab: &Lab,
    who: &str,
    rng: &mut R,
) -> Result<FinishOutcome> {
    let (config, i, keys) = me(lab, who)?;
    let deals = own_deals(lab, who)?;
    let justs = all(&config, lab, "justification", Justification::from_json)?;
    super::check_own_view(&config, who, &deals, &justs)?;
    let notes = late_changes(&config, lab, &deals, &justs);
    // The deals this authority checked go back on the board if they went missing there.
    for d in &deals {
        let path = board_file(lab, "deal", &d.dealer);
        if !path.exists() {
            write_atomic(&path, &d.to_json()?, 0o644)?;
        }
    }
    let (q, share) = finish(&config, i, &keys.transport, &deals, &justs)?;
    // Sealed with this authority's passphrase if it gave one; the marker names the file.
    let pl = place(lab);
    let mut marker = finished_marker(&config, i, &keys.signing, &q, &deals, &justs)?;
    marker.share = pl.stage_share(who, &lab.encode_share(&share)?)?;
    let marker = marker.signed(&keys.signing)?;
    pl.send(who, "finished", &marker.to_json()?)?;
    let fingerprints = fingerprints(lab)?;
    let installed = install_if_agreed(lab, &config, &q, rng)?;
    Ok(FinishOutcome {
        qualified: q,
        installed,
        notes,
        fingerprints,
    })
}

/// Installs the generation if every authority's marker is signed and names the same
/// transcript, key and qualified set; refuses if any differs.
fn install_if_agreed<R: RngCore + CryptoRng>(
    lab: &Lab,
    config: &DkgConfig,
    q: &Qualified,
    rng: &mut R,
) -> Result<bool> {
    let mut markers = Vec::new();
    for a in &config.request.authorities {
        if !board_file(lab, "finished", a).exists() {
            return Ok(false);
        }
    }
    for m in all(config, lab, "finished", Finished::from_json)? {
        markers.push(m);
    }
    let first = &markers[0];
    for m in &markers[1..] {
        if m.transcript != first.transcript
            || m.master_public_key != first.master_public_key
            || m.qualified != first.qualified
        {
            return Err(Error::DkgRefused(DkgRefusal::TranscriptsDiffer {
                first: first.authority.clone(),
                other: m.authority.clone(),
                first_transcript: first.transcript[..12].into(),
                other_transcript: m.transcript[..12].into(),
            }));
        }
    }
    if first.master_public_key != crate::encoding::g1_hex(q.params.master_public_key()) {
        return Err(Error::DkgRefused(DkgRefusal::ResultDiffers));
    }
    // Each authority's share, read once from its own state and checked against the digest
    // it signed (never parsed), and its witness key, installed with mode 0600.
    let pl = place(lab);
    let shares = pl.take_staged(&markers)?;
    let mut witnesses = Vec::new();
    let mut witness_keys = Vec::new();
    let joins = load_joins(lab, config)?;
    for (a, j) in config.request.authorities.iter().zip(&joins) {
        if j.witness_key.is_empty() {
            return Err(Error::DkgRefused(DkgRefusal::NoWitnessKey {
                who: a.clone(),
            }));
        }
        witnesses.push(WitnessKey {
            authority: a.clone(),
            key: j.witness_key.clone(),
        });
        witness_keys.push((a.clone(), pl.take_witness_key(a)?));
    }
    let mut log = crate::transparency::log_with_witnesses(&config.request.realm, witnesses, rng);
    log.witness_keys = witness_keys;
    lab.write_setup_files(&q.params, &shares, &log)?;
    // The private DKG state (keys, polynomials, staged shares) is destroyed.
    pl.destroy_private()?;
    Ok(true)
}

/// What [`verify`] found.
#[derive(Debug)]
pub struct Verified {
    /// The result recomputed from the public messages.
    pub qualified: Qualified,
    /// Every authority's marker names the recomputed transcript and key.
    pub markers_agree: bool,
    /// Board files that differ from what the closed rounds bind, one line each.
    pub notes: Vec<String>,
}

/// A monitor's check of a finished DKG from the public files alone: every join, deal and
/// justification signed by its sender's session key; the qualified set and key recomputed
/// from the responses the justifications answered; every marker naming that transcript and
/// key; files changed after their round closed named.
pub fn verify(lab: &Lab) -> Result<Verified> {
    let config = load_config(lab)?;
    let deals = all(&config, lab, "deal", Deal::from_json)?;
    let justs = all(&config, lab, "justification", Justification::from_json)?;
    let q = qualify(&config, &deals, &justs)?;
    let digest = transcript_digest(&config, &deals, &justs)?;
    let mpk = crate::encoding::g1_hex(q.params.master_public_key());
    let markers = all(&config, lab, "finished", Finished::from_json)?;
    let markers_agree = markers.iter().all(|m| {
        m.transcript == digest && m.master_public_key == mpk && m.qualified == q.qualified
    });
    let mut notes = late_changes(&config, lab, &deals, &justs);
    for d in &deals {
        let checked = answered_responses(&justs).iter().all(|r| {
            r.checked
                .iter()
                .any(|c| c.dealer == d.dealer && Some(&c.digest) == file_digest(d).ok().as_ref())
        });
        if !checked {
            notes.push(format!(
                "dkg/deal-{}.json is not the deal every response checked",
                d.dealer
            ));
        }
    }
    Ok(Verified {
        qualified: q,
        markers_agree,
        notes,
    })
}

/// Writes a transcript in the board's layout (public files only), for [`verify`]: what
/// `escrow setup --dkg` (a simulation) publishes.
pub fn write_transcript(lab: &Lab, t: &super::Transcript) -> Result<()> {
    let d = dir(lab);
    create_dir_all_private(&d)?;
    let r = &t.config.request;
    let f = SessionFile {
        version: FORMAT_VERSION,
        kind: "escrow-lab/dkg-session".into(),
        realm: r.realm.clone(),
        generation: r.generation,
        threshold: r.threshold,
        epoch_length_secs: r.epoch_length,
        created_at: crate::encoding::rfc3339(r.created_at)?,
        authorities: r.authorities.clone(),
        nonce: t.config.nonce.clone(),
    };
    write_atomic(&d.join("session.json"), &to_json(&f)?, 0o644)?;
    for j in &t.joins {
        write_atomic(&board_file(lab, "join", &j.authority), &j.to_json()?, 0o644)?;
    }
    for m in &t.deals {
        write_atomic(&board_file(lab, "deal", &m.dealer), &m.to_json()?, 0o644)?;
    }
    for m in &t.responses {
        write_atomic(&board_file(lab, "response", &m.party), &m.to_json()?, 0o644)?;
    }
    for m in &t.justifications {
        write_atomic(
            &board_file(lab, "justification", &m.dealer),
            &m.to_json()?,
            0o644,
        )?;
    }
    for m in &t.finished {
        write_atomic(
            &board_file(lab, "finished", &m.authority),
            &m.to_json()?,
            0o644,
        )?;
    }
    Ok(())
}
