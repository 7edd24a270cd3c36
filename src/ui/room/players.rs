//! The room screen's player list: names, scores and addresses, the role toggle, and the menu
//! that kicks or votes to kick.

use super::*;

/// The players grid; returns a kick or a vote asked for from a name's menu (right-click).
pub(super) fn players(
    ui: &mut egui::Ui,
    roster: &Roster,
    quiz: &QuizView,
    hosting: bool,
    (reachable, page_served): (&[std::net::SocketAddr], bool),
) -> Option<ModerationRequest> {
    let mut asked = None;
    let playing = roster.players.iter().filter(|p| !p.spectator).count();
    let watching = roster.players.len() - playing;
    let mut heading = match roster.capacity {
        0 => t!("room-players"),
        capacity => t!("room-players-of", playing = playing as u64, capacity = capacity),
    };
    if watching > 0 {
        heading.push_str(&format!(", {}", t!("rooms-watching", count = watching as u64)));
    }
    ui.label(RichText::new(heading).strong());
    let show_addresses = roster.players.iter().any(|p| p.addr.is_some());
    let scored = quiz.game.is_some() || quiz.last_game.is_some();
    let mut order: Vec<_> = roster.players.iter().collect();
    if scored {
        // Highest score first, like a leaderboard.
        order.sort_by_key(|p| std::cmp::Reverse(quiz.score(p.id).unwrap_or(0)));
    }
    // Spectators last.
    order.sort_by_key(|p| p.spectator);
    egui::ScrollArea::vertical()
        .id_salt("players")
        .max_height(180.0)
        .show(ui, |ui| {
            egui::Grid::new("players-grid")
                .num_columns(1 + usize::from(scored) + 2 * usize::from(show_addresses))
                .striped(true)
                .show(ui, |ui| {
                    if show_addresses {
                        ui.label(RichText::new(t!("room-col-name")).weak());
                        if scored {
                            ui.label(RichText::new(t!("room-col-score")).weak());
                        }
                        ui.label(RichText::new(t!("room-col-ip")).weak());
                        ui.label(RichText::new(t!("room-col-port")).weak());
                        ui.end_row();
                    }
                    for player in order {
                        if let Some(request) = player_row(ui, roster, quiz, player, scored, show_addresses) {
                            asked = Some(request);
                        }
                    }
                });
        });
    if hosting && !reachable.is_empty() {
        ui.add_space(4.0);
        ui.label(RichText::new(t!("room-others-join-at")).weak());
        for addr in reachable {
            // The default port goes without saying on the command line.
            let client = match addr.port() {
                crate::cli::DEFAULT_PORT => addr.ip().to_string(),
                _ => addr.to_string(),
            };
            ui.label(RichText::new(format!("game --client {client}")).monospace());
            if page_served {
                let link = crate::ui::invite::link(&format!("http://{addr}"), &roster.room);
                ui.horizontal(|ui| {
                    if ui.small_button(t!("room-copy")).clicked() {
                        ui.ctx().copy_text(link.clone());
                    }
                    ui.label(RichText::new(link).monospace());
                });
            }
        }
    }
    asked
}

/// Watch or play: the button, and the change waiting for the end of the turn. Returns the
/// request.
pub(super) fn role_toggle(ui: &mut egui::Ui, roster: &Roster) -> Option<RoleRequest> {
    roster.me?;
    let spectating = roster.spectating();
    let mut asked = None;
    ui.horizontal(|ui| match roster.role_waiting {
        Some(spectate) => {
            let what = if spectate {
                t!("room-will-watch")
            } else {
                t!("room-will-play")
            };
            ui.label(RichText::new(what).weak());
            if ui.small_button(t!("room-stay")).clicked() {
                asked = Some(RoleRequest { spectate: spectating });
            }
        }
        None if spectating => {
            ui.label(RichText::new(t!("room-you-watch")).color(theme::EMPHASIS));
            if ui
                .small_button(t!("room-play"))
                .on_hover_text(t!("room-play-hover"))
                .clicked()
            {
                asked = Some(RoleRequest { spectate: false });
            }
        }
        None => {
            if ui
                .small_button(t!("room-watch"))
                .on_hover_text(t!("room-watch-hover"))
                .clicked()
            {
                asked = Some(RoleRequest { spectate: true });
            }
        }
    });
    asked
}

/// A player's menu: the host kicks (with a reason), the others vote to kick.
pub(super) fn moderation_menu(
    ui: &mut egui::Ui,
    roster: &Roster,
    player: &PlayerInfo,
) -> Option<ModerationRequest> {
    let target = player.id;
    if roster.me.is_some() && roster.host == roster.me {
        ui.label(RichText::new(t!("room-kick-title", name = player.name.clone())).strong());
        for reason in KickReason::ALL {
            let label = match reason {
                KickReason::Unspecified => t!("room-kick-no-reason"),
                other => t!("room-kick-for", reason = other.describe()),
            };
            if ui.button(label).clicked() {
                ui.close();
                return Some(ModerationRequest::Kick { target, reason });
            }
        }
        None
    } else if roster.spectating() {
        ui.label(RichText::new(t!("room-spectators-no-vote")).weak());
        None
    } else if ui
        .button(t!("room-vote-kick", name = player.name.clone()))
        .clicked()
    {
        ui.close();
        Some(ModerationRequest::VoteKick { target })
    } else {
        None
    }
}

/// One row of the players grid: name and marks, then the score and address if shown.
pub(super) fn player_row(
    ui: &mut egui::Ui,
    roster: &Roster,
    quiz: &QuizView,
    player: &PlayerInfo,
    scored: bool,
    show_addresses: bool,
) -> Option<ModerationRequest> {
    let (score, mark) = quiz_ui::player_marks(quiz, player.id);
    let mut text = String::new();
    if Some(player.id) == roster.host {
        text.push_str("★ ");
    }
    text.push_str(&player.name);
    if Some(player.id) == roster.me {
        text.push_str(&format!(" {}", t!("room-you")));
    }
    if player.away {
        text.push_str(&format!(" {}", t!("room-reconnecting-mark")));
    }
    if player.spectator {
        text.push_str(&format!(" · {}", t!("room-watching-mark")));
    }
    if !mark.is_empty() {
        text.push(' ');
        text.push_str(mark);
    }
    let label = if player.away || player.spectator {
        RichText::new(text).weak()
    } else if mark == "✔" {
        RichText::new(text).color(theme::SUCCESS)
    } else {
        RichText::new(text)
    };
    let name = ui.add(egui::Label::new(label).sense(egui::Sense::click()));
    let mut asked = None;
    if Some(player.id) != roster.me {
        name.context_menu(|ui| asked = moderation_menu(ui, roster, player));
    }
    if scored && player.spectator && score.is_none() {
        ui.label("");
    } else if scored {
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
    asked
}
