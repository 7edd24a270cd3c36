//! Framing, heartbeats and limits shared by both ends of a connection (tokio side).
//! Nothing here knows Bevy; `listener` and `connector` use it, and talk to the ECS side
//! through crossbeam channels.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::codec::LengthDelimitedCodec;
use tokio_util::sync::CancellationToken;

use super::per_address::AddressLimits;
use crate::codec::MAX_FRAME_LEN;
pub(crate) use crate::rate::TokenBucket;
#[cfg(not(target_arch = "wasm32"))]
use native::*;

/// What the sockets' side (readers and writers on tokio) needs; a browser has its own.
#[cfg(not(target_arch = "wasm32"))]
mod native {
    pub(super) use std::collections::VecDeque;
    pub(super) use std::future::Future;
    pub(super) use std::pin::Pin;
    pub(super) use std::task::Poll;

    pub(super) use futures_util::{SinkExt, StreamExt};
    pub(super) use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
    pub(super) use tokio::time::{Instant, Sleep, sleep_until, timeout};
    pub(super) use tokio_util::codec::FramedRead;
    pub(super) use tokio_util::sync::WaitForCancellationFutureOwned;

    pub(super) use super::super::wire::{CloseReason, Violation};
}

/// How long a stop waits at most for the turns in progress to end (a drawing turn is at most
/// 240 s, the default 80 s).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(90);

/// Limits and timings of one side's connections.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Frames waiting to be written to one peer; a peer whose queue fills is disconnected.
    pub outbound_queue: usize,
    /// Bytes waiting to be written to one peer (the server's per-connection memory bound): a
    /// peer whose queue would pass it, or stays over half of it for `slow_reader_grace`, is
    /// disconnected as not reading fast enough.
    pub outbound_bytes: usize,
    pub slow_reader_grace: Duration,
    /// Sustained frames per second a peer may send, and the burst above that.
    pub frames_per_second: f64,
    pub frame_burst: f64,
    /// A ping goes out after this long without sending anything (a server's, after this long
    /// without queueing anything for the connection, looked at every half of it or every
    /// second, whichever is sooner).
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
    /// Connections, handshakes in progress and arrivals per minute from one address.
    pub per_address: AddressLimits,
    /// How long a stop (SIGTERM, Ctrl+C, the hosting window closing) waits for the games'
    /// turns in progress to end; zero stops at once.
    pub drain_timeout: Duration,
    /// Where a browser client's page is, served on the game's port.
    pub web_root: Option<std::path::PathBuf>,
    /// The server's admin endpoint (metrics, health, readiness), if any.
    #[cfg(not(target_arch = "wasm32"))]
    pub admin: Option<super::admin::AdminConfig>,
    /// Run under Agones: talk to its SDK sidecar.
    #[cfg(feature = "agones")]
    pub agones: Option<super::agones::AgonesConfig>,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            outbound_queue: 1024,
            outbound_bytes: 1024 * 1024,
            slow_reader_grace: Duration::from_secs(5),
            frames_per_second: 120.0,
            frame_burst: 240.0,
            heartbeat_interval: Duration::from_secs(5),
            peer_timeout: Duration::from_secs(15),
            handshake_timeout: Duration::from_secs(10),
            write_stall: Duration::from_secs(10),
            max_connections: 4096,
            drain_timeout: DRAIN_TIMEOUT,
            web_root: None,
            #[cfg(not(target_arch = "wasm32"))]
            admin: None,
            #[cfg(feature = "agones")]
            agones: None,
            socket_send_buffer: Some(64 * 1024),
            per_address: AddressLimits::default(),
        }
    }
}

/// The frame format: a 4-byte big-endian length, then at most [`MAX_FRAME_LEN`] bytes.
pub fn frame_codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(MAX_FRAME_LEN)
        .new_codec()
}

#[cfg(not(target_arch = "wasm32"))]
/// How a connection's reading side ended.
#[derive(Debug)]
pub(crate) enum ReadEnd {
    /// The peer closed the connection without a goodbye.
    Eof,
    /// The peer said goodbye (a client's `Leave`).
    Left,
    /// The socket failed (reset, broken pipe).
    Lost,
    /// Nothing arrived within the timeout.
    Silent,
    /// The peer broke the protocol; it is told why before the socket closes.
    Violation(CloseReason),
    /// Our own side is closing the connection.
    Cancelled,
}

#[cfg(not(target_arch = "wasm32"))]
/// What a transport hands the reader: a frame's payload, or something of the transport's own
/// (a WebSocket ping or pong) that counts against the rate limit and carries nothing.
pub(crate) enum Incoming {
    Frame(Bytes),
    Other,
}

#[cfg(not(target_arch = "wasm32"))]
/// A transport's incoming side: frames, or how reading ended.
pub(crate) type FrameStream = Pin<Box<dyn futures_util::Stream<Item = Result<Incoming, ReadEnd>> + Send>>;

#[cfg(not(target_arch = "wasm32"))]
/// The frames of a TCP connection: a 4-byte length, then the payload.
pub(crate) fn tcp_frames(read: OwnedReadHalf) -> FrameStream {
    Box::pin(FramedRead::new(read, frame_codec()).map(|next| match next {
        Ok(frame) => Ok(Incoming::Frame(frame.freeze())),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(ReadEnd::Violation(
            CloseReason::ProtocolViolation(Violation::frame_too_large()),
        )),
        Err(_) => Err(ReadEnd::Lost),
    }))
}

#[cfg(not(target_arch = "wasm32"))]
/// A transport's outgoing side: takes frames' payloads.
pub(crate) type FrameSink = Pin<Box<dyn futures_util::Sink<Bytes, Error = std::io::Error> + Send>>;

#[cfg(not(target_arch = "wasm32"))]
/// The frames of a TCP connection, length-prefixed (as [`frame_codec`] writes them).
pub(crate) fn tcp_sink(write: OwnedWriteHalf) -> FrameSink {
    Box::pin(TcpSink {
        write,
        queue: VecDeque::new(),
        queued: 0,
        head: 0,
    })
}

#[cfg(not(target_arch = "wasm32"))]
/// Writes each batch of frames with vectored writes, prefixes and payloads as they are:
/// tokio's `FramedWrite` copies every frame into its buffer first, and cost twice the
/// instructions of the write itself (`scripts/count`).
struct TcpSink<W = OwnedWriteHalf> {
    write: W,
    /// Frames taken and not yet written: a length prefix and a payload each.
    queue: VecDeque<([u8; 4], Bytes)>,
    /// Bytes in `queue` not yet written.
    queued: usize,
    /// Bytes of the first frame (its prefix, then its payload) already written.
    head: usize,
}

/// Past this many bytes taken, a [`TcpSink`] writes before it takes more (as `FramedWrite`
/// did): what a writer took from its queue, out of the connection's byte budget, stays within
/// this and one frame.
#[cfg(not(target_arch = "wasm32"))]
const SINK_BACKPRESSURE: usize = 8 * 1024;
/// Slices in one of a [`TcpSink`]'s vectored writes (two a frame).
#[cfg(not(target_arch = "wasm32"))]
const SINK_SLICES: usize = 32;

#[cfg(not(target_arch = "wasm32"))]
impl<W> TcpSink<W> {
    /// `written` bytes left for the socket.
    fn advance(&mut self, mut written: usize) {
        self.queued -= written;
        while let Some((_, payload)) = self.queue.front() {
            let left = 4 + payload.len() - self.head;
            if written < left {
                self.head += written;
                return;
            }
            written -= left;
            self.head = 0;
            self.queue.pop_front();
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl<W: tokio::io::AsyncWrite + Unpin> futures_util::Sink<Bytes> for TcpSink<W> {
    type Error = std::io::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
        if self.queued >= SINK_BACKPRESSURE {
            return self.poll_flush(cx);
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, frame: Bytes) -> std::io::Result<()> {
        if frame.len() > MAX_FRAME_LEN {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "frame over the size cap",
            ));
        }
        let this = self.get_mut();
        this.queued += 4 + frame.len();
        this.queue.push_back(((frame.len() as u32).to_be_bytes(), frame));
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        while let Some((prefix, payload)) = this.queue.front() {
            let write = Pin::new(&mut this.write);
            let written = if this.queue.len() == 1 {
                // The usual batch: one frame, two slices (or what is left of them).
                let slices = match this.head {
                    head if head < 4 => [
                        std::io::IoSlice::new(&prefix[head..]),
                        std::io::IoSlice::new(payload),
                    ],
                    head => [
                        std::io::IoSlice::new(&payload[head - 4..]),
                        std::io::IoSlice::new(&[]),
                    ],
                };
                std::task::ready!(write.poll_write_vectored(cx, &slices))?
            } else {
                let mut slices = [std::io::IoSlice::new(&[]); SINK_SLICES];
                let mut count = 0;
                let mut skip = this.head;
                'frames: for (prefix, payload) in &this.queue {
                    for part in [&prefix[..], &payload[..]] {
                        if skip >= part.len() {
                            skip -= part.len();
                            continue;
                        }
                        if count == SINK_SLICES {
                            break 'frames;
                        }
                        slices[count] = std::io::IoSlice::new(&part[skip..]);
                        skip = 0;
                        count += 1;
                    }
                }
                std::task::ready!(write.poll_write_vectored(cx, &slices[..count]))?
            };
            if written == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            this.advance(written);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.write).poll_shutdown(cx)
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// Reads frames with a silence timeout and a per-peer rate limit, whatever the transport.
pub(crate) struct FrameReader {
    frames: FrameStream,
    cancelled: Pin<Box<WaitForCancellationFutureOwned>>,
    /// Fires at the earliest silence deadline; re-armed lazily (only when it fires early), so a
    /// frame costs no timer operation.
    silence: Pin<Box<Sleep>>,
    last_frame: Instant,
    rate: Option<TokenBucket>,
}

#[cfg(not(target_arch = "wasm32"))]
impl FrameReader {
    pub(crate) fn new(frames: FrameStream, cancel: CancellationToken, rate: Option<TokenBucket>) -> Self {
        let now = Instant::now();
        Self {
            frames,
            cancelled: Box::pin(cancel.cancelled_owned()),
            silence: Box::pin(sleep_until(now)),
            last_frame: now,
            rate,
        }
    }

    /// Counts the first silence from `start` (when the connection opened) rather than now.
    pub(crate) fn since(mut self, start: Instant) -> Self {
        self.last_frame = start;
        self
    }

    /// The next frame, or how reading ended; `silence_limit` is how long after the last frame
    /// (or the start) to wait for it.
    pub(crate) async fn next(&mut self, silence_limit: Duration) -> Result<Bytes, ReadEnd> {
        loop {
            let due = self.last_frame + silence_limit;
            if self.silence.deadline() > due || self.silence.is_elapsed() {
                self.silence.as_mut().reset(due);
            }
            let next = loop {
                tokio::select! {
                    biased;
                    _ = self.cancelled.as_mut() => return Err(ReadEnd::Cancelled),
                    next = self.frames.next() => break next,
                    _ = self.silence.as_mut() => {
                        let due = self.last_frame + silence_limit;
                        if Instant::now() >= due {
                            return Err(ReadEnd::Silent);
                        }
                        self.silence.as_mut().reset(due);
                    }
                }
            };
            let now = Instant::now();
            let incoming = match next {
                None => return Err(ReadEnd::Eof),
                Some(next) => next?,
            };
            if let Some(rate) = &mut self.rate
                && !rate.take_at(now.into_std())
            {
                return Err(ReadEnd::Violation(CloseReason::Flooding));
            }
            // Only frames count as signs of life: a peer that only pings is silent.
            if let Incoming::Frame(frame) = incoming {
                self.last_frame = now;
                return Ok(frame);
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl FrameReader {
    /// Reads and drops whatever comes until the peer closes or `within` passes.
    pub(crate) async fn drain_for(&mut self, within: Duration) {
        let drain = async { while let Some(Ok(_)) = self.frames.next().await {} };
        let _ = tokio::time::timeout(within, drain).await;
    }

    /// After our side gave up on the connection (its writer failed, say): a frame the peer had
    /// already sent, if one comes within `within` (the kernel keeps what arrived before a reset).
    pub(crate) async fn already_sent(&mut self, within: Duration) -> Option<Bytes> {
        let deadline = Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.frames.next()).await {
                Ok(Some(Ok(Incoming::Frame(frame)))) => return Some(frame),
                Ok(Some(Ok(Incoming::Other))) => continue,
                _ => return None,
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// How a connection's writing side ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WriteEnd {
    Closed,
    Stalled,
    Failed,
}

/// What the ECS side (or the reader) puts in a connection's queue: a frame, the request to
/// close after what was queued before it (with one last frame, empty for none), or to stop at
/// once (see [`Outbox::stop`]).
enum Queued {
    Frame(Bytes),
    Close(Bytes),
    /// Only the sockets' writers are stopped this way (a browser's watches its cancellation).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    Stop,
}

/// The queue through which the ECS side (or the reader) drives a connection's writer: one
/// channel for frames and the close (so a writer waits on one receiver), bounded in frames and
/// in bytes by the counts kept here.
#[derive(Clone)]
pub(crate) struct Outbox {
    queue: mpsc::UnboundedSender<Queued>,
    /// Frames and bytes queued and not yet taken by the writer.
    frames: Arc<AtomicUsize>,
    queued: Arc<AtomicUsize>,
    capacity: usize,
    /// Set by the first close request (the first wins).
    closing: Arc<AtomicBool>,
    pub(crate) cancel: CancellationToken,
}

pub(crate) struct OutboxReceivers {
    queue: mpsc::UnboundedReceiver<Queued>,
    frames: Arc<AtomicUsize>,
    queued: Arc<AtomicUsize>,
    /// Set once a close is asked for (the browser's writer waits for the request itself).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    closing: Arc<AtomicBool>,
    /// The close request's last frame, once a receiver came to it.
    closed: Option<Bytes>,
    /// A stop came through the queue.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    stopped: bool,
}

impl OutboxReceivers {
    /// A frame the writer took: no longer queued.
    fn took(&self, frame: Bytes) -> Bytes {
        self.queued.fetch_sub(frame.len(), Ordering::Relaxed);
        self.frames.fetch_sub(1, Ordering::Relaxed);
        frame
    }
}

/// A writer outside this module (the browser's, and the harness's [`super::memory`]) takes
/// frames as a socket would.
#[cfg(any(test, target_arch = "wasm32"))]
impl OutboxReceivers {
    /// The next queued frame; `Disconnected` once every sender is gone. A close request met on
    /// the way is kept for [`Self::closing`].
    pub(crate) fn try_next(&mut self) -> Result<Bytes, mpsc::error::TryRecvError> {
        loop {
            match self.queue.try_recv()? {
                Queued::Frame(frame) => return Ok(self.took(frame)),
                Queued::Close(last) => {
                    self.closed.get_or_insert(last);
                }
                Queued::Stop => return Err(mpsc::error::TryRecvError::Disconnected),
            }
        }
    }

    /// Waits for the next queued frame, or for [`Outbox::close_with`] (what was queued before
    /// it came first).
    #[cfg(target_arch = "wasm32")]
    pub(crate) async fn next(&mut self) -> Next {
        match self.queue.recv().await {
            Some(Queued::Frame(frame)) => Next::Frame(self.took(frame)),
            Some(Queued::Close(last)) => Next::Close(last),
            Some(Queued::Stop) | None => Next::Close(Bytes::new()),
        }
    }

    /// The last frame asked for by [`Outbox::close_with`] (empty for none), once asked and
    /// what was queued before it taken with [`Self::try_next`].
    #[cfg(test)]
    pub(crate) fn closing(&mut self) -> Option<Bytes> {
        if self.closed.is_none() && self.closing.load(Ordering::SeqCst) {
            while self.try_next().is_ok() {}
        }
        self.closed.take()
    }
}

/// What a writer outside this module does next.
#[cfg(target_arch = "wasm32")]
pub(crate) enum Next {
    Frame(Bytes),
    /// Send what is still queued, then this frame (if not empty), then close.
    Close(Bytes),
}

pub(crate) fn outbox(capacity: usize) -> (Outbox, OutboxReceivers) {
    let (tx, rx) = mpsc::unbounded_channel();
    let frames = Arc::new(AtomicUsize::new(0));
    let queued = Arc::new(AtomicUsize::new(0));
    let closing = Arc::new(AtomicBool::new(false));
    (
        Outbox {
            queue: tx,
            frames: frames.clone(),
            queued: queued.clone(),
            capacity,
            closing: closing.clone(),
            cancel: CancellationToken::new(),
        },
        OutboxReceivers {
            queue: rx,
            frames,
            queued,
            closing,
            closed: None,
            stopped: false,
        },
    )
}

/// The frame was not queued: the queue is full (in frames), or the connection is closing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NotQueued {
    Full,
    Closed,
}

impl Outbox {
    /// Queues a frame for the writer; returns the bytes queued with it.
    pub(crate) fn queue(&self, frame: Bytes) -> Result<usize, NotQueued> {
        let len = frame.len();
        // Counted before the writer can take it, so the counts never go below zero.
        if self.frames.fetch_add(1, Ordering::Relaxed) >= self.capacity {
            self.frames.fetch_sub(1, Ordering::Relaxed);
            // Frames a writer that ended never took still count: a closed queue is closed.
            return Err(if self.queue.is_closed() {
                NotQueued::Closed
            } else {
                NotQueued::Full
            });
        }
        let queued = self.queued.fetch_add(len, Ordering::Relaxed) + len;
        match self.queue.send(Queued::Frame(frame)) {
            Ok(()) => Ok(queued),
            Err(_) => {
                self.queued.fetch_sub(len, Ordering::Relaxed);
                self.frames.fetch_sub(1, Ordering::Relaxed);
                Err(NotQueued::Closed)
            }
        }
    }

    /// Bytes queued and not yet taken by the writer.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Asks the writer to send `last` (if any) after what is queued, and close; later requests
    /// are ignored.
    pub(crate) fn close_with(&self, last: Option<Bytes>) {
        if !self.closing.swap(true, Ordering::SeqCst) {
            let _ = self.queue.send(Queued::Close(last.unwrap_or_default()));
        }
    }

    /// Stops the connection at once: cancels its token (its reader, a write that waits) and
    /// wakes an idle writer through the queue, which is all an idle writer waits on.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn stop(&self) {
        self.cancel.cancel();
        let _ = self.queue.send(Queued::Stop);
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// Writes queued frames, several per system call, with a ping when idle for `heartbeat` (a
/// server's connections get theirs from the ECS side, so a server's writer waits on its queue
/// alone). Per frame it sets no timer: the heartbeat is re-armed lazily, and the stall timer
/// starts only for a write the socket cannot take at once. An idle writer watches the queue,
/// not the cancellation: [`Outbox::stop`] does both.
pub(crate) async fn write_loop(
    mut sink: FrameSink,
    mut rx: OutboxReceivers,
    cancel: CancellationToken,
    heartbeat: Option<Duration>,
    stall: Duration,
    ping: Bytes,
) -> WriteEnd {
    let mut cancelled = Box::pin(cancel.clone().cancelled_owned());
    let mut last_write = Instant::now();
    let beat = heartbeat.unwrap_or(Duration::from_secs(3600));
    let mut idle = Box::pin(sleep_until(last_write + beat));
    let end = loop {
        if rx.stopped {
            break WriteEnd::Closed;
        }
        // Closing: what was queued before the close goes first (a refusal's reason, say), then
        // its last frame, all within a second, however slowly the peer reads.
        if rx.closed.is_some() || rx.closing.load(Ordering::Acquire) {
            let goodbye = async {
                while rx.closed.is_none() {
                    match rx.queue.recv().await {
                        Some(Queued::Frame(frame)) => sink.feed(rx.took(frame)).await?,
                        Some(Queued::Close(last)) => rx.closed = Some(last),
                        Some(Queued::Stop) | None => break,
                    }
                }
                match rx.closed.take().filter(|last| !last.is_empty()) {
                    Some(last) => sink.send(last).await,
                    None => SinkExt::<Bytes>::flush(&mut sink).await,
                }
            };
            let _ = timeout(Duration::from_secs(1), goodbye).await;
            break WriteEnd::Closed;
        }
        // A frame that is waiting is taken without polling (and registering a waker with) the
        // heartbeat; with none, the queue is all there is to wait on. A stop comes through the
        // queue; the cancellation alone is looked at below, while a write waits.
        let queued = match heartbeat {
            None => Some(rx.queue.recv().await),
            Some(_) => tokio::select! {
                biased;
                queued = rx.queue.recv() => Some(queued),
                _ = idle.as_mut() => None,
            },
        };
        let first = match queued {
            Some(Some(Queued::Frame(frame))) => rx.took(frame),
            Some(Some(Queued::Close(last))) => {
                rx.closed = Some(last);
                continue;
            }
            Some(Some(Queued::Stop) | None) => break WriteEnd::Closed,
            // Idle for the heartbeat's time (or woken early, with writes since).
            None => {
                let due = last_write + beat;
                if Instant::now() < due {
                    idle.as_mut().reset(due);
                    continue;
                }
                ping.clone()
            }
        };
        let batch = async {
            sink.feed(first).await?;
            for _ in 0..64 {
                match rx.queue.try_recv() {
                    Ok(Queued::Frame(frame)) => sink.feed(rx.took(frame)).await?,
                    // Sent at the top of the loop, after this batch.
                    Ok(Queued::Close(last)) => {
                        rx.closed = Some(last);
                        break;
                    }
                    Ok(Queued::Stop) => {
                        rx.stopped = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            SinkExt::<Bytes>::flush(&mut sink).await
        };
        let mut batch = std::pin::pin!(batch);
        let done = match std::future::poll_fn(|cx| Poll::Ready(batch.as_mut().poll(cx))).await {
            Poll::Ready(done) => Ok(done),
            Poll::Pending => tokio::select! {
                biased;
                _ = cancelled.as_mut() => break WriteEnd::Closed,
                result = timeout(stall, batch) => result,
            },
        };
        match done {
            Ok(Ok(())) => {}
            Ok(Err(_)) => break WriteEnd::Failed,
            Err(_) => break WriteEnd::Stalled,
        }
        if heartbeat.is_some() {
            last_write = Instant::now();
            if idle.is_elapsed() {
                idle.as_mut().reset(last_write + beat);
            }
        }
    };
    let _ = timeout(Duration::from_millis(500), SinkExt::<Bytes>::close(&mut sink)).await;
    cancel.cancel();
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket that takes a few bytes a write, and every other write none yet.
    struct Trickle {
        taken: Vec<u8>,
        calls: usize,
    }

    impl tokio::io::AsyncWrite for Trickle {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            self.poll_write_vectored(cx, &[std::io::IoSlice::new(buf)])
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            slices: &[std::io::IoSlice<'_>],
        ) -> Poll<std::io::Result<usize>> {
            self.calls += 1;
            if self.calls.is_multiple_of(2) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let mut room = self.calls % 11 + 1;
            let mut taken = 0;
            for slice in slices {
                let part = &slice[..slice.len().min(room)];
                self.taken.extend_from_slice(part);
                room -= part.len();
                taken += part.len();
            }
            Poll::Ready(Ok(taken))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Frames of every size (empty ones too), in batches of more than one vectored write's
    /// slices, into a socket that takes a few bytes at a time (so writes stop part way through
    /// a prefix or a payload): the bytes are the frame codec's, in order; a frame over the cap
    /// is refused.
    #[test]
    fn the_tcp_sink_writes_what_the_frame_codec_writes() {
        use tokio_util::codec::Encoder;
        let frames: Vec<Bytes> = (0..200usize)
            .map(|i| Bytes::from(vec![i as u8; (i * 37) % 300 * usize::from(i % 7 != 0)]))
            .collect();
        let mut expected = bytes::BytesMut::new();
        for frame in &frames {
            frame_codec().encode(frame.clone(), &mut expected).unwrap();
        }
        let mut sink = TcpSink {
            write: Trickle {
                taken: Vec::new(),
                calls: 0,
            },
            queue: VecDeque::new(),
            queued: 0,
            head: 0,
        };
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            for batch in frames.chunks(40) {
                for frame in batch {
                    sink.feed(frame.clone()).await.unwrap();
                }
                SinkExt::<Bytes>::flush(&mut sink).await.unwrap();
            }
            assert!(
                sink.feed(Bytes::from(vec![0u8; MAX_FRAME_LEN + 1]))
                    .await
                    .is_err()
            );
            SinkExt::<Bytes>::close(&mut sink).await.unwrap();
        });
        assert_eq!(sink.queued, 0);
        assert!(
            sink.write.taken == expected[..],
            "the bytes differ from the codec's"
        );
    }

    /// A queue whose writer ended with frames it never took is closed, not full: a server
    /// that read "full" there closed the connection as too slow, over the peer's own reason.
    #[test]
    fn a_queue_whose_writer_ended_is_closed_not_full() {
        let (outbox, receivers) = outbox(2);
        assert_eq!(outbox.queue(Bytes::from_static(b"a")), Ok(1));
        assert_eq!(outbox.queue(Bytes::from_static(b"b")), Ok(2));
        assert_eq!(outbox.queue(Bytes::from_static(b"c")), Err(NotQueued::Full));
        drop(receivers);
        assert_eq!(outbox.queue(Bytes::from_static(b"d")), Err(NotQueued::Closed));
    }
}
