//! The client's ECS side: the [`NetClient`] connection, turning the server's frames into
//! typed messages (`PreUpdate`) and this client's messages into frames (`PostUpdate`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bevy::ecs::message::MessageCursor;
use bevy::prelude::*;
use crossbeam_channel::{Receiver, Sender};
use tokio::runtime::Runtime;

use super::connector::{self, ClientEvent, ConnectionError};
use super::frames::{self, NetConfig, NotQueued, Outbox, OutboxReceivers};
use super::wire::{
    AnyMessage, ClientControl, Decoder, FIRST_TAG, WireMessage, encode_control, encode_tagged,
};
use super::{ClientState, ConnectRequested, ConnectionEnded, ConnectionReady, FromServer, LeaveRequested};
use super::{NetSystems, ToServer, WireRegistry};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<NetStats>()
        .add_systems(
            PreUpdate,
            (start_client, receive_from_server)
                .chain()
                .in_set(NetSystems::Receive)
                .in_set(super::ClientNetSystems),
        )
        .add_systems(
            PostUpdate,
            (send_to_server, leave_server)
                .chain()
                .run_if(resource_exists::<NetClient>)
                .in_set(NetSystems::Send)
                .in_set(super::ClientNetSystems),
        );
}

/// Writes a decoded payload from the server as `FromServer<T>`.
pub(super) type DeliverFromServer = fn(&mut World, AnyMessage);
/// Encodes this update's `ToServer<T>` under the type's tag and queues them; false if the
/// queue is full.
type FlushToServer = fn(&mut World, &mut NetClient, u32) -> bool;

/// What the layer does with a type clients send.
pub(crate) struct ToServerHooks {
    /// Server: writes a decoded payload as `FromClient<T>`.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) deliver: super::server::DeliverFromClient,
    /// Client: encodes this update's `ToServer<T>` and queues them.
    flush: FlushToServer,
    /// Server: removes `ToServer<T>`, which only a player's app writes.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) drop_client_side: fn(&mut World),
}

pub(super) fn to_server_hooks<T: WireMessage>() -> ToServerHooks {
    ToServerHooks {
        #[cfg(not(target_arch = "wasm32"))]
        deliver: super::server::deliver_from_client::<T>,
        flush: flush_to_server::<T>,
        #[cfg(not(target_arch = "wasm32"))]
        drop_client_side: bevy::ecs::message::MessageRegistry::deregister_messages::<ToServer<T>>,
    }
}

/// What a browser, only ever a client, does with a type the server sends (the native build's
/// hooks are the server's, which also encode).
#[cfg(target_arch = "wasm32")]
pub(crate) struct ToClientHooks {
    pub(super) deliver: DeliverFromServer,
}

#[cfg(target_arch = "wasm32")]
pub(super) fn to_client_hooks<T: WireMessage>() -> ToClientHooks {
    ToClientHooks {
        deliver: deliver_from_server::<T>,
    }
}

/// This app's connection to a server.
#[derive(Resource)]
pub struct NetClient {
    runtime: Option<Runtime>,
    events: Receiver<ClientEvent>,
    outbox: Outbox,
    pub addr: String,
    /// The registered types' hooks, by tag, copied when connecting (shared, so an update
    /// borrows them without copying).
    deliver: Arc<[DeliverFromServer]>,
    flush: Arc<[FlushToServer]>,
}

impl Drop for NetClient {
    /// Says goodbye, then lets the writer finish on a helper thread (for at most half a
    /// second) so leaving never blocks a frame.
    fn drop(&mut self) {
        self.outbox
            .close_with(Some(encode_control(&ClientControl::Leave)));
        if let Some(runtime) = self.runtime.take() {
            let done = self.outbox.cancel.clone();
            let _ = std::thread::Builder::new()
                .name("net-client-close".into())
                .spawn(move || {
                    runtime.block_on(async {
                        let _ = tokio::time::timeout(Duration::from_millis(500), done.cancelled()).await;
                    });
                    runtime.shutdown_background();
                });
        }
    }
}

/// What this client has sent, for measurements.
#[derive(Resource, Debug, Default, Clone, Copy)]
pub struct NetStats {
    pub frames_sent: u64,
    /// Including each frame's 4-byte length header.
    pub bytes_sent: u64,
}

/// Called from the network thread after each incoming message, so a window that sleeps
/// between input events wakes up to show it.
#[derive(Resource, Clone)]
pub struct NetWaker(pub Arc<dyn Fn() + Send + Sync>);

/// Limits the client applies to its connection.
#[derive(Resource, Clone, Default)]
pub struct ClientNetConfig(pub NetConfig);

/// What starts a connection's transport: given the decoders of the server's messages, where
/// to report, and the frames to send (the handshake first), it carries them, and returns the
/// runtime it runs on, if any.
pub(super) type StartTransport<'a> = Box<
    dyn FnOnce(
            Arc<[Decoder]>,
            Sender<ClientEvent>,
            OutboxReceivers,
            Outbox,
        ) -> Result<Option<Runtime>, ConnectionError>
        + 'a,
>;

impl NetClient {
    /// Connects through the page's WebSocket, on the page's event loop.
    #[cfg(target_arch = "wasm32")]
    fn connect(
        addr: String,
        registry: &WireRegistry,
        config: NetConfig,
        waker: Option<NetWaker>,
    ) -> Result<Self, ConnectionError> {
        let target = addr.clone();
        let queue = config.outbound_queue;
        let start: StartTransport = Box::new(move |decoders, events, receivers, outbox| {
            connector::start_browser(
                target,
                config,
                decoders,
                events,
                receivers,
                outbox,
                waker.map(|w| w.0),
            )?;
            Ok(None)
        });
        Self::open(addr, registry, queue, start)
    }

    /// Connects over TCP on a tokio runtime of its own.
    #[cfg(not(target_arch = "wasm32"))]
    fn connect(
        addr: String,
        registry: &WireRegistry,
        config: NetConfig,
        waker: Option<NetWaker>,
    ) -> Result<Self, ConnectionError> {
        let tcp_addr = addr.clone();
        let queue = config.outbound_queue;
        let start: StartTransport = Box::new(move |decoders, events, receivers, outbox| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("net-client")
                .enable_all()
                .build()
                .map_err(|e| ConnectionError::Connect {
                    addr: tcp_addr.clone(),
                    detail: e.to_string(),
                })?;
            runtime.spawn(connector::run_client(
                tcp_addr,
                config,
                decoders,
                events,
                receivers,
                outbox,
                waker.map(|w| w.0),
            ));
            Ok(Some(runtime))
        });
        Self::open(addr, registry, queue, start)
    }

    /// A connection to `addr` that `start` carries.
    fn open(
        addr: String,
        registry: &WireRegistry,
        outbound_queue: usize,
        start: StartTransport,
    ) -> Result<Self, ConnectionError> {
        let (events_tx, events) = crossbeam_channel::unbounded();
        let (outbox, receivers) = frames::outbox(outbound_queue);
        let hello = ClientControl::Hello {
            version: super::PROTOCOL_VERSION,
            fingerprint: registry.fingerprint(),
        };
        // The handshake is the first frame the writer sends.
        let _ = outbox.queue(encode_control(&hello));
        let decoders: Arc<[Decoder]> = registry.to_client.iter().map(|r| r.decode).collect();
        let runtime = start(decoders, events_tx, receivers, outbox.clone())?;
        Ok(Self {
            runtime,
            events,
            outbox,
            addr,
            deliver: registry.to_client.iter().map(|r| r.hook.deliver).collect(),
            flush: registry.to_server.iter().map(|r| r.hook.flush).collect(),
        })
    }
}

/// Adds the default port when an address leaves it out.
pub fn with_default_port(addr: &str, port: u16) -> String {
    let addr = addr.trim();
    if addr.parse::<SocketAddr>().is_ok() {
        return addr.to_owned();
    }
    if addr.parse::<std::net::Ipv6Addr>().is_ok() {
        return format!("[{addr}]:{port}");
    }
    match addr.rsplit_once(':') {
        Some((_, p)) if p.parse::<u16>().is_ok() => addr.to_owned(),
        _ => format!("{addr}:{port}"),
    }
}

fn start_client(
    mut commands: Commands,
    mut requests: MessageReader<ConnectRequested>,
    registry: Res<WireRegistry>,
    config: Option<Res<ClientNetConfig>>,
    waker: Option<Res<NetWaker>>,
    mut next: ResMut<NextState<ClientState>>,
    mut ended: MessageWriter<ConnectionEnded>,
    #[cfg(test)] memory: Option<Res<super::memory::MemoryNet>>,
) {
    let Some(request) = requests.read().last() else {
        return;
    };
    let config = config.map(|c| c.0.clone()).unwrap_or_default();
    let addr = request.addr.clone();
    #[cfg(test)]
    if let Some(memory) = memory {
        let queue = config.outbound_queue;
        let client = NetClient::open(addr.clone(), &registry, queue, memory.dial(addr));
        commands.insert_resource(client.expect("an in-memory connection opens"));
        next.set(ClientState::Connecting);
        return;
    }
    match NetClient::connect(addr, &registry, config, waker.map(|w| w.clone())) {
        Ok(client) => {
            commands.insert_resource(client);
            next.set(ClientState::Connecting);
        }
        Err(e) => {
            ended.write(ConnectionEnded(e));
        }
    }
}

/// The one way a connection ends on this side: the resource goes (saying goodbye if the
/// socket is still open), the state follows, and `why` is told unless we chose to leave.
fn end_connection(world: &mut World, why: Option<ConnectionError>) {
    world.remove_resource::<NetClient>();
    world
        .resource_mut::<NextState<ClientState>>()
        .set(ClientState::Disconnected);
    if let Some(why) = why {
        world.write_message(ConnectionEnded(why));
    }
}

fn receive_from_server(world: &mut World) {
    let Some(client) = world.get_resource::<NetClient>() else {
        return;
    };
    let events: Vec<ClientEvent> = client.events.try_iter().collect();
    let deliver = client.deliver.clone();
    for event in events {
        match event {
            ClientEvent::Ready => {
                world
                    .resource_mut::<NextState<ClientState>>()
                    .set(ClientState::Connected);
                world.write_message(ConnectionReady);
            }
            ClientEvent::Message { tag, msg } => {
                if let Some(deliver) = deliver.get((tag - FIRST_TAG) as usize) {
                    deliver(world, msg);
                }
            }
            ClientEvent::Ended(error) => {
                warn!("{error}");
                end_connection(world, Some(error));
                return;
            }
        }
    }
}

pub(super) fn deliver_from_server<T: WireMessage>(world: &mut World, msg: AnyMessage) {
    if let Ok(msg) = msg.downcast::<T>() {
        world.write_message(FromServer(*msg));
    }
}

/// Sends every registered type's `ToServer<T>` in registration order.
fn send_to_server(world: &mut World) {
    let full = world.resource_scope(|world, mut client: Mut<NetClient>| {
        let flush = client.flush.clone();
        flush
            .iter()
            .enumerate()
            .any(|(i, flush)| !flush(world, &mut client, FIRST_TAG + i as u32))
    });
    if full {
        end_connection(world, Some(ConnectionError::Lost));
    }
}

fn flush_to_server<T: WireMessage>(world: &mut World, client: &mut NetClient, tag: u32) -> bool {
    let outgoing: Vec<ToServer<T>> = world.resource_mut::<Messages<ToServer<T>>>().drain().collect();
    let mut sent = (0, 0);
    let mut room = true;
    for ToServer(msg) in outgoing {
        let bytes = match encode_tagged(tag, &msg) {
            Ok(bytes) => bytes,
            Err(e) => {
                warn!("not sent: {e}");
                continue;
            }
        };
        sent.0 += 1;
        sent.1 += bytes.len() as u64 + 4;
        if let Err(NotQueued::Full) = client.outbox.queue(bytes) {
            room = false;
            break;
        }
    }
    let mut stats = world.resource_mut::<NetStats>();
    stats.frames_sent += sent.0;
    stats.bytes_sent += sent.1;
    room
}

/// Leaves when asked. The requests are read, not drained: other plugins see that the player
/// left (the rooms plugin forgets the room).
fn leave_server(world: &mut World, mut cursor: Local<MessageCursor<LeaveRequested>>) {
    let asked = cursor.read(world.resource::<Messages<LeaveRequested>>()).count() > 0;
    if asked {
        end_connection(world, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_port_is_added_only_when_missing() {
        assert_eq!(with_default_port("10.0.0.2", 1234), "10.0.0.2:1234");
        assert_eq!(with_default_port("10.0.0.2:99", 1234), "10.0.0.2:99");
        assert_eq!(with_default_port("example.org", 1234), "example.org:1234");
        assert_eq!(with_default_port("example.org:80", 1234), "example.org:80");
        assert_eq!(with_default_port("::1", 1234), "[::1]:1234");
        assert_eq!(with_default_port("[::1]:5", 1234), "[::1]:5");
        assert_eq!(with_default_port(" localhost ", 1234), "localhost:1234");
    }
}
