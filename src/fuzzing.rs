//! The fuzz targets' bodies, one per parser of bad input (issue: hardening).
//!
//! `fuzz/` (cargo-fuzz, libFuzzer, nightly, outside the workspace) calls each function on the
//! fuzzer's bytes; `tests/fuzz_corpus.rs` replays the committed corpus and every crash
//! reproducer through the same functions on stable, as ordinary tests. A target never panics on
//! any input; where a format round-trips, a parsed value is serialized, parsed again and
//! serialized again, and the two serializations must be equal (parse → serialize → parse is
//! stable). A violation panics: that is the finding.

use std::sync::OnceLock;

use escrow::transparency::{LogConfig, LogRecord, SignedCheckpoint};
use escrow::{PublicParams, SetupRequest};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// A target's body: called on the fuzzer's bytes; panics on a finding.
pub type Target = fn(&[u8]);

/// Every target, by name (the folder names of `fuzz/corpus/` and `fuzz/fuzz_targets/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("params", params),
    ("share", share),
    ("sealed", sealed),
    ("ibe_ciphertext", ibe_ciphertext),
    ("wrap", wrap),
    ("envelope", envelope),
    ("warrant", warrant),
    ("approval", approval),
    ("key_share", key_share),
    ("receipt", receipt),
    ("capture", capture),
    ("checkpoint", checkpoint),
    ("log_entry", log_entry),
    ("client_state", client_state),
    ("dkg_messages", dkg_messages),
];

/// Asserts that `bytes → parse → serialize → parse → serialize` is stable.
fn stable<T, E>(
    what: &str,
    first: &[u8],
    parse: impl Fn(&[u8]) -> Result<T, E>,
    serialize: impl Fn(&T) -> Vec<u8>,
) {
    if let Ok(v) = parse(first) {
        let once = serialize(&v);
        let again = match parse(&once) {
            Ok(v) => v,
            Err(_) => panic!("{what}: a serialized value does not parse again"),
        };
        assert!(
            serialize(&again) == once,
            "{what}: serialization is not stable"
        );
    }
}

/// Fixed public parameters (a seeded 2-of-3 dealer generation), for parsers that check a file
/// against a generation.
pub fn fixed_params() -> &'static PublicParams {
    static P: OnceLock<PublicParams> = OnceLock::new();
    P.get_or_init(|| {
        let names = vec!["court".into(), "ministry".into(), "oversight".into()];
        let req = SetupRequest::new(names, 2, time::OffsetDateTime::UNIX_EPOCH);
        match escrow::dealer_setup(&req, &mut ChaCha20Rng::seed_from_u64(1)) {
            Ok((p, _)) => p,
            Err(e) => panic!("fixed parameters: {e}"),
        }
    })
}

/// A fixed log configuration (seeded keys), for checkpoints and receipts.
pub fn fixed_log() -> &'static LogConfig {
    static L: OnceLock<LogConfig> = OnceLock::new();
    L.get_or_init(|| {
        let names = vec!["court".into(), "ministry".into(), "oversight".into()];
        escrow::transparency::generate_log("escrow-lab", &names, &mut ChaCha20Rng::seed_from_u64(2))
            .config
    })
}

fn ok_or_panic<T>(what: &str, r: escrow::Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: serializing a parsed value failed: {e}"),
    }
}

/// `params.json`.
pub fn params(data: &[u8]) {
    stable("params", data, PublicParams::from_json, |p| {
        ok_or_panic("params", p.to_json())
    });
}

/// A share file (plain), checked against [`fixed_params`].
pub fn share(data: &[u8]) {
    stable(
        "share",
        data,
        |b| escrow::AuthorityShare::from_json(b, fixed_params()),
        |s| ok_or_panic("share", escrow::hazmat::export_share_json(s)).to_vec(),
    );
}

/// A sealed file's format (everything [`escrow::sealed::open`] checks before Argon2id).
pub fn sealed(data: &[u8]) {
    for content in ["authority-share", "client-state"] {
        let _ = escrow::sealed::check_format(content, data);
    }
}

/// An IBE ciphertext `U ‖ V ‖ W`.
pub fn ibe_ciphertext(data: &[u8]) {
    stable(
        "ibe ciphertext",
        data,
        escrow::ibe::Ciphertext::from_bytes,
        |c| c.to_bytes(),
    );
}

/// A 112-byte escrow wrap.
pub fn wrap(data: &[u8]) {
    stable("wrap", data, escrow::Wrap::from_bytes, |w| w.to_bytes());
}

/// A messenger envelope (with its chain start and escrow block).
pub fn envelope(data: &[u8]) {
    stable(
        "envelope",
        data,
        messenger::Envelope::from_json,
        messenger::Envelope::to_json,
    );
}

/// A warrant.
pub fn warrant(data: &[u8]) {
    stable("warrant", data, escrow::warrant::Warrant::from_json, |w| {
        ok_or_panic("warrant", w.to_json())
    });
    if let Ok(w) = escrow::warrant::Warrant::from_json(data) {
        let _ = w.digest();
        let _ = w.scope(fixed_params());
        let _ = w.check_policy(fixed_params(), time::OffsetDateTime::UNIX_EPOCH);
    }
}

/// An authority's approval.
pub fn approval(data: &[u8]) {
    stable(
        "approval",
        data,
        escrow::approval::Approval::from_json,
        |a| ok_or_panic("approval", a.to_json()),
    );
    if let Ok(a) = escrow::approval::Approval::from_json(data) {
        let _ = a.warrant_share.verify(fixed_params());
    }
}

/// One key share (identity key or warrant signature share).
pub fn key_share(data: &[u8]) {
    stable("key share", data, escrow::KeyShare::from_json, |k| {
        ok_or_panic("key share", k.to_json())
    });
}

/// A receipt (proof bundle), also verified against [`fixed_log`].
pub fn receipt(data: &[u8]) {
    use escrow::transparency::proof::ProofBundle;
    stable("receipt", data, ProofBundle::from_json, |b| {
        ok_or_panic("receipt", b.to_json())
    });
    if let Ok(b) = ProofBundle::from_json(data) {
        let _ = b.verify(fixed_log());
    }
}

/// A capture (the auditor's parse: the document, then every envelope and directory entry).
pub fn capture(data: &[u8]) {
    if let Ok(c) = serde_json::from_slice::<messenger::Capture>(data) {
        for e in c.envelopes.iter().chain(&c.chain_starts) {
            let _ = messenger::Envelope::from_value(&e.envelope);
        }
        for (account, entry) in &c.directory {
            let _ = entry.identity(account);
        }
        // The auditor's examination (no released keys: attribution, equivocation, scope and
        // the escrow checks up to the unwrap) never panics on what a capture says.
        if let (Ok(from), Ok(to)) = (
            time::OffsetDateTime::parse(&c.from, &time::format_description::well_known::Rfc3339),
            time::OffsetDateTime::parse(&c.to, &time::format_description::well_known::Rfc3339),
        ) {
            let len = fixed_params().epoch_length();
            let epoch =
                |t: time::OffsetDateTime| u64::try_from(t.unix_timestamp()).unwrap_or(0) / len;
            let generations = escrow::Generations::single(fixed_params().clone());
            let keys = std::collections::BTreeMap::new();
            let scope = auditor::evidence::Scope {
                generations: &generations,
                params: fixed_params(),
                targets: [c.account.clone()].into_iter().collect(),
                epochs: epoch(from)..=epoch(to).max(epoch(from)),
                timespan: (from.unix_timestamp(), to.unix_timestamp()),
                keys: &keys,
            };
            let _ = auditor::evidence::examine(&scope, &c);
        }
        let once = serde_json::to_vec(&c).unwrap_or_default();
        let again: messenger::Capture = match serde_json::from_slice(&once) {
            Ok(c) => c,
            Err(e) => panic!("capture: a serialized capture does not parse again: {e}"),
        };
        assert!(
            serde_json::to_vec(&again).unwrap_or_default() == once,
            "capture: serialization is not stable"
        );
    }
}

/// A signed checkpoint note with cosignatures, against [`fixed_log`].
pub fn checkpoint(data: &[u8]) {
    let _ = SignedCheckpoint::verify(data, fixed_log());
    if let Ok(config) = LogConfig::from_json(data) {
        let once = ok_or_panic("log config", config.to_json());
        assert!(
            LogConfig::from_json(&once).ok().as_ref() == Some(&config),
            "log config: serialization is not stable"
        );
    }
}

/// A transparency-log record (its one canonical encoding).
pub fn log_entry(data: &[u8]) {
    if let Ok(r) = LogRecord::from_bytes(data) {
        let once = ok_or_panic("log entry", r.to_bytes());
        assert!(once == data, "log entry: accepted a non-canonical encoding");
    }
}

/// A messenger client state.
pub fn client_state(data: &[u8]) {
    stable(
        "client state",
        data,
        messenger::Client::from_json,
        |c| match c.to_json() {
            Ok(b) => b.to_vec(),
            Err(e) => panic!("client state: {e}"),
        },
    );
}

/// DKG messages: a join, a deal, a response, a justification, a finished marker.
pub fn dkg_messages(data: &[u8]) {
    use escrow::dkg::{Deal, Finished, Join, Justification, Response};
    stable("join", data, Join::from_json, |j| {
        ok_or_panic("join", j.to_json())
    });
    stable("finished", data, Finished::from_json, |f| {
        ok_or_panic("finished", f.to_json())
    });
    stable("deal", data, Deal::from_json, |d| {
        ok_or_panic("deal", d.to_json())
    });
    stable("response", data, Response::from_json, |r| {
        ok_or_panic("response", r.to_json())
    });
    stable("justification", data, Justification::from_json, |j| {
        ok_or_panic("justification", j.to_json())
    });
}
