//! The embedded SQLite store (WAL, `synchronous=FULL`).
//!
//! Schema invariants, enforced by the database itself:
//! - `entries.idx` is dense: each insert must take exactly the next index;
//! - `entries.entry_hash` is unique (duplicate statements are refused);
//! - no row of `meta`, `entries`, `nodes`, `refs`, `signers`, `log_keys`, `checkpoints`,
//!   `cosignatures`, `witnesses`, `witness_quorum` or `published` can be updated or deleted, nor replaced by `INSERT OR REPLACE` (which deletes
//!   without firing delete triggers, so tables also refuse an insert over an existing key;
//!   `entries` by its dense-index rule);
//! - a checkpoint's size never goes below the latest one, nor beyond the log;
//! - a cosignature line belongs to a stored checkpoint, and is stored once per checkpoint;
//! - a document is stored under its SHA-256 (computed by the store) and never changes;
//! - a witness name and a witness key are each configured at most once;
//! - the witness quorum never decreases, and a checkpoint is published at most once.
//!
//! Ledgers written before the `cosignatures`, `documents` or `witnesses` table existed get it
//! (with its triggers) in the first transaction that stores a cosignature, a document or a
//! witness; until then reads treat it as empty.

use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest as _, Sha256};

use super::{
    LedgerInfo, NewEntry, RuleSigner, SignerRule, Store, StoreError, StoreRead, StoreWrite,
    StoredCheckpoint, StoredEntry, StoredWitness,
};
use crate::keys::KeyId;
use crate::merkle::{self, Frontier, Hash, NodeSource};

/// Name of the database file inside a ledger directory.
pub const DB_FILE: &str = "evledger.db";
/// `PRAGMA application_id` of an evledger database ("EVL1").
const APPLICATION_ID: i64 = 0x4556_4c31;
/// Schema version (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE entries (
    idx        INTEGER PRIMARY KEY,
    entry_hash BLOB NOT NULL UNIQUE CHECK (length(entry_hash) = 32),
    kind       TEXT NOT NULL,
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    statement  BLOB NOT NULL
);
CREATE TABLE nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE signers (
    kid        BLOB PRIMARY KEY CHECK (length(kid) = 32),
    public_key BLOB NOT NULL CHECK (length(public_key) = 32)
) WITHOUT ROWID;
CREATE TABLE refs (
    target     BLOB NOT NULL CHECK (length(target) = 32),
    source_idx INTEGER NOT NULL,
    PRIMARY KEY (target, source_idx)
) WITHOUT ROWID;
CREATE TABLE log_keys (
    public_key    BLOB PRIMARY KEY CHECK (length(public_key) = 32),
    added_at_size INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL CHECK (length(root) = 32),
    note TEXT NOT NULL
);
CREATE TABLE cosignatures (
    size INTEGER NOT NULL REFERENCES checkpoints (size),
    line TEXT NOT NULL,
    UNIQUE (size, line)
);
CREATE TRIGGER entries_dense BEFORE INSERT ON entries
WHEN NEW.idx IS NOT (SELECT COALESCE(MAX(idx) + 1, 0) FROM entries)
BEGIN SELECT RAISE(ABORT, 'entries must be appended at the next index'); END;
CREATE TRIGGER nodes_no_replace BEFORE INSERT ON nodes
WHEN EXISTS (SELECT 1 FROM nodes WHERE level = NEW.level AND idx = NEW.idx)
BEGIN SELECT RAISE(ABORT, 'nodes is append-only'); END;
CREATE TRIGGER meta_no_replace BEFORE INSERT ON meta
WHEN EXISTS (SELECT 1 FROM meta WHERE key = NEW.key)
BEGIN SELECT RAISE(ABORT, 'meta is append-only'); END;
CREATE TRIGGER signers_no_replace BEFORE INSERT ON signers
WHEN EXISTS (SELECT 1 FROM signers WHERE kid = NEW.kid AND public_key IS NOT NEW.public_key)
BEGIN SELECT RAISE(ABORT, 'signers is append-only'); END;
CREATE TRIGGER checkpoints_no_replace BEFORE INSERT ON checkpoints
WHEN EXISTS (SELECT 1 FROM checkpoints WHERE size = NEW.size)
BEGIN SELECT RAISE(ABORT, 'checkpoints is append-only'); END;
CREATE TRIGGER checkpoints_forward BEFORE INSERT ON checkpoints
WHEN NEW.size < (SELECT COALESCE(MAX(size), 0) FROM checkpoints)
  OR NEW.size > (SELECT COALESCE(MAX(idx) + 1, 0) FROM entries)
BEGIN SELECT RAISE(ABORT, 'checkpoint size must not go back nor beyond the log'); END;
"#;

const APPEND_ONLY_TABLES: &[&str] = &[
    "meta",
    "entries",
    "nodes",
    "refs",
    "signers",
    "log_keys",
    "checkpoints",
    "cosignatures",
    "documents",
    "signer_rules",
    "witnesses",
    "witness_quorum",
    "published",
];

/// The `documents` table and its insert trigger, created with [`SCHEMA`] and, for ledgers created
/// before it existed, by the first append that stores a document. An insert over an existing key with other bytes is refused (`INSERT OR IGNORE`
/// of the same bytes is a no-op).
const DOCUMENTS_TABLE: &str = "CREATE TABLE IF NOT EXISTS documents (
    sha256 BLOB PRIMARY KEY CHECK (length(sha256) = 32),
    bytes  BLOB NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS documents_no_replace BEFORE INSERT ON documents
WHEN EXISTS (SELECT 1 FROM documents WHERE sha256 = NEW.sha256 AND bytes IS NOT NEW.bytes)
BEGIN SELECT RAISE(ABORT, 'documents is append-only'); END;";

/// Whether table `name` exists (older ledgers lack the tables added later).
fn has_table(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [name],
        |r| r.get(0),
    )?)
}

/// The registration policy: who may register which kind (`key_type` is `ed25519` with a raw
/// 32-byte public key as `value`, or `x509-root` with a DER certificate). Created by the first
/// rule added, so ledgers made before it existed need no migration to be read.
/// Finds the entries of a kind in index order (`StoreRead::for_each_entry_of_kinds`).
const ENTRIES_KIND_INDEX: &str = "CREATE INDEX IF NOT EXISTS entries_kind ON entries (kind, idx);";

const SIGNER_RULES_TABLE: &str = "CREATE TABLE IF NOT EXISTS signer_rules (
    kind     TEXT NOT NULL,
    key_type TEXT NOT NULL CHECK (key_type IN ('ed25519', 'x509-root')),
    value    BLOB NOT NULL,
    UNIQUE (kind, key_type, value)
);";

/// The witnesses the operator configured (`evledger witness add`), in `rowid` order. Created
/// with a new ledger and, for ledgers made before it existed, by the first witness added; reads
/// treat a missing table as empty. A name and a key are each configured at most once.
const WITNESSES_TABLE: &str = "CREATE TABLE IF NOT EXISTS witnesses (
    name       TEXT NOT NULL UNIQUE,
    public_key BLOB NOT NULL UNIQUE CHECK (length(public_key) = 32),
    url        TEXT
);
CREATE TRIGGER IF NOT EXISTS witnesses_no_replace BEFORE INSERT ON witnesses
WHEN EXISTS (SELECT 1 FROM witnesses WHERE name = NEW.name OR public_key = NEW.public_key)
BEGIN SELECT RAISE(ABORT, 'witnesses is append-only'); END;";

/// The witness quorum's history (`evledger witness quorum`), in `rowid` order; the latest row is
/// the quorum. Created by the first quorum set; reads treat a missing table as quorum 0. A value
/// below the latest is refused: the quorum never decreases.
const WITNESS_QUORUM_TABLE: &str = "CREATE TABLE IF NOT EXISTS witness_quorum (
    quorum INTEGER NOT NULL CHECK (quorum >= 0)
);
CREATE TRIGGER IF NOT EXISTS witness_quorum_monotonic BEFORE INSERT ON witness_quorum
WHEN NEW.quorum < (SELECT COALESCE(MAX(quorum), 0) FROM witness_quorum)
BEGIN SELECT RAISE(ABORT, 'the witness quorum never decreases'); END;";

/// The checkpoints published: cosigned by `quorum` configured witnesses, the quorum when they
/// were recorded. Created by the first checkpoint published; reads treat a missing table as empty.
const PUBLISHED_TABLE: &str = "CREATE TABLE IF NOT EXISTS published (
    size   INTEGER PRIMARY KEY REFERENCES checkpoints (size),
    quorum INTEGER NOT NULL CHECK (quorum >= 0)
);
CREATE TRIGGER IF NOT EXISTS published_no_replace BEFORE INSERT ON published
WHEN EXISTS (SELECT 1 FROM published WHERE size = NEW.size)
BEGIN SELECT RAISE(ABORT, 'published is append-only'); END;";

/// The `cosignatures` table as [`SCHEMA`] creates it, for ledgers created before it existed.
/// Rows keep their insertion order in `rowid` (nothing is ever deleted).
const COSIGNATURES_TABLE: &str = "CREATE TABLE IF NOT EXISTS cosignatures (
    size INTEGER NOT NULL REFERENCES checkpoints (size),
    line TEXT NOT NULL,
    UNIQUE (size, line)
);";

/// The triggers that refuse UPDATE and DELETE on table `t`.
fn append_only_triggers(t: &str) -> String {
    format!(
        "CREATE TRIGGER IF NOT EXISTS {t}_no_update BEFORE UPDATE ON {t} BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END;
         CREATE TRIGGER IF NOT EXISTS {t}_no_delete BEFORE DELETE ON {t} BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END;"
    )
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Backend(e.to_string())
    }
}

/// The SQLite ledger store.
pub struct SqliteStore {
    conn: Connection,
    /// The ledger directory, named by [`StoreError::ReadOnly`].
    dir: PathBuf,
    /// Opened read-only: every write fails with [`StoreError::ReadOnly`].
    read_only: bool,
}

/// A write transaction of a [`SqliteStore`] (rolled back when dropped uncommitted).
pub struct SqliteTx<'a> {
    tx: rusqlite::Transaction<'a>,
    /// The tree's right edge after this transaction's last append, so that appending one entry
    /// at a time (registration) does not read the edge back from the nodes table each time.
    /// Only `append` writes entries and nodes, and the transaction excludes every other writer,
    /// so it stays exact until COMMIT; an append that fails leaves it empty.
    frontier: Option<Frontier>,
}

/// Reads through a connection: the store itself, or a transaction open on it.
trait Conn {
    fn conn(&self) -> &Connection;
}

impl Conn for SqliteStore {
    fn conn(&self) -> &Connection {
        &self.conn
    }
}

impl Conn for SqliteTx<'_> {
    fn conn(&self) -> &Connection {
        &self.tx
    }
}

fn db_path(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

impl SqliteStore {
    /// Creates a new ledger database in `dir` (which may exist, but must not hold a ledger).
    ///
    /// # Errors
    /// [`StoreError::Exists`], or a database error (no database is left behind).
    pub fn create(dir: &Path, info: &LedgerInfo) -> Result<SqliteStore, StoreError> {
        let path = db_path(dir);
        if path.exists() {
            return Err(StoreError::Exists(dir.to_path_buf()));
        }
        let result = Self::create_at(&path, info);
        if result.is_err() {
            // Never leave a half-made database: a later init must start clean.
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        result
    }

    fn create_at(path: &Path, info: &LedgerInfo) -> Result<SqliteStore, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        configure(&conn)?;
        // One transaction creates schema and identity: a crash leaves either a whole ledger or an empty file.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(SCHEMA)?;
        tx.execute_batch(DOCUMENTS_TABLE)?;
        tx.execute_batch(SIGNER_RULES_TABLE)?;
        tx.execute_batch(ENTRIES_KIND_INDEX)?;
        tx.execute_batch(WITNESSES_TABLE)?;
        tx.execute_batch(WITNESS_QUORUM_TABLE)?;
        tx.execute_batch(PUBLISHED_TABLE)?;
        for t in APPEND_ONLY_TABLES {
            tx.execute_batch(&append_only_triggers(t))?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('origin', ?1), ('log_public_key', ?2)",
            params![info.origin.as_bytes(), info.log_key.to_bytes().as_slice()],
        )?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(SqliteStore {
            conn,
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            read_only: false,
        })
    }

    /// Opens an existing ledger in `dir`; never creates one. If this process cannot write the
    /// database (a read-only file, directory or mount, another user's ledger), the ledger is
    /// opened read-only instead, as [`SqliteStore::open_read_only`] does, and every write fails
    /// with [`StoreError::ReadOnly`].
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::NotALedger`], or a database error.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        let path = existing_db(dir)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)?;
        // SQLite opens a write-protected file read-only; a read-only directory shows only when
        // the first read needs the WAL index (`-shm`) or the journal mode is set.
        let writable = !conn.is_readonly(rusqlite::MAIN_DB)?
            && match identity(&conn) {
                Ok(id) => {
                    // Identity first: nothing is set on a database that is not a ledger.
                    check_identity(&path, id)?;
                    match configure(&conn) {
                        Ok(()) => true,
                        Err(e) if cannot_write(&e) => false,
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(e) if cannot_write(&e) => false,
                Err(e) => return Err(not_a_ledger(&path, e)),
            };
        if !writable {
            drop(conn);
            return Self::open_read_only(dir);
        }
        Ok(SqliteStore {
            conn,
            dir: dir.to_path_buf(),
            read_only: false,
        })
    }

    /// Opens an existing ledger in `dir` for reading only; never creates one, and never writes
    /// to the database file. Every write through the store fails with [`StoreError::ReadOnly`].
    ///
    /// The connection is opened with `SQLITE_OPEN_READONLY`. Reading a WAL database needs its
    /// WAL index (`evledger.db-shm`), which SQLite creates if the directory is writable and
    /// reads if it exists; in a read-only directory without it (a backup on a read-only mount,
    /// another user's ledger after its last writer closed it) the database is opened
    /// `immutable=1` instead, but only if no write-ahead log with content is beside it, since an
    /// immutable database is read without its log.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::NotALedger`], [`StoreError::Backend`] for a
    /// write-ahead log that cannot be read, or a database error.
    pub fn open_read_only(dir: &Path) -> Result<SqliteStore, StoreError> {
        let path = existing_db(dir)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(&path, flags)?;
        let id = match identity(&conn) {
            Ok(id) => id,
            Err(e) if cannot_write(&e) => {
                let wal = sibling(&path, "-wal");
                if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                    return Err(StoreError::Backend(format!(
                        "{}: the ledger's write-ahead log cannot be read: the directory is read-only and {} is missing; open the ledger once where it is writable, so that its log is folded into {}",
                        wal.display(),
                        sibling(&path, "-shm").display(),
                        path.display()
                    )));
                }
                conn = Connection::open_with_flags(
                    immutable_uri(&path),
                    flags | OpenFlags::SQLITE_OPEN_URI,
                )?;
                identity(&conn).map_err(|e| not_a_ledger(&path, e))?
            }
            Err(e) => return Err(not_a_ledger(&path, e)),
        };
        check_identity(&path, id)?;
        configure_read_only(&conn)?;
        Ok(SqliteStore {
            conn,
            dir: dir.to_path_buf(),
            read_only: true,
        })
    }

    /// Whether the store was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }
}

/// The database file of the ledger in `dir`, which must exist.
fn existing_db(dir: &Path) -> Result<PathBuf, StoreError> {
    let path = db_path(dir);
    if !path.is_file() {
        return Err(StoreError::NotFound(dir.to_path_buf()));
    }
    Ok(path)
}

/// `PRAGMA application_id` and `PRAGMA user_version`: the first reads of the database.
fn identity(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    let app = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok((app, version))
}

fn not_a_ledger(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError::NotALedger {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Refuses a database that is not an evledger ledger of the schema version this program reads.
fn check_identity(path: &Path, (app, version): (i64, i64)) -> Result<(), StoreError> {
    let not_ledger = |reason: String| StoreError::NotALedger {
        path: path.to_path_buf(),
        reason,
    };
    if app != APPLICATION_ID {
        return Err(not_ledger(format!("application id {app:#x}")));
    }
    if version != SCHEMA_VERSION {
        return Err(not_ledger(format!(
            "schema version {version}, this program reads {SCHEMA_VERSION}"
        )));
    }
    Ok(())
}

/// Whether an error says this process may not write the database or the files beside it
/// (`SQLITE_READONLY` and its extended codes; `SQLITE_CANTOPEN` for a `-shm` or `-wal` file
/// that cannot be created).
fn cannot_write(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
    )
}

/// `path` with `suffix` appended to its file name (`evledger.db-wal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The SQLite URI of `path` opened immutable (no locks, no WAL): `file:` and the path with every
/// byte but unreserved ones and `/` percent-encoded (RFC 3986), then `?immutable=1`.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// WAL pages (4 KiB each) after which a commit checkpoints: 32 MiB.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 8192;

/// Connection settings: WAL for concurrent readers, FULL sync so a committed append survives power loss,
/// and a generous busy timeout so concurrent writers queue instead of failing.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // The busy timeout first: even switching the journal mode may meet another writer's lock.
    conn.busy_timeout(std::time::Duration::from_secs(60))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // A 64 MiB page cache keeps the entry-hash index and the tree's right edge in memory
    // during large appends.
    conn.pragma_update(None, "cache_size", -65536)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Checkpoint every 32 MiB of WAL rather than SQLite's 4 MiB: pages that every batch touches
    // (the entry-hash index, the tree's right edge) are copied into the database once per
    // checkpoint, so fewer checkpoints mean less copying (store of 1,000 entries: 44 -> 25 ms).
    // A process that closes the ledger still checkpoints on close; crash recovery reads at
    // most this much WAL.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
    Ok(())
}

/// Settings of a read-only connection: nothing that would write (the journal mode is the
/// database's own), the same cache and busy timeout (a reader may wait while a writer recovers
/// the WAL), and `query_only` as a second lock on the door.
fn configure_read_only(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(60))?;
    conn.pragma_update(None, "cache_size", -65536)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(())
}

/// Reads nodes through any connection or open transaction.
struct Nodes<'a>(&'a Connection);

impl NodeSource for Nodes<'_> {
    type Error = StoreError;

    fn node(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT hash FROM nodes WHERE level = ?1 AND idx = ?2")?;
        let h: Option<Vec<u8>> = stmt
            .query_row(params![level, to_i64(index)?], |r| r.get(0))
            .optional()?;
        let h = h.ok_or_else(|| {
            StoreError::Corrupt(format!("node (level {level}, index {index}) is missing"))
        })?;
        to_hash(&h, "node hash")
    }
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v)
        .map_err(|_| StoreError::Corrupt(format!("value {v} exceeds the database's integer range")))
}

fn to_hash(b: &[u8], what: &str) -> Result<Hash, StoreError> {
    Hash::try_from(b)
        .map_err(|_| StoreError::Corrupt(format!("{what} is {} bytes, not 32", b.len())))
}

fn size_of(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries")?
        .query_row([], |r| r.get(0))?;
    Ok(n as u64)
}

const ENTRY_COLUMNS: &str = "idx, entry_hash, kind, issuer, subject, issued_at, statement";

/// An `entries` row as read: idx, entry_hash, kind, issuer, subject, issued_at, statement.
type EntryRow = (i64, Vec<u8>, String, String, String, i64, Vec<u8>);

fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntryRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn make_entry(
    (idx, hash, kind, issuer, subject, iat, statement): EntryRow,
) -> Result<StoredEntry, StoreError> {
    Ok(StoredEntry {
        index: idx as u64,
        entry_hash: to_hash(&hash, "entry hash")?,
        kind,
        issuer,
        subject,
        issued_at: iat as u64,
        statement,
    })
}

impl<T: Conn + NodeSource<Error = StoreError>> StoreRead for T {
    fn info(&self) -> Result<LedgerInfo, StoreError> {
        let get = |k: &str| -> Result<Vec<u8>, StoreError> {
            self.conn()
                .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::Corrupt(format!("meta {k} is missing")))
        };
        let origin = String::from_utf8(get("origin")?)
            .map_err(|_| StoreError::Corrupt("origin is not UTF-8".into()))?;
        let key = get("log_public_key")?;
        let key = <[u8; 32]>::try_from(key.as_slice())
            .ok()
            .and_then(|k| VerifyingKey::from_bytes(&k).ok())
            .ok_or_else(|| StoreError::Corrupt("log public key is not an Ed25519 key".into()))?;
        Ok(LedgerInfo {
            origin,
            log_key: key,
        })
    }

    fn size(&self) -> Result<u64, StoreError> {
        size_of(self.conn())
    }

    fn entry(&self, index: u64) -> Result<StoredEntry, StoreError> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM entries WHERE idx = ?1"
        ))?;
        match stmt.query_row([to_i64(index)?], row_to_entry).optional()? {
            Some(row) => make_entry(row),
            None => Err(StoreError::OutOfRange {
                what: "index",
                value: index,
                size: self.size()?,
            }),
        }
    }

    fn find(&self, entry_hash: &Hash) -> Result<Option<StoredEntry>, StoreError> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM entries WHERE entry_hash = ?1"
        ))?;
        stmt.query_row([entry_hash.as_slice()], row_to_entry)
            .optional()?
            .map(make_entry)
            .transpose()
    }

    fn for_each_entry(
        &self,
        f: &mut dyn FnMut(StoredEntry) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {ENTRY_COLUMNS} FROM entries ORDER BY idx"))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            f(make_entry(row_to_entry(r)?)?)?;
        }
        Ok(())
    }

    fn for_each_entry_of_kinds(
        &self,
        kinds: &[&str],
        from: u64,
        below: u64,
        f: &mut dyn FnMut(StoredEntry) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // One query per kind on the (kind, idx) index, merged by index.
        let mut found = Vec::new();
        for kind in kinds {
            let mut stmt = self.conn().prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries WHERE kind = ?1 AND idx >= ?2 AND idx < ?3"
            ))?;
            let mut rows = stmt.query(rusqlite::params![
                kind,
                i64::try_from(from).unwrap_or(i64::MAX),
                i64::try_from(below).unwrap_or(i64::MAX)
            ])?;
            while let Some(r) = rows.next()? {
                found.push(make_entry(row_to_entry(r)?)?);
            }
        }
        found.sort_unstable_by_key(|e| e.index);
        found.into_iter().try_for_each(f)
    }

    fn citing(&self, target: &Hash) -> Result<Vec<u64>, StoreError> {
        // Sorted here, not by ORDER BY: with ORDER BY, SQLite re-prepares this statement every
        // time ?1 is bound (its reprepare count grows by one per run), and registration asks
        // once per statement. The rows come in index order anyway, so the sort only checks.
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT source_idx FROM refs WHERE target = ?1")?;
        let rows = stmt.query_map([target.as_slice()], |r| r.get::<_, i64>(0))?;
        let mut citing = rows
            .map(|r| Ok(r? as u64))
            .collect::<Result<Vec<u64>, StoreError>>()?;
        citing.sort_unstable();
        Ok(citing)
    }

    fn added_log_keys(&self) -> Result<Vec<(VerifyingKey, u64)>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT public_key, added_at_size FROM log_keys ORDER BY added_at_size, public_key",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))?;
        rows.map(|r| {
            let (k, at) = r?;
            let key = <[u8; 32]>::try_from(k.as_slice())
                .ok()
                .and_then(|k| VerifyingKey::from_bytes(&k).ok())
                .ok_or_else(|| {
                    StoreError::Corrupt("a stored log key is not an Ed25519 key".into())
                })?;
            Ok((key, at as u64))
        })
        .collect()
    }

    fn has_ref(&self, target: &Hash, source: u64) -> Result<bool, StoreError> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT 1 FROM refs WHERE target = ?1 AND source_idx = ?2")?;
        Ok(stmt
            .query_row(params![target.as_slice(), to_i64(source)?], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn ref_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM refs", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn node_range(&self, level: u32, from: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        let end = from
            .checked_add(count)
            .ok_or_else(|| StoreError::Corrupt(format!("node range {from} + {count} overflows")))?;
        // One range scan of the (level, idx) primary key.
        let mut stmt = self.conn().prepare_cached(
            "SELECT idx, hash FROM nodes WHERE level = ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx",
        )?;
        let mut rows = stmt.query(params![level, to_i64(from)?, to_i64(end)?])?;
        let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(1 << 16));
        while let Some(r) = rows.next()? {
            let (idx, hash): (i64, Vec<u8>) = (r.get(0)?, r.get(1)?);
            let expected = from + out.len() as u64;
            if idx as u64 != expected {
                break;
            }
            out.push(to_hash(&hash, "node hash")?);
        }
        if (out.len() as u64) < count {
            let missing = from + out.len() as u64;
            return Err(StoreError::Corrupt(format!(
                "node (level {level}, index {missing}) is missing"
            )));
        }
        Ok(out)
    }

    fn entry_hash_range(&self, from: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        let size = self.size()?;
        let end = match from.checked_add(count) {
            Some(end) if end <= size => end,
            _ => {
                return Err(StoreError::OutOfRange {
                    what: "index",
                    value: from.saturating_add(count).saturating_sub(1),
                    size,
                });
            }
        };
        let mut stmt = self.conn().prepare_cached(
            "SELECT entry_hash FROM entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
        )?;
        let rows = stmt.query_map(params![to_i64(from)?, to_i64(end)?], |r| {
            r.get::<_, Vec<u8>>(0)
        })?;
        let out = rows
            .map(|h| to_hash(&h?, "entry hash"))
            .collect::<Result<Vec<Hash>, StoreError>>()?;
        if out.len() as u64 != count {
            return Err(StoreError::Corrupt(format!(
                "entries {from} to {} should be {count} rows, found {}",
                end - 1,
                out.len()
            )));
        }
        Ok(out)
    }

    fn node_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM nodes", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn signer_key(&self, kid: &KeyId) -> Result<Option<VerifyingKey>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT public_key FROM signers WHERE kid = ?1")?;
        let k: Option<Vec<u8>> = stmt
            .query_row([kid.0.as_slice()], |r| r.get(0))
            .optional()?;
        k.map(|k| {
            <[u8; 32]>::try_from(k.as_slice())
                .ok()
                .and_then(|k| VerifyingKey::from_bytes(&k).ok())
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("signer {kid}: stored public key is invalid"))
                })
        })
        .transpose()
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row = self
            .conn()
            .query_row(
                "SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1",
                [],
                row_to_checkpoint,
            )
            .optional()?;
        row.map(|row| make_checkpoint(self.conn(), row)).transpose()
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row = self
            .conn()
            .query_row(
                "SELECT size, root, note FROM checkpoints WHERE size = ?1",
                [to_i64(size)?],
                row_to_checkpoint,
            )
            .optional()?;
        row.map(|row| make_checkpoint(self.conn(), row)).transpose()
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT size, root, note FROM checkpoints ORDER BY size")?;
        let rows = stmt
            .query_map([], row_to_checkpoint)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|row| make_checkpoint(self.conn(), row))
            .collect()
    }

    fn document(&self, sha256: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        if !has_table(self.conn(), "documents")? {
            return Ok(None);
        }
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT bytes FROM documents WHERE sha256 = ?1")?;
        Ok(stmt
            .query_row([sha256.as_slice()], |r| r.get(0))
            .optional()?)
    }

    fn for_each_document(
        &self,
        f: &mut dyn FnMut(Hash, Vec<u8>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if !has_table(self.conn(), "documents")? {
            return Ok(());
        }
        let mut stmt = self
            .conn()
            .prepare("SELECT sha256, bytes FROM documents ORDER BY sha256")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let key: Vec<u8> = r.get(0)?;
            f(to_hash(&key, "document key")?, r.get(1)?)?;
        }
        Ok(())
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError> {
        cosignature_lines(self.conn(), size)
    }

    fn witnesses(&self) -> Result<Vec<StoredWitness>, StoreError> {
        witness_rows(self.conn())
    }

    fn witness_quorum(&self) -> Result<u64, StoreError> {
        if !has_table(self.conn(), "witness_quorum")? {
            return Ok(0);
        }
        let q: Option<i64> = self
            .conn()
            .query_row(
                "SELECT quorum FROM witness_quorum ORDER BY rowid DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        q.map_or(Ok(0), |q| {
            u64::try_from(q).map_err(|_| StoreError::Corrupt(format!("witness quorum {q}")))
        })
    }

    fn latest_published(&self, min_quorum: u64) -> Result<Option<u64>, StoreError> {
        if !has_table(self.conn(), "published")? {
            return Ok(None);
        }
        let size: Option<i64> = self.conn().query_row(
            "SELECT MAX(size) FROM published WHERE quorum >= ?1",
            [to_i64(min_quorum)?],
            |r| r.get(0),
        )?;
        size.map(|s| {
            u64::try_from(s).map_err(|_| StoreError::Corrupt(format!("published size {s}")))
        })
        .transpose()
    }

    fn signer_rules(&self) -> Result<Vec<SignerRule>, StoreError> {
        if !has_table(self.conn(), "signer_rules")? {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn()
            .prepare("SELECT kind, key_type, value FROM signer_rules ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        rows.map(|r| {
            let (kind, key_type, value) = r?;
            let signer = match key_type.as_str() {
                "ed25519" => RuleSigner::Key(public_key(&value, "a signer rule's key")?),
                "x509-root" => RuleSigner::X509Root(value),
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "signer rule of unknown type {other:?}"
                    )));
                }
            };
            Ok(SignerRule { kind, signer })
        })
        .collect()
    }
}

impl StoreWrite for SqliteTx<'_> {
    fn append(&mut self, entries: &[NewEntry]) -> Result<Vec<u64>, StoreError> {
        // The write transaction (IMMEDIATE, see `Store::write`) guards the read of the log size
        // and the frontier (or the one kept from this transaction's last append) against other
        // writers until COMMIT, so indexes and nodes never interleave.
        let tx = &self.tx;
        if entries.iter().any(|e| !e.documents.is_empty()) {
            // A ledger created before the table existed gets it here, in the same transaction.
            tx.execute_batch(DOCUMENTS_TABLE)?;
            tx.execute_batch(&append_only_triggers("documents"))?;
        }
        let mut frontier = match self.frontier.take() {
            Some(f) => f,
            None => Frontier::load(&Nodes(tx), size_of(tx)?)?,
        };
        let mut indexes = Vec::with_capacity(entries.len());
        {
            let mut ins_entry = tx.prepare_cached(
                "INSERT INTO entries (idx, entry_hash, kind, issuer, subject, issued_at, statement)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut ins_node =
                tx.prepare_cached("INSERT INTO nodes (level, idx, hash) VALUES (?1, ?2, ?3)")?;
            let mut ins_signer = tx.prepare_cached(
                "INSERT OR IGNORE INTO signers (kid, public_key) VALUES (?1, ?2)",
            )?;
            let mut ins_ref = tx.prepare_cached(
                "INSERT OR IGNORE INTO refs (target, source_idx) VALUES (?1, ?2)",
            )?;
            let mut last_signer = None;
            for e in entries {
                let idx = frontier.size();
                let res = ins_entry.execute(params![
                    to_i64(idx)?,
                    e.entry_hash.as_slice(),
                    e.kind,
                    e.issuer,
                    e.subject,
                    to_i64(e.issued_at)?,
                    e.statement
                ]);
                if let Err(err) = res {
                    return Err(duplicate_or(tx, &e.entry_hash, err.into()));
                }
                for n in frontier.push(merkle::leaf_hash(&e.entry_hash)) {
                    ins_node.execute(params![n.level, to_i64(n.index)?, n.hash.as_slice()])?;
                }
                if last_signer != Some(e.signer) {
                    ins_signer.execute(params![
                        KeyId::of(&e.signer).0.as_slice(),
                        e.signer.to_bytes().as_slice()
                    ])?;
                    last_signer = Some(e.signer);
                }
                for target in &e.references {
                    ins_ref.execute(params![target.as_slice(), to_i64(idx)?])?;
                }
                for d in &e.documents {
                    let key: [u8; 32] = Sha256::digest(d).into();
                    tx.execute(
                        "INSERT OR IGNORE INTO documents (sha256, bytes) VALUES (?1, ?2)",
                        params![key.as_slice(), d],
                    )?;
                }
                indexes.push(idx);
            }
        }
        self.frontier = Some(frontier);
        Ok(indexes)
    }

    fn add_log_key(&mut self, key: &VerifyingKey) -> Result<u64, StoreError> {
        // The size read and the insert happen under the transaction's write lock.
        let tx = &self.tx;
        let size = size_of(tx)?;
        tx.execute(
            "INSERT INTO log_keys (public_key, added_at_size) VALUES (?1, ?2)",
            params![key.to_bytes().as_slice(), to_i64(size)?],
        )?;
        Ok(size)
    }

    fn add_cosignatures(
        &mut self,
        size: u64,
        lines: &[String],
        max_lines: usize,
    ) -> Result<usize, StoreError> {
        // The checkpoint lookup, the inserts and the count that bounds them happen under the
        // transaction's write lock, so concurrent collectors cannot together exceed `max_lines`.
        let tx = &self.tx;
        // A ledger created before the table existed gets it here, in the same transaction.
        tx.execute_batch(COSIGNATURES_TABLE)?;
        tx.execute_batch(&append_only_triggers("cosignatures"))?;
        let found: Option<i64> = tx
            .query_row(
                "SELECT size FROM checkpoints WHERE size = ?1",
                [to_i64(size)?],
                |r| r.get(0),
            )
            .optional()?;
        if found.is_none() {
            return Err(StoreError::NoCheckpoint { size });
        }
        let mut added = 0;
        {
            let mut ins = tx.prepare_cached(
                "INSERT OR IGNORE INTO cosignatures (size, line) VALUES (?1, ?2)",
            )?;
            for line in lines {
                added += ins.execute(params![to_i64(size)?, line])?;
            }
        }
        let count: i64 = tx.query_row(
            "SELECT COUNT(*) FROM cosignatures WHERE size = ?1",
            [to_i64(size)?],
            |r| r.get(0),
        )?;
        if count as usize > max_lines {
            // `Store::write` rolls the inserts back.
            return Err(StoreError::TooManyCosignatures {
                size,
                count: count as usize,
                max: max_lines,
            });
        }
        Ok(added)
    }

    fn add_checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        // The comparison with the latest size and the insert happen under the transaction's
        // write lock.
        let tx = &self.tx;
        // A ledger created before the index existed gets it with its next checkpoint.
        tx.execute_batch(ENTRIES_KIND_INDEX)?;
        let latest: Option<i64> =
            tx.query_row("SELECT MAX(size) FROM checkpoints", [], |r| r.get(0))?;
        if let Some(latest) = latest {
            let latest = latest as u64;
            if cp.size < latest {
                return Err(StoreError::CheckpointRegression {
                    offered: cp.size,
                    latest,
                });
            }
            if cp.size == latest {
                // The same tree size has one root; the stored note stands.
                return Ok(());
            }
        }
        let size = size_of(tx)?;
        if cp.size > size {
            return Err(StoreError::OutOfRange {
                what: "checkpoint size",
                value: cp.size,
                size,
            });
        }
        tx.execute(
            "INSERT INTO checkpoints (size, root, note) VALUES (?1, ?2, ?3)",
            params![to_i64(cp.size)?, cp.root.as_slice(), cp.note],
        )?;
        Ok(())
    }

    fn add_witness(&mut self, witness: &StoredWitness) -> Result<(), StoreError> {
        // The conflict check and the insert happen under the transaction's write lock.
        let tx = &self.tx;
        // A ledger created before the table existed gets it here, in the same transaction.
        tx.execute_batch(WITNESSES_TABLE)?;
        tx.execute_batch(&append_only_triggers("witnesses"))?;
        let key = witness.key.to_bytes();
        let existing: Option<(String, Vec<u8>)> = tx
            .query_row(
                "SELECT name, public_key FROM witnesses WHERE name = ?1 OR public_key = ?2 ORDER BY rowid LIMIT 1",
                params![witness.name, key.as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((name, _)) = existing {
            let what = if name == witness.name { "name" } else { "key" };
            return Err(StoreError::WitnessConflict {
                existing: name,
                what,
            });
        }
        tx.execute(
            "INSERT INTO witnesses (name, public_key, url) VALUES (?1, ?2, ?3)",
            params![witness.name, key.as_slice(), witness.url],
        )?;
        Ok(())
    }

    fn set_witness_quorum(&mut self, quorum: u64) -> Result<(), StoreError> {
        let tx = &self.tx;
        // A ledger created before the table existed gets it here, in the same transaction.
        tx.execute_batch(WITNESS_QUORUM_TABLE)?;
        tx.execute_batch(&append_only_triggers("witness_quorum"))?;
        // Read under the transaction's write lock, so two operators cannot both lower it.
        let current = self.witness_quorum()?;
        if quorum < current {
            return Err(StoreError::QuorumDecrease {
                current,
                requested: quorum,
            });
        }
        self.tx.execute(
            "INSERT INTO witness_quorum (quorum) VALUES (?1)",
            [to_i64(quorum)?],
        )?;
        Ok(())
    }

    fn publish(&mut self, size: u64, quorum: u64) -> Result<(), StoreError> {
        let tx = &self.tx;
        tx.execute_batch(PUBLISHED_TABLE)?;
        tx.execute_batch(&append_only_triggers("published"))?;
        let found: Option<i64> = tx
            .query_row(
                "SELECT size FROM checkpoints WHERE size = ?1",
                [to_i64(size)?],
                |r| r.get(0),
            )
            .optional()?;
        if found.is_none() {
            return Err(StoreError::NoCheckpoint { size });
        }
        let done: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM published WHERE size = ?1)",
            [to_i64(size)?],
            |r| r.get(0),
        )?;
        if !done {
            tx.execute(
                "INSERT INTO published (size, quorum) VALUES (?1, ?2)",
                params![to_i64(size)?, to_i64(quorum)?],
            )?;
        }
        Ok(())
    }

    fn add_signer_rule(&mut self, rule: &SignerRule) -> Result<bool, StoreError> {
        let tx = &self.tx;
        tx.execute_batch(SIGNER_RULES_TABLE)?;
        tx.execute_batch(&append_only_triggers("signer_rules"))?;
        let (key_type, value) = match &rule.signer {
            RuleSigner::Key(k) => ("ed25519", k.to_bytes().to_vec()),
            RuleSigner::X509Root(der) => ("x509-root", der.clone()),
        };
        let added = tx.execute(
            "INSERT OR IGNORE INTO signer_rules (kind, key_type, value) VALUES (?1, ?2, ?3)",
            params![rule.kind, key_type, value],
        )?;
        Ok(added == 1)
    }
}

impl Store for SqliteStore {
    type Tx<'a> = SqliteTx<'a>;

    fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut SqliteTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.check_writable()?;
        let read_only = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ReadOnly) => StoreError::ReadOnly(self.dir.clone()),
            _ => e.into(),
        };
        // IMMEDIATE takes the write lock up front: it excludes every other writer from the
        // transaction's first read to its COMMIT, so what `f` checks is what it extends.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| E::from(read_only(e)))?;
        let mut tx = SqliteTx { tx, frontier: None };
        // An error drops the transaction, which rolls everything back.
        let value = f(&mut tx)?;
        // Commit point: once COMMIT returns, the writes are durable (WAL, synchronous=FULL).
        // Before it, a crash or an error rolls them all back and the ledger is unchanged.
        tx.tx.commit().map_err(|e| E::from(read_only(e)))?;
        Ok(value)
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly(self.dir.clone()));
        }
        Ok(())
    }

    /// One read transaction, so that `f`'s reads see one snapshot and take the database's
    /// shared lock once instead of once per statement (a proof reads some 40 nodes). Inside a
    /// transaction already open, `f` simply runs in it.
    fn read_snapshot<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Self) -> Result<T, E>,
    ) -> Result<T, E> {
        if !self.conn.is_autocommit() {
            return f(self);
        }
        self.conn
            .execute_batch("BEGIN DEFERRED")
            .map_err(|e| E::from(e.into()))?;
        let result = f(self);
        // A read transaction has nothing to keep: ending it cannot lose data, and a failure to
        // end it is a database error worth reporting only if `f` succeeded.
        let ended = self.conn.execute_batch("COMMIT");
        if ended.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        match (result, ended) {
            (Ok(_), Err(e)) => Err(E::from(e.into())),
            (result, _) => result,
        }
    }
}

impl NodeSource for SqliteStore {
    type Error = StoreError;

    fn node(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        Nodes(&self.conn).node(level, index)
    }
}

impl NodeSource for SqliteTx<'_> {
    type Error = StoreError;

    fn node(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        Nodes(&self.tx).node(level, index)
    }
}

/// An Ed25519 public key read back from the database.
fn public_key(bytes: &[u8], what: &str) -> Result<VerifyingKey, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .ok()
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{what} is not an Ed25519 public key")))
}

/// A `checkpoints` row as read: size, root, note.
type CheckpointRow = (i64, Vec<u8>, String);

fn row_to_checkpoint(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckpointRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

/// A stored checkpoint with its collected cosignature lines appended to the log's note.
fn make_checkpoint(
    conn: &Connection,
    (size, root, mut note): CheckpointRow,
) -> Result<StoredCheckpoint, StoreError> {
    let size = size as u64;
    for line in cosignature_lines(conn, size)? {
        note.push_str(&line);
        note.push('\n');
    }
    Ok(StoredCheckpoint {
        size,
        root: to_hash(&root, "checkpoint root")?,
        note,
    })
}

/// The configured witnesses, in the order added; none if the table does not exist yet.
fn witness_rows(conn: &Connection) -> Result<Vec<StoredWitness>, StoreError> {
    if !has_table(conn, "witnesses")? {
        return Ok(Vec::new());
    }
    let mut stmt =
        conn.prepare_cached("SELECT name, public_key, url FROM witnesses ORDER BY rowid")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (name, key, url) = row?;
        let key = <[u8; 32]>::try_from(key.as_slice())
            .ok()
            .and_then(|k| VerifyingKey::from_bytes(&k).ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "witness {name:?}: stored public key is not an Ed25519 key"
                ))
            })?;
        Ok(StoredWitness { name, key, url })
    })
    .collect()
}

/// The cosignature lines stored for the checkpoint at `size`, in the order they were stored.
fn cosignature_lines(conn: &Connection, size: u64) -> Result<Vec<String>, StoreError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cosignatures')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(Vec::new());
    }
    let mut stmt =
        conn.prepare_cached("SELECT line FROM cosignatures WHERE size = ?1 ORDER BY rowid")?;
    let rows = stmt.query_map([to_i64(size)?], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Turns a failed entry insert into [`StoreError::Duplicate`] when the hash is already stored.
fn duplicate_or(conn: &Connection, entry_hash: &Hash, err: StoreError) -> StoreError {
    let existing: Option<i64> = conn
        .query_row(
            "SELECT idx FROM entries WHERE entry_hash = ?1",
            [entry_hash.as_slice()],
            |r| r.get(0),
        )
        .optional()
        .ok()
        .flatten();
    match existing {
        Some(index) => StoreError::Duplicate {
            entry_hash: *entry_hash,
            index: index as u64,
        },
        None => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::EMPTY_ROOT;

    fn new_store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let info = LedgerInfo {
            origin: "t.example/log".into(),
            log_key: ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key(),
        };
        let mut store = SqliteStore::create(dir.path(), &info).unwrap();
        store
            .add_checkpoint(&StoredCheckpoint {
                size: 0,
                root: EMPTY_ROOT,
                note: "log note\n\n— t.example/log AAAAAAA=\n".into(),
            })
            .unwrap();
        (dir, store)
    }

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn cosignatures_are_appended_once_in_order_and_never_changed() {
        let (_dir, mut store) = new_store();
        assert_eq!(store.cosignatures(0).unwrap(), Vec::<String>::new());
        let added = store.add_cosignatures(0, &lines(&["— w2 BBBB", "— w1 AAAA"]), 10);
        assert_eq!(added.unwrap(), 2);
        let added = store.add_cosignatures(0, &lines(&["— w1 AAAA", "— w3 CCCC"]), 10);
        assert_eq!(added.unwrap(), 1);
        assert_eq!(
            store.cosignatures(0).unwrap(),
            lines(&["— w2 BBBB", "— w1 AAAA", "— w3 CCCC"])
        );
        let note = store.checkpoint_at(0).unwrap().unwrap().note;
        assert_eq!(
            note,
            "log note\n\n— t.example/log AAAAAAA=\n— w2 BBBB\n— w1 AAAA\n— w3 CCCC\n"
        );
        assert_eq!(store.latest_checkpoint().unwrap().unwrap().note, note);
        assert_eq!(store.checkpoints().unwrap()[0].note, note);
        for sql in [
            "UPDATE cosignatures SET line = 'x'",
            "DELETE FROM cosignatures",
        ] {
            let err = store.conn.execute(sql, []).unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        // The foreign key refuses lines for a checkpoint that is not stored, even bypassing the check.
        assert!(
            store
                .conn
                .execute("INSERT INTO cosignatures (size, line) VALUES (5, 'x')", [])
                .is_err()
        );
        assert!(matches!(
            store.add_cosignatures(5, &lines(&["— w1 AAAA"]), 10),
            Err(StoreError::NoCheckpoint { size: 5 })
        ));
    }

    #[test]
    fn documents_are_kept_under_their_digest_and_never_changed() {
        let (dir, mut store) = new_store();
        let key = ed25519_dalek::SigningKey::from_bytes(&[2; 32]);
        let mut e = NewEntry {
            statement: vec![1, 2, 3],
            entry_hash: [7; 32],
            kind: "firmware-build".into(),
            issuer: "i".into(),
            subject: "s".into(),
            issued_at: 1,
            signer: key.verifying_key(),
            references: vec![],
            documents: vec![b"doc".to_vec()],
        };
        store.append_batch(std::slice::from_ref(&e)).unwrap();
        let digest: Hash = Sha256::digest(b"doc").into();
        assert_eq!(store.document(&digest).unwrap(), Some(b"doc".to_vec()));
        assert_eq!(store.document(&[0; 32]).unwrap(), None);
        // The same document cited again is stored once.
        e.entry_hash = [8; 32];
        store.append_batch(std::slice::from_ref(&e)).unwrap();
        for sql in [
            "UPDATE documents SET bytes = x'00'",
            "DELETE FROM documents",
            "INSERT OR REPLACE INTO documents (sha256, bytes) SELECT sha256, x'00' FROM documents",
        ] {
            let err = store.conn.execute(sql, []).unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        drop(store);
        let store = SqliteStore::open(dir.path()).unwrap();
        let mut n = 0;
        store
            .for_each_document(&mut |k, b| {
                assert_eq!((k, b.as_slice()), (digest, b"doc".as_slice()));
                n += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn witnesses_are_never_changed_and_an_older_ledger_reads_none() {
        let (dir, mut store) = new_store();
        let w = |name: &str, seed: u8| StoredWitness {
            name: name.into(),
            key: ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key(),
            url: None,
        };
        store.add_witness(&w("w1", 1)).unwrap();
        for sql in [
            "UPDATE witnesses SET url = 'https://x.test'",
            "DELETE FROM witnesses",
            "INSERT OR REPLACE INTO witnesses (name, public_key) SELECT name, public_key FROM witnesses",
        ] {
            let err = store.conn.execute(sql, []).unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        // What a ledger created before the witnesses table looks like: read as none, and the
        // first witness added creates the table with its triggers.
        store
            .conn
            .execute_batch("DROP TRIGGER witnesses_no_update; DROP TRIGGER witnesses_no_delete; DROP TRIGGER witnesses_no_replace; DROP TABLE witnesses")
            .unwrap();
        drop(store);
        let mut store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.witnesses().unwrap(), vec![]);
        store.add_witness(&w("w2", 2)).unwrap();
        assert_eq!(store.witnesses().unwrap(), vec![w("w2", 2)]);
        let err = store.conn.execute("DELETE FROM witnesses", []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }

    #[test]
    fn the_quorum_and_publication_are_never_changed_and_an_older_ledger_reads_none() {
        let (dir, mut store) = new_store();
        store.write(|tx| tx.set_witness_quorum(1)).unwrap();
        store.write(|tx| tx.publish(0, 1)).unwrap();
        for sql in [
            "UPDATE witness_quorum SET quorum = 0",
            "DELETE FROM witness_quorum",
            "INSERT INTO witness_quorum (quorum) VALUES (0)",
            "UPDATE published SET quorum = 9",
            "DELETE FROM published",
            "INSERT OR REPLACE INTO published (size, quorum) VALUES (0, 9)",
        ] {
            let err = store.conn.execute(sql, []).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains("append-only") || msg.contains("never decreases"),
                "{sql}: {err}"
            );
        }
        // A ledger created before these tables existed: quorum 0, nothing recorded as published;
        // the first quorum set creates the table with its triggers.
        store
            .conn
            .execute_batch(
                "DROP TRIGGER witness_quorum_no_update; DROP TRIGGER witness_quorum_no_delete; DROP TRIGGER witness_quorum_monotonic; DROP TABLE witness_quorum;
                 DROP TRIGGER published_no_update; DROP TRIGGER published_no_delete; DROP TRIGGER published_no_replace; DROP TABLE published",
            )
            .unwrap();
        drop(store);
        let mut store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.witness_quorum().unwrap(), 0);
        assert_eq!(store.latest_published(0).unwrap(), None);
        store.write(|tx| tx.set_witness_quorum(2)).unwrap();
        store.write(|tx| tx.publish(0, 2)).unwrap();
        assert_eq!(store.latest_published(2).unwrap(), Some(0));
        let err = store.conn.execute("DELETE FROM published", []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }

    #[test]
    fn too_many_cosignatures_store_nothing() {
        let (_dir, mut store) = new_store();
        store.add_cosignatures(0, &lines(&["a", "b"]), 3).unwrap();
        assert!(matches!(
            store.add_cosignatures(0, &lines(&["c", "d"]), 3),
            Err(StoreError::TooManyCosignatures {
                size: 0,
                count: 4,
                max: 3
            })
        ));
        assert_eq!(store.cosignatures(0).unwrap(), lines(&["a", "b"]));
        // Lines already stored do not count twice.
        assert_eq!(
            store.add_cosignatures(0, &lines(&["a", "c"]), 3).unwrap(),
            1
        );
    }

    #[test]
    fn a_ledger_made_before_the_table_gets_it_on_first_use() {
        let (dir, store) = new_store();
        // What a ledger created before the cosignatures table looks like.
        store.conn.execute_batch("DROP TABLE cosignatures").unwrap();
        drop(store);
        let mut store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.cosignatures(0).unwrap(), Vec::<String>::new());
        assert_eq!(
            store.checkpoint_at(0).unwrap().unwrap().note,
            "log note\n\n— t.example/log AAAAAAA=\n"
        );
        assert_eq!(
            store
                .add_cosignatures(0, &lines(&["— w1 AAAA"]), 10)
                .unwrap(),
            1
        );
        assert_eq!(store.cosignatures(0).unwrap(), lines(&["— w1 AAAA"]));
        let err = store
            .conn
            .execute("DELETE FROM cosignatures", [])
            .unwrap_err();
        assert!(err.to_string().contains("append-only"));
    }
}
