//! The `messenger` binary, run for real next to `escrow setup`: the register / send / read /
//! intercept round trip, and every refusal with exit 1, one stderr line and no file changed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use test_support::clock::SET_UP;
use test_support::run::{ok, on_lab};
use test_support::{json, lab, run, snapshot};

#[test]
fn register_send_read_intercept_round_trip() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(lab.join("clients/alice.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let m = |args: &[&str]| ok(on_lab("messenger", &lab).args(args));
    let sent = m(&[
        "send",
        "--as",
        "alice",
        "--recipient",
        "bob",
        "--at",
        "2026-11-27T09:00:00Z",
        "hello bob",
    ]);
    assert!(
        sent.contains("new chain with escrow block (236 bytes"),
        "{sent}"
    );
    let sent = m(&[
        "send",
        "--as",
        "alice",
        "--recipient",
        "bob",
        "--at",
        "2026-11-27T09:05:00Z",
        "again",
    ]);
    assert!(sent.contains("message 1 of its chain"), "{sent}");
    let mut stdin_send = on_lab("messenger", &lab);
    stdin_send
        .args([
            "send",
            "--as",
            "bob",
            "--recipient",
            "alice",
            "--at",
            "2026-11-27T10:00:00Z",
            "-",
        ])
        .write_stdin("from stdin");
    ok(&mut stdin_send);
    m(&[
        "send",
        "--as",
        "alice",
        "--recipient",
        "bob",
        "--at",
        "2026-11-28T08:00:00Z",
        "day two",
    ]);

    let read = m(&["read", "--as", "bob", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&read).unwrap();
    let texts: Vec<&str> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["hello bob", "again", "day two"]);
    assert_eq!(doc["messages"][2]["sent_at"], "2026-11-28T08:00:00Z");
    assert!(doc["rejected"].as_array().unwrap().is_empty());
    let read = m(&["read", "--as", "alice"]);
    assert!(read.contains("bob → alice: from stdin"), "{read}");
    assert!(m(&["read", "--as", "alice"]).contains("No new messages"));

    // The provider's capture of bob's second day: one envelope, with its escrow block.
    let out = tmp.path().join("capture.json");
    let mut c = on_lab("messenger", &lab);
    c.args([
        "intercept",
        "--target",
        "bob",
        "--from",
        "2026-11-28T00:00:00Z",
    ])
    .args([
        "--to",
        "2026-11-29T00:00:00Z",
        "--at",
        "2026-12-01T00:00:00Z",
        "--out",
    ])
    .arg(&out);
    let said = ok(&mut c);
    assert!(
        said.contains(
            " written: the capture of 'bob' in [2026-11-28T00:00:00Z, 2026-11-29T00:00:00Z)"
        ),
        "{said}"
    );
    let cap = json::read(&out);
    assert_eq!(cap["version"], 2);
    // It names its realm, its relay and the generation of its window.
    let params = json::read(&lab.join("params.json"));
    assert_eq!(cap["realm"], params["realm"]);
    assert_eq!(
        cap["relay"].as_str().unwrap(),
        messenger::Relay::id_at(&lab.join("relay.sqlite")).unwrap()
    );
    assert_eq!(cap["generations"][0]["generation"], 1);
    assert_eq!(
        cap["generations"][0]["master_public_key"],
        params["master_public_key"]
    );
    assert_eq!(cap["envelopes"].as_array().unwrap().len(), 1);
    assert_eq!(cap["envelopes"][0]["status"], "delivered");
    assert_eq!(cap["envelopes"][0]["envelope"]["start"]["kind"], "epoch");
    assert!(cap["envelopes"][0]["envelope"]["start"]["escrow"]["sender_wrap"].is_string());
    assert_eq!(
        cap["envelopes"][0]["envelope"]["start"]["signature"]
            .as_str()
            .unwrap()
            .len(),
        128
    );
    // The epoch chain's base chain's start comes along (its epoch is needed to check the step).
    let base = cap["envelopes"][0]["envelope"]["start"]["prev"]["chain"].clone();
    assert!(
        cap["chain_starts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["envelope"]["chain"] == base),
        "{cap}"
    );
    assert!(!std::fs::read_to_string(&out).unwrap().contains("day two"));
    // A window in the middle of a chain brings the chain's start along.
    let cap = m(&[
        "intercept",
        "--target",
        "bob",
        "--from",
        "2026-11-27T09:01:00Z",
        "--to",
        "2026-11-27T09:59:00Z",
    ]);
    let cap: serde_json::Value = serde_json::from_str(&cap).unwrap();
    assert_eq!(cap["envelopes"].as_array().unwrap().len(), 1);
    assert_eq!(cap["chain_starts"].as_array().unwrap().len(), 1);
    // The capture file is never overwritten: the same command again leaves it as it is and
    // says so; another export time is other content, refused.
    let again = [
        "intercept",
        "--target",
        "bob",
        "--from",
        "2026-11-28T00:00:00Z",
        "--to",
        "2026-11-29T00:00:00Z",
        "--out",
        out.to_str().unwrap(),
    ];
    let before = snapshot::files(tmp.path());
    let said = m(&[&again[..], &["--at", "2026-12-01T00:00:00Z"]].concat());
    assert!(said.contains(" unchanged: the capture of 'bob'"), "{said}");
    assert_eq!(before, snapshot::files(tmp.path()));
    let err = run::refused_unchanged(
        "messenger",
        &lab,
        &[&again[..], &["--at", "2026-12-01T00:00:01Z"]].concat(),
        "already exists with other content; outputs are never overwritten, choose a new file",
    );
    assert!(err.contains("capture.json"), "{err}");
}

#[test]
fn refusals_leave_everything_unchanged() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    run::refused_unchanged(
        "messenger",
        &lab,
        &["register", "--as", "Bad Name"],
        "invalid account name",
    );
    run::refused_unchanged(
        "messenger",
        &lab,
        &["register", "--as", "../evil"],
        "invalid account name",
    );
    run::refused_unchanged(
        "messenger",
        &lab,
        &["register", "--as", "alice"],
        "already has a client state",
    );
    run::refused_unchanged(
        "messenger",
        &lab,
        &["send", "--as", "alice", "--recipient", "nobody", "hi"],
        "unknown recipient 'nobody'; run messenger register --as nobody first",
    );
    run::refused_unchanged(
        "messenger",
        &lab,
        &["send", "--as", "ghost", "--recipient", "bob", "hi"],
        "sender 'ghost' is not registered here",
    );
    run::refused_unchanged(
        "messenger",
        &lab,
        &["send", "--as", "alice", "--recipient", "x y", "hi"],
        "invalid account name",
    );
    run::refused_unchanged(
        "messenger",
        &lab,
        &["send", "--as", "alice", "--recipient", "alice", "hi"],
        "cannot send to yourself",
    );
    run::refused_unchanged(
        "messenger",
        &lab,
        &[
            "send",
            "--as",
            "alice",
            "--recipient",
            "bob",
            "--at",
            "noon",
            "hi",
        ],
        "RFC 3339",
    );
    let err = run::refused_unchanged(
        "messenger",
        &lab,
        &["read", "--as", "ghost"],
        "not registered",
    );
    assert!(
        err.ends_with("; run messenger register --as ghost first\n"),
        "{err}"
    );
    run::refused_unchanged(
        "messenger",
        &lab,
        &[
            "intercept",
            "--target",
            "bob",
            "--from",
            "2026-11-28T00:00:00Z",
            "--to",
            "2026-11-27T00:00:00Z",
        ],
        "--to 2026-11-27T00:00:00Z is before --from 2026-11-28T00:00:00Z",
    );
    run::refused_unchanged(
        "messenger",
        &lab,
        &[
            "intercept",
            "--target",
            "nobody",
            "--from",
            "2026-11-27T00:00:00Z",
            "--to",
            "2026-11-28T00:00:00Z",
        ],
        "unknown account 'nobody': not in the relay's directory; run messenger register --as nobody first",
    );
    let big = "x".repeat(messenger::envelope::MAX_TEXT_LEN + 1);
    run::refused_unchanged(
        "messenger",
        &lab,
        &["send", "--as", "alice", "--recipient", "bob", &big],
        "too large",
    );
    let usage = on_lab("messenger", &lab)
        .args(["send", "--from", "alice"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn a_lab_without_escrow_parameters_refuses_to_send() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    std::fs::create_dir(&lab).unwrap();
    ok(on_lab("messenger", &lab).args(["register", "--as", "alice"]));
    ok(on_lab("messenger", &lab).args(["register", "--as", "bob"]));
    run::refused_unchanged(
        "messenger",
        &lab,
        &["send", "--as", "alice", "--recipient", "bob", "hi"],
        "run 'escrow setup' first",
    );
}

#[test]
fn corrupted_state_and_relay_rows_are_refused() {
    let tmp = lab::with_accounts(&["alice", "bob", "carol"]);
    let lab = tmp.path().join("lab");
    ok(on_lab("messenger", &lab).args(["send", "--as", "alice", "--recipient", "bob", "hi"]));
    let state = lab.join("clients/alice.json");
    let good = std::fs::read(&state).unwrap();
    for (bytes, expect) in [
        (good[..good.len() / 2].to_vec(), "client state"),
        (b"{\"version\": 7}".to_vec(), "unsupported version 7"),
        (
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("\"rk\": \"", "\"rk\": \"zz", 1)
                .into_bytes(),
            "rk",
        ),
    ] {
        std::fs::write(&state, &bytes).unwrap();
        run::refused_unchanged(
            "messenger",
            &lab,
            &["send", "--as", "alice", "--recipient", "bob", "hi"],
            expect,
        );
    }
    std::fs::write(&state, &good).unwrap();
    // Another account's state under alice's name.
    std::fs::copy(lab.join("clients/bob.json"), &state).unwrap();
    run::refused_unchanged(
        "messenger",
        &lab,
        &["send", "--as", "alice", "--recipient", "bob", "hi"],
        "holds the state of 'bob'",
    );
    std::fs::write(&state, &good).unwrap();

    // A directory row whose identity key is not a curve point.
    let db = rusqlite::Connection::open(lab.join("relay.sqlite")).unwrap();
    db.execute(
        "UPDATE accounts SET identity_sign = lower('02' || replace(hex(zeroblob(32)), '00', 'FF'))
         WHERE name = 'carol'",
        [],
    )
    .unwrap();
    drop(db);
    run::refused_unchanged(
        "messenger",
        &lab,
        &["send", "--as", "alice", "--recipient", "carol", "hi"],
        "directory entry of 'carol' is corrupt",
    );
}

#[test]
fn concurrent_commands_of_one_client_never_reuse_a_message_key() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    // An established session: concurrent sends would share alice's current chain.
    ok(on_lab("messenger", &lab).args(["send", "--as", "bob", "--recipient", "alice", "hi"]));
    ok(on_lab("messenger", &lab).args(["read", "--as", "alice"]));
    ok(on_lab("messenger", &lab).args(["send", "--as", "alice", "--recipient", "bob", "m"]));
    let handles: Vec<_> = (0..12)
        .map(|i| {
            let lab = lab.clone();
            std::thread::spawn(move || {
                let args: Vec<String> = if i % 2 == 0 {
                    vec![
                        "send".into(),
                        "--as".into(),
                        "alice".into(),
                        "--recipient".into(),
                        "bob".into(),
                        format!("m{i}"),
                    ]
                } else {
                    vec!["read".into(), "--as".into(), "alice".into()]
                };
                on_lab("messenger", &lab).args(&args).output().unwrap()
            })
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let db = rusqlite::Connection::open(lab.join("relay.sqlite")).unwrap();
    let reused: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM (SELECT chain, n FROM envelopes GROUP BY chain, n HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reused, 0);
    let read = ok(on_lab("messenger", &lab).args(["read", "--as", "bob", "--json"]));
    let doc: serde_json::Value = serde_json::from_str(&read).unwrap();
    assert_eq!(doc["messages"].as_array().unwrap().len(), 7, "{read}");
}

#[test]
fn a_sealed_client_state_needs_its_passphrase() {
    let tmp = lab::with_accounts(&["bob"]);
    let lab = tmp.path().join("lab");
    ok(on_lab("messenger", &lab)
        .env("ALICE_PASS", "alice's long passphrase")
        .args([
            "register",
            "--as",
            "alice",
            "--at",
            SET_UP,
            "--passphrase-env",
            "ALICE_PASS",
        ]));
    let state = std::fs::read(lab.join("clients/alice.json")).unwrap();
    assert!(escrow::sealed::is_sealed(&state));
    let send = ["send", "--as", "alice", "--recipient", "bob", "hello"];
    // stdin is not a terminal here: no prompt, one clear line, nothing changed.
    let mut args = send.to_vec();
    run::refused_unchanged(
        "messenger",
        &lab,
        &args,
        "is sealed with a passphrase: pass --passphrase-env VAR",
    );
    args.extend(["--passphrase-env", "NOT_SET_ANYWHERE"]);
    run::refused_unchanged(
        "messenger",
        &lab,
        &args,
        "NOT_SET_ANYWHERE (--passphrase-env) is not set",
    );
    let before = snapshot::files(&lab);
    let out = on_lab("messenger", &lab)
        .env("ALICE_PASS", "a wrong guess")
        .args(send)
        .args(["--passphrase-env", "ALICE_PASS"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("wrong passphrase")
    );
    assert_eq!(before, snapshot::files(&lab));
    ok(on_lab("messenger", &lab)
        .env("ALICE_PASS", "alice's long passphrase")
        .args(send)
        .args(["--passphrase-env", "ALICE_PASS"]));
    let after = std::fs::read(lab.join("clients/alice.json")).unwrap();
    assert!(escrow::sealed::is_sealed(&after) && after != state);
    let text = ok(on_lab("messenger", &lab).args(["read", "--as", "bob"]));
    assert!(text.contains("hello"), "{text}");
}

#[test]
fn a_text_cannot_forge_a_line_of_the_output() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    let m = |args: &[&str]| ok(on_lab("messenger", &lab).args(args));
    let forged =
        "hi\n2026-11-27T09:00:00Z  bob → alice: I confess\r\u{1b}[2K\u{202e}\u{2028}x\u{2029}";
    m(&[
        "send",
        "--as",
        "alice",
        "--recipient",
        "bob",
        "--at",
        "2026-11-27T09:00:00Z",
        forged,
    ]);
    let read = m(&["read", "--as", "bob", "--at", "2026-11-27T09:01:00Z"]);
    assert_eq!(read.lines().count(), 1, "{read}");
    // No Unicode line break either (what a reader splitting on U+2028/U+2029 sees).
    assert!(!read.contains(['\u{2028}', '\u{2029}', '\u{85}']), "{read}");
    assert!(
        read.contains(
            "alice → bob: hi\\n2026-11-27T09:00:00Z  bob → alice: I confess\\r\\u{1b}[2K\\u{202e}\\u{2028}x\\u{2029}"
        ),
        "{read}"
    );
}

/// Finding 6: a client state file restored from a backup. The next send finds its position
/// taken at the relay, says so in one line, and goes on a new session that the recipient
/// reads; the relay never holds two envelopes at one position.
#[test]
fn a_restored_client_state_starts_a_new_session_instead_of_reusing_a_key() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    let send = |text: &str, at: &str| {
        let out = on_lab("messenger", &lab)
            .args([
                "send",
                "--as",
                "alice",
                "--recipient",
                "bob",
                "--at",
                at,
                text,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let state = lab.join("clients/alice.json");
    assert_eq!(send("one", "2026-11-27T09:00:00Z"), "");
    let backup = std::fs::read(&state).unwrap();
    assert_eq!(send("two", "2026-11-27T09:01:00Z"), "");
    std::fs::write(&state, &backup).unwrap();
    let err = send("three", "2026-11-27T09:02:00Z");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("messenger: state rolled back: message 1 of chain ")
            && err.contains("started a new session"),
        "{err}"
    );
    // The next send goes on the new session without a word.
    assert_eq!(send("four", "2026-11-27T09:03:00Z"), "");
    let read = ok(on_lab("messenger", &lab).args([
        "read",
        "--as",
        "bob",
        "--at",
        "2026-11-27T09:05:00Z",
        "--json",
    ]));
    let doc: serde_json::Value = serde_json::from_str(&read).unwrap();
    let texts: Vec<&str> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["one", "two", "three", "four"], "{read}");
    let capture = ok(on_lab("messenger", &lab).args([
        "intercept",
        "--target",
        "alice",
        "--from",
        "2026-11-27T00:00:00Z",
        "--to",
        "2026-11-28T00:00:00Z",
        "--at",
        "2026-11-28T00:00:00Z",
    ]));
    let capture: serde_json::Value = serde_json::from_str(&capture).unwrap();
    let positions: Vec<_> = capture["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let e = &e["envelope"];
            (
                e["from"].clone(),
                e["to"].clone(),
                e["chain"].clone(),
                e["n"].clone(),
            )
        })
        .collect();
    let unique: std::collections::BTreeSet<String> =
        positions.iter().map(|p| format!("{p:?}")).collect();
    assert_eq!((positions.len(), unique.len()), (4, 4), "{positions:?}");
}

/// Finding 7: a relay that hands out no one-time prekey (all used, or withheld) makes the
/// sender's new session one without DH4; the sender is told.
#[test]
fn a_session_without_a_one_time_prekey_is_reported() {
    let senders: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
    let mut accounts: Vec<&str> = senders.iter().map(String::as_str).collect();
    accounts.extend(["alice", "bob"]);
    let tmp = lab::with_accounts(&accounts);
    let lab = tmp.path().join("lab");
    let send = |from: &str| {
        let out = on_lab("messenger", &lab)
            .args(["send", "--as", from, "--recipient", "bob", "--at"])
            .args(["2026-11-27T09:00:00Z", "hi"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    // Bob's 20 one-time prekeys go to the first 20 sessions, silently.
    for s in &senders {
        assert_eq!(send(s), "");
    }
    let err = send("alice");
    assert_eq!(
        err,
        "messenger: warning: the relay gave no one-time prekey for bob: this session has no \
         DH4 (weaker against a later key compromise)\n"
    );
    // Later messages of that session say nothing; bob reads it.
    assert_eq!(send("alice"), "");
    let read = ok(on_lab("messenger", &lab)
        .args(["read", "--as", "bob", "--at"])
        .arg("2026-11-27T09:05:00Z"));
    assert_eq!(read.matches("alice → bob: hi").count(), 2, "{read}");
}

/// Outside review of finding 6: a restored sender whose next message is the first of a new day
/// (an epoch step, derived from the old chain's key at its position) is caught like any
/// other: the relay holds that position, so the step would be refused by the recipient and
/// the message lost. It goes on a new session instead, and bob reads everything.
#[test]
fn a_restored_state_is_caught_across_an_epoch_step_too() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    let send = |text: &str, at: &str| {
        let out = on_lab("messenger", &lab)
            .args([
                "send",
                "--as",
                "alice",
                "--recipient",
                "bob",
                "--at",
                at,
                text,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let state = lab.join("clients/alice.json");
    assert_eq!(send("one", "2026-11-27T09:00:00Z"), "");
    let backup = std::fs::read(&state).unwrap();
    assert_eq!(send("two", "2026-11-27T09:01:00Z"), "");
    std::fs::write(&state, &backup).unwrap();
    let err = send("three", "2026-11-28T09:00:00Z");
    assert!(err.contains("state rolled back"), "{err}");
    assert_eq!(send("four", "2026-11-28T09:01:00Z"), "");
    let read = ok(on_lab("messenger", &lab).args([
        "read",
        "--as",
        "bob",
        "--at",
        "2026-11-28T09:05:00Z",
        "--json",
    ]));
    let doc: serde_json::Value = serde_json::from_str(&read).unwrap();
    let texts: Vec<&str> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["one", "two", "three", "four"], "{read}");
}

/// Outside review of finding 6: the provider makes the insert of alice's envelope fail (a
/// trigger stands in for any refusal or fault). The envelope has left the client, so its
/// position is spent: alice's state keeps it in the outbox, the next command delivers those
/// same bytes, and the next message is at the next position — no second ciphertext under that
/// key and nonce. The error says what happened, not "the relay already holds" it.
#[test]
fn a_refused_insert_never_makes_the_next_message_reuse_its_key() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    ok(on_lab("messenger", &lab).args([
        "send",
        "--as",
        "alice",
        "--recipient",
        "bob",
        "--at",
        "2026-11-27T09:00:00Z",
        "one",
    ]));
    let db = rusqlite::Connection::open(lab.join("relay.sqlite")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON envelopes BEGIN SELECT RAISE(ABORT, 'no'); END;",
    )
    .unwrap();
    let out = on_lab("messenger", &lab)
        .args([
            "send",
            "--as",
            "alice",
            "--recipient",
            "bob",
            "--at",
            "2026-11-27T09:01:00Z",
            "meet me at the old mill",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the relay refused the message") && err.contains("outbox"),
        "{err}"
    );
    assert!(!err.contains("already holds"), "{err}");
    db.execute_batch("DROP TRIGGER refuse;").unwrap();
    drop(db);
    ok(on_lab("messenger", &lab).args([
        "send",
        "--as",
        "alice",
        "--recipient",
        "bob",
        "--at",
        "2026-11-27T09:02:00Z",
        "attack at dawn",
    ]));
    let read = ok(on_lab("messenger", &lab).args([
        "read",
        "--as",
        "bob",
        "--at",
        "2026-11-27T09:05:00Z",
        "--json",
    ]));
    let doc: serde_json::Value = serde_json::from_str(&read).unwrap();
    let texts: Vec<&str> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["one", "meet me at the old mill", "attack at dawn"],
        "{read}"
    );
    // Three envelopes at three positions, and three different key commitments.
    let db = rusqlite::Connection::open(lab.join("relay.sqlite")).unwrap();
    let rows: Vec<(String, i64, String)> = db
        .prepare("SELECT chain, n, body FROM envelopes ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let positions: std::collections::BTreeSet<_> =
        rows.iter().map(|(c, n, _)| (c.clone(), *n)).collect();
    assert_eq!(positions.len(), 3, "{rows:?}");
    let commitments: std::collections::BTreeSet<String> = rows
        .iter()
        .map(|(_, _, b)| {
            let v: serde_json::Value = serde_json::from_str(b).unwrap();
            v["ciphertext"].as_str().unwrap()[..64].to_owned()
        })
        .collect();
    assert_eq!(commitments.len(), 3);
}

/// Outside review: a prekey bundle whose signature fails is refused before the recipient's
/// one-time prekey is spent (a failed command changes no file).
#[test]
fn a_bundle_with_a_bad_signature_spends_no_prekey() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    let db = rusqlite::Connection::open(lab.join("relay.sqlite")).unwrap();
    let old: String = db
        .query_row(
            "SELECT signed_prekey_sig FROM accounts WHERE name = 'bob'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut bad = old.into_bytes();
    let i = bad.len() / 2;
    bad[i] = if bad[i] == b'0' { b'1' } else { b'0' };
    db.execute(
        "UPDATE accounts SET signed_prekey_sig = ?1 WHERE name = 'bob'",
        [String::from_utf8(bad).unwrap()],
    )
    .unwrap();
    drop(db);
    run::refused_unchanged(
        "messenger",
        &lab,
        &["send", "--as", "alice", "--recipient", "bob", "x"],
        "invalid signature",
    );
}
