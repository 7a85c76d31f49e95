//! An in-memory tree that keeps every complete-subtree hash, for tests, benchmarks and bundle building.

use super::frontier::Frontier;
use super::hash::{Hash, RootHash};
use super::source::NodeSource;

/// An in-memory [`NodeSource`] built by pushing leaf hashes: one vector of complete nodes per level.
///
/// Holds about two hashes per leaf.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

/// A node that a [`MemoryTree`] does not hold (past its size, or not yet complete).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no complete node at level {level}, index {index}")]
pub struct MissingNode {
    /// Requested level.
    pub level: u32,
    /// Requested index within the level.
    pub index: u64,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        MemoryTree::default()
    }

    /// Appends a leaf hash and returns its index.
    ///
    /// # Panics
    ///
    /// Panics if the tree already holds `u64::MAX` leaves (memory runs out long before).
    pub fn push(&mut self, leaf: Hash) -> u64 {
        let index = self.frontier.size();
        let levels = &mut self.levels;
        self.frontier.push_with(leaf, |node| {
            let level = node.level as usize;
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            debug_assert_eq!(levels[level].len() as u64, node.index);
            levels[level].push(node.hash);
        });
        index
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The Merkle Tree Hash of all leaves (RFC 9162 §2.1.1).
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The tree head: size and root hash.
    pub fn tree_head(&self) -> RootHash {
        self.frontier.tree_head()
    }

    /// The frontier of the whole tree.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// The leaf hash at `index`, if present.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.node(0, index).ok()
    }
}

impl NodeSource for MemoryTree {
    type Error = MissingNode;

    fn node(&self, level: u32, index: u64) -> Result<Hash, MissingNode> {
        usize::try_from(level)
            .ok()
            .and_then(|l| self.levels.get(l))
            .and_then(|nodes| nodes.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(MissingNode { level, index })
    }
}

impl Extend<Hash> for MemoryTree {
    fn extend<I: IntoIterator<Item = Hash>>(&mut self, leaves: I) {
        for leaf in leaves {
            self.push(leaf);
        }
    }
}

impl FromIterator<Hash> for MemoryTree {
    fn from_iter<I: IntoIterator<Item = Hash>>(leaves: I) -> Self {
        let mut tree = MemoryTree::new();
        tree.extend(leaves);
        tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::{EMPTY_ROOT, leaf_hash, node_hash};
    use crate::merkle::root;

    #[test]
    fn stores_complete_nodes_only() {
        let mut t = MemoryTree::new();
        assert_eq!(t.root(), EMPTY_ROOT);
        assert_eq!(t.tree_head(), RootHash::empty());
        let l: Vec<Hash> = (0..3u8).map(|i| leaf_hash(&[i])).collect();
        assert_eq!(t.push(l[0]), 0);
        assert_eq!(t.push(l[1]), 1);
        assert_eq!(t.push(l[2]), 2);
        assert_eq!(t.size(), 3);
        assert_eq!(t.node(1, 0), Ok(node_hash(&l[0], &l[1])));
        assert_eq!(t.node(1, 1), Err(MissingNode { level: 1, index: 1 }));
        assert_eq!(t.node(0, 3), Err(MissingNode { level: 0, index: 3 }));
        assert_eq!(
            t.node(u32::MAX, u64::MAX),
            Err(MissingNode {
                level: u32::MAX,
                index: u64::MAX
            })
        );
        assert_eq!(
            MissingNode { level: 1, index: 1 }.to_string(),
            "no complete node at level 1, index 1"
        );
        assert_eq!(t.leaf(2), Some(l[2]));
        assert_eq!(t.leaf(3), None);
        assert_eq!(root(&t, 3), Ok(t.root()));
        assert_eq!(root(&t, 2), Ok(node_hash(&l[0], &l[1])));
        assert_eq!(root(&t, 0), Ok(EMPTY_ROOT));
        assert_eq!(root(&t, 4), Err(MissingNode { level: 2, index: 0 }));
        assert_eq!(t.frontier().size(), 3);
        let u: MemoryTree = l.iter().copied().collect();
        assert_eq!(u.root(), t.root());
    }
}
