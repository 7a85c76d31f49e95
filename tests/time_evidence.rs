//! Time evidence: witness cosignature timestamps show when entries were in the log, and the
//! incident profile can check notification deadlines against that witnessed time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use evledger::bundle::Bundle;
use evledger::evidence::{Evidence, InputFormat};
use evledger::export::{self, BundleOptions, Selection};
use evledger::ledger::{Ledger, Signer};
use evledger::note::{CosignatureSigner, Note};
use evledger::policy::Profile;
use evledger::trust::TrustFile;
use evledger::verify::{Outcome, Report, Step, Verdict, verify_bundle};

const EX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/facegate/");
/// aware_at of the example incident, 2026-04-20T15:40:00Z.
const AWARE_AT: u64 = 1_776_699_600;

struct Story {
    _dir: tempfile::TempDir,
    bundle: Bundle,
    witness: CosignatureSigner,
    trust: String,
}

fn story() -> Story {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ledger = Ledger::init(&dir.path().join("l"), "aurelis.example/log").expect("init");
    let key = SigningKey::from_bytes(&[31; 32]);
    let signer = Signer {
        key: &key,
        issuer: "Aurelis",
        subject: "FG3",
        x5chain: Vec::new(),
    };
    let read = |f: &str| std::fs::read_to_string(format!("{EX}{f}")).expect("example");
    let fw = |f: &str| {
        Evidence::from_input("firmware-build", &read(f), InputFormat::Toml).expect("build")
    };
    let b1 = ledger
        .record(&fw("firmware-4.2.0.toml"), &signer, 1_776_000_000)
        .expect("record");
    let b2 = ledger
        .record(&fw("firmware-4.2.1.toml"), &signer, 1_776_000_001)
        .expect("record");
    let text = read("incident-aur-2026-014.toml")
        .replace("@FW_420@", &evledger::hex::encode(&b1.entry_hash))
        .replace("@FW_421@", &evledger::hex::encode(&b2.entry_hash));
    let inc = Evidence::from_input("incident", &text, InputFormat::Toml).expect("incident");
    ledger
        .record(&inc, &signer, AWARE_AT + 3600)
        .expect("record");
    let sel = Selection {
        all: true,
        entries: Vec::new(),
    };
    let bundle = export::build(&mut ledger, &sel, &BundleOptions::default()).expect("bundle");
    let witness = CosignatureSigner::new("witness.example/w1", SigningKey::from_bytes(&[32; 32]))
        .expect("witness");
    let trust = format!(
        "version = 1\n[log]\nkeys = [\"{}\"]\n[witnesses]\nquorum = 1\nkeys = [\"{}\"]\n[[roles]]\nname = \"product-legal\"\nkinds = [\"firmware-build\", \"incident\"]\npublic_keys = [\"{}\"]\n",
        ledger.log_verifier().expect("vkey"),
        witness.verifier(),
        B64.encode(key.verifying_key().to_bytes())
    );
    Story {
        _dir: dir,
        bundle,
        witness,
        trust,
    }
}

impl Story {
    /// The bundle with the witness's cosignature at time `t` on its checkpoint.
    fn cosigned(&self, t: u64) -> Vec<u8> {
        let mut b = self.bundle.clone();
        let mut note = Note::parse(&b.checkpoint).expect("note");
        let sig = self.witness.sign(note.text(), t).expect("cosign");
        note.add_signature(sig);
        b.checkpoint = note.to_text();
        b.to_cbor()
    }

    fn verify(&self, bytes: &[u8], clock: &str) -> Report {
        let trust = TrustFile::parse(&self.trust, "t.toml", &|n: &str| {
            Err(format!("{n}: not available"))
        })
        .expect("trust");
        let profile = Profile::parse(&format!(
            "format = \"evledger-profile/1\"\nid = \"t\"\nversion = \"1\"\ntitle = \"t\"\n[[rule]]\nid = \"art33\"\ntype = \"incident-notification\"\ncitation = \"GDPR Art. 33(1)\"\nregime = \"GDPR-Art33\"\nregions = [\"EU\", \"DE\"]\ndeadline_hours = 72\nclock = \"{clock}\"\n"
        ))
        .expect("profile");
        verify_bundle(bytes, &trust, &[profile])
    }
}

fn policy_message(r: &Report) -> (Outcome, String) {
    let c = r
        .checks
        .iter()
        .find(|c| c.step == Step::Policy)
        .expect("a policy check");
    (c.outcome, c.message.clone())
}

#[test]
fn every_entry_reports_its_witnessed_time() {
    let s = story();
    let t = AWARE_AT + 10 * 3600;
    let r = s.verify(&s.cosigned(t), "self-asserted");
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    assert!(r.entries.iter().all(|e| e.witnessed_at == Some(t)));
    assert!(
        r.render()
            .contains("in the log by 2026-04-21T01:40:00Z (witnessed)")
    );
}

#[test]
fn an_entry_not_proved_in_the_log_inherits_no_witnessed_time() {
    // The witnesses saw the checkpoint, and so every entry really at those indexes; an entry
    // whose inclusion proof fails is not shown to be one of them, whatever its index.
    let s = story();
    let t = AWARE_AT + 10 * 3600;
    let mut b = Bundle::parse(&s.cosigned(t), &Default::default()).expect("bundle");
    b.entries[2].proof[0][0] ^= 0x01;
    let r = s.verify(&b.to_cbor(), "witnessed-if-present");
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    let at: Vec<Option<u64>> = r.entries.iter().map(|e| e.witnessed_at).collect();
    assert_eq!(at, [Some(t), Some(t), None]);
    let text = r.render();
    let entry2 = &text[text.find("entry 2 ").expect("entry 2 listed")..];
    assert!(
        entry2.contains("    no witnessed time: not proved to be in the log\n"),
        "{text}"
    );
    assert_eq!(
        text.matches("not proved to be in the log").count(),
        1,
        "only entry 2 says so: {text}"
    );
    let json = serde_json::to_value(&r).expect("json");
    assert!(json["entries"][2].get("witnessed_at").is_none(), "{json}");
    assert_eq!(json["entries"][1]["witnessed_at"], t);
}

#[test]
fn no_witnessed_time_without_a_trusted_cosignature() {
    let s = story();
    let r = s.verify(&s.bundle.to_cbor(), "witnessed-if-present");
    // The quorum of one is not met, and no time is claimed.
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert!(r.entries.iter().all(|e| e.witnessed_at.is_none()));
}

#[test]
fn deadline_checked_against_witnessed_time_when_asked() {
    let s = story();
    // Witnessed 40 h after aware-at: the notification record was in the log in time.
    let (o, m) =
        policy_message(&s.verify(&s.cosigned(AWARE_AT + 40 * 3600), "witnessed-if-present"));
    assert_eq!(o, Outcome::Pass, "{m}");
    assert!(m.contains("(witnessed time), 40h00m after aware-at"), "{m}");
    // Witnessed 100 h after: sent_at says 42 h, but nothing shows the record existed in time.
    let (o, m) =
        policy_message(&s.verify(&s.cosigned(AWARE_AT + 100 * 3600), "witnessed-if-present"));
    assert_eq!(o, Outcome::Fail, "{m}");
    assert!(m.contains("too late whatever sent_at says"), "{m}");
    // The self-asserted clock trusts sent_at and says so.
    let (o, m) = policy_message(&s.verify(&s.cosigned(AWARE_AT + 100 * 3600), "self-asserted"));
    assert_eq!(o, Outcome::Pass, "{m}");
    assert!(m.contains("(self-asserted sent_at)"), "{m}");
}

#[test]
fn a_witness_key_listed_twice_is_refused() {
    let s = story();
    let line = s
        .trust
        .lines()
        .find(|l| l.starts_with("keys = [\"witness"))
        .expect("witness keys");
    let key = line.trim_start_matches("keys = [").trim_end_matches(']');
    let twice = s
        .trust
        .replace(line, &format!("keys = [{key}, {key}]"))
        .replace("quorum = 1", "quorum = 2");
    let err = TrustFile::parse(&twice, "t.toml", &|n: &str| {
        Err(format!("{n}: not available"))
    })
    .expect_err("duplicate witness");
    assert!(
        err.to_string()
            .contains("witnesses.keys[1]: lists a witness key twice"),
        "{err}"
    );
}
