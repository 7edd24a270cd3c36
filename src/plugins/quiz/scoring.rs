//! Settings a host picks and the points a turn gives.
//!
//! Guessers: 50 points for getting it, up to 150 more the sooner they guess (linear in the
//! time left), and 50 more for the first one to guess. Drawer: the total of the points of the
//! guessers who were in the room when the turn began, divided by how many there were. Only
//! those guessers score in a turn (`Game::guess`): a player who joins during it cannot (their
//! correct guess is withheld and they are told they score from the next turn) and does not
//! count for the drawer; players who leave still count (as zero if they had not guessed), so
//! joining and leaving cannot raise the drawer's score.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::words::Pack;

/// What the host sets in the lobby.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub rounds: u8,
    pub draw_secs: u16,
    pub choices: u8,
    pub hints: bool,
    pub pack: Pack,
    /// Once the first guesser finds the word, the drawing time left is cut to at most this
    /// many seconds (0: off), as in skribbl.io.
    pub cut_secs: u16,
    /// The share of turns (%) dealt from the room's own words: 0 none, 100 only them.
    pub room_words: u8,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rounds: 3,
            draw_secs: 80,
            choices: 3,
            hints: true,
            pack: Pack::Korean,
            cut_secs: 0,
            room_words: 0,
        }
    }
}

impl Settings {
    /// The server's clamp of what a host sent.
    pub fn clamped(self) -> Self {
        Self {
            rounds: self.rounds.clamp(1, 10),
            draw_secs: self.draw_secs.clamp(30, 240),
            choices: self.choices.clamp(1, 5),
            cut_secs: if self.cut_secs == 0 {
                0
            } else {
                self.cut_secs.clamp(MIN_CUT_SECS, MAX_CUT_SECS)
            },
            room_words: self.room_words.min(100),
            ..self
        }
    }

    pub fn draw_time(&self) -> Duration {
        Duration::from_secs(self.draw_secs as u64)
    }
}

/// The shortest and longest time a timer cut leaves.
pub const MIN_CUT_SECS: u16 = 5;
pub const MAX_CUT_SECS: u16 = 60;

pub const BASE_POINTS: u32 = 50;
pub const SPEED_POINTS: u32 = 150;
pub const FIRST_BONUS: u32 = 50;

/// A correct guess `elapsed` into a turn of `draw_time`.
pub fn guesser_points(elapsed: Duration, draw_time: Duration, first: bool) -> u32 {
    let left = 1.0 - (elapsed.as_secs_f64() / draw_time.as_secs_f64().max(1.0)).clamp(0.0, 1.0);
    BASE_POINTS + (SPEED_POINTS as f64 * left).round() as u32 + if first { FIRST_BONUS } else { 0 }
}

/// The drawer's points: the eligible guessers' points summed, over how many were eligible.
pub fn drawer_points(eligible: usize, eligible_guessers_points: &[u32]) -> u32 {
    if eligible == 0 {
        return 0;
    }
    (eligible_guessers_points.iter().sum::<u32>() as f64 / eligible as f64).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_clamped_to_their_ranges() {
        let wild = Settings {
            rounds: 0,
            draw_secs: 9999,
            choices: 9,
            hints: false,
            pack: Pack::English,
            cut_secs: 0,
            room_words: 0,
        };
        let clamped = wild.clamped();
        assert_eq!((clamped.rounds, clamped.draw_secs, clamped.choices), (1, 240, 5));
        let low = Settings {
            rounds: 11,
            draw_secs: 1,
            choices: 0,
            ..wild
        }
        .clamped();
        assert_eq!((low.rounds, low.draw_secs, low.choices), (10, 30, 1));
        assert_eq!((low.hints, low.pack), (false, Pack::English), "kept as chosen");
        assert_eq!(Settings::default().clamped(), Settings::default());
    }

    #[test]
    fn sooner_guesses_score_more_and_the_first_gets_a_bonus() {
        let t = Duration::from_secs(80);
        let s = Duration::from_secs;
        assert_eq!(guesser_points(s(0), t, true), 250);
        assert_eq!(guesser_points(s(0), t, false), 200);
        assert_eq!(guesser_points(s(40), t, false), 125);
        assert_eq!(guesser_points(s(80), t, false), 50);
        assert_eq!(guesser_points(s(500), t, false), 50, "late is never negative");
        assert!(guesser_points(s(10), t, false) > guesser_points(s(20), t, false));
    }

    #[test]
    fn the_drawer_scores_by_how_many_found_it_and_how_fast() {
        assert_eq!(drawer_points(3, &[]), 0);
        assert_eq!(drawer_points(3, &[250, 200, 125]), 192);
        assert!(
            drawer_points(3, &[250]) < drawer_points(3, &[250, 200]),
            "more finders, more points"
        );
        assert!(
            drawer_points(2, &[100, 100]) < drawer_points(2, &[200, 200]),
            "faster, more points"
        );
        // Extra players could only dilute, never raise, the drawer's share.
        assert!(drawer_points(5, &[250, 200]) <= drawer_points(4, &[250, 200]));
        assert_eq!(drawer_points(0, &[]), 0);
    }
}
