//! HTTPS for `evledger serve --tls-cert FILE --tls-key FILE` (`specs/service.md`, "TLS"): rustls
//! (TLS 1.3 and 1.2, the `ring` provider) over each accepted TCP connection, before HTTP/1.1.
//!
//! The certificate chain and key are read once, at start: a missing file, a file with no PEM
//! certificate or key, or a key that is not the certificate's stops the service before it binds,
//! naming the file. Built without the `tls` feature, a configuration naming them is refused.

use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpStream;

use super::config::TlsFiles;

/// How long a client may take to complete the TLS handshake: as long as it may take to send a
/// request's headers (`HEADER_READ_TIMEOUT`), for the same reason: a client that connects and
/// sends nothing holds its connection for no longer.
pub const HANDSHAKE_TIMEOUT: Duration = super::HEADER_READ_TIMEOUT;

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The certificate file holds no PEM certificate, or a malformed one.
    #[error("{}: {reason}", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key file holds no PEM private key, or one rustls cannot use.
    #[error("{}: {reason}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The private key is not the key of the certificate.
    #[error(
        "the private key in {} is not the key of the certificate in {} (the first certificate of the file must be the service's own)",
        key.display(),
        cert.display()
    )]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// This build has no TLS.
    #[error("--tls-cert and --tls-key need a build with the `tls` feature, which this one lacks")]
    NotBuilt,
}

/// Either plain TCP, or TLS over it: what every accepted connection goes through.
#[derive(Clone)]
pub struct Acceptor {
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// An accepted connection, ready for HTTP/1.1.
pub enum Accepted {
    /// Plain HTTP.
    Plain(TcpStream),
    /// HTTPS: the handshake is done.
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl Acceptor {
    /// The acceptor of `files`: TLS with that certificate chain and key, or plain TCP for `None`.
    ///
    /// # Errors
    /// [`TlsError`] naming the file: unreadable, no PEM certificate or key in it, a key of a kind
    /// rustls does not sign with, or a key that is not the certificate's; [`TlsError::NotBuilt`]
    /// for files given to a build without the `tls` feature.
    pub fn new(files: Option<&TlsFiles>) -> Result<Acceptor, TlsError> {
        #[cfg(feature = "tls")]
        {
            let tls = files
                .map(|f| server_config(&f.cert, &f.key))
                .transpose()?
                .map(|c| tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(c)));
            Ok(Acceptor { tls })
        }
        #[cfg(not(feature = "tls"))]
        match files {
            Some(_) => Err(TlsError::NotBuilt),
            None => Ok(Acceptor {}),
        }
    }

    /// Whether connections are TLS.
    pub fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// Completes the TLS handshake of `stream`, within [`HANDSHAKE_TIMEOUT`]; a plain acceptor
    /// passes it through. `None` when the handshake fails or times out (plain HTTP sent to the
    /// TLS port, an untrusting client): the connection is closed, the reason logged.
    pub async fn accept(&self, stream: TcpStream) -> Option<Accepted> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            let peer = stream.peer_addr().ok();
            let why = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                Ok(Ok(s)) => return Some(Accepted::Tls(Box::new(s))),
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no handshake within {} s", HANDSHAKE_TIMEOUT.as_secs()),
            };
            super::log::tls_failed(peer, &why);
            return None;
        }
        Some(Accepted::Plain(stream))
    }
}

/// The rustls server configuration of a PEM certificate chain and key: TLS 1.3 and 1.2 with the
/// `ring` provider's default suites, no client certificates, ALPN `http/1.1`.
#[cfg(feature = "tls")]
fn server_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ServerConfig, TlsError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let bad_cert = |reason: String| TlsError::Certificate {
        path: cert.to_owned(),
        reason,
    };
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_cert(format!("not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(bad_cert(
            "holds no certificate (a PEM file of -----BEGIN CERTIFICATE----- blocks, the service's own first)".into(),
        ));
    }
    // A certificate rustls cannot parse would fail every handshake; say so now.
    if let Err(e) = rustls::server::ParsedCertificate::try_from(&chain[0]) {
        return Err(bad_cert(format!("the first certificate is malformed: {e}")));
    }
    let key_pem = read(key)?;
    let bad_key = |reason: String| TlsError::Key {
        path: key.to_owned(),
        reason,
    };
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        bad_key(match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "holds no private key (a PEM PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)"
                    .into()
            }
            e => format!("not a PEM private key: {e}"),
        })
    })?;
    // ring's provider: X25519, P-256 and P-384 key exchange; its post-quantum hybrid
    // (X25519MLKEM768) is aws-lc-rs's only, which needs cmake and NASM to build
    // (`specs/dependencies.md`, "TLS"), hence rustls's deprecation note.
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| bad_key(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => TlsError::Mismatch {
                cert: cert.to_owned(),
                key: key.to_owned(),
            },
            e => bad_key(format!("cannot be used: {e}")),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(all(test, feature = "tls"))]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let e = server_config(&cert, &key).unwrap_err();
        assert!(
            matches!(e, TlsError::Read { ref path, .. } if path == &cert),
            "{e}"
        );
        std::fs::write(&cert, "not pem\n").unwrap();
        let e = server_config(&cert, &key).unwrap_err().to_string();
        assert!(e.contains("cert.pem: holds no certificate"), "{e}");
    }
}
