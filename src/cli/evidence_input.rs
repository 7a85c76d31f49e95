//! Reading an evidence input file, with the files it names by `file = "PATH"` hashed from disk.

use std::io::Read as _;
use std::path::Path;

use sha2::{Digest as _, Sha256};

use super::CliError;
use crate::evidence::{Evidence, FileDigest, InputFormat};

/// Reads, parses and validates evidence of `kind` from `input`. Each file the input names in a
/// digest's place is read relative to the directory holding `input` (an absolute path as is).
///
/// # Errors
/// The file's or the evidence's problem, prefixed by `input`.
pub(super) fn read_evidence(kind: &str, input: &Path) -> Result<Evidence, CliError> {
    let at = |e: &dyn std::fmt::Display| CliError::new(format!("{}: {e}", input.display()));
    let text = std::fs::read_to_string(input).map_err(|e| at(&e))?;
    let base = input.parent().unwrap_or(Path::new(""));
    let files = |name: &str| file_digest(&base.join(name));
    Evidence::from_input_with_files(kind, &text, InputFormat::from_path(input), &files)
        .map_err(|e| at(&e))
}

/// SHA-256 and size of a file, read in blocks so that a large firmware image is never held in
/// memory whole.
fn file_digest(path: &Path) -> Result<FileDigest, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut f = std::fs::File::open(path).map_err(cannot)?;
    let mut hash = Sha256::new();
    let mut size = 0u64;
    let mut block = vec![0u8; 1 << 16];
    loop {
        match f.read(&mut block) {
            Ok(0) => break,
            Ok(n) => {
                hash.update(&block[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(cannot(e)),
        }
    }
    Ok(FileDigest {
        sha256: hash.finalize().into(),
        size,
    })
}
