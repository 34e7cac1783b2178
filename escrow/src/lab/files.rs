//! Files: atomic writes, size-limited reads of regular files only, outputs that are never
//! overwritten, and the destruction of files of secrets.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::io;
use crate::error::{Error, LabError, Result};

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
            return Err(Error::Internal(crate::Bug::CommittedTwice));
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
            return Err(Error::Internal(crate::Bug::CommittedTwice));
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

pub(super) fn sync_dir(dir: &Path) -> Result<()> {
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
