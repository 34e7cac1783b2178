//! A bulletin board in the lab (`dkg/` for a DKG, `reshare/` for a resharing or refresh):
//! public signed messages `<round>-<party>.json`, and each party's own state in
//! `private/<party>/` (0600) that only that party's commands read.

use std::path::PathBuf;

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::refusal::{DkgRefusal, Procedure};
use super::signing::MessageKey;
use super::transport::TransportKey;
use super::{Join, PartyKeys, Signed, SigningKeys};
use crate::encoding::{FORMAT_VERSION, from_json, to_json};
use crate::error::{Error, LabError, Result};
use crate::lab::{create_dir_all_private, read_limited, write_atomic};

pub(crate) const MAX_FILE: u64 = 1 << 22;

/// Staged share files as read and checked, by authority.
pub(crate) type Staged = Vec<(String, Zeroizing<Vec<u8>>)>;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    version: u64,
    kind: String,
    authority: String,
    transport_secret: String,
    signing_secret: String,
}

impl Drop for KeysFile {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.transport_secret);
        zeroize::Zeroize::zeroize(&mut self.signing_secret);
    }
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

/// One board directory.
#[derive(Clone, Debug)]
pub(crate) struct Place {
    dir: PathBuf,
}

impl Place {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub(crate) fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The board's command family: "reshare" for the resharing board, "dkg" otherwise.
    pub(crate) fn board(&self) -> &'static str {
        if self.name() == "reshare" {
            "reshare"
        } else {
            "dkg"
        }
    }

    /// The procedure the board is for: a resharing for the resharing board, a DKG otherwise.
    pub(crate) fn procedure(&self) -> Procedure {
        if self.name() == "reshare" {
            Procedure::Resharing
        } else {
            Procedure::Dkg
        }
    }

    pub(crate) fn private(&self, who: &str) -> PathBuf {
        self.dir.join("private").join(who)
    }

    /// `who`'s own state folder, checked before any use: a real folder (never a symbolic link
    /// or a file planted in its place), owned by the board's owner and open to no one else
    /// (0700); created so if `create`.
    pub(crate) fn own_dir(&self, who: &str, create: bool) -> Result<PathBuf> {
        use std::os::unix::fs::MetadataExt;
        let board = std::fs::symlink_metadata(&self.dir).map_err(|error| LabError::Io {
            path: self.dir.clone(),
            error,
        })?;
        if !board.is_dir() {
            return Err(Error::DkgRefused(DkgRefusal::NotOwnFolder {
                path: self.dir.clone(),
            }));
        }
        let mine = self.private(who);
        for (path, own) in [(self.dir.join("private"), false), (mine.clone(), true)] {
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() || !m.is_dir() => {
                    return Err(Error::DkgRefused(DkgRefusal::NotOwnFolder { path }));
                }
                Ok(m) if own && (m.mode() & 0o077 != 0 || m.uid() != board.uid()) => {
                    return Err(Error::DkgRefused(DkgRefusal::OpenToOthers {
                        path,
                        mode: m.mode() & 0o777,
                        who: who.to_owned(),
                    }));
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                    create_dir_all_private(&path)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::NotJoined {
                        who: who.to_owned(),
                        board: self.board(),
                    });
                }
                Err(error) => return Err(LabError::Io { path, error }.into()),
            }
        }
        Ok(mine)
    }

    pub(crate) fn file(&self, round: &str, who: &str) -> PathBuf {
        self.dir.join(format!("{round}-{who}.json"))
    }

    /// Makes `who`'s transport and signing keys in its own state (0600).
    pub(crate) fn make_keys<R: RngCore + CryptoRng>(
        &self,
        who: &str,
        rng: &mut R,
    ) -> Result<PartyKeys> {
        let keys = PartyKeys::generate(rng);
        let p = self.own_dir(who, true)?;
        let f = KeysFile {
            version: FORMAT_VERSION,
            kind: "escrow-lab/dkg-party-keys".into(),
            authority: who.to_owned(),
            transport_secret: keys.transport.secret_hex().to_string(),
            signing_secret: keys.signing.secret_hex().to_string(),
        };
        write_atomic(&p.join("keys.json"), &Zeroizing::new(to_json(&f)?), 0o600)?;
        Ok(keys)
    }

    pub(crate) fn has_keys(&self, who: &str) -> bool {
        self.private(who).join("keys.json").exists()
    }

    /// `who`'s own keys.
    pub(crate) fn own_keys(&self, who: &str) -> Result<PartyKeys> {
        let path = self.own_dir(who, false)?.join("keys.json");
        if !path.exists() {
            return Err(LabError::NotSetUp { path }.into());
        }
        let f: KeysFile = from_json("DKG keys", &read_limited(&path, MAX_FILE)?)?;
        if f.kind != "escrow-lab/dkg-party-keys" || f.authority != who {
            return Err(Error::WrongKind {
                what: "DKG keys",
                found: f.kind.clone(),
            });
        }
        Ok(PartyKeys {
            transport: TransportKey::from_secret_hex(&f.transport_secret)?,
            signing: MessageKey::from_secret_hex(&f.signing_secret)?,
        })
    }

    /// Keeps a secret of `who`'s (0600).
    pub(crate) fn write_secret(
        &self,
        who: &str,
        file: &str,
        kind: &str,
        secret: &[u8],
    ) -> Result<()> {
        let f = SecretFile {
            version: FORMAT_VERSION,
            kind: kind.to_owned(),
            authority: who.to_owned(),
            secret: hex::encode(secret),
        };
        write_atomic(
            &self.own_dir(who, false)?.join(file),
            &Zeroizing::new(to_json(&f)?),
            0o600,
        )
    }

    /// Reads a secret of `who`'s.
    pub(crate) fn read_secret(
        &self,
        who: &str,
        file: &str,
        kind: &str,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let path = self.own_dir(who, false)?.join(file);
        if !path.exists() {
            return Err(LabError::NotSetUp { path }.into());
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

    /// Keeps what `who` read and acted on (its view), 0600.
    pub(crate) fn save_view<T: Serialize>(&self, who: &str, file: &str, v: &T) -> Result<()> {
        write_atomic(
            &self.own_dir(who, false)?.join(file),
            &serde_json::to_vec(v).map_err(|_| Error::Internal(crate::Bug::JsonEncoding))?,
            0o600,
        )
    }

    /// What `who` kept with [`Place::save_view`]; `before` names the command to run first.
    pub(crate) fn load_view<T: for<'de> Deserialize<'de>>(
        &self,
        who: &str,
        file: &str,
        before: &'static str,
    ) -> Result<T> {
        let path = self.own_dir(who, false)?.join(file);
        if !path.exists() {
            return Err(Error::StepMissing {
                who: who.to_owned(),
                board: self.board(),
                step: before,
            });
        }
        serde_json::from_slice(&read_limited(&path, MAX_FILE)?)
            .map_err(|_| Error::DkgRefused(DkgRefusal::Unreadable { path }))
    }

    /// Publishes `who`'s message of `round`, keeping its own copy (0600) to republish.
    pub(crate) fn send(&self, who: &str, round: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(
            &self.own_dir(who, false)?.join(format!("sent-{round}.json")),
            bytes,
            0o600,
        )?;
        write_atomic(&self.file(round, who), bytes, 0o644)
    }

    pub(crate) fn sent(&self, who: &str, round: &str) -> bool {
        self.private(who)
            .join(format!("sent-{round}.json"))
            .exists()
    }

    /// `who` has sent its message of `round` already: the board gets its copy again (a
    /// deleted or replaced file restored), nothing new is made.
    pub(crate) fn republish<T>(
        &self,
        who: &str,
        round: &str,
        parse: impl Fn(&[u8]) -> Result<T>,
    ) -> Result<T> {
        let mine = self.own_dir(who, false)?.join(format!("sent-{round}.json"));
        if !mine.exists() {
            return Err(LabError::AlreadySetUp {
                path: self.file(round, who),
            }
            .into());
        }
        let bytes = read_limited(&mine, MAX_FILE)?;
        let out = self.file(round, who);
        if read_limited(&out, MAX_FILE).ok().as_deref() != Some(bytes.as_slice()) {
            write_atomic(&out, &bytes, 0o644)?;
        }
        parse(&bytes)
    }

    /// Every named party's signed message of one round; names the first party missing and
    /// refuses a message not signed by its sender's session key.
    pub(crate) fn all<T: Signed>(
        &self,
        keys: &dyn SigningKeys,
        session: &str,
        names: &[String],
        round: &'static str,
        parse: impl Fn(&[u8]) -> Result<T>,
    ) -> Result<Vec<T>> {
        let procedure = self.procedure();
        names
            .iter()
            .map(|a| {
                let path = self.file(round, a);
                if !path.exists() {
                    return Err(Error::DkgWaiting {
                        step: round.to_owned(),
                        authority: a.clone(),
                    });
                }
                let m = parse(&read_limited(&path, MAX_FILE)?)?;
                if m.sender() != a || !m.verify(keys) || session_of(&m) != session {
                    return Err(Error::DkgRefused(DkgRefusal::NotSignedBySession {
                        procedure,
                        round,
                        who: a.clone(),
                    }));
                }
                Ok(m)
            })
            .collect()
    }

    /// Every named party's join to proposal `id`: self-signed for it, in the party's name,
    /// with a witness key in the party's name for `realm` or none (a party that already has
    /// one, or a simulation's transcript).
    pub(crate) fn joins(&self, names: &[String], id: &[u8; 32], realm: &str) -> Result<Vec<Join>> {
        let procedure = self.procedure();
        names
            .iter()
            .map(|a| {
                let path = self.file("join", a);
                if !path.exists() {
                    return Err(Error::DkgWaiting {
                        step: "join".into(),
                        authority: a.clone(),
                    });
                }
                let j = Join::from_json(&read_limited(&path, MAX_FILE)?)?;
                let witness_ok = j.witness_key.is_empty()
                    || (crate::transparency::CosignatureVerifier::new(&j.witness_key).is_ok()
                        && j.witness_key.starts_with(&format!(
                            "{}+",
                            crate::transparency::witness_name(realm, a)
                        )));
                if &j.authority != a || !j.check(id) || !witness_ok {
                    return Err(Error::DkgRefused(DkgRefusal::InvalidJoin {
                        procedure,
                        who: a.clone(),
                    }));
                }
                Ok(j)
            })
            .collect()
    }

    /// Stages `who`'s new share file in its own state (0600); returns its SHA-256, hex, for
    /// `who`'s finished marker.
    pub(crate) fn stage_share(&self, who: &str, bytes: &[u8]) -> Result<String> {
        write_atomic(&self.own_dir(who, false)?.join("share.json"), bytes, 0o600)?;
        Ok(super::staged_digest(bytes))
    }

    /// Reads each finished party's staged share file once and checks it has the bytes its
    /// signed marker names (hashed, never parsed); returns exactly those bytes, so that what is
    /// installed is what was checked.
    pub(crate) fn take_staged(
        &self,
        markers: &[super::Finished],
    ) -> Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
        let (good, bad) = self.take_staged_some(markers);
        match bad.into_iter().next() {
            Some((_, why)) => Err(Error::DkgRefused(why)),
            None => Ok(good),
        }
    }

    /// [`Place::take_staged`] for each marker on its own: the staged files that check, and
    /// for each of the others why not.
    pub(crate) fn take_staged_some(
        &self,
        markers: &[super::Finished],
    ) -> (Staged, Vec<(String, DkgRefusal)>) {
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for m in markers {
            let who = &m.authority;
            let bytes = self
                .own_dir(who, false)
                .and_then(|d| read_limited(&d.join("share.json"), MAX_FILE))
                .map(Zeroizing::new);
            match bytes {
                Err(_) => bad.push((
                    who.clone(),
                    DkgRefusal::StagedShareMissing { who: who.clone() },
                )),
                Ok(b) if m.share.is_empty() || super::staged_digest(&b) != m.share => bad.push((
                    who.clone(),
                    DkgRefusal::StagedShareAltered { who: who.clone() },
                )),
                Ok(b) => good.push((who.clone(), b)),
            }
        }
        (good, bad)
    }

    /// `who`'s staged witness key (a `PRIVATE+KEY+…` string), read once.
    pub(crate) fn take_witness_key(&self, who: &str) -> Result<Zeroizing<String>> {
        let path = self.own_dir(who, false)?.join("witness.key");
        let bytes = Zeroizing::new(read_limited(&path, MAX_FILE)?);
        std::str::from_utf8(&bytes)
            .map(|s| Zeroizing::new(s.to_owned()))
            .map_err(|_| {
                Error::DkgRefused(DkgRefusal::WitnessKeyNotText {
                    who: who.to_owned(),
                })
            })
    }

    /// The message on the board now, if it parses (for notes on late changes).
    pub(crate) fn peek<T>(
        &self,
        round: &str,
        who: &str,
        parse: impl Fn(&[u8]) -> Result<T>,
    ) -> Option<T> {
        read_limited(&self.file(round, who), MAX_FILE)
            .ok()
            .and_then(|b| parse(&b).ok())
    }

    /// Destroys every party's private state (each file overwritten, synced, removed).
    pub(crate) fn destroy_private(&self) -> Result<()> {
        let root = self.dir.join("private");
        if let Ok(parties) = std::fs::read_dir(&root) {
            for p in parties.flatten() {
                let dir = p.path();
                if let Ok(entries) = std::fs::read_dir(&dir) {
                    for e in entries.flatten() {
                        crate::lab::destroy_file(&e.path())?;
                    }
                }
                let _ = std::fs::remove_dir(&dir);
            }
        }
        let _ = std::fs::remove_dir(&root);
        Ok(())
    }
}

fn session_of<T: Serialize>(m: &T) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v["session"].as_str().map(str::to_owned))
        .unwrap_or_default()
}
