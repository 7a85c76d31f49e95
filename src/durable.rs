//! Durable file writes: every file evledger writes outside the database goes through here.
//!
//! A file is written to a fresh temporary file in the same directory, fsynced, then moved into
//! place (renamed over the old file, or hard-linked to a name that must not exist yet), and the
//! directory is fsynced so that the new name itself survives a power loss. A reader therefore
//! sees the old bytes or the new ones in full, never a torn file, and a call that returns `Ok`
//! has made the new bytes durable. Every step's failure is reported, the directory fsync
//! included; the error says which step failed (`specs/store.md`, "Durable file writes").
//!
//! The temporary file is `.<name>.<16 random hex digits>.tmp`, created exclusively (so it is
//! never another writer's, nor a link planted there), and removed again when a step before the
//! move fails. A process killed between creating and moving it leaves it behind; nothing reads
//! it, and it may be deleted.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Tries at a fresh temporary name before giving up: a clash needs two equal 64-bit random
/// names, so a second one is only for a leftover of exactly the same name.
const TEMP_NAME_TRIES: usize = 4;

/// Replaces `path` with `data` (creating it if absent): after a crash at any point it holds its
/// old bytes or the new ones, in full; returns once the new bytes and name are durable.
///
/// # Errors
/// The first step that failed, with its [`io::ErrorKind`]. Before the rename `path` is
/// untouched; if only the directory fsync failed, `path` holds the new bytes but whether the
/// rename survives a power loss is unknown.
pub(crate) fn replace(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = write_temp(path, data, None)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(step(
            format!("renaming {} to {}", tmp.display(), path.display()),
            e,
        ));
    }
    sync_dir(parent(path))
}

/// Creates `path` holding `data` with permission bits `mode` (on Unix), refusing if it exists:
/// the file appears with all its bytes or not at all; returns once it is durable.
///
/// # Errors
/// [`io::ErrorKind::AlreadyExists`] if `path` exists (nothing is changed then); otherwise the
/// first step that failed. If only the removal of the temporary name or the directory fsync
/// failed, `path` exists with the new bytes.
pub(crate) fn create_new(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let tmp = write_temp(path, data, Some(mode))?;
    // A hard link, unlike a rename, never replaces an existing file.
    let linked = fs::hard_link(&tmp, path);
    let removed = fs::remove_file(&tmp);
    if let Err(e) = linked {
        if e.kind() == io::ErrorKind::AlreadyExists {
            return Err(e);
        }
        return Err(step(
            format!("linking {} to {}", tmp.display(), path.display()),
            e,
        ));
    }
    removed.map_err(|e| step(format!("removing {}", tmp.display()), e))?;
    sync_dir(parent(path))
}

/// Renames `from` to `to` (in one directory) and fsyncs the directory, so that the new name
/// survives a power loss.
///
/// # Errors
/// The rename or the directory fsync.
pub(crate) fn rename(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to).map_err(|e| {
        step(
            format!("renaming {} to {}", from.display(), to.display()),
            e,
        )
    })?;
    sync_dir(parent(to))
}

/// Writes `data` to a new temporary file beside `path` and fsyncs it; returns its path.
fn write_temp(path: &Path, data: &[u8], mode: Option<u32>) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;
    let mut tries = 0;
    let (tmp, mut file) = loop {
        let tmp = parent(path).join(temp_name(name)?);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        match options.open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries + 1 < TEMP_NAME_TRIES => {
                tries += 1;
            }
            Err(e) => return Err(step(format!("creating {}", tmp.display()), e)),
        }
    };
    let written = file
        .write_all(data)
        .map_err(|e| step(format!("writing {}", tmp.display()), e))
        .and_then(|()| {
            file.sync_all()
                .map_err(|e| step(format!("syncing {}", tmp.display()), e))
        });
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

/// `.<name>.<16 random hex digits>.tmp`.
fn temp_name(name: &std::ffi::OsStr) -> io::Result<OsString> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| io::Error::other(format!("random source: {e}")))?;
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".{}.tmp", crate::hex::encode(&random)));
    Ok(tmp)
}

/// The directory holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Flushes a directory's entries (new names, renames) to stable storage.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| step(format!("syncing directory {}", dir.display()), e))
    }
    // Other platforms offer no portable directory fsync; their renames are still atomic.
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A failed step: what was being done, and the system error.
#[derive(Debug)]
struct StepError {
    what: String,
    source: io::Error,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for StepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// An error of the same kind as `source`, saying which step failed.
fn step(what: String, source: io::Error) -> io::Error {
    io::Error::new(source.kind(), StepError { what, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replace_leaves_the_new_bytes_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        replace(&path, b"one").unwrap();
        // A leftover of an earlier crash is neither read nor in the way.
        fs::write(dir.path().join(".state.0000000000000000.tmp"), b"leftover").unwrap();
        replace(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names(dir.path()), [".state.0000000000000000.tmp", "state"]);
    }

    #[test]
    fn create_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        create_new(&path, b"first", 0o600).unwrap();
        let e = create_new(&path, b"second", 0o600).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(names(dir.path()), ["k.pem"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_failed_step_is_reported_with_the_step() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("f");
        let e = replace(&missing, b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().starts_with("creating "), "{e}");
        let e = create_new(&missing, b"x", 0o644).unwrap_err();
        assert!(e.to_string().starts_with("creating "), "{e}");
        // Renaming over a directory fails at the rename, and the temporary file is removed.
        fs::create_dir(dir.path().join("d")).unwrap();
        fs::write(dir.path().join("d").join("inside"), b"").unwrap();
        let e = replace(&dir.path().join("d"), b"x").unwrap_err();
        assert!(e.to_string().starts_with("renaming "), "{e}");
        assert_eq!(names(dir.path()), ["d"]);
    }

    #[test]
    fn rename_moves_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("a.retired"));
        fs::write(&a, b"k").unwrap();
        rename(&a, &b).unwrap();
        assert_eq!(names(dir.path()), ["a.retired"]);
        assert!(rename(&a, &b).is_err());
    }
}
