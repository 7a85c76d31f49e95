//! `evledger key generate` and `evledger key show`.

use std::path::Path;

use ed25519_dalek::VerifyingKey;

use super::{CliError, outln};
use crate::keys::{self, KeyFile, KeyId};
use crate::note::NoteVerifier;

/// Generates a key pair and prints its id (and verifier key).
pub fn generate(out: &Path, name: Option<&str>) -> Result<(), CliError> {
    if let Some(n) = name {
        // Check the name before anything is written: a refused name must leave no key behind.
        crate::note::check_name(n).map_err(|e| CliError::new(format!("--name {n:?}: {e}")))?;
    }
    let key = keys::generate()?;
    keys::write_key_pair(out, &key)?;
    eprintln!(
        "wrote {} (private, mode 0600) and {}",
        out.display(),
        keys::public_path(out).display()
    );
    print_ids(&key.verifying_key(), name)
}

/// Prints the id (and verifier key) of a key file.
pub fn show(file: &Path, name: Option<&str>) -> Result<(), CliError> {
    let key = keys::read_key_file(file)?;
    if matches!(key, KeyFile::Private(_)) {
        eprintln!("{}: private key", file.display());
    }
    print_ids(&key.verifying_key(), name)
}

fn print_ids(key: &VerifyingKey, name: Option<&str>) -> Result<(), CliError> {
    outln!("kid {}", KeyId::of(key));
    if let Some(name) = name {
        let v = NoteVerifier::new(name, *key)
            .map_err(|e| CliError::new(format!("--name {name:?}: {e}")))?;
        outln!("vkey {v}");
    }
    Ok(())
}
