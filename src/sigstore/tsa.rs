//! RFC 3161 timestamps (CMS SignedData, RFC 5652, over a TSTInfo) from the trusted timestamp
//! authorities. Only the fields the check needs are read; the signer is always a trusted
//! authority's pinned leaf certificate, so embedded certificates are not needed and not used.

use super::certs::check_path;
use super::crypto::{Hash, verify_ecdsa_prehash};
use super::trusted_root::TrustedRoot;
use super::{SigstoreError, Step};
use crate::x509::der::{Tlv, read};

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
const GENERALIZED_TIME: u8 = 0x18;
const CTX0: u8 = 0xa0;
/// id-signedData (RFC 5652 §5.1).
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// id-ct-TSTInfo (RFC 3161 §2.4.2).
const OID_TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
/// id-messageDigest (RFC 5652 §11.2).
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
/// id-contentType (RFC 5652 §11.1).
const OID_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];

fn bad(msg: impl Into<String>) -> SigstoreError {
    SigstoreError::InvalidBundle(format!("RFC 3161 timestamp: {}", msg.into()))
}

fn take<'a>(input: &mut &'a [u8], tag: u8, what: &str) -> Result<Tlv<'a>, SigstoreError> {
    let (tlv, rest) = read(input).map_err(|e| bad(format!("{what}: {e}")))?;
    if tlv.tag != tag {
        return Err(bad(format!("{what}: unexpected tag {:#04x}", tlv.tag)));
    }
    *input = rest;
    Ok(tlv)
}

fn oid_string(contents: &[u8]) -> String {
    der_oid(contents).unwrap_or_default()
}

fn der_oid(c: &[u8]) -> Option<String> {
    let (&first, rest) = c.split_first()?;
    let mut parts = vec![u64::from(first / 40).min(2), 0];
    parts[1] = u64::from(first) - parts[0] * 40;
    let mut acc: u64 = 0;
    for &b in rest {
        acc = acc.checked_mul(128)? | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            parts.push(acc);
            acc = 0;
        }
    }
    Some(
        parts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// Algorithm OID of an AlgorithmIdentifier SEQUENCE's contents.
fn alg_oid(contents: &[u8]) -> Result<String, SigstoreError> {
    let mut c = contents;
    Ok(oid_string(take(&mut c, OID, "algorithm")?.contents))
}

/// A parsed timestamp token: what the TSA signed and when.
struct Token<'a> {
    tst_info: &'a [u8],
    digest_alg: Hash,
    sig_hash: Hash,
    signed_attrs: &'a [u8],
    message_digest: &'a [u8],
    signature: &'a [u8],
    imprint_alg: Hash,
    imprint: &'a [u8],
    gen_time: i64,
}

fn parse_token(der: &[u8]) -> Result<Token<'_>, SigstoreError> {
    let mut input = der;
    let outer = take(&mut input, SEQUENCE, "outer")?;
    let mut c = outer.contents;
    // A TimeStampResp { status, token } or a bare ContentInfo.
    let (first, _) = read(c).map_err(bad)?;
    if first.tag == SEQUENCE {
        take(&mut c, SEQUENCE, "status")?;
        let ci = take(&mut c, SEQUENCE, "token")?;
        c = ci.contents;
    }
    let oid = take(&mut c, OID, "content type")?;
    if oid.contents != OID_SIGNED_DATA {
        return Err(bad("not CMS SignedData"));
    }
    let mut sd = take(&mut c, CTX0, "content")?.contents;
    let mut sd = take(&mut sd, SEQUENCE, "SignedData")?.contents;
    take(&mut sd, 0x02, "version")?;
    take(&mut sd, SET, "digestAlgorithms")?;
    let mut eci = take(&mut sd, SEQUENCE, "encapContentInfo")?.contents;
    if take(&mut eci, OID, "eContentType")?.contents != OID_TST_INFO {
        return Err(bad("content is not a TSTInfo"));
    }
    let mut ec = take(&mut eci, CTX0, "eContent")?.contents;
    let tst_info = take(&mut ec, OCTET_STRING, "eContent")?.contents;
    // Optional certificates [0] and crls [1], then signerInfos.
    let (mut next, _) = read(sd).map_err(bad)?;
    while next.tag != SET {
        sd = &sd[next.whole.len()..];
        next = read(sd).map_err(bad)?.0;
    }
    let mut sis = take(&mut sd, SET, "signerInfos")?.contents;
    let mut si = take(&mut sis, SEQUENCE, "signerInfo")?.contents;
    if !sis.is_empty() {
        return Err(bad("more than one signer"));
    }
    take(&mut si, 0x02, "signerInfo version")?;
    // The signer identifier is not used: the signer is found by its signature.
    let (_sid, rest) = read(si).map_err(bad)?;
    si = rest;
    let digest_alg = Hash::from_digest_oid(&alg_oid(
        take(&mut si, SEQUENCE, "digestAlgorithm")?.contents,
    )?)
    .ok_or_else(|| bad("unsupported digest algorithm"))?;
    let attrs = take(&mut si, CTX0, "signedAttrs")?;
    let sig_alg = alg_oid(take(&mut si, SEQUENCE, "signatureAlgorithm")?.contents)?;
    let sig_hash = Hash::from_ecdsa_sig_oid(&sig_alg).unwrap_or(digest_alg);
    let signature = take(&mut si, OCTET_STRING, "signature")?.contents;
    let mut message_digest = None;
    let mut content_type_ok = false;
    let mut a = attrs.contents;
    while !a.is_empty() {
        let mut attr = take(&mut a, SEQUENCE, "attribute")?.contents;
        let oid = take(&mut attr, OID, "attribute type")?.contents;
        let mut vals = take(&mut attr, SET, "attribute values")?.contents;
        if oid == OID_MESSAGE_DIGEST {
            message_digest = Some(take(&mut vals, OCTET_STRING, "messageDigest")?.contents);
        } else if oid == OID_CONTENT_TYPE {
            content_type_ok = take(&mut vals, OID, "contentType")?.contents == OID_TST_INFO;
        }
    }
    if !content_type_ok {
        return Err(bad("signed contentType attribute is not TSTInfo"));
    }
    let message_digest = message_digest.ok_or_else(|| bad("no messageDigest attribute"))?;
    // TSTInfo { version, policy, messageImprint, serialNumber, genTime, ... } (RFC 3161 §2.4.2).
    let mut t = tst_info;
    let mut ti = take(&mut t, SEQUENCE, "TSTInfo")?.contents;
    take(&mut ti, 0x02, "TSTInfo version")?;
    take(&mut ti, OID, "policy")?;
    let mut mi = take(&mut ti, SEQUENCE, "messageImprint")?.contents;
    let imprint_alg = Hash::from_digest_oid(&alg_oid(
        take(&mut mi, SEQUENCE, "hashAlgorithm")?.contents,
    )?)
    .ok_or_else(|| bad("unsupported imprint algorithm"))?;
    let imprint = take(&mut mi, OCTET_STRING, "hashedMessage")?.contents;
    take(&mut ti, 0x02, "serialNumber")?;
    let gt = take(&mut ti, GENERALIZED_TIME, "genTime")?.contents;
    Ok(Token {
        tst_info,
        digest_alg,
        sig_hash,
        signed_attrs: attrs.whole,
        message_digest,
        signature,
        imprint_alg,
        imprint,
        gen_time: generalized_time(gt)?,
    })
}

/// `YYYYMMDDHHMMSS[.fff]Z` to Unix seconds (fraction dropped).
fn generalized_time(b: &[u8]) -> Result<i64, SigstoreError> {
    let s = std::str::from_utf8(b).map_err(|_| bad("genTime"))?;
    let core = s
        .strip_suffix('Z')
        .ok_or_else(|| bad("genTime is not UTC"))?;
    let core = core.split('.').next().unwrap_or(core);
    // ASCII digits only, so the byte slices below fall on character boundaries.
    if core.len() != 14 || !core.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("genTime"));
    }
    let r = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &core[0..4],
        &core[4..6],
        &core[6..8],
        &core[8..10],
        &core[10..12],
        &core[12..14]
    );
    crate::time::parse_rfc3339(&r).map_err(|_| bad("genTime"))
}

/// Verifies the bundle's timestamps over `signature`; returns the earliest verified time.
/// Every timestamp must verify (a bundle carrying a bad one is rejected).
pub(super) fn check_timestamps(
    tokens: &[Vec<u8>],
    signature: &[u8],
    root: &TrustedRoot,
) -> Result<i64, SigstoreError> {
    let step = Step::Timestamp;
    let fail = |r: String| SigstoreError::failed(step, r);
    let mut earliest: Option<i64> = None;
    for der in tokens {
        let tok = parse_token(der)?;
        if tok.imprint != tok.imprint_alg.digest(signature).as_slice() {
            return Err(fail("the timestamp is over a different signature".into()));
        }
        if tok.message_digest != tok.digest_alg.digest(tok.tst_info).as_slice() {
            return Err(fail(
                "the timestamp's messageDigest does not match its TSTInfo".into(),
            ));
        }
        // The signature covers the DER of the signed attributes as a SET (RFC 5652 §5.4).
        let mut signed = tok.signed_attrs.to_vec();
        signed[0] = SET;
        let digest = tok.sig_hash.digest(&signed);
        let mut verified = false;
        for (i, tsa) in root.timestamp_authorities.iter().enumerate() {
            let leaf = &tsa.chain[0];
            let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf) else {
                continue;
            };
            if !verify_ecdsa_prehash(cert.public_key().raw, &digest, tok.signature) {
                continue;
            }
            check_path(
                leaf,
                &root.timestamp_authorities[i..=i],
                tok.gen_time,
                step,
                false,
            )?;
            verified = true;
            break;
        }
        if !verified {
            return Err(fail(
                "the timestamp is not signed by a trusted timestamp authority".into(),
            ));
        }
        earliest = Some(earliest.map_or(tok.gen_time, |e| e.min(tok.gen_time)));
    }
    earliest.ok_or_else(|| fail("no RFC 3161 timestamp; a Rekor v2 entry needs one".into()))
}
