//! Catch Mind rounds: word, drawer, guesses, hints and scores, decided by the server.
//!
//! The rules are plain Rust: comparing guesses with the word (`text`), the word packs
//! (`words`), settings and scoring (`scoring`) and a room's game as a state machine (`game`).
//! This file holds the wire types and the thin systems around them. The server keeps a
//! [`RoomGame`] on each room that plays; what each player is told is built per viewer by
//! [`view_for`], the one place that decides who may see the word. Each client keeps a
//! [`QuizView`] for the UI.

pub mod game;
pub mod scoring;
pub mod text;
pub mod ui;
pub mod words;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bevy::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

pub use game::{Event, Game, Guess, Phase, Timing};
pub use scoring::Settings;
pub use words::Pack;

use crate::plugins::GameSystems;
use crate::plugins::canvas::{CanvasToClient, RoomCanvas};
use crate::plugins::chat::{ChatEntry, ChatHistory, ChatLine, ChatLog, ChatToClient, GameChat, Said};
use crate::plugins::net::{ConnectionEnded, FromClient, FromServer, NetServer, Recipients, ToClients};
use crate::plugins::rooms::{Player, PlayerJoined, PlayerLeft, Room, RoomIndex, Roster, Welcome};
use crate::protocol::{ClientId, ClientMsg, ServerMsg};

pub fn plugin(app: &mut App) {
    app.init_resource::<QuizConfig>()
        .init_resource::<QuizView>()
        .add_message::<TurnEnded>()
        .add_systems(
            Update,
            (
                (
                    offer_joiners,
                    leave_games,
                    handle_requests,
                    route_guesses,
                    tick_games,
                )
                    .chain()
                    .run_if(resource_exists::<NetServer>),
                follow_game,
            )
                .in_set(GameSystems::Quiz),
        );
}

// ---------------------------------------------------------------------------------------------
// Wire

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum QuizToServer {
    /// The host starts a game with these settings (clamped by the server).
    Start(Settings),
    /// The drawer picks one of the offered words.
    Choose(u8),
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
    /// The game is over (`early`: too few players left); the room is back in the lobby.
    Over { early: bool, standings: Vec<Standing> },
    /// Your request was refused, and why.
    Refused(String),
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
    /// Withheld: it contains the word without being it.
    ContainsWord,
    /// Withheld, and the sender cannot score in this turn any more: too many messages
    /// containing the word.
    Barred,
    /// Withheld: the drawer may not give the word away.
    DrawerLeak,
}

impl Tell {
    pub fn text(self) -> &'static str {
        match self {
            Tell::Close => "So close! One letter off.",
            Tell::ContainsWord => "Not sent: your message contains the word. Type the word alone to guess.",
            Tell::Barred => {
                "Not sent: after three messages containing the word, you cannot score in this turn."
            }
            Tell::DrawerLeak => "Not sent: you are drawing, so you cannot give the word away in chat.",
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

impl From<QuizToClient> for ServerMsg {
    fn from(msg: QuizToClient) -> Self {
        ServerMsg::Quiz(msg)
    }
}

impl From<QuizToServer> for ClientMsg {
    fn from(msg: QuizToServer) -> Self {
        ClientMsg::Quiz(msg)
    }
}

// ---------------------------------------------------------------------------------------------
// What each player may see

/// The game as `viewer` may see it at `now`: the word only for its drawer, for those who
/// found it, and for everyone once the turn is over.
pub fn view_for(game: &Game, viewer: ClientId, now: Duration) -> Option<GameView> {
    let left = |until: Duration| until.saturating_sub(now).as_millis().min(u32::MAX as u128) as u32;
    let phase = match &game.phase {
        Phase::Choosing {
            drawer,
            options,
            until,
        } => PhaseView::Choosing {
            drawer: *drawer,
            options: if viewer == *drawer {
                options.clone()
            } else {
                Vec::new()
            },
            ms_left: left(*until),
        },
        Phase::Drawing(turn) => PhaseView::Drawing {
            drawer: turn.drawer,
            word: (viewer == turn.drawer || turn.has_guessed(viewer)).then(|| turn.word.clone()),
            mask: turn.mask(),
            guessed: turn.guessed.iter().map(|(id, _)| *id).collect(),
            ms_left: left(turn.until),
        },
        Phase::Reveal {
            drawer,
            word,
            points,
            until,
        } => PhaseView::Reveal {
            drawer: *drawer,
            word: word.clone(),
            points: points.clone(),
            ms_left: left(*until),
        },
        Phase::Over => return None,
    };
    Some(GameView {
        settings: game.settings,
        round: game.round,
        // The players in the room (the leaderboard at the end has those who left, too).
        scores: game.present_scores(),
        phase,
    })
}

/// Groups the players by the view they get, so each distinct view is encoded once.
fn views(game: &Game, members: &[ClientId], now: Duration) -> Vec<(GameView, Vec<ClientId>)> {
    let mut groups: Vec<(GameView, Vec<ClientId>)> = Vec::new();
    for &id in members {
        let Some(view) = view_for(game, id, now) else {
            continue;
        };
        match groups.iter_mut().find(|(v, _)| *v == view) {
            Some((_, ids)) => ids.push(id),
            None => groups.push((view, vec![id])),
        }
    }
    groups
}

// ---------------------------------------------------------------------------------------------
// Server

/// How the server runs games.
#[derive(Resource, Clone, Debug, Default)]
pub struct QuizConfig {
    pub timing: Timing,
    /// The server's `--words FILE`, offered as the custom pack.
    pub custom_words: Option<Arc<Vec<String>>>,
}

/// A room's game in progress (server side); removed when the game ends.
#[derive(Component)]
pub struct RoomGame {
    pub game: Game,
    rng: StdRng,
    /// Everyone who played, for the leaderboard (leavers included).
    names: HashMap<ClientId, String>,
}

/// What the quiz systems send.
#[derive(bevy::ecs::system::SystemParam)]
struct QuizOut<'w, 's> {
    commands: Commands<'w, 's>,
    quiz: MessageWriter<'w, ToClients<QuizToClient>>,
    chat: MessageWriter<'w, ToClients<ChatToClient>>,
    canvas: MessageWriter<'w, ToClients<CanvasToClient>>,
}

impl QuizOut<'_, '_> {
    fn quiz(&mut self, to: Vec<ClientId>, msg: QuizToClient) {
        if !to.is_empty() {
            self.quiz.write(ToClients {
                to: Recipients::Many(to),
                msg,
            });
        }
    }

    fn one(&mut self, to: ClientId, msg: QuizToClient) {
        self.quiz.write(ToClients {
            to: Recipients::One(to),
            msg,
        });
    }

    fn canvas(&mut self, to: &[ClientId], msgs: Vec<CanvasToClient>) {
        for msg in msgs {
            self.canvas.write(ToClients {
                to: Recipients::Many(to.to_vec()),
                msg,
            });
        }
    }
}

/// Tells the room what the game's events mean: views, hints, scores, the pen, the end.
fn dispatch(
    events: Vec<Event>,
    room_entity: Entity,
    room: &Room,
    game: &mut RoomGame,
    mut canvas: Option<&mut RoomCanvas>,
    now: Duration,
    out: &mut QuizOut,
) {
    if events.is_empty() {
        return;
    }
    let members: Vec<ClientId> = room.members().collect();
    let mut phase_changed = false;
    for event in events {
        match event {
            Event::Choosing { .. } => {
                // A fresh board for each turn; at the first, the free drawing stays until the
                // drawer starts (so each player's window can still save it).
                let clear = !game.game.is_first_turn();
                if let Some(canvas) = canvas.as_deref_mut() {
                    out.canvas(&members, canvas.lock_to(None, clear, now));
                }
                phase_changed = true;
            }
            Event::Drawing { drawer, .. } => {
                if let Some(canvas) = canvas.as_deref_mut() {
                    out.canvas(&members, canvas.lock_to(Some(drawer), true, now));
                }
                phase_changed = true;
            }
            Event::TurnOver { drawer, word, points } => {
                if let Some(canvas) = canvas.as_deref_mut() {
                    out.canvas(&members, canvas.lock_to(None, false, now));
                }
                if game.game.phase == Phase::Over {
                    // The game ended with this turn (too few players left): reveal the word
                    // before the leaderboard.
                    let view = GameView {
                        settings: game.game.settings,
                        round: game.game.round,
                        scores: game.game.present_scores(),
                        phase: PhaseView::Reveal {
                            drawer,
                            word,
                            points,
                            ms_left: 0,
                        },
                    };
                    out.quiz(members.clone(), QuizToClient::State(view));
                }
                phase_changed = true;
            }
            Event::Hint { mask } => {
                let insiders = game.game.insiders();
                let guessers = members
                    .iter()
                    .copied()
                    .filter(|id| !insiders.contains(id))
                    .collect();
                out.quiz(guessers, QuizToClient::Hint { mask });
            }
            Event::Guessed { who, points } => {
                let name = game.names.get(&who).cloned().unwrap_or_default();
                out.quiz(members.clone(), QuizToClient::Guessed { who, name, points });
                // The finder is told the word (and the others' view did not change).
                if let Some(view) = view_for(&game.game, who, now) {
                    out.one(who, QuizToClient::State(view));
                }
            }
            Event::Reshuffled => out.quiz(members.clone(), QuizToClient::Reshuffled),
            Event::GameOver { early } => {
                let mut standings: Vec<Standing> = game
                    .game
                    .scores
                    .iter()
                    .map(|(&id, &points)| Standing {
                        id,
                        name: game.names.get(&id).cloned().unwrap_or_default(),
                        points,
                        present: room.contains(id),
                    })
                    .collect();
                standings.sort_by(|a, b| b.points.cmp(&a.points).then(b.present.cmp(&a.present)));
                standings.truncate(MAX_STANDINGS);
                out.quiz(members.clone(), QuizToClient::Over { early, standings });
                if let Some(canvas) = canvas.as_deref_mut() {
                    out.canvas(&members, canvas.unlock());
                }
                out.commands
                    .entity(room_entity)
                    .try_remove::<(RoomGame, GameChat)>();
                return;
            }
        }
    }
    if phase_changed {
        for (view, to) in views(&game.game, &members, now) {
            out.quiz(to, QuizToClient::State(view));
        }
    }
}

fn offer_joiners(
    time: Res<Time<Real>>,
    config: Res<QuizConfig>,
    mut joined: MessageReader<PlayerJoined>,
    mut rooms: Query<&mut RoomGame>,
    mut out: MessageWriter<ToClients<QuizToClient>>,
) {
    let custom_words = config.custom_words.as_ref().map_or(0, |w| w.len() as u32);
    for PlayerJoined { client, name, room } in joined.read() {
        out.write(ToClients {
            to: Recipients::One(*client),
            msg: QuizToClient::Offer { custom_words },
        });
        let Ok(mut game) = rooms.get_mut(*room) else {
            continue;
        };
        game.game.join(*client);
        game.names.insert(*client, name.clone());
        if let Some(view) = view_for(&game.game, *client, time.elapsed()) {
            out.write(ToClients {
                to: Recipients::One(*client),
                msg: QuizToClient::State(view),
            });
        }
    }
}

fn leave_games(
    time: Res<Time<Real>>,
    mut left: MessageReader<PlayerLeft>,
    mut rooms: Query<(&Room, &mut RoomGame, Option<&mut RoomCanvas>)>,
    mut out: QuizOut,
) {
    let now = time.elapsed();
    for PlayerLeft { client, room, .. } in left.read() {
        let Ok((room_data, mut game, canvas)) = rooms.get_mut(*room) else {
            continue;
        };
        let game = &mut *game;
        let events = game.game.leave(*client, now, &mut game.rng);
        if !game.game.scores.contains_key(client) {
            game.names.remove(client);
        }
        dispatch(
            events,
            *room,
            room_data,
            game,
            canvas.map(Mut::into_inner),
            now,
            &mut out,
        );
    }
}

fn handle_requests(
    time: Res<Time<Real>>,
    config: Res<QuizConfig>,
    index: Res<RoomIndex>,
    players: Query<&Player>,
    mut rooms: Query<(&Room, Option<&mut RoomGame>, Option<&mut RoomCanvas>)>,
    mut requests: MessageReader<FromClient<QuizToServer>>,
    mut out: QuizOut,
) {
    let now = time.elapsed();
    // Rooms whose game starts in this run: it is attached only once the system is done.
    let mut started: Vec<Entity> = Vec::new();
    for FromClient { client, msg } in requests.read() {
        let Some(player) = index.player(*client).and_then(|e| players.get(e).ok()) else {
            continue;
        };
        let Ok((room, game, canvas)) = rooms.get_mut(player.room) else {
            continue;
        };
        let refuse = |out: &mut QuizOut, why: String| out.one(*client, QuizToClient::Refused(why));
        match (msg, game) {
            (QuizToServer::Start(_), game) if game.is_some() || started.contains(&player.room) => {
                refuse(&mut out, "a game is already running".into())
            }
            (QuizToServer::Start(settings), _) => {
                if room.host() != Some(*client) {
                    refuse(&mut out, "only the room's host can start a game".into());
                    continue;
                }
                let words = match (settings.pack, &config.custom_words) {
                    (Pack::Custom, Some(words)) => words.to_vec(),
                    (Pack::Custom, None) => {
                        refuse(&mut out, "this server has no custom word list".into());
                        continue;
                    }
                    (pack, _) => words::builtin(pack),
                };
                let mut rng = StdRng::from_os_rng();
                let members: Vec<ClientId> = room.members().collect();
                let bag = words::WordBag::new(words);
                match Game::start(*settings, config.timing, &members, bag, &mut rng, now) {
                    Ok((game, events)) => {
                        let names = members
                            .iter()
                            .filter_map(|&id| Some((id, room.name_of(id)?.to_owned())))
                            .collect();
                        let mut game = RoomGame { game, rng, names };
                        info!(
                            "room {}: game started ({} players, {:?})",
                            room.name,
                            members.len(),
                            game.game.settings
                        );
                        dispatch(
                            events,
                            player.room,
                            room,
                            &mut game,
                            canvas.map(Mut::into_inner),
                            now,
                            &mut out,
                        );
                        out.commands.entity(player.room).try_insert((game, GameChat));
                        started.push(player.room);
                    }
                    Err(why) => refuse(&mut out, why.to_string()),
                }
            }
            (QuizToServer::Choose(_), None) => refuse(&mut out, "no game is running".into()),
            (QuizToServer::Choose(index), Some(mut game)) => {
                let game = &mut *game;
                match game.game.choose(*client, *index as usize, now) {
                    Ok(events) => dispatch(
                        events,
                        player.room,
                        room,
                        game,
                        canvas.map(Mut::into_inner),
                        now,
                        &mut out,
                    ),
                    Err(why) => refuse(&mut out, why.to_string()),
                }
            }
        }
    }
}

/// What routing a guess needs of its room.
type GuessRoom = (
    &'static Room,
    Option<&'static mut RoomGame>,
    Option<&'static mut RoomCanvas>,
    Option<&'static mut ChatHistory>,
);

/// Chat in a room that plays: a guess may score, be close, or be withheld; the drawer's and
/// the finders' lines stay among them.
fn route_guesses(
    time: Res<Time<Real>>,
    mut said: MessageReader<Said>,
    mut rooms: Query<GuessRoom>,
    mut out: QuizOut,
) {
    let now = time.elapsed();
    for Said {
        room: room_entity,
        line,
    } in said.read()
    {
        let Ok((room, game, canvas, history)) = rooms.get_mut(*room_entity) else {
            continue;
        };
        let public = |out: &mut QuizOut, history: Option<Mut<ChatHistory>>, line: &ChatLine| {
            if let Some(mut history) = history {
                history.push(line.clone());
            }
            out.chat.write(ToClients {
                to: Recipients::Many(room.members().collect()),
                msg: ChatToClient::Line(line.clone()),
            });
        };
        let Some(mut game) = game else {
            // The game ended in this frame: an ordinary line.
            public(&mut out, history, line);
            continue;
        };
        let game = &mut *game;
        let insiders = game.game.insiders();
        let (verdict, events) = game.game.guess(line.from, &line.text, now);
        match verdict {
            Guess::Chat => public(&mut out, history, line),
            Guess::Close => {
                public(&mut out, history, line);
                out.one(line.from, QuizToClient::Told(Tell::Close));
            }
            Guess::PrivateChat => {
                let to: Vec<ClientId> = insiders.into_iter().filter(|&id| room.contains(id)).collect();
                out.chat.write(ToClients {
                    to: Recipients::Many(to),
                    msg: ChatToClient::Private(line.clone()),
                });
            }
            Guess::Correct { .. } => {}
            Guess::ContainsWord { barred: false } => {
                out.one(line.from, QuizToClient::Told(Tell::ContainsWord))
            }
            Guess::ContainsWord { barred: true } | Guess::Barred => {
                out.one(line.from, QuizToClient::Told(Tell::Barred))
            }
            Guess::DrawerLeak => out.one(line.from, QuizToClient::Told(Tell::DrawerLeak)),
        }
        dispatch(
            events,
            *room_entity,
            room,
            game,
            canvas.map(Mut::into_inner),
            now,
            &mut out,
        );
    }
}

fn tick_games(
    time: Res<Time<Real>>,
    mut rooms: Query<(Entity, &Room, &mut RoomGame, Option<&mut RoomCanvas>)>,
    mut out: QuizOut,
) {
    let now = time.elapsed();
    for (entity, room, mut game, canvas) in &mut rooms {
        let game = &mut *game;
        let events = game.game.tick(now, &mut game.rng);
        dispatch(
            events,
            entity,
            room,
            game,
            canvas.map(Mut::into_inner),
            now,
            &mut out,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Client

/// This client's view of the room's game, for the UI.
#[derive(Resource, Debug, Default)]
pub struct QuizView {
    /// How many words the server's custom pack has (0: none).
    pub custom_words: u32,
    /// The game in progress, as the server last described it.
    pub game: Option<GameView>,
    /// When the current phase ends, on this app's `Time<Real>` clock.
    pub deadline: Duration,
    /// The last game's leaderboard, until the next game starts.
    pub last_game: Option<(bool, Vec<Standing>)>,
    /// Announcements to show prominently, newest last, with the time they came.
    pub banners: VecDeque<(Duration, Banner)>,
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

fn follow_game(
    time: Res<Time<Real>>,
    roster: Res<Roster>,
    mut view: ResMut<QuizView>,
    mut log: ResMut<ChatLog>,
    mut welcomes: MessageReader<FromServer<Welcome>>,
    mut incoming: MessageReader<FromServer<QuizToClient>>,
    mut ended: MessageReader<ConnectionEnded>,
    mut turn_ended: MessageWriter<TurnEnded>,
) {
    let now = time.elapsed();
    if welcomes.read().last().is_some() || ended.read().last().is_some() {
        *view = QuizView::default();
    }
    let name = |id: ClientId| roster.name_of(id).unwrap_or("someone").to_owned();
    for FromServer(msg) in incoming.read() {
        match msg {
            QuizToClient::Offer { custom_words } => view.custom_words = *custom_words,
            QuizToClient::State(state) => {
                let before = view.game.as_ref().map(|g| g.phase.clone());
                if before.is_none() {
                    view.last_game = None;
                }
                view.deadline = now + Duration::from_millis(state.phase.ms_left() as u64);
                match (&before, &state.phase) {
                    (Some(PhaseView::Choosing { drawer: was, .. }), PhaseView::Choosing { drawer, .. })
                        if was == drawer => {}
                    (_, PhaseView::Choosing { drawer, .. }) => {
                        let fresh =
                            before.is_none() && state.round == 1 && state.scores.iter().all(|(_, p)| *p == 0);
                        if fresh {
                            let rounds = state.settings.rounds;
                            log.push(ChatEntry::Highlight(format!(
                                "The game begins: {rounds} round{}.",
                                if rounds == 1 { "" } else { "s" }
                            )));
                        }
                        if Some(*drawer) == roster.me {
                            view.banner(now, Banner::YourTurn);
                        }
                        log.notice(format!(
                            "Round {}: {} is choosing a word.",
                            state.round,
                            name(*drawer)
                        ));
                    }
                    // A turn this player watched ended (not one they joined at its reveal).
                    (Some(PhaseView::Drawing { .. }), PhaseView::Reveal { word, drawer, .. }) => {
                        log.push(ChatEntry::Highlight(format!("The word was: {word}")));
                        view.banner(now, Banner::Reveal { word: word.clone() });
                        turn_ended.write(TurnEnded {
                            word: word.clone(),
                            drawer: *drawer,
                        });
                    }
                    _ => {}
                }
                view.game = Some(state.clone());
            }
            QuizToClient::Hint { mask } => {
                if let Some(GameView {
                    phase: PhaseView::Drawing { mask: shown, .. },
                    ..
                }) = &mut view.game
                {
                    shown.clone_from(mask);
                    log.notice(format!("Hint: {mask}"));
                }
            }
            QuizToClient::Guessed { who, name, points } => {
                if roster.name_of(*who).is_none() {
                    // Not in this room (whatever a server sends, the lists stay bounded).
                    continue;
                }
                let me = Some(*who) == roster.me;
                if let Some(game) = &mut view.game {
                    match game.scores.iter_mut().find(|(id, _)| id == who) {
                        Some((_, score)) => *score = score.saturating_add(*points),
                        None => game.scores.push((*who, *points)),
                    }
                    if let PhaseView::Drawing { guessed, .. } = &mut game.phase
                        && !guessed.contains(who)
                    {
                        guessed.push(*who);
                    }
                }
                let text = if me {
                    format!("You guessed the word! +{points}")
                } else {
                    format!("{name} guessed the word! +{points}")
                };
                log.push(ChatEntry::Highlight(text));
                view.banner(
                    now,
                    Banner::Guessed {
                        name: name.clone(),
                        points: *points,
                        me,
                    },
                );
            }
            QuizToClient::Told(tell) => match tell {
                Tell::Close => log.push(ChatEntry::Highlight(tell.text().into())),
                _ => log.push(ChatEntry::Refused(tell.text().into())),
            },
            QuizToClient::Reshuffled => {
                log.notice("Every word of the pack has come up: it was shuffled again.")
            }
            QuizToClient::Over { early, standings } => {
                view.game = None;
                view.last_game = Some((*early, standings.clone()));
                view.banner(now, Banner::GameOver { early: *early });
                if *early {
                    log.notice("The game ended early: fewer than two players are left.");
                }
                if let Some(best) = standings.first().map(|s| s.points) {
                    let winners: Vec<&str> = standings
                        .iter()
                        .take_while(|s| s.points == best)
                        .map(|s| s.name.as_str())
                        .collect();
                    let text = match winners.as_slice() {
                        [one] => format!("Game over! {one} wins with {best} points."),
                        many => format!("Game over! A tie at {best} points: {}.", many.join(", ")),
                    };
                    log.push(ChatEntry::Highlight(text));
                }
            }
            QuizToClient::Refused(why) => {
                log.push(ChatEntry::Refused(why.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    const A: ClientId = ClientId(1);
    const B: ClientId = ClientId(2);
    const C: ClientId = ClientId(3);

    fn bytes(view: &GameView) -> Vec<u8> {
        codec::encode(&ServerMsg::Quiz(QuizToClient::State(view.clone()))).unwrap()
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn only_the_drawer_and_finders_see_the_word_until_the_reveal() {
        let mut rng = StdRng::seed_from_u64(5);
        let bag = words::WordBag::new(vec!["해바라기".into(), "망원경".into(), "오토바이".into()]);
        let settings = Settings {
            hints: true,
            ..Settings::default()
        };
        let s = Duration::from_secs;
        let (mut game, _) =
            Game::start(settings, Timing::default(), &[A, B, C], bag, &mut rng, s(0)).unwrap();
        let drawer = game.drawer().unwrap();
        let guessers: Vec<ClientId> = [A, B, C].into_iter().filter(|&id| id != drawer).collect();
        let Phase::Choosing { options, .. } = game.phase.clone() else {
            panic!()
        };
        for word in &options {
            assert!(contains(&bytes(&view_for(&game, drawer, s(1)).unwrap()), word));
            for &g in &guessers {
                assert!(!contains(&bytes(&view_for(&game, g, s(1)).unwrap()), word));
            }
        }
        game.choose(drawer, 1, s(2)).unwrap();
        let word = options[1].clone();
        // Hints over the whole turn never give the word away.
        for t in 2..80 {
            game.tick(s(t), &mut rng);
            for &g in &guessers {
                assert!(!contains(&bytes(&view_for(&game, g, s(t)).unwrap()), &word));
            }
        }
        assert!(contains(&bytes(&view_for(&game, drawer, s(3)).unwrap()), &word));
        game.guess(guessers[0], &word, s(70));
        assert!(contains(
            &bytes(&view_for(&game, guessers[0], s(70)).unwrap()),
            &word
        ));
        assert!(!contains(
            &bytes(&view_for(&game, guessers[1], s(70)).unwrap()),
            &word
        ));
        game.tick(s(82), &mut rng);
        assert!(contains(
            &bytes(&view_for(&game, guessers[1], s(82)).unwrap()),
            &word
        ));
        let groups = views(&game, &[A, B, C], s(82));
        assert_eq!(groups.len(), 1, "one reveal for everyone");
    }

    #[test]
    fn the_largest_view_fits_in_a_frame() {
        let big = "\u{10FFFF}".repeat(words::MAX_WORD_CHARS);
        let view = GameView {
            settings: Settings::default(),
            round: 10,
            scores: (0..64).map(|i| (ClientId(u32::MAX - i), u32::MAX)).collect(),
            phase: PhaseView::Reveal {
                drawer: A,
                word: big.clone(),
                points: (0..64).map(|i| (ClientId(u32::MAX - i), u32::MAX)).collect(),
                ms_left: u32::MAX,
            },
        };
        assert!(bytes(&view).len() <= codec::MAX_FRAME_LEN);
        let over = QuizToClient::Over {
            early: false,
            standings: (0..64)
                .map(|i| Standing {
                    id: ClientId(i),
                    name: "\u{10FFFF}".repeat(24),
                    points: u32::MAX,
                    present: true,
                })
                .collect(),
        };
        assert!(codec::encode(&ServerMsg::Quiz(over)).unwrap().len() <= codec::MAX_FRAME_LEN);
    }
}
