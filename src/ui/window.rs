//! The window itself: its camera, waking on network news, fonts, the canvas texture for egui,
//! and a title that names the player and flashes a game's news.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bevy::prelude::*;
use bevy::winit::{EventLoopProxyWrapper, UpdateMode, WinitSettings, WinitUserEvent};
use bevy_egui::{EguiContexts, EguiTextureHandle, PrimaryEguiContext};

use super::Screen;
use super::{TITLE, UNFOCUSED_MODE, UiState, fonts};
use crate::plugins::canvas::render::CanvasImage;
use crate::plugins::net::NetWaker;
use crate::plugins::quiz::QuizView;
use crate::plugins::quiz::ui::{BANNER_TIME, banner_text};
use crate::plugins::rooms::{Roster, room_label};

/// The window's camera carries the UI. Named explicitly: left to itself, bevy_egui would
/// pick whichever camera came first, and that may be the canvas camera.
pub(super) fn spawn_camera(mut commands: Commands) {
    commands.spawn((Name::new("window camera"), Camera2d, PrimaryEguiContext));
}

pub(super) fn install_waker(mut commands: Commands, proxy: Res<EventLoopProxyWrapper>) {
    let proxy = Mutex::new((**proxy).clone());
    commands.insert_resource(NetWaker(Arc::new(move || {
        if let Ok(proxy) = proxy.lock() {
            let _ = proxy.send_event(WinitUserEvent::WakeUp);
        }
    })));
}

pub(super) fn install_fonts(mut contexts: EguiContexts, mut done: Local<bool>) -> Result {
    if !*done {
        fonts::install(contexts.ctx_mut()?);
        *done = true;
    }
    Ok(())
}

pub(super) fn register_canvas_texture(
    mut contexts: EguiContexts,
    image: Option<Res<CanvasImage>>,
    mut state: ResMut<UiState>,
) {
    if state.canvas_texture.is_none()
        && let Some(image) = image
    {
        state.canvas_texture = Some(contexts.add_image(EguiTextureHandle::Strong(image.0.clone())));
    }
}

/// The window title names the player and room; it flashes a game's news (there is no
/// sound), so "your turn" shows even on a window in the background.
pub(super) fn update_title(
    time: Res<Time<Real>>,
    roster: Res<Roster>,
    quiz: Res<QuizView>,
    mode: Res<State<Screen>>,
    mut winit: ResMut<WinitSettings>,
    mut windows: Query<&mut Window>,
    mut was_flashing: Local<bool>,
) {
    let now = time.elapsed();
    let news = quiz
        .banners
        .back()
        .filter(|(at, _)| now.saturating_sub(*at) < BANNER_TIME * 2);
    // A window in the background wakes every second; while it flashes, four times a second.
    let unfocused = if news.is_some() {
        UpdateMode::reactive_low_power(Duration::from_millis(250))
    } else {
        UNFOCUSED_MODE
    };
    if winit.unfocused_mode != unfocused {
        winit.unfocused_mode = unfocused;
    }
    let flashing = news.is_some();
    if !flashing && !*was_flashing && !roster.is_changed() && !mode.is_changed() {
        return;
    }
    *was_flashing = flashing;
    let flash = news.filter(|(at, _)| (now.saturating_sub(*at).as_millis() / 500).is_multiple_of(2));
    let title = match (roster.me.and_then(|me| roster.name_of(me)), *mode.get()) {
        (_, Screen::Launcher) | (None, _) => TITLE.to_owned(),
        (_, _) if flash.is_some() => {
            let (text, _) = banner_text(&flash.expect("checked").1);
            format!("★ {text} ★")
        }
        (Some(name), _) => format!("{TITLE} — {name} @ {}", room_label(&roster.room)),
    };
    for mut window in &mut windows {
        if window.title != title {
            window.title = title.clone();
        }
    }
}
