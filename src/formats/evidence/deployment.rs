//! `deployment-record`: where and how a build is deployed — region, controller and processors,
//! legal basis, retention, storage and transfers, DPIA, and China's facial-recognition filing.
//! `specs/evidence.md`.

use serde::{Deserialize, Serialize};

use super::export::is_country;
use super::types::text_enum;
use super::{EntryRef, FirmwareBuild, Kind, Problems, Reference, Sha256Hex, Timestamp};

text_enum! {
    /// The condition of GDPR Art. 9(2) that lifts the ban on processing biometric data.
    pub enum Art9Basis {
        /// (a) explicit consent.
        ExplicitConsent = "9(2)(a)",
        /// (b) employment law obligations, as Member State law authorises.
        Employment = "9(2)(b)",
        /// (c) vital interests where consent cannot be given.
        VitalInterests = "9(2)(c)",
        /// (g) substantial public interest on the basis of Union or Member State law.
        SubstantialPublicInterest = "9(2)(g)",
    }
}

text_enum! {
    /// What starts the retention period.
    pub enum RetentionTrigger {
        /// The individual's last interaction with the system.
        LastInteraction = "last-interaction",
        /// The end of the purpose for which the data was collected.
        PurposeEnds = "purpose-ends",
        /// Collection (enrolment).
        Collection = "collection",
    }
}

text_enum! {
    /// A GDPR Chapter V transfer mechanism.
    pub enum TransferMechanism {
        /// Art. 45 adequacy decision.
        Adequacy = "adequacy-decision",
        /// Art. 46(2)(c) standard contractual clauses.
        Scc = "standard-contractual-clauses",
        /// Art. 47 binding corporate rules.
        Bcr = "binding-corporate-rules",
        /// Art. 49 derogation.
        Derogation = "art49-derogation",
    }
}

/// The controller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    /// Its name.
    pub name: String,
    /// Its country (ISO 3166-1 alpha-2).
    pub country: String,
}

/// A processor (GDPR Art. 28).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Processor {
    /// Its name.
    pub name: String,
    /// What it does, e.g. `hosting`.
    pub role: String,
    /// Its country (ISO 3166-1 alpha-2).
    pub country: String,
    /// SHA-256 of the Art. 28 contract.
    pub contract_sha256: Sha256Hex,
}

/// The legal basis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    /// The GDPR Art. 9(2) condition, where the GDPR applies.
    #[serde(default)]
    pub gdpr_art9: Option<Art9Basis>,
    /// The national law relied on (e.g. `BDSG §26(3)`, `740 ILCS 14/15(b)`).
    #[serde(default)]
    pub national_law: Option<String>,
    /// SHA-256 of the consent or written-release form.
    #[serde(default)]
    pub consent_sha256: Option<Sha256Hex>,
}

/// How long biometric data is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Days after the trigger.
    pub days: u64,
    /// What starts them.
    pub trigger: RetentionTrigger,
    /// SHA-256 of the published retention schedule, if published.
    #[serde(default)]
    pub schedule_sha256: Option<Sha256Hex>,
}

/// A transfer out of the region (GDPR Chapter V).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The recipient country (ISO 3166-1 alpha-2).
    pub to_country: String,
    /// The mechanism.
    pub mechanism: TransferMechanism,
}

/// A data protection impact assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dpia {
    /// SHA-256 of the assessment.
    pub sha256: Sha256Hex,
    /// When it was completed.
    pub completed_at: Timestamp,
}

/// A filing under China's Security Management Measures for the Application of Facial
/// Recognition Technology (in force 1 June 2025).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnFiling {
    /// The filing reference.
    pub reference: String,
    /// When it was filed.
    pub filed_at: Timestamp,
}

/// One deployment of a build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentRecord {
    /// The deployment's id.
    pub deployment_id: String,
    /// The region: ISO 3166-2 subdivision (`US-IL`) or ISO 3166-1 alpha-2 country (`DE`).
    pub region: String,
    /// The build deployed.
    pub build: EntryRef,
    /// SHA-256 of the deployed configuration.
    pub configuration_sha256: Sha256Hex,
    /// The controller.
    pub controller: Controller,
    /// The processors.
    #[serde(default)]
    pub processors: Vec<Processor>,
    /// The legal basis.
    pub legal_basis: LegalBasis,
    /// Retention of biometric data.
    pub retention: Retention,
    /// Where biometric data is stored (ISO 3166-1 alpha-2).
    pub storage_location: String,
    /// Transfers out of the region.
    #[serde(default)]
    pub transfers: Vec<Transfer>,
    /// The DPIA, if one was made.
    #[serde(default)]
    pub dpia: Option<Dpia>,
    /// When the deployment went live.
    pub go_live: Timestamp,
    /// How many persons' face data the deployment holds, as last counted.
    #[serde(default)]
    pub persons_enrolled: Option<u64>,
    /// When the count first reached 100,000 persons (China's filing threshold), if it did.
    #[serde(default)]
    pub threshold_reached_at: Option<Timestamp>,
    /// The filing under China's facial-recognition measures, if made.
    #[serde(default)]
    pub cn_filing: Option<CnFiling>,
}

/// Whether `s` is an ISO 3166-1 alpha-2 code or an ISO 3166-2 code's shape (`CC-XXX`, one to
/// three upper-case letters or digits after the hyphen).
pub fn is_region(s: &str) -> bool {
    match s.split_once('-') {
        None => is_country(s),
        Some((c, sub)) => {
            is_country(c)
                && (1..=3).contains(&sub.len())
                && sub
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }
    }
}

impl DeploymentRecord {
    /// The country of the region.
    pub fn country(&self) -> &str {
        self.region.split('-').next().unwrap_or_default()
    }
}

impl Kind for DeploymentRecord {
    const KIND: &'static str = "deployment-record";

    fn validate(&self, p: &mut Problems) {
        const COUNTRY: &str =
            "must be an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. DE)";
        p.text("deployment_id", &self.deployment_id, 200);
        p.check(
            is_region(&self.region),
            "region",
            "must be an ISO 3166-2 code such as US-IL, or a country code such as DE",
        );
        p.text("controller.name", &self.controller.name, 200);
        p.check(
            is_country(&self.controller.country),
            "controller.country",
            COUNTRY,
        );
        for (i, pr) in self.processors.iter().enumerate() {
            p.text(&format!("processors[{i}].name"), &pr.name, 200);
            p.text(&format!("processors[{i}].role"), &pr.role, 200);
            p.check(
                is_country(&pr.country),
                format!("processors[{i}].country"),
                COUNTRY,
            );
        }
        p.opt_text(
            "legal_basis.national_law",
            self.legal_basis.national_law.as_deref(),
            500,
        );
        p.check(
            self.legal_basis.gdpr_art9.is_some() || self.legal_basis.national_law.is_some(),
            "legal_basis",
            "must name a GDPR Art. 9(2) condition, a national law, or both",
        );
        p.check(self.retention.days > 0, "retention.days", "must be > 0");
        p.check(
            is_country(&self.storage_location),
            "storage_location",
            COUNTRY,
        );
        for (i, t) in self.transfers.iter().enumerate() {
            p.check(
                is_country(&t.to_country),
                format!("transfers[{i}].to_country"),
                COUNTRY,
            );
        }
        if let Some(f) = &self.cn_filing {
            p.text("cn_filing.reference", &f.reference, 200);
        }
        if let (Some(n), None) = (self.persons_enrolled, self.threshold_reached_at)
            && n >= 100_000
        {
            p.add(
                "threshold_reached_at",
                "required when persons_enrolled is 100000 or more",
            );
        }
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference {
            path: "build".into(),
            entry: self.build.0,
            kinds: &[FirmwareBuild::KIND],
        }]
    }

    fn summary(&self) -> String {
        format!(
            "deployment {} in {} by {}: retention {} days after {}",
            self.deployment_id,
            self.region,
            self.controller.name,
            self.retention.days,
            self.retention.trigger
        )
    }

    fn render(&self) -> String {
        super::render_fields("deployment-record", self)
    }
}
