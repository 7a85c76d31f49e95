//! Signature checks for Sigstore material: ECDSA over P-256/P-384 (FIPS 186-5, signatures in
//! ASN.1 DER, RFC 5480), Ed25519 (RFC 8032) and RSA PKCS#1 v1.5 / PSS keys that managed-key
//! bundles may use.
//!
//! OpenSSL (through the `openssl` crate) does the arithmetic: the `sigstore` crate already links
//! it as its crypto backend, so this adds no dependency. The `sigstore` crate's own key type
//! hashes with a hash tied to the curve, which cannot check a P-384 timestamp signature made
//! over SHA-256, nor a signature over a digest without the artifact.

use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;

/// A hash function named by an OID or a protobuf-specs name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub(super) fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        match self {
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    fn md(self) -> MessageDigest {
        match self {
            Hash::Sha256 => MessageDigest::sha256(),
            Hash::Sha384 => MessageDigest::sha384(),
            Hash::Sha512 => MessageDigest::sha512(),
        }
    }

    /// The hash of a digest AlgorithmIdentifier OID (RFC 5754 §2).
    pub(super) fn from_digest_oid(oid: &str) -> Option<Hash> {
        match oid {
            "2.16.840.1.101.3.4.2.1" => Some(Hash::Sha256),
            "2.16.840.1.101.3.4.2.2" => Some(Hash::Sha384),
            "2.16.840.1.101.3.4.2.3" => Some(Hash::Sha512),
            _ => None,
        }
    }

    /// The hash of an `ecdsa-with-SHA*` signature OID (RFC 5758 §3.2).
    pub(super) fn from_ecdsa_sig_oid(oid: &str) -> Option<Hash> {
        match oid {
            "1.2.840.10045.4.3.2" => Some(Hash::Sha256),
            "1.2.840.10045.4.3.3" => Some(Hash::Sha384),
            "1.2.840.10045.4.3.4" => Some(Hash::Sha512),
            _ => None,
        }
    }
}

fn key(spki_der: &[u8]) -> Option<PKey<Public>> {
    PKey::public_key_from_der(spki_der).ok()
}

/// Checks `sig` over `msg` with the key in `spki_der`, hashing with `hash` (ignored for Ed25519).
pub(super) fn verify_message(spki_der: &[u8], hash: Hash, msg: &[u8], sig: &[u8]) -> bool {
    let Some(k) = key(spki_der) else {
        return false;
    };
    let v = match k.id() {
        Id::ED25519 => Verifier::new_without_digest(&k),
        Id::EC | Id::RSA => Verifier::new(hash.md(), &k),
        _ => return false,
    };
    let Ok(mut v) = v else {
        return false;
    };
    v.verify_oneshot(sig, msg).unwrap_or(false)
}

/// Checks an ECDSA signature `sig` (DER) over an already computed `digest`; RSA and Ed25519
/// keys need the message and are refused here.
pub(super) fn verify_ecdsa_prehash(spki_der: &[u8], digest: &[u8], sig: &[u8]) -> bool {
    let Some(k) = key(spki_der) else {
        return false;
    };
    let (Ok(ec), Ok(sig)) = (k.ec_key(), EcdsaSig::from_der(sig)) else {
        return false;
    };
    sig.verify(digest, &ec).unwrap_or(false)
}

/// Whether the key is an Ed25519 key.
pub(super) fn is_ed25519(spki_der: &[u8]) -> bool {
    key(spki_der).is_some_and(|k| k.id() == Id::ED25519)
}

/// Checks `sig` over `msg` with the hash a key of this kind signs with: SHA-256 for P-256 and
/// RSA, SHA-384 for P-384, SHA-512 for P-521, none for Ed25519 (DSSE signatures, which name no
/// hash).
pub(super) fn verify_message_for_key(spki_der: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let Some(k) = key(spki_der) else {
        return false;
    };
    let hash = match k.ec_key().ok().map(|ec| ec.group().degree()) {
        Some(384) => Hash::Sha384,
        Some(521) => Hash::Sha512,
        _ => Hash::Sha256,
    };
    verify_message(spki_der, hash, msg, sig)
}
