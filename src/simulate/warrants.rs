//! The warrants of the simulation, each through the whole real procedure, measured:
//! `auditor::submit_warrant` (log the warrant) → k × `escrow::authority::approve` (checks,
//! key shares, journal, `key-released`) → the provider's capture of every target → one
//! `auditor::execute::execute` → `warrant-executed`; and the log's size after each warrant.
//!
//! Scopes vary (seeded, stream 2 of `--seed`): 1..=min(10, users) targets — 10 is the
//! generation's policy maximum — over 1..=days consecutive days. The provider exports one
//! capture per target over the warrant's window; the auditor's `execute` takes one capture, so
//! the per-target captures are merged (envelopes deduplicated by relay id: a message between
//! two targets is opened and counted once) and executed once.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use escrow::lab::Lab;
use indicatif::ProgressBar;
use messenger::relay::Capture;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::traffic::{below, pick};
use crate::world::{DAY, World};

/// One warrant to serve: its targets, window and approving authorities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarrantPlan {
    /// Target users (indices).
    pub targets: Vec<usize>,
    /// First day of the window (0-based).
    pub first_day: usize,
    /// Days in the window.
    pub days: usize,
    /// The k authorities (indices) that approve.
    pub approvers: Vec<usize>,
}

/// The seeded warrants.
pub fn plan(
    seed: u64,
    count: usize,
    users: usize,
    days: usize,
    n: usize,
    k: usize,
) -> Vec<WarrantPlan> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(2);
    (0..count)
        .map(|_| {
            let targets = 1 + below(&mut rng, users.min(10));
            let span = 1 + below(&mut rng, days);
            let first_day = below(&mut rng, days - span + 1);
            WarrantPlan {
                targets: pick(&mut rng, (0..users).collect(), targets),
                first_day,
                days: span,
                approvers: pick(&mut rng, (0..n).collect(), k),
            }
        })
        .collect()
}

/// What one warrant measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WarrantRow {
    /// Reference.
    pub reference: String,
    /// Targets.
    pub targets: usize,
    /// Days (epochs) of the window.
    pub days: usize,
    /// Scope identities: targets × epochs.
    pub scope_identities: usize,
    /// Chains with a target as sender or recipient that started in the window.
    pub chains_in_scope: u64,
    /// Messages sent or received by a target in the window.
    pub messages_in_scope: u64,
    /// Envelopes in the merged capture.
    pub captured: u64,
    /// Messages the auditor decrypted.
    pub decrypted: u64,
    /// Their relay ids (overlapping warrants decrypt some messages more than once).
    pub decrypted_ids: Vec<i64>,
    /// Envelopes reported outside the scope.
    pub out_of_scope: u64,
    /// Envelopes reported escrow non-compliant.
    pub non_compliant: u64,
    /// Log entries after this warrant.
    pub log_entries: u64,
    /// Log bytes after this warrant.
    pub log_bytes: u64,
    /// `auditor::submit_warrant`.
    pub submit: Duration,
    /// The k calls of `escrow::authority::approve`, summed.
    pub approve: Duration,
    /// The k calls of `escrow::approval::make_approval` (shares only), summed.
    pub make_approval: Duration,
    /// The provider's captures of every target, and their merge.
    pub capture: Duration,
    /// `auditor::execute::execute`.
    pub execute: Duration,
}

/// One authority's approval of one warrant.
#[derive(Clone, Debug, PartialEq)]
pub struct ApprovalRow {
    /// Warrant number (1-based).
    pub warrant: usize,
    /// The authority.
    pub authority: String,
    /// Scope identities released.
    pub scope_identities: usize,
    /// `escrow::authority::approve`: load the share and log, check, make, journal, log.
    pub approve: Duration,
    /// `escrow::approval::make_approval` alone: the warrant share and the identity shares.
    pub make_approval: Duration,
}

/// The log's size: entries and the bytes of each table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogRow {
    /// Warrants executed so far.
    pub warrants: usize,
    /// Entries.
    pub entries: u64,
    /// Entry bytes (canonical JSON records).
    pub entry_bytes: u64,
    /// Stored Merkle hashes (32 bytes each).
    pub hash_bytes: u64,
    /// Signed checkpoints (one per tree size).
    pub checkpoint_bytes: u64,
    /// Witness cosignature lines.
    pub cosignature_bytes: u64,
}

impl LogRow {
    /// Every byte the log stores (without SQLite's own overhead).
    pub fn total(&self) -> u64 {
        self.entry_bytes + self.hash_bytes + self.checkpoint_bytes + self.cosignature_bytes
    }
}

/// Measures the log of `lab` (read-only).
pub fn log_row(lab: &Lab, warrants: usize) -> Result<LogRow> {
    let config = lab.load_log_config()?;
    let store = lab.open_log_read_only(&config)?;
    let st = store.storage()?;
    Ok(LogRow {
        warrants,
        entries: st.entries,
        entry_bytes: st.entry_bytes,
        hash_bytes: st.hash_bytes,
        checkpoint_bytes: st.checkpoint_bytes,
        cosignature_bytes: st.cosignature_bytes,
    })
}

/// Everything the warrants measured.
#[derive(Clone, Debug, Default)]
pub struct Served {
    /// One row per warrant.
    pub warrants: Vec<WarrantRow>,
    /// One row per approval.
    pub approvals: Vec<ApprovalRow>,
    /// The log before the first warrant, then after each.
    pub log: Vec<LogRow>,
}

/// Serves every planned warrant in `world`, the first at `t0`, one every ten minutes.
pub fn serve(
    world: &mut World,
    users: &[String],
    authorities: &[String],
    plans: &[WarrantPlan],
    start: i64,
    t0: i64,
    bar: &ProgressBar,
) -> Result<Served> {
    let mut by_user: Vec<Vec<usize>> = vec![Vec::new(); users.len()];
    let index: std::collections::HashMap<&str, usize> = users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.as_str(), i))
        .collect();
    for (i, s) in world.sent.iter().enumerate() {
        for who in [&s.from, &s.to] {
            if let Some(&u) = index.get(who.as_str()) {
                by_user[u].push(i);
            }
        }
    }
    let mut served = Served {
        log: vec![log_row(&world.lab, 0)?],
        ..Served::default()
    };
    for (i, p) in plans.iter().enumerate() {
        // 200 s per warrant: submitted at t, approved at t + 60, captured at t + 120,
        // executed at t + 180.
        let t = t0 + i as i64 * 200;
        let (from, to) = (
            start + p.first_day as i64 * DAY,
            start + (p.first_day + p.days) as i64 * DAY,
        );
        let targets: Vec<&str> = p.targets.iter().map(|&u| users[u].as_str()).collect();
        let reference = format!("SIM-{:05}", i + 1);
        let warrant = world.warrant(&reference, &targets, from, to, t + 30 * DAY)?;
        let digest = warrant.digest()?;
        let scope = warrant.scope(&world.params)?;
        let mut row = WarrantRow {
            reference,
            targets: targets.len(),
            days: p.days,
            scope_identities: scope.len(),
            ..WarrantRow::default()
        };

        let clock = Instant::now();
        let receipt = world.submit(&warrant, t)?;
        row.submit = clock.elapsed();

        let mut approved = Vec::new();
        for &a in &p.approvers {
            let name = &authorities[a];
            let clock = Instant::now();
            approved.push(world.approve(name, &warrant, &receipt, t + 60)?);
            let approve = clock.elapsed();
            let share = world.share(name)?;
            let clock = Instant::now();
            escrow::approval::make_approval(share, &world.params, &warrant, &digest, &scope)?;
            let make_approval = clock.elapsed();
            row.approve += approve;
            row.make_approval += make_approval;
            served.approvals.push(ApprovalRow {
                warrant: i + 1,
                authority: name.clone(),
                scope_identities: scope.len(),
                approve,
                make_approval,
            });
        }

        let clock = Instant::now();
        let mut captures = Vec::new();
        for target in &targets {
            captures.push(world.capture(target, from, to, t + 120)?);
        }
        let capture = merge(captures).context("internal: a warrant without targets")?;
        row.capture = clock.elapsed();
        row.captured = capture.envelopes.len() as u64;

        let refs: Vec<&escrow::authority::Approved> = approved.iter().collect();
        let clock = Instant::now();
        let report = world.execute(&warrant, &refs, &capture, t + 180)?;
        row.execute = clock.elapsed();
        row.decrypted = report.decrypted.len() as u64;
        row.decrypted_ids = report.decrypted.iter().map(|m| m.relay_id).collect();
        row.out_of_scope = report.out_of_scope as u64;
        row.non_compliant = report.non_compliant as u64;

        let mut in_scope: BTreeSet<usize> = BTreeSet::new();
        for &u in &p.targets {
            in_scope.extend(
                by_user[u]
                    .iter()
                    .filter(|&&m| (from..to).contains(&world.sent[m].time)),
            );
        }
        row.messages_in_scope = in_scope.len() as u64;
        row.chains_in_scope = in_scope
            .iter()
            .filter(|&&m| world.sent[m].starts_chain)
            .count() as u64;

        let log = log_row(&world.lab, i + 1)?;
        row.log_entries = log.entries;
        row.log_bytes = log.total();
        served.log.push(log);
        served.warrants.push(row);
        bar.inc(1);
    }
    Ok(served)
}

/// One capture of several accounts' captures over the same window: envelopes deduplicated
/// by relay id (in relay order), earlier chain starts deduplicated and dropped when the
/// window holds them, directories united. The `account` field keeps the first target.
fn merge(captures: Vec<Capture>) -> Option<Capture> {
    let mut it = captures.into_iter();
    let mut all = it.next()?;
    for c in it {
        all.envelopes.extend(c.envelopes);
        all.chain_starts.extend(c.chain_starts);
        all.directory.extend(c.directory);
    }
    all.envelopes.sort_by_key(|e| e.relay_id);
    all.envelopes.dedup_by_key(|e| e.relay_id);
    let inside: BTreeSet<i64> = all.envelopes.iter().map(|e| e.relay_id).collect();
    all.chain_starts.retain(|e| !inside.contains(&e.relay_id));
    all.chain_starts.sort_by_key(|e| e.relay_id);
    all.chain_starts.dedup_by_key(|e| e.relay_id);
    Some(all)
}
