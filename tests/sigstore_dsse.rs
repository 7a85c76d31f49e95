//! evledger's own Sigstore vectors (tests/vectors/sigstore-dsse/README.md): DSSE attestation
//! bundles for Rekor v1 and v2 under a test trusted root, their failure cases, and embedded SCTs
//! with extensions. One test per case; each failure asserts the step and reason.
#![cfg(feature = "sigstore")]

use evledger::sigstore::{
    SignerPolicy, SigstoreError, SigstoreReport, Step, TrustedRoot, verify_bundle,
};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};

const IDENTITY: &str =
    "https://github.com/aurelis/fg3-firmware/.github/workflows/release.yml@refs/tags/v4.2.0";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
/// Later than every signing time in the vectors; verification never reads the clock here.
const NOW: i64 = 1_800_000_000;

fn base() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sigstore-dsse")
}

fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let b64: String = std::str::from_utf8(pem)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

fn root_bytes(name: &str) -> Vec<u8> {
    std::fs::read(base().join("cases").join(name).join("trusted_root.json"))
        .unwrap_or_else(|_| std::fs::read(base().join("trusted_root.json")).unwrap())
}

/// Runs case `name` over the vectors' artifact, with its bundle edited by `edit`.
fn run_with(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> SigstoreReport {
    let dir = base().join("cases").join(name);
    let root = TrustedRoot::from_json(&root_bytes(name)).unwrap();
    let digest: [u8; 32] = Sha256::digest(std::fs::read(base().join("artifact")).unwrap()).into();
    let policy = match std::fs::read(dir.join("key.pub")) {
        Ok(pem) => SignerPolicy::Key(pem_to_der(&pem)),
        Err(_) => SignerPolicy::Keyless {
            identity: IDENTITY.into(),
            issuer: ISSUER.into(),
        },
    };
    let mut bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap()).unwrap();
    edit(&mut bundle);
    verify_bundle(
        &serde_json::to_vec(&bundle).unwrap(),
        &digest,
        &root,
        &policy,
        NOW,
    )
}

fn run(name: &str) -> SigstoreReport {
    run_with(name, |_| {})
}

fn accept(name: &str) -> SigstoreReport {
    let r = run(name);
    assert!(r.is_verified(), "{name} should verify:\n{}", r.to_text());
    r
}

/// The reason a case failed at `step`.
fn failed_at(r: &SigstoreReport, step: Step) -> String {
    match &r.error {
        Some(SigstoreError::Failed { step: s, reason }) if *s == step => reason.clone(),
        other => panic!("expected a {step} failure, got {other:?}\n{}", r.to_text()),
    }
}

// Conformance: embedded SCTs with extensions, and trusted-root validity windows.

#[test]
fn sct_extensions_rekor1() {
    accept("sct-extensions-rekor1");
}

#[test]
fn sct_extensions_rekor2() {
    let r = accept("sct-extensions-rekor2");
    assert!(r.steps.iter().any(|s| s.step == Step::Sct && s.ok));
}

#[test]
fn sct_extensions_rekor2_dsse() {
    accept("sct-extensions-rekor2-dsse");
}

#[test]
fn sct_extensions_are_signed() {
    // The SCT's extensions are inside what the CT log signed: changing them breaks it.
    for case in ["sct-extensions-rekor2", "sct-extensions-rekor2-dsse"] {
        let r = run_with(case, |b| {
            use base64::Engine as _;
            let e = &base64::engine::general_purpose::STANDARD;
            let c = &mut b["verificationMaterial"]["certificate"]["rawBytes"];
            let mut der = e.decode(c.as_str().unwrap()).unwrap();
            let ext = [0x00, 0x00, 0x05, 0, 0, 0, 0x04, 0xd2];
            let at = der.windows(ext.len()).position(|w| w == ext).unwrap();
            der[at + 7] ^= 1;
            *c = e.encode(&der).into();
        });
        // The Fulcio signature breaks too; whichever check runs first names the certificate.
        assert!(!r.is_verified(), "{case}:\n{}", r.to_text());
    }
}

#[test]
fn trust_root_tlog_missing_start_fail() {
    let e = TrustedRoot::from_json(&root_bytes("trust-root-tlog-missing-start_fail")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid trusted root: tlogs[0].publicKey.validFor has no start (protobuf-specs TimeRange requires it)"
    );
    assert!(e.is_invalid_input());
}

// DSSE attestations: happy paths for each log entry form.

const BUILDER: &str = "https://github.com/actions/runner/github-hosted";

fn assert_provenance(r: &SigstoreReport) {
    let a = r.attestation.as_ref().expect("an attestation");
    assert_eq!(a.payload_type, "application/vnd.in-toto+json");
    assert_eq!(a.predicate_type, "https://slsa.dev/provenance/v1");
    assert_eq!(a.subject, "facegate-4.2.0-fg3.img");
    let p = a.provenance.as_ref().expect("SLSA provenance v1");
    assert_eq!(p.builder_id, BUILDER);
    assert_eq!(
        p.build_type,
        "https://actions.github.io/buildtypes/workflow/v1"
    );
    assert_eq!(
        p.source_repository.as_deref(),
        Some("https://github.com/aurelis/fg3-firmware")
    );
    assert_eq!(p.source_ref.as_deref(), Some("refs/tags/v4.2.0"));
}

fn steps(r: &SigstoreReport) -> Vec<Step> {
    r.steps.iter().map(|s| s.step).collect()
}

#[test]
fn rekor1_dsse() {
    let r = accept("rekor1-dsse");
    assert_provenance(&r);
    for s in [
        Step::Signature,
        Step::Statement,
        Step::LogEntry,
        Step::Checkpoint,
        Step::Inclusion,
        Step::SignedEntryTimestamp,
        Step::Certificate,
        Step::Sct,
        Step::Identity,
    ] {
        assert!(steps(&r).contains(&s), "{s} missing:\n{}", r.to_text());
    }
}

#[test]
fn rekor1_intoto() {
    assert_provenance(&accept("rekor1-intoto"));
}

#[test]
fn rekor2_dsse() {
    let r = accept("rekor2-dsse");
    assert_provenance(&r);
    assert!(steps(&r).contains(&Step::Timestamp));
    assert!(!steps(&r).contains(&Step::SignedEntryTimestamp));
}

#[test]
fn rekor2_hashedrekord_dsse() {
    let r = accept("rekor2-hashedrekord-dsse");
    assert_provenance(&r);
    assert!(r.to_text().contains("hashedrekord 0.0.2 matches"));
}

#[test]
fn gh_attestation() {
    let r = accept("gh-attestation");
    assert_provenance(&r);
    assert!(steps(&r).contains(&Step::Timestamp));
}

#[test]
fn managed_key_dsse() {
    let r = accept("managed-key-dsse");
    assert_provenance(&r);
    assert!(!steps(&r).contains(&Step::Certificate));
}

#[test]
fn unknown_predicate_is_reported_not_read_as_provenance() {
    let r = accept("unknown-predicate");
    let a = r.attestation.as_ref().unwrap();
    assert_eq!(
        a.predicate_type,
        "https://evledger.test/custom-predicate/v1"
    );
    assert_eq!(a.provenance, None);
    assert!(r.to_text().contains("not SLSA provenance v1: not read"));
}

#[test]
fn dsse_needs_the_expected_identity() {
    let dir = base().join("cases/rekor1-dsse");
    let root = TrustedRoot::from_json(&root_bytes("rekor1-dsse")).unwrap();
    let digest: [u8; 32] = Sha256::digest(std::fs::read(base().join("artifact")).unwrap()).into();
    let policy = SignerPolicy::Keyless {
        identity: IDENTITY.replace("v4.2.0", "v4.2.1"),
        issuer: ISSUER.into(),
    };
    let bundle = std::fs::read(dir.join("bundle.sigstore.json")).unwrap();
    let r = verify_bundle(&bundle, &digest, &root, &policy, NOW);
    assert!(failed_at(&r, Step::Identity).contains("identity policy not met"));
    // Another artifact: no subject has its digest.
    let r = verify_bundle(&bundle, &[0; 32], &root, &policy, NOW);
    assert!(failed_at(&r, Step::Statement).starts_with("no statement subject has"));
}

// DSSE failures, each at the step and for the reason its name says.

#[test]
fn tampered_payload_fail() {
    let r = run("tampered-payload_fail");
    assert!(failed_at(&r, Step::Signature).starts_with("the DSSE signature does not verify"));
}

#[test]
fn wrong_subject_digest_fail() {
    let r = run("wrong-subject-digest_fail");
    assert!(
        failed_at(&r, Step::Statement)
            .starts_with("no statement subject has the artifact's sha256")
    );
}

#[test]
fn wrong_payload_type_fail() {
    let r = run("wrong-payload-type_fail");
    assert_eq!(
        failed_at(&r, Step::Statement),
        "dsseEnvelope.payloadType is \"application/json\", not \"application/vnd.in-toto+json\""
    );
}

#[test]
fn pae_mismatch_fail() {
    let r = run("pae-mismatch_fail");
    assert!(failed_at(&r, Step::Signature).contains("over the envelope's PAE"));
}

#[test]
fn rekor2_hashedrekord_pae_mismatch_fail() {
    let r = run("rekor2-hashedrekord-pae-mismatch_fail");
    assert_eq!(
        failed_at(&r, Step::LogEntry),
        "the entry's digest is not the SHA-256 of the envelope's PAE"
    );
}

#[test]
fn rekor2_dsse_payload_hash_mismatch_fail() {
    let r = run("rekor2-dsse-payload-hash-mismatch_fail");
    assert_eq!(
        failed_at(&r, Step::LogEntry),
        "the entry records a different payload hash than the envelope's"
    );
}

#[test]
fn every_case_passes_or_fails_as_named() {
    for d in std::fs::read_dir(base().join("cases")).unwrap() {
        let name = d.unwrap().file_name().into_string().unwrap();
        if name == "trust-root-tlog-missing-start_fail" {
            continue; // refused before any bundle is read (its own test)
        }
        let r = run(&name);
        assert_eq!(
            r.is_verified(),
            !name.ends_with("_fail"),
            "{name}:\n{}",
            r.to_text()
        );
    }
}

#[test]
fn tampered_transparency_evidence_is_rejected_for_dsse() {
    // The proof, the SET and the timestamp guard DSSE entries as they guard message signatures.
    let r = run_with("rekor1-dsse", |b| {
        let h = &mut b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0];
        *h = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    });
    failed_at(&r, Step::Inclusion);
    let r = run_with("rekor1-dsse", |b| {
        b["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = "1768471211".into();
    });
    failed_at(&r, Step::SignedEntryTimestamp);
    let r = run_with("rekor2-dsse", |b| {
        b["verificationMaterial"]
            .as_object_mut()
            .unwrap()
            .remove("timestampVerificationData");
    });
    assert!(failed_at(&r, Step::Timestamp).contains("no RFC 3161 timestamp"));
    // A second signature in the envelope is malformed (Sigstore bundles carry exactly one).
    let r = run_with("rekor1-dsse", |b| {
        let s = b["dsseEnvelope"]["signatures"][0].clone();
        b["dsseEnvelope"]["signatures"]
            .as_array_mut()
            .unwrap()
            .push(s);
    });
    assert!(
        matches!(r.error, Some(SigstoreError::InvalidBundle(ref m)) if m.contains("exactly one"))
    );
    // Both a message signature and an envelope.
    let r = run_with("rekor1-dsse", |b| {
        b["messageSignature"] = serde_json::json!({"signature": "AAAA"});
    });
    assert!(matches!(r.error, Some(SigstoreError::InvalidBundle(ref m)) if m.contains("both")));
}
