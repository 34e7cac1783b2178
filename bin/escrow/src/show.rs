//! How the tool prints: JSON documents, plurals, paths made printable, and the texts shared by
//! several commands (a generation's description, a log entry's summary).

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use escrow::PublicParams;
use escrow::encoding::printable;
use escrow::identity::format_epoch_length;
use escrow::lab::Written;
use escrow::transparency::LogEntry;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `n` and the noun in the right number: `1 share`, `2 shares`, `0 shares`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One JSON document on standard output.
pub fn print_json(doc: &serde_json::Value) -> Result<()> {
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(doc)?
    )?;
    Ok(())
}

/// What `--out` did, for a JSON document: "written" or "unchanged".
pub fn result_text(w: Written) -> &'static str {
    match w {
        Written::Created => "written",
        _ => "unchanged",
    }
}

/// A path as text for a JSON document.
pub fn path_text(p: &Path) -> String {
    p.display().to_string()
}

/// A path made safe to print on a line of text.
pub fn shown(p: &Path) -> String {
    printable(&p.display().to_string()).into_owned()
}

/// The first 16 hex digits of a generation's master public key.
pub fn key_prefix(params: &PublicParams) -> String {
    hex::encode(params.master_public_key().to_compressed())[..16].to_owned()
}

/// The join fingerprints a command used, as a JSON object (authority → fingerprint).
pub fn fingerprints_json(fps: &[(String, String)]) -> serde_json::Value {
    fps.iter()
        .map(|(a, f)| (a.clone(), serde_json::Value::from(f.as_str())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Excluded dealers with their reasons, as a JSON array.
pub fn excluded_json(excluded: &[(String, escrow::dkg::Exclusion)]) -> serde_json::Value {
    excluded
        .iter()
        .map(|(who, why)| json!({"authority": who, "reason": why.to_string()}))
        .collect()
}

/// The public description of a generation; `superseded`: the newer generation that takes
/// over from its start, if any.
pub fn describe(
    out: &mut impl Write,
    params: &PublicParams,
    superseded: Option<(u32, OffsetDateTime)>,
) -> Result<()> {
    let n = params.authorities().len();
    let k = params.threshold();
    let made = match params.setup() {
        escrow::params::SetupKind::TrustedDealer => "a trusted dealer (its polynomial destroyed)",
        escrow::params::SetupKind::JointFeldmanDkg => {
            "the authorities' joint-Feldman DKG, one command each (no one held it if each \
             authority's state was its own)"
        }
        escrow::params::SetupKind::SimulatedDkg => {
            "a joint-Feldman DKG simulated in one process (which saw every share)"
        }
        _ => "an unknown method",
    };
    writeln!(out, "  key made by:    {made}")?;
    let of_n = plural(n as u64, "authority", "authorities");
    match k - 1 {
        0 => writeln!(
            out,
            "  threshold:      1 of {of_n}: each one alone releases a key"
        )?,
        1 => writeln!(
            out,
            "  threshold:      2 of {of_n} together release a key; one alone learns nothing"
        )?,
        f => writeln!(
            out,
            "  threshold:      {k} of {of_n} together release a key; any {f} learn nothing"
        )?,
    }
    writeln!(
        out,
        "  epoch length:   {} (a released key opens one account for one epoch)",
        format_epoch_length(params.epoch_length())
    )?;
    let policy = params.policy();
    writeln!(
        out,
        "  policy:         a warrant spans at most {} (whole epochs) and names at most {}",
        plural(u64::from(policy.max_span_days), "day", "days"),
        plural(u64::from(policy.max_targets), "target", "targets")
    )?;
    writeln!(
        out,
        "  created at:     {}",
        params.created_at().format(&Rfc3339)?
    )?;
    let from = match params.valid_from() {
        Some(t) => t.format(&Rfc3339)?,
        None => "the beginning".to_owned(),
    };
    let until = match (params.valid_until(), superseded) {
        (Some(u), Some((g, s))) if s < u => {
            format!("{} (generation {g} takes over)", s.format(&Rfc3339)?)
        }
        (Some(u), _) => u.format(&Rfc3339)?,
        (None, Some((g, s))) => format!("{} (generation {g} takes over)", s.format(&Rfc3339)?),
        (None, None) => "a rotation".to_owned(),
    };
    writeln!(out, "  valid:          from {from} until {until}")?;
    let mpk = hex::encode(params.master_public_key().to_compressed());
    writeln!(
        out,
        "  master key:     {}…{} (G1)",
        &mpk[..16],
        &mpk[mpk.len() - 8..]
    )?;
    writeln!(out, "  authorities:")?;
    let width = params
        .authorities()
        .iter()
        .map(|a| a.name.chars().count())
        .max()
        .unwrap_or(0);
    for a in params.authorities() {
        let pk = hex::encode(a.public_key_share.to_compressed());
        writeln!(
            out,
            "    #{:<2} {:<width$}  public key share {}…",
            a.index,
            a.name,
            &pk[..16]
        )?;
    }
    Ok(())
}

/// A log entry in a few words, for `escrow log show`.
pub fn summary(e: &LogEntry) -> String {
    use LogEntry::*;
    match e {
        WarrantLogged {
            reference,
            target_count,
            epoch_count,
            ..
        } => format!(
            "{reference}: {} × {}",
            plural(u64::from(*target_count), "target", "targets"),
            plural(u64::from(*epoch_count), "epoch", "epochs")
        ),
        KeyReleased {
            authority,
            identity_count,
            digest,
            ..
        } => format!(
            "{authority} released {} for {}…",
            plural(u64::from(*identity_count), "key share", "key shares"),
            short(digest)
        ),
        WarrantExecuted {
            messages_decrypted,
            digest,
            ..
        } => format!(
            "{} decrypted for {}…",
            plural(*messages_decrypted, "message", "messages"),
            short(digest)
        ),
        GenerationCreated {
            realm,
            generation,
            threshold,
            authorities,
            ..
        } => format!(
            "{realm} generation {generation}: {threshold} of {} ({})",
            authorities.len(),
            authorities.join(", ")
        ),
        GenerationRetired {
            generation,
            authority,
            ..
        } => format!("generation {generation} retired by {authority}"),
        SharingRevoked {
            generation,
            authority,
            ..
        } => format!("{authority} revoked its old share of generation {generation}"),
        GenerationReshared {
            generation,
            threshold,
            authorities,
            revoked,
            ..
        } => format!(
            "generation {generation} reshared: {threshold} of {} ({}); old shares of {} revoked",
            authorities.len(),
            authorities.join(", "),
            revoked.join(", ")
        ),
    }
}

/// The first 12 characters (never a byte slice through a character).
fn short(s: &str) -> String {
    s.chars().take(12).collect()
}
