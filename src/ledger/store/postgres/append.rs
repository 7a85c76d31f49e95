//! An append in one statement: every entry, node, signer, reference and document of a batch goes
//! to the server as arrays (`unnest`), so that an append costs one round trip whatever its size
//! (`specs/store.md`, "PostgreSQL").

use std::collections::{HashMap, HashSet};

use sha2::{Digest as _, Sha256};

use super::{PostgresTx, to_i64};
use crate::keys::KeyId;
use crate::merkle::{self, Frontier, Hash};
use crate::store::{NewEntry, StoreError};

/// The whole append. Each data-modifying `WITH` runs exactly once, to completion, whether or not
/// the final `SELECT` reads it; all of them insert nothing when `dup` finds an entry already
/// stored with one of the batch's hashes, and the `SELECT` then names those entries.
///
/// The entries are inserted in batch order (`ORDER BY u.ord`). The `entries_append` trigger
/// runs for each row before it is inserted, and the queries of a row-level trigger see the rows
/// the same statement inserted before it, so each row is still checked against the index right
/// after the previous row's; an out-of-order row would be refused, not stored.
const APPEND: &str = "WITH dup AS (
    SELECT idx, entry_hash FROM evledger.entries WHERE entry_hash = ANY($2::bytea[])
), e AS (
    INSERT INTO evledger.entries (idx, entry_hash, kind, issuer, subject, issued_at, statement, epoch)
    SELECT u.idx, u.h, u.kind, u.issuer, u.subject, u.iat, u.st, $8
    FROM unnest($1::bigint[], $2::bytea[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bytea[])
        WITH ORDINALITY AS u(idx, h, kind, issuer, subject, iat, st, ord)
    WHERE NOT EXISTS (SELECT 1 FROM dup)
    ORDER BY u.ord
    RETURNING 1
), n AS (
    INSERT INTO evledger.nodes (level, idx, hash)
    SELECT * FROM unnest($9::integer[], $10::bigint[], $11::bytea[])
    WHERE NOT EXISTS (SELECT 1 FROM dup)
    RETURNING 1
), g AS (
    INSERT INTO evledger.signers (kid, public_key)
    SELECT * FROM unnest($12::bytea[], $13::bytea[])
    WHERE NOT EXISTS (SELECT 1 FROM dup)
    ON CONFLICT (kid) DO NOTHING
    RETURNING 1
), r AS (
    INSERT INTO evledger.refs (target, source_idx)
    SELECT * FROM unnest($14::bytea[], $15::bigint[])
    WHERE NOT EXISTS (SELECT 1 FROM dup)
    ON CONFLICT DO NOTHING
    RETURNING 1
), d AS (
    INSERT INTO evledger.documents (sha256, bytes)
    SELECT * FROM unnest($16::bytea[], $17::bytea[])
    WHERE NOT EXISTS (SELECT 1 FROM dup)
    ON CONFLICT (sha256) DO NOTHING
    RETURNING 1
)
SELECT idx, entry_hash FROM dup";

/// The stored entries among `hashes`, by hash.
const STORED: &str =
    "SELECT idx, entry_hash FROM evledger.entries WHERE entry_hash = ANY($1::bytea[])";

/// The rows of one append, column by column, as `unnest` takes them.
#[derive(Default)]
struct Columns<'a> {
    idx: Vec<i64>,
    hash: Vec<&'a [u8]>,
    kind: Vec<&'a str>,
    issuer: Vec<&'a str>,
    subject: Vec<&'a str>,
    issued_at: Vec<i64>,
    statement: Vec<&'a [u8]>,
    node_level: Vec<i32>,
    node_idx: Vec<i64>,
    node_hash: Vec<Hash>,
    signer_kid: Vec<[u8; 32]>,
    signer_key: Vec<[u8; 32]>,
    ref_target: Vec<&'a [u8]>,
    ref_source: Vec<i64>,
    doc_key: Vec<[u8; 32]>,
    doc_bytes: Vec<&'a [u8]>,
}

/// Appends `entries` at the end of the log in one statement; returns their indexes.
///
/// The caller holds the writer lock (the lease row), so the frontier it passes is the log's
/// right edge and no other writer can insert until COMMIT.
///
/// # Errors
/// [`StoreError::Duplicate`] naming the first entry of the batch whose hash is already in the
/// log (stored, or earlier in the batch) and the index it has there; nothing is inserted then,
/// and the transaction stays usable. A database error (a stale epoch, a trigger's refusal).
pub(super) fn append(
    tx: &PostgresTx<'_>,
    frontier: &mut Frontier,
    entries: &[NewEntry],
) -> Result<Vec<u64>, StoreError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let s = tx.store;
    let start = frontier.size();
    // An entry repeated inside the batch would have the index of its first occurrence.
    let mut seen: HashMap<&Hash, u64> = HashMap::with_capacity(entries.len());
    let mut repeated = None;
    for (position, e) in entries.iter().enumerate() {
        if let Some(&first) = seen.get(&e.entry_hash) {
            repeated = Some((position, first));
            break;
        }
        seen.insert(&e.entry_hash, start + position as u64);
    }
    if let Some((position, first)) = repeated {
        // Only an entry already stored, earlier in the batch, is reported before this one.
        let hashes: Vec<&[u8]> = entries[..position]
            .iter()
            .map(|e| e.entry_hash.as_slice())
            .collect();
        let stored = stored_indexes(s.query(STORED, &[&hashes])?)?;
        return Err(
            first_duplicate(entries, &stored).unwrap_or(StoreError::Duplicate {
                entry_hash: entries[position].entry_hash,
                index: first,
            }),
        );
    }

    let mut c = Columns::default();
    let mut next = frontier.clone();
    let mut signers: HashSet<[u8; 32]> = HashSet::new();
    let mut refs: HashSet<(&Hash, u64)> = HashSet::new();
    let mut docs: HashSet<[u8; 32]> = HashSet::new();
    let mut indexes = Vec::with_capacity(entries.len());
    for e in entries {
        let idx = next.size();
        let idx_i = to_i64(idx)?;
        c.idx.push(idx_i);
        c.hash.push(e.entry_hash.as_slice());
        c.kind.push(&e.kind);
        c.issuer.push(&e.issuer);
        c.subject.push(&e.subject);
        c.issued_at.push(to_i64(e.issued_at)?);
        c.statement.push(&e.statement);
        for n in next.push(merkle::leaf_hash(&e.entry_hash)) {
            c.node_level.push(i32::try_from(n.level).map_err(|_| {
                StoreError::Corrupt(format!("node level {} is out of range", n.level))
            })?);
            c.node_idx.push(to_i64(n.index)?);
            c.node_hash.push(n.hash);
        }
        let key = e.signer.to_bytes();
        if signers.insert(key) {
            c.signer_kid.push(KeyId::of(&e.signer).0);
            c.signer_key.push(key);
        }
        for target in &e.references {
            if refs.insert((target, idx)) {
                c.ref_target.push(target.as_slice());
                c.ref_source.push(idx_i);
            }
        }
        for d in &e.documents {
            let key: [u8; 32] = Sha256::digest(d).into();
            if docs.insert(key) {
                c.doc_key.push(key);
                c.doc_bytes.push(d);
            }
        }
        indexes.push(idx);
    }
    let node_hash: Vec<&[u8]> = c.node_hash.iter().map(|h| h.as_slice()).collect();
    let signer_kid: Vec<&[u8]> = c.signer_kid.iter().map(|k| k.as_slice()).collect();
    let signer_key: Vec<&[u8]> = c.signer_key.iter().map(|k| k.as_slice()).collect();
    let doc_key: Vec<&[u8]> = c.doc_key.iter().map(|k| k.as_slice()).collect();
    let rows = s.query(
        APPEND,
        &[
            &c.idx,
            &c.hash,
            &c.kind,
            &c.issuer,
            &c.subject,
            &c.issued_at,
            &c.statement,
            &tx.epoch,
            &c.node_level,
            &c.node_idx,
            &node_hash,
            &signer_kid,
            &signer_key,
            &c.ref_target,
            &c.ref_source,
            &doc_key,
            &c.doc_bytes,
        ],
    )?;
    if !rows.is_empty() {
        let stored = stored_indexes(rows)?;
        return Err(first_duplicate(entries, &stored).ok_or_else(|| {
            StoreError::Corrupt("an append found stored entries with none of its hashes".into())
        })?);
    }
    *frontier = next;
    Ok(indexes)
}

/// The index of each stored entry of `rows` (`idx, entry_hash`), by hash.
fn stored_indexes(rows: Vec<postgres::Row>) -> Result<HashMap<Hash, u64>, StoreError> {
    rows.iter()
        .map(|r| {
            Ok((
                super::to_hash(r.try_get(1)?, "entry hash")?,
                super::to_u64(r.try_get(0)?, "entry index")?,
            ))
        })
        .collect()
}

/// The duplicate error for the first of `entries` found in `stored`.
fn first_duplicate(entries: &[NewEntry], stored: &HashMap<Hash, u64>) -> Option<StoreError> {
    entries.iter().find_map(|e| {
        stored
            .get(&e.entry_hash)
            .map(|&index| StoreError::Duplicate {
                entry_hash: e.entry_hash,
                index,
            })
    })
}
