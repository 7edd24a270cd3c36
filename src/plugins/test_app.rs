//! Apps with no sockets for the plugins' tests, under manual time (a fixed step per update).
//!
//! [`TestServer`] is a server app alone: messages from clients are written straight into it,
//! and what it would send is read back from its outgoing messages (the way Bevy's
//! `how_to_test_apps` drives an app). [`TestNet`] is a server app and game clients joined by
//! the in-memory network ([`net::memory`]): every message is encoded, carried and decoded as
//! over TCP, in milliseconds and with no timing risk.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bevy::ecs::message::MessageCursor;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy::time::TimeUpdateStrategy;

use crate::id::ClientId;
use crate::plugins::chat::{ChatEntry, ChatLog};
use crate::plugins::net::memory::{MemoryNet, MemoryServer};
use crate::plugins::net::{ClientConnected, ClientDisconnected, FromClient, LeaveReason, ToClients};
use crate::plugins::net::{ClientState, LeaveRequested, NetConfig, ToServer, WireRegistry};
use crate::plugins::rooms::{JoinRequest, Rejection, Welcome};
use crate::plugins::rooms::{JoinServer, Roster, SessionEnded};
use crate::plugins::{Side, canvas, chat, logic_sets, net, quiz, rooms};

// Each client plugin over the in-memory network.
mod canvas_client;
mod chat_client;
mod quiz_client;
mod rooms_client;

/// The clock's step per update.
pub const STEP: Duration = Duration::from_millis(20);

pub struct TestServer {
    pub app: App,
    cursors: HashMap<TypeId, Box<dyn Any>>,
}

impl TestServer {
    /// Every logic plugin.
    pub fn new() -> Self {
        Self::with((chat::plugin, canvas::plugin, quiz::plugin))
    }

    /// Only the plugins `plugins` adds (with the network and rooms plugins they build on).
    pub fn with<M>(plugins: impl bevy::app::Plugins<M>) -> Self {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .insert_resource(TimeUpdateStrategy::ManualDuration(STEP))
            .insert_resource(Side::Server)
            .add_plugins((logic_sets, net::plugin, rooms::plugin))
            .add_plugins(plugins);
        app.update();
        Self {
            app,
            cursors: HashMap::new(),
        }
    }

    /// A client that passed the network handshake and asked to join `room`; returns once it
    /// is welcomed.
    pub fn join(&mut self, id: u32, name: &str, room: Option<&str>) -> ClientId {
        let client = self.connect(id);
        let answer = self.ask_to_join(client, JoinRequest::new(name, room));
        assert!(answer.is_ok(), "{name} was welcomed: {answer:?}");
        client
    }

    /// [`Self::join`] from address `ip` (another machine, for the rules that count addresses).
    pub fn join_from(&mut self, id: u32, ip: [u8; 4], name: &str, room: Option<&str>) -> ClientId {
        let client = self.connect_from(id, ip);
        let answer = self.ask_to_join(client, JoinRequest::new(name, room));
        assert!(answer.is_ok(), "{name} was welcomed: {answer:?}");
        client
    }

    /// A connection that passed the network handshake (from 127.0.0.1, port 40000 + `id`).
    pub fn connect(&mut self, id: u32) -> ClientId {
        self.connect_from(id, [127, 0, 0, 1])
    }

    /// A connection that passed the network handshake from `ip`, port 40000 + `id`.
    pub fn connect_from(&mut self, id: u32, ip: [u8; 4]) -> ClientId {
        let client = ClientId(id);
        let addr: SocketAddr = (ip, 40000 + id as u16).into();
        self.write(ClientConnected { client, addr });
        client
    }

    /// `client` asks to join; the server's answer within one update.
    pub fn ask_to_join(&mut self, client: ClientId, join: JoinRequest) -> Result<Welcome, Rejection> {
        self.send(client, join);
        self.update();
        let welcome = self
            .sent::<Welcome>()
            .into_iter()
            .find(|w| w.to_one() == Some(client));
        let rejection = self
            .sent::<Rejection>()
            .into_iter()
            .find(|r| r.to_one() == Some(client));
        match (welcome, rejection) {
            (Some(w), None) => Ok(w.msg),
            (None, Some(r)) => Err(r.msg),
            other => panic!("one answer to {client}'s join: {other:?}"),
        }
    }

    /// The connection of `client` ended.
    pub fn disconnect(&mut self, client: ClientId, reason: LeaveReason) {
        self.write(ClientDisconnected { client, reason });
    }

    /// Writes a message as if `client` had sent it.
    pub fn send<T: Send + Sync + 'static>(&mut self, client: ClientId, msg: T) {
        self.app.world_mut().write_message(FromClient { client, msg });
    }

    pub fn write<M: Message>(&mut self, msg: M) {
        self.app.world_mut().write_message(msg);
    }

    pub fn update(&mut self) {
        self.app.update();
    }

    pub fn run_for(&mut self, time: Duration) {
        for _ in 0..time.div_duration_f64(STEP).ceil() as u32 {
            self.update();
        }
    }

    /// Runs for `time`, keeping every `M` written meanwhile (a message lives two updates).
    pub fn run_reading<M: Message + Clone>(&mut self, time: Duration) -> Vec<M> {
        let mut kept = self.read::<M>();
        for _ in 0..time.div_duration_f64(STEP).ceil() as u32 {
            self.update();
            kept.extend(self.read::<M>());
        }
        kept
    }

    /// What the server wrote for clients of type `T` since the last call for `T`.
    pub fn sent<T: Clone + Send + Sync + 'static>(&mut self) -> Vec<ToClients<T>> {
        self.read::<ToClients<T>>()
    }

    /// Messages of type `M` written since the last call for `M`.
    pub fn read<M: Message + Clone>(&mut self) -> Vec<M> {
        let cursor = self
            .cursors
            .entry(TypeId::of::<M>())
            .or_insert_with(|| Box::new(MessageCursor::<M>::default()))
            .downcast_mut::<MessageCursor<M>>()
            .expect("one cursor per type");
        let messages = self.app.world().resource::<Messages<M>>();
        cursor.read(messages).cloned().collect()
    }

    /// The first entity with component `C`.
    pub fn find<C: Component>(&mut self) -> Entity {
        let mut query = self.app.world_mut().query_filtered::<Entity, With<C>>();
        query.single(self.app.world()).expect("one")
    }
}

impl<T: Send + Sync + 'static> ToClients<T> {
    /// The one recipient, if the message went to one client.
    pub fn to_one(&self) -> Option<ClientId> {
        match &self.to {
            crate::plugins::net::Recipients::One(id) => Some(*id),
            crate::plugins::net::Recipients::Many(_) => None,
        }
    }

    /// Every recipient.
    pub fn recipients(&self) -> Vec<ClientId> {
        match &self.to {
            crate::plugins::net::Recipients::One(id) => vec![*id],
            crate::plugins::net::Recipients::Many(ids) => ids.clone(),
        }
    }
}

/// The address the in-memory server listens on.
pub const ADDR: &str = "memory:1234";

/// A server app and game clients joined by the in-memory network, stepped together.
pub struct TestNet {
    pub server: TestServer,
    pub wire: MemoryServer,
    pub clients: Vec<TestClient>,
    net: MemoryNet,
}

impl TestNet {
    /// A server with every logic plugin (its resources set as `configure` says, before the
    /// first update) and no client yet.
    pub fn new(configure: impl FnOnce(&mut App)) -> Self {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .insert_resource(TimeUpdateStrategy::ManualDuration(STEP))
            .add_plugins(crate::plugins::server_logic);
        configure(&mut app);
        let net = MemoryNet::default();
        let registry = app.world().resource::<WireRegistry>();
        let (wire, server) = MemoryServer::listen(&net, ADDR, NetConfig::default(), registry);
        app.insert_resource(server);
        app.update();
        let server = TestServer {
            app,
            cursors: HashMap::new(),
        };
        Self {
            server,
            wire,
            clients: Vec::new(),
            net,
        }
    }

    /// A game client (no window) that asks to join as `name`, in `room` or the lobby; its index.
    pub fn connect(&mut self, name: &str, room: Option<&str>) -> usize {
        self.connect_with(JoinRequest::new(name, room))
    }

    pub fn connect_with(&mut self, join: JoinRequest) -> usize {
        let mut client = TestClient::new(&join.name, &self.net);
        client.app.world_mut().write_message(JoinServer {
            addr: ADDR.into(),
            join,
        });
        self.clients.push(client);
        self.clients.len() - 1
    }

    /// One update of every client, then of the server, carrying what each sent.
    pub fn step(&mut self) {
        for client in &mut self.clients {
            client.update();
        }
        self.wire.carry();
        self.server.update();
        self.wire.carry();
    }

    /// Steps until `done` holds; panics naming `what` after `limit` of game time.
    pub fn step_until(&mut self, limit: Duration, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let steps = limit.div_duration_f64(STEP).ceil() as u32;
        for _ in 0..steps {
            self.step();
            if done(self) {
                return;
            }
        }
        panic!("not within {limit:?} of game time: {what}");
    }

    /// Steps for `time` of game time.
    pub fn run_for(&mut self, time: Duration) {
        for _ in 0..time.div_duration_f64(STEP).ceil() as u32 {
            self.step();
        }
    }

    /// Steps until every client is in the room with all of them.
    pub fn join_all(&mut self) {
        let n = self.clients.len();
        self.step_until(Duration::from_secs(2), "everyone to join", |net| {
            net.clients
                .iter()
                .all(|c| c.joined() && c.roster().players.len() == n)
        });
    }
}

impl std::ops::Index<usize> for TestNet {
    type Output = TestClient;
    fn index(&self, i: usize) -> &TestClient {
        &self.clients[i]
    }
}

impl std::ops::IndexMut<usize> for TestNet {
    fn index_mut(&mut self, i: usize) -> &mut TestClient {
        &mut self.clients[i]
    }
}

/// The game's client without a window (every logic plugin, its client half running),
/// dialling through the in-memory network.
pub struct TestClient {
    pub app: App,
    pub name: String,
    ended: Vec<String>,
    ended_cursor: MessageCursor<SessionEnded>,
}

impl TestClient {
    fn new(name: &str, net: &MemoryNet) -> Self {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .insert_resource(TimeUpdateStrategy::ManualDuration(STEP))
            .insert_resource(net.clone())
            .add_plugins(crate::plugins::client_logic);
        Self {
            app,
            name: name.into(),
            ended: Vec::new(),
            ended_cursor: MessageCursor::default(),
        }
    }

    fn update(&mut self) {
        self.app.update();
        let messages = self.app.world().resource::<Messages<SessionEnded>>();
        for e in self.ended_cursor.read(messages) {
            self.ended.push(e.to_string());
        }
    }

    pub fn state(&self) -> ClientState {
        *self.app.world().resource::<State<ClientState>>().get()
    }

    /// In a room (welcomed).
    pub fn joined(&self) -> bool {
        self.roster().me.is_some()
    }

    pub fn roster(&self) -> &Roster {
        self.app.world().resource::<Roster>()
    }

    pub fn resource<R: Resource>(&self) -> &R {
        self.app.world().resource::<R>()
    }

    /// Sends `msg` to the server, as the client's plugins do.
    pub fn send<T: Send + Sync + 'static>(&mut self, msg: T) {
        self.app.world_mut().write_message(ToServer(msg));
    }

    pub fn write<M: Message>(&mut self, msg: M) {
        self.app.world_mut().write_message(msg);
    }

    pub fn say(&mut self, text: &str) {
        self.send(chat::ChatToServer::Say(text.into()));
    }

    pub fn leave(&mut self) {
        self.write(LeaveRequested);
    }

    /// Chat lines as "name: text", in the order shown.
    pub fn lines(&self) -> Vec<String> {
        self.resource::<ChatLog>()
            .entries
            .iter()
            .filter_map(|e| match e {
                ChatEntry::Line { name, text, .. } => Some(format!("{name}: {text}")),
                _ => None,
            })
            .collect()
    }

    /// Notices and refusals, in the order shown.
    pub fn notices(&self) -> Vec<String> {
        self.resource::<ChatLog>()
            .entries
            .iter()
            .filter_map(|e| match e {
                ChatEntry::Notice(t) | ChatEntry::Refused(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    /// Why each session ended, in words.
    pub fn ended(&self) -> &[String] {
        &self.ended
    }

    /// Keeps every `T` the server sends this client from now on (see [`TestClient::received`]).
    pub fn record<T: Clone + Send + Sync + 'static>(&mut self) {
        self.app
            .insert_resource(Received::<T>(Vec::new()))
            .add_systems(PreUpdate, keep_received::<T>.after(net::NetSystems::Receive));
    }

    /// Every `T` received since [`TestClient::record`], in order.
    pub fn received<T: Clone + Send + Sync + 'static>(&self) -> &[T] {
        &self.resource::<Received<T>>().0
    }
}

#[derive(Resource)]
struct Received<T>(Vec<T>);

fn keep_received<T: Clone + Send + Sync + 'static>(
    mut from: MessageReader<net::FromServer<T>>,
    mut kept: ResMut<Received<T>>,
) {
    kept.0.extend(from.read().map(|m| m.0.clone()));
}
