//! Evidence kinds: typed schemas, validation, and their deterministic CBOR payloads.
//!
//! Input (TOML or JSON) and payloads share one data model: maps with text keys in snake_case,
//! text, integers and booleans, arrays. There is no floating point: rates are integers in parts
//! per million, times are integer Unix seconds (RFC 3339 accepted in input), digests and entry
//! hashes are 64 lowercase hex digits. A payload is accepted only if it is exactly the
//! deterministic encoding of a valid value of its kind, so one meaning has one byte string.

mod accuracy_result;
mod adverse_index;
mod certification;
mod claim;
mod countersignature;
mod deployment;
mod due_diligence;
mod export;
mod files;
mod firmware_build;
mod incident;
mod key_event;
pub mod key_standing;
mod lab_result;
mod types;

pub use accuracy_result::{
    ACCURACY_STANDARDS, AccuracyMode, AccuracyReport, AccuracyResult, DEMOGRAPHIC_STANDARD,
    Dataset, Evaluator, EvaluatorKind, Group, Matcher, PPB, Rate, Rates, Threshold, format_ppb,
    ppb,
};
pub use adverse_index::{ADVERSE_DIGEST_DOMAIN, AdverseDigest, AdverseIndex, MAY_BE_ADVERSE};
pub use certification::{
    CERTIFICATION_SCHEMES, CertificateDocument, CertificateStatus, Certification,
    CertificationBody, CertificationScheme, Scope, ScopeProduct, Validity,
};
pub use claim::{
    AppliesTo, Approval, Assertion, AssertionType, CLAIM_EVIDENCE, Channel, ChannelKind, Claim,
    Comparator,
};
pub use countersignature::{COUNTERSIGNABLE, Countersignature};
pub use deployment::{
    Art9Basis, CnFiling, Controller, DeploymentRecord, Dpia, LegalBasis, Processor, Retention,
    RetentionTrigger, Transfer, TransferMechanism, is_region,
};
pub use due_diligence::{
    CheckResult, CheckType, DueDiligenceDecision, DueDiligenceScope, EndUseCheck, Framework,
    HrDueDiligence, Likelihood, Mitigation, Risk, RiskSeverity,
};
pub use export::{
    Approval as ExportApproval, Art5Notification, BiometricFunction, ControlReason, EndUse,
    EndUseCategory, EndUser, ExportClassification, ExportDecision, Item, Jurisdiction, Licence,
    LicenceBasis, LicenceCondition, Party, Screening, ScreeningList, ScreeningResult, Sector,
    Shipment, SurveillanceAssessment, SurveillanceClaim, control_entry_ok, is_country,
};
pub use files::{FileDigest, FileField, FileResolver, resolve_files};
pub use firmware_build::{
    Artifact, BiometricComponent, ComponentRole, FirmwareBuild, PrivacyDefaults, Product,
    Provenance, SbomDigest, SigstoreRef, SourceRef,
};
pub use incident::{
    Affected, GdprRole, Incident, IncidentType, Notification, NotificationStage, Recipient,
    Remediation, Severity, TimelineEntry, fix_follows,
};
pub use key_event::{EventKey, KeyEvent, KeyEventType};
pub use lab_result::{
    BonaFide, Lab, LabResult, Report, Scheme, Species, SpeciesCategory, Target, TestWindow,
    Verdict, VerdictResult,
};
pub use types::{EntryRef, Sha256Hex, Timestamp, is_language_tag, percent, ppm};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cbor::{self, Value};

/// Every evidence kind this version understands, by name.
pub const KINDS: &[&str] = &[
    FirmwareBuild::KIND,
    LabResult::KIND,
    Countersignature::KIND,
    Claim::KIND,
    Incident::KIND,
    KeyEvent::KIND,
    AccuracyResult::KIND,
    Certification::KIND,
    ExportClassification::KIND,
    ExportDecision::KIND,
    Shipment::KIND,
    HrDueDiligence::KIND,
    EndUseCheck::KIND,
    DeploymentRecord::KIND,
];

/// Refuses input of a kind only the log writes.
fn refuse_log_only(kind: &str) -> Result<(), EvidenceError> {
    if kind == AdverseIndex::KIND {
        return Err(EvidenceError::LogOnly(AdverseIndex::KIND));
    }
    Ok(())
}

/// One validation problem: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Field path, e.g. `artifacts[2].sha256`.
    pub path: String,
    /// What is wrong, e.g. `must be > 0`.
    pub message: String,
}

/// Collects validation problems with their field paths.
#[derive(Default, Debug)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// Records a problem at `path`.
    pub fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Records a problem at `path` unless `ok`.
    pub fn check(&mut self, ok: bool, path: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.add(path, message);
        }
    }

    /// Requires a non-empty, trimmed text of at most `max` bytes.
    pub fn text(&mut self, path: &str, s: &str, max: usize) {
        if s.trim().is_empty() {
            self.add(path, "must not be empty");
        } else if s.trim() != s {
            self.add(path, "must not start or end with white space");
        } else if s.len() > max {
            self.add(path, format!("must be at most {max} bytes"));
        }
    }

    /// Checks an optional text like [`Problems::text`] when it is present.
    pub fn opt_text(&mut self, path: &str, s: Option<&str>, max: usize) {
        if let Some(s) = s {
            self.text(path, s, max);
        }
    }

    /// Checks each text of a list like [`Problems::text`] and requires them to be unique.
    pub fn texts(&mut self, path: &str, items: &[String], max: usize) {
        for (i, s) in items.iter().enumerate() {
            self.text(&format!("{path}[{i}]"), s, max);
        }
        self.unique(path, items, String::as_str);
    }

    /// Requires the items of a list to be unique by `key`; each item equal to an earlier one is
    /// a problem at its own index. One hash-set insertion per item of a borrowed key, so a list
    /// of n items costs O(n), never a comparison per pair (`specs/verification.md`, "Cost").
    pub fn unique<'a, T, K: Eq + std::hash::Hash>(
        &mut self,
        path: &str,
        items: &'a [T],
        key: impl Fn(&'a T) -> K,
    ) {
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        for (i, a) in items.iter().enumerate() {
            if !seen.insert(key(a)) {
                self.add(format!("{path}[{i}]"), "duplicates an earlier item");
            }
        }
    }

    /// The problems found, if any.
    pub fn into_result(self) -> Result<(), EvidenceError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(EvidenceError::Invalid(self.0))
        }
    }
}

/// An entry that a piece of evidence cites, with the kinds it may be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Field path of the citation, e.g. `target.build`.
    pub path: String,
    /// The cited entry hash.
    pub entry: [u8; 32],
    /// The kinds the cited entry may have.
    pub kinds: &'static [&'static str],
}

/// Behaviour shared by every evidence kind.
pub trait Kind: Serialize + DeserializeOwned + Sized {
    /// The kind's name, as in the content type and on the command line.
    const KIND: &'static str;
    /// Checks constraints beyond the types; records each problem with its field path.
    fn validate(&self, problems: &mut Problems);
    /// Where input may name a file instead of giving its digest (`specs/evidence.md`).
    const FILE_FIELDS: &'static [FileField] = &[];
    /// The entries this evidence cites.
    fn references(&self) -> Vec<Reference> {
        Vec::new()
    }
    /// A readable, multi-line description for `evledger show`.
    fn render(&self) -> String;
    /// A one-line summary for `evledger log`.
    fn summary(&self) -> String;
}

/// Why evidence input or a payload is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The kind name is not one this version knows.
    #[error("unknown evidence kind {0:?} (known: {known})", known = KINDS.join(", "))]
    UnknownKind(String),
    /// The kind is written by the log itself, never from input.
    #[error(
        "kind {0:?} is written by the log itself before each checkpoint; it cannot be recorded or signed"
    )]
    LogOnly(&'static str),
    /// The input is not well-formed TOML or JSON.
    #[error("{format} syntax: {message}")]
    Syntax {
        /// "TOML" or "JSON".
        format: &'static str,
        /// The parser's message, with the line and column.
        message: String,
    },
    /// A field is missing, unknown or of the wrong type.
    #[error("{path}: {message}")]
    Shape {
        /// Field path (`.` for the top level).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A file named in the input (`file = "path"`) cannot be used.
    #[error("{path}: {message}")]
    File {
        /// Field path of the file, or of the digest or size it contradicts.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Fields have the right types but break the kind's rules.
    #[error("{}", render_problems(.0))]
    Invalid(Vec<Problem>),
    /// The payload is not deterministic CBOR of the evidence data model.
    #[error("payload: {0}")]
    Payload(String),
}

fn render_problems(ps: &[Problem]) -> String {
    ps.iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The two input syntaxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// TOML 1.0; native date-times become RFC 3339 strings.
    Toml,
    /// JSON (RFC 8259).
    Json,
}

impl InputFormat {
    /// Picks the format from a file name: `.json` is JSON, anything else TOML.
    pub fn from_path(path: &std::path::Path) -> InputFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => InputFormat::Json,
            _ => InputFormat::Toml,
        }
    }
}

/// A validated piece of evidence of any kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// A firmware build.
    FirmwareBuild(FirmwareBuild),
    /// A lab's test result.
    LabResult(LabResult),
    /// An endorsement of another entry.
    Countersignature(Countersignature),
    /// A product claim and the evidence it rests on.
    Claim(Claim),
    /// A security or privacy incident and the response.
    Incident(Incident),
    /// A signer key's introduction, rotation or revocation.
    KeyEvent(KeyEvent),
    /// The log's commitment to its adverse entries, written by the log itself.
    AdverseIndex(AdverseIndex),
    /// A recognition accuracy evaluation of a matcher model.
    AccuracyResult(AccuracyResult),
    /// A certificate under a certification scheme, at one status.
    Certification(Certification),
    /// How a build or model is classified for export in one jurisdiction.
    ExportClassification(ExportClassification),
    /// One export transaction as decided.
    ExportDecision(ExportDecision),
    /// One consignment executing an export decision.
    Shipment(Shipment),
    /// A human-rights due-diligence assessment.
    HrDueDiligence(HrDueDiligence),
    /// An end-use check of an export decision.
    EndUseCheck(EndUseCheck),
    /// One deployment of a build in a region.
    DeploymentRecord(DeploymentRecord),
}

macro_rules! each_kind {
    ($self:expr, $v:ident => $e:expr) => {
        match $self {
            Evidence::FirmwareBuild($v) => $e,
            Evidence::LabResult($v) => $e,
            Evidence::Countersignature($v) => $e,
            Evidence::Claim($v) => $e,
            Evidence::Incident($v) => $e,
            Evidence::KeyEvent($v) => $e,
            Evidence::AdverseIndex($v) => $e,
            Evidence::AccuracyResult($v) => $e,
            Evidence::Certification($v) => $e,
            Evidence::ExportClassification($v) => $e,
            Evidence::ExportDecision($v) => $e,
            Evidence::Shipment($v) => $e,
            Evidence::HrDueDiligence($v) => $e,
            Evidence::EndUseCheck($v) => $e,
            Evidence::DeploymentRecord($v) => $e,
        }
    };
}

impl Evidence {
    /// Parses and validates input of the named kind.
    ///
    /// # Errors
    /// [`EvidenceError`] naming the field and the problem.
    pub fn from_input(
        kind: &str,
        text: &str,
        format: InputFormat,
    ) -> Result<Evidence, EvidenceError> {
        refuse_log_only(kind)?;
        Self::read_kind(kind, JsonReader::new(parse_input(text, format)?, None))
    }

    /// Parses and validates input of the named kind as [`Evidence::from_input`] does, after
    /// replacing each file the input names where the kind allows one (its
    /// [`Kind::FILE_FIELDS`]) with the digest (and size) `files` gives for it.
    ///
    /// # Errors
    /// [`EvidenceError::File`] for a file that cannot be used, at its field path; otherwise as
    /// [`Evidence::from_input`].
    pub fn from_input_with_files(
        kind: &str,
        text: &str,
        format: InputFormat,
        files: &FileResolver<'_>,
    ) -> Result<Evidence, EvidenceError> {
        refuse_log_only(kind)?;
        Self::read_kind(
            kind,
            JsonReader::new(parse_input(text, format)?, Some(files)),
        )
    }

    /// Decodes and validates a payload of the named kind; it must be the deterministic encoding of its value.
    ///
    /// # Errors
    /// [`EvidenceError`] if it is not.
    pub fn from_payload(kind: &str, payload: &[u8]) -> Result<Evidence, EvidenceError> {
        let v = cbor::decode(payload).map_err(|e| EvidenceError::Payload(e.to_string()))?;
        let ev = Self::from_value(kind, &v)?;
        // `v` came from the strict decoder, so `payload` is its one deterministic encoding:
        // matching the value is matching the bytes, with nothing encoded.
        if !ev.encodes_to(&v) {
            return Err(EvidenceError::Payload(
                "not the canonical encoding of its value (e.g. upper-case hex or an empty optional field)".into(),
            ));
        }
        Ok(ev)
    }

    fn from_value(kind: &str, v: &Value) -> Result<Evidence, EvidenceError> {
        Self::read_kind(kind, PayloadReader(v))
    }

    /// Reads evidence of the named kind with `reader`: the one list of kinds by name.
    fn read_kind(kind: &str, reader: impl ReadKind) -> Result<Evidence, EvidenceError> {
        match kind {
            FirmwareBuild::KIND => reader.read().map(Evidence::FirmwareBuild),
            LabResult::KIND => reader.read().map(Evidence::LabResult),
            Countersignature::KIND => reader.read().map(Evidence::Countersignature),
            Claim::KIND => reader.read().map(Evidence::Claim),
            Incident::KIND => reader.read().map(Evidence::Incident),
            KeyEvent::KIND => reader.read().map(Evidence::KeyEvent),
            AdverseIndex::KIND => reader.read().map(Evidence::AdverseIndex),
            AccuracyResult::KIND => reader.read().map(Evidence::AccuracyResult),
            Certification::KIND => reader.read().map(Evidence::Certification),
            ExportClassification::KIND => reader.read().map(Evidence::ExportClassification),
            ExportDecision::KIND => reader.read().map(Evidence::ExportDecision),
            Shipment::KIND => reader.read().map(Evidence::Shipment),
            HrDueDiligence::KIND => reader.read().map(Evidence::HrDueDiligence),
            EndUseCheck::KIND => reader.read().map(Evidence::EndUseCheck),
            DeploymentRecord::KIND => reader.read().map(Evidence::DeploymentRecord),
            other => Err(EvidenceError::UnknownKind(other.to_owned())),
        }
    }

    /// Whether this evidence's payload value is `v` (maps as sets of entries), i.e. whether it
    /// encodes to the bytes `v` was strictly decoded from.
    pub(crate) fn encodes_to(&self, v: &Value) -> bool {
        each_kind!(self, e => crate::cbor::serde::matches(e, v))
    }

    /// The kind's name.
    pub fn kind(&self) -> &'static str {
        each_kind!(self, _e => kind_name(_e))
    }

    /// The deterministic CBOR payload.
    pub fn to_payload(&self) -> Vec<u8> {
        each_kind!(self, e => to_payload(e))
    }

    /// The entries this evidence cites.
    pub fn references(&self) -> Vec<Reference> {
        each_kind!(self, e => e.references())
    }

    /// Key ids (not entries) this evidence is about, indexed so that bundles can carry the key
    /// events their signers need: a key event's subject key.
    pub fn key_references(&self) -> Vec<crate::keys::KeyId> {
        match self {
            Evidence::KeyEvent(k) => k.subject_kid().into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// Every document digest the evidence cites, with its field path: any field named `sha256`
    /// or ending in `_sha256` (artifacts, SBOMs, reports, channel documents, receipts, models).
    pub fn document_digests(&self) -> Vec<(String, [u8; 32])> {
        fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<(String, [u8; 32])>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        let p = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        if (k == "sha256" || k.ends_with("_sha256"))
                            && let Some(d) = v.as_str().and_then(crate::hex::decode_array::<32>)
                        {
                            out.push((p, d));
                        } else {
                            walk(v, &p, out);
                        }
                    }
                }
                serde_json::Value::Array(a) => {
                    for (i, v) in a.iter().enumerate() {
                        walk(v, &format!("{path}[{i}]"), out);
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.to_json(), "", &mut out);
        out
    }

    /// A readable, multi-line description.
    pub fn render(&self) -> String {
        each_kind!(self, e => e.render())
    }

    /// A one-line summary.
    pub fn summary(&self) -> String {
        each_kind!(self, e => e.summary())
    }

    /// The evidence in the JSON data model (for `--json` output).
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing plain data structs to a JSON value cannot fail: no maps with non-string keys.
        each_kind!(self, e => serde_json::to_value(e).unwrap_or(serde_json::Value::Null))
    }
}

/// A readable listing of a value's fields, one `path  value` line each, under `title`: the
/// rendering of kinds whose fields are best read as they are written.
fn render_fields<T: Serialize>(title: &str, value: &T) -> String {
    fn walk(v: &serde_json::Value, path: &str, out: &mut String) {
        use std::fmt::Write as _;
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(v, &p, out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(v, &format!("{path}[{i}]"), out);
                }
            }
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => {
                // Writing to a String cannot fail.
                let _ = writeln!(out, "  {path:<28} {s}");
            }
            other => {
                let _ = writeln!(out, "  {path:<28} {other}");
            }
        }
    }
    let mut out = format!("{title}\n");
    // Serializing plain data structs to a JSON value cannot fail (text keys only).
    walk(
        &serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
        "",
        &mut out,
    );
    out
}

fn kind_name<T: Kind>(_: &T) -> &'static str {
    T::KIND
}

/// Reads one typed kind of evidence from some input, with the field path of any error.
trait ReadKind {
    /// The value, validated by the kind's rules.
    fn read<T: Kind>(self) -> Result<T, EvidenceError>;
}

/// Input in the JSON data model (JSON or TOML text), with the resolver of the files it may name.
struct JsonReader<'a> {
    input: serde_json::Value,
    files: Option<&'a FileResolver<'a>>,
}

impl<'a> JsonReader<'a> {
    fn new(input: serde_json::Value, files: Option<&'a FileResolver<'a>>) -> Self {
        JsonReader { input, files }
    }
}

/// A decoded payload. An item outside the data model is a payload error (with where it is); a
/// wrong shape is a shape error, as for input.
struct PayloadReader<'a>(&'a Value);

impl ReadKind for PayloadReader<'_> {
    fn read<T: Kind>(self) -> Result<T, EvidenceError> {
        let v = self.0;
        // Valid payloads are the common case: read without tracking the path, and read again
        // with it only to say where a refused payload goes wrong.
        let read = T::deserialize(crate::cbor::serde::ValueDeserializer(v)).or_else(|_| {
            serde_path_to_error::deserialize(crate::cbor::serde::ValueDeserializer(v))
        });
        validated(read.map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_outside_model() {
                // `?` marks a map key, whose text is unknown: the place is the map holding it.
                let place = path.trim_end_matches('?').trim_end_matches('.');
                if place.is_empty() {
                    EvidenceError::Payload(inner.to_string())
                } else {
                    EvidenceError::Payload(format!("{inner} at {place}"))
                }
            } else {
                EvidenceError::Shape {
                    path,
                    message: inner.to_string(),
                }
            }
        })?)
    }
}

impl ReadKind for JsonReader<'_> {
    fn read<T: Kind>(mut self) -> Result<T, EvidenceError> {
        if let Some(files) = self.files {
            resolve_files(&mut self.input, T::FILE_FIELDS, files)?;
        }
        validated(serde_path_to_error::deserialize(self.input).map_err(|e| {
            let path = e.path().to_string();
            EvidenceError::Shape {
                path,
                message: e.into_inner().to_string(),
            }
        })?)
    }
}

/// `value` if it keeps its kind's rules, else every problem found.
fn validated<T: Kind>(value: T) -> Result<T, EvidenceError> {
    let mut problems = Problems::default();
    value.validate(&mut problems);
    problems.into_result()?;
    Ok(value)
}

fn to_payload<T: Kind>(value: &T) -> Vec<u8> {
    // The evidence structs hold only text, integers, booleans, lists and nested structs, so the
    // conversion cannot fail; if it did, the null payload would be rejected by every reader.
    cbor::encode(&crate::cbor::serde::to_value(value).unwrap_or(Value::Null))
}

/// Parses input text into the JSON data model.
fn parse_input(text: &str, format: InputFormat) -> Result<serde_json::Value, EvidenceError> {
    Ok(match format {
        InputFormat::Json => {
            serde_json::from_str::<StrictJson>(text)
                .map_err(|e| EvidenceError::Syntax {
                    format: "JSON",
                    message: e.to_string(),
                })?
                .0
        }
        InputFormat::Toml => {
            let t = toml::from_str::<toml::Table>(text).map_err(|e| EvidenceError::Syntax {
                format: "TOML",
                message: e.to_string().trim_end().to_owned(),
            })?;
            toml_to_json(toml::Value::Table(t), "")?
        }
    })
}

/// Converts TOML to the JSON data model; date-times become their RFC 3339 text.
///
/// JSON has no NaN or infinity, and TOML has no null: a non-finite float is refused here, with
/// its field path, rather than turned into null (which would silently drop an optional field).
fn toml_to_json(v: toml::Value, path: &str) -> Result<serde_json::Value, EvidenceError> {
    use serde_json::Value as J;
    Ok(match v {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => match serde_json::Number::from_f64(f) {
            Some(n) => J::Number(n),
            None => {
                // Spelled as in TOML (Rust would write NaN).
                let f = if f.is_nan() {
                    "nan"
                } else if f > 0.0 {
                    "inf"
                } else {
                    "-inf"
                };
                return Err(EvidenceError::Shape {
                    path: if path.is_empty() {
                        ".".into()
                    } else {
                        path.into()
                    },
                    message: format!(
                        "floating-point value {f} is not allowed (evidence holds integers)"
                    ),
                });
            }
        },
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(
            a.into_iter()
                .enumerate()
                .map(|(i, v)| toml_to_json(v, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => J::Object(
            t.into_iter()
                .map(|(k, v)| {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    Ok((k, toml_to_json(v, &p)?))
                })
                .collect::<Result<_, EvidenceError>>()?,
        ),
    })
}

/// A JSON value read with duplicate object keys refused: `serde_json::Value` silently keeps the
/// last one, so `{"size": 1, "size": 2}` would sign a value the reader of the file may not see.
/// TOML refuses duplicate keys itself.
struct StrictJson(serde_json::Value);

impl<'de> serde::Deserialize<'de> for StrictJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictJsonVisitor).map(StrictJson)
    }
}

struct StrictJsonVisitor;

impl<'de> serde::de::Visitor<'de> for StrictJsonVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        // JSON text has no NaN or infinity, so this is always a number.
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictJson(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(serde_json::Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
            }
            let StrictJson(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}
