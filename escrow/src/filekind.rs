//! What kind of escrow-lab file a byte string holds, told from its top-level JSON fields, so
//! that a command given the wrong file says which kind it expected and which it found
//! (`w.json: expected a receipt (from `auditor warrant submit`), found a warrant`) instead of
//! a parser's complaint about a missing field.
//!
//! The detection reads only the outer object: its `kind` field where the format has one
//! (`escrow-lab/log-proof`, `escrow-lab/approval`, `escrow-lab/capture`, `escrow-lab/sealed`
//! with its `content`, the DKG and resharing board's `escrow-lab/dkg-*` and
//! `escrow-lab/reshare-*`), otherwise the field names that only one format has (a warrant's
//! `targets`, `timespan` and `justification`; parameters' `master_public_key` and
//! `commitment`; a share's `secret_share`; a report's `decrypted` and `approvals`…). A receipt
//! and the proof bundle of `escrow log prove` are one format: a bundle whose entry is
//! `warrant-logged` counts as a receipt. It proves nothing about the file: the file's own
//! parser still checks every field. Formats of the `messenger` and `auditor` crates (capture,
//! client state, execution report) are recognised by their field names, without depending on
//! those crates.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};

/// A kind of file the tools read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A warrant (`auditor warrant new`).
    Warrant,
    /// A receipt: the log proof bundle of a `warrant-logged` entry (`auditor warrant submit`).
    Receipt,
    /// The log proof bundle of any other entry (`escrow log prove`).
    ProofBundle,
    /// An authority's approval (`escrow approve`).
    Approval,
    /// A provider's capture (`messenger intercept`).
    Capture,
    /// An execution report (`auditor execute`).
    ExecutionReport,
    /// A generation's public parameters (`params.json`).
    Params,
    /// An authority's share, stored plain (`share.json`).
    Share,
    /// An authority's share sealed with a passphrase.
    SealedShare,
    /// A messenger client's state, stored plain.
    ClientState,
    /// A messenger client's state sealed with a passphrase.
    SealedClientState,
    /// Another file sealed with a passphrase.
    Sealed,
    /// The transparency log's public configuration (`log/log.json`).
    LogConfig,
    /// A witness's state: the last checkpoint an authority accepted (`witness.json`).
    WitnessState,
    /// A DKG or resharing session on the lab's board (`session.json`).
    BoardSession,
    /// A message on the DKG or resharing board (join, deal, response, justification,
    /// finished marker, revocation).
    BoardMessage,
    /// A party's private DKG or resharing state (its keys, its dealer secret).
    BoardSecret,
}

impl FileKind {
    /// The kind with its article: "a warrant", "a receipt", "an approval"…
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Warrant => "a warrant",
            FileKind::Receipt => "a receipt",
            FileKind::ProofBundle => "a log proof bundle of an entry other than a warrant",
            FileKind::Approval => "an approval",
            FileKind::Capture => "a capture",
            FileKind::ExecutionReport => "an execution report",
            FileKind::Params => "a generation's public parameters",
            FileKind::Share => "an authority's share",
            FileKind::SealedShare => "an authority's sealed share",
            FileKind::ClientState => "a messenger client state",
            FileKind::SealedClientState => "a sealed messenger client state",
            FileKind::Sealed => "a sealed file",
            FileKind::LogConfig => "the log's public configuration",
            FileKind::WitnessState => "a witness state",
            FileKind::BoardSession => "a DKG or resharing session",
            FileKind::BoardMessage => "a DKG or resharing message",
            FileKind::BoardSecret => "a DKG or resharing party's private state",
        }
    }

    /// Where such a file comes from: a command (`` `auditor warrant submit` ``) or the lab
    /// file's name (`params.json`); `None` for a sealed file of unknown content.
    pub fn origin(self) -> Option<&'static str> {
        Some(match self {
            FileKind::Warrant => "`auditor warrant new`",
            FileKind::Receipt => "`auditor warrant submit`",
            FileKind::ProofBundle => "`escrow log prove`",
            FileKind::Approval => "`escrow approve`",
            FileKind::Capture => "`messenger intercept`",
            FileKind::ExecutionReport => "`auditor execute`",
            FileKind::Params => "params.json",
            FileKind::Share | FileKind::SealedShare => "authorities/NAME/share.json",
            FileKind::ClientState | FileKind::SealedClientState => "`messenger register`",
            FileKind::Sealed => return None,
            FileKind::LogConfig => "log/log.json",
            FileKind::WitnessState => "authorities/NAME/witness.json",
            FileKind::BoardSession => "`escrow dkg start` or `escrow reshare start`",
            FileKind::BoardMessage => "the `escrow dkg` or `escrow reshare` steps",
            FileKind::BoardSecret => "`escrow dkg join` or `escrow reshare join`",
        })
    }

    /// The name and where such a file comes from: "a receipt (from `auditor warrant
    /// submit`)", "a generation's public parameters (params.json)".
    pub fn describe(self) -> String {
        match self.origin() {
            Some(o) if o.starts_with('`') || o.starts_with("the ") => {
                format!("{} (from {o})", self.name())
            }
            Some(o) => format!("{} ({o})", self.name()),
            None => self.name().to_owned(),
        }
    }
}

/// The kind of file `bytes` holds, from its top-level JSON fields; `None` if it is not a JSON
/// object or matches no format of the tools (its parser then says what is wrong).
pub fn kind_of(bytes: &[u8]) -> Option<FileKind> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let doc = value.as_object()?;
    let kind = doc.get("kind").and_then(Value::as_str);
    if let Some(kind) = kind {
        return match kind {
            "escrow-lab/log-proof" => Some(proof_kind(doc)),
            "escrow-lab/approval" => Some(FileKind::Approval),
            "escrow-lab/capture" => Some(FileKind::Capture),
            "escrow-lab/sealed" => Some(match doc.get("content").and_then(Value::as_str) {
                Some("authority-share") => FileKind::SealedShare,
                Some("client-state") => FileKind::SealedClientState,
                _ => FileKind::Sealed,
            }),
            "escrow-lab/dkg-session" | "escrow-lab/reshare-session" => Some(FileKind::BoardSession),
            k if k.ends_with("-secret") || k.ends_with("-party-keys") => {
                Some(FileKind::BoardSecret)
            }
            k if k.starts_with("escrow-lab/dkg-") || k.starts_with("escrow-lab/reshare-") => {
                Some(FileKind::BoardMessage)
            }
            _ => None,
        };
    }
    let has = |fields: &[&str]| fields.iter().all(|f| doc.contains_key(*f));
    if has(&["reference", "targets", "timespan", "justification"]) {
        Some(FileKind::Warrant)
    } else if has(&["warrant", "capture", "approvals", "decrypted"]) {
        Some(FileKind::ExecutionReport)
    } else if has(&["master_public_key", "threshold", "commitment"]) {
        Some(FileKind::Params)
    } else if has(&["authority", "secret_share"]) {
        Some(FileKind::Share)
    } else if has(&["account", "identity_sign", "sessions"]) {
        Some(FileKind::ClientState)
    } else if has(&["origin", "log_key", "witnesses"]) {
        Some(FileKind::LogConfig)
    } else if has(&["authority", "last"]) && doc.len() <= 4 {
        Some(FileKind::WitnessState)
    } else {
        None
    }
}

/// A proof bundle is a receipt unless its entry decodes to another type than
/// `warrant-logged` (a damaged entry is left to the receipt's parser).
fn proof_kind(doc: &Map<String, Value>) -> FileKind {
    let entry_type = doc
        .get("entry")
        .and_then(Value::as_str)
        .and_then(|e| B64.decode(e).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| {
            v.pointer("/entry/type")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    match entry_type {
        Some(t) if t != "warrant-logged" => FileKind::ProofBundle,
        _ => FileKind::Receipt,
    }
}

/// The message for a file of the wrong kind: `Some("PATH: expected K, found J")` when `bytes`
/// are recognisably another kind of file than `expected`; `None` when they are of that kind
/// or of no kind recognised (the parser's own error then says what is wrong).
pub fn wrong_kind(path: &Path, bytes: &[u8], expected: FileKind) -> Option<String> {
    match kind_of(bytes) {
        Some(found) if found != expected => Some(format!(
            "{}: expected {}, found {}",
            path.display(),
            expected.describe(),
            found.name()
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_of(t: &str) -> String {
        B64.encode(format!(
            r#"{{"version":1,"entry":{{"type":"{t}","time":"x"}}}}"#
        ))
    }

    #[test]
    fn proof_bundles_are_receipts_only_for_a_warrant_entry() {
        let bundle = |entry: &str| {
            format!(
                r#"{{"version":1,"kind":"escrow-lab/log-proof","index":3,"entry":"{entry}",
                "inclusion_proof":[],"checkpoint":"c"}}"#
            )
        };
        let receipt = bundle(&entry_of("warrant-logged"));
        assert_eq!(kind_of(receipt.as_bytes()), Some(FileKind::Receipt));
        let other = bundle(&entry_of("generation-created"));
        assert_eq!(kind_of(other.as_bytes()), Some(FileKind::ProofBundle));
        // A damaged entry: still a receipt as far as the kind goes; the parser says the rest.
        assert_eq!(kind_of(bundle("!!").as_bytes()), Some(FileKind::Receipt));
    }

    #[test]
    fn formats_without_a_kind_field_are_told_by_their_fields() {
        let report = br#"{"version":1,"warrant":{},"capture":{},"approvals":[],"log":{},
            "decrypted":[],"withheld":0}"#;
        assert_eq!(kind_of(report), Some(FileKind::ExecutionReport));
        let witness = br#"{"version":1,"authority":"court","last":null}"#;
        assert_eq!(kind_of(witness), Some(FileKind::WitnessState));
        for nothing in [
            &b"not json"[..],
            b"[1, 2]",
            b"{}",
            br#"{"version":1,"kind":"someone-else/thing"}"#,
            br#"{"version":1,"authority":"court","last":null,"more":1,"fields":2}"#,
        ] {
            assert_eq!(
                kind_of(nothing),
                None,
                "{}",
                String::from_utf8_lossy(nothing)
            );
        }
    }

    #[test]
    fn the_message_names_what_was_expected_and_what_was_found() {
        let warrant = br#"{"version":1,"reference":"W-1","targets":[],"timespan":{},
            "justification":"j"}"#;
        assert_eq!(
            wrong_kind(Path::new("w.json"), warrant, FileKind::Receipt).as_deref(),
            Some("w.json: expected a receipt (from `auditor warrant submit`), found a warrant")
        );
        assert_eq!(
            wrong_kind(Path::new("w.json"), warrant, FileKind::Warrant),
            None
        );
        assert_eq!(
            wrong_kind(Path::new("w.json"), b"{", FileKind::Warrant),
            None
        );
        assert_eq!(
            FileKind::Params.describe(),
            "a generation's public parameters (params.json)"
        );
        assert_eq!(FileKind::Sealed.describe(), "a sealed file");
    }
}
