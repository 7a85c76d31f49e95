//! `evledger trust init`: a starting trust file written from a ledger.
//!
//! It pins the ledger's log key(s). Roles come only from explicit statements by whoever writes
//! the trust file ([`RoleArg`], `--role NAME=KIND[,KIND…]:SIGNER`): nothing about who signed what
//! in the ledger makes a key a lab or release engineering, since the ledger is the exporter's own
//! account. The signers the ledger holds are written as comments (kid, kinds signed, first index,
//! and the key event that introduced a key, if one did), for the buyer to confirm out of band and
//! decide on. A key given both a vendor role and an independent role (e.g. `lab`) is flagged with a
//! warning and a comment: an endorsement by the vendor's own key is not independent
//! (`specs/trust.md`, "`trust init`").

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::VerifyingKey;

use crate::evidence::key_standing::{Lineage, LoggedKeyEvent};
use crate::evidence::{Evidence, KINDS, KeyEvent, KeyEventType};
use crate::keys::KeyId;
use crate::ledger::{Ledger, LedgerError};
use crate::statement::SignedStatement;
use crate::store::{Store, StoreError};

/// Kinds whose statements speak for the vendor: a role listing any of them is a vendor role.
/// `certification` is not one: a certification body may record a suspension or withdrawal itself.
pub const VENDOR_KINDS: &[&str] = &[
    "firmware-build",
    "claim",
    "incident",
    "lab-result",
    "accuracy-result",
];

/// Kinds an independent party signs: a role listing one of them and no vendor kind is an
/// independent role (a lab's countersignature).
pub const INDEPENDENT_KINDS: &[&str] = &["countersignature"];

/// Who a `--role` argument names, before any file is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerArg {
    /// `kid:HEX`: a signer key the ledger holds, by its kid.
    Kid(KeyId),
    /// `key:FILE.pub`: a public key file (SubjectPublicKeyInfo PEM).
    KeyFile(String),
    /// `x509-root:ROOT.pem`: a root certificate file; signers whose chain leads to it.
    X509Root(String),
}

/// One `--role NAME=KIND[,KIND…]:SIGNER` argument, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleArg {
    /// The role's name.
    pub name: String,
    /// The kinds it may sign, in the order given, without repeats.
    pub kinds: Vec<String>,
    /// Who acts in it.
    pub signer: SignerArg,
}

/// Why a `--role` argument does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "--role {arg:?}: {reason}; expected NAME=KIND[,KIND…]:SIGNER with SIGNER kid:HEX, key:FILE.pub or x509-root:ROOT.pem"
)]
pub struct RoleArgError {
    /// The argument as given.
    pub arg: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for RoleArg {
    type Err = RoleArgError;

    fn from_str(arg: &str) -> Result<RoleArg, RoleArgError> {
        let fail = |reason: String| RoleArgError {
            arg: arg.to_owned(),
            reason,
        };
        let (name, rest) = arg
            .split_once('=')
            .ok_or_else(|| fail("no '=' after the role name".into()))?;
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail(
                "the role name must be non-empty, without white space".into(),
            ));
        }
        let (kinds, signer) = rest
            .split_once(':')
            .ok_or_else(|| fail("no ':' before the signer".into()))?;
        let mut list: Vec<String> = Vec::new();
        for k in kinds.split(',') {
            if !KINDS.contains(&k) {
                return Err(fail(format!(
                    "unknown kind {k:?} (kinds: {})",
                    KINDS.join(", ")
                )));
            }
            if !list.iter().any(|x| x == k) {
                list.push(k.to_owned());
            }
        }
        let (scheme, value) = signer
            .split_once(':')
            .ok_or_else(|| fail(format!("signer {signer:?} has no scheme")))?;
        let signer = match scheme {
            "kid" => SignerArg::Kid(
                KeyId::from_hex(value)
                    .ok_or_else(|| fail(format!("kid {value:?} is not 64 hex digits")))?,
            ),
            "key" if !value.is_empty() => SignerArg::KeyFile(value.to_owned()),
            "x509-root" if !value.is_empty() => SignerArg::X509Root(value.to_owned()),
            "key" | "x509-root" => return Err(fail(format!("{scheme}: needs a file name"))),
            other => return Err(fail(format!("unknown signer scheme {other:?}"))),
        };
        Ok(RoleArg {
            name: name.to_owned(),
            kinds: list,
            signer,
        })
    }
}

/// Who a role trusts, with any file already read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleSigner {
    /// A signer key the ledger holds, by kid (looked up in the ledger).
    Kid(KeyId),
    /// A public key.
    Key(VerifyingKey),
    /// A root certificate file.
    X509Root {
        /// The name written into the trust file (relative to it).
        path: String,
        /// The file's PEM text, to tell the same root given twice.
        pem: String,
    },
}

/// One role grant for [`trust_file_text`]: a `--role` argument with its files read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleGrant {
    /// The role's name.
    pub name: String,
    /// The kinds it may sign.
    pub kinds: Vec<String>,
    /// Who acts in it.
    pub signer: RoleSigner,
}

/// A generated trust file and the warnings to show whoever asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustInit {
    /// The trust file's text.
    pub text: String,
    /// Warnings, one line each (also written into the file as comments).
    pub warnings: Vec<String>,
}

/// Why `trust init` could not write a trust file.
#[derive(Debug, thiserror::Error)]
pub enum TrustInitError {
    /// Reading the ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A `--role` names a kid the ledger holds no signer key for.
    #[error(
        "role {role}: the ledger holds no signer key with kid {kid}; give its public key with key:FILE.pub instead"
    )]
    UnknownKid {
        /// The role.
        role: String,
        /// The kid.
        kid: KeyId,
    },
    /// The same role name given with different kinds.
    #[error("role {role}: given with kinds {first} and with kinds {second}; give one list")]
    KindsDiffer {
        /// The role.
        role: String,
        /// The kinds given first.
        first: String,
        /// The kinds given later.
        second: String,
    },
}

impl From<StoreError> for TrustInitError {
    fn from(e: StoreError) -> Self {
        TrustInitError::Ledger(e.into())
    }
}

/// A signer seen in the ledger: the kinds it signed and the first index it signed at.
struct Seen {
    kinds: BTreeSet<String>,
    first: u64,
}

/// A role as it will be written: kinds, keys (by kid, in order) and X.509 roots.
struct Written {
    name: String,
    kinds: Vec<String>,
    keys: Vec<VerifyingKey>,
    roots: Vec<(String, String)>,
}

impl Written {
    fn is_vendor(&self) -> bool {
        self.kinds
            .iter()
            .any(|k| VENDOR_KINDS.contains(&k.as_str()))
    }

    fn is_independent(&self) -> bool {
        !self.is_vendor()
            && self
                .kinds
                .iter()
                .any(|k| INDEPENDENT_KINDS.contains(&k.as_str()))
    }
}

/// A key or root that some role trusts, for telling when one holds two roles.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Holder {
    Key(KeyId),
    Root(String),
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Key(kid) => write!(f, "key {kid}"),
            Holder::Root(path) => write!(f, "X.509 root {path}"),
        }
    }
}

/// Writes the text of a starting trust file for `ledger`: its log key(s), the roles `grants`
/// state and nothing else, and the signers the ledger holds as comments.
///
/// # Errors
/// Storage errors, a grant naming a kid the ledger has no statement by, or one role name given
/// with two kind lists.
pub fn trust_file_text<S: Store>(
    ledger: &Ledger<S>,
    profiles: &[String],
    grants: &[RoleGrant],
) -> Result<TrustInit, TrustInitError> {
    let store = ledger.store();
    let mut seen: BTreeMap<KeyId, Seen> = BTreeMap::new();
    let mut key_events: Vec<(u64, KeyId, KeyEvent)> = Vec::new();
    store.for_each_entry(&mut |e| {
        let st = SignedStatement::parse(&e.statement)
            .map_err(|err| StoreError::Corrupt(format!("entry {}: {err}", e.index)))?;
        let kid = st.header().kid;
        if let Ok(Evidence::KeyEvent(ev)) = Evidence::from_payload(&e.kind, st.payload()) {
            key_events.push((e.index, kid, ev));
        }
        seen.entry(kid)
            .or_insert(Seen {
                kinds: BTreeSet::new(),
                first: e.index,
            })
            .kinds
            .insert(e.kind);
        Ok(())
    })?;
    let roles = roles_from(store, grants)?;
    let warnings = double_roles(&roles);

    let mut s = String::new();
    header(&mut s, ledger, profiles)?;
    for w in &warnings {
        let _ = writeln!(s, "# WARNING: {w}");
    }
    if !warnings.is_empty() {
        s.push('\n');
    }
    if roles.is_empty() {
        let _ = writeln!(
            s,
            "# No roles: `trust init` gives a role only to a signer named with --role, so no\n\
             # statement verifies with this file until you add one (see the signers below)."
        );
    }
    for r in &roles {
        let quoted: Vec<String> = r.kinds.iter().map(|k| toml_string(k)).collect();
        let _ = writeln!(s, "[[roles]]");
        let _ = writeln!(s, "name = {}", toml_string(&r.name));
        let _ = writeln!(s, "kinds = [{}]", quoted.join(", "));
        if !r.keys.is_empty() {
            let _ = writeln!(s, "public_keys = [");
            for k in &r.keys {
                let _ = writeln!(s, "  # kid {}: confirm out of band", KeyId::of(k));
                let _ = writeln!(s, "  \"{}\",", B64.encode(k.to_bytes()));
            }
            let _ = writeln!(s, "]");
        }
        if !r.roots.is_empty() {
            let quoted: Vec<String> = r.roots.iter().map(|(p, _)| toml_string(p)).collect();
            let _ = writeln!(s, "x509_roots = [{}]", quoted.join(", "));
        }
        s.push('\n');
    }
    signer_comments(&mut s, &seen, &key_events, &roles);
    Ok(TrustInit { text: s, warnings })
}

/// The roles `grants` state, in the order their names first appear, each key and root once.
fn roles_from<S: Store>(store: &S, grants: &[RoleGrant]) -> Result<Vec<Written>, TrustInitError> {
    let mut roles: Vec<Written> = Vec::new();
    for g in grants {
        let i = match roles.iter().position(|r| r.name == g.name) {
            Some(i) => i,
            None => {
                roles.push(Written {
                    name: g.name.clone(),
                    kinds: g.kinds.clone(),
                    keys: Vec::new(),
                    roots: Vec::new(),
                });
                roles.len() - 1
            }
        };
        let r = &mut roles[i];
        let (a, b): (BTreeSet<&String>, BTreeSet<&String>) =
            (r.kinds.iter().collect(), g.kinds.iter().collect());
        if a != b {
            return Err(TrustInitError::KindsDiffer {
                role: g.name.clone(),
                first: r.kinds.join(","),
                second: g.kinds.join(","),
            });
        }
        match &g.signer {
            RoleSigner::Kid(kid) => {
                let key = store
                    .signer_key(kid)?
                    .ok_or_else(|| TrustInitError::UnknownKid {
                        role: g.name.clone(),
                        kid: *kid,
                    })?;
                if !r.keys.contains(&key) {
                    r.keys.push(key);
                }
            }
            RoleSigner::Key(key) => {
                if !r.keys.contains(key) {
                    r.keys.push(*key);
                }
            }
            RoleSigner::X509Root { path, pem } => {
                if !r.roots.iter().any(|(p, _)| p == path) {
                    r.roots.push((path.clone(), pem.clone()));
                }
            }
        }
    }
    Ok(roles)
}

/// One warning for each key or X.509 root given both a vendor role and an independent role.
fn double_roles(roles: &[Written]) -> Vec<String> {
    let mut vendor: BTreeMap<Holder, Vec<&str>> = BTreeMap::new();
    let mut independent: BTreeMap<Holder, Vec<&str>> = BTreeMap::new();
    // Roots are told apart by their content, so one root under two file names is one holder.
    let mut root_names: BTreeMap<String, String> = BTreeMap::new();
    for r in roles {
        let holders = r
            .keys
            .iter()
            .map(|k| Holder::Key(KeyId::of(k)))
            .chain(r.roots.iter().map(|(path, pem)| {
                Holder::Root(
                    root_names
                        .entry(pem.trim().to_owned())
                        .or_insert_with(|| path.clone())
                        .clone(),
                )
            }));
        let holders: Vec<Holder> = holders.collect();
        for h in holders {
            if r.is_vendor() {
                vendor.entry(h.clone()).or_default().push(&r.name);
            }
            if r.is_independent() {
                independent.entry(h).or_default().push(&r.name);
            }
        }
    }
    independent
        .iter()
        .filter_map(|(h, ind)| {
            vendor.get(h).map(|v| {
                format!(
                    "{h} holds the vendor role {} and the independent role {}: an endorsement it signs is the vendor endorsing itself; give {} only to a key the independent party holds",
                    v.join(", "),
                    ind.join(", "),
                    ind.join(", ")
                )
            })
        })
        .collect()
}

/// The comments and settings above the roles: what the file is, profiles, the log key(s).
fn header<S: Store>(
    s: &mut String,
    ledger: &Ledger<S>,
    profiles: &[String],
) -> Result<(), LedgerError> {
    // Writing to a String cannot fail.
    let _ = writeln!(
        s,
        "# evledger trust file, written by `evledger trust init` from ledger {}.",
        ledger.info().origin
    );
    let _ = writeln!(
        s,
        "# The log key below is the ledger's own account of itself, and every role was stated by\n\
         # whoever ran `trust init` (--role NAME=KIND[,KIND...]:SIGNER); none is inferred from who\n\
         # signed what. Before relying on this file, confirm the log key and every signer key with\n\
         # their owners over another channel. A role whose kinds include firmware-build, claim,\n\
         # incident or lab-result speaks for the vendor; a role that may only countersign (a lab)\n\
         # is independent only if the vendor holds none of its keys."
    );
    let _ = writeln!(s, "version = 1\n");
    let _ = writeln!(
        s,
        "# Policy profiles to apply, relative to this file, e.g. [\"profiles/pad-ibeta-level2.toml\"]."
    );
    let quoted: Vec<String> = profiles.iter().map(|p| toml_string(p)).collect();
    let _ = writeln!(s, "profiles = [{}]\n", quoted.join(", "));
    let _ = writeln!(s, "[log]");
    let _ = writeln!(
        s,
        "# The log's C2SP verifier key (name+key id+key); every checkpoint must carry its signature."
    );
    let _ = writeln!(s, "{}", log_keys_line(ledger)?);
    Ok(())
}

/// The signers the ledger holds, as comments: kid, kinds signed, first index, whether a role
/// here names it, and the key events that introduced or rotated to it.
fn signer_comments(
    s: &mut String,
    seen: &BTreeMap<KeyId, Seen>,
    key_events: &[(u64, KeyId, KeyEvent)],
    roles: &[Written],
) {
    let events: Vec<LoggedKeyEvent<'_>> = key_events
        .iter()
        .map(|(index, signer, event)| LoggedKeyEvent {
            index: *index,
            signer: *signer,
            event,
        })
        .collect();
    let lineage = Lineage::of(&events);
    let _ = writeln!(
        s,
        "# Signers seen in the ledger: kid, kinds signed, first log index. None of them is trusted\n\
         # unless a role above names it. To give one a role, confirm its key with its owner, then\n\
         # run `evledger trust init` again with --role NAME=KIND[,KIND...]:kid:HEX. A key that a\n\
         # trusted key event introduces or rotates to needs no role of its own: it acts in the\n\
         # roles of the key that signed the event, from the event's next index on."
    );
    for (kid, sn) in seen {
        let kinds: Vec<&str> = sn.kinds.iter().map(String::as_str).collect();
        let _ = writeln!(s, "#   kid {kid}");
        let _ = writeln!(
            s,
            "#     signed {}; first at index {}",
            kinds.join(", "),
            sn.first
        );
        let named: Vec<&str> = roles
            .iter()
            .filter(|r| r.keys.iter().any(|k| KeyId::of(k) == *kid))
            .map(|r| r.name.as_str())
            .collect();
        if !named.is_empty() {
            let _ = writeln!(s, "#     in role {}", named.join(", "));
        }
        if lineage.is_introduced(kid) {
            for e in events
                .iter()
                .filter(|e| e.event.event != KeyEventType::Revoke && e.subject() == Some(*kid))
            {
                let _ = writeln!(
                    s,
                    "#     {} to by kid {} at index {}: acts in that key's roles from index {} on",
                    match e.event.event {
                        KeyEventType::Rotate => "rotated",
                        _ => "introduced",
                    },
                    e.signer,
                    e.index,
                    e.index.saturating_add(1)
                );
            }
            let roots: Vec<String> = lineage.roots(*kid).iter().map(|k| k.to_string()).collect();
            if !roots.is_empty() {
                let _ = writeln!(s, "#     descends from kid {}", roots.join(", kid "));
            }
        }
    }
}

/// The `[log] keys` value: one verifier key, or after a rotation each key with the checkpoint
/// sizes it signed (a retired key up to the last size it signed, an active key open-ended).
fn log_keys_line<S: Store>(ledger: &Ledger<S>) -> Result<String, LedgerError> {
    let verifiers = ledger.log_verifiers()?;
    if verifiers.len() == 1 {
        return Ok(format!("keys = [\"{}\"]\n", verifiers[0]));
    }
    let checkpoints = ledger.store().checkpoints()?;
    let mut items = Vec::new();
    for (v, key) in verifiers.iter().zip(ledger.log_keys()?) {
        let signed: Vec<u64> = checkpoints
            .iter()
            .filter(|c| crate::checkpoint::verify(&c.note, v).is_ok())
            .map(|c| c.size)
            .collect();
        let from = if key == ledger.info().log_key {
            0
        } else {
            signed.iter().copied().min().unwrap_or(0)
        };
        let active = ledger.holds_log_key(&key)?;
        let to = match (active, signed.iter().copied().max()) {
            (false, Some(max)) => format!(", to_size = {max}"),
            _ => String::new(),
        };
        items.push(format!("  {{ vkey = \"{v}\", from_size = {from}{to} }},"));
    }
    Ok(format!("keys = [\n{}\n]\n", items.join("\n")))
}

/// A TOML basic string holding `s`, escaped as TOML requires.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arguments_parse_or_say_what_is_wrong() {
        let kid = "ab".repeat(32);
        let r: RoleArg = format!("lab=countersignature,lab-result,countersignature:kid:{kid}")
            .parse()
            .expect("parses");
        assert_eq!(r.name, "lab");
        assert_eq!(r.kinds, ["countersignature", "lab-result"]);
        assert_eq!(
            r.signer,
            SignerArg::Kid(KeyId::from_hex(&kid).expect("hex"))
        );
        let r: RoleArg = "rel=firmware-build:key:C:/keys/rel.pub"
            .parse()
            .expect("key");
        assert_eq!(r.signer, SignerArg::KeyFile("C:/keys/rel.pub".into()));
        let r: RoleArg = "lab=countersignature:x509-root:root.pem"
            .parse()
            .expect("root");
        assert_eq!(r.signer, SignerArg::X509Root("root.pem".into()));
        for (arg, why) in [
            ("lab", "no '='"),
            ("=claim:key:a.pub", "non-empty"),
            ("a b=claim:key:a.pub", "white space"),
            ("lab=countersignature", "no ':'"),
            ("lab=labresult:key:a.pub", "unknown kind \"labresult\""),
            ("lab=claim:a.pub", "has no scheme"),
            ("lab=claim:kid:abc", "not 64 hex digits"),
            ("lab=claim:key:", "needs a file name"),
            ("lab=claim:cert:a.pem", "unknown signer scheme \"cert\""),
        ] {
            let e = arg.parse::<RoleArg>().expect_err(arg).to_string();
            assert!(e.contains(why), "{arg}: {e}");
            assert!(e.starts_with(&format!("--role {arg:?}: ")), "{e}");
        }
    }
}
