//! Clocks: fixed instants in the past of the machine's clock, RFC 3339 text, and a clock
//! that only moves forward.
//!
//! The tools refuse a time ahead of the machine's clock and a time before the newest entry
//! of the log (simulated time never goes backwards), so fixtures use fixed instants in 2026,
//! before any day the tests run on, far enough apart for each test's schedule. Instants are
//! Unix seconds (`i64`), as the messenger's API takes them; [`at`] makes the
//! [`OffsetDateTime`] the escrow API takes, [`rfc3339`] the text the binaries take.

use std::cell::Cell;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One day (and one day epoch), in seconds.
pub const DAY: i64 = 86_400;

/// One hour, in seconds.
pub const HOUR: i64 = 3_600;

/// 2026-09-01T00:00:00Z: the start of the rotation tests, with room for their schedules.
pub const SEP_1: i64 = 1_788_220_800;

/// 2026-11-01T00:00:00Z: when the labs made by the binaries are set up ([`SET_UP`]).
pub const NOV_1: i64 = 1_793_491_200;

/// 2026-11-02T00:00:00Z: day 0 of the root package's scenarios.
pub const NOV_2: i64 = 1_793_577_600;

/// 2026-11-25T00:00:00Z: day 0 of the auditor's library tests.
pub const NOV_25: i64 = 1_795_564_800;

/// 2026-11-27T00:00:00Z: day 0 of the messenger's in-memory conversations.
pub const NOV_27: i64 = 1_795_737_600;

/// [`NOV_1`] as the binaries take it: when the labs made by the binaries are set up and
/// their accounts registered, before every `--at` the tests use.
pub const SET_UP: &str = "2026-11-01T00:00:00Z";

/// The instant `unix` (seconds).
pub fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

/// The instant `unix` (seconds) in RFC 3339, as the binaries' `--at` takes it.
pub fn rfc3339(unix: i64) -> String {
    at(unix).format(&Rfc3339).unwrap()
}

/// An RFC 3339 time, parsed.
pub fn parse(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A clock of whole minutes from a start that only moves forward: each step of a test
/// happens one minute after the previous one, as the tools require.
#[derive(Debug)]
pub struct Minutes {
    start: OffsetDateTime,
    /// Minutes after `start` of the next step.
    next: Cell<i64>,
}

impl Minutes {
    /// A clock whose first step is at `start` (RFC 3339).
    pub fn new(start: &str) -> Self {
        Self {
            start: parse(start),
            next: Cell::new(0),
        }
    }

    /// The next step's time: one minute after the previous one.
    pub fn tick(&self) -> String {
        self.at_least(0)
    }

    /// The next step's time, and at least `min` minutes after the start.
    pub fn at_least(&self, min: i64) -> String {
        let m = self.next.get().max(min);
        self.next.set(m + 1);
        (self.start + time::Duration::minutes(m))
            .format(&Rfc3339)
            .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instants_are_the_dates_they_name() {
        for (unix, text) in [
            (SEP_1, "2026-09-01T00:00:00Z"),
            (NOV_1, SET_UP),
            (NOV_2, "2026-11-02T00:00:00Z"),
            (NOV_25, "2026-11-25T00:00:00Z"),
            (NOV_27, "2026-11-27T00:00:00Z"),
        ] {
            assert_eq!(rfc3339(unix), text);
            assert_eq!(parse(text), at(unix));
        }
    }

    #[test]
    fn minutes_move_forward_only() {
        let m = Minutes::new("2026-11-28T09:00:00Z");
        assert_eq!(m.tick(), "2026-11-28T09:00:00Z");
        assert_eq!(m.at_least(61), "2026-11-28T10:01:00Z");
        assert_eq!(m.at_least(0), "2026-11-28T10:02:00Z");
    }
}
