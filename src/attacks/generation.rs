//! Attacks on making and resharing a generation (rows 33 to 37), carried out through the same
//! library procedures the `escrow dkg …` and `escrow reshare …` commands run, each authority
//! from its own state on the lab's board; the malicious participant writes what a participant
//! can write (its own signed messages, and any file of the shared board).

use std::path::Path;

use anyhow::{Context, Result};
use escrow::dkg::reshare_board;
use escrow::dkg::{Deal, Response, Signed, board};
use escrow::lab::Lab;
use escrow::{AuthorityShare, KeyShare, combine_identity_key, unwrap};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use time::OffsetDateTime;

use super::{AUTHORITIES, DAY0, Observed, Verdict, blocked_if, talk, world};

pub(crate) const CITE_DKG: &str = "outside review, 2026-12 (finding 1); Gennaro, Jarecki, \
     Krawczyk, Rabin, 'Secure Distributed Key Generation' (Eurocrypt 1999): the complaint round";
pub(crate) const CITE_STARTER: &str = "outside review, 2026-12 (finding 2): one process made \
     every authority's transport secret";
pub(crate) const CITE_RESHARE: &str = "outside review, 2026-12 (finding 3); Desmedt and Jajodia \
     (1997), Wong, Wang and Wing (2002): verifiable secret redistribution";

fn msg_key(lab: &Lab, who: &str, board_dir: &str) -> Result<escrow::dkg::signing::MessageKey> {
    let path = lab
        .root()
        .join(board_dir)
        .join("private")
        .join(who)
        .join("keys.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    Ok(escrow::dkg::signing::MessageKey::from_secret_hex(
        v["signing_secret"].as_str().context("signing_secret")?,
    )?)
}

fn dkg_lab(dir: &Path) -> Result<Lab> {
    let lab = Lab::new(dir.join("lab"));
    let mut req = escrow::SetupRequest::new(
        ["alice", "bob", "mallory"].map(str::to_owned).to_vec(),
        2,
        OffsetDateTime::from_unix_timestamp(DAY0)?,
    );
    req.realm = "escrow-lab".into();
    board::start(&lab, &req, &mut ChaCha20Rng::seed_from_u64(1))?;
    Ok(lab)
}

fn rounds(lab: &Lab, rng: &mut ChaCha20Rng, through_justify: bool) -> Result<()> {
    const ALL: [&str; 3] = ["alice", "bob", "mallory"];
    for a in ALL {
        board::join_as(lab, a, rng)?;
    }
    for a in ALL {
        board::deal_as(lab, a, rng)?;
    }
    for a in ALL {
        board::respond_as(lab, a)?;
    }
    if through_justify {
        for a in ALL {
            board::justify_as(lab, a)?;
        }
    }
    Ok(())
}

/// Row 33: mallory (2 of 3) rewrites its own response after the justification round to
/// complain about both honest dealers, hoping every finish excludes them and the key is its
/// own polynomial's.
pub(crate) fn late_complaints(dir: &Path, seed: u64) -> Observed {
    let lab = dkg_lab(dir)?;
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 33);
    rounds(&lab, &mut rng, true)?;
    let path = lab.root().join("dkg/response-mallory.json");
    let mut r = Response::from_json(&std::fs::read(&path)?)?;
    r.complaints = vec!["alice".into(), "bob".into()];
    let r = r.signed(&msg_key(&lab, "mallory", "dkg")?)?;
    std::fs::write(&path, r.to_json()?)?;
    let mut last = None;
    for a in ["alice", "bob", "mallory"] {
        last = Some(board::finish_as(&lab, a, &mut rng)?);
    }
    let f = last.context("no finish")?;
    let ok = f.installed && f.qualified.qualified.len() == 3;
    Ok((
        blocked_if(ok),
        format!(
            "mallory re-signed its response after the justifications, complaining about alice \
             and bob; every finish counted the responses the justifications carry: {} of 3 \
             dealers qualified, generation installed; noted: {}",
            f.qualified.qualified.len(),
            f.notes.first().map(String::as_str).unwrap_or("nothing")
        ),
    ))
}

/// Row 34: whoever starts the DKG keeps a copy of the lab, hoping to decrypt every row later.
pub(crate) fn starter_copy(dir: &Path, seed: u64) -> Observed {
    let lab = dkg_lab(dir)?;
    let mut copy = Vec::new();
    for e in walk(lab.root())? {
        copy.push((e.clone(), std::fs::read(&e)?));
    }
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 34);
    rounds(&lab, &mut rng, true)?;
    for a in ["alice", "bob", "mallory"] {
        board::finish_as(&lab, a, &mut rng)?;
    }
    // What the copy holds that could open a row: any secret at all.
    let secrets = copy
        .iter()
        .filter(|(p, b)| {
            p.to_string_lossy().contains("private") || String::from_utf8_lossy(b).contains("secret")
        })
        .count();
    Ok((
        blocked_if(copy.len() == 1 && secrets == 0),
        format!(
            "the starter's copy is {} file(s) (the proposal) with {} secret(s): every transport \
             key was made later by its own authority's `dkg join`, so no row of the run it \
             watched decrypts",
            copy.len(),
            secrets
        ),
    ))
}

/// Row 35: mallory shows alice one deal and bob another (rewriting its deal file between
/// their reads), hoping they install different keys or one that favours it.
pub(crate) fn two_deals(dir: &Path, seed: u64) -> Observed {
    let lab = dkg_lab(dir)?;
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 35);
    for a in ["alice", "bob", "mallory"] {
        board::join_as(&lab, a, &mut rng)?;
    }
    for a in ["alice", "bob", "mallory"] {
        board::deal_as(&lab, a, &mut rng)?;
    }
    board::respond_as(&lab, "alice")?;
    let path = lab.root().join("dkg/deal-mallory.json");
    let mut d = Deal::from_json(&std::fs::read(&path)?)?;
    d.rows.swap(0, 1);
    let d = d.signed(&msg_key(&lab, "mallory", "dkg")?)?;
    std::fs::write(&path, d.to_json()?)?;
    for a in ["bob", "mallory"] {
        board::respond_as(&lab, a)?;
    }
    for a in ["alice", "bob", "mallory"] {
        board::justify_as(&lab, a)?;
    }
    board::finish_as(&lab, "alice", &mut rng)?;
    board::finish_as(&lab, "bob", &mut rng)?;
    let last = board::finish_as(&lab, "mallory", &mut rng);
    let refused = last.as_ref().is_err() && lab.load_params().is_err();
    Ok((
        blocked_if(refused),
        format!(
            "alice and bob finished from different deals of mallory's; the last finish: {}; no \
             generation installed",
            super::refusal(&last, "installed")
        ),
    ))
}

/// What [`resharing`] leaves: the world, the wrap and identity of a chain escrowed before, and
/// every old share file as copied before the resharing.
type Reshared = (
    crate::world::World,
    escrow::wrap::Wrap,
    escrow::ScopeIdentity,
    Vec<(String, Vec<u8>)>,
);

/// A resharing of the fixture's 3-of-5 generation that replaces ombudsman with tribunal; the
/// three old authorities court, ministry and oversight revoke. Returns the world, the wrap of
/// a chain escrowed before, its identity, and the old share files copied before the resharing.
fn resharing(dir: &Path, seed: u64) -> Result<Reshared> {
    let mut w = world(dir, seed)?;
    let first = talk(
        &mut w,
        "alice",
        "bob",
        "before the resharing",
        DAY0 + 9 * 3600,
    )?;
    let (_, block) = super::envelope_block(&w, first)?;
    let old = w.lab.load_params()?;
    let id = old.identity("alice", block.epoch)?;
    let copies = AUTHORITIES
        .iter()
        .map(|a| Ok(((*a).to_owned(), std::fs::read(w.lab.share_path(a))?)))
        .collect::<Result<Vec<_>>>()?;
    let to: Vec<String> = ["court", "ministry", "oversight", "provider", "tribunal"]
        .map(str::to_owned)
        .to_vec();
    let lab = w.lab.clone();
    reshare_board::start(&lab, 1, None, to.clone(), 3, &mut w.rng)?;
    for p in reshare_board::parties_of(&lab)? {
        reshare_board::join_as(&lab, &p, &mut w.rng)?;
    }
    for a in AUTHORITIES {
        reshare_board::deal_as(&lab, a, &mut w.rng)?;
    }
    for m in &to {
        reshare_board::respond_as(&lab, m)?;
    }
    for a in AUTHORITIES {
        reshare_board::justify_as(&lab, a)?;
    }
    for m in &to {
        reshare_board::finish_as(&lab, m)?;
    }
    let at = OffsetDateTime::from_unix_timestamp(DAY0 + DAY_SECS)?;
    for a in ["court", "ministry", "oversight"] {
        reshare_board::revoke_as(&lab, a, at)?;
    }
    Ok((w, block.sender_wrap, id, copies))
}

const DAY_SECS: i64 = 86_400;

/// Row 36: the replaced authority (ombudsman) keeps its old share and never revokes.
pub(crate) fn replaced_keeps_share(dir: &Path, seed: u64) -> Observed {
    let (w, wrap, id, copies) = resharing(dir, seed ^ 36)?;
    let old = copies
        .iter()
        .find(|(a, _)| a == "ombudsman")
        .context("ombudsman's copy")?;
    let new = w.lab.load_params()?;
    // The old sharing's parameters, as they were: the share verifies against them.
    let old_params = w.params.clone();
    let share = AuthorityShare::from_json(&old.1, &old_params)?;
    let ks = share.release_identity_key_share(&old_params, &id)?;
    // What is left of the old sharing in the lab: every share file that still loads under
    // the old parameters.
    let left: Vec<KeyShare> = AUTHORITIES
        .iter()
        .filter_map(|a| {
            let bytes = std::fs::read(w.lab.share_path(a)).ok()?;
            let s = AuthorityShare::from_json(&bytes, &old_params).ok()?;
            s.release_identity_key_share(&old_params, &id).ok()
        })
        .collect();
    // The kept share with two shares of the new sharing, interpolated by force.
    let mut mixed = vec![ks.clone()];
    for a in ["court", "ministry"] {
        mixed.push(
            w.lab
                .load_share(&new, a)?
                .release_identity_key_share(&new, &id)?,
        );
    }
    let forced = escrow::hazmat::identity_key_unchecked(
        id.clone(),
        escrow::hazmat::interpolate_unchecked(&mixed)?,
    );
    let opened = combine_identity_key(&old_params, &id, &left)
        .ok()
        .is_some_and(|k| unwrap(&wrap, &k).is_ok())
        || combine_identity_key(&old_params, &id, std::slice::from_ref(&ks)).is_ok()
        || unwrap(&wrap, &forced).is_ok();
    let held =
        !opened && left.len() < old_params.threshold() && new.authority("ombudsman").is_none();
    Ok((
        blocked_if(held),
        format!(
            "after the resharing (court, ministry and oversight revoked; ombudsman kept its \
             share and never did), {} share(s) of the old sharing remain in the lab, k = {}: \
             the kept share opens nothing alone, and mixed with new shares verifies against \
             nothing",
            left.len(),
            old_params.threshold()
        ),
    ))
}

/// Row 37 (a stated limit): k old share files copied before the resharing still open the
/// generation's traffic afterwards — resharing changes who holds shares, not the secret.
pub(crate) fn copied_before_resharing(dir: &Path, seed: u64) -> Observed {
    let (w, wrap, id, copies) = resharing(dir, seed ^ 37)?;
    let old_params = w.params.clone();
    let ks: Vec<KeyShare> = copies
        .iter()
        .filter(|(a, _)| ["court", "ministry", "ombudsman"].contains(&a.as_str()))
        .map(|(_, b)| {
            AuthorityShare::from_json(b, &old_params)?.release_identity_key_share(&old_params, &id)
        })
        .collect::<escrow::Result<_>>()?;
    let opened = combine_identity_key(&old_params, &id, &ks)
        .ok()
        .is_some_and(|k| unwrap(&wrap, &k).is_ok());
    Ok((
        if opened {
            Verdict::Succeeds
        } else {
            Verdict::Blocked
        },
        "court's and ministry's share files copied before the resharing, with the share \
         ombudsman kept, open alice's chain after it: proactive resharing cannot undo a copy; \
         it makes a thief need k shares copied before the old ones were destroyed"
            .to_owned(),
    ))
}

fn walk(root: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    Ok(out)
}
