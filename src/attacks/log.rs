//! Attacks on the transparency log by its operator or by anyone with write access to its
//! database: a forked log shown to one authority, entries rewritten, re-signed or removed
//! (rows 14 and 15).

use std::path::Path;

use anyhow::{Context, Result};
use escrow::lab::Lab;
use escrow::transparency::store::LogStore;
use escrow::transparency::{LogEntry, LogRecord};

use super::{AUTHORITIES, DAY0, Observed, detected_if, refusal, talk, world};
use crate::world::DAY;

pub(crate) const CITE_SPLIT: &str = "Split-view attacks on Certificate Transparency (RFC 6962; \
     Chuat et al. 2015 on gossip); C2SP tlog-witness cosigning";
pub(crate) const CITE_TAMPER: &str = "Schneier & Kelsey, 'Secure Audit Logs to Support \
     Computer Forensics' (1999); RFC 6962 Merkle trees; C2SP tlog-cosignature";

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Row 14: the operator forks the log after the first warrant; the real branch goes on and
/// court cosigns it; court is then shown the other branch, where a different warrant was
/// logged.
pub(crate) fn equivocation(dir: &Path, seed: u64) -> Observed {
    let main_dir = dir.join("main");
    let fork_dir = dir.join("fork");
    let mut w = world(&main_dir, seed ^ 14)?;
    talk(&mut w, "alice", "bob", "hello", DAY0 + 9 * 3600)?;
    let now = DAY0 + 2 * DAY;
    let w1 = w.warrant("W-1", &["alice"], DAY0, DAY0 + DAY, now + 7 * DAY)?;
    w.submit(&w1, now)?;
    // The fork: a copy of the lab (log and keys) at this point.
    copy_dir(&main_dir, &fork_dir)?;
    // The real branch: another warrant, cosigned by court and ministry.
    let w2 = w.warrant("W-2", &["bob"], DAY0, DAY0 + DAY, now + 7 * DAY)?;
    w.submit(&w2, now + 60)?;
    for a in &AUTHORITIES[..2] {
        w.cosign(a, now + 120)?;
    }
    // The other branch: a different warrant in its place, then one more entry so the fork is
    // longer than what court has seen. The operator signs it with the real log key.
    let fork = Lab::new(&fork_dir);
    let evil = w.warrant("W-evil", &["carol"], DAY0, DAY0 + DAY, now + 7 * DAY)?;
    let receipt = {
        auditor::submit_warrant(&fork, &evil, crate::world::at(now + 60)?)?;
        let filler = w.warrant("W-filler", &["carol"], DAY0, DAY0 + DAY, now + 7 * DAY)?;
        auditor::submit_warrant(&fork, &filler, crate::world::at(now + 90)?)?;
        let config = fork.load_log_config()?;
        let store = fork.open_log(&config)?;
        let index = store
            .find(
                |e| matches!(e, LogEntry::WarrantLogged { reference, .. } if reference == "W-evil"),
            )?
            .context("W-evil is in the fork")?;
        escrow::transparency::proof::ProofBundle::build(&store, index)?
    };
    // Court's own memory of the log travels with court, not with the operator's copy.
    std::fs::copy(
        Lab::new(&main_dir).witness_state_path("court"),
        fork.witness_state_path("court"),
    )?;
    let court = escrow::authority::approve(
        &fork,
        "court",
        &evil,
        &receipt,
        crate::world::at(now + 180)?,
    );
    // An authority that has never cosigned anything has nothing to compare with.
    let fresh = escrow::authority::approve(
        &fork,
        "provider",
        &evil,
        &receipt,
        crate::world::at(now + 180)?,
    );
    let detected = matches!(
        &court,
        Err(escrow::Error::Log(escrow::LogError::Equivocation { .. }))
    );
    Ok((
        detected_if(detected),
        format!(
            "court had cosigned the real log; shown the fork, it refuses: {}. provider, which \
             had never cosigned, {} — which is why every authority cosigns the log regularly \
             and monitors compare checkpoints.",
            refusal(&court, "APPROVED"),
            if fresh.is_ok() {
                "approves: one authority alone cannot tell"
            } else {
                "refuses too"
            }
        ),
    ))
}

/// Drops the append-only triggers, runs `sql`, and puts the triggers back (opening the store
/// recreates them), so the database looks untouched.
fn raw_sql(lab: &Lab, origin: &str, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<()> {
    let path = lab.log_db_path();
    let conn = rusqlite::Connection::open(&path)?;
    for t in ["entries", "hashes", "checkpoints", "cosignatures"] {
        conn.execute_batch(&format!(
            "DROP TRIGGER IF EXISTS {t}_no_update; DROP TRIGGER IF EXISTS {t}_no_delete;"
        ))?;
    }
    conn.execute(sql, params)?;
    drop(conn);
    drop(LogStore::open(&path, origin)?);
    Ok(())
}

/// Replaces the lab's log by a new one holding `records`, signed with the log's key.
fn rebuild(lab: &Lab, origin: &str, records: &[LogRecord]) -> Result<()> {
    let path = lab.log_db_path();
    let rebuilt = lab.log_dir().join("rebuilt.sqlite");
    let signer = escrow::hazmat::log_operator_signer(lab)?;
    let mut store = LogStore::open(&rebuilt, origin)?;
    for r in records {
        store.append(r, &signer)?;
    }
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::rename(&rebuilt, &path)?;
    Ok(())
}

/// Row 15: three tamperings of a log whose checkpoints the authorities have cosigned.
pub(crate) fn tampering(dir: &Path, seed: u64) -> Observed {
    let mut results = Vec::new();
    for (i, what) in ["rewrite", "re-sign", "truncate"].into_iter().enumerate() {
        let mut w = world(&dir.join(what), seed ^ 15 ^ i as u64)?;
        talk(&mut w, "alice", "bob", "hello", DAY0 + 9 * 3600)?;
        let now = DAY0 + 2 * DAY;
        let warrant = w.warrant("W-1", &["alice"], DAY0, DAY0 + DAY, now + 7 * DAY)?;
        let receipt = w.submit(&warrant, now)?;
        for a in &AUTHORITIES[..3] {
            w.approve(a, &warrant, &receipt, now + 60)?;
        }
        for a in AUTHORITIES {
            w.cosign(a, now + 120)?;
        }
        let lab = &w.lab;
        let config = lab.load_log_config()?;
        let before = auditor::verify_log(lab).is_ok();
        // Entry 2 is court's key-released; the attacker makes it say "provider".
        let original = lab.open_log_read_only(&config)?.entry(2)?;
        let forged = match original.entry.clone() {
            LogEntry::KeyReleased {
                digest,
                identity_count,
                time,
                ..
            } => LogRecord::new(LogEntry::KeyReleased {
                digest,
                authority: "provider".into(),
                identity_count,
                time,
            }),
            _ => anyhow::bail!("entry 2 is not a key release"),
        };
        match what {
            "rewrite" => raw_sql(
                lab,
                &config.origin,
                "UPDATE entries SET data = ?1 WHERE idx = 2",
                &[&forged.to_bytes()?],
            )?,
            _ => {
                // The operator rebuilds the log with its own key — with entry 2 changed, or
                // without the last two entries: every hash and checkpoint signature is
                // consistent again.
                let mut records: Vec<LogRecord> = {
                    let store = lab.open_log_read_only(&config)?;
                    (0..store.size()?)
                        .map(|i| {
                            if i == 2 {
                                Ok(forged.clone())
                            } else {
                                store.entry(i)
                            }
                        })
                        .collect::<escrow::Result<_>>()?
                };
                if what == "truncate" {
                    records[2] = original.clone();
                    records.truncate(records.len() - 2);
                }
                rebuild(lab, &config.origin, &records)?;
            }
        }
        let after = auditor::verify_log(lab);
        results.push((what, before, after.err().map(|e| e.to_string())));
    }
    let ok = results
        .iter()
        .all(|(_, before, after)| *before && after.is_some());
    let parts: Vec<String> = results
        .into_iter()
        .map(|(what, _, after)| {
            format!("{what}: {}", after.unwrap_or_else(|| "NOT DETECTED".into()))
        })
        .collect();
    Ok((
        detected_if(ok),
        format!(
            "The monitor verified each log, then an attacker with the database (and, to \
             rebuild, the log's signing key) changed who released a key (rewrite: in \
             place, triggers restored; re-sign: rebuilt and re-signed) or removed the last two \
             entries (rebuilt and re-signed). The in-place rewrite breaks the stored hashes; the \
             rebuilt logs are self-consistent and are caught only by the checkpoints the \
             authorities remember as witnesses. The monitor reports: {}.",
            parts.join("; ")
        ),
    ))
}

/// Row 32: someone with write access to the log database (not the log's key) erases every
/// entry from the first key release on — entries, hashes, checkpoints and cosignatures, with
/// the triggers dropped and put back — after three authorities approved and the auditor
/// executed. Before the fix the witnesses remembered only a checkpoint older than the
/// releases, and the truncated log verified.
pub(crate) fn erased_releases(dir: &Path, seed: u64) -> Observed {
    let mut w = world(dir, seed ^ 32)?;
    talk(&mut w, "alice", "bob", "hello", DAY0 + 9 * 3600)?;
    let now = DAY0 + 2 * DAY;
    let warrant = w.warrant("W-1", &["alice"], DAY0, DAY0 + DAY, now + 7 * DAY)?;
    let receipt = w.submit(&warrant, now)?;
    let approvals = AUTHORITIES[..3]
        .iter()
        .map(|a| w.approve(a, &warrant, &receipt, now + 60))
        .collect::<Result<Vec<_>>>()?;
    let capture = w.capture("alice", DAY0, now, now + 100)?;
    let refs: Vec<_> = approvals.iter().collect();
    let report = w.execute(&warrant, &refs, &capture, now + 300)?;
    let lab = &w.lab;
    let config = lab.load_log_config()?;
    let before = auditor::verify_log(lab).is_ok();
    let first = {
        let store = lab.open_log_read_only(&config)?;
        store
            .find(|e| matches!(e, LogEntry::KeyReleased { .. }))?
            .context("no key release in the log")?
    };
    let path = lab.log_db_path();
    {
        let conn = rusqlite::Connection::open(&path)?;
        for t in ["entries", "hashes", "checkpoints", "cosignatures"] {
            conn.execute_batch(&format!(
                "DROP TRIGGER IF EXISTS {t}_no_update; DROP TRIGGER IF EXISTS {t}_no_delete;"
            ))?;
        }
        // The stored hashes of entries before `first` (RFC 6962 tiles layout): 2n − popcount(n).
        let first_hash = (2 * first - u64::from(first.count_ones())) as i64;
        conn.execute("DELETE FROM entries WHERE idx >= ?1", [first as i64])?;
        conn.execute("DELETE FROM hashes WHERE idx >= ?1", [first_hash])?;
        conn.execute("DELETE FROM checkpoints WHERE size > ?1", [first as i64])?;
        conn.execute("DELETE FROM cosignatures WHERE size > ?1", [first as i64])?;
    }
    // Opening the store puts the triggers back: the database looks untouched.
    drop(LogStore::open(&path, &config.origin)?);
    let monitor = auditor::verify_log(lab);
    let cosign = w.cosign("court", now + 400);
    let proof = auditor::verify_log_with(
        lab,
        &[(
            "the execution report".to_owned(),
            report.log.execution.clone(),
        )],
    );
    let ok = before && monitor.is_err() && cosign.is_err() && proof.is_err();
    let show = |r: &std::result::Result<(), String>| match r {
        Ok(()) => "ACCEPTED".to_owned(),
        Err(e) => e.clone(),
    };
    Ok((
        detected_if(ok),
        format!(
            "Three authorities approved W-1 and the auditor executed it; an attacker with the \
             database then deleted entries {first} onwards (every release and the execution) \
             and restored the triggers. Each authority released only after cosigning a \
             checkpoint that covers its release, and remembers it; the auditor remembers the \
             execution's. The monitor: {}. court, asked to cosign the truncated log: {}. The \
             report's proof: {}.",
            show(&monitor.map(|_| ()).map_err(|e| e.to_string())),
            show(&cosign.map(|_| ()).map_err(|e| e.to_string())),
            show(&proof.map(|_| ()).map_err(|e| e.to_string())),
        ),
    ))
}
