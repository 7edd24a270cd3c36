//! The rooms plugin on the server: the handshake's answer (welcome or refusal), rooms as
//! entities with a [`Room`], joined players as entities with a [`Player`], hosts and leavers.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bevy::prelude::*;

use super::rules::{Room, RoomConfig, may_make_a_room, plan_join};
use super::wire::{JoinRequest, PlayerInfo, Rejection, RoomUpdate, Welcome};
use crate::id::ClientId;
use crate::names::{self, name_key};
use crate::plugins::LogicSystems;
use crate::plugins::net::{
    ClientConnected, ClientDisconnected, CloseReason, DisconnectClient, FromClient, LeaveReason, Refusal,
    ServerWake, ToClients, Violation, address_key,
};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<RoomIndex>()
        .init_resource::<Arrivals>()
        .add_message::<PlayerJoined>()
        .add_message::<PlayerLeft>()
        .add_systems(
            Update,
            // Rooms first (the chain's sync point makes them visible), then admit: a client
            // may connect and leave within one frame, so leavers come after.
            (
                note_arrivals,
                create_rooms,
                admit_joiners,
                remove_leavers,
                drop_silent_arrivals,
            )
                .chain()
                .in_set(LogicSystems::Rooms),
        );
}

/// A joined player (server side).
#[derive(Component, Debug, Clone)]
pub struct Player {
    pub id: ClientId,
    pub name: String,
    pub addr: SocketAddr,
    pub room: Entity,
    pub operator: bool,
}

/// Finds rooms by name key and players by connection.
#[derive(Resource, Default)]
pub struct RoomIndex {
    rooms: HashMap<String, Entity>,
    players: HashMap<ClientId, Entity>,
    /// Who made each room other than the default one (by room key).
    makers: HashMap<String, IpAddr>,
}

impl RoomIndex {
    pub fn player(&self, id: ClientId) -> Option<Entity> {
        self.players.get(&id).copied()
    }

    /// Rooms that exist and were made from `ip`.
    fn made_by(&self, ip: IpAddr) -> usize {
        let ip = address_key(ip);
        self.makers.values().filter(|&&maker| maker == ip).count()
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

/// Connections through the network handshake that have not joined a room yet, and since when.
#[derive(Resource, Default)]
struct Arrivals(HashMap<ClientId, (SocketAddr, Duration)>);

/// A player joined a room (server side, after the welcome was sent).
#[derive(Message, Debug, Clone)]
pub struct PlayerJoined {
    pub client: ClientId,
    pub name: String,
    pub room: Entity,
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
        arrivals.0.insert(*client, (*addr, time.elapsed()));
    }
}

/// Spawns the rooms this frame's valid requests ask for and that do not exist yet, so that
/// `admit_joiners` finds every room as an entity (observers of other plugins attach theirs).
fn create_rooms(
    mut commands: Commands,
    config: Res<RoomConfig>,
    mut index: ResMut<RoomIndex>,
    arrivals: Res<Arrivals>,
    mut requests: MessageReader<FromClient<JoinRequest>>,
) {
    for FromClient { client, msg } in requests.read() {
        if !arrivals.0.contains_key(client) || names::normalize_name(&msg.name).is_err() {
            continue;
        }
        let room_name = match &msg.room {
            Some(room) => match names::normalize_name(room) {
                Ok(room) => room,
                Err(_) => continue,
            },
            None => config.default_room.clone(),
        };
        let key = name_key(&room_name);
        let is_default = key == name_key(&config.default_room);
        let Some(&(addr, _)) = arrivals.0.get(client) else {
            continue;
        };
        if index.rooms.contains_key(&key)
            || (!is_default
                && (index.counted_rooms(&config) >= config.max_rooms as usize
                    || may_make_a_room(&config, index.made_by(addr.ip())).is_err()))
        {
            continue;
        }
        if !is_default {
            index.makers.insert(key.clone(), address_key(addr.ip()));
        }
        let room = Room::new(&room_name, config.room_size, is_default);
        let entity = commands
            .spawn((Name::new(format!("room {room_name}")), room))
            .id();
        index.rooms.insert(key, entity);
    }
}

fn admit_joiners(
    mut commands: Commands,
    config: Res<RoomConfig>,
    operator: Option<Res<OperatorToken>>,
    mut index: ResMut<RoomIndex>,
    mut arrivals: ResMut<Arrivals>,
    mut requests: MessageReader<FromClient<JoinRequest>>,
    mut rooms: Query<&mut Room>,
    mut out: AdmissionOutput,
) {
    for FromClient { client, msg } in requests.read() {
        let Some((addr, _)) = arrivals.0.remove(client) else {
            // Joined already (or never shook hands): a second join breaks the protocol.
            out.disconnect(*client, CloseReason::ProtocolViolation(Violation::Unexpected));
            continue;
        };
        let plan = plan_join(
            &config,
            &msg.name,
            msg.room.as_deref(),
            |key| rooms.get(*index.rooms.get(key)?).ok(),
            index.counted_rooms(&config),
        );
        // The room does not exist: it was not made for this request (see create_rooms).
        let plan = plan.and_then(|plan| match index.rooms.contains_key(&plan.room_key) {
            true => Ok(plan),
            false => may_make_a_room(&config, index.made_by(addr.ip())).and(Err(Rejection::TooManyRooms {
                max: config.max_rooms,
            })),
        });
        let plan = match plan {
            Ok(plan) => plan,
            Err(rejection) => {
                info!("refused {client} from {addr}: {rejection}");
                out.refuse(*client, rejection);
                continue;
            }
        };
        let room_entity = index.rooms[&plan.room_key];
        let Ok(mut room) = rooms.get_mut(room_entity) else {
            continue;
        };
        let operator = operator.as_ref().is_some_and(|t| msg.host_token == Some(t.0));
        out.welcome(&mut room, *client, &plan.name, addr, operator);
        info!("{} ({addr}) joined room {}", plan.name, plan.room_name);
        let player = Player {
            id: *client,
            name: plan.name.clone(),
            addr,
            room: room_entity,
            operator,
        };
        let entity = commands
            .spawn((Name::new(format!("player {}", plan.name)), player))
            .id();
        index.players.insert(*client, entity);
        out.joined.write(PlayerJoined {
            client: *client,
            name: plan.name,
            room: room_entity,
        });
    }
}

/// What admitting a player sends.
#[derive(bevy::ecs::system::SystemParam)]
struct AdmissionOutput<'w> {
    welcomes: MessageWriter<'w, ToClients<Welcome>>,
    rejections: MessageWriter<'w, ToClients<Rejection>>,
    updates: MessageWriter<'w, ToClients<RoomUpdate>>,
    disconnects: MessageWriter<'w, DisconnectClient>,
    joined: MessageWriter<'w, PlayerJoined>,
}

impl AdmissionOutput<'_> {
    fn disconnect(&mut self, client: ClientId, reason: CloseReason) {
        self.disconnects.write(DisconnectClient { client, reason });
    }

    fn refuse(&mut self, client: ClientId, rejection: Rejection) {
        self.rejections.write(ToClients::one(client, rejection));
        self.disconnect(client, CloseReason::Refused(Refusal::ByTheGame));
    }

    /// Adds the player to the room, welcomes them and tells the others.
    fn welcome(&mut self, room: &mut Room, client: ClientId, name: &str, addr: SocketAddr, operator: bool) {
        let previous_host = room.host();
        room.add(client, name, addr, operator);
        let welcome = Welcome {
            you: client,
            room: room.name.clone(),
            capacity: room.capacity,
            players: room.roster_for(operator),
            host: room.host(),
        };
        self.welcomes.write(ToClients::one(client, welcome));
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

fn remove_leavers(
    mut commands: Commands,
    mut index: ResMut<RoomIndex>,
    mut arrivals: ResMut<Arrivals>,
    mut disconnected: MessageReader<ClientDisconnected>,
    mut rooms: Query<&mut Room>,
    players: Query<&Player>,
    mut updates: MessageWriter<ToClients<RoomUpdate>>,
    mut left: MessageWriter<PlayerLeft>,
) {
    for ClientDisconnected { client, reason } in disconnected.read() {
        arrivals.0.remove(client);
        let Some(entity) = index.players.remove(client) else {
            continue;
        };
        let Ok(player) = players.get(entity) else { continue };
        commands.entity(entity).despawn();
        let Ok(mut room) = rooms.get_mut(player.room) else {
            continue;
        };
        let new_host = room.remove(*client);
        let remaining: Vec<ClientId> = room.members().collect();
        info!("{} left room {}: {reason}", player.name, room.name);
        if !remaining.is_empty() {
            let update = RoomUpdate::Left {
                id: *client,
                reason: reason.clone(),
            };
            updates.write(ToClients::many(remaining.clone(), update));
            if let Some(host) = new_host {
                updates.write(ToClients::many(remaining.clone(), RoomUpdate::HostChanged(host)));
            }
        } else if !room.is_default {
            let key = name_key(&room.name);
            index.rooms.remove(&key);
            index.makers.remove(&key);
            commands.entity(player.room).despawn();
        }
        left.write(PlayerLeft {
            client: *client,
            name: player.name.clone(),
            room: player.room,
            reason: reason.clone(),
            remaining,
        });
    }
}

/// A connection that shook hands but sends no join within the handshake time is dropped; the
/// server's loop is asked back for the next such deadline.
fn drop_silent_arrivals(
    time: Res<Time<Real>>,
    config: Res<RoomConfig>,
    mut arrivals: ResMut<Arrivals>,
    mut wake: ResMut<ServerWake>,
    mut disconnects: MessageWriter<DisconnectClient>,
) {
    let now = time.elapsed();
    arrivals.0.retain(|&client, &mut (_, since)| {
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
    });
}
