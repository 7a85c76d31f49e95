//! `evledger bundle --export-decision` and `--deployment` refuse entries of another kind, and
//! `--all` cannot be combined with them. (The audit bundles themselves are made and verified by
//! the walkthrough, tests/walkthrough.rs.)

mod common;
use common::*;

#[test]
fn audit_bundles_name_an_entry_of_their_kind() {
    let env = Env::new();
    env.init();
    let out = env.record(INPUT, 1_770_000_000);
    assert_eq!(out.code, 0, "{out:?}");
    for (flag, kind) in [
        ("--export-decision", "an export-decision"),
        ("--deployment", "a deployment-record"),
    ] {
        let out = env.run(&["bundle", flag, "0", "--out", "b.cbor", "--ledger", LEDGER]);
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(
            out.stderr,
            format!("error: {flag} 0: entry 0: is a firmware-build, not {kind}\n"),
            "{out:?}"
        );
        assert!(!env.path("b.cbor").exists());
    }
    let out = env.run(&[
        "bundle",
        "--all",
        "--export-decision",
        "0",
        "--out",
        "b.cbor",
        "--ledger",
        LEDGER,
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("the argument '--all' cannot be used with '--export-decision <ENTRY>'"),
        "{out:?}"
    );
}
