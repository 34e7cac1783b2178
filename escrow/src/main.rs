//! `escrow`: the authorities' tool. Thin: parse, open files, call the library, print.

#![forbid(unsafe_code)]

mod cli;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use escrow::identity::{format_epoch_length, parse_epoch_length};
use escrow::lab::Lab;
use escrow::{PublicParams, SetupRequest, dealer_setup};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use cli::{Cli, Command, SetupArgs};

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
            eprintln!("escrow: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

fn run(cli: &Cli) -> Result<()> {
    let lab = Lab::new(&cli.lab);
    match &cli.command {
        Command::Setup(args) => setup(&lab, args, cli.json),
        Command::Info => info(&lab, cli.json),
    }
}

fn parse_time(s: Option<&str>) -> Result<OffsetDateTime> {
    match s {
        None => Ok(OffsetDateTime::now_utc().replace_nanosecond(0)?),
        Some(s) => OffsetDateTime::parse(s, &Rfc3339)
            .map(|t| t.to_offset(time::UtcOffset::UTC))
            .with_context(|| format!("--at '{}' is not an RFC 3339 time", s.escape_debug())),
    }
}

fn setup(lab: &Lab, args: &SetupArgs, json: bool) -> Result<()> {
    let mut req = SetupRequest::new(
        args.authorities.clone(),
        args.threshold,
        parse_time(args.at.as_deref())?,
    );
    req.realm = args.realm.clone();
    req.epoch_length = parse_epoch_length(&args.epoch_length)?;
    // Refuse before any key material is made or any file is touched.
    escrow::params::check_authorities(&req.authorities, req.threshold)?;
    escrow::identity::check_name("realm", &req.realm)?;
    lab.check_empty_for_setup()?;
    let (params, shares) = dealer_setup(&req, &mut rand_core::OsRng)?;
    lab.write_setup(&params, &shares)?;
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({
            "version": 1,
            "lab": lab.root().display().to_string(),
            "params": serde_json::from_slice::<serde_json::Value>(&params.to_json()?)?,
            "share_files": params.authorities().iter()
                .map(|a| lab.share_path(&a.name).display().to_string()).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        writeln!(
            out,
            "Created generation {} of realm '{}' in {} (trusted dealer; its polynomial is destroyed).",
            params.generation(),
            params.realm(),
            lab.root().display()
        )?;
        describe(&mut out, &params)?;
        writeln!(out, "Share files (mode 0600, one per authority):")?;
        for a in params.authorities() {
            writeln!(out, "  {}", lab.share_path(&a.name).display())?;
        }
    }
    Ok(())
}

fn info(lab: &Lab, json: bool) -> Result<()> {
    let params = lab.load_params()?;
    let mut out = std::io::stdout().lock();
    if json {
        out.write_all(&params.to_json()?)?;
    } else {
        writeln!(
            out,
            "Generation {} of realm '{}' ({}):",
            params.generation(),
            params.realm(),
            lab.params_path().display()
        )?;
        describe(&mut out, &params)?;
    }
    Ok(())
}

fn describe(out: &mut impl Write, params: &PublicParams) -> Result<()> {
    let n = params.authorities().len();
    let k = params.threshold();
    writeln!(
        out,
        "  threshold:      {k} of {n} authorities release a key; {} learn nothing",
        k - 1
    )?;
    writeln!(
        out,
        "  epoch length:   {} (a released key opens one account for one epoch)",
        format_epoch_length(params.epoch_length())
    )?;
    writeln!(
        out,
        "  policy:         warrants span at most {} days and {} targets",
        params.policy().max_span_days,
        params.policy().max_targets
    )?;
    writeln!(
        out,
        "  created at:     {}",
        params.created_at().format(&Rfc3339)?
    )?;
    let mpk = hex::encode(params.master_public_key().to_compressed());
    writeln!(
        out,
        "  master key:     {}…{} (G1)",
        &mpk[..16],
        &mpk[mpk.len() - 8..]
    )?;
    writeln!(out, "  authorities:")?;
    for a in params.authorities() {
        let pk = hex::encode(a.public_key_share.to_compressed());
        writeln!(
            out,
            "    #{:<2} {:<20} key share {}…",
            a.index,
            a.name,
            &pk[..16]
        )?;
    }
    Ok(())
}
