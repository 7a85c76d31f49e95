//! `verify --remember DIR`: the checkpoints a buyer has verified, one file per log origin.
//!
//! Each file holds the newest verified checkpoint (signed note) of one origin, named by the
//! SHA-256 of the origin. It is replaced durably (temporary file, fsync, rename, directory fsync),
//! and only by a larger tree size, so a crash leaves either the old or the new checkpoint.
//!
//! The verifier itself keeps no state: `verify` recalls the remembered checkpoint here and passes
//! its text in [`crate::verify::VerifyOptions::remembered`].

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::checkpoint::Checkpoint;
use crate::note::Note;

/// Why the memory could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct MemoryError {
    /// The file or directory.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

/// A directory of remembered checkpoints.
#[derive(Clone, Debug)]
pub struct CheckpointMemory {
    dir: PathBuf,
}

fn body(note: &str) -> Option<Checkpoint> {
    Checkpoint::parse(Note::parse(note).ok()?.text()).ok()
}

impl CheckpointMemory {
    /// Opens (creating if needed) the memory directory.
    ///
    /// # Errors
    /// If the directory cannot be created.
    pub fn open(dir: &Path) -> Result<CheckpointMemory, MemoryError> {
        std::fs::create_dir_all(dir).map_err(|e| MemoryError {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(CheckpointMemory {
            dir: dir.to_path_buf(),
        })
    }

    fn file(&self, origin: &str) -> PathBuf {
        self.dir.join(format!(
            "{}.checkpoint",
            crate::hex::encode(&Sha256::digest(origin.as_bytes()))
        ))
    }

    /// The remembered checkpoint note for the origin that `note` (a bundle's checkpoint) names.
    ///
    /// # Errors
    /// If the file exists but cannot be read.
    pub fn recall_for(&self, note: &str) -> Result<Option<String>, MemoryError> {
        let Some(cp) = body(note) else {
            return Ok(None);
        };
        let path = self.file(&cp.origin);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(MemoryError {
                path,
                message: e.to_string(),
            }),
        }
    }

    /// Remembers a verified checkpoint note if it is larger than the one remembered for its origin.
    /// Returns whether it was stored.
    ///
    /// # Errors
    /// If the note is malformed or the file cannot be written.
    pub fn remember(&self, note: &str) -> Result<bool, MemoryError> {
        let cp = body(note).ok_or_else(|| MemoryError {
            path: self.dir.clone(),
            message: "not a checkpoint note".into(),
        })?;
        let path = self.file(&cp.origin);
        if let Some(old) = self.recall_for(note)?.as_deref().and_then(body)
            && old.size >= cp.size
        {
            return Ok(false);
        }
        let err = |e: std::io::Error| MemoryError {
            path: path.clone(),
            message: e.to_string(),
        };
        crate::durable::replace(&path, note.as_bytes()).map_err(err)?;
        Ok(true)
    }
}
