//! Witnessing over the network (c2sp.org/tlog-witness), over real loopback HTTP:
//! `evledger witness serve` answers each case of `add-checkpoint`; `evledger checkpoint
//! --witnesses` and `evledger serve` publish a checkpoint only once the witness quorum has
//! cosigned it; witnesses restarted keep their state. Nothing is timed: tests wait for lines a
//! process prints, or poll with a generous bound that fails with a message.
#![cfg(feature = "serve")]

mod witnessing;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use evledger::note::{CosignatureVerifier, Note};
use witnessing::{EVL, ORIGIN, World, evl, fails, grow, ok, read, s};

/// Only a guard against a hung process; no test asserts on time.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Polls at most this many times, `POLL_PAUSE` apart (about two minutes), before failing.
const POLLS: u32 = 1200;
const POLL_PAUSE: Duration = Duration::from_millis(100);

/// A running evledger server, killed when dropped; its standard error lines arrive on `log`.
struct Proc {
    child: Child,
    addr: String,
    log: mpsc::Receiver<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Starts `evledger ARGS` and waits for its `listening on http://ADDR` line.
    fn start(args: &[&str]) -> Proc {
        let mut child = Command::new(EVL)
            .args(args)
            .env_remove("EVLEDGER_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn evledger");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read first line");
        let addr = match line.trim_end().strip_prefix("listening on http://") {
            Some(a) => a.to_owned(),
            None => {
                let err: Vec<String> = log.try_iter().collect();
                panic!(
                    "evledger {args:?} did not start: {line:?}\n{}",
                    err.join("\n")
                )
            }
        };
        // Keep stdout open (and drained) so the process never blocks writing to it.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stdout.read_to_end(&mut sink);
        });
        Proc { child, addr, log }
    }

    fn witness(state: &Path, addr: &str) -> Proc {
        Proc::start(&["witness", "serve", "--state", s(state), "--listen", addr])
    }

    /// Waits for a standard error line containing `needle`; returns it.
    #[track_caller]
    fn wait_log(&self, needle: &str) -> String {
        let mut seen = Vec::new();
        loop {
            match self.log.recv_timeout(HANG_GUARD) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!(
                    "no line containing {needle:?} on standard error; saw:\n{}",
                    seen.join("\n")
                ),
            }
        }
    }

    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Resp {
        request(&self.addr, "POST", path, content_type, body)
    }

    fn get(&self, path: &str) -> Resp {
        request(&self.addr, "GET", path, "text/plain", b"")
    }
}

/// One HTTP response.
#[derive(Debug)]
struct Resp {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one HTTP/1.1 request on a fresh connection and reads the whole response.
fn request(addr: &str, method: &str, path: &str, content_type: &str, body: &[u8]) -> Resp {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).expect("read response");
    let end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&out)));
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let content_type = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    Resp {
        status,
        content_type,
        body: out[end + 4..].to_vec(),
    }
}

/// A loopback address nothing listens on (bound, then released): a witness that is down.
///
/// Each call takes its own address in 127.0.0.0/8, so a port released here and handed out
/// again by the kernel (to another test's server, or as a client's source port) cannot be
/// mistaken for this witness.
fn free_addr() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let host = format!(
        "127.{}.{}.{}",
        1 + std::process::id() % 200,
        (n / 250) % 250,
        1 + n % 250
    );
    let l = TcpListener::bind((host.as_str(), 0)).unwrap();
    l.local_addr().unwrap().to_string()
}

/// An add-checkpoint body: `old N`, the proof lines, an empty line, the note.
fn body(old: u64, proof: &[&str], note: &str) -> Vec<u8> {
    let mut b = format!("old {old}\n");
    for p in proof {
        b.push_str(p);
        b.push('\n');
    }
    b.push('\n');
    b.push_str(note);
    b.into_bytes()
}

/// The hash lines of what `evledger consistency OLD NEW` printed.
fn proof_lines(file: &Path) -> Vec<String> {
    read(file).lines().skip(1).map(str::to_owned).collect()
}

#[test]
fn witness_serve_answers_each_add_checkpoint_case() {
    let w = World::new();
    let a = grow(&w, "A", "a", 1, 3, 3);
    let (state, vkey) = w.witness("witness.example/w1");
    let verifier = CosignatureVerifier::parse(&vkey).unwrap();
    let wit = Proc::witness(&state, "127.0.0.1:0");
    let add = |b: &[u8]| wit.post("/add-checkpoint", "text/plain", b);

    // 400: malformed bodies.
    for bad in [
        &b"hello"[..],
        b"old 01\n\nx",
        b"old 0\nnot-base64\n\n",
        b"old 0\n\nnot a note\n",
        b"\xff\xfe",
    ] {
        let r = add(bad);
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text());
    }
    // 200: the first checkpoint, from the empty tree; the line verifies as w1's cosignature.
    let note1 = read(&a[0]);
    let r = add(&body(0, &[], &note1));
    assert_eq!(r.status, 200, "{}", r.text());
    let line = r.text();
    assert!(
        line.starts_with("— witness.example/w1 ") && line.ends_with('\n'),
        "{line:?}"
    );
    let cosigned = Note::parse(&format!("{note1}{line}")).unwrap();
    assert!(verifier.verify(&cosigned).unwrap().is_some());
    // 409: the client's old size is not the size cosigned; the answer says which it is.
    let note2 = read(&a[1]);
    let r = add(&body(0, &[], &note2));
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (409, "text/x.tlog.size")
    );
    assert_eq!(r.text(), "1\n");
    // 400: an old size beyond the checkpoint's.
    let r = add(&body(3, &[], &note2));
    assert_eq!(r.status, 400, "{}", r.text());
    // 422: a proof from the right size that does not verify.
    let wrong = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let r = add(&body(1, &[wrong], &note2));
    assert_eq!(r.status, 422, "{}", r.text());
    // 200 with the ledger's proof from size 1.
    let p12 = w.proof("A", 1, 2, "p12");
    let lines = proof_lines(&p12);
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let r = add(&body(1, &refs, &note2));
    assert_eq!(r.status, 200, "{}", r.text());
    // 409: the log signed another tree of size 2 (a fork under the same key).
    w.init_ledger("B", "log.key", ORIGIN);
    let b = grow(&w, "B", "b", 1, 2, 2);
    let r = add(&body(2, &[], &read(&b[1])));
    assert_eq!((r.status, r.text().as_str()), (409, "2\n"));
    // 404: a log the witness does not watch.
    w.init_ledger("C", "log.key", "other.example/log");
    let c = grow(&w, "C", "c", 1, 1, 1);
    let r = add(&body(0, &[], &read(&c[0])));
    assert_eq!(r.status, 404, "{}", r.text());
    // 403: its origin, but not its key.
    ok(&["key", "generate", "--out", s(&w.path("other.key"))]);
    w.init_ledger("D", "other.key", ORIGIN);
    let d = grow(&w, "D", "d", 1, 1, 1);
    let r = add(&body(0, &[], &read(&d[0])));
    assert_eq!(r.status, 403, "{}", r.text());
    // Routing: another path, another method; an oversized body is refused unread.
    assert_eq!(wit.get("/add-checkpoint").status, 405);
    assert_eq!(wit.get("/checkpoint").status, 404);
    let r = add(&vec![b'a'; 200_000]);
    assert_eq!(r.status, 413, "{}", r.text());

    // Restarted, the witness keeps its state: it has cosigned size 2.
    drop(wit);
    let wit = Proc::witness(&state, "127.0.0.1:0");
    let r = wit.post("/add-checkpoint", "text/plain", &body(0, &[], &read(&a[2])));
    assert_eq!((r.status, r.text().as_str()), (409, "2\n"));
    let p23 = w.proof("A", 2, 3, "p23");
    let lines = proof_lines(&p23);
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let r = wit.post(
        "/add-checkpoint",
        "text/plain",
        &body(2, &refs, &read(&a[2])),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(read(&state.join("state")).contains(&format!("{ORIGIN} 3 ")));
}

/// Three witnesses of ledger A configured with URLs (the third never started), quorum 2.
struct Three {
    w: World,
    states: Vec<PathBuf>,
    addrs: Vec<String>,
}

fn three_witnesses() -> Three {
    let w = World::new();
    let ledger = w.path("A");
    let mut states = Vec::new();
    let mut addrs = Vec::new();
    for i in 1..=3 {
        let (state, vkey) = w.witness(&format!("witness.example/w{i}"));
        let addr = free_addr();
        let url = format!("http://{addr}");
        ok(&[
            "witness",
            "add",
            &vkey,
            "--url",
            &url,
            "--ledger",
            s(&ledger),
        ]);
        states.push(state);
        addrs.push(addr);
    }
    ok(&["witness", "quorum", "2", "--ledger", s(&ledger)]);
    Three { w, states, addrs }
}

#[test]
fn checkpoint_witnesses_publishes_only_at_quorum() {
    let t = three_witnesses();
    let ledger = t.w.path("A");
    let l = s(&ledger);
    // The quorum never decreases, nor passes the witnesses configured.
    let (_, err) = fails(1, &["witness", "quorum", "1", "--ledger", l]);
    assert!(err.contains("never decreases"), "{err}");
    let (_, err) = fails(1, &["witness", "quorum", "4", "--ledger", l]);
    assert!(
        err.contains("needs at least 4 configured witnesses"),
        "{err}"
    );
    assert_eq!(ok(&["witness", "quorum", "--ledger", l]), "2\n");

    t.w.record("A", "first", 1_780_000_001);
    // No witness is up: nothing is published, and the command says which failed and why.
    let (_, err) = fails(1, &["checkpoint", "--witnesses", "--ledger", l]);
    assert!(
        err.contains("checkpoint 1 is not published: 0 of the 2"),
        "{err}"
    );
    for i in 1..=3 {
        assert!(
            err.contains(&format!("witness.example/w{i}: cannot connect")),
            "{err}"
        );
    }
    let (_, err) = fails(
        1,
        &[
            "bundle",
            "--all",
            "--out",
            s(&t.w.path("b0")),
            "--ledger",
            l,
        ],
    );
    assert!(err.contains("no published checkpoint covers"), "{err}");

    // w1 and w2 up, w3 down: published, with both cosignatures.
    let w1 = Proc::witness(&t.states[0], &t.addrs[0]);
    let w2 = Proc::witness(&t.states[1], &t.addrs[1]);
    let out = evl(&["checkpoint", "--witnesses", "--ledger", l]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("witness.example/w3: failed: cannot connect"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("checkpoint 1 published: cosigned by 2 witnesses"),
        "{}",
        out.stderr
    );
    for i in 1..=2 {
        assert!(
            out.stdout.contains(&format!("— witness.example/w{i} ")),
            "{}",
            out.stdout
        );
    }
    ok(&[
        "bundle",
        "--all",
        "--out",
        s(&t.w.path("b1")),
        "--ledger",
        l,
    ]);

    // Two down: the new checkpoint is not published; the published one stays size 1.
    drop(w2);
    t.w.record("A", "second", 1_780_000_002);
    let (_, err) = fails(1, &["checkpoint", "--witnesses", "--ledger", l]);
    assert!(
        err.contains("checkpoint 2 is not published: 1 of the 2"),
        "{err}"
    );
    assert!(err.contains("witness.example/w2: cannot connect"), "{err}");
    let proof = ok(&["prove", "0", "--ledger", l]);
    assert!(proof.contains("tree_size 1"), "{proof}");

    // w2 restarted on its state: it has cosigned size 1, says so (409), and is asked again
    // from there; w1 has cosigned size 2 already and is not asked again.
    let _w2 = Proc::witness(&t.states[1], &t.addrs[1]);
    let out = evl(&["checkpoint", "--witnesses", "--ledger", l]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("checkpoint 2 published"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("witness.example/w1:"),
        "{}",
        out.stderr
    );
    assert!(read(&t.states[1].join("state")).contains(&format!("{ORIGIN} 2 ")));
    let proof = ok(&["prove", "1", "--ledger", l]);
    assert!(proof.contains("tree_size 2"), "{proof}");
    drop(w1);
}

/// Polls `GET /checkpoint` until the published checkpoint has `size` entries.
#[track_caller]
fn wait_published(service: &Proc, size: u64) -> String {
    for _ in 0..POLLS {
        let r = service.get("/checkpoint");
        if r.status == 200 && r.text().lines().nth(1) == Some(size.to_string().as_str()) {
            return r.text();
        }
        std::thread::sleep(POLL_PAUSE);
    }
    panic!("no checkpoint of size {size} was published within {POLLS} polls");
}

/// Signs a firmware build statement with the release key; returns its bytes.
fn statement(w: &World, subject: &str, iat: u64) -> Vec<u8> {
    let out = w.path(&format!("{subject}.cose"));
    let input = format!(
        "{}/examples/facegate/firmware-4.2.0.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    ok(&[
        "sign",
        "firmware-build",
        &input,
        "--key",
        s(&w.path("release.key")),
        "--issuer",
        "Test Vendor",
        "--subject",
        subject,
        "--iat",
        &iat.to_string(),
        "--out",
        s(&out),
    ]);
    std::fs::read(out).unwrap()
}

#[test]
fn the_service_publishes_at_quorum_and_says_why_not() {
    let t = three_witnesses();
    let ledger = t.w.path("A");
    ok(&[
        "signer",
        "add",
        "--kinds",
        "firmware-build",
        "--key",
        s(&t.w.path("release.key.pub")),
        "--ledger",
        s(&ledger),
    ]);
    let w1 = Proc::witness(&t.states[0], &t.addrs[0]);
    let w2 = Proc::witness(&t.states[1], &t.addrs[1]);
    let service = Proc::start(&["serve", "--listen", "127.0.0.1:0", "--ledger", s(&ledger)]);

    // One witness down: the checkpoint is published, and the receipt then served.
    let first = statement(&t.w, "first", 1_780_000_001);
    let r = service.post("/entries", "application/cose", &first);
    assert!(matches!(r.status, 201 | 202), "{} {}", r.status, r.text());
    service.wait_log("checkpoint 1 published: cosigned by 2 witnesses (quorum 2)");
    let note = wait_published(&service, 1);
    assert!(note.contains("— witness.example/w1 ") && note.contains("— witness.example/w2 "));
    let hash = evledger::hex::encode(sha2::Sha256::digest(&first).as_slice());
    assert_eq!(service.get(&format!("/entries/{hash}")).status, 200);

    // Two down: registration goes on (202: the receipt is not ready), nothing is published,
    // and the service says why.
    drop(w2);
    let second = statement(&t.w, "second", 1_780_000_002);
    let r = service.post("/entries", "application/cose", &second);
    assert_eq!(r.status, 202, "{}", r.text());
    let why = service.wait_log("checkpoint 2 not published: 1 of the 2 witnesses");
    assert!(why.contains("witness.example/w2: cannot connect"), "{why}");
    assert!(why.contains("witness.example/w3: cannot connect"), "{why}");
    let r = service.get("/checkpoint");
    assert_eq!(r.text().lines().nth(1), Some("1"), "{}", r.text());

    // w2 back, on its state: the service asks it again (backoff) and publishes.
    let _w2 = Proc::witness(&t.states[1], &t.addrs[1]);
    wait_published(&service, 2);
    drop(w1);
}

use sha2::Digest as _;
