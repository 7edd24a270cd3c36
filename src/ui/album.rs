//! The game's album: after a game, every turn's drawing in a grid (word, drawer, who found it,
//! likes), each replayable stroke by stroke at real speed or faster, and savable as a PNG or
//! as an animated PNG time-lapse. The album stays open until its player closes it; a new
//! game's album waits until then.

use std::collections::HashMap;
use std::time::Duration;

use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};
use egui::RichText;

use crate::i18n::Describe;
use crate::plugins::canvas::raster::{Raster, Replayer, timelapse_apng};
use crate::plugins::canvas::render::GallerySettings;
use crate::plugins::canvas::{CanvasState, CanvasToServer, gallery};
use crate::plugins::net::ToServer;
use crate::plugins::quiz::{AlbumEntry, QuizView};
use crate::plugins::rooms::{NewSession, Roster};
use crate::t;
use crate::theme;

/// Thumbnails' width in pixels.
const THUMB_WIDTH: usize = 200;
/// The narrowest a thumbnail is shown (in a small window, to keep two to a row).
const MIN_THUMB_WIDTH: f32 = 150.0;
/// The replay's width in pixels.
const PLAYER_WIDTH: usize = 640;
/// The gap between thumbnails.
const GRID_GAP: f32 = 12.0;
/// The speeds a replay can run at.
const SPEEDS: [f32; 4] = [1.0, 2.0, 4.0, 8.0];

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

struct Player {
    key: u32,
    replay: Replayer,
    /// The texture showing it (the album's one replay image).
    texture: Option<egui::TextureId>,
    /// The server stopped recording the turn before it ended.
    cut_short: bool,
    playing: bool,
    speed: f32,
    /// Where the replay stands, in ms of the turn (moves with real time while playing).
    at_ms: f64,
    /// Where the texture shows it.
    shown_ms: Option<u32>,
}

/// The image replays are painted into, and its egui texture (made once, reused).
type ReplayImage = Option<(Handle<Image>, egui::TextureId)>;

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
    // A new album opens unless one is open.
    if quiz.album != album.entries && !album.open && !quiz.album.is_empty() {
        album.entries = quiz.album.clone();
        album.shown = quiz.album.clone();
        album.open = true;
        album.asked.clear();
        album.thumbs.clear();
        album.player = None;
        album.saved = None;
    }
    if !album.open {
        return Ok(());
    }
    // Ask for each turn's recording, again now and then until it comes (the server answers
    // within its budget).
    let now = time.elapsed();
    let wanted: Vec<u32> = album
        .shown
        .iter()
        .map(|e| e.key)
        .filter(|k| canvas.replays.get(*k).is_none())
        .filter(|k| {
            album
                .asked
                .get(k)
                .is_none_or(|&(at, asks)| asks < MAX_ASKS && now >= at + ASK_AGAIN)
        })
        .collect();
    for key in wanted {
        out.write(ToServer(CanvasToServer::Replay { key }));
        let asks = album.asked.get(&key).map_or(0, |&(_, n)| n);
        album.asked.insert(key, (now, asks + 1));
    }
    if let Some(done) = album.saving.as_ref().and_then(|rx| rx.try_recv().ok()) {
        album.saved = Some(done);
        album.saving = None;
    }
    let album = &mut *album;
    if let Some(player) = &mut album.player {
        // The replay is painted into an image of the game's own, changed in place: an egui
        // texture replaced whole every frame is a new GPU texture every frame, and showed
        // nothing while a replay played.
        let (handle, id) = replay_image.get_or_insert_with(|| {
            let handle = images.add(replay_canvas(&player.replay.raster));
            let id = contexts.add_image(bevy_egui::EguiTextureHandle::Strong(handle.clone()));
            (handle, id)
        });
        player.texture = Some(*id);
        if advance(player, time.delta())
            && let Some(mut image) = images.get_mut(&*handle)
        {
            let rgba = &player.replay.raster.rgba;
            match image.data.as_mut() {
                Some(data) if data.len() == rgba.len() => data.copy_from_slice(rgba),
                _ => *image = replay_canvas(&player.replay.raster),
            }
        }
    }
    let ctx = contexts.ctx_mut()?;
    if album.player.as_ref().is_some_and(|p| p.playing) {
        // Keep the window drawing while it plays.
        ctx.request_repaint();
    }
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
    let mut open = true;
    // Over the board, never the players and the chat; as wide as the board allows (fewer
    // columns, a smaller replay in a small window).
    let middle = ui_state.middle.unwrap_or_else(|| ctx.content_rect());
    let room = (middle.width() - 40.0).max(MIN_THUMB_WIDTH);
    let fit = ((room + GRID_GAP) / (MIN_THUMB_WIDTH + GRID_GAP)).clamp(1.0, 3.0) as usize;
    // No empty columns for a short game.
    let columns = fit.min(album.shown.len()).max(1);
    let thumb = ((room - GRID_GAP * (columns - 1) as f32) / columns as f32).min(THUMB_WIDTH as f32);
    let width = match album.player.is_some() {
        true => room.min(PLAYER_WIDTH as f32),
        false => columns as f32 * (thumb + GRID_GAP) - GRID_GAP,
    };
    let height = (middle.height() - 140.0).max(THUMB_WIDTH as f32);
    // It stays until closed, even into the next game: it can be folded and moved aside.
    egui::Window::new(RichText::new(t!("album-title")).strong())
        .open(&mut open)
        .collapsible(true)
        .resizable(false)
        .min_width(width)
        .max_width(width)
        .pivot(egui::Align2::CENTER_CENTER)
        .default_pos(middle.center())
        .constrain_to(middle)
        .show(ctx, |ui| match album.player.is_some() {
            true => player_view(ui, album, &roster.room, &settings),
            false => grid(ui, album, &canvas, (columns, thumb, height)),
        });
    album.open = open;
    Ok(())
}

fn colour_image(raster: &Raster) -> egui::ColorImage {
    egui::ColorImage::from_rgba_unmultiplied([raster.width, raster.height], &raster.rgba)
}

/// The grid of turns, `columns` to a row `thumb` wide, scrolling past `max_height`.
fn grid(
    ui: &mut egui::Ui,
    album: &mut AlbumState,
    canvas: &CanvasState,
    (columns, thumb, max_height): (usize, f32, f32),
) {
    let mut picked = None;
    egui::ScrollArea::vertical()
        .max_height(max_height.min(460.0))
        .show(ui, |ui| {
            egui::Grid::new("album-grid")
                .spacing([GRID_GAP, GRID_GAP])
                .show(ui, |ui| {
                    for (i, entry) in album.shown.iter().enumerate() {
                        ui.vertical(|ui| {
                            ui.set_width(thumb);
                            let size = egui::vec2(thumb, thumb * 9.0 / 16.0);
                            match album.thumbs.get(&entry.key) {
                                Some(texture) => {
                                    let image =
                                        egui::Image::new((texture.id(), size)).sense(egui::Sense::click());
                                    if ui.add(image).on_hover_text(t!("album-replay-hover")).clicked() {
                                        picked = Some(entry.key);
                                    }
                                }
                                None => {
                                    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
                                    ui.painter().rect_filled(rect, 2.0, theme::PAPER);
                                    let gave_up = album
                                        .asked
                                        .get(&entry.key)
                                        .is_some_and(|&(_, asks)| asks >= MAX_ASKS);
                                    match gave_up {
                                        true => {
                                            let text = RichText::new(t!("album-no-longer-kept"))
                                                .color(theme::MUTED_TEXT);
                                            ui.put(rect, egui::Label::new(text));
                                        }
                                        false => {
                                            ui.put(rect, egui::Spinner::new());
                                        }
                                    }
                                }
                            }
                            ui.label(RichText::new(&entry.word).strong().size(16.0));
                            ui.label(t!("album-drawn-by", name = entry.drawer.clone()));
                            let found = match entry.found.len() {
                                0 => t!("album-nobody-found"),
                                _ => t!("album-found-by", names = entry.found.join(", ")),
                            };
                            ui.label(RichText::new(found).weak());
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
                                        if ui.add_enabled(ready.is_some(), button).clicked() {
                                            picked = Some(entry.key);
                                        }
                                    }
                                }
                            });
                        });
                        if i % columns == columns - 1 {
                            ui.end_row();
                        }
                    }
                });
        });
    if let Some(key) = picked
        && let Some(ops) = canvas.replays.get(key)
    {
        album.player = Some(Player {
            key,
            replay: Replayer::new(ops.to_vec(), PLAYER_WIDTH),
            texture: None,
            cut_short: canvas.replays.cut_short(key),
            playing: true,
            speed: 1.0,
            at_ms: 0.0,
            shown_ms: None,
        });
        album.saved = None;
    }
}

/// Moves a playing replay on by `delta` of real time, at its speed; whether the picture changed.
fn advance(player: &mut Player, delta: Duration) -> bool {
    if player.playing {
        player.at_ms += delta.as_secs_f64() * 1000.0 * player.speed as f64;
        if player.at_ms >= player.replay.length_ms() as f64 {
            player.at_ms = player.replay.length_ms() as f64;
            player.playing = false;
        }
    }
    // Nothing moved: the image shows it already.
    let at = player.at_ms as u32;
    if player.shown_ms == Some(at) {
        return false;
    }
    player.shown_ms = Some(at);
    player.replay.advance_to(at);
    true
}

/// An image of a replay's raster (sRGB, as the raster is), for egui to show.
fn replay_canvas(raster: &Raster) -> Image {
    Image::new(
        bevy::render::render_resource::Extent3d {
            width: raster.width as u32,
            height: raster.height as u32,
            depth_or_array_layers: 1,
        },
        bevy::render::render_resource::TextureDimension::D2,
        raster.rgba.clone(),
        bevy::render::render_resource::TextureFormat::Rgba8UnormSrgb,
        bevy::asset::RenderAssetUsages::default(),
    )
}

/// One turn's replay with its controls.
fn player_view(ui: &mut egui::Ui, album: &mut AlbumState, room: &str, settings: &GallerySettings) {
    let Some(player) = &mut album.player else { return };
    let entry = album.shown.iter().find(|e| e.key == player.key).cloned();
    if let Some(entry) = &entry {
        ui.label(
            RichText::new(t!(
                "album-heading",
                word = entry.word.clone(),
                name = entry.drawer.clone()
            ))
            .strong(),
        );
    }
    if player.cut_short {
        ui.label(RichText::new(t!("album-cut-short")).weak());
    }
    if let Some(texture) = player.texture {
        let width = ui.available_width().min(PLAYER_WIDTH as f32);
        ui.image((texture, egui::vec2(width, width * 9.0 / 16.0)));
    }
    let length = player.replay.length_ms();
    let mut back = false;
    ui.horizontal_wrapped(|ui| {
        let label = if player.playing {
            t!("album-pause")
        } else {
            t!("album-play")
        };
        if ui.button(label).clicked() {
            if !player.playing && player.at_ms >= length as f64 {
                player.at_ms = 0.0;
            }
            player.playing = !player.playing;
        }
        if ui.button(t!("album-start")).clicked() {
            player.at_ms = 0.0;
        }
        for speed in SPEEDS {
            if ui
                .selectable_label(player.speed == speed, format!("{speed}×"))
                .clicked()
            {
                player.speed = speed;
            }
        }
        let mut at = (player.at_ms / 1000.0) as f32;
        let slider = egui::Slider::new(&mut at, 0.0..=(length as f32 / 1000.0).max(0.1))
            .custom_formatter(|secs, _| clock(secs))
            .custom_parser(parse_clock)
            .show_value(true);
        if ui.add(slider).changed() {
            player.at_ms = at as f64 * 1000.0;
        }
        ui.label(format!("/ {}", clock(length as f64 / 1000.0)));
    });
    ui.horizontal_wrapped(|ui| {
        if ui.button(t!("album-back")).clicked() {
            back = true;
        }
        let word = entry.as_ref().map(|e| e.word.clone());
        let drawer = entry.as_ref().map_or("", |e| e.drawer.as_str()).to_owned();
        let name = |suffix: &str| {
            let base = gallery::file_name(room, word.as_deref(), &drawer, &gallery::local_stamp());
            format!("{}{suffix}.png", base.trim_end_matches(".png"))
        };
        let idle = album.saving.is_none();
        if ui
            .add_enabled(idle, egui::Button::new(t!("album-save-png")))
            .clicked()
        {
            // The finished drawing at the board's full size, painted and saved off the UI.
            let ops = player.replay.ops().to_vec();
            let (settings, name) = (settings.clone(), name(""));
            album.saving = Some(in_background(move || {
                let mut finished = Replayer::new(ops, 16);
                finished.advance_to(u32::MAX);
                let mut raster = Raster::new(1600);
                raster.paint(&finished.drawing);
                gallery::encode_png(&raster.rgba, raster.width as u32, raster.height as u32)
                    .map_err(|e| e.describe())
                    .and_then(|png| save_to(&settings, &name, &png))
            }));
        }
        if ui
            .add_enabled(idle, egui::Button::new(t!("album-save-timelapse")))
            .on_hover_text(t!("album-save-timelapse-hover"))
            .clicked()
        {
            let ops = player.replay.ops().to_vec();
            let (settings, name) = (settings.clone(), name("-timelapse"));
            album.saving = Some(in_background(move || match timelapse_apng(&ops, 800, 500, 100) {
                Ok((apng, _)) => save_to(&settings, &name, &apng),
                Err(e) => Err(e.to_string()),
            }));
        }
    });
    if album.saving.is_some() {
        ui.label(RichText::new(t!("album-saving")).weak().small());
        ui.ctx().request_repaint_after(Duration::from_millis(100));
    }
    match &album.saved {
        Some(Ok(path)) => {
            ui.label(
                RichText::new(t!("album-saved", path = path.clone()))
                    .weak()
                    .small(),
            );
        }
        Some(Err(why)) => {
            ui.label(RichText::new(why).color(theme::ERROR).small());
        }
        None => {}
    }
    if back {
        album.player = None;
        album.saved = None;
    }
}

/// Runs a save on its own thread; its outcome comes on the channel.
fn in_background(
    save: impl FnOnce() -> Result<String, String> + Send + 'static,
) -> crossbeam_channel::Receiver<Result<String, String>> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let spawned = std::thread::Builder::new()
        .name("album-save".into())
        .spawn(move || {
            let _ = tx.send(save());
        });
    if let Err(e) = spawned {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let _ = tx.send(Err(e.to_string()));
        return rx;
    }
    rx
}

/// Writes a PNG to the gallery; the path, or why not.
fn save_to(settings: &GallerySettings, name: &str, png: &[u8]) -> Result<String, String> {
    let folder = settings
        .folder
        .clone()
        .ok_or_else(|| gallery::SaveError::NoFolder.describe())?;
    gallery::save(&folder, name, png)
        .map(|path| path.display().to_string())
        .map_err(|e| e.describe())
}
/// A time in a replay as a player reads it: minutes, seconds and tenths (`1:05.3`).
fn clock(secs: f64) -> String {
    let tenths = (secs.max(0.0) * 10.0).round() as u64;
    format!("{}:{:02}.{}", tenths / 600, tenths / 10 % 60, tenths % 10)
}

/// A time typed into the replay's slider: `m:ss.s`, or seconds.
fn parse_clock(text: &str) -> Option<f64> {
    let text = text.trim();
    let secs = match text.split_once(':') {
        Some((m, s)) => m.trim().parse::<u32>().ok()? as f64 * 60.0 + s.trim().parse::<f64>().ok()?,
        None => text.parse::<f64>().ok()?,
    };
    (secs.is_finite() && secs >= 0.0).then_some(secs)
}

#[cfg(test)]
mod tests {
    use super::{clock, parse_clock};

    #[test]
    fn replay_times_read_as_minutes_seconds_and_tenths() {
        assert_eq!(clock(3.5774), "0:03.6");
        assert_eq!(clock(0.0), "0:00.0");
        assert_eq!(clock(59.96), "1:00.0");
        assert_eq!(clock(65.34), "1:05.3");
        assert_eq!(clock(-1.0), "0:00.0");
        assert_eq!(parse_clock("1:05.3"), Some(65.3));
        assert_eq!(parse_clock(" 12.5 "), Some(12.5));
        assert_eq!(parse_clock("x"), None);
        assert_eq!(parse_clock("-3"), None);
        for secs in [0.0, 3.6, 65.3, 125.0] {
            assert_eq!(parse_clock(&clock(secs)), Some(secs));
        }
    }
}
