//! Non-compliant clients and outsiders, for tests and attack scenarios. Nothing here is used by
//! an honest client:
//!
//! * a sender that tampers with its own escrow block before sealing the message (so the AEAD
//!   still verifies and only the escrow check can catch it): [`send_noncompliant`];
//! * a sender that posts a decoy start on its next chain ([`decoy_start`]), starts an epoch
//!   chain without an epoch change ([`pretend_epoch_ended`]), or re-uses a ratchet key it used
//!   before — to re-open a chain, or toward two recipients — by drawing it from rigged
//!   randomness ([`ReplayRng`], [`sending_chain_secret`]);
//! * anyone building a chain "from" an account out of public data ([`fabricate_chain`]);
//! * access to a client's identity and chain keys, for benchmarks and for attacks that encrypt
//!   outside the ratchet ([`identity_of`], [`sending_chain_key`]);
//! * a provider that breaks the relay's one-envelope-per-position rule and keeps a second
//!   envelope at a position it already holds ([`relay_keeps_duplicates`]), for the attacks that
//!   need two envelopes at one position and for tests of what recipients and the auditor then
//!   do.

use rand_core::{CryptoRng, RngCore};

use crate::client::Client;
use crate::envelope::Envelope;
use crate::error::Result;
use crate::escrow_block::{EscrowBlock, EscrowContext};
use crate::x3dh::PrekeyBundle;

/// Sends like [`Client::send`], but passes the chain's escrow block through `tamper` first
/// (return `None` to omit it, another block to forge or copy one).
#[allow(clippy::too_many_arguments)]
pub fn send_noncompliant<R: RngCore + CryptoRng>(
    client: &mut Client,
    to: &str,
    text: &[u8],
    now_unix: i64,
    escrow: &mut EscrowContext,
    bundle: &mut dyn FnMut(&str) -> Result<PrekeyBundle>,
    rng: &mut R,
    tamper: &mut dyn FnMut(Option<EscrowBlock>) -> Option<EscrowBlock>,
) -> Result<Envelope> {
    client.send_with(to, text, now_unix, escrow, bundle, rng, tamper)
}

/// A copy of a client's private identity (signing and agreement keys): for benchmarks that
/// time [`crate::ratchet::Session::encrypt`] alone, and for modelling a sender that signs what
/// an honest client would not. Never hand it to anything else.
pub fn identity_of(client: &Client) -> crate::keys::Identity {
    client.identity().clone()
}

/// An escrow context that makes no escrow blocks and accepts chains without them: the
/// messenger without escrow, as a benchmark baseline. Never use it in a client.
pub fn escrow_disabled(params: escrow::PublicParams) -> EscrowContext {
    EscrowContext::disabled(params)
}

/// What a modified sender does on its next chain: a chain start on the chain key it would
/// use next (its pending sending chain, before its first message), but carrying the escrow
/// block of `ck0` — a chain key of the sender's choosing — for epoch `claim_epoch` (the real
/// one if `None`), signed and encrypted under `ck0`. The client's state is not changed, so its
/// honest start of the same chain can follow: two signed starts of one chain, a decoy first.
#[allow(clippy::too_many_arguments)]
pub fn decoy_start(
    client: &Client,
    to: &str,
    text: &[u8],
    now_unix: i64,
    escrow: &mut EscrowContext,
    ck0: &[u8; 32],
    claim_epoch: Option<u64>,
) -> Result<Envelope> {
    let session = client
        .session(to)
        .ok_or(crate::Error::Misaddressed("no session with this peer"))?;
    session.decoy_start(
        client.account(),
        client.identity(),
        text,
        now_unix,
        escrow,
        ck0,
        claim_epoch,
    )
}

/// A chain "from `from` to `to`" made from public data only: a fresh chain key, both escrow
/// wraps, the first message under the session AD of the two published identities, and a start
/// signed by `signer` — an outsider's own identity (the signature then fails for `from`), or
/// `from`'s own (a modified sender's chain that its recipient's ratchet never derived).
#[allow(clippy::too_many_arguments)]
pub fn fabricate_chain<R: RngCore + CryptoRng>(
    from: &str,
    from_id: &crate::x3dh::IdentityPublic,
    to: &str,
    to_id: &crate::x3dh::IdentityPublic,
    signer: &crate::keys::Identity,
    text: &[u8],
    now_unix: i64,
    escrow: &mut EscrowContext,
    rng: &mut R,
) -> Result<Envelope> {
    let mut ck0 = zeroize::Zeroizing::new([0u8; 32]);
    rng.fill_bytes(ck0.as_mut_slice());
    let chain = crate::keys::DhKeyPair::generate(rng);
    let epoch = escrow.epoch_at(now_unix)?;
    let ad = crate::x3dh::session_ad(from, from_id, to, to_id);
    let mut env = Envelope {
        from: from.to_owned(),
        to: to.to_owned(),
        chain: *chain.public(),
        n: 0,
        start: Some(crate::envelope::ChainStart {
            kind: crate::envelope::ChainKind::Ratchet,
            prev: None,
            escrow: escrow.make_block(from, to, epoch, &ck0)?,
            signature: [0; 64],
        }),
        ciphertext: Vec::new(),
    };
    crate::ratchet::sign_start(&mut env, signer, &ad);
    let (mk, _) = crate::kdf::kdf_ck(&ck0);
    env.ciphertext = crate::ratchet::seal(&mk, &ad, &env, text)?;
    Ok(env)
}

/// Makes the client's sending chain to `to` look as if it belonged to the previous epoch, so
/// that its next message starts an epoch chain in the same epoch (a way to start chains at
/// will, which recipients refuse).
pub fn pretend_epoch_ended(client: &mut Client, to: &str) -> Result<()> {
    client.pretend_epoch_ended(to)
}

/// The secret scalar of the client's current sending chain key to `to` (its ratchet key):
/// a modified client keeps it to re-open the chain later, through [`ReplayRng`].
pub fn sending_chain_secret(client: &Client, to: &str) -> Option<zeroize::Zeroizing<[u8; 32]>> {
    client
        .session(to)?
        .send
        .as_ref()
        .map(|s| s.key.secret_bytes())
}

/// The current chain key and position of the client's sending chain to `to` (the position of
/// the next message), with the chain's public key: what a modified sender uses to encrypt
/// outside its ratchet.
pub fn sending_chain_key(
    client: &Client,
    to: &str,
) -> Option<(p256::PublicKey, zeroize::Zeroizing<[u8; 32]>, u32)> {
    let s = client.session(to)?.send.as_ref()?;
    Some((*s.key.public(), s.ck.clone(), s.n))
}

/// Rigged randomness: the first 32-byte draw returns `first`, every other draw comes from
/// `inner`. A client reading with it as its RNG takes `first` as its next ratchet key — how a
/// modified client re-uses a ratchet key it used before (a re-opened chain, or one key toward
/// two recipients).
pub struct ReplayRng<R> {
    first: Option<zeroize::Zeroizing<[u8; 32]>>,
    inner: R,
}

impl<R> std::fmt::Debug for ReplayRng<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReplayRng(***)")
    }
}

impl<R: RngCore> ReplayRng<R> {
    /// Returns `first` on the first 32-byte draw.
    pub fn new(first: zeroize::Zeroizing<[u8; 32]>, inner: R) -> Self {
        Self {
            first: Some(first),
            inner,
        }
    }

    /// Whether the rigged draw has been used.
    pub fn used(&self) -> bool {
        self.first.is_none()
    }
}

impl<R: RngCore> RngCore for ReplayRng<R> {
    fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        match self.first.take() {
            Some(k) if dest.len() == 32 => dest.copy_from_slice(k.as_slice()),
            first => {
                self.first = first;
                self.inner.fill_bytes(dest);
            }
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> std::result::Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl<R: RngCore> CryptoRng for ReplayRng<R> {}

/// A recipient's current key of its receiving chain `chain` from `peer`, with the position of
/// the next message: what a modified recipient uses to write "the peer's" next message itself.
pub fn receiving_chain_key(
    client: &Client,
    peer: &str,
    chain: &p256::PublicKey,
) -> Option<(zeroize::Zeroizing<[u8; 32]>, u32)> {
    client
        .sessions_with(peer)
        .iter()
        .flat_map(|s| s.recv.iter())
        .find(|c| c.id == *chain)
        .map(|c| (c.ck.clone(), c.n))
}

/// What the provider can do to its own directory: publish `identity` as `account`'s (key
/// substitution — on first contact the "ghost", here also toward an auditor).
pub fn substitute_directory_entry(
    relay: &crate::Relay,
    account: &str,
    identity: &crate::x3dh::IdentityPublic,
) -> Result<()> {
    relay.substitute_identity(account, identity)
}

/// DANGER — what a provider can do to its own relay: drop the rule that it stores at most one
/// envelope per (sender, recipient, chain, n) (the UNIQUE index and the check of
/// [`crate::RelayTransaction::enqueue`]) and answer every sender's
/// [`crate::RelayTransaction::position_taken`] with
/// "free", so that it keeps a second envelope at a position it holds — a decoy start before
/// the real one, a re-opened chain, a recipient's message under the sender's chain key, or the
/// ciphertext of a client whose state was restored from a backup, under the key and nonce of
/// an earlier one (the limit docs/threat-model.md states for the rollback check). It lasts
/// for the relay database's life. Never in an honest relay.
pub fn relay_keeps_duplicates(relay: &crate::Relay) -> Result<()> {
    relay.keep_duplicates()
}
