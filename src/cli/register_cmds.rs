//! Registration of statements signed elsewhere, and the registration policy: `evledger register`
//! and `evledger signer`.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{CliError, outln};
use crate::hex;
use crate::keys::{self, KeyId};
use crate::ledger::{Ledger, RegisterOptions, Registered, Submission};
use crate::store::{RuleSigner, SignerRule, StoreRead};
use crate::x509::Certificate;

/// The statement files of a `register` call, in order: each argument is a file, `-` (stdin) or a
/// directory, whose files are taken in file-name order (hidden files skipped).
fn statement_files(args: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for a in args {
        if a.as_os_str() == "-" || !a.is_dir() {
            files.push(a.clone());
            continue;
        }
        let mut in_dir = Vec::new();
        let entries =
            std::fs::read_dir(a).map_err(|e| CliError::new(format!("{}: {e}", a.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| CliError::new(format!("{}: {e}", a.display())))?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') || !entry.path().is_file() {
                continue;
            }
            in_dir.push(entry.path());
        }
        in_dir.sort();
        if in_dir.is_empty() {
            return Err(CliError::new(format!(
                "{}: no statement files in this directory",
                a.display()
            )));
        }
        files.extend(in_dir);
    }
    Ok(files)
}

fn read_input(path: &Path) -> Result<Vec<u8>, CliError> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buf)
            .map_err(|e| CliError::new(format!("stdin: {e}")))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| CliError::new(format!("{}: {e}", path.display())))
}

/// `evledger register`.
pub fn register(
    dir: &Path,
    inputs: &[PathBuf],
    documents: &[PathBuf],
    trusted_roots: &[PathBuf],
    receipts: Option<&Path>,
    dry_run: bool,
    json_out: bool,
) -> Result<(), CliError> {
    let files = statement_files(inputs)?;
    if files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(CliError::new("`-` (stdin) may be given once"));
    }
    let mut submissions = files
        .iter()
        .map(|f| {
            Ok(Submission {
                statement: read_input(f)?,
                documents: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    attach_documents(&mut submissions, &files, documents)?;
    let roots = trusted_roots
        .iter()
        .map(|p| read_input(p))
        .collect::<Result<Vec<_>, _>>()?;
    let check = |evidence: &crate::evidence::Evidence, docs: &[Vec<u8>]| match evidence {
        crate::evidence::Evidence::FirmwareBuild(fb)
            if fb.sigstore.is_some() || fb.attestation.is_some() =>
        {
            check_sigstore(fb, docs, &roots).map_err(crate::ledger::LedgerError::Sigstore)
        }
        _ => Ok(()),
    };
    let mut ledger = Ledger::open(dir)?;
    let options = RegisterOptions {
        dry_run,
        local_key: None,
        documents: Some(&check),
    };
    let done = ledger
        .register(&submissions, &options)
        .map_err(|e| match e.position {
            Some(p) => CliError::from(e.error).prefix(&files[p].display().to_string()),
            None => CliError::from(e.error),
        })?;
    print_registered(&done, json_out);
    let n = done.len();
    if dry_run {
        eprintln!("dry run: all {n} statement(s) would be registered; nothing was written");
        return Ok(());
    }
    eprintln!("registered {n} statement(s)");
    if let Some(out) = receipts {
        write_receipts(&mut ledger, out, &files, &done)?;
    }
    Ok(())
}

/// Writes, for each registered statement, a receipt its signer can check offline: a bundle of
/// the entry with everything it cites, proved against a checkpoint signed now
/// (`specs/registration.md`). The receipt of `fw.cose` is `DIR/fw.cose.receipt.cbor`; of stdin,
/// `DIR/ENTRY-HASH.receipt.cbor`.
fn write_receipts(
    ledger: &mut Ledger,
    out: &Path,
    files: &[PathBuf],
    done: &[Registered],
) -> Result<(), CliError> {
    use crate::export::{self, BundleOptions, Selection};
    std::fs::create_dir_all(out).map_err(|e| CliError::new(format!("{}: {e}", out.display())))?;
    // The statements are registered; a receipt that cannot be written is reported, and
    // `evledger bundle --entry ENTRY` makes it again later.
    let cp = ledger.checkpoint()?;
    for (file, r) in files.iter().zip(done) {
        let entry = ledger.store().entry(r.index)?;
        let selection = Selection {
            all: false,
            entries: vec![entry],
        };
        let bundle = export::build(ledger, &selection, &BundleOptions::default())
            .map_err(|e| CliError::new(format!("receipt of entry {}: {e}", r.index)))?;
        let name = match file.file_name() {
            Some(n) if file.as_os_str() != "-" => format!("{}.receipt.cbor", n.to_string_lossy()),
            _ => format!("{}.receipt.cbor", hex::encode(&r.entry_hash)),
        };
        let path = out.join(name);
        super::bundle_cmds::write_atomically(&path, &bundle.to_cbor()).map_err(|e| {
            e.hint(format!(
                "entry {} is registered; write its receipt again with: evledger bundle --entry {} --out FILE",
                r.index,
                hex::encode(&r.entry_hash)
            ))
        })?;
        eprintln!("wrote {} (checkpoint at size {})", path.display(), cp.size);
    }
    Ok(())
}

/// Re-verifies the Sigstore bundle and attestation a firmware build cites, offline, as `record
/// --sigstore-bundle` / `--attestation` does before recording: the bundles (and managed keys)
/// must come with the statement (`--document`), and the trusted roots they name by digest among
/// `--trusted-root`.
#[cfg(feature = "sigstore")]
fn check_sigstore(
    fb: &crate::evidence::FirmwareBuild,
    documents: &[Vec<u8>],
    roots: &[Vec<u8>],
) -> Result<(), String> {
    use crate::sigstore::Which;
    for (which, sg) in [
        (Which::Signature, &fb.sigstore),
        (Which::Attestation, &fb.attestation),
    ] {
        if let Some(sg) = sg {
            check_cited(fb, which, sg, documents, roots)?;
        }
    }
    Ok(())
}

#[cfg(feature = "sigstore")]
fn check_cited(
    fb: &crate::evidence::FirmwareBuild,
    which: crate::sigstore::Which,
    sg: &crate::evidence::SigstoreRef,
    documents: &[Vec<u8>],
    roots: &[Vec<u8>],
) -> Result<(), String> {
    use sha2::Digest as _;
    let sha = |d: &[u8]| <[u8; 32]>::from(sha2::Sha256::digest(d));
    let find = |digest: &[u8; 32]| documents.iter().find(|d| sha(d) == *digest);
    let bundle = find(&sg.bundle_sha256.0).ok_or_else(|| {
        format!(
            "the firmware build cites Sigstore bundle {}, which this call does not carry: pass it with --document FILE",
            hex::encode(&sg.bundle_sha256.0)
        )
    })?;
    let key = match &sg.key_sha256 {
        Some(k) => Some(find(&k.0).ok_or_else(|| {
            format!(
                "the firmware build cites the managed Sigstore key {}, which this call does not carry: pass the key (SubjectPublicKeyInfo DER) with --document FILE",
                hex::encode(&k.0)
            )
        })?),
        None => None,
    };
    let root = roots
        .iter()
        .find(|r| sha(r) == sg.trusted_root_sha256.0)
        .ok_or_else(|| {
            format!(
                "the firmware build's Sigstore bundle was verified against trusted root {}, which no --trusted-root file is: pass the trusted_root.json you pin with --trusted-root FILE",
                hex::encode(&sg.trusted_root_sha256.0)
            )
        })?;
    let cited = crate::sigstore::CitedBytes {
        bundle,
        trusted_root: root,
        key: key.map(Vec::as_slice),
    };
    let (report, artifact) =
        crate::sigstore::verify_cited(fb, which, cited, super::now()).map_err(|e| e.to_string())?;
    match &report.error {
        Some(e) => Err(format!(
            "the cited Sigstore bundle does not verify over artifact {artifact}: {e}"
        )),
        None => Ok(()),
    }
}

/// Without the `sigstore` feature a firmware build citing a Sigstore bundle is refused, as
/// `record` refuses it: this build cannot verify the bundle.
#[cfg(not(feature = "sigstore"))]
fn check_sigstore(
    _fb: &crate::evidence::FirmwareBuild,
    _documents: &[Vec<u8>],
    _roots: &[Vec<u8>],
) -> Result<(), String> {
    Err("the firmware build cites a Sigstore bundle, but this build of evledger was compiled without Sigstore support, so it cannot verify it: use an evledger built with `--features sigstore`".into())
}

/// Gives each document to the statements that cite it by digest; a document no statement cites
/// is an error.
fn attach_documents(
    submissions: &mut [Submission],
    files: &[PathBuf],
    documents: &[PathBuf],
) -> Result<(), CliError> {
    use sha2::Digest as _;
    if documents.is_empty() {
        return Ok(());
    }
    let cited: Vec<Vec<[u8; 32]>> = submissions
        .iter()
        .map(|s| {
            crate::statement::SignedStatement::parse(&s.statement)
                .ok()
                .and_then(|st| {
                    crate::evidence::Evidence::from_payload(&st.header().kind, st.payload()).ok()
                })
                .map(|e| e.document_digests().into_iter().map(|(_, d)| d).collect())
                .unwrap_or_default()
        })
        .collect();
    for path in documents {
        let bytes = read_input(path)?;
        let digest: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        let mut used = false;
        for (sub, digests) in submissions.iter_mut().zip(&cited) {
            if digests.contains(&digest) {
                sub.documents.push(bytes.clone());
                used = true;
            }
        }
        if !used {
            return Err(CliError::new(format!(
                "{}: no statement of this call cites this document (SHA-256 {})",
                path.display(),
                hex::encode(&digest)
            ))
            .hint(format!(
                "--document is for documents a statement cites by digest; the statements are: {}",
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(())
}

fn print_registered(done: &[Registered], json_out: bool) {
    if json_out {
        let list: Vec<_> = done
            .iter()
            .map(|r| {
                json!({"index": r.index, "entry_hash": hex::encode(&r.entry_hash), "kind": r.kind})
            })
            .collect();
        outln!("{}", serde_json::Value::Array(list));
    } else {
        for r in done {
            outln!("{} {}", hex::encode(&r.entry_hash), r.index);
        }
    }
}

/// `evledger signer add`.
pub fn signer_add(
    dir: &Path,
    kinds: &[String],
    key: Option<&Path>,
    x509_root: Option<&Path>,
) -> Result<(), CliError> {
    for kind in kinds {
        if !crate::evidence::KINDS.contains(&kind.as_str()) {
            return Err(
                CliError::new(format!("--kinds: unknown evidence kind {kind:?}"))
                    .hint(format!("kinds are: {}", crate::evidence::KINDS.join(", "))),
            );
        }
    }
    let (signer, what) = match (key, x509_root) {
        (Some(k), None) => {
            let public = keys::read_key_file(k)?.verifying_key();
            (
                RuleSigner::Key(public),
                format!("key {}", KeyId::of(&public)),
            )
        }
        (None, Some(root)) => {
            let pem = std::fs::read_to_string(root)
                .map_err(|e| CliError::new(format!("{}: {e}", root.display())))?;
            let certs = Certificate::from_pem_chain(&pem)
                .map_err(|e| CliError::new(format!("{}: {e}", root.display())))?;
            let [cert] = certs.as_slice() else {
                return Err(CliError::new(format!(
                    "{}: expected one root certificate, found {}",
                    root.display(),
                    certs.len()
                )));
            };
            if !cert.is_self_issued() || !cert.is_ca() {
                return Err(CliError::new(format!(
                    "{}: {} is not a self-issued CA certificate",
                    root.display(),
                    cert.subject()
                ))
                .hint("--x509-root takes the root of the signers' certificate chains"));
            }
            (
                RuleSigner::X509Root(cert.der().to_vec()),
                format!("certificates chaining to {}", cert.subject()),
            )
        }
        _ => return Err(CliError::new("give exactly one of --key and --x509-root")),
    };
    let mut ledger = Ledger::open(dir)?;
    for kind in kinds {
        let rule = SignerRule {
            kind: kind.clone(),
            signer: signer.clone(),
        };
        let added = ledger.admit(&rule)?;
        if added {
            eprintln!("admitted {what} to register {kind} statements");
        } else {
            eprintln!("{what} was already admitted to register {kind} statements");
        }
    }
    Ok(())
}

/// `evledger signer list`.
pub fn signer_list(dir: &Path, json_out: bool) -> Result<(), CliError> {
    use sha2::Digest as _;
    let ledger = Ledger::open_read_only(dir)?;
    let rules = ledger.store().signer_rules()?;
    if json_out {
        let list: Vec<_> = rules
            .iter()
            .map(|r| match &r.signer {
                RuleSigner::Key(k) => json!({"kind": r.kind, "kid": KeyId::of(k).to_string()}),
                RuleSigner::X509Root(der) => {
                    let subject = Certificate::from_der(der)
                        .map(|c| c.subject().to_owned())
                        .unwrap_or_default();
                    let sha256: [u8; 32] = sha2::Sha256::digest(der).into();
                    json!({"kind": r.kind, "x509_root": subject, "sha256": hex::encode(&sha256)})
                }
            })
            .collect();
        outln!("{}", serde_json::Value::Array(list));
        return Ok(());
    }
    for r in &rules {
        match &r.signer {
            RuleSigner::Key(k) => outln!("{} key {}", r.kind, KeyId::of(k)),
            RuleSigner::X509Root(der) => {
                let subject = Certificate::from_der(der)
                    .map(|c| c.subject().to_owned())
                    .unwrap_or_else(|e| format!("(unreadable certificate: {e})"));
                outln!("{} x509-root {}", r.kind, crate::terminal::escape(&subject));
            }
        }
    }
    if rules.is_empty() {
        eprintln!(
            "no signer is admitted yet; `evledger record` admits its own key, `evledger signer add` admits others"
        );
    }
    Ok(())
}
