//! The verification report: every check with its outcome, and the verdict they add up to.

use crate::terminal::escape;

/// Appends one line of the human report: untrusted values in it (issuers, subjects, origins,
/// evidence text, messages quoting them) are escaped, so the line cannot move the cursor, clear
/// the screen or reorder text; only the report's own newline ends it.
macro_rules! put {
    ($s:expr, $($arg:tt)*) => {
        $s.put_line(format_args!($($arg)*))
    };
}

/// The report's lines, for [`put!`] on a `String` or a `&mut String` alike.
trait Lines {
    fn put_line(&mut self, line: std::fmt::Arguments<'_>);
}

impl Lines for String {
    fn put_line(&mut self, line: std::fmt::Arguments<'_>) {
        push_line(self, line);
    }
}

/// Formats one line straight onto the report and escapes it in place only if it holds a
/// character that needs it: no allocation per line for the lines (nearly all) that do not.
fn push_line(s: &mut String, line: std::fmt::Arguments<'_>) {
    use std::fmt::Write as _;
    let start = s.len();
    // Writing to a String cannot fail.
    let _ = s.write_fmt(line);
    let escaped = match escape(&s[start..]) {
        std::borrow::Cow::Owned(e) => Some(e),
        std::borrow::Cow::Borrowed(_) => None,
    };
    if let Some(e) = escaped {
        s.truncate(start);
        s.push_str(&e);
    }
    s.push('\n');
}

use serde::{Deserialize, Serialize};

pub use super::provenance::{Cited, ClaimSummary, Cosignature, ProfileDigest, Tool};

/// The verification steps, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Strict parsing of the bundle, statements and payloads.
    Parse,
    /// The checkpoint's signature by a pinned log key.
    Checkpoint,
    /// The witness cosignature quorum.
    Witnesses,
    /// Consistency proofs from earlier checkpoints.
    Consistency,
    /// Each entry's inclusion proof.
    Inclusion,
    /// Each statement's signature.
    Signature,
    /// Each signer's role (and certificate chain) for the entry's kind.
    Signer,
    /// The bundle carries every adverse entry the log's adverse index commits to.
    Completeness,
    /// Every citation resolves inside the bundle, to an allowed kind.
    References,
    /// Each firmware build's attached Sigstore bundle, re-checked offline against a trusted root
    /// the trust file pins (`specs/sigstore.md`).
    Sigstore,
    /// Each file the buyer holds (`--artifact`) is a firmware build artifact or a document that
    /// a verified entry describes.
    Artifact,
    /// The policy profiles' rules.
    Policy,
}

impl Step {
    /// The step's name as printed.
    pub fn name(self) -> &'static str {
        match self {
            Step::Parse => "parse",
            Step::Checkpoint => "checkpoint",
            Step::Witnesses => "witnesses",
            Step::Consistency => "consistency",
            Step::Inclusion => "inclusion",
            Step::Signature => "signature",
            Step::Signer => "signer",
            Step::Completeness => "completeness",
            Step::References => "references",
            Step::Sigstore => "sigstore",
            Step::Artifact => "artifact",
            Step::Policy => "policy",
        }
    }
}

/// Whether a check held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It held.
    Pass,
    /// It did not hold (or could not be checked, which counts the same).
    Fail,
}

/// The clock a check judged a time by (`specs/verification.md`, "Clocks").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Clock {
    /// A time trusted witnesses attest: the entry was in the log by then.
    Witnessed,
    /// The log's order only: which entry came first, no time.
    Logged,
    /// A time the signer wrote (`iat`, `sent_at`), which it could have back-dated.
    SelfAsserted,
}

impl Clock {
    /// The clock's name as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            Clock::Witnessed => "witnessed",
            Clock::Logged => "logged",
            Clock::SelfAsserted => "self-asserted",
        }
    }
}

/// One check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Which step.
    pub step: Step,
    /// The entry index it concerns, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<u64>,
    /// The field it concerns, if any (e.g. `species[2].apcer_ppm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Pass or fail.
    pub outcome: Outcome,
    /// What was checked, or why it failed.
    pub message: String,
    /// For a check that judged a time: the clock it used (the message says so in words too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<Clock>,
    /// For policy checks: where the rule comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
}

/// What the checks add up to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check passed.
    Verified,
    /// The bundle is malformed; nothing in it can be trusted.
    InvalidBundle,
    /// A signature, proof, key or reference check failed.
    VerificationFailed,
    /// Everything verified, but a policy rule is not met.
    PolicyNotMet,
}

impl Verdict {
    /// The process exit code for this verdict.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Verified => 0,
            Verdict::VerificationFailed => 1,
            Verdict::InvalidBundle => 3,
            Verdict::PolicyNotMet => 4,
        }
    }

    /// The verdict as printed.
    pub fn headline(self) -> &'static str {
        match self {
            Verdict::Verified => "VERIFIED",
            Verdict::InvalidBundle => "INVALID BUNDLE",
            Verdict::VerificationFailed => "VERIFICATION FAILED",
            Verdict::PolicyNotMet => "POLICY NOT MET",
        }
    }
}

/// A summary of one entry, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrySummary {
    /// Leaf index.
    pub index: u64,
    /// Hex entry hash.
    pub entry_hash: String,
    /// Evidence kind.
    pub kind: String,
    /// CWT iss.
    pub issuer: String,
    /// CWT sub.
    pub subject: String,
    /// CWT iat (Unix seconds).
    pub iat: u64,
    /// One-line description of the evidence.
    pub summary: String,
    /// Earliest time trusted witnesses attest the entry was in the log (Unix seconds), if any;
    /// none for an entry whose inclusion proof did not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witnessed_at: Option<u64>,
}

/// Whether the bundle shows that no adverse entry was withheld (`specs/completeness.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Completeness {
    /// Every adverse entry the log committed to below `tree_size` is in the bundle.
    Shown {
        /// The checkpoint's tree size.
        tree_size: u64,
        /// How many adverse entries the log committed to (all carried).
        adverse_entries: u64,
    },
    /// It is not shown, and why.
    NotShown {
        /// Why not.
        reason: String,
    },
}

impl Completeness {
    /// The tree size up to which no adverse entry was withheld, when that is shown.
    pub fn shown_to(&self) -> Option<u64> {
        match self {
            Completeness::Shown { tree_size, .. } => Some(*tree_size),
            Completeness::NotShown { .. } => None,
        }
    }

    /// One line for the human report.
    pub fn describe(&self) -> String {
        match self {
            Completeness::Shown {
                tree_size,
                adverse_entries,
            } => format!(
                "no adverse entry was withheld up to tree size {tree_size} ({adverse_entries} adverse entr{} carried)",
                if *adverse_entries == 1 { "y" } else { "ies" }
            ),
            Completeness::NotShown { reason } => format!("NOT SHOWN: {reason}"),
        }
    }
}

/// Whether what a claim says was judged, and how it came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JudgedOutcome {
    /// Judged, and every policy check about it passed.
    Held,
    /// Judged, and a policy check about it failed (of a rule that judged it, or of another
    /// rule about the same field, such as `pad-level-attribution` on the wording).
    Failed,
    /// No rule judged it: a failed check of its own, unless the run was integrity only.
    NotJudged,
}

/// A rule that judged something a claim says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JudgedBy {
    /// The profile's id.
    pub profile: String,
    /// The rule's id.
    pub rule: String,
}

/// One thing a claim says (an assertion, or its wording) and the rules that judged it
/// (`specs/verification.md`, "Judged").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgement {
    /// The claim's entry index.
    pub entry: u64,
    /// The claim's id.
    pub claim_id: String,
    /// What was judged: `assertions[i]`, or `wording` (the wording against the assertions).
    pub field: String,
    /// For an assertion, its type (`pad`, `accuracy`, ...).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The rules that judged it; empty when none did.
    pub judged_by: Vec<JudgedBy>,
    /// How it came out.
    pub outcome: JudgedOutcome,
}

impl Judgement {
    /// What was judged, in words: `assertions[0] (pad)` or `wording`.
    pub fn subject(&self) -> String {
        match &self.kind {
            Some(k) => format!("{} ({k})", self.field),
            None => self.field.clone(),
        }
    }
}

/// The version of the JSON report's schema (`specs/verification.md`, "JSON"): raised only by a
/// change an existing reader could misread; added fields and values keep it.
pub const SCHEMA_VERSION: u32 = 1;

/// The full verification report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The JSON schema's version, [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The verdict.
    pub verdict: Verdict,
    /// The log's origin, as the checkpoint states it (verified only if the checkpoint check passed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The checkpoint's tree size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_size: Option<u64>,
    /// The checkpoint's root hash, 64 lower-case hex digits, when the checkpoint verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_hash: Option<String>,
    /// The checkpoint's signers as (name, key id) for out-of-band comparison when no log key is pinned.
    pub checkpoint_signers: Vec<String>,
    /// The cosignatures of trusted witnesses that verified on the checkpoint, with their times.
    pub cosignatures: Vec<Cosignature>,
    /// Whether no adverse entry was withheld (key events, incidents, superseding claims).
    pub completeness: Completeness,
    /// Entries in the bundle.
    pub entries: Vec<EntrySummary>,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// True when the buyer asked for integrity only: signatures, proofs, roles and references
    /// were checked, and no claim was judged against any rule.
    pub integrity_only: bool,
    /// For each assertion of each claim, and each claim's wording: the rules that judged it.
    pub judged: Vec<Judgement>,
    /// Every claim entry in plain words, with the entries it cites.
    pub claims: Vec<ClaimSummary>,
    /// The SHA-256 of the bundle's bytes, when the caller gave them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_sha256: Option<String>,
    /// The SHA-256 of the trust file's text.
    pub trust_file_sha256: String,
    /// The policy profiles the verifier was given, in order, with their digests.
    pub profiles: Vec<ProfileDigest>,
    /// The tool that verified.
    pub tool: Tool,
    /// The verification time the caller gave (Unix seconds), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<i64>,
}

impl Report {
    /// Computes the verdict from the checks: parse failures make the bundle invalid, other
    /// failures before the policy step fail verification, policy failures alone mean "policy not met".
    pub fn conclude(&mut self) {
        let failed = |pred: &dyn Fn(Step) -> bool| {
            self.checks
                .iter()
                .any(|c| c.outcome == Outcome::Fail && pred(c.step))
        };
        self.verdict = if self.checks.is_empty() {
            Verdict::VerificationFailed
        } else if failed(&|s| s == Step::Parse) {
            Verdict::InvalidBundle
        } else if failed(&|s| s != Step::Policy) {
            Verdict::VerificationFailed
        } else if failed(&|s| s == Step::Policy) {
            Verdict::PolicyNotMet
        } else {
            Verdict::Verified
        };
    }

    /// Number of failed checks.
    pub fn failures(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .count()
    }

    /// The machine-readable report (`evledger verify --json`): pretty-printed JSON of this
    /// struct, with the schema in `specs/verification.md`.
    pub fn to_json(&self) -> String {
        // Every field is a string, an integer, an enum or a list of them: encoding cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads back a report [`Report::to_json`] wrote (a web page keeps the JSON and asks for the
    /// HTML report later). A report of another schema version is refused, as are fields of the
    /// wrong type; unknown fields are ignored (`specs/verification.md`, "Schema version").
    ///
    /// # Errors
    /// Why the text is not a report of [`SCHEMA_VERSION`], with the field path at fault.
    pub fn from_json(json: &str) -> Result<Report, String> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: Option<u64>,
        }
        let v: Version =
            serde_json::from_str(json).map_err(|e| format!("not a JSON report: {e}"))?;
        match v.schema_version {
            Some(n) if n == u64::from(SCHEMA_VERSION) => {}
            Some(n) => {
                return Err(format!(
                    "schema_version: {n} is not supported (expected {SCHEMA_VERSION})"
                ));
            }
            None => return Err("schema_version: missing; not a report of this schema".into()),
        }
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| format!("{}: {}", e.path(), e.inner()))
    }

    /// The human-readable report: verdict first, then checks grouped by entry.
    pub fn render(&self) -> String {
        let mut s = String::new();
        put!(
            s,
            "{}{}: {} entries, {} checks, {} failed",
            self.verdict.headline(),
            if self.integrity_only {
                " (INTEGRITY ONLY)"
            } else {
                ""
            },
            self.entries.len(),
            self.checks.len(),
            self.failures()
        );
        if self.integrity_only {
            put!(
                s,
                "integrity only: signatures, proofs, roles and references were checked; no claim was judged against any rule"
            );
        }
        if let (Some(o), Some(n)) = (&self.origin, self.tree_size) {
            put!(s, "log {o} at tree size {n}");
        }
        if let Some(root) = &self.root_hash {
            put!(s, "checkpoint root {root}");
        }
        for c in &self.cosignatures {
            put!(
                s,
                "cosigned by witness {}+{} at {}",
                c.witness,
                c.key_id,
                crate::time::format_rfc3339(c.timestamp as i64)
            );
        }
        put!(s, "completeness: {}", self.completeness.describe());
        let failed: Vec<&Check> = self
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .collect();
        if !failed.is_empty() {
            put!(s, "failed:");
            for c in failed {
                let step = c.step.name();
                match (c.entry, c.field.as_deref()) {
                    (Some(i), Some(f)) => put!(s, "  entry {i} {step}: {f}: {}", c.message),
                    (Some(i), None) => put!(s, "  entry {i} {step}: {}", c.message),
                    (None, Some(f)) => put!(s, "  {step}: {f}: {}", c.message),
                    (None, None) => put!(s, "  {step}: {}", c.message),
                }
                if let Some(cite) = &c.citation {
                    put!(s, "    rule source: {cite}");
                }
            }
            put!(s, "all checks:");
        }
        // Checks grouped by entry in one pass, in report order: rendering costs O(checks), never
        // a scan of every check per entry.
        let mut by_entry: std::collections::HashMap<u64, Vec<&Check>> =
            std::collections::HashMap::with_capacity(self.entries.len());
        for c in &self.checks {
            match c.entry {
                None => line(&mut s, "  ", c),
                Some(i) => by_entry.entry(i).or_default().push(c),
            }
        }
        for e in &self.entries {
            let checks = by_entry.get(&e.index).map_or(&[][..], Vec::as_slice);
            put!(
                s,
                "entry {} {} {} by {} ({})",
                e.index,
                e.entry_hash.get(..16).unwrap_or(&e.entry_hash),
                e.kind,
                e.issuer,
                e.subject
            );
            put!(s, "    {}", e.summary);
            if let Some(t) = e.witnessed_at {
                put!(
                    s,
                    "    in the log by {} (witnessed)",
                    crate::time::format_rfc3339(t as i64)
                );
            } else if checks
                .iter()
                .any(|c| c.step == Step::Inclusion && c.outcome == Outcome::Fail)
            {
                // Whatever the checkpoints' witnesses saw, it is not shown that they saw this entry.
                put!(s, "    no witnessed time: not proved to be in the log");
            }
            for c in checks {
                line(&mut s, "  ", c);
            }
            for j in self.judged.iter().filter(|j| j.entry == e.index) {
                judged_line(&mut s, j);
            }
        }
        self.render_provenance(&mut s);
        s
    }

    /// The human report's last lines: what was verified, by which tool and when.
    fn render_provenance(&self, s: &mut String) {
        if let Some(h) = &self.bundle_sha256 {
            put!(s, "bundle sha256 {h}");
        }
        put!(s, "trust file sha256 {}", self.trust_file_sha256);
        for p in &self.profiles {
            put!(
                s,
                "profile {} {} sha256 {}{}",
                p.id,
                p.version,
                p.sha256,
                if self.integrity_only {
                    " (not applied: integrity only)"
                } else {
                    ""
                }
            );
        }
        put!(s, "{}", self.verified_by());
    }

    /// `verified at <time> by <tool> <version>` (with the verifier's version when it differs,
    /// and the tool's digest when known), or `verified by …` without a time.
    pub fn verified_by(&self) -> String {
        let t = &self.tool;
        let mut out = match self.verified_at {
            Some(at) => format!("verified at {} by ", crate::time::format_rfc3339(at)),
            None => "verified by ".to_owned(),
        };
        out.push_str(&format!("{} {}", t.name, t.version));
        if t.verifier_version != t.version {
            out.push_str(&format!(" (verifier {})", t.verifier_version));
        }
        if let Some(h) = &t.sha256 {
            out.push_str(&format!(" sha256 {h}"));
        }
        if self.verified_at.is_none() {
            out.push_str(" (no verification time was given)");
        }
        out
    }
}

/// One line per judged subject: the rules that judged it, or `not judged`.
fn judged_line(s: &mut String, j: &Judgement) {
    let by: Vec<String> = j
        .judged_by
        .iter()
        .map(|b| format!("{} ({})", b.rule, b.profile))
        .collect();
    match j.outcome {
        JudgedOutcome::NotJudged => put!(s, "    {}: not judged", j.subject()),
        JudgedOutcome::Held => put!(s, "    {}: judged by {}, held", j.subject(), by.join(", ")),
        JudgedOutcome::Failed => put!(
            s,
            "    {}: judged by {}, FAILED",
            j.subject(),
            by.join(", ")
        ),
    }
}

fn line(s: &mut String, indent: &str, c: &Check) {
    let mark = match c.outcome {
        Outcome::Pass => "ok  ",
        Outcome::Fail => "FAIL",
    };
    let step = c.step.name();
    match c.field.as_deref() {
        Some(f) => push_line(
            s,
            format_args!("{indent}{mark} {step:<11} {f}: {}", c.message),
        ),
        None => push_line(s, format_args!("{indent}{mark} {step:<11} {}", c.message)),
    }
}
