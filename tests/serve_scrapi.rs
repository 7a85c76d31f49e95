//! `evledger serve` against draft-ietf-scitt-scrapi-11 over real loopback HTTP: registration
//! answered `201` or `202`, the receipt resource (`200`, `204`, `404`), the keys, documents,
//! readers' tokens, the configuration file and a graceful stop on SIGTERM
//! (`specs/service.md`). Nothing here waits on time: each step waits for an event.
#![cfg(feature = "serve")]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use common::{Env, LEDGER, chmod, root, sha256_hex};
use evledger::cbor::{self, Value};
use evledger::receipt::{ReceiptEntry, verify_receipt};
use sha2::Digest as _;

/// Only a guard against a hung server; no test waits on time.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A running `evledger serve`, killed when dropped so a failing test never leaks it.
struct Server {
    child: Child,
    addr: String,
    _stdout: BufReader<ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    fn problem(&self) -> (String, String) {
        assert_eq!(
            self.header("content-type"),
            Some("application/concise-problem-details+cbor"),
            "{self:?}"
        );
        let v = cbor::decode(&self.body).unwrap();
        let text = |k: i64| v.get(&Value::int(k)).unwrap().as_text().unwrap().to_owned();
        (text(-1), text(-2))
    }
}

impl Server {
    /// `evledger serve --listen 127.0.0.1:0 --ledger L ARGS…`, waiting for its first line.
    fn start(env: &Env, args: &[&str]) -> Server {
        let mut child = Command::new(common::BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--ledger", LEDGER])
            .args(args)
            .current_dir(env.dir.path())
            .env_remove("EVLEDGER_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim_end()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("first line of serve: {line:?}"))
            .to_owned();
        Server {
            child,
            addr,
            _stdout: stdout,
        }
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(HANG_GUARD)).unwrap();
        s.write_all(&[head.as_bytes(), body].concat()).unwrap();
        let mut out = Vec::new();
        if let Err(e) = s.read_to_end(&mut out) {
            assert!(
                e.kind() == std::io::ErrorKind::ConnectionReset && !out.is_empty(),
                "reading the response: {e}"
            );
        }
        parse_response(&out)
    }

    fn post_cose(&self, body: &[u8]) -> Resp {
        self.request(
            "POST",
            "/entries",
            &[("Content-Type", "application/cose")],
            body,
        )
    }

    fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], b"")
    }

    fn get_as(&self, path: &str, token: &str) -> Resp {
        let auth = format!("Bearer {token}");
        self.request("GET", path, &[("Authorization", &auth)], b"")
    }
}

fn parse_response(bytes: &[u8]) -> Resp {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(bytes)));
    let head = std::str::from_utf8(&bytes[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    Resp {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    }
}

/// A ledger with the example log key whose policy admits the release engineer for
/// `kinds` (none: not admitted at all).
fn ledger(kinds: &[&str]) -> Env {
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
    std::fs::copy(
        root().join("keys.example/release-engineer.key.pub"),
        env.path("release.pub"),
    )
    .unwrap();
    for k in kinds {
        env.run(&[
            "signer",
            "add",
            "--kinds",
            k,
            "--key",
            "release.pub",
            "--ledger",
            LEDGER,
        ])
        .ok();
    }
    env
}

/// Signs `kind` evidence from `input` with the release engineer's key at `iat`.
fn sign(env: &Env, kind: &str, input: &str, iat: u64) -> Vec<u8> {
    let out = format!("{kind}-{iat}.cose");
    env.run(&[
        "sign",
        kind,
        input,
        "--key",
        common::KEY,
        "--issuer",
        "Aurelis",
        "--subject",
        "FaceGate 3D 4.2.0",
        "--iat",
        &iat.to_string(),
        "--out",
        &out,
    ])
    .ok();
    std::fs::read(env.path(&out)).unwrap()
}

fn log_key(env: &Env) -> ed25519_dalek::VerifyingKey {
    let ledger = evledger::ledger::Ledger::open_read_only(&env.path(LEDGER)).unwrap();
    ledger.log_keys().unwrap()[0]
}

fn sha(b: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(b).into()
}

#[test]
fn a_receipt_ready_within_the_wait_is_201_otherwise_202_and_the_location_is_polled() {
    let env = ledger(&["firmware-build"]);
    let first = sign(&env, "firmware-build", "fw.toml", 1_800_000_000);
    let second = sign(&env, "firmware-build", "fw.toml", 1_800_000_001);

    // Waiting as long as allowed: the writer checkpoints right after the commit, so the answer
    // is 201 with the receipt, and Location names the receipt resource (§2.3.1).
    let server = Server::start(&env, &["--registration-wait-ms", "30000"]);
    let r = server.post_cose(&first);
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/cose"));
    let location = format!("/entries/{}", sha256_hex(&first));
    assert_eq!(r.header("location"), Some(location.as_str()));
    verify_receipt(&r.body, ReceiptEntry::Statement(&first), &log_key(&env)).unwrap();
    drop(server);

    // A zero wait answers 202 at the commit: the entry is already in the log when the client
    // reads the answer, and Location is the same resource a 201 names (§2.3.1, §2.3.2).
    let server = Server::start(&env, &["--registration-wait-ms", "0"]);
    let r = server.post_cose(&second);
    assert_eq!(r.status, 202, "{r:?}");
    let location = format!("/entries/{}", sha256_hex(&second));
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.body.is_empty());
    let log = env.log();
    assert_eq!(log.len(), 2, "acknowledged before the commit: {log:?}");
    assert_eq!(log[1]["entry_hash"], sha256_hex(&second).as_str());

    // Poll the Location until the receipt is there: 204 with Retry-After and no-store while it
    // is not (§2.4.2), then 200 with the receipt and the same Location (§2.4.1).
    let done = (0..10_000)
        .find_map(|_| {
            let r = server.get(&location);
            match r.status {
                200 => Some(r),
                204 => {
                    assert_eq!(r.header("retry-after"), Some("1"));
                    assert_eq!(r.header("cache-control"), Some("no-store"));
                    std::thread::sleep(Duration::from_millis(5));
                    None
                }
                _ => panic!("{r:?}"),
            }
        })
        .expect("the receipt is ready once the writer checkpoints");
    assert_eq!(done.header("content-type"), Some("application/cose"));
    assert_eq!(done.header("location"), Some(location.as_str()));
    let v = verify_receipt(&done.body, ReceiptEntry::Statement(&second), &log_key(&env)).unwrap();
    assert_eq!(v.index(), 1);

    // The same statement again appends nothing; with a zero wait it is acknowledged 202 too, at
    // the same Location.
    let r = server.post_cose(&second);
    assert_eq!(
        (r.status, r.header("location")),
        (202, Some(location.as_str())),
        "{r:?}"
    );
    assert_eq!(env.log().len(), 2);

    // An entry hash the log does not hold is 404 with problem details (§2.4.3); a locator that
    // is no entry hash is SCRAPI's "Invalid locator".
    let r = server.get(&format!("/entries/{}", sha256_hex(b"never registered")));
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.problem().0, "Not Found");
    let r = server.get("/entries/not-a-hash");
    assert_eq!((r.status, r.problem().0.as_str()), (400, "Invalid locator"));
    env.audit_ok();
}

#[test]
fn an_entry_no_checkpoint_covers_is_204_until_one_does() {
    let env = ledger(&["firmware-build"]);
    let first = sign(&env, "firmware-build", "fw.toml", 1_800_000_000);
    let server = Server::start(&env, &[]);
    // Registered by the library while the service runs (another process appending), with no
    // checkpoint: in the log, with no receipt possible yet. (Entries left uncovered before the
    // service starts are covered by the checkpoint it signs at start.)
    {
        let mut l = evledger::ledger::Ledger::open(&env.path(LEDGER)).unwrap();
        let sub = evledger::ledger::Submission {
            statement: first.clone(),
            documents: Vec::new(),
        };
        l.register(&[sub], &evledger::ledger::RegisterOptions::default())
            .unwrap();
    }
    let location = format!("/entries/{}", sha256_hex(&first));
    let r = server.get(&location);
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.body.is_empty());
    // Submitted again, the statement names an entry no checkpoint covers: the writer signs one,
    // and the answer carries the receipt.
    let r = server.post_cose(&first);
    assert_eq!(r.status, 200, "{r:?}");
    verify_receipt(&r.body, ReceiptEntry::Statement(&first), &log_key(&env)).unwrap();
    assert_eq!(server.get(&location).status, 200);
    // The next registration's checkpoint covers the whole log, so the first entry's receipt is
    // ready from then on.
    let second = sign(&env, "firmware-build", "fw.toml", 1_800_000_001);
    let r = server.post_cose(&second);
    assert!(matches!(r.status, 201 | 202), "{r:?}");
    let r = (0..10_000)
        .map(|_| server.get(&location))
        .find(|r| r.status != 204)
        .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    verify_receipt(&r.body, ReceiptEntry::Statement(&first), &log_key(&env)).unwrap();
}

#[test]
fn the_keys_are_a_cose_key_set_and_verify_the_receipts() {
    let env = ledger(&["firmware-build"]);
    let statement = sign(&env, "firmware-build", "fw.toml", 1_800_000_000);
    let server = Server::start(&env, &[]);
    let r = server.request(
        "GET",
        "/.well-known/scitt-keys",
        &[("Accept", "application/cbor")],
        b"",
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/cbor"));
    let set = cbor::decode(&r.body).unwrap();
    let keys = set.as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    // An OKP (1) Ed25519 (6) key with its RFC 9679 thumbprint as kid.
    assert_eq!(key.get(&Value::int(1)).unwrap().as_i64(), Some(1));
    assert_eq!(key.get(&Value::int(-1)).unwrap().as_i64(), Some(6));
    let x = key.get(&Value::int(-2)).unwrap().as_bytes().unwrap();
    let kid = key.get(&Value::int(2)).unwrap().as_bytes().unwrap();
    let published = ed25519_dalek::VerifyingKey::from_bytes(x.try_into().unwrap()).unwrap();
    assert_eq!(published, log_key(&env));
    assert_eq!(kid, evledger::keys::KeyId::of(&published).0);

    // A receipt from the service verifies under the published key, by an independent reader of
    // the key set (no evledger key file involved).
    let r2 = server.post_cose(&statement);
    assert_eq!(r2.status, 201, "{r2:?}");
    verify_receipt(&r2.body, ReceiptEntry::Statement(&statement), &published).unwrap();

    // One key by its kid in unpadded base64url (§2.2).
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(kid);
    let r = server.get(&format!("/.well-known/scitt-keys/{b64}"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(cbor::decode(&r.body).unwrap(), *key);
    let r = server.get("/.well-known/scitt-keys/AAAA");
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.problem().0, "No such key");
}

/// The detail of each refusal is the message `evledger register` gives for the same statement
/// on the same ledger.
#[track_caller]
fn same_as_cli(env: &Env, statement: &[u8], detail: &str) {
    std::fs::write(env.path("again.cose"), statement).unwrap();
    let out = env
        .cmd(&["register", "again.cose", "--ledger", LEDGER])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(detail),
        "CLI said {stderr:?}, service said {detail:?}"
    );
}

#[test]
fn refusals_are_problem_details_carrying_the_clis_messages() {
    let env = ledger(&["lab-result"]);
    let server = Server::start(&env, &[]);

    // Kind not allowed: the signer is pinned for lab results only.
    let fw = sign(&env, "firmware-build", "fw.toml", 1_800_000_000);
    let r = server.post_cose(&fw);
    assert_eq!(r.status, 400, "{r:?}");
    let (title, detail) = r.problem();
    assert_eq!(title, "Rejected");
    assert!(
        detail.contains("may not register firmware-build statements"),
        "{detail}"
    );
    same_as_cli(&env, &fw, &detail);

    // Citation missing: a lab result about a build the log does not hold.
    let lab = std::fs::read_to_string(root().join("examples/facegate/lab-result-pad-l2.toml"))
        .unwrap()
        .replace("@FW_420@", &"ab".repeat(32));
    env.write("lab.toml", &lab);
    let st = sign(&env, "lab-result", "lab.toml", 1_800_000_001);
    let r = server.post_cose(&st);
    assert_eq!(r.status, 400, "{r:?}");
    let (title, detail) = r.problem();
    assert_eq!(title, "Unresolved Citation");
    assert!(detail.starts_with("target.build"), "{detail}");
    same_as_cli(&env, &st, &detail);

    // Unknown signer: a key nobody admitted.
    env.run(&["key", "generate", "--out", "stranger.key"]).ok();
    env.run(&[
        "sign",
        "firmware-build",
        "fw.toml",
        "--key",
        "stranger.key",
        "--issuer",
        "X",
        "--subject",
        "Y",
        "--iat",
        "1800000002",
        "--out",
        "stranger.cose",
    ])
    .ok();
    let st = std::fs::read(env.path("stranger.cose")).unwrap();
    let r = server.post_cose(&st);
    let (title, detail) = r.problem();
    assert_eq!((r.status, title.as_str()), (400, "Rejected"));
    assert!(detail.starts_with("unknown signer"), "{detail}");
    same_as_cli(&env, &st, &detail);

    // Over the size limit: refused from the declared length, in the CLI's words.
    let r = server.post_cose(&vec![0u8; (1 << 20) + 1]);
    assert_eq!(r.status, 413, "{r:?}");
    assert!(r.problem().1.contains("over the limit of 1048576 bytes"));

    // A statement the profile refuses for its algorithm is SCRAPI's "Bad Signature Algorithm".
    let mut tampered = fw.clone();
    // The protected header's alg (label 1) is EdDSA, encoded 01 27; -7 (ES256) is 01 26.
    let at = tampered.windows(2).position(|w| w == [0x01, 0x27]).unwrap();
    tampered[at + 1] = 0x26;
    let r = server.post_cose(&tampered);
    assert_eq!(
        (r.status, r.problem().0.as_str()),
        (400, "Bad Signature Algorithm"),
        "{r:?}"
    );

    assert!(env.log().is_empty());
}

/// A configuration with three readers: every kind, firmware builds only, lab results only.
fn readers_config(env: &Env, public: &[&str]) -> &'static str {
    let h = |t: &str| sha256_hex(t.as_bytes());
    let public: Vec<String> = public.iter().map(|k| format!("{k:?}")).collect();
    env.write(
        "serve.toml",
        &format!(
            "public_kinds = [{}]\n\n[[readers]]\nname = \"auditor\"\ntoken_sha256 = \"{}\"\nkinds = [\"*\"]\n\n[[readers]]\nname = \"release\"\ntoken_sha256 = \"{}\"\nkinds = [\"firmware-build\"]\n\n[[readers]]\nname = \"lab\"\ntoken_sha256 = \"{}\"\nkinds = [\"lab-result\"]\n",
            public.join(", "),
            h("auditor-token"),
            h("release-token"),
            h("lab-token"),
        ),
    );
    "serve.toml"
}

#[test]
fn statements_are_read_with_a_token_and_a_refusal_says_nothing_of_the_entry() {
    let env = ledger(&["firmware-build"]);
    let cfg = readers_config(&env, &[]);
    let server = Server::start(&env, &["--config", cfg]);
    let st = sign(&env, "firmware-build", "fw.toml", 1_800_000_000);
    assert_eq!(server.post_cose(&st).status, 201);
    let present = format!("/entries/{}/statement", sha256_hex(&st));
    let absent = format!("/entries/{}/statement", sha256_hex(b"absent"));

    // Readers of the kind, and of every kind, get the statement.
    for token in ["auditor-token", "release-token"] {
        let r = server.get_as(&present, token);
        assert_eq!((r.status, &r.body), (200, &st), "{r:?}");
    }
    // Anonymous, a wrong token, or a reader of another kind: the answer for the entry is the
    // answer for an entry that does not exist, byte for byte apart from the date.
    let same = |a: &Resp, b: &Resp| {
        assert_eq!((a.status, &a.body), (b.status, &b.body));
        assert_eq!(a.header("www-authenticate"), b.header("www-authenticate"));
    };
    let anon = server.get(&present);
    assert_eq!(anon.status, 401, "{anon:?}");
    assert_eq!(
        anon.header("www-authenticate"),
        Some("Bearer realm=\"evledger\"")
    );
    same(&anon, &server.get(&absent));
    same(&anon, &server.get_as(&present, "guessed-token"));
    let lab = server.get_as(&present, "lab-token");
    assert_eq!(lab.status, 404, "{lab:?}");
    same(&lab, &server.get_as(&absent, "lab-token"));
    assert!(!lab.problem().1.contains(&sha256_hex(&st)));

    // Checkpoints, keys, health and receipts stay public: they show only hashes.
    for p in [
        "/checkpoint".to_owned(),
        "/.well-known/scitt-keys".to_owned(),
        "/healthz".to_owned(),
        format!("/entries/{}", sha256_hex(&st)),
    ] {
        assert_eq!(server.get(&p).status, 200, "{p}");
    }
    drop(server);

    // The operator makes firmware builds public: anyone reads them.
    let cfg = readers_config(&env, &["firmware-build"]);
    let server = Server::start(&env, &["--config", cfg]);
    let r = server.get(&present);
    assert_eq!((r.status, &r.body), (200, &st), "{r:?}");
    drop(server);

    // With receipts protected too, a receipt gets the same refusal as an absent entry.
    let cfg = readers_config(&env, &[]);
    let text = std::fs::read_to_string(env.path(cfg)).unwrap();
    env.write(cfg, &format!("public_receipts = false\n{text}"));
    let server = Server::start(&env, &["--config", cfg]);
    let receipt = format!("/entries/{}", sha256_hex(&st));
    let anon = server.get(&receipt);
    assert_eq!(anon.status, 401, "{anon:?}");
    same(
        &anon,
        &server.get(&format!("/entries/{}", sha256_hex(b"absent"))),
    );
    let r = server.get_as(&receipt, "release-token");
    assert_eq!(r.status, 200, "{r:?}");
    verify_receipt(&r.body, ReceiptEntry::Statement(&st), &log_key(&env)).unwrap();
}

#[test]
fn documents_are_uploaded_by_digest_stored_with_the_citing_entry_and_read_by_its_readers() {
    let env = ledger(&["firmware-build"]);
    let cfg = readers_config(&env, &[]);
    let server = Server::start(&env, &["--config", cfg, "--max-document-bytes", "4096"]);
    let image = b"the firmware image the build record cites".to_vec();
    let h = sha256_hex(&image);
    let upload =
        |body: &[u8], headers: &[(&str, &str)]| server.request("POST", "/documents", headers, body);

    let r = upload(&image, &[]);
    assert_eq!(r.status, 201, "{r:?}");
    let location = format!("/documents/{h}");
    assert_eq!(r.header("location"), Some(location.as_str()));
    let v = cbor::decode(&r.body).unwrap();
    assert_eq!(
        v.get_text_key("sha256").unwrap().as_bytes(),
        Some(&sha(&image)[..])
    );
    assert_eq!(
        v.get_text_key("size").unwrap().as_u64(),
        Some(image.len() as u64)
    );
    assert_eq!(
        v.get_text_key("location").unwrap().as_text(),
        Some(location.as_str())
    );
    // A repeat is idempotent.
    let r = upload(&image, &[]);
    assert_eq!(
        (r.status, r.header("location")),
        (200, Some(location.as_str())),
        "{r:?}"
    );

    // A declared digest must be the body's; a body over the limit is refused.
    let digest = format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(sha(b"something else"))
    );
    let r = upload(&image, &[("Content-Digest", &digest)]);
    assert_eq!(
        (r.status, r.problem().0.as_str()),
        (400, "Digest Mismatch"),
        "{r:?}"
    );
    let good = format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(sha(b"other document"))
    );
    assert_eq!(
        upload(b"other document", &[("Content-Digest", &good)]).status,
        201
    );
    let r = upload(&vec![7u8; 4097], &[]);
    assert_eq!(r.status, 413, "{r:?}");
    assert!(
        r.problem().1.contains("over the limit of 4096 bytes"),
        "{r:?}"
    );

    // No entry holds the upload yet: not served, to anyone.
    assert_eq!(server.get_as(&location, "auditor-token").status, 404);
    assert_eq!(server.get(&location).status, 401);

    // A firmware build citing the image by digest is registered with it.
    let fw = std::fs::read_to_string(env.path("fw.toml"))
        .unwrap()
        .replacen(
            "9a1f4c0e7b2d3c58e6f0a9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b",
            &h,
            1,
        );
    env.write("fw-doc.toml", &fw);
    let st = sign(&env, "firmware-build", "fw-doc.toml", 1_800_000_000);
    assert_eq!(server.post_cose(&st).status, 201);
    let ledger = evledger::ledger::Ledger::open_read_only(&env.path(LEDGER)).unwrap();
    use evledger::store::StoreRead as _;
    assert_eq!(
        ledger.store().document(&sha(&image)).unwrap(),
        Some(image.clone())
    );
    env.audit_ok();
    // Its upload is removed once the ledger holds it; the uncited one stays.
    let upload_of = |d: &[u8]| env.path(&format!("{LEDGER}/uploads/{}", sha256_hex(d)));
    assert!(upload_of(b"other document").exists());
    let removed = (0..10_000).any(|_| {
        let gone = !upload_of(&image).exists();
        if !gone {
            std::thread::sleep(Duration::from_millis(5));
        }
        gone
    });
    assert!(removed, "the upload stays after the ledger stored it");

    // Read by a reader of every kind, or by a reader of the citing entry's kind naming it; the
    // others get the one refusal.
    let r = server.get_as(&location, "auditor-token");
    assert_eq!((r.status, &r.body), (200, &image), "{r:?}");
    let via = format!("{location}?entry={}", sha256_hex(&st));
    let r = server.get_as(&via, "release-token");
    assert_eq!((r.status, &r.body), (200, &image), "{r:?}");
    assert_eq!(server.get_as(&location, "release-token").status, 404);
    assert_eq!(server.get_as(&via, "lab-token").status, 404);
    let anon = server.get(&via);
    assert_eq!(anon.status, 401);
    assert_eq!(
        anon.body,
        server.get(&format!("/documents/{}", "0".repeat(64))).body
    );
}

#[test]
fn the_example_configuration_file_is_valid_and_bad_ones_name_the_key() {
    let example = root().join("examples/serve.toml");
    let c = evledger::serve::config::ServeConfig::load(
        Some(&example),
        &evledger::serve::config::Overrides::default(),
    )
    .unwrap();
    assert!(c.listen.ip().is_loopback());
    assert!(!c.access.readers.is_empty());

    let env = ledger(&[]);
    env.write(
        "bad.toml",
        "[[readers]]\nname = \"x\"\ntoken_sha256 = \"abc\"\nkinds = [\"*\"]\n",
    );
    let out = env
        .cmd(&["serve", "--config", "bad.toml", "--ledger", LEDGER])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml: readers[0].token_sha256: is not 64 hex digits"),
        "{stderr}"
    );
}

#[test]
fn sigterm_finishes_the_registration_in_flight_and_stops_accepting() {
    let env = ledger(&["firmware-build"]);
    let st = sign(&env, "firmware-build", "fw.toml", 1_800_000_000);
    let mut server = Server::start(&env, &["--registration-wait-ms", "30000"]);

    // A registration in flight: headers sent with Expect: 100-continue, and the 100 read, so the
    // handler is reading the body; half the body sent.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(HANG_GUARD)).unwrap();
    let head = format!(
        "POST /entries HTTP/1.1\r\nHost: {}\r\nContent-Type: application/cose\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        server.addr,
        st.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 100"), "{line:?}");
    reader.read_line(&mut line).unwrap();
    let half = st.len() / 2;
    s.write_all(&st[..half]).unwrap();

    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // The listener closes on the signal: wait for a connection to be refused.
    let refused = (0..10_000).any(|_| {
        let r = TcpStream::connect(&server.addr).is_err();
        if !r {
            std::thread::sleep(Duration::from_millis(5));
        }
        r
    });
    assert!(
        refused,
        "the server still accepts connections after SIGTERM"
    );

    // The registration in flight is finished and acknowledged, then the process exits cleanly.
    s.write_all(&st[half..]).unwrap();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    let r = parse_response(&out);
    assert_eq!(r.status, 201, "{r:?}");
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");

    // After a restart the acknowledged statement is in the log, with its receipt.
    let server = Server::start(&env, &[]);
    let r = server.get(&format!("/entries/{}", sha256_hex(&st)));
    assert_eq!(r.status, 200, "{r:?}");
    verify_receipt(&r.body, ReceiptEntry::Statement(&st), &log_key(&env)).unwrap();
    assert_eq!(env.log().len(), 1);
    env.audit_ok();
}

#[test]
fn a_statement_by_a_revoked_key_is_rejected_with_the_clis_message() {
    use ed25519_dalek::SigningKey;
    use evledger::evidence::{Evidence, InputFormat};
    use evledger::ledger::{Ledger, Signer};
    let env = ledger(&[]);
    let key = SigningKey::from_bytes(&[5; 32]);
    let signer = Signer {
        key: &key,
        issuer: "Aurelis",
        subject: "FaceGate 3D",
        x5chain: Vec::new(),
    };
    let fw = std::fs::read_to_string(env.path("fw.toml")).unwrap();
    let build = |n: u64| {
        let text = fw.replace("build_number = 4200", &format!("build_number = {n}"));
        Evidence::from_input("firmware-build", &text, InputFormat::Toml).unwrap()
    };
    {
        // The key registers a build (which admits it), then revokes itself.
        let mut l = Ledger::open(&env.path(LEDGER)).unwrap();
        l.record(&build(1), &signer, 100).unwrap();
        let vk = key.verifying_key();
        let revoke = format!(
            "event = \"revoke\"\nreason = \"private key exposed\"\n[key]\nkid = \"{}\"\npublic_key = \"{}\"\n",
            evledger::keys::KeyId::of(&vk),
            base64::engine::general_purpose::STANDARD.encode(vk.to_bytes())
        );
        let ev = Evidence::from_input("key-event", &revoke, InputFormat::Toml).unwrap();
        l.record(&ev, &signer, 200).unwrap();
    }
    let st = Ledger::sign(&build(2), &signer, 300).unwrap().statement;
    let server = Server::start(&env, &[]);
    let r = server.post_cose(&st);
    assert_eq!(r.status, 400, "{r:?}");
    let (title, detail) = r.problem();
    assert_eq!(title, "Rejected");
    assert!(
        detail.contains("was revoked by the key event at entry 1"),
        "{detail}"
    );
    same_as_cli(&env, &st, &detail);
    // Nothing of it was appended: the log holds the build, the key event and the log's own
    // adverse index, which the checkpoint the service signs at start appends over the key event.
    let kinds: Vec<_> = env.log().iter().map(|e| e["kind"].clone()).collect();
    assert_eq!(
        kinds,
        ["firmware-build", "key-event", "adverse-index"],
        "{kinds:?}"
    );
}

#[test]
fn the_checkpoint_interval_defers_receipts_never_acknowledgements() {
    let env = ledger(&["firmware-build"]);
    let st: Vec<Vec<u8>> = (0..5)
        .map(|i| sign(&env, "firmware-build", "fw.toml", 1_800_000_000 + i))
        .collect();
    let location = |s: &[u8]| format!("/entries/{}", sha256_hex(s));
    let published = || {
        evledger::ledger::Ledger::open_read_only(&env.path(LEDGER))
            .unwrap()
            .published_checkpoint()
            .unwrap()
            .map(|cp| cp.size)
    };
    // The longest interval. The writer's first batch is checkpointed at once (it has signed
    // none yet); the next checkpoint is due 60 s later, far beyond this test's next steps.
    let mut server = Server::start(
        &env,
        &[
            "--checkpoint-interval-ms",
            "60000",
            "--registration-wait-ms",
            "0",
        ],
    );
    let r = server.post_cose(&st[0]);
    assert_eq!(r.status, 202, "{r:?}");
    let r = (0..10_000)
        .map(|_| server.get(&location(&st[0])))
        .find(|r| r.status != 204)
        .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    // Acknowledged at the commit, with no checkpoint over them: in the log, no receipt yet.
    for s in &st[1..3] {
        let r = server.post_cose(s);
        assert_eq!(r.status, 202, "{r:?}");
    }
    assert_eq!(env.log().len(), 3);
    assert_eq!(published(), Some(1));
    let r = server.get(&location(&st[2]));
    assert_eq!(r.status, 204, "{r:?}");

    // Stopping covers what is waiting: the writer signs before it returns.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(server.child.wait().unwrap().success());
    assert_eq!(published(), Some(3));

    // A short interval: a registration waiting for its receipt gets it once the interval has
    // passed since the last checkpoint, within the registration wait: 201.
    let server = Server::start(
        &env,
        &[
            "--checkpoint-interval-ms",
            "50",
            "--registration-wait-ms",
            "30000",
        ],
    );
    for (i, s) in st[3..].iter().enumerate() {
        let r = server.post_cose(s);
        assert_eq!(r.status, 201, "{r:?}");
        let v = verify_receipt(&r.body, ReceiptEntry::Statement(s), &log_key(&env)).unwrap();
        assert_eq!(v.index(), 3 + i as u64);
    }
    // Out of range, with the key named.
    let out = env.run(&[
        "serve",
        "--ledger",
        LEDGER,
        "--checkpoint-interval-ms",
        "60001",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with(
            "error: --checkpoint-interval-ms: value: 60001 ms is more than 60000 ms: receipts would wait that long"
        ),
        "{}",
        out.stderr
    );
    env.audit_ok();
}
