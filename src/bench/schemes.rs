//! Two ways to escrow the chains of one account-day, 3 of 5 authorities, one thread each:
//!
//! * this project: every chain key is wrapped (IBE) to the scope identity (account, day); a
//!   warrant costs each authority one identity-key share, whatever the number of chains, and
//!   the auditor verifies and combines k shares once, then unwraps every chain;
//! * per-ciphertext threshold decryption (TPKE, Baek–Zheng as in `threshold_crypto` 0.4, run
//!   here through `blsttc`): every chain key is encrypted to the authorities' joint key; a
//!   warrant costs each authority a ciphertext check and a decryption share per chain, and the
//!   auditor verifies k shares and combines them per chain.
//!
//! Bytes exchanged per warrant: for IBE, k approvals of one warrant share and one identity
//! share (96 bytes each, G2); for TPKE, every ciphertext sent to each of the k authorities and
//! k decryption shares (48 bytes, G1) per chain sent back.

use std::hint::black_box;

use anyhow::{Context, Result};
use blsttc::SecretKeySet;
use escrow::{KeyShare, PreparedIdentityKey, PreparedScope, SetupRequest, combine_identity_key};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use time::OffsetDateTime;

use super::harness::{time, time_runs};
use super::{Options, Row, Unit};

const GROUP: &str = "Escrow schemes, 3 of 5: threshold IBE (ours) vs per-ciphertext TPKE";
const K: usize = 3;

/// The rows of this comparison.
pub fn rows(options: &Options) -> Result<Vec<Row>> {
    let budget = options.budget();
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let names: Vec<String> = ["court", "ministry", "oversight", "provider", "ombudsman"]
        .map(str::to_owned)
        .to_vec();
    let req = SetupRequest::new(names, K, OffsetDateTime::UNIX_EPOCH);
    let (params, shares) = escrow::dealer_setup(&req, &mut rng)?;
    let id = params.identity("alice", 20_000)?;
    let scope = PreparedScope::new(&params, &id)?;
    let tpke = SecretKeySet::random(K - 1, &mut rng);
    let tpke_pk = tpke.public_keys();

    let max = options.max_chains();
    let mut keys: Vec<[u8; 32]> = Vec::with_capacity(max);
    for _ in 0..max {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        keys.push(k);
    }
    let wraps = keys
        .iter()
        .map(|k| scope.wrap(k))
        .collect::<escrow::Result<Vec<_>>>()?;
    let cts: Vec<blsttc::Ciphertext> = keys
        .iter()
        .map(|k| tpke_pk.public_key().encrypt_with_rng(&mut rng, k))
        .collect();

    // IBE, authority: one identity-key share per warrant.
    let ibe_authority = time(budget, || {
        black_box(
            shares[0]
                .release_identity_key_share(&params, black_box(&id))
                .ok(),
        );
    });
    let key_shares: Vec<KeyShare> = shares[..K]
        .iter()
        .map(|s| s.release_identity_key_share(&params, &id))
        .collect::<escrow::Result<_>>()?;
    let ct_len = cts.first().context("no ciphertext")?.to_bytes().len() as f64;

    let mut rows = Vec::new();
    let t = Unit::Seconds;
    for chains in [1usize, 100, max] {
        let runs = if chains >= 1_000 { 1 } else { 3 };
        // TPKE, authority: check each ciphertext and make its decryption share.
        let sk = tpke.secret_key_share(0usize);
        let tpke_authority = if chains == 1 {
            time(budget, || {
                black_box(sk.decrypt_share(black_box(&cts[0])));
            })
        } else {
            time_runs(runs, || {
                for ct in &cts[..chains] {
                    black_box(sk.decrypt_share(ct));
                }
            })
        };
        // IBE, auditor: verify and combine k shares once, then unwrap every chain.
        let ibe_auditor = time_runs(runs.max(if chains == 1 { 5 } else { 1 }), || {
            if let Ok(key) = combine_identity_key(&params, &id, &key_shares) {
                let prepared = PreparedIdentityKey::new(&key);
                for w in &wraps[..chains] {
                    black_box(prepared.unwrap(w).ok());
                }
            }
        });
        // TPKE, auditor: per chain, verify k decryption shares and combine them.
        let dec_shares: Vec<Vec<(usize, blsttc::DecryptionShare)>> = cts[..chains]
            .iter()
            .map(|ct| {
                (0..K)
                    .map(|i| (i, tpke.secret_key_share(i).decrypt_share_no_verify(ct)))
                    .collect()
            })
            .collect();
        let tpke_auditor = time_runs(runs.max(if chains == 1 { 5 } else { 1 }), || {
            for (ct, ds) in cts[..chains].iter().zip(&dec_shares) {
                let ok = ds
                    .iter()
                    .all(|(i, d)| tpke_pk.public_key_share(*i).verify_decryption_share(d, ct));
                if ok {
                    black_box(tpke_pk.decrypt(ds.iter().map(|(i, d)| (*i, d)), ct).ok());
                }
            }
        });
        let ibe_bytes = (K * 2 * 96) as f64;
        let tpke_bytes = chains as f64 * K as f64 * (ct_len + 48.0);
        let n = format!("{chains} chain{}", if chains == 1 { "" } else { "s" });
        rows.push(Row::new(
            GROUP,
            format!("authority work, {n}"),
            t,
            ibe_authority.seconds,
            "TPKE (blsttc)",
            tpke_authority.seconds,
            None,
        ));
        rows.push(Row::new(
            GROUP,
            format!("auditor work, {n}"),
            t,
            ibe_auditor.seconds,
            "TPKE (blsttc)",
            tpke_auditor.seconds,
            None,
        ));
        rows.push(Row::new(
            GROUP,
            format!("bytes exchanged, {n}"),
            Unit::Bytes,
            ibe_bytes,
            "TPKE (blsttc)",
            tpke_bytes,
            None,
        ));
    }
    Ok(rows)
}
