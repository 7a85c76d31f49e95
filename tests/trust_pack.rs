//! `evledger trust pack`: a trust file with the files it names carried in it verifies exactly as
//! the original, with no other file; a packed file that was edited, carries a file nothing names,
//! or is packed from a trust file whose named file is missing, is refused with a clear message.

mod common;

use std::path::Path;

use common::{BIN, root};
use evledger::trust::TrustFile;

const BUNDLES: [&str; 2] = [
    "tests/fixtures/legacy-0.1/claim-level2.bundle.cbor",
    "tests/fixtures/legacy-0.1/claim-level3.bundle.cbor",
];

fn evledger(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("EVLEDGER_DIR")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The parsed packed file, with a reader that gives no file at all.
fn parse_alone(text: &str) -> Result<TrustFile, String> {
    TrustFile::parse(text, "packed.toml", &|n: &str| {
        Err(format!("{n}: not given"))
    })
    .map_err(|e| e.to_string())
}

#[test]
fn a_packed_trust_file_verifies_every_example_bundle_as_the_original_with_no_other_file() {
    let dir = tempfile::tempdir().unwrap();
    let trust = root().join("keys.example/buyer-certified.trust.toml");
    let out = evledger(
        dir.path(),
        &[
            "trust",
            "pack",
            trust.to_str().unwrap(),
            "--out",
            "packed.toml",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("7 file(s)"),
        "{}",
        text(&out.stderr)
    );
    let packed = std::fs::read_to_string(dir.path().join("packed.toml")).unwrap();
    let packed_text = packed.clone();
    assert_eq!(packed.matches("\n[[files]]\n").count(), 7, "{packed}");
    let alone = parse_alone(&packed).expect("the packed file needs no other file");
    assert_eq!(alone.profiles.len(), 5);
    assert_eq!(
        alone
            .roles
            .iter()
            .map(|r| r.x509_roots.len())
            .sum::<usize>(),
        2
    );
    // Alone in a directory of its own, it verifies each bundle as the original does beside its
    // files; the reports differ in nothing.
    for bundle in BUNDLES {
        let bundle = root().join(bundle);
        let bundle = bundle.to_str().unwrap();
        let args = |t: &str| {
            [
                "verify",
                bundle,
                "--trust",
                t,
                "--json",
                "--time",
                "1800000000",
            ]
            .map(str::to_owned)
        };
        let original = evledger(
            dir.path(),
            &args(trust.to_str().unwrap()).each_ref().map(String::as_str),
        );
        let packed = evledger(
            dir.path(),
            &args("packed.toml").each_ref().map(String::as_str),
        );
        assert_eq!(original.status.code(), packed.status.code(), "{bundle}");
        assert!(
            matches!(original.status.code(), Some(0 | 4)),
            "{}",
            text(&original.stderr)
        );
        // The reports differ only in the trust file's own digest: the profiles' are the same.
        let report = |out: &std::process::Output| -> serde_json::Value {
            serde_json::from_slice(&out.stdout).expect("a JSON report")
        };
        let (mut original, mut packed_report) = (report(&original), report(&packed));
        assert_eq!(
            packed_report["trust_file_sha256"],
            common::sha256_hex(packed_text.as_bytes()).as_str()
        );
        assert!(
            original["profiles"]
                .as_array()
                .is_some_and(|p| p.len() == 5)
        );
        original["trust_file_sha256"].take();
        packed_report["trust_file_sha256"].take();
        assert_eq!(original, packed_report, "{bundle}");
    }
    // Packing a packed file adds nothing and changes nothing.
    let again = evledger(
        dir.path(),
        &["trust", "pack", "packed.toml", "--out", "again.toml"],
    );
    assert!(again.status.success(), "{}", text(&again.stderr));
    let again = std::fs::read_to_string(dir.path().join("again.toml")).unwrap();
    assert_eq!(again.trim_end(), packed.trim_end());
}

#[test]
fn packed_text_reads_back_byte_for_byte() {
    // Quotes, a run of three, backslashes, tabs, CR LF, a control character, non-ASCII text and
    // a quote at the very end: the Sigstore trusted root's bytes are kept as read, and hashed.
    let awkward = "{\"a\": \"\\\"\"\"\" \\\\ x\ty\r\nz\u{1}\u{85} Zürich – 指纹\"\n\"";
    let dir = tempfile::tempdir().unwrap();
    let trust = std::fs::read_to_string(root().join("keys.example/buyer.trust.toml")).unwrap();
    let trust = format!(
        "{}\n[sigstore]\ntrusted_roots = [\"sigstore/trusted root.json\"]\n",
        trust.replace("\"../specs/profiles/", "\"")
    );
    std::fs::write(dir.path().join("t.toml"), &trust).unwrap();
    for f in [
        "pad-ibeta-level2.toml",
        "incident-gdpr-art33.toml",
        "incident-cra-art14.toml",
    ] {
        std::fs::copy(root().join("specs/profiles").join(f), dir.path().join(f)).unwrap();
    }
    std::fs::copy(
        root().join("keys.example/accreditation-root-ca.pem"),
        dir.path().join("accreditation-root-ca.pem"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sigstore")).unwrap();
    std::fs::write(dir.path().join("sigstore/trusted root.json"), awkward).unwrap();
    let out = evledger(dir.path(), &["trust", "pack", "t.toml", "--out", "p.toml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let packed = std::fs::read_to_string(dir.path().join("p.toml")).unwrap();
    let alone = parse_alone(&packed).unwrap();
    assert_eq!(alone.sigstore_roots.len(), 1);
    assert_eq!(alone.sigstore_roots[0].name, "sigstore/trusted root.json");
    assert_eq!(alone.sigstore_roots[0].bytes, awkward.as_bytes());
}

#[test]
fn a_missing_named_file_stops_packing_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // The trust file alone: the profiles and the root it names are not beside it.
    std::fs::copy(
        root().join("keys.example/buyer.trust.toml"),
        dir.path().join("buyer.trust.toml"),
    )
    .unwrap();
    let out = evledger(
        dir.path(),
        &["trust", "pack", "buyer.trust.toml", "--out", "packed.toml"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("buyer.trust.toml: roles[2].x509_roots[0]: ")
            && err.contains("accreditation-root-ca.pem: No such file"),
        "{err}"
    );
    assert!(
        err.contains("hint: every file the trust file names"),
        "{err}"
    );
    assert!(!dir.path().join("packed.toml").exists());
}

#[test]
fn an_existing_out_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("packed.toml"), "keep").unwrap();
    let trust = root().join("keys.example/buyer.trust.toml");
    let out = evledger(
        dir.path(),
        &[
            "trust",
            "pack",
            trust.to_str().unwrap(),
            "--out",
            "packed.toml",
        ],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("packed.toml: file exists"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("packed.toml")).unwrap(),
        "keep"
    );
}

/// The example trust file, packed, as text.
fn packed_example() -> String {
    let dir = tempfile::tempdir().unwrap();
    let trust = root().join("keys.example/buyer.trust.toml");
    let out = evledger(
        dir.path(),
        &["trust", "pack", trust.to_str().unwrap(), "--out", "p.toml"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::read_to_string(dir.path().join("p.toml")).unwrap()
}

#[test]
fn an_edited_packed_file_is_refused_naming_the_file_and_its_digest() {
    let packed = packed_example();
    assert!(packed.contains("BEGIN CERTIFICATE"));
    // One character of the carried certificate changed.
    let edited = packed.replacen(
        "BEGIN CERTIFICATE-----\nMII",
        "BEGIN CERTIFICATE-----\nMIJ",
        1,
    );
    assert_ne!(edited, packed);
    let err = parse_alone(&edited).unwrap_err();
    assert!(
        err.starts_with(
            "packed.toml: files[0].sha256: \"accreditation-root-ca.pem\": the text's SHA-256 is "
        ) && err.ends_with("not the one recorded; the file was changed after it was packed"),
        "{err}"
    );
    let bad_hex = packed.replacen("sha256 = \"", "sha256 = \"zz", 1);
    let err = parse_alone(&bad_hex).unwrap_err();
    assert_eq!(
        err,
        "packed.toml: files[0].sha256: not 64 hex digits of a SHA-256"
    );
}

#[test]
fn a_carried_file_that_nothing_names_or_one_carried_twice_is_refused() {
    let packed = packed_example();
    let first = &packed[packed.find("\n[[files]]\n").unwrap()..];
    let first = &first[..first[1..]
        .find("\n[[files]]\n")
        .map_or(first.len(), |i| i + 1)];
    // Carried twice.
    let twice = format!("{packed}{first}");
    let err = parse_alone(&twice).unwrap_err();
    assert!(
        err.contains("files[4].name: \"accreditation-root-ca.pem\" is carried twice"),
        "{err}"
    );
    // Carried, but named by no field: it would seem to apply and would not.
    let unnamed = format!(
        "{packed}{}",
        first.replace(
            "name = \"accreditation-root-ca.pem\"",
            "name = \"other.pem\""
        )
    );
    let err = parse_alone(&unnamed).unwrap_err();
    assert!(
        err.contains("files[4].name: \"other.pem\" is not named by profiles, roles[].x509_roots or sigstore.trusted_roots"),
        "{err}"
    );
}
