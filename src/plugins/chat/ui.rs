//! The chat panel: scrolling history and an input line (Enter sends).

use bevy_egui::egui::{self, Color32, RichText};

use super::{ChatEntry, ChatLog, MAX_CHAT_CHARS};
use crate::id::ClientId;
use crate::names::truncate_chars;
use crate::t;
use crate::theme;

/// Draws the chat log and input; returns a message to send when the player pressed Enter.
pub fn chat_panel(
    ui: &mut egui::Ui,
    log: &ChatLog,
    me: Option<ClientId>,
    input: &mut String,
    enabled: bool,
) -> Option<String> {
    let input_height = 36.0;
    let mut sent = None;
    ui.vertical(|ui| {
        let log_height = (ui.available_height() - input_height).max(60.0);
        egui::ScrollArea::vertical()
            .id_salt("chat-log")
            .max_height(log_height)
            .min_scrolled_height(log_height)
            .auto_shrink([false, false])
            .stick_to_bottom(true)
            .show(ui, |ui| {
                for entry in &log.entries {
                    entry_row(ui, entry, me);
                }
            });
        ui.separator();
        ui.horizontal(|ui| {
            // Enter is read here rather than ending the field's input: the field keeps the
            // focus (and the input method its state) from one line to the next.
            let field = egui::TextEdit::singleline(input)
                .hint_text(if enabled {
                    t!("chat-hint")
                } else {
                    t!("chat-not-connected")
                })
                .char_limit(MAX_CHAT_CHARS)
                .return_key(None)
                .desired_width(ui.available_width() - 60.0);
            let response = ui.add_enabled(enabled, field);
            let pressed_enter = response.has_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let clicked = ui
                .add_enabled(enabled, egui::Button::new(t!("chat-send")))
                .clicked();
            if enabled && (pressed_enter || clicked) {
                truncate_chars(input, MAX_CHAT_CHARS);
                let text = std::mem::take(input);
                if !text.trim().is_empty() {
                    sent = Some(text);
                }
                response.request_focus();
            }
        });
    });
    sent
}

fn entry_row(ui: &mut egui::Ui, entry: &ChatEntry, me: Option<ClientId>) {
    match entry {
        ChatEntry::Line { from, name, text } => said_row(ui, *from, name, text, me, None),
        ChatEntry::Private {
            from,
            name,
            text,
            spectators,
        } => {
            let who = match spectators {
                true => t!("chat-private-spectators"),
                false => t!("chat-private-insiders"),
            };
            said_row(ui, *from, name, text, me, Some(&who))
        }
        ChatEntry::Highlight(text) => {
            ui.label(RichText::new(text).strong().color(theme::SUCCESS));
        }
        ChatEntry::Notice(text) => {
            ui.label(RichText::new(text).italics().color(theme::MUTED_TEXT));
        }
        ChatEntry::Refused(text) => {
            ui.label(RichText::new(format!("⚠ {text}")).color(theme::ERROR));
        }
    }
}

/// A player's line: their name (blue for your own) and text; a private line (seen only by
/// the drawer and those who found the word, or only by spectators: `private` says who) is
/// marked with a lock and tinted.
fn said_row(
    ui: &mut egui::Ui,
    from: ClientId,
    name: &str,
    text: &str,
    me: Option<ClientId>,
    private: Option<&str>,
) {
    let colour = if Some(from) == me {
        theme::ACCENT
    } else {
        name_colour(name)
    };
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        if let Some(who) = private {
            ui.label(RichText::new("🔒").color(theme::PRIVATE_TINT))
                .on_hover_text(who);
        }
        ui.label(RichText::new(format!("{name}:")).strong().color(colour));
        let text = RichText::new(text);
        ui.label(if private.is_some() {
            text.color(theme::PRIVATE_TINT)
        } else {
            text
        });
    });
}

/// A stable, readable colour per name.
fn name_colour(name: &str) -> Color32 {
    let hash = name
        .bytes()
        .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
    theme::NAME_COLOURS[hash as usize % theme::NAME_COLOURS.len()]
}
