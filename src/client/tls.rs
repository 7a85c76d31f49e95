//! `https://` for the clients (feature `tls`): rustls (TLS 1.3 and 1.2, the `ring` provider)
//! over the TCP connection `Client::connect` opens (`specs/service.md`, "Clients", "HTTP").
//!
//! The server's certificate is checked by rustls-webpki (RFC 5280 path building, the name
//! against the URL's host, RFC 6125) under one set of roots: the operating system's trusted
//! roots (`rustls-native-certs`), or, with `--ca FILE`, the PEM certificates of that file alone,
//! for a service whose certificate a private CA issued.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The roots `https://` connections are checked under, made at most once per client.
#[derive(Default)]
pub struct Connector {
    /// The configuration, or why none could be made (no usable system roots).
    config: OnceLock<Result<Arc<ClientConfig>, String>>,
}

/// Why a TLS connection could not be made.
#[derive(Debug)]
pub enum TlsFailure {
    /// The roots could not be loaded, or the host is not a valid server name.
    Setup(String),
    /// The handshake failed: the certificate was refused, or the peer does not speak TLS.
    Handshake(String),
}

impl Connector {
    /// A connector trusting only the PEM certificates of `ca`.
    ///
    /// # Errors
    /// What is wrong with the file, naming it: unreadable, no PEM certificate, or a certificate
    /// that cannot be a trust anchor.
    pub fn with_ca(ca: &Path) -> Result<Connector, String> {
        let at = |e: &dyn std::fmt::Display| format!("{}: {e}", ca.display());
        let pem = std::fs::read(ca).map_err(|e| at(&e))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| at(&format!("not a PEM certificate file: {e}")))?;
        if certs.is_empty() {
            return Err(at(
                &"holds no certificate (a PEM file of -----BEGIN CERTIFICATE----- blocks)",
            ));
        }
        let mut roots = RootCertStore::empty();
        for (i, c) in certs.into_iter().enumerate() {
            roots
                .add(c)
                .map_err(|e| at(&format!("certificate {}: {e}", i + 1)))?;
        }
        let connector = Connector::default();
        let _ = connector.config.set(Ok(config(roots)));
        Ok(connector)
    }

    /// Opens TLS over `tcp` to `host`, checking its certificate.
    ///
    /// # Errors
    /// [`TlsFailure`]: the roots, or the handshake.
    pub async fn connect(
        &self,
        host: &str,
        tcp: TcpStream,
    ) -> Result<TlsStream<TcpStream>, TlsFailure> {
        let config = self
            .config
            .get_or_init(system_roots)
            .clone()
            .map_err(TlsFailure::Setup)?;
        // An IPv6 literal comes bracketed from the URL; the name is the address.
        let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|e| TlsFailure::Setup(format!("{host} is not a server name: {e}")))?
            .to_owned();
        tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| {
                TlsFailure::Handshake(match e.get_ref().and_then(|r| r.downcast_ref()) {
                    Some(rustls::Error::InvalidCertificate(c)) => format!(
                        "the service's TLS certificate was refused ({c:?}); if a private CA issued it, give that CA's certificate with --ca FILE"
                    ),
                    _ => format!("TLS handshake failed: {e}"),
                })
            })
    }
}

/// The configuration of the operating system's trusted roots.
fn system_roots() -> Result<Arc<ClientConfig>, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (_, unusable) = roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found
            .errors
            .first()
            .map_or_else(|| format!("{unusable} unusable"), ToString::to_string);
        return Err(format!(
            "no trusted root certificates found in the system store ({why}); give the service's CA certificate with --ca FILE"
        ));
    }
    Ok(config(roots))
}

fn config(roots: RootCertStore) -> Arc<ClientConfig> {
    // ring's provider, as the service's (`serve::tls`): its one loss is the post-quantum hybrid
    // key exchange, which needs aws-lc-rs and so cmake and NASM (`specs/dependencies.md`).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut c = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        // The two versions are the provider's own; this cannot fail.
        .expect("TLS 1.3 and 1.2 with ring's suites")
        .with_root_certificates(roots)
        .with_no_client_auth();
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(c)
}
