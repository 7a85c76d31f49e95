//! A firmware build's Sigstore citation (`FirmwareBuild::sigstore`), checked against the bytes it
//! cites: the Sigstore bundle, the trusted root and, for managed keys, the public key.
//!
//! `evledger record` runs this before appending (against the trusted root the release engineer
//! gives); `evledger verify` runs it again against a trusted root the buyer's trust file pins.

use sha2::{Digest as _, Sha256};

use super::{SignerPolicy, SigstoreError, SigstoreReport, TrustedRoot, verify_bundle};
use crate::evidence::{FirmwareBuild, SigstoreRef};

/// Why a firmware build's Sigstore citation does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CitationError {
    /// The build cites no Sigstore bundle.
    #[error("the firmware build cites no Sigstore bundle")]
    NotCited,
    /// `sigstore.artifact` names no artifact of the build.
    #[error("sigstore.artifact {0:?} is not one of the build's artifacts")]
    NoSuchArtifact(String),
    /// The citation has neither identity and issuer nor a key digest (or both).
    #[error("sigstore: needs identity and issuer, or key_sha256")]
    NoSignerPolicy,
    /// A cited document's bytes do not hash to the digest the entry records.
    #[error("{field}: the {what} given hashes to {actual}, the entry records {expected}")]
    Digest {
        /// The field holding the digest.
        field: &'static str,
        /// What the document is.
        what: &'static str,
        /// The digest in the entry.
        expected: String,
        /// The digest of the bytes given.
        actual: String,
    },
    /// The entry names a managed key by digest, but no key bytes were given.
    #[error("sigstore.key_sha256: the managed public key {0} is not available")]
    MissingKey(String),
    /// The trusted root is not usable.
    #[error(transparent)]
    TrustedRoot(SigstoreError),
}

/// The bytes a citation is checked with.
#[derive(Clone, Copy, Debug)]
pub struct CitedBytes<'a> {
    /// The Sigstore bundle file.
    pub bundle: &'a [u8],
    /// The `trusted_root.json` to verify against.
    pub trusted_root: &'a [u8],
    /// The managed public key (SubjectPublicKeyInfo DER), when the citation names one.
    pub key: Option<&'a [u8]>,
}

fn digest_matches(
    field: &'static str,
    what: &'static str,
    expected: &[u8; 32],
    bytes: &[u8],
) -> Result<(), CitationError> {
    let actual: [u8; 32] = Sha256::digest(bytes).into();
    if actual == *expected {
        Ok(())
    } else {
        Err(CitationError::Digest {
            field,
            what,
            expected: crate::hex::encode(expected),
            actual: crate::hex::encode(&actual),
        })
    }
}

/// The signer policy a citation records.
///
/// # Errors
/// [`CitationError::NoSignerPolicy`], [`CitationError::MissingKey`], or a key digest mismatch.
fn policy(sg: &SigstoreRef, key: Option<&[u8]>) -> Result<SignerPolicy, CitationError> {
    match (&sg.identity, &sg.issuer, &sg.key_sha256) {
        (Some(identity), Some(issuer), None) => Ok(SignerPolicy::Keyless {
            identity: identity.clone(),
            issuer: issuer.clone(),
        }),
        (None, None, Some(k)) => {
            let bytes = key.ok_or_else(|| CitationError::MissingKey(k.to_string()))?;
            digest_matches("sigstore.key_sha256", "public key", &k.0, bytes)?;
            Ok(SignerPolicy::Key(bytes.to_vec()))
        }
        _ => Err(CitationError::NoSignerPolicy),
    }
}

/// Checks a firmware build's Sigstore citation: the bundle, trusted root and key hash to the
/// digests the entry records, and the bundle verifies offline over the cited artifact's SHA-256
/// with the recorded identity and issuer (or key), at time `now` (Unix seconds).
///
/// Returns the verification report (which may say the bundle did not verify) with the name of
/// the artifact it covers.
///
/// # Errors
/// [`CitationError`] when the citation cannot be checked at all: nothing cited, an unknown
/// artifact, a digest mismatch, a missing key or an unusable trusted root.
pub fn verify_citation(
    build: &FirmwareBuild,
    bytes: CitedBytes<'_>,
    now: i64,
) -> Result<(SigstoreReport, String), CitationError> {
    let sg = build.sigstore.as_ref().ok_or(CitationError::NotCited)?;
    let (_, artifact) = build
        .sigstore_artifact()
        .ok_or_else(|| CitationError::NoSuchArtifact(sg.artifact.clone()))?;
    digest_matches(
        "sigstore.bundle_sha256",
        "Sigstore bundle",
        &sg.bundle_sha256.0,
        bytes.bundle,
    )?;
    digest_matches(
        "sigstore.trusted_root_sha256",
        "trusted root",
        &sg.trusted_root_sha256.0,
        bytes.trusted_root,
    )?;
    let policy = policy(sg, bytes.key)?;
    let root = TrustedRoot::from_json(bytes.trusted_root).map_err(CitationError::TrustedRoot)?;
    let mut report = verify_bundle(bytes.bundle, &artifact.sha256.0, &root, &policy, now);
    if report.is_verified() && report.attestation.is_some() {
        // `sigstore` cites a signature over the artifact; an attestation says something else.
        report = report.fail(SigstoreError::Unsupported(
            "sigstore.bundle_sha256 cites a DSSE attestation, not a signature over the artifact"
                .into(),
        ));
    }
    Ok((report, artifact.name.clone()))
}

/// The artifact of `build` whose SHA-256 the Sigstore bundle's message digest names, if the
/// bundle parses and carries one (it is only a hint: [`verify_citation`] checks the signature).
pub fn artifact_for_bundle<'b>(build: &'b FirmwareBuild, bundle: &[u8]) -> Option<&'b str> {
    let parsed = super::Bundle::parse(bundle).ok()?;
    let (alg, digest) = parsed.message_digest?;
    if alg != "SHA2_256" {
        return None;
    }
    build
        .artifacts
        .iter()
        .find(|a| a.sha256.0.as_slice() == digest.as_slice())
        .map(|a| a.name.as_str())
}
