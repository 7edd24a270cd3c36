//! What travels on the wire: the top-level messages each side sends, the handshake, and the
//! reasons a connection ends. Each plugin owns the payload types of its own domain
//! (`chat::ChatToServer`, `rooms::RoomUpdate`, ...); this module only composes them.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::names::NameError;
use crate::plugins::canvas::{CanvasToClient, CanvasToServer};
use crate::plugins::chat::{ChatToClient, ChatToServer};
use crate::plugins::quiz::{QuizToClient, QuizToServer};
use crate::plugins::rooms::{RoomUpdate, Welcome};

/// Bumped whenever the wire format changes; a mismatch is refused at the handshake.
pub const PROTOCOL_VERSION: u16 = 2;

/// The server's handle for one connection; stable for the connection's lifetime.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u32);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The first message a client sends. `version` must stay the first field of the first variant
/// so that a server can read it from any future client and say what went wrong.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub version: u16,
    pub name: String,
    /// The room to join or create; `None` joins the server's default room.
    pub room: Option<String>,
    /// Proves that this client is the window of the process hosting the server.
    pub host_token: Option<[u8; 16]>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum ClientMsg {
    Hello(Hello),
    Ping,
    /// Leaving on purpose (so the others see "left", not "lost connection").
    Leave,
    Chat(ChatToServer),
    Canvas(CanvasToServer),
    Quiz(QuizToServer),
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum ServerMsg {
    Welcome(Welcome),
    /// The last message before the server closes the connection.
    Closing(CloseReason),
    Ping,
    Room(RoomUpdate),
    Chat(ChatToClient),
    Canvas(CanvasToClient),
    Quiz(QuizToClient),
}

/// Why the server refused a handshake.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Error)]
pub enum Rejection {
    #[error("version mismatch: the server speaks protocol {server}, this game speaks {client}")]
    VersionMismatch { server: u16, client: u16 },
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
    #[error("the server is full")]
    ServerFull,
}

/// Why the server is closing a connection; sent in `ServerMsg::Closing`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Error)]
pub enum CloseReason {
    #[error("{0}")]
    Rejected(Rejection),
    #[error("the server was stopped")]
    ServerShutdown,
    #[error("no message for too long (timed out)")]
    TimedOut,
    #[error("not reading fast enough (send queue full)")]
    TooSlow,
    #[error("sending too many messages")]
    Flooding,
    #[error("protocol violation: {0}")]
    ProtocolViolation(String),
    #[error("kicked: {0}")]
    Kicked(String),
}

/// Why a player left a room, as told to the others.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum LeaveReason {
    Left,
    ConnectionLost,
    TimedOut,
    Kicked(String),
    ServerStopped,
}

impl fmt::Display for LeaveReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeaveReason::Left => f.write_str("left"),
            LeaveReason::ConnectionLost => f.write_str("lost connection"),
            LeaveReason::TimedOut => f.write_str("timed out"),
            LeaveReason::Kicked(why) => write!(f, "was disconnected: {why}"),
            LeaveReason::ServerStopped => f.write_str("server stopped"),
        }
    }
}

impl From<&CloseReason> for LeaveReason {
    fn from(reason: &CloseReason) -> Self {
        match reason {
            CloseReason::ServerShutdown => LeaveReason::ServerStopped,
            CloseReason::TimedOut => LeaveReason::TimedOut,
            other => LeaveReason::Kicked(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    #[test]
    fn hello_version_is_readable_as_a_prefix() {
        let hello = ClientMsg::Hello(Hello {
            version: 9,
            name: "x".into(),
            room: None,
            host_token: None,
        });
        let bytes = codec::encode(&hello).unwrap();
        let ((tag, version), _) = codec::decode_prefix::<(u32, u16)>(&bytes).unwrap();
        assert_eq!((tag, version), (0, 9));
    }

    #[test]
    fn messages_round_trip() {
        let msgs = [
            ServerMsg::Ping,
            ServerMsg::Closing(CloseReason::Rejected(Rejection::NameTaken("철수".into()))),
            ServerMsg::Chat(ChatToClient::Refused("too fast".into())),
        ];
        for msg in msgs {
            let bytes = codec::encode(&msg).unwrap();
            assert_eq!(codec::decode::<ServerMsg>(&bytes).unwrap(), msg);
        }
    }
}
