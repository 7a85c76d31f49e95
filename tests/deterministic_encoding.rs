//! Pins the bytes evledger signs, so that speed-ups of the encoders cannot change them.
//!
//! - Map keys sort bytewise by their deterministic encodings: the example of RFC 8949 §4.2.1.
//! - The example firmware build's payload and its signed statement (Ed25519 is deterministic)
//!   hash to values recorded before the encoders were optimised.

use evledger::cbor::{self, Value};
use evledger::hex;

#[test]
fn map_keys_sort_as_rfc8949_section_4_2_1() {
    // RFC 8949 §4.2.1: 10, 100, -1, "z", "aa", [100], [-1], false, in this order.
    let keys = [
        Value::Bool(false),
        Value::text("aa"),
        Value::Array(vec![Value::int(-1)]),
        Value::int(100),
        Value::text("z"),
        Value::int(-1),
        Value::Array(vec![Value::int(100)]),
        Value::int(10),
    ];
    let map = Value::Map(
        keys.iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), Value::int(i as i64)))
            .collect(),
    );
    let expected = "a8\
        0a07\
        186403\
        2005\
        617a04\
        62616101\
        81186406\
        812002\
        f400";
    assert_eq!(hex::encode(&cbor::encode(&map)), expected);
    let decoded = cbor::decode(&cbor::encode(&map)).expect("decodes");
    assert_eq!(cbor::encode(&decoded), cbor::encode(&map));
}

#[test]
fn nested_maps_sort_at_every_level() {
    let inner = Value::Map(vec![
        (Value::text("bb"), Value::Null),
        (Value::text("c"), Value::Bool(true)),
    ]);
    let outer = Value::Map(vec![
        (Value::text("yy"), inner),
        (Value::text("x"), Value::int(1)),
    ]);
    assert_eq!(
        hex::encode(&cbor::encode(&outer)),
        "a2617801627979a26163f5626262f6"
    );
}

/// Needs the `store` feature for `Ledger::sign`.
#[cfg(feature = "store")]
mod pinned {
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    use evledger::evidence::{Evidence, InputFormat};
    use evledger::hex;
    use evledger::ledger::{Ledger, Signer};
    use evledger::statement::entry_hash;

    #[test]
    fn example_payload_and_statement_bytes_are_pinned() {
        let pem = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/keys.example/release-engineer.key"
        ))
        .expect("read example key");
        let key = SigningKey::from_pkcs8_pem(&pem).expect("example key parses");
        let text = include_str!("../examples/facegate/firmware-4.2.0.toml");
        let evidence = Evidence::from_input("firmware-build", text, InputFormat::Toml)
            .expect("example is valid");
        assert_eq!(
            hex::encode(&entry_hash(&evidence.to_payload())),
            "3105594b0e0a06e91a8968fb9ce2cdd37a6d9a0303ab0565e89d9f6c5e7fe092"
        );
        let signer = Signer {
            key: &key,
            issuer: "Aurelis Security Systems",
            subject: "s",
            x5chain: Vec::new(),
        };
        let entry = Ledger::sign(&evidence, &signer, 5).expect("sign");
        assert_eq!(
            hex::encode(&entry.entry_hash),
            "42cc8ec1a52379634f89eef02f3936799ac43f356de39bf8d6b4292b2ee40190"
        );
    }
}
