//! The `escrow` binary's option rules, run for real (issue 17): help lists a subcommand's own
//! options first and `--lab`/`--json` under "Global options"; the passphrase options exist only
//! on the subcommands that read or write a share file; `--from`/`--to` are not used for names
//! (`reshare start --authorities … --dealers …`); every list option takes commas and
//! repetition; `--json` gives one JSON document on stdout for every subcommand, on success and
//! on failure; and the text output uses the right number and aligns.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use escrow::lab::Lab;
use serde_json::Value;
use test_support::run::{self, json_in, ok_in, on_lab, output};

/// The help of the subcommand `args` (`escrow args --help`).
fn help(args: &[&str]) -> String {
    run::help("escrow", &[args, &["--help"]].concat())
}

/// The long options of a help text, in order, each with the heading it is listed under.
fn options(help: &str) -> Vec<(String, String)> {
    let mut heading = String::new();
    let mut out = Vec::new();
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            heading = line.trim_end_matches(':').to_owned();
        } else if line.trim_start().starts_with('-')
            && let Some(opt) = line.split_whitespace().find(|w| w.starts_with("--"))
        {
            out.push((heading.clone(), opt.trim_end_matches(',').to_owned()));
        }
    }
    out
}

#[test]
fn help_lists_own_options_first_and_the_global_ones_under_their_heading() {
    let approve = help(&["approve"]);
    let opts = options(&approve);
    assert_eq!(opts[0], ("Options".into(), "--as".into()), "{approve}");
    // Every global option is under "Global options", after every option of the subcommand.
    let first_global = opts
        .iter()
        .position(|(h, _)| h == "Global options")
        .unwrap();
    assert!(
        opts[first_global..]
            .iter()
            .all(|(h, _)| h == "Global options"),
        "{approve}"
    );
    let globals: Vec<&str> = opts[first_global..]
        .iter()
        .map(|(_, o)| o.as_str())
        .collect();
    assert_eq!(globals, ["--lab", "--json"], "{approve}");
    assert!(approve.contains("--passphrase-env <VAR>"), "{approve}");

    // The passphrase options, and their paragraphs, only where a share file is read or written.
    let with = [
        &["setup"][..],
        &["rotate"],
        &["approve"],
        &["seal"],
        &["dkg", "finish"],
        &["reshare", "deal"],
        &["reshare", "finish"],
    ];
    let without = [
        &["info"][..],
        &["log", "show"],
        &["log", "prove"],
        &["log", "cosign"],
        &["refresh"],
        &["retire"],
        &["dkg", "start"],
        &["dkg", "join"],
        &["dkg", "deal"],
        &["dkg", "respond"],
        &["dkg", "justify"],
        &["dkg", "verify"],
        &["reshare", "start"],
        &["reshare", "join"],
        &["reshare", "respond"],
        &["reshare", "justify"],
        &["reshare", "revoke"],
        &["reshare", "abandon"],
    ];
    for args in with {
        let h = help(args);
        assert!(
            h.contains("--passphrase-env <VAR>") && h.contains("--passphrase-prompt"),
            "{args:?}: {h}"
        );
        assert!(
            h.find("Global options:").unwrap() > h.find("--passphrase-prompt").unwrap(),
            "{args:?}: {h}"
        );
    }
    for args in without {
        let h = help(args);
        assert!(!h.to_lowercase().contains("passphrase"), "{args:?}: {h}");
        assert!(
            h.contains("Global options:\n      --lab <DIR>"),
            "{args:?}: {h}"
        );
    }
    let top = help(&[]);
    assert!(
        options(&top)
            .iter()
            .all(|(_, o)| !o.starts_with("--passphrase")),
        "{top}"
    );
}

#[test]
fn passphrase_options_are_refused_where_no_share_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    // Before the subcommand, they are not options of `escrow` any more.
    for args in [
        &["--passphrase-env", "P", "setup"][..],
        &["info", "--passphrase-env", "P"],
        &["log", "show", "--passphrase-prompt"],
        &["retire", "--as", "a", "--passphrase-env", "P"],
    ] {
        let out = output("escrow", &lab, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("unexpected argument '--passphrase-"), "{err}");
        assert!(!lab.exists());
    }
}

#[test]
fn list_options_take_commas_and_repetition() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    ok_in(
        "escrow",
        &lab,
        &[
            "setup",
            "--authorities",
            "court,ministry",
            "--authorities",
            "oversight",
            "--authorities",
            "press",
            "--threshold",
            "2",
            "--at",
            "2026-11-20T10:00:00Z",
        ],
    );
    let l = Lab::new(&lab);
    let names = |p: &escrow::PublicParams| -> Vec<String> {
        p.authorities().iter().map(|a| a.name.clone()).collect()
    };
    assert_eq!(
        names(&l.load_params().unwrap()),
        ["court", "ministry", "oversight", "press"]
    );
    ok_in(
        "escrow",
        &lab,
        &[
            "rotate",
            "--at",
            "2026-11-20T11:00:00Z",
            "--authorities",
            "court",
            "--authorities",
            "ministry,oversight",
        ],
    );
    assert_eq!(
        names(&l.load_generation(2).unwrap()),
        ["court", "ministry", "oversight"]
    );
    // The renamed resharing options: --authorities (new) and --dealers (old), lists both.
    let text = ok_in(
        "escrow",
        &lab,
        &[
            "reshare",
            "start",
            "--generation",
            "1",
            "--authorities",
            "court,ministry",
            "--authorities",
            "oversight",
            "--threshold",
            "2",
            "--dealers",
            "court",
            "--dealers",
            "ministry,press",
        ],
    );
    assert!(
        text.contains("dealt by court, ministry, press to 2 of 3 (court, ministry, oversight)"),
        "{text}"
    );
    ok_in("escrow", &lab, &["reshare", "abandon"]);
    // --to and --from name a time window wherever they exist: no longer accepted here.
    for old in [
        &["--to", "court,ministry", "--threshold", "2"][..],
        &[
            "--authorities",
            "court,ministry",
            "--threshold",
            "2",
            "--from",
            "court,ministry",
        ],
    ] {
        let out = on_lab("escrow", &lab)
            .args(["reshare", "start"])
            .args(old)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{old:?}: {out:?}");
    }

    // --fingerprint, repeated: every value is checked (here the second one is wrong).
    let dkg = tmp.path().join("dkg");
    ok_in(
        "escrow",
        &dkg,
        &[
            "dkg",
            "start",
            "--authorities",
            "a",
            "--authorities",
            "b,c",
            "--threshold",
            "2",
        ],
    );
    let mut fps = Vec::new();
    for a in ["a", "b", "c"] {
        let text = ok_in("escrow", &dkg, &["dkg", "join", "--as", a]);
        let fp = text.split("fingerprint ").nth(1).unwrap()[..16].to_owned();
        fps.push(fp);
    }
    for step in ["deal", "respond", "justify"] {
        for a in ["a", "b", "c"] {
            ok_in("escrow", &dkg, &["dkg", step, "--as", a]);
        }
    }
    let wrong = format!("b={}", "0".repeat(16));
    let own = fps[0].clone();
    let out = output(
        "escrow",
        &dkg,
        &[
            "dkg",
            "finish",
            "--as",
            "a",
            "--fingerprint",
            &own,
            "--fingerprint",
            &wrong,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains('b') && err.contains("0000000000000000"),
        "{err}"
    );
    let right = format!("b={},c={}", fps[1], fps[2]);
    ok_in(
        "escrow",
        &dkg,
        &[
            "dkg",
            "finish",
            "--as",
            "a",
            "--fingerprint",
            &own,
            "--fingerprint",
            &right,
        ],
    );
}

/// `--json` on every subcommand: one document on success.
#[test]
fn every_subcommand_prints_one_json_document() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    let doc = json_in(
        "escrow",
        &lab,
        &[
            "setup",
            "--authorities",
            "a,b,c",
            "--threshold",
            "2",
            "--at",
            "2026-11-20T10:00:00Z",
        ],
    );
    assert_eq!(doc["params"]["threshold"], 2);
    assert_eq!(json_in("escrow", &lab, &["info"])["generation"], 1);
    assert_eq!(json_in("escrow", &lab, &["log", "show"])["size"], 1);
    assert_eq!(
        json_in("escrow", &lab, &["log", "prove", "--index", "0"])["kind"],
        "escrow-lab/log-proof"
    );
    let out = tmp.path().join("p.json");
    let doc = json_in(
        "escrow",
        &lab,
        &[
            "log",
            "prove",
            "--index",
            "0",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        (doc["index"].clone(), doc["result"].clone()),
        (0.into(), "written".into())
    );
    let doc = json_in(
        "escrow",
        &lab,
        &["log", "cosign", "--as", "a", "--at", "2026-11-20T10:01:00Z"],
    );
    assert_eq!(doc["authority"], "a");
    let doc = json_in(
        "escrow",
        &lab,
        &["seal", "--as", "a", "--passphrase-env", "HOME"],
    );
    assert_eq!(
        (doc["authority"].clone(), doc["generation"].clone()),
        ("a".into(), 1.into())
    );
    let doc = json_in(
        "escrow",
        &lab,
        &[
            "rotate",
            "--at",
            "2026-11-20T11:00:00Z",
            "--passphrase-env",
            "HOME",
        ],
    );
    assert_eq!(doc["params"]["generation"], 2);
    let doc = json_in(
        "escrow",
        &lab,
        &[
            "retire",
            "--as",
            "c",
            "--generation",
            "1",
            "--at",
            "2026-11-20T12:00:00Z",
        ],
    );
    assert_eq!(
        (doc["new"].clone(), doc["retired"].clone()),
        (true.into(), serde_json::json!(["c"]))
    );

    // A refresh and a resharing, step by step.
    let doc = json_in("escrow", &lab, &["refresh", "--generation", "2"]);
    let proposal = doc["proposal"].as_str().unwrap().to_owned();
    assert_eq!(doc["parties"], serde_json::json!(["a", "b", "c"]));
    let mut fingerprints = serde_json::Map::new();
    for a in ["a", "b", "c"] {
        let doc = json_in(
            "escrow",
            &lab,
            &["reshare", "join", "--as", a, "--proposal", &proposal],
        );
        fingerprints.insert(a.into(), doc["fingerprint"].clone());
    }
    for a in ["a", "b", "c"] {
        // The rotation sealed generation 2's shares (a's share of generation 1 was sealed).
        let args = ["reshare", "deal", "--as", a, "--passphrase-env", "HOME"];
        assert_eq!(json_in("escrow", &lab, &args)["values"], 3);
    }
    for a in ["a", "b", "c"] {
        assert_eq!(
            json_in("escrow", &lab, &["reshare", "respond", "--as", a])["complaints"],
            serde_json::json!([])
        );
    }
    for a in ["a", "b", "c"] {
        assert_eq!(
            json_in("escrow", &lab, &["reshare", "justify", "--as", a])["revealed"],
            0
        );
    }
    for a in ["a", "b", "c"] {
        let doc = json_in(
            "escrow",
            &lab,
            &["reshare", "finish", "--as", a, "--passphrase-env", "HOME"],
        );
        assert_eq!(doc["revocations_needed"], 2);
        assert_eq!(doc["fingerprints"], Value::Object(fingerprints.clone()));
    }
    let doc = json_in(
        "escrow",
        &lab,
        &[
            "reshare",
            "revoke",
            "--as",
            "a",
            "--at",
            "2026-11-20T13:00:00Z",
        ],
    );
    assert_eq!(doc["completed"], false);
    let doc = json_in(
        "escrow",
        &lab,
        &[
            "reshare",
            "revoke",
            "--as",
            "b",
            "--at",
            "2026-11-20T13:00:00Z",
        ],
    );
    assert_eq!(doc["completed"], true);
    assert_eq!(doc["revoked"], serde_json::json!(["a", "b"]));
    json_in("escrow", &lab, &["refresh", "--generation", "2"]);
    assert_eq!(
        json_in("escrow", &lab, &["reshare", "abandon"])["generation"],
        2
    );

    // A dealerless generation, step by step.
    let dkg = tmp.path().join("dkg");
    let doc = json_in(
        "escrow",
        &dkg,
        &["dkg", "start", "--authorities", "a,b,c", "--threshold", "2"],
    );
    assert_eq!(doc["threshold"], 2);
    for a in ["a", "b", "c"] {
        assert_eq!(
            json_in("escrow", &dkg, &["dkg", "join", "--as", a])["authority"],
            a
        );
    }
    for a in ["a", "b", "c"] {
        assert_eq!(
            json_in("escrow", &dkg, &["dkg", "deal", "--as", a])["rows"],
            3
        );
    }
    for a in ["a", "b", "c"] {
        json_in("escrow", &dkg, &["dkg", "respond", "--as", a]);
    }
    for a in ["a", "b", "c"] {
        json_in("escrow", &dkg, &["dkg", "justify", "--as", a]);
    }
    for (i, a) in ["a", "b", "c"].iter().enumerate() {
        let doc = json_in("escrow", &dkg, &["dkg", "finish", "--as", a]);
        assert_eq!(doc["installed"], i == 2, "{doc}");
        assert_eq!(doc["qualified"], serde_json::json!(["a", "b", "c"]));
    }
    let doc = json_in("escrow", &dkg, &["dkg", "verify"]);
    assert_eq!(
        (doc["installed"].clone(), doc["markers_agree"].clone()),
        (true.into(), true.into())
    );
}

/// Under `--json` a failure is a JSON document too, beside the usual line on stderr; usage
/// errors (exit 2) as well. Without `--json`, standard output stays empty.
#[test]
fn errors_under_json_are_json_documents() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    for (args, code, expect) in [
        (&["info"][..], 1, "run 'escrow setup' first"),
        (
            &["setup", "--authorities", "a,a", "--threshold", "2"],
            1,
            "more than once",
        ),
        (&["dkg", "deal", "--as", "a"], 1, "no DKG"),
        (
            &["reshare", "revoke", "--as", "a"],
            1,
            "no resharing is open",
        ),
        (
            &["setup", "--authorities", "a,b"],
            2,
            "error: the following required arguments were not provided:",
        ),
        (
            &["frobnicate"],
            2,
            "error: unrecognized subcommand 'frobnicate'",
        ),
        (
            &["info", "--passphrase-env", "P"],
            2,
            "error: unexpected argument '--passphrase-env' found",
        ),
    ] {
        let out = on_lab("escrow", &lab)
            .args(args)
            .arg("--json")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {out:?}"));
        assert_eq!(doc["ok"], false);
        assert_eq!(doc["exit_code"], code);
        assert_eq!(doc["version"], 1);
        let message = doc["error"].as_str().unwrap();
        assert!(message.contains(expect), "{args:?}: {message}");
        let err = String::from_utf8(out.stderr).unwrap();
        if code == 1 {
            // The same message as the one line on standard error.
            assert_eq!(err, format!("escrow: {message}\n"));
        } else {
            // clap's message, whose first line the document carries.
            assert_eq!(err.lines().next(), Some(message), "{err}");
        }
        // Without --json: nothing on standard output.
        let plain = output("escrow", &lab, args);
        assert_eq!(plain.status.code(), Some(code));
        assert!(plain.stdout.is_empty(), "{args:?}: {plain:?}");
        assert!(!lab.exists(), "{args:?} made the lab");
    }
    // --json after `--` is an argument, not the option.
    assert!(!escrow::encoding::args_want_json(
        ["escrow", "x", "--", "--json"].map(std::ffi::OsString::from)
    ));
}

#[test]
fn text_output_counts_in_the_right_number_and_aligns() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    let text = ok_in(
        "escrow",
        &lab,
        &[
            "setup",
            "--authorities",
            "a,oversight-board,c",
            "--threshold",
            "2",
            "--at",
            "2026-11-20T10:00:00Z",
        ],
    );
    assert!(
        text.contains("2 of 3 authorities together release a key; one alone learns nothing"),
        "{text}"
    );
    assert!(
        text.contains(
            "a warrant spans at most 31 days (whole epochs) and names at most 10 targets"
        ),
        "{text}"
    );
    // The authorities' columns line up, whatever the length of the names.
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("    #")).collect();
    assert_eq!(rows.len(), 3, "{text}");
    let col = |l: &str| l.find("public key share").unwrap();
    assert!(rows.iter().all(|r| col(r) == col(rows[0])), "{text}");
    let log = ok_in("escrow", &lab, &["log", "show"]);
    assert!(log.contains("— 1 entry, root"), "{log}");
    assert!(
        log.contains("generation 1: 2 of 3 (a, oversight-board, c)"),
        "{log}"
    );
    // One warning, naming every plain share, on one line.
    let info = output("escrow", &lab, &["info"]);
    assert_eq!(
        String::from_utf8(info.stderr).unwrap(),
        "escrow: warning: 3 share files stored without a passphrase (a, oversight-board, c); \
         seal each with `escrow seal --as A --passphrase-env VAR`\n"
    );
    ok_in(
        "escrow",
        &lab,
        &["seal", "--as", "a", "--passphrase-env", "HOME"],
    );
    ok_in(
        "escrow",
        &lab,
        &["seal", "--as", "c", "--passphrase-env", "HOME"],
    );
    let info = output("escrow", &lab, &["info"]);
    assert!(
        String::from_utf8_lossy(&info.stderr).contains(
            "warning: 1 share file stored without a passphrase (oversight-board); seal it"
        ),
        "{info:?}"
    );
    // A rotation: the older generation's validity ends where the newer one takes over.
    let rot = ok_in(
        "escrow",
        &lab,
        &[
            "rotate",
            "--at",
            "2026-11-20T11:00:00Z",
            "--passphrase-env",
            "HOME",
        ],
    );
    assert!(
        rot.contains("Rotated to generation 2, logged as generation-created:")
            && rot.contains("older generations stay until their authorities retire them"),
        "{rot}"
    );
    let info = ok_in("escrow", &lab, &["info"]);
    assert!(
        info.contains("valid:          from the beginning until 2026-11-21T00:00:00Z (generation 2 takes over)"),
        "{info}"
    );
    assert!(info.contains("\n\nGeneration 2 of realm"), "{info}");
    let out = ok_in(
        "escrow",
        &lab,
        &[
            "retire",
            "--as",
            "a",
            "--generation",
            "1",
            "--at",
            "2026-11-20T12:00:00Z",
        ],
    );
    assert!(out.contains("(1 of 3 authorities has retired it)"), "{out}");
    let out = ok_in(
        "escrow",
        &lab,
        &[
            "retire",
            "--as",
            "c",
            "--generation",
            "1",
            "--at",
            "2026-11-20T12:00:00Z",
        ],
    );
    assert!(
        out.contains("(2 of 3 authorities have retired it)")
            && out.contains("Fewer than 2 shares remain"),
        "{out}"
    );
    let out = ok_in(
        "escrow",
        &lab,
        &[
            "retire",
            "--as",
            "c",
            "--generation",
            "1",
            "--at",
            "2026-11-20T12:00:00Z",
        ],
    );
    assert!(
        out.contains("c had already retired generation 1: nothing new logged"),
        "{out}"
    );
    let info = ok_in("escrow", &lab, &["info", "--generation", "1"]);
    assert!(
        info.contains("retired by:     a, c (1 share remains: unrecoverable)"),
        "{info}"
    );
}
