//! Evidence kinds: typed schemas, validation, and their deterministic CBOR payloads.
//!
//! Input (TOML or JSON) and payloads share one data model: maps with text keys in snake_case,
//! text, integers and booleans, arrays. There is no floating point: rates are integers in parts
//! per million, times are integer Unix seconds (RFC 3339 accepted in input), digests and entry
//! hashes are 64 lowercase hex digits. A payload is accepted only if it is exactly the
//! deterministic encoding of a valid value of its kind, so one meaning has one byte string.

mod firmware_build;
mod types;

pub use firmware_build::{
    Artifact, BiometricComponent, ComponentRole, FirmwareBuild, PrivacyDefaults, Product,
    Provenance, SbomDigest, SourceRef,
};
pub use types::{EntryRef, Sha256Hex, Timestamp};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cbor::{self, Value};

/// Every evidence kind this version understands, by name.
pub const KINDS: &[&str] = &[FirmwareBuild::KIND];

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

    /// Requires a non-empty list whose items are unique by `key`.
    pub fn unique<T, K: PartialEq>(&mut self, path: &str, items: &[T], key: impl Fn(&T) -> K) {
        for (i, a) in items.iter().enumerate() {
            if items[..i].iter().any(|b| key(b) == key(a)) {
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
}

macro_rules! each_kind {
    ($self:expr, $v:ident => $e:expr) => {
        match $self {
            Evidence::FirmwareBuild($v) => $e,
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
        let json = match format {
            InputFormat::Json => serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
                EvidenceError::Syntax {
                    format: "JSON",
                    message: e.to_string(),
                }
            })?,
            InputFormat::Toml => {
                let t = toml::from_str::<toml::Table>(text).map_err(|e| EvidenceError::Syntax {
                    format: "TOML",
                    message: e.to_string().trim_end().to_owned(),
                })?;
                toml_to_json(toml::Value::Table(t))
            }
        };
        Self::from_json(kind, json)
    }

    /// Decodes and validates a payload of the named kind; it must be the deterministic encoding of its value.
    ///
    /// # Errors
    /// [`EvidenceError`] if it is not.
    pub fn from_payload(kind: &str, payload: &[u8]) -> Result<Evidence, EvidenceError> {
        let v = cbor::decode(payload).map_err(|e| EvidenceError::Payload(e.to_string()))?;
        let json = cbor_to_json(&v).map_err(EvidenceError::Payload)?;
        let ev = Self::from_json(kind, json)?;
        if ev.to_payload() != payload {
            return Err(EvidenceError::Payload(
                "not the canonical encoding of its value (e.g. upper-case hex or an empty optional field)".into(),
            ));
        }
        Ok(ev)
    }

    fn from_json(kind: &str, json: serde_json::Value) -> Result<Evidence, EvidenceError> {
        match kind {
            FirmwareBuild::KIND => typed::<FirmwareBuild>(json).map(Evidence::FirmwareBuild),
            other => Err(EvidenceError::UnknownKind(other.to_owned())),
        }
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

fn kind_name<T: Kind>(_: &T) -> &'static str {
    T::KIND
}

fn typed<T: Kind>(json: serde_json::Value) -> Result<T, EvidenceError> {
    let value: T = serde_path_to_error::deserialize(json).map_err(|e| {
        let path = e.path().to_string();
        EvidenceError::Shape {
            path,
            message: e.into_inner().to_string(),
        }
    })?;
    let mut problems = Problems::default();
    value.validate(&mut problems);
    problems.into_result()?;
    Ok(value)
}

fn to_payload<T: Kind>(value: &T) -> Vec<u8> {
    // The evidence structs hold only text, integers, booleans, lists and nested structs, so the
    // JSON value has no floats and the conversion cannot fail; an empty payload would be rejected.
    let json = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    cbor::encode(&json_to_cbor(json).unwrap_or(Value::Null))
}

/// Converts TOML to the JSON data model; date-times become their RFC 3339 text.
fn toml_to_json(v: toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            J::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// Converts the JSON data model to CBOR, moving the strings rather than copying them; floats are refused.
fn json_to_cbor(v: serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::Unsigned(u)
            } else if let Some(i) = n.as_i64() {
                Value::int(i)
            } else {
                return Err(format!("floating-point number {n}"));
            }
        }
        J::String(s) => Value::Text(s),
        J::Array(a) => Value::Array(a.into_iter().map(json_to_cbor).collect::<Result<_, _>>()?),
        J::Object(o) => Value::Map(
            o.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| Ok((Value::Text(k), json_to_cbor(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// Converts a CBOR payload to the JSON data model; only text map keys, no bytes, tags or null.
fn cbor_to_json(v: &Value) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    Ok(match v {
        Value::Unsigned(u) => J::from(*u),
        Value::Negative(_) => J::from(v.as_i64().ok_or("integer below i64 range")?),
        Value::Text(s) => J::String(s.clone()),
        Value::Bool(b) => J::Bool(*b),
        Value::Array(a) => J::Array(a.iter().map(cbor_to_json).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            let mut o = serde_json::Map::new();
            for (k, v) in m {
                let k = k.as_text().ok_or("map key is not text")?;
                o.insert(k.to_owned(), cbor_to_json(v)?);
            }
            J::Object(o)
        }
        other => return Err(format!("unexpected {} in evidence", other.type_name())),
    })
}
