//! Non-compliant clients, for tests and attack scenarios: a sender that tampers with its own
//! escrow block before sealing the message (so the AEAD still verifies and only the escrow
//! check can catch it). Nothing here is used by an honest client.

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

/// An escrow context that makes no escrow blocks and accepts chains without them: the
/// messenger without escrow, as a benchmark baseline. Never use it in a client.
pub fn escrow_disabled(params: escrow::PublicParams) -> EscrowContext {
    EscrowContext::disabled(params)
}
