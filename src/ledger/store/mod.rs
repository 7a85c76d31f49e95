//! Ledger storage: statements, stored Merkle nodes, signer keys, the registration policy, cited
//! documents and signed checkpoints.
//!
//! The [`Store`] trait is the whole interface the ledger needs, so that another backend
//! (PostgreSQL, a static tile export) can follow without touching the formats or the verifier.
//! Reads go through [`StoreRead`]; every write runs inside [`Store::write`], one transaction in
//! which the ledger's admission checks read exactly the state the append extends. The trait is
//! synchronous (`specs/store.md` says why). [`SqliteStore`] is the embedded default and
//! [`MemoryStore`] keeps a ledger in memory; both pass the same conformance suite
//! (`tests/store_conformance.rs`).

mod any;
mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
mod sqlite;

pub use any::{LedgerStore, LedgerTx, Location, STORE_FILE, locate, use_store_url};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use sqlite::{DB_FILE, SqliteStore};

use ed25519_dalek::VerifyingKey;

use crate::keys::KeyId;
use crate::merkle::{Hash, NodeSource};

/// A statement ready to append, with the header fields the store indexes.
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// The tagged COSE_Sign1 bytes.
    pub statement: Vec<u8>,
    /// SHA-256 of `statement`.
    pub entry_hash: Hash,
    /// Evidence kind.
    pub kind: String,
    /// CWT iss.
    pub issuer: String,
    /// CWT sub.
    pub subject: String,
    /// CWT iat.
    pub issued_at: u64,
    /// The signer's public key (its kid is in the statement).
    pub signer: VerifyingKey,
    /// Entry hashes the evidence cites (indexed so that citing entries can be found).
    pub references: Vec<Hash>,
    /// Documents the evidence cites by SHA-256 whose bytes the ledger keeps (e.g. a Sigstore
    /// bundle), stored in the same transaction as the entry, keyed by their SHA-256.
    pub documents: Vec<Vec<u8>>,
}

/// A stored entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// Position in the log (leaf index).
    pub index: u64,
    /// SHA-256 of the statement.
    pub entry_hash: Hash,
    /// Evidence kind.
    pub kind: String,
    /// CWT iss.
    pub issuer: String,
    /// CWT sub.
    pub subject: String,
    /// CWT iat.
    pub issued_at: u64,
    /// The tagged COSE_Sign1 bytes.
    pub statement: Vec<u8>,
}

/// A stored signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size it commits to.
    pub size: u64,
    /// Root hash at that size.
    pub root: Hash,
    /// The C2SP signed note text: the note as the log signed it, then every cosignature line
    /// collected for this checkpoint, in the order collected.
    pub note: String,
}

/// Identity of a ledger, fixed at creation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerInfo {
    /// Checkpoint origin (the log key's name).
    pub origin: String,
    /// The log's Ed25519 public key.
    pub log_key: VerifyingKey,
}

/// A witness the operator configured: the ledger stores only cosignatures that verify under a
/// configured witness's key, and the service asks configured witnesses for cosignatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredWitness {
    /// The witness's name, the key name of its cosignature verifier key.
    pub name: String,
    /// Its Ed25519 public key.
    pub key: VerifyingKey,
    /// Where it can be asked for cosignatures, if the operator gave one.
    pub url: Option<String>,
}

/// Who may register statements of a kind: one rule of the registration policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerRule {
    /// The evidence kind the rule admits.
    pub kind: String,
    /// The signers it admits.
    pub signer: RuleSigner,
}

/// The signers a [`SignerRule`] admits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleSigner {
    /// Statements signed by this key (pinned by its key id).
    Key(VerifyingKey),
    /// Statements whose x5chain leads, leaf first, to this DER root certificate.
    X509Root(Vec<u8>),
}

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage backend reported an error.
    #[error("ledger database: {0}")]
    Backend(String),
    /// The ledger can be read but not written (a read-only mount, or another user's files).
    #[error("the ledger at {0} is read-only: it can be read, audited and exported, not written")]
    ReadOnly(std::path::PathBuf),
    /// The statement is already in the ledger.
    #[error("duplicate statement: entry {} is already in the ledger at index {index}", crate::hex::encode(.entry_hash))]
    Duplicate {
        /// The entry hash.
        entry_hash: Hash,
        /// Where it already is.
        index: u64,
    },
    /// No ledger at the path.
    #[error("no ledger at {0}")]
    NotFound(std::path::PathBuf),
    /// A ledger already exists at the path.
    #[error("a ledger already exists at {0}")]
    Exists(std::path::PathBuf),
    /// The file is not an evledger database of a version this program reads.
    #[error("{path}: not an evledger ledger database ({reason})")]
    NotALedger {
        /// The database file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// Stored data contradicts itself (found while reading, not by a full audit).
    #[error("ledger is inconsistent: {0}")]
    Corrupt(String),
    /// A checkpoint for a smaller tree than the latest was offered.
    #[error("checkpoint for size {offered} is older than the latest checkpoint (size {latest})")]
    CheckpointRegression {
        /// Size offered.
        offered: u64,
        /// Size of the latest stored checkpoint.
        latest: u64,
    },
    /// No checkpoint of that size is stored.
    #[error("no checkpoint of size {size} is stored in the ledger")]
    NoCheckpoint {
        /// The size asked for.
        size: u64,
    },
    /// Storing the cosignatures would give the checkpoint's note more signature lines than a
    /// note may have (nothing is stored then).
    #[error(
        "checkpoint {size} would have {count} cosignature lines, more than the {max} its note has room for"
    )]
    TooManyCosignatures {
        /// The checkpoint's size.
        size: u64,
        /// Cosignature lines it would have.
        count: usize,
        /// The most it may have.
        max: usize,
    },
    /// A configured witness already has this name or this key (a key under two names would
    /// count twice toward nothing but confusion: a cosignature does not sign the name).
    #[error("the configured witness {existing:?} already has this {what}")]
    WitnessConflict {
        /// The name of the witness already configured.
        existing: String,
        /// `name` or `key`.
        what: &'static str,
    },
    /// A witness quorum below the current one: the quorum never decreases.
    #[error(
        "the witness quorum is {current}; it never decreases, so it cannot be set to {requested}"
    )]
    QuorumDecrease {
        /// The current quorum.
        current: u64,
        /// The value refused.
        requested: u64,
    },
    /// An index or size beyond the log.
    #[error("{what} {value} is beyond the log (size {size})")]
    OutOfRange {
        /// What was asked for.
        what: &'static str,
        /// The value asked for.
        value: u64,
        /// The log's size.
        size: u64,
    },
}

/// Everything the ledger reads; stored Merkle nodes are read through [`NodeSource`].
pub trait StoreRead: NodeSource<Error = StoreError> {
    /// The ledger's identity.
    ///
    /// # Errors
    /// On read failure.
    fn info(&self) -> Result<LedgerInfo, StoreError>;
    /// The number of entries.
    ///
    /// # Errors
    /// On read failure.
    fn size(&self) -> Result<u64, StoreError>;
    /// Reads the entry at `index`.
    ///
    /// # Errors
    /// [`StoreError::OutOfRange`] or a read failure.
    fn entry(&self, index: u64) -> Result<StoredEntry, StoreError>;
    /// Finds an entry by its hash.
    ///
    /// # Errors
    /// On read failure.
    fn find(&self, entry_hash: &Hash) -> Result<Option<StoredEntry>, StoreError>;
    /// Calls `f` for every entry in index order.
    ///
    /// # Errors
    /// On read failure or the first error `f` returns.
    fn for_each_entry(
        &self,
        f: &mut dyn FnMut(StoredEntry) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Calls `f` for every entry at an index in `from .. below` whose kind is one of `kinds`, in
    /// index order (how the ledger finds the entries that may be adverse, `specs/completeness.md`).
    ///
    /// # Errors
    /// On read failure or the first error `f` returns.
    fn for_each_entry_of_kinds(
        &self,
        kinds: &[&str],
        from: u64,
        below: u64,
        f: &mut dyn FnMut(StoredEntry) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Indexes of the entries that cite `target`, ascending.
    ///
    /// # Errors
    /// On read failure.
    fn citing(&self, target: &Hash) -> Result<Vec<u64>, StoreError>;
    /// Log keys added after creation, with the log size at which each was added, in that order.
    ///
    /// # Errors
    /// On read failure.
    fn added_log_keys(&self) -> Result<Vec<(VerifyingKey, u64)>, StoreError>;
    /// Whether the refs index records that entry `source` cites `target`.
    ///
    /// # Errors
    /// On read failure.
    fn has_ref(&self, target: &Hash, source: u64) -> Result<bool, StoreError>;
    /// The number of rows in the refs index.
    ///
    /// # Errors
    /// On read failure.
    fn ref_count(&self) -> Result<u64, StoreError>;
    /// The stored nodes `(level, from)` to `(level, from + count - 1)`, in index order: a tile
    /// of the log (`specs/service.md`, "Tiles") in one read.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming the first node missing; a read failure.
    fn node_range(&self, level: u32, from: u64, count: u64) -> Result<Vec<Hash>, StoreError>;
    /// The entry hashes of the entries at indexes `from` to `from + count - 1`, in index order:
    /// an entry bundle of the log in one read.
    ///
    /// # Errors
    /// [`StoreError::OutOfRange`] if the range reaches past the log; a read failure.
    fn entry_hash_range(&self, from: u64, count: u64) -> Result<Vec<Hash>, StoreError>;
    /// The entries at indexes `from` to `from + count - 1`, in index order, stopping before the
    /// first that is not stored (so fewer than `count` when the range reaches past the log).
    /// This default reads them one by one; a store whose reads are round trips to a server
    /// reads them in one.
    ///
    /// # Errors
    /// A read failure.
    fn entry_range(&self, from: u64, count: u64) -> Result<Vec<StoredEntry>, StoreError> {
        let mut out = Vec::new();
        for index in from..from.saturating_add(count) {
            match self.entry(index) {
                Ok(e) => out.push(e),
                Err(StoreError::OutOfRange { .. }) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
    /// The number of stored nodes.
    ///
    /// # Errors
    /// On read failure.
    fn node_count(&self) -> Result<u64, StoreError>;
    /// The public key registered for a signer's kid.
    ///
    /// # Errors
    /// On read failure.
    fn signer_key(&self, kid: &KeyId) -> Result<Option<VerifyingKey>, StoreError>;
    /// The rules of the registration policy, in the order they were added.
    ///
    /// # Errors
    /// On read failure.
    fn signer_rules(&self) -> Result<Vec<SignerRule>, StoreError>;
    /// The newest checkpoint.
    ///
    /// # Errors
    /// On read failure.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// The checkpoint of this size, if one is stored.
    ///
    /// # Errors
    /// On read failure.
    fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// Every stored checkpoint, by size.
    ///
    /// # Errors
    /// On read failure.
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError>;
    /// The cosignature lines collected for the checkpoint of this size, in the order collected.
    ///
    /// # Errors
    /// On read failure.
    fn cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError>;
    /// The configured witnesses, in the order they were added (none for a ledger that predates
    /// the table).
    ///
    /// # Errors
    /// On read failure.
    fn witnesses(&self) -> Result<Vec<StoredWitness>, StoreError>;
    /// The witness quorum: the latest value set with [`StoreWrite::set_witness_quorum`], or 0
    /// (every checkpoint is published) if none was ever set.
    ///
    /// # Errors
    /// On read failure.
    fn witness_quorum(&self) -> Result<u64, StoreError>;
    /// The size of the largest checkpoint published under a quorum of at least `min_quorum`
    /// ([`StoreWrite::publish`]), if any.
    ///
    /// # Errors
    /// On read failure.
    fn latest_published(&self, min_quorum: u64) -> Result<Option<u64>, StoreError>;
    /// The stored document with this SHA-256, if any.
    ///
    /// # Errors
    /// On read failure.
    fn document(&self, sha256: &Hash) -> Result<Option<Vec<u8>>, StoreError>;
    /// Calls `f` with the key and bytes of every stored document, by key.
    ///
    /// # Errors
    /// On read failure or the first error `f` returns.
    fn for_each_document(
        &self,
        f: &mut dyn FnMut(Hash, Vec<u8>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
}

/// The writes, available only inside [`Store::write`]; reads inside it see the writes made so
/// far in the same transaction.
pub trait StoreWrite: StoreRead {
    /// Appends statements at the next indexes, updating the stored nodes, the signers and refs
    /// indexes and the documents; returns their indexes.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] or a write failure; the transaction must then be abandoned.
    fn append(&mut self, entries: &[NewEntry]) -> Result<Vec<u64>, StoreError>;
    /// Registers an additional log key (a rotation); returns the log size at which it was added.
    ///
    /// # Errors
    /// If the key is already registered, or on write failure.
    fn add_log_key(&mut self, key: &VerifyingKey) -> Result<u64, StoreError>;
    /// Adds a rule to the registration policy; returns false if it was already there.
    ///
    /// # Errors
    /// On write failure.
    fn add_signer_rule(&mut self, rule: &SignerRule) -> Result<bool, StoreError>;
    /// Adds a witness to the configured ones; a witness is never changed or removed.
    ///
    /// # Errors
    /// [`StoreError::WitnessConflict`] when a configured witness has the same name or key; a
    /// write failure.
    fn add_witness(&mut self, witness: &StoredWitness) -> Result<(), StoreError>;
    /// Records a new witness quorum; the quorum never decreases, and every value set is kept.
    ///
    /// # Errors
    /// [`StoreError::QuorumDecrease`] for a value below the current quorum; a write failure.
    fn set_witness_quorum(&mut self, quorum: u64) -> Result<(), StoreError>;
    /// Records that the stored checkpoint of `size` is published: cosigned by `quorum`
    /// configured witnesses, the quorum at the time. Recording it again changes nothing. The
    /// store does not count cosignatures: the caller has.
    ///
    /// # Errors
    /// [`StoreError::NoCheckpoint`]; a write failure.
    fn publish(&mut self, size: u64, quorum: u64) -> Result<(), StoreError>;
    /// Stores a checkpoint unless one for a larger size exists (compare-and-swap on the latest
    /// size); storing the latest size again keeps the stored note.
    ///
    /// # Errors
    /// [`StoreError::CheckpointRegression`], [`StoreError::OutOfRange`] for a size beyond the
    /// log, or a write failure.
    fn add_checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<(), StoreError>;
    /// Stores cosignature lines (without their newline) for the stored checkpoint of `size`,
    /// ignoring lines already stored for it; returns how many were new. The store does not
    /// check signatures: the caller has checked that the lines belong to this checkpoint's text.
    ///
    /// # Errors
    /// [`StoreError::NoCheckpoint`]; [`StoreError::TooManyCosignatures`] when the checkpoint would
    /// then have more than `max_lines` cosignature lines; a write failure.
    fn add_cosignatures(
        &mut self,
        size: u64,
        lines: &[String],
        max_lines: usize,
    ) -> Result<usize, StoreError>;
}

/// A ledger's storage: consistent reads, and writes that are all or nothing.
pub trait Store: StoreRead {
    /// The transaction handle [`Store::write`] passes to its closure.
    type Tx<'a>: StoreWrite
    where
        Self: 'a;

    /// Runs `f` in one write transaction, which excludes every other writer of the ledger from
    /// its first read to its end: committed durably if `f` returns `Ok`, rolled back (nothing
    /// written) if it returns `Err`.
    ///
    /// # Errors
    /// `f`'s error, [`StoreError::ReadOnly`], or a failure to begin or commit.
    fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Self::Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E>;

    /// Runs `f` against one consistent snapshot of the ledger.
    ///
    /// # Errors
    /// `f`'s error, or a failure to begin the snapshot.
    fn read_snapshot<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Self) -> Result<T, E>,
    ) -> Result<T, E>;

    /// Fails as [`Store::write`] would on a store opened read-only, so that a caller can refuse
    /// before doing work (or changing files) that only a write would need.
    ///
    /// # Errors
    /// [`StoreError::ReadOnly`].
    fn check_writable(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Appends statements in one transaction; see [`StoreWrite::append`].
    ///
    /// # Errors
    /// As [`StoreWrite::append`]; nothing is written on error.
    fn append_batch(&mut self, entries: &[NewEntry]) -> Result<Vec<u64>, StoreError> {
        self.write(|tx| tx.append(entries))
    }

    /// Registers an additional log key in one transaction; see [`StoreWrite::add_log_key`].
    ///
    /// # Errors
    /// As [`StoreWrite::add_log_key`].
    fn add_log_key(&mut self, key: &VerifyingKey) -> Result<u64, StoreError> {
        self.write(|tx| tx.add_log_key(key))
    }

    /// Stores a checkpoint in one transaction; see [`StoreWrite::add_checkpoint`].
    ///
    /// # Errors
    /// As [`StoreWrite::add_checkpoint`].
    fn add_checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<(), StoreError> {
        self.write(|tx| tx.add_checkpoint(cp))
    }

    /// Stores cosignature lines in one transaction; see [`StoreWrite::add_cosignatures`].
    ///
    /// # Errors
    /// As [`StoreWrite::add_cosignatures`]; nothing is stored on error.
    fn add_cosignatures(
        &mut self,
        size: u64,
        lines: &[String],
        max_lines: usize,
    ) -> Result<usize, StoreError> {
        self.write(|tx| tx.add_cosignatures(size, lines, max_lines))
    }

    /// Adds a witness in one transaction; see [`StoreWrite::add_witness`].
    ///
    /// # Errors
    /// As [`StoreWrite::add_witness`].
    fn add_witness(&mut self, witness: &StoredWitness) -> Result<(), StoreError> {
        self.write(|tx| tx.add_witness(witness))
    }

    /// Adds a registration-policy rule in one transaction; see [`StoreWrite::add_signer_rule`].
    ///
    /// # Errors
    /// As [`StoreWrite::add_signer_rule`].
    fn add_signer_rule(&mut self, rule: &SignerRule) -> Result<bool, StoreError> {
        self.write(|tx| tx.add_signer_rule(rule))
    }
}
