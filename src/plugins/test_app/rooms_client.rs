//! The rooms client over the in-memory network: getting a dropped seat back by itself (its
//! back-off and its give-up), joining again by hand, and a failed join.

use std::sync::Arc;
use std::time::Duration;

use super::{STEP, TestClient, TestNet};
use crate::id::ClientId;
use crate::plugins::canvas::{BoardPoint, CanvasState, DrawInput};
use crate::plugins::net::ClientState;
use crate::plugins::quiz::{Pack, PhaseView, QuizConfig, QuizToServer, QuizView, Settings, Timing};
use crate::plugins::rooms::backoff;
use crate::plugins::rooms::{JoinRequest, JoinServer, Reconnecting, Rejoin, RoomConfig};

const LIMIT: Duration = Duration::from_secs(5);

fn noticed(client: &TestClient, text: &str) -> bool {
    client.notices().iter().any(|n| n.contains(text))
}

fn phase(client: &TestClient) -> Option<PhaseView> {
    let view = client.resource::<QuizView>();
    view.game.as_ref().map(|g| g.phase.clone())
}

/// A server whose rooms hold no seats, and Ann and Ben in room "den".
fn den_without_held_seats() -> TestNet {
    let mut net = TestNet::new(|app| {
        app.insert_resource(RoomConfig {
            seat_hold: Duration::ZERO,
            ..RoomConfig::default()
        });
    });
    net.connect("Ann", Some("den"));
    net.connect("Ben", Some("den"));
    net.join_all();
    net
}

/// Steps until both see a drawing turn (by another drawer than `not_drawer`); the drawer's
/// index and the word (from the drawer's view).
fn play_to_drawing(net: &mut TestNet, not_drawer: Option<ClientId>) -> (usize, String) {
    net.step_until(LIMIT, "a turn to choose", |net| {
        net.clients.iter().all(
            |c| matches!(phase(c), Some(PhaseView::Choosing { drawer, .. }) if Some(drawer) != not_drawer),
        )
    });
    let drawer = phase(&net[0]).unwrap().drawer();
    let d = net
        .clients
        .iter()
        .position(|c| c.roster().me == Some(drawer))
        .unwrap();
    net[d].send(QuizToServer::Choose(0));
    net.step_until(LIMIT, "the drawing", |net| {
        net.clients
            .iter()
            .all(|c| matches!(phase(c), Some(PhaseView::Drawing { .. })))
    });
    let Some(PhaseView::Drawing { word: Some(word), .. }) = phase(&net[d]) else {
        panic!("the drawer sees the word")
    };
    (d, word)
}

#[test]
fn the_games_client_gets_its_seat_score_and_turn_back_by_itself() {
    let mut net = TestNet::new(|app| {
        app.insert_resource(QuizConfig {
            timing: Timing {
                reveal: Duration::from_millis(300),
                draw: Some(Duration::from_secs(40)),
                ..Timing::default()
            },
            custom_words: Some(Arc::new(vec![
                "zeppelin".into(),
                "quokka".into(),
                "wombat".into(),
            ])),
        });
    });
    let (ann, ben) = (net.connect("Ann", None), net.connect("Ben", None));
    net.join_all();
    let ben_id = net[ben].roster().me.unwrap();
    net[ann].send(QuizToServer::Start(Settings {
        rounds: 1,
        pack: Pack::Custom,
        ..Settings::default()
    }));
    // Turn 1: the guesser finds it, both score.
    let (d, word) = play_to_drawing(&mut net, None);
    net[1 - d].say(&word);
    let first_drawer = net[d].roster().me;
    let (d, word) = play_to_drawing(&mut net, first_drawer);
    let score = net[ben]
        .resource::<QuizView>()
        .score(ben_id)
        .expect("Ben has a score");
    assert!(score > 0);

    // Turn 2 is being drawn when Ben's connection is cut: he comes back by himself.
    net.wire.cut(ben_id);
    net.step_until(LIMIT, "Ben away", |net| {
        noticed(&net[ann], "Ben lost their connection")
    });
    net.step_until(LIMIT, "Ben back", |net| {
        noticed(&net[ann], "Ben is back.") && net[ben].joined() && phase(&net[ben]).is_some()
    });
    assert!(noticed(&net[ben], "Reconnected: you are back in your seat"));
    assert_eq!(net[ben].roster().me, Some(ben_id), "the same seat");
    assert_eq!(
        net[ben].resource::<QuizView>().score(ben_id),
        Some(score),
        "the score kept"
    );
    let Some(PhaseView::Drawing {
        drawer, word: seen, ..
    }) = phase(&net[ben])
    else {
        panic!("the turn goes on: {:?}", phase(&net[ben]))
    };
    assert_eq!(Some(drawer), net[d].roster().me, "the same turn");
    assert_eq!(
        seen.is_some(),
        d == ben,
        "the drawer, and only the drawer, sees the word"
    );
    assert!(net[ben].ended().is_empty(), "{:?}", net[ben].ended());

    // And the turn ends as usual.
    net[1 - d].say(&word);
    net.step_until(LIMIT, "the game's end", |net| {
        net.clients.iter().all(|c| {
            let view = c.resource::<QuizView>();
            view.game.is_none() && view.last_game.is_some()
        })
    });
}

/// The attempts to get a dropped seat back wait 0.5 s, 1 s, 2 s, 4 s, then 8 s each, and
/// stop when the server would no longer hold the seat: the player is told why it dropped.
#[test]
fn a_dropped_client_tries_again_backing_off_until_the_hold_runs_out() {
    let hold = Duration::from_secs(20);
    let mut net = TestNet::new(|app| {
        app.insert_resource(RoomConfig {
            seat_hold: hold,
            ..RoomConfig::default()
        });
    });
    let ann = net.connect("Ann", None);
    net.join_all();
    net.wire.unplug();
    let mut started = Vec::new();
    let mut last = 0;
    let mut steps = 0u32;
    while net[ann].ended().is_empty() {
        net.step();
        steps += 1;
        assert!(steps < 2_000, "gave up within 40 s");
        let attempt = net[ann]
            .resource::<Reconnecting>()
            .0
            .as_ref()
            .map_or(0, |a| a.attempt);
        if attempt > last {
            started.push((attempt, STEP * steps));
            last = attempt;
        }
        assert!(!net[ann].joined() || attempt == 0 || net[ann].state() != ClientState::Connected);
    }
    // An attempt is counted when the one before failed; the gap between counts is the wait.
    let gaps: Vec<Duration> = started.windows(2).map(|w| w[1].1 - w[0].1).collect();
    for (i, gap) in gaps.iter().enumerate() {
        let wait = backoff(started[i].0);
        assert!(
            *gap >= wait && *gap <= wait + STEP * 3,
            "attempt {}: waited {gap:?}, expected {wait:?} ({started:?})",
            started[i].0 + 1
        );
    }
    // 0.5 + 1 + 2 + 4 + 8 = 15.5 s, then one more at 23.5 s is past the hold.
    assert_eq!(started.len(), 6, "{started:?}");
    let gave_up = STEP * steps;
    assert!(
        gave_up >= hold && gave_up <= hold + backoff(6) + STEP * 2,
        "{gave_up:?}"
    );
    assert_eq!(net[ann].ended(), ["the server went away"]);
    assert!(!net[ann].joined());
}

/// A server that comes back within the hold gives the seat back on the next attempt.
#[test]
fn a_seat_comes_back_when_the_server_answers_again() {
    let mut net = TestNet::new(|_| {});
    let (ann, ben) = (net.connect("Ann", None), net.connect("Ben", None));
    net.join_all();
    let seats = (net[ann].roster().me, net[ben].roster().me);
    net.wire.unplug();
    net.run_for(Duration::from_secs(5));
    assert!(net[ann].resource::<Reconnecting>().0.is_some(), "still trying");
    net.wire.plug_in();
    net.step_until(LIMIT, "both back", |net| {
        net.clients
            .iter()
            .all(|c| c.joined() && c.state() == ClientState::Connected)
            && net[0].roster().players.iter().all(|p| !p.away)
    });
    assert_eq!((net[ann].roster().me, net[ben].roster().me), seats);
    assert!(net[ann].ended().is_empty() && net[ben].ended().is_empty());
}

#[test]
fn after_a_seat_is_lost_the_player_joins_again_by_hand() {
    // No seat kept: the drop ends the session; Reconnect joins the same room afresh.
    let mut net = den_without_held_seats();
    let (ann, ben) = (0, 1);
    let first = net[ben].roster().me;
    net.wire.cut(first.unwrap());
    net.step_until(LIMIT, "Ben's session over", |net| !net[ben].ended().is_empty());
    assert!(!net[ben].joined());
    net[ben].write(Rejoin::default());
    net.step_until(LIMIT, "Ben back as a newcomer", |net| {
        net[ben].joined() && net[ben].roster().room == "den" && net[ann].roster().players.len() == 2
    });
    assert_ne!(net[ben].roster().me, first, "a new seat");
    let told = net[ann].notices().iter().filter(|n| *n == "Ben joined.").count();
    assert_eq!(told, 2);
}

#[test]
fn a_name_turned_away_is_changed_in_the_dialog_and_kept_for_the_next_join() {
    let mut net = TestNet::new(|app| {
        app.insert_resource(RoomConfig {
            seat_hold: Duration::ZERO,
            ..RoomConfig::default()
        });
    });
    let ann = net.connect("Ann", Some("den"));
    net.join_all();
    let twin = net.connect("ann", Some("den"));
    net.step_until(LIMIT, "the name turned away", |net| !net[twin].ended().is_empty());
    // Try again with the name typed in the dialog.
    net[twin].write(Rejoin {
        name: Some("Ben".into()),
    });
    let has_ben = |net: &TestNet| net[ann].roster().players.iter().any(|p| p.name == "Ben");
    net.step_until(LIMIT, "in as Ben", |net| net[twin].joined() && has_ben(net));
    // The connection drops; Reconnect joins under the new name, not the refused one.
    net.wire.cut(net[twin].roster().me.unwrap());
    net.step_until(LIMIT, "Ben's session over", |net| {
        net[ann].roster().players.len() == 1 && !net[twin].joined()
    });
    net[twin].write(Rejoin::default());
    net.step_until(LIMIT, "Ben back", |net| net[twin].joined() && has_ben(net));
}

/// A session that ended leaves nothing of itself in the next one: a join that fails shows only
/// its own failure, not the last room's chat, players, drawing or game, and failing again from
/// the dialog does not pile the failures up. (The last room's chat and players stayed, and
/// each failed attempt added a line.)
#[test]
fn a_failed_join_shows_only_its_own_failure() {
    let mut net = den_without_held_seats();
    let (ann, ben) = (0, 1);
    net[ann].say("hello from the old room");
    net[ann].write(DrawInput::TakePen);
    net.step_until(LIMIT, "Ann holds the pen", |net| {
        let pen = net[ann].resource::<CanvasState>().pen;
        pen.is_some() && pen == net[ann].roster().me
    });
    net[ann].write(DrawInput::Begin(BoardPoint::new(100, 100)));
    net[ann].write(DrawInput::MoveTo(BoardPoint::new(200, 100)));
    net[ann].write(DrawInput::End);
    net.step_until(LIMIT, "the line and the stroke seen", |net| {
        net[ben].lines().len() == 1 && net[ben].resource::<CanvasState>().drawing.strokes().len() == 1
    });
    net[ann].leave();
    net.step_until(LIMIT, "Ann gone", |net| {
        net[ann].state() == ClientState::Disconnected && net[ben].roster().players.len() == 1
    });

    // A join where nobody listens, then twice again from the dialog.
    net[ann].write(JoinServer {
        addr: "memory:9".into(),
        join: JoinRequest {
            name: "Ann".into(),
            room: None,
            host_token: None,
            resume: None,
            spectate: false,
        },
    });
    for attempt in 0..3 {
        if attempt > 0 {
            net[ann].write(Rejoin::default());
        }
        let before = net[ann].ended().len();
        net.step_until(LIMIT, "the join failed", |net| {
            net[ann].ended().len() > before && net[ann].state() == ClientState::Disconnected
        });
        let client = &net[ann];
        assert!(
            client.lines().is_empty(),
            "attempt {attempt}: {:?}",
            client.lines()
        );
        let log = &client.resource::<crate::plugins::chat::ChatLog>().entries;
        assert_eq!(log.len(), 1, "attempt {attempt}: {log:?}");
        let roster = client.roster();
        assert_eq!(
            (roster.me, roster.players.len(), roster.room.as_str()),
            (None, 0, "")
        );
        let canvas = client.resource::<CanvasState>();
        assert!(canvas.drawing.strokes().is_empty());
        assert_eq!(canvas.pen, None);
        let quiz = client.resource::<QuizView>();
        assert!(quiz.game.is_none() && quiz.last_game.is_none());
    }
}

/// Leaving forgets the room on the leaver's side (the rooms plugin does it, whoever asked).
#[test]
fn a_player_who_leaves_is_in_no_room() {
    let mut net = den_without_held_seats();
    net[0].leave();
    net.step_until(LIMIT, "Ben alone", |net| net[1].roster().players.len() == 1);
    let roster = net[0].roster();
    assert_eq!((roster.me, roster.players.len(), roster.host), (None, 0, None));
    assert!(net[0].resource::<Reconnecting>().0.is_none());
    assert!(net[0].ended().is_empty(), "leaving is not a session that failed");
}

/// A kicked player is told why, does not try to get the seat back, and is not told it could
/// not join (a kick is not a refusal at the door).
#[test]
fn a_kicked_player_is_told_why_and_does_not_come_back_by_itself() {
    use crate::plugins::rooms::{KickReason, ModerationRequest};
    let mut net = den_without_held_seats();
    let ben = net[1].roster().me.unwrap();
    net[0].send(ModerationRequest::Kick {
        target: ben,
        reason: KickReason::Spamming,
    });
    net.step_until(LIMIT, "Ben's session over", |net| !net[1].ended().is_empty());
    net.run_for(Duration::from_secs(3));
    assert_eq!(
        net[1].ended(),
        ["you were kicked from the room by the host, Ann, for spamming"]
    );
    let notices = net[1].notices();
    assert!(
        notices
            .last()
            .is_some_and(|n| n.starts_with("Removed: you were kicked")),
        "{notices:?}"
    );
    assert!(net[1].resource::<Reconnecting>().0.is_none());
    assert_eq!(net[0].roster().players.len(), 1);
}
