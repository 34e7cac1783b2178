//! `escrow-lab simulate`: a synthetic population through the real code (work in progress).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use time::OffsetDateTime;

/// The simulation's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Users.
    pub users: u32,
    /// Days.
    pub days: u32,
    /// Messages each user sends per day.
    pub messages_per_user_day: u32,
    /// Warrants executed.
    pub warrants: u32,
    /// Authorities n.
    pub authorities: u32,
    /// Threshold k.
    pub threshold: u32,
    /// Seed.
    pub seed: u64,
}

/// Chooses the output folder (`simulation-<time>` by default; never a non-empty one).
pub fn prepare_out(requested: Option<&Path>, now: OffsetDateTime) -> Result<PathBuf> {
    crate::labdir::fresh_dir(requested, "simulation", now)
}

/// Runs the simulation, writing CSV and SVG files to `dir` and the summary to `out`.
pub fn run(_config: &Config, _dir: &Path, _progress: bool, _out: &mut dyn Write) -> Result<()> {
    anyhow::bail!("not yet")
}
