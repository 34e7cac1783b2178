//! The authorities' procedures over a lab directory: one function per command of the `escrow`
//! tool, taking the parsed options and returning what the command reports. The tool parses
//! its options, calls one of these and prints the result; the scenarios of the root package
//! (`escrow-lab demo`, `attacks`, `simulate`) call the same functions, so that they exercise
//! the tool's own paths.
//!
//! * [`setup`] — a new lab's first generation (trusted dealer or a simulated DKG), its
//!   validity window;
//! * [`board`] — the dealerless DKG and the resharing, one command per authority, with the
//!   checks the commands make around the board's steps (the proposal published, the join
//!   fingerprints compared out of band, new shares sealed like the old ones);
//! * [`shares`] — sealing, retiring and rotating a generation's shares;
//! * [`info`] — what `escrow info` describes: the generations in force, their resharings and
//!   retirements, the share files stored without a passphrase;
//! * [`log`] — the log's listing and its proof bundles;
//! * [`approve`] — an authority's approval, released and written to its file under the one
//!   output rule of the lab.
//!
//! Errors are the crate's [`Error`]; none names a command-line option (the
//! tool words its own hints).

pub mod approve;
pub mod board;
pub mod info;
pub mod log;
pub mod setup;
pub mod shares;

use crate::error::{Error, Result};
use crate::lab::{Lab, MAX_FILE_LEN, read_limited};
use crate::params::PublicParams;

/// Completes (if the log announced it) or undoes a rotation or share replacement that a crash
/// interrupted. Every command but `setup` and the DKG's runs it before anything else.
pub fn recover_interrupted(lab: &Lab) -> Result<()> {
    if lab.rotation_pending() {
        lab.recover_rotation()?;
    }
    Ok(())
}

/// Generation `generation` of the lab, or its newest when none is named.
pub fn generation_or_newest(lab: &Lab, generation: Option<u32>) -> Result<PublicParams> {
    match generation {
        Some(g) => lab.load_generation(g),
        None => lab.load_params(),
    }
}

/// The names of a generation's authorities, in index order.
pub fn authority_names(params: &PublicParams) -> Vec<String> {
    params
        .authorities()
        .iter()
        .map(|a| a.name.clone())
        .collect()
}

/// Whether the share file of `authority` for `generation` exists and is sealed (`Some(true)`),
/// exists and is plain (`Some(false)`), or cannot be read (`None`).
fn share_sealed(lab: &Lab, authority: &str, generation: u32) -> Option<bool> {
    read_limited(&lab.share_path_of(authority, generation), MAX_FILE_LEN)
        .ok()
        .map(|b| crate::sealed::is_sealed(&b))
}

/// Refuses to write new shares plain into a lab whose shares are sealed (of any generation: a
/// prompt may have opened them, but no passphrase was given to seal the new ones):
/// [`Error::SharesSealed`]. A lab opened with a passphrase passes.
pub fn check_sealing(lab: &Lab) -> Result<()> {
    if lab.seals() {
        return Ok(());
    }
    let generations = lab.load_generations()?;
    let any_sealed = generations.iter().any(|p| {
        p.authorities()
            .iter()
            .any(|a| share_sealed(lab, &a.name, p.generation()) == Some(true))
    });
    if any_sealed {
        return Err(Error::SharesSealed);
    }
    Ok(())
}
