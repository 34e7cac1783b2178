#![no_main]
//! Fuzz target `key_share`: see `escrow_lab::fuzzing::key_share`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::key_share(data));
