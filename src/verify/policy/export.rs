//! Export control and end-use rules (`specs/policy.md`, "Export control"): current
//! classifications, human-rights due diligence before cyber-surveillance-capable exports, the
//! Art. 5(2) catch-all record, screening before shipment by log order, licence coverage, the
//! EAR crime-control licence requirement, record retention, and end-use checks. These rules help
//! check evidence; they are not legal advice.

use serde::Deserialize;

use super::{PolicyEntry, PolicyView, Rule, check, clocked};
use crate::evidence::{
    BiometricFunction, CheckResult, CheckType, ControlReason, DueDiligenceDecision, EndUseCheck,
    Evidence, ExportClassification, ExportDecision, HrDueDiligence, Jurisdiction, LicenceBasis,
    RiskSeverity, ScreeningList, ScreeningResult, Shipment, SurveillanceAssessment,
};
use crate::verify::{Check, Clock};

/// What every report of these rules says about itself.
pub const NOT_LEGAL_ADVICE: &str = "these rules help check evidence; they are not legal advice";

const DAY: i64 = 86_400;

/// `classification-current`: every item of every decision has a classification in the
/// jurisdiction, logged before the decision and valid at the decision.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassificationCurrent {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
    /// The jurisdiction whose classification is required.
    pub jurisdiction: Jurisdiction,
}

/// Which decisions count as cyber-surveillance-capable exports, for the due-diligence and
/// Art. 5 rules.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveillanceScope {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
    /// Biometric functions that put an item in scope (of its EU classification).
    pub functions: Vec<BiometricFunction>,
    /// Cyber-surveillance assessments that put an item in scope.
    pub assessments: Vec<SurveillanceAssessment>,
    /// `hrdd-before-decision` only: the role whose countersignature the assessment needs.
    #[serde(default)]
    pub assessor_role: Option<String>,
}

/// `ear-screening-before-shipment`: the lists screened before each shipment, by log order.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningBeforeShipment {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
    /// The lists every shipment's decision must show screened.
    pub lists: Vec<ScreeningList>,
}

/// `licence-covers`: the decision's licence in a jurisdiction covers destination, quantity and
/// end use, and its shipments.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceCovers {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
    /// The jurisdiction of the licence.
    pub jurisdiction: Jurisdiction,
}

/// `ear-crime-control`: items controlled for CC need an individual licence to destinations the
/// Commerce Country Chart marks in CC Column 1.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrimeControl {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
    /// Destinations marked in CC Column 1 (an excerpt of Supplement No. 1 to 15 CFR Part 738).
    pub cc_column1: Vec<String>,
}

/// `record-retention`: each shipment's records are in the bundle, with the date to keep them to.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRetention {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
    /// Years to keep records after the export.
    pub years: u64,
}

/// `end-use-check-required`: a post-shipment verification within N days where the licence or
/// the assessed risk calls for one.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndUseCheckRequired {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
    /// Days after shipment when the assessed risk calls for a check.
    pub within_days: u64,
    /// Risk severities (in a due-diligence assessment of the end user) that call for one.
    pub risk_severities: Vec<RiskSeverity>,
}

/// `unfavourable-check-blocks`: no decision for an end user after an unfavourable check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnfavourableBlocks {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
}

/// Why an export or deployment rule's parameters cannot be used, if they cannot: a rule that
/// would check nothing is refused rather than read as passing.
pub fn profile_problem(rule: &Rule) -> Option<String> {
    match rule {
        Rule::HrddBeforeDecision(r) | Rule::Art5NotificationRecorded(r)
            if r.functions.is_empty() && r.assessments.is_empty() =>
        {
            Some("functions: name at least one biometric function or assessment that puts an export in scope".into())
        }
        Rule::EarScreeningBeforeShipment(r) if r.lists.is_empty() => {
            Some("lists: name at least one list to screen".into())
        }
        Rule::EndUseCheckRequired(r) if r.within_days == 0 => {
            Some("within_days: must be > 0".into())
        }
        Rule::RecordRetention(r) if r.years == 0 || r.years > 100 => {
            Some("years: must be 1 to 100".into())
        }
        Rule::BiometricRetention(r) => {
            if r.max_days.is_none() && !r.require_schedule && !r.require_consent {
                Some("max_days: set max_days, require_schedule or require_consent: the rule would check nothing".into())
            } else if r.check_build_defaults && r.max_days.is_none() {
                Some("check_build_defaults: needs max_days to compare the build's default with".into())
            } else {
                None
            }
        }
        Rule::CnFaceFiling(r) if r.threshold_persons == 0 || r.working_days == 0 => {
            Some("threshold_persons: threshold_persons and working_days must be > 0".into())
        }
        Rule::GdprDeployment(r) if r.regions.is_empty() => {
            Some("regions: name the countries where the GDPR applies".into())
        }
        _ => None,
    }
}

impl PolicyView<'_> {
    fn of_kind<'v, T: 'v>(
        &'v self,
        pick: impl Fn(&'v Evidence) -> Option<&'v T> + 'v,
    ) -> impl Iterator<Item = (&'v PolicyEntry<'v>, &'v T)> + 'v {
        self.entries
            .iter()
            .filter_map(move |e| pick(e.evidence).map(|x| (e, x)))
    }
}

fn decisions<'v>(
    view: &'v PolicyView<'_>,
) -> impl Iterator<Item = (&'v PolicyEntry<'v>, &'v ExportDecision)> + 'v {
    view.of_kind(|e| match e {
        Evidence::ExportDecision(d) => Some(d),
        _ => None,
    })
}

fn shipments<'v>(
    view: &'v PolicyView<'_>,
) -> impl Iterator<Item = (&'v PolicyEntry<'v>, &'v Shipment)> + 'v {
    view.of_kind(|e| match e {
        Evidence::Shipment(s) => Some(s),
        _ => None,
    })
}

/// Verified classifications of `build` (by entry or by one of its models) in `j`.
fn classifications<'v>(
    view: &'v PolicyView<'_>,
    build: &[u8; 32],
    j: Jurisdiction,
) -> Vec<(&'v PolicyEntry<'v>, &'v ExportClassification)> {
    let models = view
        .build(build)
        .map(|b| b.product.models.clone())
        .unwrap_or_default();
    view.of_kind(|e| match e {
        Evidence::ExportClassification(c) => Some(c),
        _ => None,
    })
    .filter(|(e, c)| {
        e.role.is_some()
            && c.jurisdiction == j
            && (c.build.is_some_and(|b| &b.0 == build)
                || c.model.as_ref().is_some_and(|m| models.contains(m)))
    })
    .collect()
}

fn ts(t: i64) -> String {
    crate::time::format_rfc3339(t)
}

fn witnessed(e: &PolicyEntry<'_>) -> Option<i64> {
    e.witnessed_at.map(|w| i64::try_from(w).unwrap_or(i64::MAX))
}

/// `classification-current`.
pub fn classification_current(
    rule: &Rule,
    r: &ClassificationCurrent,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    for (de, d) in decisions(view) {
        for (i, item) in d.items.iter().enumerate() {
            let found = classifications(view, &item.build.0, r.jurisdiction);
            let current = found
                .iter()
                .find(|(ce, c)| ce.index < de.index && c.valid_until >= d.decided_at);
            let (ok, msg) = match (current, found.first()) {
                (Some((ce, c)), _) => (
                    true,
                    format!(
                        "decision {}: items[{i}] is classified {} {} by entry {}, logged before the decision and valid until {}",
                        d.decision_id, r.jurisdiction, c.control_entry, ce.index, c.valid_until
                    ),
                ),
                (None, Some((ce, c))) => (
                    false,
                    format!(
                        "decision {}: items[{i}] has no current {} classification: entry {} ({}) {}",
                        d.decision_id,
                        r.jurisdiction,
                        ce.index,
                        c.control_entry,
                        if ce.index > de.index {
                            "was logged after the decision".to_owned()
                        } else {
                            format!("expired at {} before the decision", c.valid_until)
                        }
                    ),
                ),
                (None, None) => (
                    false,
                    format!(
                        "decision {}: items[{i}] has no verified {} classification in the bundle",
                        d.decision_id, r.jurisdiction
                    ),
                ),
            };
            out.push(clocked(
                rule,
                de.index,
                Some(format!("items[{i}]")),
                ok,
                Clock::Logged,
                format!("{msg}; {NOT_LEGAL_ADVICE}"),
            ));
        }
    }
}

/// Whether the decision exports a cyber-surveillance-capable item, by its EU classifications;
/// with the reason.
fn in_surveillance_scope(
    view: &PolicyView<'_>,
    r: &SurveillanceScope,
    d: &ExportDecision,
) -> Option<String> {
    d.items.iter().enumerate().find_map(|(i, item)| {
        classifications(view, &item.build.0, Jurisdiction::Eu)
            .into_iter()
            .find_map(|(ce, c)| {
                let f = c
                    .biometric_functions
                    .iter()
                    .find(|f| r.functions.contains(f));
                let a = c
                    .cyber_surveillance
                    .as_ref()
                    .map(|s| s.assessment)
                    .filter(|a| r.assessments.contains(a));
                match (f, a) {
                    (Some(f), _) => Some(format!(
                        "items[{i}] performs {f} (classification entry {})",
                        ce.index
                    )),
                    (None, Some(a)) => Some(format!(
                        "items[{i}] is assessed {a} (classification entry {})",
                        ce.index
                    )),
                    (None, None) => None,
                }
            })
    })
}

fn same_end_user(h: &HrDueDiligence, d: &ExportDecision) -> bool {
    h.scope.end_user == d.end_user.name && h.scope.country == d.end_user.country
}

/// `hrdd-before-decision`.
pub fn hrdd_before_decision(
    rule: &Rule,
    r: &SurveillanceScope,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    let countersigned = |target: [u8; 32], role: &str| {
        view.entries.iter().any(|e| {
            e.role.as_deref() == Some(role)
                && matches!(e.evidence, Evidence::Countersignature(c) if c.target.0 == target)
        })
    };
    for (de, d) in decisions(view) {
        let Some(why) = in_surveillance_scope(view, r, d) else {
            continue;
        };
        let at = witnessed(de).map_or(d.decided_at.0, |w| w.max(d.decided_at.0));
        let mut problems = Vec::new();
        let mut good = None;
        let found: Vec<_> = view
            .of_kind(|e| match e {
                Evidence::HrDueDiligence(h) => Some(h),
                _ => None,
            })
            .filter(|(e, h)| e.role.is_some() && same_end_user(h, d))
            .collect();
        for (he, h) in &found {
            let mut p = Vec::new();
            if he.index > de.index {
                p.push(format!(
                    "assessment {} (entry {}) was logged after the decision (entry {}), whatever its assessed_at says",
                    h.assessment_id, he.index, de.index
                ));
            }
            if h.decision == DueDiligenceDecision::Decline {
                p.push(format!(
                    "assessment {} (entry {}) declined this end use",
                    h.assessment_id, he.index
                ));
            }
            if h.valid_until.0 < at {
                p.push(format!(
                    "assessment {} expired at {}, before the decision ({})",
                    h.assessment_id,
                    h.valid_until,
                    ts(at)
                ));
            }
            if let Some(role) = &r.assessor_role
                && !countersigned(he.entry_hash, role)
            {
                p.push(format!(
                    "assessment {} is not countersigned by a key in role {role}",
                    h.assessment_id
                ));
            }
            if p.is_empty() && he.index < de.index {
                good = Some((he.index, h.assessment_id.as_str()));
            } else {
                problems.extend(p);
            }
        }
        // A declined assessment logged before the decision fails it, even beside a later one
        // that proceeds: the decision went ahead against it.
        let declined_before = found
            .iter()
            .any(|(he, h)| he.index < de.index && h.decision == DueDiligenceDecision::Decline);
        let (ok, msg) = match good {
            Some((idx, id)) if !declined_before => (
                true,
                format!(
                    "{why}; human-rights due diligence {id} (entry {idx}) was logged before the decision, unexpired and not declined"
                ),
            ),
            _ => {
                if found.is_empty() {
                    problems.push(format!(
                        "no human-rights due-diligence assessment of {} ({}) is in the bundle",
                        d.end_user.name, d.end_user.country
                    ));
                }
                (false, format!("{why}; but {}", problems.join("; ")))
            }
        };
        out.push(clocked(
            rule,
            de.index,
            Some("due_diligence".into()),
            ok,
            Clock::Logged,
            format!("decision {}: {msg}", d.decision_id),
        ));
    }
}

/// `art5-notification-recorded`.
pub fn art5_recorded(
    rule: &Rule,
    r: &SurveillanceScope,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    for (de, d) in decisions(view) {
        let Some(why) = in_surveillance_scope(view, r, d) else {
            continue;
        };
        let (ok, msg) = match (&d.art5_notification, &d.no_art5_notification_reason) {
            (Some(n), _) => (
                true,
                format!(
                    "notified {} at {} ({})",
                    n.authority, n.notified_at, n.reference
                ),
            ),
            (None, Some(reason)) => (true, format!("no notification; recorded reason: {reason}")),
            (None, None) => (
                false,
                "neither an Art. 5(2) notification nor the reason for none is recorded".into(),
            ),
        };
        out.push(check(
            rule,
            de.index,
            Some("art5_notification".into()),
            ok,
            format!("decision {}: {why}; {msg}", d.decision_id),
        ));
    }
}

/// The verified records of the decision a shipment executes (the cited one and every record
/// with its `decision_id`), in log order.
fn records<'v>(
    view: &'v PolicyView<'_>,
    cited: &[u8; 32],
) -> Vec<(&'v PolicyEntry<'v>, &'v ExportDecision)> {
    let Some(first) = view.verified(cited).and_then(|e| match e.evidence {
        Evidence::ExportDecision(d) => Some(d),
        _ => None,
    }) else {
        return Vec::new();
    };
    let mut v: Vec<_> = decisions(view)
        .filter(|(e, d)| e.role.is_some() && d.decision_id == first.decision_id)
        .collect();
    v.sort_by_key(|(e, _)| e.index);
    v
}

/// `ear-screening-before-shipment`.
pub fn screening_before_shipment(
    rule: &Rule,
    r: &ScreeningBeforeShipment,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    for (se, s) in shipments(view) {
        let recs = records(view, &s.decision.0);
        let before: Vec<_> = recs.iter().filter(|(e, _)| e.index < se.index).collect();
        let after: Vec<_> = recs.iter().filter(|(e, _)| e.index > se.index).collect();
        let mut problems = Vec::new();
        match before.last() {
            None => problems
                .push("the decision it executes is not a verified entry of the bundle".to_owned()),
            Some((de, d)) => {
                for list in &r.lists {
                    match d.screening.iter().find(|x| x.list == *list) {
                        None => problems.push(format!(
                            "{list} was not screened in the decision's record logged before the shipment (entry {})",
                            de.index
                        )),
                        Some(x) if x.result == ScreeningResult::Match => {
                            problems.push(format!("{list} screening found a match"))
                        }
                        Some(x) if x.screened_at > s.shipped_at => problems.push(format!(
                            "{list} was screened at {}, after shipped_at {}",
                            x.screened_at, s.shipped_at
                        )),
                        Some(_) => {}
                    }
                }
            }
        }
        if !problems.is_empty() {
            for (ae, a) in &after {
                if !a.screening.is_empty() {
                    problems.push(format!(
                        "entry {} lists screening dated {} (signed with iat {}), but it was logged after the shipment record (entry {}), so it cannot show screening before the shipment",
                        ae.index,
                        a.screening
                            .iter()
                            .map(|x| x.screened_at)
                            .min()
                            .map(|t| t.to_string())
                            .unwrap_or_default(),
                        ts(i64::try_from(ae.iat).unwrap_or(i64::MAX)),
                        se.index
                    ));
                }
            }
        }
        let ok = problems.is_empty();
        let msg = if ok {
            format!(
                "{} screened before the shipment, in the decision's record logged before it (log order)",
                r.lists
                    .iter()
                    .map(|l| l.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            problems.join("; ")
        };
        out.push(clocked(
            rule,
            se.index,
            Some("decision".into()),
            ok,
            Clock::Logged,
            format!("shipment of {}: {msg}", s.shipped_at),
        ));
    }
}

/// `licence-covers`.
pub fn licence_covers(rule: &Rule, r: &LicenceCovers, view: &PolicyView<'_>, out: &mut Vec<Check>) {
    for (de, d) in decisions(view) {
        let Some(l) = d.licences.iter().find(|l| l.jurisdiction == r.jurisdiction) else {
            out.push(check(
                rule,
                de.index,
                Some("licences".into()),
                false,
                format!(
                    "decision {}: no {} licence or basis is recorded",
                    d.decision_id, r.jurisdiction
                ),
            ));
            continue;
        };
        let mut p = Vec::new();
        if l.basis == LicenceBasis::IndividualLicence {
            if !l.destinations.contains(&d.destination) {
                p.push(format!("it does not cover destination {}", d.destination));
            }
            if let Some(q) = l.quantity
                && d.quantity() > q
            {
                p.push(format!(
                    "the decision's {} devices exceed its quantity {q}",
                    d.quantity()
                ));
            }
            if !l.end_uses.contains(&d.end_use.category) {
                p.push(format!("it does not cover end use {}", d.end_use.category));
            }
            if let Some(x) = l.expires {
                if x < d.decided_at {
                    p.push(format!("it expired at {x}, before the decision"));
                }
                let shipped: Vec<_> = shipments(view)
                    .filter(|(_, s)| s.decision.0 == de.entry_hash)
                    .collect();
                if let Some(q) = l.quantity {
                    let total = shipped
                        .iter()
                        .fold(0u64, |a, (_, s)| a.saturating_add(s.quantity));
                    if total > q {
                        p.push(format!("its shipments total {total} devices, over {q}"));
                    }
                }
                for (se, s) in shipped {
                    if s.shipped_at > x {
                        p.push(format!("shipment entry {} left after it expired", se.index));
                    }
                }
            }
        }
        let ok = p.is_empty();
        let msg = format!(
            "decision {}: {} {}{}: {}",
            d.decision_id,
            r.jurisdiction,
            l.basis,
            l.number
                .as_ref()
                .map(|n| format!(" {n}"))
                .unwrap_or_default(),
            if ok {
                if l.basis == LicenceBasis::IndividualLicence {
                    "covers the destination, quantity and end use".to_owned()
                } else {
                    "no licence terms to compare (whether a licence is needed is judged by the classification rules)".to_owned()
                }
            } else {
                p.join("; ")
            }
        );
        let i = d
            .licences
            .iter()
            .position(|x| x.jurisdiction == r.jurisdiction)
            .unwrap_or(0);
        out.push(check(
            rule,
            de.index,
            Some(format!("licences[{i}]")),
            ok,
            msg,
        ));
    }
}

/// `ear-crime-control`.
pub fn crime_control(rule: &Rule, r: &CrimeControl, view: &PolicyView<'_>, out: &mut Vec<Check>) {
    for (de, d) in decisions(view) {
        if !r.cc_column1.contains(&d.destination) {
            continue;
        }
        let cc = d.items.iter().enumerate().find_map(|(i, item)| {
            classifications(view, &item.build.0, Jurisdiction::Us)
                .into_iter()
                .find(|(_, c)| c.reasons_for_control.contains(&ControlReason::Cc))
                .map(|(ce, c)| (i, ce.index, c.control_entry.clone()))
        });
        let Some((i, ce, eccn)) = cc else { continue };
        let licensed = d.licences.iter().any(|l| {
            l.jurisdiction == Jurisdiction::Us
                && l.basis == LicenceBasis::IndividualLicence
                && l.destinations.contains(&d.destination)
        });
        out.push(check(
            rule,
            de.index,
            Some("licences".into()),
            licensed,
            format!(
                "decision {}: items[{i}] is {eccn}, controlled for CC (classification entry {ce}), and the Commerce Country Chart marks {} in CC Column 1: {}",
                d.decision_id,
                d.destination,
                if licensed {
                    "a US individual licence covering it is recorded"
                } else {
                    "a US individual licence is required and none covering the destination is recorded"
                }
            ),
        ));
    }
}

/// `record-retention`.
pub fn record_retention(
    rule: &Rule,
    r: &RecordRetention,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    for (se, s) in shipments(view) {
        let until = s.shipped_at.0.saturating_add(
            i64::try_from(r.years)
                .unwrap_or(i64::MAX / DAY)
                .saturating_mul(365 * DAY),
        );
        let held = records(view, &s.decision.0)
            .iter()
            .any(|(e, _)| e.index < se.index);
        let msg = if held {
            format!(
                "keep its records until at least {} ({} years after shipment); the log is append-only and keeps every entry provable against later checkpoints, and this bundle carries the decision, its screening and the shipment record",
                ts(until),
                r.years
            )
        } else {
            "the bundle does not carry the verified decision record the shipment executes, so its records cannot be shown kept".to_owned()
        };
        out.push(check(
            rule,
            se.index,
            Some("decision".into()),
            held,
            format!("shipment of {}: {msg}; {NOT_LEGAL_ADVICE}", s.shipped_at),
        ));
    }
}

fn end_use_checks<'v>(
    view: &'v PolicyView<'_>,
) -> impl Iterator<Item = (&'v PolicyEntry<'v>, &'v EndUseCheck)> + 'v {
    view.of_kind(|e| match e {
        Evidence::EndUseCheck(c) => Some(c),
        _ => None,
    })
    .filter(|(e, _)| e.role.is_some())
}

/// `end-use-check-required`.
pub fn end_use_check_required(
    rule: &Rule,
    r: &EndUseCheckRequired,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    for (se, s) in shipments(view) {
        let recs = records(view, &s.decision.0);
        let Some((_, d)) = recs.iter().rev().find(|(e, _)| e.index < se.index) else {
            continue;
        };
        let by_licence = d
            .licences
            .iter()
            .flat_map(|l| &l.conditions)
            .filter_map(|c| c.end_use_check_within_days)
            .min()
            .map(|n| (n, "a licence condition".to_owned()));
        let by_risk = view
            .of_kind(|e| match e {
                Evidence::HrDueDiligence(h) => Some(h),
                _ => None,
            })
            .filter(|(e, h)| e.role.is_some() && same_end_user(h, d))
            .find_map(|(he, h)| {
                h.risks
                    .iter()
                    .find(|k| r.risk_severities.contains(&k.severity))
                    .map(|k| {
                        (
                            r.within_days,
                            format!(
                                "a {} risk to {} (assessment entry {})",
                                k.severity, k.right, he.index
                            ),
                        )
                    })
            });
        let Some((days, why)) = [by_licence, by_risk]
            .into_iter()
            .flatten()
            .min_by_key(|(n, _)| *n)
        else {
            continue;
        };
        // The deadline runs from the earlier of the stated and the witnessed shipment time.
        let base = witnessed(se).map_or(s.shipped_at.0, |w| w.min(s.shipped_at.0));
        let deadline = base.saturating_add(
            i64::try_from(days)
                .unwrap_or(i64::MAX / DAY)
                .saturating_mul(DAY),
        );
        let ids: Vec<[u8; 32]> = recs.iter().map(|(e, _)| e.entry_hash).collect();
        let done = end_use_checks(view)
            .filter(|(_, c)| c.kind == CheckType::PostShipment && ids.contains(&c.decision.0))
            .map(|(ce, c)| {
                let (t, clock) = witnessed(ce)
                    .map_or((c.performed_at.0, Clock::SelfAsserted), |w| {
                        (w, Clock::Witnessed)
                    });
                (ce.index, t, clock, c.performed_at.0 >= s.shipped_at.0)
            })
            .find(|(_, t, _, after)| *after && *t <= deadline);
        let (ok, clock, msg) = match done {
            Some((idx, t, clock, _)) => (
                true,
                clock,
                format!(
                    "post-shipment verification (entry {idx}) at {} ({} time), within {days} days",
                    ts(t),
                    clock.name()
                ),
            ),
            None => (
                false,
                Clock::SelfAsserted,
                format!(
                    "no post-shipment verification of the decision within {days} days of the shipment (by {})",
                    ts(deadline)
                ),
            ),
        };
        out.push(clocked(
            rule,
            se.index,
            Some("decision".into()),
            ok,
            clock,
            format!(
                "shipment of {}: {why} calls for a check; {msg}",
                s.shipped_at
            ),
        ));
    }
}

/// `unfavourable-check-blocks`.
pub fn unfavourable_blocks(
    rule: &Rule,
    _r: &UnfavourableBlocks,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    for (de, d) in decisions(view) {
        let blocking: Vec<String> = end_use_checks(view)
            .filter(|(ce, c)| c.result == CheckResult::Unfavourable && ce.index < de.index)
            .filter_map(|(ce, c)| {
                let checked = view.verified(&c.decision.0)?;
                match checked.evidence {
                    Evidence::ExportDecision(x)
                        if x.end_user.name == d.end_user.name
                            && x.end_user.country == d.end_user.country =>
                    {
                        Some(format!(
                            "the {} of decision {} (entry {}) was unfavourable",
                            c.kind, x.decision_id, ce.index
                        ))
                    }
                    _ => None,
                }
            })
            .collect();
        let ok = blocking.is_empty();
        let msg = if ok {
            format!(
                "no unfavourable end-use check of {} is logged before this decision (the bundle-complete rule shows none was withheld)",
                d.end_user.name
            )
        } else {
            format!(
                "{}, logged before this decision for the same end user {}",
                blocking.join("; "),
                d.end_user.name
            )
        };
        out.push(clocked(
            rule,
            de.index,
            Some("end_user".into()),
            ok,
            Clock::Logged,
            format!("decision {}: {msg}", d.decision_id),
        ));
    }
}
