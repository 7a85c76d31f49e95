//! Hostile bundles, built from the committed known-good fuzz seeds: each one aims at a cost the
//! verifier must keep bounded (`specs/verification.md`, "Cost"). Shared by `tests/hostile.rs`,
//! which verifies them under a counting allocator, and by its ignored `write_hostile_files`,
//! which writes them out for `/usr/bin/time` and the fuzz corpus.

// Each test binary that includes this module uses part of it.
#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use evledger::bundle::{Bundle, BundleEntry};
use evledger::cbor::{self, Value};
use evledger::statement::{self, Header, SignedStatement};
use sha2::{Digest, Sha256};

/// The known-good bundle with a claim, its lab result and builds.
pub const GOOD_CLAIM: &[u8] = include_bytes!("../../fuzz/corpus/verify_bundle/good-claim2.cbor");
/// The known-good bundle of many firmware builds.
pub const GOOD_BUILDS: &[u8] =
    include_bytes!("../../fuzz/corpus/verify_bundle/good-many-builds.cbor");

/// A key no trust file pins: hostile statements are well-formed but unsigned.
fn stranger() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn parse(bytes: &[u8]) -> Bundle {
    Bundle::parse(bytes, &Default::default()).expect("the known-good seed parses")
}

/// The header and decoded payload of the first entry of `kind` in `bundle`.
fn template(bundle: &Bundle, kind: &str) -> (Header, Value) {
    bundle
        .entries
        .iter()
        .map(|e| SignedStatement::parse(&e.statement).expect("seed statement parses"))
        .find(|s| s.header().kind == kind)
        .map(|s| {
            let v = cbor::decode(s.payload()).expect("seed payload decodes");
            (s.header().clone(), v)
        })
        .unwrap_or_else(|| panic!("the seed holds a {kind}"))
}

/// A statement of `header` over the payload bytes, signed by a key nobody trusts.
fn restate(header: &Header, payload: &[u8]) -> Vec<u8> {
    let mut h = header.clone();
    h.kid = evledger::keys::KeyId::of(&stranger().verifying_key());
    statement::sign(&h, payload, &stranger())
}

/// The value under text key `key` of map `v`.
fn field<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
    let Value::Map(m) = v else {
        panic!("not a map")
    };
    &mut m
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(key))
        .unwrap_or_else(|| panic!("no key {key}"))
        .1
}

/// A bundle around `entries` under the seed's checkpoint.
fn bundle_of(seed: &Bundle, statements: Vec<Vec<u8>>) -> Bundle {
    let proof = seed.entries[0].proof.clone();
    Bundle {
        version: seed.version,
        checkpoint: seed.checkpoint.clone(),
        entries: statements
            .into_iter()
            .enumerate()
            .map(|(i, statement)| BundleEntry {
                index: i as u64,
                statement,
                proof: proof.clone(),
            })
            .collect(),
        consistency: Vec::new(),
        attachments: Default::default(),
        adverse_index: seed.adverse_index.clone(),
    }
}

/// A claim listing `n` distinct models, the last of which repeats the first: the uniqueness
/// check must be O(n log n) and still name `applies_to.models[n-1]`.
pub fn unique_models(n: usize) -> Vec<u8> {
    let seed = parse(GOOD_CLAIM);
    let (header, mut claim) = template(&seed, "claim");
    let mut models: Vec<Value> = (0..n - 1)
        .map(|i| Value::text(format!("FG-{i:07}")))
        .collect();
    models.push(Value::text("FG-0000000"));
    *field(field(&mut claim, "applies_to"), "models") = Value::Array(models);
    bundle_of(&seed, vec![restate(&header, &cbor::encode(&claim))]).to_cbor()
}

/// `entries` copies of a claim with a document, and `attachments` small documents nobody cites:
/// each attachment's citation must be looked up, not searched for in every entry (with no
/// attachments: many claims to judge).
pub fn uncited_attachments(entries: usize, attachments: usize) -> Vec<u8> {
    let seed = parse(GOOD_CLAIM);
    let claim = seed
        .entries
        .iter()
        .find(|e| SignedStatement::parse(&e.statement).is_ok_and(|s| s.header().kind == "claim"))
        .expect("the seed holds a claim")
        .statement
        .clone();
    let mut b = bundle_of(&seed, vec![claim; entries]);
    for i in 0..attachments {
        let doc = format!("uncited document {i}").into_bytes();
        b.attachments
            .insert(evledger::hex::encode(&Sha256::digest(&doc)), doc);
    }
    b.to_cbor()
}

/// A claim published in `channels` places that all name one attached document of `doc_len`
/// bytes that does not contain the wording: each (document, wording) pair must be searched once.
pub fn wording_channels(channels: usize, doc_len: usize) -> Vec<u8> {
    let seed = parse(GOOD_CLAIM);
    let (header, mut claim) = template(&seed, "claim");
    let doc = vec![b'a'; doc_len];
    let digest = evledger::hex::encode(&Sha256::digest(&doc));
    let list = (0..channels)
        .map(|i| {
            Value::Map(vec![
                (Value::text("kind"), Value::text("datasheet")),
                (
                    Value::text("locator"),
                    Value::text(format!("https://aurelis.example/d/{i}")),
                ),
                (Value::text("document_sha256"), Value::text(digest.clone())),
            ])
        })
        .collect();
    *field(&mut claim, "channels") = Value::Array(list);
    let mut b = bundle_of(&seed, vec![restate(&header, &cbor::encode(&claim))]);
    b.attachments.insert(digest, doc);
    b.to_cbor()
}

/// `depth` arrays nested in each other, each declaring as many items as there are bytes after
/// its head, around `filler` zero bytes.
pub fn nested_arrays(depth: usize, filler: usize) -> Vec<u8> {
    let mut out = vec![0; filler];
    for _ in 0..depth {
        let mut head = Vec::new();
        array_head(out.len() as u64, &mut head);
        head.extend_from_slice(&out);
        out = head;
    }
    out
}

/// An array head of `n` items in shortest form.
fn array_head(n: u64, out: &mut Vec<u8>) {
    match n {
        0..24 => out.push(0x80 | n as u8),
        24..0x100 => out.extend([0x98, n as u8]),
        0x100..0x1_0000 => {
            out.push(0x99);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(0x9a);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

/// A claim statement whose payload is [`nested_arrays`] 32 deep, filling the statement limit:
/// decoding it must not reserve what the counts declare.
pub fn nested_payload() -> Vec<u8> {
    nested_payload_of(statement::MAX_STATEMENT_LEN - 1024)
}

/// [`nested_payload`] around `filler` bytes.
pub fn nested_payload_of(filler: usize) -> Vec<u8> {
    let seed = parse(GOOD_CLAIM);
    let (header, _) = template(&seed, "claim");
    let payload = nested_arrays(32, filler);
    bundle_of(&seed, vec![restate(&header, &payload)]).to_cbor()
}

/// A bundle whose `entries` is nested arrays of `len` bytes: refused at its first item.
pub fn nested_bundle(len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    // {"checkpoint": "", "entries": [[[...]]], "evledger-bundle": 2}, keys in encoding order.
    out.push(0xa3);
    cbor::encode_into(&Value::text("entries"), &mut out);
    out.extend(nested_arrays(7, len));
    cbor::encode_into(&Value::text("checkpoint"), &mut out);
    cbor::encode_into(&Value::text(""), &mut out);
    cbor::encode_into(&Value::text("evledger-bundle"), &mut out);
    cbor::encode_into(&Value::Unsigned(2), &mut out);
    out
}

/// A bundle of about `bytes` bytes: the seed's firmware builds over and over, at ascending
/// indexes under the seed's checkpoint (so their inclusion proofs fail).
pub fn big_bundle(bytes: usize) -> Vec<u8> {
    let seed = parse(GOOD_BUILDS);
    let per = seed
        .entries
        .iter()
        .map(|e| e.statement.len() + 33 * e.proof.len() + 40)
        .sum::<usize>()
        / seed.entries.len();
    let n = bytes / per;
    let statements = (0..n)
        .map(|i| seed.entries[i % seed.entries.len()].statement.clone())
        .collect();
    let mut b = bundle_of(&seed, statements);
    for (e, s) in b.entries.iter_mut().zip(seed.entries.iter().cycle()) {
        e.proof = s.proof.clone();
    }
    b.to_cbor()
}
