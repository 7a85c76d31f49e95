//! `countersignature`: another party's signed endorsement of an entry already in the ledger,
//! e.g. a lab confirming that a `lab-result` the exporter recorded matches its report.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::{
    AccuracyResult, Certification, Claim, EntryRef, FileField, FirmwareBuild, Incident, Kind,
    LabResult, Problems, Reference, Sha256Hex,
};

/// An endorsement of one ledger entry by the key that signs this statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Countersignature {
    /// The endorsed entry: a `lab-result`, `accuracy-result`, `certification`, `firmware-build`,
    /// `claim` or `incident`.
    pub target: EntryRef,
    /// What the countersigner attests, e.g. `Results as issued in report R-2026-0142`.
    pub statement: String,
    /// SHA-256 of the report or document the countersigner vouches the entry matches.
    #[serde(default)]
    pub report_sha256: Option<Sha256Hex>,
}

/// The kinds a countersignature may endorse.
pub const COUNTERSIGNABLE: &[&str] = &[
    LabResult::KIND,
    AccuracyResult::KIND,
    Certification::KIND,
    FirmwareBuild::KIND,
    Claim::KIND,
    Incident::KIND,
    "hr-due-diligence",
    "end-use-check",
];

impl Kind for Countersignature {
    const KIND: &'static str = "countersignature";
    const FILE_FIELDS: &'static [FileField] = &[FileField {
        at: "",
        file: "report_file",
        sha256: "report_sha256",
        size: None,
    }];

    fn validate(&self, p: &mut Problems) {
        p.text("statement", &self.statement, 2000);
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference {
            path: "target".into(),
            entry: self.target.0,
            kinds: COUNTERSIGNABLE,
        }]
    }

    fn summary(&self) -> String {
        format!("countersigns {}: {}", self.target, self.statement)
    }

    fn render(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(s, "countersignature");
        let _ = writeln!(s, "  target     {}", self.target);
        let _ = writeln!(s, "  statement  {}", self.statement);
        if let Some(h) = &self.report_sha256 {
            let _ = writeln!(s, "  report     sha256 {h}");
        }
        s
    }
}
