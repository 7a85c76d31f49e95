//! The RFC 9162 Merkle log: tree hashing, appends, and inclusion and consistency proofs.
//!
//! - [`hash`]: leaf and node hashing and tree heads (RFC 9162 §2.1.1).
//! - [`subtrees`]: pure index math naming the complete subtrees a root or proof needs.
//! - [`source`]: the [`NodeSource`] storage trait and roots read from it.
//! - [`inclusion`]: inclusion proofs (RFC 9162 §2.1.3).
//! - [`consistency`]: consistency proofs (RFC 9162 §2.1.4).
//! - [`frontier`]: appends that report each node they complete.
//! - [`memory`]: an in-memory tree.
//!
//! Proof generation reads O(log n) stored complete-subtree hashes and never
//! visits the leaves; verification never panics and separates malformed input
//! (`is_malformed()`) from proofs that do not verify.

pub mod consistency;
pub mod frontier;
pub mod hash;
pub mod inclusion;
pub mod memory;
pub mod source;
pub mod subtrees;

pub use consistency::{ConsistencyError, ConsistencyProof, prove_consistency};
pub use frontier::{Frontier, FrontierLengthError, StoredNode};
pub use hash::{
    EMPTY_ROOT, HASH_LEN, Hash, HashLengthError, Hex, RootHash, empty_root, hash_from_slice,
    leaf_hash, node_hash,
};
pub use inclusion::{InclusionError, InclusionProof, inclusion_root, prove_inclusion};
pub use memory::{MemoryTree, MissingNode};
pub use source::{NodeSource, ProofError, root, span_hash};
pub use subtrees::{NodeId, Span};
