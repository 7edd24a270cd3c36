//! Catch Mind (캐치마인드): a multiplayer draw-and-guess game with a chat room, on Bevy.
//!
//! One binary plays every part: the dedicated server (`game --server --headless`), the host
//! who plays too (`game --server`), and the players (`game --client ADDR`).

pub mod app;
pub mod cli;
pub mod codec;
#[cfg(feature = "client")]
pub mod files;
pub mod i18n;
pub mod id;
pub mod names;
pub mod plugins;
pub mod rate;
pub mod safe_text;
pub mod startup;
#[cfg(feature = "client")]
pub mod theme;
#[cfg(feature = "client")]
pub mod ui;
pub mod version;
