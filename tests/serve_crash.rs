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
#[path = "serve_load/crash.rs"]
mod crash;

use std::sync::mpsc;

use client::{Conn, Server};
use common::{Env, LEDGER, root};
use crash::{History, check_after_restart, client, presign, sha256};
use evledger::note::NoteVerifier;

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
    let mut retry: Vec<Vec<u8>> = Vec::new();
    let mut h = History::new(vkey);
    let mut killed_with_unknown = 0;

    for round in 0..ROUNDS {
        let mut server = Server::start(common::BIN, env.dir.path(), LEDGER, &[]);
        if round > 0 {
            check_after_restart(&env, LEDGER, &server.addr, &mut h);
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
            h.seen_notes.push(String::from_utf8(r.body).unwrap());
        }
        server.kill9();
        for handle in handles {
            let seen = handle.join().unwrap();
            for (hash, status) in seen.acked {
                h.acked.entry(hash).or_insert(status);
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
    check_after_restart(&env, LEDGER, &server.addr, &mut h);
    // What was in doubt at the last kill is registered exactly once by a retry.
    let mut conn = Conn::connect(&server.addr).unwrap();
    for st in &retry {
        let r = conn.post_cose("/entries", st).unwrap();
        assert!(matches!(r.status, 200..=202), "retry answered {r:?}");
        h.acked.insert(sha256(st), r.status);
    }
    check_after_restart(&env, LEDGER, &server.addr, &mut h);
}
