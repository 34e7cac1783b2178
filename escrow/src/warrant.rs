//! Warrants: the request k authorities approve, its digest, its scope, and the policy checks
//! an honest authority applies before approving (docs/protocol.md §6–7).
//!
//! The fields follow the vocabulary of ETSI TS 103 120 (the HI-1 warrant interface) where it
//! fits: `reference` (AuthorisationReference), `legal_type`, `issuing_authority`,
//! `jurisdiction`, `targets` (target identifiers `{format, value}`), `timespan` (`start`,
//! `end`), `expires`, `justification`; plus escrow-lab's `generation` and a random `nonce`, so
//! that the digest, which is public in the transparency log, reveals nothing of the content.
//!
//! ```text
//! digest = SHA-256(JCS(warrant))            (RFC 8785 canonical JSON, through serde_jcs)
//! scope  = targets × { epochs e : [e·L, (e+1)·L) overlaps [start, end) }   (L = epoch length)
//! span   = (last epoch − first epoch + 1) · L  ≤  max_span_days · 86400 s   (policy)
//! ```
//!
//! The policy counts the epochs of the scope, not the wall-clock length of the timespan: what
//! is released is one key per target and epoch, and 31 days from noon to noon overlap 32 day
//! epochs.

use std::collections::BTreeSet;

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Result, WarrantError};
use crate::identity::{ScopeIdentity, check_name, epoch_at, epoch_of};
use crate::params::PublicParams;

/// Longest justification, in bytes.
pub const MAX_JUSTIFICATION: usize = 4096;

/// Longest short text field (reference, legal type, issuer, jurisdiction), in bytes.
pub const MAX_FIELD: usize = 256;

/// Most targets a warrant document may name at all (policy limits are lower).
pub const MAX_TARGETS: usize = 1000;

/// Whether `text` is 1 to `max` characters of visible ASCII (`!` to `~`) with single spaces
/// between words: references and names print exactly as they compare, so no invisible or
/// look-alike character can make two references of one (`W-1` and `W-1` + U+200B) or hide a
/// line break in a report.
pub fn is_visible_ascii_text(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && !text.contains("  ")
        && text.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}

/// Most scope identities (targets × epochs) one warrant may name: as many identity shares as
/// one approval may carry ([`crate::approval::MAX_IDENTITY_SHARES`]).
pub const MAX_SCOPE: usize = crate::approval::MAX_IDENTITY_SHARES;

/// One target identifier.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Identifier format; escrow-lab knows `"account"`.
    pub format: String,
    /// The identifier.
    pub value: String,
}

/// The warrant's time window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timespan {
    /// Start (RFC 3339, inclusive).
    pub start: String,
    /// End (RFC 3339, exclusive).
    pub end: String,
}

/// A warrant (JSON document, version 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warrant {
    /// Format version, 1.
    pub version: u64,
    /// AuthorisationReference: the warrant's unique reference.
    pub reference: String,
    /// Legal basis or type of authorisation.
    pub legal_type: String,
    /// Who issues it (a court, a minister…).
    pub issuing_authority: String,
    /// Jurisdiction.
    pub jurisdiction: String,
    /// The accounts it targets.
    pub targets: Vec<Target>,
    /// The time window of traffic it covers.
    pub timespan: Timespan,
    /// After this time no authority approves it (RFC 3339).
    pub expires: String,
    /// Why.
    pub justification: String,
    /// The escrow generation it is for.
    pub generation: u32,
    /// 16 random bytes, lowercase hex.
    pub nonce: String,
}

/// What a new warrant says (everything but version and nonce).
#[derive(Clone, Debug)]
pub struct WarrantDraft {
    /// Reference.
    pub reference: String,
    /// Legal type.
    pub legal_type: String,
    /// Issuing authority.
    pub issuing_authority: String,
    /// Jurisdiction.
    pub jurisdiction: String,
    /// Target accounts.
    pub targets: Vec<String>,
    /// Timespan start.
    pub start: OffsetDateTime,
    /// Timespan end (exclusive).
    pub end: OffsetDateTime,
    /// Expiry.
    pub expires: OffsetDateTime,
    /// Justification.
    pub justification: String,
    /// Generation.
    pub generation: u32,
}

fn malformed(field: &'static str, reason: &'static str) -> Error {
    WarrantError::Malformed { field, reason }.into()
}

fn time_of(field: &'static str, s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| malformed(field, "is not an RFC 3339 time"))
}

fn rfc3339(t: OffsetDateTime) -> Result<String> {
    crate::encoding::rfc3339(t.to_offset(time::UtcOffset::UTC))
}

impl Warrant {
    /// A new warrant with a fresh random nonce; validated.
    pub fn new<R: RngCore + CryptoRng>(draft: WarrantDraft, rng: &mut R) -> Result<Self> {
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let w = Self {
            version: 1,
            reference: draft.reference,
            legal_type: draft.legal_type,
            issuing_authority: draft.issuing_authority,
            jurisdiction: draft.jurisdiction,
            targets: draft
                .targets
                .into_iter()
                .map(|value| Target {
                    format: "account".into(),
                    value,
                })
                .collect(),
            timespan: Timespan {
                start: rfc3339(draft.start)?,
                end: rfc3339(draft.end)?,
            },
            expires: rfc3339(draft.expires)?,
            justification: draft.justification,
            generation: draft.generation,
            nonce: hex::encode(nonce),
        };
        w.validate()?;
        Ok(w)
    }

    /// Parses and validates a warrant document.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let w: Self = crate::encoding::from_json("warrant", bytes)?;
        w.validate()?;
        Ok(w)
    }

    /// Serializes the warrant (pretty JSON; the digest does not depend on the layout).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        crate::encoding::to_json(self)
    }

    /// Checks every field's form (not the policy: see [`Warrant::check_policy`]).
    pub fn validate(&self) -> Result<()> {
        for (field, text) in [
            ("reference", &self.reference),
            ("legal_type", &self.legal_type),
            ("issuing_authority", &self.issuing_authority),
            ("jurisdiction", &self.jurisdiction),
        ] {
            if !is_visible_ascii_text(text, MAX_FIELD) {
                return Err(malformed(
                    field,
                    "must be 1 to 256 characters of visible ASCII (single spaces between words)",
                ));
            }
        }
        if self.justification.trim().is_empty() || self.justification.len() > MAX_JUSTIFICATION {
            return Err(malformed("justification", "must be 1 to 4096 bytes"));
        }
        if self.targets.is_empty() || self.targets.len() > MAX_TARGETS {
            return Err(malformed("targets", "must name 1 to 1000 accounts"));
        }
        let mut seen = BTreeSet::new();
        for t in &self.targets {
            if t.format != "account" {
                return Err(malformed("targets", "format must be \"account\""));
            }
            check_name("account", &t.value)?;
            if !seen.insert(&t.value) {
                return Err(WarrantError::DuplicateTarget(t.value.clone()).into());
            }
        }
        let (start, end) = self.window()?;
        if end <= start {
            return Err(malformed("timespan", "must end after it starts"));
        }
        if start.unix_timestamp() < 0 {
            return Err(malformed("timespan", "must start after 1970"));
        }
        time_of("expires", &self.expires)?;
        if self.nonce.len() != 32
            || !self
                .nonce
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(malformed("nonce", "must be 16 bytes of lowercase hex"));
        }
        Ok(())
    }

    /// `[start, end)` of the timespan.
    pub fn window(&self) -> Result<(OffsetDateTime, OffsetDateTime)> {
        Ok((
            time_of("timespan.start", &self.timespan.start)?,
            time_of("timespan.end", &self.timespan.end)?,
        ))
    }

    /// SHA-256 of the RFC 8785 canonical form.
    pub fn digest(&self) -> Result<[u8; 32]> {
        let canonical =
            serde_jcs::to_vec(self).map_err(|_| Error::Internal(crate::Bug::JsonEncoding))?;
        Ok(Sha256::digest(&canonical).into())
    }

    /// The epochs of `params` that overlap the timespan.
    pub fn epochs(&self, params: &PublicParams) -> Result<std::ops::RangeInclusive<u64>> {
        let (start, end) = self.window()?;
        let len = params.epoch_length();
        // The end is exclusive: the last epoch is the one holding the last second before it.
        Ok(epoch_of(start, len)?..=epoch_at(end.unix_timestamp() - 1, len)?)
    }

    /// How many identities the scope holds (targets × epochs), computed without building it.
    pub fn scope_size(&self, params: &PublicParams) -> Result<u128> {
        let epochs = self.epochs(params)?;
        let count = epochs
            .end()
            .checked_sub(*epochs.start())
            .map(|d| u128::from(d) + 1)
            .ok_or_else(|| malformed("timespan", "must end after it starts"))?;
        Ok(count * self.targets.len() as u128)
    }

    /// Checks, by arithmetic alone, that the scope is of the warrant's generation and within
    /// [`MAX_SCOPE`]: what [`Warrant::scope`] would refuse, without building anything.
    pub fn check_scope(&self, params: &PublicParams) -> Result<()> {
        self.check_generation(params)?;
        let epochs = self.epochs(params)?;
        if self.scope_size(params)? > MAX_SCOPE as u128 {
            return Err(WarrantError::ScopeTooLarge {
                targets: self.targets.len(),
                epochs: (epochs.end() - epochs.start()).saturating_add(1),
                max: MAX_SCOPE,
            }
            .into());
        }
        Ok(())
    }

    /// The scope: every target in every overlapping epoch, as identities of `params`. A scope
    /// of more than [`MAX_SCOPE`] identities is refused by arithmetic first: nothing is built.
    pub fn scope(&self, params: &PublicParams) -> Result<Vec<ScopeIdentity>> {
        self.check_scope(params)?;
        let epochs = self.epochs(params)?;
        let mut out = Vec::with_capacity(self.scope_size(params)? as usize);
        for t in &self.targets {
            for e in epochs.clone() {
                out.push(params.identity(&t.value, e)?);
            }
        }
        Ok(out)
    }

    fn check_generation(&self, params: &PublicParams) -> Result<()> {
        if self.generation != params.generation() {
            return Err(WarrantError::WrongGeneration {
                warrant: self.generation,
                current: params.generation(),
            }
            .into());
        }
        Ok(())
    }

    /// The policy checks an honest authority applies at time `at`, in this order: generation
    /// (the warrant's, whose validity must cover every epoch of the timespan), not expired,
    /// timespan not in the future (it may end at most one epoch after `at`, for a warrant on
    /// today's traffic), span and target count within the generation's policy. The span is
    /// the epochs the scope covers times the epoch length (module docs): with one-day epochs
    /// at most `max_span_days` epochs, with one-hour epochs at most `24 · max_span_days`.
    pub fn check_policy(&self, params: &PublicParams, at: OffsetDateTime) -> Result<()> {
        self.check_generation(params)?;
        let epochs = self.epochs(params)?;
        // The validity bounds are epoch boundaries: checking both ends suffices.
        for e in [*epochs.start(), *epochs.end()] {
            if !params.covers_epoch(e) {
                let show = |t: Option<OffsetDateTime>, open: &str| {
                    t.and_then(|t| t.format(&Rfc3339).ok())
                        .unwrap_or_else(|| open.to_owned())
                };
                return Err(WarrantError::OutsideGeneration {
                    generation: params.generation(),
                    epoch: e,
                    validity: format!(
                        "{} to {}",
                        show(params.valid_from(), "the beginning"),
                        show(params.valid_until(), "open-ended")
                    ),
                }
                .into());
            }
        }
        if time_of("expires", &self.expires)? <= at {
            return Err(WarrantError::Expired(self.expires.clone()).into());
        }
        let (start, end) = self.window()?;
        if start > at {
            return Err(WarrantError::Future("starts in the future").into());
        }
        let epoch = i64::try_from(params.epoch_length()).unwrap_or(i64::MAX);
        if end.unix_timestamp() > at.unix_timestamp().saturating_add(epoch) {
            return Err(WarrantError::Future("ends more than one epoch in the future").into());
        }
        let policy = params.policy();
        // The epochs released, not the wall-clock span: a one-second warrant counts one epoch,
        // 31 days from noon to noon count 32 day epochs.
        let count = epochs
            .end()
            .checked_sub(*epochs.start())
            .map(|d| d + 1)
            .ok_or_else(|| malformed("timespan", "must end after it starts"))?;
        let covered = u128::from(count) * u128::from(params.epoch_length());
        if covered > u128::from(policy.max_span_days) * 86_400 {
            return Err(WarrantError::SpanTooLong {
                epochs: count,
                epoch_length: params.epoch_length(),
                max_days: policy.max_span_days,
            }
            .into());
        }
        if self.targets.len() > policy.max_targets as usize {
            return Err(WarrantError::TooManyTargets {
                count: self.targets.len(),
                max: policy.max_targets,
            }
            .into());
        }
        Ok(())
    }
}

impl Warrant {
    /// Fails unless the warrant names the generation messengers wrapped its timespan to
    /// ([`generation_for`]): a warrant on an older generation for epochs a newer one covers
    /// would release keys that protect no compliant traffic.
    pub fn check_generation_choice(&self, generations: &crate::Generations) -> Result<()> {
        let (start, end) = self.window()?;
        let g = generation_for(generations, start, end)?;
        if g != self.generation {
            return Err(WarrantError::WrongGeneration {
                warrant: self.generation,
                current: g,
            }
            .into());
        }
        Ok(())
    }
}

/// The generation a warrant on `[start, end)` must name: the one messengers wrapped that
/// timespan's chains to ([`crate::Generations::for_epoch`]). A timespan across a rotation is
/// refused ([`WarrantError::CrossesGenerations`]): one warrant names one generation.
pub fn generation_for(
    generations: &crate::Generations,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> Result<u32> {
    let len = generations.newest().epoch_length();
    if end <= start {
        return Err(WarrantError::Malformed {
            field: "timespan",
            reason: "must end after it starts",
        }
        .into());
    }
    let first = epoch_of(start, len)?;
    let last = epoch_at(end.unix_timestamp() - 1, len)?;
    let g = generations.require_for_epoch(first)?.generation();
    // The choice changes only at validity bounds: check the last epoch and every bound inside.
    let bounds = generations
        .iter()
        .flat_map(|p| [p.valid_from(), p.valid_until()])
        .flatten()
        .filter_map(|t| u64::try_from(t.unix_timestamp()).ok())
        .map(|t| t / len)
        .filter(|e| *e > first && *e <= last);
    for e in bounds.chain([last]) {
        let here = generations.require_for_epoch(e)?.generation();
        if here != g {
            return Err(WarrantError::CrossesGenerations {
                first: g,
                second: here,
                epoch: e,
            }
            .into());
        }
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SetupRequest;
    use time::macros::datetime;

    fn params() -> PublicParams {
        let names = ["a", "b", "c"].map(str::to_owned).to_vec();
        let req = SetupRequest::new(names, 2, datetime!(2026-11-01 00:00 UTC));
        crate::dealer_setup(&req, &mut rand_core::OsRng).unwrap().0
    }

    fn draft(targets: &[&str], start: OffsetDateTime, end: OffsetDateTime) -> WarrantDraft {
        WarrantDraft {
            reference: "W-2026-001".into(),
            legal_type: "interception".into(),
            issuing_authority: "court".into(),
            jurisdiction: "escrow-lab".into(),
            targets: targets.iter().map(|s| s.to_string()).collect(),
            start,
            end,
            expires: datetime!(2026-12-01 00:00 UTC),
            justification: "suspected fraud".into(),
            generation: 1,
        }
    }

    #[test]
    fn digest_is_of_the_canonical_form() {
        let w = Warrant::new(
            draft(
                &["alice"],
                datetime!(2026-11-27 00:00 UTC),
                datetime!(2026-11-28 00:00 UTC),
            ),
            &mut rand_core::OsRng,
        )
        .unwrap();
        let d = w.digest().unwrap();
        // Pretty, compact, or with keys reordered: one digest.
        let pretty = w.to_json().unwrap();
        assert_eq!(Warrant::from_json(&pretty).unwrap().digest().unwrap(), d);
        let mut v: serde_json::Value = serde_json::from_slice(&pretty).unwrap();
        let compact = serde_json::to_vec(&v).unwrap();
        assert_eq!(Warrant::from_json(&compact).unwrap().digest().unwrap(), d);
        // The exact canonical bytes: keys sorted, no whitespace (RFC 8785).
        let jcs = serde_jcs::to_string(&w).unwrap();
        assert!(
            jcs.starts_with("{\"expires\":\"2026-12-01T00:00:00Z\",\"generation\":1,"),
            "{jcs}"
        );
        assert_eq!(d, <[u8; 32]>::from(Sha256::digest(jcs.as_bytes())));
        // Any change changes it; two warrants with the same text differ by their nonce.
        v["justification"] = "suspected fraud.".into();
        let other = Warrant::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_ne!(other.digest().unwrap(), d);
        let twin = Warrant {
            nonce: "00".repeat(16),
            ..w.clone()
        };
        assert_ne!(twin.digest().unwrap(), d);
    }

    #[test]
    fn scope_is_targets_times_overlapping_epochs() {
        let p = params();
        let w = Warrant::new(
            draft(
                &["alice", "bob"],
                datetime!(2026-11-27 12:00 UTC),
                datetime!(2026-11-29 00:00 UTC),
            ),
            &mut rand_core::OsRng,
        )
        .unwrap();
        let day = 1_795_737_600 / 86_400; // 2026-11-27
        assert_eq!(w.epochs(&p).unwrap(), day..=day + 1);
        let scope = w.scope(&p).unwrap();
        assert_eq!(scope.len(), 4);
        assert!(scope.contains(&p.identity("bob", day + 1).unwrap()));
        assert!(
            !scope.iter().any(|s| s.epoch() == day + 2),
            "the end is exclusive"
        );
    }

    #[test]
    fn each_policy_rule_refuses() {
        let p = params();
        let at = datetime!(2026-11-28 12:00 UTC);
        let ok = draft(
            &["alice"],
            datetime!(2026-11-27 00:00 UTC),
            datetime!(2026-11-28 00:00 UTC),
        );
        let w = Warrant::new(ok.clone(), &mut rand_core::OsRng).unwrap();
        w.check_policy(&p, at).unwrap();
        let cases: Vec<(WarrantDraft, &str)> = vec![
            (
                WarrantDraft {
                    generation: 2,
                    ..ok.clone()
                },
                "generation 2",
            ),
            (
                WarrantDraft {
                    expires: datetime!(2026-11-28 11:00 UTC),
                    ..ok.clone()
                },
                "expired",
            ),
            (
                WarrantDraft {
                    start: datetime!(2026-11-29 00:00 UTC),
                    end: datetime!(2026-11-29 06:00 UTC),
                    ..ok.clone()
                },
                "starts in the future",
            ),
            (
                WarrantDraft {
                    end: datetime!(2026-11-30 00:00 UTC),
                    ..ok.clone()
                },
                "more than one epoch in the future",
            ),
            (
                WarrantDraft {
                    start: datetime!(2026-10-01 00:00 UTC),
                    ..ok.clone()
                },
                "covers 58 epochs of 1 day (58 day keys), the policy allows 31 days",
            ),
            (
                WarrantDraft {
                    targets: (0..11).map(|i| format!("u{i}")).collect(),
                    ..ok.clone()
                },
                "11 targets, the policy allows 10",
            ),
        ];
        for (d, expect) in cases {
            let w = Warrant::new(d, &mut rand_core::OsRng).unwrap();
            let err = w.check_policy(&p, at).unwrap_err().to_string();
            assert!(
                err.starts_with("refused: ") && err.contains(expect),
                "{expect}: {err}"
            );
        }
    }

    /// The policy's verdict on a one-target warrant for `[start, end)`, decided at `end`.
    fn span_verdict(
        p: &PublicParams,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> (u64, Result<()>) {
        let w = Warrant::new(draft(&["alice"], start, end), &mut rand_core::OsRng).unwrap();
        let epochs = w.epochs(p).unwrap();
        (epochs.end() - epochs.start() + 1, w.check_policy(p, end))
    }

    fn params_with(epoch_length: u64, max_span_days: u32) -> PublicParams {
        let names = ["a", "b", "c"].map(str::to_owned).to_vec();
        let mut req = SetupRequest::new(names, 2, datetime!(2026-09-01 00:00 UTC));
        req.epoch_length = epoch_length;
        req.policy.max_span_days = max_span_days;
        crate::dealer_setup(&req, &mut rand_core::OsRng).unwrap().0
    }

    #[test]
    fn a_31_day_span_from_noon_to_noon_covers_32_epochs_and_is_refused() {
        let p = params();
        let (epochs, verdict) = span_verdict(
            &p,
            datetime!(2026-10-01 12:00 UTC),
            datetime!(2026-11-01 12:00 UTC),
        );
        assert_eq!(epochs, 32);
        let err = verdict.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Warrant(WarrantError::SpanTooLong {
                    epochs: 32,
                    epoch_length: 86_400,
                    max_days: 31
                })
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "refused: the timespan covers 32 epochs of 1 day (32 day keys), the policy allows 31 days"
        );
    }

    #[test]
    fn exactly_31_whole_days_are_accepted() {
        let p = params();
        let (epochs, verdict) = span_verdict(
            &p,
            datetime!(2026-10-01 00:00 UTC),
            datetime!(2026-11-01 00:00 UTC),
        );
        assert_eq!(epochs, 31);
        verdict.unwrap();
        // One second more reaches a 32nd epoch.
        let (epochs, verdict) = span_verdict(
            &p,
            datetime!(2026-10-01 00:00 UTC),
            datetime!(2026-11-01 00:00:01 UTC),
        );
        assert_eq!(epochs, 32);
        assert!(verdict.is_err());
    }

    #[test]
    fn a_one_second_warrant_counts_one_epoch() {
        // With a one-day policy: one second is one epoch, accepted; two seconds across
        // midnight are two epochs, refused.
        let p = params_with(86_400, 1);
        let (epochs, verdict) = span_verdict(
            &p,
            datetime!(2026-11-27 10:00 UTC),
            datetime!(2026-11-27 10:00:01 UTC),
        );
        assert_eq!(epochs, 1);
        verdict.unwrap();
        let (epochs, verdict) = span_verdict(
            &p,
            datetime!(2026-11-27 23:59:59 UTC),
            datetime!(2026-11-28 00:00:01 UTC),
        );
        assert_eq!(epochs, 2);
        assert_eq!(
            verdict.unwrap_err().to_string(),
            "refused: the timespan covers 2 epochs of 1 day (2 day keys), the policy allows 1 day"
        );
    }

    #[test]
    fn with_one_hour_epochs_the_limit_is_in_hours() {
        let p = params_with(3_600, 31);
        // 31 days from noon to noon: 744 whole hours, accepted (32 epochs with day epochs).
        let (epochs, verdict) = span_verdict(
            &p,
            datetime!(2026-10-01 12:00 UTC),
            datetime!(2026-11-01 12:00 UTC),
        );
        assert_eq!(epochs, 31 * 24);
        verdict.unwrap();
        // The same length from half past: 745 hour epochs, refused.
        let (epochs, verdict) = span_verdict(
            &p,
            datetime!(2026-10-01 12:30 UTC),
            datetime!(2026-11-01 12:30 UTC),
        );
        assert_eq!(epochs, 31 * 24 + 1);
        let err = verdict.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Warrant(WarrantError::SpanTooLong {
                    epochs: 745,
                    epoch_length: 3_600,
                    max_days: 31
                })
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "refused: the timespan covers 745 epochs of 1 hour (745 hour keys), the policy allows 31 days"
        );
        // Epochs of several hours are counted and named as such.
        let p = params_with(6 * 3_600, 1);
        let (epochs, verdict) = span_verdict(
            &p,
            datetime!(2026-11-27 03:00 UTC),
            datetime!(2026-11-28 00:00 UTC),
        );
        assert_eq!(epochs, 4);
        verdict.unwrap();
        let (epochs, verdict) = span_verdict(
            &p,
            datetime!(2026-11-27 03:00 UTC),
            datetime!(2026-11-28 00:00:01 UTC),
        );
        assert_eq!(epochs, 5);
        assert_eq!(
            verdict.unwrap_err().to_string(),
            "refused: the timespan covers 5 epochs of 6 hours (5 keys of 6 hours), the policy allows 1 day"
        );
    }

    #[test]
    fn malformed_warrants_are_refused() {
        let start = datetime!(2026-11-27 00:00 UTC);
        let end = datetime!(2026-11-28 00:00 UTC);
        let good = Warrant::new(draft(&["alice"], start, end), &mut rand_core::OsRng).unwrap();
        let json = good.to_json().unwrap();
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
            f(&mut v);
            Warrant::from_json(&serde_json::to_vec(&v).unwrap())
        };
        for (what, r) in [
            ("empty reference", edit(&|v| v["reference"] = " ".into())),
            (
                "a line separator in the reference",
                edit(&|v| v["reference"] = "W-1\u{2028}  approval of court: valid".into()),
            ),
            (
                "a bidi override in the issuer",
                edit(&|v| v["issuing_authority"] = "court\u{202e}".into()),
            ),
            (
                "bad target",
                edit(&|v| v["targets"][0]["value"] = "Alice".into()),
            ),
            (
                "other format",
                edit(&|v| v["targets"][0]["format"] = "msisdn".into()),
            ),
            (
                "twice",
                edit(
                    &|v| v["targets"] = serde_json::json!([{"format":"account","value":"a"},{"format":"account","value":"a"}]),
                ),
            ),
            (
                "no targets",
                edit(&|v| v["targets"] = serde_json::json!([])),
            ),
            (
                "reversed",
                edit(&|v| v["timespan"]["end"] = "2026-11-26T00:00:00Z".into()),
            ),
            ("bad time", edit(&|v| v["expires"] = "tomorrow".into())),
            ("short nonce", edit(&|v| v["nonce"] = "abcd".into())),
            ("version 2", edit(&|v| v["version"] = 2.into())),
            ("unknown field", edit(&|v| v["extra"] = 1.into())),
        ] {
            assert!(r.is_err(), "{what} accepted");
        }
    }
}
