//! Catch Mind rounds: word, drawer, guesses, hints and scores, decided by the server.
//!
//! In progress: the rules are here as plain Rust and tested: comparing guesses with the word
//! (`text`), the word packs (`words`), settings and scoring (`scoring`) and a room's game as
//! a state machine (`game`). Its wire messages, systems and UI come next; until then a room
//! is a free-draw chat room.

pub mod game;
pub mod scoring;
pub mod text;
pub mod words;

use bevy::prelude::*;

pub fn plugin(_app: &mut App) {}
