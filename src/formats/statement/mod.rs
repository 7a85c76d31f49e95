//! Signed statements: COSE_Sign1 (RFC 9052 §4.2, tag 18) profiled as SCITT signed statements.
//!
//! Protected header (integer labels only): `1` alg (-8 EdDSA; -19 Ed25519 accepted on read),
//! `3` content type `application/vnd.evledger.<kind>+cbor`, `4` kid (RFC 9679 thumbprint, 32
//! bytes), `15` CWT claims `{1: iss, 2: sub, 6: iat}`, and optionally `33` x5chain (one DER
//! certificate as a byte string, or an array of two or more, leaf first). The unprotected header is an
//! empty map; the payload is embedded; the signature covers
//! `["Signature1", protected, h'', payload]` and is checked with Ed25519 `verify_strict`.
//! [`Signer`] makes one from validated evidence.

pub mod batch;
mod signer;

pub use signer::{SignError, Signed, Signer};

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::cbor::{self, Value};
use crate::keys::KeyId;

/// CBOR tag of a COSE_Sign1 message.
pub const COSE_SIGN1_TAG: u64 = 18;
/// COSE algorithm EdDSA.
pub const ALG_EDDSA: i64 = -8;
/// COSE algorithm Ed25519 (fully specified).
pub const ALG_ED25519: i64 = -19;
/// Largest statement accepted, in bytes.
pub const MAX_STATEMENT_LEN: usize = 1 << 20;

const CT_PREFIX: &str = "application/vnd.evledger.";
const CT_SUFFIX: &str = "+cbor";

/// The content type that names an evidence kind.
pub fn content_type(kind: &str) -> String {
    format!("{CT_PREFIX}{kind}{CT_SUFFIX}")
}

/// The evidence kind named by a content type, if it has evledger's form.
pub fn kind_of_content_type(ct: &str) -> Option<&str> {
    let kind = ct.strip_prefix(CT_PREFIX)?.strip_suffix(CT_SUFFIX)?;
    let ok = !kind.is_empty()
        && kind
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
    ok.then_some(kind)
}

/// Why a statement is malformed or does not verify.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    /// The bytes are not deterministic CBOR.
    #[error("statement is not deterministic CBOR: {0}")]
    Cbor(#[from] cbor::CborError),
    /// The statement is larger than [`MAX_STATEMENT_LEN`].
    #[error("statement is {0} bytes, over the limit of {MAX_STATEMENT_LEN}")]
    TooLarge(usize),
    /// The COSE_Sign1 structure or its header profile is wrong.
    #[error("statement {field}: {reason}")]
    Profile {
        /// The field, e.g. "protected header label 4 (kid)".
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The key given for verification is not the one named by the statement's kid.
    #[error("statement kid {expected} does not match the verifying key {got}")]
    KidMismatch {
        /// The kid in the statement.
        expected: KeyId,
        /// The kid of the key offered.
        got: KeyId,
    },
    /// The signature does not verify (Ed25519 verify_strict).
    #[error("statement signature does not verify under key {kid}")]
    BadSignature {
        /// The signer's key id.
        kid: KeyId,
    },
}

fn profile(field: &'static str, reason: impl Into<String>) -> StatementError {
    StatementError::Profile {
        field,
        reason: reason.into(),
    }
}

/// Who signed a statement and about what: the protected header's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The algorithm label (-8 or -19).
    pub alg: i64,
    /// The evidence kind, from the content type.
    pub kind: String,
    /// The signer's key id.
    pub kid: KeyId,
    /// CWT `iss`: the signing organisation.
    pub issuer: String,
    /// CWT `sub`: what the entry is about.
    pub subject: String,
    /// CWT `iat`: when it was signed, Unix seconds.
    pub issued_at: u64,
    /// The signer's certificate chain (DER, leaf first), if it signs with a certificate.
    pub x5chain: Vec<Vec<u8>>,
}

impl Header {
    /// Encodes the protected header map (deterministic CBOR).
    fn encode(&self) -> Vec<u8> {
        let claims = Value::Map(vec![
            (Value::int(1), Value::text(self.issuer.clone())),
            (Value::int(2), Value::text(self.subject.clone())),
            (Value::int(6), Value::Unsigned(self.issued_at)),
        ]);
        let mut map = vec![
            (Value::int(1), Value::int(self.alg)),
            (Value::int(3), Value::text(content_type(&self.kind))),
            (Value::int(4), Value::Bytes(self.kid.0.to_vec())),
            (Value::int(15), claims),
        ];
        match self.x5chain.as_slice() {
            [] => {}
            [one] => map.push((Value::int(33), Value::Bytes(one.clone()))),
            many => map.push((
                Value::int(33),
                Value::Array(many.iter().cloned().map(Value::Bytes).collect()),
            )),
        }
        cbor::encode(&Value::Map(map))
    }

    /// Decodes and checks the protected header profile.
    fn decode(bytes: &[u8]) -> Result<Header, StatementError> {
        let v = cbor::decode(bytes)?;
        let map = v
            .as_map()
            .ok_or_else(|| profile("protected header", "is not a map"))?;
        let mut h = Header {
            alg: 0,
            kind: String::new(),
            kid: KeyId([0; 32]),
            issuer: String::new(),
            subject: String::new(),
            issued_at: 0,
            x5chain: Vec::new(),
        };
        let (mut alg, mut ct, mut kid, mut cwt) = (false, false, false, false);
        for (k, val) in map {
            match k.as_i64() {
                Some(1) => {
                    h.alg = val
                        .as_i64()
                        .filter(|a| *a == ALG_EDDSA || *a == ALG_ED25519)
                        .ok_or_else(|| {
                            profile("alg (label 1)", format!("must be -8 or -19, got {val}"))
                        })?;
                    alg = true;
                }
                Some(3) => {
                    let s = val
                        .as_text()
                        .ok_or_else(|| profile("content type (label 3)", "is not text"))?;
                    h.kind = kind_of_content_type(s)
                        .ok_or_else(|| {
                            profile(
                                "content type (label 3)",
                                format!("{s:?} is not application/vnd.evledger.<kind>+cbor"),
                            )
                        })?
                        .to_owned();
                    ct = true;
                }
                Some(4) => {
                    let b = val
                        .as_bytes()
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .ok_or_else(|| profile("kid (label 4)", "must be a 32-byte string"))?;
                    h.kid = KeyId(b);
                    kid = true;
                }
                Some(15) => {
                    decode_claims(val, &mut h)?;
                    cwt = true;
                }
                Some(33) => {
                    h.x5chain = match val {
                        Value::Bytes(b) => vec![b.clone()],
                        // RFC 9360 §2: one certificate is a byte string, several an array, so an
                        // array of one is a second encoding of the same header and is refused.
                        Value::Array(items) if items.len() >= 2 => items
                            .iter()
                            .map(|c| c.as_bytes().map(<[u8]>::to_vec))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| {
                                profile("x5chain (label 33)", "holds a non-bytes item")
                            })?,
                        _ => {
                            return Err(profile(
                                "x5chain (label 33)",
                                "must be one certificate as bytes, or an array of two or more",
                            ));
                        }
                    };
                }
                _ => return Err(profile("protected header", format!("unexpected label {k}"))),
            }
        }
        for (present, field) in [
            (alg, "alg (label 1)"),
            (ct, "content type (label 3)"),
            (kid, "kid (label 4)"),
            (cwt, "CWT claims (label 15)"),
        ] {
            if !present {
                return Err(profile(field, "is missing"));
            }
        }
        Ok(h)
    }
}

fn decode_claims(val: &Value, h: &mut Header) -> Result<(), StatementError> {
    const FIELD: &str = "CWT claims (label 15)";
    let map = val.as_map().ok_or_else(|| profile(FIELD, "is not a map"))?;
    let (mut iss, mut sub, mut iat) = (None, None, None);
    for (k, v) in map {
        match k.as_i64() {
            Some(1) => {
                iss = Some(
                    v.as_text()
                        .ok_or_else(|| profile(FIELD, "iss (1) is not text"))?,
                )
            }
            Some(2) => {
                sub = Some(
                    v.as_text()
                        .ok_or_else(|| profile(FIELD, "sub (2) is not text"))?,
                )
            }
            Some(6) => {
                iat = Some(
                    v.as_u64()
                        .ok_or_else(|| profile(FIELD, "iat (6) is not an unsigned integer"))?,
                )
            }
            _ => return Err(profile(FIELD, format!("unexpected claim {k}"))),
        }
    }
    h.issuer = iss
        .ok_or_else(|| profile(FIELD, "iss (1) is missing"))?
        .to_owned();
    h.subject = sub
        .ok_or_else(|| profile(FIELD, "sub (2) is missing"))?
        .to_owned();
    h.issued_at = iat.ok_or_else(|| profile(FIELD, "iat (6) is missing"))?;
    Ok(())
}

/// The bytes a COSE_Sign1 signature covers: `["Signature1", protected, h'', payload]`.
pub(crate) fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 24);
    cbor::encode_into(
        &Value::Array(vec![
            Value::text("Signature1"),
            Value::Bytes(protected.to_vec()),
            Value::Bytes(Vec::new()),
            Value::Bytes(payload.to_vec()),
        ]),
        &mut out,
    );
    out
}

/// Signs `payload` under `header` (whose kid must be the key's) and returns the tagged COSE_Sign1 bytes.
pub fn sign(header: &Header, payload: &[u8], key: &SigningKey) -> Vec<u8> {
    let protected = header.encode();
    let sig = key.sign(&sig_structure(&protected, payload));
    cbor::encode(&Value::Tag(
        COSE_SIGN1_TAG,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(Vec::new()),
            Value::Bytes(payload.to_vec()),
            Value::Bytes(sig.to_bytes().to_vec()),
        ])),
    ))
}

/// A structurally valid statement whose signature has not been checked yet.
#[derive(Clone, Debug)]
pub struct SignedStatement {
    bytes: Vec<u8>,
    protected: Vec<u8>,
    header: Header,
    payload: Vec<u8>,
    signature: [u8; 64],
}

impl SignedStatement {
    /// Parses a tagged COSE_Sign1 strictly against the profile.
    ///
    /// # Errors
    /// [`StatementError`] naming the field that is wrong.
    pub fn parse(bytes: &[u8]) -> Result<SignedStatement, StatementError> {
        if bytes.len() > MAX_STATEMENT_LEN {
            return Err(StatementError::TooLarge(bytes.len()));
        }
        let v = cbor::decode(bytes)?;
        let parts = match &v {
            Value::Tag(COSE_SIGN1_TAG, inner) => inner.as_array(),
            _ => None,
        }
        .ok_or_else(|| profile("structure", "is not a tagged (18) COSE_Sign1 array"))?;
        let [prot, unprot, payload, sig] = parts else {
            return Err(profile(
                "structure",
                format!("has {} elements, not 4", parts.len()),
            ));
        };
        let protected = prot
            .as_bytes()
            .ok_or_else(|| profile("protected header", "is not a byte string"))?
            .to_vec();
        if unprot.as_map().is_none_or(|m| !m.is_empty()) {
            return Err(profile("unprotected header", "must be an empty map"));
        }
        let payload = payload
            .as_bytes()
            .ok_or_else(|| profile("payload", "must be an embedded byte string"))?
            .to_vec();
        let signature = sig
            .as_bytes()
            .and_then(|s| <[u8; 64]>::try_from(s).ok())
            .ok_or_else(|| profile("signature", "must be a 64-byte string"))?;
        let header = Header::decode(&protected)?;
        Ok(SignedStatement {
            bytes: bytes.to_vec(),
            protected,
            header,
            payload,
            signature,
        })
    }

    /// The protected header's fields.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The embedded payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The statement bytes as received.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The entry hash: SHA-256 of the statement bytes.
    pub fn entry_hash(&self) -> [u8; 32] {
        entry_hash(&self.bytes)
    }

    /// Checks the signature with `key`, which must be the key the kid names.
    ///
    /// # Errors
    /// [`StatementError::KidMismatch`] or [`StatementError::BadSignature`].
    pub fn verify(self, key: &VerifyingKey) -> Result<VerifiedStatement, StatementError> {
        let got = KeyId::of(key);
        if got != self.header.kid {
            return Err(StatementError::KidMismatch {
                expected: self.header.kid,
                got,
            });
        }
        let sig = Signature::from_bytes(&self.signature);
        key.verify_strict(&sig_structure(&self.protected, &self.payload), &sig)
            .map_err(|_| StatementError::BadSignature { kid: got })?;
        Ok(VerifiedStatement {
            statement: self,
            key: *key,
        })
    }
}

impl SignedStatement {
    /// Verifies the signature as [`SignedStatement::verify`] does, with exactly its acceptance,
    /// through a key's kept comb table ([`batch::KeyVerifier`]).
    ///
    /// # Errors
    /// As [`SignedStatement::verify`].
    pub fn verify_with(
        self,
        verifier: &batch::KeyVerifier,
    ) -> Result<VerifiedStatement, StatementError> {
        let key = verifier.key();
        let got = KeyId::of(key);
        if got != self.header.kid {
            return Err(StatementError::KidMismatch {
                expected: self.header.kid,
                got,
            });
        }
        let sig = Signature::from_bytes(&self.signature);
        if !verifier.verify_strict(&sig_structure(&self.protected, &self.payload), &sig) {
            return Err(StatementError::BadSignature { kid: got });
        }
        Ok(VerifiedStatement {
            statement: self,
            key: *key,
        })
    }
}

/// Verifies many statements, each under the key given for it, with exactly `verify_strict`'s
/// acceptance (see [`crate::strict_batch`]) but faster when one key signed many of them.
pub fn verify_many(
    items: Vec<(SignedStatement, VerifyingKey)>,
) -> Vec<Result<VerifiedStatement, StatementError>> {
    let refs: Vec<(&SignedStatement, &VerifyingKey)> = items.iter().map(|(s, k)| (s, k)).collect();
    let checked = check_many(&refs);
    items
        .into_iter()
        .zip(checked)
        .map(|((statement, key), r)| r.map(|()| VerifiedStatement { statement, key }))
        .collect()
}

/// As [`verify_many`], for statements the caller keeps: only the outcome of each check.
pub fn check_many(items: &[(&SignedStatement, &VerifyingKey)]) -> Vec<Result<(), StatementError>> {
    let prepared: Vec<(Vec<u8>, Signature)> = items
        .iter()
        .map(|(st, _)| {
            (
                sig_structure(&st.protected, &st.payload),
                Signature::from_bytes(&st.signature),
            )
        })
        .collect();
    let batch: Vec<batch::Item<'_>> = items
        .iter()
        .zip(&prepared)
        .map(|((_, key), (message, signature))| batch::Item {
            key,
            message,
            signature,
        })
        .collect();
    let ok = batch::verify_strict_many(&batch);
    items
        .iter()
        .zip(ok)
        .map(|((st, key), ok)| {
            let got = KeyId::of(key);
            if got != st.header.kid {
                Err(StatementError::KidMismatch {
                    expected: st.header.kid,
                    got,
                })
            } else if ok {
                Ok(())
            } else {
                Err(StatementError::BadSignature { kid: got })
            }
        })
        .collect()
}

/// A statement whose signature verified under the key it names; only [`SignedStatement::verify`] and [`verify_many`] make one.
#[derive(Clone, Debug)]
pub struct VerifiedStatement {
    statement: SignedStatement,
    key: VerifyingKey,
}

impl VerifiedStatement {
    /// The verified statement.
    pub fn statement(&self) -> &SignedStatement {
        &self.statement
    }

    /// The key it verified under.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl SignedStatement {
    /// Whether `other` signs the same protected header and payload with the same signature:
    /// the bytes a signature check reads, so one's verified signature is the other's.
    pub fn same_signed(&self, other: &SignedStatement) -> bool {
        self.protected == other.protected
            && self.payload == other.payload
            && self.signature == other.signature
    }
}

/// The entry hash of statement bytes: SHA-256(statement).
pub fn entry_hash(statement: &[u8]) -> [u8; 32] {
    Sha256::digest(statement).into()
}
