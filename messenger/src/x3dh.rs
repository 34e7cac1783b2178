//! X3DH-style session setup on P-256 (Signal's X3DH specification, Marlinspike and Perrin
//! 2016, §3), and prekey bundles.
//!
//! ```text
//! identity_dh_sig = ECDSA(IK_sign, "escrow-lab/v1/identity-dh" ‖ lp(account) ‖ IK_dh)
//! signed_prekey_sig = ECDSA(IK_sign, "escrow-lab/v1/signed-prekey" ‖ lp(account)
//!                                    ‖ u32_be(spk id) ‖ SPK)
//! DH1 = DH(IK_dh_A, SPK_B)   DH2 = DH(EK_A, IK_dh_B)   DH3 = DH(EK_A, SPK_B)
//! DH4 = DH(EK_A, OPK_B)      (when a one-time prekey was available)
//! SK  = KDF_X3DH(DH1 ‖ DH2 ‖ DH3 [‖ DH4])                      (see `kdf`)
//! AD  = IK_sign ‖ IK_dh of the account whose name sorts first, then of the other
//!       (33 bytes each; Signal puts the initiator first, escrow-lab sorts by name so that
//!       an auditor can rebuild AD from the directory without knowing who initiated)
//! ```
//!
//! Deviations from Signal: P-256 instead of X25519; ECDSA instead of XEdDSA, so the identity
//! has a separate signing key that signs the agreement key.

use p256::PublicKey;

use crate::error::{Error, Result};
use crate::keys::{DhKeyPair, Identity, public_bytes, verify_signature};

fn lp(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The message the identity signing key signs to bind the agreement key to the account.
pub fn identity_dh_message(account: &str, identity_dh: &PublicKey) -> Vec<u8> {
    let mut m = b"escrow-lab/v1/identity-dh".to_vec();
    lp(&mut m, account);
    m.extend_from_slice(&public_bytes(identity_dh));
    m
}

/// The message the identity signing key signs for a signed prekey.
pub fn signed_prekey_message(account: &str, id: u32, spk: &PublicKey) -> Vec<u8> {
    let mut m = b"escrow-lab/v1/signed-prekey".to_vec();
    lp(&mut m, account);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&public_bytes(spk));
    m
}

/// The public half of an account's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityPublic {
    /// ECDSA verification key.
    pub sign: PublicKey,
    /// ECDH agreement key.
    pub dh: PublicKey,
    /// `identity_dh_sig` (module docs).
    pub dh_sig: [u8; 64],
}

impl IdentityPublic {
    /// Of a full identity.
    pub fn of(account: &str, id: &Identity) -> Self {
        Self {
            sign: *id.sign.public(),
            dh: *id.dh.public(),
            dh_sig: id.sign(&identity_dh_message(account, id.dh.public())),
        }
    }

    /// Checks the agreement key's signature.
    pub fn verify(&self, account: &str) -> bool {
        verify_signature(
            &self.sign,
            &identity_dh_message(account, &self.dh),
            &self.dh_sig,
        )
    }

    /// `IK_sign ‖ IK_dh` (66 bytes).
    pub fn ad_bytes(&self) -> Vec<u8> {
        [public_bytes(&self.sign), public_bytes(&self.dh)].concat()
    }
}

/// What the relay's directory publishes for an account (plus at most one one-time prekey,
/// consumed when handed out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrekeyBundle {
    /// The account.
    pub account: String,
    /// Its identity.
    pub identity: IdentityPublic,
    /// Signed prekey id.
    pub signed_prekey_id: u32,
    /// Signed prekey.
    pub signed_prekey: PublicKey,
    /// Its signature.
    pub signed_prekey_sig: [u8; 64],
    /// A one-time prekey, if the directory had one left.
    pub one_time_prekey: Option<(u32, PublicKey)>,
}

impl PrekeyBundle {
    /// Checks both signatures; the initiator refuses a bundle that fails.
    pub fn verify(&self) -> Result<()> {
        let spk_ok = verify_signature(
            &self.identity.sign,
            &signed_prekey_message(&self.account, self.signed_prekey_id, &self.signed_prekey),
            &self.signed_prekey_sig,
        );
        if spk_ok && self.identity.verify(&self.account) {
            Ok(())
        } else {
            Err(Error::BadBundleSignature(self.account.clone()))
        }
    }
}

/// The initiator's side: `(SK, AD, EK)` for a verified bundle.
pub fn initiate(
    me_account: &str,
    me: &Identity,
    me_public: &IdentityPublic,
    bundle: &PrekeyBundle,
    ek: &DhKeyPair,
) -> Result<(crate::keys::Key32, Vec<u8>)> {
    bundle.verify()?;
    let dh1 = me.dh.dh(&bundle.signed_prekey);
    let dh2 = ek.dh(&bundle.identity.dh);
    let dh3 = ek.dh(&bundle.signed_prekey);
    let sk = match &bundle.one_time_prekey {
        Some((_, opk)) => {
            let dh4 = ek.dh(opk);
            crate::kdf::x3dh(&[&dh1, &dh2, &dh3, &dh4])
        }
        None => crate::kdf::x3dh(&[&dh1, &dh2, &dh3]),
    };
    Ok((
        sk,
        session_ad(me_account, me_public, &bundle.account, &bundle.identity),
    ))
}

/// The responder's side: `(SK, AD)` from the initiator's keys and the prekeys it named.
#[allow(clippy::too_many_arguments)]
pub fn respond(
    me_account: &str,
    me: &Identity,
    me_public: &IdentityPublic,
    spk: &DhKeyPair,
    opk: Option<&DhKeyPair>,
    initiator_account: &str,
    initiator: &IdentityPublic,
    ephemeral: &PublicKey,
) -> (crate::keys::Key32, Vec<u8>) {
    let dh1 = spk.dh(&initiator.dh);
    let dh2 = me.dh.dh(ephemeral);
    let dh3 = spk.dh(ephemeral);
    let sk = match opk {
        Some(opk) => {
            let dh4 = opk.dh(ephemeral);
            crate::kdf::x3dh(&[&dh1, &dh2, &dh3, &dh4])
        }
        None => crate::kdf::x3dh(&[&dh1, &dh2, &dh3]),
    };
    (
        sk,
        session_ad(me_account, me_public, initiator_account, initiator),
    )
}

/// The session's associated data: both identities, the account that sorts first first.
pub fn session_ad(a: &str, a_id: &IdentityPublic, b: &str, b_id: &IdentityPublic) -> Vec<u8> {
    if a <= b {
        [a_id.ad_bytes(), b_id.ad_bytes()].concat()
    } else {
        [b_id.ad_bytes(), a_id.ad_bytes()].concat()
    }
}
