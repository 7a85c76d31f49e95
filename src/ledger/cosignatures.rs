//! Collecting witness cosignatures into the ledger: `evledger checkpoint --cosigned FILE`.
//!
//! A witness answers with the checkpoint note it was given plus its cosignature line. The ledger
//! keeps such lines beside the stored checkpoint, and every read of the checkpoint (`evledger
//! checkpoint`, bundles) presents the note with them appended.
//!
//! A stored line can never be removed, and every later bundle at that size carries it: a line
//! that does not verify under a witness a buyer trusts would fail every such bundle for that
//! buyer, and junk lines would fill the note's room for signatures. So every line is verified
//! before anything is stored, against the witnesses the operator configured
//! ([`Ledger::add_witness`]): it must carry the name and key id of a configured witness and be a
//! valid `cosignature/v1` over the checkpoint's text. One line that fails refuses the whole
//! collection, and nothing is stored. Lines the stored note already carries and lines under the
//! log's own key name and key id (log signatures, not cosignatures) are not stored, and not
//! checked again.

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::ledger::{Ledger, LedgerError, publish};
use crate::note::{MAX_SIGNATURES, Note, NoteError};
use crate::store::{Store, StoreError, StoreWrite};

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
    /// No witness is configured, so no cosignature can be checked.
    #[error("no witness is configured for this ledger, so no cosignature can be checked")]
    NoWitnesses,
    /// A signature line carries a name and key id that no configured witness has.
    #[error("line {line}: the signature of {name:?} (key id {}) is not from a configured witness{}", crate::hex::encode(.key_id), .configured.map(|k| format!(": the configured witness {name:?} has key id {}", crate::hex::encode(&k))).unwrap_or_default())]
    UnknownWitness {
        /// The line of the file (counting from 1).
        line: usize,
        /// The name the line carries.
        name: String,
        /// The key id the line carries.
        key_id: [u8; 4],
        /// The key id of the configured witness of that name, if there is one.
        configured: Option<[u8; 4]>,
    },
    /// A line of a configured witness is malformed or does not verify over the checkpoint.
    #[error(
        "line {line}: the cosignature of witness {witness:?} does not verify over this checkpoint: {reason}"
    )]
    BadCosignature {
        /// The line of the file (counting from 1).
        line: usize,
        /// The witness's name.
        witness: String,
        /// Why it does not verify.
        reason: NoteError,
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
    /// Whether the checkpoint is now published: cosigned by the witness quorum (always true with
    /// quorum 0).
    pub published: bool,
}

/// What one note offers to store, once every line has been checked.
struct Plan {
    size: u64,
    lines: Vec<String>,
    offered: usize,
    max_lines: usize,
}

/// Stores the cosignature lines of `notes`, each a copy of one of the ledger's checkpoints,
/// after checking every line against the configured witnesses; returns what each note added.
///
/// # Errors
/// The index of the note at fault (0 for [`CollectError::NoWitnesses`] and failures of the
/// store's write) and the [`CollectError`]; nothing is stored on error, from any note.
pub fn collect<S: Store>(
    ledger: &mut Ledger<S>,
    notes: &[&str],
) -> Result<Vec<Collected>, (usize, CollectError)> {
    let witnesses = ledger.witnesses().map_err(|e| (0, e.into()))?;
    if witnesses.is_empty() {
        return Err((0, CollectError::NoWitnesses));
    }
    let log_key = ledger.log_verifier().map_err(|e| (0, e.into()))?;
    // Checked against reads made before the write: checkpoints and witnesses are append-only,
    // so what a line was checked against still holds when it is stored.
    let mut plans = Vec::with_capacity(notes.len());
    for (i, text) in notes.iter().enumerate() {
        plans.push(plan(ledger, &witnesses, &log_key, text).map_err(|e| (i, e))?);
    }
    let added = ledger
        .store_mut()
        .write(|tx| {
            // Publication is decided in the transaction that stores the lines that reach the
            // quorum (`publish`), so a crash never leaves one without the other.
            plans
                .iter()
                .map(|p| {
                    let added = tx.add_cosignatures(p.size, &p.lines, p.max_lines)?;
                    Ok((added, publish::publish_if_quorum(tx, p.size)?))
                })
                .collect::<Result<Vec<(usize, bool)>, StoreError>>()
        })
        .map_err(|e| (0, e.into()))?;
    let mut out = Vec::with_capacity(plans.len());
    for (p, (added, published)) in plans.iter().zip(added) {
        let note = ledger
            .store()
            .checkpoint_at(p.size)
            .map_err(|e| (0, e.into()))?
            .ok_or((0, CollectError::NoCheckpoint { size: p.size }))?
            .note;
        out.push(Collected {
            size: p.size,
            added,
            ignored: p.offered - added,
            note,
            published,
        });
    }
    Ok(out)
}

/// Checks one cosigned note against the stored checkpoint of its size and the configured
/// witnesses, and finds the lines it would add.
fn plan<S: Store>(
    ledger: &Ledger<S>,
    witnesses: &[crate::ledger::witnesses::Witness],
    log_key: &crate::note::NoteVerifier,
    cosigned: &str,
) -> Result<Plan, CollectError> {
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
    let carried: Vec<String> = stored_note
        .signatures()
        .iter()
        .map(|s| s.to_string())
        .collect();
    // The file's text lines, the blank line, then one signature per line.
    let first_signature_line = given.text().lines().count() + 2;
    let mut lines: Vec<String> = Vec::new();
    for (j, sig) in given.signatures().iter().enumerate() {
        let line = sig.to_string();
        let is_log_signature = sig.name == log_key.name() && sig.key_id == log_key.key_id();
        if is_log_signature || carried.contains(&line) || lines.contains(&line) {
            continue;
        }
        let at = first_signature_line + j;
        let Some(w) = witnesses
            .iter()
            .find(|w| w.verifier.name() == sig.name && w.verifier.key_id() == sig.key_id)
        else {
            return Err(CollectError::UnknownWitness {
                line: at,
                name: sig.name.clone(),
                key_id: sig.key_id,
                configured: witnesses
                    .iter()
                    .find(|w| w.verifier.name() == sig.name)
                    .map(|w| w.verifier.key_id()),
            });
        };
        // This line alone, over the checkpoint's text.
        let mut one = Note::new(given.text()).map_err(CollectError::MalformedNote)?;
        one.add_signature(sig.clone());
        if let Err(reason) = w.verifier.verify(&one) {
            return Err(CollectError::BadCosignature {
                line: at,
                witness: sig.name.clone(),
                reason,
            });
        }
        lines.push(line);
    }
    // The note's own lines (as the log stored it) stay; the rest of its room is for cosignatures.
    // Cosignatures are read after the note, and only ever grow, so every carried line that is not
    // among them is one of the note's own.
    let collected = ledger.store().cosignatures(cp.size)?;
    let own = carried.iter().filter(|l| !collected.contains(l)).count();
    Ok(Plan {
        size: cp.size,
        offered: given.signatures().len(),
        lines,
        max_lines: MAX_SIGNATURES.saturating_sub(own),
    })
}
