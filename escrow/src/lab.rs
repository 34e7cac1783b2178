//! The lab directory: the one storage module of the crate.
//!
//! ```text
//! <lab>/params.json                     public parameters (mode 0644)
//! <lab>/authorities/<name>/share.json   one authority's secret share (mode 0600, folder 0700)
//! <lab>/authorities/<name>/witness.key  its witness cosigning key (0600)
//! <lab>/authorities/<name>/witness.json the last checkpoint it cosigned
//! <lab>/log/log.json                    the log's public configuration (origin, keys)
//! <lab>/log/log.key                     the log operator's signing key (0600)
//! <lab>/log/log.sqlite                  the transparency log
//! ```
//!
//! Every file is written atomically: a temporary file in the same folder, `fsync`, `rename`,
//! `fsync` of the folder. Setup stages all share files in a hidden folder, moves the
//! `authorities` folder into place, and writes `params.json` last, so a crash leaves either no
//! parameters (and setup can run again) or a complete generation. Reads are size-limited.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::error::{Error, LabError, Result};
use crate::hazmat::export_share_json;
use crate::params::{Generations, PublicParams};
use crate::sealed::Passphrase;
use crate::setup::AuthorityShare;
use crate::transparency::store::LogStore;
use crate::transparency::witness::WitnessState;
use crate::transparency::{CosignatureSigner, LogConfig, LogEntry, LogRecord, NewLog};
use signed_note::StandardSigner;

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

/// The record of a share replacement in progress ([`Lab::replace_shares`]).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Replacement {
    version: u64,
    generation: u32,
    authorities: Vec<String>,
    params: bool,
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// One share file to replace ([`Lab::replace_shares`]): the authority, the bytes read from
/// its file earlier, and the new bytes.
pub type ShareReplacement = (String, Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>);

/// What a sealed share file holds (`content` of [`crate::sealed`]).
pub const SHARE_CONTENT: &str = "authority-share";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LabError + '_ {
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

    /// The lab's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<lab>/params.json`.
    pub fn params_path(&self) -> PathBuf {
        self.root.join("params.json")
    }

    /// `<lab>/authorities`.
    pub fn authorities_dir(&self) -> PathBuf {
        self.root.join("authorities")
    }

    /// `<lab>/authorities/<name>/share.json`.
    pub fn share_path(&self, authority: &str) -> PathBuf {
        self.authorities_dir().join(authority).join("share.json")
    }

    /// `<lab>/generations`: the generations made by `escrow rotate`, one folder each.
    pub fn generations_dir(&self) -> PathBuf {
        self.root.join("generations")
    }

    /// `<lab>/generations/<G>/params.json`: a rotated generation's parameters.
    pub fn rotated_params_path(&self, generation: u32) -> PathBuf {
        self.generations_dir()
            .join(generation.to_string())
            .join("params.json")
    }

    fn is_rotated(&self, generation: u32) -> bool {
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

    /// Where `authority`'s share of `generation` lives: `share.json` for the generation made
    /// by setup, `share-<G>.json` beside it for a rotated one.
    pub fn share_path_of(&self, authority: &str, generation: u32) -> PathBuf {
        if self.is_rotated(generation) {
            self.authorities_dir()
                .join(authority)
                .join(format!("share-{generation}.json"))
        } else {
            self.share_path(authority)
        }
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
        self.write_setup_with(params, log, |staged_authorities| {
            for (name, json) in exported {
                let dir = staged_authorities.join(name);
                create_dir_all_private(&dir)?;
                write_atomic(&dir.join("share.json"), json, 0o600)?;
            }
            for (name, key) in &log.witness_keys {
                let dir = staged_authorities.join(name);
                create_dir_all_private(&dir)?;
                write_atomic(&dir.join("witness.key"), key.as_bytes(), 0o600)?;
            }
            Ok(())
        })
    }

    fn write_setup_with(
        &self,
        params: &PublicParams,
        log: &NewLog,
        place: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        self.check_empty_for_setup()?;
        let params_json = params.to_json()?;
        let created = generation_created(params)?;
        let signer = crate::transparency::log_signer(&log.log_key)?;
        create_dir_all_private(&self.root)?;
        let staging = self.root.join(format!(".setup-{}", std::process::id()));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        let result = (|| -> Result<()> {
            let staged_authorities = staging.join("authorities");
            create_dir_all_private(&staged_authorities)?;
            place(&staged_authorities)?;
            let staged_log = staging.join("log");
            create_dir_all_private(&staged_log)?;
            write_atomic(&staged_log.join("log.json"), &log.config.to_json()?, 0o644)?;
            write_atomic(&staged_log.join("log.key"), log.log_key.as_bytes(), 0o600)?;
            {
                let mut store = LogStore::open(&staged_log.join("log.sqlite"), &log.config.origin)?;
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
            let auditor = self.root.join("auditor");
            create_dir_all_private(&auditor)?;
            write_atomic(
                &auditor.join("submit.key"),
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

    /// Runs `f` holding the transparency log's write lock (SQLite `BEGIN IMMEDIATE`), after
    /// completing or undoing a rotation a crash interrupted ([`Lab::install_generation`]).
    /// Rotations run inside it, so two never overlap: the second waits for the first (up to
    /// the log's busy timeout) and then plans from what the first installed.
    pub fn with_rotation_lock<T>(&self, f: impl FnOnce(&mut LogStore) -> Result<T>) -> Result<T> {
        let config = self.load_log_config()?;
        let mut store = self.open_log(&config)?;
        store.with_write_lock(|store| {
            self.recover_rotation_in(store)?;
            f(store)
        })
    }

    /// Replaces share files of the generation `params` (and, for a refresh, its parameters
    /// with `new_params`), holding the log's write lock so that no retirement, refresh or seal
    /// runs in between. Each `(authority, read, new)` is written only if the file still holds
    /// exactly the bytes `read` earlier and the authority has not retired the generation since
    /// (a destroyed share is never written back). Crash-safe and all-or-nothing:
    ///
    /// 1. every new file is staged beside its target (`…json.new`);
    /// 2. the record `<lab>/.replace-<G>.json` naming the files is written — the point of no
    ///    return;
    /// 3. each old share moves aside (`…json.old`), each new one into place, the parameters
    ///    last; the old shares are destroyed (overwritten, removed); the record is removed.
    ///
    /// A crash before 2 leaves staged files that recovery destroys; after 2, recovery
    /// ([`Lab::recover_rotation`], run by every `escrow` command) finishes step 3. A failure
    /// before 2 destroys what it staged. Nothing ever leaves a share copy that retirement
    /// would miss.
    pub fn replace_shares(
        &self,
        params: &PublicParams,
        files: &[ShareReplacement],
        new_params: Option<&PublicParams>,
    ) -> Result<()> {
        self.with_rotation_lock(|_| {
            let g = params.generation();
            let config = self.load_log_config()?;
            let retired = crate::authority::retired_by(self, params, &config)?;
            for (authority, read, _) in files {
                if retired.contains(authority) {
                    return Err(Error::Retired {
                        authority: authority.clone(),
                        generation: g,
                    });
                }
                let path = self.share_path_of(authority, g);
                let now = Zeroizing::new(read_limited(&path, MAX_FILE_LEN)?);
                if now.as_slice() != read.as_slice() {
                    return Err(LabError::Io {
                        path,
                        error: std::io::Error::other(
                            "changed while this command ran; nothing was written, run it again",
                        ),
                    }
                    .into());
                }
            }
            let record = Replacement {
                version: 1,
                generation: g,
                authorities: files.iter().map(|(a, _, _)| a.clone()).collect(),
                params: new_params.is_some(),
            };
            let staged = (|| -> Result<()> {
                for (authority, _, new) in files {
                    let path = self.share_path_of(authority, g);
                    write_atomic(&with_suffix(&path, ".new"), new, 0o600)?;
                }
                if let Some(p) = new_params {
                    write_atomic(
                        &with_suffix(&self.params_path_of(g), ".new"),
                        &p.to_json()?,
                        0o644,
                    )?;
                }
                let json = serde_json::to_vec(&record).map_err(|_| Error::Internal("record"))?;
                write_atomic(&self.replacement_path(g), &json, 0o600)
            })();
            if let Err(e) = staged {
                let _ = self.discard_strays();
                return Err(e);
            }
            self.finish_replacement(&record)
        })
    }

    /// Replaces generation `new_params.generation()`'s sharing by one each new authority
    /// computed in its own state (a resharing's share files, one per authority of
    /// `new_params`, as read and checked against their authorities' signed digests): each is
    /// staged beside its target (0600), `log` runs under the log's write lock before the point
    /// of no return (the `generation-reshared` entry), and then the same crash-safe steps as
    /// [`Lab::replace_shares`] move the new shares and parameters into place and destroy every
    /// old share file they replace.
    pub(crate) fn replace_sharing(
        &self,
        new_params: &PublicParams,
        staged: &[(String, Zeroizing<Vec<u8>>)],
        log: impl FnOnce(&mut LogStore) -> Result<()>,
    ) -> Result<()> {
        self.with_rotation_lock(|store| {
            let g = new_params.generation();
            let record = Replacement {
                version: 1,
                generation: g,
                authorities: staged.iter().map(|(a, _)| a.clone()).collect(),
                params: true,
            };
            let result = (|| -> Result<()> {
                for (authority, bytes) in staged {
                    let path = self.share_path_of(authority, g);
                    if let Some(dir) = path.parent() {
                        create_dir_all_private(dir)?;
                    }
                    write_atomic(&with_suffix(&path, ".new"), bytes, 0o600)?;
                }
                write_atomic(
                    &with_suffix(&self.params_path_of(g), ".new"),
                    &new_params.to_json()?,
                    0o644,
                )?;
                log(store)?;
                let json = serde_json::to_vec(&record).map_err(|_| Error::Internal("record"))?;
                write_atomic(&self.replacement_path(g), &json, 0o600)
            })();
            if let Err(e) = result {
                let _ = self.discard_strays();
                return Err(e);
            }
            self.finish_replacement(&record)
        })
    }

    fn replacement_path(&self, generation: u32) -> PathBuf {
        self.root.join(format!(".replace-{generation}.json"))
    }

    /// Step 3 of [`Lab::replace_shares`] (idempotent: a recovery may repeat it).
    fn finish_replacement(&self, r: &Replacement) -> Result<()> {
        let g = r.generation;
        let mut moves: Vec<PathBuf> = r
            .authorities
            .iter()
            .map(|a| {
                crate::identity::check_name("authority", a)?;
                Ok(self.share_path_of(a, g))
            })
            .collect::<Result<_>>()?;
        if r.params {
            moves.push(self.params_path_of(g));
        }
        for path in &moves {
            let new = with_suffix(path, ".new");
            if new.symlink_metadata().is_err() {
                continue;
            }
            let old = with_suffix(path, ".old");
            if path.symlink_metadata().is_ok() && old.symlink_metadata().is_err() {
                fs::rename(path, &old).map_err(io(&old))?;
            }
            fs::rename(&new, path).map_err(io(path))?;
            if let Some(dir) = path.parent() {
                sync_dir(dir)?;
            }
        }
        for path in &moves {
            destroy_file(&with_suffix(path, ".old"))?;
        }
        destroy_file(&self.replacement_path(g))?;
        sync_dir(&self.root)
    }

    /// Finishes every recorded replacement, then destroys staged `…json.new` and `…json.old`
    /// share and parameter files no record names (a crash before the record was written).
    fn recover_replacements(&self) -> Result<()> {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return Ok(());
        };
        for entry in entries {
            let entry = entry.map_err(io(&self.root))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".replace-") && name.ends_with(".json") {
                let bytes = read_limited(&entry.path(), MAX_FILE_LEN)?;
                let r: Replacement = serde_json::from_slice(&bytes).map_err(|e| {
                    invalid(
                        &entry.path(),
                        Error::Json {
                            what: "replacement record",
                            error: e,
                        },
                    )
                })?;
                self.finish_replacement(&r)?;
            }
        }
        self.discard_strays()
    }

    /// Destroys staged share and parameter files (`…json.new`, `…json.old`).
    fn discard_strays(&self) -> Result<()> {
        let mut dirs = vec![self.root.clone()];
        for parent in [self.authorities_dir(), self.generations_dir()] {
            if let Ok(rd) = fs::read_dir(&parent) {
                for e in rd.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        dirs.push(e.path());
                    }
                }
            }
        }
        for dir in dirs {
            let Ok(rd) = fs::read_dir(&dir) else { continue };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".json.new") || name.ends_with(".json.old") {
                    destroy_file(&e.path())?;
                }
            }
        }
        Ok(())
    }

    /// Whether a replacement or its leftovers remain (see [`Lab::replace_shares`]).
    fn replacement_pending(&self) -> bool {
        fs::read_dir(&self.root).is_ok_and(|rd| {
            rd.flatten().any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with(".replace-")
            })
        }) || fs::read_dir(self.authorities_dir()).is_ok_and(|rd| {
            rd.flatten().any(|d| {
                fs::read_dir(d.path()).is_ok_and(|files| {
                    files.flatten().any(|f| {
                        let n = f.file_name().to_string_lossy().into_owned();
                        n.ends_with(".json.new") || n.ends_with(".json.old")
                    })
                })
            })
        })
    }

    /// Whether a rotation or a share replacement was interrupted (a hidden
    /// `generations/.<G>` folder, a `.replace-<G>.json` record or staged share files remain).
    pub fn rotation_pending(&self) -> bool {
        self.pending_rotations().is_ok_and(|p| !p.is_empty()) || self.replacement_pending()
    }

    /// Completes or undoes an interrupted rotation under the log's write lock.
    pub fn recover_rotation(&self) -> Result<()> {
        self.with_rotation_lock(|_| Ok(()))
    }

    /// The hidden `generations/.<G>` folders (G written without sign or leading zeros).
    fn pending_rotations(&self) -> Result<Vec<(u32, PathBuf)>> {
        let dir = self.generations_dir();
        if dir.symlink_metadata().is_err() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // Only real folders (never a symbolic link to elsewhere, never a stray file).
            if !entry.file_type().map_err(io(&dir))?.is_dir() {
                continue;
            }
            if let Some(g) = name
                .strip_prefix('.')
                .and_then(|n| n.parse::<u32>().ok().filter(|g| g.to_string() == n))
            {
                out.push((g, entry.path()));
            }
        }
        Ok(out)
    }

    /// Installs a rotated generation beside the existing ones, under the log's write lock
    /// (`store` inside [`Lab::with_rotation_lock`]), crash-safely:
    ///
    /// 1. the hidden folder `generations/.<G>/` is created (it must not exist);
    /// 2. every share file (encoded by [`Lab::encode_share`]) is written into it
    ///    (`shares/<name>.json`, 0600), then the parameters;
    /// 3. `generation-created` is appended to the log — the point of no return;
    /// 4. the shares move to `authorities/<name>/share-<G>.json` and the folder is renamed to
    ///    `generations/<G>/`: the generation exists.
    ///
    /// Nothing outside the hidden folder is written before the log announces the key, so an
    /// interrupted rotation either left only that folder (recovery destroys its shares and
    /// removes it) or a logged key whose installation recovery completes. A failure before 3
    /// removes everything it wrote.
    pub fn install_generation(
        &self,
        store: &mut LogStore,
        params: &PublicParams,
        shares: &[(String, Zeroizing<Vec<u8>>)],
    ) -> Result<()> {
        let g = params.generation();
        let final_dir = self.generations_dir().join(g.to_string());
        if final_dir.symlink_metadata().is_ok() || self.load_generations()?.get(g).is_ok() {
            return Err(LabError::AlreadySetUp { path: final_dir }.into());
        }
        if store.find(|e| announces(e, params.realm(), g))?.is_some() {
            return Err(Error::Internal(
                "install_generation: the log already announces this generation",
            ));
        }
        let signer = self.log_signer()?;
        let record = generation_created(params)?;
        create_dir_all_private(&self.generations_dir())?;
        let pending = self.generations_dir().join(format!(".{g}"));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&pending)
            .map_err(io(&pending))?;
        let staged = (|| -> Result<()> {
            let dir = pending.join("shares");
            create_dir_all_private(&dir)?;
            for (authority, bytes) in shares {
                crate::identity::check_name("authority", authority)?;
                write_atomic(&dir.join(format!("{authority}.json")), bytes, 0o600)?;
            }
            write_atomic(&pending.join("params.json"), &params.to_json()?, 0o644)?;
            sync_dir(&self.generations_dir())?;
            store.append(&record, &signer)?;
            // The announcement is durable before anything is installed.
            store.commit_and_relock()
        })();
        if let Err(e) = staged {
            if store.find(|e| announces(e, params.realm(), g))?.is_none() {
                let _ = self.discard_pending(&pending);
            }
            return Err(e);
        }
        self.finish_pending(g, &pending)
    }

    /// Step 4 of [`Lab::install_generation`]: moves the staged shares into the authorities'
    /// folders and renames the folder.
    fn finish_pending(&self, g: u32, pending: &Path) -> Result<()> {
        let target = self.generations_dir().join(g.to_string());
        if pending.symlink_metadata().is_err() && target.symlink_metadata().is_ok() {
            // Finished by another process's recovery while this one waited for the lock.
            return Ok(());
        }
        let staged = pending.join("shares");
        if staged.symlink_metadata().is_ok() {
            for entry in fs::read_dir(&staged).map_err(io(&staged))? {
                let entry = entry.map_err(io(&staged))?;
                let file = entry.file_name().to_string_lossy().into_owned();
                let Some(name) = file.strip_suffix(".json") else {
                    continue;
                };
                crate::identity::check_name("authority", name)?;
                if !entry.file_type().map_err(io(&staged))?.is_file() {
                    return Err(LabError::Io {
                        path: entry.path(),
                        error: std::io::Error::other("not a regular file"),
                    }
                    .into());
                }
                let dir = self.authorities_dir().join(name);
                create_dir_all_private(&dir)?;
                let target = dir.join(format!("share-{g}.json"));
                fs::rename(entry.path(), &target).map_err(io(&target))?;
                sync_dir(&dir)?;
            }
            fs::remove_dir(&staged).map_err(io(&staged))?;
        }
        fs::rename(pending, &target).map_err(io(&target))?;
        sync_dir(&self.generations_dir())
    }

    /// Destroys the staged shares of an unannounced rotation and removes its folder.
    fn discard_pending(&self, pending: &Path) -> Result<()> {
        let staged = pending.join("shares");
        if staged.symlink_metadata().is_ok() {
            for entry in fs::read_dir(&staged).map_err(io(&staged))? {
                destroy_file(&entry.map_err(io(&staged))?.path())?;
            }
        }
        fs::remove_dir_all(pending).map_err(io(pending))?;
        sync_dir(&self.generations_dir())
    }

    /// Completes each pending rotation the log announced (same master key) and undoes the
    /// others (see [`Lab::install_generation`]); `store` holds the write lock.
    fn recover_rotation_in(&self, store: &LogStore) -> Result<()> {
        self.recover_replacements()?;
        for (g, pending) in self.pending_rotations()? {
            let params = load_params_file(&pending.join("params.json")).ok();
            let logged = match &params {
                Some(p) => {
                    let mpk = crate::encoding::g1_hex(p.master_public_key());
                    store
                        .find(|e| {
                            matches!(e, LogEntry::GenerationCreated { realm, generation, master_public_key, .. }
                                if realm == p.realm() && *generation == g && *master_public_key == mpk)
                        })?
                        .is_some()
                }
                None => false,
            };
            if logged {
                self.finish_pending(g, &pending)?;
            } else {
                self.discard_pending(&pending)?;
            }
        }
        Ok(())
    }

    /// `<lab>/log`.
    pub fn log_dir(&self) -> PathBuf {
        self.root.join("log")
    }

    /// The log's public configuration.
    pub fn load_log_config(&self) -> Result<LogConfig> {
        let path = self.log_dir().join("log.json");
        if !path.exists() {
            return Err(LabError::NotSetUp { path }.into());
        }
        let bytes = read_limited(&path, MAX_FILE_LEN)?;
        LogConfig::from_json(&bytes).map_err(|e| invalid(&path, e))
    }

    /// Opens the log database (which must exist).
    pub fn open_log(&self, config: &LogConfig) -> Result<LogStore> {
        let path = self.log_dir().join("log.sqlite");
        if !path.exists() {
            return Err(LabError::NotSetUp { path }.into());
        }
        LogStore::open(&path, &config.origin)
    }

    /// The log operator's checkpoint signer (the log role only:
    /// [`crate::transparency::api::LocalLog`]; the attacks' rogue operator through
    /// [`crate::hazmat::log_operator_signer`]).
    pub(crate) fn log_signer(&self) -> Result<StandardSigner> {
        let path = self.log_dir().join("log.key");
        let key = Zeroizing::new(read_limited(&path, 4096)?);
        let key = std::str::from_utf8(&key)
            .map_err(|_| Error::InconsistentParameters("log key is not UTF-8"))?;
        crate::transparency::log_signer(key.trim_end()).map_err(|e| invalid(&path, e))
    }

    /// An authority's witness cosigner, cosigning at `time` (Unix seconds).
    pub fn witness_signer(&self, authority: &str, time: u64) -> Result<CosignatureSigner> {
        crate::identity::check_name("authority", authority)?;
        let path = self.authorities_dir().join(authority).join("witness.key");
        let key = Zeroizing::new(read_limited(&path, 4096)?);
        let key = std::str::from_utf8(&key)
            .map_err(|_| Error::InconsistentParameters("witness key is not UTF-8"))?;
        CosignatureSigner::new(key.trim_end(), time).map_err(|e| invalid(&path, e))
    }

    /// Takes `authority`'s witness lock (`authorities/<name>/witness.lock`, an exclusive
    /// advisory lock held until the returned file is dropped): one cosignature at a time.
    pub fn lock_witness(&self, authority: &str) -> Result<File> {
        crate::identity::check_name("authority", authority)?;
        let path = self.authorities_dir().join(authority).join("witness.lock");
        let io = |error| LabError::Io {
            path: path.clone(),
            error,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(file)
    }

    /// `<lab>/authorities/<name>/witness.json`.
    pub fn witness_state_path(&self, authority: &str) -> PathBuf {
        self.authorities_dir().join(authority).join("witness.json")
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

    /// `<lab>/auditor/submit.key`: the auditor's request-signing key for a log service.
    pub fn auditor_submit_key_path(&self) -> PathBuf {
        self.root.join("auditor").join("submit.key")
    }

    /// The request signer of `name`: an authority signs with its witness key, the auditor
    /// (`auditor`) with `auditor/submit.key`.
    pub fn request_signer(&self, name: &str) -> Result<crate::transparency::submit::RequestSigner> {
        let path = if name == "auditor" {
            self.auditor_submit_key_path()
        } else {
            crate::identity::check_name("authority", name)?;
            self.authorities_dir().join(name).join("witness.key")
        };
        let key = Zeroizing::new(read_limited(&path, 4096)?);
        let key = std::str::from_utf8(&key)
            .map_err(|_| Error::InconsistentParameters("request signing key is not UTF-8"))?;
        crate::transparency::submit::RequestSigner::from_key(name, key.trim_end())
            .map_err(|e| invalid(&path, e))
    }

    /// `<lab>/auditor/served-logs.json`: the checkpoint `auditor log verify --url` verified
    /// last, per log.
    pub fn served_logs_state_path(&self) -> PathBuf {
        self.root.join("auditor").join("served-logs.json")
    }

    /// `<lab>/auditor/log-state.json`: the last checkpoint the auditor accepted (the one
    /// covering its newest `warrant-logged` or `warrant-executed` entry).
    pub fn auditor_log_state_path(&self) -> PathBuf {
        self.root.join("auditor").join("log-state.json")
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
        let path = self.log_dir().join("log.sqlite");
        if !path.exists() {
            return Err(LabError::NotSetUp { path }.into());
        }
        LogStore::open_read_only(&path, &config.origin)
    }
}

/// The name the auditor's log state is kept under.
pub const AUDITOR: &str = "auditor";

/// The `generation-created` record of a generation.
fn generation_created(params: &PublicParams) -> Result<LogRecord> {
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .map_err(|_| Error::Internal("RFC 3339 formatting"))
    };
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

fn announces(e: &LogEntry, realm: &str, g: u32) -> bool {
    matches!(e, LogEntry::GenerationCreated { realm: r, generation, .. } if r == realm && *generation == g)
}

fn load_params_file(path: &Path) -> Result<PublicParams> {
    let bytes = read_limited(path, MAX_FILE_LEN)?;
    PublicParams::from_json(&bytes).map_err(|e| invalid(path, e))
}

fn invalid(path: &Path, e: Error) -> Error {
    match e {
        Error::Lab(l) => Error::Lab(l),
        other => LabError::Invalid {
            path: path.to_owned(),
            error: Box::new(other),
        }
        .into(),
    }
}

/// Creates a folder and its parents with mode 0700 for the ones it creates.
pub fn create_dir_all_private(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))?;
    Ok(())
}

/// Reads a whole file, refusing files larger than `max` bytes, symbolic links and anything
/// but a regular file (a FIFO would block, a device never end).
pub fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>> {
    let not_a_file = |what| LabError::NotAFile {
        path: path.to_owned(),
        what,
    };
    let meta = fs::symlink_metadata(path).map_err(io(path))?;
    if meta.file_type().is_symlink() {
        return Err(not_a_file("is a symbolic link").into());
    }
    if meta.is_dir() {
        return Err(not_a_file("is a directory").into());
    }
    if !meta.is_file() {
        return Err(not_a_file("is not a regular file").into());
    }
    let file = OpenOptions::new()
        .read(true)
        // Never follow a final symbolic link, never block on a FIFO swapped in after the check.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(io(path))?;
    let size = file.metadata().map_err(io(path))?.len();
    if size > max {
        return Err(LabError::TooLarge {
            path: path.to_owned(),
            size,
            max,
        }
        .into());
    }
    let mut buf = Vec::with_capacity(size as usize);
    file.take(max + 1).read_to_end(&mut buf).map_err(io(path))?;
    if buf.len() as u64 > max {
        return Err(LabError::TooLarge {
            path: path.to_owned(),
            size: buf.len() as u64,
            max,
        }
        .into());
    }
    Ok(buf)
}

/// Writes `bytes` to `path` atomically with the given mode: temporary file beside it, fsync,
/// rename, fsync of the folder.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    AtomicFile::create(path, mode)?.commit(bytes)
}

/// What [`write_output`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The file was created.
    Created,
    /// The file already held exactly these bytes and was left as it is.
    Unchanged,
}

/// The one `--out` rule of every tool: an output file is never overwritten. If `path` exists
/// and holds exactly `bytes`, nothing is written ([`Written::Unchanged`]: a command pasted
/// twice succeeds); if it holds anything else, [`LabError::OutputExists`]. Otherwise the bytes
/// are written to a temporary file beside it, synced, and linked into place with link(2),
/// which fails rather than replace a file created in between.
pub fn write_output(path: &Path, bytes: &[u8], mode: u32) -> Result<Written> {
    if let Some(w) = check_output(path, bytes)? {
        return Ok(w);
    }
    AtomicFile::create(path, mode)?.commit_new(bytes)
}

/// `Some(Unchanged)` if `path` holds exactly `bytes`, `None` if it does not exist,
/// [`LabError::OutputExists`] otherwise (the rule of [`write_output`], checked before work).
pub fn check_output(path: &Path, bytes: &[u8]) -> Result<Option<Written>> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(LabError::Io {
            path: path.to_owned(),
            error: plain_output_error(error),
        }
        .into()),
        Ok(m) if m.is_file() && m.len() == bytes.len() as u64 => {
            match read_limited(path, bytes.len() as u64) {
                Ok(old) if old == bytes => Ok(Some(Written::Unchanged)),
                _ => Err(taken(path, &m)),
            }
        }
        Ok(m) => Err(taken(path, &m)),
    }
}

/// An I/O error about an output path, in words for the usual cases (a missing folder, a file
/// where a folder should be).
fn plain_output_error(error: std::io::Error) -> std::io::Error {
    match error.kind() {
        std::io::ErrorKind::NotFound => {
            std::io::Error::new(error.kind(), "its folder does not exist")
        }
        std::io::ErrorKind::NotADirectory => std::io::Error::new(
            error.kind(),
            "its folder path goes through a file, not a folder",
        ),
        _ => error,
    }
}

/// The error for an output path that is taken, saying by what.
fn taken(path: &Path, m: &fs::Metadata) -> Error {
    let what = if m.file_type().is_symlink() {
        "is a symbolic link"
    } else if m.is_dir() {
        "is a directory"
    } else if m.is_file() {
        "already exists with other content"
    } else {
        "already exists and is not a regular file"
    };
    LabError::OutputExists {
        path: path.to_owned(),
        what,
    }
    .into()
}

/// Refuses an output path that exists (whatever it holds) before a command whose output is
/// not known yet does anything: commands that make fresh randomness or log an entry can never
/// reproduce an existing file, so any existing file is "other content".
pub fn refuse_existing_output(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(LabError::Io {
            path: path.to_owned(),
            error: plain_output_error(error),
        }
        .into()),
        Ok(m) => Err(taken(path, &m)),
    }
}

/// A file being written atomically: a temporary file beside its final path, created (mode
/// `mode`, never over an existing one) before the content is known, so that a command can
/// learn that it will be able to write its output before it does anything it cannot undo.
/// [`AtomicFile::commit`] writes, syncs and renames it into place; dropped uncommitted, the
/// temporary file is removed and nothing is left.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    tmp: PathBuf,
    path: PathBuf,
    dir: PathBuf,
}

impl AtomicFile {
    /// Creates the temporary file for `path`.
    pub fn create(path: &Path, mode: u32) -> Result<Self> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| LabError::Io {
                path: path.to_owned(),
                error: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
            })?
            .to_string_lossy()
            .into_owned();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|error| LabError::Io {
                // Named by the file asked for, not the temporary one beside it.
                path: path.to_owned(),
                error: plain_output_error(error),
            })?;
        Ok(Self {
            file: Some(file),
            tmp,
            path: path.to_owned(),
            dir,
        })
    }

    /// Writes `bytes`, syncs, and renames the file into place (then syncs the folder).
    pub fn commit(mut self, bytes: &[u8]) -> Result<()> {
        let Some(mut f) = self.file.take() else {
            return Err(Error::Internal("atomic file committed twice"));
        };
        f.write_all(bytes).map_err(io(&self.tmp))?;
        f.sync_all().map_err(io(&self.tmp))?;
        drop(f);
        fs::rename(&self.tmp, &self.path).map_err(io(&self.path))?;
        // Renamed: nothing for `drop` to remove.
        self.tmp = PathBuf::new();
        sync_dir(&self.dir)
    }
}

impl AtomicFile {
    /// Like [`AtomicFile::commit`], but never replaces a file: the temporary file is linked to
    /// the final path (link(2) fails if it exists) and then removed. A file that appeared in
    /// between with exactly these bytes counts as [`Written::Unchanged`].
    pub fn commit_new(mut self, bytes: &[u8]) -> Result<Written> {
        let Some(mut f) = self.file.take() else {
            return Err(Error::Internal("atomic file committed twice"));
        };
        f.write_all(bytes).map_err(io(&self.tmp))?;
        f.sync_all().map_err(io(&self.tmp))?;
        drop(f);
        let written = match fs::hard_link(&self.tmp, &self.path) {
            Ok(()) => Written::Created,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                match check_output(&self.path, bytes)? {
                    Some(w) => w,
                    None => return Err(io(&self.path)(e).into()),
                }
            }
            Err(e) => return Err(io(&self.path)(e).into()),
        };
        let tmp = std::mem::take(&mut self.tmp);
        fs::remove_file(&tmp).map_err(io(&tmp))?;
        sync_dir(&self.dir)?;
        Ok(written)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

/// Destroys a file of secrets: overwritten with zeros (in 64 KiB chunks), synced, removed,
/// and the removal synced. A missing file is not an error (a re-run after a crash). Anything
/// but a regular file (a symbolic link, say) is refused, and the file opened is checked to be
/// the one examined, so no other file can be overwritten. Overwriting does not erase data on
/// copy-on-write filesystems or flash translation layers; the lab cannot do better.
pub fn destroy_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let io = |e: std::io::Error| LabError::Io {
        path: path.to_owned(),
        error: e,
    };
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(e).into()),
    };
    if !meta.file_type().is_file() {
        return Err(io(std::io::Error::other(
            "not a regular file; refusing to destroy it",
        ))
        .into());
    }
    let mut f = OpenOptions::new().write(true).open(path).map_err(io)?;
    let opened = f.metadata().map_err(io)?;
    if opened.dev() != meta.dev() || opened.ino() != meta.ino() {
        return Err(io(std::io::Error::other(
            "the file changed while being destroyed",
        ))
        .into());
    }
    let zeros = [0u8; 65_536];
    let mut left = opened.len();
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n]).map_err(io)?;
        left -= n as u64;
    }
    f.sync_all().map_err(io)?;
    drop(f);
    fs::remove_file(path).map_err(io)?;
    if let Some(dir) = path.parent() {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}
