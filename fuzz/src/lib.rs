//! What each fuzz target checks, shared with the main crate's `tests/fuzz_corpus.rs` (which
//! includes this file by path), so the committed corpus is replayed through exactly the same
//! code on every `cargo test`.
//!
//! The verifier runs offline against a fixed trust file (`fuzz/trust.toml`: the test fixture's
//! public keys, from fixed seeds) and the shipped policy profiles. Its oracle: it never panics,
//! and it says "verified" only for a bundle whose signed content is that of a known-good seed
//! (`corpus/verify_bundle/good-*.cbor`). The signed content is everything but the signature
//! lines of the checkpoint notes that are not the pinned log key's: C2SP signed-note verifiers
//! ignore lines of unknown keys, so those may change without changing the verdict.
#![forbid(unsafe_code)]

use evledger::bundle::{Bundle, BundleLimits};
use evledger::cbor;
use evledger::evidence::Evidence;
use evledger::note::{Note, NoteVerifier};
use evledger::policy::Profile;
use evledger::statement::SignedStatement;
use evledger::trust::TrustFile;
use evledger::verify::{Outcome, Report, Verdict, verify_bundle};

/// The fixed trust file (no profiles listed: they are passed in code).
pub const TRUST: &str = include_str!("../trust.toml");

/// The shipped policy profiles the verifier target applies.
///
/// The GDPR profile is version 2026.1, frozen with the 0.1.0 fixtures: the seeds' incident was
/// recorded before incidents named the maker's GDPR role and the Art. 34 communication, which
/// version 2026.2 requires of it.
pub const PROFILES: [&str; 3] = [
    include_str!("../../specs/profiles/pad-ibeta-level2.toml"),
    include_str!("../../tests/fixtures/legacy-0.1/profiles/incident-gdpr-art33.toml"),
    include_str!("../../specs/profiles/incident-cra-art14.toml"),
];

/// Known-good seeds: bundles that verify under [`TRUST`] and [`PROFILES`].
pub const GOOD: [&[u8]; 5] = [
    include_bytes!("../corpus/verify_bundle/good-claim2.cbor"),
    include_bytes!("../corpus/verify_bundle/good-claim2-since-attach.cbor"),
    include_bytes!("../corpus/verify_bundle/good-fw420.cbor"),
    include_bytes!("../corpus/verify_bundle/good-lab-incident.cbor"),
    include_bytes!("../corpus/verify_bundle/good-many-builds.cbor"),
];

/// Everything the verifier target needs, built once.
pub struct Verifier {
    /// The parsed trust file.
    pub trust: TrustFile,
    /// The parsed profiles.
    pub profiles: Vec<Profile>,
    log: NoteVerifier,
    good: Vec<Bundle>,
}

impl Verifier {
    /// Parses [`TRUST`], [`PROFILES`] and [`GOOD`].
    ///
    /// # Panics
    /// If any of them does not parse: the fuzz setup itself is broken then.
    pub fn new() -> Verifier {
        let trust = TrustFile::parse(TRUST, "fuzz/trust.toml", &|n: &str| {
            Err(format!("{n}: fuzz/trust.toml names no file"))
        })
        .expect("fuzz/trust.toml parses");
        let profiles = PROFILES
            .iter()
            .map(|p| Profile::parse(p).expect("shipped profile parses"))
            .collect();
        let log = trust.log_keys[0].verifier.clone();
        let mut v = Verifier {
            trust,
            profiles,
            log,
            good: Vec::new(),
        };
        v.good = GOOD
            .iter()
            .map(|g| v.signed_content(g).expect("good seed parses"))
            .collect();
        v
    }

    /// The bundle with each checkpoint note reduced to its text and its distinct signature
    /// lines by the pinned log key; `None` if it does not parse.
    pub fn signed_content(&self, bytes: &[u8]) -> Option<Bundle> {
        let mut b = Bundle::parse(bytes, &BundleLimits::default()).ok()?;
        b.checkpoint = self.pinned_lines(&b.checkpoint)?;
        for c in &mut b.consistency {
            c.from = self.pinned_lines(&c.from)?;
        }
        Some(b)
    }

    fn pinned_lines(&self, note: &str) -> Option<String> {
        let n = Note::parse(note).ok()?;
        let mut out = Note::new(n.text()).ok()?;
        for s in n.signatures() {
            let pinned = s.name == self.log.name() && s.key_id == self.log.key_id();
            if pinned && !out.signatures().contains(s) {
                out.add_signature(s.clone());
            }
        }
        Some(out.to_text())
    }

    /// Verifies `data` and checks the report's invariants; returns the verdict.
    ///
    /// # Panics
    /// When an invariant does not hold: a finding.
    pub fn check(&self, data: &[u8]) -> Verdict {
        let report = verify_bundle(data, &self.trust, &self.profiles);
        check_report(&report);
        if report.verdict == Verdict::Verified {
            let content = self.signed_content(data);
            assert!(
                content.is_some_and(|c| self.good.contains(&c)),
                "verified a bundle that is not a known-good seed:\n{}",
                report.render()
            );
        }
        let parses = Bundle::parse(data, &BundleLimits::default()).is_ok();
        if !parses {
            assert_eq!(report.verdict, Verdict::InvalidBundle);
        }
        report.verdict
    }
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

/// Invariants of any report: the verdict follows from the checks, and it renders.
fn check_report(r: &Report) {
    let failed = r
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .count();
    assert_eq!(r.failures(), failed);
    assert!(!r.checks.is_empty(), "a report always has a check");
    assert_eq!(r.verdict == Verdict::Verified, failed == 0);
    let text = r.render();
    assert_eq!(
        text.starts_with("VERIFIED:"),
        r.verdict == Verdict::Verified
    );
    let json = serde_json::to_value(r).expect("the report serializes");
    assert!(json["verdict"].is_string());
}

/// `bundle_parse`: strict parsing never panics, and what it accepts re-encodes to the same bytes.
pub fn bundle_parse(data: &[u8]) {
    if let Ok(b) = Bundle::parse(data, &BundleLimits::default()) {
        assert_eq!(b.to_cbor(), data, "an accepted bundle is its own encoding");
        assert!(!b.entries.is_empty());
        assert!(b.entries.windows(2).all(|w| w[0].index < w[1].index));
    }
}

/// `cbor_decode`: the strict decoder never panics, accepts only what it re-encodes byte for byte,
/// and agrees with `decode_canonical`.
pub fn cbor_decode(data: &[u8]) {
    let strict = cbor::decode(data);
    let canonical = cbor::decode_canonical(data);
    assert_eq!(strict, canonical);
    if let Ok(v) = strict {
        assert_eq!(
            cbor::encode(&v),
            data,
            "an accepted item is its own encoding"
        );
        let _ = v.to_string();
    }
}

/// `statement_parse`: statement and evidence parsing never panic; accepted evidence re-encodes to
/// its payload and renders; signature checks under the trust file's keys never panic.
pub fn statement_parse(trust: &TrustFile, data: &[u8]) {
    let Ok(st) = SignedStatement::parse(data) else {
        return;
    };
    assert_eq!(st.bytes(), data);
    let kind = st.header().kind.clone();
    if let Ok(ev) = Evidence::from_payload(&kind, st.payload()) {
        assert_eq!(ev.kind(), kind);
        assert_eq!(ev.to_payload(), st.payload());
        let _ = (ev.summary(), ev.render(), ev.references(), ev.to_json());
    }
    if let Some(key) = trust.pinned_key(&st.header().kid).copied() {
        let single = st.clone().verify(&key).is_ok();
        let many = evledger::statement::verify_many(vec![(st, key)]);
        assert_eq!(single, many[0].is_ok(), "verify and verify_many agree");
    }
}

/// The log key of the `receipt_verify` seeds: the Ed25519 key whose seed is 32 bytes of 0x42
/// (the key of the example in `specs/service.md`).
pub const RECEIPT_LOG_KEY: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAIVL40Zt5HSRFMkLhXy6rbLfP+ntqXtMAl5YOBpiB2xI=
-----END PUBLIC KEY-----
";

/// The statement whose receipts the `receipt_verify` seeds are: leaf 2 of the trees of
/// `statement 0`, `statement 1`… (the stand-in statements of `tests/cose_receipt.rs`).
pub const RECEIPT_STATEMENT: &[u8] = b"statement 2";

/// The tree sizes of the good `receipt_verify` seeds.
pub const RECEIPT_SIZES: std::ops::RangeInclusive<u64> = 3..=12;

/// `receipt_verify`: strict receipt parsing and verification never panic, and a receipt verifies
/// only over a root the log key signed: that of a tree of a good seed's size.
pub fn receipt_verify(data: &[u8]) {
    use evledger::merkle::{MemoryTree, leaf_hash, root};
    use evledger::receipt::{ReceiptEntry, verify_receipt};
    use evledger::statement::entry_hash;
    let key = evledger::keys::parse_public_pem(RECEIPT_LOG_KEY).expect("the fixed key parses");
    let Ok(v) = verify_receipt(data, ReceiptEntry::Statement(RECEIPT_STATEMENT), &key) else {
        return;
    };
    let tree: MemoryTree = (0..*RECEIPT_SIZES.end())
        .map(|i| leaf_hash(&entry_hash(format!("statement {i}").as_bytes())))
        .collect();
    assert!(
        RECEIPT_SIZES
            .clone()
            .any(|n| root(&tree, n).expect("root") == v.root()),
        "a receipt verified over a root the log key never signed"
    );
}
