//! Step 8b: each firmware build that cites a Sigstore bundle (`sigstore`) or a Sigstore
//! attestation (`attestation`) has it re-checked offline, against a trusted root the buyer's
//! trust file pins (never one carried in the bundle), with the identity and issuer (or key) and
//! the artifact digest the signed entry records. What a verified attestation says is returned
//! for the `slsa-provenance` policy rule.
//!
//! Without the `sigstore` feature the check fails closed: the build is reported as not checked.
//! So does it without the current time in `VerifyOptions::now`, which the check needs to
//! refuse a signing time in the future.

use std::collections::BTreeMap;

use super::policy::Attested;
use super::{ParsedEntry, Run, Step};
use crate::bundle::Bundle;
use crate::evidence::{Evidence, FirmwareBuild, SigstoreRef};

/// Checks every firmware build's Sigstore citations at time `now` (Unix seconds), if given;
/// returns, by entry index, what each verified attestation says.
pub(super) fn check_sigstore(
    run: &mut Run<'_>,
    bundle: &Bundle,
    entries: &[ParsedEntry],
    now: Option<i64>,
) -> BTreeMap<u64, Attested> {
    let mut attested = BTreeMap::new();
    for e in entries {
        let Evidence::FirmwareBuild(fb) = &e.evidence else {
            continue;
        };
        for (field, sg) in [("sigstore", &fb.sigstore), ("attestation", &fb.attestation)] {
            if let Some(sg) = sg
                && let Some(a) = check_build(run, bundle, e.index, fb, field, sg, now)
            {
                attested.insert(e.index, a);
            }
        }
    }
    attested
}

#[cfg(not(feature = "sigstore"))]
fn check_build(
    run: &mut Run<'_>,
    _bundle: &Bundle,
    index: u64,
    _fb: &FirmwareBuild,
    field: &'static str,
    _sg: &SigstoreRef,
    _now: Option<i64>,
) -> Option<Attested> {
    run.check(
        Step::Sigstore,
        Some(index),
        Some(field.into()),
        false,
        format!("not checked: this build of evledger was compiled without Sigstore support (feature `sigstore`), so the Sigstore bundle this firmware build cites ({field}) cannot be verified"),
    );
    None
}

#[cfg(feature = "sigstore")]
fn check_build(
    run: &mut Run<'_>,
    bundle: &Bundle,
    index: u64,
    fb: &FirmwareBuild,
    field: &'static str,
    sg: &SigstoreRef,
    now: Option<i64>,
) -> Option<Attested> {
    use crate::sigstore::{CitedBytes, Which, verify_cited};

    let which = if field == "attestation" {
        Which::Attestation
    } else {
        Which::Signature
    };
    let fail = |run: &mut Run<'_>, f: &str, msg: String| {
        run.check(Step::Sigstore, Some(index), Some(f.into()), false, msg);
        None
    };
    let hex = sg.bundle_sha256.to_string();
    let Some(bundle_bytes) = bundle.attachments.get(&hex) else {
        return fail(
            run,
            &format!("{field}.bundle_sha256"),
            format!("the Sigstore bundle {hex} this build cites is not attached"),
        );
    };
    let key = match &sg.key_sha256 {
        None => None,
        Some(k) => match bundle.attachments.get(&k.to_string()) {
            Some(bytes) => Some(bytes.as_slice()),
            None => {
                return fail(
                    run,
                    &format!("{field}.key_sha256"),
                    format!("the managed public key {k} this build cites is not attached"),
                );
            }
        },
    };
    let trust = run.trust;
    let Some(root) = trust
        .sigstore_roots
        .iter()
        .find(|r| r.sha256 == sg.trusted_root_sha256.0)
    else {
        return fail(
            run,
            &format!("{field}.trusted_root_sha256"),
            format!(
                "the trust file pins no Sigstore trusted root with SHA-256 {} ({} pinned): compare that trusted_root.json with Sigstore's out of band, then list it in [sigstore] trusted_roots",
                sg.trusted_root_sha256,
                trust.sigstore_roots.len()
            ),
        );
    };
    let cited = CitedBytes {
        bundle: bundle_bytes,
        trusted_root: &root.bytes,
        key,
    };
    let Some(now) = now else {
        return fail(
            run,
            field,
            "not checked: the verifier was not given the current time, which the Sigstore check needs to refuse a signing time in the future".into(),
        );
    };
    let (report, artifact) = match verify_cited(fb, which, cited, now) {
        Ok(r) => r,
        Err(e) => return fail(run, field, e.to_string()),
    };
    for s in &report.steps {
        run.check(
            Step::Sigstore,
            Some(index),
            Some(format!("{field}.{}", s.step.name())),
            s.ok,
            s.detail.clone(),
        );
    }
    let signer = match (&sg.identity, &sg.issuer) {
        (Some(id), Some(iss)) => format!("{id} from {iss}"),
        _ => format!(
            "managed key {}",
            sg.key_sha256.map(|k| k.to_string()).unwrap_or_default()
        ),
    };
    let when = report
        .signed_at
        .map(crate::time::format_rfc3339)
        .unwrap_or_default();
    let verified = report.is_verified();
    let attested = report.attestation.as_ref().filter(|_| verified);
    run.check(
        Step::Sigstore,
        Some(index),
        Some(field.into()),
        verified,
        match (verified, attested) {
            (true, Some(a)) => format!(
                "Sigstore attestation {hex} about artifact {artifact} ({signer}, at {when}), checked against pinned trusted root {}: {}",
                root.name,
                match &a.provenance {
                    Some(p) => format!("SLSA provenance v1, {}", p.summary()),
                    None => format!(
                        "predicate type {} (not SLSA provenance v1: reported, never taken as provenance)",
                        a.predicate_type
                    ),
                }
            ),
            (true, None) => format!(
                "Sigstore bundle {hex} signs artifact {artifact} ({signer}, at {when}), checked against pinned trusted root {}",
                root.name
            ),
            (false, _) => {
                format!("the Sigstore bundle {hex} does not verify over artifact {artifact}")
            }
        },
    );
    attested.map(|a| Attested {
        predicate_type: a.predicate_type.clone(),
        provenance: a
            .provenance
            .as_ref()
            .map(|p| super::policy::AttestedProvenance {
                builder_id: p.builder_id.clone(),
                build_type: p.build_type.clone(),
                source_repository: p.source_repository.clone(),
                source_ref: p.source_ref.clone(),
            }),
    })
}
