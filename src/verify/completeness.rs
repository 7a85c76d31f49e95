//! The completeness step: the bundle carries every adverse entry the log committed to below its
//! checkpoint (`specs/completeness.md`).
//!
//! The log's adverse index is the last leaf before the checkpoint, signed with a pinned log key
//! and proved included, so the witnesses that cosign the checkpoint cover it too. The verifier
//! folds the bundle's adverse entries into the running digest and compares it with the index.

use super::report::Completeness;
use super::{ParsedEntry, Run, Step};
use crate::bundle::Bundle;
use crate::evidence::{AdverseDigest, Evidence};
use crate::keys::KeyId;
use crate::merkle::{self, InclusionProof, RootHash};

/// Checks the bundle's adverse entries against the log's adverse index it carries (`anchor`,
/// parsed in step 1), at its checkpoint `head`.
pub(super) fn check_completeness(
    run: &mut Run<'_>,
    bundle: &Bundle,
    entries: &[ParsedEntry],
    anchor: Option<&ParsedEntry>,
    head: Option<&RootHash>,
) -> Completeness {
    let not_shown = |reason: String| Completeness::NotShown { reason };
    let Some(head) = head else {
        return not_shown("the checkpoint did not verify".into());
    };
    let Some(anchor) = anchor else {
        if bundle.version >= 2 {
            run.fail(
                Step::Completeness,
                None,
                format!(
                    "a version {} bundle must carry the log's adverse index (the entry at index {}, the last before its checkpoint); this one does not, so it cannot show that no adverse entry was withheld",
                    bundle.version,
                    head.size.saturating_sub(1)
                ),
            );
            return not_shown("the bundle lacks the log's adverse index".into());
        }
        return not_shown(format!(
            "bundle version {} predates the log's adverse index: it cannot show that no adverse entry was withheld",
            bundle.version
        ));
    };
    let Evidence::AdverseIndex(ix) = &anchor.evidence else {
        // Step 1 refuses any other kind under the adverse-index key.
        return not_shown("the bundle's adverse index is not one".into());
    };
    let at = anchor.index;
    let origin = run.report.origin.clone().unwrap_or_default();
    let mut problems = Vec::new();
    if Some(at) != head.size.checked_sub(1) {
        problems.push(format!(
            "the adverse index is entry {at}, not the last entry ({}) before the checkpoint of size {}",
            head.size.saturating_sub(1),
            head.size
        ));
    }
    let proof = bundle
        .adverse_index
        .as_ref()
        .map(|e| InclusionProof::new(e.proof.clone()))
        .unwrap_or_else(|| InclusionProof::new(Vec::new()));
    if let Err(err) = head.verify_inclusion(&merkle::leaf_hash(&anchor.entry_hash), at, &proof) {
        problems.push(format!(
            "the adverse index (entry {at}) is not proved to be in the log: {err}"
        ));
    }
    let kid = anchor.statement.header().kid;
    let size = at.saturating_add(1);
    let key = run.trust.log_keys.iter().find(|k| {
        KeyId::of(k.verifier.key()) == kid
            && k.from_size <= size
            && k.to_size.is_none_or(|to| size <= to)
    });
    match key {
        None => problems.push(format!(
            "the adverse index is signed by kid {kid}, which is not a log key the trust file pins for tree size {size}"
        )),
        Some(k) => {
            if let Err(err) = anchor.statement.clone().verify(k.verifier.key()) {
                problems.push(format!("the adverse index: {err}"));
            }
        }
    }
    if ix.log != origin {
        problems.push(format!(
            "the adverse index is for log {:?}, not {origin:?}",
            ix.log
        ));
    }
    if ix.size != at {
        problems.push(format!(
            "the adverse index at entry {at} covers the entries below {}, not those below its own index",
            ix.size
        ));
    }
    let mut acc = AdverseDigest::default();
    for e in entries
        .iter()
        .filter(|e| e.index < at && e.evidence.is_adverse())
    {
        acc.add(e.index, &e.entry_hash);
    }
    if !acc.matches(ix) {
        problems.push(if acc.count < ix.count {
            format!(
                "adverse entries were withheld: the log's adverse index (entry {at}) commits to {} adverse entries below it, and the bundle carries {}",
                ix.count, acc.count
            )
        } else {
            format!(
                "the adverse entries below entry {at} do not match the log's adverse index ({} committed, {} carried, digests differ): the bundle substitutes adverse entries, or the log's index is false",
                ix.count, acc.count
            )
        });
    }
    if problems.is_empty() {
        run.pass(
            Step::Completeness,
            None,
            format!(
                "no adverse entry was withheld up to tree size {}: the bundle carries all {} the log's adverse index (entry {at}, signed by pinned log key {}) commits to",
                head.size,
                ix.count,
                key.map(|k| k.verifier.to_string()).unwrap_or_default()
            ),
        );
        return Completeness::Shown {
            tree_size: head.size,
            adverse_entries: ix.count,
        };
    }
    for p in &problems {
        run.fail(Step::Completeness, None, p.clone());
    }
    not_shown(problems.join("; "))
}
