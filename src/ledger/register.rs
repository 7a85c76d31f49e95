//! Registration: the one way into the ledger (`specs/registration.md`).
//!
//! A statement signed anywhere (a CI runner, a lab at another company, `record` in this process)
//! is admitted only after the checks the buyer's verifier makes of it: strict parsing, a valid
//! payload, a `verify_strict` signature, citations that resolve, a signer in good standing under
//! the key events and admitted by the registration policy for the statement's kind. The checks
//! and the append run in one store transaction, so no other writer can change what was checked
//! before the append lands. The signatures of a call are checked together, as the verifier
//! checks a bundle's, before anything is committed; a refusal still names the statement and
//! reason that checking the statements one by one, in order, would meet first.

use std::collections::BTreeSet;

use ed25519_dalek::VerifyingKey;
use sha2::Digest as _;

use super::{Ledger, LedgerError, index_terms};
use crate::evidence::{Evidence, KeyEvent, KeyEventType, Kind as _};
use crate::keys::KeyId;
use crate::merkle::Hash;
use crate::statement::{self, SignedStatement, VerifiedStatement};
use crate::store::{NewEntry, RuleSigner, SignerRule, Store, StoreError, StoreRead, StoreWrite};
use crate::x509::{Certificate, verify_chain};

/// A signed statement offered for registration, with the documents it cites whose bytes the
/// ledger should keep (a firmware build's Sigstore bundle, for example).
#[derive(Clone, Debug, Default)]
pub struct Submission {
    /// The tagged COSE_Sign1 bytes, exactly as signed.
    pub statement: Vec<u8>,
    /// Documents the statement cites by SHA-256.
    pub documents: Vec<Vec<u8>>,
}

/// A check of a statement's cited documents that only the caller can make (the CLI re-verifies
/// a firmware build's Sigstore bundle against the trusted roots it was given): the evidence and
/// the documents offered with it in, a refusal out.
pub type DocumentCheck<'a> = &'a dyn Fn(&Evidence, &[Vec<u8>]) -> Result<(), LedgerError>;

/// How to register.
#[derive(Clone, Default)]
pub struct RegisterOptions<'a> {
    /// Run every check, then write nothing.
    pub dry_run: bool,
    /// A key the caller holds the private half of (`record`): it is added to the registration
    /// policy for the kinds it signs here, since holding the key is the permission.
    pub local_key: Option<VerifyingKey>,
    /// A further check of each statement's documents, run with the other admission checks.
    pub documents: Option<DocumentCheck<'a>>,
}

impl std::fmt::Debug for RegisterOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterOptions")
            .field("dry_run", &self.dry_run)
            .field("local_key", &self.local_key)
            .field("documents", &self.documents.map(|_| "check"))
            .finish()
    }
}

/// One registered statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    /// Its index in the log (the index it would take, in a dry run).
    pub index: u64,
    /// Its entry hash.
    pub entry_hash: Hash,
    /// Its evidence kind.
    pub kind: String,
    /// The policy rule added for the caller's local key, if one was added.
    pub admitted: Option<SignerRule>,
    /// The key its signature verified under.
    pub signer: VerifyingKey,
}

/// Why a statement of a call was refused; nothing of the call was written.
#[derive(Debug)]
pub struct RegisterError {
    /// Its position in the call, from 0; none when the refusal is not about one statement (a
    /// damaged or read-only ledger).
    pub position: Option<usize>,
    /// What is wrong.
    pub error: LedgerError,
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some(p) => write!(f, "statement {}: {}", p + 1, self.error),
            None => self.error.fmt(f),
        }
    }
}

impl std::error::Error for RegisterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The outcome of a write that must not be kept (a dry run), carrying what it would have done.
enum Outcome {
    Failed(RegisterError),
    DryRun(Vec<Registered>),
}

impl From<StoreError> for Outcome {
    fn from(e: StoreError) -> Outcome {
        Outcome::Failed(RegisterError {
            position: None,
            error: e.into(),
        })
    }
}

impl<S: Store> Ledger<S> {
    /// Adds a rule to the registration policy; returns false if it was already there.
    ///
    /// # Errors
    /// On write failure (a read-only ledger, for one).
    pub fn admit(&mut self, rule: &SignerRule) -> Result<bool, LedgerError> {
        Ok(self.store.add_signer_rule(rule)?)
    }

    /// Registers signed statements, all or nothing, in order: each may cite one before it.
    ///
    /// # Errors
    /// [`RegisterError`] naming the first statement refused and why; nothing is written then.
    pub fn register(
        &mut self,
        submissions: &[Submission],
        options: &RegisterOptions,
    ) -> Result<Vec<Registered>, RegisterError> {
        self.register_verified(submissions, &[], options)
    }

    /// Registers signed statements as [`Ledger::register`] does, where `verified[i]`, if given,
    /// is submission i's statement with its signature already verified (elsewhere, in parallel,
    /// before the write transaction). Every check is made as `register` makes it; the signature
    /// check alone is skipped for a statement whose verified copy has the same protected header,
    /// payload and signature as the submission and verified under the very key the registration
    /// finds for its kid. Any other statement's signature is checked here.
    ///
    /// # Errors
    /// As [`Ledger::register`].
    pub fn register_verified(
        &mut self,
        submissions: &[Submission],
        verified: &[Option<VerifiedStatement>],
        options: &RegisterOptions,
    ) -> Result<Vec<Registered>, RegisterError> {
        let info = &self.info;
        let result = self.store.write(|tx| {
            // The stored tree this call extends must agree with the latest signed checkpoint
            // (`specs/store.md`, "Fail-closed writes"), read through this same transaction.
            super::recompute::check_append(&*tx, info).map_err(|error| {
                Outcome::Failed(RegisterError {
                    position: None,
                    error,
                })
            })?;
            // The policy is read once: the transaction excludes every other writer, so only the
            // rules this call adds (kept in `rules` as they are added) change it until COMMIT.
            let mut rules = tx.signer_rules()?;
            let mut done = Vec::with_capacity(submissions.len());
            // The signatures are checked together, at the end or at the first other refusal,
            // with exactly `verify_strict`'s acceptance (`statement::check_many`: a comb table
            // for a key that signs many of them, as the verifier does). `signed[i]` is statement
            // i. A refusal is reported only once the signatures that come before it in order are
            // known to be good, so the statement and reason named are those checking one by one
            // would meet first; nothing is committed unless every signature verifies.
            let mut signed: Vec<(SignedStatement, VerifyingKey, bool)> =
                Vec::with_capacity(submissions.len());
            for (position, sub) in submissions.iter().enumerate() {
                let (st, evidence, key) = match before_signature(&*tx, &rules, sub, options) {
                    Ok(checked) => checked,
                    Err(error) => return Err(first_refusal(&signed, position, error)),
                };
                let registered = after_signature(
                    tx, &mut rules, sub, &st, &evidence, &key, options,
                )
                .and_then(|(entry, admitted)| {
                    let index = tx.append(std::slice::from_ref(&entry))?[0];
                    Ok(Registered {
                        index,
                        entry_hash: entry.entry_hash,
                        kind: entry.kind,
                        admitted,
                        signer: key,
                    })
                });
                let checked = verified
                    .get(position)
                    .and_then(Option::as_ref)
                    .is_some_and(|v| v.key() == &key && v.statement().same_signed(&st));
                signed.push((st, key, checked));
                match registered {
                    Ok(r) => done.push(r),
                    Err(error) => return Err(first_refusal(&signed, position, error)),
                }
            }
            check_signatures(&signed).map_err(Outcome::Failed)?;
            if options.dry_run {
                return Err(Outcome::DryRun(done));
            }
            Ok(done)
        });
        match result {
            Ok(done) | Err(Outcome::DryRun(done)) => Ok(done),
            Err(Outcome::Failed(e)) => Err(e),
        }
    }
}

/// The refusal to report when statement `position` failed with `error` and `signed` holds the
/// statements whose signatures come before that check (those before it, and itself if the
/// failed check comes after its signature): the first bad signature among them, else `error`.
fn first_refusal(
    signed: &[(SignedStatement, VerifyingKey, bool)],
    position: usize,
    error: LedgerError,
) -> Outcome {
    Outcome::Failed(match check_signatures(signed) {
        Err(bad_signature) => bad_signature,
        Ok(()) => RegisterError {
            position: Some(position),
            error,
        },
    })
}

/// Checks the signature of every statement of `signed` (statement i at `signed[i]`) under its
/// key, but those marked already verified under it; refuses the first that does not verify.
fn check_signatures(signed: &[(SignedStatement, VerifyingKey, bool)]) -> Result<(), RegisterError> {
    let (positions, items): (Vec<usize>, Vec<(&SignedStatement, &VerifyingKey)>) = signed
        .iter()
        .enumerate()
        .filter(|(_, (_, _, verified))| !verified)
        .map(|(position, (st, key, _))| (position, (st, key)))
        .unzip();
    let first_bad = statement::check_many(&items)
        .into_iter()
        .zip(positions)
        .find_map(|(checked, position)| checked.err().map(|e| (position, e)));
    match first_bad {
        Some((position, e)) => Err(RegisterError {
            position: Some(position),
            error: LedgerError::Signature(e.to_string()),
        }),
        None => Ok(()),
    }
}

/// The admission checks of a statement that come before its signature: its size, strict
/// parsing, a valid payload, and a known signer key. Returns the parsed statement, its evidence
/// and the key its signature must verify under.
fn before_signature<R: StoreRead>(
    r: &R,
    rules: &[SignerRule],
    sub: &Submission,
    options: &RegisterOptions,
) -> Result<(SignedStatement, Evidence, VerifyingKey), LedgerError> {
    if sub.statement.len() > statement::MAX_STATEMENT_LEN {
        return Err(statement::StatementError::TooLarge(sub.statement.len()).into());
    }
    let st = SignedStatement::parse(&sub.statement)?;
    let evidence = Evidence::from_payload(&st.header().kind, st.payload())
        .map_err(|e| LedgerError::Payload(e.to_string()))?;
    if let Evidence::AdverseIndex(_) = evidence {
        // Only the log writes its index, as the last entry before a checkpoint: a registered
        // one could never anchor a checkpoint and would only confuse readers.
        return Err(LedgerError::Payload(
            crate::evidence::EvidenceError::LogOnly(crate::evidence::AdverseIndex::KIND)
                .to_string(),
        ));
    }
    let key = signer_key(r, rules, &st, options)?;
    Ok((st, evidence, key))
}

/// The admission checks of a statement that come after its signature, against the state `tx`
/// reads (the transaction that will append it): citations that resolve, documents it cites, a
/// signer in good standing and admitted by the registration policy (`rules`, to which a rule
/// for the caller's local key may be added). Returns the entry to append and the rule added.
fn after_signature<W: StoreWrite>(
    tx: &mut W,
    rules: &mut Vec<SignerRule>,
    sub: &Submission,
    st: &SignedStatement,
    evidence: &Evidence,
    key: &VerifyingKey,
    options: &RegisterOptions,
) -> Result<(NewEntry, Option<SignerRule>), LedgerError> {
    let h = st.header();
    check_references(&*tx, evidence)?;
    check_fix_build(&*tx, evidence)?;
    check_documents(evidence, &sub.documents)?;
    if let Some(check) = options.documents {
        check(evidence, &sub.documents)?;
    }
    let next = tx.size()?;
    super::check_standing(&*tx, key, next)?;
    let mut added = None;
    if !admitted(&*tx, rules, &h.kind, key, st, next)? {
        match options.local_key {
            Some(local) if local == *key => {
                let rule = SignerRule {
                    kind: h.kind.clone(),
                    signer: RuleSigner::Key(*key),
                };
                if tx.add_signer_rule(&rule)? {
                    rules.push(rule.clone());
                }
                added = Some(rule);
            }
            _ => {
                return Err(LedgerError::NotAdmitted {
                    kid: h.kid.to_string(),
                    issuer: h.issuer.clone(),
                    kind: h.kind.clone(),
                });
            }
        }
    }
    let entry = NewEntry {
        entry_hash: st.entry_hash(),
        references: index_terms(evidence, key),
        statement: sub.statement.clone(),
        kind: h.kind.clone(),
        issuer: h.issuer.clone(),
        subject: h.subject.clone(),
        issued_at: h.issued_at,
        signer: *key,
        documents: sub.documents.clone(),
    };
    Ok((entry, added))
}

/// The public key of a statement's kid: the certificate's (x5chain leaf), a pinned key of the
/// policy, the caller's own key, a key that signed an earlier entry, or a key a key event
/// introduced or rotated to.
fn signer_key<R: StoreRead>(
    r: &R,
    rules: &[SignerRule],
    st: &SignedStatement,
    options: &RegisterOptions,
) -> Result<VerifyingKey, LedgerError> {
    let h = st.header();
    let kid = h.kid;
    if let Some(der) = h.x5chain.first() {
        let leaf = Certificate::from_der(der)
            .and_then(|c| c.ed25519_key())
            .map_err(|e| LedgerError::Certificate(format!("x5chain[0]: {e}")))?;
        if KeyId::of(&leaf) != kid {
            return Err(LedgerError::Certificate(format!(
                "the certificate's key ({}) is not the statement's kid {kid}",
                KeyId::of(&leaf)
            )));
        }
        return Ok(leaf);
    }
    if let Some(k) = options.local_key.filter(|k| KeyId::of(k) == kid) {
        return Ok(k);
    }
    for rule in rules {
        if let RuleSigner::Key(k) = rule.signer
            && KeyId::of(&k) == kid
        {
            return Ok(k);
        }
    }
    if let Some(k) = r.signer_key(&kid)? {
        return Ok(k);
    }
    for (_, _, ev) in key_events_about(r, &kid, u64::MAX)? {
        if let Some(k) = ev.key.verifying_key() {
            return Ok(k);
        }
    }
    Err(LedgerError::UnknownSigner {
        kid: kid.to_string(),
        issuer: h.issuer.clone(),
        kind: h.kind.clone(),
    })
}

/// Whether the registration policy admits `key` for `kind`: a pinned key rule, a certificate
/// chain to a rule's root valid at the statement's iat, or a key event (before `next`) by which
/// a key admitted for `kind`, in good standing, introduced or rotated to it.
fn admitted<R: StoreRead>(
    r: &R,
    rules: &[SignerRule],
    kind: &str,
    key: &VerifyingKey,
    st: &SignedStatement,
    next: u64,
) -> Result<bool, LedgerError> {
    let rules: Vec<&SignerRule> = rules.iter().filter(|rule| rule.kind == kind).collect();
    if rules
        .iter()
        .any(|rule| rule.signer == RuleSigner::Key(*key))
    {
        return Ok(true);
    }
    let roots: Vec<Certificate> = rules
        .iter()
        .filter_map(|rule| match &rule.signer {
            RuleSigner::X509Root(der) => Certificate::from_der(der).ok(),
            RuleSigner::Key(_) => None,
        })
        .collect();
    let h = st.header();
    if !roots.is_empty() && !h.x5chain.is_empty() {
        let chain = h
            .x5chain
            .iter()
            .map(|der| Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| LedgerError::Certificate(e.to_string()))?;
        let at = i64::try_from(h.issued_at)
            .map_err(|_| LedgerError::Certificate("iat is out of range".into()))?;
        if verify_chain(&chain, &roots, at).is_ok() {
            return Ok(true);
        }
    }
    // Through key events: follow introductions and rotations back to an admitted key.
    let mut seen = BTreeSet::from([KeyId::of(key)]);
    let mut frontier = vec![(KeyId::of(key), next)];
    while let Some((kid, before)) = frontier.pop() {
        for (index, signer, ev) in key_events_about(r, &kid, before)? {
            if !matches!(ev.event, KeyEventType::Introduce | KeyEventType::Rotate) {
                continue;
            }
            let Some(signer_key) = r.signer_key(&signer)? else {
                continue;
            };
            if super::check_standing(r, &signer_key, index).is_err() {
                continue;
            }
            if rules
                .iter()
                .any(|rule| rule.signer == RuleSigner::Key(signer_key))
            {
                return Ok(true);
            }
            if seen.insert(signer) {
                frontier.push((signer, index));
            }
        }
    }
    Ok(false)
}

/// The key events before index `before` whose subject is `kid`: (index, signer kid, event).
fn key_events_about<R: StoreRead>(
    r: &R,
    kid: &KeyId,
    before: u64,
) -> Result<Vec<(u64, KeyId, KeyEvent)>, LedgerError> {
    let mut out = Vec::new();
    for index in r.citing(&kid.0)? {
        if index >= before {
            break;
        }
        let e = r.entry(index)?;
        if e.kind != KeyEvent::KIND {
            continue;
        }
        let st = SignedStatement::parse(&e.statement)?;
        if let Ok(Evidence::KeyEvent(ev)) = Evidence::from_payload(&e.kind, st.payload())
            && ev.subject_kid() == Some(*kid)
        {
            out.push((index, st.header().kid, ev));
        }
    }
    Ok(out)
}

/// Checks that every entry the evidence cites exists (in the ledger, or earlier in the same
/// registration) with a kind the citation allows.
pub(super) fn check_references<R: StoreRead>(
    r: &R,
    evidence: &Evidence,
) -> Result<(), LedgerError> {
    for c in evidence.references() {
        let hex = crate::hex::encode(&c.entry);
        match r.find(&c.entry)? {
            None => {
                return Err(LedgerError::Reference {
                    path: c.path,
                    reason: format!("entry {hex} is not in the ledger"),
                });
            }
            Some(e) if !c.kinds.contains(&e.kind.as_str()) => {
                return Err(LedgerError::Reference {
                    path: c.path,
                    reason: format!(
                        "entry {hex} is a {}, expected {}",
                        e.kind,
                        c.kinds.join(" or ")
                    ),
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Checks that an incident's `remediation.fix_build` is a later build of the same product as
/// each affected build (`evidence::fix_follows`, the rule the verifier applies), so the ledger
/// never takes an incident whose fix the buyer's verifier would refuse.
fn check_fix_build<R: StoreRead>(r: &R, evidence: &Evidence) -> Result<(), LedgerError> {
    let Evidence::Incident(inc) = evidence else {
        return Ok(());
    };
    let Some(fix) = inc.remediation.as_ref().and_then(|r| r.fix_build.as_ref()) else {
        return Ok(());
    };
    let build = |hash: &[u8; 32]| -> Result<Option<crate::evidence::FirmwareBuild>, LedgerError> {
        let Some(e) = r.find(hash)? else {
            return Ok(None);
        };
        let st = SignedStatement::parse(&e.statement)?;
        match Evidence::from_payload(&e.kind, st.payload()) {
            Ok(Evidence::FirmwareBuild(fb)) => Ok(Some(fb)),
            _ => Ok(None),
        }
    };
    // Citations were checked first: both exist and are firmware builds.
    let Some(fix_build) = build(&fix.0)? else {
        return Ok(());
    };
    for affected in &inc.affected.builds {
        if let Some(a) = build(&affected.0)?
            && let Err(why) = crate::evidence::fix_follows(&fix_build, &a)
        {
            return Err(LedgerError::Reference {
                path: "remediation.fix_build".into(),
                reason: format!(
                    "entry {} {why} (affected build {})",
                    crate::hex::encode(&fix.0),
                    crate::hex::encode(&affected.0)
                ),
            });
        }
    }
    Ok(())
}

/// Checks that every document offered with a statement is one its evidence cites by digest.
fn check_documents(evidence: &Evidence, documents: &[Vec<u8>]) -> Result<(), LedgerError> {
    if documents.is_empty() {
        return Ok(());
    }
    let cited = evidence.document_digests();
    for d in documents {
        let digest: [u8; 32] = sha2::Sha256::digest(d).into();
        if !cited.iter().any(|(_, c)| *c == digest) {
            return Err(LedgerError::Reference {
                path: "documents".into(),
                reason: format!(
                    "the evidence does not cite document {} by digest",
                    crate::hex::encode(&digest)
                ),
            });
        }
    }
    Ok(())
}
