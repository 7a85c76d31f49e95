//! Reading a trust file from disk: its text, and each file it names, relative to its directory;
//! and writing a starting one (`evledger trust init`).
//!
//! The verifier parses a trust file from text and reads the files it names through a function
//! ([`crate::trust::ReadNamed`]); this is that function for the command line.

use std::path::{Path, PathBuf};

use sha2::Digest as _;

use super::CliError;
use crate::ledger::Ledger;
use crate::ledger::trust_init::{self, RoleArg, RoleGrant, RoleSigner, SignerArg, TrustInitError};
use crate::trust::TrustFile;

/// Reads a trust file and every file it names (X.509 roots, profiles, Sigstore trusted roots).
///
/// # Errors
/// A [`CliError`] naming the trust file and the cause: the file cannot be read, or
/// [`crate::trust::TrustError`] with the field and, for a named file, its path.
pub fn load(path: &Path) -> Result<TrustFile, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    TrustFile::parse(&text, &path.display().to_string(), &files_beside(base))
        .map_err(|e| CliError::new(e.to_string()))
}

/// Reads the files a trust file names as paths relative to `base` (its directory); a failure
/// names the path and the cause.
pub fn files_beside(base: &Path) -> impl Fn(&str) -> Result<Vec<u8>, String> {
    let base: PathBuf = base.to_path_buf();
    move |name| {
        let file = base.join(name);
        std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))
    }
}

/// `evledger trust init`: writes a starting trust file from the ledger in `dir`, with the roles
/// `roles` state (their key and root files read here), and prints any warning on stderr.
///
/// # Errors
/// The ledger cannot be read, a `--role` file cannot be read or parsed, a role names a kid the
/// ledger does not hold, or `out` exists.
pub fn init(
    dir: &Path,
    out: &Path,
    profiles: &[String],
    roles: &[RoleArg],
) -> Result<(), CliError> {
    let grants = roles
        .iter()
        .map(|r| grant(r, out))
        .collect::<Result<Vec<_>, _>>()?;
    let ledger = Ledger::open_read_only(dir)?;
    let made = trust_init::trust_file_text(&ledger, profiles, &grants).map_err(|e| match e {
        TrustInitError::Ledger(e) => CliError::from(e),
        other => CliError::new(other.to_string()),
    })?;
    let exists = || {
        CliError::new(format!("{}: file exists", out.display()))
            .hint("choose another --out; trust files are never overwritten")
    };
    if out.exists() {
        return Err(exists());
    }
    crate::durable::create_new(out, made.text.as_bytes(), 0o644).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            exists()
        } else {
            CliError::new(format!("{}: {e}", out.display()))
        }
    })?;
    for w in &made.warnings {
        eprintln!("warning: {w}");
    }
    if profiles.is_empty() {
        eprintln!(
            "note: {} names no policy profile: `evledger verify` with it judges no claim and fails as \"not judged\" (exit 4) unless given --integrity-only; name the buyer's profiles with --profile",
            out.display()
        );
    }
    if roles.is_empty() {
        eprintln!(
            "wrote {} with the log key and no roles: the signers the ledger holds are listed in it as comments; give roles with --role NAME=KIND[,KIND…]:SIGNER once you have confirmed their keys out of band",
            out.display()
        );
    } else {
        eprintln!(
            "wrote {}; confirm every key in it out of band before relying on it",
            out.display()
        );
    }
    Ok(())
}

/// A `--role` argument with its file read: a public key, or an X.509 root written into the
/// trust file relative to the directory of `out`.
fn grant(r: &RoleArg, out: &Path) -> Result<RoleGrant, CliError> {
    let signer = match &r.signer {
        SignerArg::Kid(kid) => RoleSigner::Kid(*kid),
        SignerArg::KeyFile(file) => RoleSigner::Key(
            crate::keys::read_verifying_key(Path::new(file))
                .map_err(|e| CliError::new(format!("--role {}: {e}", r.name)))?,
        ),
        SignerArg::X509Root(file) => {
            let path = Path::new(file);
            let pem = std::fs::read_to_string(path)
                .map_err(|e| CliError::new(format!("--role {}: {file}: {e}", r.name)))?;
            crate::x509::Certificate::from_pem_chain(&pem).map_err(|e| {
                CliError::new(format!("--role {}: {file}: {e}", r.name))
                    .hint("x509-root: names a PEM file of root certificates")
            })?;
            RoleSigner::X509Root {
                path: relative_to_trust_file(path, out),
                pem,
            }
        }
    };
    Ok(RoleGrant {
        name: r.name.clone(),
        kinds: r.kinds.clone(),
        signer,
    })
}

/// How a trust file at `out` names `file`: relative to the trust file's directory when `file`
/// is inside it, otherwise its absolute path.
fn relative_to_trust_file(file: &Path, out: &Path) -> String {
    let base = out.parent().filter(|p| !p.as_os_str().is_empty());
    let base = base.unwrap_or(Path::new("."));
    let (Ok(file_abs), Ok(base_abs)) = (std::fs::canonicalize(file), std::fs::canonicalize(base))
    else {
        return file.display().to_string();
    };
    match file_abs.strip_prefix(&base_abs) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => file_abs.display().to_string(),
    }
}

/// `evledger trust pack`: writes `out`, the trust file at `path` with every file it names
/// (profiles, X.509 roots, Sigstore trusted roots) carried in it as `[[files]]`, so that it loads
/// with no other file (`specs/trust.md`, "Packed trust files").
///
/// # Errors
/// The trust file or a file it names cannot be read or is unusable (the message names the field
/// and the path), a named file is not UTF-8 text, or `out` exists.
pub fn pack(path: &Path, out: &Path) -> Result<(), CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let beside = files_beside(base);
    // Loading the trust file reads and checks every file it names; the reads are recorded, in
    // the order the loader makes them, so each is packed once.
    let read: std::cell::RefCell<Vec<(String, Vec<u8>)>> = Default::default();
    let recording = |name: &str| {
        let bytes = beside(name)?;
        let mut read = read.borrow_mut();
        if !read.iter().any(|(n, _)| n == name) {
            read.push((name.to_owned(), bytes.clone()));
        }
        Ok(bytes)
    };
    let name = path.display().to_string();
    let original = TrustFile::parse(&text, &name, &recording).map_err(|e| {
        CliError::new(e.to_string())
            .hint("every file the trust file names must be readable, relative to the trust file")
    })?;
    let files = read.into_inner();
    let count = files.len();
    let mut packed = text.trim_end().to_owned();
    packed.push('\n');
    if count > 0 {
        packed.push_str(
            "\n# The files this trust file names, carried in it by `evledger trust pack`:\n# each `text` is the file's content, `sha256` the SHA-256 of it.\n",
        );
    }
    for (file, bytes) in files {
        let text = String::from_utf8(bytes).map_err(|_| {
            CliError::new(format!(
                "{}: {file}: not UTF-8 text; only text files can be packed",
                path.display()
            ))
        })?;
        let digest = crate::hex::encode(&<[u8; 32]>::from(sha2::Sha256::digest(text.as_bytes())));
        packed.push_str(&format!(
            "\n[[files]]\nname = {}\nsha256 = \"{digest}\"\ntext = \"\"\"\n{}\"\"\"\n",
            toml_string(&file, false),
            toml_string(&text, true)
        ));
    }
    // The packed file must stand alone and mean what the original meant.
    let alone = |n: &str| Err(format!("{n}: not carried in the packed file"));
    let check = TrustFile::parse(&packed, &out.display().to_string(), &alone)
        .map_err(|e| CliError::new(format!("packing {}: {e}", path.display())))?;
    if check.profiles.len() != original.profiles.len()
        || check.roles.len() != original.roles.len()
        || check.sigstore_roots.len() != original.sigstore_roots.len()
    {
        return Err(CliError::new(format!(
            "packing {}: the packed file does not load as the original does",
            path.display()
        )));
    }
    crate::durable::create_new(out, packed.as_bytes(), 0o644).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::new(format!("{}: file exists", out.display()))
                .hint("choose another --out; trust files are never overwritten")
        } else {
            CliError::new(format!("{}: {e}", out.display()))
        }
    })?;
    eprintln!(
        "wrote {}: {} with the {count} file(s) it names carried in it",
        out.display(),
        path.display(),
    );
    Ok(())
}

/// `s` as a quoted TOML basic string, or (`multi_line`) as the inside of a multi-line one, where
/// newlines stay as they are and a quote is escaped only where it would end the string (before
/// another quote, or last): backslash, those quotes and every other control character escaped,
/// so that the string reads back byte for byte.
fn toml_string(s: &str, multi_line: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len() + 2);
    if !multi_line {
        out.push('"');
    }
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' if multi_line && chars.peek().is_some_and(|n| *n != '"') => out.push('"'),
            '"' => out.push_str("\\\""),
            '\n' if multi_line => out.push('\n'),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    if !multi_line {
        out.push('"');
    }
    out
}
