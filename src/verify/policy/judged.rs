//! Fail closed: every assertion of every claim, and every claim's wording, is judged by a rule of
//! the buyer's profiles, or the report says it was not, as a failed check (`specs/policy.md`,
//! "Which rule judges what").
//!
//! A rule says what it judges ([`Rule::judges`]); it has judged a subject of a claim when it
//! emitted a check at the claim's entry whose field is the subject's (`assertions[i]`, or a field
//! inside it such as `assertions[i].value`; `wording`). A rule that declares a type but emits no
//! check for an assertion of it has not judged that assertion.

use std::collections::HashMap;

use super::{PolicyView, Profile, Rule, evaluate};
use crate::evidence::AssertionType;
use crate::verify::{Check, JudgedBy, JudgedOutcome, Judgement, Outcome, Step};

/// Something a rule judges of a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judged {
    /// Each assertion of this type.
    Assertion(AssertionType),
    /// The claim's wording, against its structured assertions.
    Wording,
    /// A whole entry of this kind (field `.`): export decisions, shipments and deployments.
    Entry(&'static str),
}

/// The kinds whose entries are subjects as a whole, and a rule must judge each of them.
pub const JUDGED_KINDS: &[&str] = &["export-decision", "shipment", "deployment-record"];

impl Rule {
    /// What this rule judges of each claim. A rule type that judges assertions of a type adds
    /// one line here, and emits one check per such assertion at field `assertions[i]`.
    pub fn judges(&self) -> &'static [Judged] {
        match self {
            Rule::PadClaimBacked { .. } => &[Judged::Assertion(AssertionType::Pad)],
            Rule::ClaimWordingMatches { .. } => &[Judged::Wording],
            Rule::PrivacyDesignBacked { .. } => &[Judged::Assertion(AssertionType::PrivacyDesign)],
            Rule::AccuracyClaimBacked { .. } | Rule::DemographicDifferentialMax { .. } => {
                &[Judged::Assertion(AssertionType::Accuracy)]
            }
            Rule::ComplianceClaimBacked { .. } => &[Judged::Assertion(AssertionType::Compliance)],
            Rule::ClassificationCurrent(_)
            | Rule::HrddBeforeDecision(_)
            | Rule::Art5NotificationRecorded(_)
            | Rule::LicenceCovers(_)
            | Rule::EarCrimeControl(_)
            | Rule::UnfavourableCheckBlocks(_) => &[Judged::Entry("export-decision")],
            Rule::EarScreeningBeforeShipment(_)
            | Rule::RecordRetention(_)
            | Rule::EndUseCheckRequired(_) => &[Judged::Entry("shipment")],
            Rule::BiometricRetention(_) | Rule::GdprDeployment(_) | Rule::CnFaceFiling(_) => {
                &[Judged::Entry("deployment-record")]
            }
            _ => &[],
        }
    }
}

/// The policy step's outcome: its checks, and who judged each thing a claim says.
pub struct Judging {
    /// Every rule's checks, then one failed check per subject no rule judged.
    pub checks: Vec<Check>,
    /// One per assertion of each claim, and one per claim's wording, in entry order.
    pub judged: Vec<Judgement>,
}

/// One subject as it is judged.
struct Subject {
    judgement: Judgement,
    what: Judged,
    failed: bool,
}

/// For each (entry, field) that policy checks are about, whether any of them failed. A check
/// with field `f` is about `f` itself and about every field `f` lies inside: each prefix of `f`
/// that ends before a `.` or a `[`. Gathered once per rule, so that judging each of n subjects
/// is one lookup rather than a pass over every check (`specs/verification.md`, "Cost").
fn about_fields(checks: &[Check]) -> HashMap<(u64, &str), bool> {
    let mut about: HashMap<(u64, &str), bool> = HashMap::new();
    for c in checks.iter().filter(|c| c.step == Step::Policy) {
        let (Some(entry), Some(f)) = (c.entry, c.field.as_deref()) else {
            continue;
        };
        let failed = c.outcome == Outcome::Fail;
        let inside = f
            .char_indices()
            .filter(|&(_, ch)| ch == '.' || ch == '[')
            .map(|(at, _)| &f[..at]);
        // Every check at an entry is also about the entry as a whole (`.`).
        for field in inside.chain([f, "."]) {
            *about.entry((entry, field)).or_insert(false) |= failed;
        }
    }
    about
}

/// Runs every rule of `profiles` over the view, one at a time, and records which rule judged
/// which assertion and wording. With `integrity_only`, no rule runs and nothing fails for it.
pub fn judge(profiles: &[Profile], view: &PolicyView<'_>, integrity_only: bool) -> Judging {
    let mut subjects: Vec<Subject> = Vec::new();
    for (ce, claim) in view.claims() {
        let judgement = |field: String, kind: Option<String>| Judgement {
            entry: ce.index,
            claim_id: claim.claim_id.clone(),
            field,
            kind,
            judged_by: Vec::new(),
            outcome: JudgedOutcome::NotJudged,
        };
        for (i, a) in claim.assertions.iter().enumerate() {
            subjects.push(Subject {
                judgement: judgement(format!("assertions[{i}]"), Some(a.kind.to_string())),
                what: Judged::Assertion(a.kind),
                failed: false,
            });
        }
        subjects.push(Subject {
            judgement: judgement("wording".into(), None),
            what: Judged::Wording,
            failed: false,
        });
    }
    for e in &view.entries {
        let kind = e.evidence.kind();
        let Some(&kind) = JUDGED_KINDS.iter().find(|k| **k == kind) else {
            continue;
        };
        subjects.push(Subject {
            judgement: Judgement {
                entry: e.index,
                claim_id: entry_subject_id(e.evidence),
                field: ".".into(),
                kind: Some(kind.to_owned()),
                judged_by: Vec::new(),
                outcome: JudgedOutcome::NotJudged,
            },
            what: Judged::Entry(kind),
            failed: false,
        });
    }
    let mut checks = Vec::new();
    if integrity_only {
        checks.push(general(
            true,
            format!(
                "integrity only: signatures, proofs, roles and references were checked; no claim was judged against any rule ({} profile{} of the trust file not applied)",
                profiles.len(),
                if profiles.len() == 1 { "" } else { "s" }
            ),
        ));
        return Judging {
            checks,
            judged: subjects.into_iter().map(|s| s.judgement).collect(),
        };
    }
    if profiles.is_empty() {
        checks.push(general(
            false,
            "not judged: no policy profile is named by the trust file, so no claim was judged; name profiles in the trust file (profiles = [...]), or ask for integrity only (--integrity-only) to check signatures, proofs, roles and references alone".into(),
        ));
    }
    for profile in profiles {
        let before = checks.len();
        for rule in &profile.rules {
            // One rule at a time, so that each check is known to be this rule's.
            let one = Profile {
                format: profile.format.clone(),
                id: profile.id.clone(),
                version: profile.version.clone(),
                title: profile.title.clone(),
                rules: vec![rule.clone()],
                sha256: profile.sha256,
            };
            let found = evaluate(&one, view);
            let about = about_fields(&found);
            for s in &mut subjects {
                // Any rule's failure about the subject fails it; only a rule whose type judges
                // it makes it judged.
                let Some(&failed) = about.get(&(s.judgement.entry, s.judgement.field.as_str()))
                else {
                    continue;
                };
                s.failed |= failed;
                if !rule.judges().contains(&s.what) {
                    continue;
                }
                s.judgement.judged_by.push(JudgedBy {
                    profile: profile.id.clone(),
                    rule: rule.id().to_owned(),
                });
            }
            checks.extend(found);
        }
        if checks.len() == before {
            checks.push(general(
                true,
                format!(
                    "profile {} {}: no rule applies to this bundle's entries",
                    profile.id, profile.version
                ),
            ));
        }
    }
    for s in &mut subjects {
        let j = &mut s.judgement;
        j.outcome = match (j.judged_by.is_empty(), s.failed) {
            (true, _) => JudgedOutcome::NotJudged,
            (false, true) => JudgedOutcome::Failed,
            (false, false) => JudgedOutcome::Held,
        };
        if j.outcome == JudgedOutcome::NotJudged {
            checks.push(not_judged(j, s.what));
        }
    }
    Judging {
        checks,
        judged: subjects.into_iter().map(|s| s.judgement).collect(),
    }
}

/// The id a whole-entry subject is named by: a decision's or deployment's id, or for a
/// shipment the decision it executes (its first 12 hex digits).
fn entry_subject_id(e: &crate::evidence::Evidence) -> String {
    use crate::evidence::Evidence;
    match e {
        Evidence::ExportDecision(d) => d.decision_id.clone(),
        Evidence::DeploymentRecord(d) => d.deployment_id.clone(),
        Evidence::Shipment(s) => format!(
            "shipment of decision entry {}",
            &s.decision.to_string()[..12]
        ),
        other => other.kind().to_owned(),
    }
}

/// A policy check about the whole bundle.
fn general(ok: bool, message: String) -> Check {
    Check {
        step: Step::Policy,
        entry: None,
        field: None,
        outcome: if ok { Outcome::Pass } else { Outcome::Fail },
        message,
        clock: None,
        citation: None,
    }
}

/// The failed check for a subject no rule judged.
fn not_judged(j: &Judgement, what: Judged) -> Check {
    let message = match what {
        Judged::Assertion(t) => format!(
            "not judged: {} of claim {:?}: no rule in your profiles judges {t} claims; name a profile with a rule for {t} assertions in the trust file (specs/policy.md lists which rule judges which type), or ask for integrity only",
            j.subject(),
            j.claim_id
        ),
        Judged::Entry(kind) => format!(
            "not judged: {kind} {:?} (entry {}): no rule in your profiles judges {kind} entries; name a profile with a rule for them in the trust file (specs/policy.md lists which rule judges which kind), or ask for integrity only",
            j.claim_id, j.entry
        ),
        Judged::Wording => format!(
            "not judged: the wording of claim {:?}: no rule in your profiles compares a claim's wording with its assertions; add a claim-wording-matches rule to a profile of the trust file, or ask for integrity only",
            j.claim_id
        ),
    };
    Check {
        step: Step::Policy,
        entry: Some(j.entry),
        field: Some(j.field.clone()),
        outcome: Outcome::Fail,
        message,
        clock: None,
        citation: None,
    }
}

#[cfg(test)]
mod tests {
    use super::about_fields;
    use crate::verify::{Check, Outcome, Step};

    fn at(field: &str) -> Check {
        Check {
            step: Step::Policy,
            entry: Some(1),
            field: Some(field.into()),
            outcome: Outcome::Pass,
            message: String::new(),
            clock: None,
            citation: None,
        }
    }

    fn about(check: &Check, field: &str) -> bool {
        about_fields(std::slice::from_ref(check)).contains_key(&(1, field))
    }

    #[test]
    fn a_check_is_about_its_field_and_the_fields_inside_it_only() {
        assert!(about(&at("assertions[1]"), "assertions[1]"));
        assert!(about(&at("assertions[1].value"), "assertions[1]"));
        assert!(!about(&at("assertions[10]"), "assertions[1]"));
        assert!(!about(&at("assertions[0]"), "assertions[1]"));
        assert!(!about(&at("channels[0]"), "wording"));
        assert!(about(&at("wording"), "wording"));
    }

    #[test]
    fn a_failure_fails_every_field_it_lies_inside() {
        let mut c = at("assertions[2].species_required[0]");
        c.outcome = Outcome::Fail;
        let about = about_fields(std::slice::from_ref(&c));
        for f in [
            "assertions",
            "assertions[2]",
            "assertions[2].species_required",
            "assertions[2].species_required[0]",
        ] {
            assert_eq!(about.get(&(1, f)), Some(&true), "{f}");
        }
        assert_eq!(about.get(&(2, "assertions[2]")), None);
    }
}
