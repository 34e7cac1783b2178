#![no_main]
//! Fuzz target `share`: see `escrow_lab::fuzzing::share`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::share(data));
