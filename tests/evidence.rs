//! Evidence input (TOML and JSON) -> validated value -> deterministic CBOR payload, and the
//! exact messages, with field paths, that a user sees when input is wrong.

use evledger::cbor::{self, Value};
use evledger::evidence::{Evidence, EvidenceError, InputFormat};

const FW_TOML: &str = include_str!("../examples/facegate/firmware-4.2.0.toml");

/// The same firmware build as `FW_TOML`, written as JSON with RFC 3339 strings and integers.
const FW_JSON: &str = r#"{
  "version": "4.2.0",
  "build_number": 4200,
  "security_version": 7,
  "built_at": "2026-02-10T10:30:00+01:00",
  "support_until": 1928448000,
  "product": {
    "vendor": "Aurelis Security Systems",
    "family": "FaceGate 3D",
    "models": ["FG3-100", "FG3-200W"]
  },
  "source": {
    "repo": "git.aurelis.example/firmware/facegate",
    "commit": "3f9c2d8e41b07a55c6e9d21f08b4c7a9e2d51f36"
  },
  "artifacts": [
    {"name": "facegate-4.2.0-fg3.img", "sha256": "9A1F4C0E7B2D3C58E6F0A9B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F708192A3B", "size": 48234496},
    {"size": 64, "name": "facegate-4.2.0-fg3.img.sig", "sha256": "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"}
  ],
  "sbom": [{"format": "cyclonedx-1.6", "sha256": "5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"}],
  "provenance": {"predicate_type": "https://slsa.dev/provenance/v1", "sha256": "c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3"},
  "biometric_components": [
    {"role": "matcher", "name": "aurelis-face-matcher", "version": "7.1", "model_sha256": "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"},
    {"role": "pad", "name": "aurelis-liveness-3d", "version": "3.4", "model_sha256": "7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e"}
  ],
  "privacy_defaults": {
    "template_only_storage": true,
    "on_device_matching": true,
    "raw_images_retained": false,
    "template_retention_days": 365
  }
}"#;

fn toml(text: &str) -> Result<Evidence, EvidenceError> {
    Evidence::from_input("firmware-build", text, InputFormat::Toml)
}

fn json(text: &str) -> Result<Evidence, EvidenceError> {
    Evidence::from_input("firmware-build", text, InputFormat::Json)
}

/// The example TOML with the first line starting with `prefix` replaced (or removed if `with` is empty).
fn edit(prefix: &str, with: &str) -> String {
    let mut done = false;
    let out: Vec<&str> = FW_TOML
        .lines()
        .filter_map(|l| {
            if !done && l.starts_with(prefix) {
                done = true;
                (!with.is_empty()).then_some(with)
            } else {
                Some(l)
            }
        })
        .collect();
    assert!(done, "no line starts with {prefix:?}");
    out.join("\n") + "\n"
}

/// The example TOML without its `[provenance]` table, with `top` put first.
fn without_provenance_table(top: &str) -> String {
    let start = FW_TOML.find("[provenance]").unwrap();
    let end = start + FW_TOML[start..].find("\n\n").unwrap();
    format!("{top}{}{}", &FW_TOML[..start], &FW_TOML[end..])
}

fn toml_err(text: &str) -> String {
    toml(text).expect_err("input must be refused").to_string()
}

fn payload_value() -> Value {
    cbor::decode(&toml(FW_TOML).unwrap().to_payload()).unwrap()
}

fn map_mut(v: &mut Value) -> &mut Vec<(Value, Value)> {
    match v {
        Value::Map(m) => m,
        other => panic!("not a map: {other}"),
    }
}

fn entry_mut<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
    &mut map_mut(v)
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(key))
        .unwrap_or_else(|| panic!("no key {key}"))
        .1
}

// ---------------------------------------------------------------------------
// Accepted input.

#[test]
fn toml_and_json_give_the_same_payload() {
    let a = toml(FW_TOML).unwrap();
    let b = json(FW_JSON).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.to_payload(), b.to_payload());
    assert_eq!(a.kind(), "firmware-build");
    assert_eq!(
        a.summary(),
        "Aurelis Security Systems FaceGate 3D 4.2.0 build 4200 (security version 7)"
    );
    // The payload decodes back to the same evidence, and is canonical.
    let p = a.to_payload();
    assert_eq!(Evidence::from_payload("firmware-build", &p).unwrap(), a);
    assert_eq!(cbor::encode(&cbor::decode(&p).unwrap()), p);
}

#[test]
fn payload_holds_integer_times_lower_case_hex_and_text_keys() {
    let v = payload_value();
    assert_eq!(
        v.get_text_key("built_at"),
        Some(&Value::Unsigned(1_770_715_800))
    );
    assert_eq!(
        v.get_text_key("support_until"),
        Some(&Value::Unsigned(1_928_448_000))
    );
    let art = &v.get_text_key("artifacts").unwrap().as_array().unwrap()[0];
    assert_eq!(
        art.get_text_key("sha256").and_then(Value::as_text),
        Some("9a1f4c0e7b2d3c58e6f0a9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b")
    );
    // Keys are text and sorted by encoded bytes: shorter first, then bytewise.
    let keys: Vec<&str> = v
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_text().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "sbom",
            "source",
            "product",
            "version",
            "built_at",
            "artifacts",
            "provenance",
            "build_number",
            "support_until",
            "privacy_defaults",
            "security_version",
            "biometric_components",
        ]
    );
}

#[test]
fn times_may_be_native_toml_rfc3339_text_or_integers() {
    let reference = toml(FW_TOML).unwrap().to_payload();
    for built_at in [
        "built_at = 2026-02-10T09:30:00Z",
        "built_at = 2026-02-10T11:30:00+02:00",
        "built_at = 2026-02-10 09:30:00Z",
        "built_at = 2026-02-10T09:30:00.750Z",
        "built_at = \"2026-02-10T09:30:00Z\"",
        "built_at = \"2026-02-10T04:30:00-05:00\"",
        "built_at = 1770715800",
    ] {
        let ev = toml(&edit("built_at", built_at)).unwrap_or_else(|e| panic!("{built_at}: {e}"));
        assert_eq!(ev.to_payload(), reference, "{built_at}");
    }
    // A plain date is midnight UTC.
    let ev = toml(&edit("built_at", "built_at = 2026-02-10")).unwrap();
    assert_eq!(
        cbor::decode(&ev.to_payload())
            .unwrap()
            .get_text_key("built_at"),
        Some(&Value::Unsigned(1_770_681_600))
    );
}

#[test]
fn upper_case_digests_in_input_are_normalised() {
    let up = edit(
        "sha256 = \"9a1f",
        "sha256 = \"9A1F4C0E7B2D3C58E6F0A9B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F708192A3B\"",
    );
    assert_eq!(
        toml(&up).unwrap().to_payload(),
        toml(FW_TOML).unwrap().to_payload()
    );
}

#[test]
fn optional_sections_may_be_left_out() {
    let minimal = r#"
version = "1.0"
build_number = 1
security_version = 1
built_at = 2026-01-01T00:00:00Z
support_until = 2027-01-01T00:00:00Z
product = { vendor = "V", family = "F", models = ["M1"] }
source = { repo = "r", commit = "0000000000000000000000000000000000000000000000000000000000000000" }
artifacts = [{ name = "fw.img", sha256 = "0000000000000000000000000000000000000000000000000000000000000000", size = 1 }]
privacy_defaults = { template_only_storage = false, on_device_matching = true, raw_images_retained = true }
"#;
    let ev = toml(minimal).unwrap();
    let v = cbor::decode(&ev.to_payload()).unwrap();
    // Absent optional values are left out of the payload, not written as null or empty.
    assert_eq!(v.get_text_key("provenance"), None);
    assert_eq!(
        v.get_text_key("privacy_defaults")
            .unwrap()
            .get_text_key("template_retention_days"),
        None
    );
    assert_eq!(v.get_text_key("sbom"), Some(&Value::Array(vec![])));
    assert_eq!(
        Evidence::from_payload("firmware-build", &ev.to_payload()).unwrap(),
        ev
    );
}

// ---------------------------------------------------------------------------
// Refused input: the exact messages.

#[test]
fn malformed_toml_names_line_and_column() {
    let err = toml("version = \"4.2.0\nbuild_number = 1\n").unwrap_err();
    assert!(matches!(err, EvidenceError::Syntax { format: "TOML", .. }));
    assert_eq!(
        err.to_string(),
        "TOML syntax: TOML parse error at line 1, column 17\n  |\n1 | version = \"4.2.0\n  |                 ^\ninvalid basic string, expected `\"`"
    );
    let err = toml_err(&edit("build_number", "build_number = = 4200"));
    assert!(
        err.starts_with("TOML syntax: TOML parse error at line 4, column 16\n"),
        "{err}"
    );
}

#[test]
fn malformed_json_names_line_and_column() {
    let err = json("{\"version\": \"4.2.0\",\n \"build_number\": 1,,}").unwrap_err();
    assert!(matches!(err, EvidenceError::Syntax { format: "JSON", .. }));
    assert_eq!(
        err.to_string(),
        "JSON syntax: key must be a string at line 2 column 20"
    );
    assert_eq!(
        json("").unwrap_err().to_string(),
        "JSON syntax: EOF while parsing a value at line 1 column 0"
    );
}

#[test]
fn duplicate_json_keys_are_refused() {
    // serde_json alone keeps the last value; TOML refuses duplicates, and so must JSON input.
    assert_eq!(
        json(&FW_JSON.replace(
            "\"build_number\": 4200,",
            "\"build_number\": 1,\n  \"build_number\": 4200,"
        ))
        .unwrap_err()
        .to_string(),
        "JSON syntax: duplicate key `build_number` at line 4 column 16"
    );
    assert_eq!(
        json(&FW_JSON.replace(
            "\"family\": \"FaceGate 3D\",",
            "\"family\": \"FaceGate 3D\", \"family\": \"Other\","
        ))
        .unwrap_err()
        .to_string(),
        "JSON syntax: duplicate key `family` at line 9 column 37"
    );
    assert!(
        toml(&FW_TOML.replace(
            "version = \"4.2.0\"",
            "version = \"4.2.0\"\nversion = \"4.2.1\""
        ))
        .is_err()
    );
    // Equal keys in different objects are fine.
    assert!(json(FW_JSON).is_ok());
}

#[test]
fn missing_fields_name_their_parent() {
    assert_eq!(toml_err(&edit("version", "")), ".: missing field `version`");
    assert_eq!(
        toml_err(&edit("family", "")),
        "product: missing field `family`"
    );
    assert_eq!(
        toml_err(&edit("size = 64", "")),
        "artifacts[1]: missing field `size`"
    );
    assert_eq!(
        toml_err(&edit("raw_images_retained", "")),
        "privacy_defaults: missing field `raw_images_retained`"
    );
}

#[test]
fn wrong_types_name_the_field() {
    assert_eq!(
        toml_err(&edit("size = 64", "size = \"64\"")),
        "artifacts[1].size: invalid type: string \"64\", expected u64"
    );
    assert_eq!(
        toml_err(&edit("size = 64", "size = -64")),
        "artifacts[1].size: invalid value: integer `-64`, expected u64"
    );
    assert_eq!(
        toml_err(&edit("size = 64", "size = 64.0")),
        "artifacts[1].size: invalid type: floating point `64.0`, expected u64"
    );
    assert_eq!(
        toml_err(&edit("models", "models = \"FG3-100\"")),
        "product.models: invalid type: string \"FG3-100\", expected a sequence"
    );
    assert_eq!(
        toml_err(&edit("role = \"pad\"", "role = \"iris\"")),
        "biometric_components[1].role: unknown variant `iris`, expected one of `matcher`, `pad`, `detector`"
    );
    assert_eq!(
        toml_err(&edit("on_device_matching", "on_device_matching = \"yes\"")),
        "privacy_defaults.on_device_matching: invalid type: string \"yes\", expected a boolean"
    );
    assert_eq!(
        toml_err(&edit("built_at", "built_at = 2026-02-10T09:30:00")),
        "built_at: not an RFC 3339 timestamp like 2026-03-01T12:00:00Z: \"2026-02-10T09:30:00\": expected a time zone: Z or +HH:MM"
    );
    assert_eq!(
        toml_err(&edit("built_at", "built_at = 1.5")),
        "built_at: invalid type: floating point `1.5`, expected Unix seconds or an RFC 3339 date-time such as 2026-03-01T12:00:00Z"
    );
    assert_eq!(
        json(&FW_JSON.replace("\"security_version\": 7", "\"security_version\": null"))
            .unwrap_err()
            .to_string(),
        "security_version: invalid type: null, expected u64"
    );
}

#[test]
fn unknown_fields_are_named_with_their_path() {
    assert_eq!(
        toml_err(&edit(
            "sha256 = \"1c2d",
            "sha265 = \"1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f\""
        )),
        "artifacts[1].sha265: unknown field `sha265`, expected one of `name`, `sha256`, `size`"
    );
    assert_eq!(
        toml_err(&(FW_TOML.to_owned() + "\n[extra]\nx = 1\n")),
        "extra: unknown field `extra`, expected one of `product`, `version`, `build_number`, `security_version`, `built_at`, `source`, `artifacts`, `sbom`, `provenance`, `biometric_components`, `privacy_defaults`, `support_until`, `sigstore`, `attestation`"
    );
    assert_eq!(
        json(&FW_JSON.replace("\"models\"", "\"model\""))
            .unwrap_err()
            .to_string(),
        "product.model: unknown field `model`, expected one of `vendor`, `family`, `models`"
    );
}

#[test]
fn bad_digests_name_the_field() {
    assert_eq!(
        toml_err(&edit(
            "sha256 = \"1c2d",
            "sha256 = \"zz2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f\""
        )),
        "artifacts[1].sha256: SHA-256 digest must be 64 hex digits"
    );
    assert_eq!(
        toml_err(&edit("model_sha256 = \"0b1c", "model_sha256 = \"0b1c\"")),
        "biometric_components[0].model_sha256: SHA-256 digest must be 64 hex digits"
    );
    assert_eq!(
        toml_err(&edit(
            "commit",
            "commit = \"3F9C2D8E41B07A55C6E9D21F08B4C7A9E2D51F36\""
        )),
        "source.commit: must be a 40- or 64-digit lower-case hex commit id"
    );
}

#[test]
fn validation_problems_are_all_listed_with_paths() {
    let mut text = edit("models", "models = []");
    text = text.replace("size = 64", "size = 0");
    text = text.replace(
        "support_until = 2031-02-10T00:00:00Z",
        "support_until = 2026-02-10T09:30:00Z",
    );
    text = text.replace(
        "template_retention_days = 365",
        "template_retention_days = 0",
    );
    text = text.replace("raw_images_retained = false", "raw_images_retained = true");
    text = text.replace("version = \"3.4\"", "version = \" 3.4\"");
    let err = toml(&text).unwrap_err();
    let EvidenceError::Invalid(problems) = &err else {
        panic!("expected validation problems, got {err:?}");
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "product.models",
            "artifacts[1].size",
            "biometric_components[1].version",
            "privacy_defaults.raw_images_retained",
            "privacy_defaults.template_retention_days",
            "support_until",
        ]
    );
    assert_eq!(
        err.to_string(),
        "product.models: must list at least one model\n\
         artifacts[1].size: must be > 0\n\
         biometric_components[1].version: must not start or end with white space\n\
         privacy_defaults.raw_images_retained: contradicts template_only_storage = true\n\
         privacy_defaults.template_retention_days: must be > 0 (omit it for no limit)\n\
         support_until: must be after built_at"
    );
}

#[test]
fn duplicates_and_empty_texts_are_refused() {
    let text = FW_TOML
        .replace("\"FG3-200W\"", "\"FG3-100\"")
        .replace(
            "name = \"facegate-4.2.0-fg3.img.sig\"",
            "name = \"facegate-4.2.0-fg3.img\"",
        )
        .replace("vendor = \"Aurelis Security Systems\"", "vendor = \"  \"");
    assert_eq!(
        toml_err(&text),
        "product.vendor: must not be empty\n\
         product.models[1]: duplicates an earlier item\n\
         artifacts[1]: duplicates an earlier item"
    );
}

#[test]
fn non_finite_toml_floats_are_refused_not_dropped() {
    // TOML has nan and inf but no null: they must not turn into an absent optional field.
    assert_eq!(
        toml_err(&edit(
            "template_retention_days",
            "template_retention_days = nan"
        )),
        "privacy_defaults.template_retention_days: floating-point value nan is not allowed (evidence holds integers)"
    );
    assert_eq!(
        toml_err(&without_provenance_table("provenance = -inf\n")),
        "provenance: floating-point value -inf is not allowed (evidence holds integers)"
    );
    assert_eq!(
        toml_err(&edit("size = 64", "size = inf")),
        "artifacts[1].size: floating-point value inf is not allowed (evidence holds integers)"
    );
}

#[test]
fn unknown_kind() {
    let err = Evidence::from_input("lab-report", FW_TOML, InputFormat::Toml).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown evidence kind \"lab-report\" (known: firmware-build, lab-result, countersignature, claim, incident, key-event, accuracy-result, certification, export-classification, export-decision, shipment, hr-due-diligence, end-use-check, deployment-record)"
    );
}

#[test]
fn input_format_follows_the_extension() {
    use std::path::Path;
    assert_eq!(
        InputFormat::from_path(Path::new("a.json")),
        InputFormat::Json
    );
    assert_eq!(
        InputFormat::from_path(Path::new("a.JSON")),
        InputFormat::Json
    );
    assert_eq!(
        InputFormat::from_path(Path::new("a.toml")),
        InputFormat::Toml
    );
    assert_eq!(InputFormat::from_path(Path::new("a")), InputFormat::Toml);
}

// ---------------------------------------------------------------------------
// Payloads: only the canonical encoding of a valid value is accepted.

fn from_payload_err(v: &Value) -> String {
    Evidence::from_payload("firmware-build", &cbor::encode(v))
        .expect_err("payload must be refused")
        .to_string()
}

#[test]
fn payload_with_upper_case_hex_is_refused() {
    let mut v = payload_value();
    let arts = entry_mut(&mut v, "artifacts");
    let Value::Array(items) = arts else { panic!() };
    let sha = entry_mut(&mut items[0], "sha256");
    *sha = Value::text(sha.as_text().unwrap().to_uppercase());
    assert_eq!(
        from_payload_err(&v),
        "payload: not the canonical encoding of its value (e.g. upper-case hex or an empty optional field)"
    );
}

#[test]
fn payload_with_an_extra_key_is_refused() {
    let mut v = payload_value();
    map_mut(&mut v).push((Value::text("comment"), Value::text("hi")));
    assert_eq!(
        from_payload_err(&v),
        "comment: unknown field `comment`, expected one of `product`, `version`, `build_number`, `security_version`, `built_at`, `source`, `artifacts`, `sbom`, `provenance`, `biometric_components`, `privacy_defaults`, `support_until`, `sigstore`, `attestation`"
    );
}

#[test]
fn payload_with_a_float_is_refused() {
    // Replace the encoding of build_number 4200 (19 10 68) with the half float 1.0 (f9 3c 00).
    let p = toml(FW_TOML).unwrap().to_payload();
    let at = p
        .windows(3)
        .position(|w| w == [0x19, 0x10, 0x68])
        .expect("4200 in the payload");
    let mut bad = p[..at].to_vec();
    bad.extend_from_slice(&[0xf9, 0x3c, 0x00]);
    bad.extend_from_slice(&p[at + 3..]);
    let err = Evidence::from_payload("firmware-build", &bad).unwrap_err();
    assert!(matches!(err, EvidenceError::Payload(_)));
    assert_eq!(
        err.to_string(),
        format!(
            "payload: cbor: floating-point value at byte {at} (use integers, e.g. parts per million)"
        )
    );
}

#[test]
fn payload_with_other_deviations_is_refused() {
    // Text time instead of an integer: valid input, but not the canonical payload.
    let mut v = payload_value();
    *entry_mut(&mut v, "built_at") = Value::text("2026-02-10T09:30:00Z");
    assert!(from_payload_err(&v).starts_with("payload: not the canonical encoding"));

    // A list that canonical payloads write out, even when empty, may not be left out.
    let mut v = payload_value();
    *entry_mut(&mut v, "sbom") = Value::Array(vec![]);
    let with_empty = cbor::encode(&v);
    assert!(Evidence::from_payload("firmware-build", &with_empty).is_ok());
    map_mut(&mut v).retain(|(k, _)| k.as_text() != Some("sbom"));
    assert!(from_payload_err(&v).starts_with("payload: not the canonical encoding"));

    // Null, bytes, integer keys.
    for (key, value) in [
        ("provenance", Value::Null),
        ("version", Value::Bytes(b"4.2.0".to_vec())),
    ] {
        let mut v = payload_value();
        *entry_mut(&mut v, key) = value;
        assert!(
            from_payload_err(&v).starts_with("payload: unexpected"),
            "{key}"
        );
    }
    let mut v = payload_value();
    map_mut(&mut v).push((Value::int(1), Value::int(1)));
    assert_eq!(from_payload_err(&v), "payload: map key is not text");

    // Unsorted keys: not deterministic CBOR at all.
    let p = toml(FW_TOML).unwrap().to_payload();
    let v = cbor::decode(&p).unwrap();
    let mut entries = v.as_map().unwrap().to_vec();
    entries.swap(0, 1);
    let mut raw = vec![0xac];
    for (k, val) in &entries {
        raw.extend(cbor::encode(k));
        raw.extend(cbor::encode(val));
    }
    let err = Evidence::from_payload("firmware-build", &raw).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("payload: cbor: map keys out of order at byte"),
        "{err}"
    );
}
