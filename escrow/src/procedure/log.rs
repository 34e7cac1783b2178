//! The transparency log as `escrow log show` and `escrow log prove` read it: the newest
//! checkpoint (verified against the log's key) with every entry, and the offline proof bundle
//! of one entry.

use crate::error::Result;
use crate::lab::Lab;
use crate::transparency::LogRecord;
use crate::transparency::proof::ProofBundle;

/// The whole log, as of its newest checkpoint.
#[derive(Debug)]
pub struct Listing {
    /// The log's origin line.
    pub origin: String,
    /// Entries in the log.
    pub size: u64,
    /// The root hash of the newest checkpoint, in hex.
    pub root: String,
    /// The newest checkpoint: the signed note with its cosignatures, as stored.
    pub checkpoint: Vec<u8>,
    /// Every entry, in log order.
    pub entries: Vec<LogRecord>,
}

/// Reads the whole log: the newest checkpoint, verified against the log's key, and every
/// entry.
pub fn listing(lab: &Lab) -> Result<Listing> {
    let config = lab.load_log_config()?;
    let store = lab.open_log(&config)?;
    let note = store.latest_checkpoint()?;
    let cp = crate::transparency::SignedCheckpoint::verify(&note, &config)?;
    let size = store.size()?;
    let entries = (0..size)
        .map(|i| store.entry(i))
        .collect::<Result<Vec<_>>>()?;
    Ok(Listing {
        origin: config.origin.clone(),
        size,
        root: hex::encode(cp.root().0),
        checkpoint: note,
        entries,
    })
}

/// The offline proof bundle of entry `index`: the entry, its inclusion proof and the newest
/// checkpoint.
pub fn prove(lab: &Lab, index: u64) -> Result<ProofBundle> {
    let config = lab.load_log_config()?;
    let store = lab.open_log(&config)?;
    ProofBundle::build(&store, index)
}
