//! Writing a new generation into an empty lab (`escrow setup`, the DKG board's installation).

use std::fs;

use zeroize::Zeroizing;

use super::files::sync_dir;
use super::{Lab, create_dir_all_private, io, write_atomic};
use crate::error::{LabError, Result};
use crate::params::PublicParams;
use crate::setup::AuthorityShare;
use crate::transparency::store::LogStore;
use crate::transparency::{LogEntry, LogRecord, NewLog};

impl Lab {
    /// Refuses if the lab already holds a generation (parameters or an authorities folder).
    pub fn check_empty_for_setup(&self) -> Result<()> {
        // symlink_metadata: a dangling link counts as present, not as absent.
        let params = self.params_path();
        if params.symlink_metadata().is_ok() {
            return Err(LabError::AlreadySetUp { path: params }.into());
        }
        for dir in [self.authorities_dir(), self.log_dir()] {
            if dir.symlink_metadata().is_ok() {
                return Err(LabError::AlreadySetUp { path: dir }.into());
            }
        }
        Ok(())
    }

    /// Writes a new generation: every share and witness key (0600), the transparency log
    /// (its public configuration, its signing key and its database holding the
    /// `generation-created` entry), then `params.json`.
    pub fn write_setup(
        &self,
        params: &PublicParams,
        shares: &[AuthorityShare],
        log: &NewLog,
    ) -> Result<()> {
        let exported = shares
            .iter()
            .map(|s| Ok((s.authority().to_owned(), self.encode_share(s)?)))
            .collect::<Result<Vec<_>>>()?;
        self.write_setup_files(params, &exported, log)
    }

    /// [`Lab::write_setup`] with the share files already encoded (the DKG board's installation:
    /// each authority's file as it staged it, checked against its signed digest).
    pub(crate) fn write_setup_files(
        &self,
        params: &PublicParams,
        exported: &[(String, Zeroizing<Vec<u8>>)],
        log: &NewLog,
    ) -> Result<()> {
        self.write_setup_with(params, log, |staged| {
            for (name, json) in exported {
                create_dir_all_private(&staged.authority_dir(name))?;
                write_atomic(&staged.share_path(name), json, 0o600)?;
            }
            for (name, key) in &log.witness_keys {
                create_dir_all_private(&staged.authority_dir(name))?;
                write_atomic(&staged.witness_key_path(name), key.as_bytes(), 0o600)?;
            }
            Ok(())
        })
    }

    fn write_setup_with(
        &self,
        params: &PublicParams,
        log: &NewLog,
        place: impl FnOnce(&Lab) -> Result<()>,
    ) -> Result<()> {
        self.check_empty_for_setup()?;
        let params_json = params.to_json()?;
        let created = generation_created(params)?;
        let signer = crate::transparency::log_signer(&log.log_key)?;
        create_dir_all_private(&self.root)?;
        let staging = self.setup_staging_dir();
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        let result = (|| -> Result<()> {
            let staged = self.at(&staging);
            let staged_authorities = staged.authorities_dir();
            create_dir_all_private(&staged_authorities)?;
            place(&staged)?;
            let staged_log = staged.log_dir();
            create_dir_all_private(&staged_log)?;
            write_atomic(&staged.log_config_path(), &log.config.to_json()?, 0o644)?;
            write_atomic(&staged.log_key_path(), log.log_key.as_bytes(), 0o600)?;
            {
                let mut store = LogStore::open(&staged.log_db_path(), &log.config.origin)?;
                store.append(&created, &signer)?;
            }
            let target = self.authorities_dir();
            fs::rename(&staged_authorities, &target).map_err(io(&target))?;
            let log_target = self.log_dir();
            if let Err(e) = fs::rename(&staged_log, &log_target).map_err(io(&log_target)) {
                let _ = fs::remove_dir_all(&target);
                return Err(e.into());
            }
            // The auditor's request-signing key (registered in log.json's submitters).
            create_dir_all_private(&self.auditor_dir())?;
            write_atomic(
                &self.auditor_submit_key_path(),
                log.auditor_key.as_bytes(),
                0o600,
            )?;
            if let Err(e) = write_atomic(&self.params_path(), &params_json, 0o644) {
                let _ = fs::remove_dir_all(&target);
                let _ = fs::remove_dir_all(&log_target);
                return Err(e);
            }
            Ok(())
        })();
        let _ = fs::remove_dir_all(&staging);
        result?;
        sync_dir(&self.root)
    }
}

/// The `generation-created` record of a generation.
pub(super) fn generation_created(params: &PublicParams) -> Result<LogRecord> {
    let rfc = crate::encoding::rfc3339;
    Ok(LogRecord::new(LogEntry::GenerationCreated {
        realm: params.realm().to_owned(),
        generation: params.generation(),
        master_public_key: crate::encoding::g1_hex(params.master_public_key()),
        threshold: params.threshold() as u32,
        authorities: params
            .authorities()
            .iter()
            .map(|a| a.name.clone())
            .collect(),
        time: rfc(params.created_at())?,
        valid_from: params.valid_from().map(rfc).transpose()?,
        valid_until: params.valid_until().map(rfc).transpose()?,
    }))
}
