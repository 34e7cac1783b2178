//! The auditor's execution of a warrant over a large real capture, on one thread and on two.
//!
//! alice sends ten messages to each of N recipients on one day (one chain per recipient, so N
//! chains and 10·N messages, every chain with its escrow block); the warrant targets alice for
//! that day; each run judges three approvals, combines the key, opens every chain and message,
//! and logs the execution. N = 10,000 (10^5 messages), or 1,000 with `--quick`.

use anyhow::{Context, Result, ensure};
use escrow::SetupRequest;
use escrow::lab::Lab;
use messenger::{Client, EscrowContext, Relay};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use time::OffsetDateTime;

use super::harness::time_runs;
use super::{Options, Row, Unit};

const GROUP: &str = "Auditor execution: one thread (reference) vs two (ours)";
const DAY: i64 = 86_400;
const T0: i64 = 1_795_737_600; // 2026-11-27T00:00:00Z
const PER_CHAIN: usize = 10;

fn t(unix: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(unix).context("time")
}

/// The rows of this comparison.
pub fn rows(options: &Options) -> Result<Vec<Row>> {
    let chains = options.max_chains();
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    let tmp = tempfile::tempdir()?;
    let lab = Lab::new(tmp.path().join("lab"));
    let names: Vec<String> = ["court", "ministry", "oversight", "provider", "ombudsman"]
        .map(str::to_owned)
        .to_vec();
    let req = SetupRequest::new(names.clone(), 3, t(T0 - 30 * DAY)?);
    let (params, shares) = escrow::dealer_setup(&req, &mut rng)?;
    let log = escrow::transparency::generate_log(&req.realm, &names, &mut rng);
    lab.write_setup(&params, &shares, &log)?;
    let mut ctx = EscrowContext::new(params.clone());
    let mut relay = Relay::in_memory()?;
    let (mut alice, reg) = Client::register("alice", &mut rng)?;
    let tx = relay.transaction()?;
    tx.register(&reg, T0)?;
    for i in 0..chains {
        let (_, reg) = Client::register(&format!("r{i}"), &mut rng)?;
        tx.register(&reg, T0)?;
    }
    for m in 0..PER_CHAIN {
        for i in 0..chains {
            let time = T0 + 3_600 + (m * chains + i) as i64 % 36_000;
            let env = alice.send(
                &format!("r{i}"),
                &[b'm'; 100],
                time,
                &mut ctx,
                &mut |a| tx.take_bundle(a),
                &mut rng,
            )?;
            tx.enqueue(&env, time)?;
        }
    }
    tx.commit()?;
    let capture = relay.capture(&messenger::relay::CaptureRequest::new(
        &escrow::Generations::single(params.clone()),
        "alice",
        T0,
        T0 + DAY,
        T0 + DAY,
    ))?;
    let now = t(T0 + DAY + 3_600)?;
    // A warrant is executed once: every timed run executes its own warrant of the same scope,
    // drafted, logged and approved (by three authorities) before the clock starts.
    let fresh = |i: usize, rng: &mut ChaCha20Rng| -> Result<_> {
        let warrant = escrow::warrant::Warrant::new(
            escrow::warrant::WarrantDraft {
                reference: format!("W-bench-{i}"),
                legal_type: "interception".into(),
                issuing_authority: "court".into(),
                jurisdiction: "escrow-lab".into(),
                targets: vec!["alice".into()],
                start: t(T0)?,
                end: t(T0 + DAY)?,
                expires: t(T0 + 5 * DAY)?,
                justification: "bench".into(),
                generation: 1,
            },
            rng,
        )?;
        let sub = auditor::submit_warrant(&lab, &warrant, now)?;
        let approvals: Vec<(String, Vec<u8>)> = shares[..3]
            .iter()
            .map(|s| {
                let a =
                    escrow::authority::approve(&lab, s.authority(), &warrant, &sub.receipt, now)?;
                Ok((s.authority().to_owned(), a.bytes.to_vec()))
            })
            .collect::<Result<_>>()?;
        Ok((warrant, approvals))
    };
    let (warrant, approvals) = fresh(0, &mut rng)?;
    let report = auditor::execute::execute(&lab, &warrant, &approvals, &capture, now)?;
    ensure!(
        report.decrypted.len() == chains * PER_CHAIN,
        "the execution opened {} of {} messages",
        report.decrypted.len(),
        chains * PER_CHAIN
    );
    let runs = if options.quick { 1 } else { 3 };
    let mut prepared = (1..=2 * runs)
        .map(|i| fresh(i, &mut rng))
        .collect::<Result<Vec<_>>>()?
        .into_iter();
    let mut on = |threads: usize| -> Result<f64> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let batch: Vec<_> = prepared.by_ref().take(runs).collect();
        let mut batch = batch.into_iter();
        let mut failed = None;
        let s = time_runs(runs, || {
            let Some((warrant, approvals)) = batch.next() else {
                failed = Some(anyhow::anyhow!("internal: no prepared warrant left"));
                return;
            };
            if let Err(e) = pool
                .install(|| auditor::execute::execute(&lab, &warrant, &approvals, &capture, now))
            {
                failed = Some(e.into());
            }
        });
        match failed {
            Some(e) => Err(e),
            None => Ok(s.seconds),
        }
    };
    let one = on(1)?;
    let two = on(2)?;
    let what = format!("{chains} chains, {} messages", chains * PER_CHAIN);
    Ok(vec![Row::new(
        GROUP,
        what,
        Unit::Seconds,
        two,
        "one thread",
        one,
        None,
    )])
}
