//! `messenger send` and `messenger read`: the crash-safe procedures of
//! [`messenger::procedure`] over the lab's files, and what they did printed.

use std::io::{Read, Write};

use anyhow::{Result, bail};
use messenger::Outcome;
use messenger::envelope::MAX_TEXT_LEN;
use messenger::procedure::read::{Inbox, read_in_lab};
use messenger::procedure::send::send_in_lab;
use messenger::procedure::{ClientFiles, When, rfc3339};

use crate::{Tool, print};

/// The text of `send`: the argument, or standard input for `-` (the procedure refuses an
/// empty or invisible text).
fn read_text(text: &str) -> Result<Vec<u8>> {
    if text != "-" {
        return Ok(text.as_bytes().to_vec());
    }
    let mut buf = Vec::new();
    std::io::stdin()
        .take(MAX_TEXT_LEN as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| anyhow::anyhow!("reading the text from standard input: {e}"))?;
    if buf.len() > MAX_TEXT_LEN {
        bail!("message text too large (at most {MAX_TEXT_LEN} bytes)");
    }
    Ok(String::from_utf8(buf)
        .map_err(|_| anyhow::anyhow!("the text is not UTF-8"))?
        .into_bytes())
}

pub fn send(
    files: &mut ClientFiles,
    from: &str,
    to: &str,
    when: When,
    text: &str,
    json: bool,
) -> Result<()> {
    messenger::account::check_account(from)?;
    messenger::account::check_account(to)?;
    let text = read_text(text)?;
    let d = send_in_lab(files, (from, to), &text, when, &mut Tool)?;
    let (env, now, id) = (&d.sent.envelope, d.time, d.relay_id);
    let epoch = env
        .start
        .as_ref()
        .and_then(|s| s.escrow.as_ref())
        .map(|b| b.epoch);
    let chain = if env.start.is_some() {
        format!(
            "new chain with escrow block ({} bytes: wraps to {from} and {to}, epoch {})",
            env.escrow_bytes(),
            epoch.unwrap_or(0)
        )
    } else {
        format!("message {} of its chain", env.n)
    };
    let mut warnings = Vec::new();
    if let Some((old, n)) = &d.sent.position_taken {
        warnings.push(format!(
            "state rolled back: message {n} of chain {}… to {to} was already sent (the relay \
             holds it: a client state restored from a backup, or an envelope posted under your \
             name); abandoned that chain and started a new session",
            &messenger::keys::public_hex(old)[..16]
        ));
    }
    if d.sent.no_one_time_prekey {
        warnings.push(format!(
            "warning: the relay gave no one-time prekey for {to}: this session has no DH4 \
             (weaker against a later key compromise)"
        ));
    }
    for w in &warnings {
        eprintln!("messenger: {w}");
    }
    let doc = serde_json::json!({
        "version": 1,
        "relay_id": id,
        "from": from,
        "to": to,
        "sent_at": rfc3339(now),
        "chain": messenger::keys::public_hex(&env.chain),
        "n": env.n,
        "starts_chain": env.start.is_some(),
        "escrow_bytes": env.escrow_bytes(),
        "epoch": epoch,
        "warnings": warnings,
    });
    let text = format!("Sent #{id} {from} → {to} at {}: {chain}.\n", rfc3339(now));
    print(json, &doc, &text)
}

pub fn read(files: &mut ClientFiles, account: &str, when: When, json: bool) -> Result<()> {
    read_in_lab(
        files,
        account,
        when,
        &mut Tool,
        |inbox: &Inbox| -> Result<()> {
            let shown = shown(inbox, json)?;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&shown)?;
            stdout.flush()?;
            Ok(())
        },
    )?;
    Ok(())
}

/// What `read` shows: one JSON document, or one line per envelope.
fn shown(inbox: &Inbox, json: bool) -> Result<Vec<u8>> {
    let Inbox {
        account,
        time: now,
        outcomes,
        times,
        later,
    } = inbox;
    let (now, later) = (*now, *later);
    let mut out: Vec<u8> = Vec::new();
    // Every message shown carries its relay time (collected with the envelopes it came from).
    let time_of = |id: &i64| -> Result<String> {
        times
            .get(id)
            .map(|t| rfc3339(*t))
            .ok_or_else(|| anyhow::anyhow!("internal error: no relay time for envelope #{id}"))
    };
    if json {
        let mut messages = Vec::new();
        let mut held = Vec::new();
        let mut rejected = Vec::new();
        for (id, o) in outcomes {
            match o {
                Outcome::Delivered { from, text } => messages.push(serde_json::json!({
                    "relay_id": id, "from": from, "to": account, "sent_at": time_of(id)?, "text": text,
                })),
                Outcome::Held => held.push(serde_json::json!({"relay_id": id})),
                Outcome::Rejected { from, reason } => rejected.push(serde_json::json!({
                    "relay_id": id, "from": from, "reason": reason,
                })),
            }
        }
        let doc = serde_json::json!({
            "version": 1, "account": account, "read_at": rfc3339(now),
            "messages": messages, "held": held, "rejected": rejected,
            "queued_later": later,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(out);
    }
    if outcomes.is_empty() {
        writeln!(out, "No new messages for {account}.")?;
    }
    for (id, o) in outcomes {
        match o {
            Outcome::Delivered { from, text } => writeln!(
                out,
                "{}  {from} → {account}: {}",
                time_of(id)?,
                escrow::encoding::printable(text)
            )?,
            Outcome::Held => writeln!(
                out,
                "held #{id}: waiting for the first message of its chain (kept for later)"
            )?,
            Outcome::Rejected { from, reason } => writeln!(
                out,
                "REJECTED #{id} from {}: {} (kept for inspection)",
                from.as_deref().unwrap_or("?"),
                escrow::encoding::printable(reason)
            )?,
        }
    }
    if later > 0 {
        writeln!(
            out,
            "{later} {} sent after {} {} queued for a later read.",
            if later == 1 { "message" } else { "messages" },
            rfc3339(now),
            if later == 1 { "stays" } else { "stay" }
        )?;
    }
    Ok(out)
}
