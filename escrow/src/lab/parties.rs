//! The log's, the witnesses' and the auditor's keys and state in the lab.

use std::fs::{File, OpenOptions};

use signed_note::StandardSigner;
use zeroize::Zeroizing;

use super::{Lab, MAX_FILE_LEN, invalid, read_limited};
use crate::error::{Error, LabError, LogError, Result};
use crate::transparency::store::LogStore;
use crate::transparency::tamper::Tamper;
use crate::transparency::witness::WitnessState;
use crate::transparency::{CosignatureSigner, LogConfig};

impl Lab {
    /// The log's public configuration.
    pub fn load_log_config(&self) -> Result<LogConfig> {
        let path = self.log_config_path();
        if !path.exists() {
            return Err(LabError::NotSetUp { path }.into());
        }
        let bytes = read_limited(&path, MAX_FILE_LEN)?;
        LogConfig::from_json(&bytes).map_err(|e| invalid(&path, e))
    }

    /// Opens the log database (which must exist).
    pub fn open_log(&self, config: &LogConfig) -> Result<LogStore> {
        let path = self.log_db_path();
        if !path.exists() {
            return Err(self.log_missing(path));
        }
        refuse_empty(&path)?;
        let store = LogStore::open(&path, &config.origin)?;
        refuse_empty_store(&path, &store)?;
        Ok(store)
    }

    /// The log operator's checkpoint signer (the log role only:
    /// [`crate::transparency::api::LocalLog`]; the attacks' rogue operator through
    /// [`crate::hazmat::log_operator_signer`]).
    pub(crate) fn log_signer(&self) -> Result<StandardSigner> {
        let path = self.log_key_path();
        let key = Zeroizing::new(read_limited(&path, 4096)?);
        let key = std::str::from_utf8(&key)
            .map_err(|_| Error::InconsistentParameters("log key is not UTF-8"))?;
        crate::transparency::log_signer(key.trim_end()).map_err(|e| invalid(&path, e))
    }

    /// An authority's witness cosigner, cosigning at `time` (Unix seconds).
    pub fn witness_signer(&self, authority: &str, time: u64) -> Result<CosignatureSigner> {
        crate::identity::check_name("authority", authority)?;
        let path = self.witness_key_path(authority);
        let key = Zeroizing::new(read_limited(&path, 4096)?);
        let key = std::str::from_utf8(&key)
            .map_err(|_| Error::InconsistentParameters("witness key is not UTF-8"))?;
        CosignatureSigner::new(key.trim_end(), time).map_err(|e| invalid(&path, e))
    }

    /// The error for a log database that is not there: a lab without parameters is not set up;
    /// one with parameters lost its log.
    fn log_missing(&self, path: std::path::PathBuf) -> Error {
        if self.params_path().exists() {
            LabError::LogMissing { path }.into()
        } else {
            LabError::NotSetUp { path }.into()
        }
    }

    /// Takes the lab's resharing lock (`.reshare.lock`, an exclusive advisory lock held until
    /// the returned file is dropped): revocations and abandonment run one at a time.
    pub fn lock_reshare(&self) -> Result<File> {
        lock_file(&self.reshare_lock_path())
    }

    /// Takes `authority`'s witness lock (`authorities/<name>/witness.lock`, an exclusive
    /// advisory lock held until the returned file is dropped): one cosignature at a time.
    pub fn lock_witness(&self, authority: &str) -> Result<File> {
        crate::identity::check_name("authority", authority)?;
        lock_file(&self.witness_lock_path(authority))
    }

    /// An authority's witness state (a fresh one if it never cosigned).
    pub fn load_witness_state(&self, authority: &str) -> Result<WitnessState> {
        crate::identity::check_name("authority", authority)?;
        let path = self.witness_state_path(authority);
        if !path.exists() {
            return Ok(WitnessState::new(authority));
        }
        let bytes = read_limited(&path, MAX_FILE_LEN)?;
        let state = WitnessState::from_json(&bytes).map_err(|e| invalid(&path, e))?;
        if state.authority != authority {
            return Err(Error::ShareMismatch {
                authority: authority.to_owned(),
            });
        }
        Ok(state)
    }

    /// The request signer of `name`: an authority signs with its witness key, the auditor
    /// (`auditor`) with `auditor/submit.key`.
    pub fn request_signer(&self, name: &str) -> Result<crate::transparency::submit::RequestSigner> {
        let path = if name == "auditor" {
            self.auditor_submit_key_path()
        } else {
            crate::identity::check_name("authority", name)?;
            self.witness_key_path(name)
        };
        let key = Zeroizing::new(read_limited(&path, 4096)?);
        let key = std::str::from_utf8(&key)
            .map_err(|_| Error::InconsistentParameters("request signing key is not UTF-8"))?;
        crate::transparency::submit::RequestSigner::from_key(name, key.trim_end())
            .map_err(|e| invalid(&path, e))
    }

    /// The auditor's log state (a fresh one if it never acted on the log).
    pub fn load_auditor_log_state(&self) -> Result<WitnessState> {
        let path = self.auditor_log_state_path();
        if !path.exists() {
            return Ok(WitnessState::new(AUDITOR));
        }
        let bytes = read_limited(&path, MAX_FILE_LEN)?;
        let state = WitnessState::from_json(&bytes).map_err(|e| invalid(&path, e))?;
        if state.authority != AUDITOR {
            return Err(invalid(
                &path,
                Error::InconsistentParameters("not the auditor's log state"),
            ));
        }
        Ok(state)
    }

    /// Opens the log read-only (the monitor's view: nothing is created or changed).
    pub fn open_log_read_only(&self, config: &LogConfig) -> Result<LogStore> {
        let path = self.log_db_path();
        if !path.exists() {
            return Err(self.log_missing(path));
        }
        refuse_empty(&path)?;
        let store = LogStore::open_read_only(&path, &config.origin)?;
        refuse_empty_store(&path, &store)?;
        Ok(store)
    }
}

/// The name the auditor's log state is kept under.
pub const AUDITOR: &str = "auditor";

/// A lab's log is never empty (setup writes its `generation-created` entry before the log is
/// moved into place): an emptied or truncated database is refused before anything opens it for
/// writing, so no command appends to (and forks) a log that lost its history.
fn refuse_empty(path: &std::path::Path) -> Result<()> {
    let len = std::fs::metadata(path)
        .map_err(|error| LabError::Io {
            path: path.to_owned(),
            error,
        })?
        .len();
    if len == 0 {
        return Err(invalid(path, LogError::Tampered(Tamper::Empty).into()));
    }
    Ok(())
}

fn refuse_empty_store(path: &std::path::Path, store: &LogStore) -> Result<()> {
    if store.size()? == 0 {
        return Err(invalid(path, LogError::Tampered(Tamper::Empty).into()));
    }
    Ok(())
}

/// Opens (creating if needed) `path` and takes an exclusive advisory lock on it.
fn lock_file(path: &std::path::Path) -> Result<File> {
    let io = |error| LabError::Io {
        path: path.to_owned(),
        error,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io)?;
    file.lock().map_err(io)?;
    Ok(file)
}
