//! The lab's client states as the tool opens them: the passphrase of the state a command works
//! on, from the options or a terminal prompt, asked for before any relay lock is taken (so that
//! a prompt never holds up other users).

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Result, bail};
use escrow::lab::Lab;
use escrow::sealed::Passphrase;
use messenger::account::check_account;
use messenger::procedure::ClientFiles;
use messenger::procedure::store::is_sealed_state;
use zeroize::Zeroizing;

use crate::cli::PassphraseArgs;

/// The client states of the lab at `lab`; for a command that works on `account`'s state, with
/// its passphrase.
pub fn open(lab: &Path, state: Option<(&str, &PassphraseArgs)>) -> Result<ClientFiles> {
    let lab = Lab::new(lab);
    let passphrase = match state {
        Some((account, args)) => {
            check_account(account)?;
            passphrase(&lab.client_state_path(account), args)?
        }
        None => None,
    };
    Ok(ClientFiles::new(lab, passphrase))
}

/// The passphrase of the client state at `state`: from the options, or asked for on a
/// terminal when the state is sealed (or `--passphrase-prompt`).
fn passphrase(state: &Path, args: &PassphraseArgs) -> Result<Option<Passphrase>> {
    let sealed = is_sealed_state(state);
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
