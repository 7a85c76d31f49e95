//! The report a buyer files: `evledger verify` names the bundle, the trust file and each
//! profile by SHA-256, the tool and the verification time, and `--html` writes it as one
//! self-contained HTML page in which nothing from a signed string can open a tag.

mod common;

use std::path::Path;

use common::{Env, INPUT, KEY, LEDGER, sha256_hex};
use serde_json::Value as J;

fn json(stdout: &str) -> J {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout:?}"))
}

fn fixture(name: &str) -> std::path::PathBuf {
    common::root().join("tests/fixtures/legacy-0.1").join(name)
}

/// The example buyer's trust file, written into `env` as `buyer.trust.toml`, naming the two
/// profiles of 0.1.0's time (`tests/fixtures/legacy-0.1/profiles/`) by absolute path.
fn buyer_trust(env: &Env) -> Vec<std::path::PathBuf> {
    let repo = common::root();
    let text = std::fs::read_to_string(repo.join("keys.example/buyer.trust.toml"))
        .unwrap()
        .replace("  \"../specs/profiles/incident-cra-art14.toml\",\n", "")
        .replace(
            "../specs/profiles/",
            &format!("{}/", fixture("profiles").display()),
        )
        .replace(
            "accreditation-root-ca.pem",
            &repo
                .join("keys.example/accreditation-root-ca.pem")
                .display()
                .to_string(),
        );
    env.write("buyer.trust.toml", &text);
    ["pad-ibeta-level2.toml", "incident-gdpr-art33.toml"]
        .iter()
        .map(|p| fixture("profiles").join(p))
        .collect()
}

/// The `version = "…"` line of a profile's text, read without the profile parser.
fn profile_version(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("version"))
        .expect("a version line");
    line.split('"').nth(1).expect("a quoted version").to_owned()
}

#[test]
fn the_reports_name_the_inputs_by_sha256_and_the_tool() {
    let env = Env::new();
    let profiles = buyer_trust(&env);
    let bundle = fixture("claim-level2.bundle.cbor");
    let bundle = bundle.to_str().unwrap();
    let out = env.run(&["verify", bundle, "--trust", "buyer.trust.toml", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let v = json(&out.stdout);
    assert_eq!(v["schema_version"], 1);
    let bundle_hex = sha256_hex(&std::fs::read(bundle).unwrap());
    let trust_hex = sha256_hex(&std::fs::read(env.path("buyer.trust.toml")).unwrap());
    assert_eq!(v["bundle_sha256"], bundle_hex.as_str());
    assert_eq!(v["trust_file_sha256"], trust_hex.as_str());
    let listed = v["profiles"].as_array().unwrap();
    assert_eq!(listed.len(), profiles.len());
    for (p, path) in listed.iter().zip(&profiles) {
        assert_eq!(
            format!("{}.toml", p["id"].as_str().unwrap()),
            path.file_name().unwrap().to_str().unwrap()
        );
        assert_eq!(p["version"], profile_version(path).as_str());
        assert_eq!(
            p["sha256"],
            sha256_hex(&std::fs::read(path).unwrap()).as_str()
        );
        assert!(!p["title"].as_str().unwrap().is_empty());
    }
    assert_eq!(v["tool"]["name"], "evledger");
    assert_eq!(v["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["tool"]["verifier_version"], env!("CARGO_PKG_VERSION"));
    assert!(v["verified_at"].is_i64(), "{}", v["verified_at"]);
    // The checkpoint: its root, and the trusted witness's cosignature, whose time is the
    // entries' witnessed time (one witness, quorum 1).
    assert_eq!(v["root_hash"].as_str().unwrap().len(), 64);
    let cos = v["cosignatures"].as_array().unwrap();
    assert_eq!(cos.len(), 1, "{cos:?}");
    assert_eq!(cos[0]["witness"], "witness.example/w1");
    assert_eq!(cos[0]["key_id"], "29c74269");
    assert_eq!(cos[0]["timestamp"], v["entries"][0]["witnessed_at"]);
    // Each claim in plain words, with what it cites.
    let claim = &v["claims"][0];
    assert_eq!(claim["claim_id"], "CLM-FG3-PAD-002");
    assert!(
        claim["assertions"][0]
            .as_str()
            .unwrap()
            .starts_with("presentation attack detection (liveness): to ISO/IEC 30107-3:2023, iBeta PAD level 2, covering attack species print, replay, mask-3d"),
        "{claim}"
    );
    assert_eq!(claim["cites"][2]["field"], "evidence[0]");
    assert_eq!(claim["cites"][2]["entry"], 2);

    // The text report ends with the same facts.
    let out = env.run(&["verify", bundle, "--trust", "buyer.trust.toml"]);
    assert_eq!(out.code, 0, "{out:?}");
    for line in [
        format!("bundle sha256 {bundle_hex}"),
        format!("trust file sha256 {trust_hex}"),
        format!(
            "profile pad-ibeta-level2 {} sha256 {}",
            profile_version(&profiles[0]),
            sha256_hex(&std::fs::read(&profiles[0]).unwrap())
        ),
        format!("checkpoint root {}", v["root_hash"].as_str().unwrap()),
    ] {
        assert!(
            out.stdout.lines().any(|l| l == line),
            "{line}\n{}",
            out.stdout
        );
    }
    let last = out.stdout.lines().last().unwrap();
    assert!(last.starts_with("verified at "), "{last}");
    assert!(
        last.ends_with(&format!(" by evledger {}", env!("CARGO_PKG_VERSION"))),
        "{last}"
    );
    assert!(
        out.stdout
            .contains("cosigned by witness witness.example/w1+29c74269 at "),
        "{}",
        out.stdout
    );
    // A bundle that does not parse is still named by digest, with the profiles given.
    env.write("junk.cbor", "not a bundle");
    let out = env.run(&[
        "verify",
        "junk.cbor",
        "--trust",
        "buyer.trust.toml",
        "--json",
    ]);
    assert_eq!(out.code, 3, "{out:?}");
    let v = json(&out.stdout);
    assert_eq!(v["bundle_sha256"], sha256_hex(b"not a bundle").as_str());
    assert_eq!(v["trust_file_sha256"], trust_hex.as_str());
    assert_eq!(v["profiles"].as_array().unwrap().len(), profiles.len());
}

#[test]
fn the_verification_time_is_the_one_given() {
    let repo = common::root();
    let text = std::fs::read_to_string(repo.join("keys.example/buyer.trust.toml")).unwrap();
    let base = repo.join("keys.example");
    let trust = evledger::trust::TrustFile::parse(&text, "buyer.trust.toml", &|name: &str| {
        std::fs::read(base.join(name)).map_err(|e| e.to_string())
    })
    .unwrap();
    let bytes = std::fs::read(fixture("claim-level2.bundle.cbor")).unwrap();
    for (now, shown) in [
        (1_800_000_000, "2027-01-15T08:00:00Z"),
        (1_900_000_000, "2030-03-17T17:46:40Z"),
    ] {
        let options = evledger::verify::VerifyOptions {
            now: Some(now),
            ..Default::default()
        };
        let r = evledger::verify::verify_bundle_with(&bytes, &trust, &trust.profiles, &options);
        assert_eq!(r.verified_at, Some(now));
        assert_eq!(json(&r.to_json())["verified_at"], now);
        assert_eq!(
            r.render().lines().last().unwrap(),
            format!(
                "verified at {shown} by evledger {}",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(r.to_html().contains(shown));
        // The bundle's digest is of the bytes given, computed by the verifier itself here.
        assert_eq!(
            r.bundle_sha256.as_deref(),
            Some(sha256_hex(&bytes).as_str())
        );
        assert_eq!(r.trust_file_sha256, sha256_hex(text.as_bytes()));
    }
    // Without a time the report says so, and names none.
    let r =
        evledger::verify::verify_bundle_with(&bytes, &trust, &trust.profiles, &Default::default());
    assert_eq!(r.verified_at, None);
    assert!(json(&r.to_json()).get("verified_at").is_none());
    assert!(
        r.render()
            .trim_end()
            .ends_with("(no verification time was given)"),
        "{}",
        r.render()
    );
    // A JSON report reads back as the same report, and one of another schema version does not.
    let again = evledger::verify::Report::from_json(&r.to_json()).unwrap();
    assert_eq!(again, r);
    let later = r
        .to_json()
        .replacen("\"schema_version\": 1", "\"schema_version\": 2", 1);
    assert_eq!(
        evledger::verify::Report::from_json(&later).unwrap_err(),
        "schema_version: 2 is not supported (expected 1)"
    );
}

/// A ledger with one firmware build and the trust file `t.toml`, exported to `b.cbor`.
fn exported() -> Env {
    let env = Env::new();
    env.init();
    env.record(INPUT, 100).ok();
    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    let role = common::release_role();
    env.run(&[
        "trust", "init", "--out", "t.toml", "--role", &role, "--ledger", LEDGER,
    ])
    .ok();
    env
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

#[test]
fn html_is_written_atomically_and_a_bad_path_is_refused_whole() {
    let env = exported();
    let args = ["verify", "b.cbor", "--trust", "t.toml", "--integrity-only"];
    let out = env.run(&[&args[..], &["--html", "report.html"]].concat());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("VERIFIED (INTEGRITY ONLY): "),
        "{out:?}"
    );
    assert_eq!(out.stderr, "wrote the HTML report to report.html\n");
    let html = std::fs::read_to_string(env.path("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>\n"), "{html}");
    assert!(
        html.contains("<h1>VERIFIED (INTEGRITY ONLY)</h1>"),
        "{html}"
    );
    assert!(html.contains(&sha256_hex(&std::fs::read(env.path("b.cbor")).unwrap())));
    assert!(html.contains(&sha256_hex(&std::fs::read(env.path("t.toml")).unwrap())));
    assert!(html.contains("What this verdict does and does not mean"));
    assert!(html.contains("@media print"));
    assert!(html.trim_end().ends_with("</html>"));

    // A directory that does not exist: a clear error, exit 2, and no file anywhere.
    let before = names(env.dir.path());
    let out = env.run(&[&args[..], &["--html", "no/such/dir/report.html"]].concat());
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.starts_with("VERIFIED (INTEGRITY ONLY): "),
        "the report is printed first: {out:?}"
    );
    let mut err = out.stderr.lines();
    let first = err.next().unwrap();
    assert!(
        first.starts_with("error: no/such/dir/report.html: "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the report above was not saved"),
        "{}",
        out.stderr
    );
    assert_eq!(names(env.dir.path()), before);

    // A path that is a directory: refused, and no temporary file is left beside it.
    std::fs::create_dir(env.path("out")).unwrap();
    let out = env.run(&[&args[..], &["--html", "out"]].concat());
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.starts_with("error: out: "), "{}", out.stderr);
    let mut expected = [&before[..], &["out".to_owned()]].concat();
    expected.sort();
    assert_eq!(names(env.dir.path()), expected);
    assert!(names(&env.path("out")).is_empty());

    // An existing report is replaced whole.
    env.write("old.html", "old");
    env.run(&[&args[..], &["--html", "old.html"]].concat()).ok();
    let new = std::fs::read_to_string(env.path("old.html")).unwrap();
    assert!(
        new.starts_with("<!DOCTYPE html>\n") && new.ends_with("</html>\n"),
        "{new}"
    );
}

#[test]
fn html_to_standard_output_replaces_the_text_report() {
    let env = exported();
    let out = env.run(&[
        "verify",
        "b.cbor",
        "--trust",
        "t.toml",
        "--integrity-only",
        "--html",
        "-",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("<!DOCTYPE html>\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("</html>\n"), "{}", out.stdout);
    assert!(!out.stdout.contains("\nentry 0 "), "{}", out.stdout);
    assert_eq!(out.stderr, "");
    assert!(!env.path("-").exists());
    // Not together with --json, which also writes to standard output.
    let out = env.run(&[
        "verify", "b.cbor", "--trust", "t.toml", "--json", "--html", "-",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: --html - and --json both write to standard output\nhint: write the HTML report to a file (--html report.html), or drop --json\n"
    );
}

/// HTML and script in signed strings, a quote that would close an attribute, and a
/// right-to-left override.
const HOSTILE: &str =
    "Aurelis <script>alert(1)</script> \"><img src=x onerror=alert(1)> 'x' & \u{202e}dexif";

/// The tags the report's own markup uses; anything else would have come from the data.
const OWN_TAGS: &[&str] = &[
    "!DOCTYPE",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "h1",
    "h2",
    "h3",
    "p",
    "section",
    "blockquote",
    "ul",
    "li",
    "table",
    "tr",
    "th",
    "td",
    "span",
    "code",
    "em",
    "br",
    "footer",
];

/// Every tag in `html`, as `(name, whole tag text)`. Data never holds a raw `<` or `>` (they
/// are escaped), so each `<` starts a tag of the report's own.
fn tags(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        let after = &rest[at + 1..];
        let end = after.find('>').expect("every tag is closed");
        let tag = &after[..end];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        out.push((name, tag.to_owned()));
        rest = &after[end + 1..];
    }
    out
}

#[test]
fn html_escapes_html_script_and_bidi_from_signed_strings() {
    let env = Env::new();
    env.init();
    let record = |kind: &str, input: &str, iat: &str| {
        env.run(&[
            "record",
            kind,
            input,
            "--key",
            KEY,
            "--issuer",
            HOSTILE,
            "--subject",
            HOSTILE,
            "--iat",
            iat,
            "--ledger",
            LEDGER,
        ])
    };
    record("firmware-build", INPUT, "100").ok();
    let build = env.log()[0]["entry_hash"].as_str().unwrap().to_owned();
    let toml_str = |s: &str| serde_json::to_string(s).unwrap();
    env.write(
        "claim.toml",
        &format!(
            "claim_id = {id}\nwording = {w}\nlanguage = \"en\"\neffective_from = 2026-04-01T00:00:00Z\n\
[[channels]]\nkind = \"website\"\nlocator = {w}\n\
[applies_to]\nmodels = [{w}]\nbuilds = [\"{build}\"]\n\
[[assertions]]\ntype = \"pad\"\nstandard = {w}\nscheme = {w}\nlevel = 2\n",
            id = toml_str("CLM-<script>alert(1)</script>"),
            w = toml_str(HOSTILE),
        ),
    );
    record("claim", "claim.toml", "101").ok();
    env.run(&["bundle", "--all", "--out", "b.cbor", "--ledger", LEDGER])
        .ok();
    let role = format!(
        "release-engineering=firmware-build,claim:key:{}",
        common::root()
            .join("keys.example/release-engineer.key.pub")
            .display()
    );
    env.run(&[
        "trust", "init", "--out", "t.toml", "--role", &role, "--ledger", LEDGER,
    ])
    .ok();
    let out = env.run(&["verify", "b.cbor", "--trust", "t.toml", "--html", "r.html"]);
    // No profile: the claim is not judged, and everything else verified.
    assert_eq!(out.code, 4, "{out:?}");
    let html = std::fs::read_to_string(env.path("r.html")).unwrap();

    // No tag, and no attribute, came from the signed strings.
    let lower = html.to_ascii_lowercase();
    assert_eq!(lower.matches("<script").count(), 0, "{html}");
    assert_eq!(lower.matches("<img").count(), 0, "{html}");
    for (name, tag) in tags(&html) {
        assert!(OWN_TAGS.contains(&name.as_str()), "<{tag}> in {html}");
        assert!(!tag.to_ascii_lowercase().contains("onerror"), "<{tag}>");
        assert!(!tag.contains("alert"), "<{tag}>");
    }
    // The strings are shown, escaped, in the issuer, the claim's wording and its id.
    let shown = "Aurelis &lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(1)&gt; &#39;x&#39; &amp; \\u{202e}dexif";
    assert!(
        html.contains(&format!("<blockquote lang=\"en\">{shown}</blockquote>")),
        "{html}"
    );
    assert!(
        html.contains(&format!("firmware-build by {shown} ({shown})")),
        "{html}"
    );
    assert!(
        html.contains("<h3>Claim CLM-&lt;script&gt;alert(1)&lt;/script&gt; (entry 1)</h3>"),
        "{html}"
    );
    assert!(html.contains(&format!("models {shown}")), "{html}");
    // No control or bidi character reaches the page as itself.
    assert!(
        !html
            .chars()
            .any(|c| c != '\n' && evledger::terminal::is_unsafe(c)),
        "{html:?}"
    );
    // The page allows no script at all.
    assert!(
        html.contains("content=\"default-src 'none'; style-src 'sha256-"),
        "{html}"
    );

    // The text report shows the same strings with the bidi character escaped, and JSON keeps
    // them exactly.
    let text = env.run(&["verify", "b.cbor", "--trust", "t.toml"]);
    assert!(
        text.stdout.contains(&format!(
            "by {} (",
            HOSTILE.replace('\u{202e}', "\\u{202e}")
        )),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains('\u{202e}'));
    let v = json(
        &env.run(&["verify", "b.cbor", "--trust", "t.toml", "--json"])
            .stdout,
    );
    assert_eq!(v["entries"][0]["issuer"], HOSTILE);
    assert_eq!(v["claims"][0]["wording"], HOSTILE);
    assert_eq!(v["claims"][0]["claim_id"], "CLM-<script>alert(1)</script>");
}

#[test]
fn an_invalid_bundle_has_an_html_report_too() {
    let trust = evledger::trust::TrustFile::parse(
        "version = 1\n[log]\nkeys = []\n",
        "t.toml",
        &|n: &str| Err(format!("{n}: not available")),
    )
    .unwrap();
    let r = evledger::verify::verify_bundle_with(
        b"not a bundle",
        &trust,
        &[],
        &evledger::verify::VerifyOptions {
            now: Some(1_800_000_000),
            ..Default::default()
        },
    );
    let html = r.to_html();
    assert!(html.contains("<h1>INVALID BUNDLE</h1>"), "{html}");
    assert!(html.contains("No entry parsed."), "{html}");
    assert!(html.contains("The bundle is malformed"), "{html}");
    assert!(html.contains(&sha256_hex(b"not a bundle")), "{html}");
    assert!(
        html.contains("<span class=\"fail\">not verified</span>"),
        "{html}"
    );
    for (name, tag) in tags(&html) {
        assert!(OWN_TAGS.contains(&name.as_str()), "<{tag}>");
    }
}
