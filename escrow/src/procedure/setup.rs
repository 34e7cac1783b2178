//! `escrow setup`: a new lab's first generation, made by a trusted dealer or by a DKG
//! simulated in one process, with its transparency log.
//!
//! The validity window: a generation is valid from `valid_from` (by default the start of the
//! epoch of its creation when a length is asked for) for `valid_days` whole days,
//! `valid_until = valid_from + 86 400 · valid_days` s, which must end before year 10000.

use rand_core::{CryptoRng, RngCore};
use time::OffsetDateTime;

use crate::dkg::Qualified;
use crate::error::{Error, Result};
use crate::lab::Lab;
use crate::params::PublicParams;
use crate::setup::{AuthorityShare, SetupRequest, dealer_setup};

/// What `escrow setup` is asked to make.
#[derive(Debug, Clone)]
pub struct SetupOptions {
    /// Authorities, threshold, realm, epoch length, creation time and the validity's start.
    pub request: SetupRequest,
    /// The validity in whole days from its start, if limited.
    pub valid_days: Option<u64>,
    /// Simulate the authorities' DKG in this process instead of a trusted dealer.
    pub dkg: bool,
}

impl SetupOptions {
    /// A trusted-dealer setup of `request`, valid without limit.
    pub fn new(request: SetupRequest) -> Self {
        Self {
            request,
            valid_days: None,
            dkg: false,
        }
    }
}

/// What `escrow setup` made.
#[derive(Debug)]
pub struct SetUp {
    /// The generation's public parameters (written to `params.json`).
    pub params: PublicParams,
    /// Every authority's share (written to its share file; the one process saw them all).
    pub shares: Vec<AuthorityShare>,
    /// The simulated DKG's result, when the key was made by one (its transcript is on the
    /// lab's `dkg/` board).
    pub simulated_dkg: Option<Qualified>,
}

/// Sets the end of the request's validity to `days` whole days after its start; a request
/// without a start starts at the beginning of the epoch of its creation. Refuses 0 days and
/// a window that ends after year 9999 ([`Error::ValidDays`]).
pub fn apply_valid_days(request: &mut SetupRequest, days: u64) -> Result<()> {
    let start = match request.valid_from {
        Some(f) => f,
        None => {
            let e = crate::identity::epoch_of(request.created_at, request.epoch_length)?;
            let secs = e
                .checked_mul(request.epoch_length)
                .and_then(|s| i64::try_from(s).ok())
                .ok_or(Error::ValidDays { days })?;
            let start = OffsetDateTime::from_unix_timestamp(secs)
                .map_err(|_| Error::TimeRange(i128::from(secs)))?;
            request.valid_from = Some(start);
            start
        }
    };
    request.valid_until = Some(
        i64::try_from(days)
            .ok()
            .and_then(|d| d.checked_mul(86_400))
            .and_then(|secs| start.checked_add(time::Duration::seconds(secs)))
            .filter(|_| days > 0)
            .ok_or(Error::ValidDays { days })?,
    );
    Ok(())
}

/// Makes the first generation of a new lab: checks everything before any key material is made
/// or any file touched (validity, authorities and threshold, realm, an empty lab), makes the
/// key (a trusted dealer, or the simulated DKG whose transcript goes to the `dkg/` board),
/// generates the log's keys and writes the lab (shares, witness keys, log, `params.json`).
pub fn setup<R: RngCore + CryptoRng>(
    lab: &Lab,
    options: &SetupOptions,
    rng: &mut R,
) -> Result<SetUp> {
    let mut req = options.request.clone();
    if let Some(days) = options.valid_days {
        apply_valid_days(&mut req, days)?;
    }
    crate::params::check_authorities(&req.authorities, req.threshold)?;
    crate::identity::check_name("realm", &req.realm)?;
    lab.check_empty_for_setup()?;
    let (params, shares, dkg) = if options.dkg {
        let (params, shares, q, transcript) = crate::dkg::run_all(&req, rng)?;
        (params, shares, Some((q, transcript)))
    } else {
        let (params, shares) = dealer_setup(&req, rng)?;
        (params, shares, None)
    };
    let log = crate::transparency::generate_log(&req.realm, &req.authorities, rng);
    lab.write_setup(&params, &shares, &log)?;
    if let Some((_, t)) = &dkg {
        crate::dkg::board::write_transcript(lab, t)?;
    }
    Ok(SetUp {
        params,
        shares,
        simulated_dkg: dkg.map(|(q, _)| q),
    })
}
