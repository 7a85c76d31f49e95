//! Offline verification of Sigstore bundles (feature `sigstore`), transparency-log evidence
//! included.
//!
//! A bundle (`application/vnd.dev.sigstore.bundle*`, sigstore/protobuf-specs) is checked against
//! a pinned `trusted_root.json` and an expected signer (a Fulcio identity and issuer, or a managed
//! public key). Every step is recorded in a [`SigstoreReport`]; see `specs/sigstore.md` for what
//! each step checks and what is out of scope.
//!
//! The `sigstore` crate does the embedded-SCT check (RFC 6962 §3.3) of Rekor v1 bundles and the
//! identity policy; the embedded SCT of Rekor v2 bundles is ours (`sct`), and so are the
//! Rekor checks it skips: the inclusion proof against the checkpoint with
//! [`crate::merkle`], the checkpoint's signature by the log key of the trusted root as a signed
//! note ([`crate::note`]), the v1 signed entry timestamp, the RFC 3161 timestamps of Rekor v2
//! entries, and the log entry's body against the artifact digest, signature and key.

mod bundle;
mod certs;
mod citation;
mod crypto;
mod dsse;
mod report;
mod sct;
mod slsa;
mod tlog;
mod trusted_root;
mod tsa;
mod verify;

pub use bundle::{Bundle, LogEntry};
pub use citation::{
    CitationError, CitedBytes, Which, artifact_for_attestation, artifact_for_bundle,
    verify_citation, verify_cited,
};
pub use dsse::{Attestation, Envelope, IN_TOTO_PAYLOAD_TYPE, pae};
pub use report::{SigstoreReport, Step};
pub use slsa::{SLSA_PROVENANCE_V1, SOURCE_BUILD_TYPES, SlsaProvenance, read_provenance};
pub use trusted_root::TrustedRoot;
pub use verify::{SignerPolicy, verify_bundle};

/// Why a Sigstore bundle was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigstoreError {
    /// The bundle is not a well-formed Sigstore bundle (bad JSON, base64, numbers, certificates).
    #[error("invalid bundle: {0}")]
    InvalidBundle(String),
    /// The trusted root is not a well-formed `trusted_root.json`.
    #[error("invalid trusted root: {0}")]
    InvalidTrustedRoot(String),
    /// The bundle uses something this verifier deliberately does not check; it fails closed.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A check did not hold.
    #[error("{step}: {reason}")]
    Failed {
        /// The step that failed.
        step: Step,
        /// What did not hold.
        reason: String,
    },
}

impl SigstoreError {
    /// Whether the input itself was unusable (malformed bundle or trusted root), as opposed to
    /// well-formed evidence that does not verify. The CLI maps this to exit code 3.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            SigstoreError::InvalidBundle(_) | SigstoreError::InvalidTrustedRoot(_)
        )
    }

    pub(crate) fn failed(step: Step, reason: impl Into<String>) -> SigstoreError {
        SigstoreError::Failed {
            step,
            reason: reason.into(),
        }
    }
}
