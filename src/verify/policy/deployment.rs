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
