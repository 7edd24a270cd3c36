//! One room's game as plain Rust: turn order, choosing, drawing, hints, guesses, the reveal
//! and the end. Time is passed in (`now`, time since any fixed start) and randomness comes
//! from the caller's RNG, so tests drive it exactly.
//! A chat message is classified in `guessing`, a turn's hints come from `hints`, and players
//! joining, dropping and leaving mid-game are in `players`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use thiserror::Error;

use super::scoring::{Settings, drawer_points, guesser_points};
use super::text::{self, PackWords, contains_word, is_close, is_guess_of, is_korean, masked};
use super::words::WordBag;
use crate::id::ClientId;

mod guessing;
mod hints;
mod players;

use hints::{give_due_hint, next_hint_at};

/// The drawer's time to pick a word before one is picked for them.
pub const CHOOSE_TIME: Duration = Duration::from_secs(15);
/// How long the word and the turn's points stay on screen.
pub const REVEAL_TIME: Duration = Duration::from_secs(5);
/// Addresses a turn remembers as barred from scoring (see [`Guess::ContainsWord`]); past this
/// many, nobody who has not found the word yet scores in the turn (a fail-safe against a
/// searcher spread over many addresses, never reached by a room of friends).
pub const MAX_BARRED_ADDRESSES: usize = 256;
/// Players who left keep their score on the board, up to this many (the best).
pub const MAX_DEPARTED: usize = 64;
/// How long a turn waits for a drawer whose connection dropped before it moves on.
pub const DRAWER_GRACE: Duration = Duration::from_secs(20);

/// The fixed phase lengths (the drawing time is the host's setting). Tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub choose: Duration,
    pub reveal: Duration,
    /// Overrides the host's drawing time (for tests that cannot wait 30 s).
    pub draw: Option<Duration>,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            choose: CHOOSE_TIME,
            reveal: REVEAL_TIME,
            draw: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Choosing {
        drawer: ClientId,
        options: Vec<String>,
        until: Duration,
    },
    Drawing(Turn),
    Reveal {
        drawer: ClientId,
        word: String,
        points: Vec<(ClientId, u32)>,
        until: Duration,
    },
    Over,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub drawer: ClientId,
    pub word: String,
    pub started: Duration,
    pub until: Duration,
    /// The turn's drawing time as it began (speed points are over it, even after a cut).
    pub length: Duration,
    /// Guessers present when the turn began: the drawer's score is over them.
    pub eligible: Vec<ClientId>,
    /// Who guessed it, in order, with their points.
    pub guessed: Vec<(ClientId, u32)>,
    /// Korean words: initials shown. Other words: positions revealed.
    pub initials: bool,
    pub revealed: Vec<usize>,
    /// Players, and addresses, who gave the word away in a message and cannot score now.
    pub barred: Vec<ClientId>,
    pub barred_from: Vec<IpAddr>,
    /// Who liked the drawing (once each).
    pub likes: Vec<ClientId>,
}

impl Turn {
    pub fn has_guessed(&self, who: ClientId) -> bool {
        self.guessed.iter().any(|(id, _)| *id == who)
    }

    /// What guessers see of the word now.
    pub fn mask(&self) -> String {
        masked(&self.word, self.initials, &self.revealed)
    }
}

/// What happened, for the systems to tell the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The drawer alone gets the options; the others see who is choosing.
    Choosing {
        drawer: ClientId,
        options: Vec<String>,
    },
    /// The drawer alone gets the word; the others its mask.
    Drawing {
        drawer: ClientId,
        word: String,
        mask: String,
    },
    Hint {
        mask: String,
    },
    Guessed {
        who: ClientId,
        points: u32,
    },
    TurnOver {
        drawer: ClientId,
        word: String,
        points: Vec<(ClientId, u32)>,
        /// The drawing's likes.
        likes: u32,
    },
    Reshuffled,
    /// The first guesser found the word: the drawing now ends at `until` (the host's cut).
    TimeCut {
        until: Duration,
    },
    GameOver {
        early: bool,
    },
}

/// What to do with a chat message during a game.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guess {
    /// An ordinary message for everyone.
    Chat,
    /// Only for the drawer and those who already guessed (the sender is one of them).
    PrivateChat,
    Correct {
        points: u32,
    },
    /// Only the sender is told.
    Close,
    /// Withheld: it contains the word without being it. Its sender, and every player at its
    /// address, cannot score in this turn any more: what they learnt is worth nothing now.
    ContainsWord,
    /// Withheld: the word, from a guesser (or address) barred in this turn.
    Barred,
    /// Withheld: the word, from a player who joined during the turn (they score from the next).
    NextTurn,
    /// Withheld: it names two or more of the pack's words (one guess per message), whether or
    /// not the word is among them, so the refusal tells nothing.
    OneAtATime,
    /// The drawer tried to give the word away.
    DrawerLeak,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, Error, PartialEq, Eq)]
pub enum QuizError {
    #[error("a game needs at least two players")]
    TooFewPlayers,
    #[error("it is not your turn to choose")]
    NotChoosing,
    #[error("there is no such word to choose")]
    NoSuchChoice,
    #[error("the word list is empty")]
    NoWords,
    #[error("there is no drawing to like now")]
    NothingToLike,
    #[error("you cannot like your own drawing")]
    OwnDrawing,
    #[error("you already liked this drawing")]
    AlreadyLiked,
}

#[derive(Debug, Clone)]
pub struct Game {
    pub settings: Settings,
    pub timing: Timing,
    pub order: Vec<ClientId>,
    /// 1-based round.
    pub round: u8,
    /// Who has drawn in this round (joiners draw later in the round they join).
    drawn: Vec<ClientId>,
    pub scores: BTreeMap<ClientId, u32>,
    pub phase: Phase,
    bag: WordBag,
    /// Every word the turns' words come from, to refuse messages naming several.
    pack: PackWords,
    /// Players whose connection dropped (seat held): skipped as drawers, not waited for.
    away: Vec<ClientId>,
    /// The drawer dropped: the turn moves on at this time unless they come back.
    drawer_grace: Option<Duration>,
    /// The server is stopping: the game ends after the turn in progress.
    last_turn: bool,
}

impl Game {
    /// Starts a game: the order is shuffled once; the first drawer chooses.
    pub fn start(
        settings: Settings,
        timing: Timing,
        players: &[ClientId],
        bag: WordBag,
        rng: &mut impl Rng,
        now: Duration,
    ) -> Result<(Self, Vec<Event>), QuizError> {
        if players.len() < 2 {
            return Err(QuizError::TooFewPlayers);
        }
        if bag.is_empty() {
            return Err(QuizError::NoWords);
        }
        let mut order = players.to_vec();
        order.shuffle(rng);
        let scores = order.iter().map(|&id| (id, 0)).collect();
        let mut game = Self {
            settings: settings.clamped(),
            timing,
            order,
            round: 1,
            drawn: Vec::new(),
            scores,
            phase: Phase::Over,
            pack: PackWords::new(bag.words()),
            bag,
            away: Vec::new(),
            drawer_grace: None,
            last_turn: false,
        };
        let events = game.begin_choosing(rng, now);
        Ok((game, events))
    }

    pub fn drawer(&self) -> Option<ClientId> {
        match &self.phase {
            Phase::Choosing { drawer, .. } | Phase::Reveal { drawer, .. } => Some(*drawer),
            Phase::Drawing(turn) => Some(turn.drawer),
            Phase::Over => None,
        }
    }

    /// Whether the game is at its first turn (the room's free drawing is still on the board).
    pub fn is_first_turn(&self) -> bool {
        self.round == 1 && self.drawn.len() <= 1
    }

    /// The scores of the players in the game now, in turn order.
    pub fn present_scores(&self) -> Vec<(ClientId, u32)> {
        self.order
            .iter()
            .map(|id| (*id, self.scores.get(id).copied().unwrap_or(0)))
            .collect()
    }

    /// When the game next needs the clock, if nothing else happens: the end of the phase, or
    /// the next hint (on the clock `now` is given in).
    pub fn next_deadline(&self) -> Option<Duration> {
        let phase = self.phase_deadline();
        match self.drawer_grace {
            Some(grace) => Some(phase.map_or(grace, |at| at.min(grace))),
            None => phase,
        }
    }

    fn phase_deadline(&self) -> Option<Duration> {
        match &self.phase {
            Phase::Choosing { until, .. } | Phase::Reveal { until, .. } => Some(*until),
            Phase::Drawing(turn) => {
                let hint = if self.settings.hints {
                    next_hint_at(turn)
                } else {
                    None
                };
                Some(hint.map_or(turn.until, |at| at.min(turn.until)))
            }
            Phase::Over => None,
        }
    }

    /// Who may read the finders' chat now: the drawer and those who found the word (nobody
    /// outside a drawing turn).
    pub fn insiders(&self) -> Vec<ClientId> {
        match &self.phase {
            Phase::Drawing(turn) => std::iter::once(turn.drawer)
                .chain(turn.guessed.iter().map(|(id, _)| *id))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A player likes the drawing being drawn (once per turn; not the drawer). Returns how
    /// many likes it has.
    pub fn like(&mut self, who: ClientId) -> Result<u32, QuizError> {
        let Phase::Drawing(turn) = &mut self.phase else {
            return Err(QuizError::NothingToLike);
        };
        if who == turn.drawer {
            return Err(QuizError::OwnDrawing);
        }
        if !self.order.contains(&who) {
            return Err(QuizError::NothingToLike);
        }
        if turn.likes.contains(&who) {
            return Err(QuizError::AlreadyLiked);
        }
        turn.likes.push(who);
        Ok(turn.likes.len() as u32)
    }

    /// The server is stopping: the turn being drawn (and its reveal) is the game's last, and a
    /// turn whose word is still being chosen is not played. Returns the events of an end now.
    pub fn finish_after_this_turn(&mut self) -> Vec<Event> {
        if self.last_turn {
            return Vec::new();
        }
        self.last_turn = true;
        if matches!(self.phase, Phase::Choosing { .. }) {
            return self.end_game();
        }
        Vec::new()
    }

    fn end_game(&mut self) -> Vec<Event> {
        self.drawer_grace = None;
        self.phase = Phase::Over;
        vec![Event::GameOver { early: false }]
    }

    /// The next player who has not drawn this round chooses; after the last round, the end.
    fn begin_choosing(&mut self, rng: &mut impl Rng, now: Duration) -> Vec<Event> {
        if self.last_turn {
            return self.end_game();
        }
        self.drawer_grace = None;
        let here = |id: &&ClientId| !self.away.contains(id);
        let drawer = match self.order.iter().filter(here).find(|id| !self.drawn.contains(id)) {
            Some(&drawer) => drawer,
            None => {
                self.round += 1;
                self.drawn.clear();
                if self.round > self.settings.rounds {
                    self.phase = Phase::Over;
                    return vec![Event::GameOver { early: false }];
                }
                // Everyone away: the first in the order chooses (a word is picked if they stay away).
                *self.order.iter().find(here).unwrap_or(&self.order[0])
            }
        };
        self.drawn.push(drawer);
        let (options, reshuffled) = self.bag.take(self.settings.choices as usize, rng);
        let mut events = Vec::new();
        if reshuffled {
            events.push(Event::Reshuffled);
        }
        events.push(Event::Choosing {
            drawer,
            options: options.clone(),
        });
        self.phase = Phase::Choosing {
            drawer,
            options,
            until: now + self.timing.choose,
        };
        events
    }

    /// The drawer picks one of the options.
    pub fn choose(&mut self, who: ClientId, index: usize, now: Duration) -> Result<Vec<Event>, QuizError> {
        let Phase::Choosing { drawer, options, .. } = &self.phase else {
            return Err(QuizError::NotChoosing);
        };
        if *drawer != who {
            return Err(QuizError::NotChoosing);
        }
        let word = options.get(index).cloned().ok_or(QuizError::NoSuchChoice)?;
        Ok(self.begin_drawing(who, word, now))
    }

    fn begin_drawing(&mut self, drawer: ClientId, word: String, now: Duration) -> Vec<Event> {
        let eligible = self.order.iter().copied().filter(|&id| id != drawer).collect();
        let length = self.timing.draw.unwrap_or(self.settings.draw_time());
        let turn = Turn {
            drawer,
            initials: false,
            revealed: Vec::new(),
            started: now,
            until: now + length,
            length,
            eligible,
            guessed: Vec::new(),
            barred: Vec::new(),
            barred_from: Vec::new(),
            likes: Vec::new(),
            word: word.clone(),
        };
        let mask = turn.mask();
        self.phase = Phase::Drawing(turn);
        vec![Event::Drawing { drawer, word, mask }]
    }

    fn everyone_guessed(&self) -> bool {
        let Phase::Drawing(turn) = &self.phase else {
            return false;
        };
        // Those whose connection dropped are not waited for, but a turn nobody found goes on;
        // players who joined during it cannot score, so they are not waited for either.
        !turn.guessed.is_empty()
            && self
                .order
                .iter()
                .filter(|id| turn.eligible.contains(id) && !self.away.contains(id))
                .all(|&id| turn.has_guessed(id))
    }

    fn end_turn(&mut self, now: Duration) -> Vec<Event> {
        let Phase::Drawing(turn) = &self.phase else {
            return Vec::new();
        };
        self.drawer_grace = None;
        let from_eligible: Vec<u32> = turn
            .guessed
            .iter()
            .filter(|(id, _)| turn.eligible.contains(id))
            .map(|(_, p)| *p)
            .collect();
        let drawer_score = drawer_points(turn.eligible.len(), &from_eligible);
        // A drawer who left stays on the board only with points.
        if drawer_score > 0 || self.order.contains(&turn.drawer) {
            *self.scores.entry(turn.drawer).or_default() += drawer_score;
        }
        let mut points = turn.guessed.clone();
        points.push((turn.drawer, drawer_score));
        let (drawer, word) = (turn.drawer, turn.word.clone());
        let likes = turn.likes.len() as u32;
        self.phase = Phase::Reveal {
            drawer,
            word: word.clone(),
            points: points.clone(),
            until: now + self.timing.reveal,
        };
        vec![Event::TurnOver {
            drawer,
            word,
            points,
            likes,
        }]
    }

    /// Advances the clock: auto-picks, hints, time-outs, the next turn, the end.
    pub fn tick(&mut self, now: Duration, rng: &mut impl Rng) -> Vec<Event> {
        if self.drawer_grace.is_some_and(|grace| now >= grace) {
            self.drawer_grace = None;
            match &self.phase {
                Phase::Drawing(_) => return self.end_turn(now),
                Phase::Choosing { .. } => return self.begin_choosing(rng, now),
                _ => {}
            }
        }
        match &mut self.phase {
            Phase::Choosing {
                drawer,
                options,
                until,
            } if now >= *until => {
                let (drawer, word) = (*drawer, options[rng.random_range(0..options.len())].clone());
                self.begin_drawing(drawer, word, now)
            }
            Phase::Drawing(turn) if now >= turn.until => self.end_turn(now),
            Phase::Drawing(turn) if self.settings.hints => give_due_hint(turn, now, rng),
            Phase::Reveal { until, .. } if now >= *until => self.begin_choosing(rng, now),
            _ => Vec::new(),
        }
    }
}

impl crate::i18n::Describe for QuizError {
    fn describe(&self) -> String {
        use crate::t;
        match self {
            QuizError::TooFewPlayers => t!("quiz-needs-two"),
            QuizError::NotChoosing => t!("err-quiz-not-choosing"),
            QuizError::NoSuchChoice => t!("err-quiz-no-such-choice"),
            QuizError::NoWords => t!("err-quiz-no-words"),
            QuizError::NothingToLike => t!("err-quiz-nothing-to-like"),
            QuizError::OwnDrawing => t!("err-quiz-own-drawing"),
            QuizError::AlreadyLiked => t!("err-quiz-already-liked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each test player at an address of their own.
    fn addr(who: ClientId) -> std::net::IpAddr {
        std::net::IpAddr::from([10, 0, 0, who.0 as u8])
    }
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const A: ClientId = ClientId(1);
    const B: ClientId = ClientId(2);
    const C: ClientId = ClientId(3);
    const D: ClientId = ClientId(4);

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn new_game(words: &[&str], players: &[ClientId], rounds: u8) -> (Game, StdRng) {
        let mut rng = StdRng::seed_from_u64(42);
        let bag = WordBag::new(words.iter().map(|w| w.to_string()).collect());
        let settings = Settings {
            rounds,
            ..Settings::default()
        };
        let (game, events) = Game::start(settings, Timing::default(), players, bag, &mut rng, s(0)).unwrap();
        assert!(
            matches!(events.last(), Some(Event::Choosing { options, .. }) if options.len() == 3.min(words.len()))
        );
        (game, rng)
    }

    fn drawing(game: &Game) -> &Turn {
        match &game.phase {
            Phase::Drawing(turn) => turn,
            other => panic!("not drawing: {other:?}"),
        }
    }

    #[test]
    fn a_game_needs_two_players_and_the_drawer_alone_chooses() {
        let mut rng = StdRng::seed_from_u64(1);
        let bag = WordBag::new(vec!["사과".into()]);
        assert_eq!(
            Game::start(Settings::default(), Timing::default(), &[A], bag, &mut rng, s(0)).err(),
            Some(QuizError::TooFewPlayers)
        );
        let (mut game, _) = new_game(&["사과", "바나나", "포도"], &[A, B, C], 1);
        let drawer = game.drawer().unwrap();
        let other = [A, B, C].into_iter().find(|&id| id != drawer).unwrap();
        assert_eq!(game.choose(other, 0, s(1)), Err(QuizError::NotChoosing));
        assert_eq!(game.choose(drawer, 3, s(1)), Err(QuizError::NoSuchChoice));
        let events = game.choose(drawer, 1, s(1)).unwrap();
        assert!(
            matches!(&events[0], Event::Drawing { word, mask, .. } if !word.is_empty() && !mask.contains(word.as_str()))
        );
    }

    #[test]
    fn only_the_games_first_turn_is_its_first() {
        let (mut game, mut rng) = new_game(&["사과", "바나나", "포도"], &[A, B], 2);
        assert!(game.is_first_turn());
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        assert!(game.is_first_turn(), "still the first turn while it is drawn");
        game.tick(s(80), &mut rng);
        game.tick(s(85), &mut rng);
        assert!(matches!(game.phase, Phase::Choosing { .. }));
        assert!(!game.is_first_turn());
    }

    #[test]
    fn a_stopping_server_ends_the_game_after_the_turn_in_progress() {
        // Drawn: the turn and its reveal play out, then the game ends instead of a next turn.
        let (mut game, mut rng) = new_game(&["사과", "바나나", "포도"], &[A, B, C], 3);
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        assert!(game.finish_after_this_turn().is_empty());
        assert!(game.finish_after_this_turn().is_empty(), "asked twice, once");
        assert!(matches!(game.phase, Phase::Drawing(_)));
        assert!(matches!(
            game.tick(s(80), &mut rng).as_slice(),
            [Event::TurnOver { .. }]
        ));
        assert_eq!(game.tick(s(85), &mut rng), [Event::GameOver { early: false }]);
        assert_eq!(game.phase, Phase::Over);

        // Still choosing: no word was drawn, so nothing is waited for.
        let (mut game, _) = new_game(&["사과", "바나나", "포도"], &[A, B, C], 3);
        assert_eq!(game.finish_after_this_turn(), [Event::GameOver { early: false }]);
        assert_eq!((game.phase.clone(), game.next_deadline()), (Phase::Over, None));
    }

    #[test]
    fn the_first_find_cuts_the_time_left_when_the_host_asked_for_it() {
        let (mut game, _) = new_game(&["사과"], &[A, B, C, D], 1);
        game.settings.cut_secs = 20;
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        let guessers: Vec<ClientId> = [A, B, C, D].into_iter().filter(|&id| id != drawer).collect();
        // Found 10 s in: 70 s were left, now 20.
        let (_, events) = game.guess(guessers[0], addr(guessers[0]), "사과", s(10));
        assert_eq!(events[1..], [Event::TimeCut { until: s(30) }]);
        assert_eq!(drawing(&game).until, s(30));
        // The second find cuts nothing, and its points are over the turn's whole 80 s.
        let (verdict, events) = game.guess(guessers[1], addr(guessers[1]), "사과", s(20));
        assert_eq!(
            verdict,
            Guess::Correct {
                points: guesser_points(s(20), s(80), false)
            }
        );
        assert!(!events.iter().any(|e| matches!(e, Event::TimeCut { .. })));

        // The only guesser finds it: the turn ends, nothing is cut.
        let (mut game, _) = new_game(&["사과"], &[A, B], 1);
        game.settings.cut_secs = 20;
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        let g = if drawer == A { B } else { A };
        let (_, events) = game.guess(g, addr(g), "사과", s(10));
        assert!(
            matches!(events.as_slice(), [Event::Guessed { .. }, Event::TurnOver { .. }]),
            "{events:?}"
        );

        // Less left than the cut: nothing to cut. And off by default.
        for (cut, found_at) in [(20, 70), (0, 10)] {
            let (mut game, _) = new_game(&["사과"], &[A, B, C], 1);
            game.settings.cut_secs = cut;
            let drawer = game.drawer().unwrap();
            game.choose(drawer, 0, s(0)).unwrap();
            let g = [A, B, C].into_iter().find(|&id| id != drawer).unwrap();
            let (_, events) = game.guess(g, addr(g), "사과", s(found_at));
            assert_eq!(events.len(), 1, "{events:?}");
            assert_eq!(drawing(&game).until, s(80));
        }
        assert_eq!(Settings::default().cut_secs, 0);
        let clamp = |cut_secs| {
            Settings {
                cut_secs,
                ..Settings::default()
            }
            .clamped()
            .cut_secs
        };
        use crate::plugins::quiz::scoring::{MAX_CUT_SECS, MIN_CUT_SECS};
        assert_eq!(
            (clamp(0), clamp(1), clamp(30), clamp(999)),
            (0, MIN_CUT_SECS, 30, MAX_CUT_SECS)
        );
    }

    #[test]
    fn players_like_a_drawing_once_per_turn_and_never_their_own() {
        let (mut game, mut rng) = new_game(&["사과", "바나나", "포도"], &[A, B, C], 2);
        assert_eq!(game.like(A), Err(QuizError::NothingToLike), "while choosing");
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        let others: Vec<ClientId> = [A, B, C].into_iter().filter(|&id| id != drawer).collect();
        assert_eq!(game.like(drawer), Err(QuizError::OwnDrawing));
        assert_eq!(game.like(others[0]), Ok(1));
        assert_eq!(game.like(others[0]), Err(QuizError::AlreadyLiked));
        assert_eq!(game.like(others[1]), Ok(2));
        assert_eq!(game.like(D), Err(QuizError::NothingToLike), "not a player");
        // The next turn starts from none.
        game.tick(s(80), &mut rng);
        game.tick(s(85), &mut rng);
        let next = game.drawer().unwrap();
        game.choose(next, 0, s(86)).unwrap();
        let liker = [A, B, C].into_iter().find(|&id| id != next).unwrap();
        assert_eq!(game.like(liker), Ok(1));
    }

    #[test]
    fn a_word_is_picked_for_a_slow_chooser() {
        let (mut game, mut rng) = new_game(&["사과", "바나나", "포도"], &[A, B], 1);
        assert!(game.tick(s(14), &mut rng).is_empty());
        let events = game.tick(s(15), &mut rng);
        assert!(matches!(events.as_slice(), [Event::Drawing { .. }]), "{events:?}");
        assert_eq!(drawing(&game).until, s(15 + 80));
    }

    #[test]
    fn guesses_are_scored_classified_and_routed() {
        let (mut game, mut rng) = new_game(&["사과"], &[A, B, C], 1);
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        let guessers: Vec<ClientId> = [A, B, C].into_iter().filter(|&id| id != drawer).collect();
        let (g1, g2) = (guessers[0], guessers[1]);
        assert_eq!(game.guess(g1, addr(g1), "사가", s(5)).0, Guess::Close);
        assert_eq!(game.guess(g1, addr(g1), "바나나?", s(5)).0, Guess::Chat);
        assert_eq!(
            game.guess(drawer, addr(drawer), "사 과", s(6)).0,
            Guess::DrawerLeak
        );
        assert_eq!(
            game.guess(drawer, addr(drawer), "잘 그렸죠?", s(6)).0,
            Guess::PrivateChat
        );
        let (verdict, events) = game.guess(g1, addr(g1), " 사과 ", s(8));
        assert_eq!(
            verdict,
            Guess::Correct {
                points: 50 + 135 + 50
            }
        );
        assert_eq!(events, [Event::Guessed { who: g1, points: 235 }]);
        assert_eq!(
            game.guess(g1, addr(g1), "사과", s(9)).0,
            Guess::PrivateChat,
            "no second score; chat stays among finders"
        );
        assert_eq!(game.guess(g1, addr(g1), "hello", s(9)).0, Guess::PrivateChat);
        let (verdict, events) = game.guess(g2, addr(g2), "사과", s(40));
        assert_eq!(verdict, Guess::Correct { points: 50 + 75 });
        assert!(
            matches!(events.last(), Some(Event::TurnOver { .. })),
            "everyone guessed: the turn ends"
        );
        let drawer_score = (235 + 125) / 2;
        assert_eq!(game.scores[&drawer], drawer_score);
        assert!(matches!(&game.phase, Phase::Reveal { word, .. } if word == "사과"));
        assert!(game.tick(s(44), &mut rng).is_empty(), "the reveal lasts 5 s");
        assert!(matches!(
            game.tick(s(45), &mut rng).last(),
            Some(Event::Choosing { .. })
        ));
    }

    #[test]
    fn the_drawer_leak_guard_sees_look_alike_letters() {
        let (mut game, _) = new_game(&["apple"], &[A, B], 1);
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        assert_eq!(
            game.guess(drawer, addr(drawer), "\u{0430}pple", s(1)).0,
            Guess::DrawerLeak,
            "Cyrillic а"
        );
        assert_eq!(
            game.guess(drawer, addr(drawer), "A P P L E", s(1)).0,
            Guess::DrawerLeak
        );
        assert_eq!(
            game.guess(drawer, addr(drawer), "a red fruit", s(1)).0,
            Guess::PrivateChat
        );
    }

    #[test]
    fn everyone_draws_once_per_round_and_the_game_ends() {
        let words = ["사과", "바나나", "포도", "체리", "딸기", "망고", "꽃", "달"];
        let (mut game, mut rng) = new_game(&words, &[A, B, C], 2);
        let mut drawers = Vec::new();
        let mut now = s(0);
        let mut over = false;
        for _ in 0..10 {
            let drawer = game.drawer().unwrap();
            drawers.push(drawer);
            game.choose(drawer, 0, now).unwrap();
            now += s(80);
            assert!(
                matches!(game.tick(now, &mut rng).as_slice(), [Event::TurnOver { .. }]),
                "time ran out"
            );
            now += REVEAL_TIME;
            let events = game.tick(now, &mut rng);
            if events.contains(&Event::GameOver { early: false }) {
                over = true;
                break;
            }
        }
        assert!(over);
        assert_eq!(drawers.len(), 6, "2 rounds of 3 players");
        for round in drawers.chunks(3) {
            let mut round = round.to_vec();
            round.sort();
            assert_eq!(round, [A, B, C], "each player once per round");
        }
        assert_eq!(drawers[..3], game.order[..], "in the shuffled order");
    }

    #[test]
    fn hints_come_over_time() {
        let (mut game, mut rng) = new_game(&["오렌지"], &[A, B], 1);
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        assert_eq!(drawing(&game).mask(), "_ _ _");
        assert!(game.tick(s(26), &mut rng).is_empty());
        assert_eq!(
            game.tick(s(27), &mut rng),
            [Event::Hint {
                mask: "ㅇ ㄹ ㅈ".into()
            }],
            "초성 at a third"
        );
        let events = game.tick(s(54), &mut rng);
        let [Event::Hint { mask }] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!(
            mask.chars().filter(|c| "오렌지".contains(*c)).count(),
            1,
            "one syllable at two thirds: {mask}"
        );
        assert!(
            game.tick(s(70), &mut rng).is_empty(),
            "no more for a three-syllable word"
        );

        let (mut game, mut rng) = new_game(&["사과"], &[A, B], 1);
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        assert!(
            game.tick(s(39), &mut rng).is_empty(),
            "a two-syllable word's initials wait for half the turn"
        );
        assert_eq!(
            game.tick(s(40), &mut rng),
            [Event::Hint {
                mask: "ㅅ ㄱ".into()
            }]
        );
        assert!(
            game.tick(s(79), &mut rng).is_empty(),
            "two syllables: initials only"
        );

        let (mut game, mut rng) = new_game(&["apple"], &[A, B], 1);
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        let hints: usize = (1..80).map(|t| game.tick(s(t), &mut rng).len()).sum();
        assert_eq!(hints, 2, "five letters: two letters revealed");
        assert_eq!(
            drawing(&game)
                .mask()
                .chars()
                .filter(|c| c.is_alphabetic())
                .count(),
            2
        );
    }

    #[test]
    fn joiners_score_from_the_next_turn_and_never_raise_the_drawers_score() {
        let (mut game, _) = new_game(&["포도"], &[A, B, C], 1);
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        let guessers: Vec<ClientId> = [A, B, C].into_iter().filter(|&id| id != drawer).collect();
        game.join(D);
        assert_eq!(game.guess(D, addr(D), "포도", s(1)).0, Guess::NextTurn);
        let (verdict, _) = game.guess(guessers[0], addr(guessers[0]), "포도", s(2));
        let Guess::Correct { points: found } = verdict else {
            panic!("{verdict:?}")
        };
        let mut rng = StdRng::seed_from_u64(3);
        // A guesser who found it leaves; the other never does.
        game.leave(guessers[0], s(3), &mut rng);
        let events = game.tick(s(80), &mut rng);
        let Some(Event::TurnOver { points, .. }) = events.last() else {
            panic!("{events:?}")
        };
        let drawer_points = points.iter().find(|(id, _)| *id == drawer).unwrap().1;
        assert_eq!(
            drawer_points,
            found / 2,
            "over the two guessers present at the start"
        );
        assert!(points.iter().all(|(id, _)| *id != D), "the joiner did not score");
    }

    #[test]
    fn the_drawer_leaving_ends_the_turn_and_too_few_players_end_the_game() {
        let (mut game, mut rng) = new_game(&["사과", "바나나", "포도"], &[A, B, C], 1);
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        let events = game.leave(drawer, s(5), &mut rng);
        assert!(
            matches!(events.as_slice(), [Event::TurnOver { .. }]),
            "{events:?}"
        );
        let remaining: Vec<ClientId> = game.order.clone();
        assert_eq!(remaining.len(), 2);
        assert_eq!(
            game.leave(remaining[0], s(6), &mut rng),
            [Event::GameOver { early: true }]
        );
        assert_eq!(game.phase, Phase::Over);
    }

    #[test]
    fn a_dropped_drawer_gets_a_grace_and_a_dropped_guesser_is_not_waited_for() {
        let (mut game, mut rng) = new_game(&["사과", "바나나", "포도"], &[A, B, C], 1);
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        // The drawer drops and comes back within the grace: the turn goes on.
        assert!(game.away(drawer, s(1)).is_empty());
        assert_eq!(game.next_deadline(), Some(s(1) + DRAWER_GRACE));
        assert!(game.tick(s(10), &mut rng).is_empty());
        game.back(drawer);
        assert!(
            game.tick(s(1) + DRAWER_GRACE, &mut rng).is_empty(),
            "back in time"
        );
        // Dropped again and gone past the grace: the turn ends (the seat is still held).
        game.away(drawer, s(30));
        let events = game.tick(s(30) + DRAWER_GRACE, &mut rng);
        assert!(
            matches!(events.as_slice(), [Event::TurnOver { .. }]),
            "{events:?}"
        );
        assert!(game.order.contains(&drawer), "still in the game");
        // The next chooser is never one whose connection is down.
        let mut events = game.tick(s(60), &mut rng);
        let Some(Event::Choosing { drawer: next, .. }) = events.pop() else {
            panic!("{events:?}")
        };
        assert_ne!(next, drawer);
        // A guesser who drops is not waited for once the other has found it...
        game.choose(next, 0, s(60)).unwrap();
        let word2 = drawing(&game).word.clone();
        let other = [A, B, C].into_iter().find(|&p| p != drawer && p != next).unwrap();
        game.back(drawer);
        game.away(other, s(61));
        let (verdict, events) = game.guess(drawer, addr(drawer), &word2, s(62));
        assert!(matches!(verdict, Guess::Correct { .. }), "{verdict:?}");
        assert!(
            matches!(events.last(), Some(Event::TurnOver { .. })),
            "{events:?}"
        );
    }

    #[test]
    fn a_turn_nobody_found_goes_on_while_its_guessers_are_away() {
        let (mut game, mut rng) = new_game(&["사과", "바나나", "포도"], &[A, B], 1);
        let drawer = game.drawer().unwrap();
        let guesser = if drawer == A { B } else { A };
        game.choose(drawer, 0, s(0)).unwrap();
        assert!(game.away(guesser, s(1)).is_empty(), "not ended for a blink");
        assert!(game.tick(s(10), &mut rng).is_empty());
        game.back(guesser);
        let word = drawing(&game).word.clone();
        assert!(matches!(
            game.guess(guesser, addr(guesser), &word, s(12)).0,
            Guess::Correct { .. }
        ));
    }

    #[test]
    fn giving_the_word_away_bars_the_sender_and_their_address_and_lists_tell_nothing() {
        let pack = ["사과", "포도", "배"];
        let (mut game, _) = new_game(&pack, &[A, B, C], 1);
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        let word = drawing(&game).word.clone();
        let others: Vec<&str> = pack.into_iter().filter(|w| *w != word).collect();
        let guessers: Vec<ClientId> = [A, B, C].into_iter().filter(|&id| id != drawer).collect();
        let (g, housemate) = (guessers[0], guessers[1]);
        // Two pack words in a message: refused whether the word is among them or not.
        let without = format!("{} {}", others[0], others[1]);
        let with = format!("{word}? {}?", others[0]);
        for probe in [&without, &with] {
            assert_eq!(
                game.guess(g, addr(g), probe, s(1)).0,
                Guess::OneAtATime,
                "{probe}"
            );
        }
        // One pack word in a sentence: shown if it is not the word...
        let sentence = format!("{}인가", others[0]);
        assert_eq!(game.guess(g, addr(g), &sentence, s(2)).0, Guess::Chat);
        // ...and if it is, withheld, and neither the sender nor anyone at their address scores.
        assert_eq!(
            game.guess(g, addr(g), &format!("{word}인가"), s(3)).0,
            Guess::ContainsWord
        );
        assert_eq!(game.guess(g, addr(g), &word, s(4)), (Guess::Barred, Vec::new()));
        assert_eq!(
            game.guess(housemate, addr(g), &word, s(4)).0,
            Guess::Barred,
            "same address"
        );
        // Someone joining under a new name cannot score in the turn they joined.
        game.join(D);
        assert_eq!(game.guess(D, addr(D), &word, s(5)).0, Guess::NextTurn);
        assert_eq!(game.scores.values().sum::<u32>(), 0);
        assert_eq!(
            game.guess(g, addr(g), "잘 모르겠다", s(5)).0,
            Guess::Chat,
            "chat still goes"
        );
        // The one at another address still can.
        assert!(matches!(
            game.guess(housemate, addr(housemate), &word, s(6)).0,
            Guess::Correct { .. }
        ));
    }

    /// The searcher of the hardening issue, against the rules directly (no sockets, no rate
    /// limits), for every word of the 563-word Korean pack in turn: how many messages until a
    /// connection from its address scores.
    #[test]
    fn no_searcher_finds_the_word_faster_than_guessing_one_word_at_a_time() {
        use super::super::words::{Pack, builtin};
        let pack = builtin(Pack::Korean);
        assert_eq!(pack.len(), 563);
        let mut rng = StdRng::seed_from_u64(2026);
        let bag = WordBag::new(pack.clone());
        let (mut game, _) = Game::start(
            Settings::default(),
            Timing::default(),
            &[A, B],
            bag,
            &mut rng,
            s(0),
        )
        .unwrap();
        // The searcher is B (and, at its address, a second seat C that was there from the start).
        game.join(C);
        let home = addr(B);
        let turn = |game: &mut Game, secret: &str| game.begin_drawing(A, secret.to_owned(), s(0));

        // How each searcher plays one turn; `Some(messages)` once its address scores.
        type Searcher = fn(&mut Game, &[String], IpAddr, &mut StdRng) -> Option<usize>;
        fn one_word(game: &mut Game, pack: &[String], home: IpAddr, rng: &mut StdRng) -> Option<usize> {
            let mut queue: Vec<String> = pack.to_vec();
            queue.shuffle(rng);
            let mut sent = 0;
            while let Some(word) = queue.pop() {
                sent += 1;
                match game.guess(B, home, &word, s(1)).0 {
                    Guess::Correct { .. } => return Some(sent),
                    // "So close!": try the words one letter from this one first.
                    Guess::Close => queue.sort_by_cached_key(|w| is_close(&word, w)),
                    _ => {}
                }
            }
            None
        }
        fn blind(game: &mut Game, pack: &[String], home: IpAddr, rng: &mut StdRng) -> Option<usize> {
            // The yardstick: one word at a time, deaf to "So close!".
            let mut queue: Vec<String> = pack.to_vec();
            queue.shuffle(rng);
            let at = queue
                .iter()
                .position(|w| matches!(game.guess(B, home, w, s(1)).0, Guess::Correct { .. }));
            at.map(|i| i + 1)
        }
        fn halving(game: &mut Game, pack: &[String], home: IpAddr, rng: &mut StdRng) -> Option<usize> {
            // The old attack: half the candidates in one message; whatever it is told, it then
            // guesses one word at a time among what is left.
            let mut candidates = pack.to_vec();
            let mut sent = 0;
            while candidates.len() > 1 {
                let half = candidates.len() / 2;
                sent += 1;
                match game.guess(B, home, &candidates[..half].join(" "), s(1)).0 {
                    Guess::Chat | Guess::Close => candidates.drain(..half).for_each(drop),
                    Guess::ContainsWord => candidates.truncate(half),
                    _ => break,
                }
            }
            one_word(game, &candidates, home, rng).map(|n| n + sent)
        }
        fn sentences(game: &mut Game, pack: &[String], home: IpAddr, rng: &mut StdRng) -> Option<usize> {
            // One pack word per sentence (each shown one eliminates a word without the risk of a
            // guess), then the word itself from this seat, the other seat, or a new name.
            let mut queue: Vec<String> = pack.to_vec();
            queue.shuffle(rng);
            while let Some(word) = queue.pop() {
                let probe = format!("{word}인가?");
                if game.guess(B, home, &probe, s(1)).0 == Guess::ContainsWord {
                    // The word is in the probe: try each candidate from every seat it has.
                    let found: Vec<&String> = pack
                        .iter()
                        .filter(|w| *w == &word || contains_word(&probe, w))
                        .collect();
                    game.join(D);
                    for candidate in found {
                        for (who, at) in [(B, home), (C, home), (D, addr(D))] {
                            let verdict = game.guess(who, at, candidate, s(1)).0;
                            assert!(!matches!(verdict, Guess::Correct { .. }), "{verdict:?}");
                        }
                    }
                    game.leave(D, s(1), &mut StdRng::seed_from_u64(0));
                    return None;
                }
            }
            None
        }
        let searchers: [(&str, Searcher); 4] = [
            ("one word at a time", blind),
            ("one word at a time, led by close guesses", one_word),
            ("halving", halving),
            ("sentences", sentences),
        ];
        for (name, searcher) in searchers {
            let (mut total, mut scored) = (0, 0);
            for secret in &pack {
                turn(&mut game, secret);
                if let Some(sent) = searcher(&mut game, &pack, home, &mut rng) {
                    total += sent;
                    scored += 1;
                }
            }
            let mean = total as f64 / scored.max(1) as f64;
            eprintln!(
                "{name}: scored on {scored} of {} words, {mean:.1} messages on average",
                pack.len()
            );
            match name {
                "sentences" => assert_eq!(scored, 0, "{name} never scores"),
                // Half the pack is 282; the seeded sample of one-word guessing is within a few
                // messages of it, and "So close!" (a hint every player gets) is worth a few more.
                _ => {
                    assert_eq!(scored, pack.len(), "{name}");
                    assert!(mean >= 0.9 * 282.0, "{name}: {mean:.1} messages on average");
                }
            }
        }
    }

    #[test]
    fn the_chooser_cannot_post_the_options() {
        let (mut game, _) = new_game(&["사과", "바나나", "포도"], &[A, B], 1);
        let drawer = game.drawer().unwrap();
        let other = if drawer == A { B } else { A };
        let Phase::Choosing { options, .. } = game.phase.clone() else {
            panic!()
        };
        let list = options.join(", ");
        assert_eq!(game.guess(drawer, addr(drawer), &list, s(1)).0, Guess::DrawerLeak);
        assert_eq!(game.guess(drawer, addr(drawer), "잠깐만요", s(1)).0, Guess::Chat);
        assert_eq!(
            game.guess(other, addr(other), &list, s(1)).0,
            Guess::Chat,
            "the others do not know them"
        );
    }

    #[test]
    fn an_empty_word_list_cannot_start_a_game() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            Game::start(
                Settings::default(),
                Timing::default(),
                &[A, B],
                WordBag::new(Vec::new()),
                &mut rng,
                s(0)
            )
            .err(),
            Some(QuizError::NoWords)
        );
    }

    #[test]
    fn ending_early_mid_turn_still_reveals_the_word() {
        let (mut game, mut rng) = new_game(&["사과"], &[A, B], 1);
        let drawer = game.drawer().unwrap();
        let g = if drawer == A { B } else { A };
        game.choose(drawer, 0, s(0)).unwrap();
        let events = game.leave(g, s(5), &mut rng);
        assert!(
            matches!(events.as_slice(), [Event::TurnOver { word, .. }, Event::GameOver { early: true }] if word == "사과"),
            "{events:?}"
        );
        assert_eq!(game.phase, Phase::Over);
    }

    #[test]
    fn the_board_of_those_who_left_stays_bounded() {
        let (mut game, mut rng) = new_game(&["사과"], &[A, B], 1);
        let drawer = game.drawer().unwrap();
        // Many players come while the word is chosen, score in the turn and go.
        let comers: Vec<ClientId> = (0..(MAX_DEPARTED as u32 + 20))
            .map(|i| ClientId(100 + i))
            .collect();
        for &who in &comers {
            game.join(who);
        }
        game.choose(drawer, 0, s(0)).unwrap();
        for &who in &comers {
            assert!(matches!(
                game.guess(who, addr(who), "사과", s(1)).0,
                Guess::Correct { .. }
            ));
            game.leave(who, s(1), &mut rng);
        }
        // One more comes and goes without scoring: they leave no trace.
        game.join(ClientId(9999));
        game.leave(ClientId(9999), s(2), &mut rng);
        assert!(!game.scores.contains_key(&ClientId(9999)));
        let departed = game.scores.keys().filter(|id| !game.order.contains(id)).count();
        assert_eq!(departed, MAX_DEPARTED);
        assert_eq!(
            game.present_scores().len(),
            2,
            "views carry only the players present"
        );
        // A drawer who leaves with nothing is not put back on the board.
        let (mut game, mut rng) = new_game(&["사과"], &[A, B, C], 1);
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        game.leave(drawer, s(3), &mut rng);
        assert!(!game.scores.contains_key(&drawer));
    }

    #[test]
    fn the_next_deadline_is_the_next_hint_or_the_phase_end() {
        let (mut game, mut rng) = new_game(&["사과"], &[A, B], 1);
        let drawer = game.drawer().unwrap();
        assert_eq!(game.next_deadline(), Some(CHOOSE_TIME), "the choosing time");
        game.choose(drawer, 0, s(0)).unwrap();
        let hint = game.next_deadline().unwrap();
        assert!(
            hint > s(40) && hint < s(40) + Duration::from_millis(5),
            "{hint:?}"
        );
        assert!(game.tick(hint - Duration::from_millis(2), &mut rng).is_empty());
        assert_eq!(
            game.tick(hint, &mut rng).len(),
            1,
            "the hint comes at its deadline"
        );
        assert_eq!(game.next_deadline(), Some(s(80)), "then the turn's end");
        game.tick(s(80), &mut rng);
        assert_eq!(game.next_deadline(), Some(s(80) + REVEAL_TIME));
    }

    #[test]
    fn hints_never_count_punctuation() {
        let (mut game, mut rng) = new_game(&["yo-yo"], &[A, B], 1);
        let drawer = game.drawer().unwrap();
        game.choose(drawer, 0, s(0)).unwrap();
        assert_eq!(drawing(&game).mask(), "_ _ - _ _");
        for t in 1..80 {
            game.tick(s(t), &mut rng);
        }
        let mask = drawing(&game).mask();
        assert_eq!(mask.chars().filter(|c| c.is_alphabetic()).count(), 1, "{mask}");
    }
}
