//! The game's album: after a game, every turn's drawing in a grid (word, drawer, who found it,
//! likes), each replayable stroke by stroke at real speed or faster, and savable as a PNG or
//! as an animated PNG time-lapse. The album stays open until its player closes it; a new
//! game's album waits until then.

use std::collections::HashMap;
use std::time::Duration;

use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};
use egui::RichText;

use crate::plugins::canvas::raster::{Raster, Replayer};
use crate::plugins::canvas::render::GallerySettings;
use crate::plugins::canvas::{CanvasState, CanvasToServer};
use crate::plugins::net::ToServer;
use crate::plugins::quiz::{AlbumEntry, QuizView};
use crate::plugins::rooms::{NewSession, Roster};
use crate::t;
use crate::theme;

mod replay;

use replay::{PLAYER_WIDTH, Player, ReplayImage, paint_replay, player_view};

/// Thumbnails' width in pixels.
const THUMB_WIDTH: usize = 200;
/// The narrowest a thumbnail is shown (in a small window, to keep two to a row).
const MIN_THUMB_WIDTH: f32 = 150.0;
/// The gap between thumbnails.
const GRID_GAP: f32 = 12.0;

/// What the album window shows.
#[derive(Resource, Default)]
pub(super) struct AlbumState {
    open: bool,
    entries: Vec<AlbumEntry>,
    /// The album the window shows came from this game's (a later one waits until it closes).
    shown: Vec<AlbumEntry>,
    /// When each turn's recording was last asked for, and how often (asked again after
    /// [`ASK_AGAIN`] until it came: the server may have said "later"; after [`MAX_ASKS`] it
    /// is taken as no longer kept).
    asked: HashMap<u32, (Duration, u32)>,
    thumbs: HashMap<u32, egui::TextureHandle>,
    player: Option<Player>,
    /// The last save's outcome.
    saved: Option<Result<String, String>>,
    /// A save under way on its own thread (painting and encoding take a moment).
    saving: Option<crossbeam_channel::Receiver<Result<String, String>>>,
}

/// How often a recording is asked for before the album says it is no longer kept.
const MAX_ASKS: u32 = 4;

/// How long before a recording that did not come is asked for again.
const ASK_AGAIN: Duration = Duration::from_secs(10);

pub(super) fn show(
    mut contexts: EguiContexts,
    mut album: ResMut<AlbumState>,
    quiz: Res<QuizView>,
    canvas: Res<CanvasState>,
    roster: Res<Roster>,
    (settings, ui_state): (Res<GallerySettings>, Res<super::UiState>),
    time: Res<Time<Real>>,
    mut out: MessageWriter<ToServer<CanvasToServer>>,
    (mut new_session, mut images, mut replay_image): (
        MessageReader<NewSession>,
        ResMut<Assets<Image>>,
        Local<ReplayImage>,
    ),
) -> Result {
    // The last session's album is not this one's (its recordings went with it).
    if new_session.read().last().is_some() {
        *album = AlbumState::default();
    }
    // The game's ranking comes first: the album waits until the leaderboard is closed.
    if ui_state.podium_shown {
        return Ok(());
    }
    album.open_if_new(&quiz.album);
    if !album.open {
        return Ok(());
    }
    ask_for_recordings(&mut album, &canvas, time.elapsed(), &mut out);
    album.collect_save();
    let album = &mut *album;
    if let Some(player) = &mut album.player {
        paint_replay(
            player,
            time.delta(),
            &mut contexts,
            &mut images,
            &mut replay_image,
        );
    }
    let ctx = contexts.ctx_mut()?;
    if album.player.as_ref().is_some_and(Player::is_playing) {
        // Keep the window drawing while it plays.
        ctx.request_repaint();
    }
    make_thumbnails(ctx, album, &canvas);
    // Over the board, never the players and the chat.
    let middle = ui_state.middle.unwrap_or_else(|| ctx.content_rect());
    album.open = album_window(ctx, album, middle, &canvas, &roster.room, &settings);
    Ok(())
}

impl AlbumState {
    /// Opens a game's album (`latest`) unless it is the one already seen or one is open: a
    /// later game's album waits until the open one is closed.
    fn open_if_new(&mut self, latest: &[AlbumEntry]) {
        if self.entries.as_slice() != latest && !self.open && !latest.is_empty() {
            self.entries = latest.to_vec();
            self.shown = latest.to_vec();
            self.open = true;
            self.asked.clear();
            self.thumbs.clear();
            self.player = None;
            self.saved = None;
        }
    }

    /// Takes the outcome of a save that finished on its thread, to show under the replay.
    fn collect_save(&mut self) {
        if let Some(done) = self.saving.as_ref().and_then(|rx| rx.try_recv().ok()) {
            self.saved = Some(done);
            self.saving = None;
        }
    }

    /// Whether turn `key`'s recording was asked for [`MAX_ASKS`] times without coming (it is
    /// taken as no longer kept).
    fn gave_up_on(&self, key: u32) -> bool {
        self.asked.get(&key).is_some_and(|&(_, asks)| asks >= MAX_ASKS)
    }

    /// Replays turn `key` from its start, playing at real speed, if its recording came.
    fn start_replay(&mut self, key: u32, canvas: &CanvasState) {
        let Some(ops) = canvas.replays.get(key) else {
            return;
        };
        self.player = Some(Player::new(key, ops.to_vec(), canvas.replays.cut_short(key)));
        self.saved = None;
    }
}

/// Asks for each turn's recording that has not come, again now and then until it comes (the
/// server answers within its budget).
fn ask_for_recordings(
    album: &mut AlbumState,
    canvas: &CanvasState,
    now: Duration,
    out: &mut MessageWriter<ToServer<CanvasToServer>>,
) {
    let wanted: Vec<u32> = album
        .shown
        .iter()
        .map(|e| e.key)
        .filter(|k| canvas.replays.get(*k).is_none())
        .filter(|k| ask_now(album.asked.get(k), now))
        .collect();
    for key in wanted {
        out.write(ToServer(CanvasToServer::Replay { key }));
        let asks = album.asked.get(&key).map_or(0, |&(_, n)| n);
        album.asked.insert(key, (now, asks + 1));
    }
}

/// Whether a recording not yet here is asked for `now`, given when it was last asked for and
/// how often (`asked`): never asked, or [`ASK_AGAIN`] since and fewer than [`MAX_ASKS`] times.
fn ask_now(asked: Option<&(Duration, u32)>, now: Duration) -> bool {
    asked.is_none_or(|&(at, asks)| asks < MAX_ASKS && now >= at + ASK_AGAIN)
}

/// Paints the thumbnail of each turn whose recording has come, once.
fn make_thumbnails(ctx: &egui::Context, album: &mut AlbumState, canvas: &CanvasState) {
    for entry in &album.shown {
        if album.thumbs.contains_key(&entry.key) {
            continue;
        }
        if let Some(ops) = canvas.replays.get(entry.key) {
            let mut replay = Replayer::new(ops.to_vec(), THUMB_WIDTH);
            replay.advance_to(u32::MAX);
            let texture = ctx.load_texture(
                format!("album-thumb-{}", entry.key),
                colour_image(&replay.raster),
                egui::TextureOptions::LINEAR,
            );
            album.thumbs.insert(entry.key, texture);
        }
    }
}

/// How the album's window fits over the board.
#[derive(Debug, PartialEq)]
struct Fit {
    /// The grid's thumbnails to a row.
    columns: usize,
    /// A thumbnail's width.
    thumb: f32,
    /// The window's width (the grid's, or the replay's).
    width: f32,
    /// The most the grid is tall before it scrolls.
    height: f32,
}

/// The window's fit in `middle` (the board) for `turns` turns, showing a replay or the grid: as
/// wide as the board allows, with fewer columns (at most three, never more than the turns) and
/// a smaller replay in a small window.
fn fit(middle: egui::Rect, turns: usize, replaying: bool) -> Fit {
    let room = (middle.width() - 40.0).max(MIN_THUMB_WIDTH);
    let fit = ((room + GRID_GAP) / (MIN_THUMB_WIDTH + GRID_GAP)).clamp(1.0, 3.0) as usize;
    // No empty columns for a short game.
    let columns = fit.min(turns).max(1);
    let thumb = ((room - GRID_GAP * (columns - 1) as f32) / columns as f32).min(THUMB_WIDTH as f32);
    let width = match replaying {
        true => room.min(PLAYER_WIDTH as f32),
        false => columns as f32 * (thumb + GRID_GAP) - GRID_GAP,
    };
    let height = (middle.height() - 140.0).max(THUMB_WIDTH as f32);
    Fit {
        columns,
        thumb,
        width,
        height,
    }
}

/// The album's window over the board (`middle`): the grid of turns, or one turn's replay.
/// Whether it is still open.
fn album_window(
    ctx: &egui::Context,
    album: &mut AlbumState,
    middle: egui::Rect,
    canvas: &CanvasState,
    room: &str,
    settings: &GallerySettings,
) -> bool {
    let mut open = true;
    let fit = fit(middle, album.shown.len(), album.player.is_some());
    // It stays until closed, even into the next game: it can be folded and moved aside.
    egui::Window::new(RichText::new(t!("album-title")).strong())
        .open(&mut open)
        .collapsible(true)
        .resizable(false)
        .min_width(fit.width)
        .max_width(fit.width)
        .pivot(egui::Align2::CENTER_CENTER)
        .default_pos(middle.center())
        .constrain_to(middle)
        .show(ctx, |ui| match album.player.is_some() {
            true => player_view(ui, album, room, settings),
            false => grid(ui, album, canvas, &fit),
        });
    open
}

fn colour_image(raster: &Raster) -> egui::ColorImage {
    egui::ColorImage::from_rgba_unmultiplied([raster.width, raster.height], &raster.rgba)
}

/// The grid of turns, `fit.columns` to a row `fit.thumb` wide, scrolling past `fit.height`.
fn grid(ui: &mut egui::Ui, album: &mut AlbumState, canvas: &CanvasState, fit: &Fit) {
    let mut picked = None;
    egui::ScrollArea::vertical()
        .max_height(fit.height.min(460.0))
        .show(ui, |ui| {
            egui::Grid::new("album-grid")
                .spacing([GRID_GAP, GRID_GAP])
                .show(ui, |ui| {
                    for (i, entry) in album.shown.iter().enumerate() {
                        if turn_card(ui, album, canvas, entry, fit.thumb) {
                            picked = Some(entry.key);
                        }
                        if i % fit.columns == fit.columns - 1 {
                            ui.end_row();
                        }
                    }
                });
        });
    if let Some(key) = picked {
        album.start_replay(key, canvas);
    }
}

/// One turn in the grid, `thumb` wide: its picture, word, drawer, who found it, its likes and
/// its Replay button. Whether the player asked to replay it.
fn turn_card(
    ui: &mut egui::Ui,
    album: &AlbumState,
    canvas: &CanvasState,
    entry: &AlbumEntry,
    thumb: f32,
) -> bool {
    let mut picked = false;
    ui.vertical(|ui| {
        ui.set_width(thumb);
        let size = egui::vec2(thumb, thumb * 9.0 / 16.0);
        let texture = album.thumbs.get(&entry.key);
        picked |= thumbnail(ui, texture, size, album.gave_up_on(entry.key));
        turn_caption(ui, entry);
        picked |= likes_and_replay(ui, entry, canvas);
    });
    picked
}

/// A turn's picture, clickable to replay it; until its recording comes a blank with a spinner,
/// or word that it is no longer kept (`gave_up`). Whether it was clicked.
fn thumbnail(
    ui: &mut egui::Ui,
    texture: Option<&egui::TextureHandle>,
    size: egui::Vec2,
    gave_up: bool,
) -> bool {
    if let Some(texture) = texture {
        let image = egui::Image::new((texture.id(), size)).sense(egui::Sense::click());
        return ui.add(image).on_hover_text(t!("album-replay-hover")).clicked();
    }
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    ui.painter().rect_filled(rect, 2.0, theme::PAPER);
    match gave_up {
        true => {
            let text = RichText::new(t!("album-no-longer-kept")).color(theme::MUTED_TEXT);
            ui.put(rect, egui::Label::new(text));
        }
        false => {
            ui.put(rect, egui::Spinner::new());
        }
    }
    false
}

/// A turn's word, drawer and who found it, under its picture.
fn turn_caption(ui: &mut egui::Ui, entry: &AlbumEntry) {
    ui.label(RichText::new(&entry.word).strong().size(16.0));
    ui.label(t!("album-drawn-by", name = entry.drawer.clone()));
    let found = match entry.found.len() {
        0 => t!("album-nobody-found"),
        _ => t!("album-found-by", names = entry.found.join(", ")),
    };
    ui.label(RichText::new(found).weak());
}

/// A turn's likes and its Replay button (greyed until the recording comes; word that nothing
/// was drawn instead if nothing was). Whether Replay was clicked.
fn likes_and_replay(ui: &mut egui::Ui, entry: &AlbumEntry, canvas: &CanvasState) -> bool {
    let mut picked = false;
    ui.horizontal(|ui| {
        if entry.likes > 0 {
            ui.label(format!("♥ {}", entry.likes));
        }
        match canvas.replays.get(entry.key) {
            Some([]) => {
                ui.label(RichText::new(t!("album-nothing-drawn")).weak());
            }
            ready => {
                let button = egui::Button::new(t!("album-replay"));
                picked = ui.add_enabled(ready.is_some(), button).clicked();
            }
        }
    });
    picked
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bevy_egui::egui;

    use super::{ASK_AGAIN, Fit, GRID_GAP, MAX_ASKS, THUMB_WIDTH, ask_now, fit};

    #[test]
    fn a_recording_is_asked_for_again_after_a_while_until_given_up_on() {
        let now = Duration::from_secs(100);
        assert!(ask_now(None, now));
        assert!(!ask_now(Some(&(now - ASK_AGAIN / 2, 1)), now));
        assert!(ask_now(Some(&(now - ASK_AGAIN, 1)), now));
        assert!(ask_now(Some(&(now - ASK_AGAIN, MAX_ASKS - 1)), now));
        assert!(!ask_now(Some(&(now - ASK_AGAIN * 10, MAX_ASKS)), now));
    }

    #[test]
    fn the_album_fits_the_board_with_up_to_three_columns_and_none_empty() {
        let board = |w, h| egui::Rect::from_min_size(egui::pos2(0.0, 0.0), egui::vec2(w, h));
        // A wide board: three full-size thumbnails to a row, the replay at its own width.
        let wide = fit(board(1200.0, 800.0), 8, false);
        assert_eq!((wide.columns, wide.thumb), (3, THUMB_WIDTH as f32));
        assert_eq!(wide.width, 3.0 * THUMB_WIDTH as f32 + 2.0 * GRID_GAP);
        assert_eq!(wide.height, 660.0);
        assert_eq!(fit(board(1200.0, 800.0), 8, true).width, 640.0);
        // A short game: no empty columns.
        assert_eq!(fit(board(1200.0, 800.0), 2, false).columns, 2);
        assert_eq!(fit(board(1200.0, 800.0), 0, false).columns, 1);
        // A smaller window: fewer, narrower columns, but never under the narrowest.
        let narrower = fit(board(360.0, 600.0), 8, false);
        assert_eq!((narrower.columns, narrower.thumb), (2, 154.0));
        // A small one: one column, a smaller replay, the grid at least a thumbnail tall.
        let small = fit(board(300.0, 200.0), 8, false);
        let one_column = Fit {
            columns: 1,
            thumb: 200.0,
            width: 200.0,
            height: THUMB_WIDTH as f32,
        };
        assert_eq!(small, one_column);
        assert_eq!(fit(board(300.0, 200.0), 8, true).width, 260.0);
    }
}
