//! Requests that cost the server more than they cost the sender, over loopback TCP: each is
//! bounded (bytes back to the requester at most 16x its bytes in, no picture for a request
//! that could not have put the requester out of step).

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use catchmind::app::ServerOptions;
use catchmind::plugins::canvas::model::MAX_BATCH_POINTS;
use catchmind::plugins::canvas::{BoardPoint, CanvasToClient, CanvasToServer, Delta};
use catchmind::plugins::net::{CloseReason, NetConfig, Refusal, ToServer};
use catchmind::plugins::rooms::RoomConfig;
use common::{
    Client, ClientMsg, RawPeer, ServerMsg, child_server, start_lenient_server, start_server, step_for,
    step_until,
};

const LIMIT: Duration = Duration::from_secs(10);

/// The painter takes the pen and draws `strokes` strokes of `batches` full batches each.
fn draw_a_big_picture(painter: &mut Client, strokes: i16, batches: usize) {
    let send = |painter: &mut Client, msg| {
        painter.app.world_mut().write_message(ToServer(msg));
        painter.step();
    };
    send(painter, CanvasToServer::TakePen);
    step_until(&mut [&mut *painter], LIMIT, "the pen", |cs| {
        cs[0].canvas().pen.is_some()
    });
    for s in 0..strokes {
        let brush = painter.canvas().current_brush();
        let at = BoardPoint::new(20 + s * 40, 20);
        send(painter, CanvasToServer::Start { brush, at });
        for b in 0..batches {
            let sign = if b % 2 == 0 { 1 } else { -1 };
            let deltas = (0..MAX_BATCH_POINTS)
                .map(|i| -> Delta { [i as i16 % 2, sign * (1 - i as i16 % 2)] })
                .collect();
            send(painter, CanvasToServer::Points(deltas));
            std::thread::sleep(Duration::from_millis(20));
        }
        send(painter, CanvasToServer::End);
    }
    step_for(&mut [&mut *painter], Duration::from_millis(300));
}

/// A server whose lobby holds a painter, a viewer and a picture of 10 strokes (about 100 KB
/// as a log); returns once the viewer shows it all.
fn a_room_with_a_big_picture() -> (catchmind::app::HostedServer, Client, Client) {
    let server = start_server(ServerOptions::default());
    let mut painter = Client::connect(server.addr, "Painter", None);
    let mut viewer = Client::connect(server.addr, "Viewer", None);
    common::join_all(&mut [&mut painter, &mut viewer]);
    draw_a_big_picture(&mut painter, 10, 4);
    step_until(&mut [&mut painter, &mut viewer], LIMIT, "the picture", |cs| {
        cs[1].canvas().drawing.point_count() == 10 * (1 + 4 * MAX_BATCH_POINTS)
    });
    (server, painter, viewer)
}

/// Every byte the server sends until it has been quiet for `quiet`.
fn drain(peer: &mut RawPeer, quiet: Duration) -> usize {
    peer.stream.set_read_timeout(Some(quiet)).unwrap();
    let mut total = 0;
    let mut buf = [0u8; 64 * 1024];
    while let Ok(n) = peer.stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        total += n;
    }
    total
}

#[test]
fn refused_undo_and_clear_from_a_non_holder_do_not_bring_the_picture_back() {
    let (server, mut painter, mut viewer) = a_room_with_a_big_picture();

    let mut attacker = RawPeer::connect(server.addr);
    attacker.hello("Mallory");
    // The join brings the picture once (joins are bounded elsewhere); wait for the log.
    let deadline = Instant::now() + LIMIT;
    let mut logged = 0;
    while logged < 10 {
        assert!(Instant::now() < deadline, "no picture at join");
        if let Some(ServerMsg::Canvas(CanvasToClient::Log { strokes, .. })) = attacker.recv() {
            logged += strokes.len();
        }
    }
    let at_join = drain(&mut attacker, Duration::from_millis(300));
    assert!(at_join < 1024, "the rest of the join is small: {at_join} bytes");

    let mut sent = 0;
    let mut received = 0;
    for i in 0..30 {
        let request = if i % 2 == 0 {
            CanvasToServer::Undo
        } else {
            CanvasToServer::Clear
        };
        let frame = ClientMsg::Canvas(request).encode();
        sent += frame.len() + 4;
        attacker.send_frame(&frame);
        received += drain(&mut attacker, Duration::from_millis(70));
    }
    received += drain(&mut attacker, Duration::from_millis(300));
    eprintln!("refused Undo/Clear: {sent} bytes in, {received} bytes back");
    assert!(
        received <= 16 * sent,
        "{sent} bytes of refused requests brought {received} bytes back"
    );
    step_for(&mut [&mut painter, &mut viewer], Duration::from_millis(100));
    assert_eq!(viewer.canvas().drawing.strokes().len(), 10, "the picture stands");
}

#[test]
fn a_slow_reader_is_dropped_once_its_queue_passes_its_byte_budget() {
    // A budget small enough to see, with the room producing far more than the peer reads.
    let server = start_lenient_server(NetConfig {
        outbound_bytes: 32 * 1024,
        socket_send_buffer: Some(8 * 1024),
        ..NetConfig::default()
    });
    let mut a = Client::connect(server.addr, "Alice", None);
    let mut b = Client::connect(server.addr, "Bob", None);
    common::join_all(&mut [&mut a, &mut b]);
    let mut slow = RawPeer::connect_small_buffer(server.addr);
    slow.hello("Slow");
    step_until(&mut [&mut a, &mut b], LIMIT, "slow joined", |cs| {
        cs.iter().all(|c| c.roster().players.len() == 3)
    });
    // The slow peer reads 2 KB every 50 ms (40 KB/s: never a stall) on its own thread.
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        slow.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        while let Ok(n) = slow.stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    // About 250 lines of 900 bytes a second: ~220 KB/s for the slow peer.
    let filler = "가".repeat(290);
    let started = Instant::now();
    let mut sent = 0;
    let dropped = |c: &Client| {
        c.notices()
            .iter()
            .any(|n| n.starts_with("Slow was disconnected: not reading fast enough"))
    };
    while !dropped(&b) && started.elapsed() < Duration::from_secs(20) {
        for _ in 0..4 {
            a.say(&format!("{sent:05} {filler}"));
            sent += 1;
        }
        step_for(&mut [&mut a, &mut b], Duration::from_millis(16));
    }
    let elapsed = started.elapsed();
    eprintln!("slow reader dropped after {elapsed:?} ({sent} lines sent)");
    assert!(dropped(&b), "the slow reader was never dropped");
    // Past 32 KiB of queue it goes at once (a fraction of a second here); before the byte
    // budget it went only when 1,024 frames had queued (about 900 KB, 4 s at this rate).
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    step_until(&mut [&mut a, &mut b], LIMIT, "every line", |cs| {
        cs.iter().all(|c| c.lines().len() >= sent)
    });
    reader.join().unwrap();
}

#[test]
fn one_address_cannot_take_every_seat_and_the_lobby_is_always_there() {
    let server = start_server(ServerOptions {
        rooms: RoomConfig {
            room_size: 64,
            max_rooms: 2,
            ..RoomConfig::default()
        },
        ..ServerOptions::default()
    });
    // Rooms made before anyone entered the lobby fill the room cap, not the lobby's place.
    let mut makers: Vec<RawPeer> = ["first", "second"]
        .iter()
        .map(|room| {
            let mut peer = RawPeer::connect_from(server.addr, [127, 0, 0, 3]);
            peer.join(&format!("maker {room}"), Some(room)).expect("a room");
            peer
        })
        .collect();
    let mut third = RawPeer::connect_from(server.addr, [127, 0, 0, 3]);
    let refused = third.join("maker third", Some("third")).unwrap_err();
    assert!(refused.contains("no room for a new room"), "{refused}");

    // One address holds at most 16 connections, in the lobby or anywhere.
    let mut house: Vec<RawPeer> = (0..16)
        .map(|i| {
            let mut peer = RawPeer::connect(server.addr);
            peer.join(&format!("p{i}"), None).expect("a seat in the lobby");
            peer
        })
        .collect();
    let mut one_more = RawPeer::connect(server.addr);
    assert_eq!(
        one_more.closing_reason(),
        Some(CloseReason::Refused(Refusal::TooManyFromAddress)),
        "the 17th connection from one address is told why"
    );
    // Another address still gets in, and a freed slot is usable again.
    let mut neighbour = RawPeer::connect_from(server.addr, [127, 0, 0, 2]);
    neighbour
        .join("neighbour", None)
        .expect("another address gets in");
    house.pop();
    std::thread::sleep(Duration::from_millis(300));
    let mut back = RawPeer::connect(server.addr);
    back.join("back", None).expect("a freed slot");
    makers.clear();
}

#[test]
fn connections_that_never_finish_the_handshake_are_capped_per_address() {
    let server = start_server(ServerOptions::default());
    let _half_open: Vec<RawPeer> = (0..8).map(|_| RawPeer::connect(server.addr)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut ninth = RawPeer::connect(server.addr);
    assert_eq!(
        ninth.closing_reason(),
        Some(CloseReason::Refused(Refusal::TooManyFromAddress))
    );
    let mut neighbour = RawPeer::connect_from(server.addr, [127, 0, 0, 2]);
    neighbour
        .join("neighbour", None)
        .expect("another address gets in");
}

/// A server process of its own, killed when dropped.
#[cfg(unix)]
#[test]
fn a_server_under_a_low_open_file_limit_raises_it_and_says_full_past_its_cap() {
    // The common soft limit of 1,024 is too much for a quick test: 64 shows the same.
    let (_child, addr) = child_server("ulimit -Sn 64", &[], "--max-connections 100");
    // 100 players from 10 addresses, in 10 rooms: each is answered.
    let players: Vec<RawPeer> = (0..100u8)
        .map(|i| {
            let mut peer = RawPeer::connect_from(addr, [127, 0, 0, 2 + i / 10]);
            peer.join(&format!("p{i}"), Some(&format!("room{}", i / 10)))
                .unwrap_or_else(|e| panic!("player {i}: {e}"));
            peer
        })
        .collect();
    let mut one_more = RawPeer::connect_from(addr, [127, 0, 0, 20]);
    assert_eq!(
        one_more.closing_reason(),
        Some(CloseReason::Refused(Refusal::ServerFull))
    );
    drop(players);
}

#[cfg(unix)]
#[test]
fn a_server_out_of_descriptors_still_says_full() {
    // No spare descriptors and a cap the limit cannot hold: accept itself fails part way.
    let (_child, addr) = child_server(
        "ulimit -n 48",
        &[("CATCHMIND_SPARE_FILES", "0")],
        "--max-connections 48",
    );
    let mut players = Vec::new();
    let mut full = 0;
    for i in 0..48u8 {
        let mut peer = RawPeer::connect_from(addr, [127, 0, 0, 2 + i / 8]);
        peer.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        match peer.join(&format!("p{i}"), Some(&format!("room{}", i / 12))) {
            Ok(_) => players.push(peer),
            Err(why) if why.contains("full") => full += 1,
            // Before: a newcomer past the descriptors waited unanswered (then timed out).
            Err(why) => panic!("player {i}: {why}"),
        }
    }
    eprintln!("{} joined, {full} told the server is full", players.len());
    assert!(full > 0, "the limit was never reached");
    assert!(players.len() >= 20, "{} joined", players.len());
}

#[test]
fn joining_and_leaving_in_a_loop_pulls_at_most_six_pictures_a_minute() {
    let (server, mut painter, mut viewer) = a_room_with_a_big_picture();
    let (mut sent, mut pictures) = (0, 0);
    for i in 0..12 {
        let mut peer = RawPeer::connect_from(server.addr, [127, 0, 0, 5]);
        for msg in [
            ClientMsg::hello(),
            ClientMsg::Join(common::hello(&format!("j{i}"), None)),
        ] {
            let frame = msg.encode();
            sent += frame.len() + 4;
            peer.send_frame(&frame);
        }
        // Read what the join brings for a moment, counting the pictures, then leave.
        peer.stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        while let Some(msg) = peer.recv() {
            if let ServerMsg::Canvas(CanvasToClient::Log { replace: true, .. }) = msg {
                pictures += 1;
            }
        }
        drop(peer);
    }
    eprintln!("12 joins from one address: {pictures} pictures ({sent} bytes sent)");
    assert_eq!(pictures, 6, "six pictures a minute per address, the rest owed");
    step_for(&mut [&mut painter, &mut viewer], Duration::from_millis(100));
}

#[test]
fn look_alike_and_blank_names_are_refused_and_a_look_alike_lobby_is_the_lobby() {
    let server = start_server(ServerOptions::default());
    let mut alice = RawPeer::connect(server.addr);
    let welcome = alice.join("Alice", None).expect("Alice joins");
    assert_eq!(welcome.room, "lobby");
    for (i, look_alike) in ["\u{0410}lice", "\u{13AA}lice", "AL\u{0399}CE"]
        .iter()
        .enumerate()
    {
        let mut peer = RawPeer::connect(server.addr);
        let refused = peer.join(look_alike, None).unwrap_err();
        assert!(refused.contains("taken"), "{i}: {refused}");
    }
    let mut blank = RawPeer::connect(server.addr);
    let refused = blank.join("\u{3164}\u{3164}", None).unwrap_err();
    assert!(refused.contains("invisible"), "{refused}");
    let mut family = RawPeer::connect(server.addr);
    family
        .join("\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}", None)
        .expect("an emoji family is a name");
    let mut cyrillic_lobby = RawPeer::connect(server.addr);
    let welcome = cyrillic_lobby
        .join("Bob", Some("l\u{043E}bby"))
        .expect("Bob joins");
    assert_eq!(welcome.room, "lobby", "the room that reads lobby is the lobby");
}

#[test]
fn one_address_makes_at_most_four_rooms_and_the_lobby_and_others_stay_open() {
    let server = start_server(ServerOptions::default());
    let mut makers: Vec<RawPeer> = (0..4)
        .map(|i| {
            let mut peer = RawPeer::connect_from(server.addr, [127, 0, 0, 7]);
            peer.join(&format!("maker{i}"), Some(&format!("room{i}")))
                .expect("a room of its own");
            peer
        })
        .collect();
    let mut fifth = RawPeer::connect_from(server.addr, [127, 0, 0, 7]);
    let refused = fifth.join("maker4", Some("room4")).unwrap_err();
    assert!(refused.contains("made 4 rooms"), "{refused}");
    // The same address may still join rooms that exist, and the lobby.
    RawPeer::connect_from(server.addr, [127, 0, 0, 7])
        .join("visitor", Some("room0"))
        .expect("joins an existing room");
    RawPeer::connect_from(server.addr, [127, 0, 0, 7])
        .join("lobbyist", None)
        .expect("the lobby");
    // Another address makes its own.
    RawPeer::connect_from(server.addr, [127, 0, 0, 8])
        .join("neighbour", Some("room4"))
        .expect("another address makes a room");
    // A room of its own that closes frees a place.
    makers.pop().unwrap().leave();
    std::thread::sleep(Duration::from_millis(300));
    RawPeer::connect_from(server.addr, [127, 0, 0, 7])
        .join("maker5", Some("room5"))
        .expect("a place freed");
}

#[test]
fn one_name_joining_and_leaving_a_room_in_a_loop_waits() {
    let server = start_server(ServerOptions::default());
    // Six joins of one name at once are fine (a player whose game crashed comes back)...
    for _ in 0..6 {
        let mut peer = RawPeer::connect(server.addr);
        peer.join("Looper", Some("loop")).expect("joins");
        peer.leave();
        std::thread::sleep(Duration::from_millis(30));
    }
    // ...the seventh within the minute waits; other names and rooms do not.
    let refused = RawPeer::connect(server.addr)
        .join("looper", Some("loop"))
        .unwrap_err();
    assert!(refused.contains("joined this room too often"), "{refused}");
    RawPeer::connect(server.addr)
        .join("Looper", Some("elsewhere"))
        .expect("another room");
    RawPeer::connect(server.addr)
        .join("Other", Some("loop"))
        .expect("another name");
}

#[test]
fn the_largest_picture_the_rules_accept_reaches_a_joiner_reading_at_a_megabyte_a_second() {
    use catchmind::plugins::canvas::fill::FillMask;
    use catchmind::plugins::canvas::model::MAX_DRAWING_POINTS;
    let server = start_server(ServerOptions::default());
    let mut painter = RawPeer::connect(server.addr);
    painter.join("Painter", None).expect("joins");
    let mut send = |msg: CanvasToServer| {
        painter.send(&ClientMsg::Canvas(msg));
        std::thread::sleep(Duration::from_millis(10));
    };
    send(CanvasToServer::TakePen);
    // Long strokes at the board's far corner (each point six bytes in the log) up to the point
    // cap, then fills of the most runs until well past what the rules take.
    let brush = catchmind::plugins::canvas::Brush {
        colour: [20, 20, 20],
        size: 6,
        eraser: false,
    };
    let stroke_points = 1 + 7 * MAX_BATCH_POINTS;
    let strokes = MAX_DRAWING_POINTS / stroke_points;
    for _ in 0..strokes {
        send(CanvasToServer::Start {
            brush,
            at: BoardPoint::new(1500, 800),
        });
        for _ in 0..7 {
            send(CanvasToServer::Points(vec![[0, 0]; MAX_BATCH_POINTS]));
        }
        send(CanvasToServer::End);
    }
    let mask = FillMask {
        top: 0,
        rows: (0..800).map(|_| [1, 1].repeat(10)).collect(),
    };
    for _ in 0..40 {
        send(CanvasToServer::Fill {
            at: BoardPoint::new(1, 0),
            colour: [200, 0, 0],
            mask: mask.clone(),
        });
    }
    // What the rules refused, and so what the picture holds.
    let mut refused = 0;
    while let Ok(Some(msg)) = painter.recv_within(Duration::from_secs(2)) {
        refused += usize::from(matches!(msg, ServerMsg::Canvas(CanvasToClient::Refused(_))));
    }
    let expected = strokes + 40 - refused;
    eprintln!(
        "the picture: {strokes} strokes, {} fills ({refused} refused)",
        40 - refused
    );

    // A joiner whose link carries a megabyte a second (a small receive buffer, read at that
    // rate) gets the whole picture and is not dropped as a slow reader.
    let mut joiner = RawPeer::connect_small_buffer(server.addr);
    joiner.join("Joiner", None).expect("joins");
    joiner
        .stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let (mut received, mut bytes) = (0, 0);
    let started = Instant::now();
    while received < expected {
        let mut header = [0u8; 4];
        if joiner.stream.read_exact(&mut header).is_err() {
            break;
        }
        let mut payload = vec![0u8; u32::from_be_bytes(header) as usize];
        joiner.stream.read_exact(&mut payload).expect("a whole frame");
        bytes += payload.len() + 4;
        std::thread::sleep(Duration::from_micros(payload.len() as u64));
        match ServerMsg::decode(&payload) {
            ServerMsg::Canvas(CanvasToClient::Log { strokes, .. }) => received += strokes.len(),
            ServerMsg::Control(catchmind::plugins::net::wire::ServerControl::Closing(why)) => {
                panic!("the joiner was closed: {why:?} after {bytes} bytes")
            }
            _ => {}
        }
    }
    eprintln!("the joiner got {bytes} bytes in {:?}", started.elapsed());
    assert_eq!(received, expected, "the whole picture ({bytes} bytes)");
}
