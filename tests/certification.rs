//! Certification evidence and the `compliance-claim-backed` rule: validation with field paths,
//! withdrawals and suspensions as adverse evidence, and the rule passing, failing and not
//! applying, on small ledgers built with the library from the FaceGate example data.
#![cfg(feature = "store")]

mod story;

use evledger::evidence::{Evidence, EvidenceError, InputFormat};
use evledger::export::BundleOptions;
use evledger::policy::Profile;
use evledger::verify::{Check, Clock, Outcome, Report, Step, Verdict, verify_bundle};

use story::*;

const CERT: &str = "certification-iec62443.toml";
const CERT_CSIG: &str = "countersignature-certification.toml";
const CLAIM: &str = "claim-certified.toml";
const OVERCLAIM: &str = "claim-certified-overclaim.toml";
const BACKED: &str = "compliance-claim-backed";

fn shipped_text() -> String {
    std::fs::read_to_string(profile_path("certification.toml")).expect("profile")
}

/// The shipped certification profile, edited; `witnessed-if-present` unless a test says
/// otherwise, since these ledgers have no witnesses.
fn profile(edits: &[(&str, &str)]) -> Profile {
    let mut t = shipped_text().replace(
        r#"clock = "witnessed""#,
        r#"clock = "witnessed-if-present""#,
    );
    for (from, to) in edits {
        assert!(t.contains(from), "{from}");
        t = t.replace(from, to);
    }
    Profile::parse(&t).unwrap_or_else(|e| panic!("{e}\n{t}"))
}

/// The buyer's trust file: product/legal records certifications, and the certification body
/// (here the fixture's otherwise unpinned key) countersigns them or records a status change.
fn trust() -> TrustSpec {
    let mut t = TrustSpec::default().allow("product-legal", "certification");
    t.roles.push(RoleSpec {
        name: "certification-body",
        kinds: vec!["countersignature", "certification"],
        who: vec![Who::Stranger],
    });
    t
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

/// The certification body's key.
const BODY: Who = Who::Stranger;

/// A story: builds 4.2.0 and 4.2.1 and the certificate (edited), optionally countersigned.
struct Cert {
    f: Fixture,
    s: Story,
    cert: String,
    csig: String,
}

impl Cert {
    fn new(edit: impl Fn(String) -> String, csig: Option<Who>) -> Cert {
        let mut f = Fixture::new();
        let s = Story::builds(&mut f);
        let cert = f.record("certification", &edit(example(CERT, &[])), Who::Legal);
        let mut c = Cert {
            f,
            s,
            cert,
            csig: String::new(),
        };
        if let Some(who) = csig {
            let text = c.fill(example(CERT_CSIG, &[]));
            c.csig = c.f.record("countersignature", &text, who);
        }
        c
    }

    fn standard() -> Cert {
        Cert::new(|t| t, Some(BODY))
    }

    fn fill(&self, mut text: String) -> String {
        if self.csig.is_empty() {
            text = text.replace(r#", "@CERT_COUNTERSIG@""#, "");
        }
        for (p, v) in self.s.fills() {
            text = text.replace(p, &v);
        }
        text.replace("@CERT@", &self.cert)
            .replace("@CERT_COUNTERSIG@", &self.csig)
    }

    fn claim(&mut self, file: &str, edit: impl Fn(String) -> String) -> String {
        let text = self.fill(edit(example(file, &[])));
        self.f.record("claim", &text, Who::Legal)
    }

    /// Records a later entry for the same certificate with `status` since `since`.
    fn later(&mut self, status: &str, supersede: bool, who: Who) -> String {
        let sup = if supersede {
            format!("\nsupersedes = \"{}\"", self.cert)
        } else {
            String::new()
        };
        let text = example(CERT, &[]).replace(
            r#"status = "valid""#,
            &format!("status = \"{status}\"\nstatus_since = 2026-05-20T00:00:00Z{sup}"),
        );
        self.f.record("certification", &text, who)
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

fn checks<'r>(r: &'r Report, entry: u64, field: &str) -> Vec<&'r Check> {
    let prefix = format!("{BACKED}: ");
    r.checks
        .iter()
        .filter(|c| c.step == Step::Policy && c.message.starts_with(&prefix))
        .filter(|c| c.entry == Some(entry) && c.field.as_deref() == Some(field))
        .collect()
}

#[track_caller]
fn passes(r: &Report, entry: u64, field: &str, fragment: &str) {
    let cs = checks(r, entry, field);
    assert_eq!(cs.len(), 1, "{}", r.render());
    assert_eq!(cs[0].outcome, Outcome::Pass, "{}", r.render());
    assert!(
        cs[0].message.contains(fragment),
        "{fragment}\n{}",
        r.render()
    );
    assert!(
        cs[0]
            .citation
            .as_deref()
            .is_some_and(|c| c.contains("17065"))
    );
}

#[track_caller]
fn fails(r: &Report, entry: u64, field: &str, fragment: &str) {
    assert_eq!(r.verdict, Verdict::PolicyNotMet, "{}", r.render());
    let hit = checks(r, entry, field)
        .into_iter()
        .any(|c| c.outcome == Outcome::Fail && c.message.contains(fragment));
    assert!(
        hit,
        "no failed check on {field} with {fragment:?}:\n{}",
        r.render()
    );
}

// ---------------------------------------------------------------------------------------------
// compliance-claim-backed

#[test]
fn a_certification_claim_backed_by_a_countersigned_certificate_passes() {
    let mut c = Cert::standard();
    let claim = c.claim(CLAIM, |t| t);
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    assert_verified(&r);
    passes(
        &r,
        i,
        "assertions[0]",
        "claim \"CLM-FG3-SEC-001\" asserts compliance with IEC 62443-4-2; backed by the certificate of entry 2, valid at the claim's self-asserted iat",
    );
    let check = &checks(&r, i, "assertions[0]")[0];
    assert_eq!(check.clock, Some(Clock::SelfAsserted));
    let j = r
        .judged
        .iter()
        .find(|j| j.entry == i && j.field == "assertions[0]")
        .expect("judgement");
    assert_eq!(j.judged_by[0].rule, BACKED);
}

#[test]
fn the_strict_clock_needs_a_witnessed_time() {
    let mut c = Cert::standard();
    let claim = c.claim(CLAIM, |t| t);
    let strict = Profile::parse(&shipped_text()).expect("shipped profile");
    let (r, i) = c.verify(&claim, &[strict]);
    fails(
        &r,
        i,
        "assertions[0]",
        "the claim has no witnessed time, and your profile's clock \"witnessed\" accepts no self-asserted time",
    );
}

#[test]
fn the_example_over_claim_is_caught_on_both_assertions() {
    let mut c = Cert::standard();
    let claim = c.claim(OVERCLAIM, |t| t);
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        i,
        "assertions[0]",
        "applies_to.models[1] FG3-200W is outside the scope of certificate NMC-62443-2026-0117 (it covers FG3-100 4.2.0, 4.2.1)",
    );
    fails(
        &r,
        i,
        "assertions[1]",
        "EU AI Act is not a certification scheme a certificate can back",
    );
}

#[test]
fn a_build_version_outside_the_scope_fails() {
    let mut c = Cert::new(
        |t| {
            t.replace(
                r#"versions = ["4.2.0", "4.2.1"]"#,
                r#"versions = ["4.2.0"]"#,
            )
        },
        Some(BODY),
    );
    let claim = c.claim(CLAIM, |t| t);
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        i,
        "assertions[0]",
        "applies_to.builds[1] (firmware 4.2.1 on the FG3-100) is outside the scope of certificate NMC-62443-2026-0117",
    );
    // An organisation-scope profile does not compare products.
    let org = profile(&[(
        "require_product_scope = true",
        "require_product_scope = false",
    )]);
    let (r, i) = c.verify(&claim, &[org]);
    passes(
        &r,
        i,
        "assertions[0]",
        "backed by the certificate of entry 2",
    );
}

#[test]
fn a_withdrawn_certificate_backs_nothing_and_its_withdrawal_is_adverse() {
    let mut c = Cert::standard();
    let claim = c.claim(CLAIM, |t| t);
    // The body withdraws the certificate after the claim was made; the vendor records it.
    let withdrawal = c.later("withdrawn", true, Who::Legal);
    c.f.checkpoint();
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        i,
        "assertions[0]",
        "certificate NMC-62443-2026-0117 is withdrawn since 2026-05-20T00:00:00Z: entry 5, later in the log than the certificate the claim cites (entry 2), records it",
    );
    // The withdrawal is adverse: the log commits to it and the claim's bundle carries it.
    let text = c.f.ledger.resolve(&withdrawal).expect("entry");
    assert_eq!(text.index, 5);
    let bundle = c.f.bundle_of(&[&claim], &BundleOptions::default());
    let carried: Vec<u64> = bundle.entries.iter().map(|e| e.index).collect();
    assert!(carried.contains(&5), "{carried:?}");
    assert!(r.completeness.shown_to().is_some(), "{}", r.render());
}

#[test]
fn withholding_a_withdrawal_is_caught_by_completeness() {
    let mut c = Cert::standard();
    let claim = c.claim(CLAIM, |t| t);
    c.later("withdrawn", true, Who::Legal);
    c.f.checkpoint();
    let mut b = c.f.bundle_of(&[&claim], &BundleOptions::default());
    // Entry 5 is the withdrawal; without it the certificate would look valid.
    b.entries.retain(|e| e.index != 5);
    let r = verify_bundle(
        &b.to_cbor(),
        &trust().load(&c.f.keys),
        &with_wording(&[profile(&[])]),
    );
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Completeness,
        None,
        "adverse entries were withheld: the log's adverse index (entry 6) commits to 1 adverse entries below it, and the bundle carries 0",
    );
    // The profile's bundle-complete rule fails with it.
    assert!(
        r.checks.iter().any(|x| x.outcome == Outcome::Fail
            && x.message.starts_with("certificate-withdrawals-carried: ")),
        "{}",
        r.render()
    );
}

#[test]
fn a_suspension_recorded_without_supersedes_still_counts() {
    let mut c = Cert::standard();
    let claim = c.claim(CLAIM, |t| t);
    c.later("suspended", false, BODY);
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        i,
        "assertions[0]",
        "certificate NMC-62443-2026-0117 is suspended since 2026-05-20T00:00:00Z: entry 5",
    );
}

#[test]
fn a_claim_citing_a_withdrawn_record_fails() {
    let mut c = Cert::new(
        |t| {
            t.replace(
                r#"status = "valid""#,
                "status = \"withdrawn\"\nstatus_since = 2026-04-01T00:00:00Z",
            )
        },
        Some(BODY),
    );
    let claim = c.claim(CLAIM, |t| t);
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        i,
        "assertions[0]",
        "entry 2 records certificate NMC-62443-2026-0117 as withdrawn since 2026-04-01T00:00:00Z",
    );
}

#[test]
fn a_certificate_the_body_did_not_countersign_does_not_back() {
    let mut c = Cert::new(|t| t, None);
    let claim = c.claim(CLAIM, |t| t);
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        i,
        "assertions[0]",
        "certificate NMC-62443-2026-0117 (entry 2) is neither signed nor countersigned by a key in role certification-body",
    );
    // A countersignature by the test lab is not the certification body's.
    let mut c = Cert::new(|t| t, Some(Who::Lab));
    let claim = c.claim(CLAIM, |t| t);
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    fails(&r, i, "assertions[0]", "in role certification-body");
}

#[test]
fn a_certificate_not_valid_when_the_claim_was_logged_fails() {
    let mut c = Cert::new(
        |t| t.replace("to = 2029-02-28T23:59:59Z", "to = 2026-05-01T00:00:00Z"),
        Some(BODY),
    );
    let claim = c.claim(CLAIM, |t| t);
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        i,
        "assertions[0]",
        "certificate NMC-62443-2026-0117 was not valid when the claim was in the log (2026-05-28T",
    );
}

#[test]
fn a_level_above_the_certificates_fails() {
    let mut c = Cert::standard();
    let claim = c.claim(CLAIM, |t| t.replace("level = 2", "level = 3"));
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        i,
        "assertions[0]",
        "the claim asserts level 3; certificate NMC-62443-2026-0117 states SL 2",
    );
}

#[test]
fn a_metric_on_a_compliance_assertion_is_not_passed_unjudged() {
    let mut c = Cert::standard();
    let claim = c.claim(CLAIM, |t| {
        t.replace(
            "level = 2\n",
            "level = 2\nmetric = \"fmr_ppb\"\ncomparator = \"le\"\nvalue = 1000\n",
        )
    });
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        i,
        "assertions[0]",
        "it bounds the metric fmr_ppb, which no certificate reports",
    );
}

#[test]
fn a_standard_edition_other_than_the_certificates_fails() {
    let mut c = Cert::standard();
    let claim = c.claim(CLAIM, |t| {
        t.replace("IEC 62443-4-2:2019", "IEC 62443-4-2:2024")
    });
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        i,
        "assertions[0]",
        "the claim names IEC 62443-4-2:2024; certificate NMC-62443-2026-0117 is to IEC 62443-4-2:2019",
    );
}

#[test]
fn a_scheme_the_profile_does_not_accept_or_a_certificate_of_another_scheme_fails() {
    let mut c = Cert::standard();
    let claim = c.claim(CLAIM, |t| t);
    let narrow = profile(&[(
        r#"schemes = ["ISO/IEC 27001", "FIDO Biometric Component", "Common Criteria", "IEC 62443-4-2", "EN 18031", "CRA conformity assessment"]"#,
        r#"schemes = ["EN 18031"]"#,
    )]);
    let (r, i) = c.verify(&claim, &[narrow]);
    fails(
        &r,
        i,
        "assertions[0]",
        "your profile does not accept IEC 62443-4-2 certificates (EN 18031)",
    );
    let claim = c.claim(CLAIM, |t| {
        t.replace(r#"scheme = "IEC 62443-4-2""#, r#"scheme = "EN 18031""#)
            .replace("CLM-FG3-SEC-001", "CLM-FG3-SEC-009")
    });
    let (r, i) = c.verify(&claim, &[profile(&[])]);
    fails(
        &r,
        i,
        "assertions[0]",
        "it cites no verified EN 18031 certificate",
    );
}

#[test]
fn the_rule_does_not_apply_to_claims_without_compliance_assertions() {
    let mut c = Cert::standard();
    let pad = c.claim(CLAIM2, |t| {
        t.replace(
            r#"evidence = ["@LAB_RESULT@", "@COUNTERSIG@"]"#,
            "evidence = []",
        )
    });
    let (r, i) = c.verify(&pad, &[profile(&[])]);
    let prefix = format!("{BACKED}: ");
    assert!(
        !r.checks
            .iter()
            .any(|x| x.entry == Some(i) && x.message.starts_with(&prefix)),
        "{}",
        r.render()
    );
}

#[test]
fn the_profile_refuses_unknown_schemes_and_self_asserted_clocks() {
    let t = shipped_text();
    let e = Profile::parse(&t.replace(
        r#"schemes = ["ISO/IEC 27001", "#,
        r#"schemes = ["ISO 27001", "#,
    ))
    .unwrap_err();
    assert!(
        e.starts_with("rule[0].schemes: \"ISO 27001\" is not a certification scheme"),
        "{e}"
    );
    let e = Profile::parse(&t.replace(r#"clock = "witnessed""#, r#"clock = "self-asserted""#))
        .unwrap_err();
    assert!(
        e.starts_with("rule[0].clock: \"self-asserted\" is not a clock this rule accepts"),
        "{e}"
    );
    let e = Profile::parse(&t.replace(
        r#"certifier_role = "certification-body""#,
        r#"certifier_role = " ""#,
    ))
    .unwrap_err();
    assert_eq!(e, "rule[0].certifier_role: must not be empty");
}

// ---------------------------------------------------------------------------------------------
// certification validation and adverse evidence

fn invalid(edit: impl Fn(String) -> String) -> Vec<String> {
    let text = edit(example(CERT, &[]));
    match Evidence::from_input("certification", &text, InputFormat::Toml) {
        Err(EvidenceError::Invalid(ps)) => ps
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect(),
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[test]
fn the_example_certification_is_valid_and_not_adverse() {
    let e = Evidence::from_input("certification", &example(CERT, &[]), InputFormat::Toml)
        .expect("valid");
    assert!(!e.is_adverse());
    assert_eq!(
        Evidence::from_payload("certification", &e.to_payload()).expect("round trip"),
        e
    );
    assert!(evledger::evidence::MAY_BE_ADVERSE.contains(&"certification"));
}

#[test]
fn suspensions_withdrawals_and_supersessions_are_adverse() {
    for (edit, adverse) in [
        (
            "status = \"suspended\"\nstatus_since = 2026-05-20T00:00:00Z",
            true,
        ),
        (
            "status = \"withdrawn\"\nstatus_since = 2026-05-20T00:00:00Z",
            true,
        ),
        (
            &*format!("status = \"valid\"\nsupersedes = \"{}\"", "ab".repeat(32)),
            true,
        ),
        ("status = \"valid\"", false),
    ] {
        let text = example(CERT, &[]).replace(r#"status = "valid""#, edit);
        let e = Evidence::from_input("certification", &text, InputFormat::Toml).expect(edit);
        assert_eq!(e.is_adverse(), adverse, "{edit}");
    }
}

#[test]
fn certification_fields_are_checked_with_their_paths() {
    assert_eq!(
        invalid(|t| t.replace(
            r#"scheme = "IEC 62443-4-2""#,
            r#"scheme = "Common Criteria""#
        )),
        ["protection_profile: required for a Common Criteria certificate"]
    );
    assert_eq!(
        invalid(|t| t.replace(r#"level = "SL 2""#, "protection_profile = \"PP-0084\"")),
        ["protection_profile: only applies to Common Criteria certificates"]
    );
    assert_eq!(
        invalid(|t| t.replace(r#"status = "valid""#, r#"status = "withdrawn""#)),
        ["status_since: required when status is withdrawn"]
    );
    assert_eq!(
        invalid(|t| t.replace("to = 2029-02-28T23:59:59Z", "to = 2026-01-01T00:00:00Z")),
        ["validity.to: must be after validity.from"]
    );
    assert_eq!(
        invalid(|t| t.replace(r#"versions = ["4.2.0", "4.2.1"]"#, "versions = []")),
        ["scope.products[0].versions: must list at least one version"]
    );
    assert_eq!(
        invalid(|t| {
            t.replace(
                "organisation_units = [\"Aurelis Security Systems, product security, Lyon\"]\nproducts = [{ model = \"FG3-100\", versions = [\"4.2.0\", \"4.2.1\"] }]",
                "",
            )
        }),
        ["scope: must list at least one organisation unit or product"]
    );
    let e = Evidence::from_input(
        "certification",
        &example(CERT, &[]).replace(r#"scheme = "IEC 62443-4-2""#, r#"scheme = "ISO 27001""#),
        InputFormat::Toml,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("scheme: unknown variant `ISO 27001`"),
        "{e}"
    );
}

#[test]
fn the_certificate_document_may_be_named_as_a_file() {
    use evledger::evidence::FileDigest;
    let doc = b"certificate NMC-62443-2026-0117".as_slice();
    let resolve = |name: &str| match name {
        "certificate.pdf" => Ok(FileDigest::of(doc)),
        other => Err(format!("no document {other}")),
    };
    let text = example(CERT, &[]).replace(
        "sha256 = \"61f0c2a9d8e7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa99887\"",
        "file = \"certificate.pdf\"",
    );
    let e = Evidence::from_input_with_files("certification", &text, InputFormat::Toml, &resolve)
        .expect("file resolves");
    assert_eq!(
        e.to_json()["document"]["sha256"],
        evledger::hex::encode(&FileDigest::of(doc).sha256)
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
fn validity_is_judged_at_the_witnessed_time_under_the_strict_clock() {
    let mut c = Cert::standard();
    let claim = c.claim(CLAIM, |t| t);
    let idx = c.f.ledger.resolve(&claim).expect("entry").index;
    let bundle =
        c.f.bundle_of(&[&claim], &BundleOptions::default())
            .to_cbor();
    let strict = Profile::parse(&shipped_text()).expect("shipped profile");
    // 2027-01-01: within the certificate's validity.
    let (inside, trust) = witnessed(&bundle, 1_798_761_600, &c.f.keys);
    let r = verify_bundle(
        &inside,
        &trust,
        &with_wording(std::slice::from_ref(&strict)),
    );
    assert_verified(&r);
    passes(
        &r,
        idx,
        "assertions[0]",
        "valid at the witnessed time the claim was in the log (2027-01-01T00:00:00Z)",
    );
    assert_eq!(
        checks(&r, idx, "assertions[0]")[0].clock,
        Some(Clock::Witnessed)
    );
    // 2029-06-01: the claim was first witnessed in the log after the certificate expired.
    let (after, trust) = witnessed(&bundle, 1_874_966_400, &c.f.keys);
    let r = verify_bundle(&after, &trust, &with_wording(&[strict]));
    fails(
        &r,
        idx,
        "assertions[0]",
        "certificate NMC-62443-2026-0117 was not valid when the claim was in the log (2029-06-01T00:00:00Z; it is valid 2026-03-01T00:00:00Z to 2029-02-28T23:59:59Z)",
    );
}
