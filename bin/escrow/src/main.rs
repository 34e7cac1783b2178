//! `escrow`: the authorities' tool. Thin: parse the options, open the lab, call one procedure
//! of [`escrow::procedure`], print what it did.
//!
//! Every subcommand honours `--json`: one JSON document on standard output on success, and on
//! failure the error document of [`escrow::encoding::json_error`] (with the usual line on
//! standard error and the same exit code: 1, or 2 for a usage error).

#![forbid(unsafe_code)]

mod boards;
mod cli;
mod commands;
mod error;
mod show;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use escrow::encoding::json_error;
use escrow::lab::Lab;
use time::OffsetDateTime;

use cli::{Cli, Command, DkgCommand, LogCommand, ReshareCommand, WitnessCommand};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.chain().any(escrow::encoding::is_broken_pipe) => ExitCode::SUCCESS,
        Err(e) => {
            let line = error::one_line(&e);
            if cli.json {
                // Standard output may be closed: the line on standard error still says it.
                let _ = writeln!(std::io::stdout().lock(), "{}", json_error(&line, 1, None));
            }
            eprintln!("escrow: {line}");
            ExitCode::FAILURE
        }
    }
}

/// clap's verdict: `--help` and `--version` exit 0; a usage error exits 2 with clap's message
/// on standard error and, when the command line asks for `--json`, the error document with
/// the message's first line on standard output (as every tool of the lab does).
fn usage_error(e: &clap::Error) -> ExitCode {
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    if let Some(doc) = escrow::encoding::usage_error_json(&e.to_string()) {
        let _ = writeln!(std::io::stdout().lock(), "{doc}");
    }
    let _ = e.print();
    ExitCode::from(2)
}

/// The passphrase options of the subcommands that read or write a share file.
fn passphrase_of(command: &Command) -> Option<&cli::Passphrase> {
    match command {
        Command::Setup(a) => Some(&a.passphrase),
        Command::Rotate(a) => Some(&a.passphrase),
        Command::Approve(a) => Some(&a.passphrase),
        Command::Seal { passphrase, .. }
        | Command::Dkg(DkgCommand::Finish { passphrase, .. })
        | Command::Reshare(
            ReshareCommand::Deal { passphrase, .. } | ReshareCommand::Finish { passphrase, .. },
        ) => Some(passphrase),
        _ => None,
    }
}

/// The lab, with the passphrase the options give (or a terminal prompt for sealed files).
fn open_lab(cli: &Cli) -> Result<Lab> {
    let lab = Lab::new(&cli.lab);
    // Commands that write new share files ask for a new passphrase twice.
    let writes = matches!(
        cli.command,
        Command::Setup(_)
            | Command::Rotate(_)
            | Command::Reshare(ReshareCommand::Finish { .. })
            | Command::Seal { .. }
            | Command::Dkg(DkgCommand::Finish { .. })
    );
    let none = cli::Passphrase::default();
    let p = passphrase_of(&cli.command).unwrap_or(&none);
    Ok(match (&p.passphrase_env, p.passphrase_prompt) {
        (Some(var), _) => lab.with_passphrase(escrow::sealed::passphrase_from_env(var)?),
        (None, true) => lab.with_passphrase(prompt_passphrase(writes)?),
        (None, false) if std::io::stdin().is_terminal() => lab.with_prompt(prompt_for_file),
        (None, false) => lab,
    })
}

fn prompt_passphrase(confirm: bool) -> Result<escrow::sealed::Passphrase> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("--passphrase-prompt needs a terminal; use --passphrase-env VAR");
    }
    let first = zeroize::Zeroizing::new(rpassword::prompt_password("Share passphrase: ")?);
    if confirm {
        let again = zeroize::Zeroizing::new(rpassword::prompt_password("Again: ")?);
        if *first != *again {
            anyhow::bail!("the two passphrases differ");
        }
    }
    Ok(escrow::sealed::Passphrase::new(first.to_string())?)
}

fn prompt_for_file(path: &Path) -> escrow::Result<escrow::sealed::Passphrase> {
    let p = rpassword::prompt_password(format!("Passphrase for {}: ", path.display()))
        .map_err(|e| escrow::Error::Sealed(escrow::sealed::SealedError::Prompt(e)))?;
    escrow::sealed::Passphrase::new(p)
}

/// The time of `--at`, or now.
fn parse_time(s: Option<&str>) -> Result<OffsetDateTime> {
    Ok(escrow::identity::time_or_now("--at", s)?)
}

fn run(cli: &Cli) -> Result<()> {
    let lab = open_lab(cli)?;
    if !matches!(cli.command, Command::Setup(_) | Command::Dkg(_)) {
        escrow::procedure::recover_interrupted(&lab)?;
    }
    let json = cli.json;
    match &cli.command {
        Command::Setup(args) => commands::setup(&lab, args, json),
        Command::Info { generation } => commands::info(&lab, *generation, json),
        Command::Approve(args) => commands::approve(&lab, args, json),
        Command::Refresh { generation } => boards::refresh(&lab, *generation, json),
        Command::Rotate(args) => commands::rotate(&lab, args, json),
        Command::Seal {
            authority,
            generation,
            ..
        } => commands::seal(&lab, authority, *generation, json),
        Command::Dkg(cmd) => boards::dkg(&lab, cmd, json),
        Command::Reshare(cmd) => boards::reshare(&lab, cmd, json),
        Command::Retire {
            authority,
            generation,
            at,
        } => commands::retire(&lab, authority, *generation, at.as_deref(), json),
        Command::Log(LogCommand::Show) => commands::log_show(&lab, json),
        Command::Log(LogCommand::Prove { index, out }) => {
            commands::log_prove(&lab, *index, out.as_deref(), json)
        }
        Command::Log(LogCommand::Cosign { authority, at }) => {
            commands::log_cosign(&lab, authority, at.as_deref(), json)
        }
        Command::Log(LogCommand::Serve { listen, witnesses }) => {
            commands::log_serve(&lab, listen, witnesses)
        }
        Command::Witness(WitnessCommand::Serve { authority, listen }) => {
            commands::witness_serve(&lab, authority, listen)
        }
    }
}
