#![no_main]
//! Fuzz target `wrap`: see `escrow_lab::fuzzing::wrap`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::wrap(data));
