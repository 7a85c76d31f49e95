//! Split-view detection: a buyer who remembers checkpoints catches a log that shows two histories.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use evledger::cli::remember::CheckpointMemory;
use evledger::ledger::Ledger;
use evledger::trust::TrustFile;
use evledger::verify::{Outcome, Report, Verdict, VerifyOptions, verify_bundle_with};
use sha2::Digest as _;

mod builds;

use builds::{ORIGIN, bundle_all, record};

struct Buyer {
    trust: TrustFile,
    memory: CheckpointMemory,
}

impl Buyer {
    fn verify(&self, b: &[u8]) -> Report {
        let cp = evledger::bundle::Bundle::parse(b, &Default::default())
            .expect("bundle")
            .checkpoint;
        let options = VerifyOptions {
            remembered: self.memory.recall_for(&cp).expect("memory"),
            integrity_only: true,
            ..VerifyOptions::default()
        };
        let r = verify_bundle_with(b, &self.trust, &[], &options);
        if r.verdict == Verdict::Verified {
            self.memory.remember(&cp).expect("remember");
        }
        r
    }
}

fn failure(r: &Report) -> String {
    r.checks
        .iter()
        .find(|c| c.outcome == Outcome::Fail)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

#[test]
fn a_forked_log_is_caught_and_an_honest_one_is_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_key = SigningKey::from_bytes(&[21; 32]);
    let release = SigningKey::from_bytes(&[22; 32]);
    let mut honest =
        Ledger::init_with_key(&dir.path().join("a"), ORIGIN, Some(log_key.clone())).expect("init");
    // The same log key and origin, a different history: what a dishonest operator would show someone else.
    let mut fork =
        Ledger::init_with_key(&dir.path().join("b"), ORIGIN, Some(log_key)).expect("init");
    let text = format!(
        "version = 1\n[log]\nkeys = [\"{}\"]\n[[roles]]\nname = \"release-engineering\"\nkinds = [\"firmware-build\"]\npublic_keys = [\"{}\"]\n",
        honest.log_verifier().expect("vkey"),
        B64.encode(release.verifying_key().to_bytes())
    );
    let buyer = Buyer {
        trust: TrustFile::parse(&text, "t.toml", &|n: &str| {
            Err(format!("{n}: not available"))
        })
        .expect("trust"),
        memory: CheckpointMemory::open(&dir.path().join("memory")).expect("memory"),
    };

    record(&mut honest, &release, 1);
    record(&mut honest, &release, 2);
    // The checkpoint the buyer first sees: the one its bundle is proved against, which ends with
    // the log's adverse index (entry 2), so size 3.
    let cp2 = honest.anchored_checkpoint().expect("checkpoint").note;
    let b2 = bundle_all(&mut honest, None);
    assert_eq!(buyer.verify(&b2).verdict, Verdict::Verified, "first sight");

    record(&mut honest, &release, 3);
    let b3 = bundle_all(&mut honest, Some(cp2.clone()));
    let r = buyer.verify(&b3);
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    assert!(r.checks.iter().any(|c| {
        c.message
            .contains("extends the remembered checkpoint (size 3 to 5)")
    }));

    // A bigger bundle without a proof from the remembered size is not accepted.
    record(&mut honest, &release, 4);
    let b4 = bundle_all(&mut honest, None);
    let r = buyer.verify(&b4);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert!(
        failure(&r).contains("no consistency proof from the remembered checkpoint (size 5)"),
        "{}",
        failure(&r)
    );

    // The fork at the remembered size: same size, another root (four entries and the log's
    // adverse index make size 5).
    for n in [1, 2, 30, 31] {
        record(&mut fork, &release, n);
    }
    let f3 = bundle_all(&mut fork, None);
    let r = buyer.verify(&f3);
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    let msg = failure(&r);
    assert!(
        msg.starts_with("the log has shown two histories: at tree size 5"),
        "{msg}"
    );

    // The fork grown further, with a proof from its own size-5 checkpoint: the roots at size 5 differ.
    let fcp5 = fork.anchored_checkpoint().expect("checkpoint").note;
    record(&mut fork, &release, 32);
    let f4 = bundle_all(&mut fork, Some(fcp5));
    let msg = failure(&buyer.verify(&f4));
    assert!(
        msg.starts_with("the log has shown two histories: at tree size 5"),
        "{msg}"
    );

    // An honest bundle older than what the buyer remembers cannot be placed.
    let msg = failure(&buyer.verify(&b2));
    assert!(
        msg.contains("older than the remembered one (size 5)"),
        "{msg}"
    );
}

/// The memory writes through a fresh temporary file of its own: a file or link left at the
/// predictable name `<h>.tmp` is neither followed nor in the way.
#[cfg(unix)]
#[test]
fn remembering_never_writes_through_a_planted_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), ORIGIN).expect("init");
    let release = SigningKey::from_bytes(&[23; 32]);
    record(&mut ledger, &release, 1);
    let note = ledger.checkpoint().expect("checkpoint").note;
    let memory_dir = dir.path().join("memory");
    let memory = CheckpointMemory::open(&memory_dir).expect("memory");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").expect("victim");
    let h = evledger::hex::encode(&sha2::Sha256::digest(ORIGIN.as_bytes()));
    std::os::unix::fs::symlink(&victim, memory_dir.join(format!("{h}.tmp"))).expect("link");
    assert!(memory.remember(&note).expect("remember"));
    assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
    assert_eq!(
        std::fs::read_to_string(memory_dir.join(format!("{h}.checkpoint"))).expect("file"),
        note
    );
    assert_eq!(memory.recall_for(&note).expect("recall"), Some(note));
}
