//! Registration: statements signed in other organisations' directories, with their own keys,
//! enter the vendor's ledger through `evledger register`, all or nothing, and only if the
//! registration policy admits their signer (`specs/registration.md`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use base64::Engine as _;
use common::{Env, LEDGER, chmod, norm, sha256_hex};
use ed25519_dalek::SigningKey;
use evledger::evidence::{Evidence, InputFormat};
use evledger::ledger::{Ledger, LedgerError, RegisterOptions, Signer, Submission};
use evledger::store::{RuleSigner, SignerRule, StoreRead};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A directory of its own holding copies of the given example files (keys get mode 0600).
fn org(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (from, to) in files {
        let dest = dir.path().join(to);
        std::fs::copy(root().join(from), &dest).unwrap();
        if to.ends_with(".key") {
            chmod(&dest, 0o600);
        }
    }
    dir
}

fn run_in(dir: &Path, args: &[&str]) -> common::Out {
    std::process::Command::new(common::BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("EVLEDGER_DIR")
        .output()
        .unwrap()
        .into()
}

/// The vendor: a ledger under `L` with the example log key.
fn vendor() -> Env {
    let env = Env::new();
    let key = env.path("log.key");
    std::fs::copy(root().join("keys.example/log.key"), &key).unwrap();
    chmod(&key, 0o600);
    env.run(&[
        "init",
        "--origin",
        "aurelis.example/evidence-log",
        "--log-key",
        "log.key",
        "--ledger",
        LEDGER,
    ])
    .ok();
    env
}

/// A CI job signs a firmware build in its own directory, with no ledger anywhere near it.
fn ci_signs_build(iat: &str) -> (tempfile::TempDir, PathBuf) {
    let ci = org(&[
        ("keys.example/release-engineer.key", "release.key"),
        ("examples/facegate/firmware-4.2.1.toml", "build.toml"),
    ]);
    let out = run_in(
        ci.path(),
        &[
            "sign",
            "firmware-build",
            "build.toml",
            "--key",
            "release.key",
            "--issuer",
            "Aurelis",
            "--subject",
            "FG3 4.2.1",
            "--iat",
            iat,
            "--out",
            "fw-4210.cose",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!ci.path().join(LEDGER).exists() && !ci.path().join("ledger").exists());
    let file = ci.path().join("fw-4210.cose");
    (ci, file)
}

#[test]
fn a_ci_job_and_a_lab_sign_in_their_own_directories_and_the_vendor_registers_both() {
    let v = vendor();
    let (_ci, fw) = ci_signs_build("1800000000");
    let fw_bytes = std::fs::read(&fw).unwrap();

    // The policy does not know the CI key yet: refused, with the operator's command as hint.
    let out = v.run(&["register", fw.to_str().unwrap(), "--ledger", LEDGER]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("unknown signer: no key with kid"),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("evledger signer add --kinds firmware-build --key SIGNER.pub"),
        "{out:?}"
    );
    assert!(v.log().is_empty());

    std::fs::copy(
        root().join("keys.example/release-engineer.key.pub"),
        v.path("release.pub"),
    )
    .unwrap();
    let out = v.run(&[
        "signer",
        "add",
        "--kinds",
        "firmware-build",
        "--key",
        "release.pub",
        "--ledger",
        LEDGER,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = v.run(&["register", fw.to_str().unwrap(), "--ledger", LEDGER]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, format!("{} 0\n", sha256_hex(&fw_bytes)));
    assert_eq!(out.stderr, "registered 1 statement(s)\n");

    // A lab at another company countersigns the build with its own key and certificate.
    let lab = org(&[
        ("keys.example/lab.key", "lab.key"),
        ("keys.example/lab-cert.pem", "lab-cert.pem"),
    ]);
    std::fs::write(
        lab.path().join("cs.toml"),
        format!(
            "target = \"{}\"\nstatement = \"Build as tested\"\n",
            sha256_hex(&fw_bytes)
        ),
    )
    .unwrap();
    let out = run_in(
        lab.path(),
        &[
            "sign",
            "countersignature",
            "cs.toml",
            "--key",
            "lab.key",
            "--cert",
            "lab-cert.pem",
            "--issuer",
            "Kestrel Biometric Test Lab",
            "--subject",
            "countersignature",
            "--iat",
            "1800000200",
            "--out",
            "kbl-build.cose",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let cs = lab.path().join("kbl-build.cose");
    // Admitted through the accreditation body's root, not the lab's key.
    std::fs::copy(
        root().join("keys.example/accreditation-root-ca.pem"),
        v.path("root.pem"),
    )
    .unwrap();
    let out = v.run(&[
        "signer",
        "add",
        "--kinds",
        "countersignature",
        "--x509-root",
        "root.pem",
        "--ledger",
        LEDGER,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = v.run(&["register", cs.to_str().unwrap(), "--ledger", LEDGER]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!("{} 1\n", sha256_hex(&std::fs::read(&cs).unwrap()))
    );
    let list = v.run(&["signer", "list", "--ledger", LEDGER]);
    assert_eq!(
        norm(list.ok()),
        format!(
            "firmware-build key <HASH>\ncountersignature x509-root {}\n",
            subject_of_root()
        )
    );
    v.audit_ok();
}

fn subject_of_root() -> String {
    let pem =
        std::fs::read_to_string(root().join("keys.example/accreditation-root-ca.pem")).unwrap();
    evledger::x509::Certificate::from_pem_chain(&pem).unwrap()[0]
        .subject()
        .to_owned()
}

/// Statements signed by the release key, prepared with the library.
fn signed(key: &SigningKey, kind: &str, input: &str, iat: u64) -> Vec<u8> {
    let evidence = Evidence::from_input(kind, input, InputFormat::Toml).unwrap();
    Signer {
        key,
        issuer: "Aurelis",
        subject: "FG3",
        x5chain: vec![],
    }
    .sign(&evidence, iat)
    .unwrap()
    .bytes
}

fn release_key() -> SigningKey {
    use ed25519_dalek::pkcs8::DecodePrivateKey as _;
    let pem = std::fs::read_to_string(root().join("keys.example/release-engineer.key")).unwrap();
    SigningKey::from_pkcs8_pem(&pem).unwrap()
}

const FW: &str = include_str!("../examples/facegate/firmware-4.2.0.toml");

fn admit(env: &Env) {
    std::fs::copy(
        root().join("keys.example/release-engineer.key.pub"),
        env.path("release.pub"),
    )
    .unwrap();
    env.run(&[
        "signer",
        "add",
        "--kinds",
        "firmware-build,countersignature,key-event",
        "--key",
        "release.pub",
        "--ledger",
        LEDGER,
    ])
    .ok();
}

#[test]
fn a_call_is_all_or_nothing_in_argument_order_and_may_cite_itself() {
    let v = vendor();
    admit(&v);
    let key = release_key();
    let fw = signed(&key, "firmware-build", FW, 10);
    let cs_text = format!(
        "target = \"{}\"\nstatement = \"Endorsed\"\n",
        sha256_hex(&fw)
    );
    let cs = signed(&key, "countersignature", &cs_text, 11);
    let mut broken = signed(&key, "firmware-build", FW, 12);
    let last = broken.len() - 1;
    broken[last] ^= 1; // the signature's last byte
    std::fs::write(v.path("a-fw.cose"), &fw).unwrap();
    std::fs::write(v.path("b-cs.cose"), &cs).unwrap();
    std::fs::write(v.path("c-broken.cose"), &broken).unwrap();

    // A bad third statement: nothing of the call is written, and the message names its file.
    let out = v.run(&[
        "register",
        "a-fw.cose",
        "b-cs.cose",
        "c-broken.cose",
        "--ledger",
        LEDGER,
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with("error: c-broken.cose: signature:"),
        "{out:?}"
    );
    assert!(v.log().is_empty());

    // The citation needs its target first: in the wrong order the call is refused.
    let out = v.run(&["register", "b-cs.cose", "a-fw.cose", "--ledger", LEDGER]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("b-cs.cose: target: entry"), "{out:?}");
    assert!(out.stderr.contains("is not in the ledger"), "{out:?}");

    // A dry run checks everything, prints the indexes they would take, and writes nothing.
    let out = v.run(&[
        "register",
        "a-fw.cose",
        "b-cs.cose",
        "--dry-run",
        "--ledger",
        LEDGER,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(norm(&out.stdout), "<HASH> 0\n<HASH> 1\n");
    assert!(out.stderr.contains("nothing was written"), "{out:?}");
    assert!(v.log().is_empty());

    // A directory is read in file-name order; hidden files are skipped.
    std::fs::create_dir(v.path("batch")).unwrap();
    std::fs::write(v.path("batch/1-fw.cose"), &fw).unwrap();
    std::fs::write(v.path("batch/2-cs.cose"), &cs).unwrap();
    std::fs::write(v.path("batch/.partial"), b"junk").unwrap();
    let out = v.run(&["register", "batch", "--json", "--ledger", LEDGER]);
    assert_eq!(out.code, 0, "{out:?}");
    let j: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(j[0]["entry_hash"], sha256_hex(&fw));
    assert_eq!(j[1]["kind"], "countersignature");
    assert_eq!(v.log().len(), 2);
    v.audit_ok();

    // Registering the same statement again is refused as a duplicate.
    let out = v.run(&["register", "a-fw.cose", "--ledger", LEDGER]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("duplicate statement"), "{out:?}");
}

#[test]
fn bad_input_is_named_and_nothing_is_written() {
    let v = vendor();
    admit(&v);
    v.write("junk.cose", "not a statement");
    let out = v.run(&["register", "junk.cose", "--ledger", LEDGER]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("error: junk.cose: "), "{out:?}");
    let out = v.run(&["register", "missing.cose", "--ledger", LEDGER]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("missing.cose"), "{out:?}");
    // A document no statement cites.
    let fw = signed(&release_key(), "firmware-build", FW, 10);
    std::fs::write(v.path("fw.cose"), &fw).unwrap();
    v.write("stray.json", "{}");
    let out = v.run(&[
        "register",
        "fw.cose",
        "--document",
        "stray.json",
        "--ledger",
        LEDGER,
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("stray.json: no statement of this call cites this document"),
        "{out:?}"
    );
    assert!(v.log().is_empty());
    // A known signer, admitted for other kinds only: the refusal names signer and kind.
    let w = vendor();
    std::fs::copy(
        root().join("keys.example/release-engineer.key.pub"),
        w.path("release.pub"),
    )
    .unwrap();
    w.run(&[
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
    let intro = key_event("introduce", &SigningKey::from_bytes(&[5; 32]), "");
    std::fs::write(
        w.path("ke.cose"),
        signed(&release_key(), "key-event", &intro, 30),
    )
    .unwrap();
    let out = w.run(&["register", "ke.cose", "--ledger", LEDGER]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        norm(&out.stderr).starts_with(
            "error: ke.cose: signer <HASH> (issuer \"Aurelis\") may not register key-event statements in this ledger\nhint: if this signer may register key-event statements, the ledger operator admits it with: evledger signer add --kinds key-event --key SIGNER.pub"
        ),
        "{out:?}"
    );
    assert!(w.log().is_empty());
    // An unknown kind for the policy.
    let out = v.run(&[
        "signer",
        "add",
        "--kinds",
        "firmware",
        "--key",
        "release.pub",
        "--ledger",
        LEDGER,
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("unknown evidence kind \"firmware\""),
        "{out:?}"
    );
}

fn key_event(event: &str, subject: &SigningKey, extra: &str) -> String {
    let public = subject.verifying_key();
    format!(
        "event = \"{event}\"\n{extra}\n[key]\nkid = \"{}\"\npublic_key = \"{}\"\n",
        evledger::keys::KeyId::of(&public),
        base64::engine::general_purpose::STANDARD.encode(public.as_bytes())
    )
}

#[test]
fn a_key_introduced_by_an_admitted_key_may_register_and_a_revoked_one_may_not() {
    let v = vendor();
    admit(&v);
    let release = release_key();
    let successor = SigningKey::from_bytes(&[42; 32]);
    std::fs::write(
        v.path("1-intro.cose"),
        signed(
            &release,
            "key-event",
            &key_event("introduce", &successor, ""),
            20,
        ),
    )
    .unwrap();
    let by_successor = signed(&successor, "firmware-build", FW, 21);
    std::fs::write(v.path("2-fw.cose"), &by_successor).unwrap();
    // Unknown before its introduction is registered...
    let out = v.run(&["register", "2-fw.cose", "--ledger", LEDGER]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("unknown signer"), "{out:?}");
    // ...admitted after it, even in the same call.
    let out = v.run(&["register", "1-intro.cose", "2-fw.cose", "--ledger", LEDGER]);
    assert_eq!(out.code, 0, "{out:?}");

    // The successor is revoked; what it signs afterwards is refused.
    std::fs::write(
        v.path("3-revoke.cose"),
        signed(
            &release,
            "key-event",
            &key_event("revoke", &successor, "reason = \"exposed in build logs\""),
            22,
        ),
    )
    .unwrap();
    v.run(&["register", "3-revoke.cose", "--ledger", LEDGER])
        .ok();
    std::fs::write(
        v.path("4-fw.cose"),
        signed(&successor, "firmware-build", FW, 23),
    )
    .unwrap();
    let out = v.run(&["register", "4-fw.cose", "--ledger", LEDGER]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("was revoked by the key event at entry 2"),
        "{out:?}"
    );
    assert_eq!(v.log().len(), 3);
    v.audit_ok();
}

/// A revocation and a registration signed with the revoked key race from two connections: the
/// store orders them, and the ledger never holds an entry signed with a key revoked before it.
#[test]
fn a_revocation_racing_a_registration_never_lets_the_revoked_key_in() {
    let dir = tempfile::tempdir().unwrap();
    let release = release_key();
    let victim = SigningKey::from_bytes(&[7; 32]);
    {
        let mut l = Ledger::init(dir.path(), "example.com/race").unwrap();
        for kind in ["firmware-build", "key-event"] {
            l.admit(&SignerRule {
                kind: kind.into(),
                signer: RuleSigner::Key(release.verifying_key()),
            })
            .unwrap();
        }
        l.admit(&SignerRule {
            kind: "firmware-build".into(),
            signer: RuleSigner::Key(victim.verifying_key()),
        })
        .unwrap();
    }
    let rounds = 12;
    for round in 0..rounds {
        let revoke = signed(
            &release,
            "key-event",
            &key_event("revoke", &victim, &format!("reason = \"round {round}\"")),
            1000 + round,
        );
        let build = signed(&victim, "firmware-build", FW, 2000 + round);
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = [revoke, build]
            .into_iter()
            .map(|statement| {
                let barrier = barrier.clone();
                let path = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    let mut l = Ledger::open(&path).unwrap();
                    barrier.wait();
                    l.register(
                        &[Submission {
                            statement,
                            documents: vec![],
                        }],
                        &RegisterOptions::default(),
                    )
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(
            results[0].is_ok(),
            "the revocation always goes in: {:?}",
            results[0]
        );
        if let Err(e) = &results[1] {
            assert!(
                matches!(e.error, LedgerError::KeyRevoked { .. }),
                "the build may only be refused for the revocation: {e}"
            );
        }
        // A revocation is effective at its own index: every build by the victim must be before
        // the first revocation.
        let l = Ledger::open(dir.path()).unwrap();
        let s = l.store();
        let mut first_revoke = None;
        let victim_kid = evledger::keys::KeyId::of(&victim.verifying_key());
        for i in 0..s.size().unwrap() {
            let e = s.entry(i).unwrap();
            let st = evledger::statement::SignedStatement::parse(&e.statement).unwrap();
            if e.kind == "key-event" && first_revoke.is_none() {
                first_revoke = Some(i);
            }
            if st.header().kid == victim_kid {
                assert!(
                    first_revoke.is_none_or(|r| i < r),
                    "entry {i}, signed with the revoked key, is after the revocation at {first_revoke:?}"
                );
            }
        }
    }
    let l = Ledger::open(dir.path()).unwrap();
    let report = evledger::audit::audit(&l, &mut |_, _| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);
}

/// The vendor's own signing keys, in its directory: `release.key` and `legal.key`.
fn vendor_keys(v: &Env) {
    for (from, to) in [
        ("keys.example/release-engineer.key", "release.key"),
        ("keys.example/product-legal.key", "legal.key"),
    ] {
        std::fs::copy(root().join(from), v.path(to)).unwrap();
        chmod(&v.path(to), 0o600);
    }
}

/// `evledger record KIND INPUT` in the vendor's ledger, signed with `key` at `iat`.
fn record_as(v: &Env, kind: &str, input: &str, key: &str, iat: &str) -> common::Out {
    v.run(&[
        "record",
        kind,
        input,
        "--key",
        key,
        "--issuer",
        "Aurelis",
        "--subject",
        "FG3",
        "--iat",
        iat,
        "--ledger",
        LEDGER,
    ])
}

/// The vendor's side of the lab flow: a build and its PAD lab result recorded, a checkpoint, the
/// lab result's bundle and the vendor's trust file for the lab. Returns the lab result's hash.
fn vendor_with_lab_result(v: &Env) -> String {
    vendor_keys(v);
    let rec = |kind: &str, input: &str, key: &str, iat: &str| {
        let out = record_as(v, kind, input, key, iat);
        out.ok().split(' ').next().unwrap().to_owned()
    };
    std::fs::copy(
        root().join("examples/facegate/firmware-4.2.0.toml"),
        v.path("fw.toml"),
    )
    .unwrap();
    let fw = rec("firmware-build", "fw.toml", "release.key", "1796000000");
    let lab = std::fs::read_to_string(root().join("examples/facegate/lab-result-pad-l2.toml"))
        .unwrap()
        .replace("@FW_420@", &fw);
    v.write("lab.toml", &lab);
    let lab_hash = rec("lab-result", "lab.toml", "legal.key", "1796000100");
    v.run(&["checkpoint", "--ledger", LEDGER]).ok();
    v.run(&[
        "bundle",
        "--entry",
        &lab_hash,
        "--out",
        "lab-result.bundle.cbor",
        "--ledger",
        LEDGER,
    ])
    .ok();
    let release = format!(
        "release-engineering=firmware-build:key:{}",
        root()
            .join("keys.example/release-engineer.key.pub")
            .display()
    );
    let legal = format!(
        "product-legal=lab-result,claim,incident:key:{}",
        root().join("keys.example/product-legal.key.pub").display()
    );
    v.run(&[
        "trust",
        "init",
        "--out",
        "vendor.trust.toml",
        "--role",
        &release,
        "--role",
        &legal,
        "--ledger",
        LEDGER,
    ])
    .ok();
    lab_hash
}

#[test]
fn the_scheme_operator_countersigns_from_the_vendors_bundle_and_checks_its_receipt() {
    let v = vendor();
    let lab_hash = vendor_with_lab_result(&v);
    let lab = org(&[
        ("keys.example/ibeta-example.key", "ibeta.key"),
        ("keys.example/ibeta-example-cert.pem", "ibeta-cert.pem"),
        ("keys.example/accreditation-root-ca.pem", "root.pem"),
    ]);
    for f in ["lab-result.bundle.cbor", "vendor.trust.toml"] {
        std::fs::copy(v.path(f), lab.path().join(f)).unwrap();
    }
    let countersign = |extra: &[&str], out: &str| {
        let mut args = vec![
            "countersign",
            "--bundle",
            "lab-result.bundle.cbor",
            &lab_hash,
            "--key",
            "ibeta.key",
            "--cert",
            "ibeta-cert.pem",
            "--statement",
            "Results as issued in report IBQA-PAD-2026-0142",
            "--iat",
            "1796000200",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        run_in(lab.path(), &args)
    };
    // With the vendor's trust file, in the lab's own directory: no ledger there.
    let out = countersign(&["--trust", "vendor.trust.toml"], "ibqa-0142.cose");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("verified: entry 1"), "{out:?}");
    let cs = std::fs::read(lab.path().join("ibqa-0142.cose")).unwrap();
    assert_eq!(out.stdout, format!("{}\n", sha256_hex(&cs)));
    assert!(!lab.path().join("ledger").exists());
    // With only the vendor's log key pinned, the same bytes (same key, input and --iat).
    let vkey = evledger::note::NoteVerifier::new(
        "aurelis.example/evidence-log",
        evledger::keys::read_verifying_key(&root().join("keys.example/log.key.pub")).unwrap(),
    )
    .unwrap()
    .to_string();
    let out = countersign(&["--log-key", &vkey], "ibqa-0142-b.cose");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("the entry's signer was not checked"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read(lab.path().join("ibqa-0142-b.cose")).unwrap(),
        cs
    );

    // A tampered bundle, or another log's key, is refused and nothing is written.
    let good = std::fs::read(lab.path().join("lab-result.bundle.cbor")).unwrap();
    let mut parsed = evledger::bundle::Bundle::parse(&good, &Default::default()).unwrap();
    for e in &mut parsed.entries {
        e.proof[0][0] ^= 1;
    }
    let bad = parsed.to_cbor();
    std::fs::write(lab.path().join("lab-result.bundle.cbor"), &bad).unwrap();
    let out = countersign(&["--trust", "vendor.trust.toml"], "bad.cose");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("is not countersigned"), "{out:?}");
    assert!(!lab.path().join("bad.cose").exists());
    std::fs::copy(
        v.path("lab-result.bundle.cbor"),
        lab.path().join("lab-result.bundle.cbor"),
    )
    .unwrap();
    let other = evledger::note::NoteVerifier::new(
        "aurelis.example/evidence-log",
        SigningKey::from_bytes(&[8; 32]).verifying_key(),
    )
    .unwrap()
    .to_string();
    let out = countersign(&["--log-key", &other], "bad.cose");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(!lab.path().join("bad.cose").exists());

    // The vendor admits the accreditation body's root and registers the file, with a receipt.
    std::fs::copy(lab.path().join("ibqa-0142.cose"), v.path("ibqa-0142.cose")).unwrap();
    std::fs::copy(
        root().join("keys.example/accreditation-root-ca.pem"),
        v.path("root.pem"),
    )
    .unwrap();
    v.run(&[
        "signer",
        "add",
        "--kinds",
        "countersignature",
        "--x509-root",
        "root.pem",
        "--ledger",
        LEDGER,
    ])
    .ok();
    let out = v.run(&[
        "register",
        "ibqa-0142.cose",
        "--receipt",
        "receipts",
        "--ledger",
        LEDGER,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    // Index 2 is the log's adverse index, which the lab's bundle needed to show completeness.
    assert_eq!(out.stdout, format!("{} 3\n", sha256_hex(&cs)));
    let receipt = v.path("receipts/ibqa-0142.cose.receipt.cbor");
    assert!(receipt.is_file(), "{out:?}");

    // The lab checks its receipt offline, with the vendor's trust file and its own root.
    std::fs::copy(&receipt, lab.path().join("receipt.cbor")).unwrap();
    let mut trust = std::fs::read_to_string(lab.path().join("vendor.trust.toml")).unwrap();
    trust.push_str(
        "\n[[roles]]\nname = \"lab\"\nkinds = [\"countersignature\"]\nx509_roots = [\"root.pem\"]\n",
    );
    std::fs::write(lab.path().join("lab.trust.toml"), trust).unwrap();
    let out = run_in(
        lab.path(),
        &[
            "verify",
            "receipt.cbor",
            "--receipt",
            "--trust",
            "lab.trust.toml",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("RECEIPT: checked the checkpoint"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("judges no claim against policy"),
        "{out:?}"
    );
    // The receipt holds the countersignature and the lab result it cites.
    let b = evledger::bundle::Bundle::parse(
        &std::fs::read(&receipt).unwrap(),
        &evledger::bundle::BundleLimits::default(),
    )
    .unwrap();
    let mut indexes: Vec<u64> = b.entries.iter().map(|e| e.index).collect();
    indexes.sort();
    assert!(indexes.contains(&1) && indexes.contains(&3), "{indexes:?}");
    // A receipt whose proof was tampered with fails.
    let mut bad = std::fs::read(&receipt).unwrap();
    let at = bad.len() - 10;
    bad[at] ^= 1;
    std::fs::write(lab.path().join("receipt.cbor"), &bad).unwrap();
    let out = run_in(
        lab.path(),
        &[
            "verify",
            "receipt.cbor",
            "--receipt",
            "--trust",
            "lab.trust.toml",
        ],
    );
    assert_ne!(out.code, 0, "{out:?}");
}

/// An incident whose fix is a build of another product is refused at registration, as the
/// buyer's verifier would refuse it; the real fix goes in.
#[test]
fn an_incident_fixed_by_another_products_build_is_refused() {
    let v = vendor();
    vendor_keys(&v);
    let rec = |kind: &str, input: &str, key: &str, iat: &str| record_as(&v, kind, input, key, iat);
    let example =
        |name: &str| std::fs::read_to_string(root().join("examples/facegate").join(name)).unwrap();
    v.write("fw420.toml", &example("firmware-4.2.0.toml"));
    v.write("fw421.toml", &example("firmware-4.2.1.toml"));
    v.write(
        "other.toml",
        &example("firmware-4.2.1.toml").replace("family = \"FaceGate 3D\"", "family = \"DoorPad\""),
    );
    let hash = |out: common::Out| out.ok().split(' ').next().unwrap().to_owned();
    let fw420 = hash(rec(
        "firmware-build",
        "fw420.toml",
        "release.key",
        "1796000000",
    ));
    let fw421 = hash(rec(
        "firmware-build",
        "fw421.toml",
        "release.key",
        "1796000001",
    ));
    let other = hash(rec(
        "firmware-build",
        "other.toml",
        "release.key",
        "1796000002",
    ));
    let incident = example("incident-aur-2026-014.toml").replace("@FW_420@", &fw420);
    v.write("bad.toml", &incident.replace("@FW_421@", &other));
    let out = rec("incident", "bad.toml", "legal.key", "1796000003");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("remediation.fix_build: entry")
            && out.stderr.contains("not of the affected product"),
        "{out:?}"
    );
    assert_eq!(v.log().len(), 3);
    v.write("good.toml", &incident.replace("@FW_421@", &fw421));
    rec("incident", "good.toml", "legal.key", "1796000004").ok();
    v.audit_ok();
}
