//! The room list on the server: a connection that joined no room may ask for the server's
//! rooms ([`ListRooms`]) and join one later on the same connection. It stays a connection at
//! the door: counted against its address's limits like any other, and closed if it neither
//! asks again nor joins within the join timeout, or once it has browsed for
//! [`BROWSE_FOR`]. Each connection is answered at most once per [`ANSWER_EVERY`] (requests in
//! between are answered together when the time is up), and only when the list changed since
//! its last answer, so browsing costs the server one list built per second at most; the
//! connections of one address share [`ANSWERS_PER_ADDRESS`] answers a second between them, so
//! its 16 connections cannot draw 16 lists a second, and [`LIST_BYTES_PER_ADDRESS`] bytes of
//! lists a second (a full list is about 7 KB for its 5-byte question). A list is encoded once
//! while it stays the same, and the browsers answered in one update share the bytes.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::time::Duration;

use bevy::prelude::*;

use super::rules::{Room, RoomActivity, RoomConfig};
use super::server::{Arrival, Arrivals};
use super::wire::{ListRooms, MAX_LISTED, RoomList, RoomListing};
use crate::id::ClientId;
use crate::plugins::net::{
    CloseReason, DisconnectClient, Encoded, FromClient, Recipients, ServerWake, ToClients, Violation,
    WireRegistry, address_key,
};
use crate::rate::TokenBucket;

/// The least time between two answers to one connection.
pub const ANSWER_EVERY: Duration = Duration::from_secs(1);

/// Answers a second to the browsing connections of one address together, and the burst above.
pub const ANSWERS_PER_ADDRESS: f64 = 4.0;
const ANSWERS_BURST: f64 = 8.0;
/// Bytes of lists a second to the browsing connections of one address together, and the burst
/// above (two of the largest lists).
pub const LIST_BYTES_PER_ADDRESS: f64 = 16.0 * 1024.0;
pub const LIST_BYTES_BURST: f64 = 32.0 * 1024.0;
/// A browser whose address has no answer left looks again after this.
const RETRY_AFTER: Duration = Duration::from_millis(250);

/// How long a connection may keep browsing without joining a room.
pub const BROWSE_FOR: Duration = Duration::from_secs(10 * 60);

/// The browsing connections, each with what it was last sent.
#[derive(Resource, Default)]
pub(super) struct Browsers {
    browsers: HashMap<ClientId, Browser>,
    /// Answers, and bytes of lists, left to each address (its key: IPv6 by /64), kept while
    /// it browses.
    answers: HashMap<IpAddr, (TokenBucket, TokenBucket)>,
    /// The list last sent, encoded, and its hash: sent again as it is while it stays the same.
    encoded: Option<(u64, RoomList, Encoded<RoomList>)>,
}

#[derive(Debug, Default)]
struct Browser {
    answered_at: Option<Duration>,
    /// A request waits for its answer.
    asked: bool,
    /// The hash of the list last sent.
    sent: Option<u64>,
}

impl Browser {
    /// When the waiting request may be answered.
    fn due(&self) -> Option<Duration> {
        self.asked
            .then(|| self.answered_at.map_or(Duration::ZERO, |at| at + ANSWER_EVERY))
    }
}

/// The list a browser sees: the default room first (empty if nobody made it yet: a join
/// without a room name goes there), then the fullest, then by name; at most [`MAX_LISTED`].
pub fn room_list<'a>(
    rooms: impl Iterator<Item = (&'a Room, Option<&'a RoomActivity>)>,
    config: &RoomConfig,
) -> RoomList {
    let mut all: Vec<(bool, RoomListing)> = rooms
        .map(|(room, activity)| {
            let activity = activity.cloned().unwrap_or_default();
            let count = |n: usize| n.min(u16::MAX as usize) as u16;
            let listing = RoomListing {
                name: room.name.clone(),
                players: count(room.players().count()),
                capacity: room.capacity,
                spectators: count(room.spectators().count()),
                spectator_capacity: room.spectator_capacity,
                playing: activity.playing,
                language: activity.language,
            };
            (room.is_default, listing)
        })
        .collect();
    if !all.iter().any(|(is_default, _)| *is_default) {
        let lobby = Room::new(&config.default_room, config.room_size, true);
        all.push((
            true,
            RoomListing {
                name: lobby.name,
                players: 0,
                capacity: lobby.capacity,
                spectators: 0,
                spectator_capacity: config.spectators,
                playing: false,
                language: None,
            },
        ));
    }
    let total = all.len().min(u32::MAX as usize) as u32;
    all.sort_by(|(a_default, a), (b_default, b)| {
        b_default
            .cmp(a_default)
            .then(b.players.cmp(&a.players))
            .then_with(|| a.name.cmp(&b.name))
    });
    all.truncate(MAX_LISTED);
    RoomList {
        rooms: all.into_iter().map(|(_, listing)| listing).collect(),
        total,
        max_rooms: config.max_rooms,
    }
}

fn hash_of(list: &RoomList) -> u64 {
    let mut hasher = DefaultHasher::new();
    list.hash(&mut hasher);
    hasher.finish()
}

/// Whether [`answer_room_lists`] has anything to do: a list asked for now, or a browser still
/// connected (asked earlier, or waiting for its answer).
pub(super) fn browsing(mut requests: MessageReader<FromClient<ListRooms>>, browsers: Res<Browsers>) -> bool {
    requests.read().count() > 0 || !browsers.browsers.is_empty()
}

/// Notes requests (from connections that joined no room: anyone else breaks the protocol) and
/// answers those that are due.
#[allow(clippy::too_many_arguments)]
pub(super) fn answer_room_lists(
    time: Res<Time<Real>>,
    config: Res<RoomConfig>,
    registry: Res<WireRegistry>,
    mut arrivals: ResMut<Arrivals>,
    mut browsers: ResMut<Browsers>,
    rooms: Query<(&Room, Option<&RoomActivity>)>,
    mut requests: MessageReader<FromClient<ListRooms>>,
    mut wake: ResMut<ServerWake>,
    mut out: MessageWriter<ToClients<RoomList>>,
    mut disconnects: MessageWriter<DisconnectClient>,
) {
    let now = time.elapsed();
    for FromClient { client, .. } in requests.read() {
        let Some(arrival) = arrivals.0.get_mut(client) else {
            disconnects.write(DisconnectClient {
                client: *client,
                reason: CloseReason::ProtocolViolation(Violation::Unexpected),
            });
            continue;
        };
        // Browsing keeps the connection open, up to a point.
        if now.saturating_sub(arrival.connected) < BROWSE_FOR {
            arrival.waiting_since = now;
        }
        browsers.browsers.entry(*client).or_default().asked = true;
    }
    // Joined or gone: no longer browsing.
    let Browsers {
        browsers,
        answers,
        encoded,
    } = &mut *browsers;
    browsers.retain(|client, _| arrivals.0.contains_key(client));
    let instant = time.startup() + now;
    // An address's buckets once full again are as good as none.
    if answers.len() > 2 * browsers.len() + 16 {
        answers.retain(|_, (count, bytes)| !(count.full_at(instant) && bytes.full_at(instant)));
    }
    // This update's list, built once, and encoded once while it stays the same.
    let mut current: Option<u64> = None;
    let mut recipients = Vec::new();
    // Those who waited longest first, so an address's budget is shared out in turn.
    let mut waiting: Vec<(Option<Duration>, ClientId)> = browsers
        .iter()
        .filter(|(_, b)| b.asked)
        .map(|(&client, b)| (b.answered_at, client))
        .collect();
    waiting.sort_unstable();
    for (_, client) in waiting {
        let Some(browser) = browsers.get_mut(&client) else {
            continue;
        };
        let Some(due) = browser.due() else { continue };
        if now < due {
            wake.at(due);
            continue;
        }
        let Some(&Arrival { addr, .. }) = arrivals.0.get(&client) else {
            continue;
        };
        let hash = *current.get_or_insert_with(|| {
            let list = room_list(rooms.iter(), &config);
            let hash = hash_of(&list);
            if encoded.as_ref().is_none_or(|(sent, ..)| *sent != hash)
                && let Some(bytes) = registry.encode(&list)
            {
                *encoded = Some((hash, list, bytes));
            }
            hash
        });
        if browser.sent == Some(hash) {
            // Nothing new: the question is answered by the list it has.
            browser.asked = false;
            browser.answered_at = Some(now);
            continue;
        }
        let Some((_, _, bytes)) = encoded.as_ref().filter(|(sent, ..)| *sent == hash) else {
            continue;
        };
        let (count, budget) = answers.entry(address_key(addr.ip())).or_insert_with(|| {
            (
                TokenBucket::starting_at(ANSWERS_PER_ADDRESS, ANSWERS_BURST, instant),
                TokenBucket::starting_at(LIST_BYTES_PER_ADDRESS, LIST_BYTES_BURST, instant),
            )
        });
        let size = bytes.len() as f64;
        if !(count.has_at(instant) && budget.take_many_at(instant, size)) {
            wake.at(now + RETRY_AFTER);
            continue;
        }
        count.take_at(instant);
        browser.asked = false;
        browser.answered_at = Some(now);
        browser.sent = Some(hash);
        recipients.push(client);
    }
    if let (false, Some((_, list, bytes))) = (recipients.is_empty(), encoded.as_ref()) {
        metrics::counter!("catchmind_room_lists_sent_total").increment(recipients.len() as u64);
        out.write(ToClients::encoded(
            Recipients::Many(recipients),
            list.clone(),
            bytes.clone(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn room(name: &str, players: usize, is_default: bool) -> Room {
        let mut room = Room::new(name, 12, is_default);
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        for i in 0..players {
            room.add(ClientId(i as u32 + 1), &format!("p{i}"), addr, false);
        }
        room
    }

    #[test]
    fn the_default_room_comes_first_then_the_fullest() {
        let rooms = [
            room("quiet", 1, false),
            room("busy", 5, false),
            room("lobby", 0, true),
            room("another", 5, false),
        ];
        let playing = RoomActivity {
            playing: true,
            language: Some("ko".into()),
            turn: true,
        };
        let activities = [None, Some(&playing), None, None];
        let list = room_list(rooms.iter().zip(activities), &RoomConfig::default());
        let names: Vec<&str> = list.rooms.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["lobby", "another", "busy", "quiet"]);
        assert_eq!(list.total, 4);
        assert_eq!(list.max_rooms, 256);
        let busy = &list.rooms[2];
        assert_eq!((busy.players, busy.capacity, busy.playing), (5, 12, true));
        assert_eq!((busy.spectators, busy.spectator_capacity), (0, 8));
        assert_eq!(busy.language.as_deref(), Some("ko"));
        assert!(!list.rooms[3].playing && list.rooms[3].language.is_none());
    }

    #[test]
    fn spectators_are_listed_apart_from_players() {
        let mut watched = room("watched", 2, false);
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        watched.add_member(ClientId(50), "eye", addr, false, true);
        let list = room_list([(&watched, None)].into_iter(), &RoomConfig::default());
        let listing = list.rooms.iter().find(|r| r.name == "watched").unwrap();
        assert_eq!((listing.players, listing.spectators), (2, 1));
    }

    #[test]
    fn a_crowded_server_lists_at_most_max_listed_and_counts_all() {
        let rooms: Vec<Room> = (0..MAX_LISTED + 30)
            .map(|i| room(&format!("room {i}"), i % 7, false))
            .collect();
        let list = room_list(rooms.iter().map(|r| (r, None)), &RoomConfig::default());
        assert_eq!(list.rooms.len(), MAX_LISTED);
        assert_eq!(list.total as usize, MAX_LISTED + 31, "and the lobby");
        assert_eq!((list.rooms[0].name.as_str(), list.rooms[0].players), ("lobby", 0));
        assert!(
            list.rooms[1..].iter().all(|r| r.players >= 1),
            "the emptiest are left out"
        );
        // The largest list fits a frame with room to spare.
        let long = "가".repeat(crate::names::MAX_NAME_CHARS);
        let rooms: Vec<Room> = (0..MAX_LISTED)
            .map(|i| room(&format!("{long}{i}"), 12, false))
            .collect();
        let language = RoomActivity {
            playing: true,
            language: Some("custom".into()),
            turn: false,
        };
        let list = room_list(rooms.iter().map(|r| (r, Some(&language))), &RoomConfig::default());
        let bytes = crate::codec::encode(&list).unwrap().len();
        assert!(bytes < 16 * 1024, "{bytes} bytes");
    }

    #[test]
    fn a_browser_is_answered_at_most_once_per_interval() {
        let mut browser = Browser::default();
        assert_eq!(browser.due(), None, "nothing asked");
        browser.asked = true;
        assert_eq!(browser.due(), Some(Duration::ZERO), "the first answer is at once");
        browser.answered_at = Some(Duration::from_secs(5));
        assert_eq!(browser.due(), Some(Duration::from_secs(5) + ANSWER_EVERY));
    }
}
