//! `escrow`: the authorities' tool. Thin: parse, open files, call the library, print.
//!
//! Every subcommand honours `--json`: one JSON document on standard output on success, and on
//! failure the error document of [`escrow::encoding::json_error`] (with the usual line on
//! standard error and the same exit code: 1, or 2 for a usage error).

#![forbid(unsafe_code)]

mod cli;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use escrow::encoding::{json_error, printable};
use escrow::filekind::{FileKind, wrong_kind};
use escrow::identity::{format_epoch_length, parse_epoch_length};
use escrow::lab::{Lab, Written};
use escrow::transparency::SignedCheckpoint;
use escrow::transparency::proof::ProofBundle;
use escrow::{PublicParams, SetupRequest, dealer_setup};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use cli::{ApproveArgs, Cli, Command, DkgCommand, LogCommand, ReshareCommand, SetupArgs};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.chain().any(escrow::encoding::is_broken_pipe) => ExitCode::SUCCESS,
        Err(e) => {
            let line = one_line(&e);
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

/// The error on one line, with anything that could forge or hide part of it escaped.
fn one_line(e: &anyhow::Error) -> String {
    printable(&format!("{e:#}").replace('\n', " ")).into_owned()
}

/// `n` and the noun in the right number: `1 share`, `2 shares`, `0 shares`.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One JSON document on standard output.
fn print_json(doc: &serde_json::Value) -> Result<()> {
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(doc)?
    )?;
    Ok(())
}

/// What `--out` did, for a JSON document: "written" or "unchanged".
fn result_text(w: Written) -> &'static str {
    match w {
        Written::Created => "written",
        _ => "unchanged",
    }
}

/// A path as text for a JSON document.
fn path_text(p: &Path) -> String {
    p.display().to_string()
}

/// A path made safe to print on a line of text.
fn shown(p: &Path) -> String {
    printable(&p.display().to_string()).into_owned()
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
        .map_err(|e| escrow::Error::Sealed(format!("reading the passphrase: {e}")))?;
    escrow::sealed::Passphrase::new(p)
}

fn run(cli: &Cli) -> Result<()> {
    let lab = open_lab(cli)?;
    // A rotation a crash interrupted is completed (if the log announced it) or undone first.
    if !matches!(cli.command, Command::Setup(_) | Command::Dkg(_)) && lab.rotation_pending() {
        lab.recover_rotation()?;
    }
    let json = cli.json;
    match &cli.command {
        Command::Setup(args) => setup(&lab, args, json),
        Command::Info { generation } => info(&lab, *generation, json),
        Command::Approve(args) => approve(&lab, args, json),
        Command::Refresh { generation } => refresh(&lab, *generation, json),
        Command::Rotate(args) => rotate(&lab, args, json),
        Command::Seal {
            authority,
            generation,
            ..
        } => seal(&lab, authority, *generation, json),
        Command::Dkg(cmd) => dkg(&lab, cmd, json),
        Command::Reshare(cmd) => reshare(&lab, cmd, json),
        Command::Retire {
            authority,
            generation,
            at,
        } => retire(&lab, authority, *generation, at.as_deref(), json),
        Command::Log(LogCommand::Show) => log_show(&lab, json),
        Command::Log(LogCommand::Prove { index, out }) => {
            log_prove(&lab, *index, out.as_deref(), json)
        }
        Command::Log(LogCommand::Cosign { authority, at }) => {
            log_cosign(&lab, authority, at.as_deref(), json)
        }
    }
}

fn parse_time(s: Option<&str>) -> Result<OffsetDateTime> {
    Ok(escrow::identity::time_or_now("--at", s)?)
}

/// Generation `g`, or the newest.
fn load_generation(lab: &Lab, g: Option<u32>) -> escrow::Result<PublicParams> {
    match g {
        Some(g) => lab.load_generation(g),
        None => lab.load_params(),
    }
}

/// The names of a generation's authorities, in index order.
fn names_of(params: &PublicParams) -> Vec<String> {
    params
        .authorities()
        .iter()
        .map(|a| a.name.clone())
        .collect()
}

/// The first 16 hex digits of a generation's master public key.
fn key_prefix(params: &PublicParams) -> String {
    hex::encode(params.master_public_key().to_compressed())[..16].to_owned()
}

/// The join fingerprints a command used, as a JSON object (authority → fingerprint).
fn fingerprints_json(fps: &[(String, String)]) -> serde_json::Value {
    fps.iter()
        .map(|(a, f)| (a.clone(), serde_json::Value::from(f.as_str())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Excluded dealers with their reasons, as a JSON array.
fn excluded_json(excluded: &[(String, String)]) -> serde_json::Value {
    excluded
        .iter()
        .map(|(who, why)| json!({"authority": who, "reason": why}))
        .collect()
}

/// The join fingerprints a command used, for each authority to compare with the one its own
/// `join` printed (and with what the others published out of band).
fn print_fingerprints(out: &mut impl Write, fps: &[(String, String)]) -> Result<()> {
    let list: Vec<String> = fps.iter().map(|(a, f)| format!("{a} {f}")).collect();
    writeln!(out, "  joins used (fingerprints): {}", list.join(", "))?;
    Ok(())
}

/// "no complaint" or "complains about: a, b".
fn complaints_text(who: &str, checked: &str, complaints: &[String]) -> String {
    if complaints.is_empty() {
        format!("{who} checked every {checked}: no complaint.")
    } else {
        format!("{who} complains about: {}.", complaints.join(", "))
    }
}

/// "revealed no value", "revealed 1 value", "revealed 2 values".
fn revealed_text(who: &str, n: usize, one: &str, many: &str) -> String {
    match n {
        0 => format!("{who} revealed no {one}: no one complained about its deal."),
        n => format!(
            "{who} revealed {} in answer to complaints.",
            plural(n as u64, one, many)
        ),
    }
}

fn dkg(lab: &Lab, cmd: &DkgCommand, json: bool) -> Result<()> {
    use escrow::dkg::board;
    let mut out = std::io::stdout().lock();
    match cmd {
        DkgCommand::Start {
            authorities,
            threshold,
            epoch_length,
            realm,
            at,
        } => {
            let mut req =
                SetupRequest::new(authorities.clone(), *threshold, parse_time(at.as_deref())?);
            req.realm = realm.clone();
            req.epoch_length = parse_epoch_length(epoch_length)?;
            escrow::params::check_authorities(&req.authorities, req.threshold)?;
            board::start(lab, &req, &mut rand_core::OsRng)?;
            let (id, what) = board::describe_proposal(lab)?;
            let dir = lab.root().join("dkg");
            if json {
                return print_json(&json!({
                    "version": 1, "proposal": id, "proposes": what,
                    "authorities": req.authorities, "threshold": req.threshold,
                    "board": path_text(&dir),
                }));
            }
            writeln!(
                out,
                "DKG session opened in {}: {what}; no key made here. Proposal {id}: publish it; \
                 each authority runs escrow dkg join --as <itself> --proposal {id}.",
                shown(&dir),
            )?;
        }
        DkgCommand::Join {
            authority,
            proposal,
        } => {
            let (id, what) = board::describe_proposal(lab)?;
            check_proposal_id(&id, proposal.as_deref())?;
            let j = board::join_as(lab, authority, &mut rand_core::OsRng)?;
            let fingerprint = board::fingerprint(&j);
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "proposal": id, "proposes": what,
                    "fingerprint": fingerprint,
                }));
            }
            writeln!(
                out,
                "{} joined proposal {id} ({what}) with its own keys (secrets in its private \
                 state, 0600); fingerprint {fingerprint}: note it, and compare every \
                 authority's out of band.",
                printable(authority),
            )?;
        }
        DkgCommand::Verify => {
            let v = board::verify(lab)?;
            let fps = board::fingerprints(lab)?;
            let q = &v.qualified;
            let installed = lab.load_generation(q.params.generation()).ok();
            if !v.markers_agree {
                anyhow::bail!(
                    "the authorities' finished markers do not name this transcript and key"
                );
            }
            if installed
                .as_ref()
                .is_some_and(|p| p.master_public_key() != q.params.master_public_key())
            {
                anyhow::bail!(
                    "generation {} in params.json is not the key this transcript makes",
                    q.params.generation()
                );
            }
            if json {
                return print_json(&json!({
                    "version": 1, "generation": q.params.generation(),
                    "dealers": q.params.authorities().len(), "qualified": q.qualified,
                    "excluded": excluded_json(&q.excluded),
                    "master_public_key": hex::encode(q.params.master_public_key().to_compressed()),
                    "notes": v.notes, "fingerprints": fingerprints_json(&fps),
                    "markers_agree": true, "installed": installed.is_some(),
                }));
            }
            print_fingerprints(&mut out, &fps)?;
            writeln!(
                out,
                "DKG transcript: every message signed by its sender; {} of {} qualified; \
                 master key {}.",
                q.qualified.len(),
                plural(q.params.authorities().len() as u64, "dealer", "dealers"),
                key_prefix(&q.params)
            )?;
            for (who, why) in &q.excluded {
                writeln!(out, "  excluded {who}: {}", printable(why))?;
            }
            for n in &v.notes {
                writeln!(out, "  note: {}", printable(n))?;
            }
            match installed {
                Some(p) => writeln!(
                    out,
                    "Every finished marker names this transcript and key; generation {} in \
                     params.json is this key.",
                    p.generation()
                )?,
                None => writeln!(
                    out,
                    "Every finished marker names this transcript and key; not installed yet."
                )?,
            }
        }
        DkgCommand::Deal { authority } => {
            let d = board::deal_as(lab, authority, &mut rand_core::OsRng)?;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "rows": d.rows.len(),
                }));
            }
            writeln!(
                out,
                "{authority} dealt: a commitment and {}.",
                plural(d.rows.len() as u64, "encrypted row", "encrypted rows")
            )?;
        }
        DkgCommand::Respond { authority } => {
            let r = board::respond_as(lab, authority)?;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "complaints": r.complaints,
                }));
            }
            writeln!(out, "{}", complaints_text(authority, "row", &r.complaints))?;
        }
        DkgCommand::Justify { authority } => {
            let j = board::justify_as(lab, authority)?;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "revealed": j.rows.len(),
                }));
            }
            writeln!(
                out,
                "{}",
                revealed_text(authority, j.rows.len(), "row", "rows")
            )?;
        }
        DkgCommand::Finish {
            authority,
            fingerprints,
            ..
        } => {
            board::check_fingerprints(&board::fingerprints(lab)?, authority, fingerprints)?;
            let f = board::finish_as(lab, authority, &mut rand_core::OsRng)?;
            let q = &f.qualified;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority,
                    "dealers": q.params.authorities().len(), "qualified": q.qualified,
                    "excluded": excluded_json(&q.excluded),
                    "master_public_key": hex::encode(q.params.master_public_key().to_compressed()),
                    "notes": f.notes, "fingerprints": fingerprints_json(&f.fingerprints),
                    "installed": f.installed,
                    "generation": f.installed.then(|| q.params.generation()),
                }));
            }
            writeln!(
                out,
                "{authority} finished: {} of {} qualified; master key {}.",
                q.qualified.len(),
                plural(q.params.authorities().len() as u64, "dealer", "dealers"),
                key_prefix(&q.params)
            )?;
            for (who, why) in &q.excluded {
                writeln!(out, "  excluded {who}: {}", printable(why))?;
            }
            for n in &f.notes {
                writeln!(out, "  note: {}", printable(n))?;
            }
            print_fingerprints(&mut out, &f.fingerprints)?;
            if f.installed {
                writeln!(
                    out,
                    "Every authority has finished with the same transcript and key: generation \
                     installed in {} (DKG secrets destroyed). No one held the master key if each \
                     authority's state was its own and the fingerprints above are those the \
                     authorities published.",
                    shown(lab.root())
                )?;
            }
        }
    }
    Ok(())
}

/// Refuses a proposal other than the one the starter published (`--proposal HEX`).
fn check_proposal_id(id: &str, expected: Option<&str>) -> Result<()> {
    if let Some(e) = expected
        && !e.trim().eq_ignore_ascii_case(id)
    {
        anyhow::bail!(
            "the open proposal is {id}, not {}: it was changed after it was published; do not join",
            printable(e.trim())
        );
    }
    Ok(())
}

fn reshare(lab: &Lab, cmd: &ReshareCommand, json: bool) -> Result<()> {
    use escrow::dkg::reshare_board as board;
    let mut out = std::io::stdout().lock();
    match cmd {
        ReshareCommand::Start {
            authorities,
            threshold,
            dealers,
            generation,
        } => {
            let params = load_generation(lab, *generation)?;
            let c = board::start(
                lab,
                params.generation(),
                dealers.clone(),
                authorities.clone(),
                *threshold,
                &mut rand_core::OsRng,
            )?;
            let (id, what) = board::describe_proposal(lab)?;
            if json {
                return print_json(&json!({
                    "version": 1, "generation": c.old.generation(), "proposal": id,
                    "proposes": what, "authorities": c.to, "threshold": c.threshold,
                    "dealers": c.from, "parties": c.parties,
                    "board": path_text(&lab.root().join("reshare")),
                }));
            }
            writeln!(
                out,
                "Resharing opened: {what}; no key made here. Proposal {id}: publish it; each of \
                 {} runs escrow reshare join --as <itself> --proposal {id}.",
                c.parties.join(", ")
            )?;
        }
        ReshareCommand::Join {
            authority,
            proposal,
        } => {
            let (id, what) = board::describe_proposal(lab)?;
            check_proposal_id(&id, proposal.as_deref())?;
            let j = board::join_as(lab, authority, &mut rand_core::OsRng)?;
            let fingerprint = escrow::dkg::board::fingerprint(&j);
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "proposal": id, "proposes": what,
                    "fingerprint": fingerprint,
                }));
            }
            writeln!(
                out,
                "{} joined proposal {id} ({what}) with its own keys; fingerprint {fingerprint}: \
                 note it, and compare every party's out of band.",
                printable(authority),
            )?;
        }
        ReshareCommand::Deal { authority, .. } => {
            let d = board::deal_as(lab, authority, &mut rand_core::OsRng)?;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "values": d.rows.len(),
                }));
            }
            writeln!(
                out,
                "{authority} dealt its share: a commitment and {}.",
                plural(d.rows.len() as u64, "encrypted value", "encrypted values")
            )?;
        }
        ReshareCommand::Respond { authority } => {
            let r = board::respond_as(lab, authority)?;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "complaints": r.complaints,
                }));
            }
            writeln!(
                out,
                "{}",
                complaints_text(authority, "value", &r.complaints)
            )?;
        }
        ReshareCommand::Justify { authority } => {
            let j = board::justify_as(lab, authority)?;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "revealed": j.rows.len(),
                }));
            }
            writeln!(
                out,
                "{}",
                revealed_text(authority, j.rows.len(), "value", "values")
            )?;
        }
        ReshareCommand::Finish {
            authority,
            fingerprints,
            ..
        } => {
            let fps = board::fingerprints(lab)?;
            escrow::dkg::board::check_fingerprints(&fps, authority, fingerprints)?;
            check_sealing(lab)?;
            // The old sharing's size, for the revocations needed (n − k + 1 of the old n).
            let old_n = board::load_config(lab)?.old.authorities().len();
            let p = board::finish_as(lab, authority)?;
            let r = &p.reshared;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "threshold": r.params.threshold(),
                    "authorities": names_of(&r.params), "used": r.used,
                    "excluded": excluded_json(&r.excluded),
                    "revocations_needed": p.needed, "old_authorities": old_n,
                    "fingerprints": fingerprints_json(&fps),
                }));
            }
            print_fingerprints(&mut out, &fps)?;
            writeln!(
                out,
                "{authority} finished: new share staged; {} of {} with the same master key, \
                 from the shares of {}.",
                r.params.threshold(),
                r.params.authorities().len(),
                r.used.join(", ")
            )?;
            for (who, why) in &r.excluded {
                writeln!(out, "  excluded {who}: {}", printable(why))?;
            }
            writeln!(
                out,
                "Next, once every new authority has finished: escrow reshare revoke --as <each \
                 old authority> ({} of the {} old authorities needed).",
                p.needed,
                old_n.max(p.needed)
            )?;
        }
        ReshareCommand::Abandon => {
            let g = board::abandon(lab)?;
            if json {
                return print_json(&json!({"version": 1, "generation": g, "abandoned": true}));
            }
            writeln!(
                out,
                "Resharing of generation {g} abandoned before any revocation: the old sharing \
                 stays in force; every party's resharing state destroyed."
            )?;
        }
        ReshareCommand::Revoke {
            authority,
            at,
            fingerprints,
        } => {
            let fps = board::fingerprints(lab)?;
            escrow::dkg::board::check_fingerprints(&fps, authority, fingerprints)?;
            let p = board::revoke_as(lab, authority, parse_time(at.as_deref())?)?;
            let new = &p.reshared.params;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "revoked": p.revoked,
                    "revocations_needed": p.needed, "completed": p.completed,
                    "without_share": p.without_share, "fingerprints": fingerprints_json(&fps),
                    "generation": new.generation(), "threshold": new.threshold(),
                    "authorities": names_of(new),
                }));
            }
            print_fingerprints(&mut out, &fps)?;
            writeln!(
                out,
                "{authority} checked the new sharing, destroyed its old share and logged it \
                 ({} of the {} needed: {}).",
                p.revoked.len().min(p.needed),
                plural(p.needed as u64, "revocation", "revocations"),
                p.revoked.join(", ")
            )?;
            if !p.without_share.is_empty() {
                writeln!(
                    out,
                    "  no new share for: {} ({} staged file is gone or altered; {} no share of \
                     the new sharing)",
                    p.without_share.join(", "),
                    if p.without_share.len() == 1 {
                        "its"
                    } else {
                        "their"
                    },
                    if p.without_share.len() == 1 {
                        "it holds"
                    } else {
                        "they hold"
                    },
                )?;
            }
            if p.completed {
                writeln!(
                    out,
                    "The new sharing is in force: generation {}, {} of {} ({}), same master key; \
                     fewer than k old shares remain.",
                    new.generation(),
                    new.threshold(),
                    new.authorities().len(),
                    names_of(new).join(", ")
                )?;
            }
        }
    }
    Ok(())
}

fn refresh(lab: &Lab, generation: Option<u32>, json: bool) -> Result<()> {
    let params = load_generation(lab, generation)?;
    let c = escrow::dkg::reshare_board::start(
        lab,
        params.generation(),
        None,
        names_of(&params),
        params.threshold(),
        &mut rand_core::OsRng,
    )?;
    let (id, _) = escrow::dkg::reshare_board::describe_proposal(lab)?;
    if json {
        return print_json(&json!({
            "version": 1, "generation": c.old.generation(), "proposal": id,
            "threshold": c.threshold, "parties": c.parties,
            "board": path_text(&lab.root().join("reshare")),
        }));
    }
    writeln!(
        std::io::stdout().lock(),
        "Refresh of generation {} opened (a resharing to the same {} of {}), proposal {id}: \
         each authority runs escrow reshare join --as <itself> --proposal {id}, then deal, \
         respond, justify, finish and revoke; the master key stays, every share changes, the \
         old ones are destroyed.",
        c.old.generation(),
        c.threshold,
        c.to.len()
    )?;
    Ok(())
}

/// A command that writes shares refuses to write them plain into a lab with sealed shares
/// (of any generation: a prompt opened them, but no passphrase was given to seal new ones).
fn check_sealing(lab: &Lab) -> Result<()> {
    if lab.seals() {
        return Ok(());
    }
    let generations = lab.load_generations()?;
    let any_sealed = generations.iter().any(|p| {
        p.authorities().iter().any(|a| {
            escrow::lab::read_limited(
                &lab.share_path_of(&a.name, p.generation()),
                escrow::lab::MAX_FILE_LEN,
            )
            .is_ok_and(|b| escrow::sealed::is_sealed(&b))
        })
    });
    if any_sealed {
        anyhow::bail!(
            "this lab's shares are sealed: pass --passphrase-env VAR or --passphrase-prompt so that the new shares are sealed too"
        );
    }
    Ok(())
}

fn setup(lab: &Lab, args: &SetupArgs, json: bool) -> Result<()> {
    let mut req = SetupRequest::new(
        args.authorities.clone(),
        args.threshold,
        parse_time(args.at.as_deref())?,
    );
    req.realm = args.realm.clone();
    req.epoch_length = parse_epoch_length(&args.epoch_length)?;
    req.valid_from = args
        .valid_from
        .as_deref()
        .map(|t| escrow::identity::time_or_now("--valid-from", Some(t)))
        .transpose()?;
    if let Some(days) = args.valid_days {
        let start = match req.valid_from {
            Some(f) => f,
            None => {
                let e = escrow::identity::epoch_of(req.created_at, req.epoch_length)?;
                let start = OffsetDateTime::from_unix_timestamp((e * req.epoch_length) as i64)?;
                req.valid_from = Some(start);
                start
            }
        };
        req.valid_until = Some(
            i64::try_from(days)
                .ok()
                .and_then(|d| d.checked_mul(86_400))
                .and_then(|secs| start.checked_add(time::Duration::seconds(secs)))
                .filter(|_| days > 0)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--valid-days {days}: must be at least 1 and end before year 10000"
                    )
                })?,
        );
    }
    // Refuse before any key material is made or any file is touched.
    escrow::params::check_authorities(&req.authorities, req.threshold)?;
    escrow::identity::check_name("realm", &req.realm)?;
    lab.check_empty_for_setup()?;
    let (params, shares, dkg) = if args.dkg {
        let (params, shares, q, transcript) = escrow::dkg::run_all(&req, &mut rand_core::OsRng)?;
        (params, shares, Some((q, transcript)))
    } else {
        let (params, shares) = dealer_setup(&req, &mut rand_core::OsRng)?;
        (params, shares, None)
    };
    let log =
        escrow::transparency::generate_log(&req.realm, &req.authorities, &mut rand_core::OsRng);
    lab.write_setup(&params, &shares, &log)?;
    if let Some((_, t)) = &dkg {
        escrow::dkg::board::write_transcript(lab, t)?;
    }
    if json {
        return print_json(&json!({
            "version": 1,
            "lab": path_text(lab.root()),
            "params": serde_json::from_slice::<serde_json::Value>(&params.to_json()?)?,
            "share_files": params.authorities().iter()
                .map(|a| path_text(&lab.share_path(&a.name))).collect::<Vec<_>>(),
            "sealed": lab.seals(),
        }));
    }
    let mut out = std::io::stdout().lock();
    match &dkg {
        Some((q, _)) => writeln!(
            out,
            "Created generation {} of realm '{}' in {} with a SIMULATION of the authorities' \
             DKG: {} of {} qualified, but this one process made every authority's keys and \
             saw every share, so it could have computed the master key; transcript in {}.",
            params.generation(),
            params.realm(),
            shown(lab.root()),
            q.qualified.len(),
            plural(params.authorities().len() as u64, "dealer", "dealers"),
            shown(&lab.root().join("dkg"))
        )?,
        None => writeln!(
            out,
            "Created generation {} of realm '{}' in {}:",
            params.generation(),
            params.realm(),
            shown(lab.root())
        )?,
    }
    describe(&mut out, &params, None)?;
    writeln!(
        out,
        "Share files (mode 0600, one per authority{}):",
        if lab.seals() {
            ", sealed with the passphrase"
        } else {
            ""
        }
    )?;
    for a in params.authorities() {
        writeln!(out, "  {}", shown(&lab.share_path(&a.name)))?;
    }
    Ok(())
}

fn info(lab: &Lab, generation: Option<u32>, json: bool) -> Result<()> {
    let generations = lab.load_generations()?;
    if let Some(g) = generation {
        generations.get(g)?;
    }
    warn_plain_shares(lab, &generations);
    if json {
        let params = match generation {
            Some(g) => generations.get(g)?,
            None => generations.newest(),
        };
        std::io::stdout().lock().write_all(&params.to_json()?)?;
        return Ok(());
    }
    let now = OffsetDateTime::now_utc();
    let current = escrow::identity::epoch_of(now, generations.newest().epoch_length())
        .ok()
        .and_then(|e| generations.for_epoch(e))
        .map(|p| p.generation());
    let config = lab.load_log_config()?;
    let reshares = reshares(lab, &config)?;
    let mut out = std::io::stdout().lock();
    let mut first = true;
    for params in generations.iter() {
        if generation.is_some_and(|g| g != params.generation()) {
            continue;
        }
        if !first {
            writeln!(out)?;
        }
        first = false;
        let mark = if current == Some(params.generation()) {
            " — messengers wrap to it now"
        } else {
            ""
        };
        writeln!(
            out,
            "Generation {} of realm '{}' ({}){mark}:",
            params.generation(),
            params.realm(),
            shown(&lab.params_path_of(params.generation()))
        )?;
        // A newer generation supersedes this one from its start, for good.
        let superseded = generations
            .iter()
            .filter(|p| p.generation() > params.generation())
            .filter_map(|p| p.valid_from().map(|f| (p.generation(), f)))
            .min_by_key(|(_, f)| *f);
        describe(&mut out, params, superseded)?;
        for (time, revoked) in reshares
            .iter()
            .filter(|(g, ..)| *g == params.generation())
            .map(|(_, t, r)| (t, r))
        {
            writeln!(
                out,
                "  reshared:       {} (same key; the old shares of {} destroyed)",
                printable(time),
                revoked.join(", ")
            )?;
        }
        let retired = escrow::authority::retired_by(lab, params, &config)?;
        if !retired.is_empty() {
            let left = params.authorities().len() - retired.len();
            writeln!(
                out,
                "  retired by:     {} ({} {}{})",
                retired.join(", "),
                plural(left as u64, "share", "shares"),
                if left == 1 { "remains" } else { "remain" },
                if left < params.threshold() {
                    ": unrecoverable"
                } else {
                    ""
                }
            )?;
        }
    }
    if current.is_none() {
        writeln!(
            out,
            "No generation covers the current epoch: messengers cannot send until a rotation."
        )?;
    }
    Ok(())
}

/// The resharings (and refreshes) the log records: (generation, time, old shares revoked).
fn reshares(
    lab: &Lab,
    config: &escrow::transparency::LogConfig,
) -> Result<Vec<(u32, String, Vec<String>)>> {
    let store = lab.open_log_read_only(config)?;
    let mut out = Vec::new();
    for i in 0..store.size()? {
        if let escrow::transparency::LogEntry::GenerationReshared {
            generation,
            revoked,
            time,
            ..
        } = store.entry(i)?.entry
        {
            out.push((generation, time, revoked));
        }
    }
    Ok(out)
}

/// One warning for every share file of the lab stored without a passphrase, naming them.
fn warn_plain_shares(lab: &Lab, generations: &escrow::Generations) {
    let mut groups = Vec::new();
    let mut count = 0u64;
    let several = generations.iter().count() > 1;
    for p in generations.iter() {
        let names: Vec<&str> = p
            .authorities()
            .iter()
            .map(|a| a.name.as_str())
            .filter(|a| {
                escrow::lab::read_limited(
                    &lab.share_path_of(a, p.generation()),
                    escrow::lab::MAX_FILE_LEN,
                )
                .is_ok_and(|b| !escrow::sealed::is_sealed(&b))
            })
            .collect();
        if names.is_empty() {
            continue;
        }
        count += names.len() as u64;
        groups.push(if several {
            format!("generation {}: {}", p.generation(), names.join(", "))
        } else {
            names.join(", ")
        });
    }
    if count == 0 {
        return;
    }
    eprintln!(
        "escrow: warning: {} stored without a passphrase ({}); seal {} with `escrow seal --as A{} \
         --passphrase-env VAR`",
        plural(count, "share file", "share files"),
        groups.join("; "),
        if count == 1 { "it" } else { "each" },
        if several { " --generation G" } else { "" }
    );
}

/// The public description of a generation; `superseded`: the newer generation that takes
/// over from its start, if any.
fn describe(
    out: &mut impl Write,
    params: &PublicParams,
    superseded: Option<(u32, OffsetDateTime)>,
) -> Result<()> {
    let n = params.authorities().len();
    let k = params.threshold();
    let made = match params.setup() {
        escrow::params::SetupKind::TrustedDealer => "a trusted dealer (its polynomial destroyed)",
        escrow::params::SetupKind::JointFeldmanDkg => {
            "the authorities' joint-Feldman DKG, one command each (no one held it if each \
             authority's state was its own)"
        }
        escrow::params::SetupKind::SimulatedDkg => {
            "a joint-Feldman DKG simulated in one process (which saw every share)"
        }
        _ => "an unknown method",
    };
    writeln!(out, "  key made by:    {made}")?;
    let of_n = plural(n as u64, "authority", "authorities");
    match k - 1 {
        0 => writeln!(
            out,
            "  threshold:      1 of {of_n}: each one alone releases a key"
        )?,
        1 => writeln!(
            out,
            "  threshold:      2 of {of_n} together release a key; one alone learns nothing"
        )?,
        f => writeln!(
            out,
            "  threshold:      {k} of {of_n} together release a key; any {f} learn nothing"
        )?,
    }
    writeln!(
        out,
        "  epoch length:   {} (a released key opens one account for one epoch)",
        format_epoch_length(params.epoch_length())
    )?;
    let policy = params.policy();
    writeln!(
        out,
        "  policy:         a warrant spans at most {} (whole epochs) and names at most {}",
        plural(u64::from(policy.max_span_days), "day", "days"),
        plural(u64::from(policy.max_targets), "target", "targets")
    )?;
    writeln!(
        out,
        "  created at:     {}",
        params.created_at().format(&Rfc3339)?
    )?;
    let from = match params.valid_from() {
        Some(t) => t.format(&Rfc3339)?,
        None => "the beginning".to_owned(),
    };
    let until = match (params.valid_until(), superseded) {
        (Some(u), Some((g, s))) if s < u => {
            format!("{} (generation {g} takes over)", s.format(&Rfc3339)?)
        }
        (Some(u), _) => u.format(&Rfc3339)?,
        (None, Some((g, s))) => format!("{} (generation {g} takes over)", s.format(&Rfc3339)?),
        (None, None) => "a rotation".to_owned(),
    };
    writeln!(out, "  valid:          from {from} until {until}")?;
    let mpk = hex::encode(params.master_public_key().to_compressed());
    writeln!(
        out,
        "  master key:     {}…{} (G1)",
        &mpk[..16],
        &mpk[mpk.len() - 8..]
    )?;
    writeln!(out, "  authorities:")?;
    let width = params
        .authorities()
        .iter()
        .map(|a| a.name.chars().count())
        .max()
        .unwrap_or(0);
    for a in params.authorities() {
        let pk = hex::encode(a.public_key_share.to_compressed());
        writeln!(
            out,
            "    #{:<2} {:<width$}  public key share {}…",
            a.index,
            a.name,
            &pk[..16]
        )?;
    }
    Ok(())
}

fn seal(lab: &Lab, authority: &str, generation: Option<u32>, json: bool) -> Result<()> {
    if !lab.seals() {
        anyhow::bail!(
            "escrow seal needs the passphrase: --passphrase-env VAR or --passphrase-prompt"
        );
    }
    let params = load_generation(lab, generation)?;
    if params.authority(authority).is_none() {
        return Err(escrow::Error::NotAnAuthority(authority.to_owned()).into());
    }
    let path = lab.share_path_of(authority, params.generation());
    let bytes = escrow::lab::read_limited(&path, escrow::lab::MAX_FILE_LEN)?;
    if escrow::sealed::is_sealed(&bytes) {
        anyhow::bail!("{}: already sealed", path.display());
    }
    // Loads and checks the plain share, seals it (Argon2id, outside the lock), then replaces
    // the file under the log's lock if nothing changed it meanwhile (a retirement, say).
    let share = lab.load_share(&params, authority)?;
    let sealed = lab.encode_share(&share)?;
    lab.replace_shares(
        &params,
        &[(authority.to_owned(), zeroize::Zeroizing::new(bytes), sealed)],
        None,
    )?;
    if json {
        return print_json(&json!({
            "version": 1, "authority": authority, "generation": params.generation(),
            "share_file": path_text(&path),
        }));
    }
    writeln!(
        std::io::stdout().lock(),
        "{authority}'s share of generation {} is sealed (Argon2id + AES-256-GCM): {}",
        params.generation(),
        shown(&path)
    )?;
    Ok(())
}

fn rotate(lab: &Lab, args: &cli::RotateArgs, json: bool) -> Result<()> {
    let mut req = escrow::rotate::RotateRequest::new(parse_time(args.at.as_deref())?);
    req.valid_from = args
        .valid_from
        .as_deref()
        .map(|t| escrow::identity::time_or_now("--valid-from", Some(t)))
        .transpose()?;
    req.valid_days = args.valid_days;
    req.authorities = args.authorities.clone();
    req.threshold = args.threshold;
    req.dkg = args.dkg;
    check_sealing(lab)?;
    let params = escrow::rotate::rotate(lab, &req, &mut rand_core::OsRng)?;
    if json {
        return print_json(&json!({
            "version": 1,
            "params": serde_json::from_slice::<serde_json::Value>(&params.to_json()?)?,
            "params_file": path_text(&lab.params_path_of(params.generation())),
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Rotated to generation {}, logged as generation-created:",
        params.generation()
    )?;
    describe(&mut out, &params, None)?;
    writeln!(
        out,
        "Chains of the epochs it covers wrap to it; older generations stay until their \
         authorities retire them (escrow retire --as A --generation N)."
    )?;
    Ok(())
}

fn retire(
    lab: &Lab,
    authority: &str,
    generation: Option<u32>,
    at: Option<&str>,
    json: bool,
) -> Result<()> {
    let generations = lab.load_generations()?;
    let params = match generation {
        Some(g) => generations.get(g)?.clone(),
        None if generations.iter().count() > 1 => anyhow::bail!(
            "this lab holds generations {}: name the one to retire with --generation N",
            generations
                .iter()
                .map(|p| p.generation().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => generations.newest().clone(),
    };
    let at = parse_time(at)?;
    let r = escrow::authority::retire(lab, authority, Some(params.generation()), at)?;
    if json {
        return print_json(&json!({
            "version": 1, "authority": authority, "generation": params.generation(),
            "new": r.new, "retired": r.retired, "unrecoverable": r.unrecoverable,
        }));
    }
    let mut out = std::io::stdout().lock();
    let n = params.authorities().len();
    let done = r.retired.len();
    let tally = format!(
        "{done} of {} {} retired it",
        plural(n as u64, "authority", "authorities"),
        if done == 1 { "has" } else { "have" }
    );
    if r.new {
        writeln!(
            out,
            "{authority} destroyed its share of generation {} and logged generation-retired \
             ({tally}).",
            params.generation(),
        )?;
    } else {
        writeln!(
            out,
            "{authority} had already retired generation {}: nothing new logged ({tally}).",
            params.generation(),
        )?;
    }
    if r.unrecoverable {
        writeln!(
            out,
            "Fewer than {} remain: the generation's traffic can no longer be opened.",
            plural(params.threshold() as u64, "share", "shares")
        )?;
    }
    Ok(())
}

/// An input file of `kind` (a `noun`), read (at most 1 MiB) and checked to be of that kind: a
/// missing file says how to make it (`missing`), a file of another kind says which it is.
fn read_input(path: &Path, kind: FileKind, noun: &str, missing: &str) -> Result<Vec<u8>> {
    if std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        anyhow::bail!("no {noun} at {}: {missing}", path.display());
    }
    let bytes = escrow::lab::read_limited(path, 1 << 20)?;
    if let Some(message) = wrong_kind(path, &bytes, kind) {
        anyhow::bail!(message);
    }
    Ok(bytes)
}

fn approve(lab: &Lab, args: &ApproveArgs, json: bool) -> Result<()> {
    use escrow::warrant::Warrant;

    let authority = args.authority.as_str();
    let at = parse_time(args.at.as_deref())?;
    let warrant_file = read_input(
        &args.warrant,
        FileKind::Warrant,
        "warrant",
        "draft one with `auditor warrant new … --out FILE`",
    )?;
    let warrant = Warrant::from_json(&warrant_file)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.warrant.display()))?;
    let receipt_file = read_input(
        &args.receipt,
        FileKind::Receipt,
        "receipt",
        &format!(
            "run `auditor warrant submit {}` first",
            args.warrant.display()
        ),
    )?;
    let receipt = ProofBundle::from_json(&receipt_file)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.receipt.display()))?;
    let out = args.out.clone().unwrap_or_else(|| {
        let mut p = args.warrant.clone().into_os_string();
        p.push(format!(".{authority}.approval.json"));
        p.into()
    });
    let digest = warrant.digest()?;
    // The one --out rule (escrow::lab::write_output), checked before anything is released or
    // logged: an existing file stays only if it holds exactly the approval this authority
    // already handed out for this warrant (a re-run, which releases nothing new); anything
    // else is refused now. The temporary file is created now too, so that a folder that
    // cannot take the approval fails here, not after the release is logged.
    if std::fs::symlink_metadata(&out).is_ok() {
        match journaled_approval(lab, authority, &digest)? {
            Some(bytes) => {
                escrow::lab::check_output(&out, &bytes)?;
            }
            None => escrow::lab::refuse_existing_output(&out)?,
        }
    }
    let file = escrow::lab::AtomicFile::create(&out, 0o600)?;
    // Rules 1-7 are checked before anything is written (escrow::authority::approve).
    let approved = escrow::authority::approve(lab, authority, &warrant, &receipt, at)?;
    let written = file.commit_new(&approved.bytes)?;
    let (approval, new) = (&approved.approval, approved.new);
    if json {
        return print_json(&json!({
            "version": 1, "authority": authority, "reference": warrant.reference,
            "digest": hex::encode(digest), "identities": approval.identity_shares.len(),
            "new": new, "approval": path_text(&out), "result": result_text(written),
        }));
    }
    let mut o = std::io::stdout().lock();
    if new {
        writeln!(
            o,
            "{authority} approved warrant {}: {} released, key-released logged.",
            printable(&warrant.reference),
            plural(
                approval.identity_shares.len() as u64,
                "identity-key share",
                "identity-key shares"
            )
        )?;
        if let Some(release) = &approval.release {
            let size =
                SignedCheckpoint::verify(release.checkpoint.as_bytes(), &lab.load_log_config()?)?
                    .size();
            writeln!(
                o,
                "The release is entry {} of the log, in the checkpoint of size {size} that \
                 {authority} cosigned as a witness and keeps; the approval carries the proof.",
                release.index
            )?;
        }
    } else {
        writeln!(
            o,
            "{authority} had already approved warrant {}: same approval, nothing new released.",
            printable(&warrant.reference)
        )?;
    }
    match written {
        Written::Created => writeln!(o, "Approval written (secret, mode 0600): {}", shown(&out))?,
        _ => writeln!(
            o,
            "Approval unchanged: {} already holds exactly this approval.",
            shown(&out)
        )?,
    }
    Ok(())
}

/// The approval `authority` handed out for the warrant with this digest, from its journal
/// (without creating a journal that does not exist).
fn journaled_approval(lab: &Lab, authority: &str, digest: &[u8; 32]) -> Result<Option<Vec<u8>>> {
    escrow::identity::check_name("authority", authority)?;
    let path = lab.authorities_dir().join(authority).join("journal.sqlite");
    if !path.is_file() {
        return Ok(None);
    }
    Ok(escrow::approval::Journal::open(&path)?.find(digest)?)
}

fn log_show(lab: &Lab, json: bool) -> Result<()> {
    let config = lab.load_log_config()?;
    let store = lab.open_log(&config)?;
    let note = store.latest_checkpoint()?;
    let cp = SignedCheckpoint::verify(&note, &config)?;
    let size = store.size()?;
    let entries = (0..size)
        .map(|i| store.entry(i))
        .collect::<escrow::Result<Vec<_>>>()?;
    if json {
        return print_json(&json!({
            "version": 1,
            "origin": config.origin,
            "size": size,
            "root": hex::encode(cp.root().0),
            "checkpoint": String::from_utf8_lossy(&note),
            "entries": entries.iter().map(|r| &r.entry).collect::<Vec<_>>(),
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Log {} — {}, root {}",
        printable(&config.origin),
        plural(size, "entry", "entries"),
        hex::encode(cp.root().0)
    )?;
    writeln!(out, "Newest checkpoint (signed note, with cosignatures):")?;
    // Every text of the log (entries, cosignature lines) is printed escaped: a record
    // cannot forge a line of this listing.
    for line in String::from_utf8_lossy(&note).lines() {
        writeln!(out, "  {}", printable(line))?;
    }
    writeln!(out, "Entries:")?;
    let width = size.saturating_sub(1).to_string().len();
    for (i, r) in entries.iter().enumerate() {
        writeln!(
            out,
            "  #{i:<width$}  {:<19}  {}  {}",
            r.entry.kind(),
            printable(r.entry.time()),
            printable(&summary(&r.entry))
        )?;
    }
    Ok(())
}

fn summary(e: &escrow::transparency::LogEntry) -> String {
    use escrow::transparency::LogEntry::*;
    match e {
        WarrantLogged {
            reference,
            target_count,
            epoch_count,
            ..
        } => format!(
            "{reference}: {} × {}",
            plural(u64::from(*target_count), "target", "targets"),
            plural(u64::from(*epoch_count), "epoch", "epochs")
        ),
        KeyReleased {
            authority,
            identity_count,
            digest,
            ..
        } => format!(
            "{authority} released {} for {}…",
            plural(u64::from(*identity_count), "key share", "key shares"),
            short(digest)
        ),
        WarrantExecuted {
            messages_decrypted,
            digest,
            ..
        } => format!(
            "{} decrypted for {}…",
            plural(*messages_decrypted, "message", "messages"),
            short(digest)
        ),
        GenerationCreated {
            realm,
            generation,
            threshold,
            authorities,
            ..
        } => format!(
            "{realm} generation {generation}: {threshold} of {} ({})",
            authorities.len(),
            authorities.join(", ")
        ),
        GenerationRetired {
            generation,
            authority,
            ..
        } => format!("generation {generation} retired by {authority}"),
        SharingRevoked {
            generation,
            authority,
            ..
        } => format!("{authority} revoked its old share of generation {generation}"),
        GenerationReshared {
            generation,
            threshold,
            authorities,
            revoked,
            ..
        } => format!(
            "generation {generation} reshared: {threshold} of {} ({}); old shares of {} revoked",
            authorities.len(),
            authorities.join(", "),
            revoked.join(", ")
        ),
    }
}

/// The first 12 characters (never a byte slice through a character).
fn short(s: &str) -> String {
    s.chars().take(12).collect()
}

fn log_prove(lab: &Lab, index: u64, out: Option<&Path>, json: bool) -> Result<()> {
    let config = lab.load_log_config()?;
    let store = lab.open_log(&config)?;
    let bundle = ProofBundle::build(&store, index)?;
    let bytes = bundle.to_json()?;
    let path = match out {
        Some(p) if p != Path::new("-") => p,
        // The bundle itself is the document, with or without --json.
        _ => return Ok(std::io::stdout().lock().write_all(&bytes)?),
    };
    let written = escrow::lab::write_output(path, &bytes, 0o644)?;
    if json {
        return print_json(&json!({
            "version": 1, "index": index, "out": path_text(path),
            "result": result_text(written),
        }));
    }
    let mut o = std::io::stdout().lock();
    match written {
        Written::Created => writeln!(
            o,
            "Proof bundle of entry {index} written to {}.",
            shown(path)
        )?,
        _ => writeln!(
            o,
            "Proof bundle of entry {index} unchanged: {} already holds exactly this bundle.",
            shown(path)
        )?,
    }
    Ok(())
}

fn log_cosign(lab: &Lab, authority: &str, at: Option<&str>, json: bool) -> Result<()> {
    let now = parse_time(at)?;
    let c = escrow::authority::cosign(lab, authority, now)?;
    let (cp, line, previous) = (c.checkpoint, c.line, c.previous);
    if json {
        return print_json(&json!({
            "version": 1, "authority": authority, "checkpoint": cp.label(),
            "previous": previous, "cosignature": line.trim_end(),
        }));
    }
    let mut out = std::io::stdout().lock();
    match previous {
        Some(p) => writeln!(
            out,
            "{authority} checked checkpoint {} against {p} (consistent) and cosigned it.",
            cp.label()
        )?,
        None => writeln!(
            out,
            "{authority} cosigned checkpoint {} (its first).",
            cp.label()
        )?,
    }
    Ok(())
}
