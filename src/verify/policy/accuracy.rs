//! Accuracy claims (`specs/policy.md`): `accuracy-claim-backed` compares what a claim asserts
//! about FMR, FNMR or FTE with an `accuracy-result` for the same matcher model and mode. Rates
//! are integers (ppb) and every comparison is exact integer arithmetic. Also the checks of the
//! accuracy rules' profile parameters, and how a claim's cited evidence is found.

use super::{PolicyEntry, PolicyView, check, clocked, compare};
use crate::evidence::{
    ACCURACY_STANDARDS, AccuracyMode, AccuracyResult, Assertion, AssertionType, Claim,
    ComponentRole, EvaluatorKind, Evidence, Rate, format_ppb,
};
use crate::verify::policy::profile::Rule;
use crate::verify::{Check, Clock};

/// Why a rule of this module is unusable as a profile gives it, as `FIELD: why`.
pub(super) fn profile_problem(rule: &Rule) -> Option<String> {
    match rule {
        Rule::AccuracyClaimBacked {
            standards,
            countersigner_role,
            ..
        } => {
            if let Some(s) = standards
                .iter()
                .find(|s| !ACCURACY_STANDARDS.contains(&s.as_str()))
            {
                return Some(format!(
                    "standards: {s:?} is not one an accuracy result may report to ({})",
                    ACCURACY_STANDARDS.join(", ")
                ));
            }
            countersigner_role
                .trim()
                .is_empty()
                .then(|| "countersigner_role: must not be empty".to_owned())
        }
        Rule::DemographicDifferentialMax {
            max_ratio_milli,
            zero_floor_ppb,
            min_groups,
            ..
        } => {
            if *zero_floor_ppb == 0 {
                Some("zero_floor_ppb: must be at least 1, so that a group with no errors never divides by zero".into())
            } else if *zero_floor_ppb > crate::evidence::PPB {
                Some("zero_floor_ppb: must be at most 1000000000 (a rate of 1)".into())
            } else if *max_ratio_milli < 1000 {
                Some(format!(
                    "max_ratio_milli: {max_ratio_milli} is below 1000: no ratio of the highest to the lowest rate is below 1"
                ))
            } else if *min_groups < 2 {
                Some("min_groups: a differential needs at least 2 groups".into())
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Evidence of one kind a claim cites directly or through a countersignature it cites, with
/// its entry; each entry once. Only verified entries count.
pub(super) fn cited<'v, 'a, T>(
    view: &'v PolicyView<'a>,
    claim: &Claim,
    pick: impl Fn(&'a Evidence) -> Option<&'a T>,
) -> Vec<(&'v PolicyEntry<'a>, &'a T)> {
    let mut out: Vec<(&'v PolicyEntry<'a>, &'a T)> = Vec::new();
    for r in &claim.evidence {
        let Some(e) = view.verified(&r.0) else {
            continue;
        };
        let found = match pick(e.evidence) {
            Some(t) => Some((e, t)),
            None => match e.evidence {
                Evidence::Countersignature(c) => view
                    .verified(&c.target.0)
                    .and_then(|t| pick(t.evidence).map(|x| (t, x))),
                _ => None,
            },
        };
        if let Some((e, t)) = found
            && !out.iter().any(|(x, _)| x.index == e.index)
        {
            out.push((e, t));
        }
    }
    out
}

/// Whether a verified key in `role` signed the entry or a countersignature of it.
pub(super) fn endorsed_by(view: &PolicyView<'_>, entry: &PolicyEntry<'_>, role: &str) -> bool {
    entry.role.as_deref() == Some(role) || view.entries.iter().any(|e| {
        e.role.as_deref() == Some(role)
            && matches!(e.evidence, Evidence::Countersignature(c) if c.target.0 == entry.entry_hash)
    })
}

pub(super) fn accuracy_result(e: &Evidence) -> Option<&AccuracyResult> {
    match e {
        Evidence::AccuracyResult(r) => Some(r),
        _ => None,
    }
}

/// The first 12 hex digits of a digest, for messages.
pub(super) fn short(d: &[u8; 32]) -> String {
    crate::hex::encode(&d[..6])
}

/// What an accuracy assertion names, or why it names too little to be backed.
struct Asserted {
    rate: Rate,
    comparator: crate::evidence::Comparator,
    value: u64,
    mode: AccuracyMode,
    matcher: [u8; 32],
}

fn asserted(a: &Assertion) -> Result<Asserted, Vec<String>> {
    let mut missing = Vec::new();
    let rate = match a.metric.as_deref() {
        Some(m) => match Rate::from_metric(m) {
            Some(r) => Some(r),
            None => {
                missing.push(format!(
                    "its metric {m} is not one an accuracy result reports (fmr_ppb, fnmr_ppb or fte_ppb)"
                ));
                None
            }
        },
        None => {
            missing.push(
                "it states no metric (fmr_ppb, fnmr_ppb or fte_ppb, with comparator and value), so there is nothing to measure it against"
                    .into(),
            );
            None
        }
    };
    if let Some(scheme) = &a.scheme {
        missing.push(format!(
            "it names scheme {scheme}, which no accuracy result reports (a certificate backs a scheme: that is a compliance assertion)"
        ));
    }
    if let Some(level) = a.level {
        missing.push(format!(
            "it names level {level}, which no accuracy result reports"
        ));
    }
    if a.mode.is_none() {
        missing.push(
            "it does not say whether it is about verification (1:1) or identification (1:N) (mode)"
                .into(),
        );
    }
    if a.matcher_sha256.is_none() {
        missing.push("it does not name the matcher model it is about (matcher_sha256)".into());
    }
    match (rate, a.comparator, a.value, a.mode, a.matcher_sha256) {
        (Some(rate), Some(comparator), Some(value), Some(mode), Some(m)) if missing.is_empty() => {
            Ok(Asserted {
                rate,
                comparator,
                value,
                mode,
                matcher: m.0,
            })
        }
        _ => Err(missing),
    }
}

/// Why the claim's builds do not all ship the matcher `matcher`: one message per build.
fn build_problems(view: &PolicyView<'_>, claim: &Claim, matcher: &[u8; 32]) -> Vec<String> {
    if claim.applies_to.builds.is_empty() {
        return vec![
            "the claim names no firmware build, so the matcher its products run cannot be compared with the one evaluated".into(),
        ];
    }
    let mut out = Vec::new();
    for (bi, b) in claim.applies_to.builds.iter().enumerate() {
        match view.build(&b.0) {
            None => out.push(format!(
                "applies_to.builds[{bi}] is not a verified firmware build in the bundle, so the matcher it ships is unknown"
            )),
            Some(fb) => {
                let ships = fb
                    .biometric_components
                    .iter()
                    .any(|c| c.role == ComponentRole::Matcher && &c.model_sha256.0 == matcher);
                if !ships {
                    out.push(format!(
                        "applies_to.builds[{bi}] (firmware {}) does not ship the claimed matcher model {}",
                        fb.version,
                        short(matcher)
                    ));
                }
            }
        }
    }
    out
}

/// Why a report issued at `issued` is too old for a claim witnessed at `claim_at`, if it is.
fn age_problem(
    max_days: Option<u64>,
    claim_at: Option<u64>,
    report_id: &str,
    issued: i64,
) -> Option<String> {
    let max_days = max_days?;
    let Some(at) = claim_at.and_then(|t| i64::try_from(t).ok()) else {
        return Some(format!(
            "the age of report {report_id} cannot be judged: the claim has no witnessed time, and its own iat is the vendor's clock (ask for a bundle whose checkpoint the trust file's witnesses cosigned)"
        ));
    };
    let limit = i64::try_from(max_days)
        .ok()
        .and_then(|d| d.checked_mul(86_400))
        .unwrap_or(i64::MAX);
    let age = at.saturating_sub(issued);
    (age > limit).then(|| {
        format!(
            "report {report_id} was issued {} days before the claim was witnessed in the log, more than the {max_days} your profile allows",
            age / 86_400
        )
    })
}

/// The `accuracy-claim-backed` rule: one check per accuracy assertion of each claim.
pub(super) fn claims_backed(rule: &Rule, view: &PolicyView<'_>, out: &mut Vec<Check>) {
    let Rule::AccuracyClaimBacked {
        standards,
        countersigner_role,
        public_evaluations,
        max_report_age_days,
        ..
    } = rule
    else {
        return;
    };
    for (ce, claim) in view.claims() {
        let mut judged = Vec::new();
        for (ai, a) in claim.assertions.iter().enumerate() {
            if a.kind != AssertionType::Accuracy {
                continue;
            }
            let says = format!("claim {:?} assertion {ai} (accuracy)", claim.claim_id);
            let want = match asserted(a) {
                Ok(w) => w,
                Err(missing) => {
                    judged.push(Judged {
                        ai,
                        says: format!("{says} cannot be backed by any test result"),
                        key: None,
                        problems: missing,
                        met: Vec::new(),
                    });
                    continue;
                }
            };
            let says = format!(
                "claim {:?} asserts {} {} {} ({}, matcher {})",
                claim.claim_id,
                want.rate.name(),
                want.comparator.symbol(),
                format_ppb(want.value),
                want.mode,
                short(&want.matcher)
            );
            let mut general = build_problems(view, claim, &want.matcher);
            let candidates = cited(view, claim, accuracy_result);
            if candidates.is_empty() {
                general.push(format!(
                    "it cites no verified accuracy result (directly or through a countersignature): an ISO/IEC 19795 result for matcher {} in {}, countersigned by a key in role {countersigner_role}, would back it",
                    short(&want.matcher),
                    want.mode
                ));
            }
            let mut best: Option<(u64, Vec<String>)> = None;
            let mut met = Vec::new();
            for (re, res) in &candidates {
                let mut p = Vec::new();
                let n = re.index;
                if res.matcher.model_sha256.0 != want.matcher {
                    p.push(format!(
                        "accuracy result {n} evaluated matcher model {}, not the claimed {}",
                        short(&res.matcher.model_sha256.0),
                        short(&want.matcher)
                    ));
                }
                if res.mode != want.mode {
                    p.push(format!(
                        "accuracy result {n} measured {}, not {}",
                        res.mode, want.mode
                    ));
                }
                if !standards.is_empty() && !standards.contains(&res.standard) {
                    p.push(format!(
                        "accuracy result {n} reports to {}, which your profile does not accept ({})",
                        res.standard,
                        standards.join(", ")
                    ));
                }
                if let Some(s) = &a.standard
                    && s != &res.standard
                {
                    p.push(format!(
                        "the claim names {s}; accuracy result {n} reports to {}",
                        res.standard
                    ));
                }
                let measured = res.overall.get(want.rate);
                if !compare(measured, want.comparator, want.value) {
                    p.push(format!(
                        "accuracy result {n} (report {}) measured {} {} ({measured} ppb), which does not meet the claimed {} {}",
                        res.report.id,
                        want.rate.name(),
                        format_ppb(measured),
                        want.comparator.symbol(),
                        format_ppb(want.value)
                    ));
                }
                match res.evaluator.kind {
                    EvaluatorKind::AccreditedLab => {
                        if !endorsed_by(view, re, countersigner_role) {
                            p.push(format!(
                                "accuracy result {n} (report {}) is not countersigned by a key in role {countersigner_role}, which your profile requires of a lab's result",
                                res.report.id
                            ));
                        }
                    }
                    EvaluatorKind::PublicEvaluation => {
                        if !public_evaluations.contains(&res.evaluator.name) {
                            p.push(format!(
                                "accuracy result {n} is a public evaluation by {}, which your profile does not accept{}",
                                res.evaluator.name,
                                if public_evaluations.is_empty() {
                                    " (it accepts none: public results are transcribed by the vendor and signed by no evaluator)".to_owned()
                                } else {
                                    format!(" (it accepts {})", public_evaluations.join(", "))
                                }
                            ));
                        }
                    }
                }
                p.extend(age_problem(
                    *max_report_age_days,
                    ce.witnessed_at,
                    &res.report.id,
                    res.report.issued.0,
                ));
                if p.is_empty() {
                    met.push(n);
                }
                if best.as_ref().is_none_or(|(_, bp)| p.len() < bp.len()) {
                    best = Some((n, p));
                }
            }
            let problems: Vec<String> = general
                .into_iter()
                .chain(best.map(|(_, p)| p).unwrap_or_default())
                .collect();
            judged.push(Judged {
                ai,
                says,
                key: Some((want.mode, want.matcher)),
                problems,
                met,
            });
        }
        joint_operating_point(&mut judged);
        for j in judged {
            let field = Some(format!("assertions[{}]", j.ai));
            let clock = max_report_age_days.map(|_| Clock::Witnessed);
            let message = match (j.problems.is_empty(), j.met.first(), j.key) {
                (true, Some(n), _) => format!("{}; met by accuracy result {n}", j.says),
                (_, _, None) => format!("{}: {}", j.says, j.problems.join("; ")),
                _ => format!("{}; but {}", j.says, j.problems.join("; ")),
            };
            let ok = j.problems.is_empty() && !j.met.is_empty();
            out.push(accuracy_check(rule, ce.index, field, ok, message, clock));
        }
    }
}

/// One accuracy assertion of a claim, judged on its own.
struct Judged {
    ai: usize,
    says: String,
    /// The mode and matcher it is about, when it names them.
    key: Option<(AccuracyMode, [u8; 32])>,
    /// What stands against it.
    problems: Vec<String>,
    /// The cited results that meet it with no problem, in order.
    met: Vec<u64>,
}

/// A claim's accuracy assertions about one matcher in one mode are one operating point: a
/// result's FMR and FNMR hold together, at its threshold, and rates measured at different
/// thresholds do not combine. When each of two or more such assertions is met, but by no result
/// in common, each gets a problem; otherwise each keeps only the results common to all.
fn joint_operating_point(judged: &mut [Judged]) {
    let keys: Vec<_> = judged.iter().filter_map(|j| j.key).collect();
    for key in keys {
        let group: Vec<usize> = (0..judged.len())
            .filter(|&i| judged[i].key == Some(key))
            .collect();
        if group.len() < 2 || group.iter().any(|&i| judged[i].met.is_empty()) {
            continue;
        }
        let common: Vec<u64> = judged[group[0]]
            .met
            .iter()
            .copied()
            .filter(|n| group.iter().all(|&i| judged[i].met.contains(n)))
            .collect();
        if common.is_empty() {
            let each = group
                .iter()
                .map(|&i| {
                    let list: Vec<String> = judged[i].met.iter().map(|n| n.to_string()).collect();
                    format!(
                        "assertion {} by accuracy result {}",
                        judged[i].ai,
                        list.join(" or ")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let problem = format!(
                "no single accuracy result meets all {} of the claim's accuracy assertions about matcher {} in {} ({each}): rates measured at different thresholds do not hold together",
                group.len(),
                short(&key.1),
                key.0
            );
            for &i in &group {
                if !judged[i].problems.contains(&problem) {
                    judged[i].problems.push(problem.clone());
                }
            }
        } else {
            for &i in &group {
                judged[i].met = common.clone();
            }
        }
    }
}

fn accuracy_check(
    rule: &Rule,
    entry: u64,
    field: Option<String>,
    ok: bool,
    message: String,
    clock: Option<Clock>,
) -> Check {
    match clock {
        Some(c) => clocked(rule, entry, field, ok, c, message),
        None => check(rule, entry, field, ok, message),
    }
}
