//! How a claim's wording is matched (`specs/policy.md`, "How wording is matched"): text is
//! folded (invisible characters dropped, look-alikes and compatibility forms mapped to ASCII,
//! case and whitespace folded) before it is compared, so that a near-miss cannot hide a claim or
//! make published wording look different from the signed one. The `claim-wording-matches` rule
//! uses it twice: the wording must name no scheme, level, metric, standard or regulation that the
//! claim's structured assertions do not carry, and each attached channel document must contain
//! the wording.

mod fold;

use std::collections::HashMap;

use super::{PolicyView, check};
use crate::evidence::{Assertion, Claim};
use crate::verify::Check;
use crate::verify::policy::profile::Rule;
use fold::{contains_words, fold, tokens, word_starts};

/// A level number written as digits, a Roman numeral (I to X) or an English word (one to ten).
fn level_number(word: &str) -> Option<u32> {
    const ROMAN: [&str; 10] = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"];
    const WORDS: [&str; 10] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    if !word.is_empty() && word.len() <= 3 && word.bytes().all(|b| b.is_ascii_digit()) {
        return word.parse().ok();
    }
    let pos = |list: &[&str]| list.iter().position(|w| *w == word);
    pos(&ROMAN)
        .or_else(|| pos(&WORDS))
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// A reference to a numbered standard: `ISO/IEC 30107-3:2023` is number 30107, parts `["3"]`,
/// year 2023.
#[derive(Clone, Debug, PartialEq, Eq)]
struct StandardRef {
    /// The body as written, upper case (`ISO/IEC`), for display only; empty when none is.
    body: String,
    number: String,
    parts: Vec<String>,
    year: Option<String>,
}

impl StandardRef {
    fn show(&self) -> String {
        let mut s = self.body.clone();
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&self.number);
        for p in &self.parts {
            s.push('-');
            s.push_str(p);
        }
        if let Some(y) = &self.year {
            s.push(':');
            s.push_str(y);
        }
        s
    }

    /// Whether `structured` is the standard this wording names: the same number, the parts
    /// the wording gives (a structured part list may go deeper), and the year if it gives one.
    fn carried_by(&self, structured: &StandardRef) -> bool {
        self.number == structured.number
            && structured.parts.starts_with(&self.parts)
            && self
                .year
                .as_ref()
                .is_none_or(|y| structured.year.as_ref() == Some(y))
    }
}

/// Words that begin a standard's designation.
const BODIES: &[&str] = &[
    "iso", "iec", "en", "ieee", "etsi", "nist", "ansi", "bs", "din",
];
/// Words that may stand between the body and the number (`ISO/IEC TR`, `ETSI TS`, `NIST SP`).
const SERIES: &[&str] = &["tr", "ts", "sp", "es", "pas", "eg"];

/// A body's words as a designation writes them: `ISO/IEC`, `ETSI EN`.
fn body_text(words: &[&str]) -> String {
    let mut s = String::new();
    for (k, w) in words.iter().enumerate() {
        if k > 0 && *w != "/" && words[k - 1] != "/" {
            s.push(' ');
        }
        s.push_str(&w.to_uppercase());
    }
    s
}

/// The standards `toks` name. With `need_body`, a number counts only after a body word (the
/// wording); without, any number of three or more digits counts (a structured `standard`).
fn standards(toks: &[&str], need_body: bool) -> Vec<StandardRef> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let mut j = i;
        if BODIES.contains(&toks[i]) {
            while j < toks.len()
                && (BODIES.contains(&toks[j]) || SERIES.contains(&toks[j]) || toks[j] == "/")
            {
                j += 1;
            }
        } else if need_body {
            i += 1;
            continue;
        }
        let Some(num) = toks.get(j).filter(|t| digits(t) && t.len() >= 3) else {
            i += 1;
            continue;
        };
        let mut r = StandardRef {
            body: body_text(&toks[i..j]),
            number: (*num).to_owned(),
            parts: Vec::new(),
            year: None,
        };
        j += 1;
        // ETSI numbers are two groups of three digits: `ETSI EN 303 645`.
        if r.body.starts_with("ETSI")
            && let Some(g) = toks.get(j).filter(|g| digits(g) && g.len() == 3)
        {
            r.number = format!("{} {g}", r.number);
            j += 1;
        }
        while toks.get(j) == Some(&"-")
            && let Some(p) = toks
                .get(j + 1)
                .filter(|p| p.starts_with(|c: char| c.is_ascii_digit()))
        {
            r.parts.push((*p).to_owned());
            j += 2;
        }
        if toks.get(j) == Some(&":")
            && let Some(y) = toks.get(j + 1).filter(|y| digits(y) && y.len() == 4)
        {
            r.year = Some((*y).to_owned());
            j += 2;
        }
        out.push(r);
        i = j;
    }
    out
}

/// Regulations by name: what the report calls each, and the folded names that mean it.
const REGULATIONS: &[(&str, &[&str])] = &[
    (
        "the EU AI Act",
        &["ai act", "artificial intelligence act", "2024/1689"],
    ),
    (
        "the GDPR",
        &["gdpr", "general data protection regulation", "2016/679"],
    ),
    (
        "the Cyber Resilience Act",
        &["cyber resilience act", "cra", "2024/2847"],
    ),
    ("NIS 2", &["nis2", "nis 2", "2022/2555"]),
    ("eIDAS", &["eidas", "910/2014"]),
];

/// Evaluation and certification schemes by name, with the folded names that mean each.
const SCHEMES: &[(&str, &[&str])] = &[
    ("iBeta", &["ibeta"]),
    ("FIDO", &["fido"]),
    ("Common Criteria", &["common criteria"]),
    ("NIST FRTE", &["frte", "frvt"]),
];

/// Biometric metrics: the token a structured `metric` carries (one of its `_`-separated
/// parts), and the folded names that mean it. `FAR` is matched only spelled out: as a word,
/// "far" is English.
const METRICS: &[(&str, &[&str])] = &[
    (
        "apcer",
        &["apcer", "attack presentation classification error rate"],
    ),
    (
        "bpcer",
        &["bpcer", "bona fide presentation classification error rate"],
    ),
    ("fmr", &["fmr", "false match rate"]),
    (
        "fnmr",
        &["fnmr", "false non-match rate", "false non match rate"],
    ),
    ("far", &["false accept rate", "false acceptance rate"]),
    ("frr", &["frr", "false reject rate", "false rejection rate"]),
    (
        "fte",
        &["fte", "failure to enrol rate", "failure to enroll rate"],
    ),
    ("fta", &["fta", "failure to acquire rate"]),
    ("eer", &["eer", "equal error rate"]),
];

/// Each way the wording and the assertions disagree: a name in the wording that no assertion
/// carries. Empty when they agree. `named` receives what the wording names.
pub(crate) fn disagreements(
    wording: &str,
    assertions: &[Assertion],
    named: &mut Vec<String>,
) -> Vec<String> {
    let folded = fold(wording);
    let toks = tokens(&folded);
    let mut problems = Vec::new();
    let fields = |a: &Assertion| {
        [a.standard.as_deref(), a.scheme.as_deref()]
            .into_iter()
            .flatten()
            .map(fold)
            .collect::<Vec<_>>()
    };

    // Levels: `level N`, `level-N`, `level: N` or `levelN`.
    let mut levels: Vec<u32> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let n = if *t == "level" {
            let k = if matches!(toks.get(i + 1), Some(&"-") | Some(&":")) {
                i + 2
            } else {
                i + 1
            };
            toks.get(k).and_then(|w| level_number(w))
        } else {
            t.strip_prefix("level").and_then(level_number)
        };
        if let Some(n) = n
            && !levels.contains(&n)
        {
            levels.push(n);
        }
    }
    for n in levels {
        named.push(format!("level {n}"));
        if !assertions.iter().any(|a| a.level.map(u32::from) == Some(n)) {
            let have: Vec<String> = assertions
                .iter()
                .enumerate()
                .filter_map(|(i, a)| a.level.map(|l| format!("assertions[{i}] has level {l}")))
                .collect();
            problems.push(format!(
                "the wording names level {n}, but no assertion carries level {n} ({})",
                if have.is_empty() {
                    "no assertion has a level".to_owned()
                } else {
                    have.join(", ")
                }
            ));
        }
    }

    // Standards.
    let structured: Vec<StandardRef> = assertions
        .iter()
        .filter_map(|a| a.standard.as_deref())
        .flat_map(|s| standards(&tokens(&fold(s)), false))
        .collect();
    let mut seen: Vec<String> = Vec::new();
    for w in standards(&toks, true) {
        if seen.contains(&w.show()) {
            continue;
        }
        seen.push(w.show());
        named.push(w.show());
        if !structured.iter().any(|s| w.carried_by(s)) {
            problems.push(format!(
                "the wording names the standard {}, but no assertion's standard is it{}",
                w.show(),
                if structured.is_empty() {
                    " (no assertion names a standard)".to_owned()
                } else {
                    format!(
                        " (the assertions name {})",
                        structured
                            .iter()
                            .map(StandardRef::show)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ));
        }
    }

    // Regulations and schemes: named in the wording, carried in a `standard` or `scheme`.
    for (table, what) in [(REGULATIONS, "regulation"), (SCHEMES, "scheme")] {
        for (name, aliases) in table {
            if !aliases.iter().any(|x| contains_words(&folded, x)) {
                continue;
            }
            named.push((*name).to_owned());
            let carried = assertions.iter().any(|a| {
                fields(a)
                    .iter()
                    .any(|f| aliases.iter().any(|x| contains_words(f, x)))
            });
            if !carried {
                problems.push(format!(
                    "the wording names the {what} {name}, but no assertion's standard or scheme does"
                ));
            }
        }
    }

    // Metrics: named in the wording, carried as a part of a structured `metric`; a rate the
    // wording states right after the name must equal a carrying assertion's value.
    for (token, aliases) in METRICS {
        let ends: Vec<usize> = aliases.iter().flat_map(|x| word_ends(&folded, x)).collect();
        if ends.is_empty() {
            continue;
        }
        let upper = token.to_uppercase();
        let carriers: Vec<(usize, &Assertion, &str)> = assertions
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let m = a.metric.as_deref()?;
                m.split('_').any(|p| p == *token).then_some((i, a, m))
            })
            .collect();
        let mut rates: Vec<(Rate, String)> = Vec::new();
        for end in ends {
            if let Some(r) = stated_rate(&folded[end..])
                && !rates.contains(&r)
            {
                rates.push(r);
            }
        }
        if rates.is_empty() {
            named.push(upper.clone());
        }
        if carriers.is_empty() {
            problems.push(format!(
                "the wording names the metric {upper}, but no assertion's metric is it"
            ));
            continue;
        }
        for (rate, shown) in rates {
            named.push(format!("{upper} {shown}"));
            let comparable: Vec<(usize, &str, u64, Rate)> = carriers
                .iter()
                .filter_map(|(i, a, m)| {
                    let v = a.value?;
                    let exp = unit_exponent(m)?;
                    Some((*i, *m, v, Rate::new(u128::from(v), exp)))
                })
                .collect();
            if comparable.iter().any(|(.., r)| r.equals(rate)) {
                continue;
            }
            if comparable.is_empty() {
                problems.push(format!(
                    "the wording gives {upper} {shown}, but no assertion carries {upper} with a value in a unit it can be compared with (a metric ending _percent, _ppm or _ppb)"
                ));
            } else {
                let have: Vec<String> = comparable
                    .iter()
                    .map(|(i, m, v, _)| format!("assertions[{i}] has {m} {v}"))
                    .collect();
                problems.push(format!(
                    "the wording gives {upper} {shown}, but no assertion's value is that rate ({})",
                    have.join(", ")
                ));
            }
        }
    }
    problems
}

/// A rate: `digits` × 10^−`exp` (0.0001 % is 1 × 10^−6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rate {
    digits: u128,
    exp: u32,
}

impl Rate {
    fn new(digits: u128, exp: u32) -> Rate {
        Rate { digits, exp }
    }

    /// Exact equality of the two rationals; a product too large for u128 compares unequal.
    fn equals(self, other: Rate) -> bool {
        let scale = |r: Rate, by: u32| 10u128.checked_pow(by).and_then(|p| r.digits.checked_mul(p));
        let top = self.exp.max(other.exp);
        match (scale(self, top - self.exp), scale(other, top - other.exp)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }
}

/// The power of ten a structured metric's unit divides by, from its last `_` part: `percent`
/// or `pct` 2, `ppm` 6, `ppb` 9; none for another unit.
fn unit_exponent(metric: &str) -> Option<u32> {
    match metric.rsplit('_').next()? {
        "percent" | "pct" => Some(2),
        "ppm" => Some(6),
        "ppb" => Some(9),
        _ => None,
    }
}

/// Byte offsets in `hay` right after each whole-word occurrence of `needle`.
fn word_ends(hay: &str, needle: &str) -> Vec<usize> {
    word_starts(hay, needle)
        .into_iter()
        .map(|at| at + needle.len())
        .collect()
}

/// The rate stated right after a metric's name: within its next six tokens, before any `,`,
/// `;`, `(` or `)`, a number (`digits[.digits]`) followed by `%`, `percent`, `ppm` or `ppb`;
/// a bare `0` is the rate 0 in any unit. Returns the rate and how the wording wrote it.
fn stated_rate(after: &str) -> Option<(Rate, String)> {
    let toks = tokens(after);
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    for (i, t) in toks.iter().enumerate().take(6) {
        if matches!(*t, "," | ";" | "(" | ")") {
            return None;
        }
        if !digits(t) {
            continue;
        }
        let (fraction, next) = match (toks.get(i + 1), toks.get(i + 2)) {
            (Some(&"."), Some(f)) if digits(f) => (*f, i + 3),
            _ => ("", i + 1),
        };
        let unit = match toks.get(next).copied() {
            Some("%" | "percent") => Some(2),
            Some("ppm") => Some(6),
            Some("ppb") => Some(9),
            _ => None,
        };
        let number = if fraction.is_empty() {
            (*t).to_owned()
        } else {
            format!("{t}.{fraction}")
        };
        let mantissa: u128 = format!("{t}{fraction}").parse().ok()?;
        let places = u32::try_from(fraction.len()).ok()?;
        return match unit {
            Some(e) => Some((
                Rate::new(mantissa, places + e),
                format!("{number} {}", toks[next]),
            )),
            None if mantissa == 0 => Some((Rate::new(0, 0), number)),
            None => None,
        };
    }
    None
}

/// The `claim-wording-matches` rule: for each claim, one check that its wording names nothing
/// its assertions do not carry; then, for each channel with a document digest, that the
/// attached document contains the wording (folded, as whole words).
pub(super) fn matches(
    rule: &Rule,
    require_attachments: bool,
    view: &PolicyView<'_>,
    out: &mut Vec<Check>,
) {
    // Each attached document is folded once, and searched once per distinct folded wording,
    // however many channels and claims name it: folding and searching cost the document's
    // length, so doing either per channel would let many channels naming one large document
    // cost their product (`specs/verification.md`, "Cost").
    let mut folded: HashMap<&str, Option<String>> = HashMap::new();
    let mut searched: HashMap<(&str, String), bool> = HashMap::new();
    for (ce, claim) in view.claims() {
        out.push(agreement(rule, ce.index, claim));
        let wording = fold(&claim.wording);
        for (i, ch) in claim.channels.iter().enumerate() {
            let Some(digest) = &ch.document_sha256 else {
                continue;
            };
            let field = Some(format!("channels[{i}]"));
            match view.attachments.get_key_value(&digest.to_string()) {
                Some((key, doc)) => {
                    let found = *searched
                        .entry((key.as_str(), wording.clone()))
                        .or_insert_with(|| {
                            folded
                                .entry(key.as_str())
                                .or_insert_with(|| std::str::from_utf8(doc).ok().map(fold))
                                .as_deref()
                                .is_some_and(|t| contains_words(t, &wording))
                        });
                    let msg = if found {
                        format!(
                            "the attached {} document contains the claim's exact wording",
                            ch.locator
                        )
                    } else {
                        format!(
                            "the attached {} document does not contain the claim's exact wording",
                            ch.locator
                        )
                    };
                    out.push(check(rule, ce.index, field, found, msg));
                }
                None if require_attachments => out.push(check(
                    rule,
                    ce.index,
                    field,
                    false,
                    format!("document {digest} for {} is not attached", ch.locator),
                )),
                None => {}
            }
        }
    }
}

/// The check that a claim's wording and its assertions agree.
fn agreement(rule: &Rule, entry: u64, claim: &Claim) -> Check {
    let mut named = Vec::new();
    let problems = disagreements(&claim.wording, &claim.assertions, &mut named);
    let field = Some("wording".to_owned());
    let id = &claim.claim_id;
    if !problems.is_empty() {
        return check(
            rule,
            entry,
            field,
            false,
            format!(
                "claim {id:?}: {}; a claim may word only what its structured assertions carry, so that the rules judging them judge what was published",
                problems.join("; ")
            ),
        );
    }
    let msg = if named.is_empty() {
        format!("claim {id:?}: the wording names no scheme, level, metric, standard or regulation")
    } else {
        format!(
            "claim {id:?}: what the wording names ({}) is carried by its assertions",
            named.join(", ")
        )
    };
    check(rule, entry, field, true, msg)
}

#[cfg(test)]
mod tests {
    use super::disagreements;
    use crate::evidence::{Assertion, AssertionType};

    /// An assertion of `kind` with every optional field absent, as a payload would decode.
    fn bare(kind: AssertionType) -> Assertion {
        serde_json::from_value(serde_json::json!({ "type": kind.as_str() }))
            .expect("an assertion needs only its type")
    }

    fn pad(level: u8) -> Assertion {
        Assertion {
            standard: Some("ISO/IEC 30107-3:2023".into()),
            scheme: Some("iBeta PAD".into()),
            level: Some(level),
            metric: Some("apcer_ppm".into()),
            comparator: Some(crate::evidence::Comparator::Le),
            value: Some(0),
            ..bare(AssertionType::Pad)
        }
    }

    fn problems(wording: &str, a: &[Assertion]) -> Vec<String> {
        disagreements(wording, a, &mut Vec::new())
    }

    #[test]
    fn the_level_worded_must_be_the_level_asserted() {
        let ok = "passed iBeta PAD Level 2 testing to ISO/IEC 30107-3";
        assert_eq!(problems(ok, &[pad(2)]), Vec::<String>::new());
        let p = problems(
            "passed iBeta PAD Level 3 testing to ISO/IEC 30107-3",
            &[pad(2)],
        );
        assert_eq!(
            p,
            [
                "the wording names level 3, but no assertion carries level 3 (assertions[0] has level 2)"
            ]
        );
    }

    #[test]
    fn near_misses_of_a_level_are_still_read_as_the_level() {
        for w in [
            "iBeta PAD LEVEL 3",
            "iBeta PAD level\u{00A0}3",
            "iBeta PAD Lev\u{200B}el 3",
            "iBeta PAD Le\u{200D}vel\u{2060} 3",
            "iBeta PAD L\u{0435}v\u{0435}l 3",
            "iBeta PAD Ｌｅｖｅｌ ３",
            "iBeta PAD Level-3",
            "iBeta PAD Level3",
            "iBeta PAD Level III",
            "iBeta PAD Level Ⅲ",
            "iBeta PAD Level three",
            "iBeta PAD\n  Level\t3",
        ] {
            assert_eq!(problems(w, &[pad(2)]).len(), 1, "{w:?}");
            assert_eq!(problems(w, &[pad(3)]), Vec::<String>::new(), "{w:?}");
        }
        // Not a level: no number follows.
        assert!(problems("the highest level of liveness", &[pad(2)]).is_empty());
    }

    #[test]
    fn a_level_with_no_pad_assertion_fails() {
        let privacy = Assertion {
            metric: Some("template_only_storage".into()),
            ..bare(AssertionType::PrivacyDesign)
        };
        assert_eq!(
            problems("Level 3 liveness; stores templates only", &[privacy]),
            [
                "the wording names level 3, but no assertion carries level 3 (no assertion has a level)"
            ]
        );
    }

    #[test]
    fn standards_compare_number_part_and_year() {
        let a = [pad(2)];
        assert!(problems("iBeta PAD level 2, ISO/IEC 30107-3", &a).is_empty());
        assert!(problems("iBeta PAD level 2, ISO 30107-3:2023", &a).is_empty());
        assert!(problems("iBeta PAD level 2, ISO/IEC 30107", &a).is_empty());
        assert!(problems("iBeta PAD level 2, iso/iec 30107\u{2011}3", &a).is_empty());
        assert_eq!(
            problems("iBeta PAD level 2, ETSI EN 303 645", &a),
            [
                "the wording names the standard ETSI EN 303 645, but no assertion's standard is it (the assertions name ISO/IEC 30107-3:2023)"
            ]
        );
        assert_eq!(
            problems("iBeta PAD level 2, ISO/IEC 30107-3:2017", &a),
            [
                "the wording names the standard ISO/IEC 30107-3:2017, but no assertion's standard is it (the assertions name ISO/IEC 30107-3:2023)"
            ]
        );
        assert_eq!(problems("iBeta PAD level 2, ISO/IEC 30107-1", &a).len(), 1);
        assert_eq!(problems("iBeta PAD level 2, ISO/IEC 19795-1", &a).len(), 1);
        // A number that is no standard's designation is not read as one.
        assert!(problems("iBeta PAD level 2, 30107 attempts", &a).is_empty());
    }

    #[test]
    fn schemes_regulations_and_metrics_must_be_carried() {
        let a = [pad(2)];
        assert_eq!(
            problems("FIDO Level 2 certified", &a),
            ["the wording names the scheme FIDO, but no assertion's standard or scheme does"]
        );
        assert_eq!(
            problems(
                "FMR below 0.0001 % with no measurable demographic bias, compliant with the EU AI Act",
                &a
            ),
            [
                "the wording names the regulation the EU AI Act, but no assertion's standard or scheme does",
                "the wording names the metric FMR, but no assertion's metric is it"
            ]
        );
        // APCER is carried by apcer_ppm; i​Beta with a zero-width space is still iBeta.
        assert!(problems("i\u{200B}Beta PAD Level 2, APCER 0 %", &a).is_empty());
        assert_eq!(problems("BPCER under 1 %", &a).len(), 1);
        // A rate after the metric's name must be a carrying assertion's value (apcer_ppm 0).
        assert!(problems("iBeta PAD Level 2, APCER 0 % at every species", &a).is_empty());
        // "far" alone is an English word, not the metric.
        assert!(problems("far better than iBeta PAD Level 2", &a).is_empty());
        let compliance = Assertion {
            standard: Some("Regulation (EU) 2024/1689".into()),
            ..bare(AssertionType::Compliance)
        };
        assert!(problems("compliant with the EU AI Act", &[compliance]).is_empty());
    }

    fn accuracy(metric: &str, value: u64) -> Assertion {
        Assertion {
            metric: Some(metric.into()),
            comparator: Some(crate::evidence::Comparator::Lt),
            value: Some(value),
            ..bare(AssertionType::Accuracy)
        }
    }

    #[test]
    fn a_rate_in_the_wording_must_be_the_asserted_value() {
        let w = "FMR below 0.0001 % at a threshold of 0.7";
        // 0.0001 % = 1 ppm = 1000 ppb.
        assert!(problems(w, &[accuracy("fmr_ppm", 1)]).is_empty());
        assert!(problems(w, &[accuracy("fmr_ppb", 1000)]).is_empty());
        assert!(problems("FMR below 1 ppm", &[accuracy("fmr_ppb", 1000)]).is_empty());
        assert!(problems("FMR below 0.0001\u{00A0}%", &[accuracy("fmr_ppb", 1000)]).is_empty());
        assert_eq!(
            problems(w, &[accuracy("fmr_ppm", 100)]),
            [
                "the wording gives FMR 0.0001 %, but no assertion's value is that rate (assertions[0] has fmr_ppm 100)"
            ]
        );
        assert_eq!(
            problems(w, &[accuracy("fmr_rate", 1)]),
            [
                "the wording gives FMR 0.0001 %, but no assertion carries FMR with a value in a unit it can be compared with (a metric ending _percent, _ppm or _ppb)"
            ]
        );
        // A number after a comma, or with no unit, is not the metric's rate.
        assert!(problems("FMR below target, 3 %", &[accuracy("fmr_ppm", 1)]).is_empty());
        assert!(problems("FMR tested on 5000 faces", &[accuracy("fmr_ppm", 1)]).is_empty());
    }
}
