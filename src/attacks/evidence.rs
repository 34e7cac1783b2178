//! Attacks on the evidence the auditor reports (rows 22–29), each a finding of the outside
//! review of 2026-12 carried out for real: invented messages, decoy and re-opened chain
//! starts, one ratchet key toward two recipients, one ciphertext under two keys, a warrant
//! read wider than its timespan, and a capture of another lab.

use anyhow::{Context, Result, ensure};
use auditor::execute::Report;
use messenger::hazmat::{
    ReplayRng, decoy_start, fabricate_chain, identity_of, sending_chain_key, sending_chain_secret,
};
use messenger::keys::Identity;
use messenger::{Envelope, Outcome};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use super::{DAY0, Observed, blocked_if, detected_if, serve, serve_alice_day0, talk, world};
use crate::world::{DAY, World};

pub(crate) const CITE_FABRICATED: &str = "Outside review, 2026-12 (forged evidence from public \
     data); attribution by signature and its cost to deniability: Unger et al., 'SoK: Secure \
     Messaging' (IEEE S&P 2015); Grubbs, Lu, Ristenpart, 'Message Franking via Committing \
     AEAD' (CRYPTO 2017)";
pub(crate) const CITE_DECOY: &str = "Outside review, 2026-12 (one modified client hides or \
     swaps its messages); equivocation, as in split views of logs (RFC 6962)";
pub(crate) const CITE_REOPEN: &str = "Outside review, 2026-12 (a retired chain re-opened; an \
     epoch chain without an epoch change)";
pub(crate) const CITE_SALAMANDER: &str = "Dodis, Grubbs, Ristenpart, Woodage, 'Fast Message \
     Franking: From Invisible Salamanders to Encryptment' (CRYPTO 2018); Len, Grubbs, \
     Ristenpart, 'Partitioning Oracle Attacks' (USENIX Security 2021); outside review, 2026-12";
pub(crate) const CITE_SCOPE: &str = "Outside review, 2026-12 (scope wider than the warrant); \
     particularity of warrants (US Fourth Amendment), here in time";
pub(crate) const CITE_OTHER_LAB: &str = "Outside review, 2026-12 (found by a new user: a second \
     demo's auditor accused the first demo's users)";

/// 09:00 on day 0.
const NINE: i64 = DAY0 + 9 * 3_600;

/// Said by the rows that need two envelopes at one (sender, recipient, chain, n).
const KEEPS_BOTH: &str = " The relay here keeps two envelopes at one position, as its provider \
     may (messenger::hazmat::relay_keeps_duplicates): an honest relay refuses the second, and an \
     honest sender that finds its position taken moves to a new session.";

/// A world whose relay keeps a second envelope at a position it holds (see [`KEEPS_BOTH`]).
fn keeping_both(w: World) -> Result<World> {
    messenger::hazmat::relay_keeps_duplicates(&w.relay)?;
    Ok(w)
}

fn texts(r: &Report) -> Vec<&str> {
    r.decrypted.iter().map(|m| m.text.as_str()).collect()
}

fn reason_of(r: &Report, id: i64) -> Option<&str> {
    r.non_compliant_envelopes
        .iter()
        .find(|n| n.relay_id == id)
        .map(|n| n.reason.as_str())
}

fn outcome(out: &[(i64, Outcome)], id: i64) -> String {
    match out.iter().find(|(i, _)| *i == id) {
        Some((_, Outcome::Delivered { text, .. })) => format!("read \"{text}\""),
        Some((_, Outcome::Held)) => "held".into(),
        Some((_, Outcome::Rejected { reason, .. })) => format!("refused ({reason})"),
        None => "not seen".into(),
    }
}

/// alice and bob have talked, so alice's next chain to bob is pending (the chain key she
/// will use is known to her).
fn talking(dir: &std::path::Path, seed: u64) -> Result<World> {
    let mut w = world(dir, seed)?;
    talk(&mut w, "alice", "bob", "hello bob", NINE)?;
    talk(&mut w, "bob", "alice", "hello alice", NINE + 60)?;
    Ok(w)
}

/// Row 22: an outsider builds a complete chain "from alice to bob" out of public data (the
/// directory, the escrow parameters) and hands it to the relay; alice's own modified client
/// does the same with her key, on a chain bob's ratchet never derived.
pub(crate) fn fabricated(dir: &std::path::Path, seed: u64) -> Observed {
    let mut w = talking(dir, seed ^ 22)?;
    let (a, b) = (
        w.clients["alice"].identity_public(),
        w.clients["bob"].identity_public(),
    );
    let outsider = Identity::generate(&mut w.rng);
    let forged = fabricate_chain(
        "alice",
        &a,
        "bob",
        &b,
        &outsider,
        b"I confess",
        NINE + 600,
        &mut w.escrow,
        &mut w.rng,
    )?;
    let forged_id = w.push(&forged, NINE + 600)?;
    let own = identity_of(&w.clients["alice"]);
    let unread = fabricate_chain(
        "alice",
        &a,
        "bob",
        &b,
        &own,
        b"never shown to bob",
        NINE + 660,
        &mut w.escrow,
        &mut w.rng,
    )?;
    let unread_id = w.push(&unread, NINE + 660)?;
    let out = w.read("bob", NINE + 700)?;
    let report = serve_alice_day0(&mut w)?;
    let shown = texts(&report);
    let forged_reason = reason_of(&report, forged_id).unwrap_or("NOT LISTED");
    let unread_reason = reason_of(&report, unread_id).unwrap_or("NOT LISTED");
    let ok = !shown.contains(&"I confess")
        && !shown.contains(&"never shown to bob")
        && shown.contains(&"hello bob")
        && forged_reason.starts_with("forged")
        && unread_reason.contains("refused by bob's client");
    Ok((
        blocked_if(ok),
        format!(
            "An outsider's chain \"from alice\" (fresh chain key, both wraps, the body under the \
             session AD, a start signed by its own key): bob {}; the auditor lists it as \"{}\". \
             alice's own chain that bob's ratchet never derived: bob {}; listed as \"{}\". \
             Decrypted: {} message(s), each with its signed start as attribution basis.",
            outcome(&out, forged_id),
            forged_reason,
            outcome(&out, unread_id),
            unread_reason,
            report.decrypted.len()
        ),
    ))
}

/// alice's modified client posts a decoy start of her pending chain to bob, under a chain key
/// of her choosing (returned) and for `claim` (another epoch) or the real one, at time `t`.
fn post_decoy(w: &mut World, text: &[u8], t: i64, claim: Option<u64>) -> Result<(i64, [u8; 32])> {
    let mut chosen = [0u8; 32];
    w.rng.fill_bytes(&mut chosen);
    let env = decoy_start(
        &w.clients["alice"],
        "bob",
        text,
        t,
        &mut w.escrow,
        &chosen,
        claim,
    )?;
    Ok((w.push(&env, t)?, chosen))
}

/// Rows 23 and 24: alice's modified client posts a signed decoy start on the chain key she
/// will use next, before the real one — claiming another epoch (23), or carrying valid wraps
/// of a key of her choosing and a text Y (24).
pub(crate) fn decoy(dir: &std::path::Path, seed: u64, other_epoch: bool) -> Observed {
    let mut w = keeping_both(talking(dir, seed ^ if other_epoch { 23 } else { 24 })?)?;
    let t = NINE + 600;
    let day = (DAY0 / DAY) as u64;
    let claim = other_epoch.then_some(day - 5);
    let (decoy_id, _) = post_decoy(&mut w, b"Y: the decoy text", t, claim)?;
    let real = w.send("alice", "bob", "X: the real text", t + 30)?.relay_id;
    let next = w.send("alice", "bob", "X: and more", t + 60)?.relay_id;
    let out = w.read("bob", t + 90)?;
    let report = serve_alice_day0(&mut w)?;
    let shown = texts(&report);
    let equivocation = report
        .equivocations
        .iter()
        .find(|q| q.from == "alice" && q.starts.contains(&decoy_id));
    let ok = shown.contains(&"X: the real text")
        && shown.contains(&"X: and more")
        && !shown.contains(&"Y: the decoy text")
        && equivocation.is_some_and(|q| q.accepted == Some(real))
        && reason_of(&report, decoy_id).is_some_and(|r| r.starts_with("sender equivocation"));
    let what = if other_epoch {
        format!("claiming epoch {}", day - 5)
    } else {
        "with valid wraps of a key of her choosing and the text Y".to_owned()
    };
    Ok((
        detected_if(ok),
        format!(
            "alice's client posts a signed decoy start on her next chain key, {what}, then the \
             real one (X). bob: decoy {}, real {}, next {}. The auditor keys chains by (sender, \
             recipient, chain), takes the start bob did not refuse, and reports sender \
             equivocation with both starts (#{decoy_id}, #{real}) as evidence; it shows bob's \
             texts ({}), not Y, and {} non-compliant.{KEEPS_BOTH}",
            outcome(&out, decoy_id),
            outcome(&out, real),
            outcome(&out, next),
            shown.len(),
            report.non_compliant
        ),
    ))
}

/// Row 25: alice re-uses one ratchet key toward bob and carol (drawn from rigged randomness
/// when she reads carol's first message); both recipients accept their chain.
pub(crate) fn colliding(dir: &std::path::Path, seed: u64) -> Observed {
    let mut w = talking(dir, seed ^ 25)?;
    let key = sending_chain_secret(&w.clients["alice"], "bob").context("alice's pending chain")?;
    w.send("carol", "alice", "hi alice, carol here", NINE + 300)?;
    let mut rigged = ReplayRng::new(key, ChaCha20Rng::seed_from_u64(seed));
    w.read_with("alice", NINE + 330, &mut rigged)?;
    let to_bob = sending_chain_key(&w.clients["alice"], "bob").context("chain to bob")?;
    let to_carol = sending_chain_key(&w.clients["alice"], "carol").context("chain to carol")?;
    ensure!(to_bob.0 == to_carol.0, "the ratchet key was not re-used");
    let b = talk(
        &mut w,
        "alice",
        "bob",
        "to bob, on the shared key",
        NINE + 600,
    )?;
    let c = talk(
        &mut w,
        "alice",
        "carol",
        "to carol, on the shared key",
        NINE + 660,
    )?;
    let report = serve_alice_day0(&mut w)?;
    let shown = texts(&report);
    let ok = shown.contains(&"to bob, on the shared key")
        && shown.contains(&"to carol, on the shared key")
        && report.non_compliant == 0;
    Ok((
        blocked_if(ok),
        format!(
            "alice's chains to bob (#{b}) and to carol (#{c}) share one ratchet key, and both \
             recipients accept theirs. Keyed by (sender, recipient, chain), the auditor opens \
             both conversations ({} messages decrypted, {} non-compliant); keyed by (sender, \
             chain), one of them stayed unread.",
            shown.len(),
            report.non_compliant
        ),
    ))
}

/// Row 26: alice re-opens her first chain (its key drawn again from rigged randomness) after
/// bob retired it; and starts an epoch chain without an epoch change.
pub(crate) fn reopened(dir: &std::path::Path, seed: u64) -> Observed {
    let mut w = keeping_both(world(dir, seed ^ 26)?)?;
    let first = w.send("alice", "bob", "one", NINE)?.relay_id;
    let key = sending_chain_secret(&w.clients["alice"], "bob").context("alice's first chain")?;
    w.read("bob", NINE + 10)?;
    // Every client's time moves forward (a send or read never before its own last one).
    talk(&mut w, "bob", "alice", "two", NINE + 20)?;
    talk(&mut w, "alice", "bob", "three", NINE + 60)?;
    w.send("bob", "alice", "four", NINE + 100)?;
    let mut rigged = ReplayRng::new(key, ChaCha20Rng::seed_from_u64(seed));
    w.read_with("alice", NINE + 110, &mut rigged)?;
    let again = w.send("alice", "bob", "re-opened", NINE + 120)?.relay_id;
    let out = w.read("bob", NINE + 130)?;
    // An epoch chain in the same epoch.
    messenger::hazmat::pretend_epoch_ended(w.clients.get_mut("bob").context("bob")?, "alice")?;
    let at_will = w
        .send("bob", "alice", "a chain at will", NINE + 140)?
        .relay_id;
    let out2 = w.read("alice", NINE + 150)?;
    let report = serve_alice_day0(&mut w)?;
    let shown = texts(&report);
    let equivocation = report
        .equivocations
        .iter()
        .find(|q| q.starts.contains(&first) && q.starts.contains(&again));
    let at_will_reason = reason_of(&report, at_will).unwrap_or("NOT LISTED");
    let ok = shown.contains(&"one")
        && !shown.contains(&"re-opened")
        && !shown.contains(&"a chain at will")
        && equivocation.is_some_and(|q| q.accepted == Some(first))
        && out
            .iter()
            .any(|(i, o)| *i == again && matches!(o, Outcome::Rejected { .. }))
        && at_will_reason.contains("epoch did not change");
    Ok((
        detected_if(ok),
        format!(
            "alice re-opens her first chain (#{first}) with a new key and a correct escrow \
             block after bob retired it: bob {} — he remembers every chain he accepted; the \
             auditor reports sender equivocation (starts #{first}, #{again}) and shows the \
             text bob read. bob's epoch chain without an epoch change: alice {}; the auditor: \
             \"{at_will_reason}\".{KEEPS_BOTH}",
            outcome(&out, again),
            outcome(&out2, at_will),
        ),
    ))
}

/// Row 27: one envelope, two texts. alice's modified client posts a decoy start of a chain
/// key B, then the real start (key A), then a message whose AES-GCM ciphertext authenticates
/// under both chains' message keys.
pub(crate) fn salamander(dir: &std::path::Path, seed: u64) -> Observed {
    let mut w = keeping_both(talking(dir, seed ^ 27)?)?;
    let t = NINE + 600;
    let (chain, ck_a, n) = sending_chain_key(&w.clients["alice"], "bob").context("pending")?;
    ensure!(n == 0, "alice's chain has started");
    let (decoy_id, ck_b) = post_decoy(&mut w, b"B: start", t, None)?;
    let start = w.send("alice", "bob", "A: start", t + 10)?.relay_id;
    // Message 1 of the chain under both keys.
    let mk = |ck0: &[u8; 32]| {
        let (_, ck1) = messenger::kdf::kdf_ck(ck0);
        messenger::kdf::kdf_ck(&ck1).0
    };
    let (mk_a, mk_b) = (mk(&ck_a), mk(&ck_b));
    let mut env = Envelope {
        from: "alice".into(),
        to: "bob".into(),
        chain,
        n: 1,
        start: None,
        ciphertext: Vec::new(),
    };
    let (a, b) = (
        w.clients["alice"].identity_public(),
        w.clients["bob"].identity_public(),
    );
    let ad = messenger::x3dh::session_ad("alice", &a, "bob", &b);
    let mut aad = ad.clone();
    env.write_header(&mut aad);
    let (key_a, nonce_a) = messenger::kdf::message_keys(&mk_a);
    let (key_b, nonce_b) = messenger::kdf::message_keys(&mk_b);
    let body = super::salamander::collide(
        &key_a,
        &nonce_a,
        &key_b,
        &nonce_b,
        &aad,
        b"A: pay 100 to Eve ",
        46,
    )?;
    let under_a = messenger::ratchet::aead_open(&key_a, &nonce_a, &aad, &body)?;
    let under_b = messenger::ratchet::aead_open(&key_b, &nonce_b, &aad, &body)?;
    env.ciphertext = messenger::kdf::key_commitment(&mk_a).to_vec();
    env.ciphertext.extend_from_slice(&body);
    let both = w.push(&env, t + 20)?;
    let out = w.read("bob", t + 30)?;
    let bob_read = match out.iter().find(|(i, _)| *i == both) {
        Some((_, Outcome::Delivered { text, .. })) => text.clone(),
        _ => String::new(),
    };
    // The same ciphertext under key B's commitment: nobody opens it.
    let committed_b = messenger::ratchet::open(&mk_b, &ad, &env).is_ok();
    let report = serve_alice_day0(&mut w)?;
    let auditor_read = report
        .decrypted
        .iter()
        .find(|m| m.relay_id == both)
        .map(|m| m.text.clone());
    let ok = under_a.as_slice() != under_b.as_slice()
        && !bob_read.is_empty()
        && auditor_read.as_deref() == Some(bob_read.as_str())
        && !committed_b
        && report
            .equivocations
            .iter()
            .any(|q| q.starts.contains(&decoy_id) && q.accepted == Some(start));
    Ok((
        blocked_if(ok),
        format!(
            "One AES-GCM ciphertext of {} bytes authenticates under both chains' message keys \
             (the tag equation solved over GF(2^128)): under A it reads {:?}, under B {} other \
             bytes. With the key commitment in front, it opens under A only: bob read {:?}, \
             the auditor reports the same text for #{both} and the decoy start #{decoy_id} as \
             sender equivocation.{KEEPS_BOTH}",
            body.len(),
            String::from_utf8_lossy(&under_a[..18]),
            under_b.len(),
            bob_read.get(..18).unwrap_or(""),
        ),
    ))
}

/// Row 28: the day key is the cryptographic granularity; the warrant's timespan is enforced
/// by the auditor's software. A 31-day noon-to-noon warrant covers 32 day keys; a 90-second
/// warrant must show 90 seconds.
pub(crate) fn wider_scope(dir: &std::path::Path, seed: u64) -> Observed {
    let mut w = world(dir, seed ^ 28)?;
    let ids: Vec<i64> = [("before", 0), ("inside", 60), ("after", 300)]
        .iter()
        .map(|(text, dt)| talk(&mut w, "alice", "bob", text, NINE + dt))
        .collect::<Result<_>>()?;
    let now = DAY0 + 40 * DAY;
    // 2026-10… : 31 days from noon to noon.
    let long = w.warrant(
        "W-28a",
        &["alice"],
        DAY0 + 12 * 3_600,
        DAY0 + 31 * DAY + 12 * 3_600,
        now + DAY,
    )?;
    // The auditor's drafting checks refuse it before it is logged; were it logged anyway (a
    // rogue auditor), court's policy check would refuse it the same way.
    let refused = match w.submit(&long, now) {
        Err(e) => format!("refused at submission ({e})"),
        Ok(receipt) => super::refusal(&w.approve("court", &long, &receipt, now + 30), "APPROVED"),
    };
    let report = serve(
        &mut w,
        "W-28b",
        &["alice"],
        NINE + 30,
        NINE + 120,
        "alice",
        DAY0 + 2 * DAY,
    )?;
    let shown = texts(&report);
    let ok = refused.contains("32 epochs")
        && shown == ["inside"]
        && report.withheld == 2
        && report
            .withheld_envelopes
            .iter()
            .all(|m| m.relay_id != ids[1]);
    Ok((
        blocked_if(ok),
        format!(
            "A 31-day warrant from noon to noon: {refused}. A 90-second warrant \
             (09:00:30–09:02:00): the day key opens all three of alice's messages of that day; \
             the auditor shows {:?} and counts {} as withheld (outside the timespan) — the \
             software's rule, stated in the report and the docs, not the cryptography's.",
            shown, report.withheld
        ),
    ))
}

/// Row 29: two labs built alike (as two runs of the demo are); the first lab's capture is
/// given to the second lab's auditor.
pub(crate) fn other_lab(dir: &std::path::Path, seed: u64) -> Observed {
    let mut first = world(&dir.join("first"), seed ^ 29)?;
    let mut second = world(&dir.join("second"), seed ^ 29 ^ 1)?;
    for w in [&mut first, &mut second] {
        talk(w, "alice", "bob", "hello", NINE)?;
    }
    let now = DAY0 + 2 * DAY;
    let capture = first.capture("alice", DAY0, now, now)?;
    let warrant = second.warrant("W-29", &["alice"], DAY0, DAY0 + DAY, now + DAY)?;
    let receipt = second.submit(&warrant, now)?;
    let approvals = ["court", "ministry", "oversight"]
        .iter()
        .map(|a| second.approve(a, &warrant, &receipt, now + 60))
        .collect::<Result<Vec<_>>>()?;
    let size = |w: &World| -> Result<u64> {
        let config = w.lab.load_log_config()?;
        Ok(w.lab.open_log_read_only(&config)?.size()?)
    };
    let before = size(&second)?;
    let result = second.execute(
        &warrant,
        &approvals.iter().collect::<Vec<_>>(),
        &capture,
        now + 120,
    );
    let refused = super::refusal(&result, "EXECUTED");
    let ok = result.is_err()
        && refused.contains("not by this lab's relay")
        && refused.ends_with("a capture of another lab")
        && size(&second)? == before;
    Ok((
        blocked_if(ok),
        format!(
            "The second lab's auditor, with a logged warrant and three approvals, is given the \
             first lab's capture of alice: refused, the capture names another relay (each \
             relay database has a random id) — \"a capture of another lab\". Nothing is \
             decrypted and nothing logged (the second log still has {before} entries). The \
             realm and each generation's master key are checked too, so a lab whose relay is \
             in memory is covered as well."
        ),
    ))
}

pub(crate) const CITE_DIRECTORY: &str = "Outside review of this issue's fix, 2026-12 (the \
     provider swaps a key in its directory); key transparency: Melara et al., 'CONIKS' (USENIX \
     Security 2015); the 'ghost' of Levy & Robinson (2018) turned toward the auditor";
pub(crate) const CITE_RECIPIENT: &str = "Outside review, 2026-12 (a recipient writes under \
     the sender's chain key); deniability of symmetric authentication: Unger et al., 'SoK: \
     Secure Messaging' (IEEE S&P 2015)";

/// Row 30: the provider publishes a key of its own as alice's and signs a chain "from alice".
pub(crate) fn directory_swap(dir: &std::path::Path, seed: u64) -> Observed {
    let mut w = talking(dir, seed ^ 30)?;
    let real = w.clients["alice"].identity_public();
    let provider = Identity::generate(&mut w.rng);
    let fake = messenger::x3dh::IdentityPublic::of("alice", &provider);
    messenger::hazmat::substitute_directory_entry(&w.relay, "alice", &fake)?;
    let b = w.clients["bob"].identity_public();
    let env = fabricate_chain(
        "alice",
        &fake,
        "bob",
        &b,
        &provider,
        b"I ordered it.",
        NINE + 600,
        &mut w.escrow,
        &mut w.rng,
    )?;
    let id = w.push(&env, NINE + 600)?;
    let report = serve_alice_day0(&mut w)?;
    let shown = report.decrypted.iter().find(|m| m.relay_id == id);
    let key = shown.map(|m| m.attribution.identity_key.clone());
    let real_hex = messenger::keys::public_hex(&real.sign);
    let disowned = report
        .non_compliant_envelopes
        .iter()
        .filter(|n| n.from == "alice" && n.reason.starts_with("forged"))
        .count();
    let succeeded = shown.is_some() && key.as_deref() != Some(real_hex.as_str()) && disowned > 0;
    Ok((
        blocked_if(!succeeded),
        format!(
            "The provider publishes a key of its own as alice's and signs a chain \"from \
             alice\": the auditor shows \"I ordered it.\" as alice's ({}), under identity key \
             {}… — not the {}… alice registered — and lists alice's {disowned} real \
             message(s) as forged. The report names the key of every attribution, so the swap \
             shows, but nothing in the lab anchors identity keys: verified safety numbers or \
             key transparency (not built) would.",
            if shown.is_some() {
                "decrypted"
            } else {
                "NOT shown"
            },
            key.as_deref().map_or("-", |k| &k[..16]),
            &real_hex[..16],
        ),
    ))
}

/// Row 31: bob, who knows alice's chain key, writes "her" next message himself and hands it to
/// the relay (which does not authenticate senders).
pub(crate) fn recipient_writes(dir: &std::path::Path, seed: u64) -> Observed {
    let mut w = keeping_both(world(dir, seed ^ 31)?)?;
    let first = talk(&mut w, "alice", "bob", "Lunch tomorrow?", NINE)?;
    let env0 = w.envelope_at(first)?;
    let (ck, n) = messenger::hazmat::receiving_chain_key(&w.clients["bob"], "alice", &env0.chain)
        .context("bob's receiving chain")?;
    let (mk, _) = messenger::kdf::kdf_ck(&ck);
    let mut env = Envelope {
        from: "alice".into(),
        to: "bob".into(),
        chain: env0.chain,
        n,
        start: None,
        ciphertext: Vec::new(),
    };
    let (a, b) = (
        w.clients["alice"].identity_public(),
        w.clients["bob"].identity_public(),
    );
    let ad = messenger::x3dh::session_ad("alice", &a, "bob", &b);
    env.ciphertext = messenger::ratchet::seal(&mk, &ad, &env, b"I will pay you to keep quiet.")?;
    let id = w.push(&env, NINE + 600)?;
    w.read("bob", NINE + 610)?;
    let real = talk(&mut w, "alice", "bob", "See you at noon.", NINE + 900)?;
    let report = serve_alice_day0(&mut w)?;
    let shown = report.decrypted.iter().any(|m| m.relay_id == id);
    let real_reason = reason_of(&report, real).unwrap_or("NOT LISTED").to_owned();
    let succeeded = shown && real_reason.contains("someone who knows the chain key");
    Ok((
        blocked_if(!succeeded),
        format!(
            "bob writes message {n} of alice's chain under the chain key he derived and hands \
             it to the relay: the auditor shows it as alice's (its chain start is hers), and \
             lists alice's real message {n} as \"{real_reason}\". The signature binds the chain, \
             not each text: whoever knows a chain key — the recipient, and after a release the \
             auditor and k authorities — can write in it. Signing every message would close \
             this, at one signature per message and more deniability given up.{KEEPS_BOTH}"
        ),
    ))
}
