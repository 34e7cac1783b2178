//! `escrow-lab`: the scenarios binary. Thin: parse, call the library, print.

#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::Parser;
use time::OffsetDateTime;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("escrow-lab: a claim of the demo did not hold (see above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("escrow-lab: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Demo { lab } => {
            let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
            let dir = escrow_lab::demo::prepare_lab(lab.as_deref(), now)?;
            let mut out = std::io::stdout().lock();
            let outcome = escrow_lab::demo::run(&dir, now, &mut out)?;
            Ok(outcome.all_held())
        }
    }
}
