//! Policy profiles: versioned TOML files of rules, each with its parameters and citation.
//!
//! What a rule checks is fixed by its `type`; every threshold it checks against is data in the
//! profile, so a buyer changes requirements by editing a file, never code.

use serde::Deserialize;

use super::deployment::{BiometricRetention, CnFaceFiling, GdprDeployment};
use super::export::{
    ClassificationCurrent, CrimeControl, EndUseCheckRequired, LicenceCovers, RecordRetention,
    ScreeningBeforeShipment, SurveillanceScope, UnfavourableBlocks,
};
use super::incidents::{IncidentDocumented, IncidentReport};
use crate::evidence::SpeciesCategory;

/// The only profile format this version reads.
pub const PROFILE_FORMAT: &str = "evledger-profile/1";

/// The largest `deadline_hours` a profile may set: 100 years. No notification regime comes near
/// it; a larger value is a mistake, and one past 2^63 hours would put the deadline beyond any
/// representable time, so that no notification could ever be late.
pub const MAX_DEADLINE_HOURS: u64 = 100 * 365 * 24;

/// A parsed policy profile.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Must be [`PROFILE_FORMAT`].
    pub format: String,
    /// Short identifier, e.g. `pad-ibeta-level2`.
    pub id: String,
    /// The profile's own version.
    pub version: String,
    /// One-line title.
    pub title: String,
    /// The rules.
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
    /// The SHA-256 of the text it was parsed from ([`Profile::parse`]), which reports name it by.
    #[serde(skip)]
    pub sha256: [u8; 32],
}

/// Which builds a claim may apply to on the strength of a lab result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuildMatch {
    /// Only the build the lab tested.
    TestedBuild,
    /// The tested build, or a build whose PAD model digests equal the tested build's.
    SamePadModel,
}

/// Which claimed device models a lab result can back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelMatch {
    /// Only the model the lab tested on.
    #[default]
    TestedModel,
    /// The tested model, or a model that a claimed build ships the tested PAD model to (the
    /// build's `product.models` lists it and its PAD model digests equal the tested build's).
    SamePadModel,
}

/// Who may issue results under a scheme: the trust-file roles that stand behind them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeOperator {
    /// The scheme, as lab results and claims name it (e.g. `iBeta PAD`).
    pub scheme: String,
    /// Roles of the buyer's trust file whose signature or countersignature on a lab result shows
    /// that the scheme's operator (or a lab it accredits) issued it.
    pub roles: Vec<String>,
}

/// What a rule does with a finding the buyer may treat as a failure or only a note.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// The check fails.
    #[default]
    Fail,
    /// The check passes, and its message begins `note:` with the finding.
    Note,
}

/// Which clock a rule judges times by (`specs/policy.md`, "Clocks").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeadlineClock {
    /// Times the signer wrote (`sent_at`, `iat`): the exporter's own clock.
    #[default]
    SelfAsserted,
    /// The time trusted witnesses attest the entry was in the log, when the bundle has one;
    /// otherwise the self-asserted time, and the report says so.
    WitnessedIfPresent,
    /// Only the time trusted witnesses attest: without it the check fails. The trust file must
    /// ask for a quorum of at least one witness.
    Witnessed,
    /// Only the log's order: no time at all, self-asserted or witnessed.
    Logged,
}

impl DeadlineClock {
    /// The value as a profile writes it.
    pub fn name(self) -> &'static str {
        match self {
            DeadlineClock::SelfAsserted => "self-asserted",
            DeadlineClock::WitnessedIfPresent => "witnessed-if-present",
            DeadlineClock::Witnessed => "witnessed",
            DeadlineClock::Logged => "logged",
        }
    }
}

/// One rule: its identity and citation, and what it checks.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Rule {
    /// A claim's PAD assertions must be backed by a passed, countersigned lab result.
    PadClaimBacked {
        /// Rule id, quoted in the report.
        id: String,
        /// Where the requirement comes from.
        citation: String,
        /// Schemes accepted (empty: any).
        #[serde(default)]
        schemes: Vec<String>,
        /// Lowest scheme level a claim may assert.
        #[serde(default)]
        min_level: Option<u8>,
        /// Species categories every backing result must cover (the claim may add more).
        #[serde(default)]
        required_species: Vec<SpeciesCategory>,
        /// Fewest attack presentations per required species.
        min_attempts_per_species: u64,
        /// Highest APCER per required species, ppm.
        max_apcer_ppm: u32,
        /// Highest BPCER, ppm.
        max_bpcer_ppm: u32,
        /// Whether the result's verdict must be "pass".
        #[serde(default = "yes")]
        require_verdict_pass: bool,
        /// Role whose countersignature the result needs (none: not required).
        #[serde(default)]
        countersigner_role: Option<String>,
        /// Which builds the result can back.
        build_match: BuildMatch,
        /// Which claimed models the result can back (default: only the tested model).
        #[serde(default)]
        model_match: ModelMatch,
        /// Who may issue results under each scheme (none listed: not checked).
        #[serde(default)]
        scheme_operators: Vec<SchemeOperator>,
        /// Oldest report a claim may rest on: days from the report's `issued` to the witnessed
        /// time the claim was in the log.
        #[serde(default)]
        max_report_age_days: Option<u64>,
    },
    /// A claim's wording must not attribute a scheme's level to ISO/IEC 30107-3, which defines
    /// no attack-potential levels.
    PadLevelAttribution {
        /// Rule id.
        id: String,
        /// Where the requirement comes from.
        citation: String,
        /// Fail the check, or pass it with a note.
        #[serde(default)]
        on_misattribution: Severity,
        /// Words that name a scheme; one of them between the standard and `level` makes the
        /// level the scheme's (default: `iBeta`, `FIDO`).
        #[serde(default = "default_scheme_words")]
        scheme_words: Vec<String>,
    },
    /// A claim's wording must appear exactly in each attached channel document.
    ClaimWordingMatches {
        /// Rule id.
        id: String,
        /// Where the requirement comes from.
        citation: String,
        /// Whether every channel document with a digest must be attached.
        #[serde(default)]
        require_attachments: bool,
    },
    /// Incidents affecting data subjects in the listed regions need a timely notification.
    IncidentNotification {
        /// Rule id.
        id: String,
        /// Where the requirement comes from.
        citation: String,
        /// The notification regime, e.g. `GDPR-Art33`.
        regime: String,
        /// Regions it covers, as written in incidents (`EU`, `DE`, ...).
        regions: Vec<String>,
        /// Deadline after `aware_at`, in hours.
        deadline_hours: u64,
        /// Whether a recorded `no_notification_reason` satisfies the rule.
        #[serde(default)]
        accept_reason: bool,
        /// Which time the deadline is checked against.
        #[serde(default)]
        clock: DeadlineClock,
    },
    /// A claim made after an open incident's `aware_at` must not cover an affected build without a fix build.
    NoClaimOnAffectedBuild {
        /// Rule id.
        id: String,
        /// Where the requirement comes from.
        citation: String,
    },
    /// Each signer trusted through a certificate must have had its certificate checked at a
    /// time the clock allows.
    CertificateTime {
        /// Rule id.
        id: String,
        /// Where the requirement comes from.
        citation: String,
        /// `witnessed` (a witnessed time is required) or `witnessed-if-present`.
        clock: DeadlineClock,
    },
    /// A claim's accuracy assertions must be met by an accuracy result for the same matcher model
    /// and mode (`specs/policy.md`, "accuracy-claim-backed").
    AccuracyClaimBacked {
        /// Rule id.
        id: String,
        /// Where the requirement comes from.
        citation: String,
        /// Standards a backing result may report to (empty: any the kind allows).
        #[serde(default)]
        standards: Vec<String>,
        /// Role whose countersignature a result by an accredited lab needs.
        countersigner_role: String,
        /// Public evaluation programmes accepted, by the evaluator name results write (e.g.
        /// `NIST FRTE 1:1`); none listed: no public evaluation backs a claim.
        #[serde(default)]
        public_evaluations: Vec<String>,
        /// Oldest report a claim may rest on: days from the report's `issued` to the witnessed
        /// time the claim was in the log.
        #[serde(default)]
        max_report_age_days: Option<u64>,
    },
    /// The results backing a claim's accuracy assertions must show a demographic differential
    /// (highest group rate over lowest) of at most a bound (`specs/policy.md`).
    DemographicDifferentialMax {
        /// Rule id.
        id: String,
        /// Where the requirement comes from.
        citation: String,
        /// The rate compared across groups.
        rate: DifferentialRate,
        /// The largest ratio of the highest to the lowest group rate, in thousandths (1250 is 1.25).
        max_ratio_milli: u64,
        /// The rate, ppb, a lower group rate counts as (at least 1): a group with no error at
        /// all can never make the ratio infinite or undefined.
        zero_floor_ppb: u64,
        /// The fewest demographic groups a result must report.
        #[serde(default = "two")]
        min_groups: u64,
    },
    /// A claim's compliance assertions must be backed by a valid certificate of the named scheme
    /// covering the claimed products at the claim's log time (`specs/policy.md`).
    ComplianceClaimBacked {
        /// Rule id.
        id: String,
        /// Where the requirement comes from.
        citation: String,
        /// Schemes accepted, by name (empty: every scheme the `certification` kind knows).
        #[serde(default)]
        schemes: Vec<String>,
        /// Role whose countersignature (or signature) the certificate needs: the certification body.
        certifier_role: String,
        /// Whether the certificate's scope must list the claimed models and build versions
        /// (false: an organisation-scope certificate such as ISO/IEC 27001 is enough).
        #[serde(default = "yes")]
        require_product_scope: bool,
        /// The time the certificate must be valid at: the claim's `witnessed` time, or
        /// `witnessed-if-present` (falls back to the claim's self-asserted iat, and says so).
        clock: DeadlineClock,
    },
    /// The bundle must show that no adverse entry was withheld (`specs/completeness.md`): a
    /// version 1 bundle, or one whose completeness check failed, does not meet it.
    BundleComplete {
        /// Rule id.
        id: String,
        /// Where the requirement comes from.
        citation: String,
    },
    /// A claim's privacy-design assertions must agree with the privacy defaults of every
    /// firmware build it covers.
    PrivacyDesignBacked {
        /// Rule id.
        id: String,
        /// Where the requirement comes from.
        citation: String,
    },
    /// Incidents in scope must show a report of one stage to one kind of recipient by a deadline
    /// (CRA Art. 14, GDPR Art. 33 and 34; `specs/policy.md`, "incident-report").
    IncidentReport(IncidentReport),
    /// Incidents in scope must be documented: facts, effects and remedial action (GDPR Art. 33(5)).
    IncidentDocumented(IncidentDocumented),
    /// Every item of an export decision has a current classification (`specs/policy.md`).
    ClassificationCurrent(ClassificationCurrent),
    /// A cyber-surveillance-capable export rests on prior, unexpired, not declined due diligence.
    HrddBeforeDecision(SurveillanceScope),
    /// A cyber-surveillance-capable export records the Art. 5(2) notification or the reason for none.
    Art5NotificationRecorded(SurveillanceScope),
    /// Each shipment's decision shows the lists screened, in a record logged before it.
    EarScreeningBeforeShipment(ScreeningBeforeShipment),
    /// The decision's licence covers destination, quantity, end use and its shipments.
    LicenceCovers(LicenceCovers),
    /// Items controlled for crime control need a licence to CC Column 1 destinations (§742.7).
    EarCrimeControl(CrimeControl),
    /// Each shipment's records are carried, and kept for the years the report states.
    RecordRetention(RecordRetention),
    /// A post-shipment verification where the licence or the assessed risk calls for one.
    EndUseCheckRequired(EndUseCheckRequired),
    /// An unfavourable end-use check blocks later decisions for the same end user.
    UnfavourableCheckBlocks(UnfavourableBlocks),
    /// Deployments in the regions keep biometric data no longer than a limit.
    BiometricRetention(BiometricRetention),
    /// Deployments in the EEA: an Art. 9(2) condition, a DPIA before go-live, Chapter V transfers.
    GdprDeployment(GdprDeployment),
    /// Deployments in China holding face data of many persons are filed in time.
    CnFaceFiling(CnFaceFiling),
    /// Each verified firmware build must cite a verified Sigstore attestation whose SLSA
    /// provenance v1 names this builder, source repository and ref (`specs/policy.md`,
    /// "slsa-provenance").
    SlsaProvenance {
        /// Rule id.
        id: String,
        /// Where the requirement comes from.
        citation: String,
        /// The builder id required, compared exactly.
        builder_id: String,
        /// The source repository required, compared without scheme, `git+`, trailing `/` or
        /// `.git` (e.g. `github.com/aurelis/fg3-firmware`).
        source_repository: String,
        /// The source ref required, where `*` matches any run of characters (e.g.
        /// `refs/tags/v*`).
        source_ref: String,
    },
}

fn yes() -> bool {
    true
}

fn two() -> u64 {
    2
}

/// The rate a demographic differential is computed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DifferentialRate {
    /// False non-match rate (FNIR in identification).
    Fnmr,
    /// False match rate (FPIR in identification).
    Fmr,
}

fn default_scheme_words() -> Vec<String> {
    vec!["iBeta".into(), "FIDO".into()]
}

/// Why a rule cannot judge by `clock`, if it cannot.
fn clock_refused(rule: &Rule, clock: DeadlineClock) -> Option<String> {
    match (rule, clock) {
        // Log order says which entry came first, never how many hours passed.
        (Rule::IncidentNotification { .. } | Rule::IncidentReport(_), DeadlineClock::Logged) => Some(
            "\"logged\" cannot judge a deadline in hours: log order shows which entry came first, not when; use \"witnessed\", \"witnessed-if-present\" or \"self-asserted\"".to_owned(),
        ),
        // A certificate's validity is a period of time: log order alone cannot place an entry
        // in it, and the self-asserted iat is what the signer step already uses without witnesses.
        (
            Rule::CertificateTime { .. } | Rule::ComplianceClaimBacked { .. },
            DeadlineClock::Logged | DeadlineClock::SelfAsserted,
        ) => {
            Some(format!(
                "{:?} is not a clock this rule accepts; use \"witnessed\" (a certificate must be checked at a witnessed time) or \"witnessed-if-present\"",
                clock.name()
            ))
        }
        _ => None,
    }
}

impl Rule {
    /// The rule's id.
    pub fn id(&self) -> &str {
        match self {
            Rule::PadClaimBacked { id, .. }
            | Rule::ClaimWordingMatches { id, .. }
            | Rule::IncidentNotification { id, .. }
            | Rule::NoClaimOnAffectedBuild { id, .. }
            | Rule::CertificateTime { id, .. }
            | Rule::BundleComplete { id, .. }
            | Rule::PadLevelAttribution { id, .. }
            | Rule::AccuracyClaimBacked { id, .. }
            | Rule::DemographicDifferentialMax { id, .. }
            | Rule::ComplianceClaimBacked { id, .. }
            | Rule::PrivacyDesignBacked { id, .. }
            | Rule::SlsaProvenance { id, .. } => id,
            Rule::IncidentReport(r) => &r.id,
            Rule::IncidentDocumented(r) => &r.id,
            Rule::ClassificationCurrent(r) => &r.id,
            Rule::HrddBeforeDecision(r) | Rule::Art5NotificationRecorded(r) => &r.id,
            Rule::EarScreeningBeforeShipment(r) => &r.id,
            Rule::LicenceCovers(r) => &r.id,
            Rule::EarCrimeControl(r) => &r.id,
            Rule::RecordRetention(r) => &r.id,
            Rule::EndUseCheckRequired(r) => &r.id,
            Rule::UnfavourableCheckBlocks(r) => &r.id,
            Rule::BiometricRetention(r) => &r.id,
            Rule::GdprDeployment(r) => &r.id,
            Rule::CnFaceFiling(r) => &r.id,
        }
    }

    /// The rule's citation.
    pub fn citation(&self) -> &str {
        match self {
            Rule::PadClaimBacked { citation, .. }
            | Rule::ClaimWordingMatches { citation, .. }
            | Rule::IncidentNotification { citation, .. }
            | Rule::NoClaimOnAffectedBuild { citation, .. }
            | Rule::CertificateTime { citation, .. }
            | Rule::BundleComplete { citation, .. }
            | Rule::PadLevelAttribution { citation, .. }
            | Rule::AccuracyClaimBacked { citation, .. }
            | Rule::DemographicDifferentialMax { citation, .. }
            | Rule::ComplianceClaimBacked { citation, .. }
            | Rule::PrivacyDesignBacked { citation, .. }
            | Rule::SlsaProvenance { citation, .. } => citation,
            Rule::IncidentReport(r) => &r.citation,
            Rule::IncidentDocumented(r) => &r.citation,
            Rule::ClassificationCurrent(r) => &r.citation,
            Rule::HrddBeforeDecision(r) | Rule::Art5NotificationRecorded(r) => &r.citation,
            Rule::EarScreeningBeforeShipment(r) => &r.citation,
            Rule::LicenceCovers(r) => &r.citation,
            Rule::EarCrimeControl(r) => &r.citation,
            Rule::RecordRetention(r) => &r.citation,
            Rule::EndUseCheckRequired(r) => &r.citation,
            Rule::UnfavourableCheckBlocks(r) => &r.citation,
            Rule::BiometricRetention(r) => &r.citation,
            Rule::GdprDeployment(r) => &r.citation,
            Rule::CnFaceFiling(r) => &r.citation,
        }
    }

    /// The rule's clock, for rules that judge times by one.
    pub fn clock(&self) -> Option<DeadlineClock> {
        match self {
            Rule::IncidentNotification { clock, .. }
            | Rule::CertificateTime { clock, .. }
            | Rule::ComplianceClaimBacked { clock, .. } => Some(*clock),
            Rule::IncidentReport(r) => Some(r.clock),
            _ => None,
        }
    }
}

impl Profile {
    /// Parses profile text.
    ///
    /// # Errors
    /// A message naming the field that is wrong.
    pub fn parse(text: &str) -> Result<Profile, String> {
        let value: toml::Value =
            toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
        let mut p: Profile =
            serde_path_to_error::deserialize(value).map_err(|e| crate::trust::shape_error(&e))?;
        p.sha256 = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()).into();
        if p.format != PROFILE_FORMAT {
            return Err(format!("format: {:?} is not {PROFILE_FORMAT:?}", p.format));
        }
        if p.rules.is_empty() {
            return Err("rule: a profile needs at least one rule".into());
        }
        for (i, r) in p.rules.iter().enumerate() {
            if p.rules[..i].iter().any(|q| q.id() == r.id()) {
                return Err(format!("rule[{i}].id: {:?} is used twice", r.id()));
            }
            if r.citation().trim().is_empty() {
                return Err(format!("rule[{i}].citation: must not be empty"));
            }
            if let Rule::IncidentNotification { deadline_hours, .. } = r
                && *deadline_hours > MAX_DEADLINE_HOURS
            {
                return Err(format!(
                    "rule[{i}].deadline_hours: {deadline_hours} exceeds the limit of {MAX_DEADLINE_HOURS} hours (100 years)"
                ));
            }
            if let Some(why) = super::accuracy::profile_problem(r)
                .or_else(|| super::certification::profile_problem(r))
            {
                return Err(format!("rule[{i}].{why}"));
            }
            if let Some(why) = r.clock().and_then(|c| clock_refused(r, c)) {
                return Err(format!("rule[{i}].clock: {why}"));
            }
            if let Rule::IncidentReport(r) = r {
                r.check().map_err(|why| format!("rule[{i}].{why}"))?;
            }
            if let Some(why) = super::export::profile_problem(r) {
                return Err(format!("rule[{i}].{why}"));
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::Profile;

    const HEADER: &str =
        "format = \"evledger-profile/1\"\nid = \"p\"\nversion = \"1\"\ntitle = \"t\"\n";

    #[test]
    fn shape_errors_are_one_line_with_the_field() {
        assert_eq!(Profile::parse(HEADER).unwrap_err(), "missing field `rule`");
        let rule = "[[rule]]\nid = \"r\"\ntype = \"nope\"\ncitation = \"c\"\n";
        assert_eq!(
            Profile::parse(&format!("{HEADER}{rule}")).unwrap_err(),
            "rule[0].type: unknown variant `nope`, expected one of `pad-claim-backed`, \
             `pad-level-attribution`, `claim-wording-matches`, `incident-notification`, \
             `no-claim-on-affected-build`, `certificate-time`, `accuracy-claim-backed`, \
             `demographic-differential-max`, `compliance-claim-backed`, `bundle-complete`, \
             `privacy-design-backed`, `incident-report`, `incident-documented`, \
             `classification-current`, `hrdd-before-decision`, `art5-notification-recorded`, \
             `ear-screening-before-shipment`, `licence-covers`, `ear-crime-control`, \
             `record-retention`, `end-use-check-required`, `unfavourable-check-blocks`, \
             `biometric-retention`, `gdpr-deployment`, `cn-face-filing`, \
             `slsa-provenance`"
        );
    }

    #[test]
    fn a_deadline_past_the_limit_is_refused_not_read_as_never_late() {
        let rule = |hours: u64| {
            format!(
                "{HEADER}[[rule]]\nid = \"r\"\ntype = \"incident-notification\"\ncitation = \"c\"\n\
                 regime = \"GDPR-Art33\"\nregions = [\"EU\"]\ndeadline_hours = {hours}\n"
            )
        };
        assert!(Profile::parse(&rule(72)).is_ok());
        assert!(Profile::parse(&rule(super::MAX_DEADLINE_HOURS)).is_ok());
        assert_eq!(
            Profile::parse(&rule(super::MAX_DEADLINE_HOURS + 1)).unwrap_err(),
            "rule[0].deadline_hours: 876001 exceeds the limit of 876000 hours (100 years)"
        );
        // The largest TOML integer: 3600 times it saturates, a deadline no notification misses.
        assert!(
            Profile::parse(&rule(i64::MAX as u64))
                .unwrap_err()
                .starts_with("rule[0].deadline_hours: 9223372036854775807 exceeds the limit")
        );
    }
}
