//! `lab-result`: a presentation attack detection (PAD) evaluation of one firmware build, as
//! reported by an accredited lab (ISO/IEC 30107-3 metrics: APCER per attack species, BPCER).

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::types::{percent, ppm, text_enum};
use super::{EntryRef, FileField, FirmwareBuild, Kind, Problems, Reference, Sha256Hex, Timestamp};

/// The outcome of a lab's evaluation of one firmware build on one device model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabResult {
    /// The lab that ran the tests.
    pub lab: Lab,
    /// The test standard, e.g. `ISO/IEC 30107-3:2023`.
    pub standard: String,
    /// The evaluation scheme and the level tested; levels belong to a scheme, not to the standard.
    pub scheme: Scheme,
    /// The lab's report, by id and digest.
    pub report: Report,
    /// What was tested.
    pub target: Target,
    /// When the tests ran.
    pub test_window: TestWindow,
    /// Bona fide (genuine) presentations and the BPCER.
    pub bona_fide: BonaFide,
    /// Attack species tried and the APCER of each.
    pub species: Vec<Species>,
    /// The lab's verdict.
    pub verdict: Verdict,
    /// Limitations the report states (conditions not tested, caveats).
    #[serde(default)]
    pub limitations: Vec<String>,
}

/// An accredited test lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lab {
    /// The lab's name.
    pub name: String,
    /// The accreditation body, e.g. `NVLAP` or `DAkkS`.
    pub accreditation_body: String,
    /// The lab's accreditation id with that body.
    pub accreditation_id: String,
    /// Standards and test methods the accreditation covers, e.g. `ISO/IEC 30107-3`.
    pub scope: Vec<String>,
}

/// An evaluation scheme (e.g. iBeta PAD, FIDO Biometric Component, a buyer's profile) and level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    /// The scheme's name, e.g. `iBeta PAD`.
    pub name: String,
    /// The scheme's version, e.g. `2024`.
    pub version: String,
    /// The level tested, as the scheme numbers them (1 or more).
    pub level: u8,
}

/// The lab's report document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The report's id, e.g. `IBQA-PAD-2026-0142`.
    pub id: String,
    /// When the report was issued.
    pub issued: Timestamp,
    /// SHA-256 of the report document.
    pub sha256: Sha256Hex,
}

/// The build and device model tested.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The `firmware-build` entry tested.
    pub build: EntryRef,
    /// The device model the build ran on.
    pub model: String,
}

/// When the tests ran (inclusive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestWindow {
    /// First test.
    pub start: Timestamp,
    /// Last test.
    pub end: Timestamp,
}

/// Bona fide presentations: genuine users, some of them wrongly rejected as attacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BonaFide {
    /// Bona fide presentations made.
    pub presentations: u64,
    /// Of those, how many were classified as attacks.
    pub false_rejections: u64,
    /// Bona fide presentation classification error rate, ppm: `ppm(false_rejections, presentations)`.
    pub bpcer_ppm: u32,
}

text_enum! {
    /// The category of a presentation attack instrument species.
    pub enum SpeciesCategory {
        /// Printed photograph.
        Print = "print",
        /// Photo or video shown on a screen.
        Replay = "replay",
        /// Flat or curved paper or screen mask, cut-outs.
        Mask2d = "mask-2d",
        /// Rigid or flexible three-dimensional mask.
        Mask3d = "mask-3d",
        /// Make-up that alters or imitates a face.
        Makeup = "makeup",
        /// Prosthetic facial parts.
        Prosthetic = "prosthetic",
        /// Digital injection of frames into the capture pipeline.
        Injection = "injection",
        /// Anything else; the description says what.
        Other = "other",
    }
}

/// One attack species tried against the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Species {
    /// The species' id in the report, unique within this result.
    pub id: String,
    /// Its category.
    pub category: SpeciesCategory,
    /// What the attack instrument was.
    #[serde(default)]
    pub description: Option<String>,
    /// Attack presentations made.
    pub attempts: u64,
    /// Of those, how many were accepted as bona fide.
    pub accepted: u64,
    /// Attack presentation classification error rate, ppm: `ppm(accepted, attempts)`.
    pub apcer_ppm: u32,
}

text_enum! {
    /// Whether the target met the scheme's criteria.
    pub enum VerdictResult {
        /// It met them.
        Pass = "pass",
        /// It did not.
        Fail = "fail",
    }
}

/// The lab's verdict and the criteria it was judged by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// Pass or fail.
    pub result: VerdictResult,
    /// The pass criteria as the report states them.
    pub criteria: String,
}

impl Kind for LabResult {
    const KIND: &'static str = "lab-result";
    const FILE_FIELDS: &'static [FileField] = &[FileField {
        at: "report",
        file: "file",
        sha256: "sha256",
        size: None,
    }];

    fn validate(&self, p: &mut Problems) {
        let lab = &self.lab;
        p.text("lab.name", &lab.name, 200);
        p.text("lab.accreditation_body", &lab.accreditation_body, 200);
        p.text("lab.accreditation_id", &lab.accreditation_id, 200);
        p.check(
            !lab.scope.is_empty(),
            "lab.scope",
            "must list at least one standard or method",
        );
        p.texts("lab.scope", &lab.scope, 200);
        p.text("standard", &self.standard, 200);
        p.text("scheme.name", &self.scheme.name, 200);
        p.text("scheme.version", &self.scheme.version, 100);
        p.check(self.scheme.level >= 1, "scheme.level", "must be >= 1");
        p.text("report.id", &self.report.id, 200);
        p.text("target.model", &self.target.model, 200);

        let w = &self.test_window;
        p.check(
            w.start <= w.end,
            "test_window.end",
            "must not be before test_window.start",
        );
        p.check(
            w.end <= self.report.issued,
            "test_window.end",
            "must not be after report.issued",
        );

        let b = &self.bona_fide;
        if b.presentations == 0 {
            p.add("bona_fide.presentations", "must be > 0");
        } else if b.false_rejections > b.presentations {
            p.add(
                "bona_fide.false_rejections",
                format!("must be <= presentations ({})", b.presentations),
            );
        } else {
            check_rate(
                p,
                "bona_fide.bpcer_ppm",
                b.bpcer_ppm,
                b.false_rejections,
                b.presentations,
                "false_rejections",
                "presentations",
            );
        }

        p.check(
            !self.species.is_empty(),
            "species",
            "must list at least one attack species",
        );
        for (i, s) in self.species.iter().enumerate() {
            p.text(&format!("species[{i}].id"), &s.id, 100);
            p.opt_text(
                &format!("species[{i}].description"),
                s.description.as_deref(),
                1000,
            );
            if s.attempts == 0 {
                p.add(format!("species[{i}].attempts"), "must be > 0");
            } else if s.accepted > s.attempts {
                p.add(
                    format!("species[{i}].accepted"),
                    format!("must be <= attempts ({})", s.attempts),
                );
            } else {
                check_rate(
                    p,
                    &format!("species[{i}].apcer_ppm"),
                    s.apcer_ppm,
                    s.accepted,
                    s.attempts,
                    "accepted",
                    "attempts",
                );
            }
        }
        p.unique("species", &self.species, |s| s.id.as_str());

        p.text("verdict.criteria", &self.verdict.criteria, 2000);
        p.texts("limitations", &self.limitations, 2000);
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference {
            path: "target.build".into(),
            entry: self.target.build.0,
            kinds: &[FirmwareBuild::KIND],
        }]
    }

    fn summary(&self) -> String {
        format!(
            "{} {} level {} on {}: {} ({}, report {})",
            self.scheme.name,
            self.scheme.version,
            self.scheme.level,
            self.target.model,
            self.verdict.result,
            self.lab.name,
            self.report.id
        )
    }

    fn render(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(s, "lab result  {} ({})", self.report.id, self.lab.name);
        let _ = writeln!(
            s,
            "  lab             {}, accredited by {} ({}) for {}",
            self.lab.name,
            self.lab.accreditation_body,
            self.lab.accreditation_id,
            self.lab.scope.join(", ")
        );
        let _ = writeln!(s, "  standard        {}", self.standard);
        let _ = writeln!(
            s,
            "  scheme          {} {}",
            self.scheme.name, self.scheme.version
        );
        let _ = writeln!(s, "  level           {}", self.scheme.level);
        let _ = writeln!(
            s,
            "  target          build {} on {}",
            self.target.build, self.target.model
        );
        let _ = writeln!(
            s,
            "  tested          {} to {}",
            self.test_window.start, self.test_window.end
        );
        let _ = writeln!(
            s,
            "  report          {} issued {} sha256 {}",
            self.report.id, self.report.issued, self.report.sha256
        );
        let id_w = self
            .species
            .iter()
            .map(|x| x.id.len())
            .max()
            .unwrap_or(0)
            .max(7);
        let _ = writeln!(
            s,
            "  {:<id_w$}  {:<10}  {:>8}  {:>8}  {:>8}",
            "species", "category", "attempts", "accepted", "APCER"
        );
        for sp in &self.species {
            let _ = writeln!(
                s,
                "  {:<id_w$}  {:<10}  {:>8}  {:>8}  {:>8}",
                sp.id,
                sp.category.as_str(),
                sp.attempts,
                sp.accepted,
                percent(sp.accepted, sp.attempts).unwrap_or_else(|| "-".into())
            );
        }
        let b = &self.bona_fide;
        let _ = writeln!(
            s,
            "  BPCER           {} ({} of {} bona fide presentations rejected)",
            percent(b.false_rejections, b.presentations).unwrap_or_else(|| "-".into()),
            b.false_rejections,
            b.presentations
        );
        let _ = writeln!(
            s,
            "  verdict         {} ({})",
            self.verdict.result, self.verdict.criteria
        );
        for l in &self.limitations {
            let _ = writeln!(s, "  limitation      {l}");
        }
        s
    }
}

/// Requires `stated` to be `ppm(numerator, denominator)`, naming the computed value if not.
fn check_rate(
    p: &mut Problems,
    path: &str,
    stated: u32,
    numerator: u64,
    denominator: u64,
    num_name: &str,
    den_name: &str,
) {
    match ppm(numerator, denominator) {
        Some(expected) if expected == stated => {}
        Some(expected) => p.add(
            path,
            format!(
                "must be {expected} ({num_name} * 1000000 / {den_name}, rounded half up), not {stated}"
            ),
        ),
        // Unreachable for numerator <= denominator != 0, which the callers have checked.
        None => p.add(path, format!("cannot be computed from {num_name} and {den_name}")),
    }
}
