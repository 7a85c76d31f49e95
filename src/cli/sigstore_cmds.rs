//! `evledger sigstore verify`: a standalone offline check of a Sigstore bundle.

use std::path::Path;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::{CliError, SigstoreRecordArgs};
use crate::evidence::{Evidence, Sha256Hex, SigstoreRef};
use crate::sigstore::{
    CitedBytes, SignerPolicy, TrustedRoot, Which, artifact_for_attestation, artifact_for_bundle,
    verify_bundle, verify_cited,
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

/// `evledger record --sigstore-bundle` / `--attestation`: verifies each Sigstore bundle given
/// over the build's artifact and fills in the build's `sigstore` / `attestation` citation;
/// returns the evidence and the documents the ledger must keep (the bundles, and managed keys).
/// Refuses on any failure, before anything is written.
///
/// # Errors
/// A build that cites a bundle without the option that verifies it, a non-firmware kind,
/// unreadable files, no matching artifact, or a bundle that does not verify.
pub(super) fn cite(
    evidence: Evidence,
    args: &SigstoreRecordArgs,
) -> Result<(Evidence, Vec<Vec<u8>>), CliError> {
    let signature = Citing {
        which: Which::Signature,
        bundle: args.sigstore_bundle.as_deref(),
        option: "--sigstore-bundle",
        identity: args.identity.as_deref(),
        issuer: args.oidc_issuer.as_deref(),
        key: args.sigstore_key.as_deref(),
        signer_options: "--identity and --oidc-issuer, or --sigstore-key",
        signer_example: "--identity ID --oidc-issuer URL",
        artifact: args.sigstore_artifact.as_deref(),
    };
    let attestation = Citing {
        which: Which::Attestation,
        bundle: args.attestation.as_deref(),
        option: "--attestation",
        identity: args.attestation_identity.as_deref(),
        issuer: args.attestation_issuer.as_deref(),
        key: args.attestation_key.as_deref(),
        signer_options: "--attestation-identity and --attestation-issuer, or --attestation-key",
        signer_example: "--attestation-identity ID --attestation-issuer URL",
        artifact: args.attestation_artifact.as_deref(),
    };
    if args.trusted_root.is_some() && signature.bundle.is_none() && attestation.bundle.is_none() {
        return Err(CliError::new(
            "--trusted-root is for --sigstore-bundle or --attestation",
        ));
    }
    let mut documents = Vec::new();
    let mut evidence = evidence;
    for c in [signature, attestation] {
        let (e, docs) = cite_one(evidence, &c, args.trusted_root.as_deref())?;
        evidence = e;
        documents.extend(docs);
    }
    Ok((evidence, documents))
}

/// One citation to make: which field, from which options.
struct Citing<'a> {
    which: Which,
    bundle: Option<&'a Path>,
    option: &'static str,
    identity: Option<&'a str>,
    issuer: Option<&'a str>,
    key: Option<&'a Path>,
    signer_options: &'static str,
    signer_example: &'static str,
    artifact: Option<&'a str>,
}

fn cite_one(
    evidence: Evidence,
    c: &Citing<'_>,
    trusted_root: Option<&Path>,
) -> Result<(Evidence, Vec<Vec<u8>>), CliError> {
    let field = c.which.field();
    let cited = |fb: &crate::evidence::FirmwareBuild| match c.which {
        Which::Signature => fb.sigstore.is_some(),
        Which::Attestation => fb.attestation.is_some(),
    };
    let Some(bundle_path) = c.bundle else {
        if let Evidence::FirmwareBuild(fb) = &evidence
            && cited(fb)
        {
            let what = match c.which {
                Which::Signature => "a Sigstore bundle",
                Which::Attestation => "a Sigstore attestation",
            };
            return Err(CliError::new(format!(
                "the firmware build cites {what}, but {} was not given",
                c.option
            ))
            .hint(format!("remove the {field} table and pass {} FILE --trusted-root FILE {}; evledger verifies the bundle and fills the table in", c.option, c.signer_example)));
        }
        return Ok((evidence, Vec::new()));
    };
    let Evidence::FirmwareBuild(mut fb) = evidence else {
        return Err(CliError::new(format!(
            "{} is only for firmware-build evidence",
            c.option
        )));
    };
    if cited(&fb) {
        return Err(CliError::new(format!(
            "the firmware build already has {} {field} table, and {} would replace it",
            if field == "attestation" { "an" } else { "a" },
            c.option
        ))
        .hint(format!(
            "remove the {field} table from the input; {} fills it in",
            c.option
        )));
    }
    let Some(root_path) = trusted_root else {
        return Err(CliError::new(format!("{} needs --trusted-root", c.option)));
    };
    let bundle = read(bundle_path, "Sigstore bundle")?;
    let root = read(root_path, "trusted root")?;
    let key = c
        .key
        .map(|k| {
            pem_key(&read(k, "key")?)
                .ok_or_else(|| CliError::new(format!("{} is not a PEM public key", k.display())))
        })
        .transpose()?;
    let (identity, issuer) = match (c.identity, c.issuer, &key) {
        (Some(id), Some(iss), None) => (Some(id.to_owned()), Some(iss.to_owned())),
        (None, None, Some(_)) => (None, None),
        _ => {
            return Err(CliError::new(format!(
                "{} needs {}",
                c.option, c.signer_options
            )));
        }
    };
    let artifact = match c.artifact {
        Some(name) => name.to_owned(),
        None => match c.which {
            Which::Signature => artifact_for_bundle(&fb, &bundle).ok_or_else(|| {
                CliError::new(format!(
                    "{}: its message digest is not the SHA-256 of any artifact of the build",
                    bundle_path.display()
                ))
                .hint("check artifacts[].sha256 against the signed file, or name the artifact with --sigstore-artifact")
            })?,
            Which::Attestation => artifact_for_attestation(&fb, &bundle).ok_or_else(|| {
                CliError::new(format!(
                    "{}: no subject of its in-toto statement has the SHA-256 of an artifact of the build",
                    bundle_path.display()
                ))
                .hint("check artifacts[].sha256 against the attested file, or name the artifact with --attestation-artifact")
            })?,
        }
        .to_owned(),
    };
    let citation = Some(SigstoreRef {
        bundle_sha256: sha256(&bundle),
        trusted_root_sha256: sha256(&root),
        artifact,
        identity,
        issuer,
        key_sha256: key.as_deref().map(sha256),
    });
    match c.which {
        Which::Signature => fb.sigstore = citation,
        Which::Attestation => fb.attestation = citation,
    }
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
    let (report, artifact) = verify_cited(fb, c.which, cited, super::now()).map_err(|e| {
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
    let what = match &report.attestation {
        Some(a) => format!("attests {} ({})", artifact, a.predicate_type),
        None => format!("verified over artifact {artifact}"),
    };
    eprintln!(
        "{field}: {} {what}, signed at {}",
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
