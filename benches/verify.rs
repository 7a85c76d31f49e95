//! Offline verification of a 10,000-entry bundle against batch signature verification (DESIGN.md §6).
//!
//! Fixture: `target/bench-fixtures/bundle-10k.cbor` and `trust-10k.toml`, exported once from
//! the 1M-entry ledger (see `ledger_1m.rs`) with `export::build` for entries 37, 137, ...,
//! 999,937 (10,000 firmware builds spread over the log, each with its inclusion proof against
//! the checkpoint at size 1,000,001, which holds the log's adverse index; the export works on a
//! copy of the ledger, removed afterwards) and `trust_init::trust_file_text`. Rebuilt if missing or if
//! it no longer verifies.
//!
//! Group `verify`, in entries (signatures) per second:
//! - `verify_bundle`: `verify::verify_bundle` on the bundle bytes, everything included (parse,
//!   checkpoint, inclusion proofs, signatures with `verify_strict`'s acceptance, roles, report);
//! - `verify_text`, `verify_json`: what `evledger verify` does after reading the file: parse
//!   once, `verify_parsed_with`, then render the human report or the JSON report (goal: text at
//!   most 10 % over JSON);
//! - `verify_strict_each`: the same 10,000 signatures, `VerifyingKey::verify_strict` one by one;
//! - `verify_batch`: the same 10,000 signatures through `ed25519_dalek::verify_batch`.
//!
//! Goal: `verify_bundle` within 1.5x of `verify_batch`'s time. Also printed once (not timed):
//! bundle bytes per entry beside the average statement size + 32 x ceil(log2 n), n = 1,000,000
//! (goal: overhead beyond the statement <= 32 x ceil(log2 n)).

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signature, VerifyingKey};
use evledger::bundle::{Bundle, BundleLimits};
use evledger::export::{self, BundleOptions, Selection};
use evledger::ledger::Ledger;
use evledger::store::StoreRead;
use evledger::trust::TrustFile;
use evledger::verify::{self, Verdict};

const ENTRIES: u64 = 10_000;
const STRIDE: u64 = common::LEDGER_1M_SIZE / ENTRIES;
const OFFSET: u64 = 37;

fn bundle_path() -> PathBuf {
    common::fixtures_dir().join("bundle-10k.cbor")
}

fn trust_path() -> PathBuf {
    common::fixtures_dir().join("trust-10k.toml")
}

fn load_trust(path: &Path) -> Result<TrustFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // The benchmark's trust file names no other file.
    let read = |n: &str| Err(format!("{n}: not available"));
    TrustFile::parse(&text, &path.display().to_string(), &read).map_err(|e| e.to_string())
}

/// The cached bundle and trust file if they are well-formed and verify.
fn check_fixture() -> Result<(Vec<u8>, TrustFile), String> {
    let bytes = std::fs::read(bundle_path()).map_err(|e| e.to_string())?;
    let trust = load_trust(&trust_path())?;
    let bundle = Bundle::parse(&bytes, &BundleLimits::default()).map_err(|e| e.to_string())?;
    if bundle.entries.len() as u64 != ENTRIES {
        return Err(format!("{} entries, not {ENTRIES}", bundle.entries.len()));
    }
    let report = verify::verify_integrity(&bytes, &trust);
    // The export appends the log's adverse index before its checkpoint, one past the fixture.
    if report.verdict != Verdict::Verified
        || report.tree_size.is_none_or(|s| s < common::LEDGER_1M_SIZE)
    {
        return Err(format!(
            "verdict {:?} at tree size {:?}",
            report.verdict, report.tree_size
        ));
    }
    Ok((bytes, trust))
}

fn build_fixture() {
    // Exported from a copy: the export appends the adverse index and a checkpoint, and the
    // shared 1M fixture must stay at exactly 1,000,000 entries.
    let dir = common::fixtures_dir().join("ledger-1m-export");
    common::work_copy(&common::ledger_1m(), &dir);
    let mut ledger = Ledger::open(&dir).expect("open fixture copy");
    let entries = (0..ENTRIES)
        .map(|i| ledger.store().entry(OFFSET + i * STRIDE).expect("entry"))
        .collect();
    let selection = Selection {
        all: false,
        entries,
    };
    let bundle = export::build(&mut ledger, &selection, &BundleOptions::default()).expect("export");
    assert_eq!(bundle.entries.len() as u64, ENTRIES, "closure adds nothing");
    let grants = [evledger::ledger::trust_init::RoleGrant {
        name: "release-engineering".into(),
        kinds: vec![common::KIND.into()],
        signer: evledger::ledger::trust_init::RoleSigner::Key(
            common::release_key().verifying_key(),
        ),
    }];
    let trust = evledger::ledger::trust_init::trust_file_text(&ledger, &[], &grants)
        .expect("trust file")
        .text;
    // Write the trust file first: the bundle's presence is what a later run looks for.
    std::fs::write(trust_path(), trust).expect("write trust file");
    let tmp = bundle_path().with_extension("cbor.tmp");
    std::fs::write(&tmp, bundle.to_cbor()).expect("write bundle");
    std::fs::rename(&tmp, bundle_path()).expect("move bundle into place");
    drop(ledger);
    let _ = std::fs::remove_dir_all(&dir);
}

fn fixture() -> (Vec<u8>, TrustFile) {
    match check_fixture() {
        Ok(f) => return f,
        Err(why) if bundle_path().exists() => {
            eprintln!("fixture {}: {why}; rebuilding", bundle_path().display())
        }
        Err(_) => eprintln!("building fixture {}", bundle_path().display()),
    }
    build_fixture();
    check_fixture().expect("freshly built bundle verifies")
}

fn bench_verify(c: &mut Criterion) {
    let (bytes, trust) = fixture();
    let bundle = Bundle::parse(&bytes, &BundleLimits::default()).expect("bundle parses");
    let key: VerifyingKey = common::release_key().verifying_key();
    let messages: Vec<Vec<u8>> = bundle
        .entries
        .iter()
        .map(|e| common::sig_structure(&e.statement))
        .collect();
    let signatures: Vec<Signature> = bundle
        .entries
        .iter()
        .map(|e| common::signature_of(&e.statement))
        .collect();
    let keys = vec![key; signatures.len()];
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();

    let n = bundle.entries.len() as f64;
    let statements = bundle
        .entries
        .iter()
        .map(|e| e.statement.len())
        .sum::<usize>() as f64
        / n;
    let log2 = (common::LEDGER_1M_SIZE as f64).log2().ceil();
    let per_entry = bytes.len() as f64 / n;
    eprintln!(
        "bundle: {} bytes, {per_entry:.0} bytes per entry; average statement {statements:.0} bytes \
         + 32 x ceil(log2 {}) = {:.0} bytes; overhead beyond the statement {:.0} bytes (budget {:.0})",
        bytes.len(),
        common::LEDGER_1M_SIZE,
        statements + 32.0 * log2,
        per_entry - statements,
        32.0 * log2
    );

    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(ENTRIES))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    g.bench_function("verify_bundle", |b| {
        b.iter(|| {
            let report = verify::verify_integrity(&bytes, &trust);
            assert_eq!(report.verdict, Verdict::Verified);
            black_box(report)
        })
    });
    // What `evledger verify` does after reading the file: parse once, verify, render (as
    // `verify_integrity` does, with no profile).
    let options = verify::VerifyOptions::integrity_only();
    g.bench_function("verify_text", |b| {
        b.iter(|| {
            let bundle = Bundle::parse(&bytes, &BundleLimits::default()).expect("parses");
            let report = verify::verify_parsed_with(&bundle, &trust, &[], &options);
            assert_eq!(report.verdict, Verdict::Verified);
            black_box(report.render())
        })
    });
    g.bench_function("verify_json", |b| {
        b.iter(|| {
            let bundle = Bundle::parse(&bytes, &BundleLimits::default()).expect("parses");
            let report = verify::verify_parsed_with(&bundle, &trust, &[], &options);
            assert_eq!(report.verdict, Verdict::Verified);
            black_box(report.to_json())
        })
    });
    g.bench_function("verify_strict_each", |b| {
        b.iter(|| {
            for (m, s) in messages.iter().zip(&signatures) {
                key.verify_strict(m, s).expect("signature verifies");
            }
        })
    });
    g.bench_function("verify_batch", |b| {
        b.iter(|| {
            ed25519_dalek::verify_batch(&refs, &signatures, &keys).expect("batch verifies");
        })
    });
    g.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
