//! `claim`: the exact wording of a product claim, where it is made, what it asserts in
//! machine-checkable form, and the ledger entries it rests on.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::types::{is_language_tag, text_enum};
use super::{
    AccuracyMode, AccuracyResult, Certification, Countersignature, EntryRef, FileField,
    FirmwareBuild, Incident, Kind, LabResult, Problems, Reference, Sha256Hex, SpeciesCategory,
    Timestamp,
};

/// A claim made to buyers, signed by product / legal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The claim's id in the maker's claim register.
    pub claim_id: String,
    /// The exact text as published, kept byte for byte.
    pub wording: String,
    /// Language of the wording, a BCP 47 tag such as `en` or `de-DE`.
    pub language: String,
    /// Where the claim is published.
    pub channels: Vec<Channel>,
    /// The products the claim is about.
    pub applies_to: AppliesTo,
    /// From when the claim is made.
    pub effective_from: Timestamp,
    /// Until when the claim is made, if withdrawn or limited.
    #[serde(default)]
    pub effective_to: Option<Timestamp>,
    /// What the wording asserts, in a form a policy can check.
    pub assertions: Vec<Assertion>,
    /// Ledger entries the claim rests on: lab results, countersignatures, builds, incidents.
    #[serde(default)]
    pub evidence: Vec<EntryRef>,
    /// Who approved the claim.
    #[serde(default)]
    pub approvals: Vec<Approval>,
    /// The `claim` entry this one replaces.
    #[serde(default)]
    pub supersedes: Option<EntryRef>,
}

text_enum! {
    /// The kind of publication a claim appears in.
    pub enum ChannelKind {
        /// Printed or PDF marketing brochure.
        Brochure = "brochure",
        /// A response to a tender or request for proposals.
        Tender = "tender",
        /// A web page.
        Website = "website",
        /// A technical datasheet.
        Datasheet = "datasheet",
        /// Anything else; the locator says what.
        Other = "other",
    }
}

/// One place the claim is published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// The kind of publication.
    pub kind: ChannelKind,
    /// Where to find it: a URL, or a document title with edition and page.
    pub locator: String,
    /// SHA-256 of the published document, when there is a fixed one.
    #[serde(default)]
    pub document_sha256: Option<Sha256Hex>,
}

/// The products a claim is about; at least one list is non-empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    /// Device models.
    #[serde(default)]
    pub models: Vec<String>,
    /// `firmware-build` entries.
    #[serde(default)]
    pub builds: Vec<EntryRef>,
}

text_enum! {
    /// What an assertion is about.
    pub enum AssertionType {
        /// Presentation attack detection (liveness).
        Pad = "pad",
        /// Recognition accuracy (false match / non-match rates).
        Accuracy = "accuracy",
        /// A privacy-by-design property (template-only storage, on-device matching, ...).
        PrivacyDesign = "privacy-design",
        /// Compliance with a standard or regulation.
        Compliance = "compliance",
    }
}

text_enum! {
    /// How an assertion's metric compares with its value.
    pub enum Comparator {
        /// Less than or equal.
        Le = "le",
        /// Less than.
        Lt = "lt",
        /// Greater than or equal.
        Ge = "ge",
        /// Greater than.
        Gt = "gt",
        /// Equal.
        Eq = "eq",
    }
}

impl Comparator {
    /// The mathematical symbol, for display.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Le => "<=",
            Comparator::Lt => "<",
            Comparator::Ge => ">=",
            Comparator::Gt => ">",
            Comparator::Eq => "==",
        }
    }
}

/// One checkable statement inside a claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assertion {
    /// What the assertion is about (`type` in input and payloads).
    #[serde(rename = "type")]
    pub kind: AssertionType,
    /// The standard, e.g. `ISO/IEC 30107-3:2023`.
    #[serde(default)]
    pub standard: Option<String>,
    /// The evaluation scheme, e.g. `iBeta PAD`; required for `pad`.
    #[serde(default)]
    pub scheme: Option<String>,
    /// The scheme level; required for `pad`.
    #[serde(default)]
    pub level: Option<u8>,
    /// Attack species categories the evidence must cover (`pad` only).
    #[serde(default)]
    pub species_required: Vec<SpeciesCategory>,
    /// The metric bounded, a snake_case field name such as `apcer_ppm` or `bpcer_ppm`.
    #[serde(default)]
    pub metric: Option<String>,
    /// How the metric compares with `value`.
    #[serde(default)]
    pub comparator: Option<Comparator>,
    /// The bound, in the metric's unit.
    #[serde(default)]
    pub value: Option<u64>,
    /// Verification (1:1) or identification (1:N) (`accuracy` only).
    #[serde(default)]
    pub mode: Option<AccuracyMode>,
    /// SHA-256 of the matcher model the assertion is about (`accuracy` only): the
    /// `model_sha256` of a matcher that firmware builds list and accuracy results evaluate.
    #[serde(default)]
    pub matcher_sha256: Option<Sha256Hex>,
}

/// A sign-off on the claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The approver's role, e.g. `legal`.
    pub role: String,
    /// The approver's name.
    pub name: String,
    /// When they approved.
    pub approved_at: Timestamp,
}

/// The kinds a claim's `evidence` may cite.
pub const CLAIM_EVIDENCE: &[&str] = &[
    LabResult::KIND,
    AccuracyResult::KIND,
    Certification::KIND,
    Countersignature::KIND,
    FirmwareBuild::KIND,
    Incident::KIND,
];

impl Kind for Claim {
    const KIND: &'static str = "claim";
    const FILE_FIELDS: &'static [FileField] = &[FileField {
        at: "channels[]",
        file: "document_file",
        sha256: "document_sha256",
        size: None,
    }];

    fn validate(&self, p: &mut Problems) {
        p.text("claim_id", &self.claim_id, 200);
        if self.wording.trim().is_empty() {
            p.add("wording", "must not be empty");
        } else if self.wording.len() > 16_384 {
            p.add("wording", "must be at most 16384 bytes");
        }
        if !is_language_tag(&self.language) {
            p.add(
                "language",
                "must be a BCP 47 language tag such as en, de-DE or zh-Hant-TW (language in lower case, Script in title case, REGION in upper case)",
            );
        }

        p.check(
            !self.channels.is_empty(),
            "channels",
            "must list at least one channel",
        );
        for (i, c) in self.channels.iter().enumerate() {
            p.text(&format!("channels[{i}].locator"), &c.locator, 2000);
        }
        p.unique("channels", &self.channels, |c| (c.kind, c.locator.as_str()));

        let a = &self.applies_to;
        p.check(
            !a.models.is_empty() || !a.builds.is_empty(),
            "applies_to",
            "must list at least one model or build",
        );
        p.texts("applies_to.models", &a.models, 200);
        p.unique("applies_to.builds", &a.builds, |b| *b);

        if let Some(to) = self.effective_to {
            p.check(
                to > self.effective_from,
                "effective_to",
                "must be after effective_from",
            );
        }

        p.check(
            !self.assertions.is_empty(),
            "assertions",
            "must list at least one assertion",
        );
        for (i, x) in self.assertions.iter().enumerate() {
            validate_assertion(p, &format!("assertions[{i}]"), x);
        }

        p.unique("evidence", &self.evidence, |e| *e);
        for (i, ap) in self.approvals.iter().enumerate() {
            p.text(&format!("approvals[{i}].role"), &ap.role, 200);
            p.text(&format!("approvals[{i}].name"), &ap.name, 200);
        }
        p.unique("approvals", &self.approvals, |ap| {
            (ap.role.as_str(), ap.name.as_str())
        });
    }

    fn references(&self) -> Vec<Reference> {
        let builds = self
            .applies_to
            .builds
            .iter()
            .enumerate()
            .map(|(i, b)| Reference {
                path: format!("applies_to.builds[{i}]"),
                entry: b.0,
                kinds: &[FirmwareBuild::KIND],
            });
        let evidence = self.evidence.iter().enumerate().map(|(i, e)| Reference {
            path: format!("evidence[{i}]"),
            entry: e.0,
            kinds: CLAIM_EVIDENCE,
        });
        let supersedes = self.supersedes.iter().map(|s| Reference {
            path: "supersedes".into(),
            entry: s.0,
            kinds: &[Claim::KIND],
        });
        builds.chain(evidence).chain(supersedes).collect()
    }

    fn summary(&self) -> String {
        const MAX: usize = 80;
        let mut w: String = self.wording.chars().take(MAX).collect();
        if w.len() < self.wording.len() {
            w.push('…');
        }
        format!("claim {} ({}): {w:?}", self.claim_id, self.language)
    }

    fn render(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(s, "claim  {}", self.claim_id);
        let _ = writeln!(s, "  wording ({})  {:?}", self.language, self.wording);
        for c in &self.channels {
            let digest = c
                .document_sha256
                .map(|d| format!("  sha256 {d}"))
                .unwrap_or_default();
            let _ = writeln!(s, "  channel         {} {}{digest}", c.kind, c.locator);
        }
        if !self.applies_to.models.is_empty() {
            let _ = writeln!(s, "  models          {}", self.applies_to.models.join(", "));
        }
        for b in &self.applies_to.builds {
            let _ = writeln!(s, "  build           {b}");
        }
        let to = self
            .effective_to
            .map(|t| format!(" to {t}"))
            .unwrap_or_default();
        let _ = writeln!(s, "  effective       from {}{to}", self.effective_from);
        for a in &self.assertions {
            let _ = writeln!(s, "  assertion       {}", render_assertion(a));
        }
        for e in &self.evidence {
            let _ = writeln!(s, "  evidence        {e}");
        }
        for ap in &self.approvals {
            let _ = writeln!(
                s,
                "  approved        {} ({}) at {}",
                ap.name, ap.role, ap.approved_at
            );
        }
        if let Some(sup) = &self.supersedes {
            let _ = writeln!(s, "  supersedes      {sup}");
        }
        s
    }
}

fn validate_assertion(p: &mut Problems, at: &str, a: &Assertion) {
    p.opt_text(&format!("{at}.standard"), a.standard.as_deref(), 200);
    p.opt_text(&format!("{at}.scheme"), a.scheme.as_deref(), 200);
    if a.kind == AssertionType::Pad {
        p.check(
            a.scheme.is_some(),
            format!("{at}.scheme"),
            "required for a pad assertion",
        );
        p.check(
            a.level.is_some(),
            format!("{at}.level"),
            "required for a pad assertion",
        );
    } else {
        p.check(
            a.species_required.is_empty(),
            format!("{at}.species_required"),
            "only applies to pad assertions",
        );
    }
    if a.kind != AssertionType::Accuracy {
        for (given, name) in [
            (a.mode.is_some(), "mode"),
            (a.matcher_sha256.is_some(), "matcher_sha256"),
        ] {
            p.check(
                !given,
                format!("{at}.{name}"),
                "only applies to accuracy assertions",
            );
        }
    }
    p.check(a.level != Some(0), format!("{at}.level"), "must be >= 1");
    p.unique(
        &format!("{at}.species_required"),
        &a.species_required,
        |c| *c,
    );
    if let Some(m) = &a.metric {
        p.check(
            is_metric_name(m),
            format!("{at}.metric"),
            "must be a snake_case name such as apcer_ppm (at most 64 bytes)",
        );
    }
    let present = [
        a.metric.is_some(),
        a.comparator.is_some(),
        a.value.is_some(),
    ];
    if present.contains(&true) {
        for (given, name) in present.iter().zip(["metric", "comparator", "value"]) {
            p.check(
                *given,
                format!("{at}.{name}"),
                "required when any of metric, comparator, value is given",
            );
        }
    }
}

fn render_assertion(a: &Assertion) -> String {
    let mut s = a.kind.to_string();
    for v in [&a.standard, &a.scheme].into_iter().flatten() {
        let _ = write!(s, " {v}");
    }
    if let Some(l) = a.level {
        let _ = write!(s, " level {l}");
    }
    if !a.species_required.is_empty() {
        let list: Vec<&str> = a.species_required.iter().map(|c| c.as_str()).collect();
        let _ = write!(s, ", species {}", list.join(", "));
    }
    if let (Some(m), Some(c), Some(v)) = (&a.metric, a.comparator, a.value) {
        let _ = write!(s, ", {m} {} {v}", c.symbol());
    }
    if let Some(mode) = a.mode {
        let _ = write!(s, ", {mode}");
    }
    if let Some(d) = &a.matcher_sha256 {
        let _ = write!(s, ", matcher {d}");
    }
    s
}

/// `[a-z][a-z0-9_]*`, at most 64 bytes.
fn is_metric_name(s: &str) -> bool {
    s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
