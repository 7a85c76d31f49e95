//! C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures (signature
//! type 0x01), and Ed25519 witness cosignatures (c2sp.org/tlog-cosignature,
//! `cosignature/v1`, signature type 0x04).
//!
//! A note is a text ending in a newline, a blank line, and one or more
//! signature lines `— <key name> base64(key id || signature)`. Parsing is
//! strict and canonical: [`Note::parse`] accepts exactly the strings that
//! [`Note::to_text`] produces, so a parsed note re-serializes byte for byte.
//!
//! Key names (signed-note, "Format"): non-empty, no Unicode white space
//! (`char::is_whitespace`, the same `White_Space` set Go's `unicode.IsSpace`
//! uses), no `+`, and, because a note may not contain them, no ASCII control
//! character (below U+0020).
//!
//! Size limits (the spec asks verifiers for a limit of at least 16
//! signatures): the text at most [`MAX_TEXT_LEN`] bytes, at most
//! [`MAX_SIGNATURES`] signature lines, each at most [`MAX_SIGNATURE_LINE_LEN`]
//! bytes (room for post-quantum signatures).

use std::fmt;

// RFC 4648 §4 standard base64 with canonical padding and no trailing bits.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
// Ed25519 (RFC 8032); verify_strict rejects small-order keys and R values.
use ed25519_dalek::{Signature, VerifyingKey};
// SHA-256 (FIPS 180-4) for the signed-note key id.
use sha2::{Digest as _, Sha256};

/// Signature type byte of plain Ed25519 note signatures (signed-note).
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 cosignatures (tlog-cosignature).
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;
/// Largest note text accepted, in bytes (1 MiB).
pub const MAX_TEXT_LEN: usize = 1 << 20;
/// Most signature lines accepted in one note.
pub const MAX_SIGNATURES: usize = 100;
/// Longest signature line accepted, in bytes, without its newline.
pub const MAX_SIGNATURE_LINE_LEN: usize = 8192;
/// Largest whole note accepted, in bytes: the text, the blank line and the signature block.
pub const MAX_NOTE_LEN: usize = MAX_TEXT_LEN + 1 + MAX_SIGNATURES * (MAX_SIGNATURE_LINE_LEN + 1);
/// Largest cosignature timestamp allowed by tlog-cosignature (2^63 - 1).
pub const MAX_COSIGNATURE_TIMESTAMP: u64 = i64::MAX as u64;

const SIG_PREFIX: &str = "\u{2014} ";

mod cosignature;
mod keys;
mod signer;

pub use cosignature::{CosignatureVerifier, cosignature_message};
pub use keys::NoteVerifier;
use keys::hex_id;
pub use signer::{CosignatureSigner, CosignatureV1, Ed25519, KeySigner, NoteSigner, SignatureType};

/// Errors from parsing, signing and verifying notes, keys and cosignatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key name is empty or contains white space, `+` or a control character.
    #[error(
        "invalid key name {name:?}: it must be non-empty, without spaces, '+' or control characters"
    )]
    InvalidName {
        /// The rejected name (cut to 64 characters).
        name: String,
    },
    /// A verifier key string is malformed.
    #[error("invalid verifier key: {reason}")]
    InvalidVerifierKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A private key string is malformed; the message never includes key material.
    #[error("invalid private key: {reason}")]
    InvalidPrivateKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key string carries a signature type other than the one expected.
    #[error("key has signature type {found:#04x}, expected {expected:#04x}")]
    WrongKeyType {
        /// The type byte found.
        found: u8,
        /// The type byte expected.
        expected: u8,
    },
    /// The key id written in a key string is not the one computed from its name and key.
    #[error("key id {found} does not match the key, which has key id {computed}")]
    KeyIdMismatch {
        /// The key id written in the string, as hex.
        found: String,
        /// The key id computed from the name and key, as hex.
        computed: String,
    },
    /// An Ed25519 public key has small order, so it would accept forged signatures.
    #[error("weak ed25519 public key (small order)")]
    WeakKey,
    /// The note text is empty.
    #[error("note text is empty")]
    EmptyText,
    /// The note or its text does not end in a newline.
    #[error("note does not end in a newline")]
    MissingFinalNewline,
    /// The note text is longer than [`MAX_TEXT_LEN`].
    #[error("note text is {len} bytes, more than the limit of {max}")]
    TextTooLong {
        /// Length of the text in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The whole note is longer than [`MAX_NOTE_LEN`].
    #[error("note is {len} bytes, more than the limit of {max}")]
    NoteTooLarge {
        /// Length of the note in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The note contains an ASCII control character other than newline.
    #[error("note line {line}: control character")]
    ControlCharacter {
        /// 1-based line number in the note (or in the text, for a bare text).
        line: usize,
    },
    /// No blank line separates the text from a signature block.
    #[error("note has no blank line followed by signature lines")]
    NoSignatureBlock,
    /// The signature block after the blank line is empty.
    #[error("note has no signature lines after the blank line")]
    NoSignatures,
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has {count} signature lines, more than the limit of {max}")]
    TooManySignatures {
        /// Number of signature lines.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A signature line is malformed.
    #[error("signature line {line}: {reason}")]
    BadSignatureLine {
        /// 1-based line number within the signature block.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A cosignature timestamp is above 2^63 - 1.
    #[error("cosignature timestamp {timestamp} is above 2^63 - 1")]
    TimestampOutOfRange {
        /// The rejected timestamp.
        timestamp: u64,
    },
    /// Two different keys with the same name and key id were given as trusted.
    #[error("two different trusted keys share name {name:?} and key id {key_id}")]
    AmbiguousVerifier {
        /// The shared key name.
        name: String,
        /// The shared key id, as hex.
        key_id: String,
    },
    /// A cosignature line from a known cosigner has the wrong layout.
    #[error("cosignature by {name:?}: {reason}")]
    MalformedCosignature {
        /// The cosigner's key name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signature line from a known key does not verify.
    #[error("signature by {name:?} does not verify")]
    BadSignature {
        /// The key name.
        name: String,
    },
    /// None of the given keys signed the note.
    #[error("note has no valid signature from a trusted key")]
    NoTrustedSignature,
}

impl NoteError {
    /// True when the input was well formed but a signature did not verify or none was trusted.
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            NoteError::BadSignature { .. } | NoteError::NoTrustedSignature
        )
    }
}

/// The C2SP key id: the first 4 bytes of SHA-256(name || 0x0A || type || public key).
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', sig_type])
        .chain_update(public_key)
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Check a key name against the signed-note rules (see the module docs).
///
/// # Errors
/// [`NoteError::InvalidName`] when the name is empty or has white space, `+` or a control character.
pub fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c < ' ')
    {
        return Err(NoteError::InvalidName { name: clip(name) });
    }
    Ok(())
}

/// Check a note text: non-empty, ends in a newline, no control characters but newline, at most [`MAX_TEXT_LEN`] bytes.
///
/// # Errors
/// The first rule broken, as a [`NoteError`].
pub fn check_text(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(NoteError::TextTooLong {
            len: text.len(),
            max: MAX_TEXT_LEN,
        });
    }
    if text.is_empty() {
        return Err(NoteError::EmptyText);
    }
    check_controls(text)?;
    if !text.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    Ok(())
}

fn check_controls(s: &str) -> Result<(), NoteError> {
    if let Some(pos) = s.bytes().position(|b| b < b' ' && b != b'\n') {
        let line = 1 + s.as_bytes()[..pos].iter().filter(|&&b| b == b'\n').count();
        return Err(NoteError::ControlCharacter { line });
    }
    Ok(())
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

fn verify_ed25519(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    Signature::from_slice(signature).is_ok_and(|sig| key.verify_strict(message, &sig).is_ok())
}

/// One signature line, `— <name> base64(key id || signature)`, verified or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The 4-byte key id.
    pub key_id: [u8; 4],
    /// The signature bytes after the key id (at least one byte in a valid line).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Parse one signature line, without its final newline.
    ///
    /// # Errors
    /// [`NoteError::BadSignatureLine`] (numbered line 1).
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        check_controls(line).map_err(|_| NoteError::BadSignatureLine {
            line: 1,
            reason: "control character",
        })?;
        parse_signature_line(line, 1)
    }

    /// Check that this signature can be written into a note that parses again.
    ///
    /// # Errors
    /// [`NoteError::InvalidName`], or [`NoteError::BadSignatureLine`] for an empty or oversized signature.
    pub fn check(&self) -> Result<(), NoteError> {
        check_name(&self.name)?;
        let bad = |reason| NoteError::BadSignatureLine { line: 1, reason };
        if self.signature.is_empty() {
            return Err(bad("signature is shorter than 5 bytes"));
        }
        let encoded = (4 + self.signature.len()).div_ceil(3) * 4;
        if SIG_PREFIX.len() + self.name.len() + 1 + encoded > MAX_SIGNATURE_LINE_LEN {
            return Err(bad("line is too long"));
        }
        Ok(())
    }
}

impl fmt::Display for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(&self.signature);
        write!(f, "{SIG_PREFIX}{} {}", self.name, BASE64.encode(raw))
    }
}

fn parse_signature_line(line: &str, number: usize) -> Result<NoteSignature, NoteError> {
    let bad = |reason| NoteError::BadSignatureLine {
        line: number,
        reason,
    };
    if line.len() > MAX_SIGNATURE_LINE_LEN {
        return Err(bad("line is too long"));
    }
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or(bad("does not start with an em dash and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(bad("no space between key name and signature"))?;
    check_name(name).map_err(|_| bad("invalid key name"))?;
    let raw = BASE64.decode(b64).map_err(|_| bad("not base64"))?;
    if raw.len() < 5 {
        return Err(bad("signature is shorter than 5 bytes"));
    }
    let (id, signature) = raw.split_at(4);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: [id[0], id[1], id[2], id[3]],
        signature: signature.to_vec(),
    })
}

/// A signed note: a text and its signature lines, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Make an unsigned note from a text that passes [`check_text`].
    ///
    /// # Errors
    /// The first rule of [`check_text`] the text breaks.
    pub fn new(text: &str) -> Result<Self, NoteError> {
        check_text(text)?;
        Ok(Note {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Parse a signed note strictly: the text is everything up to the last blank line; then
    /// 1 to [`MAX_SIGNATURES`] signature lines, each ending in a newline.
    ///
    /// # Errors
    /// A [`NoteError`] saying what is malformed and where.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        if s.len() > MAX_NOTE_LEN {
            return Err(NoteError::NoteTooLarge {
                len: s.len(),
                max: MAX_NOTE_LEN,
            });
        }
        check_controls(s)?;
        if !s.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        let split = s.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, block) = (&s[..split + 1], &s[split + 2..]);
        check_text(text)?;
        // `block` holds no blank line (the split is at the last one) and, when non-empty,
        // ends in the note's final newline.
        let Some(block) = block.strip_suffix('\n') else {
            return Err(NoteError::NoSignatures);
        };
        let count = block.split('\n').count();
        if count > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                count,
                max: MAX_SIGNATURES,
            });
        }
        let signatures = block
            .split('\n')
            .enumerate()
            .map(|(i, line)| parse_signature_line(line, i + 1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Append a signature line; [`Note::try_add_signature`] checks it first.
    ///
    /// A signature that fails [`NoteSignature::check`], or a 101st one, makes [`Note::to_text`]
    /// produce a note that [`Note::parse`] rejects. Signatures from [`NoteSigner::sign`] and
    /// [`CosignatureSigner::sign`] always pass the check.
    pub fn add_signature(&mut self, s: NoteSignature) {
        self.signatures.push(s);
    }

    /// Append a signature line after checking that the note still serializes to a parseable note.
    ///
    /// # Errors
    /// The signature fails [`NoteSignature::check`], or the note already has [`MAX_SIGNATURES`].
    pub fn try_add_signature(&mut self, s: NoteSignature) -> Result<(), NoteError> {
        s.check()?;
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                count: self.signatures.len() + 1,
                max: MAX_SIGNATURES,
            });
        }
        self.signatures.push(s);
        Ok(())
    }

    /// Serialize: the text, a blank line, and one line per signature.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1 + 100 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_string());
            out.push('\n');
        }
        out
    }

    /// Verify the note against trusted keys; returns those (in the given order, without
    /// repeats) whose signature is present and valid.
    ///
    /// Lines whose (name, key id) match no given key are ignored. Every line that matches a
    /// given key must verify (`verify_strict`), even a repeated one.
    ///
    /// # Errors
    /// [`NoteError::BadSignature`] for a matching line that does not verify,
    /// [`NoteError::NoTrustedSignature`] when no given key signed, and
    /// [`NoteError::AmbiguousVerifier`] when two different given keys share name and key id.
    pub fn verify<'v>(
        &self,
        verifiers: &'v [NoteVerifier],
    ) -> Result<Vec<&'v NoteVerifier>, NoteError> {
        for (i, a) in verifiers.iter().enumerate() {
            let clash = |b: &NoteVerifier| {
                b.name() == a.name() && b.key_id() == a.key_id() && b.key() != a.key()
            };
            if verifiers[..i].iter().any(clash) {
                return Err(NoteError::AmbiguousVerifier {
                    name: a.name().to_owned(),
                    key_id: hex_id(a.key_id()),
                });
            }
        }
        let mut verified = vec![false; verifiers.len()];
        for sig in &self.signatures {
            // With ambiguity excluded, the first match stands for any identical repeats.
            if let Some(i) = verifiers.iter().position(|v| v.matches(sig)) {
                if !verify_ed25519(verifiers[i].key(), self.text.as_bytes(), &sig.signature) {
                    return Err(NoteError::BadSignature {
                        name: sig.name.clone(),
                    });
                }
                verified[i] = true;
            }
        }
        let out: Vec<&NoteVerifier> = verifiers
            .iter()
            .zip(verified)
            .filter_map(|(v, ok)| ok.then_some(v))
            .collect();
        if out.is_empty() {
            return Err(NoteError::NoTrustedSignature);
        }
        Ok(out)
    }
}
