//! # escrow-lab — scenarios for policy research
//!
//! The root package of escrow-lab: the `escrow-lab` binary runs scenarios against the
//! libraries `escrow`, `messenger` and `auditor`. Today it has the escrow demo; the attack
//! catalogue and the scale simulation come with the scenarios issue.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod demo;
