//! The store a ledger directory names: the embedded SQLite database in the directory, or (with
//! feature `postgres`) the PostgreSQL database whose URL the directory's `store.url` file holds
//! or the process was told with `--store` / `EVLEDGER_STORE` (`specs/store.md`, "Choosing the
//! store"). Every command and the service open ledgers through it, so a backend never leaks
//! above the store.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ed25519_dalek::VerifyingKey;

use super::{
    LedgerInfo, NewEntry, SignerRule, SqliteStore, Store, StoreError, StoreRead, StoreWrite,
    StoredCheckpoint, StoredEntry, StoredWitness,
};
use crate::keys::KeyId;
use crate::merkle::{Hash, NodeId, NodeSource};

/// The file in a ledger directory naming the database that holds the ledger (one line, a
/// `postgres://` URL), written by `evledger init --store URL`. It may hold a password, so it is
/// written with mode 0600.
pub const STORE_FILE: &str = "store.url";

/// The database every ledger of this process lives in, set once by the command line from
/// `--store` / `EVLEDGER_STORE`.
static PROCESS_STORE: OnceLock<String> = OnceLock::new();

/// Where a ledger's entries are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The SQLite database in the ledger directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by URL.
    Postgres(String),
}

/// Makes every ledger this process opens or creates live in the database at `url` (a
/// `postgres://` URL), whatever its directory's `store.url` says; the command line calls it
/// once with the value of `--store`.
///
/// # Errors
/// [`StoreError::Backend`] for a value that is not a `postgres://` URL, or a second, different
/// value.
pub fn use_store_url(url: &str) -> Result<(), StoreError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(StoreError::Backend(format!(
            "--store {url:?}: only postgres:// URLs name a store; without --store the ledger is the SQLite database in its directory"
        )));
    }
    let set = PROCESS_STORE.get_or_init(|| url.to_owned());
    if set != url {
        return Err(StoreError::Backend(
            "the store was already chosen for this process".into(),
        ));
    }
    Ok(())
}

/// The database the ledger in `dir` lives in: the process's `--store`, else the one the
/// directory's `store.url` names, else the SQLite database in `dir`.
///
/// # Errors
/// [`StoreError::Backend`] if `store.url` cannot be read, or names another database than
/// `--store`.
pub fn locate(dir: &Path) -> Result<Location, StoreError> {
    let file = dir.join(STORE_FILE);
    let recorded = match std::fs::read_to_string(&file) {
        Ok(s) => Some(s.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(StoreError::Backend(format!("{}: {e}", file.display())));
        }
    };
    match (PROCESS_STORE.get(), recorded) {
        (Some(chosen), Some(recorded)) if *chosen != recorded => Err(StoreError::Backend(format!(
            "--store names {}, but {} names {}: a ledger directory holds the keys of one ledger; use that database, or another --ledger directory",
            redact(chosen),
            file.display(),
            redact(&recorded)
        ))),
        (Some(chosen), _) => Ok(Location::Postgres(chosen.clone())),
        (None, Some(recorded)) => Ok(Location::Postgres(recorded)),
        (None, None) => Ok(Location::Sqlite(dir.to_path_buf())),
    }
}

fn redact(url: &str) -> String {
    #[cfg(feature = "postgres")]
    return super::postgres::redact(url);
    #[cfg(not(feature = "postgres"))]
    url.split_once('@').map_or_else(
        || url.to_owned(),
        |(_, host)| format!("postgres://…@{host}"),
    )
}

/// A ledger's store: the embedded SQLite store or a PostgreSQL one.
pub enum LedgerStore {
    /// The SQLite database in a ledger directory.
    Sqlite(SqliteStore),
    /// A PostgreSQL database (feature `postgres`), boxed: its connection state is several
    /// times the size of a SQLite handle.
    #[cfg(feature = "postgres")]
    Postgres(Box<super::PostgresStore>),
}

impl From<SqliteStore> for LedgerStore {
    fn from(s: SqliteStore) -> LedgerStore {
        LedgerStore::Sqlite(s)
    }
}

#[cfg(feature = "postgres")]
impl From<super::PostgresStore> for LedgerStore {
    fn from(s: super::PostgresStore) -> LedgerStore {
        LedgerStore::Postgres(Box::new(s))
    }
}

/// Refuses a PostgreSQL location in a build without the `postgres` feature.
#[cfg(not(feature = "postgres"))]
fn no_postgres(url: &str) -> StoreError {
    StoreError::Backend(format!(
        "the ledger is in PostgreSQL ({}), and this evledger was built without the postgres feature; build it with `cargo build --features postgres`",
        redact(url)
    ))
}

impl LedgerStore {
    /// Appends from now on only under sequencing epoch `epoch` (`PostgresStore::fence`); a
    /// SQLite store has one writer and no epochs, so it is left as it is.
    #[cfg(feature = "postgres")]
    pub fn fence(&mut self, epoch: i64) {
        if let LedgerStore::Postgres(pg) = self {
            pg.fence(epoch);
        }
    }

    /// Opens the ledger at `location`, for writing if this process may write it.
    ///
    /// # Errors
    /// As [`SqliteStore::open`] or `PostgresStore::open`.
    pub fn open(location: &Location) -> Result<LedgerStore, StoreError> {
        match location {
            Location::Sqlite(dir) => Ok(SqliteStore::open(dir)?.into()),
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => Ok(super::PostgresStore::open(url)?.into()),
            #[cfg(not(feature = "postgres"))]
            Location::Postgres(url) => Err(no_postgres(url)),
        }
    }

    /// Opens the ledger at `location` for reading only. A PostgreSQL ledger is opened as for
    /// writing: what a role may write is the database's business (`evledger store setup`).
    ///
    /// # Errors
    /// As [`SqliteStore::open_read_only`] or `PostgresStore::open`.
    pub fn open_read_only(location: &Location) -> Result<LedgerStore, StoreError> {
        match location {
            Location::Sqlite(dir) => Ok(SqliteStore::open_read_only(dir)?.into()),
            _ => Self::open(location),
        }
    }

    /// Creates a ledger at `location`.
    ///
    /// # Errors
    /// As [`SqliteStore::create`] or `PostgresStore::create`.
    pub fn create(location: &Location, info: &LedgerInfo) -> Result<LedgerStore, StoreError> {
        match location {
            Location::Sqlite(dir) => Ok(SqliteStore::create(dir, info)?.into()),
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => Ok(super::PostgresStore::create(url, info)?.into()),
            #[cfg(not(feature = "postgres"))]
            Location::Postgres(url) => Err(no_postgres(url)),
        }
    }
}

/// Runs `$e` with `$s` bound to the store inside whichever variant `$self` is.
macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            LedgerStore::Sqlite($s) => $e,
            #[cfg(feature = "postgres")]
            LedgerStore::Postgres($s) => $e,
        }
    };
}

/// A write transaction of a [`LedgerStore`]: the backend's own transaction, behind a
/// reference.
pub struct LedgerTx<'a>(&'a mut (dyn StoreWrite + 'a));

impl NodeSource for LedgerStore {
    type Error = StoreError;

    fn node(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        each!(self, s => s.node(level, index))
    }

    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        each!(self, s => s.nodes(ids))
    }
}

impl NodeSource for LedgerTx<'_> {
    type Error = StoreError;

    fn node(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        self.0.node(level, index)
    }

    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        self.0.nodes(ids)
    }
}

/// [`StoreRead`] for a type by forwarding each method through the macro `$fwd`.
macro_rules! forward_reads {
    ($t:ty, $fwd:ident) => {
        impl StoreRead for $t {
            fn info(&self) -> Result<LedgerInfo, StoreError> {
                $fwd!(self, info())
            }
            fn size(&self) -> Result<u64, StoreError> {
                $fwd!(self, size())
            }
            fn entry(&self, index: u64) -> Result<StoredEntry, StoreError> {
                $fwd!(self, entry(index))
            }
            fn find(&self, h: &Hash) -> Result<Option<StoredEntry>, StoreError> {
                $fwd!(self, find(h))
            }
            fn for_each_entry(
                &self,
                f: &mut dyn FnMut(StoredEntry) -> Result<(), StoreError>,
            ) -> Result<(), StoreError> {
                $fwd!(self, for_each_entry(f))
            }
            fn for_each_entry_of_kinds(
                &self,
                kinds: &[&str],
                from: u64,
                below: u64,
                f: &mut dyn FnMut(StoredEntry) -> Result<(), StoreError>,
            ) -> Result<(), StoreError> {
                $fwd!(self, for_each_entry_of_kinds(kinds, from, below, f))
            }
            fn citing(&self, t: &Hash) -> Result<Vec<u64>, StoreError> {
                $fwd!(self, citing(t))
            }
            fn added_log_keys(&self) -> Result<Vec<(VerifyingKey, u64)>, StoreError> {
                $fwd!(self, added_log_keys())
            }
            fn has_ref(&self, t: &Hash, source: u64) -> Result<bool, StoreError> {
                $fwd!(self, has_ref(t, source))
            }
            fn ref_count(&self) -> Result<u64, StoreError> {
                $fwd!(self, ref_count())
            }
            fn node_range(
                &self,
                level: u32,
                from: u64,
                count: u64,
            ) -> Result<Vec<Hash>, StoreError> {
                $fwd!(self, node_range(level, from, count))
            }
            fn entry_hash_range(&self, from: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
                $fwd!(self, entry_hash_range(from, count))
            }
            fn entry_range(&self, from: u64, count: u64) -> Result<Vec<StoredEntry>, StoreError> {
                $fwd!(self, entry_range(from, count))
            }
            fn node_count(&self) -> Result<u64, StoreError> {
                $fwd!(self, node_count())
            }
            fn signer_key(&self, kid: &KeyId) -> Result<Option<VerifyingKey>, StoreError> {
                $fwd!(self, signer_key(kid))
            }
            fn signer_rules(&self) -> Result<Vec<SignerRule>, StoreError> {
                $fwd!(self, signer_rules())
            }
            fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
                $fwd!(self, latest_checkpoint())
            }
            fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
                $fwd!(self, checkpoint_at(size))
            }
            fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
                $fwd!(self, checkpoints())
            }
            fn cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError> {
                $fwd!(self, cosignatures(size))
            }
            fn witnesses(&self) -> Result<Vec<StoredWitness>, StoreError> {
                $fwd!(self, witnesses())
            }
            fn witness_quorum(&self) -> Result<u64, StoreError> {
                $fwd!(self, witness_quorum())
            }
            fn latest_published(&self, q: u64) -> Result<Option<u64>, StoreError> {
                $fwd!(self, latest_published(q))
            }
            fn document(&self, h: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
                $fwd!(self, document(h))
            }
            fn for_each_document(
                &self,
                f: &mut dyn FnMut(Hash, Vec<u8>) -> Result<(), StoreError>,
            ) -> Result<(), StoreError> {
                $fwd!(self, for_each_document(f))
            }
        }
    };
}

/// Calls a method on the backend store of a [`LedgerStore`].
macro_rules! fwd_store {
    ($s:expr, $($call:tt)+) => {
        each!($s, inner => inner.$($call)+)
    };
}

/// Calls a method on the transaction behind a [`LedgerTx`].
macro_rules! fwd_tx {
    ($s:expr, $($call:tt)+) => {
        $s.0.$($call)+
    };
}

forward_reads!(LedgerStore, fwd_store);
forward_reads!(LedgerTx<'_>, fwd_tx);

impl StoreWrite for LedgerTx<'_> {
    fn append(&mut self, entries: &[NewEntry]) -> Result<Vec<u64>, StoreError> {
        self.0.append(entries)
    }
    fn add_log_key(&mut self, key: &VerifyingKey) -> Result<u64, StoreError> {
        self.0.add_log_key(key)
    }
    fn add_signer_rule(&mut self, rule: &SignerRule) -> Result<bool, StoreError> {
        self.0.add_signer_rule(rule)
    }
    fn add_witness(&mut self, witness: &StoredWitness) -> Result<(), StoreError> {
        self.0.add_witness(witness)
    }
    fn set_witness_quorum(&mut self, quorum: u64) -> Result<(), StoreError> {
        self.0.set_witness_quorum(quorum)
    }
    fn publish(&mut self, size: u64, quorum: u64) -> Result<(), StoreError> {
        self.0.publish(size, quorum)
    }
    fn add_checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        self.0.add_checkpoint(cp)
    }
    fn add_cosignatures(
        &mut self,
        size: u64,
        lines: &[String],
        max_lines: usize,
    ) -> Result<usize, StoreError> {
        self.0.add_cosignatures(size, lines, max_lines)
    }
}

impl Store for LedgerStore {
    type Tx<'a> = LedgerTx<'a>;

    fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut LedgerTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        each!(self, s => s.write(|tx| f(&mut LedgerTx(tx))))
    }

    fn read_snapshot<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Self) -> Result<T, E>,
    ) -> Result<T, E> {
        each!(self, s => s.read_snapshot(|_| f(self)))
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        each!(self, s => s.check_writable())
    }
}
