//! `escrow`: the authorities' tool.
#![forbid(unsafe_code)]
fn main() {}
