//! The dealerless DKG (`escrow dkg …`) and the resharing or refresh (`escrow reshare …`,
//! `escrow refresh`) as the authorities run them, one command each: the board's steps of
//! [`crate::dkg::board`] and [`crate::dkg::reshare_board`] with the checks the commands make
//! around them.
//!
//! * A party joins only the proposal it was told of: the open proposal's id (the first 8
//!   bytes of its digest, in hex) must equal the one published out of band.
//! * A party finishes or revokes only with the join fingerprints it compared out of band
//!   ([`crate::dkg::board::check_fingerprints`]).
//! * New shares are sealed when the lab's shares are ([`super::check_sealing`]).
//! * A refresh is a resharing to the same authorities with the same threshold: the master key
//!   stays, every share changes (Herzberg et al., "Proactive secret sharing", CRYPTO 1995).

use rand_core::{CryptoRng, RngCore};
use time::OffsetDateTime;

use crate::dkg::board::{self as dkg_board, FinishOutcome, Verified};
use crate::dkg::reshare::ReshareConfig;
use crate::dkg::reshare_board::{self, Progress};
use crate::encoding::printable;
use crate::error::{Error, Result};
use crate::lab::Lab;
use crate::params::PublicParams;
use crate::setup::SetupRequest;

/// An open proposal: its id, to compare out of band, and what it proposes, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// 16 hex digits.
    pub id: String,
    /// What it proposes ("realm …, generation …, k of n (…)").
    pub proposes: String,
}

impl Proposal {
    fn of((id, proposes): (String, String)) -> Self {
        Self { id, proposes }
    }
}

/// What a party's join did.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The proposal joined.
    pub proposal: Proposal,
    /// The fingerprint of the party's join, to publish out of band.
    pub fingerprint: String,
}

/// Refuses a proposal other than the one the starter published ([`Error::ProposalChanged`]).
pub fn check_proposal(open: &str, expected: Option<&str>) -> Result<()> {
    if let Some(e) = expected
        && !e.trim().eq_ignore_ascii_case(open)
    {
        return Err(Error::ProposalChanged {
            open: open.to_owned(),
            expected: printable(e.trim()).into_owned(),
        });
    }
    Ok(())
}

/// Opens a DKG session in a new lab for `request`: the authorities and threshold are checked,
/// the proposal written; no key is made.
pub fn dkg_start<R: RngCore + CryptoRng>(
    lab: &Lab,
    request: &SetupRequest,
    rng: &mut R,
) -> Result<Proposal> {
    crate::params::check_authorities(&request.authorities, request.threshold)?;
    dkg_board::start(lab, request, rng)?;
    Ok(Proposal::of(dkg_board::describe_proposal(lab)?))
}

/// `who` joins the open DKG proposal (refused if it is not `expected`), with keys of its own.
pub fn dkg_join<R: RngCore + CryptoRng>(
    lab: &Lab,
    who: &str,
    expected: Option<&str>,
    rng: &mut R,
) -> Result<Joined> {
    let proposal = Proposal::of(dkg_board::describe_proposal(lab)?);
    check_proposal(&proposal.id, expected)?;
    let j = dkg_board::join_as(lab, who, rng)?;
    Ok(Joined {
        proposal,
        fingerprint: dkg_board::fingerprint(&j),
    })
}

/// What a monitor's check of a finished DKG found ([`dkg_verify`]).
#[derive(Debug)]
pub struct DkgVerified {
    /// The transcript recomputed from the board, with the notes of changed files.
    pub verified: Verified,
    /// The fingerprints of the joins, in index order.
    pub fingerprints: Vec<(String, String)>,
    /// The installed generation of that number, if any (then its key is the transcript's).
    pub installed: Option<PublicParams>,
}

/// A monitor's check of a DKG board ([`crate::dkg::board::verify`]), refused unless every
/// finished marker names the recomputed transcript and key ([`Error::MarkersDisagree`]) and
/// an installed generation of that number is that key ([`Error::NotThisTranscript`]).
pub fn dkg_verify(lab: &Lab) -> Result<DkgVerified> {
    let verified = dkg_board::verify(lab)?;
    let fingerprints = dkg_board::fingerprints(lab)?;
    let q = &verified.qualified;
    let installed = lab.load_generation(q.params.generation()).ok();
    if !verified.markers_agree {
        return Err(Error::MarkersDisagree);
    }
    if installed
        .as_ref()
        .is_some_and(|p| p.master_public_key() != q.params.master_public_key())
    {
        return Err(Error::NotThisTranscript {
            generation: q.params.generation(),
        });
    }
    Ok(DkgVerified {
        verified,
        fingerprints,
        installed,
    })
}

/// `who` finishes the DKG, after checking the board's join fingerprints against `expected`
/// (`NAME=FP` or, for its own, `FP`); the last to finish installs the generation.
pub fn dkg_finish<R: RngCore + CryptoRng>(
    lab: &Lab,
    who: &str,
    expected: &[String],
    rng: &mut R,
) -> Result<FinishOutcome> {
    dkg_board::check_fingerprints(&dkg_board::fingerprints(lab)?, who, expected)?;
    dkg_board::finish_as(lab, who, rng)
}

/// An open resharing or refresh.
#[derive(Debug, Clone)]
pub struct ReshareOpened {
    /// Its configuration (old sharing, dealers, new authorities, threshold, parties).
    pub config: ReshareConfig,
    /// Its proposal.
    pub proposal: Proposal,
}

/// Opens a resharing of generation `generation` (default: the newest) from `dealers`
/// (default: every authority) to `authorities` with `threshold`; no key is made.
pub fn reshare_start<R: RngCore + CryptoRng>(
    lab: &Lab,
    generation: Option<u32>,
    dealers: Option<Vec<String>>,
    authorities: Vec<String>,
    threshold: usize,
    rng: &mut R,
) -> Result<ReshareOpened> {
    let params = super::generation_or_newest(lab, generation)?;
    let config = reshare_board::start(
        lab,
        params.generation(),
        dealers,
        authorities,
        threshold,
        rng,
    )?;
    Ok(ReshareOpened {
        config,
        proposal: Proposal::of(reshare_board::describe_proposal(lab)?),
    })
}

/// Opens a refresh of generation `generation` (default: the newest): a resharing from every
/// authority to the same authorities with the same threshold.
pub fn refresh<R: RngCore + CryptoRng>(
    lab: &Lab,
    generation: Option<u32>,
    rng: &mut R,
) -> Result<ReshareOpened> {
    let params = super::generation_or_newest(lab, generation)?;
    let config = reshare_board::start(
        lab,
        params.generation(),
        None,
        super::authority_names(&params),
        params.threshold(),
        rng,
    )?;
    Ok(ReshareOpened {
        config,
        proposal: Proposal::of(reshare_board::describe_proposal(lab)?),
    })
}

/// `who` joins the open resharing (refused if its proposal is not `expected`).
pub fn reshare_join<R: RngCore + CryptoRng>(
    lab: &Lab,
    who: &str,
    expected: Option<&str>,
    rng: &mut R,
) -> Result<Joined> {
    let proposal = Proposal::of(reshare_board::describe_proposal(lab)?);
    check_proposal(&proposal.id, expected)?;
    let j = reshare_board::join_as(lab, who, rng)?;
    Ok(Joined {
        proposal,
        fingerprint: dkg_board::fingerprint(&j),
    })
}

/// What a new authority's finish of a resharing did ([`reshare_finish`]).
#[derive(Debug)]
pub struct ReshareFinished {
    /// The result and the revocations it waits for.
    pub progress: Progress,
    /// The join fingerprints used, in index order.
    pub fingerprints: Vec<(String, String)>,
    /// The number of authorities of the old sharing.
    pub old_authorities: usize,
}

/// New authority `who` finishes the resharing: the fingerprints checked against `expected`,
/// its new share staged (sealed if the lab's shares are: [`super::check_sealing`]).
pub fn reshare_finish(lab: &Lab, who: &str, expected: &[String]) -> Result<ReshareFinished> {
    let fingerprints = reshare_board::fingerprints(lab)?;
    dkg_board::check_fingerprints(&fingerprints, who, expected)?;
    super::check_sealing(lab)?;
    // The old sharing's size, for the revocations needed (n − k + 1 of the old n).
    let old_authorities = reshare_board::load_config(lab)?.old.authorities().len();
    let progress = reshare_board::finish_as(lab, who)?;
    Ok(ReshareFinished {
        progress,
        fingerprints,
        old_authorities,
    })
}

/// What an old authority's revocation did ([`reshare_revoke`]).
#[derive(Debug)]
pub struct Revocation {
    /// The resharing's progress (completed when enough old shares are destroyed).
    pub progress: Progress,
    /// The join fingerprints used, in index order.
    pub fingerprints: Vec<(String, String)>,
}

/// Old authority `who` checks the new sharing (fingerprints against `expected`), destroys
/// its old share and logs it at `at`; the revocation that completes the resharing installs it.
pub fn reshare_revoke(
    lab: &Lab,
    who: &str,
    expected: &[String],
    at: OffsetDateTime,
) -> Result<Revocation> {
    let fingerprints = reshare_board::fingerprints(lab)?;
    dkg_board::check_fingerprints(&fingerprints, who, expected)?;
    let progress = reshare_board::revoke_as(lab, who, at)?;
    Ok(Revocation {
        progress,
        fingerprints,
    })
}
