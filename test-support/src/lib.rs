//! # test-support — what every crate's tests share (dev-only)
//!
//! The helpers the test files of `escrow`, `messenger`, `auditor` and the root package used to
//! carry each in its own copy. A dev-dependency of those packages only: no library or binary
//! links it. (Modelled on rage's `age-core` testkit and openmls's `test_utils`.)
//!
//! * [`run`] — the real binaries (`escrow`, `messenger`, `auditor`, `escrow-lab`), located by
//!   name in the target directory; success, refusal (exit 1, one line on stderr) and help;
//! * [`snapshot`] — a directory's files before and after a command (bytes, modes, digests);
//! * [`lab`] — lab fixtures: set up by the binaries or through the library (a dealer, n, k, a
//!   realm), and what their log holds;
//! * [`clock`] — fixed instants in the past of the machine's clock, RFC 3339 text, a clock
//!   that only moves forward;
//! * [`warrant`] — warrant drafts for a target and a window, logged with the lab's key;
//! * [`json`] — JSON files and outputs read, written and edited;
//! * [`sqlite`] — a database edited behind the store's back (an append-only trigger lifted
//!   for a rewrite and put back).
//!
//! Every helper panics on a failed setup step, with the command or path in the message: a
//! test that cannot build its fixture has nothing to check.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Test helpers panic on setup failure by design (see above).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod clock;
pub mod json;
pub mod lab;
pub mod run;
pub mod snapshot;
pub mod sqlite;
pub mod warrant;
