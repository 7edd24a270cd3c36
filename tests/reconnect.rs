//! Coming back after a dropped connection, over loopback TCP: the seat (name, score, turn,
//! strikes, chat rate) is held for a while and given back only to its session token.

mod common;

use std::sync::Arc;
use std::time::Duration;

use catchmind::app::ServerOptions;
use catchmind::id::ClientId;
use catchmind::plugins::chat::{ChatRefusal, ChatToClient, ChatToServer};
use catchmind::plugins::net::ToServer;
use catchmind::plugins::quiz::{Pack, PhaseView, QuizConfig, QuizToServer, QuizView, Settings, Timing};
use catchmind::plugins::rooms::{JoinRequest, Rejection, RoomConfig, Welcome};
use common::{
    Client, ClientMsg, CuttableLink, RawPeer, ServerMsg, hello, join_all, start_server, step_until,
};

const LIMIT: Duration = Duration::from_secs(15);

/// Joins with `join`; the welcome, or the room's refusal.
fn try_join(addr: std::net::SocketAddr, join: JoinRequest) -> (RawPeer, Result<Welcome, Rejection>) {
    let mut peer = RawPeer::connect(addr);
    peer.send(&ClientMsg::hello());
    peer.send(&ClientMsg::Join(join));
    while let Some(msg) = peer.recv() {
        match msg {
            ServerMsg::Welcome(welcome) => return (peer, Ok(welcome)),
            ServerMsg::Rejected(why) => return (peer, Err(why)),
            _ => {}
        }
    }
    panic!("closed without an answer");
}

fn resume(token: [u8; 16], room: Option<&str>) -> JoinRequest {
    JoinRequest {
        resume: Some(token),
        ..hello("anything", room)
    }
}

fn notice_seen(client: &Client, text: &str) -> bool {
    client.notices().iter().any(|n| n.contains(text))
}

#[test]
fn a_held_seat_comes_back_with_its_token_and_only_with_it() {
    let server = start_server(ServerOptions::default());
    let mut alice = Client::connect(server.addr, "Alice", None);
    join_all(&mut [&mut alice]);
    let (mut bob, welcome) = try_join(server.addr, hello("Bob", None));
    let welcome = welcome.expect("Bob joins");
    assert!(!welcome.resumed);
    assert_eq!(welcome.seat_hold_secs, 60);
    // Bob spends his whole chat burst (5 lines in 3 s), then his connection drops.
    for i in 0..5 {
        bob.send(&ClientMsg::Chat(ChatToServer::Say(format!("line {i}"))));
    }
    step_until(&mut [&mut alice], LIMIT, "Bob's lines", |cs| {
        cs[0].lines().len() == 5
    });
    drop(bob);
    step_until(&mut [&mut alice], LIMIT, "Bob away", |cs| {
        cs[0].roster().players.iter().any(|p| p.name == "Bob" && p.away)
    });
    assert!(notice_seen(
        &alice,
        "Bob lost their connection; their seat is kept"
    ));

    // Held: the name is taken (for as long as the seat is held), a forged token gives nothing,
    // a token for another room neither.
    match try_join(server.addr, hello("bob", None)).1 {
        Err(Rejection::NameHeld { name, secs }) => {
            assert_eq!(name, "bob");
            assert!((55..=60).contains(&secs), "held {secs} s more");
        }
        other => panic!("expected the held name, got {other:?}"),
    }
    assert_eq!(
        try_join(server.addr, resume([7; 16], None)).1,
        Err(Rejection::UnknownSession)
    );
    assert_eq!(
        try_join(server.addr, resume(welcome.session, Some("elsewhere"))).1,
        Err(Rejection::SeatElsewhere { room: "lobby".into() })
    );

    // The token gives the seat back: same id, same name, a new token.
    let (mut back, again) = try_join(server.addr, resume(welcome.session, None));
    let again = again.expect("the seat comes back");
    assert!(again.resumed);
    assert_eq!(again.you, welcome.you);
    assert_ne!(again.session, welcome.session, "a new token with every welcome");
    let me = again.players.iter().find(|p| p.id == again.you).unwrap();
    assert_eq!((me.name.as_str(), me.away), ("Bob", false));
    step_until(&mut [&mut alice], LIMIT, "Bob back", |cs| {
        notice_seen(cs[0], "Bob is back.")
    });
    assert_eq!(alice.roster().players.len(), 2, "one seat, not two");

    // His chat rate came back with him: a sixth line within the 3 s is refused.
    back.send(&ClientMsg::Chat(ChatToServer::Say("one too many".into())));
    loop {
        match back.recv().expect("an answer") {
            ServerMsg::Chat(ChatToClient::Refused(why)) => {
                assert!(matches!(why, ChatRefusal::TooFast { .. }), "{why:?}");
                break;
            }
            ServerMsg::Chat(ChatToClient::Line(line)) => {
                assert_ne!(line.text, "one too many", "the rate was reset by the reconnect")
            }
            _ => {}
        }
    }

    // The spent token is refused as used; the live one while the seat is taken as in use.
    assert_eq!(
        try_join(server.addr, resume(welcome.session, None)).1,
        Err(Rejection::SessionUsed)
    );
    assert_eq!(
        try_join(server.addr, resume(again.session, None)).1,
        Err(Rejection::SeatInUse)
    );
}

#[test]
fn a_seat_is_given_up_when_its_hold_runs_out() {
    let server = start_server(ServerOptions {
        rooms: RoomConfig {
            seat_hold: Duration::from_secs(1),
            ..RoomConfig::default()
        },
        ..ServerOptions::default()
    });
    let mut alice = Client::connect(server.addr, "Alice", None);
    join_all(&mut [&mut alice]);
    let (bob, welcome) = try_join(server.addr, hello("Bob", None));
    let welcome = welcome.unwrap();
    step_until(&mut [&mut alice], LIMIT, "Bob in", |cs| {
        cs[0].roster().players.len() == 2
    });
    drop(bob);
    // The seat given up: Bob leaves, for the reason his connection dropped.
    step_until(&mut [&mut alice], LIMIT, "Bob gone", |cs| {
        cs[0].roster().players.len() == 1 && notice_seen(cs[0], "Bob lost connection.")
    });
    assert_eq!(
        try_join(server.addr, resume(welcome.session, None)).1,
        Err(Rejection::SeatExpired { secs: 1 })
    );
    assert!(
        try_join(server.addr, hello("Bob", None)).1.is_ok(),
        "the name is free again"
    );
}

fn quiz(client: &Client) -> &QuizView {
    client.app.world().resource::<QuizView>()
}

fn phase(client: &Client) -> Option<PhaseView> {
    quiz(client).game.as_ref().map(|g| g.phase.clone())
}

fn send_quiz(client: &mut Client, msg: QuizToServer) {
    client.app.world_mut().write_message(ToServer(msg));
}

/// Steps both until each sees a drawing turn (a new one after `after`, by drawer) and returns
/// the drawer and the word (from the drawer's view).
fn play_to_drawing(players: &mut [&mut Client; 2], not_drawer: Option<ClientId>) -> (usize, String) {
    step_until(players, LIMIT, "a turn to choose", |cs| {
        cs.iter().all(
            |c| matches!(phase(c), Some(PhaseView::Choosing { drawer, .. }) if Some(drawer) != not_drawer),
        )
    });
    let drawer_id = phase(players[0]).unwrap().drawer();
    let d = players
        .iter()
        .position(|c| c.roster().me == Some(drawer_id))
        .unwrap();
    send_quiz(players[d], QuizToServer::Choose(0));
    step_until(players, LIMIT, "the drawing", |cs| {
        cs.iter()
            .all(|c| matches!(phase(c), Some(PhaseView::Drawing { .. })))
    });
    let Some(PhaseView::Drawing { word: Some(word), .. }) = phase(players[d]) else {
        panic!("the drawer sees the word")
    };
    (d, word)
}

#[test]
fn the_games_client_gets_its_seat_score_and_turn_back_by_itself() {
    let server = start_server(ServerOptions {
        quiz: QuizConfig {
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
        },
        ..ServerOptions::default()
    });
    let link = CuttableLink::to(server.addr);
    let mut ann = Client::connect(server.addr, "Ann", None);
    join_all(&mut [&mut ann]);
    let mut ben = Client::connect(link.addr, "Ben", None);
    let mut players = [&mut ann, &mut ben];
    join_all(&mut players);
    let ben_id = players[1].roster().me.unwrap();
    send_quiz(
        players[0],
        QuizToServer::Start(Settings {
            rounds: 1,
            pack: Pack::Custom,
            ..Settings::default()
        }),
    );
    // Turn 1: the guesser finds it, both score.
    let (d, word) = play_to_drawing(&mut players, None);
    players[1 - d].say(&word);
    let first_drawer = players[d].roster().me;
    let (d, word) = play_to_drawing(&mut players, first_drawer);
    let score = quiz(players[1]).score(ben_id).expect("Ben has a score");
    assert!(score > 0);

    // Turn 2 is being drawn when Ben's connection is cut: he comes back by himself.
    link.cut();
    step_until(&mut players, LIMIT, "Ben away", |cs| {
        notice_seen(cs[0], "Ben lost their connection")
    });
    step_until(&mut players, LIMIT, "Ben back", |cs| {
        notice_seen(cs[0], "Ben is back.") && cs[1].joined() && phase(cs[1]).is_some()
    });
    assert!(notice_seen(players[1], "Reconnected: you are back in your seat"));
    assert_eq!(players[1].roster().me, Some(ben_id), "the same seat");
    assert_eq!(quiz(players[1]).score(ben_id), Some(score), "the score kept");
    let Some(PhaseView::Drawing {
        drawer, word: seen, ..
    }) = phase(players[1])
    else {
        panic!("the turn goes on: {:?}", phase(players[1]))
    };
    assert_eq!(drawer, players[d].roster().me.unwrap(), "the same turn");
    assert_eq!(
        seen.is_some(),
        d == 1,
        "the drawer, and only the drawer, sees the word"
    );
    assert!(players[1].ended().is_empty(), "{:?}", players[1].ended());

    // And the turn ends as usual.
    players[1 - d].say(&word);
    step_until(&mut players, LIMIT, "the game's end", |cs| {
        cs.iter()
            .all(|c| quiz(c).game.is_none() && quiz(c).last_game.is_some())
    });
}

#[test]
fn a_goodbye_then_a_reset_while_messages_arrive_is_a_leave_not_a_drop() {
    // The room talks the whole time, so the server is writing to each leaver when it resets.
    let server = start_server(ServerOptions {
        chat: catchmind::plugins::chat::ChatConfig {
            burst: 10_000,
            window: Duration::from_secs(1),
        },
        net: catchmind::plugins::net::NetConfig {
            frames_per_second: 100_000.0,
            frame_burst: 100_000.0,
            ..Default::default()
        },
        ..ServerOptions::default()
    });
    let mut alice = Client::connect(server.addr, "Alice", None);
    join_all(&mut [&mut alice]);
    const LEAVERS: usize = 120;
    // The log keeps the last 500 entries: notices are collected as they come.
    let mut notices = std::collections::BTreeSet::new();
    fn collect(notices: &mut std::collections::BTreeSet<String>, alice: &Client) {
        notices.extend(alice.notices().into_iter().filter(|n| !n.starts_with("talk")));
    }
    for i in 0..LEAVERS {
        let mut peer = RawPeer::connect_from(server.addr, [127, 0, 0, 2 + (i / 8) as u8]);
        peer.join(&format!("Leaver{i}"), None).expect("joins");
        for k in 0..4 {
            alice.say(&format!("talk {i}.{k} {}", "가".repeat(280)));
        }
        alice.step();
        collect(&mut notices, &alice);
        std::thread::sleep(Duration::from_millis(2));
        // Goodbye, then a close with unread data: the kernel answers with a reset.
        peer.send(&ClientMsg::Control(
            catchmind::plugins::net::wire::ClientControl::Leave,
        ));
        let socket = socket2::SockRef::from(&peer.stream);
        socket.set_linger(Some(Duration::ZERO)).unwrap();
        drop(peer);
    }
    // Until each leaver is announced, one way or the other.
    step_until(&mut [&mut alice], LIMIT, "every leaver announced", |cs| {
        collect(&mut notices, cs[0]);
        let announced = |n: &&String| n.ends_with(" left.") || n.contains("lost their connection");
        cs[0].roster().players.len() == 1 && notices.iter().filter(announced).count() == LEAVERS
    });
    let dropped: Vec<&String> = notices
        .iter()
        .filter(|n| n.contains("lost their connection"))
        .collect();
    assert!(
        dropped.is_empty(),
        "{} of {LEAVERS} announced as drops (seat held): {dropped:?}",
        dropped.len()
    );
    let left = notices.iter().filter(|n| n.ends_with(" left.")).count();
    let other: Vec<&String> = notices
        .iter()
        .filter(|n| !n.ends_with(" left.") && !n.ends_with(" joined."))
        .collect();
    assert_eq!(left, LEAVERS, "{other:?}");
}

/// A server that holds no seats, a link to it that can be cut, and Ann in room "den".
fn ann_in_den_without_held_seats() -> (catchmind::app::HostedServer, CuttableLink, Client) {
    let server = start_server(ServerOptions {
        rooms: RoomConfig {
            seat_hold: Duration::ZERO,
            ..RoomConfig::default()
        },
        ..ServerOptions::default()
    });
    let link = CuttableLink::to(server.addr);
    let mut ann = Client::connect(server.addr, "Ann", Some("den"));
    join_all(&mut [&mut ann]);
    (server, link, ann)
}

#[test]
fn after_a_seat_is_lost_the_player_joins_again_by_hand() {
    // No seat kept: the drop ends the session; Reconnect joins the same room afresh.
    let (_server, link, mut ann) = ann_in_den_without_held_seats();
    let mut ben = Client::connect(link.addr, "Ben", Some("den"));
    let mut both = [&mut ann, &mut ben];
    join_all(&mut both);
    let first = both[1].roster().me;
    link.cut();
    step_until(&mut both, LIMIT, "Ben's session over", |cs| {
        !cs[1].ended().is_empty()
    });
    assert!(!both[1].joined());
    both[1]
        .app
        .world_mut()
        .write_message(catchmind::plugins::rooms::Rejoin::default());
    step_until(&mut both, LIMIT, "Ben back as a newcomer", |cs| {
        cs[1].joined() && cs[1].roster().room == "den" && cs[0].roster().players.len() == 2
    });
    assert_ne!(both[1].roster().me, first, "a new seat");
    step_until(&mut both, LIMIT, "Ann told twice", |cs| {
        cs[0].notices().iter().filter(|n| *n == "Ben joined.").count() == 2
    });
}

#[test]
fn a_name_turned_away_is_changed_in_the_dialog_and_kept_for_the_next_join() {
    let (_server, link, mut ann) = ann_in_den_without_held_seats();
    let mut twin = Client::connect(link.addr, "ann", Some("den"));
    let mut both = [&mut ann, &mut twin];
    step_until(&mut both, LIMIT, "the name turned away", |cs| {
        !cs[1].ended().is_empty()
    });
    // Try again with the name typed in the dialog.
    let rename = catchmind::plugins::rooms::Rejoin {
        name: Some("Ben".into()),
    };
    both[1].app.world_mut().write_message(rename);
    step_until(&mut both, LIMIT, "in as Ben", |cs| {
        cs[1].joined() && cs[0].roster().players.iter().any(|p| p.name == "Ben")
    });
    // The connection drops; Reconnect joins under the new name, not the refused one.
    link.cut();
    step_until(&mut both, LIMIT, "Ben's session over", |cs| {
        cs[0].roster().players.len() == 1 && !cs[1].joined()
    });
    both[1]
        .app
        .world_mut()
        .write_message(catchmind::plugins::rooms::Rejoin::default());
    step_until(&mut both, LIMIT, "Ben back", |cs| {
        cs[1].joined() && cs[0].roster().players.iter().any(|p| p.name == "Ben")
    });
}

/// A session that ended leaves nothing of itself in the next one: a join that fails shows only
/// its own failure, not the last room's chat, players, drawing or game, and failing again from
/// the dialog does not pile the failures up. (The last room's chat and players stayed, and
/// each failed attempt added a line.)
#[test]
fn a_failed_join_shows_only_its_own_failure() {
    use catchmind::plugins::canvas::{BoardPoint, DrawInput};
    use catchmind::plugins::net::ClientState;
    use catchmind::plugins::rooms::{JoinServer, Rejoin};
    let server = start_server(ServerOptions::default());
    let mut ann = Client::connect(server.addr, "Ann", None);
    let mut ben = Client::connect(server.addr, "Ben", None);
    let mut both = [&mut ann, &mut ben];
    join_all(&mut both);
    both[0].say("hello from the old room");
    both[0].draw(DrawInput::TakePen);
    step_until(&mut both, LIMIT, "Ann holds the pen", |cs| {
        cs[0].canvas().pen.is_some() && cs[0].canvas().pen == cs[0].roster().me
    });
    both[0].draw(DrawInput::Begin(BoardPoint::new(100, 100)));
    both[0].draw(DrawInput::MoveTo(BoardPoint::new(200, 100)));
    both[0].draw(DrawInput::End);
    step_until(&mut both, LIMIT, "the line and the stroke seen", |cs| {
        cs[1].lines().len() == 1 && cs[1].canvas().drawing.strokes().len() == 1
    });
    both[0].leave();
    step_until(&mut both, LIMIT, "Ann gone", |cs| {
        cs[0].state() == ClientState::Disconnected && cs[1].roster().players.len() == 1
    });

    // A join where nobody listens, then twice again from the dialog.
    let nowhere = format!("127.0.0.1:{}", common::free_port());
    ann.app.world_mut().write_message(JoinServer {
        addr: nowhere,
        join: hello("Ann", None),
    });
    for attempt in 0..3 {
        if attempt > 0 {
            ann.app.world_mut().write_message(Rejoin::default());
        }
        let before = ann.ended().len();
        step_until(&mut [&mut ann], LIMIT, "the join failed", |cs| {
            cs[0].ended().len() > before && cs[0].state() == ClientState::Disconnected
        });
        assert!(ann.lines().is_empty(), "attempt {attempt}: {:?}", ann.lines());
        assert_eq!(ann.log().len(), 1, "attempt {attempt}: {:?}", ann.log());
        let roster = ann.roster();
        assert_eq!(
            (roster.me, roster.players.len(), roster.room.as_str()),
            (None, 0, "")
        );
        assert!(ann.canvas().drawing.strokes().is_empty());
        assert_eq!(ann.canvas().pen, None);
        let quiz = ann.app.world().resource::<QuizView>();
        assert!(quiz.game.is_none() && quiz.last_game.is_none());
    }
}
