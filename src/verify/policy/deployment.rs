//! Regional deployment rules (`specs/policy.md`, "Regional deployments"): biometric retention
//! limits and release or consent (Illinois BIPA 740 ILCS 14/15(a), (b); Texas CUBI §503.001),
//! and the firmware build's own privacy defaults against the region's limit. These rules help
//! check evidence; they are not legal advice.

use serde::Deserialize;

use super::export::NOT_LEGAL_ADVICE;
use super::{PolicyView, Rule, check};
use crate::evidence::{DeploymentRecord, Evidence, RetentionTrigger};
use crate::verify::Check;

/// `biometric-retention`: deployments in the regions keep biometric data no longer than a
/// limit, counted from an allowed trigger, with a published schedule and a release if required.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BiometricRetention {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
    /// Regions in scope: ISO 3166-2 codes (`US-IL`) or countries (`US`, every subdivision).
    pub regions: Vec<String>,
    /// The most days biometric data may be kept after the trigger (none: not checked).
    #[serde(default)]
    pub max_days: Option<u64>,
    /// The triggers the limit may count from (empty: any).
    #[serde(default)]
    pub triggers: Vec<RetentionTrigger>,
    /// Whether the retention schedule must be published (its digest recorded).
    #[serde(default)]
    pub require_schedule: bool,
    /// Whether a consent or written-release artefact must be recorded.
    #[serde(default)]
    pub require_consent: bool,
    /// Whether the deployed build's `privacy_defaults.template_retention_days` must be within
    /// `max_days` too.
    #[serde(default)]
    pub check_build_defaults: bool,
}

/// Whether `region` (as deployments write it) is one of `regions`.
pub fn region_in(regions: &[String], d: &DeploymentRecord) -> bool {
    regions.iter().any(|r| *r == d.region || r == d.country())
}

fn deployments<'v>(
    view: &'v PolicyView<'_>,
) -> impl Iterator<Item = (u64, &'v DeploymentRecord)> + 'v {
    view.entries.iter().filter_map(|e| match e.evidence {
        Evidence::DeploymentRecord(d) => Some((e.index, d)),
        _ => None,
    })
}

/// `biometric-retention`.
pub fn biometric_retention(
    rule: &Rule,
    r: &BiometricRetention,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    for (idx, d) in deployments(view) {
        if !region_in(&r.regions, d) {
            continue;
        }
        let mut p = Vec::new();
        let ret = &d.retention;
        if let Some(max) = r.max_days
            && ret.days > max
        {
            p.push(format!(
                "it keeps biometric data {} days after {}, longer than the {max} days allowed",
                ret.days, ret.trigger
            ));
        }
        if !r.triggers.is_empty() && !r.triggers.contains(&ret.trigger) {
            p.push(format!(
                "its retention counts from {}, not from {}",
                ret.trigger,
                r.triggers
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
        if r.require_schedule && ret.schedule_sha256.is_none() {
            p.push("no published retention schedule is recorded".into());
        }
        if r.require_consent && d.legal_basis.consent_sha256.is_none() {
            p.push("no written release (consent artefact) is recorded".into());
        }
        if let (true, Some(max)) = (r.check_build_defaults, r.max_days) {
            match view.build(&d.build.0) {
                None => p.push("the deployed build is not a verified entry of the bundle".into()),
                Some(b) => match b.privacy_defaults.template_retention_days {
                    // Absent: the build keeps templates until they are deleted, with no limit.
                    None => p.push(format!(
                        "the deployed build's privacy defaults set no template retention limit, and the region allows {max} days"
                    )),
                    Some(days) if u64::from(days) > max => p.push(format!(
                        "the deployed build's privacy default keeps templates {days} days, longer than the {max} days allowed"
                    )),
                    Some(_) => {}
                },
            }
        }
        let ok = p.is_empty();
        let msg = if ok {
            let mut held = Vec::new();
            if let Some(max) = r.max_days {
                held.push(format!(
                    "retention {} days after {} is within {max} days",
                    ret.days, ret.trigger
                ));
            }
            if r.require_schedule {
                held.push("a published retention schedule is recorded".into());
            }
            if r.require_consent {
                held.push("a written release (consent artefact) is recorded".into());
            }
            held.join(", ")
        } else {
            p.join("; ")
        };
        out.push(check(
            rule,
            idx,
            Some("retention".into()),
            ok,
            format!(
                "deployment {} in {}: {msg}; {NOT_LEGAL_ADVICE}",
                d.deployment_id, d.region
            ),
        ));
    }
}

/// `gdpr-deployment`: a deployment in the EEA has an Art. 9(2) condition, a DPIA completed
/// before go-live, and a Chapter V mechanism for every country outside the EEA that the data
/// reaches (storage and processors).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GdprDeployment {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
    /// The countries where the GDPR applies (the EEA), as ISO 3166-1 alpha-2 codes.
    pub regions: Vec<String>,
}

/// `gdpr-deployment`: three checks per deployment in scope, at `legal_basis`, `dpia` and
/// `transfers`.
pub fn gdpr_deployment(
    rule: &Rule,
    r: &GdprDeployment,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    for (idx, d) in deployments(view) {
        if !region_in(&r.regions, d) {
            continue;
        }
        let at = format!("deployment {} in {}", d.deployment_id, d.region);
        let lb = &d.legal_basis;
        let (ok, msg) = match lb.gdpr_art9 {
            None => (
                false,
                "no GDPR Art. 9(2) condition is recorded for processing biometric data".to_owned(),
            ),
            Some(crate::evidence::Art9Basis::ExplicitConsent) if lb.consent_sha256.is_none() => (
                false,
                "Art. 9(2)(a) explicit consent is the condition, but no consent artefact is recorded"
                    .to_owned(),
            ),
            Some(b) => (true, format!("Art. {b} is the condition")),
        };
        out.push(check(
            rule,
            idx,
            Some("legal_basis".into()),
            ok,
            format!("{at}: {msg}; {NOT_LEGAL_ADVICE}"),
        ));
        let (ok, msg) = match &d.dpia {
            None => (
                false,
                "no DPIA is recorded, and large-scale processing of biometric data needs one (Art. 35(3)(b))".to_owned(),
            ),
            Some(p) if p.completed_at > d.go_live => (
                false,
                format!(
                    "the DPIA was completed at {}, after go-live at {}",
                    p.completed_at, d.go_live
                ),
            ),
            Some(p) => (
                true,
                format!(
                    "the DPIA was completed at {}, before go-live at {} (self-asserted times)",
                    p.completed_at, d.go_live
                ),
            ),
        };
        out.push(check(
            rule,
            idx,
            Some("dpia".into()),
            ok,
            format!("{at}: {msg}"),
        ));
        let mut outside: Vec<&str> = std::iter::once(d.storage_location.as_str())
            .chain(d.processors.iter().map(|p| p.country.as_str()))
            .filter(|c| !r.regions.iter().any(|x| x == c))
            .collect();
        outside.sort_unstable();
        outside.dedup();
        let uncovered: Vec<&str> = outside
            .iter()
            .copied()
            .filter(|c| !d.transfers.iter().any(|t| t.to_country == *c))
            .collect();
        let ok = uncovered.is_empty();
        let msg = if ok {
            if outside.is_empty() {
                "the data stays in the EEA (storage and processors)".to_owned()
            } else {
                format!(
                    "transfers to {} have a Chapter V mechanism",
                    outside.join(", ")
                )
            }
        } else {
            format!(
                "data reaches {} (storage or a processor) with no Chapter V transfer mechanism recorded",
                uncovered.join(", ")
            )
        };
        out.push(check(
            rule,
            idx,
            Some("transfers".into()),
            ok,
            format!("{at}: {msg}"),
        ));
    }
}

/// `cn-face-filing`: a deployment in China holding face data of `threshold_persons` or more
/// persons is filed within `working_days` working days of reaching the threshold.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnFaceFiling {
    /// Rule id.
    pub id: String,
    /// Where the requirement comes from.
    pub citation: String,
    /// Regions in scope (`CN`).
    pub regions: Vec<String>,
    /// The number of persons from which a filing is required.
    pub threshold_persons: u64,
    /// Working days (Monday to Friday) allowed for the filing.
    pub working_days: u64,
    /// Calendar days added to the deadline for public holidays, which the verifier does not know.
    #[serde(default)]
    pub holiday_days: u64,
}

/// The end (last second) of the day `working` working days (Monday to Friday) after the day of
/// `from`, counted from the next day. Unix day 0 (1970-01-01) was a Thursday.
pub fn working_days_after(from: i64, working: u64) -> i64 {
    let mut day = from.div_euclid(86_400);
    let mut left = working;
    while left > 0 {
        day = day.saturating_add(1);
        if (day + 3).rem_euclid(7) < 5 {
            left -= 1;
        }
    }
    day.saturating_mul(86_400).saturating_add(86_399)
}

/// `cn-face-filing`.
pub fn cn_face_filing(rule: &Rule, r: &CnFaceFiling, view: &PolicyView<'_>, out: &mut Vec<Check>) {
    for (idx, d) in deployments(view) {
        if !region_in(&r.regions, d) {
            continue;
        }
        let (ok, msg) = match (d.persons_enrolled, d.threshold_reached_at, &d.cn_filing) {
            (None, _, _) => (
                false,
                "the record does not say how many persons' face data it holds, so the filing threshold cannot be judged".to_owned(),
            ),
            (Some(n), _, _) if n < r.threshold_persons => (
                true,
                format!("it holds face data of {n} persons, below {}: no filing needed", r.threshold_persons),
            ),
            (Some(n), reached, filing) => {
                // Validation requires `threshold_reached_at` from 100 000 persons; a lower
                // profile threshold without it counts from go-live.
                let start = reached.map_or(d.go_live.0, |t| t.0);
                let deadline = working_days_after(start, r.working_days)
                    .saturating_add(i64::try_from(r.holiday_days).unwrap_or(0).saturating_mul(86_400));
                match filing {
                    None => (
                        false,
                        format!("it holds face data of {n} persons and no filing is recorded (due by {})", crate::time::format_rfc3339(deadline)),
                    ),
                    Some(f) if f.filed_at.0 > deadline => (
                        false,
                        format!(
                            "filing {} at {} is later than {} working days after the threshold was reached ({})",
                            f.reference, f.filed_at, r.working_days, crate::time::format_rfc3339(deadline)
                        ),
                    ),
                    Some(f) => (
                        true,
                        format!("filing {} at {}, within {} working days (self-asserted times)", f.reference, f.filed_at, r.working_days),
                    ),
                }
            }
        };
        out.push(check(
            rule,
            idx,
            Some("cn_filing".into()),
            ok,
            format!(
                "deployment {} in {}: {msg}; {NOT_LEGAL_ADVICE}",
                d.deployment_id, d.region
            ),
        ));
    }
}
