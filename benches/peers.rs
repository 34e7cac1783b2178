//! Side-by-side benchmarks against peer implementations, in one process:
//! `cargo bench -p escrow-lab --bench peers` (about 100 s on two cores, setup included).
//!
//! Group `ibe` — escrow-lab's IBE next to tlock-rs 0.0.10 (drand's tlock in Rust, arkworks
//! underneath) and next to the blst floor:
//! * encrypt: `PreparedScope::wrap`, cold `escrow::wrap::wrap`, and `escrow::ibe::encrypt` with a
//!   cold identity (SHA-256(round), hash to G2, encrypt: exactly what `tlock::encrypt` does) vs
//!   `tlock::encrypt`. tlock-rs carries 16 bytes only (see `tests/tlock_interop.rs`), so the
//!   IBE-level comparison is on a 16-byte message; the wraps are of 32-byte keys;
//! * decrypt: `PreparedIdentityKey::unwrap`, `escrow::unwrap`, and `escrow::ibe::decrypt` of the
//!   tlock ciphertext (parse included) vs `tlock::decrypt`;
//! * the floor: one G1 scalar multiplication + one pairing, one prepared-lines pairing
//!   (`multi_miller_loop` with a `G2Prepared` + final exponentiation), one G1 multiplication.
//!
//! Group `escrow-schemes` — this project's warrant-scoped IBE vs per-ciphertext threshold
//! decryption (TPKE) with `threshold_crypto` 0.4, 3-of-5, for a warrant covering 1, 100 and
//! 1,000 chains of one account-day:
//! * authority work (one authority): IBE releases one identity-key share, whatever the number
//!   of chains; TPKE verifies every chain's ciphertext (`Ciphertext::verify`) and makes a
//!   decryption share for it;
//! * auditor work: IBE verifies and combines k shares once (`combine_identity_key`) and unwraps
//!   every chain with the prepared key; TPKE verifies k decryption shares per chain
//!   (`PublicKeyShare::verify_decryption_share`) and combines per chain (`PublicKeySet::decrypt`);
//! * TPKE at 1,000 chains is one timed pass (about 15 s), not a criterion series: ten samples
//!   would take minutes, and the work is a sum of independent per-chain operations (the
//!   100-chain median × 10 is printed next to it). 10,000 chains: `escrow-lab bench`.
//! * `threshold_crypto` 0.4 runs on `pairing` 0.16 (zkcrypto's pure-Rust BLS12-381, 2020), not
//!   blst, so part of the gap is the library. To separate scheme from library, the group also
//!   times the TPKE per-chain checks written with blstrs (same equations, one hash to G2 per
//!   chain, two-pair Miller loops): a lower bound for TPKE on blst, labelled "model".
//! * bytes exchanged, from serialized sizes: IBE sends k × 96-byte shares per scope identity and
//!   nothing per chain; TPKE sends each chain's ciphertext to each of k authorities and gets k
//!   × 48-byte decryption shares back.
//!
//! After each group a table prints our median next to the peer's. Medians are of the measured
//! samples' per-iteration times (the criterion "median" estimate), recorded with `iter_custom`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use blstrs::{G1Affine, G1Projective, G2Affine, G2Prepared, G2Projective, Scalar};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, black_box, criterion_group};
use escrow::ibe::{self, Ciphertext};
use escrow::{
    KeyShare, PreparedIdentityKey, PreparedScope, SetupRequest, combine_identity_key, dealer_setup,
};
use ff::Field;
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use pairing::{MillerLoopResult, MultiMillerLoop};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use threshold_crypto::ff::PrimeField as _;
use threshold_crypto::poly::Poly;
use threshold_crypto::{
    DecryptionShare, PublicKeySet, PublicKeyShare, SecretKeySet, SecretKeyShare,
};
use time::OffsetDateTime;

const DRAND_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_";
const K: usize = 3;
const N_AUTHORITIES: usize = 5;
const CHAINS: [usize; 3] = [1, 100, 1_000];
/// TPKE chain counts measured by criterion; larger ones get one timed pass.
const TPKE_CRITERION_MAX: usize = 100;
const EPOCH: u64 = 20_784;

// ---------------------------------------------------------------------------------------------
// Recording medians next to criterion.

/// Per-iteration times of every call criterion makes to each routine.
#[derive(Default)]
struct Recorder {
    times: RefCell<BTreeMap<String, Vec<f64>>>,
    samples: RefCell<BTreeMap<String, usize>>,
}

impl Recorder {
    /// Runs `f` as benchmark `name` in `g`, recording per-iteration times.
    fn bench<O>(
        &self,
        g: &mut BenchmarkGroup<'_, WallTime>,
        samples: usize,
        name: &str,
        mut f: impl FnMut() -> O,
    ) {
        self.samples.borrow_mut().insert(name.to_owned(), samples);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(f());
                }
                let d = start.elapsed();
                self.times
                    .borrow_mut()
                    .entry(name.to_owned())
                    .or_default()
                    .push(d.as_secs_f64() / iters.max(1) as f64);
                d
            })
        });
    }

    /// Median of the measured samples: criterion's warm-up calls come first, then exactly
    /// `samples` measured calls (fewer in `--test` mode). `None` if the bench was filtered out.
    fn median(&self, name: &str) -> Option<f64> {
        let times = self.times.borrow();
        let all = times.get(name)?;
        let n = self.samples.borrow().get(name).copied().unwrap_or(1);
        let mut v = all[all.len().saturating_sub(n)..].to_vec();
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        Some(if v.len() % 2 == 1 {
            v[m]
        } else {
            (v[m - 1] + v[m]) / 2.0
        })
    }

    /// A warning line if some recorded bench was not fully measured (`--test` mode: one
    /// iteration each).
    fn warn_if_partial(&self) {
        let partial = self.times.borrow().keys().any(|name| !self.measured(name));
        if partial {
            println!("  (not a measurement: some benches ran once, e.g. in --test mode)");
        }
    }

    /// Whether `name` ran a full criterion measurement (not `--test` mode, not filtered out).
    fn measured(&self, name: &str) -> bool {
        let n = self
            .samples
            .borrow()
            .get(name)
            .copied()
            .unwrap_or(usize::MAX);
        self.times.borrow().get(name).is_some_and(|v| v.len() >= n)
    }
}

fn fmt_time(secs: Option<f64>) -> String {
    match secs {
        None => "-".into(),
        Some(s) if s >= 1.0 => format!("{s:.2} s"),
        Some(s) if s >= 0.1 => format!("{:.0} ms", s * 1e3),
        Some(s) if s >= 0.01 => format!("{:.1} ms", s * 1e3),
        Some(s) if s >= 1e-3 => format!("{:.2} ms", s * 1e3),
        Some(s) => format!("{:.0} µs", s * 1e6),
    }
}

fn fmt_ratio(num: Option<f64>, den: Option<f64>) -> String {
    match (num, den) {
        (Some(a), Some(b)) if b > 0.0 && a / b >= 100.0 => format!("{:.0}×", a / b),
        (Some(a), Some(b)) if b > 0.0 && a / b >= 10.0 => format!("{:.1}×", a / b),
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "-".into(),
    }
}

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
    samples: usize,
    measure: Duration,
    mode: SamplingMode,
) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(samples)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(measure)
        .sampling_mode(mode);
    g
}

// ---------------------------------------------------------------------------------------------
// Shared setup.

fn q_of_round(round: u64) -> G2Affine {
    let id = Sha256::digest(round.to_be_bytes());
    G2Projective::hash_to_curve(&id, DRAND_DST, &[]).to_affine()
}

fn escrow_setup(rng: &mut ChaCha20Rng) -> (escrow::PublicParams, Vec<escrow::AuthorityShare>) {
    let names = ["court", "ministry", "oversight", "provider", "ombudsman"]
        .map(str::to_owned)
        .to_vec();
    assert_eq!(names.len(), N_AUTHORITIES);
    let req = SetupRequest::new(names, K, OffsetDateTime::UNIX_EPOCH);
    dealer_setup(&req, rng).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Group a: IBE vs tlock-rs.

fn bench_ibe(c: &mut Criterion) {
    let rec = Recorder::default();
    let mut rng = ChaCha20Rng::from_seed([11; 32]);
    let (params, shares) = escrow_setup(&mut rng);
    let id = params.identity("alice", EPOCH).unwrap();
    let key = [0x42u8; 32];
    let scope = PreparedScope::new(&params, &id).unwrap();
    let wrap = scope.wrap(&key).unwrap();
    let key_shares: Vec<KeyShare> = shares[..K]
        .iter()
        .map(|s| s.release_identity_key_share(&params, &id).unwrap())
        .collect();
    let id_key = combine_identity_key(&params, &id, &key_shares).unwrap();
    let prepared_key = PreparedIdentityKey::new(&id_key);

    // A drand-style chain for tlock: MPK = s·G1, d_id = s·H(SHA-256(round)).
    let s = Scalar::random(&mut rng);
    let mpk = (G1Projective::generator() * s).to_affine();
    let pk_bytes = mpk.to_compressed();
    let round = 1_000_000u64;
    let d_id = (q_of_round(round) * s).to_affine();
    let sig = d_id.to_compressed();
    let mut msg = [0u8; 16];
    rng.fill_bytes(&mut msg);
    msg[15] |= 1; // tlock strips trailing zeros; keep the comparison exact.
    let mut tct = Vec::new();
    tlock::encrypt(&mut tct, &msg[..], &pk_bytes, round).unwrap();
    let mut check = Vec::new();
    tlock::decrypt(&mut check, tct.as_slice(), &sig).unwrap();
    assert_eq!(check, msg);
    let r = Scalar::random(&mut rng);
    let u = (G1Projective::generator() * r).to_affine();
    let lines = G2Prepared::from(d_id);

    let samples = 20;
    let mut g = group(
        c,
        "ibe",
        samples,
        Duration::from_secs(2),
        SamplingMode::Auto,
    );
    let b = |g: &mut BenchmarkGroup<'_, WallTime>, name: &str, f: &mut dyn FnMut()| {
        rec.bench(g, samples, name, f)
    };
    b(&mut g, "ours: wrap, prepared scope (32 B)", &mut || {
        black_box(scope.wrap(black_box(&key)).unwrap());
    });
    b(&mut g, "ours: wrap, cold (32 B)", &mut || {
        black_box(escrow::wrap::wrap(&params, black_box(&id), &key).unwrap());
    });
    let mut sigma_rng = ChaCha20Rng::from_seed([12; 32]);
    b(
        &mut g,
        "ours: ibe::encrypt, cold identity (16 B)",
        &mut || {
            let mut sigma = [0u8; 16];
            sigma_rng.fill_bytes(&mut sigma);
            let q = q_of_round(black_box(round));
            black_box(ibe::encrypt(&mpk, &q, &msg, &sigma).unwrap().to_bytes());
        },
    );
    b(&mut g, "tlock: encrypt (16 B)", &mut || {
        let mut out = Vec::with_capacity(80);
        tlock::encrypt(&mut out, black_box(&msg[..]), &pk_bytes, round).unwrap();
        black_box(out);
    });
    b(
        &mut g,
        "ours: PreparedIdentityKey::unwrap (32 B)",
        &mut || {
            black_box(prepared_key.unwrap(black_box(&wrap)).unwrap());
        },
    );
    b(&mut g, "ours: escrow::unwrap (32 B)", &mut || {
        black_box(escrow::unwrap(black_box(&wrap), &id_key).unwrap());
    });
    b(&mut g, "ours: ibe::decrypt of tlock ct (16 B)", &mut || {
        let ct = Ciphertext::from_bytes(black_box(&tct)).unwrap();
        black_box(ibe::decrypt(&ct, &d_id).unwrap());
    });
    b(&mut g, "tlock: decrypt (16 B)", &mut || {
        let mut out = Vec::with_capacity(16);
        tlock::decrypt(&mut out, black_box(tct.as_slice()), &sig).unwrap();
        black_box(out);
    });
    b(&mut g, "floor: G1 mult + pairing", &mut || {
        let p = (G1Affine::generator() * black_box(r)).to_affine();
        black_box(blstrs::pairing(&p, &d_id));
    });
    b(&mut g, "floor: prepared-lines pairing", &mut || {
        black_box(
            blstrs::Bls12::multi_miller_loop(&[(black_box(&u), &lines)]).final_exponentiation(),
        );
    });
    b(&mut g, "floor: G1 mult", &mut || {
        black_box((G1Affine::generator() * black_box(r)).to_affine());
    });
    g.finish();
    drop(shares);

    let m = |n: &str| rec.median(n);
    let tl_enc = m("tlock: encrypt (16 B)");
    let tl_dec = m("tlock: decrypt (16 B)");
    println!();
    println!("ibe — medians, ours vs tlock-rs 0.0.10 (ratio = tlock / ours)");
    println!(
        "  {:<44} {:>10} {:>10} {:>7}",
        "operation", "ours", "tlock", "ratio"
    );
    for (label, ours, peer) in [
        (
            "encrypt: wrap, prepared scope (32 B)",
            "ours: wrap, prepared scope (32 B)",
            tl_enc,
        ),
        (
            "encrypt: wrap, cold (32 B)",
            "ours: wrap, cold (32 B)",
            tl_enc,
        ),
        (
            "encrypt: ibe::encrypt, cold identity (16 B)",
            "ours: ibe::encrypt, cold identity (16 B)",
            tl_enc,
        ),
        (
            "decrypt: PreparedIdentityKey::unwrap (32 B)",
            "ours: PreparedIdentityKey::unwrap (32 B)",
            tl_dec,
        ),
        (
            "decrypt: escrow::unwrap (32 B)",
            "ours: escrow::unwrap (32 B)",
            tl_dec,
        ),
        (
            "decrypt: ibe::decrypt of tlock ct (16 B)",
            "ours: ibe::decrypt of tlock ct (16 B)",
            tl_dec,
        ),
    ] {
        println!(
            "  {:<44} {:>10} {:>10} {:>7}",
            label,
            fmt_time(m(ours)),
            fmt_time(peer),
            fmt_ratio(peer, m(ours))
        );
    }
    rec.warn_if_partial();
    let g1 = m("floor: G1 mult");
    let pp = m("floor: prepared-lines pairing");
    println!("  floor (blst):");
    for name in [
        "floor: G1 mult + pairing",
        "floor: prepared-lines pairing",
        "floor: G1 mult",
    ] {
        println!("    {:<42} {:>10}", &name[7..], fmt_time(m(name)));
    }
    // Op counts: prepared wrap = 2 G1 mults + 1 prepared pairing; prepared unwrap = 1 prepared
    // pairing + 1 G1 mult (the Fujisaki–Okamoto check).
    let floor_wrap = g1.zip(pp).map(|(a, b)| 2.0 * a + b);
    let floor_unwrap = g1.zip(pp).map(|(a, b)| a + b);
    println!(
        "    wrap (prepared) vs its floor 2·G1 mult + prepared pairing: {} / {} = {}",
        fmt_time(m("ours: wrap, prepared scope (32 B)")),
        fmt_time(floor_wrap),
        fmt_ratio(m("ours: wrap, prepared scope (32 B)"), floor_wrap)
    );
    println!(
        "    unwrap (prepared) vs its floor G1 mult + prepared pairing: {} / {} = {}",
        fmt_time(m("ours: PreparedIdentityKey::unwrap (32 B)")),
        fmt_time(floor_unwrap),
        fmt_ratio(m("ours: PreparedIdentityKey::unwrap (32 B)"), floor_unwrap)
    );
    println!();
}

// ---------------------------------------------------------------------------------------------
// Group b: warrant-scoped IBE vs per-ciphertext threshold decryption.

/// A `threshold_crypto` field element from 256 random bits, top bits cleared (< 2^254 < r).
fn tc_fr(rng: &mut ChaCha20Rng) -> threshold_crypto::Fr {
    let mut limbs = [0u64; 4];
    for l in &mut limbs {
        *l = rng.next_u64();
    }
    limbs[3] &= 0x3fff_ffff_ffff_ffff;
    threshold_crypto::Fr::from_repr(threshold_crypto::FrRepr(limbs)).unwrap()
}

/// Number of bytes in a serde value made of byte tuples and byte vectors (what
/// `threshold_crypto` serializes): the count of its numeric leaves. No length prefixes.
fn serde_bytes<T: serde::Serialize>(v: &T) -> usize {
    fn leaves(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Number(_) => 1,
            serde_json::Value::Array(a) => a.iter().map(leaves).sum(),
            serde_json::Value::Object(o) => o.values().map(leaves).sum(),
            _ => 0,
        }
    }
    leaves(&serde_json::to_value(v).unwrap())
}

struct Tpke {
    pks: PublicKeySet,
    sk: Vec<SecretKeyShare>,
    pk_shares: Vec<PublicKeyShare>,
    cts: Vec<threshold_crypto::Ciphertext>,
    /// `shares[chain][authority]` for authorities 0..K.
    shares: Vec<Vec<DecryptionShare>>,
}

impl Tpke {
    fn new(rng: &mut ChaCha20Rng, chains: usize) -> Self {
        // Degree k-1: any k shares decrypt.
        let poly = Poly::from((0..K).map(|_| tc_fr(rng)).collect::<Vec<_>>());
        let sks = SecretKeySet::from(poly);
        let pks = sks.public_keys();
        let sk: Vec<SecretKeyShare> = (0..N_AUTHORITIES)
            .map(|i| sks.secret_key_share(i))
            .collect();
        let pk_shares = (0..N_AUTHORITIES)
            .map(|i| pks.public_key_share(i))
            .collect();
        let pk = pks.public_key();
        let cts: Vec<_> = (0..chains)
            .map(|_| {
                let mut key = [0u8; 32];
                rng.fill_bytes(&mut key);
                pk.encrypt(key)
            })
            .collect();
        // The shares the authorities would send (the unverified variant computes the same value).
        let shares = cts
            .iter()
            .map(|ct| {
                sk[..K]
                    .iter()
                    .map(|s| s.decrypt_share_no_verify(ct))
                    .collect()
            })
            .collect();
        Self {
            pks,
            sk,
            pk_shares,
            cts,
            shares,
        }
    }

    /// One authority: verify each ciphertext, make its decryption share.
    fn authority(&self, n: usize) -> Vec<DecryptionShare> {
        self.cts[..n]
            .iter()
            .map(|ct| {
                assert!(ct.verify());
                self.sk[0].decrypt_share_no_verify(ct)
            })
            .collect()
    }

    /// The auditor: per chain, verify k shares and combine them.
    fn auditor(&self, n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|j| {
                let ct = &self.cts[j];
                for (i, d) in self.shares[j].iter().enumerate() {
                    assert!(self.pk_shares[i].verify_decryption_share(d, ct));
                }
                self.pks
                    .decrypt(self.shares[j].iter().enumerate(), ct)
                    .unwrap()
            })
            .collect()
    }
}

/// The TPKE checks on blstrs (the "model"): ciphertext (U = r·G1, V, W = r·H(U‖V)),
/// decryption share D_i = x_i·U. Authority: H, e(G1, W) == e(U, H), D_i. Auditor: H once, then
/// e(D_i, H) == e(PK_i, W) for k shares, and Σ λ_i·D_i.
struct BlstTpke {
    u: G1Affine,
    v: [u8; 32],
    w: G2Affine,
    x: Vec<Scalar>,
    pk: Vec<G1Affine>,
    d: Vec<G1Affine>,
    lambda: Vec<Scalar>,
}

impl BlstTpke {
    fn new(rng: &mut ChaCha20Rng) -> Self {
        let r = Scalar::random(&mut *rng);
        let u = (G1Projective::generator() * r).to_affine();
        let mut v = [0u8; 32];
        rng.fill_bytes(&mut v);
        let h = Self::h(&u, &v);
        let w = (h * r).to_affine();
        let x: Vec<Scalar> = (0..K).map(|_| Scalar::random(&mut *rng)).collect();
        let pk = x
            .iter()
            .map(|x| (G1Projective::generator() * x).to_affine())
            .collect();
        let d = x.iter().map(|x| (u * x).to_affine()).collect();
        let lambda = (0..K).map(|_| Scalar::random(&mut *rng)).collect();
        Self {
            u,
            v,
            w,
            x,
            pk,
            d,
            lambda,
        }
    }

    fn h(u: &G1Affine, v: &[u8]) -> G2Affine {
        let msg = [&u.to_compressed()[..], v].concat();
        G2Projective::hash_to_curve(&msg, b"TPKE-MODEL", &[]).to_affine()
    }

    /// e(a, b) == e(c, d) as one two-pair Miller loop and one final exponentiation.
    fn pair_eq(a: &G1Affine, b: &G2Affine, c: &G1Affine, d: &G2Affine) -> bool {
        let neg_a = -a;
        let (b, d) = (G2Prepared::from(*b), G2Prepared::from(*d));
        bool::from(
            blstrs::Bls12::multi_miller_loop(&[(&neg_a, &b), (c, &d)])
                .final_exponentiation()
                .is_identity(),
        )
    }

    fn authority_per_chain(&self) -> G1Affine {
        let h = Self::h(&self.u, &self.v);
        assert!(Self::pair_eq(&G1Affine::generator(), &self.w, &self.u, &h));
        (self.u * self.x[0]).to_affine()
    }

    fn auditor_per_chain(&self) -> G1Affine {
        let h = Self::h(&self.u, &self.v);
        for (d, pk) in self.d.iter().zip(&self.pk) {
            assert!(Self::pair_eq(d, &h, pk, &self.w));
        }
        let mut acc = G1Projective::identity();
        for (d, l) in self.d.iter().zip(&self.lambda) {
            acc += *d * l;
        }
        acc.to_affine()
    }
}

fn bench_schemes(c: &mut Criterion) {
    let rec = Recorder::default();
    let mut rng = ChaCha20Rng::from_seed([13; 32]);
    let n_max = *CHAINS.iter().max().unwrap();

    // IBE: one account-day, n_max chains wrapped to it.
    let (params, shares) = escrow_setup(&mut rng);
    let id = params.identity("alice", EPOCH).unwrap();
    let scope = PreparedScope::new(&params, &id).unwrap();
    let wraps: Vec<escrow::Wrap> = (0..n_max)
        .map(|_| {
            let mut k = [0u8; 32];
            rng.fill_bytes(&mut k);
            scope.wrap(&k).unwrap()
        })
        .collect();
    let key_shares: Vec<KeyShare> = shares[..K]
        .iter()
        .map(|s| s.release_identity_key_share(&params, &id).unwrap())
        .collect();

    // TPKE: n_max chain keys encrypted, k authorities' decryption shares.
    let tpke = Tpke::new(&mut rng, n_max);
    assert_eq!(tpke.auditor(1)[0].len(), 32);
    let model = BlstTpke::new(&mut rng);

    let samples = 10;
    let mut g = group(
        c,
        "escrow-schemes",
        samples,
        Duration::from_secs(2),
        SamplingMode::Flat,
    );
    let ibe_auth = "IBE authority: one identity-key share (any n)";
    rec.bench(&mut g, samples, ibe_auth, || {
        shares[0]
            .release_identity_key_share(&params, black_box(&id))
            .unwrap()
    });
    let tpke_enc = "TPKE sender: PublicKey::encrypt (32 B)";
    rec.bench(&mut g, samples, tpke_enc, || {
        tpke.pks.public_key().encrypt(black_box([7u8; 32]))
    });
    let ibe_wrap = "IBE sender: wrap, prepared scope (32 B)";
    rec.bench(&mut g, samples, ibe_wrap, || {
        scope.wrap(black_box(&[7u8; 32])).unwrap()
    });
    for n in CHAINS {
        rec.bench(&mut g, samples, &format!("IBE auditor: {n} chains"), || {
            let key = combine_identity_key(&params, &id, black_box(&key_shares)).unwrap();
            let p = PreparedIdentityKey::new(&key);
            for w in &wraps[..n] {
                black_box(p.unwrap(w).unwrap());
            }
        });
    }
    for n in CHAINS.into_iter().filter(|n| *n <= TPKE_CRITERION_MAX) {
        rec.bench(
            &mut g,
            samples,
            &format!("TPKE authority: {n} chains"),
            || tpke.authority(black_box(n)),
        );
        rec.bench(
            &mut g,
            samples,
            &format!("TPKE auditor: {n} chains"),
            || tpke.auditor(black_box(n)),
        );
    }
    let model_auth = "TPKE on blst (model): authority, per chain";
    rec.bench(&mut g, samples, model_auth, || model.authority_per_chain());
    let model_aud = "TPKE on blst (model): auditor, per chain";
    rec.bench(&mut g, samples, model_aud, || model.auditor_per_chain());
    g.finish();

    // TPKE beyond the criterion range: one timed pass each, only in a real measuring run.
    let mut single: BTreeMap<String, f64> = BTreeMap::new();
    let last = format!("TPKE auditor: {TPKE_CRITERION_MAX} chains");
    if rec.measured(&last) {
        for n in CHAINS.into_iter().filter(|n| *n > TPKE_CRITERION_MAX) {
            let t = Instant::now();
            let out = tpke.authority(n);
            single.insert(
                format!("TPKE authority: {n} chains"),
                t.elapsed().as_secs_f64(),
            );
            assert!(out.len() == n && out[0] == tpke.shares[0][0]);
            let t = Instant::now();
            let keys = tpke.auditor(n);
            single.insert(
                format!("TPKE auditor: {n} chains"),
                t.elapsed().as_secs_f64(),
            );
            assert_eq!(keys.len(), n);
        }
    }
    let m = |name: &str| rec.median(name).or_else(|| single.get(name).copied());

    // Bytes exchanged.
    let share_raw = key_shares[0].share_bytes().len();
    let share_json = key_shares[0].to_json().unwrap().len();
    let ct_bytes = serde_bytes(&tpke.cts[0]);
    let dshare_bytes = serde_bytes(&tpke.shares[0][0]);
    let ibe_bytes = K * share_raw;
    let tpke_bytes = |n: usize| n * K * (ct_bytes + dshare_bytes);

    println!();
    println!(
        "escrow-schemes — {K}-of-{N_AUTHORITIES}, one account-day; medians (ratio = TPKE / IBE)"
    );
    println!(
        "  {:>6} | {:>10} {:>10} {:>8} | {:>10} {:>10} {:>8} | {:>6} {:>9}",
        "chains",
        "auth IBE",
        "auth TPKE",
        "ratio",
        "aud IBE",
        "aud TPKE",
        "ratio",
        "B IBE",
        "B TPKE"
    );
    for n in CHAINS {
        let ta = format!("TPKE authority: {n} chains");
        let tu = format!("TPKE auditor: {n} chains");
        let star = if single.contains_key(&ta) { "*" } else { " " };
        let ia = m(ibe_auth);
        let iu = m(&format!("IBE auditor: {n} chains"));
        println!(
            "  {:>6} | {:>10} {:>9}{star} {:>8} | {:>10} {:>9}{star} {:>8} | {:>6} {:>9}",
            n,
            fmt_time(ia),
            fmt_time(m(&ta)),
            fmt_ratio(m(&ta), ia),
            fmt_time(iu),
            fmt_time(m(&tu)),
            fmt_ratio(m(&tu), iu),
            ibe_bytes,
            tpke_bytes(n),
        );
    }
    rec.warn_if_partial();
    if !single.is_empty() {
        let ext = |name: &str| {
            rec.median(name)
                .map(|t| t * (n_max / TPKE_CRITERION_MAX) as f64)
        };
        println!(
            "  * one timed pass; the {TPKE_CRITERION_MAX}-chain median × {} gives authority {}, \
             auditor {}",
            n_max / TPKE_CRITERION_MAX,
            fmt_time(ext(&format!("TPKE authority: {TPKE_CRITERION_MAX} chains"))),
            fmt_time(ext(&last)),
        );
    }
    println!(
        "  authority work is one authority's; k = {K} authorities each do it (IBE: one share per \
         scope identity, whatever the number of chains)."
    );
    println!(
        "  sender, per chain: IBE wrap {} (two per chain start: sender and recipient scopes), \
         TPKE encrypt {}",
        fmt_time(m(ibe_wrap)),
        fmt_time(m(tpke_enc)),
    );
    let (ma, mu) = (m(model_auth), m(model_aud));
    println!(
        "  TPKE equations on blst (model, lower bound): authority {} per chain, auditor {} per \
         chain; at {n_max} chains {} and {} (IBE: {} and {})",
        fmt_time(ma),
        fmt_time(mu),
        fmt_time(ma.map(|t| t * n_max as f64)),
        fmt_time(mu.map(|t| t * n_max as f64)),
        fmt_time(m(ibe_auth)),
        fmt_time(m(&format!("IBE auditor: {n_max} chains"))),
    );
    println!(
        "  bytes exchanged (B): IBE {K} × {share_raw}-byte identity-key shares per scope identity \
         ({share_json} B each as escrow-lab's KeyShare JSON), none per chain; TPKE per chain: the \
         {ct_bytes}-byte ciphertext (U 48 ‖ V 32 ‖ W 96) to each of {K} authorities and {K} × \
         {dshare_bytes}-byte decryption shares back = {} B",
        tpke_bytes(1)
    );
    println!();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = bench_ibe, bench_schemes
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
