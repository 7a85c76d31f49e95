//! Ed25519 key files and key generation: the operator's side of [`crate::keys`].
//!
//! Private keys live on disk as PKCS#8 PEM (RFC 5208, RFC 8410) with mode 0600, and a private
//! key file readable by group or others is refused; public keys as SubjectPublicKeyInfo PEM
//! beside them (`FILE.pub`). New keys come from the operating system's random source.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};

use super::PublicKeyError;

/// Errors reading, writing or generating key files.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A private key file is readable by group or others.
    #[error("{path}: private key file is accessible by group or others (mode {mode:o})")]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not a PEM Ed25519 key of the expected form.
    #[error("{path}: not an Ed25519 {expected} in PEM form ({reason})")]
    Format {
        /// The key file.
        path: PathBuf,
        /// What was expected, e.g. "private key (PKCS#8)".
        expected: &'static str,
        /// The parser's complaint.
        reason: String,
    },
    /// The public key is a small-order ("weak") point that could make signatures ambiguous.
    #[error("{path}: weak Ed25519 public key (small-order point) refused")]
    Weak {
        /// The key file.
        path: PathBuf,
    },
    /// The file already exists; key generation never overwrites.
    #[error("{path}: file exists, refusing to overwrite a key")]
    Exists {
        /// The file that exists.
        path: PathBuf,
    },
    /// The operating system's random source failed.
    #[error("random source failed: {0}")]
    Random(String),
}

/// Generates a fresh Ed25519 signing key from the operating system's random source.
///
/// # Errors
/// [`KeyError::Random`] if the random source fails.
pub fn generate() -> Result<SigningKey, KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The path of the public key file written beside a private key file (`FILE.pub`).
pub fn public_path(private: &Path) -> PathBuf {
    let mut s = private.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// Writes `key` as PKCS#8 PEM to `path` (mode 0600, never overwriting) and its public key to `path.pub`.
///
/// # Errors
/// [`KeyError::Exists`] if either file exists; [`KeyError::Io`] on write failure.
pub fn write_key_pair(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    let pub_path = public_path(path);
    for p in [path, pub_path.as_path()] {
        if p.exists() {
            return Err(KeyError::Exists {
                path: p.to_path_buf(),
            });
        }
    }
    let pem = pkcs8_v1_pem(key);
    write_new(path, pem.as_bytes(), 0o600)?;
    let pub_pem = key
        .verifying_key()
        .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| format_error(&pub_path, "public key", e))?;
    write_new(&pub_path, pub_pem.as_bytes(), 0o644)
}

/// DER prefix of an RFC 8410 §7 PKCS#8 v1 Ed25519 private key; the 32-byte seed follows.
const PKCS8_V1_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Encodes a private key as PKCS#8 v1 PEM (no embedded public key), the form OpenSSL writes and reads.
fn pkcs8_v1_pem(key: &SigningKey) -> zeroize::Zeroizing<String> {
    use base64::Engine;
    let mut der = zeroize::Zeroizing::new(Vec::with_capacity(48));
    der.extend_from_slice(&PKCS8_V1_ED25519_PREFIX);
    der.extend_from_slice(&key.to_bytes());
    let b64 = zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&*der));
    zeroize::Zeroizing::new(format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        &*b64
    ))
}

/// Creates a new file with the given mode, durably (`durable::create_new`).
fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), KeyError> {
    crate::durable::create_new(path, data, mode).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            KeyError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

fn format_error(path: &Path, expected: &'static str, e: impl fmt::Display) -> KeyError {
    KeyError::Format {
        path: path.to_path_buf(),
        expected,
        reason: e.to_string(),
    }
}

fn read(path: &Path) -> Result<String, KeyError> {
    fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Refuses a private key file that group or others can access.
fn check_private_permissions(path: &Path) -> Result<(), KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    Ok(())
}

/// Reads a PKCS#8 PEM Ed25519 private key, refusing files accessible by group or others.
///
/// # Errors
/// [`KeyError::Permissions`], [`KeyError::Io`], [`KeyError::Format`].
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let pem = read(path)?;
    // A public key file is normally world-readable; checking permissions first would answer
    // "chmod 600" to someone who passed the wrong file.
    if pem.contains("-----BEGIN PUBLIC KEY-----") {
        return Err(format_error(
            path,
            "private key (PKCS#8)",
            "the file holds a public key; pass the private key file",
        ));
    }
    check_private_permissions(path)?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| format_error(path, "private key (PKCS#8)", e))
}

/// What a key file held.
pub enum KeyFile {
    /// A private key (its public half is derived).
    Private(SigningKey),
    /// A public key only.
    Public(VerifyingKey),
}

impl KeyFile {
    /// The public key, whichever kind of file it came from.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            KeyFile::Private(k) => k.verifying_key(),
            KeyFile::Public(k) => *k,
        }
    }
}

/// Reads either a private (PKCS#8) or a public (SPKI) PEM key file.
///
/// # Errors
/// As [`read_signing_key`] for private keys; [`KeyError::Format`] or [`KeyError::Weak`] for public ones.
pub fn read_key_file(path: &Path) -> Result<KeyFile, KeyError> {
    let pem = read(path)?;
    if pem.contains("-----BEGIN PRIVATE KEY-----") {
        return read_signing_key(path).map(KeyFile::Private);
    }
    read_public_pem(path, &pem).map(KeyFile::Public)
}

/// Reads an SPKI PEM Ed25519 public key, refusing weak keys.
///
/// # Errors
/// [`KeyError::Io`], [`KeyError::Format`], [`KeyError::Weak`].
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let pem = read(path)?;
    read_public_pem(path, &pem)
}

fn read_public_pem(path: &Path, pem: &str) -> Result<VerifyingKey, KeyError> {
    super::parse_public_pem(pem).map_err(|e| match e {
        PublicKeyError::Format(reason) => {
            format_error(path, "public key (SubjectPublicKeyInfo)", reason)
        }
        PublicKeyError::Weak => KeyError::Weak {
            path: path.to_path_buf(),
        },
    })
}
