//! Ed25519 note keys: verifier key strings
//! `<name>+<hex key id>+<base64(type || key)>` and Go-style private key strings
//! `PRIVATE+KEY+<name>+<hex key id>+<base64(type || seed)>`.

use std::fmt;
use std::str::FromStr;

// RFC 4648 §4 standard base64 with canonical padding and no trailing bits.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
// Ed25519 (RFC 8032).
use ed25519_dalek::{SigningKey, VerifyingKey};

use super::{NoteError, NoteSignature, SIG_TYPE_ED25519, check_name, key_id};

const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

pub(super) fn hex_id(id: [u8; 4]) -> String {
    format!("{:02x}{:02x}{:02x}{:02x}", id[0], id[1], id[2], id[3])
}

pub(super) fn parse_hex_id(s: &str) -> Option<[u8; 4]> {
    let b = s.as_bytes();
    if b.len() != 8 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut id = [0u8; 4];
    for (i, out) in id.iter_mut().enumerate() {
        *out = nibble(b[2 * i])? << 4 | nibble(b[2 * i + 1])?;
    }
    Some(id)
}

pub(super) fn format_vkey(name: &str, id: [u8; 4], sig_type: u8, key: &VerifyingKey) -> String {
    let mut material = Vec::with_capacity(33);
    material.push(sig_type);
    material.extend_from_slice(key.as_bytes());
    format!("{name}+{}+{}", hex_id(id), BASE64.encode(material))
}

/// Parse `<name>+<hex key id>+<base64(type || 32-byte Ed25519 key)>` for the given type.
pub(super) fn parse_vkey(
    vkey: &str,
    sig_type: u8,
) -> Result<(String, [u8; 4], VerifyingKey), NoteError> {
    let bad = |reason| NoteError::InvalidVerifierKey { reason };
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected <name>+<key id>+<base64 key>"));
    };
    check_name(name)?;
    let id = parse_hex_id(id).ok_or(bad("key id is not 8 lowercase hex digits"))?;
    if material.len() != 44 {
        return Err(bad("key is not base64 of a type byte and 32 bytes"));
    }
    let mut buf = [0u8; 33];
    match BASE64.decode_slice(material, &mut buf) {
        Ok(33) => {}
        _ => return Err(bad("key is not base64 of a type byte and 32 bytes")),
    }
    if buf[0] != sig_type {
        return Err(NoteError::WrongKeyType {
            found: buf[0],
            expected: sig_type,
        });
    }
    let mut pk = [0u8; 32];
    pk.copy_from_slice(&buf[1..]);
    let key = VerifyingKey::from_bytes(&pk).map_err(|_| bad("key is not an ed25519 point"))?;
    let computed = checked_key_id(name, sig_type, &key)?;
    if computed != id {
        return Err(NoteError::KeyIdMismatch {
            found: hex_id(id),
            computed: hex_id(computed),
        });
    }
    Ok((name.to_owned(), id, key))
}

/// Validate the name and key, and compute the key id.
pub(super) fn checked_key_id(
    name: &str,
    sig_type: u8,
    key: &VerifyingKey,
) -> Result<[u8; 4], NoteError> {
    check_name(name)?;
    if key.is_weak() {
        return Err(NoteError::WeakKey);
    }
    Ok(key_id(name, sig_type, key.as_bytes()))
}

/// A trusted Ed25519 note key (signature type 0x01); `Display` gives its verifier key string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: [u8; 4],
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Make a verifier from a key name and an Ed25519 public key.
    ///
    /// # Errors
    /// [`NoteError::InvalidName`] or [`NoteError::WeakKey`].
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        let key_id = checked_key_id(name, SIG_TYPE_ED25519, &key)?;
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// A verifier from parts already checked (the key id computed from the name and key).
    pub(super) fn from_parts(name: String, key_id: [u8; 4], key: VerifyingKey) -> Self {
        NoteVerifier { name, key_id, key }
    }

    /// Parse a verifier key string `<name>+<8 hex key id>+<base64(0x01 || key)>`.
    ///
    /// # Errors
    /// A malformed string, another signature type, a key id that does not match, or a weak key.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, key_id, key) = parse_vkey(vkey, SIG_TYPE_ED25519)?;
        Ok(NoteVerifier { name, key_id, key })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Whether a signature line names this key (same name and key id).
    pub(super) fn matches(&self, sig: &NoteSignature) -> bool {
        self.name == sig.name && self.key_id == sig.key_id
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_vkey(
            &self.name,
            self.key_id,
            SIG_TYPE_ED25519,
            &self.key,
        ))
    }
}

impl FromStr for NoteVerifier {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, NoteError> {
        NoteVerifier::parse(s)
    }
}

/// Decode `PRIVATE+KEY+<name>+<hex id>+<base64(type || 32-byte seed)>`.
pub(super) fn parse_skey(skey: &str, sig_type: u8) -> Result<(String, SigningKey), NoteError> {
    let bad = |reason| NoteError::InvalidPrivateKey { reason };
    let rest = skey
        .strip_prefix(PRIVATE_PREFIX)
        .ok_or(bad("missing PRIVATE+KEY+ prefix"))?;
    let mut parts = rest.splitn(3, '+');
    let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected PRIVATE+KEY+<name>+<key id>+<base64 key>"));
    };
    check_name(name)?;
    let id = parse_hex_id(id).ok_or(bad("key id is not 8 lowercase hex digits"))?;
    if material.len() != 44 {
        return Err(bad("key is not base64 of a type byte and a 32-byte seed"));
    }
    let mut buf = [0u8; 33];
    let decoded = BASE64.decode_slice(material, &mut buf);
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&buf[1..]);
    let type_byte = buf[0];
    // Best-effort wipe of the stack copy; SigningKey zeroizes its own copy on drop.
    buf = [0u8; 33];
    std::hint::black_box(&mut buf);
    let key = SigningKey::from_bytes(&seed);
    seed = [0u8; 32];
    std::hint::black_box(&mut seed);
    if !matches!(decoded, Ok(33)) {
        return Err(bad("key is not base64 of a type byte and a 32-byte seed"));
    }
    if type_byte != sig_type {
        return Err(NoteError::WrongKeyType {
            found: type_byte,
            expected: sig_type,
        });
    }
    let computed = key_id(name, sig_type, key.verifying_key().as_bytes());
    if computed != id {
        return Err(NoteError::KeyIdMismatch {
            found: hex_id(id),
            computed: hex_id(computed),
        });
    }
    Ok((name.to_owned(), key))
}
