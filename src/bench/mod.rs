//! `escrow-lab bench [--quick] [--json]`: this project next to its peers and its limits, in
//! one process and one run, as one table.
//!
//! Every row gives this project's median, the peer's or the limit's median measured in the
//! same run, their ratio (ours / theirs), and the goal the performance issue sets, met or not:
//!
//! * IBE wrap and unwrap of a 32-byte key vs the `tlock` crate (0.0.10, arkworks) on the same
//!   key, identity and message, and vs the floor (one G1 scalar multiplication plus one
//!   pairing with prepared lines, blstrs) — `ibe`;
//! * warrant-scoped threshold IBE vs per-ciphertext threshold decryption (TPKE, the scheme of
//!   `threshold_crypto` 0.4, here through `blsttc`, its maintained fork on blst; the literal
//!   `threshold_crypto` crate is measured by `cargo bench --bench peers`, as a dev-dependency
//!   only) for warrants covering 1, 100 and 10,000 chains — `schemes`;
//! * the messenger with and without escrow, and AES-256-GCM bodies vs the raw `aes-gcm`
//!   crate — `messenger`;
//! * the auditor's execution of a large capture on one and two threads — `auditor`.
//!
//! `--quick` shortens every time budget and caps the largest sizes (10,000 chains become
//! 1,000); the rows say which sizes ran.

mod auditor;
pub mod harness;
mod ibe;
mod messenger;
mod schemes;

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

/// What a value measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Seconds per operation (lower is better).
    Seconds,
    /// Bytes (lower is better).
    Bytes,
    /// Bytes per second (higher is better).
    BytesPerSecond,
}

/// A goal on the ratio ours / theirs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Goal {
    /// The ratio must be at most this.
    pub at_most: Option<f64>,
    /// The ratio must be at least this.
    pub at_least: Option<f64>,
}

impl Goal {
    /// Ratio ≤ `x`.
    pub fn at_most(x: f64) -> Self {
        Self {
            at_most: Some(x),
            at_least: None,
        }
    }

    /// Ratio ≥ `x`.
    pub fn at_least(x: f64) -> Self {
        Self {
            at_most: None,
            at_least: Some(x),
        }
    }

    fn met(&self, ratio: f64) -> bool {
        self.at_most.is_none_or(|m| ratio <= m) && self.at_least.is_none_or(|m| ratio >= m)
    }

    fn text(&self) -> String {
        match (self.at_most, self.at_least) {
            (Some(m), _) => format!("≤ {m}"),
            (_, Some(m)) => format!("≥ {m}"),
            _ => String::new(),
        }
    }
}

/// One row of the table.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The comparison it belongs to.
    pub group: &'static str,
    /// What is measured.
    pub what: String,
    /// The unit of `ours` and `theirs`.
    pub unit: Unit,
    /// This project's median.
    pub ours: f64,
    /// The peer or limit.
    pub reference: String,
    /// Its median, same run.
    pub theirs: f64,
    /// `ours / theirs`.
    pub ratio: f64,
    /// The goal, if it sets one.
    pub goal: Option<Goal>,
    /// Whether the goal is met.
    pub met: Option<bool>,
}

impl Row {
    /// A row; the ratio and the verdict are computed here.
    pub fn new(
        group: &'static str,
        what: impl Into<String>,
        unit: Unit,
        ours: f64,
        reference: impl Into<String>,
        theirs: f64,
        goal: Option<Goal>,
    ) -> Self {
        let ratio = ours / theirs;
        Self {
            group,
            what: what.into(),
            unit,
            ours,
            reference: reference.into(),
            theirs,
            ratio,
            goal,
            met: goal.map(|g| g.met(ratio)),
        }
    }
}

/// How long to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Short budgets and capped sizes (under two minutes on two cores).
    pub quick: bool,
    /// Tiny budgets and sizes: every row is produced, no figure means anything (tests).
    pub smoke: bool,
}

impl Options {
    /// The time budget of one median.
    pub fn budget(&self) -> Duration {
        if self.smoke {
            Duration::from_millis(2)
        } else if self.quick {
            Duration::from_millis(300)
        } else {
            Duration::from_secs(2)
        }
    }

    /// The largest warrant scope, in chains.
    pub fn max_chains(&self) -> usize {
        if self.smoke {
            200
        } else if self.quick {
            1_000
        } else {
            10_000
        }
    }
}

/// The table.
#[derive(Clone, Debug, Serialize)]
pub struct Table {
    /// Whether `--quick` was given.
    pub quick: bool,
    /// The machine, as far as the process can tell.
    pub machine: String,
    /// The rows.
    pub rows: Vec<Row>,
}

/// Runs every comparison; `progress` receives a line as each group starts.
pub fn run(options: &Options, progress: &mut dyn FnMut(&str)) -> Result<Table> {
    let mut rows = Vec::new();
    progress("IBE vs tlock and the floor");
    rows.extend(ibe::rows(options)?);
    progress("escrow schemes: threshold IBE vs per-ciphertext TPKE");
    rows.extend(schemes::rows(options)?);
    progress("messenger with and without escrow; AES-256-GCM");
    rows.extend(messenger::rows(options)?);
    progress("auditor execution on one and two threads");
    rows.extend(auditor::rows(options)?);
    Ok(Table {
        quick: options.quick,
        machine: machine(),
        rows,
    })
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores, {}", std::env::consts::ARCH)
}

/// A ratio with three decimals, or "—" where the reference is zero.
fn ratio_text(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.3}")
    } else {
        "—".into()
    }
}

/// `v` in the unit's human form.
pub fn human(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Seconds => {
            if v >= 1.0 {
                format!("{v:.2} s")
            } else if v >= 1e-3 {
                format!("{:.2} ms", v * 1e3)
            } else if v >= 1e-6 {
                format!("{:.1} µs", v * 1e6)
            } else {
                format!("{:.0} ns", v * 1e9)
            }
        }
        Unit::Bytes => {
            if v >= 1e6 {
                format!("{:.2} MB", v / 1e6)
            } else if v >= 1e4 {
                format!("{:.1} kB", v / 1e3)
            } else if v > 0.0 && v < 10.0 {
                format!("{v:.2} B")
            } else {
                format!("{v:.0} B")
            }
        }
        Unit::BytesPerSecond => format!("{:.0} MB/s", v / 1e6),
    }
}

impl Table {
    /// Rows with a goal that is not met.
    pub fn unmet(&self) -> usize {
        self.rows.iter().filter(|r| r.met == Some(false)).count()
    }

    /// The human table (100 columns).
    pub fn write_text(&self, out: &mut dyn Write) -> Result<()> {
        writeln!(
            out,
            "escrow-lab bench{} — {}",
            if self.quick { " --quick" } else { "" },
            self.machine
        )?;
        writeln!(
            out,
            "ratio = ours / reference (for MB/s rows: higher is better); medians of the same run"
        )?;
        let mut group = "";
        for r in &self.rows {
            if r.group != group {
                group = r.group;
                writeln!(out, "\n{group}")?;
                writeln!(
                    out,
                    "  {:<42}{:>10}  {:>10}  {:<23}{:>7}  {:<6}",
                    "", "ours", "reference", "", "ratio", "goal"
                )?;
            }
            let goal = match (r.goal, r.met) {
                (Some(g), Some(true)) => format!("{} met", g.text()),
                (Some(g), _) => format!("{} NOT met", g.text()),
                _ => String::new(),
            };
            writeln!(
                out,
                "  {:<42}{:>10}  {:>10}  {:<23}{:>7}  {goal}",
                r.what,
                human(r.unit, r.ours),
                human(r.unit, r.theirs),
                r.reference,
                ratio_text(r.ratio)
            )?;
        }
        let goals = self.rows.iter().filter(|r| r.goal.is_some()).count();
        writeln!(
            out,
            "\n{} rows; {} of {goals} goals met.",
            self.rows.len(),
            goals - self.unmet()
        )?;
        Ok(())
    }

    /// The Markdown table (docs/performance.md).
    pub fn to_markdown(&self) -> String {
        let mut s = String::from(
            "| group | measured | ours | reference | theirs | ratio | goal |\n|---|---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            let goal = match (r.goal, r.met) {
                (Some(g), Some(true)) => format!("{} met", g.text()),
                (Some(g), _) => format!("{} **not met**", g.text()),
                _ => String::new(),
            };
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {goal} |\n",
                r.group,
                r.what,
                human(r.unit, r.ours),
                r.reference,
                human(r.unit, r.theirs),
                ratio_text(r.ratio)
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_and_ratios() {
        let r = Row::new(
            "g",
            "x",
            Unit::Seconds,
            1.0,
            "y",
            4.0,
            Some(Goal::at_most(0.5)),
        );
        assert_eq!((r.ratio, r.met), (0.25, Some(true)));
        let r = Row::new(
            "g",
            "x",
            Unit::Seconds,
            3.0,
            "y",
            4.0,
            Some(Goal::at_most(0.5)),
        );
        assert_eq!(r.met, Some(false));
        let r = Row::new(
            "g",
            "x",
            Unit::BytesPerSecond,
            0.8,
            "y",
            1.0,
            Some(Goal::at_least(0.9)),
        );
        assert_eq!(r.met, Some(false));
        let r = Row::new("g", "x", Unit::Bytes, 236.0, "y", 0.0, None);
        assert_eq!((ratio_text(r.ratio), r.met), ("—".to_owned(), None));
    }

    #[test]
    fn human_units() {
        assert_eq!(human(Unit::Seconds, 0.000_5), "500.0 µs");
        assert_eq!(human(Unit::Seconds, 2.5), "2.50 s");
        assert_eq!(human(Unit::Bytes, 2.36), "2.36 B");
        assert_eq!(human(Unit::Bytes, 67_200.0), "67.2 kB");
        assert_eq!(human(Unit::BytesPerSecond, 1.3e9), "1300 MB/s");
    }
}
