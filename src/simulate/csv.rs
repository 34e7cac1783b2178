//! The CSV files: one header row, comma-separated, no quoting needed (no field holds a comma).
//!
//! * `summary.csv` — `metric,value,unit,kind`; `kind` is `parameter`, `traffic` (a function of
//!   the seed and parameters: the same seed gives the same value) or `timing` (measured wall
//!   time, different on every run);
//! * `days.csv` — one row per simulated day;
//! * `warrants.csv` — one row per warrant;
//! * `approvals.csv` — one row per authority approval;
//! * `log.csv` — the transparency log before the first warrant and after each.
//!
//! In the per-row files, every timing column's name ends in `_ms`; every other column is
//! traffic.

use std::fmt::Write as _;
use std::time::Duration;

use time::OffsetDateTime;

use super::Config;
use super::figures::{Figures, ms};
use super::traffic::DayStats;
use super::warrants::Served;
use crate::world::DAY;

/// One row of `summary.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Name.
    pub metric: &'static str,
    /// Value, formatted.
    pub value: String,
    /// Unit.
    pub unit: &'static str,
    /// `parameter`, `traffic` or `timing`.
    pub kind: &'static str,
}

fn m(metric: &'static str, value: impl ToString, unit: &'static str, kind: &'static str) -> Metric {
    Metric {
        metric,
        value: value.to_string(),
        unit,
        kind,
    }
}

fn f3(x: f64) -> String {
    format!("{x:.3}")
}

fn f4(x: f64) -> String {
    format!("{x:.4}")
}

/// The rows of `summary.csv`.
pub fn summary(config: &Config, f: &Figures, wall: Duration) -> Vec<Metric> {
    const P: &str = "parameter";
    const T: &str = "traffic";
    const C: &str = "timing";
    vec![
        m("users", config.users, "users", P),
        m("days", config.days, "days", P),
        m(
            "messages_per_user_day",
            config.messages_per_user_day,
            "messages",
            P,
        ),
        m("warrants", config.warrants, "warrants", P),
        m("authorities", config.authorities, "authorities", P),
        m("threshold", config.threshold, "authorities", P),
        m("seed", config.seed, "", P),
        m("messages", f.messages, "messages", T),
        m("chain_starts", f.chains, "chains", T),
        m("in_chain_messages", f.in_chain, "messages", T),
        m(
            "chains_per_message",
            f4(f.chains_per_message),
            "chains/message",
            T,
        ),
        m("delivered", f.delivered, "messages", T),
        m("rejected", f.rejected, "messages", T),
        m("reads", f.reads, "reads", T),
        m("escrow_bytes", f.escrow_bytes, "B", T),
        m(
            "escrow_bytes_per_message",
            f3(f.escrow_bytes_per_message()),
            "B/message",
            T,
        ),
        m(
            "escrow_bytes_per_chain",
            f3(f.escrow_bytes_per_chain()),
            "B/chain",
            T,
        ),
        m("envelope_bytes", f.envelope_bytes[0], "B", T),
        m("envelope_bytes_no_escrow", f.envelope_bytes[1], "B", T),
        m("scope_identities", f.scope_identities, "identities", T),
        m("approvals", f.approvals, "approvals", T),
        m("chains_in_scope", f.chains_in_scope, "chains", T),
        m("messages_in_scope", f.messages_in_scope, "messages", T),
        m("messages_decrypted", f.decrypted, "messages", T),
        m(
            "messages_decrypted_distinct",
            f.decrypted_distinct,
            "messages",
            T,
        ),
        m("log_entries", f.log_entries, "entries", T),
        m("log_bytes", f.log_bytes, "B", T),
        m(
            "log_entries_per_warrant",
            f4(f.entries_per_warrant),
            "entries/warrant",
            T,
        ),
        m("log_bytes_per_entry", f3(f.bytes_per_entry), "B/entry", T),
        m("send_ms", f3(f.send_ms[0]), "ms", C),
        m("send_no_escrow_ms", f3(f.send_ms[1]), "ms", C),
        m("read_ms", f3(f.read_ms[0]), "ms", C),
        m("read_no_escrow_ms", f3(f.read_ms[1]), "ms", C),
        m(
            "chain_start_send_ms",
            f4(f.chain_start_ms[0]),
            "ms/message",
            C,
        ),
        m(
            "chain_start_send_no_escrow_ms",
            f4(f.chain_start_ms[1]),
            "ms/message",
            C,
        ),
        m("in_chain_send_ms", f4(f.in_chain_ms[0]), "ms/message", C),
        m(
            "in_chain_send_no_escrow_ms",
            f4(f.in_chain_ms[1]),
            "ms/message",
            C,
        ),
        m(
            "escrow_cpu_sender_per_chain_ms",
            f4(f.escrow_sender_ms),
            "ms/chain",
            C,
        ),
        m(
            "escrow_cpu_recipient_per_chain_ms",
            f4(f.escrow_recipient_ms),
            "ms/chain",
            C,
        ),
        m(
            "escrow_cpu_per_chain_ms",
            f4(f.escrow_per_chain_ms()),
            "ms/chain",
            C,
        ),
        m(
            "escrow_cpu_per_message_ms",
            f4(f.escrow_per_message_ms()),
            "ms/message",
            C,
        ),
        m("approve_mean_ms", f3(f.approve_mean_ms), "ms/approval", C),
        m(
            "approve_fit_fixed_ms",
            f4(f.approve_fit.a),
            "ms/approval",
            C,
        ),
        m(
            "approve_fit_per_identity_ms",
            f4(f.approve_fit.b),
            "ms/identity",
            C,
        ),
        m(
            "make_approval_fit_fixed_ms",
            f4(f.make_fit.a),
            "ms/approval",
            C,
        ),
        m(
            "make_approval_fit_per_identity_ms",
            f4(f.make_fit.b),
            "ms/identity",
            C,
        ),
        m("execute_mean_ms", f3(f.execute_mean_ms), "ms/warrant", C),
        m("execute_fit_fixed_ms", f4(f.execute_fit.a), "ms/warrant", C),
        m(
            "execute_fit_per_chain_ms",
            f4(f.execute_fit.b),
            "ms/chain",
            C,
        ),
        m("wall_time_ms", f3(ms(wall)), "ms", C),
    ]
}

/// `summary.csv`.
pub fn summary_csv(rows: &[Metric]) -> String {
    let mut s = String::from("metric,value,unit,kind\n");
    for r in rows {
        let _ = writeln!(s, "{},{},{},{}", r.metric, r.value, r.unit, r.kind);
    }
    s
}

fn date(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

/// `days.csv`.
pub fn days_csv(days: &[DayStats], start: i64) -> String {
    let mut s = String::from(
        "day,date,messages,chain_starts,in_chain_messages,escrow_bytes,envelope_bytes,\
         envelope_bytes_no_escrow,delivered,rejected,reads,chain_start_send_ms,\
         chain_start_send_no_escrow_ms,in_chain_send_ms,in_chain_send_no_escrow_ms,read_ms,\
         read_no_escrow_ms\n",
    );
    for (i, d) in days.iter().enumerate() {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            i + 1,
            date(start + i as i64 * DAY),
            d.messages,
            d.chain_starts,
            d.messages - d.chain_starts,
            d.escrow_bytes,
            d.envelope_bytes[0],
            d.envelope_bytes[1],
            d.delivered,
            d.rejected,
            d.reads,
            f3(ms(d.send_start[0])),
            f3(ms(d.send_start[1])),
            f3(ms(d.send_in_chain[0])),
            f3(ms(d.send_in_chain[1])),
            f3(ms(d.read[0])),
            f3(ms(d.read[1])),
        );
    }
    s
}

/// `warrants.csv`.
pub fn warrants_csv(served: &Served) -> String {
    let mut s = String::from(
        "warrant,reference,targets,days,scope_identities,chains_in_scope,messages_in_scope,\
         envelopes_captured,decrypted,out_of_scope,non_compliant,log_entries,log_bytes,\
         submit_ms,approve_ms,make_approval_ms,capture_ms,execute_ms\n",
    );
    for (i, w) in served.warrants.iter().enumerate() {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            i + 1,
            w.reference,
            w.targets,
            w.days,
            w.scope_identities,
            w.chains_in_scope,
            w.messages_in_scope,
            w.captured,
            w.decrypted,
            w.out_of_scope,
            w.non_compliant,
            w.log_entries,
            w.log_bytes,
            f3(ms(w.submit)),
            f3(ms(w.approve)),
            f3(ms(w.make_approval)),
            f3(ms(w.capture)),
            f3(ms(w.execute)),
        );
    }
    s
}

/// `approvals.csv`.
pub fn approvals_csv(served: &Served) -> String {
    let mut s = String::from("warrant,authority,scope_identities,approve_ms,make_approval_ms\n");
    for a in &served.approvals {
        let _ = writeln!(
            s,
            "{},{},{},{},{}",
            a.warrant,
            a.authority,
            a.scope_identities,
            f3(ms(a.approve)),
            f3(ms(a.make_approval)),
        );
    }
    s
}

/// `log.csv`.
pub fn log_csv(served: &Served) -> String {
    let mut s = String::from(
        "warrants,entries,entry_bytes,hash_bytes,checkpoint_bytes,cosignature_bytes,total_bytes\n",
    );
    for l in &served.log {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            l.warrants,
            l.entries,
            l.entry_bytes,
            l.hash_bytes,
            l.checkpoint_bytes,
            l.cosignature_bytes,
            l.total(),
        );
    }
    s
}
