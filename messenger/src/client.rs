//! A client: one account's private state (identity, prekeys, sessions, held and rejected
//! envelopes), how it sends and receives, and its state file (secret JSON, mode 0600).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use p256::PublicKey;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::account::check_account;
use crate::envelope::{BlockJson, ChainKind, Envelope, X3dhInit, X3dhJson, sig_from_hex};
use crate::error::{Error, Result};
use crate::escrow_block::{EPOCH_GRACE_SECS, EscrowContext};
use crate::keys::{DhKeyPair, Identity, public_from_hex, public_hex};
use crate::ratchet::{BlockTamper, RecvChain, SendChain, Session, Skipped};
use crate::x3dh::{self, IdentityPublic, PrekeyBundle, signed_prekey_message};

/// One-time prekeys made at registration.
pub const ONE_TIME_PREKEYS: u32 = 20;

/// Most envelopes a client holds while waiting for their chain's start.
pub const MAX_HELD: usize = 1000;

/// Most envelopes held per sender.
pub const MAX_HELD_PER_SENDER: usize = 100;

/// Most session starts remembered (to refuse replayed X3DH first messages). Beyond this, the
/// oldest entries (first accepted) are forgotten.
pub const MAX_SEEN_STARTS: usize = 100_000;

/// Most chains remembered (to refuse a second start of a chain: a replay, or a sender
/// re-opening a chain it retired). Beyond this, the oldest entries are forgotten; the
/// auditor's one-start-per-chain rule does not depend on this memory.
pub const MAX_SEEN_CHAINS: usize = 100_000;

/// Most sessions kept per peer (after simultaneous initiations).
pub const MAX_SESSIONS_PER_PEER: usize = 4;

/// Most rejected envelopes a client keeps for inspection.
pub const MAX_QUARANTINE: usize = 1000;

/// Most bytes of rejected envelopes a client keeps (the oldest go first): junk posted under
/// any name cannot grow the state file, and every command's cost, without bound.
pub const MAX_QUARANTINE_BYTES: usize = 1 << 20;

/// What registration publishes to the relay's directory.
#[derive(Clone, Debug)]
pub struct Registration {
    /// The bundle without a one-time prekey.
    pub bundle: PrekeyBundle,
    /// The one-time prekeys.
    pub one_time_prekeys: Vec<(u32, PublicKey)>,
}

/// An envelope handed over by the relay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incoming {
    /// The relay's row id.
    pub relay_id: i64,
    /// The relay's timestamp (Unix seconds).
    pub server_time: i64,
    /// The envelope JSON as stored.
    pub body: String,
}

/// What became of one incoming envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Decrypted and accepted.
    Delivered {
        /// Sender.
        from: String,
        /// The text.
        text: String,
    },
    /// Waiting for the first message of its chain.
    Held,
    /// Refused; the envelope is kept in the client's quarantine.
    Rejected {
        /// The sender named in the envelope, if it parsed.
        from: Option<String>,
        /// Why.
        reason: String,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Quarantined {
    incoming: Incoming,
    reason: String,
}

/// Most envelopes an outbox holds (each command empties it of what the relay committed).
pub const MAX_OUTBOX: usize = 1024;

/// Most messages an inbox holds ([`Received`]): a read's batch and the held envelopes it
/// delivers, with the messages an earlier read saved for a later one. A read takes fewer
/// envelopes from the relay when the inbox would otherwise grow past it.
pub const MAX_INBOX: usize = crate::relay::MAX_BATCH + 2 * MAX_HELD;

/// A bounded set of 32-byte digests that forgets its oldest entries first: insertion order is
/// kept (and saved, oldest first), so an attacker who floods the list with new entries pushes
/// out the oldest, never a chosen one by its hash.
#[derive(Clone, Debug, Default)]
pub(crate) struct Seen {
    order: VecDeque<[u8; 32]>,
    members: BTreeSet<[u8; 32]>,
}

impl Seen {
    pub(crate) fn contains(&self, d: &[u8; 32]) -> bool {
        self.members.contains(d)
    }

    /// Adds `d` (a no-op if present), then forgets the oldest entries beyond `max`.
    pub(crate) fn insert(&mut self, d: [u8; 32], max: usize) {
        if self.members.insert(d) {
            self.order.push_back(d);
        }
        while self.order.len() > max {
            if let Some(old) = self.order.pop_front() {
                self.members.remove(&old);
            }
        }
    }

    /// Oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.order.iter()
    }
}

/// What [`Client::send_checked`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct Sent {
    /// The envelope to hand to the relay.
    pub envelope: Envelope,
    /// The position (chain, n) the state would have sent at, when the relay already held a
    /// message there: the state was rolled back (restored from a backup), or someone handed
    /// the relay an envelope there under this account's name. That sending chain was
    /// abandoned and the message went on a new session (X3DH with fresh keys).
    pub position_taken: Option<(PublicKey, u32)>,
    /// Whether this message starts a new session (X3DH) without a one-time prekey because
    /// the relay handed out none: no DH4, so a later theft of the recipient's identity and
    /// signed prekey opens this session.
    pub no_one_time_prekey: bool,
}

/// One account's private state.
pub struct Client {
    account: String,
    identity: Identity,
    spk_id: u32,
    spk: DhKeyPair,
    spk_sig: [u8; 64],
    opks: Vec<(u32, DhKeyPair)>,
    /// Per peer, the sending session first, then older ones kept for receiving.
    sessions: BTreeMap<String, Vec<Session>>,
    held: Vec<Incoming>,
    quarantine: Vec<Quarantined>,
    /// SHA-256 of (sender, ephemeral key) of every session start accepted, oldest first.
    seen_starts: Seen,
    /// SHA-256 of (sender, chain) of every chain start accepted, oldest first.
    seen_chains: Seen,
    /// Envelopes handed to the relay in transactions not yet known to have committed.
    outbox: Vec<Pending>,
    /// Messages decrypted by a `read` whose relay transaction may not have committed.
    inbox: Vec<Received>,
    /// The latest time (Unix seconds) a command recorded for this client: its registration,
    /// sends and reads. A later send is never before it (simulated time never goes
    /// backwards).
    last_time: Option<i64>,
}

/// A message decrypted and saved with the state that consumed its key, until a later read
/// sees the relay mark it delivered: a reader killed after saving its state and before the
/// relay committed gets the text from here when the relay hands the envelope over again
/// (its key is gone, so decrypting it again would fail as a replay).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Received {
    /// The relay's row id.
    pub relay_id: i64,
    /// SHA-256 (hex) of the envelope as the relay stored it: an entry answers only for that
    /// very envelope (a relay restored from a backup may reuse ids).
    pub digest: String,
    /// Sender.
    pub from: String,
    /// The text, base64 (compact whatever its characters).
    pub text: String,
}

impl Received {
    /// SHA-256 (hex) of a relay body.
    pub fn digest_of(body: &str) -> String {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(body.as_bytes()))
    }

    /// The text.
    pub fn text(&self) -> Result<String> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.text)
            .map_err(|_| bad("inbox text is not base64"))?;
        String::from_utf8(bytes).map_err(|_| bad("inbox text is not UTF-8"))
    }
}

/// An envelope saved with the state that advanced past it, until a later command sees the
/// relay hold it (the outbox pattern): a sender killed after saving its state and before the
/// relay committed re-sends these exact bytes with its next command, so no message — in
/// particular no chain's first message, without which the rest of the chain cannot be read —
/// is lost, and no message key is ever used for two ciphertexts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// The relay time it was sent with.
    pub relay_time: i64,
    /// The envelope JSON, as handed to the relay.
    pub body: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Client({}, {} sessions, {} held, ***)",
            self.account,
            self.sessions.len(),
            self.held.len()
        )
    }
}

impl Client {
    /// A new account with fresh identity, signed prekey and one-time prekeys.
    pub fn register<R: RngCore + CryptoRng>(
        account: &str,
        rng: &mut R,
    ) -> Result<(Self, Registration)> {
        check_account(account)?;
        let identity = Identity::generate(rng);
        let spk = DhKeyPair::generate(rng);
        let spk_id = 1;
        let spk_sig = identity.sign(&signed_prekey_message(account, spk_id, spk.public()));
        let opks: Vec<(u32, DhKeyPair)> = (1..=ONE_TIME_PREKEYS)
            .map(|i| (i, DhKeyPair::generate(rng)))
            .collect();
        let client = Self {
            account: account.to_owned(),
            identity,
            spk_id,
            spk,
            spk_sig,
            opks,
            sessions: BTreeMap::new(),
            held: Vec::new(),
            quarantine: Vec::new(),
            seen_starts: Seen::default(),
            seen_chains: Seen::default(),
            outbox: Vec::new(),
            inbox: Vec::new(),
            last_time: None,
        };
        let reg = Registration {
            bundle: client.bundle(),
            one_time_prekeys: client.opks.iter().map(|(i, k)| (*i, *k.public())).collect(),
        };
        Ok((client, reg))
    }

    /// The account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The latest time (Unix seconds) recorded with [`Client::record_time`], if any.
    pub fn last_time(&self) -> Option<i64> {
        // An unsent envelope of the outbox carries a time this client recorded too (a state
        // written before `last_time` existed, or a modified one, still has its outbox): a new
        // message dated before it would make the relay refuse the re-send, and drop it.
        let pending = self.outbox.iter().map(|p| p.relay_time).max();
        match (self.last_time, pending) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Records that a command (registration, send, read) ran at `unix` seconds; the state
    /// keeps the latest such time.
    pub fn record_time(&mut self, unix: i64) {
        self.last_time = Some(self.last_time.map_or(unix, |t| t.max(unix)));
    }

    /// Every session with `peer` (for [`crate::hazmat`]).
    pub(crate) fn sessions_with(&self, peer: &str) -> &[Session] {
        self.sessions
            .get(peer)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// See [`crate::hazmat::pretend_epoch_ended`].
    pub(crate) fn pretend_epoch_ended(&mut self, to: &str) -> Result<()> {
        let send = self
            .sessions
            .get_mut(to)
            .and_then(|l| l.first_mut())
            .and_then(|s| s.send.as_mut())
            .ok_or(Error::Misaddressed("no sending chain to this peer"))?;
        let e = send
            .epoch
            .ok_or(Error::Misaddressed("the sending chain has not started"))?;
        send.epoch = Some(e.wrapping_sub(1));
        Ok(())
    }

    /// The private identity (for [`crate::hazmat`] only).
    pub(crate) fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The public identity.
    pub fn identity_public(&self) -> IdentityPublic {
        IdentityPublic::of(&self.account, &self.identity)
    }

    /// The bundle this client publishes (without one-time prekey).
    pub fn bundle(&self) -> PrekeyBundle {
        PrekeyBundle {
            account: self.account.clone(),
            identity: self.identity_public(),
            signed_prekey_id: self.spk_id,
            signed_prekey: *self.spk.public(),
            signed_prekey_sig: self.spk_sig,
            one_time_prekey: None,
        }
    }

    /// The sending session with `peer`, if any.
    pub fn session(&self, peer: &str) -> Option<&Session> {
        self.sessions.get(peer).and_then(|l| l.first())
    }

    /// Whether a session with `peer` exists.
    pub fn has_session(&self, peer: &str) -> bool {
        self.sessions.contains_key(peer)
    }

    /// Number of envelopes held for a missing chain start.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Rejected envelopes kept for inspection, with the reason.
    pub fn quarantine(&self) -> impl Iterator<Item = (&Incoming, &str)> {
        self.quarantine
            .iter()
            .map(|q| (&q.incoming, q.reason.as_str()))
    }

    /// Keeps `env`, just handed to the relay at `relay_time` in a transaction not yet
    /// committed, in the outbox saved with the state that advanced past it ([`Pending`]).
    pub fn push_outbox(&mut self, env: &Envelope, relay_time: i64) -> Result<()> {
        if self.outbox.len() >= MAX_OUTBOX {
            return Err(Error::Internal(crate::error::Bug::OutboxFull));
        }
        let body = String::from_utf8(env.to_json())
            .map_err(|_| Error::Internal(crate::error::Bug::Utf8Json))?;
        self.outbox.push(Pending { relay_time, body });
        Ok(())
    }

    /// Takes the outbox: the caller drops each envelope the relay holds and re-sends (and
    /// pushes back) each it does not.
    pub fn take_outbox(&mut self) -> Result<Vec<(Envelope, i64)>> {
        std::mem::take(&mut self.outbox)
            .into_iter()
            .map(|p| Ok((Envelope::from_json(p.body.as_bytes())?, p.relay_time)))
            .collect()
    }

    /// Takes the inbox ([`Received`]): the caller answers envelopes the relay hands over again
    /// from it, and pushes back this read's deliveries.
    pub fn take_inbox(&mut self) -> Vec<Received> {
        std::mem::take(&mut self.inbox)
    }

    /// Puts back a message of the inbox that this read does not show (sent after its time):
    /// its key is gone, so it stays saved for a read at a time at or after its sending.
    pub fn keep_inbox(&mut self, received: Received) {
        self.inbox.push(received);
    }

    /// Keeps a message delivered by a read whose relay transaction has not committed.
    pub fn push_inbox(&mut self, relay_id: i64, body: &str, from: &str, text: &str) {
        use base64::Engine as _;
        self.inbox.push(Received {
            relay_id,
            digest: Received::digest_of(body),
            from: from.to_owned(),
            text: base64::engine::general_purpose::STANDARD.encode(text),
        });
    }

    /// The relay ids and stored bodies of the envelopes held here.
    pub fn held_bodies(&self) -> Vec<(i64, String)> {
        self.held
            .iter()
            .map(|i| (i.relay_id, i.body.clone()))
            .collect()
    }

    /// Drops held envelopes with these relay ids (answered from the inbox instead).
    pub fn forget_held(&mut self, ids: &BTreeSet<i64>) {
        self.held.retain(|i| !ids.contains(&i.relay_id));
    }

    /// The envelopes held here, oldest first.
    pub fn held_envelopes(&self) -> &[Incoming] {
        &self.held
    }

    /// Takes the held envelopes with a relay time after `until` (Unix seconds) out of the
    /// state: a read at `until` must not deliver them (a message is never read before it was
    /// sent). [`Client::restore_held`] puts them back after [`Client::receive`].
    pub fn take_held_after(&mut self, until: i64) -> Vec<Incoming> {
        let (later, now): (Vec<Incoming>, Vec<Incoming>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|i| i.server_time > until);
        self.held = now;
        later
    }

    /// Puts back envelopes taken with [`Client::take_held_after`], still held (and first).
    pub fn restore_held(&mut self, mut held: Vec<Incoming>) {
        held.append(&mut self.held);
        self.held = held;
    }

    /// Encrypts `text` to `to` at `now_unix`; `bundle` is called only when no session exists.
    pub fn send<R: RngCore + CryptoRng>(
        &mut self,
        to: &str,
        text: &[u8],
        now_unix: i64,
        escrow: &mut EscrowContext,
        bundle: &mut dyn FnMut(&str) -> Result<PrekeyBundle>,
        rng: &mut R,
    ) -> Result<Envelope> {
        self.send_with(to, text, now_unix, escrow, bundle, rng, &mut |b| b)
    }

    /// [`Client::send`] with a hook on the escrow block (non-compliant clients).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_with<R: RngCore + CryptoRng>(
        &mut self,
        to: &str,
        text: &[u8],
        now_unix: i64,
        escrow: &mut EscrowContext,
        bundle: &mut dyn FnMut(&str) -> Result<PrekeyBundle>,
        rng: &mut R,
        tamper: BlockTamper<'_>,
    ) -> Result<Envelope> {
        self.send_inner(
            to,
            text,
            now_unix,
            escrow,
            bundle,
            &mut |_, _| Ok(false),
            rng,
            tamper,
        )
        .map(|s| s.envelope)
    }

    /// Encrypts `text` to `to` at `now_unix` like [`Client::send`], but first asks the relay,
    /// through `taken(chain, n)`, whether it already holds a message of this account to `to`
    /// at the position whose key and nonce the state fixes
    /// ([`crate::RelayTransaction::position_taken`],
    /// inside the transaction that will enqueue the result). If it does, the state was rolled
    /// back (restored from a backup) — or someone posted there under this account's name —
    /// and a second ciphertext there would reuse the first one's AES-GCM key and nonce: the
    /// sending chain is abandoned and the message goes on a new session (X3DH with a fresh
    /// ephemeral key and ratchet key, `bundle(to)` asked for a new prekey bundle), which the
    /// recipient takes as the peer's new sending session. No ciphertext is made at the taken
    /// position. [`Sent`] says what happened.
    #[allow(clippy::too_many_arguments)]
    pub fn send_checked<R: RngCore + CryptoRng>(
        &mut self,
        to: &str,
        text: &[u8],
        now_unix: i64,
        escrow: &mut EscrowContext,
        bundle: &mut dyn FnMut(&str) -> Result<PrekeyBundle>,
        taken: &mut dyn FnMut(&PublicKey, u32) -> Result<bool>,
        rng: &mut R,
    ) -> Result<Sent> {
        self.send_inner(to, text, now_unix, escrow, bundle, taken, rng, &mut |b| b)
    }

    /// The position (chain, n) of the next message to `to` at `now_unix` when the state alone
    /// fixes its key and nonce (the current sending chain continues); `None` when the next
    /// message draws fresh randomness (a new session, a DH ratchet step, an epoch step). A
    /// sender asks the relay whether it is taken before it sends ([`Client::send_checked`]).
    pub fn next_position(
        &self,
        to: &str,
        now_unix: i64,
        escrow: &EscrowContext,
    ) -> Result<Option<(PublicKey, u32)>> {
        let Some(session) = self.session(to) else {
            return Ok(None);
        };
        Ok(session.next_position(escrow.epoch_at(now_unix)?))
    }

    /// A new initiator session with `to` from its prekey bundle (X3DH, fresh ephemeral key).
    fn initiate<R: RngCore + CryptoRng>(
        &self,
        to: &str,
        b: &PrekeyBundle,
        rng: &mut R,
    ) -> Result<Session> {
        if b.account != to {
            return Err(Error::Misaddressed(
                "the directory returned another account",
            ));
        }
        let ek = DhKeyPair::generate(rng);
        let me = self.identity_public();
        let (sk, ad) = x3dh::initiate(&self.account, &self.identity, &me, b, &ek)?;
        let init = X3dhInit {
            identity_sign: me.sign,
            identity_dh: me.dh,
            identity_dh_sig: me.dh_sig,
            ephemeral: *ek.public(),
            signed_prekey_id: b.signed_prekey_id,
            one_time_prekey_id: b.one_time_prekey.map(|(i, _)| i),
        };
        Ok(Session::new_initiator(
            to,
            &sk,
            ad,
            b.signed_prekey,
            ChainKind::X3dh(Box::new(init)),
            rng,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn send_inner<R: RngCore + CryptoRng>(
        &mut self,
        to: &str,
        text: &[u8],
        now_unix: i64,
        escrow: &mut EscrowContext,
        bundle: &mut dyn FnMut(&str) -> Result<PrekeyBundle>,
        taken: &mut dyn FnMut(&PublicKey, u32) -> Result<bool>,
        rng: &mut R,
        tamper: BlockTamper<'_>,
    ) -> Result<Sent> {
        check_account(to)?;
        if to == self.account {
            return Err(Error::Misaddressed("cannot send to yourself"));
        }
        let position_taken = match self.next_position(to, now_unix, escrow)? {
            Some((chain, n)) if taken(&chain, n)? => Some((chain, n)),
            _ => None,
        };
        let current = self
            .sessions
            .get(to)
            .and_then(|l| l.first())
            .filter(|_| position_taken.is_none());
        let (mut session, new_session, no_one_time_prekey) = match current {
            Some(s) => (s.clone(), false, false),
            None => {
                let b = bundle(to)?;
                let session = self.initiate(to, &b, rng)?;
                (session, true, b.one_time_prekey.is_none())
            }
        };
        let envelope = session.encrypt_with(
            &self.account,
            &self.identity,
            text,
            now_unix,
            escrow,
            rng,
            tamper,
        )?;
        let list = self.sessions.entry(to.to_owned()).or_default();
        if new_session {
            // The abandoned chains are never sent on again; their sessions stay for receiving.
            for old in list.iter_mut() {
                old.abandon_sending_chain();
            }
            list.insert(0, session);
            list.truncate(MAX_SESSIONS_PER_PEER);
        } else if let Some(first) = list.first_mut() {
            *first = session;
        }
        Ok(Sent {
            envelope,
            position_taken,
            no_one_time_prekey: new_session && no_one_time_prekey,
        })
    }

    /// Processes a batch from the relay together with held envelopes, retrying held ones
    /// whenever another envelope was accepted. `directory` returns an account's published
    /// identity; `now_unix` expires held envelopes. Returns one outcome per relay id, in input
    /// order (held ones included).
    ///
    /// An envelope whose chain start has not arrived is held, at most
    /// [`MAX_HELD_PER_SENDER`] per sender (so no sender can crowd out another's), and for at
    /// most one epoch plus the grace period after its relay time: a chain never outlives its
    /// epoch, so by then its start will not come.
    pub fn receive<R: RngCore + CryptoRng>(
        &mut self,
        batch: Vec<Incoming>,
        now_unix: i64,
        escrow: &mut EscrowContext,
        directory: &mut dyn FnMut(&str) -> Result<Option<IdentityPublic>>,
        rng: &mut R,
    ) -> Vec<(i64, Outcome)> {
        let mut queue: Vec<Incoming> = std::mem::take(&mut self.held);
        // An envelope both held here and handed over again (a read that failed after saving
        // its state) is processed once; a held copy whose id now names other bytes (a relay
        // restored from a backup) is stale and dropped for the relay's envelope.
        let fresh: BTreeMap<i64, &str> = batch
            .iter()
            .map(|i| (i.relay_id, i.body.as_str()))
            .collect();
        queue.retain(|h| fresh.get(&h.relay_id).is_none_or(|b| *b == h.body));
        let held: BTreeSet<i64> = queue.iter().map(|i| i.relay_id).collect();
        queue.extend(batch.into_iter().filter(|i| !held.contains(&i.relay_id)));
        let mut outcomes: BTreeMap<i64, Outcome> = BTreeMap::new();
        let order: Vec<i64> = queue.iter().map(|i| i.relay_id).collect();
        let mut senders: BTreeMap<i64, String> = BTreeMap::new();
        loop {
            let mut progress = false;
            let mut still = Vec::new();
            for inc in queue {
                match self.receive_one(&inc, escrow, directory, rng) {
                    Ok((from, text)) => {
                        outcomes.insert(inc.relay_id, Outcome::Delivered { from, text });
                        progress = true;
                    }
                    Err((from, Error::Pending)) => {
                        senders.insert(inc.relay_id, from.unwrap_or_default());
                        still.push(inc);
                    }
                    Err((from, e)) => {
                        let reason = e.to_string();
                        outcomes.insert(
                            inc.relay_id,
                            Outcome::Rejected {
                                from,
                                reason: reason.clone(),
                            },
                        );
                        self.push_quarantine(inc, reason);
                    }
                }
            }
            queue = still;
            if !progress || queue.is_empty() {
                break;
            }
        }
        let max_age = i64::try_from(escrow.params().epoch_length())
            .unwrap_or(i64::MAX)
            .saturating_add(EPOCH_GRACE_SECS);
        let mut per_sender: BTreeMap<String, usize> = BTreeMap::new();
        for inc in queue {
            let from = senders.remove(&inc.relay_id).unwrap_or_default();
            let count = per_sender.entry(from.clone()).or_default();
            let reason = if now_unix.saturating_sub(inc.server_time) > max_age {
                Some("expired: the first message of its chain never arrived")
            } else if *count >= MAX_HELD_PER_SENDER || self.held.len() >= MAX_HELD {
                Some("too many envelopes held for this sender")
            } else {
                None
            };
            match reason {
                Some(r) => {
                    outcomes.insert(
                        inc.relay_id,
                        Outcome::Rejected {
                            from: Some(from).filter(|f| !f.is_empty()),
                            reason: r.to_owned(),
                        },
                    );
                    self.push_quarantine(inc, r.to_owned());
                }
                None => {
                    *count += 1;
                    outcomes.insert(inc.relay_id, Outcome::Held);
                    self.held.push(inc);
                }
            }
        }
        order
            .into_iter()
            .filter_map(|id| outcomes.remove(&id).map(|o| (id, o)))
            .collect()
    }

    fn push_quarantine(&mut self, incoming: Incoming, reason: String) {
        let size = |q: &Quarantined| q.incoming.body.len() + q.reason.len();
        let new = Quarantined { incoming, reason };
        let mut bytes: usize = self.quarantine.iter().map(size).sum::<usize>() + size(&new);
        while !self.quarantine.is_empty()
            && (self.quarantine.len() >= MAX_QUARANTINE || bytes > MAX_QUARANTINE_BYTES)
        {
            bytes -= size(&self.quarantine.remove(0));
        }
        self.quarantine.push(new);
    }

    fn receive_one<R: RngCore + CryptoRng>(
        &mut self,
        inc: &Incoming,
        escrow: &mut EscrowContext,
        directory: &mut dyn FnMut(&str) -> Result<Option<IdentityPublic>>,
        rng: &mut R,
    ) -> std::result::Result<(String, String), (Option<String>, Error)> {
        let env = Envelope::from_json(inc.body.as_bytes()).map_err(|e| (None, e))?;
        let from = env.from.clone();
        let fail = |e: Error| (Some(from.clone()), e);
        if env.to != self.account {
            return Err(fail(Error::Misaddressed(
                "envelope is addressed to another account",
            )));
        }
        let me = self.account.clone();
        let x3dh_start = match env.start.as_ref().map(|s| &s.kind) {
            Some(ChainKind::X3dh(init)) => Some(init.as_ref().clone()),
            _ => None,
        };
        if let Some(init) = &x3dh_start
            && self.seen_starts.contains(&start_id(&env.from, init))
        {
            return Err(fail(Error::Misaddressed(
                "replayed session start: this X3DH message was accepted before",
            )));
        }
        // One start per chain, ever: a second one is a replay or a re-opened chain.
        let chain_seen = env.start.as_ref().map(|_| chain_id(&env.from, &env.chain));
        if chain_seen.is_some_and(|c| self.seen_chains.contains(&c)) {
            return Err(fail(Error::ChainSeen));
        }
        let sessions = self.sessions.get(&env.from).cloned().unwrap_or_default();
        let knows = |s: &Session| s.knows_chain(&env.chain);
        // (plaintext, session, its position or None for a new one, one-time prekey used)
        let (pt, session, slot, used_opk) = match x3dh_start {
            Some(init) if !sessions.iter().any(knows) => {
                let (mut session, used) =
                    self.respond(&env.from, &init, directory).map_err(&fail)?;
                let pt = session
                    .decrypt(&me, &env, inc.server_time, escrow, rng)
                    .map_err(&fail)?;
                (pt, session, None, used)
            }
            _ => {
                // The session that knows the chain, else every session in turn: an escrow
                // violation (found after authentication) is definitive, then "held".
                let order: Vec<usize> = match sessions.iter().position(knows) {
                    Some(i) => vec![i],
                    None => (0..sessions.len()).collect(),
                };
                let mut first_err = None;
                let mut pending = order.is_empty();
                let mut found = None;
                for i in order {
                    let mut session = sessions[i].clone();
                    match session.decrypt(&me, &env, inc.server_time, escrow, rng) {
                        Ok(pt) => {
                            found = Some((pt, session, Some(i), None));
                            break;
                        }
                        Err(Error::Pending) => pending = true,
                        Err(e @ Error::Escrow { .. }) => return Err(fail(e)),
                        Err(e) => {
                            first_err.get_or_insert(e);
                        }
                    }
                }
                match (found, pending, first_err) {
                    (Some(f), _, _) => f,
                    (None, true, _) => return Err(fail(Error::Pending)),
                    (None, false, Some(e)) => return Err(fail(e)),
                    (None, false, None) => return Err(fail(Error::Pending)),
                }
            }
        };
        let text = String::from_utf8(pt.to_vec()).map_err(|_| {
            fail(Error::Format {
                what: "message",
                reason: "text is not UTF-8".into(),
            })
        })?;
        let list = self.sessions.entry(env.from.clone()).or_default();
        match slot {
            Some(i) => list[i] = session,
            None => {
                if let Some(ChainKind::X3dh(init)) = env.start.as_ref().map(|s| &s.kind) {
                    self.seen_starts
                        .insert(start_id(&env.from, init), MAX_SEEN_STARTS);
                }
                // A new session from the peer becomes the sending one, except in a simultaneous
                // initiation (our own session never heard from the peer): then the session
                // started by the account whose name sorts first sends, on both sides. Either
                // way the other session stays usable for receiving.
                let ours_unanswered = list.first().is_some_and(|s| s.recv.is_empty());
                if ours_unanswered && me.as_str() < env.from.as_str() {
                    list.truncate(MAX_SESSIONS_PER_PEER - 1);
                    list.push(session);
                } else {
                    list.insert(0, session);
                    list.truncate(MAX_SESSIONS_PER_PEER);
                }
            }
        }
        if let Some(id) = used_opk {
            self.opks.retain(|(i, _)| *i != id);
        }
        if let Some(c) = chain_seen {
            self.seen_chains.insert(c, MAX_SEEN_CHAINS);
        }
        Ok((env.from, text))
    }

    fn respond(
        &self,
        from: &str,
        init: &X3dhInit,
        directory: &mut dyn FnMut(&str) -> Result<Option<IdentityPublic>>,
    ) -> Result<(Session, Option<u32>)> {
        let claimed = IdentityPublic {
            sign: init.identity_sign,
            dh: init.identity_dh,
            dh_sig: init.identity_dh_sig,
        };
        let published = directory(from)?;
        if published.as_ref().map(|p| (p.sign, p.dh)) != Some((claimed.sign, claimed.dh))
            || !claimed.verify(from)
        {
            return Err(Error::Misaddressed(
                "the sender's identity key does not match the relay's directory",
            ));
        }
        if init.signed_prekey_id != self.spk_id {
            return Err(Error::Misaddressed("unknown signed prekey"));
        }
        let opk = match init.one_time_prekey_id {
            None => None,
            Some(id) => Some(
                self.opks
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, k)| k)
                    .ok_or(Error::Misaddressed(
                        "one-time prekey already used or unknown",
                    ))?,
            ),
        };
        let me = self.identity_public();
        let (sk, ad) = x3dh::respond(
            &self.account,
            &self.identity,
            &me,
            &self.spk,
            opk,
            from,
            &claimed,
            &init.ephemeral,
        );
        Ok((
            Session::new_responder(from, &sk, ad, self.spk.clone()),
            init.one_time_prekey_id,
        ))
    }
}

/// Identifies a chain of a sender: SHA-256 of the sender's name and the chain's key.
fn chain_id(from: &str, chain: &PublicKey) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::new()
        .chain_update(b"escrow-lab/v2/chain-seen")
        .chain_update((from.len() as u16).to_be_bytes())
        .chain_update(from.as_bytes())
        .chain_update(crate::keys::public_bytes(chain))
        .finalize()
        .into()
}

/// Identifies a session start: SHA-256 of the sender's name and its ephemeral key.
fn start_id(from: &str, init: &X3dhInit) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::new()
        .chain_update(b"escrow-lab/v1/session-start")
        .chain_update((from.len() as u16).to_be_bytes())
        .chain_update(from.as_bytes())
        .chain_update(crate::keys::public_bytes(&init.ephemeral))
        .finalize()
        .into()
}

// ---------------------------------------------------------------------------------------
// State file

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientJson {
    version: u64,
    account: String,
    identity_sign: String,
    identity_dh: String,
    signed_prekey_id: u32,
    signed_prekey: String,
    signed_prekey_sig: String,
    one_time_prekeys: Vec<(u32, String)>,
    sessions: Vec<SessionJson>,
    held: Vec<Incoming>,
    quarantine: Vec<Quarantined>,
    seen_starts: Vec<String>,
    #[serde(default)]
    seen_chains: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    outbox: Vec<Pending>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    inbox: Vec<Received>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_time: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionJson {
    peer: String,
    ad: String,
    rk: String,
    dhs: String,
    dhr: Option<String>,
    send: Option<SendJson>,
    recv: Vec<RecvJson>,
    skipped: Vec<SkippedJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendJson {
    key: String,
    peer: String,
    ck: String,
    n: u32,
    kind: String,
    x3dh: Option<X3dhJson>,
    prev: Option<(String, u32)>,
    epoch: Option<u64>,
    block: Option<BlockJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecvJson {
    id: String,
    my_key: String,
    ck: String,
    n: u32,
    epoch: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkippedJson {
    chain: String,
    n: u32,
    mk: String,
    epoch: u64,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::Format {
        what: "client state",
        reason: reason.into(),
    }
}

/// A list of 32-byte digests in hex, oldest first, at most `max`. (Files written before the
/// list kept its order hold it sorted by digest: read as it stands, that order is taken for
/// the age.)
fn digests(field: &str, hexes: &[String], max: usize) -> Result<Seen> {
    if hexes.len() > max {
        return Err(bad(format!("{field} holds more than {max} entries")));
    }
    let mut seen = Seen::default();
    for h in hexes {
        let mut out = [0u8; 32];
        hex::decode_to_slice(h, &mut out)
            .map_err(|_| bad(format!("{field} must be 32-byte hex")))?;
        seen.insert(out, max);
    }
    Ok(seen)
}

fn secret_hex(k: &DhKeyPair) -> String {
    hex::encode(*k.secret_bytes())
}

fn key_from_hex(field: &'static str, s: &str) -> Result<DhKeyPair> {
    let bytes = Zeroizing::new(hex::decode(s).map_err(|_| bad(format!("{field} is not hex")))?);
    DhKeyPair::from_secret_bytes(field, &bytes)
}

fn k32(field: &str, s: &str) -> Result<crate::keys::Key32> {
    let mut out = Zeroizing::new([0u8; 32]);
    if s.len() != 64 {
        return Err(bad(format!("{field} must be 32 bytes of hex")));
    }
    hex::decode_to_slice(s, out.as_mut_slice()).map_err(|_| bad(format!("{field} is not hex")))?;
    Ok(out)
}

impl Client {
    /// Serializes the whole private state (secret: write it only with mode 0600).
    pub fn to_json(&self) -> Result<Zeroizing<Vec<u8>>> {
        let sessions = self
            .sessions
            .values()
            .flatten()
            .map(|s| SessionJson {
                peer: s.peer.clone(),
                ad: hex::encode(&s.ad),
                rk: hex::encode(*s.rk),
                dhs: secret_hex(&s.dhs),
                dhr: s.dhr.as_ref().map(public_hex),
                send: s.send.as_ref().map(|c| SendJson {
                    key: secret_hex(&c.key),
                    peer: public_hex(&c.peer),
                    ck: hex::encode(*c.ck),
                    n: c.n,
                    kind: match c.kind {
                        ChainKind::X3dh(_) => "x3dh",
                        ChainKind::Ratchet => "ratchet",
                        ChainKind::Epoch => "epoch",
                    }
                    .to_owned(),
                    x3dh: match &c.kind {
                        ChainKind::X3dh(x) => Some(X3dhJson::from_init(x)),
                        _ => None,
                    },
                    prev: c.prev.map(|(p, n)| (public_hex(&p), n)),
                    epoch: c.epoch,
                    block: c.block.as_ref().map(BlockJson::from_block),
                }),
                recv: s
                    .recv
                    .iter()
                    .map(|c| RecvJson {
                        id: public_hex(&c.id),
                        my_key: secret_hex(&c.my_key),
                        ck: hex::encode(*c.ck),
                        n: c.n,
                        epoch: c.epoch,
                    })
                    .collect(),
                skipped: s
                    .skipped
                    .iter()
                    .map(|k| SkippedJson {
                        chain: hex::encode(k.chain),
                        n: k.n,
                        mk: hex::encode(*k.mk),
                        epoch: k.epoch,
                    })
                    .collect(),
            })
            .collect();
        let j = ClientJson {
            version: 1,
            account: self.account.clone(),
            identity_sign: secret_hex(&self.identity.sign),
            identity_dh: secret_hex(&self.identity.dh),
            signed_prekey_id: self.spk_id,
            signed_prekey: secret_hex(&self.spk),
            signed_prekey_sig: hex::encode(self.spk_sig),
            one_time_prekeys: self.opks.iter().map(|(i, k)| (*i, secret_hex(k))).collect(),
            sessions,
            held: self.held.clone(),
            quarantine: self.quarantine.clone(),
            seen_starts: self.seen_starts.iter().map(hex::encode).collect(),
            seen_chains: self.seen_chains.iter().map(hex::encode).collect(),
            outbox: self.outbox.clone(),
            inbox: self.inbox.clone(),
            last_time: self.last_time,
        };
        let mut out = Zeroizing::new(
            serde_json::to_vec_pretty(&j)
                .map_err(|_| Error::Internal(crate::error::Bug::StateJson))?,
        );
        out.push(b'\n');
        Ok(out)
    }

    /// Parses and validates a state file.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        match v.get("version").and_then(|v| v.as_u64()) {
            Some(1) => {}
            Some(found) => {
                return Err(Error::Version {
                    what: "client state",
                    found,
                    expected: 1,
                });
            }
            None => return Err(bad("missing version")),
        }
        let j: ClientJson = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        check_account(&j.account)?;
        let mut sessions = BTreeMap::new();
        for s in j.sessions {
            check_account(&s.peer)?;
            let send = match s.send {
                None => None,
                Some(c) => {
                    let kind = match (c.kind.as_str(), &c.x3dh) {
                        ("x3dh", Some(x)) => ChainKind::X3dh(Box::new(x.to_init()?)),
                        ("ratchet", None) => ChainKind::Ratchet,
                        ("epoch", None) => ChainKind::Epoch,
                        _ => return Err(bad("unknown chain kind")),
                    };
                    Some(SendChain {
                        key: key_from_hex("send.key", &c.key)?,
                        peer: public_from_hex("send.peer", &c.peer)?,
                        ck: k32("send.ck", &c.ck)?,
                        n: c.n,
                        kind,
                        prev: match c.prev {
                            None => None,
                            Some((p, n)) => Some((public_from_hex("send.prev", &p)?, n)),
                        },
                        epoch: c.epoch,
                        block: c.block.map(|b| b.to_block()).transpose()?,
                    })
                }
            };
            let recv = s
                .recv
                .iter()
                .map(|c| {
                    Ok(RecvChain {
                        id: public_from_hex("recv.id", &c.id)?,
                        my_key: key_from_hex("recv.my_key", &c.my_key)?,
                        ck: k32("recv.ck", &c.ck)?,
                        n: c.n,
                        epoch: c.epoch,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let skipped = s
                .skipped
                .iter()
                .map(|k| {
                    let mut chain = [0u8; 33];
                    hex::decode_to_slice(&k.chain, &mut chain)
                        .map_err(|_| bad("skipped.chain is not 33 bytes of hex"))?;
                    Ok(Skipped {
                        chain,
                        n: k.n,
                        mk: k32("skipped.mk", &k.mk)?,
                        epoch: k.epoch,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let session = Session {
                peer: s.peer.clone(),
                ad: hex::decode(&s.ad).map_err(|_| bad("ad is not hex"))?,
                rk: k32("rk", &s.rk)?,
                dhs: key_from_hex("dhs", &s.dhs)?,
                dhr: s
                    .dhr
                    .as_deref()
                    .map(|d| public_from_hex("dhr", d))
                    .transpose()?,
                send,
                recv,
                skipped,
            };
            sessions
                .entry(s.peer)
                .or_insert_with(Vec::new)
                .push(session);
        }
        if j.outbox.len() > MAX_OUTBOX {
            return Err(bad("the outbox holds too many envelopes"));
        }
        for p in &j.outbox {
            if Envelope::from_json(p.body.as_bytes())?.from != j.account {
                return Err(bad("an outbox envelope is not this account's"));
            }
        }
        let outbox = j.outbox;
        if j.inbox.len() > MAX_INBOX {
            return Err(bad("the inbox holds too many messages"));
        }
        for r in &j.inbox {
            check_account(&r.from)?;
            r.text()?;
        }
        let inbox = j.inbox;
        Ok(Self {
            account: j.account,
            identity: Identity {
                sign: key_from_hex("identity_sign", &j.identity_sign)?,
                dh: key_from_hex("identity_dh", &j.identity_dh)?,
            },
            spk_id: j.signed_prekey_id,
            spk: key_from_hex("signed_prekey", &j.signed_prekey)?,
            spk_sig: sig_from_hex(&j.signed_prekey_sig)?,
            opks: j
                .one_time_prekeys
                .iter()
                .map(|(i, k)| Ok((*i, key_from_hex("one_time_prekey", k)?)))
                .collect::<Result<Vec<_>>>()?,
            sessions,
            held: j.held,
            quarantine: j.quarantine,
            seen_starts: digests("seen_starts", &j.seen_starts, MAX_SEEN_STARTS)?,
            seen_chains: digests("seen_chains", &j.seen_chains, MAX_SEEN_CHAINS)?,
            outbox,
            inbox,
            last_time: j.last_time,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rand_core::OsRng;

    use super::*;

    /// Outside review: junk posted under any name cannot grow the quarantine (and with it the
    /// state file and every command's cost) past its byte bound; the oldest entries go first.
    #[test]
    fn the_quarantine_is_bounded_in_bytes_and_keeps_the_newest() {
        let (mut client, _) = Client::register("bob", &mut OsRng).unwrap();
        let junk = "x".repeat(22_000);
        for id in 0..200 {
            client.push_quarantine(
                Incoming {
                    relay_id: id,
                    server_time: 0,
                    body: junk.clone(),
                },
                "forged".into(),
            );
        }
        let bytes: usize = client
            .quarantine
            .iter()
            .map(|q| q.incoming.body.len() + q.reason.len())
            .sum();
        assert!(bytes <= MAX_QUARANTINE_BYTES, "{bytes}");
        assert!(client.quarantine.len() >= 40, "{}", client.quarantine.len());
        assert_eq!(client.quarantine.last().unwrap().incoming.relay_id, 199);
        let first = client.quarantine[0].incoming.relay_id;
        assert_eq!(first as usize, 200 - client.quarantine.len());
    }

    /// Finding 7: past its bound, the replay list of session starts forgets the entry it took
    /// first — not the one with the smallest hash — also across a save and load.
    #[test]
    fn the_seen_starts_list_evicts_the_oldest_entry() {
        let (mut client, _) = Client::register("bob", &mut OsRng).unwrap();
        let oldest = [0xff; 32];
        let smallest = [0x00; 32];
        client.seen_starts.insert(oldest, MAX_SEEN_STARTS);
        client.seen_starts.insert(smallest, MAX_SEEN_STARTS);
        let filler = |i: usize| {
            let mut d = [0x80; 32];
            d[..8].copy_from_slice(&(i as u64).to_be_bytes());
            d
        };
        for i in 0..MAX_SEEN_STARTS - 2 {
            client.seen_starts.insert(filler(i), MAX_SEEN_STARTS);
        }
        assert!(client.seen_starts.contains(&oldest));
        let mut client = Client::from_json(&client.to_json().unwrap()).unwrap();
        client.seen_starts.insert([0x42; 32], MAX_SEEN_STARTS);
        assert_eq!(client.seen_starts.iter().count(), MAX_SEEN_STARTS);
        assert!(
            !client.seen_starts.contains(&oldest),
            "the oldest is forgotten"
        );
        assert!(
            client.seen_starts.contains(&smallest),
            "not the smallest hash"
        );
        assert!(client.seen_starts.contains(&[0x42; 32]));
        // Next, the second oldest; the same rule for the list of chains.
        client.seen_starts.insert([0x43; 32], MAX_SEEN_STARTS);
        assert!(!client.seen_starts.contains(&smallest));
        assert!(client.seen_starts.contains(&filler(0)));
        for d in [oldest, smallest, [0x01; 32]] {
            client.seen_chains.insert(d, 2);
        }
        assert_eq!(
            client.seen_chains.iter().copied().collect::<Vec<_>>(),
            [smallest, [0x01; 32]]
        );
    }

    /// A state file written before the list kept its order (sorted by hash) still loads; its
    /// order is taken for the age.
    #[test]
    fn a_state_file_with_a_sorted_seen_list_still_loads() {
        let (client, _) = Client::register("bob", &mut OsRng).unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&client.to_json().unwrap()).unwrap();
        v["seen_starts"] = serde_json::json!([hex::encode([0x00; 32]), hex::encode([0xff; 32])]);
        let mut client = Client::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(client.seen_starts.contains(&[0xff; 32]));
        client.seen_starts.insert([0x42; 32], 2);
        assert!(!client.seen_starts.contains(&[0x00; 32]));
        assert!(client.seen_starts.contains(&[0xff; 32]));
    }
}
