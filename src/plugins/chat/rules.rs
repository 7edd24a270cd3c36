//! The chat's rules as plain Rust: cleaning a message, the per-player rate limit, a room's
//! history.

use std::collections::VecDeque;
use std::time::Duration;

use bevy::prelude::{Component, Resource};
use serde::{Deserialize, Serialize};

use super::wire::ChatLine;
use crate::safe_text::clean_chat_char;

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
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatRefusal {
    #[error("empty message not sent")]
    Empty,
    #[error("message too long (at most {MAX_CHAT_CHARS} characters)")]
    TooLong,
    #[error("slow down: at most {burst} messages every {secs} seconds")]
    TooFast { burst: u32, secs: u32 },
}

/// Makes a message safe to show: line breaks and tabs become spaces, control characters,
/// text-direction controls and invisible characters (but the joiners emoji need) are removed,
/// surrounding space is trimmed.
pub fn clean_message(raw: &str) -> Result<String, ChatRefusal> {
    if raw.chars().count() > MAX_CHAT_CHARS * 4 {
        return Err(ChatRefusal::TooLong);
    }
    let cleaned: String = raw.chars().filter_map(clean_chat_char).collect();
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
    pub fn allow(&mut self, now: Duration, config: &ChatConfig) -> Result<(), ChatRefusal> {
        while self
            .accepted
            .front()
            .is_some_and(|&t| now.saturating_sub(t) >= config.window)
        {
            self.accepted.pop_front();
        }
        if self.accepted.len() >= config.burst {
            return Err(ChatRefusal::TooFast {
                burst: config.burst as u32,
                secs: config.window.as_secs() as u32,
            });
        }
        self.accepted.push_back(now);
        Ok(())
    }
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

impl crate::i18n::Describe for ChatRefusal {
    fn describe(&self) -> String {
        match self {
            ChatRefusal::Empty => crate::t!("err-chat-empty"),
            ChatRefusal::TooLong => crate::t!("err-chat-too-long", max = MAX_CHAT_CHARS as u64),
            ChatRefusal::TooFast { burst, secs } => {
                crate::t!("err-chat-too-fast", burst = *burst, secs = *secs)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ClientId;
    use crate::plugins::chat::wire::ChatToClient;

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
        // Every bidi control a name refuses is stripped from chat too (marks included), and
        // invisible characters other than the joiners.
        assert_eq!(
            clean_message("a\u{200E}b\u{200F}c\u{061C}d\u{2067}e\u{200B}f\u{FEFF}g").unwrap(),
            "abcdefg"
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
            assert!(rate.allow(t(i * 100), &config).is_ok(), "message {i}");
        }
        let too_fast = Err(ChatRefusal::TooFast { burst: 5, secs: 3 });
        assert_eq!(rate.allow(t(500), &config), too_fast);
        assert_eq!(
            rate.allow(t(2999), &config),
            too_fast,
            "refusals do not count, but the window holds"
        );
        assert!(
            rate.allow(t(3000), &config).is_ok(),
            "the first message has aged out"
        );
        assert_eq!(rate.allow(t(3001), &config), too_fast);
    }

    #[test]
    fn the_largest_possible_history_fits_in_one_frame() {
        let line = ChatLine {
            from: ClientId(u32::MAX),
            name: "\u{10FFFF}".repeat(24),
            text: "\u{10FFFF}".repeat(MAX_CHAT_CHARS),
        };
        let history = ChatToClient::History(vec![line; HISTORY_LINES]);
        // The frame also holds the message's tag (at most 5 bytes).
        let bytes = crate::codec::encode(&(u32::MAX, history)).expect("fits under the frame cap");
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
