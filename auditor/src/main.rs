//! `auditor`: thin binary over the `auditor` library.

#![forbid(unsafe_code)]

mod cli;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use escrow::lab::Lab;

use cli::{Cli, Command, LogCommand};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("auditor: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<()> {
    let lab = Lab::new(&cli.lab);
    let report = auditor::verify_log(&lab)?;
    let mut out = std::io::stdout().lock();
    match (&cli.command, cli.json) {
        (Command::Log(LogCommand::Verify), true) => {
            let doc = serde_json::json!({"version": 1, "ok": true, "report": report});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        (Command::Log(LogCommand::Verify), false) => {
            writeln!(
                out,
                "Log verified: {} entries, {} checkpoints, root {}.",
                report.size, report.checkpoints, report.root
            )?;
            writeln!(
                out,
                "Every stored hash and checkpoint root matches the entries;"
            )?;
            writeln!(out, "every checkpoint is signed by the log.")?;
            for (a, n) in &report.cosignatures {
                writeln!(out, "  {a}: {n} checkpoint(s) cosigned")?;
            }
        }
        (Command::Log(LogCommand::Stats), true) => {
            let doc = serde_json::json!({"version": 1, "size": report.size, "stats": report.stats});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        (Command::Log(LogCommand::Stats), false) => {
            let s = &report.stats;
            writeln!(
                out,
                "Public statistics of {} log entries (verified):",
                report.size
            )?;
            for (k, n) in &s.entries {
                writeln!(out, "  {k:<20} {n}")?;
            }
            writeln!(out, "  identities released  {}", s.identities_released)?;
            writeln!(
                out,
                "  executions           {} ({} messages decrypted)",
                s.executions, s.messages_decrypted
            )?;
            for (m, n) in &s.warrants_per_month {
                writeln!(out, "  warrants in {m}   {n}")?;
            }
            for (a, n) in &s.releases_by_authority {
                writeln!(out, "  releases by {a:<12} {n}")?;
            }
        }
    }
    Ok(())
}
