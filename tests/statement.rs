//! COSE_Sign1 signed statements: sign/parse/verify round trips, and the profile checks that
//! refuse tampered, mislabelled or non-deterministic statements.
//!
//! Hand-made statements are built here from the RFC 9052 §4.4 definition of the signed bytes
//! (`["Signature1", protected, h'', payload]`), independently of the crate's own signer.

use ed25519_dalek::{Signer, SigningKey};
use evledger::cbor::{self, CborError, Value};
use evledger::keys::KeyId;
use evledger::statement::{
    self, ALG_ED25519, ALG_EDDSA, COSE_SIGN1_TAG, Header, MAX_STATEMENT_LEN, SignedStatement,
    StatementError,
};
use sha2::{Digest, Sha256};

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn header(k: &SigningKey) -> Header {
    Header {
        alg: ALG_EDDSA,
        kind: "firmware-build".into(),
        kid: KeyId::of(&k.verifying_key()),
        issuer: "Aurelis Security Systems".into(),
        subject: "FaceGate 3D 4.2.0".into(),
        issued_at: 1_772_366_400,
        x5chain: vec![],
    }
}

const PAYLOAD: &[u8] = &[0xa1, 0x61, b'a', 0x01];

fn int(i: i64) -> Value {
    Value::int(i)
}

/// The protected header map of `header(k)`, as a list of entries to edit.
fn protected_entries(k: &SigningKey) -> Vec<(Value, Value)> {
    vec![
        (int(1), int(ALG_EDDSA)),
        (
            int(3),
            Value::text("application/vnd.evledger.firmware-build+cbor"),
        ),
        (
            int(4),
            Value::Bytes(KeyId::of(&k.verifying_key()).0.to_vec()),
        ),
        (int(15), claims(true, true, true)),
    ]
}

fn claims(iss: bool, sub: bool, iat: bool) -> Value {
    let mut c = Vec::new();
    if iss {
        c.push((int(1), Value::text("Aurelis Security Systems")));
    }
    if sub {
        c.push((int(2), Value::text("FaceGate 3D 4.2.0")));
    }
    if iat {
        c.push((int(6), Value::Unsigned(1_772_366_400)));
    }
    Value::Map(c)
}

fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    cbor::encode(&Value::Array(vec![
        Value::text("Signature1"),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(vec![]),
        Value::Bytes(payload.to_vec()),
    ]))
}

/// A COSE_Sign1 from raw protected-header bytes, correctly signed over them.
fn hand_made(k: &SigningKey, protected: &[u8], unprotected: Value, tag: u64) -> Vec<u8> {
    let sig = k.sign(&sig_structure(protected, PAYLOAD));
    cbor::encode(&Value::Tag(
        tag,
        Box::new(Value::Array(vec![
            Value::Bytes(protected.to_vec()),
            unprotected,
            Value::Bytes(PAYLOAD.to_vec()),
            Value::Bytes(sig.to_bytes().to_vec()),
        ])),
    ))
}

fn with_protected(k: &SigningKey, entries: Vec<(Value, Value)>) -> Vec<u8> {
    hand_made(
        k,
        &cbor::encode(&Value::Map(entries)),
        Value::Map(vec![]),
        COSE_SIGN1_TAG,
    )
}

fn profile_error(bytes: &[u8]) -> (String, String) {
    match SignedStatement::parse(bytes) {
        Err(StatementError::Profile { field, reason }) => (field.to_owned(), reason),
        other => panic!("expected a profile error, got {other:?}"),
    }
}

/// The protected-header bytes of a statement.
fn protected_bytes(statement: &[u8]) -> Vec<u8> {
    match cbor::decode(statement).unwrap() {
        Value::Tag(18, inner) => inner.as_array().unwrap()[0].as_bytes().unwrap().to_vec(),
        other => panic!("not a COSE_Sign1: {other}"),
    }
}

/// Offset of the first occurrence of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}

// ---------------------------------------------------------------------------

#[test]
fn sign_parse_verify_round_trip() {
    let k = key(1);
    let h = header(&k);
    let bytes = statement::sign(&h, PAYLOAD, &k);
    // The crate's signer and the hand-made construction agree byte for byte (Ed25519 is deterministic).
    assert_eq!(bytes, with_protected(&k, protected_entries(&k)));
    assert_eq!(&bytes[..2], &[0xd2, 0x84], "tag 18, array of 4");

    let st = SignedStatement::parse(&bytes).unwrap();
    assert_eq!(st.header(), &h);
    assert_eq!(st.payload(), PAYLOAD);
    assert_eq!(st.bytes(), bytes.as_slice());
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    assert_eq!(st.entry_hash(), digest);
    assert_eq!(statement::entry_hash(&bytes), digest);

    let v = st.verify(&k.verifying_key()).unwrap();
    assert_eq!(v.key(), &k.verifying_key());
    assert_eq!(v.statement().bytes(), bytes.as_slice());
}

#[test]
fn wrong_key_is_a_kid_mismatch() {
    let k = key(1);
    let other = key(2);
    let bytes = statement::sign(&header(&k), PAYLOAD, &k);
    let err = SignedStatement::parse(&bytes)
        .unwrap()
        .verify(&other.verifying_key())
        .unwrap_err();
    match err {
        StatementError::KidMismatch { expected, got } => {
            assert_eq!(expected, KeyId::of(&k.verifying_key()));
            assert_eq!(got, KeyId::of(&other.verifying_key()));
        }
        other => panic!("expected KidMismatch, got {other:?}"),
    }
}

#[test]
fn a_statement_naming_someone_elses_kid_does_not_verify() {
    // Signed by key 2 but claiming key 1's kid: verifying under key 1 must fail on the signature.
    let k1 = key(1);
    let k2 = key(2);
    let bytes = statement::sign(&header(&k1), PAYLOAD, &k2);
    let err = SignedStatement::parse(&bytes)
        .unwrap()
        .verify(&k1.verifying_key())
        .unwrap_err();
    assert!(
        matches!(err, StatementError::BadSignature { kid } if kid == KeyId::of(&k1.verifying_key())),
        "{err:?}"
    );
}

#[test]
fn flipped_bytes_do_not_verify() {
    let k = key(1);
    let bytes = statement::sign(&header(&k), PAYLOAD, &k);
    let vk = k.verifying_key();

    // Signature: the last 64 bytes.
    for at in [bytes.len() - 64, bytes.len() - 1] {
        let mut b = bytes.clone();
        b[at] ^= 0x01;
        let err = SignedStatement::parse(&b).unwrap().verify(&vk).unwrap_err();
        assert!(
            matches!(err, StatementError::BadSignature { .. }),
            "{err:?}"
        );
    }

    // Payload: its last byte (the value 1 in {"a": 1}) becomes 0.
    let mut b = bytes.clone();
    let at = find(&b, PAYLOAD) + PAYLOAD.len() - 1;
    b[at] = 0x00;
    let st = SignedStatement::parse(&b).unwrap();
    assert_eq!(st.payload(), &[0xa1, 0x61, b'a', 0x00]);
    assert!(matches!(
        st.verify(&vk),
        Err(StatementError::BadSignature { .. })
    ));

    // Protected header: one letter of the issuer, which still parses.
    let mut b = bytes.clone();
    let at = find(&b, b"Aurelis");
    b[at] = b'B';
    let st = SignedStatement::parse(&b).unwrap();
    assert_eq!(st.header().issuer, "Burelis Security Systems");
    assert!(matches!(
        st.verify(&vk),
        Err(StatementError::BadSignature { .. })
    ));

    // Protected header: iat changed.
    let mut b = bytes.clone();
    let at = find(&b, &1_772_366_400u32.to_be_bytes());
    b[at + 3] ^= 0x01;
    let st = SignedStatement::parse(&b).unwrap();
    assert_eq!(st.header().issued_at, 1_772_366_401);
    assert!(matches!(
        st.verify(&vk),
        Err(StatementError::BadSignature { .. })
    ));
}

#[test]
fn unprotected_header_must_be_an_empty_map() {
    let k = key(1);
    let protected = cbor::encode(&Value::Map(protected_entries(&k)));
    for unprotected in [
        Value::Map(vec![(int(4), Value::Bytes(vec![0; 32]))]),
        Value::Map(vec![(int(33), Value::Bytes(vec![0x30]))]),
        Value::Bytes(vec![]),
        Value::Null,
    ] {
        let b = hand_made(&k, &protected, unprotected.clone(), COSE_SIGN1_TAG);
        assert_eq!(
            profile_error(&b),
            ("unprotected header".into(), "must be an empty map".into()),
            "{unprotected}"
        );
    }
}

#[test]
fn wrong_tag_or_structure_is_refused() {
    let k = key(1);
    let protected = cbor::encode(&Value::Map(protected_entries(&k)));
    let expect = (
        "structure".to_owned(),
        "is not a tagged (18) COSE_Sign1 array".to_owned(),
    );
    // COSE_Sign (98), COSE_Mac0 (17), CWT (61).
    for tag in [98, 17, 61] {
        let b = hand_made(&k, &protected, Value::Map(vec![]), tag);
        assert_eq!(profile_error(&b), expect, "tag {tag}");
    }
    // Untagged.
    let good = statement::sign(&header(&k), PAYLOAD, &k);
    assert_eq!(profile_error(&good[1..]), expect);
    // Tag 18 around a map.
    assert_eq!(profile_error(&[0xd2, 0xa0]), expect);
    // Three elements.
    let three = cbor::encode(&Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(protected.clone()),
            Value::Map(vec![]),
            Value::Bytes(PAYLOAD.to_vec()),
        ])),
    ));
    assert_eq!(
        profile_error(&three),
        ("structure".into(), "has 3 elements, not 4".into())
    );
}

#[test]
fn detached_payload_short_signature_and_non_bytes_protected_are_refused() {
    let k = key(1);
    let protected = cbor::encode(&Value::Map(protected_entries(&k)));
    let build = |p: Value, payload: Value, sig: Value| {
        cbor::encode(&Value::Tag(
            18,
            Box::new(Value::Array(vec![p, Value::Map(vec![]), payload, sig])),
        ))
    };
    let sig = Value::Bytes(vec![0; 64]);
    assert_eq!(
        profile_error(&build(
            Value::Bytes(protected.clone()),
            Value::Null,
            sig.clone()
        )),
        ("payload".into(), "must be an embedded byte string".into())
    );
    assert_eq!(
        profile_error(&build(
            Value::Bytes(protected.clone()),
            Value::Bytes(PAYLOAD.to_vec()),
            Value::Bytes(vec![0; 63])
        )),
        ("signature".into(), "must be a 64-byte string".into())
    );
    assert_eq!(
        profile_error(&build(
            Value::Map(protected_entries(&k)),
            Value::Bytes(PAYLOAD.to_vec()),
            sig
        )),
        ("protected header".into(), "is not a byte string".into())
    );
}

#[test]
fn missing_header_fields_are_named() {
    let k = key(1);
    let without = |label: i64| {
        let mut e = protected_entries(&k);
        e.retain(|(l, _)| l != &int(label));
        with_protected(&k, e)
    };
    for (label, field) in [
        (1, "alg (label 1)"),
        (3, "content type (label 3)"),
        (4, "kid (label 4)"),
        (15, "CWT claims (label 15)"),
    ] {
        assert_eq!(
            profile_error(&without(label)),
            (field.into(), "is missing".into())
        );
    }
    for (c, reason) in [
        (claims(false, true, true), "iss (1) is missing"),
        (claims(true, false, true), "sub (2) is missing"),
        (claims(true, true, false), "iat (6) is missing"),
    ] {
        let mut e = protected_entries(&k);
        e[3].1 = c;
        assert_eq!(
            profile_error(&with_protected(&k, e)),
            ("CWT claims (label 15)".into(), reason.into())
        );
    }
}

#[test]
fn header_field_types_and_values_are_checked() {
    let k = key(1);
    let edit = |label: i64, v: Value| {
        let mut e = protected_entries(&k);
        match e.iter_mut().find(|(l, _)| l == &int(label)) {
            Some(slot) => slot.1 = v,
            None => e.push((int(label), v)),
        }
        with_protected(&k, e)
    };
    assert_eq!(
        profile_error(&edit(1, int(-7))),
        ("alg (label 1)".into(), "must be -8 or -19, got -7".into())
    );
    assert_eq!(
        profile_error(&edit(4, Value::Bytes(vec![0; 31]))),
        ("kid (label 4)".into(), "must be a 32-byte string".into())
    );
    assert_eq!(
        profile_error(&edit(3, Value::text("application/cbor"))),
        (
            "content type (label 3)".into(),
            "\"application/cbor\" is not application/vnd.evledger.<kind>+cbor".into()
        )
    );
    assert_eq!(
        profile_error(&edit(
            3,
            Value::text("application/vnd.evledger.Firmware+cbor")
        ))
        .0,
        "content type (label 3)"
    );
    assert_eq!(
        profile_error(&edit(2, Value::Array(vec![int(1)]))),
        ("protected header".into(), "unexpected label 2".into())
    );
    let mut c = claims(true, true, true);
    if let Value::Map(m) = &mut c {
        m[2].1 = int(-1);
    }
    assert_eq!(
        profile_error(&edit(15, c)),
        (
            "CWT claims (label 15)".into(),
            "iat (6) is not an unsigned integer".into()
        )
    );
}

#[test]
fn alg_minus_19_is_accepted() {
    let k = key(3);
    let mut h = header(&k);
    h.alg = ALG_ED25519;
    let bytes = statement::sign(&h, PAYLOAD, &k);
    let st = SignedStatement::parse(&bytes).unwrap();
    assert_eq!(st.header().alg, -19);
    st.verify(&k.verifying_key()).unwrap();
}

#[test]
fn non_deterministic_protected_header_is_refused_even_when_signed() {
    let k = key(1);
    let good = cbor::encode(&Value::Map(protected_entries(&k)));
    assert_eq!(&good[..3], &[0xa4, 0x01, 0x27], "{{1: -8, ...");

    // alg -8 as 38 07 instead of 27.
    let mut long_int = vec![0xa4, 0x01, 0x38, 0x07];
    long_int.extend_from_slice(&good[3..]);
    let err = SignedStatement::parse(&hand_made(
        &k,
        &long_int,
        Value::Map(vec![]),
        COSE_SIGN1_TAG,
    ))
    .unwrap_err();
    assert!(
        matches!(
            err,
            StatementError::Cbor(CborError::NotShortest { offset: 2 })
        ),
        "{err:?}"
    );

    // Labels 3 and 1 swapped: {3: ..., 1: -8, 4: ..., 15: ...}.
    let ct = cbor::encode(&Value::text("application/vnd.evledger.firmware-build+cbor"));
    let mut unsorted = vec![0xa4, 0x03];
    unsorted.extend_from_slice(&ct);
    unsorted.extend_from_slice(&[0x01, 0x27]);
    unsorted.extend_from_slice(&good[3 + 1 + ct.len()..]);
    let err = SignedStatement::parse(&hand_made(
        &k,
        &unsorted,
        Value::Map(vec![]),
        COSE_SIGN1_TAG,
    ))
    .unwrap_err();
    assert!(
        matches!(err, StatementError::Cbor(CborError::UnsortedKeys { .. })),
        "{err:?}"
    );

    // Trailing byte inside the protected bstr.
    let mut trailing = good.clone();
    trailing.push(0x00);
    let err = SignedStatement::parse(&hand_made(
        &k,
        &trailing,
        Value::Map(vec![]),
        COSE_SIGN1_TAG,
    ))
    .unwrap_err();
    assert!(
        matches!(err, StatementError::Cbor(CborError::TrailingBytes { .. })),
        "{err:?}"
    );
}

#[test]
fn non_deterministic_outer_structure_is_refused() {
    let k = key(1);
    let good = statement::sign(&header(&k), PAYLOAD, &k);
    // The empty unprotected map written as b8 00 instead of a0.
    let at = find(&good, &[0xa0, 0x44]);
    let mut b = good[..at].to_vec();
    b.extend_from_slice(&[0xb8, 0x00]);
    b.extend_from_slice(&good[at + 1..]);
    assert!(matches!(
        SignedStatement::parse(&b),
        Err(StatementError::Cbor(CborError::NotShortest { .. }))
    ));
    // Trailing bytes after the statement.
    let mut b = good.clone();
    b.push(0xf6);
    assert!(matches!(
        SignedStatement::parse(&b),
        Err(StatementError::Cbor(CborError::TrailingBytes { .. }))
    ));
}

#[test]
fn oversized_statement_is_refused_before_decoding() {
    let big = vec![0u8; MAX_STATEMENT_LEN + 1];
    assert!(matches!(
        SignedStatement::parse(&big),
        Err(StatementError::TooLarge(n)) if n == MAX_STATEMENT_LEN + 1
    ));
}

#[test]
fn x5chain_single_certificate_is_a_byte_string() {
    let k = key(4);
    let cert = vec![0x30, 0x82, 0x01, 0x0a, 0xde, 0xad];
    let mut h = header(&k);
    h.x5chain = vec![cert.clone()];
    let bytes = statement::sign(&h, PAYLOAD, &k);
    let st = SignedStatement::parse(&bytes).unwrap();
    assert_eq!(st.header().x5chain, vec![cert.clone()]);
    // In the protected header, label 33 holds the bytes directly.
    let protected = protected_bytes(&bytes);
    let map = cbor::decode(&protected).unwrap();
    assert_eq!(map.get(&int(33)), Some(&Value::Bytes(cert)));
    st.verify(&k.verifying_key()).unwrap();
}

#[test]
fn x5chain_chain_is_an_array_leaf_first() {
    let k = key(4);
    let leaf = vec![0x30, 0x01];
    let ca = vec![0x30, 0x02];
    let mut h = header(&k);
    h.x5chain = vec![leaf.clone(), ca.clone()];
    let bytes = statement::sign(&h, PAYLOAD, &k);
    let st = SignedStatement::parse(&bytes).unwrap();
    assert_eq!(st.header().x5chain, vec![leaf.clone(), ca.clone()]);
    let mut e = protected_entries(&k);
    e.push((
        int(33),
        Value::Array(vec![Value::Bytes(leaf), Value::Bytes(ca)]),
    ));
    assert_eq!(bytes, with_protected(&k, e));
    st.verify(&k.verifying_key()).unwrap();
}

#[test]
fn x5chain_malformed_forms_are_refused() {
    let k = key(4);
    let with_x5 = |v: Value| {
        let mut e = protected_entries(&k);
        e.push((int(33), v));
        with_protected(&k, e)
    };
    let bad = (
        "x5chain (label 33)".to_owned(),
        "must be one certificate as bytes, or an array of two or more".to_owned(),
    );
    assert_eq!(profile_error(&with_x5(Value::Array(vec![]))), bad);
    // RFC 9360 §2: a single certificate is a byte string, never an array of one.
    assert_eq!(
        profile_error(&with_x5(Value::Array(vec![Value::Bytes(vec![0x30])]))),
        bad
    );
    assert_eq!(profile_error(&with_x5(Value::text("cert"))), bad);
    assert_eq!(
        profile_error(&with_x5(Value::Array(vec![
            Value::Bytes(vec![0x30]),
            int(1)
        ]))),
        ("x5chain (label 33)".into(), "holds a non-bytes item".into())
    );
}
