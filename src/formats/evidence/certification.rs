//! `certification`: a certificate issued under a certification scheme (ISO/IEC 27001, FIDO
//! Biometric Component, Common Criteria, IEC 62443-4-2, EN 18031, a CRA conformity assessment),
//! with its scope, validity and status; countersigned by the certification body with its X.509
//! chain. An entry recording a suspension or withdrawal, or superseding an earlier entry, is
//! adverse evidence (`specs/completeness.md`).

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::types::text_enum;
use super::{EntryRef, FileField, Kind, Problems, Reference, Sha256Hex, Timestamp};

/// One certificate, as the certification body issued it, at one status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certification {
    /// The scheme the certificate is issued under.
    pub scheme: CertificationScheme,
    /// The edition of the scheme's standard, e.g. `2022` for ISO/IEC 27001:2022.
    pub scheme_version: String,
    /// Common Criteria only (required there): the protection profile evaluated against.
    #[serde(default)]
    pub protection_profile: Option<String>,
    /// The level as the scheme names it (CC `EAL2+`, IEC 62443-4-2 `SL 2`, FIDO `Level 2`, the
    /// CRA module `H`), if the scheme has levels.
    #[serde(default)]
    pub level: Option<String>,
    /// Who issued the certificate.
    pub body: CertificationBody,
    /// The certificate's id with that body.
    pub certificate_id: String,
    /// What the certificate covers.
    pub scope: Scope,
    /// When it is valid (inclusive).
    pub validity: Validity,
    /// Valid, suspended or withdrawn, as of `status_since`.
    pub status: CertificateStatus,
    /// Since when the status holds; required unless the status is `valid`.
    #[serde(default)]
    pub status_since: Option<Timestamp>,
    /// The certificate document.
    pub document: CertificateDocument,
    /// The `certification` entry this one replaces (a renewal, a re-scoping, a status change).
    #[serde(default)]
    pub supersedes: Option<EntryRef>,
}

text_enum! {
    /// The certification schemes this version knows, by the names claims use for them.
    pub enum CertificationScheme {
        /// Information security management systems (ISO/IEC 27001).
        Iso27001 = "ISO/IEC 27001",
        /// FIDO Alliance Biometric Component Certification.
        FidoBiometric = "FIDO Biometric Component",
        /// Common Criteria (ISO/IEC 15408) against a protection profile.
        CommonCriteria = "Common Criteria",
        /// IEC 62443-4-2 component security requirements.
        Iec62443Component = "IEC 62443-4-2",
        /// EN 18031 (radio equipment cybersecurity, RED delegated act).
        En18031 = "EN 18031",
        /// A Cyber Resilience Act conformity assessment (Regulation (EU) 2024/2847, Art. 32).
        CraConformity = "CRA conformity assessment",
    }
}

/// Every scheme name, in declaration order.
pub const CERTIFICATION_SCHEMES: &[CertificationScheme] = &[
    CertificationScheme::Iso27001,
    CertificationScheme::FidoBiometric,
    CertificationScheme::CommonCriteria,
    CertificationScheme::Iec62443Component,
    CertificationScheme::En18031,
    CertificationScheme::CraConformity,
];

impl CertificationScheme {
    /// The scheme a name denotes, exactly as written in certifications.
    pub fn from_name(name: &str) -> Option<CertificationScheme> {
        CERTIFICATION_SCHEMES
            .iter()
            .copied()
            .find(|s| s.as_str() == name)
    }
}

/// The certification body and its accreditation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificationBody {
    /// The body's name.
    pub name: String,
    /// Who accredits (or, for the CRA, notifies) it, e.g. `DAkkS`.
    pub accreditation_body: String,
    /// Its accreditation id (or notified body number).
    pub accreditation_id: String,
}

/// What a certificate covers: organisation units, and product models with their versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Organisation units (sites, departments) in scope.
    #[serde(default)]
    pub organisation_units: Vec<String>,
    /// Products in scope.
    #[serde(default)]
    pub products: Vec<ScopeProduct>,
}

/// One product model in scope, with the versions the certificate covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeProduct {
    /// The device model, as claims and firmware builds name it.
    pub model: String,
    /// Firmware versions covered, as firmware builds write `version`.
    pub versions: Vec<String>,
}

/// A validity period (inclusive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validity {
    /// First moment of validity.
    pub from: Timestamp,
    /// Last moment of validity.
    pub to: Timestamp,
}

text_enum! {
    /// A certificate's status.
    pub enum CertificateStatus {
        /// In force.
        Valid = "valid",
        /// Temporarily not in force.
        Suspended = "suspended",
        /// Permanently withdrawn.
        Withdrawn = "withdrawn",
    }
}

/// The certificate document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateDocument {
    /// SHA-256 of the document.
    pub sha256: Sha256Hex,
    /// Where the body publishes it, e.g. a URL of its register.
    #[serde(default)]
    pub locator: Option<String>,
}

impl Certification {
    /// Whether this entry is adverse: it suspends or withdraws a certificate, or supersedes an
    /// earlier entry.
    pub fn is_adverse(&self) -> bool {
        self.status != CertificateStatus::Valid || self.supersedes.is_some()
    }

    /// Whether the scope lists `model` at `version`.
    pub fn covers(&self, model: &str, version: &str) -> bool {
        self.scope
            .products
            .iter()
            .any(|p| p.model == model && p.versions.iter().any(|v| v == version))
    }

    /// Whether the scope lists `model` at all.
    pub fn covers_model(&self, model: &str) -> bool {
        self.scope.products.iter().any(|p| p.model == model)
    }
}

impl Kind for Certification {
    const KIND: &'static str = "certification";
    const FILE_FIELDS: &'static [FileField] = &[FileField {
        at: "document",
        file: "file",
        sha256: "sha256",
        size: None,
    }];

    fn validate(&self, p: &mut Problems) {
        p.text("scheme_version", &self.scheme_version, 100);
        let cc = self.scheme == CertificationScheme::CommonCriteria;
        match (&self.protection_profile, cc) {
            (None, true) => p.add(
                "protection_profile",
                "required for a Common Criteria certificate",
            ),
            (Some(_), false) => p.add(
                "protection_profile",
                "only applies to Common Criteria certificates",
            ),
            (Some(pp), true) => p.text("protection_profile", pp, 200),
            (None, false) => {}
        }
        p.opt_text("level", self.level.as_deref(), 100);
        p.text("body.name", &self.body.name, 200);
        p.text(
            "body.accreditation_body",
            &self.body.accreditation_body,
            200,
        );
        p.text("body.accreditation_id", &self.body.accreditation_id, 200);
        p.text("certificate_id", &self.certificate_id, 200);
        let s = &self.scope;
        p.check(
            !s.organisation_units.is_empty() || !s.products.is_empty(),
            "scope",
            "must list at least one organisation unit or product",
        );
        p.texts("scope.organisation_units", &s.organisation_units, 200);
        for (i, prod) in s.products.iter().enumerate() {
            p.text(&format!("scope.products[{i}].model"), &prod.model, 200);
            p.check(
                !prod.versions.is_empty(),
                format!("scope.products[{i}].versions"),
                "must list at least one version",
            );
            p.texts(
                &format!("scope.products[{i}].versions"),
                &prod.versions,
                100,
            );
        }
        p.unique("scope.products", &s.products, |x| x.model.clone());
        p.check(
            self.validity.to > self.validity.from,
            "validity.to",
            "must be after validity.from",
        );
        match (self.status, self.status_since) {
            (CertificateStatus::Valid, _) => {}
            (_, None) => p.add(
                "status_since",
                format!("required when status is {}", self.status),
            ),
            (_, Some(t)) => p.check(
                t >= self.validity.from,
                "status_since",
                "must not be before validity.from",
            ),
        }
        p.opt_text("document.locator", self.document.locator.as_deref(), 2000);
    }

    fn references(&self) -> Vec<Reference> {
        self.supersedes
            .iter()
            .map(|s| Reference {
                path: "supersedes".into(),
                entry: s.0,
                kinds: &[Certification::KIND],
            })
            .collect()
    }

    fn summary(&self) -> String {
        format!(
            "{} certificate {} by {}: {} ({} to {})",
            self.scheme,
            self.certificate_id,
            self.body.name,
            self.status,
            self.validity.from,
            self.validity.to
        )
    }

    fn render(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            s,
            "certification  {} ({})",
            self.certificate_id, self.body.name
        );
        let _ = writeln!(
            s,
            "  scheme          {} {}",
            self.scheme, self.scheme_version
        );
        if let Some(pp) = &self.protection_profile {
            let _ = writeln!(s, "  protection prof {pp}");
        }
        if let Some(l) = &self.level {
            let _ = writeln!(s, "  level           {l}");
        }
        let _ = writeln!(
            s,
            "  body            {}, accredited by {} ({})",
            self.body.name, self.body.accreditation_body, self.body.accreditation_id
        );
        for u in &self.scope.organisation_units {
            let _ = writeln!(s, "  scope unit      {u}");
        }
        for prod in &self.scope.products {
            let _ = writeln!(
                s,
                "  scope product   {} versions {}",
                prod.model,
                prod.versions.join(", ")
            );
        }
        let _ = writeln!(
            s,
            "  valid           {} to {}",
            self.validity.from, self.validity.to
        );
        let since = self
            .status_since
            .map(|t| format!(" since {t}"))
            .unwrap_or_default();
        let _ = writeln!(s, "  status          {}{since}", self.status);
        let locator = self
            .document
            .locator
            .as_ref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  document        sha256 {}{locator}",
            self.document.sha256
        );
        if let Some(sup) = &self.supersedes {
            let _ = writeln!(s, "  supersedes      {sup}");
        }
        s
    }
}
