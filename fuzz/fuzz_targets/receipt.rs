#![no_main]
//! Fuzz target `receipt`: see `escrow_lab::fuzzing::receipt`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::receipt(data));
