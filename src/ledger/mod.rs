//! The operator's side: a [`Ledger`] over any [`Store`], with registration as the one way in,
//! checkpoints, proofs, export and audit. The embedded default is one directory holding the
//! SQLite database ([`crate::store::DB_FILE`]) and the log's private key ([`LOG_KEY_FILE`]).

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

use crate::checkpoint::Checkpoint;
use crate::evidence::key_standing;
use crate::evidence::{Evidence, Kind};
use crate::keys::{self, KeyError, KeyId};
use crate::merkle::{self, ConsistencyProof, Hash, InclusionProof};
use crate::note::NoteVerifier;
use crate::statement;
use crate::store::{
    LedgerInfo, LedgerStore, Location, MemoryStore, NewEntry, Store, StoreError, StoreRead,
    StoreWrite, StoredCheckpoint, StoredEntry,
};

pub(crate) mod adverse;
pub mod audit;
pub mod audit_bundle;
mod certificates;
pub mod cosignatures;
pub mod export;
mod log_keys;
pub mod publish;
mod receipts;
mod recompute;
mod register;
pub mod store;
pub mod trust_init;
pub mod witnesses;

pub use crate::statement::Signer;
pub use certificates::{X5Chain, load_x5chain};
pub use receipts::CoseReceipt;
pub use recompute::TreeDamage;
pub use register::{RegisterError, RegisterOptions, Registered, Submission};

/// File name of the log's private key inside a ledger directory.
pub const LOG_KEY_FILE: &str = "log.key";

/// Errors of ledger operations.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Storage failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key file could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The origin is not a valid C2SP key name.
    #[error("origin {origin:?}: {reason}")]
    Origin {
        /// The origin given.
        origin: String,
        /// Why it is refused.
        reason: String,
    },
    /// The ledger directory could not be created.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A cited entry does not exist or has a kind the citation does not allow.
    #[error("{path}: {reason}")]
    Reference {
        /// Field path of the citation.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The statement cannot be signed (an empty issuer or subject, or too large).
    #[error(transparent)]
    Sign(#[from] statement::SignError),
    /// The log key in the directory is not the key the database was created with.
    #[error("{path}: this is not the log key of this ledger")]
    WrongLogKey {
        /// The key file.
        path: PathBuf,
    },
    /// Signing or reading a checkpoint failed.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The signer key was revoked or rotated away by a key event in this ledger.
    #[error(
        "signer key {kid} was {what}d by the key event at entry {event}; sign with its successor"
    )]
    KeyRevoked {
        /// The key id.
        kid: String,
        /// Index of the key event.
        event: u64,
        /// The event type (revoke or rotate).
        what: &'static str,
    },
    /// A log key rotation was refused.
    #[error("log key: {0}")]
    LogKey(String),
    /// A signer certificate is unusable.
    #[error("certificate: {0}")]
    Certificate(String),
    /// The entry named is not in the ledger.
    #[error("no entry {0} in the ledger")]
    NoSuchEntry(String),
    /// A statement to append is one the verifier would refuse (e.g. over the size limit).
    #[error(transparent)]
    Statement(#[from] statement::StatementError),
    /// A statement's payload is not valid evidence of its kind.
    #[error("payload: {0}")]
    Payload(String),
    /// A cited Sigstore bundle is missing or does not verify.
    #[error("sigstore: {0}")]
    Sigstore(String),
    /// A statement's signature does not verify under its signer's key.
    #[error("signature: {0}")]
    Signature(String),
    /// The ledger does not know the public key of a statement's kid.
    #[error(
        "unknown signer: no key with kid {kid} (issuer {issuer:?}) is pinned in the registration policy, carried in the statement's certificate, or introduced by a key event"
    )]
    UnknownSigner {
        /// The statement's key id.
        kid: String,
        /// The statement's issuer.
        issuer: String,
        /// The statement's kind.
        kind: String,
    },
    /// The registration policy does not admit the signer for the statement's kind.
    #[error("signer {kid} (issuer {issuer:?}) may not register {kind} statements in this ledger")]
    NotAdmitted {
        /// The signer's key id.
        kid: String,
        /// The statement's issuer.
        issuer: String,
        /// The statement's kind.
        kind: String,
    },
    /// No proof exists for the sizes or entry asked for (a bad request, not a damaged ledger).
    #[error("{0}")]
    NoProof(String),
    /// The stored tree is not what the entries and the latest signed checkpoint recompute to, so
    /// the write was refused and nothing was signed or appended.
    #[error("refusing to {refused}: the stored log is damaged: {damage}")]
    Damaged {
        /// What was refused ("sign a checkpoint", "append").
        refused: &'static str,
        /// The first inconsistency found.
        damage: TreeDamage,
    },
}

/// Where a new entry landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Its index in the log.
    pub index: u64,
    /// Its entry hash.
    pub entry_hash: Hash,
    /// Whether recording added the signer's key to the registration policy for the kind (the
    /// key was not admitted yet, and holding it is the permission).
    pub admitted: bool,
}

/// An inclusion proof with what it proves.
#[derive(Clone, Debug)]
pub struct Inclusion {
    /// The entry's index.
    pub index: u64,
    /// The tree size the proof is for.
    pub size: u64,
    /// The entry hash.
    pub entry_hash: Hash,
    /// The RFC 9162 leaf hash.
    pub leaf_hash: Hash,
    /// The root at `size`.
    pub root: Hash,
    /// The audit path.
    pub proof: InclusionProof,
}

/// An open ledger over a store (the store its directory names unless said otherwise: the
/// embedded SQLite database, or PostgreSQL, see [`crate::store::locate`]).
pub struct Ledger<S = LedgerStore> {
    store: S,
    info: LedgerInfo,
    log_keys: LogKeyring,
}

/// Where the private halves of a ledger's log keys are.
pub enum LogKeyring {
    /// Key files in the ledger directory: `log.key` for the key the ledger was created with,
    /// `log-<kid prefix>.key` for later ones; a retired key's file is renamed `*.retired`.
    Dir(PathBuf),
    /// Keys held in memory, for a ledger over a [`MemoryStore`] or another store without a
    /// directory.
    Memory(Vec<SigningKey>),
}

/// Checks a C2SP key name: non-empty, printable, no white space and no `+`.
fn check_origin(origin: &str) -> Result<(), LedgerError> {
    let bad = |reason: &str| LedgerError::Origin {
        origin: origin.to_owned(),
        reason: reason.to_owned(),
    };
    if origin.is_empty() {
        return Err(bad("must not be empty"));
    }
    if origin
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err(bad(
            "must not contain white space, control characters or '+'",
        ));
    }
    Ok(())
}

impl Ledger<LedgerStore> {
    /// Creates a ledger in `dir` with a fresh log key named `origin`; `dir` is created if needed.
    ///
    /// # Errors
    /// [`StoreError::Exists`] if `dir` already holds a ledger or a log key; nothing is changed then.
    pub fn init(dir: &Path, origin: &str) -> Result<Ledger, LedgerError> {
        Self::init_with_key(dir, origin, None)
    }

    /// Creates a ledger as [`Ledger::init`] does, signing checkpoints with `log_key` if given
    /// (copied into the ledger directory) instead of a fresh key.
    ///
    /// # Errors
    /// As [`Ledger::init`].
    pub fn init_with_key(
        dir: &Path,
        origin: &str,
        log_key: Option<SigningKey>,
    ) -> Result<Ledger, LedgerError> {
        check_origin(origin)?;
        std::fs::create_dir_all(dir).map_err(|source| LedgerError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let key_path = dir.join(LOG_KEY_FILE);
        let location = crate::store::locate(dir)?;
        if key_path.exists()
            || matches!(location, Location::Sqlite(_)) && dir.join(crate::store::DB_FILE).exists()
        {
            return Err(StoreError::Exists(dir.to_path_buf()).into());
        }
        let log_key = match log_key {
            Some(k) => k,
            None => keys::generate()?,
        };
        keys::write_key_pair(&key_path, &log_key)?;
        let info = LedgerInfo {
            origin: origin.to_owned(),
            log_key: log_key.verifying_key(),
        };
        match create_or_join(dir, &location, &info) {
            Ok(store) => Ok(Ledger {
                store,
                info,
                log_keys: LogKeyring::Dir(dir.to_path_buf()),
            }),
            Err(e) => {
                // Without a database the key is useless; remove it so init can be run again.
                let _ = std::fs::remove_file(&key_path);
                let _ = std::fs::remove_file(keys::public_path(&key_path));
                Err(e)
            }
        }
    }

    /// Opens the ledger in `dir`, for reading and writing if this process may write it, else
    /// read-only (see [`SqliteStore::open`]).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is none.
    pub fn open(dir: &Path) -> Result<Ledger, LedgerError> {
        Self::over(LedgerStore::open(&crate::store::locate(dir)?)?, dir)
    }

    /// Opens the ledger in `dir` for reading only, even if it could be written: every write
    /// through it fails with [`StoreError::ReadOnly`] (see [`SqliteStore::open_read_only`]).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is none.
    pub fn open_read_only(dir: &Path) -> Result<Ledger, LedgerError> {
        Self::over(
            LedgerStore::open_read_only(&crate::store::locate(dir)?)?,
            dir,
        )
    }

    fn over(store: LedgerStore, dir: &Path) -> Result<Ledger, LedgerError> {
        let info = store.info()?;
        Ok(Ledger {
            store,
            info,
            log_keys: LogKeyring::Dir(dir.to_path_buf()),
        })
    }
}

impl Ledger<LedgerStore> {
    /// Signs evidence as a statement ready to append; see [`new_entry`].
    ///
    /// # Errors
    /// As [`new_entry`].
    pub fn sign(
        evidence: &Evidence,
        signer: &Signer<'_>,
        issued_at: u64,
    ) -> Result<NewEntry, LedgerError> {
        new_entry(evidence, signer, issued_at)
    }
}

/// Creates the ledger's store at `location`. A PostgreSQL database that already holds a ledger
/// with this very identity (origin and log key) is joined instead: another service instance's
/// directory, holding the same log key, is being set up. A PostgreSQL ledger's directory gets
/// [`crate::store::STORE_FILE`] naming the database.
fn create_or_join(
    dir: &Path,
    location: &Location,
    info: &LedgerInfo,
) -> Result<LedgerStore, LedgerError> {
    let store = match LedgerStore::create(location, info) {
        Err(StoreError::Exists(at)) if matches!(location, Location::Postgres(_)) => {
            let store = LedgerStore::open(location)?;
            if store.info()? != *info {
                return Err(StoreError::Exists(at).into());
            }
            store
        }
        created => created?,
    };
    if let Location::Postgres(url) = location {
        let path = dir.join(crate::store::STORE_FILE);
        write_private(&path, format!("{url}\n").as_bytes())
            .map_err(|source| LedgerError::Io { path, source })?;
    }
    Ok(store)
}

/// Writes a file only its owner may read (it may hold a database password).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

impl Ledger<MemoryStore> {
    /// A new ledger in memory whose checkpoints `log_key` signs, with origin `origin`.
    ///
    /// # Errors
    /// [`LedgerError::Origin`] for an origin that is not a valid key name.
    pub fn in_memory(origin: &str, log_key: SigningKey) -> Result<Self, LedgerError> {
        check_origin(origin)?;
        let info = LedgerInfo {
            origin: origin.to_owned(),
            log_key: log_key.verifying_key(),
        };
        Ok(Ledger {
            store: MemoryStore::new(info.clone()),
            info,
            log_keys: LogKeyring::Memory(vec![log_key]),
        })
    }
}

impl<S: Store> Ledger<S> {
    /// A ledger over an existing store whose log keys are in `log_keys`.
    ///
    /// # Errors
    /// On read failure.
    pub fn with_store(store: S, log_keys: LogKeyring) -> Result<Self, LedgerError> {
        let info = store.info()?;
        Ok(Ledger {
            store,
            info,
            log_keys,
        })
    }

    /// The ledger's identity (origin and log public key).
    pub fn info(&self) -> &LedgerInfo {
        &self.info
    }

    /// The store, for reads.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, for writes that do not go through the operations above.
    pub(crate) fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The log's C2SP verifier key.
    ///
    /// # Errors
    /// If the stored origin is not a valid key name.
    pub fn log_verifier(&self) -> Result<NoteVerifier, LedgerError> {
        NoteVerifier::new(&self.info.origin, self.info.log_key)
            .map_err(|e| LedgerError::Checkpoint(e.to_string()))
    }

    /// Refuses a signer key that this ledger's key events have revoked or rotated away: an entry
    /// it signed now would fail verification for a buyer who trusts those events. The events
    /// are judged by `key_standing::recorded_end`; the ledger only fetches them.
    ///
    /// # Errors
    /// [`LedgerError::KeyRevoked`].
    pub fn check_signer_standing(
        &self,
        key: &ed25519_dalek::VerifyingKey,
    ) -> Result<(), LedgerError> {
        check_standing(&self.store, key, self.store.size()?)
    }

    /// Checks that every entry the evidence cites exists and is of an allowed kind.
    ///
    /// # Errors
    /// [`LedgerError::Reference`] for the first citation that does not resolve.
    pub fn check_references(&self, evidence: &Evidence) -> Result<(), LedgerError> {
        register::check_references(&self.store, evidence)
    }

    /// Validates references, signs and appends one piece of evidence.
    ///
    /// # Errors
    /// Reference, signing or storage errors; nothing is written on error.
    pub fn record(
        &mut self,
        evidence: &Evidence,
        signer: &Signer<'_>,
        issued_at: u64,
    ) -> Result<Recorded, LedgerError> {
        self.record_with_documents(evidence, signer, issued_at, Vec::new())
    }

    /// Records evidence as [`Ledger::record`] does, keeping `documents` (files the evidence cites
    /// by SHA-256, such as a Sigstore bundle) in the same transaction as the entry, so that
    /// `evledger bundle` can attach them. Recording is signing and then [`Ledger::register`], with
    /// the signer's key as the caller's local key.
    ///
    /// # Errors
    /// As [`Ledger::record`]; [`LedgerError::Reference`] for a document the evidence does not
    /// cite by digest. Nothing is written on error.
    pub fn record_with_documents(
        &mut self,
        evidence: &Evidence,
        signer: &Signer<'_>,
        issued_at: u64,
        documents: Vec<Vec<u8>>,
    ) -> Result<Recorded, LedgerError> {
        self.record_with(evidence, signer, issued_at, documents, false)
    }

    /// Records evidence as [`Ledger::record_with_documents`] does; with `dry_run`, runs every
    /// check and writes nothing.
    ///
    /// # Errors
    /// As [`Ledger::record_with_documents`].
    pub fn record_with(
        &mut self,
        evidence: &Evidence,
        signer: &Signer<'_>,
        issued_at: u64,
        documents: Vec<Vec<u8>>,
        dry_run: bool,
    ) -> Result<Recorded, LedgerError> {
        let entry = new_entry(evidence, signer, issued_at)?;
        let options = RegisterOptions {
            dry_run,
            local_key: Some(signer.key.verifying_key()),
            documents: None,
        };
        let submission = Submission {
            statement: entry.statement,
            documents,
        };
        let done = self
            .register(std::slice::from_ref(&submission), &options)
            .map_err(|e| e.error)?;
        let r = done.into_iter().next().ok_or_else(|| {
            LedgerError::Store(StoreError::Corrupt(
                "registration of one statement returned none".into(),
            ))
        })?;
        Ok(Recorded {
            index: r.index,
            entry_hash: r.entry_hash,
            admitted: r.admitted.is_some(),
        })
    }

    /// Appends already signed statements in one transaction, after checking, in it, that the
    /// stored tree they extend is consistent with the latest signed checkpoint
    /// (`specs/store.md`, "Fail-closed writes").
    ///
    /// # Errors
    /// [`LedgerError::Statement`] for a statement over [`statement::MAX_STATEMENT_LEN`] bytes,
    /// which audit and every verifier would refuse for ever after; [`LedgerError::Damaged`];
    /// storage errors. Nothing is written on error.
    pub fn append(&mut self, entries: &[NewEntry]) -> Result<Vec<u64>, LedgerError> {
        if let Some(e) = entries
            .iter()
            .find(|e| e.statement.len() > statement::MAX_STATEMENT_LEN)
        {
            return Err(statement::StatementError::TooLarge(e.statement.len()).into());
        }
        let info = &self.info;
        // The check reads through the append's own transaction, which excludes other writers:
        // the nodes it checks are the nodes the append extends.
        self.store.write(|tx| {
            recompute::check_append(&*tx, info)?;
            Ok(tx.append(entries)?)
        })
    }

    /// Signs and stores a checkpoint over the whole log, or returns the latest if the log has not
    /// grown since it.
    ///
    /// Once the log holds an adverse entry, the log first appends its adverse index (an
    /// `adverse-index` statement signed with the log key, committing to every adverse entry
    /// before it) unless the last entry already is one, in the same transaction, so that the
    /// checkpoint covers it (`specs/completeness.md`).
    ///
    /// The root signed is recomputed, never read: from the statements appended since the latest
    /// checkpoint and the stored nodes at its size, which must fold to its signed root; every node
    /// those statements complete must equal the stored one (`specs/store.md`, "Fail-closed
    /// writes").
    ///
    /// # Errors
    /// [`StoreError::ReadOnly`]; [`LedgerError::Damaged`] naming the first inconsistency (nothing
    /// is signed then); key, signing or storage errors.
    pub fn checkpoint(&mut self) -> Result<StoredCheckpoint, LedgerError> {
        self.sign_checkpoint(false)
    }

    /// Signs and stores a checkpoint as [`Ledger::checkpoint`] does, whose last entry is always
    /// the log's adverse index, even one committing to no adverse entry: the checkpoint a bundle
    /// needs to show completeness. Returns the latest checkpoint if it already is one.
    ///
    /// # Errors
    /// As [`Ledger::checkpoint`].
    pub fn anchored_checkpoint(&mut self) -> Result<StoredCheckpoint, LedgerError> {
        self.sign_checkpoint(true)
    }

    fn sign_checkpoint(&mut self, always_index: bool) -> Result<StoredCheckpoint, LedgerError> {
        let size = self.store.size()?;
        if let Some(latest) = self.store.latest_checkpoint()?
            && latest.size == size
            && (adverse::anchored(&self.store, size)?
                || !(always_index || adverse::has_adverse(&self.store, size)?))
        {
            return Ok(latest);
        }
        self.store.check_writable()?;
        let signers = self.log_signers()?;
        let index_key = self.index_key()?;
        let info = &self.info;
        // One write transaction: the adverse index is appended as the last entry and the
        // checkpoint signed over exactly that tree, so no other writer can slip an entry between
        // the index and the checkpoint it anchors.
        self.store.write(|tx| {
            // The root signed is recomputed from the entries, never read; the same recomputation
            // checks every row the index would extend, so damage is refused before anything is
            // appended.
            let mut head = recompute::head(&*tx, info)?;
            if !adverse::anchored(&*tx, head.size)? {
                let (entry, count) = adverse::next_index(&*tx, info, &index_key, head.size)?;
                if always_index || count > 0 {
                    tx.append(std::slice::from_ref(&entry))?;
                    head = recompute::head(&*tx, info)?;
                }
            }
            let (size, root) = (head.size, head.hash);
            if let Some(latest) = tx.latest_checkpoint()?
                && latest.size == size
            {
                return Ok(latest);
            }
            let cp = Checkpoint {
                origin: info.origin.clone(),
                size,
                root,
                extensions: Vec::new(),
            };
            let mut note = cp
                .sign(&signers[0])
                .map_err(|e| LedgerError::Checkpoint(e.to_string()))?;
            for extra in &signers[1..] {
                let sig = extra
                    .sign(note.text())
                    .map_err(|e| LedgerError::Checkpoint(e.to_string()))?;
                note.add_signature(sig);
            }
            let stored = StoredCheckpoint {
                size,
                root,
                note: note.to_text(),
            };
            tx.add_checkpoint(&stored)?;
            Ok(stored)
        })
    }

    /// Resolves an entry named by its full hex entry hash or by its index.
    ///
    /// # Errors
    /// [`LedgerError::NoSuchEntry`].
    pub fn resolve(&self, name: &str) -> Result<StoredEntry, LedgerError> {
        let missing = || LedgerError::NoSuchEntry(name.to_owned());
        if let Some(h) = crate::hex::decode_array::<32>(name) {
            return self.store.find(&h)?.ok_or_else(missing);
        }
        if let Ok(index) = name.parse::<u64>() {
            return match self.store.entry(index) {
                Err(StoreError::OutOfRange { .. }) => Err(missing()),
                r => Ok(r?),
            };
        }
        Err(missing())
    }

    /// Proves that `entry` is in the tree of `size` leaves (default: the published checkpoint,
    /// [`Ledger::published_checkpoint`], if it covers the entry, else the whole log).
    ///
    /// # Errors
    /// [`StoreError::OutOfRange`] if the size is beyond the log, [`LedgerError::NoProof`] if it does
    /// not cover the entry.
    pub fn prove(&self, entry: &StoredEntry, size: Option<u64>) -> Result<Inclusion, LedgerError> {
        self.store
            .read_snapshot(|_| self.prove_in_snapshot(entry, size))
    }

    fn prove_in_snapshot(
        &self,
        entry: &StoredEntry,
        size: Option<u64>,
    ) -> Result<Inclusion, LedgerError> {
        let log_size = self.store.size()?;
        let size = match size {
            Some(s) => s,
            None => match publish::published_in(&self.store)? {
                Some(cp) if cp.size > entry.index => cp.size,
                _ => log_size,
            },
        };
        if size > log_size {
            return Err(StoreError::OutOfRange {
                what: "tree size",
                value: size,
                size: log_size,
            }
            .into());
        }
        if entry.index >= size {
            return Err(LedgerError::NoProof(format!(
                "entry {} is not in the tree of size {size}; prove it against a size of at least {}",
                entry.index,
                entry.index + 1
            )));
        }
        let proof = merkle::prove_inclusion(&self.store, entry.index, size).map_err(proof_error)?;
        Ok(Inclusion {
            index: entry.index,
            size,
            entry_hash: entry.entry_hash,
            leaf_hash: merkle::leaf_hash(&entry.entry_hash),
            root: merkle::root(&self.store, size)?,
            proof,
        })
    }

    /// Proves that the tree of `old` leaves is a prefix of the tree of `new` leaves.
    ///
    /// # Errors
    /// [`StoreError::OutOfRange`] for a new size beyond the log, [`LedgerError::NoProof`] for
    /// `old > new` or `old == 0 < new`.
    pub fn consistency(
        &self,
        old: u64,
        new: u64,
    ) -> Result<(Hash, Hash, ConsistencyProof), LedgerError> {
        self.store
            .read_snapshot(|_| self.consistency_in_snapshot(old, new))
    }

    fn consistency_in_snapshot(
        &self,
        old: u64,
        new: u64,
    ) -> Result<(Hash, Hash, ConsistencyProof), LedgerError> {
        let log_size = self.store.size()?;
        if new > log_size {
            return Err(StoreError::OutOfRange {
                what: "new size",
                value: new,
                size: log_size,
            }
            .into());
        }
        if old > new {
            return Err(LedgerError::NoProof(format!(
                "old size {old} is larger than new size {new}"
            )));
        }
        if old == 0 && new > 0 {
            // RFC 9162 §2.1.4 defines PROOF(m, D[n]) only for 0 < m <= n.
            return Err(LedgerError::NoProof(
                "no consistency proof from size 0: every tree extends the empty one; use an old size of at least 1".into(),
            ));
        }
        let proof = merkle::prove_consistency(&self.store, old, new).map_err(proof_error)?;
        Ok((
            merkle::root(&self.store, old)?,
            merkle::root(&self.store, new)?,
            proof,
        ))
    }
}

/// Signs evidence as a statement ready to append (without appending it).
///
/// # Errors
/// [`LedgerError::Header`] for an empty issuer or subject.
pub fn new_entry(
    evidence: &Evidence,
    signer: &Signer<'_>,
    issued_at: u64,
) -> Result<NewEntry, LedgerError> {
    let signed = signer.sign(evidence, issued_at)?;
    Ok(NewEntry {
        entry_hash: signed.entry_hash,
        statement: signed.bytes,
        kind: signed.header.kind,
        issuer: signed.header.issuer,
        subject: signed.header.subject,
        issued_at,
        signer: signer.key.verifying_key(),
        references: index_terms(evidence, &signer.key.verifying_key()),
        documents: Vec::new(),
    })
}

/// What the refs index records for an entry: the entries it cites and, for a key event, the
/// subject key id and the signer's key id (so that a key's events can be found by its kid).
pub(crate) fn index_terms(evidence: &Evidence, signer: &ed25519_dalek::VerifyingKey) -> Vec<Hash> {
    let mut terms: Vec<Hash> = evidence.references().iter().map(|r| r.entry).collect();
    let keys = evidence.key_references();
    if !keys.is_empty() {
        terms.extend(keys.iter().map(|k| k.0));
        terms.push(KeyId::of(signer).0);
    }
    terms
}

/// Refuses a signer key whose entry at log index `at` would fail verification because of the
/// key events before `at`: a revocation effective at or before `at`, or a rotation away from it.
///
/// # Errors
/// [`LedgerError::KeyRevoked`], or a read failure.
pub(crate) fn check_standing<R: StoreRead>(
    r: &R,
    key: &ed25519_dalek::VerifyingKey,
    at: u64,
) -> Result<(), LedgerError> {
    let kid = KeyId::of(key);
    let mut parsed = Vec::new();
    for idx in r.citing(&kid.0)? {
        if idx >= at {
            break;
        }
        let e = r.entry(idx)?;
        if e.kind != crate::evidence::KeyEvent::KIND {
            continue;
        }
        let Ok(st) = statement::SignedStatement::parse(&e.statement) else {
            continue;
        };
        if let Ok(Evidence::KeyEvent(ev)) = Evidence::from_payload(&e.kind, st.payload()) {
            parsed.push((idx, st.header().kid, ev));
        }
    }
    let events: Vec<key_standing::LoggedKeyEvent<'_>> = parsed
        .iter()
        .map(|(index, signer, event)| key_standing::LoggedKeyEvent {
            index: *index,
            signer: *signer,
            event,
        })
        .collect();
    match key_standing::recorded_end(&events, kid) {
        Some(end) if end.from <= at => Err(LedgerError::KeyRevoked {
            kid: kid.to_string(),
            event: end.by,
            what: match end.kind {
                key_standing::EndKind::Revoked => "revoke",
                key_standing::EndKind::RotatedAway => "rotate",
            },
        }),
        _ => Ok(()),
    }
}

fn proof_error(e: merkle::ProofError<StoreError>) -> LedgerError {
    match e {
        merkle::ProofError::Source(s) => LedgerError::Store(s),
        // The callers check the arguments first; should one slip through, it is still a bad
        // request, not a damaged ledger.
        other => LedgerError::NoProof(other.to_string()),
    }
}
