//! Registration of 10,000 pre-signed statements in one call (`Ledger::register`), against its two
//! irreducible parts: checking the signatures and storing the entries (DESIGN.md §6).
//!
//! Every bench works on the same 10,000 firmware-build statements: the example build signed by
//! the example release engineer's key, subject fixed, `iat` = `FIXTURE_IAT + i`. The key is
//! admitted for `firmware-build` by one pinned-key `SignerRule`. Entries per second in group
//! `register_10k`:
//! - `verify_strict`: `SignedStatement::parse` and `verify` (`verify_strict`) of each statement,
//!   one by one: the reference cost of the signatures;
//! - `check_many`: parsing, then the same signatures through `statement::check_many` (with
//!   `verify_strict`'s acceptance, one comb table per key), which is how registration checks
//!   the signatures of a call;
//! - `payload`: parsing and `Evidence::from_payload` (the strict payload check registration
//!   makes of each statement);
//! - `store/sqlite`: `Store::append_batch` of the 10,000 prepared `NewEntry`s into a fresh SQLite
//!   ledger on disk (WAL, synchronous=FULL) in a temporary directory; `store/memory`: the same
//!   into a `MemoryStore`;
//! - `register/sqlite`: one `Ledger::register` call with the 10,000 statements into a fresh
//!   SQLite ledger on disk (every check and the append in one transaction);
//!   `register/memory`: the same into a ledger over a `MemoryStore`.
//!
//! Creating the fresh ledger, and closing and removing it, are outside the timing.
//! Goal (`BENCHMARKS.md`): `register/sqlite` close to `verify_strict` + `store/sqlite`; the
//! report gives the ratio register / (verify_strict + store), and register / (check_many +
//! payload + store), the sum of the parts registration cannot skip.
//!
//! Group `register_cli`: the wall clock of one `evledger register STATEMENTS-DIR --ledger L`
//! process of the release binary, spawn to exit, over the same 10,000 statements written as files
//! (`target/bench-fixtures/register-10k/`, file-name order = `iat` order) into a fresh ledger
//! whose policy admits the key; stdout (one line per statement) goes to /dev/null.

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{SigningKey, VerifyingKey};
use evledger::evidence::Evidence;
use evledger::ledger::{Ledger, RegisterOptions, Submission};
use evledger::statement::{self, SignedStatement};
use evledger::store::{
    LedgerInfo, MemoryStore, NewEntry, RuleSigner, SignerRule, SqliteStore, Store,
};

/// Statements per registration call.
const N: u64 = 10_000;
/// Subject of every statement (the `iat` is what differs).
const SUBJECT: &str = "FaceGate 3D 4.2.0";
const ORIGIN: &str = "bench.example/register";

/// The 10,000 statements, ready to append (entry hash, signer and index terms filled in).
fn entries(key: &SigningKey) -> Vec<NewEntry> {
    let evidence = common::firmware_evidence();
    let signer = common::signer(key, SUBJECT);
    (0..N)
        .map(|i| Ledger::sign(&evidence, &signer, common::FIXTURE_IAT + i).expect("sign"))
        .collect()
}

fn rule(key: VerifyingKey) -> SignerRule {
    SignerRule {
        kind: common::KIND.to_owned(),
        signer: RuleSigner::Key(key),
    }
}

/// A fresh SQLite ledger in a temporary directory under `target/bench-fixtures/` whose policy
/// admits `key` for firmware builds; removed when the directory is dropped.
fn fresh_sqlite_ledger(key: VerifyingKey) -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir_in(common::fixtures_dir()).expect("temp ledger dir");
    let mut ledger = Ledger::init(dir.path(), ORIGIN).expect("init ledger");
    ledger.admit(&rule(key)).expect("admit the signer");
    (dir, ledger)
}

fn fresh_memory_ledger(key: VerifyingKey) -> Ledger<MemoryStore> {
    let mut ledger =
        Ledger::in_memory(ORIGIN, SigningKey::from_bytes(&[7; 32])).expect("in-memory ledger");
    ledger.admit(&rule(key)).expect("admit the signer");
    ledger
}

fn info() -> LedgerInfo {
    LedgerInfo {
        origin: ORIGIN.to_owned(),
        log_key: SigningKey::from_bytes(&[7; 32]).verifying_key(),
    }
}

/// Times `run` on a fresh value from `setup` per iteration; setup and drop are not timed.
fn timed<T, R>(
    iters: u64,
    mut setup: impl FnMut() -> T,
    mut run: impl FnMut(&mut T) -> R,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let mut value = setup();
        let start = Instant::now();
        black_box(run(&mut value));
        total += start.elapsed();
        drop(value);
    }
    total
}

fn bench_register(c: &mut Criterion) {
    let signing = common::release_key();
    let key = signing.verifying_key();
    let prepared = entries(&signing);
    let submissions: Vec<Submission> = prepared
        .iter()
        .map(|e| Submission {
            statement: e.statement.clone(),
            documents: Vec::new(),
        })
        .collect();
    let avg = prepared.iter().map(|e| e.statement.len()).sum::<usize>() / prepared.len();
    eprintln!("{N} statements, {avg} bytes on average");
    let options = RegisterOptions::default();

    // Check once, outside the timing, that the call registers every statement.
    {
        let (_dir, mut ledger) = fresh_sqlite_ledger(key);
        let done = ledger.register(&submissions, &options).expect("register");
        assert_eq!(done.len() as u64, N);
        assert_eq!(done.last().map(|r| r.index), Some(N - 1));
    }

    let mut g = c.benchmark_group("register_10k");
    g.throughput(Throughput::Elements(N))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));

    g.bench_function("verify_strict", |b| {
        b.iter(|| {
            for s in &submissions {
                let st = SignedStatement::parse(&s.statement).expect("parses");
                black_box(st.verify(&key).expect("verifies"));
            }
        })
    });
    g.bench_function("check_many", |b| {
        b.iter(|| {
            let parsed: Vec<SignedStatement> = submissions
                .iter()
                .map(|s| SignedStatement::parse(&s.statement).expect("parses"))
                .collect();
            let items: Vec<_> = parsed.iter().map(|st| (st, &key)).collect();
            for r in statement::check_many(&items) {
                r.expect("verifies");
            }
        })
    });
    g.bench_function("payload", |b| {
        b.iter(|| {
            for s in &submissions {
                let st = SignedStatement::parse(&s.statement).expect("parses");
                black_box(Evidence::from_payload(&st.header().kind, st.payload()).expect("valid"));
            }
        })
    });
    g.bench_function("store/sqlite", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || {
                    let dir = tempfile::tempdir_in(common::fixtures_dir()).expect("temp dir");
                    let store = SqliteStore::create(dir.path(), &info()).expect("create store");
                    (store, dir)
                },
                |(store, _)| store.append_batch(&prepared).expect("append"),
            )
        })
    });
    g.bench_function("store/memory", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || MemoryStore::new(info()),
                |store| store.append_batch(&prepared).expect("append"),
            )
        })
    });
    g.bench_function("register/sqlite", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || fresh_sqlite_ledger(key),
                |(_, ledger)| ledger.register(&submissions, &options).expect("register"),
            )
        })
    });
    g.bench_function("register/memory", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || fresh_memory_ledger(key),
                |ledger| ledger.register(&submissions, &options).expect("register"),
            )
        })
    });
    g.finish();

    bench_cli(c, key, &prepared);
}

/// The statements as files `00000.cose` … `09999.cose`, rewritten when they differ.
fn statement_files(entries: &[NewEntry]) -> PathBuf {
    let dir = common::fixtures_dir().join("register-10k");
    std::fs::create_dir_all(&dir).expect("create statement dir");
    for (i, e) in entries.iter().enumerate() {
        let path = dir.join(format!("{i:05}.cose"));
        if std::fs::read(&path).ok().as_deref() != Some(e.statement.as_slice()) {
            std::fs::write(&path, &e.statement).expect("write statement file");
        }
    }
    dir
}

fn register_process(statements: &Path, ledger: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_evledger"))
        .arg("register")
        .arg(statements)
        .arg("--ledger")
        .arg(ledger)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("spawn evledger");
    assert!(
        out.status.success(),
        "evledger register failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn bench_cli(c: &mut Criterion, key: VerifyingKey, entries: &[NewEntry]) {
    let statements = statement_files(entries);
    let mut g = c.benchmark_group("register_cli");
    g.throughput(Throughput::Elements(N))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    g.bench_function("register_process", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // The ledger is closed before the process opens it.
                let (dir, ledger) = fresh_sqlite_ledger(key);
                drop(ledger);
                let start = Instant::now();
                register_process(&statements, dir.path());
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench_register);
criterion_main!(benches);
