//! Pure index math over complete subtrees; no hashing and no storage.
//!
//! Every node a proof needs is either a complete subtree — node `(level, index)`
//! over leaves `[index << level, (index + 1) << level)` — or the ragged right
//! edge of the tree, whose RFC 9162 §2.1.1 hash is the fold, right to left, of
//! the complete subtrees it decomposes into. The functions here name those
//! subtrees so that a [`NodeSource`](super::NodeSource) is asked for
//! O(log n) nodes per proof and never walks the leaves.
//!
//! The layout follows the recursive split of RFC 9162 §2.1.1: a tree of `n > 1`
//! leaves splits at the largest power of two `k < n`. Seen level by level, the
//! node at `(level, index)` of a tree of `size` leaves covers
//! `[index << level, min((index + 1) << level, size))`; a node whose range
//! equals its only child's range is that child, so it has no sibling.

/// A complete subtree: node `(level, index)` over leaves `[index << level, (index + 1) << level)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves; level 0 is a leaf.
    pub level: u32,
    /// Position among the nodes of this level, counted from the left.
    pub index: u64,
}

/// A node of the RFC 9162 tree as a leaf range `[start, end)`: a complete subtree or the ragged right edge.
///
/// `start` is always a multiple of the largest power of two not above the
/// length, so the range splits into aligned complete subtrees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    start: u64,
    end: u64,
}

impl Span {
    /// The node `(level, index)` of a tree of `size` leaves, cut at `size`; `None` when it holds no leaf.
    pub fn node(level: u32, index: u64, size: u64) -> Option<Span> {
        // A level of 64 or more holds a single node, covering every leaf.
        let (start, width) = if level >= u64::BITS {
            (if index == 0 { 0 } else { return None }, u64::MAX)
        } else {
            let start = index << level;
            if start >> level != index {
                return None;
            }
            (start, 1u64 << level)
        };
        if start >= size {
            return None;
        }
        let end = if size - start > width {
            start + width
        } else {
            size
        };
        Some(Span { start, end })
    }

    /// The whole tree `[0, size)`; `None` for the empty tree.
    pub fn prefix(size: u64) -> Option<Span> {
        (size > 0).then_some(Span {
            start: 0,
            end: size,
        })
    }

    /// First leaf index covered.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// One past the last leaf index covered.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Number of leaves covered (never zero).
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Always false: a span covers at least one leaf.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// True when the span is one complete subtree (its length is a power of two).
    pub fn is_complete(&self) -> bool {
        self.len().is_power_of_two()
    }

    /// The complete subtrees that make up this span, largest (leftmost) first.
    pub fn subtrees(&self) -> Subtrees {
        Subtrees {
            start: self.start,
            remaining: self.len(),
        }
    }
}

/// The complete subtrees of a [`Span`], left to right; iterate backwards to fold right to left.
#[derive(Clone, Debug)]
pub struct Subtrees {
    start: u64,
    remaining: u64,
}

impl Iterator for Subtrees {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        if self.remaining == 0 {
            return None;
        }
        let level = 63 - self.remaining.leading_zeros();
        let width = 1u64 << level;
        let id = NodeId {
            level,
            index: self.start >> level,
        };
        // start + remaining is a span end, so it fits in a u64.
        self.start += width;
        self.remaining -= width;
        Some(id)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining.count_ones() as usize;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Subtrees {
    fn next_back(&mut self) -> Option<NodeId> {
        if self.remaining == 0 {
            return None;
        }
        let level = self.remaining.trailing_zeros();
        let width = 1u64 << level;
        self.remaining -= width;
        Some(NodeId {
            level,
            index: (self.start + self.remaining) >> level,
        })
    }
}

impl ExactSizeIterator for Subtrees {}

/// The complete subtrees of the first `size` leaves, largest first: one per set bit of `size`.
pub fn prefix_subtrees(size: u64) -> Subtrees {
    Subtrees {
        start: 0,
        remaining: size,
    }
}

/// Walks from node `(level, index)` up to the root of a tree of `size` leaves, yielding each sibling's span.
///
/// This is the audit path of RFC 9162 §2.1.3.1 read bottom to top: for
/// `level == 0` it is `PATH(index, D[size])`. Levels where the node has no
/// sibling (the node is its parent) are skipped. Only the lowest right-hand
/// sibling can be a ragged span; every left-hand sibling is complete.
pub fn path(level: u32, index: u64, size: u64) -> Path {
    let last = match size.checked_sub(1) {
        Some(last) => last.checked_shr(level).unwrap_or(0),
        None => 0,
    };
    Path {
        level,
        node: index,
        last,
        size,
    }
}

/// Iterator returned by [`path`]: sibling spans from the bottom of the tree to the top.
#[derive(Clone, Debug)]
pub struct Path {
    level: u32,
    node: u64,
    last: u64,
    size: u64,
}

impl Iterator for Path {
    type Item = Span;

    fn next(&mut self) -> Option<Span> {
        // `last` is the index of the rightmost node at `level`; it reaches zero
        // at the root level, and halves on every step, so this ends within 64 steps.
        while self.last != 0 {
            let level = self.level;
            let sibling = self.node ^ 1;
            let has_sibling = sibling <= self.last;
            self.level += 1;
            self.node >>= 1;
            self.last >>= 1;
            if has_sibling {
                return Span::node(level, sibling, self.size);
            }
        }
        None
    }
}

/// Length of `PATH(index, D[size])` (RFC 9162 §2.1.3.1); `None` unless `index < size`.
pub fn inclusion_proof_len(index: u64, size: u64) -> Option<usize> {
    if index >= size {
        return None;
    }
    Some(path_len(index, size - 1))
}

/// Length of `PROOF(old, D[new])` (RFC 9162 §2.1.4.1); `None` when `old > new` or `old == 0 < new`.
///
/// Equal sizes need the empty proof. Otherwise the proof is the complete
/// subtree ending at leaf `old` (left out when `old` is a power of two, since
/// it is then the old root) followed by that subtree's path to the new root.
pub fn consistency_proof_len(old: u64, new: u64) -> Option<usize> {
    if old > new || (old == 0 && new > 0) {
        return None;
    }
    if old == new {
        return Some(0);
    }
    let shift = old.trailing_zeros();
    let seed = usize::from(!old.is_power_of_two());
    Some(seed + path_len((old - 1) >> shift, (new - 1) >> shift))
}

/// Number of siblings on the way from node `node` to the root when `last` is the rightmost node of the level.
fn path_len(node: u64, last: u64) -> usize {
    // Below the highest bit where `node` and `last` differ every level has a
    // sibling; above it, the node has a (left) sibling exactly when it is odd.
    let inner = 64 - (node ^ last).leading_zeros();
    let border = node.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The complete subtree that ends at leaf `old` and starts a consistency proof from size `old`; `None` for 0.
pub fn consistency_seed(old: u64) -> Option<NodeId> {
    let last = old.checked_sub(1)?;
    let level = old.trailing_zeros();
    Some(NodeId {
        level,
        index: last >> level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(level: u32, index: u64, size: u64) -> Vec<(u64, u64)> {
        path(level, index, size)
            .map(|s| (s.start(), s.end()))
            .collect()
    }

    #[test]
    fn subtrees_follow_set_bits() {
        let ids: Vec<_> = prefix_subtrees(13).collect();
        assert_eq!(
            ids,
            vec![
                NodeId { level: 3, index: 0 },
                NodeId { level: 2, index: 2 },
                NodeId {
                    level: 0,
                    index: 12
                },
            ]
        );
        let back: Vec<_> = prefix_subtrees(13).rev().collect();
        assert_eq!(back, ids.iter().rev().copied().collect::<Vec<_>>());
        assert_eq!(prefix_subtrees(0).count(), 0);
        assert_eq!(prefix_subtrees(u64::MAX).len(), 64);
        let span = Span::node(3, 1, 13).expect("leaves 8..13 exist");
        assert_eq!((span.start(), span.end(), span.len()), (8, 13, 5));
        assert!(!span.is_complete() && !span.is_empty());
        let ids: Vec<_> = span.subtrees().collect();
        assert_eq!(
            ids,
            vec![
                NodeId { level: 2, index: 2 },
                NodeId {
                    level: 0,
                    index: 12
                }
            ]
        );
    }

    #[test]
    fn span_node_limits() {
        assert_eq!(Span::node(0, 5, 5), None);
        assert_eq!(Span::node(2, 1, 4), None);
        assert_eq!(Span::node(63, 2, u64::MAX), None);
        assert_eq!(Span::node(64, 0, 1), Span::prefix(1));
        let top = Span::node(63, 1, u64::MAX).expect("right half exists");
        assert_eq!((top.start(), top.end()), (1 << 63, u64::MAX));
        assert_eq!(Span::prefix(0), None);
    }

    #[test]
    fn paths_match_rfc_examples() {
        // RFC 9162 §2.1.5: the tree of seven leaves d0..d6.
        // PATH(0) = [b, h, l]: leaf 1, node [2, 4), node [4, 7).
        assert_eq!(spans(0, 0, 7), vec![(1, 2), (2, 4), (4, 7)]);
        // PATH(3) = [c, g, l].
        assert_eq!(spans(0, 3, 7), vec![(2, 3), (0, 2), (4, 7)]);
        // PATH(4) = [f, j, k].
        assert_eq!(spans(0, 4, 7), vec![(5, 6), (6, 7), (0, 4)]);
        // PATH(6) = [i, k].
        assert_eq!(spans(0, 6, 7), vec![(4, 6), (0, 4)]);
        assert_eq!(spans(0, 0, 1), vec![]);
    }

    #[test]
    fn consistency_lengths_match_rfc_examples() {
        // RFC 9162 §2.1.5: PROOF(3, D[7]) = [c, d, g, l], PROOF(4, D[7]) = [l],
        // PROOF(6, D[7]) = [i, j, k].
        assert_eq!(consistency_proof_len(3, 7), Some(4));
        assert_eq!(consistency_proof_len(4, 7), Some(1));
        assert_eq!(consistency_proof_len(6, 7), Some(3));
        assert_eq!(consistency_proof_len(7, 7), Some(0));
        assert_eq!(consistency_proof_len(0, 0), Some(0));
        assert_eq!(consistency_proof_len(0, 7), None);
        assert_eq!(consistency_proof_len(8, 7), None);
        assert_eq!(consistency_seed(6), Some(NodeId { level: 1, index: 2 }));
        assert_eq!(consistency_seed(0), None);
    }

    #[test]
    fn lengths_agree_with_walks() {
        for size in 1..=70u64 {
            for index in 0..size {
                assert_eq!(
                    inclusion_proof_len(index, size),
                    Some(path(0, index, size).count()),
                    "index {index} size {size}"
                );
            }
            for old in 1..size {
                let seed = consistency_seed(old).expect("old > 0");
                let walked = usize::from(!old.is_power_of_two())
                    + path(seed.level, seed.index, size).count();
                assert_eq!(consistency_proof_len(old, size), Some(walked));
            }
        }
    }

    #[test]
    fn extreme_sizes_do_not_overflow() {
        assert_eq!(inclusion_proof_len(u64::MAX, u64::MAX), None);
        assert_eq!(inclusion_proof_len(0, 0), None);
        assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX), Some(63));
        assert_eq!(path(0, u64::MAX - 1, u64::MAX).count(), 63);
        assert_eq!(path(0, 0, u64::MAX).count(), 64);
        assert_eq!(inclusion_proof_len(0, u64::MAX), Some(64));
        assert_eq!(inclusion_proof_len(1 << 63, (1 << 63) + 1), Some(1));
        assert_eq!(consistency_proof_len(u64::MAX - 1, u64::MAX), Some(64));
        assert_eq!(consistency_proof_len(1 << 63, u64::MAX), Some(1));
        for (old, new) in [(u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX), (1, u64::MAX)] {
            let seed = consistency_seed(old).expect("old > 0");
            let walked =
                usize::from(!old.is_power_of_two()) + path(seed.level, seed.index, new).count();
            assert_eq!(consistency_proof_len(old, new), Some(walked));
        }
        // A node outside the tree still ends the walk.
        assert!(path(0, u64::MAX, 3).count() <= 64);
        assert_eq!(path(5, 0, 0).count(), 0);
    }
}
