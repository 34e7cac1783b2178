//! Fresh output folders: a scenario never reuses or deletes an existing folder.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use time::OffsetDateTime;

/// Chooses an output folder: `requested` if it does not exist (it is created, mode 0700) or
/// is empty, else — when nothing was requested — a fresh `<prefix>-<UTC time>[-N]` in the
/// current folder. A non-empty `requested` folder is refused.
pub fn fresh_dir(requested: Option<&Path>, prefix: &str, now: OffsetDateTime) -> Result<PathBuf> {
    if let Some(dir) = requested {
        if dir.exists() {
            let empty = fs::read_dir(dir)
                .with_context(|| format!("{}", dir.display()))?
                .next()
                .is_none();
            if !empty {
                bail!(
                    "{}: not empty; choose a new or empty directory",
                    dir.display()
                );
            }
        } else {
            escrow::lab::create_dir_all_private(dir)?;
        }
        return Ok(dir.to_owned());
    }
    let stamp = format!(
        "{prefix}-{:04}{:02}{:02}-{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    for n in 0..1000 {
        let name = if n == 0 {
            stamp.clone()
        } else {
            format!("{stamp}-{n}")
        };
        let dir = PathBuf::from(name);
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("{}", dir.display())),
        }
    }
    bail!("could not find a free {prefix}-* name in the current folder")
}
