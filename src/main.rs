//! `escrow-lab`: the scenarios binary. Thin: parse, call the library, print.

#![forbid(unsafe_code)]

mod cli;

use std::io::{IsTerminal, Write};
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
        Ok(false) => ExitCode::FAILURE,
        Err(e) if e.chain().any(escrow::encoding::is_broken_pipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "escrow-lab: {}",
                escrow::encoding::printable(&format!("{e:#}").replace('\n', " "))
            );
            ExitCode::FAILURE
        }
    }
}

fn now() -> anyhow::Result<OffsetDateTime> {
    Ok(OffsetDateTime::now_utc().replace_nanosecond(0)?)
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Demo { lab, fast } => {
            let now = now()?;
            let dir = escrow_lab::demo::prepare_lab(lab.as_deref(), now)?;
            let mut out = std::io::stdout().lock();
            let options = escrow_lab::demo::Options {
                fast,
                colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            };
            let outcome = escrow_lab::demo::run(&dir, now, &options, &mut out)?;
            if !outcome.all_held() {
                eprintln!("escrow-lab: a claim of the demo did not hold (see above)");
            }
            Ok(outcome.all_held())
        }
        Command::Attacks {
            json,
            markdown,
            lab,
            seed,
        } => {
            let table = escrow_lab::attacks::run_all(lab.as_deref(), seed)?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&table.to_json())?)?;
            } else {
                table.write_text(&mut out)?;
            }
            let failed = table.failures();
            // The page is written only when every attack ended as expected: a failed command
            // changes no file.
            if let (Some(path), 0) = (markdown, failed) {
                let mut command = String::from("escrow-lab attacks");
                if seed != escrow_lab::attacks::DEFAULT_SEED {
                    command.push_str(&format!(" --seed {seed}"));
                }
                command.push_str(&format!(" --markdown {}", path.display()));
                let md = table.to_markdown(&command);
                escrow::lab::write_atomic(&path, md.as_bytes(), 0o644)?;
            }
            if failed > 0 {
                eprintln!("escrow-lab: {failed} attack(s) did not end as expected (see the table)");
            }
            Ok(failed == 0)
        }
        Command::Bench {
            quick,
            json,
            markdown,
        } => {
            let options = escrow_lab::bench::Options {
                quick,
                smoke: false,
            };
            let show = std::io::stderr().is_terminal();
            let table = escrow_lab::bench::run(&options, &mut |what| {
                if show {
                    eprintln!("escrow-lab bench: {what}…");
                }
            })?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&table)?)?;
            } else {
                table.write_text(&mut out)?;
            }
            if let Some(path) = markdown {
                escrow::lab::write_atomic(&path, table.to_markdown().as_bytes(), 0o644)?;
            }
            Ok(true)
        }
        Command::Simulate {
            users,
            days,
            messages_per_user_day,
            warrants,
            authorities,
            threshold,
            out,
            seed,
        } => {
            if threshold > authorities {
                eprintln!(
                    "escrow-lab: --threshold {threshold} exceeds --authorities {authorities}"
                );
                std::process::exit(2);
            }
            let config = escrow_lab::simulate::Config {
                users,
                days,
                messages_per_user_day,
                warrants,
                authorities,
                threshold,
                seed,
            };
            // Refused before the output folder exists: a failed command leaves nothing behind.
            config.validate()?;
            let now = now()?;
            let dir = escrow_lab::simulate::prepare_out(out.as_deref(), now)?;
            let progress = std::io::stderr().is_terminal();
            let mut stdout = std::io::stdout().lock();
            escrow_lab::simulate::run(&config, &dir, progress, &mut stdout)?;
            Ok(true)
        }
    }
}
