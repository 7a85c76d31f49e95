//! The buyer's trust file (TOML): which log key, witnesses, signers and policy profiles to trust.
//!
//! ```toml
//! version = 1
//! profiles = ["pad-ibeta-level2.toml"]        # relative to this file
//!
//! [log]
//! keys = ["example.com/log+1a2b3c4d+AR..."]   # C2SP verifier keys of the log, or tables
//! # keys = [{ vkey = "old...", to_size = 5000 }, { vkey = "new...", from_size = 4990 }]
//!
//! [witnesses]                                  # optional
//! quorum = 1
//! keys = ["witness.example+5e6f7a8b+BA..."]   # C2SP cosignature (type 0x04) verifier keys
//!
//! [[roles]]
//! name = "release-engineering"
//! kinds = ["firmware-build"]
//! public_keys = ["base64 of the 32-byte Ed25519 key"]
//! x509_roots = ["lab-root.pem"]                # certificates whose chains are trusted, relative paths
//!
//! [sigstore]                                   # optional: for firmware builds citing cosign bundles
//! trusted_roots = ["trusted_root.json"]        # Sigstore trusted roots, relative paths
//! ```
//! A bundle carries no trust: keys and certificates inside it are claims until this file says otherwise.
//!
//! Parsing reads no file: the files the trust file names (X.509 roots, policy profiles, Sigstore
//! trusted roots) come through a function from the name written in the file to its bytes. The
//! command line reads them from disk, relative to the trust file; a web page, from the files the
//! user dropped.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::VerifyingKey;
use serde::Deserialize;
use sha2::Digest as _;

use crate::checkpoint::{self, Checkpoint, VerifiedCheckpoint};
use crate::keys::KeyId;
use crate::note::{CosignatureVerifier, Note, NoteVerifier};
use crate::policy::{DeadlineClock, Profile};
use crate::x509::Certificate;

/// Gives the bytes of a file a trust file names, by the name as written in the trust file
/// (`"lab-root.pem"`, `"../profiles/pad.toml"`), or a message saying why it cannot (which the
/// error reports as is, so it should name the file).
pub type ReadNamed<'a> = dyn Fn(&str) -> Result<Vec<u8>, String> + 'a;

/// Why a trust file is not usable.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The text is not valid TOML or not of the trust file's shape.
    #[error("{file}: {message}")]
    Syntax {
        /// The trust file's name, as the caller gave it.
        file: String,
        /// What is wrong, with the field path.
        message: String,
    },
    /// A value in the file, or a file it names, is not acceptable.
    #[error("{file}: {field}: {reason}")]
    Invalid {
        /// The trust file's name, as the caller gave it.
        file: String,
        /// The field, e.g. `roles[1].public_keys[0]`.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    version: u32,
    #[serde(default)]
    profiles: Vec<String>,
    log: RawLog,
    #[serde(default)]
    witnesses: Option<RawWitnesses>,
    #[serde(default)]
    roles: Vec<RawRole>,
    #[serde(default)]
    sigstore: Option<RawSigstore>,
    #[serde(default)]
    files: Vec<RawFile>,
}

/// A named file carried in the trust file itself (`evledger trust pack`): its name as the other
/// fields write it, its SHA-256 and its text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: String,
    sha256: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigstore {
    trusted_roots: Vec<String>,
}

/// A Sigstore `trusted_root.json` the buyer pins: firmware builds citing a Sigstore bundle are
/// re-checked against it when their `sigstore.trusted_root_sha256` names it.
#[derive(Clone, Debug)]
pub struct PinnedTrustedRoot {
    /// Its name, as written in the trust file.
    pub name: String,
    /// SHA-256 of its bytes.
    pub sha256: [u8; 32],
    /// Its bytes (parsed only by a verifier built with the `sigstore` feature).
    pub bytes: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    keys: Vec<RawLogKey>,
}

/// A log key: a verifier key string, or a table limiting it to a range of tree sizes.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawLogKey {
    Plain(String),
    Ranged(RawRangedKey),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRangedKey {
    vkey: String,
    #[serde(default)]
    from_size: u64,
    #[serde(default)]
    to_size: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWitnesses {
    quorum: usize,
    keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    name: String,
    kinds: Vec<String>,
    #[serde(default)]
    public_keys: Vec<String>,
    #[serde(default)]
    x509_roots: Vec<String>,
}

/// A signer role: who may sign which kinds.
#[derive(Clone, Debug)]
pub struct Role {
    /// Role name, e.g. `lab`.
    pub name: String,
    /// Evidence kinds this role may sign.
    pub kinds: Vec<String>,
    /// Pinned signer keys.
    pub keys: Vec<VerifyingKey>,
    /// Trusted root certificates for signers with certificates.
    pub x509_roots: Vec<Certificate>,
}

impl Role {
    /// Whether this role pins the key with this id.
    pub fn pins(&self, kid: &KeyId) -> Option<&VerifyingKey> {
        self.keys.iter().find(|k| KeyId::of(k) == *kid)
    }
}

/// A pinned log key and the checkpoint sizes it is trusted for (both ends inclusive).
///
/// During a log key rotation the log signs checkpoints with both keys; a buyer pins the old key
/// up to the last size it signed alone and the new key from the first size it signed, so that
/// bundles made before the rotation keep verifying after it.
#[derive(Clone, Debug)]
pub struct LogKey {
    /// The C2SP verifier key.
    pub verifier: NoteVerifier,
    /// Smallest tree size it may sign.
    pub from_size: u64,
    /// Largest tree size it may sign, if limited.
    pub to_size: Option<u64>,
}

impl LogKey {
    /// Whether the key is trusted for a checkpoint of `size`.
    pub fn covers(&self, size: u64) -> bool {
        size >= self.from_size && self.to_size.is_none_or(|t| size <= t)
    }
}

/// Witness keys and how many of them must cosign.
#[derive(Clone, Debug)]
pub struct Witnesses {
    /// Cosignatures needed.
    pub quorum: usize,
    /// Trusted witness keys.
    pub keys: Vec<CosignatureVerifier>,
}

/// A parsed trust file, with the files it names.
#[derive(Clone, Debug)]
pub struct TrustFile {
    /// Its name in messages, as the caller gave it (the command line gives its path).
    pub name: String,
    /// Pinned log keys, each with the tree sizes it may sign.
    pub log_keys: Vec<LogKey>,
    /// Witnesses, if any are required.
    pub witnesses: Option<Witnesses>,
    /// Signer roles.
    pub roles: Vec<Role>,
    /// The policy profiles it names (`profiles`), parsed, in the order listed.
    pub profiles: Vec<Profile>,
    /// Pinned Sigstore trusted roots (`[sigstore] trusted_roots`).
    pub sigstore_roots: Vec<PinnedTrustedRoot>,
    /// The SHA-256 of the trust file's text as given to [`TrustFile::parse`], for the report.
    pub sha256: [u8; 32],
}

impl TrustFile {
    /// Parses and checks trust file text, reading each file it names through `read`.
    ///
    /// `name` is how messages refer to the trust file. Every named file is read and checked
    /// here (certificates, profiles, trusted roots), so that a trust file that parses is whole.
    ///
    /// # Errors
    /// [`TrustError`] naming the field that is wrong, or the named file that cannot be read or
    /// parsed (with `read`'s message).
    pub fn parse(text: &str, name: &str, read: &ReadNamed<'_>) -> Result<TrustFile, TrustError> {
        let syntax = |message: String| TrustError::Syntax {
            file: name.to_owned(),
            message,
        };
        let value: toml::Value =
            toml::from_str(text).map_err(|e| syntax(e.to_string().trim_end().to_owned()))?;
        let mut raw: RawTrust =
            serde_path_to_error::deserialize(value).map_err(|e| syntax(shape_error(&e)))?;
        let invalid = |field: String, reason: String| TrustError::Invalid {
            file: name.to_owned(),
            field,
            reason,
        };
        if raw.version != 1 {
            return Err(invalid(
                "version".into(),
                format!("{} is not supported (expected 1)", raw.version),
            ));
        }
        let carried = std::mem::take(&mut raw.files);
        let packed = packed_files(&carried, &invalid)?;
        let used = std::cell::RefCell::new(std::collections::BTreeSet::new());
        // A name the trust file carries is taken from it; any other goes to the caller's reader.
        let read = &|name: &str| match packed.get(name) {
            Some(text) => {
                used.borrow_mut().insert(name.to_owned());
                Ok(text.as_bytes().to_vec())
            }
            None => read(name),
        };
        let mut log_keys = Vec::with_capacity(raw.log.keys.len());
        for (i, k) in raw.log.keys.iter().enumerate() {
            let (vkey, from_size, to_size) = match k {
                RawLogKey::Plain(v) => (v, 0, None),
                RawLogKey::Ranged(r) => (&r.vkey, r.from_size, r.to_size),
            };
            let verifier = NoteVerifier::parse(vkey)
                .map_err(|e| invalid(format!("log.keys[{i}]"), e.to_string()))?;
            if to_size.is_some_and(|t| t < from_size) {
                return Err(invalid(
                    format!("log.keys[{i}]"),
                    "to_size is below from_size".into(),
                ));
            }
            log_keys.push(LogKey {
                verifier,
                from_size,
                to_size,
            });
        }
        let witnesses = match raw.witnesses {
            None => None,
            Some(w) => {
                let keys = w
                    .keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| {
                        CosignatureVerifier::parse(k)
                            .map_err(|e| invalid(format!("witnesses.keys[{i}]"), e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                for (i, k) in keys.iter().enumerate() {
                    if keys[..i].iter().any(|p| p.to_string() == k.to_string()) {
                        return Err(invalid(
                            format!("witnesses.keys[{i}]"),
                            "lists a witness key twice: each witness counts once toward the quorum"
                                .into(),
                        ));
                    }
                }
                if w.quorum > keys.len() {
                    return Err(invalid(
                        "witnesses.quorum".into(),
                        format!(
                            "{} exceeds the {} witness keys listed",
                            w.quorum,
                            keys.len()
                        ),
                    ));
                }
                Some(Witnesses {
                    quorum: w.quorum,
                    keys,
                })
            }
        };
        let mut roles = Vec::with_capacity(raw.roles.len());
        for (i, r) in raw.roles.into_iter().enumerate() {
            let at = format!("roles[{i}]");
            if r.kinds.is_empty() {
                return Err(invalid(
                    format!("{at}.kinds"),
                    "must list at least one kind".into(),
                ));
            }
            if r.public_keys.is_empty() && r.x509_roots.is_empty() {
                return Err(invalid(at, "needs public_keys or x509_roots".into()));
            }
            let keys = r
                .public_keys
                .iter()
                .enumerate()
                .map(|(j, k)| {
                    parse_public_key(k).map_err(|e| invalid(format!("{at}.public_keys[{j}]"), e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut x509_roots = Vec::new();
            for (j, p) in r.x509_roots.iter().enumerate() {
                let at = format!("{at}.x509_roots[{j}]");
                let pem = read_text(read, p).map_err(|e| invalid(at.clone(), e))?;
                let certs = Certificate::from_pem_chain(&pem)
                    .map_err(|e| invalid(at.clone(), format!("{p}: {e}")))?;
                x509_roots.extend(certs);
            }
            roles.push(Role {
                name: r.name,
                kinds: r.kinds,
                keys,
                x509_roots,
            });
        }
        let mut sigstore_roots = Vec::new();
        for (i, p) in raw
            .sigstore
            .iter()
            .flat_map(|s| s.trusted_roots.iter())
            .enumerate()
        {
            let bytes = read(p).map_err(|e| invalid(format!("sigstore.trusted_roots[{i}]"), e))?;
            sigstore_roots.push(PinnedTrustedRoot {
                name: p.clone(),
                sha256: sha2::Sha256::digest(&bytes).into(),
                bytes,
            });
        }
        let mut profiles = Vec::with_capacity(raw.profiles.len());
        for (i, p) in raw.profiles.iter().enumerate() {
            let at = format!("profiles[{i}]");
            let text = read_text(read, p).map_err(|e| invalid(at.clone(), e))?;
            let profile =
                Profile::parse(&text).map_err(|e| invalid(at.clone(), format!("{p}: {e}")))?;
            // The strict clock rests on witnesses: a trust file that asks for none would let
            // a bundle without cosignatures stand for one with them.
            let quorum = witnesses.as_ref().map_or(0, |w| w.quorum);
            if let Some(j) = profile
                .rules
                .iter()
                .position(|r| r.clock() == Some(DeadlineClock::Witnessed))
                && quorum == 0
            {
                return Err(invalid(
                    at,
                    format!(
                        "{p}: rule[{j}].clock: \"witnessed\" needs witnesses, but this trust file's witnesses.quorum is {quorum}{}; set quorum = 1 or more under [witnesses], or use clock = \"witnessed-if-present\"",
                        if witnesses.is_none() {
                            " (no [witnesses] table)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            profiles.push(profile);
        }
        if let Some((i, f)) = carried
            .iter()
            .enumerate()
            .find(|(_, f)| !used.borrow().contains(&f.name))
        {
            return Err(invalid(
                format!("files[{i}].name"),
                format!(
                    "{:?} is not named by profiles, roles[].x509_roots or sigstore.trusted_roots; remove it, or name it where it is meant to apply",
                    f.name
                ),
            ));
        }
        Ok(TrustFile {
            name: name.to_owned(),
            log_keys,
            witnesses,
            roles,
            profiles,
            sigstore_roots,
            sha256: sha2::Sha256::digest(text.as_bytes()).into(),
        })
    }

    /// Verifies a checkpoint note with the pinned log keys trusted for its size.
    ///
    /// # Errors
    /// Why no pinned key verifies it (malformed note, no key for that size, bad signature).
    pub fn verify_checkpoint(&self, note: &str) -> Result<(VerifiedCheckpoint, &LogKey), String> {
        let size = Note::parse(note)
            .map_err(|e| e.to_string())
            .and_then(|n| Checkpoint::parse(n.text()).map_err(|e| e.to_string()))?
            .size;
        let mut last = format!("no pinned log key is trusted for tree size {size}");
        for key in self.log_keys.iter().filter(|k| k.covers(size)) {
            match checkpoint::verify(note, &key.verifier) {
                Ok(v) => return Ok((v, key)),
                Err(e) => last = e.to_string(),
            }
        }
        Err(last)
    }

    /// A pinned signer key with this id, from any role.
    pub fn pinned_key(&self, kid: &KeyId) -> Option<&VerifyingKey> {
        self.roles.iter().find_map(|r| r.pins(kid))
    }
}

/// The files a packed trust file carries (`files`), by name, each checked against its SHA-256.
fn packed_files<'r>(
    files: &'r [RawFile],
    invalid: &dyn Fn(String, String) -> TrustError,
) -> Result<std::collections::BTreeMap<&'r str, &'r str>, TrustError> {
    let mut packed = std::collections::BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        let want = crate::hex::decode_array::<32>(&f.sha256).ok_or_else(|| {
            invalid(
                format!("files[{i}].sha256"),
                "not 64 hex digits of a SHA-256".into(),
            )
        })?;
        let got: [u8; 32] = sha2::Sha256::digest(f.text.as_bytes()).into();
        if got != want {
            return Err(invalid(
                format!("files[{i}].sha256"),
                format!(
                    "{:?}: the text's SHA-256 is {}, not the one recorded; the file was changed after it was packed",
                    f.name,
                    crate::hex::encode(&got)
                ),
            ));
        }
        if packed.insert(f.name.as_str(), f.text.as_str()).is_some() {
            return Err(invalid(
                format!("files[{i}].name"),
                format!("{:?} is carried twice", f.name),
            ));
        }
    }
    Ok(packed)
}

/// Reads a named file that must be UTF-8 text (a PEM certificate, a TOML profile).
fn read_text(read: &ReadNamed<'_>, name: &str) -> Result<String, String> {
    String::from_utf8(read(name)?).map_err(|e| format!("{name}: not UTF-8 text ({e})"))
}

/// A TOML shape error as `field.path: message`, or the message alone at the top level.
///
/// The message is toml's own, without the key context toml appends on further lines (the path
/// already says where).
pub(crate) fn shape_error(e: &serde_path_to_error::Error<toml::de::Error>) -> String {
    let message = e.inner().message().trim_end();
    match e.path().to_string().as_str() {
        "." => message.to_owned(),
        path => format!("{path}: {message}"),
    }
}

/// Parses a pinned Ed25519 public key: base64 (or 64 hex digits) of its 32 bytes.
fn parse_public_key(s: &str) -> Result<VerifyingKey, String> {
    let bytes = crate::hex::decode_array::<32>(s)
        .or_else(|| {
            B64.decode(s)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
        })
        .ok_or("not base64 or hex of a 32-byte Ed25519 public key")?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid Ed25519 public key")?;
    if key.is_weak() {
        return Err("weak (small-order) Ed25519 key refused".into());
    }
    Ok(key)
}
