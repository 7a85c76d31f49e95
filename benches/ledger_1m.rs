//! Operations on a 1,000,000-entry ledger (DESIGN.md §6).
//!
//! Fixture: `target/bench-fixtures/ledger-1m/`, 1,000,000 unique firmware-build statements
//! appended with `Ledger::append` in batches of 10,000, with one checkpoint at size 1,000,000;
//! built once (a few minutes) and reused. Benches that write work on a fresh copy,
//! `target/bench-fixtures/ledger-1m-work/`, made at the start of each run.
//!
//! Group `ledger_1m`:
//! - `prove`: `Ledger::prove` of a random entry against the checkpoint (the entry row is read
//!   outside the timing); `entry_and_prove` also reads the entry by index, as `evledger prove`
//!   does. Goal: < 1 ms.
//! - `record_process`: the wall clock of one `evledger record firmware-build
//!   examples/facegate/firmware-4.2.0.toml --key ... --issuer ... --subject <unique> --ledger
//!   <1M copy>` process of the release binary, spawn to exit. Goal: < 5 ms.
//! - `checkpoint`: `Ledger::checkpoint` after one more entry (so it signs and stores a new one);
//!   the append is outside the timing. No goal.
//!
//! Group `audit` (optional figure): `audit::audit` throughput in entries/s on a 10,000-entry
//! ledger built in a temporary directory (a full audit of the 1M ledger takes minutes). No goal.

mod common;

use std::hint::black_box;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use evledger::ledger::Ledger;
use evledger::store::StoreRead;

fn bench_ledger_1m(c: &mut Criterion) {
    let fixture = common::ledger_1m();
    let mut g = c.benchmark_group("ledger_1m");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));

    {
        let ledger = Ledger::open(&fixture).expect("open fixture");
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
    }

    let work = common::fixtures_dir().join("ledger-1m-work");
    let started = Instant::now();
    common::work_copy(&fixture, &work);
    eprintln!(
        "copied the fixture to {} in {:.1} s",
        work.display(),
        started.elapsed().as_secs_f64()
    );

    let key_path = common::release_key_path();
    let input = common::repo_path(common::FIRMWARE_TOML_PATH);
    let pid = std::process::id();
    let mut n = 0u64;
    let mut record = || {
        n += 1;
        let status = Command::new(env!("CARGO_BIN_EXE_evledger"))
            .arg("record")
            .arg(common::KIND)
            .arg(&input)
            .arg("--key")
            .arg(&key_path)
            .args(["--issuer", common::ISSUER])
            .arg("--subject")
            .arg(format!("record bench {pid} {n}"))
            .arg("--ledger")
            .arg(&work)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("spawn evledger");
        assert!(status.success(), "evledger record failed: {status}");
    };
    record();
    g.sample_size(50).measurement_time(Duration::from_secs(8));
    g.bench_function("record_process", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                record();
            }
            start.elapsed()
        })
    });

    g.sample_size(100).measurement_time(Duration::from_secs(5));
    {
        let mut ledger = Ledger::open(&work).expect("open work copy");
        let key = common::release_key();
        let evidence = common::firmware_evidence();
        let mut i = 2 * common::LEDGER_1M_SIZE;
        g.bench_function("checkpoint", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    i += 1;
                    let entry = common::fixture_entry(&evidence, &key, i);
                    ledger.append(&[entry]).expect("append");
                    let start = Instant::now();
                    black_box(ledger.checkpoint().expect("checkpoint"));
                    total += start.elapsed();
                }
                total
            })
        });
    }
    g.finish();
}

const AUDIT_SIZE: u64 = 10_000;

fn bench_audit(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(common::fixtures_dir()).expect("temp ledger dir");
    let mut ledger = Ledger::init(dir.path(), "bench.example/audit").expect("init");
    let key = common::release_key();
    let evidence = common::firmware_evidence();
    let entries: Vec<_> = (0..AUDIT_SIZE)
        .map(|i| common::fixture_entry(&evidence, &key, i))
        .collect();
    ledger.append(&entries).expect("append");
    ledger.checkpoint().expect("checkpoint");

    let mut g = c.benchmark_group("audit");
    g.throughput(Throughput::Elements(AUDIT_SIZE))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    g.bench_function("audit_10k", |b| {
        b.iter(|| {
            let report = evledger::audit::audit(&ledger, &mut |_, _| {}).expect("audit");
            assert!(report.is_clean());
            black_box(report)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_ledger_1m, bench_audit);
criterion_main!(benches);
