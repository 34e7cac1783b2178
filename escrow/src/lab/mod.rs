//! The lab directory: one folder holding every party's files, for a lab on one machine.
//!
//! One submodule per job: [`layout`] (where each kind of file lives: the only place a file
//! name is written), this module (the lab and the reading of parameters and shares),
//! `setup` (writing a new generation), `rotation` (installing rotated generations and
//! replacing shares, crash-safely), `parties` (the log's, witnesses' and auditor's keys and
//! state) and [`files`] (atomic writes, size-limited reads, outputs never overwritten,
//! destruction of secrets).
//!
//! Every file is written atomically: a temporary file in the same folder, `fsync`, `rename`,
//! `fsync` of the folder. Setup stages all share files in a hidden folder, moves the
//! `authorities` folder into place, and writes `params.json` last, so a crash leaves either no
//! parameters (and setup can run again) or a complete generation. Reads are size-limited.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::error::{Error, LabError, Result};
use crate::hazmat::export_share_json;
use crate::params::{Generations, PublicParams};
use crate::sealed::Passphrase;
use crate::setup::AuthorityShare;

pub mod files;
pub mod layout;
mod parties;
mod rotation;
mod setup;

pub use files::{
    AtomicFile, Written, check_output, create_dir_all_private, destroy_file, read_limited,
    refuse_existing_output, write_atomic, write_output,
};
pub use parties::AUDITOR;
pub use rotation::ShareReplacement;

/// Largest JSON file the lab reads (parameters and shares are a few KiB).
pub const MAX_FILE_LEN: u64 = 1 << 20;

/// A lab directory, with the means to open and write sealed share files.
#[derive(Clone, Debug)]
pub struct Lab {
    root: PathBuf,
    /// Seals share files written, opens sealed ones read.
    passphrase: Option<Arc<Passphrase>>,
    /// Asks for the passphrase of a sealed file when none was given (a terminal prompt).
    prompt: Option<fn(&Path) -> Result<Passphrase>>,
}

/// What a sealed share file holds (`content` of [`crate::sealed`]).
pub const SHARE_CONTENT: &str = "authority-share";

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LabError + '_ {
    move |error| LabError::Io {
        path: path.to_owned(),
        error,
    }
}

impl Lab {
    /// A lab rooted at `root` (nothing is created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            passphrase: None,
            prompt: None,
        }
    }

    /// The same lab, sealing the share files it writes with `passphrase` and opening sealed
    /// ones with it.
    pub fn with_passphrase(mut self, passphrase: Passphrase) -> Self {
        self.passphrase = Some(Arc::new(passphrase));
        self
    }

    /// The same lab, calling `prompt` for the passphrase of a sealed file when none was given.
    pub fn with_prompt(mut self, prompt: fn(&Path) -> Result<Passphrase>) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// Another lab folder with the same passphrase settings (`escrow reshare --out`).
    pub fn at(&self, root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            ..self.clone()
        }
    }

    /// Whether share files written are sealed.
    pub fn seals(&self) -> bool {
        self.passphrase.is_some()
    }

    /// A share file's bytes: sealed with the lab's passphrase if it has one, else plain JSON.
    pub fn encode_share(&self, share: &AuthorityShare) -> Result<Zeroizing<Vec<u8>>> {
        let plain = export_share_json(share)?;
        match &self.passphrase {
            Some(p) => Ok(Zeroizing::new(crate::sealed::seal(
                p,
                SHARE_CONTENT,
                &plain,
                &mut rand_core::OsRng,
            )?)),
            None => Ok(plain),
        }
    }

    /// The plaintext of a share file read from `path`: opened with the lab's passphrase (or a
    /// prompt) if sealed.
    pub fn decode_share(
        &self,
        path: &Path,
        bytes: Zeroizing<Vec<u8>>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        if !crate::sealed::is_sealed(&bytes) {
            return Ok(bytes);
        }
        let asked;
        let passphrase = match (&self.passphrase, self.prompt) {
            (Some(p), _) => p.as_ref(),
            (None, Some(prompt)) => {
                asked = prompt(path)?;
                &asked
            }
            (None, None) => {
                return Err(Error::PassphraseRequired {
                    path: path.to_owned(),
                });
            }
        };
        let (plain, _) =
            crate::sealed::open(passphrase, SHARE_CONTENT, &bytes).map_err(|e| match e {
                Error::WrongPassphrase => LabError::Invalid {
                    path: path.to_owned(),
                    error: Box::new(Error::WrongPassphrase),
                }
                .into(),
                other => invalid(path, other),
            })?;
        Ok(plain)
    }

    /// Destroys `authority`'s share of `generation` (see [`destroy_file`]).
    pub fn destroy_share(&self, authority: &str, generation: u32) -> Result<()> {
        destroy_file(&self.share_path_of(authority, generation))
    }

    /// Reads and validates the parameters of the newest generation.
    pub fn load_params(&self) -> Result<PublicParams> {
        Ok(self.load_generations()?.newest().clone())
    }

    /// Reads and validates one generation's parameters ([`Error::UnknownGeneration`] if the
    /// lab does not hold it).
    pub fn load_generation(&self, generation: u32) -> Result<PublicParams> {
        Ok(self.load_generations()?.get(generation)?.clone())
    }

    /// Reads and validates every generation: `params.json` and each
    /// `generations/<G>/params.json` (whose number must be its folder's). Hidden folders
    /// (a rotation in progress) and folders without parameters are not generations yet.
    pub fn load_generations(&self) -> Result<Generations> {
        let path = self.params_path();
        if path.symlink_metadata().is_err() {
            return Err(LabError::NotSetUp { path }.into());
        }
        let mut list = vec![load_params_file(&path)?];
        let dir = self.generations_dir();
        if dir.symlink_metadata().is_ok() {
            for entry in fs::read_dir(&dir).map_err(io(&dir))? {
                let entry = entry.map_err(io(&dir))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let file = entry.path().join("params.json");
                if file.symlink_metadata().is_err() {
                    continue;
                }
                let params = load_params_file(&file)?;
                if name != params.generation().to_string() {
                    return Err(invalid(
                        &file,
                        Error::InconsistentParameters(
                            "a rotated generation's number must be its folder's name",
                        ),
                    ));
                }
                list.push(params);
            }
        }
        Generations::new(list).map_err(|e| invalid(&dir, e))
    }

    /// Reads one authority's share and checks it against the parameters.
    pub fn load_share(&self, params: &PublicParams, authority: &str) -> Result<AuthorityShare> {
        crate::identity::check_name("authority", authority)?;
        if params.authority(authority).is_none() {
            return Err(Error::ShareMismatch {
                authority: authority.to_owned(),
            });
        }
        let path = self.share_path_of(authority, params.generation());
        let bytes = self.decode_share(&path, Zeroizing::new(read_limited(&path, MAX_FILE_LEN)?))?;
        let share = AuthorityShare::from_json(&bytes, params).map_err(|e| invalid(&path, e))?;
        // A valid share of another authority in this one's file is not this one's share.
        if share.authority() != authority {
            return Err(invalid(
                &path,
                Error::ShareOfAnother {
                    found: share.authority().to_owned(),
                    expected: authority.to_owned(),
                },
            ));
        }
        Ok(share)
    }
}

pub(super) fn load_params_file(path: &Path) -> Result<PublicParams> {
    let bytes = read_limited(path, MAX_FILE_LEN)?;
    PublicParams::from_json(&bytes).map_err(|e| invalid(path, e))
}

pub(super) fn invalid(path: &Path, e: Error) -> Error {
    match e {
        Error::Lab(l) => Error::Lab(l),
        other => LabError::Invalid {
            path: path.to_owned(),
            error: Box::new(other),
        }
        .into(),
    }
}
