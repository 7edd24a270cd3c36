//! Catch Mind rounds: word, drawer, guesses, hints and scores, decided by the server.
//!
//! In progress: the rules that compare guesses with the word (`text`), the word packs
//! (`words`) and the settings and scoring (`scoring`) are here and tested; the turn state
//! machine, its wire messages, systems and UI come next. Until then a room is a free-draw
//! chat room.

pub mod scoring;
pub mod text;
pub mod words;

use bevy::prelude::*;

pub fn plugin(_app: &mut App) {}
