//! The in-memory world the messenger's tests share: clients, a directory with one-time
//! prekeys, per-recipient queues standing in for the relay, and the escrow authorities' shares.

#![allow(dead_code)] // each test file uses part of it

use std::collections::BTreeMap;

use escrow::{AuthorityShare, KeyShare, PublicParams, SetupRequest, combine_identity_key};
use messenger::hazmat::send_noncompliant;
use messenger::x3dh::{IdentityPublic, PrekeyBundle};
use messenger::{Client, Envelope, EscrowBlock, EscrowContext, Incoming, Outcome};
use p256::PublicKey;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use time::OffsetDateTime;

pub use test_support::clock::DAY;
/// Day 0 of the conversations: 2026-11-27T00:00:00Z.
pub const T0: i64 = test_support::clock::NOV_27;

pub struct Sent {
    pub from: String,
    pub to: String,
    pub text: String,
    pub time: i64,
    pub env: Envelope,
}

pub struct World {
    pub params: PublicParams,
    pub shares: Vec<AuthorityShare>,
    pub escrow: EscrowContext,
    pub clients: BTreeMap<String, Client>,
    pub bundles: BTreeMap<String, (PrekeyBundle, Vec<(u32, PublicKey)>)>,
    pub queues: BTreeMap<String, Vec<Incoming>>,
    pub sent: BTreeMap<i64, Sent>,
    pub next_id: i64,
    /// The clock of the receiving side: the latest send time so far, unless a test sets it.
    pub now: i64,
    pub rng: ChaCha20Rng,
}

impl World {
    pub fn new(accounts: &[&str], seed: [u8; 32]) -> Self {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let names = ["court", "ministry", "oversight"]
            .map(str::to_owned)
            .to_vec();
        let req = SetupRequest::new(names, 2, OffsetDateTime::UNIX_EPOCH);
        let (params, shares) = escrow::dealer_setup(&req, &mut rng).unwrap();
        let mut w = World {
            escrow: EscrowContext::new(params.clone()),
            params,
            shares,
            clients: BTreeMap::new(),
            bundles: BTreeMap::new(),
            queues: BTreeMap::new(),
            sent: BTreeMap::new(),
            next_id: 1,
            now: T0,
            rng,
        };
        for a in accounts {
            let (c, reg) = Client::register(a, &mut w.rng).unwrap();
            w.bundles
                .insert(a.to_string(), (reg.bundle, reg.one_time_prekeys));
            w.clients.insert(a.to_string(), c);
        }
        w
    }

    pub fn send_with(
        &mut self,
        from: &str,
        to: &str,
        text: &str,
        time: i64,
        tamper: Option<&mut dyn FnMut(Option<EscrowBlock>) -> Option<EscrowBlock>>,
    ) -> i64 {
        let mut client = self.clients.remove(from).unwrap();
        let bundles = &mut self.bundles;
        let mut fetch = |acct: &str| -> messenger::Result<PrekeyBundle> {
            let (b, opks) = bundles.get_mut(acct).unwrap();
            let mut b = b.clone();
            b.one_time_prekey = if opks.is_empty() {
                None
            } else {
                Some(opks.remove(0))
            };
            Ok(b)
        };
        let env = match tamper {
            None => client
                .send(
                    to,
                    text.as_bytes(),
                    time,
                    &mut self.escrow,
                    &mut fetch,
                    &mut self.rng,
                )
                .unwrap(),
            Some(t) => send_noncompliant(
                &mut client,
                to,
                text.as_bytes(),
                time,
                &mut self.escrow,
                &mut fetch,
                &mut self.rng,
                t,
            )
            .unwrap(),
        };
        self.clients.insert(from.to_owned(), client);
        self.now = self.now.max(time);
        let id = self.next_id;
        self.next_id += 1;
        self.queues
            .entry(to.to_owned())
            .or_default()
            .push(Incoming {
                relay_id: id,
                server_time: time,
                body: String::from_utf8(env.to_json()).unwrap(),
            });
        self.sent.insert(
            id,
            Sent {
                from: from.to_owned(),
                to: to.to_owned(),
                text: text.to_owned(),
                time,
                env,
            },
        );
        id
    }

    pub fn send(&mut self, from: &str, to: &str, text: &str, time: i64) -> i64 {
        self.send_with(from, to, text, time, None)
    }

    /// Delivers `to`'s queue in the order given by `shuffle` (a seed), returns the outcomes.
    pub fn deliver(&mut self, to: &str, shuffle: u64) -> Vec<(i64, Outcome)> {
        let mut batch = self.queues.remove(to).unwrap_or_default();
        let mut r = ChaCha20Rng::seed_from_u64(shuffle);
        for i in (1..batch.len()).rev() {
            let j = (r.next_u32() as usize) % (i + 1);
            batch.swap(i, j);
        }
        let bundles = &self.bundles;
        let mut directory = |acct: &str| -> messenger::Result<Option<IdentityPublic>> {
            Ok(bundles.get(acct).map(|(b, _)| b.identity.clone()))
        };
        let client = self.clients.get_mut(to).unwrap();
        client.receive(
            batch,
            self.now,
            &mut self.escrow,
            &mut directory,
            &mut self.rng,
        )
    }

    pub fn identity_key(&self, account: &str, epoch: u64) -> escrow::IdentityKey {
        let id = self.params.identity(account, epoch).unwrap();
        let ks: Vec<KeyShare> = self.shares[..2]
            .iter()
            .map(|s| s.release_identity_key_share(&self.params, &id).unwrap())
            .collect();
        combine_identity_key(&self.params, &id, &ks).unwrap()
    }

    pub fn session_state(&self, account: &str) -> serde_json::Value {
        let v: serde_json::Value =
            serde_json::from_slice(&self.clients[account].to_json().unwrap()).unwrap();
        v["sessions"].clone()
    }
}

impl World {
    /// Queues an envelope made by other means (a modified client, an outsider) for its
    /// recipient, relayed at `time`; returns its relay id.
    pub fn push(&mut self, env: &Envelope, time: i64) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.now = self.now.max(time);
        self.queues
            .entry(env.to.clone())
            .or_default()
            .push(Incoming {
                relay_id: id,
                server_time: time,
                body: String::from_utf8(env.to_json()).unwrap(),
            });
        id
    }

    /// The published identity of `account`.
    pub fn identity(&self, account: &str) -> IdentityPublic {
        self.bundles[account].0.identity.clone()
    }
}
