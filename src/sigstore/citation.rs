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
    /// The build cites no Sigstore bundle (or no attestation).
    #[error("the firmware build cites no Sigstore bundle")]
    NotCited,
    /// `sigstore.artifact` (or `attestation.artifact`) names no artifact of the build.
    #[error("{0}.artifact {1:?} is not one of the build's artifacts")]
    NoSuchArtifact(&'static str, String),
    /// The citation has neither identity and issuer nor a key digest (or both).
    #[error("{0}: needs identity and issuer, or key_sha256")]
    NoSignerPolicy(&'static str),
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
    #[error("{0}.key_sha256: the managed public key {1} is not available")]
    MissingKey(&'static str, String),
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
fn policy(
    which: Which,
    sg: &SigstoreRef,
    key: Option<&[u8]>,
) -> Result<SignerPolicy, CitationError> {
    match (&sg.identity, &sg.issuer, &sg.key_sha256) {
        (Some(identity), Some(issuer), None) => Ok(SignerPolicy::Keyless {
            identity: identity.clone(),
            issuer: issuer.clone(),
        }),
        (None, None, Some(k)) => {
            let bytes =
                key.ok_or_else(|| CitationError::MissingKey(which.field(), k.to_string()))?;
            digest_matches(which.key_field(), "public key", &k.0, bytes)?;
            Ok(SignerPolicy::Key(bytes.to_vec()))
        }
        _ => Err(CitationError::NoSignerPolicy(which.field())),
    }
}

/// Which of a firmware build's Sigstore citations: the signature (`sigstore`) or the DSSE
/// attestation (`attestation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// `sigstore`: a message signature over the artifact.
    Signature,
    /// `attestation`: a DSSE in-toto attestation about the artifact.
    Attestation,
}

impl Which {
    /// The evidence field holding the citation.
    pub fn field(self) -> &'static str {
        match self {
            Which::Signature => "sigstore",
            Which::Attestation => "attestation",
        }
    }

    fn bundle_field(self) -> &'static str {
        match self {
            Which::Signature => "sigstore.bundle_sha256",
            Which::Attestation => "attestation.bundle_sha256",
        }
    }

    fn root_field(self) -> &'static str {
        match self {
            Which::Signature => "sigstore.trusted_root_sha256",
            Which::Attestation => "attestation.trusted_root_sha256",
        }
    }

    fn key_field(self) -> &'static str {
        match self {
            Which::Signature => "sigstore.key_sha256",
            Which::Attestation => "attestation.key_sha256",
        }
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
    verify_cited(build, Which::Signature, bytes, now)
}

/// Checks one of a firmware build's Sigstore citations, as [`verify_citation`] does for the
/// signature. The `sigstore` citation must be a message signature; the `attestation` citation
/// must be a DSSE in-toto attestation with the artifact among its subjects.
///
/// # Errors
/// As [`verify_citation`].
pub fn verify_cited(
    build: &FirmwareBuild,
    which: Which,
    bytes: CitedBytes<'_>,
    now: i64,
) -> Result<(SigstoreReport, String), CitationError> {
    let cited = match which {
        Which::Signature => build.sigstore_artifact(),
        Which::Attestation => build.attestation_artifact(),
    };
    let (sg, artifact) = match (cited, which) {
        (Some(c), _) => c,
        (None, Which::Signature) => {
            let sg = build.sigstore.as_ref().ok_or(CitationError::NotCited)?;
            return Err(CitationError::NoSuchArtifact(
                which.field(),
                sg.artifact.clone(),
            ));
        }
        (None, Which::Attestation) => {
            let sg = build.attestation.as_ref().ok_or(CitationError::NotCited)?;
            return Err(CitationError::NoSuchArtifact(
                which.field(),
                sg.artifact.clone(),
            ));
        }
    };
    digest_matches(
        which.bundle_field(),
        "Sigstore bundle",
        &sg.bundle_sha256.0,
        bytes.bundle,
    )?;
    digest_matches(
        which.root_field(),
        "trusted root",
        &sg.trusted_root_sha256.0,
        bytes.trusted_root,
    )?;
    let policy = policy(which, sg, bytes.key)?;
    let root = TrustedRoot::from_json(bytes.trusted_root).map_err(CitationError::TrustedRoot)?;
    let mut report = verify_bundle(bytes.bundle, &artifact.sha256.0, &root, &policy, now);
    if report.is_verified() {
        // A signature citation must be a signature, an attestation citation an attestation.
        match (which, report.attestation.is_some()) {
            (Which::Signature, true) => {
                report = report.fail(SigstoreError::Unsupported(
                    "sigstore.bundle_sha256 cites a DSSE attestation, not a signature over the artifact; cite it as the build's attestation".into(),
                ));
            }
            (Which::Attestation, false) => {
                report = report.fail(SigstoreError::Unsupported(
                    "attestation.bundle_sha256 cites a message signature, not a DSSE attestation; cite it as the build's sigstore signature".into(),
                ));
            }
            _ => {}
        }
    }
    Ok((report, artifact.name.clone()))
}

/// The artifact of `build` that an attestation bundle's in-toto statement names as a subject
/// (by SHA-256), if the bundle parses and carries one (a hint: [`verify_cited`] checks it).
pub fn artifact_for_attestation<'b>(build: &'b FirmwareBuild, bundle: &[u8]) -> Option<&'b str> {
    let env = super::Bundle::parse(bundle).ok()?.dsse?;
    let st: serde_json::Value = serde_json::from_slice(&env.payload).ok()?;
    let subjects = st.get("subject")?.as_array()?;
    build
        .artifacts
        .iter()
        .find(|a| {
            let hex = crate::hex::encode(&a.sha256.0);
            subjects.iter().any(|s| {
                s.pointer("/digest/sha256")
                    .and_then(|d| d.as_str())
                    .is_some_and(|d| d.eq_ignore_ascii_case(&hex))
            })
        })
        .map(|a| a.name.as_str())
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
