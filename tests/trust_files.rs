//! A trust file is parsed from text, with the files it names read through the caller's function:
//! the verifier reads no file itself. The command line reads them relative to the trust file.

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::Env;
use evledger::trust::{TrustError, TrustFile};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// keys.example/buyer.trust.toml's text.
fn buyer_trust() -> String {
    std::fs::read_to_string(repo("keys.example/buyer.trust.toml")).unwrap()
}

/// The files buyer.trust.toml names, by the names it writes.
fn named_files() -> Named {
    [
        (
            "accreditation-root-ca.pem",
            "keys.example/accreditation-root-ca.pem",
        ),
        (
            "../specs/profiles/pad-ibeta-level2.toml",
            "specs/profiles/pad-ibeta-level2.toml",
        ),
        (
            "../specs/profiles/incident-gdpr-art33.toml",
            "specs/profiles/incident-gdpr-art33.toml",
        ),
        (
            "../specs/profiles/incident-cra-art14.toml",
            "specs/profiles/incident-cra-art14.toml",
        ),
    ]
    .into_iter()
    .map(|(name, rel)| (name.to_owned(), std::fs::read(repo(rel)).unwrap()))
    .collect()
}

/// Files by name.
type Named = BTreeMap<String, Vec<u8>>;

fn parse(text: &str, files: &Named) -> Result<TrustFile, TrustError> {
    TrustFile::parse(text, "buyer.toml", &|name: &str| {
        files
            .get(name)
            .cloned()
            .ok_or_else(|| format!("{name}: no such file"))
    })
}

#[test]
fn every_named_file_comes_from_the_reader_by_its_written_name() {
    let files = named_files();
    let asked = RefCell::new(Vec::new());
    let trust = TrustFile::parse(&buyer_trust(), "buyer.toml", &|name: &str| {
        asked.borrow_mut().push(name.to_owned());
        files
            .get(name)
            .cloned()
            .ok_or_else(|| format!("{name}: no such file"))
    })
    .expect("the example trust file parses");
    let mut asked = asked.into_inner();
    asked.sort();
    assert_eq!(asked, files.keys().cloned().collect::<Vec<_>>());
    assert_eq!(trust.name, "buyer.toml");
    let ids: Vec<&str> = trust.profiles.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "pad-ibeta-level2",
            "incident-gdpr-art33",
            "incident-cra-art14"
        ]
    );
    let lab = trust
        .roles
        .iter()
        .find(|r| r.name == "lab")
        .expect("lab role");
    assert_eq!(lab.x509_roots.len(), 1);
    // The iBeta PAD operator is pinned by its key, not trusted through the accreditation root
    // that also certifies other labs: the PAD profile names this role as the scheme's operator.
    let operator = trust
        .roles
        .iter()
        .find(|r| r.name == "ibeta-pad")
        .expect("ibeta-pad role");
    let pinned = evledger::keys::read_verifying_key(&repo("keys.example/ibeta-example.key.pub"))
        .expect("example operator key");
    assert_eq!(
        (operator.keys.as_slice(), operator.x509_roots.len()),
        (&[pinned][..], 0)
    );
}

#[test]
fn sigstore_trusted_roots_are_pinned_by_name_and_digest() {
    let mut files = named_files();
    files.insert("root.json".into(), b"{\"the\": \"trusted root\"}".to_vec());
    let text = format!(
        "{}\n[sigstore]\ntrusted_roots = [\"root.json\"]\n",
        buyer_trust()
    );
    let trust = parse(&text, &files).expect("parses");
    assert_eq!(trust.sigstore_roots.len(), 1);
    let root = &trust.sigstore_roots[0];
    assert_eq!(root.name, "root.json");
    assert_eq!(root.bytes, files["root.json"]);
    assert_eq!(
        evledger::hex::encode(&root.sha256),
        common::sha256_hex(&files["root.json"])
    );
}

#[test]
fn a_named_file_that_is_missing_or_wrong_is_refused_with_field_and_name() {
    let text = buyer_trust();
    let refused = |edit: &dyn Fn(&mut Named)| {
        let mut files = named_files();
        edit(&mut files);
        parse(&text, &files)
            .expect_err("trust file must be refused")
            .to_string()
    };
    assert_eq!(
        refused(&|f| {
            f.remove("accreditation-root-ca.pem");
        }),
        "buyer.toml: roles[2].x509_roots[0]: accreditation-root-ca.pem: no such file"
    );
    assert_eq!(
        refused(&|f| {
            f.remove("../specs/profiles/incident-gdpr-art33.toml");
        }),
        "buyer.toml: profiles[1]: ../specs/profiles/incident-gdpr-art33.toml: no such file"
    );
    assert_eq!(
        refused(&|f| {
            f.insert(
                "../specs/profiles/pad-ibeta-level2.toml".into(),
                b"format = \"evledger-profile/2\"\nid = \"p\"\nversion = \"1\"\ntitle = \"t\"\nrule = []\n".to_vec(),
            );
        }),
        "buyer.toml: profiles[0]: ../specs/profiles/pad-ibeta-level2.toml: format: \"evledger-profile/2\" is not \"evledger-profile/1\""
    );
    assert!(
        refused(&|f| {
            f.insert(
                "accreditation-root-ca.pem".into(),
                b"not a certificate".to_vec(),
            );
        })
        .starts_with("buyer.toml: roles[2].x509_roots[0]: accreditation-root-ca.pem: ")
    );
    assert!(
        refused(&|f| {
            f.insert("accreditation-root-ca.pem".into(), vec![0xff, 0xfe]);
        })
        .starts_with(
            "buyer.toml: roles[2].x509_roots[0]: accreditation-root-ca.pem: not UTF-8 text"
        )
    );
}

#[test]
fn the_cli_reads_named_files_beside_the_trust_file_and_names_what_is_missing() {
    let env = Env::new();
    let bundle = repo("tests/fixtures/legacy-0.1/claim-level2.bundle.cbor");
    let bundle = bundle.to_str().unwrap();
    // The example trust file, copied away from the files it names.
    env.write("buyer.trust.toml", &buyer_trust());
    let out = env.run(&["verify", bundle, "--trust", "buyer.trust.toml"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: buyer.trust.toml: roles[2].x509_roots[0]: accreditation-root-ca.pem: No such file or directory (os error 2)\n"
    );
    // With them beside it, relative to the trust file (not to the working directory).
    std::fs::create_dir_all(env.path("buyer/profiles")).unwrap();
    std::fs::copy(
        repo("keys.example/accreditation-root-ca.pem"),
        env.path("buyer/accreditation-root-ca.pem"),
    )
    .unwrap();
    for p in ["pad-ibeta-level2.toml", "incident-gdpr-art33.toml"] {
        // The profiles as they were when the 0.1.0 bundle was issued.
        std::fs::copy(
            repo(&format!("tests/fixtures/legacy-0.1/profiles/{p}")),
            env.path(&format!("buyer/profiles/{p}")),
        )
        .unwrap();
    }
    // The CRA profile came later; no incident of the 0.1.0 bundle falls under it.
    std::fs::copy(
        repo("specs/profiles/incident-cra-art14.toml"),
        env.path("buyer/profiles/incident-cra-art14.toml"),
    )
    .unwrap();
    env.write(
        "buyer/buyer.trust.toml",
        &buyer_trust().replace("../specs/profiles/", "profiles/"),
    );
    let out = env.run(&["verify", bundle, "--trust", "buyer/buyer.trust.toml"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("VERIFIED: "), "{out:?}");
    // An unreadable trust file itself: its path and the cause.
    let out = env.run(&["verify", bundle, "--trust", "nope.toml"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: nope.toml: No such file or directory (os error 2)\n"
    );
}
