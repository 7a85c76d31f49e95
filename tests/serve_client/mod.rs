//! A running `evledger serve` and a hand-written HTTP/1.1 client for it over loopback, for the
//! tests of reading the log and fetching bundles (`tests/serve_tiles.rs`, `tests/serve_bundle.rs`).
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use evledger::cbor::{self, Value};

use super::common::{self, Env, LEDGER};

/// The bearer token of the one reader the test server is configured with (every kind).
pub const READER_TOKEN: &str = "test-reader-token";

/// Only a guard against a hung server; no test waits on time.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A running `evledger serve`, killed when dropped so a failing test never leaks it.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`, from the first line the server printed.
    pub addr: String,
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
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The RFC 9290 title and detail of a problem-details body.
    #[track_caller]
    pub fn problem(&self) -> (String, String) {
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
    /// Starts `evledger serve --listen 127.0.0.1:0` on the env's ledger.
    pub fn start(env: &Env) -> Server {
        Server::start_in(env.dir.path(), LEDGER)
    }

    /// Starts `evledger serve --listen 127.0.0.1:0 --ledger LEDGER` in `dir` and waits for the
    /// line that says where it listens.
    pub fn start_in(dir: &Path, ledger: &str) -> Server {
        let token_sha256 = evledger::hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(
            READER_TOKEN.as_bytes(),
        ));
        let config = dir.join("serve-test.toml");
        std::fs::write(
            &config,
            format!(
                "[[readers]]\nname = \"test\"\ntoken_sha256 = \"{token_sha256}\"\nkinds = [\"*\"]\n"
            ),
        )
        .unwrap();
        let mut child = Command::new(common::BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--ledger",
                ledger,
                "--config",
            ])
            .arg(&config)
            .current_dir(dir)
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
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
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
        s.read_to_end(&mut out).unwrap();
        parse_response(&out)
    }

    /// A GET as the test's reader, who may read every kind.
    pub fn get(&self, path: &str) -> Resp {
        let auth = format!("Bearer {READER_TOKEN}");
        self.request("GET", path, &[("Authorization", &auth)], b"")
    }

    /// A GET with no token.
    pub fn get_anonymous(&self, path: &str) -> Resp {
        self.request("GET", path, &[], b"")
    }

    /// Asserts the server still answers.
    #[track_caller]
    pub fn assert_up(&self) {
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
