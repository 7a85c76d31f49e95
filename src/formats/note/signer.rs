//! Named Ed25519 signing keys for signed notes, one type for every signature type this crate
//! signs with: [`NoteSigner`] (signed-note Ed25519, type 0x01) and [`CosignatureSigner`]
//! (tlog-cosignature `cosignature/v1`, type 0x04).
//!
//! Both are a key name, the 4-byte key id computed from the name, the signature type and the
//! public key (signed-note "Verifier keys"), and the private key; they differ only in what a
//! signature covers and carries, so only `sign` and `verifier` are written per type.

use std::fmt;
use std::marker::PhantomData;

// Ed25519 (RFC 8032).
use ed25519_dalek::{Signer as _, SigningKey};

use super::cosignature::{COSIGNATURE_LEN, cosignature_message};
use super::keys::{checked_key_id, hex_id, parse_skey};
use super::{
    CosignatureVerifier, MAX_COSIGNATURE_TIMESTAMP, NoteError, NoteSignature, NoteVerifier,
    SIG_TYPE_COSIGNATURE_V1, SIG_TYPE_ED25519, check_text,
};

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Ed25519 {}
    impl Sealed for super::CosignatureV1 {}
}

/// A signed-note signature type this crate signs with (sealed: exactly [`Ed25519`] and
/// [`CosignatureV1`]).
pub trait SignatureType: sealed::Sealed {
    /// The signature type byte, part of the key id and of key strings.
    const TYPE: u8;
    /// The signer's type name, as `Debug` shows it.
    const SIGNER: &'static str;
}

/// Plain Ed25519 note signatures, signature type 0x01 (c2sp.org/signed-note).
#[derive(Debug)]
pub enum Ed25519 {}

/// Timestamped Ed25519 cosignatures, signature type 0x04 (c2sp.org/tlog-cosignature).
#[derive(Debug)]
pub enum CosignatureV1 {}

impl SignatureType for Ed25519 {
    const TYPE: u8 = SIG_TYPE_ED25519;
    const SIGNER: &'static str = "NoteSigner";
}

impl SignatureType for CosignatureV1 {
    const TYPE: u8 = SIG_TYPE_COSIGNATURE_V1;
    const SIGNER: &'static str = "CosignatureSigner";
}

/// An Ed25519 signing key with its key name, for signatures of type `T`.
pub struct KeySigner<T: SignatureType> {
    name: String,
    key_id: [u8; 4],
    key: SigningKey,
    kind: PhantomData<fn() -> T>,
}

/// A log's note signing key (signature type 0x01).
pub type NoteSigner = KeySigner<Ed25519>;

/// A witness's cosigning key (`cosignature/v1`, signature type 0x04).
pub type CosignatureSigner = KeySigner<CosignatureV1>;

impl<T: SignatureType> Clone for KeySigner<T> {
    fn clone(&self) -> Self {
        KeySigner {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.clone(),
            kind: PhantomData,
        }
    }
}

/// Shows the name and key id, never the private key.
impl<T: SignatureType> fmt::Debug for KeySigner<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(T::SIGNER)
            .field("name", &self.name)
            .field("key_id", &hex_id(self.key_id))
            .finish_non_exhaustive()
    }
}

impl<T: SignatureType> KeySigner<T> {
    /// Makes a signer from a key name and an Ed25519 signing key.
    ///
    /// # Errors
    /// [`NoteError::InvalidName`].
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        let key_id = checked_key_id(name, T::TYPE, &key.verifying_key())?;
        Ok(KeySigner {
            name: name.to_owned(),
            key_id,
            key,
            kind: PhantomData,
        })
    }

    /// Parses a private key string `PRIVATE+KEY+<name>+<hex key id>+<base64(type || 32-byte seed)>`
    /// whose type byte is `T`'s.
    ///
    /// # Errors
    /// A malformed string, another signature type or a key id that does not match the key.
    pub fn parse_private(skey: &str) -> Result<Self, NoteError> {
        let (name, key) = parse_skey(skey, T::TYPE)?;
        Self::new(&name, key)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id (computed with `T`'s type byte).
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// A signature line of this key carrying `signature`.
    fn line(&self, signature: Vec<u8>) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature,
        }
    }
}

impl KeySigner<Ed25519> {
    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier::from_parts(self.name.clone(), self.key_id, self.key.verifying_key())
    }

    /// Signs a note text, giving one signature line (the Ed25519 signature of the text).
    ///
    /// # Errors
    /// The text breaks a rule of [`check_text`].
    pub fn sign(&self, text: &str) -> Result<NoteSignature, NoteError> {
        check_text(text)?;
        Ok(self.line(self.key.sign(text.as_bytes()).to_bytes().to_vec()))
    }
}

impl KeySigner<CosignatureV1> {
    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier::from_parts(self.name.clone(), self.key_id, self.key.verifying_key())
    }

    /// Cosigns a note text at a POSIX time; the signature is timestamp (8 bytes, big-endian) ||
    /// Ed25519 signature of [`cosignature_message`].
    ///
    /// # Errors
    /// [`NoteError::TimestampOutOfRange`] above 2^63 - 1, or a text that breaks [`check_text`].
    pub fn sign(&self, note_text: &str, timestamp: u64) -> Result<NoteSignature, NoteError> {
        check_text(note_text)?;
        if timestamp > MAX_COSIGNATURE_TIMESTAMP {
            return Err(NoteError::TimestampOutOfRange { timestamp });
        }
        let sig = self.key.sign(&cosignature_message(note_text, timestamp));
        let mut signature = Vec::with_capacity(COSIGNATURE_LEN);
        signature.extend_from_slice(&timestamp.to_be_bytes());
        signature.extend_from_slice(&sig.to_bytes());
        Ok(self.line(signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_and_seed_give_distinct_key_ids_per_type() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let note = NoteSigner::new("example.com/k", key.clone()).unwrap();
        let cosig = CosignatureSigner::new("example.com/k", key).unwrap();
        assert_ne!(note.key_id(), cosig.key_id());
        assert_eq!(note.verifier().key_id(), note.key_id());
        assert_eq!(cosig.verifier().key_id(), cosig.key_id());
        assert!(note.verifier().to_string().starts_with("example.com/k+"));
        assert!(cosig.verifier().to_string().starts_with("example.com/k+"));
    }

    #[test]
    fn bad_names_are_refused_for_both_types() {
        for name in ["", "a b", "a+b", "a\u{7}"] {
            let key = SigningKey::from_bytes(&[7; 32]);
            assert!(matches!(
                NoteSigner::new(name, key.clone()),
                Err(NoteError::InvalidName { .. })
            ));
            assert!(matches!(
                CosignatureSigner::new(name, key),
                Err(NoteError::InvalidName { .. })
            ));
        }
    }

    #[test]
    fn a_private_key_string_of_the_other_type_is_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let id = super::super::key_id("k", SIG_TYPE_ED25519, key.verifying_key().as_bytes());
        let mut material = vec![SIG_TYPE_ED25519];
        material.extend_from_slice(&key.to_bytes());
        use base64::Engine as _;
        let skey = format!(
            "PRIVATE+KEY+k+{}+{}",
            hex_id(id),
            base64::engine::general_purpose::STANDARD.encode(material)
        );
        assert_eq!(NoteSigner::parse_private(&skey).unwrap().key_id(), id);
        assert_eq!(
            CosignatureSigner::parse_private(&skey).unwrap_err(),
            NoteError::WrongKeyType {
                found: SIG_TYPE_ED25519,
                expected: SIG_TYPE_COSIGNATURE_V1
            }
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let s = format!("{:?}", CosignatureSigner::new("k", key.clone()).unwrap());
        assert!(s.starts_with("CosignatureSigner {"), "{s}");
        let n = format!("{:?}", NoteSigner::new("k", key).unwrap());
        assert!(n.starts_with("NoteSigner {"), "{n}");
        assert!(!n.contains("7, 7") && !n.contains("SigningKey"), "{n}");
    }
}
