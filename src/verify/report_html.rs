//! The report to file: one self-contained, printable HTML page made from a [`Report`]
//! (`evledger verify --html`, and the web page's saved report; `specs/verification.md`, "HTML").
//!
//! Everything the page prints from the report passes through [`html_escape`]: signed strings
//! (issuers, subjects, claim wording, messages quoting them) cannot open a tag or an attribute,
//! and control and bidi characters are shown as `\u{…}`, as on the terminal. The page carries no
//! script and a Content-Security-Policy that allows none, and its only style is its own.

use std::collections::HashMap;
use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::report::{Check, JudgedOutcome, Outcome, Report, Verdict};
use crate::terminal::is_unsafe;

/// The page's style sheet, screen and print. Its SHA-256 is the one style the page's
/// Content-Security-Policy allows.
const CSS: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f23;max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.9rem;margin:0}h2{font-size:1.25rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
h3{font-size:1.05rem;margin:1.2rem 0 .3rem}
.verdict{padding:1rem 1.2rem;border-radius:6px;border:2px solid}
.verdict p{margin:.3rem 0 0}
.verified{background:#e6f4ea;border-color:#1a7f37;color:#0f5323}
.policy-not-met{background:#fff8c5;border-color:#9a6700;color:#4d3800}
.verification-failed,.invalid-bundle{background:#ffebe9;border-color:#cf222e;color:#82071e}
.note{background:#ddf4ff;border-left:4px solid #0969da;padding:.5rem .8rem}
table{border-collapse:collapse;width:100%;margin:.3rem 0}
th,td{text-align:left;vertical-align:top;border:1px solid #d0d7de;padding:.25rem .45rem}
th{background:#f6f8fa;font-weight:600}
td.k{width:12rem;background:#f6f8fa;font-weight:600}
.hex,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;overflow-wrap:anywhere}
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:700}
tr.row-fail td{background:#fff5f5}
td{overflow-wrap:break-word}td.m{overflow-wrap:anywhere}td.f{min-width:8rem}
blockquote{margin:.4rem 0;padding:.4rem .8rem;border-left:4px solid #8c959f;background:#f6f8fa;white-space:pre-wrap}
ul{margin:.3rem 0;padding-left:1.4rem}
footer{margin-top:2rem;color:#57606a;font-size:.85rem}
@page{margin:14mm}
@media print{body{margin:0;max-width:none;font-size:10.5pt}.verdict,.note,tr.row-fail td,th,td.k,blockquote{-webkit-print-color-adjust:exact;print-color-adjust:exact}tr,blockquote,.verdict{break-inside:avoid}h2,h3{break-after:avoid}}
";

/// `s` made safe as HTML text or as a double- or single-quoted attribute value: `&`, `<`, `>`,
/// `"` and `'` become character references, and each control or bidi character (see
/// [`crate::terminal::is_unsafe`]) is written as the visible text `\u{HEX}`, as the terminal
/// report writes it.
pub fn html_escape(s: &str) -> String {
    escape_into(s, false)
}

/// [`html_escape`], keeping newlines (for multi-line text shown with `white-space: pre-wrap`).
fn html_escape_lines(s: &str) -> String {
    escape_into(s, true)
}

fn escape_into(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' if keep_newlines => out.push('\n'),
            c if is_unsafe(c) => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Short names for escaping inside `write!` arguments.
fn e(s: &str) -> String {
    html_escape(s)
}

/// A Unix time as RFC 3339, escaped (the text is the program's own, but cheap to be sure of).
fn time(t: i64) -> String {
    e(&crate::time::format_rfc3339(t))
}

/// What a verdict means and does not mean, drawn from `specs/verification.md` ("Verdicts",
/// "What verification does not check").
fn meaning(r: &Report) -> (String, &'static [&'static str]) {
    let means = match (r.verdict, r.integrity_only) {
        (Verdict::Verified, false) => {
            "Every check below held. The checkpoint is signed by a log key the trust file pins (and cosigned by as many trusted witnesses as it asks for); every entry is proved to be in that log, and signed by a trusted key in good standing, in a role allowed to sign its kind; every citation resolves inside the bundle and every attached document is cited; every consistency proof holds; and every assertion and the wording of every claim was judged by a rule of the profiles listed above, and held."
        }
        (Verdict::Verified, true) => {
            "Integrity only: signatures, proofs, roles and references held (the checkpoint is signed by a pinned log key, every entry is in the log and signed by a trusted key in a role allowed to sign its kind, every citation resolves and every attachment is cited). No claim was judged against any rule: this report does not say that any claim meets the buyer's requirements."
        }
        (Verdict::PolicyNotMet, _) => {
            "Every signature, proof and role checked out, so the evidence is authentic, but it does not satisfy the buyer's rules: a policy check failed, or something a claim asserts was not judged by any rule of the profiles (\"not judged\"). The failed checks say which."
        }
        (Verdict::VerificationFailed, _) => {
            "A signature, proof, key, role, witness or reference check failed: the bundle cannot be relied on as evidence until what failed is explained. The failed checks say what; a check that could not be made because an earlier one failed counts as failed."
        }
        (Verdict::InvalidBundle, _) => {
            "The bundle is malformed: nothing in it can be trusted enough to say what failed. No entry was checked."
        }
    };
    const NOT: &[&str] = &[
        "It is a statement about this bundle, checked against this trust file and these profiles (identified by their SHA-256 above): the keys, witnesses and rules they name are the buyer's choice, and the verdict is only as good as them.",
        "No time was compared with a clock: signed times (iat, cosignature and evidence times) are only ordered against each other. A witnessed time is only as good as the witnesses' clocks.",
        "Certificate revocation was not checked, and a key trusted only through its certificate cannot be revoked by the log's key events.",
        "An attached document is checked only in that a signed entry cites its digest; what it says is read only by the policy rules that read it.",
        "Without witnesses or a remembered checkpoint (--remember), the verifier cannot tell whether the log showed someone else another history.",
        "That an assertion was judged means a rule of a type that judges it added a check for it; what that rule checks is its rule type's definition (specs/policy.md). It is not a test of the product itself.",
    ];
    (means.to_owned(), NOT)
}

impl Report {
    /// The report as one self-contained, printable HTML page (`evledger verify --html`): the
    /// verdict, each claim in plain words with the evidence behind it, the inputs' digests, the
    /// checkpoint and its cosignatures, every check, the tool and time, and what the verdict
    /// does and does not mean. Every value from the report is escaped ([`html_escape`]).
    pub fn to_html(&self) -> String {
        let mut h = String::with_capacity(16_384 + self.checks.len() * 256);
        self.html_head(&mut h);
        self.html_verdict(&mut h);
        self.html_claims(&mut h);
        self.html_inputs(&mut h);
        self.html_checkpoint(&mut h);
        self.html_entries(&mut h);
        self.html_checks(&mut h);
        self.html_meaning(&mut h);
        let _ = write!(
            h,
            "<footer><p>{}. Schema version {}.</p></footer>\n</body>\n</html>\n",
            e(&self.verified_by()),
            self.schema_version
        );
        h
    }

    fn verdict_class(&self) -> &'static str {
        match self.verdict {
            Verdict::Verified => "verified",
            Verdict::InvalidBundle => "invalid-bundle",
            Verdict::VerificationFailed => "verification-failed",
            Verdict::PolicyNotMet => "policy-not-met",
        }
    }

    fn html_head(&self, h: &mut String) {
        let style_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(CSS));
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-{style_hash}'\">\n\
<title>evledger verification report: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
            e(self.verdict.headline())
        );
    }

    fn html_verdict(&self, h: &mut String) {
        let _ = write!(
            h,
            "<header class=\"verdict {}\">\n<h1>{}{}</h1>\n<p>{} entries, {} checks, {} failed</p>\n",
            self.verdict_class(),
            e(self.verdict.headline()),
            if self.integrity_only {
                " (INTEGRITY ONLY)"
            } else {
                ""
            },
            self.entries.len(),
            self.checks.len(),
            self.failures()
        );
        if let (Some(o), Some(n)) = (&self.origin, self.tree_size) {
            let _ = writeln!(h, "<p>log {} at tree size {n}</p>", e(o));
        }
        let _ = write!(h, "<p>{}</p>\n</header>\n", e(&self.verified_by()));
        if self.integrity_only {
            h.push_str("<p class=\"note\">Integrity only: signatures, proofs, roles and references were checked; no claim was judged against any rule.</p>\n");
        }
        let failed: Vec<&Check> = self
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .collect();
        if !failed.is_empty() {
            h.push_str("<h2 id=\"failed\">Failed checks</h2>\n");
            checks_table(h, &failed);
        }
    }

    fn html_claims(&self, h: &mut String) {
        h.push_str("<h2 id=\"claims\">What was verified</h2>\n");
        if self.claims.is_empty() {
            h.push_str("<p>The bundle holds no claim; its entries are listed below.</p>\n");
            return;
        }
        let by_index: HashMap<u64, usize> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, en)| (en.index, i))
            .collect();
        for c in &self.claims {
            let _ = write!(
                h,
                "<section class=\"claim\">\n<h3>Claim {} (entry {})</h3>\n<blockquote lang=\"{}\">{}</blockquote>\n",
                e(&c.claim_id),
                c.entry,
                e(&c.language),
                html_escape_lines(&c.wording)
            );
            if !c.applies_to.is_empty() {
                let _ = writeln!(h, "<p>About: {}.</p>", e(&c.applies_to));
            }
            h.push_str("<p>It asserts:</p>\n<ul>\n");
            for (i, a) in c.assertions.iter().enumerate() {
                let field = format!("assertions[{i}]");
                let _ = writeln!(h, "<li>{}{}</li>", e(a), self.judged_words(c.entry, &field));
            }
            let _ = write!(
                h,
                "<li>its wording{}</li>\n</ul>\n",
                self.judged_words(c.entry, "wording")
            );
            if c.cites.is_empty() {
                h.push_str("<p>It cites no other entry.</p>\n");
            } else {
                h.push_str("<p>The evidence behind it:</p>\n<table>\n<tr><th>cited as</th><th>entry</th><th>what it is</th><th>checks</th></tr>\n");
                for cited in &c.cites {
                    let (entry, what, checks) = match cited.entry.and_then(|i| by_index.get(&i)) {
                        Some(&k) => {
                            let en = &self.entries[k];
                            let mut what = format!(
                                "{} by {} ({}): {}",
                                e(&en.kind),
                                e(&en.issuer),
                                e(&en.subject),
                                e(&en.summary)
                            );
                            if let Some(t) = en.witnessed_at {
                                let _ =
                                    write!(what, "; in the log by {} (witnessed)", time(t as i64));
                            }
                            (en.index.to_string(), what, self.entry_checks(en.index))
                        }
                        None => (
                            "—".to_owned(),
                            format!(
                                "entry <span class=\"hex\">{}</span>, not in the bundle",
                                e(&cited.entry_hash)
                            ),
                            "<span class=\"fail\">not in the bundle</span>".to_owned(),
                        ),
                    };
                    let _ = writeln!(
                        h,
                        "<tr><td class=\"f\"><code>{}</code></td><td>{entry}</td><td class=\"m\">{what}</td><td>{checks}</td></tr>",
                        e(&cited.field)
                    );
                }
                h.push_str("</table>\n");
            }
            h.push_str("</section>\n");
        }
    }

    /// `: judged by r (p), held` and the like, from `judged`, for a claim's subject.
    fn judged_words(&self, entry: u64, field: &str) -> String {
        let Some(j) = self
            .judged
            .iter()
            .find(|j| j.entry == entry && j.field == field)
        else {
            return String::new();
        };
        let by: Vec<String> = j
            .judged_by
            .iter()
            .map(|b| format!("{} ({})", e(&b.rule), e(&b.profile)))
            .collect();
        match j.outcome {
            JudgedOutcome::NotJudged => " — <span class=\"fail\">not judged</span>".to_owned(),
            JudgedOutcome::Held => format!(
                " — judged by {}: <span class=\"pass\">held</span>",
                by.join(", ")
            ),
            JudgedOutcome::Failed => format!(
                " — judged by {}: <span class=\"fail\">FAILED</span>",
                by.join(", ")
            ),
        }
    }

    /// `all 4 checks passed` or `1 of 4 checks FAILED` for one entry.
    fn entry_checks(&self, index: u64) -> String {
        let (mut all, mut failed) = (0, 0);
        for c in self.checks.iter().filter(|c| c.entry == Some(index)) {
            all += 1;
            if c.outcome == Outcome::Fail {
                failed += 1;
            }
        }
        if failed == 0 {
            format!("<span class=\"pass\">all {all} passed</span>")
        } else {
            format!("<span class=\"fail\">{failed} of {all} FAILED</span>")
        }
    }

    fn html_inputs(&self, h: &mut String) {
        h.push_str("<h2 id=\"inputs\">What was checked, by whom and when</h2>\n<table>\n");
        let _ = writeln!(
            h,
            "<tr><td class=\"k\">Bundle SHA-256</td><td class=\"hex\">{}</td></tr>",
            e(self.bundle_sha256.as_deref().unwrap_or("not given"))
        );
        let _ = writeln!(
            h,
            "<tr><td class=\"k\">Trust file SHA-256</td><td class=\"hex\">{}</td></tr>",
            e(&self.trust_file_sha256)
        );
        let t = &self.tool;
        let _ = writeln!(
            h,
            "<tr><td class=\"k\">Tool</td><td>{} {} (verifier {}){}</td></tr>",
            e(&t.name),
            e(&t.version),
            e(&t.verifier_version),
            t.sha256
                .as_deref()
                .map(|d| format!(", SHA-256 <span class=\"hex\">{}</span>", e(d)))
                .unwrap_or_default()
        );
        let _ = write!(
            h,
            "<tr><td class=\"k\">Verification time</td><td>{}</td></tr>\n</table>\n",
            self.verified_at
                .map_or_else(|| "not given".to_owned(), time)
        );
        if self.profiles.is_empty() {
            h.push_str("<p>No policy profile was given.</p>\n");
        } else {
            let _ = write!(
                h,
                "<p>Policy profiles{}:</p>\n<table>\n<tr><th>profile</th><th>version</th><th>title</th><th>SHA-256</th></tr>\n",
                if self.integrity_only {
                    " (not applied: integrity only)"
                } else {
                    ""
                }
            );
            for p in &self.profiles {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"hex\">{}</td></tr>",
                    e(&p.id),
                    e(&p.version),
                    e(&p.title),
                    e(&p.sha256)
                );
            }
            h.push_str("</table>\n");
        }
    }

    fn html_checkpoint(&self, h: &mut String) {
        h.push_str("<h2 id=\"checkpoint\">Checkpoint</h2>\n<table>\n");
        match (&self.origin, self.tree_size, &self.root_hash) {
            (Some(o), Some(n), Some(root)) => {
                let _ = write!(
                    h,
                    "<tr><td class=\"k\">Origin</td><td>{}</td></tr>\n<tr><td class=\"k\">Tree size</td><td>{n}</td></tr>\n<tr><td class=\"k\">Root hash</td><td class=\"hex\">{}</td></tr>\n",
                    e(o),
                    e(root)
                );
            }
            _ => h.push_str(
                "<tr><td class=\"k\">Checkpoint</td><td><span class=\"fail\">not verified</span></td></tr>\n",
            ),
        }
        let _ = writeln!(
            h,
            "<tr><td class=\"k\">Completeness</td><td>{}</td></tr>",
            e(&self.completeness.describe())
        );
        let _ = write!(
            h,
            "<tr><td class=\"k\">Signature lines (as claimed)</td><td class=\"hex\">{}</td></tr>\n</table>\n",
            self.checkpoint_signers
                .iter()
                .map(|s| e(s))
                .collect::<Vec<_>>()
                .join("<br>")
        );
        if self.cosignatures.is_empty() {
            h.push_str("<p>No trusted witness's cosignature verified on this checkpoint.</p>\n");
        } else {
            h.push_str("<p>Cosigned by trusted witnesses:</p>\n<table>\n<tr><th>witness</th><th>key id</th><th>cosigned at</th></tr>\n");
            for c in &self.cosignatures {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td class=\"hex\">{}</td><td>{}</td></tr>",
                    e(&c.witness),
                    e(&c.key_id),
                    time(c.timestamp as i64)
                );
            }
            h.push_str("</table>\n");
        }
    }

    fn html_entries(&self, h: &mut String) {
        h.push_str("<h2 id=\"entries\">Entries</h2>\n");
        if self.entries.is_empty() {
            h.push_str("<p>No entry parsed.</p>\n");
            return;
        }
        h.push_str("<table>\n<tr><th>entry</th><th>kind</th><th>issuer (subject)</th><th>what it is</th><th>in the log by</th><th>checks</th></tr>\n");
        for en in &self.entries {
            let _ = writeln!(
                h,
                "<tr><td>{}<br><span class=\"hex\">{}</span></td><td>{}</td><td class=\"m\">{} ({})</td><td class=\"m\">{}</td><td>{}</td><td>{}</td></tr>",
                en.index,
                e(en.entry_hash.get(..16).unwrap_or(&en.entry_hash)),
                e(&en.kind),
                e(&en.issuer),
                e(&en.subject),
                e(&en.summary),
                en.witnessed_at
                    .map_or_else(|| "no witnessed time".to_owned(), |t| time(t as i64)),
                self.entry_checks(en.index)
            );
        }
        h.push_str("</table>\n");
    }

    fn html_checks(&self, h: &mut String) {
        h.push_str("<h2 id=\"checks\">Every check</h2>\n");
        let all: Vec<&Check> = self.checks.iter().collect();
        checks_table(h, &all);
    }

    fn html_meaning(&self, h: &mut String) {
        let (means, not) = meaning(self);
        let _ = write!(
            h,
            "<h2 id=\"meaning\">What this verdict does and does not mean</h2>\n<p>{}</p>\n<p>It does not mean more than that:</p>\n<ul>\n",
            e(&means)
        );
        for n in not {
            let _ = writeln!(h, "<li>{}</li>", e(n));
        }
        h.push_str("</ul>\n");
    }
}

/// A table of checks, one row each, in the order given.
fn checks_table(h: &mut String, checks: &[&Check]) {
    h.push_str("<table>\n<tr><th>outcome</th><th>step</th><th>entry</th><th>field</th><th>message</th></tr>\n");
    for c in checks {
        let (row, class, mark) = match c.outcome {
            Outcome::Pass => ("row-pass", "pass", "ok"),
            Outcome::Fail => ("row-fail", "fail", "FAIL"),
        };
        let mut message = e(&c.message);
        if let Some(clock) = c.clock {
            let _ = write!(message, " <em>(clock: {})</em>", clock.name());
        }
        if let Some(cite) = &c.citation {
            let _ = write!(message, "<br><em>rule source: {}</em>", e(cite));
        }
        let _ = writeln!(
            h,
            "<tr class=\"{row}\"><td class=\"{class}\">{mark}</td><td>{}</td><td>{}</td><td class=\"f\"><code>{}</code></td><td class=\"m\">{message}</td></tr>",
            c.step.name(),
            c.entry.map(|i| i.to_string()).unwrap_or_default(),
            e(c.field.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::{html_escape, html_escape_lines};

    #[test]
    fn markup_quotes_controls_and_bidi_are_escaped() {
        assert_eq!(
            html_escape("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        assert_eq!(
            html_escape("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(html_escape("a & b &amp;"), "a &amp; b &amp;amp;");
        assert_eq!(
            html_escape("a\u{202e}b\u{1b}[2J\nc\u{2066}"),
            "a\\u{202e}b\\u{1b}[2J\\u{a}c\\u{2066}"
        );
        // Only the wording keeps its newlines; its controls are escaped all the same.
        assert_eq!(html_escape_lines("a\nb\r\u{202e}"), "a\nb\\u{d}\\u{202e}");
        for s in ["Zürich – 指纹", "C:\\fw\\img", "ISO/IEC 30107-3:2023"] {
            assert_eq!(html_escape(s), s);
        }
    }
}
