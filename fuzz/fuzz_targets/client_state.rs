#![no_main]
//! Fuzz target `client_state`: see `escrow_lab::fuzzing::client_state`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| escrow_lab::fuzzing::client_state(data));
