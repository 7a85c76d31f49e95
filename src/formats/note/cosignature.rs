//! Ed25519 witness cosignatures, C2SP tlog-cosignature `cosignature/v1`
//! (signature type 0x04): the signed message is `cosignature/v1\ntime <T>\n`
//! followed by the checkpoint note text; the note signature is
//! timestamp (u64, big-endian) || Ed25519 signature.

use std::fmt;
use std::str::FromStr;

// Ed25519 (RFC 8032).
use ed25519_dalek::VerifyingKey;

use super::keys::{checked_key_id, format_vkey, parse_vkey};
use super::{MAX_COSIGNATURE_TIMESTAMP, Note, NoteError, SIG_TYPE_COSIGNATURE_V1, verify_ed25519};

const COSIGNATURE_HEADER: &str = "cosignature/v1\n";
/// Length of a `cosignature/v1` signature: an 8-byte timestamp and a 64-byte Ed25519 signature.
pub(super) const COSIGNATURE_LEN: usize = 8 + 64;

/// The message a `cosignature/v1` signs: `cosignature/v1\ntime <T>\n` then the note text.
pub fn cosignature_message(note_text: &str, timestamp: u64) -> Vec<u8> {
    let mut msg = format!("{COSIGNATURE_HEADER}time {timestamp}\n").into_bytes();
    msg.extend_from_slice(note_text.as_bytes());
    msg
}

/// A trusted witness cosigner key (type 0x04); `Display` gives its vkey
/// `<name>+<hex key id>+<base64(0x04 || 32-byte key)>`, the form tlog-cosignature allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: [u8; 4],
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Make a cosignature verifier from a key name and an Ed25519 public key.
    ///
    /// # Errors
    /// [`NoteError::InvalidName`] or [`NoteError::WeakKey`].
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        let key_id = checked_key_id(name, SIG_TYPE_COSIGNATURE_V1, &key)?;
        Ok(CosignatureVerifier {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// A verifier from parts already checked (the key id computed from the name and key).
    pub(super) fn from_parts(name: String, key_id: [u8; 4], key: VerifyingKey) -> Self {
        CosignatureVerifier { name, key_id, key }
    }

    /// Parse a cosigner vkey `<name>+<8 hex key id>+<base64(0x04 || key)>`.
    ///
    /// # Errors
    /// A malformed string, another signature type, a key id that does not match, or a weak key.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, key_id, key) = parse_vkey(vkey, SIG_TYPE_COSIGNATURE_V1)?;
        Ok(CosignatureVerifier { name, key_id, key })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id (computed with type 0x04).
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Verify this cosigner's lines on a note; returns the latest valid timestamp, or `None`
    /// when the note has no line with this name and key id.
    ///
    /// # Errors
    /// A matching line that is not 72 bytes, has a timestamp above 2^63 - 1
    /// ([`NoteError::MalformedCosignature`]) or does not verify ([`NoteError::BadSignature`]).
    pub fn verify(&self, note: &Note) -> Result<Option<u64>, NoteError> {
        let mut latest = None;
        for sig in note.signatures() {
            if sig.name != self.name || sig.key_id != self.key_id {
                continue;
            }
            let malformed = |reason| NoteError::MalformedCosignature {
                name: self.name.clone(),
                reason,
            };
            if sig.signature.len() != COSIGNATURE_LEN {
                return Err(malformed("not 8 timestamp bytes and a 64-byte signature"));
            }
            let (ts, ed_sig) = sig.signature.split_at(8);
            let mut ts_bytes = [0u8; 8];
            ts_bytes.copy_from_slice(ts);
            let timestamp = u64::from_be_bytes(ts_bytes);
            if timestamp > MAX_COSIGNATURE_TIMESTAMP {
                return Err(malformed("timestamp is above 2^63 - 1"));
            }
            let msg = cosignature_message(note.text(), timestamp);
            if !verify_ed25519(&self.key, &msg, ed_sig) {
                return Err(NoteError::BadSignature {
                    name: self.name.clone(),
                });
            }
            latest = latest.max(Some(timestamp));
        }
        Ok(latest)
    }
}

impl fmt::Display for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_vkey(
            &self.name,
            self.key_id,
            SIG_TYPE_COSIGNATURE_V1,
            &self.key,
        ))
    }
}

impl FromStr for CosignatureVerifier {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, NoteError> {
        CosignatureVerifier::parse(s)
    }
}
