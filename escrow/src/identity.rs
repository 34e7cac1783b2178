//! Scope identities: the (realm, generation, epoch, account) an escrow key is bound to.
//!
//! # Identity bytes
//!
//! ```text
//! identity = lp("escrow-lab/v1/identity") ‖ lp(realm) ‖ u32_be(generation)
//!            ‖ u64_be(epoch) ‖ lp(account)
//! lp(x)    = u16_be(len(x)) ‖ x
//! ```
//!
//! Every field has a fixed width or a length prefix, so two different scopes never share an
//! encoding. The identity point is
//! `Q_id = hash_to_curve_G2(identity, DST_ID)` (RFC 9380, suite
//! `BLS12381G2_XMD:SHA-256_SSWU_RO_`) with [`DST_ID`]. Warrant approvals hash to G2 under the
//! different [`DST_WARRANT`](crate::release::DST_WARRANT), so no approval signature can ever
//! equal an identity key.
//!
//! # Epochs
//!
//! `epoch = floor(unix_seconds / epoch_length)`, by default one UTC day (86,400 s).

use std::fmt;

use blsttc::{G2Affine, G2Projective};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Domain separation tag for hashing identities to G2 (RFC 9380 §3.1).
pub const DST_ID: &[u8] = b"ESCROW-LAB-V1-IDENTITY_BLS12381G2_XMD:SHA-256_SSWU_RO_";

/// Domain string at the start of every identity encoding.
pub const IDENTITY_DOMAIN: &[u8] = b"escrow-lab/v1/identity";

/// Default epoch length: one day.
pub const DEFAULT_EPOCH_LENGTH: u64 = 86_400;

/// Longest allowed epoch: 366 days.
pub const MAX_EPOCH_LENGTH: u64 = 366 * 86_400;

/// Checks a name used for accounts, authorities and realms: 1–64 characters of
/// `[a-z0-9._@-]`.
pub fn check_name(kind: &'static str, name: &str) -> Result<()> {
    // A leading dot is refused: names become file and folder names in the lab (".", "..").
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'@' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName {
            kind,
            name: name.escape_debug().to_string(),
        })
    }
}

/// Parses an epoch length such as `1d`, `12h`, `30m` or `3600s` into seconds.
pub fn parse_epoch_length(s: &str) -> Result<u64> {
    let bad = || Error::EpochLength(s.escape_debug().to_string());
    if !s.is_ascii() || s.is_empty() {
        return Err(bad());
    }
    let (digits, unit) = s.split_at(s.len() - 1);
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 9 {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let secs = n.checked_mul(mult).ok_or_else(bad)?;
    if secs == 0 || secs > MAX_EPOCH_LENGTH {
        return Err(bad());
    }
    Ok(secs)
}

/// Formats an epoch length in the largest unit that divides it (`86400` → `1d`).
pub fn format_epoch_length(secs: u64) -> String {
    for (unit, m) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs.is_multiple_of(m) {
            return format!("{}{unit}", secs / m);
        }
    }
    format!("{secs}s")
}

/// Parses an RFC 3339 time given for option `what` (in UTC), or returns the current time to
/// the second when none is given. The binaries' `--at`, `--from` and `--to` options use it.
pub fn time_or_now(what: &'static str, s: Option<&str>) -> Result<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let bad = |v: &str| Error::BadTime {
        what,
        value: v.escape_debug().to_string(),
    };
    match s {
        None => time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .map_err(|_| Error::Internal(crate::Bug::Clock)),
        Some(v) => {
            let t = time::OffsetDateTime::parse(v, &Rfc3339)
                .ok()
                .and_then(|t| t.checked_to_offset(time::UtcOffset::UTC))
                .ok_or_else(|| bad(v))?;
            if t.unix_timestamp() < 0 {
                return Err(Error::TimeRange(i128::from(t.unix_timestamp())));
            }
            Ok(t)
        }
    }
}

/// The epoch containing `unix_seconds`.
pub fn epoch_at(unix_seconds: i64, epoch_length: u64) -> Result<u64> {
    if unix_seconds < 0 || epoch_length == 0 {
        return Err(Error::TimeRange(i128::from(unix_seconds)));
    }
    Ok(unix_seconds as u64 / epoch_length)
}

/// The epoch containing a UTC time.
pub fn epoch_of(t: time::OffsetDateTime, epoch_length: u64) -> Result<u64> {
    epoch_at(t.unix_timestamp(), epoch_length)
}

/// One escrow scope: the traffic of `account` during `epoch` under one generation of a realm.
///
/// Deserialization validates the names, so every identity has an unambiguous encoding.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "ScopeIdentityFields")]
pub struct ScopeIdentity {
    realm: String,
    generation: u32,
    epoch: u64,
    account: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeIdentityFields {
    realm: String,
    generation: u32,
    epoch: u64,
    account: String,
}

impl TryFrom<ScopeIdentityFields> for ScopeIdentity {
    type Error = Error;

    fn try_from(f: ScopeIdentityFields) -> Result<Self> {
        Self::new(&f.realm, f.generation, f.epoch, &f.account)
    }
}

impl ScopeIdentity {
    /// Builds a scope identity; realm and account must be valid names.
    pub fn new(realm: &str, generation: u32, epoch: u64, account: &str) -> Result<Self> {
        check_name("realm", realm)?;
        check_name("account", account)?;
        Ok(Self {
            realm: realm.to_owned(),
            generation,
            epoch,
            account: account.to_owned(),
        })
    }

    /// Re-validates an identity that came from a file.
    pub fn validate(&self) -> Result<()> {
        check_name("realm", &self.realm)?;
        check_name("account", &self.account)
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The generation number.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The epoch number.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The canonical identity bytes (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + IDENTITY_DOMAIN.len() + 2 * 66 + 12);
        push_lp(&mut out, IDENTITY_DOMAIN);
        push_lp(&mut out, self.realm.as_bytes());
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&self.epoch.to_be_bytes());
        push_lp(&mut out, self.account.as_bytes());
        out
    }

    /// `Q_id = hash_to_curve_G2(identity bytes, DST_ID)`.
    pub fn point(&self) -> G2Affine {
        G2Projective::hash_to_curve(&self.to_bytes(), DST_ID, &[]).into()
    }
}

impl fmt::Debug for ScopeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopeIdentity({self})")
    }
}

impl fmt::Display for ScopeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{}/g{}/e{}",
            self.account, self.realm, self.generation, self.epoch
        )
    }
}

fn push_lp(out: &mut Vec<u8>, bytes: &[u8]) {
    // Names are at most 64 bytes and the domain is constant, so the length fits in u16.
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["alice", "a", "bob.smith@example-1_x", &"a".repeat(64)] {
            check_name("account", ok).unwrap();
        }
        for bad in [
            "",
            "Alice",
            "a b",
            "é",
            "a/b",
            &"a".repeat(65),
            "a\0",
            ".",
            "..",
            ".x",
        ] {
            assert!(check_name("account", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn epoch_lengths() {
        assert_eq!(parse_epoch_length("1d").unwrap(), 86_400);
        assert_eq!(parse_epoch_length("12h").unwrap(), 43_200);
        assert_eq!(parse_epoch_length("30m").unwrap(), 1_800);
        assert_eq!(parse_epoch_length("90s").unwrap(), 90);
        for bad in [
            "",
            "d",
            "0d",
            "1",
            "1w",
            "-1d",
            "367d",
            "1.5d",
            "99999999999d",
            "1 d",
        ] {
            assert!(parse_epoch_length(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_epoch_length(86_400), "1d");
        assert_eq!(format_epoch_length(7_200), "2h");
        assert_eq!(format_epoch_length(90), "90s");
    }

    #[test]
    fn times_parse_as_utc() {
        let t = time_or_now("--at", Some("2026-11-27T10:00:00+02:00")).unwrap();
        assert_eq!(t.unix_timestamp(), 1_795_737_600 + 8 * 3_600);
        assert_eq!(t.offset(), time::UtcOffset::UTC);
        let e = time_or_now("--at", Some("noon")).unwrap_err().to_string();
        assert_eq!(
            e,
            "--at 'noon' is not an RFC 3339 time (for example 2026-12-03T09:30:00Z)"
        );
        let e = time_or_now("--at", Some("1969-12-31T23:59:59Z"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z"),
            "{e}"
        );
        assert!(time_or_now("--at", None).is_ok());
    }

    #[test]
    fn epochs_are_utc_days() {
        // 2026-11-27T05:37:42Z and 23:59:59Z are the same day; midnight starts the next.
        let day = 1_795_737_600 / 86_400; // 2026-11-27T00:00:00Z
        assert_eq!(epoch_at(1_795_757_862, 86_400).unwrap(), day);
        assert_eq!(epoch_at(1_795_823_999, 86_400).unwrap(), day);
        assert_eq!(epoch_at(1_795_824_000, 86_400).unwrap(), day + 1);
        assert!(epoch_at(-1, 86_400).is_err());
    }

    #[test]
    fn deserialization_validates_names() {
        let ok = r#"{"realm":"lab","generation":1,"epoch":2,"account":"al"}"#;
        assert!(serde_json::from_str::<ScopeIdentity>(ok).is_ok());
        let long = format!(
            r#"{{"realm":"lab","generation":1,"epoch":2,"account":"{}"}}"#,
            "a".repeat(70_000)
        );
        assert!(serde_json::from_str::<ScopeIdentity>(&long).is_err());
        let bad = r#"{"realm":"lab","generation":1,"epoch":2,"account":"A"}"#;
        assert!(serde_json::from_str::<ScopeIdentity>(bad).is_err());
    }

    #[test]
    fn identity_bytes_are_exact() {
        let id = ScopeIdentity::new("lab", 1, 2, "al").unwrap();
        let mut want = vec![0, 22];
        want.extend_from_slice(b"escrow-lab/v1/identity");
        want.extend_from_slice(&[0, 3]);
        want.extend_from_slice(b"lab");
        want.extend_from_slice(&[0, 0, 0, 1]);
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 2]);
        want.extend_from_slice(&[0, 2]);
        want.extend_from_slice(b"al");
        assert_eq!(id.to_bytes(), want);
    }

    #[test]
    fn different_scopes_hash_to_different_points() {
        let a = ScopeIdentity::new("lab", 1, 2, "alice").unwrap();
        let variants = [
            ScopeIdentity::new("lab", 1, 3, "alice").unwrap(),
            ScopeIdentity::new("lab", 2, 2, "alice").unwrap(),
            ScopeIdentity::new("lab2", 1, 2, "alice").unwrap(),
            ScopeIdentity::new("lab", 1, 2, "alicf").unwrap(),
        ];
        for v in &variants {
            assert_ne!(a.point(), v.point(), "{v}");
        }
        assert_eq!(a.point(), a.clone().point());
    }
}
