//! Rooms: who is in which room, who hosts it, and the answer to a join. On the server each
//! room is an entity with a [`Room`] and each joined player an entity with a [`Player`]; on a
//! client the [`Roster`] mirrors the room it is in. The rules are plain Rust in `rooms/rules.rs`.

mod client;
pub mod moderation;
pub mod rules;
mod server;
pub mod wire;

use bevy::prelude::*;

pub use client::{CancelReconnect, JoinServer, Reconnecting, Rejoin, Roster, ServerClosing, SessionEnded};
pub use rules::{JoinPlan, Room, RoomConfig, may_make_a_room, plan_join};
pub use server::{DrainHold, OperatorToken, Player, PlayerAway, PlayerJoined, PlayerLeft, RoomIndex};
pub use wire::{
    JoinRequest, KickReason, KickedBy, ModerationRefusal, ModerationRequest, PlayerInfo, Rejection,
    RoomUpdate, SessionToken, Welcome,
};

pub fn plugin(app: &mut App) {
    app.init_resource::<RoomConfig>()
        .add_plugins((wire::plugin, server::plugin, client::plugin));
}
