//! The verifier compiled to wasm32, run under Node: the example bundles made by evledger 0.1.0
//! (`tests/fixtures/legacy-0.1/`) get the verdicts and reports the native CLI gave them, with
//! the example buyer's trust file and the files it names passed in as bytes.

use std::cell::RefCell;

use evledger::evidence::FileDigest;
use evledger::verify::{HeldFile, sha256_hex};
use evledger_web::{
    Files, PageInput, page_report_json, report_html_of, report_json, report_json_with, verify,
    verify_as, verify_integrity_only,
};
use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

const CLAIM_LEVEL2: &[u8] =
    include_bytes!("../../tests/fixtures/legacy-0.1/claim-level2.bundle.cbor");
const CLAIM_LEVEL3: &[u8] =
    include_bytes!("../../tests/fixtures/legacy-0.1/claim-level3.bundle.cbor");
/// What 0.1.0's `evledger verify --json` printed for each bundle.
const CLAIM_LEVEL2_JSON: &str = include_str!("../../tests/fixtures/legacy-0.1/claim-level2.json");
const CLAIM_LEVEL3_JSON: &str = include_str!("../../tests/fixtures/legacy-0.1/claim-level3.json");

const TRUST: &str = include_str!("../../keys.example/buyer.trust.toml");
/// The files buyer.trust.toml names, under their file names, as a page receives dropped files;
/// the profiles as they were when the bundles were made (a later profile may judge them anew),
/// and the CRA profile, which came later and under which no incident of theirs falls.
const NAMED: [(&str, &[u8]); 4] = [
    (
        "accreditation-root-ca.pem",
        include_bytes!("../../keys.example/accreditation-root-ca.pem"),
    ),
    (
        "pad-ibeta-level2.toml",
        include_bytes!("../../tests/fixtures/legacy-0.1/profiles/pad-ibeta-level2.toml"),
    ),
    (
        "incident-gdpr-art33.toml",
        include_bytes!("../../tests/fixtures/legacy-0.1/profiles/incident-gdpr-art33.toml"),
    ),
    (
        "incident-cra-art14.toml",
        include_bytes!("../../specs/profiles/incident-cra-art14.toml"),
    ),
];

/// Some time after the bundles were made; nothing in them depends on it.
const NOW: i64 = 1_800_000_000;

fn files() -> Files {
    let mut files = Files::new();
    for (name, bytes) in NAMED {
        files.add(name.to_owned(), bytes.to_vec());
    }
    files
}

fn report(bundle: &[u8]) -> Value {
    let json = report_json(bundle, TRUST, &files(), NOW).expect("the example trust file is usable");
    serde_json::from_str(&json).expect("the report is JSON")
}

/// The failed checks, one line each.
fn failed(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["outcome"] == "fail")
        .map(|c| {
            format!(
                "{} {} {} {}",
                c["step"], c["entry"], c["field"], c["message"]
            )
        })
        .collect()
}

/// The wasm verifier's report agrees with what the native CLI printed.
fn assert_as_the_cli_said(report: &Value, cli_json: &str) {
    let cli: Value = serde_json::from_str(cli_json).expect("fixture JSON");
    assert_eq!(report["verdict"], cli["verdict"]);
    assert_eq!(report["origin"], cli["origin"]);
    assert_eq!(report["tree_size"], cli["tree_size"]);
    assert_eq!(report["entries"], cli["entries"]);
    assert_eq!(failed(report), failed(&cli));
}

#[wasm_bindgen_test]
fn the_level_2_claim_verifies() {
    let r = report(CLAIM_LEVEL2);
    assert_eq!(r["verdict"], "verified", "{:?}", failed(&r));
    assert_as_the_cli_said(&r, CLAIM_LEVEL2_JSON);
    // Every step ran, the policy profiles named by the trust file included.
    for step in [
        "checkpoint",
        "witnesses",
        "inclusion",
        "signature",
        "signer",
        "policy",
    ] {
        assert!(
            r["checks"]
                .as_array()
                .expect("checks")
                .iter()
                .any(|c| c["step"] == step && c["outcome"] == "pass"),
            "no passed {step} check"
        );
    }
}

#[wasm_bindgen_test]
fn the_level_3_claim_does_not_meet_the_policy() {
    let r = report(CLAIM_LEVEL3);
    assert_eq!(r["verdict"], "policy-not-met");
    assert_as_the_cli_said(&r, CLAIM_LEVEL3_JSON);
    assert!(
        failed(&r).iter().all(|f| f.starts_with("\"policy\"")),
        "{:?}",
        failed(&r)
    );
}

#[wasm_bindgen_test]
fn a_tampered_claim_fails_verification() {
    // Raise the claimed level in the claim's signed wording (its first occurrence is in the
    // claim statement: entries precede attachments in the bundle).
    let from = b"Level 2 presentation";
    let mut bytes = CLAIM_LEVEL2.to_vec();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the claim wording is in the bundle");
    bytes[at + 6] = b'3';
    let r = report(&bytes);
    assert_eq!(r["verdict"], "verification-failed", "{:?}", failed(&r));
    assert!(
        failed(&r).iter().any(|f| f.starts_with("\"signature\" 4 ")),
        "{:?}",
        failed(&r)
    );
}

#[wasm_bindgen_test]
fn files_are_found_by_the_name_the_trust_file_writes() {
    let mut files = Files::new();
    for (name, bytes) in NAMED {
        let written = if name.ends_with(".toml") {
            format!("../specs/profiles/{name}")
        } else {
            name.to_owned()
        };
        files.add(written, bytes.to_vec());
    }
    let json = report_json(CLAIM_LEVEL2, TRUST, &files, NOW).expect("usable");
    assert!(json.contains("\"verdict\": \"verified\""), "{json}");
}

#[wasm_bindgen_test]
fn a_missing_named_file_is_named() {
    let mut files = Files::new();
    for (name, bytes) in &NAMED[1..] {
        files.add((*name).to_owned(), bytes.to_vec());
    }
    assert_eq!(
        report_json(CLAIM_LEVEL2, TRUST, &files, NOW).expect_err("the lab root is missing"),
        "trust file: roles[2].x509_roots[0]: accreditation-root-ca.pem: not given; add the file the trust file names"
    );
    assert!(verify(CLAIM_LEVEL2, TRUST, &files, NOW).is_err());
    assert!(verify(CLAIM_LEVEL2, TRUST, &self::files(), NOW).is_ok());
}

#[wasm_bindgen_test]
fn a_bundle_that_is_not_cbor_is_reported_invalid() {
    let r = report(b"not a bundle");
    assert_eq!(r["verdict"], "invalid-bundle");
}

#[wasm_bindgen_test]
fn the_report_names_the_rule_that_judged_each_assertion() {
    let r = report(CLAIM_LEVEL2);
    assert_eq!(r["integrity_only"], false);
    let judged = r["judged"].as_array().expect("judged");
    assert_eq!(judged.len(), 2, "{judged:?}");
    assert_eq!(judged[0]["field"], "assertions[0]");
    assert_eq!(judged[0]["type"], "pad");
    assert_eq!(judged[0]["judged_by"][0]["rule"], "pad-claim-backed");
    assert_eq!(judged[0]["outcome"], "held");
    assert_eq!(judged[1]["field"], "wording");
    assert_eq!(judged[1]["judged_by"][0]["rule"], "claim-wording-matches");
}

#[wasm_bindgen_test]
fn without_a_profile_no_claim_is_judged_unless_integrity_only_is_asked() {
    // The trust file without its `profiles = [...]` (one line or several).
    let mut in_profiles = false;
    let bare: String = TRUST
        .lines()
        .filter(|l| {
            if l.starts_with("profiles") {
                in_profiles = !l.trim_end().ends_with(']');
                return false;
            }
            if in_profiles {
                in_profiles = l.trim() != "]";
                return false;
            }
            true
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!bare.contains(".toml\""), "{bare}");
    let r: Value =
        serde_json::from_str(&report_json(CLAIM_LEVEL2, &bare, &files(), NOW).expect("usable"))
            .expect("JSON");
    assert_eq!(r["verdict"], "policy-not-met");
    assert!(
        failed(&r)
            .iter()
            .any(|f| f.contains("not judged: assertions[0] (pad) of claim")),
        "{:?}",
        failed(&r)
    );
    // Integrity only: verified, and the report says no claim was judged.
    for trust in [bare.as_str(), TRUST] {
        let r: Value = serde_json::from_str(
            &report_json_with(CLAIM_LEVEL3, trust, &files(), NOW, true).expect("usable"),
        )
        .expect("JSON");
        assert_eq!(r["verdict"], "verified", "{:?}", failed(&r));
        assert_eq!(r["integrity_only"], true);
        assert!(
            r["judged"]
                .as_array()
                .expect("judged")
                .iter()
                .all(|j| j["outcome"] == "not-judged")
        );
    }
    assert!(verify_integrity_only(CLAIM_LEVEL3, TRUST, &files(), NOW).is_ok());
}

/// A file the buyer holds, as the page passes it.
fn held(name: &str, bytes: &[u8]) -> HeldFile {
    HeldFile {
        name: name.to_owned(),
        digest: FileDigest::of(bytes),
    }
}

#[wasm_bindgen_test]
fn the_page_checks_the_files_the_buyer_holds_and_reports_progress() {
    // The brochure the claim cites, as the bundle carries it.
    let bundle =
        evledger::bundle::Bundle::parse(CLAIM_LEVEL2, &Default::default()).expect("parses");
    let brochure = bundle
        .attachments
        .get("bf8538d4f1f406a950b03b372f80eb0339cf62daf124e8eb09966e888eeaa1c9")
        .expect("the brochure is attached");
    let input = PageInput {
        trust_name: "buyer.trust.toml",
        integrity_only: false,
        held: vec![
            held("brochure-2026-04-p4.txt", brochure),
            held("notes.txt", b"not in the bundle"),
        ],
        ..PageInput::default()
    };
    let stages = RefCell::new(Vec::new());
    let progress = |stage: &'static str, done: u64, total: u64| {
        stages.borrow_mut().push((stage, done, total));
    };
    let json =
        page_report_json(CLAIM_LEVEL2, TRUST, &files(), NOW, &input, &progress).expect("usable");
    // The same report as without the page's options but for the two files held.
    let r: Value = serde_json::from_str(&json).expect("JSON");
    let artifact: Vec<&Value> = r["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["step"] == "artifact")
        .collect();
    assert_eq!(artifact.len(), 2, "{artifact:?}");
    assert_eq!(artifact[0]["outcome"], "pass", "{artifact:?}");
    assert!(
        artifact[0]["message"]
            .as_str()
            .expect("message")
            .starts_with(
                "brochure-2026-04-p4.txt: SHA-256 matches the document of entry 4 (claim)"
            ),
        "{artifact:?}"
    );
    assert_eq!(artifact[1]["outcome"], "fail");
    assert_eq!(
        artifact[1]["message"],
        "notes.txt: the file you hold is not any firmware build or document in this bundle"
    );
    assert_eq!(r["verdict"], "verification-failed");
    // Progress came in order of the verifier's stages, each ending at its total.
    let stages = stages.into_inner();
    for stage in ["proofs", "signatures", "references"] {
        assert!(
            stages
                .iter()
                .any(|(s, d, t)| *s == stage && d == t && *t > 0),
            "{stage}: {stages:?}"
        );
    }
    // Without held files, the page's report is the one `verify` gives.
    let plain = PageInput {
        trust_name: "trust file",
        tool: evledger_web::default_tool(),
        ..PageInput::default()
    };
    let json = page_report_json(CLAIM_LEVEL2, TRUST, &files(), NOW, &plain, &|_, _, _| {})
        .expect("usable");
    assert_eq!(
        json,
        report_json(CLAIM_LEVEL2, TRUST, &files(), NOW).expect("usable")
    );
    // A bundle that does not parse is the report's failed first step there too.
    let json =
        page_report_json(b"\xa0", TRUST, &files(), NOW, &plain, &|_, _, _| {}).expect("usable");
    assert!(json.contains("\"verdict\": \"invalid-bundle\""), "{json}");
}

#[wasm_bindgen_test]
fn the_report_names_its_inputs_the_tool_and_the_time() {
    let r = report(CLAIM_LEVEL2);
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["bundle_sha256"], sha256_hex(CLAIM_LEVEL2).as_str());
    assert_eq!(
        r["trust_file_sha256"],
        sha256_hex(TRUST.as_bytes()).as_str()
    );
    assert_eq!(r["verified_at"], NOW);
    let profiles = r["profiles"].as_array().expect("profiles");
    let named: Vec<(&str, &[u8])> = NAMED[1..].to_vec();
    assert_eq!(profiles.len(), named.len());
    for (p, (name, bytes)) in profiles.iter().zip(named) {
        assert_eq!(format!("{}.toml", p["id"].as_str().expect("id")), name);
        assert_eq!(p["sha256"], sha256_hex(bytes).as_str());
        let version = p["version"].as_str().expect("version");
        let text = std::str::from_utf8(bytes).expect("profile text");
        assert!(
            text.contains(&format!("version = \"{version}\"")),
            "{name}: {version}"
        );
    }
    assert_eq!(r["tool"]["name"], "evledger-web");
    assert_eq!(
        r["tool"]["verifier_version"],
        evledger::verify::VERIFIER_VERSION
    );
    assert!(r["tool"].get("sha256").is_none());
}

#[wasm_bindgen_test]
fn a_page_names_itself_as_the_tool() {
    let digest = "ab".repeat(32);
    let json = verify_as(
        CLAIM_LEVEL2,
        TRUST,
        &files(),
        NOW,
        false,
        "evledger page".into(),
        "2026.12".into(),
        Some(digest.clone()),
    )
    .map_err(|_| "unusable")
    .expect("usable");
    let r: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(r["tool"]["name"], "evledger page");
    assert_eq!(r["tool"]["version"], "2026.12");
    assert_eq!(r["tool"]["sha256"], digest.as_str());
    assert_eq!(
        r["tool"]["verifier_version"],
        evledger::verify::VERIFIER_VERSION
    );
    // Apart from the tool, the same report as verify's.
    let mut plain = report(CLAIM_LEVEL2);
    let mut named = r.clone();
    plain.as_object_mut().expect("object").remove("tool");
    named.as_object_mut().expect("object").remove("tool");
    assert_eq!(plain, named);
}

#[wasm_bindgen_test]
fn the_page_can_save_the_html_report() {
    let json = report_json(CLAIM_LEVEL2, TRUST, &files(), NOW).expect("usable");
    let html = report_html_of(&json).expect("a report of this schema");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<h1>VERIFIED</h1>"), "{html}");
    assert!(html.contains(&sha256_hex(CLAIM_LEVEL2)), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert_eq!(
        report_html_of("{\"verdict\": \"verified\"}").expect_err("no schema_version"),
        "schema_version: missing; not a report of this schema"
    );
    assert_eq!(
        report_html_of(&json.replacen("\"schema_version\": 1", "\"schema_version\": 2", 1))
            .expect_err("a later schema"),
        "schema_version: 2 is not supported (expected 1)"
    );
}
