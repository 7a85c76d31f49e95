//! `evledger serve` killed with SIGKILL in the middle of a burst of concurrent registrations, 20
//! times on one ledger (`specs/service.md`, "Registration: one writer, group commit").
//!
//! Each round starts the real binary on loopback, has several clients submit pre-signed
//! statements over keep-alive connections, and kills the server once a number of registrations
//! (different each round) were acknowledged: an event, never a delay. After each restart every
//! acknowledged statement is in the log exactly once and answers `GET /entries/HASH`, `audit`
//! is clean, every stored checkpoint verifies under the log key and extends the one before it,
//! and every checkpoint a client saw is the one stored at its size: the log never forked.
//! Statements in flight when the server died are submitted again in the next round, as a client
//! would retry them.
#![cfg(feature = "serve")]

#[path = "serve_load/client.rs"]
mod client;
mod common;

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;

use client::{Conn, Server};
use common::{Env, LEDGER, root};
use evledger::checkpoint::{self, VerifiedCheckpoint, consistency::check_extends};
use evledger::evidence::{Evidence, InputFormat};
use evledger::hex;
use evledger::ledger::{Ledger, Signer};
use evledger::note::NoteVerifier;
use evledger::store::StoreRead as _;

/// Times the server is killed.
const ROUNDS: usize = 20;
/// Concurrent clients in a burst.
const CLIENTS: usize = 8;
/// New statements each client offers in a round (besides the retried ones).
const PER_CLIENT: usize = 16;

/// The acknowledgement after which round `r` kills the server: spread over the burst so the
/// kill lands early, in the middle and late, but always while statements are still in flight.
fn kill_after(r: usize) -> usize {
    8 + (r * 37) % (CLIENTS * PER_CLIENT / 2)
}

/// What one client saw: acknowledged statements (entry hash → status), and statements whose
/// fate it does not know (the server died before answering).
#[derive(Default)]
struct Seen {
    acked: Vec<([u8; 32], u16)>,
    unknown: Vec<Vec<u8>>,
}

/// Submits `statements` one after another on one keep-alive connection until the server stops
/// answering; reports each acknowledgement on `acks` as it arrives.
fn client(addr: String, statements: Vec<Vec<u8>>, acks: mpsc::Sender<()>) -> Seen {
    let mut seen = Seen::default();
    let mut conn = match Conn::connect(&addr) {
        Ok(c) => c,
        Err(_) => {
            seen.unknown = statements;
            return seen;
        }
    };
    let mut rest = statements.into_iter();
    while let Some(st) = rest.next() {
        match conn.post_cose("/entries", &st) {
            Ok(r) if matches!(r.status, 200..=202) => {
                seen.acked.push((sha256(&st), r.status));
                let _ = acks.send(());
            }
            Ok(r) => panic!(
                "registration answered {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            ),
            Err(_) => {
                // The server was killed: this statement and the rest are in an unknown state.
                seen.unknown.push(st);
                seen.unknown.extend(rest);
                break;
            }
        }
    }
    seen
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// `count` distinct firmware-build statements signed by the example release engineer.
fn presign(env: &Env, count: usize) -> Vec<Vec<u8>> {
    let text =
        std::fs::read_to_string(root().join("examples/facegate/firmware-4.2.0.toml")).unwrap();
    let evidence = Evidence::from_input("firmware-build", &text, InputFormat::Toml).unwrap();
    let key = evledger::keys::read_signing_key(&env.path(common::KEY)).unwrap();
    (0..count)
        .map(|i| {
            let subject = format!("FaceGate 3D 4.2.0 unit {i:06}");
            let signer = Signer {
                key: &key,
                issuer: "Aurelis",
                subject: &subject,
                x5chain: Vec::new(),
            };
            Ledger::sign(&evidence, &signer, 1_800_000_000 + i as u64)
                .unwrap()
                .statement
        })
        .collect()
}

/// The checks after a restart: every acknowledged statement once in the log and served (those
/// not in `served` yet are fetched), audit clean, stored checkpoints verified and consistent one
/// after another (proved from the last of `checked` on), and
/// every checkpoint seen over HTTP equal to the stored one of its size.
fn check_after_restart(
    env: &Env,
    server: &Server,
    vkey: &NoteVerifier,
    acked: &HashMap<[u8; 32], u16>,
    seen_notes: &[String],
    checked: &mut Vec<VerifiedCheckpoint>,
    served: &mut HashSet<[u8; 32]>,
) {
    let ledger = Ledger::open_read_only(&env.path(LEDGER)).unwrap();
    let store = ledger.store();
    let size = store.size().unwrap();
    let mut count: HashMap<[u8; 32], usize> = HashMap::new();
    for i in 0..size {
        *count.entry(store.entry(i).unwrap().entry_hash).or_default() += 1;
    }
    for (h, status) in acked {
        assert_eq!(
            count.get(h),
            Some(&1),
            "statement {} (answered {status}) is in the log {} times",
            hex::encode(h),
            count.get(h).copied().unwrap_or(0)
        );
    }
    assert!(
        count.values().all(|&n| n == 1),
        "an entry is in the log twice"
    );

    // Served: the receipt of each entry acknowledged since the last check, over one connection
    // (the older ones were fetched after earlier restarts, and are counted above).
    let mut conn = Conn::connect(&server.addr).unwrap();
    for h in acked.keys().filter(|h| !served.contains(*h)) {
        let r = conn.get(&format!("/entries/{}", hex::encode(h))).unwrap();
        assert_eq!(r.status, 200, "GET /entries/{}: {r:?}", hex::encode(h));
    }
    served.extend(acked.keys().copied());

    env.audit_ok();

    // Every stored checkpoint verifies and extends the one before it (proved for those stored
    // since the last check); none checked before was lost or changed.
    let stored = store.checkpoints().unwrap();
    let known = checked.last().map_or(0, |c| c.checkpoint().size);
    let mut verified: Vec<VerifiedCheckpoint> = Vec::with_capacity(stored.len());
    for cp in &stored {
        let v = checkpoint::verify(&cp.note, vkey)
            .unwrap_or_else(|e| panic!("stored checkpoint of size {}: {e}", cp.size));
        if let Some(prev) = verified.last().filter(|_| cp.size > known) {
            let (old, new) = (prev.checkpoint(), v.checkpoint());
            // From the empty tree (init's checkpoint) the proof is empty.
            let proof = if old.size == 0 {
                Default::default()
            } else {
                ledger.consistency(old.size, new.size).unwrap().2
            };
            check_extends(old, new, &proof).unwrap_or_else(|e| {
                panic!("checkpoint {} does not extend {}: {e}", new.size, old.size)
            });
        }
        verified.push(v);
    }
    for old in checked.iter() {
        let size = old.checkpoint().size;
        let now = verified.iter().find(|v| v.checkpoint().size == size);
        assert_eq!(
            now.map(|v| v.checkpoint().root),
            Some(old.checkpoint().root),
            "the checkpoint of size {size} checked before a restart is gone or changed"
        );
    }
    for note in seen_notes {
        let v = checkpoint::verify(note, vkey).unwrap();
        let size = v.checkpoint().size;
        assert!(
            verified
                .iter()
                .any(|s| s.checkpoint().size == size && s.checkpoint().root == v.checkpoint().root),
            "the checkpoint of size {size} served over HTTP is not the stored one"
        );
    }
    // The latest checkpoint covers everything acknowledged.
    let latest = verified.last().expect("a checkpoint after registrations");
    assert_eq!(
        latest.checkpoint().size,
        size,
        "the log is not covered by a checkpoint"
    );
    *checked = verified;
}

#[test]
fn acknowledged_registrations_survive_kill_9_twenty_times() {
    let env = Env::new();
    let vkey = NoteVerifier::parse(&env.init()).unwrap();
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

    let mut fresh = presign(&env, ROUNDS * CLIENTS * PER_CLIENT).into_iter();
    let mut acked: HashMap<[u8; 32], u16> = HashMap::new();
    let mut retry: Vec<Vec<u8>> = Vec::new();
    let mut seen_notes: Vec<String> = Vec::new();
    let mut checked: Vec<VerifiedCheckpoint> = Vec::new();
    let mut served: HashSet<[u8; 32]> = HashSet::new();
    let mut killed_with_unknown = 0;

    for round in 0..ROUNDS {
        let mut server = Server::start(common::BIN, env.dir.path(), LEDGER, &[]);
        if round > 0 {
            check_after_restart(
                &env,
                &server,
                &vkey,
                &acked,
                &seen_notes,
                &mut checked,
                &mut served,
            );
        }

        // This round's statements: the ones left in doubt by the last kill, then fresh ones,
        // dealt to the clients in turn.
        let mut mine: Vec<Vec<Vec<u8>>> = vec![Vec::new(); CLIENTS];
        let pool: Vec<Vec<u8>> = retry
            .drain(..)
            .chain(fresh.by_ref().take(CLIENTS * PER_CLIENT))
            .collect();
        for (i, st) in pool.into_iter().enumerate() {
            mine[i % CLIENTS].push(st);
        }
        let (tx, rx) = mpsc::channel();
        let handles: Vec<_> = mine
            .into_iter()
            .map(|statements| {
                let (addr, tx) = (server.addr.clone(), tx.clone());
                std::thread::spawn(move || client(addr, statements, tx))
            })
            .collect();
        drop(tx);
        let target = kill_after(round);
        for n in 0..target {
            rx.recv().unwrap_or_else(|_| {
                panic!("round {round}: the burst ended after {n} acknowledgements, before {target}")
            });
        }
        // A checkpoint seen mid-burst, to check after the restart that it was never forked.
        if let Ok(mut c) = Conn::connect(&server.addr)
            && let Ok(r) = c.get("/checkpoint")
            && r.status == 200
        {
            seen_notes.push(String::from_utf8(r.body).unwrap());
        }
        server.kill9();
        for h in handles {
            let seen = h.join().unwrap();
            for (hash, status) in seen.acked {
                acked.entry(hash).or_insert(status);
            }
            if !seen.unknown.is_empty() {
                killed_with_unknown += 1;
            }
            retry.extend(seen.unknown);
        }
    }
    // Most kills must have landed with registrations in flight, or the test tested nothing.
    assert!(
        killed_with_unknown >= ROUNDS,
        "only {killed_with_unknown} client bursts were cut short by the kills"
    );
    let server = Server::start(common::BIN, env.dir.path(), LEDGER, &[]);
    check_after_restart(
        &env,
        &server,
        &vkey,
        &acked,
        &seen_notes,
        &mut checked,
        &mut served,
    );
    // What was in doubt at the last kill is registered exactly once by a retry.
    let mut conn = Conn::connect(&server.addr).unwrap();
    for st in &retry {
        let r = conn.post_cose("/entries", st).unwrap();
        assert!(matches!(r.status, 200..=202), "retry answered {r:?}");
        acked.insert(sha256(st), r.status);
    }
    check_after_restart(
        &env,
        &server,
        &vkey,
        &acked,
        &seen_notes,
        &mut checked,
        &mut served,
    );
}
