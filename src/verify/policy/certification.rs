//! Compliance claims (`specs/policy.md`, "compliance-claim-backed"): a claim's compliance
//! assertion names a certification scheme, and a certificate of that scheme, endorsed by the
//! certification body, valid at the claim's log time and not suspended or withdrawn by any later
//! entry, covers the claimed models and build versions.

use super::accuracy::{cited, endorsed_by};
use super::{PolicyEntry, PolicyView, clocked};
use crate::evidence::{
    AssertionType, CERTIFICATION_SCHEMES, CertificateStatus, Certification, CertificationScheme,
    Claim, Evidence,
};
use crate::verify::policy::profile::{DeadlineClock, Rule};
use crate::verify::{Check, Clock};

/// The scheme names the `certification` kind knows, for messages.
pub(super) fn scheme_names() -> String {
    CERTIFICATION_SCHEMES
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a `compliance-claim-backed` rule is unusable as a profile gives it, as `FIELD: why`.
pub(super) fn profile_problem(rule: &Rule) -> Option<String> {
    let Rule::ComplianceClaimBacked {
        schemes,
        certifier_role,
        ..
    } = rule
    else {
        return None;
    };
    if let Some(s) = schemes
        .iter()
        .find(|s| CertificationScheme::from_name(s).is_none())
    {
        return Some(format!(
            "schemes: {s:?} is not a certification scheme ({})",
            scheme_names()
        ));
    }
    certifier_role
        .trim()
        .is_empty()
        .then(|| "certifier_role: must not be empty".to_owned())
}

fn certification(e: &Evidence) -> Option<&Certification> {
    match e {
        Evidence::Certification(c) => Some(c),
        _ => None,
    }
}

/// The latest record of the certificate recorded at `start`: the verified `certification`
/// entry, later in the log, with the same body and certificate id or superseding one of the
/// records found so far (`start` itself if there is none). Supersession cites earlier entries
/// only, so one pass in log order finds the whole chain.
fn latest<'v, 'a>(
    view: &'v PolicyView<'a>,
    start: &'v PolicyEntry<'a>,
    cert: &'a Certification,
) -> (&'v PolicyEntry<'a>, &'a Certification) {
    let mut hashes = vec![start.entry_hash];
    let mut cur = (start, cert);
    let mut later: Vec<_> = view
        .entries
        .iter()
        .filter(|e| e.index > start.index && e.role.is_some())
        .filter_map(|e| certification(e.evidence).map(|c| (e, c)))
        .collect();
    later.sort_by_key(|(e, _)| e.index);
    for (e, c) in later {
        let same = c.body.name == cert.body.name && c.certificate_id == cert.certificate_id;
        let supersedes = c.supersedes.is_some_and(|s| hashes.contains(&s.0));
        if same || supersedes {
            hashes.push(e.entry_hash);
            cur = (e, c);
        }
    }
    cur
}

/// The first number in a level text (`EAL4+` is 4, `SL 2` is 2, `Level 3` is 3), if any.
fn level_number(level: &str) -> Option<u64> {
    let digits: String = level
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Why the certificate's scope does not cover what the claim applies to, one message each.
fn scope_problems(view: &PolicyView<'_>, claim: &Claim, cert: &Certification) -> Vec<String> {
    let covered = || {
        cert.scope
            .products
            .iter()
            .map(|p| format!("{} {}", p.model, p.versions.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut out = Vec::new();
    for (mi, m) in claim.applies_to.models.iter().enumerate() {
        if !cert.covers_model(m) {
            out.push(format!(
                "applies_to.models[{mi}] {m} is outside the scope of certificate {} (it covers {})",
                cert.certificate_id,
                if cert.scope.products.is_empty() {
                    "no products".to_owned()
                } else {
                    covered()
                }
            ));
        }
    }
    for (bi, b) in claim.applies_to.builds.iter().enumerate() {
        let Some(fb) = view.build(&b.0) else {
            out.push(format!(
                "applies_to.builds[{bi}] is not a verified firmware build in the bundle, so its version cannot be compared with the certificate's scope"
            ));
            continue;
        };
        let models: Vec<&String> = if claim.applies_to.models.is_empty() {
            fb.product.models.iter().collect()
        } else {
            fb.product
                .models
                .iter()
                .filter(|m| claim.applies_to.models.contains(m))
                .collect()
        };
        for m in models {
            if cert.covers_model(m) && !cert.covers(m, &fb.version) {
                out.push(format!(
                    "applies_to.builds[{bi}] (firmware {} on the {m}) is outside the scope of certificate {} (it covers {})",
                    fb.version,
                    cert.certificate_id,
                    covered()
                ));
            } else if !cert.covers_model(m) && claim.applies_to.models.is_empty() {
                out.push(format!(
                    "applies_to.builds[{bi}] runs on the {m}, which is outside the scope of certificate {}",
                    cert.certificate_id
                ));
            }
        }
    }
    out
}

/// The `compliance-claim-backed` rule: one check per compliance assertion of each claim.
pub(super) fn claims_backed(rule: &Rule, view: &PolicyView<'_>, out: &mut Vec<Check>) {
    let Rule::ComplianceClaimBacked {
        schemes,
        certifier_role,
        require_product_scope,
        clock,
        ..
    } = rule
    else {
        return;
    };
    for (ce, claim) in view.claims() {
        for (ai, a) in claim.assertions.iter().enumerate() {
            if a.kind != AssertionType::Compliance {
                continue;
            }
            let field = Some(format!("assertions[{ai}]"));
            // The time the certificate must be valid at: when the claim was in the log.
            let (at, used) = match (ce.witnessed_at, clock) {
                (Some(w), _) => (Some(w), Clock::Witnessed),
                (None, DeadlineClock::WitnessedIfPresent) => (Some(ce.iat), Clock::SelfAsserted),
                (None, _) => (None, Clock::Witnessed),
            };
            let at = at.and_then(|t| i64::try_from(t).ok());
            let named = a.scheme.as_deref().unwrap_or_default();
            let says = format!(
                "claim {:?} asserts compliance with {}",
                claim.claim_id,
                if named.is_empty() {
                    a.standard.as_deref().unwrap_or("an unnamed scheme")
                } else {
                    named
                }
            );
            let scheme = CertificationScheme::from_name(named);
            let mut general = Vec::new();
            match scheme {
                None if named.is_empty() => general.push(format!(
                    "the assertion names no certification scheme, so no certificate can back it (schemes a certificate can back: {})",
                    scheme_names()
                )),
                None => general.push(format!(
                    "{named} is not a certification scheme a certificate can back (known: {}); a regulation or standard by itself is not evidence of compliance",
                    scheme_names()
                )),
                Some(s) if !schemes.is_empty() && !schemes.iter().any(|x| x == s.as_str()) => {
                    general.push(format!(
                        "your profile does not accept {s} certificates ({})",
                        schemes.join(", ")
                    ));
                }
                Some(_) => {}
            }
            if let Some(metric) = &a.metric {
                general.push(format!(
                    "it bounds the metric {metric}, which no certificate reports (a measured rate is an accuracy or PAD assertion)"
                ));
            }
            if at.is_none() {
                general.push(
                    "the claim has no witnessed time, and your profile's clock \"witnessed\" accepts no self-asserted time to judge the certificate's validity at (the bundle's checkpoint needs cosignatures from a quorum of trusted witnesses)".into(),
                );
            }
            let candidates: Vec<_> = cited(view, claim, certification)
                .into_iter()
                .filter(|(_, c)| Some(c.scheme) == scheme)
                .collect();
            if candidates.is_empty() && scheme.is_some() {
                general.push(format!(
                    "it cites no verified {named} certificate (directly or through a countersignature): a {named} certificate countersigned by a key in role {certifier_role}, valid when the claim was in the log and covering the claimed models and firmware versions, would back it"
                ));
            }
            let mut best: Option<(u64, Vec<String>)> = None;
            for (start, first) in &candidates {
                let (e, c) = latest(view, start, first);
                let mut p = Vec::new();
                if c.status != CertificateStatus::Valid {
                    let since = c
                        .status_since
                        .map(|t| format!(" since {t}"))
                        .unwrap_or_default();
                    p.push(if e.index == start.index {
                        format!(
                            "entry {} records certificate {} as {}{since}",
                            e.index, c.certificate_id, c.status
                        )
                    } else {
                        format!(
                            "certificate {} is {}{since}: entry {}, later in the log than the certificate the claim cites (entry {}), records it",
                            c.certificate_id, c.status, e.index, start.index
                        )
                    });
                } else if !endorsed_by(view, e, certifier_role) {
                    p.push(format!(
                        "certificate {} (entry {}) is neither signed nor countersigned by a key in role {certifier_role}, the certification body your profile requires",
                        c.certificate_id, e.index
                    ));
                }
                if let Some(t) = at
                    && !(c.validity.from.0 <= t && t <= c.validity.to.0)
                {
                    p.push(format!(
                        "certificate {} was not valid when the claim was in the log ({}; it is valid {} to {})",
                        c.certificate_id,
                        crate::time::format_rfc3339(t),
                        c.validity.from,
                        c.validity.to
                    ));
                }
                if let Some(named) = &a.standard {
                    let edition = format!("{}:{}", c.scheme, c.scheme_version);
                    if named != c.scheme.as_str() && *named != edition {
                        p.push(format!(
                            "the claim names {named}; certificate {} is to {edition}",
                            c.certificate_id
                        ));
                    }
                }
                if let Some(want) = a.level {
                    let has = c.level.as_deref().and_then(level_number);
                    if has.is_none_or(|h| h < u64::from(want)) {
                        p.push(format!(
                            "the claim asserts level {want}; certificate {} states {}",
                            c.certificate_id,
                            c.level.as_deref().unwrap_or("no level")
                        ));
                    }
                }
                if *require_product_scope {
                    p.extend(scope_problems(view, claim, c));
                } else if c.scope.organisation_units.is_empty() {
                    p.push(format!(
                        "certificate {} names no organisation unit in its scope",
                        c.certificate_id
                    ));
                }
                if best.as_ref().is_none_or(|(_, bp)| p.len() < bp.len()) {
                    best = Some((e.index, p));
                }
            }
            let problems: Vec<String> = general
                .into_iter()
                .chain(best.as_ref().map(|(_, p)| p.clone()).unwrap_or_default())
                .collect();
            let ok = problems.is_empty();
            let when = match (at, used) {
                (Some(t), Clock::Witnessed) => format!(
                    " at the witnessed time the claim was in the log ({})",
                    crate::time::format_rfc3339(t)
                ),
                (Some(t), _) => format!(
                    " at the claim's self-asserted iat ({}), as it has no witnessed time",
                    crate::time::format_rfc3339(t)
                ),
                (None, _) => String::new(),
            };
            let message = match (&best, ok) {
                (Some((n, _)), true) => {
                    format!("{says}; backed by the certificate of entry {n}, valid{when}")
                }
                _ => format!("{says}; but {}", problems.join("; ")),
            };
            out.push(clocked(rule, ce.index, field, ok, used, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::level_number;

    #[test]
    fn levels_read_their_first_number() {
        assert_eq!(level_number("EAL4+"), Some(4));
        assert_eq!(level_number("SL 2"), Some(2));
        assert_eq!(level_number("Level 3"), Some(3));
        assert_eq!(level_number("module H"), None);
        assert_eq!(level_number("99999999999999999999999"), None);
    }
}
