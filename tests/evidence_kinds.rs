//! The evidence kinds lab-result, countersignature, claim and incident: the FaceGate examples
//! validate; TOML and JSON input give the same payload; every shape error and validation rule
//! is reported with its exact field path and message; payloads round-trip and only canonical
//! payloads are accepted.

use serde_json::{Value, json};

use evledger::cbor;
use evledger::evidence::{Evidence, EvidenceError, InputFormat, ppm};

/// Dummy entry hashes for the examples' placeholders.
const FW_420: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const FW_421: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const LAB_RESULT: &str = "3333333333333333333333333333333333333333333333333333333333333333";
const COUNTERSIG: &str = "4444444444444444444444444444444444444444444444444444444444444444";

const LAB: &str = "lab-result-pad-l2.toml";
const CSIG: &str = "countersignature-lab.toml";
const CLAIM: &str = "claim-pad-level2.toml";
const OVERCLAIM: &str = "claim-pad-level3-overclaim.toml";
const INCIDENT: &str = "incident-aur-2026-014.toml";

/// The evidence kind of an example file.
fn kind_of(file: &str) -> &'static str {
    match file {
        LAB => "lab-result",
        CSIG => "countersignature",
        CLAIM | OVERCLAIM => "claim",
        INCIDENT => "incident",
        f if f.starts_with("incident-") => "incident",
        f if f.starts_with("firmware-") => "firmware-build",
        other => panic!("no kind for {other}"),
    }
}

/// An example's TOML text with its placeholders filled by dummy entry hashes.
fn example(file: &str) -> String {
    let path = format!("{}/examples/facegate/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = text
        .replace("@FW_420@", FW_420)
        .replace("@FW_421@", FW_421)
        .replace("@LAB_RESULT@", LAB_RESULT)
        .replace("@COUNTERSIG@", COUNTERSIG);
    assert!(!text.contains("@"), "{file}: unfilled placeholder");
    text
}

/// TOML to JSON, written here independently of the library: date-times become RFC 3339 text.
fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// An example as a JSON value.
fn example_json(file: &str) -> Value {
    toml_to_json(toml::from_str(&example(file)).expect("example is TOML"))
}

fn from_toml(file: &str) -> Evidence {
    Evidence::from_input(kind_of(file), &example(file), InputFormat::Toml)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn from_json(kind: &str, v: &Value) -> Result<Evidence, EvidenceError> {
    Evidence::from_input(kind, &v.to_string(), InputFormat::Json)
}

/// Sets (or adds) the value at a JSON pointer; `None` removes it.
fn set(v: &mut Value, pointer: &str, new: Option<Value>) {
    let (parent, last) = pointer.rsplit_once('/').expect("pointer has a '/'");
    let target = v
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"));
    match (target, new) {
        (Value::Object(o), Some(n)) => {
            o.insert(last.to_owned(), n);
        }
        (Value::Object(o), None) => {
            o.remove(last).unwrap_or_else(|| panic!("no {pointer}"));
        }
        (Value::Array(a), Some(n)) if last == "-" => a.push(n),
        (Value::Array(a), Some(n)) => a[last.parse::<usize>().expect("index")] = n,
        (Value::Array(a), None) => {
            a.remove(last.parse::<usize>().expect("index"));
        }
        (other, _) => panic!("{parent} is {other}"),
    }
}

/// The error message for an example after `change`, or a panic if it is accepted.
fn rejected(file: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut v = example_json(file);
    change(&mut v);
    match from_json(kind_of(file), &v) {
        Ok(_) => panic!("{file}: accepted after the change"),
        Err(e) => e.to_string(),
    }
}

/// One test per rejection: the example with some fields changed must fail with exactly `expected`.
macro_rules! rejects {
    ($($name:ident: $file:expr, { $($ptr:literal => $val:expr),* $(,)? } => $expected:expr;)+) => {
        $(
            #[test]
            fn $name() {
                let got = rejected($file, |v| {
                    $( set(v, $ptr, $val); )*
                });
                assert_eq!(got, $expected);
            }
        )+
    };
}

fn to(v: Value) -> Option<Value> {
    Some(v)
}

const DEL: Option<Value> = None;

// ---- the examples ----

#[test]
fn every_example_parses_and_validates() {
    for file in [
        "firmware-4.2.0.toml",
        "firmware-4.2.1.toml",
        LAB,
        CSIG,
        CLAIM,
        OVERCLAIM,
        INCIDENT,
        "incident-aur-2026-031-early-warning.toml",
        "incident-aur-2026-031-notification.toml",
        "incident-aur-2026-031-final-report.toml",
    ] {
        let ev = from_toml(file);
        assert_eq!(ev.kind(), kind_of(file), "{file}");
    }
}

#[test]
fn lab_result_example_rates_are_the_shared_ppm() {
    let Evidence::LabResult(lab) = from_toml(LAB) else {
        panic!("not a lab result")
    };
    assert_eq!(lab.scheme.level, 2);
    assert_eq!(lab.species.len(), 4);
    for s in &lab.species {
        assert!(s.attempts >= 150, "{}", s.id);
        assert_eq!(Some(s.apcer_ppm), ppm(s.accepted, s.attempts), "{}", s.id);
    }
    let b = &lab.bona_fide;
    assert_eq!(Some(b.bpcer_ppm), ppm(b.false_rejections, b.presentations));
    assert_eq!(lab.target.build.to_string(), FW_420);
}

#[test]
fn examples_cite_the_entries_they_should() {
    let refs = |file| -> Vec<(String, String)> {
        from_toml(file)
            .references()
            .into_iter()
            .map(|r| (r.path, evledger::hex::encode(&r.entry)))
            .collect()
    };
    let pair = |p: &str, h: &str| (p.to_owned(), h.to_owned());
    assert_eq!(refs(LAB), [pair("target.build", FW_420)]);
    assert_eq!(refs(CSIG), [pair("target", LAB_RESULT)]);
    let claim = [
        pair("applies_to.builds[0]", FW_420),
        pair("applies_to.builds[1]", FW_421),
        pair("evidence[0]", LAB_RESULT),
        pair("evidence[1]", COUNTERSIG),
    ];
    assert_eq!(refs(CLAIM), claim);
    assert_eq!(refs(OVERCLAIM), claim);
    assert_eq!(
        refs(INCIDENT),
        [
            pair("affected.builds[0]", FW_420),
            pair("remediation.fix_build", FW_421)
        ]
    );
}

#[test]
fn lab_result_renders_scheme_target_species_table_and_verdict() {
    let text = from_toml(LAB).render();
    for want in [
        "scheme          iBeta PAD 2024",
        "level           2",
        &format!("target          build {FW_420} on FG3-100"),
        "PAI-04   mask-2d          150         1     0.67%",
        "PAI-03   mask-3d          180         0     0.00%",
        "BPCER           0.93% (14 of 1500 bona fide presentations rejected)",
        "verdict         pass (",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn claim_renders_quoted_wording_channels_assertions_and_evidence() {
    let text = from_toml(CLAIM).render();
    for want in [
        "wording (en)  \"FaceGate 3D terminals with firmware 4.2 passed",
        "channel         brochure FaceGate 3D product brochure",
        "channel         tender ",
        "assertion       pad ISO/IEC 30107-3:2023 iBeta PAD level 2, species print, replay, mask-3d, apcer_ppm <= 10000",
        &format!("evidence        {LAB_RESULT}"),
        &format!("evidence        {COUNTERSIG}"),
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn summaries_are_one_line() {
    for file in [LAB, CSIG, CLAIM, OVERCLAIM, INCIDENT] {
        let s = from_toml(file).summary();
        assert!(!s.contains('\n') && !s.is_empty(), "{file}: {s:?}");
    }
}

// ---- TOML and JSON give one payload ----

#[test]
fn toml_and_json_inputs_give_identical_payloads() {
    for file in [LAB, CSIG, CLAIM, OVERCLAIM, INCIDENT] {
        let from_toml = from_toml(file).to_payload();
        let json = from_json(kind_of(file), &example_json(file)).expect("JSON accepted");
        assert_eq!(json.to_payload(), from_toml, "{file}");
    }
}

#[test]
fn unix_seconds_and_rfc3339_give_identical_payloads() {
    for file in [LAB, CLAIM, INCIDENT] {
        let ev = from_toml(file);
        // to_json() writes times as integers; reading them back must give the same bytes.
        let again = from_json(kind_of(file), &ev.to_json()).expect("accepted");
        assert_eq!(again.to_payload(), ev.to_payload(), "{file}");
    }
}

#[test]
fn claim_wording_is_kept_exactly_as_given() {
    let wording = "  FaceGate 3D: \"Level 2\"\u{a0}— tested.\n";
    let mut v = example_json(CLAIM);
    set(&mut v, "/wording", to(json!(wording)));
    let Evidence::Claim(c) = from_json("claim", &v).expect("accepted") else {
        panic!("not a claim")
    };
    assert_eq!(c.wording, wording);
    let back = Evidence::from_payload("claim", &Evidence::Claim(c.clone()).to_payload());
    assert_eq!(back.expect("round trip"), Evidence::Claim(c));
}

// ---- payloads ----

#[test]
fn payloads_round_trip() {
    for file in [LAB, CSIG, CLAIM, OVERCLAIM, INCIDENT] {
        let ev = from_toml(file);
        let back = Evidence::from_payload(kind_of(file), &ev.to_payload())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(back, ev, "{file}");
        assert_eq!(back.to_payload(), ev.to_payload(), "{file}");
    }
}

#[test]
fn payloads_of_other_kinds_are_refused() {
    let lab = from_toml(LAB).to_payload();
    for kind in ["claim", "incident", "countersignature", "firmware-build"] {
        assert!(
            matches!(
                Evidence::from_payload(kind, &lab),
                Err(EvidenceError::Shape { .. })
            ),
            "{kind}"
        );
    }
}

/// The JSON data model of an example's payload (absent optional fields left out, as payloads
/// do), to build payloads the encoder would never make.
fn payload_json(file: &str) -> Value {
    fn strip_nulls(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.retain(|_, v| !v.is_null());
                o.values_mut().for_each(strip_nulls);
            }
            Value::Array(a) => a.iter_mut().for_each(strip_nulls),
            _ => {}
        }
    }
    let mut v = from_toml(file).to_json();
    strip_nulls(&mut v);
    v
}

/// Encodes a JSON value as CBOR (deterministic map order, whatever the content).
fn cbor_of(v: &Value) -> Vec<u8> {
    fn conv(v: &Value) -> cbor::Value {
        match v {
            Value::Null => cbor::Value::Null,
            Value::Bool(b) => cbor::Value::Bool(*b),
            Value::Number(n) => cbor::Value::int(n.as_i64().expect("integer")),
            Value::String(s) => cbor::Value::text(s.clone()),
            Value::Array(a) => cbor::Value::Array(a.iter().map(conv).collect()),
            Value::Object(o) => cbor::Value::Map(
                o.iter()
                    .map(|(k, v)| (cbor::Value::text(k.clone()), conv(v)))
                    .collect(),
            ),
        }
    }
    cbor::encode(&conv(v))
}

fn assert_not_canonical(file: &str, change: impl FnOnce(&mut Value)) {
    let mut v = payload_json(file);
    change(&mut v);
    let bytes = cbor_of(&v);
    match Evidence::from_payload(kind_of(file), &bytes) {
        Err(EvidenceError::Payload(m)) => {
            assert!(m.starts_with("not the canonical encoding"), "{file}: {m}")
        }
        other => panic!("{file}: {other:?}"),
    }
}

#[test]
fn the_test_encoder_reproduces_real_payloads() {
    for file in [LAB, CSIG, CLAIM, INCIDENT] {
        assert_eq!(cbor_of(&payload_json(file)), from_toml(file).to_payload());
    }
}

#[test]
fn upper_case_hex_payloads_are_not_canonical() {
    let upper_ab = "AB".repeat(32);
    assert_not_canonical(LAB, |v| set(v, "/target/build", to(json!(upper_ab))));
    assert_not_canonical(LAB, |v| set(v, "/report/sha256", to(json!(upper_ab))));
    assert_not_canonical(CSIG, |v| set(v, "/target", to(json!(upper_ab))));
    assert_not_canonical(CLAIM, |v| set(v, "/evidence/0", to(json!(upper_ab))));
    assert_not_canonical(INCIDENT, |v| {
        set(v, "/remediation/fix_build", to(json!(upper_ab)))
    });
}

#[test]
fn payloads_missing_a_defaulted_list_are_not_canonical() {
    assert_not_canonical(LAB, |v| set(v, "/limitations", DEL));
    assert_not_canonical(CLAIM, |v| set(v, "/approvals", DEL));
    assert_not_canonical(CLAIM, |v| set(v, "/assertions/0/species_required", DEL));
    assert_not_canonical(INCIDENT, |v| set(v, "/timeline", DEL));
    assert_not_canonical(INCIDENT, |v| set(v, "/affected/models", DEL));
}

#[test]
fn payloads_with_times_as_text_are_not_canonical() {
    assert_not_canonical(LAB, |v| {
        set(v, "/report/issued", to(json!("2026-03-27T10:00:00Z")))
    });
    assert_not_canonical(INCIDENT, |v| {
        set(v, "/aware_at", to(json!("2026-04-20T15:40:00Z")))
    });
}

#[test]
fn payloads_with_null_or_trailing_bytes_are_refused() {
    let mut v = payload_json(CSIG);
    set(&mut v, "/report_sha256", to(Value::Null));
    let err = Evidence::from_payload("countersignature", &cbor_of(&v)).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "payload: unexpected null in evidence at report_sha256"
    );

    let mut bytes = from_toml(CLAIM).to_payload();
    bytes.push(0);
    let err = Evidence::from_payload("claim", &bytes).expect_err("refused");
    assert!(matches!(err, EvidenceError::Payload(_)), "{err}");
}

#[test]
fn payloads_with_non_shortest_integers_are_refused() {
    // Re-encode bona_fide.presentations = 1500 (0x19 0x05DC) as a 4-byte integer.
    let payload = from_toml(LAB).to_payload();
    let needle = [b"presentations".as_slice(), &[0x19, 0x05, 0xdc]].concat();
    let at = payload
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("presentations in payload")
        + b"presentations".len();
    let mut bad = payload[..at].to_vec();
    bad.extend_from_slice(&[0x1a, 0, 0, 0x05, 0xdc]);
    bad.extend_from_slice(&payload[at + 3..]);
    let err = Evidence::from_payload("lab-result", &bad).expect_err("refused");
    assert!(matches!(err, EvidenceError::Payload(_)), "{err}");
}

// ---- several problems are reported together ----

#[test]
fn all_problems_are_reported_at_once() {
    let got = rejected(LAB, |v| {
        set(v, "/scheme/level", to(json!(0)));
        set(v, "/species/2/attempts", to(json!(0)));
        set(v, "/verdict/criteria", to(json!("")));
    });
    assert_eq!(
        got,
        "scheme.level: must be >= 1\n\
         species[2].attempts: must be > 0\n\
         verdict.criteria: must not be empty"
    );
}

// ---- lab-result ----

rejects! {
    lab_missing_field: LAB, { "/report/sha256" => DEL } => "report: missing field `sha256`";
    lab_missing_species: LAB, { "/species" => DEL } => ".: missing field `species`";
    lab_unknown_field: LAB, { "/bona_fide/apcer_ppm" => to(json!(0)) } =>
        "bona_fide.apcer_ppm: unknown field `apcer_ppm`, expected one of `presentations`, `false_rejections`, `bpcer_ppm`";
    lab_unknown_top_level_field: LAB, { "/level" => to(json!(2)) } =>
        "level: unknown field `level`, expected one of `lab`, `standard`, `scheme`, `report`, `target`, `test_window`, `bona_fide`, `species`, `verdict`, `limitations`";
    lab_wrong_type: LAB, { "/scheme/level" => to(json!("2")) } =>
        "scheme.level: invalid type: string \"2\", expected u8";
    lab_level_out_of_range: LAB, { "/scheme/level" => to(json!(256)) } =>
        "scheme.level: invalid value: integer `256`, expected u8";
    lab_negative_count: LAB, { "/species/0/attempts" => to(json!(-1)) } =>
        "species[0].attempts: invalid value: integer `-1`, expected u64";
    lab_bad_time: LAB, { "/report/issued" => to(json!("27 March 2026")) } =>
        "report.issued: not an RFC 3339 timestamp like 2026-03-01T12:00:00Z: \"27 March 2026\": expected digits";
    lab_bad_digest: LAB, { "/report/sha256" => to(json!("abc")) } =>
        "report.sha256: SHA-256 digest must be 64 hex digits";
    lab_bad_entry_ref: LAB, { "/target/build" => to(json!("4.2.0")) } =>
        "target.build: entry hash citing another ledger entry must be 64 hex digits";
    lab_unknown_category: LAB, { "/species/1/category" => to(json!("video")) } =>
        "species[1].category: unknown variant `video`, expected one of `print`, `replay`, `mask-2d`, `mask-3d`, `makeup`, `prosthetic`, `injection`, `other`";
    lab_rust_spelling_of_category: LAB, { "/species/1/category" => to(json!("Mask3d")) } =>
        "species[1].category: unknown variant `Mask3d`, expected one of `print`, `replay`, `mask-2d`, `mask-3d`, `makeup`, `prosthetic`, `injection`, `other`";
    lab_unknown_verdict: LAB, { "/verdict/result" => to(json!("passed")) } =>
        "verdict.result: unknown variant `passed`, expected `pass` or `fail`";
    lab_empty_name: LAB, { "/lab/name" => to(json!("")) } => "lab.name: must not be empty";
    lab_empty_accreditation_body: LAB, { "/lab/accreditation_body" => to(json!(" ")) } =>
        "lab.accreditation_body: must not be empty";
    lab_padded_accreditation_id: LAB, { "/lab/accreditation_id" => to(json!("NVLAP ")) } =>
        "lab.accreditation_id: must not start or end with white space";
    lab_empty_scope: LAB, { "/lab/scope" => to(json!([])) } =>
        "lab.scope: must list at least one standard or method";
    lab_duplicate_scope: LAB, { "/lab/scope" => to(json!(["ISO/IEC 30107-3", "ISO/IEC 30107-3"])) } =>
        "lab.scope[1]: duplicates an earlier item";
    lab_empty_standard: LAB, { "/standard" => to(json!("")) } => "standard: must not be empty";
    lab_empty_scheme_name: LAB, { "/scheme/name" => to(json!("")) } => "scheme.name: must not be empty";
    lab_empty_scheme_version: LAB, { "/scheme/version" => to(json!("")) } => "scheme.version: must not be empty";
    lab_level_zero: LAB, { "/scheme/level" => to(json!(0)) } => "scheme.level: must be >= 1";
    lab_empty_report_id: LAB, { "/report/id" => to(json!("")) } => "report.id: must not be empty";
    lab_empty_model: LAB, { "/target/model" => to(json!("")) } => "target.model: must not be empty";
    lab_window_reversed: LAB, { "/test_window/start" => to(json!("2026-03-14T00:00:00Z")) } =>
        "test_window.end: must not be before test_window.start";
    lab_window_after_report: LAB, { "/report/issued" => to(json!("2026-03-13T17:00:00Z")) } =>
        "test_window.end: must not be after report.issued";
    lab_no_bona_fide: LAB, { "/bona_fide/presentations" => to(json!(0)) } =>
        "bona_fide.presentations: must be > 0";
    lab_too_many_false_rejections: LAB, { "/bona_fide/false_rejections" => to(json!(1501)) } =>
        "bona_fide.false_rejections: must be <= presentations (1500)";
    lab_wrong_bpcer: LAB, { "/bona_fide/bpcer_ppm" => to(json!(9334)) } =>
        "bona_fide.bpcer_ppm: must be 9333 (false_rejections * 1000000 / presentations, rounded half up), not 9334";
    lab_bpcer_rounded_down_instead_of_half_up: LAB, {
        "/bona_fide/presentations" => to(json!(2_000_000)),
        "/bona_fide/false_rejections" => to(json!(1)),
        "/bona_fide/bpcer_ppm" => to(json!(0)),
    } => "bona_fide.bpcer_ppm: must be 1 (false_rejections * 1000000 / presentations, rounded half up), not 0";
    lab_no_species: LAB, { "/species" => to(json!([])) } =>
        "species: must list at least one attack species";
    lab_zero_attempts: LAB, { "/species/2/attempts" => to(json!(0)) } =>
        "species[2].attempts: must be > 0";
    lab_too_many_accepted: LAB, { "/species/3/accepted" => to(json!(151)) } =>
        "species[3].accepted: must be <= attempts (150)";
    lab_wrong_apcer: LAB, { "/species/3/apcer_ppm" => to(json!(6666)) } =>
        "species[3].apcer_ppm: must be 6667 (accepted * 1000000 / attempts, rounded half up), not 6666";
    lab_apcer_as_percent: LAB, { "/species/3/apcer_ppm" => to(json!(0.67)) } =>
        "species[3].apcer_ppm: invalid type: floating point `0.67`, expected u32";
    lab_duplicate_species_id: LAB, { "/species/1/id" => to(json!("PAI-01")) } =>
        "species[1]: duplicates an earlier item";
    lab_empty_species_id: LAB, { "/species/0/id" => to(json!("")) } => "species[0].id: must not be empty";
    lab_empty_description: LAB, { "/species/0/description" => to(json!("")) } =>
        "species[0].description: must not be empty";
    lab_empty_criteria: LAB, { "/verdict/criteria" => to(json!("")) } =>
        "verdict.criteria: must not be empty";
    lab_empty_limitation: LAB, { "/limitations/1" => to(json!("")) } =>
        "limitations[1]: must not be empty";
    lab_duplicate_limitation: LAB, { "/limitations/1" => to(json!("Tested on model FG3-100 only; FG3-200W shares the camera module and PAD model but was not tested.")) } =>
        "limitations[1]: duplicates an earlier item";
}

#[test]
fn lab_result_optional_parts_may_be_left_out() {
    let mut v = example_json(LAB);
    set(&mut v, "/limitations", DEL);
    set(&mut v, "/species/0/description", DEL);
    let Evidence::LabResult(lab) = from_json("lab-result", &v).expect("accepted") else {
        panic!("not a lab result")
    };
    assert!(lab.limitations.is_empty());
    assert_eq!(lab.species[0].description, None);
}

// ---- countersignature ----

rejects! {
    csig_missing_target: CSIG, { "/target" => DEL } => ".: missing field `target`";
    csig_unknown_field: CSIG, { "/signer" => to(json!("iBeta")) } =>
        "signer: unknown field `signer`, expected one of `target`, `statement`, `report_sha256`";
    csig_wrong_type: CSIG, { "/statement" => to(json!(["Results as issued"])) } =>
        "statement: invalid type: sequence, expected a string";
    csig_bad_target: CSIG, { "/target" => to(json!("IBQA-PAD-2026-0142")) } =>
        "target: entry hash citing another ledger entry must be 64 hex digits";
    csig_bad_report_digest: CSIG, { "/report_sha256" => to(json!(FW_420[..63])) } =>
        "report_sha256: SHA-256 digest must be 64 hex digits";
    csig_empty_statement: CSIG, { "/statement" => to(json!("")) } => "statement: must not be empty";
    csig_padded_statement: CSIG, { "/statement" => to(json!("Results as issued ")) } =>
        "statement: must not start or end with white space";
}

#[test]
fn countersignature_report_digest_is_optional() {
    let mut v = example_json(CSIG);
    set(&mut v, "/report_sha256", DEL);
    let ev = from_json("countersignature", &v).expect("accepted");
    assert_eq!(
        Evidence::from_payload("countersignature", &ev.to_payload()).expect("round trip"),
        ev
    );
}

// ---- claim ----

rejects! {
    claim_missing_field: CLAIM, { "/language" => DEL } => ".: missing field `language`";
    claim_missing_nested_field: CLAIM, { "/channels/1/locator" => DEL } =>
        "channels[1]: missing field `locator`";
    claim_unknown_field: CLAIM, { "/assertions/0/threshold" => to(json!(1)) } =>
        "assertions[0].threshold: unknown field `threshold`, expected one of `type`, `standard`, `scheme`, `level`, `species_required`, `metric`, `comparator`, `value`, `mode`, `matcher_sha256`";
    claim_rust_field_name_is_not_input: CLAIM, { "/assertions/0/kind" => to(json!("pad")) } =>
        "assertions[0].kind: unknown field `kind`, expected one of `type`, `standard`, `scheme`, `level`, `species_required`, `metric`, `comparator`, `value`, `mode`, `matcher_sha256`";
    claim_wrong_type: CLAIM, { "/applies_to/models" => to(json!("FG3-100")) } =>
        "applies_to.models: invalid type: string \"FG3-100\", expected a sequence";
    claim_unknown_assertion_type: CLAIM, { "/assertions/0/type" => to(json!("liveness")) } =>
        "assertions[0].type: unknown variant `liveness`, expected one of `pad`, `accuracy`, `privacy-design`, `compliance`";
    claim_unknown_comparator: CLAIM, { "/assertions/0/comparator" => to(json!("<=")) } =>
        "assertions[0].comparator: unknown variant `<=`, expected one of `le`, `lt`, `ge`, `gt`, `eq`";
    claim_unknown_channel: CLAIM, { "/channels/0/kind" => to(json!("flyer")) } =>
        "channels[0].kind: unknown variant `flyer`, expected one of `brochure`, `tender`, `website`, `datasheet`, `other`";
    claim_unknown_species: CLAIM, { "/assertions/0/species_required/1" => to(json!("video")) } =>
        "assertions[0].species_required[1]: unknown variant `video`, expected one of `print`, `replay`, `mask-2d`, `mask-3d`, `makeup`, `prosthetic`, `injection`, `other`";
    claim_empty_id: CLAIM, { "/claim_id" => to(json!("")) } => "claim_id: must not be empty";
    claim_empty_wording: CLAIM, { "/wording" => to(json!("")) } => "wording: must not be empty";
    claim_blank_wording: CLAIM, { "/wording" => to(json!(" \n")) } => "wording: must not be empty";
    claim_huge_wording: CLAIM, { "/wording" => to(json!("x".repeat(16_385))) } =>
        "wording: must be at most 16384 bytes";
    claim_bad_language: CLAIM, { "/language" => to(json!("English")) } =>
        "language: must be a BCP 47 language tag such as en, de-DE or zh-Hant-TW (language in lower case, Script in title case, REGION in upper case)";
    claim_language_case: CLAIM, { "/language" => to(json!("de-de")) } =>
        "language: must be a BCP 47 language tag such as en, de-DE or zh-Hant-TW (language in lower case, Script in title case, REGION in upper case)";
    claim_no_channels: CLAIM, { "/channels" => to(json!([])) } => "channels: must list at least one channel";
    claim_empty_locator: CLAIM, { "/channels/0/locator" => to(json!("")) } =>
        "channels[0].locator: must not be empty";
    claim_duplicate_channel: CLAIM, {
        "/channels/1/kind" => to(json!("brochure")),
        "/channels/1/locator" => to(json!("FaceGate 3D product brochure, edition 2026-04, page 4")),
    } => "channels[1]: duplicates an earlier item";
    claim_applies_to_nothing: CLAIM, {
        "/applies_to/models" => to(json!([])),
        "/applies_to/builds" => DEL,
    } => "applies_to: must list at least one model or build";
    claim_duplicate_model: CLAIM, { "/applies_to/models/-" => to(json!("FG3-100")) } =>
        "applies_to.models[1]: duplicates an earlier item";
    claim_empty_model: CLAIM, { "/applies_to/models/0" => to(json!("")) } =>
        "applies_to.models[0]: must not be empty";
    claim_duplicate_build: CLAIM, { "/applies_to/builds/1" => to(json!(FW_420)) } =>
        "applies_to.builds[1]: duplicates an earlier item";
    claim_ends_before_it_starts: CLAIM, { "/effective_to" => to(json!("2026-03-01T00:00:00Z")) } =>
        "effective_to: must be after effective_from";
    claim_ends_as_it_starts: CLAIM, { "/effective_to" => to(json!("2026-04-01T00:00:00Z")) } =>
        "effective_to: must be after effective_from";
    claim_no_assertions: CLAIM, { "/assertions" => to(json!([])) } =>
        "assertions: must list at least one assertion";
    claim_pad_without_scheme: CLAIM, { "/assertions/0/scheme" => DEL } =>
        "assertions[0].scheme: required for a pad assertion";
    claim_pad_without_level: CLAIM, { "/assertions/0/level" => DEL } =>
        "assertions[0].level: required for a pad assertion";
    claim_level_zero: CLAIM, { "/assertions/0/level" => to(json!(0)) } =>
        "assertions[0].level: must be >= 1";
    claim_empty_scheme: CLAIM, { "/assertions/0/scheme" => to(json!("")) } =>
        "assertions[0].scheme: must not be empty";
    claim_empty_standard: CLAIM, { "/assertions/0/standard" => to(json!("")) } =>
        "assertions[0].standard: must not be empty";
    claim_metric_without_comparator: CLAIM, { "/assertions/0/comparator" => DEL } =>
        "assertions[0].comparator: required when any of metric, comparator, value is given";
    claim_value_alone: CLAIM, { "/assertions/0/metric" => DEL, "/assertions/0/comparator" => DEL } =>
        "assertions[0].metric: required when any of metric, comparator, value is given\n\
         assertions[0].comparator: required when any of metric, comparator, value is given";
    claim_bad_metric: CLAIM, { "/assertions/0/metric" => to(json!("APCER")) } =>
        "assertions[0].metric: must be a snake_case name such as apcer_ppm (at most 64 bytes)";
    claim_duplicate_species: CLAIM, { "/assertions/0/species_required/2" => to(json!("print")) } =>
        "assertions[0].species_required[2]: duplicates an earlier item";
    claim_species_on_non_pad: CLAIM, { "/assertions/-" => to(json!({"type": "accuracy", "species_required": ["print"]})) } =>
        "assertions[1].species_required: only applies to pad assertions";
    claim_duplicate_evidence: CLAIM, { "/evidence/1" => to(json!(LAB_RESULT)) } =>
        "evidence[1]: duplicates an earlier item";
    claim_empty_approval_role: CLAIM, { "/approvals/0/role" => to(json!("")) } =>
        "approvals[0].role: must not be empty";
    claim_empty_approver: CLAIM, { "/approvals/1/name" => to(json!("")) } =>
        "approvals[1].name: must not be empty";
    claim_duplicate_approval: CLAIM, { "/approvals/1/role" => to(json!("product")), "/approvals/1/name" => to(json!("Marta Lindqvist")) } =>
        "approvals[1]: duplicates an earlier item";
    claim_bad_supersedes: CLAIM, { "/supersedes" => to(json!("CLM-FG3-PAD-001")) } =>
        "supersedes: entry hash citing another ledger entry must be 64 hex digits";
}

#[test]
fn claim_non_pad_assertions_need_no_scheme() {
    let mut v = example_json(CLAIM);
    set(
        &mut v,
        "/assertions/-",
        to(json!({"type": "privacy-design", "standard": "ISO/IEC 24745:2022"})),
    );
    set(
        &mut v,
        "/assertions/-",
        to(json!({"type": "accuracy", "metric": "fnmr_ppm", "comparator": "lt", "value": 3000})),
    );
    set(&mut v, "/supersedes", to(json!(FW_421)));
    set(&mut v, "/effective_to", to(json!(1_800_000_000)));
    let ev = from_json("claim", &v).expect("accepted");
    assert_eq!(
        Evidence::from_payload("claim", &ev.to_payload()).expect("round trip"),
        ev
    );
}

#[test]
fn claim_builds_alone_are_enough() {
    let mut v = example_json(CLAIM);
    set(&mut v, "/applies_to/models", DEL);
    from_json("claim", &v).expect("accepted");
}

// ---- incident ----

rejects! {
    incident_missing_field: INCIDENT, { "/severity" => DEL } => ".: missing field `severity`";
    incident_missing_affected: INCIDENT, { "/affected" => DEL } => ".: missing field `affected`";
    incident_unknown_field: INCIDENT, { "/remediation/patch" => to(json!("4.2.1")) } =>
        "remediation.patch: unknown field `patch`, expected one of `fix_build`, `advisory`, `available_at`";
    incident_wrong_type: INCIDENT, { "/affected/subjects" => to(json!("1240")) } =>
        "affected.subjects: invalid type: string \"1240\", expected u64";
    incident_unknown_type: INCIDENT, { "/type" => to(json!("breach")) } =>
        "type: unknown variant `breach`, expected one of `vulnerability`, `data-breach`, `pad-bypass`, `malfunction`, `other`";
    incident_unknown_severity: INCIDENT, { "/severity" => to(json!("severe")) } =>
        "severity: unknown variant `severe`, expected one of `low`, `medium`, `high`, `critical`";
    incident_empty_id: INCIDENT, { "/incident_id" => to(json!("")) } => "incident_id: must not be empty";
    incident_empty_title: INCIDENT, { "/title" => to(json!("")) } => "title: must not be empty";
    incident_aware_before_detected: INCIDENT, { "/aware_at" => to(json!("2026-04-20T07:11:59Z")) } =>
        "aware_at: must not be before detected_at";
    incident_duplicate_build: INCIDENT, { "/affected/builds/-" => to(json!(FW_420)) } =>
        "affected.builds[1]: duplicates an earlier item";
    incident_empty_model: INCIDENT, { "/affected/models/1" => to(json!("")) } =>
        "affected.models[1]: must not be empty";
    incident_bad_region: INCIDENT, { "/affected/regions/1" => to(json!("Germany")) } =>
        "affected.regions[1]: must be an upper-case region code such as EU, DE or US-CA";
    incident_lower_case_region: INCIDENT, { "/affected/regions/0" => to(json!("eu")) } =>
        "affected.regions[0]: must be an upper-case region code such as EU, DE or US-CA";
    incident_bad_subdivision: INCIDENT, { "/affected/regions/1" => to(json!("US-CALI")) } =>
        "affected.regions[1]: must be an upper-case region code such as EU, DE or US-CA";
    incident_duplicate_region: INCIDENT, { "/affected/regions/1" => to(json!("EU")) } =>
        "affected.regions[1]: duplicates an earlier item";
    incident_duplicate_data_category: INCIDENT, { "/affected/data_categories/2" => to(json!("face templates")) } =>
        "affected.data_categories[2]: duplicates an earlier item";
    incident_timeline_out_of_order: INCIDENT, { "/timeline/3/at" => to(json!("2026-04-20T19:29:59Z")) } =>
        "timeline[3].at: must not be before timeline[2].at";
    incident_empty_action: INCIDENT, { "/timeline/0/action" => to(json!("")) } =>
        "timeline[0].action: must not be empty";
    incident_regime_with_spaces: INCIDENT, { "/notifications/0/regime" => to(json!("GDPR Art. 33")) } =>
        "notifications[0].regime: must be a name without white space such as GDPR-Art33 (at most 100 bytes)";
    incident_empty_authority: INCIDENT, { "/notifications/0/authority" => to(json!("")) } =>
        "notifications[0].authority: must not be empty";
    incident_empty_reference: INCIDENT, { "/notifications/0/reference" => to(json!("")) } =>
        "notifications[0].reference: must not be empty";
    incident_notified_before_detection: INCIDENT, { "/notifications/0/sent_at" => to(json!("2026-04-20T07:00:00Z")) } =>
        "notifications[0].sent_at: must not be before detected_at";
    incident_bad_receipt: INCIDENT, { "/notifications/0/receipt_sha256" => to(json!("")) } =>
        "notifications[0].receipt_sha256: SHA-256 digest must be 64 hex digits";
    incident_empty_reason: INCIDENT, { "/no_notification_reason" => to(json!("")) } =>
        "no_notification_reason: must not be empty";
    incident_empty_remediation: INCIDENT, { "/remediation" => to(json!({})) } =>
        "remediation: must give fix_build or advisory (or leave remediation out)";
    incident_empty_advisory: INCIDENT, { "/remediation/advisory" => to(json!("")) } =>
        "remediation.advisory: must not be empty";
    incident_fixed_by_affected_build: INCIDENT, { "/remediation/fix_build" => to(json!(FW_420)) } =>
        "remediation.fix_build: must not be one of affected.builds";
    incident_closed_before_aware: INCIDENT, { "/closed_at" => to(json!("2026-04-20T15:39:59Z")) } =>
        "closed_at: must not be before aware_at";
    incident_unknown_gdpr_role: INCIDENT, { "/gdpr_role" => to(json!("joint-controller")) } =>
        "gdpr_role: unknown variant `joint-controller`, expected one of `controller`, `processor`, `none`";
    incident_exploited_not_bool: INCIDENT, { "/actively_exploited" => to(json!("yes")) } =>
        "actively_exploited: invalid type: string \"yes\", expected a boolean";
    incident_exploited_malfunction: INCIDENT, { "/type" => to(json!("malfunction")), "/actively_exploited" => to(json!(true)) } =>
        "actively_exploited: applies to a vulnerability or pad-bypass only; for another type leave it out";
    incident_unknown_stage: INCIDENT, { "/notifications/0/stage" => to(json!("interim")) } =>
        "notifications[0].stage: unknown variant `interim`, expected one of `early-warning`, `notification`, `intermediate-report`, `final-report`, `supplement`, `communication`";
    incident_unknown_recipient: INCIDENT, { "/notifications/1/recipient" => to(json!("ENISA")) } =>
        "notifications[1].recipient: unknown variant `ENISA`, expected one of `csirt-coordinator`, `supervisory-authority`, `controller`, `data-subjects`, `users`, `other`";
    incident_stage_without_recipient: INCIDENT, { "/notifications/1/recipient" => DEL } =>
        "notifications[1].recipient: is required with stage: say who the report went to (e.g. csirt-coordinator)";
    incident_empty_delay_reasons: INCIDENT, { "/notifications/0/delay_reasons" => to(json!(" ")) } =>
        "notifications[0].delay_reasons: must not be empty";
    incident_available_before_detection: INCIDENT, { "/remediation/available_at" => to(json!("2026-04-20T07:00:00Z")) } =>
        "remediation.available_at: must not be before detected_at";
}

#[test]
fn incident_without_the_newer_fields_still_reads_and_encodes_as_before() {
    // A record made before actively_exploited, gdpr_role, stage, recipient, delay_reasons and
    // available_at existed: it validates, and its payload holds none of them.
    let text = example(INCIDENT)
        .replace("gdpr_role = \"controller\"\n", "")
        .replace(
            "stage = \"notification\"\nrecipient = \"supervisory-authority\"\n",
            "",
        )
        .replace(
            "stage = \"communication\"\nrecipient = \"data-subjects\"\n",
            "",
        );
    assert!(!text.contains("stage ="), "{text}");
    let e = Evidence::from_input("incident", &text, InputFormat::Toml).expect("old record");
    let payload = e.to_payload();
    for field in [
        "gdpr_role",
        "actively_exploited",
        "stage",
        "recipient",
        "delay_reasons",
        "available_at",
    ] {
        assert!(
            !payload.windows(field.len()).any(|w| w == field.as_bytes()),
            "{field} in the payload"
        );
    }
    let back = Evidence::from_payload("incident", &payload).expect("reads back");
    assert_eq!(back.to_payload(), payload);
}

#[test]
fn incident_notification_may_precede_awareness() {
    // Only sent_at >= detected_at is required: a precautionary notice can come before awareness.
    let mut v = example_json(INCIDENT);
    set(
        &mut v,
        "/notifications/0/sent_at",
        to(json!("2026-04-20T10:00:00Z")),
    );
    from_json("incident", &v).expect("accepted");
}

#[test]
fn incident_open_and_unremediated_is_valid() {
    let mut v = example_json(INCIDENT);
    for p in ["/closed_at", "/remediation", "/notifications", "/timeline"] {
        set(&mut v, p, DEL);
    }
    set(
        &mut v,
        "/no_notification_reason",
        to(json!("No personal data concerned")),
    );
    set(&mut v, "/affected/regions", to(json!(["US-CA", "GB"])));
    let ev = from_json("incident", &v).expect("accepted");
    assert!(ev.summary().contains("open"), "{}", ev.summary());
    assert!(
        ev.references()
            .iter()
            .all(|r| r.path != "remediation.fix_build")
    );
}
