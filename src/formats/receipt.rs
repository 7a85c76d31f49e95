//! COSE Receipts of inclusion (RFC 9942 §5.2.1) for the RFC9162_SHA256 verifiable data structure.
//!
//! A receipt is a tagged COSE_Sign1 signed by the log key:
//! - protected header `{1: -8, 4: kid, 395: 1}`: alg EdDSA, the log key's RFC 9679 thumbprint,
//!   and `vds` = RFC9162_SHA256 (RFC 9942 §2, §5.1);
//! - unprotected header `{396: {-1: [bstr .cbor [tree_size, leaf_index, inclusion_path]]}}`:
//!   `vdp` holding exactly one inclusion proof (RFC 9942 §5.2, Figures 3 and 5);
//! - payload `nil`: detached; the signed payload is the Merkle Tree Hash computed from the entry
//!   and the proof (RFC 9942 §5.2.1).
//!
//! The candidate entry of an evledger receipt is the statement's SHA-256, not the statement: the
//! leaf is `SHA-256(0x00 || SHA-256(statement))` (`specs/service.md`, "Receipts"). A receipt
//! signs the root only, never the tree size, so it is never the evidence of a tree size.
//!
//! Parsing is strict: deterministic CBOR, no other header label, no trailing byte, at most
//! [`MAX_PATH_LEN`] path hashes and [`MAX_RECEIPT_LEN`] bytes; nothing here panics on any input.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::cbor::{self, CborError, Value};
use crate::keys::KeyId;
use crate::merkle::{Hash, InclusionError, InclusionProof, inclusion_root, leaf_hash};
use crate::statement::{ALG_EDDSA, COSE_SIGN1_TAG, entry_hash, sig_structure};

/// COSE header label `vds`, the verifiable data structure (RFC 9942 §2, Table 1).
pub const HEADER_VDS: i64 = 395;
/// COSE header label `vdp`, the verifiable data structure proofs (RFC 9942 §2, Table 1).
pub const HEADER_VDP: i64 = 396;
/// COSE header label `kid` (RFC 9052 §3.1).
pub const HEADER_KID: i64 = 4;
/// COSE header label `alg` (RFC 9052 §3.1).
pub const HEADER_ALG: i64 = 1;
/// The `vds` value RFC9162_SHA256 (RFC 9942 §5.1, Table 2).
pub const VDS_RFC9162_SHA256: i64 = 1;
/// The `vdp` map label of inclusion proofs for RFC9162_SHA256 (RFC 9942 §5.2.1, Table 3).
pub const VDP_INCLUSION: i64 = -1;
/// Most hashes accepted in an inclusion path: a proof in a tree of up to 2^63 leaves.
pub const MAX_PATH_LEN: usize = 63;
/// Largest receipt accepted, in bytes: a 63-hash path and its headers take under 2.5 KiB.
pub const MAX_RECEIPT_LEN: usize = 4096;

/// The candidate entry a receipt is checked against.
#[derive(Clone, Copy, Debug)]
pub enum ReceiptEntry<'a> {
    /// The signed statement's bytes; the entry is their SHA-256.
    Statement(&'a [u8]),
    /// The entry hash itself: the statement's SHA-256.
    EntryHash(&'a Hash),
}

impl ReceiptEntry<'_> {
    fn hash(&self) -> Hash {
        match self {
            ReceiptEntry::Statement(bytes) => entry_hash(bytes),
            ReceiptEntry::EntryHash(h) => **h,
        }
    }
}

/// Why a receipt was not made, is malformed, or does not verify.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The receipt is larger than [`MAX_RECEIPT_LEN`].
    #[error("receipt is {0} bytes, over the limit of {MAX_RECEIPT_LEN}")]
    TooLarge(usize),
    /// The bytes are not one deterministic CBOR item.
    #[error("receipt is not deterministic CBOR: {0}")]
    Cbor(#[from] CborError),
    /// The COSE_Sign1 structure or its header profile is wrong.
    #[error("receipt {field}: {reason}")]
    Profile {
        /// The field, e.g. "protected header label 395 (vds)".
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The inclusion path has more than [`MAX_PATH_LEN`] hashes.
    #[error(
        "receipt inclusion path has {0} hashes, over the limit of {MAX_PATH_LEN} (no tree of up to 2^63 leaves needs more)"
    )]
    PathTooLong(usize),
    /// The index, tree size and path length do not fit together (RFC 9162 §2.1.3.2).
    #[error("receipt inclusion proof is malformed: {0}")]
    Proof(#[from] InclusionError),
    /// The receipt names another log key than the one given.
    #[error("receipt kid {expected} does not match the log key {got}: check the log's public key")]
    KidMismatch {
        /// The kid in the receipt.
        expected: KeyId,
        /// The kid of the key offered.
        got: KeyId,
    },
    /// The signature does not verify over the root computed from the entry and the proof.
    #[error(
        "receipt signature does not verify under log key {kid} over the root computed from the entry and the proof: the statement, the index or the path is not the one the log signed"
    )]
    BadSignature {
        /// The log key's id.
        kid: KeyId,
    },
}

impl ReceiptError {
    /// True when the receipt is malformed rather than well-formed but not verifying.
    pub fn is_malformed(&self) -> bool {
        !matches!(
            self,
            ReceiptError::KidMismatch { .. } | ReceiptError::BadSignature { .. }
        )
    }
}

fn profile(field: &'static str, reason: impl Into<String>) -> ReceiptError {
    ReceiptError::Profile {
        field,
        reason: reason.into(),
    }
}

/// What a verified receipt proves: the entry is leaf `index` of the tree of `tree_size` leaves
/// whose root is `root`, signed by the log key `kid`. The tree size is not signed (RFC 9942
/// signs the root only): compare the root with a signed checkpoint of that size before relying
/// on the size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    tree_size: u64,
    index: u64,
    root: Hash,
    entry_hash: Hash,
    kid: KeyId,
}

impl VerifiedReceipt {
    /// The tree size the proof claims (unsigned).
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// The leaf index of the entry.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The Merkle Tree Hash the log key signed.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The candidate entry the receipt was checked against (the statement's SHA-256).
    pub fn entry_hash(&self) -> Hash {
        self.entry_hash
    }

    /// The signing log key's id.
    pub fn kid(&self) -> KeyId {
        self.kid
    }
}

/// The protected header of every evledger receipt signed by `key`: `{1: -8, 4: kid, 395: 1}`.
fn protected_header(key: &VerifyingKey) -> Vec<u8> {
    cbor::encode(&Value::Map(vec![
        (Value::int(HEADER_ALG), Value::int(ALG_EDDSA)),
        (
            Value::int(HEADER_KID),
            Value::Bytes(KeyId::of(key).0.to_vec()),
        ),
        (Value::int(HEADER_VDS), Value::int(VDS_RFC9162_SHA256)),
    ]))
}

/// Signs a receipt of inclusion for the entry `entry` at `index` of the tree of `tree_size`
/// leaves, with the audit path `proof` (RFC 9162 §2.1.3.1), and returns the tagged COSE_Sign1.
///
/// The signed root is computed from the entry and the proof, so the caller compares it with the
/// checkpoint's root (returned as the second value) before handing the receipt out.
///
/// # Errors
/// [`ReceiptError::Proof`] if the index, size and proof length do not fit together;
/// [`ReceiptError::PathTooLong`] for a path over [`MAX_PATH_LEN`].
pub fn sign_receipt(
    key: &SigningKey,
    entry: &Hash,
    index: u64,
    tree_size: u64,
    proof: &InclusionProof,
) -> Result<(Vec<u8>, Hash), ReceiptError> {
    if proof.len() > MAX_PATH_LEN {
        return Err(ReceiptError::PathTooLong(proof.len()));
    }
    let root = inclusion_root(&leaf_hash(entry), index, tree_size, proof.hashes())?;
    let bytes = RootSignature::sign(key, &root).encode(index, tree_size, proof);
    Ok((bytes, root))
}

/// The log key's signature over one root, shared by every receipt against that root.
///
/// A receipt signs only its protected header and the root (the detached payload, RFC 9942
/// §5.2), and Ed25519 signatures are deterministic (RFC 8032 §5.1.6): every receipt one key
/// signs over one root carries the same signature. Signing it once and reusing it gives the
/// bytes [`sign_receipt`] gives, for one signature per checkpoint instead of one per entry.
#[derive(Clone, Debug)]
pub struct RootSignature {
    protected: Vec<u8>,
    root: Hash,
    signature: [u8; 64],
}

impl RootSignature {
    /// Signs `root` with `key` under the receipt's protected header.
    pub fn sign(key: &SigningKey, root: &Hash) -> RootSignature {
        let protected = protected_header(&key.verifying_key());
        let signature = key.sign(&sig_structure(&protected, root)).to_bytes();
        RootSignature {
            protected,
            root: *root,
            signature,
        }
    }

    /// The receipt of inclusion of `entry` at `index` of the tree of `tree_size` leaves, with
    /// the audit path `proof`, if that path leads from the entry to the signed root.
    ///
    /// # Errors
    /// [`ReceiptError::Proof`] if the index, size and proof do not fit together or do not lead
    /// to the signed root; [`ReceiptError::PathTooLong`] for a path over [`MAX_PATH_LEN`].
    pub fn receipt(
        &self,
        entry: &Hash,
        index: u64,
        tree_size: u64,
        proof: &InclusionProof,
    ) -> Result<Vec<u8>, ReceiptError> {
        if proof.len() > MAX_PATH_LEN {
            return Err(ReceiptError::PathTooLong(proof.len()));
        }
        let root = inclusion_root(&leaf_hash(entry), index, tree_size, proof.hashes())?;
        if root != self.root {
            return Err(ReceiptError::Proof(InclusionError::RootMismatch {
                expected: self.root,
                computed: root,
            }));
        }
        Ok(self.encode(index, tree_size, proof))
    }

    /// The tagged COSE_Sign1 of a receipt with this signature.
    fn encode(&self, index: u64, tree_size: u64, proof: &InclusionProof) -> Vec<u8> {
        let content = cbor::encode(&Value::Array(vec![
            Value::Unsigned(tree_size),
            Value::Unsigned(index),
            Value::Array(
                proof
                    .hashes()
                    .iter()
                    .map(|h| Value::Bytes(h.to_vec()))
                    .collect(),
            ),
        ]));
        let unprotected = Value::Map(vec![(
            Value::int(HEADER_VDP),
            Value::Map(vec![(
                Value::int(VDP_INCLUSION),
                Value::Array(vec![Value::Bytes(content)]),
            )]),
        )]);
        cbor::encode(&Value::Tag(
            COSE_SIGN1_TAG,
            Box::new(Value::Array(vec![
                Value::Bytes(self.protected.clone()),
                unprotected,
                Value::Null,
                Value::Bytes(self.signature.to_vec()),
            ])),
        ))
    }
}

/// A receipt parsed against the profile, its signature not yet checked.
struct ParsedReceipt {
    protected: Vec<u8>,
    kid: KeyId,
    tree_size: u64,
    index: u64,
    path: Vec<Hash>,
    signature: [u8; 64],
}

/// Parses a tagged COSE_Sign1 receipt strictly against evledger's profile.
fn parse(bytes: &[u8]) -> Result<ParsedReceipt, ReceiptError> {
    if bytes.len() > MAX_RECEIPT_LEN {
        return Err(ReceiptError::TooLarge(bytes.len()));
    }
    let v = cbor::decode(bytes)?;
    let parts = match &v {
        Value::Tag(COSE_SIGN1_TAG, inner) => inner.as_array(),
        _ => None,
    }
    .ok_or_else(|| profile("structure", "is not a tagged (18) COSE_Sign1 array"))?;
    let [prot, unprot, payload, sig] = parts else {
        return Err(profile(
            "structure",
            format!("has {} elements, not 4", parts.len()),
        ));
    };
    let protected = prot
        .as_bytes()
        .ok_or_else(|| profile("protected header", "is not a byte string"))?
        .to_vec();
    let kid = decode_protected(&protected)?;
    let (tree_size, index, path) = decode_unprotected(unprot)?;
    if !matches!(payload, Value::Null) {
        return Err(profile(
            "payload",
            format!(
                "must be nil (detached: the root is computed from the proof), got a {}",
                payload.type_name()
            ),
        ));
    }
    let signature = sig
        .as_bytes()
        .and_then(|s| <[u8; 64]>::try_from(s).ok())
        .ok_or_else(|| profile("signature", "must be a 64-byte string"))?;
    Ok(ParsedReceipt {
        protected,
        kid,
        tree_size,
        index,
        path,
        signature,
    })
}

/// Checks the protected header is exactly `{1: -8, 4: kid, 395: 1}` and returns the kid.
fn decode_protected(bytes: &[u8]) -> Result<KeyId, ReceiptError> {
    let v = cbor::decode(bytes)?;
    let map = v
        .as_map()
        .ok_or_else(|| profile("protected header", "is not a map"))?;
    let (mut alg, mut kid, mut vds) = (false, None, false);
    for (k, val) in map {
        match k.as_i64() {
            Some(HEADER_ALG) => {
                if val.as_i64() != Some(ALG_EDDSA) {
                    return Err(profile(
                        "protected header label 1 (alg)",
                        format!("must be -8 (EdDSA), got {val}"),
                    ));
                }
                alg = true;
            }
            Some(HEADER_KID) => {
                let b = val
                    .as_bytes()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| {
                        profile(
                            "protected header label 4 (kid)",
                            "must be a 32-byte string (RFC 9679 thumbprint)",
                        )
                    })?;
                kid = Some(KeyId(b));
            }
            Some(HEADER_VDS) => {
                if val.as_i64() != Some(VDS_RFC9162_SHA256) {
                    return Err(profile(
                        "protected header label 395 (vds)",
                        format!("must be 1 (RFC9162_SHA256), got {val}"),
                    ));
                }
                vds = true;
            }
            _ => {
                return Err(profile(
                    "protected header",
                    format!(
                        "unexpected label {k}: only 1 (alg), 4 (kid) and 395 (vds) are allowed"
                    ),
                ));
            }
        }
    }
    if !alg {
        return Err(profile("protected header label 1 (alg)", "is missing"));
    }
    if !vds {
        return Err(profile("protected header label 395 (vds)", "is missing"));
    }
    kid.ok_or_else(|| profile("protected header label 4 (kid)", "is missing"))
}

/// Checks the unprotected header is exactly `{396: {-1: [proof]}}` and decodes the one proof.
fn decode_unprotected(v: &Value) -> Result<(u64, u64, Vec<Hash>), ReceiptError> {
    const VDP: &str = "unprotected header label 396 (vdp)";
    const PROOFS: &str = "vdp label -1 (inclusion proofs)";
    const PROOF: &str = "inclusion proof";
    let map = v
        .as_map()
        .ok_or_else(|| profile("unprotected header", "is not a map"))?;
    let [(k, vdp)] = map else {
        return Err(profile(
            "unprotected header",
            format!("has {} labels, must hold only 396 (vdp)", map.len()),
        ));
    };
    if k.as_i64() != Some(HEADER_VDP) {
        return Err(profile(
            "unprotected header",
            format!("unexpected label {k}: only 396 (vdp) is allowed"),
        ));
    }
    let vdp = vdp.as_map().ok_or_else(|| profile(VDP, "is not a map"))?;
    let [(k, proofs)] = vdp else {
        return Err(profile(
            VDP,
            format!(
                "has {} labels, must hold only -1 (inclusion proofs)",
                vdp.len()
            ),
        ));
    };
    if k.as_i64() != Some(VDP_INCLUSION) {
        return Err(profile(
            VDP,
            format!("unexpected label {k}: only -1 (inclusion proofs) is allowed"),
        ));
    }
    let proofs = proofs
        .as_array()
        .ok_or_else(|| profile(PROOFS, "is not an array"))?;
    let [proof] = proofs else {
        return Err(profile(
            PROOFS,
            format!("has {} proofs, must hold exactly one", proofs.len()),
        ));
    };
    let content = proof
        .as_bytes()
        .ok_or_else(|| profile(PROOF, "is not a byte string (bstr .cbor)"))?;
    let content = cbor::decode(content)?;
    let items = content
        .as_array()
        .ok_or_else(|| profile(PROOF, "is not an array [tree_size, leaf_index, path]"))?;
    let [size, index, path] = items else {
        return Err(profile(
            PROOF,
            format!(
                "has {} elements, not 3 (tree_size, leaf_index, path)",
                items.len()
            ),
        ));
    };
    let size = size
        .as_u64()
        .ok_or_else(|| profile("inclusion proof tree_size", "is not an unsigned integer"))?;
    let index = index
        .as_u64()
        .ok_or_else(|| profile("inclusion proof leaf_index", "is not an unsigned integer"))?;
    let path = path
        .as_array()
        .ok_or_else(|| profile("inclusion proof path", "is not an array"))?;
    if path.len() > MAX_PATH_LEN {
        return Err(ReceiptError::PathTooLong(path.len()));
    }
    let path = path
        .iter()
        .map(|h| h.as_bytes().and_then(|b| <Hash>::try_from(b).ok()))
        .collect::<Option<Vec<Hash>>>()
        .ok_or_else(|| profile("inclusion proof path", "holds an item that is not 32 bytes"))?;
    Ok((size, index, path))
}

/// Verifies a receipt of inclusion for `entry` under the log key `key` (RFC 9942 §5.2.1): parses
/// it strictly, computes the root from the entry's leaf hash and the proof (RFC 9162 §2.1.3.2),
/// then checks the COSE_Sign1 signature over `["Signature1", protected, h'', root]`.
///
/// # Errors
/// [`ReceiptError`]: malformed ([`ReceiptError::is_malformed`]), another key's receipt, or a
/// signature that does not verify (a wrong statement, index or path all end there, since the
/// root is computed, not carried).
pub fn verify_receipt(
    receipt: &[u8],
    entry: ReceiptEntry<'_>,
    key: &VerifyingKey,
) -> Result<VerifiedReceipt, ReceiptError> {
    let parsed = parse(receipt)?;
    let entry_hash = entry.hash();
    let root = inclusion_root(
        &leaf_hash(&entry_hash),
        parsed.index,
        parsed.tree_size,
        &parsed.path,
    )?;
    let got = KeyId::of(key);
    if got != parsed.kid {
        return Err(ReceiptError::KidMismatch {
            expected: parsed.kid,
            got,
        });
    }
    let sig = Signature::from_bytes(&parsed.signature);
    key.verify_strict(&sig_structure(&parsed.protected, &root), &sig)
        .map_err(|_| ReceiptError::BadSignature { kid: got })?;
    Ok(VerifiedReceipt {
        tree_size: parsed.tree_size,
        index: parsed.index,
        root,
        entry_hash,
        kid: got,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{MemoryTree, prove_inclusion, root};

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    #[test]
    fn round_trip_small_tree() {
        let statements: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10]).collect();
        let mut tree = MemoryTree::new();
        for s in &statements {
            tree.push(leaf_hash(&entry_hash(s)));
        }
        for (i, s) in statements.iter().enumerate() {
            let i = i as u64;
            let proof = prove_inclusion(&tree, i, 5).expect("proof");
            let (bytes, signed_root) =
                sign_receipt(&key(), &entry_hash(s), i, 5, &proof).expect("sign");
            assert_eq!(signed_root, tree.root());
            let v = verify_receipt(&bytes, ReceiptEntry::Statement(s), &key().verifying_key())
                .expect("verify");
            assert_eq!((v.tree_size(), v.index(), v.root()), (5, i, signed_root));
            assert_eq!(root(&tree, 5).expect("root"), signed_root);
        }
    }

    #[test]
    fn sign_refuses_a_proof_that_does_not_fit() {
        let e = [1u8; 32];
        let err = sign_receipt(&key(), &e, 3, 2, &InclusionProof::default()).unwrap_err();
        assert!(matches!(err, ReceiptError::Proof(_)), "{err}");
        let long = InclusionProof::new(vec![[0; 32]; 64]);
        let err = sign_receipt(&key(), &e, 0, 2, &long).unwrap_err();
        assert!(matches!(err, ReceiptError::PathTooLong(64)), "{err}");
    }
}
