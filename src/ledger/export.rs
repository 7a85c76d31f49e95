//! `evledger bundle`: select entries, prove them against a checkpoint, write `bundle.cbor`.
//!
//! A selection is closed under evidence: every entry a selected entry cites, every
//! countersignature of a selected entry, every incident that cites a selected build, every
//! certification that supersedes a selected certification, and every
//! key event about a selected entry's signer key (and, for a key event, about its subject key)
//! are included too, transitively, so that a buyer can follow a claim to everything behind it and
//! judge every signature by log position.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::bundle::{Bundle, BundleEntry, ConsistencyItem};
use crate::evidence::key_standing::LoggedKeyEvent;
use crate::evidence::{AdverseIndex, Evidence, KeyEvent, Kind as _};
use crate::ledger::{Ledger, LedgerError, adverse};
use crate::merkle::{self, Hash};
use crate::statement::SignedStatement;
use crate::store::{Store, StoreError, StoredCheckpoint, StoredEntry};

/// Kinds pulled in because they cite a selected entry (not only because a selected entry cites them).
const CITING_KINDS: &[&str] = &["countersignature", "incident", "certification"];

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
    build_with_progress(ledger, selection, options, &|_, _| {})
}

/// [`build`], calling `progress(done, total)` every 256 entries read and proved, and at the end.
///
/// # Errors
/// As [`build`].
pub fn build_with_progress<S: Store>(
    ledger: &mut Ledger<S>,
    selection: &Selection,
    options: &BundleOptions,
    progress: &dyn Fn(u64, u64),
) -> Result<Bundle, ExportError> {
    if (!selection.all && selection.entries.is_empty()) || ledger.store().size()? == 0 {
        return Err(ExportError::Empty);
    }
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
    let since_size = since.as_ref().map_or(0, |(size, _)| *size);
    let mut min_size = if selection.all {
        ledger.store().size()?
    } else {
        let seeds = closure(ledger, &selection.entries)?;
        seeds.last().map_or(0, |&i| i + 1)
    }
    .max(since_size);
    // The checkpoint decides which adverse entries the bundle must carry, and those (with their
    // closure) may need a larger checkpoint: at most a second round, whose fresh checkpoint
    // covers the whole log.
    let (cp, anchored, indexes) = loop {
        let (cp, anchored) = covering_checkpoint(ledger, min_size)?;
        let indexes: Vec<u64> = if selection.all {
            (0..cp.size).collect()
        } else {
            let mut seeds = selection.entries.clone();
            if anchored {
                seeds.extend(adverse_seeds(ledger, cp.size)?);
            }
            closure(ledger, &seeds)?.into_iter().collect()
        };
        match indexes.last() {
            None => return Err(ExportError::Empty),
            Some(&max) if max < cp.size => break (cp, anchored, indexes),
            Some(&max) => min_size = max + 1,
        }
    };
    // Every entry and proof from one snapshot, read under one shared lock.
    let (entries, anchor, consistency, kept) = ledger.store().read_snapshot(|store| {
        let mut entries = Vec::with_capacity(indexes.len());
        let mut kept: Vec<Vec<u8>> = Vec::new();
        let total = indexes.len() as u64;
        for (i, idx) in indexes.into_iter().enumerate() {
            if i % 256 == 0 {
                progress(i as u64, total);
            }
            let e = store.entry(idx)?;
            // The log's own index statements are not evidence; the one that anchors the
            // checkpoint travels under its own key.
            if e.kind == AdverseIndex::KIND {
                continue;
            }
            kept.extend(kept_documents(store, &e)?);
            let proof = merkle::prove_inclusion(store, idx, cp.size).map_err(proof_err)?;
            entries.push(BundleEntry {
                index: idx,
                statement: e.statement,
                proof: proof.into_hashes(),
            });
        }
        let anchor = match cp.size.checked_sub(1) {
            Some(at) if anchored => {
                let e = store.entry(at)?;
                let proof = merkle::prove_inclusion(store, at, cp.size).map_err(proof_err)?;
                Some(BundleEntry {
                    index: at,
                    statement: e.statement,
                    proof: proof.into_hashes(),
                })
            }
            _ => None,
        };
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
        Ok::<_, ExportError>((entries, anchor, consistency, kept))
    })?;
    if entries.is_empty() {
        return Err(ExportError::Empty);
    }
    let attachments: BTreeMap<String, Vec<u8>> = options
        .attachments
        .iter()
        .chain(&kept)
        .map(|d| (crate::hex::encode(&Sha256::digest(d)), d.clone()))
        .collect();
    Ok(Bundle {
        // A bundle shows completeness only against an anchored checkpoint (a read-only ledger
        // whose latest checkpoint predates the adverse index cannot sign one): it is then written
        // as version 1, which verifiers read as "completeness not shown".
        version: if anchored {
            crate::bundle::BUNDLE_VERSION
        } else {
            crate::bundle::OLDEST_BUNDLE_VERSION
        },
        checkpoint: cp.note,
        entries,
        adverse_index: anchor,
        consistency,
        attachments,
    })
}

/// The documents the ledger keeps for an entry and attaches to every bundle holding it: a
/// firmware build's Sigstore and attestation bundles (and managed keys), so that a buyer can re-check it offline.
fn kept_documents<S: Store>(store: &S, e: &StoredEntry) -> Result<Vec<Vec<u8>>, ExportError> {
    let Evidence::FirmwareBuild(fb) = evidence_of(e)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (field, d) in fb.kept_documents() {
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

/// The latest checkpoint if it covers `min_size` entries and is anchored by the log's adverse
/// index, else a freshly signed one (which is); with whether it is anchored. A ledger that cannot
/// be written falls back to its latest covering checkpoint, anchored or not.
///
/// With a witness quorum, only the published checkpoint is used (nothing is signed here: a fresh
/// checkpoint is not published until the witnesses cosign it); if it does not cover `min_size`
/// entries, the bundle is refused (`specs/witness.md` §8).
fn covering_checkpoint<S: Store>(
    ledger: &mut Ledger<S>,
    min_size: u64,
) -> Result<(StoredCheckpoint, bool), ExportError> {
    if ledger.witness_quorum()? > 0 {
        let cp = ledger.published_covering(min_size.saturating_sub(1))?;
        let anchored = adverse::anchored(ledger.store(), cp.size)?;
        return Ok((cp, anchored));
    }
    if let Some(cp) = ledger.store().latest_checkpoint()?
        && cp.size >= min_size
    {
        let anchored = adverse::anchored(ledger.store(), cp.size)?;
        if anchored || ledger.store().check_writable().is_err() {
            return Ok((cp, anchored));
        }
    }
    Ok((ledger.anchored_checkpoint()?, true))
}

/// The entries a bundle proved against an anchored checkpoint of `size` must carry: every adverse
/// entry before the adverse index just below it (`specs/completeness.md`).
fn adverse_seeds<S: Store>(ledger: &Ledger<S>, size: u64) -> Result<Vec<StoredEntry>, ExportError> {
    let store = ledger.store();
    let Some(anchor) = size.checked_sub(1) else {
        return Ok(Vec::new());
    };
    let mut seeds = Vec::new();
    adverse::for_each_adverse(store, 0, anchor, &mut |e| {
        seeds.push(e);
        Ok(())
    })?;
    Ok(seeds)
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
