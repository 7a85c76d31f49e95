//! Sigstore conformance vectors (tests/vectors/sigstore/README.md): one test per case.
#![cfg(feature = "sigstore")]

mod common_sigstore {
    use evledger::sigstore::{SignerPolicy, SigstoreReport, TrustedRoot, verify_bundle};
    use sha2::{Digest as _, Sha256};
    use std::path::Path;

    pub const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    pub const ISSUER: &str = "https://token.actions.githubusercontent.com";

    fn read_opt(p: &Path) -> Option<Vec<u8>> {
        std::fs::read(p).ok()
    }

    fn pem_to_der(pem: &str) -> Vec<u8> {
        use base64::Engine as _;
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }

    pub fn run_with(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> SigstoreReport {
        run_with_root(name, |_| {}, edit)
    }

    /// Runs a case with its bundle and a copy of its trusted root edited.
    pub fn run_with_root(
        name: &str,
        edit_root: impl FnOnce(&mut serde_json::Value),
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> SigstoreReport {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sigstore");
        let dir = base.join("cases").join(name);
        let root = read_opt(&dir.join("trusted_root.json"))
            .unwrap_or_else(|| std::fs::read(base.join("production_trusted_root.json")).unwrap());
        let mut root: serde_json::Value = serde_json::from_slice(&root).unwrap();
        edit_root(&mut root);
        let root = TrustedRoot::from_json(&serde_json::to_vec(&root).unwrap()).unwrap();
        let artifact = read_opt(&dir.join("artifact"))
            .unwrap_or_else(|| std::fs::read(base.join("a.txt")).unwrap());
        let digest: [u8; 32] = Sha256::digest(&artifact).into();
        let policy = match read_opt(&dir.join("key.pub")) {
            Some(pem) => SignerPolicy::Key(pem_to_der(std::str::from_utf8(&pem).unwrap())),
            None => SignerPolicy::Keyless {
                identity: read_opt(&dir.join("identity"))
                    .map(|b| String::from_utf8(b).unwrap().trim().to_owned())
                    .unwrap_or_else(|| IDENTITY.to_owned()),
                issuer: read_opt(&dir.join("issuer"))
                    .map(|b| String::from_utf8(b).unwrap().trim().to_owned())
                    .unwrap_or_else(|| ISSUER.to_owned()),
            },
        };
        let mut bundle: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap())
                .unwrap();
        edit(&mut bundle);
        let bytes = serde_json::to_vec(&bundle).unwrap();
        verify_bundle(&bytes, &digest, &root, &policy, evledger::cli::now())
    }

    pub fn run(name: &str) -> SigstoreReport {
        run_with(name, |_| {})
    }
}

use common_sigstore::run;

fn accept(name: &str) {
    let r = run(name);
    assert!(r.is_verified(), "{name} should verify:\n{}", r.to_text());
}

fn reject(name: &str) {
    let r = run(name);
    assert!(
        !r.is_verified(),
        "{name} should be rejected:\n{}",
        r.to_text()
    );
    eprintln!("{name}: {}", r.error.unwrap());
}

#[test]
fn bundle_empty_certificate_chain_fail() {
    reject("bundle-empty-certificate-chain_fail");
}

#[test]
fn bundle_invalid_base64_signature_fail() {
    reject("bundle-invalid-base64-signature_fail");
}

#[test]
fn bundle_negative_log_index_fail() {
    reject("bundle-negative-log-index_fail");
}

#[test]
fn bundle_with_root_cert_fail() {
    reject("bundle-with-root-cert_fail");
}

#[test]
fn checkpoint_bad_keyhint_fail() {
    reject("checkpoint-bad-keyhint_fail");
}

/// README: the reason is asserted, not only the rejection.
#[test]
fn dsse_invalid_sig_fail() {
    let r = run("dsse-invalid-sig_fail");
    assert!(failed_at(&r, Step::Signature).starts_with("the DSSE signature does not verify"));
}

/// README: the reason is asserted, not only the rejection.
#[test]
fn dsse_mismatch_sig_fail() {
    let r = run("dsse-mismatch-sig_fail");
    assert!(failed_at(&r, Step::LogEntry).starts_with("the entry records a different signature"));
}

#[test]
fn happy_path_v0_1() {
    accept("happy-path-v0.1");
}

#[test]
fn happy_path_v0_3() {
    accept("happy-path-v0.3");
}

#[test]
fn inclusion_proof_corrupted_hash_fail() {
    reject("inclusion-proof-corrupted-hash_fail");
}

#[test]
fn integrated_time_in_future_fail() {
    reject("integrated-time-in-future_fail");
}

/// README: the reason is asserted, not only the rejection.
#[test]
fn intoto_log_entry_mismatch_fail() {
    let r = run("intoto-log-entry-mismatch_fail");
    assert!(failed_at(&r, Step::LogEntry).starts_with("the entry records a different signature"));
}

/// README: the reason is asserted, not only the rejection.
#[test]
fn intoto_set_outside_signing_cert_validity_fail() {
    let r = run("intoto-set-outside-signing-cert-validity_fail");
    assert!(
        failed_at(&r, Step::Certificate)
            .starts_with("the certificate is not valid at the signing time")
    );
}

#[test]
fn intoto_with_custom_trust_root() {
    let r = run("intoto-with-custom-trust-root");
    assert!(r.is_verified(), "{}", r.to_text());
    let a = r
        .attestation
        .expect("a DSSE bundle reports its attestation");
    assert_eq!(a.predicate_type, "https://slsa.dev/provenance/v1");
    assert_eq!(a.subject, "d.txt");
}

#[test]
fn invalid_ct_key_fail() {
    reject("invalid-ct-key_fail");
}

#[test]
fn managed_key_and_trusted_root() {
    accept("managed-key-and-trusted-root");
}

#[test]
fn managed_key_no_key_fail() {
    reject("managed-key-no-key_fail");
}

#[test]
fn message_digest_mismatch_fail() {
    reject("message-digest-mismatch_fail");
}

#[test]
fn rekor2_checkpoint_missing_log_signature_fail() {
    reject("rekor2-checkpoint-missing-log-signature_fail");
}

#[test]
fn rekor2_checkpoint_missing_root_hash_fail() {
    reject("rekor2-checkpoint-missing-root-hash_fail");
}

#[test]
fn rekor2_checkpoint_multiple_cosigs() {
    accept("rekor2-checkpoint-multiple-cosigs");
}

#[test]
fn rekor2_checkpoint_origin_not_first() {
    accept("rekor2-checkpoint-origin-not-first");
}

#[test]
fn rekor2_checkpoint_two_sigs_from_origin() {
    accept("rekor2-checkpoint-two-sigs-from-origin");
}

/// README: the reason is asserted, not only the rejection.
#[test]
fn rekor2_dsse_invalid_sig_fail() {
    let r = run("rekor2-dsse-invalid-sig_fail");
    assert!(failed_at(&r, Step::Signature).starts_with("the DSSE signature does not verify"));
}

/// README: the reason is asserted, not only the rejection.
#[test]
fn rekor2_dsse_mismatch_sig_fail() {
    let r = run("rekor2-dsse-mismatch-sig_fail");
    assert!(failed_at(&r, Step::LogEntry).starts_with("the entry records a different signature"));
}

#[test]
fn rekor2_no_inclusion_proof_fail() {
    reject("rekor2-no-inclusion-proof_fail");
}

#[test]
fn rekor2_timestamp_outside_trust_root_tsa_validity_fail() {
    reject("rekor2-timestamp-outside-trust-root-tsa-validity_fail");
}

#[test]
fn rekor2_timestamp_payload_mismatch_fail() {
    reject("rekor2-timestamp-payload-mismatch_fail");
}

#[test]
fn rekor2_timestamp_untrusted_tsa_without_embedded_cert_fail() {
    reject("rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail");
}

#[test]
fn rekor2_timestamp_with_expired_cert_chain() {
    accept("rekor2-timestamp-with-expired-cert-chain");
}

#[test]
fn rekor2_timestamp_without_embedded_cert() {
    accept("rekor2-timestamp-without-embedded-cert");
}

#[test]
fn signature_mismatch_fail() {
    reject("signature-mismatch_fail");
}

#[test]
fn trust_root_tlog_validity_end_inclusive() {
    accept("trust-root-tlog-validity-end-inclusive");
}

#[test]
fn wrong_hashedrekord_artifact_fail() {
    reject("wrong-hashedrekord-artifact_fail");
}

#[test]
fn wrong_hashedrekord_entry_fail() {
    reject("wrong-hashedrekord-entry_fail");
}

// Tampered transparency-log evidence: each rejected, with the step that catches it.

use common_sigstore::run_with;
use evledger::sigstore::{SigstoreError, Step};

fn proof(b: &mut serde_json::Value) -> &mut serde_json::Value {
    &mut b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
}

fn failed_at(r: &evledger::sigstore::SigstoreReport, step: Step) -> String {
    match &r.error {
        Some(SigstoreError::Failed { step: s, reason }) if *s == step => reason.clone(),
        other => panic!("expected a {step} failure, got {other:?}\n{}", r.to_text()),
    }
}

#[test]
fn zeroed_inclusion_proof_hashes_are_rejected() {
    for case in ["happy-path-v0.3", "rekor2-timestamp-without-embedded-cert"] {
        let r = run_with(case, |b| {
            for h in proof(b)["hashes"].as_array_mut().unwrap() {
                *h = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
            }
        });
        assert!(failed_at(&r, Step::Inclusion).contains("does not verify"));
    }
}

#[test]
fn altered_inclusion_proof_hash_is_rejected() {
    let r = run_with("happy-path-v0.1", |b| {
        proof(b)["hashes"][0] = "1J7hRIEGvYdAyzEs+GhAE9L+38oHye3BhalgoQRZoo4=".into();
    });
    failed_at(&r, Step::Inclusion);
}

#[test]
fn wrong_checkpoint_root_is_rejected() {
    // The proof's root is changed to one the (validly signed) checkpoint does not state.
    let r = run_with("happy-path-v0.3", |b| {
        proof(b)["rootHash"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    });
    assert!(failed_at(&r, Step::Inclusion).contains("root hashes differ"));
    // A checkpoint text with another root no longer carries a valid log signature.
    let r = run_with("happy-path-v0.3", |b| {
        let env = proof(b)["checkpoint"]["envelope"]
            .as_str()
            .unwrap()
            .to_owned();
        let env = env.replace(
            "Fnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        );
        proof(b)["checkpoint"]["envelope"] = env.into();
        proof(b)["rootHash"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    });
    assert!(failed_at(&r, Step::Checkpoint).contains("does not verify"));
}

#[test]
fn checkpoint_signed_by_untrusted_key_is_rejected() {
    // A checkpoint over the same tree, signed by a fresh Ed25519 key under the log's name.
    use evledger::note::{Note, NoteSigner};
    let r = run_with("rekor2-timestamp-without-embedded-cert", |b| {
        let env = proof(b)["checkpoint"]["envelope"]
            .as_str()
            .unwrap()
            .to_owned();
        let text = &env[..env.find("\n\n").unwrap() + 1];
        let name = text.lines().next().unwrap().to_owned();
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let signer = NoteSigner::new(&name, key).unwrap();
        let mut note = Note::new(text).unwrap();
        note.add_signature(signer.sign(text).unwrap());
        proof(b)["checkpoint"]["envelope"] = note.to_text().into();
    });
    assert!(failed_at(&r, Step::Checkpoint).contains("not signed by the trusted log key"));
}

#[test]
fn altered_set_is_rejected() {
    let r = run_with("happy-path-v0.1", |b| {
        let e = &mut b["verificationMaterial"]["tlogEntries"][0];
        let set = e["inclusionPromise"]["signedEntryTimestamp"]
            .as_str()
            .unwrap();
        let mut raw =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, set).unwrap();
        let n = raw.len();
        raw[n - 1] ^= 1;
        e["inclusionPromise"]["signedEntryTimestamp"] =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw).into();
    });
    assert!(failed_at(&r, Step::SignedEntryTimestamp).contains("does not verify"));
    // A SET over another integrated time fails too.
    let r = run_with("happy-path-v0.1", |b| {
        b["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = "1689177397".into();
    });
    failed_at(&r, Step::SignedEntryTimestamp);
}

#[test]
fn missing_set_is_rejected() {
    let r = run_with("happy-path-v0.3", |b| {
        b["verificationMaterial"]["tlogEntries"][0]
            .as_object_mut()
            .unwrap()
            .remove("inclusionPromise");
    });
    failed_at(&r, Step::SignedEntryTimestamp);
}

// The embedded SCT of Rekor v2 keyless bundles (ours; the crate checks it on v1 only). A
// flipped SCT signature byte or a TBS change also breaks the Fulcio signature, so those are
// unit tests of the reconstruction in src/sigstore/sct.rs.

const REKOR2_ACCEPTED: [&str; 5] = [
    "rekor2-checkpoint-multiple-cosigs",
    "rekor2-checkpoint-origin-not-first",
    "rekor2-checkpoint-two-sigs-from-origin",
    "rekor2-timestamp-with-expired-cert-chain",
    "rekor2-timestamp-without-embedded-cert",
];

#[test]
fn rekor2_bundles_report_the_embedded_sct() {
    for case in REKOR2_ACCEPTED {
        let r = run(case);
        assert!(r.is_verified(), "{case}:\n{}", r.to_text());
        let sct = r.steps.iter().find(|s| s.step == Step::Sct);
        assert!(
            sct.is_some_and(|s| s.ok && s.detail.contains("embedded SCT")),
            "{case}:\n{}",
            r.to_text()
        );
    }
}

#[test]
fn rekor2_sct_from_an_untrusted_log_is_rejected() {
    for case in REKOR2_ACCEPTED {
        let r = common_sigstore::run_with_root(
            case,
            |root| root["ctlogs"] = serde_json::json!([]),
            |_| {},
        );
        assert!(
            failed_at(&r, Step::Sct)
                .contains("no embedded SCT is from a CT log of the trusted root"),
            "{case}"
        );
    }
}

#[test]
fn rekor2_sct_outside_the_ct_log_validity_is_rejected() {
    let r = common_sigstore::run_with_root(
        "rekor2-timestamp-without-embedded-cert",
        |root| {
            for l in root["ctlogs"].as_array_mut().unwrap() {
                l["publicKey"]["validFor"] = serde_json::json!({"start": "2000-01-01T00:00:00Z", "end": "2001-01-01T00:00:00Z"});
            }
        },
        |_| {},
    );
    failed_at(&r, Step::Sct);
}
