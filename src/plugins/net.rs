//! The network plugin: the only part of the game that knows tokio, sockets, WebSockets, HTTP,
//! framing and connection states, and it names no game type. A tokio runtime runs the sockets
//! on its own threads; crossbeam channels bridge it to Bevy. The server's one port takes the
//! game's own clients, browsers' WebSockets and requests for the page (`web`).
//!
//! Each plugin registers the types it sends ([`NetApp::add_client_message`] for what clients
//! send, [`NetApp::add_server_message`] for what the server sends); the layer tags them in
//! registration order. Bytes become typed messages in `PreUpdate` ([`FromClient<T>`],
//! [`FromServer<T>`]) and typed messages become bytes in `PostUpdate` ([`ToClients<T>`],
//! [`ToServer<T>`]), in registration order.

#[cfg(not(target_arch = "wasm32"))]
pub mod admin;
#[cfg(feature = "agones")]
pub mod agones;
mod client;
mod connector;
mod frames;
#[cfg(not(target_arch = "wasm32"))]
mod listener;
#[cfg(test)]
pub(crate) mod memory;
#[cfg(not(target_arch = "wasm32"))]
mod open_files;
mod per_address;
#[cfg(not(target_arch = "wasm32"))]
mod server;
#[cfg(not(target_arch = "wasm32"))]
pub mod web;
pub mod wire;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;

use bevy::prelude::*;

pub use client::{ClientNetConfig, NetClient, NetStats, NetWaker, with_default_port};
pub use connector::ConnectionError;
pub use frames::{DRAIN_TIMEOUT, NetConfig, frame_codec};
pub use per_address::{AddressLimits, address_key};
#[cfg(not(target_arch = "wasm32"))]
pub use server::{
    IDLE_WAKE, Listen, MIN_UPDATE_GAP, NetServer, ServerError, ShutdownSignal, reachable_addresses,
    server_runner,
};
pub use wire::{CloseReason, LeaveReason, PROTOCOL_VERSION, Refusal, Violation, WireMessage};

// A browser is only ever a client: of the server's messages it needs the delivering hook.
use crate::id::ClientId;
#[cfg(target_arch = "wasm32")]
use client::{ToClientHooks, to_client_hooks};
#[cfg(not(target_arch = "wasm32"))]
use server::{ToClientHooks, to_client_hooks};
use wire::Registered;

/// Figures a server reports to whatever runs it (Agones Counters, with the `agones` feature),
/// by name: (count, capacity). Each plugin sets its own; the network layer passes them on.
#[derive(Resource, Default, Debug, Clone, PartialEq, Eq)]
pub struct OrchestratorCounts {
    pub counters: std::collections::BTreeMap<&'static str, (i64, i64)>,
}

impl OrchestratorCounts {
    pub fn set(&mut self, name: &'static str, count: i64, capacity: i64) {
        self.counters.insert(name, (count, capacity));
    }
}

/// Removes from a server app the messages only a player's connection uses (each wire type's
/// `ToServer` and `FromServer`, and the connection's own), once their systems are gone (see
/// [`ClientNetSystems`]): Bevy goes over every kind of message at each of its message updates.
#[cfg(not(target_arch = "wasm32"))]
pub fn drop_client_messages(world: &mut World) {
    let registry = world.resource::<WireRegistry>();
    let drops: Vec<fn(&mut World)> = (registry.to_server.iter().map(|r| r.hook.drop_client_side))
        .chain(registry.to_client.iter().map(|r| r.hook.drop_client_side))
        .collect();
    for drop in drops {
        drop(world);
    }
    bevy::ecs::message::MessageRegistry::deregister_messages::<ConnectRequested>(world);
    bevy::ecs::message::MessageRegistry::deregister_messages::<ConnectionReady>(world);
    bevy::ecs::message::MessageRegistry::deregister_messages::<LeaveRequested>(world);
    bevy::ecs::message::MessageRegistry::deregister_messages::<ConnectionEnded>(world);
}

pub fn plugin(app: &mut App) {
    app.init_state::<ClientState>()
        .init_resource::<WireRegistry>()
        .init_resource::<OrchestratorCounts>()
        .init_resource::<ServerWake>()
        .add_message::<ClientConnected>()
        .add_message::<ClientDisconnected>()
        .add_message::<DisconnectClient>()
        .add_message::<RebindClient>()
        .add_message::<ConnectRequested>()
        .add_message::<ConnectionReady>()
        .add_message::<LeaveRequested>()
        .add_message::<ConnectionEnded>()
        .configure_sets(PreUpdate, NetSystems::Receive)
        .configure_sets(PostUpdate, NetSystems::Send)
        .add_plugins(client::plugin);
    #[cfg(not(target_arch = "wasm32"))]
    app.add_plugins(server::plugin);
}

/// Present while the server drains before it stops: it accepts nobody new, and each plugin
/// winds down what it runs (a game ends after its turn in progress); the connections still
/// open when the time is up, or once a second stop is asked for, are closed with `reason`.
/// A connection closed for the drain should be closed with `reason` too.
#[derive(Resource, Debug, Clone)]
pub struct Draining {
    /// When the time is up, on the `Time<Real>` clock.
    pub until: Duration,
    /// Why the connections are closed: a dedicated server restarts (its service manager starts
    /// it again), a hosted one stops.
    pub reason: CloseReason,
}

impl Draining {
    pub fn time_left(&self, now: Duration) -> Duration {
        self.until.saturating_sub(now)
    }
}

/// When the server's loop must run next even if nothing arrives (a turn's end, a hint, a join
/// deadline), on the `Time<Real>` clock. Plugins ask with [`ServerWake::at`] during an update;
/// the loop takes the earliest after it.
#[derive(Resource, Debug, Default)]
pub struct ServerWake {
    next: Option<Duration>,
}

impl ServerWake {
    pub fn at(&mut self, when: Duration) {
        self.next = Some(self.next.map_or(when, |next| next.min(when)));
    }
}

/// Registering the plugins' wire types.
pub trait NetApp {
    /// A type clients send to the server: it arrives as [`FromClient<T>`], and a client
    /// sends it by writing [`ToServer<T>`].
    fn add_client_message<T: WireMessage>(&mut self) -> &mut Self;
    /// A type the server sends to clients: written as [`ToClients<T>`], it arrives as
    /// [`FromServer<T>`].
    fn add_server_message<T: WireMessage>(&mut self) -> &mut Self;
}

impl NetApp for App {
    fn add_client_message<T: WireMessage>(&mut self) -> &mut Self {
        self.add_message::<FromClient<T>>().add_message::<ToServer<T>>();
        let mut registry = self.world_mut().get_resource_or_init::<WireRegistry>();
        registry
            .to_server
            .push(Registered::new::<T>(client::to_server_hooks::<T>()));
        self
    }

    fn add_server_message<T: WireMessage>(&mut self) -> &mut Self {
        self.add_message::<ToClients<T>>().add_message::<FromServer<T>>();
        let mut registry = self.world_mut().get_resource_or_init::<WireRegistry>();
        registry
            .to_client
            .push(Registered::new::<T>(to_client_hooks::<T>()));
        self
    }
}

/// Every registered wire type, in tag order, for each direction.
#[derive(Resource, Default)]
pub struct WireRegistry {
    pub(crate) to_server: Vec<Registered<client::ToServerHooks>>,
    pub(crate) to_client: Vec<Registered<ToClientHooks>>,
}

impl WireRegistry {
    /// What the handshake compares: every type's direction, name and version, in order.
    pub fn fingerprint(&self) -> u64 {
        wire::fingerprint(self.types().into_iter())
    }

    /// The tag `T` travels under (for tools and tests that speak the protocol by hand).
    pub fn tag_of<T: WireMessage>(&self) -> Option<u32> {
        let to_server = self.to_server.iter().position(|r| r.name == T::NAME);
        let index = to_server.or_else(|| self.to_client.iter().position(|r| r.name == T::NAME))?;
        Some(wire::FIRST_TAG + index as u32)
    }

    /// Encodes `msg` as it travels (its tag included), for [`ToClients::encoded`]; `None` for a
    /// type not registered here or a message over the frame cap.
    pub fn encode<T: WireMessage>(&self, msg: &T) -> Option<Encoded<T>> {
        let tag = self.tag_of::<T>()?;
        wire::encode_tagged(tag, msg).ok().map(|bytes| Encoded {
            bytes,
            _type: std::marker::PhantomData,
        })
    }

    /// Decodes frames as the server reads what clients send (for tools and the fuzzer, which
    /// run the receive path without an app).
    pub fn client_frames(&self) -> ClientFrames {
        ClientFrames(self.to_server.iter().map(|r| r.decode).collect())
    }

    /// Each registered type as (direction, name, version): 'c' sent by clients, 's' by the server.
    pub fn types(&self) -> Vec<(char, &'static str, u16)> {
        let to_server = self.to_server.iter().map(|r| ('c', r.name, r.version));
        let to_client = self.to_client.iter().map(|r| ('s', r.name, r.version));
        to_server.chain(to_client).collect()
    }
}

/// The server's decoder of client frames, apart from any app (see [`WireRegistry::client_frames`]).
pub struct ClientFrames(Vec<wire::Decoder>);

impl ClientFrames {
    /// One frame's payload as the server decodes it: a control frame (`Ok(None)`), a message of
    /// a registered type (`Ok(Some(tag))`), or the violation it is closed for.
    pub fn decode(&self, frame: &[u8]) -> Result<Option<u32>, Violation> {
        match wire::decode_frame::<wire::ClientControl>(frame, &self.0)? {
            wire::Frame::Control(_) => Ok(None),
            wire::Frame::Message { tag, .. } => Ok(Some(tag)),
        }
    }
}

#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum NetSystems {
    Receive,
    Send,
}

/// The network's systems of a player's connection (in [`NetSystems`] too): a server app,
/// which never connects to a server, removes them from its schedules.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientNetSystems;

/// This app's connection to a server; changed only by the network plugin.
#[derive(States, Default, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    #[default]
    Disconnected,
    /// Connecting, or waiting for the server to accept the handshake.
    Connecting,
    Connected,
}

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

/// A message for clients; encoded once and the bytes shared by every recipient.
#[derive(Message, Debug, Clone)]
pub struct ToClients<T: Send + Sync + 'static> {
    pub to: Recipients,
    pub msg: T,
    /// `msg` encoded already (see [`ToClients::encoded`]).
    encoded: Option<Encoded<T>>,
}

impl<T: Send + Sync + 'static> ToClients<T> {
    pub fn new(to: Recipients, msg: T) -> Self {
        Self {
            to,
            msg,
            encoded: None,
        }
    }

    pub fn one(client: ClientId, msg: T) -> Self {
        Self::new(Recipients::One(client), msg)
    }

    pub fn many(clients: Vec<ClientId>, msg: T) -> Self {
        Self::new(Recipients::Many(clients), msg)
    }

    /// `msg` with its encoding made earlier ([`WireRegistry::encode`]): the bytes are sent as
    /// they are, so a message sent often (a picture for each joiner) is encoded once.
    pub fn encoded(to: Recipients, msg: T, encoded: Encoded<T>) -> Self {
        Self {
            to,
            msg,
            encoded: Some(encoded),
        }
    }

    /// The encoding made earlier, if the message carries one.
    pub fn encoding(&self) -> Option<&Encoded<T>> {
        self.encoded.as_ref()
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn into_parts(self) -> (Recipients, T, Option<Bytes>) {
        (self.to, self.msg, self.encoded.map(|e| e.bytes))
    }
}

/// A message encoded for the wire (its tag included), to send again without encoding it again.
#[derive(Debug)]
pub struct Encoded<T> {
    bytes: Bytes,
    _type: std::marker::PhantomData<fn() -> T>,
}

impl<T> Clone for Encoded<T> {
    fn clone(&self) -> Self {
        Self {
            bytes: self.bytes.clone(),
            _type: std::marker::PhantomData,
        }
    }
}

impl<T> Encoded<T> {
    /// The payload as it travels (tag and message; the frame header is added when sent).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Its size on the wire, header excluded.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// A message from the server, decoded and typed.
#[derive(Message, Debug, Clone)]
pub struct FromServer<T: Send + Sync + 'static>(pub T);

/// A message for the server.
#[derive(Message, Debug, Clone)]
pub struct ToServer<T: Send + Sync + 'static>(pub T);

/// A connection passed the handshake (protocol version and registered messages match).
#[derive(Message, Debug, Clone)]
pub struct ClientConnected {
    pub client: ClientId,
    pub addr: SocketAddr,
}

/// A connection ended, for whatever reason.
#[derive(Message, Debug, Clone)]
pub struct ClientDisconnected {
    pub client: ClientId,
    pub reason: LeaveReason,
}

/// Asks the network plugin to close a connection, telling the peer why. Messages written
/// for it earlier in the frame are sent first.
#[derive(Message, Debug, Clone)]
pub struct DisconnectClient {
    pub client: ClientId,
    pub reason: CloseReason,
}

/// Asks the network plugin to let the connection `connection` speak as `as_client` from now on
/// (a session resumed on a new connection): its messages arrive from `as_client`, messages for
/// `as_client` go to it, and its end is reported as `as_client`'s. Ignored while `as_client`
/// still has a connection of its own. Applied before this update's messages are sent.
#[derive(Message, Debug, Clone)]
pub struct RebindClient {
    pub connection: ClientId,
    pub as_client: ClientId,
}

/// Asks the network plugin to connect to a server.
#[derive(Message, Debug, Clone)]
pub struct ConnectRequested {
    pub addr: String,
}

/// The server accepted this client's handshake: the plugins may talk.
#[derive(Message, Debug, Clone, Default)]
pub struct ConnectionReady;

/// Asks the network plugin to leave the server.
#[derive(Message, Debug, Clone, Default)]
pub struct LeaveRequested;

/// This client's connection failed or ended.
#[derive(Message, Debug, Clone)]
pub struct ConnectionEnded(pub ConnectionError);
