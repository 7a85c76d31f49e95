//! `evledger submit`, `evledger bundle --from` and `evledger monitor`: the clients of a
//! transparency service (`specs/service.md`, "Clients"). None of them opens a ledger.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use super::witness_cmds::parse_log_key;
use super::{CliError, outln};
use crate::bundle::BundleLimits;
use crate::client::http::{BaseUrl, Client, ClientError};
use crate::client::monitor::{Monitor, MonitorError, Watched};
use crate::client::submit::{Poll, SubmitError, submit as submit_one};
use crate::keys::KeyId;
use crate::statement::MAX_STATEMENT_LEN;
use crate::verify::{VerifyOptions, verify_bundle_with};

/// Exit code of `monitor` when the log has shown two histories.
pub const EXIT_FORK: i32 = 3;

fn base_url(url: &str, flag: &str) -> Result<BaseUrl, CliError> {
    BaseUrl::parse(url).map_err(|e| {
        let hint = match e {
            ClientError::HttpsUnsupported(_) => {
                "this build speaks plain HTTP: reach the service over http:// on a trusted network, or through a local TLS-terminating proxy"
            }
            _ => "give the service's base URL, e.g. http://127.0.0.1:8080 or https://ledger.example.org",
        };
        CliError::new(format!("{flag} {e}")).hint(hint).code(2)
    })
}

/// How a client reaches the service: a bearer token (`--token`) and a CA file (`--ca`).
pub type Access<'a> = (Option<String>, Option<&'a Path>);

fn client((token, ca): Access<'_>) -> Result<Client, CliError> {
    Client::new(token).and_then(|c| c.with_ca(ca)).map_err(|e| {
        let code = if matches!(e, ClientError::CaFile(_)) {
            2
        } else {
            1
        };
        CliError::new(e.to_string()).code(code)
    })
}

/// The receipt-signing keys: each `--log-key`, or every log key of a trust file.
fn log_keys(log_key: &[String], trust: Option<&Path>) -> Result<Vec<VerifyingKey>, CliError> {
    let mut keys = Vec::new();
    for k in log_key {
        keys.push(*parse_log_key(k).map_err(|e| e.code(2))?.key());
    }
    if let Some(t) = trust {
        let trust = super::trust_file::load(t).map_err(|e| e.code(2))?;
        keys.extend(trust.log_keys.iter().map(|k| *k.verifier.key()));
    }
    if keys.is_empty() {
        return Err(CliError::new("no log key to verify receipts with")
            .hint("give --log-key VKEY (as `evledger init` printed it) or --trust FILE")
            .code(2));
    }
    Ok(keys)
}

/// Reads a statement file, or standard input for `-`, refusing one over the size limit.
fn read_statement(file: &Path) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let limit = MAX_STATEMENT_LEN as u64 + 1;
    let read = if file.as_os_str() == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|e| e.to_string())?;
    Ok(bytes)
}

fn display(file: &Path) -> String {
    if file.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        file.display().to_string()
    }
}

/// `evledger submit`.
pub fn submit(
    files: &[PathBuf],
    to: &str,
    receipt_dir: Option<&Path>,
    access: Access<'_>,
    log_key: &[String],
    trust: Option<&Path>,
) -> Result<(), CliError> {
    let base = base_url(to, "--to")?;
    let keys = log_keys(log_key, trust)?;
    if files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(CliError::new("standard input (-) can be read once").code(2));
    }
    if let Some(d) = receipt_dir {
        std::fs::create_dir_all(d)
            .map_err(|e| CliError::new(format!("--receipt {}: {e}", d.display())))?;
    }
    let client = client(access)?;
    let poll = Poll::default();
    let mut failed = 0usize;
    for (done, file) in files.iter().enumerate() {
        let name = display(file);
        let statement = match read_statement(file) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {name}: {e}");
                failed += 1;
                continue;
            }
        };
        match submit_one(&client, &base, &statement, &keys, &poll) {
            Ok(s) => {
                let hash = crate::hex::encode(&s.entry_hash);
                let mut written = String::new();
                if let Some(d) = receipt_dir {
                    let path = d.join(format!("{hash}.receipt.cose"));
                    if let Err(e) = super::bundle_cmds::write_atomically(&path, &s.receipt) {
                        eprintln!("{e}");
                        failed += 1;
                        continue;
                    }
                    written = format!(", receipt {}", path.display());
                }
                outln!(
                    "{name}: {} entry {hash} at index {} (receipt verified{written})",
                    if s.created {
                        "registered"
                    } else {
                        "already registered"
                    },
                    s.verified.index(),
                );
            }
            Err(SubmitError::Transport(
                e @ (ClientError::Transport { .. }
                | ClientError::Timeout { .. }
                | ClientError::Tls { .. }),
            )) => {
                // The service is unreachable: the other files would fail alike.
                let left = files.len() - done - 1;
                return Err(CliError::new(format!("{name}: {e}")).hint(format!(
                    "{left} file(s) not sent; check that the service runs at {base} (evledger serve)"
                )));
            }
            Err(e) => {
                eprintln!("error: {name}: {e}");
                failed += 1;
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(CliError::new(format!(
            "{n} of {} statement(s) not registered",
            files.len()
        ))),
    }
}

/// What `evledger bundle --from` selects: the query of `GET /bundle`.
pub struct RemoteSelection<'a> {
    /// `--all`.
    pub all: bool,
    /// `--entry`, each a hash or an index.
    pub entries: &'a [String],
    /// `--claim`, each a hash or an index.
    pub claims: &'a [String],
    /// `--export-decision`, each a hash or an index.
    pub export_decisions: &'a [String],
    /// `--deployment`, each a hash or an index.
    pub deployments: &'a [String],
    /// `--since`: an earlier checkpoint file.
    pub since: Option<&'a Path>,
}

/// The request target of `GET /bundle` for a selection.
fn bundle_target(sel: &RemoteSelection<'_>) -> Result<String, CliError> {
    if !sel.all
        && sel.entries.is_empty()
        && sel.claims.is_empty()
        && sel.export_decisions.is_empty()
        && sel.deployments.is_empty()
    {
        return Err(CliError::new("nothing selected").hint(
            "use --all, --entry ENTRY, --claim ENTRY, --export-decision ENTRY or --deployment ENTRY",
        ));
    }
    let mut q: Vec<String> = Vec::new();
    if sel.all {
        q.push("all".to_owned());
    }
    for (key, values) in [
        ("claim", sel.claims),
        ("entry", sel.entries),
        ("export-decision", sel.export_decisions),
        ("deployment", sel.deployments),
    ] {
        for v in values {
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(CliError::new(format!(
                    "--{key} {v:?}: name an entry by its hash (hex) or index"
                ))
                .code(2));
            }
            // Entry hashes are lower-case hex in URLs, as the service resolves them.
            q.push(format!("{key}={}", v.to_ascii_lowercase()));
        }
    }
    if let Some(p) = sel.since {
        let note = std::fs::read_to_string(p)
            .map_err(|e| CliError::new(format!("--since {}: {e}", p.display())))?;
        // The note itself, as `--since FILE` gives it to `evledger bundle`: the service checks it
        // as the CLI does.
        q.push(format!("since={}", percent_encode(&note)));
    }
    Ok(format!("/bundle?{}", q.join("&")))
}

/// RFC 3986 §2.1 percent-encoding of every byte but the unreserved characters (§2.3).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `evledger bundle --from URL`.
pub fn bundle_from(
    url: &str,
    out: &Path,
    selection: &RemoteSelection<'_>,
    trust: Option<&Path>,
    token: Option<String>,
    ca: Option<&Path>,
) -> Result<(), CliError> {
    let base = base_url(url, "--from")?;
    let target = bundle_target(selection)?;
    let trust = trust
        .map(|t| super::trust_file::load(t).map_err(|e| e.code(super::bundle_cmds::EXIT_BAD_TRUST)))
        .transpose()?;
    let client = client((token, ca))?;
    let max = BundleLimits::default().max_bytes;
    let r = client
        .get(&base, &target, max)
        .map_err(|e| CliError::new(e.to_string()))?;
    if r.status != 200 {
        let hint = match r.status {
            401 | 403 => {
                Some("bundles are served to authorised readers: give a reader token with --token")
            }
            404 => Some("check the entry names, and that the service serves bundles (GET /bundle)"),
            _ => None,
        };
        let e = CliError::new(format!("GET {}: {}", base.url(&target), r.describe()));
        return Err(match hint {
            Some(h) => e.hint(h),
            None => e,
        });
    }
    let bytes = r.body;
    if let Some(trust) = &trust {
        let options = VerifyOptions {
            now: Some(super::now()),
            ..VerifyOptions::default()
        };
        let report = verify_bundle_with(&bytes, trust, &trust.profiles, &options);
        eprintln!("{}", report.render().trim_end());
        let code = report.verdict.exit_code();
        if code != 0 {
            return Err(CliError::new(format!(
                "the bundle from {} did not verify: {} ({} failed checks); nothing written",
                base.url(&target),
                report.verdict.headline().to_lowercase(),
                report.failures()
            ))
            .hint("to keep the bytes anyway, download without --trust and run `evledger verify`")
            .code(code));
        }
    }
    if out.as_os_str() == "-" {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&bytes)
            .and_then(|()| stdout.flush())
            .map_err(|e| CliError::new(format!("standard output: {e}")))?;
    } else {
        super::bundle_cmds::write_atomically(out, &bytes)?;
    }
    eprintln!(
        "wrote {} ({} bytes from {}{})",
        display(out),
        bytes.len(),
        base.url(&target),
        if trust.is_some() { ", verified" } else { "" }
    );
    Ok(())
}

/// A watched key: a public key file (PEM) or a 64-hex-digit key id.
fn watched_key(arg: &str) -> Result<Watched, CliError> {
    if let Some(kid) = KeyId::from_hex(arg) {
        return Ok(Watched {
            kid,
            key: None,
            label: arg.to_owned(),
        });
    }
    let key = crate::keys::read_verifying_key(Path::new(arg)).map_err(|e| {
        CliError::new(format!("--watch-key {arg}: {e}"))
            .hint("give a public key file (PEM, as `evledger keygen` writes it) or a key id of 64 hex digits")
            .code(2)
    })?;
    Ok(Watched {
        kid: KeyId::of(&key),
        key: Some(key),
        label: arg.to_owned(),
    })
}

/// `evledger monitor`.
pub fn monitor(
    url: &str,
    state: &Path,
    log_key: Option<&str>,
    watch: &[String],
    access: Access<'_>,
) -> Result<(), CliError> {
    let base = base_url(url, "URL")?;
    let log_key = log_key
        .map(|k| parse_log_key(k).map_err(|e| e.code(2)))
        .transpose()?;
    let watched = watch
        .iter()
        .map(|w| watched_key(w))
        .collect::<Result<Vec<_>, _>>()?;
    let monitor = Monitor::open(state, log_key.as_ref()).map_err(monitor_error)?;
    let client = client(access)?;
    let f = monitor
        .follow(&client, &base, &watched)
        .map_err(monitor_error)?;
    let cp = &f.checkpoint;
    outln!(
        "checkpoint {} size {} root {} ({})",
        cp.origin,
        cp.size,
        crate::hex::encode(&cp.root),
        if f.first_run {
            "first run: every entry checked".to_owned()
        } else if f.entries.is_empty() {
            format!("no new entries since size {}", f.old_size)
        } else {
            format!("extends size {}", f.old_size)
        }
    );
    let mut flagged = 0;
    for e in &f.entries {
        let hash = crate::hex::encode(&e.entry_hash);
        outln!("entry {} {hash} {} kid {}", e.index, e.kind, e.kid);
        if let Some((label, verifies)) = &e.watched {
            flagged += 1;
            let sig = match verifies {
                Some(true) => ", signature verifies",
                Some(false) => ", SIGNATURE DOES NOT VERIFY under it",
                None => "",
            };
            outln!(
                "FLAG watched-key {} {hash}: signed by watched key {label}{sig}: {} by {:?} about {:?}",
                e.index,
                e.kind,
                e.issuer,
                e.subject
            );
        }
        if e.adverse {
            flagged += 1;
            outln!(
                "FLAG adverse {} {hash}: {} by {:?} about {:?}",
                e.index,
                e.kind,
                e.issuer,
                e.subject
            );
        }
    }
    eprintln!(
        "{} new entr{}, {flagged} flag(s); state in {}",
        f.entries.len(),
        if f.entries.len() == 1 { "y" } else { "ies" },
        state.display()
    );
    Ok(())
}

fn monitor_error(e: MonitorError) -> CliError {
    let hint = match &e {
        MonitorError::NoLogKey(_) => Some(
            "on the first run, pin the log's key: --log-key VKEY (as `evledger init` printed it)",
        ),
        MonitorError::LogKeyMismatch { .. } => {
            Some("a log key rotation is not followed automatically: start a new state directory")
        }
        MonitorError::Fork(_) => Some(
            "keep both checkpoints above: together they prove the log signed two histories; stop relying on this log and tell its operator and the witnesses",
        ),
        MonitorError::NotShownConsistent(_) => Some(
            "keep both checkpoints; run again later, and if it persists, treat the log as forked",
        ),
        MonitorError::Statement { .. } | MonitorError::Stale { .. } => {
            Some("the state is unchanged; the next run tries again")
        }
        _ => None,
    };
    let code = match e {
        MonitorError::Fork(_) => EXIT_FORK,
        MonitorError::NoLogKey(_)
        | MonitorError::LogKeyMismatch { .. }
        | MonitorError::BadState { .. }
        | MonitorError::Io { .. } => 2,
        _ => 1,
    };
    let err = CliError::new(e.to_string()).code(code);
    match hint {
        Some(h) => err.hint(h),
        None => err,
    }
}
