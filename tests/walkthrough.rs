//! The examples walkthrough, end to end from a fresh ledger: the whole FaceGate 3D data set is
//! recorded, audited clean, witnessed, bundled and verified, with the over-claim caught and the
//! exploited vulnerability's reports judged against CRA Art. 14.

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
    for kind in ["firmware-build", "lab-result", "claim", "incident"] {
        assert!(
            stderr.contains(&format!("recorded {kind} at index")),
            "{kind} not recorded:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("kbl-0142.cose (countersignature,")
            && stderr.contains("registered 1 statement(s)"),
        "countersignature not signed apart and registered:\n{stderr}"
    );
    assert!(
        stderr.contains("receipts/kbl-0142.cose.receipt.cbor"),
        "{stderr}"
    );
    // Seven statements, and the log's adverse index before three of the checkpoints.
    assert!(stdout.contains("ok: 10 entries"), "audit:\n{stdout}");
    assert!(stdout.contains("VERIFIED: 6 entries"), "{stdout}");
    assert!(
        stdout.contains("completeness: no adverse entry was withheld up to tree size 10"),
        "{stdout}"
    );
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
    assert!(
        stdout.contains("completeness: no adverse entry was withheld up to tree size 14"),
        "{stdout}"
    );
}
