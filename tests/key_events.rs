//! Key events judged by log position: rotation hands a role to a new key, revocation ends a
//! key's standing from an index on, entries before it still verify, and bundles carry the key
//! events their signers need.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use evledger::evidence::{Evidence, InputFormat};
use evledger::export::{self, BundleOptions, Selection};
use evledger::keys::KeyId;
use evledger::ledger::trust_init::{RoleGrant, RoleSigner, TrustInit, trust_file_text};
use evledger::ledger::{Ledger, LedgerError, Signer};
use evledger::trust::TrustFile;
use evledger::verify::{Outcome, Report, Step, Verdict, verify_integrity};

const FIRMWARE: &str = include_str!("../examples/facegate/firmware-4.2.0.toml");

fn build(n: u64) -> Evidence {
    let text = FIRMWARE.replace("build_number = 4200", &format!("build_number = {n}"));
    Evidence::from_input("firmware-build", &text, InputFormat::Toml)
        .expect("example firmware build")
}

fn key_event(event: &str, key: &SigningKey, extra: &str) -> Evidence {
    let vk = key.verifying_key();
    let text = format!(
        "event = \"{event}\"\n{extra}\n[key]\nkid = \"{}\"\npublic_key = \"{}\"\n",
        KeyId::of(&vk),
        B64.encode(vk.to_bytes())
    );
    Evidence::from_input("key-event", &text, InputFormat::Toml).expect("key event")
}

fn signer(key: &SigningKey) -> Signer<'_> {
    Signer {
        key,
        issuer: "Aurelis Security Systems",
        subject: "FaceGate 3D",
        x5chain: Vec::new(),
    }
}

/// Appends without the ledger's own standing check, as a dishonest or careless writer could.
fn append_raw(ledger: &mut Ledger, ev: &Evidence, key: &SigningKey, iat: u64) -> u64 {
    let entry = Ledger::sign(ev, &signer(key), iat).expect("sign");
    ledger.append(&[entry]).expect("append")[0]
}

fn trust(ledger: &Ledger, pinned: &SigningKey) -> TrustFile {
    let text = format!(
        "version = 1\n[log]\nkeys = [\"{}\"]\n[[roles]]\nname = \"release-engineering\"\nkinds = [\"firmware-build\"]\npublic_keys = [\"{}\"]\n",
        ledger.log_verifier().expect("log key"),
        B64.encode(pinned.verifying_key().to_bytes())
    );
    TrustFile::parse(&text, "trust.toml", &|n: &str| {
        Err(format!("{n}: not available"))
    })
    .expect("trust file")
}

fn verify_all(ledger: &mut Ledger, trust: &TrustFile) -> Report {
    let sel = Selection {
        all: true,
        entries: Vec::new(),
    };
    let b = export::build(ledger, &sel, &BundleOptions::default()).expect("bundle");
    verify_integrity(&b.to_cbor(), trust)
}

fn failures(r: &Report, entry: u64) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| c.entry == Some(entry) && c.outcome == Outcome::Fail)
        .map(|c| format!("{}: {}", c.step.name(), c.message))
        .collect()
}

#[test]
fn rotation_hands_over_and_ends_the_old_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let old = SigningKey::from_bytes(&[1; 32]);
    let new = SigningKey::from_bytes(&[2; 32]);
    let b0 = ledger
        .record(&build(1), &signer(&old), 100)
        .expect("old key records");
    let rot = ledger
        .record(&key_event("rotate", &new, ""), &signer(&old), 101)
        .expect("rotate");
    let b2 = ledger
        .record(&build(2), &signer(&new), 102)
        .expect("new key records");
    // The ledger refuses the old key from now on...
    match ledger.record(&build(3), &signer(&old), 103) {
        Err(LedgerError::KeyRevoked { event, .. }) => assert_eq!(event, rot.index),
        other => panic!("expected KeyRevoked, got {other:?}"),
    }
    // ...and a verifier refuses what it signed after the rotation even if it got in, whatever its iat.
    let late = append_raw(&mut ledger, &build(4), &old, 50);
    let t = trust(&ledger, &old);
    let r = verify_all(&mut ledger, &t);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert!(
        failures(&r, b0.index).is_empty(),
        "{:?}",
        failures(&r, b0.index)
    );
    assert!(failures(&r, rot.index).is_empty());
    assert!(
        failures(&r, b2.index).is_empty(),
        "{:?}",
        failures(&r, b2.index)
    );
    let f = failures(&r, late);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].contains("rotated away from index 2"), "{f:?}");
}

#[test]
fn revocation_is_judged_by_log_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let key = SigningKey::from_bytes(&[3; 32]);
    let before = ledger
        .record(&build(1), &signer(&key), 100)
        .expect("record");
    let revoke = key_event(
        "revoke",
        &key,
        "reason = \"private key exposed in build logs\"",
    );
    let rev = ledger.record(&revoke, &signer(&key), 200).expect("revoke");
    assert!(matches!(
        ledger.record(&build(2), &signer(&key), 300),
        Err(LedgerError::KeyRevoked { .. })
    ));
    // Back-dating the iat does not help: position decides.
    let after = append_raw(&mut ledger, &build(3), &key, 1);
    let t = trust(&ledger, &key);
    let r = verify_all(&mut ledger, &t);
    assert!(failures(&r, before.index).is_empty());
    let f = failures(&r, after);
    assert!(
        f.iter()
            .any(|m| m.contains(&format!("revoked from index {}", rev.index))),
        "{f:?}"
    );
}

#[test]
fn bundles_carry_the_key_events_their_signers_need() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let old = SigningKey::from_bytes(&[4; 32]);
    let new = SigningKey::from_bytes(&[5; 32]);
    ledger
        .record(&build(1), &signer(&old), 100)
        .expect("record");
    ledger
        .record(&key_event("rotate", &new, ""), &signer(&old), 101)
        .expect("rotate");
    let b = ledger
        .record(&build(2), &signer(&new), 102)
        .expect("record");
    let e = ledger.resolve(&b.index.to_string()).expect("entry");
    let sel = Selection {
        all: false,
        entries: vec![e],
    };
    let bundle = export::build(&mut ledger, &sel, &BundleOptions::default()).expect("bundle");
    let indexes: Vec<u64> = bundle.entries.iter().map(|e| e.index).collect();
    assert_eq!(
        indexes,
        vec![1, 2],
        "the rotation must travel with the new key's entry"
    );
    // The buyer pinned only the old key: the rotation in the bundle carries the role over.
    let t = trust(&ledger, &old);
    let r = verify_integrity(&bundle.to_cbor(), &t);
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    assert!(r.checks.iter().any(|c| c.step == Step::Signer
        && c.entry == Some(2)
        && c.message.contains("release-engineering")));
}

#[test]
fn a_key_cannot_revoke_an_unrelated_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let a = SigningKey::from_bytes(&[6; 32]);
    let stranger = SigningKey::from_bytes(&[7; 32]);
    let b = ledger.record(&build(1), &signer(&a), 100).expect("record");
    // The stranger is introduced by nobody and pinned by nobody: its revocation counts for nothing.
    let ev = key_event("revoke", &a, "reason = \"hostile\"\neffective_index = 0");
    let rev = append_raw(&mut ledger, &ev, &stranger, 101);
    let t = trust(&ledger, &a);
    let r = verify_all(&mut ledger, &t);
    assert!(
        failures(&r, b.index).is_empty(),
        "{:?}",
        failures(&r, b.index)
    );
    assert!(!failures(&r, rev).is_empty());
}

#[test]
fn a_backdated_revocation_voids_the_keys_the_revoked_key_introduced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let k = SigningKey::from_bytes(&[8; 32]);
    let k2 = SigningKey::from_bytes(&[12; 32]);
    let b0 = ledger.record(&build(1), &signer(&k), 100).expect("record");
    let intro = ledger
        .record(&key_event("introduce", &k2, ""), &signer(&k), 101)
        .expect("introduce");
    let b2 = ledger.record(&build(2), &signer(&k2), 102).expect("record");
    // K was compromised before it introduced K2: the revocation reaches back to the introduction.
    let revoke = key_event(
        "revoke",
        &k,
        &format!(
            "reason = \"compromised\"\neffective_index = {}",
            intro.index
        ),
    );
    ledger.record(&revoke, &signer(&k), 103).expect("revoke");
    let t = trust(&ledger, &k);
    let r = verify_all(&mut ledger, &t);
    assert!(failures(&r, b0.index).is_empty());
    assert!(
        !failures(&r, intro.index).is_empty(),
        "the introduction is void"
    );
    let f = failures(&r, b2.index);
    assert!(
        f.iter()
            .any(|m| m.contains("not pinned by the trust file nor introduced")),
        "{f:?}"
    );
}

#[test]
fn a_rotation_chain_of_three_keys_carries_the_role_to_the_last() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let k1 = SigningKey::from_bytes(&[13; 32]);
    let k2 = SigningKey::from_bytes(&[14; 32]);
    let k3 = SigningKey::from_bytes(&[15; 32]);
    let a = ledger
        .record(&build(1), &signer(&k1), 100)
        .expect("k1 records");
    ledger
        .record(&key_event("rotate", &k2, ""), &signer(&k1), 101)
        .expect("k1 -> k2");
    let b = ledger
        .record(&build(2), &signer(&k2), 102)
        .expect("k2 records");
    ledger
        .record(&key_event("rotate", &k3, ""), &signer(&k2), 103)
        .expect("k2 -> k3");
    let c = ledger
        .record(&build(3), &signer(&k3), 104)
        .expect("k3 records");
    let late_k1 = append_raw(&mut ledger, &build(4), &k1, 105);
    let late_k2 = append_raw(&mut ledger, &build(5), &k2, 106);
    // The buyer pinned only the first key.
    let t = trust(&ledger, &k1);
    let r = verify_all(&mut ledger, &t);
    for ok in [a.index, b.index, c.index] {
        assert!(
            failures(&r, ok).is_empty(),
            "entry {ok}: {:?}",
            failures(&r, ok)
        );
    }
    assert!(failures(&r, late_k1)[0].contains("rotated away from index 2"));
    assert!(failures(&r, late_k2)[0].contains("rotated away from index 4"));
    let last = r
        .checks
        .iter()
        .find(|x| x.step == Step::Signer && x.entry == Some(c.index))
        .expect("signer check");
    assert!(
        last.message.contains("release-engineering"),
        "{}",
        last.message
    );
}

#[test]
fn a_forged_rotation_by_a_non_owner_grants_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let owner = SigningKey::from_bytes(&[16; 32]);
    let forger = SigningKey::from_bytes(&[17; 32]);
    let evil = SigningKey::from_bytes(&[18; 32]);
    let a = ledger
        .record(&build(1), &signer(&owner), 100)
        .expect("record");
    // The forger signs a rotation "to" its own key; it holds no role and is not the owner.
    let forged = append_raw(&mut ledger, &key_event("rotate", &evil, ""), &forger, 101);
    let b = append_raw(&mut ledger, &build(2), &evil, 102);
    let t = trust(&ledger, &owner);
    let r = verify_all(&mut ledger, &t);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert!(failures(&r, a.index).is_empty());
    assert!(failures(&r, forged)[0].contains("neither pinned nor introduced"));
    assert!(failures(&r, b)[0].contains("not pinned by the trust file nor introduced"));
}

/// `trust init` for `ledger` with the roles given as (name, kinds, kid).
fn trust_init(ledger: &Ledger, roles: &[(&str, &[&str], &SigningKey)]) -> TrustInit {
    let grants: Vec<RoleGrant> = roles
        .iter()
        .map(|(name, kinds, key)| RoleGrant {
            name: (*name).to_owned(),
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            signer: RoleSigner::Kid(KeyId::of(&key.verifying_key())),
        })
        .collect();
    trust_file_text(ledger, &[], &grants).expect("trust init")
}

fn parse_trust(text: &str) -> TrustFile {
    TrustFile::parse(text, "t.toml", &|n: &str| {
        Err(format!("{n}: not available"))
    })
    .expect("trust")
}

#[test]
fn trust_init_pins_the_first_key_and_leaves_rotations_to_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let old = SigningKey::from_bytes(&[19; 32]);
    let new = SigningKey::from_bytes(&[20; 32]);
    ledger
        .record(&build(1), &signer(&old), 100)
        .expect("record");
    ledger
        .record(&key_event("rotate", &new, ""), &signer(&old), 101)
        .expect("rotate");
    ledger
        .record(&build(2), &signer(&new), 102)
        .expect("record");
    let made = trust_init(
        &ledger,
        &[("release-engineering", &["firmware-build"], &old)],
    );
    let text = &made.text;
    assert!(made.warnings.is_empty(), "{:?}", made.warnings);
    assert!(
        text.contains(&B64.encode(old.verifying_key().to_bytes())),
        "{text}"
    );
    assert!(
        !text.contains(&B64.encode(new.verifying_key().to_bytes())),
        "a rotated-to key must not be pinned from index 0:\n{text}"
    );
    assert!(
        text.contains(&format!(
            "rotated to by kid {} at index 1: acts in that key's roles from index 2 on",
            KeyId::of(&old.verifying_key())
        )),
        "{text}"
    );
    let r = verify_all(&mut ledger, &parse_trust(text));
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
}

#[test]
fn trust_init_without_roles_pins_the_log_key_and_lists_signers_only_as_comments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let key = SigningKey::from_bytes(&[21; 32]);
    ledger
        .record(&build(1), &signer(&key), 100)
        .expect("record");
    let made = trust_init(&ledger, &[]);
    let t = parse_trust(&made.text);
    assert!(t.roles.is_empty(), "{}", made.text);
    assert_eq!(t.log_keys.len(), 1);
    assert!(
        !made
            .text
            .contains(&B64.encode(key.verifying_key().to_bytes()))
    );
    let kid = KeyId::of(&key.verifying_key());
    assert!(
        made.text.contains(&format!(
            "#   kid {kid}\n#     signed firmware-build; first at index 0\n"
        )),
        "{}",
        made.text
    );
    // Nothing verifies until the buyer states who signs what.
    let r = verify_all(&mut ledger, &t);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert!(failures(&r, 0)[0].contains("not pinned by the trust file"));
}

#[test]
fn a_trust_file_with_roles_for_every_signer_verifies_a_ledger_with_key_events() {
    // A key that already signs is introduced later; another is rotated to. With a role for each
    // signer that signs before any key event names it, the whole ledger verifies.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let (release, second, third) = (
        SigningKey::from_bytes(&[31; 32]),
        SigningKey::from_bytes(&[32; 32]),
        SigningKey::from_bytes(&[33; 32]),
    );
    ledger
        .record(&build(1), &signer(&release), 100)
        .expect("record");
    ledger
        .record(&build(2), &signer(&second), 101)
        .expect("second key signs before it is introduced");
    ledger
        .record(&key_event("introduce", &second, ""), &signer(&release), 102)
        .expect("introduce");
    ledger
        .record(&build(3), &signer(&second), 103)
        .expect("record");
    ledger
        .record(&key_event("rotate", &third, ""), &signer(&release), 104)
        .expect("rotate");
    ledger
        .record(&build(4), &signer(&third), 105)
        .expect("record");
    let rel: &[&str] = &["firmware-build", "key-event"];
    let made = trust_init(
        &ledger,
        &[
            ("release-engineering", rel, &release),
            ("release-engineering", rel, &second),
        ],
    );
    let t = parse_trust(&made.text);
    assert_eq!(t.roles.len(), 1, "{}", made.text);
    assert_eq!(t.roles[0].keys.len(), 2, "{}", made.text);
    let r = verify_all(&mut ledger, &t);
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    // Without the second key's own role, its build before the introduction fails.
    let made = trust_init(&ledger, &[("release-engineering", rel, &release)]);
    let r = verify_all(&mut ledger, &parse_trust(&made.text));
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert!(
        failures(&r, 1)[0].contains("only introduced for index 3 on"),
        "{:?}",
        failures(&r, 1)
    );
}

#[test]
fn trust_init_warns_when_a_vendor_key_is_also_given_an_independent_role() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let legal = SigningKey::from_bytes(&[41; 32]);
    ledger
        .record(&build(1), &signer(&legal), 100)
        .expect("record");
    let made = trust_init(
        &ledger,
        &[
            ("product-legal", &["firmware-build", "lab-result"], &legal),
            ("lab", &["countersignature"], &legal),
        ],
    );
    assert_eq!(made.warnings.len(), 1, "{:?}", made.warnings);
    let w = &made.warnings[0];
    assert!(
        w.starts_with(&format!(
            "key {} holds the vendor role product-legal and the independent role lab",
            KeyId::of(&legal.verifying_key())
        )),
        "{w}"
    );
    assert!(
        made.text.contains(&format!("# WARNING: {w}\n")),
        "{}",
        made.text
    );
    // A role name given twice with different kinds is refused.
    let grants = [
        RoleGrant {
            name: "lab".into(),
            kinds: vec!["countersignature".into()],
            signer: RoleSigner::Kid(KeyId::of(&legal.verifying_key())),
        },
        RoleGrant {
            name: "lab".into(),
            kinds: vec!["lab-result".into()],
            signer: RoleSigner::Key(SigningKey::from_bytes(&[42; 32]).verifying_key()),
        },
    ];
    let e = trust_file_text(&ledger, &[], &grants).expect_err("kinds differ");
    assert_eq!(
        e.to_string(),
        "role lab: given with kinds countersignature and with kinds lab-result; give one list"
    );
    // A kid the ledger does not hold is refused.
    let stranger = SigningKey::from_bytes(&[43; 32]);
    let e = trust_file_text(
        &ledger,
        &[],
        &[RoleGrant {
            name: "lab".into(),
            kinds: vec!["countersignature".into()],
            signer: RoleSigner::Kid(KeyId::of(&stranger.verifying_key())),
        }],
    )
    .expect_err("unknown kid");
    assert!(
        e.to_string()
            .contains("the ledger holds no signer key with kid"),
        "{e}"
    );
}

fn trust_with(ledger: &Ledger, pinned: &[&SigningKey]) -> TrustFile {
    let keys: Vec<String> = pinned
        .iter()
        .map(|k| format!("\"{}\"", B64.encode(k.verifying_key().to_bytes())))
        .collect();
    let text = format!(
        "version = 1\n[log]\nkeys = [\"{}\"]\n[[roles]]\nname = \"release-engineering\"\nkinds = [\"firmware-build\"]\npublic_keys = [{}]\n",
        ledger.log_verifier().expect("log key"),
        keys.join(", ")
    );
    TrustFile::parse(&text, "trust.toml", &|n: &str| {
        Err(format!("{n}: not available"))
    })
    .expect("trust file")
}

#[test]
fn a_bundle_carries_what_a_revocation_needs_about_the_key_it_revokes() {
    // K4 introduces K3; K1, sharing K4's role, revokes K3. Whether K1 may revoke K3 depends on
    // K3's roles, which only K3's introduction shows: it must travel with the revocation.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let (k1, k3, k4) = (
        SigningKey::from_bytes(&[41; 32]),
        SigningKey::from_bytes(&[43; 32]),
        SigningKey::from_bytes(&[44; 32]),
    );
    let intro = ledger
        .record(&key_event("introduce", &k3, ""), &signer(&k4), 100)
        .expect("introduce");
    let rev = ledger
        .record(
            &key_event("revoke", &k3, "reason = \"retired\""),
            &signer(&k1),
            101,
        )
        .expect("revoke");
    let b = ledger.record(&build(1), &signer(&k1), 102).expect("record");
    let e = ledger.resolve(&b.index.to_string()).expect("entry");
    let sel = Selection {
        all: false,
        entries: vec![e],
    };
    let bundle = export::build(&mut ledger, &sel, &BundleOptions::default()).expect("bundle");
    let indexes: Vec<u64> = bundle.entries.iter().map(|e| e.index).collect();
    assert_eq!(indexes, vec![intro.index, rev.index, b.index]);
    let r = verify_integrity(&bundle.to_cbor(), &trust_with(&ledger, &[&k1, &k4]));
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
}

#[test]
fn the_ledger_names_the_event_that_ends_the_key_earliest_as_the_verifier_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let (old, new) = (
        SigningKey::from_bytes(&[45; 32]),
        SigningKey::from_bytes(&[46; 32]),
    );
    ledger
        .record(&build(1), &signer(&old), 100)
        .expect("record");
    let rot = ledger
        .record(&key_event("rotate", &new, ""), &signer(&old), 101)
        .expect("rotate");
    // The new key then finds the old one was compromised from the start.
    let rev = ledger
        .record(
            &key_event("revoke", &old, "reason = \"leaked\"\neffective_index = 0"),
            &signer(&new),
            102,
        )
        .expect("revoke");
    assert!(rot.index < rev.index);
    match ledger.record(&build(2), &signer(&old), 103) {
        Err(e @ LedgerError::KeyRevoked { .. }) => {
            let LedgerError::KeyRevoked { event, .. } = &e else {
                unreachable!()
            };
            assert_eq!(*event, rev.index, "{e}");
            assert!(
                e.to_string().contains("was revoked by the key event"),
                "{e}"
            );
        }
        other => panic!("expected KeyRevoked, got {other:?}"),
    }
    let late = append_raw(&mut ledger, &build(3), &old, 104);
    let t = trust(&ledger, &old);
    let r = verify_all(&mut ledger, &t);
    let f = failures(&r, late);
    assert!(
        f.iter().any(|m| m.contains(&format!(
            "revoked from index 0 (key event at entry {})",
            rev.index
        ))),
        "{f:?}"
    );
}

#[test]
fn a_role_given_to_the_first_key_carries_to_its_successor() {
    // The first key only hands over; its successor signs builds in the first key's role.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let (first, second) = (
        SigningKey::from_bytes(&[47; 32]),
        SigningKey::from_bytes(&[48; 32]),
    );
    ledger
        .record(&key_event("rotate", &second, ""), &signer(&first), 100)
        .expect("rotate");
    ledger
        .record(&build(1), &signer(&second), 101)
        .expect("record");
    let made = trust_init(
        &ledger,
        &[("release-engineering", &["firmware-build"], &first)],
    );
    assert!(
        !made
            .text
            .contains(&B64.encode(second.verifying_key().to_bytes())),
        "{}",
        made.text
    );
    let r = verify_all(&mut ledger, &parse_trust(&made.text));
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
}

#[test]
fn introducing_a_known_key_grants_its_role_only_from_the_next_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "test.example/log").expect("init");
    let release = SigningKey::from_bytes(&[1; 32]);
    let legal = SigningKey::from_bytes(&[2; 32]);
    // The product/legal key, pinned for claims only, signs a build before anyone let it...
    let early = append_raw(&mut ledger, &build(1), &legal, 100);
    // ...then release engineering introduces it, and it signs another.
    let intro = ledger
        .record(&key_event("introduce", &legal, ""), &signer(&release), 101)
        .expect("introduce");
    let later = ledger
        .record(&build(2), &signer(&legal), 102)
        .expect("introduced key records");
    let text = format!(
        "version = 1\n[log]\nkeys = [\"{}\"]\n\
         [[roles]]\nname = \"release-engineering\"\nkinds = [\"firmware-build\"]\npublic_keys = [\"{}\"]\n\
         [[roles]]\nname = \"product-legal\"\nkinds = [\"claim\"]\npublic_keys = [\"{}\"]\n",
        ledger.log_verifier().expect("log key"),
        B64.encode(release.verifying_key().to_bytes()),
        B64.encode(legal.verifying_key().to_bytes())
    );
    let t = TrustFile::parse(&text, "trust.toml", &|n: &str| {
        Err(format!("{n}: not available"))
    })
    .expect("trust file");
    let r = verify_all(&mut ledger, &t);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert!(
        failures(&r, intro.index).is_empty(),
        "{:?}",
        failures(&r, intro.index)
    );
    assert!(
        failures(&r, later.index).is_empty(),
        "{:?}",
        failures(&r, later.index)
    );
    let f = failures(&r, early);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains(
            "acts in role release-engineering, which may sign firmware-build, only from index 2"
        ),
        "{f:?}"
    );
}
