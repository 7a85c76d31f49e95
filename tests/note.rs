//! Signed notes, cosignatures and checkpoints: round trips, rejections, and a
//! no-panic pass over many mutated notes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use evledger::checkpoint::{self, Checkpoint, CheckpointError};
use evledger::note::{
    CosignatureSigner, CosignatureVerifier, MAX_SIGNATURES, MAX_TEXT_LEN, Note, NoteError,
    NoteSignature, NoteSigner, NoteVerifier,
};

const LOG: &str = "log.example/ledger";
const WITNESS: &str = "witness.example/w1";

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::new(name, signing_key(seed)).expect("valid signer")
}

fn cosigner(name: &str, seed: u8) -> CosignatureSigner {
    CosignatureSigner::new(name, signing_key(seed)).expect("valid cosigner")
}

fn signed(text: &str, signers: &[&NoteSigner]) -> Note {
    let mut note = Note::new(text).expect("valid text");
    for s in signers {
        note.add_signature(s.sign(text).expect("sign"));
    }
    note
}

fn checkpoint(size: u64) -> Checkpoint {
    Checkpoint {
        origin: LOG.into(),
        size,
        root: [7; 32],
        extensions: vec![],
    }
}

fn c2sp_key_id(name: &str, sig_type: u8, key: &[u8]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, sig_type]);
    h.update(key);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

// ---- notes ----

#[test]
fn note_round_trips_byte_for_byte() {
    let a = signer("a.example", 1);
    let b = signer("b.example/x", 2);
    for text in [
        "hello\n",
        "a\n\nb\n",
        "ends in a blank line\n\n",
        "\n",
        "ünïcödé — ok\n",
    ] {
        let note = signed(text, &[&a, &b]);
        let s = note.to_text();
        let parsed = Note::parse(&s).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(parsed, note);
        assert_eq!(parsed.text(), text);
        assert_eq!(parsed.to_text(), s);
        let trusted = [a.verifier(), b.verifier()];
        assert_eq!(parsed.verify(&trusted).expect("verifies").len(), 2);
    }
}

#[test]
fn note_new_enforces_text_rules() {
    assert_eq!(Note::new(""), Err(NoteError::EmptyText));
    assert_eq!(Note::new("no newline"), Err(NoteError::MissingFinalNewline));
    assert_eq!(
        Note::new("ok\ntab\there\n"),
        Err(NoteError::ControlCharacter { line: 2 })
    );
    assert_eq!(
        Note::new("cr\r\n"),
        Err(NoteError::ControlCharacter { line: 1 })
    );
    let long = "x".repeat(MAX_TEXT_LEN) + "\n";
    assert!(matches!(
        Note::new(&long),
        Err(NoteError::TextTooLong { .. })
    ));
    assert!(Note::new(&long[1..]).is_ok());
    assert!(signer("a", 1).sign("no newline").is_err());
}

#[test]
fn note_parse_rejects_malformed_signature_lines() {
    let s = signer("a.example", 1);
    let good = signed("text\n", &[&s]).to_text();
    let line = good
        .strip_prefix("text\n\n")
        .expect("prefix")
        .trim_end_matches('\n');
    let b64 = line.rsplit(' ').next().expect("b64");
    let cases: Vec<(String, &str)> = vec![
        (
            format!("text\n\n{line}\n— a.example !!!!\n"),
            "signature line 2: not base64",
        ),
        (
            format!("text\n\n- a.example {b64}\n"),
            "signature line 1: does not start with an em dash and a space",
        ),
        (
            format!("text\n\n—a.example {b64}\n"),
            "signature line 1: does not start with an em dash and a space",
        ),
        (
            format!("text\n\n—  {b64}\n"),
            "signature line 1: invalid key name",
        ),
        (
            format!("text\n\n— a.example  {b64}\n"),
            "signature line 1: not base64",
        ),
        (
            format!("text\n\n— a.example {b64} \n"),
            "signature line 1: not base64",
        ),
        (
            format!("text\n\n— a+b {b64}\n"),
            "signature line 1: invalid key name",
        ),
        (
            format!("text\n\n— a.example\u{a0}x {b64}\n"),
            "signature line 1: invalid key name",
        ),
        (
            format!("text\n\n— a.example{b64}\n"),
            "signature line 1: no space between key name and signature",
        ),
        (
            "text\n\n— a.example AAAAAA==\n".into(),
            "signature line 1: signature is shorter than 5 bytes",
        ),
        // Non-canonical base64: trailing bits set, and missing padding.
        (
            "text\n\n— a.example AAAAAAB=\n".into(),
            "signature line 1: not base64",
        ),
        (
            "text\n\n— a.example AAAAAAA\n".into(),
            "signature line 1: not base64",
        ),
        (
            "text\n\n".into(),
            "note has no signature lines after the blank line",
        ),
        (
            "text\n\n\n".into(),
            "note has no signature lines after the blank line",
        ),
        (
            format!("text\n{line}\n"),
            "note has no blank line followed by signature lines",
        ),
        (
            format!("text\n\n{line}\n\n"),
            "note has no signature lines after the blank line",
        ),
        (
            format!("\n{line}\n"),
            "note has no blank line followed by signature lines",
        ),
    ];
    for (note, want) in cases {
        let err = Note::parse(&note).expect_err(&note);
        assert_eq!(err.to_string(), want, "{note:?}");
        assert!(!err.is_verification_failure());
    }
}

#[test]
fn note_parse_accepts_up_to_the_signature_limit() {
    let s = signer("a.example", 1);
    let mut note = Note::new("text\n").expect("text");
    for _ in 0..MAX_SIGNATURES {
        note.try_add_signature(s.sign("text\n").expect("sign"))
            .expect("under the limit");
    }
    let parsed = Note::parse(&note.to_text()).expect("100 lines parse");
    assert_eq!(parsed.signatures().len(), MAX_SIGNATURES);
    assert_eq!(parsed.verify(&[s.verifier()]).expect("verifies").len(), 1);
    assert!(matches!(
        note.try_add_signature(s.sign("text\n").expect("sign")),
        Err(NoteError::TooManySignatures { .. })
    ));
}

#[test]
fn try_add_signature_refuses_lines_that_would_not_parse() {
    let mut note = Note::new("text\n").expect("text");
    let bad_name = NoteSignature {
        name: "a b".into(),
        key_id: [0; 4],
        signature: vec![1],
    };
    assert!(matches!(
        note.try_add_signature(bad_name),
        Err(NoteError::InvalidName { .. })
    ));
    let empty = NoteSignature {
        name: "a".into(),
        key_id: [0; 4],
        signature: vec![],
    };
    assert!(note.try_add_signature(empty).is_err());
    let huge = NoteSignature {
        name: "a".into(),
        key_id: [0; 4],
        signature: vec![0; 10_000],
    };
    assert!(note.try_add_signature(huge).is_err());
    let ok = NoteSignature {
        name: "a".into(),
        key_id: [0; 4],
        signature: vec![9],
    };
    note.try_add_signature(ok.clone()).expect("fine");
    assert_eq!(
        Note::parse(&note.to_text()).expect("parses").signatures(),
        &[ok]
    );
}

#[test]
fn signature_line_parses_and_displays() {
    let sig = signer("a.example", 1).sign("x\n").expect("sign");
    let line = sig.to_string();
    assert!(line.starts_with("— a.example "));
    assert_eq!(NoteSignature::parse_line(&line), Ok(sig));
    assert!(NoteSignature::parse_line(&format!("{line}\n")).is_err());
}

#[test]
fn verify_ignores_unknown_keys_and_rejects_bad_known_ones() {
    let a = signer("a.example", 1);
    let b = signer("b.example", 2);
    let text = "text\n";
    let note = signed(text, &[&a, &b]);
    // Only a is trusted: b's line is ignored.
    let only_a = [a.verifier()];
    assert_eq!(note.verify(&only_a).expect("ok")[0].name(), "a.example");
    // A key with a's name but another key (so another key id) is unknown, not a failure.
    let imposter = NoteSigner::new("a.example", signing_key(3)).expect("signer");
    assert_eq!(
        note.verify(&[imposter.verifier()]),
        Err(NoteError::NoTrustedSignature)
    );
    // Nothing trusted.
    let err = note.verify(&[]).expect_err("no keys");
    assert!(err.is_verification_failure());
    // A known line with a wrong signature fails the whole note.
    let mut tampered = Note::new(text).expect("text");
    let mut sig = a.sign(text).expect("sign");
    sig.signature[10] ^= 1;
    tampered.add_signature(sig);
    tampered.add_signature(b.sign(text).expect("sign"));
    let both = [a.verifier(), b.verifier()];
    assert_eq!(
        tampered.verify(&both),
        Err(NoteError::BadSignature {
            name: "a.example".into()
        })
    );
    // A signature over another text does not verify.
    let mut other = Note::new("other\n").expect("text");
    other.add_signature(a.sign(text).expect("sign"));
    assert!(matches!(
        other.verify(&only_a),
        Err(NoteError::BadSignature { .. })
    ));
    // A known key with a truncated signature.
    let mut short = Note::new(text).expect("text");
    let mut sig = a.sign(text).expect("sign");
    sig.signature.truncate(63);
    short.add_signature(sig);
    assert!(matches!(
        short.verify(&only_a),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn verify_returns_each_key_once_in_the_given_order() {
    let a = signer("a.example", 1);
    let b = signer("b.example", 2);
    let note = signed("t\n", &[&a, &b, &a]);
    let trusted = [b.verifier(), a.verifier(), a.verifier()];
    let names: Vec<&str> = note
        .verify(&trusted)
        .expect("ok")
        .iter()
        .map(|v| v.name())
        .collect();
    assert_eq!(names, ["b.example", "a.example"]);
}

#[test]
fn key_ids_cannot_be_borrowed_and_repeated_keys_are_fine() {
    // Two different trusted keys sharing (name, key id) would need a SHA-256 prefix
    // collision, so Note::verify's AmbiguousVerifier check is not reachable from here;
    // a vkey that claims another key's id is refused at parse time instead.
    let a = signer("a.example", 1);
    let note = signed("t\n", &[&a]);
    let other = NoteVerifier::new("a.example", signing_key(2).verifying_key()).expect("v");
    let real = a.verifier();
    let vkey = format!(
        "a.example+{}+{}",
        real.to_string().split('+').nth(1).expect("id"),
        other.to_string().splitn(3, '+').nth(2).expect("key")
    );
    assert!(matches!(
        NoteVerifier::parse(&vkey),
        Err(NoteError::KeyIdMismatch { .. })
    ));
    // Same key twice is fine.
    assert!(note.verify(&[real.clone(), real]).is_ok());
}

// ---- keys ----

#[test]
fn verifier_keys_round_trip_and_reject_bad_forms() {
    let v = signer("example.com/log", 1).verifier();
    let vkey = v.to_string();
    assert_eq!(NoteVerifier::parse(&vkey), Ok(v.clone()));
    assert_eq!(vkey.parse::<NoteVerifier>(), Ok(v.clone()));
    let expect_id = c2sp_key_id("example.com/log", 0x01, v.key().as_bytes());
    assert_eq!(v.key_id(), expect_id);
    let (name, rest) = vkey.split_once('+').expect("+");
    let (id, material) = rest.split_once('+').expect("+");
    assert_eq!(name, "example.com/log");
    let bad = [
        format!("{name}+{}+{material}", id.to_uppercase()),
        format!("{name}+{}+{material}", &id[..7]),
        format!("{name}+00000000+{material}"),
        format!("{name}+{id}"),
        format!("+{id}+{material}"),
        format!("bad name+{id}+{material}"),
        format!("{name}+{id}+{}", &material[..material.len() - 1]),
        format!("{name}+{id}+{material}="),
        format!(
            "{name}+{id}+{}",
            BASE64.encode([&[0x02][..], v.key().as_bytes()].concat())
        ),
        format!("{name}+{id}+{}", BASE64.encode([0x01; 32])),
        String::new(),
    ];
    for s in &bad {
        assert!(NoteVerifier::parse(s).is_err(), "{s:?} accepted");
    }
    assert!(matches!(
        NoteVerifier::parse(&bad[8]),
        Err(NoteError::WrongKeyType {
            found: 0x02,
            expected: 0x01
        })
    ));
}

#[test]
fn weak_keys_are_refused() {
    // The identity point (y = 1) has small order.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = VerifyingKey::from_bytes(&identity).expect("decodes");
    assert_eq!(NoteVerifier::new("a", weak), Err(NoteError::WeakKey));
    assert_eq!(
        CosignatureVerifier::new("a", weak).err(),
        Some(NoteError::WeakKey)
    );
    let id = c2sp_key_id("a", 0x01, &identity);
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let vkey = format!(
        "a+{hex}+{}",
        BASE64.encode([&[0x01][..], &identity].concat())
    );
    assert_eq!(NoteVerifier::parse(&vkey), Err(NoteError::WeakKey));
}

#[test]
fn names_follow_the_signed_note_rules() {
    let key = signing_key(1);
    for good in ["a", "example.com/log42", "oid/1.3.6.1.4.1", "ünï", "a-b_c"] {
        assert!(NoteSigner::new(good, key.clone()).is_ok(), "{good:?}");
    }
    for bad in [
        "",
        "a b",
        "a+b",
        "a\tb",
        "a\nb",
        "a\u{1}b",
        "a\u{a0}b",
        "a\u{2003}b",
        "a\u{3000}",
    ] {
        assert!(
            matches!(
                NoteSigner::new(bad, key.clone()),
                Err(NoteError::InvalidName { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn private_keys_parse_and_never_leak() {
    let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    let s = NoteSigner::parse_private(skey).expect("parses");
    let debug = format!("{s:?}");
    assert!(debug.contains("PeterNeumann") && debug.contains("c74f20a3"));
    assert!(!debug.contains("AYEK"));
    for bad in [
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKD",
        "PRIVATE+KEY+PeterNeumann+c74f20a3",
    ] {
        let err = NoteSigner::parse_private(bad).expect_err(bad);
        assert!(!err.to_string().contains("AYEK"), "{err}");
    }
    // The same seed with type 0x04 is a cosigner key, not a note key.
    assert!(matches!(
        CosignatureSigner::parse_private(skey),
        Err(NoteError::WrongKeyType {
            found: 0x01,
            expected: 0x04
        })
    ));
}

// ---- cosignatures ----

#[test]
fn cosignature_signs_and_verifies() {
    let log = signer(LOG, 1);
    let w = cosigner(WITNESS, 2);
    let mut note = checkpoint(5).sign(&log).expect("signed");
    let v = w.verifier();
    assert_eq!(v.verify(&note), Ok(None));
    note.add_signature(w.sign(note.text(), 1_700_000_000).expect("cosign"));
    let reparsed = Note::parse(&note.to_text()).expect("parses");
    assert_eq!(v.verify(&reparsed), Ok(Some(1_700_000_000)));
    // The log's verification ignores the cosignature line, and the witness's ignores the log's.
    assert_eq!(reparsed.verify(&[log.verifier()]).expect("ok").len(), 1);
    // A second, later cosignature: the latest timestamp is returned.
    note.add_signature(w.sign(note.text(), 1_700_000_100).expect("cosign"));
    assert_eq!(v.verify(&note), Ok(Some(1_700_000_100)));
}

#[test]
fn cosignature_bytes_follow_tlog_cosignature() {
    let key = signing_key(2);
    let w = CosignatureSigner::new(WITNESS, key.clone()).expect("cosigner");
    let text = checkpoint(20852163).to_text();
    let t: u64 = 1679315147;
    let sig = w.sign(&text, t).expect("cosign");
    let pk = key.verifying_key();
    // Key id: SHA-256(name || 0x0A || 0x04 || key)[:4].
    assert_eq!(sig.key_id, c2sp_key_id(WITNESS, 0x04, pk.as_bytes()));
    assert_ne!(sig.key_id, c2sp_key_id(WITNESS, 0x01, pk.as_bytes()));
    assert_eq!(sig.name, WITNESS);
    // Signature: 8-byte big-endian timestamp || 64-byte Ed25519 signature.
    assert_eq!(sig.signature.len(), 72);
    assert_eq!(sig.signature[..8], t.to_be_bytes());
    let message = format!("cosignature/v1\ntime {t}\n{text}");
    let ed = Signature::from_slice(&sig.signature[8..]).expect("64 bytes");
    pk.verify_strict(message.as_bytes(), &ed)
        .expect("independent check");
    // The line's base64 is key id || timestamp || signature.
    let line = sig.to_string();
    let b64 = line.rsplit(' ').next().expect("b64");
    let raw = BASE64.decode(b64).expect("base64");
    assert_eq!(raw[..4], sig.key_id);
    assert_eq!(raw[4..], sig.signature[..]);
    // The vkey uses type 0x04.
    let vkey = w.verifier().to_string();
    let material = BASE64
        .decode(vkey.splitn(3, '+').nth(2).expect("key"))
        .expect("b64");
    assert_eq!(material[0], 0x04);
    assert_eq!(material[1..], pk.as_bytes()[..]);
    assert_eq!(CosignatureVerifier::parse(&vkey), Ok(w.verifier()));
    assert!(matches!(
        NoteVerifier::parse(&vkey),
        Err(NoteError::WrongKeyType {
            found: 0x04,
            expected: 0x01
        })
    ));
}

#[test]
fn cosignature_rejections() {
    let log = signer(LOG, 1);
    let w = cosigner(WITNESS, 2);
    let v = w.verifier();
    let note = checkpoint(5).sign(&log).expect("signed");
    let text = note.text().to_owned();
    assert_eq!(
        w.sign(&text, 1 << 63),
        Err(NoteError::TimestampOutOfRange { timestamp: 1 << 63 })
    );
    assert!(w.sign(&text, (1 << 63) - 1).is_ok());
    assert!(w.sign("no newline", 1).is_err());

    let with = |sig: NoteSignature| {
        let mut n = note.clone();
        n.add_signature(sig);
        Note::parse(&n.to_text()).expect("still a well-formed note")
    };
    // Over another text.
    let other = checkpoint(6).to_text();
    assert_eq!(
        v.verify(&with(w.sign(&other, 10).expect("cosign"))),
        Err(NoteError::BadSignature {
            name: WITNESS.into()
        })
    );
    // Timestamp changed after signing.
    let mut sig = w.sign(&text, 10).expect("cosign");
    sig.signature[7] = 11;
    assert!(matches!(
        v.verify(&with(sig)),
        Err(NoteError::BadSignature { .. })
    ));
    // Wrong length.
    let mut sig = w.sign(&text, 10).expect("cosign");
    sig.signature.pop();
    assert!(matches!(
        v.verify(&with(sig)),
        Err(NoteError::MalformedCosignature { .. })
    ));
    // Timestamp above 2^63 - 1.
    let mut sig = w.sign(&text, 10).expect("cosign");
    sig.signature[0] = 0x80;
    assert!(matches!(
        v.verify(&with(sig)),
        Err(NoteError::MalformedCosignature { .. })
    ));
    // A plain note signature by the same key and name is a different key id: not a cosignature.
    let plain = NoteSigner::new(WITNESS, signing_key(2)).expect("signer");
    assert_eq!(v.verify(&with(plain.sign(&text).expect("sign"))), Ok(None));
}

#[test]
fn cosigner_private_and_verifier_keys() {
    let key = signing_key(5);
    let pk = key.verifying_key();
    let id = c2sp_key_id(WITNESS, 0x04, pk.as_bytes());
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let skey = format!(
        "PRIVATE+KEY+{WITNESS}+{hex}+{}",
        BASE64.encode([&[0x04][..], &key.to_bytes()].concat())
    );
    let w = CosignatureSigner::parse_private(&skey).expect("parses");
    assert_eq!(w.key_id(), id);
    assert_eq!(w.verifier().key(), &pk);
    let vkey = format!(
        "{WITNESS}+{hex}+{}",
        BASE64.encode([&[0x04][..], pk.as_bytes()].concat())
    );
    assert_eq!(w.verifier().to_string(), vkey);
    assert_eq!(vkey.parse::<CosignatureVerifier>(), Ok(w.verifier()));
    // A 0x04 vkey whose id was computed with type 0x01 is refused.
    let id01 = c2sp_key_id(WITNESS, 0x01, pk.as_bytes());
    let hex01: String = id01.iter().map(|b| format!("{b:02x}")).collect();
    let wrong = vkey.replacen(&hex, &hex01, 1);
    assert!(matches!(
        CosignatureVerifier::parse(&wrong),
        Err(NoteError::KeyIdMismatch { .. })
    ));
    assert!(NoteSigner::parse_private(&skey).is_err());
}

// ---- checkpoints ----

#[test]
fn checkpoint_round_trips() {
    let mut c = checkpoint(20852163);
    c.extensions = vec!["ext one".into(), "— two".into()];
    let text = c.to_text();
    assert!(text.starts_with(&format!("{LOG}\n20852163\n{}\n", BASE64.encode([7; 32]))));
    assert!(text.ends_with("ext one\n— two\n"));
    assert_eq!(Checkpoint::parse(&text), Ok(c));
    for size in [0, 1, u64::MAX] {
        let c = checkpoint(size);
        assert_eq!(Checkpoint::parse(&c.to_text()), Ok(c));
    }
}

#[test]
fn checkpoint_parse_rejections() {
    let root = BASE64.encode([7; 32]);
    let cases = [
        (
            format!("{LOG}\n01\n{root}\n"),
            2,
            "tree size has a leading zero",
        ),
        (
            format!("{LOG}\n00\n{root}\n"),
            2,
            "tree size has a leading zero",
        ),
        (
            format!("{LOG}\n-1\n{root}\n"),
            2,
            "tree size is not an unsigned decimal number",
        ),
        (
            format!("{LOG}\n+1\n{root}\n"),
            2,
            "tree size is not an unsigned decimal number",
        ),
        (
            format!("{LOG}\n 1\n{root}\n"),
            2,
            "tree size is not an unsigned decimal number",
        ),
        (
            format!("{LOG}\n1e3\n{root}\n"),
            2,
            "tree size is not an unsigned decimal number",
        ),
        (format!("{LOG}\n\n{root}\n"), 2, "tree size is empty"),
        (
            format!("{LOG}\n18446744073709551616\n{root}\n"),
            2,
            "tree size does not fit in 64 bits",
        ),
        (format!("{LOG}\n1\n{root}"), 3, "missing final newline"),
        (
            format!("{LOG}\n1\n{}\n", BASE64.encode([7; 31])),
            3,
            "root hash is not 32 bytes",
        ),
        (
            format!("{LOG}\n1\n{}\n", BASE64.encode([7; 33])),
            3,
            "root hash is not 32 bytes",
        ),
        (
            format!("{LOG}\n1\n{}\n", root.trim_end_matches('=')),
            3,
            "root hash is not base64",
        ),
        (
            format!("{LOG}\n1\n{}\n", root.replace("c=", "d=")),
            3,
            "root hash is not base64",
        ),
        (format!("\n1\n{root}\n"), 1, "origin is empty"),
        (
            format!("{LOG}\n1\n{root}\n\n"),
            4,
            "extension line is empty",
        ),
        (
            format!("{LOG}\n1\n{root}\next\n\n"),
            5,
            "extension line is empty",
        ),
        (format!("{LOG}\n1\n"), 3, "missing root hash line"),
        (format!("{LOG}\n"), 2, "missing tree size line"),
        (String::new(), 1, "missing origin line"),
        ("x".into(), 1, "missing final newline"),
        (
            format!("{LOG}\r\n1\n{root}\n"),
            1,
            "control character or newline",
        ),
    ];
    for (text, line, reason) in cases {
        assert_eq!(
            Checkpoint::parse(&text),
            Err(CheckpointError::Malformed { line, reason }),
            "{text:?}"
        );
    }
    let big = format!("{LOG}\n1\n{root}\n{}\n", "x".repeat(MAX_TEXT_LEN));
    assert!(matches!(
        Checkpoint::parse(&big),
        Err(CheckpointError::TooLarge { .. })
    ));
    let err = Checkpoint::parse(&format!("{LOG}\n01\n{root}\n")).expect_err("leading zero");
    assert_eq!(
        err.to_string(),
        "malformed checkpoint, line 2: tree size has a leading zero"
    );
}

#[test]
fn checkpoint_sign_and_verify() {
    let log = signer(LOG, 1);
    let mut c = checkpoint(42);
    c.extensions = vec!["opaque".into()];
    let note = c.sign(&log).expect("signs");
    let text = note.to_text();
    let vc = checkpoint::verify(&text, &log.verifier()).expect("verifies");
    assert_eq!(vc.checkpoint(), &c);
    assert_eq!(vc.note().to_text(), text);
    // Witness cosignatures ride along and stay checkable.
    let w = cosigner(WITNESS, 2);
    let mut cosigned = note.clone();
    cosigned.add_signature(w.sign(note.text(), 99).expect("cosign"));
    let vc = checkpoint::verify(&cosigned.to_text(), &log.verifier()).expect("verifies");
    assert_eq!(w.verifier().verify(vc.note()), Ok(Some(99)));
}

#[test]
fn checkpoint_sign_refuses_bad_fields() {
    let log = signer(LOG, 1);
    let mut c = checkpoint(1);
    c.origin = "other.example".into();
    assert!(matches!(
        c.sign(&log),
        Err(CheckpointError::OriginMismatch { .. })
    ));
    let mut c = checkpoint(1);
    c.origin = String::new();
    assert!(matches!(
        c.sign(&log),
        Err(CheckpointError::Malformed { line: 1, .. })
    ));
    let mut c = checkpoint(1);
    c.extensions = vec!["a\nb".into()];
    assert!(matches!(
        c.sign(&log),
        Err(CheckpointError::Malformed { line: 4, .. })
    ));
    let mut c = checkpoint(1);
    c.extensions = vec!["a".into(), String::new()];
    assert!(matches!(
        c.sign(&log),
        Err(CheckpointError::Malformed { line: 5, .. })
    ));
}

#[test]
fn checkpoint_verify_rejections() {
    let log = signer(LOG, 1);
    let text = checkpoint(42).sign(&log).expect("signs").to_text();
    // Wrong key: another key under the same name, and another name.
    let same_name = signer(LOG, 9).verifier();
    assert_eq!(
        checkpoint::verify(&text, &same_name),
        Err(CheckpointError::Note(NoteError::NoTrustedSignature))
    );
    let other_name = signer("other.example", 1).verifier();
    assert_eq!(
        checkpoint::verify(&text, &other_name),
        Err(CheckpointError::Note(NoteError::NoTrustedSignature))
    );
    // Tampered size.
    let tampered = text.replacen("\n42\n", "\n43\n", 1);
    assert_eq!(
        checkpoint::verify(&tampered, &log.verifier()),
        Err(CheckpointError::Note(NoteError::BadSignature {
            name: LOG.into()
        }))
    );
    // Tampered root.
    let root = BASE64.encode([7; 32]);
    let tampered = text.replacen(&root, &BASE64.encode([8; 32]), 1);
    assert!(matches!(
        checkpoint::verify(&tampered, &log.verifier()),
        Err(CheckpointError::Note(NoteError::BadSignature { .. }))
    ));
    // Signed by the log key, but the origin line names another log.
    let mut c = checkpoint(42);
    c.origin = "other.example/log".into();
    let wrong_origin = signed(&c.to_text(), &[&log]).to_text();
    assert_eq!(
        checkpoint::verify(&wrong_origin, &log.verifier()),
        Err(CheckpointError::OriginMismatch {
            origin: "other.example/log".into(),
            key_name: LOG.into()
        })
    );
    // Signed by the log key, body malformed.
    let bad_body = signed(&format!("{LOG}\n042\n{root}\n"), &[&log]).to_text();
    assert_eq!(
        checkpoint::verify(&bad_body, &log.verifier()),
        Err(CheckpointError::Malformed {
            line: 2,
            reason: "tree size has a leading zero"
        })
    );
    // Malformed note.
    assert!(matches!(
        checkpoint::verify(text.trim_end(), &log.verifier()),
        Err(CheckpointError::Note(NoteError::MissingFinalNewline))
    ));
    let err = checkpoint::verify(&tampered_size(&text), &log.verifier()).expect_err("bad");
    assert_eq!(
        err.to_string(),
        format!("checkpoint note: signature by \"{LOG}\" does not verify")
    );
}

fn tampered_size(text: &str) -> String {
    text.replacen("\n42\n", "\n41\n", 1)
}

// ---- hostile input ----

/// xorshift64*: a small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    const INTERESTING: &[&[u8]] = &[
        b"\n",
        b"\n\n",
        b" ",
        b"+",
        b"=",
        b"0",
        b"-",
        b"A",
        b"/",
        b"\x01",
        b"\r",
        b"\t",
        "\u{2014}".as_bytes(),
        "\u{2014} ".as_bytes(),
        "\u{a0}".as_bytes(),
        b"\xe2\x80",
        b"\xff",
    ];
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = if out.is_empty() {
            0
        } else {
            rng.below(out.len() + 1)
        };
        match rng.below(7) {
            0 if at < out.len() => out[at] ^= 1 << rng.below(8),
            1 if at < out.len() => {
                out.remove(at);
            }
            2 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                out.splice(at..at, piece.iter().copied());
            }
            3 => out.truncate(at),
            4 if !out.is_empty() => {
                // Duplicate a run of bytes (often a whole signature line).
                let start = rng.below(out.len());
                let end = (start + 1 + rng.below(120)).min(out.len());
                let run = out[start..end].to_vec();
                out.splice(at..at, run);
            }
            5 if at < out.len() => out[at] = rng.below(256) as u8,
            _ => {
                let end = (at + 1 + rng.below(8)).min(out.len());
                let lo = at.min(end);
                out.drain(lo..end);
            }
        }
    }
    out
}

#[test]
fn mutated_notes_never_panic_and_parse_canonically() {
    let log = signer(LOG, 1);
    let w = cosigner(WITNESS, 2);
    let mut c = checkpoint(20852163);
    c.extensions = vec!["ext".into()];
    let mut note = c.sign(&log).expect("signs");
    note.add_signature(w.sign(note.text(), 1_700_000_000).expect("cosign"));
    let seeds = [
        note.to_text(),
        signed("a\n\nb\n", &[&log]).to_text(),
        log.verifier().to_string(),
        w.verifier().to_string(),
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz".into(),
    ];
    let trusted = [log.verifier()];
    let witness = w.verifier();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut parsed, mut verified) = (0, 0);
    for i in 0..20_000 {
        let seed = &seeds[i % seeds.len()];
        let bytes = mutate(&mut rng, seed.as_bytes());
        let input = String::from_utf8_lossy(&bytes);
        if let Ok(n) = Note::parse(&input) {
            parsed += 1;
            assert_eq!(n.to_text(), input, "parse is canonical");
            // Ed25519 is slow in unoptimized test builds: verify a sample of the parsed notes.
            if parsed % 16 == 0 {
                let _ = n.verify(&trusted);
                let _ = witness.verify(&n);
                if let Ok(vc) = checkpoint::verify(&input, &trusted[0]) {
                    verified += 1;
                    assert_eq!(vc.note().to_text(), input);
                }
            }
        }
        if let Ok(c) = Checkpoint::parse(&input) {
            assert_eq!(c.to_text(), input, "checkpoint parse is canonical");
        }
        if let Ok(v) = NoteVerifier::parse(&input) {
            assert_eq!(v.to_string(), input);
        }
        if let Ok(v) = CosignatureVerifier::parse(&input) {
            assert_eq!(v.to_string(), input);
        }
        let _ = NoteSigner::parse_private(&input);
        let _ = NoteSignature::parse_line(&input);
        let _ = Note::new(&input);
    }
    // The mutations are mild enough that some inputs still parse (and some still verify).
    assert!(parsed > 100, "only {parsed} mutated notes parsed");
    assert!(verified > 0, "no sampled mutated note verified");
}

#[test]
fn oversized_inputs_are_refused_quickly() {
    let huge = "a".repeat(evledger::note::MAX_NOTE_LEN + 1);
    assert!(matches!(
        Note::parse(&huge),
        Err(NoteError::NoteTooLarge { .. })
    ));
    let many_lines = format!("t\n\n{}", "— a AAAAAAA=\n".repeat(MAX_SIGNATURES + 1));
    assert!(matches!(
        Note::parse(&many_lines),
        Err(NoteError::TooManySignatures { .. })
    ));
    let long_line = format!("t\n\n— a {}\n", "A".repeat(9000));
    assert_eq!(
        Note::parse(&long_line),
        Err(NoteError::BadSignatureLine {
            line: 1,
            reason: "line is too long"
        })
    );
}
