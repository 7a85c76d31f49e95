//! A minimal HTTP/1.1 client over one keep-alive connection, for the crash test and the load
//! generator: enough for the service's answers (always `Content-Length`, never chunked).
#![allow(dead_code)] // The crash test and the load generator use different parts.

use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

/// Only a guard against a hung server; nothing waits on time.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// One HTTP response.
#[derive(Debug)]
pub struct Resp {
    /// The status code.
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Resp {
    /// The first header named `name`, in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One keep-alive connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    /// Connects to `addr` (`127.0.0.1:PORT`).
    pub fn connect(addr: &str) -> io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(HANG_GUARD))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::with_capacity(64 * 1024, s),
            host: addr.to_owned(),
        })
    }

    /// Sends one request and reads its response; the connection stays open.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> io::Result<Resp> {
        let mut req = Vec::with_capacity(body.len() + 160);
        write!(req, "{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host)?;
        if let Some(ct) = content_type {
            write!(req, "Content-Type: {ct}\r\n")?;
        }
        write!(req, "Content-Length: {}\r\n\r\n", body.len())?;
        req.extend_from_slice(body);
        self.reader.get_mut().write_all(&req)?;
        self.read_response()
    }

    /// `POST path` of a signed statement.
    pub fn post_cose(&mut self, path: &str, body: &[u8]) -> io::Result<Resp> {
        self.request("POST", path, Some("application/cose"), body)
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> io::Result<Resp> {
        self.request("GET", path, None, b"")
    }

    fn read_response(&mut self) -> io::Result<Resp> {
        let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            ));
        }
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("status line {line:?}")))?;
        let mut headers = Vec::new();
        let mut len = 0usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "in headers"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (n, v) = l
                .split_once(':')
                .ok_or_else(|| bad(format!("header line {l:?}")))?;
            let (n, v) = (n.trim().to_owned(), v.trim().to_owned());
            if n.eq_ignore_ascii_case("content-length") {
                len = v
                    .parse()
                    .map_err(|_| bad(format!("content-length {v:?}")))?;
            }
            headers.push((n, v));
        }
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body)?;
        Ok(Resp {
            status,
            headers,
            body,
        })
    }
}

/// A running `evledger serve`, killed (SIGKILL) when dropped so a failing run never leaks it.
pub struct Server {
    /// The process.
    pub child: Child,
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

impl Server {
    /// Starts `BIN serve --listen 127.0.0.1:0 --ledger LEDGER ARGS…` in `dir` and waits for the
    /// line that says where it listens.
    pub fn start(bin: &str, dir: &std::path::Path, ledger: &str, args: &[&str]) -> Server {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--ledger", ledger])
            .args(args)
            .current_dir(dir)
            .env_remove("EVLEDGER_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn evledger serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("read the first line of serve");
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

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill9(&mut self) {
        self.child.kill().expect("kill -9 evledger serve");
        self.child.wait().expect("reap evledger serve");
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}
