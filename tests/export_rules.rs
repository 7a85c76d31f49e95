//! The export control, end-use and deployment rules, each passing, failing and not applying, over
//! the FaceGate export examples placed at chosen log positions; and the fail-closed judging of
//! export decisions, shipments and deployments.

use std::collections::BTreeMap;

use evledger::evidence::{Evidence, InputFormat};
use evledger::policy::{PolicyEntry, PolicyView, Profile, Rule, evaluate, judge};
use evledger::verify::{Check, Outcome};

/// Entry hashes by placeholder: each example entry gets a fixed hash.
const HASHES: &[(&str, u8)] = &[
    ("@FW_420@", 0xa0),
    ("@FW_421@", 0xa1),
    ("@DECISION_0101@", 0xd1),
    ("@DECISION_0103@", 0xd3),
];

fn hash(b: u8) -> [u8; 32] {
    [b; 32]
}

/// An example, with its placeholders filled, and any replacements applied.
fn ev(kind: &str, file: &str, edits: &[(&str, &str)]) -> Evidence {
    let path = format!("{}/examples/facegate/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (p, b) in HASHES {
        text = text.replace(p, &evledger::hex::encode(&hash(*b)));
    }
    for (from, to) in edits {
        assert!(text.contains(from), "{file}: no {from:?}");
        text = text.replacen(from, to, 1);
    }
    Evidence::from_input(kind, &text, InputFormat::Toml).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn countersignature(target: u8) -> Evidence {
    let text = format!(
        "target = \"{}\"\nstatement = \"Assessment as issued\"\n",
        evledger::hex::encode(&hash(target))
    );
    Evidence::from_input("countersignature", &text, InputFormat::Toml).expect("countersignature")
}

/// One entry of the view: (index, hash byte, evidence, role, witnessed time).
type Row = (u64, u8, Evidence, &'static str, Option<u64>);

fn row(index: u64, h: u8, e: Evidence) -> Row {
    (index, h, e, "export", None)
}

/// The builds, at indexes 0 and 1.
fn builds() -> Vec<Row> {
    vec![
        row(0, 0xa0, ev("firmware-build", "firmware-4.2.0.toml", &[])),
        row(1, 0xa1, ev("firmware-build", "firmware-4.2.1.toml", &[])),
    ]
}

/// The four classifications, at indexes 2 to 5.
fn classifications() -> Vec<Row> {
    [
        "export-classification-eu-4.2.0.toml",
        "export-classification-us-4.2.0.toml",
        "export-classification-eu-4.2.1.toml",
        "export-classification-us-4.2.1.toml",
    ]
    .iter()
    .enumerate()
    .map(|(i, f)| {
        row(
            2 + i as u64,
            0xc0 + i as u8,
            ev("export-classification", f, &[]),
        )
    })
    .collect()
}

/// Runs one rule (by id, from a shipped profile) over the rows.
fn run(profile: &str, rule_id: &str, rows: &[Row]) -> Vec<Check> {
    let path = format!("{}/specs/profiles/{profile}", env!("CARGO_MANIFEST_DIR"));
    let mut p = Profile::parse(&std::fs::read_to_string(&path).expect("profile")).expect("parses");
    p.rules.retain(|r: &Rule| r.id() == rule_id);
    assert_eq!(p.rules.len(), 1, "{rule_id}");
    let attachments = BTreeMap::new();
    let view = PolicyView::new(entries(rows), &attachments);
    evaluate(&p, &view)
}

fn entries(rows: &[Row]) -> Vec<PolicyEntry<'_>> {
    rows.iter()
        .map(|(index, h, e, role, w)| PolicyEntry {
            index: *index,
            entry_hash: hash(*h),
            iat: 1_780_000_000,
            role: Some((*role).to_owned()),
            witnessed_at: *w,
            certificate_clock: None,
            evidence: e,
        })
        .collect()
}

/// The single check of a run, with its outcome and message.
fn one(checks: Vec<Check>) -> (bool, String) {
    assert_eq!(checks.len(), 1, "{checks:#?}");
    (
        checks[0].outcome == Outcome::Pass,
        checks[0].message.clone(),
    )
}

fn with(mut base: Vec<Row>, more: Vec<Row>) -> Vec<Row> {
    base.extend(more);
    base
}

fn decision_0101() -> Evidence {
    ev("export-decision", "export-decision-exp-0101.toml", &[])
}

fn decision_0102(edits: &[(&str, &str)]) -> Evidence {
    ev("export-decision", "export-decision-exp-0102.toml", edits)
}

fn hrdd(edits: &[(&str, &str)]) -> Evidence {
    ev("hr-due-diligence", "hrdd-dps-2026-07.toml", edits)
}

#[test]
fn classification_current_passes_fails_and_names_why() {
    let base = with(builds(), classifications());
    let (ok, msg) = one(run(
        "export-eu-dual-use.toml",
        "eu-classification-current",
        &with(base.clone(), vec![row(10, 0xd1, decision_0101())]),
    ));
    assert!(ok, "{msg}");
    assert!(
        msg.contains("is classified EU not listed by entry 2"),
        "{msg}"
    );
    // Logged after the decision: the classification does not count.
    let mut late = builds();
    late.push(row(3, 0xd1, decision_0101()));
    late.extend(classifications().into_iter().map(|mut r| {
        r.0 += 10;
        r
    }));
    let (ok, msg) = one(run(
        "export-us-ear.toml",
        "ear-classification-current",
        &late,
    ));
    assert!(
        !ok && msg.contains("was logged after the decision"),
        "{msg}"
    );
    // Expired before the decision.
    let expired = ev(
        "export-classification",
        "export-classification-us-4.2.0.toml",
        &[(
            "valid_until = 2036-03-01T00:00:00Z",
            "valid_until = 2026-04-01T00:00:00Z",
        )],
    );
    let rows = with(
        builds(),
        vec![row(2, 0xc1, expired), row(10, 0xd1, decision_0101())],
    );
    let (ok, msg) = one(run(
        "export-us-ear.toml",
        "ear-classification-current",
        &rows,
    ));
    assert!(
        !ok && msg.contains("expired at 2026-04-01T00:00:00Z"),
        "{msg}"
    );
    // Not applicable: no decision, no check.
    assert!(run("export-us-ear.toml", "ear-classification-current", &base).is_empty());
}

#[test]
fn due_diligence_must_precede_a_surveillance_capable_decision() {
    let base = with(builds(), classifications());
    let rule = |rows: &[Row]| run("export-eu-dual-use.toml", "eu-hrdd-before-decision", rows);
    // Logged after the decision (scenario 2).
    let rows = with(
        base.clone(),
        vec![row(10, 0xd2, decision_0102(&[])), row(11, 0xe1, hrdd(&[]))],
    );
    let (ok, msg) = one(rule(&rows));
    assert!(!ok, "{msg}");
    assert!(
        msg.contains("items[0] performs identification-1toN (classification entry 4)"),
        "{msg}"
    );
    assert!(
        msg.contains("assessment HRDD-2026-07 (entry 11) was logged after the decision (entry 10)"),
        "{msg}"
    );
    // Logged before, unexpired, proceeding: passes.
    let rows = with(
        base.clone(),
        vec![row(9, 0xe1, hrdd(&[])), row(10, 0xd2, decision_0102(&[]))],
    );
    let (ok, msg) = one(rule(&rows));
    assert!(ok, "{msg}");
    // Declined, or expired before the decision: fails.
    let declined = hrdd(&[(
        "decision = \"proceed-with-conditions\"",
        "decision = \"decline\"",
    )]);
    let rows = with(
        base.clone(),
        vec![row(9, 0xe1, declined), row(10, 0xd2, decision_0102(&[]))],
    );
    let (ok, msg) = one(rule(&rows));
    assert!(!ok && msg.contains("declined this end use"), "{msg}");
    let expired = hrdd(&[
        (
            "assessed_at = 2026-05-25T16:00:00Z",
            "assessed_at = 2025-01-01T00:00:00Z",
        ),
        (
            "valid_until = 2027-05-25T00:00:00Z",
            "valid_until = 2026-01-01T00:00:00Z",
        ),
    ]);
    let rows = with(
        base.clone(),
        vec![row(9, 0xe1, expired), row(10, 0xd2, decision_0102(&[]))],
    );
    let (ok, msg) = one(rule(&rows));
    assert!(
        !ok && msg.contains("expired at 2026-01-01T00:00:00Z"),
        "{msg}"
    );
    // None at all.
    let rows = with(base.clone(), vec![row(10, 0xd2, decision_0102(&[]))]);
    let (ok, msg) = one(rule(&rows));
    assert!(
        !ok && msg.contains(
            "no human-rights due-diligence assessment of Directorate of Public Security (AE)"
        ),
        "{msg}"
    );
    // Not applicable to 1:1 access-control terminals.
    let rows = with(base, vec![row(10, 0xd1, decision_0101())]);
    assert!(rule(&rows).is_empty());
}

#[test]
fn the_assessor_role_must_countersign_when_the_profile_asks() {
    let text = std::fs::read_to_string(format!(
        "{}/specs/profiles/export-eu-dual-use.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("profile")
    .replace(
        "assessments = [\"cyber-surveillance\", \"contested\"]\n\n[[rule]]\nid = \"eu-art5",
        "assessments = [\"cyber-surveillance\", \"contested\"]\nassessor_role = \"hr-assessor\"\n\n[[rule]]\nid = \"eu-art5",
    );
    let mut p = Profile::parse(&text).expect("parses");
    p.rules.retain(|r| r.id() == "eu-hrdd-before-decision");
    let attachments = BTreeMap::new();
    let base = with(
        with(builds(), classifications()),
        vec![row(9, 0xe1, hrdd(&[])), row(11, 0xd2, decision_0102(&[]))],
    );
    let view = PolicyView::new(entries(&base), &attachments);
    let (ok, msg) = one(evaluate(&p, &view));
    assert!(
        !ok && msg.contains("is not countersigned by a key in role hr-assessor"),
        "{msg}"
    );
    let mut signed = base.clone();
    signed.push((10, 0xe2, countersignature(0xe1), "hr-assessor", None));
    let view = PolicyView::new(entries(&signed), &attachments);
    let (ok, msg) = one(evaluate(&p, &view));
    assert!(ok, "{msg}");
}

#[test]
fn art5_notification_or_reason() {
    let base = with(builds(), classifications());
    let rule = |rows: &[Row]| {
        run(
            "export-eu-dual-use.toml",
            "eu-art5-notification-recorded",
            rows,
        )
    };
    let (ok, msg) = one(rule(&with(
        base.clone(),
        vec![row(10, 0xd2, decision_0102(&[]))],
    )));
    assert!(ok && msg.contains("notified BAFA"), "{msg}");
    let none = decision_0102(&[(
        "[art5_notification]\nauthority = \"BAFA\"\nnotified_at = 2026-05-18T12:00:00Z\nreference = \"BAFA-ART5-2026-0441\"\n",
        "",
    )]);
    let (ok, msg) = one(rule(&with(base.clone(), vec![row(10, 0xd2, none)])));
    assert!(
        !ok && msg.contains("neither an Art. 5(2) notification nor the reason"),
        "{msg}"
    );
    assert!(rule(&with(base, vec![row(10, 0xd1, decision_0101())])).is_empty());
}

fn shipment_0101() -> Evidence {
    ev("shipment", "shipment-exp-0101.toml", &[])
}

#[test]
fn screening_counts_only_when_logged_before_the_shipment() {
    let base = with(builds(), classifications());
    let rule = |rows: &[Row]| run("export-us-ear.toml", "ear-screening-before-shipment", rows);
    let ok_rows = with(
        base.clone(),
        vec![
            row(10, 0xd1, decision_0101()),
            row(11, 0x51, shipment_0101()),
        ],
    );
    let (ok, msg) = one(rule(&ok_rows));
    assert!(ok, "{msg}");
    // Scenario 3: unscreened decision, shipment, then a back-dated amendment.
    let unscreened = ev("export-decision", "export-decision-exp-0103.toml", &[]);
    let shipped = ev("shipment", "shipment-exp-0103.toml", &[]);
    let amended = ev(
        "export-decision",
        "export-decision-exp-0103-screened.toml",
        &[],
    );
    let rows = with(
        base.clone(),
        vec![
            row(10, 0xd3, unscreened),
            row(11, 0x53, shipped),
            row(12, 0xd4, amended),
        ],
    );
    let (ok, msg) = one(rule(&rows));
    assert!(!ok, "{msg}");
    assert!(msg.contains("entity-list was not screened in the decision's record logged before the shipment (entry 10)"), "{msg}");
    assert!(
        msg.contains("but it was logged after the shipment record (entry 11)"),
        "{msg}"
    );
    // A match fails; screening dated after shipped_at fails.
    let matched = ev(
        "export-decision",
        "export-decision-exp-0101.toml",
        &[("result = \"clear\"", "result = \"match\"")],
    );
    let (ok, msg) = one(rule(&with(
        base.clone(),
        vec![row(10, 0xd1, matched), row(11, 0x51, shipment_0101())],
    )));
    assert!(
        !ok && msg.contains("entity-list screening found a match"),
        "{msg}"
    );
    let late = ev(
        "export-decision",
        "export-decision-exp-0101.toml",
        &[(
            "screened_at = 2026-05-04T08:00:00Z",
            "screened_at = 2026-05-11T08:00:00Z",
        )],
    );
    let (ok, msg) = one(rule(&with(
        base.clone(),
        vec![row(10, 0xd1, late), row(11, 0x51, shipment_0101())],
    )));
    assert!(!ok && msg.contains("after shipped_at"), "{msg}");
    // No shipment: not applicable.
    assert!(rule(&with(base, vec![row(10, 0xd1, decision_0101())])).is_empty());
}

#[test]
fn licences_cover_destination_quantity_end_use_and_crime_control() {
    let base = with(builds(), classifications());
    let covers = |rows: &[Row]| run("export-us-ear.toml", "ear-licence-covers", rows);
    let cc = |rows: &[Row]| run("export-us-ear.toml", "ear-742-7-crime-control", rows);
    let good = with(base.clone(), vec![row(10, 0xd2, decision_0102(&[]))]);
    let (ok, msg) = one(covers(&good));
    assert!(
        ok && msg.contains("covers the destination, quantity and end use"),
        "{msg}"
    );
    let (ok, msg) = one(cc(&good));
    assert!(ok && msg.contains("marks AE in CC Column 1"), "{msg}");
    let over = decision_0102(&[
        ("quantity = 12\nserials", "quantity = 13\nserials"),
        (
            "end_uses = [\"law-enforcement-identification\"]",
            "end_uses = [\"access-control\"]",
        ),
    ]);
    let (ok, msg) = one(covers(&with(base.clone(), vec![row(10, 0xd2, over)])));
    assert!(!ok, "{msg}");
    assert!(
        msg.contains("the decision's 13 devices exceed its quantity 12"),
        "{msg}"
    );
    assert!(
        msg.contains("it does not cover end use law-enforcement-identification"),
        "{msg}"
    );
    // §742.7: the CC item to a CC Column 1 destination without an individual licence.
    let unlicensed = decision_0102(&[("destinations = [\"AE\"]", "destinations = [\"SA\"]")]);
    let rows = with(base.clone(), vec![row(10, 0xd2, unlicensed)]);
    let (ok, msg) = one(cc(&rows));
    assert!(
        !ok && msg.contains("a US individual licence is required"),
        "{msg}"
    );
    let (ok, msg) = one(covers(&rows));
    assert!(
        !ok && msg.contains("it does not cover destination AE"),
        "{msg}"
    );
    // Not applicable: no CC item, or a destination the chart excerpt does not mark.
    assert!(cc(&with(base, vec![row(10, 0xd1, decision_0101())])).is_empty());
}

#[test]
fn record_retention_states_the_date_and_needs_the_records() {
    let base = with(builds(), classifications());
    let rule = |rows: &[Row]| run("export-us-ear.toml", "ear-part-762-records", rows);
    let rows = with(
        base.clone(),
        vec![
            row(10, 0xd1, decision_0101()),
            row(11, 0x51, shipment_0101()),
        ],
    );
    let (ok, msg) = one(rule(&rows));
    assert!(ok, "{msg}");
    assert!(
        msg.contains(
            "keep its records until at least 2031-05-09T06:00:00Z (5 years after shipment)"
        ),
        "{msg}"
    );
    assert!(msg.contains("they are not legal advice"), "{msg}");
    let (ok, msg) = one(rule(&with(base, vec![row(11, 0x51, shipment_0101())])));
    assert!(
        !ok && msg.contains("does not carry the verified decision record"),
        "{msg}"
    );
}

fn check(edits: &[(&str, &str)]) -> Evidence {
    ev("end-use-check", "end-use-check-exp-0101.toml", edits)
}

#[test]
fn end_use_checks_where_licence_or_risk_call_for_them() {
    let base = with(builds(), classifications());
    let rule = |rows: &[Row]| run("end-use-checks.toml", "end-use-check-required", rows);
    // Scenario 1: no condition, no risk: not applicable.
    let rows = with(
        base.clone(),
        vec![
            row(10, 0xd1, decision_0101()),
            row(11, 0x51, shipment_0101()),
        ],
    );
    assert!(rule(&rows).is_empty());
    // EXP-2026-0102's licence asks for a verification within 120 days of each shipment.
    let shipment = shipment_0101();
    let ship_0102 = |s: &Evidence| match s {
        Evidence::Shipment(x) => {
            let mut x = x.clone();
            x.decision = evledger::evidence::EntryRef(hash(0xd2));
            x.quantity = 12;
            Evidence::Shipment(x)
        }
        _ => unreachable!(),
    };
    let rows = with(
        base.clone(),
        vec![
            row(10, 0xd2, decision_0102(&[])),
            row(11, 0x52, ship_0102(&shipment)),
        ],
    );
    let (ok, msg) = one(rule(&rows));
    assert!(!ok && msg.contains("a licence condition calls for a check; no post-shipment verification of the decision within 120 days"), "{msg}");
    let favourable = |when: &str| {
        let c = check(&[
            ("performed_at = 2026-07-15T05:00:00Z", when),
            ("site_matches = false", "site_matches = true"),
            ("use_matches = false", "use_matches = true"),
            ("result = \"unfavourable\"", "result = \"favourable\""),
        ]);
        match c {
            Evidence::EndUseCheck(mut x) => {
                x.decision = evledger::evidence::EntryRef(hash(0xd2));
                Evidence::EndUseCheck(x)
            }
            _ => unreachable!(),
        }
    };
    let mut within = rows.clone();
    within.push(row(
        12,
        0x61,
        favourable("performed_at = 2026-07-15T05:00:00Z"),
    ));
    let (ok, msg) = one(rule(&within));
    assert!(
        ok && msg.contains("(self-asserted time), within 120 days"),
        "{msg}"
    );
    // Its witnessed time decides when it has one: a record witnessed a year later is too late.
    let mut witnessed_late = rows.clone();
    let mut late = row(12, 0x61, favourable("performed_at = 2026-07-15T05:00:00Z"));
    late.4 = Some(1_810_000_000);
    witnessed_late.push(late);
    let (ok, msg) = one(rule(&witnessed_late));
    assert!(!ok, "{msg}");
}

#[test]
fn an_unfavourable_check_blocks_later_decisions_for_the_end_user() {
    let base = with(builds(), classifications());
    let rule = |rows: &[Row]| run("end-use-checks.toml", "unfavourable-check-blocks", rows);
    let d0104 = ev("export-decision", "export-decision-exp-0104.toml", &[]);
    let rows = with(
        base.clone(),
        vec![
            row(10, 0xd1, decision_0101()),
            row(11, 0x61, check(&[])),
            row(12, 0xd5, d0104.clone()),
        ],
    );
    let checks = rule(&rows);
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[0].outcome, Outcome::Pass, "{}", checks[0].message);
    assert_eq!(checks[1].outcome, Outcome::Fail);
    assert!(
        checks[1].message.contains(
            "the post-shipment-verification of decision EXP-2026-0101 (entry 11) was unfavourable"
        ),
        "{}",
        checks[1].message
    );
    // Logged after the later decision: it does not block it.
    let rows = with(
        base,
        vec![
            row(10, 0xd1, decision_0101()),
            row(11, 0xd5, d0104),
            row(12, 0x61, check(&[])),
        ],
    );
    assert!(rule(&rows).iter().all(|c| c.outcome == Outcome::Pass));
}

fn deployment(edits: &[(&str, &str)]) -> Evidence {
    ev("deployment-record", "deployment-us-il-lobby.toml", edits)
}

#[test]
fn bipa_retention_and_release() {
    let rule = |id: &str, rows: &[Row]| run("deployment-us-biometric.toml", id, rows);
    let (ok, msg) = one(rule(
        "bipa-15a-retention",
        &with(builds(), vec![row(5, 0x71, deployment(&[]))]),
    ));
    assert!(
        !ok && msg.contains("1825 days after last-interaction, longer than the 1095 days allowed"),
        "{msg}"
    );
    let three_years = deployment(&[("days = 1825", "days = 1095")]);
    let (ok, msg) = one(rule(
        "bipa-15a-retention",
        &with(builds(), vec![row(5, 0x71, three_years)]),
    ));
    assert!(ok, "{msg}");
    let no_schedule = deployment(&[
        ("days = 1825", "days = 1000"),
        (
            "schedule_sha256 = \"091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7ff\"\n",
            "",
        ),
    ]);
    let (ok, msg) = one(rule(
        "bipa-15a-retention",
        &with(builds(), vec![row(5, 0x71, no_schedule)]),
    ));
    assert!(
        !ok && msg.contains("no published retention schedule"),
        "{msg}"
    );
    // The build's own default retention is read against the region's limit.
    let (ok, msg) = one(rule(
        "bipa-15a-retention",
        &[row(5, 0x71, deployment(&[("days = 1825", "days = 1000")]))],
    ));
    assert!(
        !ok && msg.contains("the deployed build is not a verified entry"),
        "{msg}"
    );
    let no_release = deployment(&[(
        "consent_sha256 = \"f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6ee\"\n",
        "",
    )]);
    let (ok, msg) = one(rule(
        "bipa-15b-release",
        &with(builds(), vec![row(5, 0x71, no_release)]),
    ));
    assert!(!ok && msg.contains("no written release"), "{msg}");
    // Texas: one year after the purpose ends.
    let texas = deployment(&[("region = \"US-IL\"", "region = \"US-TX\"")]);
    let (ok, msg) = one(rule(
        "cubi-503-001-retention",
        &with(builds(), vec![row(5, 0x71, texas)]),
    ));
    assert!(
        !ok && msg.contains("longer than the 365 days allowed")
            && msg.contains("its retention counts from last-interaction, not from purpose-ends"),
        "{msg}"
    );
    // Not applicable outside the region.
    let de = deployment(&[("region = \"US-IL\"", "region = \"DE\"")]);
    assert!(
        rule(
            "bipa-15a-retention",
            &with(builds(), vec![row(5, 0x71, de)])
        )
        .is_empty()
    );
}

#[test]
fn export_entries_no_rule_judges_fail_closed() {
    let rows = with(
        with(builds(), classifications()),
        vec![
            row(10, 0xd1, decision_0101()),
            row(11, 0x51, shipment_0101()),
            row(
                12,
                0x71,
                deployment(&[("region = \"US-IL\"", "region = \"DE\"")]),
            ),
        ],
    );
    let attachments = BTreeMap::new();
    let view = PolicyView::new(entries(&rows), &attachments);
    let profiles: Vec<Profile> = ["export-eu-dual-use.toml", "deployment-us-biometric.toml"]
        .iter()
        .map(|f| {
            Profile::parse(
                &std::fs::read_to_string(format!(
                    "{}/specs/profiles/{f}",
                    env!("CARGO_MANIFEST_DIR")
                ))
                .expect("profile"),
            )
            .expect("parses")
        })
        .collect();
    let j = judge(&profiles, &view, false);
    let not_judged: Vec<&str> = j
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| c.message.as_str())
        .filter(|m| m.starts_with("not judged"))
        .collect();
    // The decision is judged by the EU rules; the shipment (no screening rule) and the German
    // deployment (no rule for DE) are not, and fail.
    assert_eq!(not_judged.len(), 2, "{not_judged:#?}");
    assert!(not_judged[0].starts_with("not judged: shipment \"shipment of decision entry d1d1d1d1d1d1\" (entry 11): no rule in your profiles judges shipment entries"), "{}", not_judged[0]);
    assert!(
        not_judged[1].starts_with("not judged: deployment-record \"DEP-US-IL-0007\" (entry 12)"),
        "{}",
        not_judged[1]
    );
    assert!(
        j.judged
            .iter()
            .any(|x| x.entry == 10 && x.field == "." && !x.judged_by.is_empty())
    );
}

#[test]
fn rules_that_would_check_nothing_are_refused() {
    let header = "format = \"evledger-profile/1\"\nid = \"p\"\nversion = \"1\"\ntitle = \"t\"\n[[rule]]\nid = \"r\"\ncitation = \"c\"\n";
    for (body, err) in [
        (
            "type = \"biometric-retention\"\nregions = [\"US-IL\"]\n",
            "rule[0].max_days: set max_days, require_schedule or require_consent: the rule would check nothing",
        ),
        (
            "type = \"biometric-retention\"\nregions = [\"US-IL\"]\nrequire_consent = true\ncheck_build_defaults = true\n",
            "rule[0].check_build_defaults: needs max_days to compare the build's default with",
        ),
        (
            "type = \"ear-screening-before-shipment\"\nlists = []\n",
            "rule[0].lists: name at least one list to screen",
        ),
        (
            "type = \"hrdd-before-decision\"\nfunctions = []\nassessments = []\n",
            "rule[0].functions: name at least one biometric function or assessment that puts an export in scope",
        ),
        (
            "type = \"record-retention\"\nyears = 0\n",
            "rule[0].years: must be 1 to 100",
        ),
        (
            "type = \"end-use-check-required\"\nwithin_days = 0\nrisk_severities = []\n",
            "rule[0].within_days: must be > 0",
        ),
    ] {
        assert_eq!(Profile::parse(&format!("{header}{body}")).unwrap_err(), err);
    }
}

#[test]
fn gdpr_deployments_need_a_condition_a_prior_dpia_and_transfer_mechanisms() {
    let rule = |rows: &[Row]| run("deployment-gdpr.toml", "gdpr-deployment", rows);
    let berlin = |edits: &[(&str, &str)]| {
        let mut all = vec![
            ("region = \"US-IL\"", "region = \"DE-BE\""),
            ("storage_location = \"US\"", "storage_location = \"DE\""),
            (
                "national_law = \"740 ILCS 14/15(b)\"",
                "gdpr_art9 = \"9(2)(a)\"",
            ),
            (
                "go_live = 2026-09-01T00:00:00Z",
                "go_live = 2026-09-01T00:00:00Z\n[dpia]\nsha256 = \"1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b\"\ncompleted_at = 2026-08-01T00:00:00Z",
            ),
        ];
        all.extend_from_slice(edits);
        deployment(&all)
    };
    let checks = rule(&with(builds(), vec![row(5, 0x71, berlin(&[]))]));
    assert_eq!(checks.len(), 3);
    assert!(
        checks.iter().all(|c| c.outcome == Outcome::Pass),
        "{checks:#?}"
    );
    // A processor outside the EEA with no transfer mechanism, a DPIA after go-live, and
    // explicit consent with no consent artefact.
    let bad = berlin(&[
        ("country = \"DE\"", "country = \"IN\""),
        (
            "completed_at = 2026-08-01T00:00:00Z",
            "completed_at = 2026-09-02T00:00:00Z",
        ),
        (
            "consent_sha256 = \"f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6ee\"\n",
            "",
        ),
    ]);
    let checks = rule(&with(builds(), vec![row(5, 0x71, bad)]));
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| c.message.as_str())
        .collect();
    assert_eq!(failed.len(), 3, "{failed:#?}");
    assert!(
        failed[0].contains("no consent artefact is recorded"),
        "{}",
        failed[0]
    );
    assert!(
        failed[1].contains("after go-live at 2026-09-01T00:00:00Z"),
        "{}",
        failed[1]
    );
    assert!(
        failed[2].contains(
            "data reaches IN (storage or a processor) with no Chapter V transfer mechanism"
        ),
        "{}",
        failed[2]
    );
    let schedule =
        "schedule_sha256 = \"091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7ff\"";
    let transfer = format!(
        "{schedule}\n\n[[transfers]]\nto_country = \"IN\"\nmechanism = \"standard-contractual-clauses\""
    );
    let covered = berlin(&[
        ("country = \"DE\"", "country = \"IN\""),
        (schedule, &transfer),
    ]);
    let checks = rule(&with(builds(), vec![row(5, 0x71, covered)]));
    assert_eq!(checks[2].outcome, Outcome::Pass, "{}", checks[2].message);
    assert!(
        checks[2]
            .message
            .contains("transfers to IN have a Chapter V mechanism")
    );
    // Not applicable outside the EEA.
    assert!(rule(&with(builds(), vec![row(5, 0x71, deployment(&[]))])).is_empty());
}

#[test]
fn china_face_filing_within_thirty_working_days() {
    let rule = |rows: &[Row]| run("deployment-cn-face.toml", "cn-face-filing", rows);
    let shanghai = |extra: &str| {
        deployment(&[
            ("region = \"US-IL\"", "region = \"CN-SH\""),
            (
                "go_live = 2026-09-01T00:00:00Z",
                &format!("go_live = 2026-09-01T00:00:00Z\n{extra}"),
            ),
        ])
    };
    // Below the threshold: no filing needed.
    let (ok, msg) = one(rule(&[row(5, 0x71, shanghai("persons_enrolled = 99999"))]));
    assert!(ok && msg.contains("below 100000"), "{msg}");
    // Reached on Friday 2 October 2026: 30 working days (six weeks from Monday 5 October) end on
    // Friday 13 November.
    let reached = "persons_enrolled = 120000\nthreshold_reached_at = 2026-10-02T10:00:00Z";
    let (ok, msg) = one(rule(&[row(5, 0x71, shanghai(reached))]));
    assert!(
        !ok && msg.contains("no filing is recorded (due by 2026-11-13T23:59:59Z)"),
        "{msg}"
    );
    let on_time = format!(
        "{reached}\n[cn_filing]\nreference = \"SH-FR-2026-0042\"\nfiled_at = 2026-11-13T09:00:00Z"
    );
    let (ok, msg) = one(rule(&[row(5, 0x71, shanghai(&on_time))]));
    assert!(ok, "{msg}");
    let late = on_time.replace("2026-11-13T09:00:00Z", "2026-11-16T09:00:00Z");
    let (ok, msg) = one(rule(&[row(5, 0x71, shanghai(&late))]));
    assert!(!ok && msg.contains("later than 30 working days"), "{msg}");
    // No count: cannot be judged, fails closed.
    let (ok, msg) = one(rule(&[row(5, 0x71, shanghai(""))]));
    assert!(
        !ok && msg.contains("does not say how many persons"),
        "{msg}"
    );
    assert_eq!(evledger::policy::working_days_after(0, 1), 86_400 + 86_399); // Thu -> Fri
    assert_eq!(
        evledger::policy::working_days_after(86_400, 1),
        4 * 86_400 + 86_399
    ); // Fri -> Mon
}
