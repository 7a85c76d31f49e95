//! `SignedStatement::parse`, evidence decoding and rendering, and signature checks on arbitrary
//! bytes: no panic; accepted evidence is its own encoding.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

static VERIFIER: LazyLock<evledger_fuzz::Verifier> = LazyLock::new(evledger_fuzz::Verifier::new);

fuzz_target!(|data: &[u8]| evledger_fuzz::statement_parse(&VERIFIER.trust, data));
