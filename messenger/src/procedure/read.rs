//! `messenger read`: the queue fetched, verified and decrypted, crash-safe.
//!
//! Under the relay's write lock: the outbox is resent, the envelopes queued for the account
//! and sent at or before the read's time are decrypted ([`Client::receive`]; later ones stay
//! queued), the state is saved with the plaintexts in its inbox, the messages are shown, and
//! only then does the relay mark them. A read killed in between shows the same messages again
//! from the inbox (same relay ids), never decrypting them twice: at least once. Once the relay
//! has committed, the state is saved once more without the plaintexts — under the lock again,
//! and only if no other command of this client has written the state since.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::{CryptoRng, RngCore};

use super::send::resend_pending;
use super::store::ClientFiles;
use super::{ClientStore, Error, Missing, Observer, Point, Result, When, not_before};
use crate::account::check_account;
use crate::client::{MAX_INBOX, Received};
use crate::provider::{RelayService, RelayTx};
use crate::{Client, EscrowContext, Outcome};

/// What a read found.
#[derive(Debug, Clone)]
pub struct Inbox {
    /// The reading account.
    pub account: String,
    /// The read's time (Unix seconds).
    pub time: i64,
    /// Every envelope dealt with, by relay id: delivered, held or rejected.
    pub outcomes: Vec<(i64, Outcome)>,
    /// The relay time of every envelope shown, by relay id.
    pub times: BTreeMap<i64, i64>,
    /// Messages sent after the read's time, left queued (or held) for a later read.
    pub later: u64,
}

/// What the first part of a read leaves for the second.
struct Collected {
    inbox: Inbox,
    /// Saved plaintexts of messages sent after the read's time, kept for a later read.
    waiting: Vec<Received>,
}

/// `account` reads its queue at `when` through `relay`, its state in `store`; `show` is given
/// what it read after the state is saved and before the relay commits (a failure of `show`
/// leaves the envelopes queued, their plaintexts in the inbox).
#[allow(clippy::too_many_arguments)]
pub fn read<S, R, E>(
    relay: &mut dyn RelayService,
    store: &mut S,
    escrow: &mut EscrowContext,
    account: &str,
    when: When,
    rng: &mut R,
    observer: &mut dyn Observer,
    show: impl FnOnce(&Inbox) -> Result<(), E>,
) -> Result<Inbox, E>
where
    S: ClientStore,
    R: RngCore + CryptoRng,
    E: From<Error>,
{
    check_account(account).map_err(Error::from)?;
    let tx = relay.begin().map_err(Error::from)?;
    let now = when.now();
    let mut client = store.take(account, "account")?;
    let shown = show_and_commit(
        tx,
        store,
        &mut client,
        escrow,
        (account, now),
        rng,
        observer,
        show,
    );
    let out = match shown {
        Ok((inbox, waiting)) => forget_plaintexts(relay, store, &mut client, waiting, observer)
            .map(|()| inbox)
            .map_err(E::from),
        Err(e) => Err(e),
    };
    store.put_back(client);
    out
}

/// The read under the lock: collected, saved, shown, committed.
#[allow(clippy::too_many_arguments)]
fn show_and_commit<S, R, E>(
    tx: Box<dyn RelayTx + '_>,
    store: &mut S,
    client: &mut Client,
    escrow: &mut EscrowContext,
    (account, now): (&str, i64),
    rng: &mut R,
    observer: &mut dyn Observer,
    show: impl FnOnce(&Inbox) -> Result<(), E>,
) -> Result<(Inbox, Vec<Received>), E>
where
    S: ClientStore,
    R: RngCore + CryptoRng,
    E: From<Error>,
{
    let c = collect(&*tx, client, escrow, account, now, rng, observer)?;
    client.record_time(now);
    store.save(client)?;
    // Shown before the relay commits: a `read` killed in between shows these again (from the
    // inbox, same relay ids), one killed before showing them loses nothing — at-least-once.
    observer.reached(Point::ReadSaved);
    show(&c.inbox)?;
    observer.reached(Point::ReadShown);
    tx.commit().map_err(Error::from)?;
    Ok((c.inbox, c.waiting))
}

/// The inbox kept the plaintexts for a crash before the commit; now the state is saved once
/// more without them — under the relay's lock again, and only if no other command of this
/// client has written the state since.
fn forget_plaintexts<S: ClientStore>(
    relay: &mut dyn RelayService,
    store: &mut S,
    client: &mut Client,
    waiting: Vec<Received>,
    observer: &mut dyn Observer,
) -> Result<()> {
    let tx = relay.begin()?;
    if store.unchanged(client.account()) {
        client.take_inbox();
        // Messages sent after this read's time stay saved for a later read.
        for r in waiting {
            client.keep_inbox(r);
        }
        // The messages are shown and committed: a failure here only leaves the inbox on disk
        // until the next read (which drops it), so it is a warning, not a failure.
        if let Err(e) = store.save(client) {
            observer.warn(&format!(
                "warning: the inbox stays in the client state until the next read: {e}"
            ));
        }
    }
    tx.commit()?;
    Ok(())
}

/// The read under the lock, up to the state's save: the outcomes, with the inbox's
/// plaintexts in the state.
fn collect<R: RngCore + CryptoRng>(
    tx: &dyn RelayTx,
    client: &mut Client,
    escrow: &mut EscrowContext,
    account: &str,
    now: i64,
    rng: &mut R,
    observer: &mut dyn Observer,
) -> Result<Collected> {
    let Some(registered) = tx.registered_at(account)? else {
        return Err(Error::Unregistered {
            account: account.to_owned(),
            what: Missing::Account,
        });
    };
    not_before(
        "the read",
        now,
        &format!("{account}'s registration"),
        registered,
    )?;
    resend_pending(tx, client, observer)?;
    // A message is never read before it was sent: later ones stay queued.
    let mut batch = tx.queued_until(account, now)?;
    let mut later = tx.queued_after(account, now)?;
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
    let mut waiting: Vec<Received> = Vec::new();
    for r in client.take_inbox() {
        let Some((status, recipient, body)) = tx.status(r.relay_id)? else {
            continue;
        };
        if !((status == "queued" || status == "held")
            && recipient == account
            && Received::digest_of(&body) == r.digest)
        {
            continue;
        }
        let sent = tx.time_in(r.relay_id)?.ok_or(Error::EnvelopeVanished {
            relay_id: r.relay_id,
        })?;
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
        if let Some((status, recipient, _)) = tx.status(h.relay_id)?
            && status == "held"
            && recipient == account
        {
            later += 1;
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
    let room = MAX_INBOX.saturating_sub(answered.len() + waiting.len() + client.held());
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
    outcomes.extend(client.receive(batch, now, escrow, &mut |acct| tx.identity(acct), rng));
    client.restore_held(held_later);
    for r in &waiting {
        client.keep_inbox(r.clone());
    }
    for (id, o) in &outcomes {
        tx.mark(*id, o)?;
        if let (Outcome::Delivered { from, text }, Some(body)) = (o, bodies.get(id)) {
            client.push_inbox(*id, body, from, text);
        }
    }
    Ok(Collected {
        inbox: Inbox {
            account: account.to_owned(),
            time: now,
            outcomes,
            times,
            later,
        },
        waiting,
    })
}

/// `messenger read` in a lab: the lab's generations, its relay, the states of `files`.
pub fn read_in_lab<E: From<Error>>(
    files: &mut ClientFiles,
    account: &str,
    when: When,
    observer: &mut dyn Observer,
    show: impl FnOnce(&Inbox) -> Result<(), E>,
) -> Result<Inbox, E> {
    check_account(account).map_err(Error::from)?;
    let mut escrow = files.escrow()?;
    let mut relay = files.open_relay(account)?;
    read(
        &mut relay,
        files,
        &mut escrow,
        account,
        when,
        &mut rand_core::OsRng,
        observer,
        show,
    )
}
