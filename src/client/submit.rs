//! `evledger submit`: registers a signed statement with a transparency service (SCRAPI
//! `POST /entries`) and checks the RFC 9942 receipt it answers with.
//!
//! The answer is followed as draft-ietf-scitt-scrapi describes: `201` (or `200` for a statement
//! already registered) carries the receipt; `202` (or the `303`/`302` of earlier revisions)
//! names a location to poll, which answers `204` (or `202`) until the receipt is ready and then
//! `200` with it. Polls wait as `Retry-After` says or with a doubling backoff, each wait at most
//! [`Poll::max_wait`], at most [`Poll::max_polls`] times.

use std::time::Duration;

use ed25519_dalek::VerifyingKey;

use super::http::{BaseUrl, Client, ClientError, Response};
use crate::merkle::Hash;
use crate::receipt::{
    MAX_RECEIPT_LEN, ReceiptEntry, ReceiptError, VerifiedReceipt, verify_receipt,
};
use crate::statement::{MAX_STATEMENT_LEN, entry_hash};

/// The media type of signed statements and receipts (RFC 9052 §2; SCRAPI).
pub const COSE: &str = "application/cose";

/// The largest answer read: a receipt, or a problem-details body with a long message.
const MAX_ANSWER: usize = 64 * 1024;

/// How a pending registration is polled.
#[derive(Clone, Copy, Debug)]
pub struct Poll {
    /// Most polls of the location before giving up.
    pub max_polls: u32,
    /// The first wait when the service gives no `Retry-After`.
    pub first_wait: Duration,
    /// The longest single wait, whatever `Retry-After` says.
    pub max_wait: Duration,
}

impl Default for Poll {
    /// 30 polls, from 100 ms doubling up to 5 s each: about two minutes in all.
    fn default() -> Poll {
        Poll {
            max_polls: 30,
            first_wait: Duration::from_millis(100),
            max_wait: Duration::from_secs(5),
        }
    }
}

/// A registered statement with its verified receipt.
#[derive(Debug)]
pub struct Submitted {
    /// The entry hash: the statement's SHA-256.
    pub entry_hash: Hash,
    /// The receipt's bytes, as received.
    pub receipt: Vec<u8>,
    /// What the receipt proves.
    pub verified: VerifiedReceipt,
    /// Whether this request appended the entry (`201`, or a `303` that led to a receipt),
    /// rather than finding it registered already (`200`).
    pub created: bool,
}

/// Why a statement was not registered, or its receipt not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The statement is over the size limit; it was not sent.
    #[error("the statement is {0} bytes, over the limit of {MAX_STATEMENT_LEN}")]
    TooLarge(usize),
    /// No answer: the service is unreachable, slow or broke the connection.
    #[error(transparent)]
    Transport(#[from] ClientError),
    /// The service refused the statement, or failed: its status and problem details.
    #[error("the service refused it: {0}")]
    Refused(String),
    /// An answer that a SCRAPI service does not give.
    #[error("unexpected answer from the service: {0}")]
    Unexpected(String),
    /// The receipt was not ready after the last poll.
    #[error("the receipt was not ready after {polls} polls of {location}")]
    NotReady {
        /// How many polls were made.
        polls: u32,
        /// The location polled.
        location: String,
    },
    /// The receipt does not verify for this statement under the log key.
    #[error("the receipt does not verify: {0}")]
    BadReceipt(ReceiptError),
}

/// Registers `statement` with the service at `base` and verifies the receipt under one of
/// `log_keys` (the one its kid names).
///
/// # Errors
/// [`SubmitError`]; [`SubmitError::Refused`] carries the service's problem details.
pub fn submit(
    client: &Client,
    base: &BaseUrl,
    statement: &[u8],
    log_keys: &[VerifyingKey],
    poll: &Poll,
) -> Result<Submitted, SubmitError> {
    if statement.len() > MAX_STATEMENT_LEN {
        return Err(SubmitError::TooLarge(statement.len()));
    }
    let r = client.post(base, "/entries", COSE, statement.to_vec(), MAX_ANSWER)?;
    let (receipt, created) = match r.status {
        201 => (receipt_body(r)?, true),
        200 => (receipt_body(r)?, false),
        202 | 302 | 303 => (follow(client, base, r, poll)?, true),
        _ => return Err(refused(&r)),
    };
    let verified = verify_with_any(&receipt, statement, log_keys)?;
    Ok(Submitted {
        entry_hash: entry_hash(statement),
        receipt,
        verified,
        created,
    })
}

/// Verifies `receipt` for `statement` under whichever of `keys` its kid names.
fn verify_with_any(
    receipt: &[u8],
    statement: &[u8],
    keys: &[VerifyingKey],
) -> Result<VerifiedReceipt, SubmitError> {
    let mut last = None;
    for key in keys {
        match verify_receipt(receipt, ReceiptEntry::Statement(statement), key) {
            Ok(v) => return Ok(v),
            Err(e @ ReceiptError::KidMismatch { .. }) => last = Some(e),
            Err(e) => return Err(SubmitError::BadReceipt(e)),
        }
    }
    Err(SubmitError::BadReceipt(last.unwrap_or_else(|| {
        ReceiptError::Profile {
            field: "log key",
            reason: "no log key was given to verify it with".into(),
        }
    })))
}

/// Polls the `Location` of a pending registration until it answers with the receipt.
fn follow(
    client: &Client,
    base: &BaseUrl,
    first: Response,
    poll: &Poll,
) -> Result<Vec<u8>, SubmitError> {
    let mut answer = first;
    let mut target = String::new();
    let mut wait = poll.first_wait;
    for polls in 0..=poll.max_polls {
        match answer.status {
            200 | 201 => return receipt_body(answer),
            202 | 204 | 302 | 303 => {}
            _ => return Err(refused(&answer)),
        }
        if let Some(l) = &answer.location {
            target = base.resolve_location(l)?;
        }
        if target.is_empty() {
            return Err(SubmitError::Unexpected(format!(
                "{} without a Location to poll",
                answer.status
            )));
        }
        if polls == poll.max_polls {
            break;
        }
        let pause = answer
            .retry_after
            .map_or(wait, Duration::from_secs)
            .min(poll.max_wait);
        std::thread::sleep(pause);
        wait = (wait * 2).min(poll.max_wait);
        answer = client.get(base, &target, MAX_ANSWER)?;
    }
    Err(SubmitError::NotReady {
        polls: poll.max_polls,
        location: base.url(&target),
    })
}

/// The receipt an answer carries.
fn receipt_body(r: Response) -> Result<Vec<u8>, SubmitError> {
    let ct = r.content_type.as_deref().unwrap_or("");
    if !ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case(COSE)
    {
        return Err(SubmitError::Unexpected(format!(
            "{} with Content-Type {ct:?}, not a receipt ({COSE})",
            r.status
        )));
    }
    if r.body.len() > MAX_RECEIPT_LEN {
        return Err(SubmitError::BadReceipt(ReceiptError::TooLarge(
            r.body.len(),
        )));
    }
    Ok(r.body)
}

fn refused(r: &Response) -> SubmitError {
    SubmitError::Refused(r.describe())
}
