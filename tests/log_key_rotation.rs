//! Log key rotation: the log dual-signs during the rotation window, the trust file pins each log
//! key for the tree sizes it signs, and bundles made before the rotation keep verifying after it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use evledger::ledger::Ledger;
use evledger::note::NoteVerifier;
use evledger::trust::TrustFile;
use evledger::verify::{Outcome, Report, Step, Verdict, verify_integrity};

mod builds;

use builds::{ORIGIN, bundle_all, record};

fn trust(log_keys: &str, signer: &SigningKey) -> TrustFile {
    let text = format!(
        "version = 1\n[log]\nkeys = {log_keys}\n[[roles]]\nname = \"release-engineering\"\nkinds = [\"firmware-build\"]\npublic_keys = [\"{}\"]\n",
        B64.encode(signer.verifying_key().to_bytes())
    );
    TrustFile::parse(&text, "t.toml", &|n: &str| {
        Err(format!("{n}: not available"))
    })
    .expect("trust file")
}

fn checkpoint_failure(r: &Report) -> Option<String> {
    r.checks
        .iter()
        .find(|c| c.step == Step::Checkpoint && c.outcome == Outcome::Fail)
        .map(|c| c.message.clone())
}

#[test]
fn bundles_from_before_a_rotation_keep_verifying() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ldir = dir.path().join("l");
    let mut ledger = Ledger::init(&ldir, ORIGIN).expect("init");
    let release = SigningKey::from_bytes(&[9; 32]);
    let old = NoteVerifier::new(ORIGIN, ledger.info().log_key).expect("vkey");
    record(&mut ledger, &release, 1);
    record(&mut ledger, &release, 2);
    let cp1 = ledger.checkpoint().expect("checkpoint").note;
    // The bundle needs a checkpoint that ends with the log's adverse index: entry 2, size 3.
    let before = bundle_all(&mut ledger, None);

    // Rotation window: both keys sign.
    let next = SigningKey::from_bytes(&[10; 32]);
    let new = NoteVerifier::new(ORIGIN, next.verifying_key()).expect("vkey");
    assert_eq!(ledger.add_log_key(&next).expect("add"), 3);
    record(&mut ledger, &release, 3);
    let cp2 = ledger.checkpoint().expect("checkpoint");
    assert_eq!(
        cp2.note.matches("\n\u{2014} ").count(),
        2,
        "dual-signed: {}",
        cp2.note
    );
    let old_pub = ledger.info().log_key;
    ledger.retire_log_key(&old_pub).expect("retire");
    assert!(
        ledger.retire_log_key(&next.verifying_key()).is_err(),
        "the last key cannot be retired"
    );
    record(&mut ledger, &release, 4);
    let cp3 = ledger.checkpoint().expect("checkpoint");
    assert_eq!(
        cp3.note.matches("\n\u{2014} ").count(),
        1,
        "new key only: {}",
        cp3.note
    );
    let after = bundle_all(&mut ledger, Some(cp1));

    let report = evledger::audit::audit(&ledger, &mut |_, _| {}).expect("audit");
    assert!(report.is_clean(), "{:?}", report.findings);

    // The old trust file: the old bundle verifies, the new one cannot.
    let t_old = trust(&format!("[\"{old}\"]"), &release);
    assert_eq!(verify_integrity(&before, &t_old).verdict, Verdict::Verified);
    let r = verify_integrity(&after, &t_old);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert!(checkpoint_failure(&r).is_some());

    // The updated trust file, as `trust init` writes it after the rotation: both verify.
    let grants = [evledger::ledger::trust_init::RoleGrant {
        name: "release-engineering".into(),
        kinds: vec!["firmware-build".into()],
        signer: evledger::ledger::trust_init::RoleSigner::Key(release.verifying_key()),
    }];
    let text = evledger::ledger::trust_init::trust_file_text(&ledger, &[], &grants)
        .expect("trust init")
        .text;
    assert!(
        text.contains(&format!(
            "{{ vkey = \"{old}\", from_size = 0, to_size = 4 }}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{{ vkey = \"{new}\", from_size = 4 }}")),
        "{text}"
    );
    let t_both = TrustFile::parse(&text, "t.toml", &|n: &str| {
        Err(format!("{n}: not available"))
    })
    .expect("generated trust file");
    for (name, b) in [("before", &before), ("after", &after)] {
        let r = verify_integrity(b, &t_both);
        assert_eq!(r.verdict, Verdict::Verified, "{name}: {}", r.render());
    }

    // Pinning the new key only from size 4 on: the old bundle's size-3 checkpoint is outside its range.
    let t_new = trust(
        &format!("[{{ vkey = \"{new}\", from_size = 4 }}]"),
        &release,
    );
    let r = verify_integrity(&before, &t_new);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    let msg = checkpoint_failure(&r).expect("checkpoint failure");
    assert!(
        msg.contains("no pinned log key is trusted for tree size 3"),
        "{msg}"
    );
}

#[test]
fn a_log_key_cannot_be_added_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), ORIGIN).expect("init");
    let k = SigningKey::from_bytes(&[11; 32]);
    ledger.add_log_key(&k).expect("add");
    assert!(ledger.add_log_key(&k).is_err());
}
