//! The window's colours, one constant per role. Depends on nothing in the crate, so any screen
//! or widget can use it.

use bevy::color::Color;
use bevy_egui::egui::Color32;

/// Behind the whole window (bevy's clear colour).
pub const BACKGROUND: Color = Color::srgb(0.11, 0.12, 0.14);

/// The board before its image is ready (white, like the canvas itself).
pub const PAPER: Color32 = Color32::WHITE;

/// Ordinary bright text given a colour of its own (the timer, the podium's names).
pub const TEXT: Color32 = Color32::from_gray(220);

/// Quiet text: notices in the chat, a turn's zero points.
// Merged: `Color32::GRAY` (160) for zero points.
pub const MUTED_TEXT: Color32 = Color32::from_gray(150);

/// Text on a coloured banner.
pub const BANNER_TEXT: Color32 = Color32::BLACK;

/// You and your choices: your own name in the chat, the selected colour swatch.
pub const ACCENT: Color32 = Color32::from_rgb(90, 170, 255);

/// Good news and good states: a found word, connected, you hold the pen.
// Merged: (110, 200, 120) for "connected" and "you hold the pen".
pub const SUCCESS: Color32 = Color32::from_rgb(110, 220, 120);

/// What wants your attention: your turn, the word to draw or just revealed.
pub const EMPHASIS: Color32 = Color32::from_rgb(250, 205, 70);

/// Waiting on something: connecting.
pub const PENDING: Color32 = Color32::from_rgb(230, 200, 90);

/// Failures and bad news: a refused request or save, a launcher error, disconnected, the last
/// seconds of a turn, a game ended early.
// Merged: (240, 120, 90) for refusals and failed saves, (250, 110, 100) for launcher errors.
pub const ERROR: Color32 = Color32::from_rgb(240, 110, 100);

/// A private chat line (seen only by the drawer and those who found the word) and its lock.
// Merged: (120, 200, 120) for the lock.
pub const PRIVATE_TINT: Color32 = Color32::from_rgb(150, 220, 150);

/// The podium's medals, first to third.
pub const MEDAL_GOLD: Color32 = EMPHASIS;
pub const MEDAL_SILVER: Color32 = Color32::from_rgb(200, 205, 215);
pub const MEDAL_BRONZE: Color32 = Color32::from_rgb(205, 130, 70);

/// The outline of an unselected colour swatch.
pub const SWATCH_OUTLINE: Color32 = Color32::from_gray(90);

/// The brush cursor over the board while erasing.
pub const ERASER_CURSOR: Color32 = Color32::from_gray(120);

/// Other players' names in the chat, one picked per name.
pub const NAME_COLOURS: [Color32; 8] = [
    Color32::from_rgb(240, 160, 80),
    Color32::from_rgb(120, 200, 120),
    Color32::from_rgb(220, 130, 200),
    Color32::from_rgb(230, 210, 90),
    Color32::from_rgb(110, 200, 210),
    Color32::from_rgb(250, 130, 130),
    Color32::from_rgb(170, 150, 250),
    Color32::from_rgb(200, 180, 140),
];
