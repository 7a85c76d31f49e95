//! Human-rights due diligence and end-use checks: `hr-due-diligence` (an assessment of the
//! human-rights risk of a sensitive end use, UN Guiding Principles 17–21, OECD 2018) and
//! `end-use-check` (a pre-licence check, post-shipment verification or self-audit of an export
//! decision). A declined assessment and an unfavourable check are adverse
//! (`specs/completeness.md`). `specs/evidence.md`.

use serde::{Deserialize, Serialize};

use super::export::{ExportDecision, is_country};
use super::types::text_enum;
use super::{EntryRef, Kind, Problems, Reference, Sha256Hex, Timestamp};

text_enum! {
    /// A due-diligence framework the assessment follows.
    pub enum Framework {
        /// UN Guiding Principles on Business and Human Rights, Principles 17–21.
        Ungp = "UNGP 17-21",
        /// OECD Due Diligence Guidance for Responsible Business Conduct (2018).
        Oecd = "OECD Due Diligence Guidance 2018",
    }
}

text_enum! {
    /// How severe a human-rights impact would be.
    pub enum RiskSeverity {
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Severe (scale, scope or irremediability; UNGP 14, 24).
        Severe = "severe",
    }
}

text_enum! {
    /// How likely an impact is.
    pub enum Likelihood {
        /// Unlikely.
        Unlikely = "unlikely",
        /// Possible.
        Possible = "possible",
        /// Likely.
        Likely = "likely",
        /// Almost certain.
        AlmostCertain = "almost-certain",
    }
}

text_enum! {
    /// What the assessment decided.
    pub enum DueDiligenceDecision {
        /// Proceed.
        Proceed = "proceed",
        /// Proceed only under the mitigations listed.
        ProceedWithConditions = "proceed-with-conditions",
        /// Do not proceed.
        Decline = "decline",
    }
}

/// What the assessment covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueDiligenceScope {
    /// The end user, as export decisions name it (`end_user.name`).
    pub end_user: String,
    /// Its country (ISO 3166-1 alpha-2).
    pub country: String,
    /// The end use assessed, in words.
    pub end_use: String,
}

/// One risk found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    /// The right at risk, e.g. `privacy (ICCPR Art. 17)`.
    pub right: String,
    /// How severe.
    pub severity: RiskSeverity,
    /// How likely.
    pub likelihood: Likelihood,
}

/// One mitigation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mitigation {
    /// What it is, e.g. `no 1:N use in publicly accessible spaces`.
    pub description: String,
    /// Whether it is a term of the contract (e.g. audit rights).
    pub contractual: bool,
}

/// A human-rights due-diligence assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HrDueDiligence {
    /// The assessment's id.
    pub assessment_id: String,
    /// What it covers.
    pub scope: DueDiligenceScope,
    /// The frameworks followed.
    pub frameworks: Vec<Framework>,
    /// The risks found.
    #[serde(default)]
    pub risks: Vec<Risk>,
    /// The mitigations required.
    #[serde(default)]
    pub mitigations: Vec<Mitigation>,
    /// The grievance channel open to affected people (UNGP 29, 31).
    pub grievance_channel: String,
    /// What it decided.
    pub decision: DueDiligenceDecision,
    /// When it was completed.
    pub assessed_at: Timestamp,
    /// The last moment it may be relied on.
    pub valid_until: Timestamp,
    /// SHA-256 of the assessment report.
    pub report_sha256: Sha256Hex,
}

impl HrDueDiligence {
    /// Whether it is adverse: it declined.
    pub fn is_adverse(&self) -> bool {
        self.decision == DueDiligenceDecision::Decline
    }

    /// The most severe risk found, if any.
    pub fn worst_severity(&self) -> Option<RiskSeverity> {
        self.risks
            .iter()
            .map(|r| r.severity)
            .max_by_key(|s| *s as u8)
    }
}

impl Kind for HrDueDiligence {
    const KIND: &'static str = "hr-due-diligence";

    fn validate(&self, p: &mut Problems) {
        p.text("assessment_id", &self.assessment_id, 200);
        p.text("scope.end_user", &self.scope.end_user, 200);
        p.check(
            is_country(&self.scope.country),
            "scope.country",
            "must be an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. DE)",
        );
        p.text("scope.end_use", &self.scope.end_use, 2000);
        p.check(
            !self.frameworks.is_empty(),
            "frameworks",
            "must list at least one framework",
        );
        p.unique("frameworks", &self.frameworks, |f| *f);
        for (i, r) in self.risks.iter().enumerate() {
            p.text(&format!("risks[{i}].right"), &r.right, 200);
        }
        for (i, m) in self.mitigations.iter().enumerate() {
            p.text(
                &format!("mitigations[{i}].description"),
                &m.description,
                2000,
            );
        }
        p.check(
            self.decision != DueDiligenceDecision::ProceedWithConditions
                || !self.mitigations.is_empty(),
            "mitigations",
            "must list at least one mitigation when the decision is proceed-with-conditions",
        );
        p.text("grievance_channel", &self.grievance_channel, 2000);
        p.check(
            self.valid_until > self.assessed_at,
            "valid_until",
            "must be after assessed_at",
        );
    }

    fn summary(&self) -> String {
        format!(
            "human-rights due diligence {} for {} ({}): {}",
            self.assessment_id, self.scope.end_user, self.scope.country, self.decision
        )
    }

    fn render(&self) -> String {
        super::render_fields("hr-due-diligence", self)
    }
}

text_enum! {
    /// The kind of end-use check.
    pub enum CheckType {
        /// Before the licence is granted.
        PreLicence = "pre-licence-check",
        /// After shipment, at the end user's site.
        PostShipment = "post-shipment-verification",
        /// The exporter's own audit.
        SelfAudit = "self-audit",
    }
}

text_enum! {
    /// What an end-use check found.
    pub enum CheckResult {
        /// The items are where and used as declared.
        Favourable = "favourable",
        /// They are not (or could not be verified).
        Unfavourable = "unfavourable",
    }
}

/// An end-use check of one export decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndUseCheck {
    /// The export decision checked.
    pub decision: EntryRef,
    /// The kind of check (`type` in input and payloads).
    #[serde(rename = "type")]
    pub kind: CheckType,
    /// Who performed it.
    pub performed_by: String,
    /// When.
    pub performed_at: Timestamp,
    /// How many serial numbers were verified on site.
    pub serials_verified: u64,
    /// Whether the site is the declared one.
    pub site_matches: bool,
    /// Whether the use is the declared one.
    pub use_matches: bool,
    /// The result.
    pub result: CheckResult,
    /// SHA-256 of the check's report.
    pub report_sha256: Sha256Hex,
}

impl EndUseCheck {
    /// Whether it is adverse: its result is unfavourable.
    pub fn is_adverse(&self) -> bool {
        self.result == CheckResult::Unfavourable
    }
}

impl Kind for EndUseCheck {
    const KIND: &'static str = "end-use-check";

    fn validate(&self, p: &mut Problems) {
        p.text("performed_by", &self.performed_by, 200);
        if self.result == CheckResult::Favourable {
            p.check(
                self.site_matches,
                "site_matches",
                "a favourable check must find the declared site",
            );
            p.check(
                self.use_matches,
                "use_matches",
                "a favourable check must find the declared use",
            );
        }
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference {
            path: "decision".into(),
            entry: self.decision.0,
            kinds: &[ExportDecision::KIND],
        }]
    }

    fn summary(&self) -> String {
        format!(
            "{} by {} at {}: {}",
            self.kind, self.performed_by, self.performed_at, self.result
        )
    }

    fn render(&self) -> String {
        super::render_fields("end-use-check", self)
    }
}
