//! `evledger bundle`, `evledger verify` and `evledger trust init`.

use std::path::{Path, PathBuf};

use super::remember::CheckpointMemory;
use super::{CliError, outln};
use crate::bundle::{Bundle, BundleLimits};
use crate::evidence::FileDigest;
use crate::export::{self, BundleOptions, Selection};
use crate::ledger::{Ledger, LedgerError};
use crate::store::StoreError;
use crate::verify::{HeldFile, Verdict, VerifyOptions};

/// Exit code when the trust file cannot be used.
pub const EXIT_BAD_TRUST: i32 = 2;

/// What `evledger bundle` selects, as named on the command line.
pub struct Selected<'a> {
    /// `--all`.
    pub all: bool,
    /// `--entry`.
    pub entries: &'a [String],
    /// `--claim`.
    pub claims: &'a [String],
    /// `--export-decision`.
    pub export_decisions: &'a [String],
    /// `--deployment`.
    pub deployments: &'a [String],
}

/// `evledger bundle`.
pub fn bundle(
    dir: &Path,
    out: &Path,
    selected: &Selected<'_>,
    attach: &[PathBuf],
    since: Option<&Path>,
) -> Result<(), CliError> {
    let Selected {
        all,
        entries,
        claims,
        export_decisions,
        deployments,
    } = *selected;
    let mut ledger = Ledger::open(dir)?;
    let mut selection = Selection {
        all,
        entries: Vec::new(),
    };
    for name in entries {
        selection.entries.push(ledger.resolve(name)?);
    }
    for name in claims {
        let e = ledger.resolve(name)?;
        if e.kind != "claim" {
            return Err(CliError::new(format!(
                "--claim {name}: entry {} is a {}, not a claim",
                e.index, e.kind
            ))
            .hint("use --entry for other kinds"));
        }
        selection.entries.push(e);
    }
    for name in export_decisions {
        let e = ledger.resolve(name)?;
        let seeds = crate::ledger::audit_bundle::export_decision_seeds(&ledger, &e)
            .map_err(|x| CliError::new(format!("--export-decision {name}: {x}")))?;
        selection.entries.extend(seeds);
    }
    for name in deployments {
        let e = ledger.resolve(name)?;
        let seeds = crate::ledger::audit_bundle::deployment_seeds(&e)
            .map_err(|x| CliError::new(format!("--deployment {name}: {x}")))?;
        selection.entries.extend(seeds);
    }
    if !all && selection.entries.is_empty() {
        return Err(CliError::new("nothing selected").hint(
            "use --all, --entry ENTRY, --claim ENTRY, --export-decision ENTRY or --deployment ENTRY",
        ));
    }
    let since = match since {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| CliError::new(format!("{}: {e}", p.display())))?,
        ),
        None => None,
    };
    let options = BundleOptions {
        attachments: export::read_attachments(attach).map_err(CliError::new)?,
        since,
    };
    let bar = progress_bar("bundling {bar:40} {pos}/{len} entries {eta}");
    let b: Bundle =
        export::build_with_progress(&mut ledger, &selection, &options, &|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .map_err(export_error)?;
    bar.finish_and_clear();
    let bytes = b.to_cbor();
    if out.as_os_str() == "-" {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&bytes)
            .and_then(|()| stdout.flush())
            .map_err(|e| CliError::new(format!("standard output: {e}")))?;
    } else {
        write_atomically(out, &bytes)?;
    }
    // Signature lines other than the log's own: the witness cosignatures collected so far.
    let log_key = ledger.log_verifier()?;
    let cosignatures = crate::note::Note::parse(&b.checkpoint).map_or(0, |n| {
        n.signatures()
            .iter()
            .filter(|s| s.name != log_key.name() || s.key_id != log_key.key_id())
            .count()
    });
    eprintln!(
        "wrote {} ({} entries, {} bytes, {} attachments, checkpoint with {cosignatures} cosignature(s){})",
        if out.as_os_str() == "-" {
            "standard output".to_owned()
        } else {
            out.display().to_string()
        },
        b.entries.len(),
        bytes.len(),
        b.attachments.len(),
        if b.consistency.is_empty() {
            ""
        } else {
            ", with a consistency proof"
        }
    );
    Ok(())
}

/// A failed export as the user sees it: a ledger error keeps its hint, except that on a read-only
/// ledger the write was a checkpoint the bundle needed.
fn export_error(e: export::ExportError) -> CliError {
    match e {
        export::ExportError::Ledger(LedgerError::Store(e @ StoreError::ReadOnly(_))) => {
            CliError::new(e.to_string()).hint(
                "no stored checkpoint covers the selection, and signing one writes to the ledger: run `evledger checkpoint` where the ledger is writable",
            )
        }
        export::ExportError::Ledger(e) => e.into(),
        other => CliError::new(other.to_string()),
    }
}

/// Replaces a file durably, so a reader never sees half of it.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    crate::durable::replace(path, bytes)
        .map_err(|e| CliError::new(format!("{}: {e}", path.display())))
}

/// What a receipt's verification says it checked and did not.
const RECEIPT_NOTE: &str = "RECEIPT: checked the checkpoint under the pinned log key (and witnesses, if the trust file asks), each entry's inclusion, signature, signer and citations; a receipt judges no claim against policy profiles (that is `evledger verify` of a buyer's bundle)";

/// What `verify --json` prints on stdout instead of a report when an input cannot be used
/// (`specs/verification.md`, "JSON when there is no report").
#[derive(serde::Serialize)]
struct Unusable<'a> {
    /// The report schema's version ([`crate::verify::SCHEMA_VERSION`]).
    schema_version: u32,
    /// `unusable-trust-file`, `unusable-remember-dir`, `unusable-artifact` or `invalid-bundle`.
    verdict: &'static str,
    /// The error message, as on stderr.
    error: &'a str,
    /// The file or directory that cannot be used.
    file: String,
}

/// With `--json`, prints the [`Unusable`] object for `e` before it goes to stderr, so that a
/// script reading stdout always gets one JSON object.
fn unusable(json: bool, verdict: &'static str, file: &Path, e: CliError) -> CliError {
    if json {
        let u = Unusable {
            schema_version: crate::verify::SCHEMA_VERSION,
            verdict,
            error: &e.message,
            file: file.display().to_string(),
        };
        // An integer and three strings: encoding cannot fail.
        outln!("{}", serde_json::to_string_pretty(&u).unwrap_or_default());
    }
    e
}

/// How `evledger verify` reports: text or JSON on stdout, and optionally an HTML file.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReportOutputs<'a> {
    /// `--json`: the JSON report on stdout instead of the text one.
    pub json: bool,
    /// `--html FILE`: the HTML report written to FILE, or to stdout (in place of the text
    /// report) for `-`.
    pub html: Option<&'a Path>,
}

impl ReportOutputs<'_> {
    /// Whether the HTML report goes to standard output.
    fn html_to_stdout(&self) -> bool {
        self.html.is_some_and(|p| p.as_os_str() == "-")
    }
}

/// `evledger verify`.
// One argument per command-line option of `verify`.
#[allow(clippy::too_many_arguments)]
pub fn verify(
    file: &Path,
    trust_path: &Path,
    outputs: ReportOutputs<'_>,
    remember: Option<&Path>,
    integrity_only: bool,
    receipt: bool,
    artifacts: &[PathBuf],
    time: Option<&str>,
) -> Result<(), CliError> {
    let now = match time {
        None => super::now(),
        // A usage error, like clap's: exit 2, before anything is read.
        Some(t) => parse_time(t).map_err(|e| e.code(EXIT_BAD_TRUST))?,
    };
    let json = outputs.json;
    if json && outputs.html_to_stdout() {
        return Err(
            CliError::new("--html - and --json both write to standard output")
                .hint("write the HTML report to a file (--html report.html), or drop --json")
                .code(EXIT_BAD_TRUST),
        );
    }
    let trust = super::trust_file::load(trust_path).map_err(|e| {
        unusable(
            json,
            "unusable-trust-file",
            trust_path,
            e.code(EXIT_BAD_TRUST),
        )
    })?;
    let bytes = read_bundle(file).map_err(|e| unusable(json, "invalid-bundle", file, e))?;
    let held = artifacts
        .iter()
        .map(|p| {
            read_held(p).map_err(|e| unusable(json, "unusable-artifact", p, e.code(EXIT_BAD_TRUST)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let dir_error = |e: String| {
        unusable(
            json,
            "unusable-remember-dir",
            remember.unwrap_or(Path::new("")),
            CliError::new(e).code(EXIT_BAD_TRUST),
        )
    };
    let memory = remember
        .map(CheckpointMemory::open)
        .transpose()
        .map_err(|e| dir_error(e.to_string()))?;
    // Parsed once: the bundle's checkpoint names the log whose remembered checkpoint applies,
    // and the verifier takes the parsed bundle; an unparsable bundle is reported by the
    // verifier's report like any other failed check.
    let parsed = Bundle::parse(&bytes, &crate::bundle::BundleLimits::default());
    let bundle_sha256: [u8; 32] = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&bytes).into()
    };
    drop(bytes);
    let checkpoint = parsed.as_ref().ok().map(|b| b.checkpoint.clone());
    let mut options = VerifyOptions {
        now: Some(now),
        held,
        integrity_only,
        bundle_sha256: Some(bundle_sha256),
        ..VerifyOptions::default()
    };
    if let (Some(m), Some(cp)) = (&memory, &checkpoint) {
        options.remembered = m.recall_for(cp).map_err(|e| dir_error(e.to_string()))?;
    }
    // A receipt proves registration: its signer checks that the statement is in the log, signed
    // and resolvable; judging claims against profiles is the buyer's verification, not this one,
    // so a receipt is checked for integrity only.
    let report = match &parsed {
        Ok(bundle) => {
            let bar = progress_bar("{msg:>10} {bar:40} {pos}/{len}");
            let report = crate::verify::verify_parsed_with_progress(
                bundle,
                &trust,
                &trust.profiles,
                &options,
                &|stage, done, total| {
                    bar.set_message(stage);
                    bar.set_length(total);
                    bar.set_position(done);
                },
            );
            bar.finish_and_clear();
            report
        }
        Err(e) => crate::verify::invalid_bundle(&trust, e, &options),
    };
    drop(parsed);
    // The report first: a failure to remember must not hide what was verified.
    if json {
        outln!("{}", report.to_json());
    } else if outputs.html_to_stdout() {
        outln!("{}", report.to_html().trim_end());
    } else {
        if receipt {
            outln!("{RECEIPT_NOTE}");
        }
        outln!("{}", report.render().trim_end());
    }
    if receipt && (json || outputs.html_to_stdout()) {
        eprintln!("{RECEIPT_NOTE}");
    }
    if let Some(path) = outputs.html.filter(|_| !outputs.html_to_stdout()) {
        write_html(path, &report.to_html())?;
    }
    if let (Some(m), Some(cp)) = (&memory, &checkpoint)
        && matches!(report.verdict, Verdict::Verified | Verdict::PolicyNotMet)
        && m.remember(cp).map_err(|e| CliError::new(e.to_string()))?
    {
        eprintln!(
            "remembered the verified checkpoint at tree size {}",
            report.tree_size.unwrap_or(0)
        );
    }
    match report.verdict.exit_code() {
        0 => Ok(()),
        code => Err(CliError::new(format!(
            "{}: {} ({} failed checks)",
            file.display(),
            report.verdict.headline().to_lowercase(),
            report.failures()
        ))
        .code(code)),
    }
}

/// Writes the HTML report to `path` atomically: a reader, and a failed write, never leave half
/// of it. A failure is a command-line error (exit code 2), after the report was printed.
fn write_html(path: &Path, html: &str) -> Result<(), CliError> {
    crate::durable::replace(path, html.as_bytes()).map_err(|e| {
        CliError::new(format!("{}: {e}", path.display()))
            .hint("--html names a file to write in an existing, writable directory (or - for standard output); the report above was not saved")
            .code(EXIT_BAD_TRUST)
    })?;
    eprintln!("wrote the HTML report to {}", path.display());
    Ok(())
}

/// A progress bar on stderr when stderr is a terminal, and one that draws nothing otherwise, so
/// scripts and logs never see it (`specs/cli.md`, "Progress").
pub(super) fn progress_bar(template: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Hashes a file the buyer holds, streaming it: a firmware image may be larger than memory.
/// `--time`: Unix seconds or RFC 3339.
fn parse_time(t: &str) -> Result<i64, CliError> {
    t.parse::<i64>()
        .or_else(|_| crate::time::parse_rfc3339(t))
        .map_err(|e| {
            CliError::new(format!("--time {t:?}: {e}"))
                .hint("give Unix seconds (1796404671) or RFC 3339 (2026-12-05T12:00:00Z)")
        })
}

fn read_held(path: &Path) -> Result<HeldFile, CliError> {
    use sha2::{Digest as _, Sha256};
    let err = |e: std::io::Error| {
        CliError::new(format!("{}: {e}", path.display()))
            .hint("--artifact names a file you hold, to be checked against the bundle")
    };
    use std::io::Read as _;
    let mut f = std::fs::File::open(path).map_err(err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(err(e)),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(HeldFile {
        name: path.display().to_string(),
        digest: FileDigest {
            sha256: hasher.finalize().into(),
            size,
        },
    })
}

/// Reads a bundle file, refusing one over the parser's size limit before reading it: a file
/// of many gigabytes must not be loaded into memory only to be refused.
fn read_bundle(file: &Path) -> Result<Vec<u8>, CliError> {
    use std::io::Read;
    let err = |e: std::io::Error| CliError::new(format!("{}: {e}", file.display())).code(3);
    let max = BundleLimits::default().max_bytes;
    if file.as_os_str() == "-" {
        // Standard input: read one byte past the limit so the parser refuses an oversized one.
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(max as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::new(format!("standard input: {e}")).code(3))?;
        return Ok(bytes);
    }
    let f = std::fs::File::open(file).map_err(err)?;
    let len = f.metadata().map_err(err)?.len();
    if len > max as u64 {
        return Err(CliError::new(format!(
            "{}: bundle is {len} bytes, over the limit of {max}",
            file.display()
        ))
        .code(3));
    }
    // A pipe or device reports no length: read one byte past the limit so the parser refuses it.
    let mut bytes = Vec::new();
    f.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    Ok(bytes)
}
