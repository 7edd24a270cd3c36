//! A room's plain-Rust rules with several members: each step is (member, wait, request bytes)
//! and the bytes go through the real decoder. Canvas requests go through the room's canvas
//! rules (pen, drawing); text goes to a game as chat from a member at one of two addresses.
//! The invariants the property tests check hold after every step.
#![no_main]

use std::net::IpAddr;
use std::time::Duration;

use catchmind::id::ClientId;
use catchmind::plugins::canvas::model::MAX_DRAWING_POINTS;
use catchmind::plugins::canvas::{CanvasToServer, RoomCanvas, apply_request};
use catchmind::plugins::quiz::game::{Game, Phase, Timing};
use catchmind::plugins::quiz::words::WordBag;
use catchmind::plugins::quiz::{QuizToServer, Settings};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;

const MEMBERS: u32 = 3;

fuzz_target!(|data: &[u8]| {
    let mut canvas = RoomCanvas::default();
    let mut rng = StdRng::seed_from_u64(data.len() as u64);
    let players: Vec<ClientId> = (1..=MEMBERS).map(ClientId).collect();
    let bag = WordBag::new(
        ["사과", "바나나", "게", "apple", "a b"]
            .iter()
            .map(|w| w.to_string())
            .collect(),
    );
    let (mut game, _) = Game::start(
        Settings::default(),
        Timing::default(),
        &players,
        bag,
        &mut rng,
        Duration::ZERO,
    )
    .expect("a game of three");
    let mut now = Duration::ZERO;
    let mut rest = data;
    while rest.len() >= 3 {
        let (head, tail) = rest.split_at(3);
        let len = (head[2] as usize).min(tail.len());
        let (body, tail) = tail.split_at(len);
        rest = tail;
        let who = ClientId(1 + u32::from(head[0]) % (MEMBERS + 1));
        now += Duration::from_millis(u64::from(head[1]) * 97);
        match head[0] % 4 {
            0 => {
                if let Ok(request) = catchmind::codec::decode::<CanvasToServer>(body) {
                    let _ = apply_request(&mut canvas, who, &request, now);
                }
            }
            1 => {
                let text = String::from_utf8_lossy(body);
                let from = IpAddr::from([10, 0, 0, head[1] % 2]);
                let _ = game.guess(who, from, &text, now);
            }
            2 => match catchmind::codec::decode::<QuizToServer>(body) {
                Ok(QuizToServer::Choose(i)) => {
                    let _ = game.choose(who, i as usize, now);
                }
                _ => {
                    let _ = game.tick(now, &mut rng);
                }
            },
            _ => match body.first().copied().unwrap_or(0) % 4 {
                0 => game.join(who),
                1 => {
                    let _ = game.leave(who, now, &mut rng);
                }
                2 => {
                    let _ = game.away(who, now);
                }
                _ => game.back(who),
            },
        }
        assert!(canvas.drawing.point_count() <= MAX_DRAWING_POINTS);
        assert!(
            canvas
                .drawing
                .strokes()
                .iter()
                .all(|s| s.points.iter().all(|p| p.on_board()))
        );
        assert!(canvas.pen.holder().is_none_or(|h| h.0 >= 1 && h.0 <= MEMBERS + 1));
        if let Phase::Drawing(turn) = &game.phase {
            assert!(
                turn.guessed.len() <= turn.eligible.len(),
                "finders are players present at the start"
            );
            assert!(turn.guessed.iter().all(|(id, _)| turn.eligible.contains(id)));
        }
    }
});
