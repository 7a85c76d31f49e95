//! Policy profiles: parsing errors with their exact messages, and every rule passing and failing
//! on small ledgers built with the library.
#![cfg(feature = "store")]

mod story;

use evledger::export::BundleOptions;
use evledger::policy::Profile;
use evledger::verify::{Check, Outcome, Report, Step, Verdict, verify_bundle};
use sha2::{Digest, Sha256};

use story::*;

// ---------------------------------------------------------------------------------------------
// Profile format

const MINIMAL: &str = r#"
format = "evledger-profile/1"
id = "p"
version = "1"
title = "t"

[[rule]]
id = "r"
type = "no-claim-on-affected-build"
citation = "c"
"#;

fn parse_err(text: &str) -> String {
    Profile::parse(text).expect_err("profile must be refused")
}

#[test]
fn minimal_profile_parses() {
    let p = Profile::parse(MINIMAL).expect("minimal profile");
    assert_eq!((p.id.as_str(), p.rules.len()), ("p", 1));
}

#[test]
fn shipped_profiles_parse() {
    let p = profiles();
    assert_eq!(p[0].id, "pad-ibeta-level2");
    assert_eq!(p[0].rules.len(), 4);
    assert_eq!(p[1].id, "incident-gdpr-art33");
}

#[test]
fn wrong_format_string() {
    assert_eq!(
        parse_err(&MINIMAL.replace("evledger-profile/1", "evledger-profile/2")),
        r#"format: "evledger-profile/2" is not "evledger-profile/1""#
    );
}

#[test]
fn unknown_rule_type() {
    assert_eq!(
        parse_err(&MINIMAL.replace("no-claim-on-affected-build", "no-claims-at-all")),
        "rule[0].type: unknown variant `no-claims-at-all`, expected one of `pad-claim-backed`, \
         `pad-level-attribution`, `claim-wording-matches`, `incident-notification`, \
         `no-claim-on-affected-build`, `certificate-time`, `accuracy-claim-backed`, \
         `demographic-differential-max`, `compliance-claim-backed`, `bundle-complete`, \
         `privacy-design-backed`, `incident-report`, `incident-documented`, \
         `classification-current`, `hrdd-before-decision`, `art5-notification-recorded`, \
         `ear-screening-before-shipment`, `licence-covers`, `ear-crime-control`, \
         `record-retention`, `end-use-check-required`, `unfavourable-check-blocks`, \
         `biometric-retention`, `gdpr-deployment`, `cn-face-filing`, `slsa-provenance`"
    );
}

#[test]
fn unknown_field() {
    assert_eq!(
        parse_err(&format!("{MINIMAL}threshold = 3\n")),
        "rule[0]: unknown field `threshold`, expected `id` or `citation`"
    );
    assert_eq!(
        parse_err(&MINIMAL.replace("title = \"t\"", "title = \"t\"\nauthor = \"x\"")),
        "author: unknown field `author`, expected one of `format`, `id`, `version`, `title`, `rule`"
    );
}

#[test]
fn duplicate_rule_id() {
    let twice = format!(
        "{MINIMAL}{}",
        &MINIMAL[MINIMAL.find("[[rule]]").expect("rule")..]
    );
    assert_eq!(parse_err(&twice), r#"rule[1].id: "r" is used twice"#);
}

#[test]
fn empty_citation() {
    assert_eq!(
        parse_err(&MINIMAL.replace("citation = \"c\"", "citation = \"  \"")),
        "rule[0].citation: must not be empty"
    );
}

#[test]
fn missing_rules_and_wrong_types() {
    let header = &MINIMAL[..MINIMAL.find("[[rule]]").expect("rule")];
    assert_eq!(parse_err(header), "missing field `rule`");
    assert_eq!(
        parse_err(&format!("{header}rule = []\n")),
        "rule: a profile needs at least one rule"
    );
    let pad = r#"
[[rule]]
id = "pad"
type = "pad-claim-backed"
citation = "c"
min_attempts_per_species = -1
max_apcer_ppm = 0
max_bpcer_ppm = 0
build_match = "tested-build"
"#;
    // Inside the internally tagged rule enum serde loses the field's name for type errors.
    assert_eq!(
        parse_err(&format!("{header}{pad}")),
        "rule[0]: invalid value: integer `-1`, expected u64"
    );
    assert_eq!(
        parse_err(&format!(
            "{header}{}",
            pad.replace("-1", "1").replace("tested-build", "any-build")
        )),
        "rule[0]: unknown variant `any-build`, expected `tested-build` or `same-pad-model`"
    );
    assert_eq!(
        parse_err(&format!(
            "{header}{}",
            pad.replace("-1", "1")
                .replace("build_match", "required_species = [\"paper\"]\nbuild_match")
        )),
        "rule[0]: unknown variant `paper`, expected one of `print`, `replay`, \
         `mask-2d`, `mask-3d`, `makeup`, `prosthetic`, `injection`, `other`"
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn shipped(name: &str) -> String {
    std::fs::read_to_string(profile_path(name)).expect("profile")
}

fn profile(text: &str) -> Profile {
    Profile::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The shipped PAD profile with its text edited.
fn pad_profile(edits: &[(&str, &str)]) -> Profile {
    let mut t = shipped("pad-ibeta-level2.toml");
    for (from, to) in edits {
        assert!(t.contains(from), "{from}");
        t = t.replace(from, to);
    }
    profile(&t)
}

/// Checks of rule `id`.
fn rule_checks<'r>(r: &'r Report, id: &str) -> Vec<&'r Check> {
    let prefix = format!("{id}: ");
    r.checks
        .iter()
        .filter(|c| c.step == Step::Policy && c.message.starts_with(&prefix))
        .collect()
}

/// Asserts that rule `id` produced exactly one check on `entry`, passing, mentioning `fragment`.
#[track_caller]
fn assert_rule_passes(r: &Report, id: &str, entry: u64, fragment: &str) {
    let cs: Vec<_> = rule_checks(r, id)
        .into_iter()
        .filter(|c| c.entry == Some(entry))
        .collect();
    assert_eq!(cs.len(), 1, "{}", r.render());
    assert_eq!(cs[0].outcome, Outcome::Pass, "{}", r.render());
    assert!(cs[0].message.contains(fragment), "{}", r.render());
    assert!(cs[0].citation.as_deref().is_some_and(|c| !c.is_empty()));
}

/// Asserts "policy not met" with a failed check of rule `id` on `entry` mentioning `fragment`.
#[track_caller]
fn assert_rule_fails(r: &Report, id: &str, entry: u64, fragment: &str) {
    assert_fails(
        r,
        Verdict::PolicyNotMet,
        Step::Policy,
        Some(entry),
        fragment,
    );
    assert!(
        rule_checks(r, id)
            .iter()
            .any(|c| c.outcome == Outcome::Fail && c.message.contains(fragment)),
        "{}",
        r.render()
    );
}

/// Asserts that every failed check is a "not judged" one, on exactly `fields` of `entry`: the
/// rules under test held, and the profile under test judges nothing else of the claim.
#[track_caller]
fn assert_held_but_not_judged(r: &Report, entry: u64, fields: &[&str]) {
    assert_eq!(r.verdict, Verdict::PolicyNotMet, "{}", r.render());
    let failed: Vec<(Option<u64>, Option<&str>)> = r
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .inspect(|c| assert!(c.message.starts_with("not judged: "), "{}", r.render()))
        .map(|c| (c.entry, c.field.as_deref()))
        .collect();
    let want: Vec<(Option<u64>, Option<&str>)> =
        fields.iter().map(|f| (Some(entry), Some(*f))).collect();
    assert_eq!(failed, want, "{}", r.render());
}

/// A PAD story: builds 4.2.0 and 4.2.1, a lab result on 4.2.0 (edited), optionally its
/// countersignature by `csig`, and the Level 2 claim (edited; `@COUNTERSIG@` dropped from its
/// evidence when there is no countersignature).
struct Pad {
    f: Fixture,
    s: Story,
}

impl Pad {
    fn new(edit_lab: impl Fn(String) -> String, csig: Option<Who>) -> Pad {
        let mut f = Fixture::new();
        let mut s = Story::builds(&mut f);
        s.lab = f.record("lab-result", &edit_lab(s.example(LAB)), Who::Legal);
        if let Some(who) = csig {
            s.csig = f.record("countersignature", &s.example(CSIG), who);
        }
        Pad { f, s }
    }

    fn standard() -> Pad {
        Pad::new(|t| t, Some(Who::PadOperator))
    }

    /// Records the Level 2 claim with `edit` applied to its text; returns its entry hash.
    fn claim(&mut self, edit: impl Fn(String) -> String) -> String {
        let mut text = example(CLAIM2, &[]);
        if self.s.csig.is_empty() {
            text = text.replace(r#", "@COUNTERSIG@""#, "");
        }
        let fills = self.s.fills();
        let mut text = edit(text);
        for (p, v) in &fills {
            text = text.replace(p, v);
        }
        self.f.record("claim", &text, Who::Legal)
    }

    /// Bundles `entry` and verifies it with `trust` and `profiles`; returns the report and the entry's index.
    fn verify(&mut self, entry: &str, trust: &TrustSpec, profiles: &[Profile]) -> (Report, u64) {
        self.verify_with(entry, trust, profiles, BundleOptions::default())
    }

    fn verify_with(
        &mut self,
        entry: &str,
        trust: &TrustSpec,
        profiles: &[Profile],
        options: BundleOptions,
    ) -> (Report, u64) {
        let idx = self.f.ledger.resolve(entry).expect("entry").index;
        let b = self.f.bundle_of(&[entry], &options).to_cbor();
        (verify_bundle(&b, &trust.load(&self.f.keys), profiles), idx)
    }
}

/// Verifies the standard claim over a lab result edited by `edit_lab` with the shipped PAD profile.
fn pad_report(edit_lab: impl Fn(String) -> String) -> (Report, u64) {
    let mut p = Pad::new(edit_lab, Some(Who::PadOperator));
    let c = p.claim(|t| t);
    p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])])
}

const PAD: &str = "pad-claim-backed";

// ---------------------------------------------------------------------------------------------
// pad-claim-backed

#[test]
fn pad_backed_claim_passes() {
    let (r, c) = pad_report(|t| t);
    assert_verified(&r);
    assert_rule_passes(
        &r,
        PAD,
        c,
        "claim \"CLM-FG3-PAD-002\" asserts iBeta PAD level 2; backed by lab result 2",
    );
}

#[test]
fn pad_claimed_level_above_tested_level_fails() {
    let mut p = Pad::standard();
    let c = p.claim(|t| t.replace("level = 2", "level = 3"));
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "lab result 2 (report IBQA-PAD-2026-0142) shows iBeta PAD level 2, below the claimed level 3",
    );
}

#[test]
fn pad_claimed_level_below_profile_minimum_fails() {
    let mut p = Pad::standard();
    let c = p.claim(|t| t.replace("level = 2", "level = 1"));
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_fails(&r, PAD, c, "level 1 is below the profile's minimum 2");
}

#[test]
fn pad_scheme_not_accepted_fails() {
    let mut p = Pad::new(
        |t| t.replace("name = \"iBeta PAD\"", "name = \"FIDO PAD\""),
        Some(Who::PadOperator),
    );
    // Worded and asserted alike, so that the wording rule holds.
    let c = p.claim(|t| t.replace("iBeta PAD", "FIDO PAD"));
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "scheme FIDO PAD is not one this profile accepts (iBeta PAD)",
    );
    // The lab result itself matches the claim's scheme: that is the only problem.
    assert_eq!(r.failures(), 1, "{}", r.render());
}

#[test]
fn pad_lab_under_another_scheme_fails() {
    let mut p = Pad::new(
        |t| t.replace("name = \"iBeta PAD\"", "name = \"FIDO PAD\""),
        Some(Who::PadOperator),
    );
    let c = p.claim(|t| t);
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "lab result 2 is under scheme FIDO PAD, not iBeta PAD",
    );
}

/// Removes the species block with this id from a lab result.
fn drop_species(text: String, id: &str) -> String {
    let start = text.find(&format!("id = \"{id}\"")).expect("species");
    let block = text[..start].rfind("[[species]]").expect("block");
    let end = text[start..]
        .find("[[species]]")
        .or_else(|| text[start..].find("[verdict]"))
        .map(|e| start + e)
        .expect("end");
    format!("{}{}", &text[..block], &text[end..])
}

#[test]
fn pad_required_species_missing_fails() {
    let (r, c) = pad_report(|t| drop_species(t, "PAI-03"));
    assert_rule_fails(&r, PAD, c, "lab result 2 tested no mask-3d species");
}

#[test]
fn pad_species_required_by_the_claim_only_is_checked() {
    // The profile requires print, replay and 3D masks; the claim adds make-up attacks.
    let mut p = Pad::standard();
    let c = p.claim(|t| t.replace(r#""mask-3d"]"#, r#""mask-3d", "makeup"]"#));
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_fails(&r, PAD, c, "lab result 2 tested no makeup species");
}

#[test]
fn pad_too_few_attempts_fails() {
    let (r, c) = pad_report(|t| {
        t.replacen(
            "attempts = 150\naccepted = 0",
            "attempts = 100\naccepted = 0",
            1,
        )
    });
    assert_rule_fails(
        &r,
        PAD,
        c,
        "species PAI-01 (print): 100 attempts, profile needs 150",
    );
}

#[test]
fn pad_apcer_over_limit_fails() {
    // Replay: 1 of 150 accepted.
    let (r, c) = pad_report(|t| {
        let at = t.find("id = \"PAI-02\"").expect("PAI-02");
        let (head, tail) = t.split_at(at);
        format!(
            "{head}{}",
            tail.replacen(
                "accepted = 0\napcer_ppm = 0",
                "accepted = 1\napcer_ppm = 6667",
                1
            )
        )
    });
    assert_rule_fails(
        &r,
        PAD,
        c,
        "species PAI-02 (replay): APCER 6667 ppm exceeds the profile's 0 ppm",
    );
}

#[test]
fn pad_bpcer_over_limit_fails() {
    let (r, c) = pad_report(|t| {
        t.replace("false_rejections = 14", "false_rejections = 300")
            .replace("bpcer_ppm = 9333", "bpcer_ppm = 200000")
    });
    assert_rule_fails(
        &r,
        PAD,
        c,
        "BPCER 200000 ppm exceeds the profile's 150000 ppm",
    );
}

#[test]
fn pad_verdict_fail_fails() {
    let (r, c) = pad_report(|t| t.replace("result = \"pass\"", "result = \"fail\""));
    assert_rule_fails(&r, PAD, c, "lab result 2 has verdict fail");
    // A profile that does not require a pass accepts it.
    let mut p = Pad::new(
        |t| t.replace("result = \"pass\"", "result = \"fail\""),
        Some(Who::PadOperator),
    );
    let c = p.claim(|t| t);
    let relaxed = pad_profile(&[(
        "require_verdict_pass = true",
        "require_verdict_pass = false",
    )]);
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[relaxed]);
    assert_rule_passes(&r, PAD, c, "backed by lab result 2");
}

#[test]
fn pad_not_countersigned_fails() {
    // The vendor's own transcription, endorsed by nobody: the scheme's operator never issued it.
    let mut p = Pad::new(|t| t, None);
    let claim = p.claim(|t| t);
    let (r, c) = p.verify(&claim, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "lab result 2 (report IBQA-PAD-2026-0142) is neither signed nor countersigned by a key in role ibeta-pad, which your profile accepts as issuing iBeta PAD results",
    );
    // With a countersigner role instead of operators, the message names that role.
    let by_role = pad_profile(&[(
        r#"scheme_operators = [{ scheme = "iBeta PAD", roles = ["ibeta-pad"] }]"#,
        r#"countersigner_role = "lab""#,
    )]);
    let (r, c) = p.verify(&claim, &TrustSpec::default(), &[by_role]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "lab result 2 is not countersigned by a key in role lab",
    );
}

#[test]
fn pad_countersigned_by_a_key_of_another_role_fails() {
    // Product/legal countersigns its own transcription; the trust file lets it sign
    // countersignatures, so every signature check passes, but not in role `ibeta-pad`.
    let mut p = Pad::new(|t| t, Some(Who::Legal));
    let c = p.claim(|t| t);
    let trust = TrustSpec::default().allow("product-legal", "countersignature");
    let (r, c) = p.verify(&c, &trust, &[pad_profile(&[])]);
    assert!(
        r.checks.iter().any(|c| c.step == Step::Signer
            && c.message == "role product-legal may sign countersignature"),
        "{}",
        r.render()
    );
    assert_rule_fails(
        &r,
        PAD,
        c,
        "lab result 2 (report IBQA-PAD-2026-0142) is neither signed nor countersigned by a key in role ibeta-pad, which your profile accepts as issuing iBeta PAD results",
    );
    assert_eq!(r.failures(), 1, "{}", r.render());
}

#[test]
fn pad_countersignature_not_required_passes_without_one() {
    let mut p = Pad::new(|t| t, None);
    let c = p.claim(|t| t);
    let profile = pad_profile(&[(
        "scheme_operators = [{ scheme = \"iBeta PAD\", roles = [\"ibeta-pad\"] }]",
        "",
    )]);
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[profile]);
    assert_rule_passes(&r, PAD, c, "backed by lab result 2");
}

/// Firmware 4.3.0: a new PAD model.
fn fw_new_pad_model() -> String {
    example(FW421, &[])
        .replace("4.2.1", "4.3.0")
        .replace("build_number = 4210", "build_number = 4300")
        .replace(
            "7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e",
            "1111111111111111111111111111111111111111111111111111111111111111",
        )
}

#[test]
fn pad_claim_on_build_with_changed_pad_model_fails() {
    let mut p = Pad::standard();
    let fw430 =
        p.f.record("firmware-build", &fw_new_pad_model(), Who::Release);
    let c = p.claim(|t| t.replace(r#""@FW_421@"]"#, &format!(r#""@FW_421@", "{fw430}"]"#)));
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "applies_to.builds[2] is neither the tested build nor a build with the tested PAD model",
    );
    // 4.2.0 (tested) and 4.2.1 (same PAD model) are fine: only builds[2] is named.
    let msg = &failures(&r)[0].message;
    assert!(
        !msg.contains("builds[0]") && !msg.contains("builds[1]"),
        "{msg}"
    );
}

#[test]
fn pad_same_model_build_fails_when_profile_wants_the_tested_build() {
    let mut p = Pad::standard();
    let c = p.claim(|t| t);
    let strict = pad_profile(&[(
        "build_match = \"same-pad-model\"",
        "build_match = \"tested-build\"",
    )]);
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[strict]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "applies_to.builds[1] is neither the tested build",
    );
}

#[test]
fn pad_claim_naming_no_build_is_not_backed() {
    // A claim about models only: nothing ties the lab's tested build to what the claim covers.
    let mut p = Pad::standard();
    let c = p.claim(|t| t.replace("builds = [\"@FW_420@\", \"@FW_421@\"]\n", ""));
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_fails(&r, PAD, c, "applies_to names no firmware build");
}

#[test]
fn pad_metric_comparison_fails() {
    // The claim says APCER <= 0.5 % for every species; the mask-2d species shows 0.67 %.
    let mut p = Pad::standard();
    let c = p.claim(|t| t.replace("value = 10000", "value = 5000"));
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "claim says apcer_ppm <= 5000; lab result 2 shows 6667",
    );
}

#[test]
fn pad_unknown_metric_fails() {
    let mut p = Pad::standard();
    let c = p.claim(|t| t.replace("metric = \"apcer_ppm\"", "metric = \"far_ppm\""));
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "metric far_ppm cannot be read from a lab result",
    );
}

#[test]
fn pad_lab_result_by_unpinned_key_does_not_back() {
    let mut f = Fixture::new();
    let mut s = Story::builds(&mut f);
    s.lab = f.record("lab-result", &s.example(LAB), Who::Stranger);
    s.csig = f.record("countersignature", &s.example(CSIG), Who::PadOperator);
    let mut p = Pad { f, s };
    let c = p.claim(|t| t);
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Policy,
        Some(c),
        "it cites no verified lab result (directly or through a countersignature)",
    );
}

#[test]
fn pad_lab_result_with_bad_signature_does_not_back() {
    let mut p = Pad::standard();
    let c = p.claim(|t| t);
    let idx = p.f.ledger.resolve(&c).expect("claim").index;
    let mut b = p.f.bundle_of(&[&c], &BundleOptions::default());
    // Flip one byte of the lab result's signature (the statement's last 64 bytes).
    let lab = b.entries.iter_mut().find(|e| e.index == 2).expect("lab");
    let n = lab.statement.len();
    lab.statement[n - 33] ^= 0x04;
    let r = verify_bundle(&b.to_cbor(), &trust(), &[pad_profile(&[])]);
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Signature,
        Some(2),
        "does not verify",
    );
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Policy,
        Some(idx),
        "it cites no verified lab result",
    );
}

#[test]
fn pad_rule_ignores_claims_without_pad_assertions_which_no_rule_then_judges() {
    let mut p = Pad::standard();
    let c = p.claim(|t| {
        t.replace("type = \"pad\"", "type = \"compliance\"")
            .replace(
                "species_required = [\"print\", \"replay\", \"mask-3d\"]\n",
                "",
            )
    });
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert!(rule_checks(&r, PAD).is_empty(), "{}", r.render());
    // The compliance assertion is judged by no rule of the PAD profile: it fails as not judged.
    assert_held_but_not_judged(&r, c, &["assertions[0]"]);
    assert_rule_fails(
        &r,
        "not judged",
        c,
        "assertions[0] (compliance) of claim \"CLM-FG3-PAD-002\": no rule in your profiles judges compliance claims",
    );
}

// ---------------------------------------------------------------------------------------------
// privacy-design-backed

const PRIVACY: &str = "privacy-design-backed";

/// The Level 2 claim with its assertions replaced by `assertions` (TOML).
fn privacy_claim(p: &mut Pad, assertions: &'static str) -> String {
    p.claim(move |t| {
        let from = t.find("[[assertions]]").expect("assertions");
        let to = t.find("[[approvals]]").expect("approvals");
        format!("{}{assertions}\n{}", &t[..from], &t[to..])
    })
}

fn privacy_report(assertions: &'static str) -> (Report, u64) {
    let mut p = Pad::standard();
    let c = privacy_claim(&mut p, assertions);
    p.verify(
        &c,
        &TrustSpec::default(),
        &[profile(&shipped("privacy-by-design.toml"))],
    )
}

#[test]
fn privacy_design_agreeing_with_every_build_passes() {
    let (r, c) = privacy_report(
        "[[assertions]]\ntype = \"privacy-design\"\nmetric = \"template_only_storage\"\ncomparator = \"eq\"\nvalue = 1\n\n\
         [[assertions]]\ntype = \"privacy-design\"\nmetric = \"template_retention_days\"\ncomparator = \"le\"\nvalue = 365\n",
    );
    let cs = rule_checks(&r, PRIVACY);
    assert_eq!(cs.len(), 2, "{}", r.render());
    assert!(
        cs.iter().all(|c| c.outcome == Outcome::Pass),
        "{}",
        r.render()
    );
    assert_eq!(
        cs[0].message,
        "privacy-design-backed: claim \"CLM-FG3-PAD-002\" asserts template_only_storage == 1; every firmware build it covers records that privacy default (2 builds)"
    );
    // The profile judges both assertions; the wording is left to a wording rule.
    assert_held_but_not_judged(&r, c, &["wording"]);
    let judged: Vec<_> = r
        .judged
        .iter()
        .map(|j| (j.field.as_str(), j.outcome))
        .collect();
    use evledger::verify::JudgedOutcome::{Held, NotJudged};
    assert_eq!(
        judged,
        [
            ("assertions[0]", Held),
            ("assertions[1]", Held),
            ("wording", NotJudged)
        ]
    );
}

#[test]
fn privacy_design_a_build_does_not_ship_fails() {
    let (r, c) = privacy_report(
        "[[assertions]]\ntype = \"privacy-design\"\nmetric = \"template_retention_days\"\ncomparator = \"le\"\nvalue = 30\n",
    );
    assert_rule_fails(
        &r,
        PRIVACY,
        c,
        "claim \"CLM-FG3-PAD-002\" asserts template_retention_days <= 30; but applies_to.builds[0] (FaceGate 3D 4.2.0) records privacy_defaults.template_retention_days = 365; applies_to.builds[1] (FaceGate 3D 4.2.1) records privacy_defaults.template_retention_days = 365",
    );
}

#[test]
fn privacy_design_with_nothing_to_compare_fails() {
    let (r, c) = privacy_report("[[assertions]]\ntype = \"privacy-design\"\n");
    assert_rule_fails(
        &r,
        PRIVACY,
        c,
        "asserts a privacy design; but it names no privacy default to compare with the builds",
    );
    let (r, c) = privacy_report(
        "[[assertions]]\ntype = \"privacy-design\"\nmetric = \"raw_images_retained\"\ncomparator = \"eq\"\nvalue = 1\n",
    );
    assert_rule_fails(
        &r,
        PRIVACY,
        c,
        "records privacy_defaults.raw_images_retained = 0",
    );
}

#[test]
fn privacy_rule_does_not_apply_to_a_pad_claim_which_it_leaves_unjudged() {
    let mut p = Pad::standard();
    let c = p.claim(|t| t);
    let (r, c) = p.verify(
        &c,
        &TrustSpec::default(),
        &[profile(&shipped("privacy-by-design.toml"))],
    );
    assert!(rule_checks(&r, PRIVACY).is_empty(), "{}", r.render());
    assert_held_but_not_judged(&r, c, &["assertions[0]", "wording"]);
}

// ---------------------------------------------------------------------------------------------
// claim-wording-matches

const WORDING: &str = "claim-wording-matches";

fn wording_profile(require: bool) -> Profile {
    profile(&format!(
        r#"
format = "evledger-profile/1"
id = "wording"
version = "1"
title = "t"

[[rule]]
id = "{WORDING}"
type = "claim-wording-matches"
citation = "c"
require_attachments = {require}
"#
    ))
}

#[test]
fn wording_in_attached_documents_passes() {
    let (mut f, s) = story();
    let opts = BundleOptions {
        attachments: vec![
            document("brochure-2026-04-p4.txt"),
            document("tender-T-2026-FG3-s5.3.txt"),
        ],
        since: None,
    };
    let b = f.bundle_of(&[&s.claim2], &opts).to_cbor();
    let r = verify_bundle(&b, &trust(), &[wording_profile(true)]);
    // The wording profile judges the wording, not the PAD assertion.
    assert_held_but_not_judged(&r, 4, &["assertions[0]"]);
    let cs = rule_checks(&r, WORDING);
    assert_eq!(cs.len(), 3, "{}", r.render());
    assert_eq!(cs[0].field.as_deref(), Some("wording"));
    assert_eq!(
        cs[0].message,
        "claim-wording-matches: claim \"CLM-FG3-PAD-002\": what the wording names (level 2, ISO/IEC 30107-3, iBeta) is carried by its assertions"
    );
    assert_eq!(cs[1].field.as_deref(), Some("channels[0]"));
    assert!(cs[1].message.contains(
        "the attached FaceGate 3D product brochure, edition 2026-04, page 4 document contains the claim's exact wording"
    ));
}

#[test]
fn attached_document_without_the_wording_fails() {
    let (mut f, s) = story();
    let doc = b"FaceGate 3D: the best liveness detection on the market.".to_vec();
    let digest = evledger::hex::encode(&Sha256::digest(&doc));
    let text = s
        .example(CLAIM2)
        .replace("CLM-FG3-PAD-002", "CLM-FG3-PAD-009")
        .replace(
            "ce88ea60fadd6101f06f0a518b88b6cc9dfed7e5af3ce337088288fa2c589f2f",
            &digest,
        );
    let c = f.record("claim", &text, Who::Legal);
    let idx = f.ledger.resolve(&c).expect("claim").index;
    let opts = BundleOptions {
        attachments: vec![doc],
        since: None,
    };
    let b = f.bundle_of(&[&c], &opts).to_cbor();
    let r = verify_bundle(&b, &trust(), &[wording_profile(false)]);
    assert_rule_fails(
        &r,
        WORDING,
        idx,
        "the attached FaceGate 3D product brochure, edition 2026-04, page 4 document does not contain the claim's exact wording",
    );
    // The tender document is not attached, which this profile allows; the wording itself
    // agrees with the assertions.
    let cs = rule_checks(&r, WORDING);
    assert_eq!(cs.len(), 2, "{}", r.render());
    assert_eq!(
        (cs[0].field.as_deref(), cs[0].outcome),
        (Some("wording"), Outcome::Pass)
    );
}

#[test]
fn required_attachments_missing_fail() {
    let (mut f, s) = story();
    let b = f
        .bundle_of(&[&s.claim2], &BundleOptions::default())
        .to_cbor();
    let r = verify_bundle(&b, &trust(), &[wording_profile(true)]);
    assert_rule_fails(
        &r,
        WORDING,
        4,
        "document ce88ea60fadd6101f06f0a518b88b6cc9dfed7e5af3ce337088288fa2c589f2f for FaceGate 3D product brochure, edition 2026-04, page 4 is not attached",
    );
    // Two documents missing, and the PAD assertion, which this profile does not judge.
    assert_eq!(r.failures(), 3, "{}", r.render());
    // Not required: no channel check, but the wording is still compared with the assertions.
    let r = verify_bundle(&b, &trust(), &[wording_profile(false)]);
    let cs = rule_checks(&r, WORDING);
    assert_eq!(cs.len(), 1, "{}", r.render());
    assert_eq!(
        (cs[0].field.as_deref(), cs[0].outcome),
        (Some("wording"), Outcome::Pass)
    );
    assert_held_but_not_judged(&r, 4, &["assertions[0]"]);
}

// ---------------------------------------------------------------------------------------------
// incident-notification

const GDPR: &str = "gdpr-art33-72h";

/// Version 2026.1 of the GDPR profile, the last with an `incident-notification` rule, as frozen
/// with the 0.1.0 fixtures: these tests judge that rule type.
fn gdpr_2026_1() -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/legacy-0.1/profiles/incident-gdpr-art33.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("read the frozen profile")
}

fn gdpr() -> Profile {
    profile(&gdpr_2026_1())
}

/// Records the builds and an incident (edited), bundles the incident and verifies it with `profile`.
fn incident_report(edit: impl Fn(String) -> String, profile: Profile) -> (Report, u64) {
    let mut f = Fixture::new();
    let s = Story::builds(&mut f);
    let text = edit(s.example(INCIDENT));
    let inc = f.record("incident", &text, Who::Legal);
    let idx = f.ledger.resolve(&inc).expect("incident").index;
    let b = f.bundle_of(&[&inc], &BundleOptions::default()).to_cbor();
    (verify_bundle(&b, &trust(), &[profile]), idx)
}

/// The incident without its notification.
fn unnotified(t: String) -> String {
    let start = t.find("[[notifications]]").expect("notifications");
    let end = t.find("[remediation]").expect("remediation");
    format!("{}{}", &t[..start], &t[end..])
}

#[test]
fn notification_on_time_passes() {
    let (r, i) = incident_report(|t| t, gdpr());
    assert_verified(&r);
    assert_rule_passes(
        &r,
        GDPR,
        i,
        "incident AUR-2026-014: GDPR-Art33 notification to Bayerisches Landesamt für Datenschutzaufsicht (BayLDA) sent 42h35m after aware-at (deadline 72 h)",
    );
}

#[test]
fn late_notification_fails() {
    let (r, i) = incident_report(
        |t| {
            t.replace(
                "sent_at = 2026-04-22T10:15:00Z",
                "sent_at = 2026-04-24T10:15:00Z",
            )
        },
        gdpr(),
    );
    assert_rule_fails(
        &r,
        GDPR,
        i,
        "GDPR-Art33 notification to Bayerisches Landesamt für Datenschutzaufsicht (BayLDA) sent 90h35m after aware-at, later than 72 h",
    );
}

#[test]
fn no_notification_with_reason_accepted() {
    let (r, i) = incident_report(
        |t| {
            unnotified(t).replace(
                "closed_at = 2026-06-12T10:00:00Z",
                "closed_at = 2026-06-12T10:00:00Z\nno_notification_reason = \"templates were encrypted; unlikely to result in a risk\"",
            )
        },
        gdpr(),
    );
    assert_rule_passes(
        &r,
        GDPR,
        i,
        "no GDPR-Art33 notification; recorded reason: templates were encrypted; unlikely to result in a risk",
    );
}

#[test]
fn no_notification_with_reason_not_accepted_fails() {
    let strict = profile(&gdpr_2026_1().replace("accept_reason = true", "accept_reason = false"));
    let (r, i) = incident_report(
        |t| {
            unnotified(t).replace(
                "closed_at = 2026-06-12T10:00:00Z",
                "closed_at = 2026-06-12T10:00:00Z\nno_notification_reason = \"unlikely to result in a risk\"",
            )
        },
        strict,
    );
    assert_rule_fails(
        &r,
        GDPR,
        i,
        "no GDPR-Art33 notification and no accepted reason recorded",
    );
}

#[test]
fn no_notification_and_no_reason_fails() {
    let (r, i) = incident_report(unnotified, gdpr());
    assert_rule_fails(
        &r,
        GDPR,
        i,
        "no GDPR-Art33 notification and no accepted reason recorded",
    );
}

#[test]
fn notification_under_another_regime_does_not_count() {
    let (r, i) = incident_report(
        |t| t.replace("regime = \"GDPR-Art33\"", "regime = \"UK-GDPR-Art33\""),
        gdpr(),
    );
    assert_rule_fails(
        &r,
        GDPR,
        i,
        "no GDPR-Art33 notification and no accepted reason recorded",
    );
}

#[test]
fn out_of_scope_region_is_ignored() {
    let (r, _) = incident_report(
        |t| {
            unnotified(t).replace(
                "regions = [\"EU\", \"DE\"]",
                "regions = [\"US\", \"US-CA\"]",
            )
        },
        gdpr(),
    );
    assert_verified(&r);
    assert!(rule_checks(&r, GDPR).is_empty());
    assert!(
        r.checks.iter().any(|c| c.step == Step::Policy
            && c.message
                == "profile incident-gdpr-art33 2026.1: no rule applies to this bundle's entries"),
        "{}",
        r.render()
    );
}

#[test]
fn incident_with_extreme_times_does_not_panic() {
    // Times at the ends of the i64 range are valid evidence (aware_at >= detected_at,
    // sent_at >= detected_at); the report must still be computed.
    let (r, i) = incident_report(
        |t| {
            t.replace(
                "detected_at = 2026-04-20T07:12:00Z",
                "detected_at = -9223372036854775808",
            )
            .replace(
                "aware_at = 2026-04-20T15:40:00Z",
                "aware_at = -9223372036854775808",
            )
            .replace(
                "sent_at = 2026-04-22T10:15:00Z",
                "sent_at = 9223372036854775807",
            )
            .replace("closed_at = 2026-06-12T10:00:00Z\n", "")
        },
        gdpr(),
    );
    assert_rule_fails(&r, GDPR, i, "after aware-at, later than 72 h");
    let (r, i) = incident_report(
        |t| {
            t.replace(
                "detected_at = 2026-04-20T07:12:00Z",
                "detected_at = -9223372036854775808",
            )
            .replace(
                "aware_at = 2026-04-20T15:40:00Z",
                "aware_at = 9223372036854775807",
            )
            .replace(
                "sent_at = 2026-04-22T10:15:00Z",
                "sent_at = -9223372036854775808",
            )
            .replace("closed_at = 2026-06-12T10:00:00Z\n", "")
        },
        gdpr(),
    );
    assert_rule_passes(&r, GDPR, i, "sent -");
    let _ = r.render();
}

#[test]
fn notification_before_aware_at_shows_a_negative_time() {
    let (r, i) = incident_report(
        |t| {
            t.replace(
                "sent_at = 2026-04-22T10:15:00Z",
                "sent_at = 2026-04-20T15:10:00Z",
            )
        },
        gdpr(),
    );
    assert_rule_passes(&r, GDPR, i, "sent -0h30m after aware-at (deadline 72 h)");
}

// ---------------------------------------------------------------------------------------------
// no-claim-on-affected-build

const AFFECTED: &str = "no-claim-on-affected-build";

fn affected_profile() -> Profile {
    profile(&MINIMAL.replace("id = \"r\"", &format!("id = \"{AFFECTED}\"")))
}

/// Builds, lab result, countersignature, the incident (edited, recorded at `incident_iat`) and
/// the Level 2 claim at `claim_iat`; verifies the claim's bundle with the affected-build rule.
fn affected_report(edit: impl Fn(String) -> String, claim_iat: u64) -> (Report, u64) {
    affected_report_in_order(edit, claim_iat, false)
}

/// As [`affected_report`], with the claim logged before the incident when `claim_first`.
fn affected_report_in_order(
    edit: impl Fn(String) -> String,
    claim_iat: u64,
    claim_first: bool,
) -> (Report, u64) {
    let mut p = Pad::standard();
    let inc = edit(p.s.example(INCIDENT));
    let text = p.s.example(CLAIM2);
    if !claim_first {
        p.f.record("incident", &inc, Who::Legal);
    }
    let c = p.f.record_at("claim", &text, Who::Legal, claim_iat);
    if claim_first {
        p.f.record("incident", &inc, Who::Legal);
    }
    p.verify(&c, &TrustSpec::default(), &[affected_profile()])
}

/// The incident open and without a fix build (advisory only).
fn unfixed(t: String) -> String {
    t.replace("closed_at = 2026-06-12T10:00:00Z\n", "")
        .replace("fix_build = \"", "# fix_build = \"")
}

/// 2026-05-01, after the incident's aware-at (2026-04-20T15:40Z).
const AFTER_AWARE: u64 = 1_777_593_600;
/// 2026-04-01, before it.
const BEFORE_AWARE: u64 = 1_775_001_600;

#[test]
fn claim_on_build_with_open_unfixed_incident_fails() {
    let (r, c) = affected_report(unfixed, AFTER_AWARE);
    assert_rule_fails(
        &r,
        AFFECTED,
        c,
        "applies_to.builds[0] is affected by open incident AUR-2026-014 (entry 4) with no fix build, known when the claim was made: the incident is in the log before the claim (entry 4 < entry 5)",
    );
}

#[test]
fn claim_on_fixed_build_passes() {
    let (r, c) = affected_report(
        |t| t.replace("closed_at = 2026-06-12T10:00:00Z\n", ""),
        AFTER_AWARE,
    );
    // The profile under test judges neither the PAD assertion nor the wording.
    assert_held_but_not_judged(&r, c, &["assertions[0]", "wording"]);
    assert_rule_passes(
        &r,
        AFFECTED,
        c,
        "no build it covers is affected by an open, unfixed incident known when it was made",
    );
}

#[test]
fn claim_logged_before_the_incident_and_made_before_aware_at_passes() {
    let (r, c) = affected_report_in_order(unfixed, BEFORE_AWARE, true);
    assert_rule_passes(&r, AFFECTED, c, "no build it covers is affected");
}

/// The attack: a claim logged after the incident, its own `iat` back-dated before aware-at.
/// The log's order is not the signer's to choose, so the incident was known.
#[test]
fn a_back_dated_claim_logged_after_the_incident_fails() {
    let (r, c) = affected_report(unfixed, BEFORE_AWARE);
    assert_rule_fails(
        &r,
        AFFECTED,
        c,
        "known when the claim was made: the incident is in the log before the claim (entry 4 < entry 5)",
    );
}

#[test]
fn claim_after_incident_closed_passes() {
    // Closed on 2026-04-25, no fix build; the claim comes after.
    let (r, c) = affected_report(
        |t| {
            t.replace(
                "closed_at = 2026-06-12T10:00:00Z",
                "closed_at = 2026-04-25T00:00:00Z",
            )
            .replace("fix_build = \"", "# fix_build = \"")
        },
        AFTER_AWARE,
    );
    assert_rule_passes(&r, AFFECTED, c, "no build it covers is affected");
}

/// An incident is re-recorded as it develops: the latest record in the log before the claim says
/// what was known, so an early record without a fix no longer counts once a later one shows it.
#[test]
fn the_latest_record_of_an_incident_before_the_claim_decides() {
    let fixed = |t: String| t.replace("closed_at = 2026-06-12T10:00:00Z\n", "");
    // Unfixed, then fixed, then the claim: the fix was known.
    let mut p = Pad::standard();
    p.f.record("incident", &unfixed(p.s.example(INCIDENT)), Who::Legal);
    p.f.record("incident", &fixed(p.s.example(INCIDENT)), Who::Legal);
    let c =
        p.f.record_at("claim", &p.s.example(CLAIM2), Who::Legal, AFTER_AWARE);
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[affected_profile()]);
    assert_rule_passes(&r, AFFECTED, c, "no build it covers is affected");

    // Fixed, then a record without the fix (the fix build was withdrawn), then the claim: the
    // later record decides.
    let mut p = Pad::standard();
    p.f.record("incident", &fixed(p.s.example(INCIDENT)), Who::Legal);
    p.f.record("incident", &unfixed(p.s.example(INCIDENT)), Who::Legal);
    let c =
        p.f.record_at("claim", &p.s.example(CLAIM2), Who::Legal, AFTER_AWARE);
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[affected_profile()]);
    assert_rule_fails(
        &r,
        AFFECTED,
        c,
        "applies_to.builds[0] is affected by open incident AUR-2026-014 (entry 5) with no fix build, known when the claim was made: the incident is in the log before the claim (entry 5 < entry 6)",
    );

    // Unfixed before the claim, fixed only after it: the claim was made on an affected build.
    let mut p = Pad::standard();
    p.f.record("incident", &unfixed(p.s.example(INCIDENT)), Who::Legal);
    let c =
        p.f.record_at("claim", &p.s.example(CLAIM2), Who::Legal, AFTER_AWARE);
    p.f.record("incident", &fixed(p.s.example(INCIDENT)), Who::Legal);
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[affected_profile()]);
    assert_rule_fails(&r, AFFECTED, c, "open incident AUR-2026-014 (entry 4)");
}

#[test]
fn unverified_incident_is_not_held_against_a_claim() {
    // An incident signed by an unpinned key fails verification, and the rule does not use it.
    let mut p = Pad::standard();
    p.f.record("incident", &unfixed(p.s.example(INCIDENT)), Who::Stranger);
    let c =
        p.f.record_at("claim", &p.s.example(CLAIM2), Who::Legal, AFTER_AWARE);
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[affected_profile()]);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert_rule_passes(&r, AFFECTED, c, "no build it covers is affected");
}

// ---------------------------------------------------------------------------------------------
// PAD claims as the schemes define them: tested models, scheme operators, report age, wording

/// The claim with the FG3-200W, which the lab did not test, added to its models.
fn with_untested_model(t: String) -> String {
    t.replace(
        r#"models = ["FG3-100"]"#,
        r#"models = ["FG3-100", "FG3-200W"]"#,
    )
}

#[test]
fn pad_claim_on_an_untested_model_fails_unless_the_profile_accepts_the_same_pad_model() {
    let mut p = Pad::standard();
    let untested = p.claim(with_untested_model);
    let (r, c) = p.verify(&untested, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "applies_to.models[1] FG3-200W was not tested: lab result 2 tested the FG3-100 (your profile accepts only the tested model",
    );
    // Both builds the claim covers run on the FG3-200W and ship the tested PAD model: a profile
    // that accepts that equivalence, explicitly, is met.
    let same = pad_profile(&[(
        r#"model_match = "tested-model""#,
        r#"model_match = "same-pad-model""#,
    )]);
    let (r, c) = p.verify(&untested, &TrustSpec::default(), &[same]);
    assert_rule_passes(&r, PAD, c, "backed by lab result 2");
}

#[test]
fn pad_results_must_come_from_the_schemes_operator() {
    let mut p = Pad::standard();
    let claim = p.claim(|t| t);
    // The operator's countersignature is in role ibeta-pad, which the shipped profile accepts for
    // iBeta PAD.
    let (r, c) = p.verify(&claim, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_passes(&r, PAD, c, "backed by lab result 2");
    // A profile that accepts only another role for the scheme.
    let other = pad_profile(&[(r#"roles = ["ibeta-pad"]"#, r#"roles = ["ibeta"]"#)]);
    let (r, c) = p.verify(&claim, &TrustSpec::default(), &[other]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "lab result 2 (report IBQA-PAD-2026-0142) is neither signed nor countersigned by a key in role ibeta, which your profile accepts as issuing iBeta PAD results",
    );
    // A profile that names operators, none of them for the scheme.
    let none = pad_profile(&[(
        r#"scheme = "iBeta PAD", roles"#,
        r#"scheme = "FIDO", roles"#,
    )]);
    let (r, c) = p.verify(&claim, &TrustSpec::default(), &[none]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "the profile names no operator for scheme iBeta PAD, so no result under it is accepted",
    );
}

#[test]
fn an_accredited_lab_that_does_not_run_the_scheme_cannot_issue_its_results() {
    // Kestrel's key (role lab: an accredited lab, trusted for ISO/IEC 19795 accuracy results)
    // countersigns the iBeta PAD result. Every signature and role check passes; the PAD rule
    // fails, because only the scheme's operator issues iBeta PAD levels, whatever lab name the
    // payload writes.
    let mut p = Pad::new(|t| t, Some(Who::Lab));
    let c = p.claim(|t| t);
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert!(
        r.checks
            .iter()
            .any(|c| c.step == Step::Signer && c.message == "role lab may sign countersignature"),
        "{}",
        r.render()
    );
    assert_rule_fails(
        &r,
        PAD,
        c,
        "lab result 2 (report IBQA-PAD-2026-0142) is neither signed nor countersigned by a key in role ibeta-pad, which your profile accepts as issuing iBeta PAD results",
    );
    assert_eq!(r.failures(), 1, "{}", r.render());
    // The same lab result, with the operator's countersignature too, is backed.
    p.s.csig =
        p.f.record("countersignature", &p.s.example(CSIG), Who::PadOperator);
    let c = p.claim(|t| t);
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_passes(&r, PAD, c, "backed by lab result 2");
}

#[test]
fn pad_report_age_needs_a_witnessed_time_never_the_claims_own() {
    let mut p = Pad::standard();
    let c = p.claim(|t| t);
    let aged = pad_profile(&[("# max_report_age_days = 730", "max_report_age_days = 730")]);
    let (r, c) = p.verify(&c, &TrustSpec::default(), &[aged]);
    assert_rule_fails(
        &r,
        PAD,
        c,
        "the age of report IBQA-PAD-2026-0142 cannot be judged: the claim has no witnessed time",
    );
    let check = rule_checks(&r, PAD)
        .into_iter()
        .find(|x| x.entry == Some(c))
        .expect("check");
    assert_eq!(check.clock, Some(evledger::verify::Clock::Witnessed));
}

const ATTRIBUTION: &str = "pad-level-attribution";

#[test]
fn wording_that_credits_the_standard_with_a_level_is_flagged() {
    let mut p = Pad::standard();
    let loose = "passed ISO/IEC 30107-3 Level 2 presentation attack detection testing";
    let claim = p.claim(|t| {
        t.replace(
            "passed iBeta PAD Level 2 presentation attack detection testing to ISO/IEC 30107-3",
            loose,
        )
    });
    let (r, c) = p.verify(&claim, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_fails(
        &r,
        ATTRIBUTION,
        c,
        "words a level as if ISO/IEC 30107-3 defined it",
    );
    // A buyer who accepts the loose phrase gets a note instead.
    let lenient = pad_profile(&[(
        r#"on_misattribution = "fail""#,
        r#"on_misattribution = "note""#,
    )]);
    let (r, c) = p.verify(&claim, &TrustSpec::default(), &[lenient]);
    assert_rule_passes(&r, ATTRIBUTION, c, "note: claim");
    // The shipped wording names the scheme.
    let shipped = p.claim(|t| t.replace("CLM-FG3-PAD-002", "CLM-10"));
    let (r, c) = p.verify(&shipped, &TrustSpec::default(), &[pad_profile(&[])]);
    assert_rule_passes(
        &r,
        ATTRIBUTION,
        c,
        "gives ISO/IEC 30107-3 no level of its own",
    );
}
