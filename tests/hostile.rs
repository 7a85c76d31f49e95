//! The verifier's cost on hostile bundles (`specs/verification.md`, "Cost"): each case is refused
//! or reported as it should be, and the peak of live heap bytes while verifying stays under a
//! bound, counted by this binary's global allocator. Nothing here is timed: a quadratic check
//! shows up as allocations too (every case that was quadratic cloned or re-encoded per pair), and
//! the fuzz corpus replays the same inputs (`fuzz/corpus/verify_bundle/hostile-*`).

mod hostile_inputs;
use hostile_inputs as hostile;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use evledger::bundle::{Bundle, BundleLimits};
use evledger::cbor;
use evledger::policy::Profile;
use evledger::trust::TrustFile;
use evledger::verify::{Report, Verdict, verify_bundle};

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Allocation calls, so that a test can also bound how many times a case allocates.
static CALLS: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and only
// updates counters besides.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as received (the caller upholds `alloc`'s contract).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            CALLS.fetch_add(1, Relaxed);
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            CALLS.fetch_add(1, Relaxed);
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CALLS.fetch_add(1, Relaxed);
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One test at a time: the counters are global, so every test of this binary holds this lock
/// from its first allocation to its last (no other thread allocates while one measures).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// What `f` cost: the peak of live heap bytes above those live when it started, and the number
/// of allocation calls. The caller holds [`serial`].
fn cost<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let calls = CALLS.load(Relaxed);
    let out = f();
    let peak = PEAK.load(Relaxed).saturating_sub(base);
    (out, peak, CALLS.load(Relaxed) - calls)
}

const MIB: usize = 1 << 20;

/// The goal of `specs/verification.md`: at most 8x the input plus 16 MiB.
fn memory_goal(input: usize) -> usize {
    8 * input + 16 * MIB
}

fn trust() -> TrustFile {
    let text = include_str!("../fuzz/trust.toml");
    TrustFile::parse(text, "fuzz/trust.toml", &|n: &str| {
        Err(format!("{n}: none"))
    })
    .expect("fuzz/trust.toml parses")
}

fn profiles() -> Vec<Profile> {
    [
        include_str!("../specs/profiles/pad-ibeta-level2.toml"),
        include_str!("../specs/profiles/incident-gdpr-art33.toml"),
    ]
    .iter()
    .map(|p| Profile::parse(p).expect("shipped profile parses"))
    .collect()
}

/// Verifies `bytes` and renders the report both ways, returning the report, the peak heap
/// bytes and the allocation calls.
fn verify(bytes: &[u8]) -> (Report, usize, usize) {
    let (trust, profiles) = (trust(), profiles());
    cost(|| {
        let r = verify_bundle(bytes, &trust, &profiles);
        let _ = (r.render(), r.to_json());
        r
    })
}

fn has_message(r: &Report, fragment: &str) -> bool {
    r.checks.iter().any(|c| c.message.contains(fragment))
}

#[test]
fn duplicate_models_are_found_in_n_log_n() {
    let _serial = serial();
    let bytes = hostile::unique_models(20_000);
    let (r, peak, calls) = verify(&bytes);
    assert_eq!(r.verdict, Verdict::InvalidBundle);
    assert!(
        has_message(&r, "applies_to.models[19999]: duplicates an earlier item"),
        "{}",
        r.render()
    );
    // The quadratic check cloned both strings of every pair: 2 x 20,000^2 / 2 allocations.
    assert!(calls < 20 * 20_000, "{calls} allocation calls");
    assert!(peak < memory_goal(bytes.len()), "peak {peak} bytes");
}

#[test]
fn uncited_attachments_are_looked_up_once() {
    let _serial = serial();
    let bytes = hostile::uncited_attachments(200, 4096);
    let (r, peak, calls) = verify(&bytes);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert!(has_message(
        &r,
        "no entry in the bundle cites this document's digest"
    ));
    // Rebuilding every entry as JSON per attachment made millions of allocations.
    assert!(calls < 2_000_000, "{calls} allocation calls");
    assert!(peak < memory_goal(bytes.len()), "peak {peak} bytes");
}

#[test]
fn one_document_is_searched_once_per_wording() {
    let _serial = serial();
    let bytes = hostile::wording_channels(2_000, 256 << 10);
    let (r, peak, _) = verify(&bytes);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    let misses = r
        .checks
        .iter()
        .filter(|c| {
            c.message
                .contains("does not contain the claim's exact wording")
        })
        .count();
    assert_eq!(misses, 2_000, "each channel still gets its check");
    assert!(peak < memory_goal(bytes.len()), "peak {peak} bytes");
}

#[test]
fn nested_arrays_in_a_payload_reserve_only_what_is_there() {
    let _serial = serial();
    let bytes = hostile::nested_payload();
    let (r, peak, _) = verify(&bytes);
    assert_eq!(r.verdict, Verdict::InvalidBundle);
    assert!(has_message(&r, "claim payload"), "{}", r.render());
    // The declared counts add up to 32 x 1 MiB items of 32 bytes: 1 GiB. What remains is the
    // one value per byte of filler that really is there: a payload's decoded tree may cost 32
    // bytes per payload byte beyond the goal (`specs/verification.md`, "Cost").
    let tree = 32 * evledger::statement::MAX_STATEMENT_LEN;
    assert!(peak < memory_goal(bytes.len()) + tree, "peak {peak} bytes");
}

#[test]
fn nested_arrays_decode_within_the_input() {
    let _serial = serial();
    let bytes = hostile::nested_arrays(32, 1 << 20);
    let (r, peak, _) = cost(|| cbor::decode(&bytes));
    assert!(r.is_err());
    assert!(peak < memory_goal(bytes.len()), "peak {peak} bytes");
    let deep = hostile::nested_arrays(40, 16);
    assert!(matches!(
        cbor::decode(&deep),
        Err(cbor::CborError::TooDeep { max: 32, .. })
    ));
}

#[test]
fn nested_entries_are_refused_without_a_value_tree() {
    let _serial = serial();
    let bytes = hostile::nested_bundle(900_000);
    let (r, peak, _) = verify(&bytes);
    assert_eq!(r.verdict, Verdict::InvalidBundle);
    assert!(
        has_message(&r, "cbor: unexpected end of input"),
        "{}",
        r.render()
    );
    // Refused before any generic value tree is built.
    assert!(peak < 4 * MIB, "peak {peak} bytes");
}

#[test]
fn a_large_bundle_stays_within_the_memory_goal() {
    let _serial = serial();
    let bytes = hostile::big_bundle(4 << 20);
    let (r, peak, _) = verify(&bytes);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert!(peak < memory_goal(bytes.len()), "peak {peak} bytes");
}

#[test]
fn a_bundle_parses_without_a_value_tree() {
    let _serial = serial();
    let bytes = hostile::big_bundle(4 << 20);
    let (b, peak, _) = cost(|| Bundle::parse(&bytes, &BundleLimits::default()));
    let b = b.expect("parses");
    assert_eq!(b.to_cbor(), bytes);
    // The statements copied out, and little else.
    assert!(peak < bytes.len() + bytes.len() / 4, "peak {peak} bytes");
}

/// Many claims: each assertion and wording is judged by a lookup of the checks about it, not a
/// pass over every check of the rule.
#[test]
fn many_claims_are_judged_subject_by_subject() {
    let _serial = serial();
    let bytes = hostile::uncited_attachments(1_000, 0);
    let (r, peak, _) = verify(&bytes);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert_eq!(
        r.judged.iter().filter(|j| j.field == "wording").count(),
        1_000
    );
    assert!(peak < memory_goal(bytes.len()), "peak {peak} bytes");
}

/// `witness cosign` and `consistency-check` read a file of any size only up to a signed note's
/// largest size, then refuse it naming the file and the limit.
#[test]
fn oversized_notes_are_refused_after_the_limit() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("temp dir");
    let big = dir.path().join("huge.note");
    let limit = evledger::note::MAX_NOTE_LEN;
    std::fs::write(&big, vec![b'a'; limit + 1]).expect("write");
    let runs: [&[&str]; 2] = [
        &["witness", "cosign", "huge.note", "--state", "w"],
        &[
            "consistency-check",
            "huge.note",
            "huge.note",
            "--log-key",
            "aurelis.example/evidence-log+8242b643+AVycbfJhycuEBHV3aq782US0BTKPqyj5s6le9ASQ096E",
        ],
    ];
    for args in runs {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_evledger"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("run evledger");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr.contains(&format!("huge.note: over the limit of {limit} bytes")),
            "{args:?}: {stderr}"
        );
    }
}

/// Progress reaches the end of every per-entry stage, and reports nothing past it.
#[test]
fn progress_covers_every_stage() {
    let _serial = serial();
    let bundle = Bundle::parse(hostile::GOOD_BUILDS, &BundleLimits::default()).expect("parses");
    let n = bundle.entries.len() as u64;
    let seen = std::cell::RefCell::new(Vec::new());
    let r = evledger::verify::verify_parsed_with_progress(
        &bundle,
        &trust(),
        &profiles(),
        &Default::default(),
        &|stage, done, total| seen.borrow_mut().push((stage, done, total)),
    );
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    let seen = seen.into_inner();
    for stage in ["parsing", "proofs", "signatures", "references"] {
        assert!(seen.contains(&(stage, n, n)), "{stage}: {seen:?}");
    }
    assert!(seen.iter().all(|(_, done, total)| done <= total));
}

/// Writes the hostile seeds of the fuzz corpus (`fuzz/corpus/*/hostile-*`), smaller versions of
/// the cases above that `tests/fuzz_corpus.rs` replays on every test run.
#[test]
#[ignore = "writes the fuzz corpus; run by hand"]
fn write_hostile_seeds() {
    let _serial = serial();
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        std::fs::write(corpus.join(target).join(name), bytes).expect("write seed");
    };
    let bundles = [
        ("hostile-unique-models.cbor", hostile::unique_models(4_000)),
        (
            "hostile-uncited-attachments.cbor",
            hostile::uncited_attachments(20, 1_000),
        ),
        (
            "hostile-wording-channels.cbor",
            hostile::wording_channels(300, 32 << 10),
        ),
        (
            "hostile-nested-payload.cbor",
            hostile::nested_payload_of(32 << 10),
        ),
        (
            "hostile-nested-bundle.cbor",
            hostile::nested_bundle(32 << 10),
        ),
    ];
    for (name, bytes) in &bundles {
        write("verify_bundle", name, bytes);
        write("bundle_parse", name, bytes);
    }
    write(
        "cbor_decode",
        "hostile-nested-arrays.cbor",
        &hostile::nested_arrays(32, 32 << 10),
    );
    write(
        "cbor_decode",
        "hostile-too-deep.cbor",
        &hostile::nested_arrays(33, 1),
    );
}

/// Writes every hostile bundle to `$HOSTILE_DIR` (default `target/hostile/`), for
/// `/usr/bin/time -v evledger verify` (BENCHMARKS.md, "Hostile input").
#[test]
#[ignore = "writes files; run by hand"]
fn write_hostile_files() {
    let _serial = serial();
    let dir = std::env::var_os("HOSTILE_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../hostile"),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(&dir).expect("create the output directory");
    let files: [(&str, Vec<u8>); 7] = [
        ("unique-models.cbor", hostile::unique_models(15_000)),
        (
            "uncited-attachments.cbor",
            hostile::uncited_attachments(400, 4096),
        ),
        (
            "wording-channels.cbor",
            hostile::wording_channels(2_000, 800 << 10),
        ),
        ("nested-payload.cbor", hostile::nested_payload()),
        ("nested-bundle.cbor", hostile::nested_bundle(900_000)),
        ("big-32m.cbor", hostile::big_bundle(32 << 20)),
        ("big-53k.cbor", hostile::big_bundle(53_000 * 1_700)),
    ];
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).expect("write");
        eprintln!("{} {}", path.display(), bytes.len());
    }
    let profiles = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/profiles");
    let trust = include_str!("../fuzz/trust.toml").replacen(
        "version = 1\n",
        &format!(
            "version = 1\nprofiles = [\"{profiles}/pad-ibeta-level2.toml\", \"{profiles}/incident-gdpr-art33.toml\"]\n"
        ),
        1,
    );
    std::fs::write(dir.join("trust.toml"), trust).expect("write");
}
