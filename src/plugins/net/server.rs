//! The server's ECS side: the running [`NetServer`], turning its connections' events into
//! typed messages (`PreUpdate`) and typed messages into frames (`PostUpdate`), and the loop
//! that runs a server app.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bevy::ecs::message::MessageRegistry;
use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bytes::Bytes;
use crossbeam_channel::Receiver;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::frames::{NetConfig, NotQueued, Outbox};
use super::listener::{self, Protocol, ServerEvent, ServerShared};
use super::per_address::AddressBook;
use super::wire::{
    AnyMessage, CloseReason, FIRST_TAG, LeaveReason, ServerControl, WireMessage, encode_control,
    encode_tagged,
};
use super::{
    ClientConnected, ClientDisconnected, DisconnectClient, NetSystems, RebindClient, Recipients, ServerWake,
    ToClients,
};
use super::{WireRegistry, client};
use crate::id::ClientId;

mod bind;
mod run_loop;

pub use bind::{Listen, ServerError, reachable_addresses};
pub use run_loop::{IDLE_WAKE, MIN_UPDATE_GAP, ShutdownSignal, server_runner};
use run_loop::{note_tick, stop_server_when_asked};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        PreUpdate,
        receive_from_clients
            .run_if(resource_exists::<NetServer>)
            .in_set(NetSystems::Receive),
    )
    .add_systems(
        PostUpdate,
        (send_to_clients, stop_server_when_asked)
            .chain()
            .run_if(resource_exists::<NetServer>)
            .in_set(NetSystems::Send),
    )
    .add_systems(Last, note_tick.run_if(resource_exists::<NetServer>));
    #[cfg(feature = "agones")]
    app.add_systems(
        Last,
        report_counts
            .run_if(resource_exists::<NetServer>.and_then(resource_changed::<super::OrchestratorCounts>)),
    );
}

/// Writes a decoded payload from a client as `FromClient<T>`.
pub(super) type DeliverFromClient = fn(&mut World, ClientId, AnyMessage);
/// Encodes this update's `ToClients<T>` under the type's tag, for the server to queue.
type FlushToClients = fn(&mut World, u32, &mut Vec<(Recipients, Bytes)>);

/// What the layer does with a type the server sends.
pub(crate) struct ToClientHooks {
    /// Server: encodes this frame's `ToClients<T>` and queues them.
    flush: FlushToClients,
    /// Client: writes a decoded payload as `FromServer<T>`.
    pub(super) deliver: super::client::DeliverFromServer,
    /// Server: removes `FromServer<T>`, which only a player's app reads.
    pub(super) drop_client_side: fn(&mut World),
}

pub(super) fn to_client_hooks<T: WireMessage>() -> ToClientHooks {
    ToClientHooks {
        flush: flush_to_clients::<T>,
        deliver: client::deliver_from_server::<T>,
        drop_client_side: MessageRegistry::deregister_messages::<super::FromServer<T>>,
    }
}

/// A running server: the tokio runtime, the accept loop and one handle per connection.
#[derive(Resource)]
pub struct NetServer {
    runtime: Option<Runtime>,
    shared: Arc<ServerShared>,
    events: Receiver<ServerEvent>,
    conns: HashMap<ClientId, Conn>,
    /// Connections that speak as another client (a resumed session): connection -> client.
    aliases: HashMap<ClientId, ClientId>,
    local_addr: SocketAddr,
    stop_accepting: CancellationToken,
    wake: Receiver<()>,
    /// The registered types' hooks, by tag, copied when the server started (shared, so an
    /// update borrows them without copying).
    deliver: Arc<[DeliverFromClient]>,
    flush: Arc<[FlushToClients]>,
    /// What a stop closes the connections with (a dedicated server restarts).
    stop_reason: CloseReason,
    /// When this update's frames were queued (one reading of the clock for all of them).
    now: Instant,
    /// When idle connections are next looked at for a ping (see [`NetServer::ping_idle`]).
    next_ping: Instant,
    ping: Bytes,
    admin_addr: Option<SocketAddr>,
    figures: Figures,
    /// Where the count of open connections is told (see [`NetServer::wake_on`]).
    reports_to: Option<Arc<std::sync::atomic::AtomicUsize>>,
    #[cfg(feature = "agones")]
    agones: Option<super::agones::AgonesLink>,
}

/// The figures the ECS side of the network takes for `/metrics` (recorder handles; no-ops
/// without a recorder).
struct Figures {
    connections: metrics::Gauge,
    frames_out: metrics::Counter,
    bytes_out: metrics::Counter,
    /// The most bytes one connection had waiting, since the server started.
    queue_high_water: metrics::Gauge,
    queue_high_water_bytes: usize,
    tick: metrics::Histogram,
    draining: metrics::Gauge,
}

impl Figures {
    fn new() -> Self {
        Self {
            connections: metrics::gauge!("catchmind_connections"),
            frames_out: metrics::counter!("catchmind_frames_sent_total"),
            bytes_out: metrics::counter!("catchmind_bytes_sent_total"),
            queue_high_water: metrics::gauge!("catchmind_outbound_queue_high_water_bytes"),
            queue_high_water_bytes: 0,
            tick: metrics::histogram!("catchmind_tick_seconds"),
            draining: metrics::gauge!("catchmind_draining"),
        }
    }
}

/// A short name for why a connection ended, for `/metrics`.
fn disconnect_label(reason: &LeaveReason) -> &'static str {
    match reason {
        LeaveReason::Left => "left",
        LeaveReason::ConnectionLost => "connection_lost",
        LeaveReason::TimedOut => "timed_out",
        LeaveReason::ServerStopped => "server_stopped",
        LeaveReason::Closed(why) => match why {
            CloseReason::Refused(_) => "refused",
            CloseReason::TooSlow => "too_slow",
            CloseReason::Flooding => "flooding",
            CloseReason::ProtocolViolation(_) => "protocol_violation",
            CloseReason::TimedOut => "timed_out",
            CloseReason::ServerShutdown | CloseReason::ServerRestarting => "server_stopped",
            CloseReason::Kicked => "kicked",
        },
    }
}

struct Conn {
    addr: SocketAddr,
    outbox: Outbox,
    /// Since when its queue has held over half of the byte budget.
    over_half_since: Option<Instant>,
    /// Set when we closed it, so the leave notice gives our reason.
    closing: Option<LeaveReason>,
    /// When a frame was last queued for it (an update's clock), for the heartbeat.
    last_queued: Instant,
}

impl NetServer {
    /// Starts serving on `listener` the types in `registry` (complete: every plugin added).
    pub fn start(
        listener: std::net::TcpListener,
        mut config: NetConfig,
        registry: &WireRegistry,
        shutdown: Option<ShutdownSignal>,
    ) -> Result<Self, ServerError> {
        if let Some(allowed) = super::open_files::fit_connections(config.max_connections)
            && allowed < config.max_connections
        {
            eprintln!(
                "game: the open-file limit allows at most {allowed} connections (asked for {}); raise it with `ulimit -Hn`",
                config.max_connections
            );
            config.max_connections = allowed;
        }
        // The recorder first: figures taken before it would go nowhere.
        let admin = match &config.admin {
            Some(admin) => Some((super::admin::install_recorder()?, super::admin::bind(admin)?)),
            None => None,
        };
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
        let mut server = Self::new(config, registry, local_addr);
        let shared = server.shared.clone();
        let stop_accepting = server.stop_accepting.clone();
        runtime.spawn(listener::accept_loop(
            listener,
            shared.clone(),
            stop_accepting.clone(),
        ));
        let admin_addr = match admin {
            Some((metrics, admin)) => {
                let addr = admin.local_addr().map_err(ServerError::Runtime)?;
                let admin = {
                    let _guard = runtime.enter();
                    tokio::net::TcpListener::from_std(admin).map_err(ServerError::Runtime)?
                };
                runtime.spawn(super::admin::serve(
                    admin,
                    shared.clone(),
                    metrics,
                    stop_accepting.clone(),
                ));
                Some(addr)
            }
            None => None,
        };
        #[cfg(feature = "agones")]
        {
            server.agones = shared
                .config
                .agones
                .clone()
                .map(|config| super::agones::AgonesLink::start(&runtime, config));
        }
        if let Some(signal) = shutdown {
            // Every signal counts: the first drains, the second stops at once.
            server.stop_reason = CloseReason::ServerRestarting;
            runtime.spawn(forward_stop_signals(signal, shared.wake.clone()));
        }
        server.runtime = Some(runtime);
        server.admin_addr = admin_addr;
        Ok(server)
    }

    /// A server with no runtime and no connection yet.
    fn new(config: NetConfig, registry: &WireRegistry, local_addr: SocketAddr) -> Self {
        let (events_tx, events) = crossbeam_channel::unbounded();
        let (wake_tx, wake) = crossbeam_channel::bounded(1);
        let addresses = AddressBook::new(config.per_address.clone());
        let web = config
            .web_root
            .as_deref()
            .map(super::web::WebBundle::load)
            .unwrap_or_default();
        let shared = Arc::new(ServerShared {
            config,
            protocol: Protocol {
                fingerprint: registry.fingerprint(),
                decoders: registry.to_server.iter().map(|r| r.decode).collect(),
            },
            events: events_tx,
            wake: wake_tx,
            tracker: TaskTracker::new(),
            live: AtomicUsize::new(0),
            addresses: std::sync::Mutex::new(addresses),
            draining: AtomicBool::new(false),
            last_tick_ms: AtomicU64::new(0),
            health: super::admin::Health::new(),
            figures: listener::Figures::new(),
            web,
            refusing: tokio::sync::Semaphore::new(listener::MAX_REFUSING),
        });
        Self {
            runtime: None,
            shared,
            events,
            conns: HashMap::new(),
            aliases: HashMap::new(),
            local_addr,
            stop_accepting: CancellationToken::new(),
            wake,
            deliver: registry.to_server.iter().map(|r| r.hook.deliver).collect(),
            flush: registry.to_client.iter().map(|r| r.hook.flush).collect(),
            stop_reason: CloseReason::ServerShutdown,
            now: Instant::now(),
            next_ping: Instant::now(),
            ping: encode_control(&ServerControl::Ping),
            admin_addr: None,
            figures: Figures::new(),
            reports_to: None,
            #[cfg(feature = "agones")]
            agones: None,
        }
    }

    /// A server whose connections are carried in memory by the tests' harness
    /// ([`super::memory`]), which reports their events through the returned sender.
    #[cfg(test)]
    pub(crate) fn in_memory(
        config: NetConfig,
        registry: &WireRegistry,
        local_addr: SocketAddr,
    ) -> (Self, crossbeam_channel::Sender<ServerEvent>) {
        let server = Self::new(config, registry, local_addr);
        let events = server.shared.events.clone();
        (server, events)
    }

    /// Records how long an update of the game loop took (the tick histogram).
    pub fn ticked(&self, took: Duration) {
        self.figures.tick.record(took.as_secs_f64());
        if let Some(count) = &self.reports_to {
            count.store(self.conns.len(), Ordering::Relaxed);
        }
    }

    /// Where the admin endpoint listens, if it does.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Whether the browser client's page is served on the game's port.
    pub fn serves_page(&self) -> bool {
        self.shared.web.is_built()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Lets `signal` wake this server's loop when a stop is requested.
    /// Also keeps the signal's count of open connections up to date, for whoever stops it.
    pub fn wake_on(&mut self, signal: &ShutdownSignal) {
        let _ = signal.wake.set(self.shared.wake.clone());
        self.reports_to = Some(signal.connections.clone());
    }

    /// Closes a connection, sending `reason` as its last message.
    fn close(&mut self, client: ClientId, reason: CloseReason) {
        if let Some(conn) = self.conns.get_mut(&client)
            && conn.closing.is_none()
        {
            conn.closing = Some(LeaveReason::from(&reason));
            conn.outbox.close_with(Some(listener::closing(reason)));
        }
    }

    /// Lets `connection` speak as `as_client` (see [`RebindClient`]).
    fn rebind(&mut self, connection: ClientId, as_client: ClientId) {
        if self.conns.contains_key(&as_client) {
            warn!("not rebinding {connection} as {as_client}: that client is still connected");
            return;
        }
        if let Some(conn) = self.conns.remove(&connection) {
            self.conns.insert(as_client, conn);
            self.aliases.insert(connection, as_client);
        }
    }

    fn send_bytes(&mut self, client: ClientId, bytes: &Bytes) {
        let budget = self.shared.config.outbound_bytes;
        let grace = self.shared.config.slow_reader_grace;
        let Some(conn) = self.conns.get_mut(&client) else {
            return;
        };
        if conn.closing.is_some() {
            return;
        }
        conn.last_queued = self.now;
        let too_slow = if conn.outbox.queued_bytes() + bytes.len() > budget {
            true
        } else {
            match conn.outbox.queue(bytes.clone()) {
                Ok(queued) => {
                    self.figures.frames_out.increment(1);
                    self.figures.bytes_out.increment(bytes.len() as u64 + 4);
                    if queued > self.figures.queue_high_water_bytes {
                        self.figures.queue_high_water_bytes = queued;
                        self.figures.queue_high_water.set(queued as f64);
                    }
                    slow_reader(&mut conn.over_half_since, queued, budget, grace)
                }
                Err(NotQueued::Full) => true,
                Err(NotQueued::Closed) => false,
            }
        };
        if too_slow {
            self.close(client, CloseReason::TooSlow);
        }
    }

    /// Queues a ping for every connection nothing was queued for within the heartbeat
    /// interval (so the peer hears from a server with nothing to say, and a dead peer is
    /// found by the write), looking every half interval or every second, whichever is
    /// sooner (at least a millisecond apart); while anyone is connected, returns when the next
    /// look is due, for the loop to wake then (its every update takes what was asked). The
    /// writers keep no timer of their own.
    fn ping_idle(&mut self) -> Option<Instant> {
        if self.conns.is_empty() {
            return None;
        }
        if self.now >= self.next_ping {
            let every = self.shared.config.heartbeat_interval;
            for conn in self.conns.values_mut() {
                if conn.closing.is_none() && self.now.saturating_duration_since(conn.last_queued) >= every {
                    conn.last_queued = self.now;
                    let _ = conn.outbox.queue(self.ping.clone());
                }
            }
            self.next_ping = self.now + (every / 2).clamp(MIN_UPDATE_GAP, IDLE_WAKE);
        }
        Some(self.next_ping)
    }

    fn send_to(&mut self, to: Recipients, bytes: &Bytes) {
        match to {
            Recipients::One(client) => self.send_bytes(client, bytes),
            Recipients::Many(clients) => {
                for client in clients {
                    self.send_bytes(client, bytes);
                }
            }
        }
    }

    /// Tells every client the server is stopping and waits (briefly) for the goodbyes to be
    /// written.
    pub fn shut_down(&mut self) {
        self.stop_accepting.cancel();
        let ids: Vec<ClientId> = self.conns.keys().copied().collect();
        for id in ids {
            self.close(id, self.stop_reason.clone());
        }
        self.shared.tracker.close();
        if let Some(runtime) = self.runtime.take() {
            let tracker = self.shared.tracker.clone();
            runtime.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(2), tracker.wait()).await;
                // Drained and every player told: the orchestrator may stop the process.
                #[cfg(feature = "agones")]
                if let Some(agones) = &self.agones {
                    agones.shut_down().await;
                }
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

/// Turns every Ctrl+C and, on Unix, SIGTERM (how systemd, Docker and Kubernetes stop a
/// process) into a stop request, for as long as the server runs.
async fn forward_stop_signals(stop: ShutdownSignal, wake: crossbeam_channel::Sender<()>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn next(stream: &mut Option<Signal>) {
            let received = match stream {
                Some(stream) => stream.recv().await.is_some(),
                None => false,
            };
            if !received {
                std::future::pending::<()>().await;
            }
        }
        // Registered once, so a signal between two stop requests is not missed.
        let mut term = signal(SignalKind::terminate()).ok();
        let mut interrupt = signal(SignalKind::interrupt()).ok();
        loop {
            tokio::select! {
                _ = next(&mut term) => {}
                _ = next(&mut interrupt) => {}
            }
            stop.request();
            let _ = wake.try_send(());
        }
    }
    #[cfg(not(unix))]
    loop {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        stop.request();
        let _ = wake.try_send(());
    }
}

/// Whether a peer with `queued` bytes waiting counts as not reading fast enough: over half of
/// its `budget` for `grace` (it does not drain what its room produces). Reads the clock only
/// while over half.
fn slow_reader(over_half_since: &mut Option<Instant>, queued: usize, budget: usize, grace: Duration) -> bool {
    if queued <= budget / 2 {
        *over_half_since = None;
        return false;
    }
    let now = Instant::now();
    now.duration_since(*over_half_since.get_or_insert(now)) >= grace
}

/// Passes the plugins' counts on to the orchestrator.
#[cfg(feature = "agones")]
fn report_counts(server: Res<NetServer>, counts: Res<super::OrchestratorCounts>) {
    if let Some(agones) = &server.agones {
        agones.report(&counts);
    }
}

/// Turns the connections' events into messages: connections, each registered type's
/// `FromClient<T>` (through its hook), disconnections.
///
/// The connections' own events are handled first, with the server borrowed; the messages are
/// written after, with the world (each kind of message keeps its own order; the server is not
/// moved out of the world for it, which cost as much as the rest of the receiving).
fn receive_from_clients(world: &mut World, mut arrived: Local<Vec<Arrived>>) {
    let mut server = world.resource_mut::<NetServer>();
    let server = &mut *server;
    for event in server.events.try_iter() {
        match event {
            ServerEvent::Accepted { client, addr, outbox } => {
                let conn = Conn {
                    addr,
                    outbox,
                    over_half_since: None,
                    closing: None,
                    last_queued: server.now,
                };
                server.conns.insert(client, conn);
            }
            ServerEvent::Ready { client } => {
                if let Some(conn) = server.conns.get(&client) {
                    arrived.push(Arrived::Connected(ClientConnected {
                        client,
                        addr: conn.addr,
                    }));
                }
            }
            ServerEvent::Message { client, tag, msg } => {
                let client = server.aliases.get(&client).copied().unwrap_or(client);
                if let Some(&deliver) = server.deliver.get((tag - FIRST_TAG) as usize) {
                    arrived.push(Arrived::Message(deliver, client, msg));
                }
            }
            ServerEvent::Closed { client, reason } => {
                let client = server.aliases.remove(&client).unwrap_or(client);
                let reason = match server.conns.remove(&client) {
                    Some(Conn {
                        closing: Some(ours), ..
                    }) => ours,
                    _ => reason,
                };
                metrics::counter!("catchmind_disconnects_total", "reason" => disconnect_label(&reason))
                    .increment(1);
                arrived.push(Arrived::Disconnected(ClientDisconnected { client, reason }));
            }
        }
    }
    server.figures.connections.set(server.conns.len() as f64);
    for arrived in arrived.drain(..) {
        match arrived {
            Arrived::Connected(connected) => {
                world.write_message(connected);
            }
            Arrived::Message(deliver, client, msg) => deliver(world, client, msg),
            Arrived::Disconnected(disconnected) => {
                world.write_message(disconnected);
            }
        }
    }
}

/// What an update's events become, written once the server is no longer borrowed.
enum Arrived {
    Connected(ClientConnected),
    Message(DeliverFromClient, ClientId, AnyMessage),
    Disconnected(ClientDisconnected),
}

pub(super) fn deliver_from_client<T: WireMessage>(world: &mut World, client: ClientId, msg: AnyMessage) {
    if let Ok(msg) = msg.downcast::<T>() {
        world.write_message(super::FromClient { client, msg: *msg });
    }
}

/// Sends every registered type's `ToClients<T>` in registration order, then closes the
/// connections asked for (after what was queued for them), then pings the idle ones. The
/// frames are encoded first and queued after, so the server is borrowed once, not moved out
/// of the world.
fn send_to_clients(world: &mut World, mut outgoing: Local<Vec<(Recipients, Bytes)>>) {
    let flush = world.resource::<NetServer>().flush.clone();
    for (i, flush) in flush.iter().enumerate() {
        flush(world, FIRST_TAG + i as u32, &mut outgoing);
    }
    let startup = world.resource::<Time<Real>>().startup();
    let rebinds: Vec<RebindClient> = world.resource_mut::<Messages<RebindClient>>().drain().collect();
    let requests: Vec<DisconnectClient> = world
        .resource_mut::<Messages<DisconnectClient>>()
        .drain()
        .collect();
    let mut server = world.resource_mut::<NetServer>();
    server.now = Instant::now();
    for RebindClient {
        connection,
        as_client,
    } in rebinds
    {
        server.rebind(connection, as_client);
    }
    for (to, bytes) in outgoing.drain(..) {
        server.send_to(to, &bytes);
    }
    for DisconnectClient { client, reason } in requests {
        server.close(client, reason);
    }
    if let Some(next) = server.ping_idle() {
        // On the loop's clock (`Time<Real>` from its start), as the loop reads it.
        world
            .resource_mut::<ServerWake>()
            .at(next.saturating_duration_since(startup));
    }
}

fn flush_to_clients<T: WireMessage>(world: &mut World, tag: u32, outgoing: &mut Vec<(Recipients, Bytes)>) {
    let mut messages = world.resource_mut::<Messages<ToClients<T>>>();
    for out in messages.drain() {
        let (to, msg, encoded) = out.into_parts();
        match encoded.map_or_else(|| encode_tagged(tag, &msg), Ok) {
            Ok(bytes) => outgoing.push((to, bytes)),
            Err(e) => error!("dropping an unsendable {}: {e}", T::NAME),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_over_half_its_budget_for_the_grace_is_too_slow() {
        let grace = Duration::from_millis(50);
        let mut since = None;
        assert!(!slow_reader(&mut since, 400, 1000, grace));
        assert!(since.is_none());
        assert!(
            !slow_reader(&mut since, 600, 1000, grace),
            "over half: the clock starts"
        );
        let started = since.expect("started");
        std::thread::sleep(Duration::from_millis(20));
        assert!(!slow_reader(&mut since, 700, 1000, grace));
        assert_eq!(since, Some(started), "still the same stretch");
        assert!(
            !slow_reader(&mut since, 500, 1000, grace),
            "drained to half: forgiven"
        );
        assert!(since.is_none());
        assert!(!slow_reader(&mut since, 900, 1000, grace));
        std::thread::sleep(grace);
        assert!(
            slow_reader(&mut since, 900, 1000, grace),
            "over half for the whole grace"
        );
    }
}
