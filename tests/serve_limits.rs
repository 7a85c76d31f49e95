//! Connection bounds over real loopback TCP (`specs/service.md`, "Connection limits"): a client
//! holding its quota of idle connections is answered `429` on one more, and another client is
//! still served.
#![cfg(feature = "serve")]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Env, LEDGER};

/// Only a guard against a hung server; no test waits on time.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Kills the server when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A connection to `to` from the loopback address `from`.
fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let s = rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(format!("{from}:0").parse().unwrap()).unwrap();
        sock.connect(to).await.unwrap().into_std().unwrap()
    });
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(HANG_GUARD)).unwrap();
    s
}

fn read_all(mut s: TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_client_at_its_connection_limit_is_refused_and_others_are_served() {
    let env = Env::new();
    env.init();
    std::fs::write(
        env.path("limits.toml"),
        "[limits]\nmax_connections_per_client = 2\n",
    )
    .unwrap();
    let mut child = Command::new(common::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--ledger", LEDGER])
        .args(["--config", "limits.toml"])
        .current_dir(env.dir.path())
        .env_remove("EVLEDGER_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let _server = Killed(child);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .trim_end()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line of serve: {line:?}"))
        .parse()
        .unwrap();

    // Client 127.0.0.1 holds its two connections idle.
    let _held = [
        connect_from("127.0.0.1", addr),
        connect_from("127.0.0.1", addr),
    ];
    // A third is answered 429 with a problem detail and closed, before any request is read.
    let third = read_all(connect_from("127.0.0.1", addr));
    assert!(
        third.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
        "{third:?}"
    );
    assert!(
        third.contains("application/concise-problem-details+cbor"),
        "{third:?}"
    );
    assert!(
        third.contains("limits.max_connections_per_client"),
        "{third:?}"
    );

    // Another client is served.
    let mut other = connect_from("127.0.0.2", addr);
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let r = read_all(other);
    assert!(
        r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("ok\n"),
        "{r:?}"
    );
}
