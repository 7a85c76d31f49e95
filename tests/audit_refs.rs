//! `audit` checks the refs index that decides what bundles carry: a lost row is a finding.

use ed25519_dalek::SigningKey;
use evledger::evidence::{Evidence, InputFormat};
use evledger::ledger::{Ledger, Signer};

#[test]
fn a_missing_refs_row_is_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l");
    let mut ledger = Ledger::init(&path, "test.example/log").expect("init");
    let key = SigningKey::from_bytes(&[1; 32]);
    let signer = Signer {
        key: &key,
        issuer: "Aurelis",
        subject: "FG3",
        x5chain: Vec::new(),
    };
    let fw = include_str!("../examples/facegate/firmware-4.2.0.toml");
    let build = Evidence::from_input("firmware-build", fw, InputFormat::Toml).expect("build");
    let b = ledger.record(&build, &signer, 100).expect("record");
    let cs = format!(
        "{{\"target\": \"{}\", \"statement\": \"seen\"}}",
        evledger::hex::encode(&b.entry_hash)
    );
    let cs =
        Evidence::from_input("countersignature", &cs, InputFormat::Json).expect("countersignature");
    ledger.record(&cs, &signer, 101).expect("record");
    let clean = evledger::audit::audit(&ledger, &mut |_, _| {}).expect("audit");
    assert!(clean.is_clean(), "{:?}", clean.findings);
    drop(ledger);

    let conn = rusqlite::Connection::open(path.join("evledger.db")).expect("db");
    conn.execute_batch("DROP TRIGGER refs_no_delete; DELETE FROM refs;")
        .expect("tamper");
    drop(conn);
    let ledger = Ledger::open(&path).expect("open");
    let report = evledger::audit::audit(&ledger, &mut |_, _| {}).expect("audit");
    let found: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{}: {}", f.at, f.message))
        .collect();
    assert_eq!(
        found,
        vec![
            format!(
                "entry 1: refs index lacks {}",
                evledger::hex::encode(&b.entry_hash)
            ),
            "refs: 0 rows in the refs index, 1 expected from the payloads".to_owned(),
        ]
    );
}
