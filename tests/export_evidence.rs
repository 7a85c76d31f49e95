//! The export control, due-diligence and deployment evidence kinds: the examples validate and
//! round-trip through their payloads; bad input is refused at its field path; a declined
//! assessment and an unfavourable end-use check are adverse, and nothing else of these kinds is.

use evledger::evidence::{Evidence, EvidenceError, InputFormat};

const H: &str = "1111111111111111111111111111111111111111111111111111111111111111";

/// An example's TOML with every placeholder filled by a dummy entry hash.
fn example(file: &str) -> String {
    let path = format!("{}/examples/facegate/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = String::new();
    let mut rest = text.as_str();
    // Replace every @NAME@ placeholder.
    while let Some(i) = rest.find('@') {
        let j = rest[i + 1..].find('@').expect("closing @") + i + 1;
        out.push_str(&rest[..i]);
        out.push_str(H);
        rest = &rest[j + 1..];
    }
    out.push_str(rest);
    out
}

const EXAMPLES: &[(&str, &str)] = &[
    (
        "export-classification",
        "export-classification-eu-4.2.0.toml",
    ),
    (
        "export-classification",
        "export-classification-us-4.2.0.toml",
    ),
    (
        "export-classification",
        "export-classification-eu-4.2.1.toml",
    ),
    (
        "export-classification",
        "export-classification-us-4.2.1.toml",
    ),
    ("export-decision", "export-decision-exp-0101.toml"),
    ("export-decision", "export-decision-exp-0102.toml"),
    ("export-decision", "export-decision-exp-0103.toml"),
    ("export-decision", "export-decision-exp-0103-screened.toml"),
    ("export-decision", "export-decision-exp-0104.toml"),
    ("shipment", "shipment-exp-0101.toml"),
    ("shipment", "shipment-exp-0103.toml"),
    ("hr-due-diligence", "hrdd-dps-2026-07.toml"),
    ("end-use-check", "end-use-check-exp-0101.toml"),
    ("deployment-record", "deployment-us-il-lobby.toml"),
];

fn parse(kind: &str, text: &str) -> Result<Evidence, EvidenceError> {
    Evidence::from_input(kind, text, InputFormat::Toml)
}

/// The problems of refused input, one `path: message` per line.
fn refused(kind: &str, text: &str) -> String {
    match parse(kind, text) {
        Ok(_) => panic!("{kind} accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_example_validates_and_round_trips() {
    for (kind, file) in EXAMPLES {
        let ev = parse(kind, &example(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(ev.kind(), *kind);
        let payload = ev.to_payload();
        let back = Evidence::from_payload(kind, &payload).expect("payload reads back");
        assert_eq!(back, ev, "{file}");
        assert!(
            !ev.summary().is_empty() && ev.render().starts_with(kind),
            "{file}"
        );
    }
}

#[test]
fn adverse_is_a_declined_assessment_or_an_unfavourable_check() {
    let adverse = |kind: &str, text: &str| parse(kind, text).expect("valid").is_adverse();
    let check = example("end-use-check-exp-0101.toml");
    assert!(adverse("end-use-check", &check));
    let favourable = check
        .replace("result = \"unfavourable\"", "result = \"favourable\"")
        .replace("= false", "= true");
    assert!(!adverse("end-use-check", &favourable));
    let hrdd = example("hrdd-dps-2026-07.toml");
    assert!(!adverse("hr-due-diligence", &hrdd));
    let declined = hrdd.replace(
        "decision = \"proceed-with-conditions\"",
        "decision = \"decline\"",
    );
    assert!(adverse("hr-due-diligence", &declined));
    for (kind, file) in EXAMPLES {
        if !matches!(*kind, "end-use-check" | "hr-due-diligence") {
            assert!(!adverse(kind, &example(file)), "{file}");
        }
    }
    for kind in ["end-use-check", "hr-due-diligence"] {
        assert!(evledger::evidence::MAY_BE_ADVERSE.contains(&kind));
    }
}

#[test]
fn classification_errors_name_the_field() {
    let us = example("export-classification-us-4.2.0.toml");
    let bad = us
        .replace("control_entry = \"5A992.c\"", "control_entry = \"5a992\"")
        .replace(
            "reasons_for_control = [\"AT\"]",
            "reasons_for_control = [\"AT\", \"AT\"]",
        )
        .replace(
            "valid_until = 2036-03-01T00:00:00Z",
            "valid_until = 2026-03-01T00:00:00Z",
        )
        .replace(
            "biometric_functions = [\"verification-1to1\"]",
            "biometric_functions = []",
        )
        .replace("build = \"", "model_x = \"");
    assert_eq!(
        refused("export-classification", &bad),
        "model_x: unknown field `model_x`, expected one of `jurisdiction`, `build`, `model`, `control_entry`, `reasons_for_control`, `basis`, `ruling_sha256`, `biometric_functions`, `cyber_surveillance`, `crypto_basis`, `classified_at`, `valid_until`"
    );
    let bad = bad.replace("model_x = \"", "build = \"");
    assert_eq!(
        refused("export-classification", &bad),
        "control_entry: must be an ECCN such as 5A992.c or 3A981, or EAR99\n\
         reasons_for_control[1]: duplicates an earlier item\n\
         biometric_functions: must list at least one biometric function\n\
         valid_until: must be after classified_at"
    );
    // The EU assessment is required in the EU, refused in the US.
    let eu = example("export-classification-eu-4.2.0.toml");
    let no_assessment = eu.split("[cyber_surveillance]").next().expect("head");
    assert_eq!(
        refused("export-classification", no_assessment),
        "cyber_surveillance: required for an EU classification (the Art. 2(20) and Art. 5 assessment)"
    );
    let us_with =
        format!("{us}\n[cyber_surveillance]\nassessment = \"contested\"\nrationale = \"r\"\n");
    assert_eq!(
        refused("export-classification", &us_with),
        "cyber_surveillance: applies to EU classifications only (Regulation (EU) 2021/821 Art. 5)"
    );
    let unknown_function = eu.replace("\"verification-1to1\"", "\"gait\"");
    assert!(
        refused("export-classification", &unknown_function).starts_with(
            "biometric_functions[0]: unknown variant `gait`, expected one of `verification-1to1`, `identification-1toN`"
        )
    );
}

#[test]
fn decision_errors_name_the_field() {
    let d = example("export-decision-exp-0102.toml");
    let bad = d
        .replace("destination = \"AE\"", "destination = \"uae\"")
        .replace("number = \"D1234567\"\n", "")
        .replace("expires = 2028-05-31T00:00:00Z\n", "")
        .replace(
            "end_use_check_within_days = 120",
            "end_use_check_within_days = 0",
        )
        .replace("list = \"sdn-list\"", "list = \"entity-list\"")
        .replace("quantity = 12\nserials", "quantity = 0\nserials")
        .replace(
            "[art5_notification]",
            "no_art5_notification_reason = \"none\"\n[art5_notification]",
        );
    assert_eq!(
        refused("export-decision", &bad),
        "items[0].quantity: must be > 0\n\
         destination: must be an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. DE)\n\
         screening[1]: duplicates an earlier item\n\
         licences[1].number: required for basis individual-licence\n\
         licences[1].expires: required for an individual licence\n\
         licences[1].conditions[0].end_use_check_within_days: must be > 0\n\
         no_art5_notification_reason: must be absent when art5_notification is given"
    );
    let no_items = d.replace("[[items]]", "[items_x]");
    assert!(refused("export-decision", &no_items).starts_with("items_x: unknown field"));
    let bad_list = d.replace("list = \"sdn-list\"", "list = \"ofac\"");
    assert!(
        refused("export-decision", &bad_list)
            .starts_with("screening[1].list: unknown variant `ofac`")
    );
}

#[test]
fn shipment_check_and_assessment_errors_name_the_field() {
    let s = example("shipment-exp-0101.toml")
        .replace("quantity = 40", "quantity = 0")
        .replace("carrier = \"Nordlink Air Cargo\"", "carrier = \" \"");
    assert_eq!(
        refused("shipment", &s),
        "quantity: must be > 0\ncarrier: must not be empty"
    );
    let c = example("end-use-check-exp-0101.toml")
        .replace("result = \"unfavourable\"", "result = \"favourable\"");
    assert_eq!(
        refused("end-use-check", &c),
        "site_matches: a favourable check must find the declared site\n\
         use_matches: a favourable check must find the declared use"
    );
    let h = example("hrdd-dps-2026-07.toml")
        .replace("country = \"AE\"", "country = \"AEX\"")
        .replace(
            "frameworks = [\"UNGP 17-21\", \"OECD Due Diligence Guidance 2018\"]",
            "frameworks = []",
        )
        .replace(
            "valid_until = 2027-05-25T00:00:00Z",
            "valid_until = 2026-05-25T00:00:00Z",
        );
    let h: String = h.split("[[mitigations]]").next().expect("head").into();
    assert_eq!(
        refused("hr-due-diligence", &h),
        "scope.country: must be an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. DE)\n\
         frameworks: must list at least one framework\n\
         mitigations: must list at least one mitigation when the decision is proceed-with-conditions\n\
         valid_until: must be after assessed_at"
    );
}

#[test]
fn deployment_errors_name_the_field() {
    let d = example("deployment-us-il-lobby.toml")
        .replace("region = \"US-IL\"", "region = \"US-ILLINOIS\"")
        .replace("days = 1825", "days = 0")
        .replace("country = \"DE\"", "country = \"Germany\"")
        .replace("national_law = \"740 ILCS 14/15(b)\"\n", "")
        .replace("go_live", "persons_enrolled = 100000\ngo_live");
    assert_eq!(
        refused("deployment-record", &d),
        "region: must be an ISO 3166-2 code such as US-IL, or a country code such as DE\n\
         processors[0].country: must be an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. DE)\n\
         legal_basis: must name a GDPR Art. 9(2) condition, a national law, or both\n\
         retention.days: must be > 0\n\
         threshold_reached_at: required when persons_enrolled is 100000 or more"
    );
    for ok in ["DE", "US-IL", "CN-31", "FR-75C"] {
        assert!(evledger::evidence::is_region(ok), "{ok}");
    }
    for bad in ["de", "US-", "US-ILLI", "USA-IL", "US_IL"] {
        assert!(!evledger::evidence::is_region(bad), "{bad}");
    }
}
