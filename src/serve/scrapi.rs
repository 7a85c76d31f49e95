//! The SCRAPI resources, after draft-ietf-scitt-scrapi-11 (`specs/service.md`): the answer to a
//! registration (`201` with the receipt, or `202` to poll), the receipt resource (`200`, `204`
//! while the receipt is not ready, `404`), and the service's keys (`/.well-known/scitt-keys`).
//! Also the reads of statements and documents, which go through [`super::access`].

use hyper::HeaderMap;
use hyper::header::{CACHE_CONTROL, HeaderValue, LOCATION, RETRY_AFTER};
use hyper::{Response, StatusCode};
use tokio::sync::oneshot;

use super::access::refusal;
use super::problem::Problem;
use super::{Body, COSE_CONTENT_TYPE, State, respond, writer};
use crate::cbor::{self, Value};
use crate::hex;
use crate::keys::KeyId;
use crate::ledger::{Ledger, LedgerError};
use crate::merkle::Hash;
use crate::store::StoreRead as _;

/// The media type of the key resources (draft-ietf-scitt-scrapi-11 §2.1, §2.2).
pub const CBOR_CONTENT_TYPE: &str = "application/cbor";

/// The path of the receipt resource of an entry: the same for `201`, `202` and every poll
/// (§2.3.1).
pub fn entry_location(h: &Hash) -> String {
    format!("/entries/{}", hex::encode(h))
}

/// Hands a parsed statement to the writer and answers once the registration is acknowledged:
/// `201 Created` (or `200 OK` for a statement already in the log) with the receipt when it is
/// ready within the registration wait; otherwise `202 Accepted` at the commit, with the
/// `Location` to poll. Nothing is acknowledged before the commit.
///
/// # Errors
/// The registration's refusal, `503` when the writer's queue is full, `500` when the writer has
/// stopped.
pub(super) async fn register(
    state: &State,
    statement: Vec<u8>,
    verified: Option<crate::statement::VerifiedStatement>,
) -> Result<Response<Body>, Problem> {
    let cited = super::documents::cited_digests(&statement);
    let documents = if cited.is_empty() {
        Vec::new()
    } else {
        let uploads = std::sync::Arc::clone(&state.uploads);
        let digests = cited.clone();
        tokio::task::spawn_blocking(move || uploads.cited(&digests))
            .await
            .unwrap_or_default()
    };
    let attached: Vec<Hash> = documents
        .iter()
        .map(|d| {
            use sha2::Digest as _;
            sha2::Sha256::digest(d).into()
        })
        .collect();
    let (reply, mut answer) = oneshot::channel();
    let (committed_tx, mut committed) = oneshot::channel();
    let job = writer::Job {
        statement,
        documents,
        committed: Some(committed_tx),
        verified,
        reply,
    };
    state.jobs.try_send(job).map_err(|e| match e {
        tokio::sync::mpsc::error::TrySendError::Full(_) => Problem::new(
            503,
            "Service Unavailable",
            format!(
                "{} registrations are already waiting; try again shortly",
                super::QUEUE_LEN
            ),
        ),
        tokio::sync::mpsc::error::TrySendError::Closed(_) => super::writer_gone(),
    })?;
    let wait = state.config.registration_wait;
    if !wait.is_zero()
        && let Ok(r) = tokio::time::timeout(wait, &mut answer).await
    {
        return match r.map_err(|_| super::writer_gone())? {
            Ok(a) => {
                forget_uploads(state, attached);
                Ok(receipt_response(state, a))
            }
            // A checkpoint failure after the commit leaves a durable entry without a receipt:
            // that is "not ready yet", answered 202, not an error.
            Err(p) => match committed.try_recv() {
                Ok(h) => {
                    forget_uploads(state, attached);
                    Ok(accepted(state, &h))
                }
                Err(_) => Err(p),
            },
        };
    }
    // The wait is over (or zero): acknowledge at the commit. `biased` prefers the commit, which
    // the writer always reports before the receipt, so a zero wait answers 202 every time.
    tokio::select! {
        biased;
        c = &mut committed => match c {
            Ok(h) => {
                forget_uploads(state, attached);
                Ok(accepted(state, &h))
            }
            // Refused: the writer dropped the commit notice and sends the refusal.
            Err(_) => match answer.await.map_err(|_| super::writer_gone())? {
                Ok(a) => {
                    forget_uploads(state, attached);
                    Ok(receipt_response(state, a))
                }
                Err(p) => Err(p),
            },
        },
        a = &mut answer => {
            let a = a.map_err(|_| super::writer_gone())??;
            forget_uploads(state, attached);
            Ok(receipt_response(state, a))
        }
    }
}

/// Removes the uploads a registration attached that the ledger now holds. A statement that was
/// already in the log stored nothing, so an upload it cites stays until a registration stores it.
fn forget_uploads(state: &State, attached: Vec<Hash>) {
    if attached.is_empty() {
        return;
    }
    let uploads = std::sync::Arc::clone(&state.uploads);
    let dir = state.dir.clone();
    tokio::task::spawn_blocking(move || {
        let Ok(ledger) = Ledger::open_read_only(&dir) else {
            return;
        };
        let held: Vec<Hash> = attached
            .into_iter()
            .filter(|h| matches!(ledger.store().document(h), Ok(Some(_))))
            .collect();
        uploads.forget(&held);
    });
}

/// `201`/`200` with the receipt; `202` when the entry is durable but no published checkpoint
/// covers it yet (a witness quorum is configured and has not cosigned one, `specs/witness.md` §8).
fn receipt_response(state: &State, a: writer::Answer) -> Response<Body> {
    let status = if a.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let Some(receipt) = a.receipt else {
        return accepted(state, &a.entry_hash);
    };
    let mut r = respond(status, COSE_CONTENT_TYPE, receipt);
    set(&mut r, LOCATION, &entry_location(&a.entry_hash));
    r
}

/// `202 Accepted`: the entry is durable, its receipt not ready; poll `Location` (§2.3.2).
fn accepted(state: &State, h: &Hash) -> Response<Body> {
    let mut r = Response::new(Body::default());
    *r.status_mut() = StatusCode::ACCEPTED;
    set(&mut r, LOCATION, &entry_location(h));
    set(
        &mut r,
        RETRY_AFTER,
        &state.config.retry_after_secs.to_string(),
    );
    r
}

fn set(r: &mut Response<Body>, name: hyper::header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

/// What a read of an entry found.
enum Found {
    /// No such entry.
    Absent,
    /// The entry is in the log, no checkpoint covers it yet.
    Pending(String),
    /// The receipt, and the entry's kind.
    Receipt(Vec<u8>, String),
}

/// `GET /entries/ENTRY-HASH`, the receipt resource (§2.4): `200` with the receipt, `204` with
/// `Retry-After` and `Cache-Control: no-store` while no checkpoint covers the entry, `404` when
/// the log has no such entry. With `public_receipts` off, a caller who may not read the entry's
/// kind gets [`refusal`] in every one of these cases.
///
/// # Errors
/// `404`, a refusal, or `500` when the ledger cannot be read.
pub(super) async fn resolve_receipt(
    state: &State,
    h: Hash,
    headers: &HeaderMap,
) -> Result<Response<Body>, Problem> {
    let found = super::read(state, move |l| find_receipt(l, &h)).await?;
    let access = &state.config.access;
    let caller = access.caller(headers);
    let kind = match &found {
        Found::Absent => None,
        Found::Pending(k) | Found::Receipt(_, k) => Some(k.as_str()),
    };
    if !access.public_receipts {
        access.check(caller, kind)?;
    }
    match found {
        Found::Absent => Err(Problem::new(
            404,
            "Not Found",
            format!("no entry {} in this log", hex::encode(&h)),
        )),
        Found::Pending(_) => {
            let mut r = Response::new(Body::default());
            *r.status_mut() = StatusCode::NO_CONTENT;
            set(
                &mut r,
                RETRY_AFTER,
                &state.config.retry_after_secs.to_string(),
            );
            set(&mut r, CACHE_CONTROL, "no-store");
            set(&mut r, LOCATION, &entry_location(&h));
            Ok(r)
        }
        Found::Receipt(receipt, _) => {
            let mut r = respond(StatusCode::OK, COSE_CONTENT_TYPE, receipt);
            set(&mut r, LOCATION, &entry_location(&h));
            Ok(r)
        }
    }
}

fn find_receipt(ledger: &Ledger, h: &Hash) -> Result<Found, Problem> {
    let Some(entry) = ledger.store().find(h).map_err(|e| internal(&e))? else {
        return Ok(Found::Absent);
    };
    let kind = entry.kind.clone();
    match ledger.cose_receipt(&entry) {
        Ok(r) => Ok(Found::Receipt(r.bytes, kind)),
        Err(LedgerError::NoProof(_)) => Ok(Found::Pending(kind)),
        Err(e) => Err(internal(&e)),
    }
}

fn internal(e: &dyn std::fmt::Display) -> Problem {
    Problem::new(
        500,
        "Internal Server Error",
        format!("reading the ledger: {e}"),
    )
}

/// `GET /entries/ENTRY-HASH/statement`: the statement as registered, to readers of its kind.
///
/// # Errors
/// [`refusal`] when there is no such entry or the caller may not read it; `500`.
pub(super) async fn statement(
    state: &State,
    h: Hash,
    headers: &HeaderMap,
) -> Result<Response<Body>, Problem> {
    let entry = super::read(state, move |l| l.store().find(&h).map_err(|e| internal(&e))).await?;
    let access = &state.config.access;
    let caller = access.caller(headers);
    access.check(caller, entry.as_ref().map(|e| e.kind.as_str()))?;
    // `check` refuses a missing entry, so `entry` is present here.
    let e = entry.ok_or_else(|| refusal(caller))?;
    Ok(respond(StatusCode::OK, COSE_CONTENT_TYPE, e.statement))
}

/// The service's keys as a COSE Key Set (RFC 9052 §7): every log key of the ledger, each an
/// OKP key (kty 1, crv 6 Ed25519, x) with its RFC 9679 thumbprint as kid (§2.1).
fn key_set(ledger: &Ledger) -> Result<Vec<Value>, Problem> {
    let keys = ledger.log_keys().map_err(|e| internal(&e))?;
    Ok(keys
        .iter()
        .map(|k| {
            Value::Map(vec![
                (Value::int(1), Value::int(1)),
                (Value::int(2), Value::Bytes(KeyId::of(k).0.to_vec())),
                (Value::int(-1), Value::int(6)),
                (Value::int(-2), Value::Bytes(k.to_bytes().to_vec())),
            ])
        })
        .collect())
}

/// `GET /.well-known/scitt-keys` (§2.1): the COSE Key Set, `application/cbor`.
///
/// # Errors
/// `500` when the ledger cannot be read.
pub(super) async fn scitt_keys(state: &State) -> Result<Response<Body>, Problem> {
    let set = super::read(state, key_set).await?;
    Ok(respond(
        StatusCode::OK,
        CBOR_CONTENT_TYPE,
        cbor::encode(&Value::Array(set)),
    ))
}

/// `GET /.well-known/scitt-keys/KID` (§2.2): the one key whose kid is `kid_value`, the
/// unpadded base64url of the kid (or its 64 hex digits).
///
/// # Errors
/// `404` "No such key" for any other value; `500`.
pub(super) async fn scitt_key(state: &State, kid_value: &str) -> Result<Response<Body>, Problem> {
    use base64::Engine as _;
    let kid = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(kid_value)
        .ok()
        .filter(|k| k.len() == 32)
        .or_else(|| KeyId::from_hex(&kid_value.to_ascii_lowercase()).map(|k| k.0.to_vec()));
    let set = super::read(state, key_set).await?;
    let key = kid.and_then(|kid| {
        set.into_iter()
            .find(|k| k.get(&Value::int(2)).and_then(Value::as_bytes) == Some(kid.as_slice()))
    });
    match key {
        Some(k) => Ok(respond(StatusCode::OK, CBOR_CONTENT_TYPE, cbor::encode(&k))),
        None => Err(Problem::new(
            404,
            "No such key",
            format!(
                "no key of this service has the kid {kid_value:?}; GET /.well-known/scitt-keys lists them (kid in unpadded base64url)"
            ),
        )),
    }
}
