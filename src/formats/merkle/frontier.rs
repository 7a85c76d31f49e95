//! The compact right edge of the tree, which turns an append into new node hashes with no reads.
//!
//! A tree of `size` leaves is, by RFC 9162 §2.1.1, the fold of one complete
//! subtree per set bit of `size`. Appending a leaf merges the complete
//! subtrees of the low run of set bits with it, like a binary carry; each
//! merge yields a node that is now complete and can be stored for good.

use super::hash::{Hash, RootHash, node_hash};
use super::source::{NodeSource, fold_hashes};
use super::subtrees::prefix_subtrees;

/// Most complete subtrees a frontier can hold: one per bit of a `u64` size.
const MAX_HASHES: usize = 64;

/// A complete-subtree hash with its position: node `(level, index)` covers leaves `[index << level, (index + 1) << level)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StoredNode {
    /// Height above the leaves; 0 for a leaf hash.
    pub level: u32,
    /// Position among the nodes of this level, from the left.
    pub index: u64,
    /// The node's hash.
    pub hash: Hash,
}

/// The compact right edge of a tree: one complete-subtree hash per set bit of its size, largest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

/// A frontier given as parts whose hash count does not match the size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a frontier of size {size} needs {expected} hashes, got {got}")]
pub struct FrontierLengthError {
    /// The size supplied.
    pub size: u64,
    /// Hashes a frontier of that size holds (the number of set bits of the size).
    pub expected: usize,
    /// Hashes supplied.
    pub got: usize,
}

impl Default for Frontier {
    fn default() -> Self {
        Frontier::empty()
    }
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn empty() -> Self {
        Frontier {
            size: 0,
            hashes: Vec::with_capacity(MAX_HASHES),
        }
    }

    /// Reads the frontier of the first `size` leaves from stored nodes: one node per set bit of
    /// `size`, asked for in one [`NodeSource::nodes`] call.
    pub fn load<S: NodeSource + ?Sized>(src: &S, size: u64) -> Result<Self, S::Error> {
        let ids: Vec<_> = prefix_subtrees(size).collect();
        let mut hashes = Vec::with_capacity(MAX_HASHES);
        hashes.extend(src.nodes(&ids)?);
        Ok(Frontier { size, hashes })
    }

    /// Rebuilds a frontier from its size and hashes (largest subtree first), as [`Frontier::hashes`] gave them.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, FrontierLengthError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(FrontierLengthError {
                size,
                expected,
                got: hashes.len(),
            });
        }
        let mut frontier = Frontier::empty();
        frontier.size = size;
        frontier.hashes.extend_from_slice(&hashes);
        Ok(frontier)
    }

    /// Number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The complete-subtree hashes, largest (leftmost) first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The complete subtrees with their positions, largest (leftmost) first.
    pub fn nodes(&self) -> impl Iterator<Item = StoredNode> + '_ {
        prefix_subtrees(self.size)
            .zip(&self.hashes)
            .map(|(id, hash)| StoredNode {
                level: id.level,
                index: id.index,
                hash: *hash,
            })
    }

    /// The Merkle Tree Hash of the tree, `MTH(D[size])` (RFC 9162 §2.1.1); no reads.
    pub fn root(&self) -> Hash {
        fold_hashes(&self.hashes)
    }

    /// The tree head: size and root hash.
    pub fn tree_head(&self) -> RootHash {
        RootHash::new(self.size, self.root())
    }

    /// Appends a leaf hash and returns the nodes it completed, the leaf (level 0) first.
    ///
    /// # Panics
    ///
    /// Panics if the tree already holds `u64::MAX` leaves.
    pub fn push(&mut self, leaf: Hash) -> Vec<StoredNode> {
        let mut out = Vec::with_capacity(self.size.trailing_ones() as usize + 1);
        self.push_with(leaf, |node| out.push(node));
        out
    }

    /// Appends a leaf hash and appends the nodes it completed to `out`, the leaf first; `out` is not cleared.
    ///
    /// # Panics
    ///
    /// Panics if the tree already holds `u64::MAX` leaves.
    pub fn push_into(&mut self, leaf: Hash, out: &mut Vec<StoredNode>) {
        self.push_with(leaf, |node| out.push(node));
    }

    /// Appends a leaf hash and hands each node it completed to `store`, the leaf first, bottom to top.
    ///
    /// Does not allocate. Hashing aside, the work is one step per trailing
    /// one bit of the old size.
    ///
    /// # Panics
    ///
    /// Panics if the tree already holds `u64::MAX` leaves.
    pub fn push_with(&mut self, leaf: Hash, mut store: impl FnMut(StoredNode)) {
        assert!(
            self.size < u64::MAX,
            "a tree cannot hold more than u64::MAX leaves"
        );
        let mut node = StoredNode {
            level: 0,
            index: self.size,
            hash: leaf,
        };
        store(node);
        // Each trailing one bit of the old size is a complete subtree on the
        // right edge of the same height as `node`; merge them like a carry.
        for _ in 0..self.size.trailing_ones() {
            // The frontier holds one hash per set bit of `size`, and the
            // trailing ones are among them, so a hash is always there to pop.
            let left = self
                .hashes
                .pop()
                .expect("frontier holds one hash per set bit of its size");
            node = StoredNode {
                level: node.level + 1,
                index: node.index >> 1,
                hash: node_hash(&left, &node.hash),
            };
            store(node);
        }
        self.hashes.push(node.hash);
        self.size += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::{EMPTY_ROOT, leaf_hash};

    #[test]
    fn push_reports_completed_nodes() {
        let mut f = Frontier::empty();
        assert_eq!(f.root(), EMPTY_ROOT);
        let l: Vec<Hash> = (0..4u8).map(|i| leaf_hash(&[i])).collect();
        assert_eq!(
            f.push(l[0]),
            vec![StoredNode {
                level: 0,
                index: 0,
                hash: l[0]
            }]
        );
        let n01 = node_hash(&l[0], &l[1]);
        let out = f.push(l[1]);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[1],
            StoredNode {
                level: 1,
                index: 0,
                hash: n01
            }
        );
        f.push(l[2]);
        assert_eq!(f.hashes(), &[n01, l[2]]);
        assert_eq!(f.root(), node_hash(&n01, &l[2]));
        let mut out = vec![];
        f.push_into(l[3], &mut out);
        let n23 = node_hash(&l[2], &l[3]);
        let top = node_hash(&n01, &n23);
        assert_eq!(
            out.iter().map(|n| (n.level, n.index)).collect::<Vec<_>>(),
            vec![(0, 3), (1, 1), (2, 0)]
        );
        assert_eq!(out[2].hash, top);
        assert_eq!(f.tree_head(), RootHash::new(4, top));
        assert_eq!(
            f.nodes().collect::<Vec<_>>(),
            vec![StoredNode {
                level: 2,
                index: 0,
                hash: top
            }]
        );
    }

    #[test]
    fn from_parts_checks_length() {
        assert_eq!(
            Frontier::from_parts(3, vec![[0; 32]]),
            Err(FrontierLengthError {
                size: 3,
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            FrontierLengthError {
                size: 3,
                expected: 2,
                got: 1
            }
            .to_string(),
            "a frontier of size 3 needs 2 hashes, got 1"
        );
        let mut f = Frontier::empty();
        for i in 0..11u8 {
            f.push(leaf_hash(&[i]));
        }
        let g = Frontier::from_parts(f.size(), f.hashes().to_vec()).unwrap();
        assert_eq!(f, g);
        assert_eq!(Frontier::default(), Frontier::empty());
    }

    #[test]
    fn pushing_near_u64_max() {
        let mut f = Frontier::from_parts(u64::MAX - 1, vec![[1; 32]; 63]).unwrap();
        let out = f.push([2; 32]);
        assert_eq!(out.len(), 1);
        assert_eq!(f.size(), u64::MAX);
        assert_eq!(f.hashes().len(), 64);
    }

    #[test]
    #[should_panic(expected = "u64::MAX leaves")]
    fn pushing_past_u64_max_panics() {
        let mut f = Frontier::from_parts(u64::MAX, vec![[1; 32]; 64]).unwrap();
        f.push([2; 32]);
    }
}
