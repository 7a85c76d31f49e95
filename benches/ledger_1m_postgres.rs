//! Inclusion proofs on a 1,000,000-entry ledger stored in PostgreSQL (feature `postgres`;
//! `specs/store.md`, "PostgreSQL"): the figure `benches/ledger_1m.rs` gives for SQLite.
//!
//! The server: the database `EVLEDGER_BENCH_PG` names (a `postgres://` URL of a database the
//! bench may create the ledger in; the fixture then stays there and is reused by later runs),
//! else a throwaway cluster started as the tests start theirs (`tests/pg_cluster`: `initdb` into
//! a temporary directory, a unix socket, `fsync` off), where the fixture is built on every run.
//! With neither, the bench says so loudly and measures nothing.
//!
//! Fixture: entry `i` is the example firmware build signed by the example key with subject
//! `common::fixture_subject(i)` at `FIXTURE_IAT + i`, as in the SQLite fixture, appended with
//! `Ledger::append` (one write transaction per batch of 10,000, so each batch is one statement
//! of the store's append), then one checkpoint signed over the 1,000,000 entries: a ledger like
//! any other, which `evledger audit` accepts. Its directory (log key and `store.url`) is
//! `target/bench-fixtures/ledger-1m-pg/` for `EVLEDGER_BENCH_PG`.
//!
//! Group `ledger_1m_postgres`:
//! - `prove`: `Ledger::prove` of a random entry against the checkpoint (the entry row is read
//!   outside the timing). Goal: < 1 ms, as on SQLite.
//! - `entry_and_prove`: the same after reading the entry by index, as `evledger prove` does.

mod common;
#[path = "../tests/pg_cluster/mod.rs"]
mod pg_cluster;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use evledger::hex;
use evledger::ledger::Ledger;
use evledger::merkle;
use evledger::store::{NewEntry, StoreRead};

/// The environment variable naming the database to keep the fixture in.
const URL_VAR: &str = "EVLEDGER_BENCH_PG";

/// Marker file of a complete fixture: the URL, size and root, written last.
const READY: &str = "READY";

/// The database to use and the fixture's directory; `None` when there is no server.
fn database() -> Option<(String, PathBuf, Option<tempfile::TempDir>)> {
    if let Ok(url) = std::env::var(URL_VAR) {
        return Some((url, common::fixtures_dir().join("ledger-1m-pg"), None));
    }
    let cluster = pg_cluster::cluster()?;
    let db = cluster.new_database();
    eprintln!(
        "no {URL_VAR}: building the fixture in a throwaway cluster (minutes, on every run); set {URL_VAR}=postgres://... to keep it"
    );
    let dir = tempfile::tempdir_in(common::fixtures_dir()).expect("temporary ledger directory");
    Some((cluster.url(&db), dir.path().join("ledger"), Some(dir)))
}

/// Whether `dir` holds the complete fixture for `url`.
fn check(dir: &Path, url: &str) -> Result<Ledger, String> {
    let marker = std::fs::read_to_string(dir.join(READY)).map_err(|e| format!("{READY}: {e}"))?;
    let ledger = Ledger::open(dir).map_err(|e| e.to_string())?;
    let store = ledger.store();
    let size = store.size().map_err(|e| e.to_string())?;
    if size != common::LEDGER_1M_SIZE {
        return Err(format!("holds {size} entries"));
    }
    let cp = store
        .latest_checkpoint()
        .map_err(|e| e.to_string())?
        .ok_or("no checkpoint")?;
    let root = merkle::root(store, size).map_err(|e| e.to_string())?;
    if cp.size != size || cp.root != root {
        return Err("checkpoint does not match the tree".into());
    }
    if marker.trim() != format!("{url} {size} {}", hex::encode(&root)) {
        return Err(format!("{READY} does not match"));
    }
    Ok(ledger)
}

/// Builds the fixture in `dir` (and the database `url` names): worker threads sign batches,
/// this thread appends them in order.
fn build(dir: &Path, url: &str) -> Ledger {
    let started = Instant::now();
    eprintln!(
        "building the PostgreSQL fixture ({} entries) in {}",
        common::LEDGER_1M_SIZE,
        pg_redacted(url)
    );
    let mut ledger = Ledger::init(dir, common::LEDGER_1M_ORIGIN)
        .expect("init the fixture ledger (an empty database?)");
    let evidence = common::firmware_evidence();
    let key = common::release_key();
    let batch = common::LEDGER_1M_BATCH;
    let batches = common::LEDGER_1M_SIZE / batch;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, Vec<NewEntry>)>(workers as usize);
        for w in 0..workers {
            let tx = tx.clone();
            let (evidence, key) = (&evidence, &key);
            scope.spawn(move || {
                for b in (w..batches).step_by(workers as usize) {
                    let entries = (b * batch..(b + 1) * batch)
                        .map(|i| common::fixture_entry(evidence, key, i))
                        .collect();
                    if tx.send((b, entries)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = std::collections::BTreeMap::new();
        let mut next = 0u64;
        for (b, entries) in rx {
            pending.insert(b, entries);
            while let Some(entries) = pending.remove(&next) {
                ledger.append(&entries).expect("append a fixture batch");
                next += 1;
                if next.is_multiple_of(10) {
                    eprintln!(
                        "  {} entries, {:.0} s",
                        next * batch,
                        started.elapsed().as_secs_f64()
                    );
                }
            }
        }
        assert_eq!(next, batches, "every batch appended");
    });
    let cp = ledger.checkpoint().expect("checkpoint the fixture");
    std::fs::write(
        dir.join(READY),
        format!("{url} {} {}\n", cp.size, hex::encode(&cp.root)),
    )
    .expect("write the marker");
    eprintln!(
        "built the PostgreSQL fixture in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    ledger
}

/// `url` without its password.
fn pg_redacted(url: &str) -> String {
    evledger::store::postgres::redact(url)
}

fn bench_prove(c: &mut Criterion) {
    let Some((url, dir, _temp)) = database() else {
        eprintln!(
            "\n!!!!! SKIPPED ledger_1m_postgres: no PostgreSQL (set {URL_VAR}=postgres://... or install PostgreSQL) !!!!!\n"
        );
        return;
    };
    evledger::store::use_store_url(&url).expect("a postgres:// URL");
    let ledger = match check(&dir, &url) {
        Ok(ledger) => ledger,
        Err(why) => {
            if dir.exists() {
                eprintln!("fixture {}: {why}; rebuilding", dir.display());
                std::fs::remove_dir_all(&dir).expect("remove the old fixture directory");
            }
            drop(build(&dir, &url));
            check(&dir, &url).expect("the fixture just built checks out")
        }
    };

    let mut g = c.benchmark_group("ledger_1m_postgres");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let mut rng = common::Rng::new(0x5eed_1001);
    g.bench_function("prove", |b| {
        b.iter_batched(
            || {
                let i = rng.below(common::LEDGER_1M_SIZE);
                ledger.store().entry(i).expect("entry")
            },
            |e| black_box(ledger.prove(&e, None).expect("prove")),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("entry_and_prove", |b| {
        b.iter(|| {
            let i = rng.below(common::LEDGER_1M_SIZE);
            let e = ledger.store().entry(i).expect("entry");
            black_box(ledger.prove(&e, None).expect("prove"))
        })
    });
    g.finish();
}

criterion_group!(benches, bench_prove);
criterion_main!(benches);
