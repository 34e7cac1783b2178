//! `messenger register`: a new account — identity keys, a signed prekey and one-time prekeys
//! ([`Client::register`]) — published to the relay's directory at a time not before the lab's
//! set-up, its private state saved before the relay commits (a failed commit removes it, so
//! the command can simply be run again).

use rand_core::{CryptoRng, RngCore};

use super::store::ClientFiles;
use super::{ClientStore, Error, Result, When, not_before};
use crate::account::check_account;
use crate::provider::RelayService;
use crate::{Client, Registration, Relay};

/// What a registration did.
#[derive(Debug, Clone)]
pub struct Registered {
    /// What was published to the relay's directory.
    pub registration: Registration,
    /// The registration time (Unix seconds).
    pub time: i64,
}

/// Registers `account` at the relay at `now` (Unix seconds) and saves its new state in
/// `store`. Refused if the relay knows the account already.
pub fn register<S: ClientStore, R: RngCore + CryptoRng>(
    relay: &mut dyn RelayService,
    store: &mut S,
    account: &str,
    now: i64,
    rng: &mut R,
) -> Result<Registered> {
    check_account(account)?;
    if relay.is_registered(account)? {
        return Err(Error::AlreadyRegistered(account.to_owned()));
    }
    let (mut client, reg) = Client::register(account, rng)?;
    client.record_time(now);
    let tx = relay.begin()?;
    tx.register(&reg, now)?;
    let saved = store.save(&client);
    store.put_back(client);
    saved?;
    if let Err(e) = tx.commit() {
        // Not at the relay, so no state either.
        store.forget(account);
        return Err(e.into());
    }
    Ok(Registered {
        registration: reg,
        time: now,
    })
}

/// The lab's set-up: the earliest generation's number and creation time (Unix seconds), if
/// the lab has escrow parameters.
fn set_up_at(files: &ClientFiles) -> Result<Option<(u32, i64)>> {
    let lab = files.lab();
    if lab.params_path().symlink_metadata().is_err() {
        return Ok(None);
    }
    Ok(lab
        .load_generations()?
        .iter()
        .map(|p| (p.generation(), p.created_at().unix_timestamp()))
        .min_by_key(|(_, t)| *t))
}

/// `messenger register` in a lab: refused if the account has a state file already, if the
/// lab directory does not exist, or at a time before the lab's set-up; the relay is created
/// by the first registration.
pub fn register_in_lab<R: RngCore + CryptoRng>(
    files: &mut ClientFiles,
    account: &str,
    when: When,
    rng: &mut R,
) -> Result<Registered> {
    check_account(account)?;
    let state = files.client(account);
    if state.exists() {
        return Err(Error::StateExists {
            account: account.to_owned(),
            path: state,
        });
    }
    if !files.lab().root().is_dir() {
        return Err(Error::NoLab(files.lab().root().to_owned()));
    }
    let now = when.now();
    if let Some((generation, created)) = set_up_at(files)? {
        not_before(
            "the registration",
            now,
            &format!("the lab's set-up (generation {generation} created)"),
            created,
        )?;
    }
    let path = files.relay();
    let mut relay = Relay::open(&path).map_err(|e| Error::File {
        path,
        error: Box::new(e.into()),
    })?;
    if relay.is_registered(account)? {
        return Err(Error::AlreadyRegistered(account.to_owned()));
    }
    escrow::lab::create_dir_all_private(&files.lab().clients_dir())?;
    register(&mut relay, files, account, now, rng)
}
