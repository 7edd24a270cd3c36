//! Games on the server: a [`RoomGame`] on every room, running a [`Game`] while the room
//! plays. The systems are thin: they feed the game requests, guesses, joins, leaves and the
//! clock, and tell the room what its events mean through the quiz's own messages and the
//! chat's and canvas's ([`PublishLine`], [`LockPen`], the [`HandOverLines`] marker).
//! Who is in a game (joins, role changes, leaves, dropped connections) is kept in `members`,
//! what players ask of it (a start, the room's words, a like, a choice) in `requests`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bevy::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::game::{Event, Game, Guess, Phase, Timing};
use super::scoring::Settings;
use super::view::{MAX_VIEW_FINDERS, shown_points, view_for, views};
use super::wire::{
    AlbumEntry, GameView, MAX_STANDINGS, PhaseView, QuizRefusal, QuizToClient, QuizToServer, Standing, Tell,
};
use super::words::{self, Pack};
use crate::id::ClientId;
use crate::plugins::canvas::album::MAX_SHELVED;
use crate::plugins::canvas::{ArchiveDrawing, LockPen, PenLock};
use crate::plugins::chat::{Audience, ChatLine, HandOverLines, LineSaid, PublishLine};
use crate::plugins::net::{Draining, FromClient, ServerWake, ToClients, address_key};
use crate::plugins::rooms::{
    DrainHold, Player, PlayerAway, PlayerJoined, PlayerLeft, RoleChanged, Room, RoomActivity, RoomIndex,
};
use crate::plugins::{LogicSystems, Side};

mod members;
mod requests;

use members::{change_roles_in_games, hold_for_the_away, leave_games, offer_joiners};
use requests::handle_requests;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<QuizConfig>()
        .init_resource::<AlbumKeys>()
        // Every room can hold a game and its own words, from the moment it is made.
        .register_required_components::<Room, RoomGame>()
        .register_required_components::<Room, RoomWords>()
        .add_systems(
            Update,
            (
                offer_joiners.run_if(on_message::<PlayerJoined>),
                change_roles_in_games.run_if(on_message::<RoleChanged>),
                leave_games.run_if(on_message::<PlayerLeft>),
                hold_for_the_away.run_if(on_message::<PlayerAway>),
                handle_requests.run_if(on_message::<FromClient<QuizToServer>>),
                route_guesses.run_if(on_message::<LineSaid>),
                tick_games,
                finish_games_for_the_drain.run_if(resource_exists::<Draining>),
                describe_rooms,
            )
                .chain()
                .in_set(LogicSystems::Quiz)
                .in_set(Side::Server),
        )
        .add_systems(Last, record_figures.in_set(Side::Server));
}

/// How the server runs games.
#[derive(Resource, Clone, Debug, Default)]
pub struct QuizConfig {
    pub timing: Timing,
    /// The server's `--words FILE`, offered as the custom pack.
    pub custom_words: Option<Arc<Vec<String>>>,
}

/// A room's own words, set by its host (they live with the room, not the server).
#[derive(Component, Default)]
pub struct RoomWords {
    pub words: Arc<Vec<String>>,
    /// When the room may send lists again at its full burst: every list asked for counts,
    /// taken or refused (a generic cell rate: one list per [`ROOM_WORDS_EVERY`], two at once).
    lists_due: Duration,
}

/// How often a host may send the room's words, after a first two at once (a typo fixed): a
/// 48 KiB list costs the server a parse, whether it is taken or refused.
pub const ROOM_WORDS_EVERY: Duration = Duration::from_secs(2);
const ROOM_WORDS_BURST: u32 = 2;

impl RoomWords {
    /// Counts a list asked for at `now`; false when the room asks too often.
    pub(super) fn may_ask(&mut self, now: Duration) -> bool {
        let due = self.lists_due.max(now);
        if due - now > ROOM_WORDS_EVERY * (ROOM_WORDS_BURST - 1) {
            return false;
        }
        self.lists_due = due + ROOM_WORDS_EVERY;
        true
    }
}

/// A room's game, while one runs (server side).
#[derive(Component, Default)]
pub struct RoomGame(pub Option<GameSession>);

/// A running game and what the server keeps beside it.
pub struct GameSession {
    pub game: Game,
    rng: StdRng,
    /// Everyone who played, for the leaderboard (leavers included).
    names: HashMap<ClientId, String>,
    /// The game's turns so far, for its album (the canvas keeps the drawings).
    album: Vec<AlbumEntry>,
}

/// Keys for the album's drawings, unique on the server.
#[derive(Resource, Default)]
struct AlbumKeys(u32);

/// What the quiz systems send: their own messages, and requests to chat and canvas.
#[derive(bevy::ecs::system::SystemParam)]
struct QuizOut<'w, 's> {
    commands: Commands<'w, 's>,
    quiz: MessageWriter<'w, ToClients<QuizToClient>>,
    lines: MessageWriter<'w, PublishLine>,
    pen: MessageWriter<'w, LockPen>,
    archive: MessageWriter<'w, ArchiveDrawing>,
    keys: ResMut<'w, AlbumKeys>,
}

impl QuizOut<'_, '_> {
    fn quiz(&mut self, to: Vec<ClientId>, msg: QuizToClient) {
        if !to.is_empty() {
            self.quiz.write(ToClients::many(to, msg));
        }
    }

    fn one(&mut self, to: ClientId, msg: QuizToClient) {
        self.quiz.write(ToClients::one(to, msg));
    }

    fn lock(&mut self, room: Entity, lock: PenLock) {
        self.pen.write(LockPen { room, lock });
    }

    fn publish(&mut self, room: Entity, line: &ChatLine, audience: Audience) {
        self.lines.write(PublishLine {
            room,
            line: line.clone(),
            audience,
        });
    }
}

/// The room a game's events happen in.
struct At<'a> {
    entity: Entity,
    room: &'a Room,
    now: Duration,
}

/// Tells the room what the game's events mean: views, hints, scores, the pen, the end.
fn dispatch(events: Vec<Event>, at: &At, slot: &mut RoomGame, out: &mut QuizOut) {
    let Some(session) = slot.0.as_mut() else {
        return;
    };
    if events.is_empty() {
        return;
    }
    let members: Vec<ClientId> = at.room.members().collect();
    let mut phase_changed = false;
    for event in events {
        match event {
            Event::Choosing { .. } => {
                // A fresh board for each turn; at the first, the free drawing stays until the
                // drawer starts (so each player's window can still save it).
                let clear = !session.game.is_first_turn();
                out.lock(at.entity, PenLock::To { drawer: None, clear });
                phase_changed = true;
            }
            Event::Drawing { drawer, .. } => {
                let lock = PenLock::To {
                    drawer: Some(drawer),
                    clear: true,
                };
                out.lock(at.entity, lock);
                phase_changed = true;
            }
            Event::TurnOver {
                drawer,
                word,
                points,
                likes,
            } => {
                close_turn(session, at, &members, drawer, word, points, likes, out);
                phase_changed = true;
            }
            Event::Hint { mask } => out.quiz(guessers(&session.game, &members), QuizToClient::Hint { mask }),
            Event::Guessed { who, points } => announce_find(session, at, &members, who, points, out),
            Event::Reshuffled => out.quiz(members.clone(), QuizToClient::Reshuffled),
            Event::TimeCut { until } => {
                let ms_left = until.saturating_sub(at.now).as_millis().min(u32::MAX.into()) as u32;
                out.quiz(members.clone(), QuizToClient::TimeCut { ms_left });
            }
            Event::GameOver { early } => {
                close_game(session, at, members, early, out);
                slot.0 = None;
                return;
            }
        }
    }
    if phase_changed {
        for (view, to) in views(&session.game, &members, at.now) {
            out.quiz(to, QuizToClient::State(view));
        }
    }
}

/// A turn is over: it goes into the album (the canvas keeps its drawing under the turn's key),
/// nobody draws, and if the game ended with it (too few players left) everyone sees the word
/// before the leaderboard.
fn close_turn(
    session: &mut GameSession,
    at: &At,
    members: &[ClientId],
    drawer: ClientId,
    word: String,
    points: Vec<(ClientId, u32)>,
    likes: u32,
    out: &mut QuizOut,
) {
    out.keys.0 = out.keys.0.wrapping_add(1);
    let key = out.keys.0;
    out.archive.write(ArchiveDrawing { room: at.entity, key });
    let name = |id: &ClientId| session.names.get(id).cloned().unwrap_or_default();
    session.album.push(AlbumEntry {
        key,
        word: word.clone(),
        drawer: name(&drawer),
        found: points
            .iter()
            .filter(|(id, p)| *id != drawer && *p > 0)
            .take(MAX_VIEW_FINDERS)
            .map(|(id, _)| name(id))
            .collect(),
        likes,
    });
    if session.album.len() > MAX_SHELVED {
        session.album.remove(0);
    }
    out.lock(
        at.entity,
        PenLock::To {
            drawer: None,
            clear: false,
        },
    );
    if session.game.phase == Phase::Over {
        let reveal = final_reveal(&session.game, drawer, word, points);
        out.quiz(members.to_vec(), QuizToClient::State(reveal));
    }
}

/// The members who may get a hint: those who do not know the word (the drawer and the
/// finders do).
fn guessers(game: &Game, members: &[ClientId]) -> Vec<ClientId> {
    let insiders = game.insiders();
    members
        .iter()
        .copied()
        .filter(|id| !insiders.contains(id))
        .collect()
}

/// Someone found the word: everyone hears who and for how much; the finder is told the word
/// (and the others' view did not change).
fn announce_find(
    session: &GameSession,
    at: &At,
    members: &[ClientId],
    who: ClientId,
    points: u32,
    out: &mut QuizOut,
) {
    metrics::counter!("catchmind_words_found_total").increment(1);
    let name = session.names.get(&who).cloned().unwrap_or_default();
    out.quiz(members.to_vec(), QuizToClient::Guessed { who, name, points });
    if let Some(view) = view_for(&session.game, who, at.now) {
        out.one(who, QuizToClient::State(view));
    }
}

/// The game is over: the leaderboard and the album for everyone, free drawing again, and the
/// room's chat is the chat's own. The caller empties the room's slot.
fn close_game(session: &mut GameSession, at: &At, members: Vec<ClientId>, early: bool, out: &mut QuizOut) {
    let standings = standings(session, at.room);
    out.quiz(members.clone(), QuizToClient::Over { early, standings });
    let album = std::mem::take(&mut session.album);
    if !album.is_empty() {
        out.quiz(members, QuizToClient::Album(album));
    }
    out.lock(at.entity, PenLock::Unlock);
    out.commands.entity(at.entity).try_remove::<HandOverLines>();
}

/// The reveal of a turn that ended the game: the word for everyone, no time left.
fn final_reveal(game: &Game, drawer: ClientId, word: String, points: Vec<(ClientId, u32)>) -> GameView {
    GameView {
        settings: game.settings,
        round: game.round,
        scores: game.present_scores(),
        phase: PhaseView::Reveal {
            drawer,
            word,
            points: shown_points(&points),
            ms_left: 0,
        },
    }
}

/// The final leaderboard: best first, present players before departed ones on a tie.
fn standings(session: &GameSession, room: &Room) -> Vec<Standing> {
    let mut standings: Vec<Standing> = session
        .game
        .scores
        .iter()
        .map(|(&id, &points)| Standing {
            id,
            name: session.names.get(&id).cloned().unwrap_or_default(),
            points,
            present: room.contains(id),
        })
        .collect();
    standings.sort_by(|a, b| b.points.cmp(&a.points).then(b.present.cmp(&a.present)));
    standings.truncate(MAX_STANDINGS);
    standings
}

/// Chat in a room that plays: a guess may score, be close, or be withheld; the drawer's and
/// the finders' lines stay among them.
fn route_guesses(
    time: Res<Time<Real>>,
    index: Res<RoomIndex>,
    players: Query<&Player>,
    mut said: MessageReader<LineSaid>,
    mut rooms: Query<(&Room, &mut RoomGame)>,
    mut out: QuizOut,
) {
    let now = time.elapsed();
    for LineSaid { room: entity, line } in said.read() {
        let Ok((room, mut slot)) = rooms.get_mut(*entity) else {
            continue;
        };
        let Some(session) = slot.0.as_mut() else {
            // The game ended in this frame: an ordinary line.
            out.publish(*entity, line, Audience::Room);
            continue;
        };
        // Spectators never guess; during a turn only the other spectators read them.
        if room.is_spectator(line.from) {
            let audience = match session.game.phase {
                Phase::Choosing { .. } | Phase::Drawing(_) => Audience::Only(room.spectators().collect()),
                Phase::Reveal { .. } | Phase::Over => Audience::Room,
            };
            out.publish(*entity, line, audience);
            continue;
        }
        let insiders = session.game.insiders();
        let Some(player) = index.player(line.from).and_then(|e| players.get(e).ok()) else {
            continue;
        };
        let from = address_key(player.addr.ip());
        let (verdict, events) = session.game.guess(line.from, from, &line.text, now);
        let tell = |out: &mut QuizOut, tell: Tell| out.one(line.from, QuizToClient::Told(tell));
        match verdict {
            Guess::Chat => out.publish(*entity, line, Audience::Room),
            Guess::Close => {
                out.publish(*entity, line, Audience::Room);
                tell(&mut out, Tell::Close);
            }
            Guess::PrivateChat => out.publish(*entity, line, Audience::Only(insiders)),
            Guess::Correct { .. } => {}
            Guess::ContainsWord => tell(&mut out, Tell::ContainsWord),
            Guess::Barred => tell(&mut out, Tell::Barred),
            Guess::DrawerLeak => tell(&mut out, Tell::DrawerLeak),
            Guess::NextTurn => tell(&mut out, Tell::NextTurn),
            Guess::OneAtATime => tell(&mut out, Tell::OneAtATime),
        }
        let at = At {
            entity: *entity,
            room,
            now,
        };
        dispatch(events, &at, &mut slot, &mut out);
    }
}

/// Runs each game's clock, and asks the server's loop to come back when a game next needs it.
fn tick_games(
    time: Res<Time<Real>>,
    mut rooms: Query<(Entity, &Room, &mut RoomGame)>,
    mut wake: ResMut<ServerWake>,
    mut out: QuizOut,
) {
    let now = time.elapsed();
    for (entity, room, mut slot) in &mut rooms {
        // Looked at first without marking the room changed ([`describe_rooms`] follows changes).
        if slot.0.is_none() {
            continue;
        }
        let Some(session) = slot.0.as_mut() else {
            continue;
        };
        let events = session.game.tick(now, &mut session.rng);
        let at = At { entity, room, now };
        dispatch(events, &at, &mut slot, &mut out);
        if let Some(next) = slot.0.as_ref().and_then(|s| s.game.next_deadline()) {
            wake.at(next);
        }
    }
}

/// What the room list shows of each room: whether a game runs, and the language of the words
/// of its last game.
fn describe_rooms(mut rooms: Query<(&RoomGame, &mut RoomActivity), Changed<RoomGame>>) {
    for (slot, mut activity) in &mut rooms {
        let playing = slot.0.is_some();
        let language = slot.0.as_ref().map(|session| language_of(&session.game.settings));
        let turn = slot
            .0
            .as_ref()
            .is_some_and(|session| matches!(session.game.phase, Phase::Choosing { .. } | Phase::Drawing(_)));
        if activity.playing != playing
            || activity.turn != turn
            || language.is_some_and(|language| activity.language.as_deref() != Some(language))
        {
            activity.playing = playing;
            activity.turn = turn;
            if let Some(language) = language {
                activity.language = Some(language.to_owned());
            }
        }
    }
}

/// The language of a game's words, as the room list names it.
fn language_of(settings: &Settings) -> &'static str {
    match settings.pack {
        _ if settings.room_words >= 100 => "custom",
        Pack::Korean => "ko",
        Pack::English => "en",
        Pack::Custom => "custom",
    }
}

/// Games running, for `/metrics`: counted at most once a second.
fn record_figures(time: Res<Time<Real>>, rooms: Query<&RoomGame>, mut counted_at: Local<Option<Duration>>) {
    let now = time.elapsed();
    if counted_at.is_some_and(|at| now < at + Duration::from_secs(1)) {
        return;
    }
    *counted_at = Some(now);
    let running = rooms.iter().filter(|game| game.0.is_some()).count();
    metrics::gauge!("catchmind_games_running").set(running as f64);
}

/// How long a room stays open after its game ended for a drain, for the final scores.
pub const RESULTS_BEFORE_CLOSING: Duration = Duration::from_secs(5);

/// While the server drains, each game ends after its turn in progress (the drawing and its
/// reveal), and holds its room open until then and [`RESULTS_BEFORE_CLOSING`] after.
fn finish_games_for_the_drain(
    time: Res<Time<Real>>,
    mut rooms: Query<(Entity, &Room, &mut RoomGame, Has<DrainHold>)>,
    mut results_until: Local<HashMap<Entity, Duration>>,
    mut wake: ResMut<ServerWake>,
    mut out: QuizOut,
) {
    let now = time.elapsed();
    for (entity, room, mut slot, held) in &mut rooms {
        let had_game = slot.0.is_some();
        if had_game && let Some(session) = slot.0.as_mut() {
            let events = session.game.finish_after_this_turn();
            dispatch(events, &At { entity, room, now }, &mut slot, &mut out);
        }
        // The game ended: just now, or since the last update (its last turn, too few players).
        let ended = slot.0.is_none() && (had_game || held);
        if ended && !results_until.contains_key(&entity) {
            results_until.insert(entity, now + RESULTS_BEFORE_CLOSING);
        }
        let showing_results = results_until.get(&entity).is_some_and(|&until| now < until);
        if showing_results {
            wake.at(results_until[&entity]);
        }
        let keep_open = slot.0.is_some() || showing_results;
        if keep_open && !held {
            out.commands.entity(entity).insert(DrainHold);
        } else if !keep_open && held {
            out.commands.entity(entity).remove::<DrainHold>();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::chat::ChatToServer;
    use crate::plugins::quiz::Settings;
    use crate::plugins::test_app::TestServer;

    fn settings() -> Settings {
        Settings {
            pack: Pack::English,
            ..Settings::default()
        }
    }

    /// Three players in a game that has just started; returns them and who draws.
    fn started() -> (TestServer, Vec<ClientId>, ClientId) {
        let mut server = TestServer::new();
        let ids: Vec<ClientId> = ["Ann", "Ben", "Cy"]
            .iter()
            .enumerate()
            .map(|(i, name)| server.join(i as u32 + 1, name, None))
            .collect();
        server.sent::<QuizToClient>();
        server.send(ids[0], QuizToServer::Start(settings()));
        server.send(ids[0], QuizToServer::Start(settings()));
        server.update();
        let sent = server.sent::<QuizToClient>();
        let refused: Vec<_> = sent
            .iter()
            .filter(|m| matches!(m.msg, QuizToClient::Refused(_)))
            .map(|m| (m.to_one(), m.msg.clone()))
            .collect();
        assert_eq!(
            refused,
            [(Some(ids[0]), QuizToClient::Refused(QuizRefusal::AlreadyRunning))],
            "two starts in one frame start one game"
        );
        let drawer = sent
            .iter()
            .find_map(|m| match &m.msg {
                QuizToClient::State(GameView {
                    phase: PhaseView::Choosing { drawer, options, .. },
                    ..
                }) if !options.is_empty() => Some(*drawer),
                _ => None,
            })
            .expect("the drawer is offered words");
        (server, ids, drawer)
    }

    #[test]
    fn a_start_locks_the_pen_and_hands_the_rooms_chat_to_the_game() {
        let (mut server, ids, _) = started();
        let room = server.find::<Room>();
        assert!(server.app.world().get::<HandOverLines>(room).is_some());
        assert_eq!(
            server.read::<LockPen>(),
            [LockPen {
                room,
                lock: PenLock::To {
                    drawer: None,
                    clear: false
                }
            }],
            "nobody draws while the first word is chosen, and the free drawing stays"
        );
        server.send(ids[1], QuizToServer::Start(settings()));
        server.update();
        let sent: Vec<_> = server.sent::<QuizToClient>().into_iter().map(|m| m.msg).collect();
        assert_eq!(sent, [QuizToClient::Refused(QuizRefusal::AlreadyRunning)]);
    }

    #[test]
    fn guesses_are_routed_a_correct_one_is_never_published() {
        let (mut server, ids, drawer) = started();
        let room = server.find::<Room>();
        server.send(drawer, QuizToServer::Choose(0));
        server.update();
        let word = server
            .sent::<QuizToClient>()
            .into_iter()
            .find_map(|m| match m.msg {
                QuizToClient::State(GameView {
                    phase: PhaseView::Drawing { word: Some(word), .. },
                    ..
                }) if m.recipients() == [drawer] => Some(word),
                _ => None,
            })
            .expect("the drawer sees the word");
        assert_eq!(
            server.read::<LockPen>().last().map(|l| l.lock),
            Some(PenLock::To {
                drawer: Some(drawer),
                clear: true
            })
        );
        let guessers: Vec<ClientId> = ids.iter().copied().filter(|&id| id != drawer).collect();
        server.read::<PublishLine>();
        server.send(guessers[0], ChatToServer::Say(word.to_uppercase()));
        server.update();
        let guessed = server.sent::<QuizToClient>();
        assert!(
            guessed.iter().any(
                |m| matches!(&m.msg, QuizToClient::Guessed { who, .. } if *who == guessers[0])
                    && m.recipients() == ids
            ),
            "everyone hears who found it"
        );
        assert!(
            server.read::<PublishLine>().is_empty(),
            "the word itself is never published"
        );

        server.send(guessers[1], ChatToServer::Say("is it a cat?".into()));
        server.send(guessers[0], ChatToServer::Say("nice drawing".into()));
        server.update();
        let published: Vec<(String, Audience)> = server
            .read::<PublishLine>()
            .into_iter()
            .map(|p| {
                assert_eq!(p.room, room);
                (p.line.text, p.audience)
            })
            .collect();
        let insiders = vec![drawer, guessers[0]];
        assert_eq!(
            published,
            [
                ("is it a cat?".to_owned(), Audience::Room),
                ("nice drawing".to_owned(), Audience::Only(insiders)),
            ]
        );
    }
}
