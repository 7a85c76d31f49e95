//! The buyer's offline verifier: checks a bundle against a trust file and reports every step.
//!
//! Steps, in order (`specs/verification.md`): strict parsing; the checkpoint's signature by a
//! pinned log key; the witness quorum; consistency proofs; each inclusion proof; each statement's
//! signature (Ed25519 `verify_strict` semantics); each signer's role for the kind; every citation
//! resolves inside the bundle; each cited Sigstore bundle (against pinned trusted roots); the
//! policy profiles, which must judge every assertion of every claim and every claim's wording
//! (what none judges fails as "not judged", unless the buyer asks for integrity only). The
//! verdict is "verified" only if every check passed; nothing that was not checked counts as
//! passed.
//!
//! The verifier reads no file and no clock: it takes the bundle's bytes, a parsed
//! [`TrustFile`] (with the files it names), the profiles, and [`VerifyOptions`] carrying the
//! current time and the checkpoint the buyer remembers. The command line and a web page load
//! those and pass them in.

mod completeness;
pub mod policy;
mod provenance;
mod report;
mod report_html;
mod signers;
mod sigstore;
pub mod trust;

pub use provenance::{VERIFIER_VERSION, describe_assertion, sha256_hex};
pub use report::{
    Check, Cited, ClaimSummary, Clock, Completeness, Cosignature, EntrySummary, JudgedBy,
    JudgedOutcome, Judgement, Outcome, ProfileDigest, Report, SCHEMA_VERSION, Step, Tool, Verdict,
};
pub use report_html::html_escape;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::bundle::{Bundle, BundleLimits};
use crate::checkpoint::Checkpoint;
use crate::checkpoint::consistency::{
    CheckError, Inconsistency, InconsistencyReason, check_extends,
};
use crate::evidence::Evidence;
use crate::evidence::FileDigest;
use crate::merkle::{self, ConsistencyError, ConsistencyProof, InclusionProof, RootHash};
use crate::note::Note;
use crate::statement::SignedStatement;
use crate::trust::TrustFile;
use policy::{PolicyEntry, PolicyView, Profile};

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

pub(super) struct Run<'a> {
    pub(super) trust: &'a TrustFile,
    report: Report,
    progress: &'a dyn Fn(&'static str, u64, u64),
}

/// How often the per-entry steps report progress, in entries.
const PROGRESS_EVERY: usize = 256;

impl Run<'_> {
    /// Reports `done` of `total` items of `stage` every [`PROGRESS_EVERY`] items and at the end.
    fn progress(&self, stage: &'static str, done: usize, total: usize) {
        if done.is_multiple_of(PROGRESS_EVERY) || done == total {
            (self.progress)(stage, done as u64, total as u64);
        }
    }

    pub(super) fn check(
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
            clock: None,
            citation: None,
        });
    }

    /// Adds a check that judged a time by `clock`.
    pub(super) fn check_clocked(
        &mut self,
        step: Step,
        entry: Option<u64>,
        ok: bool,
        clock: Clock,
        message: impl Into<String>,
    ) {
        self.check(step, entry, None, ok, message);
        if let Some(c) = self.report.checks.last_mut() {
            c.clock = Some(clock);
        }
    }

    pub(super) fn pass(&mut self, step: Step, entry: Option<u64>, message: impl Into<String>) {
        self.check(step, entry, None, true, message);
    }

    pub(super) fn fail(&mut self, step: Step, entry: Option<u64>, message: impl Into<String>) {
        self.check(step, entry, None, false, message);
    }
}

/// Verifies a bundle's bytes against a trust file and the policy profiles it names. Every
/// assertion of every claim, and every claim's wording, must be judged by a rule of `profiles`,
/// or the verdict is "policy not met" (with no profile, always); [`verify_integrity`] judges none.
pub fn verify_bundle(bytes: &[u8], trust: &TrustFile, profiles: &[Profile]) -> Report {
    verify_bundle_with(bytes, trust, profiles, &VerifyOptions::default())
}

/// Verifies a bundle's integrity only (signatures, proofs, roles, references), judging no claim:
/// [`VerifyOptions::integrity_only`].
pub fn verify_integrity(bytes: &[u8], trust: &TrustFile) -> Report {
    verify_bundle_with(bytes, trust, &[], &VerifyOptions::integrity_only())
}

/// What the buyer brings beyond the trust file.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// The newest checkpoint the buyer verified before from this log (signed note text): the
    /// bundle must prove it extends that checkpoint, or the log has shown two histories.
    pub remembered: Option<String>,
    /// The current time, Unix seconds, as the caller's clock gives it. Only checks that compare
    /// a signed time with the present use it (a cited Sigstore bundle's signing time must not be
    /// in the future); without it they fail as not checked.
    pub now: Option<i64>,
    /// The files the buyer holds (`evledger verify --artifact`), read by the caller: each must
    /// be a firmware build artifact or a document that a verified entry describes.
    pub held: Vec<HeldFile>,
    /// Check integrity only: signatures, proofs, roles and references, and judge no claim. The
    /// profiles are not applied, and the report says so at the top. Without it, whatever a claim
    /// asserts that no rule of the profiles judges is a failed check (`specs/verification.md`).
    pub integrity_only: bool,
    /// The tool the report names as the one that verified (default: the `evledger` command line
    /// of this version); its `verifier_version` is always this library's.
    pub tool: Tool,
    /// The SHA-256 of the bundle's bytes, for the report. [`verify_bundle_with`] computes it from
    /// the bytes it is given; a caller that parsed the bundle itself passes it here.
    pub bundle_sha256: Option<[u8; 32]>,
}

impl VerifyOptions {
    /// Options for an integrity-only run, with nothing else set.
    pub fn integrity_only() -> VerifyOptions {
        VerifyOptions {
            integrity_only: true,
            ..VerifyOptions::default()
        }
    }
}

/// A file the buyer holds: the name it is reported under and its digest and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldFile {
    /// The name to report it under (the path as the buyer gave it).
    pub name: String,
    /// Its SHA-256 and length in bytes.
    pub digest: FileDigest,
}

/// Verifies a bundle's bytes against a trust file, profiles and the buyer's remembered checkpoint.
pub fn verify_bundle_with(
    bytes: &[u8],
    trust: &TrustFile,
    profiles: &[Profile],
    options: &VerifyOptions,
) -> Report {
    use sha2::Digest as _;
    let options = VerifyOptions {
        bundle_sha256: Some(sha2::Sha256::digest(bytes).into()),
        ..options.clone()
    };
    match Bundle::parse(bytes, &BundleLimits::default()) {
        Ok(bundle) => verify_parsed_with(&bundle, trust, profiles, &options),
        Err(e) => invalid_bundle_of(trust, profiles, &e, &options),
    }
}

/// The report on a bundle that did not parse: step 1 failed with `error`, nothing else was
/// checked. A caller that parsed the bundle itself ([`Bundle::parse`], as the command line does
/// to find the log's remembered checkpoint) reports its error with this, so that each bundle is
/// parsed once. The report lists the trust file's profiles as the ones given.
pub fn invalid_bundle(
    trust: &TrustFile,
    error: &crate::bundle::BundleError,
    options: &VerifyOptions,
) -> Report {
    invalid_bundle_of(trust, &trust.profiles, error, options)
}

/// [`invalid_bundle`], listing `profiles` as the ones given (the report names them by digest
/// even though none was applied).
fn invalid_bundle_of(
    trust: &TrustFile,
    profiles: &[Profile],
    error: &crate::bundle::BundleError,
    options: &VerifyOptions,
) -> Report {
    let mut run = new_run(trust, profiles, options, &|_, _, _| {});
    run.fail(Step::Parse, None, error.to_string());
    run.report.conclude();
    run.report
}

fn new_run<'a>(
    trust: &'a TrustFile,
    profiles: &[Profile],
    options: &VerifyOptions,
    progress: &'a dyn Fn(&'static str, u64, u64),
) -> Run<'a> {
    Run {
        progress,
        trust,
        report: Report {
            schema_version: SCHEMA_VERSION,
            verdict: Verdict::VerificationFailed,
            origin: None,
            tree_size: None,
            root_hash: None,
            checkpoint_signers: Vec::new(),
            cosignatures: Vec::new(),
            completeness: Completeness::NotShown {
                reason: "the bundle did not parse".into(),
            },
            entries: Vec::new(),
            checks: Vec::new(),
            integrity_only: options.integrity_only,
            judged: Vec::new(),
            claims: Vec::new(),
            bundle_sha256: options.bundle_sha256.map(|h| crate::hex::encode(&h)),
            trust_file_sha256: crate::hex::encode(&trust.sha256),
            profiles: profiles
                .iter()
                .map(|p| ProfileDigest {
                    id: p.id.clone(),
                    version: p.version.clone(),
                    title: p.title.clone(),
                    sha256: crate::hex::encode(&p.sha256),
                })
                .collect(),
            tool: Tool {
                verifier_version: VERIFIER_VERSION.to_owned(),
                ..options.tool.clone()
            },
            verified_at: options.now,
        },
    }
}

/// Verifies a bundle already parsed with [`Bundle::parse`] and the default limits: everything
/// [`verify_bundle_with`] checks after parsing the bytes.
pub fn verify_parsed_with(
    bundle: &Bundle,
    trust: &TrustFile,
    profiles: &[Profile],
    options: &VerifyOptions,
) -> Report {
    verify_parsed_with_progress(bundle, trust, profiles, options, &|_, _, _| {})
}

/// [`verify_parsed_with`], calling `progress(stage, done, total)` as it goes: `"parsing"`,
/// `"proofs"` and `"references"` every 256 entries and at their end, `"signatures"` before
/// and after the signatures are checked together, `"policy"` per profile. The command line draws
/// it as a progress bar on a terminal; the verifier itself prints nothing.
pub fn verify_parsed_with_progress(
    bundle: &Bundle,
    trust: &TrustFile,
    profiles: &[Profile],
    options: &VerifyOptions,
    progress: &dyn Fn(&'static str, u64, u64),
) -> Report {
    let mut run = new_run(trust, profiles, options, progress);
    let Some((entries, anchor)) = parse(&mut run, bundle) else {
        run.report.conclude();
        return run.report;
    };
    run.report.claims = claim_summaries(&entries);
    let head = check_checkpoint(&mut run, bundle);
    let proved = check_consistency(&mut run, bundle, head.as_ref());
    if let Some(remembered) = &options.remembered {
        check_remembered(&mut run, bundle, head.as_ref(), remembered);
    }
    let head = head.map(|cp| RootHash::new(cp.size, cp.root));
    let included = check_inclusion(&mut run, bundle, &entries, head.as_ref());
    let witnessed = witnessed_times(run.trust, bundle, head.as_ref(), &proved);
    // An entry was in the log by the earliest witnessed checkpoint that covers its index.
    let witnessed_at = |index: u64| {
        // Only an entry proved to be in the log inherits the checkpoint's witnessed time.
        if !included.contains(&index) {
            return None;
        }
        witnessed
            .iter()
            .filter(|(size, _)| *size > index)
            .map(|(_, t)| *t)
            .min()
    };
    // Certificates are judged at the witnessed time where there is one, so the time is derived
    // before the signers are.
    run.progress("signatures", 0, entries.len());
    let (roles, certificate_clocks) =
        signers::check_signatures(&mut run, &entries, &included, &witnessed_at);
    run.progress("signatures", entries.len(), entries.len());
    run.report.completeness = completeness::check_completeness(
        &mut run,
        bundle,
        &entries,
        anchor.as_ref(),
        head.as_ref(),
    );
    for e in &mut run.report.entries {
        e.witnessed_at = witnessed_at(e.index);
    }
    check_references(&mut run, &entries);
    check_attachments(&mut run, bundle, &entries);
    let attested = sigstore::check_sigstore(&mut run, bundle, &entries, options.now);
    // An entry vouches for a file only when it is shown to be in the log and signed by a signer
    // trusted for its kind.
    let vouches = |index: u64| included.contains(&index) && roles.contains_key(&index);
    check_held(&mut run, &entries, &vouches, &options.held);
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
                witnessed_at: witnessed_at(e.index),
                certificate_clock: certificate_clocks.get(&e.index).copied(),
                evidence: &e.evidence,
            })
            .collect(),
        &bundle.attachments,
    )
    .with_completeness(run.report.completeness.clone())
    .with_attestations(attested);
    (run.progress)("policy", 0, profiles.len() as u64);
    let judging = policy::judge(profiles, &view, options.integrity_only);
    run.report.checks.extend(judging.checks);
    run.report.judged = judging.judged;
    (run.progress)("policy", profiles.len() as u64, profiles.len() as u64);
    run.report.conclude();
    run.report
}

/// Parses one statement and its payload.
fn parse_statement(statement: &[u8]) -> Result<(SignedStatement, Evidence), String> {
    let st = SignedStatement::parse(statement).map_err(|err| format!("statement: {err}"))?;
    let kind = st.header().kind.clone();
    let ev = Evidence::from_payload(&kind, st.payload())
        .map_err(|err| format!("{kind} payload: {err}"))?;
    Ok((st, ev))
}

/// The bundle's adverse index (`adverse-index`), parsed: it must be the log's index statement.
fn parse_anchor(run: &mut Run<'_>, bundle: &Bundle) -> Result<Option<ParsedEntry>, ()> {
    let Some(e) = &bundle.adverse_index else {
        return Ok(None);
    };
    let fail = |run: &mut Run<'_>, why: String| {
        run.check(
            Step::Parse,
            Some(e.index),
            Some("adverse-index".into()),
            false,
            why,
        );
    };
    match parse_statement(&e.statement) {
        Err(why) => {
            fail(run, why);
            Err(())
        }
        Ok((st, ev @ Evidence::AdverseIndex(_))) => Ok(Some(ParsedEntry {
            index: e.index,
            entry_hash: st.entry_hash(),
            statement: st,
            evidence: ev,
        })),
        Ok((st, _)) => {
            fail(
                run,
                format!(
                    "is a {} statement, not the log's adverse index",
                    st.header().kind
                ),
            );
            Err(())
        }
    }
}

/// Step 1: strict parsing of the bundle, every statement and every payload, and the log's
/// adverse index when the bundle carries one.
fn parse(run: &mut Run<'_>, bundle: &Bundle) -> Option<(Vec<ParsedEntry>, Option<ParsedEntry>)> {
    let mut entries = Vec::with_capacity(bundle.entries.len());
    let mut ok = true;
    let total = bundle.entries.len();
    for (i, e) in bundle.entries.iter().enumerate() {
        run.progress("parsing", i, total);
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
            Ok(Evidence::AdverseIndex(_)) => {
                run.fail(
                    Step::Parse,
                    Some(e.index),
                    "an adverse-index statement belongs under the bundle's \"adverse-index\" key, not among its entries",
                );
                ok = false;
                continue;
            }
            Ok(ev) => ev,
            Err(err) => {
                run.fail(Step::Parse, Some(e.index), format!("{kind} payload: {err}"));
                ok = false;
                continue;
            }
        };
        let h = st.header();
        let entry_hash = st.entry_hash();
        run.report.entries.push(EntrySummary {
            index: e.index,
            entry_hash: crate::hex::encode(&entry_hash),
            kind: kind.clone(),
            issuer: h.issuer.clone(),
            subject: h.subject.clone(),
            iat: h.issued_at,
            summary: ev.summary(),
            witnessed_at: None,
        });
        entries.push(ParsedEntry {
            index: e.index,
            entry_hash,
            statement: st,
            evidence: ev,
        });
    }
    run.progress("parsing", total, total);
    let anchor = parse_anchor(run, bundle);
    match anchor {
        Ok(anchor) if ok => {
            run.pass(
                Step::Parse,
                None,
                format!(
                    "bundle, {} statements and payloads are well-formed deterministic CBOR",
                    entries.len() + usize::from(anchor.is_some())
                ),
            );
            Some((entries, anchor))
        }
        _ => None,
    }
}

/// Step 2: the checkpoint note is signed by a pinned log key; step 3: witness quorum.
fn check_checkpoint(run: &mut Run<'_>, bundle: &Bundle) -> Option<Checkpoint> {
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
    let (vc, key) = match run.trust.verify_checkpoint(&bundle.checkpoint) {
        Ok((vc, key)) => (vc, key.verifier.to_string()),
        Err(e) => {
            run.fail(
                Step::Checkpoint,
                None,
                format!("not signed by a pinned log key: {e}"),
            );
            return None;
        }
    };
    let cp: &Checkpoint = vc.checkpoint();
    run.report.origin = Some(cp.origin.clone());
    run.report.tree_size = Some(cp.size);
    run.report.root_hash = Some(crate::hex::encode(&cp.root));
    run.report.cosignatures = cosignatures(run.trust, vc.note());
    run.pass(
        Step::Checkpoint,
        None,
        format!("signed by pinned log key {key} at tree size {}", cp.size),
    );
    check_witnesses(run, vc.note());
    Some(cp.clone())
}

/// The cosignatures on a verified checkpoint note by the trust file's witnesses that verify, in
/// the order of `witnesses.keys`, each at the latest of its valid lines.
fn cosignatures(trust: &TrustFile, note: &Note) -> Vec<Cosignature> {
    let Some(w) = &trust.witnesses else {
        return Vec::new();
    };
    w.keys
        .iter()
        .filter_map(|k| {
            let timestamp = k.verify(note).ok().flatten()?;
            Some(Cosignature {
                witness: k.name().to_owned(),
                key_id: crate::hex::encode(&k.key_id()),
                timestamp,
            })
        })
        .collect()
}

/// Every claim entry in plain words, with the index of each entry it cites that the bundle holds.
fn claim_summaries(entries: &[ParsedEntry]) -> Vec<ClaimSummary> {
    let by_hash: HashMap<[u8; 32], u64> = entries.iter().map(|e| (e.entry_hash, e.index)).collect();
    entries
        .iter()
        .filter_map(|e| match &e.evidence {
            Evidence::Claim(c) => Some(provenance::claim_summary(e.index, c, &|h| {
                by_hash.get(h).copied()
            })),
            _ => None,
        })
        .collect()
}

/// When a checkpoint note was witnessed: the time by which as many trusted witnesses as the
/// quorum asks (at least one) had cosigned it, i.e. the k-th earliest valid cosignature time.
fn witnessed_time(trust: &TrustFile, note: &str) -> Option<u64> {
    let w = trust.witnesses.as_ref()?;
    let note = Note::parse(note).ok()?;
    // One timestamp per distinct public key: `cosignature/v1` does not sign the witness's name,
    // so one cosignature listed under two names is still one witness.
    let mut by_key: BTreeMap<[u8; 32], u64> = BTreeMap::new();
    for (k, t) in w
        .keys
        .iter()
        .filter_map(|k| k.verify(&note).ok().flatten().map(|t| (k, t)))
    {
        let slot = by_key.entry(k.key().to_bytes()).or_insert(t);
        *slot = (*slot).max(t);
    }
    let mut times: Vec<u64> = by_key.into_values().collect();
    times.sort_unstable();
    times.get(w.quorum.max(1) - 1).copied()
}

/// Time evidence: (tree size, witnessed time) for the bundle's checkpoint and every earlier
/// checkpoint whose consistency with it was proved. An entry at index i was in the log by the
/// earliest time of a checkpoint larger than i.
fn witnessed_times(
    trust: &TrustFile,
    bundle: &Bundle,
    head: Option<&RootHash>,
    proved: &[usize],
) -> Vec<(u64, u64)> {
    let Some(head) = head else { return Vec::new() };
    let mut out: Vec<(u64, u64)> = witnessed_time(trust, &bundle.checkpoint)
        .map(|t| (head.size, t))
        .into_iter()
        .collect();
    for &i in proved {
        let c = &bundle.consistency[i];
        if let (Ok((v, _)), Some(t)) = (
            trust.verify_checkpoint(&c.from),
            witnessed_time(trust, &c.from),
        ) {
            out.push((v.checkpoint().size, t));
        }
    }
    out
}

/// Step 3: enough distinct trusted witnesses cosigned the checkpoint.
fn check_witnesses(run: &mut Run<'_>, note: &Note) {
    let Some(w) = &run.trust.witnesses else {
        return;
    };
    if w.quorum == 0 {
        return;
    }
    // Witnesses are counted by public key: `cosignature/v1` does not sign the witness's name,
    // so one key listed under two names, with its one cosignature copied under both, is one
    // witness.
    let mut valid: BTreeSet<[u8; 32]> = BTreeSet::new();
    let listed: BTreeSet<[u8; 32]> = w.keys.iter().map(|k| k.key().to_bytes()).collect();
    let mut problems = Vec::new();
    for key in &w.keys {
        match key.verify(note) {
            Ok(Some(_)) => {
                valid.insert(key.key().to_bytes());
            }
            Ok(None) => {}
            Err(e) => problems.push(format!("{}: {e}", key.name())),
        }
    }
    let (valid, quorum) = (valid.len(), w.quorum);
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
            listed.len()
        ),
    );
}

/// Step 4: each consistency proof links an earlier signed checkpoint to this one.
fn check_consistency(run: &mut Run<'_>, bundle: &Bundle, head: Option<&Checkpoint>) -> Vec<usize> {
    let mut proved = Vec::new();
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
        let Ok((old, _)) = run.trust.verify_checkpoint(&c.from) else {
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
        let (ok, msg) = match check_extends(o, head, &ConsistencyProof::new(c.proof.clone())) {
            Ok(()) => {
                proved.push(i);
                (
                    true,
                    format!(
                        "tree size {} is a prefix of tree size {}",
                        o.size, head.size
                    ),
                )
            }
            Err(CheckError::OriginMismatch { a, b }) => (
                false,
                format!("the earlier checkpoint is of log {a:?}, not of this bundle's log {b:?}"),
            ),
            // A proof that does not rebuild the roots is as well explained by a damaged or
            // wrong proof as by a fork: only two signed checkpoints prove a fork on their own.
            Err(CheckError::Inconsistent(x)) if !x.is_conclusive() => (
                false,
                format!(
                    "the consistency proof from size {} to {} does not verify: {}",
                    o.size, head.size, x.reason
                ),
            ),
            Err(CheckError::Inconsistent(x)) => (
                false,
                format!(
                    "the log has shown two histories: checkpoint at size {} (root {}) is not a prefix of size {} (root {}): {}",
                    o.size,
                    merkle::Hex(&o.root),
                    head.size,
                    merkle::Hex(&head.root),
                    x.reason
                ),
            ),
            // A proof of the wrong shape (sizes out of order, wrong length) shows nothing about
            // the log; only the checkpoints themselves or a well-formed proof that does not
            // verify point at two histories.
            Err(CheckError::MalformedProof(e)) => (
                false,
                format!(
                    "the consistency proof from tree size {} to {} is malformed: {e}",
                    o.size, head.size
                ),
            ),
            Err(e @ (CheckError::ProofRequired { .. } | CheckError::ProofSizeMismatch { .. })) => (
                false,
                format!(
                    "the consistency proof from tree size {} to {} is malformed: {e}",
                    o.size, head.size
                ),
            ),
        };
        run.check(Step::Consistency, None, field, ok, msg);
    }
    proved
}

/// Step 4 (continued): the bundle extends the checkpoint the buyer remembers from this log.
fn check_remembered(
    run: &mut Run<'_>,
    bundle: &Bundle,
    head: Option<&Checkpoint>,
    remembered: &str,
) {
    let field = Some("remembered checkpoint".to_owned());
    let Some(head) = head else {
        run.check(
            Step::Consistency,
            None,
            field,
            false,
            "not checked: the checkpoint did not verify",
        );
        return;
    };
    let r = match run.trust.verify_checkpoint(remembered) {
        Ok((r, _)) => r.checkpoint().clone(),
        Err(e) => {
            run.check(
                Step::Consistency,
                None,
                field,
                false,
                format!("the remembered checkpoint no longer verifies with the trust file: {e}"),
            );
            return;
        }
    };
    if r.origin != head.origin {
        return;
    }
    // What `check_extends` found against `newer`, in the words of this check.
    let two = |newer: &Checkpoint, x: &Inconsistency| match x.reason {
        InconsistencyReason::SameSizeDifferentRoots => format!(
            "the log has shown two histories: at tree size {} the remembered checkpoint has root {} and this bundle's log has root {}",
            r.size,
            merkle::Hex(&r.root),
            merkle::Hex(&newer.root)
        ),
        reason => format!(
            "the log has shown two histories: the remembered checkpoint (size {}, root {}) is not a prefix of size {} (root {}): {reason}",
            r.size,
            merkle::Hex(&r.root),
            newer.size,
            merkle::Hex(&newer.root)
        ),
    };
    let fails = |e: ConsistencyError| {
        format!(
            "the consistency proof from the remembered size {} fails: {e}",
            r.size
        )
    };
    let (ok, msg) = if r.size > head.size {
        (
            false,
            format!(
                "the bundle's checkpoint (size {}) is older than the remembered one (size {}), so it cannot be shown to be a prefix of it; ask for a bundle at size {} or later",
                head.size, r.size, r.size
            ),
        )
    } else if r.size == head.size || r.size == 0 {
        // Equal sizes need equal roots, and the empty tree (with the empty root) is a prefix
        // of every tree: no proof is needed.
        match check_extends(&r, head, &ConsistencyProof::default()) {
            Ok(()) if r.size == head.size => (
                true,
                format!("same tree as the remembered checkpoint (size {})", r.size),
            ),
            Ok(()) => (
                true,
                format!(
                    "extends the remembered checkpoint (size {} to {})",
                    r.size, head.size
                ),
            ),
            Err(CheckError::Inconsistent(x)) => (false, two(head, &x)),
            Err(e) => (false, format!("the remembered checkpoint: {e}")),
        }
    } else {
        let from = bundle.consistency.iter().find_map(|c| {
            let (v, _) = run.trust.verify_checkpoint(&c.from).ok()?;
            let cp = v.checkpoint();
            (cp.size == r.size && cp.origin == r.origin)
                .then(|| (cp.clone(), ConsistencyProof::new(c.proof.clone())))
        });
        match from {
            None => (
                false,
                format!(
                    "no consistency proof from the remembered checkpoint (size {}); ask the exporter for `evledger bundle --since` that checkpoint",
                    r.size
                ),
            ),
            Some((from, proof)) => match check_extends(&r, &from, &ConsistencyProof::default())
                .and_then(|()| check_extends(&r, head, &proof))
            {
                Ok(()) => (
                    true,
                    format!(
                        "extends the remembered checkpoint (size {} to {})",
                        r.size, head.size
                    ),
                ),
                // The `from` checkpoint at the remembered size has another root.
                Err(CheckError::Inconsistent(x)) if x.newer.size == r.size => {
                    (false, two(&from, &x))
                }
                Err(CheckError::Inconsistent(x)) => match x.reason {
                    InconsistencyReason::ProofDoesNotVerify(e) => (false, fails(e)),
                    _ => (false, two(head, &x)),
                },
                Err(CheckError::MalformedProof(e)) => (false, fails(e)),
                Err(e) => (false, format!("the remembered checkpoint: {e}")),
            },
        }
    };
    run.check(Step::Consistency, None, field, ok, msg);
}

/// Step 5: each entry's inclusion proof leads to the checkpoint's root; returns the included indexes.
fn check_inclusion(
    run: &mut Run<'_>,
    bundle: &Bundle,
    entries: &[ParsedEntry],
    head: Option<&RootHash>,
) -> HashSet<u64> {
    let mut included = HashSet::new();
    // Parsing succeeded for every entry, so `entries` follows `bundle.entries` one to one and
    // each entry hash is computed once.
    for (i, (e, parsed)) in bundle.entries.iter().zip(entries).enumerate() {
        run.progress("proofs", i, entries.len());
        let Some(head) = head else {
            run.fail(
                Step::Inclusion,
                Some(e.index),
                "not checked: the checkpoint did not verify",
            );
            continue;
        };
        let leaf = merkle::leaf_hash(&parsed.entry_hash);
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
    run.progress("proofs", entries.len(), entries.len());
    included
}

/// Step 8: every citation names an entry in the bundle of an allowed kind.
fn check_references(run: &mut Run<'_>, entries: &[ParsedEntry]) {
    let by_hash: HashMap<[u8; 32], &ParsedEntry> =
        entries.iter().map(|e| (e.entry_hash, e)).collect();
    for (i, e) in entries.iter().enumerate() {
        run.progress("references", i, entries.len());
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
        if let Evidence::Incident(inc) = &e.evidence {
            check_fix_build(run, e.index, inc, &by_hash);
        }
    }
    run.progress("references", entries.len(), entries.len());
}

/// Step 8 (continued): an incident's `remediation.fix_build` is a later build of the same
/// product as each affected build (`specs/evidence.md`, "incident"); a fix citing an unrelated
/// build would let an incident look fixed by anything.
fn check_fix_build(
    run: &mut Run<'_>,
    index: u64,
    inc: &crate::evidence::Incident,
    by_hash: &HashMap<[u8; 32], &ParsedEntry>,
) {
    let Some(fix) = inc.remediation.as_ref().and_then(|r| r.fix_build) else {
        return;
    };
    // A citation that is missing or of another kind has already failed above.
    let Some(Evidence::FirmwareBuild(fix_build)) = by_hash.get(&fix.0).map(|t| &t.evidence) else {
        return;
    };
    for (i, a) in inc.affected.builds.iter().enumerate() {
        let Some(t) = by_hash.get(&a.0) else { continue };
        let Evidence::FirmwareBuild(affected) = &t.evidence else {
            continue;
        };
        let (ok, msg) = match crate::evidence::fix_follows(fix_build, affected) {
            Ok(()) => (
                true,
                format!(
                    "is a later build of the same product as affected.builds[{i}] (entry {})",
                    t.index
                ),
            ),
            Err(why) => (
                false,
                format!(
                    "the fix {why} (affected.builds[{i}], entry {}): a fix must be a later build of the same product",
                    t.index
                ),
            ),
        };
        run.check(
            Step::References,
            Some(index),
            Some("remediation.fix_build".to_owned()),
            ok,
            msg,
        );
    }
}

/// Step 8 (continued): every attachment is a document some entry cites by digest; an uncited
/// attachment is unsigned material riding along, and is refused rather than shown as evidence.
///
/// The citations are gathered once, in one pass over the entries (the first entry and field to
/// cite each digest), so the check costs O((attachments + citations) log n), however many
/// attachments and entries a bundle has.
fn check_attachments(run: &mut Run<'_>, bundle: &Bundle, entries: &[ParsedEntry]) {
    if bundle.attachments.is_empty() {
        return;
    }
    let mut citations: HashMap<[u8; 32], (u64, String)> = HashMap::new();
    for e in entries {
        for (path, d) in e.evidence.document_digests() {
            citations.entry(d).or_insert((e.index, path));
        }
    }
    for digest in bundle.attachments.keys() {
        // Attachment keys are lower-case hex SHA-256 digests (checked when the bundle parsed).
        let cited = crate::hex::decode_array::<32>(digest).and_then(|d| citations.get(&d));
        let field = Some(format!("attachments[{digest}]"));
        match cited {
            Some((index, path)) => run.check(
                Step::References,
                None,
                field,
                true,
                format!("the document entry {index} cites at {path}"),
            ),
            None => run.check(
                Step::References,
                None,
                field,
                false,
                "no entry in the bundle cites this document's digest",
            ),
        }
    }
}

/// One place an entry describes a file by digest: the entry, the field path of the digest, and
/// the size the entry records for it, where its schema has one.
struct Described<'a> {
    entry: &'a ParsedEntry,
    path: String,
    size: Option<u64>,
}

/// Every place in `entries` that describes a file with digest `sha256`.
fn described<'a>(entries: &'a [ParsedEntry], sha256: &[u8; 32]) -> Vec<Described<'a>> {
    let mut out = Vec::new();
    for e in entries {
        for (path, d) in e.evidence.document_digests() {
            if d != *sha256 {
                continue;
            }
            // A firmware build's artifacts record their size (`artifacts[i].size`).
            let size = match &e.evidence {
                Evidence::FirmwareBuild(b) => path
                    .strip_prefix("artifacts[")
                    .and_then(|r| r.strip_suffix("].sha256"))
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| b.artifacts.get(i))
                    .map(|a| a.size),
                _ => None,
            };
            out.push(Described {
                entry: e,
                path,
                size,
            });
        }
    }
    out
}

/// Step 8c: each file the buyer holds is one a verified entry describes, by SHA-256 and, where
/// the schema records one, by size.
fn check_held(
    run: &mut Run<'_>,
    entries: &[ParsedEntry],
    vouches: &dyn Fn(u64) -> bool,
    held: &[HeldFile],
) {
    for f in held {
        let name = &f.name;
        let places = described(entries, &f.digest.sha256);
        let what = |d: &Described<'_>| {
            if matches!(d.entry.evidence, Evidence::FirmwareBuild(_))
                && d.path.starts_with("artifacts[")
            {
                "the firmware build artifact"
            } else {
                "the document"
            }
        };
        let size_ok = |d: &Described<'_>| d.size.is_none_or(|s| s == f.digest.size);
        let trusted: Vec<&Described<'_>> =
            places.iter().filter(|d| vouches(d.entry.index)).collect();
        let (entry, field, ok, message) = if let Some(d) = trusted.iter().find(|d| size_ok(d)) {
            let by = if d.size.is_some() {
                "SHA-256 and size match"
            } else {
                "SHA-256 matches"
            };
            (
                Some(d.entry.index),
                Some(d.path.clone()),
                true,
                format!(
                    "{name}: {by} {} of entry {} ({})",
                    what(d),
                    d.entry.index,
                    d.entry.evidence.kind()
                ),
            )
        } else if let Some(d) = trusted.first() {
            (
                Some(d.entry.index),
                Some(d.path.clone()),
                false,
                format!(
                    "{name}: the file you hold has the SHA-256 of {} of entry {}, but is {} bytes where the entry says {}",
                    what(d),
                    d.entry.index,
                    f.digest.size,
                    d.size.unwrap_or_default()
                ),
            )
        } else if let Some(d) = places.first() {
            (
                Some(d.entry.index),
                Some(d.path.clone()),
                false,
                format!(
                    "{name}: the file you hold matches {} of entry {}, which did not verify: only an entry whose signature, signer and inclusion verified vouches for a file",
                    what(d),
                    d.entry.index
                ),
            )
        } else {
            (
                None,
                None,
                false,
                format!(
                    "{name}: the file you hold is not any firmware build or document in this bundle"
                ),
            )
        };
        run.check(Step::Artifact, entry, field, ok, message);
    }
}
