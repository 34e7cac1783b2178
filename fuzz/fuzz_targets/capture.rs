#![no_main]
//! Fuzz target `capture`: see `escrow_lab::fuzzing::capture`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::capture(data));
