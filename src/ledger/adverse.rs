//! The log's adverse index: before each checkpoint the ledger appends an `adverse-index`
//! statement, signed with the log key, committing to every adverse entry below it
//! (`specs/completeness.md`). Exports carry those entries in full; audit recomputes every index.

use ed25519_dalek::SigningKey;

use super::{LedgerError, new_entry};
use crate::evidence::{AdverseDigest, AdverseIndex, Evidence, Kind, MAY_BE_ADVERSE, Sha256Hex};
use crate::statement::{SignedStatement, Signer};
use crate::store::{LedgerInfo, NewEntry, StoreError, StoreRead, StoredEntry};

/// The CWT subject of every index statement.
pub const INDEX_SUBJECT: &str = "adverse-index";

/// Decodes a stored entry's evidence.
fn evidence(e: &StoredEntry) -> Result<Evidence, StoreError> {
    let bad = |why: String| StoreError::Corrupt(format!("entry {}: {why}", e.index));
    let st = SignedStatement::parse(&e.statement).map_err(|x| bad(x.to_string()))?;
    Evidence::from_payload(&e.kind, st.payload()).map_err(|x| bad(x.to_string()))
}

/// The index statement at `at`, if the entry there is one.
pub(crate) fn index_at<R: StoreRead + ?Sized>(
    r: &R,
    at: u64,
) -> Result<Option<AdverseIndex>, StoreError> {
    let e = r.entry(at)?;
    if e.kind != AdverseIndex::KIND {
        return Ok(None);
    }
    match evidence(&e)? {
        Evidence::AdverseIndex(ix) if ix.size == at => Ok(Some(ix)),
        _ => Err(StoreError::Corrupt(format!(
            "entry {at}: an adverse-index statement that does not cover the entries before it"
        ))),
    }
}

/// Whether a checkpoint of `size` is anchored: its last entry is the log's index of the adverse
/// entries before it (or the tree is empty, which has none).
pub(crate) fn anchored<R: StoreRead + ?Sized>(r: &R, size: u64) -> Result<bool, StoreError> {
    match size.checked_sub(1) {
        None => Ok(true),
        Some(last) => Ok(index_at(r, last)?.is_some()),
    }
}

/// Calls `f` with every adverse entry at an index in `from .. below`, in index order.
pub(crate) fn for_each_adverse<R: StoreRead + ?Sized>(
    r: &R,
    from: u64,
    below: u64,
    f: &mut dyn FnMut(StoredEntry) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    r.for_each_entry_of_kinds(MAY_BE_ADVERSE, from, below, &mut |e| {
        if evidence(&e)?.is_adverse() {
            f(e)?;
        }
        Ok(())
    })
}

/// The newest index statement below `size` and its position: the one just below the latest
/// checkpoint when that checkpoint is anchored, else found by kind.
fn previous_index<R: StoreRead + ?Sized>(
    r: &R,
    size: u64,
) -> Result<Option<AdverseIndex>, StoreError> {
    if let Some(cp) = r.latest_checkpoint()?
        && cp.size <= size
        && let Some(last) = cp.size.checked_sub(1)
        && let Some(ix) = index_at(r, last)?
    {
        return Ok(Some(ix));
    }
    let mut newest = None;
    r.for_each_entry_of_kinds(&[AdverseIndex::KIND], 0, size, &mut |e| {
        newest = Some(e.index);
        Ok(())
    })?;
    match newest {
        Some(at) => index_at(r, at),
        None => Ok(None),
    }
}

/// The running digest of the adverse entries below `size`: the previous index statement's,
/// extended with the adverse entries after it.
fn digest_below<R: StoreRead + ?Sized>(r: &R, size: u64) -> Result<AdverseDigest, StoreError> {
    let (mut acc, from) = match previous_index(r, size)? {
        Some(prev) => (
            AdverseDigest::resume(prev.count, prev.digest.0, prev.size),
            prev.size + 1,
        ),
        None => (AdverseDigest::default(), 0),
    };
    for_each_adverse(r, from, size, &mut |e| {
        acc.add(e.index, &e.entry_hash);
        Ok(())
    })?;
    Ok(acc)
}

/// Whether the log has anything to commit to below `size`: at least one adverse entry. A
/// checkpoint is preceded by the log's index only then, or when a bundle asks for it.
pub(crate) fn has_adverse<R: StoreRead + ?Sized>(r: &R, size: u64) -> Result<bool, StoreError> {
    if previous_index(r, size)?.is_some_and(|p| p.count > 0) {
        return Ok(true);
    }
    let mut any = false;
    for_each_adverse(r, 0, size, &mut |_| {
        any = true;
        Ok(())
    })?;
    Ok(any)
}

/// The index statement to append at `size` (covering the entries `0 .. size`), signed with
/// `key`, and how many adverse entries it commits to.
///
/// # Errors
/// Storage errors, a stored entry that does not decode, or a signing failure.
pub(crate) fn next_index<R: StoreRead + ?Sized>(
    r: &R,
    info: &LedgerInfo,
    key: &SigningKey,
    size: u64,
) -> Result<(NewEntry, u64), LedgerError> {
    let acc = digest_below(r, size)?;
    let index = Evidence::AdverseIndex(AdverseIndex {
        log: info.origin.clone(),
        size,
        count: acc.count,
        digest: Sha256Hex(acc.digest),
    });
    // The statement's iat is the last covered entry's, so the same log yields the same bytes.
    let iat = match size.checked_sub(1) {
        Some(last) => r.entry(last)?.issued_at,
        None => 0,
    };
    let signer = Signer {
        key,
        issuer: &info.origin,
        subject: INDEX_SUBJECT,
        x5chain: Vec::new(),
    };
    Ok((new_entry(&index, &signer, iat)?, acc.count))
}
