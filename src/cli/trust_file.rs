//! Reading a trust file from disk: its text, and each file it names, relative to its directory.
//!
//! The verifier parses a trust file from text and reads the files it names through a function
//! ([`crate::trust::ReadNamed`]); this is that function for the command line.

use std::path::{Path, PathBuf};

use super::CliError;
use crate::trust::TrustFile;

/// Reads a trust file and every file it names (X.509 roots, profiles, Sigstore trusted roots).
///
/// # Errors
/// A [`CliError`] naming the trust file and the cause: the file cannot be read, or
/// [`crate::trust::TrustError`] with the field and, for a named file, its path.
pub fn load(path: &Path) -> Result<TrustFile, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    TrustFile::parse(&text, &path.display().to_string(), &files_beside(base))
        .map_err(|e| CliError::new(e.to_string()))
}

/// Reads the files a trust file names as paths relative to `base` (its directory); a failure
/// names the path and the cause.
pub fn files_beside(base: &Path) -> impl Fn(&str) -> Result<Vec<u8>, String> {
    let base: PathBuf = base.to_path_buf();
    move |name| {
        let file = base.join(name);
        std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))
    }
}
