//! The drawing board. This update fixes its logical size so every screen maps the same
//! picture; strokes, tools and GPU rendering arrive with the canvas issue.

use bevy::prelude::*;

/// The logical board every client maps to its window, aspect ratio kept.
pub const BOARD_SIZE: Vec2 = Vec2::new(1600.0, 900.0);

pub fn plugin(_app: &mut App) {}
