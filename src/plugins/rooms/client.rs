//! The rooms plugin on a client: asking to join once the connection is up, and the
//! [`Roster`] that mirrors the room this client is in.

use bevy::prelude::*;

use std::time::Duration;

use super::rules::LOBBY;
use super::wire::{
    JoinRequest, ListRooms, PlayerInfo, Rejection, RoleReply, RoomList, RoomUpdate, SessionToken, Welcome,
};
use crate::id::ClientId;
use crate::names::name_key;
use crate::plugins::net::{
    ClientState, CloseReason, ConnectRequested, ConnectionEnded, ConnectionError, ConnectionReady,
    FromServer, LeaveRequested, Refusal, ToServer,
};
use crate::plugins::{LogicSystems, Side};

mod seat;
pub use seat::{Attempts, CancelReconnect, Reconnecting, Rejoin, backoff};
use seat::{cancel_reconnect, end_session, rejoin, retry_join};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Roster>()
        .init_resource::<PendingJoin>()
        .init_resource::<Seat>()
        .init_resource::<Reconnecting>()
        .init_resource::<Browsing>()
        .add_message::<JoinServer>()
        .add_message::<BrowseServer>()
        .add_message::<StopBrowsing>()
        .add_message::<SessionEnded>()
        .add_message::<CancelReconnect>()
        .add_message::<Rejoin>()
        .add_message::<NewSession>()
        .add_systems(
            PreUpdate,
            (connect_to_browse, connect_to_join)
                .chain()
                .before(crate::plugins::net::NetSystems::Receive)
                .in_set(Side::Client),
        )
        .add_systems(
            Update,
            (
                send_join,
                browse,
                track_roster,
                end_session,
                retry_join,
                cancel_reconnect,
                rejoin,
                forget_room_on_leave,
            )
                .chain()
                .in_set(LogicSystems::Rooms)
                .in_set(Side::Client),
        );
}

/// Asks to connect to a server and join a room there.
#[derive(Message, Debug, Clone)]
pub struct JoinServer {
    pub addr: String,
    pub join: JoinRequest,
}

/// Asks to connect to a server to list its rooms (without joining one).
#[derive(Message, Debug, Clone)]
pub struct BrowseServer {
    pub addr: String,
}

/// The room list was closed: its connection is closed too.
#[derive(Message, Debug, Clone, Default)]
pub struct StopBrowsing;

/// While set, this client holds a browse-only connection to `addr` and asks for its rooms
/// every [`BROWSE_EVERY`].
#[derive(Resource, Default, Debug)]
pub struct Browsing(pub Option<RoomBrowser>);

#[derive(Debug, Clone)]
pub struct RoomBrowser {
    pub addr: String,
    /// The server's last answer.
    pub list: Option<RoomList>,
    /// Why the connection ended, if it did.
    pub error: Option<ConnectionError>,
    asked_at: Option<Duration>,
}

/// How often an open room list asks again (the server answers at most once a second, and only
/// with a changed list).
pub const BROWSE_EVERY: Duration = Duration::from_secs(2);

/// The join this client sends once the server accepts the connection.
#[derive(Resource, Default)]
struct PendingJoin(Option<JoinRequest>);

/// Where this client joined and the token that gives its seat back after a drop.
#[derive(Resource, Default)]
struct Seat {
    addr: String,
    join: Option<JoinRequest>,
    token: Option<SessionToken>,
    hold: Duration,
}

/// A join was asked for (from the launcher, or again from the dialog of a session that ended):
/// what the last session showed is no longer true, and each plugin clears its view of it. Not
/// sent for the attempts that get a dropped seat back, which keep the room on screen.
#[derive(Message, Debug, Clone, Copy, Default)]
pub struct NewSession;

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
        !self.was_kicked() && (self.rejection.is_some() || self.error.is_connect_failure())
    }

    /// The room turned the player's name away (someone has it, or a held seat): another name
    /// gets in.
    pub fn name_refused(&self) -> bool {
        matches!(
            self.rejection,
            Some(Rejection::NameTaken(_) | Rejection::NameHeld { .. })
        )
    }

    /// The room removed this player.
    pub fn was_kicked(&self) -> bool {
        matches!(self.rejection, Some(Rejection::Kicked(_)))
    }
}

impl std::fmt::Display for SessionEnded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rejection {
            Some(why @ Rejection::Kicked(_)) => why.fmt(f),
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
    /// The server said it is stopping.
    pub closing: Option<ServerClosing>,
    /// This client asked to watch (`true`) or to play, from the end of the turn.
    pub role_waiting: Option<bool>,
    /// Why the server turned this client away, until the connection ends.
    rejection: Option<Rejection>,
}

/// The server is stopping: the room closes now or when its last turn ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerClosing {
    /// A dedicated server restarting (rather than a host closing the game).
    pub restart: bool,
    /// When the room closes at the latest (on the `Time<Real>` clock), if a turn ends first.
    pub by: Option<Duration>,
}

impl Roster {
    pub fn name_of(&self, id: ClientId) -> Option<&str> {
        self.players.iter().find(|p| p.id == id).map(|p| p.name.as_str())
    }

    /// This client watches rather than plays.
    pub fn spectating(&self) -> bool {
        self.me
            .and_then(|me| self.players.iter().find(|p| p.id == me))
            .is_some_and(|p| p.spectator)
    }

    /// The player's name, or "someone" (in the reader's language) for a player no longer (or
    /// not yet) in the room.
    pub fn display_name(&self, id: ClientId) -> String {
        self.name_of(id)
            .map_or_else(|| crate::t!("someone"), str::to_owned)
    }
}

/// A room's name as a player reads it: the lobby ([`LOBBY`] on the wire) in the reader's
/// language, any other room as it is named.
pub fn room_label(name: &str) -> String {
    match name_key(name) == name_key(LOBBY) {
        true => crate::t!("lobby"),
        false => name.to_owned(),
    }
}

/// Whether a room name a player typed means the lobby: its wire name, or its name in any of
/// the interface's languages (so "로비" typed in the launcher goes to the lobby, not to a new
/// room of that name).
pub fn means_lobby(typed: &str) -> bool {
    let key = name_key(typed);
    key == name_key(LOBBY)
        || crate::i18n::Lang::ALL
            .iter()
            .any(|&lang| key == name_key(&crate::i18n::tr_args_in(lang, "lobby", &[])))
}

fn connect_to_browse(
    mut requests: MessageReader<BrowseServer>,
    mut stop: MessageReader<StopBrowsing>,
    state: Res<State<ClientState>>,
    roster: Res<Roster>,
    mut browsing: ResMut<Browsing>,
    mut pending: ResMut<PendingJoin>,
    mut connect: MessageWriter<ConnectRequested>,
    mut leave: MessageWriter<LeaveRequested>,
) {
    if stop.read().last().is_some() && browsing.0.take().is_some() {
        if roster.me.is_none() && *state.get() != ClientState::Disconnected {
            leave.write(LeaveRequested);
        }
        return;
    }
    if let Some(BrowseServer { addr }) = requests.read().last() {
        pending.0 = None;
        browsing.0 = Some(RoomBrowser {
            addr: addr.clone(),
            list: None,
            error: None,
            asked_at: None,
        });
        connect.write(ConnectRequested { addr: addr.clone() });
    }
}

fn connect_to_join(
    mut requests: MessageReader<JoinServer>,
    mut pending: ResMut<PendingJoin>,
    mut seat: ResMut<Seat>,
    mut reconnecting: ResMut<Reconnecting>,
    mut browsing: ResMut<Browsing>,
    mut roster: ResMut<Roster>,
    mut connect: MessageWriter<ConnectRequested>,
    mut new_session: MessageWriter<NewSession>,
) {
    if let Some(JoinServer { addr, join }) = requests.read().last() {
        begin_session(&mut roster, &mut new_session);
        // Joining from the room list: its connection gives way to this one.
        browsing.0 = None;
        pending.0 = Some(join.clone());
        *seat = Seat {
            addr: addr.clone(),
            join: Some(join.clone()),
            ..Seat::default()
        };
        reconnecting.0 = None;
        connect.write(ConnectRequested { addr: addr.clone() });
    }
}

/// The player left (back to the launcher, or gave up getting the seat back): the room is no
/// longer theirs, and nothing is tried on their behalf.
fn forget_room_on_leave(
    mut leaves: MessageReader<LeaveRequested>,
    mut roster: ResMut<Roster>,
    mut reconnecting: ResMut<Reconnecting>,
    mut pending: ResMut<PendingJoin>,
) {
    if leaves.read().last().is_some() {
        *roster = Roster::default();
        reconnecting.0 = None;
        pending.0 = None;
    }
}

/// A join was asked for: the last session's roster goes, and every plugin is told to clear its
/// own view of it.
fn begin_session(roster: &mut Roster, new_session: &mut MessageWriter<NewSession>) {
    *roster = Roster::default();
    new_session.write(NewSession);
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

/// Asks for the room list every [`BROWSE_EVERY`] while it is open, and keeps the answers.
fn browse(
    time: Res<Time<Real>>,
    state: Res<State<ClientState>>,
    mut browsing: ResMut<Browsing>,
    mut lists: MessageReader<FromServer<RoomList>>,
    mut out: MessageWriter<ToServer<ListRooms>>,
) {
    let Some(browser) = &mut browsing.0 else {
        lists.clear();
        return;
    };
    if let Some(FromServer(list)) = lists.read().last() {
        // Never more rows than a server lists, whatever one sends.
        let mut list = list.clone();
        list.rooms.truncate(super::wire::MAX_LISTED);
        browser.list = Some(list);
    }
    let now = time.elapsed();
    if *state.get() == ClientState::Connected
        && browser.error.is_none()
        && browser.asked_at.is_none_or(|at| now >= at + BROWSE_EVERY)
    {
        browser.asked_at = Some(now);
        out.write(ToServer(ListRooms));
    }
}

fn track_roster(
    time: Res<Time<Real>>,
    mut roster: ResMut<Roster>,
    mut seat: ResMut<Seat>,
    mut reconnecting: ResMut<Reconnecting>,
    mut welcomes: MessageReader<FromServer<Welcome>>,
    mut rejections: MessageReader<FromServer<Rejection>>,
    mut updates: MessageReader<FromServer<RoomUpdate>>,
    mut role_replies: MessageReader<FromServer<RoleReply>>,
) {
    for FromServer(welcome) in welcomes.read() {
        seat.token = Some(welcome.session);
        seat.hold = Duration::from_secs(welcome.seat_hold_secs.into());
        reconnecting.0 = None;
        *roster = Roster {
            me: Some(welcome.you),
            room: welcome.room.clone(),
            capacity: welcome.capacity,
            players: welcome.players.clone(),
            host: welcome.host,
            closing: None,
            role_waiting: None,
            rejection: None,
        };
    }
    for FromServer(reply) in role_replies.read() {
        roster.role_waiting = match reply {
            RoleReply::Waiting { spectate } => Some(*spectate),
            RoleReply::Cancelled | RoleReply::Refused(_) => None,
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
            RoomUpdate::Kicked { id, by, .. } => {
                roster.players.retain(|p| p.id != *id);
                if roster.me == Some(*id) {
                    roster.rejection = Some(Rejection::Kicked(by.clone()));
                }
            }
            RoomUpdate::KickVote { .. } => {}
            RoomUpdate::ServerClosing {
                restart,
                last_turn_secs,
            } => {
                roster.closing = Some(ServerClosing {
                    restart: *restart,
                    by: last_turn_secs.map(|secs| time.elapsed() + Duration::from_secs(secs.into())),
                });
            }
            RoomUpdate::Role { id, spectator } => {
                if let Some(player) = roster.players.iter_mut().find(|p| p.id == *id) {
                    player.spectator = *spectator;
                }
                if roster.me == Some(*id) {
                    roster.role_waiting = None;
                }
            }
            RoomUpdate::Away(id) | RoomUpdate::Back(id) => {
                let away = matches!(update, RoomUpdate::Away(_));
                if let Some(player) = roster.players.iter_mut().find(|p| p.id == *id) {
                    player.away = away;
                }
            }
        }
    }
}

impl crate::i18n::Describe for SessionEnded {
    fn describe(&self) -> String {
        match &self.rejection {
            Some(why @ Rejection::Kicked(_)) => why.describe(),
            Some(why) => crate::t!("err-refused-you", why = why.describe()),
            None => self.error.describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Lang, in_lang};

    #[test]
    fn the_lobby_is_named_in_the_readers_language_and_found_by_any_of_its_names() {
        assert_eq!(in_lang(Lang::Ko, || room_label("lobby")), "로비");
        assert_eq!(in_lang(Lang::Ko, || room_label("Lobby")), "로비");
        assert_eq!(in_lang(Lang::En, || room_label("lobby")), "lobby");
        assert_eq!(in_lang(Lang::Ko, || room_label("den")), "den");
        for typed in ["lobby", "LOBBY", "로비", " 로비"] {
            assert!(means_lobby(typed.trim()), "{typed}");
        }
        assert!(!means_lobby("den"));
        assert!(!means_lobby("로비2"));
    }

    #[test]
    fn a_player_not_in_the_room_is_someone_in_the_readers_language() {
        let roster = Roster::default();
        assert_eq!(in_lang(Lang::Ko, || roster.display_name(ClientId(9))), "누군가");
        assert_eq!(in_lang(Lang::En, || roster.display_name(ClientId(9))), "someone");
    }
}
