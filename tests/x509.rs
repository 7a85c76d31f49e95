//! Certificate parsing and path validation (`evledger::x509`), on chains built fresh with rcgen
//! (signing through ed25519-dalek), and on the committed example PKI in `keys.example/`.

use ed25519_dalek::{Signer, SigningKey};
use evledger::time::parse_rfc3339;
use evledger::x509::{CertError, Certificate, ChainError, MAX_PATH_LEN, verify_chain};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ED25519, PublicKeyData, SerialNumber,
    SignatureAlgorithm, date_time_ymd,
};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};

/// An Ed25519 key rcgen signs with through ed25519-dalek (no ring).
struct Key {
    key: SigningKey,
    public: [u8; 32],
}

fn key(seed: u8) -> Key {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let public = key.verifying_key().to_bytes();
    Key { key, public }
}

impl PublicKeyData for Key {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ED25519
    }
}

impl rcgen::SigningKey for Key {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// A public key of another algorithm, or raw Ed25519 bytes, certified without its private half.
struct RawKey(Vec<u8>, &'static SignatureAlgorithm);

impl PublicKeyData for RawKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.1
    }
}

/// The P-256 base point, uncompressed (SEC 1 §2.3.3): a valid ECDSA public key.
const P256_G: [u8; 65] = [
    0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40,
    0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2,
    0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e,
    0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51,
    0xf5,
];

fn at() -> i64 {
    parse_rfc3339("2026-06-01").unwrap()
}

/// Parameters valid 2026-01-01 to 2027-01-01; a leaf (CA=false, digitalSignature) by default.
fn params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Test");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    // rcgen without a crypto backend draws no random serials; any distinct number will do.
    static SERIAL: AtomicU64 = AtomicU64::new(1);
    p.serial_number = Some(SerialNumber::from(SERIAL.fetch_add(1, Ordering::Relaxed)));
    p.not_before = date_time_ymd(2026, 1, 1);
    p.not_after = date_time_ymd(2027, 1, 1);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = params(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

fn self_signed(p: &CertificateParams, k: &Key) -> Certificate {
    Certificate::from_der(p.self_signed(k).unwrap().der()).unwrap()
}

fn issue(
    p: &CertificateParams,
    subject_key: &impl PublicKeyData,
    issuer: &CertificateParams,
    issuer_key: &Key,
) -> Certificate {
    let cert = p
        .signed_by(subject_key, &Issuer::from_params(issuer, issuer_key))
        .unwrap();
    Certificate::from_der(cert.der()).unwrap()
}

/// A root "Root CA" (key 1) and a leaf "Lab Signing" (key 2) it issues, from these parameters.
fn root_and_leaf(root: CertificateParams, leaf: CertificateParams) -> (Certificate, Certificate) {
    let root_key = key(1);
    let root_cert = self_signed(&root, &root_key);
    (root_cert, issue(&leaf, &key(2), &root, &root_key))
}

fn default_pair() -> (Certificate, Certificate) {
    root_and_leaf(ca_params("Root CA"), params("Lab Signing"))
}

#[test]
fn valid_leaf_to_root() {
    let (root, leaf) = default_pair();
    let roots = [root.clone()];
    assert_eq!(
        verify_chain(std::slice::from_ref(&leaf), &roots, at()),
        Ok(&roots[0])
    );
    // The chain may also carry the root itself.
    assert_eq!(verify_chain(&[leaf, root], &roots, at()), Ok(&roots[0]));
}

#[test]
fn valid_leaf_intermediate_root() {
    let (root_p, root_k, inter_p, inter_k) =
        (ca_params("Root CA"), key(1), ca_params("Inter"), key(3));
    let root = self_signed(&root_p, &root_k);
    let inter = issue(&inter_p, &inter_k, &root_p, &root_k);
    let leaf = issue(&params("Lab Signing"), &key(2), &inter_p, &inter_k);
    let roots = [root];
    assert_eq!(verify_chain(&[leaf, inter], &roots, at()), Ok(&roots[0]));
}

#[test]
fn validity_bounds_are_inclusive() {
    let (root, leaf) = default_pair();
    let roots = [root];
    let chain = [leaf];
    let from = parse_rfc3339("2026-01-01").unwrap();
    let to = parse_rfc3339("2027-01-01").unwrap();
    assert!(verify_chain(&chain, &roots, from).is_ok());
    assert!(verify_chain(&chain, &roots, to).is_ok());
    assert!(matches!(
        verify_chain(&chain, &roots, to + 1),
        Err(ChainError::Expired { position: 0, .. })
    ));
}

#[test]
fn expired_leaf() {
    let mut leaf = params("Lab Signing");
    leaf.not_before = date_time_ymd(2025, 1, 1);
    leaf.not_after = date_time_ymd(2026, 1, 1);
    let (root, leaf) = root_and_leaf(ca_params("Root CA"), leaf);
    let err = verify_chain(&[leaf], &[root], at()).unwrap_err();
    assert_eq!(
        err,
        ChainError::Expired {
            position: 0,
            subject: "O=Test, CN=Lab Signing".into(),
            not_after: parse_rfc3339("2026-01-01").unwrap(),
            at: at(),
        }
    );
    assert_eq!(
        err.to_string(),
        "certificate 0 (O=Test, CN=Lab Signing): expired at 2026-01-01T00:00:00Z, \
         checked at 2026-06-01T00:00:00Z"
    );
}

#[test]
fn not_yet_valid_leaf() {
    let mut leaf = params("Lab Signing");
    leaf.not_before = date_time_ymd(2026, 7, 1);
    let (root, leaf) = root_and_leaf(ca_params("Root CA"), leaf);
    assert!(matches!(
        verify_chain(&[leaf], &[root], at()),
        Err(ChainError::NotYetValid { position: 0, .. })
    ));
}

#[test]
fn expired_root() {
    let mut root = ca_params("Root CA");
    root.not_after = date_time_ymd(2026, 3, 1);
    let (root, leaf) = root_and_leaf(root, params("Lab Signing"));
    assert!(matches!(
        verify_chain(&[leaf], &[root], at()),
        Err(ChainError::Expired { position: 1, .. })
    ));
}

#[test]
fn wrong_root() {
    let (_, leaf) = default_pair();
    let other = self_signed(&ca_params("Other Root CA"), &key(9));
    assert!(matches!(
        verify_chain(&[leaf], &[other], at()),
        Err(ChainError::UntrustedIssuer { position: 0, .. })
    ));
}

#[test]
fn impostor_root_with_same_name() {
    let (_, leaf) = default_pair();
    let impostor = self_signed(&ca_params("Root CA"), &key(9));
    assert!(matches!(
        verify_chain(&[leaf], &[impostor], at()),
        Err(ChainError::BadSignature { position: 0, .. })
    ));
}

#[test]
fn root_matched_by_subject_and_key() {
    // The chain carries an older copy of the root; the trusted, re-issued copy is used.
    let (root_p, root_k) = (ca_params("Root CA"), key(1));
    let old_root = self_signed(&root_p, &root_k);
    let mut renewed = root_p.clone();
    renewed.not_after = date_time_ymd(2030, 1, 1);
    let renewed = self_signed(&renewed, &root_k);
    let leaf = issue(&params("Lab Signing"), &key(2), &root_p, &root_k);
    let roots = [renewed];
    assert_eq!(verify_chain(&[leaf, old_root], &roots, at()), Ok(&roots[0]));
}

/// Root (key 1) -> intermediate `inter` (key 3) -> leaf (key 2); returns (chain, roots).
fn via_intermediate(inter_p: CertificateParams) -> (Vec<Certificate>, Vec<Certificate>) {
    let (root_p, root_k, inter_k) = (ca_params("Root CA"), key(1), key(3));
    let root = self_signed(&root_p, &root_k);
    let inter = issue(&inter_p, &inter_k, &root_p, &root_k);
    let leaf = issue(&params("Lab Signing"), &key(2), &inter_p, &inter_k);
    (vec![leaf, inter], vec![root])
}

#[test]
fn issuer_without_ca_flag() {
    let mut no_bc = ca_params("Inter");
    no_bc.is_ca = IsCa::NoCa;
    let (chain, roots) = via_intermediate(no_bc);
    assert!(matches!(
        verify_chain(&chain, &roots, at()),
        Err(ChainError::NotCa { position: 1, .. })
    ));
    let mut ca_false = ca_params("Inter");
    ca_false.is_ca = IsCa::ExplicitNoCa;
    let (chain, roots) = via_intermediate(ca_false);
    assert!(matches!(
        verify_chain(&chain, &roots, at()),
        Err(ChainError::NotCa { position: 1, .. })
    ));
}

#[test]
fn issuer_without_key_cert_sign() {
    let mut inter = ca_params("Inter");
    inter.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
    let (chain, roots) = via_intermediate(inter);
    assert!(matches!(
        verify_chain(&chain, &roots, at()),
        Err(ChainError::NoCertSign { position: 1, .. })
    ));
}

#[test]
fn issuer_without_key_usage_is_accepted() {
    let mut inter = ca_params("Inter");
    inter.key_usages = vec![];
    let (chain, roots) = via_intermediate(inter);
    assert!(verify_chain(&chain, &roots, at()).is_ok());
}

#[test]
fn path_len_exceeded() {
    let mut root_p = ca_params("Root CA");
    root_p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let (root_k, inter_p, inter_k) = (key(1), ca_params("Inter"), key(3));
    let root = self_signed(&root_p, &root_k);
    let inter = issue(&inter_p, &inter_k, &root_p, &root_k);
    let leaf = issue(&params("Lab Signing"), &key(2), &inter_p, &inter_k);
    let direct = issue(&params("Lab Signing"), &key(2), &root_p, &root_k);
    let roots = [root];
    // pathLen 0 allows a leaf directly below, and no intermediate.
    assert!(verify_chain(&[direct], &roots, at()).is_ok());
    assert_eq!(
        verify_chain(&[leaf, inter], &roots, at()),
        Err(ChainError::PathLenExceeded {
            position: 2,
            subject: "O=Test, CN=Root CA".into(),
            path_len: 0,
            intermediates: 1,
        })
    );
}

#[test]
fn path_len_on_intermediate() {
    let mut inter = ca_params("Inter");
    inter.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let (chain, roots) = via_intermediate(inter);
    assert!(verify_chain(&chain, &roots, at()).is_ok());
}

#[test]
fn chain_too_long() {
    // Root, then n intermediates each issuing the next, then the leaf: n + 2 certificates.
    let build = |n: u8| {
        let root_p = ca_params("Root CA");
        let root = self_signed(&root_p, &key(1));
        let mut chain = Vec::new();
        let (mut issuer_p, mut issuer_k) = (root_p, key(1));
        for i in 0..n {
            let p = ca_params(&format!("Inter {i}"));
            let k = key(10 + i);
            chain.push(issue(&p, &k, &issuer_p, &issuer_k));
            (issuer_p, issuer_k) = (p, k);
        }
        chain.push(issue(&params("Lab Signing"), &key(2), &issuer_p, &issuer_k));
        chain.reverse();
        (chain, vec![root])
    };
    let (chain, roots) = build(MAX_PATH_LEN as u8 - 2);
    assert!(verify_chain(&chain, &roots, at()).is_ok());
    let (chain, roots) = build(MAX_PATH_LEN as u8 - 1);
    assert_eq!(
        verify_chain(&chain, &roots, at()),
        Err(ChainError::TooLong {
            len: MAX_PATH_LEN + 1
        })
    );
}

/// Flips one byte of `der` at `pos` and reparses.
fn flipped(der: &[u8], pos: usize) -> Result<Certificate, CertError> {
    let mut bad = der.to_vec();
    bad[pos] ^= 0x01;
    Certificate::from_der(&bad)
}

#[test]
fn tampered_tbs() {
    let (root, leaf) = default_pair();
    // A byte of the subject's common name, inside the signed TBS.
    let pos = leaf
        .der()
        .windows(11)
        .position(|w| w == b"Lab Signing")
        .unwrap();
    let bad = flipped(leaf.der(), pos).unwrap();
    assert_eq!(bad.subject(), "O=Test, CN=Mab Signing");
    assert!(matches!(
        verify_chain(&[bad], &[root], at()),
        Err(ChainError::BadSignature { position: 0, .. })
    ));
}

#[test]
fn tampered_signature() {
    let (root, leaf) = default_pair();
    let bad = flipped(leaf.der(), leaf.der().len() - 1).unwrap();
    assert!(matches!(
        verify_chain(&[bad], &[root], at()),
        Err(ChainError::BadSignature { position: 0, .. })
    ));
}

#[test]
fn name_mismatch() {
    // The leaf names "Someone Else" as its issuer but is signed by the intermediate's key.
    let (root_p, root_k, inter_p, inter_k) =
        (ca_params("Root CA"), key(1), ca_params("Inter"), key(3));
    let root = self_signed(&root_p, &root_k);
    let inter = issue(&inter_p, &inter_k, &root_p, &root_k);
    let leaf = issue(
        &params("Lab Signing"),
        &key(2),
        &ca_params("Someone Else"),
        &inter_k,
    );
    assert!(matches!(
        verify_chain(&[leaf, inter], &[root], at()),
        Err(ChainError::NameMismatch { position: 0, .. })
    ));
}

#[test]
fn ecdsa_leaf_is_unsupported() {
    let (root_p, root_k) = (ca_params("Root CA"), key(1));
    let root = self_signed(&root_p, &root_k);
    let ec = RawKey(P256_G.to_vec(), &PKCS_ECDSA_P256_SHA256);
    let leaf = issue(&params("Lab Signing"), &ec, &root_p, &root_k);
    assert_eq!(leaf.key_algorithm(), "ECDSA P-256");
    let err = leaf.ed25519_key().unwrap_err();
    assert_eq!(
        err,
        CertError::UnsupportedKey {
            algorithm: "ECDSA P-256".into()
        }
    );
    assert!(err.to_string().contains("lab keys must be Ed25519 for now"));
    assert!(matches!(
        verify_chain(&[leaf], &[root], at()),
        Err(ChainError::UnsupportedKey { position: 0, .. })
    ));
}

#[test]
fn non_ed25519_signature_is_unsupported() {
    /// Claims ECDSA but "signs" with zeros: the verifier must refuse the algorithm outright.
    struct FakeEcdsa;
    impl PublicKeyData for FakeEcdsa {
        fn der_bytes(&self) -> &[u8] {
            &P256_G
        }
        fn algorithm(&self) -> &'static SignatureAlgorithm {
            &PKCS_ECDSA_P256_SHA256
        }
    }
    impl rcgen::SigningKey for FakeEcdsa {
        fn sign(&self, _: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
            Ok(vec![0; 70])
        }
    }
    let root_p = ca_params("Root CA");
    let root = self_signed(&root_p, &key(1));
    let fake = FakeEcdsa;
    let leaf = params("Lab Signing")
        .signed_by(&key(2), &Issuer::from_params(&root_p, &fake))
        .unwrap();
    let leaf = Certificate::from_der(leaf.der()).unwrap();
    assert_eq!(leaf.signature_algorithm(), "ecdsa-with-SHA256");
    assert!(matches!(
        verify_chain(&[leaf], &[root], at()),
        Err(ChainError::UnsupportedSignatureAlgorithm { position: 0, .. })
    ));
}

#[test]
fn weak_leaf_key() {
    let (root_p, root_k) = (ca_params("Root CA"), key(1));
    let root = self_signed(&root_p, &root_k);
    // The identity point (y = 1), of small order.
    let mut identity = vec![0u8; 32];
    identity[0] = 1;
    let leaf = issue(
        &params("Lab Signing"),
        &RawKey(identity, &PKCS_ED25519),
        &root_p,
        &root_k,
    );
    assert_eq!(leaf.ed25519_key().unwrap_err(), CertError::InvalidKey);
    assert!(matches!(
        verify_chain(&[leaf], &[root], at()),
        Err(ChainError::InvalidKey { position: 0, .. })
    ));
}

#[test]
fn self_signed_leaf_not_in_roots() {
    let (root, _) = default_pair();
    let leaf = self_signed(&params("Lab Signing"), &key(2));
    assert!(matches!(
        verify_chain(&[leaf], &[root], at()),
        Err(ChainError::UntrustedRoot { position: 0, .. })
    ));
}

#[test]
fn leaf_that_is_a_ca() {
    let (root, leaf) = root_and_leaf(ca_params("Root CA"), ca_params("Lab Signing"));
    assert!(matches!(
        verify_chain(&[leaf], &[root], at()),
        Err(ChainError::LeafIsCa { position: 0, .. })
    ));
}

#[test]
fn leaf_key_usage_without_digital_signature() {
    let mut leaf = params("Lab Signing");
    leaf.key_usages = vec![KeyUsagePurpose::KeyEncipherment];
    let (root, leaf) = root_and_leaf(ca_params("Root CA"), leaf);
    assert!(matches!(
        verify_chain(&[leaf], &[root], at()),
        Err(ChainError::LeafKeyUsage { position: 0, .. })
    ));
}

#[test]
fn leaf_without_extensions_is_accepted() {
    let mut leaf = params("Lab Signing");
    leaf.is_ca = IsCa::NoCa;
    leaf.key_usages = vec![];
    let (root, leaf) = root_and_leaf(ca_params("Root CA"), leaf);
    assert!(verify_chain(&[leaf], &[root], at()).is_ok());
}

#[test]
fn unknown_critical_extension() {
    let mut leaf = params("Lab Signing");
    let mut ext = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![5, 0]);
    ext.set_criticality(true);
    leaf.custom_extensions = vec![ext];
    let (root, leaf) = root_and_leaf(ca_params("Root CA"), leaf);
    assert_eq!(leaf.unknown_critical_extensions(), ["1.3.6.1.4.1.99999.1"]);
    assert!(matches!(
        verify_chain(&[leaf], &[root], at()),
        Err(ChainError::UnknownCriticalExtension { position: 0, .. })
    ));
}

#[test]
fn unknown_non_critical_extension_is_ignored() {
    let mut leaf = params("Lab Signing");
    leaf.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 99999, 1],
        vec![5, 0],
    )];
    let (root, leaf) = root_and_leaf(ca_params("Root CA"), leaf);
    assert!(verify_chain(&[leaf], &[root], at()).is_ok());
}

#[test]
fn trusted_root_not_self_signed() {
    // An intermediate pinned as a root: found by name, but it is not self-issued.
    let (chain, _) = via_intermediate(ca_params("Inter"));
    let inter = chain[1].clone();
    assert!(matches!(
        verify_chain(&chain[..1], &[inter], at()),
        Err(ChainError::RootNotSelfSigned { position: 1, .. })
    ));
}

#[test]
fn empty_chain() {
    let (root, _) = default_pair();
    assert_eq!(verify_chain(&[], &[root], at()), Err(ChainError::Empty));
}

#[test]
fn garbage_der() {
    for bad in [
        &b""[..],
        b"\x30",
        b"\x30\x03\x02\x01\x01",
        b"not a certificate at all",
    ] {
        assert!(
            matches!(Certificate::from_der(bad), Err(CertError::Malformed { .. })),
            "{bad:?}"
        );
    }
    let (_, leaf) = default_pair();
    let mut trailing = leaf.der().to_vec();
    trailing.push(0);
    assert_eq!(
        Certificate::from_der(&trailing),
        Err(CertError::TrailingBytes { count: 1 })
    );
}

#[test]
fn duplicate_extension_is_malformed() {
    let mut leaf = params("Lab Signing");
    // A second basicConstraints (2.5.29.19), SEQUENCE {} = CA false.
    leaf.custom_extensions = vec![CustomExtension::from_oid_content(
        &[2, 5, 29, 19],
        vec![0x30, 0x00],
    )];
    let der = leaf
        .signed_by(
            &key(2),
            &Issuer::from_params(&ca_params("Root CA"), &key(1)),
        )
        .unwrap();
    assert!(matches!(
        Certificate::from_der(der.der()),
        Err(CertError::Malformed { .. })
    ));
}

#[test]
fn re_encoded_envelope_is_refused() {
    // The same certificate with the outer SEQUENCE tag or length written differently: the
    // signature would still verify, so only a strict envelope check keeps fingerprints unique.
    let (_, leaf) = default_pair();
    let der = leaf.der();
    assert_eq!(der[..2], [0x30, 0x82]);
    let mut context_tag = der.to_vec();
    context_tag[0] = 0xb0;
    let mut long_length = vec![0x30, 0x83, 0x00];
    long_length.extend_from_slice(&der[2..]);
    for bad in [context_tag, long_length] {
        assert!(matches!(
            Certificate::from_der(&bad),
            Err(CertError::Malformed { .. })
        ));
    }
}

#[test]
fn hostile_der_never_panics_and_never_verifies() {
    let (root, leaf) = default_pair();
    let der = leaf.der();
    for len in 0..der.len() {
        assert!(
            Certificate::from_der(&der[..len]).is_err(),
            "truncated to {len}"
        );
    }
    let roots = [root];
    for pos in 0..der.len() {
        for mask in [0x01, 0x80, 0xff] {
            let mut bad = der.to_vec();
            bad[pos] ^= mask;
            if let Ok(cert) = Certificate::from_der(&bad) {
                let _ = (
                    cert.subject(),
                    cert.issuer(),
                    cert.ed25519_key(),
                    cert.fingerprint(),
                );
                assert!(
                    verify_chain(&[cert], &roots, at()).is_err(),
                    "byte {pos} ^ {mask:#x} still verifies"
                );
            }
        }
    }
}

#[test]
fn accessors() {
    let (root, leaf) = default_pair();
    assert_eq!(
        leaf.fingerprint(),
        <[u8; 32]>::from(Sha256::digest(leaf.der()))
    );
    assert_eq!(leaf.subject(), "O=Test, CN=Lab Signing");
    assert_eq!(leaf.issuer(), "O=Test, CN=Root CA");
    assert_eq!(leaf.issuer_der(), root.subject_der());
    assert_eq!(leaf.not_before(), parse_rfc3339("2026-01-01").unwrap());
    assert_eq!(leaf.not_after(), parse_rfc3339("2027-01-01").unwrap());
    assert_eq!(leaf.ed25519_key().unwrap().to_bytes(), key(2).public);
    assert_eq!(leaf.signature_algorithm(), "Ed25519");
    assert_eq!(leaf.signature().len(), 64);
    assert!(!leaf.is_ca() && root.is_ca());
    assert!(root.is_self_issued() && !leaf.is_self_issued());
    let ku = leaf.key_usage().unwrap();
    assert!(ku.digital_signature && !ku.key_cert_sign);
    assert!(root.key_usage().unwrap().key_cert_sign);
    assert_eq!(root.path_len(), None);
}

fn pem(cert: &Certificate) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.der());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

#[test]
fn pem_chain() {
    let (root, leaf) = default_pair();
    let text = format!("leaf:\n{}\nroot:\r\n{}", pem(&leaf), pem(&root));
    assert_eq!(Certificate::from_pem_chain(&text), Ok(vec![leaf, root]));
}

#[test]
fn pem_errors() {
    assert_eq!(
        Certificate::from_pem_chain(""),
        Err(CertError::NoCertificate)
    );
    let key = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
    assert!(matches!(
        Certificate::from_pem_chain(key),
        Err(CertError::Pem { .. })
    ));
    let (_, leaf) = default_pair();
    let unterminated = pem(&leaf).replace("-----END CERTIFICATE-----\n", "");
    assert!(matches!(
        Certificate::from_pem_chain(&unterminated),
        Err(CertError::Pem { .. })
    ));
    let garbage = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
    let text = format!("{}{garbage}", pem(&leaf));
    assert!(matches!(
        Certificate::from_pem_chain(&text),
        Err(CertError::InChain { index: 1, .. })
    ));
}

/// The committed example PKI (`cargo run --example gen_test_pki`).
fn example_pki() -> (Vec<Certificate>, Vec<Certificate>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("keys.example");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let chain = Certificate::from_pem_chain(&read("lab-cert.pem")).unwrap();
    let roots = Certificate::from_pem_chain(&read("accreditation-root-ca.pem")).unwrap();
    let lab_pub = evledger::keys::read_verifying_key(&dir.join("lab.key.pub")).unwrap();
    assert_eq!(chain[0].ed25519_key().unwrap(), lab_pub);
    (chain, roots)
}

#[test]
fn example_pki_verifies_in_2026() {
    let (chain, roots) = example_pki();
    let root = verify_chain(&chain, &roots, at()).unwrap();
    assert_eq!(
        root.subject(),
        "C=GB, O=Example Accreditation Body, CN=Example Accreditation Body Test Root CA"
    );
    assert_eq!(
        chain[0].subject(),
        "C=GB, O=Kestrel Biometric Test Lab, CN=Kestrel Biometric Test Lab Signing"
    );
}

#[test]
fn example_ibeta_pad_operator_is_an_accredited_lab_marked_as_an_example() {
    // The iBeta PAD operator's example certificate chains to the same accreditation root as the
    // Kestrel lab's: the root cannot tell them apart, so the buyer pins the operator's key
    // (keys.example/buyer.trust.toml, role ibeta-pad). Its subject says it is not iBeta's key.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("keys.example");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let chain = Certificate::from_pem_chain(&read("ibeta-example-cert.pem")).unwrap();
    let (_, roots) = example_pki();
    let public = evledger::keys::read_verifying_key(&dir.join("ibeta-example.key.pub")).unwrap();
    assert_eq!(chain[0].ed25519_key().unwrap(), public);
    let root = verify_chain(&chain, &roots, at()).unwrap();
    assert_eq!(root.subject(), roots[0].subject());
    assert_eq!(
        chain[0].subject(),
        "C=US, O=iBeta Quality Assurance (example key), CN=iBeta Quality Assurance PAD Signing (example key, not iBeta's)"
    );
    assert!(matches!(
        verify_chain(&chain, &roots, parse_rfc3339("2030-01-01").unwrap()),
        Err(ChainError::Expired { position: 0, .. })
    ));
}

#[test]
fn example_pki_expired_in_2030() {
    let (chain, roots) = example_pki();
    assert!(matches!(
        verify_chain(&chain, &roots, parse_rfc3339("2030-01-01").unwrap()),
        Err(ChainError::Expired { position: 0, .. })
    ));
}
