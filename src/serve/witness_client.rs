//! The log's side of c2sp.org/tlog-witness: asking one witness to cosign a checkpoint over
//! HTTP/1.1 (hyper's client connection over a tokio `TcpStream`, or TLS over it for `https://`
//! URLs, checked under the system's roots), and
//! storing its cosignature through the ledger's one path for verified cosignatures
//! ([`cosignatures::collect`]).
//!
//! The exchange: send `old M` with the proof from `M` (the size the witness is believed to have
//! cosigned, 0 when unknown) to the checkpoint's size; on `409 Conflict` the body is the size the
//! witness has cosigned, so send again, once, from that size. A `200` answer's lines under this
//! witness's name and key id are appended to the note and collected (verified, then stored, and
//! the checkpoint published if that makes the quorum); lines of other keys are ignored, as
//! tlog-witness requires.

use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;

use crate::ledger::cosignatures::{self, CollectError};
use crate::ledger::witnesses::Witness as ConfiguredWitness;
use crate::ledger::{Ledger, LedgerError};
use crate::merkle::ConsistencyProof;
use crate::note::NoteSignature;
use crate::store::StoredCheckpoint;
use crate::witness::add_checkpoint::{AddCheckpoint, SIZE_CONTENT_TYPE};

/// How long one request to a witness may take, from connecting to the end of its answer: a
/// witness that holds a connection longer counts as down, and is asked again later.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The largest witness answer read: cosignature lines are about 100 bytes each, and a witness
/// answers with a few. A longer answer is refused.
pub const MAX_ANSWER_LEN: usize = 64 * 1024;

/// What one witness did with a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It cosigned, and its cosignature is stored; `size` is what it has cosigned now.
    Cosigned {
        /// The size it cosigned.
        size: u64,
        /// Whether the checkpoint is published now.
        published: bool,
    },
    /// It did not cosign; why.
    Failed(String),
}

/// One HTTP answer.
struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

/// Where one witness is reached.
#[derive(Debug, PartialEq, Eq)]
struct Endpoint {
    /// The address to connect to, `host:port`.
    addr: String,
    /// The `Host` header (the URL's authority).
    authority: String,
    /// The host name the witness's TLS certificate must carry.
    host: String,
    /// The `add-checkpoint` path, under the URL's prefix.
    path: String,
    /// Whether the URL is `https://`.
    tls: bool,
}

/// Splits an `http[s]://host[:port][/prefix]` URL into where to connect and what to ask.
fn endpoint(url: &str) -> Result<Endpoint, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("witness URL {url:?}: {e}"))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => {
            return Err(format!(
                "witness URL {url:?}: not an http:// or https:// URL"
            ));
        }
    };
    if tls && !TLS_BUILT {
        return Err(format!(
            "{url}: this evledger was built without TLS (feature `tls`); reach the witness over http:// or rebuild with `--features tls`"
        ));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| format!("witness URL {url:?} has no host"))?;
    let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let prefix = uri.path().trim_end_matches('/');
    Ok(Endpoint {
        addr: format!("{}:{port}", authority.host()),
        authority: authority.as_str().to_owned(),
        host: host.to_owned(),
        path: format!("{prefix}/add-checkpoint"),
        tls,
    })
}

/// Whether `https://` witness URLs can be reached by this build.
const TLS_BUILT: bool = cfg!(all(feature = "tls", feature = "client"));

/// The roots a witness's TLS certificate is checked under: the operating system's
/// (`SSL_CERT_FILE` or `SSL_CERT_DIR` name a private CA's), loaded once.
#[cfg(all(feature = "tls", feature = "client"))]
fn connector() -> &'static crate::client::tls::Connector {
    static CONNECTOR: std::sync::OnceLock<crate::client::tls::Connector> =
        std::sync::OnceLock::new();
    CONNECTOR.get_or_init(crate::client::tls::Connector::default)
}

/// Sends one `add-checkpoint` request.
async fn post(url: &str, body: String) -> Result<Reply, String> {
    let at = endpoint(url)?;
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(&at.addr)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", at.addr))?;
        #[cfg(all(feature = "tls", feature = "client"))]
        if at.tls {
            use crate::client::tls::TlsFailure;
            let tls = connector()
                .connect(&at.host, stream)
                .await
                .map_err(|e| match e {
                    TlsFailure::Setup(m) | TlsFailure::Handshake(m) => {
                        format!("{}: {}", at.addr, m.replace("--ca FILE", "SSL_CERT_FILE"))
                    }
                })?;
            return send(tls, url, &at, body).await;
        }
        send(stream, url, &at, body).await
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer within {} seconds", REQUEST_TIMEOUT.as_secs()))?
}

/// Sends the request over `stream` (plain or TLS) and reads the answer.
async fn send<S>(stream: S, url: &str, at: &Endpoint, body: String) -> Result<Reply, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let addr = &at.addr;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with {addr}: {e}"))?;
    // The connection task ends when the request is answered and the sender dropped.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = &at.path;
    let req = Request::post(path.as_str())
        .header(HOST, at.authority.as_str())
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("request: {e}"))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("POST {url}{path}: {e}"))?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = Limited::new(resp.into_body(), MAX_ANSWER_LEN)
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e} (at most {MAX_ANSWER_LEN} bytes)"))?
        .to_bytes();
    let body = String::from_utf8(bytes.to_vec())
        .map_err(|_| format!("HTTP {status}: the answer is not UTF-8"))?;
    Ok(Reply {
        status,
        content_type,
        body,
    })
}

/// The consistency proof from `old` to `new`, read from the ledger in `dir` on a blocking thread.
async fn proof(dir: &Path, old: u64, new: u64) -> Result<ConsistencyProof, String> {
    if old == 0 || old == new {
        return Ok(ConsistencyProof::default());
    }
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let ledger = Ledger::open_read_only(&dir).map_err(|e| e.to_string())?;
        ledger
            .consistency(old, new)
            .map(|(_, _, p)| p)
            .map_err(|e| format!("consistency proof from {old} to {new}: {e}"))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Asks `witness` (which has a URL) to cosign `cp`, the stored checkpoint, starting from `hint`,
/// the size it is believed to have cosigned; stores its cosignature in the ledger in `dir`.
pub async fn ask(
    dir: PathBuf,
    witness: ConfiguredWitness,
    cp: StoredCheckpoint,
    hint: u64,
) -> Outcome {
    match ask_inner(&dir, &witness, &cp, hint).await {
        Ok(o) => o,
        Err(e) => Outcome::Failed(e),
    }
}

async fn ask_inner(
    dir: &Path,
    witness: &ConfiguredWitness,
    cp: &StoredCheckpoint,
    hint: u64,
) -> Result<Outcome, String> {
    let url = witness
        .url
        .as_deref()
        .ok_or("no URL is configured for it (evledger witness add VKEY --url URL)")?;
    let mut old = if hint <= cp.size { hint } else { 0 };
    let mut attempts = 0;
    let reply = loop {
        attempts += 1;
        let req = AddCheckpoint {
            old_size: old,
            proof: proof(dir, old, cp.size).await?,
            note: cp.note.clone(),
        };
        let reply = post(url, req.to_body()).await?;
        if reply.status != 409 {
            break reply;
        }
        let known = parse_size(&reply)?;
        if known > cp.size {
            return Err(format!(
                "it has cosigned size {known}, larger than this checkpoint (size {}): it saw a longer history of this log",
                cp.size
            ));
        }
        if known == old || attempts == 2 {
            return Err(format!(
                "409 Conflict at size {known}: it refuses size {} with this root (a different tree of that size?)",
                cp.size
            ));
        }
        old = known;
    };
    if reply.status != 200 {
        let first = reply.body.lines().next().unwrap_or("").trim();
        return Err(format!(
            "HTTP {}: {}",
            reply.status,
            crate::terminal::escape(first)
        ));
    }
    let name = witness.verifier.name();
    let key_id = witness.verifier.key_id();
    let mut lines = Vec::new();
    for line in reply.body.lines() {
        // tlog-witness: ignore cosignatures of unknown keys.
        if let Ok(sig) = NoteSignature::parse_line(line)
            && sig.name == name
            && sig.key_id == key_id
        {
            lines.push(line.to_owned());
        }
    }
    if lines.is_empty() {
        return Err(format!(
            "HTTP 200 without a signature line of its key ({name}, key id {})",
            crate::hex::encode(&key_id)
        ));
    }
    let mut note = cp.note.clone();
    for l in &lines {
        note.push_str(l);
        note.push('\n');
    }
    let dir = dir.to_path_buf();
    let size = cp.size;
    let published = tokio::task::spawn_blocking(move || -> Result<bool, String> {
        let mut ledger = Ledger::open(&dir).map_err(|e: LedgerError| e.to_string())?;
        let collected = cosignatures::collect(&mut ledger, &[&note])
            .map_err(|(_, e): (usize, CollectError)| format!("its answer was not stored: {e}"))?;
        Ok(collected.first().is_some_and(|c| c.published))
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok(Outcome::Cosigned { size, published })
}

/// The size of a 409 answer (`text/x.tlog.size`: decimal, then a newline).
fn parse_size(reply: &Reply) -> Result<u64, String> {
    let media = reply.content_type.split(';').next().unwrap_or("").trim();
    let size = reply
        .body
        .strip_suffix('\n')
        .and_then(crate::checkpoint::consistency::parse_decimal);
    match size {
        Some(s) if media.eq_ignore_ascii_case(SIZE_CONTENT_TYPE) => Ok(s),
        _ => Err(format!(
            "409 Conflict without a size (Content-Type {:?}, body {:?}): not a tlog-witness answer",
            reply.content_type,
            crate::terminal::escape(reply.body.chars().take(80).collect::<String>().as_str())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::endpoint;

    #[test]
    fn endpoints_keep_the_prefix_and_default_the_port() {
        let e = endpoint("http://127.0.0.1:7380").unwrap();
        assert_eq!(
            (
                e.addr.as_str(),
                e.authority.as_str(),
                e.path.as_str(),
                e.tls
            ),
            ("127.0.0.1:7380", "127.0.0.1:7380", "/add-checkpoint", false)
        );
        let e = endpoint("http://w.example/witness/").unwrap();
        assert_eq!(
            (e.addr.as_str(), e.authority.as_str(), e.path.as_str()),
            ("w.example:80", "w.example", "/witness/add-checkpoint")
        );
        assert!(endpoint("http://").is_err());
        assert!(
            endpoint("ftp://w.example")
                .unwrap_err()
                .contains("not an http")
        );
    }

    #[test]
    fn https_endpoints_default_to_443_or_say_tls_is_not_built() {
        let e = endpoint("https://[::1]/w");
        if super::TLS_BUILT {
            let e = e.unwrap();
            assert_eq!(
                (e.addr.as_str(), e.host.as_str(), e.path.as_str(), e.tls),
                ("[::1]:443", "::1", "/w/add-checkpoint", true)
            );
        } else {
            let e = e.unwrap_err();
            assert!(e.contains("feature `tls`"), "{e}");
        }
    }
}
