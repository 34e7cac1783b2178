//! `auditor log verify` and `auditor log stats`: the public monitor
//! ([`auditor::verify_log_with`]) and what it found.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use escrow::encoding::printable;
use escrow::lab::{Lab, read_limited};
use escrow::transparency::proof::ProofBundle;

use crate::cli::LogCommand;
use crate::count;

/// A proof the log must still hold, from a receipt, an approval (its release proof) or an
/// execution report.
fn load_proof(path: &Path) -> Result<(String, ProofBundle)> {
    let bytes = read_limited(path, 64 << 20)?;
    let name = path.display().to_string();
    let bundle = auditor::procedure::proof_of(&bytes).map_err(|e| match e {
        auditor::Error::NotAProof(p) => anyhow::anyhow!("{name}: {p}"),
        e => anyhow::Error::new(e),
    })?;
    Ok((name, bundle))
}

/// `auditor log verify --url URL`: the served log from its tiles
/// ([`escrow_net::verify::verify_served`]), remembered per log in `auditor/served-logs.json`.
fn verify_served(lab: &Lab, url: &str, json: bool) -> Result<()> {
    let config = lab.load_log_config()?;
    let path = lab.served_logs_state_path();
    let mut state = escrow_net::verify::Remembered::load(&path)?;
    let served = escrow_net::verify::verify_served(url, &config, &mut state)?;
    state.save(&path)?;
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({"version": 1, "ok": true, "served": served});
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "Served log verified from its tiles: {}, root {}.",
        count(served.size as usize, "entry", "entries"),
        served.root
    )?;
    writeln!(
        out,
        "The checkpoint is signed by the log; every entry bundle and hash tile ({} fetched) \
         matches the recomputed tree.",
        served.tiles
    )?;
    if served.cosigned_by.is_empty() {
        writeln!(out, "No witness cosigned this checkpoint.")?;
    } else {
        writeln!(out, "Cosigned by: {}.", served.cosigned_by.join(", "))?;
    }
    match &served.previous {
        Some(p) => writeln!(out, "It extends the checkpoint verified here before ({p}).")?,
        None => writeln!(out, "First verification of this log from here; remembered.")?,
    }
    Ok(())
}

pub fn log(lab: &Lab, cmd: &LogCommand, json: bool) -> Result<()> {
    if let LogCommand::Verify { url: Some(url), .. } = cmd {
        return verify_served(lab, url, json);
    }
    let proofs = match cmd {
        LogCommand::Verify { proofs, .. } => proofs
            .iter()
            .map(|p| load_proof(p))
            .collect::<Result<Vec<_>>>()?,
        LogCommand::Stats => Vec::new(),
    };
    let report = auditor::verify_log_with(lab, &proofs)?;
    let mut out = std::io::stdout().lock();
    match (cmd, json) {
        (LogCommand::Verify { .. }, true) => {
            let doc = serde_json::json!({"version": 1, "ok": true, "report": report});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        (LogCommand::Verify { .. }, false) => {
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
        (LogCommand::Stats, true) => {
            let doc = serde_json::json!({"version": 1, "size": report.size, "stats": report.stats});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        (LogCommand::Stats, false) => {
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
