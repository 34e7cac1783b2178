//! `auditor execute`: the input files read, [`auditor::procedure::execute_into`] called, the
//! report printed.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use auditor::procedure::{execute_into, parse_capture, reserve_report};
use escrow::encoding::printable;
use escrow::filekind::FileKind;
use escrow::identity::time_or_now;
use escrow::lab::Lab;
use escrow::warrant::Warrant;

use crate::{count, read_kind};

/// What `auditor execute` was given.
pub struct Inputs<'a> {
    /// The warrant file.
    pub warrant: &'a Path,
    /// The approval files.
    pub approvals: &'a [PathBuf],
    /// The capture file.
    pub capture: &'a Path,
    /// `--at`.
    pub at: Option<&'a str>,
    /// `--out`.
    pub out: Option<&'a Path>,
    /// `--log URL`: the log service to record the execution through.
    pub log: Option<&'a str>,
}

pub fn execute(lab: &Lab, inputs: &Inputs<'_>, json: bool) -> Result<()> {
    let Inputs {
        warrant,
        approvals,
        capture,
        at,
        out,
        log,
    } = *inputs;
    let now = time_or_now("--at", at)?;
    // Every execution's report is new (it proves a new log entry), and its file is created
    // before the execution is logged.
    let reserved = reserve_report(out)?;
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
    let in_capture = |e: auditor::Error| anyhow::anyhow!("{}: {e}", capture.display());
    let cap =
        parse_capture(&read_kind(capture, 256 << 20, FileKind::Capture)?).map_err(in_capture)?;
    let mut http = log.map(|url| crate::http_log(lab, url)).transpose()?;
    let log = http
        .as_mut()
        .map(|l| l as &mut dyn escrow::transparency::api::TransparencyLog);
    let (report, doc) =
        execute_into(lab, log, &w, &files, &cap, now, reserved).map_err(|e| match e {
            auditor::Error::Capture(_) => in_capture(e),
            e => anyhow::Error::new(e),
        })?;
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
