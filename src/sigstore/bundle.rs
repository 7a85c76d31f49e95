//! Strict parsing of Sigstore bundles (protobuf-specs `Bundle` in its JSON form, v0.1 to v0.3).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use super::SigstoreError;
use super::dsse::{Envelope, EnvelopeJson};

/// Media types this verifier accepts (protobuf-specs `Bundle.media_type`).
const MEDIA_TYPES: [&str; 4] = [
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
];

/// Largest bundle accepted, in bytes.
pub const MAX_BUNDLE_LEN: usize = 4 << 20;

/// How the bundle's signer is identified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerMaterial {
    /// A Fulcio leaf certificate (DER); extra chain certificates are not used for path building.
    Certificate(Vec<u8>),
    /// A managed key, identified only by an optional hint.
    PublicKey,
}

/// One transparency-log entry of the bundle, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The entry's index in the log (for the SET).
    pub log_index: u64,
    /// The log id (SHA-256 of the log's public key for Rekor v1).
    pub log_id: Vec<u8>,
    /// Entry kind, e.g. `hashedrekord`.
    pub kind: String,
    /// Entry kind version, e.g. `0.0.1`.
    pub version: String,
    /// Rekor v1 integrated time (Unix seconds), if any.
    pub integrated_time: Option<i64>,
    /// Rekor v1 signed entry timestamp, if any.
    pub signed_entry_timestamp: Option<Vec<u8>>,
    /// The inclusion proof, if any.
    pub inclusion_proof: Option<InclusionProofJson>,
    /// The canonicalized entry body: the Merkle leaf.
    pub body: Vec<u8>,
}

/// An inclusion proof as carried in the bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProofJson {
    /// Leaf index in the tree the checkpoint describes.
    pub log_index: u64,
    /// The root hash the proof leads to.
    pub root_hash: Vec<u8>,
    /// The tree size.
    pub tree_size: u64,
    /// The audit path.
    pub hashes: Vec<Vec<u8>>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

/// A parsed Sigstore bundle: a message signature or a DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// The media type.
    pub media_type: String,
    /// The signer's certificate or a managed-key marker.
    pub signer: SignerMaterial,
    /// The single transparency-log entry.
    pub entry: LogEntry,
    /// RFC 3161 timestamp responses or tokens (DER).
    pub timestamps: Vec<Vec<u8>>,
    /// The claimed message digest (algorithm, bytes), an unauthenticated hint; `None` for a
    /// DSSE envelope.
    pub message_digest: Option<(String, Vec<u8>)>,
    /// The signature: over the artifact (message signature) or over the envelope's PAE (DSSE);
    /// what RFC 3161 timestamps cover.
    pub signature: Vec<u8>,
    /// The DSSE envelope, when the bundle carries one instead of a message signature.
    pub dsse: Option<Envelope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleJson {
    media_type: String,
    verification_material: MaterialJson,
    message_signature: Option<MessageSignatureJson>,
    dsse_envelope: Option<EnvelopeJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MaterialJson {
    certificate: Option<RawBytes>,
    x509_certificate_chain: Option<ChainJson>,
    public_key: Option<serde_json::Value>,
    #[serde(default)]
    tlog_entries: Vec<EntryJson>,
    timestamp_verification_data: Option<TimestampDataJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawBytes {
    pub(super) raw_bytes: String,
}

#[derive(Deserialize)]
pub(super) struct ChainJson {
    #[serde(default)]
    pub(super) certificates: Vec<RawBytes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimestampDataJson {
    #[serde(default)]
    rfc3161_timestamps: Vec<SignedTimestampJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedTimestampJson {
    signed_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageSignatureJson {
    message_digest: Option<DigestJson>,
    signature: String,
}

#[derive(Deserialize)]
struct DigestJson {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryJson {
    log_index: Int64,
    log_id: LogIdJson,
    kind_version: KindVersionJson,
    integrated_time: Option<Int64>,
    inclusion_promise: Option<PromiseJson>,
    inclusion_proof: Option<ProofJson>,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LogIdJson {
    pub(super) key_id: String,
}

#[derive(Deserialize)]
struct KindVersionJson {
    kind: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromiseJson {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProofJson {
    log_index: Int64,
    root_hash: String,
    tree_size: Int64,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: Option<CheckpointJson>,
}

#[derive(Deserialize)]
struct CheckpointJson {
    envelope: String,
}

/// A protobuf JSON int64: a decimal string or a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Int64 {
    Str(String),
    Num(i64),
}

impl Int64 {
    fn non_negative(&self, what: &str) -> Result<u64, SigstoreError> {
        let v = match self {
            Int64::Str(s) => s
                .parse::<i64>()
                .map_err(|_| invalid(format!("{what} is not an integer: {s:?}")))?,
            Int64::Num(n) => *n,
        };
        u64::try_from(v).map_err(|_| invalid(format!("{what} is negative: {v}")))
    }
}

fn invalid(msg: impl Into<String>) -> SigstoreError {
    SigstoreError::InvalidBundle(msg.into())
}

pub(super) fn b64(s: &str, what: &str) -> Result<Vec<u8>, SigstoreError> {
    BASE64
        .decode(s)
        .map_err(|e| invalid(format!("{what} is not valid base64: {e}")))
}

impl Bundle {
    /// Parses a bundle strictly: a known media type, exactly one of a message signature and a
    /// DSSE envelope (with one signature), exactly one transparency-log entry, canonical base64
    /// and non-negative integers.
    ///
    /// # Errors
    /// [`SigstoreError::InvalidBundle`] for malformed input; [`SigstoreError::Unsupported`] for
    /// several log entries.
    pub fn parse(json: &[u8]) -> Result<Bundle, SigstoreError> {
        if json.len() > MAX_BUNDLE_LEN {
            return Err(invalid(format!("larger than {MAX_BUNDLE_LEN} bytes")));
        }
        let b: BundleJson =
            serde_json::from_slice(json).map_err(|e| invalid(format!("not a bundle: {e}")))?;
        if !MEDIA_TYPES.contains(&b.media_type.as_str()) {
            return Err(invalid(format!("unknown media type {:?}", b.media_type)));
        }
        let vm = b.verification_material;
        let signer = match (&vm.certificate, &vm.x509_certificate_chain, &vm.public_key) {
            (Some(c), None, None) => SignerMaterial::Certificate(b64(&c.raw_bytes, "certificate")?),
            (None, Some(chain), None) => {
                let Some(leaf) = chain.certificates.first() else {
                    return Err(invalid("empty certificate chain"));
                };
                for extra in &chain.certificates[1..] {
                    let der = b64(&extra.raw_bytes, "chain certificate")?;
                    if is_self_signed(&der)? {
                        return Err(invalid(
                            "the certificate chain contains a root certificate; roots come only from the trusted root",
                        ));
                    }
                }
                SignerMaterial::Certificate(b64(&leaf.raw_bytes, "certificate")?)
            }
            (None, None, Some(_)) => SignerMaterial::PublicKey,
            _ => {
                return Err(invalid(
                    "verification material must hold exactly one of certificate, x509CertificateChain, publicKey",
                ));
            }
        };
        let (message_digest, signature, dsse) = match (b.message_signature, b.dsse_envelope) {
            (Some(ms), None) => (
                match ms.message_digest {
                    Some(d) => Some((d.algorithm, b64(&d.digest, "message digest")?)),
                    None => None,
                },
                b64(&ms.signature, "signature")?,
                None,
            ),
            (None, Some(e)) => {
                let env = Envelope::from_json(e)?;
                (None, env.signature.clone(), Some(env))
            }
            (None, None) => return Err(invalid("no messageSignature and no dsseEnvelope")),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "both messageSignature and dsseEnvelope; a bundle holds exactly one",
                ));
            }
        };
        let entry = match vm.tlog_entries.as_slice() {
            [] => return Err(invalid("no transparency-log entry")),
            [e] => parse_entry(e)?,
            _ => {
                return Err(SigstoreError::Unsupported(
                    "more than one transparency-log entry".into(),
                ));
            }
        };
        let timestamps = vm
            .timestamp_verification_data
            .map(|t| t.rfc3161_timestamps)
            .unwrap_or_default()
            .iter()
            .map(|t| b64(&t.signed_timestamp, "RFC 3161 timestamp"))
            .collect::<Result<_, _>>()?;
        Ok(Bundle {
            media_type: b.media_type,
            signer,
            entry,
            timestamps,
            message_digest,
            signature,
            dsse,
        })
    }
}

fn parse_entry(e: &EntryJson) -> Result<LogEntry, SigstoreError> {
    let inclusion_proof = match &e.inclusion_proof {
        None => None,
        Some(p) => Some(InclusionProofJson {
            log_index: p.log_index.non_negative("inclusion proof log index")?,
            root_hash: b64(&p.root_hash, "root hash")?,
            tree_size: p.tree_size.non_negative("tree size")?,
            hashes: p
                .hashes
                .iter()
                .map(|h| b64(h, "inclusion proof hash"))
                .collect::<Result<_, _>>()?,
            checkpoint: p
                .checkpoint
                .as_ref()
                .map(|c| c.envelope.clone())
                .ok_or_else(|| invalid("inclusion proof without a checkpoint"))?,
        }),
    };
    let integrated_time = match &e.integrated_time {
        None => None,
        // protobuf JSON omits zero values; Rekor v2 entries carry none.
        Some(t) => match t.non_negative("integrated time")? {
            0 => None,
            t => Some(i64::try_from(t).map_err(|_| invalid("integrated time out of range"))?),
        },
    };
    Ok(LogEntry {
        log_index: e.log_index.non_negative("log index")?,
        log_id: b64(&e.log_id.key_id, "log id")?,
        kind: e.kind_version.kind.clone(),
        version: e.kind_version.version.clone(),
        integrated_time,
        signed_entry_timestamp: e
            .inclusion_promise
            .as_ref()
            .map(|p| b64(&p.signed_entry_timestamp, "signed entry timestamp"))
            .transpose()?,
        inclusion_proof,
        body: b64(&e.canonicalized_body, "canonicalized body")?,
    })
}

fn is_self_signed(der: &[u8]) -> Result<bool, SigstoreError> {
    let (_, c) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| invalid(format!("chain certificate: {e}")))?;
    Ok(c.subject().as_raw() == c.issuer().as_raw())
}
