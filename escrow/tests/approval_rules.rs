//! The approval rules escrow enforces itself, through the library (no binaries): rule 6 (the
//! receipt proves this warrant was logged, under this log's key, on the log this authority has
//! seen), rule 7 (one warrant per reference and authority), and the generation's validity
//! window. Each test fails if its check is removed; each refusal leaves the log, the journal
//! and the witness state as they were.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::path::Path;

use escrow::approval::{ApprovalContext, Journal, check_warrant};
use escrow::authority::approve;
use escrow::lab::Lab;
use escrow::transparency::proof::ProofBundle;
use escrow::transparency::store::LogStore;
use escrow::transparency::witness::WitnessState;
use escrow::transparency::{LogRecord, generate_log, log_signer};
use escrow::warrant::Warrant;
use escrow::{Error, LogError, PublicParams, WarrantError};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use test_support::lab::THREE;
use test_support::{lab, warrant};
use time::OffsetDateTime;
use time::macros::datetime;

const SETUP_AT: OffsetDateTime = datetime!(2026-11-01 00:00 UTC);
/// The warrants' default timespan, and the time of the decisions.
const START: OffsetDateTime = datetime!(2026-11-27 00:00 UTC);
const END: OffsetDateTime = datetime!(2026-11-28 00:00 UTC);
const AT: OffsetDateTime = datetime!(2026-11-28 09:00 UTC);
const LOGGED_AT: OffsetDateTime = datetime!(2026-11-28 08:00 UTC);

struct World {
    tmp: tempfile::TempDir,
    lab: Lab,
    rng: ChaCha20Rng,
}

impl World {
    /// A 2-of-3 lab (court, ministry, oversight) whose generation is valid over `validity`
    /// (`None`: always).
    fn new(seed: u64, validity: Option<(OffsetDateTime, OffsetDateTime)>) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut req = lab::request(&THREE, 2, SETUP_AT);
        if let Some((from, until)) = validity {
            req.valid_from = Some(from);
            req.valid_until = Some(until);
        }
        let (lab, _, _) = lab::dealer(tmp.path().join("lab"), &req, &mut rng);
        World { tmp, lab, rng }
    }

    fn warrant(
        &mut self,
        reference: &str,
        target: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Warrant {
        let draft = warrant::high_court(reference, &[target], start, end);
        Warrant::new(draft, &mut self.rng).unwrap()
    }

    fn params(&self) -> PublicParams {
        self.lab.load_params().unwrap()
    }
}

/// Logs `warrant` in `lab` the way `auditor::submit_warrant` does (a `warrant-logged` record of
/// its digest, reference, target and epoch counts, issuer and time, signed by the lab's log
/// key) and returns its receipt. The auditor's own checks before logging are left out on
/// purpose: what is tested here is what the authority checks for itself.
fn log_warrant(lab: &Lab, warrant: &Warrant) -> ProofBundle {
    warrant::log_unchecked(lab, warrant, LOGGED_AT)
}

/// Everything an approval may change: the log (size and newest checkpoint), the authority's
/// journal (its rows, or its absence) and its witness state.
#[derive(Debug, PartialEq, Eq)]
struct State {
    log_size: u64,
    log_head: Vec<u8>,
    journal: Option<Vec<(String, String)>>,
    witness: Option<Vec<u8>>,
}

fn journal_path(lab: &Lab, authority: &str) -> std::path::PathBuf {
    lab.authorities_dir().join(authority).join("journal.sqlite")
}

fn state(lab: &Lab, authority: &str) -> State {
    let config = lab.load_log_config().unwrap();
    let store = lab.open_log_read_only(&config).unwrap();
    let path = journal_path(lab, authority);
    let journal = path.exists().then(|| {
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE,
        )
        .unwrap();
        let mut stmt = conn
            .prepare("SELECT digest, reference FROM approvals ORDER BY digest")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
    });
    let witness = std::fs::read(lab.witness_state_path(authority)).ok();
    State {
        log_size: store.size().unwrap(),
        log_head: store.latest_checkpoint().unwrap(),
        journal,
        witness,
    }
}

/// `authority` refuses `warrant` with `receipt` at [`AT`], and nothing changes.
fn refused(lab: &Lab, authority: &str, warrant: &Warrant, receipt: &ProofBundle) -> Error {
    let before = state(lab, authority);
    let err = approve(lab, authority, warrant, receipt, AT).expect_err("approved");
    assert_eq!(
        state(lab, authority),
        before,
        "a refusal changed the lab: {err}"
    );
    err
}

fn log_size(lab: &Lab) -> u64 {
    state(lab, "court").log_size
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs [`check_warrant`] for `witness` in `lab` at [`AT`], with consistency proofs from
/// `proofs` (the log that serves the receipt's checkpoint, which need not be the honest one).
/// Returns the size of the receipt's checkpoint.
fn check(
    lab: &Lab,
    witness: &WitnessState,
    proofs: &LogStore,
    warrant: &Warrant,
    receipt: &ProofBundle,
) -> escrow::Result<u64> {
    check_at(lab, witness, proofs, warrant, receipt, AT)
}

fn check_at(
    lab: &Lab,
    witness: &WitnessState,
    proofs: &LogStore,
    warrant: &Warrant,
    receipt: &ProofBundle,
    at: OffsetDateTime,
) -> escrow::Result<u64> {
    let params = lab.load_params().unwrap();
    let config = lab.load_log_config().unwrap();
    let ctx = ApprovalContext {
        params: &params,
        log: &config,
        witness,
        at,
    };
    check_warrant(&ctx, warrant, receipt, &mut |a, b| {
        proofs.prove_consistency(a, b)
    })
    .map(|(_, _, cp)| cp.size())
}

fn open_store(lab: &Lab) -> LogStore {
    lab.open_log(&lab.load_log_config().unwrap()).unwrap()
}

#[test]
fn rule_6a_a_receipt_for_another_logged_warrant_is_refused() {
    let mut w = World::new(61, None);
    let a = w.warrant("W-1", "alice", START, END);
    let b = w.warrant("W-2", "alice", START, END);
    let ra = log_warrant(&w.lab, &a);
    let rb = log_warrant(&w.lab, &b);
    let store = open_store(&w.lab);
    let fresh = WitnessState::new("court");
    // B's receipt is a valid proof, under the log's key, of another warrant-logged entry; the
    // generation-created entry's receipt is one of an entry of another kind.
    let genesis = ProofBundle::build(&store, 0).unwrap();
    for receipt in [&rb, &genesis] {
        receipt.verify(&w.lab.load_log_config().unwrap()).unwrap();
        let err = check(&w.lab, &fresh, &store, &a, receipt).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Warrant(WarrantError::Malformed {
                    field: "receipt",
                    ..
                })
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "warrant: receipt does not prove that this warrant was logged"
        );
        let err = refused(&w.lab, "court", &a, receipt);
        assert!(
            err.to_string()
                .contains("does not prove that this warrant was logged"),
            "{err}"
        );
    }
    // Each warrant's own receipt passes.
    assert_eq!(check(&w.lab, &fresh, &store, &a, &ra).unwrap(), 2);
    drop(store);
    assert!(approve(&w.lab, "court", &a, &ra, AT).unwrap().new);
    assert!(approve(&w.lab, "court", &b, &rb, AT).unwrap().new);
}

#[test]
fn rule_6b_a_checkpoint_signed_by_another_log_key_is_refused() {
    let mut w = World::new(62, None);
    let a = w.warrant("W-1", "alice", START, END);
    let ra = log_warrant(&w.lab, &a);
    // The same entries under a key of the same name that is not the log's: the tree, and so
    // the checkpoint's text, are identical; only the signature differs.
    let store = open_store(&w.lab);
    let config = w.lab.load_log_config().unwrap();
    let names: Vec<String> = THREE.map(str::to_owned).to_vec();
    let rogue_key = generate_log("escrow-lab", &names, &mut w.rng).log_key;
    let mut rogue = LogStore::in_memory(&config.origin).unwrap();
    let records: Vec<LogRecord> = (0..store.size().unwrap())
        .map(|i| store.entry(i).unwrap())
        .collect();
    rogue
        .append_batch(&records, &log_signer(&rogue_key).unwrap())
        .unwrap();
    let forged = ProofBundle::build(&rogue, 1).unwrap();
    let text = |note: &str| note.split_once("\n\n").unwrap().0.to_owned();
    assert_eq!(text(&forged.checkpoint), text(&ra.checkpoint));
    assert_eq!(forged.entry, ra.entry);
    assert_ne!(forged.checkpoint, ra.checkpoint);

    let fresh = WitnessState::new("court");
    let err = check(&w.lab, &fresh, &store, &a, &forged).unwrap_err();
    assert!(
        matches!(err, Error::Log(LogError::BadSignature { .. })),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("checkpoint is not validly signed by {}", config.origin)
    );
    drop(store);
    let err = refused(&w.lab, "court", &a, &forged);
    assert!(
        matches!(err, Error::Log(LogError::BadSignature { .. })),
        "{err:?}"
    );
    // The log's own receipt of the same entry passes.
    assert!(approve(&w.lab, "court", &a, &ra, AT).unwrap().new);
}

#[test]
fn rule_6c_a_receipt_from_a_fork_of_the_log_is_refused_as_equivocation() {
    let mut w = World::new(63, None);
    let a = w.warrant("W-1", "alice", START, END);
    log_warrant(&w.lab, &a);
    // The operator copies the lab (log and key) after W-1.
    let fork = Lab::new(w.tmp.path().join("fork"));
    copy_dir(w.lab.root(), fork.root());
    // The real branch: W-2, and court accepts its checkpoint (size 3) as a witness.
    let b = w.warrant("W-2", "bob", START, END);
    log_warrant(&w.lab, &b);
    let cosigned = escrow::authority::cosign(&w.lab, "court", AT).unwrap();
    assert_eq!(cosigned.checkpoint.size(), 3);
    let court = w.lab.load_witness_state("court").unwrap();
    // The other branch, signed with the real key: W-evil in W-2's place (a checkpoint of the
    // same size as court's, another root), then one entry more (a newer checkpoint).
    let evil = w.warrant("W-evil", "carol", START, END);
    let same_size = log_warrant(&fork, &evil);
    let filler = w.warrant("W-filler", "carol", START, END);
    log_warrant(&fork, &filler);
    let fork_store = open_store(&fork);
    let newer = ProofBundle::build(&fork_store, 2).unwrap();
    let config = w.lab.load_log_config().unwrap();
    assert_eq!(fork.load_log_config().unwrap(), config);
    for (receipt, size) in [(&same_size, 3), (&newer, 4)] {
        // Each receipt is valid on its own (the log's key, a verifying inclusion proof), and
        // an authority that has accepted nothing yet passes it…
        receipt.verify(&config).unwrap();
        let fresh = WitnessState::new("court");
        assert_eq!(
            check(&w.lab, &fresh, &fork_store, &evil, receipt).unwrap(),
            size
        );
        // …court, which accepted the real checkpoint of size 3, refuses it, with the fork's
        // own consistency proofs.
        let err = check(&w.lab, &court, &fork_store, &evil, receipt).unwrap_err();
        assert!(
            matches!(err, Error::Log(LogError::Equivocation { .. })),
            "{err:?}"
        );
        // The message names both checkpoints and says which one is whose: the older of the
        // two is labelled (court's own at equal size is the newer; the receipt's of size 4 is).
        let text = err.to_string();
        let whose = if size == 3 {
            "(the receipt's)"
        } else {
            "(last accepted by court)"
        };
        assert!(
            text.starts_with("log equivocation")
                && text.contains(&cosigned.checkpoint.label())
                && text.ends_with(whose),
            "{text}"
        );
    }
    drop(fork_store);
    // The whole procedure in the forked lab: court's memory travels with court.
    std::fs::copy(
        w.lab.witness_state_path("court"),
        fork.witness_state_path("court"),
    )
    .unwrap();
    for receipt in [&same_size, &newer] {
        let err = refused(&fork, "court", &evil, receipt);
        assert!(
            matches!(err, Error::Log(LogError::Equivocation { .. })),
            "{err:?}"
        );
    }
    // ministry, which never accepted a checkpoint, cannot tell (why every authority cosigns).
    assert!(approve(&fork, "ministry", &evil, &newer, AT).unwrap().new);
}

#[test]
fn rule_6d_an_older_receipt_is_accepted_after_a_newer_consistent_checkpoint() {
    let mut w = World::new(64, None);
    let a = w.warrant("W-1", "alice", START, END);
    let ra = log_warrant(&w.lab, &a);
    let b = w.warrant("W-2", "bob", START, END);
    let rb = log_warrant(&w.lab, &b);
    escrow::authority::cosign(&w.lab, "court", AT).unwrap();
    let config = w.lab.load_log_config().unwrap();
    let last = |lab: &Lab| {
        lab.load_witness_state("court")
            .unwrap()
            .last_checkpoint(&config)
            .unwrap()
            .unwrap()
            .size()
    };
    assert_eq!(last(&w.lab), 3);
    // W-1's receipt is of size 2, older than what court has seen since: a prefix, accepted.
    let store = open_store(&w.lab);
    let court = w.lab.load_witness_state("court").unwrap();
    assert_eq!(check(&w.lab, &court, &store, &a, &ra).unwrap(), 2);
    drop(store);
    let approved = approve(&w.lab, "court", &a, &ra, AT).unwrap();
    assert!(approved.new);
    // Court's memory never moves back to the older checkpoint: it moves on to the one that
    // covers its own release (entry 3), which it cosigned before handing the approval out.
    assert_eq!(last(&w.lab), 4);
    assert!(approve(&w.lab, "court", &b, &rb, AT).unwrap().new);
    assert_eq!(last(&w.lab), 5);
}

#[test]
fn rule_7_one_warrant_per_reference_and_authority() {
    let mut w = World::new(7, None);
    let a = w.warrant("W-1", "alice", START, END);
    let twin = w.warrant("W-1", "bob", START, END);
    let ra = log_warrant(&w.lab, &a);
    let rt = log_warrant(&w.lab, &twin);
    let (da, dt) = (a.digest().unwrap(), twin.digest().unwrap());
    assert_ne!(da, dt);
    assert!(approve(&w.lab, "court", &a, &ra, AT).unwrap().new);

    // The journal: a different digest under the used reference is refused, the same digest
    // again is not, and another reference is free.
    {
        let journal = Journal::open(&journal_path(&w.lab, "court")).unwrap();
        journal.check_reference("W-1", &da).unwrap();
        let err = journal.check_reference("W-1", &dt).unwrap_err();
        assert!(
            matches!(&err, Error::Warrant(WarrantError::ReferenceReused(r)) if r == "W-1"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "refused: this authority already approved a different warrant under reference 'W-1'"
        );
        journal.check_reference("W-2", &dt).unwrap();
        assert!(journal.find(&da).unwrap().is_some());
        assert!(journal.find(&dt).unwrap().is_none());
    }

    // Through the whole procedure: refused, and nothing appended to the log or the journal.
    let size = log_size(&w.lab);
    let err = refused(&w.lab, "court", &twin, &rt);
    assert!(
        matches!(&err, Error::Warrant(WarrantError::ReferenceReused(r)) if r == "W-1"),
        "{err:?}"
    );
    assert_eq!(log_size(&w.lab), size);
    // The same warrant again: the journaled approval, nothing new released.
    let again = approve(&w.lab, "court", &a, &ra, AT).unwrap();
    assert!(!again.new);
    assert_eq!(again.approval.digest, da);
    assert_eq!(log_size(&w.lab), size);
    // The rule is per authority: ministry has approved nothing under W-1.
    assert!(approve(&w.lab, "ministry", &twin, &rt, AT).unwrap().new);
    assert_eq!(log_size(&w.lab), size + 1);
}

#[test]
fn the_generation_must_cover_every_epoch_of_the_timespan() {
    // Generation 1 is valid from 2026-11-25 to 2026-12-02 (exclusive): epochs e0 … e0 + 6.
    let from = datetime!(2026-11-25 00:00 UTC);
    let until = datetime!(2026-12-02 00:00 UTC);
    let e0 = (from.unix_timestamp() / 86_400) as u64;
    let mut w = World::new(8, Some((from, until)));
    let params = w.params();
    assert!(params.covers_epoch(e0) && params.covers_epoch(e0 + 6));
    assert!(!params.covers_epoch(e0 - 1) && !params.covers_epoch(e0 + 7));
    let validity = "2026-11-25T00:00:00Z to 2026-12-02T00:00:00Z";
    let second = time::Duration::SECOND;
    let day = time::Duration::DAY;

    // (timespan, decision time, the first epoch outside, if any). Each boundary is tried
    // exactly and one second past it.
    let cases = [
        // The last epoch is e0 + 6, just inside; one second more reaches e0 + 7.
        (until - day, until, until, None),
        (until - day, until + second, until, Some(e0 + 7)),
        // A timespan that starts and ends outside.
        (until, until + day, until + day, Some(e0 + 7)),
        // The first epoch is e0, just inside; one second earlier is e0 - 1.
        (from, from + day, from + day, None),
        (from - second, from + day, from + day, Some(e0 - 1)),
    ];
    for (start, end, at, outside) in cases {
        let reference = format!("W-{}", start.unix_timestamp());
        let warrant = w.warrant(&reference, "alice", start, end);
        let epochs = warrant.epochs(&params).unwrap();
        let verdict = warrant.check_policy(&params, at);
        match outside {
            None => {
                verdict.unwrap();
                assert!(*epochs.end() == e0 + 6 || *epochs.start() == e0);
            }
            Some(epoch) => {
                let err = verdict.unwrap_err();
                assert!(
                    matches!(
                        &err,
                        Error::Warrant(WarrantError::OutsideGeneration { generation: 1, epoch: e, .. })
                            if *e == epoch
                    ),
                    "{start}..{end}: {err:?}"
                );
                assert_eq!(
                    err.to_string(),
                    format!(
                        "refused: generation 1 does not cover epoch {epoch} of the timespan (its validity is {validity})"
                    )
                );
            }
        }
    }

    // Through check_warrant and the whole procedure, with receipts from the log.
    let inside = w.warrant("W-in", "alice", until - day, until);
    let outside = w.warrant("W-out", "alice", until - day, until + second);
    let r_in = log_warrant(&w.lab, &inside);
    let r_out = log_warrant(&w.lab, &outside);
    let at = until - time::Duration::HOUR;
    let store = open_store(&w.lab);
    let fresh = WitnessState::new("court");
    let err = check_at(&w.lab, &fresh, &store, &outside, &r_out, at).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Warrant(WarrantError::OutsideGeneration { epoch, .. }) if epoch == e0 + 7
        ),
        "{err:?}"
    );
    check_at(&w.lab, &fresh, &store, &inside, &r_in, at).unwrap();
    drop(store);
    let before = state(&w.lab, "court");
    assert!(approve(&w.lab, "court", &outside, &r_out, at).is_err());
    assert_eq!(state(&w.lab, "court"), before);
    assert!(approve(&w.lab, "court", &inside, &r_in, at).unwrap().new);
}
