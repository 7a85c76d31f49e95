//! Batch append throughput against raw Ed25519 signing (DESIGN.md §6).
//!
//! Measures, in entries per second, in one criterion group (`append`):
//! - `sign_ed25519`: plain `SigningKey::sign` over the Sig_structures of 1,000 real statements
//!   (the exact bytes a statement signature covers); the reference rate;
//! - `append_1000/{value,json,toml}`: a batch of 1,000 unique firmware-build entries, each
//!   validated in the loop, encoded and signed with `Ledger::sign`, then stored with one
//!   `Ledger::append` (one SQLite transaction, WAL, synchronous=FULL) that also writes the
//!   Merkle nodes. `value` validates a prepared typed value (the kind's rules, as `from_input`
//!   runs them after deserializing); `json` and `toml` run `Evidence::from_input` on the text;
//! - the phases of that pipeline on their own, to show where the time goes: `validate_value`,
//!   `validate_json`, `validate_toml`, `ledger_sign` (encode + sign + entry hash) and `store`
//!   (`Ledger::append` of 1,000 pre-signed entries).
//!
//! Goal: `append_1000` at >= 0.75x the `sign_ed25519` rate (entries/s).
//! Every entry is unique (its subject carries a counter). Each bench that stores starts from an
//! empty ledger in a temporary directory under `target/bench-fixtures/`, which grows by 1,000
//! entries per iteration (to some 10^4-10^5 entries by the end of a run; the store gets slower
//! as its entry-hash index outgrows the cache, see BENCHMARKS.md).

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{ISSUER, KIND};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer as _, SigningKey};
use evledger::evidence::{Evidence, InputFormat, Kind, Problems};
use evledger::ledger::{Ledger, Signer};
use evledger::store::NewEntry;

const BATCH: u64 = 1_000;

/// Makes every subject unique across iterations and bench functions.
static NEXT: AtomicU64 = AtomicU64::new(0);

fn next_subjects() -> Vec<String> {
    let start = NEXT.fetch_add(BATCH, Ordering::Relaxed);
    (start..start + BATCH)
        .map(|i| format!("FaceGate 3D 4.2.0 unit {i:07}"))
        .collect()
}

fn signer<'a>(key: &'a SigningKey, subject: &'a str) -> Signer<'a> {
    Signer {
        key,
        issuer: ISSUER,
        subject,
        x5chain: Vec::new(),
    }
}

/// How `append_1000` obtains validated evidence for each entry.
#[derive(Clone, Copy)]
enum Input<'a> {
    /// A prepared typed value, validated by the kind's rules.
    Value(&'a Evidence),
    /// JSON text through `Evidence::from_input`.
    Json(&'a str),
    /// TOML text through `Evidence::from_input`.
    Toml(&'a str),
}

fn validate(input: Input<'_>) -> Evidence {
    match input {
        Input::Value(Evidence::FirmwareBuild(fb)) => {
            let fb = fb.clone();
            let mut problems = Problems::default();
            fb.validate(&mut problems);
            problems.into_result().expect("valid evidence");
            Evidence::FirmwareBuild(fb)
        }
        Input::Value(other) => panic!(
            "the append benchmark prepares firmware builds, not {}",
            other.kind()
        ),
        Input::Json(text) => {
            Evidence::from_input(KIND, text, InputFormat::Json).expect("valid evidence")
        }
        Input::Toml(text) => {
            Evidence::from_input(KIND, text, InputFormat::Toml).expect("valid evidence")
        }
    }
}

/// Validate, encode, sign and append one batch of unique entries.
fn append_batch(ledger: &mut Ledger, key: &SigningKey, input: Input<'_>, iat: u64) {
    let subjects = next_subjects();
    let mut entries = Vec::with_capacity(subjects.len());
    for (i, subject) in subjects.iter().enumerate() {
        let evidence = validate(input);
        let entry =
            Ledger::sign(&evidence, &signer(key, subject), iat + i as u64).expect("sign entry");
        entries.push(entry);
    }
    black_box(ledger.append(&entries).expect("append batch"));
}

fn sign_batch(evidence: &Evidence, key: &SigningKey, iat: u64) -> Vec<NewEntry> {
    next_subjects()
        .iter()
        .enumerate()
        .map(|(i, s)| Ledger::sign(evidence, &signer(key, s), iat + i as u64).expect("sign"))
        .collect()
}

/// An empty ledger in a temporary directory under `target/bench-fixtures/`, removed on drop.
fn fresh_ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir_in(common::fixtures_dir()).expect("temp ledger dir");
    let ledger = Ledger::init(dir.path(), "bench.example/append").expect("init ledger");
    (dir, ledger)
}

fn bench_append(c: &mut Criterion) {
    let key = common::release_key();
    let evidence = common::firmware_evidence();
    let json = evidence.to_json().to_string();
    let iat = common::FIXTURE_IAT;

    // The messages real statements sign: distinct Sig_structures of the example build.
    let messages: Vec<Vec<u8>> = sign_batch(&evidence, &key, iat)
        .iter()
        .map(|e| common::sig_structure(&e.statement))
        .collect();
    let avg = messages.iter().map(Vec::len).sum::<usize>() / messages.len();
    eprintln!("Sig_structure: {avg} bytes on average");

    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(BATCH))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));

    g.bench_function("sign_ed25519", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(key.sign(m));
            }
        })
    });
    for (name, input) in [
        ("value", Input::Value(&evidence)),
        ("json", Input::Json(&json)),
        ("toml", Input::Toml(common::FIRMWARE_TOML)),
    ] {
        let (_dir, mut ledger) = fresh_ledger();
        g.bench_function(format!("append_1000/{name}"), |b| {
            b.iter(|| append_batch(&mut ledger, &key, input, iat))
        });
    }
    for (name, input) in [
        ("validate_value", Input::Value(&evidence)),
        ("validate_json", Input::Json(&json)),
        ("validate_toml", Input::Toml(common::FIRMWARE_TOML)),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    black_box(validate(input));
                }
            })
        });
    }
    let subjects = next_subjects();
    g.bench_function("ledger_sign", |b| {
        b.iter(|| {
            for (i, s) in subjects.iter().enumerate() {
                black_box(Ledger::sign(&evidence, &signer(&key, s), iat + i as u64).expect("sign"));
            }
        })
    });
    let (_dir, mut ledger) = fresh_ledger();
    g.bench_function("store", |b| {
        b.iter_batched(
            || sign_batch(&evidence, &key, iat),
            |entries| black_box(ledger.append(&entries).expect("append")),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_append);
criterion_main!(benches);
