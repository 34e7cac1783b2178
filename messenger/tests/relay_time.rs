//! The relay's own record of time (outside review): a sender cannot backdate a message, even
//! with a modified client that ignores its own record. [`Relay::enqueue`] refuses an envelope
//! dated before the sender's newest envelope at the relay (to any recipient) or before either
//! account's registration, in the words of every time rule of the lab.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

mod common;

use common::{DAY, T0, World};
use messenger::{Error, Registration, Relay};

const NINE: i64 = T0 + 9 * 3_600;

#[test]
fn the_relay_refuses_an_envelope_dated_before_the_senders_newest_or_a_registration() {
    let mut w = World::new(&["alice", "bob", "carol"], [9; 32]);
    let mut relay = Relay::in_memory().unwrap();
    let tx = relay.transaction().unwrap();
    for (who, at) in [("alice", T0 - DAY), ("bob", T0 - DAY), ("carol", T0)] {
        let (bundle, opks) = w.bundles[who].clone();
        let reg = Registration {
            bundle,
            one_time_prekeys: opks,
        };
        tx.register(&reg, at).unwrap();
    }
    tx.commit().unwrap();
    // The client library keeps no time: these are what a modified client would hand over.
    let one = w.send("alice", "bob", "one", NINE);
    let two = w.send("alice", "bob", "two", NINE - 60);
    let three = w.send("alice", "carol", "three", NINE - DAY);
    let tx = relay.transaction().unwrap();
    assert_eq!(tx.enqueue(&w.sent[&one].env, NINE).unwrap(), 1);
    let err = tx.enqueue(&w.sent[&two].env, NINE - 60).unwrap_err();
    assert!(matches!(err, Error::TimeBackwards(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the message at 2026-11-27T08:59:00Z is before alice's newest envelope at the relay \
         (#1) at 2026-11-27T09:00:00Z: simulated time never goes backwards"
    );
    // Asked directly (what `messenger send` does before it encrypts), the same answer.
    assert_eq!(
        tx.check_time("alice", "carol", NINE - 60)
            .unwrap_err()
            .to_string(),
        err.to_string()
    );
    // The same second is not before it.
    assert_eq!(tx.enqueue(&w.sent[&two].env, NINE).unwrap(), 2);
    // Before the recipient's registration.
    let err = tx.enqueue(&w.sent[&three].env, NINE - DAY).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the message at 2026-11-26T09:00:00Z is before carol's registration at \
         2026-11-27T00:00:00Z: simulated time never goes backwards"
    );
    // Another sender's newest envelope does not count: bob may still send at 08:00.
    tx.check_time("bob", "alice", NINE - 3_600).unwrap();
    tx.check_time("carol", "alice", T0).unwrap();
    assert!(tx.check_time("carol", "alice", T0 - 1).is_err());
}
