//! `messenger intercept`: the provider's lawful-intercept capture of one account over a
//! half-open window `[from, to)`, as of its export time.
//!
//! The provider answers as of the export time: a window that ends later is cut there
//! ([`crate::relay::CaptureRequest::as_of_export`]), so that a capture holds nothing the relay
//! received after it (also no chain start from outside the window), and its `exported_at` is
//! the time it was cut at.

use escrow::Generations;

use super::store::ClientFiles;
use super::{Error, Missing, Result, When, not_before, rfc3339};
use crate::account::check_account;
use crate::provider::RelayService;
use crate::relay::{Capture, CaptureRequest};

/// Refuses a window that ends before it starts, or where it starts (the end is exclusive).
pub fn check_window(from: i64, to: i64) -> Result<()> {
    if to < from {
        return Err(Error::WindowReversed {
            from: rfc3339(from),
            to: rfc3339(to),
        });
    }
    if to == from {
        return Err(Error::WindowEmpty(rfc3339(to)));
    }
    Ok(())
}

fn unknown(target: &str) -> Error {
    Error::Unregistered {
        account: target.to_owned(),
        what: Missing::Target,
    }
}

/// The capture of `target` over `[from, to)` in the realm of `generations`, exported at `at`
/// (Unix seconds): refused for a target the relay's directory does not know.
pub fn intercept(
    relay: &dyn RelayService,
    generations: &Generations,
    target: &str,
    (from, to): (i64, i64),
    at: i64,
) -> Result<Capture> {
    check_account(target)?;
    check_window(from, to)?;
    if !relay.is_registered(target)? {
        return Err(unknown(target));
    }
    let mut capture =
        relay.capture(&CaptureRequest::new(generations, target, from, to, at).as_of_export())?;
    // The export time is the one the capture was cut at, so that everything up to
    // `exported_at` is in it.
    capture.exported_at = rfc3339(at);
    // An export holds nothing the relay received after it: the cut above sees to it, and this
    // checks it.
    if let Some((e, t)) = capture.newest_envelope() {
        not_before(
            "the export",
            at,
            &format!("envelope #{} that it would include", e.relay_id),
            t,
        )?;
    }
    Ok(capture)
}

/// `messenger intercept` in a lab: the lab's generations and relay, the export time read
/// once the relay is open.
pub fn intercept_in_lab(
    files: &ClientFiles,
    target: &str,
    (from, to): (i64, i64),
    when: When,
) -> Result<Capture> {
    check_account(target)?;
    check_window(from, to)?;
    let generations = files.lab().load_generations()?;
    if !files.relay().exists() {
        return Err(unknown(target));
    }
    let relay = files.open_relay(target)?;
    if !relay.is_registered(target)? {
        return Err(unknown(target));
    }
    intercept(&relay, &generations, target, (from, to), when.now())
}
