//! What each player may see of a running game: the one place that decides who sees the word.

use std::time::Duration;

use super::game::{Game, Phase};
use super::wire::{GameView, PhaseView};
use crate::id::ClientId;

/// The most finders a view lists (in the order they found the word): a turn's finders are not
/// bounded by the room's size, since players may come, guess and go, but a view must fit a frame.
pub const MAX_VIEW_FINDERS: usize = 64;

/// A turn's points as shown: the first [`MAX_VIEW_FINDERS`] finders, then the drawer (last).
pub fn shown_points(points: &[(ClientId, u32)]) -> Vec<(ClientId, u32)> {
    match points.split_last() {
        Some((drawer, finders)) if finders.len() > MAX_VIEW_FINDERS => {
            let mut shown = finders[..MAX_VIEW_FINDERS].to_vec();
            shown.push(*drawer);
            shown
        }
        _ => points.to_vec(),
    }
}

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
            guessed: turn
                .guessed
                .iter()
                .take(MAX_VIEW_FINDERS)
                .map(|(id, _)| *id)
                .collect(),
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
            points: shown_points(points),
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
pub(super) fn views(game: &Game, members: &[ClientId], now: Duration) -> Vec<(GameView, Vec<ClientId>)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each test player at an address of their own.
    fn addr(who: ClientId) -> std::net::IpAddr {
        std::net::IpAddr::from([10, 0, 0, who.0 as u8])
    }
    use crate::codec;
    use crate::plugins::quiz::wire::{QuizToClient, Standing};
    use crate::plugins::quiz::{Settings, Timing, words};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const A: ClientId = ClientId(1);
    const B: ClientId = ClientId(2);
    const C: ClientId = ClientId(3);

    /// As on the wire, with the largest tag in front.
    fn bytes(view: &GameView) -> Vec<u8> {
        codec::encode(&(u32::MAX, QuizToClient::State(view.clone()))).unwrap()
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
        game.guess(guessers[0], addr(guessers[0]), &word, s(70));
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
            // Rooms hold at most 64 players (--room-size).
            scores: (0..64).map(|i| (ClientId(u32::MAX - i), u32::MAX)).collect(),
            phase: PhaseView::Reveal {
                drawer: A,
                word: big.clone(),
                points: (0..=MAX_VIEW_FINDERS as u32)
                    .map(|i| (ClientId(u32::MAX - i), u32::MAX))
                    .collect(),
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
        assert!(codec::encode(&(u32::MAX, over)).unwrap().len() <= codec::MAX_FRAME_LEN);
    }

    #[test]
    fn a_turn_with_more_finders_than_a_view_lists_stays_within_the_caps() {
        let mut rng = StdRng::seed_from_u64(9);
        let bag = words::WordBag::new(vec!["apple".into()]);
        let s = Duration::from_secs;
        let (mut game, _) = Game::start(
            Settings::default(),
            Timing::default(),
            &[A, B],
            bag,
            &mut rng,
            s(0),
        )
        .unwrap();
        let drawer = game.drawer().unwrap();
        // Far more players than a room holds are in the turn (the game's rules know no room
        // size), find the word and go.
        let comers: Vec<ClientId> = (0..MAX_VIEW_FINDERS as u32 + 20)
            .map(|i| ClientId(100 + i))
            .collect();
        for &who in &comers {
            game.join(who);
        }
        game.choose(drawer, 0, s(0)).unwrap();
        for &who in &comers {
            game.guess(who, addr(who), "apple", s(1));
            game.leave(who, s(1), &mut rng);
        }
        let Some(GameView {
            phase: PhaseView::Drawing { guessed, .. },
            ..
        }) = view_for(&game, drawer, s(2))
        else {
            panic!("drawing");
        };
        assert_eq!(guessed.len(), MAX_VIEW_FINDERS);
        assert_eq!(guessed[0], ClientId(100), "the first finders are the ones listed");
        game.tick(s(200), &mut rng);
        let Some(GameView {
            phase: PhaseView::Reveal { points, .. },
            ..
        }) = view_for(&game, A, s(200))
        else {
            panic!("reveal");
        };
        assert_eq!(points.len(), MAX_VIEW_FINDERS + 1);
        assert_eq!(
            points.last().map(|p| p.0),
            Some(drawer),
            "the drawer's points stay"
        );
    }
}
