//! DSSE envelopes (secure-systems-lab/dsse, protocol v1) in Sigstore bundles, their in-toto
//! statements (in-toto attestation framework, Statement v1), and the transparency-log entry
//! kinds that record them: Rekor v1 `dsse` 0.0.1 and `intoto` 0.0.2, Rekor v2 `dsse` 0.0.2.
//! (Rekor v2's `hashedrekord` 0.0.2 over DSSE logs SHA-256 of the PAE; it is checked as a
//! hashedrekord in `tlog`.)

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::bundle::{LogEntry, b64};
use super::slsa::{SlsaProvenance, read_provenance};
use super::tlog::pem_to_der;
use super::{SigstoreError, Step};

/// The payload type `sigstore verify` and firmware attestations accept: an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// in-toto Statement `_type` values accepted (v1, and v0.1 which has the same layout).
const STATEMENT_TYPES: [&str; 2] = [
    "https://in-toto.io/Statement/v1",
    "https://in-toto.io/Statement/v0.1",
];

/// A DSSE envelope with its single signature (Sigstore bundles carry exactly one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// `payloadType`, e.g. `application/vnd.in-toto+json`.
    pub payload_type: String,
    /// The payload bytes (decoded from base64).
    pub payload: Vec<u8>,
    /// The signature over [`pae`] of the type and payload.
    pub signature: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EnvelopeJson {
    payload: String,
    payload_type: String,
    #[serde(default)]
    signatures: Vec<SignatureJson>,
}

#[derive(Deserialize)]
struct SignatureJson {
    sig: String,
}

impl Envelope {
    /// Decodes the bundle's `dsseEnvelope`: strict base64, exactly one signature.
    pub(super) fn from_json(e: EnvelopeJson) -> Result<Envelope, SigstoreError> {
        let signature = match e.signatures.as_slice() {
            [s] => b64(&s.sig, "dsseEnvelope.signatures[0].sig")?,
            other => {
                return Err(SigstoreError::InvalidBundle(format!(
                    "dsseEnvelope.signatures holds {} signatures; a Sigstore bundle carries exactly one",
                    other.len()
                )));
            }
        };
        Ok(Envelope {
            payload_type: e.payload_type,
            payload: b64(&e.payload, "dsseEnvelope.payload")?,
            signature,
        })
    }

    /// The bytes the signature covers: PAE(payloadType, payload).
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }
}

/// DSSE's pre-authentication encoding (DSSE protocol v1):
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// What a verified attestation says, for reports and policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attestation {
    /// The envelope's payload type.
    pub payload_type: String,
    /// The statement's `predicateType`.
    pub predicate_type: String,
    /// The name of the statement subject whose SHA-256 is the artifact's.
    pub subject: String,
    /// SLSA provenance v1 fields, when the predicate is SLSA provenance v1.
    pub provenance: Option<SlsaProvenance>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatementJson {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<SubjectJson>,
    predicate_type: String,
    #[serde(default)]
    predicate: serde_json::Value,
}

#[derive(Deserialize)]
struct SubjectJson {
    #[serde(default)]
    name: String,
    #[serde(default)]
    digest: std::collections::BTreeMap<String, String>,
}

/// Checks the envelope's payload as an in-toto statement about the artifact with SHA-256
/// `digest`: the payload type, the statement type, a subject with that digest. Returns what it
/// attests.
pub(super) fn check_statement(
    env: &Envelope,
    digest: &[u8; 32],
) -> Result<Attestation, SigstoreError> {
    let fail = |r: String| SigstoreError::failed(Step::Statement, r);
    if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(fail(format!(
            "dsseEnvelope.payloadType is {:?}, not {IN_TOTO_PAYLOAD_TYPE:?}",
            env.payload_type
        )));
    }
    let st: StatementJson = serde_json::from_slice(&env.payload).map_err(|e| {
        fail(format!(
            "dsseEnvelope.payload is not an in-toto statement: {e}"
        ))
    })?;
    if !STATEMENT_TYPES.contains(&st.type_.as_str()) {
        return Err(fail(format!(
            "statement _type {:?} is not an in-toto statement (v1 or v0.1)",
            st.type_
        )));
    }
    let hex = crate::hex::encode(digest);
    let subject = st
        .subject
        .iter()
        .find(|s| {
            s.digest
                .get("sha256")
                .is_some_and(|d| d.eq_ignore_ascii_case(&hex))
        })
        .ok_or_else(|| {
            fail(format!(
                "no statement subject has the artifact's sha256 {hex} ({} subjects)",
                st.subject.len()
            ))
        })?;
    let provenance = read_provenance(&st.predicate_type, &st.predicate)
        .map_err(|e| fail(format!("predicate: {e}")))?;
    Ok(Attestation {
        payload_type: env.payload_type.clone(),
        predicate_type: st.predicate_type,
        subject: subject.name.clone(),
        provenance,
    })
}

/// Checks a `dsse` or `intoto` log entry body against the envelope and the signer (leaf
/// certificate or managed key, DER).
pub(super) fn check_dsse_body(
    entry: &LogEntry,
    env: &Envelope,
    signer_der: &[u8],
) -> Result<String, SigstoreError> {
    let fail = |r: String| SigstoreError::failed(Step::LogEntry, r);
    let body: serde_json::Value = serde_json::from_slice(&entry.body)
        .map_err(|e| SigstoreError::InvalidBundle(format!("log entry body is not JSON: {e}")))?;
    let get = |path: &str| -> Result<&str, SigstoreError> {
        path.split('.')
            .try_fold(&body, |v, p| match p.parse::<usize>() {
                Ok(i) => v.get(i),
                Err(_) => v.get(p),
            })
            .and_then(|v| v.as_str())
            .ok_or_else(|| fail(format!("body has no string {path}")))
    };
    let (kind, version) = (get("kind")?, get("apiVersion")?);
    if kind != entry.kind || version != entry.version {
        return Err(fail(format!(
            "body is {kind} {version} but the bundle says {} {}",
            entry.kind, entry.version
        )));
    }
    let count = |path: &str| {
        path.split('.')
            .try_fold(&body, |v, p| v.get(p))
            .and_then(|v| v.as_array())
            .map_or(0, Vec::len)
    };
    let dec = |s: &str, what: &str| {
        BASE64
            .decode(s)
            .map_err(|_| fail(format!("body {what} is not base64")))
    };
    let payload_hex = crate::hex::encode(&Sha256::digest(&env.payload));
    let (hash_alg, hash, sig, signer, sigs) = match (kind, version) {
        ("dsse", "0.0.1") => (
            get("spec.payloadHash.algorithm")?,
            get("spec.payloadHash.value")?.to_ascii_lowercase(),
            dec(get("spec.signatures.0.signature")?, "signature")?,
            pem_to_der(&dec(get("spec.signatures.0.verifier")?, "verifier")?).map_err(fail)?,
            count("spec.signatures"),
        ),
        ("intoto", "0.0.2") => {
            let t = get("spec.content.envelope.payloadType")?;
            if t != env.payload_type {
                return Err(fail(format!(
                    "the entry records payload type {t:?}, the envelope has {:?}",
                    env.payload_type
                )));
            }
            if let Ok(p) = get("spec.content.envelope.payload") {
                // Rekor stores the envelope's base64 payload string, base64-encoded again.
                let inner = dec(p, "payload")?;
                if dec(&String::from_utf8_lossy(&inner), "payload")? != env.payload {
                    return Err(fail("the entry records a different payload".into()));
                }
            }
            // The signature is likewise the envelope's base64 string, base64-encoded again.
            let sig = dec(get("spec.content.envelope.signatures.0.sig")?, "signature")?;
            if sig != BASE64.encode(&env.signature).as_bytes() {
                return Err(fail("the entry records a different signature".into()));
            }
            (
                get("spec.content.payloadHash.algorithm")?,
                get("spec.content.payloadHash.value")?.to_ascii_lowercase(),
                env.signature.clone(),
                pem_to_der(&dec(
                    get("spec.content.envelope.signatures.0.publicKey")?,
                    "public key",
                )?)
                .map_err(fail)?,
                count("spec.content.envelope.signatures"),
            )
        }
        ("dsse", "0.0.2") => {
            let signer = match get("spec.dsseV002.signatures.0.verifier.x509Certificate.rawBytes") {
                Ok(c) => dec(c, "certificate")?,
                Err(_) => dec(
                    get("spec.dsseV002.signatures.0.verifier.publicKey.rawBytes")?,
                    "public key",
                )?,
            };
            let alg = get("spec.dsseV002.payloadHash.algorithm")?;
            let d = dec(get("spec.dsseV002.payloadHash.digest")?, "payload hash")?;
            (
                if alg == "SHA2_256" { "sha256" } else { alg },
                crate::hex::encode(&d),
                dec(get("spec.dsseV002.signatures.0.content")?, "signature")?,
                signer,
                count("spec.dsseV002.signatures"),
            )
        }
        _ => {
            return Err(SigstoreError::Unsupported(format!(
                "log entries of kind {kind} {version} for DSSE envelopes (dsse 0.0.1, intoto 0.0.2, dsse 0.0.2, hashedrekord 0.0.2)"
            )));
        }
    };
    if hash_alg != "sha256" {
        return Err(fail(format!(
            "body payload hash algorithm {hash_alg:?} is not SHA-256"
        )));
    }
    if hash != payload_hex {
        return Err(fail(
            "the entry records a different payload hash than the envelope's".into(),
        ));
    }
    if sigs != 1 {
        return Err(fail(format!(
            "the entry records {sigs} signatures; the envelope has one"
        )));
    }
    if sig != env.signature {
        return Err(fail("the entry records a different signature".into()));
    }
    if signer != signer_der {
        return Err(fail(
            "the entry records a different certificate or key".into(),
        ));
    }
    Ok(format!(
        "{kind} {version} matches the payload hash, signature and signer"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_specification_example() {
        // DSSE protocol.md: PAE("http://example.com/HelloWorld", "hello world").
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    fn env(payload: &str) -> Envelope {
        Envelope {
            payload_type: IN_TOTO_PAYLOAD_TYPE.into(),
            payload: payload.as_bytes().to_vec(),
            signature: vec![],
        }
    }

    #[test]
    fn statement_checks_name_what_is_wrong() {
        let d = [0xab; 32];
        let hex = "ab".repeat(32);
        let ok = format!(
            r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"fw","digest":{{"sha256":"{hex}"}}}}],"predicateType":"https://example.com/p","predicate":{{}}}}"#
        );
        let a = check_statement(&env(&ok), &d).unwrap();
        assert_eq!((a.subject.as_str(), a.provenance), ("fw", None));
        let reason = |p: &str, d: &[u8; 32]| match check_statement(&env(p), d) {
            Err(SigstoreError::Failed {
                step: Step::Statement,
                reason,
            }) => reason,
            other => panic!("{other:?}"),
        };
        assert!(reason(&ok, &[0xac; 32]).starts_with("no statement subject has"));
        assert!(reason("{", &d).contains("not an in-toto statement"));
        let wrong_type = ok.replace("Statement/v1", "Statement/v9");
        assert!(reason(&wrong_type, &d).contains("_type"));
        let mut other = env(&ok);
        other.payload_type = "application/json".into();
        assert!(matches!(
            check_statement(&other, &d),
            Err(SigstoreError::Failed { reason, .. }) if reason.contains("payloadType")
        ));
    }
}
