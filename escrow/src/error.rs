//! The one error type of the `escrow` crate.

use thiserror::Error;

/// Everything that can go wrong in the escrow library.
///
/// Failed decryption and failed verification of a wrap are deliberately one opaque variant
/// ([`Error::Decryption`]): which internal check failed is not revealed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The number of authorities is outside 2..=64.
    #[error("a generation needs between 2 and {max} authorities, got {count}", max = crate::MAX_AUTHORITIES)]
    AuthorityCount {
        /// Number of authorities requested.
        count: usize,
    },
    /// The threshold k is outside 1..=n.
    #[error("threshold {threshold} is not between 1 and the number of authorities ({authorities})")]
    Threshold {
        /// Requested threshold k.
        threshold: usize,
        /// Number of authorities n.
        authorities: usize,
    },
    /// Two authorities have the same name.
    #[error("authority name '{name}' appears more than once")]
    DuplicateAuthority {
        /// The repeated name.
        name: String,
    },
    /// A name (authority, account or realm) is empty, too long or uses a forbidden character.
    #[error("invalid {kind} name '{name}': use 1 to 64 characters of a-z 0-9 . _ @ -")]
    InvalidName {
        /// What the name was for ("authority", "account", "realm").
        kind: &'static str,
        /// The rejected name (printable form).
        name: String,
    },
    /// The epoch length is zero, too long or malformed.
    #[error(
        "invalid epoch length '{0}': use a number followed by s, m, h or d, between 1s and 366d"
    )]
    EpochLength(String),
    /// A time option is not RFC 3339.
    #[error("{what} '{value}' is not an RFC 3339 time (for example 2026-12-03T09:30:00Z)")]
    BadTime {
        /// The option (`--at`, `--from`, …).
        what: &'static str,
        /// The value given (printable form).
        value: String,
    },
    /// A time given for a record is earlier than a record it depends on (simulated time never
    /// goes backwards).
    #[error(
        "{what} at {time} is before {newest} at {newest_time}: simulated time never goes backwards"
    )]
    TimeBackwards {
        /// What was to be recorded ("the new log entry", "the approval", …).
        what: String,
        /// Its time (RFC 3339).
        time: String,
        /// What it depends on ("log entry 11 (warrant-logged)", …).
        newest: String,
        /// That record's time (RFC 3339).
        newest_time: String,
    },
    /// A time given for a log entry or cosignature is ahead of the real clock: simulated time
    /// may lag the clock (any past date) but not run ahead of it, or one party's entry from the
    /// future would block every other party's appends.
    #[error(
        "{what} at {time} is ahead of this machine's clock ({now}): simulated time may lag the clock but not run ahead of it by more than {tolerance} s"
    )]
    TimeAhead {
        /// What was to be recorded.
        what: String,
        /// Its time (RFC 3339).
        time: String,
        /// The clock (RFC 3339).
        now: String,
        /// The tolerance, in seconds.
        tolerance: u32,
    },
    /// A timestamp lies before the Unix epoch or cannot be represented.
    #[error(
        "time {0} is outside the supported range (1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z)"
    )]
    TimeRange(i128),
    /// A JSON document carries a version this build does not read.
    #[error("{what}: unsupported version {found} (this build reads version {expected})")]
    UnsupportedVersion {
        /// Which document.
        what: &'static str,
        /// The version found in the document.
        found: u64,
        /// The version this build reads.
        expected: u64,
    },
    /// A JSON document failed to parse.
    #[error("{what}: malformed JSON: {error}")]
    Json {
        /// Which document.
        what: &'static str,
        /// The parser's error (named `error`, not `source`: its text is in the message, and
        /// a `source` would print twice in an error chain).
        error: serde_json::Error,
    },
    /// A hex field is not lowercase hex of the right length.
    #[error("{field}: expected {expected} bytes of lowercase hex")]
    Hex {
        /// The field.
        field: &'static str,
        /// Expected length in bytes.
        expected: usize,
    },
    /// A point field does not decode to a valid group element (on the curve, in the prime-order
    /// subgroup, and not the identity where the identity is meaningless).
    #[error("{field}: not a valid {group} point ({reason})")]
    InvalidPoint {
        /// The field.
        field: &'static str,
        /// "G1", "G2" or "P-256".
        group: &'static str,
        /// What is wrong: not on the curve, not in the prime-order subgroup, the identity.
        reason: &'static str,
    },
    /// A secret scalar is zero or not below the group order.
    #[error("{field}: not a valid non-zero scalar")]
    InvalidScalar {
        /// The field.
        field: &'static str,
    },
    /// Public parameters contradict themselves (a key share that does not match the
    /// commitment, a master key that is not the commitment's constant term, …).
    #[error("inconsistent parameters: {0}")]
    InconsistentParameters(&'static str),
    /// A secret share file does not belong to these parameters.
    #[error("share of authority '{authority}' does not match the public parameters")]
    ShareMismatch {
        /// The authority the share claims to belong to.
        authority: String,
    },
    /// An IBE message (or σ) has a length outside 1..=32 or the two lengths differ.
    #[error(
        "IBE message and sigma must have the same length between 1 and 32 bytes (got {msg} and {sigma})"
    )]
    MessageLength {
        /// Length of the message.
        msg: usize,
        /// Length of σ.
        sigma: usize,
    },
    /// A ciphertext or wrap has the wrong length.
    #[error("{what}: wrong length {found}")]
    Length {
        /// What was being decoded.
        what: &'static str,
        /// The length found.
        found: usize,
    },
    /// Decryption or verification failed. Which check failed is not revealed.
    #[error("decryption or verification failed")]
    Decryption,
    /// A share names an authority index that is not part of the generation.
    #[error("share from unknown authority index {index}")]
    UnknownAuthority {
        /// The index found in the share.
        index: u32,
    },
    /// Two shares come from the same authority.
    #[error("duplicate share from authority '{authority}'")]
    DuplicateShare {
        /// The authority that appears twice.
        authority: String,
    },
    /// A share does not verify against the authority's public key share.
    #[error("invalid share from authority '{authority}'")]
    InvalidShare {
        /// The authority whose share failed.
        authority: String,
    },
    /// A share was made for a different scope identity or warrant than the one being combined.
    #[error("share from authority '{authority}' is for a different {what}")]
    WrongSubject {
        /// The authority whose share is off-subject.
        authority: String,
        /// "identity" or "warrant".
        what: &'static str,
    },
    /// Fewer than k valid shares.
    #[error("{required} of {authorities} authorities required, {valid} valid shares")]
    NotEnoughShares {
        /// Number of distinct valid shares.
        valid: usize,
        /// The threshold k.
        required: usize,
        /// The number of authorities n.
        authorities: usize,
    },
    /// An identity key or signature does not verify against the master public key.
    #[error("combined {0} does not verify against the master public key")]
    CombinedInvalid(&'static str),
    /// A sealed file is malformed or uses parameters this reader refuses.
    #[error("sealed file: {0}")]
    Sealed(crate::sealed::SealedError),
    /// The passphrase does not open the sealed file (or the file was altered).
    #[error("wrong passphrase (or the sealed file was altered)")]
    WrongPassphrase,
    /// A sealed file was found and no passphrase was given.
    #[error("{} is sealed with a passphrase", path.display())]
    PassphraseRequired {
        /// The file.
        path: std::path::PathBuf,
    },
    /// A rotation breaks one of the rules of [`crate::rotate`].
    #[error("rotation refused: {0}")]
    Rotation(crate::rotate::RotationRule),
    /// A share file holds another authority's share.
    #[error("holds the share of '{found}', not of '{expected}'")]
    ShareOfAnother {
        /// The authority named in the file.
        found: String,
        /// The authority whose file it is.
        expected: String,
    },
    /// The lab holds no generation with this number.
    #[error("generation {generation} does not exist in this lab (it holds {known})")]
    UnknownGeneration {
        /// The generation asked for.
        generation: u32,
        /// The generations the lab holds.
        known: String,
    },
    /// No generation's validity covers an epoch: no compliant message can be sent in it.
    #[error(
        "no escrow generation covers epoch {epoch} (starting at Unix time {start}): the authorities must rotate (escrow rotate)"
    )]
    NoGeneration {
        /// The epoch.
        epoch: u64,
        /// Its first second.
        start: i128,
    },
    /// A share or key belongs to another realm or generation.
    #[error("{what} belongs to realm '{realm}' generation {generation}, not to these parameters")]
    WrongGeneration {
        /// What was checked.
        what: &'static str,
        /// Realm found.
        realm: String,
        /// Generation found.
        generation: u32,
    },
    /// A warrant is malformed or an honest authority must refuse it.
    #[error("{0}")]
    Warrant(WarrantError),
    /// A transparency log operation or check failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Lab directory state forbids the operation.
    #[error("{0}")]
    Lab(LabError),
    /// A DKG row this party needs is neither readable nor revealed (a protocol violation the
    /// qualification should have excluded).
    #[error("DKG: no valid row from qualified dealer '{dealer}'")]
    DkgRow {
        /// The dealer.
        dealer: String,
    },
    /// A DKG step needs every authority's previous step.
    #[error("DKG: waiting for the {step} of '{authority}'")]
    DkgWaiting {
        /// The step (deal, response, justification).
        step: String,
        /// The authority that has not published it.
        authority: String,
    },
    /// A DKG or resharing message is refused: a bad signature, a message changed after its
    /// round closed, another party's keys in this party's place, or results that disagree.
    #[error("{0}")]
    DkgRefused(crate::dkg::DkgRefusal),
    /// A file is valid JSON of another kind than expected.
    #[error("{what}: this file is a '{found}', not a {what}")]
    WrongKind {
        /// The kind expected.
        what: &'static str,
        /// The kind found.
        found: String,
    },
    /// This authority destroyed its share of the generation.
    #[error(
        "'{authority}' retired generation {generation}: its share is destroyed, it can approve nothing of it"
    )]
    Retired {
        /// The authority.
        authority: String,
        /// The generation.
        generation: u32,
    },
    /// Too many authorities retired the generation for k shares to remain.
    #[error(
        "generation {generation} is unrecoverable: {retired} of {authorities} authorities destroyed their shares, {remaining} remain and {threshold} are needed"
    )]
    Unrecoverable {
        /// The generation.
        generation: u32,
        /// Authorities that retired it.
        retired: usize,
        /// Authorities in all.
        authorities: usize,
        /// Shares that remain.
        remaining: usize,
        /// The threshold.
        threshold: usize,
    },
    /// The name is not one of the generation's authorities.
    #[error("'{0}' is not an authority of this generation")]
    NotAnAuthority(String),
    /// The environment variable meant to hold a passphrase is unset or not UTF-8.
    #[error("sealed file: the environment variable {var} is not {}", if *.unset { "set" } else { "UTF-8" })]
    PassphraseVariable {
        /// The variable's name.
        var: String,
        /// True if it is unset, false if it is not UTF-8.
        unset: bool,
    },
    /// Sealing a share needs a passphrase, and none was given.
    #[error("sealing a share needs the passphrase")]
    NoPassphraseToSeal,
    /// The share file is sealed already.
    #[error("{}: already sealed", path.display())]
    AlreadySealed {
        /// The share file.
        path: std::path::PathBuf,
    },
    /// New shares would be written plain into a lab whose shares are sealed.
    #[error(
        "this lab's shares are sealed: give the passphrase so that the new shares are sealed too"
    )]
    SharesSealed,
    /// The lab holds several generations and the command must be told which one.
    #[error("this lab holds generations {known}: name the one to retire")]
    WhichGeneration {
        /// The generations the lab holds, as a list.
        known: String,
    },
    /// A validity in days is zero, or ends after year 9999.
    #[error("a validity of {days} days: must be at least 1 and end before year 10000")]
    ValidDays {
        /// The days asked for.
        days: u64,
    },
    /// A rotation's validity in days is zero or too large.
    #[error(
        "rotation refused: a validity of {days} days {}",
        if *.days == 0 { "is too short (at least 1)" } else { "is too large" }
    )]
    RotationDays {
        /// The days asked for.
        days: u64,
    },
    /// The open proposal of a board is not the one the party was told to join.
    #[error(
        "the open proposal is {open}, not {expected}: it was changed after it was published; do not join"
    )]
    ProposalChanged {
        /// The proposal on the board.
        open: String,
        /// The proposal the party expected (printable form).
        expected: String,
    },
    /// The authorities' finished markers of a DKG do not name the transcript on its board.
    #[error("the authorities' finished markers do not name this transcript and key")]
    MarkersDisagree,
    /// The installed generation is not the key a DKG transcript makes.
    #[error("generation {generation} in params.json is not the key this transcript makes")]
    NotThisTranscript {
        /// The generation.
        generation: u32,
    },
    /// A party of a DKG or resharing acts before joining it.
    #[error("{who} has not joined")]
    NotJoined {
        /// The party.
        who: String,
        /// The board: "dkg" or "reshare".
        board: &'static str,
    },
    /// A party of a DKG or resharing skipped a step it needs first.
    #[error("{who} has not run its {step} step of the {board} yet")]
    StepMissing {
        /// The party.
        who: String,
        /// The board: "dkg" or "reshare".
        board: &'static str,
        /// The step it must run first ("respond").
        step: &'static str,
    },
    /// A list of expected join fingerprints names one authority twice.
    #[error("the fingerprints name {name} twice; give each authority's once")]
    FingerprintTwice {
        /// The authority.
        name: String,
    },
    /// An internal invariant was violated (a bug, never bad input).
    #[error("internal error: {0}")]
    Internal(Bug),
}

/// An internal invariant that failed: a bug in escrow-lab, never a property of the input.
/// Each is checked where the code could otherwise panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Bug {
    /// Serializing one of this crate's own types to JSON (or JCS) failed.
    #[error("JSON encoding")]
    JsonEncoding,
    /// A group element or scalar made here has no canonical encoding.
    #[error("point or scalar encoding")]
    PointEncoding,
    /// A random polynomial could not be made.
    #[error("polynomial generation")]
    Polynomial,
    /// A party named in a validated configuration has no index in it.
    #[error("party index")]
    PartyIndex,
    /// Two shares of one interpolation carry the same index.
    #[error("repeated share index")]
    RepeatedIndex,
    /// A validated configuration has no authority.
    #[error("no authority")]
    NoAuthority,
    /// A qualified dealer has no deal on the board.
    #[error("a qualified dealer without a deal")]
    NoQualifiedDeal,
    /// Combining verified shares failed.
    #[error("share combination")]
    Combination,
    /// HKDF refused an output length fixed in the code.
    #[error("HKDF output length")]
    HkdfLength,
    /// AES-256-GCM refused a key or a plaintext made in the code.
    #[error("AES-256-GCM encryption")]
    AesGcm,
    /// The system clock cannot be read at second precision.
    #[error("clock")]
    Clock,
    /// A validated epoch length does not fit the arithmetic.
    #[error("epoch length")]
    EpochLength,
    /// Shared anew, a generation's master key moved (the resharing's arithmetic keeps it).
    #[error("a resharing moved the master key")]
    MasterKeyMoved,
    /// A rotation would announce a generation the log announced already (planning picks a
    /// number after every announced one).
    #[error("the log already announces this generation")]
    GenerationAnnounced,
    /// An approval document is written only with the proof of its release.
    #[error("an approval is written only with the proof of its release")]
    ApprovalUnproven,
    /// An identity-key share carries a warrant as its subject.
    #[error("identity share subject")]
    ShareSubject,
    /// An atomic file was committed twice.
    #[error("atomic file committed twice")]
    CommittedTwice,
    /// A batch of one submission did not return one result.
    #[error("a batch of one has one result")]
    BatchResult,
}

/// Problems with the lab directory and its files.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LabError {
    /// The lab already holds escrow parameters.
    #[error("{path}: the lab already holds escrow parameters")]
    AlreadySetUp {
        /// The existing file or folder.
        path: std::path::PathBuf,
    },
    /// The lab holds parameters but its log database is gone (deleted or moved): nothing is
    /// created in its place.
    #[error(
        "{path}: the transparency log is missing although the lab holds parameters (deleted?); nothing was created in its place"
    )]
    LogMissing {
        /// The missing database.
        path: std::path::PathBuf,
    },
    /// The lab has no parameters yet.
    #[error("{path}: no escrow parameters here; run 'escrow setup' first")]
    NotSetUp {
        /// The missing file.
        path: std::path::PathBuf,
    },
    /// An output path is taken: a file with other content, a directory, a link (outputs are
    /// never overwritten; a file with exactly the output is left as it is).
    #[error("{path}: {what}; outputs are never overwritten, choose a new file")]
    OutputExists {
        /// The output path.
        path: std::path::PathBuf,
        /// "already exists with other content", "is a directory", "is a symbolic link".
        what: &'static str,
    },
    /// An I/O operation failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// A file the tools read is a symbolic link, or not a regular file.
    #[error("{path}: {what}; refusing to read it")]
    NotAFile {
        /// The path.
        path: std::path::PathBuf,
        /// "is a symbolic link", "is a directory", …
        what: &'static str,
    },
    /// A file is larger than any valid file of its kind.
    #[error("{path}: file too large ({size} bytes, at most {max})")]
    TooLarge {
        /// The file.
        path: std::path::PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A file in the lab could not be parsed or validated.
    #[error("{path}: {error}")]
    Invalid {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        error: Box<Error>,
    },
}

/// Why a warrant is malformed or refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WarrantError {
    /// A field does not have the required form.
    #[error("warrant: {field} {reason}")]
    Malformed {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A target is named twice.
    #[error("warrant: target '{0}' is named twice")]
    DuplicateTarget(String),
    /// The warrant names another generation.
    #[error(
        "refused: the warrant names generation {warrant}; its timespan is under generation {current}"
    )]
    WrongGeneration {
        /// In the warrant.
        warrant: u32,
        /// Current.
        current: u32,
    },
    /// The warrant expired.
    #[error("refused: the warrant expired at {0}")]
    Expired(String),
    /// The timespan lies in the future.
    #[error("refused: the timespan {0}")]
    Future(&'static str),
    /// The epochs the timespan covers amount to more than the policy allows.
    #[error(
        "refused: the timespan covers {} of {} ({}), the policy allows {}",
        count(*.epochs, "epoch"),
        duration(.epoch_length),
        keys(*.epochs, .epoch_length),
        count(u64::from(*.max_days), "day")
    )]
    SpanTooLong {
        /// Epochs the scope covers (per target: one key each).
        epochs: u64,
        /// The generation's epoch length, in seconds.
        epoch_length: u64,
        /// Policy maximum, in days.
        max_days: u32,
    },
    /// The scope (targets × epochs) is larger than any approval may carry: refused by
    /// arithmetic, before anything is built.
    #[error(
        "refused: the scope is {targets} × {} = {} identities; at most {max} can be released \
         under one warrant",
        count(*.epochs, "epoch"),
        u128::from(*.epochs) * (*.targets as u128)
    )]
    ScopeTooLarge {
        /// Targets named.
        targets: usize,
        /// Epochs the timespan overlaps.
        epochs: u64,
        /// Most identities one warrant may release.
        max: usize,
    },
    /// The authority already approved another warrant under this reference.
    #[error("refused: this authority already approved a different warrant under reference '{0}'")]
    ReferenceReused(String),
    /// Fewer than k valid approvals: nothing may be decrypted.
    #[error("{required} of {authorities} approvals required, {valid} valid")]
    NotEnoughApprovals {
        /// k.
        required: usize,
        /// n.
        authorities: usize,
        /// Valid approvals presented.
        valid: usize,
    },
    /// More targets than the policy allows.
    #[error("refused: {count} targets, the policy allows {max}")]
    TooManyTargets {
        /// Targets named.
        count: usize,
        /// Policy maximum.
        max: u32,
    },
    /// The timespan includes epochs the warrant's generation does not cover.
    #[error(
        "refused: generation {generation} does not cover epoch {epoch} of the timespan (its validity is {validity})"
    )]
    OutsideGeneration {
        /// The warrant's generation.
        generation: u32,
        /// The first epoch outside it.
        epoch: u64,
        /// Its validity window, as text.
        validity: String,
    },
    /// The timespan crosses a rotation: one warrant cannot name two generations.
    #[error(
        "the timespan crosses from generation {first} to generation {second} at epoch {epoch}: draft one warrant per generation"
    )]
    CrossesGenerations {
        /// Generation of the first epoch.
        first: u32,
        /// Generation of a later epoch.
        second: u32,
        /// The first epoch of the second generation.
        epoch: u64,
    },
}

/// `n thing` or `n things`.
fn count(n: u64, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

/// An epoch length in the largest unit that divides it: `(1, "day")`, `(6, "hour")`.
fn unit(secs: u64) -> (u64, &'static str) {
    for (unit, m) in [("day", 86_400), ("hour", 3_600), ("minute", 60)] {
        if secs.is_multiple_of(m) {
            return (secs / m, unit);
        }
    }
    (secs, "second")
}

/// `1 day`, `6 hours`.
fn duration(secs: &u64) -> String {
    let (n, u) = unit(*secs);
    count(n, u)
}

/// What `epochs` epochs of `secs` seconds release per target: `32 day keys`, `16 keys of 2
/// days`.
fn keys(epochs: u64, secs: &u64) -> String {
    match unit(*secs) {
        (1, u) => format!("{epochs} {u} {}", if epochs == 1 { "key" } else { "keys" }),
        (n, u) => format!("{} of {}", count(epochs, "key"), count(n, u)),
    }
}

impl From<WarrantError> for Error {
    fn from(e: WarrantError) -> Self {
        Error::Warrant(e)
    }
}

/// Transparency-log failures: storage, signatures, proofs, equivocation.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LogError {
    /// The log database failed.
    #[error("log database: {0}")]
    Db(DbError),
    /// A note, checkpoint, key or proof bundle is malformed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A checkpoint lacks a valid signature of the expected key.
    #[error("{what} is not validly signed by {signer}")]
    BadSignature {
        /// What was checked.
        what: String,
        /// The key expected to sign.
        signer: String,
    },
    /// An inclusion proof does not verify.
    #[error(
        "inclusion proof for entry {index} does not verify against the checkpoint of size {size}"
    )]
    BadInclusion {
        /// Entry index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// Two checkpoints are not consistent: the log forked or was rewritten.
    #[error("log equivocation: checkpoint {new} is not consistent with checkpoint {old}{by}")]
    Equivocation {
        /// The checkpoint accepted before (size and root).
        old: String,
        /// The checkpoint now presented.
        new: String,
        /// " (cosigned by …)" or empty.
        by: String,
    },
    /// A checkpoint is older than one accepted before.
    #[error("log rollback: checkpoint of size {new} is older than the accepted size {old}")]
    Rollback {
        /// Accepted size.
        old: u64,
        /// Presented size.
        new: u64,
    },
    /// The stored log does not match its own entries: the cause is in the
    /// [`Tamper`](crate::transparency::Tamper).
    #[error("log tampered: {0}")]
    Tampered(crate::transparency::Tamper),
    /// No checkpoint of this size is stored.
    #[error("no checkpoint of size {size} in the log")]
    NoCheckpoint {
        /// The size asked for.
        size: u64,
    },
    /// A witness last cosigned another size than the log assumed (C2SP tlog-witness's 409).
    #[error("witness {witness} last cosigned a checkpoint of size {size}")]
    WitnessConflict {
        /// The witness.
        witness: String,
        /// The size it last cosigned.
        size: u64,
    },
    /// A submitted entry breaks the warrant process the log records (docs/protocol.md §7):
    /// the log refuses it rather than let every monitor fail on it later.
    #[error("refused by the log: {0}")]
    OutOfProcess(ProcessRule),
    /// A read-only view of the log was asked to append.
    #[error("the log was opened read-only: nothing can be submitted through it")]
    ReadOnly,
    /// A log service could not be reached or answered something unusable.
    #[error("service {url}: {reason}")]
    Unreachable {
        /// The service's address.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A log service refused a request.
    #[error("service {url} refused the request ({status}): {reason}")]
    Refused {
        /// The service's address.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Its one-line reason.
        reason: String,
    },
    /// An index is beyond the log.
    #[error("entry {index} is not in the log (size {size})")]
    NotInLog {
        /// Requested index.
        index: u64,
        /// Log size.
        size: u64,
    },
}

#[doc(hidden)]
impl From<rusqlite::Error> for LogError {
    fn from(e: rusqlite::Error) -> Self {
        LogError::Db(DbError(e))
    }
}

/// A failure of one of the lab's SQLite databases (the log, a journal, the relay). Opaque: the
/// storage engine is not part of any API; its text is the database's message.
#[derive(Debug)]
pub struct DbError(rusqlite::Error);

impl DbError {
    /// Whether another process held the database's lock past the busy timeout.
    pub fn is_busy(&self) -> bool {
        self.0.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DbError {}

#[doc(hidden)]
impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError(e)
    }
}

impl From<LabError> for Error {
    fn from(e: LabError) -> Self {
        Error::Lab(e)
    }
}

/// A rule of the warrant process that a submitted entry would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessRule {
    /// A release for a warrant the log has not logged.
    #[error("a key-released entry for a warrant that was not logged")]
    ReleaseBeforeWarrant,
    /// A release of more identities than the warrant's scope (targets × epochs).
    #[error("a key-released entry of more identities than its warrant's scope")]
    ReleaseWiderThanScope,
    /// A release by a name no generation of the log names as an authority.
    #[error("a key-released entry by an authority of no generation the log announced")]
    ReleaseByNonAuthority,
    /// An execution of a warrant the log has not logged.
    #[error("a warrant-executed entry for a warrant that was not logged")]
    ExecutionBeforeWarrant,
    /// An execution of a warrant released by fewer than k distinct authorities.
    #[error("a warrant-executed entry for a warrant released by fewer than k authorities")]
    ExecutionBelowThreshold,
    /// A retirement or revocation of a generation the log never announced (another realm,
    /// an unknown number), or by a name that is not one of its authorities (after a
    /// resharing: of the new sharing).
    #[error(
        "a retirement or revocation of a generation the log did not announce, or by one that is not its authority"
    )]
    UnannouncedGeneration,
}

/// Result alias of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
