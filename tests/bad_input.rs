//! The bad-input catalogue (docs/bad-input.md), run: every row feeds one kind of bad input to
//! the real binary and checks the exit code, the one error line, and that no file of the lab
//! changed (every file's bytes hashed before and after).
//!
//! docs/bad-input.md is generated from this table and the lines the binaries printed; the test
//! fails if the page is not current. Regenerate it with
//! `ESCROW_LAB_BLESS=1 cargo test --test bad_input`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use test_support::clock::{self, DAY, HOUR, rfc3339 as rfc};
use test_support::json::edit_pretty as json_edit;
use test_support::snapshot;

/// 2026-11-25T10:00:00Z.
const T0: i64 = clock::NOV_25 + 10 * HOUR;

fn run(tool: &str, dir: &Path, args: &[String]) -> std::process::Output {
    test_support::run::process(tool)
        .current_dir(dir)
        .args(args)
        .env_remove("SHARE_PASS")
        .output()
        .unwrap()
}

fn ok(tool: &str, dir: &Path, args: &[&str]) {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let out = run(tool, dir, &args);
    assert!(out.status.success(), "{tool} {args:?}: {out:?}");
}

/// The template: in `dir`, a lab `lab/` (court, ministry, oversight, 2 of 3), alice and bob
/// with two messages, warrant `w.json` (alice, day 0) logged with `w.json.receipt.json`,
/// approvals of court and ministry, and alice's capture `capture.json`.
fn template() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let at = |t: i64| rfc(t);
        ok(
            "escrow",
            d,
            &[
                "--lab",
                "lab",
                "setup",
                "--authorities",
                "court,ministry,oversight",
                "--threshold",
                "2",
                "--at",
                "2026-11-20T00:00:00Z",
            ],
        );
        for a in ["alice", "bob"] {
            ok(
                "messenger",
                d,
                &["--lab", "lab", "register", "--as", a, "--at", &at(T0 - DAY)],
            );
        }
        ok(
            "messenger",
            d,
            &[
                "--lab",
                "lab",
                "send",
                "--as",
                "alice",
                "--recipient",
                "bob",
                "--at",
                &at(T0),
                "hi",
            ],
        );
        ok(
            "messenger",
            d,
            &["--lab", "lab", "read", "--as", "bob", "--at", &at(T0 + 60)],
        );
        ok(
            "auditor",
            d,
            &[
                "--lab",
                "lab",
                "warrant",
                "new",
                "--reference",
                "W-1",
                "--target",
                "alice",
                "--from",
                &at(T0 - 36_000),
                "--to",
                &at(T0 + 50_400),
                "--issuer",
                "court",
                "--justification",
                "test",
                "--at",
                &at(T0 + DAY),
                "--expires",
                &at(T0 + 8 * DAY),
                "--out",
                "w.json",
            ],
        );
        ok(
            "auditor",
            d,
            &[
                "--lab",
                "lab",
                "warrant",
                "submit",
                "w.json",
                "--at",
                &at(T0 + DAY),
            ],
        );
        for a in ["court", "ministry"] {
            ok(
                "escrow",
                d,
                &[
                    "--lab",
                    "lab",
                    "approve",
                    "--as",
                    a,
                    "--warrant",
                    "w.json",
                    "--receipt",
                    "w.json.receipt.json",
                    "--at",
                    &at(T0 + DAY + 60),
                ],
            );
        }
        ok(
            "messenger",
            d,
            &[
                "--lab",
                "lab",
                "intercept",
                "--target",
                "alice",
                "--from",
                &at(T0 - 36_000),
                "--to",
                &at(T0 + 50_400),
                "--out",
                "capture.json",
                "--at",
                &at(T0 + DAY),
            ],
        );
        tmp
    })
    .path()
}

/// A fresh copy of the template.
fn case_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", template().display()))
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    tmp
}

type Prepare = fn(&Path);

struct Row {
    tool: &'static str,
    /// The kind of bad input.
    what: &'static str,
    prepare: Prepare,
    args: &'static [&'static str],
    code: i32,
    /// A part of the error line that names the problem.
    expect: &'static str,
}

fn truncate(path: &Path) {
    let b = std::fs::read(path).unwrap();
    std::fs::write(path, &b[..b.len() / 2]).unwrap();
}

fn version_2(path: &Path) {
    json_edit(path, |v| v["version"] = 2.into());
}

fn not_utf8(path: &Path) {
    std::fs::write(path, b"{\"version\": 1, \"\xff\xfe\": 1}").unwrap();
}

fn oversized(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    b.extend(std::iter::repeat_n(b' ', 64 << 20));
    std::fs::write(path, b).unwrap();
}

fn into_symlink(path: &Path) {
    let copy = path.with_extension("copy");
    std::fs::rename(path, &copy).unwrap();
    std::os::unix::fs::symlink(copy.file_name().unwrap(), path).unwrap();
}

fn into_dir(path: &Path) {
    std::fs::remove_file(path).unwrap();
    std::fs::create_dir(path).unwrap();
}

fn params(d: &Path) -> PathBuf {
    d.join("lab/params.json")
}

fn share(d: &Path) -> PathBuf {
    d.join("lab/authorities/oversight/share.json")
}

fn g1_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

const APPROVE: &[&str] = &[
    "--lab",
    "lab",
    "approve",
    "--as",
    "oversight",
    "--warrant",
    "w.json",
    "--receipt",
    "w.json.receipt.json",
    "--at",
    "2026-11-26T10:02:00Z",
    "--out",
    "new-approval.json",
];

const EXECUTE: &[&str] = &[
    "--lab",
    "lab",
    "execute",
    "--warrant",
    "w.json",
    "--approval",
    "w.json.court.approval.json",
    "--approval",
    "w.json.ministry.approval.json",
    "--capture",
    "capture.json",
    "--at",
    "2026-11-26T11:00:00Z",
];

const SEND: &[&str] = &[
    "--lab",
    "lab",
    "send",
    "--as",
    "alice",
    "--recipient",
    "bob",
    "--at",
    "2026-11-25T11:00:00Z",
    "again",
];

fn nothing(_: &Path) {}

fn rows() -> Vec<Row> {
    vec![
        // escrow: the parameters
        Row {
            tool: "escrow",
            what: "params.json missing",
            prepare: |d| std::fs::remove_file(params(d)).unwrap(),
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "no escrow parameters here",
        },
        Row {
            tool: "escrow",
            what: "params.json truncated",
            prepare: |d| truncate(&params(d)),
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "malformed JSON",
        },
        Row {
            tool: "escrow",
            what: "params.json of version 2",
            prepare: |d| version_2(&params(d)),
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "unsupported version 2",
        },
        Row {
            tool: "escrow",
            what: "params.json not UTF-8",
            prepare: |d| not_utf8(&params(d)),
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "malformed JSON",
        },
        Row {
            tool: "escrow",
            what: "params.json of 64 MiB",
            prepare: |d| oversized(&params(d)),
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "file too large",
        },
        Row {
            tool: "escrow",
            what: "params.json a directory",
            prepare: |d| into_dir(&params(d)),
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "is a directory",
        },
        Row {
            tool: "escrow",
            what: "params.json a symbolic link",
            prepare: |d| into_symlink(&params(d)),
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "is a symbolic link",
        },
        Row {
            tool: "escrow",
            what: "master key not on the curve",
            prepare: |d| {
                json_edit(&params(d), |v| {
                    let mut b = [0u8; 48];
                    b[0] = 0x80;
                    b[47] = 7;
                    v["master_public_key"] = g1_hex(&b).into();
                })
            },
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "not a point of the curve",
        },
        Row {
            tool: "escrow",
            what: "master key outside the subgroup",
            prepare: |d| {
                json_edit(&params(d), |v| {
                    v["master_public_key"] = g1_hex(&escrow::hazmat::g1_not_in_subgroup()).into()
                })
            },
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "not in the prime-order subgroup",
        },
        Row {
            tool: "escrow",
            what: "master key the identity point",
            prepare: |d| {
                json_edit(&params(d), |v| {
                    let mut b = [0u8; 48];
                    b[0] = 0xc0;
                    v["master_public_key"] = g1_hex(&b).into();
                })
            },
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "the identity point",
        },
        Row {
            tool: "escrow",
            what: "a key share that does not match the commitment",
            prepare: |d| {
                json_edit(&params(d), |v| {
                    let k = v["authorities"][0]["public_key_share"].clone();
                    v["authorities"][1]["public_key_share"] = k;
                })
            },
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "does not match the commitment",
        },
        Row {
            tool: "escrow",
            what: "a duplicate authority index",
            prepare: |d| json_edit(&params(d), |v| v["authorities"][1]["index"] = 0.into()),
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "distinct",
        },
        Row {
            tool: "escrow",
            what: "an unknown field",
            prepare: |d| json_edit(&params(d), |v| v["extra"] = 1.into()),
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "unknown field",
        },
        Row {
            tool: "escrow",
            what: "validity not on an epoch boundary",
            prepare: |d| {
                json_edit(&params(d), |v| {
                    v["valid_from"] = "2026-11-20T12:00:00Z".into()
                })
            },
            args: &["--lab", "lab", "info"],
            code: 1,
            expect: "epoch boundaries",
        },
        Row {
            tool: "escrow",
            what: "an unknown generation",
            prepare: nothing,
            args: &["--lab", "lab", "info", "--generation", "9"],
            code: 1,
            expect: "generation 9 does not exist",
        },
        // escrow setup
        Row {
            tool: "escrow",
            what: "k > n",
            prepare: nothing,
            args: &[
                "--lab",
                "new",
                "setup",
                "--authorities",
                "a,b",
                "--threshold",
                "3",
            ],
            code: 1,
            expect: "threshold 3",
        },
        Row {
            tool: "escrow",
            what: "a repeated authority",
            prepare: nothing,
            args: &[
                "--lab",
                "new",
                "setup",
                "--authorities",
                "a,b,a",
                "--threshold",
                "2",
            ],
            code: 1,
            expect: "appears more than once",
        },
        Row {
            tool: "escrow",
            what: "an authority name with a slash",
            prepare: nothing,
            args: &[
                "--lab",
                "new",
                "setup",
                "--authorities",
                "a,../b",
                "--threshold",
                "2",
            ],
            code: 1,
            expect: "invalid authority name",
        },
        Row {
            tool: "escrow",
            what: "a lab that holds a generation",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "setup",
                "--authorities",
                "a,b",
                "--threshold",
                "2",
            ],
            code: 1,
            expect: "already holds escrow parameters",
        },
        Row {
            tool: "escrow",
            what: "a time that is not RFC 3339",
            prepare: nothing,
            args: &[
                "--lab",
                "new",
                "setup",
                "--authorities",
                "a,b",
                "--threshold",
                "2",
                "--at",
                "yesterday",
            ],
            code: 1,
            expect: "not an RFC 3339 time",
        },
        Row {
            tool: "escrow",
            what: "a missing option (usage)",
            prepare: nothing,
            args: &["--lab", "new", "setup", "--authorities", "a,b"],
            code: 2,
            expect: "--threshold",
        },
        // escrow approve: the warrant
        Row {
            tool: "escrow",
            what: "an unknown authority",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "approve",
                "--as",
                "nobody",
                "--warrant",
                "w.json",
                "--receipt",
                "w.json.receipt.json",
            ],
            code: 1,
            expect: "'nobody' is not an authority",
        },
        Row {
            tool: "escrow",
            what: "warrant file missing",
            prepare: |d| std::fs::remove_file(d.join("w.json")).unwrap(),
            args: APPROVE,
            code: 1,
            expect: "no warrant at w.json: draft one with `auditor warrant new",
        },
        Row {
            tool: "escrow",
            what: "warrant truncated",
            prepare: |d| truncate(&d.join("w.json")),
            args: APPROVE,
            code: 1,
            expect: "malformed JSON",
        },
        Row {
            tool: "escrow",
            what: "warrant of version 2",
            prepare: |d| version_2(&d.join("w.json")),
            args: APPROVE,
            code: 1,
            expect: "unsupported version 2",
        },
        Row {
            tool: "escrow",
            what: "warrant not UTF-8",
            prepare: |d| not_utf8(&d.join("w.json")),
            args: APPROVE,
            code: 1,
            expect: "malformed JSON",
        },
        Row {
            tool: "escrow",
            what: "warrant of 64 MiB",
            prepare: |d| oversized(&d.join("w.json")),
            args: APPROVE,
            code: 1,
            expect: "file too large",
        },
        Row {
            tool: "escrow",
            what: "warrant a symbolic link",
            prepare: |d| into_symlink(&d.join("w.json")),
            args: APPROVE,
            code: 1,
            expect: "is a symbolic link",
        },
        Row {
            tool: "escrow",
            what: "warrant expired",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "approve",
                "--as",
                "oversight",
                "--warrant",
                "w.json",
                "--receipt",
                "w.json.receipt.json",
                "--at",
                "2026-12-09T00:00:00Z",
            ],
            code: 1,
            expect: "expired",
        },
        Row {
            tool: "escrow",
            what: "warrant in the future",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "approve",
                "--as",
                "oversight",
                "--warrant",
                "w.json",
                "--receipt",
                "w.json.receipt.json",
                "--at",
                "2026-11-24T00:00:00Z",
            ],
            code: 1,
            expect: "in the future",
        },
        Row {
            tool: "escrow",
            what: "warrant spanning 47 days",
            prepare: |d| {
                json_edit(&d.join("w.json"), |v| {
                    v["timespan"]["start"] = "2026-10-10T00:00:00Z".into()
                })
            },
            args: APPROVE,
            code: 1,
            expect: "the policy allows 31",
        },
        Row {
            tool: "escrow",
            what: "warrant with 11 targets",
            prepare: |d| {
                json_edit(&d.join("w.json"), |v| {
                    v["targets"] = (0..11)
                        .map(|i| serde_json::json!({"format": "account", "value": format!("t{i}")}))
                        .collect()
                })
            },
            args: APPROVE,
            code: 1,
            expect: "11 targets",
        },
        Row {
            tool: "escrow",
            what: "warrant of an unknown generation",
            prepare: |d| json_edit(&d.join("w.json"), |v| v["generation"] = 9.into()),
            args: APPROVE,
            code: 1,
            expect: "generation 9 does not exist",
        },
        Row {
            tool: "escrow",
            what: "warrant with an oversized justification",
            prepare: |d| {
                json_edit(&d.join("w.json"), |v| {
                    v["justification"] = "x".repeat(5000).into()
                })
            },
            args: APPROVE,
            code: 1,
            expect: "justification",
        },
        Row {
            tool: "escrow",
            what: "warrant edited after logging",
            prepare: |d| json_edit(&d.join("w.json"), |v| v["justification"] = "edited".into()),
            args: APPROVE,
            code: 1,
            expect: "receipt",
        },
        Row {
            tool: "escrow",
            what: "receipt truncated",
            prepare: |d| truncate(&d.join("w.json.receipt.json")),
            args: APPROVE,
            code: 1,
            expect: "malformed JSON",
        },
        Row {
            tool: "escrow",
            what: "receipt missing",
            prepare: |d| std::fs::remove_file(d.join("w.json.receipt.json")).unwrap(),
            args: APPROVE,
            code: 1,
            expect: "no receipt at w.json.receipt.json: run `auditor warrant submit w.json` first",
        },
        Row {
            tool: "escrow",
            what: "the warrant given as the receipt",
            prepare: |d| {
                std::fs::copy(d.join("w.json"), d.join("w.json.receipt.json"))
                    .map(drop)
                    .unwrap()
            },
            args: APPROVE,
            code: 1,
            expect: "expected a receipt (from `auditor warrant submit`), found a warrant",
        },
        // escrow approve: the share
        Row {
            tool: "escrow",
            what: "share file missing",
            prepare: |d| std::fs::remove_file(share(d)).unwrap(),
            args: APPROVE,
            code: 1,
            expect: "No such file",
        },
        Row {
            tool: "escrow",
            what: "share file truncated",
            prepare: |d| truncate(&share(d)),
            args: APPROVE,
            code: 1,
            expect: "malformed JSON",
        },
        Row {
            tool: "escrow",
            what: "share file of version 2",
            prepare: |d| version_2(&share(d)),
            args: APPROVE,
            code: 1,
            expect: "unsupported version 2",
        },
        Row {
            tool: "escrow",
            what: "share file a symbolic link",
            prepare: |d| into_symlink(&share(d)),
            args: APPROVE,
            code: 1,
            expect: "is a symbolic link",
        },
        Row {
            tool: "escrow",
            what: "another authority's share file",
            prepare: |d| {
                std::fs::copy(d.join("lab/authorities/court/share.json"), share(d))
                    .map(|_| ())
                    .unwrap()
            },
            args: APPROVE,
            code: 1,
            expect: "holds the share of 'court', not of 'oversight'",
        },
        Row {
            tool: "escrow",
            what: "a zero secret share",
            prepare: |d| json_edit(&share(d), |v| v["secret_share"] = "00".repeat(32).into()),
            args: APPROVE,
            code: 1,
            expect: "scalar",
        },
        Row {
            tool: "escrow",
            what: "a sealed share, no passphrase",
            prepare: |d| seal(d, "oversight"),
            args: APPROVE,
            code: 1,
            expect: "is sealed with a passphrase",
        },
        Row {
            tool: "escrow",
            what: "a sealed share, wrong passphrase",
            prepare: |d| seal(d, "oversight"),
            args: &[
                "--lab",
                "lab",
                "approve",
                "--passphrase-env",
                "HOME",
                "--as",
                "oversight",
                "--warrant",
                "w.json",
                "--receipt",
                "w.json.receipt.json",
                "--at",
                "2026-11-26T10:02:00Z",
                "--out",
                "new-approval.json",
            ],
            code: 1,
            expect: "wrong passphrase",
        },
        Row {
            tool: "escrow",
            what: "a passphrase variable not set",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "seal",
                "--as",
                "court",
                "--passphrase-env",
                "ESCROW_LAB_UNSET",
            ],
            code: 1,
            expect: "ESCROW_LAB_UNSET (--passphrase-env) is not set",
        },
        Row {
            tool: "escrow",
            what: "an approval file that exists",
            prepare: |d| std::fs::write(d.join("new-approval.json"), b"notes").unwrap(),
            args: APPROVE,
            code: 1,
            expect: "already exists with other content",
        },
        // escrow: lifecycle
        Row {
            tool: "escrow",
            what: "retire an unknown generation",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "retire",
                "--as",
                "court",
                "--generation",
                "4",
            ],
            code: 1,
            expect: "generation 4 does not exist",
        },
        Row {
            tool: "escrow",
            what: "rotate off an epoch boundary",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "rotate",
                "--valid-from",
                "2030-01-01T12:00:00Z",
            ],
            code: 1,
            expect: "epoch boundary",
        },
        Row {
            tool: "escrow",
            what: "cosign as an unknown authority",
            prepare: nothing,
            args: &["--lab", "lab", "log", "cosign", "--as", "nobody"],
            code: 1,
            expect: "'nobody' is not an authority",
        },
        Row {
            tool: "escrow",
            what: "log.sqlite not a database",
            prepare: |d| std::fs::write(d.join("lab/log/log.sqlite"), vec![7u8; 8192]).unwrap(),
            args: &["--lab", "lab", "log", "show"],
            code: 1,
            expect: "not a database",
        },
        // auditor
        Row {
            tool: "auditor",
            what: "the same approval twice",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "execute",
                "--warrant",
                "w.json",
                "--approval",
                "w.json.court.approval.json",
                "--approval",
                "w.json.court.approval.json",
                "--capture",
                "capture.json",
                "--at",
                "2026-11-26T11:00:00Z",
            ],
            code: 1,
            expect: "2 of 3 approvals required, 1 valid",
        },
        Row {
            tool: "auditor",
            what: "an approval truncated",
            prepare: |d| truncate(&d.join("w.json.ministry.approval.json")),
            args: EXECUTE,
            code: 1,
            expect: "1 valid",
        },
        Row {
            tool: "auditor",
            what: "an approval share outside the subgroup",
            prepare: |d| {
                json_edit(&d.join("w.json.ministry.approval.json"), |v| {
                    v["warrant_share"] = hex::encode(escrow::hazmat::g2_not_in_subgroup()).into()
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "1 valid",
        },
        Row {
            tool: "auditor",
            what: "an approval share the identity point",
            prepare: |d| {
                json_edit(&d.join("w.json.ministry.approval.json"), |v| {
                    let mut b = [0u8; 96];
                    b[0] = 0xc0;
                    v["warrant_share"] = hex::encode(b).into();
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "1 valid",
        },
        Row {
            tool: "auditor",
            what: "an approval under another authority's index",
            prepare: |d| {
                json_edit(&d.join("w.json.ministry.approval.json"), |v| {
                    v["index"] = 2.into()
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "1 valid",
        },
        Row {
            tool: "auditor",
            what: "capture truncated",
            prepare: |d| truncate(&d.join("capture.json")),
            args: EXECUTE,
            code: 1,
            expect: "capture",
        },
        Row {
            tool: "auditor",
            what: "capture of version 1 (unsigned envelopes)",
            prepare: |d| json_edit(&d.join("capture.json"), |v| v["version"] = 1.into()),
            args: EXECUTE,
            code: 1,
            expect: "capture refused: unsupported version 1",
        },
        Row {
            tool: "auditor",
            what: "capture of another realm",
            prepare: |d| json_edit(&d.join("capture.json"), |v| v["realm"] = "elsewhere".into()),
            args: EXECUTE,
            code: 1,
            expect: "belongs to realm 'elsewhere'",
        },
        Row {
            tool: "auditor",
            what: "capture of another lab's relay",
            prepare: |d| {
                json_edit(&d.join("capture.json"), |v| {
                    v["relay"] = "00".repeat(16).into()
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "a capture of another lab",
        },
        Row {
            tool: "auditor",
            what: "capture without alice's directory entry",
            prepare: |d| {
                json_edit(&d.join("capture.json"), |v| {
                    v["directory"].as_object_mut().unwrap().remove("alice");
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "directory entry of 'alice' is missing",
        },
        Row {
            tool: "auditor",
            what: "capture of an account the warrant does not target",
            prepare: |d| json_edit(&d.join("capture.json"), |v| v["account"] = "bob".into()),
            args: EXECUTE,
            code: 1,
            expect: "a capture of 'bob', which the warrant does not target",
        },
        Row {
            tool: "auditor",
            what: "capture window that ends before it starts",
            prepare: |d| {
                json_edit(&d.join("capture.json"), |v| {
                    v["to"] = "2000-01-01T00:00:00Z".into()
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "its window is not two RFC 3339 times in order",
        },
        Row {
            tool: "auditor",
            what: "capture with one relay id twice",
            prepare: |d| {
                json_edit(&d.join("capture.json"), |v| {
                    let first = v["envelopes"][0].clone();
                    v["envelopes"].as_array_mut().unwrap().push(first);
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "appears twice",
        },
        Row {
            tool: "auditor",
            what: "capture with an unknown delivery status",
            prepare: |d| {
                json_edit(&d.join("capture.json"), |v| {
                    v["envelopes"][0]["status"] = "DELETED".into()
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "delivery status other than",
        },
        Row {
            tool: "auditor",
            what: "a report file in a missing directory",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "execute",
                "--warrant",
                "w.json",
                "--approval",
                "w.json.court.approval.json",
                "--approval",
                "w.json.ministry.approval.json",
                "--capture",
                "capture.json",
                "--at",
                "2026-11-26T11:00:00Z",
                "--out",
                "missing/report.json",
            ],
            code: 1,
            expect: "missing/report.json: cannot write the report: its folder does not exist",
        },
        Row {
            tool: "auditor",
            what: "a report file name too long",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "execute",
                "--warrant",
                "w.json",
                "--approval",
                "w.json.court.approval.json",
                "--approval",
                "w.json.ministry.approval.json",
                "--capture",
                "capture.json",
                "--at",
                "2026-11-26T11:00:00Z",
                "--out",
                "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr.json",
            ],
            code: 1,
            expect: "cannot write the report: File name too long",
        },
        Row {
            tool: "auditor",
            what: "capture with another identity key for alice",
            prepare: |d| {
                json_edit(&d.join("capture.json"), |v| {
                    let bob = v["directory"]["bob"]["identity_sign"].clone();
                    v["directory"]["alice"]["identity_sign"] = bob;
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "directory entry of 'alice' is missing or not the one this lab's relay publishes",
        },
        Row {
            tool: "auditor",
            what: "capture of a generation with another master key",
            prepare: |d| {
                json_edit(&d.join("capture.json"), |v| {
                    v["generations"][0]["master_public_key"] = "a0".repeat(48).into()
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "another master public key",
        },
        Row {
            tool: "auditor",
            what: "capture of another generation",
            prepare: |d| {
                json_edit(&d.join("capture.json"), |v| {
                    v["generations"][0]["generation"] = 2.into()
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "the warrant is for generation 1",
        },
        Row {
            tool: "auditor",
            what: "a warrant reference with a line separator",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "warrant",
                "new",
                "--reference",
                "W-2\u{2028}  approval of court: valid",
                "--target",
                "alice",
                "--from",
                "2026-11-25T00:00:00Z",
                "--to",
                "2026-11-26T00:00:00Z",
                "--issuer",
                "court",
                "--justification",
                "x",
                "--out",
                "w2.json",
            ],
            code: 1,
            expect: "reference must be 1 to 256 characters of visible ASCII",
        },
        Row {
            tool: "auditor",
            what: "a warrant reference with a zero-width space",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "warrant",
                "new",
                "--reference",
                "W-1\u{200b}",
                "--target",
                "alice",
                "--from",
                "2026-11-25T00:00:00Z",
                "--to",
                "2026-11-26T00:00:00Z",
                "--issuer",
                "court",
                "--justification",
                "x",
                "--out",
                "w2.json",
            ],
            code: 1,
            expect: "reference must be 1 to 256 characters of visible ASCII",
        },
        Row {
            tool: "auditor",
            what: "a warrant reference with a look-alike letter",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "warrant",
                "new",
                "--reference",
                // CYRILLIC CAPITAL LETTER VE for W's neighbour B: "B-1" that is not "B-1".
                "\u{412}-1",
                "--target",
                "alice",
                "--from",
                "2026-11-25T00:00:00Z",
                "--to",
                "2026-11-26T00:00:00Z",
                "--issuer",
                "court",
                "--justification",
                "x",
                "--out",
                "w2.json",
            ],
            code: 1,
            expect: "reference must be 1 to 256 characters of visible ASCII",
        },
        Row {
            tool: "auditor",
            what: "a warrant scope of 1,000 targets over 8,000 years (submit)",
            prepare: huge_warrant,
            args: &["--lab", "lab", "warrant", "submit", "w.json"],
            code: 1,
            expect: "at most 10000 can be released",
        },
        Row {
            tool: "auditor",
            what: "a warrant scope of 1,000 targets over 8,000 years (execute)",
            prepare: huge_warrant,
            args: EXECUTE,
            code: 1,
            expect: "at most 10000 can be released",
        },
        Row {
            tool: "escrow",
            what: "a warrant scope of 1,000 targets over 8,000 years (approve)",
            prepare: huge_warrant,
            args: APPROVE,
            code: 1,
            expect: "refused",
        },
        Row {
            tool: "auditor",
            what: "an approval without the proof of its release",
            prepare: |d| {
                json_edit(&d.join("w.json.court.approval.json"), |v| {
                    v.as_object_mut().unwrap().remove("release");
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "2 of 3 approvals required, 1 valid",
        },
        Row {
            tool: "auditor",
            what: "an approval with another authority's release proof",
            prepare: |d| {
                let ministry: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(d.join("w.json.ministry.approval.json")).unwrap(),
                )
                .unwrap();
                json_edit(&d.join("w.json.court.approval.json"), |v| {
                    v["release"] = ministry["release"].clone();
                })
            },
            args: EXECUTE,
            code: 1,
            expect: "2 of 3 approvals required, 1 valid",
        },
        Row {
            tool: "auditor",
            what: "a file that proves nothing given as --proof",
            prepare: nothing,
            args: &["--lab", "lab", "log", "verify", "--proof", "capture.json"],
            code: 1,
            expect: "not a receipt, an approval or an execution report",
        },
        Row {
            tool: "auditor",
            what: "the releases erased from the log database",
            prepare: erase_releases,
            args: &["--lab", "lab", "log", "verify"],
            code: 1,
            expect: "accepted by court",
        },
        Row {
            tool: "escrow",
            what: "a witness asked to cosign a log without its release",
            prepare: erase_releases,
            args: &["--lab", "lab", "log", "cosign", "--as", "court"],
            code: 1,
            expect: "log rollback",
        },
        Row {
            tool: "auditor",
            what: "a drafting time whose default expiry is past year 9999",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "warrant",
                "new",
                "--reference",
                "W-2",
                "--target",
                "alice",
                "--from",
                "2026-11-25T00:00:00Z",
                "--to",
                "2026-11-26T00:00:00Z",
                "--issuer",
                "court",
                "--justification",
                "x",
                "--at",
                "9999-12-31T23:59:59Z",
            ],
            code: 1,
            expect: "too late for the default expiry",
        },
        Row {
            tool: "auditor",
            what: "a warrant not in the log",
            prepare: |d| json_edit(&d.join("w.json"), |v| v["nonce"] = "00".repeat(16).into()),
            args: EXECUTE,
            code: 1,
            expect: "not in the transparency log",
        },
        Row {
            tool: "auditor",
            what: "a timespan that ends before it starts",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "warrant",
                "new",
                "--reference",
                "W-2",
                "--target",
                "alice",
                "--from",
                "2026-11-25T00:00:00Z",
                "--to",
                "2026-11-24T00:00:00Z",
                "--issuer",
                "court",
                "--justification",
                "x",
            ],
            code: 1,
            expect: "must end after it starts",
        },
        Row {
            tool: "auditor",
            what: "a warrant file missing",
            prepare: nothing,
            args: &["--lab", "lab", "warrant", "submit", "missing.json"],
            code: 1,
            expect: "missing.json: no such file (expected a warrant",
        },
        Row {
            tool: "auditor",
            what: "a log entry rewritten in place",
            prepare: |d| tamper_log(d),
            args: &["--lab", "lab", "log", "verify"],
            code: 1,
            // The rewritten entry's hash, not a missing trigger.
            expect: "stored hash",
        },
        // messenger
        Row {
            tool: "messenger",
            what: "an unknown recipient",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "send",
                "--as",
                "alice",
                "--recipient",
                "mallory",
                "x",
            ],
            code: 1,
            expect: "unknown recipient 'mallory'",
        },
        Row {
            tool: "messenger",
            what: "an invalid account name",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "send",
                "--as",
                "alice",
                "--recipient",
                "Bob!",
                "x",
            ],
            code: 1,
            expect: "invalid account name",
        },
        Row {
            tool: "messenger",
            what: "client state truncated",
            prepare: |d| truncate(&d.join("lab/clients/alice.json")),
            args: SEND,
            code: 1,
            expect: "alice.json",
        },
        Row {
            tool: "messenger",
            what: "client state of version 2",
            prepare: |d| version_2(&d.join("lab/clients/alice.json")),
            args: SEND,
            code: 1,
            expect: "version 2",
        },
        Row {
            tool: "messenger",
            what: "client state of another account",
            prepare: |d| {
                std::fs::copy(
                    d.join("lab/clients/bob.json"),
                    d.join("lab/clients/alice.json"),
                )
                .map(|_| ())
                .unwrap()
            },
            args: SEND,
            code: 1,
            expect: "holds the state of 'bob'",
        },
        Row {
            tool: "messenger",
            what: "client state a symbolic link",
            prepare: |d| into_symlink(&d.join("lab/clients/alice.json")),
            args: SEND,
            code: 1,
            expect: "is a symbolic link",
        },
        Row {
            tool: "messenger",
            what: "a text over 16 KiB",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "send",
                "--as",
                "alice",
                "--recipient",
                "bob",
                "-",
            ],
            code: 1,
            expect: "too large",
        },
        Row {
            tool: "messenger",
            what: "an account that exists",
            prepare: nothing,
            args: &["--lab", "lab", "register", "--as", "alice"],
            code: 1,
            expect: "already",
        },
        Row {
            tool: "messenger",
            what: "an intercept window that ends before it starts",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "intercept",
                "--target",
                "alice",
                "--from",
                "2026-11-26T00:00:00Z",
                "--to",
                "2026-11-25T00:00:00Z",
            ],
            code: 1,
            expect: "before --from",
        },
        Row {
            tool: "messenger",
            what: "relay.sqlite not a database",
            prepare: |d| std::fs::write(d.join("lab/relay.sqlite"), vec![7u8; 8192]).unwrap(),
            args: SEND,
            code: 1,
            expect: "not a database",
        },
        Row {
            tool: "escrow",
            what: "a resharing step with no resharing open",
            prepare: nothing,
            args: &["--lab", "lab", "reshare", "revoke", "--as", "court"],
            code: 1,
            expect: "no resharing is open",
        },
        Row {
            tool: "escrow",
            what: "a resharing to threshold 1",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "reshare",
                "start",
                "--authorities",
                "court,ministry",
                "--threshold",
                "1",
            ],
            code: 1,
            expect: "would give every new authority the master secret",
        },
        Row {
            tool: "escrow",
            what: "a resharing dealt by fewer than k old authorities",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "reshare",
                "start",
                "--dealers",
                "court",
                "--authorities",
                "court,tribunal",
                "--threshold",
                "2",
            ],
            code: 1,
            expect: "k = 2 old authorities must deal",
        },
        Row {
            tool: "escrow",
            what: "a join written in another authority's name",
            prepare: |d| {
                ok(
                    "escrow",
                    d,
                    &[
                        "--lab",
                        "lab",
                        "reshare",
                        "start",
                        "--authorities",
                        "court,ministry,oversight",
                        "--threshold",
                        "2",
                    ],
                );
                ok(
                    "escrow",
                    d,
                    &["--lab", "lab", "reshare", "join", "--as", "ministry"],
                );
                std::fs::copy(
                    d.join("lab/reshare/join-ministry.json"),
                    d.join("lab/reshare/join-court.json"),
                )
                .unwrap();
            },
            args: &["--lab", "lab", "reshare", "join", "--as", "court"],
            code: 1,
            expect: "someone joined in court's name",
        },
        Row {
            tool: "escrow",
            what: "a resharing proposed against another sharing",
            prepare: |d| {
                ok(
                    "escrow",
                    d,
                    &[
                        "--lab",
                        "lab",
                        "reshare",
                        "start",
                        "--authorities",
                        "court,ministry,oversight",
                        "--threshold",
                        "2",
                    ],
                );
                json_edit(&d.join("lab/reshare/session.json"), |v| {
                    v["old_commitment"] = serde_json::json!("00".repeat(32));
                });
            },
            args: &["--lab", "lab", "reshare", "join", "--as", "court"],
            code: 1,
            expect: "sharing changed since this resharing started",
        },
        Row {
            tool: "escrow",
            what: "a passphrase option on a command that reads no share",
            prepare: nothing,
            args: &["--lab", "lab", "info", "--passphrase-env", "P"],
            code: 2,
            expect: "unexpected argument '--passphrase-env' found",
        },
        Row {
            tool: "escrow",
            what: "a malformed --fingerprint",
            prepare: nothing,
            args: &[
                "--lab",
                "lab",
                "reshare",
                "revoke",
                "--as",
                "court",
                "--fingerprint",
                "b=",
            ],
            code: 2,
            expect: "a fingerprint is 16 hex digits",
        },
        Row {
            tool: "escrow",
            what: "a DKG step before any session",
            prepare: nothing,
            args: &["--lab", "fresh-lab", "dkg", "join", "--as", "court"],
            code: 1,
            expect: "no DKG session is open",
        },
    ]
}

/// oversight's share sealed with the passphrase "correct horse" (the wrong-passphrase row
/// passes the value of $HOME).
fn seal(d: &Path, who: &str) {
    let out = test_support::run::process("escrow")
        .current_dir(d)
        .env("P", "correct horse")
        .args(["--lab", "lab", "seal", "--as", who, "--passphrase-env", "P"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// Rewrites the last entry's bytes in the log database (its time, a year later), with the
/// append-only trigger dropped for the rewrite and then recreated from the SQL the database
/// held for it: what `log verify` finds is the rewritten entry, not a missing trigger.
fn tamper_log(d: &Path) {
    let conn = rusqlite::Connection::open(d.join("lab/log/log.sqlite")).unwrap();
    let last = |conn: &rusqlite::Connection| -> Vec<u8> {
        conn.query_row(
            "SELECT data FROM entries WHERE idx = (SELECT max(idx) FROM entries)",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let before = last(&conn);
    test_support::sqlite::without_trigger(&conn, "entries_no_update", || {
        conn.execute(
            "UPDATE entries SET data = CAST(replace(data, '\"time\":\"2026-', '\"time\":\"2027-') AS BLOB) WHERE idx = (SELECT max(idx) FROM entries)",
            [],
        )
        .unwrap();
    });
    assert_ne!(last(&conn), before, "the rewrite changed nothing");
}

/// `w.json` made to name 1,000 targets from 1970 to 9999 (2.9 million day epochs each):
/// a 40 KB warrant whose scope, built, would take gigabytes.
fn huge_warrant(d: &Path) {
    json_edit(&d.join("w.json"), |v| {
        v["targets"] = std::iter::once("alice".to_owned())
            .chain((1..1000).map(|i| format!("a{i}")))
            .map(|a| serde_json::json!({"format": "account", "value": a}))
            .collect();
        v["timespan"]["start"] = "1970-01-01T00:00:00Z".into();
        v["timespan"]["end"] = "9999-12-31T00:00:00Z".into();
    });
}

/// Deletes every entry from the first key release on (with the hashes, checkpoints and
/// cosignatures above it), as someone with write access to the database file: triggers
/// dropped, then recreated from the SQL the database held for them.
fn erase_releases(d: &Path) {
    let conn = rusqlite::Connection::open(d.join("lab/log/log.sqlite")).unwrap();
    let first: i64 = conn
        .query_row(
            "SELECT min(idx) FROM entries WHERE CAST(data AS TEXT) LIKE '%key-released%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let triggers: Vec<String> = conn
        .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for n in &names {
        conn.execute_batch(&format!("DROP TRIGGER {n}")).unwrap();
    }
    let first_hash = 2 * first - i64::from(first.count_ones());
    conn.execute("DELETE FROM entries WHERE idx >= ?1", [first])
        .unwrap();
    conn.execute("DELETE FROM hashes WHERE idx >= ?1", [first_hash])
        .unwrap();
    conn.execute("DELETE FROM checkpoints WHERE size > ?1", [first])
        .unwrap();
    conn.execute("DELETE FROM cosignatures WHERE size > ?1", [first])
        .unwrap();
    for t in &triggers {
        conn.execute_batch(t).unwrap();
    }
}

/// The error line with the case's folder and long hex runs made stable.
fn normalize(line: &str, dir: &Path) -> String {
    let line = line.replace(&dir.display().to_string(), "CASE");
    let mut out = String::new();
    let mut run = String::new();
    for c in line.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
        } else {
            if run.len() >= 16 {
                out.push_str("<hex>");
            } else {
                out.push_str(&run);
            }
            run.clear();
            out.push(c);
        }
    }
    out.pop();
    out
}

fn page(results: &[(usize, &Row, String)]) -> String {
    let mut s = String::from(
        "# Bad input: what each command does with it\n\n\
         Generated by `ESCROW_LAB_BLESS=1 cargo test --test bad_input` from the table in\n\
         `tests/bad_input.rs`, which runs every row against the real binaries and checks the exit\n\
         code, that stderr is this one line (the first line, for usage errors, which clap prints\n\
         with help), and that no file of the lab changed (SHA-256 of every file before and after).\n\
         `CASE` is the folder of the case, `<hex>` a run of 16 or more hex digits (digests and\n\
         nonces differ between runs). Each case starts from the same lab: 3 authorities (court,\n\
         ministry, oversight; 2 of 3), alice and bob with one message, warrant W-1 on alice logged,\n\
         approved by court and ministry, and alice's capture.\n\n\
         Exit codes: 0 success, 1 refused (one line on stderr, nothing changed), 2 usage.\n\
         Permission bits are not in the table: the tests run as root here, for whom they stop\n\
         nothing; a file the user cannot read gives the operating system's message after the\n\
         path, like \"No such file\" below.\n\n\
         | # | tool | bad input | exit | error line |\n|---|---|---|---|---|\n",
    );
    for (i, row, line) in results {
        let _ = writeln!(
            s,
            "| {i} | `{}` | {} | {} | `{}` |",
            row.tool,
            row.what,
            row.code,
            line.replace('|', "\\|").replace('`', "'")
        );
    }
    let _ = writeln!(s, "\n{} rows.", results.len());
    s
}

#[test]
fn every_bad_input_is_refused_cleanly_and_the_page_is_current() {
    let big_text = "x".repeat(70_000);
    let rows = rows();
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let tmp = case_dir();
        let d = tmp.path();
        (row.prepare)(d);
        let before = snapshot::digests(d);
        let args: Vec<String> = row.args.iter().map(|s| (*s).to_owned()).collect();
        let out = if row.args.last() == Some(&"-") {
            let mut child = test_support::run::process(row.tool)
                .current_dir(d)
                .args(&args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write as _;
            let _ = child.stdin.take().unwrap().write_all(big_text.as_bytes());
            child.wait_with_output().unwrap()
        } else {
            run(row.tool, d, &args)
        };
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let first = stderr.lines().next().unwrap_or("").to_owned();
        let mut why = Vec::new();
        if out.status.code() != Some(row.code) {
            why.push(format!(
                "exit {:?}, expected {}",
                out.status.code(),
                row.code
            ));
        }
        if row.code == 1 && stderr.lines().count() != 1 {
            why.push("not exactly one line on stderr".to_owned());
        }
        if row.code == 1 && !first.starts_with(&format!("{}: ", row.tool)) {
            why.push("the line does not name the tool".to_owned());
        }
        if !stderr.contains(row.expect) {
            why.push(format!("no '{}'", row.expect));
        }
        if stderr.contains("panicked") {
            why.push("panicked".to_owned());
        }
        if snapshot::digests(d) != before {
            why.push("a file changed".to_owned());
        }
        if !why.is_empty() {
            failures.push(format!(
                "#{} {} ({}): {} — stderr {stderr:?}",
                i + 1,
                row.tool,
                row.what,
                why.join("; ")
            ));
        }
        results.push((i + 1, row, normalize(&first, d)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let page = page(&results);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/bad-input.md");
    if std::env::var_os("ESCROW_LAB_BLESS").is_some() {
        std::fs::write(&path, &page).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap_or_default(),
        page,
        "docs/bad-input.md is not current: ESCROW_LAB_BLESS=1 cargo test --test bad_input"
    );
}
