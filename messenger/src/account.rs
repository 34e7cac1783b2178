//! Account names: 1–64 characters of `[a-z0-9._@-]` (the escrow core's name rule, since an
//! account name is part of every scope identity).

use crate::error::{Error, Result};

/// Refuses anything but a valid account name.
pub fn check_account(name: &str) -> Result<()> {
    escrow::identity::check_name("account", name)
        .map_err(|_| Error::AccountName(name.escape_debug().to_string()))
}
