//! What the rooms plugin puts on the wire: the handshake's body, the welcome, refusals and
//! the room's comings and goings.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::rules::RoleRefusal;
use crate::id::ClientId;
use crate::names::NameError;
use crate::plugins::net::{LeaveReason, NetApp, WireMessage};

pub(super) fn plugin(app: &mut bevy::prelude::App) {
    app.add_client_message::<JoinRequest>()
        .add_client_message::<ModerationRequest>()
        .add_server_message::<Welcome>()
        .add_server_message::<Rejection>()
        .add_server_message::<RoomUpdate>()
        .add_server_message::<ModerationRefusal>()
        .add_client_message::<ListRooms>()
        .add_server_message::<RoomList>()
        .add_client_message::<RoleRequest>()
        .add_server_message::<RoleReply>();
}

/// Asks for the server's rooms, from a connection that joined none (a browse-only one, which
/// may join a room later). The server answers at most once a second per connection, and only
/// when the list changed since its last answer to that connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ListRooms;

/// The server's rooms, for a browsing connection: the default room first, then the fullest.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoomList {
    /// At most [`MAX_LISTED`] rooms.
    pub rooms: Vec<RoomListing>,
    /// How many rooms there are in all (more than listed on a crowded server).
    pub total: u32,
    /// How many rooms the server allows besides the default one.
    pub max_rooms: u16,
}

/// The most rooms one list names (about 60 bytes each), so an answer stays small.
pub const MAX_LISTED: usize = 100;

/// One room as the room list shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoomListing {
    pub name: String,
    /// Players (spectators aside), those whose seat is held included.
    pub players: u16,
    pub capacity: u16,
    pub spectators: u16,
    pub spectator_capacity: u16,
    /// A game is running (otherwise the room draws freely).
    pub playing: bool,
    /// The language of the words its games use (`ko`, `en`, or `custom` for the server's or
    /// the room's own list), once it played a game.
    pub language: Option<String>,
}

/// The first message a client sends once the network handshake is through.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct JoinRequest {
    pub name: String,
    /// The room to join or create; `None` joins the server's default room.
    pub room: Option<String>,
    /// Proves that this client is the window of the process hosting the server.
    pub host_token: Option<[u8; 16]>,
    /// The session token of a seat this client held and lost with its connection: asks for the
    /// seat back (the name is then the seat's).
    pub resume: Option<SessionToken>,
    /// Join as a spectator: watch the board, the chat and the scores without playing.
    pub spectate: bool,
}

impl JoinRequest {
    /// A join as `name` to play in `room` (the server's default room for `None`).
    pub fn new(name: &str, room: Option<&str>) -> Self {
        Self {
            name: name.into(),
            room: room.map(Into::into),
            host_token: None,
            resume: None,
            spectate: false,
        }
    }
}

/// A member asks to watch (`spectate`) or to play; during a turn the change waits for its end.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RoleRequest {
    pub spectate: bool,
}

/// The answer to a [`RoleRequest`], to its sender only (a change made is told to the whole
/// room as [`RoomUpdate::Role`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RoleReply {
    /// The change waits for the end of the turn.
    Waiting {
        spectate: bool,
    },
    /// A change that waited was cancelled by asking back.
    Cancelled,
    Refused(RoleRefusal),
}

/// A secret the welcome hands each player: presented after a dropped connection, it gives the
/// seat back. A new one comes with every welcome.
pub type SessionToken = [u8; 16];

/// One participant as shown to others; `addr` only reaches the hosting operator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PlayerInfo {
    pub id: ClientId,
    pub name: String,
    pub addr: Option<String>,
    /// Their connection dropped and their seat is held for them.
    pub away: bool,
    /// Watches without playing.
    pub spectator: bool,
}

/// The server's answer to an accepted join.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Welcome {
    pub you: ClientId,
    pub room: String,
    pub capacity: u16,
    pub players: Vec<PlayerInfo>,
    pub host: Option<ClientId>,
    /// Presented after a dropped connection to get this seat back (see [`JoinRequest::resume`]).
    pub session: SessionToken,
    /// This welcome gave back a held seat: the player keeps their score and turn.
    pub resumed: bool,
    /// How long a seat is held after a connection drops.
    pub seat_hold_secs: u16,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RoomUpdate {
    Joined(PlayerInfo),
    Left {
        id: ClientId,
        name: String,
        reason: LeaveReason,
    },
    HostChanged(ClientId),
    /// Their connection dropped; their seat is held for them.
    Away(ClientId),
    /// They came back to their held seat.
    Back(ClientId),
    /// They now watch (`spectator`) or play.
    Role {
        id: ClientId,
        spectator: bool,
    },
    /// They were removed from the room (and are gone from it).
    Kicked {
        id: ClientId,
        name: String,
        by: KickedBy,
    },
    /// A member voted to kick another.
    KickVote {
        target: ClientId,
        voter: ClientId,
        votes: u16,
        needed: u16,
    },
    /// The server is stopping (`restart`: a dedicated server its service manager starts again;
    /// otherwise the host closed the game). With `last_turn_secs`, the turn in progress is the
    /// room's last and the room closes when it ends, within that many seconds; without, the
    /// room closes now.
    ServerClosing {
        restart: bool,
        last_turn_secs: Option<u16>,
    },
}

/// Who removed a player.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum KickedBy {
    /// The room's host, with the reason they gave.
    Host { name: String, reason: KickReason },
    /// The others, by a majority vote.
    Vote { votes: u16, of: u16 },
}

impl std::fmt::Display for KickedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KickedBy::Host {
                name,
                reason: KickReason::Unspecified,
            } => write!(f, "by the host, {name}"),
            KickedBy::Host { name, reason } => write!(f, "by the host, {name}, for {reason}"),
            KickedBy::Vote { votes, of } => write!(f, "by a vote of the room ({votes} of {of} needed)"),
        }
    }
}

/// The reasons a host picks from (a closed list: nothing for a troll host to write in).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum KickReason {
    #[error("no reason given")]
    Unspecified,
    #[error("spamming")]
    Spamming,
    #[error("being offensive")]
    Offensive,
    #[error("cheating")]
    Cheating,
    #[error("being away")]
    Away,
}

impl KickReason {
    pub const ALL: [KickReason; 5] = [
        KickReason::Unspecified,
        KickReason::Spamming,
        KickReason::Offensive,
        KickReason::Cheating,
        KickReason::Away,
    ];
}

/// Asking to remove a player from the room.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ModerationRequest {
    /// The host removes a player.
    Kick { target: ClientId, reason: KickReason },
    /// A member votes to remove a player.
    VoteKick { target: ClientId },
}

/// Why a moderation request was refused (told only to its sender).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum ModerationRefusal {
    #[error("only the room's host can kick; the others can vote to kick")]
    NotHost,
    #[error("you cannot kick yourself (leave instead)")]
    NotYourself,
    #[error("the server's own host cannot be kicked from a room")]
    Operator,
    #[error("that player is not in this room")]
    NoSuchPlayer,
    #[error("you already voted to kick that player")]
    AlreadyVoted,
    #[error("spectators do not vote to kick (the host can kick)")]
    Spectator,
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
    #[error("the room \"{room}\" has no place for another spectator (at most {capacity})")]
    SpectatorsFull { room: String, capacity: u16 },
    #[error("the server has no room for a new room (at most {max} rooms)")]
    TooManyRooms { max: u16 },
    #[error("your address has made {max} rooms already; join one of them or wait until one closes")]
    TooManyRoomsFromAddress { max: u16 },
    #[error("this server holds no seat for you (it never gave out that session)")]
    UnknownSession,
    #[error("your seat was given up: seats are held {secs} s after a connection drops")]
    SeatExpired { secs: u16 },
    #[error("that session was already resumed on another connection")]
    SessionUsed,
    #[error("your seat is still in use: the server has not yet seen your old connection drop")]
    SeatInUse,
    #[error("your seat is in the room \"{room}\", not this one")]
    SeatElsewhere { room: String },
    /// Sent to a kicked player just before their connection closes.
    #[error("you were kicked from the room {0}")]
    Kicked(KickedBy),
    #[error("that name was kicked from this room; it may come back in {minutes} min")]
    Banned { minutes: u16 },
    #[error("a player from your address was just kicked from this room; new names may join in {secs} s")]
    AddressWaiting { secs: u16 },
    #[error("that name has joined this room too often in the last minute; try again in a few seconds")]
    TooManyJoins,
    /// The name is a member's whose connection dropped: their seat (perhaps your own) is held
    /// for `secs` more seconds for them to come back.
    #[error("the name \"{name}\" belongs to a seat held {secs} s more for a dropped connection")]
    NameHeld { name: String, secs: u16 },
}

impl Rejection {
    /// Worth asking again soon (a resume racing the server's view of the old connection).
    pub fn is_transient(&self) -> bool {
        matches!(self, Rejection::SeatInUse)
    }
}

impl WireMessage for JoinRequest {
    const NAME: &'static str = "rooms.join";
    /// 2: `resume`; 3: `spectate`.
    const VERSION: u16 = 3;
}

impl WireMessage for Welcome {
    const NAME: &'static str = "rooms.welcome";
    /// 2: the session token, `resumed`, the seat hold, players' `away`; 3: players'
    /// `spectator`.
    const VERSION: u16 = 3;
}

impl WireMessage for RoleRequest {
    const NAME: &'static str = "rooms.role";
    const VERSION: u16 = 1;
}

impl WireMessage for RoleReply {
    const NAME: &'static str = "rooms.role_reply";
    const VERSION: u16 = 1;
}

impl WireMessage for Rejection {
    const NAME: &'static str = "rooms.rejection";
    /// 2: names that show nothing but marks (`NameError::NothingVisible`); 3: rooms per address;
    /// 4: resuming a seat; 5: kicks and bans; 6: joins per name; 7: `SpectatorsFull`; 8:
    /// `NameHeld`.
    const VERSION: u16 = 8;
}

impl WireMessage for RoomUpdate {
    const NAME: &'static str = "rooms.update";
    /// 2: `Away`, `Back`, players' `away`; 3: `Kicked`, `KickVote`; 4: `ServerClosing`; 5:
    /// `Role`, players' `spectator`; 6: `Left` names who left (the room alone tells arrivals
    /// and departures; chat no longer does).
    const VERSION: u16 = 6;
}

impl WireMessage for ListRooms {
    const NAME: &'static str = "rooms.list";
    const VERSION: u16 = 1;
}

impl WireMessage for RoomList {
    const NAME: &'static str = "rooms.room_list";
    /// 2: spectators.
    const VERSION: u16 = 2;
}

impl WireMessage for ModerationRequest {
    const NAME: &'static str = "rooms.moderation";
    const VERSION: u16 = 1;
}

impl WireMessage for ModerationRefusal {
    const NAME: &'static str = "rooms.moderation_refusal";
    /// 2: `Spectator`.
    const VERSION: u16 = 2;
}

impl crate::i18n::Describe for Rejection {
    fn describe(&self) -> String {
        use crate::t;
        match self {
            Rejection::InvalidName(e) => t!("err-rej-name", why = e.describe()),
            Rejection::NameTaken(name) => t!("err-rej-name-taken", name = name.clone()),
            Rejection::NameHeld { name, secs } => {
                t!("err-rej-name-held", name = name.clone(), secs = *secs as u64)
            }
            Rejection::InvalidRoomName(e) => t!("err-rej-room-name", why = e.describe()),
            Rejection::RoomFull { room, capacity } => {
                t!("err-rej-room-full", room = room.clone(), capacity = *capacity)
            }
            Rejection::SpectatorsFull { room, capacity } => {
                t!(
                    "err-rej-spectators-full",
                    room = room.clone(),
                    capacity = *capacity
                )
            }
            Rejection::TooManyRooms { max } => t!("err-rej-too-many-rooms", max = *max),
            Rejection::TooManyRoomsFromAddress { max } => t!("err-rej-rooms-from-address", max = *max),
            Rejection::UnknownSession => t!("err-rej-unknown-session"),
            Rejection::SeatExpired { secs } => t!("err-rej-seat-expired", secs = *secs),
            Rejection::SessionUsed => t!("err-rej-session-used"),
            Rejection::SeatInUse => t!("err-rej-seat-in-use"),
            Rejection::SeatElsewhere { room } => t!("err-rej-seat-elsewhere", room = room.clone()),
            Rejection::Kicked(by) => t!("err-rej-kicked", by = by.describe()),
            Rejection::Banned { minutes } => t!("err-rej-banned", minutes = *minutes),
            Rejection::AddressWaiting { secs } => t!("err-rej-address-waiting", secs = *secs),
            Rejection::TooManyJoins => t!("err-rej-too-many-joins"),
        }
    }
}

impl crate::i18n::Describe for KickedBy {
    fn describe(&self) -> String {
        match self {
            KickedBy::Host {
                name,
                reason: KickReason::Unspecified,
            } => crate::t!("kicked-by-host", name = name.clone()),
            KickedBy::Host { name, reason } => {
                crate::t!(
                    "kicked-by-host-for",
                    name = name.clone(),
                    reason = reason.describe()
                )
            }
            KickedBy::Vote { votes, of } => crate::t!("kicked-by-vote", votes = *votes, of = *of),
        }
    }
}

impl crate::i18n::Describe for KickReason {
    fn describe(&self) -> String {
        match self {
            KickReason::Unspecified => crate::t!("kick-reason-none"),
            KickReason::Spamming => crate::t!("kick-reason-spamming"),
            KickReason::Offensive => crate::t!("kick-reason-offensive"),
            KickReason::Cheating => crate::t!("kick-reason-cheating"),
            KickReason::Away => crate::t!("kick-reason-away"),
        }
    }
}

impl crate::i18n::Describe for ModerationRefusal {
    fn describe(&self) -> String {
        match self {
            ModerationRefusal::NotHost => crate::t!("err-mod-not-host"),
            ModerationRefusal::NotYourself => crate::t!("err-mod-yourself"),
            ModerationRefusal::Operator => crate::t!("err-mod-operator"),
            ModerationRefusal::NoSuchPlayer => crate::t!("err-mod-no-such-player"),
            ModerationRefusal::AlreadyVoted => crate::t!("err-mod-already-voted"),
            ModerationRefusal::Spectator => crate::t!("err-mod-spectator"),
        }
    }
}
