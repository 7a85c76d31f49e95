//! `evledger sigstore verify`: a standalone offline check of a Sigstore bundle.

use std::path::Path;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::{CliError, SigstoreRecordArgs};
use crate::evidence::{Evidence, Sha256Hex, SigstoreRef};
use crate::sigstore::{
    CitedBytes, SignerPolicy, TrustedRoot, artifact_for_bundle, verify_bundle, verify_citation,
};

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
        super::now(),
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

fn sha256(bytes: &[u8]) -> Sha256Hex {
    Sha256Hex(Sha256::digest(bytes).into())
}

/// `evledger record --sigstore-bundle`: verifies the Sigstore bundle over the build's artifact
/// and fills in the build's `sigstore` citation; returns the evidence and the documents the
/// ledger must keep (the bundle, and a managed key). Refuses on any failure, before anything is
/// written.
///
/// # Errors
/// A build that cites a Sigstore bundle without --sigstore-bundle (or both), a non-firmware
/// kind, unreadable files, no matching artifact, or a bundle that does not verify.
pub(super) fn cite(
    evidence: Evidence,
    args: &SigstoreRecordArgs,
) -> Result<(Evidence, Vec<Vec<u8>>), CliError> {
    let Some(bundle_path) = &args.sigstore_bundle else {
        if let Evidence::FirmwareBuild(fb) = &evidence
            && fb.sigstore.is_some()
        {
            return Err(CliError::new(
                "the firmware build cites a Sigstore bundle, but --sigstore-bundle was not given",
            )
            .hint("remove the sigstore table and pass --sigstore-bundle FILE --trusted-root FILE --identity ID --oidc-issuer URL; evledger verifies the bundle and fills the table in"));
        }
        return Ok((evidence, Vec::new()));
    };
    let Evidence::FirmwareBuild(mut fb) = evidence else {
        return Err(CliError::new(
            "--sigstore-bundle is only for firmware-build evidence",
        ));
    };
    if fb.sigstore.is_some() {
        return Err(CliError::new(
            "the firmware build already has a sigstore table, and --sigstore-bundle would replace it",
        )
        .hint("remove the sigstore table from the input; --sigstore-bundle fills it in"));
    }
    let Some(root_path) = &args.trusted_root else {
        return Err(CliError::new("--sigstore-bundle needs --trusted-root"));
    };
    let bundle = read(bundle_path, "Sigstore bundle")?;
    let root = read(root_path, "trusted root")?;
    let key = args
        .sigstore_key
        .as_deref()
        .map(|k| {
            pem_key(&read(k, "key")?)
                .ok_or_else(|| CliError::new(format!("{} is not a PEM public key", k.display())))
        })
        .transpose()?;
    let (identity, issuer) = match (&args.identity, &args.oidc_issuer, &key) {
        (Some(id), Some(iss), None) => (Some(id.clone()), Some(iss.clone())),
        (None, None, Some(_)) => (None, None),
        _ => {
            return Err(CliError::new(
                "--sigstore-bundle needs --identity and --oidc-issuer, or --sigstore-key",
            ));
        }
    };
    let artifact = match &args.sigstore_artifact {
        Some(name) => name.clone(),
        None => artifact_for_bundle(&fb, &bundle)
            .ok_or_else(|| {
                CliError::new(format!(
                    "{}: its message digest is not the SHA-256 of any artifact of the build",
                    bundle_path.display()
                ))
                .hint("check artifacts[].sha256 against the signed file, or name the artifact with --sigstore-artifact")
            })?
            .to_owned(),
    };
    fb.sigstore = Some(SigstoreRef {
        bundle_sha256: sha256(&bundle),
        trusted_root_sha256: sha256(&root),
        artifact,
        identity,
        issuer,
        key_sha256: key.as_deref().map(sha256),
    });
    // Re-validate through the payload, so the filled-in citation obeys the schema.
    let evidence = Evidence::FirmwareBuild(fb);
    let evidence = Evidence::from_payload("firmware-build", &evidence.to_payload())?;
    let Evidence::FirmwareBuild(fb) = &evidence else {
        return Err(CliError::new(
            "firmware-build payload decoded as another kind",
        ));
    };
    let cited = CitedBytes {
        bundle: &bundle,
        trusted_root: &root,
        key: key.as_deref(),
    };
    let (report, artifact) = verify_citation(fb, cited, super::now()).map_err(|e| {
        let err = CliError::new(e.to_string());
        if matches!(e, crate::sigstore::CitationError::TrustedRoot(_)) {
            err.code(EXIT_INVALID)
        } else {
            err
        }
    })?;
    if let Some(e) = &report.error {
        eprint!("{}", report.to_text());
        return Err(CliError::new(format!(
            "{}: the Sigstore bundle does not verify over artifact {artifact}: {e}; nothing was recorded",
            bundle_path.display()
        )));
    }
    eprintln!(
        "sigstore: {} verified over artifact {artifact}, signed at {}",
        bundle_path.display(),
        report
            .signed_at
            .map(crate::time::format_rfc3339)
            .unwrap_or_default()
    );
    let mut documents = vec![bundle];
    documents.extend(key);
    Ok((evidence, documents))
}
