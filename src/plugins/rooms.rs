//! Rooms: who is in which room, who hosts it, and the handshake's answer. On the server each
//! room is an entity with a [`Room`] and each joined player an entity with a [`Player`]; on a
//! client the [`Roster`] mirrors the room it is in.

use std::collections::HashMap;
use std::net::SocketAddr;

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use crate::names::{self, name_key};
use crate::plugins::GameSystems;
use crate::plugins::net::{
    ClientDisconnected, ConnectionEnded, DisconnectClient, FromServer, JoinRequested, NetServer, Recipients,
    ToClients,
};
use crate::protocol::{ClientId, CloseReason, LeaveReason, Rejection, ServerMsg};

pub fn plugin(app: &mut App) {
    app.init_resource::<RoomConfig>()
        .init_resource::<RoomIndex>()
        .init_resource::<Roster>()
        .add_message::<PlayerJoined>()
        .add_message::<PlayerLeft>()
        .add_systems(
            Update,
            (
                // Admit first: a client may connect and leave within one frame. The chain's
                // sync point makes this frame's new players visible to `remove_leavers`.
                (admit_joiners, remove_leavers)
                    .chain()
                    .run_if(resource_exists::<NetServer>),
                track_roster,
            )
                .in_set(GameSystems::Rooms),
        );
}

// ---------------------------------------------------------------------------------------------
// Wire

/// One participant as shown to others; `addr` only reaches the hosting operator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PlayerInfo {
    pub id: ClientId,
    pub name: String,
    pub addr: Option<String>,
}

/// The server's answer to an accepted handshake.
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

impl From<Welcome> for ServerMsg {
    fn from(welcome: Welcome) -> Self {
        ServerMsg::Welcome(welcome)
    }
}

impl From<RoomUpdate> for ServerMsg {
    fn from(update: RoomUpdate) -> Self {
        ServerMsg::Room(update)
    }
}

// ---------------------------------------------------------------------------------------------
// Rules

/// Server-wide room limits.
#[derive(Resource, Clone, Debug)]
pub struct RoomConfig {
    pub default_room: String,
    pub room_size: u16,
    pub max_rooms: u16,
}

impl Default for RoomConfig {
    fn default() -> Self {
        Self {
            default_room: "lobby".into(),
            room_size: 12,
            max_rooms: 256,
        }
    }
}

/// A room: its members in the order they joined, and its host.
#[derive(Component, Debug, Clone)]
pub struct Room {
    pub name: String,
    pub capacity: u16,
    pub is_default: bool,
    members: Vec<Member>,
    host: Option<ClientId>,
}

#[derive(Debug, Clone)]
struct Member {
    id: ClientId,
    name: String,
    key: String,
    addr: SocketAddr,
    operator: bool,
}

impl Member {
    fn info(&self, with_addr: bool) -> PlayerInfo {
        PlayerInfo {
            id: self.id,
            name: self.name.clone(),
            addr: with_addr.then(|| self.addr.to_string()),
        }
    }
}

impl Room {
    pub fn new(name: &str, capacity: u16, is_default: bool) -> Self {
        Self {
            name: name.into(),
            capacity,
            is_default,
            members: Vec::new(),
            host: None,
        }
    }

    /// Members, longest-present first.
    pub fn members(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.members.iter().map(|m| m.id)
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn host(&self) -> Option<ClientId> {
        self.host
    }

    pub fn name_of(&self, id: ClientId) -> Option<&str> {
        self.members.iter().find(|m| m.id == id).map(|m| m.name.as_str())
    }

    pub fn contains(&self, id: ClientId) -> bool {
        self.members.iter().any(|m| m.id == id)
    }

    /// Whether a player whose name has `key` may join.
    pub fn admission(&self, name: &str, key: &str) -> Result<(), Rejection> {
        if self.members.iter().any(|m| m.key == key) {
            return Err(Rejection::NameTaken(name.into()));
        }
        if self.members.len() >= self.capacity as usize {
            return Err(Rejection::RoomFull {
                room: self.name.clone(),
                capacity: self.capacity,
            });
        }
        Ok(())
    }

    /// Adds a member; returns whether the host changed. The hosting operator always hosts
    /// the default room; otherwise the first member hosts.
    pub fn add(&mut self, id: ClientId, name: &str, addr: SocketAddr, operator: bool) -> bool {
        let key = name_key(name);
        self.members.push(Member {
            id,
            name: name.into(),
            key,
            addr,
            operator,
        });
        let take_over = self.host.is_none() || (operator && self.is_default);
        if take_over {
            self.host = Some(id);
        }
        take_over
    }

    /// Removes a member; returns the new host if the host left and someone remains.
    pub fn remove(&mut self, id: ClientId) -> Option<ClientId> {
        self.members.retain(|m| m.id != id);
        if self.host != Some(id) {
            return None;
        }
        self.host = self.members.first().map(|m| m.id);
        self.host
    }

    /// Everyone in the room as `viewer` may see them (addresses for the operator only).
    pub fn roster_for(&self, viewer_is_operator: bool) -> Vec<PlayerInfo> {
        self.members.iter().map(|m| m.info(viewer_is_operator)).collect()
    }

    /// Splits members into the operator(s), who see addresses, and everyone else.
    fn audiences(&self, except: Option<ClientId>) -> (Vec<ClientId>, Vec<ClientId>) {
        let (ops, rest): (Vec<&Member>, Vec<&Member>) = self
            .members
            .iter()
            .filter(|m| Some(m.id) != except)
            .partition(|m| m.operator);
        (
            ops.iter().map(|m| m.id).collect(),
            rest.iter().map(|m| m.id).collect(),
        )
    }
}

/// Where an accepted handshake puts the player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinPlan {
    pub name: String,
    pub name_key: String,
    pub room_name: String,
    pub room_key: String,
    /// The room does not exist yet and will be created.
    pub create: bool,
}

/// Decides a handshake: the name and room rules, capacity and the room limit.
pub fn plan_join<'a>(
    config: &RoomConfig,
    raw_name: &str,
    raw_room: Option<&str>,
    find_room: impl Fn(&str) -> Option<&'a Room>,
    room_count: usize,
) -> Result<JoinPlan, Rejection> {
    let name = names::normalize_name(raw_name).map_err(Rejection::InvalidName)?;
    let room_name = match raw_room {
        Some(room) => names::normalize_name(room).map_err(Rejection::InvalidRoomName)?,
        None => config.default_room.clone(),
    };
    let room_key = name_key(&room_name);
    let name_key = name_key(&name);
    let create = match find_room(&room_key) {
        Some(room) => {
            room.admission(&name, &name_key)?;
            false
        }
        None if room_count >= config.max_rooms as usize => {
            return Err(Rejection::TooManyRooms {
                max: config.max_rooms,
            });
        }
        None => true,
    };
    Ok(JoinPlan {
        name,
        name_key,
        room_name,
        room_key,
        create,
    })
}

// ---------------------------------------------------------------------------------------------
// Server systems

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
}

impl RoomIndex {
    pub fn player(&self, id: ClientId) -> Option<Entity> {
        self.players.get(&id).copied()
    }
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }
}

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

/// What admitting a player sends.
#[derive(bevy::ecs::system::SystemParam)]
struct AdmissionOutput<'w> {
    welcomes: MessageWriter<'w, ToClients<Welcome>>,
    updates: MessageWriter<'w, ToClients<RoomUpdate>>,
    refusals: MessageWriter<'w, DisconnectClient>,
    joined: MessageWriter<'w, PlayerJoined>,
}

fn admit_joiners(
    mut commands: Commands,
    config: Res<RoomConfig>,
    mut index: ResMut<RoomIndex>,
    mut requests: MessageReader<JoinRequested>,
    mut rooms: Query<&mut Room>,
    mut out: AdmissionOutput,
) {
    // Rooms spawned in this run are not in the query until commands apply.
    let mut created: HashMap<Entity, Room> = HashMap::new();
    for request in requests.read() {
        let plan = plan_join(
            &config,
            &request.name,
            request.room.as_deref(),
            |key| {
                let entity = *index.rooms.get(key)?;
                created.get(&entity).or_else(|| rooms.get(entity).ok())
            },
            index.rooms.len(),
        );
        let plan = match plan {
            Ok(plan) => plan,
            Err(rejection) => {
                info!("refused {} from {}: {rejection}", request.client, request.addr);
                out.refusals.write(DisconnectClient {
                    client: request.client,
                    reason: CloseReason::Rejected(rejection),
                });
                continue;
            }
        };
        let room_entity = if plan.create {
            let is_default = plan.room_key == name_key(&config.default_room);
            let entity = commands.spawn(Name::new(format!("room {}", plan.room_name))).id();
            index.rooms.insert(plan.room_key.clone(), entity);
            created.insert(entity, Room::new(&plan.room_name, config.room_size, is_default));
            entity
        } else {
            index.rooms[&plan.room_key]
        };
        let room: &mut Room = match created.get_mut(&room_entity) {
            Some(room) => room,
            None => match rooms.get_mut(room_entity) {
                Ok(room) => room.into_inner(),
                Err(_) => continue,
            },
        };
        let previous_host = room.host();
        room.add(request.client, &plan.name, request.addr, request.operator);
        out.welcomes.write(ToClients {
            to: Recipients::One(request.client),
            msg: Welcome {
                you: request.client,
                room: room.name.clone(),
                capacity: room.capacity,
                players: room.roster_for(request.operator),
                host: room.host(),
            },
        });
        let newcomer = room.roster_for(true).pop().expect("just added");
        let (ops, rest) = room.audiences(Some(request.client));
        if !ops.is_empty() {
            out.updates.write(ToClients {
                to: Recipients::Many(ops),
                msg: RoomUpdate::Joined(newcomer.clone()),
            });
        }
        if !rest.is_empty() {
            let public = PlayerInfo {
                addr: None,
                ..newcomer
            };
            out.updates.write(ToClients {
                to: Recipients::Many(rest),
                msg: RoomUpdate::Joined(public),
            });
        }
        if previous_host.is_some() && room.host() != previous_host {
            out.updates.write(ToClients {
                to: Recipients::Many(room.members().filter(|&id| id != request.client).collect()),
                msg: RoomUpdate::HostChanged(request.client),
            });
        }
        info!("{} ({}) joined room {}", plan.name, request.addr, plan.room_name);
        let player = Player {
            id: request.client,
            name: plan.name.clone(),
            addr: request.addr,
            room: room_entity,
            operator: request.operator,
        };
        let entity = commands
            .spawn((Name::new(format!("player {}", plan.name)), player))
            .id();
        index.players.insert(request.client, entity);
        out.joined.write(PlayerJoined {
            client: request.client,
            name: plan.name,
            room: room_entity,
        });
    }
    for (entity, room) in created {
        commands.entity(entity).insert(room);
    }
}

fn remove_leavers(
    mut commands: Commands,
    mut index: ResMut<RoomIndex>,
    mut disconnected: MessageReader<ClientDisconnected>,
    mut rooms: Query<&mut Room>,
    players: Query<&Player>,
    mut updates: MessageWriter<ToClients<RoomUpdate>>,
    mut left: MessageWriter<PlayerLeft>,
) {
    for ClientDisconnected { client, reason } in disconnected.read() {
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
            updates.write(ToClients {
                to: Recipients::Many(remaining.clone()),
                msg: RoomUpdate::Left {
                    id: *client,
                    reason: reason.clone(),
                },
            });
            if let Some(host) = new_host {
                updates.write(ToClients {
                    to: Recipients::Many(remaining.clone()),
                    msg: RoomUpdate::HostChanged(host),
                });
            }
        } else if !room.is_default {
            index.rooms.remove(&name_key(&room.name));
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

// ---------------------------------------------------------------------------------------------
// Client

/// The room this client is in, as the server last described it.
#[derive(Resource, Default, Debug, Clone)]
pub struct Roster {
    pub me: Option<ClientId>,
    pub room: String,
    pub capacity: u16,
    pub players: Vec<PlayerInfo>,
    pub host: Option<ClientId>,
}

impl Roster {
    pub fn name_of(&self, id: ClientId) -> Option<&str> {
        self.players.iter().find(|p| p.id == id).map(|p| p.name.as_str())
    }
}

fn track_roster(
    mut roster: ResMut<Roster>,
    mut welcomes: MessageReader<FromServer<Welcome>>,
    mut updates: MessageReader<FromServer<RoomUpdate>>,
    mut ended: MessageReader<ConnectionEnded>,
) {
    for FromServer(welcome) in welcomes.read() {
        *roster = Roster {
            me: Some(welcome.you),
            room: welcome.room.clone(),
            capacity: welcome.capacity,
            players: welcome.players.clone(),
            host: welcome.host,
        };
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
    if ended.read().last().is_some() {
        roster.me = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::NameError;

    fn addr() -> SocketAddr {
        "127.0.0.1:5000".parse().unwrap()
    }

    fn config() -> RoomConfig {
        RoomConfig {
            default_room: "lobby".into(),
            room_size: 2,
            max_rooms: 2,
        }
    }

    #[test]
    fn first_member_hosts_and_the_longest_present_takes_over() {
        let mut room = Room::new("r", 12, false);
        assert!(room.add(ClientId(1), "a", addr(), false));
        assert!(!room.add(ClientId(2), "b", addr(), false));
        room.add(ClientId(3), "c", addr(), false);
        assert_eq!(room.host(), Some(ClientId(1)));
        assert_eq!(room.remove(ClientId(2)), None, "a guest leaving changes no host");
        assert_eq!(room.remove(ClientId(1)), Some(ClientId(3)));
        assert_eq!(room.remove(ClientId(3)), None);
        assert!(room.is_empty());
    }

    #[test]
    fn the_operator_hosts_the_default_room_even_when_late() {
        let mut room = Room::new("lobby", 12, true);
        room.add(ClientId(1), "a", addr(), false);
        assert!(room.add(ClientId(2), "host", addr(), true));
        assert_eq!(room.host(), Some(ClientId(2)));
        let mut other = Room::new("other", 12, false);
        other.add(ClientId(1), "a", addr(), false);
        assert!(!other.add(ClientId(2), "host", addr(), true));
    }

    #[test]
    fn plans_reject_bad_names_taken_names_full_rooms_and_too_many_rooms() {
        let cfg = config();
        let mut lobby = Room::new("lobby", 2, true);
        lobby.add(ClientId(1), "Alice", addr(), false);
        let find = |key: &str| (key == "lobby").then_some(&lobby);

        let plan = plan_join(&cfg, " Bob ", None, find, 1).unwrap();
        assert_eq!(
            (plan.name.as_str(), plan.room_name.as_str(), plan.create),
            ("Bob", "lobby", false)
        );
        assert_eq!(
            plan_join(&cfg, "", None, find, 1),
            Err(Rejection::InvalidName(NameError::Empty))
        );
        assert_eq!(
            plan_join(&cfg, "ALICE", None, find, 1),
            Err(Rejection::NameTaken("ALICE".into()))
        );
        assert_eq!(
            plan_join(&cfg, "ａｌｉｃｅ", Some("LOBBY"), find, 1),
            Err(Rejection::NameTaken("alice".into()))
        );
        assert_eq!(
            plan_join(&cfg, "Bob", Some("a/b"), find, 1),
            Err(Rejection::InvalidRoomName(NameError::PathSeparator))
        );
        let created = plan_join(&cfg, "Bob", Some("새 방"), find, 1).unwrap();
        assert!(created.create);
        assert_eq!(
            plan_join(&cfg, "Bob", Some("third"), find, 2),
            Err(Rejection::TooManyRooms { max: 2 })
        );

        lobby.add(ClientId(2), "Bob", addr(), false);
        let find = |key: &str| (key == "lobby").then_some(&lobby);
        assert_eq!(
            plan_join(&cfg, "Carol", None, find, 1),
            Err(Rejection::RoomFull {
                room: "lobby".into(),
                capacity: 2
            })
        );
    }
}
