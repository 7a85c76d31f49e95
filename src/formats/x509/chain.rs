//! Certificate path validation for an Ed25519-only PKI: a subset of RFC 5280 §6.1, done here
//! because x509-parser does none. The rules are listed on [`verify_chain`].

use ed25519_dalek::VerifyingKey;

use super::{CertError, Certificate, SignatureAlgorithm};
use crate::time::format_rfc3339;

/// The longest certificate path accepted, counting the leaf and the trusted root.
pub const MAX_PATH_LEN: usize = 8;

/// Why a certificate chain does not lead to a trusted root. `position` counts along the path
/// from the leaf (0); a trusted root the chain left out sits at position `chain.len()`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// No certificate was given.
    #[error("certificate chain is empty")]
    Empty,
    /// The path has more certificates than [`MAX_PATH_LEN`].
    #[error("certificate path has {len} certificates, more than the {MAX_PATH_LEN} allowed")]
    TooLong {
        /// Certificates in the path, counting the trusted root.
        len: usize,
    },
    /// The certificate is signed with an algorithm other than Ed25519.
    #[error(
        "certificate {position} ({subject}): signed with {algorithm}, but only Ed25519 is accepted"
    )]
    UnsupportedSignatureAlgorithm {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
        /// The signature algorithm's name.
        algorithm: String,
    },
    /// The certified key is not Ed25519 (lab keys and CA keys must be).
    #[error(
        "certificate {position} ({subject}): key is {algorithm}, but lab and CA keys must be Ed25519 for now"
    )]
    UnsupportedKey {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
        /// The key's algorithm.
        algorithm: String,
    },
    /// The certified Ed25519 key is not a valid point or is a small-order point.
    #[error("certificate {position} ({subject}): invalid or weak Ed25519 public key")]
    InvalidKey {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
    },
    /// A critical extension that this verifier does not process (RFC 5280 §4.2: must reject).
    #[error("certificate {position} ({subject}): unknown critical extension {oid}")]
    UnknownCriticalExtension {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
        /// The extension's dotted OID.
        oid: String,
    },
    /// The check time is before the validity period.
    #[error("certificate {position} ({subject}): not valid before {}, checked at {}", format_rfc3339(*.not_before), format_rfc3339(*.at))]
    NotYetValid {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
        /// Start of validity (Unix seconds).
        not_before: i64,
        /// The check time (Unix seconds).
        at: i64,
    },
    /// The check time is after the validity period.
    #[error("certificate {position} ({subject}): expired at {}, checked at {}", format_rfc3339(*.not_after), format_rfc3339(*.at))]
    Expired {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
        /// End of validity (Unix seconds).
        not_after: i64,
        /// The check time (Unix seconds).
        at: i64,
    },
    /// The leaf is a CA certificate; statements must be signed with an end-entity key.
    #[error(
        "certificate {position} ({subject}): is a CA certificate, but a signer's certificate must not be"
    )]
    LeafIsCa {
        /// Position in the path (0).
        position: usize,
        /// Its subject.
        subject: String,
    },
    /// The leaf has keyUsage without digitalSignature, so its key may not sign statements.
    #[error("certificate {position} ({subject}): keyUsage does not allow digitalSignature")]
    LeafKeyUsage {
        /// Position in the path (0).
        position: usize,
        /// Its subject.
        subject: String,
    },
    /// An issuing certificate lacks basicConstraints with CA=true.
    #[error(
        "certificate {position} ({subject}): issues a certificate but is not a CA (no basicConstraints CA=true)"
    )]
    NotCa {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
    },
    /// An issuing certificate has keyUsage without keyCertSign.
    #[error("certificate {position} ({subject}): keyUsage does not allow keyCertSign")]
    NoCertSign {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
    },
    /// More intermediate certificates follow an issuer than its pathLenConstraint allows.
    #[error(
        "certificate {position} ({subject}): pathLenConstraint {path_len}, but {intermediates} intermediate certificates follow it"
    )]
    PathLenExceeded {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
        /// Its pathLenConstraint.
        path_len: u32,
        /// Non-self-issued intermediate certificates between it and the leaf.
        intermediates: usize,
    },
    /// A certificate's issuer name is not the next certificate's subject name (as DER).
    #[error(
        "certificate {position} ({subject}): issuer {issuer} is not the subject of the next certificate, {next_subject}"
    )]
    NameMismatch {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
        /// Its issuer name.
        issuer: String,
        /// The next certificate's subject name.
        next_subject: String,
    },
    /// A certificate's signature does not verify with its issuer's key.
    #[error(
        "certificate {position} ({subject}): signature does not verify with the key of its issuer, {issuer}"
    )]
    BadSignature {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
        /// The issuer whose key was used.
        issuer: String,
    },
    /// The chain ends in a self-signed certificate that is not one of the trusted roots.
    #[error("certificate {position} ({subject}): self-signed but not one of the trusted roots")]
    UntrustedRoot {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
    },
    /// No trusted root carries the name of the last certificate's issuer.
    #[error("certificate {position} ({subject}): issuer {issuer} is not one of the trusted roots")]
    UntrustedIssuer {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
        /// Its issuer name.
        issuer: String,
    },
    /// A trusted root's issuer is not its subject, or its self-signature does not verify.
    #[error("certificate {position} ({subject}): trusted root is not validly self-signed")]
    RootNotSelfSigned {
        /// Position in the path.
        position: usize,
        /// Its subject.
        subject: String,
    },
}

/// Verifies `chain[0]` (the leaf) up through `chain[1..]` to one of `roots`, at time `at`
/// (Unix seconds), and returns the root the path ends in.
///
/// The chain may end with the root itself or leave it out. The root must be one of `roots`, by
/// identical DER or by identical subject name and public key; the copy in `roots` is the one
/// checked and returned. If several roots carry the issuer's name, each is tried in order.
///
/// Rules, for every certificate in the path (leaf, intermediates, root):
/// - signed with Ed25519 (OID 1.3.101.112), its key Ed25519 (and not a weak point), its
///   signature checked with `verify_strict` over the TBS bytes received;
/// - `not_before <= at <= not_after` (both ends inclusive, RFC 5280 §4.1.2.5);
/// - no critical extension other than basicConstraints, keyUsage and subjectAltName;
/// - its issuer name equals the next certificate's subject name, byte for byte in DER.
///
/// The leaf must not be a CA (basicConstraints CA=true), and if it has keyUsage, that must
/// include digitalSignature: its key signs statements, not certificates. Every issuer (each
/// intermediate and the root) must have basicConstraints CA=true; if it has keyUsage, that must
/// include keyCertSign; if it has a pathLenConstraint, no more non-self-issued intermediates may
/// follow it. The root must be self-issued and its self-signature must verify. At most
/// [`MAX_PATH_LEN`] certificates, root included.
///
/// # Errors
/// A [`ChainError`] naming the first rule broken and the certificate that broke it.
pub fn verify_chain<'r>(
    chain: &[Certificate],
    roots: &'r [Certificate],
    at: i64,
) -> Result<&'r Certificate, ChainError> {
    let Some((last_pos, last)) = chain.iter().enumerate().next_back() else {
        return Err(ChainError::Empty);
    };
    if chain.len() > MAX_PATH_LEN {
        return Err(ChainError::TooLong { len: chain.len() });
    }
    // Either the chain already ends in a trusted root, or its last certificate's issuer must be one.
    let (below, candidates): (&[Certificate], Vec<&'r Certificate>) =
        match roots.iter().find(|r| same_anchor(r, last)) {
            Some(root) => (&chain[..last_pos], vec![root]),
            None => {
                if is_self_signed(last) {
                    return Err(ChainError::UntrustedRoot {
                        position: last_pos,
                        subject: last.subject.clone(),
                    });
                }
                let named: Vec<&'r Certificate> = roots
                    .iter()
                    .filter(|r| r.subject_der == last.issuer_der)
                    .collect();
                if named.is_empty() {
                    return Err(ChainError::UntrustedIssuer {
                        position: last_pos,
                        subject: last.subject.clone(),
                        issuer: last.issuer.clone(),
                    });
                }
                if chain.len() + 1 > MAX_PATH_LEN {
                    return Err(ChainError::TooLong {
                        len: chain.len() + 1,
                    });
                }
                (chain, named)
            }
        };
    let mut first_error = None;
    for root in candidates {
        let path: Vec<&Certificate> = below.iter().chain(std::iter::once(root)).collect();
        match check_path(&path, at) {
            Ok(()) => return Ok(root),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    // `candidates` is never empty (checked above, or the one root found), so an error was kept.
    Err(first_error.unwrap_or(ChainError::Empty))
}

/// Whether `cert` is the trust anchor `root`: identical DER, or identical subject and key.
fn same_anchor(root: &Certificate, cert: &Certificate) -> bool {
    root.der == cert.der || (root.subject_der == cert.subject_der && root.spki_der == cert.spki_der)
}

/// Whether `cert` is self-issued and its signature verifies with its own Ed25519 key.
fn is_self_signed(cert: &Certificate) -> bool {
    cert.is_self_issued() && cert.ed25519_key().is_ok_and(|key| cert.signed_by(&key))
}

/// Checks a complete path, leaf first and trusted root last.
fn check_path(path: &[&Certificate], at: i64) -> Result<(), ChainError> {
    let root_pos = path.len() - 1;
    for (position, cert) in path.iter().enumerate() {
        let subject = || cert.subject.clone();
        if let SignatureAlgorithm::Other(algorithm) = &cert.signature_algorithm {
            return Err(ChainError::UnsupportedSignatureAlgorithm {
                position,
                subject: subject(),
                algorithm: algorithm.clone(),
            });
        }
        let key = cert.ed25519_key().map_err(|e| match e {
            CertError::UnsupportedKey { algorithm } => ChainError::UnsupportedKey {
                position,
                subject: subject(),
                algorithm,
            },
            _ => ChainError::InvalidKey {
                position,
                subject: subject(),
            },
        })?;
        if let Some(oid) = cert.unknown_critical.first() {
            return Err(ChainError::UnknownCriticalExtension {
                position,
                subject: subject(),
                oid: oid.clone(),
            });
        }
        if at < cert.not_before {
            return Err(ChainError::NotYetValid {
                position,
                subject: subject(),
                not_before: cert.not_before,
                at,
            });
        }
        if at > cert.not_after {
            return Err(ChainError::Expired {
                position,
                subject: subject(),
                not_after: cert.not_after,
                at,
            });
        }
        if position == 0 {
            check_leaf(cert)?;
        } else {
            check_issuer(path, position)?;
            check_issued(path[position - 1], position - 1, cert, &key)?;
        }
        if position == root_pos && !(cert.is_self_issued() && cert.signed_by(&key)) {
            return Err(ChainError::RootNotSelfSigned {
                position,
                subject: subject(),
            });
        }
    }
    Ok(())
}

/// The leaf signs statements: it must not be a CA, and keyUsage, if present, must allow that.
fn check_leaf(cert: &Certificate) -> Result<(), ChainError> {
    if cert.is_ca() {
        return Err(ChainError::LeafIsCa {
            position: 0,
            subject: cert.subject.clone(),
        });
    }
    if cert.key_usage.is_some_and(|ku| !ku.digital_signature) {
        return Err(ChainError::LeafKeyUsage {
            position: 0,
            subject: cert.subject.clone(),
        });
    }
    Ok(())
}

/// An issuer must be a CA allowed to sign certificates, within its path length constraint.
fn check_issuer(path: &[&Certificate], position: usize) -> Result<(), ChainError> {
    let cert = path[position];
    let subject = || cert.subject.clone();
    if !cert.is_ca() {
        return Err(ChainError::NotCa {
            position,
            subject: subject(),
        });
    }
    if cert.key_usage.is_some_and(|ku| !ku.key_cert_sign) {
        return Err(ChainError::NoCertSign {
            position,
            subject: subject(),
        });
    }
    if let Some(path_len) = cert.path_len() {
        // RFC 5280 §4.2.1.9: self-issued intermediates do not count, nor does the leaf.
        let intermediates = path[1..position]
            .iter()
            .filter(|c| !c.is_self_issued())
            .count();
        if intermediates as u64 > u64::from(path_len) {
            return Err(ChainError::PathLenExceeded {
                position,
                subject: subject(),
                path_len,
                intermediates,
            });
        }
    }
    Ok(())
}

/// `cert` (at `position`) names `issuer` as its issuer and carries its valid signature.
fn check_issued(
    cert: &Certificate,
    position: usize,
    issuer: &Certificate,
    issuer_key: &VerifyingKey,
) -> Result<(), ChainError> {
    if cert.issuer_der != issuer.subject_der {
        return Err(ChainError::NameMismatch {
            position,
            subject: cert.subject.clone(),
            issuer: cert.issuer.clone(),
            next_subject: issuer.subject.clone(),
        });
    }
    if !cert.signed_by(issuer_key) {
        return Err(ChainError::BadSignature {
            position,
            subject: cert.subject.clone(),
            issuer: issuer.subject.clone(),
        });
    }
    Ok(())
}
