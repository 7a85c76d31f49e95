//! The completeness step: the bundle carries every adverse entry the log committed to below its
//! checkpoint (`specs/completeness.md`).
//!
//! The log's adverse index is the last entry before the checkpoint, signed with a pinned log key
//! and proved included, so the witnesses that cosign the checkpoint cover it too. The verifier
//! folds the bundle's adverse entries into the running digest and compares it with the index;
//! every earlier index the bundle carries is checked the same way against the entries below it.

use std::collections::HashSet;

use super::report::Completeness;
use super::{ParsedEntry, Run, Step};
use crate::bundle::Bundle;
use crate::evidence::{AdverseDigest, AdverseIndex, Evidence};
use crate::merkle::RootHash;

/// Checks the bundle's adverse entries against the log's adverse index at its checkpoint.
/// `log_signed` holds the index statements whose signature by a pinned log key verified.
pub(super) fn check_completeness(
    run: &mut Run<'_>,
    bundle: &Bundle,
    entries: &[ParsedEntry],
    head: Option<&RootHash>,
    included: &HashSet<u64>,
    log_signed: &HashSet<u64>,
) -> Completeness {
    let not_shown = |reason: String| Completeness::NotShown { reason };
    let Some(head) = head else {
        return not_shown("the checkpoint did not verify".into());
    };
    let origin = run.report.origin.clone().unwrap_or_default();
    let anchor_at = head.size.checked_sub(1);
    let anchor = anchor_at
        .and_then(|at| entries.binary_search_by_key(&at, |e| e.index).ok())
        .and_then(|i| match &entries[i].evidence {
            Evidence::AdverseIndex(ix) => Some((entries[i].index, ix)),
            _ => None,
        });
    let Some((at, anchor)) = anchor else {
        if bundle.version >= 2 {
            run.fail(
                Step::Completeness,
                None,
                format!(
                    "a version {} bundle must end with the log's adverse index at entry {}, the last before its checkpoint of size {}; this one does not, so it cannot show that no adverse entry was withheld",
                    bundle.version,
                    head.size.saturating_sub(1),
                    head.size
                ),
            );
            return not_shown("the bundle lacks the log's adverse index".into());
        }
        return not_shown(format!(
            "bundle version {} predates the log's adverse index: it cannot show that no adverse entry was withheld",
            bundle.version
        ));
    };
    let mut problems = Vec::new();
    if !included.contains(&at) {
        problems.push(format!("its adverse index (entry {at}) is not proved to be in the log"));
    }
    if !log_signed.contains(&at) {
        problems.push(format!(
            "its adverse index (entry {at}) is not signed by a pinned log key"
        ));
    }
    // Every index the bundle carries, the anchor last, checked against the adverse entries below
    // it; the digest is folded once, in index order.
    let mut acc = AdverseDigest::default();
    for e in entries {
        if let Evidence::AdverseIndex(ix) = &e.evidence {
            if let Some(why) = index_mismatch(e.index, ix, &origin, &acc) {
                problems.push(why);
            }
        } else if e.evidence.is_adverse() && e.index < at {
            acc.add(e.index, &e.entry_hash);
        }
    }
    if problems.is_empty() {
        run.pass(
            Step::Completeness,
            None,
            format!(
                "no adverse entry was withheld up to tree size {}: the bundle carries all {} the log's adverse index (entry {at}) commits to",
                head.size, anchor.count
            ),
        );
        return Completeness::Shown {
            tree_size: head.size,
            adverse_entries: anchor.count,
        };
    }
    for p in &problems {
        run.fail(Step::Completeness, None, p.clone());
    }
    not_shown(problems.join("; "))
}

/// Why the index statement at `at` does not match the adverse entries folded into `acc` (those
/// below `at`), if it does not.
fn index_mismatch(
    at: u64,
    ix: &AdverseIndex,
    origin: &str,
    acc: &AdverseDigest,
) -> Option<String> {
    if ix.log != origin {
        return Some(format!(
            "the adverse index at entry {at} is for log {:?}, not {origin:?}",
            ix.log
        ));
    }
    if ix.size != at {
        return Some(format!(
            "the adverse index at entry {at} covers the entries below {}, not those below its own index",
            ix.size
        ));
    }
    if acc.matches(ix) {
        return None;
    }
    Some(if acc.count < ix.count {
        format!(
            "adverse entries were withheld: the log's adverse index at entry {at} commits to {} adverse entries below it, and the bundle carries {}",
            ix.count, acc.count
        )
    } else {
        format!(
            "the adverse entries below entry {at} do not match the log's adverse index there ({} committed, {} carried, digests differ): the bundle substitutes adverse entries, or the log's index is false",
            ix.count, acc.count
        )
    })
}
