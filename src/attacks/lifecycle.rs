//! Attacks over a generation's life: shares stolen before a proactive refresh, shares stolen
//! after the generation was retired, and a client that keeps wrapping to an old generation
//! after a rotation (rows 19 to 21).

use std::path::Path;

use anyhow::Result;
use escrow::hazmat::{export_share_json, identity_key_unchecked, interpolate_unchecked};
use escrow::{KeyShare, combine_identity_key, unwrap};

use super::{AUTHORITIES, DAY0, Observed, blocked_if, talk, world};
use crate::world::DAY;

pub(crate) const CITE_REFRESH: &str = "Herzberg, Jarecki, Krawczyk, Yung, 'Proactive Secret \
     Sharing' (CRYPTO 1995): a mobile adversary who collects shares over time";
pub(crate) const CITE_RETIRE: &str = "Keys Under Doormats (2015) on escrow destroying forward \
     secrecy; retention windows, after which escrowed traffic must become unrecoverable";

/// Row 19: a thief copies two share files, the authorities refresh, the thief copies one more.
pub(crate) fn stolen_before_refresh(dir: &Path, seed: u64) -> Observed {
    let mut w = world(dir, seed ^ 19)?;
    let id_time = DAY0 + 9 * 3600;
    let first = talk(&mut w, "alice", "bob", "before the refresh", id_time)?;
    let (_, block) = super::envelope_block(&w, first)?;
    let params = w.lab.load_params()?;
    let id = params.identity("alice", block.epoch)?;
    // Stolen before: court's and ministry's share files.
    let stolen: Vec<Vec<u8>> = AUTHORITIES[..2]
        .iter()
        .map(|a| Ok(std::fs::read(w.lab.share_path(a))?))
        .collect::<Result<_>>()?;
    let shares: Vec<escrow::AuthorityShare> = AUTHORITIES
        .iter()
        .map(|a| w.lab.load_share(&params, a))
        .collect::<escrow::Result<_>>()?;
    let names: Vec<String> = AUTHORITIES.iter().map(|a| a.to_string()).collect();
    let (fresh, new_shares) =
        escrow::dkg::reshare::simulate(&params, &shares, &names, params.threshold(), &mut w.rng)?;
    // Stolen after: oversight's new share.
    let old: Vec<KeyShare> = stolen
        .iter()
        .map(|b| {
            let s = escrow::AuthorityShare::from_json(b, &params)?;
            s.release_identity_key_share(&params, &id)
        })
        .collect::<escrow::Result<_>>()?;
    let late = escrow::AuthorityShare::from_json(&export_share_json(&new_shares[2])?, &fresh)?;
    let mut mixed = old.clone();
    mixed.push(late.release_identity_key_share(&fresh, &id)?);
    let combined = combine_identity_key(&fresh, &id, &mixed).is_ok()
        || combine_identity_key(&params, &id, &mixed).is_ok();
    let forced = identity_key_unchecked(id.clone(), interpolate_unchecked(&mixed)?);
    let opened = unwrap(&block.sender_wrap, &forced).is_ok();
    // Control: three new shares do open it (the refresh kept the key).
    let control: Vec<KeyShare> = new_shares[..3]
        .iter()
        .map(|s| s.release_identity_key_share(&fresh, &id))
        .collect::<escrow::Result<_>>()?;
    let key = combine_identity_key(&fresh, &id, &control)?;
    let control_ok = unwrap(&block.sender_wrap, &key).is_ok();
    let ok = !combined && !opened && control_ok;
    Ok((
        blocked_if(ok),
        format!(
            "Two share files stolen before a refresh and one after: the library refuses to \
             combine them and forcing the interpolation gives a key that {} alice's chain. \
             Three shares of the same side still open it ({}): the master key did not move.",
            if opened { "OPENS" } else { "does not open" },
            if control_ok { "yes" } else { "NO" }
        ),
    ))
}

/// Row 20: three authorities retire the generation; a thief then takes the two shares left.
pub(crate) fn stolen_after_retirement(dir: &Path, seed: u64) -> Observed {
    let mut w = world(dir, seed ^ 20)?;
    let t = DAY0 + 9 * 3600;
    let first = talk(&mut w, "alice", "bob", "old traffic", t)?;
    let (_, block) = super::envelope_block(&w, first)?;
    let params = w.lab.load_params()?;
    let id = params.identity("alice", block.epoch)?;
    let now = DAY0 + 40 * DAY;
    let mut unrecoverable = false;
    for a in &AUTHORITIES[..3] {
        unrecoverable =
            escrow::authority::retire(&w.lab, a, None, crate::world::at(now)?)?.unrecoverable;
    }
    let left: Vec<KeyShare> = AUTHORITIES[3..]
        .iter()
        .map(|a| {
            w.lab
                .load_share(&params, a)?
                .release_identity_key_share(&params, &id)
        })
        .collect::<escrow::Result<_>>()?;
    let combined = combine_identity_key(&params, &id, &left).is_ok();
    let forced = identity_key_unchecked(id.clone(), interpolate_unchecked(&left)?);
    let opened = unwrap(&block.sender_wrap, &forced).is_ok();
    let gone = AUTHORITIES[..3]
        .iter()
        .all(|a| !w.lab.share_path(a).exists());
    let ok = unrecoverable && gone && !combined && !opened;
    Ok((
        blocked_if(ok),
        format!(
            "court, ministry and oversight retired the generation (shares overwritten and \
             removed{}, three generation-retired entries); a thief with the two remaining \
             shares {} alice's old chain — the escrow's retention window has closed.",
            if gone { "" } else { " — NOT ALL GONE" },
            if opened || combined {
                "OPENS"
            } else {
                "cannot open"
            }
        ),
    ))
}

pub(crate) const CITE_STALE: &str = "Downgrade attacks on negotiated parameters (e.g. Logjam, \
     CCS 2015), here on the escrow generation: a client wrapping to an old key whose holders \
     are fewer, compromised or about to retire it";

/// Row 21: after a rotation, a modified client keeps wrapping new chains to the old
/// generation (say, one its authorities will retire next week, so its traffic soon becomes
/// unrecoverable, or one whose shares were stolen).
pub(crate) fn stale_generation(dir: &Path, seed: u64) -> Observed {
    let mut w = world(dir, seed ^ 21)?;
    let old = w.lab.load_params()?;
    let mut req = escrow::rotate::RotateRequest::new(crate::world::at(DAY0 + 9 * 3600)?);
    req.valid_days = Some(30);
    let new = escrow::rotate::rotate(&w.lab, &req, &mut w.rng)?;
    w.escrow = messenger::EscrowContext::with_generations(w.lab.load_generations()?);
    let t = DAY0 + DAY + 9 * 3600;
    // The honest control: carol's new chain on day 1 wraps to the new generation.
    let control = talk(&mut w, "carol", "bob", "on the new generation", t)?;
    let (_, block) = super::envelope_block(&w, control)?;
    let control_ok = block.generation == new.generation();
    // alice's modified client knows only the old generation.
    let honest = std::mem::replace(&mut w.escrow, messenger::EscrowContext::new(old.clone()));
    let sent = w.send("alice", "bob", "on the old generation", t + 60);
    w.escrow = honest;
    let sent = sent?;
    let (_, stale) = super::envelope_block(&w, sent.relay_id)?;
    let outcome = w
        .read("bob", t + 90)?
        .into_iter()
        .find(|(id, _)| *id == sent.relay_id)
        .map(|(_, o)| o);
    let refused = match &outcome {
        Some(messenger::Outcome::Rejected { reason, .. }) => Some(reason.clone()),
        _ => None,
    };
    let ok = control_ok && stale.generation == old.generation() && refused.is_some();
    Ok((
        blocked_if(ok),
        format!(
            "After rotating to generation {} from day 1, carol's new chain wraps to it ({}); \
             alice's modified client wraps hers to generation {}. bob refuses it: {}.",
            new.generation(),
            if control_ok {
                "as it must"
            } else {
                "IT DOES NOT"
            },
            stale.generation,
            refused.as_deref().unwrap_or("ACCEPTED")
        ),
    ))
}
