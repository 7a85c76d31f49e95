//! The committed fuzz corpus, replayed on every `cargo test`, and mutation tests of real bundles.
//!
//! Every file under `fuzz/corpus/<target>/` goes through the same checks as the fuzz target of
//! that name (`fuzz/src/lib.rs`, included here): no panic, parsers accept only their own
//! encodings, and the verifier says "verified" only for the signed content of a known-good
//! seed. Then random byte flips, truncations, insertions and deletions of the known-good bundles
//! must never verify. The corpus is made from `tests/story` by the ignored test
//! `regenerate_fuzz_corpus` (`cargo test --test fuzz_corpus -- --ignored`).

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz_support;

#[cfg(feature = "store")]
mod story;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use evledger::verify::Verdict;
use proptest::prelude::*;

use fuzz_support::{GOOD, Verifier};

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(Verifier::new)
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// Every file of a target's corpus, by name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.expect("dir entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("read corpus file"))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{}: corpus too small", dir.display());
    files
}

/// Runs `f` on `data`, naming the corpus file if it panics.
fn replay(target: &str, name: &str, data: &[u8], f: impl FnOnce(&[u8])) {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(data)));
    if let Err(e) = r {
        std::panic::resume_unwind(Box::new(format!(
            "fuzz/corpus/{target}/{name}: {}",
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )));
    }
}

#[test]
fn bundle_parse_corpus() {
    for (name, data) in corpus("bundle_parse") {
        replay("bundle_parse", &name, &data, fuzz_support::bundle_parse);
    }
}

#[test]
fn cbor_decode_corpus() {
    for (name, data) in corpus("cbor_decode") {
        replay("cbor_decode", &name, &data, fuzz_support::cbor_decode);
    }
}

#[test]
fn statement_parse_corpus() {
    let v = verifier();
    for (name, data) in corpus("statement_parse") {
        replay("statement_parse", &name, &data, |d| {
            fuzz_support::statement_parse(&v.trust, d)
        });
    }
}

#[test]
fn receipt_verify_corpus() {
    let mut verified = 0;
    for (name, data) in corpus("receipt_verify") {
        replay("receipt_verify", &name, &data, fuzz_support::receipt_verify);
        let key = evledger::keys::parse_public_pem(fuzz_support::RECEIPT_LOG_KEY).expect("key");
        let ok = evledger::receipt::verify_receipt(
            &data,
            evledger::receipt::ReceiptEntry::Statement(fuzz_support::RECEIPT_STATEMENT),
            &key,
        )
        .is_ok();
        assert_eq!(ok, name.starts_with("good-"), "{name}");
        verified += usize::from(ok);
    }
    assert_eq!(
        verified,
        fuzz_support::RECEIPT_SIZES.count(),
        "every good seed verifies"
    );
}

#[test]
fn verify_bundle_corpus() {
    let v = verifier();
    let mut verified = 0;
    for (name, data) in corpus("verify_bundle") {
        let mut verdict = None;
        replay("verify_bundle", &name, &data, |d| {
            verdict = Some(v.check(d))
        });
        let verdict = verdict.expect("checked");
        // Inputs a fuzzer found (named by SHA-1) are held to the oracle in `check` alone.
        // Named seeds say what they are: good-* verify, policy-* fail a rule, the unknown-witness
        // seed differs from a good one only in an ignored signature line, and everything else
        // is rejected.
        if name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let expected = if name.starts_with("good-") || name.starts_with("ignored-") {
            Some(Verdict::Verified)
        } else if name.starts_with("policy-") {
            Some(Verdict::PolicyNotMet)
        } else {
            None
        };
        match expected {
            Some(e) => assert_eq!(verdict, e, "{name}"),
            None => assert_ne!(verdict, Verdict::Verified, "{name}"),
        }
        if verdict == Verdict::Verified {
            verified += 1;
            if name.starts_with("good-") {
                assert!(
                    GOOD.contains(&data.as_slice()),
                    "{name} is not listed in GOOD"
                );
            }
        }
    }
    assert_eq!(verified, GOOD.len() + 1);
}

// ---------------------------------------------------------------------------------------------
// Mutations of the known-good bundles

/// Verifies a mutated bundle: it must not panic and must not verify.
#[track_caller]
fn assert_rejected(mutated: &[u8], what: &str) {
    let v = verifier();
    assert!(
        !GOOD.contains(&mutated),
        "{what}: the mutation kept the bytes"
    );
    let verdict = v.check(mutated);
    assert_ne!(verdict, Verdict::Verified, "{what} still verifies");
}

/// The known-good seeds built from the story (the last one, 70 builds, is slow to verify in
/// debug builds and has its own test).
const STORY_SEEDS: usize = 4;

/// Issue 4's tamper test: one byte flipped (XOR a rotating single-bit mask) at every 4th
/// position of the walkthrough's Level 2 bundle, whose sections are all present (checkpoint,
/// entries with statements and proofs, a consistency proof, attachments): over 2,000
/// positions, each rejected. The only bytes of a bundle outside signed and hashed data are the
/// checkpoint notes' signature lines by keys the trust file does not name (see the
/// `ignored-unknown-witness-line` seed); this bundle has none.
#[test]
fn byte_flips_never_verify() {
    let good = GOOD[1];
    let b = evledger::bundle::Bundle::parse(good, &Default::default()).expect("seed");
    assert!(!b.consistency.is_empty() && !b.attachments.is_empty());
    let v = verifier();
    let mut tried = 0;
    for pos in (0..good.len()).step_by(4) {
        let mut m = good.to_vec();
        let mask = 1u8 << (pos / 4 % 8);
        m[pos] ^= mask;
        let r = evledger::verify::verify_bundle(&m, &v.trust, &v.profiles);
        assert_ne!(
            r.verdict,
            Verdict::Verified,
            "byte {pos} ^= {mask:#04x} still verifies"
        );
        tried += 1;
    }
    assert!(tried >= 2000, "{tried} positions");
}

/// The batched (comb) signature path, with 70 statements by one key: a flipped bit in any
/// one signature's R or s, or in any one payload, is caught.
#[test]
fn many_builds_flips_never_verify() {
    let good = GOOD[4];
    let b = evledger::bundle::Bundle::parse(good, &Default::default()).expect("seed");
    assert_eq!(b.entries.len(), 70);
    for (i, back) in [(0, 1), (13, 64), (27, 33), (40, 10), (69, 40), (55, 200)] {
        let mut m = b.clone();
        let st = &mut m.entries[i].statement;
        let at = st.len() - back;
        st[at] ^= 0x10;
        assert_rejected(
            &m.to_cbor(),
            &format!("entry {i}, statement byte -{back} ^= 0x10"),
        );
    }
}

fn seed() -> impl Strategy<Value = &'static [u8]> {
    (0..STORY_SEEDS).prop_map(|i| GOOD[i])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_flips_never_verify(good in seed(), pos in any::<prop::sample::Index>(), mask in 1u8..) {
        let mut m = good.to_vec();
        let at = pos.index(m.len());
        m[at] ^= mask;
        assert_rejected(&m, &format!("byte {at} ^= {mask:#04x}"));
    }

    #[test]
    fn several_flips_never_verify(
        good in seed(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..), 2..8),
    ) {
        let mut m = good.to_vec();
        for (pos, mask) in &flips {
            let at = pos.index(m.len());
            m[at] ^= mask;
        }
        // Two flips at one position may cancel out.
        prop_assume!(!GOOD.contains(&m.as_slice()));
        assert_rejected(&m, &format!("flips {flips:?}"));
    }

    #[test]
    fn truncation_never_verifies(good in seed(), len in any::<prop::sample::Index>()) {
        let n = len.index(good.len());
        assert_rejected(&good[..n], &format!("truncated to {n} bytes"));
    }

    #[test]
    fn insertion_never_verifies(good in seed(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut m = good.to_vec();
        let at = pos.index(m.len() + 1);
        m.insert(at, byte);
        assert_rejected(&m, &format!("inserted {byte:#04x} at {at}"));
    }

    #[test]
    fn deletion_never_verifies(good in seed(), pos in any::<prop::sample::Index>()) {
        let mut m = good.to_vec();
        let at = pos.index(m.len());
        m.remove(at);
        assert_rejected(&m, &format!("deleted byte {at}"));
    }
}

// ---------------------------------------------------------------------------------------------
// The corpus and the fixed trust file come from the test fixture

#[cfg(feature = "store")]
mod generate {
    use evledger::bundle::{Bundle, BundleLimits};
    use evledger::cbor::{self, Value};
    use evledger::checkpoint::Checkpoint;
    use evledger::export::BundleOptions;
    use evledger::note::{Note, NoteSigner};
    use evledger::statement::{self, Header};

    use super::story::*;
    use super::*;

    #[test]
    fn fuzz_trust_file_is_the_fixture_trust_file() {
        assert_eq!(
            fuzz_support::TRUST,
            TrustSpec::default().text(&Keys::new()),
            "fuzz/trust.toml is out of date: run the ignored test regenerate_fuzz_corpus"
        );
    }

    fn parse(b: &[u8]) -> Bundle {
        Bundle::parse(b, &BundleLimits::default()).expect("bundle")
    }

    fn write(target: &str, name: &str, data: &[u8]) {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(name), data).expect("write corpus file");
    }

    fn resign(note: &str, name: &str, key: &ed25519_dalek::SigningKey) -> String {
        let n = Note::parse(note).expect("note");
        let mut cp = Checkpoint::parse(n.text()).expect("checkpoint");
        cp.origin = name.to_owned();
        cp.sign(&NoteSigner::new(name, key.clone()).expect("signer"))
            .expect("sign")
            .to_text()
    }

    fn top_level(b: &[u8]) -> Vec<(Value, Value)> {
        cbor::decode(b)
            .expect("cbor")
            .as_map()
            .expect("map")
            .to_vec()
    }

    fn raw_map(entries: &[(Value, Value)], head: u8) -> Vec<u8> {
        let mut out = vec![head];
        for (k, v) in entries {
            out.extend(cbor::encode(k));
            out.extend(cbor::encode(v));
        }
        out
    }

    /// Rewrites the named seeds and `fuzz/trust.toml` from the fixture; inputs a fuzzer found
    /// (named by their SHA-1) are kept.
    #[test]
    #[ignore = "writes fuzz/corpus; run by hand after a format change"]
    fn regenerate_fuzz_corpus() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        std::fs::write(
            root.join("trust.toml"),
            TrustSpec::default().text(&Keys::new()),
        )
        .expect("write trust");
        let none = BundleOptions::default();

        // The story, its bundles and statements.
        let (mut f, s) = story();
        let claim2 = f.bundle_of(&[&s.claim2], &none).to_cbor();
        let g = f.bundle_of(&[&s.claim2], &claim2_options(&s)).to_cbor();
        let fw420 = f.bundle_of(&[&s.fw420], &none).to_cbor();
        let lab_inc = f.bundle_of(&[&s.lab, &s.incident], &none).to_cbor();
        let claim3 = f.bundle_of(&[&s.claim3], &none).to_cbor();
        let all = f.bundle_all(&none).to_cbor();
        let statements: Vec<Vec<u8>> = parse(&all)
            .entries
            .into_iter()
            .map(|e| e.statement)
            .collect();

        // An incident at the ends of the i64 time range (it once made the verifier overflow).
        let extreme = extreme_incident(&s);
        let inc = f.record("incident", &extreme, Who::Legal);
        let extreme_bundle = f.bundle_of(&[&inc], &none).to_cbor();
        let extreme_statement = parse(&extreme_bundle)
            .entries
            .into_iter()
            .find(|e| evledger::hex::encode(&statement::entry_hash(&e.statement)) == inc)
            .expect("incident")
            .statement;

        // 70 builds by one key: the verifier's batched (comb) signature path.
        let mut many = Fixture::new();
        let base = example(FW420, &[]);
        for i in 0..70 {
            let text = base
                .replace(
                    "version = \"4.2.0\"",
                    &format!("version = \"4.2.{}\"", 100 + i),
                )
                .replace(
                    "build_number = 4200",
                    &format!("build_number = {}", 5000 + i),
                );
            many.record("firmware-build", &text, Who::Release);
        }
        let many_bundle = many.bundle_all(&none).to_cbor();

        for (name, b) in [
            ("good-claim2.cbor", &claim2),
            ("good-claim2-since-attach.cbor", &g),
            ("good-fw420.cbor", &fw420),
            ("good-lab-incident.cbor", &lab_inc),
            ("policy-claim3.cbor", &claim3),
            ("policy-all.cbor", &all),
            ("policy-extreme-incident.cbor", &extreme_bundle),
        ] {
            write("verify_bundle", name, b);
            write("bundle_parse", name, b);
        }
        write("verify_bundle", "good-many-builds.cbor", &many_bundle);

        // Variants of the walkthrough's Level 2 bundle, one attack each.
        let keys = Keys::new();
        let mut variants: Vec<(&str, Vec<u8>)> = Vec::new();
        for (name, n) in [
            ("trunc-0.cbor", 0),
            ("trunc-1.cbor", 1),
            ("trunc-100.cbor", 100),
            ("trunc-half.cbor", g.len() / 2),
            ("trunc-minus-1.cbor", g.len() - 1),
        ] {
            variants.push((name, g[..n].to_vec()));
        }
        let mut t = g.clone();
        t.push(0);
        variants.push(("trailing-byte.cbor", t));
        let with = |f: &dyn Fn(&mut Bundle)| {
            let mut b = parse(&g);
            f(&mut b);
            b.to_cbor()
        };
        variants.push((
            "flip-statement-signature.cbor",
            with(&|b| {
                let st = &mut b.entries[2].statement;
                let n = st.len();
                st[n - 40] ^= 1;
            }),
        ));
        variants.push((
            "flip-payload.cbor",
            with(&|b| {
                let st = &mut b.entries[2].statement;
                let at = st.windows(7).position(|w| w == b"FG3-100").expect("model");
                st[at + 6] = b'1';
            }),
        ));
        variants.push((
            "flip-inclusion-proof.cbor",
            with(&|b| b.entries[3].proof[1][7] ^= 0x80),
        ));
        variants.push((
            "flip-consistency-proof.cbor",
            with(&|b| b.consistency[0].proof[0][0] ^= 1),
        ));
        variants.push((
            "proof-truncated.cbor",
            with(&|b| {
                b.entries[0].proof.pop();
            }),
        ));
        variants.push((
            "proof-extended.cbor",
            with(&|b| {
                let h = b.entries[0].proof[0];
                b.entries[0].proof.push(h);
            }),
        ));
        variants.push((
            "proof-65-hashes.cbor",
            with(&|b| b.entries[0].proof = vec![[0; 32]; 65]),
        ));
        variants.push(("wrong-index.cbor", with(&|b| b.entries[4].index = 5)));
        variants.push((
            "swapped-statements.cbor",
            with(&|b| {
                let s0 = b.entries[0].statement.clone();
                b.entries[0].statement = b.entries[1].statement.clone();
                b.entries[1].statement = s0;
            }),
        ));
        variants.push((
            "entries-not-ascending.cbor",
            with(&|b| b.entries.swap(0, 1)),
        ));
        variants.push((
            "cited-lab-result-removed.cbor",
            with(&|b| b.entries.retain(|e| e.index != 2)),
        ));
        variants.push((
            "checkpoint-unpinned-key.cbor",
            with(&|b| b.checkpoint = resign(&b.checkpoint, ORIGIN, &keys.rogue_log)),
        ));
        variants.push((
            "checkpoint-size-altered.cbor",
            with(&|b| {
                // The size line (the note's second line), one larger.
                let mut lines: Vec<String> = b.checkpoint.split('\n').map(str::to_owned).collect();
                let size: u64 = lines[1].parse().expect("size line");
                lines[1] = (size + 1).to_string();
                b.checkpoint = lines.join("\n");
            }),
        ));
        variants.push((
            "consistency-from-unpinned-key.cbor",
            with(&|b| {
                b.consistency[0].from = resign(&b.consistency[0].from, ORIGIN, &keys.rogue_log)
            }),
        ));
        variants.push((
            "attachment-mismatch.cbor",
            with(&|b| {
                let (k, mut v) = b.attachments.pop_first().expect("attachment");
                v.push(b'!');
                b.attachments.insert(k, v);
            }),
        ));
        // An extra signature line by a key the trust file does not name: ignored, still verifies.
        let cosigned = with(&|b| {
            let mut note = Note::parse(&b.checkpoint).expect("note");
            let w = NoteSigner::new("witness.example", keys.stranger.clone()).expect("signer");
            note.add_signature(w.sign(note.text()).expect("sign"));
            b.checkpoint = note.to_text();
        });
        write(
            "verify_bundle",
            "ignored-unknown-witness-line.cbor",
            &cosigned,
        );

        // Encoding-level attacks.
        let key = cbor::encode(&Value::text("evledger-bundle"));
        let at = g
            .windows(key.len())
            .position(|w| w == key)
            .expect("version")
            + key.len();
        let mut t = g.clone();
        t.splice(at..at + 1, [0x18, 0x01]);
        variants.push(("non-shortest-version.cbor", t));
        let m = top_level(&g);
        let mut dup = m.clone();
        dup.insert(1, m[1].clone());
        variants.push(("duplicate-key.cbor", raw_map(&dup, 0xa0 | dup.len() as u8)));
        let mut rev = m.clone();
        rev.reverse();
        variants.push(("unsorted-keys.cbor", raw_map(&rev, 0xa0 | rev.len() as u8)));
        let mut indef = raw_map(&m, 0xbf);
        indef.push(0xff);
        variants.push(("indefinite-map.cbor", indef));
        type Entries = Vec<(Value, Value)>;
        let edit = |f: &dyn Fn(&mut Entries)| {
            let mut m = top_level(&g);
            f(&mut m);
            cbor::encode(&Value::Map(m))
        };
        variants.push((
            "unknown-key.cbor",
            edit(&|m| m.push((Value::text("extra"), Value::Unsigned(1)))),
        ));
        variants.push((
            "missing-entries.cbor",
            edit(&|m| m.retain(|(k, _)| k.as_text() != Some("entries"))),
        ));
        variants.push((
            "version-3.cbor",
            edit(&|m| {
                for (k, v) in m.iter_mut() {
                    if k.as_text() == Some("evledger-bundle") {
                        *v = Value::Unsigned(3);
                    }
                }
            }),
        ));
        variants.push((
            "hash-31-bytes.cbor",
            edit(&|m| {
                for (k, v) in m.iter_mut() {
                    if k.as_text() == Some("entries") {
                        let Value::Array(items) = v else { panic!() };
                        let Value::Map(e) = &mut items[1] else {
                            panic!()
                        };
                        for (ek, ev) in e.iter_mut() {
                            if ek.as_text() == Some("proof") {
                                let Value::Array(h) = ev else { panic!() };
                                h[0] = Value::Bytes(vec![7; 31]);
                            }
                        }
                    }
                }
            }),
        ));
        let mut huge = vec![0xa1];
        huge.extend(cbor::encode(&Value::text("entries")));
        huge.extend([0x9b, 0, 0, 0, 1, 0, 0, 0, 0]);
        variants.push(("count-2-pow-32.cbor", huge));
        let mut gib = vec![0xa1];
        gib.extend(cbor::encode(&Value::text("entries")));
        gib.extend([0x81, 0xa3]);
        gib.extend(cbor::encode(&Value::text("index")));
        gib.push(0);
        gib.extend(cbor::encode(&Value::text("proof")));
        gib.push(0x80);
        gib.extend(cbor::encode(&Value::text("statement")));
        gib.extend([0x5a, 0x40, 0, 0, 0, 1, 2, 3]);
        variants.push(("statement-1-gib-prefix.cbor", gib));
        for (name, data) in &variants {
            write("verify_bundle", name, data);
            write("bundle_parse", name, data);
        }
        // The comb path rejecting: a flipped signature and a non-canonical s among 70.
        let mut mb = parse(&many_bundle);
        let n = mb.entries[40].statement.len();
        mb.entries[40].statement[n - 50] ^= 1;
        write(
            "verify_bundle",
            "many-builds-flipped-signature.cbor",
            &mb.to_cbor(),
        );
        let mut mb = parse(&many_bundle);
        let n = mb.entries[41].statement.len();
        mb.entries[41].statement[n - 1] |= 0xf0;
        write(
            "verify_bundle",
            "many-builds-non-canonical-s.cbor",
            &mb.to_cbor(),
        );

        // Statements: the story's, the extreme incident, and malformed or unusual ones.
        let names = [
            "fw420",
            "fw421",
            "lab",
            "countersignature",
            "claim2",
            "claim3",
            "incident",
        ];
        for (name, st) in names.iter().zip(&statements) {
            write("statement_parse", &format!("{name}.cose"), st);
            write("cbor_decode", &format!("statement-{name}.cbor"), st);
            let parsed = statement::SignedStatement::parse(st).expect("statement");
            write(
                "cbor_decode",
                &format!("payload-{name}.cbor"),
                parsed.payload(),
            );
        }
        write(
            "statement_parse",
            "incident-extreme-times.cose",
            &extreme_statement,
        );
        let lab = statement::SignedStatement::parse(&statements[2]).expect("lab");
        let header = |f: &dyn Fn(&mut Header)| {
            let mut h = lab.header().clone();
            f(&mut h);
            statement::sign(&h, lab.payload(), &keys.legal)
        };
        write(
            "statement_parse",
            "alg-ed25519.cose",
            &header(&|h| h.alg = statement::ALG_ED25519),
        );
        write(
            "statement_parse",
            "x5chain-one.cose",
            &header(&|h| h.x5chain = vec![vec![0x30, 0x03, 1, 2, 3]]),
        );
        write(
            "statement_parse",
            "x5chain-two.cose",
            &header(&|h| h.x5chain = vec![vec![0x30], vec![0x31]]),
        );
        write(
            "statement_parse",
            "kind-unknown.cose",
            &header(&|h| h.kind = "export-record".into()),
        );
        write(
            "statement_parse",
            "kind-mismatch.cose",
            &header(&|h| h.kind = "claim".into()),
        );
        write("statement_parse", "signed-by-stranger.cose", &{
            let mut h = lab.header().clone();
            h.kid = keys.kid(Who::Stranger);
            statement::sign(&h, lab.payload(), &keys.stranger)
        });
        let v = cbor::decode(&statements[2]).expect("statement");
        let Value::Tag(18, inner) = v else { panic!() };
        let parts = inner.as_array().expect("array").to_vec();
        let rebuild = |f: &dyn Fn(&mut Vec<Value>)| {
            let mut p = parts.clone();
            f(&mut p);
            cbor::encode(&Value::Tag(18, Box::new(Value::Array(p))))
        };
        write(
            "statement_parse",
            "untagged.cose",
            &cbor::encode(&Value::Array(parts.clone())),
        );
        write(
            "statement_parse",
            "three-parts.cose",
            &rebuild(&|p| {
                p.pop();
            }),
        );
        write(
            "statement_parse",
            "unprotected-not-empty.cose",
            &rebuild(&|p| p[1] = Value::Map(vec![(Value::Unsigned(4), Value::Bytes(vec![0; 32]))])),
        );
        write(
            "statement_parse",
            "detached-payload.cose",
            &rebuild(&|p| p[2] = Value::Null),
        );
        write(
            "statement_parse",
            "signature-63-bytes.cose",
            &rebuild(&|p| p[3] = Value::Bytes(vec![0; 63])),
        );
        let mut ns = statements[2].clone();
        ns.push(0);
        write("statement_parse", "trailing-byte.cose", &ns);

        // Small CBOR items: every major type, and each encoding the profile refuses.
        for (name, bytes) in [
            ("uint-0.cbor", vec![0x00]),
            (
                "uint-max.cbor",
                vec![0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            (
                "nint-min.cbor",
                vec![0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            ("bytes.cbor", vec![0x43, 1, 2, 3]),
            ("text.cbor", vec![0x63, b'a', b'b', b'c']),
            ("array.cbor", vec![0x83, 0x01, 0x02, 0x03]),
            ("map.cbor", vec![0xa2, 0x01, 0x02, 0x03, 0x04]),
            ("tag.cbor", vec![0xd2, 0x80]),
            ("simple.cbor", vec![0x83, 0xf4, 0xf5, 0xf6]),
            ("float.cbor", vec![0xf9, 0x3c, 0x00]),
            ("undefined.cbor", vec![0xf7]),
            ("non-shortest.cbor", vec![0x18, 0x01]),
            ("non-shortest-length.cbor", vec![0x59, 0x00, 0x01, 0x00]),
            ("indefinite-array.cbor", vec![0x9f, 0x01, 0xff]),
            ("indefinite-bytes.cbor", vec![0x5f, 0x41, 0x00, 0xff]),
            ("duplicate-key.cbor", vec![0xa2, 0x01, 0x02, 0x01, 0x03]),
            ("unsorted-keys.cbor", vec![0xa2, 0x02, 0x02, 0x01, 0x03]),
            ("invalid-utf8.cbor", vec![0x62, 0xc3, 0x28]),
            ("reserved-info.cbor", vec![0x1c]),
            ("break.cbor", vec![0xff]),
            ("truncated.cbor", vec![0x19, 0x01]),
            ("huge-length.cbor", vec![0x5b, 0, 0, 0, 0x40, 0, 0, 0, 0]),
            ("deep.cbor", [vec![0x81; 40], vec![0x00]].concat()),
            ("trailing.cbor", vec![0x00, 0x00]),
        ] {
            write("cbor_decode", name, &bytes);
        }
    }

    /// The incident example with times at the ends of the i64 range.
    fn extreme_incident(s: &Story) -> String {
        s.example(INCIDENT)
            .replace(
                "incident_id = \"AUR-2026-014\"",
                "incident_id = \"AUR-2026-999\"",
            )
            .replace(
                "detected_at = 2026-04-20T07:12:00Z",
                "detected_at = -9223372036854775808",
            )
            .replace(
                "aware_at = 2026-04-20T15:40:00Z",
                "aware_at = -9223372036854775808",
            )
            .replace(
                "sent_at = 2026-04-22T10:15:00Z",
                "sent_at = 9223372036854775807",
            )
            .replace("closed_at = 2026-06-12T10:00:00Z\n", "")
    }
}
