//! Ed25519 key identifiers and public keys.
//!
//! A signer is named by its key id: the RFC 9679 COSE key thumbprint, SHA-256 over the
//! deterministic CBOR of the COSE_Key `{1: 1, -1: 6, -2: x}`. Public keys are read from
//! SubjectPublicKeyInfo PEM text (RFC 8410). Key files on disk and key generation are the
//! operator's side ([`files`], feature `store`): the verifier needs neither a file system nor a
//! random source.

#[cfg(feature = "store")]
mod files;

#[cfg(feature = "store")]
pub use files::{
    KeyError, KeyFile, generate, public_path, read_key_file, read_signing_key, read_verifying_key,
    write_key_pair,
};

use std::fmt;

use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};

use crate::cbor::{self, Value};

/// An RFC 9679 COSE key thumbprint: the identifier of a signer's Ed25519 key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 32]);

impl KeyId {
    /// Computes the thumbprint of an Ed25519 public key.
    pub fn of(key: &VerifyingKey) -> KeyId {
        let cose_key = Value::Map(vec![
            (Value::int(1), Value::int(1)),
            (Value::int(-1), Value::int(6)),
            (Value::int(-2), Value::Bytes(key.to_bytes().to_vec())),
        ]);
        KeyId(Sha256::digest(cbor::encode(&cose_key)).into())
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<KeyId> {
        crate::hex::decode_array(s).map(KeyId)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Why public key text was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublicKeyError {
    /// The text is not an SPKI PEM Ed25519 public key.
    #[error("not an Ed25519 public key (SubjectPublicKeyInfo) in PEM form ({0})")]
    Format(String),
    /// The key is a small-order ("weak") point that could make signatures ambiguous.
    #[error("weak Ed25519 public key (small-order point) refused")]
    Weak,
}

/// Parses an SPKI PEM Ed25519 public key (RFC 8410 §4), refusing weak (small-order) keys.
///
/// # Errors
/// [`PublicKeyError::Format`] if the text is not such a key; [`PublicKeyError::Weak`].
pub fn parse_public_pem(pem: &str) -> Result<VerifyingKey, PublicKeyError> {
    let key = VerifyingKey::from_public_key_pem(pem)
        .map_err(|e| PublicKeyError::Format(e.to_string()))?;
    if key.is_weak() {
        return Err(PublicKeyError::Weak);
    }
    Ok(key)
}
