//! The launcher's room list: a server's rooms (name, players, what they are doing, the
//! language of their words), refreshed while open; join one with a click, or make a new one.

use bevy_egui::egui;
use egui::RichText;

use super::UiState;
use super::launcher::{Action, FIELD_WIDTH, nickname, submitted};
use crate::i18n::Describe;
use crate::names::MAX_NAME_CHARS;
use crate::plugins::rooms::{RoomBrowser, RoomListing, room_label};
use crate::t;
use crate::theme;

/// The list's width, as the launcher's sections.
const WIDTH: f32 = 560.0;
/// The room name's column (longer names are cut short, in full on hover).
const NAME_WIDTH: f32 = 190.0;
/// Past this height the rooms scroll.
const MAX_LIST_HEIGHT: f32 = 300.0;

pub(super) fn show(ui: &mut egui::Ui, state: &mut UiState, browser: &RoomBrowser) -> Option<Action> {
    let mut action = None;
    ui.vertical_centered(|ui| {
        ui.add_space(24.0);
        ui.allocate_ui(egui::vec2(WIDTH, 0.0), |ui| {
            ui.set_width(WIDTH);
            ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| {
                action = contents(ui, state, browser);
            });
        });
    });
    action
}

fn contents(ui: &mut egui::Ui, state: &mut UiState, browser: &RoomBrowser) -> Option<Action> {
    let mut action = None;
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(t!("rooms-title", addr = browser.addr.clone()))
                .strong()
                .size(20.0),
        );
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button(t!("rooms-back")).clicked() {
                action = Some(Action::CloseList);
            }
        });
    });
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        let _ = nickname(ui, state);
        ui.checkbox(&mut state.spectate, t!("rooms-watch-only"));
    });
    ui.add_space(8.0);
    egui::Frame::group(ui.style()).inner_margin(10.0).show(ui, |ui| {
        ui.set_width(WIDTH - 24.0);
        match (&browser.list, &browser.error) {
            (list, Some(error)) => {
                let mut why = error.describe();
                if !why.ends_with(['.', '?', '!']) {
                    why.push('.');
                }
                let text = match list {
                    Some(_) => t!("rooms-stopped", why = why),
                    None => t!("rooms-unreachable", why = why),
                };
                ui.label(RichText::new(text).color(theme::ERROR));
                if ui.button(t!("rooms-try-again")).clicked() {
                    action = Some(Action::Browse);
                }
            }
            (None, None) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(t!("rooms-asking"));
                });
            }
            (Some(list), None) => {
                if let Some(picked) = table(ui, &list.rooms, state.spectate) {
                    action = Some(Action::Join(Some(picked)));
                }
                let shown = list.rooms.len();
                let note = if (list.total as usize) > shown {
                    t!("rooms-fullest", shown = shown as u64, total = list.total)
                } else {
                    t!("rooms-refreshed")
                };
                ui.add_space(4.0);
                ui.label(RichText::new(note).weak());
            }
        }
    });
    ui.add_space(10.0);
    ui.horizontal(|ui| {
        ui.label(t!("rooms-new-room"));
        let r = ui.add(
            egui::TextEdit::singleline(&mut state.room)
                .char_limit(MAX_NAME_CHARS)
                .desired_width(FIELD_WIDTH - 60.0)
                .hint_text(t!("rooms-new-room-hint")),
        );
        let create = ui.button(t!("rooms-create")).clicked() || submitted(r, ui);
        if create && !state.room.trim().is_empty() {
            action = Some(Action::Join(Some(state.room.clone())));
        }
    });
    if let Some(error) = &state.error {
        ui.add_space(4.0);
        ui.label(RichText::new(error).color(theme::ERROR).strong());
    }
    action
}

/// The rooms, one row each; returns the room whose Join (or Watch, for a spectator) was
/// clicked.
fn table(ui: &mut egui::Ui, rooms: &[RoomListing], spectate: bool) -> Option<String> {
    if rooms.is_empty() {
        ui.label(t!("rooms-none"));
        return None;
    }
    let mut picked = None;
    // As tall as its rows, up to a limit, decided now: a scroll area left to size itself
    // follows its content a frame late, and a window that sleeps between events showed the
    // new rows scrolled out of sight (seen under Xvfb).
    let row = ui.spacing().interact_size.y + 6.0;
    let height = ((rooms.len() + 1) as f32 * row).min(MAX_LIST_HEIGHT);
    egui::ScrollArea::vertical()
        .min_scrolled_height(height)
        .max_height(height)
        .show(ui, |ui| {
            egui::Grid::new("rooms")
                .num_columns(5)
                .striped(true)
                .spacing([16.0, 6.0])
                .show(ui, |ui| {
                    for heading in [
                        t!("rooms-col-room"),
                        t!("rooms-col-players"),
                        t!("rooms-col-now"),
                        t!("rooms-col-words"),
                        String::new(),
                    ] {
                        ui.label(RichText::new(heading).weak());
                    }
                    ui.end_row();
                    for room in rooms {
                        // A column wide enough from the first frame (a grid sizes its columns
                        // from the frame before: a new room's name showed cut short).
                        ui.scope(|ui| {
                            ui.set_min_width(NAME_WIDTH);
                            ui.set_max_width(NAME_WIDTH);
                            ui.add(egui::Label::new(room_label(&room.name)).truncate());
                        });
                        let full = room.players >= room.capacity;
                        let mut count = format!("{}/{}", room.players, room.capacity);
                        if room.spectators > 0 {
                            count.push_str(&format!(" +{}", t!("rooms-watching", count = room.spectators)));
                        }
                        let players = RichText::new(count);
                        ui.label(if full {
                            players.color(theme::ERROR)
                        } else {
                            players
                        });
                        ui.label(if room.playing {
                            RichText::new(t!("rooms-in-game")).color(theme::EMPHASIS)
                        } else {
                            RichText::new(t!("rooms-free-drawing"))
                        });
                        ui.label(language_label(room.language.as_deref()));
                        let (open, button, closed) = match spectate {
                            true => (
                                room.spectators < room.spectator_capacity,
                                t!("rooms-watch"),
                                t!("rooms-no-spectator-place"),
                            ),
                            false => (!full, t!("rooms-join"), t!("rooms-full")),
                        };
                        let join = ui.add_enabled(open, egui::Button::new(button));
                        if join.on_disabled_hover_text(closed).clicked() {
                            picked = Some(room.name.clone());
                        }
                        ui.end_row();
                    }
                });
        });
    picked
}

/// A room's words' language as the list names it (anything else a server sends is cut short).
pub fn language_label(language: Option<&str>) -> String {
    match language {
        None => "—".into(),
        Some("ko") => t!("rooms-lang-ko"),
        Some("en") => t!("rooms-lang-en"),
        Some("custom") => t!("rooms-lang-custom"),
        Some(other) => other.chars().take(12).collect(),
    }
}
