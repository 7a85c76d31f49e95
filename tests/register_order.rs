//! `Ledger::register`: a call is all or nothing, in order, and its refusal names the statement
//! and reason that checking the statements one by one, in order, meets first (size, parsing,
//! payload, signer key, signature, citations, documents, standing, policy, duplicates), whether
//! the signatures are checked one by one or many under one key together. Run over the SQLite
//! and the in-memory store.
#![cfg(feature = "store")]

use ed25519_dalek::SigningKey;

use evledger::evidence::{Evidence, InputFormat};
use evledger::hex;
use evledger::ledger::{Ledger, LedgerError, RegisterError, RegisterOptions, Signer, Submission};
use evledger::store::{MemoryStore, RuleSigner, SignerRule, Store, StoreError};

const FW: &str = include_str!("../examples/facegate/firmware-4.2.0.toml");
const LAB: &str = include_str!("../examples/facegate/lab-result-pad-l2.toml");
const IAT: u64 = 1_780_000_000;
/// More statements by one key than the signature check's comb-table threshold, so that a call
/// of this many takes the many-signatures path.
const MANY: usize = 100;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn rule(kind: &str, key: &SigningKey) -> SignerRule {
    SignerRule {
        kind: kind.to_owned(),
        signer: RuleSigner::Key(key.verifying_key()),
    }
}

/// A statement of `kind` from TOML `text`, signed by `key` at `iat`.
fn statement(kind: &str, text: &str, key: &SigningKey, iat: u64) -> Vec<u8> {
    let evidence = Evidence::from_input(kind, text, InputFormat::Toml).expect("valid evidence");
    let signer = Signer {
        key,
        issuer: "Aurelis Security Systems",
        subject: "FaceGate 3D 4.2.0",
        x5chain: Vec::new(),
    };
    Ledger::sign(&evidence, &signer, iat)
        .expect("sign")
        .statement
}

/// `n` distinct firmware-build statements by `key`.
fn builds(key: &SigningKey, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| statement("firmware-build", FW, key, IAT + i as u64))
        .collect()
}

/// The same statement with one bit of its signature's R flipped: well-formed, does not verify.
fn bad_signature(mut statement: Vec<u8>) -> Vec<u8> {
    let at = statement.len() - 64;
    statement[at] ^= 1;
    statement
}

fn submissions(statements: &[Vec<u8>]) -> Vec<Submission> {
    statements
        .iter()
        .map(|s| Submission {
            statement: s.clone(),
            documents: Vec::new(),
        })
        .collect()
}

/// Registers `statements` with the default options; the refusal, checking nothing was written.
fn refused<S: Store>(ledger: &mut Ledger<S>, statements: &[Vec<u8>]) -> RegisterError {
    let before = ledger.store().size().expect("size");
    let e = ledger
        .register(&submissions(statements), &RegisterOptions::default())
        .expect_err("the call is refused");
    assert_eq!(ledger.store().size().expect("size"), before, "{e}");
    e
}

fn sqlite(dir: &tempfile::TempDir) -> Ledger {
    Ledger::init(&dir.path().join("ledger"), "test.example/log").expect("init")
}

fn memory() -> Ledger<MemoryStore> {
    Ledger::in_memory("test.example/log", key(99)).expect("in-memory ledger")
}

/// Runs `check` on a fresh SQLite ledger and a fresh in-memory ledger.
macro_rules! on_both_stores {
    ($check:ident) => {{
        let dir = tempfile::tempdir().expect("temp dir");
        $check(&mut sqlite(&dir));
        $check(&mut memory());
    }};
}

fn assert_signature(e: &RegisterError, position: usize) {
    assert_eq!(e.position, Some(position), "{e}");
    assert!(
        matches!(&e.error, LedgerError::Signature(m) if m.contains("signature")),
        "{e}"
    );
}

fn many_statements_register_in_order<S: Store>(ledger: &mut Ledger<S>) {
    let k = key(1);
    ledger.admit(&rule("firmware-build", &k)).expect("admit");
    let statements = builds(&k, MANY);
    let done = ledger
        .register(&submissions(&statements), &RegisterOptions::default())
        .expect("registered");
    assert_eq!(
        done.iter().map(|r| r.index).collect::<Vec<_>>(),
        (0..MANY as u64).collect::<Vec<_>>()
    );
    for (r, s) in done.iter().zip(&statements) {
        assert_eq!(r.entry_hash, evledger::statement::entry_hash(s));
        assert_eq!(r.admitted, None);
    }
    assert_eq!(ledger.store().size().expect("size"), MANY as u64);
}

#[test]
fn many_statements_by_one_key_register_in_order() {
    on_both_stores!(many_statements_register_in_order);
}

fn bad_signature_first<S: Store>(ledger: &mut Ledger<S>) {
    let k = key(1);
    ledger.admit(&rule("firmware-build", &k)).expect("admit");
    let mut statements = builds(&k, MANY);
    statements[70] = bad_signature(statements[70].clone());
    // A later statement that would be refused for another reason: a duplicate.
    statements[90] = statements[10].clone();
    assert_signature(&refused(ledger, &statements), 70);
    // Without the duplicate, the bad signature alone refuses the call.
    statements[90] = builds(&k, MANY + 1).pop().expect("one more");
    assert_signature(&refused(ledger, &statements), 70);
    // A single statement takes the one-by-one path.
    assert_signature(&refused(ledger, &statements[70..71]), 0);
}

#[test]
fn a_bad_signature_is_named_before_a_later_refusal() {
    on_both_stores!(bad_signature_first);
}

fn earlier_refusal_first<S: Store>(ledger: &mut Ledger<S>) {
    let k = key(1);
    ledger.admit(&rule("firmware-build", &k)).expect("admit");
    let mut statements = builds(&k, MANY);
    statements[20] = statements[5].clone();
    statements[80] = bad_signature(statements[80].clone());
    let e = refused(ledger, &statements);
    assert_eq!(e.position, Some(20), "{e}");
    assert!(
        matches!(
            e.error,
            LedgerError::Store(StoreError::Duplicate { index: 5, .. })
        ),
        "{e}"
    );
    // Unparseable bytes: refused at parsing, after the good signatures before them.
    statements[20] = b"not a statement".to_vec();
    let e = refused(ledger, &statements);
    assert_eq!(e.position, Some(20), "{e}");
    assert!(matches!(e.error, LedgerError::Statement(_)), "{e}");
    // A bad signature before unparseable bytes is named first.
    statements[10] = bad_signature(statements[10].clone());
    assert_signature(&refused(ledger, &statements), 10);
}

#[test]
fn an_earlier_refusal_is_named_before_a_later_bad_signature() {
    on_both_stores!(earlier_refusal_first);
}

fn signature_before_policy<S: Store>(ledger: &mut Ledger<S>) {
    // The key is known to the ledger (pinned for lab results) but not admitted for builds.
    let k = key(2);
    ledger.admit(&rule("lab-result", &k)).expect("admit");
    let good = builds(&k, 1);
    let e = refused(ledger, &good);
    assert_eq!(e.position, Some(0), "{e}");
    assert!(matches!(e.error, LedgerError::NotAdmitted { .. }), "{e}");
    // The signature is checked before the policy.
    assert_signature(&refused(ledger, &[bad_signature(good[0].clone())]), 0);
    // An unknown signer is refused before its signature can be checked.
    let e = refused(ledger, &[bad_signature(builds(&key(3), 1).remove(0))]);
    assert!(matches!(e.error, LedgerError::UnknownSigner { .. }), "{e}");
}

#[test]
fn the_signature_is_checked_before_the_policy() {
    on_both_stores!(signature_before_policy);
}

fn citations_within_a_call<S: Store>(ledger: &mut Ledger<S>) {
    let k = key(1);
    ledger.admit(&rule("firmware-build", &k)).expect("admit");
    ledger.admit(&rule("lab-result", &k)).expect("admit");
    let fw = statement("firmware-build", FW, &k, IAT);
    let fw_hash = hex::encode(&evledger::statement::entry_hash(&fw));
    let lab = statement(
        "lab-result",
        &LAB.replace("@FW_420@", &fw_hash),
        &k,
        IAT + 1,
    );
    // Cited before it is registered: refused, and nothing is written.
    let e = refused(ledger, &[lab.clone(), fw.clone()]);
    assert_eq!(e.position, Some(0), "{e}");
    assert!(matches!(e.error, LedgerError::Reference { .. }), "{e}");
    // A bad signature on the cited statement is named, not the citation that follows it.
    assert_signature(
        &refused(ledger, &[bad_signature(fw.clone()), lab.clone()]),
        0,
    );
    let done = ledger
        .register(&submissions(&[fw, lab]), &RegisterOptions::default())
        .expect("a statement may cite one before it in the same call");
    assert_eq!(done.len(), 2);
    assert_eq!(done[1].kind, "lab-result");
}

#[test]
fn a_statement_may_cite_one_before_it_in_the_same_call() {
    on_both_stores!(citations_within_a_call);
}

fn dry_run_checks_signatures<S: Store>(ledger: &mut Ledger<S>) {
    let k = key(1);
    ledger.admit(&rule("firmware-build", &k)).expect("admit");
    let mut statements = builds(&k, MANY);
    let dry = RegisterOptions {
        dry_run: true,
        ..RegisterOptions::default()
    };
    let done = ledger
        .register(&submissions(&statements), &dry)
        .expect("a dry run of good statements succeeds");
    assert_eq!(done.last().map(|r| r.index), Some(MANY as u64 - 1));
    assert_eq!(ledger.store().size().expect("size"), 0);
    let last = statements.len() - 1;
    statements[last] = bad_signature(statements[last].clone());
    let e = ledger
        .register(&submissions(&statements), &dry)
        .expect_err("a dry run checks every signature");
    assert_signature(&e, last);
    assert_eq!(ledger.store().size().expect("size"), 0);
}

#[test]
fn a_dry_run_checks_every_signature() {
    on_both_stores!(dry_run_checks_signatures);
}

fn local_key_admitted_once<S: Store>(ledger: &mut Ledger<S>) {
    let k = key(4);
    let options = RegisterOptions {
        local_key: Some(k.verifying_key()),
        ..RegisterOptions::default()
    };
    let statements = builds(&k, 3);
    // A bad signature by the caller's own key adds no rule.
    let e = ledger
        .register(
            &submissions(&[bad_signature(statements[0].clone())]),
            &options,
        )
        .expect_err("refused");
    assert_signature(&e, 0);
    assert_eq!(ledger.store().signer_rules().expect("rules"), vec![]);
    let done = ledger
        .register(&submissions(&statements), &options)
        .expect("registered");
    assert_eq!(done[0].admitted, Some(rule("firmware-build", &k)));
    assert_eq!(done[1].admitted, None);
    assert_eq!(done[2].admitted, None);
    assert_eq!(
        ledger.store().signer_rules().expect("rules"),
        vec![rule("firmware-build", &k)]
    );
}

#[test]
fn the_callers_key_is_admitted_by_its_first_statement() {
    on_both_stores!(local_key_admitted_once);
}
