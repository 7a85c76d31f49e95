//! What evledger 0.1.0 issued keeps working: its ledger opens, audits, proves and grows, and the
//! bundles buyers already hold get the verdict they got then (`tests/fixtures/legacy-0.1/`).

mod common;

use std::path::{Path, PathBuf};

use common::{Env, LEDGER, chmod};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/legacy-0.1")
        .join(rel)
}

/// A scratch copy of the 0.1.0 ledger (the fixture itself is never written).
fn legacy_ledger() -> Env {
    let env = Env::new();
    let dir = env.path(LEDGER);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("ledger/evledger.db"), dir.join("evledger.db")).unwrap();
    std::fs::copy(fixture("ledger/log.key.pub"), dir.join("log.key.pub")).unwrap();
    let key = dir.join("log.key");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("keys.example/log.key"),
        &key,
    )
    .unwrap();
    chmod(&key, 0o600);
    env
}

#[test]
fn a_ledger_made_by_0_1_opens_audits_proves_and_grows() {
    let env = legacy_ledger();
    env.audit_ok();
    let log = env.log();
    assert_eq!(log.len(), 7, "the walkthrough recorded seven entries");
    let proof = env.run(&["prove", "3", "--ledger", LEDGER]);
    assert_eq!(proof.code, 0, "{proof:?}");

    // It takes new entries and signs checkpoints that extend the ones 0.1.0 signed; the log
    // holds an incident, so the checkpoint first appends the log's adverse index (entry 8).
    env.record(common::INPUT, 1_900_000_000).ok();
    let cp = env.run(&["checkpoint", "--ledger", LEDGER]);
    assert!(cp.ok().contains("\n9\n"), "{cp:?}");
    assert_eq!(env.log()[8]["kind"], "adverse-index");
    env.audit_ok();
    std::fs::write(
        env.path("old.cp"),
        std::fs::read(fixture("latest.checkpoint")).unwrap(),
    )
    .unwrap();
    std::fs::write(env.path("new.cp"), &cp.stdout).unwrap();
    let proof = env.run(&["consistency", "7", "9", "--json", "--ledger", LEDGER]);
    std::fs::write(env.path("p.json"), proof.ok()).unwrap();
    let trust = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys.example/buyer.trust.toml");
    let check = env.run(&[
        "consistency-check",
        "old.cp",
        "new.cp",
        "--trust",
        trust.to_str().unwrap(),
        "--proof",
        "p.json",
    ]);
    assert_eq!(check.code, 0, "{check:?}");
}

#[test]
fn bundles_issued_by_0_1_keep_their_verdict() {
    // The buyer's trust file with the profiles as they were then (profiles/): a profile the buyer
    // later makes stricter may change a verdict; what the bundle proves does not.
    let env = Env::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The CRA profile came later: the buyer then named only the two in profiles/.
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
    std::fs::write(env.path("buyer.trust.toml"), text).unwrap();
    let trust = env.path("buyer.trust.toml");
    for (name, code) in [("claim-level2", 0), ("claim-level3", 4)] {
        let bundle = fixture(&format!("{name}.bundle.cbor"));
        let out = env.run(&[
            "verify",
            bundle.to_str().unwrap(),
            "--trust",
            trust.to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(out.code, code, "{name}: {out:?}");
        let now: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let then: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(now["verdict"], then["verdict"], "{name}");
        // A version 1 bundle cannot show completeness, and says so without failing.
        assert_eq!(now["completeness"]["status"], "not-shown", "{name}");
        assert!(
            now["completeness"]["reason"]
                .as_str()
                .unwrap()
                .contains("bundle version 1 predates the log's adverse index"),
            "{name}"
        );
        assert_eq!(now["entries"], then["entries"], "{name}");
        // Every check that failed then fails now, and nothing that passed then fails now.
        let failed = |v: &serde_json::Value| -> Vec<String> {
            v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["outcome"] == "fail")
                .map(|c| format!("{} {} {}", c["step"], c["entry"], c["message"]))
                .collect()
        };
        assert_eq!(failed(&now), failed(&then), "{name}");
    }
}
