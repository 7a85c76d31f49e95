//! Incident rules as the laws define them: staged reports by deadline (`incident-report`, for
//! CRA Art. 14 and GDPR Art. 33 and 34) and the duty to document a breach (`incident-documented`,
//! GDPR Art. 33(5)). `specs/policy.md`, "incident-report" and "incident-documented".
//!
//! An incident is re-recorded as the response unfolds, so the rules judge each incident once,
//! over all the bundle's records with its `incident_id`: the latest record (highest log index)
//! says what the incident is, and a report counts from the first verified record that shows it.

mod report;

pub(super) use report::report;

use serde::Deserialize;

use super::{Check, PolicyEntry, PolicyView, Rule, Severity, check};
use crate::evidence::{
    GdprRole, Incident, IncidentType, Notification, NotificationStage, Recipient,
    Severity as IncidentSeverity,
};
use crate::time::{add_months, parse_rfc3339};

use super::profile::{DeadlineClock, MAX_DEADLINE_HOURS};

/// The member states of the European Union, as ISO 3166-1 alpha-2 codes (Greece is `GR`).
const EU: [&str; 27] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
];

/// The EEA states outside the EU.
const EEA_ONLY: [&str; 3] = ["IS", "LI", "NO"];

/// The largest `deadline_months` a profile may set: 100 years, as for hours.
const MAX_DEADLINE_MONTHS: u32 = 1200;

/// The codes a profile's region stands for: `EU` is `EU` and its member states, `EEA` is `EEA`,
/// `EU`, the EU member states, Iceland, Liechtenstein and Norway; any other code only itself.
pub fn region_group(region: &str) -> Vec<&str> {
    match region {
        "EU" => std::iter::once("EU").chain(EU).collect(),
        "EEA" => ["EEA", "EU"]
            .into_iter()
            .chain(EU)
            .chain(EEA_ONLY)
            .collect(),
        r => vec![r],
    }
}

/// Whether any of an incident's regions is among a profile's regions, groups expanded.
pub(super) fn regions_match(profile: &[String], incident: &[String]) -> bool {
    profile.iter().any(|p| {
        region_group(p)
            .iter()
            .any(|r| incident.iter().any(|i| i == r))
    })
}

/// Which incidents a rule applies to. Every condition given must hold.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentScope {
    /// Incident types (empty: any).
    #[serde(default)]
    pub types: Vec<IncidentType>,
    /// Only incidents the maker became aware of at or after this time (RFC 3339), e.g. the
    /// date a law applies from.
    #[serde(default, deserialize_with = "opt_time")]
    pub aware_from: Option<i64>,
    /// Only incidents at least this severe.
    #[serde(default)]
    pub min_severity: Option<IncidentSeverity>,
    /// Only vulnerabilities known to be actively exploited; a record that does not say fails.
    #[serde(default)]
    pub actively_exploited: bool,
    /// Only incidents concerning personal data (`affected.subjects > 0` or data categories).
    #[serde(default)]
    pub personal_data: bool,
    /// Only incidents where the maker has one of these GDPR roles (empty: any); a record that
    /// does not say is the controller's.
    #[serde(default)]
    pub gdpr_roles: Vec<GdprRole>,
    /// Only incidents affecting one of these regions (empty: any); `EU` and `EEA` stand for
    /// their member states.
    #[serde(default)]
    pub regions: Vec<String>,
}

fn opt_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let s = String::deserialize(d)?;
    parse_rfc3339(&s)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(e.to_string()))
}

/// What a report's deadline counts from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CountedFrom {
    /// The incident's `aware_at`.
    #[default]
    AwareAt,
    /// `remediation.available_at`: when a corrective or mitigating measure became available.
    RemediationAvailable,
    /// The first matching report of stage `notification`.
    NotificationSent,
}

/// `incident-report`: each incident in scope shows a report of `stage` to one of `recipients`
/// within the deadline.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentReport {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
    /// Which incidents it applies to.
    #[serde(default)]
    pub scope: IncidentScope,
    /// The stage of report required; a notification that gives no stage is a `notification`.
    pub stage: NotificationStage,
    /// Who it must go to (empty: anyone).
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// Notification regimes that count (empty: any); a notification that names no recipient
    /// counts only when its regime is listed here.
    #[serde(default)]
    pub regimes: Vec<String>,
    /// Deadline in hours after `counted_from`.
    #[serde(default)]
    pub deadline_hours: Option<u64>,
    /// Deadline in calendar months after `counted_from`.
    #[serde(default)]
    pub deadline_months: Option<u32>,
    /// What the deadline counts from.
    #[serde(default)]
    pub counted_from: CountedFrom,
    /// Whether a recorded `no_notification_reason` satisfies the rule.
    #[serde(default)]
    pub accept_reason: bool,
    /// A late report that gives `delay_reasons`: fail, or pass with a note.
    #[serde(default)]
    pub on_late_with_reasons: Severity,
    /// Which time the deadline is checked against.
    #[serde(default)]
    pub clock: DeadlineClock,
}

/// `incident-documented`: each incident in scope documents its facts, effects and remedial action.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentDocumented {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
    /// Which incidents it applies to.
    #[serde(default)]
    pub scope: IncidentScope,
}

impl IncidentReport {
    /// Checks the parameters serde cannot.
    ///
    /// # Errors
    /// `<field>: <why>`, for the caller to prefix with the rule's place.
    pub(super) fn check(&self) -> Result<(), String> {
        match (self.deadline_hours, self.deadline_months) {
            (None, None) | (Some(_), Some(_)) => {
                return Err(
                    "deadline_hours: give exactly one of deadline_hours and deadline_months".into(),
                );
            }
            (Some(h), None) if h > MAX_DEADLINE_HOURS => {
                return Err(format!(
                    "deadline_hours: {h} exceeds the limit of {MAX_DEADLINE_HOURS} hours (100 years)"
                ));
            }
            (None, Some(m)) if m > MAX_DEADLINE_MONTHS => {
                return Err(format!(
                    "deadline_months: {m} exceeds the limit of {MAX_DEADLINE_MONTHS} months (100 years)"
                ));
            }
            _ => {}
        }
        if self.counted_from == CountedFrom::NotificationSent
            && self.stage == NotificationStage::Notification
        {
            return Err("counted_from: a notification's deadline cannot count from itself; use \"aware-at\"".into());
        }
        for (i, r) in self.regimes.iter().enumerate() {
            if r.is_empty() || !r.chars().all(|c| c.is_ascii_graphic()) {
                return Err(format!(
                    "regimes[{i}]: must be a name without white space such as CRA-Art14"
                ));
            }
        }
        Ok(())
    }

    /// The deadline after `from`, saturating at the ends of the time range.
    fn deadline(&self, from: i64) -> i64 {
        match (self.deadline_hours, self.deadline_months) {
            (Some(h), _) => {
                from.saturating_add(i64::try_from(h).unwrap_or(i64::MAX).saturating_mul(3600))
            }
            // Beyond the calendar's range, a month is read as its longest, 31 days.
            (None, Some(m)) => add_months(from, m)
                .unwrap_or_else(|| from.saturating_add(i64::from(m).saturating_mul(31 * 86_400))),
            (None, None) => from,
        }
    }

    /// The deadline in words, e.g. `24 h` or `1 month`.
    fn span(&self) -> String {
        match (self.deadline_hours, self.deadline_months) {
            (Some(h), _) => format!("{h} h"),
            (None, Some(1)) => "1 month".into(),
            (None, Some(m)) => format!("{m} months"),
            (None, None) => "0 h".into(),
        }
    }

    /// Whether a notification is one of the reports this rule asks for, at `stage`.
    fn matches(&self, n: &Notification, stage: NotificationStage) -> bool {
        let its_stage = n.stage.unwrap_or(NotificationStage::Notification);
        let regime_ok = self.regimes.is_empty() || self.regimes.contains(&n.regime);
        let recipient_ok = match n.recipient {
            Some(r) => self.recipients.is_empty() || self.recipients.contains(&r),
            // Records made before `recipient` existed name the recipient by the regime only.
            None => self.recipients.is_empty() || !self.regimes.is_empty(),
        };
        its_stage == stage && regime_ok && recipient_ok
    }

    /// What is required, in words: `early warning to the CSIRT designated as coordinator`.
    fn what(&self) -> String {
        format!("{}{}", stage_words(self.stage), self.to())
    }

    /// ` to <recipients>`, or nothing when any recipient counts.
    fn to(&self) -> String {
        if self.recipients.is_empty() {
            return String::new();
        }
        let names: Vec<&str> = self
            .recipients
            .iter()
            .map(|r| recipient_words(*r))
            .collect();
        format!(" to {}", names.join(" or "))
    }
}

fn stage_words(s: NotificationStage) -> &'static str {
    match s {
        NotificationStage::EarlyWarning => "early warning",
        NotificationStage::Notification => "notification",
        NotificationStage::IntermediateReport => "intermediate report",
        NotificationStage::FinalReport => "final report",
        NotificationStage::Supplement => "supplementary information",
        NotificationStage::Communication => "communication",
    }
}

fn recipient_words(r: Recipient) -> &'static str {
    match r {
        Recipient::CsirtCoordinator => {
            "the CSIRT designated as coordinator (and ENISA, through the single reporting platform)"
        }
        Recipient::SupervisoryAuthority => "the supervisory authority",
        Recipient::Controller => "the controller",
        Recipient::DataSubjects => "the data subjects",
        Recipient::Users => "the product's users",
        Recipient::Other => "another recipient",
    }
}

fn severity_rank(s: IncidentSeverity) -> u8 {
    match s {
        IncidentSeverity::Low => 0,
        IncidentSeverity::Medium => 1,
        IncidentSeverity::High => 2,
        IncidentSeverity::Critical => 3,
    }
}

/// One incident: all the bundle's records with its id, in log order.
struct Records<'v, 'a> {
    all: Vec<(&'v PolicyEntry<'a>, &'a Incident)>,
}

impl<'v, 'a> Records<'v, 'a> {
    /// The latest record: what the incident is now.
    fn latest(&self) -> (&'v PolicyEntry<'a>, &'a Incident) {
        // A group is made from at least one record.
        self.all[self.all.len() - 1]
    }

    /// Verified records, in log order.
    fn verified(&self) -> impl Iterator<Item = (&'v PolicyEntry<'a>, &'a Incident)> + '_ {
        self.all.iter().copied().filter(|(e, _)| e.role.is_some())
    }
}

fn grouped<'v, 'a>(view: &'v PolicyView<'a>) -> Vec<Records<'v, 'a>> {
    let mut all: Vec<(&'v PolicyEntry<'a>, &'a Incident)> = view.incidents().collect();
    all.sort_by_key(|(e, _)| e.index);
    let mut groups: Vec<Records<'v, 'a>> = Vec::new();
    // Each record finds its group by one lookup of its incident id, not a pass over the groups
    // (`specs/verification.md`, "Cost"); groups keep the order of their first record.
    let mut by_id: std::collections::HashMap<&'a str, usize> = std::collections::HashMap::new();
    for (e, inc) in all {
        match by_id.get(inc.incident_id.as_str()) {
            Some(&g) => groups[g].all.push((e, inc)),
            None => {
                by_id.insert(inc.incident_id.as_str(), groups.len());
                groups.push(Records {
                    all: vec![(e, inc)],
                });
            }
        }
    }
    groups
}

/// Whether a rule applies to an incident.
enum InScope {
    /// It does not.
    No,
    /// It does; the note says how the record was read, if it needed reading.
    Yes(Option<&'static str>),
    /// The record does not say enough to tell: why, and what to record.
    Unknown(&'static str),
}

fn in_scope(s: &IncidentScope, inc: &Incident) -> InScope {
    let a = &inc.affected;
    if !s.types.is_empty() && !s.types.contains(&inc.kind) {
        return InScope::No;
    }
    if s.aware_from.is_some_and(|from| inc.aware_at.0 < from) {
        return InScope::No;
    }
    if s.min_severity
        .is_some_and(|min| severity_rank(inc.severity) < severity_rank(min))
    {
        return InScope::No;
    }
    if !s.regions.is_empty() && !regions_match(&s.regions, &a.regions) {
        return InScope::No;
    }
    if s.personal_data && a.subjects.unwrap_or(0) == 0 && a.data_categories.is_empty() {
        return InScope::No;
    }
    let mut note = None;
    if !s.gdpr_roles.is_empty() {
        let role = inc.gdpr_role.unwrap_or_else(|| {
            note = Some(" (the record gives no gdpr_role: judged as the controller's breach)");
            GdprRole::Controller
        });
        if !s.gdpr_roles.contains(&role) {
            return InScope::No;
        }
    }
    if s.actively_exploited {
        match inc.actively_exploited {
            Some(true) => {}
            Some(false) => return InScope::No,
            None => {
                return InScope::Unknown(
                    "the record does not say whether the vulnerability is actively exploited, so whether this duty applies cannot be judged: record actively_exploited = true or false",
                );
            }
        }
    }
    InScope::Yes(note)
}

/// Evaluates an `incident-documented` rule.
pub(super) fn documented(
    rule: &Rule,
    r: &IncidentDocumented,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    for g in grouped(view) {
        let (le, inc) = g.latest();
        let head = format!("incident {}", inc.incident_id);
        let note = match in_scope(&r.scope, inc) {
            InScope::No => continue,
            InScope::Unknown(why) => {
                out.push(check(rule, le.index, None, false, format!("{head}: {why}")));
                continue;
            }
            InScope::Yes(note) => note.unwrap_or(""),
        };
        let a = &inc.affected;
        let mut missing = Vec::new();
        if inc.timeline.is_empty() {
            missing.push("the facts as they unfolded (timeline)");
        }
        if a.data_categories.is_empty() {
            missing.push("which personal data were concerned (affected.data_categories)");
        }
        if a.subjects.is_none() {
            missing.push("how many data subjects are concerned (affected.subjects)");
        }
        let remedied =
            inc.remediation.is_some() || inc.timeline.iter().any(|t| t.at >= inc.aware_at);
        if !remedied {
            missing.push(
                "the remedial action taken (a timeline entry at or after aware_at, or remediation)",
            );
        }
        let msg = if missing.is_empty() {
            format!(
                "{head} is documented in the log (entry {}): its facts ({} timeline entries), effects ({}; {} data subjects) and remedial action{note}",
                le.index,
                inc.timeline.len(),
                a.data_categories.join(", "),
                a.subjects.unwrap_or(0)
            )
        } else {
            format!(
                "{head}'s latest record (entry {}) does not document {}: record them in the incident and re-record it{note}",
                le.index,
                missing.join("; ")
            )
        };
        out.push(check(rule, le.index, None, missing.is_empty(), msg));
    }
}

#[cfg(test)]
mod tests {
    use super::region_group;

    #[test]
    fn region_groups_expand() {
        assert_eq!(region_group("EU").len(), 28);
        assert!(region_group("EU").contains(&"DE"));
        assert!(!region_group("EU").contains(&"NO"));
        assert_eq!(region_group("EEA").len(), 32);
        assert!(region_group("EEA").contains(&"NO"));
        assert!(region_group("EEA").contains(&"EU"));
        assert_eq!(region_group("DE"), vec!["DE"]);
        assert_eq!(region_group("US-CA"), vec!["US-CA"]);
    }
}
