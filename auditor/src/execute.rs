//! Warrant execution (design reference §6): the auditor decrypts a capture only with k valid
//! approvals, only for the warrant's scope, and records the execution in the log.
//!
//! 1. The warrant must be in the log (`warrant-logged` with its digest; the inclusion proof is
//!    built and checked).
//! 2. Every approval is checked: same digest, every share verified against its authority's
//!    public key share, and exactly one identity share per scope identity. Bad approvals are
//!    named with the reason and discarded; fewer than k distinct valid authorities → nothing is
//!    decrypted ("k of n approvals required, m valid").
//! 3. The warrant signature (proof of k-of-n approval) and one identity key per scope identity
//!    are combined and checked by pairing.
//! 4. For each chain of the capture, the escrow block of its first message is opened with the
//!    key of whichever of its two scopes is in the warrant; the other wrap is checked against
//!    the recovered chain key where present. A block that does not open, or whose wraps
//!    disagree, makes the chain's messages *escrow non-compliant*. Messages of chains outside the
//!    scope are counted, never opened.
//! 5. `warrant-executed` is appended to the log with the number of messages decrypted.

use std::collections::{BTreeMap, BTreeSet};

use escrow::approval::Approval;
use escrow::lab::Lab;
use escrow::release::{IdentityKey, combine_identity_key, combine_warrant_signature};
use escrow::transparency::proof::ProofBundle;
use escrow::transparency::{LogEntry, LogRecord};
use escrow::warrant::Warrant;
use escrow::{Error, KeyShare, PreparedIdentityKey, ScopeIdentity};
use messenger::Envelope;
use messenger::relay::Capture;
use messenger::x3dh::{IdentityPublic, session_ad};
use rayon::prelude::*;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One approval as judged by the auditor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApprovalVerdict {
    /// The authority it claims to come from.
    pub authority: String,
    /// Whether it was used.
    pub valid: bool,
    /// Why it was discarded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One decrypted message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decrypted {
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// The relay's timestamp.
    pub sent_at: String,
    /// The text.
    pub text: String,
}

/// A message in the capture that this warrant does not open (outside its scope).
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
}

/// An envelope the escrow could not account for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NonCompliant {
    /// The relay's row id.
    pub relay_id: i64,
    /// Sender.
    pub from: String,
    /// Why.
    pub reason: String,
}

/// The execution report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Format version, 1.
    pub version: u64,
    /// The warrant.
    pub warrant: WarrantRef,
    /// Every approval presented, with its verdict.
    pub approvals: Vec<ApprovalVerdict>,
    /// The log entries of the warrant and of this execution.
    pub log: LogRef,
    /// Messages decrypted (sent or received by a target in a scope epoch).
    pub decrypted: Vec<Decrypted>,
    /// Envelopes outside the warrant's scope (not opened).
    pub out_of_scope: usize,
    /// The envelopes outside the warrant's scope: who, to whom, when — never what.
    pub sealed: Vec<Sealed>,
    /// Envelopes whose chain's escrow block is missing, malformed or does not open.
    pub non_compliant: usize,
    /// The non-compliant envelopes, with reasons.
    pub non_compliant_envelopes: Vec<NonCompliant>,
}

/// Warrant reference and digest.
#[derive(Clone, Debug, Serialize)]
pub struct WarrantRef {
    /// Reference.
    pub reference: String,
    /// Digest, hex.
    pub digest: String,
}

/// Where the warrant and the execution are in the log.
#[derive(Clone, Debug, Serialize)]
pub struct LogRef {
    /// Index of `warrant-logged`.
    pub warrant_entry: u64,
    /// Index of `warrant-executed`.
    pub execution_entry: u64,
    /// The checkpoint (`size/root`) the warrant's inclusion was checked against.
    pub checkpoint: String,
}

fn judge(
    params: &escrow::PublicParams,
    approval: &Approval,
    digest: &[u8; 32],
    scope: &BTreeSet<ScopeIdentity>,
) -> Result<(), String> {
    if approval.digest != *digest {
        return Err("approval is for another warrant (digest differs)".into());
    }
    approval
        .warrant_share
        .verify(params)
        .map_err(|e| e.to_string())?;
    let mut seen = BTreeSet::new();
    for s in &approval.identity_shares {
        let escrow::release::Subject::Identity { identity } = s.subject() else {
            return Err("an identity share has the wrong subject".into());
        };
        if !scope.contains(identity) || !seen.insert(identity.clone()) {
            return Err(format!(
                "share for {identity}, which is not in the warrant's scope"
            ));
        }
        s.verify(params).map_err(|e| e.to_string())?;
    }
    if seen.len() != scope.len() {
        return Err("approval lacks shares for some scope identities".into());
    }
    Ok(())
}

/// Executes a warrant (module docs). `approvals` pairs each file's name with its bytes.
pub fn execute(
    lab: &Lab,
    warrant: &Warrant,
    approvals: &[(String, Vec<u8>)],
    capture: &Capture,
    now: OffsetDateTime,
) -> escrow::Result<Report> {
    let params = lab.load_generation(warrant.generation)?;
    let config = lab.load_log_config()?;
    let mut store = lab.open_log(&config)?;
    let digest = warrant.digest()?;
    let digest_hex = hex::encode(digest);
    let scope: BTreeSet<ScopeIdentity> = warrant.scope(&params)?.into_iter().collect();

    // 1. The warrant is logged.
    let warrant_entry = store
        .find(|e| matches!(e, LogEntry::WarrantLogged { digest: d, .. } if *d == digest_hex))?;
    let warrant_entry = warrant_entry.ok_or(escrow::WarrantError::Malformed {
        field: "warrant",
        reason: "is not in the transparency log",
    })?;
    let (_, cp) = ProofBundle::build(&store, warrant_entry)?.verify(&config)?;

    // 2. Judge every approval.
    let mut verdicts = Vec::new();
    let mut valid: BTreeMap<u32, Approval> = BTreeMap::new();
    for (name, bytes) in approvals {
        match Approval::from_json(bytes) {
            Err(e) => verdicts.push(ApprovalVerdict {
                authority: name.clone(),
                valid: false,
                reason: Some(e.to_string()),
            }),
            Ok(a) => {
                let verdict = judge(&params, &a, &digest, &scope);
                let index = a.warrant_share.index();
                let duplicate = valid.contains_key(&index);
                verdicts.push(ApprovalVerdict {
                    authority: a.authority.clone(),
                    valid: verdict.is_ok() && !duplicate,
                    reason: match (&verdict, duplicate) {
                        (Err(r), _) => Some(r.clone()),
                        (Ok(()), true) => Some("duplicate approval of this authority".into()),
                        _ => None,
                    },
                });
                if verdict.is_ok() && !duplicate {
                    valid.insert(index, a);
                }
            }
        }
    }
    if valid.len() < params.threshold() {
        // Say why when no number of approvals could suffice: the generation was retired.
        let retired = escrow::authority::retired_by(lab, &params, &config)?;
        let n = params.authorities().len();
        if n.saturating_sub(retired.len()) < params.threshold() {
            return Err(Error::Unrecoverable {
                generation: params.generation(),
                retired: retired.len(),
                authorities: n,
                remaining: n.saturating_sub(retired.len()),
                threshold: params.threshold(),
            });
        }
        return Err(escrow::WarrantError::NotEnoughApprovals {
            required: params.threshold(),
            authorities: params.authorities().len(),
            valid: valid.len(),
        }
        .into());
    }
    let chosen: Vec<&Approval> = valid.values().take(params.threshold()).collect();

    // 3. Combine: the warrant signature and one key per scope identity.
    let warrant_shares: Vec<KeyShare> = chosen.iter().map(|a| a.warrant_share.clone()).collect();
    combine_warrant_signature(&params, &digest, &warrant_shares)?.verify(&params)?;
    let mut keys: BTreeMap<ScopeIdentity, IdentityKey> = BTreeMap::new();
    for id in &scope {
        let shares: Vec<KeyShare> = chosen
            .iter()
            .filter_map(|a| {
                a.identity_shares.iter().find(|s| {
                    matches!(s.subject(), escrow::release::Subject::Identity { identity } if identity == id)
                })
            })
            .cloned()
            .collect();
        keys.insert(id.clone(), combine_identity_key(&params, id, &shares)?);
    }

    // 4. Open the chains in scope: every chain's key first (in parallel, with the identity
    //    keys' pairing lines prepared once), then every message (in parallel).
    let prepared: BTreeMap<ScopeIdentity, PreparedIdentityKey> = keys
        .iter()
        .map(|(id, k)| (id.clone(), PreparedIdentityKey::new(k)))
        .collect();
    // Parse every envelope once, in parallel (points are validated: the costly part).
    let parse = |e: &messenger::relay::CapturedEnvelope| Envelope::from_value(&e.envelope).ok();
    let envelopes: Vec<(&messenger::relay::CapturedEnvelope, Option<Envelope>)> = capture
        .envelopes
        .par_iter()
        .map(|e| (e, parse(e)))
        .collect();
    let earlier: Vec<Option<Envelope>> = capture.chain_starts.par_iter().map(parse).collect();
    let mut starts: BTreeMap<(String, String), &Envelope> = BTreeMap::new();
    for env in envelopes
        .iter()
        .filter_map(|(_, e)| e.as_ref())
        .chain(earlier.iter().flatten())
    {
        if env.start.is_some() {
            starts
                .entry((env.from.clone(), messenger::keys::public_hex(&env.chain)))
                .or_insert(env);
        }
    }
    let needed: BTreeSet<(String, String)> = envelopes
        .iter()
        .filter_map(|(_, env)| env.as_ref())
        .map(|env| (env.from.clone(), messenger::keys::public_hex(&env.chain)))
        .collect();
    // The other party's scope of each chain in scope, prepared once per identity (a target
    // talks to few peers a day), to check the second wrap of every block.
    let others: BTreeSet<ScopeIdentity> = needed
        .iter()
        .filter_map(|k| starts.get(k))
        .filter_map(|start| other_scope(&params, &prepared, start))
        .collect();
    let scopes: BTreeMap<ScopeIdentity, escrow::PreparedScope> = others
        .into_par_iter()
        .filter_map(|id| {
            escrow::PreparedScope::new(&params, &id)
                .ok()
                .map(|p| (id, p))
        })
        .collect();
    let chains: BTreeMap<(String, String), ChainKey> = needed
        .into_par_iter()
        .map(|key| {
            let ck = chain_key(&params, &prepared, &scopes, starts.get(&key).copied());
            (key, ck)
        })
        .collect();
    // Each party's directory entry is checked once (not once per message).
    let identities: BTreeMap<String, IdentityPublic> = capture
        .directory
        .par_iter()
        .filter_map(|(name, entry)| entry.identity(name).ok().map(|id| (name.clone(), id)))
        .collect();
    let outcomes: Vec<Outcome> = envelopes
        .par_iter()
        .map(|(e, env)| open_one(e, env.as_ref(), &chains, &identities))
        .collect();
    let mut report_decrypted = Vec::new();
    let mut sealed = Vec::new();
    let mut non_compliant = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Decrypted(d) => report_decrypted.push(d),
            Outcome::OutOfScope(s) => sealed.push(s),
            Outcome::NonCompliant(n) => non_compliant.push(n),
        }
    }

    // 5. Record the execution.
    let signer = lab.log_signer()?;
    let time = now
        .format(&Rfc3339)
        .map_err(|_| Error::Internal("RFC 3339 formatting"))?;
    let (execution_entry, _) = store.append(
        &LogRecord::new(LogEntry::WarrantExecuted {
            digest: digest_hex.clone(),
            messages_decrypted: report_decrypted.len() as u64,
            time,
        }),
        &signer,
    )?;
    Ok(Report {
        version: 1,
        warrant: WarrantRef {
            reference: warrant.reference.clone(),
            digest: digest_hex,
        },
        approvals: verdicts,
        log: LogRef {
            warrant_entry,
            execution_entry,
            checkpoint: cp.label(),
        },
        decrypted: report_decrypted,
        out_of_scope: sealed.len(),
        sealed,
        non_compliant: non_compliant.len(),
        non_compliant_envelopes: non_compliant,
    })
}

enum Outcome {
    Decrypted(Decrypted),
    OutOfScope(Sealed),
    NonCompliant(NonCompliant),
}

fn open_one(
    e: &messenger::relay::CapturedEnvelope,
    env: Option<&Envelope>,
    chains: &BTreeMap<(String, String), ChainKey>,
    identities: &BTreeMap<String, IdentityPublic>,
) -> Outcome {
    let Some(env) = env else {
        return Outcome::NonCompliant(NonCompliant {
            relay_id: e.relay_id,
            from: e.envelope["from"].as_str().unwrap_or("?").to_owned(),
            reason: "envelope does not parse".into(),
        });
    };
    let key = (env.from.clone(), messenger::keys::public_hex(&env.chain));
    let ck = match chains.get(&key) {
        Some(Ok(Some(ck))) => ck,
        Some(Ok(None)) => {
            return Outcome::OutOfScope(Sealed {
                relay_id: e.relay_id,
                from: env.from.clone(),
                to: env.to.clone(),
                sent_at: e.server_time.clone(),
            });
        }
        Some(Err(reason)) => {
            return Outcome::NonCompliant(NonCompliant {
                relay_id: e.relay_id,
                from: env.from.clone(),
                reason: reason.clone(),
            });
        }
        None => {
            return Outcome::NonCompliant(NonCompliant {
                relay_id: e.relay_id,
                from: env.from.clone(),
                reason: "internal: chain not examined".into(),
            });
        }
    };
    let ad = match (identities.get(&env.from), identities.get(&env.to)) {
        (Some(a), Some(b)) => Some(session_ad(&env.from, a, &env.to, b)),
        _ => None,
    };
    let opened = ad
        .ok_or_else(|| "the capture lacks valid directory entries of the parties".to_owned())
        .and_then(|ad| {
            messenger::ratchet::open_with_chain_key(ck, &ad, env)
                .map_err(|_| "the message does not open with its chain key".to_owned())
        })
        .and_then(|pt| String::from_utf8(pt.to_vec()).map_err(|_| "text is not UTF-8".to_owned()));
    match opened {
        Ok(text) => Outcome::Decrypted(Decrypted {
            from: env.from.clone(),
            to: env.to.clone(),
            sent_at: e.server_time.clone(),
            text,
        }),
        Err(reason) => Outcome::NonCompliant(NonCompliant {
            relay_id: e.relay_id,
            from: env.from.clone(),
            reason,
        }),
    }
}

/// A chain's key: `Ok(None)` out of scope, `Err(reason)` escrow non-compliant.
pub type ChainKey = Result<Option<zeroize::Zeroizing<[u8; 32]>>, String>;

/// The chain key of a chain from its start's escrow block: `Ok(None)` if neither of its two
/// scopes is in the warrant, `Err` if the block is missing or does not open consistently.
pub fn chain_key(
    params: &escrow::PublicParams,
    keys: &BTreeMap<ScopeIdentity, PreparedIdentityKey>,
    scopes: &BTreeMap<ScopeIdentity, escrow::PreparedScope>,
    start: Option<&Envelope>,
) -> ChainKey {
    let Some(start) = start else {
        return Err("the first message of its chain is not in the capture".into());
    };
    let Some(block) = start.start.as_ref().and_then(|s| s.escrow.as_ref()) else {
        return Err("its chain has no escrow block".into());
    };
    let sender = params
        .identity(&start.from, block.epoch)
        .map_err(|e| e.to_string())?;
    let recipient = params
        .identity(&start.to, block.epoch)
        .map_err(|e| e.to_string())?;
    let (ck, other) = match (keys.get(&sender), keys.get(&recipient)) {
        (Some(k), _) => (
            k.unwrap(&block.sender_wrap),
            (&recipient, &block.recipient_wrap),
        ),
        (None, Some(k)) => (
            k.unwrap(&block.recipient_wrap),
            (&sender, &block.sender_wrap),
        ),
        (None, None) => return Ok(None),
    };
    let ck = ck.map_err(|_| "its escrow block does not open".to_owned())?;
    let agrees = match scopes.get(other.0) {
        Some(scope) => scope.verify(&ck, other.1).is_ok(),
        None => escrow::verify_wrap(params, other.0, &ck, other.1).is_ok(),
    };
    if !agrees {
        return Err("its escrow block's two wraps disagree".into());
    }
    Ok(Some(ck))
}

/// The scope of a chain's other party, when one of its two scopes is in the warrant.
fn other_scope(
    params: &escrow::PublicParams,
    keys: &BTreeMap<ScopeIdentity, PreparedIdentityKey>,
    start: &Envelope,
) -> Option<ScopeIdentity> {
    let block = start.start.as_ref()?.escrow.as_ref()?;
    let sender = params.identity(&start.from, block.epoch).ok()?;
    let recipient = params.identity(&start.to, block.epoch).ok()?;
    if keys.contains_key(&sender) {
        Some(recipient)
    } else if keys.contains_key(&recipient) {
        Some(sender)
    } else {
        None
    }
}
