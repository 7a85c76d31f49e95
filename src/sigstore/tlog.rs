//! Rekor transparency-log evidence: the entry body, the inclusion proof, the checkpoint and the
//! v1 signed entry timestamp.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;

use super::bundle::{InclusionProofJson, LogEntry};
use super::crypto::{Hash, is_ed25519, verify_message};
use super::trusted_root::LogKey;
use super::{SigstoreError, Step};
use crate::merkle::{InclusionProof, RootHash, hash_from_slice, leaf_hash};
use crate::note::{Note, NoteVerifier};

fn fail(step: Step, reason: impl Into<String>) -> SigstoreError {
    SigstoreError::failed(step, reason)
}

/// What the log entry's body must say: the artifact digest, the signature and the signer.
pub(super) struct Expected<'a> {
    /// The digest the entry must record: the artifact's, or (hashedrekord over DSSE) the PAE's.
    pub(super) digest: &'a [u8; 32],
    /// What `digest` is the hash of, for the error message.
    pub(super) digest_of: &'a str,
    pub(super) signature: &'a [u8],
    /// The leaf certificate (DER), or the managed key (SPKI DER).
    pub(super) signer_der: &'a [u8],
    pub(super) signer_is_cert: bool,
}

/// Checks a `hashedrekord` body (v0.0.1 for Rekor v1, v0.0.2 for Rekor v2) against the bundle.
pub(super) fn check_body(entry: &LogEntry, exp: &Expected<'_>) -> Result<String, SigstoreError> {
    let step = Step::LogEntry;
    let body: serde_json::Value = serde_json::from_slice(&entry.body)
        .map_err(|e| SigstoreError::InvalidBundle(format!("log entry body is not JSON: {e}")))?;
    let s = |v: &serde_json::Value, path: &[&str]| -> Result<String, SigstoreError> {
        let mut v = v;
        for p in path {
            v = v
                .get(p)
                .ok_or_else(|| fail(step, format!("body has no {}", path.join("."))))?;
        }
        v.as_str().map(str::to_owned).ok_or_else(|| {
            fail(
                step,
                format!("body field {} is not a string", path.join(".")),
            )
        })
    };
    let (kind, version) = (s(&body, &["kind"])?, s(&body, &["apiVersion"])?);
    if kind != entry.kind || version != entry.version {
        return Err(fail(
            step,
            format!(
                "body is {kind} {version} but the bundle says {} {}",
                entry.kind, entry.version
            ),
        ));
    }
    let b64 = |s: &str, what: &str| {
        BASE64
            .decode(s)
            .map_err(|_| fail(step, format!("body {what} is not base64")))
    };
    let (digest, sig, signer) = match (kind.as_str(), version.as_str()) {
        ("hashedrekord", "0.0.1") => {
            let alg = s(&body, &["spec", "data", "hash", "algorithm"])?;
            if alg != "sha256" {
                return Err(fail(
                    step,
                    format!("body hash algorithm {alg:?} is not sha256"),
                ));
            }
            let digest = crate::hex::decode(&s(&body, &["spec", "data", "hash", "value"])?)
                .ok_or_else(|| fail(step, "body hash is not hex"))?;
            let sig = b64(&s(&body, &["spec", "signature", "content"])?, "signature")?;
            let pem = b64(
                &s(&body, &["spec", "signature", "publicKey", "content"])?,
                "public key",
            )?;
            (digest, sig, pem_to_der(&pem).map_err(|e| fail(step, e))?)
        }
        ("hashedrekord", "0.0.2") => {
            let spec = &body["spec"]["hashedRekordV002"];
            let alg = s(spec, &["data", "algorithm"])?;
            if alg != "SHA2_256" {
                return Err(fail(
                    step,
                    format!("body hash algorithm {alg:?} is not SHA2_256"),
                ));
            }
            let digest = b64(&s(spec, &["data", "digest"])?, "digest")?;
            let sig = b64(&s(spec, &["signature", "content"])?, "signature")?;
            let verifier = &spec["signature"]["verifier"];
            let signer = if let Some(c) = verifier.get("x509Certificate") {
                b64(&s(c, &["rawBytes"])?, "certificate")?
            } else {
                b64(&s(verifier, &["publicKey", "rawBytes"])?, "public key")?
            };
            (digest, sig, signer)
        }
        _ => {
            return Err(SigstoreError::Unsupported(format!(
                "log entries of kind {kind} {version} (only hashedrekord 0.0.1 and 0.0.2)"
            )));
        }
    };
    if digest != exp.digest {
        return Err(fail(
            step,
            format!("the entry's digest is not the SHA-256 of {}", exp.digest_of),
        ));
    }
    if sig != exp.signature {
        return Err(fail(step, "the entry records a different signature"));
    }
    if signer != exp.signer_der {
        let what = if exp.signer_is_cert {
            "certificate"
        } else {
            "key"
        };
        return Err(fail(step, format!("the entry records a different {what}")));
    }
    Ok(format!(
        "{kind} {version} matches the artifact digest, signature and signer"
    ))
}

/// Decodes the single PEM block (certificate or public key) of a hashedrekord v0.0.1 body.
pub(super) fn pem_to_der(pem: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "body public key is not PEM")?;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().ok_or("body public key is empty")?;
    if !first.starts_with("-----BEGIN ") {
        return Err("body public key is not PEM".into());
    }
    let mut b64 = String::new();
    for l in lines.by_ref() {
        if l.starts_with("-----END ") {
            break;
        }
        b64.push_str(l);
    }
    if lines.next().is_some() {
        return Err("body public key holds more than one PEM block".into());
    }
    BASE64
        .decode(b64)
        .map_err(|_| "body public key PEM is not base64".into())
}

/// A checkpoint's first three lines (c2sp.org/tlog-checkpoint); extension lines are ignored.
struct CheckpointBody {
    origin: String,
    size: u64,
    root: Vec<u8>,
}

fn parse_checkpoint_body(text: &str) -> Result<CheckpointBody, String> {
    let mut lines = text.split('\n');
    let origin = lines
        .next()
        .filter(|l| !l.is_empty())
        .ok_or("no origin line")?;
    let size = lines
        .next()
        .and_then(|l| {
            (!l.starts_with('0') || l == "0")
                .then(|| l.parse::<u64>().ok())
                .flatten()
        })
        .ok_or("tree size line is not a decimal number")?;
    let root = lines
        .next()
        .and_then(|l| BASE64.decode(l).ok())
        .filter(|r| r.len() == 32)
        .ok_or("root hash line is not a base64 SHA-256 hash")?;
    Ok(CheckpointBody {
        origin: origin.to_owned(),
        size,
        root,
    })
}

/// Checks the inclusion proof (RFC 9162 §2.1.3.2) of the entry's body against the checkpoint's
/// root hash, and the checkpoint's signature by `log`. Returns the report details.
pub(super) fn check_inclusion(
    entry: &LogEntry,
    proof: &InclusionProofJson,
    log: &LogKey,
) -> Result<(String, String), SigstoreError> {
    // The checkpoint first: the proof is only as good as the root it is checked against.
    let note = Note::parse(&proof.checkpoint).map_err(|e| {
        fail(
            Step::Checkpoint,
            format!("checkpoint is not a signed note: {e}"),
        )
    })?;
    let cp = parse_checkpoint_body(note.text())
        .map_err(|e| fail(Step::Checkpoint, format!("checkpoint is malformed: {e}")))?;
    let name = log.host();
    if cp.origin != name && !cp.origin.starts_with(&format!("{name} - ")) {
        return Err(fail(
            Step::Checkpoint,
            format!("checkpoint origin {:?} is not the log {name:?}", cp.origin),
        ));
    }
    let signed = verify_checkpoint_signature(&note, name, log)?;
    if cp.size != proof.tree_size || cp.root != proof.root_hash {
        return Err(fail(
            Step::Inclusion,
            format!(
                "the proof's tree (size {}) is not the checkpoint's (size {}) or the root hashes differ",
                proof.tree_size, cp.size
            ),
        ));
    }
    let hashes = InclusionProof::from_slices(&proof.hashes)
        .map_err(|e| fail(Step::Inclusion, format!("inclusion proof: {e}")))?;
    let root = hash_from_slice(&proof.root_hash)
        .map_err(|e| fail(Step::Inclusion, format!("root hash: {e}")))?;
    RootHash::new(proof.tree_size, root)
        .verify_inclusion(&leaf_hash(&entry.body), proof.log_index, &hashes)
        .map_err(|e| fail(Step::Inclusion, e.to_string()))?;
    Ok((
        format!(
            "leaf {} of {} included under the checkpoint's root",
            proof.log_index, proof.tree_size
        ),
        signed,
    ))
}

/// Checks that `note` carries a valid signature by `log` under key name `name`. Lines by other
/// keys (witness cosignatures, other logs) are ignored; a line by this key must verify.
fn verify_checkpoint_signature(
    note: &Note,
    name: &str,
    log: &LogKey,
) -> Result<String, SigstoreError> {
    let step = Step::Checkpoint;
    if is_ed25519(&log.public_key) {
        // C2SP signed-note Ed25519 key: key id = SHA-256(name || 0x0A || 0x01 || key)[:4].
        let raw = log
            .public_key
            .strip_prefix(&crate::x509::der::ED25519_SPKI_PREFIX[..])
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .ok_or_else(|| SigstoreError::InvalidTrustedRoot("malformed Ed25519 log key".into()))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map_err(|_| SigstoreError::InvalidTrustedRoot("invalid Ed25519 log key".into()))?;
        let v = NoteVerifier::new(name, key)
            .map_err(|e| SigstoreError::InvalidTrustedRoot(format!("log key: {e}")))?;
        note.verify(std::slice::from_ref(&v)).map_err(|e| {
            fail(
                step,
                format!("checkpoint not signed by the trusted log key: {e}"),
            )
        })?;
        return Ok(format!("signed by {name} (Ed25519)"));
    }
    // Rekor's ECDSA note keys: key id = SHA-256(public key DER)[:4], signature over the text.
    let id = log.ecdsa_note_key_id();
    let mut found = false;
    for sig in note
        .signatures()
        .iter()
        .filter(|s| s.name == name && s.key_id == id)
    {
        if !verify_message(
            &log.public_key,
            Hash::Sha256,
            note.text().as_bytes(),
            &sig.signature,
        ) {
            return Err(fail(
                step,
                format!("checkpoint signature by {name} does not verify"),
            ));
        }
        found = true;
    }
    if !found {
        return Err(fail(
            step,
            format!("checkpoint not signed by the trusted log key {name} (no matching key id)"),
        ));
    }
    Ok(format!("signed by {name} (ECDSA)"))
}

/// The payload of a Rekor v1 SET: RFC 8785 canonical JSON, keys in lexical order.
#[derive(Serialize)]
struct SetPayload<'a> {
    body: &'a str,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logID")]
    log_id: &'a str,
    #[serde(rename = "logIndex")]
    log_index: u64,
}

/// Checks a Rekor v1 signed entry timestamp: the log key's signature over the canonical JSON of
/// body, integrated time, log id and log index.
pub(super) fn check_set(entry: &LogEntry, log: &LogKey) -> Result<i64, SigstoreError> {
    let step = Step::SignedEntryTimestamp;
    let set = entry
        .signed_entry_timestamp
        .as_deref()
        .ok_or_else(|| fail(step, "no signed entry timestamp (inclusion promise)"))?;
    let t = entry
        .integrated_time
        .ok_or_else(|| fail(step, "no integrated time"))?;
    let body = BASE64.encode(&entry.body);
    let log_id = crate::hex::encode(&entry.log_id);
    let payload = serde_json::to_vec(&SetPayload {
        body: &body,
        integrated_time: t,
        log_id: &log_id,
        log_index: entry.log_index,
    })
    .map_err(|e| fail(step, format!("cannot encode the SET payload: {e}")))?;
    if !verify_message(&log.public_key, Hash::Sha256, &payload, set) {
        return Err(fail(
            step,
            "signed entry timestamp does not verify under the log key",
        ));
    }
    Ok(t)
}
