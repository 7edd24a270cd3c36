//! The network plugin: the only part of the game that knows tokio, sockets, framing and
//! connection states. A tokio runtime runs the sockets on its own threads; crossbeam channels
//! bridge it to Bevy. Bytes become typed messages in `PreUpdate` (`FromClient<T>`,
//! `FromServer<T>`) and typed messages become bytes in `PostUpdate` (`ToClients<T>`,
//! `ToServer<T>`); chat, canvas and quiz never see a socket.

mod transport;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bevy::prelude::*;
use bytes::Bytes;
use crossbeam_channel::Receiver;
use tokio::runtime::Runtime;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::codec;
use crate::plugins::canvas::{CanvasToClient, CanvasToServer};
use crate::plugins::chat::{ChatToClient, ChatToServer};
use crate::plugins::quiz::{QuizToClient, QuizToServer};
use crate::plugins::rooms::{RoomUpdate, Welcome};
use crate::protocol::{ClientId, ClientMsg, CloseReason, Hello, LeaveReason, ServerMsg};

use transport::{ClientEvent, Outbox, ServerEvent, ServerShared};
pub use transport::{ConnectionError, NetConfig};

pub fn plugin(app: &mut App) {
    app.init_state::<ServerState>()
        .init_state::<ClientState>()
        .init_resource::<NetStats>()
        .add_message::<ClientConnected>()
        .add_message::<JoinRequested>()
        .add_message::<ClientDisconnected>()
        .add_message::<DisconnectClient>()
        .add_message::<ConnectRequested>()
        .add_message::<LeaveRequested>()
        .add_message::<ConnectionEnded>()
        .configure_sets(PreUpdate, NetSystems::Receive)
        .configure_sets(PostUpdate, NetSystems::Send)
        .add_systems(
            PreUpdate,
            (
                (mark_server_running, receive_from_clients)
                    .chain()
                    .run_if(resource_exists::<NetServer>),
                (start_client, receive_from_server).chain(),
            )
                .in_set(NetSystems::Receive),
        )
        .add_systems(
            PostUpdate,
            (
                (
                    send_to_clients::<Welcome>,
                    send_to_clients::<RoomUpdate>,
                    send_to_clients::<ChatToClient>,
                    send_to_clients::<CanvasToClient>,
                    send_to_clients::<QuizToClient>,
                    disconnect_clients,
                    stop_server_when_asked,
                )
                    .chain()
                    .run_if(resource_exists::<NetServer>),
                (
                    send_to_server::<ChatToServer>,
                    send_to_server::<CanvasToServer>,
                    send_to_server::<QuizToServer>,
                    leave_server,
                )
                    .chain()
                    .run_if(resource_exists::<NetClient>),
            )
                .in_set(NetSystems::Send),
        );
    register_domain::<Welcome, ()>(app);
    register_domain::<RoomUpdate, ()>(app);
    register_domain::<ChatToClient, ChatToServer>(app);
    register_domain::<CanvasToClient, CanvasToServer>(app);
    register_domain::<QuizToClient, QuizToServer>(app);
}

fn register_domain<S: Send + Sync + 'static, C: Send + Sync + 'static>(app: &mut App) {
    app.add_message::<ToClients<S>>()
        .add_message::<FromServer<S>>()
        .add_message::<FromClient<C>>()
        .add_message::<ToServer<C>>();
}

#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum NetSystems {
    Receive,
    Send,
}

/// Whether this app is serving; changed only by the network plugin.
#[derive(States, Default, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    #[default]
    Stopped,
    Running,
}

/// This app's connection to a server; changed only by the network plugin.
#[derive(States, Default, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    #[default]
    Disconnected,
    Connecting,
    Connected,
}

// ---------------------------------------------------------------------------------------------
// Messages the rest of the game sees

/// Who a server message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipients {
    One(ClientId),
    Many(Vec<ClientId>),
}

/// A message from a connected client, decoded and typed.
#[derive(Message, Debug, Clone)]
pub struct FromClient<T: Send + Sync + 'static> {
    pub client: ClientId,
    pub msg: T,
}

/// A message for clients; serialized once and the bytes shared by every recipient.
#[derive(Message, Debug, Clone)]
pub struct ToClients<T: Send + Sync + 'static> {
    pub to: Recipients,
    pub msg: T,
}

/// A message from the server, decoded and typed.
#[derive(Message, Debug, Clone)]
pub struct FromServer<T: Send + Sync + 'static>(pub T);

/// A message for the server.
#[derive(Message, Debug, Clone)]
pub struct ToServer<T: Send + Sync + 'static>(pub T);

/// A new TCP connection (not yet in any room).
#[derive(Message, Debug, Clone)]
pub struct ClientConnected {
    pub client: ClientId,
    pub addr: SocketAddr,
}

/// A connection sent a handshake of the right version; the rooms plugin decides.
#[derive(Message, Debug, Clone)]
pub struct JoinRequested {
    pub client: ClientId,
    pub addr: SocketAddr,
    pub name: String,
    pub room: Option<String>,
    /// The handshake carried the hosting process's token.
    pub operator: bool,
}

/// A connection ended, for whatever reason.
#[derive(Message, Debug, Clone)]
pub struct ClientDisconnected {
    pub client: ClientId,
    pub reason: LeaveReason,
}

/// Asks the network plugin to close a connection, telling the peer why.
#[derive(Message, Debug, Clone)]
pub struct DisconnectClient {
    pub client: ClientId,
    pub reason: CloseReason,
}

/// Asks the network plugin to connect to a server.
#[derive(Message, Debug, Clone)]
pub struct ConnectRequested {
    pub addr: String,
    pub hello: Hello,
}

/// Asks the network plugin to leave the server.
#[derive(Message, Debug, Clone, Default)]
pub struct LeaveRequested;

/// This client's connection failed or ended.
#[derive(Message, Debug, Clone)]
pub struct ConnectionEnded(pub ConnectionError);

// ---------------------------------------------------------------------------------------------
// Server

/// A running server: the tokio runtime, the accept loop and one handle per connection.
#[derive(Resource)]
pub struct NetServer {
    runtime: Option<Runtime>,
    shared: Arc<ServerShared>,
    events: Receiver<ServerEvent>,
    conns: HashMap<ClientId, Conn>,
    local_addr: SocketAddr,
    stop_accepting: CancellationToken,
    operator_token: Option<[u8; 16]>,
    wake: Receiver<()>,
}

struct Conn {
    addr: SocketAddr,
    outbox: Outbox,
    /// Set when we closed it, so the leave notice gives our reason.
    closing: Option<LeaveReason>,
}

/// Set to stop the server cleanly (Ctrl+C, or the hosting window closing).
#[derive(Resource, Clone, Default)]
pub struct ShutdownSignal(pub Arc<AtomicBool>);

impl ShutdownSignal {
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot start the network runtime: {0}")]
    Runtime(std::io::Error),
}

impl NetServer {
    /// Binds a listening socket; separate from [`NetServer::start`] so the caller reports a
    /// bad address or a port in use before opening any window.
    pub fn bind(addr: &str) -> Result<std::net::TcpListener, ServerError> {
        std::net::TcpListener::bind(addr).map_err(|source| ServerError::Bind {
            addr: addr.into(),
            source,
        })
    }

    /// Starts serving on `listener`. `operator_token` marks the hosting window's client.
    pub fn start(
        listener: std::net::TcpListener,
        config: NetConfig,
        operator_token: Option<[u8; 16]>,
        shutdown: Option<ShutdownSignal>,
    ) -> Result<Self, ServerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("net-server")
            .enable_all()
            .build()
            .map_err(ServerError::Runtime)?;
        let local_addr = listener.local_addr().map_err(ServerError::Runtime)?;
        listener.set_nonblocking(true).map_err(ServerError::Runtime)?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(ServerError::Runtime)?
        };
        let (events_tx, events) = crossbeam_channel::unbounded();
        let (wake_tx, wake) = crossbeam_channel::bounded(1);
        let shared = Arc::new(ServerShared {
            config,
            events: events_tx,
            wake: wake_tx.clone(),
            tracker: TaskTracker::new(),
            live: AtomicUsize::new(0),
        });
        let stop_accepting = CancellationToken::new();
        runtime.spawn(transport::accept_loop(
            listener,
            shared.clone(),
            stop_accepting.clone(),
        ));
        if let Some(signal) = shutdown {
            runtime.spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    signal.request();
                    let _ = wake_tx.try_send(());
                }
            });
        }
        Ok(Self {
            runtime: Some(runtime),
            shared,
            events,
            conns: HashMap::new(),
            local_addr,
            stop_accepting,
            operator_token,
            wake,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Closes a connection, sending `reason` as its last message.
    fn close(&mut self, client: ClientId, reason: CloseReason) {
        if let Some(conn) = self.conns.get_mut(&client)
            && conn.closing.is_none()
        {
            conn.closing = Some(LeaveReason::from(&reason));
            conn.outbox
                .close_with(Some(transport::encode_server(&ServerMsg::Closing(reason))));
        }
    }

    fn send_bytes(&mut self, client: ClientId, bytes: &Bytes) {
        let Some(conn) = self.conns.get(&client) else {
            return;
        };
        if conn.closing.is_some() {
            return;
        }
        match conn.outbox.frames.try_send(bytes.clone()) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(_)) => self.close(client, CloseReason::TooSlow),
        }
    }

    /// Tells every client the server is stopping and waits (briefly) for the goodbyes to be
    /// written.
    pub fn shut_down(&mut self) {
        self.stop_accepting.cancel();
        let ids: Vec<ClientId> = self.conns.keys().copied().collect();
        for id in ids {
            self.close(id, CloseReason::ServerShutdown);
        }
        self.shared.tracker.close();
        if let Some(runtime) = self.runtime.take() {
            let tracker = self.shared.tracker.clone();
            runtime.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(2), tracker.wait()).await;
            });
            runtime.shutdown_background();
        }
    }
}

impl Drop for NetServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Runs a server app: a fixed tick while anyone is connected; with nobody connected it sleeps
/// until a connection arrives (or a second passes), so an idle server costs next to nothing.
pub fn server_runner(mut app: App, tick: Duration) -> AppExit {
    while app.plugins_state() == bevy::app::PluginsState::Adding {
        bevy::tasks::tick_global_task_pools_on_main_thread();
    }
    app.finish();
    app.cleanup();
    loop {
        let started = std::time::Instant::now();
        app.update();
        if let Some(exit) = app.should_exit() {
            return exit;
        }
        let Some(server) = app.world().get_resource::<NetServer>() else {
            return AppExit::Success;
        };
        if server.conns.is_empty() {
            let wake = server.wake.clone();
            let _ = wake.recv_timeout(Duration::from_secs(1));
        } else if let Some(rest) = tick.checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

fn mark_server_running(state: Res<State<ServerState>>, mut next: ResMut<NextState<ServerState>>) {
    if *state.get() == ServerState::Stopped {
        next.set(ServerState::Running);
    }
}

/// The server's messages from clients, by domain.
#[derive(bevy::ecs::system::SystemParam)]
struct ServerInbox<'w> {
    connected: MessageWriter<'w, ClientConnected>,
    joins: MessageWriter<'w, JoinRequested>,
    disconnected: MessageWriter<'w, ClientDisconnected>,
    chat: MessageWriter<'w, FromClient<ChatToServer>>,
    canvas: MessageWriter<'w, FromClient<CanvasToServer>>,
    quiz: MessageWriter<'w, FromClient<QuizToServer>>,
}

fn receive_from_clients(mut server: ResMut<NetServer>, mut inbox: ServerInbox) {
    let server = &mut *server;
    for event in server.events.try_iter() {
        match event {
            ServerEvent::Connected { client, addr, outbox } => {
                server.conns.insert(
                    client,
                    Conn {
                        addr,
                        outbox,
                        closing: None,
                    },
                );
                inbox.connected.write(ClientConnected { client, addr });
            }
            ServerEvent::Hello { client, hello } => {
                let Some(conn) = server.conns.get(&client) else {
                    continue;
                };
                let operator = server.operator_token.is_some() && hello.host_token == server.operator_token;
                inbox.joins.write(JoinRequested {
                    client,
                    addr: conn.addr,
                    name: hello.name,
                    room: hello.room,
                    operator,
                });
            }
            ServerEvent::Message { client, msg } => match msg {
                ClientMsg::Chat(msg) => {
                    inbox.chat.write(FromClient { client, msg });
                }
                ClientMsg::Canvas(msg) => {
                    inbox.canvas.write(FromClient { client, msg });
                }
                ClientMsg::Quiz(msg) => {
                    inbox.quiz.write(FromClient { client, msg });
                }
                // Handled inside the transport.
                ClientMsg::Hello(_) | ClientMsg::Ping | ClientMsg::Leave => {}
            },
            ServerEvent::Closed { client, reason } => {
                let reason = match server.conns.remove(&client) {
                    Some(Conn {
                        closing: Some(ours), ..
                    }) => ours,
                    _ => reason,
                };
                inbox.disconnected.write(ClientDisconnected { client, reason });
            }
        }
    }
}

fn send_to_clients<T>(mut server: ResMut<NetServer>, mut outgoing: ResMut<Messages<ToClients<T>>>)
where
    T: Send + Sync + 'static + Into<ServerMsg>,
{
    for ToClients { to, msg } in outgoing.drain() {
        let bytes = match codec::encode(&msg.into()) {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) => {
                error!("dropping an unsendable message: {e}");
                continue;
            }
        };
        match to {
            Recipients::One(client) => server.send_bytes(client, &bytes),
            Recipients::Many(clients) => {
                for client in clients {
                    server.send_bytes(client, &bytes);
                }
            }
        }
    }
}

fn disconnect_clients(mut server: ResMut<NetServer>, mut requests: MessageReader<DisconnectClient>) {
    for DisconnectClient { client, reason } in requests.read() {
        server.close(*client, reason.clone());
    }
}

fn stop_server_when_asked(
    mut server: ResMut<NetServer>,
    signal: Option<Res<ShutdownSignal>>,
    mut next: ResMut<NextState<ServerState>>,
    mut exit: MessageWriter<AppExit>,
) {
    if signal.is_some_and(|s| s.requested()) {
        info!("stopping: telling {} connected clients", server.conns.len());
        server.shut_down();
        next.set(ServerState::Stopped);
        exit.write(AppExit::Success);
    }
}

// ---------------------------------------------------------------------------------------------
// Client

/// This app's connection to a server.
#[derive(Resource)]
pub struct NetClient {
    runtime: Option<Runtime>,
    events: Receiver<ClientEvent>,
    outbox: Outbox,
    pub addr: String,
}

impl Drop for NetClient {
    /// Says goodbye, then lets the writer finish on a helper thread (for at most half a
    /// second) so leaving never blocks a frame.
    fn drop(&mut self) {
        let leave = codec::encode(&ClientMsg::Leave).map(Bytes::from).ok();
        self.outbox.close_with(leave);
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

/// What this client has sent, for measurements and a network overlay.
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

impl NetClient {
    fn connect(
        addr: String,
        hello: Hello,
        config: NetConfig,
        waker: Option<NetWaker>,
    ) -> Result<Self, ConnectionError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("net-client")
            .enable_all()
            .build()
            .map_err(|e| ConnectionError::Connect {
                addr: addr.clone(),
                detail: e.to_string(),
            })?;
        let (events_tx, events) = crossbeam_channel::unbounded();
        let (outbox, receivers) = transport::outbox(config.outbound_queue);
        let hello = codec::encode(&ClientMsg::Hello(hello)).map_err(|e| ConnectionError::Connect {
            addr: addr.clone(),
            detail: e.to_string(),
        })?;
        // The handshake is the first frame the writer sends.
        let _ = outbox.frames.try_send(Bytes::from(hello));
        runtime.spawn(transport::run_client(
            addr.clone(),
            config,
            events_tx,
            receivers,
            outbox.clone(),
            waker.map(|w| w.0),
        ));
        Ok(Self {
            runtime: Some(runtime),
            events,
            outbox,
            addr,
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

/// Addresses other machines can reach a server bound to `bound` at: every interface's IPv4
/// address when it listens on all of them.
pub fn reachable_addresses(bound: SocketAddr) -> Vec<SocketAddr> {
    if !bound.ip().is_unspecified() {
        return vec![bound];
    }
    let mut addrs: Vec<SocketAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|iface| !iface.is_loopback() && iface.ip().is_ipv4())
        .map(|iface| SocketAddr::new(iface.ip(), bound.port()))
        .collect();
    addrs.sort();
    addrs.dedup();
    if addrs.is_empty() {
        addrs.push(SocketAddr::from(([127, 0, 0, 1], bound.port())));
    }
    addrs
}

fn start_client(
    mut commands: Commands,
    mut requests: MessageReader<ConnectRequested>,
    config: Option<Res<ClientNetConfig>>,
    waker: Option<Res<NetWaker>>,
    mut next: ResMut<NextState<ClientState>>,
    mut ended: MessageWriter<ConnectionEnded>,
) {
    let Some(request) = requests.read().last() else {
        return;
    };
    let config = config.map(|c| c.0.clone()).unwrap_or_default();
    match NetClient::connect(
        request.addr.clone(),
        request.hello.clone(),
        config,
        waker.map(|w| w.clone()),
    ) {
        Ok(client) => {
            commands.insert_resource(client);
            next.set(ClientState::Connecting);
        }
        Err(e) => {
            ended.write(ConnectionEnded(e));
        }
    }
}

/// The client's messages from the server, by domain.
#[derive(bevy::ecs::system::SystemParam)]
struct ClientInbox<'w> {
    welcome: MessageWriter<'w, FromServer<Welcome>>,
    room: MessageWriter<'w, FromServer<RoomUpdate>>,
    chat: MessageWriter<'w, FromServer<ChatToClient>>,
    canvas: MessageWriter<'w, FromServer<CanvasToClient>>,
    quiz: MessageWriter<'w, FromServer<QuizToClient>>,
    ended: MessageWriter<'w, ConnectionEnded>,
}

fn receive_from_server(
    mut commands: Commands,
    client: Option<Res<NetClient>>,
    mut next: ResMut<NextState<ClientState>>,
    mut inbox: ClientInbox,
) {
    let Some(client) = client else { return };
    for event in client.events.try_iter() {
        match event {
            ClientEvent::Message(msg) => match msg {
                ServerMsg::Welcome(welcome) => {
                    next.set(ClientState::Connected);
                    inbox.welcome.write(FromServer(welcome));
                }
                ServerMsg::Room(update) => {
                    inbox.room.write(FromServer(update));
                }
                ServerMsg::Chat(chat) => {
                    inbox.chat.write(FromServer(chat));
                }
                ServerMsg::Canvas(canvas) => {
                    inbox.canvas.write(FromServer(canvas));
                }
                ServerMsg::Quiz(quiz) => {
                    inbox.quiz.write(FromServer(quiz));
                }
                // Handled inside the transport.
                ServerMsg::Ping | ServerMsg::Closing(_) => {}
            },
            ClientEvent::Ended(error) => {
                warn!("{error}");
                inbox.ended.write(ConnectionEnded(error));
                commands.remove_resource::<NetClient>();
                next.set(ClientState::Disconnected);
                return;
            }
        }
    }
}

fn send_to_server<T>(
    mut commands: Commands,
    client: Res<NetClient>,
    mut stats: ResMut<NetStats>,
    mut outgoing: ResMut<Messages<ToServer<T>>>,
    mut ended: MessageWriter<ConnectionEnded>,
    mut next: ResMut<NextState<ClientState>>,
) where
    T: Send + Sync + 'static + Into<ClientMsg>,
{
    for ToServer(msg) in outgoing.drain() {
        let bytes = match codec::encode(&msg.into()) {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) => {
                warn!("not sent: {e}");
                continue;
            }
        };
        stats.frames_sent += 1;
        stats.bytes_sent += bytes.len() as u64 + 4;
        if let Err(TrySendError::Full(_)) = client.outbox.frames.try_send(bytes) {
            ended.write(ConnectionEnded(ConnectionError::Lost));
            commands.remove_resource::<NetClient>();
            next.set(ClientState::Disconnected);
            return;
        }
    }
}

fn leave_server(
    mut commands: Commands,
    mut requests: MessageReader<LeaveRequested>,
    mut next: ResMut<NextState<ClientState>>,
) {
    if requests.read().last().is_some() {
        commands.remove_resource::<NetClient>();
        next.set(ClientState::Disconnected);
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
