//! A real server and several game clients over loopback TCP: joining, chat, leaving and the
//! handshake's refusals.

mod common;

use std::time::Duration;

use catchmind::app::ServerOptions;
use catchmind::plugins::net::ClientState;
use catchmind::plugins::net::wire::ClientControl;
use catchmind::plugins::net::{CloseReason, PROTOCOL_VERSION, Refusal};
use catchmind::plugins::rooms::JoinRequest;
use catchmind::plugins::rooms::RoomConfig;
use common::{Client, ClientMsg, RawPeer, Tags, join_all, start_server, step_for, step_until};

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn late_joiner_gets_history_and_rooms_are_separate() {
    let server = start_server(ServerOptions::default());
    let mut a = Client::connect(server.addr, "Alice", None);
    let mut elsewhere = Client::connect(server.addr, "Dave", Some("다른 방"));
    step_until(&mut [&mut a, &mut elsewhere], LIMIT, "both joined", |cs| {
        cs.iter().all(|c| c.joined())
    });
    assert_eq!(elsewhere.roster().room, "다른 방");
    assert_eq!(elsewhere.roster().players.len(), 1);
    a.say("first");
    a.say("second");
    elsewhere.say("only in the other room");
    step_until(&mut [&mut a, &mut elsewhere], LIMIT, "lines echoed", |cs| {
        cs[0].lines().len() == 2 && cs[1].lines().len() == 1
    });

    let mut late = Client::connect(server.addr, "Eve", None);
    step_until(&mut [&mut a, &mut elsewhere, &mut late], LIMIT, "history", |cs| {
        cs[2].lines().len() == 2
    });
    assert_eq!(late.lines(), ["Alice: first", "Alice: second"]);
    // Dave's own next line arrives after anything the server sent him before it.
    elsewhere.say("still alone");
    step_until(
        &mut [&mut a, &mut elsewhere, &mut late],
        LIMIT,
        "Dave's line",
        |cs| cs[1].lines().last().is_some_and(|l| l == "Dave: still alone"),
    );
    assert_eq!(
        elsewhere.lines(),
        ["Dave: only in the other room", "Dave: still alone"],
        "chat stays in its room"
    );
    assert!(a.notices().iter().any(|n| n == "Eve joined."));
    assert!(!elsewhere.notices().iter().any(|n| n == "Eve joined."));
}

#[test]
fn wrong_version_and_taken_names_are_rejected_with_reasons() {
    let server = start_server(ServerOptions::default());
    let mut a = Client::connect(server.addr, "Alice", None);
    join_all(&mut [&mut a]);

    let mut old = RawPeer::connect(server.addr);
    old.send(&ClientMsg::Control(ClientControl::Hello {
        version: 0,
        fingerprint: Tags::get().fingerprint,
    }));
    assert_eq!(
        old.closing_reason(),
        Some(CloseReason::Refused(Refusal::VersionMismatch {
            server: PROTOCOL_VERSION,
            client: 0,
        }))
    );

    // The same protocol version with other registered messages (another build) is refused
    // with the server's build named, for the client to word both builds.
    let mut other = RawPeer::connect(server.addr);
    other.send(&ClientMsg::Control(ClientControl::Hello {
        version: PROTOCOL_VERSION,
        fingerprint: Tags::get().fingerprint ^ 1,
    }));
    let reason = other.closing_reason().expect("a reason");
    match &reason {
        CloseReason::Refused(Refusal::BuildMismatch {
            server,
            client,
            server_build,
        }) => {
            assert_eq!((*server, *client), (PROTOCOL_VERSION, PROTOCOL_VERSION));
            assert_eq!(server_build, catchmind::version::BUILD);
        }
        other => panic!("expected the build mismatch, got {other:?}"),
    }

    // A future client whose handshake we cannot decode at all still learns the mismatch.
    let mut future = RawPeer::connect(server.addr);
    future.send_frame(&[0, 0x7F, 1, 2, 3, 4, 5]);
    assert!(matches!(
        future.closing_reason(),
        Some(CloseReason::Refused(Refusal::BuildMismatch { client: 0x7F, .. }))
    ));

    let mut twin = Client::connect(server.addr, "ALICE", None);
    step_until(
        &mut [&mut a, &mut twin],
        LIMIT,
        "the duplicate's rejection",
        |cs| !cs[1].ended().is_empty(),
    );
    assert_eq!(
        twin.ended(),
        ["the server refused to let you in: the name \"ALICE\" is already taken in this room"]
    );
    assert_eq!(twin.state(), ClientState::Disconnected);

    let mut bad = Client::connect(server.addr, "a\u{202E}b", None);
    step_until(&mut [&mut a, &mut bad], LIMIT, "the bad name's rejection", |cs| {
        !cs[1].ended().is_empty()
    });
    assert!(
        bad.ended()[0].contains("text-direction override"),
        "{:?}",
        bad.ended()
    );
    assert_eq!(a.roster().players.len(), 1, "nobody else got in");
}

#[test]
fn a_full_room_refuses_and_an_emptied_room_is_removed() {
    let options = ServerOptions {
        rooms: RoomConfig {
            room_size: 2,
            max_rooms: 2,
            ..RoomConfig::default()
        },
        ..ServerOptions::default()
    };
    let server = start_server(options);
    let mut a = Client::connect(server.addr, "A", Some("small"));
    let mut b = Client::connect(server.addr, "B", Some("small"));
    step_until(&mut [&mut a, &mut b], LIMIT, "two in the room", |cs| {
        cs.iter().all(|c| c.roster().players.len() == 2)
    });
    let mut c = Client::connect(server.addr, "C", Some("SMALL"));
    step_until(&mut [&mut c], LIMIT, "room full", |cs| !cs[0].ended().is_empty());
    assert!(c.ended()[0].contains("is full (2 players)"), "{:?}", c.ended());

    // Two rooms at most: "small" and a second one; a third is refused.
    let mut d = Client::connect(server.addr, "D", Some("second"));
    step_until(&mut [&mut d], LIMIT, "second room", |cs| cs[0].joined());
    let mut e = Client::connect(server.addr, "E", Some("third"));
    step_until(&mut [&mut e], LIMIT, "too many rooms", |cs| {
        !cs[0].ended().is_empty()
    });
    assert!(e.ended()[0].contains("at most 2 rooms"), "{:?}", e.ended());

    // Once "second" empties it is removed, so "third" can be made.
    // Nobody is left in "second" to see the leave, so try until the server has processed it
    // (each try before that is refused for the room limit, and only for it).
    d.leave();
    d.step();
    let started = std::time::Instant::now();
    loop {
        let mut f = Client::connect(server.addr, "F", Some("third"));
        step_until(&mut [&mut f], LIMIT, "an answer for the third room", |cs| {
            cs[0].joined() || !cs[0].ended().is_empty()
        });
        if f.joined() {
            break;
        }
        assert!(f.ended()[0].contains("at most 2 rooms"), "{:?}", f.ended());
        assert!(started.elapsed() < LIMIT, "\"second\" was never removed");
    }
}

#[test]
fn chat_limits_are_enforced_and_explained() {
    let server = start_server(ServerOptions::default());
    let mut a = Client::connect(server.addr, "Alice", None);
    let mut b = Client::connect(server.addr, "Bob", None);
    join_all(&mut [&mut a, &mut b]);
    for i in 0..7 {
        a.say(&format!("spam {i}"));
    }
    a.say(&"x".repeat(10_000));
    step_until(&mut [&mut a, &mut b], LIMIT, "five lines and refusals", |cs| {
        cs[0]
            .notices()
            .iter()
            .filter(|n| n.starts_with("slow down"))
            .count()
            == 2
            && cs[1].lines().len() == 5
    });
    step_for(&mut [&mut a, &mut b], Duration::from_millis(200));
    assert_eq!(b.lines().len(), 5, "refused messages reach nobody");
    assert!(
        a.notices().iter().any(|n| n.starts_with("message too long")),
        "{:?}",
        a.notices()
    );
    assert!(
        b.notices().iter().all(|n| !n.starts_with("slow down")),
        "only the sender is told"
    );
    assert_eq!(
        a.state(),
        ClientState::Connected,
        "a chatty player is refused, not kicked"
    );
}

#[test]
fn the_hosting_operator_sees_addresses_and_hosts_the_default_room() {
    // Listening as the launcher's Host does: every address, IPv4 and IPv6 on one socket.
    use catchmind::plugins::net::{Listen, NetServer};
    let listener = NetServer::listen(&Listen::Everywhere(0)).unwrap();
    let mut server = catchmind::app::HostedServer::spawn(listener, ServerOptions::default()).unwrap();
    server.addr = std::net::SocketAddr::from(([127, 0, 0, 1], server.addr.port()));
    let mut guest = Client::connect(server.addr, "Guest", None);
    join_all(&mut [&mut guest]);
    // The handshake carries the token, as the host window's does.
    let mut host = Client::connect_hello(
        server.addr,
        JoinRequest {
            host_token: Some(server.token),
            resume: None,
            spectate: false,
            ..common::hello("Host", None)
        },
    );
    step_until(&mut [&mut guest, &mut host], LIMIT, "host joined", |cs| {
        cs.iter().all(|c| c.roster().players.len() == 2)
    });
    let host_id = host.roster().me;
    step_until(&mut [&mut guest, &mut host], LIMIT, "host change", |cs| {
        cs[0].roster().host == host_id
    });
    // IPv4 peers of the dual-stack socket show as IPv4, not as ::ffff:127.0.0.1.
    assert!(
        host.roster()
            .players
            .iter()
            .all(|p| p.addr.as_deref().is_some_and(|a| a.starts_with("127.0.0.1:"))),
        "{:?}",
        host.roster().players
    );
    assert!(guest.roster().players.iter().all(|p| p.addr.is_none()));
}

#[test]
fn stopping_the_server_tells_every_client_why() {
    let mut server = start_server(ServerOptions::default());
    let mut a = Client::connect(server.addr, "Alice", None);
    let mut b = Client::connect(server.addr, "Bob", None);
    join_all(&mut [&mut a, &mut b]);
    server.stop();
    step_until(&mut [&mut a, &mut b], LIMIT, "the shutdown reason", |cs| {
        cs.iter().all(|c| c.ended() == ["the server was stopped"])
    });
    for client in [&a, &b] {
        assert_eq!(client.state(), ClientState::Disconnected);
        assert!(
            client
                .notices()
                .iter()
                .any(|n| n == "Disconnected: the server was stopped.")
        );
    }
}

/// A member hears of each arrival and departure once, from the room: one `RoomUpdate` that
/// names who came or went, and nothing from the chat (a join and a leave each came twice, as a
/// room update and as a chat notice).
#[test]
fn a_member_is_told_of_each_arrival_and_departure_once() {
    use catchmind::plugins::rooms::RoomUpdate;
    use common::ServerMsg;
    let server = start_server(ServerOptions::default());
    let mut ann = RawPeer::connect(server.addr);
    ann.join("Ann", None).expect("Ann joins");
    let mut ben = RawPeer::connect(server.addr);
    ben.join("Ben", None).expect("Ben joins");
    ben.leave();
    let mut heard = Vec::new();
    while let Ok(Some(msg)) = ann.recv_within(Duration::from_millis(500)) {
        heard.push(msg);
    }
    let news: Vec<&ServerMsg> = heard
        .iter()
        .filter(|m| matches!(m, ServerMsg::Room(_) | ServerMsg::Chat(_)))
        .collect();
    assert!(
        matches!(
            news.as_slice(),
            [
                ServerMsg::Room(RoomUpdate::Joined(joined)),
                ServerMsg::Room(RoomUpdate::Left { name, .. }),
            ] if joined.name == "Ben" && name == "Ben"
        ),
        "{news:?}"
    );
}
