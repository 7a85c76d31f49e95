//! The strict deterministic-CBOR decoder on arbitrary bytes: no panic; it accepts only encodings
//! it reproduces byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| evledger_fuzz::cbor_decode(data));
