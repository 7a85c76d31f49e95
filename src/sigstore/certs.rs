//! Certificate checks: the `sigstore` crate's verifier for Rekor v1 keyless bundles, and our own
//! path check (RFC 5280 §6, reduced to Sigstore's fixed chains) where the signing time comes from
//! an RFC 3161 timestamp, which that verifier cannot take.

use pki_types::CertificateDer;
use sigstore::bundle::verify::policy::{Identity, VerificationPolicy};
use sigstore::bundle::verify::{ArtifactDigest, blocking::Verifier};
use sigstore::trust::ManualTrustRoot;
use x509_cert::der::Decode as _;
use x509_parser::prelude::*;

use super::crypto::{Hash, verify_message};
use super::trusted_root::{Authority, TrustedRoot};
use super::{SigstoreError, Step};

fn fail(step: Step, reason: impl Into<String>) -> SigstoreError {
    SigstoreError::failed(step, reason)
}

/// Runs the `sigstore` crate's offline verifier on a Rekor v1 keyless bundle: Fulcio chain
/// (rustls-webpki), embedded SCT against the trusted CT logs, identity policy, the signature
/// over the digest, the body's consistency, and the integrated time inside the certificate's
/// validity. It does not check the inclusion proof, checkpoint or SET (ours, in `tlog`).
pub(super) fn crate_verify_keyless(
    bundle_json: &[u8],
    digest: &[u8; 32],
    root: &TrustedRoot,
    identity: &str,
    issuer: &str,
) -> Result<(), SigstoreError> {
    let mut value: serde_json::Value = serde_json::from_slice(bundle_json)
        .map_err(|e| SigstoreError::InvalidBundle(format!("bundle: {e}")))?;
    // The crate knows v0.3 only by its canonical media type; the older alias names the same
    // format (protobuf-specs `Bundle.media_type`).
    if value["mediaType"] == "application/vnd.dev.sigstore.bundle+json;version=0.3" {
        value["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.3+json".into();
    }
    let bundle: sigstore::bundle::Bundle = serde_json::from_value(value)
        .map_err(|e| SigstoreError::InvalidBundle(format!("protobuf-specs bundle: {e}")))?;
    let trust = ManualTrustRoot {
        fulcio_certs: root
            .certificate_authorities
            .iter()
            .flat_map(|a| a.chain.iter())
            .map(|c| CertificateDer::from(c.clone()))
            .collect(),
        rekor_keys: Default::default(),
        ctfe_keys: root
            .ctlogs
            .iter()
            .map(|l| (crate::hex::encode(&l.log_id), l.public_key.clone()))
            .collect(),
    };
    let verifier = Verifier::new(Default::default(), trust)
        .map_err(|e| fail(Step::Certificate, format!("sigstore verifier: {e}")))?;
    let policy = Identity::new(identity, issuer);
    verifier
        .verify_digest_with(ArtifactDigest::Sha256(*digest), bundle, &policy, true)
        .map_err(|e| fail(Step::Certificate, format!("sigstore verifier: {e}")))
}

/// Checks the identity policy with the `sigstore` crate's `Identity` (SAN and Fulcio issuer
/// extension).
pub(super) fn check_identity(
    leaf: &[u8],
    identity: &str,
    issuer: &str,
) -> Result<(), SigstoreError> {
    let cert = x509_cert::Certificate::from_der(leaf)
        .map_err(|e| SigstoreError::InvalidBundle(format!("certificate: {e}")))?;
    Identity::new(identity, issuer)
        .verify(&cert)
        .map_err(|e| fail(Step::Identity, format!("identity policy not met: {e}")))
}

fn parse<'a>(der: &'a [u8], what: &str) -> Result<X509Certificate<'a>, SigstoreError> {
    match X509Certificate::from_der(der) {
        Ok(([], c)) => Ok(c),
        _ => Err(SigstoreError::InvalidBundle(format!(
            "{what} is not a DER certificate"
        ))),
    }
}

/// The SubjectPublicKeyInfo DER of a trusted issuer certificate.
pub(super) fn issuer_spki(der: &[u8]) -> Result<Vec<u8>, SigstoreError> {
    parse(der, "trusted root certificate")
        .map(|c| c.public_key().raw.to_vec())
        .map_err(|_| SigstoreError::InvalidTrustedRoot("authority certificate".into()))
}

/// Checks that `child` is signed by `issuer` (name chaining and an ECDSA signature).
fn signed_by(child: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    if child.issuer().as_raw() != issuer.subject().as_raw() {
        return false;
    }
    let Some(hash) = Hash::from_ecdsa_sig_oid(&child.signature_algorithm.algorithm.to_id_string())
    else {
        return false;
    };
    verify_message(
        issuer.public_key().raw,
        hash,
        child.tbs_certificate.as_ref(),
        &child.signature_value.data,
    )
}

fn valid_at(c: &X509Certificate<'_>, t: i64) -> bool {
    c.validity().not_before.timestamp() <= t && t <= c.validity().not_after.timestamp()
}

fn is_ca(c: &X509Certificate<'_>) -> bool {
    matches!(c.basic_constraints(), Ok(Some(bc)) if bc.value.ca)
}

/// Checks that `leaf` chains to one of `authorities` at time `t`: every certificate valid at
/// `t`, each signed by the next, issuers marked CA, the authority's window containing `t`.
/// Returns the index of the authority.
pub(super) fn check_path(
    leaf_der: &[u8],
    authorities: &[Authority],
    t: i64,
    step: Step,
    code_signing: bool,
) -> Result<usize, SigstoreError> {
    let leaf = parse(leaf_der, "the signing certificate")?;
    if !valid_at(&leaf, t) {
        return Err(fail(
            step,
            format!("the certificate is not valid at the signing time {t}"),
        ));
    }
    if is_ca(&leaf) {
        return Err(fail(step, "the signing certificate is a CA certificate"));
    }
    if code_signing {
        match leaf.extended_key_usage() {
            Ok(Some(eku)) if eku.value.code_signing => {}
            _ => {
                return Err(fail(
                    step,
                    "the certificate lacks the code-signing key usage",
                ));
            }
        }
    }
    let mut last = String::from("no trusted authority");
    for (i, a) in authorities.iter().enumerate() {
        if !a.valid_for.contains(t) {
            last = "no trusted authority is valid at the signing time".into();
            continue;
        }
        let chain = a
            .chain
            .iter()
            .map(|c| parse(c, "trusted root certificate"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| SigstoreError::InvalidTrustedRoot("authority certificate".into()))?;
        // A pinned leaf (timestamp authorities) or an issuer at the head of the chain.
        let start = if chain[0].as_ref() == leaf.as_ref() {
            1
        } else {
            0
        };
        if start == 0 && !signed_by(&leaf, &chain[0]) {
            last = "the certificate is not issued by a trusted authority".into();
            continue;
        }
        let ok = chain[start..].iter().enumerate().all(|(j, c)| {
            let parent = chain.get(start + j + 1).unwrap_or(c);
            is_ca(c) && valid_at(c, t) && signed_by(c, parent)
        });
        if ok {
            return Ok(i);
        }
        last = "the trusted chain is not valid at the signing time".into();
    }
    Err(fail(step, last))
}
