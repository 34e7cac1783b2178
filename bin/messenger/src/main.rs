//! `messenger`: users' and the provider's tool. Thin: parse, open files, call the library,
//! print.
//!
//! With `--json`, every subcommand prints one JSON document on stdout, a failure too
//! (`escrow::encoding::json_error`, beside the usual one line on stderr).

#![forbid(unsafe_code)]

mod cli;
mod exchange;
mod files;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use escrow::lab::{Lab, Written, create_dir_all_private, write_output};
use messenger::account::check_account;
use messenger::{Client, Relay};
use rand_core::OsRng;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use cli::{Cli, Command};
use files::{Paths, register_first};

/// Fault injection for the crash tests: a process whose `ESCROW_LAB_FAULT` names this point
/// aborts there, as a SIGKILL would (the points sit in the windows between writing the
/// client state and committing the relay, which random kills rarely hit).
fn fault(point: &str) {
    if std::env::var_os("ESCROW_LAB_FAULT").is_some_and(|v| v == point) {
        std::process::abort();
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
            let line =
                escrow::encoding::printable(&format!("{e:#}").replace('\n', " ")).into_owned();
            if json {
                println!("{}", escrow::encoding::json_error(&line, 1, None));
            }
            eprintln!("messenger: {line}");
            ExitCode::FAILURE
        }
    }
}

/// The time of a command: its `--at`, or the clock, read when the command asks (inside the
/// relay's lock, so that concurrent commands of one client record times in the order they
/// run).
#[derive(Clone, Copy, Debug)]
pub enum When {
    /// `--at`.
    At(OffsetDateTime),
    /// No `--at`: now.
    Clock,
}

impl When {
    fn parse(at: Option<&str>) -> Result<Self> {
        Ok(match at {
            Some(s) => Self::At(parse_time("--at", Some(s))?),
            None => Self::Clock,
        })
    }

    /// The time in Unix seconds (the clock's, to the second, read now).
    pub fn now(self) -> Result<i64> {
        Ok(match self {
            Self::At(t) => t.unix_timestamp(),
            Self::Clock => parse_time("--at", None)?.unix_timestamp(),
        })
    }
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

pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// Refuses a time earlier than a record it depends on, naming both: simulated time never goes
/// backwards (the wording of `escrow::Error::TimeBackwards`).
pub fn not_before(what: &str, time: i64, newest: &str, newest_time: i64) -> Result<()> {
    match messenger::relay::time_backwards(what, time, newest, newest_time) {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
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
    let paths = Paths::new(&cli.lab, state)?;
    match cli.command {
        Command::Register { account, at, .. } => {
            register(&paths, &account, When::parse(at.as_deref())?, json)
        }
        Command::Send {
            account,
            recipient,
            at,
            text,
            ..
        } => exchange::send(
            &paths,
            &account,
            &recipient,
            When::parse(at.as_deref())?,
            &text,
            json,
        ),
        Command::Read { account, at, .. } => {
            exchange::read(&paths, &account, When::parse(at.as_deref())?, json)
        }
        Command::Intercept {
            target,
            from,
            to,
            out,
            at,
        } => intercept(
            &paths,
            &target,
            (&from, &to),
            out.as_deref(),
            When::parse(at.as_deref())?,
            json,
        ),
    }
}

/// The lab's set-up: the earliest generation's number and creation time (Unix seconds), if
/// the lab has escrow parameters.
fn set_up_at(lab: &Lab) -> Result<Option<(u32, i64)>> {
    if lab.params_path().symlink_metadata().is_err() {
        return Ok(None);
    }
    Ok(lab
        .load_generations()?
        .iter()
        .map(|p| (p.generation(), p.created_at().unix_timestamp()))
        .min_by_key(|(_, t)| *t))
}

fn register(paths: &Paths, account: &str, when: When, json: bool) -> Result<()> {
    check_account(account)?;
    let state = paths.client(account);
    if state.exists() {
        bail!(
            "account '{account}' already has a client state at {}",
            state.display()
        );
    }
    if !paths.lab.root().is_dir() {
        bail!(
            "{}: no lab directory; run 'escrow setup' first",
            paths.lab.root().display()
        );
    }
    let now = when.now()?;
    if let Some((generation, created)) = set_up_at(&paths.lab)? {
        not_before(
            "the registration",
            now,
            &format!("the lab's set-up (generation {generation} created)"),
            created,
        )?;
    }
    let mut relay =
        Relay::open(&paths.relay()).with_context(|| paths.relay().display().to_string())?;
    if relay.is_registered(account)? {
        bail!("account '{account}' is already registered at the relay");
    }
    let (mut client, reg) = Client::register(account, &mut OsRng)?;
    client.record_time(now);
    let tx = relay.transaction()?;
    Relay::register(&tx, &reg, now)?;
    create_dir_all_private(&paths.lab.root().join("clients"))?;
    paths.save_client(&client)?;
    if let Err(e) = tx.commit() {
        // Not at the relay, so no state either: the command can simply be run again.
        let _ = std::fs::remove_file(&state);
        return Err(e.into());
    }
    let identity = messenger::keys::public_hex(&reg.bundle.identity.sign);
    let shown = escrow::encoding::printable(&state.display().to_string()).into_owned();
    let doc = serde_json::json!({
        "version": 1,
        "account": account,
        "registered_at": rfc3339(now),
        "identity_key": identity,
        "one_time_prekeys": reg.one_time_prekeys.len(),
        "state": state.display().to_string(),
        "sealed": paths.sealed(),
    });
    let text = format!(
        "Registered '{account}' at {}: identity key {}…, {} one-time prekeys published.\n\
         Private state: {shown} (mode 0600{})\n",
        rfc3339(now),
        &identity[..16],
        reg.one_time_prekeys.len(),
        if paths.sealed() {
            ", sealed with the passphrase"
        } else {
            ""
        }
    );
    print(json, &doc, &text)
}

fn intercept(
    paths: &Paths,
    target: &str,
    (from, to): (&str, &str),
    out: Option<&Path>,
    when: When,
    json: bool,
) -> Result<()> {
    check_account(target)?;
    let from = parse_time("--from", Some(from))?.unix_timestamp();
    let to = parse_time("--to", Some(to))?.unix_timestamp();
    if to < from {
        bail!(
            "--to {} is before --from {}: the window [--from, --to) would be empty; give a later --to",
            rfc3339(to),
            rfc3339(from)
        );
    }
    if to == from {
        bail!(
            "--to equals --from ({}): the window [--from, --to) is empty (--to is exclusive); give a later --to",
            rfc3339(to)
        );
    }
    let generations = paths.lab.load_generations()?;
    let unknown = || {
        anyhow::anyhow!(
            "unknown account '{target}': not in the relay's directory; {}",
            register_first(target)
        )
    };
    if !paths.relay().exists() {
        return Err(unknown());
    }
    let relay = paths.open_relay(target)?;
    if !relay.is_registered(target)? {
        return Err(unknown());
    }
    let requested = match when {
        When::At(t) => t.unix_timestamp(),
        When::Clock => when.now()?,
    };
    // The provider answers as of the export time: a window that ends later is cut there.
    let mut capture = relay.capture(
        &messenger::relay::CaptureRequest::new(&generations, target, from, to, requested)
            .as_of_export(),
    )?;
    // The export time is the one the capture was cut at (with or without --at), so that
    // everything up to `exported_at` is in it.
    let at = requested;
    capture.exported_at = rfc3339(at);
    // An export holds nothing the relay received after it (also no chain start from outside
    // the window): the cut above sees to it, and this checks it.
    if let Some((e, t)) = capture.newest_envelope() {
        not_before(
            "the export",
            at,
            &format!("envelope #{} that it would include", e.relay_id),
            t,
        )?;
    }
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
