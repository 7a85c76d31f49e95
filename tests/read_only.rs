//! A ledger this process cannot write — a backup on a read-only mount, another user's ledger — can
//! still be read, proved, bundled, audited and turned into a trust file; every write says the
//! ledger is read-only (`specs/store.md`, "Read-only ledgers").
//!
//! The binary runs as a user who may not write the ledger directory or its files: when the tests
//! run as root (who ignores file permissions), as `nobody` (uid and gid 65534) through
//! `setpriv`; otherwise as the test's own user after `chmod`. Each test checks that a write is
//! refused as read-only (or, for an unreadable write-ahead log, that the ledger is not opened),
//! so it cannot pass on a ledger that is in fact writable.
#![cfg(unix)]

mod common;

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BIN, Env, INPUT, KEY, LEDGER, Out, chmod};
use evledger::ledger::Ledger;
use evledger::store::{SqliteStore, Store, StoreError, StoreRead};

/// The unprivileged user (and group) the binary runs as when the tests run as root.
const NOBODY: u32 = 65534;

const READ_ONLY: &str =
    "the ledger at L is read-only: it can be read, audited and exported, not written";
const READ_ONLY_HINT: &str = "hint: writing needs write access to the ledger directory and its files (as their owner, on a read-write mount); log, show, prove, consistency, bundle, audit and trust init work without it\n";

fn running_as_root(env: &Env) -> bool {
    let probe = env.path("uid-probe");
    std::fs::write(&probe, b"").unwrap();
    let uid = std::fs::metadata(&probe).unwrap().uid();
    std::fs::remove_file(probe).unwrap();
    uid == 0
}

/// A ledger made read-only for the user the binary runs as; restores write access when dropped,
/// so the scratch directory can be removed.
struct ReadOnlyLedger {
    env: Env,
    as_nobody: bool,
}

impl ReadOnlyLedger {
    /// Takes away write access to `L` and its files; `out/` stays writable for the outputs.
    fn new(env: Env) -> ReadOnlyLedger {
        let as_nobody = running_as_root(&env);
        if as_nobody {
            let setpriv = Command::new("setpriv").arg("--version").output();
            assert!(
                setpriv.is_ok_and(|o| o.status.success()),
                "running as root, this test needs setpriv (util-linux) to run evledger as an unprivileged user"
            );
            // `nobody` must reach the test directory, and read the signing key for `record`
            // (mode 0600, so it must own it).
            chmod(env.dir.path(), 0o755);
            std::os::unix::fs::chown(env.path(KEY), Some(NOBODY), Some(NOBODY)).unwrap();
        }
        // The role's public key beside the ledger: `nobody` may not reach the checkout (a clone
        // under a private directory), only the test directory.
        std::fs::copy(
            common::root().join("keys.example/release-engineer.key.pub"),
            env.path("release.pub"),
        )
        .unwrap();
        chmod(&env.path("release.pub"), 0o644);
        let out = env.path("out");
        std::fs::create_dir(&out).unwrap();
        chmod(&out, 0o777);
        for f in std::fs::read_dir(env.path(LEDGER)).unwrap() {
            let f = f.unwrap().path();
            let private = f.extension().is_some_and(|e| e == "key");
            chmod(&f, if private { 0o400 } else { 0o444 });
        }
        chmod(&env.path(LEDGER), 0o555);
        ReadOnlyLedger { env, as_nobody }
    }

    /// Runs the binary as the user who may not write the ledger.
    fn run(&self, args: &[&str]) -> Out {
        let mut c = if self.as_nobody {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                BIN,
            ]);
            c
        } else {
            Command::new(BIN)
        };
        c.args(args)
            .current_dir(self.env.dir.path())
            .env_remove("EVLEDGER_DIR");
        c.output().unwrap().into()
    }

    /// The `trust init --role` that pins the release key, read from the test directory.
    fn release_role(&self) -> String {
        "release-engineering=firmware-build:key:release.pub".to_owned()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        out.stdout
    }

    /// Checks that `record` is refused as read-only: the binary really cannot write here.
    fn assert_writes_refused(&self) {
        let out = self.run(&Env::record_args(INPUT, "5000"));
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (
                1,
                "",
                format!("error: {INPUT}: {READ_ONLY}\n{READ_ONLY_HINT}").as_str()
            )
        );
    }
}

impl Drop for ReadOnlyLedger {
    fn drop(&mut self) {
        chmod(&self.env.path(LEDGER), 0o755);
    }
}

/// Every file of the ledger directory with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    v.sort();
    v
}

/// Three entries, a checkpoint over them, and a fourth entry the checkpoint does not cover.
fn ledger() -> Env {
    let env = Env::new();
    env.init();
    for i in 0..3 {
        env.record(INPUT, 100 + i).ok();
    }
    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    env.record(INPUT, 200).ok();
    env
}

/// Reads, proofs, a bundle that verifies, an audit and a trust file, all from the read-only
/// ledger; every write refused as read-only; nothing in the ledger directory changed.
fn reads_work_and_writes_are_refused(ro: &ReadOnlyLedger) {
    let before = files(&ro.env.path(LEDGER));
    ro.assert_writes_refused();

    let log = ro.ok(&["log", "--json", "--ledger", LEDGER]);
    let log: serde_json::Value = serde_json::from_str(&log).unwrap();
    assert_eq!(log.as_array().unwrap().len(), 4);
    assert!(ro.ok(&["log", "--ledger", LEDGER]).contains("FaceGate"));
    assert!(
        ro.ok(&["show", "3", "--ledger", LEDGER])
            .contains("index 3")
    );
    assert!(
        ro.ok(&["prove", "1", "--ledger", LEDGER])
            .starts_with("index 1\ntree_size 3\n")
    );
    assert!(
        ro.ok(&["consistency", "1", "4", "--ledger", LEDGER])
            .starts_with("old 1\n")
    );
    assert_eq!(
        ro.ok(&["audit", "--ledger", LEDGER]),
        "ok: 4 entries, 7 nodes, 1 checkpoints recomputed and verified\n"
    );
    let role = ro.release_role();
    ro.ok(&[
        "trust",
        "init",
        "--out",
        "out/trust.toml",
        "--role",
        &role,
        "--ledger",
        LEDGER,
    ]);
    // The stored checkpoint covers entries 0..2: a bundle of one of them needs no signing.
    ro.ok(&[
        "bundle",
        "--entry",
        "1",
        "--out",
        "out/b.cbor",
        "--ledger",
        LEDGER,
    ]);
    let verify = ro.run(&[
        "verify",
        "out/b.cbor",
        "--trust",
        "out/trust.toml",
        "--integrity-only",
    ]);
    assert_eq!(verify.code, 0, "{verify:?}");
    // Entry 3 is newer than the stored checkpoint: `checkpoint` would have to sign one.
    let out = ro.run(&["checkpoint", "--ledger", LEDGER]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            1,
            "",
            format!("error: {READ_ONLY}\n{READ_ONLY_HINT}").as_str()
        )
    );
    let out = ro.run(&[
        "bundle",
        "--all",
        "--out",
        "out/all.cbor",
        "--ledger",
        LEDGER,
    ]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            format!("error: {READ_ONLY}\nhint: no stored checkpoint covers the selection, and signing one writes to the ledger: run `evledger checkpoint` where the ledger is writable\n").as_str()
        )
    );
    assert!(!ro.env.path("out/all.cbor").exists());
    let out = ro.run(&["log-key", "retire", "L/log.key.pub", "--ledger", LEDGER]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, format!("error: {READ_ONLY}\n{READ_ONLY_HINT}").as_str())
    );
    assert_eq!(files(&ro.env.path(LEDGER)), before);
}

#[test]
fn a_read_only_ledger_without_wal_files_can_be_read() {
    // As a writer leaves it when it closes: no `-wal` or `-shm` beside the database. In a
    // read-only directory SQLite cannot create the WAL index, so the database is read immutable.
    let env = ledger();
    assert_eq!(
        files(&env.path(LEDGER))
            .iter()
            .map(|(p, _)| p.file_name().unwrap().to_str().unwrap().to_owned())
            .collect::<Vec<_>>(),
        ["evledger.db", "log.key", "log.key.pub"]
    );
    let ro = ReadOnlyLedger::new(env);
    reads_work_and_writes_are_refused(&ro);
}

#[test]
fn a_read_only_ledger_with_its_wal_index_can_be_read() {
    // A read-only reader (any reading command) leaves an empty `-wal` and the `-shm` behind; with
    // them SQLite reads the ledger through its WAL index, as it would a writable one.
    let env = ledger();
    env.run(&["log", "--ledger", LEDGER]).ok();
    assert!(env.path("L/evledger.db-shm").is_file());
    assert!(env.path("L/evledger.db-wal").is_file());
    let ro = ReadOnlyLedger::new(env);
    reads_work_and_writes_are_refused(&ro);
}

#[test]
fn a_write_ahead_log_that_cannot_be_read_is_reported_not_skipped() {
    // Committed writes still in `-wal` (a writer killed, or still running) with no `-shm`: a
    // reader that ignored the log would show the ledger as it was before those writes.
    let env = Env::new();
    env.init();
    env.record(INPUT, 1).ok();
    let holder = rusqlite::Connection::open(env.path("L/evledger.db")).unwrap();
    holder
        .set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .unwrap();
    holder
        .query_row("SELECT COUNT(*) FROM entries", [], |r| r.get::<_, i64>(0))
        .unwrap();
    env.record(INPUT, 2).ok();
    drop(holder);
    std::fs::remove_file(env.path("L/evledger.db-shm")).unwrap();
    assert!(
        std::fs::metadata(env.path("L/evledger.db-wal"))
            .unwrap()
            .len()
            > 0
    );

    let ro = ReadOnlyLedger::new(env);
    let before = files(&ro.env.path(LEDGER));
    let unreadable = "error: ledger database: L/evledger.db-wal: the ledger's write-ahead log cannot be read: the directory is read-only and L/evledger.db-shm is missing; open the ledger once where it is writable, so that its log is folded into L/evledger.db\n";
    let record = Env::record_args(INPUT, "5000");
    for args in [
        &["log", "--ledger", LEDGER][..],
        &["audit", "--ledger", LEDGER],
        &record,
    ] {
        let out = ro.run(args);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (1, "", unreadable),
            "{args:?}"
        );
    }
    assert_eq!(files(&ro.env.path(LEDGER)), before);

    // Where the directory is writable, the log is read and the second entry is there.
    chmod(&ro.env.path(LEDGER), 0o755);
    assert_eq!(ro.env.log().len(), 2);
}

#[test]
fn a_ledger_made_by_0_1_can_be_read_read_only_without_migrating() {
    // 0.1.0's schema lacks tables added since (the registration policy); a read-only reader
    // reads them as empty and creates nothing.
    let env = Env::new();
    let dir = env.path(LEDGER);
    std::fs::create_dir(&dir).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy-0.1/ledger");
    for f in ["evledger.db", "log.key.pub"] {
        std::fs::copy(fixture.join(f), dir.join(f)).unwrap();
    }
    let ro = ReadOnlyLedger::new(env);
    ro.assert_writes_refused();
    assert_eq!(
        ro.ok(&["audit", "--ledger", LEDGER]),
        "ok: 7 entries, 11 nodes, 2 checkpoints recomputed and verified\n"
    );
    let log: serde_json::Value =
        serde_json::from_str(&ro.ok(&["log", "--json", "--ledger", LEDGER])).unwrap();
    assert_eq!(log.as_array().unwrap().len(), 7);
    ro.ok(&["prove", "3", "--ledger", LEDGER]);
    let role = ro.release_role();
    ro.ok(&[
        "trust",
        "init",
        "--out",
        "out/trust.toml",
        "--role",
        &role,
        "--ledger",
        LEDGER,
    ]);
    ro.ok(&[
        "bundle",
        "--entry",
        "6",
        "--out",
        "out/b.cbor",
        "--ledger",
        LEDGER,
    ]);
    // Looked at by the test's user, for whom the directory is writable again.
    chmod(&ro.env.path(LEDGER), 0o755);
    let conn = rusqlite::Connection::open_with_flags(
        ro.env.path("L/evledger.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let has_rules: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'signer_rules')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!has_rules, "nothing was migrated");
}

#[test]
fn a_store_opened_read_only_refuses_every_write() {
    // On purpose, on a ledger that could be written: the library's own read-only mode.
    let env = ledger();
    let dir = env.path(LEDGER);
    let store = SqliteStore::open_read_only(&dir).unwrap();
    assert!(store.is_read_only());
    assert!(!SqliteStore::open(&dir).unwrap().is_read_only());
    let mut ledger = Ledger::open_read_only(&dir).unwrap();
    assert_eq!(ledger.store().latest_checkpoint().unwrap().unwrap().size, 3);
    let read_only = |e: &StoreError| matches!(e, StoreError::ReadOnly(p) if *p == dir);
    match ledger.checkpoint() {
        Err(evledger::ledger::LedgerError::Store(e)) if read_only(&e) => {}
        other => panic!("expected ReadOnly, got {other:?}"),
    }
    let entry = ledger.store().entry(0).unwrap();
    let mut store = store;
    let r: Result<(), StoreError> = store.write(|_| Ok(()));
    assert!(r.as_ref().is_err_and(read_only), "{r:?}");
    assert!(store.check_writable().is_err_and(|e| read_only(&e)));
    // Nothing was written: a writable open sees the same log.
    drop((store, ledger));
    let ledger = Ledger::open(&dir).unwrap();
    assert_eq!(ledger.store().size().unwrap(), 4);
    assert_eq!(ledger.store().entry(0).unwrap(), entry);
    assert_eq!(ledger.store().latest_checkpoint().unwrap().unwrap().size, 3);
}
