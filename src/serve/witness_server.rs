//! `evledger witness serve`: a c2sp.org/tlog-witness server over HTTP/1.1.
//!
//! One route, `POST /add-checkpoint`. The handler reads the body under
//! [`MAX_REQUEST_LEN`](crate::witness::add_checkpoint::MAX_REQUEST_LEN) and hands it to
//! [`add_checkpoint::answer`] on a blocking thread, which runs [`Witness::cosign`]: the same
//! checks, the same lock and the same durable state as `evledger witness cosign`. Requests to
//! one state directory are serialized by that lock, so the check of the old size and the write
//! of the new state are atomic (the rollback race tlog-witness describes cannot happen).
//!
//! **Killed at each step.** Before the state is written, nothing changed and nothing was
//! answered: the log asks again. After the state is written and before the answer is sent, the
//! new checkpoint is the witness's state without a cosignature having left: the log asks again
//! with the new old size (a 409 tells it). The crash argument is `specs/witness.md` §2.1.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use super::config::TlsFiles;
use super::tls::{Accepted, Acceptor};
use super::{BODY_READ_TIMEOUT, HEADER_READ_TIMEOUT, ServeError};
use crate::witness::add_checkpoint::{self, MAX_REQUEST_LEN};
use crate::witness::{Witness, WitnessError};

/// Why the witness server could not start.
#[derive(Debug, thiserror::Error)]
pub enum WitnessServeError {
    /// The state directory could not be opened.
    #[error(transparent)]
    Witness(#[from] WitnessError),
    /// The address could not be bound, or the runtime could not start.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Serves the witness of state directory `dir` on `listen` until the process is stopped; calls
/// `ready` with the bound address once connections are accepted.
///
/// # Errors
/// [`WitnessServeError`] if the state directory cannot be opened (or its state read) or the
/// address cannot be bound.
pub fn serve(
    dir: &Path,
    listen: SocketAddr,
    tls: Option<&TlsFiles>,
    ready: impl FnOnce(SocketAddr, &Witness),
) -> Result<(), WitnessServeError> {
    let witness = Witness::open(dir)?;
    // A corrupt state is refused at start, not at the first request.
    witness.state()?;
    let acceptor = Acceptor::new(tls).map_err(ServeError::from)?;
    let io = |what: String| move |source| ServeError::Io { what, source };
    let listener = std::net::TcpListener::bind(listen).map_err(io(format!("bind {listen}")))?;
    listener
        .set_nonblocking(true)
        .map_err(io("listener".into()))?;
    let addr = listener.local_addr().map_err(io("listener".into()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .enable_time()
        .build()
        .map_err(io("runtime".into()))?;
    let witness = Arc::new(witness);
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(io("listener".into()))?;
        ready(addr, &witness);
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let witness = Arc::clone(&witness);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor.accept(stream).await {
                    Some(Accepted::Plain(s)) => connection(s, witness).await,
                    #[cfg(feature = "tls")]
                    Some(Accepted::Tls(s)) => connection(s, witness).await,
                    None => {}
                }
            });
        }
    })
}

/// Serves the requests of one connection, plain or TLS.
async fn connection<S>(stream: S, witness: Arc<Witness>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(Arc::clone(&witness), req));
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

type Body = Full<Bytes>;

fn respond(status: u16, content_type: &'static str, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn text(status: u16, message: String) -> Response<Body> {
    respond(status, "text/plain; charset=utf-8", format!("{message}\n"))
}

/// Routes one request.
async fn handle(
    witness: Arc<Witness>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    Ok(match (path.as_str(), req.method()) {
        ("/add-checkpoint", &Method::POST) => add(witness, req).await,
        ("/add-checkpoint", m) => {
            let mut r = text(
                405,
                format!("{m} is not served at /add-checkpoint; use POST"),
            );
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            r
        }
        _ => text(
            404,
            format!(
                "no resource at {path}: this witness serves POST /add-checkpoint (c2sp.org/tlog-witness)"
            ),
        ),
    })
}

/// `POST /add-checkpoint`.
async fn add(witness: Arc<Witness>, req: Request<Incoming>) -> Response<Body> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        text(
            413,
            format!("the body is over {MAX_REQUEST_LEN} bytes, the largest add-checkpoint request"),
        )
    };
    if declared.is_some_and(|n| n > MAX_REQUEST_LEN as u64) {
        return too_large();
    }
    let body = Limited::new(req.into_body(), MAX_REQUEST_LEN);
    let body = match tokio::time::timeout(BODY_READ_TIMEOUT, body.collect()).await {
        Err(_) => {
            return text(
                408,
                format!(
                    "the request body did not arrive within {} seconds",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            );
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Ok(Err(e)) => return text(400, format!("the request body could not be read: {e}")),
        Ok(Ok(c)) => c.to_bytes(),
    };
    // Cosigning takes a file lock and fsyncs: off the runtime's threads.
    let answer = tokio::task::spawn_blocking(move || {
        add_checkpoint::answer(&witness, &body, add_checkpoint::now())
    })
    .await;
    match answer {
        Ok(a) => {
            if a.status != 200 {
                eprintln!(
                    "add-checkpoint: {} {}",
                    a.status,
                    crate::terminal::escape(a.body.trim_end())
                );
            }
            respond(a.status, a.content_type, a.body)
        }
        Err(e) => text(500, format!("the witness could not answer: {e}")),
    }
}
