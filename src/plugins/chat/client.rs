//! The chat on a client: the log the chat panel shows.

use std::collections::VecDeque;

use bevy::prelude::*;

use super::wire::{ChatLine, ChatToClient};
use crate::id::ClientId;
use crate::plugins::LogicSystems;
use crate::plugins::net::FromServer;
use crate::plugins::rooms::{RoomUpdate, Roster, SessionEnded, Welcome};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<ChatLog>()
        .add_message::<AddToChatLog>()
        .add_systems(Update, collect_chat.in_set(LogicSystems::Chat))
        .add_systems(Update, add_entries.in_set(LogicSystems::Effects));
}

/// Lines the chat panel shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEntry {
    Line {
        from: ClientId,
        name: String,
        text: String,
    },
    /// Seen only by some of the room (in a game: the drawer and those who found the word).
    Private {
        from: ClientId,
        name: String,
        text: String,
    },
    Notice(String),
    /// Good news worth seeing (someone guessed the word).
    Highlight(String),
    Refused(String),
}

/// Asks the chat to show an entry in this client's log (other plugins' news).
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct AddToChatLog(pub ChatEntry);

/// This client's chat log, newest last, at most [`ChatLog::CAPACITY`] entries.
#[derive(Resource, Debug, Default)]
pub struct ChatLog {
    pub entries: VecDeque<ChatEntry>,
}

impl ChatLog {
    pub const CAPACITY: usize = 500;

    pub fn push(&mut self, entry: ChatEntry) {
        if self.entries.len() == Self::CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub fn notice(&mut self, text: impl Into<String>) {
        self.push(ChatEntry::Notice(text.into()));
    }
}

fn line_entry(line: &ChatLine) -> ChatEntry {
    ChatEntry::Line {
        from: line.from,
        name: line.name.clone(),
        text: line.text.clone(),
    }
}

fn collect_chat(
    mut log: ResMut<ChatLog>,
    mut welcomes: MessageReader<FromServer<Welcome>>,
    mut incoming: MessageReader<FromServer<ChatToClient>>,
    mut ended: MessageReader<SessionEnded>,
    mut updates: MessageReader<FromServer<RoomUpdate>>,
    roster: Res<Roster>,
) {
    for FromServer(welcome) in welcomes.read() {
        log.entries.clear();
        if welcome.resumed {
            log.notice(format!(
                "Reconnected: you are back in your seat in room \"{}\".",
                welcome.room
            ));
            continue;
        }
        let others = welcome.players.len().saturating_sub(1);
        log.notice(format!(
            "You joined room \"{}\" ({} other player{} here).",
            welcome.room,
            others,
            if others == 1 { "" } else { "s" }
        ));
    }
    for FromServer(msg) in incoming.read() {
        match msg {
            ChatToClient::Line(line) => log.push(line_entry(line)),
            ChatToClient::History(lines) => {
                for line in lines {
                    log.push(line_entry(line));
                }
                log.notice("(earlier messages above)");
            }
            ChatToClient::Private(line) => {
                log.push(ChatEntry::Private {
                    from: line.from,
                    name: line.name.clone(),
                    text: line.text.clone(),
                });
            }
            ChatToClient::Joined { name } => log.notice(format!("{name} joined.")),
            ChatToClient::Left { name, reason } => log.notice(format!("{name} {reason}.")),
            ChatToClient::Refused(why) => log.push(ChatEntry::Refused(why.to_string())),
        }
    }
    for FromServer(update) in updates.read() {
        match update {
            RoomUpdate::Away(id) => log.notice(format!(
                "{} lost their connection; their seat is kept for them.",
                roster.display_name(*id)
            )),
            RoomUpdate::Back(id) => log.notice(format!("{} is back.", roster.display_name(*id))),
            RoomUpdate::Kicked { id, name, by } if Some(*id) != roster.me => {
                log.notice(format!("{name} was kicked {by}."))
            }
            RoomUpdate::KickVote {
                target,
                voter,
                votes,
                needed,
            } => log.notice(format!(
                "{} voted to kick {} ({votes} of {needed} votes needed; right-click a name to vote).",
                roster.display_name(*voter),
                roster.display_name(*target)
            )),
            _ => {}
        }
    }
    for ended in ended.read() {
        let what = if ended.was_kicked() {
            "Removed"
        } else if ended.is_join_failure() {
            "Could not join"
        } else {
            "Disconnected"
        };
        log.notice(format!("{what}: {ended}."));
    }
}

fn add_entries(mut log: ResMut<ChatLog>, mut entries: MessageReader<AddToChatLog>) {
    for AddToChatLog(entry) in entries.read() {
        log.push(entry.clone());
    }
}
