//! A room's seats and votes, and a drawing's caps, as plain Rust. Each step is three bytes
//! (what, who, how): members join through the real join rules (a full room's held seat and an
//! address's oldest held seat giving way), drop (their seat held), come back, leave, are
//! dropped past their hold, and vote to kick from one of three addresses; a drawing takes
//! fills of the most runs and long strokes up to its caps. The invariants hold after every
//! step, and the drawing's log as sent weighs no more than its bound at the end.
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use catchmind::id::ClientId;
use catchmind::plugins::canvas::fill::FillMask;
use catchmind::plugins::canvas::model::{MAX_BATCH_POINTS, MAX_DRAWING_POINTS, MAX_LOG_BYTES};
use catchmind::plugins::canvas::{BoardPoint, Brush, Drawing, log_chunks};
use catchmind::plugins::net::address_key;
use catchmind::plugins::rooms::Rejection;
use catchmind::plugins::rooms::moderation::{Moderation, votes_needed};
use catchmind::plugins::rooms::rules::{JoinFacts, Room, RoomConfig, plan_join};
use libfuzzer_sys::fuzz_target;

const CAPACITY: u16 = 3;
const SPECTATORS: u16 = 1;
const SEATS_PER_ADDRESS: u16 = 3;

/// The server as the join rules see it: two rooms, the joiner at one address.
struct Facts<'a> {
    rooms: [&'a Room; 2],
    addr: IpAddr,
}

impl JoinFacts for Facts<'_> {
    fn room(&self, key: &str) -> Option<&Room> {
        self.rooms
            .iter()
            .find(|r| catchmind::names::name_key(&r.name) == key)
            .copied()
    }
    fn counted_rooms(&self) -> usize {
        2
    }
    fn made_by_address(&self) -> usize {
        0
    }
    fn kicked(&self, _: &str, _: &str) -> Result<(), Rejection> {
        Ok(())
    }
    fn may_join_again(&mut self, _: &str, _: &str) -> bool {
        true
    }
    fn address_seats(&self) -> (usize, Option<ClientId>) {
        let at = address_key(self.addr);
        let seats = self.rooms.iter().map(|r| r.seats_at(at));
        let count = seats.clone().map(|(n, _)| n).sum();
        (count, seats.flat_map(|(_, held)| held).min().map(|(_, id)| id))
    }
}

fn addr(which: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, which % 3], 1000))
}

fuzz_target!(|data: &[u8]| {
    let config = RoomConfig {
        room_size: CAPACITY,
        spectators: SPECTATORS,
        seats_per_address: SEATS_PER_ADDRESS,
        ..RoomConfig::default()
    };
    let mut rooms = [
        Room::new("a", CAPACITY, false).with_spectators(SPECTATORS),
        Room::new("b", CAPACITY, false).with_spectators(SPECTATORS),
    ];
    let mut moderation = Moderation::default();
    let mut drawing = Drawing::default();
    let mut next_id = 1u32;
    // Where each member is now (as the server keys addresses).
    let mut at: HashMap<ClientId, IpAddr> = HashMap::new();
    let mut now = Duration::ZERO;
    let hold = Duration::from_secs(60);
    for step in data.chunks_exact(3) {
        let (what, who, how) = (step[0], step[1], step[2]);
        now += Duration::from_millis(u64::from(how) * 300);
        let room = usize::from(who % 2);
        let member = |rooms: &[Room; 2]| rooms[room].members().nth(usize::from(how) % 8);
        match what % 8 {
            // A newcomer joins (as a spectator when `how` is odd), held seats giving way.
            0 => {
                let from = addr(how);
                let spectate = how % 2 == 1;
                let name = format!("p{next_id}");
                let mut facts = Facts {
                    rooms: [&rooms[0], &rooms[1]],
                    addr: from.ip(),
                };
                let plan = plan_join(
                    &config,
                    (&name, Some(["a", "b"][room]), spectate),
                    &mut facts,
                    now,
                    true,
                );
                if let Ok(plan) = plan {
                    if let Some(held) = plan.yields {
                        for r in rooms.iter_mut() {
                            r.remove(held);
                        }
                        moderation.forget(held);
                    }
                    // What the look gave up is enough: the join itself is taken.
                    let mut facts = Facts {
                        rooms: [&rooms[0], &rooms[1]],
                        addr: from.ip(),
                    };
                    let join = (name.as_str(), Some(["a", "b"][room]), spectate);
                    let real = plan_join(&config, join, &mut facts, now, false);
                    assert!(real.is_ok(), "{real:?}");
                    let id = ClientId(next_id);
                    next_id += 1;
                    rooms[room].add_member(id, &name, from, false, spectate);
                    at.insert(id, address_key(from.ip()));
                }
            }
            // A connection drops: the seat is held.
            1 => {
                if let Some(id) = member(&rooms) {
                    rooms[room].hold_seat(id, now + hold);
                }
            }
            // It comes back, from wherever it is now.
            2 => {
                if let Some(id) = member(&rooms)
                    && rooms[room].give_seat_back(id, addr(how))
                {
                    at.insert(id, address_key(addr(how).ip()));
                }
            }
            // A member leaves, or a hold runs out.
            3 => {
                if let Some(id) = member(&rooms) {
                    rooms[room].remove(id);
                    moderation.forget(id);
                }
            }
            // A vote to kick, counted by address.
            4 => {
                let members: Vec<ClientId> = rooms[room].players().collect();
                if let (Some(&voter), Some(&target)) = (
                    members.get(usize::from(how) % 4),
                    members.get(usize::from(how / 4) % 4),
                ) {
                    let others: Vec<IpAddr> =
                        members.iter().filter(|&&m| m != target).map(|m| at[m]).collect();
                    let mut distinct = others.clone();
                    distinct.sort();
                    distinct.dedup();
                    if let Ok(tally) = moderation.vote(voter, at[&voter], target, &others, now) {
                        // Each address is one voice at most: never more voices than the
                        // addresses of the others.
                        assert!(usize::from(tally.votes) <= distinct.len(), "{tally:?} of {distinct:?}");
                        assert_eq!(tally.needed, votes_needed(distinct.len()));
                        if tally.passed() {
                            rooms[room].remove(target);
                            moderation.forget(target);
                        }
                    }
                }
            }
            // The most detailed fill.
            5 => {
                let rows = (0..800).map(|_| [1, 1].repeat(10)).collect();
                let mask = FillMask {
                    top: u16::from(how) % 100,
                    rows,
                };
                let _ = drawing.fill(ClientId(1), BoardPoint::new(1, 0), [200, 0, 0], mask);
            }
            // A long stroke at the board's far corner (each point as heavy as a point gets).
            6 => {
                let brush = Brush {
                    colour: [0, 0, 0],
                    size: 4,
                    eraser: false,
                };
                if drawing
                    .start(ClientId(1), brush, BoardPoint::new(1500, 800))
                    .is_ok()
                {
                    let batch = vec![BoardPoint::new(1500, 800); MAX_BATCH_POINTS];
                    for _ in 0..usize::from(how % 8) {
                        if drawing.extend(ClientId(1), &batch).is_err() {
                            break;
                        }
                    }
                }
            }
            _ => {
                if how % 4 == 0 {
                    drawing.clear();
                } else {
                    let _ = drawing.undo(ClientId(1));
                }
            }
        }
        for r in &rooms {
            assert!(
                r.players().count() <= usize::from(CAPACITY),
                "players within the room's places"
            );
            assert!(
                r.spectators().count() <= usize::from(SPECTATORS),
                "spectators within theirs"
            );
        }
        assert!(drawing.point_count() <= MAX_DRAWING_POINTS);
    }
    let sent: usize = log_chunks(&drawing)
        .iter()
        .map(|chunk| catchmind::codec::encode(chunk).expect("encodes").len())
        .sum();
    assert!(sent <= MAX_LOG_BYTES, "the log weighs {sent} bytes");
});
