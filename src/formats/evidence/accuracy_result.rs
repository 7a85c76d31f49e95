//! `accuracy-result`: a biometric recognition performance evaluation of one matcher model
//! (ISO/IEC 19795-1:2021 metrics FMR, FNMR, FTE; ISO/IEC 19795-10:2024 for the same rates per
//! demographic group), by an accredited lab that countersigns it, or by a public evaluation such
//! as NIST FRTE, which signs nothing: the vendor then records the public report's digest and its
//! submission identifier.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::types::text_enum;
use super::{FileField, Kind, Problems, Sha256Hex, Timestamp};

/// One billion: rates are integers in parts per billion, so 1e-8 is 10 and 1e-9 is 1.
pub const PPB: u64 = 1_000_000_000;

/// The outcome of one evaluation of one matcher model at one decision threshold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccuracyResult {
    /// Who evaluated the matcher.
    pub evaluator: Evaluator,
    /// The test standard, one of [`ACCURACY_STANDARDS`].
    pub standard: String,
    /// Verification (1:1) or identification (1:N).
    pub mode: AccuracyMode,
    /// The evaluator's report, by id and digest.
    pub report: AccuracyReport,
    /// The matcher model evaluated.
    pub matcher: Matcher,
    /// The data set it was evaluated on.
    pub dataset: Dataset,
    /// The decision threshold the rates are measured at, as the report states it.
    pub threshold: Threshold,
    /// Rates over the whole data set.
    pub overall: Rates,
    /// Rates per demographic group (ISO/IEC 19795-10); at least two for that standard.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Limitations the report states.
    #[serde(default)]
    pub limitations: Vec<String>,
}

/// The standards an accuracy result may be reported to.
pub const ACCURACY_STANDARDS: &[&str] = &["ISO/IEC 19795-1:2021", "ISO/IEC 19795-10:2024"];

/// The demographic differentials standard: results to it must report groups.
pub const DEMOGRAPHIC_STANDARD: &str = "ISO/IEC 19795-10:2024";

text_enum! {
    /// How the matcher was used (ISO/IEC 19795-1:2021 terms).
    pub enum AccuracyMode {
        /// One probe against one claimed reference (1:1): FMR and FNMR.
        Verification = "verification",
        /// One probe against an enrolment database (1:N): FPIR and FNIR, recorded in the
        /// `fmr_ppb` and `fnmr_ppb` fields.
        Identification = "identification",
    }
}

text_enum! {
    /// What kind of evaluator ran the test.
    pub enum EvaluatorKind {
        /// An accredited test lab, which countersigns the entry with its X.509 chain.
        AccreditedLab = "accredited-lab",
        /// A public evaluation (e.g. NIST FRTE): it signs nothing; the report is public.
        PublicEvaluation = "public-evaluation",
    }
}

/// The evaluator: an accredited lab, or a public evaluation programme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluator {
    /// Lab or public evaluation.
    pub kind: EvaluatorKind,
    /// The lab's or the programme's name, e.g. `NIST FRTE 1:1`.
    pub name: String,
    /// The accreditation body (`accredited-lab` only, required there).
    #[serde(default)]
    pub accreditation_body: Option<String>,
    /// The lab's accreditation id with that body (`accredited-lab` only, required there).
    #[serde(default)]
    pub accreditation_id: Option<String>,
    /// The vendor's submission identifier in the programme (`public-evaluation` only, required there).
    #[serde(default)]
    pub submission_id: Option<String>,
}

/// The evaluator's report document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccuracyReport {
    /// The report's id, e.g. `KBL-ACC-2026-0031`.
    pub id: String,
    /// When the report was issued.
    pub issued: Timestamp,
    /// SHA-256 of the report document (for a public evaluation: of the public report as published).
    pub sha256: Sha256Hex,
    /// Where the report is published, e.g. a URL (public evaluations).
    #[serde(default)]
    pub locator: Option<String>,
}

/// The matcher model evaluated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// Component name, as firmware builds name it.
    pub name: String,
    /// Component version.
    pub version: String,
    /// SHA-256 of the model file: what firmware builds list as the matcher's `model_sha256`.
    pub model_sha256: Sha256Hex,
}

/// The evaluation data set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// The data set's name.
    pub name: String,
    /// SHA-256 of its manifest (the list of samples and their labels).
    pub manifest_sha256: Sha256Hex,
}

/// A decision threshold as the report states it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// The score, as decimal text (`0.6821`, `-12.5`): scores are matcher-specific and never
    /// computed with here, so they are kept exactly as written.
    pub score: String,
    /// What the score is, e.g. `cosine similarity`.
    pub scale: String,
}

/// Error rates in parts per billion, with the counts behind them where the report gives them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rates {
    /// False match rate (FPIR in identification), ppb.
    pub fmr_ppb: u64,
    /// False non-match rate (FNIR in identification), ppb.
    pub fnmr_ppb: u64,
    /// Failure-to-enrol rate, ppb.
    pub fte_ppb: u64,
    /// Impostor comparisons (or non-mated searches) made.
    #[serde(default)]
    pub impostor_comparisons: Option<u64>,
    /// Of those, how many were false matches.
    #[serde(default)]
    pub false_matches: Option<u64>,
    /// Genuine comparisons (or mated searches) made.
    #[serde(default)]
    pub genuine_comparisons: Option<u64>,
    /// Of those, how many were false non-matches.
    #[serde(default)]
    pub false_non_matches: Option<u64>,
    /// Enrolment attempts.
    #[serde(default)]
    pub enrolment_attempts: Option<u64>,
    /// Of those, how many failed.
    #[serde(default)]
    pub failures_to_enrol: Option<u64>,
}

/// The rates for one demographic group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The group's id, unique within the result, e.g. `female-18-30`.
    pub id: String,
    /// How the report defines it, e.g. `sex female, age 18 to 30`.
    pub description: String,
    /// Its rates.
    pub rates: Rates,
}

/// Which rate an accuracy metric names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rate {
    /// False match rate.
    Fmr,
    /// False non-match rate.
    Fnmr,
    /// Failure-to-enrol rate.
    Fte,
}

impl Rate {
    /// The rate a claim's `metric` names (`fmr_ppb`, `fnmr_ppb`, `fte_ppb`), if any.
    pub fn from_metric(metric: &str) -> Option<Rate> {
        match metric {
            "fmr_ppb" => Some(Rate::Fmr),
            "fnmr_ppb" => Some(Rate::Fnmr),
            "fte_ppb" => Some(Rate::Fte),
            _ => None,
        }
    }

    /// The rate's name as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            Rate::Fmr => "FMR",
            Rate::Fnmr => "FNMR",
            Rate::Fte => "FTE",
        }
    }
}

impl Rates {
    /// The named rate, ppb.
    pub fn get(&self, rate: Rate) -> u64 {
        match rate {
            Rate::Fmr => self.fmr_ppb,
            Rate::Fnmr => self.fnmr_ppb,
            Rate::Fte => self.fte_ppb,
        }
    }

    fn validate(&self, p: &mut Problems, at: &str) {
        for (name, v, errors, total, e_name, t_name) in [
            (
                "fmr_ppb",
                self.fmr_ppb,
                self.false_matches,
                self.impostor_comparisons,
                "false_matches",
                "impostor_comparisons",
            ),
            (
                "fnmr_ppb",
                self.fnmr_ppb,
                self.false_non_matches,
                self.genuine_comparisons,
                "false_non_matches",
                "genuine_comparisons",
            ),
            (
                "fte_ppb",
                self.fte_ppb,
                self.failures_to_enrol,
                self.enrolment_attempts,
                "failures_to_enrol",
                "enrolment_attempts",
            ),
        ] {
            if v > PPB {
                p.add(
                    format!("{at}.{name}"),
                    format!("must be at most {PPB} (a rate of 1)"),
                );
            }
            match (errors, total) {
                (None, None) => {}
                (Some(_), None) => p.add(
                    format!("{at}.{t_name}"),
                    format!("required when {e_name} is given"),
                ),
                (None, Some(_)) => p.add(
                    format!("{at}.{e_name}"),
                    format!("required when {t_name} is given"),
                ),
                (Some(_), Some(0)) => p.add(format!("{at}.{t_name}"), "must be > 0"),
                (Some(e), Some(t)) if e > t => {
                    p.add(format!("{at}.{e_name}"), format!("must be <= {t_name} ({t})"))
                }
                (Some(e), Some(t)) => match ppb(e, t) {
                    Some(expected) if expected == v => {}
                    Some(expected) => p.add(
                        format!("{at}.{name}"),
                        format!(
                            "must be {expected} ({e_name} * 1000000000 / {t_name}, rounded half up), not {v}"
                        ),
                    ),
                    // Unreachable for e <= t != 0.
                    None => p.add(format!("{at}.{name}"), "cannot be computed from its counts"),
                },
            }
        }
    }

    fn render(&self) -> String {
        format!(
            "FMR {}  FNMR {}  FTE {}",
            format_ppb(self.fmr_ppb),
            format_ppb(self.fnmr_ppb),
            format_ppb(self.fte_ppb)
        )
    }
}

/// A rate in parts per billion, rounded half up: `round(numerator * 1e9 / denominator)`; `None`
/// if `denominator` is 0. Integer arithmetic in u128, so no product can overflow.
pub fn ppb(numerator: u64, denominator: u64) -> Option<u64> {
    if denominator == 0 {
        return None;
    }
    let (n, d) = (
        u128::from(numerator) * u128::from(PPB),
        u128::from(denominator),
    );
    // n < 2^94 and d < 2^64, so 2n + d cannot overflow u128.
    u64::try_from((2 * n + d) / (2 * d)).ok()
}

/// A ppb rate in scientific notation with up to three significant digits, exact where it can
/// be: `1e-6` for 1000, `2.5e-3` for 2500000, `0` for 0. Display only; rules compare integers.
pub fn format_ppb(v: u64) -> String {
    if v == 0 {
        return "0".into();
    }
    let digits = v.to_string();
    // v = d.ddd × 10^(len-1) ppb = d.ddd × 10^(len-1-9).
    let exp = digits.len() as i64 - 1 - 9;
    let sig = digits.trim_end_matches('0');
    let mantissa = if sig.len() <= 1 {
        sig.to_owned()
    } else {
        format!("{}.{}", &sig[..1], &sig[1..sig.len().min(4)])
    };
    let approx = if sig.len() > 4 { "~" } else { "" };
    if exp == 0 {
        format!("{approx}{mantissa}")
    } else {
        format!("{approx}{mantissa}e{exp}")
    }
}

/// Whether `s` is decimal text: an optional `-`, digits, and optionally `.` and more digits.
fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && s.len() <= 40
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

impl Kind for AccuracyResult {
    const KIND: &'static str = "accuracy-result";
    const FILE_FIELDS: &'static [FileField] = &[
        FileField {
            at: "report",
            file: "file",
            sha256: "sha256",
            size: None,
        },
        FileField {
            at: "dataset",
            file: "manifest_file",
            sha256: "manifest_sha256",
            size: None,
        },
    ];

    fn validate(&self, p: &mut Problems) {
        let e = &self.evaluator;
        p.text("evaluator.name", &e.name, 200);
        p.opt_text(
            "evaluator.accreditation_body",
            e.accreditation_body.as_deref(),
            200,
        );
        p.opt_text(
            "evaluator.accreditation_id",
            e.accreditation_id.as_deref(),
            200,
        );
        p.opt_text("evaluator.submission_id", e.submission_id.as_deref(), 200);
        let lab = e.kind == EvaluatorKind::AccreditedLab;
        for (field, given, needed) in [
            ("accreditation_body", e.accreditation_body.is_some(), lab),
            ("accreditation_id", e.accreditation_id.is_some(), lab),
            ("submission_id", e.submission_id.is_some(), !lab),
        ] {
            if needed && !given {
                p.add(
                    format!("evaluator.{field}"),
                    format!("required for an evaluator of kind {}", e.kind),
                );
            } else if !needed && given {
                p.add(
                    format!("evaluator.{field}"),
                    format!("does not apply to an evaluator of kind {}", e.kind),
                );
            }
        }
        if !ACCURACY_STANDARDS.contains(&self.standard.as_str()) {
            p.add(
                "standard",
                format!("must be one of {}", ACCURACY_STANDARDS.join(", ")),
            );
        }
        p.text("report.id", &self.report.id, 200);
        p.opt_text("report.locator", self.report.locator.as_deref(), 2000);
        p.text("matcher.name", &self.matcher.name, 200);
        p.text("matcher.version", &self.matcher.version, 100);
        p.text("dataset.name", &self.dataset.name, 200);
        p.check(
            is_decimal(&self.threshold.score),
            "threshold.score",
            "must be decimal text such as 0.6821 or -12.5 (at most 40 bytes)",
        );
        p.text("threshold.scale", &self.threshold.scale, 200);
        self.overall.validate(p, "overall");
        for (i, g) in self.groups.iter().enumerate() {
            p.text(&format!("groups[{i}].id"), &g.id, 100);
            p.text(&format!("groups[{i}].description"), &g.description, 1000);
            g.rates.validate(p, &format!("groups[{i}].rates"));
        }
        p.unique("groups", &self.groups, |g| g.id.clone());
        if self.standard == DEMOGRAPHIC_STANDARD {
            p.check(
                self.groups.len() >= 2,
                "groups",
                format!("must list at least two demographic groups for {DEMOGRAPHIC_STANDARD}"),
            );
        }
        p.texts("limitations", &self.limitations, 2000);
    }

    fn summary(&self) -> String {
        format!(
            "{} {} of matcher {} {}: {} ({}, report {})",
            self.standard,
            self.mode,
            self.matcher.name,
            self.matcher.version,
            self.overall.render(),
            self.evaluator.name,
            self.report.id
        )
    }

    fn render(&self) -> String {
        let mut s = String::new();
        let e = &self.evaluator;
        // Writing to a String cannot fail.
        let _ = writeln!(s, "accuracy result  {} ({})", self.report.id, e.name);
        match (&e.accreditation_body, &e.accreditation_id, &e.submission_id) {
            (Some(b), Some(id), _) => {
                let _ = writeln!(s, "  evaluator       {}, accredited by {b} ({id})", e.name);
            }
            (_, _, Some(sub)) => {
                let _ = writeln!(
                    s,
                    "  evaluator       {} (public evaluation, submission {sub})",
                    e.name
                );
            }
            _ => {
                let _ = writeln!(s, "  evaluator       {}", e.name);
            }
        }
        let _ = writeln!(s, "  standard        {}", self.standard);
        let _ = writeln!(s, "  mode            {}", self.mode);
        let _ = writeln!(
            s,
            "  matcher         {} {} model {}",
            self.matcher.name, self.matcher.version, self.matcher.model_sha256
        );
        let _ = writeln!(
            s,
            "  dataset         {} manifest {}",
            self.dataset.name, self.dataset.manifest_sha256
        );
        let _ = writeln!(
            s,
            "  threshold       {} ({})",
            self.threshold.score, self.threshold.scale
        );
        let locator = self
            .report
            .locator
            .as_ref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  report          {} issued {} sha256 {}{locator}",
            self.report.id, self.report.issued, self.report.sha256
        );
        let _ = writeln!(s, "  overall         {}", self.overall.render());
        for g in &self.groups {
            let _ = writeln!(
                s,
                "  group           {} ({}): {}",
                g.id,
                g.description,
                g.rates.render()
            );
        }
        for l in &self.limitations {
            let _ = writeln!(s, "  limitation      {l}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::{format_ppb, is_decimal, ppb};

    #[test]
    fn ppb_rounds_half_up_and_reaches_1e_minus_9() {
        assert_eq!(ppb(1, 100_000_000), Some(10)); // 1e-8
        assert_eq!(ppb(1, 1_000_000_000), Some(1));
        assert_eq!(ppb(1, 2_000_000_000), Some(1)); // 0.5 rounds up
        assert_eq!(ppb(1, 2_000_000_001), Some(0));
        assert_eq!(ppb(u64::MAX, u64::MAX), Some(1_000_000_000));
        assert_eq!(ppb(3, 0), None);
    }

    #[test]
    fn ppb_renders_in_scientific_notation() {
        assert_eq!(format_ppb(0), "0");
        assert_eq!(format_ppb(10), "1e-8");
        assert_eq!(format_ppb(1_000), "1e-6");
        assert_eq!(format_ppb(2_500_000), "2.5e-3");
        assert_eq!(format_ppb(1_000_000_000), "1");
        assert_eq!(format_ppb(123_456), "~1.234e-4");
    }

    #[test]
    fn thresholds_are_decimal_text() {
        for ok in ["0.6821", "-12.5", "42", "0"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", ".5", "5.", "1e-3", "+1", "0,5", "- 1", "NaN"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }
}
