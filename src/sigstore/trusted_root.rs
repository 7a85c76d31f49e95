//! The pinned `trusted_root.json` (protobuf-specs `TrustedRoot`, v0.1): transparency-log keys,
//! Fulcio CAs, CT-log keys and timestamp authorities, each with its validity window.

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::SigstoreError;
use super::bundle::{ChainJson, LogIdJson, b64};
use crate::time::parse_rfc3339;

/// Largest trusted root accepted, in bytes.
pub const MAX_TRUSTED_ROOT_LEN: usize = 4 << 20;

/// A closed validity interval in Unix seconds; `end` absent means still valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// First second of validity.
    pub start: Option<i64>,
    /// Last second of validity (inclusive).
    pub end: Option<i64>,
}

impl Validity {
    /// Whether `t` falls inside the interval (both ends inclusive).
    pub fn contains(&self, t: i64) -> bool {
        self.start.is_none_or(|s| s <= t) && self.end.is_none_or(|e| t <= e)
    }
}

/// A transparency log (Rekor) or CT log key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogKey {
    /// The log's base URL.
    pub base_url: String,
    /// The key (SubjectPublicKeyInfo DER for PKIX key types).
    pub public_key: Vec<u8>,
    /// protobuf-specs `PublicKeyDetails`, e.g. `PKIX_ECDSA_P256_SHA_256`.
    pub key_details: String,
    /// The log id.
    pub log_id: Vec<u8>,
    /// When the key may be used.
    pub valid_for: Validity,
}

impl LogKey {
    /// The host of the base URL: the name Rekor signs its checkpoints with.
    pub fn host(&self) -> &str {
        let rest = self
            .base_url
            .split_once("://")
            .map_or(self.base_url.as_str(), |(_, r)| r);
        rest.split('/').next().unwrap_or(rest)
    }

    /// The signed-note key id of an ECDSA log key: the first 4 bytes of SHA-256 over the
    /// public key's DER (Rekor's convention).
    pub fn ecdsa_note_key_id(&self) -> [u8; 4] {
        let d = Sha256::digest(&self.public_key);
        [d[0], d[1], d[2], d[3]]
    }
}

/// A certificate authority (Fulcio) or timestamp authority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    /// Certificates, leaf (or intermediate) first, root last (DER).
    pub chain: Vec<Vec<u8>>,
    /// When the authority may be used.
    pub valid_for: Validity,
}

/// A parsed trusted root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedRoot {
    /// Rekor log keys.
    pub tlogs: Vec<LogKey>,
    /// Fulcio certificate authorities.
    pub certificate_authorities: Vec<Authority>,
    /// Certificate Transparency log keys.
    pub ctlogs: Vec<LogKey>,
    /// RFC 3161 timestamp authorities.
    pub timestamp_authorities: Vec<Authority>,
    /// SHA-256 of the JSON bytes this was parsed from.
    pub digest: [u8; 32],
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RootJson {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<LogJson>,
    #[serde(default)]
    certificate_authorities: Vec<AuthorityJson>,
    #[serde(default)]
    ctlogs: Vec<LogJson>,
    #[serde(default)]
    timestamp_authorities: Vec<AuthorityJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogJson {
    base_url: String,
    public_key: PublicKeyJson,
    log_id: LogIdJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyJson {
    raw_bytes: String,
    key_details: String,
    valid_for: Option<ValidForJson>,
}

#[derive(Deserialize)]
struct ValidForJson {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorityJson {
    cert_chain: ChainJson,
    valid_for: Option<ValidForJson>,
}

fn bad(msg: impl Into<String>) -> SigstoreError {
    SigstoreError::InvalidTrustedRoot(msg.into())
}

/// The validity window at `path`. protobuf-specs `TimeRange` requires `start`: a `validFor`
/// without one is malformed, never an unbounded window. An absent `validFor` is unbounded.
fn validity(v: &Option<ValidForJson>, path: &str) -> Result<Validity, SigstoreError> {
    let t = |s: &Option<String>, field: &str| {
        s.as_deref()
            .map(parse_rfc3339)
            .transpose()
            .map_err(|e| bad(format!("{path}.validFor.{field}: {e}")))
    };
    match v {
        None => Ok(Validity {
            start: None,
            end: None,
        }),
        Some(ValidForJson { start: None, .. }) => Err(bad(format!(
            "{path}.validFor has no start (protobuf-specs TimeRange requires it)"
        ))),
        Some(v) => Ok(Validity {
            start: t(&v.start, "start")?,
            end: t(&v.end, "end")?,
        }),
    }
}

fn b64_root(s: &str, what: &str) -> Result<Vec<u8>, SigstoreError> {
    b64(s, what).map_err(|e| bad(e.to_string()))
}

fn logs(v: &[LogJson], field: &str) -> Result<Vec<LogKey>, SigstoreError> {
    v.iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(LogKey {
                base_url: l.base_url.clone(),
                public_key: b64_root(&l.public_key.raw_bytes, "log key")?,
                key_details: l.public_key.key_details.clone(),
                log_id: b64_root(&l.log_id.key_id, "log id")?,
                valid_for: validity(&l.public_key.valid_for, &format!("{field}[{i}].publicKey"))?,
            })
        })
        .collect()
}

fn authorities(v: &[AuthorityJson], field: &str) -> Result<Vec<Authority>, SigstoreError> {
    v.iter()
        .enumerate()
        .map(|(i, a)| {
            let chain = a
                .cert_chain
                .certificates
                .iter()
                .map(|c| b64_root(&c.raw_bytes, "authority certificate"))
                .collect::<Result<Vec<_>, _>>()?;
            if chain.is_empty() {
                return Err(bad("authority with an empty certificate chain"));
            }
            Ok(Authority {
                chain,
                valid_for: validity(&a.valid_for, &format!("{field}[{i}]"))?,
            })
        })
        .collect()
}

impl TrustedRoot {
    /// Parses a `trusted_root.json`.
    ///
    /// # Errors
    /// [`SigstoreError::InvalidTrustedRoot`] for malformed JSON, base64 or times, and for a
    /// `validFor` without its required `start`.
    pub fn from_json(json: &[u8]) -> Result<TrustedRoot, SigstoreError> {
        if json.len() > MAX_TRUSTED_ROOT_LEN {
            return Err(bad(format!("larger than {MAX_TRUSTED_ROOT_LEN} bytes")));
        }
        let r: RootJson =
            serde_json::from_slice(json).map_err(|e| bad(format!("not a trusted root: {e}")))?;
        if !r
            .media_type
            .starts_with("application/vnd.dev.sigstore.trustedroot")
        {
            return Err(bad(format!("unknown media type {:?}", r.media_type)));
        }
        Ok(TrustedRoot {
            tlogs: logs(&r.tlogs, "tlogs")?,
            certificate_authorities: authorities(
                &r.certificate_authorities,
                "certificateAuthorities",
            )?,
            ctlogs: logs(&r.ctlogs, "ctlogs")?,
            timestamp_authorities: authorities(&r.timestamp_authorities, "timestampAuthorities")?,
            digest: Sha256::digest(json).into(),
        })
    }

    /// The Rekor log whose log id is `log_id`.
    pub fn tlog(&self, log_id: &[u8]) -> Option<&LogKey> {
        self.tlogs.iter().find(|l| l.log_id == log_id)
    }
}
