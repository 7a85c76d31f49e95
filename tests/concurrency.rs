//! Concurrent writers: two streams of `evledger record` processes (500 each, two signers) and two
//! streams of `evledger checkpoint` processes run at once against one ledger. Every process must
//! succeed, and the result must be one tree of 1000 entries that audits clean, with every
//! checkpoint consistent with the final one.

mod common;

use std::collections::HashSet;
use std::time::Instant;

use common::{Env, INPUT, LEDGER, ORIGIN, b64, entry_hashes, hash32, mth};
use evledger::checkpoint;
use evledger::merkle::{ConsistencyProof, RootHash};
use evledger::note::NoteVerifier;

const PER_WRITER: u64 = 500;

#[test]
fn two_writers_and_two_checkpointers() {
    let env = Env::new();
    let vkey = NoteVerifier::parse(&env.init()).unwrap();
    env.run(&["key", "generate", "--out", "second.key"]).ok();
    let start = Instant::now();

    let writers_done = std::sync::atomic::AtomicBool::new(false);
    let (a, b, notes) = std::thread::scope(|s| {
        let writer = |key: &'static str, first_iat: u64| {
            let env = &env;
            s.spawn(move || {
                let mut got = Vec::new();
                for iat in first_iat..first_iat + PER_WRITER {
                    let iat = iat.to_string();
                    let mut args = Env::record_args(INPUT, &iat);
                    args[4] = key;
                    let out = env.run(&args);
                    assert_eq!(out.code, 0, "record {iat} with {key}: {out:?}");
                    let (hash, index) = out.stdout.trim_end().split_once(' ').unwrap();
                    got.push((hash.to_owned(), index.parse::<u64>().unwrap()));
                }
                got
            })
        };
        let a = writer(common::KEY, 0);
        let b = writer("second.key", 0);
        let checkpointer = || {
            s.spawn(|| {
                let mut notes = Vec::new();
                while !writers_done.load(std::sync::atomic::Ordering::Relaxed) {
                    let out = env.run(&["checkpoint", "--ledger", LEDGER]);
                    assert_eq!(out.code, 0, "checkpoint during appends: {out:?}");
                    notes.push(out.stdout);
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                notes
            })
        };
        // Two checkpointers, as when a cron job and an operator sign at the same time.
        let c1 = checkpointer();
        let c2 = checkpointer();
        // Stop the checkpointers before looking at the writers' results, so a failed writer
        // fails the test instead of leaving the checkpointers running forever.
        let (a, b) = (a.join(), b.join());
        writers_done.store(true, std::sync::atomic::Ordering::Relaxed);
        let notes = [c1.join().unwrap(), c2.join().unwrap()];
        (a.unwrap(), b.unwrap(), notes)
    });
    let elapsed = start.elapsed();
    eprintln!(
        "{} records and {} checkpoints in {elapsed:?}",
        a.len() + b.len(),
        notes.iter().map(Vec::len).sum::<usize>()
    );

    // Each writer saw its own entries in increasing index order; together they fill 0..1000.
    for w in [&a, &b] {
        assert!(w.windows(2).all(|p| p[0].1 < p[1].1));
    }
    let indexes: HashSet<u64> = a.iter().chain(&b).map(|(_, i)| *i).collect();
    assert_eq!(indexes, (0..2 * PER_WRITER).collect());

    let log = env.log();
    assert_eq!(log.len() as u64, 2 * PER_WRITER);
    for (hash, index) in a.iter().chain(&b) {
        assert_eq!(log[*index as usize]["entry_hash"], hash.as_str());
    }
    env.audit_ok();

    // One tree: every checkpoint taken during the appends is a prefix of the final one.
    let hashes = entry_hashes(&log);
    let final_root = mth(&hashes);
    let out = env.run(&["checkpoint", "--ledger", LEDGER]);
    let last = checkpoint::verify(out.ok(), &vkey).unwrap();
    assert_eq!(last.checkpoint().size, 2 * PER_WRITER);
    assert_eq!(last.checkpoint().root, final_root);
    let mut taken = std::collections::BTreeMap::new();
    for stream in &notes {
        let mut sizes = Vec::new();
        for note in stream {
            let cp = checkpoint::verify(note, &vkey).unwrap();
            let cp = cp.checkpoint();
            assert_eq!(cp.origin, ORIGIN);
            sizes.push(cp.size);
            taken.insert(cp.size, cp.root);
        }
        // Each checkpointer saw checkpoints that never went back.
        assert!(sizes.windows(2).all(|p| p[0] <= p[1]), "{sizes:?}");
    }
    eprintln!("{} distinct checkpoint sizes", taken.len());
    for (size, root) in &taken {
        assert_eq!(*root, mth(&hashes[..*size as usize]), "size {size}");
    }
    // Consistency proofs from a sample of them to the final tree (each is one process).
    let sample: Vec<(&u64, &[u8; 32])> = taken.iter().filter(|(s, _)| **s > 0).collect();
    let step = sample.len().div_ceil(30).max(1);
    for (size, root) in sample.into_iter().step_by(step) {
        let out = env.run(&[
            "consistency",
            &size.to_string(),
            &(2 * PER_WRITER).to_string(),
            "--json",
            "--ledger",
            LEDGER,
        ]);
        let j: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
        let proof: Vec<Vec<u8>> = j["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| b64(h.as_str().unwrap()))
            .collect();
        RootHash::new(*size, *root)
            .verify_consistency(
                &RootHash::new(2 * PER_WRITER, final_root),
                &ConsistencyProof::from_slices(&proof).unwrap(),
            )
            .expect("checkpoint is consistent with the final tree");
        assert_eq!(hash32(&b64(j["new_root"].as_str().unwrap())), final_root);
    }
}

/// The library API: two threads, each with its own `Ledger` (its own SQLite connection),
/// append 500 entries each one by one.
#[test]
fn two_ledger_handles_in_one_process() {
    use ed25519_dalek::SigningKey;
    use evledger::evidence::{Evidence, InputFormat};
    use evledger::ledger::{Ledger, Signer};

    let dir = tempfile::tempdir().unwrap();
    drop(Ledger::init(dir.path(), ORIGIN).unwrap());
    let ev = Evidence::from_input(
        "firmware-build",
        include_str!("../examples/facegate/firmware-4.2.0.toml"),
        InputFormat::Toml,
    )
    .unwrap();
    let start = Instant::now();
    let results: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = [1u8, 2]
            .into_iter()
            .map(|seed| {
                let (dir, ev) = (dir.path(), &ev);
                s.spawn(move || {
                    let key = SigningKey::from_bytes(&[seed; 32]);
                    let signer = Signer {
                        key: &key,
                        issuer: "Aurelis",
                        subject: "FaceGate 3D 4.2.0",
                        x5chain: vec![],
                    };
                    let mut l = Ledger::open(dir).unwrap();
                    (0..PER_WRITER)
                        .map(|iat| l.record(ev, &signer, iat).unwrap().index)
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    eprintln!(
        "1000 library appends from two handles in {:?}",
        start.elapsed()
    );
    let mut all: Vec<u64> = results.concat();
    all.sort_unstable();
    assert_eq!(all, (0..2 * PER_WRITER).collect::<Vec<_>>());
    let l = Ledger::open(dir.path()).unwrap();
    let report = evledger::audit::audit(&l, &mut |_, _| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!(report.entries, 2 * PER_WRITER);
}
