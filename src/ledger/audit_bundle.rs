//! What an auditor samples for one export transaction or one deployment
//! (`evledger bundle --export-decision`, `--deployment`; `specs/bundle.md`, "Audit bundles"):
//! the seeds a bundle starts from, before its closure and the log's adverse entries are added.

use crate::evidence::{Evidence, Kind as _};
use crate::evidence::{ExportClassification, ExportDecision, HrDueDiligence};
use crate::ledger::Ledger;
use crate::store::{Store, StoredEntry};

use super::export::ExportError;

fn decode(e: &StoredEntry) -> Result<Evidence, ExportError> {
    let st =
        crate::statement::SignedStatement::parse(&e.statement).map_err(|x| ExportError::Entry {
            index: e.index,
            reason: x.to_string(),
        })?;
    Evidence::from_payload(&e.kind, st.payload()).map_err(|x| ExportError::Entry {
        index: e.index,
        reason: x.to_string(),
    })
}

/// Every entry of `kind` in the log, decoded.
fn all_of<S: Store>(
    ledger: &Ledger<S>,
    kind: &str,
) -> Result<Vec<(StoredEntry, Evidence)>, ExportError> {
    let store = ledger.store();
    let mut out = Vec::new();
    store.for_each_entry_of_kinds(&[kind], 0, store.size()?, &mut |e| {
        out.push(e);
        Ok(())
    })?;
    out.into_iter()
        .map(|e| decode(&e).map(|ev| (e, ev)))
        .collect()
}

/// The seeds of an export decision's audit bundle: every record of the decision (by
/// `decision_id`), the shipments and end-use checks citing any of them, the classifications of
/// each build it ships (citing the build, or naming one of its models), and the due-diligence
/// assessments of its end user. The closure adds what these cite (builds, cited assessments)
/// and their countersignatures; the adverse index adds every adverse entry.
///
/// # Errors
/// `entry` is not an export decision, or the store fails.
pub fn export_decision_seeds<S: Store>(
    ledger: &Ledger<S>,
    entry: &StoredEntry,
) -> Result<Vec<StoredEntry>, ExportError> {
    let Evidence::ExportDecision(decision) = decode(entry)? else {
        return Err(ExportError::Entry {
            index: entry.index,
            reason: format!("is a {}, not an export-decision", entry.kind),
        });
    };
    let store = ledger.store();
    let mut seeds = vec![entry.clone()];
    let mut builds = Vec::new();
    for (e, ev) in all_of(ledger, ExportDecision::KIND)? {
        let Evidence::ExportDecision(d) = ev else {
            continue;
        };
        if d.decision_id != decision.decision_id {
            continue;
        }
        for idx in store.citing(&e.entry_hash)? {
            let c = store.entry(idx)?;
            if matches!(c.kind.as_str(), "shipment" | "end-use-check") {
                seeds.push(c);
            }
        }
        builds.extend(d.items.iter().map(|i| i.build.0));
        seeds.push(e);
    }
    let mut models = Vec::new();
    for b in &builds {
        if let Some(be) = store.find(b)?
            && let Evidence::FirmwareBuild(fb) = decode(&be)?
        {
            models.extend(fb.product.models);
        }
    }
    for (e, ev) in all_of(ledger, ExportClassification::KIND)? {
        let Evidence::ExportClassification(c) = ev else {
            continue;
        };
        if c.build.is_some_and(|b| builds.contains(&b.0))
            || c.model.as_ref().is_some_and(|m| models.contains(m))
        {
            seeds.push(e);
        }
    }
    for (e, ev) in all_of(ledger, HrDueDiligence::KIND)? {
        let Evidence::HrDueDiligence(h) = ev else {
            continue;
        };
        if h.scope.end_user == decision.end_user.name
            && h.scope.country == decision.end_user.country
        {
            seeds.push(e);
        }
    }
    Ok(seeds)
}

/// The seeds of a deployment's audit bundle: the deployment record (the closure adds its build,
/// the build's incidents and countersignatures; the adverse index every adverse entry).
///
/// # Errors
/// `entry` is not a deployment record.
pub fn deployment_seeds(entry: &StoredEntry) -> Result<Vec<StoredEntry>, ExportError> {
    if entry.kind != "deployment-record" {
        return Err(ExportError::Entry {
            index: entry.index,
            reason: format!("is a {}, not a deployment-record", entry.kind),
        });
    }
    Ok(vec![entry.clone()])
}
