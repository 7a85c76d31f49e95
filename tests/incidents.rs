//! Incidents as the laws define them: the CRA Art. 14 reports of an actively exploited
//! vulnerability and of a severe incident, the GDPR duties by the maker's role (Art. 33(1),
//! 33(2), 33(5), 34), region groups, and the clocks deadlines are judged by. Each rule passes,
//! fails and does not apply (`specs/policy.md`, "incident-report", "incident-documented").
#![cfg(feature = "store")]

mod story;

use ed25519_dalek::SigningKey;
use evledger::bundle::Bundle;
use evledger::export::BundleOptions;
use evledger::note::{CosignatureSigner, Note};
use evledger::policy::{Profile, region_group};
use evledger::time::parse_rfc3339;
use evledger::trust::TrustFile;
use evledger::verify::{Check, Clock, Outcome, Report, Step, Verdict, verify_bundle};

use story::*;

const EW: &str = "incident-aur-2026-031-early-warning.toml";
const NOTIFICATION: &str = "incident-aur-2026-031-notification.toml";
const FINAL: &str = "incident-aur-2026-031-final-report.toml";

const CRA_EW: &str = "cra-art14-2a-early-warning";
const CRA_N: &str = "cra-art14-2b-notification";
const CRA_FR: &str = "cra-art14-2c-final-report";
const SEVERE_EW: &str = "cra-art14-4a-early-warning";
const SEVERE_N: &str = "cra-art14-4b-notification";
const SEVERE_FR: &str = "cra-art14-4c-final-report";
const ART33_1: &str = "gdpr-art33-1-controller-72h";
const ART33_2: &str = "gdpr-art33-2-processor";
const ART33_5: &str = "gdpr-art33-5-documented";
const ART34: &str = "gdpr-art34-data-subjects";

fn t(s: &str) -> u64 {
    parse_rfc3339(s).expect("time") as u64
}

fn shipped(name: &str) -> String {
    std::fs::read_to_string(profile_path(name)).expect("profile")
}

fn profile(text: &str) -> Profile {
    Profile::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn cra() -> Profile {
    profile(&shipped("incident-cra-art14.toml"))
}

fn gdpr() -> Profile {
    profile(&shipped("incident-gdpr-art33.toml"))
}

/// The checks of rule `id`.
fn rule_checks<'r>(r: &'r Report, id: &str) -> Vec<&'r Check> {
    let prefix = format!("{id}: ");
    r.checks
        .iter()
        .filter(|c| c.step == Step::Policy && c.message.starts_with(&prefix))
        .collect()
}

/// The one check of rule `id`, on `entry`.
#[track_caller]
fn one<'r>(r: &'r Report, id: &str, entry: u64) -> &'r Check {
    let cs: Vec<_> = rule_checks(r, id);
    assert_eq!(cs.len(), 1, "{id}:\n{}", r.render());
    assert_eq!(cs[0].entry, Some(entry), "{}", r.render());
    assert!(cs[0].citation.as_deref().is_some_and(|c| !c.is_empty()));
    cs[0]
}

#[track_caller]
fn passes(r: &Report, id: &str, entry: u64, fragment: &str) -> Clock {
    let c = one(r, id, entry);
    assert_eq!(c.outcome, Outcome::Pass, "{}", r.render());
    assert!(
        c.message.contains(fragment),
        "{fragment:?} not in\n{}",
        c.message
    );
    c.clock.unwrap_or(Clock::Logged)
}

#[track_caller]
fn fails(r: &Report, id: &str, entry: u64, fragment: &str) {
    let c = one(r, id, entry);
    assert_eq!(c.outcome, Outcome::Fail, "{}", r.render());
    assert!(
        c.message.contains(fragment),
        "{fragment:?} not in\n{}",
        c.message
    );
    assert_eq!(r.verdict, Verdict::PolicyNotMet, "{}", r.render());
}

#[track_caller]
fn absent(r: &Report, id: &str) {
    assert!(rule_checks(r, id).is_empty(), "{id}:\n{}", r.render());
}

/// Records incident inputs in order, each at its iat, bundles them all and verifies the bundle
/// with `profiles`; returns the report and the index of the last record.
fn verify_records(records: &[(String, u64)], profiles: &[Profile]) -> (Report, u64) {
    let (bundle, last) = bundle_records(records);
    (verify_bundle(&bundle, &trust(), profiles), last)
}

fn bundle_records(records: &[(String, u64)]) -> (Vec<u8>, u64) {
    let mut f = Fixture::new();
    let mut last = String::new();
    for (text, iat) in records {
        last = f.record_at("incident", text, Who::Legal, *iat);
    }
    let index = f.ledger.resolve(&last).expect("record").index;
    let b = f.bundle_of(&[&last], &BundleOptions::default()).to_cbor();
    (b, index)
}

fn ex(file: &str) -> String {
    example(file, &[])
}

/// The three records of AUR-2026-031, each recorded a day after what it reports.
fn three_stages() -> Vec<(String, u64)> {
    vec![
        (ex(EW), t("2026-10-07T09:30:00Z")),
        (ex(NOTIFICATION), t("2026-10-08T16:00:00Z")),
        (ex(FINAL), t("2026-11-03T09:00:00Z")),
    ]
}

// ---------------------------------------------------------------------------------------------
// CRA Art. 14: actively exploited vulnerabilities

#[test]
fn three_stages_on_time_pass_every_vulnerability_rule() {
    let (r, last) = verify_records(&three_stages(), &[cra(), gdpr()]);
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    passes(
        &r,
        CRA_EW,
        last,
        "incident AUR-2026-031: early warning to the CSIRT designated as coordinator (and ENISA, through the single reporting platform): sent to BSI (CERT-Bund) 19h20m after aware-at (self-asserted sent_at), due within 24 h of aware-at (2026-10-06T14:10:00Z)",
    );
    passes(
        &r,
        CRA_N,
        last,
        "49h50m after aware-at (self-asserted sent_at), due within 72 h of aware-at (2026-10-08T14:10:00Z)",
    );
    let clock = passes(
        &r,
        CRA_FR,
        last,
        "final report to the CSIRT designated as coordinator (and ENISA, through the single reporting platform): sent to BSI (CERT-Bund) 262h00m after the measure became available (self-asserted sent_at), due within 336 h of the corrective measure becoming available (remediation.available_at) (2026-11-02T12:00:00Z)",
    );
    assert_eq!(clock, Clock::SelfAsserted);
    // Not a severe incident (a vulnerability), and no personal data: those rules do not apply.
    for id in [
        SEVERE_EW, SEVERE_N, SEVERE_FR, ART33_1, ART33_2, ART33_5, ART34,
    ] {
        absent(&r, id);
    }
}

#[test]
fn a_critical_actively_exploited_vulnerability_without_personal_data_gets_a_deadline_check() {
    // The issue's case: no data subjects, no data categories; the early warning came 43 h after
    // aware-at, and the record was made two weeks later with nothing else reported.
    let text = ex(EW).replace(
        "sent_at = 2026-10-06T09:30:00Z",
        "sent_at = 2026-10-07T09:30:00Z",
    );
    assert!(!text.contains("data_categories") && !text.contains("subjects"));
    let (r, last) = verify_records(&[(text, t("2026-10-20T00:00:00Z"))], &[cra(), gdpr()]);
    fails(
        &r,
        CRA_EW,
        last,
        "incident AUR-2026-031: early warning to the CSIRT designated as coordinator (and ENISA, through the single reporting platform) late: sent to BSI (CERT-Bund) 43h20m after aware-at (self-asserted sent_at), due within 24 h of aware-at (2026-10-06T14:10:00Z), and it gives no reasons for the delay (delay_reasons)",
    );
    fails(
        &r,
        CRA_N,
        last,
        "incident AUR-2026-031: no notification to the CSIRT designated as coordinator (and ENISA, through the single reporting platform) is recorded, due within 72 h of aware-at (2026-10-08T14:10:00Z): record it in notifications with stage = \"notification\" and recipient = \"csirt-coordinator\" and its sent_at",
    );
    // No corrective measure yet: the final report is not due.
    passes(
        &r,
        CRA_FR,
        last,
        "final report to the CSIRT designated as coordinator (and ENISA, through the single reporting platform) not due yet: no corrective or mitigating measure is recorded as available yet; the final report is due 336 h after one is (remediation.available_at)",
    );
    // The GDPR judges no breach of personal data here.
    for id in [ART33_1, ART33_2, ART33_5, ART34] {
        absent(&r, id);
    }
}

#[test]
fn a_report_not_due_when_the_latest_record_was_made_passes_and_says_so() {
    // Recorded 20 h after aware-at, before the notification's 72 h deadline.
    let (r, last) = verify_records(&[(ex(EW), t("2026-10-06T10:10:00Z"))], &[cra()]);
    let clock = passes(
        &r,
        CRA_N,
        last,
        "no notification to the CSIRT designated as coordinator (and ENISA, through the single reporting platform) recorded yet, and none was due when the latest record (entry 0) was made at 2026-10-06T10:10:00Z (self-asserted time): due within 72 h of aware-at",
    );
    assert_eq!(clock, Clock::SelfAsserted);
    passes(&r, CRA_EW, last, "19h20m after aware-at");
}

#[test]
fn a_late_final_report_fails_and_a_missing_date_of_the_measure_cannot_be_judged() {
    let mut late = three_stages();
    late[2].0 = late[2].0.replace(
        "sent_at = 2026-10-30T10:00:00Z",
        "sent_at = 2026-11-05T10:00:00Z",
    );
    late[2].1 = t("2026-11-06T00:00:00Z");
    let (r, last) = verify_records(&late, &[cra()]);
    fails(
        &r,
        CRA_FR,
        last,
        "final report to the CSIRT designated as coordinator (and ENISA, through the single reporting platform) late: sent to BSI (CERT-Bund) 406h00m after the measure became available",
    );
    // Reasons do not help where the law provides for none (on_late_with_reasons = "fail").
    let mut reasons = late.clone();
    reasons[2].0 = reasons[2].0.replace(
        "reference = \"SRP-2026-DE-004711-FR\"",
        "reference = \"SRP-2026-DE-004711-FR\"\ndelay_reasons = \"root cause analysis at the module supplier\"",
    );
    let (r, last) = verify_records(&reasons, &[cra()]);
    fails(
        &r,
        CRA_FR,
        last,
        "late with reasons: sent to BSI (CERT-Bund) 406h00m after the measure became available (self-asserted sent_at), due within 336 h of the corrective measure becoming available (remediation.available_at) (2026-11-02T12:00:00Z); reasons given for the delay: root cause analysis at the module supplier",
    );

    let mut undated = three_stages();
    undated[2].0 = undated[2]
        .0
        .replace("available_at = 2026-10-19T12:00:00Z\n", "");
    let (r, last) = verify_records(&undated, &[cra()]);
    fails(
        &r,
        CRA_FR,
        last,
        "final report to the CSIRT designated as coordinator (and ENISA, through the single reporting platform) cannot be judged: the record names a corrective measure but not when it became available: record remediation.available_at",
    );
}

#[test]
fn the_latest_record_decides_what_the_incident_is_and_the_first_showing_a_report_counts() {
    // Only the first two records: the notification counts from the second record; the final
    // report is not due, as no measure is available yet.
    let two = three_stages()[..2].to_vec();
    let (r, last) = verify_records(&two, &[cra()]);
    assert_eq!(last, 1);
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    passes(&r, CRA_EW, 1, "19h20m after aware-at");
    passes(&r, CRA_N, 1, "49h50m after aware-at");
    passes(&r, CRA_FR, 1, "not due yet");
}

#[test]
fn vulnerability_rules_do_not_apply_before_the_cra_or_when_not_exploited() {
    // Aware before 11 September 2026 (CRA Art. 71(2)).
    let before = ex(EW)
        .replace("2026-10-05T06:20:00Z", "2026-09-10T06:20:00Z")
        .replace(
            "aware_at = 2026-10-05T14:10:00Z",
            "aware_at = 2026-09-10T14:10:00Z",
        );
    let (r, _) = verify_records(&[(before, t("2026-10-07T00:00:00Z"))], &[cra()]);
    for id in [CRA_EW, CRA_N, CRA_FR] {
        absent(&r, id);
    }
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    // Not actively exploited.
    let (r, _) = verify_records(
        &[(
            ex(EW).replace("actively_exploited = true", "actively_exploited = false"),
            t("2026-10-20T00:00:00Z"),
        )],
        &[cra()],
    );
    for id in [CRA_EW, CRA_N, CRA_FR] {
        absent(&r, id);
    }
    // A record that does not say cannot be taken out of scope silently.
    let (r, last) = verify_records(
        &[(
            ex(EW).replace("actively_exploited = true\n", ""),
            t("2026-10-20T00:00:00Z"),
        )],
        &[cra()],
    );
    fails(
        &r,
        CRA_EW,
        last,
        "incident AUR-2026-031: the record does not say whether the vulnerability is actively exploited, so whether this duty applies cannot be judged: record actively_exploited = true or false",
    );
}

#[test]
fn a_report_to_another_recipient_or_under_another_regime_does_not_count() {
    let (r, last) = verify_records(
        &[(
            ex(EW).replace("recipient = \"csirt-coordinator\"", "recipient = \"users\""),
            t("2026-10-20T00:00:00Z"),
        )],
        &[cra()],
    );
    fails(
        &r,
        CRA_EW,
        last,
        "no early warning to the CSIRT designated as coordinator",
    );
    let (r, last) = verify_records(
        &[(
            ex(EW).replace("regime = \"CRA-Art14\"", "regime = \"NIS2-Art23\""),
            t("2026-10-20T00:00:00Z"),
        )],
        &[cra()],
    );
    fails(
        &r,
        CRA_EW,
        last,
        "no early warning to the CSIRT designated as coordinator",
    );
}

// ---------------------------------------------------------------------------------------------
// CRA Art. 14(3) and (4): severe incidents

/// AUR-2026-031's records turned into a severe malfunction: final report one month after the
/// notification (sent 2026-10-07T16:00:00Z).
fn severe(final_sent: &str) -> Vec<(String, u64)> {
    let turn = |s: String| {
        s.replace("type = \"vulnerability\"", "type = \"malfunction\"")
            .replace("severity = \"critical\"", "severity = \"high\"")
            .replace("actively_exploited = true\n", "")
            .replace(
                "sent_at = 2026-10-30T10:00:00Z",
                &format!("sent_at = {final_sent}"),
            )
    };
    three_stages()
        .into_iter()
        .map(|(s, iat)| (turn(s), iat.max(t("2026-12-01T00:00:00Z"))))
        .collect()
}

#[test]
fn severe_incident_reports_pass_fail_and_do_not_apply() {
    let (r, last) = verify_records(&severe("2026-11-07T16:00:00Z"), &[cra()]);
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    passes(&r, SEVERE_EW, last, "19h20m after aware-at");
    passes(&r, SEVERE_N, last, "49h50m after aware-at");
    passes(
        &r,
        SEVERE_FR,
        last,
        "744h00m after the notification (self-asserted sent_at), due within 1 month of the notification (2026-11-07T16:00:00Z)",
    );
    for id in [CRA_EW, CRA_N, CRA_FR] {
        absent(&r, id);
    }
    let (r, last) = verify_records(&severe("2026-11-07T16:00:01Z"), &[cra()]);
    fails(
        &r,
        SEVERE_FR,
        last,
        "final report to the CSIRT designated as coordinator (and ENISA, through the single reporting platform) late: sent to BSI (CERT-Bund) 744h00m after the notification",
    );
    // Without the notification, the final report's deadline has nothing to run from.
    let mut no_n = severe("2026-11-07T16:00:00Z");
    for (s, _) in &mut no_n {
        *s = s.replace(
            "stage = \"notification\"",
            "stage = \"intermediate-report\"",
        );
    }
    let (r, last) = verify_records(&no_n, &[cra()]);
    fails(
        &r,
        SEVERE_FR,
        last,
        "cannot be judged: its deadline runs from the notification, and no notification to the CSIRT designated as coordinator (and ENISA, through the single reporting platform) is recorded",
    );
    // Medium severity: not a severe incident as this profile reads Art. 14(5).
    let medium: Vec<_> = severe("2026-11-07T16:00:00Z")
        .into_iter()
        .map(|(s, i)| (s.replace("severity = \"high\"", "severity = \"medium\""), i))
        .collect();
    let (r, _) = verify_records(&medium, &[cra()]);
    for id in [SEVERE_EW, SEVERE_N, SEVERE_FR] {
        absent(&r, id);
    }
}

// ---------------------------------------------------------------------------------------------
// GDPR Art. 33 and 34, by the maker's role

/// The example breach AUR-2026-014 (edited), with the builds it cites, verified with `profiles`.
fn breach(edit: impl Fn(String) -> String, profiles: &[Profile]) -> (Report, u64) {
    let mut f = Fixture::new();
    let s = Story::builds(&mut f);
    let inc = f.record("incident", &edit(s.example(INCIDENT)), Who::Legal);
    let idx = f.ledger.resolve(&inc).expect("incident").index;
    let b = f.bundle_of(&[&inc], &BundleOptions::default()).to_cbor();
    (verify_bundle(&b, &trust(), profiles), idx)
}

const BAYLDA: &str = "Bayerisches Landesamt für Datenschutzaufsicht (BayLDA)";

#[test]
fn the_controllers_breach_notified_documented_and_communicated_passes() {
    let (r, i) = breach(|t| t, &[gdpr(), cra()]);
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    passes(
        &r,
        ART33_1,
        i,
        &format!(
            "incident AUR-2026-014: notification to the supervisory authority: sent to {BAYLDA} 42h35m after aware-at (self-asserted sent_at), due within 72 h of aware-at (2026-04-23T15:40:00Z)"
        ),
    );
    passes(
        &r,
        ART33_5,
        i,
        "incident AUR-2026-014 is documented in the log (entry 2): its facts (8 timeline entries), effects (face templates, badge numbers, enrolment names; 1240 data subjects) and remedial action",
    );
    passes(
        &r,
        ART34,
        i,
        "communication to the data subjects: sent to Enrolled employees at the Munich site (1240), through the customer's HR portal 65h20m after aware-at",
    );
    absent(&r, ART33_2);
    // Aware in April 2026, before the CRA's reporting duties apply.
    for id in [CRA_EW, CRA_N, CRA_FR] {
        absent(&r, id);
    }
}

fn late_art33(t: String) -> String {
    t.replace(
        "sent_at = 2026-04-22T10:15:00Z",
        "sent_at = 2026-04-24T10:15:00Z",
    )
}

#[test]
fn a_late_notification_with_reasons_is_late_with_reasons_not_passed_silently_nor_failed() {
    let with_reasons = |t: String| {
        late_art33(t).replace(
            "reference = \"LDA-1085.4-2026-0417\"",
            "reference = \"LDA-1085.4-2026-0417\"\ndelay_reasons = \"the customer's logs needed to confirm the breach arrived on 23 April\"",
        )
    };
    let (r, i) = breach(with_reasons, &[gdpr()]);
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    let c = one(&r, ART33_1, i);
    assert_eq!(c.outcome, Outcome::Pass);
    assert_eq!(
        c.message,
        format!(
            "{ART33_1}: note: incident AUR-2026-014: notification to the supervisory authority late with reasons: sent to {BAYLDA} 90h35m after aware-at (self-asserted sent_at), due within 72 h of aware-at (2026-04-23T15:40:00Z); reasons given for the delay: the customer's logs needed to confirm the breach arrived on 23 April"
        )
    );
    // The buyer may refuse it.
    let strict = profile(&shipped("incident-gdpr-art33.toml").replacen(
        "on_late_with_reasons = \"note\"",
        "on_late_with_reasons = \"fail\"",
        1,
    ));
    let (r, i) = breach(with_reasons, &[strict]);
    fails(
        &r,
        ART33_1,
        i,
        "notification to the supervisory authority late with reasons: sent to",
    );
    // Late without reasons fails.
    let (r, i) = breach(late_art33, &[gdpr()]);
    fails(
        &r,
        ART33_1,
        i,
        &format!(
            "notification to the supervisory authority late: sent to {BAYLDA} 90h35m after aware-at (self-asserted sent_at), due within 72 h of aware-at (2026-04-23T15:40:00Z), and it gives no reasons for the delay (delay_reasons)"
        ),
    );
}

#[test]
fn a_processor_notifies_the_controller_and_the_controllers_duties_do_not_apply() {
    let processor = |sent: &'static str| {
        move |t: String| {
            t.replace("gdpr_role = \"controller\"", "gdpr_role = \"processor\"")
                .replace(
                    "recipient = \"supervisory-authority\"",
                    "recipient = \"controller\"",
                )
                .replace(
                    "authority = \"Bayerisches Landesamt für Datenschutzaufsicht (BayLDA)\"",
                    "authority = \"Stadtwerke München GmbH (controller)\"",
                )
                .replace("sent_at = 2026-04-22T10:15:00Z", sent)
        }
    };
    let (r, i) = breach(processor("sent_at = 2026-04-21T08:00:00Z"), &[gdpr()]);
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    passes(
        &r,
        ART33_2,
        i,
        "notification to the controller: sent to Stadtwerke München GmbH (controller) 16h20m after aware-at (self-asserted sent_at), due within 24 h of aware-at",
    );
    for id in [ART33_1, ART33_5, ART34] {
        absent(&r, id);
    }
    let (r, i) = breach(processor("sent_at = 2026-04-22T10:15:00Z"), &[gdpr()]);
    fails(
        &r,
        ART33_2,
        i,
        "notification to the controller late: sent to Stadtwerke München GmbH (controller) 42h35m after aware-at",
    );
    // The maker had no role for these data: no GDPR duty of its own.
    let (r, _) = breach(
        |t| t.replace("gdpr_role = \"controller\"", "gdpr_role = \"none\""),
        &[gdpr()],
    );
    for id in [ART33_1, ART33_2, ART33_5, ART34] {
        absent(&r, id);
    }
}

#[test]
fn the_duty_to_document_names_what_the_record_lacks() {
    let (r, i) = breach(|t| t.replace("subjects = 1240\n", ""), &[gdpr()]);
    fails(
        &r,
        ART33_5,
        i,
        "incident AUR-2026-014's latest record (entry 2) does not document how many data subjects are concerned (affected.subjects): record them in the incident and re-record it",
    );
    // Without personal data there is no personal data breach to document.
    let (r, _) = breach(
        |t| {
            t.replace("subjects = 1240\n", "").replace(
                "data_categories = [\"face templates\", \"badge numbers\", \"enrolment names\"]\n",
                "",
            )
        },
        &[gdpr()],
    );
    for id in [ART33_1, ART33_5, ART34] {
        absent(&r, id);
    }
}

/// The example breach without its Art. 34 communication.
fn uncommunicated(t: String) -> String {
    let start = t
        .find("[[notifications]]\nregime = \"GDPR-Art34\"")
        .expect("Art. 34");
    let end = t.find("[remediation]").expect("remediation");
    format!("{}{}", &t[..start], &t[end..])
}

#[test]
fn a_high_risk_breach_needs_a_communication_to_the_data_subjects() {
    let (r, i) = breach(uncommunicated, &[gdpr()]);
    fails(
        &r,
        ART34,
        i,
        "incident AUR-2026-014: no communication to the data subjects is recorded, due within 72 h of aware-at (2026-04-23T15:40:00Z): record it in notifications with stage = \"communication\" and recipient = \"data-subjects\" and its sent_at, or the reason none was sent (no_notification_reason)",
    );
    // An Art. 34(3) ground, recorded, satisfies it.
    let (r, i) = breach(
        |t| {
            uncommunicated(t).replace(
                "closed_at = 2026-06-12T10:00:00Z",
                "closed_at = 2026-06-12T10:00:00Z\nno_notification_reason = \"Art. 34(3)(a): the exported templates were encrypted with a key the client never held\"",
            )
        },
        &[gdpr()],
    );
    passes(
        &r,
        ART34,
        i,
        "no communication to the data subjects; recorded reason: Art. 34(3)(a)",
    );
    // Not a high risk as the profile reads it: no communication due.
    let (r, _) = breach(
        |t| uncommunicated(t).replace("severity = \"high\"", "severity = \"medium\""),
        &[gdpr()],
    );
    absent(&r, ART34);
}

#[test]
fn a_record_made_before_gdpr_role_and_stages_is_judged_as_the_controllers() {
    let old = |t: String| {
        t.replace("gdpr_role = \"controller\"\n", "")
            .replace(
                "stage = \"notification\"\nrecipient = \"supervisory-authority\"\n",
                "",
            )
            .replace(
                "stage = \"communication\"\nrecipient = \"data-subjects\"\n",
                "",
            )
    };
    let (r, i) = breach(old, &[gdpr()]);
    // The Art. 33(1) notification counts by its regime; the Art. 34 one needs a stage.
    passes(
        &r,
        ART33_1,
        i,
        "42h35m after aware-at (self-asserted sent_at), due within 72 h of aware-at (2026-04-23T15:40:00Z) (the record gives no gdpr_role: judged as the controller's breach)",
    );
    fails(
        &r,
        ART34,
        i,
        "no communication to the data subjects is recorded",
    );
}

// ---------------------------------------------------------------------------------------------
// Region groups

fn regions_rule(regions: &str) -> Profile {
    profile(&format!(
        "format = \"evledger-profile/1\"\nid = \"t\"\nversion = \"1\"\ntitle = \"t\"\n\
         [[rule]]\nid = \"r\"\ntype = \"incident-documented\"\ncitation = \"c\"\n\
         [rule.scope]\nregions = {regions}\n"
    ))
}

#[test]
fn eea_and_eu_in_a_profile_stand_for_their_member_states() {
    let in_region = |incident: &str, profile: &str| {
        let (r, _) = breach(
            |t| {
                t.replace(
                    "regions = [\"EU\", \"DE\"]",
                    &format!("regions = {incident}"),
                )
            },
            &[regions_rule(profile)],
        );
        !rule_checks(&r, "r").is_empty()
    };
    assert!(in_region("[\"NO\"]", "[\"EEA\"]"));
    assert!(in_region("[\"DE\"]", "[\"EEA\"]"));
    assert!(in_region("[\"EU\"]", "[\"EEA\"]"));
    assert!(in_region("[\"GR\"]", "[\"EU\"]"));
    assert!(!in_region("[\"NO\"]", "[\"EU\"]"));
    assert!(!in_region("[\"US\", \"US-CA\"]", "[\"EEA\"]"));
    assert!(!in_region("[\"CH\"]", "[\"EEA\"]"));
    assert!(in_region("[\"CH\"]", "[\"CH\"]"));
    assert_eq!(region_group("EEA").len(), 32);
    // The old rule type expands groups too: before, "EEA" could never match.
    let old = profile(
        "format = \"evledger-profile/1\"\nid = \"t\"\nversion = \"1\"\ntitle = \"t\"\n\
         [[rule]]\nid = \"r\"\ntype = \"incident-notification\"\ncitation = \"c\"\n\
         regime = \"GDPR-Art33\"\nregions = [\"EEA\"]\ndeadline_hours = 72\n",
    );
    let (r, i) = breach(
        |t| t.replace("regions = [\"EU\", \"DE\"]", "regions = [\"NO\"]"),
        &[old],
    );
    passes(&r, "r", i, "GDPR-Art33 notification to");
}

// ---------------------------------------------------------------------------------------------
// Clocks

fn witness() -> CosignatureSigner {
    CosignatureSigner::new("witness.example/w1", SigningKey::from_bytes(&[32; 32]))
        .expect("witness")
}

/// `bundle` with the witness's cosignature at time `t` on its checkpoint.
fn cosigned(bundle: &[u8], t: u64) -> Vec<u8> {
    let mut b = Bundle::parse(bundle, &Default::default()).expect("bundle");
    let mut note = Note::parse(&b.checkpoint).expect("note");
    note.add_signature(witness().sign(note.text(), t).expect("cosign"));
    b.checkpoint = note.to_text();
    b.to_cbor()
}

fn witnessed_trust() -> TrustFile {
    let text = format!(
        "{}\n[witnesses]\nquorum = 1\nkeys = [\"{}\"]\n",
        TrustSpec::default().text(&Keys::new()),
        witness().verifier()
    );
    TrustFile::parse(&text, "t.toml", &|n: &str| {
        Err(format!("{n}: not available"))
    })
    .expect("trust")
}

#[test]
fn deadlines_are_judged_by_the_witnessed_time_when_the_profile_asks() {
    let strict = profile(
        &shipped("incident-cra-art14.toml")
            .replace("clock = \"self-asserted\"", "clock = \"witnessed\""),
    );
    let (bundle, last) = bundle_records(&three_stages());
    // The witness saw the whole log only on 2026-10-31: every record was in the log by then,
    // which is past the early warning's and the notification's deadlines.
    let late = cosigned(&bundle, t("2026-10-31T10:00:00Z"));
    let r = verify_bundle(&late, &witnessed_trust(), std::slice::from_ref(&strict));
    fails(
        &r,
        CRA_EW,
        last,
        "early warning to the CSIRT designated as coordinator (and ENISA, through the single reporting platform) late: recorded in the log by 2026-10-31T10:00:00Z (witnessed time, entry 0), 619h50m after aware-at, too late whatever sent_at says",
    );
    assert_eq!(one(&r, CRA_EW, last).clock, Some(Clock::Witnessed));
    // The final report's record was in the log by then, 12 days after the measure was available.
    let c = one(&r, CRA_FR, last);
    assert_eq!(
        (c.outcome, c.clock),
        (Outcome::Pass, Some(Clock::Witnessed))
    );
    // Without the cosignature the strict clock accepts no sent_at.
    let r = verify_bundle(&bundle, &trust(), std::slice::from_ref(&strict));
    fails(
        &r,
        CRA_EW,
        last,
        "the early warning to the CSIRT designated as coordinator (and ENISA, through the single reporting platform) is recorded (entry 0) but has no witnessed time, and the clock \"witnessed\" accepts no self-asserted sent_at",
    );
    // "witnessed-if-present" falls back to sent_at, and says the exporter's own clock decided.
    let lenient = profile(&shipped("incident-cra-art14.toml").replace(
        "clock = \"self-asserted\"",
        "clock = \"witnessed-if-present\"",
    ));
    let r = verify_bundle(&bundle, &trust(), &[lenient]);
    passes(
        &r,
        CRA_EW,
        last,
        "19h20m after aware-at (self-asserted sent_at: no witnessed time, so the exporter's own clock decided)",
    );
}

// ---------------------------------------------------------------------------------------------
// Profiles

fn rule_err(rule: &str) -> String {
    Profile::parse(&format!(
        "format = \"evledger-profile/1\"\nid = \"t\"\nversion = \"1\"\ntitle = \"t\"\n[[rule]]\nid = \"r\"\ntype = \"incident-report\"\ncitation = \"c\"\nstage = \"notification\"\n{rule}"
    ))
    .expect_err("refused")
}

#[test]
fn incident_report_parameters_are_checked_when_the_profile_loads() {
    assert_eq!(
        rule_err(""),
        "rule[0].deadline_hours: give exactly one of deadline_hours and deadline_months"
    );
    assert_eq!(
        rule_err("deadline_hours = 72\ndeadline_months = 1\n"),
        "rule[0].deadline_hours: give exactly one of deadline_hours and deadline_months"
    );
    assert_eq!(
        rule_err("deadline_hours = 876001\n"),
        "rule[0].deadline_hours: 876001 exceeds the limit of 876000 hours (100 years)"
    );
    assert_eq!(
        rule_err("deadline_months = 1201\n"),
        "rule[0].deadline_months: 1201 exceeds the limit of 1200 months (100 years)"
    );
    assert_eq!(
        rule_err("deadline_hours = 72\ncounted_from = \"notification-sent\"\n"),
        "rule[0].counted_from: a notification's deadline cannot count from itself; use \"aware-at\""
    );
    assert_eq!(
        rule_err("deadline_hours = 72\nclock = \"logged\"\n"),
        "rule[0].clock: \"logged\" cannot judge a deadline in hours: log order shows which entry came first, not when; use \"witnessed\", \"witnessed-if-present\" or \"self-asserted\""
    );
    assert_eq!(
        rule_err("deadline_hours = 72\nregimes = [\"CRA Art14\"]\n"),
        "rule[0].regimes[0]: must be a name without white space such as CRA-Art14"
    );
    assert_eq!(
        rule_err("deadline_hours = 72\n[rule.scope]\nregion = [\"EU\"]\n"),
        // Inside the internally tagged rule enum serde loses the path below the rule.
        "rule[0]: unknown field `region`, expected one of `types`, `aware_from`, `min_severity`, `actively_exploited`, `personal_data`, `gdpr_roles`, `regions`"
    );
    assert!(
        rule_err("deadline_hours = 72\n[rule.scope]\naware_from = \"11 Sep 2026\"\n")
            .starts_with("rule[0]: not an RFC 3339 timestamp"),
    );
}

#[test]
fn shipped_incident_profiles_cite_each_rule_to_its_paragraph() {
    for (name, prefix) in [
        (
            "incident-cra-art14.toml",
            "Regulation (EU) 2024/2847 Art. 14(",
        ),
        (
            "incident-gdpr-art33.toml",
            "Regulation (EU) 2016/679 Art. 3",
        ),
    ] {
        let p = profile(&shipped(name));
        for rule in &p.rules {
            assert!(
                rule.citation().starts_with(prefix) && rule.citation().contains(')'),
                "{name}: {}: {}",
                rule.id(),
                rule.citation()
            );
        }
    }
    assert_eq!(gdpr().version, "2026.2");
    assert_eq!(cra().rules.len(), 6);
}

#[test]
fn incidents_with_extreme_times_do_not_panic() {
    // Times at the ends of the i64 range are valid evidence; every deadline saturates or falls
    // back to 31-day months, and the report is still computed.
    let extreme = |s: String| {
        s.replace(
            "detected_at = 2026-10-05T06:20:00Z",
            "detected_at = -9223372036854775808",
        )
        .replace(
            "aware_at = 2026-10-05T14:10:00Z",
            "aware_at = 9223372036854775807",
        )
        .replace(
            "available_at = 2026-10-19T12:00:00Z",
            "available_at = 9223372036854775807",
        )
        .replace("closed_at = 2026-11-02T09:00:00Z\n", "")
        .replace(
            "sent_at = 2026-10-30T10:00:00Z",
            "sent_at = 9223372036854775807",
        )
    };
    let records: Vec<_> = three_stages()
        .into_iter()
        .map(|(s, iat)| (extreme(s), iat))
        .collect();
    let (r, last) = verify_records(&records, &[cra()]);
    // Sent before aware-at, which the evidence allows (not before detected_at): in time.
    passes(&r, CRA_EW, last, "after aware-at");
    passes(&r, CRA_FR, last, "after the measure became available");
    // The severe-incident rules, whose final report counts a calendar month from the
    // notification, beyond the calendar's range.
    let severe: Vec<_> = records
        .into_iter()
        .map(|(s, iat)| {
            (
                s.replace("type = \"vulnerability\"", "type = \"malfunction\"")
                    .replace("actively_exploited = true\n", "")
                    .replace(
                        "sent_at = 2026-10-07T16:00:00Z",
                        "sent_at = 9223372036854775000",
                    ),
                iat,
            )
        })
        .collect();
    let (r, last) = verify_records(&severe, &[cra()]);
    passes(
        &r,
        SEVERE_FR,
        last,
        "due within 1 month of the notification",
    );
}
