//! `Bundle::parse` on arbitrary bytes: no panic; what it accepts is its own encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| evledger_fuzz::bundle_parse(data));
