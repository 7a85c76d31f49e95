//! Known-answer tests for C2SP signed notes, from golang.org/x/mod sumdb/note
//! (see tests/vectors/signed-note/README.md).

use std::collections::BTreeMap;

use evledger::note::{Note, NoteError, NoteSigner, NoteVerifier};
use serde_json::Value;

const VECTORS: &str = include_str!("vectors/signed-note/vectors.json");

struct Key {
    vkey: String,
    skey: Option<String>,
    key_id_hex: String,
}

fn load() -> (BTreeMap<String, Key>, Vec<Value>) {
    let root: Value = serde_json::from_str(VECTORS).expect("vectors.json is JSON");
    let keys = root["keys"]
        .as_object()
        .expect("keys object")
        .iter()
        .map(|(name, k)| {
            let key = Key {
                vkey: k["vkey"].as_str().expect("vkey").to_owned(),
                skey: k
                    .get("skey")
                    .map(|s| s.as_str().expect("skey string").to_owned()),
                key_id_hex: k["key_id_hex"].as_str().expect("key_id_hex").to_owned(),
            };
            (name.clone(), key)
        })
        .collect();
    let cases = root["cases"].as_array().expect("cases array").clone();
    (keys, cases)
}

fn hex(id: [u8; 4]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn keys_parse_and_match_their_key_ids() {
    let (keys, _) = load();
    assert!(keys.len() >= 2, "expected the vector keys");
    for (name, key) in &keys {
        let v = NoteVerifier::parse(&key.vkey).unwrap_or_else(|e| panic!("{name}: vkey: {e}"));
        assert_eq!(v.name(), name);
        assert_eq!(hex(v.key_id()), key.key_id_hex, "{name}: key id");
        assert_eq!(v.to_string(), key.vkey, "{name}: vkey re-encodes");
        if let Some(skey) = &key.skey {
            let s = NoteSigner::parse_private(skey).unwrap_or_else(|e| panic!("{name}: skey: {e}"));
            assert_eq!(s.verifier(), v, "{name}: skey gives the vkey");
            assert_eq!(s.verifier().to_string(), key.vkey);
        }
    }
}

#[test]
fn every_case() {
    let (keys, cases) = load();
    let verifier = |name: &str| NoteVerifier::parse(&keys[name].vkey).expect("vector vkey");
    let mut ran = 0;
    for case in &cases {
        let desc = case["desc"].as_str().expect("desc");
        if let Some(signer_name) = case.get("sign_with") {
            let skey = keys[signer_name.as_str().expect("sign_with string")]
                .skey
                .as_ref()
                .expect("signing key has an skey");
            let signer = NoteSigner::parse_private(skey).expect("skey");
            let text = case["text"].as_str().expect("text");
            let want = case["signed_note"].as_str().expect("signed_note");
            let mut note = Note::new(text).expect("text is valid");
            note.add_signature(signer.sign(text).expect("sign"));
            assert_eq!(note.to_text(), want, "{desc}");
            let parsed = Note::parse(want).expect("signed_note parses");
            assert_eq!(parsed, note, "{desc}");
            assert_eq!(parsed.to_text(), want, "{desc}: round trip");
            let trusted = [signer.verifier()];
            let verified = parsed.verify(&trusted).expect("verifies");
            assert_eq!(verified.len(), 1, "{desc}");
        } else if let Some(note_text) = case.get("note") {
            let note_text = note_text.as_str().expect("note string");
            let trusted: Vec<NoteVerifier> = case["trusted"]
                .as_array()
                .expect("trusted array")
                .iter()
                .map(|n| verifier(n.as_str().expect("trusted name")))
                .collect();
            let result: Result<Vec<String>, NoteError> = Note::parse(note_text).and_then(|note| {
                assert_eq!(note.to_text(), note_text, "{desc}: parsed note round-trips");
                let names = note
                    .verify(&trusted)?
                    .iter()
                    .map(|v| v.name().to_owned())
                    .collect();
                Ok(names)
            });
            match case["want"].as_str().expect("want") {
                "ok" => {
                    let mut got =
                        result.unwrap_or_else(|e| panic!("{desc}: unexpected error: {e}"));
                    let mut want: Vec<String> = case["verified"]
                        .as_array()
                        .expect("verified array")
                        .iter()
                        .map(|n| n.as_str().expect("verified name").to_owned())
                        .collect();
                    got.sort();
                    want.sort();
                    assert_eq!(got, want, "{desc}");
                }
                "error" => {
                    assert!(result.is_err(), "{desc}: accepted {result:?}");
                }
                other => panic!("{desc}: unknown want {other:?}"),
            }
        } else {
            panic!("{desc}: case of unknown shape");
        }
        ran += 1;
    }
    assert_eq!(ran, cases.len());
    assert!(ran >= 10, "expected at least 10 cases, ran {ran}");
}

/// The reject cases fail for the reason their description gives.
#[test]
fn reject_cases_fail_for_the_stated_reason() {
    let (keys, cases) = load();
    let peter = NoteVerifier::parse(&keys["PeterNeumann"].vkey).expect("vkey");
    let by_desc = |d: &str| {
        let case = cases
            .iter()
            .find(|c| c["desc"] == d)
            .unwrap_or_else(|| panic!("no case {d:?}"));
        case["note"].as_str().expect("note").to_owned()
    };
    let err = |d: &str| {
        Note::parse(&by_desc(d)).and_then(|n| n.verify(std::slice::from_ref(&peter)).map(|_| ()))
    };
    assert_eq!(
        Note::parse(&by_desc("no trusted key signed it")).and_then(|n| n.verify(&[]).map(|_| ())),
        Err(NoteError::NoTrustedSignature)
    );
    assert_eq!(
        err("a trusted key's signature is corrupted"),
        Err(NoteError::BadSignature {
            name: "PeterNeumann".into()
        })
    );
    assert_eq!(
        err("text only, no signature block"),
        Err(NoteError::NoSignatureBlock)
    );
    assert_eq!(
        err("missing final newline on the signature line"),
        Err(NoteError::MissingFinalNewline)
    );
    assert_eq!(
        err("control character in the text"),
        Err(NoteError::ControlCharacter { line: 1 })
    );
    assert!(matches!(
        err("key name with a space"),
        Err(NoteError::BadSignatureLine { line: 1, .. })
    ));
    assert!(matches!(
        err("an unexpected line after the signatures"),
        Err(NoteError::BadSignatureLine { line: 2, .. })
    ));
    assert_eq!(
        err("more than 100 signature lines"),
        Err(NoteError::TooManySignatures {
            count: 101,
            max: 100
        })
    );
}
