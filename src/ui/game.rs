//! The room screen: a top bar, the board in the middle, players and chat on the right, and
//! dialogs for connecting and for a connection that ended.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};
use egui::{Color32, RichText};

use super::{UiState, root_ui};
use crate::app::HostedServer;
use crate::plugins::AppMode;
use crate::plugins::canvas::gallery;
use crate::plugins::canvas::render::{LastSave, SaveCanvas};
use crate::plugins::canvas::ui as canvas_ui;
use crate::plugins::canvas::{CanvasState, DrawInput};
use crate::plugins::chat::{ChatLog, ChatToServer, ui::chat_panel};
use crate::plugins::net::{ClientState, LeaveRequested, ToServer};
use crate::plugins::quiz::ui as quiz_ui;
use crate::plugins::quiz::{QuizToServer, QuizView};
use crate::plugins::rooms::Roster;

#[derive(bevy::ecs::system::SystemParam)]
pub(super) struct RoomView<'w> {
    roster: Res<'w, Roster>,
    log: Res<'w, ChatLog>,
    client: Res<'w, State<ClientState>>,
    mode: Res<'w, State<AppMode>>,
    canvas: ResMut<'w, CanvasState>,
    last_save: Res<'w, LastSave>,
    quiz: Res<'w, QuizView>,
    time: Res<'w, Time<Real>>,
}

/// What the room screen asks of the game.
#[derive(bevy::ecs::system::SystemParam)]
pub(super) struct RoomActions<'w> {
    say: MessageWriter<'w, ToServer<ChatToServer>>,
    draw: MessageWriter<'w, DrawInput>,
    leave: MessageWriter<'w, LeaveRequested>,
    save: MessageWriter<'w, SaveCanvas>,
    quiz: MessageWriter<'w, ToServer<QuizToServer>>,
}

pub(super) fn show(
    mut contexts: EguiContexts,
    mut commands: Commands,
    mut state: ResMut<UiState>,
    mut view: RoomView,
    mut act: RoomActions,
    mut next: ResMut<NextState<AppMode>>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let hosting = *view.mode.get() == AppMode::Server;
    let connected = *view.client.get() == ClientState::Connected;
    let mut back_to_launcher = false;
    let mut root = root_ui(ctx);
    let now = view.time.elapsed();
    let in_game = view.quiz.game.is_some();
    if in_game {
        state.podium_closed = false;
    }

    egui::Panel::top("top-bar").show(&mut root, |ui| {
        ui.horizontal(|ui| {
            ui.label(RichText::new("캐치마인드").strong().size(20.0));
            ui.separator();
            if connected {
                ui.label(format!("Room: {}", view.roster.room));
                ui.separator();
                ui.label(format!(
                    "{} / {} players",
                    view.roster.players.len(),
                    view.roster.capacity
                ));
                if in_game {
                    ui.separator();
                    quiz_ui::top_bar(ui, &view.quiz, &view.roster, now);
                }
            } else {
                ui.label(format!("Server: {}", state.server_addr));
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let label = if hosting { "Stop hosting" } else { "Leave" };
                if ui.button(label).clicked() {
                    back_to_launcher = true;
                }
                let (status, colour) = match view.client.get() {
                    ClientState::Connected => ("● connected", Color32::from_rgb(110, 200, 120)),
                    ClientState::Connecting => ("● connecting…", Color32::from_rgb(230, 200, 90)),
                    ClientState::Disconnected => ("● disconnected", Color32::from_rgb(240, 110, 100)),
                };
                ui.label(RichText::new(status).color(colour));
            });
        });
    });

    egui::Panel::right("side")
        .exact_size(360.0)
        .resizable(false)
        .show(&mut root, |ui| {
            if connected
                && let Some(request) = quiz_ui::lobby(ui, &view.quiz, &view.roster, &mut state.quiz_settings)
            {
                act.quiz.write(ToServer(request));
            }
            if !in_game {
                ui.separator();
            }
            players(ui, &view.roster, &view.quiz, hosting, &state.reachable);
            ui.separator();
            ui.label(RichText::new("Chat").strong());
            let me = view.roster.me;
            if let Some(text) = chat_panel(ui, &view.log, me, &mut state.chat_input, connected) {
                act.say.write(ToServer(ChatToServer::Say(text)));
            }
        });

    let mut input = Vec::new();
    let holding = connected && view.canvas.i_hold_the_pen(view.roster.me);
    let mut save = false;
    egui::Panel::left("tools")
        .exact_size(180.0)
        .resizable(false)
        .show(&mut root, |ui| {
            let last_save = view.last_save.0.as_ref();
            save = canvas_ui::tools(ui, &mut view.canvas, &view.roster, in_game, last_save, &mut input);
        });

    let board = egui::CentralPanel::default_margins()
        .show(&mut root, |ui| {
            canvas_ui::board(ui, state.canvas_texture, &view.canvas, holding, &mut input)
        })
        .inner;
    if connected {
        quiz_ui::overlays(ctx, board, &view.quiz, &view.roster, now);
        if let Some(pick) = quiz_ui::choose(ctx, &view.quiz, view.roster.me, now) {
            act.quiz.write(ToServer(pick));
        }
        if !in_game
            && !state.podium_closed
            && let Some((early, standings)) = &view.quiz.last_game
            && quiz_ui::podium(ctx, *early, standings, view.roster.me)
        {
            state.podium_closed = true;
        }
    }
    save |= canvas_ui::shortcuts(ctx, &mut view.canvas, holding, &mut input);
    if save {
        let drawer = view
            .canvas
            .pen
            .and_then(|id| view.roster.name_of(id))
            .unwrap_or("free");
        let word = quiz_ui::known_word(&view.quiz);
        act.save.write(SaveCanvas {
            name: gallery::file_name(&view.roster.room, word.as_deref(), drawer, unix_now()),
        });
    }
    if connected {
        act.draw.write_batch(input);
    }

    if let Some((title, reason)) = state.ended.clone() {
        egui::Window::new(title)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .default_width(420.0)
            .show(ctx, |ui| {
                ui.label(RichText::new(capitalise(&reason)).size(16.0));
                ui.add_space(8.0);
                if ui.button("Back to launcher").clicked() {
                    back_to_launcher = true;
                }
            });
    } else if *view.client.get() == ClientState::Connecting {
        egui::Window::new("Connecting")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                ui.label(format!("Connecting to {}…", state.server_addr));
                if ui.button("Cancel").clicked() {
                    back_to_launcher = true;
                }
            });
    }

    if back_to_launcher {
        act.leave.write(LeaveRequested);
        // Dropping the hosted server stops it and tells its clients.
        commands.remove_resource::<HostedServer>();
        commands.insert_resource(Roster::default());
        state.ended = None;
        state.chat_input.clear();
        next.set(AppMode::Menu);
    }
    Ok(())
}

fn players(ui: &mut egui::Ui, roster: &Roster, quiz: &QuizView, hosting: bool, reachable: &[String]) {
    let heading = match roster.capacity {
        0 => "Players".to_owned(),
        capacity => format!("Players ({}/{capacity})", roster.players.len()),
    };
    ui.label(RichText::new(heading).strong());
    let show_addresses = roster.players.iter().any(|p| p.addr.is_some());
    let scored = quiz.game.is_some() || quiz.last_game.is_some();
    let mut order: Vec<_> = roster.players.iter().collect();
    if scored {
        // Highest score first, like a leaderboard.
        order.sort_by_key(|p| std::cmp::Reverse(quiz.score(p.id).unwrap_or(0)));
    }
    egui::ScrollArea::vertical()
        .id_salt("players")
        .max_height(180.0)
        .show(ui, |ui| {
            egui::Grid::new("players-grid")
                .num_columns(1 + usize::from(scored) + 2 * usize::from(show_addresses))
                .striped(true)
                .show(ui, |ui| {
                    if show_addresses {
                        ui.label(RichText::new("name").weak());
                        if scored {
                            ui.label(RichText::new("score").weak());
                        }
                        ui.label(RichText::new("ip").weak());
                        ui.label(RichText::new("port").weak());
                        ui.end_row();
                    }
                    for player in order {
                        let (score, mark) = quiz_ui::player_marks(quiz, player.id);
                        let mut text = String::new();
                        if Some(player.id) == roster.host {
                            text.push_str("★ ");
                        }
                        text.push_str(&player.name);
                        if Some(player.id) == roster.me {
                            text.push_str(" (you)");
                        }
                        if !mark.is_empty() {
                            text.push(' ');
                            text.push_str(mark);
                        }
                        let label = if mark == "✔" {
                            RichText::new(text).color(Color32::from_rgb(110, 220, 120))
                        } else {
                            RichText::new(text)
                        };
                        ui.label(label);
                        if scored {
                            ui.label(RichText::new(score.unwrap_or(0).to_string()).strong());
                        }
                        if show_addresses {
                            let (ip, port) = match player.addr.as_deref().and_then(|a| a.rsplit_once(':')) {
                                Some((ip, port)) => (ip.trim_matches(['[', ']']).to_owned(), port.to_owned()),
                                None => ("-".into(), "-".into()),
                            };
                            ui.label(ip);
                            ui.label(port);
                        }
                        ui.end_row();
                    }
                });
        });
    if hosting && !reachable.is_empty() {
        ui.add_space(4.0);
        ui.label(RichText::new("Others join at:").weak());
        for addr in reachable {
            ui.label(RichText::new(format!("game --client {addr}")).monospace());
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
