//! `auditor`: thin binary over the `auditor` library.

#![forbid(unsafe_code)]

mod cli;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use escrow::lab::Lab;

use cli::{Cli, Command, LogCommand, WarrantCommand};
use escrow::encoding::printable;
use escrow::filekind::FileKind;
use escrow::identity::time_or_now;
use escrow::lab::read_limited;
use escrow::transparency::proof::ProofBundle;
use escrow::warrant::{Warrant, WarrantDraft};

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
            let message = printable(&format!("{e:#}").replace('\n', " ")).into_owned();
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

fn run(cli: &Cli) -> Result<()> {
    let lab = Lab::new(&cli.lab);
    if let Command::Warrant(w) = &cli.command {
        return warrant(&lab, w, cli.json);
    }
    if let Command::Execute {
        warrant,
        approvals,
        capture,
        at,
        out,
    } = &cli.command
    {
        return execute(
            &lab,
            warrant,
            approvals,
            capture,
            at.as_deref(),
            out.as_deref(),
            cli.json,
        );
    }
    let proofs = match &cli.command {
        Command::Log(LogCommand::Verify { proofs }) => proofs
            .iter()
            .map(|p| load_proof(p))
            .collect::<Result<Vec<_>>>()?,
        _ => Vec::new(),
    };
    let report = auditor::verify_log_with(&lab, &proofs)?;
    let mut out = std::io::stdout().lock();
    match (&cli.command, cli.json) {
        (Command::Log(LogCommand::Verify { .. }), true) => {
            let doc = serde_json::json!({"version": 1, "ok": true, "report": report});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        (Command::Log(LogCommand::Verify { .. }), false) => {
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
                writeln!(
                    out,
                    "  {a}: {} cosigned, the largest of size {}",
                    count(*n as usize, "checkpoint", "checkpoints"),
                    report.witnessed_by.get(a).copied().unwrap_or(0)
                )?;
            }
            writeln!(
                out,
                "The log still holds every checkpoint the witnesses and the auditor accepted{}.",
                if proofs.is_empty() {
                    String::new()
                } else {
                    format!(", and the {} given", count(proofs.len(), "proof", "proofs"))
                }
            )?;
            if report.unwitnessed == 0 {
                writeln!(out, "Witnessed: all {} entries.", report.size)?;
            } else {
                writeln!(
                    out,
                    "Warning: unwitnessed tail: entries {}..{} are not covered by any witness's \
                     cosignature (witnessed size {}); run `escrow log cosign --as NAME`.",
                    report.witnessed_size,
                    report.size - 1,
                    report.witnessed_size
                )?;
            }
        }
        (Command::Log(LogCommand::Stats), true) => {
            let doc = serde_json::json!({"version": 1, "size": report.size, "stats": report.stats});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        (Command::Warrant(_) | Command::Execute { .. }, _) => unreachable!("handled above"),
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
            writeln!(
                out,
                "  identities released  {} (target × epoch, once per warrant; {} released by k)",
                s.identities_released,
                count(s.warrants_with_releases as usize, "warrant", "warrants")
            )?;
            if s.warrants_below_threshold > 0 {
                writeln!(
                    out,
                    "  below the threshold  {} (shares released by fewer authorities than k: no key)",
                    count(s.warrants_below_threshold as usize, "warrant", "warrants")
                )?;
            }
            writeln!(
                out,
                "  identity-key shares  {} (one per identity and releasing authority)",
                s.identity_key_shares_released
            )?;
            writeln!(
                out,
                "  warrants executed    {} ({} decrypted, each counted once)",
                s.warrants_executed,
                count(s.messages_decrypted as usize, "message", "messages")
            )?;

            // Months and names come from the log's entries: printed escaped.
            for (m, n) in &s.warrants_per_month {
                writeln!(out, "  {:<20} {n}", format!("warrants in {}", printable(m)))?;
            }
            for (a, n) in &s.releases_by_authority {
                writeln!(out, "  {:<20} {n}", format!("releases by {}", printable(a)))?;
            }
        }
    }
    Ok(())
}

/// A proof the log must still hold, from a receipt, an approval (its release proof) or an
/// execution report.
fn load_proof(path: &std::path::Path) -> Result<(String, ProofBundle)> {
    let bytes = read_limited(path, 64 << 20)?;
    let name = path.display().to_string();
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{name}: malformed JSON: {e}"))?;
    let bundle = match value.get("kind").and_then(serde_json::Value::as_str) {
        Some("escrow-lab/log-proof") => ProofBundle::from_json(&bytes)?,
        Some("escrow-lab/approval") => escrow::approval::Approval::from_json(&bytes)?
            .release
            .ok_or_else(|| anyhow::anyhow!("{name}: the approval carries no release proof"))?,
        _ => match value.pointer("/log/execution") {
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| anyhow::anyhow!("{name}: malformed execution proof: {e}"))?,
            None => anyhow::bail!(
                "{name}: not a receipt, an approval or an execution report (no proof to check)"
            ),
        },
    };
    Ok((name, bundle))
}

fn warrant(lab: &Lab, cmd: &WarrantCommand, json: bool) -> Result<()> {
    match cmd {
        WarrantCommand::New {
            reference,
            targets,
            from,
            to,
            issuer,
            justification,
            expires,
            legal_type,
            jurisdiction,
            at,
            out,
            generation,
        } => {
            let now = time_or_now("--at", at.as_deref())?;
            let generations = lab.load_generations()?;
            let (start, end) = (
                time_or_now("--from", Some(from))?,
                time_or_now("--to", Some(to))?,
            );
            let generation = match generation {
                Some(g) => generations.get(*g)?.generation(),
                None => escrow::warrant::generation_for(&generations, start, end)?,
            };
            let params = generations.get(generation)?;
            let draft = WarrantDraft {
                reference: reference.clone(),
                legal_type: legal_type.clone(),
                issuing_authority: issuer.clone(),
                jurisdiction: jurisdiction
                    .clone()
                    .unwrap_or_else(|| params.realm().to_owned()),
                targets: targets.clone(),
                start,
                end,
                expires: match expires {
                    Some(e) => time_or_now("--expires", Some(e))?,
                    None => now.checked_add(time::Duration::days(7)).ok_or_else(|| {
                        anyhow::anyhow!(
                            "--at is too late for the default expiry (seven days later)"
                        )
                    })?,
                },
                justification: justification.clone(),
                generation,
            };
            // A fresh nonce makes every warrant new: an existing --out file is refused.
            if let Some(path) = out.as_deref() {
                escrow::lab::refuse_existing_output(path)?;
            }
            let w = Warrant::new(draft, &mut rand_core::OsRng)?;
            // Every check without an authority's secret, now: a warrant no authority could
            // approve is not drafted.
            let notes = auditor::check_draft(lab, &w, now)?;
            auditor::check_targets_in_lab(lab, &w, now)?;
            for n in &notes {
                eprintln!("note: {n}");
            }
            let bytes = w.to_json()?;
            let digest = hex::encode(w.digest()?);
            match out {
                Some(path) => {
                    escrow::lab::write_output(path, &bytes, 0o600)?;
                    if json {
                        let doc = serde_json::json!({
                            "version": 1, "ok": true, "reference": w.reference,
                            "digest": digest, "warrant": path.display().to_string(),
                            "notes": notes,
                        });
                        writeln!(
                            std::io::stdout().lock(),
                            "{}",
                            serde_json::to_string_pretty(&doc)?
                        )?;
                    } else {
                        eprintln!(
                            "Warrant {} (digest {digest}) written to {}.",
                            printable(&w.reference),
                            printable(&path.display().to_string())
                        );
                    }
                }
                None => std::io::stdout().lock().write_all(&bytes)?,
            }
            Ok(())
        }
        WarrantCommand::Submit { file, out, at } => {
            let now = time_or_now("--at", at.as_deref())?;
            let bytes = read_kind(file, 1 << 20, FileKind::Warrant)?;
            let w = Warrant::from_json(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let receipt_path = out.clone().unwrap_or_else(|| {
                let mut p = file.clone().into_os_string();
                p.push(".receipt.json");
                p.into()
            });
            let digest = hex::encode(w.digest()?);
            // The --out rule, before anything is logged: an existing receipt file is left as
            // it is if it proves this warrant's entry, else refused.
            // The drafting checks first (by arithmetic and lookups), then the --out rule;
            // both before anything is logged.
            auditor::check_draft(lab, &w, now)?;
            auditor::check_targets_in_lab(lab, &w, now)?;
            let kept = existing_receipt(lab, &receipt_path, &digest)?;
            let sub = auditor::submit_warrant(lab, &w, now)?;
            if kept.is_none() {
                escrow::lab::write_output(&receipt_path, &sub.receipt.to_json()?, 0o644)?;
            }
            for n in &sub.notes {
                eprintln!("note: {n}");
            }
            let mut o = std::io::stdout().lock();
            if json {
                let doc = serde_json::json!({
                    "version": 1, "ok": true, "reference": w.reference, "digest": digest,
                    "index": sub.index, "new": sub.new, "receipt": receipt_path.display().to_string(),
                    "receipt_unchanged": kept.is_some(), "notes": sub.notes,
                });
                writeln!(o, "{}", serde_json::to_string_pretty(&doc)?)?;
            } else if sub.new {
                writeln!(
                    o,
                    "Logged warrant {} as entry {} (digest {digest}).",
                    printable(&w.reference),
                    sub.index
                )?;
                writeln!(
                    o,
                    "Receipt: {}",
                    printable(&receipt_path.display().to_string())
                )?;
            } else {
                writeln!(
                    o,
                    "Warrant {} was already logged as entry {}; {}.",
                    printable(&w.reference),
                    sub.index,
                    if kept.is_some() {
                        "the receipt file already proves it (unchanged)"
                    } else {
                        "receipt written"
                    }
                )?;
                writeln!(
                    o,
                    "Receipt: {}",
                    printable(&receipt_path.display().to_string())
                )?;
            }
            Ok(())
        }
    }
}

fn execute(
    lab: &Lab,
    warrant: &std::path::Path,
    approvals: &[std::path::PathBuf],
    capture: &std::path::Path,
    at: Option<&str>,
    out: Option<&std::path::Path>,
    json: bool,
) -> Result<()> {
    let now = time_or_now("--at", at)?;
    // Every execution's report is new (it proves a new log entry): an existing file is refused.
    if let Some(path) = out {
        escrow::lab::refuse_existing_output(path)?;
    }
    // The report file is created (as a temporary file beside it) before the execution is
    // logged: a report that cannot be written leaves no `warrant-executed` entry behind.
    let reserved = out
        .map(|p| {
            escrow::lab::AtomicFile::create(p, 0o600).map_err(|e| match e {
                escrow::Error::Lab(escrow::LabError::Io { error, .. }) => {
                    anyhow::anyhow!("{}: cannot write the report: {error}", p.display())
                }
                e => anyhow::anyhow!("{}: {e}", p.display()),
            })
        })
        .transpose()?;
    let w = Warrant::from_json(&read_kind(warrant, 1 << 20, FileKind::Warrant)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", warrant.display()))?;
    let files = approvals
        .iter()
        .map(|p| {
            Ok((
                p.display().to_string(),
                read_kind(p, 64 << 20, FileKind::Approval)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let value: serde_json::Value =
        serde_json::from_slice(&read_kind(capture, 256 << 20, FileKind::Capture)?)
            .map_err(|e| anyhow::anyhow!("{}: malformed capture: {e}", capture.display()))?;
    // The version first: an older capture lacks fields this build needs.
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    if version != Some(messenger::relay::CAPTURE_VERSION) {
        let e = auditor::CaptureMismatch::Version(version.unwrap_or(0));
        anyhow::bail!("{}: capture refused: {e}", capture.display());
    }
    let cap: messenger::relay::Capture = serde_json::from_value(value)
        .map_err(|e| anyhow::anyhow!("{}: malformed capture: {e}", capture.display()))?;
    let report = auditor::execute::execute(lab, &w, &files, &cap, now).map_err(|e| match e {
        auditor::Error::Capture(_) => anyhow::anyhow!("{}: {e}", capture.display()),
        e => anyhow::Error::new(e),
    })?;
    let doc = serde_json::to_vec_pretty(&report)?;
    if let Some(file) = reserved {
        file.commit_new(&doc)?;
    }
    let mut o = std::io::stdout().lock();
    if json {
        o.write_all(&doc)?;
        writeln!(o)?;
        return Ok(());
    }
    // Every text of the report comes from a document someone else wrote (warrant, approvals,
    // capture, messages, the relay's record): printed escaped, so that none can forge a line.
    writeln!(
        o,
        "Warrant {} ({}…)",
        printable(&report.warrant.reference),
        &report.warrant.digest[..16]
    )?;
    for a in &report.approvals {
        let who = printable(&a.authority);
        match &a.reason {
            None => writeln!(o, "  approval of {who}: valid")?,
            Some(r) => writeln!(o, "  approval of {who}: REJECTED — {}", printable(r))?,
        }
    }
    writeln!(
        o,
        "Capture of {} from {} to {} (relay {}…): {} envelopes.",
        printable(&report.capture.account),
        printable(&report.capture.from),
        printable(&report.capture.to),
        printable(&report.capture.relay.chars().take(8).collect::<String>()),
        report.capture.envelopes
    )?;
    writeln!(
        o,
        "Logged as entry {} (checked at checkpoint {}); execution logged as entry {},",
        report.log.warrant_entry, report.log.checkpoint, report.log.execution_entry
    )?;
    writeln!(
        o,
        "proven at checkpoint {} (the report carries the proof: `auditor log verify --proof`).",
        report.log.execution_checkpoint
    )?;
    writeln!(
        o,
        "{} decrypted, {} withheld (outside the timespan), {} out of scope (sealed), {} \
         non-compliant.",
        count(report.decrypted.len(), "message", "messages"),
        report.withheld,
        report.out_of_scope,
        report.non_compliant
    )?;
    for m in &report.decrypted {
        writeln!(
            o,
            "  {}  {} → {}: {}   [#{}, start #{} signed by {}]",
            printable(&m.sent_at),
            m.from,
            m.to,
            printable(&m.text),
            m.relay_id,
            m.attribution.chain_start,
            m.from
        )?;
    }
    for (m, what) in report
        .withheld_envelopes
        .iter()
        .map(|m| (m, "withheld"))
        .chain(report.sealed.iter().map(|m| (m, "sealed")))
    {
        writeln!(
            o,
            "  {}  {} → {}: [{what}]",
            printable(&m.sent_at),
            printable(&m.from),
            printable(&m.to)
        )?;
    }
    for n in &report.non_compliant_envelopes {
        writeln!(
            o,
            "  non-compliant #{} {} → {} at {}: {}",
            n.relay_id,
            printable(&n.from),
            printable(&n.to),
            printable(&n.sent_at),
            printable(&n.reason)
        )?;
    }
    for q in &report.equivocations {
        let starts: Vec<String> = q.starts.iter().map(|s| format!("#{s}")).collect();
        writeln!(
            o,
            "  EQUIVOCATION: {} signed {} different starts of one chain to {} ({}){}",
            q.from,
            q.starts.len(),
            q.to,
            starts.join(", "),
            match q.accepted {
                Some(a) => format!("; {} accepted #{a}", q.to),
                None => String::new(),
            }
        )?;
    }
    if !report.decrypted.is_empty() {
        writeln!(
            o,
            "Each text is attributed by its chain's start, signed by the sender's identity key;"
        )?;
        writeln!(
            o,
            "whoever knows the chain key (the recipient, now also the key's holders) could have \
             written it."
        )?;
    }
    Ok(())
}

/// The receipt already at `path`, if it proves the `warrant-logged` entry of `digest` (then it
/// is left as it is); none if there is no file; any other file is refused (the `--out` rule).
fn existing_receipt(
    lab: &Lab,
    path: &std::path::Path,
    digest: &str,
) -> Result<Option<ProofBundle>> {
    if path.symlink_metadata().is_err() {
        return Ok(None);
    }
    let config = lab.load_log_config()?;
    let same = read_limited(path, 1 << 20)
        .ok()
        .and_then(|b| ProofBundle::from_json(&b).ok())
        .filter(|r| {
            r.verify(&config).is_ok_and(|(rec, _)| {
                matches!(&rec.entry, escrow::transparency::LogEntry::WarrantLogged { digest: d, .. } if d == digest)
            })
        });
    match same {
        Some(r) => Ok(Some(r)),
        None => Err(escrow::Error::from(escrow::LabError::OutputExists {
            path: path.to_owned(),
            what: "already exists and is not this warrant's receipt",
        })
        .into()),
    }
}

/// Reads a file the command expects to be of `kind`; a file recognisably of another kind (a
/// receipt given as the warrant, a warrant given as an approval…) is refused naming both.
fn read_kind(path: &std::path::Path, max: u64, kind: FileKind) -> Result<Vec<u8>> {
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

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
