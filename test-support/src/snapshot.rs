//! A directory's files, to compare before and after a command: "a refused command changes
//! nothing" is `assert_eq!(before, snapshot::files(lab))`.
//!
//! Names are relative to the directory. Three depths of the same walk:
//!
//! * [`files`]: every file's bytes, SQLite's transient `-wal`/`-shm` files aside (opening a
//!   database may create or rewrite them without changing what it holds);
//! * [`with_modes`]: every file and folder (a folder as `name/`) with its permission bits, and
//!   a file's bytes: also catches a folder created or a mode changed;
//! * [`digests`]: the SHA-256 of every file, symbolic links as their target and other
//!   special files named as such (`-wal`/`-shm` aside): for large labs copied many times.
//!
//! [`names`] lists the files alone.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Every entry under `dir`, depth first: (path, name relative to `dir`, metadata without
/// following a link). Nothing when `dir` does not exist.
fn walk(dir: &Path) -> Vec<(PathBuf, String, std::fs::Metadata)> {
    let mut out = Vec::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let name = p.strip_prefix(dir).unwrap().display().to_string();
            if meta.is_dir() {
                stack.push(p.clone());
            }
            out.push((p, name, meta));
        }
    }
    out
}

fn transient(name: &str) -> bool {
    name.ends_with("-wal") || name.ends_with("-shm")
}

/// Every file under `dir` (SQLite's transient `-wal`/`-shm` files aside) with its bytes.
pub fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(dir)
        .into_iter()
        .filter(|(_, name, meta)| !meta.is_dir() && !transient(name))
        .map(|(p, name, _)| (name, std::fs::read(&p).unwrap()))
        .collect()
}

/// Every file and folder under `dir` with its permission bits, a file with its bytes, a
/// folder as `name/` with none, a symbolic link with its target's path.
pub fn with_modes(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    walk(dir)
        .into_iter()
        .map(|(p, name, meta)| {
            let mode = meta.permissions().mode();
            if meta.is_dir() {
                (name + "/", (Vec::new(), mode))
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                (name, (target.into_os_string().into_encoded_bytes(), mode))
            } else {
                (name, (std::fs::read(&p).unwrap(), mode))
            }
        })
        .collect()
}

/// Every file under `dir` (SQLite's transient `-wal`/`-shm` aside) with the SHA-256 of its
/// bytes; a symbolic link as `-> target`, any other special file as `special`.
pub fn digests(dir: &Path) -> BTreeMap<String, String> {
    walk(dir)
        .into_iter()
        .filter(|(_, name, meta)| !meta.is_dir() && !transient(name))
        .map(|(p, name, meta)| {
            let value = if meta.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&p).unwrap().display())
            } else if meta.is_file() {
                hex::encode(Sha256::digest(std::fs::read(&p).unwrap()))
            } else {
                "special".to_owned()
            };
            (name, value)
        })
        .collect()
}

/// The names of the files under `dir` (not the folders), sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walk(dir)
        .into_iter()
        .filter(|(_, _, meta)| !meta.is_dir())
        .map(|(_, name, _)| name)
        .collect();
    out.sort();
    out
}
