//! Leaf and interior-node hashing and tree heads (RFC 9162 §2.1.1).
//!
//! The Merkle Tree Hash of RFC 9162 uses SHA-256 with one-byte domain
//! separation prefixes: `0x00` for leaves and `0x01` for interior nodes, so a
//! leaf can never be reinterpreted as an interior node or the reverse.

use std::fmt;

use sha2::{Digest, Sha256};

/// A SHA-256 output: a leaf hash, an interior node hash or a root hash.
pub type Hash = [u8; 32];

/// Length in bytes of a [`Hash`](type@Hash).
pub const HASH_LEN: usize = 32;

/// Domain separation prefix of leaf hashes (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;

/// Domain separation prefix of interior node hashes (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// `SHA-256("")`: the Merkle Tree Hash of the empty tree (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Hashes one leaf entry: `SHA-256(0x00 || data)` (RFC 9162 §2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    hasher.finalize().into()
}

/// Hashes an interior node: `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root hash of the empty tree, `SHA-256("")` (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    EMPTY_ROOT
}

/// Copies a 32-byte slice into a [`Hash`](type@Hash), rejecting any other length.
pub fn hash_from_slice(bytes: &[u8]) -> Result<Hash, HashLengthError> {
    Hash::try_from(bytes).map_err(|_| HashLengthError { got: bytes.len() })
}

/// A byte string that should have been a 32-byte hash had another length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a hash must be {HASH_LEN} bytes, got {got}")]
pub struct HashLengthError {
    /// The length that was supplied.
    pub got: usize,
}

/// A tree head: the number of leaves and the Merkle Tree Hash over them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RootHash {
    /// Number of leaves in the tree.
    pub size: u64,
    /// Merkle Tree Hash of those leaves (RFC 9162 §2.1.1).
    pub hash: Hash,
}

impl RootHash {
    /// Builds a tree head from a size and a root hash.
    pub const fn new(size: u64, hash: Hash) -> Self {
        RootHash { size, hash }
    }

    /// The tree head of the empty tree: size 0 and [`EMPTY_ROOT`].
    pub const fn empty() -> Self {
        RootHash {
            size: 0,
            hash: EMPTY_ROOT,
        }
    }
}

/// Formats a hash as lower-case hex for error messages and logs.
#[derive(Clone, Copy)]
pub struct Hex<'a>(pub &'a Hash);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The constructors and accessors shared by the proof types: a list of 32-byte hashes in
/// RFC 9162 order, with length-checked construction from byte strings.
macro_rules! proof_hashes {
    ($ty:ident) => {
        impl $ty {
            /// Wraps proof hashes in RFC 9162 order.
            pub fn new(hashes: Vec<$crate::merkle::Hash>) -> Self {
                $ty { hashes }
            }

            /// Builds a proof from byte strings, rejecting any that is not 32 bytes long.
            ///
            /// # Errors
            /// [`HashLengthError`](crate::merkle::HashLengthError) for the first wrong length.
            pub fn from_slices<T: AsRef<[u8]>>(
                slices: &[T],
            ) -> Result<Self, $crate::merkle::HashLengthError> {
                let hashes = slices
                    .iter()
                    .map(|s| $crate::merkle::hash_from_slice(s.as_ref()))
                    .collect::<Result<_, _>>()?;
                Ok($ty { hashes })
            }

            /// The proof hashes in RFC 9162 order.
            pub fn hashes(&self) -> &[$crate::merkle::Hash] {
                &self.hashes
            }

            /// Unwraps the proof hashes.
            pub fn into_hashes(self) -> Vec<$crate::merkle::Hash> {
                self.hashes
            }

            /// Number of hashes in the proof.
            pub fn len(&self) -> usize {
                self.hashes.len()
            }

            /// True for the empty proof.
            pub fn is_empty(&self) -> bool {
                self.hashes.is_empty()
            }
        }
    };
}
pub(crate) use proof_hashes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let expected: Hash = Sha256::digest(b"").into();
        assert_eq!(empty_root(), expected);
        assert_eq!(RootHash::empty(), RootHash::new(0, expected));
    }

    #[test]
    fn prefixes_separate_leaves_from_nodes() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut joined = Vec::new();
        joined.extend_from_slice(&a);
        joined.extend_from_slice(&b);
        assert_ne!(node_hash(&a, &b), leaf_hash(&joined));
        let mut raw = vec![NODE_PREFIX];
        raw.extend_from_slice(&joined);
        assert_eq!(node_hash(&a, &b), <Hash>::from(Sha256::digest(&raw)));
        let expected: Hash = Sha256::digest([LEAF_PREFIX, b'a']).into();
        assert_eq!(a, expected);
    }

    #[test]
    fn hash_from_slice_checks_length() {
        assert_eq!(hash_from_slice(&[7u8; 32]), Ok([7u8; 32]));
        assert_eq!(hash_from_slice(&[]), Err(HashLengthError { got: 0 }));
        assert_eq!(hash_from_slice(&[0; 31]), Err(HashLengthError { got: 31 }));
        assert_eq!(hash_from_slice(&[0; 33]), Err(HashLengthError { got: 33 }));
        assert_eq!(
            HashLengthError { got: 9 }.to_string(),
            "a hash must be 32 bytes, got 9"
        );
    }

    #[test]
    fn hex_formats_lower_case() {
        let mut h = [0u8; 32];
        h[0] = 0xab;
        h[31] = 0x0f;
        let s = Hex(&h).to_string();
        assert_eq!(s.len(), 64);
        assert!(s.starts_with("ab00"));
        assert!(s.ends_with("000f"));
    }
}
