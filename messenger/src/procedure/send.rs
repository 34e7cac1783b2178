//! `messenger send`: a message encrypted and handed to the relay, crash-safe.
//!
//! 1. Everything that could refuse the message is checked first ([`check_text`], both
//!    accounts registered, the time not before either registration, the sender's last send
//!    or read, nor its newest envelope at the relay, and inside a generation).
//! 2. A message that starts a session takes one of the recipient's one-time prekeys in a
//!    transaction of its own, committed first, so that no rollback can hand the same prekey to
//!    another sender. So does a message whose position the relay already holds (a state
//!    restored from a backup): it goes on a new session ([`Client::send_checked`]).
//! 3. Under the relay's write lock: the state is read, the outbox resent ([`resend_pending`]),
//!    the message encrypted, the state saved with the envelope in its outbox, and only then is
//!    the envelope handed to the relay — whatever the relay does with it, the next message
//!    never gets this one's key and nonce, and a crash loses nothing.

use rand_core::{CryptoRng, RngCore};

use super::store::ClientFiles;
use super::{ClientStore, Error, Missing, Observer, Point, Result, TextRefused, When, not_before};
use crate::account::check_account;
use crate::envelope::MAX_TEXT_LEN;
use crate::provider::{RelayService, RelayTx};
use crate::{Client, EscrowContext, Sent};

/// Refuses a message text that is empty, shows as nothing (only whitespace — Unicode
/// White_Space — or invisible characters, [`escrow::encoding::is_hidden`]) or is larger than
/// [`MAX_TEXT_LEN`].
pub fn check_text(text: &[u8]) -> Result<()> {
    if text.is_empty() {
        return Err(Error::Text(TextRefused::Empty));
    }
    if text.len() > MAX_TEXT_LEN {
        return Err(Error::Text(TextRefused::TooLarge));
    }
    if std::str::from_utf8(text).is_ok_and(|t| {
        t.chars()
            .all(|c| c.is_whitespace() || (escrow::encoding::is_hidden(c) && !c.is_control()))
    }) {
        return Err(Error::Text(TextRefused::Blank));
    }
    Ok(())
}

/// What [`send`] did.
#[derive(Debug)]
pub struct Delivery {
    /// The relay's id of the envelope.
    pub relay_id: i64,
    /// The relay time (Unix seconds).
    pub time: i64,
    /// The envelope, and whether the message had to go on a new session.
    pub sent: Sent,
}

/// The checks of a message that need no state but its text: valid accounts, a valid text,
/// not to oneself.
fn check_message(from: &str, to: &str, text: &[u8]) -> Result<()> {
    check_account(from)?;
    check_account(to)?;
    check_text(text)?;
    if from == to {
        return Err(Error::ToSelf);
    }
    Ok(())
}

/// Everything about a send's time and parties that could refuse it, checked before a prekey
/// is taken and again, on the state as it is then, before the message is encrypted: both
/// accounts registered, and the sending time not before either registration, nor before the
/// sender's last send or read (its client state's record), nor before the sender's newest
/// envelope at the relay (the relay's own record, which a modified client cannot change:
/// `Relay::check_time`, asked again by `Relay::enqueue`), and inside a generation.
fn check_send(
    tx: &dyn RelayTx,
    client: &Client,
    (from, to): (&str, &str),
    now: i64,
    escrow: &EscrowContext,
) -> Result<()> {
    let unregistered = |account: &str, what| Error::Unregistered {
        account: account.to_owned(),
        what,
    };
    let Some(sender) = tx.registered_at(from)? else {
        return Err(unregistered(from, Missing::Sender));
    };
    let Some(recipient) = tx.registered_at(to)? else {
        return Err(unregistered(to, Missing::Recipient));
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
    tx.check_time(from, to, now)?;
    escrow
        .generations()
        .require_for_epoch(escrow.epoch_at(now)?)?;
    Ok(())
}

/// Runs `f` on `account`'s state taken from `store`, and puts it back whatever `f` returns.
fn with_client<S: ClientStore, T>(
    store: &mut S,
    account: &str,
    role: &'static str,
    f: impl FnOnce(&mut S, &mut Client) -> Result<T>,
) -> Result<T> {
    let mut client = store.take(account, role)?;
    let out = f(store, &mut client);
    store.put_back(client);
    out
}

/// `from` sends `text` to `to` at `when` through `relay`, its state in `store`.
#[allow(clippy::too_many_arguments)]
pub fn send<S: ClientStore, R: RngCore + CryptoRng>(
    relay: &mut dyn RelayService,
    store: &mut S,
    escrow: &mut EscrowContext,
    (from, to): (&str, &str),
    text: &[u8],
    when: When,
    rng: &mut R,
    observer: &mut dyn Observer,
) -> Result<Delivery> {
    check_message(from, to, text)?;
    // A first message takes one of the recipient's one-time prekeys: that is committed on its
    // own first, so that no later rollback can hand the same prekey to another sender (a crash
    // after this only wastes the prekey). So does a message whose position the relay already
    // holds (a state restored from a backup): it goes on a new session.
    let bundle = {
        let tx = relay.begin()?;
        let now = when.now();
        let new_session = with_client(store, from, "sender", |_, client| {
            check_send(&*tx, client, (from, to), now, escrow)?;
            Ok(match client.next_position(to, now, escrow)? {
                Some((chain, n)) => tx.position_taken(from, to, &chain, n)?,
                None => !client.has_session(to),
            })
        })?;
        if new_session {
            let b = tx.take_bundle(to)?;
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
    let tx = relay.begin()?;
    let now = when.now();
    let sent = with_client(store, from, "sender", |store, client| {
        check_send(&*tx, client, (from, to), now, escrow)?;
        resend_pending(&*tx, client, observer)?;
        // Before encrypting, the relay is asked whether it holds the position the state fixes
        // the key and nonce of; if so the message goes on a new session.
        let sent = client.send_checked(
            to,
            text,
            now,
            escrow,
            // Never a prekey taken inside this transaction (a crash could roll its use back).
            &mut |acct| {
                bundle.clone().ok_or_else(|| {
                    crate::Error::Misaddressed(if acct == to {
                        "the recipient registered, or this client's state changed, while this \
                         send ran; send again"
                    } else {
                        "no prekey bundle for this recipient"
                    })
                })
            },
            &mut |chain, n| tx.position_taken(from, to, chain, n),
            rng,
        )?;
        // The state (its position spent, the envelope in the outbox) is saved before the
        // envelope is handed to the relay: whatever the relay does with it — store it, refuse
        // it, fail — the next message never gets this one's key and nonce, and a crash or a
        // refusal loses nothing (the next command sends these same bytes again).
        client.push_outbox(&sent.envelope, now)?;
        client.record_time(now);
        store.save(client)?;
        Ok(sent)
    })?;
    observer.reached(Point::SendSaved);
    let relay_id = tx
        .enqueue(&sent.envelope, now)
        .map_err(|error| Error::RelayRefused {
            from: from.to_owned(),
            error,
        })?;
    tx.commit()?;
    Ok(Delivery {
        relay_id,
        time: now,
        sent,
    })
}

/// `messenger send` in a lab: the lab's generations, its relay, the states of `files`.
pub fn send_in_lab(
    files: &mut ClientFiles,
    (from, to): (&str, &str),
    text: &[u8],
    when: When,
    observer: &mut dyn Observer,
) -> Result<Delivery> {
    check_message(from, to, text)?;
    let mut escrow = files.escrow()?;
    let mut relay = files.open_relay(from)?;
    send(
        &mut relay,
        files,
        &mut escrow,
        (from, to),
        text,
        when,
        &mut rand_core::OsRng,
        observer,
    )
}

/// Makes sure the relay holds every envelope of the client's outbox: a `send` killed after
/// saving its state and before the relay committed lost them, and these same bytes are sent
/// now (with their original relay time). Envelopes the relay can never accept (another holds
/// their position, or the sender has a later one) are dropped, with a warning.
pub fn resend_pending(
    tx: &dyn RelayTx,
    client: &mut Client,
    observer: &mut dyn Observer,
) -> Result<()> {
    for (env, time) in client.take_outbox()? {
        if !tx.holds_exactly(&env)? {
            match tx.enqueue(&env, time) {
                Ok(_) => {}
                // Another envelope holds its position: these bytes can never be delivered
                // (the recipient takes one message per position). Dropped, and said.
                Err(crate::Error::PositionTaken { to, chain, n, .. }) => {
                    observer.warn(&format!(
                        "the relay holds another envelope at message {n} of chain {}… to {to}: \
                         an unsent message of the outbox was dropped",
                        &crate::keys::public_hex(&chain)[..16]
                    ));
                    continue;
                }
                // The relay holds a later envelope under this sender's name (posted by
                // someone else, or sent from a state restored from a backup): these bytes,
                // dated earlier, can never be accepted either.
                Err(e @ crate::Error::TimeBackwards(_)) => {
                    observer.warn(&format!(
                        "the relay refuses an unsent message of the outbox to {} ({e}): it was \
                         dropped",
                        env.to
                    ));
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
