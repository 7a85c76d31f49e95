//! `evledger prove ENTRY --cose-receipt FILE|-` and `Ledger::cose_receipt`: the receipt is made
//! against the latest checkpoint, verifies under the ledger's log key with the statement's entry
//! hash as candidate entry, and is refused while no checkpoint covers the entry.

mod common;

use common::{Env, INPUT, LEDGER};
use evledger::ledger::Ledger;
use evledger::receipt::{ReceiptEntry, verify_receipt};
use evledger::store::StoreRead;

#[test]
fn prove_writes_a_cose_receipt_against_the_latest_checkpoint() {
    let env = Env::new();
    env.init();
    env.record(INPUT, 1_780_000_000).ok();
    env.record(INPUT, 1_780_000_001).ok();
    env.record(INPUT, 1_780_000_002).ok();

    // No checkpoint yet: refused, with what to do.
    let out = env.run(&["prove", "1", "--cose-receipt", "r.cose", "--ledger", LEDGER]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("no checkpoint covers entry 1 yet (latest checkpoint size 0): run `evledger checkpoint` first"),
        "{out:?}"
    );
    assert!(!env.path("r.cose").exists());

    env.run(&["checkpoint", "--ledger", LEDGER]).ok();
    let out = env.run(&["prove", "1", "--cose-receipt", "r.cose", "--ledger", LEDGER]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with("wrote r.cose: COSE receipt of entry 1 ("),
        "{out:?}"
    );
    let bytes = std::fs::read(env.path("r.cose")).expect("receipt written");

    let ledger = Ledger::open_read_only(&env.path(LEDGER)).expect("open");
    let cp = ledger
        .store()
        .latest_checkpoint()
        .expect("read")
        .expect("a checkpoint");
    let entry = ledger.resolve("1").expect("entry 1");
    let log_key = ledger.log_keys().expect("log keys")[0];
    let v = verify_receipt(&bytes, ReceiptEntry::EntryHash(&entry.entry_hash), &log_key)
        .expect("the receipt verifies");
    assert_eq!((v.index(), v.tree_size(), v.root()), (1, cp.size, cp.root));
    assert!(out.stderr.contains(&v.kid().to_string()), "{out:?}");

    // Another entry's hash does not verify.
    let other = ledger.resolve("0").expect("entry 0");
    assert!(verify_receipt(&bytes, ReceiptEntry::EntryHash(&other.entry_hash), &log_key).is_err());

    // `-` writes the same bytes (Ed25519 is deterministic) to standard output.
    let stdout = env
        .cmd(&["prove", "1", "--cose-receipt", "-", "--ledger", LEDGER])
        .output()
        .expect("run");
    assert!(stdout.status.success());
    assert_eq!(stdout.stdout, bytes);

    // The ledger function gives the same receipt.
    let r = ledger.cose_receipt(&entry).expect("receipt");
    assert_eq!(r.bytes, bytes);
    assert_eq!((r.index, r.tree_size, r.root), (1, cp.size, cp.root));

    // A receipt proves against the latest checkpoint only: no --size, no --json.
    let out = env.run(&[
        "prove",
        "1",
        "--cose-receipt",
        "r.cose",
        "--size",
        "2",
        "--ledger",
        LEDGER,
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("cannot be used with"), "{out:?}");
}
