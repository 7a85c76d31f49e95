//! Store invariants: the database itself refuses to rewrite history, checkpoints never go
//! back, a failed batch writes nothing, and opening never creates or accepts a foreign database.

use std::path::Path;

use ed25519_dalek::SigningKey;
use evledger::evidence::{Evidence, InputFormat};
use evledger::ledger::{Ledger, LedgerError, Signer};
use evledger::merkle::NodeSource;
use evledger::store::{
    DB_FILE, NewEntry, SqliteStore, Store, StoreError, StoreRead, StoredCheckpoint,
};
use rusqlite::Connection;

const FW_TOML: &str = include_str!("../examples/facegate/firmware-4.2.0.toml");
const ORIGIN: &str = "example.com/store-test";

fn evidence() -> Evidence {
    Evidence::from_input("firmware-build", FW_TOML, InputFormat::Toml).unwrap()
}

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn entry(iat: u64) -> NewEntry {
    let key = signing_key();
    let signer = Signer {
        key: &key,
        issuer: "Aurelis",
        subject: "FaceGate 3D 4.2.0",
        x5chain: vec![],
    };
    Ledger::sign(&evidence(), &signer, iat).unwrap()
}

/// A ledger with `n` entries and a checkpoint at `n`.
fn ledger_with(dir: &Path, n: u64) -> Ledger {
    let mut l = Ledger::init(dir, ORIGIN).unwrap();
    let entries: Vec<NewEntry> = (0..n).map(entry).collect();
    assert_eq!(l.append(&entries).unwrap(), (0..n).collect::<Vec<_>>());
    l.checkpoint().unwrap();
    l
}

fn raw(dir: &Path) -> Connection {
    Connection::open(dir.join(DB_FILE)).unwrap()
}

fn audit_clean(l: &Ledger) {
    let report = evledger::audit::audit(l, &mut |_, _| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);
}

fn sql_error(conn: &Connection, sql: &str) -> String {
    conn.execute_batch(sql)
        .expect_err("statement must be refused")
        .to_string()
}

#[test]
fn triggers_refuse_update_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger_with(dir.path(), 3);
    drop(l);
    let conn = raw(dir.path());
    for (table, update) in [
        ("entries", "UPDATE entries SET subject = 'x' WHERE idx = 1"),
        ("entries", "UPDATE entries SET statement = x'00'"),
        (
            "nodes",
            "UPDATE nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 0",
        ),
        ("checkpoints", "UPDATE checkpoints SET note = ''"),
        ("meta", "UPDATE meta SET value = x'00' WHERE key = 'origin'"),
        ("signers", "UPDATE signers SET public_key = zeroblob(32)"),
    ] {
        assert_eq!(
            sql_error(&conn, update),
            format!("{table} is append-only"),
            "{update}"
        );
    }
    for table in ["entries", "nodes", "checkpoints", "meta", "signers"] {
        assert_eq!(
            sql_error(&conn, &format!("DELETE FROM {table}")),
            format!("{table} is append-only")
        );
    }
    // A second row for an existing node is refused.
    assert_eq!(
        sql_error(
            &conn,
            "INSERT INTO nodes (level, idx, hash) VALUES (0, 0, zeroblob(32))"
        ),
        "nodes is append-only"
    );
    // An upsert is an UPDATE, which the trigger refuses.
    assert_eq!(
        sql_error(
            &conn,
            "INSERT INTO nodes (level, idx, hash) VALUES (0, 0, zeroblob(32))
             ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash"
        ),
        "nodes is append-only"
    );
    // INSERT OR REPLACE deletes the old row without firing delete triggers: refused too.
    for (table, sql) in [
        (
            "nodes",
            "INSERT OR REPLACE INTO nodes (level, idx, hash) VALUES (0, 0, zeroblob(32))",
        ),
        (
            "meta",
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('origin', x'41')",
        ),
        (
            "signers",
            "INSERT OR REPLACE INTO signers (kid, public_key) SELECT kid, zeroblob(32) FROM signers",
        ),
        (
            "checkpoints",
            "INSERT OR REPLACE INTO checkpoints (size, root, note) VALUES (3, zeroblob(32), 'forged')",
        ),
    ] {
        assert_eq!(
            sql_error(&conn, sql),
            format!("{table} is append-only"),
            "{sql}"
        );
    }
    assert_eq!(
        sql_error(
            &conn,
            "INSERT OR REPLACE INTO entries (idx, entry_hash, kind, issuer, subject, issued_at, statement)
             VALUES (0, zeroblob(32), 'k', 'i', 's', 0, x'00')"
        ),
        "entries must be appended at the next index"
    );
    // Re-registering a signer with the same key stays a no-op (the append path relies on it).
    conn.execute_batch(
        "INSERT OR IGNORE INTO signers (kid, public_key) SELECT kid, public_key FROM signers",
    )
    .unwrap();
    // Entries are dense: no gap, no rewrite of an index.
    assert_eq!(
        sql_error(
            &conn,
            "INSERT INTO entries (idx, entry_hash, kind, issuer, subject, issued_at, statement)
             VALUES (5, zeroblob(32), 'k', 'i', 's', 0, x'00')"
        ),
        "entries must be appended at the next index"
    );
    // A checkpoint may not go back, nor beyond the log.
    for size in [2, 4] {
        assert_eq!(
            sql_error(
                &conn,
                &format!(
                    "INSERT INTO checkpoints (size, root, note) VALUES ({size}, zeroblob(32), 'n')"
                )
            ),
            "checkpoint size must not go back nor beyond the log"
        );
    }
    drop(conn);
    // Nothing changed.
    let l = Ledger::open(dir.path()).unwrap();
    assert_eq!(l.store().size().unwrap(), 3);
    audit_clean(&l);
}

#[test]
fn checkpoint_regression_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = ledger_with(dir.path(), 2);
    l.append(&[entry(10), entry(11)]).unwrap();
    let cp4 = l.checkpoint().unwrap();
    assert_eq!(cp4.size, 4);
    drop(l);

    let mut store = SqliteStore::open(dir.path()).unwrap();
    let older = store.checkpoints().unwrap()[0].clone();
    assert_eq!(older.size, 2);
    let err = store.add_checkpoint(&older).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::CheckpointRegression {
                offered: 2,
                latest: 4
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "checkpoint for size 2 is older than the latest checkpoint (size 4)"
    );
    // Beyond the log is refused too.
    let err = store
        .add_checkpoint(&StoredCheckpoint {
            size: 5,
            root: [0; 32],
            note: String::new(),
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::OutOfRange {
                what: "checkpoint size",
                value: 5,
                size: 4
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.latest_checkpoint().unwrap(), Some(cp4));
    assert_eq!(store.checkpoints().unwrap().len(), 2);
}

#[test]
fn checkpoint_does_not_move_without_new_entries() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = ledger_with(dir.path(), 2);
    let a = l.store().latest_checkpoint().unwrap().unwrap();
    let b = l.checkpoint().unwrap();
    assert_eq!(a, b);
    assert_eq!(l.store().checkpoints().unwrap().len(), 1);
}

#[test]
fn failed_batch_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = ledger_with(dir.path(), 2);
    let before_nodes = l.store().node_count().unwrap();
    let db_before = std::fs::read(dir.path().join(DB_FILE)).unwrap();

    // A duplicate inside the batch, after two good entries.
    let err = l.append(&[entry(5), entry(6), entry(5)]).unwrap_err();
    match err {
        LedgerError::Store(StoreError::Duplicate { entry_hash, index }) => {
            assert_eq!(entry_hash, entry(5).entry_hash);
            // The rolled-back copy is reported where the transaction had put it.
            assert_eq!(index, 2);
        }
        other => panic!("expected Duplicate, got {other:?}"),
    }
    assert_eq!(l.store().size().unwrap(), 2);
    assert_eq!(l.store().node_count().unwrap(), before_nodes);
    assert_eq!(l.store().find(&entry(5).entry_hash).unwrap(), None);
    assert!(matches!(l.store().node(0, 2), Err(StoreError::Corrupt(_))));

    // A duplicate of an entry already in the ledger.
    let err = l.append(&[entry(7), entry(1)]).unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::Store(StoreError::Duplicate { index: 1, .. })
        ),
        "{err:?}"
    );
    assert_eq!(l.store().size().unwrap(), 2);
    assert_eq!(l.store().find(&entry(7).entry_hash).unwrap(), None);

    // A signer seen only in a failed batch is not registered.
    let other = SigningKey::from_bytes(&[10; 32]);
    let signer = Signer {
        key: &other,
        issuer: "Other",
        subject: "s",
        x5chain: vec![],
    };
    let fresh = Ledger::sign(&evidence(), &signer, 1).unwrap();
    assert!(l.append(&[fresh.clone(), entry(0)]).is_err());
    assert_eq!(
        l.store()
            .signer_key(&evledger::keys::KeyId::of(&other.verifying_key()))
            .unwrap(),
        None
    );

    // The rolled-back transactions left the ledger as it was: WAL content aside, same data.
    drop(l);
    let l = Ledger::open(dir.path()).unwrap();
    assert_eq!(l.store().size().unwrap(), 2);
    audit_clean(&l);
    assert!(!db_before.is_empty());

    // And the next append takes the next index.
    let mut l = l;
    assert_eq!(l.append(&[entry(5)]).unwrap(), vec![2]);
    audit_clean(&l);
}

#[test]
fn open_refuses_a_foreign_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Ledger::open(dir.path()).err().expect("must be refused");
    match &err {
        LedgerError::Store(StoreError::NotALedger { path: p, reason }) => {
            assert_eq!(p, &path);
            assert_eq!(reason, "application id 0x0");
        }
        other => panic!("expected NotALedger, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not an evledger ledger database (application id 0x0)",
            path.display()
        )
    );
    // Not converted to WAL, not modified.
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(!dir.path().join(format!("{DB_FILE}-wal")).exists());
}

#[test]
fn open_refuses_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);

    std::fs::write(
        &path,
        b"this is not a database, just some text\n".repeat(200),
    )
    .unwrap();
    let err = Ledger::open(dir.path()).err().expect("must be refused");
    assert!(
        matches!(&err, LedgerError::Store(StoreError::NotALedger { reason, .. }) if reason == "file is not a database"),
        "{err:?}"
    );

    // An empty file is an empty SQLite database: still not a ledger.
    std::fs::write(&path, b"").unwrap();
    let err = Ledger::open(dir.path()).err().expect("must be refused");
    assert!(
        matches!(&err, LedgerError::Store(StoreError::NotALedger { .. })),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"");

    // A ledger of another schema version.
    let other = tempfile::tempdir().unwrap();
    drop(ledger_with(other.path(), 1));
    raw(other.path())
        .pragma_update(None, "user_version", 2)
        .unwrap();
    let err = Ledger::open(other.path()).err().expect("must be refused");
    assert!(
        matches!(&err, LedgerError::Store(StoreError::NotALedger { reason, .. })
            if reason == "schema version 2, this program reads 1"),
        "{err:?}"
    );

    // A directory where the database file should be.
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join(DB_FILE)).unwrap();
    assert!(matches!(
        Ledger::open(d.path()),
        Err(LedgerError::Store(StoreError::NotFound(_)))
    ));
}

#[test]
fn open_never_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    // An empty directory.
    match Ledger::open(dir.path()) {
        Err(LedgerError::Store(StoreError::NotFound(p))) => assert_eq!(p, dir.path()),
        other => panic!("expected NotFound, got {:?}", other.err()),
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // A directory that does not exist.
    let missing = dir.path().join("no/such/ledger");
    assert!(matches!(
        SqliteStore::open(&missing),
        Err(StoreError::NotFound(_))
    ));
    assert!(!dir.path().join("no").exists());
}

#[test]
fn init_refuses_an_existing_ledger_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    drop(ledger_with(dir.path(), 2));
    let files = |d: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = files(dir.path());
    match Ledger::init(dir.path(), ORIGIN) {
        Err(LedgerError::Store(StoreError::Exists(p))) => assert_eq!(p, dir.path()),
        other => panic!("expected Exists, got {:?}", other.err()),
    }
    // A different origin does not help either.
    assert!(Ledger::init(dir.path(), "other.example/log").is_err());
    assert_eq!(files(dir.path()), before);

    // A log key alone (database lost) also blocks init: the key is never replaced.
    let d2 = tempfile::tempdir().unwrap();
    drop(Ledger::init(d2.path(), ORIGIN).unwrap());
    std::fs::remove_file(d2.path().join(DB_FILE)).unwrap();
    let _ = std::fs::remove_file(d2.path().join(format!("{DB_FILE}-wal")));
    let _ = std::fs::remove_file(d2.path().join(format!("{DB_FILE}-shm")));
    let key_before = std::fs::read(d2.path().join("log.key")).unwrap();
    assert!(matches!(
        Ledger::init(d2.path(), ORIGIN),
        Err(LedgerError::Store(StoreError::Exists(_)))
    ));
    assert_eq!(
        std::fs::read(d2.path().join("log.key")).unwrap(),
        key_before
    );
    assert!(!d2.path().join(DB_FILE).exists());
}

#[test]
fn init_refuses_a_bad_origin_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("l");
    for origin in ["", "has space", "a+b", "tab\there"] {
        assert!(
            matches!(
                Ledger::init(&target, origin),
                Err(LedgerError::Origin { .. })
            ),
            "{origin:?}"
        );
    }
    assert!(!target.exists());
}

#[test]
fn appends_and_reads_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = ledger_with(dir.path(), 0);
    // Batches of several sizes, so that nodes complete across batch boundaries.
    let mut iat = 0;
    for batch in [1u64, 2, 3, 5, 8, 13] {
        let entries: Vec<NewEntry> = (0..batch)
            .map(|_| {
                iat += 1;
                entry(iat)
            })
            .collect();
        let start = l.store().size().unwrap();
        let idx = l.append(&entries).unwrap();
        assert_eq!(idx, (start..start + batch).collect::<Vec<_>>());
        for (e, i) in entries.iter().zip(&idx) {
            let stored = l.store().entry(*i).unwrap();
            assert_eq!(stored.statement, e.statement);
            assert_eq!(stored.entry_hash, e.entry_hash);
            assert_eq!(l.store().find(&e.entry_hash).unwrap(), Some(stored));
        }
        l.checkpoint().unwrap();
    }
    assert_eq!(l.store().size().unwrap(), 32);
    // A complete binary tree of 32 leaves has 63 nodes.
    assert_eq!(l.store().node_count().unwrap(), 63);
    assert!(matches!(
        l.store().entry(32),
        Err(StoreError::OutOfRange {
            what: "index",
            value: 32,
            size: 32
        })
    ));
    audit_clean(&l);
    let report = evledger::audit::audit(&l, &mut |_, _| {}).unwrap();
    assert_eq!(
        (report.entries, report.nodes, report.checkpoints),
        (32, 63, 7)
    );
}

#[test]
fn oversized_statements_are_refused_before_they_poison_the_log() {
    use evledger::evidence::{Artifact, Sha256Hex};
    use evledger::statement::{self, MAX_STATEMENT_LEN, SignError};

    let dir = tempfile::tempdir().unwrap();
    let mut l = ledger_with(dir.path(), 1);
    // Enough artifacts that the statement passes 1 MiB (the per-field limits do not stop it).
    let Evidence::FirmwareBuild(mut fb) = evidence() else {
        panic!("the fixture is a firmware build")
    };
    for i in 0..9000u32 {
        fb.artifacts.push(Artifact {
            name: format!("file-{i:06}-{}", "x".repeat(60)),
            sha256: Sha256Hex([i as u8; 32]),
            size: 1,
        });
    }
    let big = Evidence::FirmwareBuild(fb);
    let key = signing_key();
    let signer = Signer {
        key: &key,
        issuer: "Aurelis",
        subject: "FaceGate 3D 4.2.0",
        x5chain: vec![],
    };
    // Signing refuses it, so record does.
    let err = l.record(&big, &signer, 1).unwrap_err();
    let msg = err.to_string();
    let LedgerError::Sign(SignError::TooLarge(len)) = err else {
        panic!("expected TooLarge, got {err:?}");
    };
    assert!(len > MAX_STATEMENT_LEN);
    assert_eq!(
        msg,
        format!("statement is {len} bytes, over the limit of 1048576")
    );
    // Signed by other means and appended in a batch with a good entry: refused, nothing written.
    let mut e = entry(2);
    let header = signer.header("firmware-build", 2).unwrap();
    e.statement = statement::sign(&header, &big.to_payload(), &key);
    e.entry_hash = statement::entry_hash(&e.statement);
    assert!(e.statement.len() > MAX_STATEMENT_LEN);
    let err = l.append(&[entry(50), e]).unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::Statement(statement::StatementError::TooLarge(_))
        ),
        "{err:?}"
    );
    assert_eq!(l.store().size().unwrap(), 1);
    audit_clean(&l);
}
