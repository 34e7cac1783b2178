//! Attacks by the endpoints and the provider on the messenger's escrow: forged, copied and
//! omitted escrow blocks, super-encryption, modified clients on both ends, and the "ghost"
//! (rows 6–9, 16, 18).

use anyhow::{Context, Result};
use escrow::wrap::{WRAP_LEN, Wrap};
use hmac::{Hmac, Mac};
use messenger::{Client, EscrowBlock, EscrowContext, Incoming, Outcome};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;
use sha2::Sha256;

use super::{
    DAY0, Fixture, Observed, Verdict, blocked_if, detected_if, serve_alice_day0, talk, world,
};
use crate::world::World;

pub(crate) const CITE_LEAF: &str = "Blaze, 'Protocol Failure in the Escrowed Encryption \
     Standard' (ACM CCS 1994): Clipper's LEAF was protected by a 16-bit checksum only";
pub(crate) const CITE_OMIT: &str = "Clipper/EES (1993): escrow enforced by tamper-resistant \
     chips; Blaze 1994 on rogue devices that interoperate without a valid LEAF";
pub(crate) const CITE_SUPER: &str = "Keys Under Doormats (Abelson et al., 2015): criminals \
     add their own encryption; escrow reaches only the law-abiding";
pub(crate) const CITE_GHOST: &str = "Levy & Robinson (GCHQ), 'Principles for a More Informed \
     Exceptional Access Debate', Lawfare 2018: a silently added participant (the 'ghost'), \
     here in its 1:1 form, key substitution; the open letter of 2019 against it";

/// Row 6's forgeries that parse: valid wraps (of random keys) to the right scopes, each
/// costing the recipient a full recomputation.
const WELL_FORMED: usize = 2048;
/// Row 6's forgeries of random bytes behind a valid header.
const RANDOM: usize = 4096;
/// Forged LEAFs the Clipper model's brute force collects (Blaze's attack, repeated).
const CLIPPER_FORGERIES: usize = 16;

/// The wire layout of an escrow block (messenger::escrow_block): generation ‖ epoch ‖ the two
/// wraps. `None` where the bytes do not parse (the honest recipient rejects those too).
fn decode(bytes: &[u8]) -> Option<EscrowBlock> {
    if bytes.len() != 12 + 2 * WRAP_LEN {
        return None;
    }
    Some(EscrowBlock {
        generation: u32::from_be_bytes(bytes[..4].try_into().ok()?),
        epoch: u64::from_be_bytes(bytes[4..12].try_into().ok()?),
        sender_wrap: Wrap::from_bytes(&bytes[12..12 + WRAP_LEN]).ok()?,
        recipient_wrap: Wrap::from_bytes(&bytes[12 + WRAP_LEN..]).ok()?,
    })
}

/// Clipper's LEAF, modelled: unit id (32 bits) ‖ encrypted session key (80 bits) ‖ checksum
/// (16 bits), the checksum a keyed function of the rest (HMAC-SHA-256 truncated to 16 bits
/// stands for the chip's secret function). A LEAF is accepted iff its checksum matches.
struct Clipper {
    family_key: [u8; 32],
}

impl Clipper {
    fn checksum(&self, body: &[u8]) -> [u8; 2] {
        #[allow(clippy::expect_used)] // HMAC accepts keys of any length
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.family_key).expect("any key length");
        mac.update(body);
        let tag = mac.finalize().into_bytes();
        [tag[0], tag[1]]
    }

    fn accepts(&self, leaf: &[u8; 16]) -> bool {
        self.checksum(&leaf[..14]) == leaf[14..]
    }
}

/// Where a forged block was stopped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// It does not parse (an invalid curve point): the envelope parser rejects it.
    Parse,
    /// It parses, and recomputing the wraps from the chain key does not give it.
    Recompute,
    /// Accepted.
    Accepted,
}

/// Row 6: Blaze's attack, against this design's recipient check, next to a model of Clipper's
/// 16-bit LEAF checksum under the same brute force.
pub(crate) fn leaf_forgery(fx: &Fixture, seed: u64) -> Observed {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 6);
    let mut ctx = EscrowContext::new(fx.w.params.clone());
    let t = DAY0 + 9 * 3600;
    let epoch = ctx.epoch_at(t)?;
    let mut ck0 = [0u8; 32];
    rng.fill_bytes(&mut ck0);
    let honest = ctx
        .make_block("alice", "bob", epoch, &ck0)?
        .context("escrow is enabled")?;
    let control = ctx
        .check_block("alice", "bob", t, &ck0, Some(&honest))?
        .is_ok();
    let bytes = honest.to_bytes();

    // The attempts: every one-bit flip of the honest block, random bytes behind its header,
    // and well-formed blocks (valid wraps of random keys to alice's and bob's scopes).
    let mut attempts: Vec<Vec<u8>> = (0..bytes.len() * 8)
        .map(|bit| {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            b
        })
        .collect();
    let flips = attempts.len();
    for _ in 0..RANDOM {
        let mut b = bytes[..12].to_vec();
        b.resize(bytes.len(), 0);
        rng.fill_bytes(&mut b[12..]);
        attempts.push(b);
    }
    let keys: Vec<[u8; 32]> = (0..WELL_FORMED)
        .map(|_| {
            let mut k = [0u8; 32];
            rng.fill_bytes(&mut k);
            k
        })
        .collect();
    let forged: Vec<Vec<u8>> = keys
        .par_chunks(64)
        .map(|chunk| -> Result<Vec<Vec<u8>>> {
            let mut ctx = ctx.clone();
            chunk
                .iter()
                .map(|k| {
                    Ok(ctx
                        .make_block("alice", "bob", epoch, k)?
                        .context("escrow is enabled")?
                        .to_bytes())
                })
                .collect()
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    attempts.extend(forged);
    let stages: Vec<Stage> = attempts
        .par_chunks(256)
        .map(|chunk| {
            let mut ctx = ctx.clone();
            chunk
                .iter()
                .map(|b| match decode(b) {
                    None => Stage::Parse,
                    Some(block) => match ctx.check_block("alice", "bob", t, &ck0, Some(&block)) {
                        Ok(Ok(())) => Stage::Accepted,
                        _ => Stage::Recompute,
                    },
                })
                .collect::<Vec<_>>()
        })
        .flatten()
        .collect();
    let count = |s: Stage| stages.iter().filter(|x| **x == s).count();
    let (parse, recompute, accepted) = (
        count(Stage::Parse),
        count(Stage::Recompute),
        count(Stage::Accepted),
    );

    // Blaze's brute force against the Clipper model: random LEAFs until CLIPPER_FORGERIES of
    // them pass the 16-bit checksum.
    let mut clipper = Clipper {
        family_key: [0u8; 32],
    };
    rng.fill_bytes(&mut clipper.family_key);
    let (mut tries, mut passed) = (0u64, 0usize);
    while passed < CLIPPER_FORGERIES && tries < 1 << 26 {
        let mut leaf = [0u8; 16];
        rng.fill_bytes(&mut leaf);
        tries += 1;
        if clipper.accepts(&leaf) {
            passed += 1;
        }
    }
    let n = attempts.len();
    let per = tries as f64 / passed.max(1) as f64;
    let ok = control && accepted == 0 && passed == CLIPPER_FORGERIES;
    Ok((
        blocked_if(ok),
        format!(
            "{n} forged blocks ({flips} one-bit flips of an honest block, {RANDOM} random, \
             {WELL_FORMED} valid wraps of random keys) through the recipient's check: {parse} \
             rejected at parsing (invalid curve points), {recompute} by recomputing the wraps, \
             {accepted} accepted (the honest block: {}). The same brute force against a model \
             of Clipper's 16-bit LEAF checksum found {passed} accepted forgeries in {tries} \
             tries, one per {per:.0} (2^16 = 65536 expected), each silently defeating the \
             escrow. Here no number of tries helps: a block passes only if it is the exact \
             recomputed wrap of the chain's key.",
            if control { "accepted" } else { "REJECTED" },
        ),
    ))
}

/// Sends like `World::send` but passes the escrow block through `tamper`.
fn send_tampered(
    w: &mut World,
    from: &str,
    to: &str,
    text: &str,
    t: i64,
    tamper: &mut dyn FnMut(Option<EscrowBlock>) -> Option<EscrowBlock>,
) -> Result<i64> {
    let client = w.clients.get_mut(from).context("no such client")?;
    let tx = w.relay.transaction()?;
    let env = messenger::hazmat::send_noncompliant(
        client,
        to,
        text.as_bytes(),
        t,
        &mut w.escrow,
        &mut |a| tx.take_bundle(a),
        &mut w.rng,
        tamper,
    )?;
    let id = tx.enqueue(&env, t)?;
    tx.commit()?;
    w.record(from, to, text, t, &env, id)?;
    Ok(id)
}

/// What became of message `id` when `account` read its queue.
fn outcome_of(w: &mut World, account: &str, id: i64, t: i64) -> Result<Outcome> {
    w.read(account, t)?
        .into_iter()
        .find(|(i, _)| *i == id)
        .map(|(_, o)| o)
        .context("the message was not in the recipient's queue")
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Delivered { text, .. } => format!("DELIVERED \"{text}\""),
        Outcome::Held => "held".into(),
        Outcome::Rejected { reason, .. } => format!("rejected: {reason}"),
    }
}

/// Row 7: alice starts a new chain to bob carrying the valid block of her previous chain.
pub(crate) fn copied_block(dir: &std::path::Path, seed: u64) -> Observed {
    let mut w = world(dir, seed ^ 7)?;
    let t = DAY0 + 9 * 3600;
    let first = talk(&mut w, "alice", "bob", "a valid chain", t)?;
    talk(
        &mut w,
        "bob",
        "alice",
        "reply: alice's next message starts a chain",
        t + 60,
    )?;
    let (_, block) = super::envelope_block(&w, first)?;
    let id = send_tampered(&mut w, "alice", "bob", "copied block", t + 120, &mut |_| {
        Some(block.clone())
    })?;
    let o = outcome_of(&mut w, "bob", id, t + 180)?;
    let ok = matches!(&o, Outcome::Rejected { reason, .. } if reason.contains("escrow"));
    Ok((
        blocked_if(ok),
        format!(
            "The block is genuine, but of another chain key: bob recomputes both wraps from the \
             chain key he derived and the message is {}.",
            describe(&o)
        ),
    ))
}

/// Row 8: alice starts a chain without an escrow block.
pub(crate) fn omitted_block(dir: &std::path::Path, seed: u64) -> Observed {
    let mut w = world(dir, seed ^ 8)?;
    let t = DAY0 + 9 * 3600;
    let id = send_tampered(&mut w, "alice", "bob", "no escrow here", t, &mut |_| None)?;
    let o = outcome_of(&mut w, "bob", id, t + 60)?;
    let ok = matches!(&o, Outcome::Rejected { reason, .. } if reason.contains("escrow block"));
    Ok((
        blocked_if(ok),
        format!(
            "alice's client leaves the block out; bob's client: {}.",
            describe(&o)
        ),
    ))
}

/// Row 9: alice and bob share a key out of band and encrypt inside the messenger.
pub(crate) fn super_encryption(dir: &std::path::Path, seed: u64) -> Observed {
    let mut w = world(dir, seed ^ 9)?;
    let mut inner_key = [0u8; 32];
    let mut nonce = [0u8; 12];
    w.rng.fill_bytes(&mut inner_key);
    w.rng.fill_bytes(&mut nonce);
    let secret = "meet at the docks at six";
    let sealed = messenger::ratchet::aead_seal(&inner_key, &nonce, b"inner", secret.as_bytes())?;
    let outer = format!("{}{}", hex::encode(nonce), hex::encode(sealed));
    let t = DAY0 + 9 * 3600;
    let id = w.send("alice", "bob", &outer, t)?.relay_id;
    let bob_read = match outcome_of(&mut w, "bob", id, t + 60)? {
        Outcome::Delivered { text, .. } => {
            let raw = hex::decode(&text)?;
            anyhow::ensure!(raw.len() > 12, "the message is too short");
            let (n, ct) = raw.split_at(12);
            let n: [u8; 12] = n.try_into()?;
            String::from_utf8(
                messenger::ratchet::aead_open(&inner_key, &n, b"inner", ct)?.to_vec(),
            )?
        }
        other => anyhow::bail!("bob did not get the message: {}", describe(&other)),
    };
    let report = serve_alice_day0(&mut w)?;
    let auditor_sees = report.decrypted.iter().any(|m| m.text == outer);
    let auditor_reads = report.decrypted.iter().any(|m| m.text.contains("docks"));
    let ok = bob_read == secret && auditor_sees && !auditor_reads;
    Ok((
        if ok {
            Verdict::Succeeds
        } else {
            Verdict::Blocked
        },
        format!(
            "With a warrant and three approvals the auditor opens the messenger layer and \
             finds {} hex characters of ciphertext; bob reads \"{bob_read}\". The escrow opens \
             the outer layer only — a limit no escrow design removes.",
            outer.len()
        ),
    ))
}

/// Row 16: alice's client omits the block and bob's client does not check (both modified).
pub(crate) fn both_endpoints_drop(dir: &std::path::Path, seed: u64) -> Observed {
    let mut w = world(dir, seed ^ 16)?;
    let t = DAY0 + 9 * 3600;
    let id = send_tampered(&mut w, "alice", "bob", "off the record", t, &mut |_| None)?;
    // bob's modified client: an escrow context that checks nothing.
    let mut lax = messenger::hazmat::escrow_disabled(w.params.clone());
    let tx = w.relay.transaction()?;
    let batch = tx.queued("bob")?;
    let bob = w.clients.get_mut("bob").context("bob")?;
    let outcomes = bob.receive(batch, t + 60, &mut lax, &mut |a| tx.identity(a), &mut w.rng);
    for (i, o) in &outcomes {
        tx.mark(*i, o)?;
    }
    tx.commit()?;
    let delivered = outcomes
        .iter()
        .any(|(i, o)| *i == id && matches!(o, Outcome::Delivered { .. }));
    let report = serve_alice_day0(&mut w)?;
    let flagged = report
        .non_compliant_envelopes
        .iter()
        .find(|n| n.relay_id == id)
        .map(|n| format!("{} (sender {})", n.reason, n.from));
    let ok = delivered && flagged.is_some() && report.decrypted.is_empty();
    Ok((
        detected_if(ok),
        format!(
            "The two modified clients talk ({}), but under a warrant the auditor reports the \
             envelope as escrow non-compliant: {} — evidence of the violation, not its content.",
            if delivered {
                "delivered"
            } else {
                "NOT delivered"
            },
            flagged.unwrap_or_else(|| "NOT FLAGGED".into())
        ),
    ))
}

/// Row 18: on alice's first contact with bob, the provider hands out a bundle of its own.
pub(crate) fn ghost(dir: &std::path::Path, seed: u64) -> Observed {
    let mut w = world(dir, seed ^ 18)?;
    let (mut ghost, reg) = Client::register("bob", &mut w.rng)?;
    let ghost_id = ghost.identity_public();
    let t = DAY0 + 9 * 3600;
    let text = "first message to bob";
    let alice = w.clients.get_mut("alice").context("alice")?;
    let env = alice.send(
        "bob",
        text.as_bytes(),
        t,
        &mut w.escrow,
        &mut |_| Ok(reg.bundle.clone()),
        &mut w.rng,
    )?;
    let alice_id = {
        let tx = w.relay.transaction()?;
        tx.identity("alice")?.context("alice is registered")?
    };
    let incoming = Incoming {
        relay_id: 1,
        server_time: t,
        body: String::from_utf8(env.to_json())?,
    };
    let outcomes = ghost.receive(
        vec![incoming],
        t + 60,
        &mut w.escrow,
        &mut |a| {
            Ok(if a == "alice" {
                Some(alice_id.clone())
            } else {
                Some(ghost_id.clone())
            })
        },
        &mut w.rng,
    );
    let read = outcomes
        .iter()
        .any(|(_, o)| matches!(o, Outcome::Delivered { text: x, .. } if x == text));
    Ok((
        if read {
            Verdict::Succeeds
        } else {
            Verdict::Blocked
        },
        format!(
            "alice's client, which had never seen bob's keys, accepts the provider's and the \
             provider reads \"{text}\" ({}) — no warrant, no approval, no log entry. Only users \
             comparing safety numbers or key transparency (not built here) catch it; the \
             escrow neither causes nor prevents it.",
            if read { "read" } else { "NOT read" }
        ),
    ))
}
