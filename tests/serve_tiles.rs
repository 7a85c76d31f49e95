//! Reading the log over real loopback HTTP as C2SP tlog-tiles (`specs/service.md`, "Reading the
//! log"): an independent reader written from the specs recomputes the checkpoint's root from the
//! tiles, and every malformed or absent tile is answered as the spec says, with the caching
//! tlog-tiles asks for.
#![cfg(feature = "serve")]

mod common;
mod serve_client;

use std::process::Command;

use common::{Env, LEDGER};
use ed25519_dalek::SigningKey;
use evledger::evidence::{Evidence, InputFormat};
use evledger::ledger::{self, Ledger, Signer};
use evledger::merkle::{self, Hash};
use evledger::store::StoreRead as _;
use serve_client::Server;

const FW_TOML: &str = include_str!("../examples/facegate/firmware-4.2.0.toml");

/// The tree size the checkpoint publishes: more than one full tile, so that the log has a full
/// and a partial level-0 tile and a level-1 tile.
const PUBLISHED: u64 = 300;

/// Entries appended after the checkpoint, which no tile may show yet.
const UNPUBLISHED: u64 = 7;

/// A ledger of [`PUBLISHED`] entries under a checkpoint; returns the env and the hashes of
/// those entries and of the [`UNPUBLISHED`] ones [`append_unpublished`] adds.
///
/// The unpublished entries are appended only once the server runs: a starting server signs a
/// checkpoint over entries a killed predecessor left uncovered (`specs/service.md`).
fn ledger_of_300() -> (Env, Vec<Hash>) {
    let env = Env::new();
    env.init();
    let mut l = Ledger::open(&env.path(LEDGER)).unwrap();
    let published = entries(0, PUBLISHED);
    l.append(&published).unwrap();
    assert_eq!(l.checkpoint().unwrap().size, PUBLISHED);
    let unpublished = entries(PUBLISHED, PUBLISHED + UNPUBLISHED);
    let all = published.iter().chain(&unpublished);
    (env, all.map(|e| e.entry_hash).collect())
}

/// Firmware-build entries issued at consecutive times `from..to`.
fn entries(from: u64, to: u64) -> Vec<evledger::store::NewEntry> {
    let key = SigningKey::from_bytes(&[9; 32]);
    let signer = Signer {
        key: &key,
        issuer: "Aurelis",
        subject: "FaceGate 3D 4.2.0",
        x5chain: vec![],
    };
    let evidence = Evidence::from_input("firmware-build", FW_TOML, InputFormat::Toml).unwrap();
    (from..to)
        .map(|iat| ledger::new_entry(&evidence, &signer, 1_800_000_000 + iat).unwrap())
        .collect()
}

/// Appends the [`UNPUBLISHED`] entries behind the running server's back, with no checkpoint.
fn append_unpublished(env: &Env) {
    let mut l = Ledger::open(&env.path(LEDGER)).unwrap();
    l.append(&entries(PUBLISHED, PUBLISHED + UNPUBLISHED))
        .unwrap();
    assert_eq!(l.store().size().unwrap(), PUBLISHED + UNPUBLISHED);
}

/// Runs the independent reader against the server; fails (never skips) without python3.
fn run_reader(server: &Server) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tlog_tiles_reader.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("http://{}", server.addr))
        .arg(serve_client::READER_TOKEN)
        .output()
        .unwrap_or_else(|e| {
            panic!("the independent tlog-tiles reader needs python3 (standard library only): {e}")
        });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "reader crashed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), stdout)
}

#[test]
fn an_independent_reader_recomputes_the_checkpoint_root_from_the_tiles() {
    let (env, hashes) = ledger_of_300();
    let server = Server::start(&env);
    append_unpublished(&env);
    let (ok, out) = run_reader(&server);
    let root = merkle::root(
        Ledger::open_read_only(&env.path(LEDGER)).unwrap().store(),
        PUBLISHED,
    )
    .unwrap();
    assert!(ok, "{out}");
    assert_eq!(
        out.trim_end(),
        format!(
            "ok {PUBLISHED} {} {PUBLISHED}",
            evledger::hex::encode(&root)
        )
    );
    assert_eq!(root, common::mth(&hashes[..PUBLISHED as usize]));
}

#[test]
fn the_reader_catches_tiles_that_do_not_hash_to_the_checkpoint() {
    // A reader that cannot fail proves nothing: one stored leaf hash is changed behind the
    // service's back, and the tiles it serves no longer fold to the signed root.
    let (env, _) = ledger_of_300();
    let db = env.path(LEDGER).join(evledger::store::DB_FILE);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS nodes_no_update;
         UPDATE nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 77;",
    )
    .unwrap();
    drop(conn);
    let server = Server::start(&env);
    let (ok, out) = run_reader(&server);
    assert!(!ok, "{out}");
    assert_eq!(
        out.trim_end(),
        "fail level 1 hash 0 is not the MTH of tile 0/0",
        "{out}"
    );
}

#[test]
fn tiles_have_one_spelling_and_exist_only_within_the_checkpoint() {
    let (env, hashes) = ledger_of_300();
    let server = Server::start(&env);
    append_unpublished(&env);

    // The checkpoint: a signed note, never cached for long.
    let r = server.get("/checkpoint");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert!(
        std::str::from_utf8(&r.body)
            .unwrap()
            .starts_with(&format!("{}\n{PUBLISHED}\n", common::ORIGIN)),
        "{r:?}"
    );

    // A full tile: 256 leaf hashes, immutable.
    let r = server.get("/tile/0/000");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let leaves: Vec<Hash> = hashes.iter().map(|h| merkle::leaf_hash(h)).collect();
    assert_eq!(r.body, leaves[..256].concat());

    // The partial tile of the checkpoint's size, and a narrower one of an earlier size: both
    // are prefixes of the tree, cached briefly.
    let r = server.get("/tile/0/001.p/44");
    assert_eq!((r.status, r.body.len()), (200, 44 * 32), "{r:?}");
    assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
    assert_eq!(r.body, leaves[256..300].concat());
    let r = server.get("/tile/0/001.p/3");
    assert_eq!(r.body, leaves[256..259].concat());
    // Level 1: one hash, the root of the first 256 leaves.
    let r = server.get("/tile/1/000.p/1");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, common::mth(&hashes[..256]).to_vec());

    // Entry bundles: each entry the 32-byte entry hash behind a big-endian length of 32.
    let r = server.get("/tile/entries/000");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let framed: Vec<u8> = hashes[..256]
        .iter()
        .flat_map(|h| [&[0u8, 32][..], h].concat())
        .collect();
    assert_eq!(r.body, framed);
    let r = server.get("/tile/entries/001.p/44");
    assert_eq!((r.status, r.body.len()), (200, 44 * 34), "{r:?}");
    assert_eq!(&r.body[..2], &[0, 32]);
    assert_eq!(&r.body[2..34], &hashes[256]);

    // Statements at their own URL, within the checkpoint.
    let stored = Ledger::open_read_only(&env.path(LEDGER))
        .unwrap()
        .store()
        .entry(299)
        .unwrap();
    let r = server.get("/statements/299");
    assert_eq!((r.status, &r.body), (200, &stored.statement), "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/cose"));

    // Beyond the checkpoint: the entries appended after it are in the store, not published.
    for (path, says) in [
        ("/tile/0/001", "this tile has 44 of them: /tile/0/001.p/44"),
        ("/tile/0/001.p/45", "/tile/0/001.p/44"),
        ("/tile/0/001.p/51", "level 0 has 300 hashes"),
        ("/tile/entries/001.p/51", "the log has 300 entries"),
        ("/tile/entries/001", "/tile/entries/001.p/44"),
        ("/tile/0/002.p/1", "beyond the published tree (size 300)"),
        ("/tile/1/000", "level 1 has 1 hashes"),
        ("/tile/1/000.p/2", "level 1 has 1 hashes"),
        ("/tile/2/000.p/1", "level 2 has 0 hashes"),
        ("/tile/63/000.p/1", "level 63 has 0 hashes"),
        ("/tile/0/x001/x234/067", "beyond the published tree"),
        (
            "/statements/300",
            "no statement 300 in the published tree (size 300)",
        ),
        ("/statements/306", "no statement 306"),
    ] {
        let r = server.get(path);
        assert_eq!(r.status, 404, "{path}: {r:?}");
        // It appears once a checkpoint covers it: no cache may keep the 404.
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        let (title, detail) = r.problem();
        assert_eq!(title, "Not Found");
        assert!(detail.contains(says), "{path}: {detail}");
    }

    // Malformed paths: 400, naming what is wrong.
    for (path, says) in [
        ("/tile/0/01", "\"01\" is not 3 digits"),
        ("/tile/0/x01", "\"x01\" is not 3 digits"),
        ("/tile/0/x000/001", "leading zero group"),
        ("/tile/0/1", "\"1\" is not 3 digits"),
        ("/tile/0/001.p/0", "partial width \"0\""),
        ("/tile/0/001.p/256", "partial width \"256\""),
        ("/tile/0/001.p/044", "partial width \"044\""),
        ("/tile/64/000", "level \"64\" is not a decimal from 0 to 63"),
        ("/tile/00/000", "level \"00\""),
        ("/tile/entries", "index is missing"),
        ("/tile", "needs a level and an index"),
        ("/tile/entries/001.p", "\"001.p\" is not 3 digits"),
        ("/tile/0/x018/x446/x744/x073/x709/x551/616", "too large"),
    ] {
        let r = server.get(path);
        assert_eq!(r.status, 400, "{path}: {r:?}");
        assert_eq!(r.header("cache-control"), None, "{path}");
        let (title, detail) = r.problem();
        assert_eq!(title, "Malformed Tile Path", "{path}");
        assert!(detail.contains(says), "{path}: {detail}");
    }
    for (path, says) in [
        ("/statements/01", "\"01\" is not a log index"),
        ("/statements/-1", "\"-1\" is not a log index"),
        ("/statements/x", "\"x\" is not a log index"),
    ] {
        let r = server.get(path);
        assert_eq!(r.status, 400, "{path}: {r:?}");
        assert!(r.problem().1.contains(says), "{path}: {r:?}");
    }
    let r = server.request("POST", "/tile/0/000", &[], b"");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET")), "{r:?}");
    server.assert_up();

    // Once a checkpoint covers the later entries, their tiles appear.
    Ledger::open(&env.path(LEDGER))
        .unwrap()
        .checkpoint()
        .unwrap();
    let r = server.get("/tile/entries/001.p/51");
    assert_eq!((r.status, r.body.len()), (200, 51 * 34), "{r:?}");
    assert_eq!(&r.body[50 * 34 + 2..], &hashes[306]);
    let r = server.get("/tile/0/001.p/44");
    assert_eq!(r.body, leaves[256..300].concat());
}

#[test]
fn before_the_first_checkpoint_there_are_no_tiles() {
    let env = Env::new();
    env.init();
    let server = Server::start(&env);
    for path in ["/tile/0/000.p/1", "/tile/entries/000.p/1", "/statements/0"] {
        let r = server.get(path);
        assert_eq!(r.status, 404, "{path}: {r:?}");
        assert!(r.problem().1.contains("no signed checkpoint yet"), "{r:?}");
    }
}
