//! The messenger's secret types print `***` under `Debug`, never a private key, root key or
//! chain key of the client state.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on setup failure by design

use messenger::Client;
use messenger::keys::{DhKeyPair, Identity};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

#[test]
fn debug_never_shows_a_secret() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let (client, _) = Client::register("alice", &mut rng).unwrap();
    let state: serde_json::Value = serde_json::from_slice(&client.to_json().unwrap()).unwrap();
    let mut secrets: Vec<String> = ["identity_sign", "identity_dh", "signed_prekey"]
        .iter()
        .map(|k| state[k].as_str().unwrap().to_owned())
        .collect();
    for opk in state["one_time_prekeys"].as_array().unwrap() {
        secrets.push(opk[1].as_str().unwrap().to_owned());
    }
    assert!(secrets.iter().all(|s| s.len() >= 64));
    let dh = DhKeyPair::generate(&mut rng);
    let id = Identity::generate(&mut rng);
    for (what, shown) in [
        ("Client", format!("{client:?}")),
        ("DhKeyPair", format!("{dh:?}")),
        ("Identity", format!("{id:?}")),
    ] {
        assert!(shown.contains("***"), "{what}: {shown}");
        for s in &secrets {
            assert!(
                !shown.contains(s.as_str()),
                "{what} shows a secret: {shown}"
            );
        }
    }
}
