//! Consistency proofs: generation (RFC 9162 §2.1.4.1) and verification (RFC 9162 §2.1.4.2).
//!
//! Sizes: a proof from `old` to `new` exists for `0 < old <= new`. Equal sizes
//! take the empty proof and equal roots (RFC 9162 §2.1.4.1: `PROOF(m, D[m])`
//! is empty); for `0 == 0` both roots must also be the empty-tree root. From
//! an empty tree to a non-empty one there is no proof (RFC 9162 §2.1.4 only
//! defines `0 < m`): generation returns [`ProofError::InvalidRange`] and
//! verification [`ConsistencyError::EmptyOldTree`], whatever the proof.

use super::hash::{EMPTY_ROOT, Hash, Hex, RootHash, node_hash};
use super::source::{NodeSource, ProofError, span_hashes};
use super::subtrees::{consistency_proof_len, consistency_seed, path};

/// A consistency proof `PROOF(m, D[n])`: the hashes that rebuild both roots (RFC 9162 §2.1.4.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsistencyProof {
    hashes: Vec<Hash>,
}

super::hash::proof_hashes!(ConsistencyProof);

impl From<Vec<Hash>> for ConsistencyProof {
    fn from(hashes: Vec<Hash>) -> Self {
        ConsistencyProof { hashes }
    }
}

/// Why a consistency proof was rejected.
///
/// [`OldLargerThanNew`](Self::OldLargerThanNew),
/// [`EmptyOldTree`](Self::EmptyOldTree) and
/// [`WrongProofLength`](Self::WrongProofLength) mean the input is malformed;
/// the two root mismatches mean a well-formed proof does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsistencyError {
    /// The older tree head is larger than the newer one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew {
        /// Size of the older tree head.
        old: u64,
        /// Size of the newer tree head.
        new: u64,
    },
    /// The older tree is empty and the newer is not; RFC 9162 defines no proof for that.
    #[error("no consistency proof exists from the empty tree to tree size {new}")]
    EmptyOldTree {
        /// Size of the newer tree head.
        new: u64,
    },
    /// The proof does not have the number of hashes that these sizes require.
    #[error(
        "consistency proof from tree size {old} to {new} has {got} hashes, expected {expected}"
    )]
    WrongProofLength {
        /// Size of the older tree head.
        old: u64,
        /// Size of the newer tree head.
        new: u64,
        /// Hashes required for these sizes.
        expected: usize,
        /// Hashes supplied.
        got: usize,
    },
    /// The older root does not match the one the proof rebuilds (or, for size 0, the empty-tree root).
    #[error("consistency proof does not verify: old root at size {size} is {}, proof gives {}", Hex(.expected), Hex(.computed))]
    OldRootMismatch {
        /// Size of the older tree head.
        size: u64,
        /// Root hash of the older tree head.
        expected: Hash,
        /// Root hash rebuilt from the proof.
        computed: Hash,
    },
    /// The newer root does not match the one the proof rebuilds (for equal sizes: the older root).
    #[error("consistency proof does not verify: new root at size {size} is {}, proof gives {}", Hex(.expected), Hex(.computed))]
    NewRootMismatch {
        /// Size of the newer tree head.
        size: u64,
        /// Root hash of the newer tree head.
        expected: Hash,
        /// Root hash rebuilt from the proof.
        computed: Hash,
    },
}

impl ConsistencyError {
    /// True when the input is malformed rather than well-formed but wrong.
    pub fn is_malformed(&self) -> bool {
        !matches!(
            self,
            ConsistencyError::OldRootMismatch { .. } | ConsistencyError::NewRootMismatch { .. }
        )
    }
}

/// Produces `PROOF(old, D[new])` (RFC 9162 §2.1.4.1) from stored complete subtrees.
///
/// `old == new` gives the empty proof with no reads. `old > new` and
/// `old == 0 < new` give [`ProofError::InvalidRange`]. Otherwise the proof is
/// the complete subtree ending at leaf `old` (omitted when `old` is a power of
/// two) followed by its siblings up to the new root: O(log new) reads.
pub fn prove_consistency<S: NodeSource + ?Sized>(
    src: &S,
    old: u64,
    new: u64,
) -> Result<ConsistencyProof, ProofError<S::Error>> {
    let Some(len) = consistency_proof_len(old, new) else {
        return Err(ProofError::InvalidRange { old, new });
    };
    if old == new {
        return Ok(ConsistencyProof::default());
    }
    let Some(seed) = consistency_seed(old) else {
        // consistency_proof_len rejected old == 0 < new above.
        return Err(ProofError::InvalidRange { old, new });
    };
    let first = (!old.is_power_of_two()).then_some(seed);
    let spans = path(seed.level, seed.index, new).map(|span| span.subtrees());
    let hashes = span_hashes(src, first, spans).map_err(ProofError::Source)?;
    debug_assert_eq!(hashes.len(), len);
    Ok(ConsistencyProof { hashes })
}

impl RootHash {
    /// Checks that this (older) tree head is a prefix of `newer` (RFC 9162 §2.1.4.2).
    ///
    /// See the module documentation for equal and zero sizes.
    pub fn verify_consistency(
        &self,
        newer: &RootHash,
        proof: &ConsistencyProof,
    ) -> Result<(), ConsistencyError> {
        let (old, new) = (self.size, newer.size);
        let proof = proof.hashes();
        if old > new {
            return Err(ConsistencyError::OldLargerThanNew { old, new });
        }
        if old == 0 && new > 0 {
            return Err(ConsistencyError::EmptyOldTree { new });
        }
        let expected = consistency_proof_len(old, new).unwrap_or(0);
        let wrong_length = ConsistencyError::WrongProofLength {
            old,
            new,
            expected,
            got: proof.len(),
        };
        if proof.len() != expected {
            return Err(wrong_length);
        }
        if old == new {
            if old == 0 && self.hash != EMPTY_ROOT {
                return Err(ConsistencyError::OldRootMismatch {
                    size: 0,
                    expected: self.hash,
                    computed: EMPTY_ROOT,
                });
            }
            if newer.hash != self.hash {
                return Err(ConsistencyError::NewRootMismatch {
                    size: new,
                    expected: newer.hash,
                    computed: self.hash,
                });
            }
            return Ok(());
        }
        // RFC 9162 §2.1.4.2 with 0 < old < new. Step 2: a power-of-two old
        // tree is itself the first node, so its root takes the place of a
        // first proof hash.
        let (first, rest) = if old.is_power_of_two() {
            (&self.hash, proof)
        } else {
            match proof.split_first() {
                Some(split) => split,
                None => return Err(wrong_length),
            }
        };
        // Steps 3 and 4.
        let mut fnode = old - 1;
        let mut snode = new - 1;
        while fnode & 1 == 1 {
            fnode >>= 1;
            snode >>= 1;
        }
        // Steps 5 and 6.
        let mut fr = *first;
        let mut sr = *first;
        for c in rest {
            if snode == 0 {
                return Err(wrong_length);
            }
            if fnode & 1 == 1 || fnode == snode {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                if fnode & 1 == 0 {
                    while fnode & 1 == 0 && fnode != 0 {
                        fnode >>= 1;
                        snode >>= 1;
                    }
                }
            } else {
                sr = node_hash(&sr, c);
            }
            fnode >>= 1;
            snode >>= 1;
        }
        // Step 7.
        if snode != 0 {
            return Err(wrong_length);
        }
        if fr != self.hash {
            return Err(ConsistencyError::OldRootMismatch {
                size: old,
                expected: self.hash,
                computed: fr,
            });
        }
        if sr != newer.hash {
            return Err(ConsistencyError::NewRootMismatch {
                size: new,
                expected: newer.hash,
                computed: sr,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::leaf_hash;
    use crate::merkle::{MemoryTree, MissingNode, root};

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.push(leaf_hash(&i.to_le_bytes()));
        }
        t
    }

    fn head(t: &MemoryTree, size: u64) -> RootHash {
        RootHash::new(size, root(t, size).unwrap())
    }

    #[test]
    fn size_errors_are_malformed() {
        let a = RootHash::new(5, [1; 32]);
        let b = RootHash::new(4, [1; 32]);
        let err = a
            .verify_consistency(&b, &ConsistencyProof::default())
            .unwrap_err();
        assert_eq!(err, ConsistencyError::OldLargerThanNew { old: 5, new: 4 });
        assert!(err.is_malformed());
        assert_eq!(
            err.to_string(),
            "old tree size 5 is larger than new tree size 4"
        );
        let empty = RootHash::empty();
        for proof in [vec![], vec![EMPTY_ROOT]] {
            let err = empty
                .verify_consistency(&b, &ConsistencyProof::new(proof))
                .unwrap_err();
            assert_eq!(err, ConsistencyError::EmptyOldTree { new: 4 });
            assert!(err.is_malformed());
        }
        assert_eq!(
            ConsistencyError::EmptyOldTree { new: 4 }.to_string(),
            "no consistency proof exists from the empty tree to tree size 4"
        );
        assert!(matches!(
            RootHash::new(u64::MAX, [0; 32])
                .verify_consistency(&RootHash::new(0, [0; 32]), &ConsistencyProof::default()),
            Err(ConsistencyError::OldLargerThanNew { .. })
        ));
    }

    #[test]
    fn equal_sizes() {
        let empty = RootHash::empty();
        assert_eq!(
            empty.verify_consistency(&empty, &ConsistencyProof::default()),
            Ok(())
        );
        let odd = RootHash::new(0, [7; 32]);
        assert!(matches!(
            odd.verify_consistency(&odd, &ConsistencyProof::default()),
            Err(ConsistencyError::OldRootMismatch { size: 0, .. })
        ));
        let a = RootHash::new(3, [1; 32]);
        let b = RootHash::new(3, [2; 32]);
        assert_eq!(
            a.verify_consistency(&a, &ConsistencyProof::default()),
            Ok(())
        );
        let err = a
            .verify_consistency(&b, &ConsistencyProof::default())
            .unwrap_err();
        assert!(!err.is_malformed());
        assert_eq!(
            err,
            ConsistencyError::NewRootMismatch {
                size: 3,
                expected: [2; 32],
                computed: [1; 32]
            }
        );
        let err = a
            .verify_consistency(&a, &ConsistencyProof::new(vec![[1; 32]]))
            .unwrap_err();
        assert_eq!(
            err,
            ConsistencyError::WrongProofLength {
                old: 3,
                new: 3,
                expected: 0,
                got: 1
            }
        );
        assert_eq!(
            err.to_string(),
            "consistency proof from tree size 3 to 3 has 1 hashes, expected 0"
        );
    }

    #[test]
    fn wrong_lengths_and_roots() {
        let t = tree(7);
        let (h3, h7) = (head(&t, 3), head(&t, 7));
        let proof = prove_consistency(&t, 3, 7).unwrap();
        assert_eq!(proof.len(), 4);
        assert_eq!(h3.verify_consistency(&h7, &proof), Ok(()));
        let short = ConsistencyProof::new(proof.hashes()[..3].to_vec());
        assert!(matches!(
            h3.verify_consistency(&h7, &short),
            Err(ConsistencyError::WrongProofLength {
                expected: 4,
                got: 3,
                ..
            })
        ));
        let mut long = proof.clone().into_hashes();
        long.push([0; 32]);
        assert!(matches!(
            h3.verify_consistency(&h7, &ConsistencyProof::new(long)),
            Err(ConsistencyError::WrongProofLength { got: 5, .. })
        ));
        let err = RootHash::new(3, [5; 32])
            .verify_consistency(&h7, &proof)
            .unwrap_err();
        assert_eq!(
            err,
            ConsistencyError::OldRootMismatch {
                size: 3,
                expected: [5; 32],
                computed: h3.hash
            }
        );
        assert!(!err.is_malformed());
        assert!(
            err.to_string()
                .starts_with("consistency proof does not verify: old root at size 3 is 0505")
        );
        let err = h3
            .verify_consistency(&RootHash::new(7, [6; 32]), &proof)
            .unwrap_err();
        assert_eq!(
            err,
            ConsistencyError::NewRootMismatch {
                size: 7,
                expected: [6; 32],
                computed: h7.hash
            }
        );
        // Swapped heads.
        assert!(h7.verify_consistency(&h3, &proof).is_err());
        // A power-of-two old size omits the old root from the proof.
        let proof4 = prove_consistency(&t, 4, 7).unwrap();
        assert_eq!(proof4.len(), 1);
        assert_eq!(head(&t, 4).verify_consistency(&h7, &proof4), Ok(()));
        assert!(matches!(
            head(&t, 4).verify_consistency(&h7, &ConsistencyProof::default()),
            Err(ConsistencyError::WrongProofLength { expected: 1, .. })
        ));
    }

    #[test]
    fn extreme_sizes_never_panic() {
        let junk = ConsistencyProof::new(vec![[3; 32]; 64]);
        for (old, new) in [
            (u64::MAX - 1, u64::MAX),
            (1, u64::MAX),
            (1 << 63, u64::MAX),
            (u64::MAX, u64::MAX),
        ] {
            let r =
                RootHash::new(old, [1; 32]).verify_consistency(&RootHash::new(new, [2; 32]), &junk);
            assert!(r.is_err(), "{old} {new}");
        }
    }

    #[test]
    fn prove_rejects_bad_ranges_and_missing_nodes() {
        let t = tree(4);
        assert_eq!(
            prove_consistency(&t, 5, 4),
            Err(ProofError::InvalidRange { old: 5, new: 4 })
        );
        assert_eq!(
            prove_consistency(&t, 0, 4),
            Err(ProofError::InvalidRange { old: 0, new: 4 })
        );
        assert_eq!(prove_consistency(&t, 0, 0), Ok(ConsistencyProof::default()));
        assert_eq!(prove_consistency(&t, 9, 9), Ok(ConsistencyProof::default()));
        assert!(matches!(
            prove_consistency(&t, 3, 9),
            Err(ProofError::Source(MissingNode { .. }))
        ));
    }

    #[test]
    fn from_slices_rejects_bad_lengths() {
        let bad: &[&[u8]] = &[&[0u8; 33]];
        assert_eq!(
            ConsistencyProof::from_slices(bad),
            Err(crate::merkle::HashLengthError { got: 33 })
        );
        let ok = ConsistencyProof::from_slices(&[vec![4u8; 32]]).unwrap();
        assert_eq!(ok.clone().into_hashes(), vec![[4u8; 32]]);
        assert_eq!(ConsistencyProof::from(vec![[4u8; 32]]), ok);
        assert!(!ok.is_empty());
    }
}
