//! Generation rotation: a new master key on a schedule, beside the old ones.
//!
//! A rotation makes the next generation — a fresh master key from a trusted dealer or from
//! a simulation of the authorities' DKG in this process ([`crate::dkg::run_all`], which sees
//! every share) — valid from a future epoch boundary.
//! Messengers wrap each chain to the newest generation whose validity has begun by the chain's
//! epoch, if it still covers it ([`crate::Generations::for_epoch`]); approvals and executions
//! use the generation the warrant names. The old generation stays until its authorities retire
//! it ([`crate::authority::retire`]): rotation bounds how much traffic one master key
//! protects, retirement bounds how long it can be opened.
//!
//! Rules, each refused with [`Error::Rotation`] before anything is written (docs/protocol.md
//! §2.4):
//! * "now" is the request's time, not before the log's newest entry (simulated time never goes
//!   backwards) nor ahead of the clock; it is the new generation's creation time;
//! * the start is at most a year after now;
//! * the new generation starts at an epoch boundary strictly after now's epoch, so no chain
//!   already begun changes generation;
//! * it starts after the newest generation's start (otherwise it would replace it entirely)
//!   and no later than its end (otherwise some epochs would have no generation — unless the
//!   newest generation has already expired, when the gap lies in the past);
//! * realm, epoch length and warrant policy are inherited; the authorities and the threshold
//!   may change, but only to authorities the lab already knows (they hold witness keys);
//! * without `valid_days`, the new generation lasts as long as the newest one did (the
//!   schedule), or is open-ended if the newest was;
//! * its number follows every generation installed or announced in the log.
//!
//! [`rotate`] does all of it holding the log's write lock ([`Lab::with_rotation_lock`]), so
//! rotations never interleave, and installs crash-safely ([`Lab::install_generation`]).

use rand_core::{CryptoRng, RngCore};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Result};
use crate::identity::epoch_of;
use crate::lab::Lab;
use crate::params::{PublicParams, check_authorities};
use crate::setup::{SetupRequest, dealer_setup};
use crate::transparency::LogEntry;
use crate::transparency::store::LogStore;

/// What to rotate to.
#[derive(Clone, Debug)]
pub struct RotateRequest {
    /// When the rotation is made (the new generation's creation time and log time).
    pub at: OffsetDateTime,
    /// First instant of the new generation (an epoch boundary). Default: the newest
    /// generation's end if it has one, else the next epoch boundary after `at`.
    pub valid_from: Option<OffsetDateTime>,
    /// Validity in days. Default: the newest generation's, if bounded.
    pub valid_days: Option<u64>,
    /// Authorities of the new generation. Default: the newest generation's.
    pub authorities: Option<Vec<String>>,
    /// Threshold of the new generation. Default: the newest generation's.
    pub threshold: Option<usize>,
    /// Generate the key with a simulation of the DKG (all parties in this process, which sees
    /// every share) instead of a dealer.
    pub dkg: bool,
}

impl RotateRequest {
    /// A rotation at `at` with every default.
    pub fn new(at: OffsetDateTime) -> Self {
        Self {
            at,
            valid_from: None,
            valid_days: None,
            authorities: None,
            threshold: None,
            dkg: false,
        }
    }
}

/// How far ahead a rotation may schedule its start (366 days).
const MAX_LEAD_SECS: i64 = 366 * 86_400;

fn show(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn refuse(rule: RotationRule) -> Error {
    Error::Rotation(rule)
}

/// Which rule of this module refuses a rotation (texts: docs/protocol.md §2.4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RotationRule {
    /// The start is not a multiple of the epoch length.
    #[error(
        "the new generation must start on an epoch boundary (a multiple of {epoch_length} s); {start} is not"
    )]
    NotOnBoundary {
        /// The start asked for (RFC 3339).
        start: String,
        /// The epoch length, in seconds.
        epoch_length: u64,
    },
    /// The start is in the current epoch or before it.
    #[error(
        "the new generation must start after the current epoch (at or after Unix time {next_boundary}): chains already begun keep their generation"
    )]
    InCurrentEpoch {
        /// The first allowed start (Unix seconds).
        next_boundary: i64,
    },
    /// The start is more than a year after now.
    #[error(
        "{start} is more than a year ahead: a start that far out would block every rotation before it"
    )]
    TooFarAhead {
        /// The start asked for (RFC 3339).
        start: String,
    },
    /// The start is not after the newest generation's.
    #[error("the new generation must start after generation {generation} does ({start})")]
    NotAfterNewest {
        /// The newest generation.
        generation: u32,
        /// Its start (RFC 3339).
        start: String,
    },
    /// The start is after the newest generation's end: epochs between would have no
    /// generation.
    #[error(
        "generation {generation} ends at {end}: a start at {start} would leave epochs without a generation"
    )]
    Gap {
        /// The newest generation.
        generation: u32,
        /// Its end (RFC 3339).
        end: String,
        /// The start asked for (RFC 3339).
        start: String,
    },
    /// The validity is not a whole number of epochs.
    #[error("a validity of {seconds} s is not a whole number of epochs of {epoch_length} s")]
    PartialEpochs {
        /// The validity, in seconds.
        seconds: i64,
        /// The epoch length, in seconds.
        epoch_length: u64,
    },
    /// A new authority holds no witness key in this lab.
    #[error(
        "'{0}' is not an authority of this lab (it holds no witness key); rotation keeps to the lab's authorities"
    )]
    UnknownAuthority(String),
    /// The generation number would overflow.
    #[error("generation numbers are exhausted")]
    GenerationsExhausted,
    /// Another rotation installed a generation while this one was being prepared.
    #[error(
        "another rotation ran while this one was being prepared; nothing was written, run it again"
    )]
    Concurrent,
}

/// The setup request of the next generation (every rule of the module docs checked), read
/// from the lab and its log (`store`, held under the write lock by [`rotate`]).
pub fn plan(lab: &Lab, store: &LogStore, req: &RotateRequest) -> Result<SetupRequest> {
    let generations = lab.load_generations()?;
    let newest = generations.newest();
    let len = newest.epoch_length();
    let len_i = i64::try_from(len).map_err(|_| Error::Internal(crate::Bug::EpochLength))?;
    // A rotation cannot reach back behind what the log has recorded (the `--at` of
    // simulations included): a time before the newest entry is refused, as for every entry.
    let now = req.at;
    let at = crate::encoding::rfc3339(now)?;
    store.check_time("the rotation", &at)?;
    let mut announced = newest.generation();
    for i in 0..store.size()? {
        let entry = store.entry(i)?.entry;
        if let LogEntry::GenerationCreated {
            realm, generation, ..
        } = &entry
            && realm == newest.realm()
        {
            announced = announced.max(*generation);
        }
    }
    let next_boundary = (epoch_of(now, len)? + 1) as i64 * len_i;
    let from = match (req.valid_from, newest.valid_until()) {
        (Some(f), _) => f,
        (None, Some(until)) if until.unix_timestamp() >= next_boundary => until,
        (None, _) => OffsetDateTime::from_unix_timestamp(next_boundary)
            .map_err(|_| Error::TimeRange(i128::from(next_boundary)))?,
    };
    let f = from.unix_timestamp();
    if f % len_i != 0 {
        return Err(refuse(RotationRule::NotOnBoundary {
            start: show(from),
            epoch_length: len,
        }));
    }
    if f < next_boundary {
        return Err(refuse(RotationRule::InCurrentEpoch { next_boundary }));
    }
    if f > now.unix_timestamp().saturating_add(MAX_LEAD_SECS) {
        return Err(refuse(RotationRule::TooFarAhead { start: show(from) }));
    }
    if let Some(start) = newest.valid_from().filter(|s| *s >= from) {
        return Err(refuse(RotationRule::NotAfterNewest {
            generation: newest.generation(),
            start: show(start),
        }));
    }
    // A gap already in the past (the newest generation expired) cannot be helped.
    if let Some(end) = newest
        .valid_until()
        .filter(|e| *e < from && e.unix_timestamp() >= next_boundary)
    {
        return Err(refuse(RotationRule::Gap {
            generation: newest.generation(),
            end: show(end),
            start: show(from),
        }));
    }
    let period = match (req.valid_days, newest.valid_from(), newest.valid_until()) {
        (Some(0), _, _) => return Err(Error::RotationDays { days: 0 }),
        (Some(d), _, _) => Some(
            d.checked_mul(86_400)
                .and_then(|s| i64::try_from(s).ok())
                .ok_or(Error::RotationDays { days: d })?,
        ),
        (None, Some(a), Some(b)) => Some((b - a).whole_seconds()),
        _ => None,
    };
    let until = match period {
        Some(p) if p % len_i != 0 => {
            return Err(refuse(RotationRule::PartialEpochs {
                seconds: p,
                epoch_length: len,
            }));
        }
        Some(p) => Some(
            OffsetDateTime::from_unix_timestamp(f.saturating_add(p))
                .map_err(|_| Error::TimeRange(i128::from(f) + i128::from(p)))?,
        ),
        None => None,
    };
    let names: Vec<String> = req.authorities.clone().unwrap_or_else(|| {
        newest
            .authorities()
            .iter()
            .map(|a| a.name.clone())
            .collect()
    });
    // Each name checked before the set: an unknown authority is named as such, not reported
    // as a threshold that no longer fits.
    for n in &names {
        crate::identity::check_name("authority", n)?;
    }
    let config = lab.load_log_config()?;
    if let Some(stranger) = names
        .iter()
        .find(|n| !config.witnesses.iter().any(|w| &w.authority == *n))
    {
        return Err(refuse(RotationRule::UnknownAuthority(stranger.clone())));
    }
    let threshold = req.threshold.unwrap_or(newest.threshold());
    check_authorities(&names, threshold)?;
    Ok(SetupRequest {
        realm: newest.realm().to_owned(),
        // After every generation installed or announced (a logged key is never reused).
        generation: announced
            .checked_add(1)
            .ok_or(refuse(RotationRule::GenerationsExhausted))?,
        authorities: names,
        threshold,
        epoch_length: len,
        policy: newest.policy(),
        created_at: now,
        valid_from: Some(from),
        valid_until: until,
    })
}

/// Makes and installs the next generation under the log's write lock
/// ([`Lab::with_rotation_lock`], [`Lab::install_generation`]); returns its parameters.
pub fn rotate<R: RngCore + CryptoRng>(
    lab: &Lab,
    req: &RotateRequest,
    rng: &mut R,
) -> Result<PublicParams> {
    // Planned, generated and encoded (Argon2id for sealed shares) without the lock, so that
    // a long DKG holds up no other command; re-planned under the lock, where any difference
    // (another rotation ran meanwhile) refuses.
    let config = lab.load_log_config()?;
    let setup = plan(lab, &lab.open_log(&config)?, req)?;
    let (params, shares) = if req.dkg {
        let (params, shares, _, _) = crate::dkg::run_all(&setup, rng)?;
        (params, shares)
    } else {
        dealer_setup(&setup, rng)?
    };
    let encoded = shares
        .iter()
        .map(|s| Ok((s.authority().to_owned(), lab.encode_share(s)?)))
        .collect::<Result<Vec<_>>>()?;
    lab.with_rotation_lock(|store| {
        let again = plan(lab, store, req)?;
        if (
            again.generation,
            again.valid_from,
            again.valid_until,
            &again.authorities,
        ) != (
            setup.generation,
            setup.valid_from,
            setup.valid_until,
            &setup.authorities,
        ) || (again.threshold, again.created_at) != (setup.threshold, setup.created_at)
        {
            return Err(refuse(RotationRule::Concurrent));
        }
        lab.install_generation(store, &params, &encoded)?;
        Ok(params)
    })
}
