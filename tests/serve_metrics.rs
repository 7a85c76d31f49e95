//! `GET /metrics` over real loopback HTTP: the counters after registrations (`specs/service.md`,
//! "Metrics").
#![cfg(feature = "serve")]

mod common;
mod serve_client;

use common::{Env, LEDGER, chmod, root};
use serve_client::Server;

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

/// The value of the sample named exactly `series` in a scrape.
fn sample(text: &str, series: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
        .to_owned()
}

#[test]
fn a_scrape_counts_registrations_by_outcome_and_responses_by_class() {
    let (env, statement) = ledger_and_statement();
    let server = Server::start(&env);
    let post = |body: &[u8]| {
        server.request(
            "POST",
            "/entries",
            &[("Content-Type", "application/cose")],
            body,
        )
    };
    // Refused: the signer is not admitted yet.
    assert_eq!(post(&statement).status, 400);
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
    assert_eq!(post(&statement).status, 201);
    assert_eq!(post(&statement).status, 200);
    assert_eq!(server.get_anonymous("/nowhere").status, 404);
    assert_eq!(server.request("DELETE", "/metrics", &[], b"").status, 405);

    // Public, like /healthz.
    let r = server.get_anonymous("/metrics");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let t = String::from_utf8(r.body).unwrap();
    let reg = |o: &str| {
        sample(
            &t,
            &format!("evledger_registrations_total{{outcome=\"{o}\"}}"),
        )
    };
    assert_eq!(
        [
            reg("created"),
            reg("repeated"),
            reg("accepted"),
            reg("refused"),
            reg("failed")
        ],
        ["1", "1", "0", "1", "0"]
    );
    assert_eq!(sample(&t, "evledger_registration_seconds_count"), "3");
    assert_eq!(
        sample(&t, "evledger_registration_seconds_bucket{le=\"+Inf\"}"),
        "3"
    );
    // The scrape itself is answered after it is rendered, so it is not counted in it.
    let class = |c: &str| {
        sample(
            &t,
            &format!("evledger_http_responses_total{{class=\"{c}\"}}"),
        )
    };
    assert_eq!([class("2xx"), class("4xx"), class("5xx")], ["2", "3", "0"]);

    // The writer's side: three batches of one (the refused statement's, the registration's,
    // the repetition's), one checkpoint signed (the repetition's entry was covered already).
    let batch = |le: &str| sample(&t, &format!("evledger_batch_size_bucket{{le=\"{le}\"}}"));
    assert_eq!([batch("1"), batch("64"), batch("+Inf")], ["3", "3", "3"]);
    assert_eq!(sample(&t, "evledger_batch_size_sum"), "3");
    assert_eq!(sample(&t, "evledger_batch_size_count"), "3");
    assert_eq!(sample(&t, "evledger_checkpoints_signed_total"), "1");
    assert_eq!(sample(&t, "evledger_signed_tree_size"), "1");
    // A SQLite ledger has one writer, which always sequences, under no lease.
    assert_eq!(sample(&t, "evledger_sequencing"), "1");
    assert_eq!(sample(&t, "evledger_lease_epoch"), "0");
    // The witnessing task publishes it (no quorum here) after the writer signs: scrape until
    // it has.
    let published = (0..10_000)
        .map(|_| {
            let t = String::from_utf8(server.get_anonymous("/metrics").body).unwrap();
            sample(&t, "evledger_published_tree_size")
        })
        .find(|p| p != "0");
    assert_eq!(published.as_deref(), Some("1"));
}

/// The `key=value` pairs of a logfmt line whose values hold no space (as the tests' do).
fn fields(line: &str) -> std::collections::HashMap<&str, &str> {
    line.split(' ')
        .filter_map(|kv| kv.split_once('='))
        .collect()
}

#[test]
fn the_log_has_a_line_per_request_batch_and_checkpoint() {
    let (env, statement) = ledger_and_statement();
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
    let log = std::fs::File::create(env.path("serve.log")).unwrap();
    let mut child = env
        .cmd(&["serve", "--ledger", LEDGER, "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let addr = line
        .trim_end()
        .strip_prefix("listening on http://")
        .unwrap();
    let post = |path: &str, body: &[u8]| {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/cose\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(&[head.as_bytes(), body].concat()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let r = post("/entries", &statement);
    assert!(r.starts_with("HTTP/1.1 201"), "{r}");
    assert!(post("/entries", &statement).starts_with("HTTP/1.1 200"));
    // A path with a quote, a space and a newline escaped stays on one line.
    assert!(post("/no%20where\"", b"").starts_with("HTTP/1.1 404"));
    // Stop, so that every line is written before the file is read.
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(env.path("serve.log")).unwrap();
    let events: Vec<_> = text
        .lines()
        .filter(|l| l.starts_with("ts="))
        .map(fields)
        .collect();
    let of = |e: &str| -> Vec<_> { events.iter().filter(|f| f["event"] == e).collect() };
    let requests = of("request");
    assert_eq!(requests.len(), 3, "{text}");
    assert_eq!(
        requests
            .iter()
            .map(|f| (f["method"], f["path"], f["status"]))
            .collect::<Vec<_>>(),
        [
            ("POST", "/entries", "201"),
            ("POST", "/entries", "200"),
            ("POST", "\"/no%20where\\\"\"", "404")
        ]
    );
    assert!(requests[0]["peer"].starts_with("127.0.0.1:"), "{text}");
    requests[0]["ms"].parse::<f64>().unwrap();
    let batches = of("batch");
    assert_eq!(
        batches
            .iter()
            .map(|f| (f["size"], f["created"], f["repeated"], f["refused"]))
            .collect::<Vec<_>>(),
        [("1", "1", "0", "0"), ("1", "0", "1", "0")],
        "{text}"
    );
    let checkpoints = of("checkpoint");
    assert_eq!(checkpoints.len(), 1, "{text}");
    assert_eq!(
        (
            checkpoints[0]["at"],
            checkpoints[0]["outcome"],
            checkpoints[0]["size"]
        ),
        ("cadence", "signed", "1")
    );
    assert!(events.iter().all(|f| f["ts"].ends_with('Z')), "{text}");
}
