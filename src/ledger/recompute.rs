//! Writes that fail closed: before the ledger signs a checkpoint or appends, it checks the stored
//! tree it is about to commit to or extend against what it can recompute.
//!
//! The base of every check is the latest signed checkpoint (size `m`, root `r`): its note must
//! verify under one of the ledger's log keys and state the ledger's origin, `m` and the stored
//! root `r`, and the stored complete-subtree nodes at size `m` (the frontier) must fold to `r`.
//! A log without a checkpoint has the empty tree as its base.
//!
//! - **Before signing** ([`head`]), every entry after `m` is re-hashed from its statement and
//!   pushed onto that frontier; every node this completes must equal the stored node of the same
//!   `(level, index)`. The root so recomputed is the one signed. O(entries since `m` + log n).
//! - **Before appending** ([`check_append`]), inside the append's transaction, the stored frontier
//!   at the current size `n` must be consistent with `(m, r)`: a consistency proof from `m` to `n`
//!   read from the stored nodes must verify against `r` and the fold of the frontier at `n`.
//!   O(log n) reads and one signature check per append (or batch). This catches a damaged node
//!   of the frontier at `m` and a damaged node where the tree after `m` joins it; it does not
//!   re-hash the entries appended since `m`, nor compare nodes entirely after `m` with them: that
//!   is the checkpoint's check, which refuses to sign anything built on them.
//!
//! Rows older than the latest checkpoint are `evledger audit`'s to recompute.

use sha2::{Digest as _, Sha256};

use super::LedgerError;
use crate::checkpoint;
use crate::merkle::{self, Frontier, Hash, NodeSource, RootHash};
use crate::note::NoteVerifier;
use crate::store::{LedgerInfo, StoreError, StoreRead, StoredCheckpoint};

/// What the ledger found wrong with its stored tree when it recomputed it before a write.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TreeDamage {
    /// The entry's statement does not hash to its stored entry hash (one of them changed).
    #[error("entry {index}: its statement does not hash to its stored entry hash")]
    EntryHash {
        /// The entry's index.
        index: u64,
    },
    /// An entry below the log size is not stored.
    #[error("entry {index} is missing")]
    MissingEntry {
        /// The entry's index.
        index: u64,
    },
    /// A stored node differs from the node recomputed from the entries.
    #[error(
        "stored node (level {level}, index {index}) differs from the one recomputed from the entries"
    )]
    Node {
        /// Height above the leaves.
        level: u32,
        /// Position in its level.
        index: u64,
    },
    /// A node the check needs cannot be read as a 32-byte hash.
    #[error("{0}")]
    Unreadable(String),
    /// The stored nodes at the latest checkpoint's size do not fold to its root.
    #[error(
        "the stored nodes at size {size} ({}) do not fold to the root of the signed checkpoint of size {size}",
        node_list(.nodes)
    )]
    Frontier {
        /// The checkpoint's size.
        size: u64,
        /// The nodes, as (level, index), largest first.
        nodes: Vec<(u32, u64)>,
    },
    /// The latest stored checkpoint is not one this log signed for its stored root.
    #[error("checkpoint {size}: {reason}")]
    Checkpoint {
        /// The checkpoint's size.
        size: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The log is smaller than its latest checkpoint.
    #[error("the log has {size} entries, fewer than its latest checkpoint's size {checkpoint}")]
    Shrunk {
        /// Entries stored.
        size: u64,
        /// The latest checkpoint's size.
        checkpoint: u64,
    },
    /// The stored nodes at the log's size do not extend the latest checkpoint's tree.
    #[error(
        "the stored nodes at size {size} are not consistent with the signed checkpoint of size {checkpoint}: {reason}"
    )]
    Inconsistent {
        /// The latest checkpoint's size.
        checkpoint: u64,
        /// The log's size.
        size: u64,
        /// Why the consistency proof failed.
        reason: String,
    },
}

fn node_list(nodes: &[(u32, u64)]) -> String {
    let parts: Vec<String> = nodes
        .iter()
        .map(|(l, i)| format!("level {l}, index {i}"))
        .collect();
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join("; ")
    }
}

/// What a refused write was going to do, for [`LedgerError::Damaged`].
pub(super) const SIGN: &str = "sign a checkpoint";
/// See [`SIGN`].
pub(super) const APPEND: &str = "append";

fn damaged(refused: &'static str, damage: TreeDamage) -> LedgerError {
    LedgerError::Damaged { refused, damage }
}

/// The size and root to sign: the tree recomputed from the entries appended since the latest
/// checkpoint and the stored nodes at its size, after checking every node those entries
/// complete. Run it inside one snapshot (or the write) so that size, checkpoint, entries and
/// nodes are read together.
///
/// # Errors
/// [`LedgerError::Damaged`] naming the first inconsistency; storage errors.
pub(crate) fn head<S: StoreRead + ?Sized>(
    store: &S,
    info: &LedgerInfo,
) -> Result<RootHash, LedgerError> {
    let size = store.size()?;
    let mut frontier = base(store, info, size, SIGN)?;
    // The entries are read a page at a time (one query each on a database server). The nodes a
    // page completes are checked together after it, or before the damage of an entry in it is
    // reported: the first inconsistency in index order is the one named.
    const PAGE: u64 = 256;
    let mut completed = Vec::new();
    let mut index = frontier.size();
    while index < size {
        let count = (size - index).min(PAGE);
        let entries = store.entry_range(index, count)?;
        let whole = entries.len() as u64 == count;
        for entry in entries {
            let entry_hash: Hash = Sha256::digest(&entry.statement).into();
            if entry_hash != entry.entry_hash {
                check_nodes(store, &completed)?;
                return Err(damaged(SIGN, TreeDamage::EntryHash { index }));
            }
            frontier.push_into(merkle::leaf_hash(&entry_hash), &mut completed);
            index += 1;
        }
        check_nodes(store, &completed)?;
        completed.clear();
        if !whole {
            return Err(damaged(SIGN, TreeDamage::MissingEntry { index }));
        }
    }
    Ok(frontier.tree_head())
}

/// Checks that the stored nodes are `expected`, naming the first that differs or cannot be read.
/// They are read together (one query on a database server); if that fails, one at a time, so
/// that the damage named is the first in order whatever the store reports.
fn check_nodes<S: StoreRead + ?Sized>(
    store: &S,
    expected: &[merkle::StoredNode],
) -> Result<(), LedgerError> {
    let ids: Vec<merkle::NodeId> = expected
        .iter()
        .map(|n| merkle::NodeId {
            level: n.level,
            index: n.index,
        })
        .collect();
    let stored = match store.nodes(&ids) {
        Ok(stored) if stored.len() == expected.len() => stored,
        _ => expected
            .iter()
            .map(|n| read_node(store, n.level, n.index, SIGN))
            .collect::<Result<Vec<Hash>, LedgerError>>()?,
    };
    match expected.iter().zip(&stored).find(|(n, s)| n.hash != **s) {
        Some((n, _)) => Err(damaged(
            SIGN,
            TreeDamage::Node {
                level: n.level,
                index: n.index,
            },
        )),
        None => Ok(()),
    }
}

/// The check an append runs inside its transaction before it extends the stored tree: the latest
/// checkpoint is ours and its stored nodes fold to its root, and the stored nodes at the current
/// size are consistent with it. Without a checkpoint there is nothing signed to check against.
///
/// # Errors
/// [`LedgerError::Damaged`] naming the inconsistency; storage errors.
pub(crate) fn check_append<S: StoreRead + ?Sized>(
    store: &S,
    info: &LedgerInfo,
) -> Result<(), LedgerError> {
    let size = store.size()?;
    let base = base(store, info, size, APPEND)?;
    let old = base.tree_head();
    if old.size == 0 || old.size == size {
        // Every tree extends the empty one; at the checkpoint's own size the frontier just
        // checked is the one the append extends.
        return Ok(());
    }
    let inconsistent = |reason: String| {
        damaged(
            APPEND,
            TreeDamage::Inconsistent {
                checkpoint: old.size,
                size,
                reason,
            },
        )
    };
    let current = Frontier::load(store, size).map_err(|e| unreadable(e, APPEND))?;
    let proof = merkle::prove_consistency(store, old.size, size).map_err(|e| match e {
        merkle::ProofError::Source(s) => unreadable(s, APPEND),
        other => inconsistent(other.to_string()),
    })?;
    old.verify_consistency(&current.tree_head(), &proof)
        .map_err(|e| inconsistent(e.to_string()))
}

/// The frontier at the latest checkpoint's size (the empty frontier without one), after checking
/// that the checkpoint verifies under a log key for the origin, size and root stored with it, and
/// that the stored nodes at its size fold to that root.
fn base<S: StoreRead + ?Sized>(
    store: &S,
    info: &LedgerInfo,
    size: u64,
    refused: &'static str,
) -> Result<Frontier, LedgerError> {
    let Some(cp) = store.latest_checkpoint()? else {
        return Ok(Frontier::empty());
    };
    if cp.size > size {
        return Err(damaged(
            refused,
            TreeDamage::Shrunk {
                size,
                checkpoint: cp.size,
            },
        ));
    }
    check_signed(store, info, &cp).map_err(|reason| {
        damaged(
            refused,
            TreeDamage::Checkpoint {
                size: cp.size,
                reason,
            },
        )
    })?;
    let frontier = Frontier::load(store, cp.size).map_err(|e| unreadable(e, refused))?;
    if frontier.root() != cp.root {
        return Err(damaged(
            refused,
            TreeDamage::Frontier {
                size: cp.size,
                nodes: frontier.nodes().map(|n| (n.level, n.index)).collect(),
            },
        ));
    }
    Ok(frontier)
}

/// Checks that a stored checkpoint's note verifies under one of the log keys (retired ones
/// included: they signed the checkpoints of their time) and states the stored size and root.
fn check_signed<S: StoreRead + ?Sized>(
    store: &S,
    info: &LedgerInfo,
    cp: &StoredCheckpoint,
) -> Result<(), String> {
    let mut keys = vec![info.log_key];
    keys.extend(
        store
            .added_log_keys()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(k, _)| k),
    );
    let mut last = String::from("no log key");
    for key in keys {
        let verifier = NoteVerifier::new(&info.origin, key).map_err(|e| e.to_string())?;
        match checkpoint::verify(&cp.note, &verifier) {
            Ok(v) => {
                let c = v.checkpoint();
                return if c.size != cp.size {
                    Err(format!("its signed note is for size {}", c.size))
                } else if c.root != cp.root {
                    Err("its stored root differs from the root its signed note states".into())
                } else {
                    Ok(())
                };
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!(
        "its note does not verify under any log key of this ledger ({last})"
    ))
}

fn read_node<S: NodeSource<Error = StoreError> + ?Sized>(
    store: &S,
    level: u32,
    index: u64,
    refused: &'static str,
) -> Result<Hash, LedgerError> {
    store.node(level, index).map_err(|e| unreadable(e, refused))
}

/// A node that is missing or malformed is damage too; other storage errors stay what they are.
fn unreadable(e: StoreError, refused: &'static str) -> LedgerError {
    match e {
        StoreError::Corrupt(reason) => damaged(refused, TreeDamage::Unreadable(reason)),
        other => other.into(),
    }
}
