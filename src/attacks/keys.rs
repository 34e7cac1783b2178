//! Attacks on the keys: too few authorities, enough authorities without a warrant, and a
//! legitimately released key used outside its scope (rows 1–5).

use anyhow::{Context, Result};
use escrow::hazmat::{identity_key_unchecked, interpolate_unchecked};
use escrow::{IdentityKey, KeyShare, combine_identity_key, unwrap};
use messenger::ratchet::open_with_chain_key;
use messenger::x3dh::session_ad;

use super::{Fixture, Observed, Verdict, refusal};
use crate::world::DAY;

pub(crate) const CITE_ONE: &str = "Keys Under Doormats (Abelson et al., 2015): one escrow \
     holder is a single point of failure; the 1996 NRC report CRISIS on split escrow";
pub(crate) const CITE_COLLUDE: &str = "Shamir 1979, threshold secret sharing; Keys Under \
     Doormats (2015) on insider risk at escrow agents";
pub(crate) const CITE_K: &str = "Keys Under Doormats (2015): whoever holds the keys can use \
     them; the residual trust assumption of every escrow design";
pub(crate) const CITE_SCOPE: &str = "Boneh–Franklin IBE (2001), as in drand's tlock; the 2019 \
     Barr–Patel–Dutton letter asked for access 'in a readable and usable format', this bounds it";

/// The capture of alice's traffic over the fixture's days.
fn alice_capture(fx: &Fixture) -> Result<messenger::Capture> {
    fx.w.capture("alice", fx.day0, fx.now, fx.now)
}

/// The raw identity-key shares of `authorities` for (account, epoch), straight from their
/// share files, without any warrant.
fn raw_shares(
    fx: &Fixture,
    authorities: &[&str],
    account: &str,
    epoch: u64,
) -> Result<Vec<KeyShare>> {
    let id = fx.w.params.identity(account, epoch)?;
    authorities
        .iter()
        .map(|a| {
            Ok(fx
                .w
                .share(a)?
                .release_identity_key_share(&fx.w.params, &id)?)
        })
        .collect()
}

/// Row 1.
pub(crate) fn one_authority(fx: &Fixture) -> Observed {
    let (_, block) = fx.chain_start("alice", "bob", 0)?;
    let capture = alice_capture(fx)?;
    let refused =
        fx.w.execute(&fx.warrant, &[&fx.approvals[0]], &capture, fx.now + 300);
    let share = raw_shares(fx, &["court"], "alice", block.epoch)?;
    let id = fx.w.params.identity("alice", block.epoch)?;
    let forced = identity_key_unchecked(id, interpolate_unchecked(&share)?);
    let opened = unwrap(&block.sender_wrap, &forced).is_ok();
    let verdict = if refused.is_err() && !opened {
        Verdict::Blocked
    } else {
        Verdict::Succeeds
    };
    Ok((
        verdict,
        format!(
            "court's approval alone: the auditor refuses ({}); court's raw share used as the \
             key of (alice, day 0): the chain's wrap {}.",
            refusal(&refused, "it opened"),
            if opened { "OPENED" } else { "stays shut" }
        ),
    ))
}

/// Row 2: every pair of authorities (k - 1 = 2), with their raw shares and through the auditor.
pub(crate) fn k_minus_one(fx: &Fixture) -> Observed {
    let (_, block) = fx.chain_start("alice", "bob", 0)?;
    let capture = alice_capture(fx)?;
    let id = fx.w.params.identity("alice", block.epoch)?;
    let names = super::AUTHORITIES;
    let (mut pairs, mut combined, mut opened, mut executed) = (0, 0, 0, 0);
    let mut refusal = String::new();
    for i in 0..names.len() {
        for j in i + 1..names.len() {
            pairs += 1;
            let shares = raw_shares(fx, &[names[i], names[j]], "alice", block.epoch)?;
            match combine_identity_key(&fx.w.params, &id, &shares) {
                Ok(_) => combined += 1,
                Err(e) => refusal = e.to_string(),
            }
            let forced = identity_key_unchecked(id.clone(), interpolate_unchecked(&shares)?);
            if unwrap(&block.sender_wrap, &forced).is_ok() {
                opened += 1;
            }
            let approvals = [&fx.approvals[i], &fx.approvals[j]];
            if fx
                .w
                .execute(&fx.warrant, &approvals, &capture, fx.now + 300)
                .is_ok()
            {
                executed += 1;
            }
        }
    }
    let verdict = if combined == 0 && opened == 0 && executed == 0 {
        Verdict::Blocked
    } else {
        Verdict::Succeeds
    };
    Ok((
        verdict,
        format!(
            "All {pairs} pairs of authorities: the library combines {combined} pairs' shares \
             (\"{refusal}\"); interpolating them anyway gives keys that open {opened} of the \
             {pairs} wraps tried; the auditor decrypts with {executed} of the pairs' approvals."
        ),
    ))
}

/// Row 3: court, ministry and oversight combine their raw shares for bob's day 1 — no
/// warrant, no journal, no log entry — and read bob's chain to carol.
pub(crate) fn k_without_warrant(fx: &Fixture) -> Observed {
    let config = fx.w.lab.load_log_config()?;
    let size_before = fx.w.lab.open_log_read_only(&config)?.size()?;
    let journals = || -> Result<Vec<i64>> {
        ["court", "ministry", "oversight"]
            .iter()
            .map(|a| {
                let path = fx.w.lab.journal_path(a);
                let conn = rusqlite::Connection::open(path)?;
                Ok(conn.query_row("SELECT COUNT(*) FROM approvals", [], |r| r.get(0))?)
            })
            .collect()
    };
    let journaled_before = journals()?;
    let (env, block) = fx.chain_start("bob", "carol", 1)?;
    let id = fx.w.params.identity("bob", block.epoch)?;
    let shares = raw_shares(fx, &["court", "ministry", "oversight"], "bob", block.epoch)?;
    let key = combine_identity_key(&fx.w.params, &id, &shares)?;
    let ck = unwrap(&block.sender_wrap, &key)?;
    let capture = fx.w.capture("bob", fx.day0, fx.now, fx.now)?;
    let identity = |a: &str| -> Result<_> {
        Ok(capture
            .directory
            .get(a)
            .with_context(|| format!("{a} not in the capture"))?
            .identity(a)?)
    };
    let ad = session_ad("bob", &identity("bob")?, "carol", &identity("carol")?);
    let text = open_with_chain_key(&ck, &ad, &env)?;
    let text = String::from_utf8_lossy(&text).into_owned();
    let report = auditor::verify_log(&fx.w.lab)?;
    // Nothing the authorities or the log keep records the collusion: by construction, since
    // nothing in this attack writes — which is the point.
    let silent = report.size == size_before && journals()? == journaled_before;
    let verdict = if silent {
        Verdict::Succeeds
    } else {
        Verdict::Detected
    };
    Ok((
        verdict,
        format!(
            "Three authorities pooled their shares for (bob, day 1) and read \"{text}\". The \
             log still has {} entries and verifies, their journals are unchanged: nothing \
             shows it. This is the residual \
             trust assumption — fewer than k authorities are dishonest — that no log can \
             check; only the authorities' separation (different institutions, jurisdictions, \
             hardware) protects it.",
            report.size
        ),
    ))
}

/// alice's key for day 0, combined from the W-1 approvals of court, ministry, oversight.
fn alice_day0_key(fx: &Fixture) -> Result<IdentityKey> {
    let id =
        fx.w.params
            .identity("alice", fx.w.escrow.epoch_at(fx.day0)?)?;
    let shares: Vec<KeyShare> = fx.approvals[..3]
        .iter()
        .map(|a| {
            a.approval
                .identity_shares
                .first()
                .cloned()
                .context("an approval without identity shares")
        })
        .collect::<Result<_>>()?;
    Ok(combine_identity_key(&fx.w.params, &id, &shares)?)
}

/// Row 4.
pub(crate) fn next_day(fx: &Fixture) -> Observed {
    let key = alice_day0_key(fx)?;
    let (_, own) = fx.chain_start("alice", "bob", 0)?;
    let (_, next) = fx.chain_start("alice", "bob", 1)?;
    let control = unwrap(&own.sender_wrap, &key).is_ok();
    let opened = unwrap(&next.sender_wrap, &key).is_ok();
    // The auditor, with all approvals of W-1, on alice's capture of day 1 only.
    let capture = fx.w.capture("alice", fx.day0 + DAY, fx.now, fx.now)?;
    let approvals: Vec<_> = fx.approvals.iter().collect();
    let report =
        fx.w.execute(&fx.warrant, &approvals, &capture, fx.now + 300)?;
    let verdict = if control && !opened && report.decrypted.is_empty() {
        Verdict::Blocked
    } else {
        Verdict::Succeeds
    };
    Ok((
        verdict,
        format!(
            "The released key of (alice, day 0) opens alice's day-0 chain ({}) but not her \
             day-1 chain ({}); executing W-1 on her day-1 capture decrypts {} messages and \
             reports {} sealed.",
            if control { "yes" } else { "NO" },
            if opened { "OPENED" } else { "shut" },
            report.decrypted.len(),
            report.sealed.len()
        ),
    ))
}

/// Row 5.
pub(crate) fn other_account(fx: &Fixture) -> Observed {
    let key = alice_day0_key(fx)?;
    let (_, block) = fx.chain_start("bob", "carol", 0)?;
    let opened =
        unwrap(&block.sender_wrap, &key).is_ok() || unwrap(&block.recipient_wrap, &key).is_ok();
    let verdict = if opened {
        Verdict::Succeeds
    } else {
        Verdict::Blocked
    };
    Ok((
        verdict,
        format!(
            "The released key of (alice, day 0) on bob's chain to carol of the same day: both \
             wraps (to bob's and to carol's scope) {}.",
            if opened { "OPENED" } else { "stay shut" }
        ),
    ))
}
