//! Fixtures shared by the benches: the example firmware build, the example signer key, the
//! cached 1,000,000-entry ledger, and helpers to reach the bytes Ed25519 signs in a statement.
//!
//! Long fixtures live under `target/bench-fixtures/` and are reused while they check out; a
//! missing or invalid one is rebuilt (a build is written to `NAME.building` and renamed into
//! place only when complete, so an interrupted build is never taken for a good one).

// Every bench file includes this module and uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use ed25519_dalek::SigningKey;
use evledger::cbor::{self, Value};
use evledger::evidence::{Evidence, InputFormat};
use evledger::hex;
use evledger::ledger::{Ledger, Signer};
use evledger::merkle;
use evledger::store::{NewEntry, StoreRead};

/// The evidence kind every bench records.
pub const KIND: &str = "firmware-build";
/// The example firmware build, as the release engineer writes it.
pub const FIRMWARE_TOML: &str = include_str!("../../examples/facegate/firmware-4.2.0.toml");
/// Path of the example firmware build, relative to the repository root.
pub const FIRMWARE_TOML_PATH: &str = "examples/facegate/firmware-4.2.0.toml";
/// Issuer of every bench statement.
pub const ISSUER: &str = "Aurelis Security Systems";
/// Entries in the big fixture ledger.
pub const LEDGER_1M_SIZE: u64 = 1_000_000;
/// Statements signed and appended per transaction while building the big fixture.
pub const LEDGER_1M_BATCH: u64 = 10_000;
/// Origin of the big fixture ledger.
pub const LEDGER_1M_ORIGIN: &str = "bench.example/ledger-1m";
/// `iat` of fixture entry 0; entry `i` is signed at `FIXTURE_IAT + i`.
pub const FIXTURE_IAT: u64 = 1_767_225_600;

/// `target/bench-fixtures/`, created if needed.
pub fn fixtures_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target dir>/tmp`; its parent honours CARGO_TARGET_DIR.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR has a parent")
        .to_path_buf();
    let dir = target.join("bench-fixtures");
    std::fs::create_dir_all(&dir).expect("create target/bench-fixtures");
    dir
}

/// A path inside the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A mode-0600 copy of `keys.example/release-engineer.key` (the CLI refuses wider modes).
pub fn release_key_path() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = fixtures_dir().join("release-engineer.key");
    let src = repo_path("keys.example/release-engineer.key");
    let pem = std::fs::read(&src).expect("read keys.example/release-engineer.key");
    if std::fs::read(&path).ok().as_deref() != Some(pem.as_slice()) {
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, &pem).expect("write key copy");
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    path
}

/// The example release engineer's signing key.
pub fn release_key() -> SigningKey {
    evledger::keys::read_signing_key(&release_key_path()).expect("example key parses")
}

/// The example firmware build, validated once.
pub fn firmware_evidence() -> Evidence {
    Evidence::from_input(KIND, FIRMWARE_TOML, InputFormat::Toml).expect("example evidence is valid")
}

/// A signer for `subject`.
pub fn signer<'a>(key: &'a SigningKey, subject: &'a str) -> Signer<'a> {
    Signer {
        key,
        issuer: ISSUER,
        subject,
        x5chain: Vec::new(),
    }
}

/// The subject of fixture entry `i`: what makes each statement unique.
pub fn fixture_subject(i: u64) -> String {
    format!("FaceGate 3D 4.2.0 unit {i:07}")
}

/// Signs fixture entry `i`.
pub fn fixture_entry(evidence: &Evidence, key: &SigningKey, i: u64) -> NewEntry {
    let subject = fixture_subject(i);
    Ledger::sign(evidence, &signer(key, &subject), FIXTURE_IAT + i).expect("sign fixture entry")
}

/// The bytes Ed25519 signs for a statement: `["Signature1", protected, h'', payload]` (RFC 9052 §4.4).
pub fn sig_structure(statement: &[u8]) -> Vec<u8> {
    let v = cbor::decode(statement).expect("statement is CBOR");
    let Value::Tag(18, inner) = v else {
        panic!("not a tagged COSE_Sign1")
    };
    let Value::Array(parts) = *inner else {
        panic!("COSE_Sign1 is not an array")
    };
    cbor::encode(&Value::Array(vec![
        Value::text("Signature1"),
        parts[0].clone(),
        Value::Bytes(Vec::new()),
        parts[2].clone(),
    ]))
}

/// The 64-byte signature of a statement.
pub fn signature_of(statement: &[u8]) -> ed25519_dalek::Signature {
    let v = cbor::decode(statement).expect("statement is CBOR");
    let sig = match &v {
        Value::Tag(18, inner) => inner.as_array().and_then(|a| a.get(3)?.as_bytes()),
        _ => None,
    }
    .and_then(|b| <[u8; 64]>::try_from(b).ok())
    .expect("statement has a 64-byte signature");
    ed25519_dalek::Signature::from_bytes(&sig)
}

/// A small deterministic generator (xorshift64*) for random indexes.
pub struct Rng(u64);

impl Rng {
    /// Seeded generator; the seed must not be 0.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// Next value, uniform enough for picking indexes.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `[0, n)`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Marker file of a complete 1M ledger: its size and root, written last.
const READY: &str = "READY";

/// The cached 1,000,000-entry ledger (`target/bench-fixtures/ledger-1m/`), built if missing or invalid.
///
/// Entry `i` is the example firmware build signed by the example key with subject
/// [`fixture_subject`]`(i)` at `FIXTURE_IAT + i`, appended with [`Ledger::append`] in batches of
/// 10,000; the ledger holds one checkpoint, at size 1,000,000. Benches must not write to it: the
/// ones that do work on [`work_copy`].
pub fn ledger_1m() -> PathBuf {
    let dir = fixtures_dir().join("ledger-1m");
    match check_ledger_1m(&dir) {
        Ok(()) => return dir,
        Err(why) if dir.exists() => {
            eprintln!("fixture {}: {why}; rebuilding", dir.display());
            std::fs::remove_dir_all(&dir).expect("remove invalid fixture");
        }
        Err(_) => {}
    }
    build_ledger_1m(&dir);
    check_ledger_1m(&dir).expect("freshly built fixture checks out");
    dir
}

fn check_ledger_1m(dir: &Path) -> Result<(), String> {
    let marker = std::fs::read_to_string(dir.join(READY)).map_err(|e| format!("{READY}: {e}"))?;
    let ledger = Ledger::open(dir).map_err(|e| e.to_string())?;
    let store = ledger.store();
    let size = store.size().map_err(|e| e.to_string())?;
    if size != LEDGER_1M_SIZE {
        return Err(format!("holds {size} entries, not {LEDGER_1M_SIZE}"));
    }
    let cp = store
        .latest_checkpoint()
        .map_err(|e| e.to_string())?
        .ok_or("no checkpoint")?;
    let root = merkle::root(store, LEDGER_1M_SIZE).map_err(|e| e.to_string())?;
    if cp.size != LEDGER_1M_SIZE || cp.root != root {
        return Err("checkpoint does not match the tree".into());
    }
    if marker.trim() != format!("{LEDGER_1M_SIZE} {}", hex::encode(&root)) {
        return Err(format!("{READY} does not match the tree"));
    }
    Ok(())
}

/// Builds the 1M ledger: worker threads sign batches, this thread appends them in order.
fn build_ledger_1m(dir: &Path) {
    let building = dir.with_extension("building");
    let _ = std::fs::remove_dir_all(&building);
    let started = Instant::now();
    eprintln!(
        "building fixture {} ({LEDGER_1M_SIZE} entries; a few minutes, once)",
        dir.display()
    );
    let mut ledger = Ledger::init(&building, LEDGER_1M_ORIGIN).expect("init fixture ledger");
    let evidence = firmware_evidence();
    let key = release_key();
    let batches = LEDGER_1M_SIZE / LEDGER_1M_BATCH;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, Vec<NewEntry>)>(workers as usize);
        for w in 0..workers {
            let tx = tx.clone();
            let (evidence, key) = (&evidence, &key);
            scope.spawn(move || {
                for b in (w..batches).step_by(workers as usize) {
                    let start = b * LEDGER_1M_BATCH;
                    let entries = (start..start + LEDGER_1M_BATCH)
                        .map(|i| fixture_entry(evidence, key, i))
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
                ledger.append(&entries).expect("append fixture batch");
                next += 1;
                if next.is_multiple_of(10) {
                    eprintln!(
                        "  {} entries, {:.0} s",
                        next * LEDGER_1M_BATCH,
                        started.elapsed().as_secs_f64()
                    );
                }
            }
        }
        assert_eq!(next, batches, "every batch appended");
    });
    let cp = ledger.checkpoint().expect("checkpoint the fixture");
    drop(ledger);
    std::fs::write(
        building.join(READY),
        format!("{} {}\n", cp.size, hex::encode(&cp.root)),
    )
    .expect("write marker");
    std::fs::rename(&building, dir).expect("move fixture into place");
    eprintln!(
        "built {} in {:.0} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
}

/// A fresh writable copy of a ledger directory at `to` (database and log key; no WAL is left
/// once the last connection closes).
pub fn work_copy(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).expect("create work copy");
    for name in [
        evledger::store::DB_FILE,
        evledger::ledger::LOG_KEY_FILE,
        "log.key.pub",
    ] {
        std::fs::copy(from.join(name), to.join(name)).expect("copy fixture file");
    }
    // Committed entries may still be in the write-ahead log (it is not folded in on close).
    let wal = format!("{}-wal", evledger::store::DB_FILE);
    if from.join(&wal).exists() {
        std::fs::copy(from.join(&wal), to.join(&wal)).expect("copy fixture WAL");
    }
}
