//! Why a DKG or resharing step is refused ([`crate::Error::DkgRefused`]): one variant per
//! cause, carrying its data, so that callers can match on the cause instead of the text.

use std::path::PathBuf;

use thiserror::Error;

/// Which procedure a refusal is about: a DKG (board `dkg/`) or a resharing or refresh (board
/// `reshare/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Procedure {
    /// A dealerless key generation.
    Dkg,
    /// A resharing or refresh of an existing generation.
    Resharing,
}

impl Procedure {
    /// The board's folder in the lab.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Dkg => "dkg",
            Self::Resharing => "reshare",
        }
    }

    /// What is abandoned when it cannot go on.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Dkg => "session",
            Self::Resharing => "resharing",
        }
    }

    /// What one participant is called.
    pub fn member(self) -> &'static str {
        match self {
            Self::Dkg => "authority",
            Self::Resharing => "party",
        }
    }

    /// What several participants are called.
    pub fn members(self) -> &'static str {
        match self {
            Self::Dkg => "authorities",
            Self::Resharing => "parties",
        }
    }
}

/// A DKG or resharing message or step is refused: a bad signature, a message changed after its
/// round closed, another party's keys in this party's place, or results that disagree.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DkgRefusal {
    /// Qualification excluded every dealer (each one's deal is missing, unsigned or
    /// complained about): the transcript makes no key.
    #[error("no dealer qualified ({excluded} excluded): this transcript makes no key")]
    NoDealerQualified {
        /// How many dealers were excluded.
        excluded: usize,
    },
    /// A board folder, or a party's state folder in it, is a symbolic link or a file.
    #[error(
        "{}: not a folder of its own (a symbolic link or a file); refusing to use it",
        .path.display()
    )]
    NotOwnFolder {
        /// The folder.
        path: PathBuf,
    },
    /// A party's state folder is open to others or owned by another user.
    #[error(
        "{}: open to others (mode {mode:o}) or owned by another user; {who}'s state must be its \
         own (0700)",
        .path.display()
    )]
    OpenToOthers {
        /// The folder.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The party it belongs to.
        who: String,
    },
    /// A file a party kept in its own state does not parse.
    #[error("{}: unreadable", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
    },
    /// A party's message of a round is not signed by that party's key of this session.
    #[error(
        "{dir}/{round}-{who}.json is not signed by {who}'s key of this session; waiting for \
         {who}'s own",
        dir = .procedure.dir()
    )]
    NotSignedBySession {
        /// The board.
        procedure: Procedure,
        /// The round (join, deal, response, justification, finished).
        round: &'static str,
        /// The party named as sender.
        who: String,
    },
    /// A join is not self-signed for this proposal, not in the party's name, or has a witness
    /// key in another name.
    #[error(
        "{dir}/join-{who}.json is not a valid join of {who} to this session",
        dir = .procedure.dir()
    )]
    InvalidJoin {
        /// The board.
        procedure: Procedure,
        /// The party named in the file name.
        who: String,
    },
    /// A finished party's staged share file is gone.
    #[error("{who}'s staged share is missing: {who} must run finish again")]
    StagedShareMissing {
        /// The party.
        who: String,
    },
    /// A finished party's staged share file is not the one its signed marker names.
    #[error(
        "{who}'s staged share is not the file its finished marker names (altered after it \
         finished): {who} must run finish again; nothing was installed or revoked"
    )]
    StagedShareAltered {
        /// The party.
        who: String,
    },
    /// A party's staged witness key is not UTF-8.
    #[error("{who}'s witness key is not text")]
    WitnessKeyNotText {
        /// The party.
        who: String,
    },
    /// No DKG session is open in the lab.
    #[error("no DKG session is open in this lab: open one with `escrow dkg start`")]
    NoDkgSession,
    /// A DKG threshold below 2 would give every authority the master secret.
    #[error(
        "a DKG with threshold {threshold} gives every authority the master secret; use 2 or more"
    )]
    DkgThreshold {
        /// The threshold proposed.
        threshold: usize,
    },
    /// A party's own state already holds keys when it joins.
    #[error(
        "{who}'s state already holds keys: {who} joined before (its join printed the fingerprint \
         to use) — if {who} never joined, someone planted them: abandon this {noun}",
        noun = .procedure.noun()
    )]
    KeysAlreadyHeld {
        /// The board.
        procedure: Procedure,
        /// The party.
        who: String,
    },
    /// A join is on the board in the name of a party that never joined.
    #[error(
        "{dir}/join-{who}.json exists but {who} never joined: someone joined in {who}'s name; \
         abandon this {noun}",
        dir = .procedure.dir(),
        noun = .procedure.noun()
    )]
    JoinedInName {
        /// The board.
        procedure: Procedure,
        /// The party.
        who: String,
    },
    /// A join's fingerprint is not the one expected (given out of band).
    #[error(
        "{who}'s join on the board has fingerprint {found}, not {expected}: its keys or the \
         proposal were replaced; abandon this session"
    )]
    FingerprintMismatch {
        /// The authority.
        who: String,
        /// The fingerprint of its join on the board.
        found: String,
        /// The fingerprint expected.
        expected: String,
    },
    /// The join on the board in a party's name does not hold the party's own keys.
    #[error(
        "{dir}/join-{who}.json does not hold {who}'s own keys: someone replaced them; abandon \
         this {noun}",
        dir = .procedure.dir(),
        noun = .procedure.noun()
    )]
    KeysReplaced {
        /// The board.
        procedure: Procedure,
        /// The party.
        who: String,
    },
    /// Two finished markers name different transcripts.
    #[error(
        "{first} and {other} finished from different transcripts ({first_transcript}… and \
         {other_transcript}…): no generation is installed; a message changed between their \
         reads — see `escrow dkg verify`"
    )]
    TranscriptsDiffer {
        /// The first authority's name.
        first: String,
        /// The other authority's name.
        other: String,
        /// The first 12 hex digits of the first authority's transcript digest.
        first_transcript: Box<str>,
        /// The first 12 hex digits of the other authority's transcript digest.
        other_transcript: Box<str>,
    },
    /// This authority's own result differs from the one every marker names.
    #[error("this authority's result differs from every marker")]
    ResultDiffers,
    /// An authority's join has no witness key.
    #[error("dkg/join-{who}.json has no witness key")]
    NoWitnessKey {
        /// The authority.
        who: String,
    },
    /// A resharing is already open.
    #[error("a resharing is already open in {}; finish it first", .path.display())]
    ReshareOpen {
        /// The board folder.
        path: PathBuf,
    },
    /// No resharing is open in the lab.
    #[error(
        "no resharing is open in this lab (one that completed is kept under reshares/); open \
         one with `escrow reshare start` or `escrow refresh`"
    )]
    NoReshareSession,
    /// The generation's sharing changed since the resharing started.
    #[error("the generation's sharing changed since this resharing started; abandon it")]
    SharingChanged,
    /// A party that is not a dealer of the resharing tried a dealer's step.
    #[error("{who} is not a dealer of this resharing")]
    NotADealer {
        /// The party.
        who: String,
    },
    /// A party that is not a new authority of the resharing tried a new authority's step.
    #[error("{who} is not a new authority of this resharing")]
    NotANewAuthority {
        /// The party.
        who: String,
    },
    /// Fewer than k' new shares are staged as finished.
    #[error(
        "only {staged} new share(s) are staged as finished, {needed} needed: {why}",
        why = join(.unusable)
    )]
    TooFewStaged {
        /// How many are staged and check.
        staged: usize,
        /// How many are needed (the new threshold).
        needed: usize,
        /// Why each of the others is unusable.
        unusable: Vec<DkgRefusal>,
    },
    /// A finished marker does not name the result recomputed from the public messages.
    #[error(
        "{who}'s finished marker does not name the result of the public messages (a message \
         changed between reads); nothing is revoked"
    )]
    MarkerDisagrees {
        /// The new authority whose marker it is.
        who: String,
    },
    /// A party without a share of the old sharing tried to revoke it.
    #[error("{who} holds no share of the old sharing")]
    NoOldShare {
        /// The party.
        who: String,
    },
    /// An old authority has revoked its share already: the resharing can only be completed.
    #[error(
        "an old authority has already revoked its share for this resharing: it cannot be \
         abandoned; complete it (k' staged new shares suffice)"
    )]
    AlreadyRevoked,
    /// A new threshold below 2 would give every new authority the master secret.
    #[error(
        "a new threshold of {threshold} would give every new authority the master secret; use \
         2 or more"
    )]
    ReshareThreshold {
        /// The new threshold proposed.
        threshold: usize,
    },
    /// The resharing names one dealer twice.
    #[error("a dealer is named twice")]
    DealerTwice,
    /// Fewer than k old authorities are named as dealers.
    #[error(
        "{named} dealer(s) named, but k = {threshold} old authorities must deal a resharing of a \
         {threshold}-of-{authorities} generation"
    )]
    TooFewDealers {
        /// How many dealers are named.
        named: usize,
        /// The old threshold k.
        threshold: usize,
        /// The old number of authorities n.
        authorities: usize,
    },
    /// The session's key lists do not have one transport and one signing key per participant.
    #[error(
        "the session needs one transport and one signing key per {member}",
        member = .procedure.member()
    )]
    KeyCount {
        /// The procedure.
        procedure: Procedure,
    },
    /// Two participants joined with the same signing key.
    #[error(
        "two {members} joined with one signing key",
        members = .procedure.members()
    )]
    SharedSigningKey {
        /// The procedure.
        procedure: Procedure,
    },
    /// Fewer than k old authorities dealt correctly.
    #[error(
        "only {qualified} old authorities dealt correctly; {needed} are needed (excluded: {why})",
        why = join_excluded(.excluded)
    )]
    TooFewQualified {
        /// How many dealers qualified.
        qualified: usize,
        /// How many are needed (the old threshold k).
        needed: usize,
        /// Each excluded dealer and why.
        excluded: Vec<(String, Exclusion)>,
    },
    /// The new commitment's constant term is not the master public key.
    #[error("the new commitment does not keep the master key")]
    MasterKeyMoved,
    /// The justifications carry no signed response of this party's.
    #[error("the justifications carry no signed response of {who}'s")]
    NoOwnResponse {
        /// The party.
        who: String,
    },
    /// The deals a party kept are not those its own response says it checked.
    #[error(
        "the deals in {who}'s state are not those its own response says it checked: its state \
         was altered; finish refused"
    )]
    OwnDealsAltered {
        /// The party.
        who: String,
    },
    /// An authority revoked its share of the generation in a resharing still open.
    #[error(
        "{authority} revoked its share of generation {generation} in a resharing that has not \
         completed: it holds no share of it now"
    )]
    RevokedInOpenResharing {
        /// The authority.
        authority: String,
        /// The generation.
        generation: u32,
    },
}

fn join(refusals: &[DkgRefusal]) -> String {
    refusals
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why qualification excludes a dealer of a DKG or resharing (its deal, its justification, or
/// the complaints against it). The texts are those `escrow dkg` and `escrow reshare` print
/// after "excluded NAME: ".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Exclusion {
    /// No signed deal of this session from the dealer.
    #[error("published no deal")]
    NoDeal,
    /// Two different signed deals.
    #[error("published two different deals")]
    TwoDeals,
    /// Two different signed responses: the party's complaints are void.
    #[error("signed two different responses")]
    TwoResponses,
    /// Two different signed justifications.
    #[error("published two different justifications")]
    TwoJustifications,
    /// A justification that does not carry every responder's signed response.
    #[error("published a justification that does not carry every signed response")]
    IncompleteJustification,
    /// A justification whose revealed rows are not hex.
    #[error("published a malformed justification")]
    MalformedJustification,
    /// The commitment is not hex.
    #[error("malformed commitment (hex)")]
    CommitmentHex,
    /// The commitment has the wrong degree or a non-canonical encoding.
    #[error("commitment of the wrong degree")]
    CommitmentDegree,
    /// The commitment holds a point that is not a valid G1 element.
    #[error("commitment with an invalid curve point")]
    CommitmentPoint,
    /// A resharing dealer that is not an old authority.
    #[error("not an old authority")]
    NotOldAuthority,
    /// A resharing dealer whose polynomial does not hide its own share (H(0) ≠ its public key
    /// share).
    #[error("dealt a polynomial that does not hide its own share")]
    NotOwnShare,
    /// A row (DKG) or value (resharing) for a party outside the session.
    #[error("a {piece} for unknown party '{party}'")]
    UnknownParty {
        /// Row or value.
        piece: Piece,
        /// The party named.
        party: String,
    },
    /// A row or value ciphertext that is not hex.
    #[error("malformed {piece} ciphertext (hex)")]
    CiphertextHex {
        /// Row or value.
        piece: Piece,
    },
    /// Two rows or values for one party.
    #[error("two {piece}s for {party}")]
    TwoPieces {
        /// Row or value.
        piece: Piece,
        /// The party.
        party: String,
    },
    /// Rows missing for some authorities (DKG).
    #[error("rows missing for some authorities")]
    RowsMissing,
    /// Values missing for some new authorities (resharing).
    #[error("values missing for some new authorities")]
    ValuesMissing,
    /// More complaints than the bound allows.
    #[error("{count} complaints, more than {bound} = {degree}")]
    TooManyComplaints {
        /// Complaints against the dealer.
        count: usize,
        /// How the bound is written ("t" or "t'").
        bound: &'static str,
        /// The bound.
        degree: usize,
    },
    /// A complaint the dealer's justification does not answer.
    #[error("did not answer the complaint of {party}")]
    Unanswered {
        /// The complaining party.
        party: String,
    },
    /// A revealed row or value that does not match the dealer's commitment.
    #[error("revealed a {piece} for {party} that does not match its commitment")]
    BadReveal {
        /// Row or value.
        piece: Piece,
        /// The party it was revealed for.
        party: String,
    },
    /// The deal could not be hashed (an internal invariant).
    #[error("internal error: {0}")]
    Internal(crate::Bug),
}

/// What a dealer deals each party: a row of a bivariate polynomial (DKG) or a value of a
/// polynomial (resharing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// A DKG row.
    Row,
    /// A resharing value.
    Value,
}

impl std::fmt::Display for Piece {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Piece::Row => "row",
            Piece::Value => "value",
        })
    }
}

fn join_excluded(excluded: &[(String, Exclusion)]) -> String {
    excluded
        .iter()
        .map(|(w, why)| format!("{w}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts are those the free-text variant carried (the CLI's stderr and
    /// docs/bad-input.md compare them).
    #[test]
    fn texts_are_unchanged() {
        let who = "court".to_owned();
        let cases: Vec<(DkgRefusal, String)> = vec![
            (
                DkgRefusal::NotADealer { who: who.clone() },
                format!("{who} is not a dealer of this resharing"),
            ),
            (
                DkgRefusal::OpenToOthers {
                    path: PathBuf::from("/lab/dkg/private/court"),
                    mode: 0o755,
                    who: who.clone(),
                },
                format!(
                    "{}: open to others (mode {:o}) or owned by another user; {who}'s state \
                     must be its own (0700)",
                    std::path::Path::new("/lab/dkg/private/court").display(),
                    0o755
                ),
            ),
            (
                DkgRefusal::JoinedInName {
                    procedure: Procedure::Resharing,
                    who: who.clone(),
                },
                format!(
                    "reshare/join-{who}.json exists but {who} never joined: someone joined in \
                     {who}'s name; abandon this resharing"
                ),
            ),
            (
                DkgRefusal::KeysAlreadyHeld {
                    procedure: Procedure::Dkg,
                    who: who.clone(),
                },
                format!(
                    "{who}'s state already holds keys: {who} joined before (its join printed \
                     the fingerprint to use) — if {who} never joined, someone planted them: \
                     abandon this session"
                ),
            ),
            (
                DkgRefusal::NotSignedBySession {
                    procedure: Procedure::Dkg,
                    round: "deal",
                    who: who.clone(),
                },
                format!(
                    "dkg/deal-{who}.json is not signed by {who}'s key of this session; \
                     waiting for {who}'s own"
                ),
            ),
            (
                DkgRefusal::KeyCount {
                    procedure: Procedure::Resharing,
                },
                "the session needs one transport and one signing key per party".into(),
            ),
            (
                DkgRefusal::SharedSigningKey {
                    procedure: Procedure::Dkg,
                },
                "two authorities joined with one signing key".into(),
            ),
            (
                DkgRefusal::TooFewStaged {
                    staged: 1,
                    needed: 2,
                    unusable: vec![
                        DkgRefusal::StagedShareMissing { who: "a".into() },
                        DkgRefusal::StagedShareAltered { who: "b".into() },
                    ],
                },
                "only 1 new share(s) are staged as finished, 2 needed: a's staged share is \
                 missing: a must run finish again; b's staged share is not the file its \
                 finished marker names (altered after it finished): b must run finish again; \
                 nothing was installed or revoked"
                    .into(),
            ),
            (
                DkgRefusal::TooFewQualified {
                    qualified: 1,
                    needed: 2,
                    excluded: vec![("a".into(), Exclusion::NoDeal)],
                },
                "only 1 old authorities dealt correctly; 2 are needed (excluded: a: published \
                 no deal)"
                    .into(),
            ),
            (
                DkgRefusal::TooFewDealers {
                    named: 1,
                    threshold: 2,
                    authorities: 3,
                },
                "1 dealer(s) named, but k = 2 old authorities must deal a resharing of a 2-of-3 \
                 generation"
                    .into(),
            ),
        ];
        for (refusal, old) in cases {
            assert_eq!(refusal.to_string(), old);
            assert_eq!(crate::Error::DkgRefused(refusal).to_string(), old);
        }
    }
}
