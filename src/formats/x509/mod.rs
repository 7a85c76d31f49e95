//! X.509 certificates for signers who hold one (test labs, whose Ed25519 keys an accreditation
//! body's CA certifies), and the certificate path check the offline verifier runs.
//!
//! [`Certificate`] parses one DER certificate (RFC 5280 §4.1) with `x509-parser` and keeps the
//! facts the path check needs; [`verify_chain`] does the path validation itself (x509-parser does
//! none): Ed25519 signatures (RFC 8410) checked with `verify_strict` over the TBS bytes received,
//! issuer/subject name chaining, validity, basic constraints, key usage and path length. Only the
//! subset of RFC 5280 §6 that a closed, Ed25519-only PKI needs is implemented, and anything outside
//! it (another algorithm, an unknown critical extension) is refused rather than ignored. The rules
//! are written out in `specs/x509.md`.

mod chain;
pub(crate) mod der;

pub use chain::{ChainError, MAX_PATH_LEN, verify_chain};

use std::fmt;

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_SIG_ED448, OID_SIG_ED25519, OID_X509_EXT_BASIC_CONSTRAINTS,
    OID_X509_EXT_KEY_USAGE, OID_X509_EXT_SUBJECT_ALT_NAME, Oid,
};
use x509_parser::prelude::FromDer;
use x509_parser::x509::AlgorithmIdentifier;

/// Why bytes or PEM text could not be read as a certificate, or its key cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The bytes are not a DER X.509 certificate (or a field in it is malformed).
    #[error("not a DER X.509 certificate: {reason}")]
    Malformed {
        /// What the parser or a structural check found.
        reason: String,
    },
    /// Bytes follow the certificate.
    #[error("{count} trailing bytes after the certificate")]
    TrailingBytes {
        /// How many bytes follow it.
        count: usize,
    },
    /// The PEM text is not well formed.
    #[error("pem: {reason}")]
    Pem {
        /// What is wrong with it.
        reason: String,
    },
    /// The PEM text holds no `CERTIFICATE` block.
    #[error("pem: no CERTIFICATE block found")]
    NoCertificate,
    /// One certificate of a PEM chain is not valid.
    #[error("pem block {index}: {source}")]
    InChain {
        /// Zero-based position of the block in the text.
        index: usize,
        /// Why it was refused.
        source: Box<CertError>,
    },
    /// The certified key is not Ed25519.
    #[error("certificate key is {algorithm}, but lab keys must be Ed25519 for now")]
    UnsupportedKey {
        /// The key's algorithm, e.g. "ECDSA P-256" or "RSA".
        algorithm: String,
    },
    /// The Ed25519 key is not a valid curve point, or is a small-order ("weak") point.
    #[error("certificate holds an invalid or weak Ed25519 public key")]
    InvalidKey,
}

/// A certified public key.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PublicKey {
    /// An Ed25519 key (RFC 8410 §4): its 32 bytes.
    Ed25519([u8; 32]),
    /// Any other algorithm, by name (or dotted OID).
    Other(String),
}

/// The algorithm an issuer signed a certificate with.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SignatureAlgorithm {
    /// Ed25519 (RFC 8410 §3), the only one the path check accepts.
    Ed25519,
    /// Any other algorithm, by name (or dotted OID).
    Other(String),
}

/// A parsed X.509 certificate. It owns its DER; the facts below are read from it once.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    tbs: Vec<u8>,
    signature: Vec<u8>,
    signature_algorithm: SignatureAlgorithm,
    serial_hex: String,
    subject_der: Vec<u8>,
    subject: String,
    issuer_der: Vec<u8>,
    issuer: String,
    not_before: i64,
    not_after: i64,
    spki_der: Vec<u8>,
    key: PublicKey,
    basic_constraints: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
    unknown_critical: Vec<String>,
}

/// The basicConstraints extension (RFC 5280 §4.2.1.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicConstraints {
    /// Whether the subject is a CA.
    pub ca: bool,
    /// The most non-self-issued intermediate certificates that may follow this one in a path.
    pub path_len: Option<u32>,
}

/// The keyUsage bits that the path check reads (RFC 5280 §4.2.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUsage {
    /// `digitalSignature`: the key may sign data other than certificates and CRLs.
    pub digital_signature: bool,
    /// `keyCertSign`: the key may sign certificates.
    pub key_cert_sign: bool,
}

impl Certificate {
    /// Parses one DER certificate, refusing trailing bytes.
    ///
    /// Only structure is checked here (that the bytes outside the TBS are exact DER, that the
    /// inner and outer signature algorithms agree, RFC 5280 §4.1.1.2, that Ed25519 fields have
    /// their RFC 8410 encoding, and that no extension appears twice); trust is
    /// [`verify_chain`]'s job. Certificates with non-Ed25519 keys parse, so that the error can say
    /// what they hold.
    ///
    /// # Errors
    /// [`CertError::Malformed`] or [`CertError::TrailingBytes`].
    pub fn from_der(der: &[u8]) -> Result<Certificate, CertError> {
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertError::TrailingBytes { count: rest.len() });
        }
        let tbs = &cert.tbs_certificate;
        let signature_algorithm = if cert.signature_algorithm.algorithm == OID_SIG_ED25519 {
            SignatureAlgorithm::Ed25519
        } else {
            SignatureAlgorithm::Other(oid_name(&cert.signature_algorithm.algorithm))
        };
        der::check_envelope(
            der,
            tbs.as_ref(),
            &cert.signature_value.data,
            signature_algorithm == SignatureAlgorithm::Ed25519,
        )
        .map_err(malformed)?;
        let spki = &tbs.subject_pki;
        let key = if spki.algorithm.algorithm == OID_SIG_ED25519 {
            // Exactly the RFC 8410 §4 encoding: no parameters, a 32-byte key, no unused bits.
            match spki.raw.strip_prefix(&der::ED25519_SPKI_PREFIX[..]) {
                Some(key) if spki.raw.len() == der::ED25519_SPKI_PREFIX.len() + 32 => {
                    let mut bytes = [0; 32];
                    bytes.copy_from_slice(key);
                    PublicKey::Ed25519(bytes)
                }
                _ => return Err(malformed("Ed25519 key is not the RFC 8410 encoding".into())),
            }
        } else {
            PublicKey::Other(key_algorithm_name(&spki.algorithm))
        };

        let mut seen = std::collections::HashSet::new();
        let mut basic_constraints = None;
        let mut key_usage = None;
        let mut unknown_critical = Vec::new();
        for ext in tbs.extensions() {
            if !seen.insert(ext.oid.as_bytes()) {
                return Err(malformed(format!("extension {} appears twice", ext.oid)));
            }
            match ext.parsed_extension() {
                ParsedExtension::BasicConstraints(bc) => {
                    basic_constraints = Some(BasicConstraints {
                        ca: bc.ca,
                        path_len: bc.path_len_constraint,
                    });
                }
                ParsedExtension::KeyUsage(ku) => {
                    key_usage = Some(KeyUsage {
                        digital_signature: ku.digital_signature(),
                        key_cert_sign: ku.key_cert_sign(),
                    });
                }
                ParsedExtension::ParseError { .. }
                    if ext.critical
                        || ext.oid == OID_X509_EXT_BASIC_CONSTRAINTS
                        || ext.oid == OID_X509_EXT_KEY_USAGE =>
                {
                    return Err(malformed(format!("extension {} is malformed", ext.oid)));
                }
                _ if ext.critical && ext.oid != OID_X509_EXT_SUBJECT_ALT_NAME => {
                    unknown_critical.push(ext.oid.to_id_string());
                }
                _ => {}
            }
        }

        Ok(Certificate {
            der: der.to_vec(),
            tbs: tbs.as_ref().to_vec(),
            signature: cert.signature_value.data.to_vec(),
            signature_algorithm,
            serial_hex: crate::hex::encode(tbs.raw_serial()),
            subject_der: tbs.subject.as_raw().to_vec(),
            subject: tbs.subject.to_string(),
            issuer_der: tbs.issuer.as_raw().to_vec(),
            issuer: tbs.issuer.to_string(),
            not_before: tbs.validity.not_before.timestamp(),
            not_after: tbs.validity.not_after.timestamp(),
            spki_der: spki.raw.to_vec(),
            key,
            basic_constraints,
            key_usage,
            unknown_critical,
        })
    }

    /// Parses one or more PEM `CERTIFICATE` blocks (RFC 7468), in order; text outside the
    /// blocks is ignored, any other block (a private key pasted by mistake) is an error.
    ///
    /// # Errors
    /// [`CertError::Pem`], [`CertError::NoCertificate`], or [`CertError::InChain`] wrapping the
    /// reason a block's certificate was refused.
    pub fn from_pem_chain(pem: &str) -> Result<Vec<Certificate>, CertError> {
        use base64::Engine;
        let pem_err = |reason: String| CertError::Pem { reason };
        let mut certs = Vec::new();
        let mut lines = pem.lines().map(str::trim_end);
        while let Some(line) = lines.next() {
            let Some(label) = line
                .strip_prefix("-----BEGIN ")
                .and_then(|l| l.strip_suffix("-----"))
            else {
                continue;
            };
            if label != "CERTIFICATE" {
                return Err(pem_err(format!(
                    "expected CERTIFICATE blocks, found {label}"
                )));
            }
            let mut b64 = String::new();
            loop {
                match lines.next() {
                    Some("-----END CERTIFICATE-----") => break,
                    Some(l) if l.starts_with("-----") => {
                        return Err(pem_err(format!("unexpected {l:?} inside a block")));
                    }
                    Some(l) => b64.extend(l.chars().filter(|c| !c.is_ascii_whitespace())),
                    None => return Err(pem_err("unterminated CERTIFICATE block".into())),
                }
            }
            let der = base64::engine::general_purpose::STANDARD
                .decode(&b64)
                .map_err(|e| pem_err(format!("block {}: {e}", certs.len())))?;
            let cert = Certificate::from_der(&der).map_err(|e| CertError::InChain {
                index: certs.len(),
                source: Box::new(e),
            })?;
            certs.push(cert);
        }
        if certs.is_empty() {
            return Err(CertError::NoCertificate);
        }
        Ok(certs)
    }

    /// The certificate's DER encoding, exactly as received.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject name for display (e.g. `C=GB, O=Kestrel, CN=Kestrel Biometric Test Lab Signing`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The issuer name for display.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The DER encoding of the subject Name, as received (what name chaining compares).
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// The DER encoding of the issuer Name, as received.
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }

    /// Start of the validity period, in Unix seconds (inclusive).
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// End of the validity period, in Unix seconds (inclusive, RFC 5280 §4.1.2.5).
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// The serial number as lowercase hex of its DER content bytes.
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    /// The basicConstraints extension, if present.
    pub fn basic_constraints(&self) -> Option<BasicConstraints> {
        self.basic_constraints
    }

    /// Whether basicConstraints is present with CA=true.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|bc| bc.ca)
    }

    /// The pathLenConstraint of basicConstraints, if present.
    pub fn path_len(&self) -> Option<u32> {
        self.basic_constraints.and_then(|bc| bc.path_len)
    }

    /// The keyUsage extension, if present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.key_usage
    }

    /// Critical extensions this module does not process (dotted OIDs); the path check refuses them.
    pub fn unknown_critical_extensions(&self) -> &[String] {
        &self.unknown_critical
    }

    /// The name of the certified key's algorithm ("Ed25519", "ECDSA P-256", "RSA", ...).
    pub fn key_algorithm(&self) -> &str {
        match &self.key {
            PublicKey::Ed25519(_) => "Ed25519",
            PublicKey::Other(name) => name,
        }
    }

    /// The name of the algorithm the issuer signed this certificate with.
    pub fn signature_algorithm(&self) -> &str {
        match &self.signature_algorithm {
            SignatureAlgorithm::Ed25519 => "Ed25519",
            SignatureAlgorithm::Other(name) => name,
        }
    }

    /// The DER TBSCertificate bytes, exactly as received: what the issuer's signature covers.
    pub fn tbs(&self) -> &[u8] {
        &self.tbs
    }

    /// The signature bytes (the content of the signatureValue BIT STRING).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The DER SubjectPublicKeyInfo, as received.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The certified Ed25519 public key.
    ///
    /// # Errors
    /// [`CertError::UnsupportedKey`] for any other algorithm; [`CertError::InvalidKey`] if the
    /// bytes are not a point on the curve or are a small-order point.
    pub fn ed25519_key(&self) -> Result<VerifyingKey, CertError> {
        match &self.key {
            PublicKey::Ed25519(bytes) => {
                let key = VerifyingKey::from_bytes(bytes).map_err(|_| CertError::InvalidKey)?;
                if key.is_weak() {
                    return Err(CertError::InvalidKey);
                }
                Ok(key)
            }
            PublicKey::Other(name) => Err(CertError::UnsupportedKey {
                algorithm: name.clone(),
            }),
        }
    }

    /// SHA-256 of the DER encoding (the usual certificate fingerprint).
    pub fn fingerprint(&self) -> [u8; 32] {
        Sha256::digest(&self.der).into()
    }

    /// Whether the issuer and subject names are byte-identical (RFC 5280 "self-issued").
    pub fn is_self_issued(&self) -> bool {
        self.issuer_der == self.subject_der
    }

    /// Whether the signature is Ed25519 and verifies with `issuer`'s Ed25519 key (strictly).
    fn signed_by(&self, issuer: &VerifyingKey) -> bool {
        if self.signature_algorithm != SignatureAlgorithm::Ed25519 {
            return false;
        }
        let Ok(sig) = ed25519_dalek::Signature::from_slice(&self.signature) else {
            return false;
        };
        issuer.verify_strict(&self.tbs, &sig).is_ok()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Certificate) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("serial", &self.serial_hex)
            .field("sha256", &crate::hex::encode(&self.fingerprint()))
            .finish()
    }
}

fn malformed(reason: String) -> CertError {
    CertError::Malformed { reason }
}

/// A readable name for a public key algorithm (with its curve, for EC keys).
fn key_algorithm_name(alg: &AlgorithmIdentifier<'_>) -> String {
    if alg.algorithm == OID_PKCS1_RSAENCRYPTION {
        return "RSA".into();
    }
    if alg.algorithm == OID_SIG_ED448 {
        return "Ed448".into();
    }
    if alg.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        // For display only: the curve named by the parameters, when they are an OID.
        let curve = alg.parameters.as_ref().and_then(|p| p.as_oid().ok());
        return match curve {
            Some(c) if c == OID_EC_P256 => "ECDSA P-256".into(),
            Some(c) if c == OID_NIST_EC_P384 => "ECDSA P-384".into(),
            Some(c) if c == OID_NIST_EC_P521 => "ECDSA P-521".into(),
            Some(c) => format!("ECDSA (curve {c})"),
            None => "ECDSA".into(),
        };
    }
    oid_name(&alg.algorithm)
}

/// The registry's short name of an OID (e.g. "ecdsa-with-SHA256"), or its dotted form.
fn oid_name(oid: &Oid<'_>) -> String {
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map(str::to_owned)
        .unwrap_or_else(|_| oid.to_id_string())
}
