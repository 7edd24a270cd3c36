//! The rooms plugin on the server: rooms as entities with a [`Room`], joined players as
//! entities with a [`Player`], the index that finds them, and what the room tells the other
//! plugins. Each job has its file: `admission` (joins and seats given back), `departures`
//! (leavers and held seats), `roles` (playing or watching), `kicks`, `drain` (closing at a stop).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bevy::prelude::*;

use super::moderation::{Moderation, may_kick};
use super::rules::{
    JoinFacts, JoinPlan, RoleChange, RoleRefusal, Room, RoomActivity, RoomConfig, new_room, plan_join,
};
use super::wire::{
    JoinRequest, KickedBy, ModerationRefusal, ModerationRequest, PlayerInfo, Rejection, RoleReply,
    RoleRequest, RoomUpdate, SessionToken, Welcome,
};
use crate::id::ClientId;
use crate::names::name_key;
use crate::plugins::net::{
    ClientConnected, ClientDisconnected, CloseReason, DisconnectClient, Draining, FromClient, LeaveReason,
    OrchestratorCounts, RebindClient, Refusal, ServerWake, ToClients, Violation, address_key,
};
use crate::plugins::{LogicSystems, Side};
use crate::rate::TokenBucket;

mod admission;
mod departures;
mod drain;
mod kicks;
mod roles;

use admission::{admit_joiners, drop_silent_arrivals, note_arrivals};
use departures::{Departures, release_seats, remove_leavers, yield_held_seats};
pub use drain::DrainHold;
use drain::close_for_the_drain;
use kicks::{KickPlayer, carry_out_kicks, moderate};
use roles::{RolesWaiting, change_roles};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<RoomIndex>()
        .init_resource::<Arrivals>()
        .add_message::<PlayerJoined>()
        .add_message::<PlayerLeft>()
        .add_message::<PlayerAway>()
        .add_message::<KickPlayer>()
        .add_message::<RoleChanged>()
        .init_resource::<RolesWaiting>()
        .add_systems(
            Update,
            // Admit (making the rooms joins ask for), then the rest: a client may connect and
            // leave within one frame, so leavers come after.
            (
                note_arrivals.run_if(on_message::<ClientConnected>),
                // Before admitting: a list asked for in the frame a join comes is still answered.
                super::browse::answer_room_lists.run_if(super::browse::browsing),
                yield_held_seats.run_if(on_message::<FromClient<JoinRequest>>),
                admit_joiners.run_if(on_message::<FromClient<JoinRequest>>),
                change_roles,
                moderate.run_if(on_message::<FromClient<ModerationRequest>>),
                carry_out_kicks.run_if(on_message::<KickPlayer>),
                remove_leavers.run_if(on_message::<ClientDisconnected>),
                release_seats.run_if(|index: Res<RoomIndex>| !index.held.is_empty()),
                drop_silent_arrivals.run_if(|arrivals: Res<Arrivals>| !arrivals.0.is_empty()),
            )
                .chain()
                .in_set(LogicSystems::Rooms)
                .in_set(Side::Server),
        )
        .add_systems(
            Last,
            record_figures
                .run_if(resource_changed::<RoomIndex>)
                .in_set(Side::Server),
        )
        .add_systems(
            Update,
            close_for_the_drain
                .run_if(resource_exists::<Draining>)
                .in_set(LogicSystems::Effects)
                .in_set(Side::Server),
        );
}

/// Players, held seats and rooms, for `/metrics`, and players and rooms against their
/// capacity for an orchestrator (players hold their seat while away).
fn record_figures(index: Res<RoomIndex>, config: Res<RoomConfig>, mut counts: ResMut<OrchestratorCounts>) {
    let connected = index.players.len().saturating_sub(index.held.len());
    metrics::gauge!("catchmind_players").set(connected as f64);
    metrics::gauge!("catchmind_players_away").set(index.held.len() as f64);
    metrics::gauge!("catchmind_rooms").set(index.rooms.len() as f64);
    let max_rooms = i64::from(config.max_rooms);
    counts.set(
        "players",
        index.players.len() as i64,
        max_rooms * i64::from(config.room_size),
    );
    counts.set("rooms", index.rooms.len() as i64, max_rooms);
}

/// A joined player (server side).
#[derive(Component, Debug, Clone)]
pub struct Player {
    pub id: ClientId,
    pub name: String,
    pub addr: SocketAddr,
    pub room: Entity,
    pub operator: bool,
    /// Gives the seat back after a dropped connection; a new one with every welcome.
    session: SessionToken,
}

/// Finds rooms by name key and players by connection.
#[derive(Resource, Default)]
pub struct RoomIndex {
    rooms: HashMap<String, Entity>,
    players: HashMap<ClientId, Entity>,
    /// Who made each room other than the default one (by room key).
    makers: HashMap<String, IpAddr>,
    /// Every player's current session token.
    sessions: HashMap<SessionToken, ClientId>,
    /// Seats held for players whose connection dropped: until when, and why it dropped.
    held: HashMap<ClientId, (Duration, LeaveReason)>,
    /// Tokens no longer valid, and why, so a refusal can say; the oldest go past [`MAX_SPENT`].
    spent: HashMap<SessionToken, (Spent, Duration)>,
    /// Joins of each name to each room (room key, name key), so one identity cannot join and
    /// leave in a loop; swept of entries back to full once the table doubles.
    joins: HashMap<(String, String), TokenBucket>,
    joins_swept_at: usize,
}

/// Joins of one name to one room: this many at once, then one every 10 s.
pub const JOINS_PER_NAME: f64 = 6.0;

impl RoomIndex {
    /// Whether the name `name_key` may join the room `room_key` now (see [`JOINS_PER_NAME`]).
    fn may_join_again(&mut self, room_key: &str, name_key: &str, now: bevy::platform::time::Instant) -> bool {
        if self.joins.len() >= 2 * self.joins_swept_at.max(2048) {
            self.joins.retain(|_, bucket| !bucket.full_at(now));
            self.joins_swept_at = self.joins.len();
        }
        self.joins
            .entry((room_key.to_owned(), name_key.to_owned()))
            .or_insert_with(|| TokenBucket::starting_at(JOINS_PER_NAME / 60.0, JOINS_PER_NAME, now))
            .take_at(now)
    }

    /// Whether the name `name_key` could join the room `room_key` now (spends nothing).
    fn could_join_again(&self, room_key: &str, name_key: &str, now: bevy::platform::time::Instant) -> bool {
        self.joins
            .get(&(room_key.to_owned(), name_key.to_owned()))
            .is_none_or(|bucket| bucket.has_at(now))
    }
}

/// Why a session token no longer gives a seat back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spent {
    Expired,
    Used,
}

/// Tokens remembered as spent (for the refusal's wording only; older ones read "unknown").
const MAX_SPENT: usize = 4096;

impl RoomIndex {
    pub fn player(&self, id: ClientId) -> Option<Entity> {
        self.players.get(&id).copied()
    }

    /// Rooms that exist and were made from `ip`.
    fn made_by(&self, ip: IpAddr) -> usize {
        let ip = address_key(ip);
        self.makers.values().filter(|&&maker| maker == ip).count()
    }

    fn spend(&mut self, token: SessionToken, why: Spent, now: Duration) {
        self.sessions.remove(&token);
        if self.spent.len() >= MAX_SPENT {
            // Forget the older half at once, so the sweep is rare.
            let mut times: Vec<Duration> = self.spent.values().map(|&(_, at)| at).collect();
            times.sort_unstable();
            let cut = times[times.len() / 2];
            self.spent.retain(|_, &mut (_, at)| at > cut);
        }
        self.spent.insert(token, (why, now));
    }

    /// Whose seat `token` gives back, or why it gives none.
    fn seat_for(&self, token: &SessionToken, config: &RoomConfig) -> Result<ClientId, Rejection> {
        if let Some(&id) = self.sessions.get(token) {
            return match self.held.contains_key(&id) {
                true => Ok(id),
                false => Err(Rejection::SeatInUse),
            };
        }
        Err(match self.spent.get(token) {
            Some((Spent::Used, _)) => Rejection::SessionUsed,
            Some((Spent::Expired, _)) => Rejection::SeatExpired {
                secs: hold_secs(config),
            },
            None => Rejection::UnknownSession,
        })
    }

    /// A fresh session token for `id` (128 random bits from the thread's CSPRNG).
    fn new_session(&mut self, id: ClientId) -> SessionToken {
        let token: SessionToken = rand::random();
        self.sessions.insert(token, id);
        token
    }

    /// Rooms counted against the room cap: all but the default room, which always exists.
    fn counted_rooms(&self, config: &RoomConfig) -> usize {
        let lobby = self.rooms.contains_key(&name_key(&config.default_room));
        self.rooms.len() - usize::from(lobby)
    }
}

/// The hosting window's secret: its join request carrying it makes that player the operator.
#[derive(Resource, Clone, Copy, Debug)]
pub struct OperatorToken(pub [u8; 16]);

/// Connections through the network handshake that have not joined a room yet.
#[derive(Resource, Default)]
pub(super) struct Arrivals(pub(super) HashMap<ClientId, Arrival>);

#[derive(Debug, Clone, Copy)]
pub(super) struct Arrival {
    pub(super) addr: SocketAddr,
    pub(super) connected: Duration,
    /// The join is due [`RoomConfig::join_timeout`] after this: the connection's handshake,
    /// or its last request for the room list.
    pub(super) waiting_since: Duration,
}

/// A player joined a room (server side, after the welcome was sent), or came back to their
/// held seat (`resumed`: they keep whatever the room kept for them; send them the room's state).
#[derive(Message, Debug, Clone)]
pub struct PlayerJoined {
    pub client: ClientId,
    pub name: String,
    pub room: Entity,
    pub resumed: bool,
}

/// A player's connection dropped and their seat is held (for [`RoomConfig::seat_hold`]): they
/// stay a member, but nothing reaches them until they come back ([`PlayerJoined`] with
/// `resumed`) or leave ([`PlayerLeft`] when the hold runs out).
#[derive(Message, Debug, Clone)]
pub struct PlayerAway {
    pub client: ClientId,
    pub room: Entity,
}

/// A member now watches (`spectator`) or plays (server side, after the room was told).
#[derive(Message, Debug, Clone)]
pub struct RoleChanged {
    pub client: ClientId,
    pub room: Entity,
    pub spectator: bool,
}

/// Whether a connection that ended for `reason` keeps its seat for a while: it dropped, rather
/// than the player leaving or the server closing it for cause.
fn keeps_seat(reason: &LeaveReason) -> bool {
    matches!(
        reason,
        LeaveReason::ConnectionLost | LeaveReason::TimedOut | LeaveReason::Closed(CloseReason::TooSlow)
    )
}

fn hold_secs(config: &RoomConfig) -> u16 {
    config.seat_hold.as_secs().min(u16::MAX as u64) as u16
}

/// A player left a room (server side); the room entity may be gone if it emptied.
#[derive(Message, Debug, Clone)]
pub struct PlayerLeft {
    pub client: ClientId,
    pub name: String,
    pub room: Entity,
    pub reason: LeaveReason,
    /// Who is still in the room.
    pub remaining: Vec<ClientId>,
}
