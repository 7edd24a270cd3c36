//! The game's album on the server, as plain Rust: what happened on a room's board during a
//! turn, with when ([`Timeline`]), kept for the turns of the room's games ([`Shelf`]) and sent
//! to a player who asks, for a replay or a time-lapse, never to everyone at once.
//!
//! Bounds: a timeline records at most [`MAX_TIMELINE_POINTS`] points (past that it is marked
//! cut short: a drawer who draws and undoes without end cannot grow it), and a room keeps at
//! most [`MAX_SHELVED`] drawings and [`MAX_SHELF_POINTS`] points of them, the oldest going
//! first: about 1.6 MB per room at worst (a change weighs what it takes in memory). Only a game's turns are recorded, not free drawing.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::wire::{ReplayOp, TimedOp};

/// Points one turn's timeline records (a drawing holds at most 100,000; undoing and drawing
/// again is recorded too).
pub const MAX_TIMELINE_POINTS: usize = 150_000;
/// Drawings a room keeps (a game of 10 rounds of 6 players fills it).
pub const MAX_SHELVED: usize = 64;
/// Points a room keeps over all its shelved drawings (about 4 bytes each on the wire, some more
/// in memory).
pub const MAX_SHELF_POINTS: usize = 400_000;

/// The board's changes since the turn began, each with its time in milliseconds from the
/// first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Timeline {
    started: Option<Duration>,
    pub ops: Vec<TimedOp>,
    points: usize,
    /// Changes past [`MAX_TIMELINE_POINTS`] were not recorded.
    pub cut_short: bool,
}

impl Timeline {
    /// Records a change made at `now`.
    pub fn record(&mut self, now: Duration, op: ReplayOp) {
        if self.cut_short {
            return;
        }
        let points = op.points();
        if self.points + points > MAX_TIMELINE_POINTS {
            self.cut_short = true;
            return;
        }
        let started = *self.started.get_or_insert(now);
        let ms = now.saturating_sub(started).as_millis().min(u32::MAX as u128) as u32;
        self.points += points;
        self.ops.push(TimedOp { ms, op });
    }

    pub fn points(&self) -> usize {
        self.points
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A room's shelved drawings, by the key the game gave each (oldest first).
#[derive(Debug, Default)]
pub struct Shelf {
    drawings: VecDeque<(u32, Arc<Timeline>)>,
    points: usize,
}

impl Shelf {
    /// Keeps `timeline` under `key` (replacing one kept under the same key), making room by
    /// letting the oldest go.
    pub fn keep(&mut self, key: u32, timeline: Timeline) {
        if let Some(i) = self.drawings.iter().position(|(k, _)| *k == key)
            && let Some((_, old)) = self.drawings.remove(i)
        {
            self.points -= old.points();
        }
        self.points += timeline.points();
        self.drawings.push_back((key, Arc::new(timeline)));
        while self.drawings.len() > MAX_SHELVED || (self.points > MAX_SHELF_POINTS && self.drawings.len() > 1)
        {
            if let Some((_, old)) = self.drawings.pop_front() {
                self.points -= old.points();
            }
        }
    }

    pub fn get(&self, key: u32) -> Option<Arc<Timeline>> {
        self.drawings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, t)| t.clone())
    }

    pub fn len(&self) -> usize {
        self.drawings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.drawings.is_empty()
    }

    pub fn points(&self) -> usize {
        self.points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::canvas::model::fixtures::{A, INK, p};
    use crate::plugins::canvas::wire::CHANGE_WEIGHT;

    fn start() -> ReplayOp {
        ReplayOp::Start {
            author: A,
            brush: INK,
            at: p(1, 1),
        }
    }

    fn points(n: usize) -> ReplayOp {
        ReplayOp::Points {
            author: A,
            deltas: vec![[1, 0]; n],
        }
    }

    #[test]
    fn a_timeline_keeps_times_from_its_first_change_and_stops_at_its_cap() {
        let mut timeline = Timeline::default();
        timeline.record(Duration::from_millis(5_000), start());
        timeline.record(Duration::from_millis(5_250), points(10));
        timeline.record(Duration::from_millis(7_000), ReplayOp::End { author: A });
        let times: Vec<u32> = timeline.ops.iter().map(|op| op.ms).collect();
        assert_eq!(times, [0, 250, 2_000]);
        // Each change weighs one, and a batch its points too.
        assert_eq!(
            timeline.points(),
            CHANGE_WEIGHT + (CHANGE_WEIGHT + 10) + CHANGE_WEIGHT
        );
        // A change weighs what it takes in memory, in 4-byte points.
        assert!(std::mem::size_of::<TimedOp>() <= 4 * CHANGE_WEIGHT);
        for _ in 0..(MAX_TIMELINE_POINTS / 500) {
            timeline.record(Duration::from_secs(8), points(500));
        }
        assert!(timeline.cut_short);
        assert!(timeline.points() <= MAX_TIMELINE_POINTS);
        let ops = timeline.ops.len();
        timeline.record(Duration::from_secs(9), ReplayOp::End { author: A });
        assert_eq!(timeline.ops.len(), ops, "nothing after the cut");
    }

    #[test]
    fn a_shelf_lets_the_oldest_go_past_its_caps() {
        let mut shelf = Shelf::default();
        let drawing = |n: usize| {
            let mut t = Timeline::default();
            t.record(Duration::ZERO, start());
            t.record(Duration::ZERO, points(n));
            t
        };
        for key in 0..(MAX_SHELVED as u32 + 5) {
            shelf.keep(key, drawing(10));
        }
        assert_eq!(shelf.len(), MAX_SHELVED);
        assert!(shelf.get(4).is_none() && shelf.get(5).is_some());
        // Big drawings push out the older ones by points.
        for key in 100..106 {
            shelf.keep(key, drawing(140_000));
        }
        assert!(shelf.points() <= MAX_SHELF_POINTS, "{}", shelf.points());
        assert!(shelf.get(105).is_some() && shelf.get(100).is_none());
        // The same key again replaces.
        let before = shelf.len();
        shelf.keep(105, drawing(1));
        assert_eq!(shelf.len(), before);
        assert_eq!(shelf.get(105).unwrap().points(), 2 * CHANGE_WEIGHT + 1);
    }
}
