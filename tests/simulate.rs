//! `escrow-lab simulate` on a tiny population: its CSV files are internally consistent (totals
//! add up, nothing is negative), its charts are SVG, the same seed gives the same traffic and
//! another seed other traffic; and the real binary writes its files, or refuses a non-empty
//! output folder without touching it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use assert_cmd::Command;
use escrow_lab::simulate::{Config, FILES, run};
use test_support::run;

/// The runs measure time: one at a time, so they do not slow each other down.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const TINY: Config = Config {
    users: 6,
    days: 2,
    messages_per_user_day: 3,
    warrants: 3,
    authorities: 3,
    threshold: 2,
    seed: 7,
};

/// A CSV file: header and rows, each row a map from column to cell.
struct Csv {
    header: Vec<String>,
    rows: Vec<BTreeMap<String, String>>,
}

impl Csv {
    fn read(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .unwrap()
            .split(',')
            .map(str::to_owned)
            .collect();
        let rows = lines
            .map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                assert_eq!(cells.len(), header.len(), "{}: {l}", path.display());
                header
                    .iter()
                    .cloned()
                    .zip(cells.iter().map(|c| (*c).to_owned()))
                    .collect()
            })
            .collect();
        Self { header, rows }
    }

    fn num(&self, row: usize, column: &str) -> f64 {
        self.rows[row][column].parse().unwrap()
    }

    fn sum(&self, column: &str) -> f64 {
        (0..self.rows.len()).map(|r| self.num(r, column)).sum()
    }

    /// Every column that is not timing (timing columns end in `_ms`), as text.
    fn traffic(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                self.header
                    .iter()
                    .filter(|h| !h.ends_with("_ms"))
                    .map(|h| r[h].clone())
                    .collect()
            })
            .collect()
    }

    /// Nothing negative — except escrow's CPU cost, a difference of two timed runs that noise
    /// on a loaded machine can push below zero: it must only be a finite number (tests never
    /// assert on timings; the benches measure them).
    fn no_negative(&self, name: &str) {
        for r in &self.rows {
            let difference = r.get("metric").is_some_and(|m| m.contains("escrow_cpu"));
            for (column, cell) in r {
                if let Ok(v) = cell.parse::<f64>() {
                    assert!(v.is_finite(), "{name}: {column} = {cell}");
                    if !difference && !column.contains("escrow_cpu") {
                        assert!(v >= 0.0, "{name}: {column} = {cell}");
                    }
                }
            }
        }
    }
}

/// `summary.csv` as metric → (value, kind).
fn summary(dir: &Path) -> BTreeMap<String, (f64, String)> {
    let csv = Csv::read(&dir.join("summary.csv"));
    assert_eq!(csv.header, ["metric", "value", "unit", "kind"]);
    csv.no_negative("summary.csv");
    csv.rows
        .iter()
        .map(|r| {
            (
                r["metric"].clone(),
                (r["value"].parse().unwrap(), r["kind"].clone()),
            )
        })
        .collect()
}

/// Runs the library on a fresh folder; returns the folder and the printed report.
fn simulate(config: &Config) -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    run(config, tmp.path(), false, &mut out).unwrap();
    (tmp, String::from_utf8(out).unwrap())
}

/// The traffic (non-timing) content of every CSV file of a run.
fn traffic(dir: &Path) -> Vec<Vec<Vec<String>>> {
    let mut all = vec![
        summary(dir)
            .into_iter()
            .filter(|(_, (_, kind))| kind != "timing")
            .map(|(m, (v, _))| vec![m, v.to_string()])
            .collect(),
    ];
    for f in ["days.csv", "warrants.csv", "approvals.csv", "log.csv"] {
        all.push(Csv::read(&dir.join(f)).traffic());
    }
    all
}

fn check_consistent(dir: &Path, config: &Config) {
    let s = summary(dir);
    let v = |m: &str| {
        s.get(m)
            .unwrap_or_else(|| panic!("no {m} in summary.csv"))
            .0
    };
    let days = Csv::read(&dir.join("days.csv"));
    let warrants = Csv::read(&dir.join("warrants.csv"));
    let approvals = Csv::read(&dir.join("approvals.csv"));
    let log = Csv::read(&dir.join("log.csv"));
    for (name, csv) in [
        ("days", &days),
        ("warrants", &warrants),
        ("approvals", &approvals),
        ("log", &log),
    ] {
        csv.no_negative(name);
    }
    let k = f64::from(config.threshold);

    // Traffic: the days add up to the totals; every message either starts a chain or not.
    assert_eq!(days.rows.len(), config.days as usize);
    let messages = f64::from(config.users * config.days * config.messages_per_user_day);
    assert_eq!(v("messages"), messages);
    for m in [
        "messages",
        "chain_starts",
        "in_chain_messages",
        "escrow_bytes",
        "delivered",
        "rejected",
        "reads",
    ] {
        assert_eq!(days.sum(m), v(m), "{m}");
    }
    assert_eq!(days.sum("envelope_bytes"), v("envelope_bytes"));
    assert_eq!(
        days.sum("envelope_bytes_no_escrow"),
        v("envelope_bytes_no_escrow")
    );
    assert_eq!(v("chain_starts") + v("in_chain_messages"), v("messages"));
    assert!(v("chain_starts") > 0.0 && v("in_chain_messages") > 0.0);
    for d in 0..days.rows.len() {
        assert_eq!(
            days.num(d, "chain_starts") + days.num(d, "in_chain_messages"),
            days.num(d, "messages")
        );
        assert_eq!(
            days.num(d, "escrow_bytes"),
            days.num(d, "chain_starts") * 236.0
        );
    }
    // Everyone is compliant: one 236-byte block per chain, every message delivered.
    assert_eq!(v("escrow_bytes"), v("chain_starts") * 236.0);
    assert_eq!(v("escrow_bytes_per_chain"), 236.0);
    assert_eq!((v("delivered"), v("rejected")), (messages, 0.0));
    assert!(v("envelope_bytes") > v("envelope_bytes_no_escrow"));
    assert!(v("escrow_cpu_per_chain_ms").is_finite());

    // Warrants: scope = targets × days; decrypted ≤ messages in scope (here, equal).
    assert_eq!(warrants.rows.len(), config.warrants as usize);
    for w in 0..warrants.rows.len() {
        let n = |c: &str| warrants.num(w, c);
        assert!(n("targets") >= 1.0 && n("targets") <= f64::from(config.users.min(10)));
        assert!(n("days") >= 1.0 && n("days") <= f64::from(config.days));
        assert_eq!(n("scope_identities"), n("targets") * n("days"));
        assert!(n("decrypted") <= n("messages_in_scope"));
        assert_eq!(n("decrypted"), n("messages_in_scope"));
        assert_eq!(n("envelopes_captured"), n("messages_in_scope"));
        assert!(n("chains_in_scope") <= n("messages_in_scope"));
        assert_eq!((n("out_of_scope"), n("non_compliant")), (0.0, 0.0));
        assert_eq!(n("log_entries"), log.num(w + 1, "entries"));
        assert_eq!(n("log_bytes"), log.num(w + 1, "total_bytes"));
    }
    for (m, c) in [
        ("scope_identities", "scope_identities"),
        ("chains_in_scope", "chains_in_scope"),
        ("messages_in_scope", "messages_in_scope"),
        ("messages_decrypted", "decrypted"),
    ] {
        assert_eq!(warrants.sum(c), v(m), "{m}");
    }
    // Overlapping warrants open some messages twice: the distinct count is at most the sum,
    // at most the messages sent, and at least the largest single warrant's.
    let distinct = v("messages_decrypted_distinct");
    assert!(
        distinct <= v("messages_decrypted") && distinct <= messages,
        "{distinct}"
    );
    let largest = (0..warrants.rows.len())
        .map(|w| warrants.num(w, "decrypted"))
        .fold(0.0, f64::max);
    assert!(distinct >= largest, "{distinct} < {largest}");

    // k approvals per warrant, each for its warrant's whole scope.
    assert_eq!(approvals.rows.len() as f64, f64::from(config.warrants) * k);
    assert_eq!(v("approvals"), approvals.rows.len() as f64);
    for a in 0..approvals.rows.len() {
        let w = approvals.num(a, "warrant") as usize - 1;
        assert_eq!(
            approvals.num(a, "scope_identities"),
            warrants.num(w, "scope_identities")
        );
    }

    // The log: generation-created, then k + 2 entries per warrant; its bytes add up.
    assert_eq!(log.rows.len(), config.warrants as usize + 1);
    for r in 0..log.rows.len() {
        assert_eq!(log.num(r, "warrants"), r as f64);
        assert_eq!(log.num(r, "entries"), 1.0 + r as f64 * (k + 2.0));
        let parts: f64 = [
            "entry_bytes",
            "hash_bytes",
            "checkpoint_bytes",
            "cosignature_bytes",
        ]
        .iter()
        .map(|c| log.num(r, c))
        .sum();
        assert_eq!(log.num(r, "total_bytes"), parts);
        if r > 0 {
            assert!(log.num(r, "total_bytes") > log.num(r - 1, "total_bytes"));
        }
    }
    let last = log.rows.len() - 1;
    assert_eq!(v("log_entries"), log.num(last, "entries"));
    assert_eq!(v("log_bytes"), log.num(last, "total_bytes"));
    assert_eq!(v("log_entries_per_warrant"), k + 2.0);

    // Charts.
    for f in FILES.iter().filter(|f| f.ends_with(".svg")) {
        let svg = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(svg.starts_with("<svg"), "{f}");
        assert!(svg.trim_end().ends_with("</svg>"), "{f}");
    }
    // Nothing else: the labs stayed in a temporary folder.
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut expected: Vec<String> = FILES.iter().map(|f| (*f).to_owned()).collect();
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn tiny_population_is_consistent_and_seeded() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (a, report) = simulate(&TINY);
    check_consistent(a.path(), &TINY);
    for line in report.lines() {
        assert!(line.chars().count() <= 100, "too long: {line}");
    }
    assert!(report.contains("chains/day       = U × m × ρ = 1e9 × 3 × "));
    assert!(report.contains("entries/year     = R × (k + 2) = 1.68e7 × 4 = "));
    assert_eq!(
        std::fs::read_to_string(a.path().join("report.txt")).unwrap(),
        report
    );

    let (b, _) = simulate(&TINY);
    check_consistent(b.path(), &TINY);
    assert_eq!(traffic(a.path()), traffic(b.path()));

    let other = Config { seed: 8, ..TINY };
    let (c, _) = simulate(&other);
    check_consistent(c.path(), &other);
    assert_ne!(traffic(a.path())[1], traffic(c.path())[1]);
}

#[test]
fn bad_parameters_are_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    for config in [
        Config { users: 1, ..TINY },
        Config { days: 0, ..TINY },
        Config { days: 32, ..TINY },
        Config {
            messages_per_user_day: 0,
            ..TINY
        },
        Config {
            threshold: 4,
            ..TINY
        },
        Config {
            authorities: 1,
            threshold: 1,
            ..TINY
        },
        Config {
            authorities: 65,
            ..TINY
        },
        Config {
            users: 100_000,
            days: 31,
            messages_per_user_day: 1000,
            ..TINY
        },
    ] {
        let e = run(&config, tmp.path(), false, &mut Vec::new()).unwrap_err();
        assert!(!format!("{e:#}").contains('\n'), "{e:#}");
    }
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

fn binary(out: &Path) -> Command {
    let mut c = run::tool("escrow-lab");
    c.args([
        "simulate",
        "--users",
        "4",
        "--days",
        "1",
        "--messages-per-user-day",
        "2",
        "--warrants",
        "2",
        "--authorities",
        "3",
        "--threshold",
        "2",
        "--out",
    ])
    .arg(out);
    c
}

#[test]
fn binary_writes_its_files() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let done = binary(&out).assert().success();
    let stdout = String::from_utf8(done.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("Extrapolation to the scale of the 2019 debate"));
    // Not a terminal: no progress bar, nothing on stderr.
    assert!(done.get_output().stderr.is_empty());
    for f in FILES {
        assert!(out.join(f).is_file(), "{f} missing");
    }
}

#[test]
fn binary_refuses_a_non_empty_out_folder_and_leaves_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), b"mine").unwrap();
    let done = binary(tmp.path()).assert().failure().code(1);
    let stderr = String::from_utf8(done.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not empty"), "{stderr}");
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["keep.txt"]);
    assert_eq!(std::fs::read(tmp.path().join("keep.txt")).unwrap(), b"mine");
}
