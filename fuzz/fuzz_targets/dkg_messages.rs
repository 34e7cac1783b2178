#![no_main]
//! Fuzz target `dkg_messages`: see `escrow_lab::fuzzing::dkg_messages`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::dkg_messages(data));
