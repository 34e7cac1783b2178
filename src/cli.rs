//! Command-line structure of `escrow-lab` (clap derive only).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// escrow-lab: lawful-access key escrow, examined on a working system.
#[derive(Debug, Parser)]
#[command(name = "escrow-lab", version, max_term_width = 100)]
pub struct Cli {
    /// Print one JSON document on stdout instead of text (also for errors: `"ok": false`).
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The scenarios.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tell the whole story with real operations, in a fresh lab directory (with --json: the
    /// outcome of every claim as one document, no narration).
    Demo {
        /// Lab directory to use; it must not exist or be empty. Default: a new
        /// lab-demo-<time> folder in the current directory.
        #[arg(long, value_name = "DIR")]
        lab: Option<PathBuf>,
        /// One message per conversation and day instead of a few (same steps, same claims).
        #[arg(long)]
        fast: bool,
    },
    /// Carry out the attack catalogue against the implementation and print the table.
    ///
    /// Exits 1 if any observed outcome differs from the expected one.
    Attacks {
        /// Also write the table as Markdown to FILE (docs/attacks.md is made this way). FILE
        /// is replaced only if it is a page this command generated; any other file is refused.
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        /// Keep the attack labs in DIR (must not exist or be empty) instead of a temporary
        /// folder.
        #[arg(long, value_name = "DIR")]
        lab: Option<PathBuf>,
        /// Seed of all keys and traffic (the same seed gives the same table).
        #[arg(long, default_value_t = escrow_lab::attacks::DEFAULT_SEED)]
        seed: u64,
    },
    /// Measure this project next to its peers (tlock, TPKE, the floor) in one table.
    ///
    /// Every row: our median, the peer's or the limit's median from the same run, the ratio,
    /// and the goal of the performance issue. Exits 0 whether goals are met or not (the table
    /// says); 1 only if a measurement could not be made.
    Bench {
        /// Short budgets and at most 1,000 chains (under two minutes on two cores).
        #[arg(long)]
        quick: bool,
        /// Also write the table as Markdown rows to FILE (never overwritten: an existing file
        /// is refused unless identical).
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
    },
    /// Run a synthetic population through the real code, measure, chart and extrapolate (with
    /// --json: the report's folder and files as one document).
    Simulate {
        /// Number of users.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(2..=100_000))]
        users: u32,
        /// Number of days.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=31))]
        days: u32,
        /// Messages each user sends per day.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        messages_per_user_day: u32,
        /// Number of warrants executed.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(0..=10_000))]
        warrants: u32,
        /// Number of authorities n.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..=64))]
        authorities: u32,
        /// Threshold k.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=64))]
        threshold: u32,
        /// Output folder for the CSV files and SVG charts (must not exist or be empty).
        /// Default: a new simulation-<time> folder in the current directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Seed of the synthetic traffic and keys.
        #[arg(long, default_value_t = 2019)]
        seed: u64,
    },
}
