//! `escrow::filekind` on real files: those the `escrow` binary writes in a lab (parameters,
//! shares plain and sealed, the log's configuration, a witness state, proof bundles, the DKG
//! and resharing boards, an approval) and the committed fuzzing seeds the other tools wrote
//! (warrant, receipt, capture, client state, approval).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use std::path::Path;

use escrow::filekind::{FileKind, kind_of, wrong_kind};
use test_support::{lab, run};

fn ok(lab: &Path, args: &[&str]) -> Vec<u8> {
    run::ok_in("escrow", lab, args).into_bytes()
}

fn kind_of_file(path: &Path) -> Option<FileKind> {
    kind_of(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

#[test]
fn the_files_of_a_lab_are_told_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let lab = tmp.path().join("lab");
    ok(
        &lab,
        &[
            "setup",
            "--dkg",
            "--authorities",
            "a,b,c",
            "--threshold",
            "2",
        ],
    );
    ok(&lab, &["log", "cosign", "--as", "a"]);
    ok(&lab, &["seal", "--as", "b", "--passphrase-env", "HOME"]);
    let proof = ok(&lab, &["log", "prove", "--index", "0"]);
    ok(&lab, &["refresh"]);
    ok(&lab, &["reshare", "join", "--as", "a"]);
    for (file, kind) in [
        ("params.json", FileKind::Params),
        ("authorities/a/share.json", FileKind::Share),
        ("authorities/b/share.json", FileKind::SealedShare),
        ("authorities/a/witness.json", FileKind::WitnessState),
        ("log/log.json", FileKind::LogConfig),
        ("dkg/session.json", FileKind::BoardSession),
        ("dkg/join-a.json", FileKind::BoardMessage),
        ("dkg/deal-b.json", FileKind::BoardMessage),
        ("dkg/response-c.json", FileKind::BoardMessage),
        ("dkg/justification-a.json", FileKind::BoardMessage),
        ("dkg/finished-b.json", FileKind::BoardMessage),
        ("reshare/session.json", FileKind::BoardSession),
        ("reshare/join-a.json", FileKind::BoardMessage),
        ("reshare/private/a/keys.json", FileKind::BoardSecret),
    ] {
        assert_eq!(kind_of_file(&lab.join(file)), Some(kind), "{file}");
    }
    // A logged warrant's proof bundle is a receipt (what `auditor warrant submit` writes).
    let record =
        escrow::transparency::LogRecord::new(escrow::transparency::LogEntry::WarrantLogged {
            digest: "ab".repeat(32),
            reference: "W-1".into(),
            target_count: 1,
            epoch_count: 1,
            issuing_authority: "court".into(),
            // Now: after the set-up, and not ahead of the clock.
            time: time::OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
        });
    let index = lab::append(&escrow::lab::Lab::new(&lab), &record).index;
    let receipt = ok(&lab, &["log", "prove", "--index", &index.to_string()]);
    assert_eq!(kind_of(&receipt), Some(FileKind::Receipt));
    // `log prove` of the first entry (generation-created): a proof bundle, not a receipt.
    assert_eq!(kind_of(&proof), Some(FileKind::ProofBundle));
    assert_eq!(
        wrong_kind(Path::new("p.json"), &proof, FileKind::Receipt).as_deref(),
        Some(
            "p.json: expected a receipt (from `auditor warrant submit`), found a log proof \
             bundle of an entry other than a warrant"
        )
    );
    assert_eq!(
        wrong_kind(Path::new("p.json"), &proof, FileKind::ProofBundle),
        None
    );
    // Files that are no escrow-lab format at all are left to their parser.
    for file in ["log/log.key", "authorities/a/witness.key", "log/log.sqlite"] {
        assert_eq!(kind_of_file(&lab.join(file)), None, "{file}");
    }
}

#[test]
fn the_files_of_the_other_tools_are_told_apart() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (file, kind) in [
        ("warrant/warrant.json", FileKind::Warrant),
        // The seed named "receipt" is the proof bundle of a `warrant-executed` entry.
        ("receipt/receipt.json", FileKind::ProofBundle),
        ("approval/court.json", FileKind::Approval),
        ("capture/capture.json", FileKind::Capture),
        ("client_state/alice.json", FileKind::ClientState),
        ("sealed/share.sealed.json", FileKind::SealedShare),
        ("params/params.json", FileKind::Params),
        ("share/court.json", FileKind::Share),
        ("checkpoint/log.json", FileKind::LogConfig),
        ("dkg_messages/deal.json", FileKind::BoardMessage),
    ] {
        assert_eq!(kind_of_file(&seeds.join(file)), Some(kind), "{file}");
    }
    let warrant = std::fs::read(seeds.join("warrant/warrant.json")).unwrap();
    assert_eq!(
        wrong_kind(Path::new("w.json"), &warrant, FileKind::Receipt).as_deref(),
        Some("w.json: expected a receipt (from `auditor warrant submit`), found a warrant")
    );
    let capture = std::fs::read(seeds.join("capture/capture.json")).unwrap();
    assert_eq!(
        wrong_kind(Path::new("c.json"), &capture, FileKind::ExecutionReport).as_deref(),
        Some("c.json: expected an execution report (from `auditor execute`), found a capture")
    );
    // Every description names where such a file comes from.
    assert_eq!(
        FileKind::Approval.describe(),
        "an approval (from `escrow approve`)"
    );
    assert_eq!(
        FileKind::Capture.describe(),
        "a capture (from `messenger intercept`)"
    );
}
