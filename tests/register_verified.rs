//! `Ledger::register_verified`: a signature verified before the write transaction is trusted
//! only for the very statement and key it was verified for; every other check still runs.
#![cfg(feature = "store")]

use ed25519_dalek::SigningKey;
use evledger::evidence::{Evidence, InputFormat};
use evledger::ledger::{Ledger, LedgerError, RegisterOptions, Signer, Submission};
use evledger::statement::SignedStatement;
use evledger::store::{MemoryStore, RuleSigner, SignerRule};

fn signed(key: &SigningKey, subject: &str) -> Vec<u8> {
    let evidence = Evidence::from_input(
        "firmware-build",
        include_str!("../examples/facegate/firmware-4.2.0.toml"),
        InputFormat::Toml,
    )
    .unwrap();
    let signer = Signer {
        key,
        issuer: "Aurelis",
        subject,
        x5chain: Vec::new(),
    };
    Ledger::sign(&evidence, &signer, 1_800_000_000)
        .unwrap()
        .statement
}

fn ledger(admit: &SigningKey) -> Ledger<MemoryStore> {
    let mut l = Ledger::in_memory("v.example/log", SigningKey::from_bytes(&[7; 32])).unwrap();
    l.admit(&SignerRule {
        kind: "firmware-build".into(),
        signer: RuleSigner::Key(admit.verifying_key()),
    })
    .unwrap();
    l
}

fn sub(statement: &[u8]) -> Submission {
    Submission {
        statement: statement.to_vec(),
        documents: Vec::new(),
    }
}

#[test]
fn a_verified_copy_of_the_same_statement_is_registered() {
    let key = SigningKey::from_bytes(&[9; 32]);
    let st = signed(&key, "unit 1");
    let v = SignedStatement::parse(&st)
        .unwrap()
        .verify(&key.verifying_key())
        .unwrap();
    let mut l = ledger(&key);
    let done = l
        .register_verified(&[sub(&st)], &[Some(v)], &RegisterOptions::default())
        .unwrap();
    assert_eq!(done[0].signer, key.verifying_key());
}

#[test]
fn a_verified_copy_of_another_statement_does_not_vouch_for_a_bad_signature() {
    let key = SigningKey::from_bytes(&[9; 32]);
    let good = signed(&key, "unit 1");
    let v = SignedStatement::parse(&good)
        .unwrap()
        .verify(&key.verifying_key())
        .unwrap();
    let mut bad = signed(&key, "unit 2");
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let mut l = ledger(&key);
    let e = l
        .register_verified(&[sub(&bad)], &[Some(v)], &RegisterOptions::default())
        .unwrap_err();
    assert_eq!(e.position, Some(0));
    assert!(matches!(e.error, LedgerError::Signature(_)), "{e}");
}

#[test]
fn a_signature_verified_under_another_key_is_checked_again() {
    // Signed by a key the policy does not admit, but "verified" under that key: the
    // registration finds no admitted key for the kid and refuses it as unknown.
    let admitted = SigningKey::from_bytes(&[9; 32]);
    let other = SigningKey::from_bytes(&[10; 32]);
    let st = signed(&other, "unit 1");
    let v = SignedStatement::parse(&st)
        .unwrap()
        .verify(&other.verifying_key())
        .unwrap();
    let mut l = ledger(&admitted);
    let e = l
        .register_verified(&[sub(&st)], &[Some(v)], &RegisterOptions::default())
        .unwrap_err();
    assert!(matches!(e.error, LedgerError::UnknownSigner { .. }), "{e}");
}
