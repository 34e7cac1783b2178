//! Lab fixtures: a lab directory set up by the binaries ([`set_up`], [`with_accounts`]) or
//! through the library by a trusted dealer ([`dealer`], [`install`]), and what its log holds
//! ([`log_size`], [`log_entries`], [`append`]).
//!
//! A lab is always `<tmp>/lab`, so that files a test writes beside it (warrants, receipts,
//! approvals, captures) stay out of it, and a snapshot of the temporary folder covers both.

use std::path::{Path, PathBuf};

use escrow::lab::Lab;
use escrow::transparency::proof::ProofBundle;
use escrow::transparency::{LogEntry, LogRecord, generate_log};
use escrow::{AuthorityShare, PublicParams, SetupRequest};
use rand_core::{CryptoRng, RngCore};
use time::OffsetDateTime;

use crate::clock;
use crate::run;

/// The three authorities of most labs (2 of 3).
pub const THREE: [&str; 3] = ["court", "ministry", "oversight"];

/// The five authorities of the labs that need more (3 of 5).
pub const FIVE: [&str; 5] = ["court", "ministry", "oversight", "provider", "ombudsman"];

/// Sets up `lab` with the binaries: `escrow setup --authorities <authorities> --threshold k
/// --at at`, then `messenger register --as <account> --at at` for each of `accounts`.
pub fn set_up(lab: &Path, authorities: &[&str], k: usize, at: &str, accounts: &[&str]) {
    run::ok(run::on_lab("escrow", lab).args([
        "setup",
        "--authorities",
        &authorities.join(","),
        "--threshold",
        &k.to_string(),
        "--at",
        at,
    ]));
    for a in accounts {
        register(lab, a, at);
    }
}

/// `messenger register --as account --at at` in `lab`.
pub fn register(lab: &Path, account: &str, at: &str) {
    run::ok(run::on_lab("messenger", lab).args(["register", "--as", account, "--at", at]));
}

/// A temporary folder holding the lab `lab/`: [`THREE`], 2 of 3, set up by the binaries at
/// [`clock::SET_UP`] with `accounts` registered then.
pub fn with_accounts(accounts: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    set_up(&tmp.path().join("lab"), &THREE, 2, clock::SET_UP, accounts);
    tmp
}

/// The setup request for `authorities`, `k` of them needed, made at `at` (realm `escrow-lab`,
/// day epochs, generation 1, valid always).
pub fn request(authorities: &[&str], k: usize, at: OffsetDateTime) -> SetupRequest {
    SetupRequest::new(authorities.iter().map(|a| (*a).to_owned()).collect(), k, at)
}

/// Writes the lab at `root` for a generation already made (by a dealer or a DKG run): its
/// parameters, the authorities' shares, and a new log (keys from `rng`) whose first entry
/// announces the generation.
pub fn install<R: RngCore + CryptoRng>(
    root: impl Into<PathBuf>,
    req: &SetupRequest,
    params: &PublicParams,
    shares: &[AuthorityShare],
    rng: &mut R,
) -> Lab {
    let lab = Lab::new(root);
    let log = generate_log(&req.realm, &req.authorities, rng);
    lab.write_setup(params, shares, &log).unwrap();
    lab
}

/// A lab at `root` set up through the library by a trusted dealer for `req`, from `rng`:
/// the lab, its parameters and every authority's share.
pub fn dealer<R: RngCore + CryptoRng>(
    root: impl Into<PathBuf>,
    req: &SetupRequest,
    rng: &mut R,
) -> (Lab, PublicParams, Vec<AuthorityShare>) {
    let (params, shares) = escrow::dealer_setup(req, rng).unwrap();
    let lab = install(root, req, &params, &shares, rng);
    (lab, params, shares)
}

/// How many entries the log of the lab at `root` holds (opened read-only).
pub fn log_size(root: &Path) -> u64 {
    let lab = Lab::new(root);
    let config = lab.load_log_config().unwrap();
    lab.open_log_read_only(&config).unwrap().size().unwrap()
}

/// Every entry of the log of the lab at `root`, in order (opened read-only).
pub fn log_entries(root: &Path) -> Vec<LogEntry> {
    let lab = Lab::new(root);
    let config = lab.load_log_config().unwrap();
    let store = lab.open_log_read_only(&config).unwrap();
    (0..store.size().unwrap())
        .map(|i| store.entry(i).unwrap().entry)
        .collect()
}

/// Appends `record` to the lab's log, signed with the log's key (as anyone holding that key
/// could, the tools' checks aside), and returns its proof bundle: a receipt, for a
/// `warrant-logged` record.
pub fn append(lab: &Lab, record: &LogRecord) -> ProofBundle {
    let config = lab.load_log_config().unwrap();
    let mut store = lab.open_log(&config).unwrap();
    let (index, _) = store
        .append(record, &escrow::hazmat::log_operator_signer(lab).unwrap())
        .unwrap();
    ProofBundle::build(&store, index).unwrap()
}
