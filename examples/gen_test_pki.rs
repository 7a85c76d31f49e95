//! Generates the public, test-only example PKI in `keys.example/`: an accreditation body's root
//! CA (playing NVLAP's part) and the certificates it issues for two accredited labs' signing
//! keys, the Kestrel test lab's (ISO/IEC 19795 accuracy testing) and an example stand-in for iBeta
//! Quality Assurance's (the operator of the iBeta PAD programme); and a second accreditation
//! body's root CA (for certification bodies) with the certificate it issues for the Nordmark
//! certification body's signing key. Never use any of it for real evidence: the "iBeta" key is
//! an example key, not iBeta's.
//!
//! ```sh
//! cargo run --example gen_test_pki            # writes keys.example/
//! cargo run --example gen_test_pki -- DIR     # writes DIR/ instead
//! ```
//!
//! Existing private keys (`lab.key`, `ibeta-example.key`, `accreditation-root-ca.key`,
//! `certbody.key`, `certification-root-ca.key`) are reused, never overwritten;
//! missing ones are created (mode 0600, with a `.pub` beside them). The certificates are
//! rewritten each run; since Ed25519 signatures are deterministic and every field is fixed, the
//! same keys always give the same certificates.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::{Signer, SigningKey};
use evledger::time::parse_rfc3339;
use evledger::x509::{Certificate, verify_chain};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyIdMethod,
    KeyUsagePurpose, PKCS_ED25519, PublicKeyData, SerialNumber, SignatureAlgorithm, date_time_ymd,
};
use sha2::{Digest, Sha256};

const ROOT_CN: &str = "Example Accreditation Body Test Root CA";
const LAB_CN: &str = "Kestrel Biometric Test Lab Signing";
/// The iBeta PAD operator's stand-in: named so that nobody takes it for iBeta's real key.
const IBETA_O: &str = "iBeta Quality Assurance (example key)";
const IBETA_CN: &str = "iBeta Quality Assurance PAD Signing (example key, not iBeta's)";
const CERT_ROOT_CN: &str = "Example Certification Accreditation Test Root CA";
const CERTBODY_CN: &str = "Nordmark Certification Signing";

/// An ed25519-dalek key that rcgen can sign with, so that rcgen needs no crypto backend (ring).
struct DalekKey {
    key: SigningKey,
    public: [u8; 32],
}

impl DalekKey {
    fn new(key: SigningKey) -> DalekKey {
        let public = key.verifying_key().to_bytes();
        DalekKey { key, public }
    }

    /// The RFC 7093 §2 method 1 key identifier: the first 160 bits of SHA-256 over the
    /// SubjectPublicKeyInfo. (rcgen computes it only with a crypto backend, so we do.)
    fn key_id(&self) -> KeyIdMethod {
        KeyIdMethod::PreSpecified(Sha256::digest(self.subject_public_key_info())[..20].to_vec())
    }
}

impl PublicKeyData for DalekKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ED25519
    }
}

impl rcgen::SigningKey for DalekKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = match std::env::args_os().nth(1) {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("keys.example"),
    };
    fs::create_dir_all(&dir)?;

    let root_key = DalekKey::new(load_or_create(&dir.join("accreditation-root-ca.key"))?);
    let lab_key = DalekKey::new(load_or_create(&dir.join("lab.key"))?);

    let mut root = CertificateParams::default();
    root.distinguished_name = name(&[
        (DnType::CountryName, "GB"),
        (DnType::OrganizationName, "Example Accreditation Body"),
        (DnType::CommonName, ROOT_CN),
    ]);
    root.serial_number = Some(SerialNumber::from(0x2026_0001u64));
    root.not_before = date_time_ymd(2026, 1, 1);
    root.not_after = date_time_ymd(2036, 1, 1);
    // Issues lab signing certificates directly: no intermediate may follow it.
    root.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.key_identifier_method = root_key.key_id();
    let root_cert = root.self_signed(&root_key)?;

    let mut lab = CertificateParams::default();
    lab.distinguished_name = name(&[
        (DnType::CountryName, "GB"),
        (DnType::OrganizationName, "Kestrel Biometric Test Lab"),
        (DnType::CommonName, LAB_CN),
    ]);
    lab.serial_number = Some(SerialNumber::from(0x2026_0002u64));
    lab.not_before = date_time_ymd(2026, 1, 1);
    lab.not_after = date_time_ymd(2029, 1, 1);
    lab.is_ca = IsCa::ExplicitNoCa;
    lab.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    lab.use_authority_key_identifier_extension = true;
    lab.key_identifier_method = lab_key.key_id();
    let lab_cert = lab.signed_by(&lab_key, &Issuer::from_params(&root, &root_key))?;

    // The iBeta PAD programme's operator is an accredited lab too: the same root issues its
    // certificate. A buyer tells it apart from other accredited labs by pinning its key in a role
    // of its own (keys.example/buyer.trust.toml), never by the name written in a payload.
    let ibeta_key = DalekKey::new(load_or_create(&dir.join("ibeta-example.key"))?);
    let mut ibeta = CertificateParams::default();
    ibeta.distinguished_name = name(&[
        (DnType::CountryName, "US"),
        (DnType::OrganizationName, IBETA_O),
        (DnType::CommonName, IBETA_CN),
    ]);
    ibeta.serial_number = Some(SerialNumber::from(0x2026_0003u64));
    ibeta.not_before = date_time_ymd(2026, 1, 1);
    ibeta.not_after = date_time_ymd(2029, 1, 1);
    ibeta.is_ca = IsCa::ExplicitNoCa;
    ibeta.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    ibeta.use_authority_key_identifier_extension = true;
    ibeta.key_identifier_method = ibeta_key.key_id();
    let ibeta_cert = ibeta.signed_by(&ibeta_key, &Issuer::from_params(&root, &root_key))?;

    fs::write(dir.join("accreditation-root-ca.pem"), root_cert.pem())?;
    fs::write(dir.join("lab-cert.pem"), lab_cert.pem())?;
    fs::write(dir.join("ibeta-example-cert.pem"), ibeta_cert.pem())?;
    certification_pki(&dir)?;

    // Check what was written with the verifier that will read it.
    let roots = Certificate::from_pem_chain(&root_cert.pem())?;
    for (file, pem) in [
        ("lab-cert.pem", lab_cert.pem()),
        ("ibeta-example-cert.pem", ibeta_cert.pem()),
    ] {
        let chain = Certificate::from_pem_chain(&pem)?;
        verify_chain(&chain, &roots, parse_rfc3339("2026-06-01")?)?;
        if verify_chain(&chain, &roots, parse_rfc3339("2030-01-01")?).is_ok() {
            return Err(format!("{file} unexpectedly valid in 2030").into());
        }
    }
    eprintln!(
        "wrote {}/accreditation-root-ca.pem, lab-cert.pem and ibeta-example-cert.pem (PUBLIC TEST-ONLY material)",
        dir.display()
    );
    Ok(())
}

/// The certification side: a root CA of the body that accredits certification bodies, and the
/// certificate it issues for the Nordmark certification body's signing key.
fn certification_pki(dir: &Path) -> Result<(), Box<dyn Error>> {
    let root_key = DalekKey::new(load_or_create(&dir.join("certification-root-ca.key"))?);
    let body_key = DalekKey::new(load_or_create(&dir.join("certbody.key"))?);

    let mut root = CertificateParams::default();
    root.distinguished_name = name(&[
        (DnType::CountryName, "DE"),
        (
            DnType::OrganizationName,
            "Example Certification Accreditation Body",
        ),
        (DnType::CommonName, CERT_ROOT_CN),
    ]);
    root.serial_number = Some(SerialNumber::from(0x2026_0101u64));
    root.not_before = date_time_ymd(2026, 1, 1);
    root.not_after = date_time_ymd(2036, 1, 1);
    // Issues certification body signing certificates directly.
    root.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.key_identifier_method = root_key.key_id();
    let root_cert = root.self_signed(&root_key)?;

    let mut body = CertificateParams::default();
    body.distinguished_name = name(&[
        (DnType::CountryName, "DE"),
        (DnType::OrganizationName, "Nordmark Certification GmbH"),
        (DnType::CommonName, CERTBODY_CN),
    ]);
    body.serial_number = Some(SerialNumber::from(0x2026_0102u64));
    body.not_before = date_time_ymd(2026, 1, 1);
    body.not_after = date_time_ymd(2029, 1, 1);
    body.is_ca = IsCa::ExplicitNoCa;
    body.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    body.use_authority_key_identifier_extension = true;
    body.key_identifier_method = body_key.key_id();
    let body_cert = body.signed_by(&body_key, &Issuer::from_params(&root, &root_key))?;

    fs::write(dir.join("certification-root-ca.pem"), root_cert.pem())?;
    fs::write(dir.join("certbody-cert.pem"), body_cert.pem())?;

    let roots = Certificate::from_pem_chain(&root_cert.pem())?;
    let chain = Certificate::from_pem_chain(&body_cert.pem())?;
    verify_chain(&chain, &roots, parse_rfc3339("2026-06-01")?)?;
    // Each body's certificate chains only to its own accreditation root.
    let lab_roots =
        Certificate::from_pem_chain(&fs::read_to_string(dir.join("accreditation-root-ca.pem"))?)?;
    if verify_chain(&chain, &lab_roots, parse_rfc3339("2026-06-01")?).is_ok() {
        return Err("certification body certificate unexpectedly chains to the lab root".into());
    }
    eprintln!(
        "wrote {}/certification-root-ca.pem and certbody-cert.pem (PUBLIC TEST-ONLY material)",
        dir.display()
    );
    Ok(())
}

fn name(parts: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (ty, value) in parts {
        dn.push(ty.clone(), *value);
    }
    dn
}

/// Reads a PKCS#8 PEM Ed25519 key, or creates it (0600, with `FILE.pub`) if it does not exist.
fn load_or_create(path: &Path) -> Result<SigningKey, Box<dyn Error>> {
    if path.exists() {
        // Public test keys are checked out by git with mode 0644, so this reads the PEM directly
        // instead of through `keys::read_signing_key`, which (rightly) refuses such files.
        let key = SigningKey::from_pkcs8_pem(&fs::read_to_string(path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let public = evledger::keys::public_path(path);
        if !public.exists() {
            let pem = key.verifying_key().to_public_key_pem(LineEnding::LF)?;
            fs::write(&public, pem)?;
        }
        eprintln!("reusing {}", path.display());
        return Ok(key);
    }
    let key = evledger::keys::generate()?;
    evledger::keys::write_key_pair(path, &key)?;
    eprintln!("created {} (mode 0600) and its .pub", path.display());
    Ok(key)
}
