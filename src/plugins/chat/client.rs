//! The chat on a client: the log the chat panel shows.

use std::collections::VecDeque;

use bevy::prelude::*;

use super::wire::{ChatLine, ChatToClient};
use crate::i18n::Describe;
use crate::id::ClientId;
use crate::plugins::net::FromServer;
use crate::plugins::rooms::{NewSession, RoleReply, RoomUpdate, Roster, SessionEnded, Welcome, room_label};
use crate::plugins::{LogicSystems, Side};
use crate::t;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<ChatLog>()
        .add_message::<AddToChatLog>()
        .add_systems(
            Update,
            collect_chat.in_set(LogicSystems::Chat).in_set(Side::Client),
        )
        .add_systems(
            Update,
            add_entries.in_set(LogicSystems::Effects).in_set(Side::Client),
        );
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
        /// Among spectators (during a turn), rather than among those who know the word.
        spectators: bool,
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
    /// Entries ever added (the oldest go at the capacity), for a reader that follows the log.
    pub added: u64,
}

impl ChatLog {
    pub const CAPACITY: usize = 500;

    pub fn push(&mut self, entry: ChatEntry) {
        if self.entries.len() == Self::CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
        self.added += 1;
    }

    /// The room's recent `history` after coming back to a held seat: only the lines this log
    /// does not end with already (those said while the connection was down).
    pub fn catch_up(&mut self, history: &[ChatLine]) {
        let have: Vec<&ChatEntry> = self
            .entries
            .iter()
            .filter(|e| matches!(e, ChatEntry::Line { .. }))
            .collect();
        // The longest start of the history that ends this log's lines.
        let seen = (0..=history.len())
            .rev()
            .find(|&d| {
                let m = d.min(have.len());
                (d == 0 || m > 0)
                    && history[d - m..d]
                        .iter()
                        .zip(&have[have.len() - m..])
                        .all(|(line, entry)| line_entry(line) == **entry)
            })
            .unwrap_or(0);
        let missed = &history[seen..];
        if !missed.is_empty() {
            self.notice(t!("chat-while-away"));
            for line in missed {
                self.push(line_entry(line));
            }
        }
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
    mut resumed: Local<bool>,
    mut log: ResMut<ChatLog>,
    mut new_session: MessageReader<NewSession>,
    mut welcomes: MessageReader<FromServer<Welcome>>,
    mut incoming: MessageReader<FromServer<ChatToClient>>,
    mut ended: MessageReader<SessionEnded>,
    mut updates: MessageReader<FromServer<RoomUpdate>>,
    mut role_replies: MessageReader<FromServer<RoleReply>>,
    roster: Res<Roster>,
) {
    if new_session.read().last().is_some() {
        // The last session's lines, and why it ended, are not this one's.
        log.entries.clear();
        *resumed = false;
    }
    for FromServer(welcome) in welcomes.read() {
        // The history that follows a resumed welcome is merged, not shown again.
        *resumed = welcome.resumed;
        if !welcome.resumed {
            log.entries.clear();
        }
        log.notice(welcome_notice(welcome));
    }
    for FromServer(msg) in incoming.read() {
        show_chat(&mut log, msg, &mut resumed, &roster);
    }
    for FromServer(update) in updates.read() {
        if let Some(notice) = room_news(update, &roster) {
            log.notice(notice);
        }
    }
    for FromServer(reply) in role_replies.read() {
        log.notice(role_reply_notice(reply));
    }
    for ended in ended.read() {
        log.notice(ended_notice(ended));
    }
}

/// What a welcome says: back in the seat, watching, or joined with so many others.
fn welcome_notice(welcome: &Welcome) -> String {
    let room = room_label(&welcome.room);
    if welcome.resumed {
        return t!("chat-reconnected", room = room);
    }
    if welcome.players.iter().any(|p| p.id == welcome.you && p.spectator) {
        return t!("chat-watching-room", room = room);
    }
    let playing = welcome.players.iter().filter(|p| !p.spectator).count();
    let watching = (welcome.players.len() - playing) as u64;
    t!(
        "chat-joined-room",
        room = room,
        others = playing.saturating_sub(1) as u64,
        watching = watching
    )
}

/// Puts a chat message in the log; the history after a resumed welcome (`resumed`) is merged
/// into what the log shows already.
fn show_chat(log: &mut ChatLog, msg: &ChatToClient, resumed: &mut bool, roster: &Roster) {
    match msg {
        ChatToClient::Line(line) => log.push(line_entry(line)),
        ChatToClient::History(lines) if *resumed => {
            *resumed = false;
            log.catch_up(lines);
        }
        ChatToClient::History(lines) => {
            for line in lines {
                log.push(line_entry(line));
            }
            log.notice(t!("chat-earlier-above"));
        }
        ChatToClient::Private(line) => {
            log.push(ChatEntry::Private {
                from: line.from,
                name: line.name.clone(),
                text: line.text.clone(),
                // A spectator's private lines are only ever the spectators'.
                spectators: roster.spectating(),
            });
        }
        ChatToClient::Refused(why) => log.push(ChatEntry::Refused(why.describe())),
    }
}

/// The room's news as the chat tells it, if it does; every kind named, so a new one is decided
/// here.
fn room_news(update: &RoomUpdate, roster: &Roster) -> Option<String> {
    Some(match update {
        RoomUpdate::Joined(player) => match player.spectator {
            true => t!("chat-joined-to-watch", name = player.name.clone()),
            false => t!("chat-joined", name = player.name.clone()),
        },
        RoomUpdate::Left { name, reason, .. } => {
            t!("chat-left", name = name.clone(), reason = reason.describe())
        }
        RoomUpdate::HostChanged(_) => return None,
        RoomUpdate::Away(id) => t!("chat-away", name = roster.display_name(*id)),
        RoomUpdate::Back(id) => t!("chat-back", name = roster.display_name(*id)),
        // This client's own kick is told when its session ends (its roster may be gone).
        RoomUpdate::Kicked { id, name, by } if roster.me.is_some_and(|me| me != *id) => {
            t!("chat-kicked", name = name.clone(), by = by.describe())
        }
        RoomUpdate::Kicked { .. } => return None,
        RoomUpdate::KickVote {
            target,
            voter,
            votes,
            needed,
        } => t!(
            "chat-kick-vote",
            voter = roster.display_name(*voter),
            target = roster.display_name(*target),
            votes = *votes,
            needed = *needed
        ),
        RoomUpdate::ServerClosing {
            restart,
            last_turn_secs,
        } => closing_notice(*restart, *last_turn_secs),
        RoomUpdate::Role { id, spectator } => {
            role_notice(&roster.display_name(*id), roster.me == Some(*id), *spectator)
        }
    })
}

/// The server's answer to this client's asking to watch or to play.
fn role_reply_notice(reply: &RoleReply) -> String {
    match reply {
        RoleReply::Waiting { spectate: true } => t!("chat-will-watch"),
        RoleReply::Waiting { spectate: false } => t!("chat-will-play"),
        RoleReply::Cancelled => t!("chat-stay"),
        RoleReply::Refused(why) => t!("chat-cannot-change", why = why.describe()),
    }
}

/// Why the session ended, in one sentence.
fn ended_notice(ended: &SessionEnded) -> String {
    let what = if ended.was_kicked() {
        t!("chat-ended-removed")
    } else if ended.is_join_failure() {
        t!("chat-ended-not-joined")
    } else {
        t!("chat-ended-disconnected")
    };
    let mut why = ended.describe();
    // One full stop, unless the reason ends a question already.
    if !why.ends_with(['.', '?', '!']) {
        why.push('.');
    }
    t!("chat-ended", what = what, why = why)
}

/// A member started watching or playing.
fn role_notice(name: &str, me: bool, spectator: bool) -> String {
    match (me, spectator) {
        (true, true) => t!("chat-you-watch"),
        (true, false) => t!("chat-you-play"),
        (false, true) => t!("chat-now-watches", name = name.to_owned()),
        (false, false) => t!("chat-plays-again", name = name.to_owned()),
    }
}

fn add_entries(mut log: ResMut<ChatLog>, mut entries: MessageReader<AddToChatLog>) {
    for AddToChatLog(entry) in entries.read() {
        log.push(entry.clone());
    }
}

/// What a player reads when the server starts to stop.
fn closing_notice(restart: bool, last_turn_secs: Option<u16>) -> String {
    let what = if restart {
        t!("chat-server-restarting")
    } else {
        t!("chat-host-closing")
    };
    match last_turn_secs {
        Some(secs) => t!(
            "chat-last-turn",
            what = what,
            left = format!("{}:{:02}", secs / 60, secs % 60)
        ),
        None => t!("chat-closes-now", what = what),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u32) -> ChatLine {
        ChatLine {
            from: ClientId(n % 2),
            name: format!("p{}", n % 2),
            text: format!("line {n}"),
        }
    }

    /// The room's news a member reads: a kick of someone else is told with who decided, its
    /// own kick is left to the end of the session, and a new host is shown elsewhere.
    #[test]
    fn the_rooms_news_is_told_once_and_a_members_own_kick_at_the_end() {
        crate::i18n::in_lang(crate::i18n::Lang::En, || {
            let mut roster = Roster::default();
            roster.me = Some(ClientId(1));
            let kicked = |id| RoomUpdate::Kicked {
                id: ClientId(id),
                name: "Bob".into(),
                by: crate::plugins::rooms::KickedBy::Vote { votes: 3, of: 4 },
            };
            let told = room_news(&kicked(2), &roster).expect("another's kick is told");
            assert!(told.starts_with("Bob was kicked"), "{told}");
            assert_eq!(room_news(&kicked(1), &roster), None);
            assert_eq!(room_news(&RoomUpdate::HostChanged(ClientId(2)), &roster), None);
            assert_eq!(
                room_news(&RoomUpdate::Back(ClientId(9)), &roster).as_deref(),
                Some("someone is back.")
            );
        });
    }

    #[test]
    fn coming_back_adds_only_the_lines_said_while_away() {
        let mut log = ChatLog::default();
        for n in 0..5 {
            log.push(line_entry(&line(n)));
        }
        log.notice("someone lost their connection");
        // The room's history: lines 2..8 (5, 6 and 7 said while this client was away).
        let history: Vec<ChatLine> = (2..8).map(line).collect();
        log.catch_up(&history);
        let texts: Vec<String> = log
            .entries
            .iter()
            .map(|e| match e {
                ChatEntry::Line { text, .. } | ChatEntry::Notice(text) => text.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            texts[5..],
            [
                "someone lost their connection",
                "While you were away:",
                "line 5",
                "line 6",
                "line 7"
            ]
        );
        // Nothing missed: nothing added.
        let before = log.entries.len();
        log.catch_up(&history);
        assert_eq!(log.entries.len(), before);
        // A history from before anything this log has: all of it is new.
        let mut fresh = ChatLog::default();
        fresh.catch_up(&history[..2]);
        assert_eq!(fresh.entries.len(), 3);
    }
}
