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
            if let Some(doc) = (code == 2)
                .then(|| escrow::encoding::usage_error_json(&e.to_string()))
                .flatten()
            {
                println!("{doc}");
            }
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let json = cli.json;
    let fail = |message: &str, code: u8| {
        if json {
            println!("{}", escrow::encoding::json_error(message, code, None));
        }
        eprintln!("escrow-lab: {message}");
        ExitCode::from(code)
    };
    match run(cli) {
        Ok(Done::Ok) => ExitCode::SUCCESS,
        Ok(Done::Failed(message)) => {
            // Its document (with `"ok": false` or the failures) is already on stdout.
            eprintln!("escrow-lab: {message}");
            ExitCode::FAILURE
        }
        Ok(Done::Usage(message)) => fail(&message, 2),
        Err(e) if e.chain().any(escrow::encoding::is_broken_pipe) => ExitCode::SUCCESS,
        Err(e) => fail(
            &escrow::encoding::printable(&format!("{e:#}").replace('\n', " ")),
            1,
        ),
    }
}

/// How a scenario ended.
enum Done {
    /// As expected.
    Ok,
    /// It ran, and a claim did not hold: exit 1 with this line on stderr (under --json its
    /// document, which says so, is already on stdout).
    Failed(String),
    /// A usage error found after parsing (exit 2).
    Usage(String),
}

/// Writes a generated page: a new file, an identical one (left as it is), or a page this
/// command generated before (its `marker` line is in it) is replaced; any other file is
/// refused, so that `--markdown` never overwrites a file the command did not make.
fn write_generated(path: &std::path::Path, bytes: &[u8], marker: &str) -> anyhow::Result<()> {
    let generated = escrow::lab::read_limited(path, 16 << 20)
        .ok()
        .is_some_and(|old| String::from_utf8_lossy(&old).contains(marker));
    if generated {
        escrow::lab::write_atomic(path, bytes, 0o644)?;
    } else {
        escrow::lab::write_output(path, bytes, 0o644)?;
    }
    Ok(())
}

fn now() -> anyhow::Result<OffsetDateTime> {
    Ok(OffsetDateTime::now_utc().replace_nanosecond(0)?)
}

fn run(cli: Cli) -> anyhow::Result<Done> {
    let json = cli.json;
    match cli.command {
        Command::Demo { lab, fast } => {
            let now = now()?;
            let dir = escrow_lab::demo::prepare_lab(lab.as_deref(), now)?;
            let options = escrow_lab::demo::Options {
                fast,
                colour: !json
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none(),
            };
            let outcome = if json {
                let outcome = escrow_lab::demo::run(&dir, now, &options, &mut std::io::sink())?;
                let doc = serde_json::json!({
                    "version": 1, "ok": outcome.all_held(), "outcome": outcome,
                });
                writeln!(
                    std::io::stdout().lock(),
                    "{}",
                    serde_json::to_string_pretty(&doc)?
                )?;
                outcome
            } else {
                escrow_lab::demo::run(&dir, now, &options, &mut std::io::stdout().lock())?
            };
            Ok(if outcome.all_held() {
                Done::Ok
            } else {
                Done::Failed("a claim of the demo did not hold (see above)".into())
            })
        }
        Command::Attacks {
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
                write_generated(
                    &path,
                    md.as_bytes(),
                    "<!-- @generated by `escrow-lab attacks",
                )?;
            }
            Ok(if failed > 0 {
                Done::Failed(format!(
                    "{failed} attack(s) did not end as expected (see the table)"
                ))
            } else {
                Done::Ok
            })
        }
        Command::Bench { quick, markdown } => {
            if let Some(path) = &markdown {
                escrow::lab::refuse_existing_output(path)?;
            }
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
                escrow::lab::write_output(&path, table.to_markdown().as_bytes(), 0o644)?;
            }
            Ok(Done::Ok)
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
                return Ok(Done::Usage(format!(
                    "--threshold {threshold} exceeds --authorities {authorities}"
                )));
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
            let progress = !json && std::io::stderr().is_terminal();
            if json {
                escrow_lab::simulate::run(&config, &dir, progress, &mut std::io::sink())?;
                let mut files: Vec<String> = std::fs::read_dir(&dir)?
                    .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect();
                files.sort();
                let doc = serde_json::json!({
                    "version": 1, "ok": true, "out": dir.display().to_string(), "files": files,
                    "summary": dir.join("summary.csv").display().to_string(),
                });
                writeln!(
                    std::io::stdout().lock(),
                    "{}",
                    serde_json::to_string_pretty(&doc)?
                )?;
            } else {
                escrow_lab::simulate::run(&config, &dir, progress, &mut std::io::stdout().lock())?;
            }
            Ok(Done::Ok)
        }
    }
}
