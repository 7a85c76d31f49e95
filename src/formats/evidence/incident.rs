//! `incident`: a security or privacy incident and the response to it — what was affected, when
//! the maker knew, whom it notified (e.g. GDPR Art. 33 within 72 hours of awareness), the fix.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::types::text_enum;
use super::{EntryRef, FileField, FirmwareBuild, Kind, Problems, Reference, Sha256Hex, Timestamp};

/// An incident record, signed by product / legal and re-recorded as the response unfolds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// The incident's id in the maker's register, e.g. `AUR-2026-014`.
    pub incident_id: String,
    /// What kind of incident it is (`type` in input and payloads).
    #[serde(rename = "type")]
    pub kind: IncidentType,
    /// A short title.
    pub title: String,
    /// When the problem was first detected.
    pub detected_at: Timestamp,
    /// When the maker became aware that it is an incident (the GDPR Art. 33 clock starts here).
    pub aware_at: Timestamp,
    /// How bad it is.
    pub severity: Severity,
    /// Whether a vulnerability is known to be actively exploited (CRA Art. 14(1)); absent when
    /// the record does not say.
    #[serde(default)]
    pub actively_exploited: Option<bool>,
    /// The maker's role under the GDPR for the personal data concerned; absent when the record
    /// does not say.
    #[serde(default)]
    pub gdpr_role: Option<GdprRole>,
    /// What it affects.
    pub affected: Affected,
    /// Actions taken, in time order.
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    /// Notifications sent to authorities.
    #[serde(default)]
    pub notifications: Vec<Notification>,
    /// Why an authority was not notified, where the maker decided not to.
    #[serde(default)]
    pub no_notification_reason: Option<String>,
    /// The fix.
    #[serde(default)]
    pub remediation: Option<Remediation>,
    /// When the incident was closed.
    #[serde(default)]
    pub closed_at: Option<Timestamp>,
}

text_enum! {
    /// What kind of incident.
    pub enum IncidentType {
        /// A security vulnerability in a product.
        Vulnerability = "vulnerability",
        /// A personal data breach.
        DataBreach = "data-breach",
        /// Presentation attack detection was bypassed.
        PadBypass = "pad-bypass",
        /// The product malfunctioned.
        Malfunction = "malfunction",
        /// Anything else; the title says what.
        Other = "other",
    }
}

text_enum! {
    /// The maker's role under the GDPR (Regulation (EU) 2016/679 Art. 4(7), 4(8)).
    pub enum GdprRole {
        /// It decides the purposes and means of the processing.
        Controller = "controller",
        /// It processes personal data on behalf of a controller.
        Processor = "processor",
        /// It processes none of the personal data concerned.
        None = "none",
    }
}

text_enum! {
    /// Which report of a staged notification duty a notification is.
    pub enum NotificationStage {
        /// The first, short report (CRA Art. 14(2)(a), 14(4)(a)).
        EarlyWarning = "early-warning",
        /// The notification proper (CRA Art. 14(2)(b), 14(4)(b); GDPR Art. 33(1), 33(2)).
        Notification = "notification",
        /// A report on relevant status updates, when the CSIRT asks for one (CRA Art. 14(6)).
        IntermediateReport = "intermediate-report",
        /// The final report (CRA Art. 14(2)(c), 14(4)(c)).
        FinalReport = "final-report",
        /// Information given in phases after the notification (GDPR Art. 33(4)).
        Supplement = "supplement",
        /// The communication of a breach to the data subjects (GDPR Art. 34).
        Communication = "communication",
    }
}

text_enum! {
    /// Who a notification went to.
    pub enum Recipient {
        /// The CSIRT designated as coordinator, and ENISA, through the single reporting platform
        /// (CRA Art. 14(1), 14(3), 14(7), Art. 16).
        CsirtCoordinator = "csirt-coordinator",
        /// A data protection supervisory authority (GDPR Art. 33(1)).
        SupervisoryAuthority = "supervisory-authority",
        /// The controller, notified by its processor (GDPR Art. 33(2)).
        Controller = "controller",
        /// The data subjects concerned (GDPR Art. 34).
        DataSubjects = "data-subjects",
        /// The users of the product (CRA Art. 14(8)).
        Users = "users",
        /// Anyone else; `authority` says who.
        Other = "other",
    }
}

text_enum! {
    /// How severe an incident is.
    pub enum Severity {
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Critical.
        Critical = "critical",
    }
}

/// What an incident affects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Affected {
    /// `firmware-build` entries affected.
    #[serde(default)]
    pub builds: Vec<EntryRef>,
    /// Device models affected.
    #[serde(default)]
    pub models: Vec<String>,
    /// Regions where devices or data subjects are affected: `EU`, ISO 3166-1 alpha-2 (`DE`) or
    /// ISO 3166-2 (`US-CA`) codes.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Categories of personal data concerned, e.g. `face templates`.
    #[serde(default)]
    pub data_categories: Vec<String>,
    /// How many data subjects are concerned, if known.
    #[serde(default)]
    pub subjects: Option<u64>,
}

/// One action in the response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntry {
    /// When.
    pub at: Timestamp,
    /// What was done.
    pub action: String,
}

/// A notification to an authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    /// The legal regime, a token such as `GDPR-Art33` or `NIS2-Art23`.
    pub regime: String,
    /// The authority notified.
    pub authority: String,
    /// When the notification was sent.
    pub sent_at: Timestamp,
    /// The authority's or the maker's reference for it.
    pub reference: String,
    /// SHA-256 of the authority's receipt.
    #[serde(default)]
    pub receipt_sha256: Option<Sha256Hex>,
    /// Which report of a staged duty this is; absent in records that do not say.
    #[serde(default)]
    pub stage: Option<NotificationStage>,
    /// Who it went to; absent in records that do not say.
    #[serde(default)]
    pub recipient: Option<Recipient>,
    /// Why it was sent later than the law asks, as sent with it (GDPR Art. 33(1), second
    /// subparagraph).
    #[serde(default)]
    pub delay_reasons: Option<String>,
}

/// The fix for an incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remediation {
    /// The `firmware-build` entry that fixes it.
    #[serde(default)]
    pub fix_build: Option<EntryRef>,
    /// The published advisory (id, title or URL).
    #[serde(default)]
    pub advisory: Option<String>,
    /// When a corrective or mitigating measure became available to users (the CRA Art.
    /// 14(2)(c) final report is due 14 days later).
    #[serde(default)]
    pub available_at: Option<Timestamp>,
}

impl Kind for Incident {
    const KIND: &'static str = "incident";
    const FILE_FIELDS: &'static [FileField] = &[FileField {
        at: "notifications[]",
        file: "receipt_file",
        sha256: "receipt_sha256",
        size: None,
    }];

    fn validate(&self, p: &mut Problems) {
        p.text("incident_id", &self.incident_id, 200);
        p.text("title", &self.title, 500);
        p.check(
            self.aware_at >= self.detected_at,
            "aware_at",
            "must not be before detected_at",
        );

        let a = &self.affected;
        p.unique("affected.builds", &a.builds, |b| *b);
        p.texts("affected.models", &a.models, 200);
        for (i, r) in a.regions.iter().enumerate() {
            p.check(
                is_region(r),
                format!("affected.regions[{i}]"),
                "must be an upper-case region code such as EU, DE or US-CA",
            );
        }
        p.unique("affected.regions", &a.regions, |r| r);
        p.texts("affected.data_categories", &a.data_categories, 200);

        for (i, t) in self.timeline.iter().enumerate() {
            p.text(&format!("timeline[{i}].action"), &t.action, 2000);
            if i > 0 && t.at < self.timeline[i - 1].at {
                p.add(
                    format!("timeline[{i}].at"),
                    format!("must not be before timeline[{}].at", i - 1),
                );
            }
        }

        for (i, n) in self.notifications.iter().enumerate() {
            p.check(
                is_token(&n.regime),
                format!("notifications[{i}].regime"),
                "must be a name without white space such as GDPR-Art33 (at most 100 bytes)",
            );
            p.text(&format!("notifications[{i}].authority"), &n.authority, 500);
            p.text(&format!("notifications[{i}].reference"), &n.reference, 500);
            p.check(
                n.sent_at >= self.detected_at,
                format!("notifications[{i}].sent_at"),
                "must not be before detected_at",
            );
            p.opt_text(
                &format!("notifications[{i}].delay_reasons"),
                n.delay_reasons.as_deref(),
                2000,
            );
            p.check(
                n.recipient.is_some() || n.stage.is_none(),
                format!("notifications[{i}].recipient"),
                "is required with stage: say who the report went to (e.g. csirt-coordinator)",
            );
        }
        if let Some(exploited) = self.actively_exploited {
            p.check(
                !exploited
                    || matches!(
                        self.kind,
                        IncidentType::Vulnerability | IncidentType::PadBypass
                    ),
                "actively_exploited",
                "applies to a vulnerability or pad-bypass only; for another type leave it out",
            );
        }
        p.opt_text(
            "no_notification_reason",
            self.no_notification_reason.as_deref(),
            2000,
        );

        if let Some(r) = &self.remediation {
            p.check(
                r.fix_build.is_some() || r.advisory.is_some(),
                "remediation",
                "must give fix_build or advisory (or leave remediation out)",
            );
            p.opt_text("remediation.advisory", r.advisory.as_deref(), 2000);
            if let Some(at) = r.available_at {
                p.check(
                    at >= self.detected_at,
                    "remediation.available_at",
                    "must not be before detected_at",
                );
            }
            if let Some(fix) = &r.fix_build {
                p.check(
                    !a.builds.contains(fix),
                    "remediation.fix_build",
                    "must not be one of affected.builds",
                );
            }
        }
        if let Some(c) = self.closed_at {
            p.check(
                c >= self.aware_at,
                "closed_at",
                "must not be before aware_at",
            );
        }
    }

    fn references(&self) -> Vec<Reference> {
        let mut refs: Vec<Reference> = self
            .affected
            .builds
            .iter()
            .enumerate()
            .map(|(i, b)| Reference {
                path: format!("affected.builds[{i}]"),
                entry: b.0,
                kinds: &[FirmwareBuild::KIND],
            })
            .collect();
        if let Some(fix) = self.remediation.as_ref().and_then(|r| r.fix_build) {
            refs.push(Reference {
                path: "remediation.fix_build".into(),
                entry: fix.0,
                kinds: &[FirmwareBuild::KIND],
            });
        }
        refs
    }

    fn summary(&self) -> String {
        let state = match self.closed_at {
            Some(_) => "closed",
            None => "open",
        };
        format!(
            "incident {} ({}, {}, {state}): {}",
            self.incident_id, self.kind, self.severity, self.title
        )
    }

    fn render(&self) -> String {
        let mut s = String::new();
        let a = &self.affected;
        // Writing to a String cannot fail.
        let _ = writeln!(s, "incident  {}  {}", self.incident_id, self.title);
        let _ = writeln!(s, "  type            {}", self.kind);
        let _ = writeln!(s, "  severity        {}", self.severity);
        if let Some(x) = self.actively_exploited {
            let _ = writeln!(s, "  exploited       {}", if x { "actively" } else { "no" });
        }
        if let Some(r) = self.gdpr_role {
            let _ = writeln!(s, "  GDPR role       {r}");
        }
        let _ = writeln!(s, "  detected at     {}", self.detected_at);
        let _ = writeln!(s, "  aware at        {}", self.aware_at);
        let _ = writeln!(s, "  affected");
        for b in &a.builds {
            let _ = writeln!(s, "    build         {b}");
        }
        for (label, list) in [
            ("models", &a.models),
            ("regions", &a.regions),
            ("data", &a.data_categories),
        ] {
            if !list.is_empty() {
                let _ = writeln!(s, "    {label:<14}{}", list.join(", "));
            }
        }
        if let Some(n) = a.subjects {
            let _ = writeln!(s, "    subjects      {n}");
        }
        for t in &self.timeline {
            let _ = writeln!(s, "  {}  {}", t.at, t.action);
        }
        for n in &self.notifications {
            let receipt = n
                .receipt_sha256
                .map(|h| format!(", receipt sha256 {h}"))
                .unwrap_or_default();
            let stage = n.stage.map(|st| format!(" {st}")).unwrap_or_default();
            let recipient = n.recipient.map(|r| format!(" ({r})")).unwrap_or_default();
            let _ = writeln!(
                s,
                "  notified        {}{stage} to {}{recipient} at {} (ref {}{receipt})",
                n.regime, n.authority, n.sent_at, n.reference
            );
            if let Some(d) = &n.delay_reasons {
                let _ = writeln!(s, "    delay reasons {d}");
            }
        }
        if let Some(r) = &self.no_notification_reason {
            let _ = writeln!(s, "  not notified    {r}");
        }
        if let Some(r) = &self.remediation {
            if let Some(b) = &r.fix_build {
                let _ = writeln!(s, "  fix build       {b}");
            }
            if let Some(adv) = &r.advisory {
                let _ = writeln!(s, "  advisory        {adv}");
            }
            if let Some(at) = r.available_at {
                let _ = writeln!(s, "  fix available   {at}");
            }
        }
        if let Some(c) = self.closed_at {
            let _ = writeln!(s, "  closed at       {c}");
        }
        s
    }
}

/// `EU`, an ISO 3166-1 alpha-2 code, or one with an ISO 3166-2 subdivision (`US-CA`).
fn is_region(r: &str) -> bool {
    let (country, sub) = match r.split_once('-') {
        Some((c, s)) => (c, Some(s)),
        None => (r, None),
    };
    country.len() == 2
        && country.chars().all(|c| c.is_ascii_uppercase())
        && sub.is_none_or(|s| {
            (1..=3).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
}

/// Printable ASCII without white space, 1 to 100 bytes.
fn is_token(s: &str) -> bool {
    (1..=100).contains(&s.len()) && s.chars().all(|c| c.is_ascii_graphic())
}

/// Whether `fix` can be the fix of an incident affecting `affected`: a later build of the same
/// product (`specs/evidence.md`, "incident"). The same product means the same `product.vendor`
/// and `product.family` and at least one model in common; later means a higher
/// `(security_version, build_number)` pair, compared security version first.
///
/// # Errors
/// The first condition that fails, in words fit for a report.
pub fn fix_follows(fix: &FirmwareBuild, affected: &FirmwareBuild) -> Result<(), String> {
    let (f, a) = (&fix.product, &affected.product);
    if f.vendor != a.vendor || f.family != a.family {
        return Err(format!(
            "is a build of {} {}, not of the affected product {} {}",
            f.vendor, f.family, a.vendor, a.family
        ));
    }
    if !f.models.iter().any(|m| a.models.contains(m)) {
        return Err(format!(
            "runs on models {}, none of the affected build's models {}",
            f.models.join(", "),
            a.models.join(", ")
        ));
    }
    let (fv, av) = (
        (fix.security_version, fix.build_number),
        (affected.security_version, affected.build_number),
    );
    if fv <= av {
        return Err(format!(
            "is not later than the affected build: security_version {} build_number {} against {} {}",
            fv.0, fv.1, av.0, av.1
        ));
    }
    Ok(())
}
