//! The examples walkthrough, end to end from a fresh ledger: the whole FaceGate 3D data set is
//! recorded, audited clean, witnessed, bundled and verified, with each over-claim caught and the
//! exploited vulnerability's reports judged against CRA Art. 14; then the export auditor's
//! scenarios, each with its exit code, and an audit bundle with its unfavourable end-use check
//! removed by hand, which fails completeness.

use std::process::Command;

#[test]
fn the_walkthrough_runs_from_a_fresh_ledger() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("bash")
        .arg(format!("{root}/examples/walkthrough.sh"))
        .env("EVLEDGER", env!("CARGO_BIN_EXE_evledger"))
        .env("EVLEDGER_DIR", dir.path().join("ledger"))
        .output()
        .expect("run the walkthrough");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "walkthrough failed:\n{stdout}\n{stderr}"
    );
    // Every kind was recorded; the lab's countersignature was signed apart and registered.
    for kind in [
        "firmware-build",
        "lab-result",
        "accuracy-result",
        "certification",
        "claim",
        "incident",
    ] {
        assert!(
            stderr.contains(&format!("recorded {kind} at index")),
            "{kind} not recorded:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("ibqa-0142.cose (countersignature,")
            && stderr.contains("registered 1 statement(s)"),
        "countersignature not signed apart and registered:\n{stderr}"
    );
    assert!(
        stderr.contains("receipts/ibqa-0142.cose.receipt.cbor"),
        "{stderr}"
    );
    // The iBeta PAD result is endorsed by the scheme's operator, whose key the buyer pins in a
    // role of its own; the accuracy result by an accredited lab, trusted through the root.
    assert!(
        stdout.contains("ok   signer      role ibeta-pad may sign countersignature\n")
            && stdout.contains("asserts iBeta PAD level 2; backed by lab result 2"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "role lab may sign countersignature (certificate C=GB, O=Kestrel Biometric Test Lab,"
        ),
        "{stdout}"
    );
    // The certification body's countersignature too, with its own certificate.
    assert!(
        stderr.contains("nmc-0117.cose (countersignature,"),
        "certification countersignature not signed apart:\n{stderr}"
    );
    // Fifteen statements, and the log's adverse index before seven of the checkpoints.
    assert!(stdout.contains("ok: 22 entries"), "audit:\n{stdout}");
    assert!(stdout.contains("VERIFIED: 6 entries"), "{stdout}");
    assert!(
        stdout.contains("completeness: no adverse entry was withheld up to tree size 22"),
        "{stdout}"
    );
    // The accuracy and certification claims are backed; each over-claim is caught.
    for backed in [
        "claim \"CLM-FG3-ACC-001\" asserts FMR <= 1e-6 (verification, matcher 0b1c2d3e4f5a); met by accuracy result 8",
        "ratio 1.33, within the 1.50 your profile allows",
        "claim \"CLM-FG3-SEC-001\" asserts compliance with IEC 62443-4-2; backed by the certificate of entry 12, valid at the witnessed time",
        "which does not meet the claimed <= 1e-7",
        "applies_to.builds[1] (firmware 4.2.1) does not ship the claimed matcher model",
        "applies_to.models[1] FG3-200W is outside the scope of certificate NMC-62443-2026-0117",
        "EU AI Act is not a certification scheme a certificate can back",
    ] {
        assert!(stdout.contains(backed), "{backed}:\n{stdout}");
    }
    // Once the certificate is withdrawn, the claim resting on it fails.
    assert!(
        stdout.contains("certificate NMC-62443-2026-0117 is withdrawn since 2026-06-30T00:00:00Z: entry 22, later in the log than the certificate the claim cites (entry 12), records it"),
        "{stdout}"
    );
    for caught in [
        "accuracy over-claim",
        "certification over-claim",
        "claim on a withdrawn certificate",
    ] {
        assert!(
            stderr.contains(&format!(
                "caught: {caught}, policy not met (exit 4), as expected"
            )),
            "{caught}:\n{stderr}"
        );
    }
    assert!(stdout.contains("POLICY NOT MET"), "{stdout}");
    assert!(
        stdout.contains("shows iBeta PAD level 2, below the claimed level 3"),
        "{stdout}"
    );
    assert!(
        stderr.contains("caught: policy not met (exit 4), as expected"),
        "{stderr}"
    );
    // The actively exploited vulnerability's three CRA Art. 14 reports, each on time.
    for (rule, timing) in [
        ("cra-art14-2a-early-warning", "19h20m after aware-at"),
        ("cra-art14-2b-notification", "49h50m after aware-at"),
        (
            "cra-art14-2c-final-report",
            "262h00m after the measure became available",
        ),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.contains(&format!("{rule}: incident AUR-2026-031")))
            .unwrap_or_else(|| panic!("no {rule} check:\n{stdout}"));
        assert!(
            line.trim_start().starts_with("ok") && line.contains(timing),
            "{line}"
        );
    }
    // Its bundle carries every adverse entry of the log's 28: the four incident records and the
    // certificate's withdrawal.
    assert!(
        stdout.contains(
            "completeness: no adverse entry was withheld up to tree size 28 (5 adverse entries carried)"
        ),
        "{stdout}"
    );
    // The export auditor's scenarios (issue table), each with its exit code and its reason.
    for (name, exit, what) in [
        (
            "export-exp-0101",
            0,
            "the export is classified, screened before shipment and licensed",
        ),
        (
            "export-exp-0102",
            4,
            "policy not met: due diligence logged after the decision",
        ),
        (
            "export-exp-0103",
            4,
            "policy not met: back-dated screening logged after the shipment",
        ),
        (
            "deployment-us-il",
            4,
            "policy not met: retention longer than BIPA's three years",
        ),
        (
            "export-exp-0104",
            4,
            "policy not met: an unfavourable end-use check blocks the later decision",
        ),
    ] {
        assert!(
            stderr.contains(&format!(
                "verdict for {name}: {what} (exit {exit}), as expected"
            )),
            "{name}:\n{stderr}"
        );
    }
    for reason in [
        "entity-list, unverified-list, meu-list, sdn-list, eu-sanctions screened before the shipment",
        "FAIL policy      due_diligence: eu-hrdd-before-decision: decision EXP-2026-0102: items[0] performs identification-1toN",
        "was logged after the decision (entry 35), whatever its assessed_at says",
        "signed with iat 2026-06-01T09:30:00Z), but it was logged after the shipment record (entry 39)",
        "FAIL policy      retention: bipa-15a-retention: deployment DEP-US-IL-0007 in US-IL: it keeps biometric data 1825 days after last-interaction, longer than the 1095 days allowed",
        "FAIL policy      end_user: unfavourable-check-blocks: decision EXP-2026-0104: the post-shipment-verification of decision EXP-2026-0101 (entry 44) was unfavourable",
        "they are not legal advice",
    ] {
        assert!(stdout.contains(reason), "{reason}:\n{stdout}");
    }
    // Scenario 6: the fourth scenario's audit bundle with the unfavourable end-use check removed
    // by hand fails completeness (exit 1).
    let exports = dir.path().join("ledger/exports");
    let bytes = std::fs::read(exports.join("export-exp-0104.bundle.cbor")).expect("bundle");
    let mut b = evledger::bundle::Bundle::parse(&bytes, &evledger::bundle::BundleLimits::default())
        .expect("bundle parses");
    let before = b.entries.len();
    b.entries.retain(|e| {
        let st = evledger::statement::SignedStatement::parse(&e.statement).expect("statement");
        st.header().kind != "end-use-check"
    });
    assert_eq!(b.entries.len(), before - 1, "the bundle carried the check");
    let tampered = exports.join("export-exp-0104-tampered.bundle.cbor");
    std::fs::write(&tampered, b.to_cbor()).expect("write");
    let v = Command::new(env!("CARGO_BIN_EXE_evledger"))
        .arg("verify")
        .arg(&tampered)
        .arg("--trust")
        .arg(format!("{root}/keys.example/export-auditor.trust.toml"))
        .env("EVLEDGER_DIR", dir.path().join("ledger"))
        .output()
        .expect("verify");
    let vout = String::from_utf8_lossy(&v.stdout);
    assert_eq!(v.status.code(), Some(1), "{vout}");
    assert!(vout.contains("adverse entries were withheld"), "{vout}");
}
