//! Collecting witness cosignatures into the ledger: `evledger checkpoint --cosigned FILE`.
//!
//! A witness answers with the checkpoint note it was given plus its cosignature line. The ledger
//! keeps such lines beside the stored checkpoint, and every read of the checkpoint (`evledger
//! checkpoint`, bundles) presents the note with them appended.
//!
//! The ledger does not know which witnesses a buyer trusts, so it cannot check cosignatures. It
//! stores the signature lines of a note whose text is byte for byte a stored checkpoint's text
//! and that parses as a signed note, except lines the stored note already carries and lines under
//! the log's own key name and key id (those are log signatures, not cosignatures). A buyer's
//! verifier checks the cosignatures of the witnesses its trust file names and ignores the others,
//! as c2sp.org/tlog-cosignature asks.

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::ledger::{Ledger, LedgerError};
use crate::note::{MAX_SIGNATURES, Note, NoteError};
use crate::store::{Store, StoreError};

/// Why cosignatures could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The cosigned note is not a well-formed signed note.
    #[error("cosigned checkpoint is malformed: {0}")]
    MalformedNote(NoteError),
    /// The cosigned note's text is not a well-formed checkpoint.
    #[error("cosigned checkpoint is malformed: {0}")]
    MalformedCheckpoint(CheckpointError),
    /// The ledger has no checkpoint of the cosigned note's size.
    #[error("the ledger has no checkpoint of size {size}")]
    NoCheckpoint {
        /// The cosigned checkpoint's size.
        size: u64,
    },
    /// The cosigned note's text differs from the stored checkpoint of its size.
    #[error(
        "the cosigned note is not this ledger's checkpoint of size {size}: its text differs (origin {origin:?})"
    )]
    NotThisCheckpoint {
        /// The cosigned checkpoint's size.
        size: u64,
        /// The cosigned checkpoint's origin.
        origin: String,
    },
    /// Storage failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ledger could not be read.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// What collecting one cosigned note did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collected {
    /// The checkpoint's size.
    pub size: u64,
    /// Cosignature lines newly stored.
    pub added: usize,
    /// Lines not stored: already carried by the stored note (or repeated), or log signatures.
    pub ignored: usize,
    /// The stored checkpoint's note now, with every collected cosignature.
    pub note: String,
}

/// Stores the cosignature lines of `cosigned`, a copy of one of the ledger's checkpoints.
///
/// # Errors
/// [`CollectError`]; nothing is stored on error.
pub fn collect<S: Store>(
    ledger: &mut Ledger<S>,
    cosigned: &str,
) -> Result<Collected, CollectError> {
    let given = Note::parse(cosigned).map_err(CollectError::MalformedNote)?;
    let cp = Checkpoint::parse(given.text()).map_err(CollectError::MalformedCheckpoint)?;
    let stored = ledger
        .store()
        .checkpoint_at(cp.size)?
        .ok_or(CollectError::NoCheckpoint { size: cp.size })?;
    let stored_note = Note::parse(&stored.note).map_err(|e| {
        StoreError::Corrupt(format!(
            "stored checkpoint {} is not a signed note: {e}",
            cp.size
        ))
    })?;
    if stored_note.text() != given.text() {
        return Err(CollectError::NotThisCheckpoint {
            size: cp.size,
            origin: cp.origin,
        });
    }
    let log_key = ledger.log_verifier()?;
    let carried: Vec<String> = stored_note
        .signatures()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut lines: Vec<String> = Vec::new();
    for sig in given.signatures() {
        let line = sig.to_string();
        let is_log_signature = sig.name == log_key.name() && sig.key_id == log_key.key_id();
        if !is_log_signature && !carried.contains(&line) && !lines.contains(&line) {
            lines.push(line);
        }
    }
    let ignored = given.signatures().len() - lines.len();
    // The note's own lines (as the log stored it) stay; the rest of its room is for cosignatures.
    // Cosignatures are read after the note, and only ever grow, so every carried line that is not
    // among them is one of the note's own.
    let collected = ledger.store().cosignatures(cp.size)?;
    let own = carried.iter().filter(|l| !collected.contains(l)).count();
    let max_lines = MAX_SIGNATURES.saturating_sub(own);
    let added = ledger
        .store_mut()
        .add_cosignatures(cp.size, &lines, max_lines)?;
    let note = ledger
        .store()
        .checkpoint_at(cp.size)?
        .ok_or(CollectError::NoCheckpoint { size: cp.size })?
        .note;
    Ok(Collected {
        size: cp.size,
        added,
        ignored: ignored + (lines.len() - added),
        note,
    })
}
