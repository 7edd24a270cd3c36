//! The chat room: per-room chat with history, join and leave notices, a length limit and a
//! rate limit enforced by the server, and each client's chat log. Other plugins use it
//! through messages: [`HandOverLines`] + [`LineSaid`] to decide who sees a room's lines,
//! [`PublishLine`] to publish one, [`AddToChatLog`] to show news in a client's log.

mod client;
pub mod rules;
mod server;
#[cfg(feature = "client")]
pub mod ui;
pub mod wire;

use bevy::prelude::*;

pub use client::{AddToChatLog, ChatEntry, ChatLog};
pub use rules::{
    ChatConfig, ChatHistory, ChatRate, ChatRefusal, HISTORY_LINES, MAX_CHAT_CHARS, clean_message,
};
pub use server::{Audience, HandOverLines, LineSaid, PublishLine};
pub use wire::{ChatLine, ChatToClient, ChatToServer};

pub fn plugin(app: &mut App) {
    app.init_resource::<ChatConfig>()
        .add_plugins((wire::plugin, server::plugin, client::plugin));
}
