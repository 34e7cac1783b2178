#![no_main]
//! Fuzz target `envelope`: see `escrow_lab::fuzzing::envelope`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::envelope(data));
