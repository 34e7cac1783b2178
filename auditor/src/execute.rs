//! Warrant execution (docs/protocol.md §6–7): the auditor decrypts a capture only with k valid
//! approvals, only for the warrant's scope, and records the execution in the log.
//!
//! 1. The capture must come from this lab: its realm, its relay (by the relay database's id)
//!    and the warrant's generation with this lab's master key — else nothing is examined and
//!    nothing logged.
//! 2. The warrant must be in the log (`warrant-logged` with its digest; the inclusion proof is
//!    built and checked).
//! 3. Every approval is checked: same digest, every share verified against its authority's
//!    public key share, and exactly one identity share per scope identity. Bad approvals are
//!    named with the reason and discarded; fewer than k distinct valid authorities → nothing is
//!    decrypted ("k of n approvals required, m valid"), and every discarded approval is named.
//! 4. The warrant signature (proof of k-of-n approval) and one identity key per scope identity
//!    are combined and checked by pairing.
//! 5. The capture is examined envelope by envelope under the recipient's rules
//!    ([`crate::evidence`]): decrypted (with its attribution), withheld (outside the
//!    timespan), sealed (outside the scope), or non-compliant (with its reason), and sender
//!    equivocations with their evidence.
//! 6. `warrant-executed` is appended to the log with the number of messages decrypted.

use std::collections::{BTreeMap, BTreeSet};

use escrow::approval::Approval;
use escrow::lab::Lab;
use escrow::release::{IdentityKey, combine_identity_key, combine_warrant_signature};
use escrow::transparency::api::{
    LocalLog, TransparencyLog, check_in_log, check_time, check_time_after, prove,
};
use escrow::transparency::proof::ProofBundle;
use escrow::transparency::{LogEntry, LogRecord};
use escrow::warrant::Warrant;
use escrow::{Error, KeyShare, PreparedIdentityKey, PublicParams, ScopeIdentity};
use messenger::relay::{CAPTURE_KIND, CAPTURE_VERSION, Capture};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One approval as judged by the auditor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApprovalVerdict {
    /// The file (or other source) it was read from.
    pub source: String,
    /// The authority it claims to come from (the file name when it does not parse).
    pub authority: String,
    /// Whether it was used.
    pub valid: bool,
    /// Why it was discarded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

use crate::error::{CaptureMismatch, Result};
pub use crate::evidence::{Attribution, Decrypted, Equivocation, NonCompliant, Sealed};

/// The execution report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Format version, 3.
    pub version: u64,
    /// The warrant.
    pub warrant: WarrantRef,
    /// The capture examined.
    pub capture: CaptureRef,
    /// Every approval presented, with its verdict.
    pub approvals: Vec<ApprovalVerdict>,
    /// The log entries of the warrant and of this execution.
    pub log: LogRef,
    /// Messages decrypted: sent or received by a target, in a chain of a scope epoch, relayed
    /// inside the timespan, bound to their sender, and not refused by the recipient.
    pub decrypted: Vec<Decrypted>,
    /// Envelopes in a released epoch but relayed outside the warrant's timespan: the day key
    /// would open them, the auditor does not show them.
    pub withheld: usize,
    /// The withheld envelopes: who, to whom, when — never what.
    pub withheld_envelopes: Vec<Sealed>,
    /// Envelopes outside the warrant's scope (not opened).
    pub out_of_scope: usize,
    /// The envelopes outside the warrant's scope: who, to whom, when, and why.
    pub sealed: Vec<Sealed>,
    /// Envelopes in scope that are not accounted for: unattributable (forged, unsigned),
    /// escrow non-compliant, equivocating, replayed, beyond the recipient's rules, or refused
    /// by the recipient.
    pub non_compliant: usize,
    /// The non-compliant envelopes, with reasons and evidence.
    pub non_compliant_envelopes: Vec<NonCompliant>,
    /// Chains for which the sender signed two different starts.
    pub equivocations: Vec<Equivocation>,
}

/// Which capture was examined.
#[derive(Clone, Debug, Serialize)]
pub struct CaptureRef {
    /// The account named by the capture.
    pub account: String,
    /// Its window, RFC 3339.
    pub from: String,
    /// Its window's end, RFC 3339.
    pub to: String,
    /// The relay that exported it.
    pub relay: String,
    /// Envelopes in its window.
    pub envelopes: usize,
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
    /// The proof that the log holds this execution: the `warrant-executed` entry, its
    /// inclusion proof and the signed checkpoint covering it, which the auditor remembers
    /// (`auditor/log-state.json`). `auditor log verify --proof REPORT` checks it against the
    /// log at any later time.
    pub execution: ProofBundle,
    /// The checkpoint (`size/root`) of `execution`.
    pub execution_checkpoint: String,
}

/// The `warrant-executed` entry of this digest, if the log holds one: its index and time.
fn executed(log: &dyn TransparencyLog, digest_hex: &str) -> escrow::Result<Option<(u64, String)>> {
    Ok(
        match log.lookup(&format!("execution/{digest_hex}"))?.first() {
            Some(&i) => Some((i, log.entry(i)?.entry.time().to_owned())),
            None => None,
        },
    )
}

/// An execution happens while the warrant is in force (before `expires`), and not before the
/// warrant was logged nor before the log's newest entry (time never goes backwards).
fn check_execution_time(
    log: &dyn TransparencyLog,
    warrant: &Warrant,
    warrant_entry: u64,
    now: OffsetDateTime,
) -> Result<()> {
    let expires = OffsetDateTime::parse(&warrant.expires, &Rfc3339).map_err(|_| {
        escrow::WarrantError::Malformed {
            field: "expires",
            reason: "is not an RFC 3339 time",
        }
    })?;
    if now >= expires {
        return Err(crate::Error::Expired {
            reference: warrant.reference.clone(),
            expires: warrant.expires.clone(),
        });
    }
    let time = escrow::encoding::rfc3339(now)?;
    check_time_after(log, "the execution", &time, warrant_entry)?;
    check_time(log, "the execution", &time)?;
    Ok(())
}

fn judge(
    params: &PublicParams,
    approval: &Approval,
    digest: &[u8; 32],
    scope: &BTreeSet<ScopeIdentity>,
) -> std::result::Result<(), String> {
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
        if !scope.contains(identity) {
            return Err(format!(
                "share for {identity}, which is not in the warrant's scope"
            ));
        }
        if !seen.insert(identity.clone()) {
            return Err(format!("two shares for {identity}"));
        }
        s.verify(params).map_err(|e| e.to_string())?;
    }
    if seen.len() != scope.len() {
        return Err("approval lacks shares for some scope identities".into());
    }
    Ok(())
}

/// Refuses a capture of another lab, or one that is not what the provider exports: another
/// format, realm, relay (when the lab has a relay database: also a directory entry that is not
/// the relay's), a generation of this number with another master key, none of the warrant's
/// generation; an account that is not one of the warrant's targets, a window that does not
/// parse, two envelopes under one relay id, an unknown delivery status, or a party without a
/// directory entry.
pub fn check_capture(
    lab: &Lab,
    generations: &escrow::Generations,
    params: &PublicParams,
    warrant: &Warrant,
    capture: &Capture,
) -> Result<()> {
    if capture.version != CAPTURE_VERSION {
        return Err(CaptureMismatch::Version(capture.version).into());
    }
    if capture.kind != CAPTURE_KIND {
        return Err(CaptureMismatch::Kind.into());
    }
    // A capture of one of the warrant's targets, over a window that parses.
    if !warrant.targets.iter().any(|t| t.value == capture.account) {
        return Err(CaptureMismatch::Account(
            escrow::encoding::printable(&capture.account).into_owned(),
        )
        .into());
    }
    let window = [&capture.from, &capture.to, &capture.exported_at]
        .map(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
    if !matches!(window, [Some(a), Some(b), Some(_)] if a <= b) {
        return Err(CaptureMismatch::Window.into());
    }
    // One envelope per relay id, statuses the relay writes, and a directory entry for every
    // party (without one, the party's chains could not be attributed at all).
    let mut ids = BTreeSet::new();
    for e in capture.envelopes.iter().chain(&capture.chain_starts) {
        for who in ["from", "to"] {
            if let Some(name) = e.envelope.get(who).and_then(serde_json::Value::as_str)
                && !capture.directory.contains_key(name)
            {
                return Err(CaptureMismatch::Directory(
                    escrow::encoding::printable(name).into_owned(),
                )
                .into());
            }
        }
        if !ids.insert(e.relay_id) {
            return Err(CaptureMismatch::DuplicateId(e.relay_id).into());
        }
        if !matches!(
            e.status.as_str(),
            "queued" | "delivered" | "held" | "rejected"
        ) {
            return Err(CaptureMismatch::Status(e.relay_id).into());
        }
    }
    if capture.realm != params.realm() {
        return Err(CaptureMismatch::Realm {
            capture: capture.realm.clone(),
            lab: params.realm().to_owned(),
        }
        .into());
    }
    // The lab's relay database, when it has one (the scenarios and benchmarks may run an
    // in-memory relay: then the realm and the master keys below bind the capture to the lab).
    let relay_path = lab.relay_path();
    if relay_path.exists() {
        let relay = messenger::Relay::open_read_only(&relay_path)
            .and_then(|r| Ok((r.id()?, r)))
            .map_err(|_| CaptureMismatch::NoRelay);
        let (id, relay) = relay?;
        if capture.relay != id {
            return Err(CaptureMismatch::Relay {
                capture: capture.relay.clone(),
                lab: id,
            }
            .into());
        }
        // The identity keys that attribute messages are the relay's directory's, not whatever
        // an edited capture file says.
        for (account, entry) in &capture.directory {
            let published = relay
                .published_identity(account)
                .map_err(|_| CaptureMismatch::NoRelay)?;
            let same = published.is_some_and(|p| {
                messenger::keys::public_hex(&p.sign) == entry.identity_sign
                    && messenger::keys::public_hex(&p.dh) == entry.identity_dh
                    && hex::encode(p.dh_sig) == entry.identity_dh_sig
            });
            if !same {
                return Err(CaptureMismatch::Directory(account.clone()).into());
            }
        }
    }
    for g in &capture.generations {
        if let Ok(p) = generations.get(g.generation)
            && escrow::encoding::g1_hex(p.master_public_key()) != g.master_public_key
        {
            return Err(CaptureMismatch::MasterKey(g.generation).into());
        }
    }
    if !capture
        .generations
        .iter()
        .any(|g| g.generation == params.generation())
    {
        return Err(CaptureMismatch::Generation {
            warrant: params.generation(),
            capture: capture.generations.iter().map(|g| g.generation).collect(),
        }
        .into());
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
) -> Result<Report> {
    execute_with(
        lab,
        &mut LocalLog::open(lab)?,
        warrant,
        approvals,
        capture,
        now,
    )
}

/// [`execute`] against any log (the lab's, or a log service): the execution is submitted to
/// `log`, which appends it once per warrant.
pub fn execute_with(
    lab: &Lab,
    log: &mut dyn TransparencyLog,
    warrant: &Warrant,
    approvals: &[(String, Vec<u8>)],
    capture: &Capture,
    now: OffsetDateTime,
) -> Result<Report> {
    let generations = lab.load_generations()?;
    let params = generations.get(warrant.generation)?.clone();
    check_capture(lab, &generations, &params, warrant, capture)?;
    let config = log.config().clone();
    crate::check_auditor_view(lab, log)?;
    let digest = warrant.digest()?;
    let digest_hex = hex::encode(digest);
    let scope: BTreeSet<ScopeIdentity> = warrant.scope(&params)?.into_iter().collect();

    // 2. The warrant is logged.
    let warrant_entry = log
        .lookup(&format!("warrant/{digest_hex}"))?
        .first()
        .copied();
    let warrant_entry = warrant_entry.ok_or(escrow::WarrantError::Malformed {
        field: "warrant",
        reason: "is not in the transparency log",
    })?;
    let (_, cp) = prove(log, warrant_entry)?.verify(&config)?;
    // The execution rule (docs/protocol.md §6): only while the warrant is in force, not
    // before it was logged, and once per warrant.
    check_execution_time(log, warrant, warrant_entry, now)?;
    if let Some((entry, time)) = executed(log, &digest_hex)? {
        return Err(crate::Error::AlreadyExecuted {
            reference: warrant.reference.clone(),
            entry,
            time,
        });
    }

    // 3. Judge every approval.
    let mut verdicts = Vec::new();
    let mut valid: BTreeMap<u32, Approval> = BTreeMap::new();
    for (name, bytes) in approvals {
        match Approval::from_json(bytes) {
            Err(e) => verdicts.push(ApprovalVerdict {
                source: name.clone(),
                // The authority it names, if that much of it reads; else its file.
                authority: serde_json::from_slice::<serde_json::Value>(bytes)
                    .ok()
                    .and_then(|v| v.get("authority")?.as_str().map(str::to_owned))
                    .unwrap_or_else(|| name.clone()),
                valid: false,
                reason: Some(e.to_string()),
            }),
            Ok(a) => {
                // Its release must be proven in the log; a release the log once proved and
                // no longer holds is the log's equivocation, and stops the execution.
                let verdict = match a.check_release(&config) {
                    Ok(cp) => {
                        check_in_log(
                            log,
                            &cp,
                            &format!(" (cosigned by {} for its release)", a.authority),
                        )?;
                        judge(&params, &a, &digest, &scope)
                    }
                    Err(e) => Err(format!("its release is not proven in the log: {e}")),
                };
                let index = a.warrant_share.index();
                let duplicate = valid.contains_key(&index);
                verdicts.push(ApprovalVerdict {
                    source: name.clone(),
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
        let retired = escrow::authority::retired_by_in(log, &params)?;
        let n = params.authorities().len();
        if n.saturating_sub(retired.len()) < params.threshold() {
            return Err(Error::Unrecoverable {
                generation: params.generation(),
                retired: retired.len(),
                authorities: n,
                remaining: n.saturating_sub(retired.len()),
                threshold: params.threshold(),
            }
            .into());
        }
        return Err(crate::Error::NotEnoughApprovals {
            required: params.threshold(),
            authorities: params.authorities().len(),
            valid: valid.len(),
            verdicts,
        });
    }
    let chosen: Vec<&Approval> = valid.values().take(params.threshold()).collect();

    // 4. Combine: the warrant signature and one key per scope identity.
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
    let prepared: BTreeMap<ScopeIdentity, PreparedIdentityKey> = keys
        .iter()
        .map(|(id, k)| (id.clone(), PreparedIdentityKey::new(k)))
        .collect();

    // 5. Examine the capture.
    let (start, end) = warrant.window()?;
    let findings = crate::evidence::examine(
        &crate::evidence::Scope {
            generations: &generations,
            params: &params,
            targets: warrant.targets.iter().map(|t| t.value.clone()).collect(),
            epochs: warrant.epochs(&params)?,
            timespan: (start.unix_timestamp(), end.unix_timestamp()),
            keys: &prepared,
        },
        capture,
    );

    // 6. Record the execution.
    let time = escrow::encoding::rfc3339(now)?;
    let record = LogRecord::new(LogEntry::WarrantExecuted {
        digest: digest_hex.clone(),
        messages_decrypted: findings.decrypted.len() as u64,
        time,
    });
    // The log holds one execution per warrant: a concurrent run that logged first is found
    // here and this one is refused.
    let submitted = log.submit(&record)?;
    if !submitted.new {
        return Err(crate::Error::AlreadyExecuted {
            reference: warrant.reference.clone(),
            entry: submitted.index,
            time: log.entry(submitted.index)?.entry.time().to_owned(),
        });
    }
    let execution_entry = submitted.index;
    // The report carries the execution's inclusion proof; the auditor remembers the
    // checkpoint covering it, so a log that later drops the execution is caught.
    let execution = submitted.receipt;
    let (_, execution_cp) = execution.verify(&config)?;
    crate::remember_checkpoint(lab, log, &execution.checkpoint)?;
    Ok(Report {
        version: 3,
        warrant: WarrantRef {
            reference: warrant.reference.clone(),
            digest: digest_hex,
        },
        capture: CaptureRef {
            account: capture.account.clone(),
            from: capture.from.clone(),
            to: capture.to.clone(),
            relay: capture.relay.clone(),
            envelopes: capture.envelopes.len(),
        },
        approvals: verdicts,
        log: LogRef {
            warrant_entry,
            execution_entry,
            checkpoint: cp.label(),
            execution,
            execution_checkpoint: execution_cp.label(),
        },
        decrypted: findings.decrypted,
        withheld: findings.withheld.len(),
        withheld_envelopes: findings.withheld,
        out_of_scope: findings.sealed.len(),
        sealed: findings.sealed,
        non_compliant: findings.non_compliant.len(),
        non_compliant_envelopes: findings.non_compliant,
        equivocations: findings.equivocations,
    })
}
