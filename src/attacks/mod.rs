//! `escrow-lab attacks`: the attack catalogue, every attack carried out for real against the
//! libraries, with the outcome the design expects and the outcome observed.
//!
//! Each attack runs in a world of its own or in the shared fixture: a 3-of-5 generation
//! (court, ministry, oversight, provider, ombudsman), alice, bob and carol talking over two
//! days through the real messenger, and a warrant W-1 for (alice, day 0) logged and approved
//! by all five authorities. Everything is seeded, so the same seed gives the same table.
//!
//! Expected outcomes are of three kinds: **blocked** (the attack fails and nothing opens),
//! **detected** (it is caught and attributed), and **succeeds** — the limits no escrow design
//! removes, stated rather than hidden: k colluding authorities, endpoints that encrypt again,
//! a provider that hands out keys it controls on first contact.

mod blocks;
mod evidence;
mod generation;
mod keys;
mod lifecycle;
mod log;
mod process;
mod salamander;
mod table;

use std::path::Path;

use anyhow::{Context, Result};
use escrow::authority::Approved;
use escrow::transparency::proof::ProofBundle;
use escrow::warrant::Warrant;
use messenger::{Envelope, EscrowBlock};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::Serialize;

use crate::world::{DAY, World};

/// How an attack ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The attack fails: nothing is opened, forged or accepted.
    Blocked,
    /// The attack is caught and attributed (to an authority, a sender, the log).
    Detected,
    /// The attack works: a limit of the design, stated.
    Succeeds,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Self::Blocked => "blocked",
            Self::Detected => "detected",
            Self::Succeeds => "succeeds",
        }
    }
}

/// One row of the catalogue.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Row number.
    pub id: u32,
    /// The attack, in a few words.
    pub name: &'static str,
    /// The paper or incident it models.
    pub models: &'static str,
    /// What the design says should happen.
    pub expected: Verdict,
    /// What happened.
    pub observed: Verdict,
    /// Whether the observation matches the expectation.
    pub held: bool,
    /// What was done and seen, in one or two sentences.
    pub detail: String,
}

/// The text of a refusal, or `accepted` if the attempt was not refused.
pub(crate) fn refusal<T, E: std::fmt::Display>(
    r: &std::result::Result<T, E>,
    accepted: &str,
) -> String {
    match r {
        Ok(_) => accepted.to_owned(),
        Err(e) => e.to_string(),
    }
}

/// Blocked if every check of the attack held, else the attack succeeded.
pub(crate) fn blocked_if(ok: bool) -> Verdict {
    if ok {
        Verdict::Blocked
    } else {
        Verdict::Succeeds
    }
}

/// Detected if the attack was caught and attributed, else it succeeded.
pub(crate) fn detected_if(caught: bool) -> Verdict {
    if caught {
        Verdict::Detected
    } else {
        Verdict::Succeeds
    }
}

/// The outcome of one attack function: the observed verdict and what happened.
pub(crate) type Observed = Result<(Verdict, String)>;

/// The catalogue, run.
#[derive(Clone, Debug, Serialize)]
pub struct Table {
    /// The seed used.
    pub seed: u64,
    /// The rows, in order.
    pub rows: Vec<Row>,
}

/// The shared world of most attacks.
pub(crate) struct Fixture {
    pub w: World,
    /// Midnight starting day 0.
    pub day0: i64,
    /// "Now": day 3, 10:00.
    pub now: i64,
    /// W-1: alice, day 0.
    pub warrant: Warrant,
    pub receipt: ProofBundle,
    /// Approvals of W-1 by all five authorities, in index order.
    pub approvals: Vec<Approved>,
}

/// The seed of the published table (docs/attacks.md).
pub const DEFAULT_SEED: u64 = 1994;

/// The authorities of every attack world.
pub(crate) const AUTHORITIES: [&str; 5] =
    ["court", "ministry", "oversight", "provider", "ombudsman"];
/// 2026-09-02T00:00:00Z: day 0 of every attack world, in the clock's past with room for the
/// attacks' 40 days (log times may lag the clock, never run ahead of it).
pub(crate) const DAY0: i64 = 1_788_307_200;

/// A fresh world in `dir`: the generation (created 60 days before day 0, so that a 40-day
/// warrant can lie in the past) and alice, bob and carol registered.
pub(crate) fn world(dir: &Path, seed: u64) -> Result<World> {
    let mut w = World::create(
        dir,
        &AUTHORITIES,
        3,
        DAY0 - 60 * DAY,
        ChaCha20Rng::seed_from_u64(seed),
    )?;
    for u in ["alice", "bob", "carol"] {
        w.register(u, DAY0 - DAY + 3600)?;
    }
    Ok(w)
}

/// Sends and delivers at once.
pub(crate) fn talk(w: &mut World, from: &str, to: &str, text: &str, t: i64) -> Result<i64> {
    let sent = w.send(from, to, text, t)?;
    w.read(to, t + 30)?;
    Ok(sent.relay_id)
}

/// Logs a warrant for `targets` over `[start, end)` at `now`, has court, ministry and
/// oversight approve it, and executes it on `account`'s capture from the midnight before
/// `start` to `now`.
pub(crate) fn serve(
    w: &mut World,
    reference: &str,
    targets: &[&str],
    start: i64,
    end: i64,
    account: &str,
    now: i64,
) -> Result<auditor::execute::Report> {
    let warrant = w.warrant(reference, targets, start, end, now + 7 * DAY)?;
    let receipt = w.submit(&warrant, now)?;
    let approvals = ["court", "ministry", "oversight"]
        .iter()
        .map(|a| w.approve(a, &warrant, &receipt, now + 60))
        .collect::<Result<Vec<_>>>()?;
    let capture = w.capture(account, crate::world::midnight(start), now, now)?;
    w.execute(
        &warrant,
        &approvals.iter().collect::<Vec<_>>(),
        &capture,
        now + 120,
    )
}

/// [`serve`] for W-1, alice's traffic of day 0, two days later.
pub(crate) fn serve_alice_day0(w: &mut World) -> Result<auditor::execute::Report> {
    serve(
        w,
        "W-1",
        &["alice"],
        DAY0,
        DAY0 + DAY,
        "alice",
        DAY0 + 2 * DAY,
    )
}

impl Fixture {
    fn new(dir: &Path, seed: u64) -> Result<Self> {
        let mut w = world(dir, seed)?;
        for d in 0..2 {
            let t = DAY0 + d * DAY + 9 * 3600;
            talk(&mut w, "alice", "bob", &format!("day {d}: hi bob"), t)?;
            talk(
                &mut w,
                "alice",
                "bob",
                &format!("day {d}: still there?"),
                t + 60,
            )?;
            talk(&mut w, "bob", "alice", &format!("day {d}: yes"), t + 120)?;
            talk(
                &mut w,
                "bob",
                "carol",
                &format!("day {d}: bob to carol"),
                t + 600,
            )?;
            talk(
                &mut w,
                "carol",
                "bob",
                &format!("day {d}: carol to bob"),
                t + 660,
            )?;
            talk(
                &mut w,
                "carol",
                "alice",
                &format!("day {d}: carol to alice"),
                t + 1200,
            )?;
        }
        let now = DAY0 + 3 * DAY + 10 * 3600;
        let warrant = w.warrant("W-1", &["alice"], DAY0, DAY0 + DAY, now + 7 * DAY)?;
        let receipt = w.submit(&warrant, now)?;
        let approvals = AUTHORITIES
            .iter()
            .map(|a| w.approve(a, &warrant, &receipt, now + 60))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            w,
            day0: DAY0,
            now,
            warrant,
            receipt,
            approvals,
        })
    }

    /// The first message (with the escrow block) of the chain `from` started at `day`.
    pub fn chain_start(&self, from: &str, to: &str, day: i64) -> Result<(Envelope, EscrowBlock)> {
        let sent = self
            .w
            .sent
            .iter()
            .find(|s| {
                s.from == from && s.to == to && s.starts_chain && (s.time - self.day0) / DAY == day
            })
            .context("no such chain in the fixture")?;
        envelope_block(&self.w, sent.relay_id)
    }
}

/// The envelope stored at `relay_id` and its escrow block.
pub(crate) fn envelope_block(w: &World, relay_id: i64) -> Result<(Envelope, EscrowBlock)> {
    let env = w.envelope_at(relay_id)?;
    let block = env
        .start
        .as_ref()
        .and_then(|s| s.escrow.clone())
        .context("envelope without escrow block")?;
    Ok((env, block))
}

/// Runs the whole catalogue. The attack labs live in `dir` (kept) or in a temporary folder.
pub fn run_all(dir: Option<&Path>, seed: u64) -> Result<Table> {
    let tmp;
    let root = match dir {
        Some(d) => crate::labdir::fresh_dir(Some(d), "attacks", time::OffsetDateTime::UNIX_EPOCH)?,
        None => {
            tmp = tempfile::tempdir().context("creating a temporary folder")?;
            tmp.path().to_owned()
        }
    };
    let fx = Fixture::new(&root.join("shared"), seed)?;
    use Verdict::{Blocked, Detected, Succeeds};
    let mut rows = Vec::new();
    let mut add = |id: u32, name, models, expected: Verdict, observed: Observed| {
        let (observed, detail) = match observed {
            Ok(o) => o,
            // An attack that could not even be carried out is a failed row, not a crash.
            Err(e) => (Blocked, format!("ERROR running the attack: {e:#}")),
        };
        let held = observed == expected && !detail.starts_with("ERROR");
        rows.push(Row {
            id,
            name,
            models,
            expected,
            observed,
            held,
            detail,
        });
    };
    add(
        1,
        "One authority alone tries to open a chain",
        keys::CITE_ONE,
        Blocked,
        keys::one_authority(&fx),
    );
    add(
        2,
        "k-1 authorities collude",
        keys::CITE_COLLUDE,
        Blocked,
        keys::k_minus_one(&fx),
    );
    add(
        3,
        "k authorities collude without a warrant",
        keys::CITE_K,
        Succeeds,
        keys::k_without_warrant(&fx),
    );
    add(
        4,
        "A key for (alice, day D) used on day D+1",
        keys::CITE_SCOPE,
        Blocked,
        keys::next_day(&fx),
    );
    add(
        5,
        "A key for (alice, day D) used on bob",
        keys::CITE_SCOPE,
        Blocked,
        keys::other_account(&fx),
    );
    add(
        6,
        "Forged escrow blocks (Blaze's LEAF attack)",
        blocks::CITE_LEAF,
        Blocked,
        blocks::leaf_forgery(&fx, seed),
    );
    add(
        7,
        "A valid escrow block copied from another chain",
        blocks::CITE_LEAF,
        Blocked,
        blocks::copied_block(&root.join("copied"), seed),
    );
    add(
        8,
        "The escrow block omitted",
        blocks::CITE_OMIT,
        Blocked,
        blocks::omitted_block(&root.join("omitted"), seed),
    );
    add(
        9,
        "Colluding endpoints super-encrypt",
        blocks::CITE_SUPER,
        Succeeds,
        blocks::super_encryption(&root.join("super"), seed),
    );
    add(
        10,
        "An authority returns a corrupted share",
        process::CITE_ROGUE,
        Detected,
        process::corrupted_share(&fx),
    );
    add(
        11,
        "An approval replayed for another warrant",
        process::CITE_REPLAY,
        Blocked,
        process::replayed_approval(&fx),
    );
    add(
        12,
        "A warrant never logged",
        process::CITE_SECRET,
        Blocked,
        process::unlogged_warrant(&fx),
    );
    add(
        13,
        "Over-broad and expired warrants",
        process::CITE_BROAD,
        Blocked,
        process::over_broad(&fx),
    );
    add(
        14,
        "Log equivocation: a fork shown to an authority",
        log::CITE_SPLIT,
        Detected,
        log::equivocation(&root.join("fork"), seed),
    );
    add(
        15,
        "Direct tampering with the log database",
        log::CITE_TAMPER,
        Detected,
        log::tampering(&root.join("tamper"), seed),
    );
    add(
        16,
        "Both endpoints drop escrow (modified clients)",
        blocks::CITE_OMIT,
        Detected,
        blocks::both_endpoints_drop(&root.join("dropped"), seed),
    );
    add(
        17,
        "A reference reused for a different warrant",
        process::CITE_REUSE,
        Blocked,
        process::reference_reuse(&fx),
    );
    add(
        18,
        "The provider's key substitution ('ghost')",
        blocks::CITE_GHOST,
        Succeeds,
        blocks::ghost(&root.join("ghost"), seed),
    );
    add(
        19,
        "Shares stolen before and after a refresh",
        lifecycle::CITE_REFRESH,
        Blocked,
        lifecycle::stolen_before_refresh(&root.join("refresh"), seed),
    );
    add(
        20,
        "Shares stolen after the generation retired",
        lifecycle::CITE_RETIRE,
        Blocked,
        lifecycle::stolen_after_retirement(&root.join("retired"), seed),
    );
    add(
        21,
        "A client wraps to an old generation after a rotation",
        lifecycle::CITE_STALE,
        Blocked,
        lifecycle::stale_generation(&root.join("stale"), seed),
    );
    add(
        22,
        "Evidence fabricated from public data",
        evidence::CITE_FABRICATED,
        Blocked,
        evidence::fabricated(&root.join("fabricated"), seed),
    );
    add(
        23,
        "A decoy start claiming another epoch",
        evidence::CITE_DECOY,
        Detected,
        evidence::decoy(&root.join("decoy-epoch"), seed, true),
    );
    add(
        24,
        "A decoy start with its own key and text",
        evidence::CITE_DECOY,
        Detected,
        evidence::decoy(&root.join("decoy-key"), seed, false),
    );
    add(
        25,
        "One ratchet key toward two recipients",
        evidence::CITE_DECOY,
        Blocked,
        evidence::colliding(&root.join("colliding"), seed),
    );
    add(
        26,
        "A retired chain re-opened, or one at will",
        evidence::CITE_REOPEN,
        Detected,
        evidence::reopened(&root.join("reopened"), seed),
    );
    add(
        27,
        "One envelope, two texts (salamanders)",
        evidence::CITE_SALAMANDER,
        Blocked,
        evidence::salamander(&root.join("salamander"), seed),
    );
    add(
        28,
        "A warrant read wider than its timespan",
        evidence::CITE_SCOPE,
        Blocked,
        evidence::wider_scope(&root.join("scope"), seed),
    );
    add(
        29,
        "A capture from another lab",
        evidence::CITE_OTHER_LAB,
        Blocked,
        evidence::other_lab(&root.join("other-lab"), seed),
    );
    add(
        30,
        "The provider swaps a key in its directory",
        evidence::CITE_DIRECTORY,
        Succeeds,
        evidence::directory_swap(&root.join("directory"), seed),
    );
    add(
        31,
        "The recipient writes under the sender's key",
        evidence::CITE_RECIPIENT,
        Succeeds,
        evidence::recipient_writes(&root.join("recipient"), seed),
    );
    add(
        32,
        "Releases erased from the log database",
        log::CITE_TAMPER,
        Detected,
        log::erased_releases(&root.join("erased"), seed),
    );
    add(
        33,
        "A DKG participant rewrites its complaints late",
        generation::CITE_DKG,
        Blocked,
        generation::late_complaints(&root.join("dkg-late"), seed),
    );
    add(
        34,
        "Whoever starts the DKG keeps a copy",
        generation::CITE_STARTER,
        Blocked,
        generation::starter_copy(&root.join("dkg-starter"), seed),
    );
    add(
        35,
        "A DKG dealer shows two deals",
        generation::CITE_DKG,
        Blocked,
        generation::two_deals(&root.join("dkg-two-deals"), seed),
    );
    add(
        36,
        "The replaced authority keeps its old share",
        generation::CITE_RESHARE,
        Blocked,
        generation::replaced_keeps_share(&root.join("reshare-kept"), seed),
    );
    add(
        37,
        "k old shares copied before a resharing",
        generation::CITE_RESHARE,
        Succeeds,
        generation::copied_before_resharing(&root.join("reshare-copied"), seed),
    );
    Ok(Table { seed, rows })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_mismatch_is_counted_and_shown() {
        let row = |id, observed| Row {
            id,
            name: "x",
            models: "y",
            expected: Verdict::Blocked,
            observed,
            held: observed == Verdict::Blocked,
            detail: "z | w".into(),
        };
        let t = Table {
            seed: 1,
            rows: vec![row(1, Verdict::Blocked), row(2, Verdict::Succeeds)],
        };
        assert_eq!(t.failures(), 1);
        assert_eq!(t.to_json()["failures"], 1);
        let md = t.to_markdown("escrow-lab attacks");
        assert!(md.contains("**succeeds (MISMATCH)**"), "{md}");
        assert!(md.contains("z \\| w"), "{md}");
        let mut text = Vec::new();
        t.write_text(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("MISMATCH") && text.contains("2 attacks, 1 as expected, 1 not."));
    }

    #[test]
    fn wrapping_keeps_words_and_width() {
        let lines = table::wrap_text("aaa bbb ccc ddd", 7);
        assert_eq!(lines, ["aaa bbb", "ccc ddd"]);
    }
}
