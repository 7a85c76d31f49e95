//! Accuracy evidence and rules: `accuracy-result` validation with field paths, and the
//! `accuracy-claim-backed` and `demographic-differential-max` rules passing, failing and not
//! applying, on small ledgers built with the library from the FaceGate example data.
#![cfg(feature = "store")]

mod story;

use evledger::evidence::{Evidence, EvidenceError, InputFormat};
use evledger::export::BundleOptions;
use evledger::policy::Profile;
use evledger::verify::{Check, Outcome, Report, Step, Verdict, verify_bundle};

use story::*;

const RESULT: &str = "accuracy-result-kbl-acc.toml";
const RESULT_CSIG: &str = "countersignature-accuracy.toml";
const CLAIM: &str = "claim-accuracy.toml";
const OVERCLAIM: &str = "claim-accuracy-overclaim.toml";
const BACKED: &str = "accuracy-claim-backed";
const DIFF: &str = "demographic-differential-max";
/// The matcher model firmware 4.2.0 ships, which the lab evaluated.
const MATCHER_420: &str = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e";
/// The matcher model firmware 4.2.1 ships.
const MATCHER_421: &str = "0b8d9e0f1a2b3c4d5e6f701a2b3c4d6f708192a3b4c5d6e7f8f8091a2b3c4d5e";

fn shipped_text() -> String {
    std::fs::read_to_string(profile_path("accuracy-iso19795.toml")).expect("profile")
}

/// The shipped accuracy profile with its text edited.
fn profile(edits: &[(&str, &str)]) -> Profile {
    let mut t = shipped_text();
    for (from, to) in edits {
        assert!(t.contains(from), "{from}");
        t = t.replace(from, to);
    }
    Profile::parse(&t).unwrap_or_else(|e| panic!("{e}\n{t}"))
}

/// The buyer's trust file, with product/legal allowed to record accuracy results.
fn trust() -> TrustSpec {
    TrustSpec::default().allow("product-legal", "accuracy-result")
}

/// The profiles a test verifies with: `profiles`, and a rule that judges each claim's wording
/// against its assertions, so that a claim can be verified as a whole (every subject judged).
fn with_wording(profiles: &[Profile]) -> Vec<Profile> {
    let wording = Profile::parse(
        "format = \"evledger-profile/1\"\nid = \"wording\"\nversion = \"1\"\ntitle = \"t\"\n\
         [[rule]]\nid = \"claim-wording-matches\"\ntype = \"claim-wording-matches\"\ncitation = \"c\"\n",
    )
    .expect("wording profile");
    profiles.iter().cloned().chain([wording]).collect()
}

/// A story: builds 4.2.0 and 4.2.1, the accuracy result (edited), optionally countersigned by
/// `csig`.
struct Acc {
    f: Fixture,
    s: Story,
    result: String,
    csig: String,
}

impl Acc {
    fn new(edit: impl Fn(String) -> String, csig: Option<Who>) -> Acc {
        let mut f = Fixture::new();
        let s = Story::builds(&mut f);
        let result = f.record("accuracy-result", &edit(s.example(RESULT)), Who::Legal);
        let mut a = Acc {
            f,
            s,
            result,
            csig: String::new(),
        };
        if let Some(who) = csig {
            let text = a.fill(example(RESULT_CSIG, &[]));
            a.csig = a.f.record("countersignature", &text, who);
        }
        a
    }

    fn standard() -> Acc {
        Acc::new(|t| t, Some(Who::Lab))
    }

    fn fill(&self, mut text: String) -> String {
        if self.csig.is_empty() {
            text = text.replace(r#", "@ACC_COUNTERSIG@""#, "");
        }
        for (p, v) in self.s.fills() {
            text = text.replace(p, &v);
        }
        text.replace("@ACC_RESULT@", &self.result)
            .replace("@ACC_COUNTERSIG@", &self.csig)
    }

    /// Records a claim example with `edit` applied; returns its entry hash.
    fn claim(&mut self, file: &str, edit: impl Fn(String) -> String) -> String {
        let text = self.fill(edit(example(file, &[])));
        self.f.record("claim", &text, Who::Legal)
    }

    fn verify(&mut self, entry: &str, profiles: &[Profile]) -> (Report, u64) {
        let idx = self.f.ledger.resolve(entry).expect("entry").index;
        let b = self
            .f
            .bundle_of(&[entry], &BundleOptions::default())
            .to_cbor();
        (
            verify_bundle(&b, &trust().load(&self.f.keys), &with_wording(profiles)),
            idx,
        )
    }
}

fn checks<'r>(r: &'r Report, id: &str, entry: u64) -> Vec<&'r Check> {
    let prefix = format!("{id}: ");
    r.checks
        .iter()
        .filter(|c| c.step == Step::Policy && c.message.starts_with(&prefix))
        .filter(|c| c.entry == Some(entry))
        .collect()
}

#[track_caller]
fn passes(r: &Report, id: &str, entry: u64, field: &str, fragment: &str) {
    let cs = checks(r, id, entry);
    let c = cs
        .iter()
        .find(|c| c.field.as_deref() == Some(field))
        .unwrap_or_else(|| panic!("no {id} check on {field}:\n{}", r.render()));
    assert_eq!(c.outcome, Outcome::Pass, "{}", r.render());
    assert!(c.message.contains(fragment), "{fragment}\n{}", r.render());
    assert!(c.citation.as_deref().is_some_and(|x| x.contains("19795")));
}

#[track_caller]
fn fails(r: &Report, id: &str, entry: u64, field: &str, fragment: &str) {
    assert_eq!(r.verdict, Verdict::PolicyNotMet, "{}", r.render());
    let hit = checks(r, id, entry).into_iter().any(|c| {
        c.field.as_deref() == Some(field)
            && c.outcome == Outcome::Fail
            && c.message.contains(fragment)
    });
    assert!(
        hit,
        "no failed {id} check on {field} with {fragment:?}:\n{}",
        r.render()
    );
}

// ---------------------------------------------------------------------------------------------
// accuracy-claim-backed

#[test]
fn an_accuracy_claim_backed_by_a_countersigned_result_passes() {
    let mut a = Acc::standard();
    let c = a.claim(CLAIM, |t| t);
    let (r, c) = a.verify(&c, &[profile(&[])]);
    assert_verified(&r);
    passes(
        &r,
        BACKED,
        c,
        "assertions[0]",
        "claim \"CLM-FG3-ACC-001\" asserts FMR <= 1e-6 (verification, matcher 0b1c2d3e4f5a); met by accuracy result 2",
    );
    passes(&r, BACKED, c, "assertions[1]", "asserts FNMR <= 3e-3");
    passes(
        &r,
        DIFF,
        c,
        "assertions[0]",
        "highest group FNMR 2.4e-3 (female-40-plus), lowest 1.8e-3 (male-40-plus): ratio 1.33, within the 1.50 your profile allows",
    );
    // The report names both rules as judging each accuracy assertion.
    for field in ["assertions[0]", "assertions[1]"] {
        let j = r
            .judged
            .iter()
            .find(|j| j.entry == c && j.field == field)
            .expect("judgement");
        let rules: Vec<&str> = j.judged_by.iter().map(|b| b.rule.as_str()).collect();
        assert_eq!(rules, [BACKED, DIFF], "{field}");
    }
}

#[test]
fn the_example_over_claim_is_caught() {
    let mut a = Acc::standard();
    let c = a.claim(OVERCLAIM, |t| t);
    let (r, c) = a.verify(&c, &[profile(&[])]);
    fails(
        &r,
        BACKED,
        c,
        "assertions[0]",
        "accuracy result 2 (report KBL-ACC-2026-0031) measured FMR 1e-6 (1000 ppb), which does not meet the claimed <= 1e-7",
    );
    fails(
        &r,
        BACKED,
        c,
        "assertions[0]",
        "applies_to.builds[1] (firmware 4.2.1) does not ship the claimed matcher model 0b1c2d3e4f5a",
    );
}

#[test]
fn a_claim_about_another_matcher_is_not_backed() {
    let mut a = Acc::standard();
    let c = a.claim(CLAIM, |t| {
        t.replace(MATCHER_420, MATCHER_421)
            .replace(r#"builds = ["@FW_420@"]"#, r#"builds = ["@FW_421@"]"#)
    });
    let (r, c) = a.verify(&c, &[profile(&[])]);
    fails(
        &r,
        BACKED,
        c,
        "assertions[0]",
        "accuracy result 2 evaluated matcher model 0b1c2d3e4f5a, not the claimed 0b8d9e0f1a2b",
    );
    // No result for that matcher: no differential can be shown either.
    fails(
        &r,
        DIFF,
        c,
        "assertions[0]",
        "it cites no verified accuracy result for the claimed matcher 0b8d9e0f1a2b in verification",
    );
}

#[test]
fn a_claim_in_another_mode_is_not_backed() {
    let mut a = Acc::standard();
    let c = a.claim(CLAIM, |t| {
        t.replace(r#"mode = "verification""#, r#"mode = "identification""#)
    });
    let (r, c) = a.verify(&c, &[profile(&[])]);
    fails(
        &r,
        BACKED,
        c,
        "assertions[1]",
        "accuracy result 2 measured verification, not identification",
    );
}

#[test]
fn a_lab_result_without_the_labs_countersignature_does_not_back() {
    let mut a = Acc::new(|t| t, None);
    let c = a.claim(CLAIM, |t| t);
    let (r, c) = a.verify(&c, &[profile(&[])]);
    fails(
        &r,
        BACKED,
        c,
        "assertions[0]",
        "accuracy result 2 (report KBL-ACC-2026-0031) is not countersigned by a key in role lab",
    );
    // Countersigned by a key in another role (product/legal endorsing its own transcription).
    let mut a = Acc::new(|t| t, Some(Who::Legal));
    let c = a.claim(CLAIM, |t| t);
    let trust = trust().allow("product-legal", "countersignature");
    let idx = a.f.ledger.resolve(&c).expect("entry").index;
    let b = a.f.bundle_of(&[&c], &BundleOptions::default()).to_cbor();
    let r = verify_bundle(&b, &trust.load(&a.f.keys), &with_wording(&[profile(&[])]));
    fails(
        &r,
        BACKED,
        idx,
        "assertions[0]",
        "is not countersigned by a key in role lab",
    );
}

/// The result as a public evaluation (NIST FRTE), which countersigns nothing.
fn public(t: String) -> String {
    t.replace(
        "kind = \"accredited-lab\"\nname = \"Kestrel Biometric Test Lab\"\naccreditation_body = \"NVLAP\"\naccreditation_id = \"NVLAP Lab Code 600417-0\"",
        "kind = \"public-evaluation\"\nname = \"NIST FRTE 1:1\"\nsubmission_id = \"aurelis-003\"",
    )
}

#[test]
fn a_public_evaluation_backs_a_claim_only_where_the_profile_accepts_it() {
    let mut a = Acc::new(public, None);
    let claim = a.claim(CLAIM, |t| t);
    let (r, c) = a.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        BACKED,
        c,
        "assertions[0]",
        "accuracy result 2 is a public evaluation by NIST FRTE 1:1, which your profile does not accept (it accepts none",
    );
    let accepting = profile(&[(
        "public_evaluations = []",
        r#"public_evaluations = ["NIST FRTE 1:1"]"#,
    )]);
    let (r, c) = a.verify(&claim, &[accepting]);
    assert_verified(&r);
    passes(&r, BACKED, c, "assertions[0]", "met by accuracy result 2");
}

#[test]
fn accuracy_rules_do_not_apply_to_claims_without_accuracy_assertions() {
    let mut a = Acc::standard();
    let pad = a.claim(CLAIM2, |t| {
        t.replace(
            r#"evidence = ["@LAB_RESULT@", "@COUNTERSIG@"]"#,
            "evidence = []",
        )
    });
    let (r, c) = a.verify(&pad, &[profile(&[])]);
    assert!(checks(&r, BACKED, c).is_empty(), "{}", r.render());
    assert!(checks(&r, DIFF, c).is_empty(), "{}", r.render());
}

#[test]
fn an_accuracy_assertion_that_names_too_little_is_not_backed_but_still_parses() {
    let mut a = Acc::standard();
    // An accuracy assertion as claims wrote them before mode and matcher_sha256 existed.
    let c = a.claim(CLAIM, |t| {
        t.replace(
            &format!("mode = \"verification\"\nmatcher_sha256 = \"{MATCHER_420}\"\n"),
            "",
        )
    });
    let (r, c) = a.verify(&c, &[profile(&[])]);
    fails(
        &r,
        BACKED,
        c,
        "assertions[0]",
        "claim \"CLM-FG3-ACC-001\" assertion 0 (accuracy) cannot be backed by any test result: it does not say whether it is about verification (1:1) or identification (1:N) (mode); it does not name the matcher model it is about (matcher_sha256)",
    );
    fails(
        &r,
        DIFF,
        c,
        "assertions[1]",
        "names no mode and matcher model",
    );
    // No metric at all: the wording "no measurable demographic bias" alone.
    let mut a = Acc::standard();
    let c = a.claim(CLAIM, |t| {
        t.replacen(
            "metric = \"fmr_ppb\"\ncomparator = \"le\"\nvalue = 1000            # FMR <= 1e-6\n",
            "",
            1,
        )
    });
    let (r, c) = a.verify(&c, &[profile(&[])]);
    fails(
        &r,
        BACKED,
        c,
        "assertions[0]",
        "it states no metric (fmr_ppb, fnmr_ppb or fte_ppb",
    );
}

#[test]
fn a_scheme_or_level_on_an_accuracy_assertion_is_not_passed_unjudged() {
    let mut a = Acc::standard();
    let c = a.claim(CLAIM, |t| {
        t.replacen(
            "type = \"accuracy\"\n",
            "type = \"accuracy\"\nscheme = \"FIDO Biometric Component\"\nlevel = 2\n",
            1,
        )
    });
    let (r, c) = a.verify(&c, &[profile(&[])]);
    fails(
        &r,
        BACKED,
        c,
        "assertions[0]",
        "cannot be backed by any test result: it names scheme FIDO Biometric Component, which no accuracy result reports (a certificate backs a scheme: that is a compliance assertion); it names level 2, which no accuracy result reports",
    );
    passes(&r, BACKED, c, "assertions[1]", "met by accuracy result 2");
}

#[test]
fn a_claim_that_cites_no_result_is_not_backed() {
    let mut a = Acc::standard();
    let c = a.claim(CLAIM, |t| {
        t.replace(
            r#"evidence = ["@ACC_RESULT@", "@ACC_COUNTERSIG@"]"#,
            "evidence = []",
        )
    });
    let (r, c) = a.verify(&c, &[profile(&[])]);
    fails(
        &r,
        BACKED,
        c,
        "assertions[0]",
        "it cites no verified accuracy result (directly or through a countersignature)",
    );
}

#[test]
fn report_age_is_judged_at_the_witnessed_time_never_the_claims_own() {
    let mut a = Acc::standard();
    let c = a.claim(CLAIM, |t| t);
    let aged = profile(&[("# max_report_age_days = 730", "max_report_age_days = 730")]);
    let (r, c) = a.verify(&c, &[aged]);
    fails(
        &r,
        BACKED,
        c,
        "assertions[0]",
        "the age of report KBL-ACC-2026-0031 cannot be judged: the claim has no witnessed time",
    );
    let check = checks(&r, BACKED, c)
        .into_iter()
        .find(|x| x.field.as_deref() == Some("assertions[0]"))
        .expect("check");
    assert_eq!(check.clock, Some(evledger::verify::Clock::Witnessed));
}

/// The result with its overall rates replaced, under another report id and threshold.
fn at_threshold(t: String, report: &str, score: &str, fmr: u64, fnmr: u64) -> String {
    let start = t.find("[overall]").expect("overall");
    let end = t.find("[[groups]]").expect("groups");
    format!(
        "{}[overall]\nfmr_ppb = {fmr}\nfnmr_ppb = {fnmr}\nfte_ppb = 500000\n\n{}",
        &t[..start],
        &t[end..]
    )
    .replace("KBL-ACC-2026-0031", report)
    .replace("score = \"0.6821\"", &format!("score = \"{score}\""))
}

#[test]
fn fmr_and_fnmr_from_different_thresholds_do_not_combine() {
    // A strict threshold: low FMR, high FNMR; a lenient one: the reverse. Each claimed rate is
    // met by one of them, but the claim's FMR and FNMR are one operating point.
    let mut a = Acc::new(
        |t| at_threshold(t, "KBL-ACC-2026-0032", "0.7900", 100, 50_000_000),
        Some(Who::Lab),
    );
    let strict = (a.result.clone(), a.csig.clone());
    let lenient = a.f.record(
        "accuracy-result",
        &at_threshold(
            a.s.example(RESULT),
            "KBL-ACC-2026-0033",
            "0.5100",
            10_000,
            1_000_000,
        ),
        Who::Legal,
    );
    a.result = lenient.clone();
    let text = a.fill(example(RESULT_CSIG, &[]));
    let lenient_csig = a.f.record("countersignature", &text, Who::Lab);
    let both = format!(
        "evidence = [\"{}\", \"{}\", \"{lenient}\", \"{lenient_csig}\"]",
        strict.0, strict.1
    );
    let claim = a.claim(CLAIM, |t| {
        t.replace(r#"evidence = ["@ACC_RESULT@", "@ACC_COUNTERSIG@"]"#, &both)
    });
    let (r, c) = a.verify(&claim, &[profile(&[])]);
    for field in ["assertions[0]", "assertions[1]"] {
        fails(
            &r,
            BACKED,
            c,
            field,
            "no single accuracy result meets all 2 of the claim's accuracy assertions about matcher 0b1c2d3e4f5a in verification (assertion 0 by accuracy result 2, assertion 1 by accuracy result 4): rates measured at different thresholds do not hold together",
        );
    }
    // A claim of the FMR alone is met by the strict threshold's result.
    let fmr_only = a.claim(CLAIM, |t| {
        let cut = t.rfind("[[assertions]]").expect("second assertion");
        let tail = &t[cut..];
        let approvals = tail.find("[[approvals]]").expect("approvals");
        format!("{}{}", &t[..cut], &tail[approvals..])
            .replace(r#"evidence = ["@ACC_RESULT@", "@ACC_COUNTERSIG@"]"#, &both)
            .replace("CLM-FG3-ACC-001", "CLM-FG3-ACC-010")
    });
    let (r, c) = a.verify(&fmr_only, &[profile(&[])]);
    passes(&r, BACKED, c, "assertions[0]", "met by accuracy result 2");
}

// ---------------------------------------------------------------------------------------------
// demographic-differential-max

/// The result with the FNMR of group `id` set to `fnmr` ppb (counts dropped).
fn group_fnmr(t: String, id: &str, fnmr: u64) -> String {
    let start = t.find(&format!("id = \"{id}\"")).expect("group");
    let line = start + t[start..].find("rates = {").expect("rates");
    let end = line + t[line..].find('\n').expect("line end");
    let mut out = t[..line].to_owned();
    out += &format!("rates = {{ fmr_ppb = 1000, fnmr_ppb = {fnmr}, fte_ppb = 500000 }}");
    out += &t[end..];
    out
}

#[test]
fn a_differential_above_the_bound_fails() {
    let mut a = Acc::new(
        |t| group_fnmr(t, "female-40-plus", 3_600_000),
        Some(Who::Lab),
    );
    let claim = a.claim(CLAIM, |t| t);
    let (r, c) = a.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        DIFF,
        c,
        "assertions[0]",
        "highest group FNMR 3.6e-3 (female-40-plus), lowest 1.8e-3 (male-40-plus): ratio 2.00, above the 1.50 your profile allows",
    );
    // The same result passes a buyer who allows a factor of 2.
    let lenient = profile(&[("max_ratio_milli = 1500", "max_ratio_milli = 2000")]);
    let (r, c) = a.verify(&claim, &[lenient]);
    passes(&r, DIFF, c, "assertions[0]", "ratio 2.00, within the 2.00");
}

#[test]
fn a_zero_lowest_rate_counts_as_the_floor_and_never_passes_by_division_by_zero() {
    let mut a = Acc::new(|t| group_fnmr(t, "male-40-plus", 0), Some(Who::Lab));
    let c = a.claim(CLAIM, |t| t);
    let (r, c) = a.verify(&c, &[profile(&[])]);
    fails(
        &r,
        DIFF,
        c,
        "assertions[0]",
        "lowest 0 (male-40-plus), counted as your profile's floor 1e-5 because a lower rate cannot be measured reliably: ratio 240.00, above the 1.50",
    );
}

#[test]
fn groups_with_no_errors_at_all_show_no_differential() {
    let zero = |t: String| {
        [
            "female-18-39",
            "male-18-39",
            "female-40-plus",
            "male-40-plus",
        ]
        .iter()
        .fold(t, |t, g| group_fnmr(t, g, 0))
    };
    let mut a = Acc::new(zero, Some(Who::Lab));
    let c = a.claim(CLAIM, |t| t);
    let (r, c) = a.verify(&c, &[profile(&[])]);
    passes(&r, DIFF, c, "assertions[0]", "ratio 0.00, within the 1.50");
}

#[test]
fn too_few_groups_cannot_show_a_differential() {
    let mut a = Acc::new(
        |t| {
            let cut = t
                .find("[[groups]]\nid = \"female-40-plus\"")
                .expect("group");
            t[..cut].to_owned()
        },
        Some(Who::Lab),
    );
    let c = a.claim(CLAIM, |t| t);
    let (r, c) = a.verify(&c, &[profile(&[])]);
    fails(
        &r,
        DIFF,
        c,
        "assertions[0]",
        "accuracy result 2 reports 2 demographic group(s); your profile needs at least 4",
    );
}

#[test]
fn the_profile_refuses_a_zero_floor_and_a_ratio_below_one() {
    let t = shipped_text();
    let e = Profile::parse(&t.replace("zero_floor_ppb = 10000", "zero_floor_ppb = 0")).unwrap_err();
    assert_eq!(
        e,
        "rule[1].zero_floor_ppb: must be at least 1, so that a group with no errors never divides by zero"
    );
    let e =
        Profile::parse(&t.replace("max_ratio_milli = 1500", "max_ratio_milli = 999")).unwrap_err();
    assert!(
        e.starts_with("rule[1].max_ratio_milli: 999 is below 1000"),
        "{e}"
    );
    let e = Profile::parse(&t.replace("min_groups = 4", "min_groups = 1")).unwrap_err();
    assert!(e.starts_with("rule[1].min_groups:"), "{e}");
    let e = Profile::parse(&t.replace(
        r#"standards = ["ISO/IEC 19795-1:2021", "#,
        r#"standards = ["ISO/IEC 19795-1:2006", "#,
    ))
    .unwrap_err();
    assert!(
        e.starts_with("rule[0].standards: \"ISO/IEC 19795-1:2006\" is not one"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// accuracy-result validation

fn invalid(edit: impl Fn(String) -> String) -> Vec<String> {
    let text = edit(example(RESULT, &[]));
    match Evidence::from_input("accuracy-result", &text, InputFormat::Toml) {
        Err(EvidenceError::Invalid(ps)) => ps
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect(),
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[test]
fn the_example_accuracy_result_is_valid() {
    let e = Evidence::from_input("accuracy-result", &example(RESULT, &[]), InputFormat::Toml)
        .expect("valid");
    assert!(!e.is_adverse());
    let back = Evidence::from_payload("accuracy-result", &e.to_payload()).expect("round trip");
    assert_eq!(back, e);
    assert!(
        e.render()
            .contains("overall         FMR 1e-6  FNMR 2.1e-3  FTE 5e-4"),
        "{}",
        e.render()
    );
}

#[test]
fn rates_must_match_their_counts_and_stay_within_one() {
    assert_eq!(
        invalid(|t| t.replace("fmr_ppb = 1000                      #", "fmr_ppb = 999 #")),
        [
            "overall.fmr_ppb: must be 1000 (false_matches * 1000000000 / impostor_comparisons, rounded half up), not 999"
        ]
    );
    assert_eq!(
        invalid(|t| t.replace("false_matches = 200\n", "")),
        ["overall.false_matches: required when impostor_comparisons is given"]
    );
    assert_eq!(
        invalid(|t| t.replace("false_non_matches = 525", "false_non_matches = 250001")),
        ["overall.false_non_matches: must be <= genuine_comparisons (250000)"]
    );
    assert_eq!(
        invalid(|t| t.replace("fmr_ppb = 900,", "fmr_ppb = 1000000001,")),
        ["groups[1].rates.fmr_ppb: must be at most 1000000000 (a rate of 1)"]
    );
}

#[test]
fn the_evaluator_kind_decides_which_fields_it_needs() {
    assert_eq!(
        invalid(|t| t.replace("accreditation_id = \"NVLAP Lab Code 600417-0\"\n", "")),
        ["evaluator.accreditation_id: required for an evaluator of kind accredited-lab"]
    );
    assert_eq!(
        invalid(|t| public(t).replace(
            "submission_id = \"aurelis-003\"",
            "accreditation_body = \"NVLAP\""
        )),
        [
            "evaluator.accreditation_body: does not apply to an evaluator of kind public-evaluation",
            "evaluator.submission_id: required for an evaluator of kind public-evaluation",
        ]
    );
}

#[test]
fn standard_groups_and_threshold_are_checked() {
    assert_eq!(
        invalid(|t| t.replace("ISO/IEC 19795-10:2024", "ISO/IEC 19795-1:2006")),
        ["standard: must be one of ISO/IEC 19795-1:2021, ISO/IEC 19795-10:2024"]
    );
    assert_eq!(
        invalid(|t| t[..t.find("[[groups]]\nid = \"male-18-39\"").expect("group")].to_owned()),
        ["groups: must list at least two demographic groups for ISO/IEC 19795-10:2024"]
    );
    assert_eq!(
        invalid(|t| t.replace("id = \"male-18-39\"", "id = \"female-18-39\"")),
        ["groups[1]: duplicates an earlier item"]
    );
    assert_eq!(
        invalid(|t| t.replace("score = \"0.6821\"", "score = \"6.8e-1\"")),
        ["threshold.score: must be decimal text such as 0.6821 or -12.5 (at most 40 bytes)"]
    );
}

#[test]
fn a_rate_written_as_a_float_is_refused_with_its_path() {
    let text = example(RESULT, &[]).replace(
        "fte_ppb = 500000                    #",
        "fte_ppb = 0.0005 #",
    );
    let e = Evidence::from_input("accuracy-result", &text, InputFormat::Toml).unwrap_err();
    assert!(e.to_string().starts_with("overall.fte_ppb: "), "{e}");
}

#[test]
fn mode_and_matcher_belong_to_accuracy_assertions_only() {
    let text = example(
        CLAIM2,
        &[
            ("@FW_420@", MATCHER_420),
            ("@FW_421@", MATCHER_421),
            ("@LAB_RESULT@", MATCHER_420),
            ("@COUNTERSIG@", MATCHER_421),
        ],
    )
    .replace("value = 10000", "value = 10000\nmode = \"verification\"");
    match Evidence::from_input("claim", &text, InputFormat::Toml) {
        Err(EvidenceError::Invalid(ps)) => {
            assert_eq!(ps[0].path, "assertions[0].mode");
            assert_eq!(ps[0].message, "only applies to accuracy assertions");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_report_and_the_dataset_manifest_may_be_named_as_files() {
    use evledger::evidence::FileDigest;
    let report = b"KBL-ACC-2026-0031 report".as_slice();
    let manifest = b"sample list".as_slice();
    let resolve = |name: &str| match name {
        "report.pdf" => Ok(FileDigest::of(report)),
        "manifest.csv" => Ok(FileDigest::of(manifest)),
        other => Err(format!("no document {other}")),
    };
    let text = example(RESULT, &[])
        .replace(
            "sha256 = \"4d2a8f61c09be7305fd1e6a3b8c47f1902de5a6b73c8e0f94a1d2b6c3e5f7081\"",
            "file = \"report.pdf\"",
        )
        .replace(
            "manifest_sha256 = \"9c0e1d2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d\"",
            "manifest_file = \"manifest.csv\"",
        );
    let e = Evidence::from_input_with_files("accuracy-result", &text, InputFormat::Toml, &resolve)
        .expect("files resolve");
    let json = e.to_json();
    let hex = |b: &[u8]| evledger::hex::encode(&FileDigest::of(b).sha256);
    assert_eq!(json["report"]["sha256"], hex(report));
    assert_eq!(json["dataset"]["manifest_sha256"], hex(manifest));
    let missing = text.replace("manifest.csv", "gone.csv");
    let err =
        Evidence::from_input_with_files("accuracy-result", &missing, InputFormat::Toml, &resolve)
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "dataset.manifest_file: no document gone.csv"
    );
}

/// A witness's cosignature at `t` on the bundle's checkpoint, and a trust file that requires it.
fn witnessed(bundle: &[u8], t: u64, keys: &Keys) -> (Vec<u8>, evledger::trust::TrustFile) {
    use evledger::note::{CosignatureSigner, Note};
    let witness = CosignatureSigner::new(
        "witness.example/w1",
        ed25519_dalek::SigningKey::from_bytes(&[32; 32]),
    )
    .expect("witness");
    let mut b = evledger::bundle::Bundle::parse(bundle, &Default::default()).expect("bundle");
    let mut note = Note::parse(&b.checkpoint).expect("note");
    note.add_signature(witness.sign(note.text(), t).expect("cosign"));
    b.checkpoint = note.to_text();
    let text = format!(
        "{}\n[witnesses]\nquorum = 1\nkeys = [\"{}\"]\n",
        trust().text(keys),
        witness.verifier()
    );
    let read = |n: &str| std::fs::read(n).map_err(|e| format!("{n}: {e}"));
    let trust = evledger::trust::TrustFile::parse(&text, "trust.toml", &read).expect("trust");
    (b.to_cbor(), trust)
}

#[test]
fn report_age_is_met_or_exceeded_at_the_witnessed_time() {
    let mut a = Acc::standard();
    let claim = a.claim(CLAIM, |t| t);
    let idx = a.f.ledger.resolve(&claim).expect("entry").index;
    let bundle =
        a.f.bundle_of(&[&claim], &BundleOptions::default())
            .to_cbor();
    let aged = profile(&[("# max_report_age_days = 730", "max_report_age_days = 365")]);
    // The report was issued 2026-03-20T10:00:00Z.
    let issued = 1_774_000_800;
    let (young, trust) = witnessed(&bundle, issued + 364 * 86_400, &a.f.keys);
    let r = verify_bundle(&young, &trust, &with_wording(std::slice::from_ref(&aged)));
    passes(&r, BACKED, idx, "assertions[0]", "met by accuracy result 2");
    let (old, trust) = witnessed(&bundle, issued + 400 * 86_400, &a.f.keys);
    let r = verify_bundle(&old, &trust, &with_wording(&[aged]));
    fails(
        &r,
        BACKED,
        idx,
        "assertions[0]",
        "report KBL-ACC-2026-0031 was issued 400 days before the claim was witnessed in the log, more than the 365 your profile allows",
    );
}
