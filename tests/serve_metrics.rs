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
