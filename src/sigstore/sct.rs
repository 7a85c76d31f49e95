//! The embedded SCT of a Fulcio certificate (RFC 6962 §3.3), for Rekor v2 bundles: the
//! `sigstore` crate checks it only on its Rekor v1 path, and its SCT functions are private.
//!
//! The certificate carries a `SignedCertificateTimestampList` (RFC 6962 §3.3) in extension
//! 1.3.6.1.4.1.11129.2.4.2. Each SCT signs (RFC 6962 §3.2) the precertificate's TBS, which is the
//! leaf's TBSCertificate with that extension removed, bound to the issuer's key by the SHA-256 of
//! its SubjectPublicKeyInfo. At least one SCT must verify with a CT log key of the trusted root
//! whose log id (SHA-256 of the key's DER) it names and whose validity contains its timestamp.

use sha2::{Digest as _, Sha256};

use super::crypto::{Hash, verify_message};
use super::trusted_root::LogKey;
use crate::x509::der::{Tlv, read};

/// DER of the OID 1.3.6.1.4.1.11129.2.4.2 (embedded SCT list).
const SCT_LIST_OID: [u8; 12] = [
    0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02,
];

const SEQUENCE: u8 = 0x30;
const OCTET_STRING: u8 = 0x04;
const EXTENSIONS_TAG: u8 = 0xa3;

/// Why the SCT check failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum SctError {
    /// The certificate has no embedded SCT list extension.
    NoExtension,
    /// The certificate or the SCT list cannot be parsed.
    Malformed(String),
    /// No SCT names a CT log of the trusted root valid at its timestamp.
    UnknownLog,
    /// An SCT names a trusted CT log but its signature does not verify.
    BadSignature,
}

impl std::fmt::Display for SctError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SctError::NoExtension => f.write_str("the certificate has no embedded SCT extension"),
            SctError::Malformed(e) => write!(f, "malformed embedded SCT list: {e}"),
            SctError::UnknownLog => f.write_str(
                "no embedded SCT is from a CT log of the trusted root valid at its timestamp",
            ),
            SctError::BadSignature => {
                f.write_str("the embedded SCT's signature does not verify over the precertificate")
            }
        }
    }
}

fn malformed(e: impl Into<String>) -> SctError {
    SctError::Malformed(e.into())
}

fn der_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn der_tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(&mut out, contents.len());
    out.extend_from_slice(contents);
    out
}

fn read_all(mut input: &[u8]) -> Result<Vec<Tlv<'_>>, SctError> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (t, rest) = read(input).map_err(malformed)?;
        out.push(t);
        input = rest;
    }
    Ok(out)
}

/// Splits a leaf certificate (DER) into the precertificate TBS (its TBSCertificate without the
/// SCT list extension, re-encoded in DER) and the TLS-encoded SCT list that extension holds.
pub(super) fn precert_tbs(cert_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SctError> {
    let (cert, rest) = read(cert_der).map_err(malformed)?;
    if cert.tag != SEQUENCE || !rest.is_empty() {
        return Err(malformed("not a DER certificate"));
    }
    let (tbs, _) = read(cert.contents).map_err(malformed)?;
    if tbs.tag != SEQUENCE {
        return Err(malformed("tbsCertificate is not a SEQUENCE"));
    }
    let mut fields = Vec::new();
    let mut list = None;
    for field in read_all(tbs.contents)? {
        if field.tag != EXTENSIONS_TAG {
            fields.extend_from_slice(field.whole);
            continue;
        }
        let (exts, rest) = read(field.contents).map_err(malformed)?;
        if exts.tag != SEQUENCE || !rest.is_empty() {
            return Err(malformed("extensions are not a SEQUENCE"));
        }
        let mut kept = Vec::new();
        for ext in read_all(exts.contents)? {
            if ext.tag != SEQUENCE {
                return Err(malformed("extension is not a SEQUENCE"));
            }
            if !ext.contents.starts_with(&SCT_LIST_OID) {
                kept.extend_from_slice(ext.whole);
                continue;
            }
            if list.is_some() {
                return Err(malformed("two SCT list extensions"));
            }
            // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }
            let parts = read_all(&ext.contents[SCT_LIST_OID.len()..])?;
            let value = match parts.as_slice() {
                [v] | [_, v] => v,
                _ => return Err(malformed("SCT extension shape")),
            };
            if value.tag != OCTET_STRING {
                return Err(malformed("SCT extension value is not an OCTET STRING"));
            }
            let (inner, rest) = read(value.contents).map_err(malformed)?;
            if inner.tag != OCTET_STRING || !rest.is_empty() {
                return Err(malformed("SCT list is not a DER OCTET STRING"));
            }
            list = Some(inner.contents.to_vec());
        }
        if !kept.is_empty() {
            fields.extend(der_tlv(EXTENSIONS_TAG, &der_tlv(SEQUENCE, &kept)));
        }
    }
    let list = list.ok_or(SctError::NoExtension)?;
    Ok((der_tlv(SEQUENCE, &fields), list))
}

/// One serialized SCT (RFC 6962 §3.2, version v1).
#[derive(Debug)]
struct Sct<'a> {
    log_id: &'a [u8],
    timestamp: u64,
    extensions: &'a [u8],
    hash: u8,
    signature: &'a [u8],
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], SctError> {
    if input.len() < n {
        return Err(malformed("truncated"));
    }
    let (a, b) = input.split_at(n);
    *input = b;
    Ok(a)
}

fn take_u16_prefixed<'a>(input: &mut &'a [u8]) -> Result<&'a [u8], SctError> {
    let n = take(input, 2)?;
    take(input, usize::from(u16::from_be_bytes([n[0], n[1]])))
}

fn parse_list(list: &[u8]) -> Result<Vec<Sct<'_>>, SctError> {
    let mut input = list;
    let mut body = take_u16_prefixed(&mut input)?;
    if !input.is_empty() {
        return Err(malformed("bytes after the list"));
    }
    let mut out = Vec::new();
    while !body.is_empty() {
        let mut s = take_u16_prefixed(&mut body)?;
        let version = take(&mut s, 1)?[0];
        if version != 0 {
            return Err(malformed(format!("SCT version {version}")));
        }
        let log_id = take(&mut s, 32)?;
        let ts = take(&mut s, 8)?;
        let timestamp = u64::from_be_bytes(ts.try_into().map_err(|_| malformed("timestamp"))?);
        let extensions = take_u16_prefixed(&mut s)?;
        let algs = take(&mut s, 2)?;
        let signature = take_u16_prefixed(&mut s)?;
        if !s.is_empty() {
            return Err(malformed("bytes after an SCT"));
        }
        out.push(Sct {
            log_id,
            timestamp,
            extensions,
            hash: algs[0],
            signature,
        });
    }
    if out.is_empty() {
        return Err(malformed("empty SCT list"));
    }
    Ok(out)
}

fn signed_data(sct: &Sct<'_>, issuer_key_hash: &[u8; 32], tbs: &[u8]) -> Result<Vec<u8>, SctError> {
    if tbs.len() >= 1 << 24 || sct.extensions.len() > usize::from(u16::MAX) {
        return Err(malformed("precertificate too large"));
    }
    let mut d = Vec::with_capacity(tbs.len() + 64);
    d.push(0); // version v1
    d.push(0); // signature_type certificate_timestamp
    d.extend_from_slice(&sct.timestamp.to_be_bytes());
    d.extend_from_slice(&1u16.to_be_bytes()); // entry_type precert_entry
    d.extend_from_slice(issuer_key_hash);
    d.extend_from_slice(&(tbs.len() as u32).to_be_bytes()[1..]);
    d.extend_from_slice(tbs);
    d.extend_from_slice(&(sct.extensions.len() as u16).to_be_bytes());
    d.extend_from_slice(sct.extensions);
    Ok(d)
}

/// Checks the embedded SCTs of `leaf_der`, issued by the key `issuer_spki_der`, against the CT
/// logs `ctlogs`; returns what the first valid SCT established.
pub(super) fn check_embedded_sct(
    leaf_der: &[u8],
    issuer_spki_der: &[u8],
    ctlogs: &[LogKey],
) -> Result<String, SctError> {
    let (tbs, list) = precert_tbs(leaf_der)?;
    let scts = parse_list(&list)?;
    let issuer_key_hash: [u8; 32] = Sha256::digest(issuer_spki_der).into();
    let mut err = SctError::UnknownLog;
    for sct in &scts {
        let Ok(secs) = i64::try_from(sct.timestamp / 1000) else {
            continue;
        };
        let Some(log) = ctlogs.iter().find(|l| {
            Sha256::digest(&l.public_key).as_slice() == sct.log_id && l.valid_for.contains(secs)
        }) else {
            continue;
        };
        let hash = match sct.hash {
            4 => Hash::Sha256,
            5 => Hash::Sha384,
            6 => Hash::Sha512,
            h => {
                err = malformed(format!("unsupported SCT hash algorithm {h}"));
                continue;
            }
        };
        let data = signed_data(sct, &issuer_key_hash, &tbs)?;
        if verify_message(&log.public_key, hash, &data, sct.signature) {
            return Ok(format!(
                "embedded SCT from CT log {} at {secs}",
                log.base_url
            ));
        }
        err = SctError::BadSignature;
    }
    Err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigstore::trusted_root::TrustedRoot;
    use x509_parser::prelude::*;

    const CASE: &str = "tests/vectors/sigstore/cases/rekor2-timestamp-without-embedded-cert";

    /// The leaf, the issuer's SPKI, and the trusted root of a Rekor v2 vector.
    fn vector() -> (Vec<u8>, Vec<u8>, TrustedRoot) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(CASE);
        let bundle: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap())
                .unwrap();
        let leaf = super::super::bundle::b64(
            bundle["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
            "certificate",
        )
        .unwrap();
        let root =
            TrustedRoot::from_json(&std::fs::read(dir.join("trusted_root.json")).unwrap()).unwrap();
        let (_, leaf_cert) = X509Certificate::from_der(&leaf).unwrap();
        let issuer = root
            .certificate_authorities
            .iter()
            .map(|a| X509Certificate::from_der(&a.chain[0]).unwrap().1)
            .find(|c| c.subject().as_raw() == leaf_cert.issuer().as_raw())
            .unwrap();
        let spki = issuer.public_key().raw.to_vec();
        (leaf, spki, root)
    }

    /// Offset of `needle` in `hay`.
    fn find(hay: &[u8], needle: &[u8]) -> usize {
        hay.windows(needle.len()).position(|w| w == needle).unwrap()
    }

    #[test]
    fn reconstruction_removes_only_the_sct_extension() {
        let (leaf, spki, root) = vector();
        let (tbs, list) = precert_tbs(&leaf).unwrap();
        let (_, cert) = X509Certificate::from_der(&leaf).unwrap();
        let orig = cert.tbs_certificate.as_ref();
        // The TBS shrinks by exactly the extension and the length bytes it needed.
        assert!(tbs.len() < orig.len() && orig.len() - tbs.len() > list.len());
        assert!(tbs.windows(SCT_LIST_OID.len()).all(|w| w != SCT_LIST_OID));
        assert!(read(&tbs).unwrap().1.is_empty());
        let (_, parsed) = TbsCertificate::from_der(&tbs).unwrap();
        assert_eq!(
            parsed.extensions().len() + 1,
            cert.tbs_certificate.extensions().len()
        );
        // The SCT verifies over the reconstruction...
        check_embedded_sct(&leaf, &spki, &root.ctlogs).unwrap();
        // ...and not over another TBS: a byte flipped outside the SCT extension.
        let mut other = leaf.clone();
        let at = find(&other, cert.tbs_certificate.serial.to_bytes_be().as_slice());
        other[at] ^= 1;
        assert_eq!(
            check_embedded_sct(&other, &spki, &root.ctlogs),
            Err(SctError::BadSignature)
        );
        // ...nor with another issuer key.
        let other_key = &root.ctlogs[0].public_key;
        assert_eq!(
            check_embedded_sct(&leaf, other_key, &root.ctlogs),
            Err(SctError::BadSignature)
        );
    }

    #[test]
    fn flipped_sct_signature_is_rejected() {
        let (leaf, spki, root) = vector();
        let (_, list) = precert_tbs(&leaf).unwrap();
        let mut bad = leaf.clone();
        let end = find(&bad, &list) + list.len();
        bad[end - 1] ^= 1;
        assert_eq!(
            check_embedded_sct(&bad, &spki, &root.ctlogs),
            Err(SctError::BadSignature)
        );
    }

    #[test]
    fn unknown_log_missing_and_malformed_are_rejected() {
        let (leaf, spki, root) = vector();
        assert_eq!(
            check_embedded_sct(&leaf, &spki, &[]),
            Err(SctError::UnknownLog)
        );
        // A certificate without the extension: the CA's own.
        let ca = &root.certificate_authorities[0].chain[0];
        assert_eq!(
            check_embedded_sct(ca, &spki, &root.ctlogs),
            Err(SctError::NoExtension)
        );
        // A list whose length runs past its end.
        let (_, list) = precert_tbs(&leaf).unwrap();
        let mut bad = leaf.clone();
        let at = find(&bad, &list);
        bad[at + 1] ^= 0x01;
        assert!(matches!(
            check_embedded_sct(&bad, &spki, &root.ctlogs),
            Err(SctError::Malformed(_))
        ));
        assert!(matches!(parse_list(&[0, 0]), Err(SctError::Malformed(_))));
        assert!(matches!(
            parse_list(&[0, 3, 0, 1, 1]),
            Err(SctError::Malformed(_))
        ));
    }
}
