//! The verification flow: parse, signature, log entry, inclusion and checkpoint, SET or
//! timestamps, certificate path, identity.

use sha2::{Digest as _, Sha256};

use super::bundle::{Bundle, SignerMaterial};
use super::certs::{check_identity, check_path, crate_verify_keyless, issuer_spki};
use super::crypto::{verify_ecdsa_prehash, verify_message_for_key};
use super::dsse::{check_dsse_body, check_statement};
use super::report::SigstoreReport;
use super::sct::check_embedded_sct;
use super::tlog::{Expected, check_body, check_inclusion, check_set};
use super::trusted_root::TrustedRoot;
use super::tsa::check_timestamps;
use super::{SigstoreError, Step};

/// Who must have signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerPolicy {
    /// A Fulcio certificate for this identity (SAN) from this OIDC issuer.
    Keyless {
        /// The expected identity (URI, e-mail).
        identity: String,
        /// The expected OIDC issuer URL.
        issuer: String,
    },
    /// A managed key (SubjectPublicKeyInfo DER).
    Key(Vec<u8>),
}

fn fail(step: Step, reason: impl Into<String>) -> SigstoreError {
    SigstoreError::failed(step, reason)
}

/// Verifies a Sigstore bundle offline over an artifact with SHA-256 `digest`, against a pinned
/// trusted root and a signer policy, at time `now` (Unix seconds).
///
/// The report lists each step; its `error` says why the bundle was rejected. Never panics on
/// hostile input.
pub fn verify_bundle(
    bundle_json: &[u8],
    digest: &[u8; 32],
    root: &TrustedRoot,
    policy: &SignerPolicy,
    now: i64,
) -> SigstoreReport {
    let mut report = SigstoreReport::new();
    match run(&mut report, bundle_json, digest, root, policy, now) {
        Ok(t) => {
            report.signed_at = Some(t);
            report
        }
        Err(e) => report.fail(e),
    }
}

fn run(
    report: &mut SigstoreReport,
    bundle_json: &[u8],
    digest: &[u8; 32],
    root: &TrustedRoot,
    policy: &SignerPolicy,
    now: i64,
) -> Result<i64, SigstoreError> {
    let bundle = Bundle::parse(bundle_json)?;
    let entry = &bundle.entry;
    let dsse = bundle.dsse.as_ref();
    let v1 = match (entry.kind.as_str(), entry.version.as_str(), dsse.is_some()) {
        ("hashedrekord", "0.0.1", false) => true,
        ("hashedrekord", "0.0.2", _) => false,
        ("dsse", "0.0.1", true) | ("intoto", "0.0.2", true) => true,
        ("dsse", "0.0.2", true) => false,
        (k, v, false) => {
            return Err(SigstoreError::Unsupported(format!(
                "log entries of kind {k} {v} for a message signature (only hashedrekord 0.0.1 and 0.0.2)"
            )));
        }
        (k, v, true) => {
            return Err(SigstoreError::Unsupported(format!(
                "log entries of kind {k} {v} for a DSSE envelope (only dsse 0.0.1, intoto 0.0.2, dsse 0.0.2 and hashedrekord 0.0.2)"
            )));
        }
    };
    report.pass(
        Step::Parse,
        format!(
            "{} with a {} {} entry",
            bundle.media_type, entry.kind, entry.version
        ),
    );

    // The signer's key: the leaf certificate's, or the managed key the policy names.
    let (signer_der, spki) = match (&bundle.signer, policy) {
        (SignerMaterial::Certificate(leaf), SignerPolicy::Keyless { .. }) => {
            let (_, c) = x509_parser::parse_x509_certificate(leaf)
                .map_err(|e| SigstoreError::InvalidBundle(format!("certificate: {e}")))?;
            (leaf.clone(), c.public_key().raw.to_vec())
        }
        (SignerMaterial::PublicKey, SignerPolicy::Key(k)) => (k.clone(), k.clone()),
        (SignerMaterial::PublicKey, SignerPolicy::Keyless { .. }) => {
            return Err(fail(
                Step::Identity,
                "the bundle is signed with a managed key but no key was given (--key)",
            ));
        }
        (SignerMaterial::Certificate(_), SignerPolicy::Key(_)) => {
            return Err(fail(
                Step::Identity,
                "a key was given but the bundle is signed with a certificate",
            ));
        }
    };

    // A DSSE envelope: the signature over its PAE, then the statement about the artifact.
    let pae_digest: [u8; 32];
    let exp_digest = if let Some(env) = dsse {
        let pae = env.pae();
        if !verify_message_for_key(&spki, &pae, &env.signature) {
            return Err(fail(
                Step::Signature,
                "the DSSE signature does not verify over the envelope's PAE(payloadType, payload)",
            ));
        }
        report.pass(Step::Signature, "DSSE signature over the envelope's PAE");
        let att = check_statement(env, digest)?;
        let detail = match &att.provenance {
            Some(p) => format!(
                "in-toto statement, subject {:?}; {}: {}",
                att.subject,
                att.predicate_type,
                p.summary()
            ),
            None => format!(
                "in-toto statement, subject {:?}; predicate type {} (not SLSA provenance v1: not read)",
                att.subject, att.predicate_type
            ),
        };
        report.pass(Step::Statement, detail);
        report.attestation = Some(att);
        pae_digest = Sha256::digest(&pae).into();
        &pae_digest
    } else {
        digest
    };

    // The signature over the artifact; the bundle's digest is only a hint, but must agree.
    if dsse.is_none()
        && let Some((alg, d)) = &bundle.message_digest
        && (alg != "SHA2_256" || d.as_slice() != digest)
    {
        return Err(fail(
            Step::Signature,
            "the bundle's message digest is not the artifact's SHA-256",
        ));
    }
    if dsse.is_none() {
        if !verify_ecdsa_prehash(&spki, digest, &bundle.signature) {
            return Err(fail(
                Step::Signature,
                "the signature does not verify over the artifact digest",
            ));
        }
        report.pass(
            Step::Signature,
            "ECDSA signature over the artifact's SHA-256",
        );
    }

    // The log entry says the same thing as the bundle.
    let exp = Expected {
        digest: exp_digest,
        digest_of: if dsse.is_some() {
            "the envelope's PAE"
        } else {
            "the artifact"
        },
        signature: &bundle.signature,
        signer_der: &signer_der,
        signer_is_cert: matches!(bundle.signer, SignerMaterial::Certificate(_)),
    };
    let logged = match dsse {
        Some(env) if entry.kind != "hashedrekord" => check_dsse_body(entry, env, &signer_der)?,
        _ => check_body(entry, &exp)?,
    };
    report.pass(Step::LogEntry, logged);

    let log = root.tlog(&entry.log_id).ok_or_else(|| {
        fail(
            Step::Checkpoint,
            "the entry's log is not in the trusted root",
        )
    })?;
    let proof = entry.inclusion_proof.as_ref().ok_or_else(|| {
        fail(
            Step::Inclusion,
            "no inclusion proof (it is required offline)",
        )
    })?;
    let (inclusion, checkpoint) = check_inclusion(entry, proof, log)?;
    report.pass(Step::Checkpoint, checkpoint);
    report.pass(Step::Inclusion, inclusion);

    // The signing time: the SET's integrated time (v1) or the trusted timestamps (v2).
    let signed_at = if v1 {
        let t = check_set(entry, log)?;
        if !log.valid_for.contains(t) {
            return Err(fail(
                Step::SignedEntryTimestamp,
                "the integrated time is outside the log key's validity in the trusted root",
            ));
        }
        if t > now + 60 {
            return Err(fail(
                Step::SignedEntryTimestamp,
                "the integrated time is in the future",
            ));
        }
        report.pass(Step::SignedEntryTimestamp, format!("integrated at {t}"));
        if !bundle.timestamps.is_empty() {
            let ts = check_timestamps(&bundle.timestamps, &bundle.signature, root)?;
            report.pass(Step::Timestamp, format!("timestamped at {ts}"));
        }
        t
    } else {
        let t = check_timestamps(&bundle.timestamps, &bundle.signature, root)?;
        if !log.valid_for.contains(t) {
            return Err(fail(
                Step::Timestamp,
                "the timestamp is outside the log key's validity in the trusted root",
            ));
        }
        report.pass(
            Step::Timestamp,
            format!("timestamped at {t} by a trusted TSA"),
        );
        t
    };

    match (&bundle.signer, policy) {
        (SignerMaterial::Certificate(leaf), SignerPolicy::Keyless { identity, issuer }) => {
            // The crate's verifier takes message signatures only; DSSE gets our SCT check.
            let crate_checked = v1 && dsse.is_none();
            if crate_checked {
                crate_verify_keyless(bundle_json, digest, root, identity, issuer)?;
                report.pass(
                    Step::Certificate,
                    "sigstore crate: Fulcio chain, embedded SCT, signature, entry consistency",
                );
            }
            let ca = check_path(
                leaf,
                &root.certificate_authorities,
                signed_at,
                Step::Certificate,
                true,
            )?;
            report.pass(
                Step::Certificate,
                format!("chains to a trusted Fulcio CA at {signed_at}"),
            );
            if !crate_checked {
                // The crate checked the SCT on the v1 message-signature path; the rest need ours.
                let issuer = issuer_spki(&root.certificate_authorities[ca].chain[0])?;
                let sct = check_embedded_sct(leaf, &issuer, &root.ctlogs)
                    .map_err(|e| fail(Step::Sct, e.to_string()))?;
                report.pass(Step::Sct, sct);
            }
            check_identity(leaf, identity, issuer)?;
            report.pass(Step::Identity, format!("{identity} from {issuer}"));
        }
        (SignerMaterial::PublicKey, SignerPolicy::Key(k)) => {
            let fp = crate::hex::encode(&Sha256::digest(k)[..8]);
            report.pass(Step::Identity, format!("managed key sha256:{fp}…"));
        }
        _ => {}
    }
    Ok(signed_at)
}
