//! `escrow-lab simulate`: a synthetic population through the real messenger, escrow and
//! auditor code, measured, charted and extrapolated to the scale of the 2019 debate.
//!
//! 1. [`traffic`]: `--users` users with seeded contacts and habits send
//!    `--messages-per-user-day` messages a day for `--days` days on a fixed timeline (from
//!    2026-09-01 UTC) through `messenger::Client` and an in-memory relay. The same traffic runs
//!    twice, event by event: with escrow, and with the escrow-free baseline context
//!    (`messenger::hazmat::escrow_disabled`), so escrow's CPU is the difference on one code
//!    path. Each client has its own escrow context (its own cache of prepared scopes).
//! 2. [`warrants`]: `--warrants` warrants of varying scope, each logged, approved by k of the
//!    `--authorities`, captured and executed by the auditor, with the log measured after each.
//! 3. [`figures`], [`csv`], [`charts`]: totals, per-message and per-chain costs, fits of work
//!    against scope; CSV files and SVG charts in the output folder.
//! 4. [`extrapolate`]: the costs at a billion users and 16.8 million warrants a year, every
//!    formula printed with its numbers.
//!
//! The lab directories (parameters, shares, journals, log) live in a temporary folder that is
//! deleted at the end; the output folder receives only the CSV, SVG and `report.txt` files.
//! Every choice that shapes the traffic and the warrants comes from `--seed`; only the timing
//! columns differ between two runs with the same seed.

pub mod charts;
pub mod csv;
pub mod extrapolate;
pub mod figures;
pub mod traffic;
pub mod warrants;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::world::{DAY, World};
use extrapolate::{bytes, group, ms, num};
use figures::{BLOCK, Figures};
use traffic::Side;

/// Most messages one simulation sends (users × days × messages per user and day).
pub const MAX_MESSAGES: u64 = 2_000_000;

/// The simulation's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Users.
    pub users: u32,
    /// Days.
    pub days: u32,
    /// Messages each user sends per day.
    pub messages_per_user_day: u32,
    /// Warrants executed.
    pub warrants: u32,
    /// Authorities n.
    pub authorities: u32,
    /// Threshold k.
    pub threshold: u32,
    /// Seed.
    pub seed: u64,
}

impl Config {
    /// Refuses parameters the simulation cannot run, with a one-line reason.
    pub fn validate(&self) -> Result<()> {
        if self.users < 2 {
            bail!("--users must be at least 2 (someone has to receive)");
        }
        if !(1..=31).contains(&self.days) {
            bail!("--days must be 1 to 31 (the longest warrant the policy allows)");
        }
        if self.messages_per_user_day == 0 {
            bail!("--messages-per-user-day must be at least 1");
        }
        if !(2..=escrow::MAX_AUTHORITIES).contains(&(self.authorities as usize)) {
            bail!(
                "--authorities must be 2 to {} (a generation's limits)",
                escrow::MAX_AUTHORITIES
            );
        }
        if self.threshold == 0 || self.threshold > self.authorities {
            bail!(
                "--threshold must be 1 to --authorities ({})",
                self.authorities
            );
        }
        let total =
            u64::from(self.users) * u64::from(self.days) * u64::from(self.messages_per_user_day);
        if total > MAX_MESSAGES {
            bail!(
                "{} messages (users × days × messages per user and day) is more than this \
                 simulation sends ({})",
                group(total as i64),
                group(MAX_MESSAGES as i64)
            );
        }
        Ok(())
    }
}

/// Chooses the output folder (`simulation-<time>` by default; never a non-empty one).
pub fn prepare_out(requested: Option<&Path>, now: OffsetDateTime) -> Result<PathBuf> {
    crate::labdir::fresh_dir(requested, "simulation", now)
}

/// The first simulated day (UTC midnight): far enough in the clock's past that 31 days of
/// traffic and 10,000 warrants (200 s apart) end before the day the project was built (log
/// times may lag the clock, never run ahead of it).
pub fn start() -> i64 {
    datetime!(2026-09-01 00:00 UTC).unix_timestamp()
}

/// The files `run` writes into its output folder.
pub const FILES: [&str; 10] = [
    "summary.csv",
    "days.csv",
    "warrants.csv",
    "approvals.csv",
    "log.csv",
    "escrow-cost.svg",
    "authority-work.svg",
    "auditor-time.svg",
    "log-growth.svg",
    "report.txt",
];

fn progress_bar(progress: bool) -> Result<ProgressBar> {
    if !progress {
        return Ok(ProgressBar::hidden());
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg:9} [{bar:40}] {pos}/{len} {elapsed_precise} eta {eta}")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    Ok(bar)
}

fn phase(bar: &ProgressBar, name: &'static str, len: usize) {
    bar.set_message(name);
    bar.set_length(len as u64);
    bar.set_position(0);
}

/// Runs the simulation, writing CSV and SVG files to `dir` and the summary to `out`;
/// `progress` shows a progress bar on stderr.
pub fn run(config: &Config, dir: &Path, progress: bool, out: &mut dyn Write) -> Result<()> {
    config.validate()?;
    let clock = Instant::now();
    let (users, days) = (config.users as usize, config.days as usize);
    let (n, k) = (config.authorities as usize, config.threshold as usize);
    let start = start();
    let plan = traffic::plan(
        config.seed,
        users,
        days,
        config.messages_per_user_day as usize,
        start,
    );
    let warrant_plans = warrants::plan(config.seed, config.warrants as usize, users, days, n, k);
    let bar = progress_bar(progress)?;

    let labs = tempfile::Builder::new()
        .prefix("escrow-lab-simulate-")
        .tempdir()
        .context("creating a temporary folder for the labs")?;
    let authorities: Vec<String> = (1..=n).map(|i| format!("authority-{i}")).collect();
    let names: Vec<&str> = authorities.iter().map(String::as_str).collect();
    let world = |sub: &str| -> Result<World> {
        World::create_with_relay(
            &labs.path().join(sub),
            &names,
            k,
            start - DAY,
            ChaCha20Rng::seed_from_u64(config.seed),
            messenger::Relay::in_memory()?,
        )
    };
    let mut sides = [
        Side::new(world("with-escrow")?, users, true),
        Side::new(world("without-escrow")?, users, false),
    ];
    phase(&bar, "register", users);
    for name in &plan.users {
        for side in &mut sides {
            side.world.register(name, start - 3600)?;
        }
        bar.inc(1);
    }
    phase(&bar, "traffic", plan.events.len());
    let day_stats = traffic::run(&plan, days, &mut sides, &bar)?;
    let traffic_time = clock.elapsed();
    let [with, without] = sides;
    drop(without);
    let mut world = with.world;
    phase(&bar, "warrants", warrant_plans.len());
    let t0 = start + days as i64 * DAY + 3600;
    let served = warrants::serve(
        &mut world,
        &plan.users,
        &authorities,
        &warrant_plans,
        start,
        t0,
        &bar,
    )?;
    bar.finish_and_clear();
    drop(world);
    let wall = clock.elapsed();

    let f = Figures::new(&day_stats, &served);
    let summary = csv::summary(config, &f, wall);
    let mut report = summary_text(config, dir, &f, &served);
    report.push(String::new());
    report.extend(extrapolate::text(config, &f));
    report.push(String::new());
    report.push(format!(
        "Wall time: {:.1} s (registration and traffic {:.1} s, warrants {:.1} s).",
        wall.as_secs_f64(),
        traffic_time.as_secs_f64(),
        (wall - traffic_time).as_secs_f64()
    ));
    let report = report.join("\n") + "\n";
    let contents: [(&str, String); 10] = [
        (FILES[0], csv::summary_csv(&summary)),
        (FILES[1], csv::days_csv(&day_stats, start)),
        (FILES[2], csv::warrants_csv(&served)),
        (FILES[3], csv::approvals_csv(&served)),
        (FILES[4], csv::log_csv(&served)),
        (FILES[5], charts::escrow_cost(&f)?),
        (FILES[6], charts::authority_work(&served, &f)?),
        (FILES[7], charts::auditor_time(&served, &f)?),
        (FILES[8], charts::log_growth(&served)?),
        (FILES[9], report.clone()),
    ];
    for (name, text) in contents {
        escrow::lab::write_atomic(&dir.join(name), text.as_bytes(), 0o644)
            .with_context(|| format!("writing {name}"))?;
    }
    labs.close().context("removing the temporary labs")?;
    out.write_all(report.as_bytes())?;
    Ok(())
}

fn pct(x: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * x as f64 / of as f64
    }
}

/// The human summary of the measurements (lines of at most 100 columns).
fn summary_text(
    config: &Config,
    dir: &Path,
    f: &Figures,
    served: &warrants::Served,
) -> Vec<String> {
    let w = &served.warrants;
    let range = |g: &dyn Fn(&warrants::WarrantRow) -> usize| {
        let lo = w.iter().map(g).min().unwrap_or(0);
        let hi = w.iter().map(g).max().unwrap_or(0);
        format!("{lo}–{hi}")
    };
    let (with, without) = (f.envelope_bytes[0], f.envelope_bytes[1]);
    let mut l = vec![
        format!(
            "escrow-lab simulate: {} users × {} days × {} messages a day, {} warrants, \
             {} of {}, seed {}",
            config.users,
            config.days,
            config.messages_per_user_day,
            config.warrants,
            config.threshold,
            config.authorities,
            config.seed
        ),
        format!(
            "Output: {}",
            escrow::encoding::printable(&dir.display().to_string())
        ),
        String::new(),
        "Traffic through the real messenger (in-memory relay), run twice on the same seed: with"
            .to_owned(),
        "escrow, and with the baseline context that makes and checks no escrow blocks".to_owned(),
        format!(
            "  messages           {}: {} chain starts + {} inside chains (ρ = {:.4} chains/message)",
            group(f.messages as i64),
            group(f.chains as i64),
            group(f.in_chain as i64),
            f.chains_per_message
        ),
        format!(
            "  delivered          {} of {} (rejected {}), over {} relay reads",
            group(f.delivered as i64),
            group(f.messages as i64),
            f.rejected,
            group(f.reads as i64)
        ),
        format!(
            "  escrow bytes       {} B = {} B per chain = {} B per message",
            group(f.escrow_bytes as i64),
            num(f.escrow_bytes_per_chain()),
            num(f.escrow_bytes_per_message())
        ),
        format!(
            "  envelope bytes     {} with escrow, {} without (+{:.1} %, JSON with base64)",
            bytes(with as f64),
            bytes(without as f64),
            pct(with.saturating_sub(without), without)
        ),
        format!(
            "  sender, per msg    chain start {} with escrow, {} without;",
            ms(f.chain_start_ms[0]),
            ms(f.chain_start_ms[1]),
        ),
        format!(
            "                     inside a chain {} with escrow, {} without",
            ms(f.in_chain_ms[0]),
            ms(f.in_chain_ms[1])
        ),
        format!(
            "  escrow CPU         t_s = {} (sender) + t_r = {} (recipient) = {} per chain",
            ms(f.escrow_sender_ms),
            ms(f.escrow_recipient_ms),
            ms(f.escrow_per_chain_ms())
        ),
        format!(
            "                     = {} per message (with − without escrow, same traffic)",
            ms(f.escrow_per_message_ms())
        ),
        String::new(),
        format!(
            "Warrants: logged → {} approval{} → capture of each target → one execution",
            config.threshold,
            if config.threshold == 1 { "" } else { "s" }
        ),
    ];
    if w.is_empty() {
        l.push("  none (--warrants 0)".to_owned());
    } else {
        l.extend([
            format!(
                "  {} warrants of {} targets × {} days: {} scope identities; {} chains and {}",
                w.len(),
                range(&|r| r.targets),
                range(&|r| r.days),
                group(f.scope_identities as i64),
                group(f.chains_in_scope as i64),
                group(f.messages_in_scope as i64)
            ),
            format!(
                "  messages in scope (sums over warrants); {} decrypted, {} envelopes outside",
                group(f.decrypted as i64),
                group(w.iter().map(|r| r.out_of_scope).sum::<u64>() as i64),
            ),
            format!(
                "  the scopes, {} non-compliant; {} distinct messages decrypted",
                group(w.iter().map(|r| r.non_compliant).sum::<u64>() as i64),
                group(f.decrypted_distinct as i64),
            ),
            format!(
                "  ({} decrypted again by an overlapping warrant)",
                group(f.decrypted.saturating_sub(f.decrypted_distinct) as i64)
            ),
            format!(
                "  one approval       a + b × identities = {} + {} × identities (mean {})",
                ms(f.approve_fit.a),
                ms(f.approve_fit.b),
                ms(f.approve_mean_ms)
            ),
            format!(
                "    key shares only  {} + {} × identities (escrow::approval::make_approval)",
                ms(f.make_fit.a),
                ms(f.make_fit.b)
            ),
            format!(
                "  one execution      a' + b' × chains = {} + {} × chains (mean {}, 2 threads)",
                ms(f.execute_fit.a),
                ms(f.execute_fit.b),
                ms(f.execute_mean_ms)
            ),
        ]);
    }
    l.push(format!(
        "  log                {} entries, {}: {} entries per warrant, β = {} B per entry",
        group(f.log_entries as i64),
        bytes(f.log_bytes as f64),
        num(f.entries_per_warrant),
        num(f.bytes_per_entry)
    ));
    l.push(format!(
        "  (every escrow block is {BLOCK} B; every message of a chain after the first carries none)"
    ));
    l.push(String::new());
    l.push(format!(
        "Files in {}:",
        escrow::encoding::printable(&dir.display().to_string())
    ));
    l.push(format!("  {}", FILES[..5].join(" ")));
    l.push(format!("  {}", FILES[5..].join(" ")));
    l
}
