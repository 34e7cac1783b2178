//! The lab directory: the one storage module of the crate.
//!
//! ```text
//! <lab>/params.json                     public parameters (mode 0644)
//! <lab>/authorities/<name>/share.json   one authority's secret share (mode 0600, folder 0700)
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

use crate::error::{Error, LabError, Result};
use crate::hazmat::export_share_json;
use crate::params::PublicParams;
use crate::setup::AuthorityShare;

/// Largest JSON file the lab reads (parameters and shares are a few KiB).
pub const MAX_FILE_LEN: u64 = 1 << 20;

/// A lab directory.
#[derive(Clone, Debug)]
pub struct Lab {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LabError + '_ {
    move |source| LabError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Lab {
    /// A lab rooted at `root` (nothing is created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
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

    /// Reads and validates the public parameters.
    pub fn load_params(&self) -> Result<PublicParams> {
        let path = self.params_path();
        if !path.exists() {
            return Err(LabError::NotSetUp { path }.into());
        }
        let bytes = read_limited(&path, MAX_FILE_LEN)?;
        PublicParams::from_json(&bytes).map_err(|e| invalid(&path, e))
    }

    /// Reads one authority's share and checks it against the parameters.
    pub fn load_share(&self, params: &PublicParams, authority: &str) -> Result<AuthorityShare> {
        crate::identity::check_name("authority", authority)?;
        if params.authority(authority).is_none() {
            return Err(Error::ShareMismatch {
                authority: authority.to_owned(),
            });
        }
        let path = self.share_path(authority);
        let bytes = zeroize::Zeroizing::new(read_limited(&path, MAX_FILE_LEN)?);
        AuthorityShare::from_json(&bytes, params).map_err(|e| invalid(&path, e))
    }

    /// Refuses if the lab already holds a generation (parameters or an authorities folder).
    pub fn check_empty_for_setup(&self) -> Result<()> {
        // symlink_metadata: a dangling link counts as present, not as absent.
        let params = self.params_path();
        if params.symlink_metadata().is_ok() {
            return Err(LabError::AlreadySetUp { path: params }.into());
        }
        let dir = self.authorities_dir();
        if dir.symlink_metadata().is_ok() {
            return Err(LabError::AlreadySetUp { path: dir }.into());
        }
        Ok(())
    }

    /// Writes a new generation: every share (0600), then `params.json`.
    pub fn write_setup(&self, params: &PublicParams, shares: &[AuthorityShare]) -> Result<()> {
        self.check_empty_for_setup()?;
        let params_json = params.to_json()?;
        let exported = shares
            .iter()
            .map(|s| Ok((s.authority().to_owned(), export_share_json(s)?)))
            .collect::<Result<Vec<_>>>()?;
        create_dir_all_private(&self.root)?;
        let staging = self.root.join(format!(".setup-{}", std::process::id()));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        let result = (|| -> Result<()> {
            let staged_authorities = staging.join("authorities");
            for (name, json) in &exported {
                let dir = staged_authorities.join(name);
                create_dir_all_private(&dir)?;
                write_atomic(&dir.join("share.json"), json, 0o600)?;
            }
            let target = self.authorities_dir();
            fs::rename(&staged_authorities, &target).map_err(io(&target))?;
            if let Err(e) = write_atomic(&self.params_path(), &params_json, 0o644) {
                let _ = fs::remove_dir_all(&target);
                return Err(e);
            }
            Ok(())
        })();
        let _ = fs::remove_dir_all(&staging);
        result?;
        sync_dir(&self.root)
    }
}

fn invalid(path: &Path, e: Error) -> Error {
    match e {
        Error::Lab(l) => Error::Lab(l),
        other => LabError::Invalid {
            path: path.to_owned(),
            source: Box::new(other),
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

/// Reads a whole file, refusing files larger than `max` bytes.
pub fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(io(path))?;
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
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| LabError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        })?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, path).map_err(io(path))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(&dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}
