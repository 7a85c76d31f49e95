//! RFC 9942 COSE receipts (`specs/service.md`, "Receipts"): round trips over many tree shapes,
//! each tampering refused with its own error, hostile bytes never panicking, the byte-by-byte
//! example in the spec, and an independent verifier (`tests/cose_receipt_verify.py`, Python with
//! cbor2 and cryptography) agreeing with evledger's.

use std::path::Path;
use std::process::Command;

use ed25519_dalek::SigningKey;
use evledger::cbor::{self, Value};
use evledger::merkle::{Hash, InclusionError, MemoryTree, leaf_hash, prove_inclusion};
use evledger::receipt::{
    MAX_PATH_LEN, ReceiptEntry, ReceiptError, VerifiedReceipt, sign_receipt, verify_receipt,
};
use evledger::statement::entry_hash;
use proptest::prelude::*;

fn log_key() -> SigningKey {
    SigningKey::from_bytes(&[0x42; 32])
}

/// The stand-in statement of leaf `i`: the verifier only hashes it.
fn statement(i: u64) -> Vec<u8> {
    format!("statement {i}").into_bytes()
}

fn tree(n: u64) -> MemoryTree {
    (0..n)
        .map(|i| leaf_hash(&entry_hash(&statement(i))))
        .collect()
}

fn receipt(t: &MemoryTree, i: u64, n: u64) -> Vec<u8> {
    let proof = prove_inclusion(t, i, n).expect("proof");
    let (bytes, root) =
        sign_receipt(&log_key(), &entry_hash(&statement(i)), i, n, &proof).expect("sign");
    assert_eq!(root, evledger::merkle::root(t, n).expect("root"));
    bytes
}

fn check(bytes: &[u8], stmt: &[u8]) -> Result<VerifiedReceipt, ReceiptError> {
    verify_receipt(
        bytes,
        ReceiptEntry::Statement(stmt),
        &log_key().verifying_key(),
    )
}

/// Sizes 1 to 33, powers of two and their neighbours, and one large tree.
const SIZES: &[u64] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128,
    129, 1000,
];

#[test]
fn receipts_round_trip_for_every_leaf_of_many_tree_sizes() {
    let big = tree(1000);
    let mut checked = 0;
    for &n in SIZES {
        let indexes: Vec<u64> = if n <= 33 {
            (0..n).collect()
        } else {
            vec![0, 1, n / 2, n - 2, n - 1]
        };
        for i in indexes {
            let bytes = receipt(&big, i, n);
            let v = check(&bytes, &statement(i)).unwrap_or_else(|e| panic!("n={n} i={i}: {e}"));
            assert_eq!((v.tree_size(), v.index()), (n, i));
            assert_eq!(v.root(), evledger::merkle::root(&big, n).expect("root"));
            assert_eq!(v.entry_hash(), entry_hash(&statement(i)));
            // The entry hash is the same candidate entry as the statement.
            let by_hash = verify_receipt(
                &bytes,
                ReceiptEntry::EntryHash(&entry_hash(&statement(i))),
                &log_key().verifying_key(),
            )
            .expect("verifies by entry hash");
            assert_eq!(by_hash, v);
            checked += 1;
        }
    }
    assert!(checked > 250, "{checked}");
}

/// A receipt decoded to a value, to be tampered with and re-encoded.
fn parts(bytes: &[u8]) -> Vec<Value> {
    match cbor::decode(bytes).expect("cbor") {
        Value::Tag(18, inner) => inner.as_array().expect("array").to_vec(),
        other => panic!("{other:?}"),
    }
}

fn assemble(parts: Vec<Value>) -> Vec<u8> {
    cbor::encode(&Value::Tag(18, Box::new(Value::Array(parts))))
}

/// Replaces the proof content `[size, index, path]` of a receipt.
fn with_proof(bytes: &[u8], size: u64, index: u64, path: Vec<Vec<u8>>) -> Vec<u8> {
    let mut p = parts(bytes);
    let content = cbor::encode(&Value::Array(vec![
        Value::Unsigned(size),
        Value::Unsigned(index),
        Value::Array(path.into_iter().map(Value::Bytes).collect()),
    ]));
    p[1] = Value::Map(vec![(
        Value::int(396),
        Value::Map(vec![(
            Value::int(-1),
            Value::Array(vec![Value::Bytes(content)]),
        )]),
    )]);
    assemble(p)
}

fn path_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    let p = parts(bytes);
    let proofs = p[1]
        .get(&Value::int(396))
        .and_then(|v| v.get(&Value::int(-1)))
        .and_then(Value::as_array)
        .expect("proofs");
    let content = cbor::decode(proofs[0].as_bytes().expect("bstr")).expect("content");
    content.as_array().expect("array")[2]
        .as_array()
        .expect("path")
        .iter()
        .map(|h| h.as_bytes().expect("hash").to_vec())
        .collect()
}

#[track_caller]
fn refused(bytes: &[u8], stmt: &[u8], expect: &str) -> ReceiptError {
    let e = check(bytes, stmt).expect_err("refused");
    assert!(
        e.to_string().contains(expect),
        "{e} does not say {expect:?}"
    );
    e
}

#[test]
fn tampered_receipts_are_refused_each_with_a_clear_error() {
    let t = tree(11);
    let good = receipt(&t, 6, 11);
    check(&good, &statement(6)).expect("the untampered receipt verifies");

    // Another statement: the computed root differs, so the signature fails.
    let e = refused(&good, &statement(5), "signature does not verify");
    assert!(!e.is_malformed());

    // Another index with the same path (same length at 7 in a tree of 11).
    let path = path_of(&good);
    let e = refused(
        &with_proof(&good, 11, 7, path.clone()),
        &statement(6),
        "signature does not verify",
    );
    assert!(matches!(e, ReceiptError::BadSignature { .. }));
    // An index whose path length differs, and one beyond the tree.
    let e = refused(
        &with_proof(&good, 11, 10, path.clone()),
        &statement(6),
        "inclusion proof is malformed",
    );
    assert!(matches!(
        e,
        ReceiptError::Proof(InclusionError::WrongProofLength { .. })
    ));
    let e = refused(
        &with_proof(&good, 11, 11, path.clone()),
        &statement(6),
        "out of range",
    );
    assert!(e.is_malformed());

    // One flipped bit in a path hash.
    let mut flipped = path.clone();
    flipped[1][17] ^= 0x01;
    refused(
        &with_proof(&good, 11, 6, flipped),
        &statement(6),
        "signature does not verify",
    );

    // Another tree size: RFC 9942 signs the root, not the size. Leaf 6 has the same audit path
    // in trees of 11 and 12 leaves (its right sibling subtrees do not change shape), so the
    // receipt still verifies while claiming a size the log never signed a root for. This is why
    // a receipt is never the evidence of a tree size (specs/service.md, "Receipts").
    let resized = check(&with_proof(&good, 12, 6, path.clone()), &statement(6))
        .expect("verifies: the size is not signed");
    assert_eq!(resized.tree_size(), 12);
    assert_eq!(
        resized.root(),
        evledger::merkle::root(&t, 11).expect("root"),
        "the signed root is still that of the tree of 11"
    );

    // Another log key.
    let other = SigningKey::from_bytes(&[0x43; 32]);
    let e = verify_receipt(
        &good,
        ReceiptEntry::Statement(&statement(6)),
        &other.verifying_key(),
    )
    .expect_err("another key");
    assert!(matches!(e, ReceiptError::KidMismatch { .. }), "{e}");
    assert!(e.to_string().contains("does not match the log key"), "{e}");

    // An extra protected header label (re-signing would not help: it is refused by profile).
    let mut p = parts(&good);
    let mut prot = cbor::decode(p[0].as_bytes().expect("bstr")).expect("protected");
    if let Value::Map(m) = &mut prot {
        m.push((Value::int(3), Value::text("application/cose")));
    }
    p[0] = Value::Bytes(cbor::encode(&prot));
    refused(&assemble(p), &statement(6), "unexpected label 3");

    // An extra unprotected header label.
    let mut p = parts(&good);
    if let Value::Map(m) = &mut p[1] {
        m.push((Value::int(33), Value::Bytes(vec![1])));
    }
    refused(&assemble(p), &statement(6), "must hold only 396 (vdp)");

    // An attached payload.
    let mut p = parts(&good);
    p[2] = Value::Bytes(evledger::merkle::root(&t, 11).expect("root").to_vec());
    refused(&assemble(p), &statement(6), "must be nil");

    // vds other than RFC9162_SHA256.
    let mut p = parts(&good);
    let mut prot = cbor::decode(p[0].as_bytes().expect("bstr")).expect("protected");
    if let Value::Map(m) = &mut prot {
        m[2].1 = Value::int(2);
    }
    p[0] = Value::Bytes(cbor::encode(&prot));
    refused(&assemble(p), &statement(6), "label 395 (vds): must be 1");

    // Trailing bytes.
    let mut trailing = good.clone();
    trailing.push(0x00);
    let e = refused(&trailing, &statement(6), "trailing byte");
    assert!(matches!(e, ReceiptError::Cbor(_)));

    // A path longer than 63 hashes, refused before any hashing.
    let e = refused(
        &with_proof(&good, u64::MAX, 0, vec![vec![0; 32]; MAX_PATH_LEN + 1]),
        &statement(6),
        "over the limit of 63",
    );
    assert!(matches!(e, ReceiptError::PathTooLong(64)));
    // A path hash of the wrong length.
    let mut short = path.clone();
    short[0].pop();
    refused(
        &with_proof(&good, 11, 6, short),
        &statement(6),
        "not 32 bytes",
    );
    // Too large as a whole.
    refused(&vec![0u8; 5000], &statement(6), "over the limit of 4096");
}

#[test]
fn a_63_hash_path_is_accepted_and_checked() {
    // Leaf 0 of a tree of 2^63 leaves needs 63 hashes; the proof is well-formed, but the root
    // it gives is not the one signed.
    let t = tree(3);
    let good = receipt(&t, 0, 3);
    let long = with_proof(&good, 1 << 63, 0, vec![vec![9; 32]; MAX_PATH_LEN]);
    refused(&long, &statement(0), "signature does not verify");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Arbitrary byte changes never panic and never verify.
    #[test]
    fn mutated_receipts_never_verify(at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let t = tree(5);
        let good = receipt(&t, 2, 5);
        let mut bad = good.clone();
        let i = at.index(bad.len());
        if cut {
            bad.truncate(i);
        } else {
            prop_assume!(bad[i] != byte);
            bad[i] = byte;
        }
        prop_assert!(check(&bad, &statement(2)).is_err());
    }

    /// Arbitrary bytes never panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = check(&bytes, b"x");
    }
}

/// The receipt of the example in `specs/service.md`: leaf 1 of the three statements
/// `statement 0`..`statement 2`, signed by the key whose seed is 32 bytes of 0x42.
fn spec_example() -> Vec<u8> {
    receipt(&tree(3), 1, 3)
}

#[test]
fn the_spec_example_is_what_evledger_makes() {
    let spec =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/service.md"))
            .expect("specs/service.md");
    let start = spec
        .find("<!-- receipt-example -->")
        .expect("the example marker in specs/service.md");
    let block = spec[start..]
        .split("```")
        .nth(1)
        .expect("the fenced example after the marker");
    let hex: String = block
        .lines()
        .skip(1)
        .map(|l| l.split(';').next().unwrap_or("").replace(' ', ""))
        .collect();
    let expected = evledger::hex::encode(&spec_example());
    assert_eq!(
        hex, expected,
        "the annotated example in specs/service.md is out of date; the receipt is now\n{expected}"
    );
    check(&spec_example(), &statement(1)).expect("the example verifies");
}

/// Runs the independent Python verifier on (receipt, statement) pairs; its output lines.
fn python_verify(dir: &Path, key_hex: &str, pairs: &[(Vec<u8>, Vec<u8>)]) -> (i32, Vec<String>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cose_receipt_verify.py");
    let mut args = vec![script.display().to_string(), key_hex.to_owned()];
    for (n, (r, s)) in pairs.iter().enumerate() {
        let rp = dir.join(format!("r{n}.cose"));
        let sp = dir.join(format!("s{n}.bin"));
        std::fs::write(&rp, r).expect("write receipt");
        std::fs::write(&sp, s).expect("write statement");
        args.push(rp.display().to_string());
        args.push(sp.display().to_string());
    }
    let probe = Command::new("python3")
        .args(["-c", "import cbor2, cryptography"])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "the independent receipt verifier needs python3 with cbor2 and cryptography \
             (`python3 -m pip install cbor2 cryptography`, as .ci/run does): {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "the independent receipt verifier needs python3 with cbor2 and cryptography \
             (install python3, then `python3 -m pip install cbor2 cryptography`): {e}"
        ),
    }
    let out = Command::new("python3")
        .args(&args)
        .output()
        .expect("run python3");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect();
    (out.status.code().unwrap_or(-1), lines)
}

#[test]
fn an_independent_verifier_accepts_evledger_receipts_and_refuses_tampered_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key_hex = evledger::hex::encode(log_key().verifying_key().as_bytes());
    let big = tree(129);
    let mut good = Vec::new();
    let mut expected = Vec::new();
    for &n in &[1u64, 2, 3, 5, 7, 8, 13, 64, 100, 129] {
        for i in [0, n / 3, n - 1] {
            good.push((receipt(&big, i, n), statement(i)));
            let root: Hash = evledger::merkle::root(&big, n).expect("root");
            expected.push(format!("ok {n} {i} {}", evledger::hex::encode(&root)));
        }
    }
    let (code, lines) = python_verify(dir.path(), &key_hex, &good);
    assert_eq!(lines, expected);
    assert_eq!(code, 0);

    // The same verifier refuses what evledger refuses.
    let r = receipt(&big, 6, 11);
    let mut path = path_of(&r);
    path[0][0] ^= 0x80;
    let bad = vec![
        (r.clone(), statement(5)),
        (with_proof(&r, 11, 7, path_of(&r)), statement(6)),
        (with_proof(&r, 11, 6, path), statement(6)),
    ];
    let (code, lines) = python_verify(dir.path(), &key_hex, &bad);
    assert_eq!(code, 1, "{lines:?}");
    assert_eq!(lines.len(), 3);
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("fail signature does not verify")),
        "{lines:?}"
    );
    // And another log key.
    let other = evledger::hex::encode(SigningKey::from_bytes(&[1; 32]).verifying_key().as_bytes());
    let (code, lines) = python_verify(dir.path(), &other, &good[..1]);
    assert_eq!(
        (code, lines),
        (
            1,
            vec!["fail kid is not the log key's RFC 9679 thumbprint".to_owned()]
        )
    );
}

/// Writes the `receipt_verify` fuzz seeds (`fuzz/corpus/receipt_verify/`): receipts of leaf 2 in
/// trees of 3 to 12 leaves (`good-*`), and one of each refusal (`bad-*`).
#[test]
#[ignore = "writes the committed fuzz seeds; run by hand"]
fn write_fuzz_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/receipt_verify");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let t = tree(12);
    for n in 3..=12 {
        std::fs::write(dir.join(format!("good-n{n}.cose")), receipt(&t, 2, n)).expect("write");
    }
    let good = receipt(&t, 2, 7);
    let mut bad: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut trailing = good.clone();
    trailing.push(0);
    bad.push(("trailing-byte", trailing));
    bad.push(("truncated", good[..good.len() - 1].to_vec()));
    bad.push(("other-leaf", receipt(&t, 1, 7)));
    bad.push((
        "path-too-long",
        with_proof(&good, u64::MAX, 2, vec![vec![0; 32]; MAX_PATH_LEN + 1]),
    ));
    let mut flipped = path_of(&good);
    flipped[0][0] ^= 1;
    bad.push(("flipped-path", with_proof(&good, 7, 2, flipped)));
    bad.push(("index-beyond-size", with_proof(&good, 7, 7, path_of(&good))));
    let mut p = parts(&good);
    p[2] = Value::Bytes(vec![0; 32]);
    bad.push(("attached-payload", assemble(p)));
    let mut p = parts(&good);
    let mut prot = cbor::decode(p[0].as_bytes().expect("bstr")).expect("protected");
    if let Value::Map(m) = &mut prot {
        m.push((Value::int(3), Value::text("application/cose")));
    }
    p[0] = Value::Bytes(cbor::encode(&prot));
    bad.push(("extra-protected-label", assemble(p)));
    let mut p = parts(&good);
    if let Value::Map(m) = &mut p[1] {
        m.push((Value::int(33), Value::Bytes(vec![1])));
    }
    bad.push(("extra-unprotected-label", assemble(p)));
    for (name, bytes) in bad {
        std::fs::write(dir.join(format!("bad-{name}.cose")), bytes).expect("write");
    }
}
