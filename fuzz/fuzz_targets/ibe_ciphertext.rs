#![no_main]
//! Fuzz target `ibe_ciphertext`: see `escrow_lab::fuzzing::ibe_ciphertext`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::ibe_ciphertext(data));
