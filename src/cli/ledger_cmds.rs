//! The ledger subcommands: init, record, checkpoint, prove, consistency, log, show, audit.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;

use super::error::EXIT_AUDIT_FAILED;
use super::{CliError, SigningArgs, SigstoreRecordArgs, outln};
use crate::evidence::{Evidence, InputFormat};
use crate::hex;
use crate::keys;
use crate::ledger::{Ledger, Signer};
use crate::statement::SignedStatement;
use crate::store::{StoreRead, StoredEntry};
use crate::terminal::{escape, escape_lines};

fn open(dir: &Path) -> Result<Ledger, CliError> {
    Ok(Ledger::open(dir)?)
}

/// Opens the ledger for a command that only reads it: never writes, works on a read-only ledger.
fn open_read_only(dir: &Path) -> Result<Ledger, CliError> {
    Ok(Ledger::open_read_only(dir)?)
}

/// `evledger store setup`.
#[cfg(feature = "postgres")]
pub fn store_setup(
    admin: &str,
    owner: &str,
    service: &str,
    password_file: Option<&Path>,
) -> Result<(), CliError> {
    let password = password_file
        .map(|p| {
            std::fs::read_to_string(p)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
                .map_err(|e| CliError::new(format!("{}: {e}", p.display())))
        })
        .transpose()?;
    crate::store::postgres::setup(
        admin,
        &crate::store::postgres::SetupRoles {
            owner,
            service,
            service_password: password.as_deref(),
        },
    )
    .map_err(|e| match e {
        crate::store::StoreError::Exists(_) => CliError::new(e.to_string())
            .hint("the database is prepared already; create the ledger with: evledger init --store postgres://SERVICE-ROLE@HOST/DB --ledger DIR --origin NAME"),
        e => CliError::new(e.to_string())
            .hint("--admin must name a superuser's connection to the database to prepare"),
    })?;
    eprintln!(
        "prepared {}: schema evledger owned by {owner}; the service connects as {service}",
        crate::store::postgres::redact(admin)
    );
    eprintln!(
        "create the ledger with: evledger init --store postgres://{service}@HOST/DB --ledger DIR --origin NAME"
    );
    Ok(())
}

/// `evledger init`.
pub fn init(dir: &Path, origin: &str, log_key: Option<&Path>) -> Result<(), CliError> {
    let key = log_key.map(keys::read_signing_key).transpose()?;
    let ledger = Ledger::init_with_key(dir, origin, key)?;
    eprintln!(
        "created ledger {} (log key {}); publish this verifier key so buyers can pin it:",
        dir.display(),
        dir.join(crate::ledger::LOG_KEY_FILE).display()
    );
    outln!("{}", ledger.log_verifier()?);
    Ok(())
}

/// The signing key, time and certificate chain a command signs with.
pub(super) struct Signing {
    pub(super) key: ed25519_dalek::SigningKey,
    pub(super) issued_at: u64,
    pub(super) x5chain: Vec<Vec<u8>>,
    /// The leaf certificate's subject, if any.
    pub(super) cert_subject: Option<String>,
}

/// Reads the key, parses `--iat` (default: now) and reads and checks the certificates.
pub(super) fn signing(args: &SigningArgs) -> Result<Signing, CliError> {
    let key = keys::read_signing_key(&args.key)?;
    let issued_at = match &args.iat {
        None => super::now(),
        Some(s) => s
            .parse::<i64>()
            .or_else(|_| crate::time::parse_rfc3339(s))
            .map_err(|e| CliError::new(format!("--iat: {e}")))?,
    };
    let issued_at =
        u64::try_from(issued_at).map_err(|_| CliError::new("--iat: must not be before 1970"))?;
    let (x5chain, cert_subject) = match &args.cert {
        None => (Vec::new(), None),
        Some(cert) => {
            let chain = crate::ledger::load_x5chain(
                cert,
                args.chain.as_deref(),
                &key.verifying_key(),
                issued_at,
            )?;
            (chain.ders, Some(chain.subject))
        }
    };
    Ok(Signing {
        key,
        issued_at,
        x5chain,
        cert_subject,
    })
}

fn print_recorded(
    rec: &crate::ledger::Recorded,
    kind: &str,
    signer: &ed25519_dalek::VerifyingKey,
    dry_run: bool,
    json_out: bool,
) {
    if json_out {
        outln!(
            "{}",
            json!({"index": rec.index, "entry_hash": hex::encode(&rec.entry_hash)})
        );
    } else {
        outln!("{} {}", hex::encode(&rec.entry_hash), rec.index);
    }
    if rec.admitted {
        eprintln!(
            "{} signer key {} to register {kind} statements (you hold its private key)",
            if dry_run { "would admit" } else { "admitted" },
            crate::keys::KeyId::of(signer)
        );
    }
    if dry_run {
        eprintln!(
            "dry run: {kind} would be recorded at index {}; nothing was written",
            rec.index
        );
    } else {
        eprintln!("recorded {kind} at index {}", rec.index);
    }
}

/// What `evledger record` was asked to record.
pub struct RecordArgs<'a> {
    /// Evidence kind.
    pub kind: &'a str,
    /// The evidence file.
    pub input: &'a Path,
    /// CWT iss.
    pub issuer: &'a str,
    /// CWT sub.
    pub subject: &'a str,
    /// How to sign.
    pub signing: &'a SigningArgs,
    /// A Sigstore signature to verify and cite.
    pub sigstore: &'a SigstoreRecordArgs,
    /// Run every check and write nothing.
    pub dry_run: bool,
}

/// Without the `sigstore` feature: a firmware build that cites a Sigstore bundle is refused,
/// since this build cannot verify it.
#[cfg(not(feature = "sigstore"))]
pub(super) fn sigstore_documents(
    evidence: Evidence,
    _args: &SigstoreRecordArgs,
) -> Result<(Evidence, Vec<Vec<u8>>), CliError> {
    if let Evidence::FirmwareBuild(fb) = &evidence
        && (fb.sigstore.is_some() || fb.attestation.is_some())
    {
        return Err(CliError::new(
            "the firmware build cites a Sigstore bundle, but this build of evledger was compiled without Sigstore support, so it cannot verify it",
        )
        .hint("use an evledger built with `--features sigstore`"));
    }
    Ok((evidence, Vec::new()))
}

#[cfg(feature = "sigstore")]
pub(super) use super::sigstore_cmds::cite as sigstore_documents;

/// `evledger record`.
pub fn record(dir: &Path, r: &RecordArgs<'_>, json_out: bool) -> Result<(), CliError> {
    let (kind, input, issuer, subject) = (r.kind, r.input, r.issuer, r.subject);
    let evidence = super::evidence_input::read_evidence(kind, input)?;
    let (evidence, documents) = sigstore_documents(evidence, r.sigstore)
        .map_err(|e| e.prefix(&input.display().to_string()))?;
    let s = signing(r.signing)?;
    let mut ledger = open(dir)?;
    let signer = Signer {
        key: &s.key,
        issuer,
        subject,
        x5chain: s.x5chain,
    };
    let rec = ledger
        .record_with(&evidence, &signer, s.issued_at, documents, r.dry_run)
        .map_err(|e| CliError::from(e).prefix(&input.display().to_string()))?;
    print_recorded(&rec, kind, &s.key.verifying_key(), r.dry_run, json_out);
    Ok(())
}

/// `evledger countersign`.
#[allow(clippy::too_many_arguments)]
pub fn countersign(
    dir: &Path,
    entry: &str,
    statement: &str,
    report_sha256: Option<&str>,
    issuer: Option<&str>,
    subject: Option<&str>,
    args: &SigningArgs,
    dry_run: bool,
    json_out: bool,
) -> Result<(), CliError> {
    let s = signing(args)?;
    let mut ledger = open(dir)?;
    let target = ledger.resolve(entry)?;
    let (evidence, issuer, subject) = countersignature(
        &target.entry_hash,
        statement,
        report_sha256,
        issuer,
        subject,
        s.cert_subject.as_deref(),
    )?;
    let signer = Signer {
        key: &s.key,
        issuer: &issuer,
        subject: &subject,
        x5chain: s.x5chain,
    };
    let rec = ledger.record_with(&evidence, &signer, s.issued_at, Vec::new(), dry_run)?;
    print_recorded(
        &rec,
        "countersignature",
        &s.key.verifying_key(),
        dry_run,
        json_out,
    );
    Ok(())
}

/// The countersignature of `target` and its labels: the evidence, `iss` (`--issuer`, else the
/// certificate's subject) and `sub` (`--subject`, else "countersignature of TARGET"), the same
/// whether it is appended in the ledger or written to a file for registration.
pub(super) fn countersignature(
    target: &[u8; 32],
    statement: &str,
    report_sha256: Option<&str>,
    issuer: Option<&str>,
    subject: Option<&str>,
    cert_subject: Option<&str>,
) -> Result<(Evidence, String, String), CliError> {
    let mut body = json!({"target": hex::encode(target), "statement": statement});
    if let Some(r) = report_sha256 {
        body["report_sha256"] = json!(r);
    }
    let evidence = Evidence::from_input("countersignature", &body.to_string(), InputFormat::Json)?;
    let issuer = match (issuer, cert_subject) {
        (Some(i), _) => i.to_owned(),
        (None, Some(cert)) => cert.to_owned(),
        (None, None) => {
            return Err(CliError::new("--issuer is required without --cert")
                .hint("name the countersigning organisation, e.g. --issuer \"Kestrel Biometric Test Lab\""));
        }
    };
    let subject = subject
        .map(str::to_owned)
        .unwrap_or_else(|| format!("countersignature of {}", hex::encode(target)));
    Ok((evidence, issuer, subject))
}

/// `evledger log-key add`.
pub fn log_key_add(dir: &Path, key: &Path) -> Result<(), CliError> {
    let key = keys::read_signing_key(key)?;
    let mut ledger = open(dir)?;
    let size = ledger.add_log_key(&key)?;
    let v = crate::note::NoteVerifier::new(&ledger.info().origin, key.verifying_key())
        .map_err(|e| CliError::new(e.to_string()))?;
    eprintln!(
        "log key added at log size {size}; checkpoints are now signed by every active log key.\n\
         Publish the new verifier key; buyers pin it from the next checkpoint's size on:"
    );
    outln!("{v}");
    Ok(())
}

/// `evledger log-key retire`.
pub fn log_key_retire(dir: &Path, key: &Path) -> Result<(), CliError> {
    let key = keys::read_key_file(key)?.verifying_key();
    let mut ledger = open(dir)?;
    let moved = ledger.retire_log_key(&key)?;
    let kid = crate::keys::KeyId::of(&key);
    match moved {
        Some(file) => eprintln!(
            "retired log key {kid} (its key file is now {}); sign a checkpoint to continue with the remaining keys",
            file.display()
        ),
        None => eprintln!(
            "retired log key {kid}; sign a checkpoint to continue with the remaining keys"
        ),
    }
    Ok(())
}

/// `evledger checkpoint`.
pub fn checkpoint(dir: &Path, anchor: bool) -> Result<(), CliError> {
    let mut ledger = open(dir)?;
    let cp = if anchor {
        ledger.anchored_checkpoint()?
    } else {
        ledger.checkpoint()?
    };
    outln!("{}", cp.note.trim_end_matches('\n'));
    eprintln!("checkpoint at size {}", cp.size);
    Ok(())
}

/// `evledger prove`.
pub fn prove(dir: &Path, entry: &str, size: Option<u64>, json_out: bool) -> Result<(), CliError> {
    let ledger = open_read_only(dir)?;
    let e = ledger.resolve(entry)?;
    let p = ledger.prove(&e, size)?;
    let hashes: Vec<String> = p.proof.hashes().iter().map(|h| B64.encode(h)).collect();
    if json_out {
        let v = json!({
            "index": p.index,
            "tree_size": p.size,
            "entry_hash": hex::encode(&p.entry_hash),
            "leaf_hash": B64.encode(p.leaf_hash),
            "root_hash": B64.encode(p.root),
            "proof": hashes,
        });
        outln!("{v}");
    } else {
        outln!("index {}", p.index);
        outln!("tree_size {}", p.size);
        outln!("entry_hash {}", hex::encode(&p.entry_hash));
        outln!("leaf_hash {}", B64.encode(p.leaf_hash));
        outln!("root_hash {}", B64.encode(p.root));
        for h in hashes {
            outln!("{h}");
        }
    }
    Ok(())
}

/// `evledger prove --cose-receipt`.
pub fn cose_receipt(dir: &Path, entry: &str, out: &Path) -> Result<(), CliError> {
    let ledger = open_read_only(dir)?;
    let e = ledger.resolve(entry)?;
    let r = ledger.cose_receipt(&e)?;
    let to = if out.as_os_str() == "-" {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&r.bytes)
            .and_then(|()| stdout.flush())
            .map_err(|e| CliError::new(format!("standard output: {e}")))?;
        "standard output".to_owned()
    } else {
        super::bundle_cmds::write_atomically(out, &r.bytes)?;
        out.display().to_string()
    };
    eprintln!(
        "wrote {to}: COSE receipt of entry {} ({}) at checkpoint size {}, signed by log key {}",
        r.index,
        hex::encode(&e.entry_hash),
        r.tree_size,
        r.kid
    );
    Ok(())
}

/// `evledger consistency`.
pub fn consistency(dir: &Path, old: u64, new: u64, json_out: bool) -> Result<(), CliError> {
    let ledger = open_read_only(dir)?;
    let (old_root, new_root, proof) = ledger.consistency(old, new)?;
    let hashes: Vec<String> = proof.hashes().iter().map(|h| B64.encode(h)).collect();
    if json_out {
        let v = json!({
            "old_size": old,
            "new_size": new,
            "old_root": B64.encode(old_root),
            "new_root": B64.encode(new_root),
            "proof": hashes,
        });
        outln!("{v}");
    } else {
        outln!("old {old}");
        for h in hashes {
            outln!("{h}");
        }
        eprintln!(
            "old root {} (size {old}), new root {} (size {new})",
            B64.encode(old_root),
            B64.encode(new_root)
        );
    }
    Ok(())
}

fn entry_json(e: &StoredEntry) -> serde_json::Value {
    json!({
        "index": e.index,
        "entry_hash": hex::encode(&e.entry_hash),
        "kind": e.kind,
        "issuer": e.issuer,
        "subject": e.subject,
        "iat": e.issued_at,
        "statement": B64.encode(&e.statement),
    })
}

/// `evledger log`.
pub fn log(dir: &Path, json_out: bool) -> Result<(), CliError> {
    let ledger = open_read_only(dir)?;
    let mut items = Vec::new();
    ledger.store().for_each_entry(&mut |e| {
        if json_out {
            items.push(entry_json(&e));
        } else {
            let summary = SignedStatement::parse(&e.statement)
                .ok()
                .and_then(|s| Evidence::from_payload(&e.kind, s.payload()).ok())
                .map(|ev| ev.summary())
                .unwrap_or_else(|| "(undecodable payload; run evledger audit)".into());
            outln!(
                "{:>6}  {}  {:<16} {}  {}  {}\n        {}",
                e.index,
                hex::encode(&e.entry_hash),
                escape(&e.kind),
                crate::time::format_rfc3339(e.issued_at as i64),
                escape(&e.issuer),
                escape(&e.subject),
                escape(&summary)
            );
        }
        Ok(())
    })?;
    if json_out {
        outln!("{}", serde_json::Value::Array(items));
    }
    Ok(())
}

/// `evledger show`.
pub fn show(dir: &Path, entry: &str, json_out: bool) -> Result<(), CliError> {
    let ledger = open_read_only(dir)?;
    let e = ledger.resolve(entry)?;
    let st = SignedStatement::parse(&e.statement)
        .map_err(|err| CliError::new(format!("entry {}: {err}", e.index)))?;
    let ev = Evidence::from_payload(&e.kind, st.payload())
        .map_err(|err| CliError::new(format!("entry {}: {err}", e.index)))?;
    let h = st.header();
    if json_out {
        let mut v = entry_json(&e);
        v["kid"] = json!(h.kid.to_string());
        v["certificates"] = json!(h.x5chain.len());
        v["payload"] = ev.to_json();
        outln!("{v}");
    } else {
        outln!("entry {}  index {}", hex::encode(&e.entry_hash), e.index);
        outln!("  kind      {}", escape(&e.kind));
        outln!("  issuer    {}", escape(&h.issuer));
        outln!("  subject   {}", escape(&h.subject));
        outln!(
            "  signed at {}",
            crate::time::format_rfc3339(h.issued_at as i64)
        );
        outln!("  kid       {}", h.kid);
        outln!("{}", escape_lines(ev.render().trim_end_matches('\n')));
    }
    Ok(())
}

/// `evledger audit`.
pub fn audit(dir: &Path) -> Result<(), CliError> {
    let ledger = open_read_only(dir)?;
    let total = ledger.store().size()?;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("auditing {bar:40} {pos}/{len} entries {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = crate::audit::audit(&ledger, &mut |done, _| {
        if done % 1024 == 0 {
            bar.set_position(done);
        }
    })?;
    bar.finish_and_clear();
    for f in &report.findings {
        outln!("FAIL {}: {}", escape(&f.at), escape(&f.message));
    }
    let summary = format!(
        "{} entries, {} nodes, {} checkpoints",
        report.entries, report.nodes, report.checkpoints
    );
    if report.is_clean() {
        outln!("ok: {summary} recomputed and verified");
        Ok(())
    } else {
        Err(CliError::new(format!(
            "audit found {} problem(s) in {summary}",
            report.findings.len()
        ))
        .code(EXIT_AUDIT_FAILED))
    }
}
