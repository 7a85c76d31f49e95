//! `evledger audit`: recompute everything from the statements and compare it with what is stored.
//!
//! For every entry: the entry hash, the indexed header columns, the statement profile, the
//! payload's schema and the signature (under the signer key registered for its kid). For the
//! tree: every stored node, recomputed by replaying the leaves, and the node count. For every
//! checkpoint: its root at its size, its body, and its signature by the log key. For every
//! adverse index: that it commits to exactly the adverse entries before it.

use sha2::{Digest as _, Sha256};

use crate::checkpoint;
use crate::evidence::{AdverseDigest, Evidence};
use crate::ledger::Ledger;
use crate::merkle::{self, Frontier};
use crate::statement::{self, SignedStatement};
use crate::store::{Store, StoreError};

/// One thing the audit found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The entry index, or the checkpoint size, it concerns.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

/// The audit's result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries checked.
    pub entries: u64,
    /// Stored nodes checked.
    pub nodes: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// Everything found wrong; empty if the ledger holds.
    pub findings: Vec<Finding>,
}

impl AuditReport {
    /// Whether everything held.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Audits the whole ledger; `progress(done, total)` is called as entries are checked.
///
/// # Errors
/// Only when storage cannot be read; every inconsistency is a [`Finding`].
pub fn audit<S: Store>(
    ledger: &Ledger<S>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<AuditReport, StoreError> {
    let store = ledger.store();
    let size = store.size()?;
    let checkpoints = store.checkpoints()?;
    let log_verifier = ledger.log_verifiers().ok();
    let mut report = AuditReport::default();
    let mut frontier = Frontier::empty();
    let mut next_cp = checkpoints.iter().peekable();
    let find = |at: String, message: String| Finding { at, message };
    let mut findings = Vec::new();

    // A checkpoint of size 0 commits to the empty tree.
    check_checkpoints(
        &mut next_cp,
        &frontier,
        &log_verifier,
        ledger,
        &mut findings,
    );
    let mut expected_index = 0u64;
    let mut expected_refs = 0u64;
    let mut adverse = AdverseDigest::default();
    let log_keys = ledger.log_keys().unwrap_or_default();
    store.for_each_entry(&mut |e| {
        let at = format!("entry {}", e.index);
        if e.index != expected_index {
            findings.push(find(
                at.clone(),
                format!("index gap: expected {expected_index}"),
            ));
        }
        expected_index = e.index + 1;
        let actual = statement::entry_hash(&e.statement);
        if actual != e.entry_hash {
            findings.push(find(
                at.clone(),
                "stored entry hash is not SHA-256 of the statement".into(),
            ));
        }
        match SignedStatement::parse(&e.statement) {
            Err(err) => findings.push(find(at.clone(), err.to_string())),
            Ok(st) => {
                let h = st.header();
                if h.kind != e.kind
                    || h.issuer != e.issuer
                    || h.subject != e.subject
                    || h.issued_at != e.issued_at
                {
                    findings.push(find(
                        at.clone(),
                        "indexed kind/issuer/subject/iat differ from the statement".into(),
                    ));
                }
                let evidence = match Evidence::from_payload(&h.kind, st.payload()) {
                    Ok(ev) => Some(ev),
                    Err(err) => {
                        findings.push(find(at.clone(), format!("payload: {err}")));
                        None
                    }
                };
                // The documents the ledger promised to keep: cited Sigstore and attestation
                // bundles (and managed keys).
                if let Some(Evidence::FirmwareBuild(fb)) = &evidence {
                    for (field, d) in fb.kept_documents() {
                        match store.document(&d.0)? {
                            None => findings.push(find(
                                at.clone(),
                                format!("{field}: document {d} is not stored"),
                            )),
                            Some(bytes) if Sha256::digest(&bytes).as_slice() != d.0 => findings
                                .push(find(
                                    at.clone(),
                                    format!(
                                        "{field}: stored document {d} does not hash to its key"
                                    ),
                                )),
                            Some(_) => {}
                        }
                    }
                }
                let signer = store.signer_key(&h.kid)?;
                // The log's adverse index must commit to exactly the adverse entries before it.
                match &evidence {
                    Some(Evidence::AdverseIndex(ix)) => {
                        if !signer.is_some_and(|k| log_keys.contains(&k)) {
                            findings.push(find(
                                at.clone(),
                                "adverse index not signed by a log key of this ledger".into(),
                            ));
                        }
                        if ix.log != ledger.info().origin || ix.size != e.index {
                            findings.push(find(
                                at.clone(),
                                format!(
                                    "adverse index for log {:?} covering the entries below {}, not this log's entries below its own index",
                                    ix.log, ix.size
                                ),
                            ));
                        } else if !adverse.matches(ix) {
                            findings.push(find(
                                at.clone(),
                                format!(
                                    "the adverse index commits to {} adverse entries with digest {}, the log holds {} with digest {}",
                                    ix.count,
                                    ix.digest,
                                    adverse.count,
                                    crate::hex::encode(&adverse.digest)
                                ),
                            ));
                        }
                    }
                    Some(ev) if ev.is_adverse() => {
                        adverse.add(e.index, &actual);
                    }
                    _ => {}
                }
                // The refs index decides what bundles carry: every term must be there.
                if let (Some(ev), Some(key)) = (&evidence, &signer) {
                    let mut terms = crate::ledger::index_terms(ev, key);
                    terms.sort();
                    terms.dedup();
                    for t in &terms {
                        if !store.has_ref(t, e.index)? {
                            findings.push(find(
                                at.clone(),
                                format!("refs index lacks {}", crate::hex::encode(t)),
                            ));
                        }
                    }
                    expected_refs += terms.len() as u64;
                }
                match signer {
                    None => findings.push(find(
                        at.clone(),
                        format!("no registered key for kid {}", h.kid),
                    )),
                    Some(key) => {
                        if let Err(err) = st.verify(&key) {
                            findings.push(find(at.clone(), err.to_string()));
                        }
                    }
                }
            }
        }
        // Replay the leaf (from the recomputed hash) and compare every node it completes.
        for n in frontier.push(merkle::leaf_hash(&actual)) {
            match store.node(n.level, n.index) {
                Ok(stored) if stored == n.hash => {}
                Ok(_) => findings.push(find(
                    at.clone(),
                    format!("stored node (level {}, index {}) differs", n.level, n.index),
                )),
                Err(StoreError::Corrupt(m)) => findings.push(find(at.clone(), m)),
                Err(other) => return Err(other),
            }
            report.nodes += 1;
        }
        check_checkpoints(
            &mut next_cp,
            &frontier,
            &log_verifier,
            ledger,
            &mut findings,
        );
        report.entries += 1;
        progress(report.entries, size);
        Ok(())
    })?;
    let stored_refs = store.ref_count()?;
    if stored_refs != expected_refs {
        findings.push(find(
            "refs".into(),
            format!(
                "{stored_refs} rows in the refs index, {expected_refs} expected from the payloads"
            ),
        ));
    }
    store.for_each_document(&mut |key, bytes| {
        if Sha256::digest(&bytes).as_slice() != key {
            findings.push(find(
                format!("document {}", crate::hex::encode(&key)),
                "stored bytes do not hash to their key".into(),
            ));
        }
        Ok(())
    })?;
    let stored_nodes = store.node_count()?;
    if stored_nodes != report.nodes {
        findings.push(find(
            "tree".into(),
            format!(
                "{stored_nodes} nodes stored, {} expected for {size} entries",
                report.nodes
            ),
        ));
    }
    for cp in next_cp {
        findings.push(find(
            format!("checkpoint {}", cp.size),
            "size is beyond the log".into(),
        ));
    }
    if log_verifier.is_none() {
        findings.push(find(
            "ledger".into(),
            "origin is not a valid signed-note key name".into(),
        ));
    }
    report.checkpoints = checkpoints.len() as u64;
    report.findings = findings;
    Ok(report)
}

fn check_checkpoints<'a, S: Store>(
    next: &mut std::iter::Peekable<std::slice::Iter<'a, crate::store::StoredCheckpoint>>,
    frontier: &Frontier,
    verifiers: &Option<Vec<crate::note::NoteVerifier>>,
    ledger: &Ledger<S>,
    findings: &mut Vec<Finding>,
) {
    while let Some(cp) = next.next_if(|cp| cp.size == frontier.size()) {
        let at = format!("checkpoint {}", cp.size);
        let root = frontier.root();
        if cp.root != root {
            findings.push(Finding {
                at: at.clone(),
                message: "stored root differs from the root recomputed from the statements".into(),
            });
        }
        let Some(vs) = verifiers else { continue };
        let verified = vs
            .iter()
            .map(|v| checkpoint::verify(&cp.note, v))
            .reduce(|a, b| a.or(b));
        match verified.unwrap_or(Err(checkpoint::CheckpointError::Note(
            crate::note::NoteError::NoTrustedSignature,
        ))) {
            Err(e) => findings.push(Finding {
                at,
                message: format!("signed note: {e}"),
            }),
            Ok(vc) => {
                let c = vc.checkpoint();
                if c.size != cp.size || c.root != root || c.origin != ledger.info().origin {
                    findings.push(Finding {
                        at,
                        message:
                            "signed note's origin, size or root differ from the recomputed tree"
                                .into(),
                    });
                }
            }
        }
    }
}
