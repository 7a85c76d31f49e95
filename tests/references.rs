//! Citations between ledger entries: `Ledger::record` refuses evidence that cites an entry that
//! is not in the ledger or is of a kind the citing field does not allow, writes nothing then,
//! and records the FaceGate chain (builds, lab result, countersignature, claims, incident).
#![cfg(feature = "store")]

use ed25519_dalek::SigningKey;

use evledger::evidence::{Evidence, InputFormat};
use evledger::hex;
use evledger::keys;
use evledger::ledger::{Ledger, LedgerError, Signer};
use evledger::store::StoreRead;

/// A fresh ledger in a temporary directory, with one signing key.
struct Fixture {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    key: SigningKey,
    iat: u64,
}

/// Entry hashes of the FaceGate chain, hex.
#[derive(Default)]
struct Chain {
    fw420: String,
    fw421: String,
    lab: String,
    csig: String,
    claim: String,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::init(&dir.path().join("ledger"), "test.example/log").expect("init");
        Fixture {
            _dir: dir,
            ledger,
            key: keys::generate().expect("key"),
            iat: 1_780_000_000,
        }
    }

    fn size(&self) -> u64 {
        self.ledger.store().size().expect("size")
    }

    /// Records an example with its placeholders replaced as given; returns the entry hash (hex).
    fn record(
        &mut self,
        kind: &str,
        file: &str,
        fills: &[(&str, &str)],
    ) -> Result<String, LedgerError> {
        let path = format!("{}/examples/facegate/{file}", env!("CARGO_MANIFEST_DIR"));
        let mut text = std::fs::read_to_string(&path).expect("example");
        for (placeholder, hash) in fills {
            text = text.replace(placeholder, hash);
        }
        assert!(!text.contains('@'), "{file}: unfilled placeholder");
        self.record_text(kind, file, &text)
    }

    /// Records evidence given as TOML text; returns the entry hash (hex).
    fn record_text(&mut self, kind: &str, file: &str, text: &str) -> Result<String, LedgerError> {
        let evidence = Evidence::from_input(kind, text, InputFormat::Toml)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        // Distinct signing times keep otherwise identical statements distinct.
        self.iat += 1;
        let signer = Signer {
            key: &self.key,
            issuer: "Aurelis Security Systems",
            subject: file,
            x5chain: Vec::new(),
        };
        let rec = self.ledger.record(&evidence, &signer, self.iat)?;
        Ok(hex::encode(&rec.entry_hash))
    }

    /// Records the whole FaceGate chain up to and including the Level 2 claim.
    fn chain(&mut self) -> Chain {
        let mut c = Chain::default();
        c.fw420 = self.ok("firmware-build", "firmware-4.2.0.toml", &[]);
        c.fw421 = self.ok("firmware-build", "firmware-4.2.1.toml", &[]);
        c.lab = self.ok("lab-result", LAB, &[("@FW_420@", &c.fw420)]);
        c.csig = self.ok("countersignature", CSIG, &[("@LAB_RESULT@", &c.lab)]);
        c.claim = self.ok("claim", CLAIM, &claim_fills(&c));
        c
    }

    fn ok(&mut self, kind: &str, file: &str, fills: &[(&str, &str)]) -> String {
        self.record(kind, file, fills)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    /// Records an example that must be refused at `path` with `reason`, and checks nothing was written.
    fn refused(
        &mut self,
        kind: &str,
        file: &str,
        fills: &[(&str, &str)],
        path: &str,
        reason: &str,
    ) {
        let before = self.size();
        match self.record(kind, file, fills) {
            Err(LedgerError::Reference { path: p, reason: r }) => {
                assert_eq!((p.as_str(), r.as_str()), (path, reason), "{file}");
            }
            other => panic!("{file}: expected a reference error, got {other:?}"),
        }
        assert_eq!(self.size(), before, "{file}: something was written");
    }
}

const LAB: &str = "lab-result-pad-l2.toml";
const CSIG: &str = "countersignature-lab.toml";
const CLAIM: &str = "claim-pad-level2.toml";
const OVERCLAIM: &str = "claim-pad-level3-overclaim.toml";
const INCIDENT: &str = "incident-aur-2026-014.toml";

/// An entry hash that is not in any ledger here.
const ABSENT: &str = "5555555555555555555555555555555555555555555555555555555555555555";

fn claim_fills(c: &Chain) -> [(&'static str, &str); 4] {
    [
        ("@FW_420@", &c.fw420),
        ("@FW_421@", &c.fw421),
        ("@LAB_RESULT@", &c.lab),
        ("@COUNTERSIG@", &c.csig),
    ]
}

#[test]
fn the_facegate_chain_records() {
    let mut f = Fixture::new();
    let c = f.chain();
    f.ok("claim", OVERCLAIM, &claim_fills(&c));
    let inc = f.ok(
        "incident",
        INCIDENT,
        &[("@FW_420@", &c.fw420), ("@FW_421@", &c.fw421)],
    );
    assert_eq!(f.size(), 7);
    let kinds: Vec<String> = (0..7)
        .map(|i| f.ledger.store().entry(i).expect("entry").kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "firmware-build",
            "firmware-build",
            "lab-result",
            "countersignature",
            "claim",
            "claim",
            "incident"
        ]
    );
    assert_eq!(
        hex::encode(&f.ledger.store().entry(6).expect("entry").entry_hash),
        inc
    );
}

#[test]
fn lab_result_citing_a_missing_build_is_refused_and_nothing_is_written() {
    let mut f = Fixture::new();
    f.refused(
        "lab-result",
        LAB,
        &[("@FW_420@", ABSENT)],
        "target.build",
        &format!("entry {ABSENT} is not in the ledger"),
    );
    assert_eq!(f.size(), 0);
}

#[test]
fn lab_result_targeting_a_lab_result_is_refused_with_the_kind_named() {
    let mut f = Fixture::new();
    let c = f.chain();
    f.refused(
        "lab-result",
        LAB,
        &[("@FW_420@", &c.lab)],
        "target.build",
        &format!("entry {} is a lab-result, expected firmware-build", c.lab),
    );
}

#[test]
fn claim_evidence_citing_a_claim_is_refused() {
    let mut f = Fixture::new();
    let c = f.chain();
    f.refused(
        "claim",
        OVERCLAIM,
        &[
            ("@FW_420@", &c.fw420),
            ("@FW_421@", &c.fw421),
            ("@LAB_RESULT@", &c.claim),
            ("@COUNTERSIG@", &c.csig),
        ],
        "evidence[0]",
        &format!(
            "entry {} is a claim, expected lab-result or accuracy-result or certification or countersignature or firmware-build or incident",
            c.claim
        ),
    );
}

#[test]
fn claim_applying_to_a_lab_result_as_a_build_is_refused() {
    let mut f = Fixture::new();
    let c = f.chain();
    f.refused(
        "claim",
        OVERCLAIM,
        &[
            ("@FW_420@", &c.fw420),
            ("@FW_421@", &c.lab),
            ("@LAB_RESULT@", &c.lab),
            ("@COUNTERSIG@", &c.csig),
        ],
        "applies_to.builds[1]",
        &format!("entry {} is a lab-result, expected firmware-build", c.lab),
    );
}

#[test]
fn claim_with_one_missing_evidence_entry_is_refused_at_that_entry() {
    let mut f = Fixture::new();
    let c = f.chain();
    f.refused(
        "claim",
        OVERCLAIM,
        &[
            ("@FW_420@", &c.fw420),
            ("@FW_421@", &c.fw421),
            ("@LAB_RESULT@", &c.lab),
            ("@COUNTERSIG@", ABSENT),
        ],
        "evidence[1]",
        &format!("entry {ABSENT} is not in the ledger"),
    );
}

/// The Level 3 claim, changed to supersede `supersedes`.
fn superseding_claim(c: &Chain, supersedes: &str) -> Evidence {
    let path = format!(
        "{}/examples/facegate/{OVERCLAIM}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = std::fs::read_to_string(path).expect("example");
    for (p, h) in claim_fills(c) {
        text = text.replace(p, h);
    }
    text = text.replacen(
        "\n[[channels]]",
        &format!("supersedes = \"{supersedes}\"\n\n[[channels]]"),
        1,
    );
    Evidence::from_input("claim", &text, InputFormat::Toml).expect("valid claim")
}

#[test]
fn claim_supersedes_only_a_claim() {
    let mut f = Fixture::new();
    let c = f.chain();
    let key = f.key.clone();
    let signer = Signer {
        key: &key,
        issuer: "Aurelis Security Systems",
        subject: "Claim CLM-FG3-PAD-003",
        x5chain: Vec::new(),
    };
    let before = f.size();
    let err = f
        .ledger
        .record(&superseding_claim(&c, &c.lab), &signer, f.iat + 1)
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        format!(
            "supersedes: entry {} is a lab-result, expected claim",
            c.lab
        )
    );
    assert_eq!(f.size(), before);
    f.ledger
        .record(&superseding_claim(&c, &c.claim), &signer, f.iat + 1)
        .expect("a claim may supersede a claim");
    assert_eq!(f.size(), before + 1);
}

#[test]
fn countersignature_of_a_countersignature_is_refused() {
    let mut f = Fixture::new();
    let c = f.chain();
    f.refused(
        "countersignature",
        CSIG,
        &[("@LAB_RESULT@", &c.csig)],
        "target",
        &format!(
            "entry {} is a countersignature, expected lab-result or accuracy-result or certification or firmware-build or claim or incident or hr-due-diligence or end-use-check",
            c.csig
        ),
    );
}

#[test]
fn countersignatures_may_endorse_builds_claims_and_incidents() {
    let mut f = Fixture::new();
    let c = f.chain();
    let inc = f.ok(
        "incident",
        INCIDENT,
        &[("@FW_420@", &c.fw420), ("@FW_421@", &c.fw421)],
    );
    for target in [&c.fw421, &c.claim, &inc] {
        f.ok("countersignature", CSIG, &[("@LAB_RESULT@", target)]);
    }
}

#[test]
fn incident_fix_build_must_be_a_firmware_build() {
    let mut f = Fixture::new();
    let c = f.chain();
    f.refused(
        "incident",
        INCIDENT,
        &[("@FW_420@", &c.fw420), ("@FW_421@", &c.claim)],
        "remediation.fix_build",
        &format!("entry {} is a claim, expected firmware-build", c.claim),
    );
}

#[test]
fn incident_affecting_a_missing_build_is_refused() {
    let mut f = Fixture::new();
    let c = f.chain();
    f.refused(
        "incident",
        INCIDENT,
        &[("@FW_420@", ABSENT), ("@FW_421@", &c.fw421)],
        "affected.builds[0]",
        &format!("entry {ABSENT} is not in the ledger"),
    );
}

/// The verifier's `remediation.fix_build` checks for an incident affecting `affected` with the
/// fix `fix` (entry hashes, hex): (passed, message) each.
fn fix_checks(f: &mut Fixture, affected: &str, fix: &str) -> Vec<(bool, String)> {
    use base64::Engine as _;
    use evledger::export::{self, BundleOptions, Selection};
    use evledger::verify::{Outcome, verify_integrity};
    let fills = [("@FW_420@", affected), ("@FW_421@", fix)];
    if let Err(e) = f.record("incident", INCIDENT, &fills) {
        // Registration refuses such a fix; a log that holds one anyway (a hostile or older
        // ledger) must still be caught by the verifier, so append it past registration.
        assert!(
            matches!(&e, LedgerError::Reference { path, .. } if path == "remediation.fix_build"),
            "{e}"
        );
        let path = format!(
            "{}/examples/facegate/{INCIDENT}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path)
            .expect("example")
            .replace("@FW_420@", affected)
            .replace("@FW_421@", fix);
        let evidence = Evidence::from_input("incident", &text, InputFormat::Toml).expect("input");
        f.iat += 1;
        let signer = Signer {
            key: &f.key,
            issuer: "Aurelis Security Systems",
            subject: INCIDENT,
            x5chain: Vec::new(),
        };
        let entry = evledger::ledger::new_entry(&evidence, &signer, f.iat).expect("sign");
        f.ledger.append(&[entry]).expect("append");
    }
    let text = format!(
        "version = 1\n[log]\nkeys = [\"{}\"]\n[[roles]]\nname = \"vendor\"\nkinds = [\"firmware-build\", \"lab-result\", \"countersignature\", \"claim\", \"incident\"]\npublic_keys = [\"{}\"]\n",
        f.ledger.log_verifier().expect("log key"),
        base64::engine::general_purpose::STANDARD.encode(f.key.verifying_key().to_bytes())
    );
    let trust = evledger::trust::TrustFile::parse(&text, "t.toml", &|n: &str| {
        Err(format!("{n}: not available"))
    })
    .expect("trust");
    let sel = Selection {
        all: true,
        entries: Vec::new(),
    };
    let b = export::build(&mut f.ledger, &sel, &BundleOptions::default()).expect("bundle");
    verify_integrity(&b.to_cbor(), &trust)
        .checks
        .iter()
        .filter(|c| c.field.as_deref() == Some("remediation.fix_build"))
        .filter(|c| !c.message.starts_with("cites entry"))
        .map(|c| (c.outcome == Outcome::Pass, c.message.clone()))
        .collect()
}

/// Firmware 4.2.1 with `from` replaced by `to`.
fn fw421_with(from: &str, to: &str) -> String {
    let path = format!(
        "{}/examples/facegate/firmware-4.2.1.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).expect("example");
    assert!(text.contains(from), "{from}");
    text.replace(from, to)
}

#[test]
fn the_verifier_accepts_a_later_build_of_the_same_product_as_the_fix() {
    let mut f = Fixture::new();
    let c = f.chain();
    let checks = fix_checks(&mut f, &c.fw420, &c.fw421);
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert!(checks[0].0, "{checks:?}");
    assert!(
        checks[0]
            .1
            .starts_with("is a later build of the same product as affected.builds[0]"),
        "{checks:?}"
    );
}

#[test]
fn the_verifier_refuses_a_fix_that_is_not_a_later_build_of_the_same_product() {
    let cases: [(&str, &str, &str); 4] = [
        (
            "family = \"FaceGate 3D\"",
            "family = \"PalmGate\"",
            "the fix is a build of Aurelis Security Systems PalmGate, not of the affected product Aurelis Security Systems FaceGate 3D",
        ),
        (
            "vendor = \"Aurelis Security Systems\"",
            "vendor = \"Other Devices Ltd\"",
            "not of the affected product",
        ),
        (
            "models = [\"FG3-100\", \"FG3-200W\"]",
            "models = [\"FG3-900\"]",
            "runs on models FG3-900, none of the affected build's models FG3-100, FG3-200W",
        ),
        (
            "security_version = 8",
            "security_version = 6",
            "is not later than the affected build: security_version 6 build_number 4210 against 7 4200",
        ),
    ];
    for (from, to, why) in cases {
        let mut f = Fixture::new();
        let c = f.chain();
        let unrelated = f
            .record_text("firmware-build", "unrelated", &fw421_with(from, to))
            .expect("record");
        let checks = fix_checks(&mut f, &c.fw420, &unrelated);
        assert_eq!(checks.len(), 1, "{to}: {checks:?}");
        assert!(!checks[0].0, "{to}: {checks:?}");
        assert!(checks[0].1.contains(why), "{to}: {checks:?}");
        assert!(
            checks[0]
                .1
                .ends_with("a fix must be a later build of the same product"),
            "{checks:?}"
        );
    }
    // An older build offered as the fix of a newer one.
    let mut f = Fixture::new();
    let c = f.chain();
    let checks = fix_checks(&mut f, &c.fw421, &c.fw420);
    assert!(
        checks.len() == 1 && !checks[0].0 && checks[0].1.contains("is not later"),
        "{checks:?}"
    );
}
