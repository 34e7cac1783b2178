//! The synthetic population and its traffic, and the run of that traffic through the real
//! messenger twice — with escrow and without — event by event.
//!
//! Every choice that shapes the traffic (contacts, send times, recipients, texts, reading
//! habits) comes from a ChaCha20 stream seeded by `--seed` (stream 1), never from the clock:
//! the same seed gives the same traffic. The model, per user:
//!
//! * 2–8 contacts, drawn at random; a new message goes to the contact of rank r with
//!   probability ∝ 1/(r+1) (a few close contacts, a tail of others), or — with probability
//!   [`REPLY`] — back to whoever last wrote to the user, once the user has read it;
//! * `m` messages a day at uniform times between 08:00 and 23:00 UTC, of 1–12 words;
//! * the user reads the relay every 5–120 minutes (a habit drawn once), jittered ±50 %,
//!   between 07:00 and 23:30, and everyone reads at 23:50, so every message of a day is read
//!   the same day.
//!
//! Chains are not modelled: they emerge from the double ratchet. A sender starts a chain
//! (and attaches an escrow block) with the first message to a peer in a day, and with the first
//! message after having read the peer's reply (a DH ratchet step); consecutive messages before
//! a reply share the chain.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use indicatif::ProgressBar;
use messenger::{EscrowContext, Outcome};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::world::{DAY, World};

/// Probability that a message answers the last person who wrote (when there is one).
pub const REPLY: f64 = 0.5;
const MIN_CONTACTS: usize = 2;
const MAX_CONTACTS: usize = 8;
const READ_EVERY_MIN: [i64; 6] = [5, 15, 30, 45, 60, 120];
const WORDS: [&str; 32] = [
    "the", "meeting", "is", "at", "noon", "see", "you", "later", "thanks", "for", "lunch", "can",
    "we", "talk", "tonight", "running", "late", "sorry", "ok", "great", "news", "call", "me",
    "when", "free", "love", "it", "where", "are", "home", "soon", "yes",
];

/// A uniform integer in `0..n` (`n` ≥ 1; Lemire's multiply, bias below 2^-32 · n).
pub(crate) fn below(rng: &mut ChaCha20Rng, n: usize) -> usize {
    ((u64::from(rng.next_u32()) * n as u64) >> 32) as usize
}

/// A uniform float in `[0, 1)`.
pub(crate) fn unit(rng: &mut ChaCha20Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// `count` distinct items of `pool`, in random order (partial Fisher–Yates).
pub(crate) fn pick(rng: &mut ChaCha20Rng, mut pool: Vec<usize>, count: usize) -> Vec<usize> {
    let count = count.min(pool.len());
    for i in 0..count {
        let j = i + below(rng, pool.len() - i);
        pool.swap(i, j);
    }
    pool.truncate(count);
    pool
}

/// What a user does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Sends `text` to `to`.
    Send {
        /// Sender (user index).
        from: usize,
        /// Recipient (user index).
        to: usize,
        /// The text.
        text: String,
    },
    /// Reads the relay.
    Read {
        /// The reader (user index).
        who: usize,
    },
}

/// One action at one time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Unix seconds.
    pub t: i64,
    /// Day of the simulation (0-based).
    pub day: usize,
    /// The action.
    pub action: Action,
}

/// The population and its timeline.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Account names, by user index.
    pub users: Vec<String>,
    /// Every event, in time order.
    pub events: Vec<Event>,
}

enum Slot {
    Send(usize),
    Read(usize),
}

/// The seeded plan of `users` × `days` × `m` messages from `start` (a UTC midnight).
pub fn plan(seed: u64, users: usize, days: usize, m: usize, start: i64) -> Plan {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(1);
    let names: Vec<String> = (1..=users).map(|i| format!("user{i:05}")).collect();
    let contacts: Vec<Vec<usize>> = (0..users)
        .map(|u| {
            let max = (users - 1).min(MAX_CONTACTS);
            let min = MIN_CONTACTS.min(max);
            let count = min + below(&mut rng, max - min + 1);
            let others: Vec<usize> = (0..users).filter(|&v| v != u).collect();
            pick(&mut rng, others, count)
        })
        .collect();
    let every: Vec<i64> = (0..users)
        .map(|_| READ_EVERY_MIN[below(&mut rng, READ_EVERY_MIN.len())] * 60)
        .collect();
    let mut pending: Vec<Vec<usize>> = vec![Vec::new(); users];
    let mut last_from: Vec<Option<usize>> = vec![None; users];
    let mut events = Vec::with_capacity(users * days * (m + 20));
    for day in 0..days {
        let base = start + day as i64 * DAY;
        let mut slots: Vec<(i64, Slot)> = Vec::new();
        for (u, &interval) in every.iter().enumerate() {
            for _ in 0..m {
                slots.push((
                    base + 8 * 3600 + below(&mut rng, 15 * 3600) as i64,
                    Slot::Send(u),
                ));
            }
            let mut t = base + 7 * 3600 + below(&mut rng, interval as usize) as i64;
            while t < base + 23 * 3600 + 1800 {
                slots.push((t, Slot::Read(u)));
                t += (interval as f64 * (0.5 + unit(&mut rng))) as i64 + 1;
            }
            slots.push((base + 23 * 3600 + 3000, Slot::Read(u)));
        }
        // Stable: equal times keep their generation order.
        slots.sort_by_key(|(t, _)| *t);
        for (t, slot) in slots {
            let action = match slot {
                Slot::Send(from) => {
                    let reply = unit(&mut rng) < REPLY;
                    let to = match last_from[from] {
                        Some(peer) if reply => peer,
                        _ => zipf(&mut rng, &contacts[from]),
                    };
                    pending[to].push(from);
                    Action::Send {
                        from,
                        to,
                        text: text(&mut rng),
                    }
                }
                Slot::Read(who) => {
                    if let Some(&peer) = pending[who].last() {
                        last_from[who] = Some(peer);
                    }
                    pending[who].clear();
                    Action::Read { who }
                }
            };
            events.push(Event { t, day, action });
        }
    }
    Plan {
        users: names,
        events,
    }
}

fn zipf(rng: &mut ChaCha20Rng, contacts: &[usize]) -> usize {
    let total: f64 = (1..=contacts.len()).map(|r| 1.0 / r as f64).sum();
    let mut x = unit(rng) * total;
    for (r, &c) in contacts.iter().enumerate() {
        x -= 1.0 / (r + 1) as f64;
        if x < 0.0 {
            return c;
        }
    }
    // Rounding left x at or just above 0: the last contact.
    contacts.last().copied().unwrap_or_default()
}

fn text(rng: &mut ChaCha20Rng) -> String {
    let n = 1 + below(rng, 12);
    let words: Vec<&str> = (0..n).map(|_| WORDS[below(rng, WORDS.len())]).collect();
    words.join(" ")
}

/// One world and one escrow context per user: every client prepares and caches its own
/// scopes, as a device would (the world's shared context is swapped in for each call).
#[derive(Debug)]
pub struct Side {
    /// The world.
    pub world: World,
    contexts: Vec<EscrowContext>,
}

impl Side {
    /// A side of `users` clients, with escrow or with the escrow-free baseline context.
    pub fn new(world: World, users: usize, escrow: bool) -> Self {
        let params = world.params.clone();
        let contexts = (0..users)
            .map(|_| {
                if escrow {
                    EscrowContext::new(params.clone())
                } else {
                    messenger::hazmat::escrow_disabled(params.clone())
                }
            })
            .collect();
        Self { world, contexts }
    }

    fn with_context<T>(&mut self, user: usize, f: impl FnOnce(&mut World) -> T) -> T {
        std::mem::swap(&mut self.world.escrow, &mut self.contexts[user]);
        let r = f(&mut self.world);
        std::mem::swap(&mut self.world.escrow, &mut self.contexts[user]);
        r
    }
}

/// What one day of traffic measured. Index 0 of each pair: with escrow; 1: without.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DayStats {
    /// Messages sent.
    pub messages: u64,
    /// Of which started a chain (and carried an escrow block).
    pub chain_starts: u64,
    /// Escrow block bytes.
    pub escrow_bytes: u64,
    /// JSON envelope bytes on the wire: with escrow, without.
    pub envelope_bytes: [u64; 2],
    /// Messages accepted by their recipients (with escrow).
    pub delivered: u64,
    /// Messages refused by their recipients (with escrow).
    pub rejected: u64,
    /// Relay reads.
    pub reads: u64,
    /// Sender time of chain-starting messages.
    pub send_start: [Duration; 2],
    /// Sender time of messages inside a chain.
    pub send_in_chain: [Duration; 2],
    /// Recipient time (every read).
    pub read: [Duration; 2],
}

/// Runs `plan` through both sides, event by event (alternating which side goes first), and
/// returns one [`DayStats`] per day.
pub fn run(
    plan: &Plan,
    days: usize,
    sides: &mut [Side; 2],
    bar: &ProgressBar,
) -> Result<Vec<DayStats>> {
    let mut stats = vec![DayStats::default(); days];
    for (i, ev) in plan.events.iter().enumerate() {
        let d = &mut stats[ev.day];
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        match &ev.action {
            Action::Send { from, to, text } => {
                let mut starts = [false; 2];
                let mut escrow = [0usize; 2];
                let mut spent = [Duration::ZERO; 2];
                for s in order {
                    let (result, took) = sides[s].with_context(*from, |w| {
                        let t0 = Instant::now();
                        let r = w.send_envelope(&plan.users[*from], &plan.users[*to], text, ev.t);
                        (r, t0.elapsed())
                    });
                    let (sent, env) = result?;
                    starts[s] = sent.starts_chain;
                    escrow[s] = sent.escrow_bytes;
                    d.envelope_bytes[s] += env.to_json().len() as u64;
                    spent[s] = took;
                }
                if starts[0] != starts[1] || escrow[1] != 0 {
                    bail!("internal: the runs with and without escrow diverged");
                }
                d.messages += 1;
                d.escrow_bytes += escrow[0] as u64;
                if starts[0] {
                    d.chain_starts += 1;
                }
                let bucket = if starts[0] {
                    &mut d.send_start
                } else {
                    &mut d.send_in_chain
                };
                for (total, took) in bucket.iter_mut().zip(spent) {
                    *total += took;
                }
            }
            Action::Read { who } => {
                d.reads += 1;
                for s in order {
                    let (outcomes, took) = sides[s].with_context(*who, |w| {
                        let t0 = Instant::now();
                        let r = w.read(&plan.users[*who], ev.t);
                        (r, t0.elapsed())
                    });
                    let outcomes = outcomes?;
                    d.read[s] += took;
                    if s == 0 {
                        for (_, o) in &outcomes {
                            match o {
                                Outcome::Delivered { .. } => d.delivered += 1,
                                Outcome::Rejected { .. } => d.rejected += 1,
                                Outcome::Held => {}
                            }
                        }
                    }
                }
            }
        }
        bar.inc(1);
    }
    Ok(stats)
}
