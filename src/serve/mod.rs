//! `evledger serve`: the ledger as a SCITT transparency service over HTTP/1.1, after
//! draft-ietf-scitt-scrapi-08 (`specs/service.md`).
//!
//! The handlers are thin: they parse and limit the request, hand a registration to the one
//! writer thread ([`writer`]) or read through a read-only connection on a blocking thread, and
//! map the outcome once ([`problem`]). The async runtime never waits on SQLite.

pub mod problem;
pub mod writer;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{mpsc, oneshot};

use crate::hex;
use crate::ledger::{Ledger, LedgerError};
use crate::statement::{MAX_STATEMENT_LEN, SignedStatement};
use crate::store::{Store as _, StoreRead as _};
use problem::{PROBLEM_CONTENT_TYPE, Problem};

/// The largest request body read: a signed statement's own limit (1 MiB, `specs/statement.md`).
/// A longer body is answered 413 without being read to its end.
pub const MAX_BODY: usize = MAX_STATEMENT_LEN;

/// Registrations waiting for the writer, at most: past it a registration is answered 503 at
/// once, rather than holding its connection (and up to 1 MiB) for an unbounded time.
pub const QUEUE_LEN: usize = 1024;

/// How long a client may take to send a request's headers before its connection is closed, so
/// a client that opens connections and sends nothing holds none of them for long.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a client may take to send a request body, for the same reason.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The media type of signed statements and receipts (RFC 9052 §2; SCRAPI).
pub const COSE_CONTENT_TYPE: &str = "application/cose";

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The ledger could not be opened.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The address could not be bound, or the runtime could not start.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What every handler shares.
struct State {
    /// The ledger directory, opened read-only per read.
    dir: PathBuf,
    /// The writer's queue.
    jobs: mpsc::Sender<writer::Job>,
    /// Signer keys by kid, to verify signatures before the writer (`writer::SignerKeys`).
    keys: Arc<writer::SignerKeys>,
}

/// Serves the ledger in `dir` on `listen` until the process is stopped; calls `ready` with the
/// bound address once connections are accepted (port 0 binds a free port).
///
/// # Errors
/// [`ServeError`] if the ledger cannot be opened for writing or the address cannot be bound.
pub fn serve(
    dir: &Path,
    listen: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let ledger = Ledger::open(dir)?;
    ledger.store().check_writable().map_err(LedgerError::from)?;
    let io = |what: String| move |source| ServeError::Io { what, source };
    let listener = std::net::TcpListener::bind(listen).map_err(io(format!("bind {listen}")))?;
    listener
        .set_nonblocking(true)
        .map_err(io("listener".into()))?;
    let addr = listener.local_addr().map_err(io("listener".into()))?;
    let (tx, rx) = mpsc::channel(QUEUE_LEN);
    let keys = Arc::new(writer::SignerKeys::default());
    let writer_keys = Arc::clone(&keys);
    std::thread::Builder::new()
        .name("evledger-writer".into())
        .spawn(move || writer::run(ledger, rx, &writer_keys))
        .map_err(io("writer thread".into()))?;
    let state = Arc::new(State {
        dir: dir.to_path_buf(),
        jobs: tx,
        keys,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(io("runtime".into()))?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(io("listener".into()))?;
        ready(addr);
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, for one: wait for connections to close.
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(Arc::clone(&state), req));
                // A connection that fails (a client gone, a malformed request line) ends alone;
                // hyper has already answered what could be answered.
                let _ = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

type Body = Full<Bytes>;

/// Routes one request.
async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    let answer = match (segments.as_slice(), &method) {
        (["entries"], &Method::POST) => register(&state, req).await,
        (["entries", id], &Method::GET) => match parse_entry_id(id) {
            Ok(h) => read(&state, move |l| writer::receipt_of(l, &h))
                .await
                .map(cose),
            Err(p) => Err(p),
        },
        (["entries", id, "statement"], &Method::GET) => match parse_entry_id(id) {
            Ok(h) => read(&state, move |l| statement_of(l, &h)).await.map(cose),
            Err(p) => Err(p),
        },
        (["checkpoint"], &Method::GET) => read(&state, checkpoint_note).await.map(|note| {
            respond(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                note.into_bytes(),
            )
        }),
        (["healthz"], &Method::GET) => Ok(respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            b"ok\n".to_vec(),
        )),
        (["entries"], _) => Ok(not_allowed(&method, &path, "POST")),
        (["entries", _] | ["entries", _, "statement"] | ["checkpoint"] | ["healthz"], _) => {
            Ok(not_allowed(&method, &path, "GET"))
        }
        _ => Err(Problem::new(
            404,
            "Not Found",
            format!(
                "no resource at {path}: this service serves POST /entries, GET /entries/ENTRY-HASH, GET /entries/ENTRY-HASH/statement, GET /checkpoint and GET /healthz"
            ),
        )),
    };
    Ok(answer.unwrap_or_else(|p| problem_response(&p)))
}

/// 405, with the `Allow` header RFC 9110 §15.5.6 requires.
fn not_allowed(method: &Method, path: &str, allowed: &'static str) -> Response<Body> {
    let mut r = problem_response(&Problem::new(
        405,
        "Method Not Allowed",
        format!("{method} is not served at {path}; use {allowed}"),
    ));
    r.headers_mut()
        .insert(ALLOW, hyper::header::HeaderValue::from_static(allowed));
    r
}

/// `POST /entries`: registers one signed statement and answers with its receipt.
async fn register(state: &State, req: Request<Incoming>) -> Result<Response<Body>, Problem> {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case(COSE_CONTENT_TYPE) {
        return Err(Problem::new(
            415,
            "Unsupported Media Type",
            format!(
                "Content-Type is {:?}; a signed statement is sent as {COSE_CONTENT_TYPE}",
                ct
            ),
        ));
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared
        && n > MAX_BODY as u64
    {
        return Err(too_large(&n.to_string()));
    }
    let body = Limited::new(req.into_body(), MAX_BODY);
    let body = match tokio::time::timeout(BODY_READ_TIMEOUT, body.collect()).await {
        Err(_) => {
            return Err(Problem::new(
                408,
                "Request Timeout",
                format!(
                    "the request body did not arrive within {} seconds",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            ));
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(too_large("more than that"));
        }
        Ok(Err(e)) => {
            return Err(Problem::new(
                400,
                "Bad Request",
                format!("the request body could not be read: {e}"),
            ));
        }
        Ok(Ok(collected)) => collected.to_bytes().to_vec(),
    };
    // Malformed statements are refused here, off the writer: they never hold back a batch. The
    // writer checks every statement again, with the rest of the registration checks.
    let st = SignedStatement::parse(&body)
        .map_err(|e| Problem::from_registration(&LedgerError::Statement(e)))?;
    let verified = verify_signature(state, st).await;
    let (reply, answer) = oneshot::channel();
    let job = writer::Job {
        statement: body,
        verified,
        reply,
    };
    state.jobs.try_send(job).map_err(|e| match e {
        mpsc::error::TrySendError::Full(_) => Problem::new(
            503,
            "Service Unavailable",
            format!("{QUEUE_LEN} registrations are already waiting; try again shortly"),
        ),
        mpsc::error::TrySendError::Closed(_) => writer_gone(),
    })?;
    let answer = answer.await.map_err(|_| writer_gone())??;
    let status = if answer.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = respond(status, COSE_CONTENT_TYPE, answer.receipt);
    let location = format!("/entries/{}", hex::encode(&answer.entry_hash));
    if let Ok(v) = location.parse() {
        response.headers_mut().insert(LOCATION, v);
    }
    Ok(response)
}

/// Verifies a statement's signature on the blocking pool, in parallel with other handlers and
/// the writer, under the key a registration of its kid was last made with. None when no key is
/// known for the kid or the signature does not verify: the writer then checks it and words the
/// refusal, in the order of its checks.
async fn verify_signature(
    state: &State,
    st: SignedStatement,
) -> Option<crate::statement::VerifiedStatement> {
    let verifier = Arc::clone(state.keys.read().ok()?.get(&st.header().kid)?);
    tokio::task::spawn_blocking(move || st.verify_with(&verifier).ok())
        .await
        .ok()
        .flatten()
}

fn too_large(got: &str) -> Problem {
    Problem::new(
        413,
        "Payload Too Large",
        format!("the request body is {got} bytes; a signed statement is at most {MAX_BODY} bytes"),
    )
}

fn writer_gone() -> Problem {
    Problem::new(
        500,
        "Internal Server Error",
        "the ledger writer has stopped; restart the service",
    )
}

/// An entry id of a path: the 64 hex digits of an entry hash.
fn parse_entry_id(id: &str) -> Result<crate::merkle::Hash, Problem> {
    if id.len() == 64
        && let Some(h) = hex::decode_array::<32>(&id.to_ascii_lowercase())
    {
        return Ok(h);
    }
    Err(Problem::new(
        400,
        "Bad Request",
        format!(
            "entry id {id:?} is not an entry hash: expected 64 hex digits, the SHA-256 of the statement"
        ),
    ))
}

/// Runs a read on a blocking thread through a read-only connection of its own.
async fn read<T: Send + 'static>(
    state: &State,
    f: impl FnOnce(&Ledger) -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    let dir = state.dir.clone();
    let internal = |e: &dyn std::fmt::Display| {
        Problem::new(
            500,
            "Internal Server Error",
            format!("reading the ledger: {e}"),
        )
    };
    tokio::task::spawn_blocking(move || {
        let ledger = Ledger::open_read_only(&dir).map_err(|e| internal(&e))?;
        f(&ledger)
    })
    .await
    .map_err(|e| internal(&e))?
}

/// The statement of entry `h`, as registered.
fn statement_of(ledger: &Ledger, h: &crate::merkle::Hash) -> Result<Vec<u8>, Problem> {
    match ledger.store().find(h) {
        Ok(Some(e)) => Ok(e.statement),
        Ok(None) => Err(Problem::new(
            404,
            "Not Found",
            format!("no entry {} in this log", hex::encode(h)),
        )),
        Err(e) => Err(Problem::new(
            500,
            "Internal Server Error",
            format!("reading the ledger: {e}"),
        )),
    }
}

/// The latest signed checkpoint, as a C2SP signed note with its cosignatures.
fn checkpoint_note(ledger: &Ledger) -> Result<String, Problem> {
    match ledger.store().latest_checkpoint() {
        Ok(Some(cp)) => Ok(cp.note),
        Ok(None) => Err(Problem::new(
            404,
            "Not Found",
            "the log has no signed checkpoint yet; one is signed with the first registration",
        )),
        Err(e) => Err(Problem::new(
            500,
            "Internal Server Error",
            format!("reading the ledger: {e}"),
        )),
    }
}

fn cose(bytes: Vec<u8>) -> Response<Body> {
    respond(StatusCode::OK, COSE_CONTENT_TYPE, bytes)
}

fn respond(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    r
}

fn problem_response(p: &Problem) -> Response<Body> {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = respond(status, PROBLEM_CONTENT_TYPE, p.to_cbor());
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = if p.detail.ends_with("POST") {
            "POST"
        } else {
            "GET"
        };
        r.headers_mut()
            .insert(ALLOW, hyper::header::HeaderValue::from_static(allow));
    }
    r
}
