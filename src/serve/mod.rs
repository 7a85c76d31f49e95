//! `evledger serve`: the ledger as a SCITT transparency service over HTTP/1.1, after
//! draft-ietf-scitt-scrapi-11 (`specs/service.md`).
//!
//! The handlers are thin: they parse and limit the request, hand a registration to the one
//! writer thread ([`writer`]) or read through a read-only connection on a blocking thread, and
//! map the outcome once ([`problem`]). The async runtime never waits on SQLite.

pub mod access;
#[cfg(feature = "postgres")]
pub mod cluster;
#[cfg(not(feature = "postgres"))]
#[path = "cluster_absent.rs"]
pub mod cluster;
pub mod config;
pub mod documents;
pub mod evidence;
pub mod last_signed;
pub mod limits;
pub mod log;
pub mod metrics;
pub mod problem;
pub mod scrapi;
pub mod tiles;
pub mod tls;
pub mod witness_client;
pub mod witness_server;
pub mod witnessing;
pub mod writer;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{mpsc, watch};

use crate::hex;
use crate::ledger::{Ledger, LedgerError};
use crate::statement::{MAX_STATEMENT_LEN, SignedStatement};
use crate::store::Store as _;
use config::ServeConfig;
use documents::Uploads;
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
    /// The TLS certificate or key cannot be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// Signing a checkpoint would fork the log: the database lost what an earlier checkpoint
    /// covered (`last_signed`).
    #[error("refusing to sign checkpoints: {0}")]
    WouldFork(String),
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

/// The cluster this instance sequences a PostgreSQL ledger in; `None` for a SQLite ledger.
#[cfg(feature = "postgres")]
fn join_cluster(
    dir: &std::path::Path,
    config: &ServeConfig,
) -> Result<Option<cluster::Cluster>, ServeError> {
    match crate::store::locate(dir).map_err(LedgerError::from)? {
        crate::store::Location::Postgres(url) => Ok(Some(
            cluster::Cluster::join(&url, cluster::holder_name(), config.lease_ttl)
                .map_err(LedgerError::from)?,
        )),
        crate::store::Location::Sqlite(_) => Ok(None),
    }
}

/// Without the `postgres` feature every ledger is a SQLite one, with this one writer.
#[cfg(not(feature = "postgres"))]
fn join_cluster(
    _: &std::path::Path,
    _: &ServeConfig,
) -> Result<Option<cluster::Cluster>, ServeError> {
    Ok(None)
}

/// What every handler shares.
struct State {
    /// The ledger directory, opened read-only per read.
    dir: PathBuf,
    /// The writer's queue.
    jobs: mpsc::Sender<writer::Job>,
    /// The configuration (`config`): waits, limits, readers.
    config: ServeConfig,
    /// Uploaded documents waiting for a statement to cite them.
    uploads: Arc<Uploads>,
    /// The witnessing task's counters (`WitnessStats::prometheus` renders them for metrics).
    witness_stats: Arc<witnessing::WitnessStats>,
    /// The service's counters (`GET /metrics`), shared with the writer.
    metrics: Arc<metrics::Metrics>,
    /// Signer keys by kid, to verify signatures before the writer (`writer::SignerKeys`).
    keys: Arc<writer::SignerKeys>,
}

/// Serves the ledger of `config` on its address until SIGTERM or SIGINT; calls `ready` with the
/// bound address once connections are accepted (port 0 binds a free port).
///
/// **Stopping.** On the signal the listener is closed at once (new connections are refused),
/// every open connection finishes the request it is serving and is then closed (hyper's graceful
/// shutdown), for at most `shutdown_grace`; then the writer drains its queue, committing what
/// was handed to it, and the function returns. A registration is acknowledged only after its
/// commit, so one cut off by the grace period was never acknowledged: its client sees the
/// connection close, and a retry is answered with the receipt if the commit happened.
///
/// # Errors
/// [`ServeError`] if the ledger cannot be opened for writing or the address cannot be bound.
pub fn serve(config: &ServeConfig, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let dir = config.ledger.as_path();
    let mut ledger = Ledger::open(dir)?;
    ledger.store().check_writable().map_err(LedgerError::from)?;
    let io = |what: String| move |source| ServeError::Io { what, source };
    let acceptor = tls::Acceptor::new(config.tls.as_ref())?;
    let listen = config.listen;
    let listener = std::net::TcpListener::bind(listen).map_err(io(format!("bind {listen}")))?;
    listener
        .set_nonblocking(true)
        .map_err(io("listener".into()))?;
    let addr = listener.local_addr().map_err(io("listener".into()))?;
    let uploads = Uploads::open(dir, config.max_pending_documents).map_err(io(format!(
        "{}/{}",
        dir.display(),
        documents::UPLOADS_DIR
    )))?;
    let (tx, rx) = mpsc::channel(QUEUE_LEN);
    // The writer says which checkpoint it signed; the witnessing task asks the witnesses.
    let (signed_tx, signed_rx) = tokio::sync::watch::channel(0);
    // A shared (PostgreSQL) ledger is sequenced by whichever instance holds the lease, which
    // covers a predecessor's entries when it takes it; a SQLite ledger has this one writer.
    let cluster = join_cluster(dir, config)?;
    let mut last =
        last_signed::LastSigned::open(dir, &ledger.info().origin).map_err(ServeError::WouldFork)?;
    if cluster.is_none() {
        writer::cover_at_start(&mut ledger, &signed_tx, &mut last)
            .map_err(ServeError::WouldFork)?;
    }
    let (fatal_tx, mut fatal_rx) = watch::channel(None::<String>);
    let keys = Arc::new(writer::SignerKeys::default());
    let writer_keys = Arc::clone(&keys);
    let settings = writer::Settings {
        interval: config.checkpoint_interval,
        metrics: Arc::default(),
        fatal: Some(fatal_tx),
    };
    let metrics = Arc::clone(&settings.metrics);
    let writer = std::thread::Builder::new()
        .name("evledger-writer".into())
        .spawn(move || {
            writer::run(
                ledger,
                rx,
                signed_tx,
                &writer_keys,
                &settings,
                cluster,
                last,
            )
        })
        .map_err(io("writer thread".into()))?;
    let state = Arc::new(State {
        dir: dir.to_path_buf(),
        jobs: tx,
        config: config.clone(),
        uploads: Arc::new(uploads),
        witness_stats: Arc::default(),
        metrics,
        keys,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(io("runtime".into()))?;
    let grace = config.shutdown_grace;
    let served = runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(io("listener".into()))?;
        // Witnessing runs beside the handlers and never holds up a registration.
        tokio::spawn(witnessing::run(
            dir.to_path_buf(),
            signed_rx,
            Arc::clone(&state.witness_stats),
        ));
        let stop = stop_signal().map_err(io("signal handler".into()))?;
        tokio::pin!(stop);
        let (stopping, stop_rx) = watch::channel(false);
        let mut connections = tokio::task::JoinSet::new();
        let bounds =
            limits::Connections::new(config.max_connections_per_client, config.max_connections);
        ready(addr);
        loop {
            // Reap finished connections, so the set holds only live ones.
            while connections.try_join_next().is_some() {}
            let stream = tokio::select! {
                biased;
                () = &mut stop => break,
                Ok(()) = fatal_rx.changed() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => match bounds.admit(peer.ip()) {
                        Ok(slot) => (stream, slot),
                        // No handshake is spent on a refusal: the connection is closed.
                        Err(_) if acceptor.is_tls() => continue,
                        Err(p) => {
                            connections.spawn(async move { limits::refuse(stream, &p).await });
                            continue;
                        }
                    },
                    Err(e) => {
                        // Out of file descriptors, for one: wait for connections to close.
                        eprintln!("accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let (stream, slot) = stream;
            let state = Arc::clone(&state);
            let stop_rx = stop_rx.clone();
            let acceptor = acceptor.clone();
            connections.spawn(async move {
                let _slot = slot;
                let peer = stream.peer_addr().ok();
                match acceptor.accept(stream).await {
                    Some(tls::Accepted::Plain(s)) => connection(s, peer, state, stop_rx).await,
                    #[cfg(feature = "tls")]
                    Some(tls::Accepted::Tls(s)) => connection(s, peer, state, stop_rx).await,
                    None => {}
                }
            });
        }
        // Stop accepting: from here a connection attempt is refused by the kernel.
        drop(listener);
        eprintln!(
            "stopping: finishing {} open connection(s), for at most {} s",
            connections.len(),
            grace.as_secs()
        );
        let _ = stopping.send(true);
        let drained = tokio::time::timeout(grace, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            eprintln!("stopping: closing connections still open after the grace period");
            connections.shutdown().await;
        }
        match fatal_rx.borrow().clone() {
            Some(why) => Err(ServeError::WouldFork(why)),
            None => Ok::<(), ServeError>(()),
        }
    });
    // Every handler is gone with the runtime; with the last sender dropped, the writer commits
    // what it was handed and returns.
    runtime.shutdown_timeout(grace);
    let _ = writer.join();
    served
}

/// Serves HTTP/1.1 on one accepted connection (plain, or TLS after its handshake) until it
/// closes, or until the service stops and the request in flight is answered.
async fn connection<IO>(
    io: IO,
    peer: Option<SocketAddr>,
    state: Arc<State>,
    mut stop_rx: watch::Receiver<bool>,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(Arc::clone(&state), peer, req));
    // A connection that fails (a client gone, a malformed request line) ends alone; hyper has
    // already answered what could be answered.
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = stopped(&mut stop_rx) => {
            // Finish the request in flight, answer it, then close.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Resolves once the service is stopping.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which happens only once the service has stopped.
    let _ = rx.wait_for(|s| *s).await;
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

type Body = Full<Bytes>;

/// Routes one request from `peer`, and logs it (`event=request`, [`log`]).
async fn handle(
    state: Arc<State>,
    peer: Option<SocketAddr>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    let received = std::time::Instant::now();
    let answer = match (segments.as_slice(), &method) {
        (["entries"], &Method::POST) => register(&state, req).await,
        (["entries", id], &Method::GET) => match parse_entry_id(id) {
            Ok(h) => scrapi::resolve_receipt(&state, h, req.headers()).await,
            Err(p) => Err(p),
        },
        (["entries", id, "statement"], &Method::GET) => match parse_entry_id(id) {
            Ok(h) => scrapi::statement(&state, h, req.headers()).await,
            Err(p) => Err(p),
        },
        (["documents"], &Method::POST) => documents::upload(&state, req).await,
        (["documents", id], &Method::GET) => {
            documents::fetch(&state, id, query.as_deref(), req.headers()).await
        }
        ([".well-known", "scitt-keys"], &Method::GET) => scrapi::scitt_keys(&state).await,
        ([".well-known", "scitt-keys", kid], &Method::GET) => scrapi::scitt_key(&state, kid).await,
        (["checkpoint"], &Method::GET) => read(&state, checkpoint_note).await.map(|note| {
            tiles::no_cache(respond(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                note.into_bytes(),
            ))
        }),
        (["tile", rest @ ..], &Method::GET) => tiles::tile(&state, rest).await,
        (["statements", index], &Method::GET) => {
            evidence::statement(&state, index, req.headers()).await
        }
        (["bundle"], &Method::GET) => {
            evidence::bundle(&state, req.uri().query(), req.headers()).await
        }
        (["metrics"], &Method::GET) => Ok(respond(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            state
                .metrics
                .render(&state.witness_stats.prometheus())
                .into_bytes(),
        )),
        (["healthz"], &Method::GET) => Ok(respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            b"ok\n".to_vec(),
        )),
        (["entries"] | ["documents"], _) => Ok(not_allowed(&method, &path, "POST")),
        (
            ["entries", _]
            | ["entries", _, "statement"]
            | ["documents", _]
            | [".well-known", "scitt-keys"]
            | [".well-known", "scitt-keys", _]
            | ["checkpoint"]
            | ["healthz"]
            | ["metrics"]
            | ["tile", ..]
            | ["statements", _]
            | ["bundle"],
            _,
        ) => Ok(not_allowed(&method, &path, "GET")),
        _ => Err(Problem::new(
            404,
            "Not Found",
            format!(
                "no resource at {path}: this service serves POST /entries, GET /entries/ENTRY-HASH, GET /entries/ENTRY-HASH/statement, POST /documents, GET /documents/SHA256, GET /.well-known/scitt-keys, GET /checkpoint, GET /tile/L/N[.p/W], GET /tile/entries/N[.p/W], GET /statements/INDEX, GET /bundle?QUERY, GET /metrics and GET /healthz"
            ),
        )),
    };
    let response = answer.unwrap_or_else(|p| problem_response(&p));
    let status = response.status().as_u16();
    state.metrics.http(status);
    if segments.as_slice() == ["entries"] && method == Method::POST {
        state.metrics.registration(status, received.elapsed());
    }
    log::request(peer, &method, &path, status, received.elapsed());
    Ok(response)
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

/// `POST /entries`: registers one signed statement and answers with its receipt, or `202` to
/// poll for it ([`scrapi::register`]).
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
    let body = read_body(req, MAX_BODY, "a signed statement").await?;
    // Malformed statements are refused here, off the writer: they never hold back a batch. The
    // writer checks every statement again, with the rest of the registration checks.
    let st = SignedStatement::parse(&body)
        .map_err(|e| Problem::from_registration(&LedgerError::Statement(e)))?;
    let verified = verify_signature(state, st).await;
    scrapi::register(state, body, verified).await
}

/// Reads a request body of at most `limit` bytes, within [`BODY_READ_TIMEOUT`]. `what` names
/// the body in the refusals ("a signed statement").
///
/// # Errors
/// `413` when the declared `Content-Length` or the body read passes `limit` (the body is not
/// read to its end), `408` past the timeout, `400` when it cannot be read.
async fn read_body(req: Request<Incoming>, limit: usize, what: &str) -> Result<Vec<u8>, Problem> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared
        && n > limit as u64
    {
        return Err(too_large(what, &n.to_string(), limit));
    }
    let body = Limited::new(req.into_body(), limit);
    match tokio::time::timeout(BODY_READ_TIMEOUT, body.collect()).await {
        Err(_) => Err(Problem::new(
            408,
            "Request Timeout",
            format!(
                "the request body did not arrive within {} seconds",
                BODY_READ_TIMEOUT.as_secs()
            ),
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(too_large(what, "more than that", limit))
        }
        Ok(Err(e)) => Err(Problem::new(
            400,
            "Bad Request",
            format!("the request body could not be read: {e}"),
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
    }
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

/// `413`, in the words of the CLI's size refusal ("over the limit").
fn too_large(what: &str, got: &str, limit: usize) -> Problem {
    Problem::new(
        413,
        "Payload Too Large",
        format!("the request body is {got} bytes, over the limit of {limit} bytes for {what}"),
    )
}

fn writer_gone() -> Problem {
    Problem::new(
        500,
        "Internal Server Error",
        "the ledger writer has stopped; restart the service",
    )
}

/// An entry id of a path: the 64 hex digits of an entry hash. A malformed one is SCRAPI's
/// "Invalid locator" (draft-ietf-scitt-scrapi-11 §2.3.3).
fn parse_entry_id(id: &str) -> Result<crate::merkle::Hash, Problem> {
    parse_hash(id, "entry id", "the SHA-256 of the statement").map_err(|p| Problem {
        title: "Invalid locator",
        ..p
    })
}

/// A SHA-256 of a path or query: 64 hex digits, either case. `what` and `of` name it in the
/// refusal ("entry id", "the SHA-256 of the statement").
fn parse_hash(id: &str, what: &str, of: &str) -> Result<crate::merkle::Hash, Problem> {
    if id.len() == 64
        && let Some(h) = hex::decode_array::<32>(&id.to_ascii_lowercase())
    {
        return Ok(h);
    }
    Err(Problem::new(
        400,
        "Bad Request",
        format!("{what} {id:?} is not 64 hex digits, {of}"),
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

/// The published checkpoint (the latest signed one unless a witness quorum is configured), as
/// a C2SP signed note with its cosignatures.
fn checkpoint_note(ledger: &Ledger) -> Result<String, Problem> {
    match ledger.published_checkpoint() {
        Ok(Some(cp)) => Ok(cp.note),
        Ok(None) => Err(Problem::new(
            404,
            "Not Found",
            "the log has no published checkpoint yet; one is signed with the first registration, and published once the witness quorum has cosigned it",
        )),
        Err(e) => Err(Problem::new(
            500,
            "Internal Server Error",
            format!("reading the ledger: {e}"),
        )),
    }
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
    if status == StatusCode::UNAUTHORIZED {
        // RFC 6750 §3: the challenge of a resource read with a bearer token.
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Bearer realm=\"evledger\""),
        );
    }
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
