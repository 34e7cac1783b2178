#![no_main]
//! Fuzz target `params`: see `escrow_lab::fuzzing::params`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::params(data));
