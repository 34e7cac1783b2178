//! `auditor warrant new` and `auditor warrant submit`: the drafting and the submission of
//! [`auditor::procedure`], and what they did.

use std::io::Write;

use anyhow::Result;
use auditor::procedure::{DraftRequest, default_receipt_path, draft, submit_to};
use escrow::encoding::printable;
use escrow::filekind::FileKind;
use escrow::identity::time_or_now;
use escrow::lab::Lab;
use escrow::warrant::Warrant;

use crate::cli::WarrantCommand;
use crate::read_kind;

pub fn warrant(lab: &Lab, cmd: &WarrantCommand, json: bool) -> Result<()> {
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
            let request = DraftRequest {
                reference: reference.clone(),
                legal_type: legal_type.clone(),
                issuer: issuer.clone(),
                jurisdiction: jurisdiction.clone(),
                targets: targets.clone(),
                start: time_or_now("--from", Some(from))?,
                end: time_or_now("--to", Some(to))?,
                expires: expires
                    .as_deref()
                    .map(|e| time_or_now("--expires", Some(e)))
                    .transpose()?,
                justification: justification.clone(),
                generation: *generation,
            };
            let d = draft(
                lab,
                &generations,
                request,
                now,
                out.as_deref(),
                &mut rand_core::OsRng,
            )?;
            let (w, notes) = (&d.warrant, &d.notes);
            for n in notes {
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
        WarrantCommand::Submit { file, out, at, log } => {
            let now = time_or_now("--at", at.as_deref())?;
            let bytes = read_kind(file, 1 << 20, FileKind::Warrant)?;
            let w = Warrant::from_json(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let receipt_path = out.clone().unwrap_or_else(|| default_receipt_path(file));
            let digest = hex::encode(w.digest()?);
            let mut http = log
                .as_deref()
                .map(|url| crate::http_log(lab, url))
                .transpose()?;
            let log = http
                .as_mut()
                .map(|l| l as &mut dyn escrow::transparency::api::TransparencyLog);
            let s = submit_to(lab, log, &w, &receipt_path, now)?;
            let (sub, kept) = (&s.submission, s.receipt_unchanged);
            for n in &sub.notes {
                eprintln!("note: {n}");
            }
            let mut o = std::io::stdout().lock();
            let receipt = printable(&receipt_path.display().to_string()).into_owned();
            if json {
                let doc = serde_json::json!({
                    "version": 1, "ok": true, "reference": w.reference, "digest": digest,
                    "index": sub.index, "new": sub.new, "receipt": receipt_path.display().to_string(),
                    "receipt_unchanged": kept, "notes": sub.notes,
                });
                writeln!(o, "{}", serde_json::to_string_pretty(&doc)?)?;
            } else if sub.new {
                writeln!(
                    o,
                    "Logged warrant {} as entry {} (digest {digest}).",
                    printable(&w.reference),
                    sub.index
                )?;
                writeln!(o, "Receipt: {receipt}")?;
            } else {
                writeln!(
                    o,
                    "Warrant {} was already logged as entry {}; {}.",
                    printable(&w.reference),
                    sub.index,
                    if kept {
                        "the receipt file already proves it (unchanged)"
                    } else {
                        "receipt written"
                    }
                )?;
                writeln!(o, "Receipt: {receipt}")?;
            }
            Ok(())
        }
    }
}
