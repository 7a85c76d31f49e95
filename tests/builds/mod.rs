//! Small library-level fixtures: numbered firmware builds recorded into a ledger, and whole-log
//! bundles, for the tests about trust over time.
#![allow(dead_code)] // Each test crate uses a different part.

use ed25519_dalek::SigningKey;
use evledger::evidence::{Evidence, InputFormat};
use evledger::export::{self, BundleOptions, Selection};
use evledger::ledger::{Ledger, Signer};

/// The example firmware build, varied by build number.
pub const FIRMWARE: &str = include_str!("../../examples/facegate/firmware-4.2.0.toml");
/// The origin of the test ledgers.
pub const ORIGIN: &str = "test.example/log";

/// Records build number `n` signed by `key` at iat 100 + n (the same n gives the same statement).
pub fn record(ledger: &mut Ledger, key: &SigningKey, n: u64) {
    let text = FIRMWARE.replace("build_number = 4200", &format!("build_number = {n}"));
    let ev = Evidence::from_input("firmware-build", &text, InputFormat::Toml).expect("example");
    let signer = Signer {
        key,
        issuer: "Aurelis",
        subject: "FG3",
        x5chain: Vec::new(),
    };
    ledger.record(&ev, &signer, 100 + n).expect("record");
}

/// A bundle of the whole log, with a consistency proof from `since` if given.
pub fn bundle_all(ledger: &mut Ledger, since: Option<String>) -> Vec<u8> {
    let sel = Selection {
        all: true,
        entries: Vec::new(),
    };
    let opts = BundleOptions {
        attachments: Vec::new(),
        since,
    };
    export::build(ledger, &sel, &opts)
        .expect("bundle")
        .to_cbor()
}
