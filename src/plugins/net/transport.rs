//! The tokio side of the network plugin: sockets, framing, heartbeats and limits.
//! Nothing here knows Bevy; it talks to the ECS side through crossbeam channels.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::codec::{self, MAX_FRAME_LEN};
use crate::protocol::{
    ClientId, ClientMsg, CloseReason, Hello, LeaveReason, PROTOCOL_VERSION, Rejection, ServerMsg,
};

/// Limits and timings of one side's connections.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Frames waiting to be written to one peer; a peer whose queue fills is disconnected.
    pub outbound_queue: usize,
    /// Sustained frames per second a peer may send, and the burst above that.
    pub frames_per_second: f64,
    pub frame_burst: f64,
    /// A ping goes out after this long without sending anything.
    pub heartbeat_interval: Duration,
    /// A peer silent for this long is dropped.
    pub peer_timeout: Duration,
    /// How long a new connection has to send its handshake.
    pub handshake_timeout: Duration,
    /// How long one batch of writes may stall before the peer counts as not reading.
    pub write_stall: Duration,
    /// Open connections the server accepts at once.
    pub max_connections: usize,
    /// Kernel send buffer per accepted socket, so a stalled reader is noticed early.
    pub socket_send_buffer: Option<u32>,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            outbound_queue: 1024,
            frames_per_second: 120.0,
            frame_burst: 240.0,
            heartbeat_interval: Duration::from_secs(5),
            peer_timeout: Duration::from_secs(15),
            handshake_timeout: Duration::from_secs(10),
            write_stall: Duration::from_secs(10),
            max_connections: 4096,
            socket_send_buffer: Some(64 * 1024),
        }
    }
}

pub(crate) fn frame_codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(MAX_FRAME_LEN)
        .new_codec()
}

/// How a connection's reading side ended.
#[derive(Debug)]
pub(crate) enum ReadEnd {
    /// The peer closed the connection.
    Eof,
    /// The socket failed (reset, broken pipe).
    Lost,
    /// Nothing arrived within the timeout.
    Silent,
    /// The peer broke the protocol; it is told why before the socket closes.
    Violation(CloseReason),
    /// Our own side is closing the connection.
    Cancelled,
}

/// Reads length-delimited frames with a silence timeout and a per-peer rate limit.
pub(crate) struct FrameReader {
    frames: FramedRead<OwnedReadHalf, LengthDelimitedCodec>,
    cancel: CancellationToken,
    rate: Option<TokenBucket>,
}

impl FrameReader {
    pub(crate) fn new(read: OwnedReadHalf, cancel: CancellationToken, rate: Option<TokenBucket>) -> Self {
        Self {
            frames: FramedRead::new(read, frame_codec()),
            cancel,
            rate,
        }
    }

    /// The next frame, or how reading ended; `silence_limit` is how long to wait for it.
    pub(crate) async fn next(&mut self, silence_limit: Duration) -> Result<bytes::BytesMut, ReadEnd> {
        let next = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => return Err(ReadEnd::Cancelled),
            next = timeout(silence_limit, self.frames.next()) => next,
        };
        let frame = match next {
            Err(_) => return Err(ReadEnd::Silent),
            Ok(None) => return Err(ReadEnd::Eof),
            Ok(Some(Err(e))) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(ReadEnd::Violation(CloseReason::ProtocolViolation(format!(
                    "frame larger than {MAX_FRAME_LEN} bytes"
                ))));
            }
            Ok(Some(Err(_))) => return Err(ReadEnd::Lost),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Some(rate) = &mut self.rate
            && !rate.take(Instant::now())
        {
            return Err(ReadEnd::Violation(CloseReason::Flooding));
        }
        Ok(frame)
    }
}

/// Allows `per_second` events on average with bursts up to `burst`.
pub(crate) struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(per_second: f64, burst: f64) -> Self {
        Self {
            per_second,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// How a connection's writing side ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WriteEnd {
    Closed,
    Stalled,
    Failed,
}

/// The channels through which the ECS side (or the reader) drives a connection's writer.
#[derive(Clone)]
pub(crate) struct Outbox {
    pub(crate) frames: mpsc::Sender<Bytes>,
    /// One last frame (empty for none), written before the socket closes; the first wins.
    pub(crate) close: mpsc::Sender<Bytes>,
    pub(crate) cancel: CancellationToken,
}

pub(crate) struct OutboxReceivers {
    frames: mpsc::Receiver<Bytes>,
    close: mpsc::Receiver<Bytes>,
}

pub(crate) fn outbox(capacity: usize) -> (Outbox, OutboxReceivers) {
    let (frames_tx, frames_rx) = mpsc::channel(capacity);
    let (close_tx, close_rx) = mpsc::channel(1);
    (
        Outbox {
            frames: frames_tx,
            close: close_tx,
            cancel: CancellationToken::new(),
        },
        OutboxReceivers {
            frames: frames_rx,
            close: close_rx,
        },
    )
}

impl Outbox {
    /// Asks the writer to send `last` (if any) and close; later requests are ignored.
    pub(crate) fn close_with(&self, last: Option<Bytes>) {
        let _ = self.close.try_send(last.unwrap_or_default());
    }
}

/// Writes queued frames, several per system call, with a ping when idle.
pub(crate) async fn write_loop(
    write: OwnedWriteHalf,
    mut rx: OutboxReceivers,
    cancel: CancellationToken,
    heartbeat: Duration,
    stall: Duration,
    ping: Bytes,
) -> WriteEnd {
    let mut sink = FramedWrite::new(write, frame_codec());
    let end = loop {
        let first = tokio::select! {
            biased;
            _ = cancel.cancelled() => break WriteEnd::Closed,
            last = rx.close.recv() => {
                if let Some(last) = last.filter(|b| !b.is_empty()) {
                    let _ = timeout(Duration::from_secs(1), sink.send(last)).await;
                }
                break WriteEnd::Closed;
            }
            frame = rx.frames.recv() => match frame {
                Some(frame) => frame,
                None => break WriteEnd::Closed,
            },
            _ = sleep(heartbeat) => ping.clone(),
        };
        let batch = async {
            sink.feed(first).await?;
            for _ in 0..64 {
                match rx.frames.try_recv() {
                    Ok(frame) => sink.feed(frame).await?,
                    Err(_) => break,
                }
            }
            SinkExt::<Bytes>::flush(&mut sink).await
        };
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break WriteEnd::Closed,
            result = timeout(stall, batch) => match result {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break WriteEnd::Failed,
                Err(_) => break WriteEnd::Stalled,
            },
        }
    };
    let _ = timeout(Duration::from_millis(500), sink.get_mut().shutdown()).await;
    cancel.cancel();
    end
}

// ---------------------------------------------------------------------------------------------
// Server

/// What the server's connections report to the ECS side.
pub(crate) enum ServerEvent {
    Connected {
        client: ClientId,
        addr: SocketAddr,
        outbox: Outbox,
    },
    Hello {
        client: ClientId,
        hello: Hello,
    },
    Message {
        client: ClientId,
        msg: ClientMsg,
    },
    Closed {
        client: ClientId,
        reason: LeaveReason,
    },
}

pub(crate) struct ServerShared {
    pub(crate) config: NetConfig,
    pub(crate) events: crossbeam_channel::Sender<ServerEvent>,
    /// Wakes a server loop that sleeps while nobody is connected.
    pub(crate) wake: crossbeam_channel::Sender<()>,
    pub(crate) tracker: TaskTracker,
    pub(crate) live: AtomicUsize,
}

impl ServerShared {
    /// Hands an event to the ECS side; false once the server is gone.
    fn report(&self, event: ServerEvent) -> bool {
        let sent = self.events.send(event).is_ok();
        let _ = self.wake.try_send(());
        sent
    }
}

pub(crate) fn encode_server(msg: &ServerMsg) -> Bytes {
    // Server messages are built by our own code within the frame limit.
    Bytes::from(codec::encode(msg).expect("server message fits in a frame"))
}

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<ServerShared>, stop: CancellationToken) {
    let mut next_id: u32 = 1;
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Usually out of file descriptors: back off instead of spinning.
                bevy::log::warn!("accept failed: {e}");
                sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if shared.live.load(Ordering::Relaxed) >= shared.config.max_connections {
            shared
                .tracker
                .spawn(refuse(stream, CloseReason::Rejected(Rejection::ServerFull)));
            continue;
        }
        if let Some(size) = shared.config.socket_send_buffer {
            let _ = socket2::SockRef::from(&stream).set_send_buffer_size(size as usize);
        }
        let client = ClientId(next_id);
        next_id = next_id.wrapping_add(1).max(1);
        let (outbox, receivers) = outbox(shared.config.outbound_queue);
        shared.live.fetch_add(1, Ordering::Relaxed);
        let connected = ServerEvent::Connected {
            client,
            addr,
            outbox: outbox.clone(),
        };
        if !shared.report(connected) {
            break;
        }
        shared.tracker.spawn(serve_connection(
            stream,
            client,
            outbox,
            receivers,
            shared.clone(),
        ));
    }
}

async fn refuse(stream: TcpStream, reason: CloseReason) {
    let mut sink = FramedWrite::new(stream, frame_codec());
    let _ = timeout(
        Duration::from_secs(1),
        sink.send(encode_server(&ServerMsg::Closing(reason))),
    )
    .await;
}

async fn serve_connection(
    stream: TcpStream,
    client: ClientId,
    outbox: Outbox,
    receivers: OutboxReceivers,
    shared: Arc<ServerShared>,
) {
    let config = &shared.config;
    let (read, write) = stream.into_split();
    let writer = tokio::spawn(write_loop(
        write,
        receivers,
        outbox.cancel.clone(),
        config.heartbeat_interval,
        config.write_stall,
        encode_server(&ServerMsg::Ping),
    ));
    let rate = TokenBucket::new(config.frames_per_second, config.frame_burst);
    let mut reader = FrameReader::new(read, outbox.cancel.clone(), Some(rate));
    let end = read_client(&mut reader, client, &shared).await;
    let cancelled = matches!(end, ReadEnd::Cancelled);
    let reason = match end {
        ReadEnd::Eof => LeaveReason::Left,
        ReadEnd::Lost => LeaveReason::ConnectionLost,
        ReadEnd::Silent => {
            outbox.close_with(Some(encode_server(&ServerMsg::Closing(CloseReason::TimedOut))));
            LeaveReason::TimedOut
        }
        ReadEnd::Violation(why) => {
            let leave = LeaveReason::from(&why);
            outbox.close_with(Some(encode_server(&ServerMsg::Closing(why))));
            leave
        }
        ReadEnd::Cancelled => LeaveReason::Kicked("closed by the server".into()),
    };
    if !cancelled {
        outbox.close_with(None);
    }
    let written = timeout(Duration::from_secs(2), writer).await;
    outbox.cancel.cancel();
    let reason = match written {
        Ok(Ok(WriteEnd::Stalled)) => LeaveReason::from(&CloseReason::TooSlow),
        _ => reason,
    };
    shared.live.fetch_sub(1, Ordering::Relaxed);
    shared.report(ServerEvent::Closed { client, reason });
}

/// Reads the handshake, then forwards every message until the connection ends.
async fn read_client(reader: &mut FrameReader, client: ClientId, shared: &ServerShared) -> ReadEnd {
    let config = &shared.config;
    let frame = match reader.next(config.handshake_timeout).await {
        Ok(frame) => frame,
        Err(end) => return end,
    };
    let hello = match codec::decode::<ClientMsg>(&frame) {
        Ok(ClientMsg::Hello(hello)) if hello.version == PROTOCOL_VERSION => hello,
        Ok(ClientMsg::Hello(hello)) => return version_mismatch(hello.version),
        Ok(_) => return violation("expected a handshake first"),
        Err(e) => {
            // A client of another version may not decode as ours: read just its version.
            return match codec::decode_prefix::<(u32, u16)>(&frame) {
                Ok(((0, version), _)) if version != PROTOCOL_VERSION => version_mismatch(version),
                _ => violation(&e.to_string()),
            };
        }
    };
    if !shared.report(ServerEvent::Hello { client, hello }) {
        return ReadEnd::Cancelled;
    }
    loop {
        let frame = match reader.next(config.peer_timeout).await {
            Ok(frame) => frame,
            Err(end) => return end,
        };
        match codec::decode::<ClientMsg>(&frame) {
            Ok(ClientMsg::Ping) => {}
            Ok(ClientMsg::Leave) => return ReadEnd::Eof,
            Ok(ClientMsg::Hello(_)) => return violation("handshake sent twice"),
            Ok(msg) => {
                if !shared.report(ServerEvent::Message { client, msg }) {
                    return ReadEnd::Cancelled;
                }
            }
            Err(e) => return violation(&e.to_string()),
        }
    }
}

fn violation(why: &str) -> ReadEnd {
    ReadEnd::Violation(CloseReason::ProtocolViolation(why.to_owned()))
}

fn version_mismatch(client: u16) -> ReadEnd {
    ReadEnd::Violation(CloseReason::Rejected(Rejection::VersionMismatch {
        server: PROTOCOL_VERSION,
        client,
    }))
}

// ---------------------------------------------------------------------------------------------
// Client

/// Frames per second a client accepts from its server (bursts of twice that).
const SERVER_FRAMES_PER_SECOND: f64 = 2000.0;

/// What the client's connection reports to the ECS side.
pub(crate) enum ClientEvent {
    Message(ServerMsg),
    Ended(ConnectionError),
}

/// Why a client's connection failed or ended, in words for the player.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    #[error("cannot find the server \"{addr}\": {detail}")]
    Resolve { addr: String, detail: String },
    #[error("connection refused by {addr}: is the server running?")]
    Refused { addr: String },
    #[error("no answer from {addr} (timed out connecting)")]
    ConnectTimeout { addr: String },
    #[error("cannot connect to {addr}: {detail}")]
    Connect { addr: String, detail: String },
    #[error("{}", closed_by_server(.0))]
    ClosedByServer(CloseReason),
    #[error("the server went away")]
    ServerGone,
    #[error("lost the connection to the server")]
    Lost,
    #[error("the server stopped answering (timed out)")]
    ServerSilent,
    #[error("the server sent something invalid: {0}")]
    BadServer(String),
    #[error("left the game")]
    Left,
}

impl ConnectionError {
    /// The connection never got established (as opposed to ending later).
    pub fn is_connect_failure(&self) -> bool {
        matches!(
            self,
            Self::Resolve { .. } | Self::Refused { .. } | Self::ConnectTimeout { .. } | Self::Connect { .. }
        ) || matches!(self, Self::ClosedByServer(CloseReason::Rejected(_)))
    }
}

fn closed_by_server(reason: &CloseReason) -> String {
    match reason {
        CloseReason::ServerShutdown => "the server was stopped".into(),
        CloseReason::Rejected(why) => format!("the server refused to let you in: {why}"),
        other => format!("the server disconnected you: {other}"),
    }
}

pub(crate) async fn run_client(
    addr: String,
    config: NetConfig,
    events: crossbeam_channel::Sender<ClientEvent>,
    receivers: OutboxReceivers,
    outbox: Outbox,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
) {
    let notify = |event: ClientEvent| {
        let _ = events.send(event);
        if let Some(wake) = &wake {
            wake();
        }
    };
    let stream = match connect(&addr).await {
        Ok(stream) => stream,
        Err(e) => return notify(ClientEvent::Ended(e)),
    };
    let (read, write) = stream.into_split();
    let ping = Bytes::from(codec::encode(&ClientMsg::Ping).expect("ping encodes"));
    let writer = tokio::spawn(write_loop(
        write,
        receivers,
        outbox.cancel.clone(),
        config.heartbeat_interval,
        config.write_stall,
        ping,
    ));
    // Broadcasts to one player stay far below this; a server past it is broken or hostile.
    let rate = TokenBucket::new(SERVER_FRAMES_PER_SECOND, SERVER_FRAMES_PER_SECOND * 2.0);
    let mut reader = FrameReader::new(read, outbox.cancel.clone(), Some(rate));
    let error = loop {
        let frame = match reader.next(config.peer_timeout).await {
            Ok(frame) => frame,
            Err(ReadEnd::Eof) => break ConnectionError::ServerGone,
            Err(ReadEnd::Lost) => break ConnectionError::Lost,
            Err(ReadEnd::Silent) => break ConnectionError::ServerSilent,
            Err(ReadEnd::Violation(CloseReason::Flooding)) => {
                break ConnectionError::BadServer("too many messages, too fast".into());
            }
            Err(ReadEnd::Violation(reason)) => break ConnectionError::BadServer(reason.to_string()),
            Err(ReadEnd::Cancelled) => break ConnectionError::Left,
        };
        match codec::decode::<ServerMsg>(&frame) {
            Ok(ServerMsg::Ping) => {}
            Ok(ServerMsg::Closing(reason)) => break ConnectionError::ClosedByServer(reason),
            Ok(msg) => notify(ClientEvent::Message(msg)),
            Err(e) => break ConnectionError::BadServer(e.to_string()),
        }
    };
    outbox.close_with(None);
    let _ = timeout(Duration::from_secs(1), writer).await;
    outbox.cancel.cancel();
    notify(ClientEvent::Ended(error));
}

async fn connect(addr: &str) -> Result<TcpStream, ConnectionError> {
    let resolved: Vec<SocketAddr> = match timeout(Duration::from_secs(5), tokio::net::lookup_host(addr)).await
    {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => {
            return Err(ConnectionError::Resolve {
                addr: addr.into(),
                detail: e.to_string(),
            });
        }
        Err(_) => {
            return Err(ConnectionError::Resolve {
                addr: addr.into(),
                detail: "lookup timed out".into(),
            });
        }
    };
    let mut last = ConnectionError::Resolve {
        addr: addr.into(),
        detail: "no addresses".into(),
    };
    for target in resolved {
        match timeout(Duration::from_secs(5), TcpStream::connect(target)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = ConnectionError::Refused {
                    addr: target.to_string(),
                };
            }
            Ok(Err(e)) => {
                last = ConnectionError::Connect {
                    addr: target.to_string(),
                    detail: e.to_string(),
                };
            }
            Err(_) => {
                last = ConnectionError::ConnectTimeout {
                    addr: target.to_string(),
                }
            }
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bucket_allows_bursts_then_the_sustained_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket {
            per_second: 10.0,
            burst: 5.0,
            tokens: 5.0,
            last: start,
        };
        assert!((0..5).all(|_| bucket.take(start)));
        assert!(!bucket.take(start));
        assert!(bucket.take(start + Duration::from_millis(100)));
        assert!(!bucket.take(start + Duration::from_millis(100)));
        // Long idleness refills to the burst, not beyond.
        let later = start + Duration::from_secs(60);
        assert!((0..5).all(|_| bucket.take(later)));
        assert!(!bucket.take(later));
    }
}
