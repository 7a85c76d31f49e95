//! The buyer's trust file (TOML): which log key, witnesses, signers and policy profiles to trust.
//!
//! ```toml
//! version = 1
//! profiles = ["pad-ibeta-level2.toml"]        # relative to this file
//!
//! [log]
//! keys = ["example.com/log+1a2b3c4d+AR..."]   # C2SP verifier keys of the log
//!
//! [witnesses]                                  # optional
//! quorum = 1
//! keys = ["witness.example+5e6f7a8b+BA..."]   # C2SP cosignature (type 0x04) verifier keys
//!
//! [[roles]]
//! name = "release-engineering"
//! kinds = ["firmware-build"]
//! public_keys = ["base64 of the 32-byte Ed25519 key"]
//! x509_roots = ["lab-root.pem"]                # certificates whose chains are trusted, relative paths
//! ```
//! A bundle carries no trust: keys and certificates inside it are claims until this file says otherwise.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::VerifyingKey;
use serde::Deserialize;

use crate::keys::KeyId;
use crate::note::{CosignatureVerifier, NoteVerifier};

/// Why a trust file is not usable.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or not of the trust file's shape.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the field path.
        message: String,
    },
    /// A value in the file is not acceptable.
    #[error("{path}: {field}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field, e.g. `roles[1].public_keys[0]`.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    version: u32,
    #[serde(default)]
    profiles: Vec<String>,
    log: RawLog,
    #[serde(default)]
    witnesses: Option<RawWitnesses>,
    #[serde(default)]
    roles: Vec<RawRole>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWitnesses {
    quorum: usize,
    keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    name: String,
    kinds: Vec<String>,
    #[serde(default)]
    public_keys: Vec<String>,
    #[serde(default)]
    x509_roots: Vec<String>,
}

/// A signer role: who may sign which kinds.
#[derive(Clone, Debug)]
pub struct Role {
    /// Role name, e.g. `lab`.
    pub name: String,
    /// Evidence kinds this role may sign.
    pub kinds: Vec<String>,
    /// Pinned signer keys.
    pub keys: Vec<VerifyingKey>,
    /// DER certificates of trusted roots for signers with certificates.
    pub x509_roots: Vec<Vec<u8>>,
}

impl Role {
    /// Whether this role pins the key with this id.
    pub fn pins(&self, kid: &KeyId) -> Option<&VerifyingKey> {
        self.keys.iter().find(|k| KeyId::of(k) == *kid)
    }
}

/// Witness keys and how many of them must cosign.
#[derive(Clone, Debug)]
pub struct Witnesses {
    /// Cosignatures needed.
    pub quorum: usize,
    /// Trusted witness keys.
    pub keys: Vec<CosignatureVerifier>,
}

/// A loaded trust file.
#[derive(Clone, Debug)]
pub struct TrustFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Pinned log keys.
    pub log_keys: Vec<NoteVerifier>,
    /// Witnesses, if any are required.
    pub witnesses: Option<Witnesses>,
    /// Signer roles.
    pub roles: Vec<Role>,
    /// Policy profile files, resolved against the trust file's directory.
    pub profiles: Vec<PathBuf>,
}

impl TrustFile {
    /// Reads and checks a trust file.
    ///
    /// # Errors
    /// [`TrustError`] naming the field that is wrong.
    pub fn load(path: &Path) -> Result<TrustFile, TrustError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrustError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, path, base)
    }

    /// Parses trust file text; relative paths resolve against `base`.
    ///
    /// # Errors
    /// [`TrustError`] naming the field that is wrong.
    pub fn parse(text: &str, path: &Path, base: &Path) -> Result<TrustFile, TrustError> {
        let syntax = |message: String| TrustError::Syntax {
            path: path.to_path_buf(),
            message,
        };
        let value: toml::Value =
            toml::from_str(text).map_err(|e| syntax(e.to_string().trim_end().to_owned()))?;
        let raw: RawTrust =
            serde_path_to_error::deserialize(value).map_err(|e| syntax(shape_error(&e)))?;
        let invalid = |field: String, reason: String| TrustError::Invalid {
            path: path.to_path_buf(),
            field,
            reason,
        };
        if raw.version != 1 {
            return Err(invalid(
                "version".into(),
                format!("{} is not supported (expected 1)", raw.version),
            ));
        }
        let log_keys = raw
            .log
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                NoteVerifier::parse(k).map_err(|e| invalid(format!("log.keys[{i}]"), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let witnesses = match raw.witnesses {
            None => None,
            Some(w) => {
                let keys = w
                    .keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| {
                        CosignatureVerifier::parse(k)
                            .map_err(|e| invalid(format!("witnesses.keys[{i}]"), e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if w.quorum > keys.len() {
                    return Err(invalid(
                        "witnesses.quorum".into(),
                        format!(
                            "{} exceeds the {} witness keys listed",
                            w.quorum,
                            keys.len()
                        ),
                    ));
                }
                Some(Witnesses {
                    quorum: w.quorum,
                    keys,
                })
            }
        };
        let mut roles = Vec::with_capacity(raw.roles.len());
        for (i, r) in raw.roles.into_iter().enumerate() {
            let at = format!("roles[{i}]");
            if r.kinds.is_empty() {
                return Err(invalid(
                    format!("{at}.kinds"),
                    "must list at least one kind".into(),
                ));
            }
            if r.public_keys.is_empty() && r.x509_roots.is_empty() {
                return Err(invalid(at, "needs public_keys or x509_roots".into()));
            }
            let keys = r
                .public_keys
                .iter()
                .enumerate()
                .map(|(j, k)| {
                    parse_public_key(k).map_err(|e| invalid(format!("{at}.public_keys[{j}]"), e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut x509_roots = Vec::new();
            for (j, p) in r.x509_roots.iter().enumerate() {
                let file = base.join(p);
                let pem = std::fs::read_to_string(&file).map_err(|e| {
                    invalid(
                        format!("{at}.x509_roots[{j}]"),
                        format!("{}: {e}", file.display()),
                    )
                })?;
                let ders = pem_certificates(&pem);
                if ders.is_empty() {
                    return Err(invalid(
                        format!("{at}.x509_roots[{j}]"),
                        format!("{}: no CERTIFICATE block", file.display()),
                    ));
                }
                x509_roots.extend(ders);
            }
            roles.push(Role {
                name: r.name,
                kinds: r.kinds,
                keys,
                x509_roots,
            });
        }
        Ok(TrustFile {
            path: path.to_path_buf(),
            log_keys,
            witnesses,
            roles,
            profiles: raw.profiles.iter().map(|p| base.join(p)).collect(),
        })
    }

    /// A pinned signer key with this id, from any role.
    pub fn pinned_key(&self, kid: &KeyId) -> Option<&VerifyingKey> {
        self.roles.iter().find_map(|r| r.pins(kid))
    }
}

/// A TOML shape error as `field.path: message`, or the message alone at the top level.
///
/// The message is toml's own, without the key context toml appends on further lines (the path
/// already says where).
pub(crate) fn shape_error(e: &serde_path_to_error::Error<toml::de::Error>) -> String {
    let message = e.inner().message().trim_end();
    match e.path().to_string().as_str() {
        "." => message.to_owned(),
        path => format!("{path}: {message}"),
    }
}

/// Parses a pinned Ed25519 public key: base64 (or 64 hex digits) of its 32 bytes.
fn parse_public_key(s: &str) -> Result<VerifyingKey, String> {
    let bytes = crate::hex::decode_array::<32>(s)
        .or_else(|| {
            B64.decode(s)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
        })
        .ok_or("not base64 or hex of a 32-byte Ed25519 public key")?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid Ed25519 public key")?;
    if key.is_weak() {
        return Err("weak (small-order) Ed25519 key refused".into());
    }
    Ok(key)
}

/// Extracts the DER of every `CERTIFICATE` block in PEM text.
pub fn pem_certificates(pem: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut b64 = String::new();
    let mut inside = false;
    for line in pem.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            inside = true;
            b64.clear();
        } else if line == "-----END CERTIFICATE-----" {
            if inside && let Ok(der) = B64.decode(&b64) {
                out.push(der);
            }
            inside = false;
        } else if inside {
            b64.push_str(line);
        }
    }
    out
}
