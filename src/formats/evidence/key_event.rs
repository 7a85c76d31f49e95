//! `key-event`: a signer key's life cycle recorded in the log itself.
//!
//! - `introduce`: the signing key vouches for another key, which gains the signer's roles from
//!   this entry's log position on;
//! - `rotate`: the signing key hands over to a new key: the new key gains its roles, and the old
//!   key signs nothing valid after this entry;
//! - `revoke`: a key is revoked from a log index on (by default this entry's own index); entries
//!   it signed at or after that index fail, entries before it still verify.
//!
//! Signatures are judged by log position, never by the signer's own `iat`, so a compromised key
//! cannot back-date its way around a revocation.

use std::fmt::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::types::text_enum;
use super::{Kind, Problems};
use crate::keys::KeyId;

text_enum! {
    /// What happens to the key.
    pub enum KeyEventType {
        /// The signer vouches for a new key.
        Introduce = "introduce",
        /// The signer hands over to a new key.
        Rotate = "rotate",
        /// The key is revoked.
        Revoke = "revoke",
    }
}

/// The key a key event is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventKey {
    /// Its RFC 9679 key id, 64 lower-case hex digits.
    pub kid: String,
    /// The 32-byte Ed25519 public key, base64.
    pub public_key: String,
}

impl EventKey {
    /// The key id, if well-formed.
    pub fn key_id(&self) -> Option<KeyId> {
        crate::hex::is_lower_hex(&self.kid, 32)
            .then(|| KeyId::from_hex(&self.kid))
            .flatten()
    }

    /// The public key, if well-formed, valid and not weak.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        let bytes: [u8; 32] = B64.decode(&self.public_key).ok()?.try_into().ok()?;
        VerifyingKey::from_bytes(&bytes)
            .ok()
            .filter(|k| !k.is_weak())
    }
}

/// A change to a signer key's standing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEvent {
    /// Introduce, rotate or revoke.
    pub event: KeyEventType,
    /// The key introduced, rotated to, or revoked.
    pub key: EventKey,
    /// Revoke only: the first log index at which the key's signatures are invalid (default: this entry's index).
    #[serde(default)]
    pub effective_index: Option<u64>,
    /// Why (required for revoke), e.g. `private key exposed in build logs`.
    #[serde(default)]
    pub reason: Option<String>,
}

impl KeyEvent {
    /// The key id the event is about (checked by validation).
    pub fn subject_kid(&self) -> Option<KeyId> {
        self.key.key_id()
    }
}

impl Kind for KeyEvent {
    const KIND: &'static str = "key-event";

    fn validate(&self, p: &mut Problems) {
        match self.key.verifying_key() {
            None => p.add(
                "key.public_key",
                "must be base64 of a valid, non-weak 32-byte Ed25519 public key",
            ),
            Some(k) => match self.key.key_id() {
                None => p.add("key.kid", "must be 64 lower-case hex digits"),
                Some(kid) if kid != KeyId::of(&k) => p.add(
                    "key.kid",
                    format!("is not the key id of key.public_key ({})", KeyId::of(&k)),
                ),
                Some(_) => {}
            },
        }
        if let Some(r) = &self.reason {
            p.text("reason", r, 2000);
        }
        match self.event {
            KeyEventType::Revoke => {
                p.check(
                    self.reason.is_some(),
                    "reason",
                    "is required for a revocation",
                );
            }
            KeyEventType::Introduce | KeyEventType::Rotate => {
                p.check(
                    self.effective_index.is_none(),
                    "effective_index",
                    "applies to revocations only",
                );
            }
        }
    }

    fn summary(&self) -> String {
        let mut s = format!("{} key {}", self.event, self.key.kid);
        if let Some(i) = self.effective_index {
            let _ = write!(s, " from index {i}");
        }
        if let Some(r) = &self.reason {
            let _ = write!(s, ": {r}");
        }
        s
    }

    fn render(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(s, "key event  {}", self.event);
        let _ = writeln!(s, "  key              {}", self.key.kid);
        let _ = writeln!(s, "  public key       {}", self.key.public_key);
        if let Some(i) = self.effective_index {
            let _ = writeln!(s, "  effective index  {i}");
        }
        if let Some(r) = &self.reason {
            let _ = writeln!(s, "  reason           {r}");
        }
        s
    }
}
