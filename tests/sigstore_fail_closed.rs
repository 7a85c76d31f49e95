//! Without the `sigstore` feature, a firmware build citing a Sigstore bundle is never reported as
//! verified: `verify` fails closed, and `record` refuses to cite a bundle it cannot check.
#![cfg(not(feature = "sigstore"))]

mod common;

use common::{Env, LEDGER, sha256_hex};
use evledger::evidence::{Evidence, InputFormat};
use evledger::ledger::{Ledger, Signer};

/// The example build citing `bundle` (any bytes: this build cannot check them anyway).
fn citing_build(env: &Env, bundle: &[u8]) -> String {
    let mut fw = std::fs::read_to_string(env.path("fw.toml")).unwrap();
    fw.push_str(&format!(
        "\n[sigstore]\nbundle_sha256 = \"{}\"\ntrusted_root_sha256 = \"{}\"\nartifact = \"facegate-4.2.0-fg3.img\"\nidentity = \"https://github.com/acme/fw/.github/workflows/release.yml@refs/heads/main\"\nissuer = \"https://token.actions.githubusercontent.com\"\n",
        sha256_hex(bundle),
        "ab".repeat(32)
    ));
    fw
}

#[test]
fn verify_fails_closed_without_the_feature() {
    verify_fails_closed_for("sigstore");
}

#[test]
fn an_attestation_fails_closed_without_the_feature() {
    verify_fails_closed_for("attestation");
}

/// A build citing a bundle in its `table` (`sigstore` or `attestation`) is never verified here.
fn verify_fails_closed_for(table: &str) {
    let env = Env::new();
    env.init();
    let bundle = br#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}"#.to_vec();
    let fw = citing_build(&env, &bundle).replace("[sigstore]", &format!("[{table}]"));
    // The library records it (the field is data); only checking it needs the feature.
    let mut ledger = Ledger::open(&env.path(LEDGER)).unwrap();
    let key = evledger::keys::read_signing_key(&env.path(common::KEY)).unwrap();
    let evidence = Evidence::from_input("firmware-build", &fw, InputFormat::Toml).unwrap();
    let signer = Signer {
        key: &key,
        issuer: "Aurelis",
        subject: "FaceGate 3D 4.2.0",
        x5chain: vec![],
    };
    ledger
        .record_with_documents(&evidence, &signer, 1773139800, vec![bundle])
        .unwrap();
    drop(ledger);
    env.audit_ok();
    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    let role = common::release_role();
    env.run(&[
        "trust",
        "init",
        "--ledger",
        LEDGER,
        "--out",
        "trust.toml",
        "--role",
        &role,
    ])
    .ok();
    let v = env.run(&[
        "verify",
        "b.cbor",
        "--trust",
        "trust.toml",
        "--integrity-only",
    ]);
    assert_eq!(v.code, 1, "{v:?}");
    assert!(
        v.stdout.contains(
            &format!("FAIL sigstore    {table}: not checked: this build of evledger was compiled without Sigstore support")
        ),
        "{}",
        v.stdout
    );
    assert!(!v.stdout.contains("VERIFIED"), "{}", v.stdout);
}

#[test]
fn record_refuses_a_citation_it_cannot_check() {
    let env = Env::new();
    env.init();
    env.write("cites.toml", &citing_build(&env, b"x"));
    let out = env.record("cites.toml", 1773139800);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("this build of evledger was compiled without Sigstore support"),
        "{}",
        out.stderr
    );
    assert!(env.log().is_empty());
}
