//! What a monitor (or a client of a served log) found wrong with a log: the cause of a
//! [`LogError::Tampered`](crate::LogError::Tampered), one variant per kind of finding, so
//! that monitors and tests match on the cause rather than on text.
//!
//! Each variant's text is the finding as the tools print it after `log tampered: `. Where a
//! finding carries another error, that error is a plain field (named `error`, not `source`):
//! its text is part of the finding, and a `source` would print twice in an error chain.

use std::path::PathBuf;

use thiserror::Error;

/// The cause of a [`LogError::Tampered`](crate::LogError::Tampered).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Tamper {
    /// An entry's bytes are not a canonical log record.
    #[error("entry {index} is not a valid record: {error}")]
    NotARecord {
        /// The entry's index.
        index: u64,
        /// Why the record was refused.
        error: Box<crate::Error>,
    },
    /// The tree's hashes could not be recomputed for an entry.
    #[error("recomputing entry {index}: {error}")]
    EntryHashes {
        /// The entry's index.
        index: u64,
        /// The tree computation's error.
        error: tlog_tiles::Error,
    },
    /// Entry 0 is some other entry than the generation-created entry.
    #[error("entry 0 is not the generation-created entry")]
    FirstNotGeneration,
    /// The log holds no entry at all.
    #[error("the log is empty: entry 0 (generation-created) is missing")]
    Empty,
    /// An entry is dated before the entry preceding it.
    #[error("entry {index}: {error}")]
    TimeBackwards {
        /// The entry's index.
        index: u64,
        /// The time check's error ([`crate::Error::TimeBackwards`]).
        error: Box<crate::Error>,
    },
    /// A generation is announced a second time (the log could show different monitors
    /// different keys for it).
    #[error("entry {index} announces generation {generation} of realm '{realm}' a second time")]
    GenerationTwice {
        /// The index of the second announcement.
        index: u64,
        /// The realm.
        realm: String,
        /// The generation.
        generation: u32,
    },
    /// The database lacks tables or append-only triggers.
    #[error("the database lacks {} (the append-only triggers were dropped?)", .missing.join(", "))]
    MissingSchema {
        /// What is missing ("trigger entries_no_update", …).
        missing: Vec<String>,
    },
    /// A stored hash is not the one recomputed from the entries (or its row is out of place).
    #[error("stored hash {index} does not match the entries")]
    StoredHash {
        /// The hash's index as stored (the database's integer, which a tampered row may make
        /// anything, negative included).
        index: i64,
    },
    /// The database stores another number of hashes than the entries make.
    #[error("{stored} stored hashes for {entries} entries (expected {expected})")]
    StoredHashCount {
        /// Hashes stored.
        stored: u64,
        /// Entries stored.
        entries: u64,
        /// Hashes the entries make.
        expected: u64,
    },
    /// The root of a tree size could not be computed from the recomputed hashes.
    #[error("tree of size {size}: {error}")]
    TreeHash {
        /// The tree size.
        size: u64,
        /// The tree computation's error.
        error: tlog_tiles::Error,
    },
    /// A checkpoint is stored under another size than it states, or beyond the entries.
    #[error("checkpoint stored as size {stored} says {says}")]
    CheckpointSize {
        /// The size it is stored under.
        stored: u64,
        /// The size the signed checkpoint states.
        says: u64,
    },
    /// No checkpoint commits to the whole log.
    #[error("no checkpoint covers all {entries} entries")]
    Uncovered {
        /// Entries in the log.
        entries: u64,
    },
    /// A cosignature is filed under a witness name the configuration does not list.
    #[error("a cosignature is filed under unknown witness '{witness}'")]
    UnknownWitness {
        /// The witness name it is filed under.
        witness: String,
    },
    /// A stored checkpoint's note does not parse.
    #[error("checkpoint {size}: {error}")]
    CheckpointNote {
        /// The checkpoint's size.
        size: u64,
        /// The note parser's error.
        error: signed_note::NoteError,
    },
    /// An entry is dated ahead of this machine's clock.
    #[error("{error}")]
    EntryAhead {
        /// The entry's index.
        index: u64,
        /// The entry's type ("key-released", …).
        kind: &'static str,
        /// The clock check's error ([`crate::Error::TimeAhead`], which names the entry).
        error: Box<crate::Error>,
    },
    /// A key release for a warrant not logged before it.
    #[error("entry {index}: a release for warrant {warrant}… that was not logged before it")]
    ReleaseNotLogged {
        /// The release's index.
        index: u64,
        /// The warrant digest's first 16 hex digits.
        warrant: String,
    },
    /// A key release by a name that is no authority of any generation the log announced.
    #[error("entry {index}: a release by '{authority}', not an authority of any generation")]
    ReleaseByNonAuthority {
        /// The release's index.
        index: u64,
        /// The name it is released by.
        authority: String,
    },
    /// A key release of more identities than its warrant's scope (targets × epochs).
    #[error(
        "entry {index}: a release of {identities} identities for warrant {warrant}…, whose scope holds {scope}"
    )]
    ReleaseWiderThanScope {
        /// The release's index.
        index: u64,
        /// Identities released.
        identities: u32,
        /// The warrant digest's first 16 hex digits.
        warrant: String,
        /// Identities in the warrant's scope.
        scope: u64,
    },
    /// A second key release by the same authority for the same warrant.
    #[error("entry {index}: a second release by '{authority}' for warrant {warrant}…")]
    SecondRelease {
        /// The second release's index.
        index: u64,
        /// The authority.
        authority: String,
        /// The warrant digest's first 16 hex digits.
        warrant: String,
    },
    /// An execution of a warrant that was never logged.
    #[error("entry {index}: an execution of warrant {warrant}… that was never logged")]
    ExecutionNotLogged {
        /// The execution's index.
        index: u64,
        /// The warrant digest's first 16 hex digits.
        warrant: String,
    },
    /// An execution of a warrant released by fewer distinct authorities than the smallest
    /// threshold of the log's generations.
    #[error(
        "entry {index}: an execution of warrant {warrant}… released by {released} authorit{} before it, fewer than the threshold {threshold}",
        if *.released == 1 { "y" } else { "ies" }
    )]
    ExecutionBelowThreshold {
        /// The execution's index.
        index: u64,
        /// The warrant digest's first 16 hex digits.
        warrant: String,
        /// Distinct authorities that released it before the execution.
        released: usize,
        /// The threshold.
        threshold: u32,
    },
    /// A second execution of the same warrant.
    #[error(
        "entry {index}: a second execution of warrant {warrant}… (the first is entry {first}); a warrant is executed once"
    )]
    SecondExecution {
        /// The second execution's index.
        index: u64,
        /// The warrant digest's first 16 hex digits.
        warrant: String,
        /// The first execution's index.
        first: u64,
    },
    /// The stored hashes cannot serve a tree computation or proof.
    #[error("stored hashes unusable: {error}")]
    StoredHashes {
        /// The tree computation's error.
        error: tlog_tiles::Error,
    },
    /// A stored entry is longer than an entry bundle can hold.
    #[error("an entry longer than 65535 bytes")]
    EntryTooLong,
    /// A stored entry is not bytes (a row rewritten as another storage class).
    #[error("entry {index} is not stored as bytes")]
    EntryNotBytes {
        /// The entry's index as stored (the database's integer).
        index: i64,
    },
    /// The stored entries skip an index.
    #[error("entry index {index} is missing")]
    EntryMissing {
        /// The first missing index.
        index: u64,
    },
    /// A witness's cosignature differs from the one stored for the same checkpoint.
    #[error("{witness} already cosigned the checkpoint of size {size} with another signature")]
    CosignatureConflict {
        /// The witness name.
        witness: String,
        /// The checkpoint's size.
        size: u64,
    },
    /// The stored tree makes no valid checkpoint.
    #[error("checkpoint: {error}")]
    Checkpoint {
        /// The checkpoint's error.
        error: tlog_tiles::MalformedCheckpointError,
    },
    /// The lab's generation is not the sharing the log's last generation-reshared entry names.
    #[error(
        "generation {generation} of the lab ({}) is not the sharing the log's last generation-reshared entry names",
        .params.display()
    )]
    ResharingMismatch {
        /// The generation.
        generation: u32,
        /// The lab's parameters file of that generation.
        params: PathBuf,
    },
    /// The log's configuration lists no witness key for an authority of a generation.
    #[error(
        "log.json lists no witness key for '{authority}', an authority of generation {generation}"
    )]
    WitnessMissing {
        /// The authority.
        authority: String,
        /// The generation it is an authority of.
        generation: u32,
    },
    /// A proof bundle's entry is not the log's entry at that index.
    #[error("entry {index} is not the one {proof} proves")]
    ProofMismatch {
        /// The entry's index.
        index: u64,
        /// The proof (its name: a release, an execution report, a receipt).
        proof: String,
    },
    /// The lab's generation is not the one the log announced (master key, threshold,
    /// authorities, validity or resharing commitment differ, or none was announced).
    #[error(
        "generation {generation} of the lab ({}) is not the one the log announced",
        .params.display()
    )]
    GenerationNotAnnounced {
        /// The generation.
        generation: u32,
        /// The lab's parameters file of that generation.
        params: PathBuf,
    },
    /// A served log's tree could not be recomputed from its entries.
    #[error("recomputing the tree: {error}")]
    RecomputingTree {
        /// The tree computation's error.
        error: tlog_tiles::Error,
    },
    /// A served log's entries make another root than its checkpoint.
    #[error("the served entries make the root {root}, not the checkpoint's {checkpoint}")]
    ServedRoot {
        /// The recomputed root's first 8 bytes, hex.
        root: String,
        /// The checkpoint (`size/root` with the root's first 8 bytes, hex).
        checkpoint: String,
    },
    /// A hash tile could not be recomputed from a served log's entries.
    #[error("recomputing tile: {error}")]
    RecomputingTile {
        /// The tile computation's error.
        error: tlog_tiles::Error,
    },
    /// A served hash tile is not the tree's.
    #[error("the served tile {tile} is not the tree's")]
    ServedTile {
        /// The tile's path (`tile/…`).
        tile: String,
    },
    /// A served log's tiles do not prove what was asked (an entry, an inclusion or a
    /// consistency proof) against its checkpoint.
    #[error("served tiles: {error}")]
    ServedTiles {
        /// The proof's error.
        error: tlog_tiles::Error,
    },
    /// A served entry is not the one the checkpoint commits to.
    #[error("the served entry {index} is not the one the checkpoint commits to")]
    ServedEntry {
        /// The entry's index.
        index: u64,
    },
    /// The log's receipt for a submission proves another entry than the one submitted.
    #[error("the log's receipt for entry {index} is not for the submitted {kind} entry")]
    Receipt {
        /// The index the log answered.
        index: u64,
        /// The submitted entry's type.
        kind: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::Tamper;
    use crate::LogError;

    /// The texts are the findings the tools printed before the causes were typed (the CLI
    /// tests, docs/bad-input.md and docs/attacks.md compare them).
    #[test]
    fn texts_unchanged() {
        let cases = [
            (
                Tamper::StoredHash { index: 4 },
                "log tampered: stored hash 4 does not match the entries",
            ),
            (
                Tamper::ExecutionBelowThreshold {
                    index: 7,
                    warrant: "0123456789abcdef".into(),
                    released: 1,
                    threshold: 2,
                },
                "log tampered: entry 7: an execution of warrant 0123456789abcdef… released by 1 authority before it, fewer than the threshold 2",
            ),
            (
                Tamper::ExecutionBelowThreshold {
                    index: 7,
                    warrant: "0123456789abcdef".into(),
                    released: 0,
                    threshold: 2,
                },
                "log tampered: entry 7: an execution of warrant 0123456789abcdef… released by 0 authorities before it, fewer than the threshold 2",
            ),
            (
                Tamper::MissingSchema {
                    missing: vec![
                        "trigger entries_no_update".into(),
                        "trigger entries_no_delete".into(),
                    ],
                },
                "log tampered: the database lacks trigger entries_no_update, trigger entries_no_delete (the append-only triggers were dropped?)",
            ),
            (
                Tamper::ResharingMismatch {
                    generation: 2,
                    params: "lab/params-2.json".into(),
                },
                "log tampered: generation 2 of the lab (lab/params-2.json) is not the sharing the log's last generation-reshared entry names",
            ),
            (
                Tamper::ServedTiles {
                    error: tlog_tiles::Error::InvalidProof,
                },
                "log tampered: served tiles: invalid transparency proof",
            ),
            (
                Tamper::EntryTooLong,
                "log tampered: an entry longer than 65535 bytes",
            ),
        ];
        for (tamper, text) in cases {
            assert_eq!(LogError::Tampered(tamper).to_string(), text);
        }
    }
}
