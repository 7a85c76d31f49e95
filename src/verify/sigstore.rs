//! Step 8b: each firmware build that cites a Sigstore bundle has it re-checked offline, against
//! a trusted root the buyer's trust file pins (never one carried in the bundle), with the
//! identity and issuer (or key) and the artifact digest the signed entry records.
//!
//! Without the `sigstore` feature the check fails closed: the build is reported as not checked.
//! So does it without the current time in `VerifyOptions::now`, which the check needs to
//! refuse a signing time in the future.

use super::{ParsedEntry, Run, Step};
use crate::bundle::Bundle;
use crate::evidence::{Evidence, FirmwareBuild};

/// Checks every firmware build's Sigstore citation at time `now` (Unix seconds), if given.
pub(super) fn check_sigstore(
    run: &mut Run<'_>,
    bundle: &Bundle,
    entries: &[ParsedEntry],
    now: Option<i64>,
) {
    for e in entries {
        if let Evidence::FirmwareBuild(fb) = &e.evidence
            && fb.sigstore.is_some()
        {
            check_build(run, bundle, e.index, fb, now);
        }
    }
}

#[cfg(not(feature = "sigstore"))]
fn check_build(
    run: &mut Run<'_>,
    _bundle: &Bundle,
    index: u64,
    _fb: &FirmwareBuild,
    _now: Option<i64>,
) {
    run.check(
        Step::Sigstore,
        Some(index),
        Some("sigstore".into()),
        false,
        "not checked: this build of evledger was compiled without Sigstore support (feature `sigstore`), so the Sigstore bundle this firmware build cites cannot be verified",
    );
}

#[cfg(feature = "sigstore")]
fn check_build(
    run: &mut Run<'_>,
    bundle: &Bundle,
    index: u64,
    fb: &FirmwareBuild,
    now: Option<i64>,
) {
    use crate::sigstore::{CitedBytes, verify_citation};

    let Some(sg) = &fb.sigstore else { return };
    let fail = |run: &mut Run<'_>, field: &str, msg: String| {
        run.check(Step::Sigstore, Some(index), Some(field.into()), false, msg);
    };
    let hex = sg.bundle_sha256.to_string();
    let Some(bundle_bytes) = bundle.attachments.get(&hex) else {
        fail(
            run,
            "sigstore.bundle_sha256",
            format!("the Sigstore bundle {hex} this build cites is not attached"),
        );
        return;
    };
    let key = match &sg.key_sha256 {
        None => None,
        Some(k) => match bundle.attachments.get(&k.to_string()) {
            Some(bytes) => Some(bytes.as_slice()),
            None => {
                fail(
                    run,
                    "sigstore.key_sha256",
                    format!("the managed public key {k} this build cites is not attached"),
                );
                return;
            }
        },
    };
    let trust = run.trust;
    let Some(root) = trust
        .sigstore_roots
        .iter()
        .find(|r| r.sha256 == sg.trusted_root_sha256.0)
    else {
        fail(
            run,
            "sigstore.trusted_root_sha256",
            format!(
                "the trust file pins no Sigstore trusted root with SHA-256 {} ({} pinned): compare that trusted_root.json with Sigstore's out of band, then list it in [sigstore] trusted_roots",
                sg.trusted_root_sha256,
                trust.sigstore_roots.len()
            ),
        );
        return;
    };
    let cited = CitedBytes {
        bundle: bundle_bytes,
        trusted_root: &root.bytes,
        key,
    };
    let Some(now) = now else {
        fail(
            run,
            "sigstore",
            "not checked: the verifier was not given the current time, which the Sigstore check needs to refuse a signing time in the future".into(),
        );
        return;
    };
    let (report, artifact) = match verify_citation(fb, cited, now) {
        Ok(r) => r,
        Err(e) => {
            fail(run, "sigstore", e.to_string());
            return;
        }
    };
    for s in &report.steps {
        run.check(
            Step::Sigstore,
            Some(index),
            Some(format!("sigstore.{}", s.step.name())),
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
    run.check(
        Step::Sigstore,
        Some(index),
        Some("sigstore".into()),
        report.is_verified(),
        if report.is_verified() {
            format!(
                "Sigstore bundle {hex} signs artifact {artifact} ({signer}, at {when}), checked against pinned trusted root {}",
                root.name
            )
        } else {
            format!("the Sigstore bundle {hex} does not verify over artifact {artifact}")
        },
    );
}
