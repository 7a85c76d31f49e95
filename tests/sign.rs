//! `evledger sign`: a statement signed where the key is (a CI job, a lab), with no ledger, is
//! byte for byte what `record` appends; and `file = "PATH"` in evidence input, which puts the
//! file's SHA-256 (and size) in the payload and never the path.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{Env, INPUT, KEY, LEDGER, b64, sha256_hex};
use evledger::evidence::{Evidence, EvidenceError, FileDigest, InputFormat};
use evledger::statement::SignedStatement;
use serde_json::Value as J;

const ISSUER: &str = "Aurelis";
const SUBJECT: &str = "FaceGate 3D 4.2.0";

fn example(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The arguments of `evledger sign firmware-build INPUT --key KEY ... --iat IAT --out OUT`.
fn sign_args<'a>(input: &'a str, iat: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "sign",
        "firmware-build",
        input,
        "--key",
        KEY,
        "--issuer",
        ISSUER,
        "--subject",
        SUBJECT,
        "--iat",
        iat,
        "--out",
        out,
    ]
}

/// The names in the scratch directory, sorted (temporary files included).
fn listing(env: &Env) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The statement bytes `log --json` lists at `index`.
fn logged_statement(env: &Env, index: usize) -> Vec<u8> {
    b64(env.log()[index]["statement"].as_str().unwrap())
}

/// The evidence in a statement, in the JSON data model.
fn payload_json(statement: &[u8]) -> J {
    let st = SignedStatement::parse(statement).unwrap();
    Evidence::from_payload(&st.header().kind, st.payload())
        .unwrap()
        .to_json()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

// ---------------------------------------------------------------------------
// sign without a ledger, record with one: the same bytes

#[test]
fn a_ci_job_signs_without_a_ledger_and_record_appends_the_same_bytes() {
    // The CI job: a directory holding only its key and the build input.
    let ci = Env::new();
    assert_eq!(listing(&ci), [INPUT, KEY]);
    let out = ci.run(&sign_args(INPUT, "1770716000", "fw.cose"));
    assert_eq!(out.code, 0, "{out:?}");
    let signed = std::fs::read(ci.path("fw.cose")).unwrap();
    assert_eq!(out.stdout, format!("{}\n", sha256_hex(&signed)));
    assert_eq!(
        out.stderr,
        format!(
            "wrote fw.cose (firmware-build statement, {} bytes)\n",
            signed.len()
        )
    );
    // No ledger was needed, and none was created (nor the default ./ledger).
    assert_eq!(listing(&ci), ["fw.cose", INPUT, KEY]);

    // The statement verifies under the signer's key and says what was asked.
    let st = SignedStatement::parse(&signed).unwrap();
    let h = st.header().clone();
    assert_eq!(
        (h.kind.as_str(), h.issuer.as_str(), h.subject.as_str()),
        ("firmware-build", ISSUER, SUBJECT)
    );
    assert_eq!(h.issued_at, 1_770_716_000);
    assert!(h.x5chain.is_empty());
    let key = evledger::keys::read_signing_key(&ci.path(KEY)).unwrap();
    st.verify(&key.verifying_key()).unwrap();

    // The vendor's ledger: record with the same input, key and --iat appends exactly these bytes.
    let vendor = Env::new();
    vendor.init();
    let rec = vendor.record(INPUT, 1_770_716_000);
    assert_eq!(
        rec.ok(),
        format!("{} 0\n", sha256_hex(&signed)),
        "the entry hash is the statement's SHA-256"
    );
    assert_eq!(logged_statement(&vendor, 0), signed);
    let shown = vendor.run(&["show", "0", "--json", "--ledger", LEDGER]);
    let shown: J = serde_json::from_str(shown.ok()).unwrap();
    assert_eq!(shown["statement"], J::from(base64_of(&signed)));
    assert_eq!(shown["payload"], payload_json(&signed));

    // --out - writes the same bytes to stdout, and the entry hash to stderr.
    let piped = ci
        .cmd(&sign_args(INPUT, "1770716000", "-"))
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(0));
    assert_eq!(piped.stdout, signed);
    assert_eq!(
        String::from_utf8(piped.stderr).unwrap(),
        format!(
            "wrote firmware-build statement to stdout ({} bytes), entry hash {}\n",
            signed.len(),
            sha256_hex(&signed)
        )
    );
    assert_eq!(listing(&ci), ["fw.cose", INPUT, KEY]);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn a_lab_signs_with_its_certificate_chain_as_record_would() {
    let args = |out: &str| -> Vec<String> {
        [
            "sign",
            "firmware-build",
            INPUT,
            "--key",
            "lab.key",
            "--cert",
            example("keys.example/lab-cert.pem").to_str().unwrap(),
            "--chain",
            example("keys.example/accreditation-root-ca.pem")
                .to_str()
                .unwrap(),
            "--issuer",
            "Kestrel Biometric Test Lab",
            "--subject",
            SUBJECT,
            "--iat",
            "2026-06-01T00:00:00Z",
            "--out",
            out,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let with_lab_key = || {
        let env = Env::new();
        std::fs::copy(example("keys.example/lab.key"), env.path("lab.key")).unwrap();
        common::chmod(&env.path("lab.key"), 0o600);
        env
    };
    let lab = with_lab_key();
    let a = args("fw.cose");
    let out = lab.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.code, 0, "{out:?}");
    let signed = std::fs::read(lab.path("fw.cose")).unwrap();
    let st = SignedStatement::parse(&signed).unwrap();
    assert_eq!(st.header().x5chain.len(), 2, "leaf and intermediate");

    let vendor = with_lab_key();
    vendor.init();
    let mut a = args("unused");
    a[0] = "record".into();
    a.truncate(a.len() - 2);
    a.extend(["--ledger".into(), LEDGER.into()]);
    let rec = vendor.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(rec.code, 0, "{rec:?}");
    assert_eq!(logged_statement(&vendor, 0), signed);

    // A certificate that is not valid at --iat is refused, as by record, and nothing is written.
    let mut a = args("late.cose");
    let iat = a.iter().position(|x| x == "--iat").unwrap() + 1;
    a[iat] = "2030-01-01T00:00:00Z".into();
    let out = lab.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert!(
        out.stderr.starts_with("error: certificate: ")
            && out
                .stderr
                .contains("not valid at the signing time 2030-01-01T00:00:00Z"),
        "{out:?}"
    );
    assert!(!lab.path("late.cose").exists());
}

// ---------------------------------------------------------------------------
// the output file

#[test]
fn an_existing_file_is_never_replaced_without_force() {
    let env = Env::new();
    env.write("fw.cose", "an earlier statement\n");
    let out = env.run(&sign_args(INPUT, "100", "fw.cose"));
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert_eq!(
        out.stderr,
        "error: fw.cose: file exists, refusing to overwrite it\nhint: choose another --out file, or pass --force to replace it\n"
    );
    assert_eq!(
        std::fs::read_to_string(env.path("fw.cose")).unwrap(),
        "an earlier statement\n"
    );

    // With --force it is replaced by the whole statement, and no temporary file is left.
    let mut args = sign_args(INPUT, "100", "fw.cose");
    args.push("--force");
    let out = env.run(&args);
    assert_eq!(out.code, 0, "{out:?}");
    let signed = std::fs::read(env.path("fw.cose")).unwrap();
    assert_eq!(out.stdout, format!("{}\n", sha256_hex(&signed)));
    SignedStatement::parse(&signed).unwrap();
    assert_eq!(listing(&env), ["fw.cose", INPUT, KEY]);

    // Into a directory that does not exist: the system's error, and nothing written.
    let out = env.run(&sign_args(INPUT, "100", "no/such/dir/fw.cose"));
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    // The message names the file, the step that failed and the system's reason.
    assert!(
        out.stderr
            .starts_with("error: no/such/dir/fw.cose: creating no/such/dir/.fw.cose.")
            && out
                .stderr
                .ends_with(".tmp: No such file or directory (os error 2)\n"),
        "{out:?}"
    );
    assert_eq!(listing(&env), ["fw.cose", INPUT, KEY]);
}

/// Runs `sign` with `args`; asserts it fails with `stderr`, prints nothing on stdout and
/// writes nothing.
#[track_caller]
fn sign_refused(env: &Env, args: &[&str], stderr: &str) {
    let before = listing(env);
    let out = env.run(args);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, stderr);
    assert_eq!(listing(env), before);
}

#[test]
fn bad_input_key_or_labels_are_refused_and_nothing_is_written() {
    let env = Env::new();
    let fw = std::fs::read_to_string(env.path(INPUT)).unwrap();

    env.write(
        "missing.toml",
        &fw.replace("family = \"FaceGate 3D\"\n", ""),
    );
    sign_refused(
        &env,
        &sign_args("missing.toml", "100", "fw.cose"),
        "error: missing.toml: product: missing field `family`\n",
    );
    env.write(
        "invalid.toml",
        &fw.replace("size = 64", "size = 0").replace(
            "support_until = 2031-02-10T00:00:00Z",
            "support_until = 2025-01-01T00:00:00Z",
        ),
    );
    sign_refused(
        &env,
        &sign_args("invalid.toml", "100", "fw.cose"),
        "error: invalid.toml: artifacts[1].size: must be > 0\nsupport_until: must be after built_at\n",
    );
    sign_refused(
        &env,
        &sign_args("absent.toml", "100", "fw.cose"),
        "error: absent.toml: No such file or directory (os error 2)\n",
    );
    let mut args = sign_args(INPUT, "100", "fw.cose");
    args[1] = "firmware";
    sign_refused(
        &env,
        &args,
        "error: fw.toml: unknown evidence kind \"firmware\" (known: firmware-build, lab-result, countersignature, claim, incident, key-event, accuracy-result, certification, export-classification, export-decision, shipment, hr-due-diligence, end-use-check, deployment-record)\n",
    );

    // A file named in a digest's place that is not there.
    env.write(
        "named.toml",
        &fw.replace(
            "sha256 = \"9a1f4c0e7b2d3c58e6f0a9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b\"\nsize = 48234496",
            "file = \"fw.img\"",
        ),
    );
    sign_refused(
        &env,
        &sign_args("named.toml", "100", "fw.cose"),
        "error: named.toml: artifacts[0].file: cannot read fw.img: No such file or directory (os error 2)\n",
    );

    // A private key others can read.
    common::chmod(&env.path(KEY), 0o644);
    sign_refused(
        &env,
        &sign_args(INPUT, "100", "fw.cose"),
        "error: release.key: private key file is accessible by group or others (mode 644)\nhint: chmod 600 release.key\n",
    );
    common::chmod(&env.path(KEY), 0o600);

    // Labels that say nothing, and a time before 1970.
    let mut args = sign_args(INPUT, "100", "fw.cose");
    args[6] = " ";
    sign_refused(&env, &args, "error: fw.toml: issuer: must not be empty\n");
    sign_refused(
        &env,
        &sign_args(INPUT, "1969-12-31T23:59:59Z", "fw.cose"),
        "error: --iat: must not be before 1970\n",
    );

    // A sigstore table typed in by hand is refused: `sign` fills it in only after verifying the
    // bundle given with --sigstore-bundle (feature `sigstore`).
    env.write(
        "sigstore.toml",
        &format!(
            "{fw}\n[sigstore]\nbundle_sha256 = \"{h}\"\ntrusted_root_sha256 = \"{h}\"\nartifact = \"facegate-4.2.0-fg3.img\"\nkey_sha256 = \"{h}\"\n",
            h = "ab".repeat(32)
        ),
    );
    sign_refused(
        &env,
        &sign_args("sigstore.toml", "100", "fw.cose"),
        if cfg!(feature = "sigstore") {
            "error: sigstore.toml: the firmware build cites a Sigstore bundle, but --sigstore-bundle was not given\nhint: remove the sigstore table and pass --sigstore-bundle FILE --trusted-root FILE --identity ID --oidc-issuer URL; evledger verifies the bundle and fills the table in\n"
        } else {
            "error: sigstore.toml: the firmware build cites a Sigstore bundle, but this build of evledger was compiled without Sigstore support, so it cannot verify it\nhint: use an evledger built with `--features sigstore`\n"
        },
    );

    // The same refusal for a statement to stdout: nothing on stdout.
    sign_refused(
        &env,
        &sign_args("missing.toml", "100", "-"),
        "error: missing.toml: product: missing field `family`\n",
    );
    assert!(!env.path("ledger").exists());
}

#[test]
fn citations_are_left_to_the_ledger_and_said_so() {
    // A countersignature of an entry this directory knows nothing about: signed, with a note.
    let env = Env::new();
    let target = "ab".repeat(32);
    env.write(
        "cs.toml",
        &format!("target = \"{target}\"\nstatement = \"Results as issued in report R-1\"\n"),
    );
    let mut args = sign_args("cs.toml", "100", "cs.cose");
    args[1] = "countersignature";
    let out = env.run(&args);
    assert_eq!(out.code, 0, "{out:?}");
    let signed = std::fs::read(env.path("cs.cose")).unwrap();
    assert_eq!(
        out.stderr,
        format!(
            "wrote cs.cose (countersignature statement, {} bytes)\nnote: the entry it cites is not checked here; the ledger checks citations when it registers the statement\n",
            signed.len()
        )
    );
    assert_eq!(payload_json(&signed)["target"], J::from(target));
}

#[test]
fn sign_help_has_an_example() {
    let env = Env::new();
    let out = env.run(&["sign", "--help"]);
    assert!(
        out.ok()
            .contains("Example: evledger sign firmware-build build.toml --key release.key"),
        "{out:?}"
    );
    // Required arguments are usage errors.
    let out = env.run(&["sign", "firmware-build", INPUT, "--key", KEY]);
    assert_eq!(out.code, 2, "{out:?}");
}

// ---------------------------------------------------------------------------
// file = "PATH"

/// The example build with its first artifact named by `file = PATH` instead of digest and size.
fn build_naming(path: &str) -> String {
    std::fs::read_to_string(example("examples/facegate/firmware-4.2.0.toml"))
        .unwrap()
        .replace(
            "sha256 = \"9a1f4c0e7b2d3c58e6f0a9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b\"\nsize = 48234496",
            &format!("file = \"{path}\""),
        )
}

#[test]
fn a_named_file_gives_its_digest_and_size_and_the_statement_never_holds_the_path() {
    let env = Env::new();
    // The input in a subdirectory: the path is relative to the input, not the working directory.
    std::fs::create_dir_all(env.path("ci/out")).unwrap();
    let image: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(env.path("ci/out/zz-image.bin"), &image).unwrap();
    env.write("ci/build.toml", &build_naming("out/zz-image.bin"));

    let out = env.run(&sign_args("ci/build.toml", "100", "fw.cose"));
    assert_eq!(out.code, 0, "{out:?}");
    let signed = std::fs::read(env.path("fw.cose")).unwrap();
    let artifact = &payload_json(&signed)["artifacts"][0];
    assert_eq!(
        artifact,
        &serde_json::json!({
            "name": "facegate-4.2.0-fg3.img",
            "sha256": sha256_hex(&image),
            "size": image.len(),
        })
    );
    for path in ["zz-image", "out/"] {
        assert!(!contains(&signed, path), "the statement holds {path:?}");
    }

    // record reads the file the same way and appends the same bytes.
    env.init();
    let rec = env.record("ci/build.toml", 100);
    assert_eq!(rec.ok(), format!("{} 0\n", sha256_hex(&signed)));
    assert_eq!(logged_statement(&env, 0), signed);

    // Giving the digest too is allowed when it agrees (either case), and then changes nothing.
    env.write(
        "ci/both.toml",
        &build_naming("out/zz-image.bin").replace(
            "file = \"out/zz-image.bin\"",
            &format!(
                "file = \"out/zz-image.bin\"\nsha256 = \"{}\"\nsize = {}",
                sha256_hex(&image).to_uppercase(),
                image.len()
            ),
        ),
    );
    let out = env.run(&sign_args("ci/both.toml", "100", "both.cose"));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(std::fs::read(env.path("both.cose")).unwrap(), signed);

    // A digest or size the file contradicts is refused, by record as by sign.
    let other = "00".repeat(32);
    env.write(
        "ci/wrong.toml",
        &build_naming("out/zz-image.bin").replace(
            "file = \"out/zz-image.bin\"",
            &format!("file = \"out/zz-image.bin\"\nsha256 = \"{other}\""),
        ),
    );
    let want = format!(
        "error: ci/wrong.toml: artifacts[0].sha256: does not match file \"out/zz-image.bin\", whose SHA-256 is {}\n",
        sha256_hex(&image)
    );
    sign_refused(&env, &sign_args("ci/wrong.toml", "100", "x.cose"), &want);
    let rec = env.record("ci/wrong.toml", 100);
    assert_eq!((rec.code, rec.stderr.as_str()), (1, want.as_str()));
    env.write(
        "ci/size.toml",
        &build_naming("out/zz-image.bin").replace(
            "file = \"out/zz-image.bin\"",
            "file = \"out/zz-image.bin\"\nsize = 48234496",
        ),
    );
    sign_refused(
        &env,
        &sign_args("ci/size.toml", "100", "x.cose"),
        "error: ci/size.toml: artifacts[0].size: does not match file \"out/zz-image.bin\", which is 300000 bytes\n",
    );

    // A missing file, for record: the field, the file as read, and nothing appended.
    env.write("ci/gone.toml", &build_naming("out/gone.bin"));
    let rec = env.record("ci/gone.toml", 100);
    assert_eq!((rec.code, rec.stdout.as_str()), (1, ""));
    assert_eq!(
        rec.stderr,
        "error: ci/gone.toml: artifacts[0].file: cannot read ci/out/gone.bin: No such file or directory (os error 2)\n"
    );
    assert_eq!(env.log().len(), 1);
    env.audit_ok();
}

#[test]
fn json_input_names_files_too() {
    let env = Env::new();
    env.write("sbom.json", "{\"bomFormat\": \"CycloneDX\"}\n");
    let toml: toml::Table = toml::from_str(&build_naming("fw.img")).unwrap();
    let mut json = serde_json::to_value(&toml).unwrap();
    // TOML date-times are not JSON: write the times as Unix seconds.
    json["built_at"] = J::from(1_770_715_800);
    json["support_until"] = J::from(1_928_448_000);
    json["sbom"][0] = serde_json::json!({"format": "cyclonedx-1.6", "file": "sbom.json"});
    env.write("fw.img", "firmware image\n");
    env.write("build.json", &json.to_string());
    let out = env
        .cmd(&sign_args("build.json", "100", "-"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let payload = payload_json(&out.stdout);
    assert_eq!(
        payload["sbom"][0]["sha256"],
        J::from(sha256_hex(b"{\"bomFormat\": \"CycloneDX\"}\n"))
    );
    assert_eq!(
        payload["artifacts"][0]["sha256"],
        J::from(sha256_hex(b"firmware image\n"))
    );
    assert_eq!(payload["artifacts"][0]["size"], J::from(15));
}

/// Every place a kind's input may name a file, through the library with an in-memory resolver:
/// the digest lands in the right field, the file key is gone, and the path is nowhere in the
/// payload.
#[test]
fn every_digest_of_a_document_may_be_given_as_a_file() {
    let docs: HashMap<&str, &[u8]> = HashMap::from([
        ("doc-sbom.json", b"sbom".as_slice()),
        ("doc-provenance.json", b"provenance"),
        ("doc-model.onnx", b"model"),
        ("doc-report.pdf", b"report"),
        ("doc-brochure.txt", b"brochure"),
        ("doc-receipt.pdf", b"receipt"),
    ]);
    let resolve = |name: &str| -> Result<FileDigest, String> {
        docs.get(name)
            .map(|b| FileDigest::of(b))
            .ok_or_else(|| format!("no document {name}"))
    };
    let read = |file: &str| {
        std::fs::read_to_string(example(&format!("examples/facegate/{file}")))
            .unwrap()
            .replace("@FW_420@", &"a0".repeat(32))
            .replace("@FW_421@", &"a1".repeat(32))
            .replace("@LAB_RESULT@", &"a2".repeat(32))
            .replace("@COUNTERSIG@", &"a3".repeat(32))
    };
    // (kind, example, digest line to replace, its replacement, JSON pointer, document)
    let cases = [
        (
            "firmware-build",
            "firmware-4.2.0.toml",
            "sha256 = \"5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d\"",
            "file = \"doc-sbom.json\"",
            "/sbom/0/sha256",
            "doc-sbom.json",
        ),
        (
            "firmware-build",
            "firmware-4.2.0.toml",
            "sha256 = \"c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3\"",
            "file = \"doc-provenance.json\"",
            "/provenance/sha256",
            "doc-provenance.json",
        ),
        (
            "firmware-build",
            "firmware-4.2.0.toml",
            "model_sha256 = \"7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e\"",
            "model_file = \"doc-model.onnx\"",
            "/biometric_components/1/model_sha256",
            "doc-model.onnx",
        ),
        (
            "lab-result",
            "lab-result-pad-l2.toml",
            "sha256 = \"aaf44337a06cbc2b003a004ee1759857e7b13740b5cb6cbb27b7c75a26c228a3\"",
            "file = \"doc-report.pdf\"",
            "/report/sha256",
            "doc-report.pdf",
        ),
        (
            "countersignature",
            "countersignature-lab.toml",
            "report_sha256 = \"aaf44337a06cbc2b003a004ee1759857e7b13740b5cb6cbb27b7c75a26c228a3\"",
            "report_file = \"doc-report.pdf\"",
            "/report_sha256",
            "doc-report.pdf",
        ),
        (
            "claim",
            "claim-pad-level2.toml",
            "document_sha256 = \"952b00c36876d994b3c1cab2d12e44ddd5fa8c04e950960cc955aabbeca8d92f\"",
            "document_file = \"doc-brochure.txt\"",
            "/channels/1/document_sha256",
            "doc-brochure.txt",
        ),
        (
            "incident",
            "incident-aur-2026-014.toml",
            "receipt_sha256 = \"159f91c66bee794f316fcf4e246b650ece40d02f823003340a976419fa70a3dd\"",
            "receipt_file = \"doc-receipt.pdf\"",
            "/notifications/0/receipt_sha256",
            "doc-receipt.pdf",
        ),
    ];
    for (kind, file, from, to, pointer, doc) in cases {
        let text = read(file);
        assert_eq!(text.matches(from).count(), 1, "{file}: {from}");
        let named = text.replace(from, to);
        let ev = Evidence::from_input_with_files(kind, &named, InputFormat::Toml, &resolve)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let json = ev.to_json();
        assert_eq!(
            json.pointer(pointer),
            Some(&J::from(sha256_hex(docs[doc]))),
            "{file}"
        );
        let payload = ev.to_payload();
        assert!(!contains(&payload, doc), "{file}: payload holds the path");
        assert!(
            !contains(&payload, "_file"),
            "{file}: payload holds a file key"
        );
        // The same evidence as with the digest written out.
        let written = text.replace(
            from,
            &from.replace(from.split('"').nth(1).unwrap(), &sha256_hex(docs[doc])),
        );
        assert_eq!(
            Evidence::from_input(kind, &written, InputFormat::Toml).unwrap(),
            ev,
            "{file}"
        );

        // Without a resolver (the plain input reader), a file key is a field the schema lacks.
        assert!(matches!(
            Evidence::from_input(kind, &named, InputFormat::Toml),
            Err(EvidenceError::Shape { .. })
        ));
        // A file the resolver cannot read is named with its field.
        let e = Evidence::from_input_with_files(kind, &named, InputFormat::Toml, &|n: &str| {
            Err(format!("no document {n}"))
        })
        .unwrap_err();
        let field = pointer
            .trim_start_matches('/')
            .replace('/', ".")
            .replace("sha256", "file");
        let field = field
            .split('.')
            .fold(String::new(), |acc, seg| match seg.parse::<usize>() {
                Ok(i) => format!("{acc}[{i}]"),
                Err(_) if acc.is_empty() => seg.to_owned(),
                Err(_) => format!("{acc}.{seg}"),
            });
        assert_eq!(
            e.to_string(),
            format!("{field}: no document {doc}"),
            "{file}"
        );
    }
}
