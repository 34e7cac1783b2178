//! `escrow log serve`: the log operator as a service — the only process that opens the log's
//! signing key.
//!
//! * Read API, exactly C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): `GET /checkpoint`,
//!   `GET /tile/<L>/<N>[.p/<W>]`, `GET /tile/entries/<N>[.p/<W>]` (tile height 8; entries in
//!   a bundle as big-endian 16-bit length and bytes).
//! * Write API: `POST /add-entry` with a signed request
//!   ([`escrow::transparency::submit`]) from a registered submitter. The answer comes once the
//!   entry is durable (its SQLite transaction committed, `synchronous=FULL`): JSON
//!   `{"version":1,"index":I,"new":B,"receipt":PROOF}` with the entry's inclusion proof in a
//!   signed checkpoint carrying the cosignatures collected for it.
//! * `GET /lookup/<key>`: indexes of the entries under an index key (a warrant by digest, its
//!   releases, a generation's entries), JSON `{"indexes":[…]}`; the operator's index, which
//!   clients verify entry by entry and monitors do not need.
//!
//! Batching (as Sunlight and Tessera do): submissions queue for one sequencer thread that
//! takes everything waiting (up to [`Options::max_batch`]), appends it in one transaction with
//! one checkpoint, asks the witnesses ([`crate::client::HttpWitness`], C2SP tlog-witness) to
//! cosign it, and answers every submission of the batch.
//!
//! Limits: request bodies ([`escrow::transparency::submit::MAX_REQUEST_LEN`]), a time limit on
//! every request, a bounded queue (503 when full). A refused request appends nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use escrow::lab::Lab;
use escrow::transparency::api::LocalLog;
use escrow::transparency::proof::ProofBundle;
use escrow::transparency::store::LogStore;
use escrow::transparency::submit::{MAX_REQUEST_LEN, Refusal, check_request};
use escrow::transparency::{LogConfig, LogRecord};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tower_http::timeout::TimeoutLayer;

use crate::paths::{self, TilePath};

/// How the service runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Most submissions appended in one transaction.
    pub max_batch: usize,
    /// Most submissions waiting (beyond, 503).
    pub max_queue: usize,
    /// Time limit of every request.
    pub timeout: Duration,
    /// The witnesses to ask after each batch: authority name and base URL.
    pub witnesses: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_batch: 256,
            max_queue: 4096,
            timeout: Duration::from_secs(30),
            witnesses: Vec::new(),
        }
    }
}

/// The answer to `POST /add-entry`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddEntryResponse {
    /// Format version, 1.
    pub version: u64,
    /// The entry's index.
    pub index: u64,
    /// False if the log already held it.
    pub new: bool,
    /// The entry, its inclusion proof and the (cosigned) checkpoint.
    pub receipt: ProofBundle,
}

type Reply = Result<AddEntryResponse, (StatusCode, String)>;

struct Job {
    record: LogRecord,
    reply: oneshot::Sender<Reply>,
}

struct Shared {
    lab: Lab,
    config: LogConfig,
    queue: mpsc::SyncSender<Job>,
    /// Read-only connections kept between requests (opening one per read costs more than
    /// the read).
    readers: std::sync::Mutex<Vec<LogStore>>,
}

/// A running log service (tests, benches, `escrow log serve`).
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Stops the service (finishing requests in flight) and waits for it.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> std::io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| std::io::Error::other("the service thread panicked"))?,
            None => Ok(()),
        }
    }

    /// The service's base URL (`http://ADDR`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Starts the log service of `lab` on `listener` in background threads.
pub fn start(lab: &Lab, listener: std::net::TcpListener, opts: Options) -> escrow::Result<Running> {
    Running::spawn(listener, app(lab, opts)?)
}

impl Running {
    /// Serves `app` on `listener` from a background thread with its own runtime.
    pub fn spawn(listener: std::net::TcpListener, app: Router) -> escrow::Result<Self> {
        let io = |error| {
            escrow::Error::Lab(escrow::error::LabError::Io {
                path: "the listening socket".into(),
                error,
            })
        };
        let addr = listener.local_addr().map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || -> std::io::Result<()> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
            })
        });
        Ok(Self {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

/// Runs the log service of `lab` on `addr` until SIGTERM or SIGINT (`escrow log serve`).
/// `ready` is called with the bound address once it accepts connections.
pub fn serve(
    lab: &Lab,
    addr: &str,
    opts: Options,
    ready: impl FnOnce(SocketAddr),
) -> escrow::Result<()> {
    let app = app(lab, opts)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| io_err(lab, "the runtime", e))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| io_err(lab, addr, e))?;
        ready(listener.local_addr().map_err(|e| io_err(lab, addr, e))?);
        axum::serve(listener, app)
            .with_graceful_shutdown(crate::shutdown_signal())
            .await
            .map_err(|e| io_err(lab, addr, e))
    })
}

fn io_err(lab: &Lab, what: &str, error: std::io::Error) -> escrow::Error {
    escrow::Error::Lab(escrow::error::LabError::Io {
        path: lab.root().join(what),
        error,
    })
}

/// The service's routes over `lab`'s log; starts the sequencer thread.
pub fn app(lab: &Lab, opts: Options) -> escrow::Result<Router> {
    let mut log = LocalLog::open(lab)?;
    let config = lab.load_log_config()?;
    for (authority, url) in &opts.witnesses {
        config.witness(authority)?;
        log = log.with_witness(Box::new(crate::client::HttpWitness::new(authority, url)));
    }
    let (tx, rx) = mpsc::sync_channel::<Job>(opts.max_queue);
    let max_batch = opts.max_batch.max(1);
    std::thread::spawn(move || sequencer(log, rx, max_batch));
    let shared = Arc::new(Shared {
        lab: lab.clone(),
        config,
        queue: tx,
        readers: std::sync::Mutex::new(Vec::new()),
    });
    Ok(Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/lookup/{*key}", get(lookup))
        .route("/add-entry", post(add_entry))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_LEN))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            opts.timeout,
        ))
        .with_state(shared))
}

/// Takes what is waiting, appends it in one transaction with one checkpoint, collects
/// cosignatures, answers. Ends when every sender is gone.
fn sequencer(mut log: LocalLog, rx: mpsc::Receiver<Job>, max_batch: usize) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < max_batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let records: Vec<LogRecord> = jobs.iter().map(|j| j.record.clone()).collect();
        let results = match log.append_batch(&records) {
            Ok(r) => r,
            Err(e) => {
                for j in jobs {
                    let _ = j.reply.send(Err(status_of(&e)));
                }
                continue;
            }
        };
        // Durable now. The witnesses are asked; one that refuses or is down is reported here
        // and the checkpoint goes out with the others' cosignatures.
        if let Err(e) = log.collect_cosignatures() {
            eprintln!("escrow log serve: witness: {e}");
        }
        let size = log.store().size();
        for (j, r) in jobs.into_iter().zip(results) {
            let reply = match (r, &size) {
                (Ok((index, new)), Ok(size)) => match log.receipt(index, *size) {
                    Ok(receipt) => Ok(AddEntryResponse {
                        version: 1,
                        index,
                        new,
                        receipt,
                    }),
                    Err(e) => Err(status_of(&e)),
                },
                (Err(e), _) => Err(status_of(&e)),
                (_, Err(e)) => Err(status_of(e)),
            };
            let _ = j.reply.send(reply);
        }
    }
}

/// The status and one-line reason for a refusal by the log.
fn status_of(e: &escrow::Error) -> (StatusCode, String) {
    use escrow::Error as E;
    let status = match e {
        E::TimeBackwards { .. } | E::TimeAhead { .. } => StatusCode::CONFLICT,
        E::Log(escrow::LogError::Db(_)) | E::Lab(_) | E::Internal(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    (status, one_line(&e.to_string()))
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}\n", one_line(&body)),
    )
        .into_response()
}

async fn add_entry(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let record = match check_request(&s.config, &body) {
        Ok(r) => r,
        Err((refusal, reason)) => {
            let status = match refusal {
                Refusal::Malformed => StatusCode::BAD_REQUEST,
                Refusal::Unauthenticated => StatusCode::UNAUTHORIZED,
                Refusal::Forbidden => StatusCode::FORBIDDEN,
            };
            return text(status, reason);
        }
    };
    let (tx, rx) = oneshot::channel();
    match s.queue.try_send(Job { record, reply: tx }) {
        Ok(()) => {}
        Err(mpsc::TrySendError::Full(_)) => {
            return text(StatusCode::SERVICE_UNAVAILABLE, "the log is busy".into());
        }
        Err(mpsc::TrySendError::Disconnected(_)) => {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the log is stopping".into(),
            );
        }
    }
    match rx.await {
        Ok(Ok(resp)) => match serde_json::to_vec(&resp) {
            Ok(b) => ([(header::CONTENT_TYPE, "application/json")], b).into_response(),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        Ok(Err((status, reason))) => text(status, reason),
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the log is stopping".into(),
        ),
    }
}

/// Runs a read against a read-only connection to the log, off the async workers.
async fn read<T: Send + 'static>(
    s: &Arc<Shared>,
    f: impl FnOnce(&LogStore) -> escrow::Result<T> + Send + 'static,
) -> Result<T, Response> {
    let s = s.clone();
    tokio::task::spawn_blocking(move || {
        let pooled = s.readers.lock().ok().and_then(|mut p| p.pop());
        let store = match pooled {
            Some(st) => st,
            None => s.lab.open_log_read_only(&s.config)?,
        };
        let r = f(&store);
        if let Ok(mut p) = s.readers.lock()
            && p.len() < 16
        {
            p.push(store);
        }
        r
    })
    .await
    .map_err(|e| text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| match e {
        escrow::Error::Log(escrow::LogError::NotInLog { .. }) => {
            text(StatusCode::NOT_FOUND, "no such tile".into())
        }
        e => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
}

async fn checkpoint(State(s): State<Arc<Shared>>) -> Response {
    match read(&s, |st| st.latest_checkpoint()).await {
        Ok(note) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            note,
        )
            .into_response(),
        Err(r) => r,
    }
}

async fn tile(State(s): State<Arc<Shared>>, Path(path): Path<String>) -> Response {
    let Some(t) = paths::parse(&path) else {
        return text(
            StatusCode::NOT_FOUND,
            format!("not a tile path: tile/{path}"),
        );
    };
    let r = read(&s, move |st| match t {
        TilePath::Hash(l, n, w) => st.hash_tile(l, n, w),
        TilePath::Entries(n, w) => st.entry_bundle(n, w),
    })
    .await;
    match r {
        // Tiles never change: full ones forever, a partial one is replaced by a wider path.
        Ok(data) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            data,
        )
            .into_response(),
        Err(r) => r,
    }
}

/// The answer to `GET /lookup/<key>`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupResponse {
    /// Format version, 1.
    pub version: u64,
    /// Indexes of the entries under the key, ascending.
    pub indexes: Vec<u64>,
}

async fn lookup(State(s): State<Arc<Shared>>, Path(key): Path<String>) -> Response {
    if key.len() > 256 || key.bytes().any(|b| !b.is_ascii_graphic()) {
        return text(StatusCode::BAD_REQUEST, "malformed lookup key".into());
    }
    match read(&s, move |st| st.lookup(&key)).await {
        Ok(indexes) => match serde_json::to_vec(&LookupResponse {
            version: 1,
            indexes,
        }) {
            Ok(b) => ([(header::CONTENT_TYPE, "application/json")], b).into_response(),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        Err(r) => r,
    }
}
