//! `messenger`: users' and the provider's tool. Thin: parse the options, open the lab's client
//! states, call one procedure of [`messenger::procedure`], print what it did.
//!
//! With `--json`, every subcommand prints one JSON document on stdout, a failure too
//! (`escrow::encoding::json_error`, beside the usual one line on stderr).

#![forbid(unsafe_code)]

mod cli;
mod error;
mod exchange;
mod files;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use escrow::lab::{Written, write_output};
use messenger::procedure::{ClientFiles, Observer, Point, When, intercept, register, rfc3339};
use rand_core::OsRng;
use time::OffsetDateTime;

use cli::{Cli, Command};

/// The tool's observer of the procedures: warnings on standard error, and the fault injection
/// of the crash tests — a process whose `ESCROW_LAB_FAULT` names a point aborts there, as a
/// SIGKILL would (the points sit in the windows between writing the client state and
/// committing the relay, which random kills rarely hit).
#[derive(Debug)]
pub struct Tool;

impl Observer for Tool {
    fn reached(&mut self, point: Point) {
        if std::env::var_os("ESCROW_LAB_FAULT").is_some_and(|v| v == point.name()) {
            std::process::abort();
        }
    }

    fn warn(&mut self, text: &str) {
        eprintln!("messenger: {text}");
    }
}

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
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.chain().any(escrow::encoding::is_broken_pipe) => ExitCode::SUCCESS,
        Err(e) => {
            let line = error::one_line(&e);
            if json {
                println!("{}", escrow::encoding::json_error(&line, 1, None));
            }
            eprintln!("messenger: {line}");
            ExitCode::FAILURE
        }
    }
}

/// The time of `--at`, or the clock when the procedure asks.
fn when(at: Option<&str>) -> Result<When> {
    Ok(match at {
        Some(s) => When::At(parse_time("--at", Some(s))?),
        None => When::Clock,
    })
}

fn parse_time(what: &'static str, s: Option<&str>) -> Result<OffsetDateTime> {
    let t = escrow::identity::time_or_now(what, s)?;
    // A time this command stores (`--at`: a registration, a send, a read, an export) may lag
    // the clock but not run ahead of it, as in the log: a client or relay record dated in the
    // future would block every later step until then.
    if what == "--at"
        && let Some(v) = s
    {
        escrow::transparency::store::check_not_ahead("the time of --at", v)?;
    }
    Ok(t)
}

/// `n` things, in English: "1 envelope", "2 envelopes".
pub fn count(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

/// Prints the command's JSON document (`--json`) or its text.
pub fn print(json: bool, doc: &serde_json::Value, text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(doc)?)?;
    } else {
        out.write_all(text.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    let json = cli.json;
    let state = match &cli.command {
        Command::Register {
            account,
            passphrase,
            ..
        }
        | Command::Send {
            account,
            passphrase,
            ..
        }
        | Command::Read {
            account,
            passphrase,
            ..
        } => Some((account.as_str(), passphrase)),
        Command::Intercept { .. } => None,
    };
    let mut files = files::open(&cli.lab, state)?;
    match cli.command {
        Command::Register { account, at, .. } => {
            register(&mut files, &account, when(at.as_deref())?, json)
        }
        Command::Send {
            account,
            recipient,
            at,
            text,
            ..
        } => exchange::send(
            &mut files,
            &account,
            &recipient,
            when(at.as_deref())?,
            &text,
            json,
        ),
        Command::Read { account, at, .. } => {
            exchange::read(&mut files, &account, when(at.as_deref())?, json)
        }
        Command::Intercept {
            target,
            from,
            to,
            out,
            at,
        } => {
            let at = when(at.as_deref())?;
            messenger::account::check_account(&target)?;
            let window = (
                parse_time("--from", Some(&from))?.unix_timestamp(),
                parse_time("--to", Some(&to))?.unix_timestamp(),
            );
            intercept(&files, &target, window, out.as_deref(), at, json)
        }
    }
}

fn register(files: &mut ClientFiles, account: &str, when: When, json: bool) -> Result<()> {
    let register::Registered {
        registration: reg,
        time: now,
    } = register::register_in_lab(files, account, when, &mut OsRng)?;
    let state = files.client(account);
    let identity = messenger::keys::public_hex(&reg.bundle.identity.sign);
    let shown = escrow::encoding::printable(&state.display().to_string()).into_owned();
    let doc = serde_json::json!({
        "version": 1,
        "account": account,
        "registered_at": rfc3339(now),
        "identity_key": identity,
        "one_time_prekeys": reg.one_time_prekeys.len(),
        "state": state.display().to_string(),
        "sealed": files.sealed(),
    });
    let text = format!(
        "Registered '{account}' at {}: identity key {}…, {} one-time prekeys published.\n\
         Private state: {shown} (mode 0600{})\n",
        rfc3339(now),
        &identity[..16],
        reg.one_time_prekeys.len(),
        if files.sealed() {
            ", sealed with the passphrase"
        } else {
            ""
        }
    );
    print(json, &doc, &text)
}

fn intercept(
    files: &ClientFiles,
    target: &str,
    window: (i64, i64),
    out: Option<&Path>,
    when: When,
    json: bool,
) -> Result<()> {
    let capture = intercept::intercept_in_lab(files, target, window, when)?;
    let mut bytes = serde_json::to_vec_pretty(&capture)?;
    bytes.push(b'\n');
    let Some(path) = out.filter(|p| *p != Path::new("-")) else {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&bytes)?;
        return Ok(stdout.flush()?);
    };
    let word = match write_output(path, &bytes, 0o600)? {
        Written::Created => "written",
        Written::Unchanged => "unchanged",
    };
    let shown = escrow::encoding::printable(&path.display().to_string()).into_owned();
    let doc = serde_json::json!({
        "version": 1,
        "target": target,
        "from": capture.from,
        "to": capture.to,
        "exported_at": capture.exported_at,
        "envelopes": capture.envelopes.len(),
        "chain_starts": capture.chain_starts.len(),
        "out": path.display().to_string(),
        "result": word,
    });
    let text = format!(
        "{shown} {word}: the capture of '{target}' in [{}, {}), exported at {}: {} and {} \
         from outside the window.\n",
        capture.from,
        capture.to,
        capture.exported_at,
        count(capture.envelopes.len(), "envelope"),
        count(capture.chain_starts.len(), "chain start"),
    );
    print(json, &doc, &text)
}
