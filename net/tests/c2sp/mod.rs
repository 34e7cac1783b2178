//! An independent C2SP transparency-log client, written only from the specification texts.
//!
//! Use it from an integration test with `mod c2sp;` (this file is `tests/c2sp/mod.rs`).
//! It depends on `std`, `sha2` 0.10, `ed25519-dalek` 2, `base64` 0.22 and `ureq` 2 (blocking;
//! the `gzip` feature, on by default, is needed to read logs that gzip their responses; no TLS
//! feature is needed for `http://` URLs).
//!
//! Nothing here was taken from the code of the project it tests. Every rule below comes from
//! these texts, quoted where the rule is applied:
//!
//! * `tlog-tiles.md`, `tlog-checkpoint.md`, `signed-note.md`, `tlog-witness.md` and
//!   `tlog-cosignature.md` of the C2SP/C2SP repository (c2sp.org), as stored at commits
//!   `0ad71eb1`, `27938939`, `05528762` (and `1f701bb5`), `055270b5` and `01194db1`;
//! * RFC 6962, Section 2.1 (Merkle Tree Hash) and Section 2.1.2 (consistency proofs), and the
//!   verification algorithm of RFC 9162, Section 2.1.4.2;
//! * for the verifier-key ("vkey") text form, which `tlog-cosignature.md` cites as
//!   `c2sp.org/signed-note@v1.0.0#verifier-keys`: the form `<name>+<hash>+<keydata>` of the
//!   `golang.org/x/mod/sumdb/note` documentation, where `<hash>` is the key ID as 8 hex digits
//!   and `<keydata>` is `base64(signature type || public key)`.
//!
//! # Signed notes (`signed-note.md`, "Format" and "Signatures")
//!
//! > A signed note consists of a text ending in newline (U+000A), followed by a blank line
//! > (only a newline), followed by one or more signature lines of this form: em dash (U+2014),
//! > space (U+0020), key name, space, base64-encoded signature, newline.
//!
//! > Signed notes MUST be valid UTF-8 and MUST NOT contain any ASCII control characters (those
//! > below U+0020) other than newline.
//!
//! > The note text includes the final newline but not the separating blank line. The note
//! > text MAY contain empty lines; the text is separated from the signatures by the last empty
//! > line in the note.
//!
//! > Key names MUST be non-empty and MUST NOT contain any Unicode spaces or plus (U+002B)
//! > characters.
//!
//! > Signatures are the base64 encoding of 4+n bytes. The first four bytes in the signature
//! > are the uint32 key ID stored in big-endian order.
//!
//! > Verifiers MUST ignore signatures from unknown keys, even if they share a name or ID (but
//! > not both) with a known key. If the key name and ID match a known key, verifiers MUST
//! > verify the signature. If a signature from a known key fails to verify, clients SHOULD
//! > reject the whole note. If no signature from a known key verifies successfully, clients
//! > MUST reject the note.
//!
//! > key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)\[:4\]
//!
//! ([`parse_and_verify_checkpoint`], [`Verifier::from_vkey`], [`key_id`], [`signed_note`]).
//! This client rejects a note whose known-key signature fails (the SHOULD above), and accepts
//! at most 100 signatures ("MUST accept at least up to 16 signatures").
//!
//! # Checkpoints (`tlog-checkpoint.md`, "Note text" and "Signatures")
//!
//! > The note text is a sequence of at least three non-empty lines, separated by newlines
//! > (U+000A).
//!
//! > 1. The first line is the **origin** [...] The origin MUST be non-empty
//! > 2. The second line is the **tree size**, the ASCII decimal representation of the number
//! >    of leaves in the tree, with no leading zeroes (unless the tree is empty, in which case
//! >    the tree size is `0`).
//! > 3. The third line is the **root hash**, the base64 encoding of the root of the
//! >    \[RFC 6962\] Merkle hash tree at the specified tree size.
//! > 4. Any following lines are **extension lines**, opaque and OPTIONAL. Extension lines, if
//! >    any, MUST be non-empty.
//!
//! > The log's key name in its signature line SHOULD match the origin line.
//!
//! > According to the note specification, clients MUST ignore unknown signatures.
//!
//! ([`parse_and_verify_checkpoint`] requires the origin to equal the log key's name, as the
//! test suite asks; [`cosignature_lines`] uses the same rule to tell the log's lines apart.)
//!
//! # Tiles (`tlog-tiles.md`, "Checkpoints", "Merkle Tree", "Partial Tiles", "Log entries")
//!
//! > The Signed Tree Head MUST be served as a \[checkpoint\] at `<prefix>/checkpoint` with
//! > `Content-Type: text/plain; charset=utf-8`.
//!
//! > Tiles are served at `<prefix>/tile/<L>/<N>[.p/<W>]` with
//! > `Content-Type: application/octet-stream`.
//!
//! > `<L>` is the “level” of the tile, and MUST be a decimal ASCII integer between 0 and 63,
//! > with no additional leading zeroes.
//!
//! > `<N>` is the index of the tile within the level. It MUST be a non-negative integer
//! > encoded into zero-padded 3-digit path elements. All but the last path element MUST begin
//! > with an `x`. For example, index 1234067 will be encoded as `x001/x234/067`.
//!
//! > The `.p/<W>` suffix is only present for partial tiles, defined below. `<W>` is the width
//! > of the tile, a decimal ASCII integer between 1 and 255, with no additional leading
//! > zeroes.
//!
//! > Full tiles MUST be exactly 256 hashes wide, or 8,192 bytes. At “level 0” tiles contain
//! > leaf hashes. At “level 1” and above, each hash in a tile is the Merkle Tree Hash of a
//! > *full* tile at the level below.
//!
//! > `MTH(D[(n * 256 + i) * 256**l : (n * 256 + i + 1) * 256**l])`
//!
//! > The partial tile at level *l* for a tree of size *s* has `floor(s / 256**l) mod 256`
//! > entries. Empty tiles MUST NOT be served.
//!
//! > Clients MUST NOT fetch arbitrary partial tiles without verifying a checkpoint with a size
//! > that requires their existence, and MAY fetch the full tile in parallel as a fallback in
//! > case the partial tile is not available anymore.
//!
//! > The log entries are served as a “entry bundles” at `<prefix>/tile/entries/<N>[.p/<W>]`
//! > with `Content-Type: application/octet-stream`.
//!
//! > Entry bundles are sequences of big-endian uint16 length-prefixed log entries. Each entry
//! > in a bundle hashes to the corresponding entry in the corresponding “level 0” Merkle Tree
//! > tile. Hashing of entries is performed according to RFC 6962, Section 2.1.
//!
//! > Logs MAY use `Content-Encoding: gzip` with no negotiation [...] Clients SHOULD include
//! > `gzip` and `identity` in their `Accept-Encoding` headers.
//!
//! ([`tile_path`], [`entries_path`], [`tile_layout`], [`audit`]. `audit` checks the two
//! `Content-Type`s, which the text makes a MUST, and falls back to the full tile only when a
//! partial one answers 404, as the last quoted sentence allows.)
//!
//! # Merkle trees (RFC 6962, Section 2.1 and 2.1.2)
//!
//! > The hash of an empty list is the hash of an empty string: MTH({}) = SHA-256().
//! > The hash of a list with one entry (also known as a leaf hash) is:
//! > MTH({d(0)}) = SHA-256(0x00 || d(0)).
//! > For n > 1, let k be the largest power of two smaller than n (i.e., k < n <= 2k). The
//! > Merkle Tree Hash of an n-element list D\[n\] is then defined recursively as
//! > MTH(D\[n\]) = SHA-256(0x01 || MTH(D\[0:k\]) || MTH(D\[k:n\])).
//!
//! > PROOF(m, D\[n\]) = SUBPROOF(m, D\[n\], true)
//! > SUBPROOF(m, D\[m\], true) = {}
//! > SUBPROOF(m, D\[m\], false) = {MTH(D\[m\])}
//! > If m <= k [...] SUBPROOF(m, D\[n\], b) = SUBPROOF(m, D\[0:k\], b) : MTH(D\[k:n\])
//! > If m > k [...] SUBPROOF(m, D\[n\], b) = SUBPROOF(m - k, D\[k:n\], false) : MTH(D\[0:k\])
//!
//! ([`leaf_hash`], [`node_hash`], [`rfc6962_root`], [`consistency_proof`];
//! [`verify_consistency`] follows RFC 9162, Section 2.1.4.2.)
//!
//! # Witnesses (`tlog-witness.md`, "add-checkpoint"; `tlog-cosignature.md`)
//!
//! > The request body MUST be a sequence of
//! >   - an old size line,
//! >   - zero or more consistency proof lines,
//! >   - and an empty line,
//! >   - followed by a \[checkpoint\].
//! >
//! > Each line MUST terminate in a newline character (U+000A).
//! >
//! > The old size line MUST consist of the string `old`, a single space (0x20), and the tree
//! > size of the previous checkpoint encoded as an ASCII decimal with no leading zeroes
//! > (unless the size is zero, in which case the encoding MUST be `0`).
//! >
//! > Each consistency proof line MUST encode a single hash in base64. The client MUST NOT send
//! > more than 63 consistency proof lines.
//!
//! ([`add_checkpoint_body`] does not enforce the 63-line limit, so that a test can send a
//! request that breaks it on purpose.)
//!
//! > The key ID for Ed25519 cosignatures MUST be computed as
//! > `SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 cosigner public key)[:4]`
//!
//! > The signed message MUST be two newline (U+000A) terminated lines (one header line and
//! > one timestamp line) followed by the whole note body of the cosigned checkpoint
//! > (including the final newline, but not including any signature lines).
//! > The header line MUST be the fixed string `cosignature/v1`, and provides domain separation.
//! > The timestamp line MUST consist of the string `time`, a single space (0x20), and
//! > `timestamped_signature.timestamp` encoded as an ASCII decimal with no leading zeroes.
//!
//! ([`cosignature_lines`], [`verify_cosignature`].)
//!
//! # API beyond the brief
//!
//! Besides the functions the test suite asked for, this module exports small helpers that its
//! own tests use and that a test forging checkpoints needs: [`key_id`], [`node_hash`],
//! [`verify_consistency`], [`tile_layout`], [`checkpoint_body`], [`signed_note`],
//! [`verify_cosignature`], the constants [`TILE_WIDTH`], [`SIG_TYPE_ED25519`] and
//! [`SIG_TYPE_COSIGNATURE_V1`], and on [`Verifier`]: `from_key`, `key_hash`, `key` and `vkey`.
//!
//! # Test vectors
//!
//! The unit tests at the end check the spec's own examples (tile index 1234067, the 70,000 and
//! 256 tile layouts, the `add-checkpoint` request body, the cosignature timestamp 1679315147),
//! the signed-note example key and note (`example.com/foo+530d903a+...`, from a revision of
//! `signed-note.md` newer than the stored copy, as quoted by other implementations' tests) and
//! the `golang.org/x/mod/sumdb/note` example (`PeterNeumann+c74f20a3+...`), the RFC 6962 roots
//! of the eight test leaves of certificate-transparency / transparency-dev and
//! transparency-dev's consistency proofs (1→1, 1→8, 6→8, 2→5, 6→7); and they run [`audit`]
//! against a small in-process tile server built from the spec text.

// Integration tests are binaries: helpers a given test does not call would warn.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::Read as _;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// Hashes in a full tile ("Full tiles MUST be exactly 256 hashes wide").
pub const TILE_WIDTH: u32 = 256;
/// Signature type byte of Ed25519 note signatures (`signed-note.md`, "Signature types").
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 witness cosignatures (`tlog-cosignature.md`).
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;

const SIG_LINE_PREFIX: &str = "\u{2014} ";
const MAX_SIGNATURES: usize = 100;
const MAX_RESPONSE_BYTES: u64 = 64 << 20;
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Signed notes and keys
// ---------------------------------------------------------------------------------------------

/// `SHA-256(key name || 0x0A || signature type || public key)[:4]` (`signed-note.md`,
/// "Signatures"; `tlog-cosignature.md` for type `0x04`).
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> [u8; 4] {
    let d = sha256(&[name.as_bytes(), b"\n", &[sig_type], public_key]);
    [d[0], d[1], d[2], d[3]]
}

/// "Key names MUST be non-empty and MUST NOT contain any Unicode spaces or plus (U+002B)
/// characters."
fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// Parses `<name>+<8 hex digits key ID>+<base64(type || key)>` and checks the declared key ID
/// against `SHA-256(name || 0x0A || type || key)[:4]`. Returns (name, type, key).
fn parse_vkey(vkey: &str) -> Result<(String, u8, Vec<u8>), String> {
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!(
            "vkey {vkey:?}: want <name>+<hex key ID>+<base64 key>"
        ));
    };
    if !valid_key_name(name) {
        return Err(format!("vkey {vkey:?}: invalid key name {name:?}"));
    }
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "vkey {vkey:?}: key ID {id_hex:?} is not 8 hex digits"
        ));
    }
    let id = u32::from_str_radix(id_hex, 16)
        .map_err(|e| format!("vkey {vkey:?}: key ID: {e}"))?
        .to_be_bytes();
    let raw = B64
        .decode(key_b64)
        .map_err(|e| format!("vkey {vkey:?}: key data is not base64: {e}"))?;
    let Some((&sig_type, key)) = raw.split_first() else {
        return Err(format!("vkey {vkey:?}: empty key data"));
    };
    if key_id(name, sig_type, key) != id {
        return Err(format!(
            "vkey {vkey:?}: key ID {id_hex} is not SHA-256(name || 0x0A || type || key)[:4] = {}",
            hex(&key_id(name, sig_type, key))
        ));
    }
    Ok((name.to_owned(), sig_type, key.to_vec()))
}

fn ed25519_key(vkey: &str, key: &[u8]) -> Result<VerifyingKey, String> {
    let bytes: [u8; 32] = key
        .try_into()
        .map_err(|_| format!("vkey {vkey:?}: Ed25519 key is {} bytes, not 32", key.len()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("vkey {vkey:?}: bad Ed25519 key: {e}"))
}

/// A log's Ed25519 note-verifier key (signature type `0x01`).
#[derive(Clone, Debug)]
pub struct Verifier {
    /// The key name, which for a log is its checkpoint origin.
    pub name: String,
    key_hash: [u8; 4],
    key: VerifyingKey,
}

impl Verifier {
    /// Parses a C2SP verifier key `<name>+<hex key ID>+<base64(0x01 || 32-byte key)>`.
    ///
    /// The name must be a valid key name, the key ID exactly 8 hex digits equal to
    /// `SHA-256(name || 0x0A || 0x01 || key)[:4]`, and the type byte `0x01` (Ed25519).
    pub fn from_vkey(vkey: &str) -> Result<Verifier, String> {
        let (name, sig_type, key) = parse_vkey(vkey)?;
        if sig_type != SIG_TYPE_ED25519 {
            return Err(format!(
                "vkey {vkey:?}: signature type 0x{sig_type:02x} is not Ed25519 (0x01)"
            ));
        }
        let key = ed25519_key(vkey, &key)?;
        Ok(Verifier {
            key_hash: key_id(&name, SIG_TYPE_ED25519, key.as_bytes()),
            name,
            key,
        })
    }

    /// The verifier for an Ed25519 public key under `name` (key ID computed per the spec).
    pub fn from_key(name: &str, key: VerifyingKey) -> Result<Verifier, String> {
        if !valid_key_name(name) {
            return Err(format!("invalid key name {name:?}"));
        }
        Ok(Verifier {
            name: name.to_owned(),
            key_hash: key_id(name, SIG_TYPE_ED25519, key.as_bytes()),
            key,
        })
    }

    /// The 4-byte key ID (key hash).
    pub fn key_hash(&self) -> [u8; 4] {
        self.key_hash
    }

    /// The Ed25519 public key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The vkey text form of this key.
    pub fn vkey(&self) -> String {
        let mut data = vec![SIG_TYPE_ED25519];
        data.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex(&self.key_hash), B64.encode(data))
    }
}

/// One signature line of a note.
#[derive(Clone, Debug)]
struct NoteSignature {
    name: String,
    key_id: [u8; 4],
    sig: Vec<u8>,
    line: String,
}

/// Splits a signed note into its text (with the final newline) and its signature lines.
fn parse_note(note: &[u8]) -> Result<(&str, Vec<NoteSignature>), String> {
    let s = std::str::from_utf8(note).map_err(|e| format!("note is not valid UTF-8: {e}"))?;
    if let Some(b) = s.bytes().find(|&b| b < 0x20 && b != b'\n') {
        return Err(format!("note contains the control character 0x{b:02x}"));
    }
    if !s.ends_with('\n') {
        return Err("note does not end in a newline".into());
    }
    let Some(split) = s.rfind("\n\n") else {
        return Err("note has no blank line before its signatures".into());
    };
    let text = &s[..split + 1];
    let block = &s[split + 2..];
    if block.is_empty() {
        return Err("note has no signature lines".into());
    }
    let mut sigs = Vec::new();
    for line in block[..block.len() - 1].split('\n') {
        let Some(rest) = line.strip_prefix(SIG_LINE_PREFIX) else {
            return Err(format!(
                "signature line {line:?} does not start with an em dash and a space"
            ));
        };
        let Some((name, b64)) = rest.split_once(' ') else {
            return Err(format!(
                "signature line {line:?} has no space after the key name"
            ));
        };
        if !valid_key_name(name) {
            return Err(format!("signature line {line:?}: invalid key name"));
        }
        let raw = B64
            .decode(b64)
            .map_err(|e| format!("signature line {line:?}: signature is not base64: {e}"))?;
        if raw.len() < 5 {
            return Err(format!(
                "signature line {line:?}: signature shorter than 4+1 bytes"
            ));
        }
        sigs.push(NoteSignature {
            name: name.to_owned(),
            key_id: [raw[0], raw[1], raw[2], raw[3]],
            sig: raw[4..].to_vec(),
            line: line.to_owned(),
        });
        if sigs.len() > MAX_SIGNATURES {
            return Err(format!("note has more than {MAX_SIGNATURES} signatures"));
        }
    }
    Ok((text, sigs))
}

/// Signs `text` (which must end in a newline) with an Ed25519 key and returns the signed note
/// `text || "\n" || "— <name> base64(key ID || signature)\n"`.
pub fn signed_note(text: &[u8], name: &str, key: &SigningKey) -> Vec<u8> {
    let id = key_id(name, SIG_TYPE_ED25519, key.verifying_key().as_bytes());
    let mut sig = id.to_vec();
    sig.extend_from_slice(&key.sign(text).to_bytes());
    let mut out = text.to_vec();
    out.push(b'\n');
    out.extend_from_slice(format!("{SIG_LINE_PREFIX}{name} {}\n", B64.encode(sig)).as_bytes());
    out
}

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------

/// A verified checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// First line of the note text.
    pub origin: String,
    /// Second line: the tree size.
    pub size: u64,
    /// Third line, decoded: the RFC 6962 root hash.
    pub root: [u8; 32],
    /// Lines after the third, if any.
    pub extensions: Vec<String>,
    /// Every signature line of the note, in order, known or not: (key name, key ID,
    /// signature bytes after the key ID).
    pub signatures: Vec<(String, [u8; 4], Vec<u8>)>,
    /// The signed note text: the body lines with the final newline, without the blank line.
    pub body: Vec<u8>,
}

/// The checkpoint note text `<origin>\n<size>\n<base64 root>\n`.
pub fn checkpoint_body(origin: &str, size: u64, root: &[u8; 32]) -> String {
    format!("{origin}\n{size}\n{}\n", B64.encode(root))
}

fn parse_checkpoint_text(text: &str) -> Result<(String, u64, [u8; 32], Vec<String>), String> {
    let lines: Vec<&str> = text[..text.len().saturating_sub(1)].split('\n').collect();
    if lines.len() < 3 {
        return Err(format!(
            "checkpoint has {} lines, needs at least 3",
            lines.len()
        ));
    }
    if let Some(i) = lines.iter().position(|l| l.is_empty()) {
        return Err(format!("checkpoint line {} is empty", i + 1));
    }
    let size_line = lines[1];
    if !size_line.bytes().all(|b| b.is_ascii_digit())
        || (size_line.len() > 1 && size_line.starts_with('0'))
    {
        return Err(format!(
            "checkpoint size {size_line:?} is not a decimal without leading zeroes"
        ));
    }
    let size: u64 = size_line
        .parse()
        .map_err(|e| format!("checkpoint size {size_line:?}: {e}"))?;
    let root: [u8; 32] = B64
        .decode(lines[2])
        .map_err(|e| format!("checkpoint root hash is not base64: {e}"))?
        .try_into()
        .map_err(|v: Vec<u8>| format!("checkpoint root hash is {} bytes, not 32", v.len()))?;
    let extensions = lines[3..].iter().map(|l| (*l).to_owned()).collect();
    Ok((lines[0].to_owned(), size, root, extensions))
}

/// Parses a signed checkpoint note and verifies the log's signature.
///
/// Every signature line whose key name and key ID both match `log` must verify, and at least
/// one must; other signature lines are ignored (but listed in [`Checkpoint::signatures`]). The
/// note text must be a checkpoint body and its origin must equal `log.name`.
pub fn parse_and_verify_checkpoint(note: &[u8], log: &Verifier) -> Result<Checkpoint, String> {
    let (text, sigs) = parse_note(note)?;
    let mut verified = 0;
    for s in sigs
        .iter()
        .filter(|s| s.name == log.name && s.key_id == log.key_hash)
    {
        let sig = Signature::from_slice(&s.sig)
            .map_err(|_| format!("log signature is {} bytes, not 64", s.sig.len()))?;
        log.key
            .verify(text.as_bytes(), &sig)
            .map_err(|_| format!("log signature by {} does not verify", log.name))?;
        verified += 1;
    }
    if verified == 0 {
        return Err(format!(
            "checkpoint carries no signature by the log key {}+{}",
            log.name,
            hex(&log.key_hash)
        ));
    }
    let (origin, size, root, extensions) = parse_checkpoint_text(text)?;
    if origin != log.name {
        return Err(format!(
            "checkpoint origin {origin:?} is not the log key name {:?}",
            log.name
        ));
    }
    Ok(Checkpoint {
        origin,
        size,
        root,
        extensions,
        signatures: sigs
            .into_iter()
            .map(|s| (s.name, s.key_id, s.sig))
            .collect(),
        body: text.as_bytes().to_vec(),
    })
}

/// The signature lines (without their newline) of a signed note that are not the log's, that
/// is whose key name differs from the note's first line (the origin), as "The log's key name in
/// its signature line SHOULD match the origin line". Returns nothing if `note` is not a
/// well-formed signed note.
pub fn cosignature_lines(note: &[u8]) -> Vec<String> {
    let Ok((text, sigs)) = parse_note(note) else {
        return Vec::new();
    };
    let origin = text.split('\n').next().unwrap_or_default();
    sigs.into_iter()
        .filter(|s| s.name != origin)
        .map(|s| s.line)
        .collect()
}

/// Verifies an Ed25519 witness cosignature (`cosignature/v1`, type `0x04`) on a signed
/// checkpoint. `witness_vkey` is `<name>+<hex key ID>+<base64(0x04 || 32-byte key)>`. Every
/// line matching the witness's name and key ID must verify and at least one must; returns the
/// timestamp of the first.
pub fn verify_cosignature(note: &[u8], witness_vkey: &str) -> Result<u64, String> {
    let (name, sig_type, key) = parse_vkey(witness_vkey)?;
    if sig_type != SIG_TYPE_COSIGNATURE_V1 {
        return Err(format!(
            "vkey {witness_vkey:?}: signature type 0x{sig_type:02x} is not cosignature/v1 (0x04)"
        ));
    }
    let key = ed25519_key(witness_vkey, &key)?;
    let id = key_id(&name, SIG_TYPE_COSIGNATURE_V1, key.as_bytes());
    let (text, sigs) = parse_note(note)?;
    let mut first = None;
    for s in sigs.iter().filter(|s| s.name == name && s.key_id == id) {
        if s.sig.len() != 8 + 64 {
            return Err(format!(
                "cosignature by {name} is {} bytes, not 8+64",
                s.sig.len()
            ));
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&s.sig[..8]);
        let ts = u64::from_be_bytes(ts);
        if ts > i64::MAX as u64 {
            return Err(format!(
                "cosignature by {name}: timestamp {ts} exceeds 2^63 - 1"
            ));
        }
        let msg = format!("cosignature/v1\ntime {ts}\n{text}");
        let sig = Signature::from_slice(&s.sig[8..])
            .map_err(|_| format!("cosignature by {name}: malformed signature"))?;
        key.verify(msg.as_bytes(), &sig)
            .map_err(|_| format!("cosignature by {name} does not verify"))?;
        first.get_or_insert(ts);
    }
    first.ok_or_else(|| format!("note carries no cosignature by {name}+{}", hex(&id)))
}

// ---------------------------------------------------------------------------------------------
// Tile paths
// ---------------------------------------------------------------------------------------------

/// `<N>` "encoded into zero-padded 3-digit path elements", all but the last prefixed by `x`.
fn encode_index(index: u64) -> String {
    let mut groups = vec![index % 1000];
    let mut rest = index / 1000;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let mut out = String::new();
    for (i, g) in groups.iter().rev().enumerate() {
        if i > 0 {
            out.push('/');
        }
        if i + 1 < groups.len() {
            out.push('x');
        }
        let _ = write!(out, "{g:03}");
    }
    out
}

fn width_suffix(width: u32) -> String {
    assert!(
        (1..=TILE_WIDTH).contains(&width),
        "tile width {width} is not in 1..=256"
    );
    if width < TILE_WIDTH {
        format!(".p/{width}")
    } else {
        String::new()
    }
}

/// `tile/<L>/<N>[.p/<W>]` for the hash tile `index` at `level` holding `width` hashes (the
/// `.p/<W>` suffix only when `width < 256`). Panics unless `level <= 63` and
/// `1 <= width <= 256`.
pub fn tile_path(level: u8, index: u64, width: u32) -> String {
    assert!(level <= 63, "tile level {level} is not in 0..=63");
    format!(
        "tile/{level}/{}{}",
        encode_index(index),
        width_suffix(width)
    )
}

/// `tile/entries/<N>[.p/<W>]` for the entry bundle `index` holding `width` entries. Panics
/// unless `1 <= width <= 256`.
pub fn entries_path(index: u64, width: u32) -> String {
    format!(
        "tile/entries/{}{}",
        encode_index(index),
        width_suffix(width)
    )
}

/// Every hash tile a tree of `size` leaves is made of, as (level, index, width), by level then
/// index: at level `l` there are `floor(s / 256**(l+1))` full tiles and, when
/// `floor(s / 256**l) mod 256` is not zero, one partial tile of that width.
pub fn tile_layout(size: u64) -> Vec<(u8, u64, u32)> {
    let mut out = Vec::new();
    let mut count = size; // floor(size / 256**level)
    let mut level = 0u8;
    while count > 0 {
        let full = count / u64::from(TILE_WIDTH);
        out.extend((0..full).map(|n| (level, n, TILE_WIDTH)));
        let partial = count % u64::from(TILE_WIDTH);
        if partial > 0 {
            out.push((level, full, partial as u32));
        }
        count = full;
        level += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// RFC 6962 Merkle trees
// ---------------------------------------------------------------------------------------------

/// `SHA-256(0x00 || entry)`: the RFC 6962 leaf hash.
pub fn leaf_hash(entry: &[u8]) -> [u8; 32] {
    sha256(&[&[0x00], entry])
}

/// `SHA-256(0x01 || left || right)`: the RFC 6962 interior node hash.
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    sha256(&[&[0x01], left, right])
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// `MTH(D[n])` over leaf hashes: `SHA-256()` for no leaves, the leaf hash for one, else
/// `node_hash(MTH(D[0:k]), MTH(D[k:n]))` with `k` the largest power of two below `n`.
pub fn rfc6962_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => sha256(&[]),
        1 => leaves[0],
        n => {
            let k = split_point(n);
            node_hash(&rfc6962_root(&leaves[..k]), &rfc6962_root(&leaves[k..]))
        }
    }
}

fn subproof(m: usize, d: &[[u8; 32]], b: bool) -> Vec<[u8; 32]> {
    let n = d.len();
    if m == n {
        return if b { Vec::new() } else { vec![rfc6962_root(d)] };
    }
    let k = split_point(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(rfc6962_root(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(rfc6962_root(&d[..k]));
        p
    }
}

/// `PROOF(old, D[new])` of RFC 6962, Section 2.1.2, over the first `new` of `leaves` (leaf
/// hashes). Empty when `old == 0` ("The proof MUST be empty if the old size is zero",
/// `tlog-witness.md`) or `old == new`. Panics unless `old <= new <= leaves.len()`.
pub fn consistency_proof(leaves: &[[u8; 32]], old: u64, new: u64) -> Vec<[u8; 32]> {
    let m = usize::try_from(old).unwrap_or(usize::MAX);
    let n = usize::try_from(new).unwrap_or(usize::MAX);
    assert!(
        m <= n && n <= leaves.len(),
        "consistency_proof: need old {old} <= new {new} <= {} leaves",
        leaves.len()
    );
    if m == 0 || m == n {
        return Vec::new();
    }
    subproof(m, &leaves[..n], true)
}

/// Verifies a consistency proof between the trees of `old` and `new` leaves (RFC 9162,
/// Section 2.1.4.2). Equal sizes need an empty proof and equal roots; `old == 0` needs an
/// empty proof.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &[u8; 32],
    new_root: &[u8; 32],
    proof: &[[u8; 32]],
) -> Result<(), String> {
    if old > new {
        return Err(format!("old size {old} is larger than new size {new}"));
    }
    if old == new {
        if !proof.is_empty() {
            return Err("sizes are equal but the proof is not empty".into());
        }
        if old_root != new_root {
            return Err("sizes are equal but the roots differ".into());
        }
        return Ok(());
    }
    if old == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err("old size is zero but the proof is not empty".into())
        };
    }
    if proof.is_empty() {
        return Err("empty proof".into());
    }
    let mut path = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err("proof is too long".into());
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err("proof is too short".into());
    }
    if &fr != old_root {
        return Err("proof does not lead to the old root".into());
    }
    if &sr != new_root {
        return Err("proof does not lead to the new root".into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// tlog-witness
// ---------------------------------------------------------------------------------------------

/// The body of `POST <submission prefix>/add-checkpoint`: `old <old_size>\n`, one base64 line
/// per proof hash, an empty line, then the signed checkpoint note as given.
pub fn add_checkpoint_body(old_size: u64, proof: &[[u8; 32]], checkpoint_note: &[u8]) -> Vec<u8> {
    let mut out = format!("old {old_size}\n");
    for h in proof {
        out.push_str(&B64.encode(h));
        out.push('\n');
    }
    out.push('\n');
    let mut out = out.into_bytes();
    out.extend_from_slice(checkpoint_note);
    out
}

// ---------------------------------------------------------------------------------------------
// tlog-tiles audit
// ---------------------------------------------------------------------------------------------

/// What [`audit`] fetched and checked.
#[derive(Clone, Debug)]
pub struct Audit {
    /// The verified checkpoint.
    pub checkpoint: Checkpoint,
    /// All `checkpoint.size` entries, in order.
    pub entries: Vec<Vec<u8>>,
    /// Tile resources fetched (entry bundles and hash tiles, fallbacks included; not the
    /// checkpoint).
    pub tiles_fetched: usize,
}

enum FetchError {
    Status(u16, String),
    Other(String),
}

impl FetchError {
    fn message(self) -> String {
        match self {
            FetchError::Status(_, m) | FetchError::Other(m) => m,
        }
    }
}

/// GET `url`; the body (decoded by ureq when gzip) and the `Content-Type` header.
fn get(agent: &ureq::Agent, url: &str) -> Result<(Vec<u8>, String), FetchError> {
    let resp = match agent
        .get(url)
        .set("Accept-Encoding", "gzip, identity")
        .call()
    {
        Ok(r) => r,
        Err(ureq::Error::Status(code, _)) => {
            return Err(FetchError::Status(
                code,
                format!("GET {url}: HTTP status {code}"),
            ));
        }
        Err(e) => return Err(FetchError::Other(format!("GET {url}: {e}"))),
    };
    if resp.status() != 200 {
        return Err(FetchError::Status(
            resp.status(),
            format!("GET {url}: HTTP status {}", resp.status()),
        ));
    }
    // ureq removes Content-Encoding once it has decoded the body; one still here was not.
    if let Some(enc) = resp.header("content-encoding")
        && !enc.trim().eq_ignore_ascii_case("identity")
    {
        return Err(FetchError::Other(format!(
            "GET {url}: Content-Encoding {enc:?} was not decoded (ureq needs its gzip feature)"
        )));
    }
    let content_type = resp.header("content-type").unwrap_or_default().to_owned();
    let mut body = Vec::new();
    resp.into_reader()
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut body)
        .map_err(|e| FetchError::Other(format!("GET {url}: reading the body: {e}")))?;
    Ok((body, content_type))
}

/// Checks a `Content-Type` value: media type `want` and, if `utf8`, a `charset=utf-8`
/// parameter (names and values compared without case).
fn check_content_type(url: &str, got: &str, want: &str, utf8: bool) -> Result<(), String> {
    let mut parts = got.split(';').map(str::trim);
    let media_ok = parts.next().is_some_and(|m| m.eq_ignore_ascii_case(want));
    let charset_ok = !utf8
        || parts.any(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("charset")
                    && v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            })
        });
    if media_ok && charset_ok {
        Ok(())
    } else {
        let want = if utf8 {
            format!("{want}; charset=utf-8")
        } else {
            want.to_owned()
        };
        Err(format!("GET {url}: Content-Type {got:?}, want {want:?}"))
    }
}

/// Fetches a tile resource (`tile/...`); for a partial one that answers 404, fetches the full
/// tile instead ("MAY fetch the full tile [...] as a fallback"). Returns the body and whether
/// it is the full tile.
fn fetch_tile(
    agent: &ureq::Agent,
    base: &str,
    partial_path: &str,
    full_path: &str,
    fetched: &mut usize,
) -> Result<(Vec<u8>, bool), String> {
    let fetch = |path: &str, fetched: &mut usize| {
        let url = format!("{base}/{path}");
        let (body, ct) = get(agent, &url)?;
        *fetched += 1;
        check_content_type(&url, &ct, "application/octet-stream", false)
            .map_err(FetchError::Other)?;
        Ok::<_, FetchError>(body)
    };
    match fetch(partial_path, fetched) {
        Ok(body) => Ok((body, partial_path == full_path)),
        Err(FetchError::Status(404, m)) if partial_path != full_path => {
            match fetch(full_path, fetched) {
                Ok(body) => Ok((body, true)),
                Err(e) => Err(format!("{m}; fallback to the full tile: {}", e.message())),
            }
        }
        Err(e) => Err(e.message()),
    }
}

/// Splits an entry bundle into exactly `count` big-endian uint16 length-prefixed entries.
fn split_bundle(what: &str, body: &[u8], count: usize) -> Result<Vec<Vec<u8>>, String> {
    let mut entries = Vec::with_capacity(count);
    let mut rest = body;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(format!(
                "{what}: truncated length prefix after {} entries",
                entries.len()
            ));
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + len {
            return Err(format!("{what}: entry {} is truncated", entries.len()));
        }
        entries.push(rest[2..2 + len].to_vec());
        rest = &rest[2 + len..];
    }
    if entries.len() != count {
        return Err(format!(
            "{what}: holds {} entries, want {count}",
            entries.len()
        ));
    }
    Ok(entries)
}

/// Audits a tlog-tiles log at `base_url` (the log's prefix, with or without a final `/`):
///
/// 1. GET `<base>/checkpoint` (`text/plain; charset=utf-8`) and verify it with `log`;
/// 2. GET every entry bundle for `size` entries, full ones then the partial one, and split it;
/// 3. hash each entry (`SHA-256(0x00 || entry)`);
/// 4. GET every hash tile of [`tile_layout`]`(size)`, level by level: each level-0 tile must
///    equal the leaf hashes of its entries, and each hash of a level-`L` tile must be the
///    Merkle Tree Hash of the corresponding full 256-hash tile at level `L - 1` (computed from
///    the verified level below, so from the entries);
/// 5. compute the RFC 6962 root over all `size` leaf hashes, from the entries and not from
///    any tile, and compare it with the checkpoint's root hash.
///
/// Tiles are fetched sequentially; a partial tile that answers 404 is replaced by the full
/// one, whose first `W` hashes (or entries) are used.
pub fn audit(base_url: &str, log: &Verifier) -> Result<Audit, String> {
    let base = base_url.trim_end_matches('/');
    let agent = ureq::AgentBuilder::new().timeout(HTTP_TIMEOUT).build();
    let url = format!("{base}/checkpoint");
    let (note, ct) = get(&agent, &url).map_err(FetchError::message)?;
    check_content_type(&url, &ct, "text/plain", true)?;
    let checkpoint = parse_and_verify_checkpoint(&note, log)?;
    let size = checkpoint.size;
    let size_usize =
        usize::try_from(size).map_err(|_| format!("tree size {size} does not fit in memory"))?;
    let mut fetched = 0usize;
    let w = u64::from(TILE_WIDTH);

    // Entry bundles.
    let mut entries: Vec<Vec<u8>> = Vec::with_capacity(size_usize);
    for n in 0..size.div_ceil(w) {
        let width = (size - n * w).min(w) as u32;
        let path = entries_path(n, width);
        let full = entries_path(n, TILE_WIDTH);
        let (body, is_full) = fetch_tile(&agent, base, &path, &full, &mut fetched)?;
        let what = if is_full { full } else { path };
        let count = (if is_full { TILE_WIDTH } else { width }) as usize;
        let mut bundle = split_bundle(&what, &body, count)?;
        bundle.truncate(width as usize);
        entries.extend(bundle);
    }
    let leaves: Vec<[u8; 32]> = entries.iter().map(|e| leaf_hash(e)).collect();

    // Hash tiles, level by level; `level_hashes` holds the floor(size / 256**level) hashes of
    // the current level.
    let mut level_hashes = leaves.clone();
    let mut level = 0u8;
    while !level_hashes.is_empty() {
        let count = level_hashes.len() as u64;
        for n in 0..count.div_ceil(w) {
            let width = (count - n * w).min(w) as u32;
            let path = tile_path(level, n, width);
            let full = tile_path(level, n, TILE_WIDTH);
            let (body, is_full) = fetch_tile(&agent, base, &path, &full, &mut fetched)?;
            let what = if is_full { full } else { path };
            let want_len = (if is_full { TILE_WIDTH } else { width }) as usize * 32;
            if body.len() != want_len {
                return Err(format!("{what}: {} bytes, want {want_len}", body.len()));
            }
            let start = (n * w) as usize;
            for (i, got) in body.chunks_exact(32).take(width as usize).enumerate() {
                let want = &level_hashes[start + i];
                if got != want {
                    let source = if level == 0 {
                        format!("the leaf hash of entry {}", start + i)
                    } else {
                        format!(
                            "the MTH of the full tile {} at level {}",
                            start + i,
                            level - 1
                        )
                    };
                    return Err(format!(
                        "{what}: hash {i} is {}, but {source} is {}",
                        hex(got),
                        hex(want)
                    ));
                }
            }
        }
        level_hashes = level_hashes
            .chunks_exact(TILE_WIDTH as usize)
            .map(rfc6962_root)
            .collect();
        level += 1;
    }

    let root = rfc6962_root(&leaves);
    if root != checkpoint.root {
        return Err(format!(
            "root of the {size} entries is {}, the checkpoint says {}",
            hex(&root),
            hex(&checkpoint.root)
        ));
    }
    Ok(Audit {
        checkpoint,
        entries,
        tiles_fetched: fetched,
    })
}

// ---------------------------------------------------------------------------------------------
// Tests of the pure functions, and of `audit` against a small in-process tile server.
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;

    /// A log's static files by path.
    type Files = HashMap<String, Vec<u8>>;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn h32(s: &str) -> [u8; 32] {
        unhex(s).try_into().unwrap()
    }

    // ---- tile paths (tlog-tiles.md, "Merkle Tree") ----

    #[test]
    fn tile_index_example_from_the_spec() {
        // "For example, index 1234067 will be encoded as `x001/x234/067`."
        assert_eq!(tile_path(0, 1234067, 256), "tile/0/x001/x234/067");
        assert_eq!(entries_path(1234067, 256), "tile/entries/x001/x234/067");
    }

    #[test]
    fn tile_paths() {
        assert_eq!(tile_path(0, 0, 256), "tile/0/000");
        assert_eq!(tile_path(1, 5, 256), "tile/1/005");
        assert_eq!(tile_path(2, 999, 256), "tile/2/999");
        assert_eq!(tile_path(0, 1000, 256), "tile/0/x001/000");
        assert_eq!(tile_path(63, 1_000_000, 256), "tile/63/x001/x000/000");
        assert_eq!(tile_path(0, 0, 1), "tile/0/000.p/1");
        assert_eq!(tile_path(0, 273, 112), "tile/0/273.p/112");
        assert_eq!(tile_path(1, 1, 17), "tile/1/001.p/17");
        assert_eq!(tile_path(0, 1234067, 255), "tile/0/x001/x234/067.p/255");
        assert_eq!(entries_path(0, 5), "tile/entries/000.p/5");
        assert_eq!(entries_path(12, 256), "tile/entries/012");
        assert_eq!(
            entries_path(u64::MAX, 256),
            "tile/entries/x018/x446/x744/x073/x709/x551/615"
        );
    }

    #[test]
    #[should_panic(expected = "tile width")]
    fn tile_width_zero_is_refused() {
        let _ = tile_path(0, 0, 0);
    }

    #[test]
    #[should_panic(expected = "tile width")]
    fn tile_width_over_256_is_refused() {
        let _ = entries_path(0, 257);
    }

    #[test]
    fn tile_layout_examples_from_the_spec() {
        // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
        // level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
        // 17, and one partial level 2 tile of width 1."
        let l = tile_layout(70_000);
        let full0 = l.iter().filter(|t| t.0 == 0 && t.2 == 256).count();
        assert_eq!(full0, 273);
        let rest: Vec<_> = l
            .iter()
            .filter(|t| !(t.0 == 0 && t.2 == 256))
            .copied()
            .collect();
        assert_eq!(
            rest,
            vec![(0, 273, 112), (1, 0, 256), (1, 1, 17), (2, 0, 1)]
        );
        // "a tree of size 256 will be represented by a full level 0 tile and a partial level
        // 1 tile of width 1."
        assert_eq!(tile_layout(256), vec![(0, 0, 256), (1, 0, 1)]);
        assert_eq!(tile_layout(0), vec![]);
        assert_eq!(tile_layout(1), vec![(0, 0, 1)]);
        let want: Vec<(u8, u64, u32)> = (0..256)
            .map(|n| (0, n, 256))
            .chain([(1, 0, 256), (2, 0, 1)])
            .collect();
        assert_eq!(tile_layout(65_536), want);
    }

    // ---- RFC 6962 ----

    /// The eight leaves of the RFC 6962 test data (certificate-transparency's
    /// merkle_tree_test.cc, transparency-dev/merkle's test vectors).
    fn vector_leaves() -> Vec<[u8; 32]> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|d| leaf_hash(&unhex(d)))
        .collect()
    }

    const VECTOR_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn vector_root(size: usize) -> [u8; 32] {
        h32(VECTOR_ROOTS[size - 1])
    }

    #[test]
    fn empty_tree_root() {
        assert_eq!(
            rfc6962_root(&[]),
            h32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn roots_of_the_rfc6962_test_vectors() {
        let leaves = vector_leaves();
        for size in 1..=8 {
            assert_eq!(
                rfc6962_root(&leaves[..size]),
                vector_root(size),
                "size {size}"
            );
        }
    }

    #[test]
    fn consistency_proofs_of_the_test_vectors() {
        // transparency-dev/merkle test vectors (consistencyProofs): (size1, size2, proof).
        let vectors: Vec<(u64, u64, Vec<&str>)> = vec![
            (1, 1, vec![]),
            (
                1,
                8,
                vec![
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                vec![
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                vec![
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                vec![
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        let leaves = vector_leaves();
        for (old, new, want) in vectors {
            let want: Vec<[u8; 32]> = want.iter().map(|s| h32(s)).collect();
            let got = consistency_proof(&leaves, old, new);
            assert_eq!(got, want, "PROOF({old}, D[{new}])");
            let (r1, r2) = (vector_root(old as usize), vector_root(new as usize));
            verify_consistency(old, new, &r1, &r2, &got).unwrap();
            if !got.is_empty() {
                // Swapped roots, a flipped bit, a dropped or an extra hash: all rejected.
                assert!(verify_consistency(old, new, &r2, &r1, &got).is_err());
                let mut bad = got.clone();
                bad[0][0] ^= 16;
                assert!(verify_consistency(old, new, &r1, &r2, &bad).is_err());
                assert!(verify_consistency(old, new, &r1, &r2, &got[..got.len() - 1]).is_err());
                let mut long = got.clone();
                long.push(r1);
                assert!(verify_consistency(old, new, &r1, &r2, &long).is_err());
                assert!(verify_consistency(old + 1, new, &r1, &r2, &got).is_err());
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies() {
        let leaves: Vec<[u8; 32]> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let roots: Vec<[u8; 32]> = (0..=70).map(|n| rfc6962_root(&leaves[..n])).collect();
        for new in 0..=70u64 {
            for old in 0..=new {
                let p = consistency_proof(&leaves, old, new);
                let (r1, r2) = (roots[old as usize], roots[new as usize]);
                verify_consistency(old, new, &r1, &r2, &p)
                    .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
                if old > 0 && old < new {
                    let mut bad = p.clone();
                    let last = bad.len() - 1;
                    bad[last][31] ^= 1;
                    assert!(verify_consistency(old, new, &r1, &r2, &bad).is_err());
                    let wrong = roots[old as usize - 1];
                    assert!(verify_consistency(old, new, &wrong, &r2, &p).is_err());
                }
            }
        }
        assert!(verify_consistency(0, 3, &roots[0], &roots[3], &[roots[1]]).is_err());
        assert!(verify_consistency(3, 3, &roots[3], &roots[2], &[]).is_err());
        assert!(verify_consistency(4, 3, &roots[4], &roots[3], &[]).is_err());
    }

    #[test]
    fn tiles_are_subtrees() {
        // "each hash in a tile is the Merkle Tree Hash of a *full* tile at the level below":
        // the root of 2 * 256 leaves is the node hash of the MTHs of the two level-0 tiles.
        let leaves: Vec<[u8; 32]> = (0u32..512).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let t0 = rfc6962_root(&leaves[..256]);
        let t1 = rfc6962_root(&leaves[256..]);
        assert_eq!(rfc6962_root(&leaves), node_hash(&t0, &t1));
        assert_eq!(rfc6962_root(&[t0, t1]), rfc6962_root(&leaves));
    }

    // ---- signed notes (signed-note.md) ----

    /// The worked example of c2sp.org/signed-note (newer revisions of signed-note.md, "Example").
    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo \
        Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    /// The example of golang.org/x/mod/sumdb/note, from which the note format comes.
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
        then you don't know what your problem is.\n\n\u{2014} PeterNeumann \
        x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn open(note: &str, v: &Verifier) -> Result<String, String> {
        let (text, sigs) = parse_note(note.as_bytes())?;
        let mut ok = 0;
        for s in sigs
            .iter()
            .filter(|s| s.name == v.name && s.key_id == v.key_hash)
        {
            let sig = Signature::from_slice(&s.sig).map_err(|e| e.to_string())?;
            v.key
                .verify(text.as_bytes(), &sig)
                .map_err(|e| e.to_string())?;
            ok += 1;
        }
        if ok == 0 {
            Err("no known signature".into())
        } else {
            Ok(text.to_owned())
        }
    }

    #[test]
    fn vkey_and_note_examples_verify() {
        let v = Verifier::from_vkey(SPEC_VKEY).unwrap();
        assert_eq!(v.name, "example.com/foo");
        assert_eq!(v.key_hash(), [0x53, 0x0d, 0x90, 0x3a]);
        assert_eq!(
            key_id(&v.name, 0x01, v.key().as_bytes()),
            [0x53, 0x0d, 0x90, 0x3a]
        );
        assert_eq!(v.vkey(), SPEC_VKEY);
        assert_eq!(
            open(SPEC_NOTE, &v).unwrap(),
            "This is an example message.\n"
        );
        assert!(open(&SPEC_NOTE.replace("example message", "example massage"), &v).is_err());

        let g = Verifier::from_vkey(GO_VKEY).unwrap();
        assert_eq!(g.key_hash(), [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(g.vkey(), GO_VKEY);
        assert!(open(GO_NOTE, &g).unwrap().starts_with("If you think"));
        assert!(
            open(GO_NOTE, &v).is_err(),
            "a note by another key is not accepted"
        );
        assert!(open(&GO_NOTE.replace("problem is", "problem was"), &g).is_err());
    }

    #[test]
    fn vkey_parsing_rejects_malformed_keys() {
        for bad in [
            "",
            "example.com/foo",
            "example.com/foo+530d903a",
            "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/fox+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
            "example.com/foo+530d903a+!ekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "exa mple+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        ] {
            assert!(Verifier::from_vkey(bad).is_err(), "{bad:?} was accepted");
        }
        // A type-0x04 (cosignature) vkey is not a log key, even with a matching key ID.
        let sk = SigningKey::from_bytes(&[9; 32]);
        let pk = sk.verifying_key();
        let mut data = vec![0x04];
        data.extend_from_slice(pk.as_bytes());
        let vkey = format!(
            "w.example+{}+{}",
            hex(&key_id("w.example", 4, pk.as_bytes())),
            B64.encode(&data)
        );
        assert!(
            Verifier::from_vkey(&vkey)
                .unwrap_err()
                .contains("not Ed25519")
        );
        // The base64 part may itself contain '+'.
        let v = (0u8..=255)
            .map(|s| {
                Verifier::from_key(
                    "plus.example",
                    SigningKey::from_bytes(&[s; 32]).verifying_key(),
                )
                .unwrap()
            })
            .find(|v| v.vkey().matches('+').count() > 2)
            .unwrap();
        let back = Verifier::from_vkey(&v.vkey()).unwrap();
        assert_eq!(
            (back.name.as_str(), back.key_hash(), back.key()),
            ("plus.example", v.key_hash(), v.key())
        );
    }

    #[test]
    fn note_parsing_rules() {
        let bad = |n: &str| parse_note(n.as_bytes()).is_err();
        assert!(bad("no signatures\n"));
        assert!(bad("text\n\n"));
        assert!(bad("text\n\n\u{2014} a AAAAAAA=")); // no final newline
        assert!(bad("text\n\n- a AAAAAAA=\n")); // hyphen, not an em dash
        assert!(bad("text\n\n\u{2014} a+b AAAAAAA=\n")); // '+' in the name
        assert!(bad("text\n\n\u{2014} a AAAA\n")); // fewer than 5 bytes
        assert!(bad("text\n\n\u{2014} a AAAAAAA= x\n")); // trailing field
        assert!(bad("te\txt\n\n\u{2014} a AAAAAAA=\n")); // control character
        assert!(bad("te\rxt\n\n\u{2014} a AAAAAAA=\n"));
        let (text, sigs) = parse_note("a\n\nb\n\n\u{2014} k AQIDBAU=\n".as_bytes()).unwrap();
        assert_eq!(text, "a\n\nb\n", "split at the last empty line");
        assert_eq!(sigs[0].key_id, [1, 2, 3, 4]);
        assert_eq!(sigs[0].sig, vec![5]);
        let many: String = (0..=MAX_SIGNATURES)
            .map(|i| format!("\u{2014} k{i} AQIDBAU=\n"))
            .collect();
        assert!(bad(&format!("a\n\n{many}")));
        let sixteen: String = (0..16)
            .map(|i| format!("\u{2014} k{i} AQIDBAU=\n"))
            .collect();
        assert_eq!(
            parse_note(format!("a\n\n{sixteen}").as_bytes())
                .unwrap()
                .1
                .len(),
            16
        );
    }

    // ---- checkpoints (tlog-checkpoint.md) ----

    fn log_key() -> (SigningKey, Verifier) {
        let sk = SigningKey::from_bytes(&[7; 32]);
        let v = Verifier::from_key("log.example/test", sk.verifying_key()).unwrap();
        (sk, v)
    }

    #[test]
    fn checkpoints_verify_and_parse() {
        let (sk, v) = log_key();
        let root = vector_root(8);
        let body = checkpoint_body(&v.name, 8, &root);
        let note = signed_note(body.as_bytes(), &v.name, &sk);
        let c = parse_and_verify_checkpoint(&note, &v).unwrap();
        assert_eq!(
            (c.origin.as_str(), c.size, c.root),
            ("log.example/test", 8, root)
        );
        assert!(c.extensions.is_empty());
        assert_eq!(c.body, body.as_bytes());
        assert_eq!(c.signatures.len(), 1);
        assert_eq!(c.signatures[0].1, v.key_hash());

        // Extension lines; unknown signatures (another key, same name with another key ID,
        // another name with the same key ID) are ignored.
        let body = format!("{}ext one\next two\n", checkpoint_body(&v.name, 8, &root));
        let mut note = signed_note(body.as_bytes(), &v.name, &sk);
        let other = SigningKey::from_bytes(&[8; 32]);
        for name in ["witness.example/w1", v.name.as_str()] {
            let line = signed_note(body.as_bytes(), name, &other);
            note.extend_from_slice(&line[body.len() + 1..]);
        }
        let mut id_clash = v.key_hash().to_vec();
        id_clash.extend_from_slice(&[0; 64]);
        note.extend_from_slice(
            format!("\u{2014} other.example {}\n", B64.encode(&id_clash)).as_bytes(),
        );
        let c = parse_and_verify_checkpoint(&note, &v).unwrap();
        assert_eq!(c.extensions, vec!["ext one", "ext two"]);
        assert_eq!(c.signatures.len(), 4);
        assert_eq!(cosignature_lines(&note).len(), 2);

        // A second, bad signature by the log key rejects the note.
        let mut forged = v.key_hash().to_vec();
        forged.extend_from_slice(&[0; 64]);
        let mut bad = note.clone();
        bad.extend_from_slice(format!("\u{2014} {} {}\n", v.name, B64.encode(&forged)).as_bytes());
        assert!(
            parse_and_verify_checkpoint(&bad, &v)
                .unwrap_err()
                .contains("does not verify")
        );
    }

    #[test]
    fn checkpoint_rejections() {
        let (sk, v) = log_key();
        let root = B64.encode(vector_root(1));
        let check = |body: String| {
            parse_and_verify_checkpoint(&signed_note(body.as_bytes(), &v.name, &sk), &v)
        };
        assert!(check(format!("{}\n1\n{root}\n", v.name)).is_ok());
        assert!(
            check(format!("{}\n01\n{root}\n", v.name)).is_err(),
            "leading zero"
        );
        assert!(check(format!("{}\n+1\n{root}\n", v.name)).is_err());
        assert!(check(format!("{}\n-1\n{root}\n", v.name)).is_err());
        assert!(check(format!("{}\n1\n", v.name)).is_err(), "no root line");
        assert!(
            check(format!("{}\n1\nAAAA\n", v.name)).is_err(),
            "short root"
        );
        assert!(
            check(format!("{}\n1\n{root}\n\next\n", v.name)).is_err(),
            "empty line"
        );
        assert!(
            check(format!("other.example\n1\n{root}\n"))
                .unwrap_err()
                .contains("origin")
        );
        assert!(
            check(format!(
                "{}\n0\n{}\n",
                v.name,
                B64.encode(rfc6962_root(&[]))
            ))
            .is_ok()
        );
        // Signed by another key under the log's name: no known signature.
        let other = SigningKey::from_bytes(&[8; 32]);
        let note = signed_note(
            format!("{}\n1\n{root}\n", v.name).as_bytes(),
            &v.name,
            &other,
        );
        assert!(
            parse_and_verify_checkpoint(&note, &v)
                .unwrap_err()
                .contains("no signature")
        );
        // Tampered body.
        let mut note = signed_note(format!("{}\n1\n{root}\n", v.name).as_bytes(), &v.name, &sk);
        let at = v.name.len() + 1;
        note[at] = b'2';
        assert!(parse_and_verify_checkpoint(&note, &v).is_err());
    }

    /// The example of tlog-checkpoint.md and tlog-cosignature.md (no key is published for it).
    const SPEC_COSIGNED: &str = "example.com/behind-the-sofa\n20852163\n\
        CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
        \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
        \u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

    #[test]
    fn cosignature_lines_of_the_spec_example() {
        let lines = cosignature_lines(SPEC_COSIGNED.as_bytes());
        assert_eq!(
            lines,
            vec![
                "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
            ]
        );
        // Its timestamped_signature: 8-byte timestamp 1679315147 (the spec's "time 1679315147").
        let (_, sigs) = parse_note(SPEC_COSIGNED.as_bytes()).unwrap();
        assert_eq!(sigs[1].sig.len(), 72);
        assert_eq!(
            u64::from_be_bytes(sigs[1].sig[..8].try_into().unwrap()),
            1679315147
        );
        let (text, _) = parse_note(SPEC_COSIGNED.as_bytes()).unwrap();
        let (origin, size, _, ext) = parse_checkpoint_text(text).unwrap();
        assert_eq!(
            (origin.as_str(), size, ext.len()),
            ("example.com/behind-the-sofa", 20852163, 0)
        );
        assert!(cosignature_lines(b"not a note").is_empty());
    }

    #[test]
    fn cosignatures_verify() {
        let (sk, v) = log_key();
        let body = checkpoint_body(&v.name, 8, &vector_root(8));
        let mut note = signed_note(body.as_bytes(), &v.name, &sk);
        let wk = SigningKey::from_bytes(&[3; 32]);
        let wname = "witness.example/w1";
        let wid = key_id(
            wname,
            SIG_TYPE_COSIGNATURE_V1,
            wk.verifying_key().as_bytes(),
        );
        let ts: u64 = 1_700_000_000;
        let msg = format!("cosignature/v1\ntime {ts}\n{body}");
        let mut sig = wid.to_vec();
        sig.extend_from_slice(&ts.to_be_bytes());
        sig.extend_from_slice(&wk.sign(msg.as_bytes()).to_bytes());
        note.extend_from_slice(format!("\u{2014} {wname} {}\n", B64.encode(&sig)).as_bytes());
        let mut data = vec![SIG_TYPE_COSIGNATURE_V1];
        data.extend_from_slice(wk.verifying_key().as_bytes());
        let wvkey = format!("{wname}+{}+{}", hex(&wid), B64.encode(&data));
        assert_eq!(verify_cosignature(&note, &wvkey).unwrap(), ts);
        assert_eq!(cosignature_lines(&note).len(), 1);
        assert!(
            parse_and_verify_checkpoint(&note, &v).is_ok(),
            "the cosignature is ignored"
        );
        // Wrong key, or a log vkey instead of a cosignature vkey.
        let mut other = vec![SIG_TYPE_COSIGNATURE_V1];
        other.extend_from_slice(SigningKey::from_bytes(&[4; 32]).verifying_key().as_bytes());
        let ovkey = format!(
            "{wname}+{}+{}",
            hex(&key_id(wname, 4, &other[1..])),
            B64.encode(&other)
        );
        assert!(verify_cosignature(&note, &ovkey).is_err());
        assert!(verify_cosignature(&note, &v.vkey()).is_err());
        // Tampered timestamp.
        let tampered = String::from_utf8(note.clone())
            .unwrap()
            .replace(&B64.encode(&sig), &{
                let mut s = sig.clone();
                s[11] ^= 1;
                B64.encode(&s)
            });
        assert!(verify_cosignature(tampered.as_bytes(), &wvkey).is_err());
    }

    // ---- tlog-witness.md ----

    #[test]
    fn add_checkpoint_body_reproduces_the_spec_example() {
        let want = "old 20852014\n\
            PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
            jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
            5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
            /6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
            \n\
            example.com/behind-the-sofa\n\
            20852163\n\
            CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
            \n\
            \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
            \u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";
        let proof: Vec<[u8; 32]> = want
            .lines()
            .skip(1)
            .take(4)
            .map(|l| B64.decode(l).unwrap().try_into().unwrap())
            .collect();
        let note_at = want.find("example.com/behind-the-sofa\n").unwrap();
        let body = add_checkpoint_body(20852014, &proof, &want.as_bytes()[note_at..]);
        assert_eq!(String::from_utf8(body).unwrap(), want);
        assert_eq!(add_checkpoint_body(0, &[], b"cp\n"), b"old 0\n\ncp\n");
    }

    // ---- audit, against an in-process tlog-tiles server ----

    struct Server {
        addr: String,
        files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
        gzip: Arc<AtomicBool>,
        content_type: Arc<Mutex<Option<&'static str>>>,
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    }

    impl Server {
        fn start(files: HashMap<String, Vec<u8>>) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = format!("http://{}", listener.local_addr().unwrap());
            let files = Arc::new(Mutex::new(files));
            let gzip = Arc::new(AtomicBool::new(false));
            let content_type = Arc::new(Mutex::new(None));
            let stop = Arc::new(AtomicBool::new(false));
            let (f, g, c, s) = (
                files.clone(),
                gzip.clone(),
                content_type.clone(),
                stop.clone(),
            );
            let thread = std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if s.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(conn) = conn {
                        serve(conn, &f, g.load(Ordering::SeqCst), *c.lock().unwrap());
                    }
                }
            });
            Server {
                addr,
                files,
                gzip,
                content_type,
                stop,
                thread: Some(thread),
            }
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
            let _ = TcpStream::connect(self.addr.trim_start_matches("http://"));
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    fn serve(
        conn: TcpStream,
        files: &Mutex<HashMap<String, Vec<u8>>>,
        gzip: bool,
        content_type: Option<&str>,
    ) {
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
        }
        let path = request_line
            .split(' ')
            .nth(1)
            .unwrap_or("/")
            .trim_start_matches('/');
        let body = files.lock().unwrap().get(path).cloned();
        let mut conn = conn;
        let resp = match body {
            None => {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            }
            Some(body) => {
                let ct = content_type.unwrap_or(if path == "checkpoint" {
                    "text/plain; charset=utf-8"
                } else {
                    "application/octet-stream"
                });
                let (body, enc) = if gzip {
                    (gzip_stored(&body), "Content-Encoding: gzip\r\n")
                } else {
                    (body, "")
                };
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\n{enc}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                r.extend_from_slice(&body);
                r
            }
        };
        let _ = conn.write_all(&resp);
    }

    /// gzip (RFC 1952) of `data` with uncompressed ("stored") deflate blocks (RFC 1951).
    fn gzip_stored(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
        let chunks: Vec<&[u8]> = if data.is_empty() {
            vec![&[][..]]
        } else {
            data.chunks(65535).collect()
        };
        for (i, c) in chunks.iter().enumerate() {
            out.push(u8::from(i + 1 == chunks.len()));
            let len = c.len() as u16;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(c);
        }
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        out.extend_from_slice(&(!crc).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }

    /// The static files of a log of `entries`, built from the tlog-tiles text.
    fn log_files(entries: &[Vec<u8>], sk: &SigningKey, origin: &str) -> HashMap<String, Vec<u8>> {
        let mut files = HashMap::new();
        let leaves: Vec<[u8; 32]> = entries.iter().map(|e| leaf_hash(e)).collect();
        let body = checkpoint_body(origin, entries.len() as u64, &rfc6962_root(&leaves));
        files.insert(
            "checkpoint".to_owned(),
            signed_note(body.as_bytes(), origin, sk),
        );
        for (n, chunk) in entries.chunks(256).enumerate() {
            let mut bundle = Vec::new();
            for e in chunk {
                bundle.extend_from_slice(&(e.len() as u16).to_be_bytes());
                bundle.extend_from_slice(e);
            }
            files.insert(entries_path(n as u64, chunk.len() as u32), bundle);
        }
        let mut level_hashes = leaves;
        let mut level = 0u8;
        while !level_hashes.is_empty() {
            for (n, chunk) in level_hashes.chunks(256).enumerate() {
                files.insert(
                    tile_path(level, n as u64, chunk.len() as u32),
                    chunk.concat(),
                );
            }
            level_hashes = level_hashes.chunks_exact(256).map(rfc6962_root).collect();
            level += 1;
        }
        files
    }

    fn entries(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("entry {i} {}", "x".repeat(i % 7)).into_bytes())
            .collect()
    }

    #[test]
    fn audit_accepts_honest_logs() {
        let (sk, v) = log_key();
        for size in [0usize, 1, 2, 255, 256, 257, 511, 512, 513, 70_000] {
            let es = entries(size);
            let server = Server::start(log_files(&es, &sk, &v.name));
            let a = audit(&format!("{}/", server.addr), &v)
                .unwrap_or_else(|e| panic!("size {size}: {e}"));
            assert_eq!(a.checkpoint.size, size as u64);
            assert_eq!(a.entries, es);
            let want = size.div_ceil(256) + tile_layout(size as u64).len();
            assert_eq!(a.tiles_fetched, want, "size {size}");
        }
    }

    #[test]
    fn audit_reads_gzip_and_falls_back_to_full_tiles() {
        let (sk, v) = log_key();
        let es = entries(300);
        let server = Server::start(log_files(&es, &sk, &v.name));
        server.gzip.store(true, Ordering::SeqCst);
        assert_eq!(audit(&server.addr, &v).unwrap().entries, es);
        server.gzip.store(false, Ordering::SeqCst);

        // The log grew to 512 and deleted the partial tiles of size 300 whose full tiles now
        // exist (entries/001.p/44, 0/001.p/44), keeping 1/000.p/1 ("MAY delete any partial
        // tile once the corresponding full tile is [...] available"); the checkpoint served is
        // still the one of size 300. The full tiles stand in for the deleted partial ones.
        let old = server.files.lock().unwrap().clone();
        let mut grown = log_files(&entries(512), &sk, &v.name);
        for (path, body) in old {
            let full = path.split(".p/").next().unwrap().to_owned();
            if path == "checkpoint" || (path != full && !grown.contains_key(&full)) {
                grown.insert(path, body);
            }
        }
        assert!(!grown.contains_key("tile/0/001.p/44") && grown.contains_key("tile/1/000.p/1"));
        *server.files.lock().unwrap() = grown;
        let a = audit(&server.addr, &v).unwrap();
        assert_eq!(a.entries, es);
        assert_eq!(
            a.tiles_fetched, 5,
            "entries/000, entries/001, 0/000, 0/001, 1/000.p/1"
        );
    }

    /// Serves `honest` edited by `edit`, and audits it.
    fn audit_edited(
        server: &Server,
        honest: &HashMap<String, Vec<u8>>,
        v: &Verifier,
        edit: &dyn Fn(&mut Files),
    ) -> Result<Audit, String> {
        let mut files = honest.clone();
        edit(&mut files);
        *server.files.lock().unwrap() = files;
        audit(&server.addr, v)
    }

    #[test]
    fn audit_rejects_dishonest_logs() {
        // 700 entries: entry bundles 000, 001, 002.p/188; tiles 0/000, 0/001, 0/002.p/188,
        // 1/000.p/2.
        let (sk, v) = log_key();
        let honest = log_files(&entries(700), &sk, &v.name);
        let server = Server::start(honest.clone());
        let run = |edit: &dyn Fn(&mut Files)| audit_edited(&server, &honest, &v, edit);
        assert!(run(&|_| {}).is_ok());

        // An entry changed in a bundle: the level-0 tile no longer matches it.
        let e = run(&|f| f.get_mut(&entries_path(1, 256)).unwrap()[5] ^= 1).unwrap_err();
        assert!(
            e.contains("tile/0/001:") && e.contains("leaf hash of entry 256"),
            "{e}"
        );

        // A wrong hash in the level-1 tile, or in the partial level-0 tile.
        let e = run(&|f| f.get_mut(&tile_path(1, 0, 2)).unwrap()[40] ^= 1).unwrap_err();
        assert!(
            e.contains("tile/1/000.p/2: hash 1") && e.contains("MTH"),
            "{e}"
        );
        let e = run(&|f| f.get_mut(&tile_path(0, 2, 188)).unwrap()[32 * 187] ^= 1).unwrap_err();
        assert!(e.contains("tile/0/002.p/188: hash 187"), "{e}");

        // A missing partial tile, with no full tile to fall back to.
        let e = run(&|f| {
            f.remove(&tile_path(1, 0, 2));
        })
        .unwrap_err();
        assert!(e.contains("tile/1/000.p/2") && e.contains("404"), "{e}");

        // A bundle with an extra entry, a truncated entry, a tile of the wrong length.
        let e = run(&|f| {
            f.get_mut(&entries_path(2, 188))
                .unwrap()
                .extend_from_slice(&[0, 0])
        })
        .unwrap_err();
        assert!(e.contains("189 entries, want 188"), "{e}");
        let e = run(&|f| {
            f.get_mut(&entries_path(0, 256)).unwrap().pop();
        })
        .unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = run(&|f| {
            f.get_mut(&tile_path(0, 1, 256))
                .unwrap()
                .extend_from_slice(&[0; 32])
        })
        .unwrap_err();
        assert!(e.contains("8224 bytes, want 8192"), "{e}");

        // Tiles and entries that agree with each other, under a checkpoint with another root.
        let e = run(&|f| {
            let body = checkpoint_body(&v.name, 700, &[0; 32]);
            f.insert(
                "checkpoint".into(),
                signed_note(body.as_bytes(), &v.name, &sk),
            );
        })
        .unwrap_err();
        assert!(e.contains("the checkpoint says"), "{e}");

        // A whole log rewritten consistently, but signed by another key.
        let other = SigningKey::from_bytes(&[8; 32]);
        let e = run(&|f| *f = log_files(&entries(700), &other, &v.name)).unwrap_err();
        assert!(e.contains("no signature by the log key"), "{e}");

        // Content types that the spec requires.
        *server.content_type.lock().unwrap() = Some("text/plain");
        assert!(run(&|_| {}).unwrap_err().contains("Content-Type"));
        *server.content_type.lock().unwrap() = Some("text/html; charset=utf-8");
        assert!(run(&|_| {}).unwrap_err().contains("Content-Type"));
        *server.content_type.lock().unwrap() = Some("text/plain; charset=UTF-8");
        let e = run(&|_| {}).unwrap_err();
        assert!(
            e.contains("tile/entries/000") && e.contains("application/octet-stream"),
            "{e}"
        );
    }

    #[test]
    fn audit_checks_level_2_tiles() {
        // The spec's 70,000: tiles 1/000, 1/001.p/17 and 2/000.p/1 above level 0.
        let (sk, v) = log_key();
        let honest = log_files(&entries(70_000), &sk, &v.name);
        let server = Server::start(honest.clone());
        let e = audit_edited(&server, &honest, &v, &|f| {
            f.get_mut(&tile_path(2, 0, 1)).unwrap()[0] ^= 1
        })
        .unwrap_err();
        assert!(
            e.contains("tile/2/000.p/1: hash 0") && e.contains("full tile 0 at level 1"),
            "{e}"
        );
        let e = audit_edited(&server, &honest, &v, &|f| {
            f.get_mut(&tile_path(1, 1, 17)).unwrap()[32 * 16] ^= 1
        })
        .unwrap_err();
        assert!(
            e.contains("tile/1/001.p/17: hash 16") && e.contains("full tile 272 at level 0"),
            "{e}"
        );
    }
}
