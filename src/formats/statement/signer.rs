//! Making a signed statement: who signs, the header they sign under, and the COSE_Sign1 bytes.
//!
//! Signing needs only the evidence, the signer's key and labels, and the signing time, which the
//! caller passes in: no ledger, no file, no clock. A release job in CI, a lab at another company
//! and the ledger host therefore produce the same bytes for the same input, key and time, and a
//! statement signed anywhere can be registered into the ledger later.

use ed25519_dalek::SigningKey;

use super::{ALG_EDDSA, Header, MAX_STATEMENT_LEN, entry_hash, sign};
use crate::evidence::Evidence;
use crate::keys::KeyId;

/// Why a statement cannot be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The issuer or subject label is not acceptable.
    #[error("{field}: {reason}")]
    Header {
        /// "issuer" or "subject".
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The signed statement would be larger than [`MAX_STATEMENT_LEN`], which every reader refuses.
    #[error("statement is {0} bytes, over the limit of {MAX_STATEMENT_LEN}")]
    TooLarge(usize),
}

/// Who signs a new statement and how it is labelled.
#[derive(Clone, Debug)]
pub struct Signer<'a> {
    /// The signer's private key.
    pub key: &'a SigningKey,
    /// CWT iss: the signing organisation.
    pub issuer: &'a str,
    /// CWT sub: what the entry is about.
    pub subject: &'a str,
    /// DER certificates, leaf first, if the signer uses one (COSE x5chain).
    pub x5chain: Vec<Vec<u8>>,
}

/// A statement just signed: its bytes and entry hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The tagged COSE_Sign1 bytes.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`: the entry's id once registered.
    pub entry_hash: [u8; 32],
    /// The header the statement was signed under.
    pub header: Header,
}

impl Signer<'_> {
    /// The protected header for evidence of `kind` signed at `issued_at` (Unix seconds).
    ///
    /// # Errors
    /// [`SignError::Header`] for an issuer or subject that is empty or only white space: a label
    /// that says nothing is refused on write (readers accept it, `specs/statement.md`).
    pub fn header(&self, kind: &str, issued_at: u64) -> Result<Header, SignError> {
        for (field, v) in [("issuer", self.issuer), ("subject", self.subject)] {
            if v.trim().is_empty() {
                return Err(SignError::Header {
                    field,
                    reason: "must not be empty".into(),
                });
            }
        }
        Ok(Header {
            alg: ALG_EDDSA,
            kind: kind.to_owned(),
            kid: KeyId::of(&self.key.verifying_key()),
            issuer: self.issuer.to_owned(),
            subject: self.subject.to_owned(),
            issued_at,
            x5chain: self.x5chain.clone(),
        })
    }

    /// Signs validated evidence as a statement issued at `issued_at` (Unix seconds).
    ///
    /// The result is deterministic: Ed25519 signatures are, and so are the header and payload
    /// encodings, so the same evidence, signer and time always give the same bytes.
    ///
    /// # Errors
    /// [`SignError::Header`] as for [`Signer::header`]; [`SignError::TooLarge`] for a statement
    /// over [`MAX_STATEMENT_LEN`] bytes.
    pub fn sign(&self, evidence: &Evidence, issued_at: u64) -> Result<Signed, SignError> {
        let header = self.header(evidence.kind(), issued_at)?;
        let bytes = sign(&header, &evidence.to_payload(), self.key);
        if bytes.len() > MAX_STATEMENT_LEN {
            return Err(SignError::TooLarge(bytes.len()));
        }
        Ok(Signed {
            entry_hash: entry_hash(&bytes),
            bytes,
            header,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::SignedStatement;

    fn evidence() -> Evidence {
        let json = serde_json::json!({
            "target": "00".repeat(32),
            "statement": "Results as issued in report R-1",
        });
        Evidence::from_input(
            "countersignature",
            &json.to_string(),
            crate::evidence::InputFormat::Json,
        )
        .expect("valid countersignature")
    }

    #[test]
    fn signs_a_statement_that_verifies_under_the_signer_key() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let signer = Signer {
            key: &key,
            issuer: "Kestrel Lab",
            subject: "countersignature",
            x5chain: vec![b"leaf".to_vec(), b"intermediate".to_vec()],
        };
        let signed = signer.sign(&evidence(), 1_780_000_000).expect("sign");
        assert_eq!(signed.entry_hash, entry_hash(&signed.bytes));
        let parsed = SignedStatement::parse(&signed.bytes).expect("parse");
        assert_eq!(parsed.header(), &signed.header);
        assert_eq!(parsed.header().issued_at, 1_780_000_000);
        assert_eq!(parsed.header().kind, "countersignature");
        assert_eq!(parsed.header().x5chain.len(), 2);
        assert_eq!(parsed.payload(), evidence().to_payload());
        parsed.verify(&key.verifying_key()).expect("verifies");
        // Deterministic: signing again gives the same bytes.
        assert_eq!(
            signer.sign(&evidence(), 1_780_000_000).expect("sign"),
            signed
        );
    }

    #[test]
    fn refuses_empty_labels() {
        let key = SigningKey::from_bytes(&[7; 32]);
        for (issuer, subject, field) in [(" ", "s", "issuer"), ("i", "\t\n", "subject")] {
            let signer = Signer {
                key: &key,
                issuer,
                subject,
                x5chain: Vec::new(),
            };
            let err = signer.sign(&evidence(), 1).expect_err("refused");
            assert_eq!(err.to_string(), format!("{field}: must not be empty"));
        }
    }

    #[test]
    fn refuses_a_statement_over_the_size_limit() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let signer = Signer {
            key: &key,
            issuer: "i",
            subject: "s",
            x5chain: vec![vec![0; MAX_STATEMENT_LEN]],
        };
        assert!(matches!(
            signer.sign(&evidence(), 1),
            Err(SignError::TooLarge(n)) if n > MAX_STATEMENT_LEN
        ));
    }
}
