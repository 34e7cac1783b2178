//! `messenger send` and `messenger read`: the client's side of the relay, crash-safe (the
//! outbox and the inbox of the client state). (Part of the `messenger` binary.)

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};

use anyhow::{Result, bail};
use escrow::lab::read_limited;
use messenger::account::check_account;
use messenger::envelope::MAX_TEXT_LEN;
use messenger::{Client, EscrowContext, Outcome, Relay};
use rand_core::OsRng;

use crate::files::{MAX_STATE_LEN, Paths, register_first};
use crate::{When, fault, not_before, print, rfc3339};

/// The text of `send`: the argument, or standard input for `-`; never empty, nor only
/// whitespace.
fn read_text(text: &str) -> Result<Vec<u8>> {
    let bytes = if text == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_TEXT_LEN as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| anyhow::anyhow!("reading the text from standard input: {e}"))?;
        if buf.len() > MAX_TEXT_LEN {
            bail!("message text too large (at most {MAX_TEXT_LEN} bytes)");
        }
        String::from_utf8(buf)
            .map_err(|_| anyhow::anyhow!("the text is not UTF-8"))?
            .into_bytes()
    } else {
        text.as_bytes().to_vec()
    };
    if bytes.is_empty() {
        bail!("the message is empty");
    }
    if bytes.len() > MAX_TEXT_LEN {
        bail!("message text too large (at most {MAX_TEXT_LEN} bytes)");
    }
    // Whitespace (Unicode White_Space: spaces, tabs, line breaks) and invisible characters
    // (zero-width spaces, byte-order marks…: `escrow::encoding::is_hidden`) show as nothing.
    if std::str::from_utf8(&bytes).is_ok_and(|t| {
        t.chars()
            .all(|c| c.is_whitespace() || (escrow::encoding::is_hidden(c) && !c.is_control()))
    }) {
        bail!("the message is empty (only whitespace or invisible characters)");
    }
    Ok(bytes)
}

/// Everything about a send's time and parties that could refuse it, checked before a prekey
/// is taken and again, on the state as it is then, before the message is encrypted: both
/// accounts registered, and the sending time not before either registration, nor before the
/// sender's last send or read (its client state's record), nor before the sender's newest
/// envelope at the relay (the relay's own record, which a modified client cannot change:
/// `Relay::check_time`, asked again by `Relay::enqueue`), and inside a generation.
fn check_send(
    tx: &rusqlite::Transaction<'_>,
    client: &Client,
    (from, to): (&str, &str),
    now: i64,
    escrow: &EscrowContext,
) -> Result<()> {
    let Some(sender) = Relay::registered_at(tx, from)? else {
        bail!(
            "sender '{from}' is not registered at the relay; {}",
            register_first(from)
        );
    };
    let Some(recipient) = Relay::registered_at(tx, to)? else {
        bail!("unknown recipient '{to}'; {}", register_first(to));
    };
    not_before(
        "the message",
        now,
        &format!("{from}'s registration"),
        sender,
    )?;
    not_before(
        "the message",
        now,
        &format!("{to}'s registration"),
        recipient,
    )?;
    if let Some(last) = client.last_time() {
        not_before(
            "the message",
            now,
            &format!("{from}'s last send or read"),
            last,
        )?;
    }
    Relay::check_time(tx, from, to, now)?;
    escrow
        .generations()
        .require_for_epoch(escrow.epoch_at(now)?)?;
    Ok(())
}

pub fn send(paths: &Paths, from: &str, to: &str, when: When, text: &str, json: bool) -> Result<()> {
    check_account(from)?;
    check_account(to)?;
    // Everything that could refuse the message is checked before a prekey is taken.
    let text = read_text(text)?;
    if from == to {
        bail!("cannot send to yourself");
    }
    let mut escrow = paths.escrow()?;
    let mut relay = paths.open_relay(from)?;
    // A first message takes one of the recipient's one-time prekeys: that is committed on its
    // own first, so that no later rollback can hand the same prekey to another sender (a crash
    // after this only wastes the prekey). So does a message whose position the relay already
    // holds (a state restored from a backup): it goes on a new session.
    let bundle = {
        let tx = relay.transaction()?;
        let now = when.now()?;
        let client = paths.load_client(from, "sender")?;
        check_send(&tx, &client, (from, to), now, &escrow)?;
        let new_session = match client.next_position(to, now, &escrow)? {
            Some((chain, n)) => Relay::position_taken(&tx, from, to, &chain, n)?,
            None => !client.has_session(to),
        };
        if new_session {
            let b = Relay::take_bundle(&tx, to)?;
            // A bundle that fails its signatures is refused before the prekey is spent.
            b.verify()?;
            tx.commit()?;
            Some(b)
        } else {
            None
        }
    };
    // The relay's write lock is held from before the client state is read until after it is
    // written: concurrent commands of one client are serialized (no message key reused), and
    // the clock is read under it (their times are in the order they run).
    let tx = relay.transaction()?;
    let now = when.now()?;
    let mut client = paths.load_client(from, "sender")?;
    check_send(&tx, &client, (from, to), now, &escrow)?;
    resend_pending(&tx, &mut client)?;
    // Before encrypting, the relay is asked whether it holds the position the state fixes the
    // key and nonce of; if so the message goes on a new session (`Client::send_checked`).
    let sent = client.send_checked(
        to,
        &text,
        now,
        &mut escrow,
        // Never a prekey taken inside this transaction (a crash could roll its use back).
        &mut |acct| {
            bundle.clone().ok_or_else(|| {
                messenger::Error::Misaddressed(if acct == to {
                    "the recipient registered, or this client's state changed, while this send ran; send again"
                } else {
                    "no prekey bundle for this recipient"
                })
            })
        },
        &mut |chain, n| Relay::position_taken(&tx, from, to, chain, n),
        &mut OsRng,
    )?;
    let env = sent.envelope;
    // The state (its position spent, the envelope in the outbox) is saved before the envelope
    // is handed to the relay: whatever the relay does with it — store it, refuse it, fail —
    // the next message never gets this one's key and nonce, and a crash or a refusal loses
    // nothing (the next command sends these same bytes again: `resend_pending`).
    client.push_outbox(&env, now)?;
    client.record_time(now);
    paths.save_client(&client)?;
    fault("send-saved");
    let id = Relay::enqueue(&tx, &env, now).map_err(|e| {
        anyhow::anyhow!(
            "the relay refused the message ({e}); it stays in {from}'s outbox and is sent again \
             by the next command"
        )
    })?;
    tx.commit()?;
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
    if let Some((old, n)) = sent.position_taken {
        warnings.push(format!(
            "state rolled back: message {n} of chain {}… to {to} was already sent (the relay \
             holds it: a client state restored from a backup, or an envelope posted under your \
             name); abandoned that chain and started a new session",
            &messenger::keys::public_hex(&old)[..16]
        ));
    }
    if sent.no_one_time_prekey {
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

/// Makes sure the relay holds every envelope of the client's outbox: a `send` killed after
/// saving its state and before the relay committed lost them, and these same bytes are sent
/// now (with their original relay time).
fn resend_pending(tx: &rusqlite::Transaction<'_>, client: &mut Client) -> Result<()> {
    for (env, time) in client.take_outbox()? {
        if !Relay::holds_exactly(tx, &env)? {
            match Relay::enqueue(tx, &env, time) {
                Ok(_) => {}
                // Another envelope holds its position: these bytes can never be delivered
                // (the recipient takes one message per position). Dropped, and said.
                Err(messenger::Error::PositionTaken { to, chain, n, .. }) => {
                    eprintln!(
                        "messenger: the relay holds another envelope at message {n} of chain \
                         {}… to {to}: an unsent message of the outbox was dropped",
                        &messenger::keys::public_hex(&chain)[..16]
                    );
                    continue;
                }
                // The relay holds a later envelope under this sender's name (posted by
                // someone else, or sent from a state restored from a backup): these bytes,
                // dated earlier, can never be accepted either.
                Err(e @ messenger::Error::TimeBackwards(_)) => {
                    eprintln!(
                        "messenger: the relay refuses an unsent message of the outbox to {} \
                         ({e}): it was dropped",
                        env.to
                    );
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            // Kept until a later command sees this transaction committed.
            client.push_outbox(&env, time)?;
        }
    }
    Ok(())
}

pub fn read(paths: &Paths, account: &str, when: When, json: bool) -> Result<()> {
    check_account(account)?;
    let mut escrow = paths.escrow()?;
    let mut relay = paths.open_relay(account)?;
    let tx = relay.transaction()?;
    let now = when.now()?;
    let mut client = paths.load_client(account, "account")?;
    let Some(registered) = Relay::registered_at(&tx, account)? else {
        bail!(
            "account '{account}' is not registered at the relay; {}",
            register_first(account)
        );
    };
    not_before(
        "the read",
        now,
        &format!("{account}'s registration"),
        registered,
    )?;
    resend_pending(&tx, &mut client)?;
    // A message is never read before it was sent: later ones stay queued.
    let mut batch = Relay::queued_until(&tx, account, now)?;
    let mut later = Relay::queued_after(&tx, account, now)?;
    // The relay time of every message shown (the batch's, the held envelopes', the inbox's).
    let mut times: BTreeMap<i64, i64> = batch.iter().map(|i| (i.relay_id, i.server_time)).collect();
    // Envelopes a failed or killed `read` decrypted (keys consumed, state saved) but the relay
    // never marked: answered from the inbox saved with the state, not decrypted again — only
    // for the very envelope (same id, same stored bytes) still queued or held for this account,
    // and only if it was sent by this read's time. One sent later (the killed read ran at a
    // later time) is neither shown nor marked: it stays in the inbox for a read at a time at
    // or after its sending, and counts as waiting.
    let mut outcomes: Vec<(i64, Outcome)> = Vec::new();
    let mut answered_bodies: Vec<(i64, String)> = Vec::new();
    let mut waiting: Vec<messenger::client::Received> = Vec::new();
    for r in client.take_inbox() {
        let Some((status, recipient, body)) = Relay::status(&tx, r.relay_id)? else {
            continue;
        };
        if !((status == "queued" || status == "held")
            && recipient == account
            && messenger::client::Received::digest_of(&body) == r.digest)
        {
            continue;
        }
        let sent = Relay::time_in(&tx, r.relay_id)?
            .ok_or_else(|| anyhow::anyhow!("internal error: envelope #{} vanished", r.relay_id))?;
        if sent > now {
            // A queued one is counted among the relay's later envelopes already.
            if status != "queued" {
                later += 1;
            }
            waiting.push(r);
            continue;
        }
        times.insert(r.relay_id, sent);
        let text = r.text()?;
        // Kept in the inbox again (with its bytes) until a read commits.
        answered_bodies.push((r.relay_id, body));
        outcomes.push((r.relay_id, Outcome::Delivered { from: r.from, text }));
    }
    let answered: BTreeSet<i64> = outcomes.iter().map(|(id, _)| *id).collect();
    let in_inbox: BTreeSet<i64> = answered
        .iter()
        .copied()
        .chain(waiting.iter().map(|r| r.relay_id))
        .collect();
    client.forget_held(&in_inbox);
    // Held envelopes sent after this read's time (an earlier read ran at a later time) are
    // not retried now: they stay held, and count as waiting (a queued one is counted).
    let held_later = client.take_held_after(now);
    for h in &held_later {
        if let Some((status, recipient, _)) = Relay::status(&tx, h.relay_id)? {
            if status == "held" && recipient == account {
                later += 1;
            }
        }
    }
    times.extend(
        client
            .held_envelopes()
            .iter()
            .map(|i| (i.relay_id, i.server_time)),
    );
    // The inbox never outgrows what a state file may hold: with many messages saved for later
    // reads, this read takes fewer envelopes (the rest stay queued for the next read).
    let room =
        messenger::client::MAX_INBOX.saturating_sub(answered.len() + waiting.len() + client.held());
    batch.truncate(room);
    let bodies: BTreeMap<i64, String> = batch
        .iter()
        .map(|i| (i.relay_id, i.body.clone()))
        .chain(client.held_bodies())
        .chain(answered_bodies)
        .collect();
    let batch: Vec<_> = batch
        .into_iter()
        .filter(|i| !answered.contains(&i.relay_id))
        .collect();
    outcomes.extend(client.receive(
        batch,
        now,
        &mut escrow,
        &mut |acct| Relay::identity(&tx, acct),
        &mut OsRng,
    ));
    client.restore_held(held_later);
    for r in &waiting {
        client.keep_inbox(r.clone());
    }
    for (id, o) in &outcomes {
        Relay::mark(&tx, *id, o)?;
        if let (Outcome::Delivered { from, text }, Some(body)) = (o, bodies.get(id)) {
            client.push_inbox(*id, body, from, text);
        }
    }
    client.record_time(now);
    paths.save_client(&client)?;
    // Shown before the relay commits: a `read` killed in between shows these again (from the
    // inbox, same relay ids), one killed before showing them loses nothing — at-least-once.
    let shown = shown(account, now, &outcomes, &times, later, json)?;
    fault("read-saved");
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&shown)?;
    stdout.flush()?;
    fault("read-shown");
    tx.commit()?;
    // The inbox kept the plaintexts for a crash before the commit; now the state is saved
    // once more without them — under the relay's lock again, and only if no other command of
    // this client has written the state since.
    let saved = paths.last_saved.borrow().clone();
    let tx = relay.transaction()?;
    let now_on_disk = read_limited(&paths.client(account), MAX_STATE_LEN).ok();
    if saved.is_some() && now_on_disk.as_deref() == saved.as_deref().map(|v| v.as_slice()) {
        client.take_inbox();
        // Messages sent after this read's time stay saved for a later read.
        for r in waiting {
            client.keep_inbox(r);
        }
        // The messages are shown and committed: a failure here only leaves the inbox on disk
        // until the next read (which drops it), so it is a warning, not a failure.
        if let Err(e) = paths.save_client(&client) {
            eprintln!(
                "messenger: warning: the inbox stays in the client state until the next read: {e:#}"
            );
        }
    }
    tx.commit()?;
    Ok(())
}

/// What `read` shows: one JSON document, or one line per envelope.
fn shown(
    account: &str,
    now: i64,
    outcomes: &[(i64, Outcome)],
    times: &BTreeMap<i64, i64>,
    later: u64,
    json: bool,
) -> Result<Vec<u8>> {
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
