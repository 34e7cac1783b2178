//! The binary's files: the client states of a lab (plain or sealed with a passphrase) and the
//! relay database. (Part of the `messenger` binary, not of the library.)

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use escrow::lab::{Lab, read_limited, write_atomic};
use escrow::sealed::{KdfParams, Passphrase, SealKey};
use messenger::account::check_account;
use messenger::{Client, EscrowContext, Relay};
use rand_core::OsRng;
use zeroize::Zeroizing;

use crate::cli::PassphraseArgs;

/// Largest client state file read.
pub const MAX_STATE_LEN: u64 = 200 << 20;

/// What a sealed client state holds (`content` of `escrow::sealed`).
const STATE_CONTENT: &str = "client-state";

/// The hint every "unknown account" error ends with.
pub fn register_first(account: &str) -> String {
    format!("run messenger register --as {account} first")
}

/// The lab's files, and the passphrase of the client state a command works on.
pub struct Paths {
    pub lab: Lab,
    /// The passphrase given by the options (sealed states are opened and written with it).
    passphrase: Option<Passphrase>,
    /// The key of the sealed state loaded (each save reuses it with a fresh nonce).
    key: RefCell<Option<SealKey>>,
    /// The bytes of the state file this process last wrote.
    pub last_saved: RefCell<Option<Zeroizing<Vec<u8>>>>,
}

impl Paths {
    /// The files of the lab at `lab`; for a command that works on `account`'s client state,
    /// its passphrase, asked for before any relay lock is taken (so that a prompt never holds
    /// up other users).
    pub fn new(lab: &Path, state: Option<(&str, &PassphraseArgs)>) -> Result<Self> {
        let lab = Lab::new(lab);
        let passphrase = match state {
            Some((account, args)) => {
                check_account(account)?;
                passphrase(&client_path(&lab, account), args)?
            }
            None => None,
        };
        Ok(Self {
            lab,
            passphrase,
            key: RefCell::new(None),
            last_saved: RefCell::new(None),
        })
    }

    pub fn client(&self, account: &str) -> PathBuf {
        client_path(&self.lab, account)
    }

    pub fn relay(&self) -> PathBuf {
        self.lab.root().join("relay.sqlite")
    }

    /// The relay of a lab where someone registered (`account` names who should have).
    pub fn open_relay(&self, account: &str) -> Result<Relay> {
        let path = self.relay();
        if !path.exists() {
            bail!(
                "{}: no relay yet; {}",
                path.display(),
                register_first(account)
            );
        }
        Relay::open(&path).with_context(|| path.display().to_string())
    }

    /// Whether the state loaded or written was sealed.
    pub fn sealed(&self) -> bool {
        self.key.borrow().is_some()
    }

    pub fn load_client(&self, account: &str, role: &str) -> Result<Client> {
        check_account(account)?;
        let path = self.client(account);
        if !path.exists() {
            bail!(
                "{role} '{account}' is not registered here ({} missing); {}",
                path.display(),
                register_first(account)
            );
        }
        let mut bytes = Zeroizing::new(read_limited(&path, MAX_STATE_LEN)?);
        if escrow::sealed::is_sealed(&bytes) {
            // The key of a state this process opened before opens the next version of it.
            let cached = self
                .key
                .borrow()
                .as_ref()
                .and_then(|k| k.open(STATE_CONTENT, &bytes).ok());
            bytes = match cached {
                Some(plain) => plain,
                None => {
                    let Some(passphrase) = &self.passphrase else {
                        return Err(escrow::Error::PassphraseRequired { path }.into());
                    };
                    let (plain, key) = escrow::sealed::open(passphrase, STATE_CONTENT, &bytes)
                        .with_context(|| path.display().to_string())?;
                    *self.key.borrow_mut() = Some(key);
                    plain
                }
            };
        }
        let client = Client::from_json(&bytes).with_context(|| path.display().to_string())?;
        if client.account() != account {
            bail!(
                "{}: holds the state of '{}', not '{account}'",
                path.display(),
                client.account()
            );
        }
        Ok(client)
    }

    /// Writes a client state: sealed under the key of the state loaded, or under a new key
    /// from the options' passphrase, or plain when there is neither.
    pub fn save_client(&self, client: &Client) -> Result<()> {
        let path = self.client(client.account());
        let plain = client.to_json()?;
        let mut key = self.key.borrow_mut();
        if key.is_none() {
            if let Some(p) = &self.passphrase {
                *key = Some(SealKey::new(p, KdfParams::DEFAULT, &mut OsRng)?);
            }
        }
        let bytes = match key.as_ref() {
            Some(k) => Zeroizing::new(k.seal(STATE_CONTENT, &plain)?),
            None => plain,
        };
        write_atomic(&path, &bytes, 0o600)?;
        *self.last_saved.borrow_mut() = Some(bytes);
        Ok(())
    }

    pub fn escrow(&self) -> Result<EscrowContext> {
        Ok(EscrowContext::with_generations(
            self.lab.load_generations()?,
        ))
    }
}

fn client_path(lab: &Lab, account: &str) -> PathBuf {
    lab.root().join("clients").join(format!("{account}.json"))
}

/// The passphrase of the client state at `state`: from the options, or asked for on a
/// terminal when the state is sealed (or `--passphrase-prompt`).
fn passphrase(state: &Path, args: &PassphraseArgs) -> Result<Option<Passphrase>> {
    let sealed = read_limited(state, MAX_STATE_LEN)
        .ok()
        .is_some_and(|b| escrow::sealed::is_sealed(&b));
    let prompt = args.passphrase_prompt || (sealed && std::io::stdin().is_terminal());
    Ok(match (&args.passphrase_env, prompt) {
        (Some(var), _) => Some(escrow::sealed::passphrase_from_env(var)?),
        (None, true) => {
            if !std::io::stdin().is_terminal() {
                bail!("--passphrase-prompt needs a terminal; use --passphrase-env VAR");
            }
            let first = Zeroizing::new(rpassword::prompt_password("Client-state passphrase: ")?);
            // A passphrase that will seal a state for the first time is typed twice.
            if !sealed {
                let again = Zeroizing::new(rpassword::prompt_password("Again: ")?);
                if *first != *again {
                    bail!("the two passphrases differ");
                }
            }
            Some(Passphrase::new(first.to_string())?)
        }
        (None, false) => None,
    })
}
