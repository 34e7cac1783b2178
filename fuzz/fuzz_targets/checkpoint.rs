#![no_main]
//! Fuzz target `checkpoint`: see `escrow_lab::fuzzing::checkpoint`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::checkpoint(data));
