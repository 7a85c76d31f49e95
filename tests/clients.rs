//! The clients of `evledger serve` over real loopback HTTP: `submit`, `bundle --from` and
//! `monitor` against the built binary serving a ledger, and against small loopback servers in
//! this file that serve tlog-tiles computed here from the ledger's entry hashes, exact bundle
//! bytes, a forked log, or an answer that never comes (`specs/service.md`, "Clients").
#![cfg(all(feature = "serve", feature = "client"))]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use common::{Env, LEDGER, chmod, entry_hashes, mth, root, sha256_hex};
use evledger::merkle::Hash;
use evledger::receipt::{ReceiptEntry, verify_receipt};

/// Only a guard against a hung peer; no test waits on time.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A running `evledger serve`, killed when dropped.
struct Server {
    child: Child,
    url: String,
    _stdout: BufReader<ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The reader token the tests' services accept for every kind.
const READER_TOKEN: &str = "reader-token";

impl Server {
    /// `evledger serve` on `ledger`, with one reader holding [`READER_TOKEN`] for every kind.
    fn start(env: &Env, ledger: &str) -> Server {
        Server::start_with(env, ledger, "")
    }

    /// [`Server::start`] with more configuration lines (top-level keys).
    fn start_with(env: &Env, ledger: &str, config: &str) -> Server {
        let file = format!("serve-{ledger}.toml");
        env.write(
            &file,
            &format!(
                "{config}\n[[readers]]\nname = \"monitor\"\ntoken_sha256 = \"{}\"\nkinds = [\"*\"]\n",
                sha256_hex(READER_TOKEN.as_bytes())
            ),
        );
        let mut child = Command::new(common::BIN)
            .args([
                "serve",
                "--config",
                &file,
                "--listen",
                "127.0.0.1:0",
                "--ledger",
                ledger,
            ])
            .current_dir(env.dir.path())
            .env_remove("EVLEDGER_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line of serve: {line:?}"))
            .to_owned();
        Server {
            child,
            url,
            _stdout: stdout,
        }
    }
}

/// What the loopback test server does with a request target.
enum Reply {
    /// Answer with this status, content type and body.
    Serve(u16, &'static str, Vec<u8>),
    /// Pass the request to the upstream `evledger serve`.
    Forward,
    /// Say so on the channel, then never answer.
    Hang,
    /// Answer with these bytes, status line and headers included.
    Raw(String),
}

/// Answers a request by its target (`POST /entries` for a POST) and its header lines.
type Handler = Arc<dyn Fn(&str, &str) -> Reply + Send + Sync>;

/// A loopback HTTP/1.1 server answering GET requests by `handler`, forwarding to `upstream`.
struct TestServer {
    url: String,
}

impl TestServer {
    fn start(
        upstream: Option<String>,
        handler: Handler,
        hung: Option<mpsc::Sender<String>>,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (handler, upstream, hung) = (handler.clone(), upstream.clone(), hung.clone());
                std::thread::spawn(move || serve_one(stream, &*handler, upstream, hung));
            }
        });
        TestServer { url }
    }
}

fn serve_one(
    mut stream: TcpStream,
    handler: &(dyn Fn(&str, &str) -> Reply + Send + Sync),
    upstream: Option<String>,
    hung: Option<mpsc::Sender<String>>,
) {
    stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    // A request body is read and dropped: the handlers answer by method and target.
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    let mut words = head.split(' ');
    let method = words.next().unwrap().to_owned();
    let target = format!("{method} {}", words.next().unwrap());
    let target = target.strip_prefix("GET ").unwrap_or(&target).to_owned();
    match handler(&target, &head) {
        Reply::Serve(status, ct, body) => {
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            let _ = stream.write_all(&body);
        }
        Reply::Forward => {
            let up = upstream.expect("no upstream to forward to");
            let addr = up.strip_prefix("http://").unwrap();
            let mut u = TcpStream::connect(addr).unwrap();
            u.set_read_timeout(Some(HANG_GUARD)).unwrap();
            let mut req = String::new();
            for line in head.trim_end().split("\r\n") {
                if !line.to_ascii_lowercase().starts_with("connection:") {
                    req.push_str(line);
                    req.push_str("\r\n");
                }
            }
            req.push_str("Connection: close\r\n\r\n");
            u.write_all(req.as_bytes()).unwrap();
            let mut answer = Vec::new();
            let _ = u.read_to_end(&mut answer);
            let _ = stream.write_all(&answer);
        }
        Reply::Raw(text) => {
            let _ = stream.write_all(text.as_bytes());
        }
        Reply::Hang => {
            if let Some(tx) = hung {
                let _ = tx.send(target);
            }
            // Hold the connection until the client is killed and closes it.
            let _ = stream.read(&mut byte);
        }
    }
}

/// Decodes a tlog-tiles `<N>[.p/<W>]` path tail into the index and width.
fn tile_index(tail: &str) -> Option<(u64, u64)> {
    let (n, w) = match tail.split_once(".p/") {
        Some((n, w)) => (n, w.parse().ok()?),
        None => (tail, 256),
    };
    let digits: String = n.split('/').map(|g| g.trim_start_matches('x')).collect();
    Some((digits.parse().ok()?, w))
}

/// A tlog-tiles resource for a log of the given entry hashes, computed straight from the
/// C2SP tlog-tiles text: entry bundles of 16-bit-length-prefixed entries, and hash tiles of
/// the complete subtrees at level 8·L, each the RFC 9162 hash of its leaves.
fn tile(entries: &[Hash], target: &str) -> Option<Vec<u8>> {
    let rest = target.strip_prefix("/tile/")?;
    let (level, tail) = rest.split_once('/')?;
    let (index, width) = tile_index(tail)?;
    let mut body = Vec::new();
    if level == "entries" {
        for i in index * 256..index * 256 + width {
            let e = entries.get(i as usize)?;
            body.extend_from_slice(&[0, 32]);
            body.extend_from_slice(e);
        }
        return Some(body);
    }
    let span = 1usize << (8 * level.parse::<u32>().ok()?);
    for j in index * 256..index * 256 + width {
        let start = j as usize * span;
        let leaves = entries.get(start..start + span)?;
        body.extend_from_slice(&mth(leaves));
    }
    Some(body)
}

/// A handler serving tiles computed from the ledger `ledger` of `env` and forwarding the rest.
fn tiles_of(env: &Env, ledger: &str) -> Handler {
    let dir = env.dir.path().to_path_buf();
    let ledger = ledger.to_owned();
    Arc::new(move |target: &str, _head: &str| {
        if !target.starts_with("/tile/") {
            return Reply::Forward;
        }
        let out = Command::new(common::BIN)
            .args(["log", "--json", "--ledger", &ledger])
            .current_dir(&dir)
            .output()
            .unwrap();
        let log: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        match tile(&entry_hashes(&log), target) {
            Some(body) => Reply::Serve(200, "application/octet-stream", body),
            None => Reply::Serve(404, "text/plain", b"no such tile\n".to_vec()),
        }
    })
}

/// A ledger with the example log key whose policy admits the release engineer for firmware
/// builds and product/legal for incidents; returns the log's verifier key.
fn ledger(env: &Env) -> String {
    let key = env.path("log.key");
    std::fs::copy(root().join("keys.example/log.key"), &key).unwrap();
    chmod(&key, 0o600);
    let vkey = env
        .run(&[
            "init",
            "--origin",
            "aurelis.example/evidence-log",
            "--log-key",
            "log.key",
            "--ledger",
            LEDGER,
        ])
        .ok()
        .trim_end()
        .to_owned();
    for (kinds, key) in [
        ("firmware-build", "release-engineer.key"),
        ("incident", "product-legal.key"),
    ] {
        let public = format!("{key}.pub");
        std::fs::copy(root().join("keys.example").join(&public), env.path(&public)).unwrap();
        env.run(&[
            "signer", "add", "--kinds", kinds, "--key", &public, "--ledger", LEDGER,
        ])
        .ok();
    }
    let legal = env.path("product-legal.key");
    std::fs::copy(root().join("keys.example/product-legal.key"), &legal).unwrap();
    chmod(&legal, 0o600);
    env.write("log.vkey", &format!("{vkey}\n"));
    vkey
}

/// Signs a firmware build with the release key at `iat` into `out`; returns the statement.
fn sign_build(env: &Env, iat: u64, out: &str) -> Vec<u8> {
    env.run(&[
        "sign",
        "firmware-build",
        "fw.toml",
        "--key",
        common::KEY,
        "--issuer",
        "Aurelis",
        "--subject",
        "FaceGate 3D 4.2.0",
        "--iat",
        &iat.to_string(),
        "--out",
        out,
    ])
    .ok();
    std::fs::read(env.path(out)).unwrap()
}

/// Signs an incident about the build `fw` fixed by the build `fix` (entry hashes) with
/// product/legal's key.
fn sign_incident(env: &Env, fw: &str, fix: &str, out: &str) {
    let text = std::fs::read_to_string(root().join("examples/facegate/incident-aur-2026-014.toml"))
        .unwrap()
        .replace("@FW_420@", fw)
        .replace("@FW_421@", fix);
    env.write("incident.toml", &text);
    env.run(&[
        "sign",
        "incident",
        "incident.toml",
        "--key",
        "product-legal.key",
        "--issuer",
        "Aurelis Security Systems",
        "--subject",
        "Incident AUR-2026-014",
        "--iat",
        "1800000500",
        "--out",
        out,
    ])
    .ok();
}

fn log_key(env: &Env) -> ed25519_dalek::VerifyingKey {
    let ledger = evledger::ledger::Ledger::open_read_only(&env.path(LEDGER)).unwrap();
    ledger.log_keys().unwrap()[0]
}

#[test]
fn submit_registers_and_writes_a_verified_receipt() {
    let env = Env::new();
    ledger(&env);
    let statement = sign_build(&env, 1_800_000_000, "fw.cose");
    let server = Server::start(&env, LEDGER);
    let submit = |args: &[&str]| {
        let mut a = vec!["submit"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--to", &server.url, "--log-key", "log.vkey"]);
        env.run(&a)
    };
    let out = submit(&["fw.cose", "--receipt", "receipts"]);
    let hash = sha256_hex(&statement);
    assert_eq!(
        out.ok(),
        format!(
            "fw.cose: registered entry {hash} at index 0 (receipt verified, receipt receipts/{hash}.receipt.cose)\n"
        )
    );
    let receipt = std::fs::read(env.path(&format!("receipts/{hash}.receipt.cose"))).unwrap();
    let v = verify_receipt(
        &receipt,
        ReceiptEntry::Statement(&statement),
        &log_key(&env),
    )
    .unwrap();
    assert_eq!((v.index(), v.tree_size()), (0, 1));
    env.audit_ok();

    // Again, from standard input: already registered, with a receipt of the same entry.
    let mut child = env
        .cmd(&["submit", "-", "--to", &server.url, "--log-key", "log.vkey"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&statement).unwrap();
    let out: common::Out = child.wait_with_output().unwrap().into();
    assert_eq!(
        out.ok(),
        format!("standard input: already registered entry {hash} at index 0 (receipt verified)\n")
    );
    assert_eq!(env.log().len(), 1);

    // The log keys of a trust file verify receipts too.
    env.run(&["trust", "init", "--out", "t.toml", "--ledger", LEDGER])
        .ok();
    let out = env.run(&[
        "submit",
        "fw.cose",
        "--to",
        &server.url,
        "--trust",
        "t.toml",
    ]);
    assert!(
        out.ok().starts_with("fw.cose: already registered entry "),
        "{out:?}"
    );

    // A log key that did not sign the receipt: it is not accepted.
    env.run(&["key", "generate", "--out", "other.key"]).ok();
    let other = env.run(&[
        "init",
        "--origin",
        "other.example/log",
        "--log-key",
        "other.key",
        "--ledger",
        "other",
    ]);
    let other_vkey = other.ok().trim_end().to_owned();
    let out = env.run(&[
        "submit",
        "fw.cose",
        "--to",
        &server.url,
        "--log-key",
        &other_vkey,
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: fw.cose: the receipt does not verify: receipt kid "),
        "{}",
        out.stderr
    );
}

#[test]
fn submit_polls_a_pending_registration_until_its_receipt_is_ready() {
    let env = Env::new();
    ledger(&env);
    let statement = sign_build(&env, 1_800_000_000, "fw.cose");
    let server = Server::start(&env, LEDGER);
    // Registered first, so that the receipt exists behind the pending answers below.
    env.run(&[
        "submit",
        "fw.cose",
        "--to",
        &server.url,
        "--log-key",
        "log.vkey",
    ])
    .ok();
    let hash = sha256_hex(&statement);
    let location = format!("/entries/{hash}");
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Arc::clone(&polls);
    // SCRAPI's asynchronous form: 202 with a Location, then 204 while the receipt is not ready.
    let front = TestServer::start(
        Some(server.url.clone()),
        Arc::new(move |target: &str, _head: &str| {
            if target == "POST /entries" {
                return Reply::Raw(format!(
                    "HTTP/1.1 202 Accepted\r\nLocation: {location}\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                ));
            }
            assert_eq!(target, location);
            if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
                return Reply::Raw(
                    "HTTP/1.1 204 No Content\r\nRetry-After: 0\r\nConnection: close\r\n\r\n".into(),
                );
            }
            Reply::Forward
        }),
        None,
    );
    let out = env.run(&[
        "submit",
        "fw.cose",
        "--to",
        &front.url,
        "--log-key",
        "log.vkey",
        "--receipt",
        "r",
    ]);
    assert!(
        out.ok().starts_with(&format!(
            "fw.cose: registered entry {hash} at index 0 (receipt verified"
        )),
        "{out:?}"
    );
    assert_eq!(polls.load(std::sync::atomic::Ordering::SeqCst), 3);
    let receipt = std::fs::read(env.path(&format!("r/{hash}.receipt.cose"))).unwrap();
    verify_receipt(
        &receipt,
        ReceiptEntry::Statement(&statement),
        &log_key(&env),
    )
    .unwrap();
}

#[test]
fn submit_follows_the_services_own_asynchronous_answer() {
    let env = Env::new();
    ledger(&env);
    let statement = sign_build(&env, 1_800_000_000, "fw.cose");
    // Every registration answered 202 at its commit; the receipt resource is polled.
    let server = Server::start_with(
        &env,
        LEDGER,
        "registration_wait_ms = 0\nretry_after_secs = 1",
    );
    let out = env.run(&[
        "submit",
        "fw.cose",
        "--to",
        &server.url,
        "--log-key",
        "log.vkey",
        "--token",
        READER_TOKEN,
        "--receipt",
        "r",
    ]);
    let hash = sha256_hex(&statement);
    assert!(
        out.ok().starts_with(&format!(
            "fw.cose: registered entry {hash} at index 0 (receipt verified"
        )),
        "{out:?}"
    );
    let receipt = std::fs::read(env.path(&format!("r/{hash}.receipt.cose"))).unwrap();
    verify_receipt(
        &receipt,
        ReceiptEntry::Statement(&statement),
        &log_key(&env),
    )
    .unwrap();
}

#[test]
fn refused_statements_show_the_services_problem_and_the_others_are_sent() {
    let env = Env::new();
    ledger(&env);
    sign_build(&env, 1_800_000_000, "good.cose");
    env.run(&["key", "generate", "--out", "stranger.key"]).ok();
    env.run(&[
        "sign",
        "firmware-build",
        "fw.toml",
        "--key",
        "stranger.key",
        "--issuer",
        "Nobody",
        "--subject",
        "FaceGate",
        "--iat",
        "1800000000",
        "--out",
        "stranger.cose",
    ])
    .ok();
    env.write("garbage.cose", "not a statement");
    let server = Server::start(&env, LEDGER);
    let out = env.run(&[
        "submit",
        "stranger.cose",
        "garbage.cose",
        "good.cose",
        "--to",
        &server.url,
        "--log-key",
        "log.vkey",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: stranger.cose: the service refused it: 400: Rejected"),
        "{}",
        out.stderr
    );
    assert!(
        lines[0].contains(": unknown signer: no key with kid "),
        "{}",
        out.stderr
    );
    assert!(
        lines[1].starts_with(
            "error: garbage.cose: the service refused it: 400: Malformed Signed Statement: "
        ),
        "{}",
        out.stderr
    );
    assert_eq!(lines[2], "error: 2 of 3 statement(s) not registered");
    assert!(
        out.stdout.starts_with("good.cose: registered entry "),
        "{}",
        out.stdout
    );
    assert_eq!(env.log().len(), 1);

    // An unreachable service stops the run at the first file.
    drop(server);
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let out = env.run(&[
        "submit",
        "good.cose",
        "stranger.cose",
        "--to",
        &url,
        "--log-key",
        "log.vkey",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with(&format!("error: good.cose: POST {url}/entries: ")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: 1 file(s) not sent"),
        "{}",
        out.stderr
    );

    // Usage errors: a scheme other than http and https (https: tests/serve_tls.rs), and no key
    // to verify receipts with.
    let out = env.run(&[
        "submit",
        "good.cose",
        "--to",
        "ftp://log.example",
        "--log-key",
        "log.vkey",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("ftp://log.example: not an http:// or https:// URL"),
        "{}",
        out.stderr
    );
    let out = env.run(&["submit", "good.cose", "--to", &url]);
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn bundle_from_a_service_is_the_bundle_the_cli_writes() {
    let env = Env::new();
    ledger(&env);
    let statement = sign_build(&env, 1_800_000_000, "fw.cose");
    env.run(&["register", "fw.cose", "--ledger", LEDGER]).ok();
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    let hash = sha256_hex(&statement);
    env.run(&[
        "bundle", "--entry", &hash, "--out", "cli.cbor", "--ledger", LEDGER,
    ])
    .ok();
    let expected = std::fs::read(env.path("cli.cbor")).unwrap();
    let server = Server::start(&env, LEDGER);
    let from = |args: &[&str]| {
        let mut a = vec!["bundle", "--from", &server.url, "--token", READER_TOKEN];
        a.extend_from_slice(args);
        env.run(&a)
    };
    let out = from(&["--entry", &hash, "--out", "got.cbor"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(std::fs::read(env.path("got.cbor")).unwrap(), expected);

    // Bundles are served to readers only.
    let out = env.run(&[
        "bundle",
        "--from",
        &server.url,
        "--entry",
        &hash,
        "--out",
        "a.cbor",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(": 401: Unauthorized: ")
            && out.stderr.contains(
                "hint: bundles are served to authorised readers: give a reader token with --token"
            ),
        "{}",
        out.stderr
    );
    assert!(!env.path("a.cbor").exists());

    // A trust file under which it verifies: written, the same bytes.
    let role = common::release_role();
    let profile = root().join("specs/profiles/evidence-complete.toml");
    env.run(&[
        "trust",
        "init",
        "--out",
        "buyer.toml",
        "--profile",
        profile.to_str().unwrap(),
        "--role",
        &role,
        "--ledger",
        LEDGER,
    ])
    .ok();
    let out = from(&["--entry", &hash, "--out", "v.cbor", "--trust", "buyer.toml"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains(", verified)"), "{}", out.stderr);
    assert_eq!(std::fs::read(env.path("v.cbor")).unwrap(), expected);
    // Keys but no profile: the policy is not met (verify's exit 4), and nothing is written.
    env.run(&[
        "trust", "init", "--out", "rel.toml", "--role", &role, "--ledger", LEDGER,
    ])
    .ok();
    let out = from(&["--entry", &hash, "--out", "r.cbor", "--trust", "rel.toml"]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(!env.path("r.cbor").exists());
    // No keys at all: verification fails (exit 1), nothing is written.
    env.run(&["trust", "init", "--out", "bare.toml", "--ledger", LEDGER])
        .ok();
    let out = from(&["--entry", &hash, "--out", "t.cbor", "--trust", "bare.toml"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("did not verify"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing written"), "{}", out.stderr);
    assert!(!env.path("t.cbor").exists());

    // An unknown entry: the service's answer, and nothing written.
    let out = from(&["--entry", "7", "--out", "n.cbor"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(": 404: Not Found: entry=7: "),
        "{}",
        out.stderr
    );
    assert!(!env.path("n.cbor").exists());
    // The audit bundles' selections reach the service as theirs (it judges the kind).
    for (flag, says) in [
        (
            "--export-decision",
            "is a firmware-build, not an export-decision",
        ),
        (
            "--deployment",
            "is a firmware-build, not a deployment-record",
        ),
    ] {
        let out = from(&[flag, &hash, "--out", "n.cbor"]);
        assert_eq!(out.code, 1, "{out:?}");
        let param = flag.trim_start_matches('-');
        assert!(
            out.stderr
                .contains(&format!(": 400: Bad Request: {param}={hash}: "))
                && out.stderr.contains(says),
            "{}",
            out.stderr
        );
        assert!(!env.path("n.cbor").exists());
    }

    // More entries, and the forms --all and --since: the CLI's bytes again, the service asked
    // second and first.
    std::fs::write(env.path("since.note"), get(&server.url, "/checkpoint")).unwrap();
    let fw2 = sha256_hex(&sign_build(&env, 1_800_000_100, "fw2.cose"));
    env.run(&[
        "submit",
        "fw2.cose",
        "--to",
        &server.url,
        "--log-key",
        "log.vkey",
    ])
    .ok();
    env.run(&[
        "bundle",
        "--all",
        "--since",
        "since.note",
        "--out",
        "cli2.cbor",
        "--ledger",
        LEDGER,
    ])
    .ok();
    let out = from(&["--all", "--since", "since.note", "--out", "got2.cbor"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        std::fs::read(env.path("got2.cbor")).unwrap(),
        std::fs::read(env.path("cli2.cbor")).unwrap()
    );
    let got = env
        .cmd(&[
            "bundle",
            "--from",
            &server.url,
            "--token",
            READER_TOKEN,
            "--entry",
            &fw2,
            "--out",
            "-",
        ])
        .output()
        .unwrap()
        .stdout;
    env.run(&[
        "bundle",
        "--entry",
        &fw2,
        "--out",
        "cli3.cbor",
        "--ledger",
        LEDGER,
    ])
    .ok();
    assert_eq!(got, std::fs::read(env.path("cli3.cbor")).unwrap());
}

/// `evledger monitor URL --state mon` watching product/legal's key, as a reader: the token is
/// sent with every request (a service with readers configured serves statements only to them).
fn monitor(env: &Env, url: &str, extra: &[&str]) -> common::Out {
    let mut a = vec!["--token", READER_TOKEN];
    a.extend_from_slice(extra);
    monitor_anonymous(env, url, &a)
}

/// `evledger monitor URL --state mon` watching product/legal's key, with no token.
fn monitor_anonymous(env: &Env, url: &str, extra: &[&str]) -> common::Out {
    let mut a = vec![
        "monitor",
        url,
        "--state",
        "mon",
        "--watch-key",
        "product-legal.key.pub",
    ];
    a.extend_from_slice(extra);
    env.run(&a)
}

#[test]
fn monitor_follows_checkpoints_flags_entries_and_reports_a_fork() {
    let env = Env::new();
    ledger(&env);
    let fw = sign_build(&env, 1_800_000_000, "fw.cose");
    std::fs::copy(
        root().join("examples/facegate/firmware-4.2.1.toml"),
        env.path("fw421.toml"),
    )
    .unwrap();
    env.run(&[
        "sign",
        "firmware-build",
        "fw421.toml",
        "--key",
        common::KEY,
        "--issuer",
        "Aurelis",
        "--subject",
        "FaceGate 3D 4.2.1",
        "--iat",
        "1800000050",
        "--out",
        "fix.cose",
    ])
    .ok();
    let fix = std::fs::read(env.path("fix.cose")).unwrap();
    env.run(&["register", "fw.cose", "fix.cose", "--ledger", LEDGER])
        .ok();
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    // The same log, copied: it goes on with other entries, a second history under one key.
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for f in std::fs::read_dir(from).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
    };
    copy(&env.path(LEDGER), &env.path("fork"));

    let server = Server::start(&env, LEDGER);

    // First run: no key pinned yet.
    let out = monitor(&env, &server.url, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("has no pinned log key yet"),
        "{}",
        out.stderr
    );
    let out = monitor(&env, &server.url, &["--log-key", "log.vkey"]);
    let fw_hash = sha256_hex(&fw);
    let first = out.ok();
    assert!(
        first.contains("(first run: every entry checked)"),
        "{first}"
    );
    assert!(
        first.contains(&format!("entry 0 {fw_hash} firmware-build kid ")),
        "{first}"
    );
    assert!(!first.contains("FLAG"), "{first}");
    let state1 = std::fs::read(env.path("mon/state")).unwrap();

    // An incident by the watched key: listed, flagged as watched and as adverse.
    sign_incident(&env, &fw_hash, &sha256_hex(&fix), "inc.cose");
    env.run(&[
        "submit",
        "inc.cose",
        "--to",
        &server.url,
        "--log-key",
        "log.vkey",
    ])
    .ok();
    let out = monitor(&env, &server.url, &[]);
    let second = out.ok();
    let size1 = note_size(&state_note(&state1));
    assert!(
        second.contains(&format!("(extends size {size1})")),
        "{second}"
    );
    let inc_hash = sha256_hex(&std::fs::read(env.path("inc.cose")).unwrap());
    assert!(
        second.lines().any(|l| l.starts_with("FLAG watched-key ")
            && l.contains(&inc_hash)
            && l.contains(
                "signed by watched key product-legal.key.pub, signature verifies: incident"
            )),
        "{second}"
    );
    assert!(
        second
            .lines()
            .any(|l| l.starts_with("FLAG adverse ") && l.contains(&inc_hash)),
        "{second}"
    );
    // Nothing new: nothing listed, the state stays.
    let out = monitor(&env, &server.url, &[]);
    assert!(out.ok().contains("no new entries"), "{out:?}");
    let state2 = std::fs::read(env.path("mon/state")).unwrap();

    // The copy goes on with other statements: a second history signed by the same log key.
    let forked = Server::start(&env, "fork");
    sign_build(&env, 1_800_000_100, "fw2.cose");
    sign_build(&env, 1_800_000_200, "fw3.cose");
    for f in ["fw2.cose", "fw3.cose"] {
        env.run(&["submit", f, "--to", &forked.url, "--log-key", "log.vkey"])
            .ok();
    }
    let out = monitor(&env, &forked.url, &[]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: FORK: the log has shown two histories: "),
        "{}",
        out.stderr
    );
    let served = String::from_utf8(get(&forked.url, "/checkpoint")).unwrap();
    let seen = state_note(&state2);
    assert!(out.stderr.contains(&seen), "{}", out.stderr);
    assert!(out.stderr.contains(&served), "{}", out.stderr);
    assert!(
        out.stderr.contains("signed with two different roots"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read(env.path("mon/state")).unwrap(),
        state2,
        "state changed by a fork"
    );

    // The copy grows past the size seen: the tree its tiles give for the new signed root has
    // another prefix than the one seen, which the monitor recomputes from the tiles.
    sign_build(&env, 1_800_000_300, "fw4.cose");
    env.run(&[
        "submit",
        "fw4.cose",
        "--to",
        &forked.url,
        "--log-key",
        "log.vkey",
    ])
    .ok();
    let out = monitor(&env, &forked.url, &[]);
    assert_eq!(out.code, 3, "{out:?}");
    let size = note_size(&seen);
    assert!(
        out.stderr.contains("entries have root ")
            && out.stderr.contains(&format!("signed at size {size}")),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(env.path("mon/state")).unwrap(), state2);
}

/// The checkpoint note a monitor state file holds (after its `checkpoint` line).
fn state_note(state: &[u8]) -> String {
    let text = std::str::from_utf8(state).unwrap();
    text.split_once("\ncheckpoint\n").unwrap().1.to_owned()
}

fn note_size(note: &str) -> u64 {
    let n = evledger::note::Note::parse(note).unwrap();
    evledger::checkpoint::Checkpoint::parse(n.text())
        .unwrap()
        .size
}

/// A GET by hand, for what a test compares with.
fn get(url: &str, path: &str) -> Vec<u8> {
    let addr = url.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    out[end + 4..].to_vec()
}

#[test]
fn a_monitor_killed_mid_run_keeps_its_state() {
    let env = Env::new();
    ledger(&env);
    sign_build(&env, 1_800_000_000, "fw.cose");
    let server = Server::start(&env, LEDGER);
    env.run(&[
        "submit",
        "fw.cose",
        "--to",
        &server.url,
        "--log-key",
        "log.vkey",
    ])
    .ok();
    monitor(&env, &server.url, &["--log-key", "log.vkey"]).ok();
    let before = std::fs::read(env.path("mon/state")).unwrap();

    // A new entry, and a service that never answers for its statement: the monitor is killed
    // while it waits, after reading the checkpoint and the tiles.
    let fw2 = sign_build(&env, 1_800_000_100, "fw2.cose");
    env.run(&[
        "submit",
        "fw2.cose",
        "--to",
        &server.url,
        "--log-key",
        "log.vkey",
    ])
    .ok();
    let (tx, rx) = mpsc::channel();
    let stuck = TestServer::start(
        Some(server.url.clone()),
        Arc::new(move |target: &str, _head: &str| {
            if target.ends_with("/statement") {
                Reply::Hang
            } else {
                Reply::Forward
            }
        }),
        Some(tx),
    );
    let mut child = env
        .cmd(&["monitor", &stuck.url, "--state", "mon"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let target = rx.recv_timeout(HANG_GUARD).unwrap();
    assert_eq!(target, format!("/entries/{}/statement", sha256_hex(&fw2)));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::read(env.path("mon/state")).unwrap(), before);

    // The next run picks up where the last complete one ended.
    let out = monitor(&env, &server.url, &[]);
    let text = out.ok();
    assert!(
        text.contains(&format!("{} firmware-build", sha256_hex(&fw2))),
        "{text}"
    );
    assert_ne!(std::fs::read(env.path("mon/state")).unwrap(), before);

    // A damaged state is reported with its path and never repaired silently.
    let mut damaged = std::fs::read_to_string(env.path("mon/state")).unwrap();
    damaged = damaged.replacen("frontier ", "frontier A", 1);
    env.write("mon/state", &damaged);
    let out = monitor(&env, &server.url, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: mon/state: line 2: not `frontier <base64 of 32 bytes>`"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(env.path("mon/state")).unwrap(),
        damaged
    );
}

#[test]
fn monitor_reads_statements_with_a_token_and_refuses_what_it_cannot_check() {
    let env = Env::new();
    ledger(&env);
    sign_build(&env, 1_800_000_000, "fw.cose");
    let server = Server::start(&env, LEDGER);
    env.run(&[
        "submit",
        "fw.cose",
        "--to",
        &server.url,
        "--log-key",
        "log.vkey",
    ])
    .ok();
    // The service serves statements to its readers only.
    let out = monitor_anonymous(&env, &server.url, &["--log-key", "log.vkey"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains(": 401: Unauthorized: nothing readable here without a reader token")
            && out.stderr.contains("give a reader token with --token"),
        "{}",
        out.stderr
    );
    assert!(
        !env.path("mon/state").exists(),
        "a run that checked nothing saved a state"
    );
    let out = monitor_anonymous(&env, &server.url, &["--token", READER_TOKEN]);
    assert!(out.ok().contains(" firmware-build kid "), "{out:?}");
    let state = std::fs::read(env.path("mon/state")).unwrap();

    // A second entry whose entry bundle is served wrong: the tiles do not match the
    // checkpoint, which is a failure of the service, not a fork; the state stays.
    sign_build(&env, 1_800_000_100, "fw2.cose");
    env.run(&[
        "submit",
        "fw2.cose",
        "--to",
        &server.url,
        "--log-key",
        "log.vkey",
    ])
    .ok();
    let tiles = tiles_of(&env, LEDGER);
    let lying = TestServer::start(
        Some(server.url.clone()),
        Arc::new(move |target: &str, head: &str| {
            if target.starts_with("/tile/entries/")
                && let Reply::Serve(s, ct, mut body) = tiles(target, head)
            {
                let last = body.len() - 1;
                body[last] ^= 1;
                return Reply::Serve(s, ct, body);
            }
            tiles(target, head)
        }),
        None,
    );
    let out = monitor_anonymous(&env, &lying.url, &["--token", READER_TOKEN]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: the log's tiles do not match its checkpoint of size ")
            && out
                .stderr
                .contains("the entry bundles do not hash to its root"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(env.path("mon/state")).unwrap(), state);

    // An older checkpoint than the one seen (a stale copy): refused, the state stays.
    let seen = note_size(&state_note(&state));
    let old_note = state_note(&state);
    let front = TestServer::start(
        Some(server.url.clone()),
        Arc::new(move |target: &str, _head: &str| {
            if target == "/checkpoint" {
                return Reply::Serve(200, "text/plain", old_note.clone().into_bytes());
            }
            Reply::Forward
        }),
        None,
    );
    let out = monitor_anonymous(&env, &server.url, &["--token", READER_TOKEN]);
    let newer = out.ok();
    assert!(newer.contains(&format!("(extends size {seen})")), "{newer}");
    let out = monitor(&env, &front.url, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "shows a checkpoint of size {seen}, older than the one of size "
        )),
        "{}",
        out.stderr
    );

    // Another log key than the pinned one.
    env.run(&["key", "generate", "--out", "other.key"]).ok();
    let other = env.run(&[
        "init",
        "--origin",
        "other.example/log",
        "--log-key",
        "other.key",
        "--ledger",
        "other",
    ]);
    let out = monitor(&env, &front.url, &["--log-key", other.ok().trim_end()]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("is not the log key pinned in mon/log.vkey"),
        "{}",
        out.stderr
    );
}

/// A log made in the test, with no ledger: statements signed here, tiles computed here, a
/// checkpoint signed here with the example log key.
struct FakeLog {
    statements: std::collections::HashMap<String, Vec<u8>>,
    hashes: Vec<Hash>,
    note: String,
}

impl FakeLog {
    /// The log of `statements`, in order.
    fn new(statements: &[Vec<u8>]) -> FakeLog {
        let log_key = example_key("log.key");
        let hashes: Vec<Hash> = statements
            .iter()
            .map(|s| evledger::statement::entry_hash(s))
            .collect();
        let origin = "aurelis.example/evidence-log";
        let cp = evledger::checkpoint::Checkpoint {
            origin: origin.into(),
            size: hashes.len() as u64,
            root: mth(&hashes),
            extensions: Vec::new(),
        };
        let signer = evledger::note::NoteSigner::new(origin, log_key).unwrap();
        let note = cp.sign(&signer).unwrap().to_text();
        FakeLog {
            statements: statements
                .iter()
                .map(|s| (sha256_hex(s), s.clone()))
                .collect(),
            hashes,
            note,
        }
    }

    fn answer(&self, target: &str) -> Reply {
        if target == "/checkpoint" {
            return Reply::Serve(200, "text/plain", self.note.clone().into_bytes());
        }
        if let Some(h) = target
            .strip_prefix("/entries/")
            .and_then(|t| t.strip_suffix("/statement"))
            && let Some(s) = self.statements.get(h)
        {
            return Reply::Serve(200, "application/cose", s.clone());
        }
        match tile(&self.hashes, target) {
            Some(body) => Reply::Serve(200, "application/octet-stream", body),
            None => Reply::Serve(404, "text/plain", b"not here\n".to_vec()),
        }
    }
}

/// An example private key, read as the key files are (mode 0600).
fn example_key(name: &str) -> ed25519_dalek::SigningKey {
    let env = Env::new();
    let path = env.path(name);
    std::fs::copy(root().join("keys.example").join(name), &path).unwrap();
    chmod(&path, 0o600);
    evledger::keys::read_signing_key(&path).unwrap()
}

/// `n` firmware-build statements signed by the release key, their payloads marked by `tag`.
fn statements(tag: &str, from: usize, n: usize) -> Vec<Vec<u8>> {
    let key = example_key("release-engineer.key");
    let header = |i: usize| evledger::statement::Header {
        alg: -8,
        kind: "firmware-build".into(),
        kid: evledger::keys::KeyId::of(&key.verifying_key()),
        issuer: "Aurelis".into(),
        subject: format!("build {i}"),
        issued_at: 1_800_000_000 + i as u64,
        x5chain: Vec::new(),
    };
    (from..from + n)
        .map(|i| evledger::statement::sign(&header(i), format!("{tag} {i}").as_bytes(), &key))
        .collect()
}

#[test]
fn monitor_follows_a_log_across_tiles_and_finds_a_fork_deep_in_it() {
    let env = Env::new();
    let log = Arc::new(std::sync::Mutex::new(FakeLog::new(&statements(
        "a", 0, 300,
    ))));
    let served = Arc::clone(&log);
    let server = TestServer::start(
        None,
        Arc::new(move |target: &str, _: &str| served.lock().unwrap().answer(target)),
        None,
    );
    let vkey = evledger::note::NoteVerifier::new(
        "aurelis.example/evidence-log",
        evledger::keys::read_verifying_key(&root().join("keys.example/log.key.pub")).unwrap(),
    )
    .unwrap()
    .to_string();
    let run = |extra: &[&str]| {
        let mut a = vec!["monitor", &server.url, "--state", "mon"];
        a.extend_from_slice(extra);
        env.run(&a)
    };
    // 300 entries: a full entry bundle and a partial one.
    let out = run(&["--log-key", &vkey]);
    let first = out.ok();
    assert_eq!(
        first.lines().filter(|l| l.starts_with("entry ")).count(),
        300,
        "{first}"
    );
    assert!(first.contains("entry 299 "), "{first}");

    // 700: the partial bundle grown, another full one, a new partial one.
    let mut all = statements("a", 0, 700);
    *log.lock().unwrap() = FakeLog::new(&all);
    let out = run(&[]);
    let second = out.ok();
    assert!(
        second.contains("size 700 ") && second.contains("(extends size 300)"),
        "{second}"
    );
    let listed: Vec<&str> = second.lines().filter(|l| l.starts_with("entry ")).collect();
    assert_eq!(listed.len(), 400);
    assert!(listed[0].starts_with("entry 300 ") && listed[399].starts_with("entry 699 "));
    let state = std::fs::read(env.path("mon/state")).unwrap();

    // The same log key signs a log of 1100 entries that differs from entry 500 on: the
    // monitor reads the prefix the new checkpoint commits to from the hash tiles (level 1
    // included) and shows the fork.
    all.truncate(500);
    all.extend(statements("b", 500, 600));
    *log.lock().unwrap() = FakeLog::new(&all);
    let out = run(&[]);
    assert_eq!(out.code, 3, "{out:?}");
    let prefix = mth(&all[..700]
        .iter()
        .map(|s| evledger::statement::entry_hash(s))
        .collect::<Vec<_>>());
    use base64::Engine as _;
    let prefix = base64::engine::general_purpose::STANDARD.encode(prefix);
    assert!(
        out.stderr.contains(&format!(
            "the checkpoint of size 1100 commits to a tree whose first 700 entries have root {prefix}, not the root "
        )),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(env.path("mon/state")).unwrap(), state);

    // The honest log grown to 1100 is followed from where the monitor stopped.
    *log.lock().unwrap() = FakeLog::new(&statements("a", 0, 1100));
    let out = run(&[]);
    assert!(out.ok().contains("(extends size 700)"), "{out:?}");
}
