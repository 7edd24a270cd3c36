//! Rooms: who is in which room, who hosts it, and the answer to a join. On the server each
//! room is an entity with a [`Room`] and each joined player an entity with a [`Player`]; on a
//! client the [`Roster`] mirrors the room it is in. The rules are plain Rust in `rooms/rules.rs`.

pub mod browse;
mod client;
pub mod moderation;
pub mod rules;
mod server;
pub mod wire;

use bevy::prelude::*;

pub use client::{
    Attempts, BROWSE_EVERY, BrowseServer, Browsing, CancelReconnect, JoinServer, NewSession, Reconnecting,
    Rejoin, RoomBrowser, Roster, ServerClosing, SessionEnded, StopBrowsing, backoff, means_lobby, room_label,
};
pub use rules::{
    JoinFacts, JoinPlan, LOBBY, RoleChange, RoleRefusal, Room, RoomActivity, RoomConfig, may_make_a_room,
    new_room, plan_join,
};
pub use server::{
    DrainHold, OperatorToken, Player, PlayerAway, PlayerJoined, PlayerLeft, RoleChanged, RoomIndex,
};
pub use wire::{
    JoinRequest, KickReason, KickedBy, ListRooms, ModerationRefusal, ModerationRequest, PlayerInfo,
    Rejection, RoleReply, RoleRequest, RoomList, RoomListing, RoomUpdate, SessionToken, Welcome,
};

pub fn plugin(app: &mut App) {
    app.init_resource::<RoomConfig>()
        .init_resource::<browse::Browsers>()
        .add_plugins((wire::plugin, server::plugin, client::plugin));
}
