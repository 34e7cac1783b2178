//! Resharing over the board, through the binaries (outside review, 2026-12, findings 3 and 4):
//! court, ministry and mallory (2 of 3) reshare to court, ministry and oversight, replacing
//! mallory. Each authority acts from its own state; the old sharing is revoked before the new
//! one is in force; a dealer cheating in any round is excluded or stops the run, never the
//! key; and what cannot be promised (shares copied before the resharing) is shown, not hidden.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::path::PathBuf;

use escrow::dkg::signing::MessageKey;
use escrow::dkg::{Deal, Signed};
use escrow::lab::Lab;
use escrow::{AuthorityShare, KeyShare, combine_identity_key};
use test_support::{json, run};

struct Case {
    _tmp: tempfile::TempDir,
    lab: PathBuf,
}

const OLD: [&str; 3] = ["court", "ministry", "mallory"];
const NEW: [&str; 3] = ["court", "ministry", "oversight"];
const PARTIES: [&str; 4] = ["court", "ministry", "mallory", "oversight"];

impl Case {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let lab = tmp.path().join("lab");
        let c = Self { _tmp: tmp, lab };
        c.ok(&[
            "setup",
            "--authorities",
            "court,ministry,mallory",
            "--threshold",
            "2",
        ]);
        c.ok(&[
            "reshare",
            "start",
            "--authorities",
            "court,ministry,oversight",
            "--threshold",
            "2",
        ]);
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        run::ok_in("escrow", &self.lab, args)
    }

    fn refused(&self, args: &[&str]) -> String {
        run::refused_in("escrow", &self.lab, args)
    }

    fn step(&self, step: &str, who: &[&str]) -> Vec<String> {
        who.iter()
            .map(|a| self.ok(&["reshare", step, "--as", a]))
            .collect()
    }

    /// Every step up to an agreed new sharing (each new authority finished), nothing revoked.
    fn agree(&self) {
        self.step("join", &PARTIES);
        self.step("deal", &OLD);
        self.step("respond", &NEW);
        self.step("justify", &OLD);
        self.step("finish", &NEW);
    }

    fn l(&self) -> Lab {
        Lab::new(&self.lab)
    }

    fn board(&self, name: &str) -> PathBuf {
        self.lab.join("reshare").join(name)
    }

    fn key_of(&self, who: &str) -> MessageKey {
        let v = json::read(&self.board(&format!("private/{who}/keys.json")));
        MessageKey::from_secret_hex(v["signing_secret"].as_str().unwrap()).unwrap()
    }
}

fn release(
    params: &escrow::PublicParams,
    share: &AuthorityShare,
    id: &escrow::ScopeIdentity,
) -> KeyShare {
    share.release_identity_key_share(params, id).unwrap()
}

/// Finding 3 (high): resharing used to leave the old sharing alive. Now the old authorities
/// that revoke destroy their shares before the new sharing is in force, the log says who, and
/// the shares left of the old sharing (the replaced authority's, kept) are fewer than k.
#[test]
fn a_resharing_revokes_the_old_sharing_before_the_new_one_is_in_force() {
    let c = Case::new();
    let l = c.l();
    let old = l.load_params().unwrap();
    let id = old.identity("alice", 20_000).unwrap();
    let wrap = escrow::wrap::wrap(&old, &id, &[7; 32]).unwrap();
    // The starter made no key.
    assert!(!c.board("private").exists());
    c.step("join", &PARTIES);
    c.step("deal", &OLD);
    // Revoking before the new sharing is agreed is refused and destroys nothing.
    let err = c.refused(&["reshare", "revoke", "--as", "court"]);
    assert!(err.contains("waiting for the justification"), "{err}");
    assert!(l.share_path("court").exists());
    c.step("respond", &NEW);
    c.step("justify", &OLD);
    c.step("finish", &NEW);
    // The replaced authority keeps a copy of its share, and never revokes.
    let mallory_copy = std::fs::read(l.share_path("mallory")).unwrap();
    let first = c.ok(&["reshare", "revoke", "--as", "court"]);
    assert!(first.contains("1 of the 2 revocations needed"), "{first}");
    assert!(!first.contains("in force"), "{first}");
    assert!(
        !l.share_path("court").exists(),
        "court's old share destroyed at once"
    );
    // Still the old sharing in force: ministry's old share and mallory's still combine.
    assert_eq!(l.load_params().unwrap().commitment(), old.commitment());
    let last = c.ok(&["reshare", "revoke", "--as", "ministry"]);
    assert!(last.contains("The new sharing is in force"), "{last}");
    let new = l.load_params().unwrap();
    assert_eq!(new.master_public_key(), old.master_public_key());
    let names: Vec<&str> = new.authorities().iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, NEW);
    // New shares open traffic wrapped before the resharing.
    let ks: Vec<KeyShare> = ["court", "oversight"]
        .iter()
        .map(|a| release(&new, &l.load_share(&new, a).unwrap(), &id))
        .collect();
    let key = combine_identity_key(&new, &id, &ks).unwrap();
    assert_eq!(escrow::unwrap(&wrap, &key).unwrap().as_slice(), &[7; 32]);
    // Of the old sharing, only mallory's kept copy is left: one share, k = 2.
    let mallory_old = AuthorityShare::from_json(&mallory_copy, &old).unwrap();
    let alone = release(&old, &mallory_old, &id);
    assert!(combine_identity_key(&old, &id, std::slice::from_ref(&alone)).is_err());
    // Mixed with a new share it verifies against nothing.
    let mixed = vec![alone, ks[0].clone()];
    let forced = escrow::hazmat::identity_key_unchecked(
        id.clone(),
        escrow::hazmat::interpolate_unchecked(&mixed).unwrap(),
    );
    assert!(escrow::unwrap(&wrap, &forced).is_err());
    // The log shows who revoked, and the new sharing.
    let log = c.ok(&["log", "show"]);
    assert!(
        log.contains("court revoked its old share of generation 1")
            && log.contains("ministry revoked its old share of generation 1")
            && log.contains(
                "generation 1 reshared: 2 of 3 (court, ministry, oversight); old shares of \
                 court, ministry revoked"
            )
            && !log.contains("mallory revoked"),
        "{log}"
    );
    // The new authority is a witness of the log, with the key it made itself.
    let config = l.load_log_config().unwrap();
    assert!(config.witnesses.iter().any(|w| w.authority == "oversight"));
    assert!(l.witness_signer("oversight", 1).is_ok());
    // The board is archived for monitors; no private state is left.
    assert!(!c.lab.join("reshare").exists());
    let archived: Vec<_> = std::fs::read_dir(c.lab.join("reshares")).unwrap().collect();
    assert_eq!(archived.len(), 1);
}

/// Finding 4: each old authority deals from its own share; a dealer whose polynomial does not
/// hide its own share (H(0) ≠ PK) is excluded by every new authority, and the resharing goes
/// on with the k honest dealers.
#[test]
fn a_dealer_that_does_not_deal_its_own_share_is_excluded() {
    let c = Case::new();
    c.step("join", &PARTIES);
    c.step("deal", &OLD);
    // Mallory re-deals ministry's deal under its own name (a polynomial hiding another share),
    // signed with its own key.
    let path = c.board("deal-mallory.json");
    let mut d = Deal::from_json(&std::fs::read(c.board("deal-ministry.json")).unwrap()).unwrap();
    d.dealer = "mallory".into();
    let d = d.signed(&c.key_of("mallory")).unwrap();
    std::fs::write(&path, d.to_json().unwrap()).unwrap();
    // Mallory's own republish would restore its first deal; it does not run it.
    c.step("respond", &NEW);
    c.step("justify", &OLD);
    let out = c.step("finish", &NEW);
    assert!(
        out[0].contains("excluded mallory: dealt a polynomial that does not hide its own share")
            && out[0].contains("from the shares of court, ministry"),
        "{}",
        out[0]
    );
    c.step("revoke", &["court", "ministry"]);
    let l = c.l();
    let new = l.load_params().unwrap();
    let id = new.identity("bob", 3).unwrap();
    let ks: Vec<KeyShare> = ["ministry", "oversight"]
        .iter()
        .map(|a| release(&new, &l.load_share(&new, a).unwrap(), &id))
        .collect();
    combine_identity_key(&new, &id, &ks).unwrap();
}

/// A new authority's marker that names another result stops every revocation: no old share is
/// destroyed for a sharing the others did not compute.
#[test]
fn revocation_needs_every_new_authority_to_agree() {
    let c = Case::new();
    c.step("join", &PARTIES);
    c.step("deal", &OLD);
    c.step("respond", &NEW);
    c.step("justify", &OLD);
    c.step("finish", &NEW);
    // Oversight's marker, rewritten (by whoever can write the board) — unsigned by oversight.
    let path = c.board("finished-oversight.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let forged = text.replace(v["transcript"].as_str().unwrap(), &"0".repeat(64));
    std::fs::write(&path, forged).unwrap();
    let err = c.refused(&["reshare", "revoke", "--as", "court"]);
    assert!(
        err.contains("finished-oversight.json is not signed"),
        "{err}"
    );
    assert!(c.l().share_path("court").exists());
    // Oversight's own finish republishes its marker; then revocation proceeds.
    c.step("finish", &["oversight"]);
    c.step("revoke", &["court", "ministry"]);
}

/// No command of the resharing reads another party's secret: the starter makes none, each
/// join makes only its own, and a deal needs the dealer's own share.
#[test]
fn each_party_acts_only_from_its_own_state() {
    let c = Case::new();
    let files = std::fs::read_dir(c.lab.join("reshare")).unwrap().count();
    assert_eq!(files, 1, "only session.json");
    c.step("join", &["court"]);
    let private: Vec<String> = std::fs::read_dir(c.board("private"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(private, ["court"]);
    // Oversight is not an old authority: it has nothing to deal.
    c.step("join", &["ministry", "mallory", "oversight"]);
    let err = c.refused(&["reshare", "deal", "--as", "oversight"]);
    assert!(err.contains("not a dealer"), "{err}");
    // A second resharing cannot start while one is open.
    let err = c.refused(&[
        "reshare",
        "start",
        "--authorities",
        "a,b",
        "--threshold",
        "2",
    ]);
    assert!(err.contains("already open"), "{err}");
}

/// Outside review, 2026-12 (second and third rounds): new authorities' staged shares
/// overwritten after they finished (by whoever can write the lab) used to be installed as they
/// were, after the old shares were destroyed — the generation lost. Each revocation reads every
/// staged share once and checks it against the digest its authority signed: with fewer than
/// k' intact, nothing is destroyed; with k' intact it proceeds, says who would get no share,
/// and that authority's finishing again before completion restores it.
#[test]
fn staged_shares_altered_after_finish_are_never_installed() {
    let c = Case::new();
    c.step("join", &PARTIES);
    c.step("deal", &OLD);
    c.step("respond", &NEW);
    c.step("justify", &OLD);
    c.step("finish", &NEW);
    let flip = |who: &str| {
        let staged = c.board(&format!("private/{who}/share.json"));
        let mut bad = std::fs::read(&staged).unwrap();
        let n = bad.len();
        bad[n / 2] ^= 1;
        std::fs::write(&staged, &bad).unwrap();
    };
    flip("oversight");
    flip("ministry");
    let err = c.refused(&["reshare", "revoke", "--as", "court"]);
    assert!(
        err.contains("only 1 new share(s) are staged as finished, 2 needed")
            && err.contains("not the file its finished marker names"),
        "{err}"
    );
    assert!(c.l().share_path("court").exists(), "nothing destroyed");
    c.step("finish", &["ministry"]);
    let first = c.ok(&["reshare", "revoke", "--as", "court"]);
    assert!(first.contains("no new share for: oversight"), "{first}");
    // Oversight finishes again (a new staged file, a new marker) before completion.
    c.step("finish", &["oversight"]);
    let last = c.ok(&["reshare", "revoke", "--as", "ministry"]);
    assert!(
        last.contains("in force") && !last.contains("no new share"),
        "{last}"
    );
    let l = c.l();
    let new = l.load_params().unwrap();
    for a in NEW {
        l.load_share(&new, a).unwrap();
    }
}

/// Outside review, 2026-12 (second round): a sybil added to the new authorities in the
/// proposal before anyone joins. `join --proposal` with the id `start` printed refuses it.
#[test]
fn a_proposal_edited_before_the_joins_is_refused_by_its_published_id() {
    let c = Case::new();
    // The id `reshare start` printed (Case::new ran it): the same one `join` prints.
    let out = c.ok(&["reshare", "join", "--as", "court"]);
    let id = out.split("proposal ").nth(1).unwrap()[..16].to_owned();
    assert!(
        out.contains("to 2 of 3 (court, ministry, oversight)"),
        "{out}"
    );
    let path = c.board("session.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("\"oversight\"\n", "\"oversight\",\n    \"m2\"\n"),
    )
    .unwrap();
    assert_ne!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "the edit applied"
    );
    let err = c.refused(&["reshare", "join", "--as", "ministry", "--proposal", &id]);
    assert!(
        err.contains("it was changed after it was published"),
        "{err}"
    );
}

/// Outside review, 2026-12 (third round): a malicious new authority deletes its own staged
/// share after an honest old authority revoked, to stall the resharing for good (the old
/// sharing then needs its cooperation). k' staged new shares suffice: the next revocation
/// completes it, and the saboteur simply holds no share of the new sharing.
#[test]
fn a_new_authority_withdrawing_its_staged_share_cannot_stall_the_resharing() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    let ok = |args: &[&str]| run::ok_in("escrow", &lab, args);
    ok(&["setup", "--authorities", "a,b,mallory", "--threshold", "2"]);
    ok(&["refresh"]);
    for step in ["join", "deal", "respond", "justify", "finish"] {
        for who in ["a", "b", "mallory"] {
            ok(&["reshare", step, "--as", who]);
        }
    }
    ok(&["reshare", "revoke", "--as", "a"]);
    std::fs::remove_file(lab.join("reshare/private/mallory/share.json")).unwrap();
    // Abandoning is no longer possible once an old share was destroyed for it.
    let out = run::output("escrow", &lab, &["reshare", "abandon"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be abandoned"));
    let last = ok(&["reshare", "revoke", "--as", "b"]);
    assert!(
        last.contains("no new share for: mallory") && last.contains("The new sharing is in force"),
        "{last}"
    );
    let l = Lab::new(&lab);
    let new = l.load_params().unwrap();
    let id = new.identity("alice", 4).unwrap();
    let ks: Vec<KeyShare> = ["a", "b"]
        .iter()
        .map(|w| release(&new, &l.load_share(&new, w).unwrap(), &id))
        .collect();
    combine_identity_key(&new, &id, &ks).unwrap();
    assert!(l.load_share(&new, "mallory").is_err());
}

/// A resharing that stalls before any revocation can be abandoned: the old sharing stays,
/// every party's resharing state is destroyed, and a new one can start.
#[test]
fn a_stalled_resharing_is_abandoned_before_any_revocation() {
    let c = Case::new();
    c.step("join", &PARTIES);
    c.step("deal", &OLD);
    let out = c.ok(&["reshare", "abandon"]);
    assert!(out.contains("abandoned before any revocation"), "{out}");
    assert!(!c.lab.join("reshare").exists());
    assert!(c.l().share_path("court").exists());
    c.ok(&[
        "reshare",
        "start",
        "--authorities",
        "court,ministry",
        "--threshold",
        "2",
    ]);
}

/// A revocation is an authority's log entry like a release or a retirement: its time is
/// checked before the share is destroyed (a revocation dated before the log's newest entry is
/// refused and destroys nothing), and running it again adds no second entry.
#[test]
fn a_revocation_dated_before_the_log_destroys_nothing_and_a_repeat_logs_once() {
    let c = Case::new();
    let l = c.l();
    c.agree();
    let before = test_support::lab::log_size(&c.lab);
    let share = std::fs::read(l.share_path("court")).unwrap();
    let err = c.refused(&[
        "reshare",
        "revoke",
        "--as",
        "court",
        "--at",
        "2001-01-01T00:00:00Z",
    ]);
    assert!(err.contains("simulated time never goes backwards"), "{err}");
    assert_eq!(std::fs::read(l.share_path("court")).unwrap(), share);
    assert_eq!(test_support::lab::log_size(&c.lab), before);
    c.ok(&["reshare", "revoke", "--as", "court"]);
    assert!(!l.share_path("court").exists());
    let revoked = |entries: &[escrow::transparency::LogEntry]| {
        entries
            .iter()
            .filter(|e| {
                matches!(e, escrow::transparency::LogEntry::SharingRevoked { authority, .. }
                    if authority == "court")
            })
            .count()
    };
    assert_eq!(revoked(&test_support::lab::log_entries(&c.lab)), 1);
    // Again (a re-run after a crash, say): nothing new is logged.
    c.ok(&["reshare", "revoke", "--as", "court"]);
    assert_eq!(revoked(&test_support::lab::log_entries(&c.lab)), 1);
}

/// Outside review (2026-12, rt18): a completing revocation killed after the new sharing was
/// logged and installed left the board open for good ("the sharing changed; abandon it", and
/// abandon refused the same). The board's completion record lets the next command finish it:
/// the board is archived and the command says no resharing is open.
#[test]
fn a_completion_interrupted_before_the_board_was_archived_is_finished_by_the_next_command() {
    let c = Case::new();
    let l = c.l();
    c.agree();
    c.ok(&["reshare", "revoke", "--as", "court"]);
    // The revoking dealer's polynomial (its old share as constant term) is gone with the share.
    assert!(!c.board("private/court/dealer.json").exists());
    c.ok(&["reshare", "revoke", "--as", "ministry"]);
    assert!(!c.lab.join("reshare").exists());
    // Put the archived board back where a crash before the archiving would have left it.
    let archived: Vec<_> = std::fs::read_dir(c.lab.join("reshares"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(archived.len(), 1);
    std::fs::rename(&archived[0], c.lab.join("reshare")).unwrap();
    let err = c.refused(&["reshare", "revoke", "--as", "ministry"]);
    assert!(err.contains("no resharing is open"), "{err}");
    assert!(!c.lab.join("reshare").exists());
    assert!(archived[0].exists());
    // The new sharing stays in force and approvals work on it.
    let new = l.load_params().unwrap();
    let names: Vec<&str> = new.authorities().iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, NEW);
}
