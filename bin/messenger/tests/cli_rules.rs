//! The command-line rules every tool of the lab follows (issue 17), checked on the real
//! `messenger` binary: one flag per concept (`--as`, `--recipient`, `--target`, `--from`/`--to`
//! only for windows, no hidden aliases), half-open windows `[--from, --to)`, `--json` on every
//! subcommand and for failures, the help's layout, the `--out` rule, no empty message, and
//! simulated time that never goes backwards.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::path::Path;

use test_support::clock::SET_UP;
use test_support::run::{ok, on_lab};
use test_support::{json, lab, run, snapshot};

fn send(lab: &Path, from: &str, to: &str, at: &str, text: &str) -> String {
    ok(on_lab("messenger", lab).args(["send", "--as", from, "--recipient", to, "--at", at, text]))
}

fn usage_error(lab: &Path, args: &[&str]) -> String {
    let before = snapshot::files(lab);
    let out = on_lab("messenger", lab).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    assert_eq!(before, snapshot::files(lab));
    String::from_utf8(out.stderr).unwrap()
}

/// `messenger read --as account --at at --json`: the texts it shows, and its document.
fn read_texts(lab: &Path, account: &str, at: &str) -> (Vec<String>, serde_json::Value) {
    let out = ok(on_lab("messenger", lab).args(["read", "--as", account, "--at", at, "--json"]));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let texts = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    (texts, doc)
}

/// The option names listed under `heading` in a help text, in order.
fn options_under(help: &str, heading: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter(|l| l.trim_start().starts_with('-'))
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("--")))
        .map(|w| w.trim_end_matches(',').to_owned())
        .collect()
}

#[test]
fn one_flag_per_concept_and_no_hidden_aliases() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    // The old spellings are gone, not kept as aliases.
    for args in [
        &["register", "carol"][..],
        &["send", "--from", "alice", "--to", "bob", "hi"],
        &["send", "--as", "alice", "--to", "bob", "hi"],
        &[
            "intercept",
            "--account",
            "bob",
            "--from",
            "2026-11-27T00:00:00Z",
            "--to",
            "2026-11-28T00:00:00Z",
        ],
        &["read", "--account", "bob"],
    ] {
        let err = usage_error(&lab, args);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    lab::register(&lab, "carol", SET_UP);
    let said = send(&lab, "alice", "carol", "2026-11-27T09:00:00Z", "hi carol");
    assert!(
        said.starts_with("Sent #1 alice → carol at 2026-11-27T09:00:00Z"),
        "{said}"
    );
    let (texts, _) = read_texts(&lab, "carol", "2026-11-27T10:00:00Z");
    assert_eq!(texts, ["hi carol"]);
    let cap = ok(on_lab("messenger", &lab).args([
        "intercept",
        "--target",
        "carol",
        "--from",
        "2026-11-27T00:00:00Z",
        "--to",
        "2026-11-28T00:00:00Z",
        "--at",
        "2026-11-28T00:00:00Z",
    ]));
    let cap: serde_json::Value = serde_json::from_str(&cap).unwrap();
    assert_eq!(cap["account"], "carol");
    assert_eq!(cap["envelopes"].as_array().unwrap().len(), 1);
}

#[test]
fn intercept_windows_are_half_open() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    send(&lab, "alice", "bob", "2026-11-27T09:00:00Z", "at nine");
    send(&lab, "alice", "bob", "2026-11-27T10:00:00Z", "at ten");
    send(&lab, "alice", "bob", "2026-11-27T11:00:00Z", "at eleven");
    let capture = |from: &str, to: &str| -> Vec<String> {
        let cap = ok(on_lab("messenger", &lab).args([
            "intercept",
            "--target",
            "alice",
            "--from",
            from,
            "--to",
            to,
            "--at",
            "2026-11-28T00:00:00Z",
        ]));
        let cap: serde_json::Value = serde_json::from_str(&cap).unwrap();
        assert_eq!((&cap["from"], &cap["to"]), (&from.into(), &to.into()));
        cap["envelopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["server_time"].as_str().unwrap().to_owned())
            .collect()
    };
    // --from is in the window, --to is not.
    assert_eq!(
        capture("2026-11-27T10:00:00Z", "2026-11-27T11:00:00Z"),
        ["2026-11-27T10:00:00Z"]
    );
    assert_eq!(
        capture("2026-11-27T09:00:00Z", "2026-11-27T11:00:01Z").len(),
        3
    );
    assert!(capture("2026-11-27T09:00:01Z", "2026-11-27T10:00:00Z").is_empty());
    // Adjacent windows split the traffic without overlap.
    let day = capture("2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z");
    let halves = [
        capture("2026-11-27T00:00:00Z", "2026-11-27T10:00:00Z"),
        capture("2026-11-27T10:00:00Z", "2026-11-28T00:00:00Z"),
    ]
    .concat();
    assert_eq!(day, halves);
    // An empty window is refused, with what to do.
    run::refused_unchanged(
        "messenger",
        &lab,
        &[
            "intercept",
            "--target",
            "alice",
            "--from",
            "2026-11-27T10:00:00Z",
            "--to",
            "2026-11-27T10:00:00Z",
        ],
        "--to equals --from (2026-11-27T10:00:00Z): the window [--from, --to) is empty (--to is \
         exclusive); give a later --to",
    );
    let h = run::help("messenger", &["intercept", "--help"]);
    assert!(h.contains("[--from, --to)"), "{h}");
    assert!(h.contains("exclusive"), "{h}");
}

#[test]
fn json_on_every_subcommand_and_for_failures() {
    let tmp = lab::with_accounts(&["bob"]);
    let lab = tmp.path().join("lab");
    let json = |args: &[&str]| -> serde_json::Value {
        let out = ok(on_lab("messenger", &lab).arg("--json").args(args));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    };
    let doc = json(&["register", "--as", "alice", "--at", SET_UP]);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["account"], "alice");
    assert_eq!(doc["registered_at"], SET_UP);
    assert_eq!(doc["identity_key"].as_str().unwrap().len(), 66);
    assert_eq!(doc["one_time_prekeys"], 20);
    assert_eq!(doc["sealed"], false);
    // --json after the subcommand too (a global option).
    let out = ok(on_lab("messenger", &lab).args([
        "send",
        "--as",
        "alice",
        "--recipient",
        "bob",
        "--at",
        "2026-11-27T09:00:00Z",
        "--json",
        "hello",
    ]));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["relay_id"], 1);
    assert_eq!((&doc["from"], &doc["to"]), (&"alice".into(), &"bob".into()));
    assert_eq!(doc["sent_at"], "2026-11-27T09:00:00Z");
    assert_eq!(doc["starts_chain"], true);
    assert_eq!(doc["escrow_bytes"], 236);
    assert_eq!(doc["n"], 0);
    assert!(doc["warnings"].as_array().unwrap().is_empty());
    let doc = json(&["read", "--as", "bob", "--at", "2026-11-27T10:00:00Z"]);
    assert_eq!(doc["read_at"], "2026-11-27T10:00:00Z");
    assert_eq!(doc["messages"][0]["text"], "hello");
    assert_eq!(doc["queued_later"], 0);
    // intercept: the capture itself is the document; with --out, a summary.
    let window = [
        "intercept",
        "--target",
        "bob",
        "--from",
        "2026-11-27T00:00:00Z",
        "--to",
        "2026-11-28T00:00:00Z",
        "--at",
        "2026-11-28T00:00:00Z",
    ];
    let doc = json(&window);
    assert_eq!(doc["kind"], "escrow-lab/capture");
    let file = tmp.path().join("cap.json");
    let with_out = [&window[..], &["--out", file.to_str().unwrap()]].concat();
    let doc = json(&with_out);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["target"], "bob");
    assert_eq!(doc["from"], "2026-11-27T00:00:00Z");
    assert_eq!(doc["to"], "2026-11-28T00:00:00Z");
    assert_eq!(doc["exported_at"], "2026-11-28T00:00:00Z");
    assert_eq!(doc["envelopes"], 1);
    assert_eq!(doc["result"], "written");
    assert_eq!(doc["out"], file.to_str().unwrap());
    assert_eq!(json(&with_out)["result"], "unchanged");
    // A failure: the error document on stdout, the line on stderr, exit 1, nothing changed.
    let before = snapshot::files(&lab);
    let out = on_lab("messenger", &lab)
        .args([
            "send",
            "--as",
            "alice",
            "--recipient",
            "nobody",
            "--json",
            "hi",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let line = String::from_utf8(out.stderr).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(
        format!("messenger: {}\n", doc["error"].as_str().unwrap()),
        line
    );
    assert!(line.contains("unknown recipient 'nobody'"), "{line}");
    assert_eq!(before, snapshot::files(&lab));
    // A usage error under --json: the document (exit code 2, clap's first line), then clap's
    // message on stderr.
    for args in [
        &["--json", "send", "--from", "alice", "hi"][..],
        &["read", "--json"],
        &["--json", "frobnicate"],
    ] {
        let out = on_lab("messenger", &lab).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(doc["exit_code"], 2);
        assert_eq!(doc["ok"], false);
        assert_eq!(doc["error"].as_str().unwrap(), err.lines().next().unwrap());
        assert!(err.starts_with("error: "), "{err}");
    }
    // Without --json a usage error prints nothing on stdout; --help and --version are as ever.
    let out = on_lab("messenger", &lab).args(["read"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        run::help("messenger", &["--json", "read", "--help"]),
        run::help("messenger", &["read", "--help"])
    );
    assert!(run::help("messenger", &["--json", "--version"]).starts_with("messenger "));
}

#[test]
fn help_lists_the_subcommands_own_options_first_and_passphrases_only_where_a_state_is_opened() {
    let top = run::help("messenger", &["--help"]);
    assert!(!top.contains("passphrase"), "{top}");
    assert_eq!(options_under(&top, "Global options:"), ["--lab", "--json"]);
    for (sub, own) in [
        ("register", &["--as", "--at"][..]),
        ("send", &["--as", "--recipient", "--at"]),
        ("read", &["--as", "--at"]),
        (
            "intercept",
            &["--target", "--from", "--to", "--out", "--at"],
        ),
    ] {
        let h = run::help("messenger", &[sub, "--help"]);
        let options = options_under(&h, "Options:");
        assert_eq!(&options[..own.len()], own, "{sub}: {h}");
        assert_eq!(
            options_under(&h, "Global options:"),
            ["--lab", "--json"],
            "{sub}: {h}"
        );
        // The global options come after the subcommand's own.
        assert!(h.find("Options:").unwrap() < h.find("Global options:").unwrap());
        let passphrases = ["--passphrase-env", "--passphrase-prompt"];
        if sub == "intercept" {
            assert!(!h.to_lowercase().contains("passphrase"), "{h}");
        } else {
            assert_eq!(
                &options[own.len()..own.len() + 2],
                passphrases,
                "{sub}: {h}"
            );
        }
    }
    // A passphrase option on a subcommand that opens no client state is a usage error.
    let tmp = lab::with_accounts(&["bob"]);
    let lab = tmp.path().join("lab");
    usage_error(
        &lab,
        &[
            "intercept",
            "--target",
            "bob",
            "--from",
            "2026-11-27T00:00:00Z",
            "--to",
            "2026-11-28T00:00:00Z",
            "--passphrase-env",
            "X",
        ],
    );
    usage_error(&lab, &["--passphrase-env", "X", "read", "--as", "bob"]);
}

#[test]
fn an_empty_message_is_refused_and_nothing_is_sent() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    run::refused_unchanged(
        "messenger",
        &lab,
        &["send", "--as", "alice", "--recipient", "bob", ""],
        "the message is empty",
    );
    let before = snapshot::files(&lab);
    let out = on_lab("messenger", &lab)
        .args(["send", "--as", "alice", "--recipient", "bob", "-"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "messenger: the message is empty\n"
    );
    assert_eq!(before, snapshot::files(&lab));
    // Only whitespace or invisible characters (zero-width space, byte-order mark) shows as
    // nothing: refused the same way, as an argument or on stdin.
    for text in [
        " ",
        "\n",
        " \t\r\n ",
        "\u{3000}",
        "\u{200b}",
        " \u{feff}\u{200b}",
    ] {
        run::refused_unchanged(
            "messenger",
            &lab,
            &["send", "--as", "alice", "--recipient", "bob", text],
            "the message is empty (only whitespace or invisible characters)",
        );
        let out = on_lab("messenger", &lab)
            .args(["send", "--as", "alice", "--recipient", "bob", "-"])
            .write_stdin(text)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{text:?}");
        assert_eq!(
            String::from_utf8(out.stderr).unwrap(),
            "messenger: the message is empty (only whitespace or invisible characters)\n"
        );
        assert_eq!(before, snapshot::files(&lab), "{text:?}");
    }
    // Text around whitespace is a message, whitespace and all.
    send(&lab, "alice", "bob", "2026-11-27T09:00:00Z", " . \n");
    let (texts, _) = read_texts(&lab, "bob", "2026-11-27T09:00:00Z");
    assert_eq!(texts, [" . \n"]);
}

#[test]
fn registration_is_not_before_the_lab_was_set_up() {
    let tmp = lab::with_accounts(&[]);
    let lab = tmp.path().join("lab");
    run::refused_unchanged(
        "messenger",
        &lab,
        &["register", "--as", "alice", "--at", "2026-10-31T23:59:59Z"],
        "the registration at 2026-10-31T23:59:59Z is before the lab's set-up (generation 1 \
         created) at 2026-11-01T00:00:00Z: simulated time never goes backwards",
    );
    lab::register(&lab, "alice", SET_UP);
    // A time that is not RFC 3339 shows an example.
    run::refused_unchanged(
        "messenger",
        &lab,
        &["register", "--as", "bob", "--at", "noon"],
        "--at 'noon' is not an RFC 3339 time (for example ",
    );
}

#[test]
fn a_send_is_not_before_either_registration_nor_the_senders_last_command() {
    let tmp = lab::with_accounts(&["alice"]);
    let lab = tmp.path().join("lab");
    ok(on_lab("messenger", &lab).args(["register", "--as", "bob", "--at", "2026-11-20T00:00:00Z"]));
    ok(on_lab("messenger", &lab).args([
        "register",
        "--as",
        "carol",
        "--at",
        "2026-11-02T00:00:00Z",
    ]));
    let s = |from: &str, to: &str, at: &str| {
        ["send", "--as", from, "--recipient", to, "--at", at, "hi"].map(str::to_owned)
    };
    let refuse = |args: [String; 8], expect: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run::refused_unchanged("messenger", &lab, &args, expect);
    };
    refuse(
        s("bob", "alice", "2026-11-19T00:00:00Z"),
        "the message at 2026-11-19T00:00:00Z is before bob's registration at \
         2026-11-20T00:00:00Z: simulated time never goes backwards",
    );
    refuse(
        s("alice", "bob", "2026-11-19T00:00:00Z"),
        "the message at 2026-11-19T00:00:00Z is before bob's registration at \
         2026-11-20T00:00:00Z",
    );
    send(&lab, "alice", "bob", "2026-11-27T09:00:00Z", "one");
    refuse(
        s("alice", "carol", "2026-11-27T08:59:59Z"),
        "the message at 2026-11-27T08:59:59Z is before alice's last send or read at \
         2026-11-27T09:00:00Z",
    );
    // The same second is not before it.
    send(&lab, "alice", "carol", "2026-11-27T09:00:00Z", "two");
    // A read counts too.
    ok(on_lab("messenger", &lab).args(["read", "--as", "carol", "--at", "2026-11-27T12:00:00Z"]));
    refuse(
        s("carol", "alice", "2026-11-27T11:00:00Z"),
        "the message at 2026-11-27T11:00:00Z is before carol's last send or read at \
         2026-11-27T12:00:00Z",
    );
    send(&lab, "carol", "alice", "2026-11-27T12:00:00Z", "three");
    let (texts, _) = read_texts(&lab, "alice", "2026-11-27T13:00:00Z");
    assert_eq!(texts, ["three"]);
}

#[test]
fn a_read_shows_only_what_was_sent_by_its_time() {
    let tmp = lab::with_accounts(&["alice"]);
    let lab = tmp.path().join("lab");
    ok(on_lab("messenger", &lab).args(["register", "--as", "bob", "--at", "2026-11-20T00:00:00Z"]));
    send(&lab, "alice", "bob", "2026-11-27T09:00:00Z", "nine");
    send(&lab, "alice", "bob", "2026-11-27T10:00:00Z", "ten");
    send(&lab, "alice", "bob", "2026-11-27T11:00:00Z", "eleven");
    run::refused_unchanged(
        "messenger",
        &lab,
        &["read", "--as", "bob", "--at", "2026-11-19T00:00:00Z"],
        "the read at 2026-11-19T00:00:00Z is before bob's registration at 2026-11-20T00:00:00Z",
    );
    let text =
        ok(on_lab("messenger", &lab).args(["read", "--as", "bob", "--at", "2026-11-27T08:00:00Z"]));
    assert_eq!(
        text,
        "No new messages for bob.\n3 messages sent after 2026-11-27T08:00:00Z stay queued for \
         a later read.\n"
    );
    let text =
        ok(on_lab("messenger", &lab).args(["read", "--as", "bob", "--at", "2026-11-27T10:00:00Z"]));
    assert_eq!(
        text,
        "2026-11-27T09:00:00Z  alice → bob: nine\n2026-11-27T10:00:00Z  alice → bob: ten\n\
         1 message sent after 2026-11-27T10:00:00Z stays queued for a later read.\n"
    );
    // The later one stays queued at the relay, and comes with a later read.
    let db = rusqlite::Connection::open(lab.join("relay.sqlite")).unwrap();
    let queued: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM envelopes WHERE status = 'queued'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(queued, 1);
    drop(db);
    let (texts, doc) = read_texts(&lab, "bob", "2026-11-27T10:30:00Z");
    assert!(texts.is_empty());
    assert_eq!(doc["queued_later"], 1);
    let (texts, doc) = read_texts(&lab, "bob", "2026-11-27T11:00:00Z");
    assert_eq!(texts, ["eleven"]);
    assert_eq!(doc["queued_later"], 0);
}

/// Outside review: a `read` killed after saving its state (the inbox) at one time must not
/// make a later read at an earlier time show what was sent after that earlier time: such a
/// message stays saved and waiting, and comes, with its real send time, with a read at or
/// after it.
#[test]
fn a_read_never_shows_what_was_sent_after_its_time_also_from_a_killed_reads_inbox() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    send(&lab, "alice", "bob", "2026-11-05T07:00:00Z", "sent at 7");
    send(&lab, "alice", "bob", "2026-11-05T09:00:00Z", "sent at 9");
    let out = on_lab("messenger", &lab)
        .env("ESCROW_LAB_FAULT", "read-saved")
        .args(["read", "--as", "bob", "--at", "2026-11-05T10:00:00Z"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    let state = lab.join("clients/bob.json");
    let inbox = || -> usize {
        let v = json::read(&state);
        v["inbox"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(inbox(), 2, "the killed read saved both messages");
    let status = |id: i64| -> String {
        let db = rusqlite::Connection::open(lab.join("relay.sqlite")).unwrap();
        db.query_row("SELECT status FROM envelopes WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap()
    };
    // At 08:00: the 07:00 message with its real time; the 09:00 one neither shown nor marked,
    // counted as waiting, and still saved.
    let text =
        ok(on_lab("messenger", &lab).args(["read", "--as", "bob", "--at", "2026-11-05T08:00:00Z"]));
    assert_eq!(
        text,
        "2026-11-05T07:00:00Z  alice → bob: sent at 7\n1 message sent after \
         2026-11-05T08:00:00Z stays queued for a later read.\n"
    );
    assert_eq!(
        (status(1).as_str(), status(2).as_str()),
        ("delivered", "queued")
    );
    assert_eq!(inbox(), 1);
    let (texts, doc) = read_texts(&lab, "bob", "2026-11-05T08:30:00Z");
    assert!(texts.is_empty(), "{doc}");
    assert_eq!(doc["queued_later"], 1);
    assert_eq!(status(2), "queued");
    // At 09:00 (the send time itself): shown once, with its send time, and marked.
    let (texts, doc) = read_texts(&lab, "bob", "2026-11-05T09:00:00Z");
    assert_eq!(texts, ["sent at 9"]);
    assert_eq!(doc["messages"][0]["sent_at"], "2026-11-05T09:00:00Z");
    assert_eq!(doc["messages"][0]["relay_id"], 2);
    assert_eq!(doc["queued_later"], 0);
    assert_eq!(status(2), "delivered");
    assert_eq!(inbox(), 0, "no plaintext left on disk");
    let (texts, doc) = read_texts(&lab, "bob", "2026-11-05T11:00:00Z");
    assert!(texts.is_empty(), "{doc}");
}

/// Outside review: a modified client (its record of time set back) cannot backdate a message:
/// the relay refuses an envelope dated before the sender's newest one at the relay — to any
/// recipient — naming both times, and nothing changes.
#[test]
fn the_relay_refuses_a_message_dated_before_the_senders_newest_envelope() {
    let tmp = lab::with_accounts(&["alice", "bob", "carol"]);
    let lab = tmp.path().join("lab");
    send(&lab, "alice", "bob", "2026-11-27T09:00:00Z", "one");
    // The modified client: its state forgets when it last sent (its last time, and the
    // envelopes its outbox still holds until its next command).
    let state = lab.join("clients/alice.json");
    json::edit_pretty(&state, |v| {
        v["last_time"] = 0.into();
        v["outbox"] = serde_json::json!([]);
    });
    fn s<'a>(to: &'a str, at: &'a str) -> [&'a str; 8] {
        ["send", "--as", "alice", "--recipient", to, "--at", at, "hi"]
    }
    run::refused_unchanged(
        "messenger",
        &lab,
        &s("bob", "2026-11-27T08:00:00Z"),
        "the message at 2026-11-27T08:00:00Z is before alice's newest envelope at the relay \
         (#1) at 2026-11-27T09:00:00Z: simulated time never goes backwards",
    );
    // Into a past day, to someone else (a new session): refused the same way.
    run::refused_unchanged(
        "messenger",
        &lab,
        &s("carol", "2026-11-26T09:00:00Z"),
        "the message at 2026-11-26T09:00:00Z is before alice's newest envelope at the relay \
         (#1) at 2026-11-27T09:00:00Z: simulated time never goes backwards",
    );
    // The same second is not before it.
    send(&lab, "alice", "carol", "2026-11-27T09:00:00Z", "two");
    let (texts, _) = read_texts(&lab, "carol", "2026-11-27T10:00:00Z");
    assert_eq!(texts, ["two"]);
    let (texts, _) = read_texts(&lab, "bob", "2026-11-27T10:00:00Z");
    assert_eq!(texts, ["one"]);
}

#[test]
fn an_export_holds_nothing_from_after_its_own_time() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    send(
        &lab,
        "alice",
        "bob",
        "2026-11-27T09:00:00Z",
        "start of the chain",
    );
    send(
        &lab,
        "alice",
        "bob",
        "2026-11-27T10:00:00Z",
        "in the window",
    );
    let capture = |from: &str, to: &str, at: &str| -> serde_json::Value {
        let cap = ok(on_lab("messenger", &lab).args([
            "intercept",
            "--target",
            "alice",
            "--from",
            from,
            "--to",
            to,
            "--at",
            at,
        ]));
        let cap: serde_json::Value = serde_json::from_str(&cap).unwrap();
        assert_eq!((&cap["from"], &cap["to"]), (&from.into(), &to.into()));
        assert_eq!(cap["exported_at"], at);
        cap
    };
    let ids = |cap: &serde_json::Value, field: &str| -> Vec<i64> {
        cap[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["relay_id"].as_i64().unwrap())
            .collect()
    };
    // A window that ends after the export time is exported as far as that time: what the
    // relay received later is not in it.
    let cap = capture(
        "2026-11-27T00:00:00Z",
        "2026-11-28T00:00:00Z",
        "2026-11-27T09:30:00Z",
    );
    assert_eq!(ids(&cap, "envelopes"), [1]);
    assert!(ids(&cap, "chain_starts").is_empty());
    // A window that starts after the relay's last envelope before the export: empty, and no
    // chain start from after the export either.
    let cap = capture(
        "2026-11-27T09:30:00Z",
        "2026-11-28T00:00:00Z",
        "2026-11-27T09:30:00Z",
    );
    assert!(ids(&cap, "envelopes").is_empty());
    assert!(ids(&cap, "chain_starts").is_empty());
    // The export time itself is in it (a relay time at or before it).
    let cap = capture(
        "2026-11-27T09:30:00Z",
        "2026-11-28T00:00:00Z",
        "2026-11-27T10:00:00Z",
    );
    assert_eq!(ids(&cap, "envelopes"), [2]);
    assert_eq!(ids(&cap, "chain_starts"), [1]);
    let cap = capture(
        "2026-11-27T00:00:00Z",
        "2026-11-28T00:00:00Z",
        "2026-11-27T10:00:00Z",
    );
    assert_eq!(ids(&cap, "envelopes"), [1, 2]);
    // With --out, the summary says the same.
    let file = tmp.path().join("cap.json");
    let out = ok(on_lab("messenger", &lab).args([
        "--json",
        "intercept",
        "--target",
        "alice",
        "--from",
        "2026-11-27T00:00:00Z",
        "--to",
        "2026-11-28T00:00:00Z",
        "--at",
        "2026-11-27T09:59:59Z",
        "--out",
        file.to_str().unwrap(),
    ]));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["exported_at"], "2026-11-27T09:59:59Z");
    assert_eq!(doc["envelopes"], 1);
}

/// An outbox envelope carries a time the client recorded: a state without `last_time` (written
/// before it existed, or a modified one) still refuses a message dated before its unsent
/// envelope, so the re-send is never refused by the relay and dropped.
#[test]
fn an_unsent_envelope_is_never_dropped_for_an_earlier_message() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    let out = on_lab("messenger", &lab)
        .args(["send", "--as", "alice", "--recipient", "bob"])
        .args(["--at", "2026-11-27T10:00:00Z", "one"])
        .env("ESCROW_LAB_FAULT", "send-saved")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    // Forget the client's last time, as a state written before it existed would.
    let state = lab.join("clients/alice.json");
    json::edit(&state, |v| {
        v.as_object_mut().unwrap().remove("last_time");
    });
    // (The command re-sends the outbox first, as every command of alice's does.)
    let out = on_lab("messenger", &lab)
        .args(["send", "--as", "alice", "--recipient", "bob"])
        .args(["--at", "2026-11-27T09:00:00Z", "two"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("is before alice's last send or read at 2026-11-27T10:00:00Z"),
        "{err}"
    );
    let out = send(&lab, "alice", "bob", "2026-11-27T12:00:00Z", "three");
    assert!(!out.contains("dropped"), "{out}");
    let (texts, _) = read_texts(&lab, "bob", "2026-11-27T13:00:00Z");
    assert_eq!(texts, ["one", "three"]);
}

/// Outside review (2026-12, rt18): on an emptied `relay.sqlite` a failing `send` wrote a new
/// schema into it, and `register` then started a new relay with a new id in its place. An
/// empty relay database is refused, and the file is left as it was.
#[test]
fn an_emptied_relay_database_is_refused_and_left_empty() {
    let tmp = lab::with_accounts(&["alice", "bob"]);
    let lab = tmp.path().join("lab");
    let db = escrow::lab::Lab::new(&lab).relay_path();
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", db.display()));
    }
    std::fs::write(&db, b"").unwrap();
    for args in [
        vec!["send", "--as", "alice", "--recipient", "bob", "hi"],
        vec!["register", "--as", "carol"],
    ] {
        run::refused_unchanged("messenger", &lab, &args, "relay database is empty");
        assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
    }
}
