//! The service's configuration: one TOML file (`evledger serve --config FILE`) whose every key
//! has a default, with command-line flags overriding it (`specs/service.md`, "Configuration").
//!
//! Reader tokens are stored as their SHA-256, never in clear: a leaked configuration file does
//! not let anyone read the ledger.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::evidence::KINDS;
use crate::statement::MAX_STATEMENT_LEN;

/// The address `evledger serve` listens on by default: loopback only, so a service started with
/// no arguments is reachable from this machine alone.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// How long a registration waits for its receipt before it is answered `202 Accepted` instead
/// of `201 Created`, by default. The writer signs a checkpoint right after each commit, so a
/// receipt is normally ready well within it.
pub const DEFAULT_REGISTRATION_WAIT: Duration = Duration::from_millis(200);

/// The longest registration wait accepted: a client holding its connection longer than this is
/// better served by polling.
pub const MAX_REGISTRATION_WAIT: Duration = Duration::from_secs(30);

/// How often, at most, the writer signs a checkpoint, by default: zero, after every batch, so a
/// receipt is ready one checkpoint signature after its commit (well within the 1 s the
/// service promises by default).
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::ZERO;

/// The longest checkpoint interval accepted: a registration's receipt waits up to this long, and
/// so do monitors and witnesses for its entry.
pub const MAX_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(60);

/// The `Retry-After` of a `202` or `204`, in seconds, by default: about one checkpoint cadence.
pub const DEFAULT_RETRY_AFTER_SECS: u32 = 1;

/// The largest uploaded document, by default: the statement limit, the one body limit of the
/// service.
pub const DEFAULT_MAX_DOCUMENT: usize = MAX_STATEMENT_LEN;

/// The largest document an operator may allow: SQLite keeps a document as one blob, and a body
/// is held in memory while it is hashed.
pub const MAX_MAX_DOCUMENT: usize = 16 << 20;

/// Uploaded documents not yet held by any entry, at most, by default: bounds the disk an
/// anonymous uploader can fill (with the size limit, 1 GiB).
pub const DEFAULT_MAX_PENDING_DOCUMENTS: usize = 1024;

/// How long in-flight requests may take to finish after SIGTERM or SIGINT, by default.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The default sequencing lease (`lease_ttl_ms`): renewed every third of it, so a sequencer that
/// died is replaced within about 13 s.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);

/// Everything `evledger serve` is configured with, after the file and the flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The ledger directory.
    pub ledger: PathBuf,
    /// The most connections open at once from one client IP address (`limits.max_connections_per_client`).
    pub max_connections_per_client: usize,
    /// The most connections open at once in all (`limits.max_connections`).
    pub max_connections: usize,
    /// How long a registration waits for its receipt before it is answered `202`. Zero answers
    /// every registration `202` at its commit.
    pub registration_wait: Duration,
    /// The least time between two checkpoints the writer signs (`checkpoint_interval_ms`); zero
    /// signs one after every batch.
    pub checkpoint_interval: Duration,
    /// The `Retry-After` of `202` and `204` answers, in seconds.
    pub retry_after_secs: u32,
    /// The largest uploaded document, in bytes.
    pub max_document: usize,
    /// Uploaded documents not held by any entry yet, at most.
    pub max_pending_documents: usize,
    /// How long in-flight requests may take to finish after a stop signal.
    pub shutdown_grace: Duration,
    /// Who may read what.
    pub access: Access,
    /// The certificate chain and key to serve HTTPS with (`tls_cert`, `tls_key`); plain HTTP
    /// when `None`.
    pub tls: Option<TlsFiles>,
    /// How long the sequencing lease lasts unless renewed (`lease_ttl_ms`): on a PostgreSQL
    /// ledger, how soon another instance takes over from one that died.
    pub lease_ttl: Duration,
}

/// The PEM files `evledger serve` serves HTTPS with (`specs/service.md`, "TLS").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, the service's own certificate first.
    pub cert: PathBuf,
    /// The private key of the first certificate.
    pub key: PathBuf,
}

/// Who may read statements and documents (`specs/service.md`, "Who may read").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// Evidence kinds anyone may read.
    pub public_kinds: BTreeSet<String>,
    /// Whether RFC 9942 receipts are served to anyone who names the entry hash. A receipt holds
    /// only what the tiles publish (the index, the tree size, path hashes, a signed root).
    pub public_receipts: bool,
    /// The readers with a bearer token.
    pub readers: Vec<Reader>,
}

/// A client that reads with a bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reader {
    /// The operator's name for it, for logs.
    pub name: String,
    /// SHA-256 of its token.
    pub token_sha256: [u8; 32],
    /// The kinds it may read; `None` for every kind.
    pub kinds: Option<BTreeSet<String>>,
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            // The constant parses: it is a literal loopback address and port.
            listen: DEFAULT_LISTEN.parse().expect("a valid socket address"),
            ledger: PathBuf::from("ledger"),
            registration_wait: DEFAULT_REGISTRATION_WAIT,
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            max_connections_per_client: super::limits::DEFAULT_PER_CLIENT,
            max_connections: super::limits::DEFAULT_TOTAL,
            retry_after_secs: DEFAULT_RETRY_AFTER_SECS,
            max_document: DEFAULT_MAX_DOCUMENT,
            max_pending_documents: DEFAULT_MAX_PENDING_DOCUMENTS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            access: Access {
                public_receipts: true,
                ..Access::default()
            },
            tls: None,
            lease_ttl: DEFAULT_LEASE_TTL,
        }
    }
}

/// Why a configuration was refused: the file, the key path and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {at}: {reason}")]
pub struct ConfigError {
    /// The configuration file, or `--FLAG` for a flag.
    pub file: String,
    /// The key path (`readers[1].token_sha256`).
    pub at: String,
    /// What is wrong, with a hint where one helps.
    pub reason: String,
}

/// The file, as written: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<String>,
    ledger: Option<PathBuf>,
    registration_wait_ms: Option<u64>,
    checkpoint_interval_ms: Option<u64>,
    retry_after_secs: Option<u32>,
    public_kinds: Option<Vec<String>>,
    public_receipts: Option<bool>,
    shutdown_grace_secs: Option<u64>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    lease_ttl_ms: Option<u64>,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    readers: Vec<FileReader>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limits {
    max_document_bytes: Option<usize>,
    max_pending_documents: Option<usize>,
    max_connections_per_client: Option<usize>,
    max_connections: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileReader {
    name: String,
    token_sha256: String,
    kinds: Vec<String>,
}

/// What the command line says; each `Some` overrides the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--ledger` (or `EVLEDGER_DIR`).
    pub ledger: Option<PathBuf>,
    /// `--registration-wait-ms`.
    pub registration_wait_ms: Option<u64>,
    /// `--checkpoint-interval-ms`.
    pub checkpoint_interval_ms: Option<u64>,
    /// `--public-kind`, repeated; replaces the file's list when given.
    pub public_kinds: Option<Vec<String>>,
    /// `--max-document-bytes`.
    pub max_document_bytes: Option<usize>,
    /// `--tls-cert`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`.
    pub tls_key: Option<PathBuf>,
    /// `--lease-ttl-ms`.
    pub lease_ttl_ms: Option<u64>,
}

impl ServeConfig {
    /// The configuration of `file` (the defaults when `None`), with `flags` over it.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file and key: unreadable file, bad TOML, an unknown key, a
    /// value out of range, an unknown evidence kind, a token hash that is not 64 hex digits, or
    /// two readers with one name or one token.
    pub fn load(file: Option<&Path>, flags: &Overrides) -> Result<ServeConfig, ConfigError> {
        let (name, parsed) = match file {
            None => ("(defaults)".to_owned(), File::default()),
            Some(path) => {
                let name = path.display().to_string();
                let err = |at: &str, reason: String| ConfigError {
                    file: name.clone(),
                    at: at.to_owned(),
                    reason,
                };
                let text = std::fs::read_to_string(path).map_err(|e| err("file", e.to_string()))?;
                let de =
                    toml::Deserializer::parse(&text).map_err(|e| err("toml", e.to_string()))?;
                let parsed: File = serde_path_to_error::deserialize(de).map_err(|e| {
                    let at = e.path().to_string();
                    err(&at, e.into_inner().message().trim_end().to_owned())
                })?;
                (name, parsed)
            }
        };
        build(&name, parsed, flags)
    }
}

fn build(name: &str, f: File, flags: &Overrides) -> Result<ServeConfig, ConfigError> {
    let err = |at: &str, reason: String| ConfigError {
        file: name.to_owned(),
        at: at.to_owned(),
        reason,
    };
    let mut c = ServeConfig::default();
    if let Some(l) = f.listen {
        c.listen = l.parse().map_err(|_| {
            err(
                "listen",
                format!("{l:?} is not an address and port, e.g. \"127.0.0.1:8080\""),
            )
        })?;
    }
    if let Some(d) = f.ledger {
        c.ledger = d;
    }
    if let Some(ms) = f.registration_wait_ms {
        c.registration_wait = wait(ms).map_err(|r| err("registration_wait_ms", r))?;
    }
    if let Some(ms) = f.checkpoint_interval_ms {
        c.checkpoint_interval =
            checkpoint_interval(ms).map_err(|r| err("checkpoint_interval_ms", r))?;
    }
    if let Some(ms) = f.lease_ttl_ms {
        c.lease_ttl = lease_ttl(ms).map_err(|r| err("lease_ttl_ms", r))?;
    }
    if let Some(s) = f.retry_after_secs {
        if s == 0 || s > 3600 {
            return Err(err(
                "retry_after_secs",
                format!("{s} is not between 1 and 3600 seconds"),
            ));
        }
        c.retry_after_secs = s;
    }
    if let Some(kinds) = f.public_kinds {
        c.access.public_kinds =
            kind_set(&kinds).map_err(|(i, r)| err(&format!("public_kinds[{i}]"), r))?;
    }
    if let Some(p) = f.public_receipts {
        c.access.public_receipts = p;
    }
    if let Some(s) = f.shutdown_grace_secs {
        if s > 3600 {
            return Err(err(
                "shutdown_grace_secs",
                format!("{s} is more than 3600 seconds"),
            ));
        }
        c.shutdown_grace = Duration::from_secs(s);
    }
    for (key, v, slot) in [
        (
            "limits.max_connections_per_client",
            f.limits.max_connections_per_client,
            &mut c.max_connections_per_client,
        ),
        (
            "limits.max_connections",
            f.limits.max_connections,
            &mut c.max_connections,
        ),
    ] {
        match v {
            Some(0) => return Err(err(key, "must be at least 1".into())),
            Some(n) => *slot = n,
            None => {}
        }
    }
    if let Some(n) = f.limits.max_document_bytes {
        c.max_document = document_limit(n).map_err(|r| err("limits.max_document_bytes", r))?;
    }
    if let Some(n) = f.limits.max_pending_documents {
        if n == 0 {
            return Err(err(
                "limits.max_pending_documents",
                "0 would refuse every upload; remove the key for the default".into(),
            ));
        }
        c.max_pending_documents = n;
    }
    for (i, r) in f.readers.into_iter().enumerate() {
        let at = |k: &str| format!("readers[{i}].{k}");
        if r.name.trim().is_empty() {
            return Err(err(&at("name"), "is empty".into()));
        }
        let token_sha256 = crate::hex::decode_array::<32>(&r.token_sha256.to_ascii_lowercase())
            .filter(|_| r.token_sha256.len() == 64)
            .ok_or_else(|| {
                err(
                    &at("token_sha256"),
                    "is not 64 hex digits: write the SHA-256 of the token, e.g. `printf %s \"$TOKEN\" | sha256sum`".into(),
                )
            })?;
        let kinds = if r.kinds.iter().any(|k| k == "*") {
            if r.kinds.len() != 1 {
                return Err(err(
                    &at("kinds"),
                    "\"*\" (every kind) stands alone in the list".into(),
                ));
            }
            None
        } else if r.kinds.is_empty() {
            return Err(err(
                &at("kinds"),
                "is empty: name the kinds this reader may read, or [\"*\"] for every kind".into(),
            ));
        } else {
            Some(kind_set(&r.kinds).map_err(|(j, why)| err(&at(&format!("kinds[{j}]")), why))?)
        };
        for (j, other) in c.access.readers.iter().enumerate() {
            if other.name == r.name {
                return Err(err(
                    &at("name"),
                    format!("{:?} is also readers[{j}]'s name", r.name),
                ));
            }
            if other.token_sha256 == token_sha256 {
                return Err(err(
                    &at("token_sha256"),
                    format!("is also readers[{j}]'s token: give each reader its own"),
                ));
            }
        }
        c.access.readers.push(Reader {
            name: r.name,
            token_sha256,
            kinds,
        });
    }
    let flag = |f: &str, reason: String| ConfigError {
        file: format!("--{f}"),
        at: "value".into(),
        reason,
    };
    if let Some(l) = flags.listen {
        c.listen = l;
    }
    if let Some(d) = &flags.ledger {
        c.ledger = d.clone();
    }
    if let Some(ms) = flags.registration_wait_ms {
        c.registration_wait = wait(ms).map_err(|r| flag("registration-wait-ms", r))?;
    }
    if let Some(ms) = flags.checkpoint_interval_ms {
        c.checkpoint_interval =
            checkpoint_interval(ms).map_err(|r| flag("checkpoint-interval-ms", r))?;
    }
    if let Some(ms) = flags.lease_ttl_ms {
        c.lease_ttl = lease_ttl(ms).map_err(|r| flag("lease-ttl-ms", r))?;
    }
    if let Some(kinds) = &flags.public_kinds {
        c.access.public_kinds = kind_set(kinds).map_err(|(_, r)| flag("public-kind", r))?;
    }
    if let Some(n) = flags.max_document_bytes {
        c.max_document = document_limit(n).map_err(|r| flag("max-document-bytes", r))?;
    }
    c.tls = match (
        flags.tls_cert.clone().or(f.tls_cert),
        flags.tls_key.clone().or(f.tls_key),
    ) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(err(
                "tls_key",
                "is missing: tls_cert (--tls-cert) needs the private key of its certificate, tls_key (--tls-key)".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(err(
                "tls_cert",
                "is missing: tls_key (--tls-key) needs the certificate chain it is the key of, tls_cert (--tls-cert)".into(),
            ));
        }
    };
    Ok(c)
}

fn wait(ms: u64) -> Result<Duration, String> {
    let d = Duration::from_millis(ms);
    if d > MAX_REGISTRATION_WAIT {
        return Err(format!(
            "{ms} ms is more than {} ms; a client waiting longer polls instead",
            MAX_REGISTRATION_WAIT.as_millis()
        ));
    }
    Ok(d)
}

fn checkpoint_interval(ms: u64) -> Result<Duration, String> {
    let d = Duration::from_millis(ms);
    if d > MAX_CHECKPOINT_INTERVAL {
        return Err(format!(
            "{ms} ms is more than {} ms: receipts would wait that long",
            MAX_CHECKPOINT_INTERVAL.as_millis()
        ));
    }
    Ok(d)
}

/// A lease shorter than 100 ms would be renewed more often than a loaded database answers; one
/// longer than 10 minutes leaves the log without a sequencer that long after a crash.
fn lease_ttl(ms: u64) -> Result<Duration, String> {
    if !(100..=600_000).contains(&ms) {
        return Err(format!("{ms} ms is not between 100 and 600000 ms"));
    }
    Ok(Duration::from_millis(ms))
}

fn document_limit(n: usize) -> Result<usize, String> {
    if n == 0 || n > MAX_MAX_DOCUMENT {
        return Err(format!("{n} is not between 1 and {MAX_MAX_DOCUMENT} bytes"));
    }
    Ok(n)
}

fn kind_set(kinds: &[String]) -> Result<BTreeSet<String>, (usize, String)> {
    let mut set = BTreeSet::new();
    for (i, k) in kinds.iter().enumerate() {
        if !KINDS.contains(&k.as_str()) {
            return Err((
                i,
                format!(
                    "{k:?} is not an evidence kind; the kinds are {}",
                    KINDS.join(", ")
                ),
            ));
        }
        set.insert(k.clone());
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServeConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("serve.toml");
        std::fs::write(&p, text).unwrap();
        ServeConfig::load(Some(&p), &Overrides::default())
    }

    #[test]
    fn no_file_is_the_defaults() {
        let c = ServeConfig::load(None, &Overrides::default()).unwrap();
        assert_eq!(c, ServeConfig::default());
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.listen.ip().is_loopback());
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("serve.toml");
        std::fs::write(
            &p,
            "listen = \"127.0.0.1:9000\"\nregistration_wait_ms = 50\n",
        )
        .unwrap();
        let c = ServeConfig::load(
            Some(&p),
            &Overrides {
                registration_wait_ms: Some(0),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.registration_wait, Duration::ZERO);
    }

    #[test]
    fn readers_and_kinds_are_checked_with_the_key_named() {
        let h = "ab".repeat(32);
        let ok = parse(&format!(
            "public_kinds = [\"claim\"]\n[[readers]]\nname = \"buyer\"\ntoken_sha256 = \"{h}\"\nkinds = [\"lab-result\"]\n"
        ))
        .unwrap();
        assert_eq!(ok.access.readers.len(), 1);
        assert!(ok.access.public_kinds.contains("claim"));
        let e = parse("[[readers]]\nname = \"b\"\ntoken_sha256 = \"xyz\"\nkinds = [\"*\"]\n")
            .unwrap_err();
        assert_eq!(e.at, "readers[0].token_sha256");
        let e = parse("public_kinds = [\"nope\"]\n").unwrap_err();
        assert_eq!(e.at, "public_kinds[0]");
        let e = parse("colour = 1\n").unwrap_err();
        assert!(e.reason.contains("unknown field"), "{e}");
        let e = parse(&format!(
            "[[readers]]\nname = \"a\"\ntoken_sha256 = \"{h}\"\nkinds = [\"*\"]\n[[readers]]\nname = \"b\"\ntoken_sha256 = \"{h}\"\nkinds = [\"claim\"]\n"
        ))
        .unwrap_err();
        assert_eq!(e.at, "readers[1].token_sha256");
        let e = parse("registration_wait_ms = 60000\n").unwrap_err();
        assert_eq!(e.at, "registration_wait_ms");
        let e = parse("lease_ttl_ms = 99\n").unwrap_err();
        assert_eq!(e.at, "lease_ttl_ms");
        assert!(e.reason.contains("between 100 and 600000"), "{e}");
        let c = parse("lease_ttl_ms = 1500\n").unwrap();
        assert_eq!(c.lease_ttl, Duration::from_millis(1500));
        let e = parse("checkpoint_interval_ms = 60001\n").unwrap_err();
        assert_eq!(e.at, "checkpoint_interval_ms");
        let c = parse("checkpoint_interval_ms = 60000\n").unwrap();
        assert_eq!(c.checkpoint_interval, MAX_CHECKPOINT_INTERVAL);
        let e = parse("[limits]\nmax_document_bytes = 0\n").unwrap_err();
        assert_eq!(e.at, "limits.max_document_bytes");
    }

    #[test]
    fn tls_needs_both_files_from_the_file_or_the_flags() {
        let c = parse("tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n").unwrap();
        assert_eq!(
            c.tls,
            Some(TlsFiles {
                cert: "cert.pem".into(),
                key: "key.pem".into()
            })
        );
        let e = parse("tls_cert = \"cert.pem\"\n").unwrap_err();
        assert_eq!(e.at, "tls_key");
        let e = parse("tls_key = \"key.pem\"\n").unwrap_err();
        assert_eq!(e.at, "tls_cert");
        let c = ServeConfig::load(
            None,
            &Overrides {
                tls_cert: Some("c.pem".into()),
                tls_key: Some("k.pem".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.tls.unwrap().cert, PathBuf::from("c.pem"));
    }
}
