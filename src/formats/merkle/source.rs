//! Storage of complete-subtree hashes and the roots computed from it (RFC 9162 §2.1.1).

use super::hash::{EMPTY_ROOT, Hash, node_hash};
use super::subtrees::{NodeId, Span, Subtrees, prefix_subtrees};

/// Storage of complete-subtree hashes, read by proof generation.
///
/// Node `(level, index)` is the hash of the complete subtree over leaves
/// `[index << level, (index + 1) << level)`; level 0 is a leaf hash. The
/// [`Frontier`](super::Frontier) reports every such node as an append
/// completes it, so a store can persist them as they appear.
pub trait NodeSource {
    /// Why a node could not be read (missing, I/O failure, ...).
    type Error;

    /// Returns the hash of the complete subtree `(level, index)`.
    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;

    /// Returns the hashes of the complete subtrees `ids`, in the same order.
    ///
    /// The proofs, roots and frontiers here ask for all the nodes they need at once. This
    /// default reads them one at a time, in order, through [`NodeSource::node`]; a source whose
    /// every read is a round trip to a server fetches them together instead.
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        ids.iter().map(|id| self.node(id.level, id.index)).collect()
    }
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    type Error = S::Error;

    fn node(&self, level: u32, index: u64) -> Result<Hash, S::Error> {
        (**self).node(level, index)
    }

    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, S::Error> {
        (**self).nodes(ids)
    }
}

/// Why a proof could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    /// The leaf index is not below the tree size (RFC 9162 §2.1.3.1 needs `0 <= m < n`).
    #[error("leaf index {index} is out of range for tree size {size}")]
    InvalidIndex {
        /// Requested leaf index.
        index: u64,
        /// Tree size the proof was asked for.
        size: u64,
    },
    /// No consistency proof exists: `old > new`, or `old == 0 < new` (RFC 9162 §2.1.4.1 needs `0 < m <= n`).
    #[error("no consistency proof from tree size {old} to tree size {new}")]
    InvalidRange {
        /// Older tree size.
        old: u64,
        /// Newer tree size.
        new: u64,
    },
    /// The node source failed to return a node.
    #[error("node source failed: {0}")]
    Source(E),
}

/// Merkle Tree Hash of the first `size` leaves, `MTH(D[size])`; [`EMPTY_ROOT`] for 0 (RFC 9162 §2.1.1).
///
/// Reads one node per set bit of `size`.
pub fn root<S: NodeSource + ?Sized>(src: &S, size: u64) -> Result<Hash, S::Error> {
    fold(src, prefix_subtrees(size))
}

/// Hash of a (possibly ragged) node of the tree: the fold of its complete subtrees.
pub fn span_hash<S: NodeSource + ?Sized>(src: &S, span: Span) -> Result<Hash, S::Error> {
    fold(src, span.subtrees())
}

/// Folds complete subtrees right to left: `node_hash(a, node_hash(b, c))` for parts `a, b, c`.
///
/// For an aligned span this is the RFC 9162 §2.1.1 recursion, which always
/// splits off the largest complete left subtree. No parts gives [`EMPTY_ROOT`].
fn fold<S: NodeSource + ?Sized>(src: &S, parts: Subtrees) -> Result<Hash, S::Error> {
    let mut hashes = span_hashes(src, None, std::iter::once(parts))?;
    Ok(hashes.pop().unwrap_or(EMPTY_ROOT))
}

/// The hash of `first` (if any) followed by the fold of each of `spans`, all read with one
/// [`NodeSource::nodes`] call, each span's parts right to left (the order [`fold`] reads them).
pub(crate) fn span_hashes<S: NodeSource + ?Sized>(
    src: &S,
    first: Option<NodeId>,
    spans: impl IntoIterator<Item = Subtrees>,
) -> Result<Vec<Hash>, S::Error> {
    let mut ids: Vec<NodeId> = first.into_iter().collect();
    let mut lens = Vec::new();
    for parts in spans {
        lens.push(parts.len());
        ids.extend(parts.rev());
    }
    let read = src.nodes(&ids)?;
    let mut read = read.into_iter();
    let mut out: Vec<Hash> = first.and_then(|_| read.next()).into_iter().collect();
    for len in lens {
        // `nodes` returns one hash per id: each span takes exactly its own `len`.
        let mut parts = read.by_ref().take(len);
        let acc = match parts.next() {
            Some(last) => parts.fold(last, |acc, left| node_hash(&left, &acc)),
            None => EMPTY_ROOT,
        };
        out.push(acc);
    }
    Ok(out)
}

/// Folds in-memory complete-subtree hashes given largest first, as [`fold`] does.
pub(crate) fn fold_hashes(hashes: &[Hash]) -> Hash {
    let Some((last, rest)) = hashes.split_last() else {
        return EMPTY_ROOT;
    };
    rest.iter()
        .rev()
        .fold(*last, |acc, left| node_hash(left, &acc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::leaf_hash;
    use std::cell::Cell;

    /// A source of `n` leaves `leaf_hash([i])`, computing interior nodes on demand and counting reads.
    struct Computed {
        reads: Cell<usize>,
    }

    impl NodeSource for Computed {
        type Error = ();
        fn node(&self, level: u32, index: u64) -> Result<Hash, ()> {
            self.reads.set(self.reads.get() + 1);
            Ok(compute(level, index))
        }
    }

    fn compute(level: u32, index: u64) -> Hash {
        if level == 0 {
            leaf_hash(&index.to_be_bytes())
        } else {
            node_hash(
                &compute(level - 1, 2 * index),
                &compute(level - 1, 2 * index + 1),
            )
        }
    }

    fn naive_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn root_matches_recursion_and_reads_popcount_nodes() {
        let leaves: Vec<Hash> = (0..40u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for size in 0..=40u64 {
            let src = Computed {
                reads: Cell::new(0),
            };
            assert_eq!(root(&src, size), Ok(naive_root(&leaves[..size as usize])));
            assert_eq!(src.reads.get(), size.count_ones() as usize);
        }
    }

    #[test]
    fn fold_hashes_of_nothing_is_empty_root() {
        assert_eq!(fold_hashes(&[]), EMPTY_ROOT);
        let a = leaf_hash(b"a");
        assert_eq!(fold_hashes(&[a]), a);
    }

    #[test]
    fn proof_error_messages() {
        let e: ProofError<&str> = ProofError::InvalidIndex { index: 3, size: 3 };
        assert_eq!(
            e.to_string(),
            "leaf index 3 is out of range for tree size 3"
        );
        let e: ProofError<&str> = ProofError::InvalidRange { old: 4, new: 2 };
        assert_eq!(
            e.to_string(),
            "no consistency proof from tree size 4 to tree size 2"
        );
        let e: ProofError<&str> = ProofError::Source("disk gone");
        assert_eq!(e.to_string(), "node source failed: disk gone");
    }
}
