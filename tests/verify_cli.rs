//! `evledger verify` driven as a buyer drives it: JSON when an input cannot be used, and the
//! files the buyer holds checked against the bundle.

mod common;

use common::{Env, INPUT, LEDGER};
use serde_json::Value as J;

/// A ledger with one firmware build, exported to `b.cbor`, and its trust file `t.toml`.
fn exported() -> Env {
    let env = Env::new();
    env.init();
    env.record(INPUT, 100).ok();
    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    env.run(&["trust", "init", "--out", "t.toml", "--ledger", LEDGER])
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
    assert_eq!(v.as_object().unwrap().len(), 3);
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
