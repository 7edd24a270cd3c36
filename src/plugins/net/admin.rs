//! The admin endpoint (`--admin ADDR`): a small HTTP listener for the server's operator and
//! orchestrator, on the network runtime.
//!
//! - `GET /metrics`: the Prometheus text format. Every plugin records its own figures with the
//!   `metrics` crate's macros; the recorder is installed when the endpoint starts, before any
//!   figure is taken. Figures are counts only: no player names, addresses or room names.
//! - `GET /healthz`: 200 while the game loop ticks, 503 once it has not for [`STALLED_AFTER`].
//! - `GET /readyz`: 200 while the server takes players, 503 while it drains or is full.
//!
//! Requests are read with a size and time limit and answered once. The checks are answered at
//! once, whatever other connections do (an orchestrator's probe must not wait behind idle
//! connections); the figures are rendered a few at a time; at most [`MAX_OPEN`] connections are
//! open, and a new one closes the oldest.

use std::collections::VecDeque;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use super::listener::ServerShared;

/// A loop that has not ticked for this long is unhealthy (it ticks at least once a second).
pub const STALLED_AFTER: Duration = Duration::from_secs(2);
/// The tick duration histogram's buckets, in seconds.
const TICK_BUCKETS: [f64; 10] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0,
];
/// The longest request read, and how long a client has to send it (a probe sends its request
/// as it connects) and to take the answer.
const MAX_REQUEST: usize = 4096;
const REQUEST_TIME: Duration = Duration::from_secs(1);
const ANSWER_TIME: Duration = Duration::from_secs(5);
/// `/metrics` answers rendered at once; more wait for a turn.
const CONCURRENT: usize = 8;
/// Admin connections open at once; a new one closes the oldest.
pub const MAX_OPEN: usize = 64;

/// Where the admin endpoint listens.
#[derive(Clone, Debug)]
pub struct AdminConfig {
    pub addr: String,
    /// Allows an address other machines can reach (the figures are for the operator).
    pub public: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(
        "the admin endpoint {addr} would be reachable from other machines; bind it to a loopback address (127.0.0.1:9100) or add --admin-public"
    )]
    NotLoopback { addr: String },
    #[error("cannot listen for the admin endpoint on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot start the metrics recorder: {0}")]
    Recorder(String),
}

/// The process's metrics recorder, installed once (the `metrics` facade has one global).
static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder if it is not yet; later calls return the same handle.
pub fn install_recorder() -> Result<PrometheusHandle, AdminError> {
    if let Some(handle) = RECORDER.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full("catchmind_tick_seconds".into()), &TICK_BUCKETS)
        .map_err(|e| AdminError::Recorder(e.to_string()))?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| AdminError::Recorder(e.to_string()))?;
    Ok(RECORDER.get_or_init(|| handle).clone())
}

/// Binds the admin listener, refusing an address other machines reach unless `public`.
pub fn bind(config: &AdminConfig) -> Result<std::net::TcpListener, AdminError> {
    let addrs: Vec<SocketAddr> = config
        .addr
        .to_socket_addrs()
        .map_err(|source| AdminError::Bind {
            addr: config.addr.clone(),
            source,
        })?
        .collect();
    if !config.public && addrs.iter().any(|a| !a.ip().is_loopback()) {
        return Err(AdminError::NotLoopback {
            addr: config.addr.clone(),
        });
    }
    let listener = std::net::TcpListener::bind(&addrs[..]).map_err(|source| AdminError::Bind {
        addr: config.addr.clone(),
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| AdminError::Bind {
            addr: config.addr.clone(),
            source,
        })?;
    Ok(listener)
}

/// What the endpoint reads about the server.
pub(crate) struct Health {
    /// When the server started; the loop's last tick is kept relative to it.
    pub(crate) started: Instant,
}

impl Health {
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
        }
    }
}

/// Serves the endpoint until `stop`.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<ServerShared>,
    metrics: PrometheusHandle,
    stop: CancellationToken,
) {
    let turns = Arc::new(Semaphore::new(CONCURRENT));
    let open = Arc::new(Mutex::new(Open::default()));
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let (id, closed) = open.lock().expect("admin connections").add();
        let (shared, metrics, turns, open) = (shared.clone(), metrics.clone(), turns.clone(), open.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = closed.cancelled() => {}
                _ = timeout(ANSWER_TIME, answer(stream, &shared, &metrics, &turns)) => {}
            }
            open.lock().expect("admin connections").remove(id);
        });
    }
}

/// The admin connections open, oldest first.
#[derive(Default)]
struct Open {
    next: u64,
    connections: VecDeque<(u64, CancellationToken)>,
}

impl Open {
    /// A new connection: its id, and what closes it when [`MAX_OPEN`] newer ones came.
    fn add(&mut self) -> (u64, CancellationToken) {
        if self.connections.len() >= MAX_OPEN
            && let Some((_, oldest)) = self.connections.pop_front()
        {
            oldest.cancel();
        }
        self.next += 1;
        let closed = CancellationToken::new();
        self.connections.push_back((self.next, closed.clone()));
        (self.next, closed)
    }

    fn remove(&mut self, id: u64) {
        self.connections.retain(|(open, _)| *open != id);
    }
}

async fn answer(
    mut stream: TcpStream,
    shared: &ServerShared,
    metrics: &PrometheusHandle,
    turns: &Semaphore,
) -> std::io::Result<()> {
    let request = match timeout(REQUEST_TIME, read_request(&mut stream)).await {
        Ok(Ok(Some(request))) => request,
        Ok(Ok(None)) => return respond(&mut stream, "413 Content Too Large", "request too large\n").await,
        Ok(Err(e)) => return Err(e),
        Err(_) => return respond(&mut stream, "408 Request Timeout", "send the request at once\n").await,
    };
    let line = request.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method != "GET" {
        return respond(&mut stream, "405 Method Not Allowed", "only GET\n").await;
    }
    match path.split('?').next().unwrap_or("") {
        "/metrics" => {
            let Ok(_turn) = turns.acquire().await else {
                return Ok(());
            };
            metrics.run_upkeep();
            respond_with(&mut stream, "200 OK", PROMETHEUS_TEXT, &metrics.render()).await
        }
        "/healthz" => {
            let (healthy, why) = healthy(shared);
            respond(&mut stream, status(healthy), &why).await
        }
        "/readyz" => {
            let (ready, why) = ready(shared);
            respond(&mut stream, status(ready), &why).await
        }
        _ => respond(&mut stream, "404 Not Found", "/metrics, /healthz, /readyz\n").await,
    }
}

/// A request's head, up to its blank line; `None` when it is longer than [`MAX_REQUEST`].
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut request = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && !request.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&chunk[..n]);
        if request.len() > MAX_REQUEST {
            return Ok(None);
        }
    }
    Ok(Some(request))
}

fn status(ok: bool) -> &'static str {
    if ok { "200 OK" } else { "503 Service Unavailable" }
}

/// Whether the game loop ticked within [`STALLED_AFTER`].
fn healthy(shared: &ServerShared) -> (bool, String) {
    let last = Duration::from_millis(shared.last_tick_ms.load(Ordering::Relaxed));
    let since = shared.health.started.elapsed().saturating_sub(last);
    if since < STALLED_AFTER {
        (true, "ok\n".into())
    } else {
        (
            false,
            format!("the game loop has not ticked for {:.1} s\n", since.as_secs_f64()),
        )
    }
}

/// Whether the server takes players now.
fn ready(shared: &ServerShared) -> (bool, String) {
    if shared.draining.load(Ordering::Relaxed) {
        return (false, "draining\n".into());
    }
    if shared.live.load(Ordering::Relaxed) >= shared.config.max_connections {
        return (false, "full\n".into());
    }
    (true, "ready\n".into())
}

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn respond(stream: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    respond_with(stream, status, "text/plain; charset=utf-8", body).await
}

async fn respond_with(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reachable_admin_address_needs_admin_public() {
        let config = |addr: &str, public| AdminConfig {
            addr: addr.into(),
            public,
        };
        assert!(matches!(
            bind(&config("0.0.0.0:0", false)),
            Err(AdminError::NotLoopback { .. })
        ));
        assert!(bind(&config("127.0.0.1:0", false)).is_ok());
        assert!(bind(&config("localhost:0", false)).is_ok());
    }
}
