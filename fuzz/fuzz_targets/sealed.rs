#![no_main]
//! Fuzz target `sealed`: see `escrow_lab::fuzzing::sealed`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::sealed(data));
