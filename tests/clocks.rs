//! Clocks a signer cannot forge: a certificate is judged at the time witnesses attest the entry
//! was in the log, a profile can require that time, and every time judgement names its clock
//! (`specs/verification.md`, "Certificates and clocks"; `specs/policy.md`, "Clocks").

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use evledger::bundle::Bundle;
use evledger::evidence::{Evidence, InputFormat};
use evledger::export::{self, BundleOptions, Selection};
use evledger::ledger::{Ledger, Signer};
use evledger::note::{CosignatureSigner, Note};
use evledger::policy::Profile;
use evledger::time::parse_rfc3339;
use evledger::trust::TrustFile;
use evledger::verify::{
    Check, Clock, Outcome, Report, Step, Verdict, verify_bundle, verify_integrity,
};

const EVLEDGER: &str = env!("CARGO_BIN_EXE_evledger");
const EX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/facegate/");

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("keys.example")
        .join(name)
}

fn witness() -> CosignatureSigner {
    CosignatureSigner::new("witness.example/w1", SigningKey::from_bytes(&[32; 32]))
        .expect("witness")
}

/// `bundle` with the witness's cosignature at time `t` on its checkpoint.
fn cosigned(bundle: &[u8], t: u64) -> Vec<u8> {
    let mut b = Bundle::parse(bundle, &Default::default()).expect("bundle");
    let mut note = Note::parse(&b.checkpoint).expect("note");
    note.add_signature(witness().sign(note.text(), t).expect("cosign"));
    b.checkpoint = note.to_text();
    b.to_cbor()
}

fn profile(rule: &str) -> Profile {
    Profile::parse(&format!(
        "format = \"evledger-profile/1\"\nid = \"t\"\nversion = \"1\"\ntitle = \"t\"\n[[rule]]\n{rule}"
    ))
    .expect("profile")
}

fn only(r: &Report, step: Step, entry: Option<u64>) -> &Check {
    let mut it = r
        .checks
        .iter()
        .filter(|c| c.step == step && c.entry == entry);
    let c = it.next().expect("a check");
    assert!(it.next().is_none(), "one check");
    c
}

/// A ledger with a firmware build countersigned by the example lab, whose certificate
/// (`keys.example/lab-cert.pem`) is valid from 2026-01-01 to 2029-01-01. The countersignature's
/// iat is 2026-06-02, inside that period, whenever it was really made.
struct Lab {
    dir: tempfile::TempDir,
    log: String,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in ["lab.key", "release-engineer.key"] {
            let to = dir.path().join(f);
            std::fs::copy(example(f), &to).expect("copy key");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        std::fs::copy(
            example("accreditation-root-ca.pem"),
            dir.path().join("accreditation-root-ca.pem"),
        )
        .expect("copy root");
        let mut lab = Lab {
            dir,
            log: String::new(),
        };
        lab.log = lab
            .ok(&["init", "--origin", "test.example/log"])
            .trim()
            .to_owned();
        let build = lab.ok(&[
            "record",
            "firmware-build",
            &format!("{EX}firmware-4.2.0.toml"),
            "--key",
            lab.path("release-engineer.key").to_str().expect("path"),
            "--issuer",
            "Aurelis",
            "--subject",
            "FG3 4.2.0",
            "--iat",
            "2026-06-01T00:00:00Z",
        ]);
        let build = build.split(' ').next().expect("hash").to_owned();
        lab.ok(&[
            "countersign",
            &build,
            "--key",
            lab.path("lab.key").to_str().expect("path"),
            "--statement",
            "Results as issued",
            "--cert",
            example("lab-cert.pem").to_str().expect("path"),
            "--iat",
            "2026-06-02T00:00:00Z",
        ]);
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(EVLEDGER)
            .args(args)
            .arg("--ledger")
            .arg(self.path("ledger"))
            .output()
            .expect("run evledger")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn bundle(&self) -> Vec<u8> {
        let out = self.path("b.cbor");
        self.ok(&["bundle", "--all", "--out", out.to_str().expect("path")]);
        std::fs::read(out).expect("bundle")
    }

    /// A trust file with the release key, the lab role by the accreditation root, and the
    /// witness with `quorum`; it names `profiles` (files in the test directory).
    fn trust_text(&self, quorum: usize, profiles: &[&str]) -> String {
        let release = B64.encode(
            std::fs::read_to_string(example("release-engineer.key.pub"))
                .map(|pem| pem_key(&pem))
                .expect("release key"),
        );
        let names: Vec<String> = profiles.iter().map(|p| format!("{p:?}")).collect();
        format!(
            "version = 1\nprofiles = [{}]\n[log]\nkeys = [\"{}\"]\n[witnesses]\nquorum = {quorum}\nkeys = [\"{}\"]\n\
             [[roles]]\nname = \"release-engineering\"\nkinds = [\"firmware-build\"]\npublic_keys = [\"{release}\"]\n\
             [[roles]]\nname = \"lab\"\nkinds = [\"countersignature\"]\nx509_roots = [\"accreditation-root-ca.pem\"]\n",
            names.join(", "),
            self.log,
            witness().verifier(),
        )
    }

    fn trust(&self, quorum: usize) -> TrustFile {
        TrustFile::parse(
            &self.trust_text(quorum, &[]),
            "t.toml",
            &evledger::cli::trust_file::files_beside(self.dir.path()),
        )
        .expect("trust file")
    }
}

/// The 32 raw bytes of an Ed25519 SubjectPublicKeyInfo PEM.
fn pem_key(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = B64.decode(b64).expect("base64");
    der[der.len() - 32..].to_vec()
}

fn t(s: &str) -> u64 {
    u64::try_from(parse_rfc3339(s).expect("time")).expect("positive")
}

#[test]
fn a_back_dated_countersignature_by_an_expired_lab_certificate_fails_when_witnessed() {
    let lab = Lab::new();
    // The lab certificate expired on 2029-01-01; the countersignature says 2026-06-02, but the
    // witness first saw it in the log in 2029: the holder of an expired key signed it.
    let late = cosigned(&lab.bundle(), t("2029-06-01T00:00:00Z"));
    let r = verify_integrity(&late, &lab.trust(1));
    assert_eq!(r.verdict, Verdict::VerificationFailed, "{}", r.render());
    let signer = only(&r, Step::Signer, Some(1));
    assert_eq!(signer.outcome, Outcome::Fail);
    assert_eq!(signer.clock, Some(Clock::Witnessed));
    assert!(
        signer.message.starts_with(
            "certificate chain not trusted at the witnessed time 2029-06-01T00:00:00Z, by which the entry was in the log (clock: witnessed): "
        ) && signer.message.contains("expired at 2029-01-01T00:00:00Z"),
        "{}",
        signer.message
    );

    // Witnessed while the certificate was valid, the same entry verifies, and says by which clock.
    let r = verify_integrity(
        &cosigned(&lab.bundle(), t("2026-06-03T00:00:00Z")),
        &lab.trust(1),
    );
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    let signer = only(&r, Step::Signer, Some(1));
    assert_eq!(signer.clock, Some(Clock::Witnessed));
    assert!(
        signer.message.contains(
            "at the witnessed time 2026-06-03T00:00:00Z, by which the entry was in the log, and at iat 2026-06-02T00:00:00Z; clock: witnessed"
        ),
        "{}",
        signer.message
    );
    assert!(r.to_json().contains("\"clock\": \"witnessed\""));
}

#[test]
fn without_a_witnessed_time_the_certificate_is_checked_at_the_self_asserted_iat() {
    let lab = Lab::new();
    let r = verify_integrity(&lab.bundle(), &lab.trust(0));
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    let signer = only(&r, Step::Signer, Some(1));
    assert_eq!(signer.clock, Some(Clock::SelfAsserted));
    assert!(
        signer
            .message
            .ends_with("at iat 2026-06-02T00:00:00Z; clock: self-asserted iat, no witnessed time)"),
        "{}",
        signer.message
    );
    assert!(r.to_json().contains("\"clock\": \"self-asserted\""));
    assert!(
        r.render()
            .contains("clock: self-asserted iat, no witnessed time")
    );
}

#[test]
fn a_profile_can_require_a_witnessed_time_for_certificates() {
    let lab = Lab::new();
    let rule = profile(
        "id = \"cert-time\"\ntype = \"certificate-time\"\ncitation = \"buyer's procurement rule 4\"\nclock = \"witnessed\"\n",
    );
    // No cosignature: the certificate was only checked at its iat, which the rule refuses.
    let r = verify_bundle(&lab.bundle(), &lab.trust(0), std::slice::from_ref(&rule));
    assert_eq!(r.verdict, Verdict::PolicyNotMet, "{}", r.render());
    let c = only(&r, Step::Policy, Some(1));
    assert_eq!(
        (c.outcome, c.clock),
        (Outcome::Fail, Some(Clock::SelfAsserted))
    );
    assert!(
        c.message.starts_with(
            "cert-time: the signer's certificate was checked only at its self-asserted iat"
        ),
        "{}",
        c.message
    );
    // Cosigned while the certificate was valid: the rule is met.
    let r = verify_bundle(
        &cosigned(&lab.bundle(), t("2026-06-03T00:00:00Z")),
        &lab.trust(1),
        &[rule],
    );
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    let c = only(&r, Step::Policy, Some(1));
    assert_eq!(
        (c.outcome, c.clock),
        (Outcome::Pass, Some(Clock::Witnessed))
    );

    // witnessed-if-present accepts the fallback, and says the signer's own clock decided.
    let lenient = profile(
        "id = \"cert-time\"\ntype = \"certificate-time\"\ncitation = \"c\"\nclock = \"witnessed-if-present\"\n",
    );
    let r = verify_bundle(&lab.bundle(), &lab.trust(0), &[lenient]);
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    assert!(
        only(&r, Step::Policy, Some(1))
            .message
            .contains("so the signer's own clock decided")
    );
}

#[test]
fn clocks_a_rule_cannot_judge_by_are_refused_with_the_profile() {
    let err = |rule: &str| {
        Profile::parse(&format!(
            "format = \"evledger-profile/1\"\nid = \"t\"\nversion = \"1\"\ntitle = \"t\"\n[[rule]]\n{rule}"
        ))
        .unwrap_err()
    };
    assert!(
        err("id = \"r\"\ntype = \"incident-notification\"\ncitation = \"c\"\nregime = \"GDPR-Art33\"\nregions = [\"EU\"]\ndeadline_hours = 72\nclock = \"logged\"\n")
            .starts_with("rule[0].clock: \"logged\" cannot judge a deadline in hours")
    );
    assert!(
        err(
            "id = \"r\"\ntype = \"certificate-time\"\ncitation = \"c\"\nclock = \"self-asserted\"\n"
        )
        .starts_with("rule[0].clock: \"self-asserted\" is not a clock this rule accepts")
    );
}

const CERT_TIME_WITNESSED: &str = "format = \"evledger-profile/1\"\nid = \"t\"\nversion = \"1\"\ntitle = \"t\"\n[[rule]]\nid = \"cert-time\"\ntype = \"certificate-time\"\ncitation = \"c\"\nclock = \"witnessed\"\n";

#[test]
fn a_witnessed_clock_with_quorum_0_makes_the_trust_file_unusable() {
    let lab = Lab::new();
    std::fs::write(lab.path("p.toml"), CERT_TIME_WITNESSED).expect("profile");
    let read = evledger::cli::trust_file::files_beside(lab.dir.path());
    let err = TrustFile::parse(&lab.trust_text(0, &["p.toml"]), "t.toml", &read)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("profiles[0]: p.toml: rule[0].clock: \"witnessed\" needs witnesses, but this trust file's witnesses.quorum is 0"),
        "{err}"
    );
    assert!(TrustFile::parse(&lab.trust_text(1, &["p.toml"]), "t.toml", &read).is_ok());

    // The command line: exit code 2, before any bundle is read.
    std::fs::write(lab.path("t.toml"), lab.trust_text(0, &["p.toml"])).expect("trust");
    let out = Command::new(EVLEDGER)
        .args(["verify", "missing.cbor", "--trust"])
        .arg(lab.path("t.toml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs witnesses"));
}

/// aware_at of the example incident, 2026-04-20T15:40:00Z; it says it notified 42h35m later.
const AWARE_AT: u64 = 1_776_699_600;

/// A bundle with the example incident (notification sent_at within 72 h) and the trust text
/// for its signer with the witness at `quorum`.
fn incident_bundle(dir: &Path) -> (Vec<u8>, impl Fn(usize) -> String) {
    let mut ledger = Ledger::init(&dir.join("l"), "aurelis.example/log").expect("init");
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
    let log = ledger.log_verifier().expect("vkey").to_string();
    let public = B64.encode(key.verifying_key().to_bytes());
    let trust = move |quorum: usize| {
        format!(
            "version = 1\n[log]\nkeys = [\"{log}\"]\n[witnesses]\nquorum = {quorum}\nkeys = [\"{}\"]\n[[roles]]\nname = \"product-legal\"\nkinds = [\"firmware-build\", \"incident\"]\npublic_keys = [\"{public}\"]\n",
            witness().verifier()
        )
    };
    (bundle.to_cbor(), trust)
}

fn notification_rule(clock: &str) -> Profile {
    profile(&format!(
        "id = \"art33\"\ntype = \"incident-notification\"\ncitation = \"GDPR Art. 33(1)\"\nregime = \"GDPR-Art33\"\nregions = [\"EU\", \"DE\"]\ndeadline_hours = 72\nclock = \"{clock}\"\n"
    ))
}

#[test]
fn deleting_the_cosignature_cannot_bring_back_the_self_asserted_sent_at_under_the_witnessed_clock()
{
    let dir = tempfile::tempdir().expect("tempdir");
    let (bundle, trust) = incident_bundle(dir.path());
    let parse = |text: String| {
        TrustFile::parse(&text, "t.toml", &|n: &str| {
            Err(format!("{n}: not available"))
        })
        .expect("trust")
    };
    // The witness first saw the incident record 100 h after aware-at: the notification record
    // was not in the log by the 72 h deadline, whatever sent_at says.
    let late = cosigned(&bundle, AWARE_AT + 100 * 3600);

    // witnessed-if-present with quorum 0: deleting the cosignature line turns "policy not met"
    // into "verified". The report says plainly that the exporter's clock decided.
    let lenient = notification_rule("witnessed-if-present");
    let r = verify_bundle(&late, &parse(trust(0)), std::slice::from_ref(&lenient));
    assert_eq!(r.verdict, Verdict::PolicyNotMet, "{}", r.render());
    let r = verify_bundle(&bundle, &parse(trust(0)), &[lenient]);
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    let c = only(&r, Step::Policy, Some(2));
    assert_eq!(c.clock, Some(Clock::SelfAsserted));
    assert!(
        c.message.contains(
            "(self-asserted sent_at: no witnessed time, so the exporter's own clock decided)"
        ),
        "{}",
        c.message
    );

    // witnessed: the same deletion fails, and with the line in place the late record fails too.
    let strict = notification_rule("witnessed");
    let r = verify_bundle(&bundle, &parse(trust(1)), std::slice::from_ref(&strict));
    assert_ne!(r.verdict, Verdict::Verified, "{}", r.render());
    let c = only(&r, Step::Policy, Some(2));
    assert_eq!(
        (c.outcome, c.clock),
        (Outcome::Fail, Some(Clock::Witnessed))
    );
    assert!(
        c.message.contains(
            "has no witnessed time, and the clock \"witnessed\" accepts no self-asserted sent_at"
        ),
        "{}",
        c.message
    );
    let r = verify_bundle(&late, &parse(trust(1)), std::slice::from_ref(&strict));
    assert_eq!(r.verdict, Verdict::PolicyNotMet, "{}", r.render());
    // In time, witnessed: met.
    let r = verify_bundle(
        &cosigned(&bundle, AWARE_AT + 40 * 3600),
        &parse(trust(1)),
        &[strict],
    );
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    assert_eq!(
        only(&r, Step::Policy, Some(2)).clock,
        Some(Clock::Witnessed)
    );
}
