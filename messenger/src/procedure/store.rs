//! Where the accounts' client states live between commands: [`ClientFiles`], the lab's
//! `clients/<account>.json` (mode 0600, plain or sealed with a passphrase: Argon2id +
//! AES-256-GCM, [`escrow::sealed`]), or a map in memory (`BTreeMap<String, Client>`, for the
//! scenarios), behind one small trait, [`ClientStore`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use escrow::lab::{Lab, read_limited, write_atomic};
use escrow::sealed::{KdfParams, Passphrase, SealKey};
use rand_core::OsRng;
use zeroize::Zeroizing;

use super::{Error, Missing, Result};
use crate::account::check_account;
use crate::{Client, EscrowContext, Relay};

/// Largest client state file read.
pub const MAX_STATE_LEN: u64 = 200 << 20;

/// What a sealed client state holds (`content` of [`escrow::sealed`]).
const STATE_CONTENT: &str = "client-state";

/// The client states a procedure works on. A procedure takes a state out, changes it, saves
/// it (as often as its crash safety needs) and puts it back when it is done with it, whether
/// it succeeded or not.
pub trait ClientStore {
    /// Takes `account`'s state out of the store (`role`: what the account is to the command,
    /// "sender" or "account", for the error).
    fn take(&mut self, account: &str, role: &'static str) -> Result<Client>;
    /// Writes `client`'s state durably (it stays out of the store until
    /// [`ClientStore::put_back`]).
    fn save(&mut self, client: &Client) -> Result<()>;
    /// Gives `client` back when the procedure is done with it.
    fn put_back(&mut self, client: Client);
    /// Whether `account`'s stored state is still the one this store saved last (no other
    /// process wrote it since).
    fn unchanged(&self, account: &str) -> bool;
    /// Forgets the state of `account` a failed registration saved.
    fn forget(&mut self, account: &str);
}

/// States in memory, by account: saved as they are, never written anywhere.
impl ClientStore for BTreeMap<String, Client> {
    fn take(&mut self, account: &str, role: &'static str) -> Result<Client> {
        self.remove(account).ok_or_else(|| Error::Unregistered {
            account: account.to_owned(),
            what: Missing::NoState {
                role,
                path: PathBuf::from(account),
            },
        })
    }

    fn save(&mut self, _client: &Client) -> Result<()> {
        Ok(())
    }

    fn put_back(&mut self, client: Client) {
        self.insert(client.account().to_owned(), client);
    }

    fn unchanged(&self, _account: &str) -> bool {
        true
    }

    fn forget(&mut self, account: &str) {
        self.remove(account);
    }
}

/// Whether the state file at `path` exists and is sealed with a passphrase.
pub fn is_sealed_state(path: &Path) -> bool {
    read_limited(path, MAX_STATE_LEN)
        .ok()
        .is_some_and(|b| escrow::sealed::is_sealed(&b))
}

/// The client states of a lab on disk, and the relay beside them.
pub struct ClientFiles {
    lab: Lab,
    /// The passphrase given (sealed states are opened and written with it).
    passphrase: Option<Passphrase>,
    /// The key of the sealed state loaded (each save reuses it with a fresh nonce).
    key: Option<SealKey>,
    /// The bytes of the state file this store last wrote.
    last_saved: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for ClientFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientFiles({}, ***)", self.lab.root().display())
    }
}

impl ClientFiles {
    /// The client states of `lab`; `passphrase` opens sealed states and seals new ones.
    pub fn new(lab: Lab, passphrase: Option<Passphrase>) -> Self {
        Self {
            lab,
            passphrase,
            key: None,
            last_saved: None,
        }
    }

    /// The lab.
    pub fn lab(&self) -> &Lab {
        &self.lab
    }

    /// The path of `account`'s state.
    pub fn client(&self, account: &str) -> PathBuf {
        self.lab.client_state_path(account)
    }

    /// The relay database's path.
    pub fn relay(&self) -> PathBuf {
        self.lab.relay_path()
    }

    /// The relay of a lab where someone registered (`account` names who should have).
    pub fn open_relay(&self, account: &str) -> Result<Relay> {
        let path = self.relay();
        if !path.exists() {
            return Err(Error::Unregistered {
                account: account.to_owned(),
                what: Missing::NoRelay(path),
            });
        }
        Relay::open(&path).map_err(|e| Error::File {
            path,
            error: Box::new(e.into()),
        })
    }

    /// Whether the state loaded or written was sealed.
    pub fn sealed(&self) -> bool {
        self.key.is_some()
    }

    /// The escrow context of the lab's generations.
    pub fn escrow(&self) -> Result<EscrowContext> {
        Ok(EscrowContext::with_generations(
            self.lab.load_generations()?,
        ))
    }

    /// `account`'s state from its file (opened with the key of a state this store opened
    /// before, or with the passphrase).
    pub fn load(&mut self, account: &str, role: &'static str) -> Result<Client> {
        check_account(account)?;
        let path = self.client(account);
        if !path.exists() {
            return Err(Error::Unregistered {
                account: account.to_owned(),
                what: Missing::NoState { role, path },
            });
        }
        let in_file = |path: &Path, error: Error| Error::File {
            path: path.to_owned(),
            error: Box::new(error),
        };
        let mut bytes = Zeroizing::new(read_limited(&path, MAX_STATE_LEN)?);
        if escrow::sealed::is_sealed(&bytes) {
            // The key of a state this store opened before opens the next version of it.
            let cached = self
                .key
                .as_ref()
                .and_then(|k| k.open(STATE_CONTENT, &bytes).ok());
            bytes = match cached {
                Some(plain) => plain,
                None => {
                    let Some(passphrase) = &self.passphrase else {
                        return Err(escrow::Error::PassphraseRequired { path }.into());
                    };
                    let (plain, key) = escrow::sealed::open(passphrase, STATE_CONTENT, &bytes)
                        .map_err(|e| in_file(&path, e.into()))?;
                    self.key = Some(key);
                    plain
                }
            };
        }
        let client = Client::from_json(&bytes).map_err(|e| in_file(&path, e.into()))?;
        if client.account() != account {
            return Err(Error::StateOfAnother {
                path,
                found: client.account().to_owned(),
                account: account.to_owned(),
            });
        }
        Ok(client)
    }
}

impl ClientStore for ClientFiles {
    fn take(&mut self, account: &str, role: &'static str) -> Result<Client> {
        self.load(account, role)
    }

    /// Writes the state: sealed under the key of the state loaded, or under a new key from the
    /// passphrase, or plain when there is neither.
    fn save(&mut self, client: &Client) -> Result<()> {
        let path = self.client(client.account());
        let plain = client.to_json()?;
        if self.key.is_none()
            && let Some(p) = &self.passphrase
        {
            self.key = Some(SealKey::new(p, KdfParams::DEFAULT, &mut OsRng)?);
        }
        let bytes = match &self.key {
            Some(k) => Zeroizing::new(k.seal(STATE_CONTENT, &plain)?),
            None => plain,
        };
        write_atomic(&path, &bytes, 0o600)?;
        self.last_saved = Some(bytes);
        Ok(())
    }

    fn put_back(&mut self, _client: Client) {}

    fn unchanged(&self, account: &str) -> bool {
        let on_disk = read_limited(&self.client(account), MAX_STATE_LEN).ok();
        self.last_saved.is_some()
            && on_disk.as_deref() == self.last_saved.as_deref().map(|v| v.as_slice())
    }

    fn forget(&mut self, account: &str) {
        let _ = std::fs::remove_file(self.client(account));
    }
}
