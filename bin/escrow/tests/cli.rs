//! The `escrow` binary, run for real: success, every refusal, exit codes, file modes, and
//! files left unchanged by a refused command.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use escrow::PublicParams;
use escrow::lab::Lab;
use test_support::run::on_lab;
use test_support::{json, run, snapshot};

const FIVE: &str = "court,ministry,oversight,provider,ombudsman";

#[test]
fn setup_writes_parameters_and_private_shares() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    let out = on_lab("escrow", &lab)
        .args(["setup", "--authorities", FIVE, "--threshold", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("3 of 5 authorities"), "{text}");
    let params = Lab::new(&lab).load_params().unwrap();
    assert_eq!(params.threshold(), 3);
    assert_eq!(params.authorities().len(), 5);
    assert_eq!(params.epoch_length(), 86_400);
    for a in params.authorities() {
        let path = Lab::new(&lab).share_path(&a.name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
        let share = Lab::new(&lab).load_share(&params, &a.name).unwrap();
        assert_eq!(share.index(), a.index);
        // The secret is in the file, never on stdout.
        let file = json::read(&path);
        assert!(!text.contains(file["secret_share"].as_str().unwrap()));
    }
    // No staging or temporary files left behind.
    let names: Vec<String> = snapshot::with_modes(&lab).into_keys().collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains(".setup-") && !n.ends_with(".tmp")),
        "{names:?}"
    );
}

#[test]
fn setup_with_a_dkg_makes_a_working_generation_and_publishes_the_transcript() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    let out = on_lab("escrow", &lab)
        .args(["setup", "--authorities", FIVE, "--threshold", "3", "--dkg"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("5 of 5 dealers qualified"), "{text}");
    // It says plainly that it is a simulation in which one process saw every share.
    assert!(
        text.contains("SIMULATION") && text.contains("saw every share"),
        "{text}"
    );
    assert!(!text.contains("no one held"), "{text}");
    let l = Lab::new(&lab);
    let params = l.load_params().unwrap();
    assert_eq!(params.setup(), escrow::params::SetupKind::SimulatedDkg);
    // The transcript lets anyone recompute the key, from the public files alone.
    let v = on_lab("escrow", &lab)
        .args(["dkg", "verify"])
        .output()
        .unwrap();
    assert!(v.status.success(), "{v:?}");
    let vt = String::from_utf8(v.stdout).unwrap();
    assert!(
        vt.contains("5 of 5 dealers qualified") && vt.contains("params.json is this key"),
        "{vt}"
    );
    let q = escrow::dkg::board::verify(&l).unwrap().qualified;
    assert_eq!(q.params.master_public_key(), params.master_public_key());
    // Shares load and combine like a dealer's.
    let id = params.identity("alice", 3).unwrap();
    let shares: Vec<escrow::KeyShare> = params.authorities()[2..]
        .iter()
        .map(|a| {
            l.load_share(&params, &a.name)
                .unwrap()
                .release_identity_key_share(&params, &id)
                .unwrap()
        })
        .collect();
    escrow::combine_identity_key(&params, &id, &shares).unwrap();
    let info = on_lab("escrow", &lab).arg("info").output().unwrap();
    let info = String::from_utf8(info.stdout).unwrap();
    assert!(
        info.contains("simulated in one process (which saw every share)"),
        "{info}"
    );
}

#[test]
fn a_dkg_step_by_step_over_the_board() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    let run = |args: &[&str]| on_lab("escrow", &lab).args(args).output().unwrap();
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    ok(&["dkg", "start", "--authorities", "a,b,c", "--threshold", "2"]);
    // The starter made no key: nothing private exists until the authorities join.
    assert!(!lab.join("dkg/private").exists());
    let out = run(&["dkg", "deal", "--as", "a"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        run::one_line(&out).contains("a has not joined: run `escrow dkg join --as a` first"),
        "{out:?}"
    );
    for a in ["a", "b", "c"] {
        let text = ok(&["dkg", "join", "--as", a]);
        assert!(text.contains("fingerprint"), "{text}");
    }
    // A step before the previous one of every authority names who is missing, changes nothing.
    let snap = snapshot::with_modes(&lab);
    let out = run(&["dkg", "respond", "--as", "a"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        run::one_line(&out).trim_end(),
        "escrow: DKG: waiting for the deal of 'a'"
    );
    assert_eq!(snapshot::with_modes(&lab), snap);
    let out = run(&["dkg", "deal", "--as", "zed"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(run::one_line(&out).contains("'zed' is not an authority"));
    for step in ["deal", "respond", "justify"] {
        for a in ["a", "b", "c"] {
            ok(&["dkg", step, "--as", a]);
        }
    }
    // Dealing twice makes nothing new: the deal already sent is republished, byte for byte.
    let deal_a = std::fs::read(lab.join("dkg/deal-a.json")).unwrap();
    std::fs::remove_file(lab.join("dkg/deal-a.json")).unwrap();
    ok(&["dkg", "deal", "--as", "a"]);
    assert_eq!(std::fs::read(lab.join("dkg/deal-a.json")).unwrap(), deal_a);
    // The keys and dealer secrets are the owner's only.
    let private = lab.join("dkg/private/a");
    for f in ["keys.json", "witness.key", "dealer.json"] {
        let mode = std::fs::metadata(private.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    assert!(!ok(&["dkg", "finish", "--as", "a"]).contains("installed"));
    assert!(!ok(&["dkg", "finish", "--as", "b"]).contains("installed"));
    let last = ok(&["dkg", "finish", "--as", "c"]);
    assert!(
        last.contains("3 of 3 dealers qualified") && last.contains("generation installed"),
        "{last}"
    );
    let l = Lab::new(&lab);
    let params = l.load_params().unwrap();
    assert_eq!(params.setup(), escrow::params::SetupKind::JointFeldmanDkg);
    let id = params.identity("alice", 1).unwrap();
    let ks: Vec<escrow::KeyShare> = ["a", "c"]
        .iter()
        .map(|a| {
            l.load_share(&params, a)
                .unwrap()
                .release_identity_key_share(&params, &id)
                .unwrap()
        })
        .collect();
    escrow::combine_identity_key(&params, &id, &ks).unwrap();
    // The DKG secrets are gone; the log holds generation-created; each authority's witness
    // key is the one it made at its join.
    assert!(!lab.join("dkg/private").exists());
    assert!(ok(&["log", "show"]).contains("generation-created"));
    assert!(ok(&["info"]).contains("one command each (no one held it if each"));
    let config = l.load_log_config().unwrap();
    for a in ["a", "b", "c"] {
        let join = json::read(&lab.join(format!("dkg/join-{a}.json")));
        let w = config.witnesses.iter().find(|w| w.authority == a).unwrap();
        assert_eq!(join["witness_key"].as_str().unwrap(), w.key);
    }
    let v = ok(&["dkg", "verify"]);
    assert!(v.contains("params.json is this key"), "{v}");
}

#[test]
fn refresh_and_retire_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    on_lab("escrow", &lab)
        .args(["setup", "--authorities", FIVE, "--threshold", "3"])
        .assert()
        .success();
    let l = Lab::new(&lab);
    let before = l.load_params().unwrap();
    let old_share = std::fs::read(l.share_path("court")).unwrap();
    let out = on_lab("escrow", &lab).arg("refresh").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    // A refresh is the resharing protocol to the same authorities, each from its own state.
    let names: Vec<&str> = FIVE.split(',').collect();
    for step in ["join", "deal", "respond", "justify", "finish"] {
        for a in &names {
            let out = on_lab("escrow", &lab)
                .args(["reshare", step, "--as", a])
                .output()
                .unwrap();
            assert!(out.status.success(), "{step} {a}: {out:?}");
        }
    }
    // Until n − k + 1 = 3 old shares are destroyed, the old sharing stays in force.
    for (i, a) in names[..3].iter().enumerate() {
        let out = on_lab("escrow", &lab)
            .args(["reshare", "revoke", "--as", a])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.contains("in force"), i == 2, "{text}");
    }
    assert!(!lab.join("reshare").exists());
    let after = l.load_params().unwrap();
    assert_eq!(after.master_public_key(), before.master_public_key());
    assert_ne!(std::fs::read(l.share_path("court")).unwrap(), old_share);
    for a in after.authorities() {
        l.load_share(&after, &a.name).unwrap();
    }
    // An old share file no longer loads.
    assert!(escrow::AuthorityShare::from_json(&old_share, &after).is_err());

    // Retire: wrong generation and unknown authority refused, nothing changed.
    let snap = snapshot::with_modes(&lab);
    let out = on_lab("escrow", &lab)
        .args(["retire", "--as", "court", "--generation", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        run::one_line(&out).contains("generation 2 does not exist in this lab (it holds 1)"),
        "{out:?}"
    );
    let out = on_lab("escrow", &lab)
        .args(["retire", "--as", "nobody"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(run::one_line(&out).contains("'nobody' is not an authority"));
    assert_eq!(snapshot::with_modes(&lab), snap);
    for (i, a) in ["court", "ministry", "oversight"].iter().enumerate() {
        let out = on_lab("escrow", &lab)
            .args(["retire", "--as", a])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(&match i {
                0 => "(1 of 5 authorities has retired it)".to_owned(),
                _ => format!("({} of 5 authorities have retired it)", i + 1),
            }),
            "{text}"
        );
        assert_eq!(text.contains("can no longer be opened"), i == 2, "{text}");
        assert!(!l.share_path(a).exists());
    }
}

#[test]
fn setup_options_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    let out = on_lab("escrow", &lab)
        .args([
            "setup",
            "--authorities",
            "a,b,c",
            "--threshold",
            "2",
            "--json",
        ])
        .args(["--epoch-length", "12h", "--realm", "test.realm"])
        .args(["--at", "2026-11-27T10:00:00+02:00"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["params"]["threshold"], 2);
    assert_eq!(doc["params"]["realm"], "test.realm");
    assert_eq!(doc["params"]["epoch_length_secs"], 43_200);
    assert_eq!(doc["params"]["created_at"], "2026-11-27T08:00:00Z");
    assert_eq!(doc["share_files"].as_array().unwrap().len(), 3);
    let info = on_lab("escrow", &lab)
        .args(["info", "--json"])
        .output()
        .unwrap();
    assert!(info.status.success());
    let p = PublicParams::from_json(&info.stdout).unwrap();
    assert_eq!(p.realm(), "test.realm");
    let text = on_lab("escrow", &lab).arg("info").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("2 of 3") && text.contains("12h"), "{text}");
}

#[test]
fn refusals_exit_1_with_one_line_and_touch_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    on_lab("escrow", &lab)
        .args(["setup", "--authorities", FIVE, "--threshold", "3"])
        .assert()
        .success();
    let fresh = tmp.path().join("fresh");
    let mut cases: Vec<(&Path, Vec<&str>, &str)> = vec![
        (
            &lab,
            vec!["--authorities", "x,y", "--threshold", "1"],
            "already holds",
        ),
        (
            &fresh,
            vec!["--authorities", "a,b", "--threshold", "3"],
            "threshold 3",
        ),
        (
            &fresh,
            vec!["--authorities", "a,b", "--threshold", "0"],
            "threshold 0",
        ),
        (
            &fresh,
            vec!["--authorities", "a,b,a", "--threshold", "2"],
            "more than once",
        ),
        (
            &fresh,
            vec!["--authorities", "a,,b", "--threshold", "2"],
            "invalid authority name",
        ),
        (
            &fresh,
            vec!["--authorities", "a,B", "--threshold", "2"],
            "invalid authority name",
        ),
        (
            &fresh,
            vec!["--authorities", "solo", "--threshold", "1"],
            "between 2 and 64",
        ),
        (
            &fresh,
            vec![
                "--authorities",
                "a,b",
                "--threshold",
                "1",
                "--epoch-length",
                "0d",
            ],
            "epoch length",
        ),
        (
            &fresh,
            vec![
                "--authorities",
                "a,b",
                "--threshold",
                "1",
                "--realm",
                "Bad Realm",
            ],
            "realm",
        ),
        (
            &fresh,
            vec![
                "--authorities",
                "a,b",
                "--threshold",
                "1",
                "--at",
                "yesterday",
            ],
            "RFC 3339",
        ),
    ];
    cases.push((
        &fresh,
        vec!["--authorities", "..,court,.", "--threshold", "2"],
        "invalid authority name",
    ));
    cases.push((
        &fresh,
        vec![
            "--authorities",
            "a,b",
            "--threshold",
            "1",
            "--epoch-length",
            "1é",
        ],
        "epoch length",
    ));
    let many: String = (0..65)
        .map(|i| format!("a{i}"))
        .collect::<Vec<_>>()
        .join(",");
    cases.push((
        &fresh,
        vec!["--authorities", &many, "--threshold", "3"],
        "between 2 and 64",
    ));
    for (dir, args, expect) in cases {
        let before = snapshot::with_modes(&lab);
        let out = on_lab("escrow", dir)
            .arg("setup")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let line = run::one_line(&out);
        assert!(
            line.starts_with("escrow: ") && line.contains(expect),
            "{args:?}: {line}"
        );
        assert_eq!(
            before,
            snapshot::with_modes(&lab),
            "{args:?} changed the lab"
        );
        assert!(!fresh.exists(), "{args:?} created the fresh lab");
    }
}

#[test]
fn a_leftover_authorities_folder_also_blocks_setup() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    std::fs::create_dir_all(lab.join("authorities/court")).unwrap();
    std::fs::write(lab.join("authorities/court/share.json"), b"precious").unwrap();
    let before = snapshot::with_modes(&lab);
    let out = on_lab("escrow", &lab)
        .args(["setup", "--authorities", FIVE, "--threshold", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(run::one_line(&out).contains("already holds"));
    assert_eq!(before, snapshot::with_modes(&lab));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    for args in [
        vec!["setup", "--authorities", "a,b"],
        vec!["setup", "--threshold", "x", "--authorities", "a,b"],
        vec!["frobnicate"],
        vec![],
    ] {
        let out = on_lab("escrow", &lab).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!lab.exists());
    }
    let help = on_lab("escrow", &lab).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8(help.stdout).unwrap().contains("setup"));
}

#[test]
fn info_reports_missing_and_corrupt_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    let out = on_lab("escrow", &lab).arg("info").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(run::one_line(&out).contains("run 'escrow setup' first"));

    on_lab("escrow", &lab)
        .args(["setup", "--authorities", "a,b,c", "--threshold", "2"])
        .assert()
        .success();
    let path = lab.join("params.json");
    let good = std::fs::read(&path).unwrap();
    let corruptions: Vec<(Vec<u8>, &str)> = vec![
        (good[..good.len() - 40].to_vec(), "malformed JSON"),
        (
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("\"version\": 1", "\"version\": 9", 1)
                .into_bytes(),
            "unsupported version 9",
        ),
        (
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("\"threshold\": 2", "\"threshold\": 1", 1)
                .into_bytes(),
            "inconsistent parameters",
        ),
        (vec![0xff; 10], "malformed JSON"),
        (vec![b' '; 2 << 20], "too large"),
    ];
    for (bytes, expect) in corruptions {
        std::fs::write(&path, &bytes).unwrap();
        let out = on_lab("escrow", &lab).arg("info").output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{expect}");
        let line = run::one_line(&out);
        assert!(
            line.contains(expect) && line.contains("params.json"),
            "{line}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
}

#[test]
fn log_show_prove_and_cosign() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    on_lab("escrow", &lab)
        .args(["setup", "--authorities", "a,b,c", "--threshold", "2"])
        .assert()
        .success();
    let show = on_lab("escrow", &lab)
        .args(["log", "show", "--json"])
        .output()
        .unwrap();
    assert!(show.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(doc["size"], 1);
    assert_eq!(doc["entries"][0]["type"], "generation-created");
    assert_eq!(doc["entries"][0]["threshold"], 2);

    // An offline proof bundle checks with log.json alone.
    let out = on_lab("escrow", &lab)
        .args(["log", "prove", "--index", "0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let bundle = escrow::transparency::proof::ProofBundle::from_json(&out.stdout).unwrap();
    let config = Lab::new(&lab).load_log_config().unwrap();
    bundle.verify(&config).unwrap();
    let before = snapshot::with_modes(&lab);
    let bad = on_lab("escrow", &lab)
        .args(["log", "prove", "--index", "5"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(run::one_line(&bad).contains("not in the log"));
    assert_eq!(before, snapshot::with_modes(&lab));

    let c = on_lab("escrow", &lab)
        .args(["log", "cosign", "--as", "b"])
        .output()
        .unwrap();
    assert!(c.status.success(), "{c:?}");
    assert!(
        String::from_utf8(c.stdout)
            .unwrap()
            .contains("b cosigned checkpoint 1/")
    );
    let state = std::fs::read(lab.join("authorities/b/witness.json")).unwrap();
    assert!(String::from_utf8(state).unwrap().contains("\"last\""));
    let note = on_lab("escrow", &lab)
        .args(["log", "show"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(note.stdout)
            .unwrap()
            .contains("/witness/b ")
    );
    for (args, expect) in [
        (vec!["log", "cosign", "--as", "z"], "not an authority"),
        (vec!["log", "cosign", "--as", "B"], "not an authority"),
    ] {
        let before = snapshot::with_modes(&lab);
        let out = on_lab("escrow", &lab).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(run::one_line(&out).contains(expect), "{args:?}");
        assert_eq!(before, snapshot::with_modes(&lab));
    }
}

#[test]
fn rotate_on_a_schedule_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    let out = on_lab("escrow", &lab)
        .args([
            "setup",
            "--authorities",
            "court,ministry,oversight,provider",
        ])
        .args(["--threshold", "2", "--at", "2026-11-20T10:00:00Z"])
        .args(["--valid-days", "7"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let l = Lab::new(&lab);
    let g1 = l.load_params().unwrap();
    assert_eq!(
        g1.valid_from().map(|t| t.unix_timestamp()),
        Some(1_795_132_800)
    ); // 2026-11-20T00:00Z
    assert_eq!(
        g1.valid_until().map(|t| t.unix_timestamp()),
        Some(1_795_132_800 + 7 * 86_400)
    );

    // Refusals: each exits 1 with one line and changes nothing.
    let snap = snapshot::with_modes(&lab);
    for (args, expect) in [
        (
            vec!["--valid-from", "2026-11-27T12:00:00Z"],
            "must start on an epoch boundary",
        ),
        (
            vec![
                "--at",
                "2026-11-21T10:00:00Z",
                "--valid-from",
                "2026-11-21T00:00:00Z",
            ],
            "must start after the current epoch",
        ),
        (
            vec![
                "--at",
                "2026-11-21T10:00:00Z",
                "--valid-from",
                "2026-11-29T00:00:00Z",
            ],
            "would leave epochs without a generation",
        ),
        (
            vec![
                "--authorities",
                "court,stranger",
                "--at",
                "2026-11-21T10:00:00Z",
            ],
            "'stranger' is not an authority of this lab",
        ),
        (
            vec!["--threshold", "5", "--at", "2026-11-21T10:00:00Z"],
            "threshold",
        ),
        (
            vec!["--valid-days", "0", "--at", "2026-11-21T10:00:00Z"],
            "--valid-days must be at least 1",
        ),
    ] {
        let out = on_lab("escrow", &lab)
            .arg("rotate")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let line = run::one_line(&out);
        assert!(line.contains(expect), "{args:?}: {line}");
        assert_eq!(snapshot::with_modes(&lab), snap, "{args:?} changed the lab");
    }

    // The scheduled rotation: starts where generation 1 ends, lasts as long, 3 of 3 now.
    let out = on_lab("escrow", &lab)
        .args(["rotate", "--at", "2026-11-26T09:00:00Z", "--dkg"])
        .args([
            "--authorities",
            "court,ministry,oversight",
            "--threshold",
            "3",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Rotated to generation 2, logged as generation-created:")
            && text.contains("a joint-Feldman DKG simulated in one process"),
        "{text}"
    );
    assert!(
        text.contains("from 2026-11-27T00:00:00Z until 2026-12-04T00:00:00Z"),
        "{text}"
    );
    let gens = l.load_generations().unwrap();
    let g2 = gens.get(2).unwrap();
    assert_eq!(g2.threshold(), 3);
    assert_eq!(g2.authorities().len(), 3);
    for a in ["court", "ministry", "oversight"] {
        let path = l.share_path_of(a, 2);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        l.load_share(g2, a).unwrap();
    }
    assert!(!l.share_path_of("provider", 2).exists());
    // Generation 1's files are untouched.
    for (name, before) in &snap {
        if name.starts_with("authorities/") && name.ends_with("share.json") {
            assert_eq!(&snapshot::with_modes(&lab)[name], before);
        }
    }
    let info = on_lab("escrow", &lab).arg("info").output().unwrap();
    let info = String::from_utf8(info.stdout).unwrap();
    assert!(
        info.contains("Generation 1 of realm") && info.contains("Generation 2 of realm"),
        "{info}"
    );
    let json = on_lab("escrow", &lab)
        .args(["info", "--json", "--generation", "1"])
        .output()
        .unwrap();
    assert_eq!(
        PublicParams::from_json(&json.stdout).unwrap().generation(),
        1
    );
    let out = on_lab("escrow", &lab)
        .args(["info", "--generation", "9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        run::one_line(&out).contains("generation 9 does not exist in this lab (it holds 1, 2)")
    );

    // With two generations, retire must be told which.
    let snap2 = snapshot::with_modes(&lab);
    let out = on_lab("escrow", &lab)
        .args(["retire", "--as", "court"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(run::one_line(&out).contains("name the one to retire with --generation N"));
    assert_eq!(snapshot::with_modes(&lab), snap2);
    // Retiring generation 1 leaves generation 2 alone.
    let out = on_lab("escrow", &lab)
        .args(["retire", "--as", "court", "--generation", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!l.share_path_of("court", 1).exists());
    assert!(l.share_path_of("court", 2).exists());
    // Refreshing generation 2 keeps its key and leaves generation 1's files alone.
    let before = l.load_generation(2).unwrap();
    let g1_ministry = std::fs::read(l.share_path_of("ministry", 1)).unwrap();
    let out = on_lab("escrow", &lab)
        .args(["refresh", "--generation", "2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let after = l.load_generation(2).unwrap();
    assert_eq!(after.master_public_key(), before.master_public_key());
    assert_eq!(after.valid_until(), before.valid_until());
    assert_eq!(
        std::fs::read(l.share_path_of("ministry", 1)).unwrap(),
        g1_ministry
    );
    let log = on_lab("escrow", &lab)
        .args(["log", "show"])
        .output()
        .unwrap();
    let log = String::from_utf8(log.stdout).unwrap();
    assert!(log.contains("generation 2: 3 of 3"), "{log}");
}

#[test]
fn sealed_shares_need_their_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    let out = on_lab("escrow", &lab)
        .env("SHARE_PASS", "correct horse battery staple")
        .args([
            "setup",
            "--authorities",
            "court,ministry,oversight",
            "--threshold",
            "2",
            "--passphrase-env",
            "SHARE_PASS",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let l = Lab::new(&lab);
    for a in ["court", "ministry", "oversight"] {
        let bytes = std::fs::read(l.share_path(a)).unwrap();
        assert!(escrow::sealed::is_sealed(&bytes), "{a}");
    }
    let info = on_lab("escrow", &lab).arg("info").output().unwrap();
    assert!(info.status.success() && info.stderr.is_empty(), "{info:?}");

    // Only the steps that read or write a share take the passphrase.
    let pass = |args: &[&str], secret: &str| {
        on_lab("escrow", &lab)
            .env("SHARE_PASS", secret)
            .args(args)
            .args(["--passphrase-env", "SHARE_PASS"])
            .output()
            .unwrap()
    };
    let plain = |args: &[&str]| {
        on_lab("escrow", &lab)
            .args(args)
            .write_stdin("")
            .output()
            .unwrap()
    };
    let good = "correct horse battery staple";
    for args in [
        &["refresh"][..],
        &["info"],
        &["reshare", "revoke", "--as", "court"],
    ] {
        let out = pass(args, good);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("unexpected argument '--passphrase-env'"),
            "{out:?}"
        );
    }
    let out = plain(&["refresh"]);
    assert!(out.status.success(), "{out:?}");
    let all = ["court", "ministry", "oversight"];
    for a in all {
        assert!(plain(&["reshare", "join", "--as", a]).status.success());
    }
    // Without the passphrase, a sealed share cannot be read to deal it.
    let out = plain(&["reshare", "deal", "--as", "court"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        run::one_line(&out).contains("is sealed with a passphrase: pass --passphrase-env VAR"),
        "{out:?}"
    );
    // A dealer with the wrong passphrase cannot open its share: refused, nothing dealt.
    let out = pass(&["reshare", "deal", "--as", "court"], "wrong");
    assert_eq!(out.status.code(), Some(1));
    assert!(run::one_line(&out).contains("wrong passphrase"), "{out:?}");
    assert!(!lab.join("reshare/deal-court.json").exists());
    for step in ["deal", "respond", "justify", "finish", "revoke"] {
        // n − k + 1 = 2 revocations put the new sharing in force.
        let who = if step == "revoke" {
            &all[..2]
        } else {
            &all[..]
        };
        for a in who {
            if step == "finish" {
                // A new share is never written plain into a lab whose shares are sealed.
                let snap = snapshot::with_modes(&lab);
                let out = plain(&["reshare", step, "--as", a]);
                assert_eq!(out.status.code(), Some(1));
                assert!(
                    run::one_line(&out).contains("shares are sealed: pass --passphrase-env VAR"),
                    "{out:?}"
                );
                assert_eq!(snapshot::with_modes(&lab), snap);
            }
            let out = if matches!(step, "deal" | "finish") {
                pass(&["reshare", step, "--as", a], good)
            } else {
                plain(&["reshare", step, "--as", a])
            };
            assert!(out.status.success(), "{step} {a}: {out:?}");
        }
    }
    let late = plain(&["reshare", "revoke", "--as", "oversight"]);
    assert_eq!(late.status.code(), Some(1));
    assert!(
        run::one_line(&late).contains("no resharing is open"),
        "{late:?}"
    );
    let bytes = std::fs::read(l.share_path("court")).unwrap();
    assert!(escrow::sealed::is_sealed(&bytes));
    let sealed = Lab::new(&lab).with_passphrase(
        escrow::sealed::Passphrase::new("correct horse battery staple".into()).unwrap(),
    );
    sealed
        .load_share(&sealed.load_params().unwrap(), "court")
        .unwrap();
}

#[test]
fn plain_shares_are_warned_about_and_can_be_sealed() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    on_lab("escrow", &lab)
        .args([
            "setup",
            "--authorities",
            "court,ministry,oversight",
            "--threshold",
            "2",
        ])
        .assert()
        .success();
    let info = on_lab("escrow", &lab).arg("info").output().unwrap();
    assert!(info.status.success());
    assert!(
        run::one_line(&info).contains(
            "warning: 3 share files stored without a passphrase (court, ministry, oversight); \
             seal each with `escrow seal --as A --passphrase-env VAR`"
        ),
        "{info:?}"
    );
    let out = on_lab("escrow", &lab)
        .args(["seal", "--as", "court"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(run::one_line(&out).contains("needs the passphrase"));
    let seal = |who: &str| {
        on_lab("escrow", &lab)
            .env("P", "court's own passphrase")
            .args(["seal", "--as", who, "--passphrase-env", "P"])
            .output()
            .unwrap()
    };
    let out = seal("court");
    assert!(out.status.success(), "{out:?}");
    let l = Lab::new(&lab);
    assert!(escrow::sealed::is_sealed(
        &std::fs::read(l.share_path("court")).unwrap()
    ));
    assert!(!escrow::sealed::is_sealed(
        &std::fs::read(l.share_path("ministry")).unwrap()
    ));
    let out = seal("court");
    assert_eq!(out.status.code(), Some(1));
    assert!(run::one_line(&out).contains("already sealed"));
    let info = on_lab("escrow", &lab).arg("info").output().unwrap();
    assert!(
        run::one_line(&info)
            .contains("warning: 2 share files stored without a passphrase (ministry, oversight)"),
        "{info:?}"
    );
}

#[test]
fn far_future_times_are_refused_not_panicked_on() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    for args in [
        vec!["--valid-from", "9999-12-30T00:00:00Z", "--valid-days", "5"],
        vec!["--at", "9999-12-31T23:00:00-05:00"],
        vec!["--valid-days", "0"],
        vec!["--valid-days", "18446744073709551615"],
    ] {
        let out = on_lab("escrow", &lab)
            .args(["setup", "--authorities", "a,b,c", "--threshold", "2"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        run::one_line(&out);
        assert!(!lab.exists(), "{args:?} left a lab");
    }
}

/// The terminal paths, through a pseudo-terminal (`script` from util-linux; skipped where it
/// is missing): `--passphrase-prompt` asks twice for new files and refuses two different
/// answers; without options a sealed share is asked for.
#[test]
fn passphrases_typed_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` to make a pseudo-terminal");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    let bin = run::path("escrow");
    let on_tty = |args: &str, typed: &str| {
        let mut child = std::process::Command::new("script")
            .args(["-q", "-e", "-c"])
            .arg(format!("{} --lab {} {args}", bin.display(), lab.display()))
            .arg("/dev/null")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(typed.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let setup = "setup --passphrase-prompt --authorities a,b,c --threshold 2";
    let out = on_tty(setup, "one\ntwo\n");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("the two passphrases differ"));
    assert!(!lab.exists());
    let out = on_tty(setup, "correct horse\ncorrect horse\n");
    assert!(out.status.success(), "{out:?}");
    let l = Lab::new(&lab);
    assert!(escrow::sealed::is_sealed(
        &std::fs::read(l.share_path("a")).unwrap()
    ));
    // No option: approving reads a sealed share, so it is asked for.
    let warrant = tmp.path().join("w.json");
    let auditor = |args: &[&str]| {
        let out = run::process_on_lab("auditor", &lab)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    // The auditor drafts warrants only for accounts the lab's relay knows.
    let out = run::process_on_lab("messenger", &lab)
        .args(["register", "--as", "alice"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let now = time::OffsetDateTime::now_utc();
    let day = |d: i64| {
        (now - time::Duration::days(d))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    auditor(&[
        "warrant",
        "new",
        "--reference",
        "W-1",
        "--target",
        "alice",
        "--from",
        &day(2),
        "--to",
        &day(1),
        "--issuer",
        "court",
        "--justification",
        "t",
        "--out",
        warrant.to_str().unwrap(),
    ]);
    auditor(&["warrant", "submit", warrant.to_str().unwrap()]);
    let approve = format!(
        "approve --as a --warrant {w} --receipt {w}.receipt.json",
        w = warrant.display()
    );
    let out = on_tty(
        &approve,
        "wrong guess
",
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrong passphrase"));
    let out = on_tty(
        &approve,
        "correct horse
",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("a approved warrant W-1"));
    let sealed = Lab::new(&lab)
        .with_passphrase(escrow::sealed::Passphrase::new("correct horse".into()).unwrap());
    sealed
        .load_share(&sealed.load_params().unwrap(), "b")
        .unwrap();
}

/// Standard output closed by its reader (`escrow … | head -1`): the tool stops quietly with
/// success, not an error line the user did not cause.
#[test]
fn a_closed_pipe_is_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    on_lab("escrow", &lab)
        .args(["setup", "--authorities", FIVE, "--threshold", "3"])
        .assert()
        .success();
    let mut child = run::process_on_lab("escrow", &lab)
        .arg("info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("Broken pipe") && !err.contains("escrow: error"),
        "{err}"
    );
}

#[test]
fn the_log_and_witness_services_refuse_bad_options_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    test_support::lab::set_up(
        &lab,
        &test_support::lab::THREE,
        2,
        test_support::clock::SET_UP,
        &[],
    );
    let serve = |extra: &[&str]| {
        let mut args = vec!["log", "serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        args.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<String>>()
    };
    for (args, expect) in [
        (serve(&["--witness", "court"]), "expected AUTHORITY=URL"),
        (
            serve(&["--witness", "=http://127.0.0.1:9"]),
            "expected AUTHORITY=URL",
        ),
        (serve(&["--witness", "nobody=http://127.0.0.1:9"]), "nobody"),
        (
            vec![
                "log".into(),
                "serve".into(),
                "--listen".into(),
                "not-an-address".into(),
            ],
            "not-an-address",
        ),
        (
            [
                "witness",
                "serve",
                "--as",
                "nobody",
                "--listen",
                "127.0.0.1:0",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            "nobody",
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run::refused_unchanged("escrow", &lab, &args, expect);
    }
}

/// Outside review (2026-12, rt18): an emptied log database let `retire` destroy a share and
/// start a new log of its own. A lab's log is never empty: the command is refused, the share
/// kept, and the empty file left as it was (no schema written into it).
#[test]
fn an_emptied_log_is_refused_before_any_share_is_destroyed() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = court_ministry_oversight(&tmp, 2);
    let db = Lab::new(&lab).log_db_path();
    remove_database(&db);
    std::fs::write(&db, b"").unwrap();
    let err = run::refused_unchanged("escrow", &lab, &["retire", "--as", "court"], "empty");
    assert!(err.contains("log.sqlite"), "{err}");
    assert!(Lab::new(&lab).share_path("court").exists());
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
}

/// Outside review (2026-12, rt18): a log rolled back to an older copy let `retire` destroy a
/// share on its word. The authority's witness accepted a newer checkpoint: refused first.
#[test]
fn a_rolled_back_log_is_refused_before_any_share_is_destroyed() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = court_ministry_oversight(&tmp, 2);
    let l = Lab::new(&lab);
    let db = l.log_db_path();
    let copy = |from: &Path, to: &Path| {
        for side in ["", "-wal", "-shm"] {
            let f = std::path::PathBuf::from(format!("{}{side}", from.display()));
            let t = std::path::PathBuf::from(format!("{}{side}", to.display()));
            let _ = std::fs::remove_file(&t);
            if f.exists() {
                std::fs::copy(&f, &t).unwrap();
            }
        }
    };
    let old = tmp.path().join("old.sqlite");
    copy(&db, &old);
    run::ok_in("escrow", &lab, &["retire", "--as", "ministry"]);
    run::ok_in("escrow", &lab, &["log", "cosign", "--as", "court"]);
    copy(&old, &db);
    let err = run::refused_unchanged("escrow", &lab, &["retire", "--as", "court"], "");
    assert!(err.contains("court"), "{err}");
    assert!(l.share_path("court").exists());
}

/// Outside review (2026-12, rt18): a kill during a share write can leave its temporary file
/// (`.share.json.new.<pid>.tmp`, a full copy of the new share) beside the share; `retire` then
/// said the share was destroyed while that copy stayed. Recovery destroys such leftovers
/// before anything else runs.
#[test]
fn retire_destroys_the_leftover_temporary_copy_of_a_share() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = court_ministry_oversight(&tmp, 2);
    let l = Lab::new(&lab);
    let stray = l.authority_dir("court").join(".share.json.new.4242.tmp");
    std::fs::copy(l.share_path("court"), &stray).unwrap();
    run::ok_in("escrow", &lab, &["retire", "--as", "court"]);
    assert!(!l.share_path("court").exists());
    assert!(
        !stray.exists(),
        "the temporary copy of the share outlived the retirement"
    );
}

/// Outside review (2026-12, rt18): a deleted log database was reported as a lab never set up,
/// and `rotate` with an unknown authority reported the threshold instead of the name.
#[test]
fn a_missing_log_and_an_unknown_rotation_authority_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = court_ministry_oversight(&tmp, 3);
    let err = run::refused_unchanged(
        "escrow",
        &lab,
        &["rotate", "--authorities", "court,nobody"],
        "'nobody' is not an authority of this lab",
    );
    assert!(!err.contains("threshold"), "{err}");
    let db = Lab::new(&lab).log_db_path();
    remove_database(&db);
    run::refused_unchanged(
        "escrow",
        &lab,
        &["retire", "--as", "court"],
        "the transparency log is missing",
    );
    assert!(!db.exists());
}

/// A lab of court, ministry and oversight, `k` of them needed, set up by the binary in `tmp`.
fn court_ministry_oversight(tmp: &tempfile::TempDir, k: usize) -> std::path::PathBuf {
    let lab = tmp.path().join("lab");
    run::ok_in(
        "escrow",
        &lab,
        &[
            "setup",
            "--authorities",
            "court,ministry,oversight",
            "--threshold",
            &k.to_string(),
        ],
    );
    lab
}

/// Removes a SQLite database and its `-wal` and `-shm` files.
fn remove_database(db: &Path) {
    for side in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", db.display()));
    }
}
