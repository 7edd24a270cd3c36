//! Catch Mind rounds: word, drawer, guesses, hints and scores, decided by the server.
//!
//! The rules are plain Rust: comparing guesses with the word (`text`), the word packs
//! (`words`), settings and scoring (`scoring`) and a room's game as a state machine (`game`).
//! `wire` is what travels; `view` builds what each player may see ([`view_for`], the one place
//! that decides who sees the word); `server` runs a [`RoomGame`] on each room and talks to the
//! chat and canvas through their messages; `client` keeps the [`QuizView`] the UI draws.

mod client;
pub mod game;
pub mod scoring;
mod server;
pub mod text;
#[cfg(feature = "client")]
pub mod ui;
mod view;
pub mod wire;
pub mod words;

use bevy::prelude::*;

pub use client::{Banner, Likes, QuizView, TurnEnded, found_word_text};
pub use game::{Event, Game, Guess, Phase, Timing};
pub use scoring::Settings;
pub use server::{GameSession, QuizConfig, RoomGame};
pub use view::view_for;
pub use wire::{
    AlbumEntry, GameView, MAX_STANDINGS, PhaseView, QuizRefusal, QuizToClient, QuizToServer, Standing, Tell,
};
pub use words::Pack;

pub fn plugin(app: &mut App) {
    app.add_plugins((wire::plugin, server::plugin, client::plugin));
}
