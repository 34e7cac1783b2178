//! The DKG run by separate commands over the lab's bulletin board (`escrow dkg …`).
//!
//! ```text
//! dkg/session.json                 the session: realm, generation, k, epoch length, time,
//!                                  authorities and their transport public keys (public)
//! dkg/deal-<A>.json                A's deal                                  (public)
//! dkg/response-<A>.json            A's complaints                            (public)
//! dkg/justification-<A>.json       A's revealed rows                         (public)
//! dkg/finished-<A>.json            A's view of the result: MPK, QUAL         (public)
//! dkg/private/<A>/transport.json   A's transport secret                      (0600)
//! dkg/private/<A>/dealer.json      A's polynomial, between deal and justify  (0600)
//! dkg/private/<A>/share.json       A's finished share, until installed       (0600)
//! ```
//!
//! Each step needs the previous step of every authority (a missing one is named; there are no
//! timeouts in the lab), and no step can be taken twice: the board enforces the rounds that
//! `qualify` assumes (every response exists before any justification, so no complaint can
//! arrive after the dealers answered). When the last authority finishes, the generation is installed exactly
//! as `escrow setup` installs one (`params.json`, one `authorities/<A>/share.json` each, the
//! transparency log with `generation-created`) and every private DKG file is destroyed. In a
//! lab all authorities share one folder; each command reads only its own authority's private
//! files except the final installation, which gathers the finished shares like a dealer-less
//! `escrow setup` would.

use std::path::PathBuf;

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::Deal;
use super::transport::TransportKey;
use super::{
    DealerSecret, DkgConfig, Justification, Qualified, Response, deal, finish, justify, respond,
};
use crate::encoding::{FORMAT_VERSION, from_json, to_json};
use crate::error::{Error, LabError, Result};
use crate::lab::{Lab, create_dir_all_private, read_limited, write_atomic};
use crate::setup::{AuthorityShare, SetupRequest};

const MAX_FILE: u64 = 1 << 22;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionFile {
    version: u64,
    kind: String,
    realm: String,
    generation: u32,
    threshold: usize,
    epoch_length_secs: u64,
    created_at: String,
    authorities: Vec<String>,
    transport_keys: Vec<String>,
    nonce: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretFile {
    version: u64,
    kind: String,
    authority: String,
    secret: String,
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

fn dir(lab: &Lab) -> PathBuf {
    lab.root().join("dkg")
}

fn private(lab: &Lab, who: &str) -> PathBuf {
    dir(lab).join("private").join(who)
}

fn missing(path: PathBuf) -> Error {
    LabError::NotSetUp { path }.into()
}

/// The session of the lab's DKG.
pub fn load_config(lab: &Lab) -> Result<DkgConfig> {
    let path = dir(lab).join("session.json");
    if !path.exists() {
        return Err(missing(path));
    }
    let f: SessionFile = from_json("DKG session", &read_limited(&path, MAX_FILE)?)?;
    if f.kind != "escrow-lab/dkg-session" {
        return Err(Error::WrongKind {
            what: "DKG session",
            found: f.kind.clone(),
        });
    }
    let created_at =
        OffsetDateTime::parse(&f.created_at, &Rfc3339).map_err(|_| Error::BadTime {
            what: "created_at",
            value: f.created_at.clone(),
        })?;
    let mut request = SetupRequest::new(f.authorities.clone(), f.threshold, created_at);
    request.realm = f.realm.clone();
    request.generation = f.generation;
    request.epoch_length = f.epoch_length_secs;
    let config = DkgConfig {
        request,
        transport_keys: f.transport_keys.clone(),
        nonce: f.nonce.clone(),
    };
    config.validate()?;
    Ok(config)
}

/// Opens a session: the lab must be new; every authority gets a transport key (0600).
pub fn start<R: RngCore + CryptoRng>(
    lab: &Lab,
    request: &SetupRequest,
    rng: &mut R,
) -> Result<DkgConfig> {
    lab.check_empty_for_setup()?;
    let d = dir(lab);
    if d.symlink_metadata().is_ok() {
        return Err(LabError::AlreadySetUp { path: d }.into());
    }
    let (config, keys) = DkgConfig::generate(request, rng)?;
    let created_at = request
        .created_at
        .format(&Rfc3339)
        .map_err(|_| Error::Internal("RFC 3339 formatting"))?;
    for (name, key) in request.authorities.iter().zip(&keys) {
        let p = private(lab, name);
        create_dir_all_private(&p)?;
        let f = SecretFile {
            version: FORMAT_VERSION,
            kind: "escrow-lab/dkg-transport-secret".into(),
            authority: name.clone(),
            secret: key.secret_hex().to_string(),
        };
        write_atomic(
            &p.join("transport.json"),
            &Zeroizing::new(to_json(&f)?),
            0o600,
        )?;
    }
    let f = SessionFile {
        version: FORMAT_VERSION,
        kind: "escrow-lab/dkg-session".into(),
        realm: request.realm.clone(),
        generation: request.generation,
        threshold: request.threshold,
        epoch_length_secs: request.epoch_length,
        created_at,
        authorities: request.authorities.clone(),
        transport_keys: config.transport_keys.clone(),
        nonce: config.nonce.clone(),
    };
    write_atomic(&d.join("session.json"), &to_json(&f)?, 0o644)?;
    Ok(config)
}

fn index(config: &DkgConfig, who: &str) -> Result<usize> {
    config
        .index_of(who)
        .ok_or_else(|| Error::NotAnAuthority(who.to_owned()))
}

fn secret(lab: &Lab, who: &str, file: &str, kind: &str) -> Result<Zeroizing<Vec<u8>>> {
    let path = private(lab, who).join(file);
    if !path.exists() {
        return Err(missing(path));
    }
    let f: SecretFile = from_json("DKG secret", &read_limited(&path, MAX_FILE)?)?;
    if f.kind != kind || f.authority != who {
        return Err(Error::WrongKind {
            what: "DKG secret",
            found: f.kind.clone(),
        });
    }
    hex::decode(&f.secret)
        .map(Zeroizing::new)
        .map_err(|_| Error::Hex {
            field: "secret",
            expected: 0,
        })
}

fn transport(lab: &Lab, who: &str) -> Result<TransportKey> {
    let bytes = secret(
        lab,
        who,
        "transport.json",
        "escrow-lab/dkg-transport-secret",
    )?;
    TransportKey::from_secret_hex(&hex::encode(bytes.as_slice()))
}

/// Every authority's message of one step; names the first authority missing.
fn all<T>(
    config: &DkgConfig,
    lab: &Lab,
    step: &str,
    parse: impl Fn(&[u8]) -> Result<T>,
) -> Result<Vec<T>> {
    config
        .request
        .authorities
        .iter()
        .map(|a| {
            let path = dir(lab).join(format!("{step}-{a}.json"));
            if !path.exists() {
                return Err(Error::DkgWaiting {
                    step: step.to_owned(),
                    authority: a.clone(),
                });
            }
            parse(&read_limited(&path, MAX_FILE)?)
        })
        .collect()
}

/// `who` deals: publishes its deal, keeps its polynomial (0600) for the justification.
pub fn deal_as<R: RngCore + CryptoRng>(lab: &Lab, who: &str, rng: &mut R) -> Result<Deal> {
    let config = load_config(lab)?;
    let i = index(&config, who)?;
    let out = dir(lab).join(format!("deal-{who}.json"));
    if out.exists() {
        return Err(LabError::AlreadySetUp { path: out }.into());
    }
    let (d, s) = deal(&config, i, rng)?;
    let f = SecretFile {
        version: FORMAT_VERSION,
        kind: "escrow-lab/dkg-dealer-secret".into(),
        authority: who.to_owned(),
        secret: hex::encode(s.to_bytes().as_slice()),
    };
    write_atomic(
        &private(lab, who).join("dealer.json"),
        &Zeroizing::new(to_json(&f)?),
        0o600,
    )?;
    write_atomic(&out, &d.to_json()?, 0o644)?;
    Ok(d)
}

/// `who` checks its rows from every deal and publishes its complaints (once).
pub fn respond_as(lab: &Lab, who: &str) -> Result<Response> {
    let config = load_config(lab)?;
    let i = index(&config, who)?;
    let out = dir(lab).join(format!("response-{who}.json"));
    if out.exists() {
        return Err(LabError::AlreadySetUp { path: out }.into());
    }
    let deals = all(&config, lab, "deal", Deal::from_json)?;
    let r = respond(&config, i, &transport(lab, who)?, &deals)?;
    write_atomic(&out, &r.to_json()?, 0o644)?;
    Ok(r)
}

/// `who` answers the complaints about it (once, after every response).
pub fn justify_as(lab: &Lab, who: &str) -> Result<Justification> {
    let config = load_config(lab)?;
    let i = index(&config, who)?;
    let out = dir(lab).join(format!("justification-{who}.json"));
    if out.exists() {
        return Err(LabError::AlreadySetUp { path: out }.into());
    }
    let deals = all(&config, lab, "deal", Deal::from_json)?;
    let responses = all(&config, lab, "response", Response::from_json)?;
    let poly = secret(lab, who, "dealer.json", "escrow-lab/dkg-dealer-secret")?;
    let s = DealerSecret::from_bytes(&config, i, &poly)?;
    let j = justify(&config, &s, &deals, &responses)?;
    write_atomic(&out, &j.to_json()?, 0o644)?;
    Ok(j)
}

/// What [`finish_as`] did.
#[derive(Debug)]
pub struct Finished {
    /// The public result.
    pub qualified: Qualified,
    /// Whether this was the last authority: the generation is now installed.
    pub installed: bool,
}

/// `who` computes the result and its share; the last authority installs the generation.
pub fn finish_as<R: RngCore + CryptoRng>(lab: &Lab, who: &str, rng: &mut R) -> Result<Finished> {
    let config = load_config(lab)?;
    let i = index(&config, who)?;
    let deals = all(&config, lab, "deal", Deal::from_json)?;
    let responses = all(&config, lab, "response", Response::from_json)?;
    let justs = all(&config, lab, "justification", Justification::from_json)?;
    let (q, share) = finish(
        &config,
        i,
        &transport(lab, who)?,
        &deals,
        &responses,
        &justs,
    )?;
    // Sealed with this authority's passphrase if it gave one: the installer copies the file.
    write_atomic(
        &private(lab, who).join("share.json"),
        &lab.encode_share(&share)?,
        0o600,
    )?;
    let mpk = crate::encoding::g1_hex(q.params.master_public_key());
    let marker = serde_json::json!({"version": FORMAT_VERSION, "kind": "escrow-lab/dkg-finished",
        "authority": who, "master_public_key": mpk, "qualified": q.qualified});
    write_atomic(
        &dir(lab).join(format!("finished-{who}.json")),
        &to_json(&marker)?,
        0o644,
    )?;
    // Installed once every authority has finished (and all agree on the key).
    let mut shares = Vec::new();
    for a in &config.request.authorities {
        let m = dir(lab).join(format!("finished-{a}.json"));
        if !m.exists() {
            return Ok(Finished {
                qualified: q,
                installed: false,
            });
        }
        let v: serde_json::Value = from_json("DKG finished", &read_limited(&m, MAX_FILE)?)?;
        if v["master_public_key"].as_str() != Some(mpk.as_str()) {
            return Err(Error::Internal(
                "authorities finished the DKG with different keys",
            ));
        }
        let bytes = Zeroizing::new(read_limited(&private(lab, a).join("share.json"), MAX_FILE)?);
        // A plain file is checked here; a sealed one was checked by its authority's `finish`
        // (against the same key) before sealing, and only that authority can open it.
        if !crate::sealed::is_sealed(&bytes) {
            AuthorityShare::from_json(&bytes, &q.params)?;
        }
        shares.push((a.clone(), bytes));
    }
    let log =
        crate::transparency::generate_log(&config.request.realm, &config.request.authorities, rng);
    lab.write_setup_files(&q.params, &shares, &log)?;
    // The private DKG state (transport keys, polynomials, staged shares) is destroyed.
    for a in &config.request.authorities {
        let p = private(lab, a);
        for f in ["dealer.json", "transport.json", "share.json"] {
            crate::lab::destroy_file(&p.join(f))?;
        }
        let _ = std::fs::remove_dir(&p);
    }
    let _ = std::fs::remove_dir(dir(lab).join("private"));
    Ok(Finished {
        qualified: q,
        installed: true,
    })
}
