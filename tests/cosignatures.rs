//! Collecting cosignatures into the ledger (`evledger checkpoint --cosigned`), checked against
//! the witnesses the operator configured (`evledger witness add`), and the buyer's witness quorum
//! in `evledger verify`: 0, k-1, k and n valid cosignatures, an unknown witness, a corrupted
//! cosignature from a known one.
#![cfg(feature = "cli")]

mod witnessing;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use evledger::bundle::{Bundle, BundleLimits};
use evledger::note::{CosignatureVerifier, Note};
use witnessing::{ORIGIN, World, bundle, evl, fails, grow, ok, read, s, trust_file};

#[test]
fn collected_cosignatures_are_stored_once_and_travel_in_checkpoints() {
    let w = World::new();
    w.init_ledger("B", "log.key", ORIGIN);
    let a = grow(&w, "A", "a", 1, 2, 3);
    let b = grow(&w, "B", "b", 1, 2, 2);
    let (w1, _) = w.witness("witness.example/w1");
    let (w2, _) = w.witness("witness.example/w2");
    let c1 = w.cosign_ok(&w1, &a[1], None, 10);
    let c2 = w.cosign_ok(&w2, &c1, None, 11);
    let ledger_dir = w.path("A");
    let ledger = s(&ledger_dir);
    for name in ["witness.example/w1", "witness.example/w2"] {
        let vkey = read(
            &w.path(&format!("witness-{}", name.replace('/', "-")))
                .join("witness.vkey"),
        );
        ok(&["witness", "add", vkey.trim_end(), "--ledger", ledger]);
    }
    let printed = ok(&["checkpoint", "--cosigned", s(&c2), "--ledger", ledger]);
    assert_eq!(printed, read(&c2));
    // Again, and with w1's copy: nothing new, nothing repeated.
    let out = evl(&[
        "checkpoint",
        "--cosigned",
        s(&c2),
        "--cosigned",
        s(&c1),
        "--ledger",
        ledger,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, read(&c2));
    assert!(out.stderr.contains("stored 0 new"), "{}", out.stderr);
    // `evledger checkpoint` presents them while the log has not grown.
    assert_eq!(ok(&["checkpoint", "--ledger", ledger]), read(&c2));
    // A checkpoint of another history, or of a size the ledger never signed, is refused.
    let forked = w.cosign_ok(&w.witness("witness.example/w3").0, &b[1], None, 12);
    let (_, err) = fails(
        1,
        &["checkpoint", "--cosigned", s(&forked), "--ledger", ledger],
    );
    assert!(
        err.contains("is not this ledger's checkpoint of size 2"),
        "{err}"
    );
    w.record("A", "later", 1_790_000_000);
    w.record("A", "later2", 1_790_000_001);
    w.init_ledger("C", "log.key", ORIGIN);
    grow(&w, "C", "c", 1, 3, 1);
    let c3 = w.cosign_ok(&w.witness("witness.example/w4").0, &w.path("c3"), None, 13);
    let (_, err) = fails(1, &["checkpoint", "--cosigned", s(&c3), "--ledger", ledger]);
    assert!(err.contains("no checkpoint of size 3"), "{err}");
    // A plain copy of a stored checkpoint carries nothing to store.
    let out = evl(&["checkpoint", "--cosigned", s(&a[0]), "--ledger", ledger]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("stored 0 new"), "{}", out.stderr);
    // The audit accepts checkpoints carrying cosignatures.
    let audit = ok(&["audit", "--ledger", ledger]);
    assert!(audit.starts_with("ok:"), "{audit}");
}

/// `evledger checkpoint --anchor`, written to `name`: the checkpoint a bundle of a log without
/// adverse entries is proved against, so the one to have witnessed.
fn anchored(w: &World, ledger: &str, name: &str) -> PathBuf {
    let note = ok(&["checkpoint", "--anchor", "--ledger", s(&w.path(ledger))]);
    let p = w.path(name);
    std::fs::write(&p, note).expect("write checkpoint");
    p
}

#[test]
fn verify_enforces_the_witness_quorum() {
    let w = World::new();
    grow(&w, "A", "a", 1, 2, u64::MAX);
    let cp = anchored(&w, "A", "a-anchored");
    let ledger_dir = w.path("A");
    let ledger = s(&ledger_dir);
    let ws: Vec<(PathBuf, String)> = (1..=4)
        .map(|i| w.witness(&format!("witness.example/w{i}")))
        .collect();
    // The operator configures all four; the buyer trusts three.
    for (_, vkey) in &ws {
        ok(&["witness", "add", vkey, "--ledger", ledger]);
    }
    // k = 2 of n = 3 trusted; w4 is unknown to the buyer.
    let trust = trust_file(&w, "buyer.toml", 2, &[&ws[0].1, &ws[1].1, &ws[2].1]);
    let verify = |b: &Path| evl(&["verify", s(b), "--trust", s(&trust), "--integrity-only"]);
    let collect = |i: usize, t: u64| {
        let c = w.cosign_ok(&ws[i].0, &cp, None, t);
        ok(&["checkpoint", "--cosigned", s(&c), "--ledger", ledger]);
    };

    let out = verify(&bundle(&w, "b0"));
    assert_eq!(out.code, 1, "no cosignature: {}", out.stdout);
    assert!(
        out.stdout
            .contains("0 of 3 trusted witnesses cosigned; quorum is 2")
    );

    collect(0, 100);
    let out = verify(&bundle(&w, "b1"));
    assert_eq!(out.code, 1, "k-1 cosignatures: {}", out.stdout);
    assert!(out.stdout.contains("1 of 3 trusted witnesses cosigned"));

    collect(3, 101);
    let out = verify(&bundle(&w, "b1u"));
    assert_eq!(
        out.code, 1,
        "an unknown witness does not count: {}",
        out.stdout
    );
    assert!(out.stdout.contains("1 of 3 trusted witnesses cosigned"));
    assert!(
        !out.stdout.contains("witness.example/w4"),
        "unknown lines are ignored, not reported"
    );

    collect(1, 102);
    let out = verify(&bundle(&w, "b2"));
    assert_eq!(out.code, 0, "k cosignatures: {}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("2 of 3 trusted witnesses cosigned; quorum is 2")
    );

    collect(2, 103);
    let b3 = bundle(&w, "b3");
    let out = verify(&b3);
    assert_eq!(out.code, 0, "n cosignatures: {}", out.stdout);
    assert!(out.stdout.contains("3 of 3 trusted witnesses cosigned"));

    // w1's cosignature corrupted in the bundle: reported, and the bundle fails, although the two
    // others still make the quorum.
    let bytes = std::fs::read(&b3).expect("read");
    let mut parsed = Bundle::parse(&bytes, &BundleLimits::default()).expect("bundle");
    let name_w1 = "witness.example/w1";
    let mut note = Note::parse(&parsed.checkpoint).expect("note");
    let mut corrupted = Note::new(note.text()).expect("text");
    for sig in note.signatures() {
        let mut sig = sig.clone();
        if sig.name == name_w1 {
            sig.signature[20] ^= 1;
        }
        corrupted.add_signature(sig);
    }
    note = corrupted;
    parsed.checkpoint = note.to_text();
    let bad = w.path("b3-corrupted");
    std::fs::write(&bad, parsed.to_cbor()).expect("write");
    let out = verify(&bad);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("signature by \"witness.example/w1\" does not verify"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("2 of 3 trusted witnesses cosigned"));
}

#[test]
fn one_witness_listed_under_two_names_counts_once() {
    let w = World::new();
    grow(&w, "A", "a", 1, 2, u64::MAX);
    let cp = anchored(&w, "A", "a-anchored");
    let ledger_dir = w.path("A");
    let (w1_dir, w1) = w.witness("witness.example/w1");
    ok(&["witness", "add", &w1, "--ledger", s(&ledger_dir)]);
    let c = w.cosign_ok(&w1_dir, &cp, None, 100);
    ok(&[
        "checkpoint",
        "--cosigned",
        s(&c),
        "--ledger",
        s(&ledger_dir),
    ]);
    // The same key under a second name: `cosignature/v1` does not sign the name, so w1's one
    // cosignature, copied under the alias, verifies under it too.
    let real = CosignatureVerifier::parse(&w1).expect("vkey");
    let alias = CosignatureVerifier::new("witness.example/alias", *real.key()).expect("alias");
    let b = bundle(&w, "b1");
    let mut parsed =
        Bundle::parse(&std::fs::read(&b).expect("read"), &BundleLimits::default()).expect("bundle");
    let mut note = Note::parse(&parsed.checkpoint).expect("note");
    let copied: Vec<_> = note
        .signatures()
        .iter()
        .filter(|sig| sig.name == real.name())
        .map(|sig| {
            let mut sig = sig.clone();
            sig.name = alias.name().to_owned();
            sig.key_id = alias.key_id();
            sig
        })
        .collect();
    assert_eq!(copied.len(), 1);
    for sig in copied {
        note.add_signature(sig);
    }
    parsed.checkpoint = note.to_text();
    let twice = w.path("b1-twice");
    std::fs::write(&twice, parsed.to_cbor()).expect("write");
    let alias_vkey = alias.to_string();
    let trust = trust_file(&w, "twice.toml", 2, &[&w1, &alias_vkey]);
    let out = evl(&[
        "verify",
        s(&twice),
        "--trust",
        s(&trust),
        "--integrity-only",
    ]);
    assert_eq!(out.code, 1, "one witness met a quorum of 2: {}", out.stdout);
    assert!(
        out.stdout
            .contains("1 of 1 trusted witnesses cosigned; quorum is 2"),
        "{}",
        out.stdout
    );
    // With quorum 1 the one witness suffices, under either name.
    let trust = trust_file(&w, "once.toml", 1, &[&w1, &alias_vkey]);
    let out = evl(&[
        "verify",
        s(&twice),
        "--trust",
        s(&trust),
        "--integrity-only",
    ]);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

/// The file `name` with the signature line of `witness` replaced by `line` (or removed).
fn with_line(w: &World, from: &Path, name: &str, witness: &str, line: Option<&str>) -> PathBuf {
    let text = read(from);
    let out: String = text
        .lines()
        .filter_map(|l| {
            if l.starts_with(&format!("— {witness} ")) {
                line.map(|x| format!("{x}\n"))
            } else {
                Some(format!("{l}\n"))
            }
        })
        .collect();
    let p = w.path(name);
    std::fs::write(&p, out).expect("write");
    p
}

#[test]
fn a_garbage_line_under_a_configured_witness_is_refused_and_nothing_is_stored() {
    let w = World::new();
    grow(&w, "A", "a", 1, 2, u64::MAX);
    // The checkpoint bundles use, so that the cosignatures collected travel in the bundle below.
    let cp = anchored(&w, "A", "a-anchored");
    let ledger_dir = w.path("A");
    let ledger = s(&ledger_dir);
    let (w1_dir, w1) = w.witness("witness.example/w1");
    let (w2_dir, w2) = w.witness("witness.example/w2");
    ok(&["witness", "add", &w1, "--ledger", ledger]);
    ok(&["witness", "add", &w2, "--ledger", ledger]);
    let good = w.cosign_ok(&w2_dir, &cp, None, 100);
    let c = w.cosign_ok(&w1_dir, &cp, None, 100);
    // w1's name and key id, with 72 bytes that are no signature of this checkpoint: stored, it
    // would fail every later bundle at this size for every buyer who trusts w1.
    let real = read(&c);
    let w1_line = real
        .lines()
        .find(|l| l.starts_with("— witness.example/w1 "))
        .expect("w1 line");
    let sig = B64
        .decode(w1_line.rsplit(' ').next().expect("sig"))
        .expect("base64");
    let mut forged = sig.clone();
    forged[40] ^= 1;
    let garbage = format!("— witness.example/w1 {}", B64.encode(&forged));
    let bad = with_line(
        &w,
        &c,
        "garbage.cosigned",
        "witness.example/w1",
        Some(&garbage),
    );
    let line = read(&bad).lines().position(|l| l == garbage).expect("line") + 1;
    let before = ok(&["checkpoint", "--ledger", ledger]);
    // With a genuine file beside it: all or nothing, the genuine one is not stored either.
    let (_, err) = fails(
        1,
        &[
            "checkpoint",
            "--cosigned",
            s(&good),
            "--cosigned",
            s(&bad),
            "--ledger",
            ledger,
        ],
    );
    assert!(
        err.starts_with(&format!(
            "error: {}: line {line}: the cosignature of witness \"witness.example/w1\" does not verify over this checkpoint: ",
            s(&bad)
        )) && err.contains("; nothing was stored\nhint: "),
        "{err}"
    );
    assert_eq!(
        ok(&["checkpoint", "--ledger", ledger]),
        before,
        "nothing stored"
    );

    // A line of a witness nobody configured: refused the same way, naming it.
    let (w3_dir, _) = w.witness("witness.example/w3");
    let c3 = w.cosign_ok(&w3_dir, &cp, None, 100);
    let (_, err) = fails(1, &["checkpoint", "--cosigned", s(&c3), "--ledger", ledger]);
    assert!(
        err.contains("the signature of \"witness.example/w3\" (key id ")
            && err.contains("is not from a configured witness; nothing was stored")
            && err.contains("hint: `evledger witness list`"),
        "{err}"
    );
    assert_eq!(
        ok(&["checkpoint", "--ledger", ledger]),
        before,
        "nothing stored"
    );

    // A line under w1's name but another key: refused, saying which key id w1 has.
    let impostor = w.path("impostor-key");
    ok(&["key", "generate", "--out", s(&impostor)]);
    let (w1b_dir, _) = {
        let dir = w.path("witness-impostor");
        let vkey = ok(&[
            "witness",
            "init",
            "--name",
            "witness.example/w1",
            "--log-key",
            &w.log_vkey,
            "--out",
            s(&dir),
            "--key",
            s(&impostor),
        ]);
        (dir, vkey)
    };
    let ci = w.cosign_ok(&w1b_dir, &cp, None, 100);
    let (_, err) = fails(1, &["checkpoint", "--cosigned", s(&ci), "--ledger", ledger]);
    assert!(
        err.contains(": the configured witness \"witness.example/w1\" has key id "),
        "{err}"
    );

    // The genuine files are stored, and a bundle made now verifies for a buyer trusting w1.
    ok(&[
        "checkpoint",
        "--cosigned",
        s(&c),
        "--cosigned",
        s(&good),
        "--ledger",
        ledger,
    ]);
    let trust = trust_file(&w, "buyer.toml", 1, &[&w1]);
    let out = evl(&[
        "verify",
        s(&bundle(&w, "b")),
        "--trust",
        s(&trust),
        "--integrity-only",
    ]);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn cosignatures_need_a_configured_witness() {
    let w = World::new();
    let a = grow(&w, "A", "a", 1, 2, u64::MAX);
    let ledger_dir = w.path("A");
    let ledger = s(&ledger_dir);
    let (w1_dir, w1) = w.witness("witness.example/w1");
    let c = w.cosign_ok(&w1_dir, &a[1], None, 100);
    let (_, err) = fails(1, &["checkpoint", "--cosigned", s(&c), "--ledger", ledger]);
    assert_eq!(
        err,
        "error: no witness is configured for this ledger, so no cosignature can be checked\n\
         hint: add each witness whose cosignatures you collect: evledger witness add VKEY (the key `evledger witness init` printed for it)\n"
    );
    let out = evl(&["witness", "list", "--ledger", ledger]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
    assert!(
        out.stderr.starts_with("no witness is configured"),
        "{}",
        out.stderr
    );

    // Added from its vkey file, with a URL; listed in order.
    let vkey_file = w1_dir.join("witness.vkey");
    ok(&[
        "witness",
        "add",
        s(&vkey_file),
        "--url",
        "https://w1.example/",
        "--ledger",
        ledger,
    ]);
    assert_eq!(
        ok(&["witness", "list", "--ledger", ledger]),
        format!("{w1} https://w1.example/\n")
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["witness", "list", "--json", "--ledger", ledger]))
            .expect("json");
    assert_eq!(
        json,
        serde_json::json!([{"name": "witness.example/w1", "vkey": w1, "url": "https://w1.example/"}])
    );
    // One key under a second name, or a second key under the same name: refused.
    let real = CosignatureVerifier::parse(&w1).expect("vkey");
    let alias = CosignatureVerifier::new("witness.example/alias", *real.key()).expect("alias");
    let (_, err) = fails(
        1,
        &["witness", "add", &alias.to_string(), "--ledger", ledger],
    );
    assert!(
        err.starts_with(
            "error: the configured witness \"witness.example/w1\" already has this key\nhint: "
        ),
        "{err}"
    );
    let (_, w1_again) = w.witness("witness.example/w1-second");
    let other = CosignatureVerifier::parse(&w1_again).expect("vkey");
    let renamed = CosignatureVerifier::new("witness.example/w1", *other.key()).expect("renamed");
    let (_, err) = fails(
        1,
        &["witness", "add", &renamed.to_string(), "--ledger", ledger],
    );
    assert!(err.contains("already has this name"), "{err}");
    // A URL that is not http(s), and the log's own key as a witness: refused.
    let (_, err) = fails(
        1,
        &[
            "witness", "add", &w1_again, "--url", "ftp://x", "--ledger", ledger,
        ],
    );
    assert!(err.contains("must start with https:// or http://"), "{err}");
    let log = evledger::note::NoteVerifier::parse(&w.log_vkey).expect("log vkey");
    let itself = CosignatureVerifier::new("witness.example/self", *log.key()).expect("vkey");
    let (_, err) = fails(
        1,
        &["witness", "add", &itself.to_string(), "--ledger", ledger],
    );
    assert!(
        err.contains("a log cannot witness its own checkpoints"),
        "{err}"
    );
    assert_eq!(
        ok(&["witness", "list", "--ledger", ledger]).lines().count(),
        1
    );
    // Now the cosignature is stored.
    let out = evl(&["checkpoint", "--cosigned", s(&c), "--ledger", ledger]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("stored 1 new"), "{}", out.stderr);
}
