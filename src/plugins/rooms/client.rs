//! The rooms plugin on a client: asking to join once the connection is up, and the
//! [`Roster`] that mirrors the room this client is in.

use bevy::prelude::*;

use super::wire::{JoinRequest, PlayerInfo, Rejection, RoomUpdate, Welcome};
use crate::id::ClientId;
use crate::plugins::LogicSystems;
use crate::plugins::net::{
    ConnectRequested, ConnectionEnded, ConnectionError, ConnectionReady, FromServer, ToServer,
};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Roster>()
        .init_resource::<PendingJoin>()
        .add_message::<JoinServer>()
        .add_message::<SessionEnded>()
        .add_systems(
            PreUpdate,
            connect_to_join.before(crate::plugins::net::NetSystems::Receive),
        )
        .add_systems(
            Update,
            (send_join, track_roster, end_session)
                .chain()
                .in_set(LogicSystems::Rooms),
        );
}

/// Asks to connect to a server and join a room there.
#[derive(Message, Debug, Clone)]
pub struct JoinServer {
    pub addr: String,
    pub join: JoinRequest,
}

/// The join this client sends once the server accepts the connection.
#[derive(Resource, Default)]
struct PendingJoin(Option<JoinRequest>);

/// This client's time on the server ended (or never began), in words for the player.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct SessionEnded {
    pub error: ConnectionError,
    /// The room's reason for turning this player away, if it did.
    pub rejection: Option<Rejection>,
}

impl SessionEnded {
    /// It ended before the player got into a room.
    pub fn is_join_failure(&self) -> bool {
        self.rejection.is_some() || self.error.is_connect_failure()
    }
}

impl std::fmt::Display for SessionEnded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rejection {
            Some(why) => write!(f, "the server refused to let you in: {why}"),
            None => self.error.fmt(f),
        }
    }
}

/// The room this client is in, as the server last described it.
#[derive(Resource, Default, Debug, Clone)]
pub struct Roster {
    pub me: Option<ClientId>,
    pub room: String,
    pub capacity: u16,
    pub players: Vec<PlayerInfo>,
    pub host: Option<ClientId>,
    /// Why the server turned this client away, until the connection ends.
    rejection: Option<Rejection>,
}

impl Roster {
    pub fn name_of(&self, id: ClientId) -> Option<&str> {
        self.players.iter().find(|p| p.id == id).map(|p| p.name.as_str())
    }

    /// The player's name, or "someone" for a player no longer (or not yet) in the room.
    pub fn display_name(&self, id: ClientId) -> &str {
        self.name_of(id).unwrap_or("someone")
    }
}

fn connect_to_join(
    mut requests: MessageReader<JoinServer>,
    mut pending: ResMut<PendingJoin>,
    mut connect: MessageWriter<ConnectRequested>,
) {
    if let Some(JoinServer { addr, join }) = requests.read().last() {
        pending.0 = Some(join.clone());
        connect.write(ConnectRequested { addr: addr.clone() });
    }
}

fn send_join(
    mut ready: MessageReader<ConnectionReady>,
    mut pending: ResMut<PendingJoin>,
    mut out: MessageWriter<ToServer<JoinRequest>>,
) {
    if ready.read().last().is_some()
        && let Some(join) = pending.0.take()
    {
        out.write(ToServer(join));
    }
}

fn track_roster(
    mut roster: ResMut<Roster>,
    mut welcomes: MessageReader<FromServer<Welcome>>,
    mut rejections: MessageReader<FromServer<Rejection>>,
    mut updates: MessageReader<FromServer<RoomUpdate>>,
) {
    for FromServer(welcome) in welcomes.read() {
        *roster = Roster {
            me: Some(welcome.you),
            room: welcome.room.clone(),
            capacity: welcome.capacity,
            players: welcome.players.clone(),
            host: welcome.host,
            rejection: None,
        };
    }
    if let Some(FromServer(why)) = rejections.read().last() {
        roster.rejection = Some(why.clone());
    }
    for FromServer(update) in updates.read() {
        match update {
            RoomUpdate::Joined(player) => {
                roster.players.retain(|p| p.id != player.id);
                // Never more than the room holds, whatever a server sends.
                if roster.players.len() < roster.capacity as usize {
                    roster.players.push(player.clone());
                }
            }
            RoomUpdate::Left { id, .. } => roster.players.retain(|p| p.id != *id),
            RoomUpdate::HostChanged(id) => roster.host = Some(*id),
        }
    }
}

fn end_session(
    mut roster: ResMut<Roster>,
    mut ended: MessageReader<ConnectionEnded>,
    mut out: MessageWriter<SessionEnded>,
) {
    for ConnectionEnded(error) in ended.read() {
        roster.me = None;
        out.write(SessionEnded {
            error: error.clone(),
            rejection: roster.rejection.take(),
        });
    }
}
