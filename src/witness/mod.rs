//! A witness: it cosigns a log's checkpoints only after checking that each one extends the last
//! one it cosigned, so that a log cannot collect its cosignatures on two histories.
//!
//! The checks and the answer are those of a c2sp.org/tlog-witness `add-checkpoint` request, run
//! from the command line against a state directory instead of over HTTP; the cosignature is a
//! c2sp.org/tlog-cosignature `cosignature/v1` line (Ed25519, signature type 0x04, timestamped).
//!
//! A state directory holds:
//! - [`KEY_FILE`] (`witness.key`, PKCS#8 PEM, mode 0600) and `witness.key.pub`;
//! - [`VKEY_FILE`] (`witness.vkey`): the witness's own cosignature verifier key, one line;
//! - [`LOG_VKEY_FILE`] (`log.vkey`): the verifier key of the one log it watches, one line;
//! - [`STATE_FILE`] (`state`): the latest cosigned checkpoint per origin ([`State`]);
//! - [`LOCK_FILE`] (`lock`): an empty file whose exclusive lock serializes cosigning.
//!
//! The format and the crash-safety argument are in `specs/witness.md`.

#[cfg(feature = "serve")]
pub mod add_checkpoint;
mod state;

pub use state::{STATE_HEADER, State, StateFormatError};

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

// RFC 4648 §4 standard base64, for roots in messages.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::SigningKey;

use crate::checkpoint::consistency::{
    CheckError, Inconsistency, ProofFile, check_extends_with_file,
};
use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::durable;
use crate::keys::{self, KeyError};
use crate::merkle::{ConsistencyError, EMPTY_ROOT, RootHash};
use crate::note::{
    CosignatureSigner, CosignatureVerifier, MAX_COSIGNATURE_TIMESTAMP, MAX_SIGNATURES, NoteError,
    NoteSignature, NoteVerifier,
};

/// The witness's private key file in a state directory.
pub const KEY_FILE: &str = "witness.key";
/// The witness's cosignature verifier key file.
pub const VKEY_FILE: &str = "witness.vkey";
/// The watched log's verifier key file.
pub const LOG_VKEY_FILE: &str = "log.vkey";
/// The state file.
pub const STATE_FILE: &str = "state";
/// The lock file.
pub const LOCK_FILE: &str = "lock";

/// Errors of witness operations.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// A file of the state directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The witness key file could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// `init` was given a directory that exists and is not empty.
    #[error("{0}: exists and is not empty; a witness state directory is never reused")]
    Exists(PathBuf),
    /// The witness name is not a valid signed-note key name.
    #[error("witness name: {0}")]
    Name(NoteError),
    /// The directory is not a witness state directory (a file is missing or malformed).
    #[error("{path}: not a witness state directory ({reason})")]
    NotAWitness {
        /// The directory or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The state file does not parse.
    #[error("{path}: corrupt witness state, {source}")]
    CorruptState {
        /// The state file.
        path: PathBuf,
        /// Where and why.
        source: StateFormatError,
    },
    /// The checkpoint note is malformed.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(CheckpointError),
    /// The checkpoint does not carry a valid signature by the watched log key.
    #[error("checkpoint does not verify under the watched log key {key}: {source}")]
    NotSigned {
        /// The watched log key.
        key: String,
        /// Why.
        source: NoteError,
    },
    /// The checkpoint's origin is not the watched log's.
    #[error("checkpoint origin {origin:?} is not the watched log {expected:?}")]
    WrongOrigin {
        /// The checkpoint's origin.
        origin: String,
        /// The watched log's origin.
        expected: String,
    },
    /// The checkpoint is smaller than the last one cosigned for its origin.
    #[error(
        "refusing to cosign {origin:?} size {size} (root {}): it is smaller than size {cosigned_size} (root {}), already cosigned",
        BASE64.encode(.root), BASE64.encode(.cosigned_root)
    )]
    Older {
        /// The log's origin.
        origin: String,
        /// The offered checkpoint's size.
        size: u64,
        /// The offered checkpoint's root.
        root: [u8; 32],
        /// The size last cosigned.
        cosigned_size: u64,
        /// The root last cosigned.
        cosigned_root: [u8; 32],
    },
    /// The checkpoint is larger than the last one cosigned, and no proof was given.
    #[error(
        "a consistency proof from size {cosigned_size} (last cosigned for {origin:?}) to size {size} is needed"
    )]
    ProofRequired {
        /// The log's origin.
        origin: String,
        /// The size last cosigned.
        cosigned_size: u64,
        /// The offered checkpoint's size.
        size: u64,
    },
    /// The proof does not start at the size last cosigned (or does not lead to the offered size).
    #[error(
        "the proof is from size {proof_old}{}, but the last checkpoint cosigned for {origin:?} has size {cosigned_size} and the offered one size {size}",
        .proof_new.map(|n| format!(" to size {n}")).unwrap_or_default()
    )]
    WrongProof {
        /// The log's origin.
        origin: String,
        /// The proof file's `old` size.
        proof_old: u64,
        /// The proof file's new size, when it says.
        proof_new: Option<u64>,
        /// The size last cosigned (0 before the first cosignature).
        cosigned_size: u64,
        /// The offered checkpoint's size.
        size: u64,
    },
    /// The proof has the wrong number of hashes for the sizes.
    #[error("malformed consistency proof: {0}")]
    MalformedProof(ConsistencyError),
    /// The checkpoint is not consistent with the last one cosigned (a fork, or a wrong proof).
    #[error("refusing to cosign: {0}")]
    Inconsistent(Box<Inconsistency>),
    /// The cosignature could not be added (bad timestamp, or the note already has too many signatures).
    #[error("cannot cosign: {0}")]
    Sign(NoteError),
}

impl WitnessError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> WitnessError + '_ {
        move |source| WitnessError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A cosigned checkpoint, as `cosign` returns it.
#[derive(Clone, Debug)]
pub struct Cosigned {
    /// The checkpoint's note with every signature line it came with, then the new cosignature.
    pub note: String,
    /// The new cosignature line.
    pub signature: NoteSignature,
    /// The checkpoint cosigned.
    pub checkpoint: Checkpoint,
    /// The tree head last cosigned for this origin before, if any.
    pub previous: Option<RootHash>,
}

/// An open witness state directory.
#[derive(Debug)]
pub struct Witness {
    dir: PathBuf,
    signer: CosignatureSigner,
    log_key: NoteVerifier,
}

impl Witness {
    /// Creates a state directory `dir` (absent or empty) for a witness named `name` watching the
    /// log `log_key`, with `key` or a fresh key, and an empty state.
    ///
    /// # Errors
    /// [`WitnessError::Exists`], [`WitnessError::Name`], key or I/O errors (the files written so
    /// far are removed then).
    pub fn init(
        dir: &Path,
        name: &str,
        log_key: &NoteVerifier,
        key: Option<SigningKey>,
    ) -> Result<Witness, WitnessError> {
        let key = match key {
            Some(k) => k,
            None => keys::generate()?,
        };
        let signer = CosignatureSigner::new(name, key.clone()).map_err(WitnessError::Name)?;
        match fs::read_dir(dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(WitnessError::Exists(dir.to_path_buf()));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(WitnessError::io(dir))?;
            }
            Err(e) => return Err(WitnessError::io(dir)(e)),
        }
        let witness = Witness {
            dir: dir.to_path_buf(),
            signer,
            log_key: log_key.clone(),
        };
        let result = witness.write_new_state_dir(&key);
        if result.is_err() {
            // Leave the directory empty again, so that init can simply be run again.
            let key_path = dir.join(KEY_FILE);
            let _ = fs::remove_file(keys::public_path(&key_path));
            for f in [KEY_FILE, VKEY_FILE, LOG_VKEY_FILE, LOCK_FILE, STATE_FILE] {
                let _ = fs::remove_file(dir.join(f));
            }
        }
        result.map(|()| witness)
    }

    fn write_new_state_dir(&self, key: &SigningKey) -> Result<(), WitnessError> {
        keys::write_key_pair(&self.dir.join(KEY_FILE), key)?;
        let vkey = format!("{}\n", self.signer.verifier());
        write_new(&self.dir.join(VKEY_FILE), vkey.as_bytes())?;
        let log = format!("{}\n", self.log_key);
        write_new(&self.dir.join(LOG_VKEY_FILE), log.as_bytes())?;
        write_new(&self.dir.join(LOCK_FILE), b"")?;
        // Written last: a directory with a state file is complete.
        let state = self.dir.join(STATE_FILE);
        durable::replace(&state, State::default().to_text().as_bytes())
            .map_err(WitnessError::io(&state))
    }

    /// Opens a state directory made by [`Witness::init`].
    ///
    /// # Errors
    /// [`WitnessError::NotAWitness`] when a file is missing or malformed or the key does not
    /// match `witness.vkey`; key file errors (such as permissions).
    pub fn open(dir: &Path) -> Result<Witness, WitnessError> {
        let vkey = read_one_line(dir, VKEY_FILE)?;
        let verifier =
            CosignatureVerifier::parse(&vkey).map_err(|e| not_a_witness(dir, VKEY_FILE, e))?;
        let log_vkey = read_one_line(dir, LOG_VKEY_FILE)?;
        let log_key =
            NoteVerifier::parse(&log_vkey).map_err(|e| not_a_witness(dir, LOG_VKEY_FILE, e))?;
        for f in [STATE_FILE, LOCK_FILE] {
            if !dir.join(f).is_file() {
                return Err(not_a_witness(dir, f, "missing"));
            }
        }
        let key = keys::read_signing_key(&dir.join(KEY_FILE))?;
        let signer = CosignatureSigner::new(verifier.name(), key)
            .map_err(|e| not_a_witness(dir, VKEY_FILE, e))?;
        if signer.verifier() != verifier {
            return Err(not_a_witness(
                dir,
                KEY_FILE,
                "it is not the key of witness.vkey",
            ));
        }
        Ok(Witness {
            dir: dir.to_path_buf(),
            signer,
            log_key,
        })
    }

    /// The witness's cosignature verifier key (what buyers pin in their trust file).
    pub fn verifier(&self) -> CosignatureVerifier {
        self.signer.verifier()
    }

    /// The watched log's verifier key.
    pub fn log_key(&self) -> &NoteVerifier {
        &self.log_key
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads the state file.
    ///
    /// # Errors
    /// [`WitnessError::Io`] or [`WitnessError::CorruptState`].
    pub fn state(&self) -> Result<State, WitnessError> {
        let path = self.dir.join(STATE_FILE);
        let text = fs::read_to_string(&path).map_err(WitnessError::io(&path))?;
        State::parse(&text).map_err(|source| WitnessError::CorruptState { path, source })
    }

    /// Verifies a checkpoint note from the watched log, checks that it extends the last
    /// checkpoint cosigned for its origin (with `proof` from that size, unless the size is the
    /// same or nothing was cosigned yet), records it, and only then cosigns it at `timestamp`.
    ///
    /// # Errors
    /// [`WitnessError::MalformedCheckpoint`], [`WitnessError::NotSigned`] and
    /// [`WitnessError::WrongOrigin`] for the note; [`WitnessError::Older`],
    /// [`WitnessError::ProofRequired`], [`WitnessError::WrongProof`],
    /// [`WitnessError::MalformedProof`] and [`WitnessError::Inconsistent`] for refusals; state
    /// and I/O errors. On any error the state is unchanged and nothing is cosigned.
    pub fn cosign(
        &self,
        note_text: &str,
        proof: Option<&ProofFile>,
        timestamp: u64,
    ) -> Result<Cosigned, WitnessError> {
        let verified = checkpoint::verify(note_text, &self.log_key).map_err(|e| match e {
            CheckpointError::Note(n) if n.is_verification_failure() => WitnessError::NotSigned {
                key: self.log_key.to_string(),
                source: n,
            },
            CheckpointError::OriginMismatch { origin, key_name } => WitnessError::WrongOrigin {
                origin,
                expected: key_name,
            },
            other => WitnessError::MalformedCheckpoint(other),
        })?;
        if timestamp > MAX_COSIGNATURE_TIMESTAMP {
            return Err(WitnessError::Sign(NoteError::TimestampOutOfRange {
                timestamp,
            }));
        }
        if verified.note().signatures().len() >= MAX_SIGNATURES {
            return Err(WitnessError::Sign(NoteError::TooManySignatures {
                count: verified.note().signatures().len() + 1,
                max: MAX_SIGNATURES,
            }));
        }
        let cp = verified.checkpoint();

        // The exclusive lock guards the state file from the read below to the commit point, so
        // that two cosigns of one directory cannot both check against the same old state and
        // roll it back (the race c2sp.org/tlog-witness describes). It is released on drop, and by
        // the kernel if the process dies.
        let lock_path = self.dir.join(LOCK_FILE);
        let lock = File::options()
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(WitnessError::io(&lock_path))?;
        lock.lock().map_err(WitnessError::io(&lock_path))?;

        let mut state = self.state()?;
        let previous = state.latest(&cp.origin);
        let older = match previous {
            Some(prev) if cp.size < prev.size => {
                return Err(WitnessError::Older {
                    origin: cp.origin.clone(),
                    size: cp.size,
                    root: cp.root,
                    cosigned_size: prev.size,
                    cosigned_root: prev.hash,
                });
            }
            Some(prev) => prev,
            // Before the first cosignature the witness is at the empty tree (tlog-witness: old size 0).
            None => RootHash::new(0, EMPTY_ROOT),
        };
        let older_cp = Checkpoint {
            origin: cp.origin.clone(),
            size: older.size,
            root: older.hash,
            extensions: Vec::new(),
        };
        check_extends_with_file(&older_cp, cp, proof).map_err(|e| match e {
            CheckError::ProofRequired { old, new } => WitnessError::ProofRequired {
                origin: cp.origin.clone(),
                cosigned_size: old,
                size: new,
            },
            CheckError::ProofSizeMismatch {
                proof_old,
                proof_new,
                old,
                new,
            } => WitnessError::WrongProof {
                origin: cp.origin.clone(),
                proof_old,
                proof_new,
                cosigned_size: old,
                size: new,
            },
            CheckError::MalformedProof(e) => WitnessError::MalformedProof(e),
            CheckError::Inconsistent(i) => WitnessError::Inconsistent(i),
            // Both checkpoints carry cp.origin.
            CheckError::OriginMismatch { a, b } => WitnessError::WrongOrigin {
                origin: a,
                expected: b,
            },
        })?;

        let head = RootHash::new(cp.size, cp.root);
        if previous != Some(head) {
            state.set(&cp.origin, head);
            // COMMIT POINT. When durable::replace returns, `head` is the durable state for this
            // origin, and nothing has been emitted for it yet. Why the witness never cosigns two
            // inconsistent checkpoints, even if killed at any instant:
            // - a cosignature is made only below this point, for a checkpoint that is then the
            //   durable state (or already was: same size, same root);
            // - the state is only ever replaced by a checkpoint just proven, under the lock, to
            //   extend it; "extends" is transitive, so every checkpoint ever cosigned is a prefix
            //   of the current state, and any two of them are prefixes of one tree: consistent;
            // - killed before the rename: the old state stands, nothing was emitted;
            // - killed, or power lost, between the rename and the directory fsync: the state is
            //   the old or the new one, and nothing was emitted, so either is safe;
            // - killed after it: the new state stands without a cosignature; the log asks again;
            // - the temporary file is fsynced before the rename, so the state is never torn.
            // Failure here is fatal for this request and nothing is cosigned; if only the directory
            // fsync failed, the new state may or may not survive a power loss, and either is safe.
            let path = self.dir.join(STATE_FILE);
            durable::replace(&path, state.to_text().as_bytes()).map_err(WitnessError::io(&path))?;
        }
        drop(lock);

        let signature = self
            .signer
            .sign(verified.note().text(), timestamp)
            .map_err(WitnessError::Sign)?;
        let mut note = verified.note().clone();
        note.try_add_signature(signature.clone())
            .map_err(WitnessError::Sign)?;
        Ok(Cosigned {
            note: note.to_text(),
            signature,
            checkpoint: cp.clone(),
            previous,
        })
    }
}

fn not_a_witness(dir: &Path, file: &str, reason: impl std::fmt::Display) -> WitnessError {
    WitnessError::NotAWitness {
        path: dir.join(file),
        reason: reason.to_string(),
    }
}

/// Reads a file that must hold exactly one line ending in a newline.
fn read_one_line(dir: &Path, file: &str) -> Result<String, WitnessError> {
    let path = dir.join(file);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(not_a_witness(dir, file, "missing"));
        }
        Err(e) => return Err(WitnessError::io(&path)(e)),
    };
    match text.strip_suffix('\n') {
        Some(line) if !line.contains('\n') => Ok(line.to_owned()),
        _ => Err(not_a_witness(dir, file, "not exactly one line")),
    }
}

/// Creates a file that must not exist, durably.
fn write_new(path: &Path, data: &[u8]) -> Result<(), WitnessError> {
    durable::create_new(path, data, 0o644).map_err(WitnessError::io(path))
}
