//! `evledger countersign` with a lab certificate: what the ledger refuses at record time, and
//! how the buyer's verifier judges a certified signer against the trust file's X.509 roots.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use evledger::trust::TrustFile;
use evledger::verify::{Outcome, Step, Verdict, verify_integrity};

const EVLEDGER: &str = env!("CARGO_BIN_EXE_evledger");

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("keys.example")
        .join(name)
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        for key in ["lab.key", "release-engineer.key"] {
            let to = dir.path().join(key);
            std::fs::copy(example(key), &to).expect("copy key");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))
                    .expect("chmod");
            }
        }
        let f = Fixture { dir };
        f.ok(&["init", "--origin", "test.example/log"]);
        f
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

    /// Records the example firmware build and returns its entry hash.
    fn build(&self) -> String {
        let input =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/facegate/firmware-4.2.0.toml");
        let key = self.path("release-engineer.key");
        let out = self.ok(&[
            "record",
            "firmware-build",
            input.to_str().expect("path"),
            "--key",
            key.to_str().expect("path"),
            "--issuer",
            "Aurelis",
            "--subject",
            "FG3 4.2.0",
            "--iat",
            "2026-06-01T00:00:00Z",
        ]);
        out.split(' ').next().expect("hash").to_owned()
    }

    fn countersign(&self, entry: &str, extra: &[&str]) -> Output {
        let key = self.path("lab.key");
        let mut args = vec![
            "countersign",
            entry,
            "--key",
            key.to_str().expect("path"),
            "--statement",
            "Results as issued",
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn trust(&self, lab_role: &str) -> TrustFile {
        let role = format!(
            "release-engineering=firmware-build:key:{}",
            example("release-engineer.key.pub").display()
        );
        let vkey = self.ok(&[
            "trust",
            "init",
            "--out",
            self.path("t.toml").to_str().expect("path"),
            "--role",
            &role,
        ]);
        assert!(vkey.is_empty());
        let generated = std::fs::read_to_string(self.path("t.toml")).expect("trust");
        let log_line = generated
            .lines()
            .find(|l| l.starts_with("keys = "))
            .expect("log keys line");
        let release = generated
            .split("[[roles]]")
            .find(|r| r.contains("release-engineering"))
            .expect("release role");
        let text = format!("version = 1\n[log]\n{log_line}\n[[roles]]{release}\n{lab_role}\n");
        TrustFile::parse(
            &text,
            "t.toml",
            &evledger::cli::trust_file::files_beside(&example("")),
        )
        .expect("trust file")
    }

    fn bundle(&self) -> Vec<u8> {
        let out = self.path("b.cbor");
        self.ok(&["bundle", "--all", "--out", out.to_str().expect("path")]);
        std::fs::read(out).expect("bundle")
    }
}

const LAB_BY_ROOT: &str = "[[roles]]\nname = \"lab\"\nkinds = [\"countersignature\"]\nx509_roots = [\"accreditation-root-ca.pem\"]\n";

#[test]
fn certified_countersignature_verifies_against_the_accreditation_root() {
    let f = Fixture::new();
    let build = f.build();
    let cert = example("lab-cert.pem");
    let out = f.countersign(
        &build,
        &[
            "--cert",
            cert.to_str().expect("path"),
            "--iat",
            "2026-06-02T00:00:00Z",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = verify_integrity(&f.bundle(), &f.trust(LAB_BY_ROOT));
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    let signer = r
        .checks
        .iter()
        .find(|c| c.step == Step::Signer && c.entry == Some(1))
        .expect("signer check");
    assert!(signer.message.contains("chains to"), "{}", signer.message);
}

#[test]
fn a_wrong_root_fails_the_signer_check() {
    let f = Fixture::new();
    let build = f.build();
    let cert = example("lab-cert.pem");
    let out = f.countersign(
        &build,
        &[
            "--cert",
            cert.to_str().expect("path"),
            "--iat",
            "2026-06-02T00:00:00Z",
        ],
    );
    assert!(out.status.success());
    // The lab certificate itself is not a root: nothing chains to a trusted anchor.
    let role = "[[roles]]\nname = \"lab\"\nkinds = [\"countersignature\"]\nx509_roots = [\"lab-cert.pem\"]\n";
    let r = verify_integrity(&f.bundle(), &f.trust(role));
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    let fail = r
        .checks
        .iter()
        .find(|c| c.outcome == Outcome::Fail)
        .expect("a failure");
    assert_eq!((fail.step, fail.entry), (Step::Signer, Some(1)));
    assert!(
        fail.message.contains("certificate chain not trusted"),
        "{}",
        fail.message
    );
}

#[test]
fn certificate_outside_its_validity_is_refused_at_record_time() {
    let f = Fixture::new();
    let build = f.build();
    let cert = example("lab-cert.pem");
    let out = f.countersign(
        &build,
        &[
            "--cert",
            cert.to_str().expect("path"),
            "--iat",
            "2030-01-01T00:00:00Z",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not valid at the signing time 2030-01-01T00:00:00Z"),
        "{err}"
    );
    assert_eq!(
        f.ok(&["log", "--json"]).matches("\"index\"").count(),
        1,
        "nothing written"
    );
}

#[test]
fn certificate_for_another_key_is_refused() {
    let f = Fixture::new();
    let build = f.build();
    // The root CA certificate certifies the root's key, not the lab key.
    let cert = example("accreditation-root-ca.pem");
    let out = f.countersign(
        &build,
        &[
            "--cert",
            cert.to_str().expect("path"),
            "--iat",
            "2026-06-02T00:00:00Z",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the certificate is for key"), "{err}");
}

#[test]
fn uncertified_unpinned_countersigner_fails() {
    let f = Fixture::new();
    let build = f.build();
    let out = f.countersign(
        &build,
        &["--issuer", "Kestrel", "--iat", "2026-06-02T00:00:00Z"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = verify_integrity(&f.bundle(), &f.trust(LAB_BY_ROOT));
    assert_eq!(r.verdict, Verdict::VerificationFailed);
    assert!(r.checks.iter().any(|c| c.entry == Some(1)
        && c.outcome == Outcome::Fail
        && c.message.contains("not pinned")));
}

#[test]
fn countersign_needs_an_issuer_without_a_certificate() {
    let f = Fixture::new();
    let build = f.build();
    let out = f.countersign(&build, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: --issuer is required without --cert\nhint: "),
        "{err}"
    );
}
