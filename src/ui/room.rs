//! The room screen: a top bar, the board in the middle, players and chat on the right, and
//! dialogs for connecting and for a connection that ended.

use std::time::Duration;

use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};
use egui::RichText;

use super::Screen;
use super::{UiState, root_ui};
use crate::i18n::Describe;
use crate::plugins::canvas::gallery;
use crate::plugins::canvas::render::{LastSave, SaveCanvas};
use crate::plugins::canvas::ui as canvas_ui;
use crate::plugins::canvas::{CanvasState, DrawInput};
use crate::plugins::chat::{ChatLog, ChatToServer, ui::chat_panel};
use crate::plugins::net::{ClientState, LeaveRequested, ToServer};
use crate::plugins::quiz::ui as quiz_ui;
use crate::plugins::quiz::{QuizToServer, QuizView};
use crate::plugins::rooms::{
    CancelReconnect, KickReason, ModerationRequest, PlayerInfo, Reconnecting, Rejoin, RoleRequest, Roster,
    ServerClosing, room_label,
};
use crate::t;
use crate::theme;

mod narrow;
mod players;

pub(crate) use narrow::Tab;
use narrow::{NARROW, narrow_panel};
use players::{players, role_toggle};

#[derive(bevy::ecs::system::SystemParam)]
pub(super) struct RoomView<'w> {
    roster: Res<'w, Roster>,
    log: Res<'w, ChatLog>,
    client: Res<'w, State<ClientState>>,
    mode: Res<'w, State<Screen>>,
    canvas: ResMut<'w, CanvasState>,
    last_save: Res<'w, LastSave>,
    quiz: Res<'w, QuizView>,
    time: Res<'w, Time<Real>>,
    reconnecting: Res<'w, Reconnecting>,
}

/// What the room screen asks of the game.
#[derive(bevy::ecs::system::SystemParam)]
pub(super) struct RoomActions<'w> {
    say: MessageWriter<'w, ToServer<ChatToServer>>,
    draw: MessageWriter<'w, DrawInput>,
    leave: MessageWriter<'w, LeaveRequested>,
    save: MessageWriter<'w, SaveCanvas>,
    quiz: MessageWriter<'w, ToServer<QuizToServer>>,
    cancel_reconnect: MessageWriter<'w, CancelReconnect>,
    moderate: MessageWriter<'w, ToServer<ModerationRequest>>,
    role: MessageWriter<'w, ToServer<RoleRequest>>,
    rejoin: MessageWriter<'w, Rejoin>,
    memory: ResMut<'w, super::memory::LauncherMemory>,
}

/// This frame's facts, shared by the screen's pieces.
#[derive(Clone, Copy)]
struct Facts {
    hosting: bool,
    connected: bool,
    in_game: bool,
    now: Duration,
}

pub(super) fn show(
    mut contexts: EguiContexts,
    mut commands: Commands,
    mut state: ResMut<UiState>,
    mut view: RoomView,
    mut act: RoomActions,
    mut next: ResMut<NextState<Screen>>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let facts = Facts {
        hosting: *view.mode.get() == Screen::Hosting,
        connected: *view.client.get() == ClientState::Connected,
        in_game: view.quiz.game.is_some(),
        now: view.time.elapsed(),
    };
    let mut back_to_launcher = false;
    let mut root = root_ui(ctx);
    if facts.in_game {
        state.podium_closed = false;
    }

    back_to_launcher |= top_bar(&mut root, &mut state, &view, facts);
    let mut input = Vec::new();
    let holding = facts.connected && view.canvas.i_hold_the_pen(view.roster.me);
    let mut save = if root.available_width() < NARROW {
        narrow_panel(
            &mut root,
            &mut state,
            &mut view,
            &mut act,
            (facts, holding),
            &mut input,
        )
    } else {
        side_panel(&mut root, &mut state, &view, &mut act, facts);
        tools_panel(&mut root, &mut view, facts.in_game, &mut input)
    };
    let middle = egui::CentralPanel::default_margins().show(&mut root, |ui| {
        canvas_ui::board(ui, state.canvas_texture, &view.canvas, holding, &mut input)
    });
    // The picture, and the middle column it sits in (where the game's windows stay).
    let (board, middle) = (middle.inner, middle.response.rect);
    state.middle = Some(middle);
    state.podium_shown = false;
    if facts.connected {
        game_windows(ctx, &mut state, &view, &mut act, (board, middle), facts);
    }
    save |= canvas_ui::shortcuts(ctx, &mut view.canvas, holding, &mut input);
    if save {
        save_picture(&view, &mut act);
    }
    if facts.connected {
        act.draw.write_batch(input);
    }

    if reconnect_dialog(ctx, &view.reconnecting) {
        act.cancel_reconnect.write(CancelReconnect);
        back_to_launcher = true;
    }
    if view.reconnecting.0.is_none() {
        let (back, rejoin) = connection_dialogs(ctx, &mut state, view.client.get(), facts.hosting);
        back_to_launcher |= back;
        if let Some(rejoin) = rejoin {
            state.ended = None;
            state.rename = None;
            if let Some(name) = &rejoin.name {
                // The new name is the player's from now on, in this window and the next.
                state.name.clone_from(name);
                act.memory.remembered.name.clone_from(name);
                act.memory.save();
            }
            act.rejoin.write(rejoin);
        }
    }
    if back_to_launcher {
        leave_room(&mut commands, &mut state, &mut act, &mut next);
    }
    Ok(())
}

/// The top bar: title, room, players and the game's news; the leave button and connection
/// status on the right. Returns whether the player asked to leave.
fn top_bar(root: &mut egui::Ui, state: &mut UiState, view: &RoomView, facts: Facts) -> bool {
    let mut leave = false;
    egui::Panel::top("top-bar").show(root, |ui| {
        // The right side first, so the left side gets what is left and is clipped to it (a
        // small window must not draw the game's status over "connected").
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let label = if facts.hosting {
                t!("room-stop-hosting")
            } else {
                t!("room-leave")
            };
            if ui.button(label).clicked() {
                leave = true;
            }
            let (status, colour) = match view.client.get() {
                ClientState::Connected => (t!("room-connected"), theme::SUCCESS),
                ClientState::Connecting => (t!("room-connecting"), theme::PENDING),
                ClientState::Disconnected => (t!("room-disconnected"), theme::ERROR),
            };
            ui.label(RichText::new(status).color(colour));
            if facts.connected
                && let Some(link) = invite_link(state, &view.roster.room, facts.hosting)
            {
                let copied = state
                    .copied_at
                    .is_some_and(|at| facts.now.saturating_sub(at) < Duration::from_secs(2));
                let label = match (copied, ui.ctx().content_rect().width() < NARROW) {
                    (true, _) => t!("room-copied"),
                    // A phone's top bar has room for a word only.
                    (false, true) => t!("room-invite"),
                    (false, false) => t!("room-copy-invite"),
                };
                if ui.button(label).on_hover_text(link.clone()).clicked() && copy_text(ui.ctx(), link) {
                    state.copied_at = Some(facts.now);
                }
            }
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                ui.shrink_clip_rect(ui.max_rect());
                top_bar_left(ui, state, view, facts);
            });
        });
    });
    leave
}

/// Copies the invite link: in a browser, also on a plain-http page; whether it was copied.
fn copy_text(ctx: &egui::Context, text: String) -> bool {
    #[cfg(target_arch = "wasm32")]
    return super::browser::copy_text(ctx, &text);
    #[cfg(not(target_arch = "wasm32"))]
    {
        ctx.copy_text(text);
        true
    }
}

/// The link that opens this room in a browser, where the server serves the page: the page's
/// own address in a browser, the host's first address others reach in a hosting window.
fn invite_link(state: &UiState, room: &str, hosting: bool) -> Option<String> {
    if !state.page_served {
        return None;
    }
    #[cfg(target_arch = "wasm32")]
    let origin = web_sys::window()?.location().origin().ok()?;
    #[cfg(target_arch = "wasm32")]
    let _ = hosting;
    #[cfg(not(target_arch = "wasm32"))]
    let origin = match (hosting, state.reachable.first()) {
        (true, Some(addr)) => format!("http://{addr}"),
        _ => format!("http://{}", state.server_addr),
    };
    Some(super::invite::link(&origin, room))
}

/// The server is stopping: what it is doing and, when a turn ends first, the time left.
fn closing_label(closing: &ServerClosing, now: Duration) -> String {
    let what = if closing.restart {
        t!("room-server-restarting")
    } else {
        t!("room-host-closing")
    };
    match closing.by {
        Some(by) => {
            let secs = by.saturating_sub(now).as_secs_f32().ceil() as u64;
            let left = format!("{}:{:02}", secs / 60, secs % 60);
            t!("room-last-turn", what = what, left = left)
        }
        None => what,
    }
}

fn top_bar_left(ui: &mut egui::Ui, state: &UiState, view: &RoomView, facts: Facts) {
    ui.label(RichText::new("캐치마인드").strong().size(20.0));
    ui.separator();
    if facts.connected {
        ui.label(t!("room-name", room = room_label(&view.roster.room)));
        ui.separator();
        let players = view.roster.players.iter().filter(|p| !p.spectator).count() as u64;
        ui.label(t!(
            "room-player-count",
            players = players,
            capacity = view.roster.capacity
        ));
        if facts.in_game {
            ui.separator();
            quiz_ui::top_bar(ui, &view.quiz, &view.roster, facts.now);
        }
    } else {
        ui.label(t!("room-server", addr = state.server_addr.clone()));
    }
}

/// The right column: the game lobby, the players and the chat.
fn side_panel(
    root: &mut egui::Ui,
    state: &mut UiState,
    view: &RoomView,
    act: &mut RoomActions,
    facts: Facts,
) {
    egui::Panel::right("side")
        .exact_size(360.0)
        .resizable(false)
        .show(root, |ui| {
            game_section(ui, state, view, act, facts);
            if !facts.in_game {
                ui.separator();
            }
            players_section(ui, state, view, act, facts);
            chat_section(ui, state, view, act, facts);
        });
}

/// The server's closing, the game's lobby (or likes), and the watch/play toggle.
fn game_section(
    ui: &mut egui::Ui,
    state: &mut UiState,
    view: &RoomView,
    act: &mut RoomActions,
    facts: Facts,
) {
    // Above everything in the column: the top bar has no room to spare in a small window.
    if let Some(closing) = &view.roster.closing
        && facts.connected
    {
        ui.label(
            RichText::new(closing_label(closing, facts.now))
                .strong()
                .color(theme::ERROR),
        );
        ui.separator();
    }
    if facts.connected
        && let Some(request) = quiz_ui::lobby(
            ui,
            &view.quiz,
            &view.roster,
            (&mut state.quiz_settings, &mut state.pack_picked),
            &mut state.room_words_text,
        )
    {
        act.quiz.write(ToServer(request));
    }
    if facts.connected
        && !view.roster.spectating()
        && let Some(like) = quiz_ui::likes(ui, &view.quiz, view.roster.me)
    {
        act.quiz.write(ToServer(like));
    }
    if facts.connected
        && let Some(request) = role_toggle(ui, &view.roster)
    {
        act.role.write(ToServer(request));
    }
}

/// The players (none while there is no room: connecting, or the session ended).
fn players_section(ui: &mut egui::Ui, state: &UiState, view: &RoomView, act: &mut RoomActions, facts: Facts) {
    if view.roster.me.is_some() {
        let reach = (state.reachable.as_slice(), state.page_served);
        if let Some(request) = players(ui, &view.roster, &view.quiz, facts.hosting, reach)
            && facts.connected
        {
            act.moderate.write(ToServer(request));
        }
        ui.separator();
    }
}

fn chat_section(
    ui: &mut egui::Ui,
    state: &mut UiState,
    view: &RoomView,
    act: &mut RoomActions,
    facts: Facts,
) {
    ui.label(RichText::new(t!("room-chat")).strong());
    let me = view.roster.me;
    if let Some(text) = chat_panel(ui, &view.log, me, &mut state.chat_input, facts.connected) {
        act.say.write(ToServer(ChatToServer::Say(text)));
    }
}

/// The left column: the drawing tools. Returns whether the player asked to save the picture.
fn tools_panel(root: &mut egui::Ui, view: &mut RoomView, in_game: bool, input: &mut Vec<DrawInput>) -> bool {
    let mut save = false;
    egui::Panel::left("tools")
        .exact_size(180.0)
        .resizable(false)
        .show(root, |ui| {
            let last_save = view.last_save.0.as_ref();
            save = canvas_ui::tools(ui, &mut view.canvas, &view.roster, in_game, last_save, input);
        });
    save
}

/// The game's windows over the board: the turn's cards and banners, the drawer's word
/// choice and the last game's podium.
fn game_windows(
    ctx: &egui::Context,
    state: &mut UiState,
    view: &RoomView,
    act: &mut RoomActions,
    (board, middle): (egui::Rect, egui::Rect),
    facts: Facts,
) {
    quiz_ui::overlays(ctx, board, &view.quiz, &view.roster, facts.now);
    if let Some(pick) = quiz_ui::choose(ctx, middle, &view.quiz, view.roster.me, facts.now) {
        act.quiz.write(ToServer(pick));
    }
    if !facts.in_game
        && !state.podium_closed
        && let Some((early, standings)) = &view.quiz.last_game
    {
        // The ranking first: the game's album waits until it is closed (`album::show`).
        let album_next = !view.quiz.album.is_empty();
        state.podium_shown = true;
        if quiz_ui::podium(ctx, middle, (*early, standings), view.roster.me, album_next) {
            state.podium_closed = true;
        }
    }
}

/// Saves the board to the gallery, named after the drawer and the word if known.
fn save_picture(view: &RoomView, act: &mut RoomActions) {
    let drawer = view
        .canvas
        .pen
        .and_then(|id| view.roster.name_of(id))
        .unwrap_or("free");
    let word = quiz_ui::known_word(&view.quiz);
    act.save.write(SaveCanvas {
        name: gallery::file_name(
            &view.roster.room,
            word.as_deref(),
            drawer,
            &gallery::local_stamp(),
        ),
    });
}

/// That the connection dropped and the seat is being asked back. Returns whether the player
/// gave up.
fn reconnect_dialog(ctx: &egui::Context, reconnecting: &Reconnecting) -> bool {
    let Some(attempts) = &reconnecting.0 else {
        return false;
    };
    let mut cancel = false;
    egui::Window::new(t!("room-reconnecting-title"))
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .default_width(420.0)
        .show(ctx, |ui| {
            ui.label(RichText::new(t!("room-reconnecting", attempt = attempts.attempt.max(1))).size(16.0));
            let why = capitalise(&attempts.why.describe())
                .trim_end_matches('.')
                .to_owned();
            ui.label(t!("room-seat-kept", why = why, secs = attempts.hold.as_secs()));
            ui.add_space(8.0);
            if ui.button(t!("room-cancel")).clicked() {
                cancel = true;
            }
        });
    cancel
}

/// Why the connection ended, or that it is still being made. Returns whether the player
/// asked to go back to the launcher, and whether to join the same server and room again (a
/// player's window, not one that was removed from the room, and not the host's, whose server
/// is gone).
fn connection_dialogs(
    ctx: &egui::Context,
    state: &mut UiState,
    client: &ClientState,
    hosting: bool,
) -> (bool, Option<Rejoin>) {
    let (mut back, mut rejoin) = (false, None);
    if let Some((title, reason)) = state.ended.clone() {
        let again = match title {
            _ if hosting => None,
            super::lifecycle::Ended::Removed => None,
            super::lifecycle::Ended::NotJoined => Some(t!("room-try-again")),
            super::lifecycle::Ended::Disconnected => Some(t!("room-reconnect")),
        };
        egui::Window::new(title.title())
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .default_width(420.0)
            .show(ctx, |ui| {
                ui.label(RichText::new(capitalise(&reason)).size(16.0));
                ui.add_space(8.0);
                // The name was turned away: another one, typed here, gets in.
                let mut submitted = false;
                if let Some(name) = state.rename.as_mut() {
                    ui.horizontal(|ui| {
                        ui.label(t!("room-rename"));
                        let field = ui.add(
                            egui::TextEdit::singleline(name)
                                .char_limit(crate::names::MAX_NAME_CHARS)
                                .desired_width(220.0),
                        );
                        submitted = super::launcher::submitted(field, ui);
                    });
                    if let Some(error) = &state.rename_error {
                        ui.label(RichText::new(error).color(theme::ERROR));
                    }
                    ui.add_space(8.0);
                }
                ui.horizontal(|ui| {
                    if let Some(label) = again
                        && (ui.button(label).clicked() || submitted)
                    {
                        match state.rename.as_deref().map(crate::names::normalize_name) {
                            None => rejoin = Some(Rejoin::default()),
                            Some(Ok(name)) => rejoin = Some(Rejoin { name: Some(name) }),
                            Some(Err(e)) => {
                                state.rename_error = Some(t!("launcher-error-nickname", why = e.describe()))
                            }
                        }
                    }
                    if ui.button(t!("room-back-to-launcher")).clicked() {
                        back = true;
                    }
                });
            });
    } else if *client == ClientState::Connecting {
        egui::Window::new(t!("room-connecting-title"))
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                ui.label(t!("room-connecting-to", addr = state.server_addr.clone()));
                if ui.button(t!("room-cancel")).clicked() {
                    back = true;
                }
            });
    }
    (back, rejoin)
}

#[cfg_attr(target_arch = "wasm32", allow(unused_variables))]
fn leave_room(
    commands: &mut Commands,
    state: &mut UiState,
    act: &mut RoomActions,
    next: &mut NextState<Screen>,
) {
    act.leave.write(LeaveRequested);
    // The hosted server stops on its own thread and tells its clients; the launcher shows it.
    #[cfg(not(target_arch = "wasm32"))]
    commands.queue(super::hosting::stop_hosting);
    state.ended = None;
    state.chat_input.clear();
    next.set(Screen::Launcher);
}

/// A reason as a sentence: a capital first letter and a full stop (unless it ends with one, or
/// with a question or an exclamation).
fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut sentence: String = first.to_uppercase().chain(chars).collect();
    if !sentence.ends_with(['.', '?', '!']) {
        sentence.push('.');
    }
    sentence
}
