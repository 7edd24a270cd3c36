//! The rules of rooms as plain Rust: limits, members in the order they joined, the host and
//! who takes over, and where a join request puts a player.

use std::net::SocketAddr;

use bevy::prelude::{Component, Resource};

use super::wire::{PlayerInfo, Rejection};
use crate::id::ClientId;
use crate::names::{self, name_key};
/// Server-wide room limits.
#[derive(Resource, Clone, Debug)]
pub struct RoomConfig {
    pub default_room: String,
    pub room_size: u16,
    pub max_rooms: u16,
    /// How long a connection has, after the network handshake, to ask to join a room.
    pub join_timeout: std::time::Duration,
    /// Rooms that players from one address may have made and that still exist.
    pub rooms_per_address: u16,
    /// How long a player's seat (name, score, turn) is kept after their connection drops;
    /// zero keeps none.
    pub seat_hold: std::time::Duration,
}

impl Default for RoomConfig {
    fn default() -> Self {
        Self {
            default_room: "lobby".into(),
            room_size: 12,
            max_rooms: 256,
            join_timeout: std::time::Duration::from_secs(10),
            rooms_per_address: 4,
            seat_hold: std::time::Duration::from_secs(60),
        }
    }
}

/// Whether a player whose address made `made` of the rooms that exist may make another.
pub fn may_make_a_room(config: &RoomConfig, made: usize) -> Result<(), Rejection> {
    if made >= config.rooms_per_address as usize {
        return Err(Rejection::TooManyRoomsFromAddress {
            max: config.rooms_per_address,
        });
    }
    Ok(())
}

/// What a room is doing, for the room list: kept by the plugins that know (the quiz), read by
/// the rooms plugin when a browsing connection asks.
#[derive(Component, Debug, Default, Clone, PartialEq, Eq)]
pub struct RoomActivity {
    /// A game is running.
    pub playing: bool,
    /// The language of the words of the room's last game (`ko`, `en`, `custom`).
    pub language: Option<String>,
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
    /// The connection dropped; the seat is held.
    away: bool,
}

impl Member {
    fn info(&self, with_addr: bool) -> PlayerInfo {
        PlayerInfo {
            id: self.id,
            name: self.name.clone(),
            addr: with_addr.then(|| self.addr.to_string()),
            away: self.away,
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
            away: false,
        });
        let take_over = self.host.is_none() || (operator && self.is_default);
        if take_over {
            self.host = Some(id);
        }
        take_over
    }

    /// Members whose connection is up.
    pub fn present(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.members.iter().filter(|m| !m.away).map(|m| m.id)
    }

    /// Holds `id`'s seat while their connection is down; returns whether they were here.
    pub fn hold_seat(&mut self, id: ClientId) -> bool {
        self.members
            .iter_mut()
            .find(|m| m.id == id)
            .map(|m| m.away = true)
            .is_some()
    }

    /// Gives `id` their held seat back, now reached at `addr`; returns whether it was held.
    pub fn give_seat_back(&mut self, id: ClientId, addr: SocketAddr) -> bool {
        match self.members.iter_mut().find(|m| m.id == id && m.away) {
            Some(member) => {
                member.away = false;
                member.addr = addr;
                true
            }
            None => false,
        }
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
    pub(super) fn audiences(&self, except: Option<ClientId>) -> (Vec<ClientId>, Vec<ClientId>) {
        let (ops, rest): (Vec<&Member>, Vec<&Member>) = self
            .members
            .iter()
            .filter(|m| Some(m.id) != except && !m.away)
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

/// Decides a handshake: the name and room rules, capacity and the room limit (`room_count`:
/// the rooms other than the default one).
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
        // The default room never counts against the cap and can always be made.
        None if room_key != crate::names::name_key(&config.default_room)
            && room_count >= config.max_rooms as usize =>
        {
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
            ..RoomConfig::default()
        }
    }

    #[test]
    fn an_address_makes_at_most_its_share_of_rooms() {
        let cfg = RoomConfig::default();
        assert!((0..4).all(|made| may_make_a_room(&cfg, made).is_ok()));
        assert_eq!(
            may_make_a_room(&cfg, 4),
            Err(Rejection::TooManyRoomsFromAddress { max: 4 })
        );
    }

    #[test]
    fn first_member_hosts_and_the_longest_present_takes_over() {
        let mut room = Room::new("r", 12, false);
        assert!(room.add(ClientId(1), "a", addr(), false));
        assert!(!room.add(ClientId(2), "b", addr(), false));
        room.add(ClientId(3), "c", addr(), false);
        assert_eq!(room.host(), Some(ClientId(1)));
        // With 2 and 3 both present, the one who came first must take over.
        assert_eq!(room.remove(ClientId(1)), Some(ClientId(2)));
        assert_eq!(room.remove(ClientId(3)), None, "a guest leaving changes no host");
        assert_eq!(room.remove(ClientId(2)), None);
        assert!(room.is_empty());
    }

    #[test]
    fn a_held_seat_keeps_the_name_and_the_place() {
        let mut room = Room::new("r", 2, false);
        room.add(ClientId(1), "Alice", addr(), false);
        room.add(ClientId(2), "Bob", addr(), false);
        assert!(room.hold_seat(ClientId(1)));
        assert!(room.roster_for(false)[0].away);
        assert_eq!(room.present().collect::<Vec<_>>(), vec![ClientId(2)]);
        assert_eq!(
            room.admission("alice", &name_key("alice")),
            Err(Rejection::NameTaken("alice".into())),
            "the held name is taken"
        );
        assert!(matches!(
            room.admission("Carol", &name_key("Carol")),
            Err(Rejection::RoomFull { .. })
        ));
        let moved: SocketAddr = "127.0.0.9:6000".parse().unwrap();
        assert!(room.give_seat_back(ClientId(1), moved));
        assert!(
            !room.give_seat_back(ClientId(1), moved),
            "only a held seat comes back"
        );
        assert_eq!(room.roster_for(true)[0].addr.as_deref(), Some("127.0.0.9:6000"));
        assert!(!room.hold_seat(ClientId(7)));
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
        // With the cap reached by other rooms, the lobby can still be made.
        let nothing = |_: &str| None;
        assert!(plan_join(&cfg, "Bob", None, nothing, 2).unwrap().create);
        assert!(
            plan_join(&cfg, "Bob", Some("ＬＯＢＢＹ"), nothing, 2)
                .unwrap()
                .create
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
