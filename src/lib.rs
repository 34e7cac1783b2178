//! # escrow-lab — scenarios for policy research
//!
//! The root package of escrow-lab: the `escrow-lab` binary runs scenarios against the
//! libraries `escrow`, `messenger` and `auditor` (never their binaries):
//!
//! * [`demo`] — the whole story in one command, narrated;
//! * [`attacks`] — the attack catalogue, each attack carried out for real;
//! * [`simulate`] — a synthetic population through the real code, measured, charted and
//!   extrapolated to the scale of the 2019 debate;
//! * [`bench`](mod@bench) — this project next to its peers (tlock, TPKE, the floor), one table;
//! * [`world`] — the lab, relay, users and warrant flow the scenarios share;
//! * [`fuzzing`] — the bodies of the fuzz targets (`fuzz/`), replayed on stable by the tests.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod attacks;
pub mod bench;
pub mod demo;
pub mod fuzzing;
pub mod labdir;
pub mod narrate;
pub mod simulate;
pub mod world;
