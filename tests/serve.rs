//! `evledger serve` over real loopback HTTP: the built binary listens on a free port, and the
//! tests speak HTTP/1.1 to it by hand over `std::net::TcpStream` (`specs/service.md`).
#![cfg(feature = "serve")]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use common::{Env, LEDGER, chmod, root, sha256_hex};
use evledger::cbor::{self, Value};
use evledger::receipt::{ReceiptEntry, verify_receipt};

/// Only a guard against a hung server; no test waits on time.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A running `evledger serve`, killed when dropped so a failing test never leaks it.
struct Server {
    child: Child,
    /// `127.0.0.1:PORT`, from the first line the server printed.
    addr: String,
    _stdout: BufReader<ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP response.
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

    /// The RFC 9290 title and detail of a problem-details body.
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
    /// Starts `evledger serve --listen 127.0.0.1:0` on the env's ledger and waits for the line
    /// that says where it listens.
    fn start(env: &Env) -> Server {
        let mut child = Command::new(common::BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--ledger", LEDGER])
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

    /// Sends one request on a fresh connection and reads the whole response.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        self.raw(&[head.as_bytes(), body].concat())
    }

    /// Sends raw bytes on a fresh connection and reads the whole response.
    fn raw(&self, bytes: &[u8]) -> Resp {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(HANG_GUARD)).unwrap();
        s.write_all(bytes).unwrap();
        let mut out = Vec::new();
        // A server that refuses a body before reading all of it closes with bytes unread, and the
        // kernel may then reset the connection after the answer: what arrived is the answer.
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

    /// Asserts the server still answers.
    #[track_caller]
    fn assert_up(&self) {
        let r = self.get("/healthz");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok\n"[..]), "{r:?}");
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

/// A ledger with the example log key, and a firmware build signed by the release engineer's
/// key, whom the registration policy does not admit yet. Returns the env and the statement.
fn ledger_and_statement() -> (Env, Vec<u8>) {
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
        "1800000000",
        "--out",
        "fw.cose",
    ])
    .ok();
    let statement = std::fs::read(env.path("fw.cose")).unwrap();
    (env, statement)
}

fn admit_release_engineer(env: &Env) {
    std::fs::copy(
        root().join("keys.example/release-engineer.key.pub"),
        env.path("release.pub"),
    )
    .unwrap();
    env.run(&[
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
}

/// The log key the ledger signs receipts with.
fn log_key(env: &Env) -> ed25519_dalek::VerifyingKey {
    let ledger = evledger::ledger::Ledger::open_read_only(&env.path(LEDGER)).unwrap();
    ledger.log_keys().unwrap()[0]
}

#[test]
fn a_signed_statement_is_registered_and_its_receipt_verifies() {
    let (env, statement) = ledger_and_statement();
    let server = Server::start(&env);

    // Not admitted by the registration policy yet: refused, and nothing is written.
    let r = server.post_cose(&statement);
    assert_eq!(r.status, 400, "{r:?}");
    let (title, detail) = r.problem();
    assert_eq!(title, "Rejected");
    assert!(
        detail.starts_with("unknown signer: no key with kid"),
        "{detail}"
    );
    assert!(env.log().is_empty());

    admit_release_engineer(&env);
    let r = server.post_cose(&statement);
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/cose"));
    let hash = sha256_hex(&statement);
    let location = format!("/entries/{hash}");
    assert_eq!(r.header("location"), Some(location.as_str()));
    let v = verify_receipt(&r.body, ReceiptEntry::Statement(&statement), &log_key(&env)).unwrap();
    assert_eq!((v.index(), v.tree_size()), (0, 1));
    // The receipt does not verify for another statement.
    assert!(verify_receipt(&r.body, ReceiptEntry::Statement(b"other"), &log_key(&env)).is_err());

    // The entry is in the log, and the log audits clean.
    let log = env.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["entry_hash"], hash.as_str(), "{log:?}");
    env.audit_ok();

    // The receipt's root is the latest checkpoint's.
    let r = server.get("/checkpoint");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let note = evledger::note::Note::parse(std::str::from_utf8(&r.body).unwrap()).unwrap();
    let cp = evledger::checkpoint::Checkpoint::parse(note.text()).unwrap();
    assert_eq!(cp.origin, "aurelis.example/evidence-log");
    assert_eq!((cp.size, cp.root), (1, v.root()));

    // The receipt and the statement can be fetched again.
    let r = server.get(&location);
    assert_eq!(r.status, 200, "{r:?}");
    verify_receipt(&r.body, ReceiptEntry::Statement(&statement), &log_key(&env)).unwrap();
    // The statement is confidential: without a reader token it is not served
    // (tests/serve_scrapi.rs reads it with one).
    let r = server.get(&format!("{location}/statement"));
    assert_eq!(r.status, 401, "{r:?}");

    // Registering the same statement again appends nothing: 200 with a receipt of that entry.
    let r = server.post_cose(&statement);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("location"), Some(location.as_str()));
    let again =
        verify_receipt(&r.body, ReceiptEntry::Statement(&statement), &log_key(&env)).unwrap();
    assert_eq!(again.index(), 0);
    assert_eq!(env.log().len(), 1);
    env.audit_ok();
}

/// Signs a firmware build with `key` at `iat` into `out` and returns the statement.
fn sign(env: &Env, key: &str, iat: u64, out: &str) -> Vec<u8> {
    env.run(&[
        "sign",
        "firmware-build",
        "fw.toml",
        "--key",
        key,
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

#[test]
fn concurrent_registrations_are_each_answered_after_their_commit() {
    let (env, _) = ledger_and_statement();
    admit_release_engineer(&env);
    env.run(&["key", "generate", "--out", "stranger.key"]).ok();
    // Eight admitted statements, one of them sent twice, and two by a signer the policy does not
    // know, all at once: whatever batches they fall into, each admitted statement is appended
    // once, the refused ones are answered with their refusal without holding back the others.
    let good: Vec<Vec<u8>> = (0..8)
        .map(|i| sign(&env, common::KEY, 1_800_000_000 + i, &format!("fw{i}.cose")))
        .collect();
    let refused: Vec<Vec<u8>> = (0..2)
        .map(|i| {
            sign(
                &env,
                "stranger.key",
                1_800_000_000 + i,
                &format!("x{i}.cose"),
            )
        })
        .collect();
    let mut sent: Vec<&Vec<u8>> = good.iter().collect();
    sent.push(&good[3]);
    sent.extend(&refused);
    let server = Server::start(&env);
    let answers: Vec<Resp> = std::thread::scope(|s| {
        let handles: Vec<_> = sent
            .iter()
            .map(|st| s.spawn(|| server.post_cose(st)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut indexes = Vec::new();
    for (st, r) in sent.iter().zip(&answers) {
        if refused.contains(st) {
            assert_eq!(r.status, 400, "{r:?}");
            assert_eq!(r.problem().0, "Rejected");
            continue;
        }
        assert!(r.status == 201 || r.status == 200, "{r:?}");
        let v = verify_receipt(&r.body, ReceiptEntry::Statement(st), &log_key(&env)).unwrap();
        indexes.push((v.index(), r.status));
    }
    // good[3] was sent twice: one answer appended it (201), the other found it (200).
    let twice: Vec<u16> = sent
        .iter()
        .zip(&answers)
        .filter(|(st, _)| **st == &good[3])
        .map(|(_, r)| r.status)
        .collect();
    assert!(twice == [201, 200] || twice == [200, 201], "{twice:?}");
    let mut appended: Vec<u64> = indexes
        .iter()
        .filter(|(_, status)| *status == 201)
        .map(|(i, _)| *i)
        .collect();
    appended.sort_unstable();
    assert_eq!(appended, (0..8).collect::<Vec<u64>>());
    assert_eq!(env.log().len(), 8);
    env.audit_ok();
}

#[test]
fn bad_requests_are_refused_and_the_server_keeps_serving() {
    let (env, statement) = ledger_and_statement();
    admit_release_engineer(&env);
    let server = Server::start(&env);

    // Not COSE at all.
    let r = server.post_cose(b"not a statement");
    assert_eq!(r.status, 400, "{r:?}");
    let (title, detail) = r.problem();
    assert_eq!(title, "Malformed Signed Statement");
    assert!(
        detail.contains("is not a tagged (18) COSE_Sign1 array"),
        "{detail}"
    );
    server.assert_up();

    // A COSE_Sign1 whose signature was tampered with.
    let mut tampered = statement.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let r = server.post_cose(&tampered);
    assert_eq!(r.status, 400, "{r:?}");
    let (title, detail) = r.problem();
    assert_eq!(title, "Bad Signature");
    assert!(detail.contains("does not verify"), "{detail}");
    server.assert_up();

    // The wrong media type, and none.
    for headers in [&[("Content-Type", "application/json")][..], &[]] {
        let r = server.request("POST", "/entries", headers, &statement);
        assert_eq!(r.status, 415, "{r:?}");
        assert!(r.problem().1.contains("application/cose"), "{r:?}");
    }
    server.assert_up();

    // A body over the statement limit, refused from its declared length.
    let too_long = (evledger::statement::MAX_STATEMENT_LEN + 1).to_string();
    let r = server.request(
        "POST",
        "/entries",
        &[
            ("Content-Type", "application/cose"),
            ("Content-Length", &too_long),
        ],
        b"",
    );
    assert_eq!(r.status, 413, "{r:?}");
    assert!(
        r.problem().1.contains("over the limit of 1048576 bytes"),
        "{r:?}"
    );
    server.assert_up();

    // A body with no declared length that grows past the limit, refused as it is read.
    let max = evledger::statement::MAX_STATEMENT_LEN;
    let mut chunked = b"POST /entries HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/cose\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    chunked.extend_from_slice(format!("{:x}\r\n", max + 1).as_bytes());
    chunked.extend(std::iter::repeat_n(0u8, max + 1));
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let r = server.raw(&chunked);
    assert_eq!(r.status, 413, "{r:?}");
    assert!(r.problem().1.contains("more than that"), "{r:?}");
    server.assert_up();

    // Unknown paths, wrong methods, malformed and unknown entry ids.
    let r = server.get("/nothing/here");
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.problem().1.contains("POST /entries"), "{r:?}");
    let r = server.get("/entries");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")), "{r:?}");
    let r = server.get("/entries/xyz");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.problem().1.contains("64 hex digits"), "{r:?}");
    let r = server.get(&format!("/entries/{}", sha256_hex(b"never registered")));
    assert_eq!(r.status, 404, "{r:?}");
    // Without a reader token, an absent statement is answered as a protected one: 401.
    let r = server.get(&format!("/entries/{}/statement", "0".repeat(64)));
    assert_eq!(r.status, 401, "{r:?}");
    // No checkpoint before the first registration.
    let r = server.get("/checkpoint");
    assert_eq!(r.status, 404, "{r:?}");

    // Not HTTP at all: the connection is answered or closed, and the server goes on.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(HANG_GUARD)).unwrap();
    s.write_all(b"\x00\x01 garbage\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    server.assert_up();

    // After all that, a good statement is still registered.
    let r = server.post_cose(&statement);
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(env.log().len(), 1);
    env.audit_ok();
}
