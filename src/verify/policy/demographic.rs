//! `demographic-differential-max` (`specs/policy.md`): the results backing a claim's accuracy
//! assertions must show a ratio of the highest to the lowest demographic group rate
//! (ISO/IEC 19795-10:2024 reporting) of at most the profile's bound. Exact integer arithmetic;
//! a floor from the profile stands in for a lower rate, so nothing ever divides by zero.

use super::accuracy::{accuracy_result, cited, short};
use super::{PolicyView, check};
use crate::evidence::{AccuracyResult, AssertionType, Rate, format_ppb};
use crate::verify::Check;
use crate::verify::policy::profile::{DifferentialRate, Rule};

/// The ratio `high / max(low, floor)` as thousandths, rounded down, and whether it is at most
/// `max_milli`. Exact: `high * 1000 <= max_milli * max(low, floor)` in u128, so no rate or bound
/// can overflow; `floor` is at least 1 (the profile refuses 0), so nothing divides by zero.
pub(crate) fn ratio_within(high: u64, low: u64, floor: u64, max_milli: u64) -> (u128, bool) {
    let denom = u128::from(low.max(floor).max(1));
    let lhs = u128::from(high) * 1000;
    (lhs / denom, lhs <= u128::from(max_milli) * denom)
}

/// A ratio in thousandths as a decimal, e.g. `1.25`.
fn milli(v: u128) -> String {
    format!("{}.{:02}", v / 1000, v % 1000 / 10)
}

/// The `demographic-differential-max` rule: one check per accuracy assertion of each claim,
/// over the cited results for the claimed matcher and mode.
pub(super) fn differentials(rule: &Rule, view: &PolicyView<'_>, out: &mut Vec<Check>) {
    let Rule::DemographicDifferentialMax {
        rate,
        max_ratio_milli,
        zero_floor_ppb,
        min_groups,
        ..
    } = rule
    else {
        return;
    };
    let which = match rate {
        DifferentialRate::Fnmr => Rate::Fnmr,
        DifferentialRate::Fmr => Rate::Fmr,
    };
    for (ce, claim) in view.claims() {
        for (ai, a) in claim.assertions.iter().enumerate() {
            if a.kind != AssertionType::Accuracy {
                continue;
            }
            let field = Some(format!("assertions[{ai}]"));
            let says = format!("claim {:?} assertion {ai} (accuracy)", claim.claim_id);
            let (Some(mode), Some(matcher)) = (a.mode, a.matcher_sha256) else {
                out.push(check(
                    rule,
                    ce.index,
                    field,
                    false,
                    format!(
                        "{says} names no mode and matcher model, so no result's demographic differential can be shown to apply to it"
                    ),
                ));
                continue;
            };
            let results: Vec<_> = cited(view, claim, accuracy_result)
                .into_iter()
                .filter(|(_, r)| r.mode == mode && r.matcher.model_sha256 == matcher)
                .collect();
            let mut outcome: Option<(bool, String)> = None;
            for (re, res) in &results {
                let n = re.index;
                let (ok, msg) = if (res.groups.len() as u64) < *min_groups {
                    (
                        false,
                        format!(
                            "accuracy result {n} reports {} demographic group(s); your profile needs at least {min_groups} to judge a differential (ISO/IEC 19795-10 reporting)",
                            res.groups.len()
                        ),
                    )
                } else {
                    judge_groups(res, which, *zero_floor_ppb, *max_ratio_milli, n)
                };
                // A passing result decides; otherwise the first result's finding is reported.
                if ok || outcome.is_none() {
                    outcome = Some((ok, msg));
                }
                if ok {
                    break;
                }
            }
            let (ok, msg) = outcome.unwrap_or_else(|| {
                (
                    false,
                    format!(
                        "it cites no verified accuracy result for the claimed matcher {} in {mode}, so no demographic differential can be shown",
                        short(&matcher.0)
                    ),
                )
            });
            out.push(check(rule, ce.index, field, ok, format!("{says}: {msg}")));
        }
    }
}

/// Judges one result's groups: the ratio of the highest to the lowest rate (floored).
fn judge_groups(
    res: &AccuracyResult,
    which: Rate,
    floor: u64,
    max_milli: u64,
    n: u64,
) -> (bool, String) {
    // min_groups >= 2 and the caller checked the count, so both exist; an empty list would
    // compare nothing and is refused rather than passed.
    let (Some(high), Some(low)) = (
        res.groups.iter().max_by_key(|g| g.rates.get(which)),
        res.groups.iter().min_by_key(|g| g.rates.get(which)),
    ) else {
        return (false, format!("accuracy result {n} reports no groups"));
    };
    let (h, l) = (high.rates.get(which), low.rates.get(which));
    let (ratio, ok) = ratio_within(h, l, floor, max_milli);
    let floored = if l < floor {
        format!(
            ", counted as your profile's floor {} because a lower rate cannot be measured reliably",
            format_ppb(floor)
        )
    } else {
        String::new()
    };
    (
        ok,
        format!(
            "accuracy result {n}: highest group {} {} ({}), lowest {} ({}){floored}: ratio {}, {} the {} your profile allows",
            which.name(),
            format_ppb(h),
            high.id,
            format_ppb(l),
            low.id,
            milli(ratio),
            if ok { "within" } else { "above" },
            milli(u128::from(max_milli))
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::{milli, ratio_within};

    #[test]
    fn ratios_are_exact_and_never_divide_by_zero() {
        assert_eq!(ratio_within(2000, 1000, 1, 2000), (2000, true));
        assert_eq!(ratio_within(2001, 1000, 1, 2000), (2001, false));
        // A zero lowest rate counts as the floor, never as zero.
        assert_eq!(ratio_within(5000, 0, 1000, 5000), (5000, true));
        assert_eq!(ratio_within(5001, 0, 1000, 5000), (5001, false));
        assert_eq!(ratio_within(1, 0, 0, 1000), (1000, true));
        // No overflow at the ends of the range.
        assert!(!ratio_within(u64::MAX, 1, 1, u64::MAX).1);
        assert!(ratio_within(u64::MAX, u64::MAX, 1, 1000).1);
        assert_eq!(milli(1250), "1.25");
        assert_eq!(
            milli(18_446_744_073_709_551_615_000),
            "18446744073709551615.00"
        );
    }
}
