//! Firmware builds that cite a Sigstore bundle: `record` verifies before citing, `bundle`
//! attaches the kept bundle, `verify` re-checks it against the trust file's pinned trusted root.
#![cfg(feature = "sigstore")]

mod common;

use common::{Env, LEDGER, sha256_hex};
use evledger::bundle::{Bundle, BundleLimits};

const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const FIRST_ARTIFACT: &str = "9a1f4c0e7b2d3c58e6f0a9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b";

fn vectors() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sigstore")
}

/// A ledger, the example build with its first artifact replaced by a.txt (what the Sigstore
/// conformance bundles sign), the production trusted root and the named cases' bundles.
fn setup(cases: &[&str]) -> Env {
    let env = Env::new();
    env.init();
    let a = std::fs::read(vectors().join("a.txt")).unwrap();
    let fw = std::fs::read_to_string(env.path("fw.toml"))
        .unwrap()
        .replace(FIRST_ARTIFACT, &sha256_hex(&a))
        .replace("size = 48234496", &format!("size = {}", a.len()));
    env.write("fw-a.toml", &fw);
    std::fs::copy(
        vectors().join("production_trusted_root.json"),
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

fn record(env: &Env, input: &str, case: &str, extra: &[&str]) -> common::Out {
    let bundle = format!("{case}.sigstore.json");
    let mut args = Env::record_args(input, "1773139800");
    args.extend([
        "--sigstore-bundle",
        &bundle,
        "--trusted-root",
        "trusted_root.json",
        "--identity",
        IDENTITY,
        "--oidc-issuer",
        ISSUER,
    ]);
    args.extend(extra);
    env.run(&args)
}

/// `trust init` plus the pinned trusted root.
fn trust(env: &Env, pin: bool) {
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
    if pin {
        let mut t = std::fs::read_to_string(env.path("trust.toml")).unwrap();
        t.push_str("\n[sigstore]\ntrusted_roots = [\"trusted_root.json\"]\n");
        env.write("trust.toml", &t);
    }
}

#[test]
fn a_cosigned_build_round_trips_through_bundle_and_verify() {
    let env = setup(&["happy-path-v0.3"]);
    let out = record(&env, "fw-a.toml", "happy-path-v0.3", &[]);
    out.ok();
    assert!(
        out.stderr
            .contains("verified over artifact facegate-4.2.0-fg3.img"),
        "{out:?}"
    );
    let show = env.run(&["show", "0", "--ledger", LEDGER]);
    let bundle_sha = sha256_hex(&std::fs::read(env.path("happy-path-v0.3.sigstore.json")).unwrap());
    assert!(
        show.ok().contains(&format!(
            "sigstore          bundle {bundle_sha} over facegate-4.2.0-fg3.img"
        )),
        "{show:?}"
    );
    assert!(
        show.stdout
            .contains(&format!("    signed by       {IDENTITY}"))
    );
    env.audit_ok();

    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    let b = Bundle::parse(
        &std::fs::read(env.path("b.cbor")).unwrap(),
        &BundleLimits::default(),
    )
    .unwrap();
    assert!(b.attachments.contains_key(&bundle_sha));

    trust(&env, true);
    let v = env.run(&[
        "verify",
        "b.cbor",
        "--trust",
        "trust.toml",
        "--integrity-only",
    ]);
    assert_eq!(v.code, 0, "{v:?}");
    assert!(
        v.stdout.contains("ok   sigstore    sigstore.inclusion:"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout.contains(&format!(
            "Sigstore bundle {bundle_sha} signs artifact facegate-4.2.0-fg3.img"
        )),
        "{}",
        v.stdout
    );
}

#[test]
fn the_sigstore_check_needs_the_current_time_from_the_caller() {
    use evledger::verify::{Outcome, Step, Verdict, VerifyOptions, verify_bundle_with};

    let env = setup(&["happy-path-v0.3"]);
    record(&env, "fw-a.toml", "happy-path-v0.3", &[]).ok();
    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    trust(&env, true);
    let trust = evledger::cli::trust_file::load(&env.path("trust.toml")).expect("trust file");
    let bytes = std::fs::read(env.path("b.cbor")).unwrap();
    let at = |now: Option<i64>| {
        let options = VerifyOptions {
            now,
            integrity_only: true,
            ..VerifyOptions::default()
        };
        verify_bundle_with(&bytes, &trust, &trust.profiles, &options)
    };
    // The verifier reads no clock: without the time it cannot refuse a signing time in the
    // future, so the check fails as not checked.
    let r = at(None);
    assert_eq!(r.verdict, Verdict::VerificationFailed, "{}", r.render());
    let failed: Vec<_> = r
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .collect();
    assert_eq!(failed.len(), 1, "{}", r.render());
    assert_eq!(failed[0].step, Step::Sigstore);
    assert!(
        failed[0]
            .message
            .starts_with("not checked: the verifier was not given the current time"),
        "{}",
        r.render()
    );
    // Given a time after the signing, it verifies; given one before it, the signing time is in
    // the future.
    let r = at(Some(evledger::cli::now()));
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    let r = at(Some(0));
    assert_eq!(r.verdict, Verdict::VerificationFailed, "{}", r.render());
    assert!(r.render().contains("in the future"), "{}", r.render());
}

#[test]
fn verify_needs_the_trusted_root_pinned_by_the_buyer() {
    let env = setup(&["happy-path-v0.3"]);
    record(&env, "fw-a.toml", "happy-path-v0.3", &[]).ok();
    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    trust(&env, false);
    let v = env.run(&[
        "verify",
        "b.cbor",
        "--trust",
        "trust.toml",
        "--integrity-only",
    ]);
    assert_eq!(v.code, 1, "{v:?}");
    assert!(
        v.stdout
            .contains("FAIL sigstore    sigstore.trusted_root_sha256: the trust file pins no Sigstore trusted root"),
        "{}",
        v.stdout
    );
    // Pinning another trusted root does not help: the entry names the one it was checked with.
    std::fs::copy(
        vectors().join("cases/managed-key-and-trusted-root/trusted_root.json"),
        env.path("trusted_root.json"),
    )
    .unwrap();
    std::fs::remove_file(env.path("trust.toml")).unwrap();
    trust(&env, true);
    let v = env.run(&[
        "verify",
        "b.cbor",
        "--trust",
        "trust.toml",
        "--integrity-only",
    ]);
    assert_eq!(v.code, 1, "{v:?}");
    assert!(
        v.stdout.contains("pins no Sigstore trusted root"),
        "{}",
        v.stdout
    );
}

#[test]
fn a_swapped_sigstore_attachment_fails() {
    let env = setup(&["happy-path-v0.3", "happy-path-v0.1"]);
    record(&env, "fw-a.toml", "happy-path-v0.3", &[]).ok();
    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    trust(&env, true);
    let bytes = std::fs::read(env.path("b.cbor")).unwrap();
    let original = Bundle::parse(&bytes, &BundleLimits::default()).unwrap();

    // Another valid Sigstore bundle, attached under its own digest: not the one the entry cites.
    let other = std::fs::read(env.path("happy-path-v0.1.sigstore.json")).unwrap();
    let mut b = original.clone();
    b.attachments.clear();
    b.attachments.insert(sha256_hex(&other), other.clone());
    std::fs::write(env.path("swapped.cbor"), b.to_cbor()).unwrap();
    let v = env.run(&[
        "verify",
        "swapped.cbor",
        "--trust",
        "trust.toml",
        "--integrity-only",
    ]);
    assert_eq!(v.code, 1, "{v:?}");
    assert!(
        v.stdout
            .contains("no entry in the bundle cites this document's digest"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout
            .contains("FAIL sigstore    sigstore.bundle_sha256: the Sigstore bundle")
            && v.stdout.contains("this build cites is not attached"),
        "{}",
        v.stdout
    );

    // The same bytes under the cited digest: the bundle itself is refused as malformed.
    let mut b = original.clone();
    let key = b.attachments.keys().next().unwrap().clone();
    b.attachments.insert(key, other);
    std::fs::write(env.path("tampered.cbor"), b.to_cbor()).unwrap();
    let v = env.run(&[
        "verify",
        "tampered.cbor",
        "--trust",
        "trust.toml",
        "--integrity-only",
    ]);
    assert_eq!(v.code, 3, "{v:?}");
}

#[test]
fn record_refuses_a_bundle_over_none_of_the_artifacts() {
    let env = setup(&["happy-path-v0.3"]);
    // fw.toml's artifacts are not a.txt.
    let out = record(&env, "fw.toml", "happy-path-v0.3", &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("its message digest is not the SHA-256 of any artifact of the build"),
        "{}",
        out.stderr
    );
    // Naming an artifact does not help: the signature is over a.txt's digest.
    let out = record(
        &env,
        "fw.toml",
        "happy-path-v0.3",
        &["--sigstore-artifact", "facegate-4.2.0-fg3.img"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(
            "the bundle's message digest is not the artifact's SHA-256; nothing was recorded"
        ),
        "{}",
        out.stderr
    );
    assert!(env.log().is_empty());
}

#[test]
fn record_refuses_failing_bundles_and_writes_nothing() {
    let cases = [
        (
            "signature-mismatch_fail",
            "signature: the signature does not verify",
        ),
        ("inclusion-proof-corrupted-hash_fail", "inclusion:"),
    ];
    let env = setup(&cases.map(|(c, _)| c));
    for (case, reason) in cases {
        let out = record(&env, "fw-a.toml", case, &[]);
        assert_eq!(out.code, 1, "{case}: {out:?}");
        assert!(out.stderr.contains(reason), "{case}: {}", out.stderr);
        assert!(
            out.stderr.contains("nothing was recorded"),
            "{case}: {}",
            out.stderr
        );
    }
    // A valid bundle checked with the wrong identity is refused too.
    let env2 = setup(&["happy-path-v0.3"]);
    let bundle = "happy-path-v0.3.sigstore.json";
    let mut args = Env::record_args("fw-a.toml", "1773139800");
    args.extend([
        "--sigstore-bundle",
        bundle,
        "--trusted-root",
        "trusted_root.json",
        "--identity",
        "https://github.com/someone/else",
        "--oidc-issuer",
        ISSUER,
    ]);
    let out = env2.run(&args);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(env.log().is_empty() && env2.log().is_empty());
    env.audit_ok();
}

#[test]
fn a_hand_written_sigstore_table_is_refused() {
    let env = setup(&[]);
    let mut fw = std::fs::read_to_string(env.path("fw-a.toml")).unwrap();
    fw.push_str(&format!(
        "\n[sigstore]\nbundle_sha256 = \"{0}\"\ntrusted_root_sha256 = \"{0}\"\nartifact = \"facegate-4.2.0-fg3.img\"\nidentity = \"x\"\nissuer = \"y\"\n",
        "ab".repeat(32)
    ));
    env.write("hand.toml", &fw);
    let out = env.record("hand.toml", 1773139800);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("--sigstore-bundle was not given"),
        "{}",
        out.stderr
    );
}

/// A CI job signs a build citing its cosign bundle (verified where it is signed); the vendor
/// registers the statement with the bundle as a document and re-verifies it against its pinned
/// trusted root; without either, registration is refused and nothing is written.
#[test]
fn a_build_signed_apart_with_its_sigstore_bundle_is_registered_with_it() {
    let env = setup(&["happy-path-v0.3"]);
    let mut args = vec![
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
    ];
    args.extend([
        "--sigstore-bundle",
        "happy-path-v0.3.sigstore.json",
        "--trusted-root",
        "trusted_root.json",
        "--identity",
        IDENTITY,
        "--oidc-issuer",
        ISSUER,
    ]);
    let out = env.run(&args);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("register it with --document"),
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
        let mut a = vec!["register", "fw.cose", "--ledger", LEDGER];
        a.extend_from_slice(extra);
        env.run(&a)
    };
    let out = register(&["--trusted-root", "trusted_root.json"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("which this call does not carry"),
        "{out:?}"
    );
    let out = register(&["--document", "happy-path-v0.3.sigstore.json"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("which no --trusted-root file is"),
        "{out:?}"
    );
    assert!(env.log().is_empty());
    let out = register(&[
        "--document",
        "happy-path-v0.3.sigstore.json",
        "--trusted-root",
        "trusted_root.json",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    // The ledger keeps the bundle, so a bundle of the build attaches it for the buyer.
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    let b = Bundle::parse(
        &std::fs::read(env.path("b.cbor")).unwrap(),
        &BundleLimits::default(),
    )
    .unwrap();
    let bundle_hash =
        sha256_hex(&std::fs::read(env.path("happy-path-v0.3.sigstore.json")).unwrap());
    assert!(b.attachments.contains_key(&bundle_hash));
}
