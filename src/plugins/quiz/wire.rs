//! What the quiz plugin puts on the wire: requests, each player's view of the game, and
//! what a player is told about their own messages.

use serde::{Deserialize, Serialize};

use thiserror::Error;

use super::game::QuizError;
use super::scoring::Settings;
use super::words::RoomWordsError;
use crate::id::ClientId;
use crate::plugins::net::{NetApp, WireMessage};

pub(super) fn plugin(app: &mut bevy::prelude::App) {
    app.add_client_message::<QuizToServer>()
        .add_server_message::<QuizToClient>();
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum QuizToServer {
    /// The host starts a game with these settings (clamped by the server).
    Start(Settings),
    /// The drawer picks one of the offered words.
    Choose(u8),
    /// The host's own words for the room, separated by commas or new lines (empty: none).
    RoomWords(String),
    /// A like for the drawing being drawn.
    Like,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum QuizToClient {
    /// Sent on joining: what this server offers for games.
    Offer { custom_words: u32 },
    /// The game as this player may see it: at each phase change, to a joiner, and to a
    /// guesser who just found the word.
    State(GameView),
    /// Guessers' view of the word after a hint.
    Hint { mask: String },
    Guessed {
        who: ClientId,
        name: String,
        points: u32,
    },
    /// Only for the sender of a chat message.
    Told(Tell),
    /// The pack ran out and was reshuffled: words may come again.
    Reshuffled,
    /// The first guesser found the word: the drawing time left is cut to this.
    TimeCut { ms_left: u32 },
    /// How many words of its own the room has (the host set them, or 0: cleared).
    RoomWords { count: u32 },
    /// The drawing being drawn has this many likes; `by` gave the last.
    Liked { by: ClientId, count: u32 },
    /// The game is over (`early`: too few players left); the room is back in the lobby.
    Over { early: bool, standings: Vec<Standing> },
    /// The game's album, after its end: each turn's drawing (its `key` asks the canvas for a
    /// replay), word, drawer, finders and likes.
    Album(Vec<AlbumEntry>),
    /// Your request was refused, and why.
    Refused(QuizRefusal),
}

/// One turn of a game's album.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AlbumEntry {
    pub key: u32,
    pub word: String,
    pub drawer: String,
    /// Who found the word, first first (at most [`MAX_VIEW_FINDERS`]).
    pub found: Vec<String>,
    pub likes: u32,
}

/// One player's view of a running game.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GameView {
    pub settings: Settings,
    pub round: u8,
    pub scores: Vec<(ClientId, u32)>,
    pub phase: PhaseView,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum PhaseView {
    /// `options` only for the drawer; empty for everyone else.
    Choosing {
        drawer: ClientId,
        options: Vec<String>,
        ms_left: u32,
    },
    /// `word` only for the drawer and those who found it; everyone sees the `mask`.
    Drawing {
        drawer: ClientId,
        word: Option<String>,
        mask: String,
        guessed: Vec<ClientId>,
        ms_left: u32,
    },
    /// The word for everyone, with the turn's points.
    Reveal {
        drawer: ClientId,
        word: String,
        points: Vec<(ClientId, u32)>,
        ms_left: u32,
    },
}

impl PhaseView {
    pub fn drawer(&self) -> ClientId {
        match self {
            PhaseView::Choosing { drawer, .. }
            | PhaseView::Drawing { drawer, .. }
            | PhaseView::Reveal { drawer, .. } => *drawer,
        }
    }

    pub fn ms_left(&self) -> u32 {
        match self {
            PhaseView::Choosing { ms_left, .. }
            | PhaseView::Drawing { ms_left, .. }
            | PhaseView::Reveal { ms_left, .. } => *ms_left,
        }
    }
}

/// What the server tells one player about their own chat message.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tell {
    /// One letter (or jamo) away from the word.
    Close,
    /// Withheld: it contains the word without being it; its sender, and their address, cannot
    /// score in this turn any more.
    ContainsWord,
    /// Withheld: the sender, or someone at their address, gave the word away in this turn.
    Barred,
    /// Withheld: the drawer may not give the word away.
    DrawerLeak,
    /// Withheld: the sender joined during this turn and scores from the next.
    NextTurn,
    /// Withheld: it names more than one of the pack's words.
    OneAtATime,
}

impl Tell {
    pub fn text(self) -> String {
        match self {
            Tell::Close => crate::t!("tell-close"),
            Tell::ContainsWord => crate::t!("tell-contains-word"),
            Tell::Barred => crate::t!("tell-barred"),
            Tell::DrawerLeak => crate::t!("tell-drawer-leak"),
            Tell::NextTurn => crate::t!("tell-next-turn"),
            Tell::OneAtATime => crate::t!("tell-one-at-a-time"),
        }
    }
}

/// The leaderboard's length (a frame holds it whatever the names).
pub const MAX_STANDINGS: usize = 64;

/// A line of the final leaderboard.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub id: ClientId,
    pub name: String,
    pub points: u32,
    /// Still in the room at the end.
    pub present: bool,
}

/// Why a game request was refused.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Error)]
pub enum QuizRefusal {
    #[error("a game is already running")]
    AlreadyRunning,
    #[error("only the room's host can start a game")]
    NotHost,
    #[error("this server has no custom word list")]
    NoCustomWords,
    #[error("no game is running")]
    NotRunning,
    #[error("{0}")]
    Game(QuizError),
    #[error("the room has no words of its own (the host sets them in the Game panel)")]
    NoRoomWords,
    #[error("the room's words were not set: {0}")]
    RoomWords(RoomWordsError),
    #[error("the room's words were just set; wait a moment before setting them again")]
    RoomWordsTooSoon,
    #[error("spectators watch: they do not like, guess or draw")]
    Spectating,
}

impl WireMessage for QuizToServer {
    const NAME: &'static str = "quiz.to_server";
    /// 2: `Settings::cut_secs`; 3: `RoomWords`, `Settings::room_words`, `Like`.
    const VERSION: u16 = 3;
}

impl WireMessage for QuizToClient {
    const NAME: &'static str = "quiz.to_client";
    /// 2: `Tell::NextTurn`, `Tell::OneAtATime`; 3: `TimeCut`, `Settings::cut_secs`; 4:
    /// `RoomWords`, `Liked`, `Settings::room_words`, the room's words and likes refusals; 5:
    /// `QuizRefusal::RoomWordsTooSoon`; 6: `QuizRefusal::Spectating`; 7: `Album`.
    const VERSION: u16 = 7;
}

impl crate::i18n::Describe for QuizRefusal {
    fn describe(&self) -> String {
        use crate::t;
        match self {
            QuizRefusal::AlreadyRunning => t!("err-quiz-running"),
            QuizRefusal::NotHost => t!("err-quiz-not-host"),
            QuizRefusal::NoCustomWords => t!("err-quiz-no-custom"),
            QuizRefusal::NotRunning => t!("err-quiz-not-running"),
            QuizRefusal::Game(e) => e.describe(),
            QuizRefusal::NoRoomWords => t!("err-quiz-no-room-words"),
            QuizRefusal::RoomWords(e) => t!("err-quiz-room-words", why = e.describe()),
            QuizRefusal::RoomWordsTooSoon => t!("err-quiz-room-words-soon"),
            QuizRefusal::Spectating => t!("err-quiz-spectating"),
        }
    }
}
