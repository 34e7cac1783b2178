//! The escrow block of a chain: the chain's first key wrapped to (sender, epoch) and
//! (recipient, epoch), and the recipient's bit-for-bit check of it.
//!
//! ```text
//! block bytes = u32_be(generation) ‖ u64_be(epoch) ‖ sender_wrap (112) ‖ recipient_wrap (112)
//! sender_wrap    = escrow::wrap(params, (realm, generation, epoch, sender),    CK_0)
//! recipient_wrap = escrow::wrap(params, (realm, generation, epoch, recipient), CK_0)
//! ```
//!
//! `CK_0` is the chain key before the first message key is derived. The wraps are
//! deterministic in `CK_0` (see `escrow::wrap`), so the recipient, who derives the same `CK_0`,
//! recomputes both and compares them. Prepared scopes are cached per (account, epoch).
//!
//! `generation` is the generation of `epoch`: the newest whose validity has begun, if it covers it
//! ([`escrow::Generations::for_epoch`]); the recipient recomputes that choice too, so a sender
//! cannot wrap to an older generation (one its authorities may already have retired) or to
//! one not yet in force.

use std::collections::HashMap;

use escrow::identity::epoch_at;
use escrow::{Generations, PreparedScope, PublicParams, ScopeIdentity, Wrap};

use crate::error::{EscrowViolation, Result};

/// Grace period for a message relayed just after an epoch boundary: a chain of epoch `e` is
/// accepted for relay times in epoch `e`, or in `e + 1` up to this many seconds after it began.
pub const EPOCH_GRACE_SECS: i64 = 300;

/// Length of an escrow block on the wire.
pub const BLOCK_LEN: usize = 4 + 8 + 2 * escrow::wrap::WRAP_LEN;

/// One chain's escrow block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowBlock {
    /// Escrow generation.
    pub generation: u32,
    /// Epoch of the chain.
    pub epoch: u64,
    /// Wrap of the chain key to the sender's scope.
    pub sender_wrap: Wrap,
    /// Wrap of the chain key to the recipient's scope.
    pub recipient_wrap: Wrap,
}

impl EscrowBlock {
    /// The wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BLOCK_LEN);
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.sender_wrap.to_bytes());
        out.extend_from_slice(&self.recipient_wrap.to_bytes());
        out
    }
}

/// The escrow generations a client knows, with a cache of prepared scopes.
#[derive(Clone, Debug)]
pub struct EscrowContext {
    generations: Generations,
    cache: HashMap<ScopeIdentity, PreparedScope>,
    enabled: bool,
}

impl EscrowContext {
    /// A context for the one generation `params`.
    pub fn new(params: PublicParams) -> Self {
        Self::with_generations(Generations::single(params))
    }

    /// A context for every generation of a lab: each chain wraps to the newest generation
    /// whose validity covers its epoch.
    pub fn with_generations(generations: Generations) -> Self {
        Self {
            generations,
            cache: HashMap::new(),
            enabled: true,
        }
    }

    /// A context that neither makes nor checks escrow blocks: the baseline messenger for
    /// benchmarks ([`crate::hazmat::escrow_disabled`]).
    pub(crate) fn disabled(params: PublicParams) -> Self {
        Self {
            enabled: false,
            ..Self::new(params)
        }
    }

    /// Every generation known.
    pub fn generations(&self) -> &Generations {
        &self.generations
    }

    /// Prepares the scopes of `accounts` in `epoch` ahead of use (a client does this once per
    /// epoch for itself and its contacts).
    pub fn prepare(&mut self, accounts: &[&str], epoch: u64) -> Result<()> {
        let g = self.generations.require_for_epoch(epoch)?.generation();
        for a in accounts {
            self.scope(g, a, epoch)?;
        }
        Ok(())
    }

    /// The newest generation's parameters (every generation has the same realm and epoch
    /// length).
    pub fn params(&self) -> &PublicParams {
        self.generations.newest()
    }

    /// The epoch of a Unix time.
    pub fn epoch_at(&self, unix: i64) -> Result<u64> {
        Ok(epoch_at(unix, self.params().epoch_length())?)
    }

    /// Whether a chain of `chain_epoch` may carry a message relayed at `unix`.
    pub fn epoch_accepts(&self, chain_epoch: u64, unix: i64) -> Result<bool> {
        Ok(self.epoch_at(unix)? == chain_epoch
            || self.epoch_at(unix.saturating_sub(EPOCH_GRACE_SECS).max(0))? == chain_epoch)
    }

    /// (account, epoch) under generation `generation` (one the context holds).
    fn scope(&mut self, generation: u32, account: &str, epoch: u64) -> Result<&PreparedScope> {
        let params = self.generations.get(generation)?;
        let id = params.identity(account, epoch)?;
        if !self.cache.contains_key(&id) {
            if self.cache.len() >= 4096 {
                self.cache.clear();
            }
            let prepared = PreparedScope::new(params, &id)?;
            self.cache.insert(id.clone(), prepared);
        }
        self.cache
            .get(&id)
            .ok_or(crate::Error::Internal(crate::error::Bug::ScopeCache))
    }

    /// Makes the block of a chain whose first key is `ck0`.
    pub fn make_block(
        &mut self,
        sender: &str,
        recipient: &str,
        epoch: u64,
        ck0: &[u8; 32],
    ) -> Result<Option<EscrowBlock>> {
        if !self.enabled {
            return Ok(None);
        }
        let generation = self.generations.require_for_epoch(epoch)?.generation();
        let sender_wrap = self.scope(generation, sender, epoch)?.wrap(ck0)?;
        let recipient_wrap = self.scope(generation, recipient, epoch)?.wrap(ck0)?;
        Ok(Some(EscrowBlock {
            generation,
            epoch,
            sender_wrap,
            recipient_wrap,
        }))
    }

    /// The honest recipient's check of a chain's block against the chain key it derived.
    pub fn check_block(
        &mut self,
        sender: &str,
        recipient: &str,
        relay_unix: i64,
        ck0: &[u8; 32],
        block: Option<&EscrowBlock>,
    ) -> Result<Result<(), EscrowViolation>> {
        if !self.enabled {
            return Ok(Ok(()));
        }
        let Some(block) = block else {
            return Ok(Err(EscrowViolation::Missing));
        };
        if !self.epoch_accepts(block.epoch, relay_unix)? {
            return Ok(Err(EscrowViolation::WrongEpoch {
                found: block.epoch,
                expected: self.epoch_at(relay_unix)?,
            }));
        }
        let Some(expected) = self.generations.for_epoch(block.epoch) else {
            return Ok(Err(EscrowViolation::NoGeneration { epoch: block.epoch }));
        };
        let generation = expected.generation();
        if block.generation != generation {
            return Ok(Err(EscrowViolation::WrongGeneration {
                found: block.generation,
                expected: generation,
            }));
        }
        if self
            .scope(generation, sender, block.epoch)?
            .verify(ck0, &block.sender_wrap)
            .is_err()
        {
            return Ok(Err(EscrowViolation::SenderWrapMismatch));
        }
        if self
            .scope(generation, recipient, block.epoch)?
            .verify(ck0, &block.recipient_wrap)
            .is_err()
        {
            return Ok(Err(EscrowViolation::RecipientWrapMismatch));
        }
        Ok(Ok(()))
    }
}
