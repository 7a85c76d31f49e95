//! Bundles for buyers over real loopback HTTP (`specs/service.md`, "Bundles for buyers"):
//! `GET /bundle` answers with exactly the bytes `evledger bundle` writes for the same selection
//! and checkpoint, and names the parameter of every bad query.
#![cfg(feature = "serve")]

mod common;
mod serve_client;

use std::path::Path;
use std::process::Command;

use common::{Env, LEDGER};
use evledger::ledger::Ledger;
use evledger::store::StoreRead as _;
use serve_client::Server;

/// Runs the examples walkthrough into `dir/ledger`: a log of claims, their evidence,
/// countersignatures, incidents and the log's adverse indexes.
fn walkthrough_ledger(dir: &Path) {
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/walkthrough.sh"
        ))
        .env("EVLEDGER", common::BIN)
        .env("EVLEDGER_DIR", dir.join("ledger"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "walkthrough: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `evledger bundle ARGS --out - --ledger ledger` run in `dir`: the bundle bytes.
fn cli_bundle(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(common::BIN)
        .args(args)
        .args(["--out", "-", "--ledger", "ledger"])
        .current_dir(dir)
        .env_remove("EVLEDGER_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "evledger bundle {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The entries of kind `kind`, by entry hash, in log order.
fn hashes_of(dir: &Path, kind: &str) -> Vec<String> {
    let ledger = Ledger::open_read_only(&dir.join("ledger")).unwrap();
    let mut out = Vec::new();
    ledger
        .store()
        .for_each_entry(&mut |e| {
            if e.kind == kind {
                out.push(evledger::hex::encode(&e.entry_hash));
            }
            Ok(())
        })
        .unwrap();
    out
}

/// Percent-encodes every byte but the RFC 3986 unreserved ones.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[track_caller]
fn fetch_bundle(server: &Server, query: &str) -> Vec<u8> {
    let r = server.get(&format!("/bundle?{query}"));
    assert_eq!(r.status, 200, "{query}: {r:?}");
    assert_eq!(r.header("content-type"), Some("application/cbor"));
    assert_eq!(r.header("cache-control"), Some("private, no-store"));
    r.body
}

#[test]
fn a_bundle_over_http_is_byte_for_byte_the_one_the_cli_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    walkthrough_ledger(dir);
    let claims = hashes_of(dir, "claim");
    let builds = hashes_of(dir, "firmware-build");
    assert!(claims.len() >= 4 && builds.len() >= 2, "{claims:?}");
    let server = Server::start_in(dir, "ledger");

    // --claim, over HTTP first and then from the CLI, and the other way round.
    let http = fetch_bundle(&server, &format!("claim={}", claims[0]));
    assert_eq!(http, cli_bundle(dir, &["bundle", "--claim", &claims[0]]));
    let cli = cli_bundle(
        dir,
        &["bundle", "--claim", &claims[1], "--claim", &claims[2]],
    );
    let http = fetch_bundle(&server, &format!("claim={}&claim={}", claims[1], claims[2]));
    assert_eq!(http, cli);
    // --entry, by hash and by index; --all.
    let http = fetch_bundle(&server, &format!("entry={}&entry=2", builds[1]));
    assert_eq!(
        http,
        cli_bundle(dir, &["bundle", "--entry", &builds[1], "--entry", "2"])
    );
    assert_eq!(
        fetch_bundle(&server, "all"),
        cli_bundle(dir, &["bundle", "--all"])
    );
    // The audit bundles: --export-decision and --deployment.
    let decisions = hashes_of(dir, "export-decision");
    let deployments = hashes_of(dir, "deployment-record");
    assert!(!decisions.is_empty() && !deployments.is_empty());
    for d in &decisions {
        let http = fetch_bundle(&server, &format!("export-decision={d}"));
        assert_eq!(http, cli_bundle(dir, &["bundle", "--export-decision", d]));
    }
    let http = fetch_bundle(&server, &format!("deployment={}", deployments[0]));
    assert_eq!(
        http,
        cli_bundle(dir, &["bundle", "--deployment", &deployments[0]])
    );

    // --since: the buyer's own checkpoint note, percent-encoded, or a size the log signed.
    let since_file = dir.join("ledger/exports/builds.checkpoint");
    let note = std::fs::read_to_string(&since_file).unwrap();
    let since_arg = since_file.to_str().unwrap();
    let http = fetch_bundle(
        &server,
        &format!("claim={}&since={}", claims[3], percent_encode(&note)),
    );
    let cli = cli_bundle(
        dir,
        &["bundle", "--claim", &claims[3], "--since", since_arg],
    );
    assert_eq!(http, cli);
    let bundle = evledger::bundle::Bundle::parse(&http, &Default::default()).unwrap();
    assert_eq!(bundle.consistency.len(), 1);
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    let stored = Ledger::open_read_only(&dir.join("ledger"))
        .unwrap()
        .store()
        .checkpoint_at(size)
        .unwrap()
        .unwrap();
    std::fs::write(dir.join("stored.checkpoint"), &stored.note).unwrap();
    let http = fetch_bundle(&server, &format!("all&since={size}"));
    assert_eq!(
        http,
        cli_bundle(dir, &["bundle", "--all", "--since", "stored.checkpoint"])
    );
    server.assert_up();
}

#[test]
fn a_bundle_signs_the_checkpoint_it_needs_as_the_cli_would() {
    // A log with no adverse entry: its checkpoints carry no adverse index, and a bundle needs
    // one to show completeness. The service signs it, as `evledger bundle` would, and the CLI
    // then finds it and writes the same bytes.
    let env = Env::new();
    env.init();
    for iat in 0..3 {
        env.record(common::INPUT, 1_800_000_000 + iat).ok();
    }
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    assert_eq!(env.log().len(), 3);
    let server = Server::start(&env);
    let http = fetch_bundle(&server, "entry=1");
    let log = env.log();
    assert_eq!(log.len(), 4);
    assert_eq!(log[3]["kind"], "adverse-index");
    let cli = Command::new(common::BIN)
        .args(["bundle", "--entry", "1", "--out", "-", "--ledger", LEDGER])
        .current_dir(env.dir.path())
        .env_remove("EVLEDGER_DIR")
        .output()
        .unwrap();
    assert!(cli.status.success());
    assert_eq!(http, cli.stdout);
    // Nothing more was appended: the anchored checkpoint is reused while the log stands still.
    assert_eq!(fetch_bundle(&server, "entry=1"), http);
    assert_eq!(env.log().len(), 4);
    env.audit_ok();
}

#[test]
fn bad_bundle_queries_are_answered_naming_the_parameter() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    walkthrough_ledger(dir);
    let builds = hashes_of(dir, "firmware-build");
    let server = Server::start_in(dir, "ledger");
    let unknown = "0".repeat(64);
    for (query, status, says) in [
        ("", 400, "nothing selected"),
        ("since=2", 400, "nothing selected"),
        ("claim=zz", 400, "claim=\"zz\" names no entry"),
        ("entry=", 400, "entry=\"\" names no entry"),
        ("entry=01", 400, "entry=\"01\" names no entry"),
        ("all=no", 400, "all=\"no\""),
        ("all&attach=x", 400, "unknown query parameter \"attach\""),
        ("all&since=1&since=2", 400, "since is given twice"),
        ("all&since=yesterday", 400, "since=\"yesterday\" is neither"),
        ("all&since=%ZZ", 400, "since: the value \"%ZZ\""),
        (
            &format!("claim={}", builds[0]),
            400,
            "is a firmware-build, not a claim; use entry= for other kinds",
        ),
        (
            &format!("claim={unknown}"),
            404,
            "no such entry in this log",
        ),
        (
            &format!("export-decision={}", builds[0]),
            400,
            "is a firmware-build, not an export-decision",
        ),
        (
            &format!("deployment={}", builds[0]),
            400,
            "is a firmware-build, not a deployment-record",
        ),
        ("deployment=x", 400, "deployment=\"x\" names no entry"),
        ("entry=9999", 404, "entry=9999: no such entry in this log"),
        (
            "all&since=999",
            404,
            "since=999: the log holds no checkpoint of tree size 999",
        ),
        ("all&since=not%0Aa%0Anote%0A", 400, "since: checkpoint"),
    ] {
        let r = server.get(&format!("/bundle?{query}"));
        assert_eq!(r.status, status, "{query}: {r:?}");
        let (_, detail) = r.problem();
        assert!(detail.contains(says), "{query}: {detail}");
    }
    let r = server.get("/bundle");
    assert_eq!(r.status, 400, "{r:?}");
    // Without a reader's token nothing is said of the query or the entries: the one refusal.
    for query in ["all", "claim=zz", &format!("claim={unknown}")] {
        let r = server.get_anonymous(&format!("/bundle?{query}"));
        assert_eq!(r.status, 401, "{query}: {r:?}");
        assert!(r.header("www-authenticate").is_some(), "{r:?}");
    }
    let r = server.get_anonymous("/statements/0");
    assert_eq!(r.status, 401, "{r:?}");
    let r = server.request("POST", "/bundle?all", &[], b"");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET")), "{r:?}");
    server.assert_up();
}
