//! The `evledger` command line as a user sees it: exact stdout, stderr and exit code for each
//! command and each error message, with 64-digit hashes replaced by `<HASH>` where they vary.
//! Every command runs in a scratch directory with the ledger at `L`, so paths in messages are
//! stable.

mod common;

use std::io::Read;
use std::process::Stdio;

use common::{Env, INPUT, KEY, LEDGER, ORIGIN, b64, entry_hashes, hash32, mth, norm, sha256_hex};
use evledger::checkpoint;
use evledger::merkle::{ConsistencyProof, InclusionProof, RootHash, leaf_hash};
use evledger::note::NoteVerifier;
use serde_json::Value as J;

/// Every file in the ledger directory with its bytes.
fn snapshot(env: &Env) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(env.path(LEDGER))
        .unwrap()
        // The WAL index (`-shm`) is SQLite's shared-memory cache, rewritten by every reader; it
        // holds no data, and neither does an empty write-ahead log, which a read-only reader
        // (`log`, `show`, …) leaves behind. The database and the log's content must not change.
        .filter(|e| {
            let e = e.as_ref().unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            !(name.ends_with("-shm")
                || (name.ends_with("-wal") && e.metadata().unwrap().len() == 0))
        })
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

const NO_LEDGER_HINT: &str = "hint: create one with: evledger init --ledger L --origin NAME (or set --ledger / EVLEDGER_DIR)\n";
const FORMAT_HINT: &str = "hint: expected a PEM file written by `evledger key generate` or `openssl genpkey -algorithm ed25519`\n";

// ---------------------------------------------------------------------------
// init

#[test]
fn init_prints_the_verifier_key() {
    let env = Env::new();
    let out = env.run(&["init", "--origin", ORIGIN, "--ledger", LEDGER]);
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stderr,
        "created ledger L (log key L/log.key); publish this verifier key so buyers can pin it:\n"
    );
    // One line: <origin>+<8 hex>+<base64 of 33 bytes>.
    let vkey = out.stdout.strip_suffix('\n').unwrap();
    assert!(!vkey.contains('\n'));
    let parts: Vec<&str> = vkey.splitn(3, '+').collect();
    assert_eq!(parts[0], ORIGIN);
    assert_eq!(parts[1].len(), 8);
    assert_eq!(b64(parts[2]).len(), 33);
    assert_eq!(b64(parts[2])[0], 0x01);
    let v = NoteVerifier::parse(vkey).unwrap();
    assert_eq!(v.name(), ORIGIN);
    assert_eq!(common::mode(&env.path("L/log.key")), 0o600);
    assert!(env.path("L/log.key.pub").is_file());
    assert!(env.path("L/evledger.db").is_file());
    env.audit_ok();
}

#[test]
fn second_init_fails_and_changes_nothing() {
    let env = Env::new();
    env.init();
    env.record(INPUT, 100).ok();
    let before = snapshot(&env);
    let log_before = env.log();
    for origin in [ORIGIN, "other.example/log"] {
        let out = env.run(&["init", "--origin", origin, "--ledger", LEDGER]);
        assert_eq!(out.code, 1);
        assert_eq!(out.stdout, "");
        assert_eq!(
            out.stderr,
            "error: a ledger already exists at L\nhint: use another --ledger directory; an existing ledger is never replaced\n"
        );
    }
    assert_eq!(snapshot(&env), before);
    assert_eq!(env.log(), log_before);
    env.audit_ok();
}

#[test]
fn init_refuses_a_bad_origin() {
    let env = Env::new();
    let out = env.run(&["init", "--origin", "has space", "--ledger", LEDGER]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: origin \"has space\": must not contain white space, control characters or '+'\n"
    );
    assert!(!env.path(LEDGER).exists());
}

// ---------------------------------------------------------------------------
// keys

#[test]
fn key_generate_writes_a_private_and_a_public_file() {
    let env = Env::new();
    let out = env.run(&["key", "generate", "--out", "k.key", "--name", "lab.example"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr,
        "wrote k.key (private, mode 0600) and k.key.pub\n"
    );
    assert_eq!(
        norm(&out.stdout)
            .split('+')
            .next()
            .map(|s| s.to_owned())
            .unwrap(),
        "kid <HASH>\nvkey lab.example"
    );
    assert_eq!(common::mode(&env.path("k.key")), 0o600);
    let private = std::fs::read_to_string(env.path("k.key")).unwrap();
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let public = std::fs::read_to_string(env.path("k.key.pub")).unwrap();
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let vkey = out
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .strip_prefix("vkey ")
        .unwrap();
    assert_eq!(NoteVerifier::parse(vkey).unwrap().name(), "lab.example");

    // `key show` of either file names the same key.
    let kid_line = out.stdout.lines().next().unwrap().to_owned() + "\n";
    let shown = env.run(&["key", "show", "k.key"]);
    assert_eq!(
        (shown.code, shown.stdout.as_str(), shown.stderr.as_str()),
        (0, kid_line.as_str(), "k.key: private key\n")
    );
    let shown = env.run(&["key", "show", "k.key.pub", "--name", "lab.example"]);
    assert_eq!(shown.code, 0);
    assert_eq!(shown.stdout, out.stdout);
    assert_eq!(shown.stderr, "");
}

#[test]
fn key_generate_never_overwrites() {
    let env = Env::new();
    env.run(&["key", "generate", "--out", "k.key"]).ok();
    let private = std::fs::read(env.path("k.key")).unwrap();
    let public = std::fs::read(env.path("k.key.pub")).unwrap();
    let out = env.run(&["key", "generate", "--out", "k.key"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: k.key: file exists, refusing to overwrite a key\nhint: choose another --out file; keys are never overwritten\n"
    );
    assert_eq!(std::fs::read(env.path("k.key")).unwrap(), private);
    assert_eq!(std::fs::read(env.path("k.key.pub")).unwrap(), public);

    // Only the .pub exists: refused too, and no private file is left behind.
    env.write("j.key.pub", "keep me\n");
    let out = env.run(&["key", "generate", "--out", "j.key"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: j.key.pub: file exists, refusing to overwrite a key\nhint: choose another --out file; keys are never overwritten\n"
    );
    assert!(!env.path("j.key").exists());
    assert_eq!(
        std::fs::read_to_string(env.path("j.key.pub")).unwrap(),
        "keep me\n"
    );
}

#[test]
fn key_show_of_the_example_keys() {
    let env = Env::new();
    let private = env.run(&["key", "show", KEY]);
    assert_eq!(private.code, 0);
    assert_eq!(private.stderr, "release.key: private key\n");
    assert_eq!(norm(&private.stdout), "kid <HASH>\n");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/keys.example/release-engineer.key.pub"
        ),
        env.path("release.key.pub"),
    )
    .unwrap();
    let public = env.run(&["key", "show", "release.key.pub"]);
    assert_eq!((public.code, public.stderr.as_str()), (0, ""));
    assert_eq!(public.stdout, private.stdout);
}

#[test]
fn key_show_refuses_garbage() {
    let env = Env::new();
    env.write("notes.txt", "just some notes\n");
    let out = env.run(&["key", "show", "notes.txt"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    let (first, hint) = out.stderr.split_once('\n').unwrap();
    assert!(
        first.starts_with(
            "error: notes.txt: not an Ed25519 public key (SubjectPublicKeyInfo) in PEM form ("
        ),
        "{first}"
    );
    assert_eq!(hint, FORMAT_HINT);

    let out = env.run(&["key", "show", "missing.key"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: missing.key: No such file or directory (os error 2)\n"
    );
}

#[test]
fn world_readable_private_key_is_refused() {
    let env = Env::new();
    env.init();
    for m in [0o644, 0o640, 0o604, 0o700 | 0o004] {
        common::chmod(&env.path(KEY), m);
        let want = format!(
            "error: release.key: private key file is accessible by group or others (mode {m:o})\nhint: chmod 600 release.key\n"
        );
        let out = env.record(INPUT, 1);
        assert_eq!((out.code, out.stdout.as_str()), (1, ""));
        assert_eq!(out.stderr, want);
        let out = env.run(&["key", "show", KEY]);
        assert_eq!((out.code, out.stderr.as_str()), (1, want.as_str()));
    }
    common::chmod(&env.path(KEY), 0o400);
    env.record(INPUT, 1).ok();
    assert_eq!(env.log().len(), 1);
}

#[test]
fn wrong_key_files_are_refused_with_a_clear_message() {
    let env = Env::new();
    env.init();
    env.run(&["key", "generate", "--out", "k.key"]).ok();

    // A public key passed as --key: say so, do not ask for chmod.
    let mut args = Env::record_args(INPUT, "1");
    args[4] = "k.key.pub";
    let out = env.run(&args);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert_eq!(
        out.stderr,
        format!(
            "error: k.key.pub: not an Ed25519 private key (PKCS#8) in PEM form (the file holds a public key; pass the private key file)\n{FORMAT_HINT}"
        )
    );

    // A text file with safe permissions.
    env.write("notes.txt", "just some notes\n");
    common::chmod(&env.path("notes.txt"), 0o600);
    args[4] = "notes.txt";
    let out = env.run(&args);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    let (first, hint) = out.stderr.split_once('\n').unwrap();
    assert!(
        first.starts_with("error: notes.txt: not an Ed25519 private key (PKCS#8) in PEM form ("),
        "{first}"
    );
    assert_eq!(hint, FORMAT_HINT);

    // The log's own public key file.
    args[4] = "L/log.key.pub";
    let out = env.run(&args);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("holds a public key"), "{out:?}");
    assert_eq!(env.log().len(), 0);
}

// ---------------------------------------------------------------------------
// missing ledger and usage errors

#[test]
fn missing_ledger_says_how_to_create_one() {
    let env = Env::new();
    let want = format!("error: no ledger at L\n{NO_LEDGER_HINT}");
    for args in [
        vec!["log", "--ledger", LEDGER],
        vec!["checkpoint", "--ledger", LEDGER],
        vec!["audit", "--ledger", LEDGER],
        vec!["show", "0", "--ledger", LEDGER],
        vec!["prove", "0", "--ledger", LEDGER],
        vec!["consistency", "1", "1", "--ledger", LEDGER],
        Env::record_args(INPUT, "1"),
    ] {
        let out = env.run(&args);
        assert_eq!(out.code, 1, "{args:?}");
        assert_eq!(out.stdout, "", "{args:?}");
        assert_eq!(out.stderr, want, "{args:?}");
    }
    // Read commands never create the ledger.
    assert!(!env.path(LEDGER).exists());

    // The default directory is ./ledger, and EVLEDGER_DIR overrides it.
    let out = env.run(&["log"]);
    assert_eq!(
        out.stderr,
        "error: no ledger at ledger\nhint: create one with: evledger init --ledger ledger --origin NAME (or set --ledger / EVLEDGER_DIR)\n"
    );
    env.init();
    let out: common::Out = env
        .cmd(&["log", "--json"])
        .env("EVLEDGER_DIR", LEDGER)
        .output()
        .unwrap()
        .into();
    assert_eq!((out.code, out.stdout.as_str()), (0, "[]\n"));
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    for args in [
        vec![],
        vec!["frobnicate"],
        vec!["record"],
        vec!["record", "firmware-build", INPUT],
        vec!["consistency", "one", "2"],
        vec!["log", "--bogus"],
    ] {
        let out = env.run(&args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert_eq!(out.stdout, "", "{args:?}");
        assert!(
            out.stderr.contains("Usage: evledger") || out.stderr.contains("try '--help'"),
            "{args:?}: {out:?}"
        );
    }
    let out = env.run(&["--version"]);
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout,
        format!("evledger {}\n", env!("CARGO_PKG_VERSION"))
    );
}

// ---------------------------------------------------------------------------
// record

#[test]
fn record_prints_hash_and_index() {
    let env = Env::new();
    env.init();
    let out = env.record(INPUT, 100);
    assert_eq!(out.code, 0, "{out:?}");
    // The first record with a key admits it to the registration policy, and says so.
    assert_eq!(
        norm(&out.stderr),
        "admitted signer key <HASH> to register firmware-build statements (you hold its private key)\nrecorded firmware-build at index 0\n"
    );
    assert_eq!(norm(&out.stdout), "<HASH> 0\n");
    let again = env.record(INPUT, 101);
    assert_eq!(again.stderr, "recorded firmware-build at index 1\n");
    let hash = out.stdout.split(' ').next().unwrap().to_owned();

    let mut args = Env::record_args(INPUT, "2026-03-01T12:00:00Z");
    args.push("--json");
    let out = env.run(&args);
    assert_eq!(out.code, 0, "{out:?}");
    let j: J = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(j["index"], 2);
    assert_eq!(j.as_object().unwrap().len(), 2);

    let log = env.log();
    assert_eq!(log[0]["entry_hash"], hash.as_str());
    assert_eq!(log[0]["iat"], 100);
    assert_eq!(log[2]["entry_hash"], j["entry_hash"]);
    assert_eq!(log[2]["iat"], 1_772_366_400);
}

#[test]
fn the_same_statement_is_recorded_once() {
    let env = Env::new();
    env.init();
    let first = env.record(INPUT, 100);
    let hash = first.ok().split(' ').next().unwrap().to_owned();
    let again = env.record(INPUT, 100);
    assert_eq!(again.code, 1);
    assert_eq!(again.stdout, "");
    assert_eq!(
        again.stderr,
        format!(
            "error: fw.toml: duplicate statement: entry {hash} is already in the ledger at index 0\nhint: a statement is recorded once; `evledger show ENTRY` displays it\n"
        )
    );
    // The same data as JSON gives the same statement bytes, so it is refused too.
    let toml: toml::Table =
        toml::from_str(&std::fs::read_to_string(env.path(INPUT)).unwrap()).unwrap();
    let mut json = serde_json::to_value(&toml).unwrap();
    json["built_at"] = J::from(1_770_715_800);
    json["support_until"] = J::from("2031-02-10T01:00:00+01:00");
    env.write("fw.json", &json.to_string());
    let out = env.record("fw.json", 100);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with(&format!(
        "error: fw.json: duplicate statement: entry {hash} is already in the ledger at index 0\n"
    )));
    // Another signing time is another statement.
    env.record(INPUT, 101).ok();
    assert_eq!(env.log().len(), 2);
    env.audit_ok();
}

/// Runs `record` on `text` written to `name`; asserts it fails with `stderr` and changes nothing.
#[track_caller]
fn record_refused(env: &Env, name: &str, text: &str, stderr: &str) {
    env.write(name, text);
    let before = snapshot(env);
    let n = env.log().len();
    let out = env.record(name, 7);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, stderr);
    assert_eq!(env.log().len(), n);
    assert_eq!(snapshot(env), before);
    env.audit_ok();
}

fn example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/facegate/firmware-4.2.0.toml"
    ))
    .unwrap()
}

#[test]
fn record_refuses_bad_input_with_file_and_field() {
    let env = Env::new();
    env.init();
    env.record(INPUT, 1).ok();
    let fw = example();

    record_refused(
        &env,
        "syntax.toml",
        &fw.replace("version = \"4.2.0\"", "version = \"4.2.0"),
        "error: syntax.toml: TOML syntax: TOML parse error at line 3, column 17\n  |\n3 | version = \"4.2.0\n  |                 ^\ninvalid basic string, expected `\"`\n",
    );
    record_refused(
        &env,
        "syntax.json",
        "{\"version\": \"4.2.0\",\n \"build_number\": 4200,\n}\n",
        "error: syntax.json: JSON syntax: trailing comma at line 3 column 1\n",
    );
    record_refused(
        &env,
        "missing.toml",
        &fw.replace("family = \"FaceGate 3D\"\n", ""),
        "error: missing.toml: product: missing field `family`\n",
    );
    record_refused(
        &env,
        "type.toml",
        &fw.replace("build_number = 4200", "build_number = \"4200\""),
        "error: type.toml: build_number: invalid type: string \"4200\", expected u64\n",
    );
    record_refused(
        &env,
        "unknown.toml",
        &fw.replace("sha256 = \"1c2d", "sha265 = \"1c2d"),
        "error: unknown.toml: artifacts[1].sha265: unknown field `sha265`, expected one of `name`, `sha256`, `size`\n",
    );
    record_refused(
        &env,
        "unknown.json",
        "{\"version\": \"4.2.0\", \"colour\": \"red\"}",
        "error: unknown.json: colour: unknown field `colour`, expected one of `product`, `version`, `build_number`, `security_version`, `built_at`, `source`, `artifacts`, `sbom`, `provenance`, `biometric_components`, `privacy_defaults`, `support_until`, `sigstore`, `attestation`\n",
    );
    record_refused(
        &env,
        "digest.toml",
        &fw.replace("sha256 = \"1c2d", "sha256 = \"1c2"),
        "error: digest.toml: artifacts[1].sha256: SHA-256 digest must be 64 hex digits\n",
    );
    record_refused(
        &env,
        "invalid.toml",
        &fw.replace("models = [\"FG3-100\", \"FG3-200W\"]", "models = []")
            .replace("size = 64", "size = 0")
            .replace(
                "support_until = 2031-02-10T00:00:00Z",
                "support_until = 2025-01-01T00:00:00Z",
            ),
        "error: invalid.toml: product.models: must list at least one model\nartifacts[1].size: must be > 0\nsupport_until: must be after built_at\n",
    );
    record_refused(
        &env,
        "time.toml",
        &fw.replace(
            "built_at = 2026-02-10T09:30:00Z",
            "built_at = \"next tuesday\"",
        ),
        "error: time.toml: built_at: not an RFC 3339 timestamp like 2026-03-01T12:00:00Z: \"next tuesday\": expected digits\n",
    );
    record_refused(
        &env,
        "empty.json",
        "",
        "error: empty.json: JSON syntax: EOF while parsing a value at line 1 column 0\n",
    );
    assert_eq!(env.log().len(), 1);
}

#[test]
fn record_refuses_bad_arguments() {
    let env = Env::new();
    env.init();
    let before = snapshot(&env);

    let out = env.record("nope.toml", 1);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "error: nope.toml: No such file or directory (os error 2)\n"
        )
    );
    let mut args = Env::record_args(INPUT, "1");
    args[1] = "test-report";
    let out = env.run(&args);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "error: fw.toml: unknown evidence kind \"test-report\" (known: firmware-build, lab-result, countersignature, claim, incident, key-event, accuracy-result, certification, export-classification, export-decision, shipment, hr-due-diligence, end-use-check, deployment-record)\n"
        )
    );
    let out = env.run(&Env::record_args(INPUT, "yesterday"));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: --iat: not an RFC 3339 timestamp like 2026-03-01T12:00:00Z: \"yesterday\": expected digits\n"
    );
    let out = env.run(&Env::record_args(INPUT, "1969-12-31T23:59:59Z"));
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "error: --iat: must not be before 1970\n")
    );
    let mut args = Env::record_args(INPUT, "1");
    args[6] = " ";
    let out = env.run(&args);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "error: fw.toml: issuer: must not be empty\n")
    );
    let mut args = Env::record_args(INPUT, "1");
    args[4] = "nokey.key";
    let out = env.run(&args);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "error: nokey.key: No such file or directory (os error 2)\n"
        )
    );
    assert_eq!(snapshot(&env), before);
    assert_eq!(env.log().len(), 0);
}

// ---------------------------------------------------------------------------
// checkpoint, prove, consistency

fn checkpoint(env: &Env, vkey: &NoteVerifier) -> (u64, [u8; 32], String) {
    let out = env.run(&["checkpoint", "--ledger", LEDGER]);
    assert_eq!(out.code, 0, "{out:?}");
    let v = checkpoint::verify(&out.stdout, vkey).expect("checkpoint verifies");
    let cp = v.checkpoint();
    assert_eq!(out.stderr, format!("checkpoint at size {}\n", cp.size));
    assert_eq!(cp.origin, ORIGIN);
    (cp.size, cp.root, out.stdout)
}

#[test]
fn checkpoints_verify_and_never_go_back() {
    let env = Env::new();
    let vkey = NoteVerifier::parse(&env.init()).unwrap();

    // The empty log.
    let (size, root, note) = checkpoint(&env, &vkey);
    assert_eq!((size, root), (0, mth(&[])));
    let lines: Vec<&str> = note.lines().collect();
    assert_eq!(lines.len(), 5, "{note}");
    assert_eq!(
        &lines[..3],
        [ORIGIN, "0", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]
    );
    assert_eq!(lines[3], "");
    assert!(lines[4].starts_with(&format!("\u{2014} {ORIGIN} ")));

    let mut last = 0;
    for (round, n) in [1u64, 2, 5].into_iter().enumerate() {
        for i in 0..n {
            env.record(INPUT, 1000 * round as u64 + i).ok();
        }
        let (size, root, note) = checkpoint(&env, &vkey);
        assert!(size > last);
        last = size;
        assert_eq!(root, mth(&entry_hashes(&env.log())));
        // Without new entries the same note comes back, not a new one.
        let (size2, _, note2) = checkpoint(&env, &vkey);
        assert_eq!((size2, note2), (size, note));
    }
    assert_eq!(last, 8);
    // A note signed by another key is refused by the verifier: the test can fail.
    let other = NoteVerifier::parse(&Env::new().init()).unwrap();
    let out = env.run(&["checkpoint", "--ledger", LEDGER]);
    assert!(checkpoint::verify(&out.stdout, &other).is_err());
    let audit = env.audit_ok();
    assert_eq!(
        audit,
        "ok: 8 entries, 15 nodes, 4 checkpoints recomputed and verified\n"
    );
}

/// `prove` text output, parsed.
struct ProveText {
    index: u64,
    size: u64,
    entry: String,
    leaf: Vec<u8>,
    root: Vec<u8>,
    proof: Vec<Vec<u8>>,
}

fn parse_prove_text(s: &str) -> ProveText {
    let lines: Vec<&str> = s.lines().collect();
    let field = |i: usize, name: &str| {
        lines[i]
            .strip_prefix(&format!("{name} "))
            .unwrap_or_else(|| panic!("line {i} is not {name}: {s}"))
            .to_owned()
    };
    ProveText {
        index: field(0, "index").parse().unwrap(),
        size: field(1, "tree_size").parse().unwrap(),
        entry: field(2, "entry_hash"),
        leaf: b64(&field(3, "leaf_hash")),
        root: b64(&field(4, "root_hash")),
        proof: lines[5..].iter().map(|l| b64(l)).collect(),
    }
}

#[test]
fn prove_prints_a_proof_that_verifies() {
    let env = Env::new();
    let vkey = NoteVerifier::parse(&env.init()).unwrap();
    for i in 0..5 {
        env.record(INPUT, i).ok();
    }
    let (cp_size, cp_root, _) = checkpoint(&env, &vkey);
    assert_eq!(cp_size, 5);
    for i in 5..7 {
        env.record(INPUT, i).ok();
    }
    let log = env.log();
    let hashes = entry_hashes(&log);

    for index in 0..5u64 {
        // By index and by hash; the default size is the latest checkpoint's.
        let by_index = env.run(&["prove", &index.to_string(), "--ledger", LEDGER]);
        let hash_hex = log[index as usize]["entry_hash"].as_str().unwrap();
        let by_hash = env.run(&["prove", hash_hex, "--ledger", LEDGER]);
        assert_eq!(by_index.code, 0, "{by_index:?}");
        assert_eq!(by_index.stdout, by_hash.stdout);
        assert_eq!(by_index.stderr, "");
        let ProveText {
            index: i,
            size,
            entry,
            leaf,
            root,
            proof,
        } = parse_prove_text(&by_index.stdout);
        assert_eq!((i, size, entry.as_str()), (index, 5, hash_hex));
        assert_eq!(hash32(&leaf), leaf_hash(&hashes[index as usize]));
        assert_eq!(hash32(&root), cp_root);
        let proof = InclusionProof::from_slices(&proof).unwrap();
        RootHash::new(size, cp_root)
            .verify_inclusion(&hash32(&leaf), index, &proof)
            .expect("inclusion proof verifies");
        // And not for another index.
        let other = (index + 1) % 5;
        assert!(
            RootHash::new(size, cp_root)
                .verify_inclusion(&hash32(&leaf), other, &proof)
                .is_err()
        );
    }

    // Entries after the checkpoint are proved against the whole log; --size chooses.
    for (entry, size) in [
        ("6", None),
        ("3", Some(4u64)),
        ("0", Some(1)),
        ("5", Some(7)),
    ] {
        let mut args = vec!["prove", entry, "--json", "--ledger", LEDGER];
        let s;
        if let Some(n) = size {
            s = n.to_string();
            args.extend(["--size", &s]);
        }
        let out = env.run(&args);
        assert_eq!(out.code, 0, "{out:?}");
        let j: J = serde_json::from_str(&out.stdout).unwrap();
        let index = j["index"].as_u64().unwrap();
        let tree_size = j["tree_size"].as_u64().unwrap();
        assert_eq!(index, entry.parse::<u64>().unwrap());
        assert_eq!(tree_size, size.unwrap_or(7));
        assert_eq!(j["entry_hash"], log[index as usize]["entry_hash"]);
        let root = hash32(&b64(j["root_hash"].as_str().unwrap()));
        assert_eq!(root, mth(&hashes[..tree_size as usize]));
        let leaf = hash32(&b64(j["leaf_hash"].as_str().unwrap()));
        let proof: Vec<Vec<u8>> = j["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| b64(h.as_str().unwrap()))
            .collect();
        RootHash::new(tree_size, root)
            .verify_inclusion(&leaf, index, &InclusionProof::from_slices(&proof).unwrap())
            .expect("inclusion proof verifies");
    }
}

#[test]
fn prove_refuses_what_cannot_be_proved() {
    let env = Env::new();
    env.init();
    for i in 0..3 {
        env.record(INPUT, i).ok();
    }
    let zeros = "0".repeat(64);
    for (args, stderr) in [
        (
            vec!["prove", "3"],
            "error: no entry 3 in the ledger\n".to_owned(),
        ),
        (
            vec!["prove", zeros.as_str()],
            format!("error: no entry {zeros} in the ledger\n"),
        ),
        (
            vec!["prove", "abc"],
            "error: no entry abc in the ledger\n".to_owned(),
        ),
        (
            vec!["prove", "0", "--size", "4"],
            "error: tree size 4 is beyond the log (size 3)\n".to_owned(),
        ),
        (
            vec!["prove", "2", "--size", "2"],
            "error: entry 2 is not in the tree of size 2; prove it against a size of at least 3\n"
                .to_owned(),
        ),
        (
            vec!["prove", "0", "--size", "0"],
            "error: entry 0 is not in the tree of size 0; prove it against a size of at least 1\n"
                .to_owned(),
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--ledger", LEDGER]);
        let out = env.run(&a);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "", stderr.as_str()),
            "{args:?}"
        );
    }
}

#[test]
fn consistency_prints_a_proof_that_verifies() {
    let env = Env::new();
    env.init();
    for i in 0..7 {
        env.record(INPUT, i).ok();
    }
    let hashes = entry_hashes(&env.log());
    for (old, new) in [(1u64, 7u64), (3, 7), (4, 7), (4, 4), (2, 5), (7, 7)] {
        let (o, n) = (old.to_string(), new.to_string());
        let text = env.run(&["consistency", &o, &n, "--ledger", LEDGER]);
        assert_eq!(text.code, 0, "{text:?}");
        let json = env.run(&["consistency", &o, &n, "--json", "--ledger", LEDGER]);
        assert_eq!(json.code, 0);
        assert_eq!(json.stderr, "");
        let j: J = serde_json::from_str(&json.stdout).unwrap();
        assert_eq!(
            (j["old_size"].as_u64(), j["new_size"].as_u64()),
            (Some(old), Some(new))
        );
        let old_root = hash32(&b64(j["old_root"].as_str().unwrap()));
        let new_root = hash32(&b64(j["new_root"].as_str().unwrap()));
        assert_eq!(old_root, mth(&hashes[..old as usize]));
        assert_eq!(new_root, mth(&hashes[..new as usize]));
        let proof: Vec<String> = j["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect();
        // Text form: "old N", then the proof hashes; the roots go to stderr.
        let mut want = format!("old {old}\n");
        for h in &proof {
            want.push_str(h);
            want.push('\n');
        }
        assert_eq!(text.stdout, want);
        assert_eq!(
            text.stderr,
            format!(
                "old root {} (size {old}), new root {} (size {new})\n",
                j["old_root"].as_str().unwrap(),
                j["new_root"].as_str().unwrap()
            )
        );
        let proof =
            ConsistencyProof::from_slices(&proof.iter().map(|h| b64(h)).collect::<Vec<_>>())
                .unwrap();
        RootHash::new(old, old_root)
            .verify_consistency(&RootHash::new(new, new_root), &proof)
            .expect("consistency proof verifies");
        if old < new {
            let mut wrong = new_root;
            wrong[0] ^= 1;
            assert!(
                RootHash::new(old, old_root)
                    .verify_consistency(&RootHash::new(new, wrong), &proof)
                    .is_err()
            );
        }
    }
}

#[test]
fn consistency_refuses_what_cannot_be_proved() {
    let env = Env::new();
    env.init();
    for i in 0..3 {
        env.record(INPUT, i).ok();
    }
    for ((old, new), stderr) in [
        ((1, 4), "error: new size 4 is beyond the log (size 3)\n"),
        ((3, 2), "error: old size 3 is larger than new size 2\n"),
        (
            (0, 2),
            "error: no consistency proof from size 0: every tree extends the empty one; use an old size of at least 1\n",
        ),
    ] {
        let out = env.run(&[
            "consistency",
            &old.to_string(),
            &new.to_string(),
            "--ledger",
            LEDGER,
        ]);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "", stderr),
            "{old} {new}"
        );
    }
}

// ---------------------------------------------------------------------------
// log, show

#[test]
fn log_lists_entries() {
    let env = Env::new();
    env.init();
    assert_eq!(env.run(&["log", "--ledger", LEDGER]).ok(), "");
    assert_eq!(env.run(&["log", "--json", "--ledger", LEDGER]).ok(), "[]\n");
    env.record(INPUT, 100).ok();
    env.record(INPUT, 1_772_366_400).ok();

    let out = env.run(&["log", "--ledger", LEDGER]);
    assert_eq!(out.stderr, "");
    assert_eq!(
        norm(out.ok()),
        "     0  <HASH>  firmware-build   1970-01-01T00:01:40Z  Aurelis  FaceGate 3D 4.2.0\n\
        \x20       Aurelis Security Systems FaceGate 3D 4.2.0 build 4200 (security version 7)\n\
        \x20    1  <HASH>  firmware-build   2026-03-01T12:00:00Z  Aurelis  FaceGate 3D 4.2.0\n\
        \x20       Aurelis Security Systems FaceGate 3D 4.2.0 build 4200 (security version 7)\n"
    );

    let log = env.log();
    assert_eq!(log.len(), 2);
    for (i, e) in log.iter().enumerate() {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "entry_hash",
                "iat",
                "index",
                "issuer",
                "kind",
                "statement",
                "subject"
            ]
        );
        assert_eq!(e["index"], i);
        assert_eq!(e["kind"], "firmware-build");
        assert_eq!(e["issuer"], "Aurelis");
        assert_eq!(e["subject"], "FaceGate 3D 4.2.0");
        let statement = b64(e["statement"].as_str().unwrap());
        assert_eq!(e["entry_hash"], sha256_hex(&statement).as_str());
        let st = evledger::statement::SignedStatement::parse(&statement).unwrap();
        assert_eq!(st.header().issued_at, e["iat"].as_u64().unwrap());
    }
    // The text listing shows the same hashes.
    for e in &log {
        assert!(out.stdout.contains(e["entry_hash"].as_str().unwrap()));
    }
}

#[test]
fn show_displays_an_entry() {
    let env = Env::new();
    env.init();
    let hash = env
        .record(INPUT, 100)
        .ok()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let kid = norm(env.run(&["key", "show", KEY]).ok());
    assert_eq!(kid, "kid <HASH>\n");
    let kid = env.run(&["key", "show", KEY]).stdout[4..68].to_owned();

    let out = env.run(&["show", &hash, "--ledger", LEDGER]);
    assert_eq!(out.stderr, "");
    let want = format!(
        "entry {hash}  index 0
  kind      firmware-build
  issuer    Aurelis
  subject   FaceGate 3D 4.2.0
  signed at 1970-01-01T00:01:40Z
  kid       {kid}
firmware build  Aurelis Security Systems FaceGate 3D 4.2.0
  models            FG3-100, FG3-200W
  build number      4200
  security version  7
  built at          2026-02-10T09:30:00Z
  source            git.aurelis.example/firmware/facegate @ 3f9c2d8e41b07a55c6e9d21f08b4c7a9e2d51f36
  support until     2031-02-10T00:00:00Z
  artifacts
    9a1f4c0e7b2d3c58e6f0a9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b  facegate-4.2.0-fg3.img  48234496 bytes
    1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f  facegate-4.2.0-fg3.img.sig  64 bytes
  sbom              cyclonedx-1.6 5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d
  provenance        https://slsa.dev/provenance/v1 c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3
  matcher           aurelis-face-matcher 7.1 model 0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e
  pad               aurelis-liveness-3d 3.4 model 7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e
  privacy defaults  template-only storage: yes, on-device matching: yes, raw images retained: no, templates kept 365 days
"
    );
    assert_eq!(out.ok(), want);
    assert_eq!(env.run(&["show", "0", "--ledger", LEDGER]).stdout, want);

    let out = env.run(&["show", &hash, "--json", "--ledger", LEDGER]);
    let j: J = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(j["entry_hash"], hash.as_str());
    assert_eq!(j["index"], 0);
    assert_eq!(j["kid"], kid.as_str());
    assert_eq!(j["certificates"], 0);
    assert_eq!(j["iat"], 100);
    assert_eq!(j["payload"]["build_number"], 4200);
    assert_eq!(j["payload"]["built_at"], 1_770_715_800);
    assert_eq!(j["payload"]["product"]["models"][1], "FG3-200W");
    assert_eq!(
        j["payload"]["privacy_defaults"]["template_retention_days"],
        365
    );
    assert_eq!(j["statement"], env.log()[0]["statement"]);

    let out = env.run(&["show", "1", "--ledger", LEDGER]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (1, "", "error: no entry 1 in the ledger\n")
    );
}

// ---------------------------------------------------------------------------
// audit

/// Opens the database directly, drops the append-only triggers of `table`, and runs `sql`.
fn tamper(env: &Env, table: &str, sql: &str) {
    let conn = rusqlite::Connection::open(env.path("L/evledger.db")).unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER {table}_no_update; DROP TRIGGER {table}_no_delete; {sql}"
    ))
    .unwrap();
}

fn three_entries_and_a_checkpoint(env: &Env) {
    env.init();
    for i in 0..3 {
        env.record(INPUT, i).ok();
    }
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    assert_eq!(
        env.audit_ok(),
        "ok: 3 entries, 4 nodes, 1 checkpoints recomputed and verified\n"
    );
}

#[test]
fn audit_finds_a_changed_statement() {
    let env = Env::new();
    three_entries_and_a_checkpoint(&env);
    // Flip the last byte of entry 1's signature.
    let conn = rusqlite::Connection::open(env.path("L/evledger.db")).unwrap();
    let mut st: Vec<u8> = conn
        .query_row("SELECT statement FROM entries WHERE idx = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    *st.last_mut().unwrap() ^= 1;
    drop(conn);
    tamper(&env, "entries", "");
    let conn = rusqlite::Connection::open(env.path("L/evledger.db")).unwrap();
    conn.execute("UPDATE entries SET statement = ?1 WHERE idx = 1", [&st])
        .unwrap();
    drop(conn);

    let out = env.run(&["audit", "--ledger", LEDGER]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(
        norm(&out.stdout),
        "FAIL entry 1: stored entry hash is not SHA-256 of the statement\n\
         FAIL entry 1: statement signature does not verify under key <HASH>\n\
         FAIL entry 1: stored node (level 0, index 1) differs\n\
         FAIL entry 1: stored node (level 1, index 0) differs\n\
         FAIL checkpoint 3: stored root differs from the root recomputed from the statements\n\
         FAIL checkpoint 3: signed note's origin, size or root differ from the recomputed tree\n"
    );
    assert_eq!(
        out.stderr,
        "error: audit found 6 problem(s) in 3 entries, 4 nodes, 1 checkpoints\n"
    );
}

#[test]
fn audit_finds_a_changed_node() {
    let env = Env::new();
    three_entries_and_a_checkpoint(&env);
    tamper(
        &env,
        "nodes",
        "UPDATE nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 2;",
    );
    let out = env.run(&["audit", "--ledger", LEDGER]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(
        out.stdout,
        "FAIL entry 2: stored node (level 0, index 2) differs\n"
    );
    assert_eq!(
        out.stderr,
        "error: audit found 1 problem(s) in 3 entries, 4 nodes, 1 checkpoints\n"
    );
}

#[test]
fn audit_finds_a_changed_index_column_and_a_deleted_checkpoint() {
    let env = Env::new();
    three_entries_and_a_checkpoint(&env);
    tamper(
        &env,
        "entries",
        "UPDATE entries SET subject = 'other' WHERE idx = 0;",
    );
    let out = env.run(&["audit", "--ledger", LEDGER]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stdout,
        "FAIL entry 0: indexed kind/issuer/subject/iat differ from the statement\n"
    );

    let env = Env::new();
    three_entries_and_a_checkpoint(&env);
    tamper(
        &env,
        "checkpoints",
        "UPDATE checkpoints SET note = replace(note, char(10) || '3' || char(10), char(10) || '2' || char(10));",
    );
    let out = env.run(&["audit", "--ledger", LEDGER]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stdout,
        "FAIL checkpoint 3: signed note: checkpoint note: signature by \"example.com/evidence-log\" does not verify\n"
    );
}

// ---------------------------------------------------------------------------
// pipes

#[test]
fn a_closed_stdout_is_not_an_error() {
    let env = Env::new();
    env.init();
    // Enough entries that the listing is far larger than a pipe buffer.
    {
        let mut l = evledger::ledger::Ledger::open(&env.path(LEDGER)).unwrap();
        let key = evledger::keys::read_signing_key(&env.path(KEY)).unwrap();
        let ev = evledger::evidence::Evidence::from_input(
            "firmware-build",
            &example(),
            evledger::evidence::InputFormat::Toml,
        )
        .unwrap();
        let signer = evledger::ledger::Signer {
            key: &key,
            issuer: "Aurelis",
            subject: "FaceGate 3D 4.2.0",
            x5chain: vec![],
        };
        let batch: Vec<_> = (0..2000)
            .map(|i| evledger::ledger::Ledger::sign(&ev, &signer, i).unwrap())
            .collect();
        l.append(&batch).unwrap();
    }
    for args in [
        vec!["log", "--ledger", LEDGER],
        vec!["log", "--json", "--ledger", LEDGER],
    ] {
        // `evledger log | head -1`
        let mut child = env
            .cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 100];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let out: common::Out = child.wait_with_output().unwrap().into();
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        assert_eq!(out.stderr, "", "{args:?}");
    }
    // The full listing really is bigger than a pipe buffer.
    let out = env.run(&["log", "--ledger", LEDGER]);
    assert!(out.ok().len() > 256 * 1024);
}

#[test]
fn trust_init_gives_roles_only_when_told_and_warns_of_self_endorsement() {
    let env = Env::new();
    env.init();
    env.run(&common::Env::record_args(INPUT, "2026-03-10T09:30:00Z"))
        .ok();
    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    // Without --role: the log key, and the signer only as a comment.
    let out = env.run(&["trust", "init", "--out", "bare.toml", "--ledger", LEDGER]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("no roles"), "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "note: bare.toml names no policy profile: `evledger verify` with it judges no claim and fails as \"not judged\" (exit 4) unless given --integrity-only; name the buyer's profiles with --profile\n"
        ),
        "{}",
        out.stderr
    );
    let bare = std::fs::read_to_string(env.path("bare.toml")).unwrap();
    assert!(!bare.contains("[[roles]]"), "{bare}");
    assert!(
        bare.contains("#     signed firmware-build; first at index 0"),
        "{bare}"
    );
    let v = env.run(&["verify", "b.cbor", "--trust", "bare.toml"]);
    assert_eq!(v.code, 1, "{v:?}");
    // With a role for the release key, the bundle verifies.
    let role = common::release_role();
    env.run(&[
        "trust", "init", "--out", "rel.toml", "--role", &role, "--ledger", LEDGER,
    ])
    .ok();
    let v = env.run(&[
        "verify",
        "b.cbor",
        "--trust",
        "rel.toml",
        "--integrity-only",
    ]);
    assert_eq!(v.code, 0, "{v:?}");
    // The vendor's key also given the lab's role: a warning, and a comment in the file.
    let pub_key = common::root().join("keys.example/release-engineer.key.pub");
    let lab = format!("lab=countersignature:key:{}", pub_key.display());
    let root = common::root().join("keys.example/accreditation-root-ca.pem");
    let lab_root = format!("lab=countersignature:x509-root:{}", root.display());
    let out = env.run(&[
        "trust",
        "init",
        "--out",
        "both.toml",
        "--role",
        &role,
        "--role",
        &lab,
        "--role",
        &lab_root,
        "--ledger",
        LEDGER,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.lines().any(|l| l.starts_with("warning: key ")
            && l.contains(
                "holds the vendor role release-engineering and the independent role lab"
            )),
        "{}",
        out.stderr
    );
    let both = std::fs::read_to_string(env.path("both.toml")).unwrap();
    assert!(
        both.contains("# WARNING: key ") && both.contains("the independent role lab"),
        "{both}"
    );
    assert!(both.contains("x509_roots = ["), "{both}");
    let v = env.run(&[
        "verify",
        "b.cbor",
        "--trust",
        "both.toml",
        "--integrity-only",
    ]);
    assert_eq!(v.code, 0, "the file parses, roots included: {v:?}");
    // A malformed --role is a usage error that shows the syntax.
    let out = env.run(&[
        "trust",
        "init",
        "--out",
        "x.toml",
        "--role",
        "lab:countersignature",
        "--ledger",
        LEDGER,
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("expected NAME=KIND[,KIND…]:SIGNER"),
        "{}",
        out.stderr
    );
    assert!(!env.path("x.toml").exists());
}
