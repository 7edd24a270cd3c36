//! The chat room: per-room chat with history, join and leave notices, a length limit and a
//! rate limit enforced by the server, and the client's chat log.

pub mod ui;

use std::collections::VecDeque;
use std::time::Duration;

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use crate::plugins::GameSystems;
use crate::plugins::net::{ConnectionEnded, FromClient, FromServer, NetServer, Recipients, ToClients};
use crate::plugins::rooms::{Player, PlayerJoined, PlayerLeft, Room, RoomIndex, Welcome};
use crate::protocol::{ClientId, ClientMsg, LeaveReason, ServerMsg};

pub fn plugin(app: &mut App) {
    app.init_resource::<ChatConfig>()
        .init_resource::<ChatLog>()
        .add_message::<Said>()
        .add_systems(
            Update,
            (
                (greet_joiners, announce_leavers, relay_chat)
                    .chain()
                    .run_if(resource_exists::<NetServer>),
                collect_chat,
            )
                .in_set(GameSystems::Chat),
        );
}

// ---------------------------------------------------------------------------------------------
// Wire

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ChatToServer {
    Say(String),
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ChatLine {
    pub from: ClientId,
    pub name: String,
    pub text: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ChatToClient {
    Line(ChatLine),
    /// The room's recent lines, sent once after the welcome.
    History(Vec<ChatLine>),
    Joined {
        name: String,
    },
    Left {
        name: String,
        reason: LeaveReason,
    },
    /// A line only the drawer and those who found the word see (during a game's turn).
    Private(ChatLine),
    /// Your message was not sent, and why.
    Refused(String),
}

impl From<ChatToClient> for ServerMsg {
    fn from(msg: ChatToClient) -> Self {
        ServerMsg::Chat(msg)
    }
}

impl From<ChatToServer> for ClientMsg {
    fn from(msg: ChatToServer) -> Self {
        ClientMsg::Chat(msg)
    }
}

// ---------------------------------------------------------------------------------------------
// Rules

/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 300;
/// Lines a room keeps for players who join later (sent in one message: 40 lines of the
/// longest text still fit a frame, as a test checks).
pub const HISTORY_LINES: usize = 40;

#[derive(Resource, Clone, Debug)]
pub struct ChatConfig {
    /// At most `burst` messages per `window` per player.
    pub burst: usize,
    pub window: Duration,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            burst: 5,
            window: Duration::from_secs(3),
        }
    }
}

/// Why a chat message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatRefusal {
    #[error("empty message not sent")]
    Empty,
    #[error("message too long (at most {MAX_CHAT_CHARS} characters)")]
    TooLong,
    #[error("slow down: at most {burst} messages every {secs} seconds")]
    TooFast { burst: usize, secs: u64 },
}

/// Makes a message safe to show: line breaks and tabs become spaces, other control
/// characters and text-direction overrides are removed, surrounding space is trimmed.
pub fn clean_message(raw: &str) -> Result<String, ChatRefusal> {
    if raw.chars().count() > MAX_CHAT_CHARS * 4 {
        return Err(ChatRefusal::TooLong);
    }
    let cleaned: String = raw
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => None,
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        return Err(ChatRefusal::Empty);
    }
    if cleaned.chars().count() > MAX_CHAT_CHARS {
        return Err(ChatRefusal::TooLong);
    }
    Ok(cleaned.to_owned())
}

/// A sliding-window rate limit: at most `burst` accepted messages in any `window`.
#[derive(Component, Debug, Default)]
pub struct ChatRate {
    accepted: VecDeque<Duration>,
}

impl ChatRate {
    /// Records a message at `now` (time since any fixed start) if the limit allows it.
    pub fn allow(&mut self, now: Duration, config: &ChatConfig) -> bool {
        while self
            .accepted
            .front()
            .is_some_and(|&t| now.saturating_sub(t) >= config.window)
        {
            self.accepted.pop_front();
        }
        if self.accepted.len() >= config.burst {
            return false;
        }
        self.accepted.push_back(now);
        true
    }
}

/// While a room has this, its accepted lines are not broadcast: they go out as [`Said`]
/// for the game to route (a guess may be correct, close, or for the finders only).
#[derive(Component, Debug, Default)]
pub struct GameChat;

/// An accepted line (cleaned, within the rate limit) in a room whose game routes its chat.
#[derive(Message, Debug, Clone)]
pub struct Said {
    pub room: Entity,
    pub line: ChatLine,
}

/// A room's recent lines.
#[derive(Component, Debug, Default)]
pub struct ChatHistory(pub VecDeque<ChatLine>);

impl ChatHistory {
    pub fn push(&mut self, line: ChatLine) {
        if self.0.len() == HISTORY_LINES {
            self.0.pop_front();
        }
        self.0.push_back(line);
    }
}

// ---------------------------------------------------------------------------------------------
// Server systems

fn greet_joiners(
    mut commands: Commands,
    mut joined: MessageReader<PlayerJoined>,
    index: Res<RoomIndex>,
    rooms: Query<(&Room, Option<&ChatHistory>)>,
    mut out: MessageWriter<ToClients<ChatToClient>>,
) {
    for PlayerJoined {
        client,
        name,
        room: room_entity,
    } in joined.read()
    {
        if let Some(player) = index.player(*client) {
            commands.entity(player).insert(ChatRate::default());
        }
        commands
            .entity(*room_entity)
            .insert_if_new(ChatHistory::default());
        let room = room_entity;
        let Ok((room, history)) = rooms.get(*room) else {
            continue;
        };
        if let Some(history) = history.filter(|h| !h.0.is_empty()) {
            out.write(ToClients {
                to: Recipients::One(*client),
                msg: ChatToClient::History(history.0.iter().cloned().collect()),
            });
        }
        let others: Vec<ClientId> = room.members().filter(|id| id != client).collect();
        if !others.is_empty() {
            out.write(ToClients {
                to: Recipients::Many(others),
                msg: ChatToClient::Joined { name: name.clone() },
            });
        }
    }
}

fn announce_leavers(mut left: MessageReader<PlayerLeft>, mut out: MessageWriter<ToClients<ChatToClient>>) {
    for PlayerLeft {
        name,
        reason,
        remaining,
        ..
    } in left.read()
    {
        if !remaining.is_empty() {
            out.write(ToClients {
                to: Recipients::Many(remaining.clone()),
                msg: ChatToClient::Left {
                    name: name.clone(),
                    reason: reason.clone(),
                },
            });
        }
    }
}

/// Relays a player's line to their room. `greet_joiners` (earlier in the chain, with a sync
/// point between) gave the player its rate limit and the room its history.
fn relay_chat(
    time: Res<Time<Real>>,
    config: Res<ChatConfig>,
    index: Res<RoomIndex>,
    mut incoming: MessageReader<FromClient<ChatToServer>>,
    mut players: Query<(&Player, &mut ChatRate)>,
    mut rooms: Query<(&Room, &mut ChatHistory, Has<GameChat>)>,
    mut out: MessageWriter<ToClients<ChatToClient>>,
    mut said: MessageWriter<Said>,
) {
    let now = time.elapsed();
    for FromClient {
        client,
        msg: ChatToServer::Say(text),
    } in incoming.read()
    {
        let Some(entity) = index.player(*client) else {
            continue;
        };
        let Ok((player, mut rate)) = players.get_mut(entity) else {
            continue;
        };
        let refuse = |why: ChatRefusal| ToClients {
            to: Recipients::One(*client),
            msg: ChatToClient::Refused(why.to_string()),
        };
        let text = match clean_message(text) {
            Ok(text) => text,
            Err(why) => {
                out.write(refuse(why));
                continue;
            }
        };
        if !rate.allow(now, &config) {
            out.write(refuse(ChatRefusal::TooFast {
                burst: config.burst,
                secs: config.window.as_secs(),
            }));
            continue;
        }
        let Ok((room, mut history, routed)) = rooms.get_mut(player.room) else {
            continue;
        };
        let line = ChatLine {
            from: *client,
            name: player.name.clone(),
            text,
        };
        if routed {
            said.write(Said {
                room: player.room,
                line,
            });
            continue;
        }
        history.push(line.clone());
        out.write(ToClients {
            to: Recipients::Many(room.members().collect()),
            msg: ChatToClient::Line(line),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Client

/// Lines the chat panel shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEntry {
    Line {
        from: ClientId,
        name: String,
        text: String,
    },
    /// Seen only by the drawer and those who found the word.
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

fn collect_chat(
    mut log: ResMut<ChatLog>,
    mut welcomes: MessageReader<FromServer<Welcome>>,
    mut incoming: MessageReader<FromServer<ChatToClient>>,
    mut ended: MessageReader<ConnectionEnded>,
) {
    for FromServer(welcome) in welcomes.read() {
        log.entries.clear();
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
            ChatToClient::Line(line) => {
                log.push(ChatEntry::Line {
                    from: line.from,
                    name: line.name.clone(),
                    text: line.text.clone(),
                });
            }
            ChatToClient::History(lines) => {
                for line in lines {
                    log.push(ChatEntry::Line {
                        from: line.from,
                        name: line.name.clone(),
                        text: line.text.clone(),
                    });
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
            ChatToClient::Refused(why) => log.push(ChatEntry::Refused(why.clone())),
        }
    }
    for ConnectionEnded(error) in ended.read() {
        let what = if error.is_connect_failure() {
            "Could not join"
        } else {
            "Disconnected"
        };
        log.notice(format!("{what}: {error}."));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_flattens_lines_and_drops_controls() {
        assert_eq!(clean_message("  안녕\r\n하세요\t!  ").unwrap(), "안녕  하세요 !");
        assert_eq!(clean_message("a\u{0}b\u{202E}c").unwrap(), "abc");
        assert_eq!(
            clean_message("eval('1+1')").unwrap(),
            "eval('1+1')",
            "code is just text"
        );
        // Emoji ZWJ sequences survive.
        assert_eq!(
            clean_message("👨\u{200D}👩\u{200D}👧").unwrap(),
            "👨\u{200D}👩\u{200D}👧"
        );
    }

    #[test]
    fn cleaning_refuses_empty_and_long_messages() {
        assert_eq!(clean_message(""), Err(ChatRefusal::Empty));
        assert_eq!(clean_message(" \n\u{0} "), Err(ChatRefusal::Empty));
        assert!(clean_message(&"가".repeat(MAX_CHAT_CHARS)).is_ok());
        assert_eq!(
            clean_message(&"가".repeat(MAX_CHAT_CHARS + 1)),
            Err(ChatRefusal::TooLong)
        );
        assert_eq!(clean_message(&"x".repeat(1 << 20)), Err(ChatRefusal::TooLong));
    }

    #[test]
    fn rate_limit_allows_five_per_three_seconds() {
        let config = ChatConfig::default();
        let mut rate = ChatRate::default();
        let t = |ms: u64| Duration::from_millis(ms);
        for i in 0..5 {
            assert!(rate.allow(t(i * 100), &config), "message {i}");
        }
        assert!(!rate.allow(t(500), &config));
        assert!(
            !rate.allow(t(2999), &config),
            "refusals do not count, but the window holds"
        );
        assert!(rate.allow(t(3000), &config), "the first message has aged out");
        assert!(!rate.allow(t(3001), &config));
    }

    #[test]
    fn the_largest_possible_history_fits_in_one_frame() {
        let line = ChatLine {
            from: ClientId(u32::MAX),
            name: "\u{10FFFF}".repeat(24),
            text: "\u{10FFFF}".repeat(MAX_CHAT_CHARS),
        };
        let history = ServerMsg::Chat(ChatToClient::History(vec![line; HISTORY_LINES]));
        let bytes = crate::codec::encode(&history).expect("fits under the frame cap");
        assert!(bytes.len() <= crate::codec::MAX_FRAME_LEN);
    }

    #[test]
    fn history_keeps_the_newest_lines() {
        let mut history = ChatHistory::default();
        for i in 0..(HISTORY_LINES + 10) {
            history.push(ChatLine {
                from: ClientId(1),
                name: "a".into(),
                text: i.to_string(),
            });
        }
        assert_eq!(history.0.len(), HISTORY_LINES);
        assert_eq!(history.0.front().unwrap().text, "10");
    }
}
