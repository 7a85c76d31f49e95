//! `evledger bundle`: select entries, prove them against a checkpoint, write `bundle.cbor`.
//!
//! A selection is closed under evidence: every entry a selected entry cites, every
//! countersignature of a selected entry, every incident that cites a selected build, and every
//! key event about a selected entry's signer key (and, for a key event, about its subject key)
//! are included too, transitively, so that a buyer can follow a claim to everything behind it and
//! judge every signature by log position.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::bundle::{Bundle, BundleEntry, ConsistencyItem};
use crate::evidence::key_standing::LoggedKeyEvent;
use crate::evidence::{Evidence, KeyEvent, Kind as _};
use crate::ledger::{Ledger, LedgerError};
use crate::merkle::{self, Hash};
use crate::statement::SignedStatement;
use crate::store::{Store, StoreError, StoredCheckpoint, StoredEntry};

/// Kinds pulled in because they cite a selected entry (not only because a selected entry cites them).
const CITING_KINDS: &[&str] = &["countersignature", "incident"];

/// What to put in a bundle.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Every entry of the log.
    pub all: bool,
    /// Entries named explicitly (with their closure).
    pub entries: Vec<StoredEntry>,
}

/// Options beyond the selection.
#[derive(Clone, Debug, Default)]
pub struct BundleOptions {
    /// Documents to attach, cited by SHA-256.
    pub attachments: Vec<Vec<u8>>,
    /// An earlier signed checkpoint (note text) to prove consistency from.
    pub since: Option<String>,
}

/// Why a bundle could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A ledger operation failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Nothing was selected.
    #[error("nothing to bundle: the selection is empty")]
    Empty,
    /// A stored entry could not be decoded (run `evledger audit`).
    #[error("entry {index}: {reason}")]
    Entry {
        /// The entry's index.
        index: u64,
        /// What is wrong.
        reason: String,
    },
    /// The `--since` checkpoint is not one of this log's, or contradicts it.
    #[error("--since checkpoint: {0}")]
    Since(String),
}

impl From<StoreError> for ExportError {
    fn from(e: StoreError) -> Self {
        ExportError::Ledger(e.into())
    }
}

/// The closure of `seeds`: their citations, and the countersignatures and incidents citing them, transitively.
///
/// # Errors
/// Storage errors or entries that do not decode.
pub fn closure<S: Store>(
    ledger: &Ledger<S>,
    seeds: &[StoredEntry],
) -> Result<BTreeSet<u64>, ExportError> {
    let store = ledger.store();
    let mut seen = BTreeSet::new();
    let mut queue: Vec<StoredEntry> = seeds.to_vec();
    while let Some(e) = queue.pop() {
        if !seen.insert(e.index) {
            continue;
        }
        let evidence = evidence_of(&e)?;
        for target in evidence.references() {
            match store.find(&target.entry)? {
                Some(t) if !seen.contains(&t.index) => queue.push(t),
                Some(_) => {}
                None => {
                    return Err(ExportError::Entry {
                        index: e.index,
                        reason: format!(
                            "{} cites {}, which is not in the ledger",
                            target.path,
                            crate::hex::encode(&target.entry)
                        ),
                    });
                }
            }
        }
        // The key events that decide whether this entry's signature counts: those about its
        // signer key and, for a key event, about its subject key too (whether it may be revoked
        // depends on the subject's roles, which its own key events give it).
        let st = SignedStatement::parse(&e.statement).map_err(|x| ExportError::Entry {
            index: e.index,
            reason: x.to_string(),
        })?;
        let signer = st.header().kid;
        let kids = match &evidence {
            Evidence::KeyEvent(event) => LoggedKeyEvent {
                index: e.index,
                signer,
                event,
            }
            .key_ids(),
            _ => vec![signer],
        };
        for kid in kids {
            for idx in store.citing(&kid.0)? {
                if !seen.contains(&idx) {
                    let k = store.entry(idx)?;
                    if k.kind == KeyEvent::KIND {
                        queue.push(k);
                    }
                }
            }
        }
        for idx in store.citing(&e.entry_hash)? {
            if seen.contains(&idx) {
                continue;
            }
            let c = store.entry(idx)?;
            if CITING_KINDS.contains(&c.kind.as_str()) {
                queue.push(c);
            }
        }
    }
    Ok(seen)
}

fn evidence_of(e: &StoredEntry) -> Result<Evidence, ExportError> {
    let bad = |reason: String| ExportError::Entry {
        index: e.index,
        reason,
    };
    let st = SignedStatement::parse(&e.statement).map_err(|x| bad(x.to_string()))?;
    Evidence::from_payload(&e.kind, st.payload()).map_err(|x| bad(x.to_string()))
}

/// Builds a bundle: the selection's closure, proved against a checkpoint that covers it.
///
/// # Errors
/// [`ExportError`] if the selection is empty, a stored entry is broken, or `since` is not this log's.
pub fn build<S: Store>(
    ledger: &mut Ledger<S>,
    selection: &Selection,
    options: &BundleOptions,
) -> Result<Bundle, ExportError> {
    let indexes: Vec<u64> = if selection.all {
        (0..ledger.store().size()?).collect()
    } else {
        closure(ledger, &selection.entries)?.into_iter().collect()
    };
    let Some(&max_index) = indexes.last() else {
        return Err(ExportError::Empty);
    };
    let since = match &options.since {
        Some(note) => Some(check_since(ledger, note)?),
        None => None,
    };
    if since.as_ref().is_some_and(|(size, _)| *size == 0) {
        return Err(ExportError::Since(
            "it is the checkpoint of the empty tree, which every tree extends: nothing to prove"
                .into(),
        ));
    }
    let min_size = (max_index + 1).max(since.as_ref().map_or(0, |(size, _)| *size));
    let cp = covering_checkpoint(ledger, min_size)?;
    // Every entry and proof from one snapshot, read under one shared lock.
    let (entries, consistency, kept) = ledger.store().read_snapshot(|store| {
        let mut entries = Vec::with_capacity(indexes.len());
        let mut kept: Vec<Vec<u8>> = Vec::new();
        for idx in indexes {
            let e = store.entry(idx)?;
            kept.extend(kept_documents(store, &e)?);
            let proof = merkle::prove_inclusion(store, idx, cp.size).map_err(proof_err)?;
            entries.push(BundleEntry {
                index: idx,
                statement: e.statement,
                proof: proof.into_hashes(),
            });
        }
        let mut consistency = Vec::new();
        if let Some((old_size, note)) = since
            && old_size < cp.size
        {
            let proof = merkle::prove_consistency(store, old_size, cp.size).map_err(proof_err)?;
            consistency.push(ConsistencyItem {
                from: note,
                proof: proof.into_hashes(),
            });
        }
        Ok::<_, ExportError>((entries, consistency, kept))
    })?;
    let attachments: BTreeMap<String, Vec<u8>> = options
        .attachments
        .iter()
        .chain(&kept)
        .map(|d| (crate::hex::encode(&Sha256::digest(d)), d.clone()))
        .collect();
    Ok(Bundle {
        checkpoint: cp.note,
        entries,
        consistency,
        attachments,
    })
}

/// The documents the ledger keeps for an entry and attaches to every bundle holding it: a
/// firmware build's Sigstore bundle (and managed key), so that a buyer can re-check it offline.
fn kept_documents<S: Store>(store: &S, e: &StoredEntry) -> Result<Vec<Vec<u8>>, ExportError> {
    let Evidence::FirmwareBuild(fb) = evidence_of(e)? else {
        return Ok(Vec::new());
    };
    let Some(sg) = &fb.sigstore else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (field, digest) in [
        ("sigstore.bundle_sha256", Some(&sg.bundle_sha256)),
        ("sigstore.key_sha256", sg.key_sha256.as_ref()),
    ] {
        let Some(d) = digest else { continue };
        match store.document(&d.0)? {
            Some(bytes) => out.push(bytes),
            None => {
                return Err(ExportError::Entry {
                    index: e.index,
                    reason: format!(
                        "{field}: the ledger does not hold document {d}; run evledger audit"
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// The latest checkpoint if it covers `min_size` entries, else a freshly signed one.
fn covering_checkpoint<S: Store>(
    ledger: &mut Ledger<S>,
    min_size: u64,
) -> Result<StoredCheckpoint, ExportError> {
    match ledger.store().latest_checkpoint()? {
        Some(cp) if cp.size >= min_size => Ok(cp),
        _ => Ok(ledger.checkpoint()?),
    }
}

/// Verifies an earlier checkpoint against this log's key and tree; returns its size and note.
fn check_since<S: Store>(ledger: &Ledger<S>, note: &str) -> Result<(u64, String), ExportError> {
    let v = ledger
        .verify_checkpoint(note)
        .map_err(|e| ExportError::Since(e.to_string()))?;
    let cp = v.checkpoint();
    let size = ledger.store().size()?;
    if cp.size > size {
        return Err(ExportError::Since(format!(
            "its size {} is beyond this log (size {size})",
            cp.size
        )));
    }
    let root: Hash = merkle::root(ledger.store(), cp.size)?;
    if root != cp.root {
        return Err(ExportError::Since(format!(
            "its root at size {} differs from this log's: the log key signed two histories",
            cp.size
        )));
    }
    Ok((cp.size, note.to_owned()))
}

fn proof_err(e: merkle::ProofError<StoreError>) -> ExportError {
    match e {
        merkle::ProofError::Source(s) => s.into(),
        other => StoreError::Corrupt(other.to_string()).into(),
    }
}

/// Reads the files to attach.
///
/// # Errors
/// The first file that cannot be read, with its path.
pub fn read_attachments(paths: &[impl AsRef<Path>]) -> Result<Vec<Vec<u8>>, String> {
    paths
        .iter()
        .map(|p| std::fs::read(p.as_ref()).map_err(|e| format!("{}: {e}", p.as_ref().display())))
        .collect()
}
