//! Coming back after a dropped connection, over loopback TCP: the seat (name, score, turn,
//! strikes, chat rate) is held for a while and given back only to its session token. The game
//! client's side (back-off, give-up, joining again by hand) runs over the in-memory network in
//! `rooms/client_tests.rs`; here one cut TCP link shows the whole path.

mod common;

use std::time::Duration;

use catchmind::app::ServerOptions;
use catchmind::plugins::chat::{ChatRefusal, ChatToClient, ChatToServer};
use catchmind::plugins::rooms::{JoinRequest, Rejection, RoomConfig, Welcome};
use common::{
    Client, ClientMsg, CuttableLink, RawPeer, ServerMsg, hello, join_all, start_server, step_until,
};

const LIMIT: Duration = Duration::from_secs(15);

/// Joins with `join`; the welcome, or the room's refusal.
fn try_join(addr: std::net::SocketAddr, join: JoinRequest) -> (RawPeer, Result<Welcome, Rejection>) {
    join_on(RawPeer::connect(addr), join)
}

/// Joins with `join` on `peer`'s connection; the welcome, or the room's refusal.
fn join_on(mut peer: RawPeer, join: JoinRequest) -> (RawPeer, Result<Welcome, Rejection>) {
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

/// End to end over TCP: a cut link is noticed by both sides, and the game's client gets its
/// seat back by itself.
#[test]
fn a_cut_link_is_noticed_and_the_client_comes_back_by_itself() {
    let server = start_server(ServerOptions::default());
    let link = CuttableLink::to(server.addr);
    let mut ann = Client::connect(server.addr, "Ann", None);
    let mut ben = Client::connect(link.addr, "Ben", None);
    let mut players = [&mut ann, &mut ben];
    join_all(&mut players);
    let ben_id = players[1].roster().me;
    link.cut();
    step_until(&mut players, LIMIT, "Ben away", |cs| {
        notice_seen(cs[0], "Ben lost their connection")
    });
    step_until(&mut players, LIMIT, "Ben back", |cs| {
        notice_seen(cs[0], "Ben is back.") && cs[1].joined()
    });
    assert!(notice_seen(players[1], "Reconnected: you are back in your seat"));
    assert_eq!(players[1].roster().me, ben_id, "the same seat");
    assert!(players[1].ended().is_empty(), "{:?}", players[1].ended());
}

/// Joins `room` as `name` from 127.0.0.`source`; the welcome, or the room's refusal.
fn join_from(
    addr: std::net::SocketAddr,
    source: u8,
    name: &str,
    room: &str,
) -> (RawPeer, Result<Welcome, Rejection>) {
    join_on(
        RawPeer::connect_from(addr, [127, 0, 0, source]),
        hello(name, Some(room)),
    )
}

/// Joins until welcomed (the server may not have seen the drops yet), for up to 3 s.
fn join_when_room(addr: std::net::SocketAddr, source: u8, name: &str, room: &str) -> (RawPeer, Welcome) {
    let mut last = None;
    for _ in 0..10 {
        match join_from(addr, source, name, room) {
            (peer, Ok(welcome)) => return (peer, welcome),
            (_, Err(why)) => last = Some(why),
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("{name} never got into {room}: {last:?}");
}

#[test]
fn held_seats_give_way_to_newcomers_and_count_against_their_address() {
    let server = start_server(ServerOptions {
        rooms: RoomConfig {
            room_size: 3,
            seats_per_address: 2,
            ..RoomConfig::default()
        },
        ..ServerOptions::default()
    });
    // Three seats from three addresses fill room "full", then every connection drops.
    let ghosts: Vec<RawPeer> = (0..3)
        .map(|i| {
            let (peer, welcome) = join_from(server.addr, 10 + i, &format!("ghost{i}"), "full");
            welcome.expect("a ghost joins");
            peer
        })
        .collect();
    drop(ghosts);
    // A newcomer does not wait a minute for them: the seat held longest gives way.
    let (_newcomer, welcome) = join_when_room(server.addr, 20, "newcomer", "full");
    let names: Vec<(&str, bool)> = welcome
        .players
        .iter()
        .map(|p| (p.name.as_str(), p.away))
        .collect();
    // The room still has three places: the newcomer's and two ghosts' (held, or not yet seen
    // to drop).
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&("newcomer", false)), "{names:?}");

    // One address takes its two seats in room "x" and drops them: a third join from it, to
    // another room, gives up its seat held longest, so the address never holds more than two.
    for i in 0..2 {
        let (peer, welcome) = join_from(server.addr, 30, &format!("held{i}"), "x");
        welcome.expect("a seat");
        drop(peer);
        std::thread::sleep(Duration::from_millis(300));
    }
    let (_third, _) = join_when_room(server.addr, 30, "third", "y");
    let (_look, welcome) = join_when_room(server.addr, 31, "look", "x");
    let held: Vec<&str> = welcome
        .players
        .iter()
        .filter(|p| p.away)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(held, ["held1"], "the address's older held seat gave way");
}
