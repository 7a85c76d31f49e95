//! Fail closed (`specs/verification.md`, "Judged"): every assertion of every claim, and every
//! claim's wording, is judged by a rule of the buyer's profiles, or the verdict says it was not.
//! The cases of issue 11's first paragraph that a verifier must not let through.
#![cfg(feature = "store")]

mod story;

use evledger::export::BundleOptions;
use evledger::policy::Profile;
use evledger::verify::{
    JudgedOutcome, Outcome, Report, Step, Verdict, VerifyOptions, verify_bundle, verify_bundle_with,
};

use story::*;

/// A claim on both builds with `wording` and `assertions` (TOML), citing no evidence.
fn claim(id: &str, wording: &str, assertions: &str) -> String {
    format!(
        r#"claim_id = "{id}"
wording = "{wording}"
language = "en"
effective_from = 2026-04-01T00:00:00Z

[[channels]]
kind = "website"
locator = "https://www.aurelis.example/products/facegate-3d"

[applies_to]
models = ["FG3-100"]
builds = ["@FW_420@", "@FW_421@"]

{assertions}
"#
    )
}

const ACCURACY_AND_COMPLIANCE: &str = r#"[[assertions]]
type = "accuracy"
metric = "fmr_ppb"
comparator = "lt"
value = 1000

[[assertions]]
type = "compliance"
standard = "EU AI Act"
"#;

const PAD_LEVEL_2: &str = r#"[[assertions]]
type = "pad"
standard = "ISO/IEC 30107-3:2023"
scheme = "iBeta PAD"
level = 2
"#;

const PRIVACY: &str = r#"[[assertions]]
type = "privacy-design"
metric = "template_only_storage"
comparator = "eq"
value = 1
"#;

fn privacy_profile() -> Profile {
    let path = format!(
        "{}/specs/profiles/privacy-by-design.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Profile::parse(&std::fs::read_to_string(&path).expect("profile")).expect("parses")
}

/// Records the builds and one claim, bundles the claim (no attachment) and verifies it with
/// `profiles`; returns the report and the claim's index.
fn verify_claim(text: &str, profiles: &[Profile], options: &VerifyOptions) -> (Report, u64) {
    let mut f = Fixture::new();
    let s = Story::builds(&mut f);
    let mut text = text.to_owned();
    for (p, v) in s.fills() {
        text = text.replace(p, &v);
    }
    let c = f.record("claim", &text, Who::Legal);
    let idx = f.ledger.resolve(&c).expect("claim").index;
    let b = f.bundle_of(&[&c], &BundleOptions::default()).to_cbor();
    (verify_bundle_with(&b, &trust(), profiles, options), idx)
}

/// The failed checks as (entry, field, message).
fn failed(r: &Report) -> Vec<(Option<u64>, Option<String>, String)> {
    r.checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| (c.entry, c.field.clone(), c.message.clone()))
        .collect()
}

#[test]
fn a_claim_no_rule_judges_is_not_met_with_exit_4() {
    let text = claim(
        "CLM-FG3-ACC-001",
        "FMR below 0.0001 % with no measurable demographic bias, and compliant with the EU AI Act.",
        ACCURACY_AND_COMPLIANCE,
    );
    let (r, c) = verify_claim(&text, &profiles(), &VerifyOptions::default());
    assert_eq!(r.verdict, Verdict::PolicyNotMet, "{}", r.render());
    assert_eq!(r.verdict.exit_code(), 4);
    // Worded as asserted: only the two assertions fail, as not judged.
    assert_eq!(
        failed(&r),
        [
            (
                Some(c),
                Some("assertions[0]".into()),
                "not judged: assertions[0] (accuracy) of claim \"CLM-FG3-ACC-001\": no rule in your profiles judges accuracy claims; name a profile with a rule for accuracy assertions in the trust file (specs/policy.md lists which rule judges which type), or ask for integrity only".into()
            ),
            (
                Some(c),
                Some("assertions[1]".into()),
                "not judged: assertions[1] (compliance) of claim \"CLM-FG3-ACC-001\": no rule in your profiles judges compliance claims; name a profile with a rule for compliance assertions in the trust file (specs/policy.md lists which rule judges which type), or ask for integrity only".into()
            ),
        ],
        "{}",
        r.render()
    );
    let outcomes: Vec<(&str, JudgedOutcome)> = r
        .judged
        .iter()
        .map(|j| (j.field.as_str(), j.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("assertions[0]", JudgedOutcome::NotJudged),
            ("assertions[1]", JudgedOutcome::NotJudged),
            ("wording", JudgedOutcome::Held),
        ]
    );
    let text = r.render();
    assert!(
        text.contains("    assertions[0] (accuracy): not judged\n"),
        "{text}"
    );
    assert!(
        text.contains("    wording: judged by claim-wording-matches (pad-ibeta-level2), held\n"),
        "{text}"
    );
}

#[test]
fn the_same_words_without_structure_fail_the_wording_too() {
    // Worded with a metric and a regulation that its assertions do not carry.
    let text = claim(
        "CLM-FG3-ACC-002",
        "FMR below 0.0001 % with no measurable demographic bias, and compliant with the EU AI Act.",
        PRIVACY,
    );
    let mut all = profiles();
    all.push(privacy_profile());
    let (r, c) = verify_claim(&text, &all, &VerifyOptions::default());
    assert_fails(
        &r,
        Verdict::PolicyNotMet,
        Step::Policy,
        Some(c),
        "claim-wording-matches: claim \"CLM-FG3-ACC-002\": the wording names the regulation the EU AI Act, but no assertion's standard or scheme does; the wording names the metric FMR, but no assertion's metric is it",
    );
    // The privacy assertion itself is judged, and holds.
    assert_eq!(r.judged[0].outcome, JudgedOutcome::Held, "{}", r.render());
}

#[test]
fn a_claim_worded_level_3_with_level_2_asserted_fails_without_attachments() {
    // The shipped profile does not require attachments, and none is in the bundle: the wording
    // is still compared with the assertions.
    let text = claim(
        "CLM-FG3-PAD-010",
        "FaceGate 3D passed iBeta PAD Level 3 testing to ISO/IEC 30107-3.",
        PAD_LEVEL_2,
    );
    let (r, c) = verify_claim(&text, &profiles(), &VerifyOptions::default());
    assert_eq!(r.verdict.exit_code(), 4, "{}", r.render());
    assert_fails(
        &r,
        Verdict::PolicyNotMet,
        Step::Policy,
        Some(c),
        "claim-wording-matches: claim \"CLM-FG3-PAD-010\": the wording names level 3, but no assertion carries level 3 (assertions[0] has level 2)",
    );
}

#[test]
fn near_misses_of_level_3_fail_the_same_way() {
    for wording in [
        "FaceGate 3D passed iBeta PAD LEVEL 3 testing.",
        "FaceGate 3D passed iBeta PAD Level\u{00A0}\u{00A0}3 testing.",
        "FaceGate 3D passed iBeta PAD Lev\u{200B}el 3 testing.",
        "FaceGate 3D passed iBeta PAD L\u{0435}vel 3 testing.",
        "FaceGate 3D passed iBeta PAD Level \u{FF13} testing.",
        "FaceGate 3D passed iBeta PAD Level III testing.",
    ] {
        let text = claim("CLM-FG3-PAD-011", wording, PAD_LEVEL_2);
        let (r, c) = verify_claim(&text, &profiles(), &VerifyOptions::default());
        assert_fails(
            &r,
            Verdict::PolicyNotMet,
            Step::Policy,
            Some(c),
            "the wording names level 3, but no assertion carries level 3 (assertions[0] has level 2)",
        );
    }
}

#[test]
fn a_claim_worded_level_3_with_no_pad_assertion_fails() {
    let text = claim(
        "CLM-FG3-PRV-001",
        "FaceGate 3D: Level 3 liveness, and it stores face templates only.",
        PRIVACY,
    );
    let mut all = profiles();
    all.push(privacy_profile());
    let (r, c) = verify_claim(&text, &all, &VerifyOptions::default());
    assert_eq!(
        failed(&r),
        [(
            Some(c),
            Some("wording".into()),
            "claim-wording-matches: claim \"CLM-FG3-PRV-001\": the wording names level 3, but no assertion carries level 3 (no assertion has a level); a claim may word only what its structured assertions carry, so that the rules judging them judge what was published".into()
        )],
        "{}",
        r.render()
    );
    // Without the privacy profile, the privacy assertion is not judged either.
    let (r, c) = verify_claim(&text, &profiles(), &VerifyOptions::default());
    assert!(
        failed(&r).iter().any(|(e, f, m)| *e == Some(c)
            && f.as_deref() == Some("assertions[0]")
            && m.starts_with("not judged: assertions[0] (privacy-design)")),
        "{}",
        r.render()
    );
}

#[test]
fn without_a_profile_every_claim_is_unjudged_unless_integrity_only() {
    let text = claim(
        "CLM-FG3-PAD-012",
        "FaceGate 3D passed iBeta PAD Level 2 testing to ISO/IEC 30107-3.",
        PAD_LEVEL_2,
    );
    let (r, _) = verify_claim(&text, &[], &VerifyOptions::default());
    assert_eq!(r.verdict, Verdict::PolicyNotMet, "{}", r.render());
    assert_eq!(r.verdict.exit_code(), 4);
    assert_eq!(failed(&r).len(), 3, "{}", r.render());
    let (r, _) = verify_claim(&text, &[], &VerifyOptions::integrity_only());
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    assert_eq!(r.verdict.exit_code(), 0);
    assert!(r.integrity_only);
    assert!(
        r.render()
            .starts_with("VERIFIED (INTEGRITY ONLY): 3 entries, ")
    );
    // verify_bundle is never integrity only.
    let mut f = Fixture::new();
    let s = Story::builds(&mut f);
    let b = f
        .bundle_of(&[&s.fw420], &BundleOptions::default())
        .to_cbor();
    assert_eq!(
        verify_bundle(&b, &trust(), &[]).verdict,
        Verdict::PolicyNotMet
    );
}

#[test]
fn a_rate_worded_stronger_than_asserted_fails_the_wording() {
    // 0.0001 % is 1000 ppb; the assertion (which a rule judges against the evidence) says 0.01 %.
    let text = claim(
        "CLM-FG3-ACC-003",
        "FMR below 0.0001 % with no measurable demographic bias, and compliant with the EU AI Act.",
        &ACCURACY_AND_COMPLIANCE.replace("value = 1000", "value = 100000"),
    );
    let (r, c) = verify_claim(&text, &profiles(), &VerifyOptions::default());
    assert_fails(
        &r,
        Verdict::PolicyNotMet,
        Step::Policy,
        Some(c),
        "the wording gives FMR 0.0001 %, but no assertion's value is that rate (assertions[0] has fmr_ppb 100000)",
    );
}

#[test]
fn a_wording_another_rule_fails_is_judged_and_failed() {
    // The wording names what the assertion carries, but credits the standard with the level:
    // pad-level-attribution fails the wording, which claim-wording-matches judged.
    let text = claim(
        "CLM-FG3-PAD-013",
        "FaceGate 3D passed ISO/IEC 30107-3 Level 2 testing with iBeta PAD.",
        PAD_LEVEL_2,
    );
    let (r, _) = verify_claim(&text, &profiles(), &VerifyOptions::default());
    let wording = r
        .judged
        .iter()
        .find(|j| j.field == "wording")
        .expect("the wording is a subject");
    assert_eq!(wording.outcome, JudgedOutcome::Failed, "{}", r.render());
    let by: Vec<&str> = wording.judged_by.iter().map(|b| b.rule.as_str()).collect();
    assert_eq!(by, ["claim-wording-matches"]);
    assert!(
        r.render()
            .contains("    wording: judged by claim-wording-matches (pad-ibeta-level2), FAILED\n"),
        "{}",
        r.render()
    );
}
