//! Rotation and share replacement: installing a rotated generation beside the others, and
//! replacing share files (refresh, seal, resharing), each crash-safe and all-or-nothing.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::files::sync_dir;
use super::setup::generation_created;
use super::{
    Lab, MAX_FILE_LEN, create_dir_all_private, destroy_file, invalid, io, load_params_file,
    read_limited, write_atomic,
};
use crate::error::{Error, LabError, Result};
use crate::params::PublicParams;
use crate::transparency::LogEntry;
use crate::transparency::store::LogStore;

/// One share file to replace ([`Lab::replace_shares`]): the authority, the bytes read from
/// its file earlier, and the new bytes.
pub type ShareReplacement = (String, Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>);

/// The record of a share replacement in progress ([`Lab::replace_shares`]).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Replacement {
    version: u64,
    generation: u32,
    authorities: Vec<String>,
    params: bool,
    /// For a resharing's completion: its session, whose `generation-reshared` entry in the
    /// log decides whether recovery finishes the replacement or discards it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session: Option<String>,
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

impl Lab {
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
                session: None,
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
                let json = serde_json::to_vec(&record)
                    .map_err(|_| Error::Internal(crate::Bug::JsonEncoding))?;
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
        session: &str,
        log: impl FnOnce(&mut LogStore) -> Result<()>,
    ) -> Result<()> {
        self.with_rotation_lock(|store| {
            let g = new_params.generation();
            let record = Replacement {
                version: 1,
                generation: g,
                authorities: staged.iter().map(|(a, _)| a.clone()).collect(),
                params: true,
                session: Some(session.to_owned()),
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
                // The record first (it names the session), then the log entry, committed: the
                // point of no return. A crash before the commit leaves a record whose session
                // the log does not name, which recovery discards; after it, one it finishes.
                let json = serde_json::to_vec(&record)
                    .map_err(|_| Error::Internal(crate::Bug::JsonEncoding))?;
                write_atomic(&self.replacement_path(g), &json, 0o600)?;
                log(store)?;
                store.commit_and_relock()
            })();
            if let Err(e) = result {
                if !reshared_in(store, session)? {
                    let _ = self.discard_replacement(g);
                }
                return Err(e);
            }
            self.finish_replacement(&record)
        })
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
        // The record names files, not secrets: removed (a zero-filled record left by a crash
        // would stop every recovery).
        remove_if_present(&self.replacement_path(g))?;
        sync_dir(&self.root)
    }

    /// Finishes every recorded replacement, then destroys staged `…json.new` and `…json.old`
    /// share and parameter files no record names (a crash before the record was written).
    fn recover_replacements(&self, store: &LogStore) -> Result<()> {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return Ok(());
        };
        for entry in entries {
            let entry = entry.map_err(io(&self.root))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".replace-") && name.ends_with(".json") {
                let bytes = read_limited(&entry.path(), MAX_FILE_LEN)?;
                if bytes.iter().all(|b| *b == 0) {
                    // Overwritten and not yet removed by an earlier build's finish: done.
                    remove_if_present(&entry.path())?;
                    continue;
                }
                let r: Replacement = serde_json::from_slice(&bytes).map_err(|e| {
                    invalid(
                        &entry.path(),
                        Error::Json {
                            what: "replacement record",
                            error: e,
                        },
                    )
                })?;
                match &r.session {
                    Some(s) if !reshared_in(store, s)? => self.discard_replacement(r.generation)?,
                    _ => self.finish_replacement(&r)?,
                }
            }
        }
        self.discard_strays()
    }

    /// Undoes a resharing's replacement the log never announced: its staged files destroyed,
    /// its record removed (nothing had moved: files move only after the announcement).
    fn discard_replacement(&self, generation: u32) -> Result<()> {
        self.discard_strays()?;
        remove_if_present(&self.replacement_path(generation))
    }

    /// Destroys staged share and parameter files (`…json.new`, `…json.old`) and the temporary
    /// files of interrupted share writes (`.share….tmp`).
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
                if is_stray(&e.file_name().to_string_lossy()) {
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
                    files
                        .flatten()
                        .any(|f| is_stray(&f.file_name().to_string_lossy()))
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
        let final_dir = self.generation_dir(g);
        if final_dir.symlink_metadata().is_ok() || self.load_generations()?.get(g).is_ok() {
            return Err(LabError::AlreadySetUp { path: final_dir }.into());
        }
        if store.find(|e| announces(e, params.realm(), g))?.is_some() {
            return Err(Error::Internal(crate::Bug::GenerationAnnounced));
        }
        let signer = self.log_signer()?;
        let record = generation_created(params)?;
        create_dir_all_private(&self.generations_dir())?;
        let pending = self.pending_generation_dir(g);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&pending)
            .map_err(io(&pending))?;
        let staged = (|| -> Result<()> {
            create_dir_all_private(&self.pending_shares_dir(g))?;
            for (authority, bytes) in shares {
                crate::identity::check_name("authority", authority)?;
                write_atomic(&self.pending_share_path(g, authority), bytes, 0o600)?;
            }
            write_atomic(&self.pending_params_path(g), &params.to_json()?, 0o644)?;
            sync_dir(&self.generations_dir())?;
            store.append(&record, &signer)?;
            // The announcement is durable before anything is installed.
            store.commit_and_relock()
        })();
        if let Err(e) = staged {
            if store.find(|e| announces(e, params.realm(), g))?.is_none() {
                let _ = self.discard_pending(g, &pending);
            }
            return Err(e);
        }
        self.finish_pending(g, &pending)
    }

    /// Step 4 of [`Lab::install_generation`]: moves the staged shares into the authorities'
    /// folders and renames the folder.
    fn finish_pending(&self, g: u32, pending: &Path) -> Result<()> {
        let target = self.generation_dir(g);
        if pending.symlink_metadata().is_err() && target.symlink_metadata().is_ok() {
            // Finished by another process's recovery while this one waited for the lock.
            return Ok(());
        }
        let staged = self.pending_shares_dir(g);
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
                let dir = self.authority_dir(name);
                create_dir_all_private(&dir)?;
                let target = self.rotated_share_path(name, g);
                fs::rename(entry.path(), &target).map_err(io(&target))?;
                sync_dir(&dir)?;
            }
            fs::remove_dir(&staged).map_err(io(&staged))?;
        }
        fs::rename(pending, &target).map_err(io(&target))?;
        sync_dir(&self.generations_dir())
    }

    /// Destroys the staged shares of an unannounced rotation and removes its folder.
    fn discard_pending(&self, g: u32, pending: &Path) -> Result<()> {
        let staged = self.pending_shares_dir(g);
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
        self.recover_replacements(store)?;
        for (g, pending) in self.pending_rotations()? {
            let params = load_params_file(&self.pending_params_path(g)).ok();
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
                self.discard_pending(g, &pending)?;
            }
        }
        Ok(())
    }
}

/// A file a crash left behind that may hold a secret: a staged or replaced share or parameter
/// file (`…json.new`, `…json.old`), or the temporary file of an atomic write of a share
/// (`.share….tmp`, which can hold a new share in full).
fn is_stray(name: &str) -> bool {
    name.ends_with(".json.new")
        || name.ends_with(".json.old")
        || (name.starts_with(".share") && name.ends_with(".tmp"))
}

/// Whether the log holds the `generation-reshared` entry of this resharing session.
fn reshared_in(store: &LogStore, session: &str) -> Result<bool> {
    Ok(store
        .find(|e| matches!(e, LogEntry::GenerationReshared { session: s, .. } if s == session))?
        .is_some())
}

/// Removes a file that holds no secret, if it exists, and syncs its folder.
fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(path)(e).into()),
    }
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

fn announces(e: &LogEntry, realm: &str, g: u32) -> bool {
    matches!(e, LogEntry::GenerationCreated { realm: r, generation, .. } if r == realm && *generation == g)
}
