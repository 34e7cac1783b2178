//! What a capture proves under a warrant (docs/protocol.md §7.1): every envelope of the capture
//! is decrypted, withheld, sealed, or listed as non-compliant with its reason — never a text
//! that is not bound to its sender, never a text the recipient did not read, and never
//! silently sealed.
//!
//! The auditor applies the honest recipient's acceptance rules ([`messenger::ratchet`],
//! [`messenger::client`]) to what the provider captured, chain by chain, where a chain is
//! (sender, recipient, chain key):
//!
//! 1. **Attribution.** A chain start counts only if it is message 0 and its signature verifies
//!    under the sender's identity key from the capture's directory, in low-S form, over the
//!    session AD of the two parties ([`messenger::envelope`]). Other starts are *forged* and
//!    listed as such. Later messages are bound to the chain key that the signed escrow block
//!    fixes (the wraps are deterministic in it), and every ciphertext commits to its message
//!    key, so one envelope has one text.
//! 2. **One start per chain.** Starts with the same signed content are copies of one start (a
//!    replay); two signed starts with different content are *sender equivocation*, reported
//!    with both as evidence. The start the recipient accepted is the one the relay's record
//!    does not show as rejected; if the record does not single one out, nothing of the chain
//!    is shown.
//! 3. **Scope from the provider's time.** The chain's epoch is its block's, which must be the
//!    epoch of the start's relay time (or the one before, within the 300-second grace); the
//!    sender's claim alone never decides. A chain of an epoch outside the warrant, or of
//!    another generation, is sealed; a block that names the wrong generation for its epoch, or
//!    does not open, or whose two wraps disagree, makes the chain non-compliant. An epoch
//!    chain must step from a chain of an earlier epoch.
//! 4. **Messages.** Each message must be relayed within its chain's epoch (plus the grace),
//!    at most [`MAX_SKIP`] positions ahead of the chain as the recipient had it, once per
//!    position; it must open with its key commitment and AES-GCM, to UTF-8 text. The chain key
//!    is walked forward once per chain, never further than these bounds allow.
//! 5. **The recipient's record.** An envelope the relay records as rejected by the recipient's
//!    client is not shown as text, whatever the auditor's own checks say: the report shows what
//!    the recipient read, and lists the rest with the recipient's reason.
//! 6. **Timespan.** The day key is the cryptographic granularity; envelopes relayed outside
//!    the warrant's timespan are counted as *withheld* and never shown. This part is enforced
//!    by the auditor's software, not by the cryptography.
//!
//! What stays possible (docs/threat-model.md): whoever knows a chain key — the recipient, and
//! after a release the auditor and k authorities — can encrypt further messages under it; with
//! the provider's help (or by editing a capture) such a message is reported as the sender's.
//! The signed start proves that the sender started the chain and knows its key, not who wrote
//! each text.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use escrow::{Generations, PreparedIdentityKey, PreparedScope, PublicParams, ScopeIdentity};
use messenger::Envelope;
use messenger::envelope::ChainKind;
use messenger::escrow_block::{EPOCH_GRACE_SECS, EscrowBlock};
use messenger::keys::{public_bytes, public_hex};
use messenger::ratchet::{ChainWalker, MAX_SKIP, open};
use messenger::relay::{Capture, CapturedEnvelope};
use messenger::x3dh::{IdentityPublic, session_ad};
use rayon::prelude::*;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

/// Why a message is reported as its sender's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// `"signed-chain-start"`: the chain's start is signed by the sender's identity key, and
    /// the message opens under that chain's key, which the signed escrow block fixes.
    pub basis: &'static str,
    /// The relay id of the signed chain start.
    pub chain_start: i64,
    /// The account whose identity key signed it.
    pub signed_by: String,
    /// That identity signing key (compressed SEC1, hex), as the capture's directory gives it.
    pub identity_key: String,
    /// Who knew the chain key, so could have written this text: the sender and the
    /// recipient (and, after this release, the holders of the released key).
    pub chain_key_known_to: Vec<String>,
}

/// One decrypted message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decrypted {
    /// The relay's row id.
    pub relay_id: i64,
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// The relay's timestamp.
    pub sent_at: String,
    /// The text.
    pub text: String,
    /// The relay's delivery status: `delivered`, or `queued`/`held` (not read yet).
    pub delivery: String,
    /// Why it is reported as `from`'s.
    pub attribution: Attribution,
}

/// An envelope the warrant's keys do not open (outside its scope), or one relayed outside its
/// timespan (withheld): who, to whom, when — never what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sealed {
    /// The relay's row id.
    pub relay_id: i64,
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// The relay's timestamp.
    pub sent_at: String,
    /// Why it is not shown.
    pub reason: String,
}

/// An envelope in the warrant's scope that the escrow cannot account for, or that is not
/// bound to its sender, or that the recipient refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NonCompliant {
    /// The relay's row id.
    pub relay_id: i64,
    /// Sender named in the envelope.
    pub from: String,
    /// Recipient named in the envelope.
    pub to: String,
    /// The relay's timestamp.
    pub sent_at: String,
    /// Why.
    pub reason: String,
    /// Relay ids of the envelopes that show it (the conflicting starts of an equivocation,
    /// the envelope it copies).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<i64>,
}

/// Two or more signed starts of one chain: the sender said two different things.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Equivocation {
    /// The sender (whose identity key signed every start listed).
    pub from: String,
    /// The recipient.
    pub to: String,
    /// The chain key (hex).
    pub chain: String,
    /// Relay ids of the signed starts, one per distinct start.
    pub starts: Vec<i64>,
    /// The start the recipient accepted, when the relay's record singles one out.
    pub accepted: Option<i64>,
}

/// Everything the examination found, envelope by envelope.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    /// Messages shown.
    pub decrypted: Vec<Decrypted>,
    /// In a released epoch, relayed outside the warrant's timespan: counted, never shown.
    pub withheld: Vec<Sealed>,
    /// Outside the warrant's scope.
    pub sealed: Vec<Sealed>,
    /// In scope and not accounted for.
    pub non_compliant: Vec<NonCompliant>,
    /// Sender equivocations.
    pub equivocations: Vec<Equivocation>,
}

/// What the warrant releases, as the examination needs it.
pub struct Scope<'a> {
    /// Every generation of the lab (to check which generation an epoch belongs to).
    pub generations: &'a Generations,
    /// The warrant's generation.
    pub params: &'a PublicParams,
    /// The warrant's targets.
    pub targets: BTreeSet<String>,
    /// The warrant's epochs.
    pub epochs: RangeInclusive<u64>,
    /// The warrant's timespan `[start, end)`, Unix seconds.
    pub timespan: (i64, i64),
    /// One prepared identity key per scope identity (verified by pairing).
    pub keys: &'a BTreeMap<ScopeIdentity, PreparedIdentityKey>,
}

impl std::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Scope({} targets, epochs {:?}, ***)",
            self.targets.len(),
            self.epochs
        )
    }
}

impl Scope<'_> {
    fn epoch_of(&self, t: i64) -> u64 {
        u64::try_from(t.max(0)).unwrap_or(0) / self.params.epoch_length().max(1)
    }

    /// The epochs an honest recipient accepts for a chain carrying a message relayed at `t`.
    fn acceptable(&self, t: i64) -> [u64; 2] {
        [
            self.epoch_of(t),
            self.epoch_of(t.saturating_sub(EPOCH_GRACE_SECS)),
        ]
    }

    fn released(&self, e: u64) -> bool {
        self.epochs.contains(&e)
    }

    fn targets_either(&self, from: &str, to: &str) -> bool {
        self.targets.contains(from) || self.targets.contains(to)
    }

    fn in_timespan(&self, t: i64) -> bool {
        t >= self.timespan.0 && t < self.timespan.1
    }
}

/// One envelope of the capture, parsed.
struct Item<'c> {
    cap: &'c CapturedEnvelope,
    env: Result<Envelope, String>,
    time: Option<i64>,
    from: String,
    to: String,
}

impl Item<'_> {
    fn id(&self) -> i64 {
        self.cap.relay_id
    }

    /// Whether the recipient's client did not read it: it refused it, or holds it because
    /// it cannot process it (the relay's record).
    fn unread(&self) -> bool {
        self.cap.status == "rejected" || self.cap.status == "held"
    }

    /// Why the recipient did not read it, from the relay's record.
    fn unread_reason(&self) -> String {
        match (self.cap.status.as_str(), self.cap.note.as_deref()) {
            ("held", _) => format!(
                "not read: held by {}'s client, which cannot process it (no session or chain \
                 it belongs to)",
                self.to
            ),
            (_, Some(note)) => format!("refused by {}'s client: {note}", self.to),
            _ => format!("refused by {}'s client (no reason recorded)", self.to),
        }
    }

    fn body(&self) -> String {
        self.cap.envelope.to_string()
    }
}

/// (sender, recipient, chain key).
type ChainId = (String, String, [u8; 33]);

/// What an envelope turned out to be.
#[derive(Clone, Debug)]
enum Verdict {
    Open { text: String, start: i64 },
    Sealed(String),
    Bad { reason: String, evidence: Vec<i64> },
}

/// Most relay ids one envelope's verdict names as evidence (the report lists every start of an
/// equivocation once, in `equivocations`): a sender signing thousands of starts of one chain
/// must not make the report grow with their square.
const MAX_EVIDENCE: usize = 4;

fn bad(reason: impl Into<String>, mut evidence: Vec<i64>) -> Verdict {
    evidence.truncate(MAX_EVIDENCE);
    Verdict::Bad {
        reason: reason.into(),
        evidence,
    }
}

/// The start chosen for a chain (step 2), or why there is none.
enum Chosen<'c> {
    /// The copies of the one accepted start, in relay order.
    Start(Vec<&'c Item<'c>>),
    /// The chain as a whole is not accounted for.
    Fails(String, Vec<i64>),
}

/// The examination of one chain: a verdict per envelope, and its equivocation if any.
struct ChainReport {
    verdicts: Vec<(i64, Verdict)>,
    equivocation: Option<Equivocation>,
}

/// Examines `capture` under `scope` (module docs).
pub fn examine(scope: &Scope<'_>, capture: &Capture) -> Findings {
    let window: BTreeSet<i64> = capture.envelopes.iter().map(|e| e.relay_id).collect();
    // Each relay id once, the window's copy first.
    let mut seen = BTreeSet::new();
    let all: Vec<&CapturedEnvelope> = capture
        .envelopes
        .iter()
        .chain(&capture.chain_starts)
        .filter(|e| seen.insert(e.relay_id))
        .collect();
    let items: Vec<Item<'_>> = all.par_iter().map(|c| parse(c)).collect();
    let identities: BTreeMap<String, IdentityPublic> = capture
        .directory
        .par_iter()
        .filter_map(|(name, entry)| entry.identity(name).ok().map(|id| (name.clone(), id)))
        .collect();

    // Envelopes of the window that the keys might open, by the provider's time; the rest is
    // sealed without looking further.
    let mut verdicts: BTreeMap<i64, Verdict> = BTreeMap::new();
    let mut needed: BTreeSet<ChainId> = BTreeSet::new();
    for item in items.iter().filter(|i| window.contains(&i.id())) {
        // An envelope that does not parse names no parties we can trust; the export says it
        // involves the capture's account.
        let parties_known = item.env.is_ok();
        if !scope.targets_either(&item.from, &item.to)
            && (parties_known || !scope.targets.contains(&capture.account))
        {
            verdicts.insert(item.id(), Verdict::Sealed("no party is a target".into()));
            continue;
        }
        let Some(t) = item.time else {
            verdicts.insert(
                item.id(),
                bad("the capture's relay time is not RFC 3339", vec![]),
            );
            continue;
        };
        if !scope.acceptable(t).iter().any(|e| scope.released(*e)) {
            verdicts.insert(
                item.id(),
                Verdict::Sealed(format!(
                    "relayed in epoch {}, outside the warrant's epochs",
                    scope.epoch_of(t)
                )),
            );
            continue;
        }
        match &item.env {
            Err(e) => {
                verdicts.insert(
                    item.id(),
                    bad(format!("envelope does not parse: {e}"), vec![]),
                );
            }
            Ok(env) => {
                needed.insert(chain_id(env));
            }
        }
    }
    let mut by_chain: BTreeMap<ChainId, Vec<&Item<'_>>> = BTreeMap::new();
    for item in &items {
        if let Ok(env) = &item.env {
            by_chain.entry(chain_id(env)).or_default().push(item);
        }
    }
    for members in by_chain.values_mut() {
        members.sort_by_key(|i| i.id());
    }

    // Steps 1–2 for every chain needed, in parallel: attribution and one start.
    let chosen: Vec<(ChainId, ChainReport, Chosen<'_>)> = needed
        .into_par_iter()
        .map(|key| {
            let members = by_chain.get(&key).map(Vec::as_slice).unwrap_or_default();
            let (report, chosen) = choose_start(&key, members, &identities);
            (key, report, chosen)
        })
        .collect();
    // The other party's scope of every chain in scope, prepared once per identity (a target
    // talks to few peers a day), to check the second wrap of every block.
    let others: BTreeSet<ScopeIdentity> = chosen
        .iter()
        .filter_map(|(key, _, c)| match c {
            Chosen::Start(copies) => other_scope(scope, key, copies),
            Chosen::Fails(..) => None,
        })
        .collect();
    let prepared: BTreeMap<ScopeIdentity, PreparedScope> = others
        .into_par_iter()
        .filter_map(|id| PreparedScope::new(scope.params, &id).ok().map(|p| (id, p)))
        .collect();
    // Steps 3–5, in parallel.
    let reports: Vec<ChainReport> = chosen
        .into_par_iter()
        .map(|(key, mut report, c)| {
            let members = by_chain.get(&key).map(Vec::as_slice).unwrap_or_default();
            let chain = match c {
                Chosen::Fails(reason, evidence) => ChainOutcome::Fails(reason, evidence),
                Chosen::Start(copies) => {
                    escrow_check(scope, &key, &copies, &by_chain, &identities, &prepared)
                }
            };
            report.verdicts.extend(read_chain(
                scope,
                &key,
                members,
                &report.verdicts,
                chain,
                &identities,
            ));
            report
        })
        .collect();
    let mut findings = Findings::default();
    for r in reports {
        for (id, v) in r.verdicts {
            // A verdict of step 2 (forged, equivocating) stands; window envelopes only.
            if window.contains(&id) {
                verdicts.entry(id).or_insert(v);
            }
        }
        findings.equivocations.extend(r.equivocation);
    }
    let by_id: BTreeMap<i64, &Item<'_>> = items.iter().map(|i| (i.id(), i)).collect();
    for (id, verdict) in verdicts {
        let Some(item) = by_id.get(&id) else { continue };
        let sealed = |reason: String| Sealed {
            relay_id: id,
            from: item.from.clone(),
            to: item.to.clone(),
            sent_at: item.cap.server_time.clone(),
            reason,
        };
        let outside = item.time.is_some_and(|t| !scope.in_timespan(t));
        match verdict {
            Verdict::Sealed(reason) => findings.sealed.push(sealed(reason)),
            _ if outside => findings.withheld.push(sealed(
                "in a released epoch, relayed outside the warrant's timespan".into(),
            )),
            Verdict::Open { text, start } => findings.decrypted.push(Decrypted {
                relay_id: id,
                from: item.from.clone(),
                to: item.to.clone(),
                sent_at: item.cap.server_time.clone(),
                text,
                delivery: item.cap.status.clone(),
                attribution: Attribution {
                    basis: "signed-chain-start",
                    chain_start: start,
                    signed_by: item.from.clone(),
                    identity_key: identities
                        .get(&item.from)
                        .map(|i| public_hex(&i.sign))
                        .unwrap_or_default(),
                    chain_key_known_to: vec![item.from.clone(), item.to.clone()],
                },
            }),
            Verdict::Bad { reason, evidence } => findings.non_compliant.push(NonCompliant {
                relay_id: id,
                from: item.from.clone(),
                to: item.to.clone(),
                sent_at: item.cap.server_time.clone(),
                reason,
                evidence,
            }),
        }
    }
    findings
}

fn parse(cap: &CapturedEnvelope) -> Item<'_> {
    let env = Envelope::from_value(&cap.envelope).map_err(|e| e.to_string());
    let name = |f: &str| {
        cap.envelope[f]
            .as_str()
            .unwrap_or("?")
            .chars()
            .take(64)
            .collect::<String>()
    };
    let (from, to) = match &env {
        Ok(e) => (e.from.clone(), e.to.clone()),
        Err(_) => (name("from"), name("to")),
    };
    Item {
        time: OffsetDateTime::parse(&cap.server_time, &Rfc3339)
            .ok()
            .map(|t| t.unix_timestamp()),
        env,
        cap,
        from,
        to,
    }
}

fn chain_id(env: &Envelope) -> ChainId {
    (env.from.clone(), env.to.clone(), public_bytes(&env.chain))
}

fn ad_of(key: &ChainId, identities: &BTreeMap<String, IdentityPublic>) -> Option<Vec<u8>> {
    let (from, to, _) = key;
    Some(session_ad(
        from,
        identities.get(from)?,
        to,
        identities.get(to)?,
    ))
}

/// `#a, #b, …` for at most [`MAX_EVIDENCE`] items, then how many more.
fn ids(items: &[&Item<'_>]) -> String {
    let mut s = items
        .iter()
        .take(MAX_EVIDENCE)
        .map(|i| format!("#{}", i.id()))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > MAX_EVIDENCE {
        s.push_str(&format!(" and {} more", items.len() - MAX_EVIDENCE));
    }
    s
}

/// Steps 1–2: the signed starts of a chain, the forged ones, and the one start that counts.
fn choose_start<'c>(
    key: &ChainId,
    members: &[&'c Item<'c>],
    identities: &BTreeMap<String, IdentityPublic>,
) -> (ChainReport, Chosen<'c>) {
    let (from, to, chain) = key;
    let mut report = ChainReport {
        verdicts: Vec::new(),
        equivocation: None,
    };
    let starts: Vec<&Item<'_>> = members
        .iter()
        .copied()
        .filter(|i| i.env.as_ref().is_ok_and(|e| e.start.is_some()))
        .collect();
    let Some(ad) = ad_of(key, identities) else {
        let missing = if identities.contains_key(from) {
            to
        } else {
            from
        };
        return (
            report,
            Chosen::Fails(
                format!(
                    "the capture's directory has no valid identity of '{missing}': the chain \
                     cannot be attributed"
                ),
                vec![],
            ),
        );
    };
    let sign_key = identities.get(from).map(|i| i.sign);
    // Signed starts, grouped by what was signed (copies of one start differ at most in their
    // ciphertext or signature bytes), in relay order.
    let mut groups: Vec<(Vec<u8>, Vec<&Item<'_>>)> = Vec::new();
    let mut group_of: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    let mut forged = Vec::new();
    // A signature is checked once per (signed bytes, signature): copies of one start — a
    // provider can put thousands in a capture — cost a look-up, not an ECDSA verification.
    let mut checked: BTreeMap<(Vec<u8>, [u8; 64]), bool> = BTreeMap::new();
    for s in &starts {
        let Ok(env) = &s.env else { continue };
        let content = env.start_signed_bytes(&ad);
        let signed = env.n == 0
            && match (&content, &env.start, sign_key) {
                (Some(c), Some(start), Some(k)) => *checked
                    .entry((c.clone(), start.signature))
                    .or_insert_with(|| env.start_signed_by(&k, &ad)),
                _ => false,
            };
        match content.filter(|_| signed) {
            None => forged.push(*s),
            Some(content) => match group_of.get(&content) {
                Some(g) => groups[*g].1.push(*s),
                None => {
                    group_of.insert(content.clone(), groups.len());
                    groups.push((content, vec![*s]));
                }
            },
        }
    }
    for f in &forged {
        report.verdicts.push((
            f.id(),
            bad(
                format!("forged: a chain start not signed by {from}'s identity key"),
                vec![],
            ),
        ));
    }
    match groups.len() {
        0 => {
            let reason = if forged.is_empty() {
                "the first message of its chain is not in the capture".to_owned()
            } else {
                format!(
                    "its chain's only start ({}) is not signed by {from}'s identity key",
                    ids(&forged)
                )
            };
            (
                report,
                Chosen::Fails(reason, forged.iter().map(|f| f.id()).collect()),
            )
        }
        1 => {
            let copies = groups.swap_remove(0).1;
            (report, Chosen::Start(copies))
        }
        _ => {
            let firsts: Vec<&Item<'_>> = groups.iter().map(|(_, c)| c[0]).collect();
            let evidence: Vec<i64> = firsts.iter().map(|i| i.id()).collect();
            let live: Vec<usize> = (0..groups.len())
                .filter(|g| groups[*g].1.iter().any(|i| !i.unread()))
                .collect();
            let accepted = (live.len() == 1).then(|| groups[live[0]].1[0].id());
            report.equivocation = Some(Equivocation {
                from: from.clone(),
                to: to.clone(),
                chain: hex::encode(chain),
                starts: evidence.clone(),
                accepted,
            });
            let Some(accepted) = accepted else {
                return (
                    report,
                    Chosen::Fails(
                        format!(
                            "sender equivocation: {} signed starts of one chain ({}), and the \
                             relay's record does not show which one {to} accepted",
                            groups.len(),
                            ids(&firsts)
                        ),
                        evidence,
                    ),
                );
            };
            let keep = live[0];
            for (g, (_, copies)) in groups.iter().enumerate().filter(|(g, _)| *g != keep) {
                for c in copies {
                    report.verdicts.push((
                        c.id(),
                        bad(
                            format!(
                                "sender equivocation: another signed start of the chain that \
                                 {to} accepted (#{accepted}); {} of {}",
                                g + 1,
                                groups.len()
                            ),
                            vec![accepted, copies[0].id()],
                        ),
                    ));
                }
            }
            (report, Chosen::Start(groups.swap_remove(keep).1))
        }
    }
}

/// The block of a chain's start (every copy carries the same one).
fn block_of<'e>(copies: &[&'e Item<'e>]) -> Option<&'e EscrowBlock> {
    copies
        .first()
        .and_then(|i| i.env.as_ref().ok())
        .and_then(|e| e.start.as_ref())
        .and_then(|s| s.escrow.as_ref())
}

/// The copy whose relay time decides the chain's epoch: the first the recipient did not refuse.
fn timing<'c>(copies: &[&'c Item<'c>]) -> Option<&'c Item<'c>> {
    copies
        .iter()
        .find(|i| !i.unread())
        .or(copies.first())
        .copied()
}

/// The scope of a chain's other party, when one of its two scopes is in the warrant.
fn other_scope(scope: &Scope<'_>, key: &ChainId, copies: &[&Item<'_>]) -> Option<ScopeIdentity> {
    let block = block_of(copies)?;
    let (from, to, _) = key;
    if !scope.released(block.epoch) || block.generation != scope.params.generation() {
        return None;
    }
    let other = if scope.targets.contains(from) {
        to
    } else {
        from
    };
    scope.params.identity(other, block.epoch).ok()
}

/// What steps 3 found for a chain.
enum ChainOutcome {
    /// Its key and epoch, and the copies of its start.
    Open(Zeroizing<[u8; 32]>, u64, Vec<i64>),
    /// Out of scope, with the chain's epoch (its messages relayed in another epoch are then
    /// non-compliant, not sealed).
    Sealed(String, u64),
    /// Not accounted for.
    Fails(String, Vec<i64>),
}

/// Step 3: the chain's epoch from the provider's time, its generation, its escrow block.
fn escrow_check(
    scope: &Scope<'_>,
    key: &ChainId,
    copies: &[&Item<'_>],
    by_chain: &BTreeMap<ChainId, Vec<&Item<'_>>>,
    identities: &BTreeMap<String, IdentityPublic>,
    prepared: &BTreeMap<ScopeIdentity, PreparedScope>,
) -> ChainOutcome {
    let (from, to, _) = key;
    let first = timing(copies);
    let Some(t0) = first.and_then(|i| i.time) else {
        return ChainOutcome::Fails("its chain start has no valid relay time".into(), vec![]);
    };
    let start_id = first.map_or(0, |i| i.id());
    let acceptable = scope.acceptable(t0);
    let in_scope = acceptable.iter().any(|e| scope.released(*e));
    let out = |why: String| {
        if in_scope {
            ChainOutcome::Fails(why, vec![start_id])
        } else {
            ChainOutcome::Sealed(
                format!("its chain was started in epoch {}", acceptable[0]),
                acceptable[0],
            )
        }
    };
    let Some(block) = block_of(copies) else {
        return out(format!("its chain has no escrow block (start #{start_id})"));
    };
    if !acceptable.contains(&block.epoch) {
        return out(format!(
            "its chain start (#{start_id}) claims epoch {} but was relayed in epoch {}",
            block.epoch, acceptable[0]
        ));
    }
    let e = block.epoch;
    if !scope.released(e) {
        return ChainOutcome::Sealed(
            format!("its chain is of epoch {e}, outside the warrant's epochs"),
            e,
        );
    }
    match scope.generations.for_epoch(e) {
        None => {
            return ChainOutcome::Fails(
                format!("no escrow generation covers epoch {e}"),
                vec![start_id],
            );
        }
        Some(g) if g.generation() != block.generation => {
            return ChainOutcome::Fails(
                format!(
                    "its escrow block names generation {}; epoch {e} belongs to generation {}",
                    block.generation,
                    g.generation()
                ),
                vec![start_id],
            );
        }
        Some(g) if g.generation() != scope.params.generation() => {
            return ChainOutcome::Sealed(
                format!("its chain is of generation {}", g.generation()),
                e,
            );
        }
        Some(_) => {}
    }
    let (target, wrap, other, other_wrap) = if scope.targets.contains(from) {
        (from, &block.sender_wrap, to, &block.recipient_wrap)
    } else {
        (to, &block.recipient_wrap, from, &block.sender_wrap)
    };
    let identity_key = scope
        .params
        .identity(target, e)
        .ok()
        .and_then(|id| scope.keys.get(&id));
    let Some(identity_key) = identity_key else {
        return ChainOutcome::Fails("internal: no released key for its scope".into(), vec![]);
    };
    let Ok(ck0) = identity_key.unwrap(wrap) else {
        return ChainOutcome::Fails(
            format!("its escrow block (start #{start_id}) does not open"),
            vec![start_id],
        );
    };
    let agrees = match scope.params.identity(other, e) {
        Ok(id) => match prepared.get(&id) {
            Some(p) => p.verify(&ck0, other_wrap).is_ok(),
            None => escrow::verify_wrap(scope.params, &id, &ck0, other_wrap).is_ok(),
        },
        Err(_) => false,
    };
    if !agrees {
        return ChainOutcome::Fails(
            format!("its escrow block's two wraps disagree (start #{start_id})"),
            vec![start_id],
        );
    }
    // An epoch chain steps from a chain of an earlier epoch.
    let kind = copies[0].env.as_ref().ok().and_then(|e| e.start.as_ref());
    if let Some(s) = kind.filter(|s| s.kind == ChainKind::Epoch) {
        let Some((base, _)) = s.prev else {
            return ChainOutcome::Fails(
                "an epoch chain without a base chain".into(),
                vec![start_id],
            );
        };
        let base_key = (from.clone(), to.clone(), public_bytes(&base));
        match base_epoch(&base_key, by_chain, identities) {
            None => {
                return ChainOutcome::Fails(
                    format!(
                        "an epoch chain (start #{start_id}) whose base chain's signed start is \
                         not in the capture: the epoch step cannot be checked"
                    ),
                    vec![start_id],
                );
            }
            Some(b) if b >= e => {
                return ChainOutcome::Fails(
                    format!(
                        "an epoch chain of epoch {e} (start #{start_id}) steps from a chain of \
                         epoch {b}: the epoch did not change"
                    ),
                    vec![start_id],
                );
            }
            Some(_) => {}
        }
    }
    ChainOutcome::Open(ck0, e, copies.iter().map(|i| i.id()).collect())
}

/// The epoch of a chain's signed start, from the capture.
fn base_epoch(
    key: &ChainId,
    by_chain: &BTreeMap<ChainId, Vec<&Item<'_>>>,
    identities: &BTreeMap<String, IdentityPublic>,
) -> Option<u64> {
    let ad = ad_of(key, identities)?;
    let sign_key = identities.get(&key.0)?.sign;
    by_chain
        .get(key)?
        .iter()
        .filter_map(|i| i.env.as_ref().ok())
        .find(|e| e.start_signed_by(&sign_key, &ad))
        .and_then(|e| e.start.as_ref()?.escrow.as_ref().map(|b| b.epoch))
}

/// Steps 4–5: every message of the chain, as the recipient would have read it.
fn read_chain(
    scope: &Scope<'_>,
    key: &ChainId,
    members: &[&Item<'_>],
    decided: &[(i64, Verdict)],
    chain: ChainOutcome,
    identities: &BTreeMap<String, IdentityPublic>,
) -> Vec<(i64, Verdict)> {
    let decided: BTreeSet<i64> = decided.iter().map(|(id, _)| *id).collect();
    let rest = members.iter().filter(|i| !decided.contains(&i.id()));
    let (ck0, e, copies) = match chain {
        ChainOutcome::Fails(reason, mut evidence) => {
            evidence.truncate(MAX_EVIDENCE);
            return rest
                .map(|i| (i.id(), bad(reason.clone(), evidence.clone())))
                .collect();
        }
        ChainOutcome::Sealed(reason, e) => {
            return rest
                .map(|i| match i.time {
                    Some(t) if !scope.acceptable(t).contains(&e) => (i.id(), crosses(scope, e, t)),
                    _ => (i.id(), Verdict::Sealed(reason.clone())),
                })
                .collect();
        }
        ChainOutcome::Open(ck0, e, copies) => (ck0, e, copies),
    };
    let Some(ad) = ad_of(key, identities) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let wanted: BTreeSet<u32> = members
        .iter()
        .filter_map(|i| i.env.as_ref().ok().map(|e| e.n))
        .collect();
    let mut keys = Keys {
        walker: ChainWalker::new(&ck0),
        cache: BTreeMap::new(),
        wanted,
    };
    // The start: the first copy the recipient did not refuse that opens.
    let copies: BTreeSet<i64> = copies.into_iter().collect();
    let start_items: Vec<&Item<'_>> = members
        .iter()
        .copied()
        .filter(|i| copies.contains(&i.id()))
        .collect();
    let mk0 = keys.get(0, 1);
    let mut accepted: BTreeMap<u32, &Item<'_>> = BTreeMap::new();
    let opens = |i: &Item<'_>, mk: &[u8; 32]| {
        i.env
            .as_ref()
            .ok()
            .and_then(|env| open(mk, &ad, env).ok())
            .and_then(|pt| String::from_utf8(pt.to_vec()).ok())
    };
    let mut start = None;
    for i in &start_items {
        match (&mk0, start) {
            (Some(mk), None) if !i.unread() => {
                if let Some(text) = opens(i, mk) {
                    start = Some(i.id());
                    accepted.insert(0, i);
                    out.push((
                        i.id(),
                        Verdict::Open {
                            text,
                            start: i.id(),
                        },
                    ));
                }
            }
            _ => {}
        }
    }
    let Some(start) = start else {
        let reason = match start_items.iter().find(|i| i.unread()) {
            Some(r) => format!("its chain start (#{}): {}", r.id(), r.unread_reason()),
            None => format!(
                "its chain start ({}) does not open with the chain key its escrow block fixes",
                ids(&start_items)
            ),
        };
        let evidence = start_items
            .iter()
            .take(MAX_EVIDENCE)
            .map(|i| i.id())
            .collect::<Vec<_>>();
        return rest
            .map(|i| (i.id(), bad(reason.clone(), evidence.clone())))
            .collect();
    };
    let mut next: u32 = 1;
    for i in rest.filter(|i| i.id() != start) {
        let Ok(env) = &i.env else { continue };
        let verdict = match i.time {
            None => bad("the capture's relay time is not RFC 3339", vec![]),
            Some(t) if !scope.acceptable(t).contains(&e) => crosses(scope, e, t),
            Some(_) => {
                if let Some(prev) = accepted.get(&env.n) {
                    if prev.body() == i.body() {
                        bad(
                            format!("a copy of #{} (replayed)", prev.id()),
                            vec![prev.id()],
                        )
                    } else if keys.get(env.n, 0).is_some_and(|mk| opens(i, &mk).is_some()) {
                        bad(
                            format!(
                                "a second message {} of its chain: the sender used one message \
                                 key twice, or someone who knows the chain key (the recipient) \
                                 made it; {} read #{}",
                                env.n,
                                key.1,
                                prev.id()
                            ),
                            vec![prev.id()],
                        )
                    } else {
                        bad("does not open with its chain key", vec![])
                    }
                } else if env.n > next.saturating_add(MAX_SKIP) {
                    bad(
                        format!(
                            "message {} is more than {MAX_SKIP} positions ahead of its chain \
                             (the recipient's skip bound)",
                            env.n
                        ),
                        vec![],
                    )
                } else {
                    match keys.get(env.n, next.saturating_add(MAX_SKIP)) {
                        None => bad("does not open with its chain key", vec![]),
                        Some(mk) => match opens(i, &mk) {
                            None => bad(
                                "does not open with its chain key (or its text is not UTF-8)",
                                vec![],
                            ),
                            Some(_) if i.unread() => bad(i.unread_reason(), vec![]),
                            Some(text) => {
                                accepted.insert(env.n, i);
                                next = next.max(env.n.saturating_add(1));
                                Verdict::Open { text, start }
                            }
                        },
                    }
                }
            }
        };
        out.push((i.id(), verdict));
    }
    out
}

fn crosses(scope: &Scope<'_>, chain: u64, t: i64) -> Verdict {
    bad(
        format!(
            "a message of a chain of epoch {chain} relayed in epoch {}: it crosses the epoch",
            scope.epoch_of(t)
        ),
        vec![],
    )
}

/// The message keys of one chain: walked forward once, keeping only the keys of positions
/// that some envelope of the chain names.
struct Keys {
    walker: ChainWalker,
    cache: BTreeMap<u32, Zeroizing<[u8; 32]>>,
    wanted: BTreeSet<u32>,
}

impl Keys {
    /// The key of message `n`, walking at most up to position `limit` (`0`: cached keys only).
    fn get(&mut self, n: u32, limit: u32) -> Option<Zeroizing<[u8; 32]>> {
        if let Some(k) = self.cache.get(&n) {
            return Some(k.clone());
        }
        if n < self.walker.position() || n > limit {
            return None;
        }
        // Walk to n, keeping the keys of wanted positions passed on the way.
        while self.walker.position() < n {
            let at = self.walker.position();
            let k = self.walker.message_key(at, 1).ok()?;
            if self.wanted.contains(&at) {
                self.cache.insert(at, k);
            }
        }
        let k = self.walker.message_key(n, 1).ok()?;
        self.cache.insert(n, k.clone());
        Some(k)
    }
}
