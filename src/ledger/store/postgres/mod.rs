//! The PostgreSQL store (feature `postgres`): the same contract as the SQLite store, on a
//! database that several service instances share (`specs/store.md`, "PostgreSQL").
//!
//! Invariants the database enforces by itself, whoever connects (`schema.rs`):
//! - `entries.idx` is the primary key and dense: an insert takes exactly the next index;
//! - an entry carries the sequencing epoch, and one from an epoch other than the lease's is
//!   refused (fencing: a sequencer that lost its lease cannot append);
//! - no row of a history table is updated or deleted, and no history table is truncated;
//! - a checkpoint's size never goes back nor beyond the log; the witness quorum never decreases;
//! - the service role owns nothing, so it cannot alter a table or disable a trigger.
//!
//! One connection per store, used through a `RefCell` (the `Store` trait reads through `&self`;
//! the store is `Send`, not `Sync`, like the SQLite store's connection).

mod queue;
pub mod schema;
mod setup;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use super::{LedgerInfo, StoreError, StoredCheckpoint, StoredEntry};
use crate::merkle::{Frontier, Hash, NodeId, NodeSource};

pub use queue::{Queued, Settled};
pub use setup::{SetupRoles, setup};

/// Whether a `--store` value names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// `url` with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(parts) => parts,
        None => return url.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

fn backend(e: postgres::Error) -> StoreError {
    StoreError::Backend(describe(&e))
}

/// A database error's message (and detail), or the client's error for anything else.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => e.to_string(),
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        backend(e)
    }
}

/// The connection and its prepared statements.
struct Conn {
    client: Client,
    /// Statements prepared on this connection, by their text: a query costs one round trip
    /// instead of two (prepare, then execute).
    prepared: HashMap<&'static str, Statement>,
}

/// The PostgreSQL ledger store.
pub struct PostgresStore {
    /// The connection: `None` only once the store is dropped (it then goes to the pool).
    conn: RefCell<Option<Conn>>,
    /// The URL it was opened with: the key of its connection in the pool.
    url: String,
    /// The connection string, to reconnect after the server went away.
    config: postgres::Config,
    /// The database as shown in messages (the URL without its password).
    shown: String,
    /// A transaction is open on the connection (a write, or a snapshot): a snapshot asked for
    /// inside it simply runs in it.
    in_tx: Cell<bool>,
    /// A write transaction is open, and in it the server plans each prepared statement once,
    /// without its parameters' values (`plan_cache_mode = force_generic_plan`, `write.rs`).
    generic_plans: Cell<bool>,
    /// The sequencing epoch this store appends under, if it sequences under a lease; `None`
    /// appends under whatever epoch the lease holds (one writer: the CLI, the tests).
    fence: Option<i64>,
    /// The ledger's identity, read when the store was opened or created: `meta` is a history
    /// table (no row is ever updated or deleted), so it cannot change while the store is open.
    info: LedgerInfo,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Outside a transaction the connection holds no state of this store's (prepared
        // statements are the same for every store), so the next store opened on this URL in
        // this process reuses it instead of paying for a new server backend.
        if !self.in_tx.get()
            && let Some(conn) = self.conn.get_mut().take()
        {
            pool::give(&self.url, conn);
        }
    }
}

/// Idle connections, by URL, reused by the next store opened in this process: the service
/// opens a store per read request, and a new PostgreSQL connection costs a server process and
/// an authentication (about 4 ms, `BENCHMARKS.md`).
mod pool {
    use std::sync::Mutex;

    use super::Conn;

    /// Idle connections kept per URL: enough for the service's blocking pool under load; more
    /// are closed when their store is dropped.
    const MAX_IDLE: usize = 32;

    static IDLE: Mutex<Vec<(String, Conn)>> = Mutex::new(Vec::new());

    /// An idle connection to `url` that the server has not closed, if any.
    pub(super) fn take(url: &str) -> Option<Conn> {
        // A poisoned lock only means a thread panicked while pushing or popping: the list
        // itself is always whole, so it is used as it is.
        let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(i) = idle.iter().rposition(|(u, _)| u == url) {
            let (_, conn) = idle.swap_remove(i);
            if !conn.client.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    /// Keeps `conn` for reuse, unless closed or enough connections to `url` are idle.
    pub(super) fn give(url: &str, conn: Conn) {
        if conn.client.is_closed() {
            return;
        }
        let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
        if idle.iter().filter(|(u, _)| u == url).count() < MAX_IDLE {
            idle.push((url.to_owned(), conn));
        }
    }
}

/// A write transaction of a [`PostgresStore`] (rolled back when dropped uncommitted).
pub struct PostgresTx<'a> {
    store: &'a PostgresStore,
    /// The lease's epoch, read (and its row locked) when the transaction began.
    epoch: i64,
    /// The tree's right edge after this transaction's last append (as in the SQLite store).
    frontier: Option<Frontier>,
    done: bool,
}

impl Drop for PostgresTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing of an abandoned transaction may remain: a failed ROLLBACK means the
            // connection is gone, and the server then rolls back on its own.
            let _ = self.store.conn().client.batch_execute("ROLLBACK");
            self.store.in_tx.set(false);
            self.store.generic_plans.set(false);
        }
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgres://` URL or a libpq key=value string) and
    /// learns the ledger's identity from `identify`, given the connection and the database as
    /// shown in messages.
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming the database when the URL is malformed or the connection
    /// fails; `identify`'s error.
    fn connect(
        url: &str,
        identify: impl FnOnce(&mut Conn, &str) -> Result<LedgerInfo, StoreError>,
    ) -> Result<PostgresStore, StoreError> {
        let shown = redact(url);
        let config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("{shown}: {e}")))?;
        let mut conn = match pool::take(url) {
            Some(conn) => conn,
            None => Conn {
                client: config
                    .connect(NoTls)
                    .map_err(|e| StoreError::Backend(format!("{shown}: {}", describe(&e))))?,
                prepared: HashMap::new(),
            },
        };
        let info = match identify(&mut conn, &shown) {
            Ok(info) => info,
            Err(e) => {
                // Outside a transaction the connection holds nothing of this store's.
                pool::give(url, conn);
                return Err(e);
            }
        };
        Ok(PostgresStore {
            conn: RefCell::new(Some(conn)),
            url: url.to_owned(),
            config,
            shown,
            in_tx: Cell::new(false),
            generic_plans: Cell::new(false),
            fence: None,
            info,
        })
    }

    /// Creates a ledger in the database at `url`. The schema is created too if the database has
    /// none (then the connecting role owns it; `evledger store setup` creates it under an owner
    /// role instead, see [`setup`]).
    ///
    /// # Errors
    /// [`StoreError::Exists`] if the database already holds a ledger; a database error.
    pub fn create(url: &str, info: &LedgerInfo) -> Result<PostgresStore, StoreError> {
        let store = Self::connect(url, |_, _| Ok(info.clone()))?;
        {
            let mut c = store.conn();
            let mut tx = c.client.transaction()?;
            // Serializes two `create`s racing on one database: the second waits, then finds
            // the schema and the first one's identity.
            tx.execute("SELECT pg_advisory_xact_lock(1163283505)", &[])?;
            let has_schema: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                    &[&schema::SCHEMA_NAME],
                )?
                .get(0);
            if !has_schema {
                tx.batch_execute("CREATE SCHEMA evledger")?;
                tx.batch_execute(&schema::script())?;
            }
            let exists: bool = tx
                .query_one("SELECT EXISTS (SELECT 1 FROM evledger.meta)", &[])?
                .get(0);
            if exists {
                return Err(StoreError::Exists(store.shown.clone().into()));
            }
            tx.execute(
                "INSERT INTO evledger.meta (key, value) VALUES ('origin', $1), ('log_public_key', $2), ('schema_version', $3)",
                &[
                    &info.origin.as_bytes(),
                    &info.log_key.to_bytes().as_slice(),
                    &schema::SCHEMA_VERSION.as_bytes(),
                ],
            )?;
            tx.commit()?;
        }
        Ok(store)
    }

    /// Opens the ledger in the database at `url`; never creates one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the database holds no ledger, [`StoreError::NotALedger`]
    /// for another schema version, or a database error.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        Self::connect(url, read_identity)
    }

    /// Appends from now on only under sequencing epoch `epoch`: a write transaction fails with
    /// [`StoreError::Backend`] ("fenced") once the lease has moved to another epoch.
    pub fn fence(&mut self, epoch: i64) {
        self.fence = Some(epoch);
    }

    /// Takes or renews the sequencing lease for `holder` until `ttl` from now (the database's
    /// clock), and fences this store to the lease's epoch: `Some(epoch)` while `holder` holds
    /// it, `None` while another holder's lease has not expired. Taking a lease that was free,
    /// expired or held by another moves the epoch up by one, which fences out whoever held it
    /// before; renewing an unexpired lease keeps the epoch.
    ///
    /// # Errors
    /// A database error.
    pub fn take_lease(
        &mut self,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<i64>, StoreError> {
        self.reconnect_if_closed()?;
        let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let row = self.query_opt(
            "UPDATE evledger.lease SET
                 epoch = CASE WHEN holder = $1 AND expires_at > clock_timestamp() THEN epoch ELSE epoch + 1 END,
                 holder = $1,
                 expires_at = clock_timestamp() + $2 * interval '1 millisecond'
             WHERE holder IS NULL OR holder = $1 OR expires_at <= clock_timestamp()
             RETURNING epoch",
            &[&holder, &(ms as f64)],
        )?;
        let epoch = row.map(|r| r.try_get::<_, i64>(0)).transpose()?;
        if let Some(epoch) = epoch {
            self.fence = Some(epoch);
        }
        Ok(epoch)
    }

    /// Gives up `holder`'s lease at once (a clean shutdown), so that another instance takes it
    /// without waiting for it to expire; the epoch stays until the next holder moves it.
    ///
    /// # Errors
    /// A database error.
    pub fn release_lease(&mut self, holder: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE evledger.lease SET expires_at = clock_timestamp() WHERE holder = $1",
            &[&holder],
        )?;
        Ok(())
    }

    /// The database as shown in messages (its URL without the password).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Runs `sql` (a script of statements) on the store's connection, outside any transaction.
    ///
    /// # Errors
    /// The database's error.
    pub fn batch_execute(&self, sql: &str) -> Result<(), StoreError> {
        self.conn().client.batch_execute(sql)?;
        Ok(())
    }

    /// The connection, borrowed for one call.
    fn conn(&self) -> std::cell::RefMut<'_, Conn> {
        // Present from `connect` until `drop` takes it: no call can come after that.
        std::cell::RefMut::map(self.conn.borrow_mut(), |c| {
            c.as_mut()
                .expect("a store has its connection until dropped")
        })
    }

    /// Reconnects if the server closed the connection (a restart, a failover), so that the
    /// next transaction can succeed; a transaction open at the time was rolled back by the
    /// server.
    fn reconnect_if_closed(&self) -> Result<(), StoreError> {
        let mut c = self.conn();
        if c.client.is_closed() {
            let client = self
                .config
                .connect(NoTls)
                .map_err(|e| StoreError::Backend(format!("{}: {}", self.shown, describe(&e))))?;
            *c = Conn {
                client,
                prepared: HashMap::new(),
            };
        }
        Ok(())
    }

    fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let mut c = self.conn();
        let stmt = prepared(&mut c, sql)?;
        c.client.query(&stmt, params)
    }

    /// `query` without a prepared statement: the server plans `sql` with the parameters'
    /// values (one more round trip).
    fn query_planned(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let mut c = self.conn();
        if !self.generic_plans.get() {
            return c.client.query(sql, params);
        }
        // Inside a write transaction statements are planned without their values: this one is
        // let out of that, then the transaction's setting is restored.
        c.client.batch_execute("SET LOCAL plan_cache_mode = auto")?;
        let rows = c.client.query(sql, params)?;
        c.client
            .batch_execute("SET LOCAL plan_cache_mode = force_generic_plan")?;
        Ok(rows)
    }

    fn query_opt(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let mut c = self.conn();
        let stmt = prepared(&mut c, sql)?;
        Ok(c.client.query_opt(&stmt, params)?)
    }

    fn query_one(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StoreError> {
        let mut c = self.conn();
        let stmt = prepared(&mut c, sql)?;
        Ok(c.client.query_one(&stmt, params)?)
    }

    fn execute(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let mut c = self.conn();
        let stmt = prepared(&mut c, sql)?;
        Ok(c.client.execute(&stmt, params)?)
    }
}

/// Whether `e` says the `evledger` schema or its `meta` table does not exist.
fn is_missing_schema(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    matches!(
        e.code(),
        Some(c) if *c == SqlState::UNDEFINED_TABLE || *c == SqlState::INVALID_SCHEMA_NAME
    )
}

/// Checks the schema version and reads the ledger's identity, in one round trip.
fn read_identity(c: &mut Conn, shown: &str) -> Result<LedgerInfo, StoreError> {
    let sql = "SELECT key, value FROM evledger.meta WHERE key IN ('schema_version', 'origin', 'log_public_key')";
    // A database without the schema has no `evledger.meta` to read.
    let rows = match prepared(c, sql).and_then(|stmt| c.client.query(&stmt, &[])) {
        Ok(rows) => rows,
        Err(e) if is_missing_schema(&e) => return Err(StoreError::NotFound(shown.into())),
        Err(e) => return Err(e.into()),
    };
    let mut meta: HashMap<String, Vec<u8>> = HashMap::new();
    for r in rows {
        meta.insert(r.try_get(0)?, r.try_get(1)?);
    }
    match meta.get("schema_version") {
        None => Err(StoreError::NotFound(shown.into())),
        Some(v) if v == schema::SCHEMA_VERSION.as_bytes() => identity(&meta),
        Some(v) => Err(StoreError::NotALedger {
            path: shown.into(),
            reason: format!(
                "schema version {}, this program reads {}",
                String::from_utf8_lossy(v),
                schema::SCHEMA_VERSION
            ),
        }),
    }
}

/// The ledger's identity from its `meta` rows.
fn identity(meta: &HashMap<String, Vec<u8>>) -> Result<LedgerInfo, StoreError> {
    let get = |k: &str| {
        meta.get(k)
            .ok_or_else(|| StoreError::Corrupt(format!("meta {k} is missing")))
    };
    let origin = String::from_utf8(get("origin")?.clone())
        .map_err(|_| StoreError::Corrupt("origin is not UTF-8".into()))?;
    let log_key = public_key(get("log_public_key")?, "the log public key")?;
    Ok(LedgerInfo { origin, log_key })
}

/// The statement for `sql`, prepared once per connection.
fn prepared(c: &mut Conn, sql: &'static str) -> Result<Statement, postgres::Error> {
    if let Some(s) = c.prepared.get(sql) {
        return Ok(s.clone());
    }
    let s = c.client.prepare(sql)?;
    c.prepared.insert(sql, s.clone());
    Ok(s)
}

/// Reads through the store's connection: the store itself, or a transaction open on it.
trait Reader {
    fn pg(&self) -> &PostgresStore;

    /// The log's size when known without a query.
    fn known_size(&self) -> Option<u64>;
}

impl Reader for PostgresStore {
    fn pg(&self) -> &PostgresStore {
        self
    }

    fn known_size(&self) -> Option<u64> {
        None
    }
}

impl Reader for PostgresTx<'_> {
    fn pg(&self) -> &PostgresStore {
        self.store
    }

    /// After an append, the frontier's: the writer lock excludes every other writer until the
    /// transaction ends, so the log holds exactly what this transaction left.
    fn known_size(&self) -> Option<u64> {
        self.frontier.as_ref().map(Frontier::size)
    }
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v)
        .map_err(|_| StoreError::Corrupt(format!("value {v} exceeds the database's integer range")))
}

/// A stored count or index, which the schema's CHECKs keep non-negative.
fn to_u64(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} is negative ({v})")))
}

fn to_hash(b: &[u8], what: &str) -> Result<Hash, StoreError> {
    Hash::try_from(b)
        .map_err(|_| StoreError::Corrupt(format!("{what} is {} bytes, not 32", b.len())))
}

fn public_key(bytes: &[u8], what: &str) -> Result<VerifyingKey, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .ok()
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{what} is not an Ed25519 public key")))
}

fn make_entry(r: &Row) -> Result<StoredEntry, StoreError> {
    Ok(StoredEntry {
        index: to_u64(r.try_get(0)?, "entry index")?,
        entry_hash: to_hash(r.try_get(1)?, "entry hash")?,
        kind: r.try_get(2)?,
        issuer: r.try_get(3)?,
        subject: r.try_get(4)?,
        issued_at: to_u64(r.try_get(5)?, "issued_at")?,
        statement: r.try_get(6)?,
    })
}

fn size_of(s: &PostgresStore) -> Result<u64, StoreError> {
    let r = s.query_one(
        "SELECT COALESCE(MAX(idx) + 1, 0) FROM evledger.entries",
        &[],
    )?;
    to_u64(r.try_get(0)?, "log size")
}

fn make_checkpoint(s: &PostgresStore, r: &Row) -> Result<StoredCheckpoint, StoreError> {
    let size = to_u64(r.try_get(0)?, "checkpoint size")?;
    let mut note: String = r.try_get(2)?;
    for line in cosignature_lines(s, size)? {
        note.push_str(&line);
        note.push('\n');
    }
    Ok(StoredCheckpoint {
        size,
        root: to_hash(r.try_get(1)?, "checkpoint root")?,
        note,
    })
}

fn cosignature_lines(s: &PostgresStore, size: u64) -> Result<Vec<String>, StoreError> {
    s.query(
        "SELECT line FROM evledger.cosignatures WHERE size = $1 ORDER BY seq",
        &[&to_i64(size)?],
    )?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

impl NodeSource for PostgresStore {
    type Error = StoreError;

    fn node(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        read_node(self, level, index)
    }

    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        read_nodes(self, ids)
    }
}

impl NodeSource for PostgresTx<'_> {
    type Error = StoreError;

    fn node(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        read_node(self.store, level, index)
    }

    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        read_nodes(self.store, ids)
    }
}

/// The nodes `ids`, in order, in one query: a proof or a frontier costs one round trip, not one
/// per node.
fn read_nodes(s: &PostgresStore, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
    match ids {
        [] => return Ok(Vec::new()),
        [one] => return Ok(vec![read_node(s, one.level, one.index)?]),
        _ => {}
    }
    let mut levels = Vec::with_capacity(ids.len());
    let mut indexes = Vec::with_capacity(ids.len());
    for id in ids {
        levels.push(i32::try_from(id.level).map_err(|_| {
            StoreError::Corrupt(format!("node level {} is out of range", id.level))
        })?);
        indexes.push(to_i64(id.index)?);
    }
    let rows = s.query(
        // A lookup by primary key per node (a join could be planned as a scan of the whole
        // table, which a plan cached while the table was small would keep doing).
        "SELECT (SELECT n.hash FROM evledger.nodes n WHERE n.level = w.level AND n.idx = w.idx)
         FROM unnest($1::integer[], $2::bigint[]) WITH ORDINALITY AS w(level, idx, ord)
         ORDER BY w.ord",
        &[&levels, &indexes],
    )?;
    if rows.len() != ids.len() {
        return Err(StoreError::Corrupt(format!(
            "{} nodes asked for, {} rows returned",
            ids.len(),
            rows.len()
        )));
    }
    ids.iter()
        .zip(rows)
        .map(|(id, r)| match r.try_get::<_, Option<&[u8]>>(0)? {
            Some(h) => to_hash(h, "node hash"),
            None => Err(StoreError::Corrupt(format!(
                "node (level {}, index {}) is missing",
                id.level, id.index
            ))),
        })
        .collect()
}

fn read_node(s: &PostgresStore, level: u32, index: u64) -> Result<Hash, StoreError> {
    let level_i = i32::try_from(level)
        .map_err(|_| StoreError::Corrupt(format!("node level {level} is out of range")))?;
    let row = s.query_opt(
        "SELECT hash FROM evledger.nodes WHERE level = $1 AND idx = $2",
        &[&level_i, &to_i64(index)?],
    )?;
    let row = row.ok_or_else(|| {
        StoreError::Corrupt(format!("node (level {level}, index {index}) is missing"))
    })?;
    to_hash(row.try_get(0)?, "node hash")
}

mod append;
mod read;
mod write;
