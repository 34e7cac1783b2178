#![no_main]
//! Fuzz target `log_entry`: see `escrow_lab::fuzzing::log_entry`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::log_entry(data));
