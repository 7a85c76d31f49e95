//! Export control evidence: `export-classification` (how a build or model is classified in one
//! jurisdiction), `export-decision` (one transaction: items, parties, screening, licences,
//! approvals) and `shipment` (one consignment executing a decision). `specs/evidence.md`.

use serde::{Deserialize, Serialize};

use super::types::text_enum;
use super::{EntryRef, FirmwareBuild, Kind, Problems, Reference, Sha256Hex, Timestamp};

text_enum! {
    /// The export control regime a classification or licence belongs to.
    pub enum Jurisdiction {
        /// Regulation (EU) 2021/821 (EU dual-use), with national measures of a member state.
        Eu = "EU",
        /// The US Export Administration Regulations (15 CFR Parts 730–774).
        Us = "US",
    }
}

text_enum! {
    /// A biometric function an item performs; several export regimes turn on which.
    pub enum BiometricFunction {
        /// 1:1 verification against a claimed identity (e.g. access control).
        Verification = "verification-1to1",
        /// 1:N identification against a gallery.
        Identification = "identification-1toN",
        /// Scanning crowds (many faces per frame, uncooperative subjects).
        CrowdScanning = "crowd-scanning",
        /// Inferring emotions from biometric data.
        EmotionRecognition = "emotion-recognition",
    }
}

text_enum! {
    /// The exporter's assessment under Regulation (EU) 2021/821 Art. 2(20) and Art. 5.
    pub enum SurveillanceAssessment {
        /// Not a cyber-surveillance item.
        NotCyberSurveillance = "not-cyber-surveillance",
        /// A cyber-surveillance item.
        CyberSurveillance = "cyber-surveillance",
        /// Unsettled; the exporter treats it by its stated risk policy.
        Contested = "contested",
    }
}

text_enum! {
    /// A US reason for control (15 CFR §738.2(d)(2)), as an ECCN lists it.
    pub enum ControlReason {
        /// National security.
        Ns = "NS",
        /// Missile technology.
        Mt = "MT",
        /// Nuclear non-proliferation.
        Np = "NP",
        /// Chemical and biological weapons.
        Cb = "CB",
        /// Regional stability.
        Rs = "RS",
        /// Crime control (§742.7).
        Cc = "CC",
        /// Anti-terrorism.
        At = "AT",
        /// Encryption items (§742.15).
        Ei = "EI",
        /// Surreptitious listening.
        Sl = "SL",
        /// United Nations embargo.
        Un = "UN",
    }
}

/// How one build or model is classified in one jurisdiction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportClassification {
    /// The regime.
    pub jurisdiction: Jurisdiction,
    /// The build classified (a classification names a build, a model, or both).
    #[serde(default)]
    pub build: Option<EntryRef>,
    /// The device model classified, as firmware builds list it in `product.models`.
    #[serde(default)]
    pub model: Option<String>,
    /// EU: the Annex I entry (e.g. `5A002`) or `not listed`; US: the ECCN (`EAR99`, `5A992`, `3A981`).
    pub control_entry: String,
    /// US only: the reasons for control the ECCN gives (e.g. `CC`, `AT`).
    #[serde(default)]
    pub reasons_for_control: Vec<ControlReason>,
    /// Why the entry applies (or none does).
    pub basis: String,
    /// SHA-256 of a ruling (a CCATS, a national authority's ruling), if there is one.
    #[serde(default)]
    pub ruling_sha256: Option<Sha256Hex>,
    /// The biometric functions the item performs.
    pub biometric_functions: Vec<BiometricFunction>,
    /// EU only (required there): the exporter's cyber-surveillance assessment.
    #[serde(default)]
    pub cyber_surveillance: Option<SurveillanceClaim>,
    /// The cryptography basis, e.g. `Note 3 to Category 5 Part 2 (mass market)`.
    pub crypto_basis: String,
    /// When it was classified.
    pub classified_at: Timestamp,
    /// The last moment the classification holds (a review date).
    pub valid_until: Timestamp,
}

/// The exporter's cyber-surveillance assessment and its reasons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveillanceClaim {
    /// The assessment.
    pub assessment: SurveillanceAssessment,
    /// Its reasons (Commission Recommendation (EU) 2024/2659 guides it).
    pub rationale: String,
}

/// Whether a control entry is written as the jurisdiction writes it: a US ECCN is `EAR99` or
/// digit, category letter A–E, three digits, optionally a `.`-separated paragraph (`5A992.c`);
/// an EU Annex I entry is the same shape without `EAR99`, or `not listed`.
pub fn control_entry_ok(j: Jurisdiction, entry: &str) -> bool {
    let eccn = |s: &str| {
        let (head, para) = s.split_once('.').unwrap_or((s, ""));
        let b = head.as_bytes();
        b.len() == 5
            && b[0].is_ascii_digit()
            && (b'A'..=b'E').contains(&b[1])
            && b[2..].iter().all(u8::is_ascii_digit)
            && para
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.')
            && !para.ends_with('.')
            && (s.len() == 5 || !para.is_empty())
    };
    match j {
        Jurisdiction::Us => entry == "EAR99" || eccn(entry),
        Jurisdiction::Eu => entry == "not listed" || eccn(entry),
    }
}

/// Whether `s` is an ISO 3166-1 alpha-2 code's shape: two upper-case ASCII letters.
pub fn is_country(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

impl ExportClassification {
    /// Whether the item performs any of `functions`.
    pub fn performs_any(&self, functions: &[BiometricFunction]) -> bool {
        self.biometric_functions
            .iter()
            .any(|f| functions.contains(f))
    }
}

impl Kind for ExportClassification {
    const KIND: &'static str = "export-classification";

    fn validate(&self, p: &mut Problems) {
        p.check(
            self.build.is_some() || self.model.is_some(),
            ".",
            "must name a build, a model, or both",
        );
        p.opt_text("model", self.model.as_deref(), 200);
        p.text("control_entry", &self.control_entry, 100);
        p.check(
            control_entry_ok(self.jurisdiction, &self.control_entry),
            "control_entry",
            match self.jurisdiction {
                Jurisdiction::Us => "must be an ECCN such as 5A992.c or 3A981, or EAR99",
                Jurisdiction::Eu => "must be an Annex I entry such as 5A002.a, or \"not listed\"",
            },
        );
        match self.jurisdiction {
            Jurisdiction::Us => {
                p.check(
                    self.cyber_surveillance.is_none(),
                    "cyber_surveillance",
                    "applies to EU classifications only (Regulation (EU) 2021/821 Art. 5)",
                );
                p.check(
                    self.control_entry != "EAR99" || self.reasons_for_control.is_empty(),
                    "reasons_for_control",
                    "an EAR99 item has no reasons for control",
                );
            }
            Jurisdiction::Eu => {
                p.check(
                    self.cyber_surveillance.is_some(),
                    "cyber_surveillance",
                    "required for an EU classification (the Art. 2(20) and Art. 5 assessment)",
                );
                p.check(
                    self.reasons_for_control.is_empty(),
                    "reasons_for_control",
                    "applies to US classifications only",
                );
            }
        }
        p.unique("reasons_for_control", &self.reasons_for_control, |r| *r);
        p.text("basis", &self.basis, 2000);
        p.check(
            !self.biometric_functions.is_empty(),
            "biometric_functions",
            "must list at least one biometric function",
        );
        p.unique("biometric_functions", &self.biometric_functions, |f| *f);
        if let Some(cs) = &self.cyber_surveillance {
            p.text("cyber_surveillance.rationale", &cs.rationale, 2000);
        }
        p.text("crypto_basis", &self.crypto_basis, 1000);
        p.check(
            self.valid_until > self.classified_at,
            "valid_until",
            "must be after classified_at",
        );
    }

    fn references(&self) -> Vec<Reference> {
        self.build
            .iter()
            .map(|b| Reference {
                path: "build".into(),
                entry: b.0,
                kinds: &[FirmwareBuild::KIND],
            })
            .collect()
    }

    fn summary(&self) -> String {
        let what = match (&self.model, &self.build) {
            (Some(m), _) => format!("model {m}"),
            (None, Some(b)) => format!("build {}", &b.to_string()[..12]),
            (None, None) => "nothing".into(),
        };
        format!(
            "{} classification of {what}: {} (valid until {})",
            self.jurisdiction, self.control_entry, self.valid_until
        )
    }

    fn render(&self) -> String {
        super::render_fields("export-classification", self)
    }
}

text_enum! {
    /// The sector of an end user.
    pub enum Sector {
        /// A private company.
        Commercial = "commercial",
        /// Operator of critical infrastructure.
        CriticalInfrastructure = "critical-infrastructure",
        /// A civil government body.
        Government = "government",
        /// Police and other law enforcement.
        LawEnforcement = "law-enforcement",
        /// Armed forces.
        Military = "military",
        /// Schools and universities.
        Education = "education",
        /// Hospitals and care.
        Healthcare = "healthcare",
        /// Anything else (the end-use text says what).
        Other = "other",
    }
}

text_enum! {
    /// What the items will be used for.
    pub enum EndUseCategory {
        /// Physical access control to premises (1:1 against enrolled staff).
        AccessControl = "access-control",
        /// Time and attendance.
        TimeAttendance = "time-attendance",
        /// Border and travel-document control.
        BorderControl = "border-control",
        /// Identifying persons for law enforcement.
        LawEnforcementIdentification = "law-enforcement-identification",
        /// Surveillance of publicly accessible spaces.
        PublicSpaceSurveillance = "public-space-surveillance",
        /// Anything else (the end-use text says what).
        Other = "other",
    }
}

text_enum! {
    /// A restricted-party list screened.
    pub enum ScreeningList {
        /// BIS Entity List (15 CFR Part 744 Supp. 4).
        EntityList = "entity-list",
        /// BIS Unverified List (15 CFR Part 744 Supp. 6).
        UnverifiedList = "unverified-list",
        /// BIS Military End-User List (15 CFR Part 744 Supp. 7).
        MeuList = "meu-list",
        /// BIS Denied Persons List.
        DeniedPersons = "denied-persons-list",
        /// OFAC Specially Designated Nationals list (31 CFR Chapter V).
        SdnList = "sdn-list",
        /// EU consolidated financial sanctions list.
        EuSanctions = "eu-sanctions",
    }
}

text_enum! {
    /// What screening a list found.
    pub enum ScreeningResult {
        /// No hit.
        Clear = "clear",
        /// A possible hit, resolved as a different party (the basis is recorded elsewhere).
        FalsePositiveResolved = "false-positive-resolved",
        /// A hit.
        Match = "match",
    }
}

text_enum! {
    /// The legal basis a transaction is exported under.
    pub enum LicenceBasis {
        /// No licence required (NLR).
        NoLicenceRequired = "no-licence-required",
        /// A US licence exception (e.g. ENC, 15 CFR §740.17).
        LicenceException = "licence-exception",
        /// An individual licence.
        IndividualLicence = "individual-licence",
        /// A Union general export authorisation (Regulation (EU) 2021/821 Annex II).
        EuGeneralAuthorisation = "eu-general-authorisation",
        /// A national general export authorisation of a member state.
        NationalGeneralAuthorisation = "national-general-authorisation",
    }
}

/// One item line of an export decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// The firmware build the devices run.
    pub build: EntryRef,
    /// How many devices.
    pub quantity: u64,
    /// SHA-256 of the list of serial numbers.
    pub serials_sha256: Sha256Hex,
}

/// A party to the transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// Its name.
    pub name: String,
    /// Its country (ISO 3166-1 alpha-2).
    pub country: String,
}

/// The end user and what kind of body it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndUser {
    /// Its name.
    pub name: String,
    /// Its country (ISO 3166-1 alpha-2).
    pub country: String,
    /// Its sector.
    pub sector: Sector,
    /// Whether it is a government body.
    pub government: bool,
    /// Whether it is (or acts for) police, military or other security forces.
    pub security_forces: bool,
}

/// The stated end use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndUse {
    /// The category.
    pub category: EndUseCategory,
    /// The end user's statement of it, in words.
    pub description: String,
}

/// One restricted-party list screened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Screening {
    /// The list.
    pub list: ScreeningList,
    /// When the parties were screened against it.
    pub screened_at: Timestamp,
    /// What it found.
    pub result: ScreeningResult,
}

/// A licence (or the basis for needing none) in one jurisdiction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Licence {
    /// The regime.
    pub jurisdiction: Jurisdiction,
    /// The basis.
    pub basis: LicenceBasis,
    /// The licence or authorisation number, or the licence exception's symbol (e.g. `ENC`).
    #[serde(default)]
    pub number: Option<String>,
    /// When it expires.
    #[serde(default)]
    pub expires: Option<Timestamp>,
    /// The destinations it covers (ISO 3166-1 alpha-2).
    #[serde(default)]
    pub destinations: Vec<String>,
    /// The end uses it covers.
    #[serde(default)]
    pub end_uses: Vec<EndUseCategory>,
    /// The most devices it covers.
    #[serde(default)]
    pub quantity: Option<u64>,
    /// Its conditions.
    #[serde(default)]
    pub conditions: Vec<LicenceCondition>,
}

/// One condition of a licence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceCondition {
    /// The condition as written.
    pub text: String,
    /// Days after each shipment within which a post-shipment end-use check is required.
    #[serde(default)]
    pub end_use_check_within_days: Option<u64>,
}

/// A notification to the competent authority under Regulation (EU) 2021/821 Art. 5(2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Art5Notification {
    /// The authority notified (e.g. `BAFA`).
    pub authority: String,
    /// When.
    pub notified_at: Timestamp,
    /// Its reference.
    pub reference: String,
}

/// One approval of the decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The approver's role (e.g. `export control officer`).
    pub role: String,
    /// The approver's name.
    pub name: String,
    /// When they approved.
    pub approved_at: Timestamp,
}

/// One export transaction as decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportDecision {
    /// The decision's id in the exporter's register.
    pub decision_id: String,
    /// When it was decided.
    pub decided_at: Timestamp,
    /// What is exported.
    pub items: Vec<Item>,
    /// The destination country (ISO 3166-1 alpha-2).
    pub destination: String,
    /// Who receives the goods.
    pub consignee: Party,
    /// Who uses them.
    pub end_user: EndUser,
    /// What for.
    pub end_use: EndUse,
    /// SHA-256 of the signed end-user statement.
    pub end_user_statement_sha256: Sha256Hex,
    /// Restricted-party screening.
    #[serde(default)]
    pub screening: Vec<Screening>,
    /// The licences (one per jurisdiction whose rules apply).
    pub licences: Vec<Licence>,
    /// The Art. 5(2) notification, if one was made.
    #[serde(default)]
    pub art5_notification: Option<Art5Notification>,
    /// Why no Art. 5(2) notification was made, where none was.
    #[serde(default)]
    pub no_art5_notification_reason: Option<String>,
    /// Human-rights due-diligence assessments the decision rests on.
    #[serde(default)]
    pub due_diligence: Vec<EntryRef>,
    /// Who approved it.
    pub approvals: Vec<Approval>,
    /// The record of this decision that this one amends (same `decision_id`).
    #[serde(default)]
    pub supersedes: Option<EntryRef>,
}

impl ExportDecision {
    /// The total quantity of its items (saturating).
    pub fn quantity(&self) -> u64 {
        self.items
            .iter()
            .fold(0u64, |a, i| a.saturating_add(i.quantity))
    }
}

impl Kind for ExportDecision {
    const KIND: &'static str = "export-decision";

    fn validate(&self, p: &mut Problems) {
        p.text("decision_id", &self.decision_id, 200);
        p.check(
            !self.items.is_empty(),
            "items",
            "must list at least one item",
        );
        for (i, it) in self.items.iter().enumerate() {
            p.check(
                it.quantity > 0,
                format!("items[{i}].quantity"),
                "must be > 0",
            );
        }
        p.unique("items", &self.items, |i| i.build);
        country(p, "destination", &self.destination);
        p.text("consignee.name", &self.consignee.name, 200);
        country(p, "consignee.country", &self.consignee.country);
        p.text("end_user.name", &self.end_user.name, 200);
        country(p, "end_user.country", &self.end_user.country);
        p.text("end_use.description", &self.end_use.description, 2000);
        p.unique("screening", &self.screening, |s| s.list);
        p.check(
            !self.licences.is_empty(),
            "licences",
            "must list at least one licence or basis (no-licence-required is one)",
        );
        for (i, l) in self.licences.iter().enumerate() {
            let at = format!("licences[{i}]");
            p.opt_text(&format!("{at}.number"), l.number.as_deref(), 200);
            let needs_number = !matches!(l.basis, LicenceBasis::NoLicenceRequired);
            p.check(
                l.number.is_some() || !needs_number,
                format!("{at}.number"),
                format!("required for basis {}", l.basis),
            );
            if l.basis == LicenceBasis::IndividualLicence {
                p.check(
                    l.expires.is_some(),
                    format!("{at}.expires"),
                    "required for an individual licence",
                );
                p.check(
                    !l.destinations.is_empty(),
                    format!("{at}.destinations"),
                    "an individual licence must list the destinations it covers",
                );
            }
            for (k, d) in l.destinations.iter().enumerate() {
                country(p, &format!("{at}.destinations[{k}]"), d);
            }
            p.unique(
                &format!("{at}.destinations"),
                &l.destinations,
                String::as_str,
            );
            p.unique(&format!("{at}.end_uses"), &l.end_uses, |u| *u);
            for (k, c) in l.conditions.iter().enumerate() {
                p.text(&format!("{at}.conditions[{k}].text"), &c.text, 2000);
                p.check(
                    c.end_use_check_within_days != Some(0),
                    format!("{at}.conditions[{k}].end_use_check_within_days"),
                    "must be > 0",
                );
            }
        }
        p.unique("licences", &self.licences, |l| l.jurisdiction);
        if let Some(n) = &self.art5_notification {
            p.text("art5_notification.authority", &n.authority, 200);
            p.text("art5_notification.reference", &n.reference, 200);
            p.check(
                self.no_art5_notification_reason.is_none(),
                "no_art5_notification_reason",
                "must be absent when art5_notification is given",
            );
        }
        p.opt_text(
            "no_art5_notification_reason",
            self.no_art5_notification_reason.as_deref(),
            2000,
        );
        p.unique("due_diligence", &self.due_diligence, |d| *d);
        p.check(
            !self.approvals.is_empty(),
            "approvals",
            "must list at least one approval",
        );
        for (i, a) in self.approvals.iter().enumerate() {
            p.text(&format!("approvals[{i}].role"), &a.role, 200);
            p.text(&format!("approvals[{i}].name"), &a.name, 200);
        }
    }

    fn references(&self) -> Vec<Reference> {
        let items = self.items.iter().enumerate().map(|(i, it)| Reference {
            path: format!("items[{i}].build"),
            entry: it.build.0,
            kinds: &[FirmwareBuild::KIND],
        });
        let dd = self
            .due_diligence
            .iter()
            .enumerate()
            .map(|(i, d)| Reference {
                path: format!("due_diligence[{i}]"),
                entry: d.0,
                kinds: &["hr-due-diligence"],
            });
        let sup = self.supersedes.iter().map(|s| Reference {
            path: "supersedes".into(),
            entry: s.0,
            kinds: &[ExportDecision::KIND],
        });
        items.chain(dd).chain(sup).collect()
    }

    fn summary(&self) -> String {
        format!(
            "export decision {}: {} device(s) to {} for {} ({})",
            self.decision_id,
            self.quantity(),
            self.destination,
            self.end_user.name,
            self.end_use.category
        )
    }

    fn render(&self) -> String {
        super::render_fields("export-decision", self)
    }
}

fn country(p: &mut Problems, path: &str, s: &str) {
    p.check(
        is_country(s),
        path,
        "must be an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. DE)",
    );
}

/// One consignment executing an export decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shipment {
    /// The export decision it executes.
    pub decision: EntryRef,
    /// When it left, as the exporter writes it (rules compare the entry's log time too).
    pub shipped_at: Timestamp,
    /// How many devices.
    pub quantity: u64,
    /// SHA-256 of the list of serial numbers shipped.
    pub serials_sha256: Sha256Hex,
    /// The carrier.
    pub carrier: String,
    /// SHA-256 of the transport document (air waybill, bill of lading).
    pub transport_document_sha256: Sha256Hex,
}

impl Kind for Shipment {
    const KIND: &'static str = "shipment";

    fn validate(&self, p: &mut Problems) {
        p.check(self.quantity > 0, "quantity", "must be > 0");
        p.text("carrier", &self.carrier, 200);
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
            "shipment of {} device(s) by {} at {}",
            self.quantity, self.carrier, self.shipped_at
        )
    }

    fn render(&self) -> String {
        super::render_fields("shipment", self)
    }
}

#[cfg(test)]
mod tests {
    use super::{Jurisdiction, control_entry_ok};

    #[test]
    fn control_entries_by_jurisdiction() {
        for ok in ["EAR99", "5A992", "5A992.c", "3A981", "5D002.c.1"] {
            assert!(control_entry_ok(Jurisdiction::Us, ok), "{ok}");
        }
        for bad in [
            "ear99",
            "5a992",
            "5A99",
            "5F992",
            "5A992.",
            "5A992.C",
            "not listed",
        ] {
            assert!(!control_entry_ok(Jurisdiction::Us, bad), "{bad}");
        }
        assert!(control_entry_ok(Jurisdiction::Eu, "not listed"));
        assert!(control_entry_ok(Jurisdiction::Eu, "5A002.a"));
        assert!(!control_entry_ok(Jurisdiction::Eu, "EAR99"));
    }
}
