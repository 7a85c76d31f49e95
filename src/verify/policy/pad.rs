//! PAD checks as the schemes define them (`specs/policy.md`): who may issue a scheme's results,
//! which models a result covers, how old a report may be, and wording that gives ISO/IEC 30107-3
//! a level it does not define.

use super::{PolicyEntry, PolicyView, check, clocked, pad_models};
use crate::evidence::{Claim, Evidence, LabResult};
use crate::verify::policy::profile::{ModelMatch, Rule, SchemeOperator, Severity};
use crate::verify::{Check, Clock};

/// Why `lab` (at entry `le`) does not come from an operator of its scheme, if it does not: its
/// signer's role or a countersigner's role must be one the profile lists for the scheme.
pub(super) fn operator_problem(
    operators: &[SchemeOperator],
    view: &PolicyView<'_>,
    le: &PolicyEntry<'_>,
    lab: &LabResult,
) -> Option<String> {
    if operators.is_empty() {
        return None;
    }
    let scheme = &lab.scheme.name;
    let Some(op) = operators.iter().find(|o| &o.scheme == scheme) else {
        return Some(format!(
            "the profile names no operator for scheme {scheme}, so no result under it is accepted"
        ));
    };
    let countersigners = view.entries.iter().filter_map(|e| match e.evidence {
        Evidence::Countersignature(c) if c.target.0 == le.entry_hash => e.role.as_deref(),
        _ => None,
    });
    let endorsed = le
        .role
        .as_deref()
        .into_iter()
        .chain(countersigners)
        .any(|r| op.roles.iter().any(|x| x == r));
    (!endorsed).then(|| {
        format!(
            "lab result {} (report {}) is neither signed nor countersigned by a key in role {}, which your profile accepts as issuing {scheme} results",
            le.index,
            lab.report.id,
            op.roles.join(" or ")
        )
    })
}

/// Why the claim's models are not all covered by `lab`, one message per uncovered model.
pub(super) fn model_problems(
    model_match: ModelMatch,
    view: &PolicyView<'_>,
    claim: &Claim,
    le: &PolicyEntry<'_>,
    lab: &LabResult,
) -> Vec<String> {
    let tested = view.build(&lab.target.build.0).map(pad_models);
    // Equivalence only where the profile allows it: a claimed build that runs on the model ships
    // the PAD model the lab tested. The models of such builds are gathered once, so each claimed
    // model is a lookup rather than a pass over every claimed build.
    let mut equivalent: std::collections::HashSet<&str> = std::collections::HashSet::new();
    if model_match == ModelMatch::SamePadModel
        && let Some(t) = tested.as_ref().filter(|t| !t.is_empty())
    {
        for b in &claim.applies_to.builds {
            if let Some(fb) = view.build(&b.0)
                && &pad_models(fb) == t
            {
                equivalent.extend(fb.product.models.iter().map(String::as_str));
            }
        }
    }
    claim
        .applies_to
        .models
        .iter()
        .enumerate()
        .filter(|(_, m)| **m != lab.target.model)
        .filter(|(_, m)| !equivalent.contains(m.as_str()))
        .map(|(mi, m)| {
            format!(
                "applies_to.models[{mi}] {m} was not tested: lab result {} tested the {}{}",
                le.index,
                lab.target.model,
                match model_match {
                    ModelMatch::TestedModel => {
                        " (your profile accepts only the tested model; a result on this model would back it)"
                    }
                    ModelMatch::SamePadModel => {
                        ", and no claimed build that runs on it ships the tested PAD model"
                    }
                }
            )
        })
        .collect()
}

/// Why `lab` is too old to back a claim that was in the log by `claim_at` (witnessed), if it is;
/// without a witnessed time the age cannot be judged, which fails: the claim's own `iat` is the
/// exporter's clock.
pub(super) fn age_problem(
    max_days: Option<u64>,
    claim_at: Option<u64>,
    le: &PolicyEntry<'_>,
    lab: &LabResult,
) -> Option<String> {
    let max_days = max_days?;
    let Some(at) = claim_at.and_then(|t| i64::try_from(t).ok()) else {
        return Some(format!(
            "the age of report {} cannot be judged: the claim has no witnessed time, and its own iat is the exporter's clock (ask for a bundle whose checkpoint the trust file's witnesses cosigned)",
            lab.report.id
        ));
    };
    let issued = lab.report.issued.0;
    let limit = i64::try_from(max_days)
        .ok()
        .and_then(|d| d.checked_mul(86_400))
        .unwrap_or(i64::MAX);
    let age = at.saturating_sub(issued);
    (age > limit).then(|| {
        format!(
            "report {} of lab result {} was issued {} days before the claim was witnessed in the log, more than your profile's {max_days}",
            lab.report.id,
            le.index,
            age / 86_400
        )
    })
}

/// Where `wording` attributes a level to ISO/IEC 30107-3: the byte offsets of each `30107`
/// followed, in the same clause and within six words, by `level` and a number, with no scheme
/// word in between (ASCII case-insensitive; `-3` and a `:YEAR` suffix belong to the standard's
/// name).
pub(crate) fn level_attributions(wording: &str, scheme_words: &[String]) -> Vec<usize> {
    let lower = wording.to_ascii_lowercase();
    let schemes: Vec<String> = scheme_words
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let mut found = Vec::new();
    for (at, _) in lower.match_indices("30107") {
        let rest = &lower[at + 5..];
        let clause = rest
            .find(['.', ';', ',', '(', ')', '\n'])
            .map_or(rest, |end| &rest[..end]);
        let words: Vec<&str> = clause.split_whitespace().take(7).collect();
        for (i, w) in words.iter().enumerate().skip(1) {
            let word = w.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            if schemes.iter().any(|s| word == s) {
                break;
            }
            let next_is_number = words
                .get(i + 1)
                .is_some_and(|n| n.chars().next().is_some_and(|c| c.is_ascii_digit()));
            if word == "level" && next_is_number {
                found.push(at);
                break;
            }
        }
    }
    found
}

/// The `pad-level-attribution` rule: one check per claim.
pub(super) fn level_attribution(rule: &Rule, view: &PolicyView<'_>, out: &mut Vec<Check>) {
    let Rule::PadLevelAttribution {
        on_misattribution,
        scheme_words,
        ..
    } = rule
    else {
        return;
    };
    for (ce, claim) in view.claims() {
        let field = Some("wording".to_owned());
        if level_attributions(&claim.wording, scheme_words).is_empty() {
            out.push(check(
                rule,
                ce.index,
                field,
                true,
                "the wording gives ISO/IEC 30107-3 no level of its own".into(),
            ));
            continue;
        }
        let finding = format!(
            "claim {:?} words a level as if ISO/IEC 30107-3 defined it; the standard defines how PAD is tested and reported, and its levels of evaluation are subsystem, data capture and full system, while attack-potential levels belong to a scheme (iBeta PAD, FIDO): name the scheme, e.g. \"iBeta PAD Level 2, tested to ISO/IEC 30107-3\"",
            claim.claim_id
        );
        match on_misattribution {
            Severity::Fail => out.push(check(rule, ce.index, field, false, finding)),
            Severity::Note => out.push(check(
                rule,
                ce.index,
                field,
                true,
                format!("note: {finding}"),
            )),
        }
    }
}

/// A check of the PAD rule, clocked when the profile judges report age.
pub(super) fn pad_check(
    rule: &Rule,
    entry: u64,
    field: Option<String>,
    ok: bool,
    message: String,
    age_clock: Option<Clock>,
) -> Check {
    match age_clock {
        Some(c) => clocked(rule, entry, field, ok, c, message),
        None => check(rule, entry, field, ok, message),
    }
}

#[cfg(test)]
mod tests {
    use super::level_attributions;

    fn flagged(wording: &str) -> bool {
        !level_attributions(wording, &["iBeta".into(), "FIDO".into()]).is_empty()
    }

    #[test]
    fn a_level_after_the_standard_is_flagged() {
        assert!(flagged("passed ISO/IEC 30107-3 Level 2 testing"));
        assert!(flagged("passed iso/iec 30107-3:2023 level 3"));
        assert!(flagged("ISO 30107-3   PAD\tLevel 1 certified"));
        assert!(flagged(
            "first ISO/IEC 30107-1, then ISO/IEC 30107-3 Level 2"
        ));
    }

    #[test]
    fn a_scheme_level_or_another_clause_is_not() {
        assert!(!flagged(
            "passed iBeta PAD Level 2 testing to ISO/IEC 30107-3"
        ));
        assert!(!flagged("tested to ISO/IEC 30107-3 (iBeta PAD Level 2)"));
        assert!(!flagged("ISO/IEC 30107-3 iBeta Level 2"));
        assert!(!flagged("ISO/IEC 30107-3, FIDO Level 2"));
        assert!(!flagged("ISO/IEC 30107-3 conformant. Level 2 support desk"));
        assert!(!flagged("ISO/IEC 30107-3 level of evaluation: full system"));
        assert!(!flagged("no standard at all, Level 2"));
    }
}
