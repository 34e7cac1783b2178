//! The tool's error line: the libraries' error chain, with the command-line wording (the
//! options to pass, the command to run first) that the libraries leave to their tools.

use escrow::encoding::printable;
use messenger::procedure::Error;

/// The error on one line, with anything that could forge or hide part of it escaped.
pub fn one_line(e: &anyhow::Error) -> String {
    let text = e
        .chain()
        .map(|link| {
            let ours = link
                .downcast_ref::<Error>()
                .and_then(cli_text)
                .or_else(|| link.downcast_ref::<escrow::Error>().and_then(escrow_text));
            ours.unwrap_or_else(|| link.to_string())
        })
        .collect::<Vec<_>>()
        .join(": ");
    printable(&text.replace('\n', " ")).into_owned()
}

/// The hint every "unknown account" error ends with.
fn register_first(account: &str) -> String {
    format!("run messenger register --as {account} first")
}

/// An error of a procedure in this tool's words, where they name an option or a command of
/// the tool; `None` when the library's own text says it all.
fn cli_text(e: &Error) -> Option<String> {
    Some(match e {
        Error::Unregistered { account, .. } => format!("{e}; {}", register_first(account)),
        Error::Escrow(inner) => escrow_text(inner)?,
        Error::File { path, error } => format!("{}: {}", path.display(), cli_text(error)?),
        Error::WindowReversed { from, to } => format!(
            "--to {to} is before --from {from}: the window [--from, --to) would be empty; give a \
             later --to"
        ),
        Error::WindowEmpty(at) => format!(
            "--to equals --from ({at}): the window [--from, --to) is empty (--to is exclusive); \
             give a later --to"
        ),
        _ => return None,
    })
}

/// An error of the escrow library in this tool's words.
fn escrow_text(e: &escrow::Error) -> Option<String> {
    Some(match e {
        escrow::Error::PassphraseRequired { path } => format!(
            "{} is sealed with a passphrase: pass --passphrase-env VAR or run on a terminal to be \
             asked",
            path.display()
        ),
        escrow::Error::PassphraseVariable { var, unset } => format!(
            "sealed file: the environment variable {var} (--passphrase-env) is not {}",
            if *unset { "set" } else { "UTF-8" }
        ),
        _ => return None,
    })
}
