//! The game on a client: the [`QuizView`] the UI draws, news for the chat log, banners,
//! and the end of each watched turn (for the gallery).

use std::collections::VecDeque;
use std::time::Duration;

use bevy::prelude::*;

use super::wire::{AlbumEntry, GameView, PhaseView, QuizToClient, Standing, Tell};
use crate::i18n::Describe;
use crate::id::ClientId;
use crate::plugins::canvas::album::MAX_SHELVED;
use crate::plugins::chat::{AddToChatLog, ChatEntry};
use crate::plugins::net::FromServer;
use crate::plugins::rooms::{NewSession, Roster, SessionEnded, Welcome};
use crate::plugins::{LogicSystems, Side};
use crate::t;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<QuizView>()
        .add_message::<TurnEnded>()
        .add_systems(
            Update,
            follow_game.in_set(LogicSystems::Quiz).in_set(Side::Client),
        );
}

/// This client's view of the room's game, for the UI.
#[derive(Resource, Debug, Default)]
pub struct QuizView {
    /// How many words the server's custom pack has (0: none).
    pub custom_words: u32,
    /// How many words of its own the room has (its host's list).
    pub room_words: u32,
    /// The likes of the drawing being drawn.
    pub likes: Likes,
    /// The game in progress, as the server last described it.
    pub game: Option<GameView>,
    /// When the current phase ends, on this app's `Time<Real>` clock.
    pub deadline: Duration,
    /// The last game's leaderboard, until the next game starts.
    pub last_game: Option<(bool, Vec<Standing>)>,
    /// Announcements to show prominently, newest last, with the time they came.
    pub banners: VecDeque<(Duration, Banner)>,
    /// The last game's album (its turns; the canvas replays their drawings), kept until the
    /// next game's.
    pub album: Vec<AlbumEntry>,
}

/// The likes of the drawing being drawn, as the server counted them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Likes {
    pub count: u32,
    /// This player liked it.
    pub mine: bool,
}

/// Something the player must not miss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Banner {
    YourTurn,
    Guessed { name: String, points: u32, me: bool },
    Reveal { word: String },
    GameOver { early: bool },
}

impl QuizView {
    pub fn seconds_left(&self, now: Duration) -> u64 {
        self.deadline.saturating_sub(now).as_secs_f64().ceil() as u64
    }

    pub fn score(&self, id: ClientId) -> Option<u32> {
        let scores = match (&self.game, &self.last_game) {
            (Some(game), _) => &game.scores,
            (None, Some((_, standings))) => {
                return standings.iter().find(|s| s.id == id).map(|s| s.points);
            }
            (None, None) => return None,
        };
        scores.iter().find(|(p, _)| *p == id).map(|(_, s)| *s)
    }

    pub fn drawer(&self) -> Option<ClientId> {
        self.game.as_ref().map(|g| g.phase.drawer())
    }

    fn banner(&mut self, now: Duration, banner: Banner) {
        if self.banners.len() == 8 {
            self.banners.pop_front();
        }
        self.banners.push_back((now, banner));
    }
}

/// A turn ended on this client's screen: the picture and its word (for the gallery).
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct TurnEnded {
    pub word: String,
    pub drawer: ClientId,
}

/// The one wording of a found word, in the chat log and on the banner.
pub fn found_word_text(name: &str, points: u32, me: bool) -> String {
    if me {
        t!("quiz-you-found", points = points)
    } else {
        t!("quiz-found", name = name.to_owned(), points = points)
    }
}

/// What following the game writes.
#[derive(bevy::ecs::system::SystemParam)]
struct Follow<'w> {
    log: MessageWriter<'w, AddToChatLog>,
    turn_ended: MessageWriter<'w, TurnEnded>,
}

impl Follow<'_> {
    fn notice(&mut self, text: String) {
        self.log.write(AddToChatLog(ChatEntry::Notice(text)));
    }

    fn highlight(&mut self, text: String) {
        self.log.write(AddToChatLog(ChatEntry::Highlight(text)));
    }
}

/// Follows the room's game from the server's messages into the view, the chat log and the
/// banners; a new session (or none) starts from an empty view.
fn follow_game(
    time: Res<Time<Real>>,
    roster: Res<Roster>,
    mut view: ResMut<QuizView>,
    mut welcomes: MessageReader<FromServer<Welcome>>,
    mut incoming: MessageReader<FromServer<QuizToClient>>,
    mut sessions: (MessageReader<NewSession>, MessageReader<SessionEnded>),
    mut out: Follow,
) {
    let now = time.elapsed();
    let (new_session, ended) = &mut sessions;
    if welcomes.read().last().is_some() | new_session.read().last().is_some() | ended.read().last().is_some()
    {
        *view = QuizView::default();
    }
    for FromServer(msg) in incoming.read() {
        match msg {
            QuizToClient::Offer { custom_words } => view.custom_words = *custom_words,
            QuizToClient::State(state) => on_state(&mut view, state, &roster, now, &mut out),
            QuizToClient::Hint { mask } => on_hint(&mut view, mask, &mut out),
            QuizToClient::Guessed { who, name, points } => {
                // Not in this room: ignored (whatever a server sends, the lists stay bounded).
                if roster.name_of(*who).is_some() {
                    on_guessed(&mut view, *who, name, *points, roster.me, now, &mut out);
                }
            }
            QuizToClient::Told(tell) => {
                let entry = match tell {
                    Tell::Close => ChatEntry::Highlight(tell.text()),
                    _ => ChatEntry::Refused(tell.text()),
                };
                out.log.write(AddToChatLog(entry));
            }
            QuizToClient::Reshuffled => out.notice(t!("quiz-reshuffled")),
            QuizToClient::Album(entries) => {
                // Never more than a server keeps, whatever one sends.
                view.album = entries.iter().take(MAX_SHELVED).cloned().collect();
            }
            QuizToClient::RoomWords { count } => on_room_words(&mut view, *count, &roster, &mut out),
            QuizToClient::Liked { by, count } => on_liked(&mut view, *by, *count, &roster, &mut out),
            QuizToClient::TimeCut { ms_left } => on_time_cut(&mut view, *ms_left, now, &mut out),
            QuizToClient::Over { early, standings } => on_over(&mut view, *early, standings, now, &mut out),
            QuizToClient::Refused(why) => {
                out.log.write(AddToChatLog(ChatEntry::Refused(why.describe())));
            }
        }
    }
}

/// A new view of the game: announces a game's start, each turn's drawer, a watched turn's end.
fn on_state(view: &mut QuizView, state: &GameView, roster: &Roster, now: Duration, out: &mut Follow) {
    let before = view.game.as_ref().map(|g| g.phase.clone());
    if before.is_none() {
        view.last_game = None;
    }
    view.deadline = now + Duration::from_millis(state.phase.ms_left() as u64);
    match (&before, &state.phase) {
        (Some(PhaseView::Choosing { drawer: was, .. }), PhaseView::Choosing { drawer, .. })
            if was == drawer => {}
        (_, PhaseView::Choosing { drawer, .. }) => {
            view.likes = Likes::default();
            let fresh = before.is_none() && state.round == 1 && state.scores.iter().all(|(_, p)| *p == 0);
            if fresh {
                out.highlight(t!("quiz-game-begins", rounds = state.settings.rounds));
            }
            if Some(*drawer) == roster.me {
                view.banner(now, Banner::YourTurn);
            }
            out.notice(t!(
                "quiz-round-choosing",
                round = state.round,
                name = roster.display_name(*drawer)
            ));
        }
        // A turn this player watched ended (not one they joined at its reveal).
        (Some(PhaseView::Drawing { .. }), PhaseView::Reveal { word, drawer, .. }) => {
            out.highlight(t!("quiz-banner-word-was", word = word.clone()));
            view.banner(now, Banner::Reveal { word: word.clone() });
            out.turn_ended.write(TurnEnded {
                word: word.clone(),
                drawer: *drawer,
            });
        }
        _ => {}
    }
    view.game = Some(state.clone());
}

/// A hint: the drawing's mask shows more of the word (ignored outside a drawing).
fn on_hint(view: &mut QuizView, mask: &str, out: &mut Follow) {
    if let Some(GameView {
        phase: PhaseView::Drawing { mask: shown, .. },
        ..
    }) = &mut view.game
    {
        mask.clone_into(shown);
        out.notice(t!("quiz-hint", mask = mask.to_owned()));
    }
}

/// The host set or cleared the room's own words.
fn on_room_words(view: &mut QuizView, count: u32, roster: &Roster, out: &mut Follow) {
    view.room_words = count;
    let name = roster
        .host
        .map_or(t!("quiz-the-host-capital"), |id| roster.display_name(id));
    out.notice(match count {
        0 => t!("quiz-room-words-cleared", name = name),
        n => t!("quiz-room-words-given", name = name, count = n),
    });
}

/// Someone liked the drawing: the count, whether it is this player's like, and a notice for
/// its drawer.
fn on_liked(view: &mut QuizView, by: ClientId, count: u32, roster: &Roster, out: &mut Follow) {
    view.likes.count = count;
    if Some(by) == roster.me {
        view.likes.mine = true;
    }
    let drawing = view.game.as_ref().map(|g| g.phase.drawer());
    if drawing.is_some() && drawing == roster.me {
        out.notice(t!("quiz-likes-yours", name = roster.display_name(by)));
    }
}

/// The first find cut the drawing's time: the deadline only ever comes sooner.
fn on_time_cut(view: &mut QuizView, ms_left: u32, now: Duration, out: &mut Follow) {
    if let Some(GameView {
        phase: PhaseView::Drawing { ms_left: shown, .. },
        ..
    }) = &mut view.game
    {
        *shown = ms_left.min(*shown);
        let left = Duration::from_millis((*shown).into());
        view.deadline = view.deadline.min(now + left);
        out.notice(t!(
            "quiz-time-cut-notice",
            secs = left.as_secs_f32().ceil() as u32
        ));
    }
}

fn on_guessed(
    view: &mut QuizView,
    who: ClientId,
    name: &str,
    points: u32,
    me: Option<ClientId>,
    now: Duration,
    out: &mut Follow,
) {
    let me = Some(who) == me;
    if let Some(game) = &mut view.game {
        match game.scores.iter_mut().find(|(id, _)| *id == who) {
            Some((_, score)) => *score = score.saturating_add(points),
            None => game.scores.push((who, points)),
        }
        if let PhaseView::Drawing { guessed, .. } = &mut game.phase
            && !guessed.contains(&who)
        {
            guessed.push(who);
        }
    }
    out.highlight(found_word_text(name, points, me));
    let banner = Banner::Guessed {
        name: name.to_owned(),
        points,
        me,
    };
    view.banner(now, banner);
}

fn on_over(view: &mut QuizView, early: bool, standings: &[Standing], now: Duration, out: &mut Follow) {
    view.game = None;
    view.last_game = Some((early, standings.to_vec()));
    view.banner(now, Banner::GameOver { early });
    if early {
        out.notice(t!("quiz-ended-early"));
    }
    if let Some(best) = standings.first().map(|s| s.points) {
        let winners: Vec<&str> = standings
            .iter()
            .take_while(|s| s.points == best)
            .map(|s| s.name.as_str())
            .collect();
        let text = match winners.as_slice() {
            [one] => t!("quiz-winner", name = one.to_string(), points = best),
            many => t!("quiz-tie", points = best, names = many.join(", ")),
        };
        out.highlight(text);
    }
}
