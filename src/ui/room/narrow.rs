//! The room on a narrow page (a phone held upright): the board across the top, and under it
//! one part at a time, chosen with tabs.

use super::*;
use crate::plugins::canvas::{BOARD_HEIGHT, BOARD_WIDTH};

/// A page narrower than this (a phone held upright) shows the board across the top and the
/// rest under it, one part at a time.
pub(super) const NARROW: f32 = 760.0;

/// The part of the room a narrow page shows under the board.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Tab {
    #[default]
    Chat,
    Players,
    Game,
    Tools,
}

/// Under the board on a narrow page: tabs for the chat, the players, the game and the drawing
/// tools (shown by themselves when the pen comes to this player). Returns whether the player
/// asked to save the picture.
pub(super) fn narrow_panel(
    root: &mut egui::Ui,
    state: &mut UiState,
    view: &mut RoomView,
    act: &mut RoomActions,
    (facts, holding): (Facts, bool),
    input: &mut Vec<DrawInput>,
) -> bool {
    if holding && !state.was_holding {
        state.tab = Tab::Tools;
    }
    state.was_holding = holding;
    let board_height = root.available_width() * BOARD_HEIGHT as f32 / BOARD_WIDTH as f32;
    let height = (root.available_height() - board_height - 8.0).max(160.0);
    let mut save = false;
    egui::Panel::bottom("under-board")
        .exact_size(height)
        .resizable(false)
        .show(root, |ui| {
            ui.horizontal(|ui| {
                for (tab, label) in [
                    (Tab::Chat, t!("room-chat")),
                    (Tab::Players, t!("room-tab-players")),
                    (Tab::Game, t!("room-tab-game")),
                    (Tab::Tools, t!("room-tab-tools")),
                ] {
                    ui.selectable_value(&mut state.tab, tab, label);
                }
            });
            ui.separator();
            match state.tab {
                Tab::Chat => chat_section(ui, state, view, act, facts),
                Tab::Players => {
                    egui::ScrollArea::vertical().show(ui, |ui| players_section(ui, state, view, act, facts));
                }
                Tab::Game => {
                    egui::ScrollArea::vertical().show(ui, |ui| game_section(ui, state, view, act, facts));
                }
                Tab::Tools => {
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        let last_save = view.last_save.0.as_ref();
                        save = canvas_ui::tools(
                            ui,
                            &mut view.canvas,
                            &view.roster,
                            facts.in_game,
                            last_save,
                            input,
                        );
                    });
                }
            }
        });
    save
}
