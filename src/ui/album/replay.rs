//! One turn's replay in the album: stroke by stroke at real speed or faster, with its controls,
//! and savable as a PNG or as an animated PNG time-lapse.

use std::time::Duration;

use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};
use egui::RichText;

use super::AlbumState;
use crate::i18n::Describe;
use crate::plugins::canvas::raster::{Raster, Replayer, timelapse_apng};
use crate::plugins::canvas::render::GallerySettings;
use crate::plugins::canvas::{TimedOp, gallery};
use crate::plugins::quiz::AlbumEntry;
use crate::t;
use crate::theme;

/// The replay's width in pixels.
pub(super) const PLAYER_WIDTH: usize = 640;
/// The speeds a replay can run at.
const SPEEDS: [f32; 4] = [1.0, 2.0, 4.0, 8.0];

/// The turn being replayed, and where the replay stands.
pub(super) struct Player {
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

impl Player {
    /// Turn `key`'s replay from its start, playing at real speed.
    pub(super) fn new(key: u32, ops: Vec<TimedOp>, cut_short: bool) -> Self {
        Player {
            key,
            replay: Replayer::new(ops, PLAYER_WIDTH),
            texture: None,
            cut_short,
            playing: true,
            speed: 1.0,
            at_ms: 0.0,
            shown_ms: None,
        }
    }

    /// Whether it is playing (the window keeps drawing meanwhile).
    pub(super) fn is_playing(&self) -> bool {
        self.playing
    }
}

/// The image replays are painted into, and its egui texture (made once, reused).
pub(super) type ReplayImage = Option<(Handle<Image>, egui::TextureId)>;

/// Moves the replay on by `delta` and paints it into the album's one replay image, made (with
/// its egui texture) the first time.
pub(super) fn paint_replay(
    player: &mut Player,
    delta: Duration,
    contexts: &mut EguiContexts,
    images: &mut Assets<Image>,
    replay_image: &mut ReplayImage,
) {
    // The replay is painted into an image of the game's own, changed in place: an egui
    // texture replaced whole every frame is a new GPU texture every frame, and showed
    // nothing while a replay played.
    let (handle, id) = replay_image.get_or_insert_with(|| {
        let handle = images.add(replay_canvas(&player.replay.raster));
        let id = contexts.add_image(bevy_egui::EguiTextureHandle::Strong(handle.clone()));
        (handle, id)
    });
    player.texture = Some(*id);
    if advance(player, delta)
        && let Some(mut image) = images.get_mut(&*handle)
    {
        let rgba = &player.replay.raster.rgba;
        match image.data.as_mut() {
            Some(data) if data.len() == rgba.len() => data.copy_from_slice(rgba),
            _ => *image = replay_canvas(&player.replay.raster),
        }
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
pub(super) fn player_view(ui: &mut egui::Ui, album: &mut AlbumState, room: &str, settings: &GallerySettings) {
    let Some(player) = &mut album.player else { return };
    let entry = album.shown.iter().find(|e| e.key == player.key).cloned();
    replay_picture(ui, player, entry.as_ref());
    replay_controls(ui, player);
    let back = back_and_save_buttons(ui, player, entry.as_ref(), &mut album.saving, room, settings);
    save_status(ui, album.saving.is_some(), album.saved.as_ref());
    if back {
        album.player = None;
        album.saved = None;
    }
}

/// The replayed turn's word and drawer, whether its recording was cut short, and the replay.
fn replay_picture(ui: &mut egui::Ui, player: &Player, entry: Option<&AlbumEntry>) {
    if let Some(entry) = entry {
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
}

/// Play or pause (from the start again once ended), back to the start, the speeds, and a
/// slider of where the replay stands against its length.
fn replay_controls(ui: &mut egui::Ui, player: &mut Player) {
    let length = player.replay.length_ms();
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
}

/// Back to the grid, and saving the drawing or its time-lapse to the gallery (one save at a
/// time, begun into `saving`). Whether the player asked to go back.
fn back_and_save_buttons(
    ui: &mut egui::Ui,
    player: &Player,
    entry: Option<&AlbumEntry>,
    saving: &mut Option<crossbeam_channel::Receiver<Result<String, String>>>,
    room: &str,
    settings: &GallerySettings,
) -> bool {
    let mut back = false;
    ui.horizontal_wrapped(|ui| {
        if ui.button(t!("album-back")).clicked() {
            back = true;
        }
        let idle = saving.is_none();
        if ui
            .add_enabled(idle, egui::Button::new(t!("album-save-png")))
            .clicked()
        {
            // The finished drawing at the board's full size, painted and saved off the UI.
            let ops = player.replay.ops().to_vec();
            let (settings, name) = (settings.clone(), picture_name(room, entry, ""));
            *saving = Some(in_background(move || save_drawing(ops, &settings, &name)));
        }
        if ui
            .add_enabled(idle, egui::Button::new(t!("album-save-timelapse")))
            .on_hover_text(t!("album-save-timelapse-hover"))
            .clicked()
        {
            let ops = player.replay.ops().to_vec();
            let (settings, name) = (settings.clone(), picture_name(room, entry, "-timelapse"));
            *saving = Some(in_background(move || save_timelapse(&ops, &settings, &name)));
        }
    });
    back
}

/// The gallery's file name for a turn's picture (its room, word and drawer, stamped now),
/// `suffix` before its `.png`.
fn picture_name(room: &str, entry: Option<&AlbumEntry>, suffix: &str) -> String {
    let word = entry.map(|e| e.word.as_str());
    let drawer = entry.map_or("", |e| e.drawer.as_str());
    let base = gallery::file_name(room, word, drawer, &gallery::local_stamp());
    format!("{}{suffix}.png", base.trim_end_matches(".png"))
}

/// Paints the finished drawing at the board's full size and saves it as a PNG; the path, or why not.
fn save_drawing(ops: Vec<TimedOp>, settings: &GallerySettings, name: &str) -> Result<String, String> {
    let mut finished = Replayer::new(ops, 16);
    finished.advance_to(u32::MAX);
    let mut raster = Raster::new(1600);
    raster.paint(&finished.drawing);
    gallery::encode_png(&raster.rgba, raster.width as u32, raster.height as u32)
        .map_err(|e| e.describe())
        .and_then(|png| save_to(settings, name, &png))
}

/// Saves the drawing's time-lapse as an animated PNG; the path, or why not.
fn save_timelapse(ops: &[TimedOp], settings: &GallerySettings, name: &str) -> Result<String, String> {
    match timelapse_apng(ops, 800, 500, 100) {
        Ok((apng, _)) => save_to(settings, name, &apng),
        Err(e) => Err(e.to_string()),
    }
}

/// A save under way, and the last one's outcome (its path, or why not).
fn save_status(ui: &mut egui::Ui, saving: bool, saved: Option<&Result<String, String>>) {
    if saving {
        ui.label(RichText::new(t!("album-saving")).weak().small());
        ui.ctx().request_repaint_after(Duration::from_millis(100));
    }
    match saved {
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
}

/// In a browser, where a page has no threads of its own to spare: the save runs now.
#[cfg(target_arch = "wasm32")]
fn in_background(
    save: impl FnOnce() -> Result<String, String> + Send + 'static,
) -> crossbeam_channel::Receiver<Result<String, String>> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let _ = tx.send(save());
    rx
}

/// Runs a save on its own thread; its outcome comes on the channel.
#[cfg(not(target_arch = "wasm32"))]
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

/// In a browser a saved picture is a download (the browser asks where, or puts it in the
/// downloads folder); its name, or why not.
#[cfg(target_arch = "wasm32")]
fn save_to(_: &GallerySettings, name: &str, png: &[u8]) -> Result<String, String> {
    crate::files::download(name, png, "image/png").map(|()| name.to_owned())
}

/// Writes a PNG to the gallery; the path, or why not.
#[cfg(not(target_arch = "wasm32"))]
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
