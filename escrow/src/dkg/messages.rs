//! The DKG's messages: versioned JSON files on the lab's bulletin board (`dkg/`), each signed
//! by its sender's message key ([`super::signing`]).
//!
//! ```text
//! join:          {version, kind: "escrow-lab/dkg-join", proposal, authority,
//!                 transport_key: hex(SEC 1 P-256), signing_key: hex(Ed25519), witness_key, signature}
//! deal:          {version, kind: "escrow-lab/dkg-deal", session, dealer,
//!                 commitment: hex(BivarCommitment, (t+1)(t+2)/2 compressed G1 points),
//!                 rows: [{to, ciphertext: hex(transport ciphertext of the row)}], signature}
//! response:      {version, kind: "escrow-lab/dkg-response", session, party, complaints: [dealer],
//!                 checked: [{dealer, digest: hex SHA-256 of the deal file}], signature}
//! justification: {version, kind: "escrow-lab/dkg-justification", session, dealer,
//!                 rows: [{party, row: hex(t+1 big-endian scalars)}],
//!                 answered: [every party's signed response, as the dealer read it], signature}
//! finished:      {version, kind: "escrow-lab/dkg-finished", session, authority,
//!                 master_public_key, qualified: [dealer], transcript: hex, signature}
//! ```
//!
//! `session` is the hex of [`super::DkgConfig::session`], which binds every party's public
//! keys; `proposal` is the hex of [`super::DkgConfig::proposal`] (the session before the keys
//! are known). Each round's messages name the previous round's by digest or carry them: a
//! response lists the deals it checked, a justification carries the responses it answered, a
//! finished marker the digest of the transcript it used (`transcript`). What the next round
//! has closed cannot change without the change showing. A row is blsttc's `Poly::to_bytes`
//! (coefficients, big-endian); revealed rows are public by design (a complaint makes them so).

use std::collections::BTreeMap;

use blsttc::poly::BivarCommitment;
use serde::{Deserialize, Serialize};

use super::signing::{self, MessageKey};
use super::{DkgConfig, ParsedDeal};
use crate::dkg::refusal::{Exclusion, Piece};
use crate::encoding::{FORMAT_VERSION, from_json, to_json};
use crate::error::{Error, Result};

/// A dealer's deal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deal {
    /// Format version.
    pub version: u64,
    /// `"escrow-lab/dkg-deal"`.
    pub kind: String,
    /// Session id, hex.
    pub session: String,
    /// The dealer.
    pub dealer: String,
    /// The bivariate commitment, hex.
    pub commitment: String,
    /// One encrypted row per authority.
    pub rows: Vec<EncryptedRow>,
    /// The dealer's signature, hex.
    pub signature: String,
}

/// A row encrypted to one authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptedRow {
    /// The recipient.
    pub to: String,
    /// The transport ciphertext, hex.
    pub ciphertext: String,
}

/// A party's complaints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// Format version.
    pub version: u64,
    /// `"escrow-lab/dkg-response"`.
    pub kind: String,
    /// Session id, hex.
    pub session: String,
    /// The party.
    pub party: String,
    /// Dealers whose row was missing, unreadable or inconsistent with their commitment.
    pub complaints: Vec<String>,
    /// Every deal this party checked: dealer and SHA-256 of the deal file, hex. A dealer whose
    /// canonical deal is not listed here (late, or shown differently) counts as complained
    /// about by this party.
    pub checked: Vec<CheckedDeal>,
    /// The party's signature, hex.
    pub signature: String,
}

/// A deal a party checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckedDeal {
    /// The dealer.
    pub dealer: String,
    /// SHA-256 of its deal file (`Deal::to_json`), hex.
    pub digest: String,
}

/// A dealer's public answer to complaints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Justification {
    /// Format version.
    pub version: u64,
    /// `"escrow-lab/dkg-justification"`.
    pub kind: String,
    /// Session id, hex.
    pub session: String,
    /// The dealer.
    pub dealer: String,
    /// The revealed rows.
    pub rows: Vec<RevealedRow>,
    /// Every party's response as this dealer read it when it answered (the round it closed).
    pub answered: Vec<Response>,
    /// The dealer's signature, hex.
    pub signature: String,
}

/// A row revealed in the clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevealedRow {
    /// The party that complained.
    pub party: String,
    /// The row, hex.
    pub row: String,
}

fn check_kind(what: &'static str, kind: &str, expected: &str) -> Result<()> {
    if kind != expected {
        return Err(Error::WrongKind {
            what,
            found: kind.to_owned(),
        });
    }
    Ok(())
}

impl Deal {
    pub(crate) fn new(
        config: &DkgConfig,
        dealer: &str,
        commitment: &BivarCommitment,
        rows: Vec<(String, Vec<u8>)>,
        key: &MessageKey,
    ) -> Result<Self> {
        Self {
            version: FORMAT_VERSION,
            kind: "escrow-lab/dkg-deal".into(),
            session: hex::encode(config.session()),
            dealer: dealer.to_owned(),
            commitment: hex::encode(commitment.to_bytes()),
            rows: rows
                .into_iter()
                .map(|(to, ct)| EncryptedRow {
                    to,
                    ciphertext: hex::encode(ct),
                })
                .collect(),
            signature: String::new(),
        }
        .signed(key)
    }

    /// Parses a deal file.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let d: Self = from_json("deal", bytes)?;
        check_kind("DKG deal", &d.kind, "escrow-lab/dkg-deal")?;
        Ok(d)
    }

    /// The file.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        to_json(self)
    }

    /// SHA-256 of the deal file, hex (what responses list as checked).
    pub fn digest(&self) -> Result<String> {
        use sha2::Digest as _;
        Ok(hex::encode(sha2::Sha256::digest(self.to_json()?)))
    }

    /// Checks the form: a canonical commitment of degree t, one row per authority.
    pub(crate) fn parse(&self, config: &DkgConfig) -> std::result::Result<ParsedDeal, Exclusion> {
        let t = config.degree();
        let bytes = hex::decode(&self.commitment).map_err(|_| Exclusion::CommitmentHex)?;
        if bytes.len() != (t + 1) * (t + 2) / 2 * 48 {
            return Err(Exclusion::CommitmentDegree);
        }
        let commitment =
            BivarCommitment::from_bytes(bytes.clone()).map_err(|_| Exclusion::CommitmentPoint)?;
        if commitment.degree() != t || commitment.to_bytes() != bytes {
            return Err(Exclusion::CommitmentDegree);
        }
        let mut rows = BTreeMap::new();
        for r in &self.rows {
            if config.index_of(&r.to).is_none() {
                return Err(Exclusion::UnknownParty {
                    piece: Piece::Row,
                    party: r.to.clone(),
                });
            }
            let ct = hex::decode(&r.ciphertext)
                .map_err(|_| Exclusion::CiphertextHex { piece: Piece::Row })?;
            if rows.insert(r.to.clone(), ct).is_some() {
                return Err(Exclusion::TwoPieces {
                    piece: Piece::Row,
                    party: r.to.clone(),
                });
            }
        }
        if rows.len() != config.request.authorities.len() {
            return Err(Exclusion::RowsMissing);
        }
        Ok(ParsedDeal {
            dealer: self.dealer.clone(),
            digest: self
                .digest()
                .map_err(|_| Exclusion::Internal(crate::Bug::JsonEncoding))?,
            commitment,
            rows,
        })
    }
}

impl Response {
    pub(crate) fn new(
        config: &DkgConfig,
        party: &str,
        complaints: Vec<String>,
        checked: Vec<CheckedDeal>,
        key: &MessageKey,
    ) -> Result<Self> {
        Self {
            version: FORMAT_VERSION,
            kind: "escrow-lab/dkg-response".into(),
            session: hex::encode(config.session()),
            party: party.to_owned(),
            complaints,
            checked,
            signature: String::new(),
        }
        .signed(key)
    }

    /// Parses a response file.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let r: Self = from_json("response", bytes)?;
        check_kind("DKG response", &r.kind, "escrow-lab/dkg-response")?;
        Ok(r)
    }

    /// The file.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        to_json(self)
    }
}

impl Justification {
    pub(crate) fn new(
        config: &DkgConfig,
        dealer: &str,
        rows: Vec<(String, Vec<u8>)>,
        answered: Vec<Response>,
        key: &MessageKey,
    ) -> Result<Self> {
        Self {
            version: FORMAT_VERSION,
            kind: "escrow-lab/dkg-justification".into(),
            session: hex::encode(config.session()),
            dealer: dealer.to_owned(),
            rows: rows
                .into_iter()
                .map(|(party, row)| RevealedRow {
                    party,
                    row: hex::encode(row),
                })
                .collect(),
            answered,
            signature: String::new(),
        }
        .signed(key)
    }

    /// Parses a justification file.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let j: Self = from_json("justification", bytes)?;
        check_kind("DKG justification", &j.kind, "escrow-lab/dkg-justification")?;
        Ok(j)
    }

    /// The file.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        to_json(self)
    }
}

/// A message of the board: signed by the party it names.
pub trait Signed: Serialize + Clone {
    /// The party that sent it.
    fn sender(&self) -> &str;
    /// Its signature field.
    fn signature_mut(&mut self) -> &mut String;
    /// Its signature, hex.
    fn signature(&self) -> &str;

    /// The bytes the signature covers: the JSON with an empty signature.
    fn signed_bytes(&self) -> Result<Vec<u8>> {
        let mut copy = self.clone();
        copy.signature_mut().clear();
        to_json(&copy)
    }

    /// The message with its sender's signature.
    fn signed(mut self, key: &MessageKey) -> Result<Self> {
        let sig = key.sign(&self.signed_bytes()?);
        *self.signature_mut() = sig;
        Ok(self)
    }

    /// Whether the message is signed by the key the session lists for its sender.
    fn verify(&self, keys: &dyn SigningKeys) -> bool {
        let Some(key) = keys.signing_key(self.sender()) else {
            return false;
        };
        self.signed_bytes()
            .is_ok_and(|m| signing::verify(key, &m, self.signature()))
    }
}

/// A session's directory of message-signing keys, by party name.
pub trait SigningKeys {
    /// The party's signing key (hex), if it is a party of the session.
    fn signing_key(&self, name: &str) -> Option<&str>;
}

impl SigningKeys for DkgConfig {
    fn signing_key(&self, name: &str) -> Option<&str> {
        self.index_of(name)
            .and_then(|i| self.signing_keys.get(i))
            .map(String::as_str)
    }
}

macro_rules! signed {
    ($t:ty, $field:ident) => {
        impl Signed for $t {
            fn sender(&self) -> &str {
                &self.$field
            }
            fn signature_mut(&mut self) -> &mut String {
                &mut self.signature
            }
            fn signature(&self) -> &str {
                &self.signature
            }
        }
    };
}
signed!(Deal, dealer);
signed!(Response, party);
signed!(Justification, dealer);
signed!(Finished, authority);
signed!(Join, authority);

/// SHA-256 of a message file, hex.
pub fn file_digest<T: Serialize>(m: &T) -> Result<String> {
    use sha2::Digest as _;
    Ok(hex::encode(sha2::Sha256::digest(to_json(m)?)))
}

/// A party joins a session: its public keys, signed with its message key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// Format version.
    pub version: u64,
    /// `"escrow-lab/dkg-join"`.
    pub kind: String,
    /// The proposal it joins, hex ([`DkgConfig::proposal`]).
    pub proposal: String,
    /// The party.
    pub authority: String,
    /// Its transport key (compressed SEC 1 P-256), hex.
    pub transport_key: String,
    /// Its message-signing key (Ed25519), hex.
    pub signing_key: String,
    /// Its witness verifier key (C2SP signed-note vkey) for the generation's log, if it
    /// makes a new log.
    pub witness_key: String,
    /// Signature with `signing_key`, hex.
    pub signature: String,
}

impl Join {
    /// A join, self-signed.
    pub fn new(
        proposal: &[u8; 32],
        authority: &str,
        transport_key: String,
        key: &MessageKey,
        witness_key: String,
    ) -> Result<Self> {
        Self {
            version: FORMAT_VERSION,
            kind: "escrow-lab/dkg-join".into(),
            proposal: hex::encode(proposal),
            authority: authority.to_owned(),
            transport_key,
            signing_key: key.public_hex(),
            witness_key,
            signature: String::new(),
        }
        .signed(key)
    }

    /// Parses a join file.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let j: Self = from_json("join", bytes)?;
        check_kind("DKG join", &j.kind, "escrow-lab/dkg-join")?;
        Ok(j)
    }

    /// The file.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        to_json(self)
    }

    /// Whether it is self-signed for `proposal`, with well-formed keys.
    pub fn check(&self, proposal: &[u8; 32]) -> bool {
        self.proposal == hex::encode(proposal)
            && super::transport::public_from_hex(&self.transport_key).is_ok()
            && self
                .signed_bytes()
                .is_ok_and(|m| signing::verify(&self.signing_key, &m, &self.signature))
    }
}

/// A party's signed result: the key, the qualified dealers and the transcript it used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finished {
    /// Format version.
    pub version: u64,
    /// `"escrow-lab/dkg-finished"`.
    pub kind: String,
    /// Session id, hex.
    pub session: String,
    /// The party.
    pub authority: String,
    /// The master public key, hex.
    pub master_public_key: String,
    /// The qualified dealers.
    pub qualified: Vec<String>,
    /// [`super::transcript_digest`] of the deals and justifications used, hex.
    pub transcript: String,
    /// SHA-256 of the share file the party staged in its own state, hex (empty in a
    /// simulation's transcript): the installation links that file only if it still has
    /// these bytes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub share: String,
    /// The party's signature, hex.
    pub signature: String,
}

impl Finished {
    /// Parses a finished marker.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let f: Self = from_json("finished", bytes)?;
        check_kind("DKG finished", &f.kind, "escrow-lab/dkg-finished")?;
        Ok(f)
    }

    /// The file.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        to_json(self)
    }
}
