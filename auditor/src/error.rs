//! The error type of the `auditor` crate: the escrow library's errors, and the auditor's own.

use thiserror::Error;

/// Why a capture is refused before anything in it is examined.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CaptureMismatch {
    /// Another capture format version.
    #[error("unsupported version {0} (this build reads version 2; export the capture again)")]
    Version(u64),
    /// Not a capture document.
    #[error("not an escrow-lab capture")]
    Kind,
    /// The capture was exported for another realm.
    #[error("it belongs to realm '{capture}', this lab is realm '{lab}'")]
    Realm {
        /// The capture's realm.
        capture: String,
        /// This lab's realm.
        lab: String,
    },
    /// This lab's relay database has no id to compare the capture's origin with.
    #[error("this lab's relay database cannot be read to check the capture's origin")]
    NoRelay,
    /// The capture was exported by another relay.
    #[error(
        "it was exported by relay {capture}, not by this lab's relay ({lab}): a capture of another lab"
    )]
    Relay {
        /// The capture's relay id.
        capture: String,
        /// This lab's relay id.
        lab: String,
    },
    /// The capture is of an account the warrant does not target.
    #[error("it is a capture of '{0}', which the warrant does not target")]
    Account(String),
    /// The capture's window or export time does not parse, or ends before it starts.
    #[error("its window is not two RFC 3339 times in order")]
    Window,
    /// Two envelopes of the capture under one relay id.
    #[error("relay id {0} appears twice")]
    DuplicateId(i64),
    /// A delivery status the relay does not write.
    #[error("envelope {0} has a delivery status other than queued, held, delivered or rejected")]
    Status(i64),
    /// The capture's directory lacks a party, or gives an account other identity keys than the
    /// relay's directory does (an edited capture).
    #[error("its directory entry of '{0}' is missing or not the one this lab's relay publishes")]
    Directory(String),
    /// The capture names a generation of this number with another master key.
    #[error(
        "its generation {0} has another master public key than this lab's: a capture of another lab"
    )]
    MasterKey(u32),
    /// The capture's window does not meet the warrant's generation.
    #[error("it covers generation(s) {capture:?}, the warrant is for generation {warrant}")]
    Generation {
        /// The warrant's generation.
        warrant: u32,
        /// The capture's generations.
        capture: Vec<u32>,
    },
}

/// Everything the auditor library can refuse.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the escrow library (parameters, log, warrant, approvals, combination).
    #[error(transparent)]
    Escrow(#[from] escrow::Error),
    /// A capture of another lab, or of another format.
    #[error("capture refused: {0}")]
    Capture(#[from] CaptureMismatch),
    /// A drafted or submitted warrant no authority could approve: the rule it breaks.
    #[error("{0}")]
    Draft(escrow::Error),
    /// A target the lab's relay does not know: no traffic of it can exist.
    #[error("refused: target '{0}' is not registered with this lab's relay")]
    UnknownTarget(String),
    /// A target that registered after the drafting or submission time.
    #[error(
        "refused: target '{account}' registered at {registered}, after {at}: a warrant at {at} cannot name it"
    )]
    RegisteredLater {
        /// The account.
        account: String,
        /// Its registration time.
        registered: String,
        /// The drafting or submission time.
        at: String,
    },
    /// Fewer than k valid approvals: every one presented is named with its verdict.
    #[error("{required} of {authorities} approvals required, {valid} valid{}", discarded(.verdicts))]
    NotEnoughApprovals {
        /// k.
        required: usize,
        /// n.
        authorities: usize,
        /// Distinct valid authorities.
        valid: usize,
        /// Every approval presented, with its verdict.
        verdicts: Vec<crate::execute::ApprovalVerdict>,
    },
    /// The warrant was executed before (executions are counted once per warrant).
    #[error(
        "refused: warrant {reference} was already executed (log entry {entry}, at {time}); a warrant is executed once, a new capture needs a new warrant"
    )]
    AlreadyExecuted {
        /// The warrant's reference.
        reference: String,
        /// The `warrant-executed` entry.
        entry: u64,
        /// Its time.
        time: String,
    },
    /// The drafting time is so late that the default expiry (seven days later) is past year
    /// 9999.
    #[error("the drafting time is too late for the default expiry (seven days later)")]
    DefaultExpiry,
    /// A capture file that is not JSON of a capture.
    #[error("malformed capture: {0}")]
    MalformedCapture(serde_json::Error),
    /// A file given as a proof holds none.
    #[error("{0}")]
    NotAProof(NotAProof),
    /// The report file cannot be created.
    #[error("{}: {}", path.display(), report_text(.error))]
    Report {
        /// The report file.
        path: std::path::PathBuf,
        /// What failed.
        error: Box<escrow::Error>,
    },
    /// The report could not be encoded (a bug, never bad input).
    #[error("report: {0}")]
    ReportJson(serde_json::Error),
    /// The warrant expired before this execution.
    #[error(
        "refused: warrant {reference} expired at {expires}; an expired warrant is not executed"
    )]
    Expired {
        /// The warrant's reference.
        reference: String,
        /// Its expiry.
        expires: String,
    },
}

/// Why a file given as a proof holds none.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NotAProof {
    /// Not JSON.
    #[error("malformed JSON: {0}")]
    Json(serde_json::Error),
    /// An approval without the proof of its release.
    #[error("the approval carries no release proof")]
    NoReleaseProof,
    /// An execution report whose proof does not parse.
    #[error("malformed execution proof: {0}")]
    Execution(serde_json::Error),
    /// Neither a receipt, an approval nor an execution report.
    #[error("not a receipt, an approval or an execution report (no proof to check)")]
    Unknown,
}

/// The report file of an execution cannot be written: `cannot write the report` for an I/O
/// failure, the escrow library's error otherwise.
fn report_text(error: &escrow::Error) -> String {
    match error {
        escrow::Error::Lab(escrow::LabError::Io { error, .. }) => {
            format!("cannot write the report: {error}")
        }
        e => e.to_string(),
    }
}

fn discarded(verdicts: &[crate::execute::ApprovalVerdict]) -> String {
    let bad: Vec<String> = verdicts
        .iter()
        .filter_map(|v| {
            v.reason
                .as_ref()
                .map(|r| format!("{} ({})", escrow::encoding::printable(&v.source), r))
        })
        .collect();
    if bad.is_empty() {
        String::new()
    } else {
        format!("; discarded: {}", bad.join("; "))
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<escrow::WarrantError> for Error {
    fn from(e: escrow::WarrantError) -> Self {
        Error::Escrow(e.into())
    }
}

impl From<escrow::LogError> for Error {
    fn from(e: escrow::LogError) -> Self {
        Error::Escrow(e.into())
    }
}
