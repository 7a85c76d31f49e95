//! `evledger serve`: the transparency service over HTTP (`specs/service.md`).

use std::path::{Path, PathBuf};

use super::CliError;
use crate::serve::config::{Overrides, ServeConfig};
use crate::serve::{self, ServeError};

/// The flags of `evledger serve` beyond those `Command::Serve` names.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ServeFlags {
    /// Serve HTTPS with this PEM certificate chain (the service's certificate first); needs
    /// --tls-key. Overrides the file's `tls_cert`.
    ///
    /// Example: evledger serve --tls-cert cert.pem --tls-key key.pem --listen 0.0.0.0:8443
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of the --tls-cert certificate (PKCS#8, PKCS#1 or SEC1). Overrides the
    /// file's `tls_key`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Sign a checkpoint at most once per MS milliseconds: after a batch if MS have passed since
    /// the last, else when they have; 0 signs after every batch [default: 0, at most 60000].
    /// Registrations are acknowledged at their commit either way; receipts wait for the
    /// checkpoint.
    #[arg(long, value_name = "MS")]
    pub checkpoint_interval_ms: Option<u64>,
    /// On a PostgreSQL ledger shared by several instances: the sequencing lease lasts MS
    /// milliseconds unless renewed, so another instance takes over that soon after the
    /// sequencer dies [default: 10000, 100 to 600000]. No effect on a SQLite ledger.
    #[arg(long, value_name = "MS")]
    pub lease_ttl_ms: Option<u64>,
}

impl ServeFlags {
    /// These flags as configuration overrides.
    pub fn overrides(self) -> Overrides {
        Overrides {
            tls_cert: self.tls_cert,
            tls_key: self.tls_key,
            checkpoint_interval_ms: self.checkpoint_interval_ms,
            lease_ttl_ms: self.lease_ttl_ms,
            ..Overrides::default()
        }
    }
}

/// `evledger serve`.
pub fn serve(config: Option<&Path>, flags: Overrides) -> Result<(), CliError> {
    let config = ServeConfig::load(config, &flags).map_err(|e| {
        CliError::new(e.to_string())
            .hint("every key of the configuration file is described in specs/service.md, \"Configuration\"")
    })?;
    let dir = config.ledger.clone();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    serve::serve(&config, |addr| {
        // The first line on standard output, which scripts and tests wait for; `println!`
        // flushes at the newline.
        println!("listening on {scheme}://{addr}");
        eprintln!(
            "serving the ledger in {} as a transparency service; stop with Ctrl-C or SIGTERM",
            dir.display()
        );
    })
    .map_err(|e| match e {
        ServeError::Ledger(l) => CliError::from(l),
        ServeError::Tls(t) => tls_error(t),
        e @ ServeError::WouldFork(_) => CliError::new(e.to_string()).hint(
            "bring the database forward first: restore the missing transactions from the old primary's WAL, or a backup and its WAL archive (specs/store.md, \"Replication\"); never remove the record to get past this",
        ),
        e @ ServeError::Io { .. } => CliError::new(e.to_string())
            .hint("choose another address with --listen ADDR (port 0 picks a free one)"),
    })?;
    eprintln!("stopped");
    Ok(())
}

/// The message and hint for TLS files `evledger serve` or `evledger witness serve` cannot use.
pub(super) fn tls_error(t: serve::tls::TlsError) -> CliError {
    let hint = match t {
        serve::tls::TlsError::NotBuilt => {
            "rebuild with `--features tls`, or serve plain HTTP behind a TLS-terminating proxy (specs/service.md, \"TLS\")"
        }
        serve::tls::TlsError::Mismatch { .. } => {
            "give the key the certificate was issued for, or the certificate of this key"
        }
        _ => {
            "--tls-cert takes a PEM certificate chain (the server's certificate first), --tls-key its PEM private key (PKCS#8, PKCS#1 or SEC1)"
        }
    };
    CliError::new(t.to_string()).hint(hint)
}
