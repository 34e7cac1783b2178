//! `escrow-lab bench` produces every comparison the performance issue names, with the peer or
//! limit measured in the same run and a verdict on every goal. Run with tiny budgets and sizes
//! (`smoke`): the figures mean nothing here and nothing is asserted about them — only the
//! structure and what is compared with what (timings live in benches and docs/performance.md).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use escrow_lab::bench::{Options, Unit, run};

#[test]
fn every_comparison_is_made_with_its_reference() {
    let table = run(
        &Options {
            quick: true,
            smoke: true,
        },
        &mut |_| {},
    )
    .unwrap();
    let find = |what: &str, reference: &str| {
        table
            .rows
            .iter()
            .find(|r| r.what == what && r.reference.starts_with(reference))
            .unwrap_or_else(|| panic!("no row {what} vs {reference}"))
    };
    // 1. IBE vs tlock and the floor: ≥ 2× faster, within 1.2× of the floor.
    for what in ["wrap, prepared identity", "unwrap, prepared key"] {
        let vs_tlock = find(what, "tlock::");
        assert_eq!(vs_tlock.goal.unwrap().at_most, Some(0.5));
        let vs_floor = find(what, "floor: ");
        assert_eq!(vs_floor.goal.unwrap().at_most, Some(1.2));
    }
    // 2. Escrow schemes at 1, 100 and the largest scope: authority, auditor, bytes.
    for n in ["1 chain", "100 chains", "200 chains"] {
        for kind in ["authority work", "auditor work", "bytes exchanged"] {
            find(&format!("{kind}, {n}"), "TPKE");
        }
    }
    // Bytes are exact, not timed: IBE sends k approvals of two 96-byte shares whatever the
    // number of chains; TPKE sends every ciphertext to k authorities and k shares back.
    let ibe = find("bytes exchanged, 100 chains", "TPKE");
    assert_eq!(ibe.ours, 576.0);
    assert_eq!(ibe.theirs, 100.0 * 3.0 * (176.0 + 48.0));
    // 3. Messenger with and without escrow: in-chain goals ≤ 1.02, escrow bytes.
    for what in ["in-chain encrypt, 100 B", "in-chain decrypt, 4096 B"] {
        assert_eq!(
            find(what, "without escrow").goal.unwrap().at_most,
            Some(1.02)
        );
    }
    assert_eq!(
        find("escrow B/message, alternating senders", "without").ours,
        236.0
    );
    assert_eq!(
        find("escrow B/message, 100-message chains", "without").ours,
        2.36
    );
    assert_eq!(find("in-chain escrow bytes, 100 B", "without").ours, 0.0);
    // 4. AES-GCM throughput vs the raw crate, goal ≥ 0.9.
    let aes = find("seal 4096 B", "raw aes-gcm");
    assert_eq!(
        (aes.unit, aes.goal.unwrap().at_least),
        (Unit::BytesPerSecond, Some(0.9))
    );
    // 5. The auditor on two threads vs one.
    find("200 chains, 2000 messages", "one thread");

    // Every goal has a verdict; every timing is a positive number.
    for r in &table.rows {
        assert_eq!(r.goal.is_some(), r.met.is_some(), "{r:?}");
        if r.unit == Unit::Seconds {
            assert!(r.ours > 0.0 && r.theirs > 0.0, "{r:?}");
        }
    }
    let mut text = Vec::new();
    table.write_text(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("goals met"), "{text}");
    let json = serde_json::to_value(&table).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), table.rows.len());
    assert!(table.to_markdown().lines().count() > table.rows.len());
}
