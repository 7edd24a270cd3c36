//! A server app with no sockets for the plugins' tests: messages from clients are written
//! straight into it, and what it would send is read back from its outgoing messages (the way
//! Bevy's `how_to_test_apps` drives an app). Time advances a fixed step per update.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bevy::ecs::message::MessageCursor;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy::time::TimeUpdateStrategy;

use crate::id::ClientId;
use crate::plugins::net::{ClientConnected, FromClient, ToClients};
use crate::plugins::rooms::{JoinRequest, Welcome};
use crate::plugins::{Side, canvas, chat, logic_sets, net, quiz, rooms};

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
        let client = ClientId(id);
        let addr: SocketAddr = ([127, 0, 0, 1], 40000 + id as u16).into();
        self.app
            .world_mut()
            .write_message(ClientConnected { client, addr });
        let join = JoinRequest {
            name: name.into(),
            room: room.map(Into::into),
            host_token: None,
            resume: None,
            spectate: false,
        };
        self.send(client, join);
        self.update();
        let welcomed = self.sent::<Welcome>().iter().any(|w| w.to_one() == Some(client));
        assert!(welcomed, "{name} was welcomed");
        client
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
