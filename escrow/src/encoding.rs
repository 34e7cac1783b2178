//! Shared encoding rules of every escrow-lab JSON file.
//!
//! * Every document has `"version": 1`; the version is read first so that a newer file gets
//!   "unsupported version" rather than a confusing field error.
//! * Points and scalars are lowercase hex of their compressed encodings (G1: 48 bytes, G2: 96
//!   bytes, scalars: 32 bytes big-endian). Decoding validates: on the curve, in the prime-order
//!   subgroup (blst's `from_compressed` does both), and not the identity.

use blsttc::{G1Affine, G2Affine};
use group::prime::PrimeCurveAffine;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// `t` as RFC 3339, in its own offset ([`Error::TimeRange`] for a year outside 0..=9999, the
/// one time RFC 3339 cannot write).
pub fn rfc3339(t: time::OffsetDateTime) -> Result<String> {
    t.format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| Error::TimeRange(i128::from(t.unix_timestamp())))
}

/// The format version every file of this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;

#[derive(Deserialize)]
struct VersionProbe {
    version: Option<u64>,
}

/// Parses a versioned JSON document: the version is checked first, then the full document.
pub fn from_json<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T> {
    let probe: VersionProbe =
        serde_json::from_slice(bytes).map_err(|error| Error::Json { what, error })?;
    match probe.version {
        Some(FORMAT_VERSION) => {}
        Some(found) => {
            return Err(Error::UnsupportedVersion {
                what,
                found,
                expected: FORMAT_VERSION,
            });
        }
        None => {
            return Err(Error::Json {
                what,
                error: serde::de::Error::missing_field("version"),
            });
        }
    }
    serde_json::from_slice(bytes).map_err(|error| Error::Json { what, error })
}

/// Serializes a document as pretty JSON with a trailing newline.
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut out =
        serde_json::to_vec_pretty(value).map_err(|_| Error::Internal(crate::Bug::JsonEncoding))?;
    out.push(b'\n');
    Ok(out)
}

/// Decodes exactly `N` bytes of lowercase hex.
pub fn hex_array<const N: usize>(field: &'static str, s: &str) -> Result<[u8; N]> {
    let bad = || Error::Hex { field, expected: N };
    if s.len() != 2 * N || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(bad());
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| bad())?;
    Ok(out)
}

/// Decodes a compressed G1 point; rejects the identity.
pub fn g1_from_hex(field: &'static str, s: &str) -> Result<G1Affine> {
    g1_from_bytes(field, &hex_array::<48>(field, s)?)
}

/// Decodes a compressed G2 point; rejects the identity.
pub fn g2_from_hex(field: &'static str, s: &str) -> Result<G2Affine> {
    g2_from_bytes(field, &hex_array::<96>(field, s)?)
}

/// Why a compressed point is refused, checked in this order: the encoding and the curve
/// equation, the identity, the prime-order subgroup.
const OFF_CURVE: &str = "not a point of the curve";
const IDENTITY: &str = "the identity point";
const OUTSIDE: &str = "not in the prime-order subgroup";

/// The checks after decoding, in order: on the curve (decoded at all), not the identity, in
/// the prime-order subgroup.
fn checked<P>(
    field: &'static str,
    group: &'static str,
    decoded: Option<P>,
    is_identity: impl Fn(&P) -> bool,
    is_torsion_free: impl Fn(&P) -> bool,
) -> Result<P> {
    let bad = |reason| Error::InvalidPoint {
        field,
        group,
        reason,
    };
    let p = decoded.ok_or_else(|| bad(OFF_CURVE))?;
    if is_identity(&p) {
        return Err(bad(IDENTITY));
    }
    if !is_torsion_free(&p) {
        return Err(bad(OUTSIDE));
    }
    Ok(p)
}

/// Validates a compressed G1 point (curve, not identity, subgroup).
pub fn g1_from_bytes(field: &'static str, bytes: &[u8; 48]) -> Result<G1Affine> {
    checked(
        field,
        "G1",
        G1Affine::from_compressed_unchecked(bytes).into(),
        |p| bool::from(p.is_identity()),
        |p| bool::from(p.is_torsion_free()),
    )
}

/// Validates a compressed G2 point (curve, not identity, subgroup).
pub fn g2_from_bytes(field: &'static str, bytes: &[u8; 96]) -> Result<G2Affine> {
    checked(
        field,
        "G2",
        G2Affine::from_compressed_unchecked(bytes).into(),
        |p| bool::from(p.is_identity()),
        |p| bool::from(p.is_torsion_free()),
    )
}

/// Lowercase hex of a G1 point.
pub fn g1_hex(p: &G1Affine) -> String {
    hex::encode(p.to_compressed())
}

/// Lowercase hex of a G2 point.
pub fn g2_hex(p: &G2Affine) -> String {
    hex::encode(p.to_compressed())
}

/// The points of a blsttc commitment's byte encoding (48-byte compressed G1 points, in
/// coefficient order; blsttc keeps the coefficients private), each validated.
pub(crate) fn commitment_points(bytes: &[u8]) -> Result<Vec<G1Affine>> {
    bytes
        .chunks(48)
        .map(|c| {
            let c: [u8; 48] = c
                .try_into()
                .map_err(|_| Error::Internal(crate::Bug::PointEncoding))?;
            g1_from_bytes("commitment", &c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_rejects_uppercase_wrong_length_and_garbage() {
        assert!(hex_array::<2>("f", "abcd").is_ok());
        assert!(hex_array::<2>("f", "ABCD").is_err());
        assert!(hex_array::<2>("f", "abc").is_err());
        assert!(hex_array::<2>("f", "abcdef").is_err());
        assert!(hex_array::<2>("f", "zzzz").is_err());
    }

    #[test]
    fn identity_and_off_curve_points_are_rejected() {
        let id = G1Affine::identity().to_compressed();
        assert!(g1_from_bytes("p", &id).is_err());
        let id2 = G2Affine::identity().to_compressed();
        assert!(g2_from_bytes("p", &id2).is_err());
        // A compressed encoding whose x has no point on the curve.
        let mut off = G1Affine::generator().to_compressed();
        off[47] ^= 1;
        assert!(g1_from_bytes("p", &off).is_err());
        let mut off2 = G2Affine::generator().to_compressed();
        off2[95] ^= 1;
        assert!(g2_from_bytes("p", &off2).is_err());
    }

    #[test]
    fn version_is_checked_before_fields() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Doc {
            version: u64,
            x: u8,
        }
        let e = from_json::<Doc>("doc", br#"{"version":2,"y":1}"#).unwrap_err();
        assert!(
            matches!(e, Error::UnsupportedVersion { found: 2, .. }),
            "{e}"
        );
        let e = from_json::<Doc>("doc", br#"{"x":1}"#).unwrap_err();
        assert!(e.to_string().contains("version"), "{e}");
        let e = from_json::<Doc>("doc", b"{not json").unwrap_err();
        assert!(matches!(e, Error::Json { .. }));
        assert!(from_json::<Doc>("doc", br#"{"version":1,"x":1}"#).is_ok());
    }
}

/// Whether `c` is a character that does not show as itself on a terminal line: controls
/// (newline, carriage return, escape…), the line and paragraph separators (U+2028, U+2029),
/// format characters that reorder, join or hide text (bidirectional marks, overrides and
/// isolates, zero-width characters, the soft hyphen, the byte order mark, tag characters,
/// interlinear annotation marks, Arabic and Syriac number signs, variation selectors, which
/// can carry hidden bytes after a visible character), blank fillers (Hangul fillers,
/// the blank Braille pattern), private-use characters and noncharacters.
pub fn is_hidden(c: char) -> bool {
    let u = u32::from(c);
    c.is_control()
        || matches!(u,
            0x00AD | 0x034F | 0x061C | 0x0600..=0x0605 | 0x06DD | 0x070F | 0x08E2 | 0x115F
            | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F | 0x200B..=0x200F | 0x2028..=0x202E
            | 0x205F..=0x206F | 0x2800 | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0
            | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF
            | 0xFDD0..=0xFDEF)
        || u & 0xFFFE == 0xFFFE
}

/// Text from a message, a peer or a record, made safe to print on one terminal line: every
/// [`is_hidden`] character is shown as a Rust escape (`\n`, `\u{1b}`, `\u{2028}`), so that nothing
/// a sender writes can forge a line of a tool's output or hide part of one. Other text is
/// unchanged.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The JSON document every tool prints on standard output for a failed command under
/// `--json` (the one-line message still goes to standard error, the exit code is the same):
/// `{"version": 1, "ok": false, "exit_code": N, "error": "…"}`. `extra` fields (for example
/// the approvals an execution discarded) are added beside them.
pub fn json_error(message: &str, exit_code: u8, extra: Option<serde_json::Value>) -> String {
    let mut doc = serde_json::json!({
        "version": FORMAT_VERSION,
        "ok": false,
        "exit_code": exit_code,
        "error": message,
    });
    if let (Some(serde_json::Value::Object(extra)), Some(map)) = (extra, doc.as_object_mut()) {
        for (k, v) in extra {
            map.entry(k).or_insert(v);
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| String::from("{\"ok\": false}"))
}

/// For a usage error (exit 2) of a command line that asks for JSON: the JSON error document
/// of its message's first line (the line stderr starts with), to print on stdout beside the
/// usage text on stderr. `None` when the command line does not ask for JSON.
pub fn usage_error_json(message: &str) -> Option<String> {
    if !args_want_json(std::env::args_os()) {
        return None;
    }
    let first = message.lines().next().unwrap_or("error: usage");
    Some(json_error(&printable(first), 2, None))
}

/// Whether the command line asks for JSON output (`--json` before any `--`), for reporting a
/// usage error that clap found before the options were parsed.
pub fn args_want_json(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    args.into_iter()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// Whether an error (one link of a chain) is standard output closed by its reader (`tool |
/// head -1`): the tools then stop quietly, as a pipe's writer should, instead of reporting an
/// error the user did not make.
pub fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod printable_tests {
    use super::printable;

    #[test]
    fn control_and_invisible_characters_are_escaped_and_nothing_else() {
        assert_eq!(printable("plain text, ünïcode ✓"), "plain text, ünïcode ✓");
        assert_eq!(
            printable("a\n2026-11-10  bob → alice: x\r\u{1b}[2K"),
            "a\\n2026-11-10  bob → alice: x\\r\\u{1b}[2K"
        );
        assert_eq!(printable("W-1\u{200b}"), "W-1\\u{200b}");
        assert_eq!(
            printable("3 pm.\u{fe00}\u{fe0f}"),
            "3 pm.\\u{fe00}\\u{fe0f}"
        );
        assert_eq!(printable("\u{202e}txt.exe"), "\\u{202e}txt.exe");
        assert!(
            !printable("x\u{7f}\u{85}\u{feff}")
                .chars()
                .any(|c| c.is_control())
        );
    }
}
