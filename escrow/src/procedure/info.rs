//! What `escrow info` describes: the lab's generations, which one messengers wrap to now,
//! when a newer one takes over, the resharings and retirements the log records, and the share
//! files stored without a passphrase.

use time::OffsetDateTime;

use crate::error::Result;
use crate::lab::Lab;
use crate::params::{Generations, PublicParams};
use crate::transparency::{LogConfig, LogEntry};

/// A resharing (or refresh) the log records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resharing {
    /// The generation reshared.
    pub generation: u32,
    /// When (RFC 3339, as logged).
    pub time: String,
    /// The old authorities whose shares were revoked.
    pub revoked: Vec<String>,
}

/// One generation as `escrow info` describes it.
#[derive(Debug, Clone)]
pub struct GenerationInfo {
    /// Its public parameters.
    pub params: PublicParams,
    /// The newer generation that takes over from its start, for good, if any: its number and
    /// the start.
    pub superseded: Option<(u32, OffsetDateTime)>,
    /// Its resharings, in log order.
    pub reshared: Vec<Resharing>,
    /// The authorities that retired it (since its last resharing).
    pub retired_by: Vec<String>,
}

impl GenerationInfo {
    /// How many of its shares remain after the retirements.
    pub fn shares_left(&self) -> usize {
        self.params
            .authorities()
            .len()
            .saturating_sub(self.retired_by.len())
    }

    /// Whether fewer than k shares remain: its traffic can no longer be opened.
    pub fn unrecoverable(&self) -> bool {
        self.shares_left() < self.params.threshold()
    }
}

/// The lab's generations as of a time.
#[derive(Debug, Clone)]
pub struct Overview {
    /// The generations described, oldest first.
    pub generations: Vec<GenerationInfo>,
    /// The generation whose validity covers the current epoch (messengers wrap to it), if any.
    pub current: Option<u32>,
}

/// The overview of `generations` (only generation `only`, if named) at time `now`.
pub fn overview(
    lab: &Lab,
    generations: &Generations,
    only: Option<u32>,
    now: OffsetDateTime,
) -> Result<Overview> {
    let current = crate::identity::epoch_of(now, generations.newest().epoch_length())
        .ok()
        .and_then(|e| generations.for_epoch(e))
        .map(|p| p.generation());
    let config = lab.load_log_config()?;
    let all_reshares = reshares(lab, &config)?;
    let mut out = Vec::new();
    for params in generations.iter() {
        if only.is_some_and(|g| g != params.generation()) {
            continue;
        }
        // A newer generation supersedes this one from its start, for good.
        let superseded = generations
            .iter()
            .filter(|p| p.generation() > params.generation())
            .filter_map(|p| p.valid_from().map(|f| (p.generation(), f)))
            .min_by_key(|(_, f)| *f);
        out.push(GenerationInfo {
            params: params.clone(),
            superseded,
            reshared: all_reshares
                .iter()
                .filter(|r| r.generation == params.generation())
                .cloned()
                .collect(),
            retired_by: crate::authority::retired_by(lab, params, &config)?,
        });
    }
    Ok(Overview {
        generations: out,
        current,
    })
}

/// The resharings (and refreshes) the log records, in log order.
pub fn reshares(lab: &Lab, config: &LogConfig) -> Result<Vec<Resharing>> {
    let store = lab.open_log_read_only(config)?;
    let mut out = Vec::new();
    for i in 0..store.size()? {
        if let LogEntry::GenerationReshared {
            generation,
            revoked,
            time,
            ..
        } = store.entry(i)?.entry
        {
            out.push(Resharing {
                generation,
                time,
                revoked,
            });
        }
    }
    Ok(out)
}

/// The authorities whose share file of each generation is stored without a passphrase:
/// (generation, authorities) for every generation that has any, oldest first.
pub fn plain_shares(lab: &Lab, generations: &Generations) -> Vec<(u32, Vec<String>)> {
    generations
        .iter()
        .filter_map(|p| {
            let names: Vec<String> = p
                .authorities()
                .iter()
                .filter(|a| super::share_sealed(lab, &a.name, p.generation()) == Some(false))
                .map(|a| a.name.clone())
                .collect();
            (!names.is_empty()).then_some((p.generation(), names))
        })
        .collect()
}
