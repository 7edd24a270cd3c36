//! The launcher: a nickname, then join a game (address, port, room) or host one.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};
use egui::RichText;

use super::Screen;
use super::memory::{LauncherMemory, RecentServer};
use super::rooms_list as rooms;
use super::{UiState, root_ui, start_joining};
use crate::cli::DEFAULT_PORT;
use crate::i18n::Describe;
use crate::names::{MAX_NAME_CHARS, NameError, normalize_name};
use crate::plugins::rooms::{BrowseServer, Browsing, JoinServer, StopBrowsing, means_lobby};
use crate::t;
use crate::theme;
#[cfg(not(target_arch = "wasm32"))]
use {super::HostOptions, crate::app::ServerOptions};

pub(super) fn show(
    mut contexts: EguiContexts,
    #[cfg(not(target_arch = "wasm32"))] mut commands: Commands,
    mut state: ResMut<UiState>,
    #[cfg(not(target_arch = "wasm32"))] host_options: Res<HostOptions>,
    mut memory: ResMut<LauncherMemory>,
    browsing: Res<Browsing>,
    mut next: ResMut<NextState<Screen>>,
    mut out: LauncherOut,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let mut root = root_ui(ctx);
    let mut action = None;
    egui::CentralPanel::default_margins().show(&mut root, |ui| {
        if let Some(lang) = language_menu(ui) {
            switch_language(&mut memory, lang);
        }
        action = match &browsing.0 {
            Some(browser) => rooms::show(ui, &mut state, browser),
            None => launcher_page(ui, &mut state, &memory.remembered.servers),
        };
    });
    let Some(action) = action else { return Ok(()) };
    state.error = None;
    let state = &mut *state;
    match action {
        Action::Browse => {
            if let Some((addr, _)) = server_address(state) {
                out.browse.write(BrowseServer { addr });
            }
        }
        Action::CloseList => {
            out.stop.write(StopBrowsing);
        }
        Action::Join(room) => {
            if let Some(name) = checked_name(state) {
                join(state, &mut memory, &mut next, &mut out.join, name, room);
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        Action::Host => {
            if let Some(name) = checked_name(state) {
                host(
                    state,
                    &mut memory,
                    &mut next,
                    &mut commands,
                    &mut out,
                    &host_options.0,
                    name,
                );
            }
        }
    }
    Ok(())
}

/// The interface in `lang` from now on, and at the next launch.
fn switch_language(memory: &mut LauncherMemory, lang: crate::i18n::Lang) {
    crate::i18n::set(lang);
    memory.remembered.language = Some(lang.code().to_owned());
    memory.save();
}

/// The launcher's own page (the room list aside): its title, the form and the build's
/// version. Returns what the player asked.
fn launcher_page(ui: &mut egui::Ui, state: &mut UiState, recent: &[RecentServer]) -> Option<Action> {
    let mut action = None;
    ui.vertical_centered(|ui| {
        // The language switch above takes a line.
        ui.add_space(24.0);
        ui.label(RichText::new("캐치마인드").size(44.0).strong());
        ui.label(RichText::new(t!("launcher-tagline")).size(18.0));
        ui.add_space(28.0);
        // As wide as a section, or the page on a phone.
        let width = (ui.available_width() - 8.0).min(SECTION_WIDTH);
        ui.allocate_ui(egui::vec2(width, 0.0), |ui| {
            action = form(ui, state, recent);
        });
    });
    build_version(ui);
    action
}

/// Which build this is, at the bottom right, for telling builds apart (a version mismatch
/// names both).
fn build_version(ui: &mut egui::Ui) {
    ui.with_layout(egui::Layout::bottom_up(egui::Align::RIGHT), |ui| {
        ui.label(
            RichText::new(format!("v{}", crate::version::BUILD))
                .small()
                .weak(),
        );
    });
}

/// The typed nickname made a name, or `None` with why not shown.
fn checked_name(state: &mut UiState) -> Option<String> {
    match normalize_name(&state.name) {
        Ok(name) => Some(name),
        Err(e) => {
            state.error = Some(t!("launcher-error-nickname", why = e.describe()));
            None
        }
    }
}

/// Joins the typed server as `name`, into `room` (picked in the room list) or the typed one,
/// remembering the name; a bad room or address is shown instead.
fn join(
    state: &mut UiState,
    memory: &mut LauncherMemory,
    next: &mut NextState<Screen>,
    connect: &mut MessageWriter<JoinServer>,
    name: String,
    room: Option<String>,
) {
    let room = match room_to_join(room.as_deref().unwrap_or(&state.room)) {
        Ok(room) => room,
        Err(e) => {
            state.error = Some(t!("launcher-error-room", why = e.describe()));
            return;
        }
    };
    let Some((addr, address)) = server_address(state) else {
        return;
    };
    remember_name(memory, &name);
    let recent = RecentServer {
        address,
        port: state.port.trim().to_owned(),
        room: room.clone().unwrap_or_default(),
    };
    let spectate = state.spectate;
    start_joining(state, next, connect, &addr, name, (room, spectate));
    // Remembered once the server lets us in (`lifecycle::remember_joined`).
    state.joining = Some(recent);
}

/// The room a typed name asks for: `None` for the lobby (blank, or any of its names), else
/// the name made a room's name.
fn room_to_join(typed: &str) -> Result<Option<String>, NameError> {
    match typed.trim() {
        room if room.is_empty() || means_lobby(room) => Ok(None),
        room => normalize_name(room).map(Some),
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// Hosts a game on the typed port as `name`, remembering the name; once the last game has
/// stopped if it is still stopping. A bad port or a failure to host is shown instead.
fn host(
    state: &mut UiState,
    memory: &mut LauncherMemory,
    next: &mut NextState<Screen>,
    commands: &mut Commands,
    out: &mut LauncherOut,
    options: &ServerOptions,
    name: String,
) {
    let Some(port) = parse_port(&state.host_port) else {
        state.error = Some(t!("launcher-error-port"));
        return;
    };
    remember_name(memory, &name);
    if let Some(stopping) = out.stopping.as_deref_mut() {
        // The last game is still telling its players: host once its port is free.
        stopping.then_host = Some((port, name));
        return;
    }
    if let Err(e) = super::hosting::host(commands, state, next, &mut out.join, (port, name), options) {
        state.error = Some(t!("launcher-error-host", why = e.describe()));
    }
}

/// Keeps the nickname for the next launch.
fn remember_name(memory: &mut LauncherMemory, name: &str) {
    name.clone_into(&mut memory.remembered.name);
    memory.save();
}

/// What the launcher asks of the rooms plugin.
#[derive(bevy::ecs::system::SystemParam)]
pub(super) struct LauncherOut<'w> {
    join: MessageWriter<'w, JoinServer>,
    #[cfg(not(target_arch = "wasm32"))]
    stopping: Option<ResMut<'w, super::hosting::Stopping>>,
    browse: MessageWriter<'w, BrowseServer>,
    stop: MessageWriter<'w, StopBrowsing>,
}

/// The interface's language, at the top right; returns a new choice.
fn language_menu(ui: &mut egui::Ui) -> Option<crate::i18n::Lang> {
    let current = crate::i18n::current();
    let mut picked = None;
    let top_right = egui::Rect::from_min_size(
        egui::pos2(ui.max_rect().right() - 200.0, ui.max_rect().top()),
        egui::vec2(200.0, 24.0),
    );
    ui.scope_builder(egui::UiBuilder::new().max_rect(top_right), |ui| {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            for lang in crate::i18n::Lang::ALL.into_iter().rev() {
                if ui.selectable_label(lang == current, lang.name()).clicked() && lang != current {
                    picked = Some(lang);
                }
            }
        });
    });
    picked
}

/// The typed server's address with its port (and the address as typed), or the error shown.
fn server_address(state: &mut UiState) -> Option<(String, String)> {
    let address = state.address.trim().to_owned();
    if address.is_empty() {
        state.error = Some(t!("launcher-error-address"));
        return None;
    }
    let Some(port) = parse_port(&state.port) else {
        state.error = Some(t!("launcher-error-port"));
        return None;
    };
    Some((crate::plugins::net::with_default_port(&address, port), address))
}

pub(super) enum Action {
    /// Join the typed room, or this one (picked or made in the room list).
    Join(Option<String>),
    #[cfg(not(target_arch = "wasm32"))]
    Host,
    /// Open the typed server's room list.
    Browse,
    CloseList,
}

fn parse_port(text: &str) -> Option<u16> {
    match text.trim() {
        "" => Some(DEFAULT_PORT),
        text => text.parse().ok().filter(|&p| p != 0),
    }
}

/// The height of the launcher's buttons.
#[cfg(not(target_arch = "wasm32"))]
const BUTTON_HEIGHT: f32 = 30.0;
/// A text field's width: [`FIELD_WIDTH`], or what is left on a narrow page.
fn field_width(ui: &egui::Ui) -> f32 {
    FIELD_WIDTH.min(ui.available_width())
}

/// The width of the launcher's sections (less on a narrow page).
const SECTION_WIDTH: f32 = 440.0;
/// The width of the launcher's text fields.
pub(super) const FIELD_WIDTH: f32 = 300.0;

fn form(ui: &mut egui::Ui, state: &mut UiState, recent: &[RecentServer]) -> Option<Action> {
    let mut action = None;
    section(ui, None, |ui| {
        if name_fields(ui, state) {
            action = Some(Action::Join(None));
        }
    });
    section(ui, Some(&t!("launcher-join-title")), |ui| {
        if let Some(asked) = join_fields(ui, state) {
            action = Some(asked);
        }
        if let Some(pick) = recent_servers(ui, recent) {
            state.address.clone_from(&pick.address);
            state.port.clone_from(&pick.port);
            state.room.clone_from(&pick.room);
            action = Some(Action::Join(None));
        }
    });
    // A browser joins; hosting is the desktop game's.
    #[cfg(not(target_arch = "wasm32"))]
    section(ui, Some(&t!("launcher-host-title")), |ui| {
        if host_fields(ui, state) {
            action = Some(Action::Host);
        }
    });
    if let Some(error) = &state.error {
        ui.add_space(4.0);
        ui.label(RichText::new(error).color(theme::ERROR).strong());
    }
    action
}

/// Enter in a field of a section acts like that section's button.
pub(super) fn submitted(response: egui::Response, ui: &egui::Ui) -> bool {
    response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
}

/// A launcher section's grid of labels and fields. Every section's label column is as wide as
/// the widest label of all of them, so the fields line up from one section to the next.
fn fields_grid(id: &str, ui: &mut egui::Ui, add: impl FnOnce(&mut egui::Ui)) {
    let font = egui::TextStyle::Body.resolve(ui.style());
    let labels = [
        "launcher-nickname",
        "launcher-address",
        "launcher-port",
        "launcher-room",
    ];
    let widest = labels
        .iter()
        .map(|key| {
            ui.painter()
                .layout_no_wrap(crate::i18n::tr(key), font.clone(), egui::Color32::WHITE)
                .size()
                .x
        })
        .fold(0.0, f32::max);
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([12.0, 10.0])
        .min_col_width(widest)
        .show(ui, add);
}

/// The nickname; whether Enter was pressed in it (which joins, as an invite link's page
/// expects: only the nickname is left to type).
fn name_fields(ui: &mut egui::Ui, state: &mut UiState) -> bool {
    let mut entered = false;
    fields_grid("name", ui, |ui| {
        entered = submitted(nickname(ui, state), ui);
        ui.end_row();
    });
    entered
}

/// The nickname's label and field (the launcher's and the room list's).
pub(super) fn nickname(ui: &mut egui::Ui, state: &mut UiState) -> egui::Response {
    ui.label(t!("launcher-nickname"));
    let field = ui.add(
        egui::TextEdit::singleline(&mut state.name)
            .char_limit(MAX_NAME_CHARS)
            .desired_width(field_width(ui))
            .hint_text(t!("launcher-nickname-hint")),
    );
    if std::mem::take(&mut state.focus_name) {
        field.request_focus();
    }
    field
}

/// Address, port and room, and the Connect and Rooms buttons. Returns what the player asked.
fn join_fields(ui: &mut egui::Ui, state: &mut UiState) -> Option<Action> {
    let mut join = false;
    // Measured here, not in the grid: a cell's available width is its column's width in the
    // last frame, which the short port field narrowed until the address did not fit.
    let wide = FIELD_WIDTH.min(ui.available_width() - 100.0);
    fields_grid("join", ui, |ui| {
        // A labelled field on its row; whether Enter was pressed in it.
        let mut row = |ui: &mut egui::Ui, label: String, field: egui::TextEdit| {
            ui.label(label);
            let r = ui.add(field);
            ui.end_row();
            join |= submitted(r, ui);
        };
        let address = egui::TextEdit::singleline(&mut state.address)
            .desired_width(wide)
            .hint_text(t!("launcher-address-hint"));
        row(ui, t!("launcher-address"), address);
        let port = egui::TextEdit::singleline(&mut state.port)
            .desired_width(80.0)
            .hint_text(DEFAULT_PORT.to_string());
        row(ui, t!("launcher-port"), port);
        let room = egui::TextEdit::singleline(&mut state.room)
            .char_limit(MAX_NAME_CHARS)
            .desired_width(wide)
            .hint_text(t!("launcher-room-hint"));
        row(ui, t!("launcher-room"), room);
    });
    ui.checkbox(&mut state.spectate, t!("launcher-watch-only"));
    ui.add_space(4.0);
    let mut browse = false;
    ui.horizontal(|ui| {
        join |= ui
            .add_sized([120.0, 30.0], egui::Button::new(t!("launcher-connect")))
            .clicked();
        browse = ui
            .add_sized([120.0, 30.0], egui::Button::new(t!("launcher-rooms")))
            .on_hover_text(t!("launcher-rooms-hover"))
            .clicked();
    });
    if browse {
        Some(Action::Browse)
    } else {
        join.then_some(Action::Join(None))
    }
}

/// The servers joined last (most recent first), one click to join again.
fn recent_servers<'a>(ui: &mut egui::Ui, recent: &'a [RecentServer]) -> Option<&'a RecentServer> {
    if recent.is_empty() {
        return None;
    }
    let mut picked = None;
    ui.add_space(8.0);
    ui.label(RichText::new(t!("launcher-recent")).weak());
    ui.horizontal_wrapped(|ui| {
        for server in recent {
            if ui
                .button(server.label())
                .on_hover_text(t!("launcher-recent-hover"))
                .clicked()
            {
                picked = Some(server);
            }
        }
    });
    picked
}

#[cfg(not(target_arch = "wasm32"))]
/// The port to host on and the Host button. Returns whether the player asked to host.
fn host_fields(ui: &mut egui::Ui, state: &mut UiState) -> bool {
    let mut host = false;
    fields_grid("host", ui, |ui| {
        // The label, the field and the (taller) button centred on one line.
        let centred = egui::Layout::left_to_right(egui::Align::Center);
        ui.allocate_ui_with_layout(egui::vec2(0.0, BUTTON_HEIGHT), centred, |ui| {
            ui.label(t!("launcher-port"))
        });
        ui.allocate_ui_with_layout(egui::vec2(FIELD_WIDTH, BUTTON_HEIGHT), centred, |ui| {
            let r = ui.add(
                egui::TextEdit::singleline(&mut state.host_port)
                    .desired_width(80.0)
                    .hint_text(DEFAULT_PORT.to_string()),
            );
            if submitted(r, ui) {
                host = true;
            }
            if ui
                .add_sized([120.0, BUTTON_HEIGHT], egui::Button::new(t!("launcher-host")))
                .clicked()
            {
                host = true;
            }
        });
        ui.end_row();
    });
    ui.label(RichText::new(t!("launcher-host-note")).weak());
    host
}

/// A framed group of fields, all sections the same width.
fn section(ui: &mut egui::Ui, title: Option<&str>, add: impl FnOnce(&mut egui::Ui)) {
    egui::Frame::group(ui.style()).inner_margin(16.0).show(ui, |ui| {
        ui.set_width(ui.available_width().min(SECTION_WIDTH));
        ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| {
            if let Some(title) = title {
                ui.label(RichText::new(title).strong().size(17.0));
                ui.add_space(6.0);
            }
            add(ui);
        });
    });
    ui.add_space(12.0);
}

#[cfg(test)]
mod tests {
    use super::room_to_join;
    use crate::names::NameError;

    #[test]
    fn a_blank_room_or_any_name_of_the_lobby_joins_the_lobby() {
        assert_eq!(room_to_join(""), Ok(None));
        assert_eq!(room_to_join("   "), Ok(None));
        assert_eq!(room_to_join("로비"), Ok(None));
        assert_eq!(room_to_join(" den "), Ok(Some("den".to_owned())));
        assert_eq!(room_to_join("a/b"), Err(NameError::PathSeparator));
    }
}
