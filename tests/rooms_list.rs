//! The room list over loopback: a browse-only connection lists a server's rooms without
//! joining one, is answered at most once a second and only with a changed list, counts
//! against its address's limits, and may join a room afterwards on the same connection; the
//! game's own client browses and joins from the list.

mod common;

use std::time::{Duration, Instant};

use catchmind::app::ServerOptions;
use catchmind::app::headless_client_app;
use catchmind::plugins::net::wire::ServerControl;
use catchmind::plugins::net::{
    AddressLimits, ClientState, CloseReason, NetConfig, Refusal, ToServer, Violation,
};
use catchmind::plugins::quiz::{Pack, QuizToServer, QuizView, Settings};
use catchmind::plugins::rooms::{BrowseServer, Browsing, JoinServer, RoomConfig, RoomList};
use common::{Client, ClientMsg, RawPeer, ServerMsg, hello, start_server, step_until};

const LIMIT: Duration = Duration::from_secs(10);

/// Waits for the next room list on a browsing connection (other messages are not expected).
fn next_list(peer: &mut RawPeer, within: Duration) -> Option<RoomList> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match peer
            .recv_within(left)
            .expect("the browsing connection stays open")
        {
            Some(ServerMsg::Rooms(list)) => return Some(list),
            Some(ServerMsg::Control(ServerControl::Ready)) => {}
            Some(other) => panic!("a browser got {other:?}"),
            None => return None,
        }
    }
}

fn browse(server: std::net::SocketAddr) -> RawPeer {
    let mut peer = RawPeer::connect(server);
    peer.send(&ClientMsg::hello());
    peer.send(&ClientMsg::ListRooms);
    peer
}

fn summary(list: &RoomList) -> Vec<(String, u16, u16, bool, Option<String>)> {
    list.rooms
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                r.players,
                r.capacity,
                r.playing,
                r.language.clone(),
            )
        })
        .collect()
}

#[test]
fn a_browser_lists_the_rooms_without_joining_and_is_answered_at_most_once_a_second() {
    let server = start_server(ServerOptions {
        rooms: RoomConfig {
            join_timeout: Duration::from_secs(1),
            ..RoomConfig::default()
        },
        ..ServerOptions::default()
    });
    // Ann first, so she hosts Zoo (and may start its game).
    let mut ann = Client::connect(server.addr, "Ann", Some("Zoo"));
    step_until(&mut [&mut ann], LIMIT, "Ann joined", |cs| cs[0].joined());
    let mut bob = Client::connect(server.addr, "Bob", Some("Zoo"));
    let mut cat = Client::connect(server.addr, "Cat", Some("Attic"));
    let mut dan = Client::connect(server.addr, "Dan", None);
    common::join_all(&mut [&mut ann, &mut bob]);
    step_until(&mut [&mut cat, &mut dan], LIMIT, "joined", |cs| {
        cs.iter().all(|c| c.joined())
    });
    // Zoo plays an English game.
    ann.app
        .world_mut()
        .write_message(ToServer(QuizToServer::Start(Settings {
            pack: Pack::English,
            ..Settings::default()
        })));
    step_until(&mut [&mut ann, &mut bob], LIMIT, "the game", |cs| {
        cs.iter()
            .all(|c| c.app.world().resource::<QuizView>().game.is_some())
    });

    let mut browser = browse(server.addr);
    // Several requests at once get one answer.
    browser.send(&ClientMsg::ListRooms);
    browser.send(&ClientMsg::ListRooms);
    let list = next_list(&mut browser, LIMIT).expect("a room list");
    assert_eq!(
        summary(&list),
        [
            ("lobby".into(), 1, 12, false, None),
            ("Zoo".into(), 2, 12, true, Some("en".into())),
            ("Attic".into(), 1, 12, false, None),
        ]
    );
    assert_eq!((list.total, list.max_rooms), (3, 256));
    // The browser took no seat: nobody saw it arrive.
    for client in [&mut ann, &mut bob, &mut cat, &mut dan] {
        client.step();
    }
    assert_eq!(ann.roster().players.len(), 2);
    assert_eq!(dan.roster().players.len(), 1);

    // Unchanged: asking again (past the 1 s join timeout) keeps the connection open and gets
    // nothing back.
    for _ in 0..3 {
        browser.send(&ClientMsg::ListRooms);
        assert_eq!(next_list(&mut browser, Duration::from_millis(700)), None);
    }
    // A change is answered.
    let mut eve = Client::connect(server.addr, "Eve", Some("Attic"));
    step_until(&mut [&mut eve], LIMIT, "Eve joined", |cs| cs[0].joined());
    browser.send(&ClientMsg::ListRooms);
    let list = next_list(&mut browser, LIMIT).expect("the changed list");
    let answered = Instant::now();
    // Two rooms of two: by name.
    let names: Vec<(&str, u16)> = list.rooms.iter().map(|r| (r.name.as_str(), r.players)).collect();
    assert_eq!(names, [("lobby", 1), ("Attic", 2), ("Zoo", 2)]);
    // Another change at once waits for the second to be up.
    let mut gus = Client::connect(server.addr, "Gus", None);
    step_until(&mut [&mut gus], LIMIT, "Gus joined", |cs| cs[0].joined());
    browser.send(&ClientMsg::ListRooms);
    let list = next_list(&mut browser, LIMIT).expect("the changed list");
    let waited = answered.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "answered again after {waited:?}"
    );
    assert_eq!(list.rooms[0].players, 2);

    // Joining on the browsing connection.
    browser.send(&ClientMsg::Join(hello("Fay", Some("Attic"))));
    loop {
        match browser.recv().expect("a welcome") {
            ServerMsg::Welcome(welcome) => {
                assert_eq!((welcome.room.as_str(), welcome.players.len()), ("Attic", 3));
                assert!(welcome.players.iter().any(|p| p.name == "Fay"));
                break;
            }
            ServerMsg::Rooms(_) => {}
            _ => {}
        }
    }
    // A member may not browse: that breaks the protocol.
    browser.send(&ClientMsg::ListRooms);
    assert_eq!(
        browser.closing_reason(),
        Some(CloseReason::ProtocolViolation(Violation::Unexpected))
    );
}

#[test]
fn a_browser_that_stops_asking_is_closed_after_the_join_timeout() {
    let server = start_server(ServerOptions {
        rooms: RoomConfig {
            join_timeout: Duration::from_millis(600),
            ..RoomConfig::default()
        },
        ..ServerOptions::default()
    });
    let mut browser = browse(server.addr);
    let list = next_list(&mut browser, LIMIT).expect("a list");
    assert_eq!(list.rooms.len(), 1, "the lobby");
    let quiet = Instant::now();
    assert_eq!(browser.closing_reason(), Some(CloseReason::TimedOut));
    assert!(quiet.elapsed() < Duration::from_secs(3), "{:?}", quiet.elapsed());
}

#[test]
fn browsing_connections_count_against_the_address_limits() {
    let server = start_server(ServerOptions {
        net: NetConfig {
            per_address: AddressLimits {
                connections: 3,
                ..AddressLimits::default()
            },
            ..NetConfig::default()
        },
        ..ServerOptions::default()
    });
    let mut browsers: Vec<RawPeer> = (0..3).map(|_| browse(server.addr)).collect();
    for browser in &mut browsers {
        assert!(next_list(browser, LIMIT).is_some());
    }
    let mut one_more = browse(server.addr);
    assert_eq!(
        one_more.closing_reason(),
        Some(CloseReason::Refused(Refusal::TooManyFromAddress))
    );
}

#[test]
fn the_browsers_of_one_address_share_four_answers_a_second() {
    let server = start_server(ServerOptions::default());
    let mut browsers: Vec<RawPeer> = (0..8)
        .map(|_| {
            let mut peer = RawPeer::connect_from(server.addr, [127, 0, 0, 5]);
            peer.send(&ClientMsg::hello());
            peer.send(&ClientMsg::ListRooms);
            peer
        })
        .collect();
    // The list changes all the time: players arrive from another address, one every 300 ms.
    let churn = std::thread::spawn(move || {
        let mut peers = Vec::new();
        for i in 0..12 {
            let mut peer = RawPeer::connect_from(server.addr, [127, 0, 0, 9]);
            peer.join(&format!("p{i}"), Some("Busy")).expect("a seat");
            peers.push(peer);
            std::thread::sleep(Duration::from_millis(300));
        }
        peers
    });
    let start = Instant::now();
    let mut answers = 0;
    while start.elapsed() < Duration::from_secs(4) {
        for browser in &mut browsers {
            browser.send(&ClientMsg::ListRooms);
            while next_list(browser, Duration::from_millis(5)).is_some() {
                answers += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let secs = start.elapsed().as_secs_f64();
    churn.join().expect("the churn joined");
    // 8 at once, then 4 a second (one a second each would be 8 + 8 a second).
    let most = 8.0 + 4.0 * secs + 1.0;
    assert!(answers >= 12, "{answers} answers in {secs:.1} s");
    assert!(
        f64::from(answers) <= most,
        "{answers} answers in {secs:.1} s (at most {most:.0})"
    );
}

#[test]
fn the_games_client_lists_the_rooms_and_joins_one_from_the_list() {
    let server = start_server(ServerOptions::default());
    let mut ann = Client::connect(server.addr, "Ann", Some("Garden"));
    step_until(&mut [&mut ann], LIMIT, "joined", |cs| cs[0].joined());

    let mut app = headless_client_app();
    app.world_mut().write_message(BrowseServer {
        addr: server.addr.to_string(),
    });
    let deadline = Instant::now() + LIMIT;
    let listed = loop {
        app.update();
        let browsing = app.world().resource::<Browsing>();
        if let Some(list) = browsing.0.as_ref().and_then(|b| b.list.clone()) {
            break list;
        }
        assert!(Instant::now() < deadline, "no list");
        std::thread::sleep(Duration::from_millis(10));
    };
    let names: Vec<&str> = listed.rooms.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["lobby", "Garden"]);
    // A second join shows in the list, which refreshes by itself.
    let mut bob = Client::connect(server.addr, "Bob", Some("Garden"));
    step_until(&mut [&mut bob, &mut ann], LIMIT, "Bob joined", |cs| {
        cs[0].joined()
    });
    let deadline = Instant::now() + LIMIT;
    loop {
        app.update();
        let browsing = app.world().resource::<Browsing>();
        let garden = browsing
            .0
            .as_ref()
            .and_then(|b| b.list.as_ref())
            .map(|l| l.rooms[1].players);
        if garden == Some(2) {
            break;
        }
        assert!(Instant::now() < deadline, "the list did not refresh");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Joining from the list: the browse connection gives way to a joining one.
    app.world_mut().write_message(JoinServer {
        addr: server.addr.to_string(),
        join: hello("Cat", Some("Garden")),
    });
    let mut cat = Client::from_app(app, "Cat");
    step_until(&mut [&mut cat, &mut ann], LIMIT, "Cat joined Garden", |cs| {
        cs[0].joined() && cs[0].roster().room == "Garden" && cs[1].roster().players.len() == 3
    });
    assert_eq!(cat.state(), ClientState::Connected);
    assert!(cat.app.world().resource::<Browsing>().0.is_none());
}

/// A join refused for a room it would have made leaves no room behind: a spectator asking for a
/// new room where rooms take no spectators is refused, and the room is neither listed nor
/// counted against the room cap (a refused join used to leave an empty room that nothing ever
/// removed, listed and counted for good).
#[test]
fn a_refused_join_leaves_no_room_behind() {
    use catchmind::plugins::rooms::{JoinRequest, Rejection};
    let server = start_server(ServerOptions {
        rooms: RoomConfig {
            spectators: 0,
            max_rooms: 1,
            ..RoomConfig::default()
        },
        ..ServerOptions::default()
    });
    let mut watcher = RawPeer::connect(server.addr);
    let refused = watcher.join_with(JoinRequest {
        spectate: true,
        ..hello("Watcher", Some("den"))
    });
    assert!(
        matches!(refused, Err(Rejection::SpectatorsFull { .. })),
        "{refused:?}"
    );
    let mut browser = browse(server.addr);
    let list = next_list(&mut browser, LIMIT).expect("a room list");
    assert!(list.rooms.iter().all(|r| r.name != "den"), "{:?}", summary(&list));
    // The one room the cap allows is still there to be made.
    let mut player = RawPeer::connect(server.addr);
    let welcome = player.join_with(hello("Player", Some("attic")));
    assert!(welcome.is_ok(), "{welcome:?}");
}

#[test]
fn the_browsers_of_one_address_share_sixteen_kilobytes_of_lists_a_second() {
    use catchmind::plugins::rooms::browse::{LIST_BYTES_BURST, LIST_BYTES_PER_ADDRESS};
    let server = start_server(ServerOptions {
        rooms: RoomConfig {
            max_rooms: 512,
            ..RoomConfig::default()
        },
        ..ServerOptions::default()
    });
    // 100 rooms with long Hangul names, four from each of 25 addresses: a list of about 8 KB.
    let long = "방".repeat(20);
    let _members: Vec<RawPeer> = (0..100u8)
        .map(|i| {
            let mut peer = RawPeer::connect_from(server.addr, [127, 0, 0, 10 + i / 4]);
            peer.join(&format!("m{i}"), Some(&format!("{long}{i:03}")))
                .expect("a room");
            peer
        })
        .collect();
    // The list keeps changing: newcomers join those rooms, one every 100 ms.
    let churn = std::thread::spawn(move || {
        let mut peers = std::collections::VecDeque::new();
        for i in 0..40u8 {
            let mut peer = RawPeer::connect_from(server.addr, [127, 0, 0, 40 + i % 4]);
            let _ = peer.join(&format!("c{i}"), Some(&format!("{long}{:03}", i % 100)));
            peers.push_back(peer);
            if peers.len() > 8 {
                peers.pop_front();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    // Eight browsers at one address ask ten times a second.
    let mut browsers: Vec<RawPeer> = (0..8)
        .map(|_| {
            let mut peer = RawPeer::connect_from(server.addr, [127, 0, 0, 5]);
            peer.send(&ClientMsg::hello());
            peer
        })
        .collect();
    let start = Instant::now();
    let (mut bytes, mut lists, mut largest) = (0, 0, 0);
    while start.elapsed() < Duration::from_secs(4) {
        for browser in &mut browsers {
            browser.send(&ClientMsg::ListRooms);
            while let Some(list) = next_list(browser, Duration::from_millis(5)) {
                let size = catchmind::codec::encode(&list).unwrap().len();
                largest = largest.max(size);
                bytes += size;
                lists += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let secs = start.elapsed().as_secs_f64();
    churn.join().expect("the churn");
    eprintln!("{lists} lists, {bytes} bytes (the largest {largest}) in {secs:.1} s");
    assert!(largest > 6_000, "a long list: {largest} bytes");
    // Two lists at once, then 16 KiB a second (before: 8 answers at once, then 4 a second,
    // whatever their size).
    let most = LIST_BYTES_BURST + LIST_BYTES_PER_ADDRESS * secs;
    assert!(
        (bytes as f64) <= most,
        "{bytes} bytes in {secs:.1} s (at most {most:.0})"
    );
    assert!(lists >= 4, "answered: {lists} lists");
}
