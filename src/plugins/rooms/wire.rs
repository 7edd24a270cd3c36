//! What the rooms plugin puts on the wire: the handshake's body, the welcome, refusals and
//! the room's comings and goings.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::id::ClientId;
use crate::names::NameError;
use crate::plugins::net::{LeaveReason, NetApp, WireMessage};

pub(super) fn plugin(app: &mut bevy::prelude::App) {
    app.add_client_message::<JoinRequest>()
        .add_server_message::<Welcome>()
        .add_server_message::<Rejection>()
        .add_server_message::<RoomUpdate>();
}

/// The first message a client sends once the network handshake is through.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct JoinRequest {
    pub name: String,
    /// The room to join or create; `None` joins the server's default room.
    pub room: Option<String>,
    /// Proves that this client is the window of the process hosting the server.
    pub host_token: Option<[u8; 16]>,
}

/// One participant as shown to others; `addr` only reaches the hosting operator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PlayerInfo {
    pub id: ClientId,
    pub name: String,
    pub addr: Option<String>,
}

/// The server's answer to an accepted join.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Welcome {
    pub you: ClientId,
    pub room: String,
    pub capacity: u16,
    pub players: Vec<PlayerInfo>,
    pub host: Option<ClientId>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RoomUpdate {
    Joined(PlayerInfo),
    Left { id: ClientId, reason: LeaveReason },
    HostChanged(ClientId),
}

/// Why the server refused a join; sent just before it closes the connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Error)]
pub enum Rejection {
    #[error("invalid name: {0}")]
    InvalidName(NameError),
    #[error("the name \"{0}\" is already taken in this room")]
    NameTaken(String),
    #[error("invalid room name: {0}")]
    InvalidRoomName(NameError),
    #[error("the room \"{room}\" is full ({capacity} players)")]
    RoomFull { room: String, capacity: u16 },
    #[error("the server has no room for a new room (at most {max} rooms)")]
    TooManyRooms { max: u16 },
    #[error("your address has made {max} rooms already; join one of them or wait until one closes")]
    TooManyRoomsFromAddress { max: u16 },
}

impl WireMessage for JoinRequest {
    const NAME: &'static str = "rooms.join";
    const VERSION: u16 = 1;
}

impl WireMessage for Welcome {
    const NAME: &'static str = "rooms.welcome";
    const VERSION: u16 = 1;
}

impl WireMessage for Rejection {
    const NAME: &'static str = "rooms.rejection";
    /// 2: names that show nothing but marks (`NameError::NothingVisible`); 3: rooms per address.
    const VERSION: u16 = 3;
}

impl WireMessage for RoomUpdate {
    const NAME: &'static str = "rooms.update";
    const VERSION: u16 = 1;
}
