//! `evledger sign`: sign evidence as a statement file where the signer's key is, with no ledger.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

use super::evidence_input::read_evidence;
use super::ledger_cmds::signing;
use super::{CliError, SigningArgs, outln};
use crate::hex;
use crate::statement::Signer;

/// What `evledger sign` was asked to sign, and where to write it.
pub struct SignArgs<'a> {
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
    pub sigstore: &'a super::SigstoreRecordArgs,
    /// The statement file, or `-` for stdout.
    pub out: &'a Path,
    /// Replace `out` if it exists.
    pub force: bool,
}

/// `evledger sign`.
pub fn sign(a: &SignArgs<'_>) -> Result<(), CliError> {
    let to_stdout = a.out == Path::new("-");
    // Checked first so that a refusal comes before any file is hashed; the write itself
    // refuses again, atomically.
    if !to_stdout && !a.force && a.out.symlink_metadata().is_ok() {
        return Err(exists(a.out));
    }
    if to_stdout && std::io::stdout().is_terminal() {
        return Err(
            CliError::new("--out -: refusing to write a binary statement to a terminal")
                .hint("redirect stdout to a file (> statement.cose), or use --out FILE"),
        );
    }
    let input = a.input.display().to_string();
    let evidence = read_evidence(a.kind, a.input)?;
    // A cited Sigstore bundle is verified here and travels beside the statement: the vendor
    // registers it with `--document`.
    let (evidence, documents) = super::ledger_cmds::sigstore_documents(evidence, a.sigstore)
        .map_err(|e| e.prefix(&input))?;
    let s = signing(a.signing)?;
    let signer = Signer {
        key: &s.key,
        issuer: a.issuer,
        subject: a.subject,
        x5chain: s.x5chain,
    };
    let signed = signer
        .sign(&evidence, s.issued_at)
        .map_err(|e| CliError::new(e.to_string()).prefix(&input))?;
    let hash = hex::encode(&signed.entry_hash);
    let len = signed.bytes.len();
    if to_stdout {
        let mut out = std::io::stdout().lock();
        match out.write_all(&signed.bytes).and_then(|()| out.flush()) {
            // As for every command: a closed pipe ends the command quietly.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
            Err(e) => return Err(CliError::new(format!("stdout: {e}"))),
            Ok(()) => {}
        }
        eprintln!(
            "wrote {} statement to stdout ({len} bytes), entry hash {hash}",
            a.kind
        );
    } else {
        write_file(a.out, &signed.bytes, a.force)?;
        outln!("{hash}");
        eprintln!(
            "wrote {} ({} statement, {len} bytes)",
            a.out.display(),
            a.kind
        );
    }
    if !documents.is_empty() {
        eprintln!(
            "note: the statement cites {}; register it with --document for each, and --trusted-root",
            match (&evidence, documents.len()) {
                (crate::evidence::Evidence::FirmwareBuild(fb), n) if fb.attestation.is_some() => {
                    format!("{n} Sigstore documents (bundles, and managed keys if any)")
                }
                (_, 1) => "the Sigstore bundle".to_owned(),
                _ => "the Sigstore bundle and its key".to_owned(),
            }
        );
    }
    let cited = match evidence.references().len() {
        0 => None,
        1 => Some("the entry it cites is".to_owned()),
        n => Some(format!("the {n} entries it cites are")),
    };
    if let Some(cited) = cited {
        eprintln!(
            "note: {cited} not checked here; the ledger checks citations when it registers the statement"
        );
    }
    Ok(())
}

fn exists(path: &Path) -> CliError {
    CliError::new(format!(
        "{}: file exists, refusing to overwrite it",
        path.display()
    ))
    .hint("choose another --out file, or pass --force to replace it")
}

/// Writes `bytes` to `path` durably (`crate::durable`): a new file never replaces an existing
/// one; with `replace`, an existing file is replaced whole.
pub(super) fn write_file(path: &Path, bytes: &[u8], replace: bool) -> Result<(), CliError> {
    let written = if replace {
        crate::durable::replace(path, bytes)
    } else {
        crate::durable::create_new(path, bytes, 0o644)
    };
    written.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            exists(path)
        } else {
            CliError::new(format!("{}: {e}", path.display()))
        }
    })
}

/// What `evledger countersign --bundle` was asked to endorse, and how.
pub struct DetachedCountersign<'a> {
    /// The bundle holding the entry, as the vendor sent it.
    pub bundle: &'a Path,
    /// The entry to endorse: its hash, or its log index, within the bundle.
    pub entry: &'a str,
    /// The vendor's trust file, if the countersigner has one.
    pub trust: Option<&'a Path>,
    /// The vendor log's verifier key (or a file holding it), when there is no trust file.
    pub log_key: Option<&'a str>,
    /// What the countersigner attests.
    pub statement: &'a str,
    /// SHA-256 of the report the entry matches.
    pub report_sha256: Option<&'a str>,
    /// CWT iss (default: the certificate's subject).
    pub issuer: Option<&'a str>,
    /// CWT sub (default: "countersignature of ENTRY").
    pub subject: Option<&'a str>,
    /// How to sign.
    pub signing: &'a SigningArgs,
    /// The statement file to write.
    pub out: &'a Path,
    /// Replace `out` if it exists.
    pub force: bool,
    /// Check everything and write nothing.
    pub dry_run: bool,
}

/// `evledger countersign --bundle`: verify the vendor's bundle, then sign a countersignature of
/// one of its entries into a statement file the vendor registers. No ledger is needed.
pub fn countersign_detached(a: &DetachedCountersign<'_>) -> Result<(), CliError> {
    use crate::bundle::{Bundle, BundleLimits};
    use crate::verify::{Outcome, Step, VerifyOptions, verify_parsed_with};
    if !a.dry_run && !a.force && a.out.symlink_metadata().is_ok() {
        return Err(exists(a.out));
    }
    let bytes = std::fs::read(a.bundle)
        .map_err(|e| CliError::new(format!("{}: {e}", a.bundle.display())))?;
    let (trust, with_roles) = match (a.trust, a.log_key) {
        (Some(path), _) => (super::trust_file::load(path)?, true),
        (None, Some(vkey)) => {
            let key = super::witness_cmds::parse_log_key(vkey)?;
            let text = format!("version = 1\n[log]\nkeys = [\"{key}\"]\n");
            let trust = crate::trust::TrustFile::parse(&text, "--log-key", &|n: &str| {
                Err(format!("{n}: not available"))
            })
            .map_err(|e| CliError::new(format!("--log-key: {e}")))?;
            (trust, false)
        }
        (None, None) => {
            return Err(
                CliError::new("--bundle needs --trust FILE or --log-key VKEY").hint(
                    "pin the vendor's log key: its trust file, or the verifier key it publishes",
                ),
            );
        }
    };
    let bundle = Bundle::parse(&bytes, &BundleLimits::default())
        .map_err(|e| CliError::new(format!("{}: {e}", a.bundle.display())))?;
    let target = bundle
        .entries
        .iter()
        .find(|e| {
            hex::encode(&crate::statement::entry_hash(&e.statement)) == a.entry
                || a.entry.parse::<u64>().is_ok_and(|i| i == e.index)
        })
        .ok_or_else(|| {
            CliError::new(format!(
                "{}: no entry {} in this bundle",
                a.bundle.display(),
                a.entry
            ))
            .hint("name the entry by its entry hash or log index, as the vendor's bundle lists it (`evledger verify BUNDLE` prints them)")
        })?;
    let target_hash = crate::statement::entry_hash(&target.statement);
    let report = verify_parsed_with(
        &bundle,
        &trust,
        &trust.profiles,
        &VerifyOptions {
            now: Some(super::now()),
            ..VerifyOptions::default()
        },
    );
    // What must hold before anyone endorses the entry: the bundle and its checkpoint under the
    // pinned log key, the witnesses the trust file asks for, and the entry's inclusion; with a
    // trust file, also the entry's signature, its signer's role and its citations.
    let required = |c: &crate::verify::Check| match c.step {
        Step::Parse | Step::Checkpoint | Step::Witnesses | Step::Consistency => true,
        Step::Inclusion => c.entry.is_none_or(|e| e == target.index),
        Step::Signature | Step::Signer | Step::References => {
            with_roles && c.entry == Some(target.index)
        }
        Step::Completeness | Step::Sigstore | Step::Artifact | Step::Policy => false,
    };
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail && required(c))
        .map(|c| format!("{}: {}", c.step.name(), c.message))
        .collect();
    let included = report.checks.iter().any(|c| {
        c.step == Step::Inclusion && c.entry == Some(target.index) && c.outcome == Outcome::Pass
    });
    if !failed.is_empty() || !included {
        let mut msg = format!(
            "{}: the bundle does not verify, so entry {} is not countersigned",
            a.bundle.display(),
            target.index
        );
        for f in &failed {
            msg.push_str("\n  ");
            msg.push_str(f);
        }
        return Err(CliError::new(msg).hint(
            "ask the vendor for a bundle that verifies against its pinned log key (`evledger verify BUNDLE --trust TRUST` shows every check)",
        ));
    }
    let others = report
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail && !required(c))
        .count();
    eprintln!(
        "verified: entry {} ({}) is in the log {} at tree size {}{}",
        target.index,
        hex::encode(&target_hash),
        report.origin.as_deref().unwrap_or("?"),
        report.tree_size.unwrap_or(0),
        if with_roles {
            ", signed by a signer the trust file accepts for its kind"
        } else {
            " (only the log key is pinned: the entry's signer was not checked)"
        }
    );
    if others > 0 {
        eprintln!(
            "note: {others} other check(s) of the bundle failed (policy, other entries); they do not concern this countersignature"
        );
    }
    let s = signing(a.signing)?;
    let (evidence, issuer, subject) = super::ledger_cmds::countersignature(
        &target_hash,
        a.statement,
        a.report_sha256,
        a.issuer,
        a.subject,
        s.cert_subject.as_deref(),
    )?;
    let signer = Signer {
        key: &s.key,
        issuer: &issuer,
        subject: &subject,
        x5chain: s.x5chain,
    };
    let signed = signer
        .sign(&evidence, s.issued_at)
        .map_err(|e| CliError::new(e.to_string()))?;
    if a.dry_run {
        eprintln!(
            "dry run: the countersignature would be {} bytes with entry hash {}; nothing was written",
            signed.bytes.len(),
            hex::encode(&signed.entry_hash)
        );
        return Ok(());
    }
    write_file(a.out, &signed.bytes, a.force)?;
    outln!("{}", hex::encode(&signed.entry_hash));
    eprintln!(
        "wrote {} (countersignature, {} bytes): hand it to the vendor, who registers it with `evledger register`",
        a.out.display(),
        signed.bytes.len()
    );
    Ok(())
}
