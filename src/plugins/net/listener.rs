//! The server's tokio side: accepting connections, the handshake, and each connection's
//! reader and writer. Nothing here knows Bevy or any game type: frames are decoded with the
//! registered decoders and handed to the ECS side (`server`) through a crossbeam channel.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep, timeout};
use tokio_util::codec::FramedWrite;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::frames::{FrameReader, FrameSink, FrameStream, NetConfig, Outbox, ReadEnd, TokenBucket, WriteEnd};
use super::frames::{frame_codec, outbox, tcp_frames, tcp_sink, write_loop};
use super::open_files::SpareFile;
use super::per_address::AddressBook;
use super::web::{self, Speaks, WebBundle};
use super::wire::{
    AnyMessage, ClientControl, CloseReason, Decoder, Frame, LeaveReason, PROTOCOL_VERSION, Refusal,
    ServerControl, Violation, decode_frame, encode_control,
};
use crate::codec;
use crate::id::ClientId;

/// What the server's connections report to the ECS side.
pub(crate) enum ServerEvent {
    /// A TCP connection, not yet past the handshake.
    Accepted {
        client: ClientId,
        addr: SocketAddr,
        outbox: Outbox,
    },
    /// The handshake matched this build's protocol and messages.
    Ready {
        client: ClientId,
    },
    Message {
        client: ClientId,
        tag: u32,
        msg: AnyMessage,
    },
    Closed {
        client: ClientId,
        reason: LeaveReason,
    },
}

/// The registered message types as the tokio side needs them.
pub(crate) struct Protocol {
    pub(crate) fingerprint: u64,
    /// Decoders of the types clients send, by tag.
    pub(crate) decoders: Vec<Decoder>,
}

pub(crate) struct ServerShared {
    pub(crate) config: NetConfig,
    pub(crate) protocol: Protocol,
    pub(crate) events: crossbeam_channel::Sender<ServerEvent>,
    /// Wakes a server loop that sleeps while nobody is connected.
    pub(crate) wake: crossbeam_channel::Sender<()>,
    pub(crate) tracker: TaskTracker,
    pub(crate) live: AtomicUsize,
    pub(crate) addresses: Mutex<AddressBook>,
    /// Set when the server starts draining: newcomers are told to come back later.
    pub(crate) draining: std::sync::atomic::AtomicBool,
    /// When the game loop last ticked, in ms after `health.started`.
    pub(crate) last_tick_ms: std::sync::atomic::AtomicU64,
    pub(crate) health: super::admin::Health,
    pub(crate) figures: Figures,
    /// The browser client's page, served on the game's port.
    pub(crate) web: WebBundle,
    /// Refusals waiting to hear whether their peer is a browser (see [`refuse`]).
    pub(crate) refusing: tokio::sync::Semaphore,
}

/// The network's own figures for `/metrics`, taken on the connections' tasks (handles to the
/// recorder's counters: one atomic add each; no-ops without a recorder).
pub(crate) struct Figures {
    pub(crate) accepted: metrics::Counter,
    pub(crate) frames_in: metrics::Counter,
    pub(crate) bytes_in: metrics::Counter,
}

impl Figures {
    pub(crate) fn new() -> Self {
        Self {
            accepted: metrics::counter!("catchmind_connections_accepted_total"),
            frames_in: metrics::counter!("catchmind_frames_received_total"),
            bytes_in: metrics::counter!("catchmind_bytes_received_total"),
        }
    }
}

fn count_frame(shared: &ServerShared, frame: &[u8]) {
    shared.figures.frames_in.increment(1);
    shared.figures.bytes_in.increment(frame.len() as u64 + 4);
}

/// Counts a connection turned away at the door.
fn count_refusal(why: &CloseReason) {
    let reason = match why {
        CloseReason::Refused(Refusal::ServerFull) => "server_full",
        CloseReason::Refused(Refusal::TooManyFromAddress) => "per_address",
        CloseReason::Refused(Refusal::Draining) => "draining",
        CloseReason::Refused(Refusal::VersionMismatch { .. } | Refusal::BuildMismatch { .. }) => "version",
        _ => "other",
    };
    metrics::counter!("catchmind_connections_refused_total", "reason" => reason).increment(1);
}

impl ServerShared {
    /// Hands an event to the ECS side; false once the server is gone.
    fn report(&self, event: ServerEvent) -> bool {
        let sent = self.events.send(event).is_ok();
        let _ = self.wake.try_send(());
        sent
    }
}

pub(crate) fn closing(reason: CloseReason) -> Bytes {
    encode_control(&ServerControl::Closing(reason))
}

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<ServerShared>, stop: CancellationToken) {
    let mut next_id: u32 = 1;
    let mut spare = SpareFile::new();
    loop {
        spare.restore();
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(pair) => pair,
            Err(e) if SpareFile::out_of_files(&e) && spare.release() => {
                // Out of descriptors: the spare one lets the newcomer in just long enough to
                // hear that the server is full (its goodbye fits the socket's buffer at once).
                if let Ok((stream, _)) = listener.accept().await {
                    let goodbye = refuse(stream, CloseReason::Refused(Refusal::ServerFull), shared.clone());
                    let _ = timeout(Duration::from_millis(200), goodbye).await;
                }
                continue;
            }
            Err(e) => {
                // Usually out of file descriptors: back off instead of spinning.
                bevy::log::warn!("accept failed: {e}");
                sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // A dual-stack socket gives IPv4 peers as IPv4-mapped IPv6 (::ffff:192.0.2.7): every
        // plugin sees, shows and limits them as the IPv4 addresses they are.
        let addr = std::net::SocketAddr::new(addr.ip().to_canonical(), addr.port());
        let _ = stream.set_nodelay(true);
        if shared.draining.load(Ordering::Relaxed) {
            shared.tracker.spawn(refuse(
                stream,
                CloseReason::Refused(Refusal::Draining),
                shared.clone(),
            ));
            continue;
        }
        if shared.live.load(Ordering::Relaxed) >= shared.config.max_connections {
            shared.tracker.spawn(refuse(
                stream,
                CloseReason::Refused(Refusal::ServerFull),
                shared.clone(),
            ));
            continue;
        }
        let admitted = shared
            .addresses
            .lock()
            .expect("never poisoned")
            .arrive(addr.ip(), std::time::Instant::now());
        if let Err(why) = admitted {
            shared
                .tracker
                .spawn(refuse(stream, CloseReason::Refused(why), shared.clone()));
            continue;
        }
        if let Some(size) = shared.config.socket_send_buffer {
            let _ = socket2::SockRef::from(&stream).set_send_buffer_size(size as usize);
        }
        let client = ClientId(next_id);
        next_id = next_id.wrapping_add(1).max(1);
        shared.live.fetch_add(1, Ordering::Relaxed);
        shared.figures.accepted.increment(1);
        shared
            .tracker
            .spawn(serve_socket(stream, (client, addr), shared.clone()));
    }
}

/// What a connection speaks decides how it is served: the game's frames over TCP or a
/// WebSocket, or the page. The per-address and connection counts cover all three.
async fn serve_socket(stream: TcpStream, (client, addr): (ClientId, SocketAddr), shared: Arc<ServerShared>) {
    // Boxed: the sniffing, HTTP and upgrade states go once the connection is open, rather than
    // weighing on every connection's task for its whole life (about 1.1 KB each, measured).
    let opened = tokio::time::Instant::now();
    let transport = Box::pin(open_transport(stream, &shared)).await;
    match transport {
        Some(transport) => serve_connection(transport, opened, (client, addr), shared).await,
        None => let_go(&shared, addr, false),
    }
}

/// A connection is over: its place among the open ones and its address's is free again.
fn let_go(shared: &ServerShared, addr: SocketAddr, handshaken: bool) {
    shared.live.fetch_sub(1, Ordering::Relaxed);
    let mut addresses = shared.addresses.lock().expect("never poisoned");
    addresses.closed(addr.ip(), !handshaken, std::time::Instant::now());
}

/// The game's frames over TCP or a WebSocket, or `None` once a page request was answered (or
/// the connection said nothing in time).
async fn open_transport(mut stream: TcpStream, shared: &ServerShared) -> Option<(FrameStream, FrameSink)> {
    // One handshake time for the first byte and the request's head together.
    let within = shared.config.handshake_timeout;
    let deadline = std::time::Instant::now() + within;
    match web::sniff(&stream, within).await {
        Some(Speaks::Frames) => {
            let (read, write) = stream.into_split();
            Some((tcp_frames(read), tcp_sink(write)))
        }
        Some(Speaks::Http) => match web::read_head(
            &mut stream,
            deadline.saturating_duration_since(std::time::Instant::now()),
        )
        .await
        {
            Ok(head) if head.is_upgrade() => web::upgrade(stream, head).await.ok(),
            Ok(head) => {
                let answer = shared.web.answer(&head);
                // A file's time grows with its size (at least 64 KB/s), beyond the handshake's.
                let sending = within + Duration::from_secs(answer.len() as u64 / (64 * 1024));
                answer.send(stream, sending).await;
                None
            }
            Err(why) => {
                if let Some(answer) = web::refusal(&why) {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    answer.send(stream, left.max(Duration::from_millis(500))).await;
                }
                None
            }
        },
        // Said nothing: as a native peer would be told.
        None => {
            let mut sink = FramedWrite::new(stream, frame_codec());
            let _ = timeout(Duration::from_secs(1), sink.send(closing(CloseReason::TimedOut))).await;
            None
        }
    }
}

/// Tells a connection turned away at the door why, in the way it speaks: a browser's request
/// (if it comes within 0.2 s) over its WebSocket or in an HTTP answer, else a closing frame.
/// At most [`MAX_REFUSING`] refusals wait for a browser at once; past them, and for a peer
/// that says nothing, the frame goes at once.
async fn refuse(stream: TcpStream, reason: CloseReason, shared: Arc<ServerShared>) {
    count_refusal(&reason);
    let within = Duration::from_secs(1);
    if let Ok(_permit) = shared.refusing.try_acquire()
        && web::sniff(&stream, Duration::from_millis(200)).await == Some(Speaks::Http)
    {
        return web::refuse(stream, closing(reason.clone()), &reason.to_string(), within).await;
    }
    let mut sink = FramedWrite::new(stream, frame_codec());
    let _ = timeout(within, sink.send(closing(reason))).await;
}

/// How many refused connections may wait at once to be told in a browser's way.
pub(crate) const MAX_REFUSING: usize = 64;

/// Serves the game's frames; the handshake's time counts from `opened` (the first byte and an
/// upgrade took part of it).
async fn serve_connection(
    (frames, sink): (FrameStream, FrameSink),
    opened: tokio::time::Instant,
    (client, addr): (ClientId, SocketAddr),
    shared: Arc<ServerShared>,
) {
    let config = &shared.config;
    let (outbox, receivers) = outbox(config.outbound_queue);
    let accepted = ServerEvent::Accepted {
        client,
        addr,
        outbox: outbox.clone(),
    };
    if !shared.report(accepted) {
        return let_go(&shared, addr, false);
    }
    let writer = tokio::spawn(write_loop(
        sink,
        receivers,
        outbox.cancel.clone(),
        // The ECS side pings idle connections (see `NetServer::ping_idle`).
        None,
        config.write_stall,
        encode_control(&ServerControl::Ping),
    ));
    let rate = TokenBucket::new(config.frames_per_second, config.frame_burst);
    let mut reader = FrameReader::new(frames, outbox.cancel.clone(), Some(rate)).since(opened);
    let mut handshaken = false;
    let end = read_client(
        &mut reader,
        client,
        &outbox,
        &shared,
        (addr.ip(), &mut handshaken),
    )
    .await;
    let end = match end {
        ReadEnd::Cancelled if handshaken => goodbye_already_sent(&mut reader, client, &shared).await,
        other => other,
    };
    let cancelled = matches!(end, ReadEnd::Cancelled);
    // A peer we close on while it still sends: what it sent meanwhile is read and dropped
    // until it closes too (at most half a second), so the close reaches it as an end, not a
    // reset that would lose our reason on its way.
    let linger = matches!(end, ReadEnd::Violation(_) | ReadEnd::Silent);
    let reason = match end {
        ReadEnd::Left => LeaveReason::Left,
        // Closed without the goodbye every client sends (even when its window closes): the
        // process died or something between us cut it, so the seat is kept (see rooms).
        ReadEnd::Eof => LeaveReason::ConnectionLost,
        ReadEnd::Lost => LeaveReason::ConnectionLost,
        ReadEnd::Silent => {
            outbox.close_with(Some(closing(CloseReason::TimedOut)));
            LeaveReason::TimedOut
        }
        ReadEnd::Violation(why) => {
            let leave = LeaveReason::from(&why);
            outbox.close_with(Some(closing(why)));
            leave
        }
        ReadEnd::Cancelled => LeaveReason::ConnectionLost,
    };
    if !cancelled {
        outbox.close_with(None);
    }
    let written = timeout(Duration::from_secs(2), writer).await;
    if linger {
        reader.drain_for(Duration::from_millis(500)).await;
    }
    outbox.stop();
    let reason = match written {
        Ok(Ok(WriteEnd::Stalled)) => LeaveReason::from(&CloseReason::TooSlow),
        _ => reason,
    };
    let_go(&shared, addr, handshaken);
    shared.report(ServerEvent::Closed { client, reason });
}

/// Reads the handshake, then forwards every message until the connection ends.
async fn read_client(
    reader: &mut FrameReader,
    client: ClientId,
    outbox: &Outbox,
    shared: &ServerShared,
    (ip, handshaken): (IpAddr, &mut bool),
) -> ReadEnd {
    let config = &shared.config;
    let protocol = &shared.protocol;
    let frame = match reader.next(config.handshake_timeout).await {
        Ok(frame) => frame,
        Err(end) => return end,
    };
    count_frame(shared, &frame);
    match codec::decode::<ClientControl>(&frame) {
        Ok(ClientControl::Hello { version, fingerprint })
            if version == PROTOCOL_VERSION && fingerprint == protocol.fingerprint => {}
        Ok(ClientControl::Hello { version, .. }) => return version_mismatch(version),
        Ok(_) => return violation(Violation::ExpectedHandshake),
        Err(_) => {
            // A client of another version may not decode as ours: read just its version. A
            // frame that starts as no handshake does is another message (one without a body,
            // the room list's request, has no version to read).
            return match codec::decode_prefix::<u32>(&frame) {
                Ok((0, used)) => match codec::decode_prefix::<u16>(&frame[used..]) {
                    Ok((version, _)) if version != PROTOCOL_VERSION => version_mismatch(version),
                    _ => violation(Violation::Undecodable),
                },
                Ok(_) => violation(Violation::ExpectedHandshake),
                Err(_) => violation(Violation::Undecodable),
            };
        }
    }
    *handshaken = true;
    shared
        .addresses
        .lock()
        .expect("never poisoned")
        .handshake_done(ip);
    // The first frame the writer sends (but for a ping, if the handshake took the heartbeat's
    // time): nothing else was queued before the handshake.
    let _ = outbox.queue(encode_control(&ServerControl::Ready));
    if !shared.report(ServerEvent::Ready { client }) {
        return ReadEnd::Cancelled;
    }
    loop {
        let frame = match reader.next(config.peer_timeout).await {
            Ok(frame) => frame,
            Err(end) => return end,
        };
        count_frame(shared, &frame);
        match decode_frame::<ClientControl>(&frame, &protocol.decoders) {
            Ok(Frame::Control(ClientControl::Ping)) => {}
            Ok(Frame::Control(ClientControl::Leave)) => return ReadEnd::Left,
            Ok(Frame::Control(ClientControl::Hello { .. })) => return violation(Violation::HandshakeTwice),
            Ok(Frame::Message { tag, msg }) => {
                if !shared.report(ServerEvent::Message { client, tag, msg }) {
                    return ReadEnd::Cancelled;
                }
            }
            Err(why) => return violation(why),
        }
    }
}

/// Reading stopped because the writer did (a peer that reset the connection after its goodbye
/// fails our writes): what the peer had sent already still counts, so a player who said Leave
/// and closed while messages were arriving left rather than dropped. Bounded: at most 64
/// frames, 200 ms.
async fn goodbye_already_sent(reader: &mut FrameReader, client: ClientId, shared: &ServerShared) -> ReadEnd {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
    for _ in 0..64 {
        let within = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(frame) = reader.already_sent(within).await else {
            break;
        };
        match decode_frame::<ClientControl>(&frame, &shared.protocol.decoders) {
            Ok(Frame::Control(ClientControl::Leave)) => return ReadEnd::Left,
            Ok(Frame::Message { tag, msg }) => {
                if !shared.report(ServerEvent::Message { client, tag, msg }) {
                    break;
                }
            }
            Ok(Frame::Control(_)) => {}
            Err(_) => break,
        }
    }
    ReadEnd::Cancelled
}

fn violation(why: Violation) -> ReadEnd {
    ReadEnd::Violation(CloseReason::ProtocolViolation(why))
}

fn version_mismatch(client: u16) -> ReadEnd {
    ReadEnd::Violation(CloseReason::Refused(Refusal::mismatch(client)))
}
