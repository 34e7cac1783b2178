//! Extrapolation of the measured costs to the scale of the 2019 debate, every formula printed
//! with its numbers.
//!
//! Scale: about a billion users ([`USERS`]; Facebook Messenger and WhatsApp each had on the
//! order of 10^9 in 2019), and [`WARRANTS_PER_YEAR`] = 16.8 million warrants a year — one per
//! report Facebook made to NCMEC in 2018, the figure the open letter of Barr, Patel and Dutton
//! (October 2019) cites. Each warrant is assumed to name one account for 30 days
//! ([`SCOPE_DAYS`]). Messages per user and day, and the chains-per-message ratio, are the
//! simulation's own; every cost is the one measured here.

use super::Config;
use super::figures::{BLOCK, Figures};

/// Users.
pub const USERS: f64 = 1e9;
/// Warrants a year: one per report of 2018.
pub const WARRANTS_PER_YEAR: f64 = 16.8e6;
/// Days each warrant covers (one account).
pub const SCOPE_DAYS: f64 = 30.0;
const YEAR_DAYS: f64 = 365.0;

/// `x` with about three significant digits: `3.10e9`, `46,000`, `0.531`; whole numbers
/// below a million as integers (`10`, `27`).
pub fn num(x: f64) -> String {
    let a = x.abs();
    if a >= 1e6 {
        format!("{x:.2e}")
    } else if x.fract() == 0.0 || a >= 1000.0 {
        group(x.round() as i64)
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// An integer with thousands separators.
pub fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Bytes in SI units: `733 GB`.
pub fn bytes(b: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = b;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    format!("{} {}", num(v), units[u])
}

/// Milliseconds, as measured: `1.05 ms`.
pub fn ms(x: f64) -> String {
    format!("{} ms", num(x))
}

/// Seconds of CPU, with core-days: `6.40e6 s = 74.1 core-days`.
fn cpu(seconds: f64) -> String {
    format!("{} s = {} core-days", num(seconds), num(seconds / 86_400.0))
}

/// The extrapolation, as lines of at most 100 columns.
pub fn text(config: &Config, f: &Figures) -> Vec<String> {
    let m = f64::from(config.messages_per_user_day);
    let k = f64::from(config.threshold);
    let n = f64::from(config.authorities);
    let rho = f.chains_per_message;
    let (u, r, s) = (USERS, WARRANTS_PER_YEAR, SCOPE_DAYS);
    let block = BLOCK as f64;
    let (ts, tr) = (f.escrow_sender_ms, f.escrow_recipient_ms);
    let chains_day = u * m * rho;
    let client_s = chains_day * (ts + tr) / 1e3;
    let approve_ms = f.approve_fit.at(s);
    let make_ms = f.make_fit.at(s);
    let c = s * 2.0 * m * rho;
    let exec_ms = f.execute_fit.at(c);
    let entries = r * f.entries_per_warrant;
    let proof = entries.max(2.0).log2().ceil();
    let (aa, ab) = (f.approve_fit.a, f.approve_fit.b);
    let (ea, eb) = (f.execute_fit.a, f.execute_fit.b);
    let mut l = vec![
        "Extrapolation to the scale of the 2019 debate. Assumptions:".to_owned(),
        format!(
            "  U = 1e9 users; m = {} messages per user and day and ρ = {rho:.4} chains per",
            num(m)
        ),
        "  message, as simulated; R = 16.8e6 warrants a year, one per report Facebook made to"
            .to_owned(),
        "  NCMEC in 2018 (the figure the Barr–Patel–Dutton letter of October 2019 cites), each"
            .to_owned(),
        "  for S = 1 account × 30 days = 30 scope identities; every cost as measured above,"
            .to_owned(),
        "  on this machine, one core per operation (the auditor's execution on 2 threads)."
            .to_owned(),
        String::new(),
        "Clients, all users together, per day".to_owned(),
        format!(
            "  chains/day       = U × m × ρ = 1e9 × {} × {rho:.4} = {}",
            num(m),
            num(chains_day)
        ),
        format!(
            "  escrow bytes/day = chains/day × {BLOCK} B = {} × {BLOCK} B = {}",
            num(chains_day),
            bytes(chains_day * block)
        ),
        format!(
            "  escrow CPU/day   = chains/day × (t_s + t_r) = {} × ({} + {})",
            num(chains_day),
            ms(ts),
            ms(tr)
        ),
        format!("                   = {}", cpu(client_s)),
        format!(
            "  per user and day = m × ρ × (t_s + t_r) = {} × {rho:.4} × {} = {}",
            num(m),
            ms(ts + tr),
            ms(m * rho * (ts + tr))
        ),
        String::new(),
    ];
    if f.warrants == 0 {
        l.push("Authorities, auditor and log: not extrapolated, no warrant was served".to_owned());
        l.push("(run with --warrants 1 or more).".to_owned());
        return l;
    }
    l.extend([
        "Authorities, per year (a + b × S: the fitted cost of one approval, S identities)"
            .to_owned(),
        format!(
            "  approvals/year   = k × R = {} × 1.68e7 = {}",
            num(k),
            num(k * r)
        ),
        format!(
            "  one approval     = a + b × S = {} + {} × 30 = {} (key shares alone: {})",
            ms(aa),
            ms(ab),
            ms(approve_ms),
            ms(make_ms)
        ),
        format!(
            "  CPU/year, all    = k × R × (a + b × S) = {} × {} = {}",
            num(k * r),
            ms(approve_ms),
            cpu(k * r * approve_ms / 1e3)
        ),
        format!(
            "  key shares/year  = k × R × S = {} × 1.68e7 × 30 = {}",
            num(k),
            num(k * r * s)
        ),
        format!(
            "  per authority    = k/n × R / 365 days = {}/{} × 1.68e7 / 365 = {} warrants a day,",
            num(k),
            num(n),
            num(k / n * r / YEAR_DAYS)
        ),
        format!(
            "                     one every {} s around the clock, each to be checked by people",
            num(86_400.0 / (k / n * r / YEAR_DAYS))
        ),
        String::new(),
        "Auditor, per year (a' + b' × c: the fitted cost of one execution, c chains)".to_owned(),
        format!(
            "  chains/warrant   = c = 30 days × 2 × m × ρ = 30 × 2 × {} × {rho:.4} = {}",
            num(m),
            num(c)
        ),
        format!(
            "  one execution    = a' + b' × c = {} + {} × {} = {}",
            ms(ea),
            ms(eb),
            num(c),
            ms(exec_ms)
        ),
        format!(
            "  time/year        = R × (a' + b' × c) = 1.68e7 × {} = {} s",
            ms(exec_ms),
            num(r * exec_ms / 1e3),
        ),
        format!(
            "                   = {} days of one 2-core machine",
            num(r * exec_ms / 1e3 / 86_400.0)
        ),
        String::new(),
        "Transparency log, per year (β: measured bytes per entry with hashes and checkpoints)"
            .to_owned(),
        format!(
            "  entries/year     = R × (k + 2) = 1.68e7 × {} = {}",
            num(f.entries_per_warrant),
            num(entries)
        ),
        format!(
            "  bytes/year       = entries × β = {} × {} B = {}",
            num(entries),
            num(f.bytes_per_entry),
            bytes(entries * f.bytes_per_entry)
        ),
        format!(
            "  inclusion proof  = ⌈log2(entries)⌉ × 32 B = {} × 32 B = {} B",
            num(proof),
            num(proof * 32.0)
        ),
        String::new(),
        "Caveats: costs were measured on a small log and a small population. Logging, approval"
            .to_owned(),
        "and execution look a warrant up by scanning the log (LogStore::find), a cost that"
            .to_owned(),
        "grows with the log and is negligible here, not at 1e8 entries: an index by digest is"
            .to_owned(),
        "needed first. Client CPU is spread over a billion devices; the authorities' and the"
            .to_owned(),
        "auditor's is not, and the binding limit at this scale is human review, not CPU."
            .to_owned(),
    ]);
    l
}
