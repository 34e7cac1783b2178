//! `escrow witness serve --as NAME`: an authority's witness as a service, C2SP tlog-witness
//! (<https://c2sp.org/tlog-witness>) `POST /add-checkpoint`.
//!
//! The request body is `old <size>\n`, the consistency proof from that size (one base64 hash
//! per line), an empty line, and the checkpoint (a signed note). Answers, per the spec:
//! 200 with the cosignature line; 409 Conflict with `Content-Type: text/x.tlog.size` and the
//! witness's actual size when `old` is not it (also for a rollback); 403 when the checkpoint is
//! not signed by the log the witness knows; 422 when the proof does not verify (a fork); 400
//! for a malformed body. The procedure is the lab's
//! ([`escrow::authority::LabWitness`]): the same state file, lock and key as
//! `escrow log cosign --as NAME`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use escrow::authority::LabWitness;
use escrow::lab::Lab;
use escrow::transparency::api::Witness;
use tlog_tiles::Hash;
use tower_http::timeout::TimeoutLayer;

/// Largest request body: a checkpoint note with cosignatures and a 63-hash proof.
pub const MAX_BODY: usize = 16 * 1024;

/// A parsed `add-checkpoint` body.
#[derive(Debug)]
pub struct AddCheckpoint {
    /// The size the log believes the witness last cosigned.
    pub old_size: u64,
    /// The consistency proof.
    pub proof: Vec<Hash>,
    /// The checkpoint note.
    pub checkpoint: Vec<u8>,
}

/// Builds an `add-checkpoint` body.
pub fn body(old_size: u64, proof: &[Hash], checkpoint: &[u8]) -> Vec<u8> {
    let mut b = format!("old {old_size}\n").into_bytes();
    for h in proof {
        b.extend_from_slice(B64.encode(h.0).as_bytes());
        b.push(b'\n');
    }
    b.push(b'\n');
    b.extend_from_slice(checkpoint);
    b
}

/// Parses an `add-checkpoint` body; `None` if it is not of that form.
pub fn parse(body: &[u8]) -> Option<AddCheckpoint> {
    let text = std::str::from_utf8(body).ok()?;
    let (head, checkpoint) = text.split_once("\n\n")?;
    let mut lines = head.split('\n');
    let old = lines.next()?.strip_prefix("old ")?;
    if old.is_empty() || (old.len() > 1 && old.starts_with('0')) {
        return None;
    }
    let old_size: u64 = old.parse().ok()?;
    let mut proof = Vec::new();
    for l in lines {
        let h: [u8; 32] = B64.decode(l).ok()?.try_into().ok()?;
        proof.push(Hash(h));
        if proof.len() > 63 {
            return None;
        }
    }
    Some(AddCheckpoint {
        old_size,
        proof,
        checkpoint: checkpoint.as_bytes().to_vec(),
    })
}

struct Shared {
    lab: Lab,
    authority: String,
}

/// The witness service's routes for `authority` in `lab`.
pub fn app(lab: &Lab, authority: &str, timeout: Duration) -> escrow::Result<Router> {
    // Refuse to start for an authority without its witness key.
    LabWitness::new(lab, authority, time::OffsetDateTime::now_utc())?;
    Ok(Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .with_state(Arc::new(Shared {
            lab: lab.clone(),
            authority: authority.to_owned(),
        })))
}

fn text(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}\n", body.lines().next().unwrap_or_default()),
    )
        .into_response()
}

async fn add_checkpoint(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let Some(req) = parse(&body) else {
        return text(StatusCode::BAD_REQUEST, "malformed add-checkpoint request");
    };
    let r = tokio::task::spawn_blocking(move || {
        let mut w = LabWitness::new(&s.lab, &s.authority, time::OffsetDateTime::now_utc())?;
        w.add_checkpoint(req.old_size, &req.proof, &req.checkpoint)
    })
    .await;
    use escrow::Error as E;
    use escrow::LogError as L;
    match r {
        Ok(Ok(line)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response()
        }
        Ok(Err(E::Log(L::WitnessConflict { size, .. }))) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{size}\n"),
        )
            .into_response(),
        Ok(Err(e @ E::Log(L::BadSignature { .. }))) => text(StatusCode::FORBIDDEN, &e.to_string()),
        // "If the old size is larger than the checkpoint size": 400.
        Ok(Err(e @ E::Log(L::Rollback { .. }))) => text(StatusCode::BAD_REQUEST, &e.to_string()),
        Ok(Err(e @ E::Log(L::Malformed { .. }))) => text(StatusCode::BAD_REQUEST, &e.to_string()),
        Ok(Err(e @ E::Log(L::Db(_)))) | Ok(Err(e @ E::Lab(_))) => {
            text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
        }
        Ok(Err(e)) => text(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Runs `authority`'s witness service on `addr` until SIGTERM or SIGINT.
pub fn serve(
    lab: &Lab,
    authority: &str,
    addr: &str,
    ready: impl FnOnce(SocketAddr),
) -> escrow::Result<()> {
    let app = app(lab, authority, Duration::from_secs(30))?;
    let io = |error| {
        escrow::Error::Lab(escrow::error::LabError::Io {
            path: addr.into(),
            error,
        })
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(io)?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(io)?;
        ready(listener.local_addr().map_err(io)?);
        axum::serve(listener, app)
            .with_graceful_shutdown(crate::shutdown_signal())
            .await
            .map_err(io)
    })
}

/// Starts `authority`'s witness service on `listener` in a background thread (tests).
pub fn start(
    lab: &Lab,
    authority: &str,
    listener: std::net::TcpListener,
) -> escrow::Result<crate::log_server::Running> {
    let app = app(lab, authority, Duration::from_secs(30))?;
    crate::log_server::Running::spawn(listener, app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_bad_ones_are_refused() {
        let proof = vec![Hash([1; 32]), Hash([2; 32])];
        let b = body(5, &proof, b"origin\n9\nAAAA\n\n- sig\n");
        let p = parse(&b).unwrap();
        assert_eq!(
            (p.old_size, p.proof, p.checkpoint),
            (5, proof, b"origin\n9\nAAAA\n\n- sig\n".to_vec())
        );
        for bad in [
            &b"old 05\n\nx"[..],
            b"old \n\nx",
            b"new 5\n\nx",
            b"old 5\nnot-base64\n\nx",
            b"old 5\nx",
        ] {
            assert!(parse(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
