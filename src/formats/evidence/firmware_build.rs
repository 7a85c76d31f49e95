//! `firmware-build`: what a release engineer signs for each firmware build.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::{FileField, Kind, Problems, Sha256Hex, Timestamp};

/// A signed record of one firmware build: product, version, source, artifacts and their digests,
/// SBOM and provenance digests, the biometric models inside, privacy defaults and support period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmwareBuild {
    /// The product line the build is for.
    pub product: Product,
    /// Human version string, e.g. `4.2.1`.
    pub version: String,
    /// Monotonic build number.
    pub build_number: u64,
    /// Anti-rollback security version: devices refuse builds with a lower one.
    pub security_version: u64,
    /// When the build was made.
    pub built_at: Timestamp,
    /// Where the source came from.
    pub source: SourceRef,
    /// The shipped files.
    pub artifacts: Vec<Artifact>,
    /// Software bills of materials, by digest.
    #[serde(default)]
    pub sbom: Vec<SbomDigest>,
    /// Build provenance (e.g. a SLSA / in-toto statement), by digest.
    #[serde(default)]
    pub provenance: Option<Provenance>,
    /// The biometric models the build carries.
    #[serde(default)]
    pub biometric_components: Vec<BiometricComponent>,
    /// How the build handles biometric data out of the box.
    pub privacy_defaults: PrivacyDefaults,
    /// End of the security support period.
    pub support_until: Timestamp,
    /// A Sigstore (cosign) signature over one of the artifacts, by digest (`specs/sigstore.md`).
    /// Omitted when absent, so payloads without it are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigstore: Option<SigstoreRef>,
    /// A Sigstore bundle with a DSSE in-toto attestation (e.g. SLSA provenance) about one of the
    /// artifacts, by digest (`specs/sigstore.md`); its signer may differ from `sigstore`'s.
    /// Omitted when absent, so payloads without it are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<SigstoreRef>,
}

/// A Sigstore bundle signing one artifact of the build, cited by digest, with the signer policy
/// and trusted root it was checked against when recorded. The bundle bytes are kept in the
/// ledger and attached to evidence bundles; a verifier re-checks them against the trusted root
/// its own trust file pins (never one carried in the bundle).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigstoreRef {
    /// SHA-256 of the Sigstore bundle file (`*.sigstore.json`).
    pub bundle_sha256: Sha256Hex,
    /// SHA-256 of the `trusted_root.json` the bundle was verified against.
    pub trusted_root_sha256: Sha256Hex,
    /// The name of the artifact (in `artifacts`) whose SHA-256 the bundle signs.
    pub artifact: String,
    /// Expected Fulcio certificate identity (SAN), for keyless signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Expected OIDC issuer URL, for keyless signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// SHA-256 of the managed public key (SubjectPublicKeyInfo DER), for key-based signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_sha256: Option<Sha256Hex>,
}

impl FirmwareBuild {
    /// The artifact the Sigstore bundle signs, if the build cites one and names a listed artifact.
    pub fn sigstore_artifact(&self) -> Option<(&SigstoreRef, &Artifact)> {
        let s = self.sigstore.as_ref()?;
        let a = self.artifacts.iter().find(|a| a.name == s.artifact)?;
        Some((s, a))
    }

    /// The artifact the attestation bundle is about, if the build cites one and names a listed
    /// artifact.
    pub fn attestation_artifact(&self) -> Option<(&SigstoreRef, &Artifact)> {
        let s = self.attestation.as_ref()?;
        let a = self.artifacts.iter().find(|a| a.name == s.artifact)?;
        Some((s, a))
    }

    /// The documents the ledger keeps for this build and attaches to bundles, by field: the
    /// Sigstore bundle, the attestation bundle, and their managed keys.
    pub fn kept_documents(&self) -> Vec<(&'static str, &Sha256Hex)> {
        let mut out = Vec::new();
        if let Some(sg) = &self.sigstore {
            out.push(("sigstore.bundle_sha256", &sg.bundle_sha256));
            out.extend(sg.key_sha256.as_ref().map(|k| ("sigstore.key_sha256", k)));
        }
        if let Some(at) = &self.attestation {
            out.push(("attestation.bundle_sha256", &at.bundle_sha256));
            out.extend(
                at.key_sha256
                    .as_ref()
                    .map(|k| ("attestation.key_sha256", k)),
            );
        }
        out
    }
}

/// The product a build is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// The manufacturer.
    pub vendor: String,
    /// The product family.
    pub family: String,
    /// Model numbers the build runs on.
    pub models: Vec<String>,
}

/// The source a build was made from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    /// Repository locator.
    pub repo: String,
    /// Commit id (hex, 40 or 64 digits).
    pub commit: String,
}

/// One shipped file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// File name.
    pub name: String,
    /// SHA-256 of the file.
    pub sha256: Sha256Hex,
    /// Size in bytes.
    pub size: u64,
}

/// An SBOM document by digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SbomDigest {
    /// Format and version, e.g. `spdx-2.3` or `cyclonedx-1.6`.
    pub format: String,
    /// SHA-256 of the document.
    pub sha256: Sha256Hex,
}

/// A provenance statement by digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Statement type, e.g. `https://slsa.dev/provenance/v1`.
    pub predicate_type: String,
    /// SHA-256 of the statement.
    pub sha256: Sha256Hex,
}

/// What a biometric component does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentRole {
    /// Compares a probe with enrolled templates.
    Matcher,
    /// Presentation attack detection (liveness).
    Pad,
    /// Face or iris detection and quality.
    Detector,
}

/// A biometric model inside the build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BiometricComponent {
    /// What it does.
    pub role: ComponentRole,
    /// Component name.
    pub name: String,
    /// Component version.
    pub version: String,
    /// SHA-256 of the model file.
    pub model_sha256: Sha256Hex,
}

/// Privacy-relevant defaults of the build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyDefaults {
    /// Only templates are stored, never raw images.
    pub template_only_storage: bool,
    /// Matching runs on the device; no biometric data leaves it for matching.
    pub on_device_matching: bool,
    /// Raw capture images are retained.
    pub raw_images_retained: bool,
    /// How long templates are kept by default, in days, if limited.
    #[serde(default)]
    pub template_retention_days: Option<u32>,
}

impl Kind for FirmwareBuild {
    const KIND: &'static str = "firmware-build";
    const FILE_FIELDS: &'static [FileField] = &[
        FileField {
            at: "artifacts[]",
            file: "file",
            sha256: "sha256",
            size: Some("size"),
        },
        FileField {
            at: "sbom[]",
            file: "file",
            sha256: "sha256",
            size: None,
        },
        FileField {
            at: "provenance",
            file: "file",
            sha256: "sha256",
            size: None,
        },
        FileField {
            at: "biometric_components[]",
            file: "model_file",
            sha256: "model_sha256",
            size: None,
        },
    ];

    fn validate(&self, p: &mut Problems) {
        p.text("product.vendor", &self.product.vendor, 200);
        p.text("product.family", &self.product.family, 200);
        p.check(
            !self.product.models.is_empty(),
            "product.models",
            "must list at least one model",
        );
        for (i, m) in self.product.models.iter().enumerate() {
            p.text(&format!("product.models[{i}]"), m, 200);
        }
        p.unique("product.models", &self.product.models, String::as_str);
        p.text("version", &self.version, 100);
        p.text("source.repo", &self.source.repo, 1000);
        let c = &self.source.commit;
        p.check(
            crate::hex::is_lower_hex(c, 20) || crate::hex::is_lower_hex(c, 32),
            "source.commit",
            "must be a 40- or 64-digit lower-case hex commit id",
        );
        p.check(
            !self.artifacts.is_empty(),
            "artifacts",
            "must list at least one artifact",
        );
        for (i, a) in self.artifacts.iter().enumerate() {
            p.text(&format!("artifacts[{i}].name"), &a.name, 500);
            p.check(a.size > 0, format!("artifacts[{i}].size"), "must be > 0");
        }
        p.unique("artifacts", &self.artifacts, |a| a.name.as_str());
        for (i, s) in self.sbom.iter().enumerate() {
            p.text(&format!("sbom[{i}].format"), &s.format, 100);
        }
        if let Some(pr) = &self.provenance {
            p.text("provenance.predicate_type", &pr.predicate_type, 500);
        }
        for (i, c) in self.biometric_components.iter().enumerate() {
            p.text(&format!("biometric_components[{i}].name"), &c.name, 200);
            p.text(
                &format!("biometric_components[{i}].version"),
                &c.version,
                100,
            );
        }
        let pd = &self.privacy_defaults;
        p.check(
            !(pd.template_only_storage && pd.raw_images_retained),
            "privacy_defaults.raw_images_retained",
            "contradicts template_only_storage = true",
        );
        p.check(
            pd.template_retention_days != Some(0),
            "privacy_defaults.template_retention_days",
            "must be > 0 (omit it for no limit)",
        );
        for (field, sg) in [
            ("sigstore", &self.sigstore),
            ("attestation", &self.attestation),
        ] {
            let Some(sg) = sg else { continue };
            p.text(&format!("{field}.artifact"), &sg.artifact, 500);
            p.check(
                self.artifacts.iter().any(|a| a.name == sg.artifact),
                format!("{field}.artifact"),
                "must name one of the build's artifacts",
            );
            match (&sg.identity, &sg.issuer, &sg.key_sha256) {
                (Some(id), Some(iss), None) => {
                    p.text(&format!("{field}.identity"), id, 1000);
                    p.text(&format!("{field}.issuer"), iss, 1000);
                }
                (None, None, Some(_)) => {}
                _ => p.check(
                    false,
                    field,
                    "needs identity and issuer (keyless signing) or key_sha256 (a managed key), not both",
                ),
            }
        }
        p.check(
            self.support_until > self.built_at,
            "support_until",
            "must be after built_at",
        );
    }

    fn summary(&self) -> String {
        format!(
            "{} {} {} build {} (security version {})",
            self.product.vendor,
            self.product.family,
            self.version,
            self.build_number,
            self.security_version
        )
    }

    fn render(&self) -> String {
        let mut s = String::new();
        let pd = &self.privacy_defaults;
        // Writing to a String cannot fail.
        let _ = writeln!(
            s,
            "firmware build  {} {} {}",
            self.product.vendor, self.product.family, self.version
        );
        let _ = writeln!(s, "  models            {}", self.product.models.join(", "));
        let _ = writeln!(s, "  build number      {}", self.build_number);
        let _ = writeln!(s, "  security version  {}", self.security_version);
        let _ = writeln!(s, "  built at          {}", self.built_at);
        let _ = writeln!(
            s,
            "  source            {} @ {}",
            self.source.repo, self.source.commit
        );
        let _ = writeln!(s, "  support until     {}", self.support_until);
        let _ = writeln!(s, "  artifacts");
        for a in &self.artifacts {
            let _ = writeln!(s, "    {}  {}  {} bytes", a.sha256, a.name, a.size);
        }
        for b in &self.sbom {
            let _ = writeln!(s, "  sbom              {} {}", b.format, b.sha256);
        }
        if let Some(p) = &self.provenance {
            let _ = writeln!(s, "  provenance        {} {}", p.predicate_type, p.sha256);
        }
        for c in &self.biometric_components {
            let role = match c.role {
                ComponentRole::Matcher => "matcher",
                ComponentRole::Pad => "pad",
                ComponentRole::Detector => "detector",
            };
            let _ = writeln!(
                s,
                "  {role:<17} {} {} model {}",
                c.name, c.version, c.model_sha256
            );
        }
        for (label, sg) in [
            ("sigstore   ", &self.sigstore),
            ("attestation", &self.attestation),
        ] {
            let Some(sg) = sg else { continue };
            let _ = writeln!(
                s,
                "  {label}       bundle {} over {}",
                sg.bundle_sha256, sg.artifact
            );
            match (&sg.identity, &sg.issuer, &sg.key_sha256) {
                (Some(id), Some(iss), _) => {
                    let _ = writeln!(s, "    signed by       {id}");
                    let _ = writeln!(s, "    issuer          {iss}");
                }
                (_, _, Some(k)) => {
                    let _ = writeln!(s, "    signed by key   sha256 {k}");
                }
                _ => {}
            }
            let _ = writeln!(s, "    trusted root    sha256 {}", sg.trusted_root_sha256);
        }
        let _ = writeln!(
            s,
            "  privacy defaults  template-only storage: {}, on-device matching: {}, raw images retained: {}{}",
            yes(pd.template_only_storage),
            yes(pd.on_device_matching),
            yes(pd.raw_images_retained),
            pd.template_retention_days
                .map(|d| format!(", templates kept {d} days"))
                .unwrap_or_default()
        );
        s
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
