//! Test fixture: a small FaceGate ledger built with the library API in a temporary directory,
//! the bundles a buyer would receive, and trust files that pin its keys.
//!
//! Keys are derived from fixed seeds and every statement has a fixed `iat`, so the bundles are
//! byte-for-byte reproducible (Ed25519 signing is deterministic): the fuzz seed corpus and
//! `fuzz/trust.toml` are made from this fixture (see `tests/fuzz_corpus.rs`).
#![allow(dead_code)]

use ed25519_dalek::SigningKey;

use evledger::bundle::Bundle;
use evledger::evidence::{Evidence, InputFormat};
use evledger::export::{self, BundleOptions, Selection};
use evledger::hex;
use evledger::keys::KeyId;
use evledger::ledger::{Ledger, Signer};
use evledger::note::NoteVerifier;
use evledger::policy::Profile;
use evledger::trust::TrustFile;
use evledger::verify::{self, Check, Outcome, Report, Step, Verdict};

/// The log's origin (and its key's name).
pub const ORIGIN: &str = "aurelis.example/evidence-log";
/// First statement time: 2026-05-28, after the incident's aware-at (2026-04-20).
pub const T0: u64 = 1_780_000_000;

pub const LAB: &str = "lab-result-pad-l2.toml";
pub const CSIG: &str = "countersignature-lab.toml";
pub const CLAIM2: &str = "claim-pad-level2.toml";
pub const CLAIM3: &str = "claim-pad-level3-overclaim.toml";
pub const INCIDENT: &str = "incident-aur-2026-014.toml";
pub const FW420: &str = "firmware-4.2.0.toml";
pub const FW421: &str = "firmware-4.2.1.toml";

/// Who signs an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// Release engineering (firmware builds).
    Release,
    /// Product / legal (lab results, claims, incidents).
    Legal,
    /// An accredited test lab (countersignatures): in the examples, Kestrel, which reports
    /// ISO/IEC 19795 accuracy results but does not run the iBeta PAD programme.
    Lab,
    /// The iBeta PAD programme's operator (countersignatures of iBeta PAD results): the role
    /// `ibeta-pad`, which the shipped PAD profile names as the scheme's operator.
    PadOperator,
    /// A key no default trust file pins.
    Stranger,
}

/// The fixture's keys, from fixed seeds.
pub struct Keys {
    pub log: SigningKey,
    pub release: SigningKey,
    pub legal: SigningKey,
    pub lab: SigningKey,
    pub pad_operator: SigningKey,
    pub stranger: SigningKey,
    /// A second log key, for checkpoints by an unpinned key.
    pub rogue_log: SigningKey,
}

impl Keys {
    pub fn new() -> Keys {
        let k = |b: u8| SigningKey::from_bytes(&[b; 32]);
        Keys {
            log: k(0x10),
            release: k(0x20),
            legal: k(0x30),
            lab: k(0x40),
            stranger: k(0x50),
            rogue_log: k(0x60),
            pad_operator: k(0x70),
        }
    }

    pub fn of(&self, who: Who) -> &SigningKey {
        match who {
            Who::Release => &self.release,
            Who::Legal => &self.legal,
            Who::Lab => &self.lab,
            Who::PadOperator => &self.pad_operator,
            Who::Stranger => &self.stranger,
        }
    }

    pub fn kid(&self, who: Who) -> KeyId {
        KeyId::of(&self.of(who).verifying_key())
    }

    /// The log's C2SP verifier key string.
    pub fn log_vkey(&self) -> String {
        NoteVerifier::new(ORIGIN, self.log.verifying_key())
            .expect("valid origin")
            .to_string()
    }
}

impl Default for Keys {
    fn default() -> Self {
        Keys::new()
    }
}

/// One role of a trust file.
#[derive(Clone, Debug)]
pub struct RoleSpec {
    pub name: &'static str,
    pub kinds: Vec<&'static str>,
    pub who: Vec<Who>,
}

/// What a trust file says.
#[derive(Clone, Debug)]
pub struct TrustSpec {
    /// Pin the log key.
    pub pin_log: bool,
    pub roles: Vec<RoleSpec>,
    /// Profile paths written into the file (absolute, for CLI tests).
    pub profiles: Vec<String>,
}

impl Default for TrustSpec {
    /// The buyer's trust file of `keys.example/buyer.trust.toml`, with the fixture's keys.
    fn default() -> Self {
        TrustSpec {
            pin_log: true,
            roles: vec![
                RoleSpec {
                    name: "release-engineering",
                    kinds: vec!["firmware-build"],
                    who: vec![Who::Release],
                },
                RoleSpec {
                    name: "product-legal",
                    kinds: vec!["lab-result", "claim", "incident"],
                    who: vec![Who::Legal],
                },
                RoleSpec {
                    name: "lab",
                    kinds: vec!["countersignature"],
                    who: vec![Who::Lab],
                },
                RoleSpec {
                    name: "ibeta-pad",
                    kinds: vec!["countersignature"],
                    who: vec![Who::PadOperator],
                },
            ],
            profiles: Vec::new(),
        }
    }
}

impl TrustSpec {
    /// The trust file text.
    pub fn text(&self, keys: &Keys) -> String {
        let mut s = String::from("version = 1\n");
        let quoted = |v: &[String]| {
            v.iter()
                .map(|x| format!("{x:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.profiles.is_empty() {
            s += &format!("profiles = [{}]\n", quoted(&self.profiles));
        }
        let log: Vec<String> = if self.pin_log {
            vec![keys.log_vkey()]
        } else {
            Vec::new()
        };
        s += &format!("\n[log]\nkeys = [{}]\n", quoted(&log));
        for r in &self.roles {
            let kinds: Vec<String> = r.kinds.iter().map(|k| k.to_string()).collect();
            let pks: Vec<String> = r
                .who
                .iter()
                .map(|w| hex::encode(keys.of(*w).verifying_key().as_bytes()))
                .collect();
            s += &format!(
                "\n[[roles]]\nname = {:?}\nkinds = [{}]\npublic_keys = [{}]\n",
                r.name,
                quoted(&kinds),
                quoted(&pks)
            );
        }
        s
    }

    /// The parsed trust file.
    pub fn load(&self, keys: &Keys) -> TrustFile {
        // Profiles are named by absolute path (`profile_path`).
        let read = |n: &str| std::fs::read(n).map_err(|e| format!("{n}: {e}"));
        TrustFile::parse(&self.text(keys), "trust.toml", &read)
            .unwrap_or_else(|e| panic!("fixture trust file: {e}\n{}", self.text(keys)))
    }

    /// Gives role `name` one more kind.
    pub fn allow(mut self, name: &str, kind: &'static str) -> Self {
        let r = self
            .roles
            .iter_mut()
            .find(|r| r.name == name)
            .expect("role");
        r.kinds.push(kind);
        self
    }
}

/// The default trust file, parsed.
pub fn trust() -> TrustFile {
    TrustSpec::default().load(&Keys::new())
}

/// Path of a shipped profile.
pub fn profile_path(name: &str) -> String {
    format!("{}/specs/profiles/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The two shipped profiles (PAD and GDPR incident).
pub fn profiles() -> Vec<Profile> {
    ["pad-ibeta-level2.toml", "incident-gdpr-art33.toml"]
        .iter()
        .map(|p| {
            let path = profile_path(p);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            Profile::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
        })
        .collect()
}

/// Reads an example input file with its placeholders filled.
pub fn example(file: &str, fills: &[(&str, &str)]) -> String {
    let path = format!("{}/examples/facegate/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (placeholder, value) in fills {
        text = text.replace(placeholder, value);
    }
    text
}

/// Reads an example channel document.
pub fn document(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/examples/facegate/documents/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A ledger in a temporary directory.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub ledger: Ledger,
    pub keys: Keys,
    /// The next statement's iat (each record takes the next second).
    pub iat: u64,
}

impl Fixture {
    /// An empty ledger signed by the fixture's log key.
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = Keys::new();
        let ledger =
            Ledger::init_with_key(&dir.path().join("ledger"), ORIGIN, Some(keys.log.clone()))
                .expect("init ledger");
        Fixture {
            dir,
            ledger,
            keys,
            iat: T0,
        }
    }

    /// Records `text` (TOML) as `kind`, signed by `who` at the next iat; returns the entry hash (hex).
    pub fn record(&mut self, kind: &str, text: &str, who: Who) -> String {
        let iat = self.iat;
        self.iat += 1;
        self.record_at(kind, text, who, iat)
    }

    /// Records at an explicit iat.
    pub fn record_at(&mut self, kind: &str, text: &str, who: Who, iat: u64) -> String {
        let evidence = Evidence::from_input(kind, text, InputFormat::Toml)
            .unwrap_or_else(|e| panic!("{kind}: {e}\n{text}"));
        let key = self.keys.of(who).clone();
        let signer = Signer {
            key: &key,
            issuer: "Aurelis Security Systems",
            subject: kind,
            x5chain: Vec::new(),
        };
        let rec = self
            .ledger
            .record(&evidence, &signer, iat)
            .unwrap_or_else(|e| panic!("record {kind}: {e}"));
        hex::encode(&rec.entry_hash)
    }

    /// Signs and stores a checkpoint over the whole log; returns its signed note.
    pub fn checkpoint(&mut self) -> String {
        self.ledger.checkpoint().expect("checkpoint").note
    }

    /// Builds a bundle of the given entries (with their closure).
    pub fn bundle_of(&mut self, entries: &[&str], options: &BundleOptions) -> Bundle {
        let entries = entries
            .iter()
            .map(|h| self.ledger.resolve(h).expect("entry"))
            .collect();
        let sel = Selection {
            all: false,
            entries,
        };
        export::build(&mut self.ledger, &sel, options).expect("bundle")
    }

    /// Builds a bundle of every entry.
    pub fn bundle_all(&mut self, options: &BundleOptions) -> Bundle {
        let sel = Selection {
            all: true,
            entries: Vec::new(),
        };
        export::build(&mut self.ledger, &sel, options).expect("bundle")
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

/// Entry hashes (hex) of the FaceGate story, in the order recorded.
#[derive(Clone, Debug, Default)]
pub struct Story {
    pub fw420: String,
    pub fw421: String,
    /// The checkpoint the buyer kept after the two builds.
    pub builds_checkpoint: String,
    pub lab: String,
    pub csig: String,
    pub claim2: String,
    pub claim3: String,
    pub incident: String,
}

impl Story {
    /// Records firmware 4.2.0 and 4.2.1 (release engineering).
    pub fn builds(f: &mut Fixture) -> Story {
        Story {
            fw420: f.record("firmware-build", &example(FW420, &[]), Who::Release),
            fw421: f.record("firmware-build", &example(FW421, &[]), Who::Release),
            ..Story::default()
        }
    }

    pub fn fills(&self) -> Vec<(&'static str, String)> {
        vec![
            ("@FW_420@", self.fw420.clone()),
            ("@FW_421@", self.fw421.clone()),
            ("@LAB_RESULT@", self.lab.clone()),
            ("@COUNTERSIG@", self.csig.clone()),
        ]
    }

    /// An example file with this story's hashes filled in.
    pub fn example(&self, file: &str) -> String {
        let fills = self.fills();
        let fills: Vec<(&str, &str)> = fills.iter().map(|(a, b)| (*a, b.as_str())).collect();
        example(file, &fills)
    }
}

/// The walkthrough's story: two builds, a checkpoint, the lab result and its countersignature,
/// the backed Level 2 claim, the over-claiming Level 3 claim and the incident (7 entries).
pub fn story() -> (Fixture, Story) {
    let mut f = Fixture::new();
    let mut s = Story::builds(&mut f);
    s.builds_checkpoint = f.checkpoint();
    s.lab = f.record("lab-result", &s.example(LAB), Who::Legal);
    s.csig = f.record("countersignature", &s.example(CSIG), Who::PadOperator);
    s.claim2 = f.record("claim", &s.example(CLAIM2), Who::Legal);
    s.claim3 = f.record("claim", &s.example(CLAIM3), Who::Legal);
    s.incident = f.record("incident", &s.example(INCIDENT), Who::Legal);
    f.checkpoint();
    (f, s)
}

/// The walkthrough's Level 2 bundle: the claim, `--since` the builds checkpoint, both documents attached.
pub fn claim2_options(s: &Story) -> BundleOptions {
    BundleOptions {
        attachments: vec![
            document("brochure-2026-04-p4.txt"),
            document("tender-T-2026-FG3-s5.3.txt"),
        ],
        since: Some(s.builds_checkpoint.clone()),
    }
}

/// Verifies bytes with the default trust file and shipped profiles.
pub fn verify(bytes: &[u8]) -> Report {
    verify::verify_bundle(bytes, &trust(), &profiles())
}

/// The failed checks of a report.
pub fn failures(r: &Report) -> Vec<&Check> {
    r.checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .collect()
}

/// Asserts the verdict and that some failed check is of `step` (and `entry`, if given) with a
/// message containing `fragment`.
#[track_caller]
pub fn assert_fails(r: &Report, verdict: Verdict, step: Step, entry: Option<u64>, fragment: &str) {
    assert_eq!(r.verdict, verdict, "{}", r.render());
    let hit = failures(r).into_iter().any(|c| {
        c.step == step && (entry.is_none() || c.entry == entry) && c.message.contains(fragment)
    });
    assert!(
        hit,
        "no failed {step:?} check{} containing {fragment:?}:\n{}",
        entry.map(|e| format!(" on entry {e}")).unwrap_or_default(),
        r.render()
    );
}

/// Asserts the report is "verified" with no failed check.
#[track_caller]
pub fn assert_verified(r: &Report) {
    assert_eq!(r.verdict, Verdict::Verified, "{}", r.render());
    assert_eq!(r.failures(), 0);
}
