//! A generation's shares over their life: sealed with a passphrase (`escrow seal`), a new
//! generation rotated in (`escrow rotate`), a generation retired by its authorities (`escrow
//! retire`).

use std::path::PathBuf;

use rand_core::{CryptoRng, RngCore};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::authority::Retirement;
use crate::error::{Error, Result};
use crate::lab::{Lab, MAX_FILE_LEN, read_limited};
use crate::params::PublicParams;
use crate::rotate::RotateRequest;

/// What [`seal`] did.
#[derive(Debug)]
pub struct Sealed {
    /// The generation whose share was sealed.
    pub generation: u32,
    /// The share file, now sealed.
    pub share_file: PathBuf,
}

/// Seals `authority`'s plain share of `generation` (default: the newest) with the lab's
/// passphrase (Argon2id + AES-256-GCM, [`crate::sealed`]). The plain share is loaded and
/// checked, sealed outside the log's lock, then the file is replaced under the lock if nothing
/// changed it meanwhile (a retirement, say). Refused without a passphrase
/// ([`Error::NoPassphraseToSeal`]), for a name that is not an authority of the generation, and
/// for a share sealed already ([`Error::AlreadySealed`]).
pub fn seal(lab: &Lab, authority: &str, generation: Option<u32>) -> Result<Sealed> {
    if !lab.seals() {
        return Err(Error::NoPassphraseToSeal);
    }
    let params = super::generation_or_newest(lab, generation)?;
    if params.authority(authority).is_none() {
        return Err(Error::NotAnAuthority(authority.to_owned()));
    }
    let path = lab.share_path_of(authority, params.generation());
    let bytes = read_limited(&path, MAX_FILE_LEN)?;
    if crate::sealed::is_sealed(&bytes) {
        return Err(Error::AlreadySealed { path });
    }
    let share = lab.load_share(&params, authority)?;
    let sealed = lab.encode_share(&share)?;
    lab.replace_shares(
        &params,
        &[(authority.to_owned(), Zeroizing::new(bytes), sealed)],
        None,
    )?;
    Ok(Sealed {
        generation: params.generation(),
        share_file: path,
    })
}

/// Rotates to a new generation ([`crate::rotate::rotate`]), refused if its shares would be
/// written plain into a lab whose shares are sealed ([`super::check_sealing`]).
pub fn rotate<R: RngCore + CryptoRng>(
    lab: &Lab,
    request: &RotateRequest,
    rng: &mut R,
) -> Result<PublicParams> {
    super::check_sealing(lab)?;
    crate::rotate::rotate(lab, request, rng)
}

/// What [`retire`] did.
#[derive(Debug)]
pub struct Retired {
    /// The generation's parameters.
    pub params: PublicParams,
    /// The retirement.
    pub retirement: Retirement,
}

/// `authority` retires `generation`, which must be named when the lab holds several
/// ([`Error::WhichGeneration`]): its share destroyed, `generation-retired` logged at `at`
/// ([`crate::authority::retire`]).
pub fn retire(
    lab: &Lab,
    authority: &str,
    generation: Option<u32>,
    at: OffsetDateTime,
) -> Result<Retired> {
    let generations = lab.load_generations()?;
    let params = match generation {
        Some(g) => generations.get(g)?.clone(),
        None if generations.iter().count() > 1 => {
            return Err(Error::WhichGeneration {
                known: generations
                    .iter()
                    .map(|p| p.generation().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        None => generations.newest().clone(),
    };
    let retirement = crate::authority::retire(lab, authority, Some(params.generation()), at)?;
    Ok(Retired { params, retirement })
}
