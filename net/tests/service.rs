#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design
//! The log and witness services on loopback: submissions, refusals, tiles audited by an
//! independent C2SP client, witnesses and a fork.

mod c2sp;

use std::net::TcpListener;

use base64::Engine;
use escrow::lab::Lab;
use escrow::transparency::api::{LocalLog, TransparencyLog};
use escrow::transparency::{LogEntry, LogRecord, SignedCheckpoint};
use escrow_net::client::HttpLog;
use escrow_net::log_server::{self, Options};
use escrow_net::verify::{Remembered, verify_served};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::Digest;
use tempfile::TempDir;

const AUTHORITIES: [&str; 3] = ["a", "b", "c"];

/// A lab of three authorities (k = 2) set up on 2026-09-01, its log holding `extra` filler
/// entries after the generation's.
fn lab(extra: u64) -> (TempDir, Lab) {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::new(dir.path().join("lab"));
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let names: Vec<String> = AUTHORITIES.iter().map(|s| (*s).to_owned()).collect();
    let created = time::macros::datetime!(2026-09-01 00:00 UTC);
    let req = escrow::SetupRequest::new(names.clone(), 2, created);
    let (params, shares) = escrow::dealer_setup(&req, &mut rng).unwrap();
    let log = escrow::transparency::generate_log(&req.realm, &names, &mut rng);
    lab.write_setup(&params, &shares, &log).unwrap();
    if extra > 0 {
        let mut l = LocalLog::open(&lab).unwrap();
        let records: Vec<LogRecord> = (0..extra).map(filler).collect();
        for r in l.append_batch(&records).unwrap() {
            assert!(r.unwrap().1);
        }
    }
    (dir, lab)
}

fn filler(i: u64) -> LogRecord {
    test_support::warrant::logged_record(i, "W", "2026-09-02T00:00:00Z")
}

fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

fn serve(lab: &Lab, witnesses: Vec<(String, String)>) -> log_server::Running {
    log_server::start(
        lab,
        listener(),
        Options {
            witnesses,
            ..Options::default()
        },
    )
    .unwrap()
}

fn http(lab: &Lab, url: &str, who: &str) -> HttpLog {
    HttpLog::new(
        url,
        lab.load_log_config().unwrap(),
        Some(lab.request_signer(who).unwrap()),
    )
}

fn raw_entries(lab: &Lab) -> Vec<Vec<u8>> {
    let config = lab.load_log_config().unwrap();
    lab.open_log_read_only(&config)
        .unwrap()
        .raw_entries()
        .unwrap()
}

#[test]
fn an_independent_c2sp_client_audits_the_served_log() {
    // 600 entries after the first: two full entry bundles and a partial one, two levels of
    // hash tiles.
    let (_d, lab) = lab(600);
    let server = serve(&lab, vec![]);
    let config = lab.load_log_config().unwrap();
    let verifier = c2sp::Verifier::from_vkey(&config.log_key).unwrap();
    let audit = c2sp::audit(&server.url(), &verifier).unwrap();
    assert_eq!(audit.checkpoint.size, 601);
    assert_eq!(audit.entries, raw_entries(&lab));
    // The project's own monitor agrees, and remembers the checkpoint.
    let mut state = Remembered::default();
    let served = verify_served(&server.url(), &config, &mut state).unwrap();
    assert_eq!((served.size, served.previous.clone()), (601, None));
    assert_eq!(served.stats.entries["warrant-logged"], 600);
    let label = SignedCheckpoint::verify(state.logs[&config.origin].as_bytes(), &config)
        .unwrap()
        .label();
    let again = verify_served(&server.url(), &config, &mut state).unwrap();
    assert_eq!(again.previous, Some(label));
    server.stop().unwrap();
}

#[test]
fn submissions_are_answered_with_a_verified_receipt_once_durable() {
    let (_d, lab) = lab(0);
    let server = serve(&lab, vec![]);
    let mut log = http(&lab, &server.url(), "auditor");
    let s = log.submit(&filler(1)).unwrap();
    assert!(s.new);
    assert_eq!(s.index, 1);
    let (entry, cp) = s.receipt.verify(log.config()).unwrap();
    assert_eq!((entry, cp.size()), (filler(1), 2));
    // The same record again: nothing appended, the same entry proven.
    let again = log.submit(&filler(1)).unwrap();
    assert_eq!((again.index, again.new), (1, false));
    // A warrant is logged once: another record of the same digest gets the first entry.
    let mut other = filler(1);
    if let LogEntry::WarrantLogged { reference, .. } = &mut other.entry {
        *reference = "another reference".into();
    }
    assert_eq!(log.submit(&other).unwrap().index, 1);
    // Reads through the tiles, authenticated against the checkpoint.
    assert_eq!(log.size().unwrap(), 2);
    assert_eq!(log.entry(1).unwrap(), filler(1));
    let digest = hex::encode(sha2::Sha256::digest(1u64.to_be_bytes()));
    assert_eq!(log.lookup(&format!("warrant/{digest}")).unwrap(), vec![1]);
    // 16 concurrent submitters: every one acknowledged, every acknowledged entry stored.
    let url = server.url();
    let handles: Vec<_> = (0..16u64)
        .map(|t| {
            let lab = lab.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                let mut log = http(&lab, &url, "auditor");
                (0..8u64)
                    .map(|i| log.submit(&filler(100 + t * 8 + i)).unwrap().index)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut indexes: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (2..130).collect::<Vec<_>>());
    assert_eq!(raw_entries(&lab).len(), 130);
    server.stop().unwrap();
}

/// POSTs `body` to `/add-entry`; returns the status and the one-line reason.
fn post(url: &str, body: &[u8]) -> (u16, String) {
    match ureq::post(&format!("{url}/add-entry")).send_bytes(body) {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{e}"),
    }
}

fn get_status(url: &str) -> u16 {
    match ureq::get(url).call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn malformed_unauthenticated_and_forbidden_requests_change_nothing() {
    let (_d, lab) = lab(3);
    let server = serve(&lab, vec![]);
    let url = server.url();
    let config = lab.load_log_config().unwrap();
    let before = raw_entries(&lab);
    let auditor = lab.request_signer("auditor").unwrap();
    let a = lab.request_signer("a").unwrap();
    let json = |v: &escrow::transparency::submit::AddEntry| serde_json::to_vec(v).unwrap();
    let release_of = |who: &str| {
        LogRecord::new(LogEntry::KeyReleased {
            digest: "ab".repeat(32),
            authority: who.into(),
            identity_count: 1,
            time: "2026-09-03T00:00:00Z".into(),
        })
    };
    let digest_of = |i: u64| hex::encode(sha2::Sha256::digest(i.to_be_bytes()));
    // A release of `n` identities for the logged warrant of filler 0 (scope 1 × 1).
    let release_of_logged = |who: &str, n: u32| {
        LogRecord::new(LogEntry::KeyReleased {
            digest: digest_of(0),
            authority: who.into(),
            identity_count: n,
            time: "2026-09-03T00:00:00Z".into(),
        })
    };
    let good = auditor.sign(&config, &filler(50)).unwrap();
    let mut cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("not JSON", b"{".to_vec(), 400),
        ("empty", Vec::new(), 400),
        (
            "version 2",
            json(&escrow::transparency::submit::AddEntry {
                version: 2,
                ..good.clone()
            }),
            400,
        ),
        (
            "entry not base64",
            json(&escrow::transparency::submit::AddEntry {
                entry: "!!".into(),
                ..good.clone()
            }),
            400,
        ),
        (
            "unknown submitter",
            json(&escrow::transparency::submit::AddEntry {
                submitter: "mallory".into(),
                ..good.clone()
            }),
            401,
        ),
        (
            "signature of another entry",
            json(&escrow::transparency::submit::AddEntry {
                entry: base64::engine::general_purpose::STANDARD
                    .encode(filler(51).to_bytes().unwrap()),
                ..good.clone()
            }),
            401,
        ),
        (
            "auditor's key, authority's name",
            json(&escrow::transparency::submit::AddEntry {
                submitter: "a".into(),
                ..good.clone()
            }),
            401,
        ),
        (
            "auditor records a release",
            json(&auditor.sign(&config, &release_of("a")).unwrap()),
            403,
        ),
        (
            "a records b's release",
            json(&a.sign(&config, &release_of("b")).unwrap()),
            403,
        ),
        (
            "an authority logs a warrant",
            json(&a.sign(&config, &filler(52)).unwrap()),
            403,
        ),
        ("oversized", vec![b' '; 40 * 1024], 413),
        (
            "an authority announces a generation",
            json(
                &a.sign(
                    &config,
                    &LogRecord::new(LogEntry::GenerationCreated {
                        realm: "escrow-lab".into(),
                        generation: 2,
                        master_public_key: "95".repeat(48),
                        threshold: 1,
                        authorities: vec!["a".into()],
                        time: "2026-09-03T00:00:00Z".into(),
                        valid_from: None,
                        valid_until: None,
                    }),
                )
                .unwrap(),
            ),
            403,
        ),
        (
            "a retirement of a generation the log never announced",
            json(
                &a.sign(
                    &config,
                    &LogRecord::new(LogEntry::GenerationRetired {
                        realm: "escrow-lab".into(),
                        generation: 7,
                        authority: "a".into(),
                        time: "2026-09-03T00:00:00Z".into(),
                    }),
                )
                .unwrap(),
            ),
            422,
        ),
        (
            "a retirement of another realm's generation",
            json(
                &a.sign(
                    &config,
                    &LogRecord::new(LogEntry::GenerationRetired {
                        realm: "other".into(),
                        generation: 1,
                        authority: "a".into(),
                        time: "2026-09-03T00:00:00Z".into(),
                    }),
                )
                .unwrap(),
            ),
            422,
        ),
        (
            "a revocation of a generation the log never announced",
            json(
                &a.sign(
                    &config,
                    &LogRecord::new(LogEntry::SharingRevoked {
                        realm: "escrow-lab".into(),
                        generation: 9,
                        authority: "a".into(),
                        session: "ab".repeat(32),
                        time: "2026-09-03T00:00:00Z".into(),
                    }),
                )
                .unwrap(),
            ),
            422,
        ),
        (
            "a release for a warrant never logged",
            json(&a.sign(&config, &release_of("a")).unwrap()),
            422,
        ),
        (
            "a release wider than its warrant's scope",
            json(&a.sign(&config, &release_of_logged("a", 2)).unwrap()),
            422,
        ),
        (
            "an execution without k releases",
            json(
                &auditor
                    .sign(
                        &config,
                        &LogRecord::new(LogEntry::WarrantExecuted {
                            digest: digest_of(0),
                            messages_decrypted: 0,
                            time: "2026-09-03T00:00:00Z".into(),
                        }),
                    )
                    .unwrap(),
            ),
            422,
        ),
    ];
    let mut ahead = filler(53);
    if let LogEntry::WarrantLogged { time, .. } = &mut ahead.entry {
        *time = "2099-01-01T00:00:00Z".into();
    }
    cases.push((
        "dated ahead of the clock",
        json(&auditor.sign(&config, &ahead).unwrap()),
        409,
    ));
    let mut back = filler(54);
    if let LogEntry::WarrantLogged { time, .. } = &mut back.entry {
        *time = "2026-08-01T00:00:00Z".into();
    }
    cases.push((
        "dated before the newest entry",
        json(&auditor.sign(&config, &back).unwrap()),
        409,
    ));
    for (what, body, status) in cases {
        let (got, reason) = post(&url, &body);
        assert_eq!(got, status, "{what}: {reason}");
        assert_eq!(reason.lines().count(), 1, "{what}: one line: {reason:?}");
    }
    for (path, status) in [
        ("tile/0/000.p/4", 200),
        ("tile/0/000.p/5", 404),
        ("tile/0/000", 404),
        ("tile/0/001.p/4", 404),
        ("tile/1/000.p/1", 404),
        ("tile/entries/000.p/4", 200),
        ("tile/entries/0000", 404),
        ("tile/x/000", 404),
        ("nothing", 404),
    ] {
        assert_eq!(get_status(&format!("{url}/{path}")), status, "{path}");
    }
    assert_eq!(
        raw_entries(&lab),
        before,
        "a refused request changed the log"
    );
    // And the good ones go through: a warrant, two releases of a logged one (k = 2), then
    // its execution.
    assert_eq!(post(&url, &json(&good)).0, 200);
    let b = lab.request_signer("b").unwrap();
    assert_eq!(
        post(
            &url,
            &json(&a.sign(&config, &release_of_logged("a", 1)).unwrap())
        )
        .0,
        200
    );
    let execution = LogRecord::new(LogEntry::WarrantExecuted {
        digest: digest_of(0),
        messages_decrypted: 0,
        time: "2026-09-03T00:00:00Z".into(),
    });
    assert_eq!(
        post(&url, &json(&auditor.sign(&config, &execution).unwrap())).0,
        422
    );
    assert_eq!(
        post(
            &url,
            &json(&b.sign(&config, &release_of_logged("b", 1)).unwrap())
        )
        .0,
        200
    );
    assert_eq!(
        post(&url, &json(&auditor.sign(&config, &execution).unwrap())).0,
        200
    );
    assert_eq!(raw_entries(&lab).len(), before.len() + 4);
    server.stop().unwrap();
}

#[test]
fn witnesses_cosign_each_batch_and_refuse_a_fork() {
    let (d, lab) = lab(2);
    let wa = escrow_net::witness_server::start(&lab, "a", listener()).unwrap();
    let wb = escrow_net::witness_server::start(&lab, "b", listener()).unwrap();
    let server = serve(&lab, vec![("a".into(), wa.url()), ("b".into(), wb.url())]);
    let config = lab.load_log_config().unwrap();
    let mut log = http(&lab, &server.url(), "auditor");
    let s = log.submit(&filler(10)).unwrap();
    let (_, cp) = s.receipt.verify(&config).unwrap();
    assert!(cp.cosigned_by(&config, "a").unwrap() && cp.cosigned_by(&config, "b").unwrap());
    assert!(!cp.cosigned_by(&config, "c").unwrap());
    let s2 = log.submit(&filler(11)).unwrap();
    let (_, cp2) = s2.receipt.verify(&config).unwrap();
    assert!(
        cp2.cosigned_by(&config, "a").unwrap(),
        "a consistency proof was accepted"
    );
    server.stop().unwrap();

    // A fork: a copy of the log (same key) that diverges after entry 2, shown to witness a.
    let fork = d.path().join("fork");
    copy_dir(lab.root(), &fork);
    let fork_lab = Lab::new(&fork);
    {
        let config = fork_lab.load_log_config().unwrap();
        let store = fork_lab.open_log(&config).unwrap();
        drop(store);
    }
    truncate_log(&fork_lab, 3);
    let fork_server = serve(&fork_lab, vec![("a".into(), wa.url())]);
    let mut flog = http(&fork_lab, &fork_server.url(), "auditor");
    let state_before = std::fs::read(lab.witness_state_path("a")).unwrap();
    let mut last = None;
    for i in 0..4 {
        last = Some(flog.submit(&filler(90 + i)).unwrap());
    }
    let (_, fcp) = last.unwrap().receipt.verify(&config).unwrap();
    assert_eq!((cp2.size(), fcp.size()), (5, 7));
    assert!(
        !fcp.cosigned_by(&config, "a").unwrap(),
        "witness a cosigned a fork of the log it witnessed"
    );
    assert_eq!(
        std::fs::read(lab.witness_state_path("a")).unwrap(),
        state_before
    );
    // Asked directly, from the size it cosigned, with the fork's own consistency proof.
    let fork_store = fork_lab.open_log_read_only(&config).unwrap();
    let body = escrow_net::witness_server::body(
        5,
        &fork_store.prove_consistency(5, 7).unwrap(),
        &fork_store.checkpoint_note(7).unwrap(),
    );
    let answer =
        |body: &[u8]| match ureq::post(&format!("{}/add-checkpoint", wa.url())).send_bytes(body) {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(s, _)) => s,
            Err(e) => panic!("{e}"),
        };
    assert_eq!(answer(&body), 422, "a fork's proof does not verify");
    // From a size it did not cosign: 409 with its size; a checkpoint smaller than the old
    // size: 400; not signed by the log: 403.
    let stale = escrow_net::witness_server::body(3, &[], &fork_store.checkpoint_note(7).unwrap());
    assert_eq!(answer(&stale), 409);
    let small = escrow_net::witness_server::body(5, &[], &fork_store.checkpoint_note(4).unwrap());
    assert_eq!(answer(&small), 400);
    let mut unsigned = fork_store.checkpoint_note(7).unwrap();
    let cut = unsigned.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    unsigned.truncate(cut);
    unsigned.extend_from_slice("— escrow-lab.invalid/x AAAAAAAA\n".as_bytes());
    assert_eq!(
        answer(&escrow_net::witness_server::body(5, &[], &unsigned)),
        403
    );
    assert_eq!(
        std::fs::read(lab.witness_state_path("a")).unwrap(),
        state_before
    );
    fork_server.stop().unwrap();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            // A SQLite -wal/-shm file may vanish while the copy runs (its last connection
            // closing); the database file carries what was committed.
            match std::fs::copy(e.path(), &t) {
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                r => {
                    r.unwrap();
                }
            }
        }
    }
}

/// Rebuilds `lab`'s log with only its first `n` entries (what a forking operator does).
fn truncate_log(lab: &Lab, n: usize) {
    let config = lab.load_log_config().unwrap();
    let records: Vec<LogRecord> = raw_entries(lab)[..n]
        .iter()
        .map(|b| LogRecord::from_bytes(b).unwrap())
        .collect();
    let path = lab.log_dir().join("log.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let mut store = escrow::transparency::store::LogStore::open(&path, &config.origin).unwrap();
    let signer = escrow::hazmat::log_operator_signer(lab).unwrap();
    for r in &records {
        store.append(r, &signer).unwrap();
    }
}
