//! The drawing board: one player at a time holds the pen and draws; every stroke reaches the
//! rest of the room live, and players who join mid-drawing receive the whole log.
//!
//! The rules live in [`model`] (plain Rust); `wire` is what travels, `server` validates and
//! relays, `client` mirrors the drawing and tells the renderer (`render`, windowed only) what
//! to paint through [`PaintCanvas`] messages. Other plugins lock the pen with [`LockPen`].

pub mod album;
mod client;
pub mod fill;
#[cfg(feature = "client")]
pub mod gallery;
pub mod model;
#[cfg(feature = "client")]
pub mod raster;
#[cfg(feature = "client")]
pub mod render;
mod server;
#[cfg(feature = "client")]
pub mod ui;
pub mod wire;

use std::time::Duration;

use bevy::prelude::*;

pub use client::{CanvasState, DrawInput, FillComputed, FillWanted, PaintCanvas};
pub use model::{BOARD_HEIGHT, BOARD_WIDTH, BoardPoint, Brush, CanvasError, Delta, Drawing, Pen, Stroke};
pub use server::{ArchiveDrawing, LockPen, PenLock, RESYNC_INTERVAL, Relay, RoomCanvas, apply_request};
pub use wire::{CanvasToClient, CanvasToServer, ReplayOp, TimedOp, log_chunks, replay_chunks};

/// The logical board every client maps to its window, aspect ratio kept.
pub const BOARD_SIZE: Vec2 = Vec2::new(BOARD_WIDTH as f32, BOARD_HEIGHT as f32);
/// How often a drawer's new points go out, whatever the frame rate.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(33);
/// Points closer than this (board units) to the previous one are skipped.
const MIN_STEP: i32 = 2;

pub fn plugin(app: &mut App) {
    app.add_plugins((wire::plugin, server::plugin, client::plugin));
}

/// The local player's drawing runs late in the frame (`PostUpdate`), after the UI has turned
/// this frame's pointer into [`DrawInput`] and before the frame is sent and rendered, so the
/// drawer's own ink shows in the same frame.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum CanvasSystems {
    LocalInput,
}
