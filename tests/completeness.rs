//! Bundles that cannot hide bad news (`specs/completeness.md`): each attack leaves an adverse
//! entry out of an otherwise valid bundle, and the verifier's completeness step catches it.

mod story;

use ed25519_dalek::SigningKey;

use evledger::bundle::OLDEST_BUNDLE_VERSION;
use evledger::evidence::{AdverseIndex, Evidence, EvidenceError, InputFormat, Sha256Hex};
use evledger::export::{self, BundleOptions, Selection};
use evledger::ledger::{Ledger, Signer};
use evledger::policy::Profile;
use evledger::verify::{
    Completeness, Outcome, Report, Step, Verdict, verify_bundle, verify_integrity,
};
use story::*;

fn complete_profile() -> Profile {
    let path = profile_path("evidence-complete.toml");
    Profile::parse(&std::fs::read_to_string(&path).expect("profile")).expect("profile parses")
}

/// The failures of a report, as "step: message".
fn failed(r: &Report) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| format!("{}: {}", c.step.name(), c.message))
        .collect()
}

#[test]
fn a_bundle_shows_that_nothing_adverse_was_withheld() {
    let (mut f, s) = story();
    for options in [BundleOptions::default(), claim2_options(&s)] {
        let b = f.bundle_of(&[&s.claim2], &options);
        assert_eq!(b.version, 2);
        // The log's index is the last entry before the checkpoint and travels under its own key.
        let anchor = b.adverse_index.as_ref().expect("adverse index");
        let r = verify(&b.to_cbor());
        assert_verified(&r);
        assert_eq!(r.tree_size, Some(anchor.index + 1));
        assert_eq!(
            r.completeness,
            Completeness::Shown {
                tree_size: anchor.index + 1,
                adverse_entries: 1
            }
        );
        assert!(
            r.render().contains(&format!(
                "completeness: no adverse entry was withheld up to tree size {}",
                anchor.index + 1
            )),
            "{}",
            r.render()
        );
    }
}

#[test]
fn withholding_an_incident_is_caught() {
    let (mut f, s) = story();
    let mut b = f.bundle_of(&[&s.claim2], &BundleOptions::default());
    let incident = b
        .entries
        .iter()
        .position(|e| {
            evledger::hex::encode(&evledger::statement::entry_hash(&e.statement)) == s.incident
        })
        .expect("the incident travels with the claim");
    b.entries.remove(incident);
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Completeness,
        None,
        "adverse entries were withheld: the log's adverse index (entry 7) commits to 1 adverse entries below it, and the bundle carries 0",
    );
    // Completeness is the only thing that catches it: every other check passes.
    assert!(
        failed(&r).iter().all(|m| m.starts_with("completeness: ")),
        "{:?}",
        failed(&r)
    );
    assert!(matches!(r.completeness, Completeness::NotShown { .. }));
}

#[test]
fn stripping_the_index_and_the_version_leaves_completeness_unshown() {
    // A man in the middle removes the incident and the index, and relabels the bundle version 1.
    let (mut f, s) = story();
    let mut b = f.bundle_of(&[&s.claim2], &BundleOptions::default());
    let incident_hash = s.incident.clone();
    b.entries.retain(|e| {
        evledger::hex::encode(&evledger::statement::entry_hash(&e.statement)) != incident_hash
    });
    b.adverse_index = None;
    // As version 2, the missing index fails the bundle.
    let r = verify(&b.to_cbor());
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Completeness,
        None,
        "a version 2 bundle must carry the log's adverse index (the entry at index 7",
    );
    // As version 1 it verifies, and says that completeness is not shown ...
    b.version = OLDEST_BUNDLE_VERSION;
    let r = verify(&b.to_cbor());
    assert_verified(&r);
    assert!(
        r.render()
            .contains("completeness: NOT SHOWN: bundle version 1 predates the log's adverse index"),
        "{}",
        r.render()
    );
    // ... which a buyer who relies on completeness refuses with the shipped profile.
    let r = verify_bundle(&b.to_cbor(), &trust(), &[complete_profile()]);
    assert_fails(
        &r,
        Verdict::PolicyNotMet,
        Step::Policy,
        None,
        "no-adverse-entry-withheld: the bundle must show that no adverse entry was withheld: NOT SHOWN",
    );
    // The complete bundle meets that profile, next to the profiles that judge its claim.
    let good = f.bundle_of(&[&s.claim2], &BundleOptions::default());
    let mut all = profiles();
    all.push(complete_profile());
    let r = verify_bundle(&good.to_cbor(), &trust(), &all);
    assert_verified(&r);
}

#[test]
fn the_index_must_be_proved_signed_and_last() {
    let (mut f, s) = story();
    let good = f.bundle_of(&[&s.claim2], &BundleOptions::default());
    let anchor = good.adverse_index.clone().expect("anchor");

    // A damaged proof.
    let mut b = good.clone();
    b.adverse_index.as_mut().expect("anchor").proof[0][3] ^= 0x10;
    assert_fails(
        &verify(&b.to_cbor()),
        Verdict::VerificationFailed,
        Step::Completeness,
        None,
        "the adverse index (entry 7) is not proved to be in the log",
    );

    // Signed by a key the trust file does not pin for the log.
    let keys = Keys::new();
    let st = evledger::statement::SignedStatement::parse(&anchor.statement).expect("statement");
    let Evidence::AdverseIndex(ix) =
        Evidence::from_payload("adverse-index", st.payload()).expect("payload")
    else {
        panic!("not an index")
    };
    let forged = Ledger::sign(
        &Evidence::AdverseIndex(ix),
        &Signer {
            key: &keys.stranger,
            issuer: ORIGIN,
            subject: "adverse-index",
            x5chain: Vec::new(),
        },
        st.header().issued_at,
    )
    .expect("sign");
    let mut b = good.clone();
    b.adverse_index.as_mut().expect("anchor").statement = forged.statement;
    assert_fails(
        &verify(&b.to_cbor()),
        Verdict::VerificationFailed,
        Step::Completeness,
        None,
        "which is not a log key the trust file pins for tree size 8",
    );

    // Any other statement under the index's key, or the index among the entries, is malformed.
    let mut b = good.clone();
    b.adverse_index.as_mut().expect("anchor").statement = good.entries[0].statement.clone();
    let r = verify(&b.to_cbor());
    assert_eq!(r.verdict, Verdict::InvalidBundle, "{}", r.render());
    assert!(
        failed(&r)
            .iter()
            .any(|m| m.contains("is a firmware-build statement, not the log's adverse index")),
        "{:?}",
        failed(&r)
    );
    let mut b = good.clone();
    b.entries.push(b.adverse_index.take().expect("anchor"));
    let r = verify(&b.to_cbor());
    assert_eq!(r.verdict, Verdict::InvalidBundle, "{}", r.render());
    assert!(
        failed(&r)
            .iter()
            .any(|m| m.contains("belongs under the bundle's \"adverse-index\" key")),
        "{:?}",
        failed(&r)
    );
}

/// A release key, a build, the key's own revocation, and a build appended after it by a writer
/// that skips the ledger's standing check.
fn revoked_signer() -> (tempfile::TempDir, Ledger, SigningKey, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), ORIGIN).expect("init");
    let key = SigningKey::from_bytes(&[31; 32]);
    let signer = Signer {
        key: &key,
        issuer: "Aurelis Security Systems",
        subject: "FaceGate 3D",
        x5chain: Vec::new(),
    };
    let build = |n: u64| {
        let text =
            example(FW420, &[]).replace("build_number = 4200", &format!("build_number = {n}"));
        Evidence::from_input("firmware-build", &text, InputFormat::Toml).expect("build")
    };
    ledger.record(&build(1), &signer, 100).expect("record");
    let vk = key.verifying_key();
    let revoke = Evidence::from_input(
        "key-event",
        &format!(
            "event = \"revoke\"\nreason = \"private key exposed\"\n[key]\nkid = \"{}\"\npublic_key = \"{}\"\n",
            evledger::keys::KeyId::of(&vk),
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, vk.to_bytes())
        ),
        InputFormat::Toml,
    )
    .expect("key event");
    ledger.record(&revoke, &signer, 200).expect("revoke");
    let late = Ledger::sign(&build(2), &signer, 300).expect("sign");
    let late = ledger.append(&[late]).expect("append")[0];
    (dir, ledger, key, late)
}

#[test]
fn withholding_a_revocation_is_caught() {
    let (_dir, mut ledger, key, late) = revoked_signer();
    let text = format!(
        "version = 1\n[log]\nkeys = [\"{}\"]\n[[roles]]\nname = \"release-engineering\"\nkinds = [\"firmware-build\"]\npublic_keys = [\"{}\"]\n",
        ledger.log_verifier().expect("log key"),
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            key.verifying_key().to_bytes()
        )
    );
    let t = evledger::trust::TrustFile::parse(&text, "t.toml", &|n: &str| {
        Err(format!("{n}: not available"))
    })
    .expect("trust");
    let e = ledger.resolve(&late.to_string()).expect("entry");
    let sel = Selection {
        all: false,
        entries: vec![e],
    };
    let mut b = export::build(&mut ledger, &sel, &BundleOptions::default()).expect("bundle");
    // As exported, the revocation travels with the build and fails it.
    let r = verify_integrity(&b.to_cbor(), &t);
    assert_fails(
        &r,
        Verdict::VerificationFailed,
        Step::Signer,
        Some(late),
        "revoked from index 1",
    );
    // Without the revocation, the build's signature would count: only completeness objects.
    b.entries.retain(|e| e.index != 1);
    let r = verify_integrity(&b.to_cbor(), &t);
    assert_eq!(r.verdict, Verdict::VerificationFailed, "{}", r.render());
    assert_eq!(
        failed(&r),
        vec![format!(
            "completeness: adverse entries were withheld: the log's adverse index (entry {}) commits to 1 adverse entries below it, and the bundle carries 0",
            late + 1
        )]
    );
}

#[test]
fn a_false_index_is_caught_by_the_verifier_and_by_audit() {
    // A log operator who signs an index that leaves its incident out.
    let (mut f, s) = story();
    let size = evledger::store::StoreRead::size(f.ledger.store()).expect("size");
    let lie = AdverseIndex {
        log: ORIGIN.to_owned(),
        size,
        count: 0,
        digest: Sha256Hex([0; 32]),
    };
    let keys = Keys::new();
    let entry = Ledger::sign(
        &Evidence::AdverseIndex(lie),
        &Signer {
            key: &keys.log,
            issuer: ORIGIN,
            subject: "adverse-index",
            x5chain: Vec::new(),
        },
        T0,
    )
    .expect("sign");
    f.ledger.append(&[entry]).expect("append");
    // The log's last entry is now an index, so the next checkpoint is anchored by the lie.
    f.checkpoint();
    let report = evledger::audit::audit(&f.ledger, &mut |_, _| {}).expect("audit");
    assert!(
        report
            .findings
            .iter()
            .any(|x| x.at == format!("entry {size}")
                && x.message
                    .contains("the adverse index commits to 0 adverse entries")),
        "{:?}",
        report.findings
    );
    // The next bundle is proved against it, and carries the incident it leaves out.
    let b = f.bundle_of(&[&s.claim2], &BundleOptions::default());
    assert_eq!(b.adverse_index.as_ref().map(|a| a.index), Some(size));
    assert_fails(
        &verify(&b.to_cbor()),
        Verdict::VerificationFailed,
        Step::Completeness,
        None,
        "do not match the log's adverse index (0 committed, 1 carried, digests differ)",
    );
}

#[test]
fn only_the_log_writes_its_index() {
    let err = Evidence::from_input(
        "adverse-index",
        "log = \"x\"\nsize = 0\ncount = 0\ndigest = \"00\"\n",
        InputFormat::Toml,
    )
    .expect_err("refused");
    assert!(matches!(err, EvidenceError::LogOnly(_)), "{err}");
    // A statement of the kind, signed anywhere, is refused at registration.
    let (mut f, _) = story();
    let keys = Keys::new();
    let statement = Ledger::sign(
        &Evidence::AdverseIndex(AdverseIndex {
            log: ORIGIN.to_owned(),
            size: 0,
            count: 0,
            digest: Sha256Hex([0; 32]),
        }),
        &Signer {
            key: &keys.legal,
            issuer: ORIGIN,
            subject: "adverse-index",
            x5chain: Vec::new(),
        },
        T0,
    )
    .expect("sign")
    .statement;
    let err = f
        .ledger
        .register(
            &[evledger::ledger::Submission {
                statement,
                documents: Vec::new(),
            }],
            &Default::default(),
        )
        .expect_err("refused");
    assert!(
        err.error
            .to_string()
            .contains("is written by the log itself"),
        "{}",
        err.error
    );
}
