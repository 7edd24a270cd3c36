//! The game's widgets (egui): the top bar's round, timer and word; the host's settings; the
//! word choice; banners; the turn's reveal and the final podium. They read [`QuizView`] and
//! return what the player asked for; the room screen sends it.

use std::time::Duration;

use bevy_egui::egui::{self, Align2, Color32, RichText};

use super::scoring::{MAX_CUT_SECS, MIN_CUT_SECS};
use super::{Banner, GameView, Pack, PhaseView, QuizToServer, QuizView, Settings, Standing, found_word_text};
use crate::id::ClientId;
use crate::plugins::rooms::Roster;
use crate::t;
use crate::theme;

/// How long a banner stays up.
pub const BANNER_TIME: Duration = Duration::from_secs(3);

/// The word as this player may see it: (text, is it the word itself).
fn shown_word(game: &GameView) -> (String, bool) {
    match &game.phase {
        PhaseView::Choosing { .. } => (String::new(), false),
        PhaseView::Drawing { word: Some(word), .. } => (word.clone(), true),
        PhaseView::Drawing { mask, .. } => (mask.clone(), false),
        PhaseView::Reveal { word, .. } => (word.clone(), true),
    }
}

/// The word this player knows now, if any (for naming a saved picture).
pub fn known_word(view: &QuizView) -> Option<String> {
    let game = view.game.as_ref()?;
    match shown_word(game) {
        (word, true) => Some(word),
        _ => None,
    }
}

/// Round, timer and word, for the top bar (centre).
pub fn top_bar(ui: &mut egui::Ui, view: &QuizView, roster: &Roster, now: Duration) {
    let Some(game) = &view.game else {
        return;
    };
    ui.label(
        RichText::new(t!(
            "quiz-round",
            round = game.round.min(game.settings.rounds),
            rounds = game.settings.rounds
        ))
        .strong(),
    );
    ui.separator();
    let left = view.seconds_left(now);
    let drawing = matches!(game.phase, PhaseView::Drawing { .. });
    let colour = if drawing && left <= 10 {
        theme::ERROR
    } else {
        theme::TEXT
    };
    ui.label(
        RichText::new(format!("⏱ {left:>3}"))
            .size(20.0)
            .strong()
            .color(colour),
    );
    ui.separator();
    let me = roster.me;
    let drawer = game.phase.drawer();
    match &game.phase {
        // Cut short with "…" when the window is narrow.
        PhaseView::Choosing { .. } if Some(drawer) == me => {
            let text = RichText::new(t!("quiz-your-turn-choose"))
                .size(18.0)
                .color(theme::EMPHASIS);
            ui.add(egui::Label::new(text).truncate());
        }
        PhaseView::Choosing { .. } => {
            let who = roster.display_name(drawer);
            let text = RichText::new(t!("quiz-choosing", who = who)).size(18.0);
            ui.add(egui::Label::new(text).truncate());
        }
        PhaseView::Drawing { word: Some(word), .. } if Some(drawer) == me => {
            ui.label(RichText::new(t!("quiz-draw")).size(18.0));
            ui.label(RichText::new(word).size(24.0).strong().color(theme::EMPHASIS));
        }
        PhaseView::Drawing { word: Some(word), .. } => {
            ui.label(RichText::new(t!("quiz-got-it")).size(18.0).color(theme::SUCCESS));
            ui.label(RichText::new(word).size(24.0).strong().color(theme::SUCCESS));
        }
        PhaseView::Drawing { mask, .. } => {
            let letters = mask.chars().filter(|c| *c == '_' || c.is_alphanumeric()).count();
            ui.label(RichText::new(t!("quiz-guess")).size(18.0));
            ui.label(RichText::new(mask).size(24.0).strong().monospace());
            ui.label(RichText::new(format!("({})", t!("quiz-letters", count = letters as u64))).weak());
        }
        PhaseView::Reveal { word, .. } => {
            ui.label(RichText::new(t!("quiz-word-was")).size(18.0));
            ui.label(RichText::new(word).size(24.0).strong().color(theme::EMPHASIS));
        }
    }
}

/// The lobby section: the host's settings and start button, or who will start. Until the host
/// picks a word pack (`pack_picked`), the pack is the interface language's.
pub fn lobby(
    ui: &mut egui::Ui,
    view: &QuizView,
    roster: &Roster,
    (settings, pack_picked): (&mut Settings, &mut bool),
    words_text: &mut String,
) -> Option<QuizToServer> {
    if view.game.is_some() {
        return None;
    }
    ui.label(RichText::new(t!("quiz-game")).strong());
    let host = roster.host;
    if host.is_none() || host != roster.me {
        let who = host.map_or(t!("quiz-the-host"), |id| roster.display_name(id));
        ui.label(t!("quiz-waiting-host", who = who));
        return None;
    }
    let default_pack = Pack::of_lang(crate::i18n::current());
    if !*pack_picked {
        settings.pack = default_pack;
    }
    let pack_before = settings.pack;
    settings_grid(ui, view, settings, default_pack);
    *pack_picked |= settings.pack != pack_before;
    let words = room_words_editor(ui, view.room_words, words_text).map(QuizToServer::RoomWords);
    start_button(ui, roster, settings).or(words)
}

/// The host's settings: rounds, times, choices, hints, the cut, the room's words and the pack
/// (the server's custom pack only while it offers one, else `default_pack`).
fn settings_grid(ui: &mut egui::Ui, view: &QuizView, settings: &mut Settings, default_pack: Pack) {
    egui::Grid::new("game-settings")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            ui.label(t!("quiz-rounds"));
            ui.add(egui::Slider::new(&mut settings.rounds, 1..=10));
            ui.end_row();
            ui.label(t!("quiz-drawing-time"));
            ui.add(
                egui::Slider::new(&mut settings.draw_secs, 30..=240)
                    .step_by(10.0)
                    .suffix(" s"),
            );
            ui.end_row();
            ui.label(t!("quiz-choices"));
            ui.add(egui::Slider::new(&mut settings.choices, 1..=5));
            ui.end_row();
            ui.label(t!("quiz-hints"));
            ui.checkbox(&mut settings.hints, t!("quiz-hints-on"));
            ui.end_row();
            ui.label(t!("quiz-time-cut"));
            time_cut(ui, &mut settings.cut_secs);
            ui.end_row();
            ui.label(t!("quiz-room-words"));
            room_words_share(ui, &mut settings.room_words, view.room_words);
            ui.end_row();
            ui.label(t!("quiz-words"));
            ui.horizontal(|ui| {
                ui.selectable_value(&mut settings.pack, Pack::Korean, "한국어");
                ui.selectable_value(&mut settings.pack, Pack::English, t!("quiz-pack-english"));
                if view.custom_words > 0 {
                    ui.selectable_value(&mut settings.pack, Pack::Custom, t!("quiz-pack-custom"))
                        .on_hover_text(t!("quiz-custom-hover", count = view.custom_words));
                } else if settings.pack == Pack::Custom {
                    settings.pack = default_pack;
                }
            });
            ui.end_row();
        });
}

/// The start button, enabled once two players (not spectators) are in the room. Returns the
/// start to send.
fn start_button(ui: &mut egui::Ui, roster: &Roster, settings: &Settings) -> Option<QuizToServer> {
    let mut start = None;
    let enough = roster.players.iter().filter(|p| !p.spectator).count() >= 2;
    ui.horizontal(|ui| {
        let button = egui::Button::new(RichText::new(t!("quiz-start")).strong().size(16.0));
        if ui
            .add_enabled(enough, button)
            .on_disabled_hover_text(t!("quiz-needs-two"))
            .clicked()
        {
            start = Some(QuizToServer::Start(*settings));
        }
        if !enough {
            ui.label(RichText::new(t!("quiz-waiting-second")).weak());
        }
    });
    start
}

/// During a drawing: a like button for the guessers, the count for everyone. Returns the like
/// to send.
pub fn likes(ui: &mut egui::Ui, view: &QuizView, me: Option<ClientId>) -> Option<QuizToServer> {
    let game = view.game.as_ref()?;
    if !matches!(game.phase, PhaseView::Drawing { .. }) {
        return None;
    }
    let mut like = None;
    ui.horizontal(|ui| {
        let count = view.likes.count;
        if Some(game.phase.drawer()) == me || view.likes.mine {
            let text = RichText::new(format!("♥ {count}")).color(theme::EMPHASIS);
            ui.label(text).on_hover_text(t!("quiz-likes-hover"));
        } else if ui
            .button(t!("quiz-like", count = count))
            .on_hover_text(t!("quiz-like-hover"))
            .clicked()
        {
            like = Some(QuizToServer::Like);
        }
    });
    like
}

/// The host's timer cut: off, or the drawing time left once someone finds the word.
fn time_cut(ui: &mut egui::Ui, cut_secs: &mut u16) {
    ui.horizontal(|ui| {
        // Narrow: the side column is 360 px.
        ui.spacing_mut().slider_width = 60.0;
        let mut on = *cut_secs > 0;
        if ui
            .checkbox(&mut on, t!("quiz-cut-on"))
            .on_hover_text(t!("quiz-cut-hover"))
            .changed()
        {
            *cut_secs = if on { DEFAULT_CUT_SECS } else { 0 };
        }
        if on {
            ui.add(egui::Slider::new(cut_secs, MIN_CUT_SECS..=MAX_CUT_SECS).suffix(" s"));
        }
    });
}

/// How much of the game comes from the room's own words: none, a share of turns, or all.
fn room_words_share(ui: &mut egui::Ui, share: &mut u8, words: u32) {
    if words == 0 {
        *share = 0;
    }
    ui.vertical(|ui| {
        ui.add_enabled_ui(words > 0, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(share, 0, t!("quiz-room-words-off"));
                let mixed = (1..100).contains(share);
                if ui.selectable_label(mixed, t!("quiz-room-words-mixed")).clicked() && !mixed {
                    *share = DEFAULT_ROOM_WORDS_SHARE;
                }
                ui.selectable_value(share, 100, t!("quiz-room-words-only"));
            });
        })
        .response
        .on_disabled_hover_text(t!("quiz-room-words-first"));
        if (1..100).contains(share) {
            // Narrow: the side column is 360 px.
            ui.spacing_mut().slider_width = 90.0;
            let slider = egui::Slider::new(share, 10..=90)
                .step_by(10.0)
                .suffix(t!("quiz-percent-of-turns"));
            ui.add(slider);
        }
    });
}

/// The share of turns offered when the host mixes in the room's words.
const DEFAULT_ROOM_WORDS_SHARE: u8 = 50;

/// The host's list of the room's own words. Returns the text to send when they set it.
fn room_words_editor(ui: &mut egui::Ui, words: u32, text: &mut String) -> Option<String> {
    let mut set = None;
    let title = match words {
        0 => t!("quiz-own-words"),
        n => t!("quiz-own-words-set", count = n),
    };
    egui::CollapsingHeader::new(title)
        .id_salt("room-words")
        .show(ui, |ui| {
            ui.add(
                egui::TextEdit::multiline(text)
                    .desired_rows(4)
                    .desired_width(ui.available_width())
                    .hint_text(t!("quiz-room-words-hint")),
            );
            ui.horizontal(|ui| {
                if ui.button(t!("quiz-set-words")).clicked() {
                    set = Some(text.clone());
                }
                if words > 0 && ui.button(t!("quiz-clear-words")).clicked() {
                    text.clear();
                    set = Some(String::new());
                }
            });
        });
    set
}

/// The cut offered when the host turns it on.
const DEFAULT_CUT_SECS: u16 = 20;

/// The drawer's word choice, over the board.
pub fn choose(
    ctx: &egui::Context,
    middle: egui::Rect,
    view: &QuizView,
    me: Option<ClientId>,
    now: Duration,
) -> Option<QuizToServer> {
    let game = view.game.as_ref()?;
    let PhaseView::Choosing { drawer, options, .. } = &game.phase else {
        return None;
    };
    if Some(*drawer) != me || options.is_empty() {
        return None;
    }
    let mut picked = None;
    egui::Window::new(t!("quiz-your-turn-title"))
        .collapsible(false)
        .resizable(false)
        // In the board's column, the words wrapping to its width: never over the chat.
        .pivot(Align2::CENTER_CENTER)
        .fixed_pos(middle.center() - egui::vec2(0.0, 40.0))
        .constrain_to(middle)
        .max_width(middle.width() - 24.0)
        .show(ctx, |ui| {
            ui.label(RichText::new(t!("quiz-choose-word")).size(18.0));
            ui.label(RichText::new(t!("quiz-pick-for-you", secs = view.seconds_left(now))).weak());
            ui.add_space(8.0);
            // On one line where the column allows (a window sizes itself to what it holds, so
            // ask for the line's width), else wrapped.
            let font = egui::FontId::proportional(22.0);
            let padding = 2.0 * ui.spacing().button_padding.x;
            let line: f32 = options
                .iter()
                .map(|word| {
                    let text = ui
                        .painter()
                        .layout_no_wrap(word.clone(), font.clone(), Color32::WHITE);
                    (text.size().x + padding).max(110.0) + ui.spacing().item_spacing.x
                })
                .sum();
            ui.set_min_width(line.min(middle.width() - 48.0));
            ui.horizontal_wrapped(|ui| {
                for (i, word) in options.iter().enumerate() {
                    let button = egui::Button::new(RichText::new(word).size(22.0).strong())
                        .min_size(egui::vec2(110.0, 48.0));
                    if ui.add(button).clicked() {
                        picked = Some(QuizToServer::Choose(i as u8));
                    }
                }
            });
        });
    picked
}

/// Big, short-lived announcements over the top of the board, and the reveal. `board` is the
/// board's rectangle on screen.
pub fn overlays(ctx: &egui::Context, board: egui::Rect, view: &QuizView, roster: &Roster, now: Duration) {
    if let Some(game) = &view.game {
        match &game.phase {
            PhaseView::Choosing { drawer, .. } if Some(*drawer) != roster.me => {
                card(ctx, "choosing", board.center(), Align2::CENTER_CENTER, |ui| {
                    let who = roster.display_name(*drawer);
                    ui.label(RichText::new(t!("quiz-choosing", who = who)).size(22.0));
                });
            }
            PhaseView::Reveal {
                word, points, drawer, ..
            } => {
                // Under the picture, in the board's margin where there is room, and compact
                // (the points on a line or two): the picture stays in view with its word.
                let at = egui::pos2(board.center().x, board.bottom() + 6.0);
                card(ctx, "reveal", at, Align2::CENTER_TOP, |ui| {
                    ui.set_max_width(board.width() - 40.0);
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(t!("quiz-word-was")).size(18.0));
                        ui.label(RichText::new(word).size(28.0).strong().color(theme::EMPHASIS));
                        if points_nobody(game) {
                            ui.label(RichText::new(t!("quiz-nobody-found")).weak());
                        }
                    });
                    let mut points = points.clone();
                    points.sort_by_key(|p| std::cmp::Reverse(p.1));
                    ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Wrap);
                    ui.horizontal_wrapped(|ui| {
                        ui.spacing_mut().item_spacing.x = 4.0;
                        for (id, p) in points {
                            let role = if id == *drawer { " ✏" } else { "" };
                            ui.label(format!("{}{role}", roster.display_name(id)));
                            let colour = if p > 0 { theme::SUCCESS } else { theme::MUTED_TEXT };
                            ui.label(RichText::new(format!("+{p}")).color(colour).strong());
                            ui.add_space(12.0);
                        }
                    });
                });
            }
            _ => {}
        }
    }
    if let Some((at, banner)) = view.banners.back()
        && now.saturating_sub(*at) < BANNER_TIME
        && !said_by_a_card(banner, view, roster.me)
    {
        let (text, colour) = banner_text(banner);
        egui::Area::new("banner".into())
            .order(egui::Order::Foreground)
            .fixed_pos(egui::pos2(board.center().x, board.top() + 16.0))
            .pivot(Align2::CENTER_TOP)
            .interactable(false)
            .show(ctx, |ui| {
                egui::Frame::new()
                    .fill(colour)
                    .corner_radius(8.0)
                    .inner_margin(egui::Margin::symmetric(22, 10))
                    .show(ui, |ui| {
                        ui.add(
                            egui::Label::new(
                                RichText::new(text).size(24.0).strong().color(theme::BANNER_TEXT),
                            )
                            .extend(),
                        );
                    });
            });
    }
}

fn points_nobody(game: &GameView) -> bool {
    match &game.phase {
        PhaseView::Reveal { points, drawer, .. } => !points.iter().any(|(id, p)| id != drawer && *p > 0),
        _ => false,
    }
}

/// Whether a card or window on screen already says what `banner` would (it would cover it:
/// the reveal, the drawer's word choice, the final leaderboard).
fn said_by_a_card(banner: &Banner, view: &QuizView, me: Option<ClientId>) -> bool {
    let phase = view.game.as_ref().map(|g| &g.phase);
    match banner {
        Banner::Reveal { .. } => matches!(phase, Some(PhaseView::Reveal { .. })),
        Banner::YourTurn => matches!(phase, Some(PhaseView::Choosing { drawer, .. }) if Some(*drawer) == me),
        Banner::GameOver { .. } => view.game.is_none() && view.last_game.is_some(),
        Banner::Guessed { .. } => false,
    }
}

/// A banner's text and colour (also used for the window title).
pub fn banner_text(banner: &Banner) -> (String, Color32) {
    match banner {
        Banner::YourTurn => (t!("quiz-banner-your-turn"), theme::EMPHASIS),
        Banner::Guessed { name, points, me } => (
            format!("✔ {}", found_word_text(name, *points, *me)),
            theme::SUCCESS,
        ),
        Banner::Reveal { word } => (t!("quiz-banner-word-was", word = word.clone()), theme::EMPHASIS),
        Banner::GameOver { early: true } => (t!("quiz-banner-over-early"), theme::ERROR),
        Banner::GameOver { early: false } => (t!("quiz-banner-over"), theme::EMPHASIS),
    }
}

fn card(ctx: &egui::Context, id: &str, at: egui::Pos2, pivot: Align2, body: impl FnOnce(&mut egui::Ui)) {
    egui::Area::new(egui::Id::new(("card", id)))
        .order(egui::Order::Middle)
        .fixed_pos(at)
        .pivot(pivot)
        .interactable(false)
        .show(ctx, |ui| {
            ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
            egui::Frame::popup(ui.style())
                .inner_margin(egui::Margin::symmetric(18, 10))
                .show(ui, body);
        });
}

/// The last game's leaderboard, centred in the board's column (`middle`). Returns whether the player closed it: with
/// `album_next`, its button says the game's album comes next (it waits until this closes).
pub fn podium(
    ctx: &egui::Context,
    middle: egui::Rect,
    (early, standings): (bool, &[Standing]),
    me: Option<ClientId>,
    album_next: bool,
) -> bool {
    let mut close = false;
    egui::Window::new(if early {
        t!("quiz-over-early-title")
    } else {
        t!("quiz-over-title")
    })
    .collapsible(false)
    .resizable(false)
    .pivot(Align2::CENTER_CENTER)
    .fixed_pos(middle.center())
    .constrain_to(middle)
    .show(ctx, |ui| {
        ui.vertical_centered(|ui| {
            if early {
                ui.label(t!("quiz-ended-early-note"));
            }
            egui::Grid::new("podium")
                .num_columns(3)
                .spacing([16.0, 6.0])
                .show(ui, |ui| {
                    let mut rank = 0;
                    let mut previous = None;
                    for (i, s) in standings.iter().enumerate() {
                        if previous != Some(s.points) {
                            rank = i + 1;
                            previous = Some(s.points);
                        }
                        let medal = match rank {
                            1 => theme::MEDAL_GOLD,
                            2 => theme::MEDAL_SILVER,
                            3 => theme::MEDAL_BRONZE,
                            _ => Color32::TRANSPARENT,
                        };
                        let size = if rank == 1 { 24.0 } else { 18.0 };
                        ui.label(RichText::new(format!("● {rank}.")).size(size).color(medal));
                        let mut label = s.name.clone();
                        if Some(s.id) == me {
                            label.push_str(&format!(" {}", t!("room-you")));
                        }
                        if !s.present {
                            label.push_str(&format!(" {}", t!("quiz-left-mark")));
                        }
                        let colour = if rank == 1 { theme::MEDAL_GOLD } else { theme::TEXT };
                        ui.label(RichText::new(label).size(size).strong().color(colour));
                        ui.label(RichText::new(t!("quiz-points", points = s.points)).size(size));
                        ui.end_row();
                    }
                });
            ui.add_space(8.0);
            let label = match album_next {
                true => t!("quiz-see-album"),
                false => t!("quiz-close"),
            };
            if ui.button(RichText::new(label).size(16.0)).clicked() {
                close = true;
            }
        });
    });
    close
}

/// A player's line in the players list during or after a game: score and marks.
pub fn player_marks(view: &QuizView, id: ClientId) -> (Option<u32>, &'static str) {
    let score = view.score(id);
    let mark = match view.game.as_ref().map(|g| &g.phase) {
        Some(phase) if phase.drawer() == id => "✏",
        Some(PhaseView::Drawing { guessed, .. }) if guessed.contains(&id) => "✔",
        _ => "",
    };
    (score, mark)
}
