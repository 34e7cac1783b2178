//! `escrow`: the authorities' tool. Thin: parse, open files, call the library, print.

#![forbid(unsafe_code)]

mod cli;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use escrow::encoding::printable;
use escrow::identity::{format_epoch_length, parse_epoch_length};
use escrow::lab::Lab;
use escrow::{PublicParams, SetupRequest, dealer_setup};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use cli::{ApproveArgs, Cli, Command, DkgCommand, LogCommand, ReshareCommand, SetupArgs};
use escrow::transparency::SignedCheckpoint;
use escrow::transparency::proof::ProofBundle;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if cli.json && matches!(cli.command, Command::Dkg(_) | Command::Reshare(_)) {
        use clap::CommandFactory;
        let e = Cli::command().error(
            clap::error::ErrorKind::ArgumentConflict,
            "--json is not available for the `escrow dkg` and `escrow reshare` steps; they \
             print text (the board's files are the machine-readable record)",
        );
        let _ = e.print();
        return ExitCode::from(2);
    }
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.chain().any(escrow::encoding::is_broken_pipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("escrow: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error on one line, with anything that could forge or hide part of it escaped.
fn one_line(e: &anyhow::Error) -> String {
    printable(&format!("{e:#}").replace('\n', " ")).into_owned()
}

/// The lab, with the passphrase the options give (or a terminal prompt for sealed files).
fn open_lab(cli: &Cli) -> Result<Lab> {
    let lab = Lab::new(&cli.lab);
    let writes = matches!(
        cli.command,
        Command::Setup(_)
            | Command::Rotate(_)
            | Command::Reshare(ReshareCommand::Finish { .. })
            | Command::Seal { .. }
            | Command::Dkg(DkgCommand::Finish { .. })
    );
    Ok(match (&cli.passphrase_env, cli.passphrase_prompt) {
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

fn prompt_for_file(path: &std::path::Path) -> escrow::Result<escrow::sealed::Passphrase> {
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
    match &cli.command {
        Command::Setup(args) => setup(&lab, args, cli.json),
        Command::Info { generation } => info(&lab, *generation, cli.json),
        Command::Approve(args) => approve(&lab, args, cli.json),
        Command::Refresh { generation } => refresh(&lab, *generation, cli.json),
        Command::Rotate(args) => rotate(&lab, args, cli.json),
        Command::Seal {
            authority,
            generation,
        } => seal(&lab, authority, *generation),
        Command::Dkg(cmd) => dkg(&lab, cmd),
        Command::Reshare(cmd) => reshare(&lab, cmd),
        Command::Retire {
            authority,
            generation,
            at,
        } => retire(&lab, authority, *generation, at.as_deref(), cli.json),
        Command::Log(LogCommand::Show) => log_show(&lab, cli.json),
        Command::Log(LogCommand::Prove { index, out }) => log_prove(&lab, *index, out.as_deref()),
        Command::Log(LogCommand::Cosign { authority, at }) => {
            log_cosign(&lab, authority, at.as_deref(), cli.json)
        }
    }
}

fn dkg(lab: &Lab, cmd: &DkgCommand) -> Result<()> {
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
            writeln!(
                out,
                "DKG session opened in {}: {what}; no key made here. Proposal {id}: publish it; \
                 each authority runs escrow dkg join --as <itself> --proposal {id}.",
                printable(&lab.root().join("dkg").display().to_string()),
            )?;
        }
        DkgCommand::Join {
            authority,
            proposal,
        } => {
            let (id, what) = board::describe_proposal(lab)?;
            check_proposal_id(&id, proposal.as_deref())?;
            let j = board::join_as(lab, authority, &mut rand_core::OsRng)?;
            writeln!(
                out,
                "{} joined proposal {id} ({what}) with its own keys (secrets in its private \
                 state, 0600); fingerprint {}: note it, and compare every authority's out of \
                 band.",
                printable(authority),
                board::fingerprint(&j)
            )?;
        }
        DkgCommand::Verify => {
            let v = board::verify(lab)?;
            print_fingerprints(&mut out, &board::fingerprints(lab)?)?;
            let q = &v.qualified;
            let installed = lab.load_generation(q.params.generation()).ok();
            writeln!(
                out,
                "DKG transcript: every message signed by its sender; {} of {} dealers qualified; \
                 master key {}.",
                q.qualified.len(),
                q.params.authorities().len(),
                &hex::encode(q.params.master_public_key().to_compressed())[..16]
            )?;
            for (who, why) in &q.excluded {
                writeln!(out, "  excluded {who}: {}", printable(why))?;
            }
            for n in &v.notes {
                writeln!(out, "  note: {}", printable(n))?;
            }
            if !v.markers_agree {
                anyhow::bail!(
                    "the authorities' finished markers do not name this transcript and key"
                );
            }
            match installed {
                Some(p) if p.master_public_key() == q.params.master_public_key() => writeln!(
                    out,
                    "Every finished marker names this transcript and key; generation {} in \
                     params.json is this key.",
                    p.generation()
                )?,
                Some(_) => anyhow::bail!(
                    "generation {} in params.json is not the key this transcript makes",
                    q.params.generation()
                ),
                None => writeln!(
                    out,
                    "Every finished marker names this transcript and key; not installed yet."
                )?,
            }
        }
        DkgCommand::Deal { authority } => {
            let d = board::deal_as(lab, authority, &mut rand_core::OsRng)?;
            writeln!(
                out,
                "{authority} dealt: a commitment and {} encrypted rows.",
                d.rows.len()
            )?;
        }
        DkgCommand::Respond { authority } => {
            let r = board::respond_as(lab, authority)?;
            match r.complaints.len() {
                0 => writeln!(out, "{authority} checked every row: no complaint.")?,
                _ => writeln!(
                    out,
                    "{authority} complains about: {}.",
                    r.complaints.join(", ")
                )?,
            }
        }
        DkgCommand::Justify { authority } => {
            let j = board::justify_as(lab, authority)?;
            writeln!(
                out,
                "{authority} revealed {} row(s) in answer to complaints.",
                j.rows.len()
            )?;
        }
        DkgCommand::Finish {
            authority,
            fingerprints,
        } => {
            board::check_fingerprints(&board::fingerprints(lab)?, authority, fingerprints)?;
            let f = board::finish_as(lab, authority, &mut rand_core::OsRng)?;
            let q = &f.qualified;
            writeln!(
                out,
                "{authority} finished: {} of {} dealers qualified; master key {}.",
                q.qualified.len(),
                q.params.authorities().len(),
                &hex::encode(q.params.master_public_key().to_compressed())[..16]
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
                    printable(&lab.root().display().to_string())
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

/// The join fingerprints a command used, for each authority to compare with the one its own
/// `join` printed (and with what the others published out of band).
fn print_fingerprints(out: &mut impl Write, fps: &[(String, String)]) -> Result<()> {
    let list: Vec<String> = fps.iter().map(|(a, f)| format!("{a} {f}")).collect();
    writeln!(out, "  joins used (fingerprints): {}", list.join(", "))?;
    Ok(())
}

fn reshare(lab: &Lab, cmd: &ReshareCommand) -> Result<()> {
    use escrow::dkg::reshare_board as board;
    let mut out = std::io::stdout().lock();
    match cmd {
        ReshareCommand::Start {
            to,
            threshold,
            from,
            generation,
        } => {
            let params = load_generation(lab, *generation)?;
            check_sealing(lab)?;
            let c = board::start(
                lab,
                params.generation(),
                from.clone(),
                to.clone(),
                *threshold,
                &mut rand_core::OsRng,
            )?;
            let (id, what) = board::describe_proposal(lab)?;
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
            writeln!(
                out,
                "{} joined proposal {id} ({what}) with its own keys; fingerprint {}: note it, \
                 and compare every party's out of band.",
                printable(authority),
                escrow::dkg::board::fingerprint(&j)
            )?;
        }
        ReshareCommand::Deal { authority } => {
            let d = board::deal_as(lab, authority, &mut rand_core::OsRng)?;
            writeln!(
                out,
                "{authority} dealt its share: a commitment and {} encrypted values.",
                d.rows.len()
            )?;
        }
        ReshareCommand::Respond { authority } => {
            let r = board::respond_as(lab, authority)?;
            match r.complaints.len() {
                0 => writeln!(out, "{authority} checked every value: no complaint.")?,
                _ => writeln!(
                    out,
                    "{authority} complains about: {}.",
                    r.complaints.join(", ")
                )?,
            }
        }
        ReshareCommand::Justify { authority } => {
            let j = board::justify_as(lab, authority)?;
            writeln!(
                out,
                "{authority} revealed {} value(s) in answer to complaints.",
                j.rows.len()
            )?;
        }
        ReshareCommand::Finish {
            authority,
            fingerprints,
        } => {
            escrow::dkg::board::check_fingerprints(
                &board::fingerprints(lab)?,
                authority,
                fingerprints,
            )?;
            check_sealing(lab)?;
            print_fingerprints(&mut out, &board::fingerprints(lab)?)?;
            let p = board::finish_as(lab, authority)?;
            let r = &p.reshared;
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
                 old authority> ({} of {} needed).",
                p.needed,
                r.params.authorities().len().max(p.needed)
            )?;
        }
        ReshareCommand::Abandon => {
            let g = board::abandon(lab)?;
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
            print_fingerprints(&mut out, &fps)?;
            let p = board::revoke_as(lab, authority, parse_time(at.as_deref())?)?;
            writeln!(
                out,
                "{authority} checked the new sharing, destroyed its old share and logged it \
                 ({} of the {} revocations needed: {}).",
                p.revoked.len().min(p.needed),
                p.needed,
                p.revoked.join(", ")
            )?;
            if !p.without_share.is_empty() {
                writeln!(
                    out,
                    "  no new share for: {} (its staged file is gone or altered; it holds no \
                     share of the new sharing)",
                    p.without_share.join(", ")
                )?;
            }
            if p.completed {
                writeln!(
                    out,
                    "The new sharing is in force: generation {}, {} of {} ({}), same master key; \
                     fewer than k old shares remain.",
                    p.reshared.params.generation(),
                    p.reshared.params.threshold(),
                    p.reshared.params.authorities().len(),
                    p.reshared
                        .params
                        .authorities()
                        .iter()
                        .map(|a| a.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
            }
        }
    }
    Ok(())
}

/// Generation `g`, or the newest.
fn load_generation(lab: &Lab, g: Option<u32>) -> escrow::Result<PublicParams> {
    match g {
        Some(g) => lab.load_generation(g),
        None => lab.load_params(),
    }
}

fn refresh(lab: &Lab, generation: Option<u32>, json: bool) -> Result<()> {
    let params = load_generation(lab, generation)?;
    check_sealing(lab)?;
    let names: Vec<String> = params
        .authorities()
        .iter()
        .map(|a| a.name.clone())
        .collect();
    let c = escrow::dkg::reshare_board::start(
        lab,
        params.generation(),
        None,
        names,
        params.threshold(),
        &mut rand_core::OsRng,
    )?;
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({"version": 1, "generation": c.old.generation(),
            "parties": c.parties, "board": lab.root().join("reshare").display().to_string()});
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        let (id, _) = escrow::dkg::reshare_board::describe_proposal(lab)?;
        writeln!(
            out,
            "Refresh of generation {} opened (a resharing to the same {} of {}), proposal {id}: \
             each authority runs escrow reshare join --as itself --proposal {id}, then deal, \
             respond, justify, finish and revoke; the master key stays, every share changes, \
             the old ones are destroyed.",
            c.old.generation(),
            c.threshold,
            c.to.len()
        )?;
    }
    Ok(())
}

fn seal(lab: &Lab, authority: &str, generation: Option<u32>) -> Result<()> {
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
    writeln!(
        std::io::stdout().lock(),
        "{authority}'s share of generation {} is sealed: {} (Argon2id + AES-256-GCM).",
        params.generation(),
        printable(&path.display().to_string())
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
            "this generation's shares are sealed: pass --passphrase-env VAR or --passphrase-prompt so that the new shares are sealed too"
        );
    }
    Ok(())
}

/// Share files of the lab stored without a passphrase.
fn plain_shares(lab: &Lab, generations: &escrow::Generations) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for p in generations.iter() {
        for a in p.authorities() {
            let path = lab.share_path_of(&a.name, p.generation());
            if let Ok(bytes) = escrow::lab::read_limited(&path, escrow::lab::MAX_FILE_LEN) {
                if !escrow::sealed::is_sealed(&bytes) {
                    out.push(path);
                }
            }
        }
    }
    out
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
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({
            "version": 1,
            "params": serde_json::from_slice::<serde_json::Value>(&params.to_json()?)?,
            "params_file": lab.params_path_of(params.generation()).display().to_string(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    let how = if args.dkg {
        "the authorities' DKG"
    } else {
        "a trusted dealer"
    };
    writeln!(
        out,
        "Rotated to generation {} ({how}), logged as generation-created:",
        params.generation()
    )?;
    describe(&mut out, &params)?;
    writeln!(
        out,
        "Chains of epochs it covers wrap to it; older generations stay until their authorities          retire them (escrow retire --generation N)."
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
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({"version": 1, "authority": authority,
            "generation": params.generation(), "new": r.new, "retired": r.retired,
            "unrecoverable": r.unrecoverable});
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        writeln!(
            out,
            "{authority} destroyed its share of generation {} and logged generation-retired \
             ({} of {} authorities have retired it).",
            params.generation(),
            r.retired.len(),
            params.authorities().len()
        )?;
        if r.unrecoverable {
            writeln!(
                out,
                "Fewer than {} shares remain: the generation's traffic can no longer be opened.",
                params.threshold()
            )?;
        }
    }
    Ok(())
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
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({
            "version": 1,
            "origin": config.origin,
            "size": size,
            "root": hex::encode(cp.root().0),
            "checkpoint": String::from_utf8_lossy(&note),
            "entries": entries.iter().map(|r| &r.entry).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "Log {} — {size} entries, root {}",
        config.origin,
        hex::encode(cp.root().0)
    )?;
    writeln!(out, "Newest checkpoint (signed note, with cosignatures):")?;
    // Every text of the log (entries, cosignature lines) is printed escaped: a record
    // cannot forge a line of this listing.
    for line in String::from_utf8_lossy(&note).lines() {
        writeln!(out, "  {}", printable(line))?;
    }
    writeln!(out, "Entries:")?;
    for (i, r) in entries.iter().enumerate() {
        writeln!(
            out,
            "  #{i:<4} {:<19} {}  {}",
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
        } => {
            format!("{reference}: {target_count} targets × {epoch_count} epochs")
        }
        KeyReleased {
            authority,
            identity_count,
            digest,
            ..
        } => {
            format!(
                "{authority} released {identity_count} keys for {}…",
                short(digest)
            )
        }
        WarrantExecuted {
            messages_decrypted,
            digest,
            ..
        } => {
            format!(
                "{messages_decrypted} messages decrypted for {}…",
                short(digest)
            )
        }
        GenerationCreated {
            realm,
            generation,
            threshold,
            authorities,
            ..
        } => format!(
            "{realm} generation {generation}: {threshold} of {}",
            authorities.len()
        ),
        GenerationRetired {
            generation,
            authority,
            ..
        } => {
            format!("generation {generation} retired by {authority}")
        }
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
            "generation {generation} reshared: {threshold} of {} ({} revoked)",
            authorities.len(),
            revoked.join(", ")
        ),
    }
}

/// The first 12 characters (never a byte slice through a character).
fn short(s: &str) -> String {
    s.chars().take(12).collect()
}

fn log_prove(lab: &Lab, index: u64, out: Option<&std::path::Path>) -> Result<()> {
    let config = lab.load_log_config()?;
    let store = lab.open_log(&config)?;
    let bundle = ProofBundle::build(&store, index)?;
    let json = bundle.to_json()?;
    match out {
        Some(path) if path != std::path::Path::new("-") => {
            if path.exists() {
                anyhow::bail!("{}: already exists; choose a new file", path.display());
            }
            escrow::lab::write_atomic(path, &json, 0o644)?;
            eprintln!(
                "Proof bundle of entry {index} written to {}",
                printable(&path.display().to_string())
            );
        }
        _ => std::io::stdout().lock().write_all(&json)?,
    }
    Ok(())
}

fn log_cosign(lab: &Lab, authority: &str, at: Option<&str>, json: bool) -> Result<()> {
    let now = parse_time(at)?;
    let c = escrow::authority::cosign(lab, authority, now)?;
    let (cp, line, previous) = (c.checkpoint, c.line, c.previous);
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({
            "version": 1, "authority": authority, "checkpoint": cp.label(),
            "previous": previous, "cosignature": line.trim_end(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
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
    }
    Ok(())
}

fn parse_time(s: Option<&str>) -> Result<OffsetDateTime> {
    Ok(escrow::identity::time_or_now("--at", s)?)
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
        let how = match &dkg {
            Some((q, _)) => format!(
                "a SIMULATION of the authorities' DKG: {} of {} dealers qualified, but this one \
                 process made every authority's keys and saw every share, so it could have \
                 computed the master key; transcript in {}",
                q.qualified.len(),
                params.authorities().len(),
                printable(&lab.root().join("dkg").display().to_string())
            ),
            None => "trusted dealer; its polynomial is destroyed".to_owned(),
        };
        writeln!(
            out,
            "Created generation {} of realm '{}' in {} ({how}).",
            params.generation(),
            params.realm(),
            printable(&lab.root().display().to_string())
        )?;
        describe(&mut out, &params)?;
        writeln!(out, "Share files (mode 0600, one per authority):")?;
        for a in params.authorities() {
            writeln!(
                out,
                "  {}",
                printable(&lab.share_path(&a.name).display().to_string())
            )?;
        }
    }
    Ok(())
}

fn info(lab: &Lab, generation: Option<u32>, json: bool) -> Result<()> {
    let generations = lab.load_generations()?;
    if let Some(g) = generation {
        generations.get(g)?;
    }
    let plain = plain_shares(lab, &generations);
    if !plain.is_empty() {
        eprintln!(
            "escrow: warning: {} share file(s) stored without a passphrase (e.g. {}); seal each \
             with `escrow seal --as A --passphrase-env VAR`",
            plain.len(),
            printable(&plain[0].display().to_string())
        );
    }
    let mut out = std::io::stdout().lock();
    if json {
        let params = match generation {
            Some(g) => generations.get(g)?,
            None => generations.newest(),
        };
        out.write_all(&params.to_json()?)?;
        return Ok(());
    }
    let now = OffsetDateTime::now_utc();
    let current = escrow::identity::epoch_of(now, generations.newest().epoch_length())
        .ok()
        .and_then(|e| generations.for_epoch(e))
        .map(|p| p.generation());
    let config = lab.load_log_config()?;
    for params in generations.iter() {
        if generation.is_some_and(|g| g != params.generation()) {
            continue;
        }
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
            printable(
                &lab.params_path_of(params.generation())
                    .display()
                    .to_string()
            )
        )?;
        describe(&mut out, params)?;
        let retired = escrow::authority::retired_by(lab, params, &config)?;
        if !retired.is_empty() {
            let left = params.authorities().len() - retired.len();
            writeln!(
                out,
                "  retired by:     {} ({left} shares remain{})",
                retired.join(", "),
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

fn describe(out: &mut impl Write, params: &PublicParams) -> Result<()> {
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
        "  policy:         warrants span at most {} days of keys (whole epochs) and {} targets",
        params.policy().max_span_days,
        params.policy().max_targets
    )?;
    writeln!(
        out,
        "  created at:     {}",
        params.created_at().format(&Rfc3339)?
    )?;
    let bound = |t: Option<OffsetDateTime>, open: &str| -> Result<String> {
        Ok(match t {
            Some(t) => t.format(&Rfc3339)?,
            None => open.to_owned(),
        })
    };
    writeln!(
        out,
        "  valid:          from {} until {}",
        bound(params.valid_from(), "the beginning")?,
        bound(params.valid_until(), "a rotation")?
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

fn approve(lab: &Lab, args: &ApproveArgs, json: bool) -> Result<()> {
    use escrow::warrant::Warrant;

    let authority = args.authority.as_str();
    let at = parse_time(args.at.as_deref())?;
    let warrant = Warrant::from_json(&escrow::lab::read_limited(&args.warrant, 1 << 20)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.warrant.display()))?;
    let receipt = ProofBundle::from_json(&escrow::lab::read_limited(&args.receipt, 1 << 20)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.receipt.display()))?;
    let out = args.out.clone().unwrap_or_else(|| {
        let mut p = args.warrant.clone().into_os_string();
        p.push(format!(".{authority}.approval.json"));
        p.into()
    });
    // An existing file at --out is replaced only by the same approval (a re-run); anything
    // else is refused before the approval is made, so nothing is released or logged.
    let digest = warrant.digest()?;
    if out.symlink_metadata().is_ok() {
        let same = escrow::lab::read_limited(&out, 1 << 20)
            .ok()
            .and_then(|b| escrow::approval::Approval::from_json(&b).ok())
            .is_some_and(|a| a.digest == digest && a.authority == authority);
        if !same {
            anyhow::bail!(
                "{}: already exists and is not {authority}'s approval of this warrant; choose another --out",
                out.display()
            );
        }
    }
    // Rules 1-7 are checked before anything is written (escrow::authority::approve).
    let approved = escrow::authority::approve(lab, authority, &warrant, &receipt, at)?;
    escrow::lab::write_atomic(&out, &approved.bytes, 0o600)?;
    let (approval, new) = (&approved.approval, approved.new);
    let mut o = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({
            "version": 1, "authority": authority, "reference": warrant.reference,
            "digest": hex::encode(digest), "identities": approval.identity_shares.len(),
            "new": new, "approval": out.display().to_string(),
        });
        writeln!(o, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        if new {
            writeln!(
                o,
                "{authority} approved warrant {}: {} identity-key shares released, key-released logged.",
                warrant.reference,
                approval.identity_shares.len()
            )?;
            if let Some(release) = &approval.release {
                let size = SignedCheckpoint::verify(
                    release.checkpoint.as_bytes(),
                    &lab.load_log_config()?,
                )?
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
                warrant.reference
            )?;
        }
        writeln!(
            o,
            "Approval (secret, mode 0600): {}",
            printable(&out.display().to_string())
        )?;
    }
    Ok(())
}
