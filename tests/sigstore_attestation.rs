//! Firmware builds that cite a Sigstore attestation (SLSA provenance in DSSE): `record
//! --attestation` verifies before citing, `bundle` attaches it, `verify` re-checks it and the
//! `slsa-provenance` rule judges its builder, source repository and ref.
#![cfg(feature = "sigstore")]

mod common;

use common::{Env, LEDGER, sha256_hex};

const IDENTITY: &str =
    "https://github.com/aurelis/fg3-firmware/.github/workflows/release.yml@refs/tags/v4.2.0";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const FIRST_ARTIFACT: &str = "9a1f4c0e7b2d3c58e6f0a9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b";
const BUILDER: &str = "https://github.com/actions/runner/github-hosted";

fn vectors() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sigstore-dsse")
}

/// A ledger, the example build with its first artifact replaced by the vectors' artifact, their
/// trusted root and the named cases' bundles.
fn setup(cases: &[&str]) -> Env {
    let env = Env::new();
    env.init();
    let a = std::fs::read(vectors().join("artifact")).unwrap();
    let fw = std::fs::read_to_string(env.path("fw.toml"))
        .unwrap()
        .replace(FIRST_ARTIFACT, &sha256_hex(&a))
        .replace("size = 48234496", &format!("size = {}", a.len()));
    env.write("fw-a.toml", &fw);
    std::fs::copy(
        vectors().join("trusted_root.json"),
        env.path("trusted_root.json"),
    )
    .unwrap();
    for c in cases {
        std::fs::copy(
            vectors().join("cases").join(c).join("bundle.sigstore.json"),
            env.path(&format!("{c}.sigstore.json")),
        )
        .unwrap();
    }
    env
}

fn record(env: &Env, case: &str, identity: &str) -> common::Out {
    let bundle = format!("{case}.sigstore.json");
    let mut args = Env::record_args("fw-a.toml", "1773139800");
    args.extend([
        "--attestation",
        &bundle,
        "--trusted-root",
        "trusted_root.json",
        "--attestation-identity",
        identity,
        "--attestation-issuer",
        ISSUER,
    ]);
    env.run(&args)
}

/// A trust file with the release role, a profile with one `slsa-provenance` rule requiring
/// `source_ref`, and the pinned trusted root.
fn trust(env: &Env, source_ref: &str) {
    env.write(
        "slsa.toml",
        &format!(
            r#"format = "evledger-profile/1"
id = "slsa"
version = "1"
title = "Firmware built by GitHub-hosted runners from a release tag"

[[rule]]
id = "slsa-1"
type = "slsa-provenance"
citation = "release policy §2"
builder_id = "{BUILDER}"
source_repository = "github.com/aurelis/fg3-firmware"
source_ref = "{source_ref}"
"#
        ),
    );
    let role = common::release_role();
    let _ = std::fs::remove_file(env.path("trust.toml"));
    env.run(&[
        "trust",
        "init",
        "--ledger",
        LEDGER,
        "--out",
        "trust.toml",
        "--role",
        &role,
        "--profile",
        "slsa.toml",
    ])
    .ok();
    let mut t = std::fs::read_to_string(env.path("trust.toml")).unwrap();
    t.push_str("\n[sigstore]\ntrusted_roots = [\"trusted_root.json\"]\n");
    env.write("trust.toml", &t);
}

fn bundle_and_verify(env: &Env) -> common::Out {
    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    env.run(&["verify", "b.cbor", "--trust", "trust.toml"])
}

#[test]
fn an_attested_build_round_trips_and_meets_the_slsa_rule() {
    let env = setup(&["gh-attestation"]);
    let out = record(&env, "gh-attestation", IDENTITY);
    out.ok();
    assert!(
        out.stderr.contains(
            "attestation: gh-attestation.sigstore.json attests facegate-4.2.0-fg3.img (https://slsa.dev/provenance/v1)"
        ),
        "{out:?}"
    );
    let sha = sha256_hex(&std::fs::read(env.path("gh-attestation.sigstore.json")).unwrap());
    let show = env.run(&["show", "0", "--ledger", LEDGER]);
    assert!(
        show.ok().contains(&format!(
            "attestation       bundle {sha} over facegate-4.2.0-fg3.img"
        )),
        "{show:?}"
    );
    env.audit_ok();

    trust(&env, "refs/tags/v*");
    let v = bundle_and_verify(&env);
    assert_eq!(v.code, 0, "{v:?}");
    assert!(
        v.stdout.contains(&format!(
            "Sigstore attestation {sha} about artifact facegate-4.2.0-fg3.img"
        )) && v.stdout.contains(&format!(
            "SLSA provenance v1, builder {BUILDER}, build type https://actions.github.io/buildtypes/workflow/v1, source https://github.com/aurelis/fg3-firmware at refs/tags/v4.2.0"
        )),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout.contains("slsa-1: built by https://github.com/actions/runner/github-hosted from https://github.com/aurelis/fg3-firmware at refs/tags/v4.2.0"),
        "{}",
        v.stdout
    );

    // The same bundle under a profile requiring a branch: the policy is not met (exit 4).
    trust(&env, "refs/heads/main");
    let v = env.run(&["verify", "b.cbor", "--trust", "trust.toml"]);
    assert_eq!(v.code, 4, "{v:?}");
    assert!(
        v.stdout.contains(
            "slsa-1: source ref \"refs/tags/v4.2.0\" does not match the profile's \"refs/heads/main\""
        ),
        "{}",
        v.stdout
    );
}

#[test]
fn an_unknown_predicate_is_reported_and_never_taken_as_provenance() {
    let env = setup(&["unknown-predicate"]);
    record(&env, "unknown-predicate", IDENTITY).ok();
    trust(&env, "refs/tags/v*");
    let v = bundle_and_verify(&env);
    assert_eq!(v.code, 4, "{v:?}");
    assert!(
        v.stdout.contains("predicate type https://evledger.test/custom-predicate/v1 (not SLSA provenance v1: reported, never taken as provenance)"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout.contains("slsa-1: the attestation's predicate type https://evledger.test/custom-predicate/v1 is not SLSA provenance v1"),
        "{}",
        v.stdout
    );
}

#[test]
fn a_build_without_an_attestation_fails_the_rule() {
    let env = setup(&[]);
    env.run(&Env::record_args("fw-a.toml", "1773139800")).ok();
    trust(&env, "refs/tags/v*");
    let v = bundle_and_verify(&env);
    assert_eq!(v.code, 4, "{v:?}");
    assert!(
        v.stdout
            .contains("slsa-1: the firmware build cites no attestation"),
        "{}",
        v.stdout
    );
}

#[test]
fn record_refuses_what_does_not_verify_or_is_not_an_attestation() {
    let env = setup(&[
        "gh-attestation",
        "wrong-subject-digest_fail",
        "sct-extensions-rekor1",
    ]);
    // Another identity: refused, nothing recorded.
    let out = record(
        &env,
        "gh-attestation",
        &IDENTITY.replace("v4.2.0", "v4.2.1"),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("identity policy not met"), "{out:?}");
    assert!(out.stderr.contains("nothing was recorded"), "{out:?}");
    // No subject is an artifact of the build.
    let out = record(&env, "wrong-subject-digest_fail", IDENTITY);
    assert!(
        out.stderr
            .contains("no subject of its in-toto statement has the SHA-256 of an artifact"),
        "{out:?}"
    );
    // A message signature is not an attestation...
    let mut args = Env::record_args("fw-a.toml", "1773139800");
    args.extend([
        "--attestation",
        "sct-extensions-rekor1.sigstore.json",
        "--trusted-root",
        "trusted_root.json",
        "--attestation-identity",
        IDENTITY,
        "--attestation-issuer",
        ISSUER,
        "--attestation-artifact",
        "facegate-4.2.0-fg3.img",
    ]);
    let out = env.run(&args);
    assert!(
        out.stderr
            .contains("cites a message signature, not a DSSE attestation"),
        "{out:?}"
    );
    // ...and an attestation is not a signature.
    let mut args = Env::record_args("fw-a.toml", "1773139800");
    args.extend([
        "--sigstore-bundle",
        "gh-attestation.sigstore.json",
        "--trusted-root",
        "trusted_root.json",
        "--identity",
        IDENTITY,
        "--oidc-issuer",
        ISSUER,
        "--sigstore-artifact",
        "facegate-4.2.0-fg3.img",
    ]);
    let out = env.run(&args);
    assert!(
        out.stderr
            .contains("cites a DSSE attestation, not a signature over the artifact"),
        "{out:?}"
    );
    let log = env.run(&["log", "--ledger", LEDGER]);
    assert!(!log.stdout.contains("firmware-build"), "{log:?}");
}

#[test]
fn sigstore_verify_checks_dsse_bundles_and_reports_the_attestation() {
    let env = setup(&["rekor2-dsse", "wrong-payload-type_fail"]);
    std::fs::copy(vectors().join("artifact"), env.path("fw.img")).unwrap();
    let verify = |case: &str, json: bool| {
        let bundle = format!("{case}.sigstore.json");
        let mut args = vec![
            "sigstore",
            "verify",
            "--bundle",
            &bundle,
            "--artifact",
            "fw.img",
            "--trusted-root",
            "trusted_root.json",
            "--identity",
            IDENTITY,
            "--issuer",
            ISSUER,
        ];
        if json {
            args.push("--json");
        }
        env.run(&args)
    };
    let out = verify("rekor2-dsse", false);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("ok   signature                DSSE signature over the envelope's PAE")
            && out.stdout.contains("ok   statement                in-toto statement, subject \"facegate-4.2.0-fg3.img\"; https://slsa.dev/provenance/v1: builder https://github.com/actions/runner/github-hosted"),
        "{}",
        out.stdout
    );
    let out = verify("rekor2-dsse", true);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        report["attestation"]["provenance"]["source_ref"],
        "refs/tags/v4.2.0"
    );
    assert_eq!(
        report["attestation"]["predicate_type"],
        "https://slsa.dev/provenance/v1"
    );
    let out = verify("wrong-payload-type_fail", false);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("FAIL statement"), "{}", out.stdout);
}

/// A CI job signs a build citing both its release signature and its attestation (different
/// signers); the vendor registers it with both bundles as documents, re-verifying each.
#[test]
fn a_build_signed_apart_with_signature_and_attestation_is_registered_with_both() {
    let env = setup(&["gh-attestation", "sct-extensions-rekor1"]);
    let args = vec![
        "sign",
        "firmware-build",
        "fw-a.toml",
        "--key",
        common::KEY,
        "--issuer",
        "Aurelis",
        "--subject",
        "FaceGate 3D 4.2.0",
        "--iat",
        "1773139800",
        "--out",
        "fw.cose",
        "--sigstore-bundle",
        "sct-extensions-rekor1.sigstore.json",
        "--trusted-root",
        "trusted_root.json",
        "--identity",
        IDENTITY,
        "--oidc-issuer",
        ISSUER,
        "--attestation",
        "gh-attestation.sigstore.json",
        "--attestation-identity",
        IDENTITY,
        "--attestation-issuer",
        ISSUER,
    ];
    let out = env.run(&args);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("note: the statement cites 2 Sigstore documents"),
        "{out:?}"
    );
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("keys.example/release-engineer.key.pub"),
        env.path("release.pub"),
    )
    .unwrap();
    env.run(&[
        "signer",
        "add",
        "--kinds",
        "firmware-build",
        "--key",
        "release.pub",
        "--ledger",
        LEDGER,
    ])
    .ok();
    let register = |extra: &[&str]| {
        let mut a = vec![
            "register",
            "fw.cose",
            "--ledger",
            LEDGER,
            "--trusted-root",
            "trusted_root.json",
            "--document",
            "sct-extensions-rekor1.sigstore.json",
        ];
        a.extend_from_slice(extra);
        env.run(&a)
    };
    // Without the attestation's bytes: refused, nothing written.
    let out = register(&[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("which this call does not carry"),
        "{out:?}"
    );
    assert!(env.log().is_empty());
    let out = register(&["--document", "gh-attestation.sigstore.json"]);
    assert_eq!(out.code, 0, "{out:?}");
    env.audit_ok();
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    trust(&env, "refs/tags/v*");
    let v = bundle_and_verify(&env);
    assert_eq!(v.code, 0, "{v:?}");
    assert!(
        v.stdout.contains("ok   sigstore    sigstore:"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout.contains("ok   sigstore    attestation:"),
        "{}",
        v.stdout
    );
}
