#![no_main]
//! Fuzz target `warrant`: see `escrow_lab::fuzzing::warrant`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::warrant(data));
