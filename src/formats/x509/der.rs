//! A strict check of the bytes outside the signed TBSCertificate.
//!
//! x509-parser is lenient about tag classes and numbers (it takes a context-specific tag where a
//! SEQUENCE belongs, for example). Inside the TBS that is harmless, since any change breaks the
//! signature; outside it, leniency would let anyone re-encode a certificate without invalidating
//! it, giving one certificate many fingerprints. So the envelope is re-read here with exact DER
//! rules (X.690 §10): `SEQUENCE { tbs, SEQUENCE algorithm, BIT STRING signature }`, with the
//! algorithm byte-identical to the TBS's own signature field (RFC 5280 §4.1.1.2).

/// DER encoding of the Ed25519 AlgorithmIdentifier, parameters absent (RFC 8410 §3).
pub(super) const ED25519_ALGORITHM: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4); the 32-byte key follows.
pub(crate) const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const VERSION_TAG: u8 = 0xa0;

/// One DER element: its tag, its whole encoding, its contents.
pub(crate) struct Tlv<'a> {
    /// The tag byte.
    pub(crate) tag: u8,
    /// The whole element: tag, length and contents.
    pub(crate) whole: &'a [u8],
    /// The contents.
    pub(crate) contents: &'a [u8],
}

/// Reads one element with a low tag number and a definite, minimally encoded length.
pub(crate) fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), String> {
    let (&tag, rest) = input.split_first().ok_or("unexpected end of data")?;
    if tag & 0x1f == 0x1f {
        return Err(format!("high tag number form {tag:#04x}"));
    }
    let (&first, rest) = rest.split_first().ok_or("missing length")?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("indefinite or oversized length".into());
        }
        let (bytes, rest) = rest.split_at(n);
        if bytes[0] == 0 {
            return Err("length with leading zero".into());
        }
        let len = bytes.iter().fold(0usize, |a, &b| a << 8 | usize::from(b));
        if len < 0x80 {
            return Err("long-form length below 128".into());
        }
        (len, rest)
    };
    if rest.len() < len {
        return Err("length runs past the end of data".into());
    }
    let header = input.len() - rest.len();
    let (contents, rest) = rest.split_at(len);
    let whole = &input[..header + len];
    Ok((
        Tlv {
            tag,
            whole,
            contents,
        },
        rest,
    ))
}

fn expect<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<(Tlv<'a>, &'a [u8]), String> {
    let (tlv, rest) = read(input).map_err(|e| format!("{what}: {e}"))?;
    if tlv.tag != tag {
        return Err(format!("{what}: tag {:#04x}, expected {tag:#04x}", tlv.tag));
    }
    Ok((tlv, rest))
}

/// Checks that `der` is exactly `SEQUENCE { tbs, algorithm, BIT STRING (0 unused bits) signature }`
/// in DER, that `algorithm` repeats the TBS signature field byte for byte, and (for Ed25519) that
/// it is the RFC 8410 encoding. `tbs` and `signature` are what x509-parser found.
pub(super) fn check_envelope(
    der: &[u8],
    tbs: &[u8],
    signature: &[u8],
    ed25519: bool,
) -> Result<(), String> {
    let (cert, rest) = expect(der, SEQUENCE, "Certificate")?;
    if !rest.is_empty() {
        return Err("trailing bytes".into());
    }
    let (tbs_tlv, rest) = expect(cert.contents, SEQUENCE, "tbsCertificate")?;
    let (alg, rest) = expect(rest, SEQUENCE, "signatureAlgorithm")?;
    let (sig, rest) = expect(rest, BIT_STRING, "signatureValue")?;
    if !rest.is_empty() {
        return Err("extra fields after signatureValue".into());
    }
    if tbs_tlv.whole != tbs || sig.contents.split_first() != Some((&0, signature)) {
        return Err("envelope does not match the parsed certificate".into());
    }
    // TBSCertificate: [0] version (optional), serialNumber, signature AlgorithmIdentifier, ...
    let mut fields = tbs_tlv.contents;
    let (first, after) = read(fields)?;
    if first.tag == VERSION_TAG {
        fields = after;
    }
    let (_, fields) = expect(fields, INTEGER, "serialNumber")?;
    let (inner_alg, _) = expect(fields, SEQUENCE, "signature")?;
    if alg.whole != inner_alg.whole {
        return Err("signatureAlgorithm differs from the TBS signature field".into());
    }
    if ed25519 && alg.whole != ED25519_ALGORITHM {
        return Err("Ed25519 AlgorithmIdentifier is not the RFC 8410 encoding".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_must_be_minimal_and_definite() {
        assert!(read(&[0x04, 0x01, 0xaa]).is_ok());
        assert!(read(&[0x04, 0x81, 0x01, 0xaa]).is_err()); // long form below 128
        assert!(read(&[0x04, 0x82, 0x00, 0x01, 0xaa]).is_err()); // leading zero
        assert!(read(&[0x30, 0x80, 0x00, 0x00]).is_err()); // indefinite
        assert!(read(&[0x1f, 0x22, 0x00]).is_err()); // high tag number
        assert!(read(&[0x04, 0x02, 0xaa]).is_err()); // runs past the end
        assert!(read(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
