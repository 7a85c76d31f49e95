//! `privacy-design-backed` (`specs/policy.md`): a claim's `privacy-design` assertions must agree
//! with the privacy defaults recorded in every firmware build the claim covers.
//!
//! What it shows is agreement with the signed build record (`privacy_defaults`, signed by the
//! role the trust file accepts for firmware builds), not a third-party audit of the firmware.

use super::{PolicyView, check, compare};
use crate::evidence::{Assertion, AssertionType, Claim, Comparator, PrivacyDefaults};
use crate::verify::Check;
use crate::verify::policy::profile::Rule;

/// The privacy defaults a firmware build records, as an assertion's `metric` names them.
pub const PRIVACY_METRICS: &[&str] = &[
    "template_only_storage",
    "on_device_matching",
    "raw_images_retained",
    "template_retention_days",
];

/// A build's value for `metric`: booleans as 0 or 1; `template_retention_days` as its days,
/// or `None` for no limit.
fn value_of(d: &PrivacyDefaults, metric: &str) -> Option<Option<u64>> {
    match metric {
        "template_only_storage" => Some(Some(u64::from(d.template_only_storage))),
        "on_device_matching" => Some(Some(u64::from(d.on_device_matching))),
        "raw_images_retained" => Some(Some(u64::from(d.raw_images_retained))),
        "template_retention_days" => Some(d.template_retention_days.map(u64::from)),
        _ => None,
    }
}

/// Whether a build's value meets the assertion; no limit meets only a lower bound.
fn meets(actual: Option<u64>, cmp: Comparator, value: u64) -> bool {
    match actual {
        Some(v) => compare(v, cmp, value),
        None => matches!(cmp, Comparator::Ge | Comparator::Gt),
    }
}

fn show(actual: Option<u64>) -> String {
    actual.map_or_else(|| "no limit".to_owned(), |v| v.to_string())
}

/// Why the assertion's shape gives nothing to compare, if it does not.
fn shape_problem(a: &Assertion) -> Option<String> {
    let (Some(metric), Some(cmp), Some(value)) = (&a.metric, a.comparator, a.value) else {
        return Some(format!(
            "it names no privacy default to compare with the builds: give metric (one of {}), comparator and value, e.g. metric = \"template_only_storage\", comparator = \"eq\", value = 1",
            PRIVACY_METRICS.join(", ")
        ));
    };
    if !PRIVACY_METRICS.contains(&metric.as_str()) {
        return Some(format!(
            "metric {metric} is not a privacy default a firmware build records ({})",
            PRIVACY_METRICS.join(", ")
        ));
    }
    if metric != "template_retention_days" && (cmp != Comparator::Eq || value > 1) {
        return Some(format!(
            "{metric} is true or false: write comparator = \"eq\" and value = 1 (true) or 0 (false)"
        ));
    }
    None
}

/// The rule: one check per `privacy-design` assertion of each claim.
pub(super) fn privacy_design(rule: &Rule, view: &PolicyView<'_>, out: &mut Vec<Check>) {
    for (ce, claim) in view.claims() {
        for (ai, a) in claim.assertions.iter().enumerate() {
            if a.kind != AssertionType::PrivacyDesign {
                continue;
            }
            let problems = problems(view, claim, a);
            let says = format!("claim {:?} asserts {}", claim.claim_id, asserted(a));
            let ok = problems.is_empty();
            let message = if ok {
                format!(
                    "{says}; every firmware build it covers records that privacy default ({} build{})",
                    claim.applies_to.builds.len(),
                    if claim.applies_to.builds.len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                )
            } else {
                format!("{says}; but {}", problems.join("; "))
            };
            out.push(check(
                rule,
                ce.index,
                Some(format!("assertions[{ai}]")),
                ok,
                message,
            ));
        }
    }
}

fn asserted(a: &Assertion) -> String {
    match (&a.metric, a.comparator, a.value) {
        (Some(m), Some(c), Some(v)) => format!("{m} {} {v}", c.symbol()),
        _ => "a privacy design".to_owned(),
    }
}

fn problems(view: &PolicyView<'_>, claim: &Claim, a: &Assertion) -> Vec<String> {
    if let Some(p) = shape_problem(a) {
        return vec![p];
    }
    let (Some(metric), Some(cmp), Some(value)) = (&a.metric, a.comparator, a.value) else {
        return Vec::new();
    };
    let mut p = Vec::new();
    if claim.applies_to.builds.is_empty() {
        p.push(
            "applies_to names no firmware build, so no signed build record shows the design"
                .to_owned(),
        );
    }
    let mut models: Vec<&str> = Vec::new();
    for (bi, b) in claim.applies_to.builds.iter().enumerate() {
        let Some(build) = view.build(&b.0) else {
            p.push(format!(
                "applies_to.builds[{bi}] is not a verified firmware build in the bundle"
            ));
            continue;
        };
        models.extend(build.product.models.iter().map(String::as_str));
        let actual = value_of(&build.privacy_defaults, metric).flatten();
        if !meets(actual, cmp, value) {
            p.push(format!(
                "applies_to.builds[{bi}] ({} {}) records privacy_defaults.{metric} = {}",
                build.product.family,
                build.version,
                show(actual)
            ));
        }
    }
    for (mi, m) in claim.applies_to.models.iter().enumerate() {
        if !models.contains(&m.as_str()) {
            p.push(format!(
                "applies_to.models[{mi}] {m} runs none of the claimed builds, so no build record shows its design"
            ));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::{meets, shape_problem};
    use crate::evidence::{Assertion, AssertionType, Comparator};

    fn asserting(metric: Option<&str>, cmp: Comparator, value: u64) -> Assertion {
        // Decoded like a payload, so fields other than these keep their defaults.
        let bare: Assertion = serde_json::from_value(serde_json::json!({
            "type": AssertionType::PrivacyDesign.as_str()
        }))
        .expect("an assertion needs only its type");
        Assertion {
            metric: metric.map(str::to_owned),
            comparator: metric.map(|_| cmp),
            value: metric.map(|_| value),
            ..bare
        }
    }

    #[test]
    fn no_limit_meets_only_a_lower_bound() {
        assert!(!meets(None, Comparator::Le, 30));
        assert!(!meets(None, Comparator::Eq, 30));
        assert!(meets(None, Comparator::Ge, 30));
        assert!(meets(Some(30), Comparator::Le, 30));
        assert!(!meets(Some(31), Comparator::Le, 30));
    }

    #[test]
    fn an_assertion_must_name_a_recorded_default_in_its_unit() {
        assert!(
            shape_problem(&asserting(Some("template_only_storage"), Comparator::Eq, 1)).is_none()
        );
        assert!(
            shape_problem(&asserting(None, Comparator::Eq, 1))
                .unwrap()
                .starts_with("it names no privacy default")
        );
        assert!(
            shape_problem(&asserting(Some("encrypted_at_rest"), Comparator::Eq, 1))
                .unwrap()
                .starts_with("metric encrypted_at_rest is not a privacy default")
        );
        assert!(
            shape_problem(&asserting(Some("on_device_matching"), Comparator::Ge, 1))
                .unwrap()
                .contains("is true or false")
        );
        assert!(
            shape_problem(&asserting(Some("raw_images_retained"), Comparator::Eq, 2)).is_some()
        );
        assert!(
            shape_problem(&asserting(
                Some("template_retention_days"),
                Comparator::Le,
                30
            ))
            .is_none()
        );
    }
}
