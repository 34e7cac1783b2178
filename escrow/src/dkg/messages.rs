//! The DKG's messages: versioned JSON files on the lab's bulletin board (`dkg/`).
//!
//! ```text
//! deal:          {version, kind: "escrow-lab/dkg-deal", session, dealer,
//!                 commitment: hex(BivarCommitment, (t+1)(t+2)/2 compressed G1 points),
//!                 rows: [{to, ciphertext: hex(transport ciphertext of the row)}]}
//! response:      {version, kind: "escrow-lab/dkg-response", session, party, complaints: [dealer]}
//! justification: {version, kind: "escrow-lab/dkg-justification", session, dealer,
//!                 rows: [{party, row: hex(t+1 big-endian scalars)}]}
//! ```
//!
//! `session` is the hex of [`super::DkgConfig::session`]. A row is blsttc's `Poly::to_bytes`
//! (coefficients, big-endian); revealed rows are public by design (a complaint makes them so).

use std::collections::BTreeMap;

use blsttc::poly::BivarCommitment;
use serde::{Deserialize, Serialize};

use super::{DkgConfig, ParsedDeal};
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
    ) -> Self {
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
        }
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
    pub(crate) fn parse(&self, config: &DkgConfig) -> std::result::Result<ParsedDeal, String> {
        let t = config.degree();
        let bytes = hex::decode(&self.commitment).map_err(|_| "malformed commitment (hex)")?;
        if bytes.len() != (t + 1) * (t + 2) / 2 * 48 {
            return Err("commitment of the wrong degree".into());
        }
        let commitment = BivarCommitment::from_bytes(bytes.clone())
            .map_err(|_| "commitment with an invalid curve point".to_owned())?;
        if commitment.degree() != t || commitment.to_bytes() != bytes {
            return Err("commitment of the wrong degree".into());
        }
        let mut rows = BTreeMap::new();
        for r in &self.rows {
            if config.index_of(&r.to).is_none() {
                return Err(format!("a row for unknown party '{}'", r.to));
            }
            let ct = hex::decode(&r.ciphertext).map_err(|_| "malformed row ciphertext (hex)")?;
            if rows.insert(r.to.clone(), ct).is_some() {
                return Err(format!("two rows for {}", r.to));
            }
        }
        if rows.len() != config.request.authorities.len() {
            return Err("rows missing for some authorities".into());
        }
        Ok(ParsedDeal {
            dealer: self.dealer.clone(),
            digest: self.digest().map_err(|e| e.to_string())?,
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
    ) -> Self {
        Self {
            version: FORMAT_VERSION,
            kind: "escrow-lab/dkg-response".into(),
            session: hex::encode(config.session()),
            party: party.to_owned(),
            complaints,
            checked,
        }
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
    pub(crate) fn new(config: &DkgConfig, dealer: &str, rows: Vec<(String, Vec<u8>)>) -> Self {
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
        }
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

    pub(crate) fn rows(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.rows
            .iter()
            .map(|r| {
                hex::decode(&r.row)
                    .map(|b| (r.party.clone(), b))
                    .map_err(|_| Error::Hex {
                        field: "row",
                        expected: 0,
                    })
            })
            .collect()
    }
}
