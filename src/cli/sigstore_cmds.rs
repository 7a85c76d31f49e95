//! `evledger sigstore verify`: a standalone offline check of a Sigstore bundle.

use std::path::Path;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::CliError;
use crate::sigstore::{SignerPolicy, TrustedRoot, verify_bundle};

/// Exit code for an invalid bundle or trusted root.
const EXIT_INVALID: i32 = 3;

fn read(path: &Path, what: &str) -> Result<Vec<u8>, CliError> {
    std::fs::read(path)
        .map_err(|e| CliError::new(format!("cannot read {what} {}: {e}", path.display())))
}

/// Decodes a single-block PEM public key to its DER.
fn pem_key(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let b64: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// Verifies `bundle` over `artifact`; prints the report to stdout.
///
/// # Errors
/// Exit 1 when verification fails, 3 when the bundle or trusted root is invalid.
pub(super) fn verify(
    bundle: &Path,
    artifact: &Path,
    trusted_root: &Path,
    identity: Option<(String, String)>,
    key: Option<&Path>,
    json: bool,
) -> Result<(), CliError> {
    let root = TrustedRoot::from_json(&read(trusted_root, "trusted root")?)
        .map_err(|e| CliError::new(e.to_string()).code(EXIT_INVALID))?;
    let policy = match (identity, key) {
        (Some((identity, issuer)), _) => SignerPolicy::Keyless { identity, issuer },
        (None, Some(k)) => SignerPolicy::Key(
            pem_key(&read(k, "key")?)
                .ok_or_else(|| CliError::new(format!("{} is not a PEM public key", k.display())))?,
        ),
        (None, None) => return Err(CliError::new("give --identity and --issuer, or --key")),
    };
    let digest: [u8; 32] = Sha256::digest(read(artifact, "artifact")?).into();
    let report = verify_bundle(
        &read(bundle, "bundle")?,
        &digest,
        &root,
        &policy,
        crate::time::now(),
    );
    if json {
        let out = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::new(format!("cannot encode the report: {e}")))?;
        println!("{out}");
    } else {
        print!("{}", report.to_text());
    }
    match report.error {
        None => Ok(()),
        Some(e) if e.is_invalid_input() => Err(CliError::new(e.to_string()).code(EXIT_INVALID)),
        Some(e) => Err(CliError::new(e.to_string())),
    }
}
