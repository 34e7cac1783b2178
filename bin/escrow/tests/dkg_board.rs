//! The DKG over the board, attacked by one malicious participant through the binaries (outside
//! review, 2026-12): mallory holds its own keys and can write any file of the shared board, but
//! no other party's secret. Each attack ends with the honest parties agreeing on a key whose
//! secret no single party knows, or with every finish refusing — never with mallory's key.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::path::{Path, PathBuf};

use escrow::dkg::signing::MessageKey;
use escrow::dkg::{Deal, Response, Signed};
use escrow::lab::Lab;
use test_support::{json, run, snapshot};

struct Board {
    _tmp: tempfile::TempDir,
    lab: PathBuf,
}

impl Board {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let lab = tmp.path().join("lab");
        let b = Self { _tmp: tmp, lab };
        b.ok(&[
            "dkg",
            "start",
            "--authorities",
            "alice,bob,mallory",
            "--threshold",
            "2",
        ]);
        b
    }

    fn ok(&self, args: &[&str]) -> String {
        run::ok_in("escrow", &self.lab, args)
    }

    fn refused(&self, args: &[&str]) -> String {
        run::refused_in("escrow", &self.lab, args)
    }

    fn step(&self, step: &str, who: &[&str]) {
        for a in who {
            self.ok(&["dkg", step, "--as", a]);
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.lab.join("dkg").join(name)
    }

    /// Mallory's own signing key, from its own state.
    fn mallory_key(&self) -> MessageKey {
        let v = json::read(&self.file("private/mallory/keys.json"));
        MessageKey::from_secret_hex(v["signing_secret"].as_str().unwrap()).unwrap()
    }

    /// Mallory rewrites its response to complain about `about`, signed with its own key.
    fn mallory_complains(&self, about: &[&str]) {
        let path = self.file("response-mallory.json");
        let mut r = Response::from_json(&std::fs::read(&path).unwrap()).unwrap();
        r.complaints = about.iter().map(|s| s.to_string()).collect();
        let r = r.signed(&self.mallory_key()).unwrap();
        std::fs::write(&path, r.to_json().unwrap()).unwrap();
    }

    fn installed(&self) -> Option<escrow::PublicParams> {
        Lab::new(&self.lab).load_params().ok()
    }
}

const ALL: [&str; 3] = ["alice", "bob", "mallory"];

/// Finding 1 (critical), exactly as reported: mallory rewrites only its own response file after
/// the justification round. Every finish counts the response the justifications answered; the
/// generation has all three dealers, and finish and `dkg verify` name the late change.
#[test]
fn a_response_rewritten_after_the_justifications_does_not_exclude_honest_dealers() {
    let b = Board::new();
    for step in ["join", "deal", "respond", "justify"] {
        b.step(step, &ALL);
    }
    b.mallory_complains(&["alice", "bob"]);
    b.step("finish", &["alice", "bob"]);
    let last = b.ok(&["dkg", "finish", "--as", "mallory"]);
    assert!(
        last.contains("3 of 3 dealers qualified") && last.contains("generation installed"),
        "{last}"
    );
    assert!(
        last.contains("response-mallory.json was changed after the justification round closed"),
        "{last}"
    );
    let v = b.ok(&["dkg", "verify"]);
    assert!(
        v.contains("3 of 3 dealers qualified")
            && v.contains("response-mallory.json was changed")
            && v.contains("params.json is this key"),
        "{v}"
    );
    assert!(b.installed().is_some());
}

/// Mallory shows bob one response and alice another (rewriting between their justifications):
/// both are carried, signed by mallory — it is excluded, its complaints void.
#[test]
fn two_responses_signed_by_one_party_exclude_it() {
    let b = Board::new();
    for step in ["join", "deal", "respond"] {
        b.step(step, &ALL);
    }
    b.step("justify", &["bob"]);
    b.mallory_complains(&["alice", "bob"]);
    b.step("justify", &["alice", "mallory"]);
    b.step("finish", &["alice", "bob"]);
    let last = b.ok(&["dkg", "finish", "--as", "mallory"]);
    assert!(
        last.contains("2 of 3 dealers qualified")
            && last.contains("excluded mallory: signed two different responses")
            && last.contains("generation installed"),
        "{last}"
    );
}

/// Mallory deletes the honest deals after the response round, hoping the finishes see "no
/// deal": each party finishes from the deals it checked, and puts them back.
#[test]
fn deals_deleted_after_they_were_checked_still_count() {
    let b = Board::new();
    for step in ["join", "deal", "respond", "justify"] {
        b.step(step, &ALL);
    }
    let alice_deal = std::fs::read(b.file("deal-alice.json")).unwrap();
    for a in ["alice", "bob"] {
        std::fs::remove_file(b.file(&format!("deal-{a}.json"))).unwrap();
    }
    b.step("finish", &["alice", "bob"]);
    let last = b.ok(&["dkg", "finish", "--as", "mallory"]);
    assert!(last.contains("3 of 3 dealers qualified"), "{last}");
    assert_eq!(
        std::fs::read(b.file("deal-alice.json")).unwrap(),
        alice_deal
    );
    b.ok(&["dkg", "verify"]);
}

/// Mallory shows alice one deal and bob another: their markers name different transcripts and
/// no generation is installed by anyone.
#[test]
fn a_dealer_showing_two_deals_makes_every_finish_refuse_to_install() {
    let b = Board::new();
    for step in ["join", "deal"] {
        b.step(step, &ALL);
    }
    b.step("respond", &["alice"]);
    // A second deal of mallory's, signed by mallory: a copy of its first with one row
    // re-encrypted is enough to differ.
    let path = b.file("deal-mallory.json");
    let mut d = Deal::from_json(&std::fs::read(&path).unwrap()).unwrap();
    d.rows.swap(0, 1);
    let d = d.signed(&b.mallory_key()).unwrap();
    std::fs::write(&path, d.to_json().unwrap()).unwrap();
    b.step("respond", &["bob", "mallory"]);
    b.step("justify", &ALL);
    b.ok(&["dkg", "finish", "--as", "alice"]);
    b.ok(&["dkg", "finish", "--as", "bob"]);
    let err = b.refused(&["dkg", "finish", "--as", "mallory"]);
    assert!(err.contains("finished from different transcripts"), "{err}");
    assert!(b.installed().is_none());
    let err = b.refused(&["dkg", "verify"]);
    assert!(err.contains("markers do not name this transcript"), "{err}");
}

/// Messages in another's name: a join written before the authority joins is refused by it; a
/// join replaced afterwards stops that authority; a deal signed by mallory in alice's name is
/// refused by every reader until alice's own is back.
#[test]
fn messages_in_another_partys_name_are_refused() {
    let b = Board::new();
    b.step("join", &["mallory"]);
    // Mallory writes a join in alice's name (with its own keys, signed by its own key).
    std::fs::copy(b.file("join-mallory.json"), b.file("join-alice.json")).unwrap();
    let err = b.refused(&["dkg", "join", "--as", "alice"]);
    assert!(err.contains("someone joined in alice's name"), "{err}");
    assert!(!b.file("private/alice").exists());
    // Later the board holds alice's own join; mallory swaps it out after alice joined.
    std::fs::remove_file(b.file("join-alice.json")).unwrap();
    b.step("join", &["alice", "bob"]);
    let alice_join = std::fs::read(b.file("join-alice.json")).unwrap();
    std::fs::copy(b.file("join-bob.json"), b.file("join-alice.json")).unwrap();
    let err = b.refused(&["dkg", "deal", "--as", "bob"]);
    assert!(
        err.contains("join-alice.json is not a valid join of alice"),
        "{err}"
    );
    std::fs::write(b.file("join-alice.json"), &alice_join).unwrap();
    b.step("deal", &ALL);
    // A deal in alice's name signed by mallory.
    let mut d = Deal::from_json(&std::fs::read(b.file("deal-alice.json")).unwrap()).unwrap();
    d.commitment = Deal::from_json(&std::fs::read(b.file("deal-mallory.json")).unwrap())
        .unwrap()
        .commitment;
    let d = d.signed(&b.mallory_key()).unwrap();
    std::fs::write(b.file("deal-alice.json"), d.to_json().unwrap()).unwrap();
    let err = b.refused(&["dkg", "respond", "--as", "bob"]);
    assert!(
        err.contains("deal-alice.json is not signed by alice's key"),
        "{err}"
    );
    // Alice's `deal` again republishes its own deal; the run goes on to all three.
    b.step("deal", &["alice"]);
    for step in ["respond", "justify", "finish"] {
        b.step(step, &ALL);
    }
    assert!(
        b.ok(&["dkg", "verify"])
            .contains("3 of 3 dealers qualified")
    );
}

/// Finding 2: whoever starts the session makes no key; each authority's secrets are made by
/// its own `join`, 0600, and destroyed at installation. The starter's copy of the lab holds
/// nothing that decrypts a row.
#[test]
fn the_starter_holds_no_secret() {
    let b = Board::new();
    let files: Vec<String> = snapshot::names(&b.lab);
    assert_eq!(files, ["dkg/session.json"]);
    let session = std::fs::read_to_string(b.file("session.json")).unwrap();
    assert!(
        !session.contains("secret") && !session.contains("key"),
        "{session}"
    );
    b.step("join", &["alice"]);
    let mine = snapshot::names(&b.lab);
    assert!(
        mine.iter()
            .all(|f| !f.starts_with("dkg/private/") || f.starts_with("dkg/private/alice/")),
        "{mine:?}"
    );
    for f in ["keys.json", "witness.key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(b.file(&format!("private/alice/{f}")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
}

/// A party's kept copy of the deals it checked is held to its own signed response: trimmed
/// (an honest deal removed, hoping the party sees "no deal"), its finish refuses.
#[test]
fn a_trimmed_copy_of_the_checked_deals_is_refused() {
    let b = Board::new();
    for step in ["join", "deal", "respond", "justify"] {
        b.step(step, &ALL);
    }
    let path = b.file("private/alice/deals.json");
    json::edit(&path, |deals| {
        deals
            .as_array_mut()
            .unwrap()
            .retain(|d| d["dealer"] != "bob");
    });
    let err = b.refused(&["dkg", "finish", "--as", "alice"]);
    assert!(err.contains("its state was altered"), "{err}");
}

/// A malformed deal (mallory's commitment cut short, signed by mallory) excludes mallory, and
/// the honest parties still agree and install.
#[test]
fn a_malformed_deal_excludes_its_dealer_only() {
    let b = Board::new();
    b.step("join", &ALL);
    b.step("deal", &ALL);
    let path = b.file("deal-mallory.json");
    let mut d = Deal::from_json(&std::fs::read(&path).unwrap()).unwrap();
    let len = d.commitment.len();
    d.commitment.truncate(len - 96);
    let d = d.signed(&b.mallory_key()).unwrap();
    std::fs::write(&path, d.to_json().unwrap()).unwrap();
    b.step("respond", &ALL);
    b.step("justify", &ALL);
    b.step("finish", &["alice", "bob"]);
    let last = b.ok(&["dkg", "finish", "--as", "mallory"]);
    assert!(
        last.contains("2 of 3 dealers qualified")
            && last.contains("excluded mallory: commitment of the wrong degree")
            && last.contains("generation installed"),
        "{last}"
    );
}

/// Outside review, 2026-12 (second round): in the one-directory lab, mallory can replace an
/// honest authority's whole state with keys of its own making (its own `dkg join --as b` in a
/// scratch lab) and b's join on the board with them; the run then completes with mallory able
/// to read every row sent to b. What catches it is b's fingerprint: every finish prints the
/// joins used, and `--fingerprint` (the one b's own join printed) refuses.
#[test]
fn swapped_state_is_caught_by_the_fingerprint_its_join_printed() {
    let b = Board::new();
    b.step("join", &["alice", "mallory"]);
    let out = b.ok(&["dkg", "join", "--as", "bob"]);
    let fp = out.split("fingerprint ").nth(1).unwrap()[..16].to_owned();
    // Mallory's keys for bob, made in a scratch lab with the same proposal.
    let scratch = tempfile::tempdir().unwrap();
    let other = scratch.path().join("lab");
    std::fs::create_dir_all(other.join("dkg")).unwrap();
    std::fs::copy(b.file("session.json"), other.join("dkg/session.json")).unwrap();
    run::on_lab("escrow", &other)
        .args(["dkg", "join", "--as", "bob"])
        .assert()
        .success();
    for f in ["keys.json", "witness.key", "sent-join.json"] {
        std::fs::copy(
            other.join("dkg/private/bob").join(f),
            b.file(&format!("private/bob/{f}")),
        )
        .unwrap();
    }
    std::fs::copy(other.join("dkg/join-bob.json"), b.file("join-bob.json")).unwrap();
    for step in ["deal", "respond", "justify"] {
        b.step(step, &ALL);
    }
    // Bob's finish prints the fingerprints used (bob's is not the one it noted) …
    let listed = b.ok(&["dkg", "finish", "--as", "alice"]);
    assert!(
        listed.contains("joins used (fingerprints)") && !listed.contains(&fp),
        "{listed}"
    );
    // … and with the fingerprint its join printed, it refuses.
    let err = b.refused(&["dkg", "finish", "--as", "bob", "--fingerprint", &fp]);
    assert!(err.contains("were replaced"), "{err}");
    assert!(b.installed().is_none());
}

/// A folder planted where an authority's state will go (a symbolic link to a folder of
/// mallory's, or a folder open to others) is refused: the state is never written there.
#[test]
fn a_planted_state_folder_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let b = Board::new();
    let theirs = b.lab.parent().unwrap().join("mallory-owned");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::create_dir_all(b.file("private")).unwrap();
    std::os::unix::fs::symlink(&theirs, b.file("private/bob")).unwrap();
    let err = b.refused(&["dkg", "join", "--as", "bob"]);
    assert!(err.contains("not a folder of its own"), "{err}");
    assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 0);
    std::fs::remove_file(b.file("private/bob")).unwrap();
    std::fs::create_dir(b.file("private/bob")).unwrap();
    std::fs::set_permissions(
        b.file("private/bob"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let err = b.refused(&["dkg", "join", "--as", "bob"]);
    assert!(err.contains("must be its own (0700)"), "{err}");
}

/// Outside review, 2026-12 (second round): keys planted in an authority's state folder (and
/// its join on the board) before it joins; the authority's own `join` used to take them for
/// its own. It now refuses a state that already holds keys.
#[test]
fn keys_planted_before_an_authority_joins_are_refused() {
    let b = Board::new();
    let scratch = tempfile::tempdir().unwrap();
    let other = scratch.path().join("lab");
    std::fs::create_dir_all(other.join("dkg")).unwrap();
    std::fs::copy(b.file("session.json"), other.join("dkg/session.json")).unwrap();
    run::on_lab("escrow", &other)
        .args(["dkg", "join", "--as", "bob"])
        .assert()
        .success();
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    };
    copy(&other.join("dkg/private/bob"), &b.file("private/bob"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        b.file("private/bob"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    std::fs::copy(other.join("dkg/join-bob.json"), b.file("join-bob.json")).unwrap();
    let err = b.refused(&["dkg", "join", "--as", "bob"]);
    assert!(
        err.contains("bob's state already holds keys") && err.contains("planted"),
        "{err}"
    );
}

/// The proposal edited before anyone joins (threshold 1: every share the master secret) is
/// refused outright, and any other edit is caught by `join --proposal` with the id `start`
/// printed; every party can check every other's fingerprint, not only its own.
#[test]
fn an_edited_proposal_and_another_partys_keys_are_caught() {
    let b = Board::new();
    let start_out = {
        // Board::new ran start; the id is what describe prints on join too.
        let tmp = tempfile::tempdir().unwrap();
        let lab = tmp.path().join("lab");
        let out = run::on_lab("escrow", &lab)
            .args(["dkg", "start", "--authorities", "a,b", "--threshold", "2"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(
        start_out.contains("Proposal ") && start_out.contains("--proposal "),
        "{start_out}"
    );
    let text = std::fs::read_to_string(b.file("session.json")).unwrap();
    let id_of = |b: &Board| {
        let out = b.ok(&["dkg", "join", "--as", "alice"]);
        out.split("proposal ").nth(1).unwrap()[..16].to_owned()
    };
    let id = id_of(&b);
    // Threshold 1 written into the proposal: refused by every step.
    std::fs::write(
        b.file("session.json"),
        text.replace("\"threshold\": 2", "\"threshold\": 1"),
    )
    .unwrap();
    let err = b.refused(&["dkg", "join", "--as", "bob"]);
    assert!(
        err.contains("gives every authority the master secret"),
        "{err}"
    );
    // Another edit (a name changed): the published id no longer matches.
    std::fs::write(
        b.file("session.json"),
        text.replace("\"mallory\"", "\"mallet\""),
    )
    .unwrap();
    let err = b.refused(&["dkg", "join", "--as", "bob", "--proposal", &id]);
    assert!(
        err.contains("it was changed after it was published"),
        "{err}"
    );
    std::fs::write(b.file("session.json"), &text).unwrap();
    b.ok(&["dkg", "join", "--as", "bob", "--proposal", &id]);
    b.ok(&["dkg", "join", "--as", "mallory", "--proposal", &id]);
    for step in ["deal", "respond", "justify"] {
        b.step(step, &ALL);
    }
    // Alice checks bob's published fingerprint too: a wrong one is refused.
    let err = b.refused(&[
        "dkg",
        "finish",
        "--as",
        "alice",
        "--fingerprint",
        "bob=0011223344556677",
    ]);
    assert!(
        err.contains("bob's join on the board has fingerprint"),
        "{err}"
    );
}
