//! `evledger sign`: sign evidence as a statement file where the signer's key is, with no ledger.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

use super::evidence_input::read_evidence;
use super::ledger_cmds::signing;
use super::{CliError, SigningArgs, outln};
use crate::evidence::Evidence;
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
    if let Evidence::FirmwareBuild(fb) = &evidence
        && fb.sigstore.is_some()
    {
        return Err(CliError::new(format!(
            "{input}: the firmware build cites a Sigstore bundle, which a statement file cannot carry"
        ))
        .hint("remove the sigstore table; a build is recorded with its Sigstore bundle by `evledger record --sigstore-bundle` (feature `sigstore`) on the ledger host"));
    }
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

/// Writes `bytes` to `path` so that a reader sees either no file (or the old one) or the whole
/// statement, and returns once it is durable: a temporary file beside `path` is written and
/// synced, then linked to `path` (which fails if `path` exists) or, with `replace`, renamed over
/// it, and the directory is synced.
fn write_file(path: &Path, bytes: &[u8], replace: bool) -> Result<(), CliError> {
    let err = |e: std::io::Error| CliError::new(format!("{}: {e}", path.display()));
    let name = path
        .file_name()
        .ok_or_else(|| CliError::new(format!("{}: not a file name", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(err)?;
        f.write_all(bytes).map_err(err)?;
        f.sync_all().map_err(err)?;
        if replace {
            std::fs::rename(&tmp, path).map_err(err)?;
        } else {
            match std::fs::hard_link(&tmp, path) {
                // The statement is in place under both names: drop the temporary one before
                // the directory is synced.
                Ok(()) => {
                    let _ = std::fs::remove_file(&tmp);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(exists(path));
                }
                // A file system without hard links: check, then rename. Another writer could
                // slip in between the two, which the link above rules out where it works.
                Err(_) if path.symlink_metadata().is_ok() => return Err(exists(path)),
                Err(_) => std::fs::rename(&tmp, path).map_err(err)?,
            }
        }
        sync_dir(dir).map_err(err)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Flushes a directory's entries (the new name) to stable storage.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    // Other platforms offer no portable directory fsync; the rename or link is still atomic.
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
