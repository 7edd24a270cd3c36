//! The client's TCP transport: connecting, then the game's frames (a 4-byte length, then the
//! payload) both ways on a tokio runtime.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;

use super::super::frames::{
    FrameReader, NetConfig, Outbox, OutboxReceivers, ReadEnd, TokenBucket, tcp_frames, tcp_sink, write_loop,
};
use super::super::wire::{
    ClientControl, CloseReason, Decoder, Frame, ServerControl, decode_frame, encode_control,
};
use super::{ClientEvent, ConnectionError, SERVER_FRAMES_PER_SECOND};

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
        Some(config.heartbeat_interval),
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
    outbox.stop();
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
