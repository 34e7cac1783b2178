//! Attacks on the warrant process: corrupted shares, replayed approvals, unlogged, reused,
//! over-broad and expired warrants (rows 10–13 and 17).

use anyhow::Result;
use escrow::approval::make_approval;
use escrow::transparency::proof::ProofBundle;
use escrow::transparency::store::LogStore;
use escrow::transparency::{LogEntry, LogRecord};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::{Fixture, Observed, Verdict, blocked_if, detected_if, refusal};
use crate::world::{DAY, World, at};

pub(crate) const CITE_ROGUE: &str = "Boldyreva 2003 (threshold BLS with verifiable shares); \
     Gennaro et al. 1996 (robust threshold signatures): a rogue share must not block or \
     poison the result";
pub(crate) const CITE_REPLAY: &str = "Replay of authorisations (ETSI TS 103 120 \
     authorisation references): approvals bound to the warrant's digest (docs/protocol.md §6)";
pub(crate) const CITE_REUSE: &str = "ETSI TS 103 120 authorisation references; docs/protocol.md §7, \
     rule 7: one warrant per reference and authority";
pub(crate) const CITE_SECRET: &str = "Secret access orders without public record (the 2013 \
     Snowden disclosures); transparency logs after Certificate Transparency (RFC 6962)";
pub(crate) const CITE_BROAD: &str = "General warrants and the particularity requirement (US \
     Fourth Amendment); bulk warrants of the UK Investigatory Powers Act 2016";

fn approval_files(approved: &[&escrow::authority::Approved]) -> Vec<(String, Vec<u8>)> {
    approved
        .iter()
        .map(|a| (a.approval.authority.clone(), a.bytes.to_vec()))
        .collect()
}

/// Row 10: oversight's approval carries a wrong identity-key share (a valid curve point). The
/// fixture's W-1 is executed by earlier rows (a warrant is executed once): this row uses its
/// own warrant W-10 of the same scope, approved by four authorities.
pub(crate) fn corrupted_share(fx: &Fixture) -> Observed {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let t = fx.now + 300;
    let w10 = fx.w.warrant_with(
        "W-10",
        &["alice"],
        fx.day0,
        fx.day0 + DAY,
        fx.now + 7 * DAY,
        &mut rng,
    )?;
    let receipt = fx.w.submit(&w10, t)?;
    let approved = ["court", "ministry", "oversight", "provider"]
        .iter()
        .map(|a| fx.w.approve(a, &w10, &receipt, t))
        .collect::<Result<Vec<_>>>()?;
    let mut v: serde_json::Value = serde_json::from_slice(&approved[2].bytes)?;
    v["identity_shares"][0]["share"] = v["warrant_share"].clone();
    let corrupted = ("oversight".to_owned(), serde_json::to_vec(&v)?);
    let capture = fx.w.capture("alice", fx.day0, fx.now, fx.now)?;
    let run = |files: Vec<(String, Vec<u8>)>| {
        auditor::execute::execute(&fx.w.lab, &w10, &files, &capture, at(t)?)
            .map_err(anyhow::Error::from)
    };
    // With exactly k presented, it stops and says who.
    let mut three = approval_files(&[&approved[0], &approved[1]]);
    three.push(corrupted.clone());
    let stopped = run(three);
    let named = stopped.as_ref().err().is_some_and(|e| {
        e.to_string()
            .contains("invalid share from authority 'oversight'")
    });
    // With one more authority, the execution goes on with k valid approvals.
    let mut four = approval_files(&[&approved[0], &approved[1], &approved[3]]);
    four.insert(2, corrupted);
    let report = run(four)?;
    let verdict = report.approvals.iter().find(|a| a.authority == "oversight");
    let attributed = verdict
        .is_some_and(|a| !a.valid && a.reason.as_deref().is_some_and(|r| r.contains("oversight")));
    let ok = attributed && named && !report.decrypted.is_empty();
    Ok((
        detected_if(ok),
        format!(
            "oversight's approval of W-10 with a wrong identity-key share: with only court and \
             ministry besides, the auditor stops and names it: {}; with provider too, it \
             rejects it ({}) and decrypts {} messages with court, ministry and provider.",
            refusal(&stopped, "it went on"),
            verdict
                .and_then(|a| a.reason.clone())
                .unwrap_or_else(|| "NOT REJECTED".into()),
            report.decrypted.len(),
        ),
    ))
}

/// Row 11: the approvals of W-1 presented with W-2 — same scope (alice, day 0), logged, never
/// approved — as they are and with their digest field edited to W-2's: only the binding of
/// the shares to the warrant's digest can stop it.
pub(crate) fn replayed_approval(fx: &Fixture) -> Observed {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let w2 = fx.w.warrant_with(
        "W-2",
        &["alice"],
        fx.day0 + DAY,
        fx.day0 + 2 * DAY,
        fx.now + 7 * DAY,
        &mut rng,
    )?;
    fx.w.submit(&w2, fx.now + 400)?;
    let capture = fx.w.capture("alice", fx.day0, fx.now, fx.now)?;
    let replayed = approval_files(&fx.approvals.iter().collect::<Vec<_>>());
    let as_is = auditor::execute::execute(&fx.w.lab, &w2, &replayed, &capture, at(fx.now + 500)?);
    let digest = hex::encode(w2.digest()?);
    let edited: Vec<(String, Vec<u8>)> = replayed
        .iter()
        .map(|(name, bytes)| {
            let mut v: serde_json::Value = serde_json::from_slice(bytes)?;
            v["digest"] = serde_json::Value::String(digest.clone());
            v["reference"] = serde_json::Value::String("W-2".into());
            Ok((name.clone(), serde_json::to_vec(&v)?))
        })
        .collect::<Result<_>>()?;
    let edited_run =
        auditor::execute::execute(&fx.w.lab, &w2, &edited, &capture, at(fx.now + 500)?);
    let ok = as_is.is_err() && edited_run.is_err();
    Ok((
        blocked_if(ok),
        format!(
            "All five approvals of W-1 presented with W-2, a logged warrant of the same scope \
             (alice, day 0): refused ({}); with their digest edited to W-2's, the warrant \
             shares no longer verify: refused ({}).",
            refusal(&as_is, "ACCEPTED"),
            refusal(&edited_run, "ACCEPTED")
        ),
    ))
}

/// Row 12: W-3 is never logged. An authority is shown W-1's receipt, then a receipt from a
/// log signed with the attacker's own key; finally rogue authorities approve it anyway and the
/// auditor is asked to execute it.
pub(crate) fn unlogged_warrant(fx: &Fixture) -> Observed {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let w = fx.w.warrant_with(
        "W-3",
        &["alice"],
        fx.day0,
        fx.day0 + DAY,
        fx.now + 7 * DAY,
        &mut rng,
    )?;
    let borrowed = fx.w.approve("court", &w, &fx.receipt, fx.now + 600);
    // A fake log: same origin, the attacker's key.
    let fake =
        escrow::transparency::generate_log(fx.w.params.realm(), &["court".to_owned()], &mut rng);
    let mut store = LogStore::in_memory(&fake.config.origin)?;
    let signer = escrow::transparency::log_signer(&fake.log_key)?;
    let record = LogRecord::new(LogEntry::WarrantLogged {
        digest: hex::encode(w.digest()?),
        reference: w.reference.clone(),
        target_count: 1,
        epoch_count: 1,
        issuing_authority: w.issuing_authority.clone(),
        time: at(fx.now)?.format(&time::format_description::well_known::Rfc3339)?,
    });
    store.append(&store_genesis(&fx.w)?, &signer)?;
    let (index, _) = store.append(&record, &signer)?;
    let forged = ProofBundle::build(&store, index)?;
    let fake_receipt = fx.w.approve("court", &w, &forged, fx.now + 600);
    // Three authorities skip their checks; the auditor still looks for the warrant in the log.
    let digest = w.digest()?;
    let scope = w.scope(&fx.w.params)?;
    let files: Vec<(String, Vec<u8>)> = ["court", "ministry", "oversight"]
        .iter()
        .map(|a| {
            let mut ap = make_approval(fx.w.share(a)?, &fx.w.params, &w, &digest, &scope)?;
            // A rogue authority logs nothing: it attaches W-1's receipt as "proof".
            ap.release = Some(fx.receipt.clone());
            Ok(((*a).to_owned(), ap.to_json()?))
        })
        .collect::<Result<_>>()?;
    let capture = fx.w.capture("alice", fx.day0, fx.now, fx.now)?;
    let executed = auditor::execute::execute(&fx.w.lab, &w, &files, &capture, at(fx.now + 700)?);
    let ok = borrowed.is_err() && fake_receipt.is_err() && executed.is_err();
    let why = |r: Result<String>| refusal(&r, "ACCEPTED");
    Ok((
        blocked_if(ok),
        format!(
            "W-3 was never logged. With W-1's receipt, court refuses ({}); with a receipt from a \
             log signed by the attacker's key, court refuses ({}); with three rogue approvals the \
             auditor refuses ({}).",
            why(borrowed.map(|_| String::new())),
            why(fake_receipt.map(|_| String::new())),
            why(executed.map(|_| String::new()).map_err(anyhow::Error::from))
        ),
    ))
}

/// The first entry of a lab's log (a fake log starts the same way).
fn store_genesis(w: &World) -> Result<LogRecord> {
    let config = w.lab.load_log_config()?;
    Ok(w.lab.open_log_read_only(&config)?.entry(0)?)
}

/// Row 13: a 40-day warrant, an 11-target warrant and an expired warrant: the auditor's tool
/// refuses to log each; logged anyway (a rogue auditor), each is presented to court.
pub(crate) fn over_broad(fx: &Fixture) -> Observed {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let mut results = Vec::new();
    let expires = fx.now + 7 * DAY;
    let long = fx.w.warrant_with(
        "W-long",
        &["alice"],
        fx.day0 - 40 * DAY,
        fx.day0,
        expires,
        &mut rng,
    )?;
    let names: Vec<String> = (0..11).map(|i| format!("user{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let wide =
        fx.w.warrant_with("W-wide", &refs, fx.day0, fx.day0 + DAY, expires, &mut rng)?;
    let old = fx.day0 + 2 * DAY;
    let expired =
        fx.w.warrant_with("W-old", &["alice"], fx.day0, fx.day0 + DAY, old, &mut rng)?;
    for (what, w) in [
        ("40 days", long),
        ("11 targets", wide),
        ("expired", expired),
    ] {
        // The auditor's tool refuses to log it; a rogue auditor logs it anyway.
        let drafted = fx.w.submit(&w, fx.now + 800).map(|_| ());
        let outcome = fx.w.submit_unchecked(&w, fx.now + 800).and_then(|receipt| {
            fx.w.approve("court", &w, &receipt, fx.now + 900)
                .map(|_| ())
        });
        results.push((what, drafted, outcome));
    }
    let ok = results.iter().all(|(_, d, r)| d.is_err() && r.is_err());
    let parts: Vec<String> = results
        .iter()
        .map(|(what, _, r)| format!("{what}: {}", refusal(r, "APPROVED")))
        .collect();
    let tool: Vec<String> = results
        .iter()
        .map(|(what, d, _)| format!("{what}: {}", refusal(d, "LOGGED")))
        .collect();
    Ok((
        blocked_if(ok),
        format!(
            "`auditor warrant submit` refuses to log each ({}). Logged anyway by a rogue \
             auditor with the log's key, then presented to court: {}.",
            tool.join("; "),
            parts.join("; ")
        ),
    ))
}

/// Row 17: a second, different warrant under W-1's reference.
pub(crate) fn reference_reuse(fx: &Fixture) -> Observed {
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    let w = fx.w.warrant_with(
        "W-1",
        &["bob"],
        fx.day0,
        fx.day0 + DAY,
        fx.now + 7 * DAY,
        &mut rng,
    )?;
    let outcome = fx.w.submit(&w, fx.now + 1000).and_then(|receipt| {
        fx.w.approve("court", &w, &receipt, fx.now + 1100)
            .map(|_| ())
    });
    Ok((
        if outcome.is_err() {
            Verdict::Blocked
        } else {
            Verdict::Succeeds
        },
        format!(
            "Under the reference W-1 (already approved for alice), a warrant for bob is logged \
             and shown to court: {}.",
            refusal(&outcome, "APPROVED")
        ),
    ))
}
