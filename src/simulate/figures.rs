//! The simulation's figures: totals, per-message and per-chain costs, and the straight-line
//! fits of authority and auditor work against scope size.
//!
//! Escrow CPU is measured as a difference on the same traffic and the same code path:
//!
//! ```text
//! escrow CPU, sender,    per chain = (Σ send time with escrow − Σ send time without) / chains
//! escrow CPU, recipient, per chain = (Σ read time with escrow − Σ read time without) / chains
//! escrow CPU per message           = (sender + recipient differences) / messages
//! ```
//!
//! Fits are least squares of `y = a + b·x` constrained to `a, b ≥ 0` (if the free fit has a
//! negative coefficient, the better of `y = b·x` and `y = a` is used): a cost is never
//! negative, and a handful of noisy points should not say so.

use std::time::Duration;

use super::traffic::DayStats;
use super::warrants::Served;

/// Bytes of one chain's escrow block (`messenger::escrow_block::BLOCK_LEN`).
pub const BLOCK: u64 = messenger::escrow_block::BLOCK_LEN as u64;

/// `y = a + b·x`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Fit {
    /// Fixed part.
    pub a: f64,
    /// Per unit of x.
    pub b: f64,
}

impl Fit {
    /// The fitted value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.a + self.b * x
    }

    /// The non-negative least-squares fit of `points` (zero when there are none).
    pub fn of(points: &[(f64, f64)]) -> Self {
        if points.is_empty() {
            return Self::default();
        }
        let n = points.len() as f64;
        let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
        let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
        let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
        if sxx > 0.0 {
            let b = sxy / sxx;
            let free = Self {
                a: mean_y - b * mean_x,
                b,
            };
            if free.a >= 0.0 && free.b >= 0.0 {
                return free;
            }
        }
        let x2: f64 = points.iter().map(|p| p.0 * p.0).sum();
        let xy: f64 = points.iter().map(|p| p.0 * p.1).sum();
        let through_origin = Self {
            a: 0.0,
            b: if x2 > 0.0 { (xy / x2).max(0.0) } else { 0.0 },
        };
        let flat = Self {
            a: mean_y.max(0.0),
            b: 0.0,
        };
        let sse = |f: &Self| -> f64 { points.iter().map(|p| (p.1 - f.at(p.0)).powi(2)).sum() };
        if sse(&through_origin) < sse(&flat) {
            through_origin
        } else {
            flat
        }
    }
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(x: f64, y: f64) -> f64 {
    if y > 0.0 { x / y } else { 0.0 }
}

/// Every figure the CSV summary, the charts and the text report use.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Messages sent.
    pub messages: u64,
    /// Chain starts (escrow blocks).
    pub chains: u64,
    /// Messages inside chains.
    pub in_chain: u64,
    /// Chains per message.
    pub chains_per_message: f64,
    /// Escrow bytes.
    pub escrow_bytes: u64,
    /// Envelope bytes, with and without escrow.
    pub envelope_bytes: [u64; 2],
    /// Delivered and rejected (with escrow).
    pub delivered: u64,
    /// Rejected by recipients.
    pub rejected: u64,
    /// Relay reads.
    pub reads: u64,
    /// Total sender time (ms), with and without escrow.
    pub send_ms: [f64; 2],
    /// Total recipient time (ms), with and without escrow.
    pub read_ms: [f64; 2],
    /// Mean sender time of a chain-starting message (ms), with and without.
    pub chain_start_ms: [f64; 2],
    /// Mean sender time of a message inside a chain (ms), with and without.
    pub in_chain_ms: [f64; 2],
    /// Escrow CPU per chain, sender (ms).
    pub escrow_sender_ms: f64,
    /// Escrow CPU per chain, recipient (ms).
    pub escrow_recipient_ms: f64,
    /// Warrants served.
    pub warrants: usize,
    /// Approvals made.
    pub approvals: usize,
    /// Σ scope identities.
    pub scope_identities: u64,
    /// Σ chains in scope.
    pub chains_in_scope: u64,
    /// Σ messages in scope.
    pub messages_in_scope: u64,
    /// Σ messages decrypted (per warrant: a message in the scope of two warrants counts twice).
    pub decrypted: u64,
    /// Distinct messages decrypted by any warrant.
    pub decrypted_distinct: u64,
    /// Authority time per approval vs scope identities (ms).
    pub approve_fit: Fit,
    /// Share-making time per approval vs scope identities (ms).
    pub make_fit: Fit,
    /// Auditor time per warrant vs chains in scope (ms).
    pub execute_fit: Fit,
    /// Mean authority time per approval (ms).
    pub approve_mean_ms: f64,
    /// Mean auditor time per warrant (ms).
    pub execute_mean_ms: f64,
    /// Log entries at the end.
    pub log_entries: u64,
    /// Log bytes at the end.
    pub log_bytes: u64,
    /// Log entries added per warrant.
    pub entries_per_warrant: f64,
    /// Log bytes per entry added by the warrants.
    pub bytes_per_entry: f64,
}

impl Figures {
    /// Computes the figures.
    pub fn new(days: &[DayStats], served: &Served) -> Self {
        let mut f = Self::default();
        let sum = |g: &dyn Fn(&DayStats) -> u64| days.iter().map(g).sum::<u64>();
        let sum_ms = |g: &dyn Fn(&DayStats) -> Duration| ms(days.iter().map(g).sum());
        f.messages = sum(&|d| d.messages);
        f.chains = sum(&|d| d.chain_starts);
        f.in_chain = f.messages - f.chains;
        f.chains_per_message = ratio(f.chains as f64, f.messages as f64);
        f.escrow_bytes = sum(&|d| d.escrow_bytes);
        f.envelope_bytes = [sum(&|d| d.envelope_bytes[0]), sum(&|d| d.envelope_bytes[1])];
        f.delivered = sum(&|d| d.delivered);
        f.rejected = sum(&|d| d.rejected);
        f.reads = sum(&|d| d.reads);
        for s in 0..2 {
            let start = sum_ms(&|d| d.send_start[s]);
            let inside = sum_ms(&|d| d.send_in_chain[s]);
            f.send_ms[s] = start + inside;
            f.read_ms[s] = sum_ms(&|d| d.read[s]);
            f.chain_start_ms[s] = ratio(start, f.chains as f64);
            f.in_chain_ms[s] = ratio(inside, f.in_chain as f64);
        }
        f.escrow_sender_ms = ratio(f.send_ms[0] - f.send_ms[1], f.chains as f64);
        f.escrow_recipient_ms = ratio(f.read_ms[0] - f.read_ms[1], f.chains as f64);

        let w = &served.warrants;
        f.warrants = w.len();
        f.approvals = served.approvals.len();
        f.scope_identities = w.iter().map(|r| r.scope_identities as u64).sum();
        f.chains_in_scope = w.iter().map(|r| r.chains_in_scope).sum();
        f.messages_in_scope = w.iter().map(|r| r.messages_in_scope).sum();
        f.decrypted = w.iter().map(|r| r.decrypted).sum();
        f.decrypted_distinct = w
            .iter()
            .flat_map(|r| r.decrypted_ids.iter().copied())
            .collect::<std::collections::BTreeSet<i64>>()
            .len() as u64;
        let points = |g: &dyn Fn(&super::warrants::ApprovalRow) -> Duration| -> Vec<(f64, f64)> {
            served
                .approvals
                .iter()
                .map(|a| (a.scope_identities as f64, ms(g(a))))
                .collect()
        };
        f.approve_fit = Fit::of(&points(&|a| a.approve));
        f.make_fit = Fit::of(&points(&|a| a.make_approval));
        let exec: Vec<(f64, f64)> = w
            .iter()
            .map(|r| (r.chains_in_scope as f64, ms(r.execute)))
            .collect();
        f.execute_fit = Fit::of(&exec);
        f.approve_mean_ms = ratio(
            served.approvals.iter().map(|a| ms(a.approve)).sum(),
            f.approvals as f64,
        );
        f.execute_mean_ms = ratio(exec.iter().map(|p| p.1).sum(), f.warrants as f64);
        if let (Some(first), Some(last)) = (served.log.first(), served.log.last()) {
            f.log_entries = last.entries;
            f.log_bytes = last.total();
            let added = last.entries - first.entries;
            f.entries_per_warrant = ratio(added as f64, f.warrants as f64);
            f.bytes_per_entry = ratio((last.total() - first.total()) as f64, added as f64);
        }
        f
    }

    /// Escrow CPU per chain, sender and recipient (ms).
    pub fn escrow_per_chain_ms(&self) -> f64 {
        self.escrow_sender_ms + self.escrow_recipient_ms
    }

    /// Escrow CPU per message, sender and recipient (ms).
    pub fn escrow_per_message_ms(&self) -> f64 {
        self.escrow_per_chain_ms() * self.chains_per_message
    }

    /// Escrow bytes per message.
    pub fn escrow_bytes_per_message(&self) -> f64 {
        ratio(self.escrow_bytes as f64, self.messages as f64)
    }

    /// Escrow bytes per chain.
    pub fn escrow_bytes_per_chain(&self) -> f64 {
        ratio(self.escrow_bytes as f64, self.chains as f64)
    }
}
