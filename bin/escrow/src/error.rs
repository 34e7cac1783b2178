//! The tool's error line: the library's error chain, with the command-line wording (the
//! options to pass, the command to run first) that the libraries leave to their tools.

use escrow::encoding::printable;
use escrow::{Error, LabError};

/// The error on one line, with anything that could forge or hide part of it escaped.
pub fn one_line(e: &anyhow::Error) -> String {
    printable(&chain_text(e).replace('\n', " ")).into_owned()
}

/// The error chain as `{e:#}` prints it (each link, then ": " and the next), each link of
/// the escrow library in this tool's words.
fn chain_text(e: &anyhow::Error) -> String {
    e.chain()
        .map(
            |link| match link.downcast_ref::<Error>().and_then(cli_text) {
                Some(text) => text,
                None => link.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join(": ")
}

/// An error of the escrow library in this tool's words, where they name an option or a
/// command of the tool; `None` when the library's own text says it all.
pub fn cli_text(e: &Error) -> Option<String> {
    Some(match e {
        Error::PassphraseRequired { path } => format!(
            "{} is sealed with a passphrase: pass --passphrase-env VAR or run on a terminal to be \
             asked",
            path.display()
        ),
        Error::PassphraseVariable { var, unset } => format!(
            "sealed file: the environment variable {var} (--passphrase-env) is not {}",
            if *unset { "set" } else { "UTF-8" }
        ),
        Error::Lab(LabError::AlreadySetUp { path }) => format!(
            "{}: the lab already holds escrow parameters; use another --lab",
            path.display()
        ),
        Error::Lab(LabError::Invalid { path, error }) => {
            format!("{}: {}", path.display(), cli_text(error)?)
        }
        Error::SharesSealed => "this lab's shares are sealed: pass --passphrase-env VAR or \
                                --passphrase-prompt so that the new shares are sealed too"
            .to_owned(),
        Error::NoPassphraseToSeal => {
            "escrow seal needs the passphrase: --passphrase-env VAR or --passphrase-prompt"
                .to_owned()
        }
        Error::WhichGeneration { known } => format!(
            "this lab holds generations {known}: name the one to retire with --generation N"
        ),
        Error::ValidDays { days } => {
            format!("--valid-days {days}: must be at least 1 and end before year 10000")
        }
        Error::RotationDays { days: 0 } => {
            "rotation refused: --valid-days must be at least 1".to_owned()
        }
        Error::RotationDays { .. } => "rotation refused: --valid-days is too large".to_owned(),
        Error::NotJoined { who, board } => {
            format!("{who} has not joined: run `escrow {board} join --as {who}` first")
        }
        Error::StepMissing { who, board, step } => {
            format!("{who} has not run `escrow {board} {step} --as {who}` yet")
        }
        Error::FingerprintTwice { name } => {
            format!("--fingerprint names {name} twice; give each authority's once")
        }
        _ => return None,
    })
}
