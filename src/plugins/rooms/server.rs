//! The rooms plugin on the server: the handshake's answer (welcome or refusal), rooms as
//! entities with a [`Room`], joined players as entities with a [`Player`], hosts and leavers.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bevy::prelude::*;

use super::moderation::{Moderation, may_kick};
use super::rules::{JoinFacts, RoleChange, RoleRefusal, Room, RoomActivity, RoomConfig, new_room, plan_join};
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
                note_arrivals,
                // Before admitting: a list asked for in the frame a join comes is still answered.
                super::browse::answer_room_lists,
                admit_joiners,
                change_roles,
                moderate,
                carry_out_kicks,
                remove_leavers,
                release_seats,
                drop_silent_arrivals,
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

/// A short name for a join's refusal, for `/metrics`.
fn rejection_label(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::InvalidName(_) => "invalid_name",
        Rejection::NameTaken(_) | Rejection::NameHeld { .. } => "name_taken",
        Rejection::InvalidRoomName(_) => "invalid_room_name",
        Rejection::RoomFull { .. } | Rejection::SpectatorsFull { .. } => "room_full",
        Rejection::TooManyRooms { .. } => "too_many_rooms",
        Rejection::TooManyRoomsFromAddress { .. } => "too_many_rooms_from_address",
        Rejection::UnknownSession
        | Rejection::SeatExpired { .. }
        | Rejection::SessionUsed
        | Rejection::SeatInUse
        | Rejection::SeatElsewhere { .. } => "seat",
        Rejection::Kicked(_) | Rejection::Banned { .. } | Rejection::AddressWaiting { .. } => "banned",
        Rejection::TooManyJoins => "too_many_joins",
    }
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

/// Another plugin's claim that a room has something to finish before a drain closes it (the
/// quiz's turn in progress). While the server drains ([`Draining`]), each room is closed once
/// nothing holds it; the network layer closes what is left when the drain's time is up.
#[derive(Component, Debug, Default)]
pub struct DrainHold;

/// During a drain: tells each room once that the server is stopping (and whether a turn will
/// end first), closes the rooms nothing holds open and the connections that joined no room.
fn close_for_the_drain(
    time: Res<Time<Real>>,
    draining: Res<Draining>,
    mut arrivals: ResMut<Arrivals>,
    rooms: Query<(Entity, &Room, Has<DrainHold>)>,
    mut told: Local<HashSet<Entity>>,
    mut updates: MessageWriter<ToClients<RoomUpdate>>,
    mut out: MessageWriter<DisconnectClient>,
) {
    let restart = draining.reason == CloseReason::ServerRestarting;
    let secs_left = draining.time_left(time.elapsed()).as_secs_f32().ceil() as u16;
    for (entity, room, held) in &rooms {
        let members: Vec<ClientId> = room.members().collect();
        if members.is_empty() {
            continue;
        }
        if told.insert(entity) {
            let notice = RoomUpdate::ServerClosing {
                restart,
                last_turn_secs: held.then_some(secs_left),
            };
            updates.write(ToClients::many(members.clone(), notice));
        }
        if !held {
            // Idempotent: a connection already closing is not closed again.
            out.write_batch(members.into_iter().map(|client| DisconnectClient {
                client,
                reason: draining.reason.clone(),
            }));
        }
    }
    out.write_batch(arrivals.0.drain().map(|(client, _)| DisconnectClient {
        client,
        reason: draining.reason.clone(),
    }));
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
    fn may_join_again(&mut self, room_key: &str, name_key: &str, now: std::time::Instant) -> bool {
        if self.joins.len() >= 2 * self.joins_swept_at.max(2048) {
            self.joins.retain(|_, bucket| !bucket.full_at(now));
            self.joins_swept_at = self.joins.len();
        }
        self.joins
            .entry((room_key.to_owned(), name_key.to_owned()))
            .or_insert_with(|| TokenBucket::starting_at(JOINS_PER_NAME / 60.0, JOINS_PER_NAME, now))
            .take_at(now)
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

/// How often one member may ask to change between playing and watching.
pub const ROLE_CHANGE_EVERY: Duration = Duration::from_secs(2);

/// Rooms where a change between playing and watching waits for the turn to end.
#[derive(Resource, Default)]
struct RolesWaiting(HashSet<Entity>);

/// What a change between playing and watching sends.
#[derive(bevy::ecs::system::SystemParam)]
struct RoleOutput<'w> {
    replies: MessageWriter<'w, ToClients<RoleReply>>,
    updates: MessageWriter<'w, ToClients<RoomUpdate>>,
    changed: MessageWriter<'w, RoleChanged>,
}

impl RoleOutput<'_> {
    fn reply(&mut self, client: ClientId, reply: RoleReply) {
        self.replies.write(ToClients::one(client, reply));
    }

    /// Tells the room, and the other plugins, that `client` now watches or plays.
    fn tell(&mut self, room: &Room, entity: Entity, client: ClientId, spectator: bool) {
        let update = RoomUpdate::Role {
            id: client,
            spectator,
        };
        self.updates
            .write(ToClients::many(room.present().collect(), update));
        self.changed.write(RoleChanged {
            client,
            room: entity,
            spectator,
        });
    }
}

/// Members asking to watch or to play: done at once between turns, else when the turn ends
/// (the room's [`RoomActivity::turn`], kept by the quiz).
fn change_roles(
    time: Res<Time<Real>>,
    mut changed_at: Local<HashMap<ClientId, Duration>>,
    index: Res<RoomIndex>,
    players: Query<&Player>,
    mut rooms: Query<(&mut Room, Option<&RoomActivity>)>,
    mut waiting: ResMut<RolesWaiting>,
    mut requests: MessageReader<FromClient<RoleRequest>>,
    mut out: RoleOutput,
) {
    let now = time.elapsed();
    changed_at.retain(|_, at| now.saturating_sub(*at) < ROLE_CHANGE_EVERY);
    for FromClient { client, msg } in requests.read() {
        let Some(player) = index.player(*client).and_then(|e| players.get(e).ok()) else {
            continue;
        };
        let Ok((mut room, activity)) = rooms.get_mut(player.room) else {
            continue;
        };
        // Each change tells the whole room and may reorder a game: one per member per 2 s.
        if changed_at.contains_key(client) {
            out.reply(*client, RoleReply::Refused(RoleRefusal::TooSoon));
            continue;
        }
        let turn = activity.is_some_and(|a| a.turn);
        let asked = room.ask_role(*client, msg.spectate, turn);
        if asked.is_ok() {
            changed_at.insert(*client, now);
        }
        match asked {
            Ok(RoleChange::AtTurnEnd) => {
                waiting.0.insert(player.room);
                let reply = RoleReply::Waiting {
                    spectate: msg.spectate,
                };
                out.reply(*client, reply);
            }
            Ok(RoleChange::Now) => out.tell(&room, player.room, *client, msg.spectate),
            Ok(RoleChange::Cancelled) => out.reply(*client, RoleReply::Cancelled),
            Err(why) => out.reply(*client, RoleReply::Refused(why)),
        }
    }
    waiting.0.retain(|&entity| {
        let Ok((mut room, activity)) = rooms.get_mut(entity) else {
            return false;
        };
        if activity.is_some_and(|a| a.turn) {
            return true;
        }
        for (client, result) in room.settle_roles() {
            match result {
                Ok(spectator) => out.tell(&room, entity, client, spectator),
                Err(why) => out.reply(client, RoleReply::Refused(why)),
            }
        }
        false
    });
}

/// A player is to be removed from their room (the host's kick, or a vote that passed).
#[derive(Message, Debug, Clone)]
struct KickPlayer {
    client: ClientId,
    by: KickedBy,
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

fn note_arrivals(
    time: Res<Time<Real>>,
    mut arrivals: ResMut<Arrivals>,
    mut connected: MessageReader<ClientConnected>,
) {
    for ClientConnected { client, addr } in connected.read() {
        let now = time.elapsed();
        arrivals.0.insert(
            *client,
            Arrival {
                addr: *addr,
                connected: now,
                waiting_since: now,
            },
        );
    }
}

fn admit_joiners(
    mut commands: Commands,
    time: Res<Time<Real>>,
    config: Res<RoomConfig>,
    operator: Option<Res<OperatorToken>>,
    mut arrivals: ResMut<Arrivals>,
    mut requests: MessageReader<FromClient<JoinRequest>>,
    mut seats: Seats,
    mut out: AdmissionOutput,
) {
    // Rooms made this frame, until they are spawned at its end.
    let mut made: HashMap<Entity, Room> = HashMap::new();
    for FromClient { client, msg } in requests.read() {
        let Some(Arrival { addr, .. }) = arrivals.0.remove(client) else {
            // Joined already (or never shook hands): a second join breaks the protocol.
            out.disconnect(*client, CloseReason::ProtocolViolation(Violation::Unexpected));
            continue;
        };
        if let Some(token) = msg.resume {
            let room = msg.room.as_deref().unwrap_or(&config.default_room);
            if let Err(rejection) =
                seats.resume(&config, time.elapsed(), (*client, addr), token, room, &mut out)
            {
                info!("refused {client} from {addr}: {rejection}");
                out.refuse(*client, rejection);
            }
            continue;
        }
        let mut facts = Facts {
            index: &mut seats.index,
            rooms: &seats.rooms,
            moderation: &seats.moderation,
            made: &made,
            config: &config,
            addr,
            now: (time.elapsed(), time.startup() + time.elapsed()),
        };
        let plan = match plan_join(
            &config,
            (&msg.name, msg.room.as_deref(), msg.spectate),
            &mut facts,
            time.elapsed(),
        ) {
            Ok(plan) => plan,
            Err(rejection) => {
                info!("refused {client} from {addr}: {rejection}");
                out.refuse(*client, rejection);
                continue;
            }
        };
        let index = &mut seats.index;
        if plan.create {
            // The room is made with its first member, or not at all.
            let is_default = plan.room_key == name_key(&config.default_room);
            let entity = commands.spawn_empty().id();
            if !is_default {
                index.makers.insert(plan.room_key.clone(), address_key(addr.ip()));
            }
            index.rooms.insert(plan.room_key.clone(), entity);
            made.insert(entity, new_room(&config, &plan.room_name, is_default));
        }
        let room_entity = index.rooms[&plan.room_key];
        let mut existing = seats.rooms.get_mut(room_entity).ok();
        let Some(room) = made.get_mut(&room_entity).or(existing.as_deref_mut()) else {
            continue;
        };
        let operator = operator.as_ref().is_some_and(|t| msg.host_token == Some(t.0));
        let session = index.new_session(*client);
        out.admit(room, *client, &plan.name, addr, (operator, msg.spectate));
        out.welcome(room, *client, operator, session, false, &config);
        let watching = if msg.spectate { " as a spectator" } else { "" };
        info!("{} ({addr}) joined room {}{watching}", plan.name, plan.room_name);
        let player = Player {
            id: *client,
            name: plan.name.clone(),
            addr,
            room: room_entity,
            operator,
            session,
        };
        let entity = commands
            .spawn((Name::new(format!("player {}", plan.name)), player))
            .id();
        index.players.insert(*client, entity);
        out.joined.write(PlayerJoined {
            client: *client,
            name: plan.name,
            room: room_entity,
            resumed: false,
        });
    }
    // The rooms made this frame, with their members (other plugins' observers attach theirs).
    for (entity, room) in made {
        commands.entity(entity).insert((
            Name::new(format!("room {}", room.name)),
            room,
            Moderation::default(),
            RoomActivity::default(),
        ));
    }
}

/// The server's side of [`plan_join`]: its rooms (those made this frame first), kick bans and
/// join rates, for one joiner.
struct Facts<'a, 'w, 's> {
    index: &'a mut RoomIndex,
    rooms: &'a Query<'w, 's, &'static mut Room>,
    moderation: &'a Query<'w, 's, &'static mut Moderation>,
    made: &'a HashMap<Entity, Room>,
    config: &'a RoomConfig,
    addr: SocketAddr,
    /// Now, on the game's clock and as an instant.
    now: (Duration, std::time::Instant),
}

impl JoinFacts for Facts<'_, '_, '_> {
    fn room(&self, key: &str) -> Option<&Room> {
        let entity = *self.index.rooms.get(key)?;
        self.made.get(&entity).or_else(|| self.rooms.get(entity).ok())
    }

    fn counted_rooms(&self) -> usize {
        self.index.counted_rooms(self.config)
    }

    fn made_by_address(&self) -> usize {
        self.index.made_by(self.addr.ip())
    }

    fn kicked(&self, room_key: &str, name_key: &str) -> Result<(), Rejection> {
        let room = self.index.rooms.get(room_key);
        match room.and_then(|&room| self.moderation.get(room).ok()) {
            Some(kicks) => kicks.admission(name_key, address_key(self.addr.ip()), self.now.0),
            None => Ok(()),
        }
    }

    fn may_join_again(&mut self, room_key: &str, name_key: &str) -> bool {
        self.index.may_join_again(room_key, name_key, self.now.1)
    }
}

/// Rooms and players, for admitting players and giving seats back.
#[derive(bevy::ecs::system::SystemParam)]
struct Seats<'w, 's> {
    index: ResMut<'w, RoomIndex>,
    rooms: Query<'w, 's, &'static mut Room>,
    players: Query<'w, 's, &'static mut Player>,
    moderation: Query<'w, 's, &'static mut Moderation>,
}

impl Seats<'_, '_> {
    /// Gives the seat `token` holds in `room` back to the connection `client` (at `addr`).
    fn resume(
        &mut self,
        config: &RoomConfig,
        now: Duration,
        (client, addr): (ClientId, SocketAddr),
        token: SessionToken,
        room: &str,
        out: &mut AdmissionOutput,
    ) -> Result<(), Rejection> {
        let id = self.index.seat_for(&token, config)?;
        let entity = *self.index.players.get(&id).ok_or(Rejection::UnknownSession)?;
        let mut player = self
            .players
            .get_mut(entity)
            .map_err(|_| Rejection::UnknownSession)?;
        let mut seat_room = self
            .rooms
            .get_mut(player.room)
            .map_err(|_| Rejection::UnknownSession)?;
        if name_key(room) != name_key(&seat_room.name) {
            return Err(Rejection::SeatElsewhere {
                room: seat_room.name.clone(),
            });
        }
        self.index.held.remove(&id);
        self.index.spend(player.session, Spent::Used, now);
        player.session = self.index.new_session(id);
        player.addr = addr;
        seat_room.give_seat_back(id, addr);
        out.rebind.write(RebindClient {
            connection: client,
            as_client: id,
        });
        out.welcome(&seat_room, id, player.operator, player.session, true, config);
        let others: Vec<ClientId> = seat_room.present().filter(|&other| other != id).collect();
        out.updates.write(ToClients::many(others, RoomUpdate::Back(id)));
        info!("{} ({addr}) came back to room {}", player.name, seat_room.name);
        out.joined.write(PlayerJoined {
            client: id,
            name: player.name.clone(),
            room: player.room,
            resumed: true,
        });
        Ok(())
    }
}

/// What admitting a player sends.
#[derive(bevy::ecs::system::SystemParam)]
struct AdmissionOutput<'w> {
    welcomes: MessageWriter<'w, ToClients<Welcome>>,
    rejections: MessageWriter<'w, ToClients<Rejection>>,
    updates: MessageWriter<'w, ToClients<RoomUpdate>>,
    disconnects: MessageWriter<'w, DisconnectClient>,
    rebind: MessageWriter<'w, RebindClient>,
    joined: MessageWriter<'w, PlayerJoined>,
}

impl AdmissionOutput<'_> {
    fn disconnect(&mut self, client: ClientId, reason: CloseReason) {
        self.disconnects.write(DisconnectClient { client, reason });
    }

    fn refuse(&mut self, client: ClientId, rejection: Rejection) {
        metrics::counter!("catchmind_joins_refused_total", "reason" => rejection_label(&rejection))
            .increment(1);
        self.rejections.write(ToClients::one(client, rejection));
        self.disconnect(client, CloseReason::Refused(Refusal::ByTheGame));
    }

    fn welcome(
        &mut self,
        room: &Room,
        client: ClientId,
        operator: bool,
        session: SessionToken,
        resumed: bool,
        config: &RoomConfig,
    ) {
        let welcome = Welcome {
            you: client,
            room: room.name.clone(),
            capacity: room.capacity,
            players: room.roster_for(operator),
            host: room.host(),
            session,
            resumed,
            seat_hold_secs: hold_secs(config),
        };
        self.welcomes.write(ToClients::one(client, welcome));
    }

    /// Adds the player (or spectator) to the room and tells the others.
    fn admit(
        &mut self,
        room: &mut Room,
        client: ClientId,
        name: &str,
        addr: SocketAddr,
        (operator, spectator): (bool, bool),
    ) {
        let previous_host = room.host();
        room.add_member(client, name, addr, operator, spectator);
        let newcomer = room.roster_for(true).pop().expect("just added");
        let (ops, rest) = room.audiences(Some(client));
        if !ops.is_empty() {
            self.updates
                .write(ToClients::many(ops, RoomUpdate::Joined(newcomer.clone())));
        }
        if !rest.is_empty() {
            let public = PlayerInfo {
                addr: None,
                ..newcomer
            };
            self.updates
                .write(ToClients::many(rest, RoomUpdate::Joined(public)));
        }
        if previous_host.is_some() && room.host() != previous_host {
            let others = room.members().filter(|&id| id != client).collect();
            self.updates
                .write(ToClients::many(others, RoomUpdate::HostChanged(client)));
        }
    }
}

/// Removing players from their rooms (and rooms that empty), and telling the others.
#[derive(bevy::ecs::system::SystemParam)]
struct Departures<'w, 's> {
    commands: Commands<'w, 's>,
    index: ResMut<'w, RoomIndex>,
    rooms: Query<'w, 's, &'static mut Room>,
    players: Query<'w, 's, &'static Player>,
    updates: MessageWriter<'w, ToClients<RoomUpdate>>,
    left: MessageWriter<'w, PlayerLeft>,
    moderation: Query<'w, 's, &'static mut Moderation>,
}

impl Departures<'_, '_> {
    /// Removes a player from their room; `announced`: the others were told why already.
    fn remove(&mut self, client: ClientId, reason: &LeaveReason, announced: bool) {
        let Some(entity) = self.index.players.remove(&client) else {
            return;
        };
        let Ok(player) = self.players.get(entity) else {
            return;
        };
        self.index.held.remove(&client);
        self.index.sessions.remove(&player.session);
        self.commands.entity(entity).despawn();
        let Ok(mut room) = self.rooms.get_mut(player.room) else {
            return;
        };
        let new_host = room.remove(client);
        if let Ok(mut kicks) = self.moderation.get_mut(player.room) {
            kicks.forget(client);
        }
        let remaining: Vec<ClientId> = room.members().collect();
        info!("{} left room {}: {reason}", player.name, room.name);
        if !remaining.is_empty() && !announced {
            let update = RoomUpdate::Left {
                id: client,
                name: player.name.clone(),
                reason: reason.clone(),
            };
            self.updates.write(ToClients::many(remaining.clone(), update));
        }
        if let (Some(host), false) = (new_host, remaining.is_empty()) {
            self.updates
                .write(ToClients::many(remaining.clone(), RoomUpdate::HostChanged(host)));
        }
        if remaining.is_empty() && !room.is_default {
            let key = name_key(&room.name);
            self.index.rooms.remove(&key);
            self.index.makers.remove(&key);
            self.commands.entity(player.room).despawn();
        }
        self.left.write(PlayerLeft {
            client,
            name: player.name.clone(),
            room: player.room,
            reason: reason.clone(),
            remaining,
        });
    }

    /// Holds a dropped player's seat until `until`; returns whether they had one.
    fn hold(&mut self, client: ClientId, reason: &LeaveReason, until: Duration) -> Option<Entity> {
        let player = self.players.get(*self.index.players.get(&client)?).ok()?;
        let mut room = self.rooms.get_mut(player.room).ok()?;
        room.hold_seat(client, until);
        self.index.held.insert(client, (until, reason.clone()));
        info!(
            "{} dropped from room {} ({reason}); seat held",
            player.name, room.name
        );
        let others: Vec<ClientId> = room.present().collect();
        if !others.is_empty() {
            self.updates
                .write(ToClients::many(others, RoomUpdate::Away(client)));
        }
        Some(player.room)
    }
}

fn remove_leavers(
    time: Res<Time<Real>>,
    config: Res<RoomConfig>,
    mut arrivals: ResMut<Arrivals>,
    mut disconnected: MessageReader<ClientDisconnected>,
    mut departures: Departures,
    mut away: MessageWriter<PlayerAway>,
) {
    for ClientDisconnected { client, reason } in disconnected.read() {
        arrivals.0.remove(client);
        if keeps_seat(reason) && !config.seat_hold.is_zero() {
            let until = time.elapsed() + config.seat_hold;
            if let Some(room) = departures.hold(*client, reason, until) {
                away.write(PlayerAway {
                    client: *client,
                    room,
                });
                continue;
            }
        }
        departures.remove(*client, reason, false);
    }
}

/// Seats held past [`RoomConfig::seat_hold`] are given up: the player leaves, for the reason
/// their connection dropped.
fn release_seats(time: Res<Time<Real>>, mut wake: ResMut<ServerWake>, mut departures: Departures) {
    let now = time.elapsed();
    let due: Vec<(ClientId, LeaveReason)> = departures
        .index
        .held
        .iter()
        .filter(|(_, (until, _))| *until <= now)
        .map(|(&id, (_, reason))| (id, reason.clone()))
        .collect();
    if let Some(next) = departures
        .index
        .held
        .values()
        .map(|(until, _)| *until)
        .filter(|&u| u > now)
        .min()
    {
        wake.at(next);
    }
    for (client, reason) in due {
        if let Some(player) = departures
            .index
            .players
            .get(&client)
            .and_then(|&e| departures.players.get(e).ok())
        {
            let session = player.session;
            departures.index.spend(session, Spent::Expired, now);
        }
        departures.remove(client, &reason, false);
    }
}

/// The host's kicks and the members' votes: checked, tallied and told; a kick that stands is
/// carried out by [`carry_out_kicks`].
fn moderate(
    time: Res<Time<Real>>,
    index: Res<RoomIndex>,
    players: Query<&Player>,
    mut rooms: Query<(&Room, &mut Moderation)>,
    mut requests: MessageReader<FromClient<ModerationRequest>>,
    mut refusals: MessageWriter<ToClients<ModerationRefusal>>,
    mut updates: MessageWriter<ToClients<RoomUpdate>>,
    mut kicks: MessageWriter<KickPlayer>,
) {
    for FromClient { client, msg } in requests.read() {
        let Some(asker) = index.player(*client).and_then(|e| players.get(e).ok()) else {
            continue;
        };
        let Ok((room, mut moderation)) = rooms.get_mut(asker.room) else {
            continue;
        };
        let target = match msg {
            ModerationRequest::Kick { target, .. } | ModerationRequest::VoteKick { target } => *target,
        };
        let target_player = index.player(target).and_then(|e| players.get(e).ok());
        let outcome = match (msg, target_player) {
            (_, None) => Err(ModerationRefusal::NoSuchPlayer),
            (_, Some(t)) if t.room != asker.room => Err(ModerationRefusal::NoSuchPlayer),
            (ModerationRequest::Kick { reason, .. }, Some(t)) => {
                may_kick(room.host(), *client, target, t.operator).map(|()| {
                    Some(KickedBy::Host {
                        name: asker.name.clone(),
                        reason: *reason,
                    })
                })
            }
            (ModerationRequest::VoteKick { .. }, Some(t)) if t.operator => Err(ModerationRefusal::Operator),
            (ModerationRequest::VoteKick { .. }, Some(_)) if room.is_spectator(*client) => {
                Err(ModerationRefusal::Spectator)
            }
            (ModerationRequest::VoteKick { .. }, Some(_)) => {
                // The players vote: spectators neither vote nor count.
                let others = room.players().filter(|&id| id != target).count();
                moderation
                    .vote(*client, target, others, time.elapsed())
                    .map(|tally| {
                        let present: Vec<ClientId> = room.present().collect();
                        let vote = RoomUpdate::KickVote {
                            target,
                            voter: *client,
                            votes: tally.votes,
                            needed: tally.needed,
                        };
                        updates.write(ToClients::many(present, vote));
                        tally.passed().then_some(KickedBy::Vote {
                            votes: tally.votes,
                            of: tally.needed,
                        })
                    })
            }
        };
        match outcome {
            Ok(Some(by)) => {
                metrics::counter!("catchmind_kicks_total").increment(1);
                kicks.write(KickPlayer { client: target, by });
            }
            Ok(None) => {}
            Err(why) => {
                metrics::counter!("catchmind_requests_refused_total", "kind" => "moderation").increment(1);
                refusals.write(ToClients::one(*client, why));
            }
        }
    }
}

/// Removes kicked players: told why, closed, announced to the room, their name and address
/// kept out for a while.
fn carry_out_kicks(
    time: Res<Time<Real>>,
    mut kicks: MessageReader<KickPlayer>,
    mut departures: Departures,
    mut rejections: MessageWriter<ToClients<Rejection>>,
    mut disconnects: MessageWriter<DisconnectClient>,
) {
    for KickPlayer { client, by } in kicks.read() {
        let Some(player) = departures
            .index
            .player(*client)
            .and_then(|e| departures.players.get(e).ok())
        else {
            continue;
        };
        let (room_entity, key, addr) = (player.room, name_key(&player.name), address_key(player.addr.ip()));
        let name = player.name.clone();
        info!("{name} kicked {by}");
        if let Ok(mut moderation) = departures.moderation.get_mut(room_entity) {
            moderation.ban(&key, addr, time.elapsed());
        }
        if let Ok(room) = departures.rooms.get(room_entity) {
            let everyone: Vec<ClientId> = room.present().collect();
            let update = RoomUpdate::Kicked {
                id: *client,
                name,
                by: by.clone(),
            };
            departures.updates.write(ToClients::many(everyone, update));
        }
        rejections.write(ToClients::one(*client, Rejection::Kicked(by.clone())));
        let reason = CloseReason::Refused(Refusal::ByTheGame);
        disconnects.write(DisconnectClient {
            client: *client,
            reason: reason.clone(),
        });
        departures.remove(*client, &LeaveReason::from(&reason), true);
    }
}

/// A connection that shook hands but sends no join within the handshake time (counted from its
/// last request for the room list, if it browses) is dropped; the server's loop is asked back
/// for the next such deadline.
fn drop_silent_arrivals(
    time: Res<Time<Real>>,
    config: Res<RoomConfig>,
    mut arrivals: ResMut<Arrivals>,
    mut wake: ResMut<ServerWake>,
    mut disconnects: MessageWriter<DisconnectClient>,
) {
    let now = time.elapsed();
    arrivals.0.retain(
        |&client,
         &mut Arrival {
             waiting_since: since, ..
         }| {
            let waiting = now.saturating_sub(since) < config.join_timeout;
            if waiting {
                wake.at(since + config.join_timeout);
            } else {
                disconnects.write(DisconnectClient {
                    client,
                    reason: CloseReason::TimedOut,
                });
            }
            waiting
        },
    );
}
