//! The client's tokio side: connecting, the handshake, reading the server's frames and
//! writing ours. Nothing here knows Bevy or any game type.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;

use super::frames::{
    FrameReader, NetConfig, Outbox, OutboxReceivers, ReadEnd, TokenBucket, tcp_frames, tcp_sink, write_loop,
};
use super::wire::{
    AnyMessage, ClientControl, CloseReason, Decoder, Frame, Refusal, ServerControl, decode_frame,
    encode_control,
};

/// Frames per second a client accepts from its server (bursts of twice that).
const SERVER_FRAMES_PER_SECOND: f64 = 2000.0;

/// What the client's connection reports to the ECS side.
pub(crate) enum ClientEvent {
    /// The server accepted the handshake.
    Ready,
    Message {
        tag: u32,
        msg: AnyMessage,
    },
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
        match self {
            Self::Resolve { .. }
            | Self::Refused { .. }
            | Self::ConnectTimeout { .. }
            | Self::Connect { .. } => true,
            Self::ClosedByServer(reason) => reason.is_refusal(),
            _ => false,
        }
    }
}

fn closed_by_server(reason: &CloseReason) -> String {
    match reason {
        CloseReason::ServerShutdown => "the server was stopped".into(),
        CloseReason::ServerRestarting => "the server is restarting; join again in a minute".into(),
        CloseReason::Refused(Refusal::ByTheGame) => "the server refused to let you in".into(),
        CloseReason::Refused(why) => format!("the server refused to let you in: {why}"),
        other => format!("the server disconnected you: {other}"),
    }
}

pub(crate) async fn run_client(
    addr: String,
    config: NetConfig,
    decoders: Arc<[Decoder]>,
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
    let ping = encode_control(&ClientControl::Ping);
    let writer = tokio::spawn(write_loop(
        tcp_sink(write),
        receivers,
        outbox.cancel.clone(),
        config.heartbeat_interval,
        config.write_stall,
        ping,
    ));
    // Broadcasts to one player stay far below this; a server past it is broken or hostile.
    let rate = TokenBucket::new(SERVER_FRAMES_PER_SECOND, SERVER_FRAMES_PER_SECOND * 2.0);
    let mut reader = FrameReader::new(tcp_frames(read), outbox.cancel.clone(), Some(rate));
    let error = loop {
        let frame = match reader.next(config.peer_timeout).await {
            Ok(frame) => frame,
            Err(ReadEnd::Eof | ReadEnd::Left) => break ConnectionError::ServerGone,
            Err(ReadEnd::Lost) => break ConnectionError::Lost,
            Err(ReadEnd::Silent) => break ConnectionError::ServerSilent,
            Err(ReadEnd::Violation(CloseReason::Flooding)) => {
                break ConnectionError::BadServer("too many messages, too fast".into());
            }
            Err(ReadEnd::Violation(reason)) => break ConnectionError::BadServer(reason.to_string()),
            Err(ReadEnd::Cancelled) => break ConnectionError::Left,
        };
        match decode_frame::<ServerControl>(&frame, &decoders) {
            Ok(Frame::Control(ServerControl::Ping)) => {}
            Ok(Frame::Control(ServerControl::Ready)) => notify(ClientEvent::Ready),
            Ok(Frame::Control(ServerControl::Closing(reason))) => {
                break ConnectionError::ClosedByServer(reason);
            }
            Ok(Frame::Message { tag, msg }) => notify(ClientEvent::Message { tag, msg }),
            Err(why) => break ConnectionError::BadServer(why.to_string()),
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

impl crate::i18n::Describe for ConnectionError {
    fn describe(&self) -> String {
        match self {
            Self::Resolve { addr, detail } => {
                crate::t!("err-conn-resolve", addr = addr.clone(), detail = detail.clone())
            }
            Self::Refused { addr } => crate::t!("err-conn-refused", addr = addr.clone()),
            Self::ConnectTimeout { addr } => crate::t!("err-conn-timeout", addr = addr.clone()),
            Self::Connect { addr, detail } => {
                crate::t!("err-conn-connect", addr = addr.clone(), detail = detail.clone())
            }
            Self::ClosedByServer(CloseReason::ServerShutdown) => crate::t!("err-close-shutdown"),
            Self::ClosedByServer(CloseReason::ServerRestarting) => crate::t!("err-close-restarting-join"),
            Self::ClosedByServer(CloseReason::Refused(Refusal::ByTheGame)) => {
                crate::t!("err-conn-refused-in")
            }
            Self::ClosedByServer(CloseReason::Refused(why)) => {
                crate::t!("err-conn-refused-in-why", why = why.describe())
            }
            Self::ClosedByServer(other) => crate::t!("err-conn-disconnected", why = other.describe()),
            Self::ServerGone => crate::t!("err-conn-gone"),
            Self::Lost => crate::t!("err-conn-lost"),
            Self::ServerSilent => crate::t!("err-conn-silent"),
            Self::BadServer(what) => crate::t!("err-conn-bad-server", what = what.clone()),
            Self::Left => crate::t!("err-conn-left"),
        }
    }
}
