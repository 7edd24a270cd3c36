//! Catch Mind rounds (word, drawer, guesses, scores). Empty until the quiz issue: for now a
//! room is a chat room.

use bevy::prelude::*;

pub fn plugin(_app: &mut App) {}
