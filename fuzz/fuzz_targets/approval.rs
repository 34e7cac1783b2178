#![no_main]
//! Fuzz target `approval`: see `escrow_lab::fuzzing::approval`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::approval(data));
