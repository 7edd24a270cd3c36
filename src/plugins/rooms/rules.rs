//! The rules of rooms as plain Rust: limits, members in the order they joined, the host and
//! who takes over, and where a join request puts a player.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bevy::prelude::{Component, Resource};

use super::wire::{PlayerInfo, Rejection};
use crate::id::ClientId;
use crate::names::{self, name_key};
use crate::plugins::net::address_key;
/// The default room's name on the wire (players read it in their language: `room_label`).
pub const LOBBY: &str = "lobby";

/// Server-wide room limits.
#[derive(Resource, Clone, Debug)]
pub struct RoomConfig {
    pub default_room: String,
    pub room_size: u16,
    pub max_rooms: u16,
    /// How long a connection has, after the network handshake, to ask to join a room.
    pub join_timeout: Duration,
    /// Rooms that players from one address may have made and that still exist.
    pub rooms_per_address: u16,
    /// How long a player's seat (name, score, turn) is kept after their connection drops;
    /// zero keeps none.
    pub seat_hold: Duration,
    /// Spectators a room takes besides its players (they take no player's seat).
    pub spectators: u16,
    /// Seats, held ones included, that players from one address may have in all rooms (as
    /// many as its connections): past it, its own seat held longest gives way to a new join.
    pub seats_per_address: u16,
}

/// Spectators a room takes by default.
pub const DEFAULT_SPECTATORS: u16 = 8;

impl Default for RoomConfig {
    fn default() -> Self {
        Self {
            default_room: LOBBY.into(),
            room_size: 12,
            max_rooms: 256,
            join_timeout: Duration::from_secs(10),
            rooms_per_address: 4,
            seat_hold: Duration::from_secs(60),
            spectators: DEFAULT_SPECTATORS,
            seats_per_address: 16,
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
    /// A turn is being chosen or drawn: players and spectators change places when it ends.
    pub turn: bool,
}

/// A room: its members in the order they joined, and its host.
#[derive(Component, Debug, Clone)]
pub struct Room {
    pub name: String,
    /// Players (spectators aside).
    pub capacity: u16,
    /// Spectators.
    pub spectator_capacity: u16,
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
    /// Until when a held seat is kept, on the server's clock.
    held_until: Duration,
    /// Watches: never draws, guesses or scores.
    spectator: bool,
    /// Asked to become a spectator (`true`) or a player, once the turn ends.
    wants: Option<bool>,
}

impl Member {
    fn info(&self, with_addr: bool) -> PlayerInfo {
        PlayerInfo {
            id: self.id,
            name: self.name.clone(),
            addr: with_addr.then(|| self.addr.to_string()),
            away: self.away,
            spectator: self.spectator,
        }
    }
}

/// What became of a request to watch or to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    Now,
    /// It waits for the end of the turn.
    AtTurnEnd,
    /// It asked back what the member is: the change that waited is dropped.
    Cancelled,
}

/// Why a player cannot change between playing and watching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
pub enum RoleRefusal {
    #[error("you are doing that already")]
    AlreadyThat,
    #[error("you changed a moment ago; wait a few seconds")]
    TooSoon,
    #[error("the room's {capacity} player seats are taken")]
    PlayersFull { capacity: u16 },
    #[error("the room's {capacity} spectator places are taken")]
    SpectatorsFull { capacity: u16 },
}

impl Room {
    pub fn new(name: &str, capacity: u16, is_default: bool) -> Self {
        Self {
            name: name.into(),
            capacity,
            spectator_capacity: DEFAULT_SPECTATORS,
            is_default,
            members: Vec::new(),
            host: None,
        }
    }

    /// With room for this many spectators.
    pub fn with_spectators(mut self, capacity: u16) -> Self {
        self.spectator_capacity = capacity;
        self
    }

    /// Members (players and spectators), longest-present first.
    pub fn members(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.members.iter().map(|m| m.id)
    }

    /// The members who play (not spectators), longest-present first.
    pub fn players(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.members.iter().filter(|m| !m.spectator).map(|m| m.id)
    }

    /// The members who watch.
    pub fn spectators(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.members.iter().filter(|m| m.spectator).map(|m| m.id)
    }

    pub fn is_spectator(&self, id: ClientId) -> bool {
        self.members.iter().any(|m| m.id == id && m.spectator)
    }

    fn count(&self, spectators: bool) -> usize {
        self.members.iter().filter(|m| m.spectator == spectators).count()
    }

    /// Whether there is a free place among the spectators (`true`) or the players.
    fn has_room_for(&self, spectator: bool) -> Result<(), RoleRefusal> {
        match spectator {
            true if self.count(true) >= self.spectator_capacity as usize => {
                Err(RoleRefusal::SpectatorsFull {
                    capacity: self.spectator_capacity,
                })
            }
            false if self.count(false) >= self.capacity as usize => Err(RoleRefusal::PlayersFull {
                capacity: self.capacity,
            }),
            _ => Ok(()),
        }
    }

    /// `id` asks to watch (`spectate`) or to play: the change is made at once, or waits for
    /// the end of the turn (`turn`: one is under way).
    pub fn ask_role(&mut self, id: ClientId, spectate: bool, turn: bool) -> Result<RoleChange, RoleRefusal> {
        // The server asks only for members.
        let Some(i) = self.members.iter().position(|m| m.id == id) else {
            return Ok(RoleChange::Cancelled);
        };
        if self.members[i].spectator == spectate {
            // Asking back what one is cancels a change that waits.
            return match self.members[i].wants.take() {
                Some(_) => Ok(RoleChange::Cancelled),
                None => Err(RoleRefusal::AlreadyThat),
            };
        }
        self.has_room_for(spectate)?;
        let member = &mut self.members[i];
        if turn {
            member.wants = Some(spectate);
            return Ok(RoleChange::AtTurnEnd);
        }
        member.wants = None;
        member.spectator = spectate;
        Ok(RoleChange::Now)
    }

    /// Makes the changes that waited for the turn to end: who changed, and to what (a change
    /// that no longer fits is refused).
    pub fn settle_roles(&mut self) -> Vec<(ClientId, Result<bool, RoleRefusal>)> {
        let mut changed = Vec::new();
        for i in 0..self.members.len() {
            let Some(spectate) = self.members[i].wants.take() else {
                continue;
            };
            let result = self.has_room_for(spectate).map(|()| {
                self.members[i].spectator = spectate;
                spectate
            });
            changed.push((self.members[i].id, result));
        }
        changed
    }

    /// Some member waits to change between playing and watching.
    pub fn roles_waiting(&self) -> bool {
        self.members.iter().any(|m| m.wants.is_some())
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

    /// Whether a player (or a spectator, `spectate`) whose name has `key` may join at `now`.
    /// A name whose seat is held for a dropped connection says for how long.
    pub fn admission(&self, name: &str, key: &str, spectate: bool, now: Duration) -> Result<(), Rejection> {
        if let Some(member) = self.members.iter().find(|m| m.key == key) {
            return Err(match member.away {
                true => Rejection::NameHeld {
                    name: name.into(),
                    secs: member
                        .held_until
                        .saturating_sub(now)
                        .as_secs()
                        .clamp(1, u16::MAX as u64) as u16,
                },
                false => Rejection::NameTaken(name.into()),
            });
        }
        self.has_room_for(spectate).map_err(|full| match full {
            RoleRefusal::SpectatorsFull { capacity } => Rejection::SpectatorsFull {
                room: self.name.clone(),
                capacity,
            },
            _ => Rejection::RoomFull {
                room: self.name.clone(),
                capacity: self.capacity,
            },
        })
    }

    /// Adds a player; returns whether the host changed. The hosting operator always hosts
    /// the default room; otherwise the first member hosts.
    pub fn add(&mut self, id: ClientId, name: &str, addr: SocketAddr, operator: bool) -> bool {
        self.add_member(id, name, addr, operator, false)
    }

    /// Adds a player or a spectator (see [`Room::add`]).
    pub fn add_member(
        &mut self,
        id: ClientId,
        name: &str,
        addr: SocketAddr,
        operator: bool,
        spectator: bool,
    ) -> bool {
        let key = name_key(name);
        self.members.push(Member {
            id,
            name: name.into(),
            key,
            addr,
            operator,
            away: false,
            held_until: Duration::ZERO,
            spectator,
            wants: None,
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

    /// Holds `id`'s seat while their connection is down, until `until` (a change between
    /// playing and watching they waited for is dropped); returns whether they were here.
    pub fn hold_seat(&mut self, id: ClientId, until: Duration) -> bool {
        self.members
            .iter_mut()
            .find(|m| m.id == id)
            .map(|m| {
                m.away = true;
                m.held_until = until;
                m.wants = None;
            })
            .is_some()
    }

    /// Free places among the players (or the spectators, `spectator`).
    pub fn free_places(&self, spectator: bool) -> usize {
        let capacity = match spectator {
            true => self.spectator_capacity,
            false => self.capacity,
        };
        (capacity as usize).saturating_sub(self.count(spectator))
    }

    /// The held seats among the players (or the spectators), held longest first: the first
    /// gives way to a newcomer who finds no place (a newcomer does not wait for a connection
    /// that may never come back).
    pub fn held_seats(&self, spectator: bool) -> Vec<ClientId> {
        let mut held: Vec<(Duration, ClientId)> = self
            .members
            .iter()
            .filter(|m| m.away && m.spectator == spectator)
            .map(|m| (m.held_until, m.id))
            .collect();
        held.sort_unstable();
        held.into_iter().map(|(_, id)| id).collect()
    }

    /// The seats at `addr` (as [`address_key`] keys it): how many, and the held ones with
    /// when their holds end.
    pub fn seats_at(&self, addr: IpAddr) -> (usize, Vec<(Duration, ClientId)>) {
        let mine = self.members.iter().filter(|m| address_key(m.addr.ip()) == addr);
        let held = mine
            .clone()
            .filter(|m| m.away)
            .map(|m| (m.held_until, m.id))
            .collect();
        (mine.count(), held)
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
        // The longest-present player takes over; a spectator only when no one plays.
        self.host = self
            .members
            .iter()
            .find(|m| !m.spectator)
            .or(self.members.first())
            .map(|m| m.id);
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

/// Where an accepted handshake puts the player: the whole decision, applied as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinPlan {
    pub name: String,
    pub name_key: String,
    pub room_name: String,
    pub room_key: String,
    /// The room does not exist yet: it is made for this player, who is its first member.
    pub create: bool,
    /// A held seat to give up first (asked for with `yield_held`): the room's held seat the
    /// joiner takes the place of, or else the address's own seat held longest when the address
    /// has its [`RoomConfig::seats_per_address`]. One at most: a join frees one place.
    pub yields: Option<ClientId>,
}

/// What deciding a join needs to know of the server besides the request: the rooms, the room
/// cap's count, what the joiner's address made, its kick bans, and its joins' rate.
pub trait JoinFacts {
    /// The room of this key, if it exists.
    fn room(&self, key: &str) -> Option<&Room>;
    /// The rooms counted against the cap (every room but the default one).
    fn counted_rooms(&self) -> usize;
    /// The rooms the joiner's address made that still exist.
    fn made_by_address(&self) -> usize;
    /// Whether a kick keeps this name (or the joiner's address) out of this room.
    fn kicked(&self, room_key: &str, name_key: &str) -> Result<(), Rejection>;
    /// Whether this name may join this room again now (spends one of its joins).
    fn may_join_again(&mut self, room_key: &str, name_key: &str) -> bool;
    /// The joiner's address's seats in all rooms (with the joins from it ahead of this one),
    /// and its seat held longest that may give way, if one is held.
    fn address_seats(&self) -> (usize, Option<ClientId>);
    /// Joins ahead of this one (in the same batch, not seated yet) to this room, as players or
    /// as spectators: the places they will take.
    fn joins_ahead(&self, _room_key: &str, _spectator: bool) -> usize {
        0
    }
    /// Whether this held seat must not give way (its player is coming back in this batch).
    fn keeps_seat(&self, _id: ClientId) -> bool {
        false
    }
}

/// Decides a handshake, wholly: the name and room rules, the room cap and the address's share
/// for a room to be made, the room's admission (names, places, spectator places) checked
/// against the room as it would be made, kick bans and the join rate. Whatever it refuses
/// changes nothing (but the join rate spent by a join that got that far).
///
/// With `yield_held` (looking ahead, before the batch's joins are seated), a room full of held
/// seats admits the joiner in place of one, or else an address at its share of seats gives up
/// its own seat held longest ([`JoinPlan::yields`]); without it, a full room refuses.
pub fn plan_join(
    config: &RoomConfig,
    (raw_name, raw_room, spectate): (&str, Option<&str>, bool),
    facts: &mut impl JoinFacts,
    now: Duration,
    yield_held: bool,
) -> Result<JoinPlan, Rejection> {
    let name = names::normalize_name(raw_name).map_err(Rejection::InvalidName)?;
    let room_name = match raw_room {
        Some(room) => names::normalize_name(room).map_err(Rejection::InvalidRoomName)?,
        None => config.default_room.clone(),
    };
    let room_key = name_key(&room_name);
    let is_default = room_key == name_key(&config.default_room);
    // The default room has its own spelling, whoever makes it (as "LOBBY" or a look-alike).
    let room_name = if is_default {
        config.default_room.clone()
    } else {
        room_name
    };
    let name_key = name_key(&name);
    let mut yields = None;
    let create = match facts.room(&room_key) {
        Some(room) => {
            match (room.admission(&name, &name_key, spectate, now), yield_held) {
                (Ok(()), false) => {}
                (Ok(()) | Err(Rejection::RoomFull { .. } | Rejection::SpectatorsFull { .. }), true) => {
                    // The places the joins ahead of this one will take count as taken.
                    if room.free_places(spectate) <= facts.joins_ahead(&room_key, spectate) {
                        let held = room
                            .held_seats(spectate)
                            .into_iter()
                            .find(|&id| !facts.keeps_seat(id));
                        let Some(held) = held else {
                            return Err(Rejection::RoomFull {
                                room: room.name.clone(),
                                capacity: room.capacity,
                            });
                        };
                        yields = Some(held);
                    }
                }
                (Err(refused), _) => return Err(refused),
            }
            false
        }
        None => {
            // The default room never counts against the cap and can always be made.
            if !is_default {
                if facts.counted_rooms() >= config.max_rooms as usize {
                    return Err(Rejection::TooManyRooms {
                        max: config.max_rooms,
                    });
                }
                may_make_a_room(config, facts.made_by_address())?;
            }
            new_room(config, &room_name, is_default).admission(&name, &name_key, spectate, now)?;
            true
        }
    };
    facts.kicked(&room_key, &name_key)?;
    if !facts.may_join_again(&room_key, &name_key) {
        return Err(Rejection::TooManyJoins);
    }
    if yield_held
        && yields.is_none()
        && let (seats, Some(held)) = facts.address_seats()
        && seats >= config.seats_per_address as usize
    {
        yields = Some(held);
    }
    Ok(JoinPlan {
        name,
        name_key,
        room_name,
        room_key,
        create,
        yields,
    })
}

/// A room as the server makes it for its first member.
pub fn new_room(config: &RoomConfig, name: &str, is_default: bool) -> Room {
    Room::new(name, config.room_size, is_default).with_spectators(config.spectators)
}

impl crate::i18n::Describe for RoleRefusal {
    fn describe(&self) -> String {
        match self {
            RoleRefusal::AlreadyThat => crate::t!("err-role-already"),
            RoleRefusal::TooSoon => crate::t!("err-role-too-soon"),
            RoleRefusal::PlayersFull { capacity } => crate::t!("err-role-players-full", capacity = *capacity),
            RoleRefusal::SpectatorsFull { capacity } => {
                crate::t!("err-role-spectators-full", capacity = *capacity)
            }
        }
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
        assert!(room.hold_seat(ClientId(1), Duration::from_secs(60)));
        assert!(room.roster_for(false)[0].away);
        assert_eq!(room.present().collect::<Vec<_>>(), vec![ClientId(2)]);
        assert_eq!(
            room.admission("alice", &name_key("alice"), false, Duration::from_secs(15)),
            Err(Rejection::NameHeld {
                name: "alice".into(),
                secs: 45
            }),
            "the held name is taken, and says for how long"
        );
        assert_eq!(
            room.admission("bob", &name_key("bob"), false, Duration::ZERO),
            Err(Rejection::NameTaken("bob".into())),
            "a present player's name is taken"
        );
        assert!(matches!(
            room.admission("Carol", &name_key("Carol"), false, Duration::ZERO),
            Err(Rejection::RoomFull { .. })
        ));
        let moved: SocketAddr = "127.0.0.9:6000".parse().unwrap();
        assert!(room.give_seat_back(ClientId(1), moved));
        assert!(
            !room.give_seat_back(ClientId(1), moved),
            "only a held seat comes back"
        );
        assert_eq!(room.roster_for(true)[0].addr.as_deref(), Some("127.0.0.9:6000"));
        assert!(!room.hold_seat(ClientId(7), Duration::from_secs(60)));
    }

    #[test]
    fn spectators_take_no_player_seat_and_have_their_own_cap() {
        let mut room = Room::new("r", 2, false).with_spectators(1);
        room.add(ClientId(1), "Ann", addr(), false);
        room.add(ClientId(2), "Bob", addr(), false);
        assert!(matches!(
            room.admission("Cat", &name_key("Cat"), false, Duration::ZERO),
            Err(Rejection::RoomFull { capacity: 2, .. })
        ));
        assert_eq!(
            room.admission("Cat", &name_key("Cat"), true, Duration::ZERO),
            Ok(())
        );
        room.add_member(ClientId(3), "Cat", addr(), false, true);
        assert!(matches!(
            room.admission("Dan", &name_key("Dan"), true, Duration::ZERO),
            Err(Rejection::SpectatorsFull { capacity: 1, .. })
        ));
        assert_eq!(
            room.admission("cat", &name_key("cat"), false, Duration::ZERO),
            Err(Rejection::NameTaken("cat".into())),
            "a spectator's name is taken too"
        );
        assert_eq!(room.players().collect::<Vec<_>>(), [ClientId(1), ClientId(2)]);
        assert_eq!(room.spectators().collect::<Vec<_>>(), [ClientId(3)]);
        assert!(room.is_spectator(ClientId(3)) && !room.is_spectator(ClientId(1)));
        assert!(room.roster_for(false)[2].spectator);
    }

    #[test]
    fn players_and_spectators_change_places_at_the_end_of_the_turn() {
        let mut room = Room::new("r", 2, false).with_spectators(1);
        room.add(ClientId(1), "Ann", addr(), false);
        room.add(ClientId(2), "Bob", addr(), false);
        room.add_member(ClientId(3), "Cat", addr(), false, true);
        // No free seat either way.
        assert_eq!(
            room.ask_role(ClientId(3), false, false),
            Err(RoleRefusal::PlayersFull { capacity: 2 })
        );
        assert_eq!(
            room.ask_role(ClientId(1), true, false),
            Err(RoleRefusal::SpectatorsFull { capacity: 1 })
        );
        assert_eq!(
            room.ask_role(ClientId(3), true, false),
            Err(RoleRefusal::AlreadyThat)
        );
        room.remove(ClientId(3));
        // During a turn, the change waits; asking back cancels it.
        assert_eq!(room.ask_role(ClientId(1), true, true), Ok(RoleChange::AtTurnEnd));
        assert!(!room.is_spectator(ClientId(1)) && room.roles_waiting());
        assert_eq!(room.ask_role(ClientId(1), false, true), Ok(RoleChange::Cancelled));
        assert!(!room.roles_waiting());
        assert_eq!(room.ask_role(ClientId(1), true, true), Ok(RoleChange::AtTurnEnd));
        assert_eq!(room.settle_roles(), [(ClientId(1), Ok(true))]);
        assert!(room.is_spectator(ClientId(1)) && !room.roles_waiting());
        assert_eq!(room.settle_roles(), []);
        // Between turns, at once.
        assert_eq!(room.ask_role(ClientId(1), false, false), Ok(RoleChange::Now));
        assert!(!room.is_spectator(ClientId(1)));
        // A change that no longer fits when the turn ends is refused then.
        room.add_member(ClientId(4), "Dan", addr(), false, true);
        room.remove(ClientId(2));
        assert_eq!(room.ask_role(ClientId(4), false, true), Ok(RoleChange::AtTurnEnd));
        room.add(ClientId(5), "Eve", addr(), false);
        assert_eq!(
            room.settle_roles(),
            [(ClientId(4), Err(RoleRefusal::PlayersFull { capacity: 2 }))]
        );
        assert!(room.is_spectator(ClientId(4)));
        // A member whose connection drops while a change waits keeps what they were.
        room.remove(ClientId(4));
        assert_eq!(room.ask_role(ClientId(1), true, true), Ok(RoleChange::AtTurnEnd));
        room.hold_seat(ClientId(1), Duration::from_secs(60));
        assert_eq!(room.settle_roles(), []);
        assert!(!room.is_spectator(ClientId(1)));
    }

    #[test]
    fn a_player_takes_over_from_a_leaving_host_before_a_spectator() {
        let mut room = Room::new("r", 4, false);
        room.add(ClientId(1), "Ann", addr(), false);
        room.add_member(ClientId(2), "Ben", addr(), false, true);
        room.add(ClientId(3), "Cy", addr(), false);
        assert_eq!(room.remove(ClientId(1)), Some(ClientId(3)));
        // With no player left, a spectator hosts rather than nobody.
        assert_eq!(room.remove(ClientId(3)), Some(ClientId(2)));
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

    /// A server of these rooms, `counted` of them against the cap, `made` by the joiner's address.
    struct Server<'a> {
        rooms: Vec<&'a Room>,
        counted: usize,
        made: usize,
    }

    impl JoinFacts for Server<'_> {
        fn room(&self, key: &str) -> Option<&Room> {
            self.rooms.iter().find(|r| name_key(&r.name) == key).copied()
        }
        fn counted_rooms(&self) -> usize {
            self.counted
        }
        fn made_by_address(&self) -> usize {
            self.made
        }
        fn kicked(&self, _: &str, name_key: &str) -> Result<(), Rejection> {
            match name_key == "troll" {
                true => Err(Rejection::TooManyJoins),
                false => Ok(()),
            }
        }
        fn may_join_again(&mut self, _: &str, _: &str) -> bool {
            true
        }
        fn address_seats(&self) -> (usize, Option<ClientId>) {
            let at = address_key(addr().ip());
            let seats = self.rooms.iter().map(|r| r.seats_at(at));
            let count = seats.clone().map(|(n, _)| n).sum();
            (count, seats.flat_map(|(_, held)| held).min().map(|(_, id)| id))
        }
    }

    #[test]
    fn held_seats_give_way_to_newcomers() {
        let cfg = RoomConfig {
            seats_per_address: 4,
            spectators: 1,
            ..config()
        };
        // "new" asks to join `room` (as a spectator: `watch`) with these rooms on the server.
        let ask = |rooms: &[&Room], room: &str, watch: bool, yield_held: bool| {
            let mut server = Server {
                rooms: rooms.to_vec(),
                counted: rooms.len(),
                made: 0,
            };
            plan_join(
                &cfg,
                ("new", Some(room), watch),
                &mut server,
                Duration::ZERO,
                yield_held,
            )
        };
        let mut room = Room::new("r", 3, false).with_spectators(1);
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            room.add(ClientId(i as u32 + 1), name, addr(), false);
        }
        room.add_member(ClientId(9), "watcher", addr(), false, true);
        // Full, nobody away: refused either way.
        assert!(matches!(
            ask(&[&room], "r", false, true),
            Err(Rejection::RoomFull { .. })
        ));
        // Two seats held (b's hold ends first): the newcomer takes b's place, when asked to.
        room.hold_seat(ClientId(3), Duration::from_secs(70));
        room.hold_seat(ClientId(2), Duration::from_secs(60));
        assert!(matches!(
            ask(&[&room], "r", false, false),
            Err(Rejection::RoomFull { .. })
        ));
        assert_eq!(ask(&[&room], "r", false, true).unwrap().yields, Some(ClientId(2)));
        // A held spectator gives way to a spectator only.
        room.hold_seat(ClientId(9), Duration::from_secs(10));
        assert_eq!(ask(&[&room], "r", true, true).unwrap().yields, Some(ClientId(9)));
        // The address has its four seats (every member here is at one address): its seat
        // held longest gives way too, once.
        let mut other = Room::new("other", 12, false);
        assert_eq!(
            ask(&[&room, &other], "other", false, true).unwrap().yields,
            Some(ClientId(9))
        );
        // Below its share, no seat of the address gives way.
        other.add(ClientId(20), "x", addr(), false);
        room.remove(ClientId(1));
        room.remove(ClientId(3));
        assert_eq!(ask(&[&room, &other], "other", false, true).unwrap().yields, None);
    }

    fn plan(
        cfg: &RoomConfig,
        who: (&str, Option<&str>, bool),
        server: &mut Server,
    ) -> Result<JoinPlan, Rejection> {
        plan_join(cfg, who, server, Duration::ZERO, false)
    }

    #[test]
    fn plans_reject_bad_names_taken_names_full_rooms_and_too_many_rooms() {
        let cfg = config();
        let mut lobby = Room::new("lobby", 2, true);
        lobby.add(ClientId(1), "Alice", addr(), false);
        let mut one = Server {
            rooms: vec![&lobby],
            counted: 1,
            made: 0,
        };
        let plan_one = plan(&cfg, (" Bob ", None, false), &mut one).unwrap();
        assert_eq!(
            (
                plan_one.name.as_str(),
                plan_one.room_name.as_str(),
                plan_one.create
            ),
            ("Bob", "lobby", false)
        );
        assert_eq!(
            plan(&cfg, ("", None, false), &mut one),
            Err(Rejection::InvalidName(NameError::Empty))
        );
        assert_eq!(
            plan(&cfg, ("ALICE", None, false), &mut one),
            Err(Rejection::NameTaken("ALICE".into()))
        );
        assert_eq!(
            plan(&cfg, ("ａｌｉｃｅ", Some("LOBBY"), false), &mut one),
            Err(Rejection::NameTaken("alice".into()))
        );
        assert_eq!(
            plan(&cfg, ("Bob", Some("a/b"), false), &mut one),
            Err(Rejection::InvalidRoomName(NameError::PathSeparator))
        );
        assert_eq!(
            plan(&cfg, ("troll", None, false), &mut one),
            Err(Rejection::TooManyJoins)
        );
        let created = plan(&cfg, ("Bob", Some("새 방"), false), &mut one).unwrap();
        assert!(created.create);
        one.counted = 2;
        assert_eq!(
            plan(&cfg, ("Bob", Some("third"), false), &mut one),
            Err(Rejection::TooManyRooms { max: 2 })
        );
        // With the cap reached by other rooms, the lobby can still be made.
        let mut none = Server {
            rooms: vec![],
            counted: 2,
            made: 0,
        };
        assert!(plan(&cfg, ("Bob", None, false), &mut none).unwrap().create);
        let spelled = plan(&cfg, ("Bob", Some("ＬＯＢＢＹ"), false), &mut none).unwrap();
        assert!(spelled.create);
        // Made by a joiner who spelt it otherwise (here with a Cyrillic о), it is still "lobby".
        assert_eq!(spelled.room_name, "lobby");
        let look_alike = plan(&cfg, ("Bob", Some("l\u{43e}bby"), false), &mut none).unwrap();
        assert_eq!(
            (look_alike.room_name.as_str(), look_alike.create),
            ("lobby", true)
        );

        lobby.add(ClientId(2), "Bob", addr(), false);
        let mut full = Server {
            rooms: vec![&lobby],
            counted: 1,
            made: 0,
        };
        assert_eq!(
            plan(&cfg, ("Carol", None, false), &mut full),
            Err(Rejection::RoomFull {
                room: "lobby".into(),
                capacity: 2
            })
        );
    }

    /// A room to be made is checked as it would be made, and against the address's share: a
    /// refusal makes nothing.
    #[test]
    fn a_room_to_be_made_admits_its_first_member_or_is_not_made() {
        let cfg = RoomConfig {
            spectators: 0,
            ..config()
        };
        let mut server = Server {
            rooms: vec![],
            counted: 0,
            made: 0,
        };
        assert!(matches!(
            plan(&cfg, ("Watcher", Some("den"), true), &mut server),
            Err(Rejection::SpectatorsFull { capacity: 0, .. })
        ));
        server.made = cfg.rooms_per_address as usize;
        assert_eq!(
            plan(&cfg, ("Maker", Some("den"), false), &mut server),
            Err(Rejection::TooManyRoomsFromAddress {
                max: cfg.rooms_per_address
            })
        );
        // The lobby is nobody's to count.
        assert!(plan(&cfg, ("Maker", None, false), &mut server).unwrap().create);
    }
}
