//! The lab directory's layout: one path function per kind of file, and nowhere else a file
//! name. Every tool, the messenger's and the auditor's included, finds its files here.
//!
//! ```text
//! <lab>/params.json                                 setup's generation (0644)        params_path
//! <lab>/generations/<G>/params.json                 a rotated generation              rotated_params_path
//! <lab>/generations/.<G>/{params.json,shares/}      a rotation being installed        pending_generation_dir
//! <lab>/.setup-<pid>/                             setup's staging folder            setup_staging_dir
//! <lab>/.replace-<G>.json                           a share replacement in progress   replacement_path
//! <lab>/authorities/<name>/share.json               setup's share (0600)              share_path
//! <lab>/authorities/<name>/share-<G>.json           a rotated generation's share      share_path_of
//! <lab>/authorities/<name>/witness.key              witness and request key (0600)    witness_key_path
//! <lab>/authorities/<name>/witness.json             the last checkpoint it cosigned   witness_state_path
//! <lab>/authorities/<name>/witness.lock             one cosignature at a time         witness_lock_path
//! <lab>/authorities/<name>/journal.sqlite           its approvals, append-only        journal_path
//! <lab>/log/log.json                                the log's public configuration    log_config_path
//! <lab>/log/log.key                                 the log operator's key (0600)     log_key_path
//! <lab>/log/log.sqlite                              the transparency log              log_db_path
//! <lab>/auditor/submit.key                          the auditor's request key (0600)  auditor_submit_key_path
//! <lab>/auditor/log-state.json                      the auditor's last checkpoint     auditor_log_state_path
//! <lab>/auditor/served-logs.json                    verified served logs              served_logs_state_path
//! <lab>/dkg/                                        a DKG board                       dkg_dir
//! <lab>/reshare/                                    a resharing board                 reshare_dir
//! <lab>/.reshare.lock                              one revocation at a time          reshare_lock_path
//! <lab>/reshares/<G>-<nonce>[-abandoned]/           finished resharing boards         reshares_archive_dir
//! <lab>/relay.sqlite                                the provider's relay              relay_path
//! <lab>/clients/<account>.json                      a messenger client's state        client_state_path
//! ```
//!
//! Which party holds which of these is in docs/architecture.md; part 2 of the separation gives
//! each party its own state directory with the same file names.

use std::path::{Path, PathBuf};

use super::Lab;

impl Lab {
    /// The lab's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<lab>/params.json`: the parameters of the generation made by setup.
    pub fn params_path(&self) -> PathBuf {
        self.root.join("params.json")
    }

    /// `<lab>/generations`: the generations made by `escrow rotate`, one folder each.
    pub fn generations_dir(&self) -> PathBuf {
        self.root.join("generations")
    }

    /// `<lab>/generations/<G>`: a rotated generation's folder.
    pub fn generation_dir(&self, generation: u32) -> PathBuf {
        self.generations_dir().join(generation.to_string())
    }

    /// `<lab>/generations/<G>/params.json`: a rotated generation's parameters.
    pub fn rotated_params_path(&self, generation: u32) -> PathBuf {
        self.generation_dir(generation).join("params.json")
    }

    /// `<lab>/generations/.<G>`: a rotation being installed (see
    /// [`Lab::install_generation`]).
    pub fn pending_generation_dir(&self, generation: u32) -> PathBuf {
        self.generations_dir().join(format!(".{generation}"))
    }

    /// `<lab>/generations/.<G>/shares`: the staged shares of a rotation being installed.
    pub(crate) fn pending_shares_dir(&self, generation: u32) -> PathBuf {
        self.pending_generation_dir(generation).join("shares")
    }

    /// `<lab>/generations/.<G>/shares/<name>.json`.
    pub(crate) fn pending_share_path(&self, generation: u32, authority: &str) -> PathBuf {
        self.pending_shares_dir(generation)
            .join(format!("{authority}.json"))
    }

    /// `<lab>/generations/.<G>/params.json`.
    pub(crate) fn pending_params_path(&self, generation: u32) -> PathBuf {
        self.pending_generation_dir(generation).join("params.json")
    }

    /// `<lab>/.setup-<pid>`: where setup stages a generation before moving it into place.
    pub(crate) fn setup_staging_dir(&self) -> PathBuf {
        self.root.join(format!(".setup-{}", std::process::id()))
    }

    pub(crate) fn is_rotated(&self, generation: u32) -> bool {
        self.rotated_params_path(generation)
            .symlink_metadata()
            .is_ok()
    }

    /// Where generation `generation`'s parameters live: `params.json` for the generation made
    /// by setup, `generations/<G>/params.json` for a rotated one.
    pub fn params_path_of(&self, generation: u32) -> PathBuf {
        if self.is_rotated(generation) {
            self.rotated_params_path(generation)
        } else {
            self.params_path()
        }
    }

    /// `<lab>/.replace-<G>.json`: the record of a share replacement in progress.
    pub(crate) fn replacement_path(&self, generation: u32) -> PathBuf {
        self.root.join(format!(".replace-{generation}.json"))
    }

    /// `<lab>/authorities`.
    pub fn authorities_dir(&self) -> PathBuf {
        self.root.join("authorities")
    }

    /// `<lab>/authorities/<name>`: one authority's folder (0700).
    pub fn authority_dir(&self, authority: &str) -> PathBuf {
        self.authorities_dir().join(authority)
    }

    /// `<lab>/authorities/<name>/share.json`.
    pub fn share_path(&self, authority: &str) -> PathBuf {
        self.authority_dir(authority).join("share.json")
    }

    /// `<lab>/authorities/<name>/share-<G>.json`: a rotated generation's share.
    pub fn rotated_share_path(&self, authority: &str, generation: u32) -> PathBuf {
        self.authority_dir(authority)
            .join(format!("share-{generation}.json"))
    }

    /// Where `authority`'s share of `generation` lives: `share.json` for the generation made
    /// by setup, `share-<G>.json` beside it for a rotated one.
    pub fn share_path_of(&self, authority: &str, generation: u32) -> PathBuf {
        if self.is_rotated(generation) {
            self.rotated_share_path(authority, generation)
        } else {
            self.share_path(authority)
        }
    }

    /// `<lab>/authorities/<name>/witness.key`: its witness cosigning key, which also signs its
    /// requests to a log service.
    pub fn witness_key_path(&self, authority: &str) -> PathBuf {
        self.authority_dir(authority).join("witness.key")
    }

    /// `<lab>/authorities/<name>/witness.json`.
    pub fn witness_state_path(&self, authority: &str) -> PathBuf {
        self.authority_dir(authority).join("witness.json")
    }

    /// `<lab>/authorities/<name>/witness.lock`.
    pub fn witness_lock_path(&self, authority: &str) -> PathBuf {
        self.authority_dir(authority).join("witness.lock")
    }

    /// `<lab>/authorities/<name>/journal.sqlite`: its append-only journal of approvals.
    pub fn journal_path(&self, authority: &str) -> PathBuf {
        self.authority_dir(authority).join("journal.sqlite")
    }

    /// `<lab>/log`.
    pub fn log_dir(&self) -> PathBuf {
        self.root.join("log")
    }

    /// `<lab>/log/log.json`: the log's public configuration.
    pub fn log_config_path(&self) -> PathBuf {
        self.log_dir().join("log.json")
    }

    /// `<lab>/log/log.key`: the log operator's signing key.
    pub fn log_key_path(&self) -> PathBuf {
        self.log_dir().join("log.key")
    }

    /// `<lab>/log/log.sqlite`: the transparency log.
    pub fn log_db_path(&self) -> PathBuf {
        self.log_dir().join("log.sqlite")
    }

    /// `<lab>/auditor`.
    pub fn auditor_dir(&self) -> PathBuf {
        self.root.join("auditor")
    }

    /// `<lab>/auditor/submit.key`: the auditor's request-signing key for a log service.
    pub fn auditor_submit_key_path(&self) -> PathBuf {
        self.auditor_dir().join("submit.key")
    }

    /// `<lab>/auditor/served-logs.json`: the checkpoint `auditor log verify --url` verified
    /// last, per log.
    pub fn served_logs_state_path(&self) -> PathBuf {
        self.auditor_dir().join("served-logs.json")
    }

    /// `<lab>/auditor/log-state.json`: the last checkpoint the auditor accepted (the one
    /// covering its newest `warrant-logged` or `warrant-executed` entry).
    pub fn auditor_log_state_path(&self) -> PathBuf {
        self.auditor_dir().join("log-state.json")
    }

    /// `<lab>/dkg`: the board of a distributed key generation.
    pub fn dkg_dir(&self) -> PathBuf {
        self.root.join("dkg")
    }

    /// `<lab>/reshare`: the board of a resharing.
    pub fn reshare_dir(&self) -> PathBuf {
        self.root.join("reshare")
    }

    /// `<lab>/.reshare.lock`: held by a revocation or abandonment of the open resharing, so
    /// that two never interleave (the board itself moves away when it completes).
    pub fn reshare_lock_path(&self) -> PathBuf {
        self.root.join(".reshare.lock")
    }

    /// `<lab>/reshares`: finished and abandoned resharing boards, kept as evidence.
    pub fn reshares_archive_dir(&self) -> PathBuf {
        self.root.join("reshares")
    }

    /// `<lab>/relay.sqlite`: the provider's relay (the messenger's server side).
    pub fn relay_path(&self) -> PathBuf {
        self.root.join("relay.sqlite")
    }

    /// `<lab>/clients`: the messenger clients' state files.
    pub fn clients_dir(&self) -> PathBuf {
        self.root.join("clients")
    }

    /// `<lab>/clients/<account>.json`: one messenger client's state (0600).
    pub fn client_state_path(&self, account: &str) -> PathBuf {
        self.clients_dir().join(format!("{account}.json"))
    }
}
