//! The warrant process against the log as a service (`escrow log serve`, C2SP tlog-tiles and
//! signed `add-entry`, witnesses over C2SP tlog-witness): the auditor submits and executes,
//! the authorities approve, each through its own signed requests; only the service holds the
//! log key. The same library procedures as in the one-directory lab, over HTTP on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::net::TcpListener;

use escrow::authority::LabAuthority;
use escrow::transparency::api::TransparencyLog;
use escrow_lab::world::{DAY, World, at};
use escrow_net::client::HttpLog;
use escrow_net::log_server::{self, Options};
use escrow_net::witness_server;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// 2026-11-02T00:00:00Z.
const DAY0: i64 = 1_793_577_600;
const NOW: i64 = DAY0 + 2 * DAY;
const AUTHORITIES: [&str; 3] = ["court", "ministry", "oversight"];

fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

fn http(w: &World, url: &str, who: &str) -> HttpLog {
    HttpLog::new(
        url,
        w.lab.load_log_config().unwrap(),
        Some(w.lab.request_signer(who).unwrap()),
    )
}

#[test]
fn a_warrant_flows_through_the_log_service() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = World::create(
        &tmp.path().join("lab"),
        &AUTHORITIES,
        2,
        DAY0 - 30 * DAY,
        ChaCha20Rng::seed_from_u64(5),
    )
    .unwrap();
    for u in ["alice", "bob"] {
        w.register(u, DAY0 - DAY).unwrap();
    }
    w.send("alice", "bob", "hello", DAY0 + 9 * 3_600).unwrap();
    // Witnesses of court and ministry run as services; oversight's does not.
    let witnesses: Vec<_> = ["court", "ministry"]
        .iter()
        .map(|a| {
            (
                a.to_string(),
                witness_server::start(&w.lab, a, listener()).unwrap(),
            )
        })
        .collect();
    let server = log_server::start(
        &w.lab,
        listener(),
        Options {
            witnesses: witnesses
                .iter()
                .map(|(a, s)| (a.clone(), s.url()))
                .collect(),
            ..Options::default()
        },
    )
    .unwrap();
    let url = server.url();
    let warrant = w
        .warrant("W-1", &["alice"], DAY0, DAY0 + DAY, NOW + 7 * DAY)
        .unwrap();

    // The auditor submits through the service and gets a receipt.
    let mut auditor_log = http(&w, &url, "auditor");
    let sub =
        auditor::submit_warrant_to(&w.lab, &mut auditor_log, &warrant, at(NOW).unwrap()).unwrap();
    assert!(sub.new);
    let receipt = sub.receipt;

    // court and ministry approve: each release is in a checkpoint its own witness cosigned.
    let mut approvals = Vec::new();
    for a in ["court", "ministry"] {
        let mut log = http(&w, &url, a);
        let approved = escrow::authority::approve_with(
            &LabAuthority::new(&w.lab, a),
            &mut log,
            &warrant,
            &receipt,
            at(NOW + 60).unwrap(),
        )
        .unwrap();
        assert!(approved.new);
        approvals.push((a.to_string(), approved.bytes.to_vec()));
    }
    // oversight's witness is not consulted by the service: its release is logged, but no
    // approval leaves it (its own witness never cosigned a checkpoint covering the release).
    let mut log = http(&w, &url, "oversight");
    let err = escrow::authority::approve_with(
        &LabAuthority::new(&w.lab, "oversight"),
        &mut log,
        &warrant,
        &receipt,
        at(NOW + 60).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("not cosigned by oversight"), "{err}");
    // An authority cannot submit in another's name: ministry's key, court's release.
    let mut forged = HttpLog::new(
        &url,
        w.lab.load_log_config().unwrap(),
        Some(
            escrow::transparency::submit::RequestSigner::from_key(
                "court",
                std::str::from_utf8(
                    &std::fs::read(w.lab.authorities_dir().join("ministry/witness.key")).unwrap(),
                )
                .unwrap()
                .trim_end(),
            )
            .unwrap(),
        ),
    );
    let size = forged.size().unwrap();
    assert!(
        forged
            .submit(&auditor::logged_record(&warrant, &w.params, at(NOW + 70).unwrap()).unwrap())
            .unwrap_err()
            .to_string()
            .contains("(401)")
    );
    assert_eq!(forged.size().unwrap(), size);

    // The auditor executes through the service.
    let capture = w.capture("alice", DAY0, NOW, NOW + 100).unwrap();
    let report = auditor::execute::execute_with(
        &w.lab,
        &mut auditor_log,
        &warrant,
        &approvals,
        &capture,
        at(NOW + 300).unwrap(),
    )
    .unwrap();
    assert_eq!(report.decrypted.len(), 1);
    // Executed once: a second run is refused by the log's rule.
    let again = auditor::execute::execute_with(
        &w.lab,
        &mut auditor_log,
        &warrant,
        &approvals,
        &capture,
        at(NOW + 400).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(again.contains("already executed"), "{again}");

    // The served log verifies from its tiles alone, and the lab's monitor agrees.
    let config = w.lab.load_log_config().unwrap();
    let mut state = escrow_net::verify::Remembered::default();
    let served = escrow_net::verify::verify_served(&url, &config, &mut state).unwrap();
    assert_eq!(served.stats.warrants_executed, 1);
    assert_eq!(
        served.cosigned_by,
        vec!["court".to_string(), "ministry".to_string()]
    );
    assert!(auditor::verify_log(&w.lab).is_ok());
    server.stop().unwrap();
}
