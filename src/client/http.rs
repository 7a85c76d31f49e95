//! A small blocking HTTP/1.1 client over hyper 1, for the clients of `evledger serve`.
//!
//! Each request opens its own connection, sends one request with `Host` set, reads the answer
//! under a byte limit and a time limit, and closes. `https://` runs TLS over the connection
//! (feature `tls`, [`super::tls`]); a build without it refuses `https://` URLs with a hint
//! ([`ClientError::HttpsUnsupported`]). [`Client::connect`] is the one place that opens a
//! connection.

use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

use crate::cbor::{self, Value};

/// How long a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one request may take, from connecting to the last byte of the answer: the service
/// answers a registration once it is durable and a bundle once it is built.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a request failed before an answer was read.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not one this client can use.
    #[error("{url}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An `https://` URL, to a build without the `tls` feature.
    #[error(
        "{0}: https is not supported by this build (no `tls` feature); use http:// on a trusted network or through a local TLS-terminating proxy"
    )]
    HttpsUnsupported(String),
    /// The CA file of `--ca` cannot be used.
    #[error("--ca {0}")]
    CaFile(String),
    /// The TLS connection failed: the service's certificate was refused, no roots to check it
    /// with, or the peer does not speak TLS.
    #[error("{method} {url}: {reason}")]
    Tls {
        /// The request method.
        method: Method,
        /// The full URL.
        url: String,
        /// What failed, with a hint.
        reason: String,
    },
    /// The connection could not be opened, or broke.
    #[error("{method} {url}: {reason}")]
    Transport {
        /// The request method.
        method: Method,
        /// The full URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// No full answer within [`REQUEST_TIMEOUT`].
    #[error("{method} {url}: no answer within {} seconds", REQUEST_TIMEOUT.as_secs())]
    Timeout {
        /// The request method.
        method: Method,
        /// The full URL.
        url: String,
    },
    /// The answer's body is longer than the caller accepts.
    #[error("{method} {url}: the answer is larger than {max} bytes")]
    TooLarge {
        /// The request method.
        method: Method,
        /// The full URL.
        url: String,
        /// The limit.
        max: usize,
    },
    /// The runtime could not start.
    #[error("starting the HTTP client: {0}")]
    Runtime(std::io::Error),
}

/// A service's base URL: `http[s]://HOST[:PORT][/PREFIX]`; resources are joined to the prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    /// `https://`: TLS over the connection.
    https: bool,
    host: String,
    port: u16,
    /// The path prefix, without a trailing slash (empty for the root).
    prefix: String,
}

impl BaseUrl {
    /// Parses a base URL.
    ///
    /// # Errors
    /// [`ClientError::BadUrl`] for anything but `http[s]://HOST[:PORT][/PREFIX]` with no query
    /// or fragment; [`ClientError::HttpsUnsupported`] for `https://` in a build without `tls`.
    pub fn parse(url: &str) -> Result<BaseUrl, ClientError> {
        let bad = |reason| ClientError::BadUrl {
            url: url.to_owned(),
            reason,
        };
        let (https, rest) = match (url.get(..7), url.get(..8)) {
            (_, Some(s)) if s.eq_ignore_ascii_case("https://") => (true, &url[8..]),
            (Some(s), _) if s.eq_ignore_ascii_case("http://") => (false, &url[7..]),
            _ => {
                return Err(bad(
                    "not an http:// or https:// URL (expected http://HOST:PORT)",
                ));
            }
        };
        if https && !cfg!(feature = "tls") {
            return Err(ClientError::HttpsUnsupported(url.to_owned()));
        }
        if rest.contains(['?', '#', '@']) || rest.chars().any(|c| c.is_whitespace()) {
            return Err(bad(
                "a base URL has no query, fragment, user name or white space",
            ));
        }
        let (authority, prefix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !p.contains(']') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number from 0 to 65535"))?,
            ),
            _ => (authority, if https { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(bad("the URL names no host"));
        }
        Ok(BaseUrl {
            https,
            host: host.to_owned(),
            port,
            prefix: prefix.trim_end_matches('/').to_owned(),
        })
    }

    /// The request target of `path` (which starts with `/`) under this base.
    pub fn target(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// The full URL of `path` under this base, for messages.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}://{}{}",
            self.scheme(),
            self.authority(),
            self.target(path)
        )
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }

    /// `HOST:PORT`, the `Host` header and the address to connect to.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Resolves a `Location` header against this base: an absolute URL on the same scheme, host
    /// and port, or an absolute path; returns the request target.
    ///
    /// # Errors
    /// [`ClientError::BadUrl`] for a relative path, another scheme, or another host.
    pub fn resolve_location(&self, location: &str) -> Result<String, ClientError> {
        if location.starts_with('/') && !location.starts_with("//") {
            return Ok(location.to_owned());
        }
        let other = BaseUrl::parse(location)?;
        if other.https == self.https
            && other.host.eq_ignore_ascii_case(&self.host)
            && other.port == self.port
        {
            return Ok(if other.prefix.is_empty() {
                "/".to_owned()
            } else {
                other.prefix
            });
        }
        Err(ClientError::BadUrl {
            url: location.to_owned(),
            reason: "the service redirected to another host; follow it by hand if you trust it",
        })
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}{}", self.scheme(), self.authority(), self.prefix)
    }
}

/// An answer: status, the headers this client reads, and the body.
#[derive(Clone, Debug)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// `Location`, if any.
    pub location: Option<String>,
    /// `Retry-After` in seconds, if given as a number.
    pub retry_after: Option<u64>,
    /// The body.
    pub body: Vec<u8>,
}

/// An RFC 9290 concise problem details body: title (key -1) and detail (key -2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProblemDetails {
    /// The kind of problem.
    pub title: Option<String>,
    /// This occurrence.
    pub detail: Option<String>,
}

impl Response {
    /// The RFC 9290 problem details of an error answer, if its body is one.
    pub fn problem(&self) -> Option<ProblemDetails> {
        let v = cbor::decode(&self.body).ok()?;
        let text = |k: i64| {
            v.get(&Value::int(k))
                .and_then(|t| t.as_text())
                .map(str::to_owned)
        };
        let p = ProblemDetails {
            title: text(-1),
            detail: text(-2),
        };
        (p.title.is_some() || p.detail.is_some()).then_some(p)
    }

    /// What an error answer says, in one line: status, and title and detail when the body is
    /// a problem-details body, else the start of a text body.
    pub fn describe(&self) -> String {
        match self.problem() {
            Some(p) => {
                let mut s = self.status.to_string();
                for part in [p.title, p.detail].into_iter().flatten() {
                    s.push_str(": ");
                    s.push_str(&part);
                }
                s
            }
            None => {
                let text = String::from_utf8_lossy(&self.body);
                let text: String = text.trim().chars().take(200).collect();
                if text.is_empty() {
                    format!("{} (no problem details)", self.status)
                } else {
                    format!("{}: {text}", self.status)
                }
            }
        }
    }
}

/// A blocking HTTP/1.1 client with an optional bearer token.
pub struct Client {
    runtime: tokio::runtime::Runtime,
    token: Option<String>,
    /// The roots `https://` is checked under.
    #[cfg(feature = "tls")]
    tls: super::tls::Connector,
}

impl Client {
    /// A client that sends `Authorization: Bearer TOKEN` with every request when `token` is set.
    ///
    /// # Errors
    /// [`ClientError::Runtime`] if the I/O runtime cannot start.
    pub fn new(token: Option<String>) -> Result<Client, ClientError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(ClientError::Runtime)?;
        Ok(Client {
            runtime,
            token,
            #[cfg(feature = "tls")]
            tls: super::tls::Connector::default(),
        })
    }

    /// Checks `https://` services' certificates under the PEM certificates of `ca` alone,
    /// instead of the operating system's roots: for a service whose certificate a private CA
    /// issued. `None` keeps the system roots.
    ///
    /// # Errors
    /// [`ClientError::CaFile`] naming the file: unreadable, no PEM certificate in it, or a
    /// build without the `tls` feature.
    pub fn with_ca(self, ca: Option<&std::path::Path>) -> Result<Client, ClientError> {
        let Some(ca) = ca else { return Ok(self) };
        #[cfg(feature = "tls")]
        {
            let tls = super::tls::Connector::with_ca(ca).map_err(ClientError::CaFile)?;
            Ok(Client { tls, ..self })
        }
        #[cfg(not(feature = "tls"))]
        Err(ClientError::CaFile(format!(
            "{}: this build has no TLS (the `tls` feature)",
            ca.display()
        )))
    }

    /// `GET` of `target` (a path under `base`), reading at most `max` bytes of body.
    ///
    /// # Errors
    /// [`ClientError`] when no full answer was read; any status is an answer.
    pub fn get(&self, base: &BaseUrl, target: &str, max: usize) -> Result<Response, ClientError> {
        self.request(base, Method::GET, target, None, max)
    }

    /// `POST` of `body` with `content_type` to `target` under `base`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn post(
        &self,
        base: &BaseUrl,
        target: &str,
        content_type: &str,
        body: Vec<u8>,
        max: usize,
    ) -> Result<Response, ClientError> {
        self.request(base, Method::POST, target, Some((content_type, body)), max)
    }

    fn request(
        &self,
        base: &BaseUrl,
        method: Method,
        target: &str,
        body: Option<(&str, Vec<u8>)>,
        max: usize,
    ) -> Result<Response, ClientError> {
        let url = base.url(target);
        let transport = |reason: String| ClientError::Transport {
            method: method.clone(),
            url: url.clone(),
            reason,
        };
        let mut req = Request::builder()
            .method(method.clone())
            .uri(base.target(target))
            .header(HOST, base.authority());
        if let Some(t) = &self.token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some((ct, bytes)) => req
                .header(CONTENT_TYPE, ct)
                .body(Full::new(Bytes::from(bytes))),
            None => req.body(Full::new(Bytes::new())),
        }
        .map_err(|e| transport(format!("building the request: {e}")))?;
        let exchange = async {
            let io = self.connect(base).await?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| Failed::Transport(e.to_string()))?;
            // The connection task ends when the exchange below is over or broken.
            tokio::spawn(conn);
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| Failed::Transport(e.to_string()))?;
            let (parts, body) = resp.into_parts();
            let header = |name| {
                parts
                    .headers
                    .get(name)
                    .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
                    .map(str::to_owned)
            };
            let (content_type, location) = (header(CONTENT_TYPE), header(hyper::header::LOCATION));
            let retry_after =
                header(hyper::header::RETRY_AFTER).and_then(|v| v.trim().parse::<u64>().ok());
            let body = match Limited::new(body, max).collect().await {
                Ok(b) => b.to_bytes().to_vec(),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    return Err(Failed::TooLarge);
                }
                Err(e) => return Err(Failed::Transport(format!("reading the answer: {e}"))),
            };
            Ok(Response {
                status: parts.status.as_u16(),
                content_type,
                location,
                retry_after,
                body,
            })
        };
        match self
            .runtime
            .block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, exchange).await })
        {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(Failed::TooLarge)) => Err(ClientError::TooLarge { method, url, max }),
            Ok(Err(Failed::Transport(e))) => Err(transport(e)),
            Ok(Err(Failed::Tls(reason))) => Err(ClientError::Tls {
                method,
                url,
                reason,
            }),
            Err(_) => Err(ClientError::Timeout { method, url }),
        }
    }

    /// Opens the connection for one request: TCP, then TLS for `https://` (within the same
    /// [`CONNECT_TIMEOUT`]).
    async fn connect(&self, base: &BaseUrl) -> Result<TokioIo<Box<dyn Stream>>, Failed> {
        let open = async {
            let tcp = Self::connect_tcp(base)
                .await
                .map_err(|e| Failed::Transport(e.to_string()))?;
            if !base.https {
                return Ok(Box::new(tcp) as Box<dyn Stream>);
            }
            #[cfg(feature = "tls")]
            {
                use super::tls::TlsFailure;
                match self.tls.connect(&base.host, tcp).await {
                    Ok(s) => Ok(Box::new(s) as Box<dyn Stream>),
                    Err(TlsFailure::Setup(e) | TlsFailure::Handshake(e)) => Err(Failed::Tls(e)),
                }
            }
            // `BaseUrl::parse` refuses https:// in a build without TLS.
            #[cfg(not(feature = "tls"))]
            Err(Failed::Tls("this build has no TLS".into()))
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, open).await {
            Ok(r) => r.map(TokioIo::new),
            Err(_) => Err(Failed::Transport(format!(
                "cannot connect within {} seconds",
                CONNECT_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Opens the TCP connection.
    async fn connect_tcp(base: &BaseUrl) -> std::io::Result<tokio::net::TcpStream> {
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect((base.host.as_str(), base.port)),
        )
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "cannot connect within {} seconds",
                    CONNECT_TIMEOUT.as_secs()
                ),
            )
        })??;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

/// A connection's byte stream, plain or TLS.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

/// How an exchange failed, inside [`Client::request`].
enum Failed {
    /// The body passed the caller's limit.
    TooLarge,
    /// The connection could not be opened or broke; the reason.
    Transport(String),
    /// The TLS connection could not be made; the reason.
    Tls(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let b = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(b.target("/entries"), "/entries");
        assert_eq!(b.url("/entries"), "http://127.0.0.1:8080/entries");
        let b = BaseUrl::parse("HTTP://log.example/scitt/").unwrap();
        assert_eq!(
            (b.authority(), b.target("/checkpoint")),
            ("log.example:80".to_owned(), "/scitt/checkpoint".to_owned())
        );
        assert_eq!(b.resolve_location("/entries/ab").unwrap(), "/entries/ab");
        assert_eq!(
            b.resolve_location("http://log.example/scitt/entries/ab")
                .unwrap(),
            "/scitt/entries/ab"
        );
        assert!(b.resolve_location("http://other.example/x").is_err());
        assert!(b.resolve_location("entries/ab").is_err());
        if cfg!(feature = "tls") {
            let b = BaseUrl::parse("https://log.example/scitt").unwrap();
            assert_eq!(b.authority(), "log.example:443");
            assert_eq!(b.url("/entries"), "https://log.example:443/scitt/entries");
            // A redirect may not drop TLS.
            assert!(b.resolve_location("http://log.example:443/x").is_err());
            assert_eq!(b.resolve_location("https://log.example/x").unwrap(), "/x");
        } else {
            assert!(matches!(
                BaseUrl::parse("https://log.example"),
                Err(ClientError::HttpsUnsupported(_))
            ));
        }
        for bad in [
            "log.example",
            "http://",
            "http://h:99999",
            "http://h/?q",
            "ftp://h",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn problem_details_are_read_and_described() {
        let body = cbor::encode(&Value::Map(vec![
            (Value::int(-1), Value::text("Bad Signature")),
            (Value::int(-2), Value::text("the signature does not verify")),
        ]));
        let r = Response {
            status: 400,
            content_type: None,
            location: None,
            retry_after: None,
            body,
        };
        assert_eq!(
            r.describe(),
            "400: Bad Signature: the signature does not verify"
        );
        let r = Response {
            body: b"oops\n".to_vec(),
            ..r
        };
        assert_eq!((r.problem(), r.describe()), (None, "400: oops".to_owned()));
    }
}
