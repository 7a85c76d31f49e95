//! Signer certificates at record time: the leaf must certify the signing key and be valid when
//! the statement is signed. Whether the chain leads to a trusted root is the buyer's check.

use std::path::Path;

use super::LedgerError;
use crate::keys::KeyId;

/// A signer's certificate chain, checked and ready for the statement's x5chain.
#[derive(Clone, Debug)]
pub struct X5Chain {
    /// DER certificates, leaf first.
    pub ders: Vec<Vec<u8>>,
    /// The leaf's subject, for display.
    pub subject: String,
}

/// Reads a signer's certificate (and intermediates), and checks that the leaf certifies `key`
/// and is valid at `issued_at`. Whether it chains to a trusted root is the buyer's check.
///
/// # Errors
/// [`LedgerError::Certificate`] saying which file and what is wrong.
pub fn load_x5chain(
    cert: &Path,
    chain: Option<&Path>,
    key: &ed25519_dalek::VerifyingKey,
    issued_at: u64,
) -> Result<X5Chain, LedgerError> {
    use crate::x509::Certificate;
    let read = |p: &Path| -> Result<Vec<Certificate>, LedgerError> {
        let pem = std::fs::read_to_string(p)
            .map_err(|e| LedgerError::Certificate(format!("{}: {e}", p.display())))?;
        Certificate::from_pem_chain(&pem)
            .map_err(|e| LedgerError::Certificate(format!("{}: {e}", p.display())))
    };
    let mut certs = read(cert)?;
    if let Some(c) = chain {
        certs.extend(read(c)?);
    }
    // from_pem_chain refuses a file without a certificate, so there is a leaf.
    let leaf = &certs[0];
    let leaf_key = leaf
        .ed25519_key()
        .map_err(|e| LedgerError::Certificate(format!("{}: {e}", cert.display())))?;
    if leaf_key != *key {
        return Err(LedgerError::Certificate(format!(
            "{}: the certificate is for key {}, not the signing key {}",
            cert.display(),
            KeyId::of(&leaf_key),
            KeyId::of(key)
        )));
    }
    let at = issued_at as i64;
    if at < leaf.not_before() || at > leaf.not_after() {
        return Err(LedgerError::Certificate(format!(
            "{}: not valid at the signing time {} (valid {} to {})",
            cert.display(),
            crate::time::format_rfc3339(at),
            crate::time::format_rfc3339(leaf.not_before()),
            crate::time::format_rfc3339(leaf.not_after())
        )));
    }
    Ok(X5Chain {
        subject: leaf.subject().to_owned(),
        ders: certs.iter().map(|c| c.der().to_vec()).collect(),
    })
}
