//! `auditor`: the agency's and the monitors' tool. Thin: parse the options, read the input
//! files, call one procedure of [`auditor::procedure`] (or the monitor), print what it did.

#![forbid(unsafe_code)]

mod cli;
mod execute;
mod log;
mod warrant;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use escrow::encoding::printable;
use escrow::filekind::FileKind;
use escrow::lab::{Lab, read_limited};

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
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.chain().any(escrow::encoding::is_broken_pipe) => ExitCode::SUCCESS,
        Err(e) => {
            let message = printable(&one_line(&e).replace('\n', " ")).into_owned();
            if cli.json {
                // A refused execution names every approval with its verdict, in JSON too.
                let extra = e
                    .chain()
                    .find_map(|c| match c.downcast_ref::<auditor::Error>() {
                        Some(auditor::Error::NotEnoughApprovals {
                            required,
                            authorities,
                            valid,
                            verdicts,
                        }) => Some(serde_json::json!({
                            "required": required, "authorities": authorities, "valid": valid,
                            "approvals": verdicts,
                        })),
                        Some(auditor::Error::AlreadyExecuted { entry, time, .. }) => {
                            Some(serde_json::json!({"executed_entry": entry, "executed_at": time}))
                        }
                        _ => None,
                    });
                println!("{}", escrow::encoding::json_error(&message, 1, extra));
            }
            eprintln!("auditor: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The error chain as `{e:#}` prints it, each link of the auditor library in this tool's
/// words where they name an option or another tool's command.
fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|link| match link.downcast_ref::<auditor::Error>() {
            Some(auditor::Error::UnknownTarget(account)) => {
                format!("{link} (`messenger register --as {account}` first)")
            }
            Some(auditor::Error::DefaultExpiry) => {
                "--at is too late for the default expiry (seven days later)".to_owned()
            }
            _ => link.to_string(),
        })
        .collect::<Vec<_>>()
        .join(": ")
}

fn run(cli: &Cli) -> Result<()> {
    let lab = Lab::new(&cli.lab);
    match &cli.command {
        Command::Warrant(w) => warrant::warrant(&lab, w, cli.json),
        Command::Execute {
            warrant,
            approvals,
            capture,
            at,
            out,
            log,
        } => execute::execute(
            &lab,
            &execute::Inputs {
                warrant,
                approvals,
                capture,
                at: at.as_deref(),
                out: out.as_deref(),
                log: log.as_deref(),
            },
            cli.json,
        ),
        Command::Log(cmd) => log::log(&lab, cmd, cli.json),
    }
}

/// Reads a file the command expects to be of `kind`; a file recognisably of another kind (a
/// receipt given as the warrant, a warrant given as an approval…) is refused naming both.
pub fn read_kind(path: &Path, max: u64, kind: FileKind) -> Result<Vec<u8>> {
    let bytes = read_limited(path, max).map_err(|e| match &e {
        escrow::Error::Lab(escrow::LabError::Io { error, .. })
            if error.kind() == std::io::ErrorKind::NotFound =>
        {
            anyhow::anyhow!(
                "{}: no such file (expected {})",
                path.display(),
                kind.describe()
            )
        }
        _ => anyhow::Error::new(e),
    })?;
    if let Some(msg) = escrow::filekind::wrong_kind(path, &bytes, kind) {
        anyhow::bail!(msg);
    }
    Ok(bytes)
}

/// The log service at `url` as the auditor submits to it (signed with `auditor/submit.key`),
/// pinned to the lab's `log.json`.
pub fn http_log(lab: &Lab, url: &str) -> Result<escrow_net::client::HttpLog> {
    Ok(escrow_net::client::HttpLog::new(
        url,
        lab.load_log_config()?,
        Some(lab.request_signer("auditor")?),
    ))
}

/// `n` and the noun in the right number.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
