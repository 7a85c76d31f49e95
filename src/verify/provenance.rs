//! What a filed report says beyond the checks: which inputs were verified (their digests), by
//! which tool and when, the checkpoint's cosignatures, and each claim in plain words.
//!
//! Every digest is of bytes the caller passed; the verifier reads no file and no clock
//! (`specs/verification.md`, "Inputs").

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::evidence::{Assertion, AssertionType, Claim, Kind as _};

/// The tool that verified, as the report names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// The tool's name: `evledger` for the command line; a web page gives its own.
    pub name: String,
    /// The tool's version.
    pub version: String,
    /// The version of the evledger library whose verifier made the checks; the verifier sets it,
    /// whatever the caller gives.
    pub verifier_version: String,
    /// The tool's own SHA-256, 64 lower-case hex digits, when it knows it (a web page's digest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The version of this library, which every report names as its verifier's.
pub const VERIFIER_VERSION: &str = env!("CARGO_PKG_VERSION");

impl Tool {
    /// A tool of this name and version, with no digest of its own.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Tool {
        Tool {
            name: name.into(),
            version: version.into(),
            verifier_version: VERIFIER_VERSION.to_owned(),
            sha256: None,
        }
    }
}

impl Default for Tool {
    /// The `evledger` command line of this library's version.
    fn default() -> Tool {
        Tool::new("evledger", VERIFIER_VERSION)
    }
}

/// A policy profile the verifier was given, identified by its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileDigest {
    /// The profile's `id`.
    pub id: String,
    /// The profile's `version`.
    pub version: String,
    /// The profile's `title`.
    pub title: String,
    /// The SHA-256 of the profile's text as it was parsed, 64 lower-case hex digits.
    pub sha256: String,
}

/// A trusted witness's cosignature that verified on the bundle's checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cosignature {
    /// The witness's name, as the trust file lists it.
    pub witness: String,
    /// The witness key's C2SP key id, 8 lower-case hex digits.
    pub key_id: String,
    /// The cosignature's timestamp (Unix seconds): the latest of the witness's valid lines.
    pub timestamp: u64,
}

/// A claim entry in plain words, with what it cites.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimSummary {
    /// The claim's entry index.
    pub entry: u64,
    /// The claim's `claim_id`.
    pub claim_id: String,
    /// The claim's wording, exactly as signed.
    pub wording: String,
    /// The wording's language (BCP 47).
    pub language: String,
    /// What the claim is about: its models and cited builds, in words.
    pub applies_to: String,
    /// Each assertion in plain words, in order (`assertions[i]`).
    pub assertions: Vec<String>,
    /// Every entry the claim cites (`applies_to.builds[i]`, `evidence[i]`, `supersedes`), in
    /// the order of its references.
    pub cites: Vec<Cited>,
}

/// One entry a claim cites.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cited {
    /// The citing field, e.g. `evidence[0]`.
    pub field: String,
    /// The cited entry hash, 64 lower-case hex digits.
    pub entry_hash: String,
    /// The cited entry's index, when it is in the bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<u64>,
}

/// The lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::hex::encode(&Sha256::digest(bytes))
}

/// A claim in plain words; `index_of` finds a cited entry's index in the bundle by its hash.
pub fn claim_summary(
    entry: u64,
    claim: &Claim,
    index_of: &dyn Fn(&[u8; 32]) -> Option<u64>,
) -> ClaimSummary {
    let mut about: Vec<String> = Vec::new();
    if !claim.applies_to.models.is_empty() {
        about.push(format!("models {}", claim.applies_to.models.join(", ")));
    }
    let builds = claim.applies_to.builds.len();
    if builds > 0 {
        about.push(format!(
            "{builds} cited firmware build{}",
            if builds == 1 { "" } else { "s" }
        ));
    }
    ClaimSummary {
        entry,
        claim_id: claim.claim_id.clone(),
        wording: claim.wording.clone(),
        language: claim.language.clone(),
        applies_to: about.join("; "),
        assertions: claim.assertions.iter().map(describe_assertion).collect(),
        cites: claim
            .references()
            .into_iter()
            .map(|r| Cited {
                field: r.path,
                entry_hash: crate::hex::encode(&r.entry),
                entry: index_of(&r.entry),
            })
            .collect(),
    }
}

/// An assertion in plain words: what it is about, then each of its terms that is set.
pub fn describe_assertion(a: &Assertion) -> String {
    let what = match a.kind {
        AssertionType::Pad => "presentation attack detection (liveness)",
        AssertionType::Accuracy => "recognition accuracy",
        AssertionType::PrivacyDesign => "privacy by design",
        AssertionType::Compliance => "compliance",
    };
    let mut terms: Vec<String> = Vec::new();
    if let Some(s) = &a.standard {
        terms.push(format!("to {s}"));
    }
    match (&a.scheme, a.level) {
        (Some(s), Some(l)) => terms.push(format!("{s} level {l}")),
        (Some(s), None) => terms.push(s.clone()),
        (None, Some(l)) => terms.push(format!("level {l}")),
        (None, None) => {}
    }
    if !a.species_required.is_empty() {
        let species: Vec<&str> = a.species_required.iter().map(|s| s.as_str()).collect();
        terms.push(format!("covering attack species {}", species.join(", ")));
    }
    if let Some(m) = a.mode {
        terms.push(format!("in {m} mode"));
    }
    match (&a.metric, a.comparator, a.value) {
        (Some(m), Some(c), Some(v)) => terms.push(format!("{m} {} {v}", c.symbol())),
        (Some(m), _, _) => terms.push(format!("metric {m}")),
        _ => {}
    }
    if let Some(h) = &a.matcher_sha256 {
        terms.push(format!(
            "for the matcher model with SHA-256 {}",
            crate::hex::encode(&h.0)
        ));
    }
    if terms.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {}", terms.join(", "))
    }
}
