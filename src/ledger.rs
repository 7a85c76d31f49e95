//! Ledger operations: create, record, checkpoint, prove. One ledger is one directory holding the
//! database ([`crate::store::DB_FILE`]) and the log's private key ([`LOG_KEY_FILE`]).

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

use crate::checkpoint::Checkpoint;
use crate::evidence::Evidence;
use crate::keys::{self, KeyError, KeyId};
use crate::merkle::{self, ConsistencyProof, Hash, InclusionProof};
use crate::note::{NoteSigner, NoteVerifier};
use crate::statement::{self, Header};
use crate::store::{
    LedgerInfo, NewEntry, SqliteStore, Store, StoreError, StoredCheckpoint, StoredEntry,
};

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
    /// The signer field values are not acceptable.
    #[error("{field}: {reason}")]
    Header {
        /// "issuer" or "subject".
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The log key in the directory is not the key the database was created with.
    #[error("{path}: this is not the log key of this ledger")]
    WrongLogKey {
        /// The key file.
        path: PathBuf,
    },
    /// Signing or reading a checkpoint failed.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The entry named is not in the ledger.
    #[error("no entry {0} in the ledger")]
    NoSuchEntry(String),
}

/// Where a new entry landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Its index in the log.
    pub index: u64,
    /// Its entry hash.
    pub entry_hash: Hash,
}

/// Who signs a new statement and how it is labelled.
#[derive(Clone, Debug)]
pub struct Signer<'a> {
    /// The signer's private key.
    pub key: &'a SigningKey,
    /// CWT iss: the signing organisation.
    pub issuer: &'a str,
    /// CWT sub: what the entry is about.
    pub subject: &'a str,
    /// DER certificates, leaf first, if the signer uses one.
    pub x5chain: Vec<Vec<u8>>,
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

/// An open ledger.
pub struct Ledger {
    dir: PathBuf,
    store: SqliteStore,
    info: LedgerInfo,
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

impl Ledger {
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
        if dir.join(crate::store::DB_FILE).exists() || key_path.exists() {
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
        match SqliteStore::create(dir, &info) {
            Ok(store) => Ok(Ledger {
                dir: dir.to_path_buf(),
                store,
                info,
            }),
            Err(e) => {
                // Without a database the key is useless; remove it so init can be run again.
                let _ = std::fs::remove_file(&key_path);
                let _ = std::fs::remove_file(keys::public_path(&key_path));
                Err(e.into())
            }
        }
    }

    /// Opens the ledger in `dir`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is none.
    pub fn open(dir: &Path) -> Result<Ledger, LedgerError> {
        let store = SqliteStore::open(dir)?;
        let info = store.info()?;
        Ok(Ledger {
            dir: dir.to_path_buf(),
            store,
            info,
        })
    }

    /// The ledger's identity (origin and log public key).
    pub fn info(&self) -> &LedgerInfo {
        &self.info
    }

    /// The store, for reads.
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }

    /// The store, for writes that do not go through the operations above.
    pub(crate) fn store_mut(&mut self) -> &mut SqliteStore {
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

    /// Signs evidence as a statement (without appending it).
    ///
    /// # Errors
    /// [`LedgerError::Header`] for an empty issuer or subject.
    pub fn sign(
        evidence: &Evidence,
        signer: &Signer<'_>,
        issued_at: u64,
    ) -> Result<NewEntry, LedgerError> {
        for (field, v) in [("issuer", signer.issuer), ("subject", signer.subject)] {
            if v.trim().is_empty() {
                return Err(LedgerError::Header {
                    field,
                    reason: "must not be empty".into(),
                });
            }
        }
        let header = Header {
            alg: statement::ALG_EDDSA,
            kind: evidence.kind().to_owned(),
            kid: KeyId::of(&signer.key.verifying_key()),
            issuer: signer.issuer.to_owned(),
            subject: signer.subject.to_owned(),
            issued_at,
            x5chain: signer.x5chain.clone(),
        };
        let bytes = statement::sign(&header, &evidence.to_payload(), signer.key);
        Ok(NewEntry {
            entry_hash: statement::entry_hash(&bytes),
            statement: bytes,
            kind: header.kind,
            issuer: header.issuer,
            subject: header.subject,
            issued_at,
            signer: signer.key.verifying_key(),
            references: evidence.references().iter().map(|r| r.entry).collect(),
        })
    }

    /// Checks that every entry the evidence cites exists and is of an allowed kind.
    ///
    /// # Errors
    /// [`LedgerError::Reference`] for the first citation that does not resolve.
    pub fn check_references(&self, evidence: &Evidence) -> Result<(), LedgerError> {
        for r in evidence.references() {
            let hex = crate::hex::encode(&r.entry);
            match self.store.find(&r.entry)? {
                None => {
                    return Err(LedgerError::Reference {
                        path: r.path,
                        reason: format!("entry {hex} is not in the ledger"),
                    });
                }
                Some(e) if !r.kinds.contains(&e.kind.as_str()) => {
                    return Err(LedgerError::Reference {
                        path: r.path,
                        reason: format!(
                            "entry {hex} is a {}, expected {}",
                            e.kind,
                            r.kinds.join(" or ")
                        ),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
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
        self.check_references(evidence)?;
        let entry = Self::sign(evidence, signer, issued_at)?;
        let index = self.append(std::slice::from_ref(&entry))?[0];
        Ok(Recorded {
            index,
            entry_hash: entry.entry_hash,
        })
    }

    /// Appends already signed statements in one transaction.
    ///
    /// # Errors
    /// Storage errors; nothing is written on error.
    pub fn append(&mut self, entries: &[NewEntry]) -> Result<Vec<u64>, LedgerError> {
        Ok(self.store.append_batch(entries)?)
    }

    /// Reads the log's private key from the ledger directory and checks it is this ledger's.
    fn log_signer(&self) -> Result<NoteSigner, LedgerError> {
        let path = self.dir.join(LOG_KEY_FILE);
        let key = keys::read_signing_key(&path)?;
        if key.verifying_key() != self.info.log_key {
            return Err(LedgerError::WrongLogKey { path });
        }
        NoteSigner::new(&self.info.origin, key).map_err(|e| LedgerError::Checkpoint(e.to_string()))
    }

    /// Signs and stores a checkpoint over the whole log, or returns the latest if the log has not grown.
    ///
    /// # Errors
    /// Key, signing or storage errors.
    pub fn checkpoint(&mut self) -> Result<StoredCheckpoint, LedgerError> {
        let size = self.store.size()?;
        if let Some(latest) = self.store.latest_checkpoint()?
            && latest.size == size
        {
            return Ok(latest);
        }
        let root = merkle::root(&self.store, size)?;
        let cp = Checkpoint {
            origin: self.info.origin.clone(),
            size,
            root,
            extensions: Vec::new(),
        };
        let note = cp
            .sign(&self.log_signer()?)
            .map_err(|e| LedgerError::Checkpoint(e.to_string()))?;
        let stored = StoredCheckpoint {
            size,
            root,
            note: note.to_text(),
        };
        self.store.add_checkpoint(&stored)?;
        Ok(stored)
    }

    /// Resolves an entry named by hex entry hash (or a unique prefix of at least 8 digits) or by index.
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

    /// Proves that `entry` is in the tree of `size` leaves (default: the latest checkpoint if it
    /// covers the entry, else the whole log).
    ///
    /// # Errors
    /// [`StoreError::OutOfRange`] if the size is beyond the log or does not cover the entry.
    pub fn prove(&self, entry: &StoredEntry, size: Option<u64>) -> Result<Inclusion, LedgerError> {
        let log_size = self.store.size()?;
        let size = match size {
            Some(s) => s,
            None => match self.store.latest_checkpoint()? {
                Some(cp) if cp.size > entry.index => cp.size,
                _ => log_size,
            },
        };
        if size > log_size || entry.index >= size {
            return Err(StoreError::OutOfRange {
                what: "tree size",
                value: size,
                size: log_size,
            }
            .into());
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
    /// [`StoreError::OutOfRange`] for sizes beyond the log or `old > new`.
    pub fn consistency(
        &self,
        old: u64,
        new: u64,
    ) -> Result<(Hash, Hash, ConsistencyProof), LedgerError> {
        let log_size = self.store.size()?;
        if new > log_size || old > new {
            return Err(StoreError::OutOfRange {
                what: if new > log_size {
                    "new size"
                } else {
                    "old size"
                },
                value: if new > log_size { new } else { old },
                size: if new > log_size { log_size } else { new },
            }
            .into());
        }
        let proof = merkle::prove_consistency(&self.store, old, new).map_err(proof_error)?;
        Ok((
            merkle::root(&self.store, old)?,
            merkle::root(&self.store, new)?,
            proof,
        ))
    }
}

fn proof_error(e: merkle::ProofError<StoreError>) -> LedgerError {
    match e {
        merkle::ProofError::Source(s) => LedgerError::Store(s),
        other => LedgerError::Store(StoreError::Corrupt(other.to_string())),
    }
}
