//! `evledger verify --time`: the verification time as Unix seconds or RFC 3339, instead of the
//! system clock; a time that is neither is a usage error (exit 2) before anything is read.

mod common;

use common::{BIN, root};

fn verify(args: &[&str]) -> std::process::Output {
    let bundle = root().join("tests/fixtures/legacy-0.1/claim-level2.bundle.cbor");
    let trust = root().join("keys.example/buyer.trust.toml");
    std::process::Command::new(BIN)
        .args([
            "verify",
            bundle.to_str().unwrap(),
            "--trust",
            trust.to_str().unwrap(),
        ])
        .args(args)
        .env_remove("EVLEDGER_DIR")
        .output()
        .unwrap()
}

#[test]
fn the_time_is_given_as_unix_seconds_or_rfc3339_alike() {
    let unix = verify(&["--json", "--time", "1800000000"]);
    let rfc = verify(&["--json", "--time", "2027-01-15T08:00:00Z"]);
    let offset = verify(&["--json", "--time", "2027-01-15T09:00:00+01:00"]);
    assert!(!unix.stdout.is_empty(), "{unix:?}");
    assert_eq!(unix.status.code(), rfc.status.code());
    assert_eq!(unix.stdout, rfc.stdout);
    assert_eq!(rfc.stdout, offset.stdout);
}

#[test]
fn a_time_that_is_neither_is_a_usage_error_naming_the_option() {
    for bad in ["tomorrow", "1.5e9", "2027-13-01T00:00:00Z", ""] {
        let out = verify(&["--json", "--time", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("--time {bad:?}: ")), "{err}");
        assert!(err.contains("hint: give Unix seconds"), "{err}");
        // Nothing was verified: no report.
        assert!(out.stdout.is_empty(), "{bad:?}: {out:?}");
    }
}
