//! Deterministic CBOR (RFC 8949 §4.2.1): known encodings, round trips, and the strict decoder's
//! rejection of every non-deterministic form, with the error it names.

use evledger::cbor::{self, CborError, Limits, Value};
use proptest::prelude::*;

fn enc(v: &Value) -> Vec<u8> {
    cbor::encode(v)
}

fn round_trip(v: &Value, expected: &[u8]) {
    let bytes = enc(v);
    assert_eq!(bytes, expected, "encoding of {v}");
    assert_eq!(cbor::decode(&bytes).as_ref(), Ok(v), "decoding of {v}");
    assert_eq!(cbor::decode_canonical(&bytes).as_ref(), Ok(v));
}

fn rejects(bytes: &[u8], expected: CborError) {
    assert_eq!(cbor::decode(bytes), Err(expected), "input {bytes:02x?}");
}

// ---------------------------------------------------------------------------
// Known encodings (RFC 8949 Appendix A where it has them).

#[test]
fn unsigned_integers_use_the_shortest_head() {
    round_trip(&Value::Unsigned(0), &[0x00]);
    round_trip(&Value::Unsigned(23), &[0x17]);
    round_trip(&Value::Unsigned(24), &[0x18, 0x18]);
    round_trip(&Value::Unsigned(255), &[0x18, 0xff]);
    round_trip(&Value::Unsigned(256), &[0x19, 0x01, 0x00]);
    round_trip(&Value::Unsigned(65_535), &[0x19, 0xff, 0xff]);
    round_trip(&Value::Unsigned(65_536), &[0x1a, 0x00, 0x01, 0x00, 0x00]);
    round_trip(
        &Value::Unsigned(u32::MAX as u64),
        &[0x1a, 0xff, 0xff, 0xff, 0xff],
    );
    round_trip(
        &Value::Unsigned(1 << 32),
        &[0x1b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00],
    );
    round_trip(
        &Value::Unsigned(u64::MAX),
        &[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    );
}

#[test]
fn negative_integers() {
    round_trip(&Value::int(-1), &[0x20]);
    round_trip(&Value::int(-24), &[0x37]);
    round_trip(&Value::int(-25), &[0x38, 0x18]);
    round_trip(&Value::int(-1000), &[0x39, 0x03, 0xe7]);
    round_trip(
        &Value::int(i64::MIN),
        &[0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    );
    // -2^64, below the i64 range, is still a CBOR integer.
    let v = Value::Negative(u64::MAX);
    round_trip(&v, &[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(v.as_i64(), None);
    assert_eq!(v.to_string(), "-18446744073709551616");
    assert_eq!(Value::int(-8).as_i64(), Some(-8));
}

#[test]
fn strings_arrays_maps_tags_and_simple_values() {
    round_trip(&Value::Bytes(vec![]), &[0x40]);
    round_trip(&Value::Bytes(vec![1, 2, 3, 4]), &[0x44, 1, 2, 3, 4]);
    round_trip(&Value::text(""), &[0x60]);
    round_trip(&Value::text("IETF"), &[0x64, b'I', b'E', b'T', b'F']);
    round_trip(&Value::text("\u{00fc}"), &[0x62, 0xc3, 0xbc]);
    round_trip(&Value::Array(vec![]), &[0x80]);
    round_trip(
        &Value::Array(vec![Value::int(1), Value::Array(vec![Value::int(2)])]),
        &[0x82, 0x01, 0x81, 0x02],
    );
    round_trip(&Value::Map(vec![]), &[0xa0]);
    round_trip(
        &Value::Map(vec![
            (Value::int(1), Value::int(2)),
            (Value::int(3), Value::int(4)),
        ]),
        &[0xa2, 0x01, 0x02, 0x03, 0x04],
    );
    round_trip(
        &Value::Tag(18, Box::new(Value::Array(vec![]))),
        &[0xd2, 0x80],
    );
    round_trip(
        &Value::Tag(1_000, Box::new(Value::Null)),
        &[0xd9, 0x03, 0xe8, 0xf6],
    );
    round_trip(&Value::Bool(false), &[0xf4]);
    round_trip(&Value::Bool(true), &[0xf5]);
    round_trip(&Value::Null, &[0xf6]);
}

#[test]
fn string_and_container_lengths_use_the_shortest_head() {
    let b24 = vec![0xaa; 24];
    let mut expected = vec![0x58, 24];
    expected.extend_from_slice(&b24);
    round_trip(&Value::Bytes(b24), &expected);

    let t256 = "x".repeat(256);
    let mut expected = vec![0x79, 0x01, 0x00];
    expected.extend_from_slice(t256.as_bytes());
    round_trip(&Value::text(t256), &expected);

    let a24 = Value::Array(vec![Value::Null; 24]);
    let mut expected = vec![0x98, 24];
    expected.extend(std::iter::repeat_n(0xf6, 24));
    round_trip(&a24, &expected);
}

#[test]
fn map_keys_are_sorted_by_their_encoded_bytes() {
    // Encodings: 10 = 0a, -1 = 20, h'00' = 41 00, "a" = 61 61, "aa" = 62 61 61.
    let given = Value::Map(vec![
        (Value::text("aa"), Value::int(5)),
        (Value::Bytes(vec![0]), Value::int(4)),
        (Value::text("a"), Value::int(3)),
        (Value::int(-1), Value::int(2)),
        (Value::int(10), Value::int(1)),
    ]);
    let bytes = enc(&given);
    assert_eq!(
        bytes,
        [
            0xa5, 0x0a, 0x01, 0x20, 0x02, 0x41, 0x00, 0x04, 0x61, 0x61, 0x03, 0x62, 0x61, 0x61,
            0x05
        ]
    );
    let decoded = cbor::decode(&bytes).unwrap();
    let keys: Vec<String> = decoded
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, _)| k.to_string())
        .collect();
    assert_eq!(keys, ["10", "-1", "h'00'", "\"a\"", "\"aa\""]);
    assert_eq!(decoded.get(&Value::Bytes(vec![0])), Some(&Value::int(4)));
    assert_eq!(decoded.get_text_key("aa"), Some(&Value::int(5)));
    assert_eq!(enc(&decoded), bytes);
}

#[test]
fn bytewise_order_is_not_length_first_order() {
    // 24 encodes as 18 18 (two bytes), -1 as 20 (one byte): RFC 8949 §4.2.1 puts 24 first,
    // the old RFC 7049 "canonical" length-first rule would put -1 first.
    let m = Value::Map(vec![
        (Value::int(-1), Value::Null),
        (Value::int(24), Value::Null),
    ]);
    assert_eq!(enc(&m), [0xa2, 0x18, 0x18, 0xf6, 0x20, 0xf6]);
    rejects(
        &[0xa2, 0x20, 0xf6, 0x18, 0x18, 0xf6],
        CborError::UnsortedKeys { offset: 3 },
    );
}

#[test]
fn nested_round_trip_sorts_inner_maps_too() {
    let v = Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(enc(&Value::Map(vec![(Value::int(1), Value::int(-8))]))),
            Value::Map(vec![]),
            Value::Map(vec![
                (
                    Value::text("z"),
                    Value::Array(vec![Value::Bool(true), Value::Null]),
                ),
                (
                    Value::text("b"),
                    Value::Map(vec![
                        (Value::text("y"), Value::Unsigned(u64::MAX)),
                        (Value::text("x"), Value::Negative(0)),
                    ]),
                ),
            ]),
        ])),
    );
    let bytes = enc(&v);
    let back = cbor::decode(&bytes).unwrap();
    assert_eq!(enc(&back), bytes);
    assert_eq!(
        back.to_string(),
        "18([h'a10127', {}, {\"b\": {\"x\": -1, \"y\": 18446744073709551615}, \"z\": [true, null]}])"
    );
}

// ---------------------------------------------------------------------------
// Rejections.

#[test]
fn rejects_non_shortest_integers() {
    rejects(&[0x18, 0x05], CborError::NotShortest { offset: 0 });
    rejects(&[0x18, 0x17], CborError::NotShortest { offset: 0 });
    rejects(&[0x19, 0x00, 0xff], CborError::NotShortest { offset: 0 });
    rejects(
        &[0x1a, 0x00, 0x00, 0xff, 0xff],
        CborError::NotShortest { offset: 0 },
    );
    rejects(
        &[0x1b, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff],
        CborError::NotShortest { offset: 0 },
    );
    rejects(&[0x38, 0x07], CborError::NotShortest { offset: 0 });
    // Tags follow the same rule.
    rejects(&[0xd8, 0x12, 0x80], CborError::NotShortest { offset: 0 });
    // The offset names the bad item, not the container.
    rejects(
        &[0x82, 0x00, 0x18, 0x01],
        CborError::NotShortest { offset: 2 },
    );
}

#[test]
fn rejects_non_shortest_lengths() {
    rejects(&[0x58, 0x01, 0xaa], CborError::NotShortest { offset: 0 });
    rejects(
        &[0x59, 0x00, 0x01, 0xaa],
        CborError::NotShortest { offset: 0 },
    );
    rejects(&[0x78, 0x01, b'a'], CborError::NotShortest { offset: 0 });
    rejects(&[0x98, 0x01, 0x00], CborError::NotShortest { offset: 0 });
    rejects(
        &[0xb8, 0x01, 0x00, 0x00],
        CborError::NotShortest { offset: 0 },
    );
    rejects(&[0xb8, 0x00], CborError::NotShortest { offset: 0 });
}

#[test]
fn rejects_indefinite_lengths() {
    rejects(
        &[0x5f, 0x41, 0x00, 0xff],
        CborError::Indefinite { offset: 0 },
    );
    rejects(
        &[0x7f, 0x61, b'a', 0xff],
        CborError::Indefinite { offset: 0 },
    );
    rejects(&[0x9f, 0x00, 0xff], CborError::Indefinite { offset: 0 });
    rejects(
        &[0xbf, 0x00, 0x00, 0xff],
        CborError::Indefinite { offset: 0 },
    );
    // A lone "break" is not a data item.
    rejects(&[0xff], CborError::Indefinite { offset: 0 });
    rejects(&[0x81, 0x9f, 0xff], CborError::Indefinite { offset: 1 });
}

#[test]
fn rejects_floats() {
    rejects(&[0xf9, 0x3c, 0x00], CborError::Float { offset: 0 });
    rejects(
        &[0xfa, 0x47, 0xc3, 0x50, 0x00],
        CborError::Float { offset: 0 },
    );
    rejects(
        &[0xfb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a],
        CborError::Float { offset: 0 },
    );
    // Even a float that holds an integer value.
    rejects(
        &[0xa1, 0x61, b'x', 0xf9, 0x00, 0x00],
        CborError::Float { offset: 3 },
    );
}

#[test]
fn rejects_other_simple_values_and_reserved_encodings() {
    rejects(&[0xf7], CborError::Unsupported { offset: 0 }); // undefined
    rejects(&[0xf0], CborError::Unsupported { offset: 0 }); // simple(16)
    rejects(&[0xf8, 0x20], CborError::Unsupported { offset: 0 }); // simple(32)
    for ib in [0x1c, 0x1d, 0x1e, 0x3c, 0x5c, 0x7d, 0x9e, 0xbc, 0xdc, 0xfc] {
        assert_eq!(
            cbor::decode(&[ib]),
            Err(CborError::Unsupported { offset: 0 }),
            "initial byte {ib:#04x}"
        );
    }
}

#[test]
fn rejects_unsorted_and_duplicate_map_keys() {
    // {"b": 0, "a": 0}
    rejects(
        &[0xa2, 0x61, b'b', 0x00, 0x61, b'a', 0x00],
        CborError::UnsortedKeys { offset: 4 },
    );
    // {"aa": 0, "b": 0}: "b" (61 62) sorts before "aa" (62 61 61).
    rejects(
        &[0xa2, 0x62, b'a', b'a', 0x00, 0x61, b'b', 0x00],
        CborError::UnsortedKeys { offset: 5 },
    );
    // {"a": 0, "a": 1}
    rejects(
        &[0xa2, 0x61, b'a', 0x00, 0x61, b'a', 0x01],
        CborError::DuplicateKey { offset: 4 },
    );
    // {1: 0, 1: 0} nested in an array.
    rejects(
        &[0x81, 0xa2, 0x01, 0x00, 0x01, 0x00],
        CborError::DuplicateKey { offset: 4 },
    );
}

#[test]
fn rejects_invalid_utf8() {
    rejects(&[0x62, 0xc3, 0x28], CborError::InvalidUtf8 { offset: 0 });
    rejects(&[0x61, 0xff], CborError::InvalidUtf8 { offset: 0 });
    // A surrogate encoded in UTF-8 (CESU) is not UTF-8.
    rejects(
        &[0x63, 0xed, 0xa0, 0x80],
        CborError::InvalidUtf8 { offset: 0 },
    );
    // Byte strings may hold anything.
    assert!(cbor::decode(&[0x41, 0xff]).is_ok());
}

#[test]
fn rejects_trailing_bytes() {
    rejects(
        &[0x00, 0x00],
        CborError::TrailingBytes {
            offset: 1,
            count: 1,
        },
    );
    rejects(
        &[0x80, 0xff, 0xff, 0xff],
        CborError::TrailingBytes {
            offset: 1,
            count: 3,
        },
    );
}

#[test]
fn rejects_truncated_input() {
    rejects(&[], CborError::Truncated { offset: 0 });
    rejects(&[0x18], CborError::Truncated { offset: 1 });
    rejects(&[0x19, 0x01], CborError::Truncated { offset: 2 });
    rejects(
        &[0x1b, 0x01, 0x02, 0x03],
        CborError::Truncated { offset: 4 },
    );
    rejects(&[0xd2], CborError::Truncated { offset: 1 });
    rejects(&[0x82, 0x00, 0x19], CborError::Truncated { offset: 3 });
    rejects(
        &[0xa1, 0x61, b'k', 0x81, 0x18],
        CborError::Truncated { offset: 5 },
    );
    // A declared length beyond the end is refused before anything is read or allocated.
    rejects(
        &[0x62, b'a'],
        CborError::TooLong {
            offset: 0,
            len: 2,
            limit: 1,
        },
    );
    rejects(
        &[0x43, 1, 2],
        CborError::TooLong {
            offset: 0,
            len: 3,
            limit: 2,
        },
    );
    rejects(
        &[0x82, 0x00],
        CborError::TooLong {
            offset: 0,
            len: 2,
            limit: 1,
        },
    );
    rejects(
        &[0x81],
        CborError::TooLong {
            offset: 0,
            len: 1,
            limit: 0,
        },
    );
}

fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut v = vec![0x81; depth];
    v.push(0x00);
    v
}

#[test]
fn nesting_limit() {
    let max = Limits::default().max_depth;
    assert_eq!(max, 32);
    assert!(cbor::decode(&nested_arrays(max)).is_ok());
    rejects(
        &nested_arrays(max + 1),
        CborError::TooDeep { offset: max, max },
    );
    // Maps and tags count as nesting levels too.
    let mut mixed = Vec::new();
    for i in 0..=max {
        mixed.extend_from_slice(match i % 3 {
            0 => &[0x81][..],
            1 => &[0xa1, 0x00][..],
            _ => &[0xd8, 0x20][..],
        });
    }
    mixed.push(0x00);
    assert!(matches!(
        cbor::decode(&mixed),
        Err(CborError::TooDeep { max: 32, .. })
    ));
    // A deep input is refused without exhausting the stack.
    rejects(
        &nested_arrays(100_000),
        CborError::TooDeep { offset: max, max },
    );
    // The limit is configurable.
    let shallow = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    assert!(cbor::decode_with(&nested_arrays(2), shallow).is_ok());
    assert_eq!(
        cbor::decode_with(&nested_arrays(3), shallow),
        Err(CborError::TooDeep { offset: 2, max: 2 })
    );
}

#[test]
fn huge_declared_lengths_are_refused_without_allocating() {
    let huge = [0xff; 8];
    for major in [2u8, 3, 4, 5] {
        let mut b = vec![(major << 5) | 27];
        b.extend_from_slice(&huge);
        assert_eq!(
            cbor::decode(&b),
            Err(CborError::TooLong {
                offset: 0,
                len: u64::MAX,
                limit: 0
            }),
            "major type {major}"
        );
    }
    // 2^32 - 1 items with some input behind them.
    let mut b = vec![0x9a, 0xff, 0xff, 0xff, 0xff];
    b.extend_from_slice(&[0; 64]);
    assert_eq!(
        cbor::decode(&b),
        Err(CborError::TooLong {
            offset: 0,
            len: u32::MAX as u64,
            limit: 64
        })
    );
    // max_items caps counts even when the input is long enough.
    let few = Limits {
        max_items: 3,
        ..Limits::default()
    };
    assert!(cbor::decode_with(&[0x83, 0, 0, 0], few).is_ok());
    assert_eq!(
        cbor::decode_with(&[0x84, 0, 0, 0, 0], few),
        Err(CborError::TooLong {
            offset: 0,
            len: 4,
            limit: 3
        })
    );
    // A map entry takes at least two bytes.
    assert_eq!(
        cbor::decode(&[0xa2, 0x00, 0x00, 0x01]),
        Err(CborError::TooLong {
            offset: 0,
            len: 2,
            limit: 1
        })
    );
}

#[test]
fn error_messages_name_the_offset() {
    assert_eq!(
        cbor::decode(&[0x82, 0x00, 0x18, 0x01])
            .unwrap_err()
            .to_string(),
        "cbor: non-shortest integer or length encoding at byte 2"
    );
    assert_eq!(
        cbor::decode(&[0xf9, 0, 0]).unwrap_err().to_string(),
        "cbor: floating-point value at byte 0 (use integers, e.g. parts per million)"
    );
    assert_eq!(
        cbor::decode(&[0x00, 0x00]).unwrap_err().to_string(),
        "cbor: 1 trailing byte(s) after the data item at byte 1"
    );
}

#[test]
fn decode_canonical_accepts_exactly_the_encoder_output() {
    let v = Value::Map(vec![(Value::text("k"), Value::Bytes(vec![1]))]);
    assert_eq!(cbor::decode_canonical(&enc(&v)), Ok(v));
    assert_eq!(
        cbor::decode_canonical(&[0x18, 0x01]),
        Err(CborError::NotShortest { offset: 0 })
    );
}

// ---------------------------------------------------------------------------
// Properties.

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<u64>().prop_map(Value::Unsigned),
        any::<u64>().prop_map(Value::Negative),
        // Small integers exercise the boundaries between head sizes more often.
        (0u64..300).prop_map(Value::Unsigned),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        ".{0,20}".prop_map(Value::Text),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((inner.clone(), inner.clone()), 0..8).prop_map(|entries| {
                // A map has unique keys; keep the first of equal encodings.
                let mut seen = Vec::new();
                let entries = entries
                    .into_iter()
                    .filter(|(k, _)| {
                        let e = cbor::encode(k);
                        let fresh = !seen.contains(&e);
                        seen.push(e);
                        fresh
                    })
                    .collect();
                Value::Map(entries)
            }),
            (any::<u64>(), inner).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
        ]
    })
}

/// The value with every map's entries in deterministic order: what the decoder returns.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        Value::Map(entries) => {
            let mut e: Vec<(Value, Value)> = entries
                .iter()
                .map(|(k, v)| (sorted(k), sorted(v)))
                .collect();
            e.sort_by_key(|(k, _)| cbor::encode(k));
            Value::Map(e)
        }
        Value::Tag(t, inner) => Value::Tag(*t, Box::new(sorted(inner))),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// encode -> decode gives the value back (maps in key order) and re-encodes byte for byte.
    #[test]
    fn random_values_round_trip(v in arb_value()) {
        let bytes = cbor::encode(&v);
        let back = cbor::decode(&bytes).expect("encoder output decodes");
        prop_assert_eq!(&back, &sorted(&v));
        prop_assert_eq!(cbor::encode(&back), bytes.clone());
        prop_assert_eq!(cbor::decode_canonical(&bytes), Ok(back));
    }

    /// Random bytes never panic the decoder, and whatever it accepts is canonical.
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(v) = cbor::decode(&bytes) {
            prop_assert_eq!(cbor::encode(&v), bytes);
        }
    }

    /// Mutations of valid encodings: accepted only if canonical.
    #[test]
    fn mutated_encodings_never_panic(
        v in arb_value(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = cbor::encode(&v);
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        if let Ok(v) = cbor::decode(&bytes) {
            prop_assert_eq!(cbor::encode(&v), bytes);
        }
    }
}
