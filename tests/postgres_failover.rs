//! Two `evledger serve` instances on one PostgreSQL ledger, the sequencing one killed with
//! SIGKILL in the middle of a burst, 20 times, while clients submit to both (`specs/store.md`,
//! "Several service instances").
//!
//! Each round starts whichever instance is not running, waits until one holds the lease, has
//! clients submit pre-signed statements to both instances, and once a number of registrations
//! (different each round) were acknowledged kills the sequencer: an event, never a delay. The
//! other instance's clients keep going: their registrations wait in the queue until it takes the
//! lease over, which the test waits for as an event too (the lease row names it under a new
//! epoch). After every round each acknowledged statement is in the log exactly once, `audit` is
//! clean, every stored checkpoint verifies and extends the one before it, and every entry was
//! appended under the epoch of the lease its sequencer held: one log, never a fork.
#![cfg(feature = "postgres")]

#[path = "serve_load/client.rs"]
mod client;
mod common;
#[path = "serve_load/crash.rs"]
mod crash;
mod pg_cluster;

use std::sync::mpsc;

use client::{Conn, Server};
use common::{Env, ORIGIN};
use crash::{History, check_after_restart, client, presign, sha256};
use evledger::note::NoteVerifier;
use evledger::store::postgres::{SetupRoles, setup};

/// Times the sequencer is killed.
const ROUNDS: usize = 20;
/// Concurrent clients in a burst, half on each instance.
const CLIENTS: usize = 4;
/// New statements each client offers in a round (besides the retried ones).
const PER_CLIENT: usize = 12;
/// The lease, short so that each takeover comes soon; the test never waits on it by the clock.
const LEASE_TTL_MS: &str = "300";

/// The acknowledgement after which round `r` kills the sequencer.
fn kill_after(r: usize) -> usize {
    4 + (r * 7) % (CLIENTS * PER_CLIENT / 3)
}

/// The lease row: its holder and epoch, and whether it has not expired.
fn lease(db: &mut postgres::Client) -> (Option<String>, i64, bool) {
    let row = db
        .query_one(
            "SELECT holder, epoch, expires_at > clock_timestamp() FROM evledger.lease",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// The process id in a lease holder's name (`host/pid/random`).
fn holder_pid(holder: &str) -> u32 {
    holder
        .split('/')
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("lease holder {holder:?} names no process"))
}

/// Waits until one of `servers` holds an unexpired lease at an epoch above `after`; returns its
/// position and the epoch. Polls the database: the event is the lease row changing.
fn sequencer(db: &mut postgres::Client, servers: &[&Server], after: i64) -> (usize, i64) {
    for _ in 0..60_000 {
        if let (Some(holder), epoch, true) = lease(db)
            && epoch > after
        {
            let pid = holder_pid(&holder);
            if let Some(i) = servers.iter().position(|s| s.pid() == pid) {
                return (i, epoch);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("no instance took the lease over");
}

#[test]
fn acknowledged_registrations_survive_killing_the_sequencer_twenty_times() {
    let Some(cluster) = pg_cluster::cluster() else {
        return;
    };
    let env = Env::new();
    let db = cluster.new_database();
    let service = format!("{db}_svc");
    setup(
        &cluster.url(&db),
        &SetupRoles {
            owner: &format!("{db}_owner"),
            service: &service,
            service_password: None,
        },
    )
    .unwrap();
    let url = cluster.url_as(&service, &db);
    let vkey = env
        .run(&["init", "--origin", ORIGIN, "--ledger", "A", "--store", &url])
        .ok()
        .trim_end()
        .to_owned();
    let vkey = NoteVerifier::parse(&vkey).unwrap();
    env.run(&[
        "init",
        "--origin",
        ORIGIN,
        "--ledger",
        "B",
        "--store",
        &url,
        "--log-key",
        "A/log.key",
    ])
    .ok();
    std::fs::copy(
        common::root().join("keys.example/release-engineer.key.pub"),
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
        "A",
    ])
    .ok();
    let mut su = cluster.superuser(&db);
    let start = |dir: &str| {
        Server::start(
            common::BIN,
            env.dir.path(),
            dir,
            &["--lease-ttl-ms", LEASE_TTL_MS],
        )
    };

    let mut fresh = presign(&env, ROUNDS * CLIENTS * PER_CLIENT).into_iter();
    let mut retry: Vec<Vec<u8>> = Vec::new();
    let mut h = History::new(vkey);
    let mut servers: [Option<Server>; 2] = [Some(start("A")), Some(start("B"))];
    let mut epoch = 0;
    let mut takeovers = 0;

    for round in 0..ROUNDS {
        for (slot, dir) in servers.iter_mut().zip(["A", "B"]) {
            if slot.is_none() {
                *slot = Some(start(dir));
            }
        }
        let [Some(a), Some(b)] = &servers else {
            unreachable!("both instances were just started")
        };
        let (seq, e) = sequencer(&mut su, &[a, b], epoch - 1);
        epoch = e;
        if round > 0 {
            check_after_restart(&env, "A", &a.addr, &mut h);
        }
        let addrs = [a.addr.clone(), b.addr.clone()];
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
            .enumerate()
            .map(|(i, statements)| {
                let (addr, tx) = (addrs[i % 2].clone(), tx.clone());
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
        if let Ok(mut c) = Conn::connect(&addrs[1 - seq])
            && let Ok(r) = c.get("/checkpoint")
            && r.status == 200
        {
            h.seen_notes.push(String::from_utf8(r.body).unwrap());
        }
        let mut killed = servers[seq].take().expect("the sequencer runs");
        killed.kill9();
        // The survivor takes the lease over once it expires, and registers what its clients
        // queued meanwhile.
        let survivor = servers[1 - seq].as_ref().expect("the other instance runs");
        let (now, e) = sequencer(&mut su, &[survivor], epoch);
        assert_eq!(now, 0);
        epoch = e;
        // The survivor says so itself, once its writer has taken the lease in.
        let says = |text: &str| {
            text.contains("\nevledger_sequencing 1\n")
                && text.contains(&format!("\nevledger_lease_epoch {e}\n"))
        };
        let mut text = String::new();
        for _ in 0..12_000 {
            let r = Conn::connect(&survivor.addr)
                .and_then(|mut c| c.get("/metrics"))
                .unwrap();
            text = String::from_utf8(r.body).unwrap();
            if says(&text) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(says(&text), "{text}");
        takeovers += 1;
        for handle in handles {
            let seen = handle.join().unwrap();
            for (hash, status) in seen.acked {
                h.acked.entry(hash).or_insert(status);
            }
            retry.extend(seen.unknown);
        }
    }
    assert_eq!(takeovers, ROUNDS);
    for (slot, dir) in servers.iter_mut().zip(["A", "B"]) {
        if slot.is_none() {
            *slot = Some(start(dir));
        }
    }
    let addr = servers[0].as_ref().expect("A runs").addr.clone();
    // What was in doubt at the last kill is registered exactly once by a retry, through either
    // instance.
    let mut conn = Conn::connect(&addr).unwrap();
    for st in &retry {
        let r = conn.post_cose("/entries", st).unwrap();
        assert!(matches!(r.status, 200..=202), "retry answered {r:?}");
        h.acked.insert(sha256(st), r.status);
    }
    check_after_restart(&env, "B", &addr, &mut h);
    // Entries were appended under epochs that only went up along the log: each sequencer
    // appended after its predecessor's last entry, never between them.
    let back: i64 = su
        .query_one(
            "SELECT count(*) FROM (SELECT epoch < lag(epoch) OVER (ORDER BY idx) AS back
                                   FROM evledger.entries) t WHERE back",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        back, 0,
        "an entry carries an older epoch than the one before it"
    );
}
