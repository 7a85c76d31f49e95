//! evledger's offline verifier for web pages, compiled to WebAssembly.
//!
//! A thin shell over the library's verifier: the page hands over the bundle's bytes, the trust
//! file's text, the files the trust file names (as the user dropped them, by file name) and the
//! current time, and gets back the report as the same JSON `evledger verify --json` prints
//! (schema in `specs/verification.md`). Every check is the library's; none is made here.
//!
//! ```js
//! import { Files, verify } from "./evledger_web.js";
//! const files = new Files();
//! for (const f of dropped) files.add(f.name, new Uint8Array(await f.arrayBuffer()));
//! const report = JSON.parse(verify(bundleBytes, trustText, files, BigInt(Math.floor(Date.now() / 1000))));
//! ```
//!
//! The verifier page (`web/build.sh`, `specs/page.md`) calls [`verify_page`] (`verifyPage`), which
//! also checks the files the buyer holds ([`Held`]) and reports progress.
//!
//! As with `evledger verify`, every assertion of every claim must be judged by a rule of the
//! trust file's profiles, or the verdict is "policy-not-met" with a "not judged" check.
//! `verifyIntegrityOnly` (the CLI's `--integrity-only`) checks signatures, proofs, roles and
//! references alone and judges no claim; its report has `"integrity_only": true`, which the page
//! shows at the top.
//!
//! Every report names the tool that made it (`tool` in the JSON): [`default_tool`] unless the
//! page names itself through `verifyAs` (its name, version and, once it knows it, its own
//! SHA-256). `reportHtml(reportJson)` turns a report into the same self-contained, printable
//! HTML file `evledger verify --html` writes, for the page to offer as a download.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::BTreeMap;

use evledger::bundle::{Bundle, BundleLimits};
use evledger::evidence::FileDigest;
use evledger::trust::TrustFile;
use evledger::verify::{
    HeldFile, Report, Tool, VERIFIER_VERSION, VerifyOptions, invalid_bundle, verify_bundle_with,
    verify_parsed_with_progress,
};
use wasm_bindgen::prelude::*;

/// How messages name the trust file, whose file name the page does not pass.
const TRUST_FILE: &str = "trust file";

/// The files a trust file names (X.509 roots, policy profiles, Sigstore trusted roots), by name.
#[wasm_bindgen]
#[derive(Clone, Debug, Default)]
pub struct Files {
    by_name: BTreeMap<String, Vec<u8>>,
}

#[wasm_bindgen]
impl Files {
    /// No files.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Files {
        Files::default()
    }

    /// Adds a file under its name, replacing a file of the same name.
    pub fn add(&mut self, name: String, bytes: Vec<u8>) {
        self.by_name.insert(name, bytes);
    }
}

impl Files {
    /// The file for a name as the trust file writes it: the file of exactly that name, else the
    /// one named by its last path component, since a page receives `pad.toml` for
    /// `../profiles/pad.toml`.
    fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        self.by_name
            .get(name)
            .or_else(|| self.by_name.get(base))
            .cloned()
            .ok_or_else(|| format!("{name}: not given; add the file the trust file names"))
    }
}

/// The files the buyer holds (firmware images, documents): each is checked, by SHA-256 and size,
/// against the entries that describe it, as `evledger verify --artifact` checks it.
#[wasm_bindgen]
#[derive(Clone, Debug, Default)]
pub struct Held {
    files: Vec<HeldFile>,
}

#[wasm_bindgen]
impl Held {
    /// No files.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Held {
        Held::default()
    }

    /// Adds a file under the name to report it by; only its SHA-256 and size are kept.
    pub fn add(&mut self, name: String, bytes: &[u8]) {
        self.files.push(HeldFile {
            name,
            digest: FileDigest::of(bytes),
        });
    }
}

#[wasm_bindgen]
extern "C" {
    /// A JavaScript function, called as `progress(stage, done, total)` while a bundle is
    /// verified (the stages of `verify_parsed_with_progress`).
    #[wasm_bindgen(typescript_type = "(stage: string, done: number, total: number) => void")]
    pub type Progress;

    #[wasm_bindgen(method, js_name = call)]
    fn call(this: &Progress, this_arg: &JsValue, stage: &str, done: f64, total: f64);
}

/// The tool name reports of the verifier page give (`tool.name`).
pub const PAGE_NAME: &str = "evledger-verify.html";

/// What the page verifies with: the trust file's name (as messages name it), whether to check
/// integrity only, the files the buyer holds, and the tool the report names.
#[derive(Clone, Debug, Default)]
pub struct PageInput<'a> {
    /// The trust file's name, as the CLI names it by its path.
    pub trust_name: &'a str,
    /// Check signatures, proofs, roles and references only (`--integrity-only`).
    pub integrity_only: bool,
    /// The files the buyer holds (`--artifact`).
    pub held: Vec<HeldFile>,
    /// The tool the report names (`tool`): the page, with its own digest.
    pub tool: Tool,
    /// The bundle's SHA-256 if the caller computed it (the page, with the browser's hardware
    /// SHA-256); otherwise it is computed here.
    pub bundle_sha256: Option<[u8; 32]>,
}

/// Everything the page verifies: a bundle against a trust file named `trust_name` at `now_unix`,
/// with the files the buyer holds, for integrity only or not, reporting progress; the report as
/// JSON, as `evledger verify --json --time NOW_UNIX` prints it but for `tool`, which names the
/// page ([`PAGE_NAME`] at the verifier's version) and its digest `page_sha256` (64 hex digits).
/// `bundle_sha256`, when given, is the bundle's SHA-256 as the caller computed it (32 bytes).
///
/// # Errors
/// Throws an `Error` saying why the trust file, or a file it names, is unusable.
#[wasm_bindgen(js_name = verifyPage)]
#[allow(clippy::too_many_arguments)]
pub fn verify_page(
    bundle: &[u8],
    trust_name: &str,
    trust_toml: &str,
    files: &Files,
    held: &Held,
    now_unix: i64,
    integrity_only: bool,
    progress: &Progress,
    page_sha256: Option<String>,
    bundle_sha256: Option<Vec<u8>>,
) -> Result<String, JsError> {
    let bundle_sha256 = match bundle_sha256.map(<[u8; 32]>::try_from) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(v)) => {
            return Err(JsError::new(&format!(
                "bundle_sha256: {} bytes, not the 32 of a SHA-256",
                v.len()
            )));
        }
    };
    let input = PageInput {
        bundle_sha256,
        trust_name,
        integrity_only,
        held: held.files.clone(),
        tool: Tool {
            sha256: page_sha256,
            ..Tool::new(PAGE_NAME, VERIFIER_VERSION)
        },
    };
    let report = |stage: &'static str, done: u64, total: u64| {
        progress.call(&JsValue::NULL, stage, done as f64, total as f64);
    };
    page_report_json(bundle, trust_toml, files, now_unix, &input, &report)
        .map_err(|e| JsError::new(&e))
}

/// [`verify_page`] for Rust callers, with progress reported to `progress`.
///
/// # Errors
/// The trust file's error, naming the field and the file at fault.
pub fn page_report_json(
    bundle: &[u8],
    trust_toml: &str,
    files: &Files,
    now_unix: i64,
    input: &PageInput<'_>,
    progress: &dyn Fn(&'static str, u64, u64),
) -> Result<String, String> {
    let trust = TrustFile::parse(trust_toml, input.trust_name, &|name: &str| files.read(name))
        .map_err(|e| e.to_string())?;
    let options = VerifyOptions {
        now: Some(now_unix),
        integrity_only: input.integrity_only,
        held: input.held.clone(),
        tool: input.tool.clone(),
        bundle_sha256: Some(
            input
                .bundle_sha256
                .unwrap_or_else(|| FileDigest::of(bundle).sha256),
        ),
        ..VerifyOptions::default()
    };
    // As the command line does it: parsed once, then verified with progress; an unparsable
    // bundle is the report's failed first step.
    let report = match Bundle::parse(bundle, &BundleLimits::default()) {
        Ok(parsed) => {
            verify_parsed_with_progress(&parsed, &trust, &trust.profiles, &options, progress)
        }
        Err(e) => invalid_bundle(&trust, &e, &options),
    };
    Ok(report.to_json())
}

/// Verifies a bundle against a trust file at `now_unix` (Unix seconds) and returns the report
/// as JSON, whatever the verdict.
///
/// # Errors
/// Throws an `Error` saying why the trust file, or a file it names, is unusable.
#[wasm_bindgen]
pub fn verify(
    bundle: &[u8],
    trust_toml: &str,
    files: &Files,
    now_unix: i64,
) -> Result<String, JsError> {
    report_json(bundle, trust_toml, files, now_unix).map_err(|e| JsError::new(&e))
}

/// [`verify`] for integrity only: signatures, proofs, roles and references are checked, the
/// trust file's profiles are not applied, and no claim is judged (`"integrity_only": true`).
///
/// # Errors
/// Throws an `Error` saying why the trust file, or a file it names, is unusable.
#[wasm_bindgen(js_name = verifyIntegrityOnly)]
pub fn verify_integrity_only(
    bundle: &[u8],
    trust_toml: &str,
    files: &Files,
    now_unix: i64,
) -> Result<String, JsError> {
    report_json_with(bundle, trust_toml, files, now_unix, true).map_err(|e| JsError::new(&e))
}

/// [`verify`] for Rust callers: the report as JSON, or why the trust file is unusable.
///
/// # Errors
/// The trust file's error, naming the field and the file at fault.
pub fn report_json(
    bundle: &[u8],
    trust_toml: &str,
    files: &Files,
    now_unix: i64,
) -> Result<String, String> {
    report_json_with(bundle, trust_toml, files, now_unix, false)
}

/// [`report_json`], or with `integrity_only` the report of [`verify_integrity_only`].
///
/// # Errors
/// The trust file's error, naming the field and the file at fault.
pub fn report_json_with(
    bundle: &[u8],
    trust_toml: &str,
    files: &Files,
    now_unix: i64,
    integrity_only: bool,
) -> Result<String, String> {
    report_json_as(
        bundle,
        trust_toml,
        files,
        now_unix,
        integrity_only,
        default_tool(),
    )
}

/// The tool a report of this module names unless the page names itself: `evledger-web` at the
/// version of the evledger verifier it is built from.
pub fn default_tool() -> Tool {
    Tool::new("evledger-web", VERIFIER_VERSION)
}

/// [`verify`] (or with `integrity_only`, [`verify_integrity_only`]) naming the tool that
/// verifies: the page's name and version, and its own SHA-256 (64 hex digits) when it knows it.
/// The report's `tool.verifier_version` is always the verifier's own.
///
/// # Errors
/// Throws an `Error` saying why the trust file, or a file it names, is unusable.
#[wasm_bindgen(js_name = verifyAs)]
#[allow(clippy::too_many_arguments)]
pub fn verify_as(
    bundle: &[u8],
    trust_toml: &str,
    files: &Files,
    now_unix: i64,
    integrity_only: bool,
    tool_name: String,
    tool_version: String,
    tool_sha256: Option<String>,
) -> Result<String, JsError> {
    let tool = Tool {
        sha256: tool_sha256,
        ..Tool::new(tool_name, tool_version)
    };
    report_json_as(bundle, trust_toml, files, now_unix, integrity_only, tool)
        .map_err(|e| JsError::new(&e))
}

/// The HTML report (`evledger verify --html`) of a JSON report this module returned.
///
/// # Errors
/// Throws an `Error` when the text is not a report of this schema version.
#[wasm_bindgen(js_name = reportHtml)]
pub fn report_html(report_json: &str) -> Result<String, JsError> {
    report_html_of(report_json).map_err(|e| JsError::new(&e))
}

/// [`report_html`] for Rust callers.
///
/// # Errors
/// Why the text is not a report of this schema version, with the field at fault.
pub fn report_html_of(report_json: &str) -> Result<String, String> {
    Ok(Report::from_json(report_json)?.to_html())
}

/// [`report_json_with`] naming `tool` as the tool that verified.
///
/// # Errors
/// The trust file's error, naming the field and the file at fault.
pub fn report_json_as(
    bundle: &[u8],
    trust_toml: &str,
    files: &Files,
    now_unix: i64,
    integrity_only: bool,
    tool: Tool,
) -> Result<String, String> {
    let trust = TrustFile::parse(trust_toml, TRUST_FILE, &|name: &str| files.read(name))
        .map_err(|e| e.to_string())?;
    let options = VerifyOptions {
        now: Some(now_unix),
        integrity_only,
        tool,
        ..VerifyOptions::default()
    };
    Ok(verify_bundle_with(bundle, &trust, &trust.profiles, &options).to_json())
}
