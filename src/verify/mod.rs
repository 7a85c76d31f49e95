//! The buyer's offline verifier: checks a bundle against a trust file and reports every step.
//!
//! Steps, in order (`specs/verification.md`): strict parsing; the checkpoint's signature by a
//! pinned log key; the witness quorum; consistency proofs; each inclusion proof; each statement's
//! signature (Ed25519 `verify_strict` semantics); each signer's role for the kind; every citation
//! resolves inside the bundle; the policy profiles. The verdict is "verified" only if every check
//! passed; nothing that was not checked counts as passed.

mod report;

pub use report::{Check, EntrySummary, Outcome, Report, Step, Verdict};

use std::collections::{HashMap, HashSet};

use ed25519_dalek::VerifyingKey;

use crate::bundle::{Bundle, BundleLimits};
use crate::checkpoint::{self, Checkpoint};
use crate::evidence::Evidence;
use crate::keys::KeyId;
use crate::merkle::{self, ConsistencyProof, InclusionProof, RootHash};
use crate::note::Note;
use crate::policy::{self, PolicyEntry, PolicyView, Profile};
use crate::statement::{self, SignedStatement};
use crate::trust::TrustFile;

/// An entry that parsed: its statement and evidence.
pub struct ParsedEntry {
    /// Leaf index.
    pub index: u64,
    /// Entry hash.
    pub entry_hash: [u8; 32],
    /// The statement (signature not yet checked when parsed).
    pub statement: SignedStatement,
    /// The decoded evidence.
    pub evidence: Evidence,
}

struct Run<'a> {
    trust: &'a TrustFile,
    report: Report,
}

impl Run<'_> {
    fn check(
        &mut self,
        step: Step,
        entry: Option<u64>,
        field: Option<String>,
        ok: bool,
        message: impl Into<String>,
    ) {
        self.report.checks.push(Check {
            step,
            entry,
            field,
            outcome: if ok { Outcome::Pass } else { Outcome::Fail },
            message: message.into(),
            citation: None,
        });
    }

    fn pass(&mut self, step: Step, entry: Option<u64>, message: impl Into<String>) {
        self.check(step, entry, None, true, message);
    }

    fn fail(&mut self, step: Step, entry: Option<u64>, message: impl Into<String>) {
        self.check(step, entry, None, false, message);
    }
}

/// Verifies a bundle's bytes against a trust file and the policy profiles it names.
pub fn verify_bundle(bytes: &[u8], trust: &TrustFile, profiles: &[Profile]) -> Report {
    let mut run = Run {
        trust,
        report: Report {
            verdict: Verdict::VerificationFailed,
            origin: None,
            tree_size: None,
            checkpoint_signers: Vec::new(),
            entries: Vec::new(),
            checks: Vec::new(),
        },
    };
    let Some((bundle, entries)) = parse(&mut run, bytes) else {
        run.report.conclude();
        return run.report;
    };
    let head = check_checkpoint(&mut run, &bundle);
    check_consistency(&mut run, &bundle, head.as_ref());
    let included = check_inclusion(&mut run, &bundle, head.as_ref());
    let roles = check_signatures(&mut run, &entries);
    check_references(&mut run, &entries);
    let view = PolicyView::new(
        entries
            .iter()
            .map(|e| PolicyEntry {
                index: e.index,
                entry_hash: e.entry_hash,
                iat: e.statement.header().issued_at,
                role: roles
                    .get(&e.index)
                    .filter(|_| included.contains(&e.index))
                    .cloned(),
                evidence: &e.evidence,
            })
            .collect(),
        &bundle.attachments,
    );
    for profile in profiles {
        let checks = policy::evaluate(profile, &view);
        if checks.is_empty() {
            run.pass(
                Step::Policy,
                None,
                format!(
                    "profile {} {}: no rule applies to this bundle's entries",
                    profile.id, profile.version
                ),
            );
        }
        run.report.checks.extend(checks);
    }
    run.report.conclude();
    run.report
}

/// Step 1: strict parsing of the bundle, every statement and every payload.
fn parse(run: &mut Run<'_>, bytes: &[u8]) -> Option<(Bundle, Vec<ParsedEntry>)> {
    let bundle = match Bundle::parse(bytes, &BundleLimits::default()) {
        Ok(b) => b,
        Err(e) => {
            run.fail(Step::Parse, None, e.to_string());
            return None;
        }
    };
    let mut entries = Vec::with_capacity(bundle.entries.len());
    let mut ok = true;
    for e in &bundle.entries {
        let st = match SignedStatement::parse(&e.statement) {
            Ok(st) => st,
            Err(err) => {
                run.fail(Step::Parse, Some(e.index), format!("statement: {err}"));
                ok = false;
                continue;
            }
        };
        let kind = st.header().kind.clone();
        let ev = match Evidence::from_payload(&kind, st.payload()) {
            Ok(ev) => ev,
            Err(err) => {
                run.fail(Step::Parse, Some(e.index), format!("{kind} payload: {err}"));
                ok = false;
                continue;
            }
        };
        let h = st.header();
        run.report.entries.push(EntrySummary {
            index: e.index,
            entry_hash: crate::hex::encode(&st.entry_hash()),
            kind: kind.clone(),
            issuer: h.issuer.clone(),
            subject: h.subject.clone(),
            iat: h.issued_at,
            summary: ev.summary(),
        });
        entries.push(ParsedEntry {
            index: e.index,
            entry_hash: st.entry_hash(),
            statement: st,
            evidence: ev,
        });
    }
    if ok {
        run.pass(
            Step::Parse,
            None,
            format!(
                "bundle, {} statements and payloads are well-formed deterministic CBOR",
                entries.len()
            ),
        );
        Some((bundle, entries))
    } else {
        None
    }
}

/// Step 2: the checkpoint note is signed by a pinned log key; step 3: witness quorum.
fn check_checkpoint(run: &mut Run<'_>, bundle: &Bundle) -> Option<RootHash> {
    if let Ok(note) = Note::parse(&bundle.checkpoint) {
        run.report.checkpoint_signers = note
            .signatures()
            .iter()
            .map(|s| format!("{}+{}", s.name, crate::hex::encode(&s.key_id)))
            .collect();
    }
    if run.trust.log_keys.is_empty() {
        let signers = run.report.checkpoint_signers.join(", ");
        run.fail(
            Step::Checkpoint,
            None,
            format!("no log key is pinned in the trust file; the checkpoint claims to be signed by {signers}: compare that key with the exporter out of band, then pin it"),
        );
        return None;
    }
    let mut last_err = String::new();
    let mut verified = None;
    for key in &run.trust.log_keys {
        match checkpoint::verify(&bundle.checkpoint, key) {
            Ok(v) => {
                verified = Some((v, key.to_string()));
                break;
            }
            Err(e) => last_err = e.to_string(),
        }
    }
    let Some((vc, key)) = verified else {
        run.fail(
            Step::Checkpoint,
            None,
            format!("not signed by a pinned log key: {last_err}"),
        );
        return None;
    };
    let cp: &Checkpoint = vc.checkpoint();
    run.report.origin = Some(cp.origin.clone());
    run.report.tree_size = Some(cp.size);
    run.pass(
        Step::Checkpoint,
        None,
        format!("signed by pinned log key {key} at tree size {}", cp.size),
    );
    check_witnesses(run, vc.note());
    Some(RootHash::new(cp.size, cp.root))
}

/// Step 3: enough distinct trusted witnesses cosigned the checkpoint.
fn check_witnesses(run: &mut Run<'_>, note: &Note) {
    let Some(w) = &run.trust.witnesses else {
        return;
    };
    if w.quorum == 0 {
        return;
    }
    let mut valid = 0usize;
    let mut problems = Vec::new();
    for key in &w.keys {
        match key.verify(note) {
            Ok(Some(_)) => valid += 1,
            Ok(None) => {}
            Err(e) => problems.push(format!("{}: {e}", key.name())),
        }
    }
    let quorum = w.quorum;
    for p in problems {
        run.fail(Step::Witnesses, None, p);
    }
    run.check(
        Step::Witnesses,
        None,
        None,
        valid >= quorum,
        format!(
            "{valid} of {} trusted witnesses cosigned; quorum is {quorum}",
            w.keys.len()
        ),
    );
}

/// Step 4: each consistency proof links an earlier signed checkpoint to this one.
fn check_consistency(run: &mut Run<'_>, bundle: &Bundle, head: Option<&RootHash>) {
    for (i, c) in bundle.consistency.iter().enumerate() {
        let field = Some(format!("consistency[{i}]"));
        let Some(head) = head else {
            run.check(
                Step::Consistency,
                None,
                field,
                false,
                "not checked: the checkpoint did not verify",
            );
            continue;
        };
        let old = run
            .trust
            .log_keys
            .iter()
            .find_map(|k| checkpoint::verify(&c.from, k).ok());
        let Some(old) = old else {
            run.check(
                Step::Consistency,
                None,
                field,
                false,
                "the earlier checkpoint is not signed by a pinned log key",
            );
            continue;
        };
        let o = old.checkpoint();
        let old_head = RootHash::new(o.size, o.root);
        match old_head.verify_consistency(head, &ConsistencyProof::new(c.proof.clone())) {
            Ok(()) => run.check(
                Step::Consistency,
                None,
                field,
                true,
                format!("tree size {} is a prefix of tree size {}", o.size, head.size),
            ),
            // A proof of the wrong shape (sizes out of order, wrong length) shows nothing about
            // the log; only a well-formed proof that does not verify points at two histories.
            Err(e) if e.is_malformed() => run.check(
                Step::Consistency,
                None,
                field,
                false,
                format!("the consistency proof from tree size {} to {} is malformed: {e}", o.size, head.size),
            ),
            Err(e) => run.check(
                Step::Consistency,
                None,
                field,
                false,
                format!("the log has shown two histories: checkpoint at size {} (root {}) is not a prefix of size {} (root {}): {e}",
                    o.size, merkle::Hex(&o.root), head.size, merkle::Hex(&head.hash)),
            ),
        }
    }
}

/// Step 5: each entry's inclusion proof leads to the checkpoint's root; returns the included indexes.
fn check_inclusion(run: &mut Run<'_>, bundle: &Bundle, head: Option<&RootHash>) -> HashSet<u64> {
    let mut included = HashSet::new();
    for e in &bundle.entries {
        let Some(head) = head else {
            run.fail(
                Step::Inclusion,
                Some(e.index),
                "not checked: the checkpoint did not verify",
            );
            continue;
        };
        let leaf = merkle::leaf_hash(&crate::statement::entry_hash(&e.statement));
        match head.verify_inclusion(&leaf, e.index, &InclusionProof::new(e.proof.clone())) {
            Ok(()) => {
                included.insert(e.index);
                run.pass(
                    Step::Inclusion,
                    Some(e.index),
                    format!("in the log at index {} of {}", e.index, head.size),
                )
            }
            Err(err) => run.fail(Step::Inclusion, Some(e.index), err.to_string()),
        }
    }
    included
}

/// Steps 6 and 7: each statement's signature, under a key the trust file gives a role for the kind.
/// Returns the role each entry's signer was accepted under.
fn check_signatures(run: &mut Run<'_>, entries: &[ParsedEntry]) -> HashMap<u64, String> {
    let mut roles = HashMap::new();
    let mut key_cache: HashMap<KeyId, Option<VerifyingKey>> = HashMap::new();
    let mut batch = Vec::with_capacity(entries.len());
    let mut batch_entries = Vec::with_capacity(entries.len());
    for e in entries {
        let kid = e.statement.header().kid;
        let key = *key_cache
            .entry(kid)
            .or_insert_with(|| run.trust.pinned_key(&kid).copied());
        match key {
            Some(key) => {
                batch.push((e.statement.clone(), key));
                batch_entries.push(e);
            }
            None => run.fail(
                Step::Signature,
                Some(e.index),
                format!("signer kid {kid} is not pinned by the trust file"),
            ),
        }
    }
    let results = statement::verify_many(batch);
    for (e, result) in batch_entries.into_iter().zip(results) {
        let h = e.statement.header();
        if let Err(err) = result {
            run.fail(Step::Signature, Some(e.index), err.to_string());
            continue;
        }
        run.pass(
            Step::Signature,
            Some(e.index),
            format!("signed by kid {}", h.kid),
        );
        let kind = h.kind.as_str();
        let role = run
            .trust
            .roles
            .iter()
            .find(|r| r.kinds.iter().any(|k| k == kind) && r.pins(&h.kid).is_some())
            .map(|r| r.name.clone());
        match role {
            Some(name) => {
                run.pass(
                    Step::Signer,
                    Some(e.index),
                    format!("role {name} may sign {kind}"),
                );
                roles.insert(e.index, name);
            }
            None => run.fail(
                Step::Signer,
                Some(e.index),
                format!("no role in the trust file lets kid {} sign {kind}", h.kid),
            ),
        }
    }
    roles
}

/// Step 8: every citation names an entry in the bundle of an allowed kind.
fn check_references(run: &mut Run<'_>, entries: &[ParsedEntry]) {
    let by_hash: HashMap<[u8; 32], &ParsedEntry> =
        entries.iter().map(|e| (e.entry_hash, e)).collect();
    for e in entries {
        for r in e.evidence.references() {
            let hex = crate::hex::encode(&r.entry);
            let (ok, msg) = match by_hash.get(&r.entry) {
                None => (
                    false,
                    format!("cites entry {hex}, which is not in the bundle"),
                ),
                Some(t) if !r.kinds.contains(&t.evidence.kind()) => (
                    false,
                    format!(
                        "cites entry {} ({}), expected {}",
                        t.index,
                        t.evidence.kind(),
                        r.kinds.join(" or ")
                    ),
                ),
                Some(t) => (
                    true,
                    format!("cites entry {} ({})", t.index, t.evidence.kind()),
                ),
            };
            run.check(Step::References, Some(e.index), Some(r.path), ok, msg);
        }
    }
}
