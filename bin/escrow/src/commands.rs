//! `escrow setup`, `info`, `seal`, `rotate`, `retire`, `approve` and `log …`: the options
//! turned into a call of [`escrow::procedure`], and what it did printed.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use escrow::SetupRequest;
use escrow::encoding::printable;
use escrow::filekind::{FileKind, wrong_kind};
use escrow::identity::parse_epoch_length;
use escrow::lab::{Lab, Written};
use escrow::procedure::{approve as approval, info as overview, log, setup as new_lab, shares};
use escrow::transparency::proof::ProofBundle;
use escrow::warrant::Warrant;
use serde_json::json;
use time::OffsetDateTime;

use crate::cli::{ApproveArgs, RotateArgs, SetupArgs};
use crate::parse_time;
use crate::show::{describe, path_text, plural, print_json, result_text, shown, summary};

pub fn setup(lab: &Lab, args: &SetupArgs, json: bool) -> Result<()> {
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
    let options = new_lab::SetupOptions {
        request: req,
        valid_days: args.valid_days,
        dkg: args.dkg,
    };
    let made = new_lab::setup(lab, &options, &mut rand_core::OsRng)?;
    let params = &made.params;
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
    match &made.simulated_dkg {
        Some(q) => writeln!(
            out,
            "Created generation {} of realm '{}' in {} with a SIMULATION of the authorities' \
             DKG: {} of {} qualified, but this one process made every authority's keys and \
             saw every share, so it could have computed the master key; transcript in {}.",
            params.generation(),
            params.realm(),
            shown(lab.root()),
            q.qualified.len(),
            plural(params.authorities().len() as u64, "dealer", "dealers"),
            shown(&lab.dkg_dir())
        )?,
        None => writeln!(
            out,
            "Created generation {} of realm '{}' in {}:",
            params.generation(),
            params.realm(),
            shown(lab.root())
        )?,
    }
    describe(&mut out, params, None)?;
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

pub fn info(lab: &Lab, generation: Option<u32>, json: bool) -> Result<()> {
    let generations = lab.load_generations()?;
    if let Some(g) = generation {
        generations.get(g)?;
    }
    warn_plain_shares(&overview::plain_shares(lab, &generations), &generations);
    if json {
        let params = match generation {
            Some(g) => generations.get(g)?,
            None => generations.newest(),
        };
        std::io::stdout().lock().write_all(&params.to_json()?)?;
        return Ok(());
    }
    let o = overview::overview(lab, &generations, generation, OffsetDateTime::now_utc())?;
    let mut out = std::io::stdout().lock();
    for (i, g) in o.generations.iter().enumerate() {
        let params = &g.params;
        if i > 0 {
            writeln!(out)?;
        }
        let mark = if o.current == Some(params.generation()) {
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
        describe(&mut out, params, g.superseded)?;
        for r in &g.reshared {
            writeln!(
                out,
                "  reshared:       {} (same key; the old shares of {} destroyed)",
                printable(&r.time),
                r.revoked.join(", ")
            )?;
        }
        if !g.retired_by.is_empty() {
            let left = g.shares_left();
            writeln!(
                out,
                "  retired by:     {} ({} {}{})",
                g.retired_by.join(", "),
                plural(left as u64, "share", "shares"),
                if left == 1 { "remains" } else { "remain" },
                if g.unrecoverable() {
                    ": unrecoverable"
                } else {
                    ""
                }
            )?;
        }
    }
    if o.current.is_none() {
        writeln!(
            out,
            "No generation covers the current epoch: messengers cannot send until a rotation."
        )?;
    }
    Ok(())
}

/// One warning for every share file of the lab stored without a passphrase, naming them.
fn warn_plain_shares(plain: &[(u32, Vec<String>)], generations: &escrow::Generations) {
    let several = generations.iter().count() > 1;
    let count: u64 = plain.iter().map(|(_, names)| names.len() as u64).sum();
    if count == 0 {
        return;
    }
    let groups: Vec<String> = plain
        .iter()
        .map(|(g, names)| {
            if several {
                format!("generation {g}: {}", names.join(", "))
            } else {
                names.join(", ")
            }
        })
        .collect();
    eprintln!(
        "escrow: warning: {} stored without a passphrase ({}); seal {} with `escrow seal --as A{} \
         --passphrase-env VAR`",
        plural(count, "share file", "share files"),
        groups.join("; "),
        if count == 1 { "it" } else { "each" },
        if several { " --generation G" } else { "" }
    );
}

pub fn seal(lab: &Lab, authority: &str, generation: Option<u32>, json: bool) -> Result<()> {
    let s = shares::seal(lab, authority, generation)?;
    if json {
        return print_json(&json!({
            "version": 1, "authority": authority, "generation": s.generation,
            "share_file": path_text(&s.share_file),
        }));
    }
    writeln!(
        std::io::stdout().lock(),
        "{authority}'s share of generation {} is sealed (Argon2id + AES-256-GCM): {}",
        s.generation,
        shown(&s.share_file)
    )?;
    Ok(())
}

pub fn rotate(lab: &Lab, args: &RotateArgs, json: bool) -> Result<()> {
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
    let params = shares::rotate(lab, &req, &mut rand_core::OsRng)?;
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

pub fn retire(
    lab: &Lab,
    authority: &str,
    generation: Option<u32>,
    at: Option<&str>,
    json: bool,
) -> Result<()> {
    let at = parse_time(at)?;
    let shares::Retired {
        params,
        retirement: r,
    } = shares::retire(lab, authority, generation, at)?;
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

pub fn approve(lab: &Lab, args: &ApproveArgs, json: bool) -> Result<()> {
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
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| approval::default_path(&args.warrant, authority));
    let mut http = match &args.log {
        Some(url) => Some(escrow_net::client::HttpLog::new(
            url,
            lab.load_log_config()?,
            Some(lab.request_signer(authority)?),
        )),
        None => None,
    };
    let log = http
        .as_mut()
        .map(|l| l as &mut dyn escrow::transparency::api::TransparencyLog);
    let a = approval::approve_to(lab, log, authority, &warrant, &receipt, &out, at)?;
    let (approval, new) = (&a.approved.approval, a.approved.new);
    if json {
        return print_json(&json!({
            "version": 1, "authority": authority, "reference": warrant.reference,
            "digest": hex::encode(a.digest), "identities": approval.identity_shares.len(),
            "new": new, "approval": path_text(&out), "result": result_text(a.written),
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
        if let (Some(release), Some(size)) = (&approval.release, a.release_size) {
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
    match a.written {
        Written::Created => writeln!(o, "Approval written (secret, mode 0600): {}", shown(&out))?,
        _ => writeln!(
            o,
            "Approval unchanged: {} already holds exactly this approval.",
            shown(&out)
        )?,
    }
    Ok(())
}

pub fn log_show(lab: &Lab, json: bool) -> Result<()> {
    let l = log::listing(lab)?;
    if json {
        return print_json(&json!({
            "version": 1,
            "origin": l.origin,
            "size": l.size,
            "root": l.root,
            "checkpoint": String::from_utf8_lossy(&l.checkpoint),
            "entries": l.entries.iter().map(|r| &r.entry).collect::<Vec<_>>(),
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Log {} — {}, root {}",
        printable(&l.origin),
        plural(l.size, "entry", "entries"),
        l.root
    )?;
    writeln!(out, "Newest checkpoint (signed note, with cosignatures):")?;
    // Every text of the log (entries, cosignature lines) is printed escaped: a record
    // cannot forge a line of this listing.
    for line in String::from_utf8_lossy(&l.checkpoint).lines() {
        writeln!(out, "  {}", printable(line))?;
    }
    writeln!(out, "Entries:")?;
    let width = l.size.saturating_sub(1).to_string().len();
    for (i, r) in l.entries.iter().enumerate() {
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

pub fn log_prove(lab: &Lab, index: u64, out: Option<&Path>, json: bool) -> Result<()> {
    let bytes = log::prove(lab, index)?.to_json()?;
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

pub fn log_cosign(lab: &Lab, authority: &str, at: Option<&str>, json: bool) -> Result<()> {
    let c = escrow::authority::cosign(lab, authority, parse_time(at)?)?;
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

/// `escrow log serve`: the log operator on `listen` until SIGTERM or SIGINT.
pub fn log_serve(lab: &Lab, listen: &str, witnesses: &[String]) -> Result<()> {
    let witnesses = witnesses
        .iter()
        .map(|w| {
            w.split_once('=')
                .filter(|(a, u)| !a.is_empty() && !u.is_empty())
                .map(|(a, u)| (a.to_owned(), u.to_owned()))
                .ok_or_else(|| anyhow::anyhow!("--witness {w}: expected AUTHORITY=URL"))
        })
        .collect::<Result<Vec<_>>>()?;
    let opts = escrow_net::log_server::Options {
        witnesses,
        ..Default::default()
    };
    escrow_net::log_server::serve(lab, listen, opts, |addr| {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "escrow log serve: listening on http://{addr}");
        let _ = o.flush();
    })?;
    Ok(())
}

/// `escrow witness serve --as AUTHORITY`: the authority's witness on `listen`.
pub fn witness_serve(lab: &Lab, authority: &str, listen: &str) -> Result<()> {
    escrow_net::witness_server::serve(lab, authority, listen, |addr| {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(
            o,
            "escrow witness serve ({authority}): listening on http://{addr}"
        );
        let _ = o.flush();
    })?;
    Ok(())
}
