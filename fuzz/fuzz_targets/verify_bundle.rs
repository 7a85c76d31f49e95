//! The offline verifier on arbitrary bytes, with a fixed trust file and the shipped profiles:
//! no panic, a consistent report, and "verified" only for the signed content of a known-good seed.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

static VERIFIER: LazyLock<evledger_fuzz::Verifier> = LazyLock::new(evledger_fuzz::Verifier::new);

fuzz_target!(|data: &[u8]| {
    VERIFIER.check(data);
});
