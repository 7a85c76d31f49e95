//! `evledger verify` driven as a buyer drives it: JSON when an input cannot be used, and the
//! files the buyer holds checked against the bundle.

mod common;

use common::{Env, INPUT, LEDGER};
use serde_json::Value as J;

/// A ledger with one firmware build, exported to `b.cbor`, and its trust file `t.toml`.
fn exported() -> Env {
    export(Env::new())
}

/// Records `INPUT` as the environment holds it, exports the ledger to `b.cbor`, and writes the
/// trust file `t.toml` pinning the release key for firmware builds.
fn export(env: Env) -> Env {
    env.init();
    env.record(INPUT, 100).ok();
    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    let role = common::release_role();
    env.run(&[
        "trust", "init", "--out", "t.toml", "--role", &role, "--ledger", LEDGER,
    ])
    .ok();
    env
}

fn json(stdout: &str) -> J {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout:?}"))
}

#[test]
fn json_reports_an_unusable_trust_file_as_a_json_object_with_exit_code_2() {
    let env = exported();
    env.write("bad.toml", "version = 1\n[log\n");
    let out = env.run(&["verify", "b.cbor", "--trust", "bad.toml", "--json"]);
    assert_eq!(out.code, 2, "{out:?}");
    let v = json(&out.stdout);
    assert_eq!(v["verdict"], "unusable-trust-file");
    assert_eq!(v["file"], "bad.toml");
    let error = v["error"].as_str().unwrap();
    assert!(error.starts_with("bad.toml: "), "{error}");
    assert!(out.stderr.contains(error), "{out:?}");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v.as_object().unwrap().len(), 4);
    // Without --json, stdout stays empty.
    let out = env.run(&["verify", "b.cbor", "--trust", "bad.toml"]);
    assert_eq!((out.code, out.stdout.as_str()), (2, ""));
}

#[test]
fn json_reports_an_unreadable_bundle_as_a_json_object_with_exit_code_3() {
    let env = exported();
    let out = env.run(&["verify", "missing.cbor", "--trust", "t.toml", "--json"]);
    assert_eq!(out.code, 3, "{out:?}");
    let v = json(&out.stdout);
    assert_eq!(v["verdict"], "invalid-bundle");
    assert_eq!(v["file"], "missing.cbor");
    assert!(
        v["error"].as_str().unwrap().starts_with("missing.cbor: "),
        "{v}"
    );
    // A bundle that reads but does not parse gets the full report, with the same verdict.
    env.write("junk.cbor", "not cbor");
    let out = env.run(&["verify", "junk.cbor", "--trust", "t.toml", "--json"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(json(&out.stdout)["verdict"], "invalid-bundle");
}

const FW: &str = "FaceGate 4.2.0 firmware image\n";
const SBOM: &str = "{\"bomFormat\": \"CycloneDX\"}\n";

/// A ledger whose firmware build describes `fw.img` (as its first artifact, with `size`) and
/// `sbom.json` (by digest only), exported to `b.cbor` with its trust file `t.toml`.
fn exported_describing(fw_size: usize) -> Env {
    let env = Env::new();
    env.write("fw.img", FW);
    env.write("sbom.json", SBOM);
    let input = std::fs::read_to_string(env.path(INPUT))
        .unwrap()
        .replace(
            "9a1f4c0e7b2d3c58e6f0a9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b",
            &common::sha256_hex(FW.as_bytes()),
        )
        .replace("size = 48234496", &format!("size = {fw_size}"))
        .replace(
            "5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
            &common::sha256_hex(SBOM.as_bytes()),
        );
    env.write(INPUT, &input);
    export(env)
}

fn artifact_checks(v: &J) -> Vec<J> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["step"] == "artifact")
        .cloned()
        .collect()
}

#[test]
fn held_firmware_and_document_match_the_entries_that_describe_them() {
    let env = exported_describing(FW.len());
    let args = [
        "verify",
        "b.cbor",
        "--trust",
        "t.toml",
        "--integrity-only",
        "--artifact",
        "fw.img",
        "--artifact",
        "sbom.json",
    ];
    let out = env.run(&args);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(
            "  ok   artifact    artifacts[0].sha256: fw.img: SHA-256 and size match the firmware build artifact of entry 0 (firmware-build)"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "  ok   artifact    sbom[0].sha256: sbom.json: SHA-256 matches the document of entry 0 (firmware-build)"
        ),
        "{}",
        out.stdout
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let v = json(&env.run(&json_args).stdout);
    assert_eq!(v["verdict"], "verified");
    let checks = artifact_checks(&v);
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[0]["entry"], 0);
    assert_eq!(checks[0]["field"], "artifacts[0].sha256");
    assert_eq!(checks[0]["outcome"], "pass");
}

#[test]
fn a_held_file_of_another_size_than_the_entry_says_fails() {
    let env = exported_describing(FW.len() + 1);
    let out = env.run(&[
        "verify",
        "b.cbor",
        "--trust",
        "t.toml",
        "--artifact",
        "fw.img",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.starts_with("VERIFICATION FAILED"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "FAIL artifact    artifacts[0].sha256: fw.img: the file you hold has the SHA-256 of the firmware build artifact of entry 0, but is {} bytes where the entry says {}",
            FW.len(),
            FW.len() + 1
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn a_held_file_no_entry_describes_fails_verification() {
    let env = exported_describing(FW.len());
    env.write("other.img", "not the firmware\n");
    let out = env.run(&[
        "verify",
        "b.cbor",
        "--trust",
        "t.toml",
        "--integrity-only",
        "--artifact",
        "fw.img",
        "--artifact",
        "other.img",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains(
            "  other.img: the file you hold is not any firmware build or document in this bundle"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("b.cbor: verification failed (1 failed checks)"),
        "{out:?}"
    );
    // A file that cannot be read is an unusable input, before any report.
    let out = env.run(&[
        "verify",
        "b.cbor",
        "--trust",
        "t.toml",
        "--artifact",
        "gone.img",
        "--json",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(json(&out.stdout)["verdict"], "unusable-artifact");
}

#[test]
fn without_a_profile_verify_fails_as_not_judged_unless_integrity_only() {
    let env = exported_describing(FW.len());
    let out = env.run(&["verify", "b.cbor", "--trust", "t.toml"]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        out.stdout.starts_with("POLICY NOT MET: 1 entries, "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "  policy: not judged: no policy profile is named by the trust file, so no claim was judged; name profiles in the trust file (profiles = [...]), or ask for integrity only (--integrity-only) to check signatures, proofs, roles and references alone\n"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stderr,
        "error: b.cbor: policy not met (1 failed checks)\n"
    );

    let out = env.run(&["verify", "b.cbor", "--trust", "t.toml", "--integrity-only"]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut lines = out.stdout.lines();
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("VERIFIED (INTEGRITY ONLY): 1 entries, ")),
        "{}",
        out.stdout
    );
    assert_eq!(
        lines.next(),
        Some(
            "integrity only: signatures, proofs, roles and references were checked; no claim was judged against any rule"
        )
    );
    let v = json(
        &env.run(&[
            "verify",
            "b.cbor",
            "--trust",
            "t.toml",
            "--integrity-only",
            "--json",
        ])
        .stdout,
    );
    assert_eq!(v["verdict"], "verified");
    assert_eq!(v["integrity_only"], true);
    assert_eq!(v["judged"], serde_json::json!([]));
}
