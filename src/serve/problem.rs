//! The one table from what went wrong to an HTTP status and an RFC 9290 concise problem details
//! body (`application/concise-problem-details+cbor`), as draft-ietf-scitt-scrapi asks of every
//! error (`specs/service.md`, "Errors").

use crate::cbor::{self, Value};
use crate::ledger::LedgerError;
use crate::statement::StatementError;
use crate::store::StoreError;

/// The media type of error bodies (RFC 9290 §6.3).
pub const PROBLEM_CONTENT_TYPE: &str = "application/concise-problem-details+cbor";

/// An error answer: the status, a short title naming the kind of problem, and a detail that says
/// what exactly is wrong and, where the service knows it, what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The HTTP status code.
    pub status: u16,
    /// RFC 9290 `title` (key -1): the same for every problem of this kind.
    pub title: &'static str,
    /// RFC 9290 `detail` (key -2): this occurrence.
    pub detail: String,
}

impl Problem {
    /// A problem with the given status, title and detail.
    pub fn new(status: u16, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            title,
            detail: detail.into(),
        }
    }

    /// The RFC 9290 body: `{-1: title, -2: detail}` in deterministic CBOR.
    pub fn to_cbor(&self) -> Vec<u8> {
        cbor::encode(&Value::Map(vec![
            (Value::int(-1), Value::text(self.title)),
            (Value::int(-2), Value::text(self.detail.clone())),
        ]))
    }

    /// The answer to a statement the registration refused, or to a registration the ledger could
    /// not carry out. Refusals of the statement are the client's (4xx); the rest are the
    /// service's (5xx), whose detail names the cause for the operator.
    pub fn from_registration(error: &LedgerError) -> Problem {
        let detail = error.to_string();
        match error {
            LedgerError::Statement(StatementError::TooLarge(_)) => {
                Problem::new(413, "Payload Too Large", detail)
            }
            // draft-ietf-scitt-scrapi-11 §2.3.3 names these two refusals of a statement.
            LedgerError::Statement(StatementError::Profile {
                field: "alg (label 1)",
                ..
            }) => Problem::new(400, "Bad Signature Algorithm", detail),
            LedgerError::Statement(StatementError::Profile {
                field: "payload", ..
            }) => Problem::new(400, "Payload Missing", detail),
            LedgerError::Statement(StatementError::BadSignature { .. })
            | LedgerError::Statement(StatementError::KidMismatch { .. })
            | LedgerError::Signature(_) => Problem::new(400, "Bad Signature", detail),
            LedgerError::Statement(_) => Problem::new(400, "Malformed Signed Statement", detail),
            LedgerError::Payload(_) => Problem::new(400, "Invalid Payload", detail),
            LedgerError::Reference { .. } | LedgerError::Sigstore(_) => {
                Problem::new(400, "Unresolved Citation", detail)
            }
            LedgerError::UnknownSigner { .. }
            | LedgerError::NotAdmitted { .. }
            | LedgerError::KeyRevoked { .. }
            | LedgerError::Certificate(_) => {
                // The title of draft-ietf-scitt-scrapi-11 §2.3.3 for a statement "not accepted by
                // the current Registration Policy"; the detail is the CLI's message.
                Problem::new(400, "Rejected", detail)
            }
            LedgerError::Store(StoreError::ReadOnly(_)) => Problem::new(
                503,
                "Service Unavailable",
                format!("{detail}: this server cannot write its ledger"),
            ),
            _ => Problem::new(500, "Internal Server Error", detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_rfc_9290_title_and_detail() {
        let p = Problem::new(404, "Not Found", "no such path /x");
        let v = cbor::decode_canonical(&p.to_cbor()).unwrap();
        assert_eq!(v.get(&Value::int(-1)).unwrap().as_text(), Some("Not Found"));
        assert_eq!(
            v.get(&Value::int(-2)).unwrap().as_text(),
            Some("no such path /x")
        );
    }

    #[test]
    fn refusals_of_the_statement_are_the_clients() {
        let e = LedgerError::Statement(StatementError::TooLarge(2 << 20));
        assert_eq!(Problem::from_registration(&e).status, 413);
        let e = LedgerError::Payload("missing field `version`".into());
        assert_eq!(Problem::from_registration(&e).status, 400);
        let e = LedgerError::Checkpoint("no log key".into());
        assert_eq!(Problem::from_registration(&e).status, 500);
    }
}

/// Each refusal `evledger register` explains carries the CLI's own message as its detail.
#[cfg(test)]
mod cli_messages {
    use super::*;
    use crate::cli::CliError;

    #[test]
    fn the_detail_is_the_clis_message() {
        let cases = [
            (
                LedgerError::UnknownSigner {
                    kid: "ab".repeat(32),
                    issuer: "Aurelis".into(),
                    kind: "claim".into(),
                },
                400,
                "Rejected",
            ),
            (
                LedgerError::NotAdmitted {
                    kid: "ab".repeat(32),
                    issuer: "Aurelis".into(),
                    kind: "claim".into(),
                },
                400,
                "Rejected",
            ),
            (
                LedgerError::KeyRevoked {
                    kid: "ab".repeat(32),
                    event: 7,
                    what: "revoke",
                },
                400,
                "Rejected",
            ),
            (
                LedgerError::Reference {
                    path: "target.build".into(),
                    reason: "no entry abab… in the log".into(),
                },
                400,
                "Unresolved Citation",
            ),
            (
                LedgerError::Statement(StatementError::TooLarge(2 << 20)),
                413,
                "Payload Too Large",
            ),
        ];
        for (e, status, title) in cases {
            let p = Problem::from_registration(&e);
            assert_eq!((p.status, p.title), (status, title), "{e}");
            assert_eq!(p.detail, CliError::from(e).message);
        }
    }
}
