//! The double ratchet with per-chain escrow (Signal's Double Ratchet specification, Perrin and
//! Marlinspike 2016, §3, on P-256 with AES-256-GCM).
//!
//! * **DH ratchet** as specified: a new ratchet key of the peer gives a receiving chain
//!   `KDF_RK(RK, DH(DHs, DHr))` and a new sending chain `KDF_RK(RK, DH(DHs', DHr))`.
//! * **Symmetric ratchet** `KDF_CK` per message, AES-256-GCM per message with the session AD
//!   and the envelope header as associated data; skipped message keys are kept (at most
//!   [`MAX_SKIP`] per chain, [`MAX_SKIPPED_KEYS`] per session) and deleted after use.
//! * **Epoch step** (escrow-lab's addition): a chain never crosses an epoch boundary. When the
//!   current sending chain belongs to an earlier epoch, the sender draws a fresh key pair `E`
//!   and starts a new chain `CK' = KDF_EPOCH(CK, DH(E, DHr))` from the old chain's current key.
//!   The recipient derives the same from its receiving chain and the private key it used for
//!   that chain. Unlike a DH ratchet step this needs no reply from the peer, which is why it
//!   leaves the root key alone; it keeps forward secrecy (the old chain key is consumed) and
//!   adds fresh DH entropy, while post-compromise security still comes from the peer's replies.
//! * **Escrow**: the first key `CK_0` of every sending chain is wrapped to (sender, epoch) and
//!   (recipient, epoch) and sent with the chain's first message; the recipient decrypts that
//!   message, then recomputes both wraps from its own `CK_0` before accepting anything of the
//!   chain. Messages of a chain whose start has not arrived are [`Error::Pending`].
//! * **Evidence**: the sender signs every chain start with its identity key (see
//!   [`crate::envelope`]); the recipient verifies the signature with the key of the session's
//!   associated data before any other work. Every ciphertext carries a key commitment
//!   ([`crate::kdf::key_commitment`]) checked before AES-GCM, so one envelope opens to one text
//!   for the recipient and an auditor alike. An epoch chain must start a later epoch than the
//!   chain it steps from.
//!
//! Every receive works on a copy of the session and commits it only on success, so a rejected
//! message never advances the state.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use p256::PublicKey;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::envelope::{ChainKind, ChainStart, Envelope, MAX_TEXT_LEN};
use crate::error::{Error, EscrowViolation, Result};
use crate::escrow_block::{EscrowBlock, EscrowContext};
use crate::kdf::{kdf_ck, kdf_epoch, kdf_rk, key_commitment, message_keys};
use crate::keys::{DhKeyPair, Identity, Key32, public_bytes, public_from_bytes};

/// Most message keys skipped in one chain.
pub const MAX_SKIP: u32 = 1000;

/// Most skipped message keys kept per session (oldest dropped first).
pub const MAX_SKIPPED_KEYS: usize = 2000;

/// Most receiving chains kept per session (oldest dropped first).
pub const MAX_RECV_CHAINS: usize = 64;

/// Length of the key commitment in front of every ciphertext.
pub const COMMITMENT_LEN: usize = 32;

#[derive(Clone)]
pub(crate) struct SendChain {
    pub(crate) key: DhKeyPair,
    pub(crate) peer: PublicKey,
    pub(crate) ck: Key32,
    pub(crate) n: u32,
    pub(crate) kind: ChainKind,
    pub(crate) prev: Option<(PublicKey, u32)>,
    pub(crate) epoch: Option<u64>,
    pub(crate) block: Option<EscrowBlock>,
}

#[derive(Clone)]
pub(crate) struct RecvChain {
    pub(crate) id: PublicKey,
    pub(crate) my_key: DhKeyPair,
    pub(crate) ck: Key32,
    pub(crate) n: u32,
    pub(crate) epoch: u64,
}

#[derive(Clone)]
pub(crate) struct Skipped {
    pub(crate) chain: [u8; 33],
    pub(crate) n: u32,
    pub(crate) mk: Key32,
    pub(crate) epoch: u64,
}

/// One end of a conversation.
#[derive(Clone)]
pub struct Session {
    pub(crate) peer: String,
    pub(crate) ad: Vec<u8>,
    pub(crate) rk: Key32,
    pub(crate) dhs: DhKeyPair,
    pub(crate) dhr: Option<PublicKey>,
    pub(crate) send: Option<SendChain>,
    pub(crate) recv: Vec<RecvChain>,
    pub(crate) skipped: Vec<Skipped>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Session(with {}, {} receiving chains, {} skipped keys, ***)",
            self.peer,
            self.recv.len(),
            self.skipped.len()
        )
    }
}

/// What a sender does to its escrow block (honest senders: nothing). For modelling
/// non-compliant clients in tests and attack scenarios only.
pub type BlockTamper<'a> = &'a mut dyn FnMut(Option<EscrowBlock>) -> Option<EscrowBlock>;

impl Session {
    /// The initiator's session after X3DH: the first sending chain starts now (Alice's
    /// `RatchetInitAlice`).
    pub(crate) fn new_initiator<R: RngCore + CryptoRng>(
        peer: &str,
        sk: &[u8; 32],
        ad: Vec<u8>,
        peer_spk: PublicKey,
        init: ChainKind,
        rng: &mut R,
    ) -> Self {
        let dhs = DhKeyPair::generate(rng);
        let (rk, cks) = kdf_rk(sk, &dhs.dh(&peer_spk));
        Self {
            peer: peer.to_owned(),
            ad,
            rk,
            send: Some(SendChain {
                key: dhs.clone(),
                peer: peer_spk,
                ck: cks,
                n: 0,
                kind: init,
                prev: None,
                epoch: None,
                block: None,
            }),
            dhs,
            dhr: Some(peer_spk),
            recv: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// The responder's session after X3DH, before its first receiving chain (`RatchetInitBob`).
    pub(crate) fn new_responder(peer: &str, sk: &[u8; 32], ad: Vec<u8>, spk: DhKeyPair) -> Self {
        Self {
            peer: peer.to_owned(),
            ad,
            rk: Zeroizing::new(*sk),
            dhs: spk,
            dhr: None,
            send: None,
            recv: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// The peer's account.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Whether a message of chain `id` could be for this session (a known receiving chain or
    /// a skipped key of one).
    pub fn knows_chain(&self, id: &PublicKey) -> bool {
        let b = public_bytes(id);
        self.recv.iter().any(|c| &c.id == id) || self.skipped.iter().any(|k| k.chain == b)
    }

    /// The position (chain, n) of the next message in `epoch` when the state alone fixes its
    /// key and nonce: the current sending chain continues. `None` when the next message draws
    /// fresh randomness (no sending chain yet: a DH ratchet step; an epoch step).
    pub(crate) fn next_position(&self, epoch: u64) -> Option<(PublicKey, u32)> {
        // Also across an epoch step: the step derives the new chain from this chain's key at
        // position `n` (and a fresh ephemeral key), and the recipient accepts it only if it
        // has not used position `n` of this chain — which, if the relay holds a message
        // there, it has (the state was rolled back; the step would be lost).
        let _ = epoch;
        let send = self.send.as_ref()?;
        Some((*send.key.public(), send.n))
    }

    /// Drops the sending chain (its position is taken at the relay: a state restored from a
    /// backup); the session stays for receiving.
    pub(crate) fn abandon_sending_chain(&mut self) {
        self.send = None;
    }

    /// Encrypts `text` from `me` (whose identity signs chain starts) at `now_unix`, starting a
    /// new chain (with its escrow block) when the epoch changed.
    pub fn encrypt<R: RngCore + CryptoRng>(
        &mut self,
        me: &str,
        identity: &Identity,
        text: &[u8],
        now_unix: i64,
        escrow: &mut EscrowContext,
        rng: &mut R,
    ) -> Result<Envelope> {
        self.encrypt_with(me, identity, text, now_unix, escrow, rng, &mut |b| b)
    }

    /// [`Session::encrypt`] with a hook on the escrow block (non-compliant clients).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn encrypt_with<R: RngCore + CryptoRng>(
        &mut self,
        me: &str,
        identity: &Identity,
        text: &[u8],
        now_unix: i64,
        escrow: &mut EscrowContext,
        rng: &mut R,
        tamper: BlockTamper<'_>,
    ) -> Result<Envelope> {
        if text.len() > MAX_TEXT_LEN {
            return Err(Error::TooLarge {
                what: "message text",
                len: text.len(),
                max: MAX_TEXT_LEN,
            });
        }
        let epoch = escrow.epoch_at(now_unix)?;
        let mut send = self.send.clone().ok_or(Error::Misaddressed(
            "no sending chain yet: the peer has not written",
        ))?;
        if let Some(chain) = send.epoch.filter(|e| epoch < *e) {
            return Err(Error::TimeBehind { epoch, chain });
        }
        if matches!(send.epoch, Some(e) if e != epoch) {
            let eph = DhKeyPair::generate(rng);
            let ck = kdf_epoch(&send.ck, &eph.dh(&send.peer));
            send = SendChain {
                prev: Some((*send.key.public(), send.n)),
                key: eph,
                peer: send.peer,
                ck,
                n: 0,
                kind: ChainKind::Epoch,
                epoch: None,
                block: None,
            };
        }
        if send.epoch.is_none() {
            send.block = escrow.make_block(me, &self.peer, epoch, &send.ck)?;
            send.epoch = Some(epoch);
        }
        let (mk, next) = kdf_ck(&send.ck);
        // The block travels once, with the chain's first message, and is then dropped from the
        // state so that later messages carry (and copy) no escrow bytes at all.
        let start = (send.n == 0).then(|| ChainStart {
            kind: send.kind.clone(),
            prev: send.prev,
            escrow: tamper(send.block.take()),
            signature: [0; 64],
        });
        let mut env = Envelope {
            from: me.to_owned(),
            to: self.peer.clone(),
            chain: *send.key.public(),
            n: send.n,
            start,
            ciphertext: Vec::new(),
        };
        sign_start(&mut env, identity, &self.ad);
        env.ciphertext = seal(&mk, &self.ad, &env, text)?;
        send.ck = next;
        send.n = send
            .n
            .checked_add(1)
            .ok_or(Error::Internal(crate::error::Bug::ChainLength))?;
        self.send = Some(send);
        Ok(env)
    }

    /// See [`crate::hazmat::decoy_start`].
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn decoy_start(
        &self,
        me: &str,
        identity: &Identity,
        text: &[u8],
        now_unix: i64,
        escrow: &mut EscrowContext,
        ck0: &[u8; 32],
        claim_epoch: Option<u64>,
    ) -> Result<Envelope> {
        let send = self.send.as_ref().ok_or(Error::Misaddressed(
            "no sending chain yet: the peer has not written",
        ))?;
        let epoch = escrow.epoch_at(now_unix)?;
        if send.n != 0 || send.epoch.is_some_and(|e| e != epoch) {
            return Err(Error::Misaddressed(
                "no pending chain: the sending chain has started",
            ));
        }
        let mut env = Envelope {
            from: me.to_owned(),
            to: self.peer.clone(),
            chain: *send.key.public(),
            n: 0,
            start: Some(ChainStart {
                kind: send.kind.clone(),
                prev: send.prev,
                escrow: escrow.make_block(me, &self.peer, claim_epoch.unwrap_or(epoch), ck0)?,
                signature: [0; 64],
            }),
            ciphertext: Vec::new(),
        };
        sign_start(&mut env, identity, &self.ad);
        let (mk, _) = kdf_ck(ck0);
        env.ciphertext = seal(&mk, &self.ad, &env, text)?;
        Ok(env)
    }

    /// Decrypts an envelope from the peer relayed at `relay_unix`. On any error the session
    /// is unchanged.
    pub fn decrypt<R: RngCore + CryptoRng>(
        &mut self,
        me: &str,
        env: &Envelope,
        relay_unix: i64,
        escrow: &mut EscrowContext,
        rng: &mut R,
    ) -> Result<Zeroizing<Vec<u8>>> {
        if env.from != self.peer || env.to != me {
            return Err(Error::Misaddressed("envelope is not for this session"));
        }
        let mut s = self.clone();
        let pt = s.decrypt_inner(me, env, relay_unix, escrow, rng)?;
        *self = s;
        Ok(pt)
    }

    fn decrypt_inner<R: RngCore + CryptoRng>(
        &mut self,
        me: &str,
        env: &Envelope,
        relay_unix: i64,
        escrow: &mut EscrowContext,
        rng: &mut R,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let id = public_bytes(&env.chain);
        if let Some(pos) = self
            .skipped
            .iter()
            .position(|k| k.chain == id && k.n == env.n)
        {
            let k = self.skipped.remove(pos);
            check_epoch(escrow, &env.from, k.epoch, relay_unix)?;
            return open(&k.mk, &self.ad, env);
        }
        if let Some(i) = self.recv.iter().position(|c| c.id == env.chain) {
            if env.start.is_some() {
                return Err(Error::Window {
                    n: env.n,
                    max_skip: MAX_SKIP,
                });
            }
            check_epoch(escrow, &env.from, self.recv[i].epoch, relay_unix)?;
            let mk = self.advance(i, env.n)?;
            return open(&mk, &self.ad, env);
        }
        let Some(start) = &env.start else {
            return Err(Error::Pending);
        };
        if env.n != 0 {
            return Err(Error::Format {
                what: "envelope",
                reason: "a chain start must be message 0".into(),
            });
        }
        // The start must be the peer's own: signed by the identity key of the session's AD.
        if !env.start_signed_by(&self.peer_sign_key(me)?, &self.ad) {
            return Err(Error::Forged);
        }
        // The chain's epoch is the block's (checked below); without a block (refused unless
        // escrow is disabled) it is the relay's.
        let epoch = match &start.escrow {
            Some(b) => b.epoch,
            None => escrow.epoch_at(relay_unix)?,
        };
        // The epoch of the chain an epoch chain steps from.
        let mut base_epoch = None;
        let ck0 = match start.kind {
            ChainKind::X3dh(_) | ChainKind::Ratchet => {
                if let Some((prev, count)) = start.prev {
                    match self.recv.iter().position(|c| c.id == prev) {
                        Some(j) => {
                            self.skip_to(j, count)?;
                            self.recv.remove(j);
                        }
                        None if count > 0 => return Err(Error::Pending),
                        None => {}
                    }
                }
                let my_key = self.dhs.clone();
                let (rk, ckr) = kdf_rk(&self.rk, &my_key.dh(&env.chain));
                let next = DhKeyPair::generate(rng);
                let (rk2, cks) = kdf_rk(&rk, &next.dh(&env.chain));
                let prev_send = self
                    .send
                    .as_ref()
                    .filter(|s| s.n > 0)
                    .map(|s| (*s.key.public(), s.n));
                self.send = Some(SendChain {
                    key: next.clone(),
                    peer: env.chain,
                    ck: cks,
                    n: 0,
                    kind: ChainKind::Ratchet,
                    prev: prev_send,
                    epoch: None,
                    block: None,
                });
                self.dhs = next;
                self.dhr = Some(env.chain);
                self.rk = rk2;
                self.push_recv(RecvChain {
                    id: env.chain,
                    my_key,
                    ck: ckr.clone(),
                    n: 0,
                    epoch,
                });
                ckr
            }
            ChainKind::Epoch => {
                let Some((base, cut)) = start.prev else {
                    return Err(Error::Format {
                        what: "envelope",
                        reason: "an epoch chain must name its previous chain".into(),
                    });
                };
                let Some(j) = self.recv.iter().position(|c| c.id == base) else {
                    return Err(Error::Pending);
                };
                base_epoch = Some(self.recv[j].epoch);
                self.skip_to(j, cut)?;
                let old = self.recv.remove(j);
                let ck = kdf_epoch(&old.ck, &old.my_key.dh(&env.chain));
                self.push_recv(RecvChain {
                    id: env.chain,
                    my_key: old.my_key,
                    ck: ck.clone(),
                    n: 0,
                    epoch,
                });
                ck
            }
        };
        let i = self.recv.len() - 1;
        let mk = self.advance(i, 0)?;
        // Authenticate first (the start, escrow block included, is in the associated data),
        // so an escrow violation is attributable to the real sender…
        let pt = open(&mk, &self.ad, env)?;
        // …then refuse the chain unless its escrow block is exactly right.
        escrow
            .check_block(&env.from, me, relay_unix, &ck0, start.escrow.as_ref())?
            .map_err(|violation| Error::Escrow {
                from: env.from.clone(),
                violation,
            })?;
        // An epoch step starts a later epoch than its base chain's (the block's epoch, now
        // checked against the relay's time): otherwise it is a way to start chains at will.
        if let Some(base) = base_epoch.filter(|b| epoch <= *b) {
            return Err(Error::Escrow {
                from: env.from.clone(),
                violation: EscrowViolation::EpochUnchanged { chain: epoch, base },
            });
        }
        Ok(pt)
    }

    /// The peer's identity signing key, from the session's associated data (two identities,
    /// `IK_sign ‖ IK_dh` each, the account whose name sorts first first).
    fn peer_sign_key(&self, me: &str) -> Result<PublicKey> {
        let offset = if self.peer.as_str() < me { 0 } else { 66 };
        let bytes = self
            .ad
            .get(offset..offset + 33)
            .ok_or(Error::Internal(crate::error::Bug::SessionAd))?;
        public_from_bytes("session AD", bytes)
    }

    fn push_recv(&mut self, c: RecvChain) {
        if self.recv.len() >= MAX_RECV_CHAINS {
            let old = self.recv.remove(0);
            let id = public_bytes(&old.id);
            self.skipped.retain(|k| k.chain != id);
        }
        self.recv.push(c);
    }

    /// Stores the message keys of chain `j` up to (excluding) `until`.
    fn skip_to(&mut self, j: usize, until: u32) -> Result<()> {
        let chain = &mut self.recv[j];
        if until < chain.n || until - chain.n > MAX_SKIP {
            return Err(Error::Window {
                n: until,
                max_skip: MAX_SKIP,
            });
        }
        let id = public_bytes(&chain.id);
        while chain.n < until {
            let (mk, next) = kdf_ck(&chain.ck);
            self.skipped.push(Skipped {
                chain: id,
                n: chain.n,
                mk,
                epoch: chain.epoch,
            });
            chain.ck = next;
            chain.n += 1;
        }
        if self.skipped.len() > MAX_SKIPPED_KEYS {
            let excess = self.skipped.len() - MAX_SKIPPED_KEYS;
            self.skipped.drain(..excess);
        }
        Ok(())
    }

    /// The message key of message `n` of chain `i`, storing the ones skipped before it.
    fn advance(&mut self, i: usize, n: u32) -> Result<Key32> {
        self.skip_to(i, n)?;
        let chain = &mut self.recv[i];
        let (mk, next) = kdf_ck(&chain.ck);
        chain.ck = next;
        chain.n = n + 1;
        Ok(mk)
    }
}

fn check_epoch(escrow: &EscrowContext, from: &str, chain: u64, relay_unix: i64) -> Result<()> {
    if escrow.epoch_accepts(chain, relay_unix)? {
        Ok(())
    } else {
        Err(Error::Escrow {
            from: from.to_owned(),
            violation: EscrowViolation::CrossesEpoch {
                chain,
                message: escrow.epoch_at(relay_unix)?,
            },
        })
    }
}

/// `AD ‖ header` in one buffer.
fn aad(ad: &[u8], env: &Envelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(ad.len() + 160);
    out.extend_from_slice(ad);
    env.write_header(&mut out);
    out
}

/// AES-256-GCM encryption (the primitive as used; Wycheproof-tested): ciphertext ‖ tag.
pub fn aead_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], pt: &[u8]) -> Result<Vec<u8>> {
    Aes256Gcm::new(key.into())
        .encrypt(Nonce::from_slice(nonce), Payload { msg: pt, aad })
        .map_err(|_| Error::Internal(crate::error::Bug::AesGcm))
}

/// AES-256-GCM decryption of ciphertext ‖ tag; the opaque [`Error::Decryption`] on failure.
pub fn aead_open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ct: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    Aes256Gcm::new(key.into())
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| Error::Decryption)
}

/// Signs `env`'s chain start (if any) with `identity` under the session AD `ad`.
pub(crate) fn sign_start(env: &mut Envelope, identity: &Identity, ad: &[u8]) {
    if let Some(msg) = env.start_signed_bytes(ad) {
        let sig = identity.sign(&msg);
        if let Some(s) = env.start.as_mut() {
            s.signature = sig;
        }
    }
}

/// Seals a message under message key `mk`: the key commitment, then AES-256-GCM under the key
/// and nonce derived from `mk`, with `AD ‖ header` as associated data.
pub fn seal(mk: &[u8; 32], ad: &[u8], env: &Envelope, pt: &[u8]) -> Result<Vec<u8>> {
    let (key, nonce) = message_keys(mk);
    let mut out = Vec::with_capacity(COMMITMENT_LEN + pt.len() + crate::envelope::TAG_LEN);
    out.extend_from_slice(&key_commitment(mk));
    out.extend_from_slice(&aead_seal(&key, &nonce, &aad(ad, env), pt)?);
    Ok(out)
}

/// Opens `env` under message key `mk`: its key commitment must be `mk`'s (compared in
/// constant time), then AES-256-GCM must authenticate. The opaque [`Error::Decryption`]
/// whichever fails.
pub fn open(mk: &[u8; 32], ad: &[u8], env: &Envelope) -> Result<Zeroizing<Vec<u8>>> {
    use subtle::ConstantTimeEq as _;
    let Some((commitment, rest)) = env.ciphertext.split_at_checked(COMMITMENT_LEN) else {
        return Err(Error::Decryption);
    };
    if !bool::from(commitment.ct_eq(&key_commitment(mk))) {
        return Err(Error::Decryption);
    }
    let (key, nonce) = message_keys(mk);
    aead_open(&key, &nonce, &aad(ad, env), rest)
}

/// Opens message `env.n` of a chain from the chain's first key `ck0`: `KDF_CK` applied `n + 1`
/// times, then [`open`] with the session AD (see [`crate::x3dh::session_ad`]). At most
/// [`MAX_SKIP`] + 1 positions: an auditor walks longer chains with [`ChainWalker`], message by
/// message, under the recipient's skip bound.
pub fn open_with_chain_key(
    ck0: &[u8; 32],
    ad: &[u8],
    env: &Envelope,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut walker = ChainWalker::new(ck0);
    let mk = walker.message_key(env.n, MAX_SKIP + 1)?;
    open(&mk, ad, env)
}

/// The message keys of one chain from its first key, walked forward once (an auditor with an
/// unwrapped chain key; the recipient's ratchet does the same with skipped keys).
pub struct ChainWalker {
    ck: Key32,
    /// Position of `ck`: the next message key is message `pos`'s.
    pos: u32,
}

impl std::fmt::Debug for ChainWalker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainWalker(at {}, ***)", self.pos)
    }
}

impl ChainWalker {
    /// A walker at message 0 of the chain whose first key is `ck0`.
    pub fn new(ck0: &[u8; 32]) -> Self {
        Self {
            ck: Zeroizing::new(*ck0),
            pos: 0,
        }
    }

    /// The position of the next key.
    pub fn position(&self) -> u32 {
        self.pos
    }

    /// The message key of message `n` (at or after [`ChainWalker::position`]), walking at most
    /// `max_steps` chain steps; keys passed on the way are dropped.
    pub fn message_key(&mut self, n: u32, max_steps: u32) -> Result<Key32> {
        if n < self.pos || n - self.pos >= max_steps {
            return Err(Error::Window {
                n,
                max_skip: max_steps,
            });
        }
        loop {
            let (mk, next) = kdf_ck(&self.ck);
            self.ck = next;
            let at = self.pos;
            self.pos += 1;
            if at == n {
                return Ok(mk);
            }
        }
    }
}
