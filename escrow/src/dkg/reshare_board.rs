//! A resharing (or a proactive refresh) run by separate commands over the lab's board
//! `reshare/`, one command per authority per round, as the DKG's board ([`super::board`]):
//!
//! ```text
//! reshare/session.json             the proposal: generation, its commitment's digest, dealers,
//!                                  new authorities, new threshold, nonce      (no secret)
//! reshare/join-<A>.json            A's public keys, self-signed (every old and new authority)
//! reshare/deal-<A>.json            old dealer A's commitment and encrypted values (signed)
//! reshare/response-<B>.json        new authority B's complaints (signed)
//! reshare/justification-<A>.json   A's revealed values and the responses they answer
//! reshare/finished-<B>.json        B's result: new commitment digest, dealers used, transcript
//! reshare/revoked-<A>.json         old authority A destroyed its old share (signed)
//! reshare/private/<A>/…            A's own keys, polynomial, view, staged share (0600)
//! ```
//!
//! `revoke --as A` runs only once every new authority has finished with the same result, and
//! after A has checked that result itself from the public messages (the new sharing keeps the
//! master key): it destroys A's old share, logs `sharing-revoked`, and signs its marker. When
//! n − k + 1 old authorities have revoked — fewer than k old shares remain — the new sharing
//! replaces the old one (each new share copied from its authority's own state, the parameters
//! replaced, `generation-reshared` logged, new authorities' witness keys added to `log.json`)
//! and the board moves to `reshares/<G>-<session>/` for monitors. Until then the old sharing
//! stays in force, so a resharing that stalls loses nothing.

use std::path::PathBuf;

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::place::{MAX_FILE, Place, Staged};
use super::refusal::{DkgRefusal, Procedure};
use super::reshare::{
    self, ReshareConfig, ReshareSecret, Reshared, commitment_digest, finished_marker,
};
use super::{Deal, Finished, Join, Justification, PartyKeys, Response, Signed, SigningKeys};
use crate::encoding::{FORMAT_VERSION, from_json, to_json};
use crate::error::{Error, LabError, Result};
use crate::lab::{Lab, create_dir_all_private, read_limited, write_atomic};
use crate::transparency::api::{LocalLog, TransparencyLog, check_time};
use crate::transparency::{LogEntry, LogRecord, WitnessKey};

/// What a completing revocation still has to do after the new sharing is in the log
/// (`reshare/completing.json`, public): with it, any later `escrow reshare` command finishes a
/// completion a crash interrupted (new witnesses into `log.json`, the private states
/// destroyed, the board archived).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Completion {
    version: u64,
    session: String,
    generation: u32,
    commitment: String,
    witnesses: Vec<WitnessKey>,
}

fn completion_path(lab: &Lab) -> PathBuf {
    lab.reshare_dir().join("completing.json")
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionFile {
    version: u64,
    kind: String,
    realm: String,
    generation: u32,
    /// SHA-256 of the generation's commitment when the resharing started.
    old_commitment: String,
    from: Vec<String>,
    to: Vec<String>,
    threshold: usize,
    nonce: String,
}

/// An old authority's signed statement that it destroyed its old share.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revoked {
    /// Format version.
    pub version: u64,
    /// `"escrow-lab/reshare-revoked"`.
    pub kind: String,
    /// Session id, hex.
    pub session: String,
    /// The old authority.
    pub authority: String,
    /// The new sharing it checked before destroying its share (commitment digest, hex).
    pub new_commitment: String,
    /// Signature, hex.
    pub signature: String,
}

impl Signed for Revoked {
    fn sender(&self) -> &str {
        &self.authority
    }
    fn signature_mut(&mut self) -> &mut String {
        &mut self.signature
    }
    fn signature(&self) -> &str {
        &self.signature
    }
}

impl Revoked {
    /// Parses a revocation marker.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let r: Self = from_json("revocation", bytes)?;
        if r.kind != "escrow-lab/reshare-revoked" {
            return Err(Error::WrongKind {
                what: "reshare revocation",
                found: r.kind.clone(),
            });
        }
        Ok(r)
    }
}

fn place(lab: &Lab) -> Place {
    Place::new(lab.reshare_dir())
}

fn session_path(lab: &Lab) -> PathBuf {
    lab.reshare_dir().join("session.json")
}

/// Opens a resharing of generation `g` from the dealers `from` (default: every authority) to
/// `to` with threshold `threshold`; no key is made here.
pub fn start<R: RngCore + CryptoRng>(
    lab: &Lab,
    g: u32,
    from: Option<Vec<String>>,
    to: Vec<String>,
    threshold: usize,
    rng: &mut R,
) -> Result<ReshareConfig> {
    let old = lab.load_generation(g)?;
    let dir = lab.reshare_dir();
    if dir.symlink_metadata().is_ok() {
        return Err(Error::DkgRefused(DkgRefusal::ReshareOpen { path: dir }));
    }
    let from = from.unwrap_or_else(|| old.authorities().iter().map(|a| a.name.clone()).collect());
    for n in &to {
        crate::identity::check_name("authority", n)?;
    }
    let config = ReshareConfig::propose(old, from, to, threshold, rng)?;
    let f = SessionFile {
        version: FORMAT_VERSION,
        kind: "escrow-lab/reshare-session".into(),
        realm: config.old.realm().to_owned(),
        generation: g,
        old_commitment: commitment_digest(&config.old),
        from: config.from.clone(),
        to: config.to.clone(),
        threshold: config.threshold,
        nonce: config.nonce.clone(),
    };
    create_dir_all_private(&dir)?;
    write_atomic(&session_path(lab), &to_json(&f)?, 0o644)?;
    Ok(config)
}

/// The proposal, against the generation as the lab holds it now.
fn load_proposal(lab: &Lab) -> Result<ReshareConfig> {
    let path = session_path(lab);
    if !path.exists() {
        return Err(Error::DkgRefused(DkgRefusal::NoReshareSession));
    }
    let f: SessionFile = from_json("reshare session", &read_limited(&path, MAX_FILE)?)?;
    if f.kind != "escrow-lab/reshare-session" {
        return Err(Error::WrongKind {
            what: "reshare session",
            found: f.kind.clone(),
        });
    }
    let old = lab.load_generation(f.generation)?;
    if commitment_digest(&old) != f.old_commitment || old.realm() != f.realm {
        if finish_interrupted(lab, &old)? {
            return Err(Error::DkgRefused(DkgRefusal::NoReshareSession));
        }
        return Err(Error::DkgRefused(DkgRefusal::SharingChanged));
    }
    let c = ReshareConfig {
        parties: reshare::parties(&old, &f.to),
        old,
        from: f.from,
        to: f.to,
        threshold: f.threshold,
        transport_keys: Vec::new(),
        signing_keys: Vec::new(),
        nonce: f.nonce,
    };
    c.check_proposal()?;
    Ok(c)
}

/// The open resharing's proposal: its id (16 hex digits, to compare out of band) and what it
/// proposes, in words.
pub fn describe_proposal(lab: &Lab) -> Result<(String, String)> {
    let c = load_proposal(lab)?;
    Ok((
        hex::encode(&c.proposal()[..8]),
        format!(
            "generation {} of realm {}, {}-of-{} ({}) dealt by {} to {} of {} ({})",
            c.old.generation(),
            c.old.realm(),
            c.old.threshold(),
            c.old.authorities().len(),
            c.old
                .authorities()
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            c.from.join(", "),
            c.threshold,
            c.to.len(),
            c.to.join(", ")
        ),
    ))
}

/// Who must join the open resharing: every old authority, then the new names.
pub fn parties_of(lab: &Lab) -> Result<Vec<String>> {
    Ok(load_proposal(lab)?.parties)
}

fn load_joins(lab: &Lab, c: &ReshareConfig) -> Result<Vec<Join>> {
    place(lab).joins(&c.parties, &c.proposal(), c.old.realm())
}

/// The session with every party's public keys.
pub fn load_config(lab: &Lab) -> Result<ReshareConfig> {
    let mut c = load_proposal(lab)?;
    let joins = load_joins(lab, &c)?;
    c.transport_keys = joins.iter().map(|j| j.transport_key.clone()).collect();
    c.signing_keys = joins.iter().map(|j| j.signing_key.clone()).collect();
    c.validate()?;
    Ok(c)
}

fn party(c: &ReshareConfig, who: &str) -> Result<usize> {
    c.party(who)
        .ok_or_else(|| Error::NotAnAuthority(who.to_owned()))
}

/// `who` (an old or new authority) joins with its own keys; a new authority without a witness
/// key in the lab's log also makes one.
pub fn join_as<R: RngCore + CryptoRng>(lab: &Lab, who: &str, rng: &mut R) -> Result<Join> {
    let c = load_proposal(lab)?;
    party(&c, who)?;
    let pl = place(lab);
    if pl.has_keys(who) {
        return Err(Error::DkgRefused(DkgRefusal::KeysAlreadyHeld {
            procedure: Procedure::Resharing,
            who: who.to_owned(),
        }));
    }
    if pl.file("join", who).exists() {
        return Err(Error::DkgRefused(DkgRefusal::JoinedInName {
            procedure: Procedure::Resharing,
            who: who.to_owned(),
        }));
    }
    let keys = pl.make_keys(who, rng)?;
    let log = lab.load_log_config()?;
    let witness = if log.witnesses.iter().any(|w| w.authority == who) {
        String::new()
    } else {
        let (public, secret) = crate::transparency::generate_witness_key(c.old.realm(), who, rng);
        write_atomic(
            &pl.private(who).join("witness.key"),
            secret.as_bytes(),
            0o600,
        )?;
        public.key
    };
    let j = Join::new(
        &c.proposal(),
        who,
        keys.transport.public_hex(),
        &keys.signing,
        witness,
    )?;
    pl.send(who, "join", &j.to_json()?)?;
    Ok(j)
}

/// Every party's join fingerprint, in party order (see [`super::board::fingerprints`]).
pub fn fingerprints(lab: &Lab) -> Result<Vec<(String, String)>> {
    let c = load_proposal(lab)?;
    Ok(load_joins(lab, &c)?
        .iter()
        .map(|j| (j.authority.clone(), super::board::fingerprint(j)))
        .collect())
}

fn me(lab: &Lab, who: &str) -> Result<(ReshareConfig, PartyKeys)> {
    let proposal = load_proposal(lab)?;
    let i = party(&proposal, who)?;
    let keys = place(lab).own_keys(who)?;
    let c = load_config(lab)?;
    if c.transport_keys[i] != keys.transport.public_hex()
        || c.signing_keys[i] != keys.signing.public_hex()
    {
        return Err(Error::DkgRefused(DkgRefusal::KeysReplaced {
            procedure: Procedure::Resharing,
            who: who.to_owned(),
        }));
    }
    Ok((c, keys))
}

fn all<T: Signed>(
    c: &ReshareConfig,
    lab: &Lab,
    names: &[String],
    round: &'static str,
    parse: impl Fn(&[u8]) -> Result<T>,
) -> Result<Vec<T>> {
    place(lab).all(c, &hex::encode(c.session()), names, round, parse)
}

/// Old authority `who` deals its own share (loaded from its own state).
pub fn deal_as<R: RngCore + CryptoRng>(lab: &Lab, who: &str, rng: &mut R) -> Result<Deal> {
    let (c, keys) = me(lab, who)?;
    if !c.from.iter().any(|d| d == who) {
        return Err(Error::DkgRefused(DkgRefusal::NotADealer {
            who: who.to_owned(),
        }));
    }
    let pl = place(lab);
    if pl.sent(who, "deal") {
        return pl.republish(who, "deal", Deal::from_json);
    }
    let share = lab.load_share(&c.old, who)?;
    let (d, s) = reshare::deal(&c, &share, &keys.signing, rng)?;
    pl.write_secret(
        who,
        "dealer.json",
        "escrow-lab/reshare-dealer-secret",
        &s.to_bytes(),
    )?;
    pl.send(who, "deal", &d.to_json()?)?;
    Ok(d)
}

/// New authority `who` checks its values and publishes its complaints.
pub fn respond_as(lab: &Lab, who: &str) -> Result<Response> {
    let (c, keys) = me(lab, who)?;
    if !c.to.iter().any(|d| d == who) {
        return Err(Error::DkgRefused(DkgRefusal::NotANewAuthority {
            who: who.to_owned(),
        }));
    }
    let pl = place(lab);
    if pl.sent(who, "response") {
        return pl.republish(who, "response", Response::from_json);
    }
    let deals = all(&c, lab, &c.from, "deal", Deal::from_json)?;
    let r = reshare::respond(&c, who, &keys, &deals)?;
    pl.save_view(who, "deals.json", &deals)?;
    pl.send(who, "response", &r.to_json()?)?;
    Ok(r)
}

/// Old dealer `who` answers the complaints about it, carrying the responses it answers.
pub fn justify_as(lab: &Lab, who: &str) -> Result<Justification> {
    let (c, keys) = me(lab, who)?;
    if !c.from.iter().any(|d| d == who) {
        return Err(Error::DkgRefused(DkgRefusal::NotADealer {
            who: who.to_owned(),
        }));
    }
    let pl = place(lab);
    if pl.sent(who, "justification") {
        return pl.republish(who, "justification", Justification::from_json);
    }
    let deals = all(&c, lab, &c.from, "deal", Deal::from_json)?;
    let responses = all(&c, lab, &c.to, "response", Response::from_json)?;
    let poly = pl.read_secret(who, "dealer.json", "escrow-lab/reshare-dealer-secret")?;
    let s = ReshareSecret::from_bytes(&c, &poly)?;
    let j = reshare::justify(&c, who, &s, &keys.signing, &deals, &responses)?;
    pl.send(who, "justification", &j.to_json()?)?;
    Ok(j)
}

/// What [`finish_as`] or [`revoke_as`] did.
#[derive(Debug)]
pub struct Progress {
    /// The result.
    pub reshared: Reshared,
    /// Old authorities that have revoked their share.
    pub revoked: Vec<String>,
    /// How many revocations complete the resharing (n − k + 1).
    pub needed: usize,
    /// Whether the new sharing is now in force.
    pub completed: bool,
    /// New authorities whose staged share is gone or altered: they get no share.
    pub without_share: Vec<String>,
}

/// New authority `who` computes its new share from the deals it checked, stages it in its own
/// state and signs its result.
pub fn finish_as(lab: &Lab, who: &str) -> Result<Progress> {
    let (c, keys) = me(lab, who)?;
    if !c.to.iter().any(|d| d == who) {
        return Err(Error::DkgRefused(DkgRefusal::NotANewAuthority {
            who: who.to_owned(),
        }));
    }
    let pl = place(lab);
    let deals: Vec<Deal> = pl.load_view(who, "deals.json", "respond")?;
    let justs = all(&c, lab, &c.from, "justification", Justification::from_json)?;
    super::check_own_view(&c, who, &deals, &justs)?;
    let (r, share) = reshare::finish(&c, who, &keys.transport, &deals, &justs)?;
    let mut marker = finished_marker(&c, who, &keys.signing, &r, &deals, &justs)?;
    marker.share = pl.stage_share(who, &lab.encode_share(&share)?)?;
    let marker = marker.signed(&keys.signing)?;
    pl.send(who, "finished", &marker.to_json()?)?;
    progress(lab, &c, r)
}

/// The result every new authority agreed on, recomputed here from the public messages: refuses
/// unless every marker is present, signed, and names that result and transcript.
fn agreed(lab: &Lab, c: &ReshareConfig) -> Result<(Reshared, Staged)> {
    let deals = all(c, lab, &c.from, "deal", Deal::from_json)?;
    let justs = all(c, lab, &c.from, "justification", Justification::from_json)?;
    let r = reshare::qualify(c, &deals, &justs)?;
    let digest = reshare::transcript_digest(c, &deals, &justs)?;
    let markers = all(c, lab, &c.to, "finished", Finished::from_json)?;
    // At least k' new shares must still be the files their authorities finished with: no
    // old share is destroyed, and nothing installed, for a new sharing that could not be
    // used. A new authority whose staged file is gone or altered (its own doing, or a lab
    // writer's) gets no share, as if it had retired; it cannot stall the others.
    let (staged, bad) = place(lab).take_staged_some(&markers);
    if staged.len() < c.threshold {
        return Err(Error::DkgRefused(DkgRefusal::TooFewStaged {
            staged: staged.len(),
            needed: c.threshold,
            unusable: bad.into_iter().map(|(_, why)| why).collect(),
        }));
    }
    let want = commitment_digest(&r.params);
    for m in &markers {
        if m.transcript != digest || m.master_public_key != want || m.qualified != r.used {
            return Err(Error::DkgRefused(DkgRefusal::MarkerDisagrees {
                who: m.authority.clone(),
            }));
        }
    }
    Ok((r, staged))
}

fn revoked(lab: &Lab, c: &ReshareConfig) -> Vec<String> {
    let pl = place(lab);
    let session = hex::encode(c.session());
    c.old
        .authorities()
        .iter()
        .filter(|a| {
            pl.peek("revoked", &a.name, Revoked::from_json)
                .is_some_and(|r| {
                    r.session == session && r.authority == a.name && r.verify(c as &dyn SigningKeys)
                })
        })
        .map(|a| a.name.clone())
        .collect()
}

fn progress(lab: &Lab, c: &ReshareConfig, r: Reshared) -> Result<Progress> {
    let n = c.old.authorities().len();
    Ok(Progress {
        reshared: r,
        revoked: revoked(lab, c),
        needed: n - c.old.threshold() + 1,
        completed: false,
        without_share: Vec::new(),
    })
}

/// Old authority `who` checks the new sharing from the public messages, destroys its old
/// share, logs `sharing-revoked` and signs its marker; the revocation that leaves fewer than k
/// old shares completes the resharing.
pub fn revoke_as(lab: &Lab, who: &str, at: OffsetDateTime) -> Result<Progress> {
    // One revocation at a time: each reads the board's state, destroys, logs and perhaps
    // completes (and archives the board) before the next reads it.
    let _lock = lab.lock_reshare()?;
    let (c, keys) = me(lab, who)?;
    if c.old.authority(who).is_none() {
        return Err(Error::DkgRefused(DkgRefusal::NoOldShare {
            who: who.to_owned(),
        }));
    }
    let (r, staged) = agreed(lab, &c)?;
    let session = hex::encode(c.session());
    let g = c.old.generation();
    let time = crate::encoding::rfc3339(at)?;
    // Submitted like every authority's entry (the log role signs), with the share destroyed
    // under the log's write lock first: no seal or refresh can write it back, and a crash in
    // between leaves a destroyed share and no entry, which re-running completes.
    let mut log = LocalLog::open(lab)?;
    log.locked(|log| {
        let key = format!("generation/{}/{g}", c.old.realm());
        let mut logged = false;
        for i in log.lookup(&key)? {
            logged |= matches!(log.entry(i)?.entry, LogEntry::SharingRevoked { session: s, authority: a, .. }
                if s == session && a == who);
        }
        // The time is checked before the share is destroyed: a refused time changes nothing.
        if !logged {
            check_time(log, "the revocation", &time)?;
        }
        crate::authority::check_witnessed(lab, log, who)?;
        lab.destroy_share(who, g)?;
        // Its dealing polynomial hides the old share as its constant term: destroyed with it
        // (justify, the last step that reads it, is behind every revocation).
        crate::lab::destroy_file(&place(lab).private(who).join("dealer.json"))?;
        if logged {
            return Ok(());
        }
        log.submit(&LogRecord::new(LogEntry::SharingRevoked {
            realm: c.old.realm().to_owned(),
            generation: g,
            authority: who.to_owned(),
            session: session.clone(),
            time: time.clone(),
        }))?;
        Ok(())
    })?;
    drop(log);
    let marker = Revoked {
        version: FORMAT_VERSION,
        kind: "escrow-lab/reshare-revoked".into(),
        session: session.clone(),
        authority: who.to_owned(),
        new_commitment: commitment_digest(&r.params),
        signature: String::new(),
    }
    .signed(&keys.signing)?;
    place(lab).send(who, "revoked", &to_json(&marker)?)?;
    let mut p = progress(lab, &c, r)?;
    p.without_share =
        c.to.iter()
            .filter(|b| !staged.iter().any(|(a, _)| a == *b))
            .cloned()
            .collect();
    if p.revoked.len() >= p.needed {
        complete(lab, &c, &p.reshared, &staged, &p.revoked, &time)?;
        p.completed = true;
    }
    Ok(p)
}

/// Abandons the open resharing — only while no old authority has revoked its share for it
/// (after that, completing it is the way out: it needs only k' staged new shares). Every
/// party's private state is destroyed; the board is kept as `reshares/<G>-<session>-abandoned/`.
pub fn abandon(lab: &Lab) -> Result<u32> {
    let _lock = lab.lock_reshare()?;
    let c = load_proposal(lab)?;
    let g = c.old.generation();
    // Revocations need every join; without them none can have happened.
    if let Ok(full) = load_config(lab) {
        let session = hex::encode(full.session());
        let config = lab.load_log_config()?;
        let store = lab.open_log_read_only(&config)?;
        let revoked = store
            .find(|e| matches!(e, LogEntry::SharingRevoked { session: s, .. } if *s == session))?;
        if revoked.is_some() {
            return Err(Error::DkgRefused(DkgRefusal::AlreadyRevoked));
        }
    }
    place(lab).destroy_private()?;
    let archive = lab
        .reshares_archive_dir()
        .join(format!("{g}-{}-abandoned", &c.nonce[..16]));
    create_dir_all_private(&lab.reshares_archive_dir())?;
    std::fs::rename(lab.reshare_dir(), &archive).map_err(|error| LabError::Io {
        path: archive.clone(),
        error,
    })?;
    Ok(g)
}

/// Puts the new sharing in force (see the module docs); idempotent.
fn complete(
    lab: &Lab,
    c: &ReshareConfig,
    r: &Reshared,
    staged: &Staged,
    revoked: &[String],
    time: &str,
) -> Result<()> {
    let session = hex::encode(c.session());
    let signer = lab.log_signer()?;
    let mpk = crate::encoding::g1_hex(r.params.master_public_key());
    let done = Completion {
        version: FORMAT_VERSION,
        session: session.clone(),
        generation: r.params.generation(),
        commitment: commitment_digest(&r.params),
        witnesses: load_joins(lab, c)?
            .iter()
            .filter(|j| !j.witness_key.is_empty())
            .map(|j| WitnessKey {
                authority: j.authority.clone(),
                key: j.witness_key.clone(),
            })
            .collect(),
    };
    write_atomic(&completion_path(lab), &to_json(&done)?, 0o644)?;
    lab.replace_sharing(&r.params, staged, &session, |store| {
        let done = |e: &LogEntry| {
            matches!(e, LogEntry::GenerationReshared { session: s, .. } if *s == session)
        };
        if store.find(done)?.is_none() {
            store.append(
                &LogRecord::new(LogEntry::GenerationReshared {
                    realm: r.params.realm().to_owned(),
                    generation: r.params.generation(),
                    master_public_key: mpk.clone(),
                    threshold: r.params.threshold() as u32,
                    authorities: c.to.clone(),
                    commitment: commitment_digest(&r.params),
                    revoked: revoked.to_vec(),
                    session: session.clone(),
                    time: time.to_owned(),
                }),
                &signer,
            )?;
        }
        Ok(())
    })?;
    finish_completion(lab, &done)
}

/// The completion's last steps (idempotent): new authorities' witness keys join the log's
/// configuration (and their key files their state), the private states are destroyed and the
/// board is archived under `reshares/`.
fn finish_completion(lab: &Lab, done: &Completion) -> Result<()> {
    let pl = place(lab);
    let mut log = lab.load_log_config()?;
    for w in &done.witnesses {
        if !log.witnesses.iter().any(|x| x.authority == w.authority) {
            let to = lab.witness_key_path(&w.authority);
            if !to.exists() {
                let key = pl.take_witness_key(&w.authority)?;
                write_atomic(&to, key.as_bytes(), 0o600)?;
            }
            log.witnesses.push(w.clone());
        }
    }
    write_atomic(&lab.log_config_path(), &log.to_json()?, 0o644)?;
    pl.destroy_private()?;
    let archive =
        lab.reshares_archive_dir()
            .join(format!("{}-{}", done.generation, &done.session[..16]));
    create_dir_all_private(&lab.reshares_archive_dir())?;
    std::fs::rename(lab.reshare_dir(), &archive).map_err(|error| LabError::Io {
        path: archive.clone(),
        error,
    })?;
    Ok(())
}

/// Finishes a completion a crash interrupted after the log announced the new sharing and the
/// lab installed it (`params` is the generation as the lab holds it now). False if the board
/// holds no such completion.
fn finish_interrupted(lab: &Lab, params: &crate::PublicParams) -> Result<bool> {
    let path = completion_path(lab);
    if !path.exists() {
        return Ok(false);
    }
    let done: Completion = from_json("reshare completion", &read_limited(&path, MAX_FILE)?)?;
    if done.generation != params.generation() || done.commitment != commitment_digest(params) {
        return Ok(false);
    }
    let log = crate::transparency::api::ReadOnlyLog::open(lab)?;
    let key = format!("generation/{}/{}", params.realm(), params.generation());
    let mut logged = false;
    for i in log.lookup(&key)? {
        logged |= matches!(log.entry(i)?.entry,
            LogEntry::GenerationReshared { session, .. } if session == done.session);
    }
    drop(log);
    if !logged {
        return Ok(false);
    }
    finish_completion(lab, &done)?;
    Ok(true)
}
