//! RFC 9942 COSE receipt parsing and verification on arbitrary bytes: no panic; "verified" only
//! over a root the fixed log key signed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| evledger_fuzz::receipt_verify(data));
