//! Inclusion proofs: generation (RFC 9162 §2.1.3.1) and verification (RFC 9162 §2.1.3.2).

use super::hash::{Hash, Hex, RootHash, node_hash};
use super::source::{NodeSource, ProofError, span_hashes};
use super::subtrees::{inclusion_proof_len, path};

/// An inclusion proof: the audit path `PATH(m, D[n])`, sibling hashes from the leaf up (RFC 9162 §2.1.3.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InclusionProof {
    hashes: Vec<Hash>,
}

super::hash::proof_hashes!(InclusionProof);

impl From<Vec<Hash>> for InclusionProof {
    fn from(hashes: Vec<Hash>) -> Self {
        InclusionProof { hashes }
    }
}

/// Why an inclusion proof was rejected.
///
/// [`IndexOutOfRange`](Self::IndexOutOfRange) and
/// [`WrongProofLength`](Self::WrongProofLength) mean the input is malformed;
/// [`RootMismatch`](Self::RootMismatch) means a well-formed proof does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InclusionError {
    /// The leaf index is not below the tree size (this includes every index of the empty tree).
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// Claimed leaf index.
        index: u64,
        /// Tree size of the tree head.
        size: u64,
    },
    /// The proof does not have the number of hashes that this index and size require.
    #[error("inclusion proof has {got} hashes, expected {expected}")]
    WrongProofLength {
        /// Hashes required for this index and tree size.
        expected: usize,
        /// Hashes supplied.
        got: usize,
    },
    /// The root computed from the leaf and the proof differs from the tree head's root.
    #[error("inclusion proof does not verify: root is {}, proof gives {}", Hex(.expected), Hex(.computed))]
    RootMismatch {
        /// Root hash of the tree head.
        expected: Hash,
        /// Root hash computed from the leaf and the proof.
        computed: Hash,
    },
}

impl InclusionError {
    /// True when the input is malformed rather than well-formed but wrong.
    pub fn is_malformed(&self) -> bool {
        !matches!(self, InclusionError::RootMismatch { .. })
    }
}

/// Produces `PATH(index, D[size])` (RFC 9162 §2.1.3.1) from stored complete subtrees.
///
/// Reads O(log size) nodes: one per complete sibling, plus the parts of the
/// one sibling that may be the ragged right edge of the tree.
pub fn prove_inclusion<S: NodeSource + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<InclusionProof, ProofError<S::Error>> {
    let Some(len) = inclusion_proof_len(index, size) else {
        return Err(ProofError::InvalidIndex { index, size });
    };
    let spans = path(0, index, size).map(|span| span.subtrees());
    let hashes = span_hashes(src, None, spans).map_err(ProofError::Source)?;
    debug_assert_eq!(hashes.len(), len);
    Ok(InclusionProof { hashes })
}

/// Computes the root implied by a leaf hash at `index` and its audit path in a tree of `size` leaves.
///
/// This is RFC 9162 §2.1.3.2 up to the final comparison. Errors are only
/// [`InclusionError::IndexOutOfRange`] and [`InclusionError::WrongProofLength`].
pub fn inclusion_root(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, InclusionError> {
    let Some(expected) = inclusion_proof_len(index, size) else {
        return Err(InclusionError::IndexOutOfRange { index, size });
    };
    let wrong_length = InclusionError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    // RFC 9162 §2.1.3.2, steps 2 to 5; `index < size` was checked above.
    let mut fnode = index;
    let mut snode = size - 1;
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(wrong_length);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(wrong_length);
    }
    Ok(r)
}

impl RootHash {
    /// Checks that `leaf` is the leaf hash at `index` of this tree head (RFC 9162 §2.1.3.2).
    pub fn verify_inclusion(
        &self,
        leaf: &Hash,
        index: u64,
        proof: &InclusionProof,
    ) -> Result<(), InclusionError> {
        let computed = inclusion_root(leaf, index, self.size, proof.hashes())?;
        if computed != self.hash {
            return Err(InclusionError::RootMismatch {
                expected: self.hash,
                computed,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::{EMPTY_ROOT, leaf_hash};
    use crate::merkle::{MemoryTree, MissingNode};

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.push(leaf_hash(&i.to_le_bytes()));
        }
        t
    }

    #[test]
    fn index_out_of_range_is_malformed() {
        let head = RootHash::new(3, [1; 32]);
        for index in [3, 4, u64::MAX] {
            let err = head
                .verify_inclusion(&[0; 32], index, &InclusionProof::default())
                .unwrap_err();
            assert_eq!(err, InclusionError::IndexOutOfRange { index, size: 3 });
            assert!(err.is_malformed());
        }
        let empty = RootHash::empty();
        assert_eq!(
            empty.verify_inclusion(&EMPTY_ROOT, 0, &InclusionProof::default()),
            Err(InclusionError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            InclusionError::IndexOutOfRange { index: 5, size: 0 }.to_string(),
            "leaf index 5 is out of range for tree size 0"
        );
    }

    #[test]
    fn wrong_lengths_are_malformed() {
        let t = tree(5);
        let head = t.tree_head();
        let leaf = leaf_hash(&2u64.to_le_bytes());
        let good = prove_inclusion(&t, 2, 5).unwrap();
        assert_eq!(good.len(), 3);
        assert_eq!(head.verify_inclusion(&leaf, 2, &good), Ok(()));
        let mut long = good.clone().into_hashes();
        long.push([0; 32]);
        let err = head
            .verify_inclusion(&leaf, 2, &InclusionProof::new(long))
            .unwrap_err();
        assert_eq!(
            err,
            InclusionError::WrongProofLength {
                expected: 3,
                got: 4
            }
        );
        assert!(err.is_malformed());
        assert_eq!(err.to_string(), "inclusion proof has 4 hashes, expected 3");
        let short = InclusionProof::new(good.hashes()[..2].to_vec());
        assert_eq!(
            head.verify_inclusion(&leaf, 2, &short),
            Err(InclusionError::WrongProofLength {
                expected: 3,
                got: 2
            })
        );
        let huge = InclusionProof::new(vec![[0; 32]; 100]);
        assert!(matches!(
            RootHash::new(u64::MAX, [0; 32]).verify_inclusion(&leaf, u64::MAX - 1, &huge),
            Err(InclusionError::WrongProofLength {
                expected: 63,
                got: 100
            })
        ));
    }

    #[test]
    fn wrong_root_or_leaf_does_not_verify() {
        let t = tree(6);
        let leaf = leaf_hash(&4u64.to_le_bytes());
        let proof = prove_inclusion(&t, 4, 6).unwrap();
        let bad = RootHash::new(6, [9; 32]);
        let err = bad.verify_inclusion(&leaf, 4, &proof).unwrap_err();
        assert_eq!(
            err,
            InclusionError::RootMismatch {
                expected: [9; 32],
                computed: t.root()
            }
        );
        assert!(!err.is_malformed());
        assert!(err.to_string().starts_with(
            "inclusion proof does not verify: root is 0909090909090909090909090909090909090909"
        ));
        let err = t
            .tree_head()
            .verify_inclusion(&[0; 32], 4, &proof)
            .unwrap_err();
        assert!(matches!(err, InclusionError::RootMismatch { .. }));
        // The same proof at another index or size.
        assert!(t.tree_head().verify_inclusion(&leaf, 5, &proof).is_err());
        assert!(
            RootHash::new(7, t.root())
                .verify_inclusion(&leaf, 4, &proof)
                .is_err()
        );
    }

    #[test]
    fn single_leaf_tree() {
        let t = tree(1);
        let leaf = leaf_hash(&0u64.to_le_bytes());
        let proof = prove_inclusion(&t, 0, 1).unwrap();
        assert!(proof.is_empty());
        assert_eq!(t.root(), leaf);
        assert_eq!(t.tree_head().verify_inclusion(&leaf, 0, &proof), Ok(()));
    }

    #[test]
    fn prove_rejects_bad_index_and_missing_nodes() {
        let t = tree(4);
        assert_eq!(
            prove_inclusion(&t, 4, 4),
            Err(ProofError::InvalidIndex { index: 4, size: 4 })
        );
        assert_eq!(
            prove_inclusion(&t, 0, 0),
            Err(ProofError::InvalidIndex { index: 0, size: 0 })
        );
        assert!(matches!(
            prove_inclusion(&t, 0, 9),
            Err(ProofError::Source(MissingNode { .. }))
        ));
    }

    #[test]
    fn from_slices_rejects_bad_lengths() {
        let ok = InclusionProof::from_slices(&[[1u8; 32], [2u8; 32]]).unwrap();
        assert_eq!(ok.hashes(), &[[1u8; 32], [2u8; 32]]);
        let bad: &[&[u8]] = &[&[0u8; 32], &[0u8; 31]];
        assert_eq!(
            InclusionProof::from_slices(bad),
            Err(crate::merkle::HashLengthError { got: 31 })
        );
        let empty: &[Vec<u8>] = &[];
        assert!(InclusionProof::from_slices(empty).unwrap().is_empty());
        assert_eq!(InclusionProof::from(vec![[3u8; 32]]).len(), 1);
    }
}
