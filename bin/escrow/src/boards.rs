//! `escrow dkg …`, `escrow reshare …` and `escrow refresh`: one procedure of
//! [`escrow::procedure::board`] (or one step of the board) per command, and what it printed.

use std::io::Write;

use anyhow::Result;
use escrow::SetupRequest;
use escrow::dkg::board as dkg_board;
use escrow::dkg::reshare_board;
use escrow::encoding::printable;
use escrow::identity::parse_epoch_length;
use escrow::lab::Lab;
use escrow::procedure::{authority_names, board};
use serde_json::json;

use crate::cli::{DkgCommand, ReshareCommand};
use crate::parse_time;
use crate::show::{
    excluded_json, fingerprints_json, key_prefix, path_text, plural, print_json, shown,
};

/// The join fingerprints a command used, for each authority to compare with the one its own
/// `join` printed (and with what the others published out of band).
fn print_fingerprints(out: &mut impl Write, fps: &[(String, String)]) -> Result<()> {
    let list: Vec<String> = fps.iter().map(|(a, f)| format!("{a} {f}")).collect();
    writeln!(out, "  joins used (fingerprints): {}", list.join(", "))?;
    Ok(())
}

/// "no complaint" or "complains about: a, b".
fn complaints_text(who: &str, checked: &str, complaints: &[String]) -> String {
    if complaints.is_empty() {
        format!("{who} checked every {checked}: no complaint.")
    } else {
        format!("{who} complains about: {}.", complaints.join(", "))
    }
}

/// "revealed no value", "revealed 1 value", "revealed 2 values".
fn revealed_text(who: &str, n: usize, one: &str, many: &str) -> String {
    match n {
        0 => format!("{who} revealed no {one}: no one complained about its deal."),
        n => format!(
            "{who} revealed {} in answer to complaints.",
            plural(n as u64, one, many)
        ),
    }
}

/// Excluded dealers and notes, one line each.
fn print_excluded_and_notes(
    out: &mut impl Write,
    excluded: &[(String, escrow::dkg::Exclusion)],
    notes: &[String],
) -> Result<()> {
    for (who, why) in excluded {
        writeln!(out, "  excluded {who}: {}", printable(&why.to_string()))?;
    }
    for n in notes {
        writeln!(out, "  note: {}", printable(n))?;
    }
    Ok(())
}

/// A join's JSON document or line.
fn print_joined(j: &board::Joined, authority: &str, json: bool, whose: &str) -> Result<()> {
    let (id, what, fingerprint) = (&j.proposal.id, &j.proposal.proposes, &j.fingerprint);
    if json {
        return print_json(&json!({
            "version": 1, "authority": authority, "proposal": id, "proposes": what,
            "fingerprint": fingerprint,
        }));
    }
    writeln!(
        std::io::stdout().lock(),
        "{} joined proposal {id} ({what}) with its own keys{whose}; fingerprint {fingerprint}: \
         note it, and compare every {} out of band.",
        printable(authority),
        if whose.is_empty() {
            "party's"
        } else {
            "authority's"
        }
    )?;
    Ok(())
}

pub fn dkg(lab: &Lab, cmd: &DkgCommand, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        DkgCommand::Start {
            authorities,
            threshold,
            epoch_length,
            realm,
            at,
        } => {
            let mut req =
                SetupRequest::new(authorities.clone(), *threshold, parse_time(at.as_deref())?);
            req.realm = realm.clone();
            req.epoch_length = parse_epoch_length(epoch_length)?;
            let p = board::dkg_start(lab, &req, &mut rand_core::OsRng)?;
            let (id, what) = (&p.id, &p.proposes);
            let dir = lab.dkg_dir();
            if json {
                return print_json(&json!({
                    "version": 1, "proposal": id, "proposes": what,
                    "authorities": req.authorities, "threshold": req.threshold,
                    "board": path_text(&dir),
                }));
            }
            writeln!(
                out,
                "DKG session opened in {}: {what}; no key made here. Proposal {id}: publish it; \
                 each authority runs escrow dkg join --as <itself> --proposal {id}.",
                shown(&dir),
            )?;
        }
        DkgCommand::Join {
            authority,
            proposal,
        } => {
            let j = board::dkg_join(lab, authority, proposal.as_deref(), &mut rand_core::OsRng)?;
            drop(out);
            return print_joined(&j, authority, json, " (secrets in its private state, 0600)");
        }
        DkgCommand::Verify => {
            let v = board::dkg_verify(lab)?;
            let (q, fps) = (&v.verified.qualified, &v.fingerprints);
            if json {
                return print_json(&json!({
                    "version": 1, "generation": q.params.generation(),
                    "dealers": q.params.authorities().len(), "qualified": q.qualified,
                    "excluded": excluded_json(&q.excluded),
                    "master_public_key": hex::encode(q.params.master_public_key().to_compressed()),
                    "notes": v.verified.notes, "fingerprints": fingerprints_json(fps),
                    "markers_agree": true, "installed": v.installed.is_some(),
                }));
            }
            print_fingerprints(&mut out, fps)?;
            writeln!(
                out,
                "DKG transcript: every message signed by its sender; {} of {} qualified; \
                 master key {}.",
                q.qualified.len(),
                plural(q.params.authorities().len() as u64, "dealer", "dealers"),
                key_prefix(&q.params)
            )?;
            print_excluded_and_notes(&mut out, &q.excluded, &v.verified.notes)?;
            match &v.installed {
                Some(p) => writeln!(
                    out,
                    "Every finished marker names this transcript and key; generation {} in \
                     params.json is this key.",
                    p.generation()
                )?,
                None => writeln!(
                    out,
                    "Every finished marker names this transcript and key; not installed yet."
                )?,
            }
        }
        DkgCommand::Deal { authority } => {
            let d = dkg_board::deal_as(lab, authority, &mut rand_core::OsRng)?;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "rows": d.rows.len(),
                }));
            }
            writeln!(
                out,
                "{authority} dealt: a commitment and {}.",
                plural(d.rows.len() as u64, "encrypted row", "encrypted rows")
            )?;
        }
        DkgCommand::Respond { authority } => {
            let r = dkg_board::respond_as(lab, authority)?;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "complaints": r.complaints,
                }));
            }
            writeln!(out, "{}", complaints_text(authority, "row", &r.complaints))?;
        }
        DkgCommand::Justify { authority } => {
            let j = dkg_board::justify_as(lab, authority)?;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "revealed": j.rows.len(),
                }));
            }
            writeln!(
                out,
                "{}",
                revealed_text(authority, j.rows.len(), "row", "rows")
            )?;
        }
        DkgCommand::Finish {
            authority,
            fingerprints,
            ..
        } => {
            let f = board::dkg_finish(lab, authority, fingerprints, &mut rand_core::OsRng)?;
            let q = &f.qualified;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority,
                    "dealers": q.params.authorities().len(), "qualified": q.qualified,
                    "excluded": excluded_json(&q.excluded),
                    "master_public_key": hex::encode(q.params.master_public_key().to_compressed()),
                    "notes": f.notes, "fingerprints": fingerprints_json(&f.fingerprints),
                    "installed": f.installed,
                    "generation": f.installed.then(|| q.params.generation()),
                }));
            }
            writeln!(
                out,
                "{authority} finished: {} of {} qualified; master key {}.",
                q.qualified.len(),
                plural(q.params.authorities().len() as u64, "dealer", "dealers"),
                key_prefix(&q.params)
            )?;
            print_excluded_and_notes(&mut out, &q.excluded, &f.notes)?;
            print_fingerprints(&mut out, &f.fingerprints)?;
            if f.installed {
                writeln!(
                    out,
                    "Every authority has finished with the same transcript and key: generation \
                     installed in {} (DKG secrets destroyed). No one held the master key if each \
                     authority's state was its own and the fingerprints above are those the \
                     authorities published.",
                    shown(lab.root())
                )?;
            }
        }
    }
    Ok(())
}

pub fn reshare(lab: &Lab, cmd: &ReshareCommand, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        ReshareCommand::Start {
            authorities,
            threshold,
            dealers,
            generation,
        } => {
            let o = board::reshare_start(
                lab,
                *generation,
                dealers.clone(),
                authorities.clone(),
                *threshold,
                &mut rand_core::OsRng,
            )?;
            let (c, id, what) = (&o.config, &o.proposal.id, &o.proposal.proposes);
            if json {
                return print_json(&json!({
                    "version": 1, "generation": c.old.generation(), "proposal": id,
                    "proposes": what, "authorities": c.to, "threshold": c.threshold,
                    "dealers": c.from, "parties": c.parties,
                    "board": path_text(&lab.reshare_dir()),
                }));
            }
            writeln!(
                out,
                "Resharing opened: {what}; no key made here. Proposal {id}: publish it; each of \
                 {} runs escrow reshare join --as <itself> --proposal {id}.",
                c.parties.join(", ")
            )?;
        }
        ReshareCommand::Join {
            authority,
            proposal,
        } => {
            let j =
                board::reshare_join(lab, authority, proposal.as_deref(), &mut rand_core::OsRng)?;
            drop(out);
            return print_joined(&j, authority, json, "");
        }
        ReshareCommand::Deal { authority, .. } => {
            let d = reshare_board::deal_as(lab, authority, &mut rand_core::OsRng)?;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "values": d.rows.len(),
                }));
            }
            writeln!(
                out,
                "{authority} dealt its share: a commitment and {}.",
                plural(d.rows.len() as u64, "encrypted value", "encrypted values")
            )?;
        }
        ReshareCommand::Respond { authority } => {
            let r = reshare_board::respond_as(lab, authority)?;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "complaints": r.complaints,
                }));
            }
            writeln!(
                out,
                "{}",
                complaints_text(authority, "value", &r.complaints)
            )?;
        }
        ReshareCommand::Justify { authority } => {
            let j = reshare_board::justify_as(lab, authority)?;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "revealed": j.rows.len(),
                }));
            }
            writeln!(
                out,
                "{}",
                revealed_text(authority, j.rows.len(), "value", "values")
            )?;
        }
        ReshareCommand::Finish {
            authority,
            fingerprints,
            ..
        } => {
            let f = board::reshare_finish(lab, authority, fingerprints)?;
            let (p, fps, old_n) = (&f.progress, &f.fingerprints, f.old_authorities);
            let r = &p.reshared;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "threshold": r.params.threshold(),
                    "authorities": authority_names(&r.params), "used": r.used,
                    "excluded": excluded_json(&r.excluded),
                    "revocations_needed": p.needed, "old_authorities": old_n,
                    "fingerprints": fingerprints_json(fps),
                }));
            }
            print_fingerprints(&mut out, fps)?;
            writeln!(
                out,
                "{authority} finished: new share staged; {} of {} with the same master key, \
                 from the shares of {}.",
                r.params.threshold(),
                r.params.authorities().len(),
                r.used.join(", ")
            )?;
            print_excluded_and_notes(&mut out, &r.excluded, &[])?;
            writeln!(
                out,
                "Next, once every new authority has finished: escrow reshare revoke --as <each \
                 old authority> ({} of the {} old authorities needed).",
                p.needed,
                old_n.max(p.needed)
            )?;
        }
        ReshareCommand::Abandon => {
            let g = reshare_board::abandon(lab)?;
            if json {
                return print_json(&json!({"version": 1, "generation": g, "abandoned": true}));
            }
            writeln!(
                out,
                "Resharing of generation {g} abandoned before any revocation: the old sharing \
                 stays in force; every party's resharing state destroyed."
            )?;
        }
        ReshareCommand::Revoke {
            authority,
            at,
            fingerprints,
        } => {
            let r =
                board::reshare_revoke(lab, authority, fingerprints, parse_time(at.as_deref())?)?;
            let (p, fps) = (&r.progress, &r.fingerprints);
            let new = &p.reshared.params;
            if json {
                return print_json(&json!({
                    "version": 1, "authority": authority, "revoked": p.revoked,
                    "revocations_needed": p.needed, "completed": p.completed,
                    "without_share": p.without_share, "fingerprints": fingerprints_json(fps),
                    "generation": new.generation(), "threshold": new.threshold(),
                    "authorities": authority_names(new),
                }));
            }
            print_fingerprints(&mut out, fps)?;
            writeln!(
                out,
                "{authority} checked the new sharing, destroyed its old share and logged it \
                 ({} of the {} needed: {}).",
                p.revoked.len().min(p.needed),
                plural(p.needed as u64, "revocation", "revocations"),
                p.revoked.join(", ")
            )?;
            if !p.without_share.is_empty() {
                let one = p.without_share.len() == 1;
                writeln!(
                    out,
                    "  no new share for: {} ({} staged file is gone or altered; {} no share of \
                     the new sharing)",
                    p.without_share.join(", "),
                    if one { "its" } else { "their" },
                    if one { "it holds" } else { "they hold" },
                )?;
            }
            if p.completed {
                writeln!(
                    out,
                    "The new sharing is in force: generation {}, {} of {} ({}), same master key; \
                     fewer than k old shares remain.",
                    new.generation(),
                    new.threshold(),
                    new.authorities().len(),
                    authority_names(new).join(", ")
                )?;
            }
        }
    }
    Ok(())
}

pub fn refresh(lab: &Lab, generation: Option<u32>, json: bool) -> Result<()> {
    let o = board::refresh(lab, generation, &mut rand_core::OsRng)?;
    let (c, id) = (&o.config, &o.proposal.id);
    if json {
        return print_json(&json!({
            "version": 1, "generation": c.old.generation(), "proposal": id,
            "threshold": c.threshold, "parties": c.parties,
            "board": path_text(&lab.reshare_dir()),
        }));
    }
    writeln!(
        std::io::stdout().lock(),
        "Refresh of generation {} opened (a resharing to the same {} of {}), proposal {id}: \
         each authority runs escrow reshare join --as <itself> --proposal {id}, then deal, \
         respond, justify, finish and revoke; the master key stays, every share changes, the \
         old ones are destroyed.",
        c.old.generation(),
        c.threshold,
        c.to.len()
    )?;
    Ok(())
}
