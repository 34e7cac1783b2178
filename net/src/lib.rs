//! escrow-lab's parties on the network (docs/architecture.md, docs/transparency.md §"The log
//! as a service").
//!
//! * [`log_server`]: `escrow log serve`, the log operator — the only process holding the log
//!   key — with the C2SP tlog-tiles read API and signed, batched `POST /add-entry`.
//! * [`witness_server`]: `escrow witness serve --as NAME`, an authority's witness (C2SP
//!   tlog-witness `POST /add-checkpoint`).
//! * [`client`]: blocking clients (ureq): [`client::HttpLog`] implements
//!   [`escrow::transparency::api::TransparencyLog`], so the authorities' and the auditor's
//!   procedures run unchanged against a served log; [`client::HttpWitness`] implements
//!   [`escrow::transparency::api::Witness`] for the log service.
//! * [`verify`]: `auditor log verify --url`, a monitor of a served log from its tiles alone.
//! * [`paths`]: C2SP tlog-tiles paths.
//!
//! Servers: axum on tokio, tower-http time limits, axum body limits, graceful shutdown on
//! SIGTERM/SIGINT. Clients: ureq, plain HTTP (the lab's services listen on loopback).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod log_server;
pub mod paths;
pub mod verify;
pub mod witness_server;

/// Resolves on SIGTERM or SIGINT.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
