//! The Sigstore verification report: each step with its outcome.

use std::fmt;

use serde::Serialize;

use super::SigstoreError;

/// The verification steps, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Strict parsing of the bundle and the trusted root.
    Parse,
    /// The message digest and the signature over the artifact, or the DSSE signature over the
    /// envelope's PAE.
    Signature,
    /// A DSSE envelope's payload: an in-toto statement with a subject that is the artifact.
    Statement,
    /// The log entry's body matches the artifact digest, the signature and the key.
    LogEntry,
    /// The inclusion proof against the checkpoint's root hash (RFC 9162 §2.1.3.2).
    Inclusion,
    /// The checkpoint's signature by the log key of the trusted root.
    Checkpoint,
    /// The Rekor v1 signed entry timestamp (SET).
    SignedEntryTimestamp,
    /// RFC 3161 timestamps from the trusted timestamp authorities.
    Timestamp,
    /// The signing certificate's path to a trusted Fulcio CA at the signing time.
    Certificate,
    /// The certificate's embedded SCT from a trusted CT log (RFC 6962 §3.3).
    Sct,
    /// The expected identity and issuer, or the expected managed key.
    Identity,
}

impl Step {
    /// The step's name as printed.
    pub fn name(self) -> &'static str {
        match self {
            Step::Parse => "parse",
            Step::Signature => "signature",
            Step::Statement => "statement",
            Step::LogEntry => "log-entry",
            Step::Inclusion => "inclusion",
            Step::Checkpoint => "checkpoint",
            Step::SignedEntryTimestamp => "signed-entry-timestamp",
            Step::Timestamp => "timestamp",
            Step::Certificate => "certificate",
            Step::Sct => "sct",
            Step::Identity => "identity",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One passed step and what it established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepResult {
    /// The step.
    pub step: Step,
    /// What it established, or why it failed.
    pub detail: String,
    /// Whether it held.
    pub ok: bool,
}

/// Every step of one bundle's verification, and the verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SigstoreReport {
    /// The steps that ran, in order; the last one failed if the verdict is a failure.
    pub steps: Vec<StepResult>,
    /// The verified signing time (Unix seconds): the SET's integrated time or the earliest
    /// trusted RFC 3161 time.
    pub signed_at: Option<i64>,
    /// What a DSSE bundle attests (predicate type, subject, SLSA provenance), once its
    /// statement is checked; `None` for message signatures.
    pub attestation: Option<super::Attestation>,
    /// Why the bundle was rejected; `None` when it verified.
    #[serde(serialize_with = "ser_error")]
    pub error: Option<SigstoreError>,
}

fn ser_error<S: serde::Serializer>(e: &Option<SigstoreError>, s: S) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.serialize_some(&e.to_string()),
        None => s.serialize_none(),
    }
}

impl SigstoreReport {
    pub(crate) fn new() -> Self {
        SigstoreReport {
            steps: Vec::new(),
            signed_at: None,
            attestation: None,
            error: None,
        }
    }

    pub(crate) fn pass(&mut self, step: Step, detail: impl Into<String>) {
        self.steps.push(StepResult {
            step,
            detail: detail.into(),
            ok: true,
        });
    }

    pub(crate) fn fail(mut self, e: SigstoreError) -> Self {
        let step = match &e {
            SigstoreError::Failed { step, .. } => *step,
            _ => Step::Parse,
        };
        self.steps.push(StepResult {
            step,
            detail: e.to_string(),
            ok: false,
        });
        self.error = Some(e);
        self
    }

    /// Whether every step held.
    pub fn is_verified(&self) -> bool {
        self.error.is_none()
    }

    /// The report as text, one line per step.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            let mark = if s.ok { "ok  " } else { "FAIL" };
            out.push_str(&format!("{mark} {:<24} {}\n", s.step.name(), s.detail));
        }
        out.push_str(if self.is_verified() {
            "verified\n"
        } else {
            "NOT verified\n"
        });
        out
    }
}
